//! The storage layer: one interface, [`Storage`], over every [`Location`] — the local disk
//! (`local`) and S3 endpoints (`s3`). It dispatches on the location rather than through a trait
//! object, so streams and futures stay `Send` without boxing every call.
//!
//! Owns: listing, stat, ranged reads, streaming writes (multipart on S3), server-side copy,
//! batch delete, create, rename, presign. Must not know about jobs, the UI or the terminal.

pub mod endpoint;
pub mod entry;
pub mod error;
pub mod journal;
pub mod local;
pub mod location;
pub mod names;
pub mod s3;

use std::collections::{BTreeMap, HashMap};
use std::ops::Range;
use std::pin::Pin;
use std::time::Duration;

use bytes::Bytes;
use futures::Stream;
use futures::StreamExt;
use futures::stream::BoxStream;

pub use endpoint::{Checksums, EndpointConfig};
pub use entry::{DeleteReport, Entry, EntryKind, ListPage, ObjectInfo, WriteOutcome};
pub use error::{Result, StorageError};
pub use location::{EndpointRef, Location};
pub use s3::S3Store;
pub use s3::upload::{MIB, WriteOptions};

/// A stream of bytes read from, or to be written to, a location.
pub type ByteStream = Pin<Box<dyn Stream<Item = Result<Bytes>> + Send>>;

/// Opens every location: the local disk, and each S3 endpoint with its own client (built once,
/// on first use). Two locations on two endpoints use two accounts at once.
pub struct Storage {
    default: EndpointConfig,
    named: BTreeMap<String, EndpointConfig>,
    clients: tokio::sync::Mutex<HashMap<EndpointRef, S3Store>>,
}

impl Storage {
    /// A storage over the default endpoint (the AWS chain, shaped by `default`) and the named ones.
    pub fn new(default: EndpointConfig, named: BTreeMap<String, EndpointConfig>) -> Storage {
        Storage {
            default,
            named,
            clients: tokio::sync::Mutex::new(HashMap::new()),
        }
    }

    /// The names of the configured endpoints.
    pub fn endpoint_names(&self) -> Vec<String> {
        self.named.keys().cloned().collect()
    }

    /// The store for an endpoint.
    pub async fn s3(&self, endpoint: &EndpointRef) -> Result<S3Store> {
        let mut clients = self.clients.lock().await;
        if let Some(store) = clients.get(endpoint) {
            return Ok(store.clone());
        }
        let cfg = match endpoint {
            EndpointRef::Default => &self.default,
            EndpointRef::Named(name) => self.named.get(name).ok_or_else(|| {
                StorageError::Config(format!(
                    "no endpoint named {name:?}; configured: {}",
                    if self.named.is_empty() {
                        "none".to_string()
                    } else {
                        self.endpoint_names().join(", ")
                    }
                ))
            })?,
        };
        let store = S3Store::connect(endpoint.clone(), cfg).await;
        clients.insert(endpoint.clone(), store.clone());
        Ok(store)
    }

    /// Lists one level of a location page by page: buckets, a prefix, or a local directory.
    pub async fn list(&self, loc: &Location) -> Result<BoxStream<'static, Result<ListPage>>> {
        self.list_with(loc, true).await
    }

    /// Lists every file below a location (no delimiter), page by page, names relative to it.
    pub async fn list_recursive(
        &self,
        loc: &Location,
    ) -> Result<BoxStream<'static, Result<ListPage>>> {
        self.list_with(loc, false).await
    }

    async fn list_with(
        &self,
        loc: &Location,
        one_level: bool,
    ) -> Result<BoxStream<'static, Result<ListPage>>> {
        match loc {
            Location::Local(p) if one_level => Ok(local::list_dir(p.clone()).boxed()),
            Location::Local(p) => Ok(local::walk(p.clone()).boxed()),
            Location::Buckets(ep) => {
                let store = self.s3(ep).await?;
                Ok(futures::stream::once(async move {
                    store.list_buckets().await.map(|entries| ListPage {
                        entries,
                        problems: vec![],
                    })
                })
                .boxed())
            }
            Location::S3 {
                endpoint,
                bucket,
                key,
                ..
            } => {
                let store = self.s3(endpoint).await?;
                let prefix = if key.is_empty() || key.ends_with('/') {
                    key.clone()
                } else {
                    format!("{key}/")
                };
                Ok(store.list(bucket.clone(), prefix, one_level).boxed())
            }
        }
    }

    /// Metadata of one file or object.
    pub async fn stat(&self, loc: &Location) -> Result<ObjectInfo> {
        match loc {
            Location::Local(p) => local::stat(p).await,
            Location::S3 {
                endpoint,
                bucket,
                key,
                ..
            } => self.s3(endpoint).await?.stat(bucket, key).await,
            Location::Buckets(_) => Err(unsupported("stat", loc)),
        }
    }

    /// Reads a file or object, or the byte range `range` of it.
    pub async fn read(&self, loc: &Location, range: Option<Range<u64>>) -> Result<ByteStream> {
        match loc {
            Location::Local(p) => local::read(p, range).await,
            Location::S3 {
                endpoint,
                bucket,
                key,
                ..
            } => self.s3(endpoint).await?.read(bucket, key, range).await,
            Location::Buckets(_) => Err(unsupported("read", loc)),
        }
    }

    /// Writes a stream to a file (temp file + rename) or an object (PUT or multipart).
    pub async fn write(
        &self,
        loc: &Location,
        body: ByteStream,
        opts: &WriteOptions,
    ) -> Result<WriteOutcome> {
        match loc {
            Location::Local(p) => local::write(p, body, opts).await,
            Location::S3 {
                endpoint,
                bucket,
                key,
                ..
            } => {
                self.s3(endpoint)
                    .await?
                    .write(bucket, key, body, opts)
                    .await
            }
            Location::Buckets(_) => Err(unsupported("write", loc)),
        }
    }

    /// True when `src` can be copied to `dst` without the bytes passing through s3ferry.
    pub async fn can_copy_server_side(&self, src: &Location, dst: &Location) -> bool {
        match (src, dst) {
            (Location::S3 { endpoint: a, .. }, Location::S3 { endpoint: b, .. }) => {
                match (self.s3(a).await, self.s3(b).await) {
                    (Ok(a), Ok(b)) => a.same_account(&b),
                    _ => false,
                }
            }
            _ => false,
        }
    }

    /// Copies an object server-side (same endpoint and credentials); `size` is the source's.
    pub async fn copy_server_side(
        &self,
        src: &Location,
        dst: &Location,
        size: u64,
        opts: &WriteOptions,
    ) -> Result<WriteOutcome> {
        match (src, dst) {
            (
                Location::S3 {
                    bucket: sb,
                    key: sk,
                    ..
                },
                Location::S3 {
                    endpoint,
                    bucket,
                    key,
                    ..
                },
            ) if self.can_copy_server_side(src, dst).await => {
                self.s3(endpoint)
                    .await?
                    .copy_within(sb, sk, bucket, key, size, opts)
                    .await
            }
            _ => Err(StorageError::Unsupported {
                op: "server-side copy",
                what: format!("{src} → {dst} (different endpoints or credentials)"),
            }),
        }
    }

    /// Deletes many files or objects: DeleteObjects in batches of 1,000 per bucket, per-key
    /// failures reported.
    pub async fn delete(&self, locs: &[Location]) -> Result<DeleteReport> {
        let mut report = DeleteReport::default();
        let mut local_paths = Vec::new();
        let mut by_bucket: BTreeMap<(EndpointRef, String), Vec<String>> = BTreeMap::new();
        for loc in locs {
            match loc {
                Location::Local(p) => local_paths.push(p.clone()),
                Location::S3 {
                    endpoint,
                    bucket,
                    key,
                    ..
                } => by_bucket
                    .entry((endpoint.clone(), bucket.clone()))
                    .or_default()
                    .push(key.clone()),
                Location::Buckets(_) => return Err(unsupported("delete", loc)),
            }
        }
        let local = local::delete_many(&local_paths).await;
        merge(&mut report, local);
        for ((endpoint, bucket), keys) in by_bucket {
            let r = self
                .s3(&endpoint)
                .await?
                .delete_keys(&bucket, &keys)
                .await?;
            merge(&mut report, r);
        }
        Ok(report)
    }

    /// Deletes a directory or prefix and everything below it (a bucket location deletes the
    /// bucket's contents, not the bucket).
    pub async fn delete_recursive(&self, loc: &Location) -> Result<DeleteReport> {
        match loc {
            Location::Local(p) => local::delete_recursive(p).await,
            Location::S3 {
                endpoint,
                bucket,
                key,
                ..
            } => self.s3(endpoint).await?.delete_recursive(bucket, key).await,
            Location::Buckets(_) => Err(unsupported("delete", loc)),
        }
    }

    /// Creates a local directory, a folder marker (`key/`), or a bucket (`s3://name/`).
    pub async fn create_dir(&self, loc: &Location) -> Result<()> {
        match loc {
            Location::Local(p) => local::create_dir(p).await,
            Location::S3 {
                endpoint,
                bucket,
                key,
                ..
            } if key.is_empty() => self.s3(endpoint).await?.create_bucket(bucket).await,
            Location::S3 {
                endpoint,
                bucket,
                key,
                ..
            } => self.s3(endpoint).await?.create_folder(bucket, key).await,
            Location::Buckets(_) => Err(unsupported("create", loc)),
        }
    }

    /// Renames a file locally, or an object by server-side copy then delete.
    pub async fn rename(&self, from: &Location, to: &Location) -> Result<()> {
        match (from, to) {
            (Location::Local(a), Location::Local(b)) => local::rename(a, b).await,
            (Location::S3 { .. }, Location::S3 { .. }) => {
                if self.stat(to).await.is_ok() {
                    return Err(StorageError::AlreadyExists {
                        what: to.to_string(),
                    });
                }
                let info = self.stat(from).await?;
                self.copy_server_side(from, to, info.size, &WriteOptions::default())
                    .await?;
                let report = self.delete(std::slice::from_ref(from)).await?;
                match report.failed.first() {
                    Some((key, why)) => Err(StorageError::Service {
                        op: "rename",
                        what: format!("{key:?} (copied, source not deleted)"),
                        code: "DeleteFailed".into(),
                        message: why.clone(),
                    }),
                    None => Ok(()),
                }
            }
            _ => Err(StorageError::Unsupported {
                op: "rename",
                what: format!("{from} → {to}"),
            }),
        }
    }

    /// A presigned GET URL for an object.
    pub async fn presign(&self, loc: &Location, expires: Duration) -> Result<String> {
        match loc {
            Location::S3 {
                endpoint,
                bucket,
                key,
                ..
            } => {
                self.s3(endpoint)
                    .await?
                    .presign_get(bucket, key, expires)
                    .await
            }
            _ => Err(unsupported("presign", loc)),
        }
    }
}

fn unsupported(op: &'static str, loc: &Location) -> StorageError {
    StorageError::Unsupported {
        op,
        what: loc.to_string(),
    }
}

fn merge(into: &mut DeleteReport, from: DeleteReport) {
    into.deleted += from.deleted;
    into.requests += from.requests;
    into.failed.extend(from.failed);
}
