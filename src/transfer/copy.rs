//! Moving one file: the conflict check, the copy by its route (server-side, streamed, staged,
//! upload, download, local), verification, and for a move the source's deletion — only after
//! the copy was verified.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use futures::StreamExt;

use super::checksum;
use super::job::{ConflictPolicy, JobKind, JobOptions, Route};
use super::plan::FileTask;
use crate::storage::{ByteStream, Location, ObjectInfo, Storage, StorageError, WriteOutcome};

/// How one file ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileResult {
    Copied {
        bytes: u64,
    },
    /// The destination already had the same data (or the policy said skip).
    Skipped,
}

/// Transfers one task; `moved` counts bytes as they reach the destination.
pub async fn transfer(
    storage: &Storage,
    task: &FileTask,
    kind: JobKind,
    opts: &JobOptions,
    moved: &Arc<AtomicU64>,
) -> Result<FileResult, StorageError> {
    if task.is_dir_marker {
        match storage.create_dir(&task.dst).await {
            Ok(()) | Err(StorageError::AlreadyExists { .. }) => {}
            Err(e) => return Err(e),
        }
        if kind == JobKind::Move {
            delete_source(storage, &task.src).await?;
        }
        return Ok(FileResult::Copied { bytes: 0 });
    }
    let result = match check_conflict(storage, task, opts.conflict).await? {
        Some(skip) => skip,
        None => {
            // A file that fails gives back the bytes it counted: they have to move again.
            let moved = Moved {
                job: moved.clone(),
                file: Arc::default(),
            };
            let outcome = match copy(storage, task, opts, &moved).await {
                Ok(o) => o,
                Err(e) => {
                    moved.undo();
                    return Err(e);
                }
            };
            FileResult::Copied {
                bytes: outcome.size,
            }
        }
    };
    if kind == JobKind::Move {
        delete_source(storage, &task.src).await?;
    }
    Ok(result)
}

/// Deletes a move's source once its copy is verified. A refusal is reported once, as such (the
/// copy stands), never retried in a loop.
async fn delete_source(storage: &Storage, src: &Location) -> Result<(), StorageError> {
    let not_deleted = |reason: String| StorageError::SourceNotDeleted {
        what: src.to_string(),
        reason,
    };
    match storage.delete(std::slice::from_ref(src)).await {
        Ok(report) => match report.failed.into_iter().next() {
            None => Ok(()),
            Some((_, why)) => Err(not_deleted(why)),
        },
        Err(e @ StorageError::AccessDenied { .. }) => {
            Err(not_deleted(format!("AccessDenied: {e}")))
        }
        Err(e) => Err(not_deleted(e.to_string())),
    }
}

/// `Some(Skipped)` when the destination exists and the policy skips it; an error when it
/// exists and must not be overwritten; `None` to go ahead.
async fn check_conflict(
    storage: &Storage,
    task: &FileTask,
    policy: ConflictPolicy,
) -> Result<Option<FileResult>, StorageError> {
    let existing = match storage.stat(&task.dst).await {
        Ok(info) => info,
        Err(e) if e.is_not_found() => return Ok(None),
        Err(e) => return Err(e),
    };
    match policy {
        ConflictPolicy::Overwrite => Ok(None),
        ConflictPolicy::SkipExisting => Ok(Some(FileResult::Skipped)),
        ConflictPolicy::Fail => Err(StorageError::AlreadyExists {
            what: task.dst.to_string(),
        }),
        ConflictPolicy::SkipSame => {
            if task.size == Some(existing.size) && same_content(storage, task, &existing).await? {
                Ok(Some(FileResult::Skipped))
            } else {
                Err(StorageError::AlreadyExists {
                    what: format!(
                        "{} (it differs or cannot be compared; choose overwrite to replace it)",
                        task.dst
                    ),
                })
            }
        }
    }
}

/// Compares checksums where both sides can give one: equal ETags, a local file against an
/// object's ETag (single-part MD5 or recomputed multipart ETag), two local files by MD5.
async fn same_content(
    storage: &Storage,
    task: &FileTask,
    dst: &ObjectInfo,
) -> Result<bool, StorageError> {
    if let (Some(a), Some(b)) = (task.etag.as_deref(), dst.etag.as_deref())
        && a == b
    {
        return Ok(true);
    }
    match (
        &task.src,
        &task.dst,
        task.etag.as_deref(),
        dst.etag.as_deref(),
    ) {
        (Location::Local(_), Location::Local(_), _, _) => Ok(checksum::md5_of(storage, &task.src)
            .await?
            == checksum::md5_of(storage, &task.dst).await?),
        (Location::Local(_), _, _, Some(etag)) => {
            checksum::local_matches_etag(storage, &task.src, dst.size, etag).await
        }
        (_, Location::Local(_), Some(etag), _) => {
            checksum::local_matches_etag(storage, &task.dst, dst.size, etag).await
        }
        _ => Ok(false),
    }
}

/// Bytes moved: the job's running total, and this file's share of it.
#[derive(Clone)]
struct Moved {
    job: Arc<AtomicU64>,
    file: Arc<AtomicU64>,
}

impl Moved {
    fn add(&self, n: u64) {
        self.job.fetch_add(n, Ordering::Relaxed);
        self.file.fetch_add(n, Ordering::Relaxed);
    }

    /// Takes this file's bytes back out of the job's total.
    fn undo(&self) {
        let mine = self.file.swap(0, Ordering::Relaxed);
        self.job.fetch_sub(mine, Ordering::Relaxed);
    }
}

/// Counts bytes as they pass.
fn counted(stream: ByteStream, moved: &Moved) -> ByteStream {
    let moved = moved.clone();
    Box::pin(stream.inspect(move |c| {
        if let Ok(b) = c {
            moved.add(b.len() as u64);
        }
    }))
}

async fn copy(
    storage: &Storage,
    task: &FileTask,
    opts: &JobOptions,
    moved: &Moved,
) -> Result<WriteOutcome, StorageError> {
    let mut wopts = opts.write_options(task.size);
    wopts.expect_size = task.size;
    // The source's content is checked where it is read: S3 reads verify the object's checksum
    // or ETag (knowing when an ETag is no MD5, as with SSE-KMS), local reads that the file did
    // not change while read.
    match task.route {
        Route::ServerSide => {
            let size = match task.size {
                Some(s) => s,
                None => storage.stat(&task.src).await?.size,
            };
            let out = storage
                .copy_server_side(&task.src, &task.dst, size, &wopts)
                .await?;
            moved.add(size);
            Ok(out)
        }
        Route::Staged => staged(storage, task, opts, &wopts, moved).await,
        _ => {
            let stamp = match &task.src {
                Location::Local(p) => FileStamp::of(p).await,
                _ => None,
            };
            let body = storage.read(&task.src, None).await?;
            let body = match (stamp, &task.src) {
                (Some(stamp), Location::Local(p)) => stamp.guard(p.clone(), body),
                _ => body,
            };
            storage.write(&task.dst, counted(body, moved), &wopts).await
        }
    }
}

/// What tells that a local file changed: its size, modification time and, on Unix, its inode
/// and change time (which no one can set back).
#[derive(Debug, Clone, PartialEq, Eq)]
struct FileStamp {
    len: u64,
    modified: Option<std::time::SystemTime>,
    #[cfg(unix)]
    inode: (u64, u64, i64, i64),
}

impl FileStamp {
    async fn of(path: &Path) -> Option<FileStamp> {
        let m = tokio::fs::metadata(path).await.ok()?;
        Some(FileStamp {
            len: m.len(),
            modified: m.modified().ok(),
            #[cfg(unix)]
            inode: {
                use std::os::unix::fs::MetadataExt;
                (m.dev(), m.ino(), m.ctime(), m.ctime_nsec())
            },
        })
    }

    /// Passes `body` through, and in place of its end an error if the file at `path` no longer
    /// has this stamp: a writer sees the error before committing, so a file modified while it
    /// was read never becomes a mixed object or copy.
    fn guard(self, path: PathBuf, body: ByteStream) -> ByteStream {
        let end = futures::stream::once(async move {
            match FileStamp::of(&path).await {
                Some(now) if now == self => None,
                _ => Some(Err(StorageError::Integrity {
                    what: format!("{:?}", path.to_string_lossy()),
                    detail: "source changed during transfer (modified while it was read)".into(),
                })),
            }
        })
        .filter_map(futures::future::ready);
        Box::pin(body.chain(end))
    }
}

/// The seed paper's "migration using local disk": download to a staging file, upload it, then
/// remove it (also on failure or cancel).
async fn staged(
    storage: &Storage,
    task: &FileTask,
    opts: &JobOptions,
    wopts: &crate::storage::WriteOptions,
    moved: &Moved,
) -> Result<WriteOutcome, StorageError> {
    static N: AtomicU64 = AtomicU64::new(0);
    let dir = opts.staging_dir.clone().unwrap_or_else(std::env::temp_dir);
    let path = dir.join(format!(
        "s3ferry-staged-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    struct Cleanup(std::path::PathBuf);
    impl Drop for Cleanup {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }
    let _cleanup = Cleanup(path.clone());
    let staged = Location::Local(path);
    let body = storage.read(&task.src, None).await?;
    storage.write(&staged, body, wopts).await?;
    let body = storage.read(&staged, None).await?;
    storage.write(&task.dst, counted(body, moved), wopts).await
}
