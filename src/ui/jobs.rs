//! The bottom panel: the job queue (one line a job with a gauge, bytes, rate, ETA and
//! elapsed; failures with their reason; finished jobs with duration and mode) beside a
//! throughput sparkline of the last minute.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Sparkline};

use super::Theme;
use super::format::{duration, fit, rate, short_size, truncate_middle};
use crate::app::{App, JobView};
use crate::text::escape;
use crate::transfer::{JobKind, JobStatus};

/// Draws the job list and the sparkline into `area`.
pub fn draw(frame: &mut Frame, app: &App, theme: &Theme, area: Rect) {
    let spark_w = match area.width {
        0..60 => 0,
        60..100 => 24,
        _ => 32,
    };
    let [list, spark] =
        Layout::horizontal([Constraint::Min(10), Constraint::Length(spark_w)]).areas(area);
    draw_list(frame, app, theme, list);
    if spark.width > 0 {
        draw_sparkline(frame, app, theme, spark);
    }
}

fn draw_list(frame: &mut Frame, app: &App, theme: &Theme, area: Rect) {
    let board = &app.jobs;
    let title = format!(
        " Jobs: {} running, {} in all ",
        board.active(),
        board.jobs.len()
    );
    let border = if app.jobs_focused {
        theme.style("pane.border_focused")
    } else {
        theme.style("jobs.border")
    };
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(border)
        .title(Span::styled(title, theme.style("jobs.title")));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let rows = inner.height as usize;
    if rows == 0 {
        return;
    }
    if board.jobs.is_empty() {
        let hint = "No jobs yet: mark files (Space) and press F5 to copy to the other pane";
        frame.render_widget(
            Paragraph::new(truncate_middle(hint, inner.width as usize))
                .style(theme.style("pane.dim")),
            inner,
        );
        return;
    }
    // Newest first; keep the selected job on screen when the list has the focus.
    let order: Vec<usize> = (0..board.jobs.len()).rev().collect();
    let selected_pos = order.iter().position(|&i| i == board.selected).unwrap_or(0);
    let skip = if app.jobs_focused && selected_pos >= rows {
        selected_pos + 1 - rows
    } else {
        0
    };
    let lines: Vec<Line> = order
        .iter()
        .skip(skip)
        .take(rows)
        .map(|&i| {
            let job = &board.jobs[i];
            let mut line = job_line(job, theme, inner.width as usize);
            if app.jobs_focused && i == board.selected {
                line = line.patch_style(theme.style("jobs.selected"));
            }
            line
        })
        .collect();
    frame.render_widget(Paragraph::new(lines), inner);
}

fn kind_word(kind: JobKind) -> &'static str {
    match kind {
        JobKind::Copy => "copy",
        JobKind::Move => "move",
        JobKind::Delete => "del ",
    }
}

fn route_text(job: &JobView) -> String {
    let src = match job.sources.as_slice() {
        [one] => escape(one),
        [first, rest @ ..] => format!("{} +{}", escape(first), rest.len()),
        [] => String::new(),
    };
    match &job.dest {
        Some(d) => format!("{src} → {}", escape(d)),
        None => src,
    }
}

/// One job line, fitted to `width` columns.
fn job_line(job: &JobView, theme: &Theme, width: usize) -> Line<'static> {
    let p = &job.progress;
    let head = format!("#{} {} ", job.id, kind_word(job.kind));
    let (tail, style) = match &job.report {
        None => {
            let gauge = gauge(
                p.bytes_done,
                p.bytes_total,
                p.files_done + p.files_skipped,
                p.files_total,
                8,
            );
            let total = if p.planning {
                "…".to_string()
            } else {
                short_size(p.bytes_total)
            };
            let eta = job.eta().map(duration).unwrap_or_else(|| "-".into());
            // Most important first; whatever does not fit is left out.
            let parts = [
                gauge,
                format!("{}/{total}", short_size(p.bytes_done)),
                rate(p.rate),
                format!("ETA {eta}"),
                duration(p.elapsed),
            ];
            let budget = width.saturating_sub(head.chars().count());
            let mut tail = String::new();
            for part in parts {
                if tail.chars().count() + part.chars().count() + 1 > budget {
                    break;
                }
                tail.push(' ');
                tail.push_str(&part);
            }
            (tail, theme.style("jobs.running"))
        }
        Some(r) => match (r.status, r.failures.first()) {
            (JobStatus::Finished, None) => (
                format!(
                    " done {} files {} in {} ({}, {})",
                    r.files_done,
                    short_size(r.bytes),
                    duration(r.duration),
                    rate(r.throughput()),
                    r.mode()
                ),
                theme.style("jobs.finished"),
            ),
            (JobStatus::Cancelled, _) => (
                format!(" cancelled after {}", duration(r.duration)),
                theme.style("jobs.failed"),
            ),
            (_, Some((file, why))) => (
                format!(
                    " FAILED {}/{} files: {}: {}",
                    r.failures.len(),
                    r.files_done as usize + r.failures.len(),
                    escape(file),
                    escape(why)
                ),
                theme.style("jobs.failed"),
            ),
            (_, None) => (" FAILED".to_string(), theme.style("jobs.failed")),
        },
    };
    // The status comes first; the route gets what is left (cut in the middle), if anything.
    let route_w = width.saturating_sub(head.chars().count() + tail.chars().count());
    let route = if route_w >= 8 {
        fit(&route_text(job), route_w)
    } else {
        String::new()
    };
    let text: String = format!("{head}{route}{tail}").chars().take(width).collect();
    Line::styled(text, style)
}

/// A text gauge: `[#####-----]`, by bytes when known, else by files.
fn gauge(bytes: u64, bytes_total: u64, files: u64, files_total: u64, width: usize) -> String {
    let frac = if bytes_total > 0 {
        bytes as f64 / bytes_total as f64
    } else if files_total > 0 {
        files as f64 / files_total as f64
    } else {
        0.0
    };
    let filled = ((frac.clamp(0.0, 1.0)) * width as f64).round() as usize;
    format!("[{}{}]", "#".repeat(filled), "-".repeat(width - filled))
}

fn draw_sparkline(frame: &mut Frame, app: &App, theme: &Theme, area: Rect) {
    let board = &app.jobs;
    let title = format!(
        " {} · {} moved ",
        rate(board.rate()),
        short_size(board.moved_total)
    );
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.style("jobs.border"))
        .title(Span::styled(
            truncate_middle(&title, area.width.saturating_sub(2) as usize),
            theme.style("jobs.title"),
        ));
    let inner = block.inner(area);
    let data: Vec<u64> = board.samples.iter().copied().collect();
    let shown = &data[data.len().saturating_sub(inner.width as usize)..];
    frame.render_widget(
        Sparkline::default()
            .block(block)
            .data(shown)
            .style(theme.style("jobs.sparkline")),
        area,
    );
}
