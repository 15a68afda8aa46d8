//! Planning: expands sources (files, objects, directories, prefixes) into one task per file,
//! streaming the listing so the first files can move before a 100,000-key prefix is fully read.
//!
//! Where things land: a file copied into a container (a prefix ending in `/`, a bucket root, an
//! existing local directory, or any destination of several sources) keeps its name; a file copied
//! onto a plain name takes that name; the contents of a directory or prefix land directly in the
//! destination (like `aws s3 cp --recursive`). Local names keep their exact bytes; empty local
//! directories and S3 folder markers (`dir/`) carry over as each other. The checks that keep
//! every file inside its destination are in `landing`.

mod landing;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use futures::StreamExt;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};

use super::job::{JobSpec, Mode, Route};
use crate::storage::{EntryKind, Location, Storage, StorageError, s3::check_key};
pub use landing::safe_local_path;
use landing::{Landing, Rel};

/// One file (or folder marker) to transfer.
#[derive(Debug, Clone, PartialEq)]
pub struct FileTask {
    pub src: Location,
    pub dst: Location,
    pub size: Option<u64>,
    pub etag: Option<String>,
    pub route: Route,
    /// An S3 folder marker (`dir/`) or an empty local directory: recreate the directory (or
    /// the marker), move no bytes.
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
    start_within(storage, spec, totals, None)
}

/// [`start`], with each request planning makes (the HEAD of an object named as a source, each
/// listing page of a prefix) holding one of the worker's transfer `slots` while it runs, so
/// thousands of queued one-file jobs cannot send thousands of HEADs at once.
pub fn start_within(
    storage: Arc<Storage>,
    spec: JobSpec,
    totals: Arc<PlanTotals>,
    slots: Option<Arc<Semaphore>>,
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
        let several = spec.sources.len() > 1;
        let mut p = Planner {
            storage: &storage,
            spec: &spec,
            slots,
            into: dest_is_container(&dest, several).await,
            landing: Landing::new(dest.clone(), several),
            dest,
            tx: &planned_tx,
        };
        for src in &spec.sources {
            if p.source(src).await.is_err() {
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

/// One job's planning: its sources, one after the other, into one destination.
struct Planner<'a> {
    storage: &'a Storage,
    spec: &'a JobSpec,
    /// Held by each request planning sends (see [`start_within`]).
    slots: Option<Arc<Semaphore>>,
    dest: Location,
    /// Files go *into* the destination (keeping their names), rather than onto it.
    into: bool,
    landing: Landing,
    tx: &'a mpsc::Sender<PlanItem>,
}

impl Planner<'_> {
    /// A transfer slot for one request to `loc` (none needed for the local disk).
    async fn slot(&self, loc: &Location) -> Option<OwnedSemaphorePermit> {
        match (&self.slots, loc) {
            (Some(slots), Location::S3 { .. }) => slots.clone().acquire_owned().await.ok(),
            _ => None,
        }
    }

    async fn problem(&self, name: String, reason: String) -> Sent {
        self.tx.send(PlanItem::Problem { name, reason }).await
    }

    async fn source(&mut self, src: &Location) -> Sent {
        let same_account = self.storage.can_copy_server_side(src, &self.dest).await;
        let route = match route(src, &self.dest, self.spec.options.mode, same_account) {
            Ok(r) => r,
            Err(reason) => return self.problem(src.to_string(), reason).await,
        };
        let recursive = self.spec.options.recursive;
        let slot = self.slot(src).await;
        let source = classify(self.storage, src, recursive).await;
        drop(slot);
        match source {
            Err(e) => self.problem(src.to_string(), e.to_string()).await,
            Ok(Source::File { size, etag }) => {
                let target = if self.into {
                    self.place_file_name(src).await
                } else {
                    self.onto(&self.dest)
                };
                match target {
                    Ok(dst) => {
                        let task = FileTask {
                            src: src.clone(),
                            dst,
                            size: Some(size),
                            etag,
                            route,
                            is_dir_marker: false,
                        };
                        self.tx.send(PlanItem::Task(task)).await
                    }
                    Err(reason) => self.problem(src.to_string(), reason).await,
                }
            }
            Ok(Source::Container(_)) if !recursive => {
                let why = "is a directory or prefix: copy it recursively (-r)";
                self.problem(src.to_string(), why.into()).await
            }
            Ok(Source::Container(root)) => self.expand(&root, route).await,
        }
    }

    /// A file copied into the destination keeps its name (byte-exact for local names).
    async fn place_file_name(&mut self, src: &Location) -> Result<Location, String> {
        match src {
            Location::Local(p) => {
                let name = p.file_name().ok_or("a file needs a name")?;
                self.landing.place(Rel::Path(Path::new(name)), false).await
            }
            _ => {
                let name = src.file_name().unwrap_or_default();
                self.landing.place(Rel::Key(&name), false).await
            }
        }
    }

    /// A file copied onto a name the user gave: an S3 key is checked before any request.
    fn onto(&self, dest: &Location) -> Result<Location, String> {
        if let Location::S3 { key, .. } = dest {
            check_key(key).map_err(|e| e.to_string())?;
        }
        Ok(dest.clone())
    }

    async fn expand(&mut self, root: &Location, route: Route) -> Sent {
        let mut pages = match self.storage.list_recursive(root).await {
            Ok(p) => p,
            Err(e) => return self.problem(root.to_string(), e.to_string()).await,
        };
        loop {
            let slot = self.slot(root).await;
            let Some(page) = pages.next().await else {
                break;
            };
            drop(slot);
            let page = match page {
                Ok(p) => p,
                Err(e) => return self.problem(root.to_string(), e.to_string()).await,
            };
            for reason in page.problems {
                self.problem(root.to_string(), reason).await?;
            }
            for e in page.entries {
                if let Some(item) = self.entry(root, route, &e).await {
                    self.tx.send(item).await?;
                }
            }
        }
        Ok(())
    }

    /// The plan for one listed entry below `root`; `None` for what needs no transfer.
    async fn entry(
        &mut self,
        root: &Location,
        route: Route,
        e: &crate::storage::Entry,
    ) -> Option<PlanItem> {
        let problem = |reason: String| PlanItem::Problem {
            name: e.location.to_string(),
            reason,
        };
        if e.kind == EntryKind::Symlink {
            return Some(problem(
                "symbolic link skipped (links are not followed)".into(),
            ));
        }
        let is_dir = e.kind == EntryKind::Dir;
        let placed = match (root, &e.location) {
            (Location::Local(base), Location::Local(p)) => {
                // Directories are recreated by the files in them; an empty one on its own.
                if is_dir && !is_empty_dir(p).await {
                    return None;
                }
                let rel = p.strip_prefix(base).unwrap_or(p);
                self.landing.place(Rel::Path(rel), is_dir).await
            }
            (Location::S3 { key: base, .. }, Location::S3 { key, .. }) => {
                let prefix = if base.is_empty() || base.ends_with('/') {
                    base.clone()
                } else {
                    format!("{base}/")
                };
                let rel = key.strip_prefix(&prefix).unwrap_or(key);
                // The marker of the root itself: the destination is its directory.
                if rel.is_empty() {
                    return None;
                }
                self.landing.place(Rel::Key(rel), is_dir).await
            }
            _ => Err("the listing returned an entry of another kind".into()),
        };
        Some(match placed {
            Ok(dst) => PlanItem::Task(FileTask {
                src: e.location.clone(),
                dst,
                size: e.size,
                etag: e.etag.clone(),
                route,
                is_dir_marker: is_dir,
            }),
            Err(reason) => problem(reason),
        })
    }
}

async fn is_empty_dir(p: &Path) -> bool {
    match tokio::fs::read_dir(p).await {
        Ok(mut rd) => matches!(rd.next_entry().await, Ok(None)),
        Err(_) => false,
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

#[cfg(test)]
mod tests {
    use super::*;

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
