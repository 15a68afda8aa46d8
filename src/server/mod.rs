//! An S3 protocol server on 127.0.0.1, in this process: the `s3s` crate (HTTP, SigV4 auth, the
//! S3 wire format) over our own storage backend ([`store::Store`]: keys in memory, bytes in files).
//! It backs `s3ferry --demo` and the test suite; it is a real server on a real port, so the SDK's
//! bytes cross a real socket.

mod access;
mod body;
mod buckets;
mod checksum;
mod conditions;
mod listing;
mod multipart;
mod multipart_list;
mod objects;
mod stats;
mod store;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_aws;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder as ConnBuilder;
use s3s::auth::SimpleAuth;
use s3s::service::S3ServiceBuilder;
use tokio::net::TcpListener;

pub use access::WrongRegion;
pub use stats::ServerStats;

/// How a server behaves beyond its keys.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// The region of the server and its buckets (default `us-east-1`). A request signed for
    /// another region is refused as AWS refuses it, naming this region.
    pub region: String,
    pub wrong_region: WrongRegion,
    /// A delay added to every operation, to play a slow store (load tests).
    pub latency: Option<std::time::Duration>,
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions {
            region: "us-east-1".into(),
            wrong_region: WrongRegion::default(),
            latency: None,
        }
    }
}

/// A running server; it stops when dropped.
pub struct LocalS3Server {
    addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
    store: Arc<store::Store>,
    stats: Arc<ServerStats>,
}

impl LocalS3Server {
    /// Serves an empty store whose object bytes live in a new directory inside `root` (created if
    /// missing; the store's files go when the server stops), on a free port of 127.0.0.1 with one
    /// access key. Must be called inside a tokio runtime; the server runs on it.
    pub async fn start_fs(
        root: &Path,
        access_key: &str,
        secret_key: &str,
    ) -> std::io::Result<Self> {
        Self::start_with(root, access_key, secret_key, ServerOptions::default()).await
    }

    /// [`LocalS3Server::start_fs`] with options (e.g. another region).
    pub async fn start_with(
        root: &Path,
        access_key: &str,
        secret_key: &str,
        options: ServerOptions,
    ) -> std::io::Result<Self> {
        std::fs::create_dir_all(root)?;
        let store = Arc::new(store::Store::new(root, &options.region)?);
        let stats = Arc::new(ServerStats::default());
        let mut builder = S3ServiceBuilder::new(store::Served {
            store: store.clone(),
            stats: stats.clone(),
            latency: options.latency,
        });
        builder.set_auth(SimpleAuth::from_single(access_key, secret_key));
        builder.set_access(access::Access {
            region: options.region,
            wrong_region: options.wrong_region,
            stats: stats.clone(),
        });
        let service = builder.build();
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let task = tokio::spawn(async move {
            let http = ConnBuilder::new(TokioExecutor::new());
            loop {
                let Ok((socket, _)) = listener.accept().await else {
                    continue;
                };
                let conn = http
                    .serve_connection(TokioIo::new(socket), service.clone())
                    .into_owned();
                tokio::spawn(async move {
                    let _ = conn.await;
                });
            }
        });
        Ok(LocalS3Server {
            addr,
            task,
            store,
            stats,
        })
    }

    /// What the server has seen: requests by operation, operations in flight.
    pub fn stats(&self) -> &ServerStats {
        &self.stats
    }

    /// Adds objects straight to the store (no requests), all holding `bytes`, creating the
    /// bucket if needed; returns how many. Seeds a 100,000-key prefix in a blink.
    pub fn seed(
        &self,
        bucket: &str,
        keys: impl IntoIterator<Item = String>,
        bytes: &[u8],
    ) -> std::io::Result<usize> {
        self.store.seed(bucket, keys, bytes)
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The socket address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for LocalS3Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}
