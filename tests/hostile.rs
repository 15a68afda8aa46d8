//! Hostile input: keys and names that try to leave the target directory, drive the terminal, or
//! hide behind look-alike characters; names S3 mangles unless handled with care; limits; and the
//! messages for mistakes a person must fix (credentials, bucket, archive, region). Each case runs
//! through the transfer engine or the built binary against the in-process server, and the
//! path and deletion cases on Garage as well.

mod common;
#[path = "hostile/escapes.rs"]
mod escapes;
#[path = "hostile/messages.rs"]
mod messages;
#[path = "hostile/names.rs"]
mod names;
#[path = "hostile/paths.rs"]
mod paths;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use common::cli::{Cli, Output};
use common::{Backend, ServerInfo, fresh_bucket, server_for};
use s3ferry::storage::{EndpointConfig, EndpointRef, Location, Storage};
use s3ferry::transfer::{Event, JobKind, JobOptions, JobReport, JobSpec, Worker};

/// One S3 server with a fresh bucket, a storage on it (endpoint `t`), and a temp directory.
pub struct Env {
    pub storage: Arc<Storage>,
    pub bucket: String,
    pub root: Location,
    pub dir: tempfile::TempDir,
    pub info: ServerInfo,
}

impl Env {
    pub async fn new(backend: Backend) -> Env {
        let dir = tempfile::tempdir().unwrap();
        let info = server_for(backend, dir.path()).await;
        let mut named = BTreeMap::new();
        named.insert(
            "t".to_string(),
            EndpointConfig::with_keys(&info.url, &info.access_key, &info.secret_key),
        );
        let storage = Arc::new(Storage::new(EndpointConfig::default(), named));
        let bucket = fresh_bucket();
        let root = Location::s3(EndpointRef::Named("t".into()), &bucket, "");
        storage.create_dir(&root).await.expect("create the bucket");
        Env {
            storage,
            bucket,
            root,
            dir,
            info,
        }
    }

    /// A path in the temp directory.
    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    pub fn key(&self, key: &str) -> Location {
        self.root.join(key)
    }

    pub async fn put(&self, key: &str, bytes: &[u8]) {
        common::put(&self.storage, &self.key(key), bytes).await;
    }

    /// Runs a copy (recursive) and waits for its report.
    pub async fn copy(&self, src: Location, dst: Location, options: JobOptions) -> JobReport {
        run(&self.storage, copy_spec(src, dst, options)).await
    }

    /// The built binary with this server as endpoint `t`.
    pub fn cli(&self) -> Cli {
        Cli::new(
            &self.info.url,
            &self.info.access_key,
            &self.info.secret_key,
            None,
        )
    }
}

pub fn copy_spec(src: Location, dst: Location, options: JobOptions) -> JobSpec {
    JobSpec {
        kind: JobKind::Copy,
        sources: vec![src],
        dest: Some(dst),
        options: JobOptions {
            recursive: true,
            ..options
        },
    }
}

/// Runs one job on a fresh worker and returns its report.
pub async fn run(storage: &Arc<Storage>, spec: JobSpec) -> JobReport {
    let (worker, mut rx) = Worker::new(storage.clone(), 8, None);
    worker.submit(spec);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    loop {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some(Event::Done(r))) => return r,
            Ok(Some(_)) => {}
            Ok(None) | Err(_) => panic!("the job did not finish"),
        }
    }
}

/// The failure reasons of a report by file, for assertions.
pub fn failures(r: &JobReport) -> Vec<(String, String)> {
    let mut f = r.failures.clone();
    f.sort();
    f
}

/// Every file and directory below `dir`, relative, sorted (directories end in `/`); symbolic
/// links are listed, not followed.
pub fn tree(dir: &Path) -> Vec<String> {
    fn walk(base: &Path, dir: &Path, out: &mut Vec<String>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            let rel = p.strip_prefix(base).unwrap().to_string_lossy().into_owned();
            let meta = std::fs::symlink_metadata(&p).unwrap();
            if meta.is_dir() {
                out.push(format!("{rel}/"));
                walk(base, &p, out);
            } else {
                out.push(rel);
            }
        }
    }
    let mut out = Vec::new();
    if dir.exists() {
        walk(dir, dir, &mut out);
    }
    out.sort();
    out
}
