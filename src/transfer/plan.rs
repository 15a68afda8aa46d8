//! Planning: expands sources (files, objects, directories, prefixes) into one task per file,
//! streaming the listing so the first files can move before a 100,000-key prefix is fully read.
//!
//! Where things land: a file copied into a container (a prefix ending in `/`, a bucket root, an
//! existing local directory, or any destination of several sources) keeps its name; a file copied
//! onto a plain name takes that name; the contents of a directory or prefix land directly in the
//! destination (like `aws s3 cp --recursive`).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use futures::StreamExt;
use tokio::sync::mpsc;

use super::job::{JobSpec, Mode, Route};
use crate::storage::{EntryKind, Location, Storage, StorageError, s3::check_key};

/// One file (or folder marker) to transfer.
#[derive(Debug, Clone, PartialEq)]
pub struct FileTask {
    pub src: Location,
    pub dst: Location,
    pub size: Option<u64>,
    pub etag: Option<String>,
    pub route: Route,
    /// An S3 folder marker (`dir/`): recreate the directory, move no bytes.
    pub is_dir_marker: bool,
}

/// What planning yields, item by item.
#[derive(Debug, Clone, PartialEq)]
pub enum PlanItem {
    Task(FileTask),
    /// A source or entry that cannot be transferred, with the reason.
    Problem {
        name: String,
        reason: String,
    },
}

/// Maps a relative, `/`-separated key to a path below `root`, refusing anything that could
/// leave it: `..` and `.` segments, empty segments (`a//b`), absolute keys, backslashes, NUL.
pub fn safe_local_path(root: &Path, key: &str) -> Result<PathBuf, String> {
    let key = key.strip_suffix('/').unwrap_or(key);
    if key.is_empty() {
        return Err("an empty name cannot be a local file".into());
    }
    if key.contains('\0') {
        return Err("holds a NUL character".into());
    }
    if key.contains('\\') {
        return Err("holds a backslash, which could act as a path separator".into());
    }
    if key.starts_with('/') {
        return Err("is an absolute path".into());
    }
    let mut path = root.to_path_buf();
    for seg in key.split('/') {
        match seg {
            "" => return Err("has an empty path segment ('//')".into()),
            "." | ".." => {
                return Err("has a '.' or '..' segment that could leave the target".into());
            }
            s => path.push(s),
        }
    }
    Ok(path)
}

/// The destination of `rel` (a `/`-separated relative name) below `dest`.
fn map_dest(dest: &Location, rel: &str) -> Result<Location, String> {
    match dest {
        Location::Local(root) => safe_local_path(root, rel).map(Location::Local),
        Location::S3 { .. } => {
            let loc = dest.join(rel);
            if let Location::S3 { key, .. } = &loc {
                check_key(key).map_err(|e| e.to_string())?;
            }
            Ok(loc)
        }
        Location::Buckets(_) => Err("choose a bucket as the destination".into()),
    }
}

/// How a file goes from `src` to `dst` under `mode`.
fn route(src: &Location, dst: &Location, mode: Mode, same_account: bool) -> Result<Route, String> {
    use Location::{Local, S3};
    match (src, dst, mode) {
        (Local(_), Local(_), _) => Ok(Route::Local),
        (Local(_), S3 { .. }, _) => Ok(Route::Upload),
        (S3 { .. }, Local(_), _) => Ok(Route::Download),
        (S3 { .. }, S3 { .. }, Mode::Auto) if same_account => Ok(Route::ServerSide),
        (S3 { .. }, S3 { .. }, Mode::Auto | Mode::Streamed) => Ok(Route::Streamed),
        (S3 { .. }, S3 { .. }, Mode::Staged) => Ok(Route::Staged),
        (S3 { .. }, S3 { .. }, Mode::ServerSide) if same_account => Ok(Route::ServerSide),
        (S3 { .. }, S3 { .. }, Mode::ServerSide) => Err(
            "server-side copy needs both sides on one endpoint with the same credentials".into(),
        ),
        _ => Err("cannot copy a bucket list; choose a bucket or prefix".into()),
    }
}

/// True when a destination is a directory-like place files go *into*.
async fn dest_is_container(dest: &Location, several_sources: bool) -> bool {
    match dest {
        _ if several_sources => true,
        Location::Local(p) => {
            p.as_os_str().to_string_lossy().ends_with('/')
                || tokio::fs::metadata(p).await.is_ok_and(|m| m.is_dir())
        }
        other => other.is_container(),
    }
}

/// Totals known so far, counted as planning finds files (ahead of the transfers).
#[derive(Debug, Default)]
pub struct PlanTotals {
    pub files: AtomicU64,
    pub bytes: AtomicU64,
    /// Set once every source has been listed.
    pub complete: AtomicBool,
}

/// Starts planning in background tasks; items arrive on the returned channel as the listings
/// do, and `totals` grow with them. Dropping the returned guard stops the planner.
pub fn start(
    storage: Arc<Storage>,
    spec: JobSpec,
    totals: Arc<PlanTotals>,
) -> (mpsc::Receiver<PlanItem>, [AbortOnDrop; 2]) {
    let (tx, rx) = mpsc::channel(1024);
    let (planned_tx, mut planned_rx) = mpsc::channel::<PlanItem>(1024);
    // Counts each task as it is planned, then passes it on.
    let counter = tokio::spawn(async move {
        while let Some(item) = planned_rx.recv().await {
            if let PlanItem::Task(t) = &item {
                totals.files.fetch_add(1, Ordering::Relaxed);
                totals
                    .bytes
                    .fetch_add(t.size.unwrap_or(0), Ordering::Relaxed);
            }
            if tx.send(item).await.is_err() {
                return;
            }
        }
        totals.complete.store(true, Ordering::Relaxed);
    });
    let planner = tokio::spawn(async move {
        let Some(dest) = spec.dest.clone() else {
            return;
        };
        let into = dest_is_container(&dest, spec.sources.len() > 1).await;
        for src in &spec.sources {
            if plan_source(&storage, &spec, src, &dest, into, &planned_tx)
                .await
                .is_err()
            {
                return; // the receiver is gone: the job was cancelled
            }
        }
    });
    (rx, [AbortOnDrop(planner), AbortOnDrop(counter)])
}

/// Aborts a task when dropped.
pub struct AbortOnDrop(pub tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

type Sent = Result<(), mpsc::error::SendError<PlanItem>>;

async fn plan_source(
    storage: &Storage,
    spec: &JobSpec,
    src: &Location,
    dest: &Location,
    into: bool,
    tx: &mpsc::Sender<PlanItem>,
) -> Sent {
    let problem = |reason: String| PlanItem::Problem {
        name: src.to_string(),
        reason,
    };
    let same_account = storage.can_copy_server_side(src, dest).await;
    let route = match route(src, dest, spec.options.mode, same_account) {
        Ok(r) => r,
        Err(reason) => return tx.send(problem(reason)).await,
    };
    match classify(storage, src, spec.options.recursive).await {
        Err(e) => tx.send(problem(e.to_string())).await,
        Ok(Source::File { size, etag }) => {
            let target = if into {
                map_dest(dest, &src.file_name().unwrap_or_default())
            } else {
                Ok(dest.clone())
            };
            let item = match target {
                Ok(dst) => PlanItem::Task(FileTask {
                    src: src.clone(),
                    dst,
                    size: Some(size),
                    etag,
                    route,
                    is_dir_marker: false,
                }),
                Err(reason) => problem(reason),
            };
            tx.send(item).await
        }
        Ok(Source::Container(root)) if !spec.options.recursive => {
            let _ = root;
            tx.send(problem(
                "is a directory or prefix: copy it recursively (-r)".into(),
            ))
            .await
        }
        Ok(Source::Container(root)) => expand(storage, &root, dest, route, tx).await,
    }
}

enum Source {
    File { size: u64, etag: Option<String> },
    Container(Location),
}

async fn classify(
    storage: &Storage,
    src: &Location,
    recursive: bool,
) -> Result<Source, StorageError> {
    match src {
        Location::Local(p) => {
            let meta = tokio::fs::symlink_metadata(p)
                .await
                .map_err(|e| StorageError::io("stat", p, e))?;
            if meta.is_dir() {
                Ok(Source::Container(src.clone()))
            } else if meta.file_type().is_symlink() {
                Err(StorageError::Unsupported {
                    op: "copy",
                    what: format!(
                        "the symbolic link {:?} (links are not followed)",
                        p.to_string_lossy()
                    ),
                })
            } else {
                Ok(Source::File {
                    size: meta.len(),
                    etag: None,
                })
            }
        }
        Location::S3 { key, .. } if key.is_empty() || key.ends_with('/') => {
            Ok(Source::Container(src.clone()))
        }
        Location::S3 {
            endpoint,
            bucket,
            key,
        } => match storage.stat(src).await {
            Ok(info) => Ok(Source::File {
                size: info.size,
                etag: info.etag,
            }),
            Err(e) if e.is_not_found() && recursive => Ok(Source::Container(Location::s3(
                endpoint.clone(),
                bucket,
                &format!("{key}/"),
            ))),
            Err(e) => Err(e),
        },
        Location::Buckets(_) => Err(StorageError::Unsupported {
            op: "copy",
            what: "a bucket list".into(),
        }),
    }
}

async fn expand(
    storage: &Storage,
    root: &Location,
    dest: &Location,
    route: Route,
    tx: &mpsc::Sender<PlanItem>,
) -> Sent {
    let mut pages = match storage.list_recursive(root).await {
        Ok(p) => p,
        Err(e) => {
            return tx
                .send(PlanItem::Problem {
                    name: root.to_string(),
                    reason: e.to_string(),
                })
                .await;
        }
    };
    while let Some(page) = pages.next().await {
        let page = match page {
            Ok(p) => p,
            Err(e) => {
                return tx
                    .send(PlanItem::Problem {
                        name: root.to_string(),
                        reason: e.to_string(),
                    })
                    .await;
            }
        };
        for reason in page.problems {
            tx.send(PlanItem::Problem {
                name: root.to_string(),
                reason,
            })
            .await?;
        }
        for e in page.entries {
            let item = match (e.kind, &e.location) {
                // Local directories are recreated by the files in them.
                (EntryKind::Dir, Location::Local(_)) => continue,
                (EntryKind::Symlink, _) => PlanItem::Problem {
                    name: e.location.to_string(),
                    reason: "symbolic link skipped (links are not followed)".into(),
                },
                (_, Location::Local(p))
                    if p.to_str().is_none() && matches!(dest, Location::S3 { .. }) =>
                {
                    PlanItem::Problem {
                        name: e.location.to_string(),
                        reason: "the name is not UTF-8, so it cannot be an S3 key".into(),
                    }
                }
                // The marker of the root itself: the destination is its directory.
                (EntryKind::Dir, _) if e.name.is_empty() => continue,
                (kind, _) => match map_dest(dest, &e.name) {
                    Ok(dst) => PlanItem::Task(FileTask {
                        src: e.location.clone(),
                        dst,
                        size: e.size,
                        etag: e.etag.clone(),
                        route,
                        is_dir_marker: kind == EntryKind::Dir,
                    }),
                    Err(reason) => PlanItem::Problem {
                        name: e.location.to_string(),
                        reason,
                    },
                },
            };
            tx.send(item).await?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_never_leave_the_target() {
        let root = Path::new("/target");
        assert_eq!(
            safe_local_path(root, "a/b.txt").unwrap(),
            Path::new("/target/a/b.txt")
        );
        assert_eq!(
            safe_local_path(root, "dir/").unwrap(),
            Path::new("/target/dir")
        );
        assert_eq!(
            safe_local_path(root, "ü ß/+%").unwrap(),
            Path::new("/target/ü ß/+%")
        );
        for bad in [
            "../evil",
            "a/../../b",
            "..",
            "./x",
            "/abs",
            "dir\\..\\..\\w",
            "a\\b",
            "a//b",
            "",
            "a\0b",
        ] {
            assert!(
                safe_local_path(root, bad).is_err(),
                "{bad:?} must be refused"
            );
        }
    }

    #[test]
    fn routes_follow_the_mode_and_the_accounts() {
        let l = Location::local("/x");
        let s = Location::parse("s3://b/k").unwrap();
        assert_eq!(route(&l, &s, Mode::Auto, false), Ok(Route::Upload));
        assert_eq!(route(&s, &l, Mode::Auto, false), Ok(Route::Download));
        assert_eq!(route(&s, &s, Mode::Auto, true), Ok(Route::ServerSide));
        assert_eq!(route(&s, &s, Mode::Auto, false), Ok(Route::Streamed));
        assert_eq!(route(&s, &s, Mode::Staged, true), Ok(Route::Staged));
        assert_eq!(route(&s, &s, Mode::Streamed, true), Ok(Route::Streamed));
        assert!(route(&s, &s, Mode::ServerSide, false).is_err());
    }
}
