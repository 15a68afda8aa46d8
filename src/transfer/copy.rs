//! Moving one file: the conflict check, the copy by its route (server-side, streamed, staged,
//! upload, download, local), verification, and for a move the source's deletion — only after
//! the copy was verified.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use futures::StreamExt;

use super::checksum::{self, is_md5};
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
            let outcome = copy(storage, task, opts, moved).await?;
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

async fn delete_source(storage: &Storage, src: &Location) -> Result<(), StorageError> {
    let report = storage.delete(std::slice::from_ref(src)).await?;
    match report.failed.into_iter().next() {
        None => Ok(()),
        Some((_, why)) => Err(StorageError::Service {
            op: "move",
            what: src.to_string(),
            code: "SourceNotDeleted".into(),
            message: format!("copied and verified, source not deleted: {why}"),
        }),
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

/// Counts bytes as they pass.
fn counted(stream: ByteStream, moved: &Arc<AtomicU64>) -> ByteStream {
    let counter = moved.clone();
    Box::pin(stream.inspect(move |c| {
        if let Ok(b) = c {
            counter.fetch_add(b.len() as u64, Ordering::Relaxed);
        }
    }))
}

async fn copy(
    storage: &Storage,
    task: &FileTask,
    opts: &JobOptions,
    moved: &Arc<AtomicU64>,
) -> Result<WriteOutcome, StorageError> {
    let mut wopts = opts.write_options(task.size);
    wopts.expect_size = task.size;
    wopts.expect_md5 = task.etag.clone().filter(|e| is_md5(e));
    match task.route {
        Route::ServerSide => {
            let size = match task.size {
                Some(s) => s,
                None => storage.stat(&task.src).await?.size,
            };
            let out = storage
                .copy_server_side(&task.src, &task.dst, size, &wopts)
                .await?;
            moved.fetch_add(size, Ordering::Relaxed);
            Ok(out)
        }
        Route::Staged => staged(storage, task, opts, &wopts, moved).await,
        _ => {
            let body = storage.read(&task.src, None).await?;
            storage.write(&task.dst, counted(body, moved), &wopts).await
        }
    }
}

/// The seed paper's "migration using local disk": download to a staging file, upload it, then
/// remove it (also on failure or cancel).
async fn staged(
    storage: &Storage,
    task: &FileTask,
    opts: &JobOptions,
    wopts: &crate::storage::WriteOptions,
    moved: &Arc<AtomicU64>,
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
    let upload = crate::storage::WriteOptions {
        expect_md5: None,
        ..wopts.clone()
    };
    storage
        .write(&task.dst, counted(body, moved), &upload)
        .await
}
