//! Dialogs drawn over the panes: prompts, the plan, confirmations, info, preview, messages,
//! the endpoint picker, help and history.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};

use super::format::{fit, short_size, truncate_middle};
use super::{Theme, centered, history};
use crate::app::{App, Modal, PlanDialog, keymap::ACTIONS};
use crate::text::escape;
use crate::transfer::{ConflictPolicy, JobKind, Mode};

/// Draws the open dialog.
pub fn draw(frame: &mut Frame, app: &App, modal: &Modal, theme: &Theme, area: Rect) {
    match modal {
        Modal::Prompt { kind, input, hint } => {
            let rect = centered(area, 70, 5);
            let inner = frame_box(frame, theme, rect, kind.title());
            let width = inner.width as usize;
            let scroll = input.visual_scroll(width.saturating_sub(1));
            let shown: String = input.value().chars().skip(scroll).collect();
            let mut lines = vec![Line::styled(escape(&shown), theme.style("dialog.text"))];
            if let Some(h) = hint {
                lines.push(Line::styled(
                    truncate_middle(h, width),
                    theme.style("pane.dim"),
                ));
            }
            lines.push(keys_line(theme, &[("Enter", "ok"), ("Esc", "cancel")]));
            frame.render_widget(Paragraph::new(lines), inner);
            if inner.width > 0 && inner.height > 0 {
                let x = (input.visual_cursor().saturating_sub(scroll) as u16).min(inner.width - 1);
                frame.set_cursor_position((inner.x + x, inner.y));
            }
        }
        Modal::Plan(plan) => draw_plan(frame, theme, plan, area),
        Modal::ConfirmDelete {
            sources,
            files,
            dirs,
            bytes,
        } => {
            let rect = centered(area, 64, 9);
            let inner = frame_box(frame, theme, rect, "Delete");
            let mut what = format!("{files} file(s), {}", short_size(*bytes));
            if *dirs > 0 {
                what.push_str(&format!(" and {dirs} folder(s) with everything in them"));
            }
            let mut lines = vec![Line::styled(
                format!("Delete {what}?"),
                theme.style("dialog.danger"),
            )];
            lines.extend(sources.iter().take(3).map(|s| {
                Line::styled(
                    truncate_middle(
                        &format!("  {}", escape(&s.to_string())),
                        inner.width as usize,
                    ),
                    theme.style("dialog.text"),
                )
            }));
            if sources.len() > 3 {
                lines.push(Line::raw(format!("  … and {} more", sources.len() - 3)));
            }
            lines.push(Line::styled(
                "This cannot be undone.",
                theme.style("dialog.text"),
            ));
            lines.push(keys_line(
                theme,
                &[("y/Enter", "delete"), ("n/Esc", "keep")],
            ));
            frame.render_widget(Paragraph::new(lines), inner);
        }
        Modal::ConfirmQuit { active } => {
            let rect = centered(area, 60, 5);
            let inner = frame_box(frame, theme, rect, "Quit");
            let lines = vec![
                Line::styled(
                    format!("{active} job(s) still running. Cancel them and quit?"),
                    theme.style("dialog.danger"),
                ),
                Line::styled(
                    "Unfinished uploads are aborted.",
                    theme.style("dialog.text"),
                ),
                keys_line(theme, &[("y/Enter", "quit"), ("n/Esc", "stay")]),
            ];
            frame.render_widget(Paragraph::new(lines), inner);
        }
        Modal::Waiting { title, .. } => {
            let rect = centered(area, 50, 3);
            let inner = frame_box(frame, theme, rect, title);
            frame.render_widget(
                Paragraph::new("loading…").style(theme.style("pane.dim")),
                inner,
            );
        }
        Modal::Info { title, rows } => {
            let h = rows.len() as u16 + 3;
            let rect = centered(area, 76, h);
            let inner = frame_box(frame, theme, rect, title);
            let label_w = rows
                .iter()
                .map(|(k, _)| k.chars().count())
                .max()
                .unwrap_or(0);
            let mut lines: Vec<Line> = rows
                .iter()
                .map(|(k, v)| {
                    Line::from(vec![
                        Span::styled(format!("{} ", fit(k, label_w)), theme.style("dialog.key")),
                        Span::styled(v.clone(), theme.style("dialog.text")),
                    ])
                })
                .collect();
            lines.push(keys_line(theme, &[("Esc", "close")]));
            frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
        }
        Modal::Preview {
            title,
            lines,
            scroll,
        } => {
            let rect = centered(
                area,
                area.width.saturating_sub(4),
                area.height.saturating_sub(2),
            );
            let inner = frame_box(frame, theme, rect, &format!("{title} (first 64 KiB)"));
            let shown: Vec<Line> = lines
                .iter()
                .skip(*scroll)
                .take(inner.height as usize)
                .map(|l| Line::styled(l.clone(), theme.style("dialog.text")))
                .collect();
            frame.render_widget(Paragraph::new(shown), inner);
        }
        Modal::Message { title, text } => {
            let rect = centered(area, 76, 8);
            let inner = frame_box(frame, theme, rect, title);
            let lines = vec![
                Line::styled(text.clone(), theme.style("dialog.text")),
                keys_line(theme, &[("Esc", "close")]),
            ];
            frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
        }
        Modal::EndpointPicker { items, cursor, .. } => {
            let rect = centered(area, 60, items.len() as u16 + 3);
            let inner = frame_box(frame, theme, rect, "Endpoint / profile");
            let mut lines: Vec<Line> = items
                .iter()
                .enumerate()
                .map(|(i, (label, _))| {
                    let style = if i == *cursor {
                        theme.style("pane.cursor")
                    } else {
                        theme.style("dialog.text")
                    };
                    Line::styled(fit(&escape(label), inner.width as usize), style)
                })
                .collect();
            lines.push(keys_line(theme, &[("Enter", "open"), ("Esc", "cancel")]));
            frame.render_widget(Paragraph::new(lines), inner);
        }
        Modal::Help { scroll } => draw_help(frame, app, theme, area, *scroll),
        Modal::History { records, error } => {
            let rect = centered(area, area.width, area.height);
            frame.render_widget(Clear, rect);
            history::draw(frame, theme, records, error.as_deref(), rect);
        }
    }
}

/// Clears `rect`, draws a titled border, returns the inside.
fn frame_box(frame: &mut Frame, theme: &Theme, rect: Rect, title: &str) -> Rect {
    frame.render_widget(Clear, rect);
    let title = truncate_middle(&format!(" {title} "), rect.width.saturating_sub(2) as usize);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.style("dialog.border"))
        .title(Span::styled(title, theme.style("dialog.title")));
    let inner = block.inner(rect);
    frame.render_widget(block, rect);
    inner
}

fn keys_line(theme: &Theme, keys: &[(&str, &str)]) -> Line<'static> {
    let mut spans = Vec::new();
    for (key, what) in keys {
        spans.push(Span::styled(key.to_string(), theme.style("dialog.key")));
        spans.push(Span::styled(
            format!(" {what}  "),
            theme.style("dialog.text"),
        ));
    }
    Line::from(spans)
}

fn mode_name(mode: Mode) -> &'static str {
    match mode {
        Mode::Auto => "auto",
        Mode::ServerSide => "server-side",
        Mode::Streamed => "streamed",
        Mode::Staged => "staged (via local disk)",
    }
}

fn policy_name(policy: ConflictPolicy) -> &'static str {
    match policy {
        ConflictPolicy::SkipSame => "skip if same size and checksum, else fail",
        ConflictPolicy::Overwrite => "overwrite",
        ConflictPolicy::SkipExisting => "skip any existing",
        ConflictPolicy::Fail => "fail",
    }
}

fn draw_plan(frame: &mut Frame, theme: &Theme, plan: &PlanDialog, area: Rect) {
    let verb = match plan.kind {
        JobKind::Copy => "Copy",
        JobKind::Move => "Move",
        JobKind::Delete => "Delete",
    };
    let rect = centered(area, 72, 12 + plan.problems.len().min(3) as u16);
    let inner = frame_box(frame, theme, rect, &format!("{verb}: plan"));
    let w = inner.width as usize;
    let first = plan
        .sources
        .first()
        .map(|s| escape(&s.to_string()))
        .unwrap_or_default();
    let from = match plan.sources.len() {
        1 => first,
        n => format!("{first} and {} more", n - 1),
    };
    let state = if plan.complete { "" } else { " (planning…)" };
    let routes: Vec<&str> = plan.routes.iter().map(|r| r.as_str()).collect();
    let mut lines = vec![
        line2(theme, "from", &truncate_middle(&from, w.saturating_sub(8))),
        line2(
            theme,
            "to",
            &truncate_middle(&escape(&plan.dest.to_string()), w.saturating_sub(8)),
        ),
        line2(
            theme,
            "what",
            &format!("{} files, {}{state}", plan.files, short_size(plan.bytes)),
        ),
        line2(
            theme,
            "mode",
            &format!(
                "{} → {}{}",
                mode_name(plan.mode),
                if routes.is_empty() {
                    "…".into()
                } else {
                    routes.join(", ")
                },
                if plan.server_side_possible {
                    ""
                } else {
                    "  (other account: no server-side)"
                }
            ),
        ),
        line2(
            theme,
            "exists",
            &format!(
                "{} at the destination; {}",
                plan.conflicts,
                policy_name(plan.conflict)
            ),
        ),
    ];
    for p in plan.problems.iter().take(3) {
        lines.push(Line::styled(
            truncate_middle(&format!("! {}", escape(p)), w),
            theme.style("dialog.danger"),
        ));
    }
    if plan.kind == JobKind::Move {
        lines.push(Line::styled(
            "Each source is deleted only after its copy is verified.",
            theme.style("dialog.text"),
        ));
    }
    lines.push(Line::raw(""));
    lines.push(keys_line(
        theme,
        &[
            ("Enter", "queue"),
            ("m", "mode"),
            ("c", "conflicts"),
            ("Esc", "cancel"),
        ],
    ));
    frame.render_widget(Paragraph::new(lines), inner);
}

fn line2(theme: &Theme, label: &str, value: &str) -> Line<'static> {
    Line::from(vec![
        Span::styled(format!("{label:<7}"), theme.style("dialog.key")),
        Span::styled(value.to_string(), theme.style("dialog.text")),
    ])
}

fn draw_help(frame: &mut Frame, app: &App, theme: &Theme, area: Rect, scroll: usize) {
    let rect = centered(area, 100, area.height);
    let inner = frame_box(
        frame,
        theme,
        rect,
        "Keys (from the live keymap; Esc closes)",
    );
    let columns = if inner.width >= 76 { 2 } else { 1 };
    let col_w = inner.width as usize / columns;
    let key_w = ACTIONS
        .iter()
        .map(|(a, ..)| app.keymap.keys_of(*a).chars().count())
        .max()
        .unwrap_or(8)
        .min(col_w / 2);
    let per_col = ACTIONS.len().div_ceil(columns);
    let cell = |i: usize| -> Vec<Span<'static>> {
        let Some((action, ..)) = ACTIONS.get(i) else {
            return vec![];
        };
        vec![
            Span::styled(
                fit(&app.keymap.keys_of(*action), key_w + 1),
                theme.style("dialog.key"),
            ),
            Span::styled(
                fit(action.help(), col_w.saturating_sub(key_w + 2)) + " ",
                theme.style("dialog.text"),
            ),
        ]
    };
    let mut lines: Vec<Line> = (0..per_col)
        .map(|row| {
            Line::from(
                (0..columns)
                    .flat_map(|c| cell(c * per_col + row))
                    .collect::<Vec<_>>(),
            )
        })
        .collect();
    lines.push(Line::raw(""));
    lines.push(Line::styled(
        "Plan dialog: m mode, c conflict policy, Enter queue, Esc cancel.",
        theme.style("dialog.text"),
    ));
    lines.push(Line::styled(
        "Rebind in config.toml: [keys] copy = [\"F5\", \"y\"]",
        theme.style("dialog.text"),
    ));
    let shown: Vec<Line> = lines
        .into_iter()
        .skip(scroll)
        .take(inner.height as usize)
        .collect();
    frame.render_widget(Paragraph::new(shown), inner);
}
