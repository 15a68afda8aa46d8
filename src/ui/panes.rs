//! One pane: a bordered list of entries with a header, the cursor, marks and a footer that
//! tells what is loading, marked or filtered. Only the visible rows are built.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::symbols::border;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

use super::Theme;
use super::format::{fit, short_size, truncate_middle};
use crate::app::{App, Pane, Side, SortBy};
use crate::storage::{Entry, EntryKind, Location};
use crate::text::{escape, timestamp};

/// Spinner frames for a listing in flight (advanced by ticks, not by a clock).
const SPINNER: [&str; 4] = ["|", "/", "-", "\\"];

/// Draws the pane of `side` into `area`.
pub fn draw(frame: &mut Frame, app: &App, side: Side, theme: &Theme, area: Rect) {
    let pane = app.pane(side);
    let focused = app.side == side && !app.jobs_focused;
    let (border_style, border_set) = if focused {
        (theme.style("pane.border_focused"), border::THICK)
    } else {
        (theme.style("pane.border"), border::PLAIN)
    };
    let inner_w = area.width.saturating_sub(2) as usize;
    let title = format!(" {} ", location_title(&pane.location));
    let block = Block::default()
        .borders(Borders::ALL)
        .border_set(border_set)
        .border_style(border_style)
        .title(Span::styled(
            truncate_middle(&title, inner_w),
            theme.style("pane.title"),
        ))
        .title_bottom(Span::styled(
            truncate_middle(&footer(app, pane), inner_w),
            theme.style("pane.dim"),
        ));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if inner.height == 0 || inner.width == 0 {
        return;
    }
    let cols = Columns::for_width(inner.width as usize);
    let mut lines = vec![Line::styled(
        cols.header(pane.sort),
        theme.style("pane.header"),
    )];
    let rows = inner.height.saturating_sub(1) as usize;
    if pane.view.is_empty() {
        let (text, style) = match (&pane.error, pane.loading) {
            (Some(e), _) => (format!(" {}", escape(e)), theme.style("pane.error")),
            (None, true) => (" loading…".to_string(), theme.style("pane.dim")),
            (None, false) if !pane.filter.is_empty() => (
                " no entries match the filter".into(),
                theme.style("pane.dim"),
            ),
            (None, false) => (" (empty)".to_string(), theme.style("pane.dim")),
        };
        lines.push(Line::styled(truncate_middle(&text, inner_w), style));
    }
    let scroll = visible_scroll(pane, rows);
    for (row, &index) in pane.view.iter().enumerate().skip(scroll).take(rows) {
        let entry = &pane.entries[index];
        let marked = pane.marks.contains(&entry.location);
        // On the cursor row the cursor style wins outright (the `*` still shows the mark):
        // mixing in the mark's colour and weight made the name hard to read there.
        let style = match (row == pane.cursor, focused) {
            (true, true) => theme.style("pane.cursor"),
            (true, false) => theme.style("pane.cursor_unfocused"),
            (false, _) if marked => entry_style(theme, entry).patch(theme.style("pane.marked")),
            (false, _) => entry_style(theme, entry),
        };
        lines.push(Line::styled(cols.row(entry, marked), style));
    }
    frame.render_widget(Paragraph::new(lines), inner);
}

/// The first visible row: the pane's scroll, corrected so the cursor is on screen whatever the
/// real height is.
fn visible_scroll(pane: &Pane, rows: usize) -> usize {
    let rows = rows.max(1);
    let mut scroll = pane.scroll;
    if pane.cursor < scroll {
        scroll = pane.cursor;
    } else if pane.cursor >= scroll + rows {
        scroll = pane.cursor + 1 - rows;
    }
    scroll
}

/// The pane title: endpoint and path.
pub fn location_title(loc: &Location) -> String {
    match loc {
        Location::Local(p) => escape(&p.to_string_lossy()),
        other => escape(&other.to_string()),
    }
}

fn footer(app: &App, pane: &Pane) -> String {
    let mut parts = Vec::new();
    if pane.loading {
        let spin = SPINNER[(app.ticks % SPINNER.len() as u64) as usize];
        parts.push(format!("{spin} loading {}", pane.entries.len()));
    } else {
        let n = pane.entries.len();
        parts.push(format!("{n} {}", if n == 1 { "entry" } else { "entries" }));
    }
    if !pane.marks.is_empty() {
        parts.push(format!(
            "{} marked {}",
            pane.marks.len(),
            short_size(pane.marked_bytes())
        ));
    }
    if !pane.filter.is_empty() {
        parts.push(format!("filter \"{}\"", escape(&pane.filter)));
    }
    if let (Some(e), false) = (&pane.error, pane.entries.is_empty()) {
        parts.push(escape(e));
    }
    format!(" {} ", parts.join(" · "))
}

fn entry_style(theme: &Theme, entry: &Entry) -> Style {
    theme.style(match entry.kind {
        EntryKind::Bucket => "pane.bucket",
        EntryKind::Dir => "pane.dir",
        EntryKind::File => "pane.file",
        EntryKind::Symlink => "pane.symlink",
    })
}

/// Which columns fit: name always, size from 20 columns, the date from 34, date and time
/// from 50.
struct Columns {
    name: usize,
    size: bool,
    time: usize,
}

const SIZE_W: usize = 7;
const DATE_W: usize = 10;
const TIME_W: usize = 16;

impl Columns {
    fn for_width(width: usize) -> Columns {
        let size = width >= 20;
        let time = match width {
            50.. => TIME_W,
            34.. => DATE_W,
            _ => 0,
        };
        let fixed = 1 + usize::from(size) * (SIZE_W + 1) + if time > 0 { time + 1 } else { 0 };
        Columns {
            name: width.saturating_sub(fixed),
            size,
            time,
        }
    }

    fn header(&self, sort: SortBy) -> String {
        let arrow = |s: SortBy| if s == sort { "↓" } else { "" };
        let mut out = format!(
            " {}",
            fit(&format!("Name{}", arrow(SortBy::Name)), self.name)
        );
        if self.size {
            out.push_str(&format!(
                " {:>SIZE_W$}",
                format!("{}Size", arrow(SortBy::Size))
            ));
        }
        if self.time > 0 {
            let label = if self.time == TIME_W {
                "Modified"
            } else {
                "Date"
            };
            out.push_str(&format!(
                " {}",
                fit(&format!("{label}{}", arrow(SortBy::Time)), self.time)
            ));
        }
        out
    }

    fn row(&self, entry: &Entry, marked: bool) -> String {
        let mut name = escape(&entry.name);
        if entry.is_dir() {
            name.push('/');
        } else if entry.kind == EntryKind::Symlink {
            name.push('@');
        }
        let mark = if marked { "*" } else { " " };
        let mut out = format!("{mark}{}", fit(&name, self.name));
        if self.size {
            let size = match (entry.kind, entry.size) {
                (EntryKind::Bucket, _) => "BUCKET".to_string(),
                (EntryKind::Dir, _) => "DIR".to_string(),
                (_, Some(n)) => short_size(n),
                (_, None) => "-".to_string(),
            };
            out.push_str(&format!(" {size:>SIZE_W$}"));
        }
        if self.time > 0 {
            let t = entry.modified.map(timestamp).unwrap_or_default();
            let t: String = t.chars().take(self.time).collect();
            out.push_str(&format!(" {}", fit(&t, self.time)));
        }
        out
    }
}
