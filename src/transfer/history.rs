//! The record of every job: one JSON line per finished, failed or cancelled job in
//! `history.jsonl` in the XDG data dir, for charts, exports and comparing migrations.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::events::{JobReport, JobStatus};
use super::job::JobKind;

/// One line of `history.jsonl`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryRecord {
    pub kind: JobKind,
    /// server-side, streamed, staged, upload, download, local, delete (joined by `+` if mixed).
    pub mode: String,
    pub status: JobStatus,
    pub sources: Vec<String>,
    pub destination: Option<String>,
    pub objects: u64,
    pub skipped: u64,
    pub bytes: u64,
    /// RFC 3339, UTC.
    pub started_at: String,
    pub duration_secs: f64,
    pub throughput_bytes_per_sec: f64,
    pub errors: Vec<String>,
}

impl From<&JobReport> for HistoryRecord {
    fn from(r: &JobReport) -> Self {
        let started = time::OffsetDateTime::from(r.started_at)
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        HistoryRecord {
            kind: r.kind,
            mode: r.mode(),
            status: r.status,
            sources: r.sources.clone(),
            destination: r.dest.clone(),
            objects: r.files_done,
            skipped: r.files_skipped,
            bytes: r.bytes,
            started_at: started,
            duration_secs: r.duration.as_secs_f64(),
            throughput_bytes_per_sec: r.throughput(),
            errors: r
                .failures
                .iter()
                .map(|(f, why)| format!("{f}: {why}"))
                .collect(),
        }
    }
}

/// Where history lives (`S3FERRY_HISTORY` overrides).
pub fn default_path() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("S3FERRY_HISTORY") {
        return Some(PathBuf::from(p));
    }
    crate::config::project_dirs().map(|d| d.data_dir().join("history.jsonl"))
}

/// Appends one record (one `write` of one line, so concurrent appenders do not interleave).
pub fn append(path: &Path, record: &HistoryRecord) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut line = serde_json::to_string(record).map_err(std::io::Error::other)?;
    line.push('\n');
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    f.write_all(line.as_bytes())
}

/// Reads every record; lines that do not parse are skipped and counted.
pub fn read(path: &Path) -> std::io::Result<(Vec<HistoryRecord>, usize)> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((vec![], 0)),
        Err(e) => return Err(e),
    };
    let mut bad = 0;
    let records = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .filter_map(|l| serde_json::from_str(l).map_err(|_| bad += 1).ok())
        .collect();
    Ok((records, bad))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transfer::job::Route;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn appends_and_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/history.jsonl");
        let report = JobReport {
            id: 1,
            kind: JobKind::Copy,
            status: JobStatus::Finished,
            sources: vec!["s3://a/x".into()],
            dest: Some("/tmp/y".into()),
            routes: vec![Route::Download],
            files_done: 3,
            files_skipped: 0,
            bytes: 2_000_000,
            started_at: UNIX_EPOCH + Duration::from_secs(1_700_000_000),
            duration: Duration::from_secs(2),
            failures: vec![],
        };
        let rec = HistoryRecord::from(&report);
        assert_eq!(rec.throughput_bytes_per_sec, 1_000_000.0);
        assert_eq!(rec.started_at, "2023-11-14T22:13:20Z");
        append(&path, &rec).unwrap();
        append(&path, &rec).unwrap();
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap()
            .write_all(b"garbage\n")
            .unwrap();
        let (back, bad) = read(&path).unwrap();
        assert_eq!((back.len(), bad), (2, 1));
        assert_eq!(back[0], rec);
    }
}
