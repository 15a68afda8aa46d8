//! The engine under load, on the in-process server (which counts requests and operations in
//! flight): 10,000 queued small copies each way plus 2,000 one-file jobs, cancelled at once
//! within the concurrency limit; 500 one-file download jobs whose planning stays within it too;
//! and a 100,000-key prefix listed page by page.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::data;
use futures::StreamExt;
use s3ferry::server::{LocalS3Server, ServerOptions};
use s3ferry::storage::local::TEMP_MARKER;
use s3ferry::storage::{EndpointConfig, EndpointRef, Location, Storage};
use s3ferry::transfer::plan::{self, PlanItem};
use s3ferry::transfer::{Event, JobKind, JobOptions, JobReport, JobSpec, JobStatus, Worker};
use tokio::sync::mpsc::UnboundedReceiver;

const FILES: usize = 10_000;
const CONCURRENCY: usize = 8;
/// One-file jobs queued beside the two big ones.
const SINGLES: usize = 2_000;

struct Env {
    storage: Arc<Storage>,
    server: LocalS3Server,
    bucket: String,
    dir: tempfile::TempDir,
}

impl Env {
    /// The in-process server, each operation delayed by `latency`.
    async fn new(latency: Option<Duration>) -> Env {
        let dir = tempfile::tempdir().unwrap();
        let options = ServerOptions {
            latency,
            ..ServerOptions::default()
        };
        let server =
            LocalS3Server::start_with(&dir.path().join("s3"), "AKIDLOAD", "secret", options)
                .await
                .unwrap();
        let cfg = EndpointConfig::with_keys(&server.url(), "AKIDLOAD", "secret");
        let storage = Arc::new(Storage::new(
            EndpointConfig::default(),
            BTreeMap::from([("t".to_string(), cfg)]),
        ));
        let bucket = common::fresh_bucket();
        storage.create_dir(&Env::at(&bucket, "")).await.unwrap();
        Env {
            storage,
            server,
            bucket,
            dir,
        }
    }

    fn at(bucket: &str, key: &str) -> Location {
        Location::s3(EndpointRef::Named("t".into()), bucket, key)
    }

    fn key(&self, key: &str) -> Location {
        Env::at(&self.bucket, key)
    }
}

fn copy(src: Location, dst: Location) -> JobSpec {
    JobSpec {
        kind: JobKind::Copy,
        sources: vec![src],
        dest: Some(dst),
        options: JobOptions {
            recursive: true,
            concurrency: CONCURRENCY,
            ..JobOptions::default()
        },
    }
}

/// Waits for `n` jobs to end, returning their reports by id.
async fn reports(rx: &mut UnboundedReceiver<Event>, n: usize) -> BTreeMap<u64, JobReport> {
    let mut done = BTreeMap::new();
    while done.len() < n {
        match tokio::time::timeout(Duration::from_secs(60), rx.recv()).await {
            Ok(Some(Event::Done(r))) => {
                done.insert(r.id, r);
            }
            Ok(Some(_)) => {}
            _ => panic!("{} of {n} jobs ended", done.len()),
        }
    }
    done
}

/// Every file below `dir` (not following links), for leftovers.
fn files_below(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd {
            let p = e.unwrap().path();
            if p.is_dir() {
                out.extend(files_below(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_queued_copies_cancel_at_once_within_the_limit() {
    // A store that takes 5 ms an operation keeps every slot busy, so the limit is tested.
    let env = Env::new(Some(Duration::from_millis(5))).await;
    // Uploads: 10,000 files of 0 to 1 KiB.
    let src = env.dir.path().join("src");
    let mut sizes = BTreeMap::new();
    for i in 0..FILES {
        let rel = format!("d{:02}/f{i:05}", i % 50);
        let bytes = data(i % 1025, i as u64);
        let p = src.join(&rel);
        if i < 50 {
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        }
        std::fs::write(&p, &bytes).unwrap();
        sizes.insert(rel, bytes.len() as u64);
    }
    // Downloads: 10,000 objects seeded straight into the store.
    let keys = (0..FILES).map(|i| format!("seed/k{i:05}"));
    let payload = data(700, 1);
    assert_eq!(env.server.seed(&env.bucket, keys, &payload).unwrap(), FILES);
    let down = env.dir.path().join("down");

    let (worker, mut rx) = Worker::new(env.storage.clone(), CONCURRENCY, None);
    env.server.stats().reset();
    let up_id = worker.submit(copy(Location::Local(src.clone()), env.key("up/")));
    let down_id = worker.submit(copy(env.key("seed/"), Location::Local(down.clone())));
    // Let both run well past their first files.
    let started = Instant::now();
    while env.server.stats().requests("PutObject") < 200 || files_below(&down).len() < 200 {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the jobs did not get going"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Then queue one-file jobs on top, as marking files one by one in the UI does, and cancel
    // everything while they wait.
    let singles: Vec<u64> = (0..SINGLES)
        .map(|i| {
            let file = src.join(format!("d{:02}/f{i:05}", i % 50));
            worker.submit(copy(Location::Local(file), env.key("single/")))
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let cancel = Instant::now();
    worker.cancel_all();
    let ended = reports(&mut rx, 2 + SINGLES).await;
    let took = cancel.elapsed();
    assert!(took < Duration::from_secs(5), "cancel took {took:?}");
    for id in [up_id, down_id] {
        assert_eq!(ended[&id].status, JobStatus::Cancelled);
        assert!(ended[&id].files_done < FILES as u64);
    }
    let singles_done = singles
        .iter()
        .filter(|id| ended[id].status == JobStatus::Finished)
        .count();
    assert!(
        singles_done < SINGLES,
        "the one-file jobs were still queued at the cancel"
    );

    let stats = env.server.stats();
    eprintln!(
        "cancelled after {} uploads, {} downloads and {singles_done} one-file jobs in {took:?}; at most {} object requests in flight",
        ended[&up_id].files_done,
        ended[&down_id].files_done,
        stats.max_object_ops_in_flight()
    );
    assert!(
        stats.max_object_ops_in_flight() <= CONCURRENCY,
        "{} object requests in flight at once; the limit is {CONCURRENCY}",
        stats.max_object_ops_in_flight()
    );
    assert!(
        stats.max_object_ops_in_flight() >= CONCURRENCY - 1,
        "the load never reached the limit ({}), so the test proves nothing",
        stats.max_object_ops_in_flight()
    );
    // Nothing runs on after the cancel: no new request, no multipart upload, no temp file.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let after = stats.total_requests();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(stats.total_requests(), after, "requests after the cancel");
    assert_eq!(stats.in_flight(), 0);
    let store = env
        .storage
        .s3(&EndpointRef::Named("t".into()))
        .await
        .unwrap();
    assert_eq!(
        store.list_multipart_uploads(&env.bucket, "").await.unwrap(),
        vec![]
    );
    let leftovers: Vec<_> = files_below(&down)
        .into_iter()
        .filter(|p| p.to_string_lossy().contains(TEMP_MARKER))
        .collect();
    assert!(leftovers.is_empty(), "temp files left: {leftovers:?}");
    // Whatever arrived is whole.
    for p in files_below(&down) {
        assert_eq!(std::fs::read(&p).unwrap(), payload, "{}", p.display());
    }
    let (uploaded, _) = common::list_all(&env.storage, &env.key("up/"), true).await;
    assert!(!uploaded.is_empty());
    for e in uploaded {
        assert_eq!(e.size, Some(sizes[&e.name]), "{}", e.name);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_thousand_keys_arrive_page_by_page() {
    const KEYS: usize = 100_000;
    let env = Env::new(None).await;
    let seeding = Instant::now();
    let keys = (0..KEYS).map(|i| format!("big/{i:06}.jpg"));
    env.server.seed(&env.bucket, keys, b"").unwrap();
    assert!(seeding.elapsed() < Duration::from_secs(10));

    env.server.stats().reset();
    let started = Instant::now();
    let mut pages = env.storage.list(&env.key("big/")).await.unwrap();
    let (mut at, mut names) = (Vec::new(), Vec::with_capacity(KEYS));
    let mut requests_at_first_page = 0;
    while let Some(page) = pages.next().await {
        let page = page.unwrap();
        if at.is_empty() {
            requests_at_first_page = env.server.stats().requests("ListObjectsV2");
        }
        at.push(started.elapsed());
        names.extend(page.entries.into_iter().map(|e| e.name));
    }
    let (first, last) = (at[0], *at.last().unwrap());
    eprintln!(
        "100,000 keys: {} pages, first after {first:?}, last after {last:?}",
        at.len()
    );
    assert_eq!(at.len(), KEYS / 1000);
    assert_eq!(
        requests_at_first_page, 1,
        "the first page is handed over before the next is asked for"
    );
    assert!(
        first * 10 < last,
        "the first page ({first:?}) must come long before the last ({last:?})"
    );
    let expected: Vec<String> = (0..KEYS).map(|i| format!("{i:06}.jpg")).collect();
    assert_eq!(names, expected);
}

const ONE_FILE_JOBS: usize = 500;

/// Seeds one object per one-file download job, and the specs of those jobs.
fn one_file_downloads(env: &Env) -> Vec<JobSpec> {
    let keys = (0..ONE_FILE_JOBS).map(|i| format!("seed/k{i:05}"));
    env.server.seed(&env.bucket, keys, b"abc").unwrap();
    let down = env.dir.path().join("down/");
    std::fs::create_dir_all(&down).unwrap();
    (0..ONE_FILE_JOBS)
        .map(|i| {
            let key = env.key(&format!("seed/k{i:05}"));
            copy(key, Location::Local(down.clone()))
        })
        .collect()
}

/// Planning a job sends requests too (the HEAD of an object named as a source, the listing
/// pages of a prefix); with the worker's slots, they count against the same limit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn planning_requests_hold_a_transfer_slot() {
    let env = Env::new(Some(Duration::from_millis(5))).await;
    let specs = one_file_downloads(&env);
    let slots = Arc::new(tokio::sync::Semaphore::new(CONCURRENCY));
    env.server.stats().reset();
    let planners: Vec<_> = specs
        .into_iter()
        .map(|spec| {
            let totals = Arc::default();
            plan::start_within(env.storage.clone(), spec, totals, Some(slots.clone()))
        })
        .collect();
    for (mut rx, _guard) in planners {
        assert!(matches!(rx.recv().await, Some(PlanItem::Task(_))));
    }
    let stats = env.server.stats();
    assert_eq!(stats.requests("HeadObject"), ONE_FILE_JOBS as u64);
    assert!(
        stats.max_object_ops_in_flight() <= CONCURRENCY,
        "{} HEADs at once",
        stats.max_object_ops_in_flight()
    );
}

/// The same through the worker: 500 one-file download jobs queued at once never have more
/// than the limit of requests in flight, planning included.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_file_download_jobs_stay_within_the_limit() {
    let env = Env::new(Some(Duration::from_millis(5))).await;
    let specs = one_file_downloads(&env);
    let (worker, mut rx) = Worker::new(env.storage.clone(), CONCURRENCY, None);
    env.server.stats().reset();
    for spec in specs {
        worker.submit(spec);
    }
    let ended = reports(&mut rx, ONE_FILE_JOBS).await;
    assert!(ended.values().all(|r| r.status == JobStatus::Finished));
    let most = env.server.stats().max_object_ops_in_flight();
    assert!(
        most <= CONCURRENCY,
        "{most} object requests in flight at once"
    );
}
