//! What the command line prints: a progress bar on stderr (only on a terminal), one line per
//! failed file, the closing summary (or JSON), dry-run plans and the history table.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::sync::Arc;

use tokio::sync::mpsc;

use crate::text::{escape, human_bytes};
use crate::transfer::history::{self, HistoryRecord};
use crate::transfer::{Event, JobReport, JobSpec, JobStatus, PlanItem, Progress, Worker};

fn bar(p: &Progress) -> String {
    let frac = if p.bytes_total > 0 {
        (p.bytes_done as f64 / p.bytes_total as f64).min(1.0)
    } else if p.files_total > 0 {
        (p.files_done + p.files_skipped) as f64 / p.files_total as f64
    } else {
        0.0
    };
    let filled = (frac * 30.0).round() as usize;
    format!(
        "[{}{}] {:>3.0}% {}/{}{} files {} {}/s",
        "#".repeat(filled),
        " ".repeat(30 - filled.min(30)),
        frac * 100.0,
        p.files_done + p.files_skipped,
        p.files_total,
        if p.planning { "+" } else { "" },
        human_bytes(p.bytes_done as f64),
        human_bytes(p.rate),
    )
}

/// Submits a job and follows its events to the end; Ctrl-C cancels it (cleaning up).
pub async fn run_with_progress(
    worker: &Arc<Worker>,
    spec: JobSpec,
    mut events: mpsc::UnboundedReceiver<Event>,
) -> JobReport {
    let id = worker.submit(spec);
    let tty = std::io::stderr().is_terminal();
    let mut ctrl_c = std::pin::pin!(tokio::signal::ctrl_c());
    loop {
        let event = tokio::select! {
            e = events.recv() => e,
            _ = &mut ctrl_c => {
                eprintln!("\ns3ferry: cancelling (cleaning up partial uploads and files)…");
                worker.cancel(id);
                continue;
            }
        };
        match event {
            Some(Event::Progress(p)) if tty => {
                eprint!("\r\x1b[2K{}", bar(&p));
                let _ = std::io::stderr().flush();
            }
            Some(Event::FileFailed { file, reason, .. }) => {
                if tty {
                    eprint!("\r\x1b[2K");
                }
                eprintln!("s3ferry: {}: {}", escape(&file), escape(&reason));
            }
            Some(Event::Done(report)) if report.id == id => {
                if tty {
                    eprint!("\r\x1b[2K");
                }
                // A cancelled upload's abort is sent from a task of its own: let it go out
                // before the runtime stops.
                crate::storage::s3::upload::settle_aborts(std::time::Duration::from_secs(10)).await;
                return report;
            }
            Some(_) => {}
            None => unreachable!("the worker outlives its events"),
        }
    }
}

/// Prints the closing summary; exit 0 when every file made it, 1 otherwise.
pub fn print_report(r: &JobReport, json: bool) -> ExitCode {
    if json {
        let rec = HistoryRecord::from(r);
        let line = serde_json::to_string(&rec).unwrap_or_default();
        println!("{}", crate::text::json_safe(&line));
    } else {
        let status = match r.status {
            JobStatus::Finished => "done",
            JobStatus::Failed => "FAILED",
            JobStatus::Cancelled => "cancelled",
        };
        eprintln!(
            "{status}: {} objects, {} skipped, {} failed, {} in {:.2} s ({}/s, {})",
            r.files_done,
            r.files_skipped,
            r.failures.len(),
            human_bytes(r.bytes as f64),
            r.duration.as_secs_f64(),
            human_bytes(r.throughput()),
            r.mode(),
        );
    }
    match r.status {
        JobStatus::Finished => ExitCode::SUCCESS,
        JobStatus::Failed => ExitCode::from(1),
        JobStatus::Cancelled => ExitCode::from(130),
    }
}

/// Prints a dry-run plan; exit 1 if any source cannot be transferred.
pub fn print_plan(items: &[PlanItem], json: bool) -> ExitCode {
    let mut files = 0u64;
    let mut bytes = 0u64;
    let mut problems = 0;
    for item in items {
        match item {
            PlanItem::Task(t) => {
                files += 1;
                bytes += t.size.unwrap_or(0);
                if json {
                    let line = serde_json::json!({
                        "source": t.src.to_string(), "destination": t.dst.to_string(),
                        "size": t.size, "mode": t.route.as_str(),
                    });
                    println!("{}", crate::text::json_safe(&line.to_string()));
                } else {
                    println!(
                        "{:<11} {:>12}  {} → {}",
                        t.route.as_str(),
                        t.size.map(|s| s.to_string()).unwrap_or_default(),
                        escape(&t.src.to_string()),
                        escape(&t.dst.to_string())
                    );
                }
            }
            PlanItem::Problem { name, reason } => {
                problems += 1;
                eprintln!("s3ferry: {}: {}", escape(name), escape(reason));
            }
        }
    }
    eprintln!(
        "dry run: {files} objects, {} would be transferred; nothing moved",
        human_bytes(bytes as f64)
    );
    if problems > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// `s3ferry history`: a table, JSON lines or CSV.
pub fn history(json: bool, csv: bool) -> ExitCode {
    let Some(path) = history::default_path() else {
        eprintln!("s3ferry: no data directory for history");
        return ExitCode::from(2);
    };
    let (records, bad) = match history::read(&path) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("s3ferry: cannot read {}: {e}", path.display());
            return ExitCode::from(1);
        }
    };
    if bad > 0 {
        eprintln!(
            "s3ferry: {bad} unreadable lines in {} skipped",
            path.display()
        );
    }
    if csv {
        println!(
            "started_at,kind,mode,status,objects,skipped,bytes,duration_secs,throughput_bytes_per_sec,sources,destination"
        );
        for r in &records {
            let q = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
            println!(
                "{},{:?},{},{:?},{},{},{},{:.3},{:.0},{},{}",
                r.started_at,
                r.kind,
                r.mode,
                r.status,
                r.objects,
                r.skipped,
                r.bytes,
                r.duration_secs,
                r.throughput_bytes_per_sec,
                q(&escape(&r.sources.join(" "))),
                q(&escape(r.destination.as_deref().unwrap_or("")))
            );
        }
    } else if json {
        for r in &records {
            let line = serde_json::to_string(r).unwrap_or_default();
            println!("{}", crate::text::json_safe(&line));
        }
    } else {
        println!(
            "{:<20} {:<6} {:<12} {:<9} {:>8} {:>10} {:>9} {:>11}",
            "started", "kind", "mode", "status", "objects", "bytes", "seconds", "rate/s"
        );
        for r in &records {
            println!(
                "{:<20} {:<6} {:<12} {:<9} {:>8} {:>10} {:>9.2} {:>11}",
                r.started_at.get(..19).unwrap_or(&r.started_at),
                format!("{:?}", r.kind).to_lowercase(),
                r.mode,
                format!("{:?}", r.status).to_lowercase(),
                r.objects,
                human_bytes(r.bytes as f64),
                r.duration_secs,
                human_bytes(r.throughput_bytes_per_sec)
            );
        }
    }
    ExitCode::SUCCESS
}
