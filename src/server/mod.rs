//! An S3 protocol server on 127.0.0.1, in this process: the `s3s` crate (HTTP, SigV4 auth, the
//! S3 wire format) over our own storage backend ([`store::Store`]: keys in memory, bytes in files).
//! It backs `s3ferry --demo` and the test suite; it is a real server on a real port, so the SDK's
//! bytes cross a real socket.

mod body;
mod buckets;
mod checksum;
mod conditions;
mod listing;
mod multipart;
mod multipart_list;
mod objects;
mod store;
#[cfg(test)]
mod tests;

use std::net::SocketAddr;
use std::path::Path;

use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder as ConnBuilder;
use s3s::auth::SimpleAuth;
use s3s::service::S3ServiceBuilder;
use tokio::net::TcpListener;

/// A running server; it stops when dropped.
pub struct LocalS3Server {
    addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
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
        std::fs::create_dir_all(root)?;
        let mut builder = S3ServiceBuilder::new(store::Store::new(root)?);
        builder.set_auth(SimpleAuth::from_single(access_key, secret_key));
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
        Ok(LocalS3Server { addr, task })
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
