//! Faults injected between s3ferry and real S3 servers (the in-process s3s server, and Garage,
//! the reference, where it adds something) by the proxy of `common::proxy`: outages, resets,
//! throttling, stalls, corrupted bytes, lying `200 OK`s, refused deletes, a full disk, a source
//! changing under an upload, a store that rejects the SDK's checksums. Each case asserts what is
//! really left: objects listed, multipart uploads, bytes by SHA-256, files on disk, requests sent.
//!
//! `network`: outage, reset, throttling, stall, corrupted bytes; `answers`: lying `200 OK`s;
//! `moves`: moves and deletes; `local`: a changing source, a full disk; `checksums`: a store
//! rejecting the SDK's checksums; `lifecycle`: the upload journal and recovery at start.

mod common;

#[path = "faults/answers.rs"]
mod answers;
#[path = "faults/checksums.rs"]
mod checksums;
#[path = "faults/lifecycle.rs"]
mod lifecycle;
#[path = "faults/local.rs"]
mod local;
#[path = "faults/moves.rs"]
mod moves;
#[path = "faults/network.rs"]
mod network;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::proxy::{Action, Proxy, Req, Rule};
use common::{Backend, ServerInfo, data, fresh_bucket, server_for, sha256};
use s3ferry::storage::{
    Checksums, EndpointConfig, EndpointRef, Location, MIB, Storage, WriteOptions, journal,
};
use s3ferry::transfer::{
    ConflictPolicy, Event, JobKind, JobOptions, JobReport, JobSpec, JobStatus, Worker,
};

/// One endpoint `t` behind a proxy, a fresh bucket on it, and a temp dir.
struct Env {
    storage: Arc<Storage>,
    proxy: Proxy,
    bucket: Location,
    dir: tempfile::TempDir,
    server: ServerInfo,
}

/// The journal of the uploads these tests start (kept out of the user's state directory).
fn use_test_journal() {
    journal::use_path(PathBuf::from(concat!(
        env!("CARGO_TARGET_TMPDIR"),
        "/faults-journal.jsonl"
    )));
}

impl Env {
    async fn new(backend: Backend) -> Env {
        Env::with(backend, |_| {}).await
    }

    /// An environment whose endpoint config `tweak` adjusts (3 attempts unless it says else).
    async fn with(backend: Backend, tweak: impl FnOnce(&mut EndpointConfig)) -> Env {
        use_test_journal();
        let dir = tempfile::tempdir().unwrap();
        let server = server_for(backend, dir.path()).await;
        let proxy = Proxy::start(&server.url).await;
        let mut cfg =
            EndpointConfig::with_keys(&proxy.url(), &server.access_key, &server.secret_key);
        cfg.max_attempts = Some(3);
        tweak(&mut cfg);
        let storage = Arc::new(Storage::new(
            EndpointConfig::default(),
            BTreeMap::from([("t".to_string(), cfg)]),
        ));
        let bucket = Location::s3(EndpointRef::Named("t".into()), &fresh_bucket(), "");
        storage.create_dir(&bucket).await.unwrap();
        proxy.clear_log();
        Env {
            storage,
            proxy,
            bucket,
            dir,
            server,
        }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    fn local(&self, rel: &str) -> Location {
        Location::Local(self.path(rel))
    }

    fn bucket_name(&self) -> String {
        match &self.bucket {
            Location::S3 { bucket, .. } => bucket.clone(),
            _ => unreachable!(),
        }
    }

    /// Writes `bytes` to a key.
    async fn put(&self, key: &str, bytes: &[u8]) {
        let opts = WriteOptions {
            part_size: 5 * MIB,
            ..WriteOptions::default()
        };
        self.storage
            .write(
                &self.bucket.join(key),
                common::body(bytes.to_vec(), 256 * 1024),
                &opts,
            )
            .await
            .unwrap_or_else(|e| panic!("put {key}: {e}"));
    }

    async fn exists(&self, key: &str) -> bool {
        match self.storage.stat(&self.bucket.join(key)).await {
            Ok(_) => true,
            Err(e) if e.is_not_found() => false,
            Err(e) => panic!("stat {key}: {e}"),
        }
    }

    async fn uploads(&self) -> Vec<(String, String)> {
        let store = self
            .storage
            .s3(&EndpointRef::Named("t".into()))
            .await
            .unwrap();
        store
            .list_multipart_uploads(&self.bucket_name(), "")
            .await
            .unwrap()
    }

    /// Multipart uploads left once background aborts had up to `limit` to run.
    async fn uploads_after(&self, limit: Duration) -> Vec<(String, String)> {
        let deadline = Instant::now() + limit;
        loop {
            let left = self.uploads().await;
            if left.is_empty() || Instant::now() > deadline {
                return left;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Runs a job on a fresh worker and waits for its report.
    async fn run(&self, spec: JobSpec) -> JobReport {
        let (worker, mut rx) = Worker::new(self.storage.clone(), 8, None);
        worker.submit(spec);
        wait_done(&mut rx).await
    }
}

async fn wait_done(rx: &mut tokio::sync::mpsc::UnboundedReceiver<Event>) -> JobReport {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    loop {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some(Event::Done(r))) => return r,
            Ok(Some(_)) => {}
            Ok(None) | Err(_) => panic!("the job did not finish"),
        }
    }
}

fn job(kind: JobKind, src: &Location, dst: &Location, options: JobOptions) -> JobSpec {
    JobSpec {
        kind,
        sources: vec![src.clone()],
        dest: Some(dst.clone()),
        options,
    }
}

/// 5 MiB parts, so small files make several.
fn small_parts() -> JobOptions {
    JobOptions {
        part_size: 5 * MIB,
        ..JobOptions::default()
    }
}

fn write_file(path: &Path, bytes: &[u8]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
}

/// Names in a local directory, temp files included.
fn dir_names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

fn assert_failed_with(r: &JobReport, needles: &[&str]) {
    eprintln!("failures: {:?}", r.failures);
    assert_eq!(r.status, JobStatus::Failed, "{r:?}");
    assert_eq!(r.failures.len(), 1, "{:?}", r.failures);
    for n in needles {
        assert!(
            r.failures[0].1.contains(n),
            "{n:?} not in {:?}",
            r.failures[0].1
        );
    }
}

/// The config file the CLI reads for endpoint `t` of `env`.
fn cli_config(env: &Env) -> PathBuf {
    let path = env.path("config.toml");
    std::fs::write(
        &path,
        format!(
            "[endpoints.t]\nurl = \"{}\"\naccess_key_id = \"{}\"\nsecret_access_key = \"{}\"\nmax_attempts = 2\n",
            env.proxy.url(),
            env.server.access_key,
            env.server.secret_key
        ),
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    path
}
