//! Drawing: turns `&App` and a `&Theme` into a frame. Mutates nothing and reads no clock, so
//! the same state always draws the same screen (the snapshot tests rely on it). Every name is
//! passed through [`crate::text::escape`] before it reaches a cell.
//! Must not import `runtime` or perform I/O.

pub mod dialogs;
pub mod format;
pub mod history;
pub mod jobs;
pub mod panes;
pub mod theme;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::app::{Action, App, Side, job_panel_height};
pub use theme::Theme;

/// Below this size only "terminal too small" is shown.
pub const MIN_WIDTH: u16 = 10;
/// Below this size only "terminal too small" is shown.
pub const MIN_HEIGHT: u16 = 4;

/// Draws the whole screen.
pub fn draw(frame: &mut Frame, app: &App, theme: &Theme) {
    let area = frame.area();
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        let text = format!("terminal too small: {MIN_WIDTH}×{MIN_HEIGHT} at least");
        frame.render_widget(
            Paragraph::new(text).wrap(ratatui::widgets::Wrap { trim: true }),
            area,
        );
        return;
    }
    let hint_rows = u16::from(area.height >= 3);
    let status_rows = u16::from(area.height >= 10);
    let [main, jobs_area, status_area, hint_area] = Layout::vertical([
        Constraint::Min(1),
        Constraint::Length(job_panel_height(area.height)),
        Constraint::Length(status_rows),
        Constraint::Length(hint_rows),
    ])
    .areas(area);
    draw_panes(frame, app, theme, main);
    if jobs_area.height > 0 {
        jobs::draw(frame, app, theme, jobs_area);
    }
    if status_area.height > 0 {
        draw_status(frame, app, theme, status_area);
    }
    if hint_area.height > 0 {
        draw_hints(frame, app, theme, hint_area);
    }
    if let Some(modal) = &app.modal {
        dialogs::draw(frame, app, modal, theme, area);
    }
}

fn draw_panes(frame: &mut Frame, app: &App, theme: &Theme, area: Rect) {
    if area.width < 24 {
        // Too narrow for two panes: show the focused one.
        panes::draw(frame, app, app.side, theme, area);
        return;
    }
    let [left, right] =
        Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(area);
    panes::draw(frame, app, Side::Left, theme, left);
    panes::draw(frame, app, Side::Right, theme, right);
}

fn draw_status(frame: &mut Frame, app: &App, theme: &Theme, area: Rect) {
    let pane = app.focused();
    let text = app
        .status
        .clone()
        .or_else(|| pane.problems.last().map(|p| crate::text::escape(p)))
        .unwrap_or_default();
    let line = format::truncate_middle(&text, area.width as usize);
    frame.render_widget(
        Paragraph::new(line).style(theme.style("status.message")),
        area,
    );
}

/// The actions the hint bar shows, in order.
const HINTS: &[(Action, &str)] = &[
    (Action::Help, "Help"),
    (Action::Copy, "Copy"),
    (Action::Move, "Move"),
    (Action::MakeDir, "Mkdir"),
    (Action::Delete, "Delete"),
    (Action::Mark, "Mark"),
    (Action::OpenLocation, "Open"),
    (Action::FocusJobs, "Jobs"),
    (Action::History, "History"),
    (Action::Quit, "Quit"),
];

fn draw_hints(frame: &mut Frame, app: &App, theme: &Theme, area: Rect) {
    let mut spans = Vec::new();
    let mut used = 0usize;
    for (action, label) in HINTS {
        let key = app.keymap.first_key(*action);
        let w = key.chars().count() + label.len() + 3;
        if used + w > area.width as usize {
            break;
        }
        used += w;
        spans.push(Span::styled(key, theme.style("status.key")));
        spans.push(Span::styled(
            format!(" {label} "),
            theme.style("status.hint"),
        ));
        spans.push(Span::raw(" "));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

/// A rectangle of at most `w`×`h` centred in `area`.
pub fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    }
}
