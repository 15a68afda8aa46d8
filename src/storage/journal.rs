//! The journal of multipart uploads in flight, so that uploads a crash, a kill or a power cut
//! interrupted are aborted on the next start rather than left (and billed) on the store.
//!
//! A JSON-lines file, `uploads.jsonl` in the XDG state directory (`~/.local/state/s3ferry/`;
//! `S3FERRY_JOURNAL` names another file): a `begin` line is written after CreateMultipartUpload
//! and before the first part, an `end` line once the upload is completed or aborted. Several
//! s3ferry processes may share the file: each holds an exclusive lock on its own session file
//! (`sessions/<id>.lock` beside the journal) while it lives, and [`recover`] only touches
//! uploads whose session lock is free, i.e. whose process is gone.
//!
//! Owns the file format and the recovery; must not know about jobs or screens. Journal I/O never
//! fails an upload: a journal that cannot be written is logged and skipped.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use super::location::EndpointRef;
use super::{Storage, StorageError};

/// Entries whose endpoint can no longer be resolved are dropped after this long.
const FORGET_AFTER: Duration = Duration::from_secs(7 * 24 * 3600);
/// The journal is compacted when it grows past this.
const COMPACT_ABOVE: u64 = 256 * 1024;

/// One upload in flight.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Upload {
    /// The named endpoint, or `None` for the default one.
    pub endpoint: Option<String>,
    /// The endpoint's name and URL when the upload began, to refuse a renamed or moved one.
    pub label: String,
    pub bucket: String,
    pub key: String,
    pub upload_id: String,
    /// Seconds since the Unix epoch.
    pub started: u64,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
enum Line {
    Begin {
        session: String,
        #[serde(flatten)]
        upload: Upload,
    },
    End {
        bucket: String,
        key: String,
        upload_id: String,
    },
}

/// This process's journal: the file and the session lock held while the process lives.
struct Journal {
    path: PathBuf,
    session: String,
    _lock: File,
}

static OVERRIDE: OnceLock<PathBuf> = OnceLock::new();
static JOURNAL: OnceLock<Option<Journal>> = OnceLock::new();

/// Where the journal lives: [`use_path`], else `S3FERRY_JOURNAL`, else the XDG state directory
/// (the data directory where there is none).
pub fn default_path() -> Option<PathBuf> {
    if let Some(p) = OVERRIDE.get() {
        return Some(p.clone());
    }
    if let Some(p) = std::env::var_os("S3FERRY_JOURNAL") {
        return Some(PathBuf::from(p));
    }
    let dirs = directories::ProjectDirs::from("", "", "s3ferry")?;
    Some(
        dirs.state_dir()
            .unwrap_or(dirs.data_local_dir())
            .join("uploads.jsonl"),
    )
}

/// Makes this process journal to `path` (tests, embedding); call it before the first upload.
/// False when the journal is already elsewhere.
pub fn use_path(path: PathBuf) -> bool {
    if let Some(Some(j)) = JOURNAL.get() {
        return j.path == path;
    }
    OVERRIDE.set(path.clone()).is_ok() || OVERRIDE.get() == Some(&path)
}

fn sessions_dir(journal: &Path) -> PathBuf {
    let name = journal
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    journal.with_file_name(format!("{name}.sessions"))
}

fn private_dir(dir: &Path) -> std::io::Result<()> {
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
    b.create(dir)
}

fn open_private(path: &Path, append: bool) -> std::io::Result<File> {
    let mut o = OpenOptions::new();
    o.create(true).read(true);
    if append {
        o.append(true);
    } else {
        o.write(true);
    }
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
    o.open(path)
}

fn journal() -> Option<&'static Journal> {
    JOURNAL
        .get_or_init(|| {
            let path = default_path()?;
            match start_session(&path) {
                Ok(j) => Some(j),
                Err(e) => {
                    tracing::warn!(
                        "cannot keep the upload journal {}: {e}; interrupted uploads will not be cleaned up on the next start",
                        path.display()
                    );
                    None
                }
            }
        })
        .as_ref()
}

fn start_session(path: &Path) -> std::io::Result<Journal> {
    let sessions = sessions_dir(path);
    private_dir(&sessions)?;
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let session = format!("{}-{nanos:x}", std::process::id());
    let lock = open_private(&sessions.join(format!("{session}.lock")), false)?;
    lock.lock()?;
    Ok(Journal {
        path: path.to_path_buf(),
        session,
        _lock: lock,
    })
}

fn append(path: &Path, line: &Line) -> std::io::Result<()> {
    let mut text = serde_json::to_string(line).map_err(std::io::Error::other)?;
    text.push('\n');
    let mut f = open_private(path, true)?;
    f.lock()?;
    f.write_all(text.as_bytes())?;
    let big = f
        .metadata()
        .map(|m| m.len() > COMPACT_ABOVE)
        .unwrap_or(false);
    drop(f);
    if big {
        compact(path, &[])?;
    }
    Ok(())
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Records an upload before its first part.
pub(crate) fn begin(endpoint: &EndpointRef, label: &str, bucket: &str, key: &str, id: &str) {
    let Some(j) = journal() else { return };
    let line = Line::Begin {
        session: j.session.clone(),
        upload: Upload {
            endpoint: match endpoint {
                EndpointRef::Default => None,
                EndpointRef::Named(n) => Some(n.clone()),
            },
            label: label.to_string(),
            bucket: bucket.to_string(),
            key: key.to_string(),
            upload_id: id.to_string(),
            started: now(),
        },
    };
    if let Err(e) = append(&j.path, &line) {
        tracing::warn!("cannot write the upload journal {}: {e}", j.path.display());
    }
}

/// Records that an upload was completed or aborted.
pub(crate) fn end(bucket: &str, key: &str, id: &str) {
    let Some(j) = journal() else { return };
    if let Err(e) = append(&j.path, &end_line(bucket, key, id)) {
        tracing::warn!("cannot write the upload journal {}: {e}", j.path.display());
    }
}

fn end_line(bucket: &str, key: &str, id: &str) -> Line {
    Line::End {
        bucket: bucket.to_string(),
        key: key.to_string(),
        upload_id: id.to_string(),
    }
}

/// Uploads begun and not ended, with their session, from the journal's text.
fn open_uploads(text: &str) -> BTreeMap<(String, String, String), (String, Upload)> {
    let mut open = BTreeMap::new();
    for line in text.lines() {
        match serde_json::from_str::<Line>(line) {
            Ok(Line::Begin { session, upload }) => {
                let k = (
                    upload.bucket.clone(),
                    upload.key.clone(),
                    upload.upload_id.clone(),
                );
                open.insert(k, (session, upload));
            }
            Ok(Line::End {
                bucket,
                key,
                upload_id,
            }) => {
                open.remove(&(bucket, key, upload_id));
            }
            // A torn last line from a crash mid-write.
            Err(_) => {}
        }
    }
    open
}

/// Rewrites the journal in place (under its lock) with only the uploads still open, minus
/// `forget`; removes the lock files of sessions that are gone and have nothing left.
fn compact(path: &Path, forget: &[(String, String, String)]) -> std::io::Result<()> {
    let mut f = open_private(path, false)?;
    f.lock()?;
    let mut text = String::new();
    f.read_to_string(&mut text)?;
    let mut open = open_uploads(&text);
    for k in forget {
        open.remove(k);
    }
    let mut out = String::new();
    for (session, upload) in open.values() {
        let line = Line::Begin {
            session: session.clone(),
            upload: upload.clone(),
        };
        out.push_str(&serde_json::to_string(&line).map_err(std::io::Error::other)?);
        out.push('\n');
    }
    f.set_len(0)?;
    f.rewind()?;
    f.write_all(out.as_bytes())?;
    drop(f);
    let sessions = sessions_dir(path);
    if let Ok(dir) = std::fs::read_dir(&sessions) {
        for entry in dir.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some(session) = name.strip_suffix(".lock") else {
                continue;
            };
            if !open.values().any(|(s, _)| s == session) && !session_alive(&sessions, session) {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
    Ok(())
}

/// True while the process that owns `session` holds its lock.
fn session_alive(sessions: &Path, session: &str) -> bool {
    let Ok(f) = File::open(sessions.join(format!("{session}.lock"))) else {
        return false;
    };
    matches!(f.try_lock(), Err(std::fs::TryLockError::WouldBlock))
}

/// What [`recover`] did.
#[derive(Debug, Default)]
pub struct Recovery {
    /// Uploads aborted (or found already gone), as `endpoint bucket/key`.
    pub aborted: Vec<String>,
    /// Uploads left in the journal for a later start, with the reason.
    pub kept: Vec<(String, String)>,
    /// Uploads forgotten: their endpoint is gone from the configuration for over a week.
    pub forgotten: Vec<String>,
    /// Uploads left quietly in the journal: their endpoint is not configured here (or points
    /// elsewhere now), perhaps only for this run.
    pub waiting: usize,
}

impl Recovery {
    /// Lines for a person: one per upload touched.
    pub fn messages(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .aborted
            .iter()
            .map(|u| format!("aborted an upload an earlier s3ferry left unfinished: {u}"))
            .collect();
        out.extend(self.kept.iter().map(|(u, why)| {
            format!(
                "could not abort an unfinished upload ({u}), will retry on the next start: {why}"
            )
        }));
        out.extend(self.forgotten.iter().map(|u| {
            format!("forgot an unfinished upload whose endpoint is no longer configured: {u}")
        }));
        out
    }
}

/// Aborts the multipart uploads that earlier s3ferry processes began and never finished (they
/// crashed, were killed, or lost power), then compacts the journal. Call once at start; uploads
/// of s3ferry processes still running are left alone.
pub async fn recover(storage: &Storage) -> Recovery {
    match default_path() {
        Some(path) => recover_at(storage, &path).await,
        None => Recovery::default(),
    }
}

/// [`recover`] with the journal at `path`.
pub async fn recover_at(storage: &Storage, path: &Path) -> Recovery {
    let mut report = Recovery::default();
    let p = path.to_path_buf();
    let stale = tokio::task::spawn_blocking(move || read_stale(&p))
        .await
        .unwrap_or_else(|e| Err(std::io::Error::other(e)));
    let stale = match stale {
        Ok(s) => s,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return report,
        Err(e) => {
            tracing::warn!("cannot read the upload journal {}: {e}", path.display());
            return report;
        }
    };
    let mut done = Vec::new();
    for upload in stale {
        let k = (
            upload.bucket.clone(),
            upload.key.clone(),
            upload.upload_id.clone(),
        );
        let shown = format!("{} {}/{:?}", upload.label, upload.bucket, upload.key);
        let old = now().saturating_sub(upload.started) > FORGET_AFTER.as_secs();
        match abort_one(storage, &upload).await {
            Outcome::Aborted => {
                report.aborted.push(shown);
                done.push(k);
            }
            Outcome::Unresolvable(why) if old => {
                tracing::warn!("forgetting unfinished upload {shown}: {why}");
                report.forgotten.push(shown);
                done.push(k);
            }
            Outcome::Unresolvable(why) => {
                tracing::debug!("keeping unfinished upload {shown}: {why}");
                report.waiting += 1;
            }
            Outcome::Failed(why) => report.kept.push((shown, why)),
        }
    }
    for m in report.messages() {
        tracing::info!("{m}");
    }
    let p = path.to_path_buf();
    let compacted = tokio::task::spawn_blocking(move || compact(&p, &done)).await;
    if let Ok(Err(e)) = compacted {
        tracing::warn!("cannot compact the upload journal {}: {e}", path.display());
    }
    report
}

/// The open uploads whose process is gone.
fn read_stale(path: &Path) -> std::io::Result<Vec<Upload>> {
    let mut f = File::open(path)?;
    f.lock_shared()?;
    let mut text = String::new();
    f.read_to_string(&mut text)?;
    drop(f);
    let sessions = sessions_dir(path);
    Ok(open_uploads(&text)
        .into_values()
        .filter(|(session, _)| !session_alive(&sessions, session))
        .map(|(_, u)| u)
        .collect())
}

/// How one abort went.
enum Outcome {
    Aborted,
    /// The store could not be asked or refused: try again on the next start.
    Failed(String),
    /// The endpoint is not configured (any more), or points elsewhere now: wait, quietly.
    Unresolvable(String),
}

async fn abort_one(storage: &Storage, upload: &Upload) -> Outcome {
    let endpoint = match &upload.endpoint {
        None => EndpointRef::Default,
        Some(n) => EndpointRef::Named(n.clone()),
    };
    let store = match storage.s3(&endpoint).await {
        Ok(s) => s,
        Err(e) => return Outcome::Unresolvable(e.to_string()),
    };
    if store.label() != upload.label {
        return Outcome::Unresolvable(format!(
            "endpoint {endpoint} is now {}, not {}",
            store.label(),
            upload.label
        ));
    }
    match store
        .abort_upload(&upload.bucket, &upload.key, &upload.upload_id)
        .await
    {
        Ok(()) | Err(StorageError::NoSuchBucket { .. }) => Outcome::Aborted,
        Err(e) => Outcome::Failed(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn upload(id: &str) -> Upload {
        Upload {
            endpoint: Some("t".into()),
            label: "t (http://127.0.0.1:1)".into(),
            bucket: "b".into(),
            key: "k\nx".into(),
            upload_id: id.into(),
            started: 1,
        }
    }

    #[test]
    fn open_uploads_fold_begins_and_ends_and_skip_torn_lines() {
        let mut text = String::new();
        for id in ["1", "2", "3"] {
            let line = Line::Begin {
                session: "s".into(),
                upload: upload(id),
            };
            text.push_str(&serde_json::to_string(&line).unwrap());
            text.push('\n');
        }
        text.push_str(&serde_json::to_string(&end_line("b", "k\nx", "2")).unwrap());
        text.push_str("\n{\"event\":\"begin\",\"sess");
        let open = open_uploads(&text);
        let ids: Vec<&str> = open.values().map(|(_, u)| u.upload_id.as_str()).collect();
        assert_eq!(ids, ["1", "3"]);
    }

    #[test]
    fn compaction_keeps_open_uploads_and_drops_dead_sessions() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("uploads.jsonl");
        let sessions = sessions_dir(&path);
        private_dir(&sessions).unwrap();
        std::fs::write(sessions.join("dead.lock"), "").unwrap();
        std::fs::write(sessions.join("gone.lock"), "").unwrap();
        for (session, id) in [("dead", "1"), ("gone", "2")] {
            append(
                &path,
                &Line::Begin {
                    session: session.into(),
                    upload: upload(id),
                },
            )
            .unwrap();
        }
        append(&path, &end_line("b", "k\nx", "2")).unwrap();
        assert_eq!(read_stale(&path).unwrap().len(), 1);
        compact(&path, &[]).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().count(), 1, "{text}");
        assert!(
            sessions.join("dead.lock").exists(),
            "it still has an upload"
        );
        assert!(!sessions.join("gone.lock").exists());
        compact(&path, &[("b".into(), "k\nx".into(), "1".into())]).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "");
        assert!(!sessions.join("dead.lock").exists());
    }

    #[test]
    fn a_live_session_is_seen_alive() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.jsonl");
        let j = start_session(&path).unwrap();
        let session = j.session.clone();
        assert!(session_alive(&sessions_dir(&path), &session));
        drop(j);
        assert!(!session_alive(&sessions_dir(&path), &session));
        assert!(!session_alive(&sessions_dir(&path), "nobody"));
    }
}
