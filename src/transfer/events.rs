//! What the worker reports, as data on one channel: progress at most every 100 ms and only when
//! it changed, failures per file, and one report per job at its end.

use std::time::{Duration, SystemTime};

use super::job::{JobId, JobKind, Route};

/// Everything the worker sends.
#[derive(Debug, Clone)]
pub enum Event {
    /// A job was accepted.
    Queued {
        id: JobId,
        kind: JobKind,
        sources: Vec<String>,
        dest: Option<String>,
    },
    Progress(Progress),
    /// One file failed; the job goes on with the others.
    FileFailed {
        id: JobId,
        file: String,
        reason: String,
    },
    /// The job ended: finished, failed or cancelled.
    Done(JobReport),
}

/// A job's progress so far.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Progress {
    pub id: JobId,
    pub files_done: u64,
    pub files_skipped: u64,
    pub files_failed: u64,
    /// Files planned so far (final once `planning` is false).
    pub files_total: u64,
    pub bytes_done: u64,
    pub bytes_total: u64,
    pub planning: bool,
    /// The file most recently started.
    pub current: Option<String>,
    /// Bytes per second over the last interval.
    pub rate: f64,
    pub elapsed: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    Finished,
    Failed,
    Cancelled,
}

/// How a job ended.
#[derive(Debug, Clone)]
pub struct JobReport {
    pub id: JobId,
    pub kind: JobKind,
    pub status: JobStatus,
    pub sources: Vec<String>,
    pub dest: Option<String>,
    /// The routes files took (server-side, streamed, staged, upload, download, local, delete).
    pub routes: Vec<Route>,
    pub files_done: u64,
    pub files_skipped: u64,
    pub bytes: u64,
    pub started_at: SystemTime,
    pub duration: Duration,
    /// (file, reason) for every file that failed.
    pub failures: Vec<(String, String)>,
}

impl JobReport {
    /// Bytes per second over the whole job.
    pub fn throughput(&self) -> f64 {
        let secs = self.duration.as_secs_f64();
        if secs > 0.0 {
            self.bytes as f64 / secs
        } else {
            0.0
        }
    }

    /// The route name for summaries: the one route, or "mixed".
    pub fn mode(&self) -> String {
        match self.routes.as_slice() {
            [] => "none".into(),
            [one] => one.as_str().into(),
            many => many
                .iter()
                .map(|r| r.as_str())
                .collect::<Vec<_>>()
                .join("+"),
        }
    }
}
