//! Performs the app's effects on tokio and sends their results back as messages: listings page
//! by page, plans, stats, previews, presigns, creates, renames, history, and the worker's jobs.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures::StreamExt;
use tokio::sync::mpsc::UnboundedSender;
use tokio::task::AbortHandle;

use crate::app::{Effect, Msg, PlanUpdate, Side};
use crate::storage::{ListPage, Location, Storage};
use crate::transfer::plan::{self, PlanItem, PlanTotals};
use crate::transfer::{JobSpec, Worker};

/// Bytes a preview reads.
const PREVIEW_BYTES: u64 = 64 * 1024;
/// Destinations checked for conflicts in a plan (each is one stat).
const CONFLICT_CHECKS: usize = 1000;

/// Performs effects. Owned by the runtime loop (or a test driver).
pub struct Runner {
    pub worker: Arc<Worker>,
    storage: Arc<Storage>,
    tx: UnboundedSender<Msg>,
    history: Option<PathBuf>,
    listings: HashMap<Side, AbortHandle>,
    plans: HashMap<u64, AbortHandle>,
}

impl Runner {
    /// A runner sending results on `tx`.
    pub fn new(worker: Arc<Worker>, tx: UnboundedSender<Msg>, history: Option<PathBuf>) -> Runner {
        Runner {
            storage: worker.storage().clone(),
            worker,
            tx,
            history,
            listings: HashMap::new(),
            plans: HashMap::new(),
        }
    }

    /// Starts one effect; never blocks on the network.
    pub fn perform(&mut self, effect: Effect) {
        let (storage, tx) = (self.storage.clone(), self.tx.clone());
        match effect {
            Effect::List {
                side,
                request,
                location,
            } => {
                let task = tokio::spawn(list(storage, tx, side, request, location));
                if let Some(old) = self.listings.insert(side, task.abort_handle()) {
                    old.abort(); // the pane moved on
                }
            }
            Effect::ListBuckets { endpoint } => {
                tokio::spawn(async move {
                    let loc = Location::Buckets(endpoint.clone());
                    let mut names = Vec::new();
                    if let Ok(mut pages) = storage.list(&loc).await {
                        while let Some(Ok(page)) = pages.next().await {
                            names.extend(page.entries.into_iter().map(|e| e.name));
                        }
                    }
                    let _ = tx.send(Msg::Buckets { endpoint, names });
                });
            }
            Effect::Plan { request, spec } => {
                let task = tokio::spawn(plan_job(storage, tx, request, spec));
                self.plans.insert(request, task.abort_handle());
            }
            Effect::StopPlan { request } => {
                if let Some(task) = self.plans.remove(&request) {
                    task.abort();
                }
            }
            Effect::Submit(spec) => {
                self.worker.submit(spec);
            }
            Effect::Cancel(id) => {
                self.worker.cancel(id);
            }
            Effect::Retry(id) => {
                self.worker.retry(id);
            }
            Effect::Stat { request, location } => {
                tokio::spawn(async move {
                    let result = storage.stat(&location).await.map_err(|e| e.to_string());
                    let _ = tx.send(Msg::Stat { request, result });
                });
            }
            Effect::Preview { request, location } => {
                tokio::spawn(async move {
                    let result = preview(&storage, &location).await;
                    let _ = tx.send(Msg::Preview { request, result });
                });
            }
            Effect::Presign { request, location } => {
                tokio::spawn(async move {
                    let result = storage
                        .presign(&location, Duration::from_secs(3600))
                        .await
                        .map_err(|e| e.to_string());
                    let _ = tx.send(Msg::Presigned { request, result });
                });
            }
            Effect::CreateDir(location) => {
                tokio::spawn(async move {
                    let result = match storage.create_dir(&location).await {
                        Ok(()) => Ok(format!("created {location}")),
                        Err(e) => Err(e.to_string()),
                    };
                    let _ = tx.send(Msg::OpDone { result });
                });
            }
            Effect::Rename { from, to } => {
                tokio::spawn(async move {
                    let result = match storage.rename(&from, &to).await {
                        Ok(()) => Ok(format!("renamed to {to}")),
                        Err(e) => Err(e.to_string()),
                    };
                    let _ = tx.send(Msg::OpDone { result });
                });
            }
            Effect::LoadHistory => {
                let path = self.history.clone();
                tokio::spawn(async move {
                    let result = match path {
                        Some(p) => tokio::task::spawn_blocking(move || {
                            crate::transfer::history::read(&p).map(|(records, _)| records)
                        })
                        .await
                        .map_err(|e| e.to_string())
                        .and_then(|r| r.map_err(|e| e.to_string())),
                        None => Err("no data directory for the history".into()),
                    };
                    let _ = tx.send(Msg::History(result));
                });
            }
            Effect::Quit => self.worker.cancel_all(),
        }
    }
}

/// Sends each page as it arrives, then an empty `done` page.
async fn list(
    storage: Arc<Storage>,
    tx: UnboundedSender<Msg>,
    side: Side,
    request: u64,
    location: Location,
) {
    let send = |page, first, done| {
        tx.send(Msg::Listed {
            side,
            request,
            page,
            first,
            done,
        })
        .is_ok()
    };
    let mut pages = match storage.list(&location).await {
        Ok(p) => p,
        Err(e) => {
            send(Err(e.to_string()), true, true);
            return;
        }
    };
    let mut first = true;
    while let Some(page) = pages.next().await {
        let failed = page.is_err();
        if !send(page.map_err(|e| e.to_string()), first, failed) {
            return;
        }
        first = false;
        if failed {
            return;
        }
    }
    send(Ok(ListPage::default()), first, true);
}

/// Plans a job without moving anything, sending totals as they grow (at most every 100 ms).
/// Destinations of the first files are checked for conflicts beside the planning, 16 at a
/// time, so counting a large job never waits on one stat after another.
async fn plan_job(storage: Arc<Storage>, tx: UnboundedSender<Msg>, request: u64, spec: JobSpec) {
    let mut update = PlanUpdate::default();
    if let (Some(src), Some(dst)) = (spec.sources.first(), &spec.dest) {
        update.server_side_possible = storage.can_copy_server_side(src, dst).await;
    }
    let conflicts = Arc::new(AtomicU64::new(0));
    let (check_tx, check_rx) = tokio::sync::mpsc::unbounded_channel::<Location>();
    let checker = {
        let (storage, conflicts) = (storage.clone(), conflicts.clone());
        tokio::spawn(async move {
            tokio_stream_of(check_rx)
                .map(|dst| {
                    let storage = storage.clone();
                    async move { storage.stat(&dst).await.is_ok() }
                })
                .buffer_unordered(16)
                .for_each(|exists| {
                    if exists {
                        conflicts.fetch_add(1, Ordering::Relaxed);
                    }
                    async {}
                })
                .await;
        })
    };
    // Stops the checks if the dialog closes (this task is aborted) before they finish.
    let mut checker = plan::AbortOnDrop(checker);
    let (mut rx, _guard) = plan::start(storage.clone(), spec, Arc::new(PlanTotals::default()));
    let mut checked = 0;
    let mut last_sent = Instant::now();
    while let Some(item) = rx.recv().await {
        match item {
            PlanItem::Task(task) => {
                update.files += 1;
                update.bytes += task.size.unwrap_or(0);
                update.routes.insert(task.route);
                if checked < CONFLICT_CHECKS && !task.is_dir_marker {
                    checked += 1;
                    let _ = check_tx.send(task.dst);
                }
            }
            PlanItem::Problem { name, reason } => {
                update.problems.push(format!("{name}: {reason}"));
            }
        }
        if last_sent.elapsed() >= Duration::from_millis(100) {
            last_sent = Instant::now();
            update.conflicts = conflicts.load(Ordering::Relaxed);
            let _ = tx.send(Msg::Planned {
                request,
                update: update.clone(),
            });
        }
    }
    drop(check_tx);
    let _ = (&mut checker.0).await;
    update.conflicts = conflicts.load(Ordering::Relaxed);
    update.complete = true;
    let _ = tx.send(Msg::Planned { request, update });
}

/// A receiver as a stream.
fn tokio_stream_of<T: Send + 'static>(
    mut rx: tokio::sync::mpsc::UnboundedReceiver<T>,
) -> impl futures::Stream<Item = T> {
    futures::stream::poll_fn(move |cx| rx.poll_recv(cx))
}

/// The first 64 KiB of a file (nothing for an empty one: a range read of it would fail).
async fn preview(storage: &Storage, location: &Location) -> Result<Vec<u8>, String> {
    let info = storage.stat(location).await.map_err(|e| e.to_string())?;
    let len = info.size.min(PREVIEW_BYTES);
    if len == 0 {
        return Ok(Vec::new());
    }
    let mut body = storage
        .read(location, Some(0..len))
        .await
        .map_err(|e| e.to_string())?;
    let mut out = Vec::with_capacity(len as usize);
    while let Some(chunk) = body.next().await {
        out.extend_from_slice(&chunk.map_err(|e| e.to_string())?);
        if out.len() as u64 >= len {
            break;
        }
    }
    out.truncate(len as usize);
    Ok(out)
}
