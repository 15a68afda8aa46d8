//! The history view: past jobs from `history.jsonl` as two charts (throughput and duration per
//! job, one series per mode: server-side, streamed, staged, upload, download) and a summary
//! per mode: the seed paper's timing figures, from the user's own transfers.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Axis, Block, Borders, Chart, Dataset, GraphType, Paragraph};

use super::Theme;
use super::format::{duration, rate, short_size, truncate_middle};
use crate::transfer::history::HistoryRecord;

/// Modes charted, each with its own series (and marker, so they differ without colour).
const MODES: [(&str, Marker); 6] = [
    ("server-side", Marker::Block),
    ("streamed", Marker::Bar),
    ("staged", Marker::Dot),
    ("upload", Marker::HalfBlock),
    ("download", Marker::Braille),
    ("other", Marker::Dot),
];

/// Jobs charted at most (the latest).
const MAX_JOBS: usize = 500;

fn mode_of(record: &HistoryRecord) -> &'static str {
    let first = record.mode.split('+').next().unwrap_or("");
    MODES
        .iter()
        .map(|(m, _)| *m)
        .find(|m| *m == first)
        .unwrap_or("other")
}

/// Draws the history view into `area`.
pub fn draw(
    frame: &mut Frame,
    theme: &Theme,
    records: &[HistoryRecord],
    error: Option<&str>,
    area: Rect,
) {
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.style("dialog.border"))
        .title(Span::styled(
            " History: throughput and duration per job, by mode (Esc closes) ",
            theme.style("dialog.title"),
        ));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let records: Vec<&HistoryRecord> = records
        .iter()
        .filter(|r| r.kind != crate::transfer::JobKind::Delete)
        .collect();
    let records = &records[records.len().saturating_sub(MAX_JOBS)..];
    if records.is_empty() || inner.height < 6 {
        let text = match error {
            Some(e) => format!("cannot read the history: {e}"),
            None => "No transfers recorded yet: copy something, then come back.".to_string(),
        };
        frame.render_widget(
            Paragraph::new(truncate_middle(&text, inner.width as usize))
                .style(theme.style("pane.dim")),
            inner,
        );
        return;
    }
    let summary_h = (MODES.len() as u16 + 1).min(inner.height / 3);
    let [top, bottom, summary] = Layout::vertical([
        Constraint::Percentage(50),
        Constraint::Percentage(50),
        Constraint::Length(summary_h),
    ])
    .areas(inner);
    let mib = |r: &HistoryRecord| r.throughput_bytes_per_sec / (1024.0 * 1024.0);
    chart(frame, theme, records, top, "throughput MiB/s", mib);
    chart(frame, theme, records, bottom, "duration s", |r| {
        r.duration_secs
    });
    draw_summary(frame, theme, records, summary);
}

/// One mode's points: (mode, marker, (job number, value)).
type Series = (&'static str, Marker, Vec<(f64, f64)>);

fn chart(
    frame: &mut Frame,
    theme: &Theme,
    records: &[&HistoryRecord],
    area: Rect,
    title: &str,
    value: impl Fn(&HistoryRecord) -> f64,
) {
    let series: Vec<Series> = MODES
        .iter()
        .map(|(mode, marker)| {
            let points = records
                .iter()
                .enumerate()
                .filter(|(_, r)| mode_of(r) == *mode)
                .map(|(i, r)| (i as f64 + 1.0, value(r)))
                .collect();
            (*mode, *marker, points)
        })
        .filter(|(_, _, p): &(_, _, Vec<_>)| !p.is_empty())
        .collect();
    let y_max = records
        .iter()
        .map(|r| value(r))
        .fold(0.0, f64::max)
        .max(0.001)
        * 1.1;
    let x_max = records.len() as f64 + 1.0;
    let datasets: Vec<Dataset> = series
        .iter()
        .map(|(mode, marker, points)| {
            Dataset::default()
                .name(*mode)
                .marker(*marker)
                .graph_type(GraphType::Scatter)
                .style(theme.style(&format!("history.{mode}")))
                .data(points)
        })
        .collect();
    let axis_style = theme.style("pane.dim");
    let chart = Chart::new(datasets)
        .block(Block::default().title(Span::styled(title.to_string(), theme.style("dialog.key"))))
        .x_axis(
            Axis::default()
                .title("job")
                .style(axis_style)
                .bounds([0.0, x_max])
                .labels(vec![
                    Line::raw("1"),
                    Line::raw(format!("{}", records.len())),
                ]),
        )
        .y_axis(
            Axis::default()
                .style(axis_style)
                .bounds([0.0, y_max])
                .labels(vec![Line::raw("0"), Line::raw(format!("{y_max:.1}"))]),
        );
    frame.render_widget(chart, area);
}

fn draw_summary(frame: &mut Frame, theme: &Theme, records: &[&HistoryRecord], area: Rect) {
    let mut lines = vec![Line::styled(
        format!(
            "{:<12} {:>5} {:>9} {:>11} {:>10}",
            "mode", "jobs", "bytes", "median rate", "median t"
        ),
        theme.style("pane.header"),
    )];
    for (mode, _) in MODES {
        let of_mode: Vec<&&HistoryRecord> = records.iter().filter(|r| mode_of(r) == mode).collect();
        if of_mode.is_empty() {
            continue;
        }
        let mut rates: Vec<f64> = of_mode.iter().map(|r| r.throughput_bytes_per_sec).collect();
        let mut times: Vec<f64> = of_mode.iter().map(|r| r.duration_secs).collect();
        let bytes: u64 = of_mode.iter().map(|r| r.bytes).sum();
        lines.push(Line::styled(
            format!(
                "{mode:<12} {:>5} {:>9} {:>11} {:>10}",
                of_mode.len(),
                short_size(bytes),
                rate(median(&mut rates)),
                duration(std::time::Duration::from_secs_f64(
                    median(&mut times).max(0.0)
                ))
            ),
            Style::default().patch(theme.style(&format!("history.{mode}"))),
        ));
    }
    frame.render_widget(Paragraph::new(lines), area);
}

fn median(values: &mut [f64]) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}
