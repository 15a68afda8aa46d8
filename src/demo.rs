//! `--demo`: two S3 endpoints inside this process ("cloud-a" and "cloud-b", on 127.0.0.1, with
//! different keys), backed by a temporary directory and seeded with sample buckets and files, so
//! s3ferry can be tried — across two accounts — without any AWS account.

use std::collections::BTreeMap;

use bytes::Bytes;

use crate::server::LocalS3Server;
use crate::storage::{EndpointConfig, EndpointRef, Location, Storage, StorageError, WriteOptions};

/// The running demo endpoints; they stop (and their data goes) when this is dropped.
pub struct Demo {
    pub endpoints: BTreeMap<String, EndpointConfig>,
    _servers: Vec<LocalS3Server>,
    _dir: tempfile::TempDir,
}

const ACCOUNTS: [(&str, &str, &str); 2] = [
    ("cloud-a", "AKIDCLOUDA", "cloud-a-secret"),
    ("cloud-b", "AKIDCLOUDB", "cloud-b-secret"),
];

impl Demo {
    /// Starts both endpoints and seeds them.
    pub async fn start() -> Result<Demo, StorageError> {
        let dir = tempfile::Builder::new()
            .prefix("s3ferry-demo-")
            .tempdir()
            .map_err(|e| {
                StorageError::io("create demo directory", std::env::temp_dir().as_path(), e)
            })?;
        let mut servers = Vec::new();
        let mut endpoints = BTreeMap::new();
        for (name, ak, sk) in ACCOUNTS {
            let root = dir.path().join(name);
            let server = LocalS3Server::start_fs(&root, ak, sk)
                .await
                .map_err(|e| StorageError::io("start demo server", &root, e))?;
            endpoints.insert(
                name.to_string(),
                EndpointConfig::with_keys(&server.url(), ak, sk),
            );
            servers.push(server);
        }
        let demo = Demo {
            endpoints,
            _servers: servers,
            _dir: dir,
        };
        demo.seed().await?;
        Ok(demo)
    }

    async fn seed(&self) -> Result<(), StorageError> {
        let storage = Storage::new(EndpointConfig::default(), self.endpoints.clone());
        let a = |b: &str| Location::s3(EndpointRef::Named("cloud-a".into()), b, "");
        let b = |b: &str| Location::s3(EndpointRef::Named("cloud-b".into()), b, "");
        for bucket in [a("photos"), a("logs"), b("backup")] {
            storage.create_dir(&bucket).await?;
        }
        let mut files: Vec<(Location, usize)> = (1..=12)
            .map(|i| {
                (
                    a("photos").join(&format!("2024/img_{i:03}.jpg")),
                    150_000 + i * 9_000,
                )
            })
            .collect();
        files.extend((1..=5).map(|i| {
            (
                a("logs").join(&format!("app/2024-11-{i:02}.log")),
                40_000 * i,
            )
        }));
        files.push((a("photos").join("raw/big-scan.tiff"), 48 * 1024 * 1024));
        files.push((a("photos").join("raw/panorama.tiff"), 24 * 1024 * 1024));
        // A hostile name: shown escaped, never sent to the terminal raw.
        files.push((a("logs").join("evil-\u{1b}[2J-name.txt"), 64));
        files.push((a("photos").join("README.txt"), 300));
        files.push((b("backup").join("old/notes.txt"), 2_000));
        for (loc, size) in files {
            let body = Box::pin(futures::stream::iter(
                sample_bytes(size)
                    .into_iter()
                    .map(Ok::<Bytes, StorageError>),
            ));
            storage.write(&loc, body, &WriteOptions::default()).await?;
        }
        Ok(())
    }
}

/// Deterministic sample content in 1 MiB chunks.
fn sample_bytes(size: usize) -> Vec<Bytes> {
    let line = b"s3ferry demo data: the quick brown fox jumps over the lazy dog 0123456789\n";
    let mut all = Vec::with_capacity(size);
    while all.len() < size {
        all.extend_from_slice(line);
    }
    all.truncate(size);
    let all = Bytes::from(all);
    (0..size.div_ceil(1 << 20))
        .map(|i| all.slice(i << 20..((i + 1) << 20).min(size)))
        .collect()
}
