//! The worker pool: accepts jobs at any time, runs each on tokio with at most `concurrency` file
//! transfers at once across all jobs, reports on one event channel, records history, and can
//! cancel (racing a token; dropping the work aborts multipart uploads and removes temp files)
//! or retry a job.

use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use futures::StreamExt;
use tokio::sync::{Semaphore, mpsc};
use tokio_util::sync::CancellationToken;

use super::copy::{FileResult, transfer};
use super::events::{Event, JobReport, JobStatus, Progress};
use super::history::{self, HistoryRecord};
use super::job::{JobId, JobKind, JobSpec, Route};
use super::plan::{self, PlanItem, PlanTotals};
use crate::storage::{Location, Storage};

/// How often progress may be sent.
const PROGRESS_EVERY: Duration = Duration::from_millis(100);

/// Runs jobs. Create with [`Worker::new`]; events arrive on the returned receiver.
pub struct Worker {
    storage: Arc<Storage>,
    events: mpsc::UnboundedSender<Event>,
    slots: Arc<Semaphore>,
    jobs: Mutex<HashMap<JobId, (JobSpec, CancellationToken)>>,
    next_id: AtomicU64,
    history: Option<PathBuf>,
}

/// Counters of a running job.
#[derive(Default)]
struct Stats {
    totals: Arc<PlanTotals>,
    bytes: Arc<AtomicU64>,
    done: AtomicU64,
    skipped: AtomicU64,
    failures: Mutex<Vec<(String, String)>>,
    routes: Mutex<BTreeSet<Route>>,
    current: Mutex<Option<String>>,
}

impl Worker {
    /// A worker moving at most `concurrency` files at once, appending to `history` if given.
    pub fn new(
        storage: Arc<Storage>,
        concurrency: usize,
        history: Option<PathBuf>,
    ) -> (Arc<Worker>, mpsc::UnboundedReceiver<Event>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let worker = Worker {
            storage,
            events: tx,
            slots: Arc::new(Semaphore::new(concurrency.max(1))),
            jobs: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(1),
            history,
        };
        (Arc::new(worker), rx)
    }

    /// The storage the worker moves data with.
    pub fn storage(&self) -> &Arc<Storage> {
        &self.storage
    }

    /// Queues a job; it starts at once and shares the pool's transfer slots.
    pub fn submit(self: &Arc<Self>, spec: JobSpec) -> JobId {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let token = CancellationToken::new();
        if let Ok(mut jobs) = self.jobs.lock() {
            jobs.insert(id, (spec.clone(), token.clone()));
        }
        let _ = self.events.send(Event::Queued {
            id,
            kind: spec.kind,
            sources: spec.sources.iter().map(Location::to_string).collect(),
            dest: spec.dest.as_ref().map(Location::to_string),
        });
        tokio::spawn(self.clone().run_job(id, spec, token));
        id
    }

    /// Cancels a job; true if it was known.
    pub fn cancel(&self, id: JobId) -> bool {
        let jobs = self.jobs.lock();
        match jobs.ok().and_then(|j| j.get(&id).map(|(_, t)| t.clone())) {
            Some(t) => {
                t.cancel();
                true
            }
            None => false,
        }
    }

    /// Cancels every job.
    pub fn cancel_all(&self) {
        if let Ok(jobs) = self.jobs.lock() {
            jobs.values().for_each(|(_, t)| t.cancel());
        }
    }

    /// Submits a finished, failed or cancelled job again (skip-same makes finished files free).
    pub fn retry(self: &Arc<Self>, id: JobId) -> Option<JobId> {
        let spec = self.jobs.lock().ok()?.get(&id).map(|(s, _)| s.clone())?;
        Some(self.submit(spec))
    }

    /// Plans a copy or move completely without moving anything (a dry run).
    pub async fn plan(&self, spec: &JobSpec) -> Vec<PlanItem> {
        let (mut rx, _guard) = plan::start(self.storage.clone(), spec.clone(), Arc::default());
        let mut items = Vec::new();
        while let Some(item) = rx.recv().await {
            items.push(item);
        }
        items
    }

    async fn run_job(self: Arc<Self>, id: JobId, spec: JobSpec, token: CancellationToken) {
        let stats = Arc::new(Stats::default());
        let (started, started_at) = (Instant::now(), SystemTime::now());
        let reporter = tokio::spawn(report_progress(
            id,
            stats.clone(),
            started,
            self.events.clone(),
        ));
        let cancelled = tokio::select! {
            biased;
            _ = token.cancelled() => true,
            _ = self.execute(id, &spec, &stats) => false,
        };
        reporter.abort();
        let _ = self
            .events
            .send(Event::Progress(snapshot(id, &stats, started, 0.0)));
        let failures = stats.failures.lock().map(|f| f.clone()).unwrap_or_default();
        let status = match (cancelled, failures.is_empty()) {
            (true, _) => JobStatus::Cancelled,
            (false, true) => JobStatus::Finished,
            (false, false) => JobStatus::Failed,
        };
        let report = JobReport {
            id,
            kind: spec.kind,
            status,
            sources: spec.sources.iter().map(Location::to_string).collect(),
            dest: spec.dest.as_ref().map(Location::to_string),
            routes: stats
                .routes
                .lock()
                .map(|r| r.iter().copied().collect())
                .unwrap_or_default(),
            files_done: stats.done.load(Ordering::Relaxed),
            files_skipped: stats.skipped.load(Ordering::Relaxed),
            bytes: stats.bytes.load(Ordering::Relaxed),
            started_at,
            duration: started.elapsed(),
            failures,
        };
        if let Some(path) = &self.history
            && let Err(e) = history::append(path, &HistoryRecord::from(&report))
        {
            tracing::warn!("cannot append to history {}: {e}", path.display());
        }
        let _ = self.events.send(Event::Done(report));
    }

    async fn execute(&self, id: JobId, spec: &JobSpec, stats: &Arc<Stats>) {
        match spec.kind {
            JobKind::Delete => self.delete(id, spec, stats).await,
            JobKind::Copy | JobKind::Move => self.copy_or_move(id, spec, stats).await,
        }
    }

    async fn copy_or_move(&self, id: JobId, spec: &JobSpec, stats: &Arc<Stats>) {
        // Planning requests (a source's HEAD, listing pages) share the transfer slots, so
        // thousands of queued one-file jobs cannot send thousands of HEADs at once.
        let (rx, _planner) = plan::start_within(
            self.storage.clone(),
            spec.clone(),
            stats.totals.clone(),
            Some(self.slots.clone()),
        );
        let items =
            futures::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|i| (i, rx)) });
        items
            .map(|item| async move {
                let task = match item {
                    PlanItem::Task(t) => t,
                    PlanItem::Problem { name, reason } => {
                        return self.fail(id, stats, name, reason);
                    }
                };
                let Ok(_slot) = self.slots.acquire().await else {
                    return;
                };
                if let Ok(mut c) = stats.current.lock() {
                    *c = Some(task.src.to_string());
                }
                match transfer(&self.storage, &task, spec.kind, &spec.options, &stats.bytes).await {
                    Ok(FileResult::Copied { .. }) => {
                        stats.done.fetch_add(1, Ordering::Relaxed);
                        if let Ok(mut r) = stats.routes.lock() {
                            r.insert(task.route);
                        }
                    }
                    Ok(FileResult::Skipped) => {
                        stats.skipped.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(e) => {
                        let name = format!("{} → {}", task.src, task.dst);
                        self.fail(id, stats, name, e.to_string());
                    }
                }
            })
            .buffer_unordered(spec.options.concurrency.max(1))
            .for_each(|()| async {})
            .await;
    }

    async fn delete(&self, id: JobId, spec: &JobSpec, stats: &Arc<Stats>) {
        if let Ok(mut r) = stats.routes.lock() {
            r.insert(Route::Delete);
        }
        let mut singles = Vec::new();
        for src in &spec.sources {
            let container = match src {
                Location::Local(p) => tokio::fs::symlink_metadata(p)
                    .await
                    .is_ok_and(|m| m.is_dir()),
                Location::S3 { .. } if src.is_container() => true,
                Location::S3 { .. } => {
                    spec.options.recursive && self.storage.stat(src).await.is_err()
                }
                Location::Buckets(_) => {
                    self.fail(
                        id,
                        stats,
                        src.to_string(),
                        "cannot delete a bucket list".into(),
                    );
                    continue;
                }
            };
            if !container {
                singles.push(src.clone());
                continue;
            }
            if !spec.options.recursive {
                self.fail(
                    id,
                    stats,
                    src.to_string(),
                    "is a directory or prefix: delete it recursively (-r)".into(),
                );
                continue;
            }
            match self.storage.delete_recursive(src).await {
                Ok(r) => self.count_deleted(id, stats, r),
                Err(e) => self.fail(id, stats, src.to_string(), e.to_string()),
            }
        }
        if !singles.is_empty() {
            stats
                .totals
                .files
                .fetch_add(singles.len() as u64, Ordering::Relaxed);
            match self.storage.delete(&singles).await {
                Ok(r) => self.count_deleted(id, stats, r),
                Err(e) => self.fail(id, stats, format!("{} files", singles.len()), e.to_string()),
            }
        }
        stats.totals.complete.store(true, Ordering::Relaxed);
    }

    fn count_deleted(&self, id: JobId, stats: &Stats, report: crate::storage::DeleteReport) {
        stats
            .done
            .fetch_add(report.deleted as u64, Ordering::Relaxed);
        for (key, why) in report.failed {
            self.fail(id, stats, key, why);
        }
    }

    fn fail(&self, id: JobId, stats: &Stats, file: String, reason: String) {
        tracing::warn!(job = id, file = %crate::text::escape(&file), "failed: {reason}");
        if let Ok(mut f) = stats.failures.lock() {
            f.push((file.clone(), reason.clone()));
        }
        let _ = self.events.send(Event::FileFailed { id, file, reason });
    }
}

fn snapshot(id: JobId, stats: &Stats, started: Instant, rate: f64) -> Progress {
    Progress {
        id,
        files_done: stats.done.load(Ordering::Relaxed),
        files_skipped: stats.skipped.load(Ordering::Relaxed),
        files_failed: stats.failures.lock().map(|f| f.len() as u64).unwrap_or(0),
        files_total: stats.totals.files.load(Ordering::Relaxed),
        bytes_done: stats.bytes.load(Ordering::Relaxed),
        bytes_total: stats.totals.bytes.load(Ordering::Relaxed),
        planning: !stats.totals.complete.load(Ordering::Relaxed),
        current: stats.current.lock().ok().and_then(|c| c.clone()),
        rate,
        elapsed: started.elapsed(),
    }
}

/// Sends progress every 100 ms, only when something moved.
async fn report_progress(
    id: JobId,
    stats: Arc<Stats>,
    started: Instant,
    events: mpsc::UnboundedSender<Event>,
) {
    let mut tick = tokio::time::interval(PROGRESS_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut last: Option<Progress> = None;
    let mut last_at = Instant::now();
    loop {
        tick.tick().await;
        let prev_bytes = last.as_ref().map_or(0, |p| p.bytes_done);
        let now = Instant::now();
        let mut p = snapshot(id, &stats, started, 0.0);
        let dt = now.duration_since(last_at).as_secs_f64();
        p.rate = if dt > 0.0 {
            p.bytes_done.saturating_sub(prev_bytes) as f64 / dt
        } else {
            0.0
        };
        let changed = last.as_ref().is_none_or(|l| {
            (
                l.files_done,
                l.files_total,
                l.bytes_done,
                l.bytes_total,
                l.files_failed,
                l.planning,
            ) != (
                p.files_done,
                p.files_total,
                p.bytes_done,
                p.bytes_total,
                p.files_failed,
                p.planning,
            )
        });
        if changed {
            if events.send(Event::Progress(p.clone())).is_err() {
                return;
            }
            last = Some(p);
            last_at = now;
        }
    }
}
