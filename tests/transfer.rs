//! The transfer engine on real servers (Garage, the reference, and the in-process s3s server),
//! every direction, with bytes compared by SHA-256 and a counting/faulting proxy in front of each
//! endpoint.

mod common;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use common::proxy::Proxy;
use common::{Backend, ServerInfo, data, fresh_bucket, server_for, sha256};
use futures::StreamExt;
use s3ferry::storage::{EndpointConfig, EndpointRef, Location, MIB, Storage};
use s3ferry::transfer::{
    ConflictPolicy, Event, JobKind, JobOptions, JobReport, JobSpec, JobStatus, Mode, Route, Worker,
};
use tokio::sync::mpsc::UnboundedReceiver;

const BIG: usize = 40 * MIB as usize;

/// Endpoints (each behind its own proxy, each with a fresh bucket) and a local temp dir.
struct Env {
    storage: Arc<Storage>,
    dir: tempfile::TempDir,
    proxies: HashMap<String, Proxy>,
    buckets: HashMap<String, Location>,
    _servers: Vec<ServerInfo>,
}

impl Env {
    /// `(name, backend, attempts)` per endpoint.
    async fn new(endpoints: &[(&str, Backend, u32)]) -> Env {
        let dir = tempfile::tempdir().unwrap();
        let mut named = BTreeMap::new();
        let (mut proxies, mut servers) = (HashMap::new(), Vec::new());
        for (name, backend, attempts) in endpoints {
            let info = server_for(*backend, &dir.path().join(name)).await;
            let proxy = Proxy::start(&info.url).await;
            let mut cfg =
                EndpointConfig::with_keys(&proxy.url(), &info.access_key, &info.secret_key);
            cfg.max_attempts = Some(*attempts);
            named.insert(name.to_string(), cfg);
            proxies.insert(name.to_string(), proxy);
            servers.push(info);
        }
        let storage = Arc::new(Storage::new(EndpointConfig::default(), named));
        let mut buckets = HashMap::new();
        for (name, _, _) in endpoints {
            let b = Location::s3(EndpointRef::Named(name.to_string()), &fresh_bucket(), "");
            storage.create_dir(&b).await.unwrap();
            buckets.insert(name.to_string(), b);
        }
        Env {
            storage,
            dir,
            proxies,
            buckets,
            _servers: servers,
        }
    }

    fn bucket(&self, name: &str) -> &Location {
        &self.buckets[name]
    }

    fn local(&self, rel: &str) -> Location {
        Location::Local(self.dir.path().join(rel))
    }

    fn worker(&self) -> (Arc<Worker>, UnboundedReceiver<Event>) {
        Worker::new(
            self.storage.clone(),
            8,
            Some(self.dir.path().join("history.jsonl")),
        )
    }
}

fn spec(kind: JobKind, src: &Location, dst: &Location, options: JobOptions) -> JobSpec {
    JobSpec {
        kind,
        sources: vec![src.clone()],
        dest: Some(dst.clone()),
        options: JobOptions {
            recursive: true,
            ..options
        },
    }
}

async fn wait_done(rx: &mut UnboundedReceiver<Event>) -> JobReport {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(240);
    loop {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some(Event::Done(r))) => return r,
            Ok(Some(_)) => {}
            Ok(None) | Err(_) => panic!("the job did not finish"),
        }
    }
}

async fn run(env: &Env, spec: JobSpec) -> JobReport {
    let (worker, mut rx) = env.worker();
    worker.submit(spec);
    wait_done(&mut rx).await
}

/// 300 small files and one 40 MiB file in a local directory; returns name → SHA-256.
fn make_tree(root: &std::path::Path) -> BTreeMap<String, String> {
    let mut sums = BTreeMap::new();
    for i in 0..300 {
        let rel = format!("small/d{}/f{i:03}.bin", i % 7);
        let bytes = data(1000 + (i * 37) % 7000, i as u64);
        let path = root.join(&rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &bytes).unwrap();
        sums.insert(rel, sha256(&bytes));
    }
    let big = data(BIG, 999);
    std::fs::write(root.join("big.bin"), &big).unwrap();
    sums.insert("big.bin".into(), sha256(&big));
    sums
}

/// name → SHA-256 of everything below a location.
async fn hashes(storage: &Storage, root: &Location) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut pages = storage.list_recursive(root).await.unwrap();
    while let Some(page) = pages.next().await {
        for e in page.unwrap().entries.into_iter().filter(|e| !e.is_dir()) {
            let bytes = common::read_all(storage, &e.location).await;
            out.insert(e.name.clone(), sha256(&bytes));
        }
    }
    out
}

fn assert_ok(r: &JobReport) {
    assert_eq!(r.status, JobStatus::Finished, "failures: {:?}", r.failures);
}

async fn uploads_left(env: &Env, bucket: &Location) -> Vec<(String, String)> {
    let Location::S3 {
        endpoint, bucket, ..
    } = bucket
    else {
        unreachable!()
    };
    let store = env.storage.s3(endpoint).await.unwrap();
    // The abort of a dropped upload runs in the background: give it a moment.
    for _ in 0..50 {
        let left = store
            .list_multipart_uploads(bucket, "")
            .await
            .unwrap_or_default();
        if left.is_empty() {
            return left;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    store
        .list_multipart_uploads(bucket, "")
        .await
        .unwrap_or_default()
}

async fn upload_then_download(backend: Backend) {
    let env = Env::new(&[("s", backend, 5)]).await;
    let sums = make_tree(&env.dir.path().join("src"));
    let remote = env.bucket("s").join("tree/");

    let up = run(
        &env,
        spec(
            JobKind::Copy,
            &env.local("src"),
            &remote,
            JobOptions::default(),
        ),
    )
    .await;
    assert_ok(&up);
    assert_eq!(
        (up.files_done, up.routes.clone()),
        (301, vec![Route::Upload])
    );
    assert_eq!(hashes(&env.storage, &remote).await, sums);

    let down = run(
        &env,
        spec(
            JobKind::Copy,
            &remote,
            &env.local("back/"),
            JobOptions::default(),
        ),
    )
    .await;
    assert_ok(&down);
    assert_eq!(down.routes, vec![Route::Download]);
    assert_eq!(hashes(&env.storage, &env.local("back")).await, sums);

    // A second run with skip-same copies nothing.
    env.proxies["s"].reset_counters();
    let again = run(
        &env,
        spec(
            JobKind::Copy,
            &env.local("src"),
            &remote,
            JobOptions::default(),
        ),
    )
    .await;
    assert_ok(&again);
    assert_eq!(
        (again.files_done, again.files_skipped, again.bytes),
        (0, 301, 0)
    );
    assert!(
        env.proxies["s"].up.load(Ordering::SeqCst) < MIB,
        "no object bytes sent again"
    );

    // History has one line per job.
    let (records, _) =
        s3ferry::transfer::history::read(&env.dir.path().join("history.jsonl")).unwrap();
    assert_eq!(
        records.iter().map(|r| r.mode.as_str()).collect::<Vec<_>>(),
        ["upload", "download", "none"]
    );
    assert!(records[0].bytes > BIG as u64 && records[0].duration_secs > 0.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_then_download_garage() {
    upload_then_download(Backend::Garage).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_then_download_s3s() {
    upload_then_download(Backend::S3s).await;
}

async fn server_side_within_one_endpoint(backend: Backend) {
    let env = Env::new(&[("s", backend, 5)]).await;
    let sums = make_tree(&env.dir.path().join("src"));
    let a = env.bucket("s").join("a/");
    assert_ok(
        &run(
            &env,
            spec(JobKind::Copy, &env.local("src"), &a, JobOptions::default()),
        )
        .await,
    );
    env.proxies["s"].reset_counters();
    let b = env.bucket("s").join("b/");
    let r = run(&env, spec(JobKind::Copy, &a, &b, JobOptions::default())).await;
    assert_ok(&r);
    assert_eq!(r.routes, vec![Route::ServerSide]);
    let through =
        env.proxies["s"].up.load(Ordering::SeqCst) + env.proxies["s"].down.load(Ordering::SeqCst);
    assert!(
        through < 2 * MIB,
        "{through} bytes crossed the client for a {BIG}-byte server-side copy"
    );
    assert_eq!(hashes(&env.storage, &b).await, sums);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_side_within_one_endpoint_garage() {
    server_side_within_one_endpoint(Backend::Garage).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_side_within_one_endpoint_s3s() {
    server_side_within_one_endpoint(Backend::S3s).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streamed_and_staged_across_two_servers_and_accounts() {
    let env = Env::new(&[("a", Backend::S3s, 5), ("b", Backend::Garage, 5)]).await;
    let sums = make_tree(&env.dir.path().join("src"));
    let a = env.bucket("a").join("tree/");
    assert_ok(
        &run(
            &env,
            spec(JobKind::Copy, &env.local("src"), &a, JobOptions::default()),
        )
        .await,
    );

    let streamed = env.bucket("b").join("streamed/");
    let r = run(
        &env,
        spec(JobKind::Copy, &a, &streamed, JobOptions::default()),
    )
    .await;
    assert_ok(&r);
    assert_eq!(r.routes, vec![Route::Streamed]);
    assert_eq!(hashes(&env.storage, &streamed).await, sums);

    let staging = env.dir.path().join("staging");
    std::fs::create_dir_all(&staging).unwrap();
    let opts = JobOptions {
        mode: Mode::Staged,
        staging_dir: Some(staging.clone()),
        ..JobOptions::default()
    };
    let staged = env.bucket("b").join("staged/");
    let r = run(&env, spec(JobKind::Copy, &a, &staged, opts)).await;
    assert_ok(&r);
    assert_eq!(r.routes, vec![Route::Staged]);
    assert_eq!(hashes(&env.storage, &staged).await, sums);
    assert_eq!(
        std::fs::read_dir(&staging).unwrap().count(),
        0,
        "staged copies removed"
    );

    // Server-side is impossible across accounts, and says so.
    let opts = JobOptions {
        mode: Mode::ServerSide,
        ..JobOptions::default()
    };
    let r = run(
        &env,
        spec(JobKind::Copy, &a, &env.bucket("b").join("x/"), opts),
    )
    .await;
    assert_eq!(r.status, JobStatus::Failed);
    assert!(
        r.failures[0].1.contains("same credentials"),
        "{:?}",
        r.failures
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn move_deletes_sources_only_after_a_verified_copy() {
    let env = Env::new(&[("a", Backend::Garage, 5), ("b", Backend::S3s, 1)]).await;
    let sums = make_tree(&env.dir.path().join("src"));
    let a = env.bucket("a").join("m/");
    let r = run(
        &env,
        spec(JobKind::Move, &env.local("src"), &a, JobOptions::default()),
    )
    .await;
    assert_ok(&r);
    assert_eq!(hashes(&env.storage, &a).await, sums);
    assert!(
        hashes(&env.storage, &env.local("src")).await.is_empty(),
        "local sources moved"
    );

    // The destination connection is cut after 8 MiB: the big file fails, and every source stays.
    env.proxies["b"]
        .faults
        .reset_after_up
        .store(8 * MIB, Ordering::SeqCst);
    let b = env.bucket("b").join("m/");
    let r = run(&env, spec(JobKind::Move, &a, &b, JobOptions::default())).await;
    assert!(env.proxies["b"].faults.fired.load(Ordering::SeqCst));
    assert_eq!(r.status, JobStatus::Failed);
    let src_after = hashes(&env.storage, &a).await;
    let dst_after = hashes(&env.storage, &b).await;
    let failed: Vec<String> = r.failures.iter().map(|(f, _)| f.clone()).collect();
    assert!(!failed.is_empty());
    for (name, sum) in &sums {
        let this_failed = failed.iter().any(|f| f.contains(&format!("m/{name} ")));
        if this_failed {
            assert_eq!(
                src_after.get(name),
                Some(sum),
                "{name} failed: its source is intact"
            );
            assert_eq!(
                dst_after.get(name),
                None,
                "{name} failed: nothing at the destination"
            );
        } else {
            assert_eq!(dst_after.get(name), Some(sum), "{name} moved and verified");
            assert_eq!(src_after.get(name), None, "{name} moved: source deleted");
        }
    }
    env.proxies["b"]
        .faults
        .reset_after_up
        .store(0, Ordering::SeqCst);
    assert_eq!(uploads_left(&env, env.bucket("b")).await, vec![]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_during_a_large_transfer_leaves_nothing() {
    let env = Env::new(&[("s", Backend::Garage, 5)]).await;
    let src = env.dir.path().join("big.bin");
    std::fs::write(&src, data(BIG, 7)).unwrap();
    let remote = env.bucket("s").join("big.bin");
    env.proxies["s"]
        .faults
        .rate
        .store(8 * MIB, Ordering::SeqCst);
    for (from, to) in [(Location::Local(src.clone()), remote.clone())] {
        let (worker, mut rx) = env.worker();
        let id = worker.submit(spec(JobKind::Copy, &from, &to, JobOptions::default()));
        loop {
            if let Some(Event::Progress(p)) = rx.recv().await
                && p.bytes_done > 0
            {
                break;
            }
        }
        worker.cancel(id);
        let r = wait_done(&mut rx).await;
        assert_eq!(r.status, JobStatus::Cancelled);
    }
    env.proxies["s"].faults.rate.store(0, Ordering::SeqCst);
    assert!(env.storage.stat(&remote).await.unwrap_err().is_not_found());
    assert_eq!(uploads_left(&env, env.bucket("s")).await, vec![]);

    // A cancelled download leaves no temp file.
    env.storage
        .write(
            &remote,
            common::body(data(BIG, 8), 1 << 20),
            &Default::default(),
        )
        .await
        .unwrap();
    env.proxies["s"]
        .faults
        .rate
        .store(8 * MIB, Ordering::SeqCst);
    let out = env.dir.path().join("down");
    std::fs::create_dir_all(&out).unwrap();
    let (worker, mut rx) = env.worker();
    let id = worker.submit(spec(
        JobKind::Copy,
        &remote,
        &Location::Local(out.clone()),
        JobOptions::default(),
    ));
    loop {
        if let Some(Event::Progress(p)) = rx.recv().await
            && p.bytes_done > 0
        {
            break;
        }
    }
    worker.cancel(id);
    assert_eq!(wait_done(&mut rx).await.status, JobStatus::Cancelled);
    let left: Vec<_> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_keys_never_escape_the_target_directory() {
    let env = Env::new(&[("s", Backend::Garage, 5)]).await;
    let root = env.bucket("s").join("h/");
    let hostile = ["../evil", "/abs", "a\\b", "a//b", "x/../../up"];
    for k in hostile.iter().chain(&["ok.txt"]) {
        env.storage
            .write(
                &root.join(k),
                common::body(k.as_bytes().to_vec(), 64),
                &Default::default(),
            )
            .await
            .unwrap_or_else(|e| panic!("put {k:?}: {e}"));
    }
    let outer = env.dir.path().join("outer");
    let target = outer.join("target");
    std::fs::create_dir_all(&target).unwrap();
    let r = run(
        &env,
        spec(
            JobKind::Copy,
            &root,
            &Location::Local(target.clone()),
            JobOptions::default(),
        ),
    )
    .await;
    assert_eq!(r.status, JobStatus::Failed);
    assert_eq!(r.failures.len(), hostile.len(), "{:?}", r.failures);
    let mut found = Vec::new();
    for entry in walk(&outer) {
        found.push(
            entry
                .strip_prefix(&outer)
                .unwrap()
                .to_string_lossy()
                .into_owned(),
        );
    }
    found.sort();
    assert_eq!(found, ["target", "target/ok.txt"]);
    assert!(!env.dir.path().join("evil").exists() && !std::path::Path::new("/abs").exists());
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        out.push(p.clone());
        if p.is_dir() {
            out.extend(walk(&p));
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conflicts_are_never_overwritten_silently() {
    let env = Env::new(&[("s", Backend::Garage, 5)]).await;
    let remote = env.bucket("s").join("c.txt");
    env.storage
        .write(
            &remote,
            common::body(b"remote".to_vec(), 64),
            &Default::default(),
        )
        .await
        .unwrap();
    std::fs::write(env.dir.path().join("c.txt"), b"local!").unwrap();
    let local = env.local("c.txt");
    let r = run(
        &env,
        spec(JobKind::Copy, &local, &remote, JobOptions::default()),
    )
    .await;
    assert_eq!(
        r.status,
        JobStatus::Failed,
        "same size, different bytes: a conflict"
    );
    assert_eq!(common::read_all(&env.storage, &remote).await, b"remote");
    let opts = JobOptions {
        conflict: ConflictPolicy::Overwrite,
        ..JobOptions::default()
    };
    assert_ok(&run(&env, spec(JobKind::Copy, &local, &remote, opts)).await);
    assert_eq!(common::read_all(&env.storage, &remote).await, b"local!");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_job_batches_and_reports() {
    let env = Env::new(&[("s", Backend::Garage, 5)]).await;
    let root = env.bucket("s").join("d/");
    futures::stream::iter(0..1005)
        .for_each_concurrent(16, |i| {
            let loc = root.join(&format!("k{i:04}"));
            let storage = env.storage.clone();
            async move {
                storage
                    .write(&loc, common::body(vec![1], 1), &Default::default())
                    .await
                    .unwrap();
            }
        })
        .await;
    let r = run(
        &env,
        JobSpec {
            kind: JobKind::Delete,
            sources: vec![root.clone()],
            dest: None,
            options: JobOptions {
                recursive: true,
                ..JobOptions::default()
            },
        },
    )
    .await;
    assert_ok(&r);
    assert_eq!(r.files_done, 1005);
    assert!(hashes(&env.storage, &root).await.is_empty());
}
