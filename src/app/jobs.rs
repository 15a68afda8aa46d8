//! The job board: every job the worker reported, its latest progress and its end, plus the
//! throughput ring behind the sparkline (one sample per second for the last minute). Built
//! only from worker events and ticks, so it needs no clock.

use std::collections::VecDeque;
use std::time::Duration;

use crate::transfer::{Event, JobId, JobKind, JobReport, JobStatus, Progress};

/// Samples the sparkline keeps (one a second).
pub const SPARK_SAMPLES: usize = 60;

/// One job as the UI knows it.
#[derive(Debug, Clone)]
pub struct JobView {
    pub id: JobId,
    pub kind: JobKind,
    pub sources: Vec<String>,
    pub dest: Option<String>,
    pub progress: Progress,
    /// Set when the job ended.
    pub report: Option<JobReport>,
    /// Failures of single files so far (file, reason).
    pub failures: Vec<(String, String)>,
}

impl JobView {
    /// True while the job runs.
    pub fn active(&self) -> bool {
        self.report.is_none()
    }

    /// Seconds left at the current rate, when known.
    pub fn eta(&self) -> Option<Duration> {
        let p = &self.progress;
        if p.rate <= 0.0 || p.planning || p.bytes_total < p.bytes_done {
            return None;
        }
        Some(Duration::from_secs_f64(
            (p.bytes_total - p.bytes_done) as f64 / p.rate,
        ))
    }
}

/// All jobs, newest last, and the throughput history.
#[derive(Debug, Clone, Default)]
pub struct JobBoard {
    pub jobs: Vec<JobView>,
    /// Bytes moved per second, oldest first.
    pub samples: VecDeque<u64>,
    /// Bytes moved by all jobs since start (from progress deltas).
    pub moved_total: u64,
    moved_at_last_sample: u64,
    /// The job selected in the job list.
    pub selected: usize,
}

impl JobBoard {
    /// Applies a worker event; returns the report when a job ended.
    pub fn apply(&mut self, event: Event) -> Option<JobReport> {
        match event {
            Event::Queued {
                id,
                kind,
                sources,
                dest,
            } => {
                self.jobs.push(JobView {
                    id,
                    kind,
                    sources,
                    dest,
                    progress: Progress {
                        id,
                        planning: true,
                        ..Progress::default()
                    },
                    report: None,
                    failures: Vec::new(),
                });
                None
            }
            Event::Progress(p) => {
                if let Some(job) = self.job_mut(p.id) {
                    let delta = p.bytes_done.saturating_sub(job.progress.bytes_done);
                    job.progress = p;
                    self.moved_total += delta;
                }
                None
            }
            Event::FileFailed { id, file, reason } => {
                if let Some(job) = self.job_mut(id) {
                    job.failures.push((file, reason));
                }
                None
            }
            Event::Done(report) => {
                let job = self.job_mut(report.id)?;
                let delta = report.bytes.saturating_sub(job.progress.bytes_done);
                job.progress.bytes_done = job.progress.bytes_done.max(report.bytes);
                job.progress.files_done = report.files_done;
                job.progress.elapsed = report.duration;
                job.progress.planning = false;
                job.progress.current = None;
                job.report = Some(report.clone());
                self.moved_total += delta;
                Some(report)
            }
        }
    }

    fn job_mut(&mut self, id: JobId) -> Option<&mut JobView> {
        self.jobs.iter_mut().find(|j| j.id == id)
    }

    /// Closes one second of the sparkline.
    pub fn sample(&mut self) {
        let moved = self.moved_total - self.moved_at_last_sample;
        self.moved_at_last_sample = self.moved_total;
        self.samples.push_back(moved);
        while self.samples.len() > SPARK_SAMPLES {
            self.samples.pop_front();
        }
    }

    /// Jobs still running.
    pub fn active(&self) -> usize {
        self.jobs.iter().filter(|j| j.active()).count()
    }

    /// The current rate: the sum of running jobs' rates.
    pub fn rate(&self) -> f64 {
        self.jobs
            .iter()
            .filter(|j| j.active())
            .map(|j| j.progress.rate)
            .sum()
    }

    /// The selected job.
    pub fn selected(&self) -> Option<&JobView> {
        self.jobs.get(self.selected)
    }

    /// The selected job if it failed or was cancelled (can be retried).
    pub fn selected_retryable(&self) -> Option<JobId> {
        self.selected()
            .filter(|j| {
                j.report
                    .as_ref()
                    .is_some_and(|r| r.status != JobStatus::Finished || !r.failures.is_empty())
            })
            .map(|j| j.id)
    }
}
