//! A small TCP proxy for tests, between the SDK and an S3 server on 127.0.0.1: counts the bytes
//! in each direction, and on command limits the rate or resets connections after N bytes sent
//! upstream. (No toxiproxy is installable here.)

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Faults to inject; change them at any time.
#[derive(Default)]
pub struct Faults {
    /// Bytes per second, each direction, per connection (0: unlimited).
    pub rate: AtomicU64,
    /// Cut the connection that carries the upstream byte count past this total (counted across
    /// all connections); fires once, then resets to 0 (never).
    pub reset_after_up: AtomicU64,
    /// Once a reset fired.
    pub fired: AtomicBool,
}

pub struct Proxy {
    pub addr: SocketAddr,
    /// Client → server bytes.
    pub up: Arc<AtomicU64>,
    /// Server → client bytes.
    pub down: Arc<AtomicU64>,
    pub faults: Arc<Faults>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Proxy {
    /// Proxies a local port to `upstream` (an `http://host:port` URL).
    pub async fn start(upstream: &str) -> Proxy {
        let target: SocketAddr = upstream
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .parse()
            .unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (up, down, faults) = (
            Arc::new(AtomicU64::new(0)),
            Arc::new(AtomicU64::new(0)),
            Arc::new(Faults::default()),
        );
        let (u, d, f) = (up.clone(), down.clone(), faults.clone());
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let Ok(server) = TcpStream::connect(target).await else {
                    continue;
                };
                let (cr, cw) = client.into_split();
                let (sr, sw) = server.into_split();
                let cut = Arc::new(tokio::sync::Notify::new());
                tokio::spawn(pump(cr, sw, u.clone(), f.clone(), true, cut.clone()));
                tokio::spawn(pump(sr, cw, d.clone(), f.clone(), false, cut));
            }
        });
        Proxy {
            addr,
            up,
            down,
            faults,
            task,
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn reset_counters(&self) {
        self.up.store(0, Ordering::SeqCst);
        self.down.store(0, Ordering::SeqCst);
    }
}

async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    count: Arc<AtomicU64>,
    faults: Arc<Faults>,
    upstream: bool,
    cut: Arc<tokio::sync::Notify>,
) {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = tokio::select! {
            r = from.read(&mut buf) => match r { Ok(0) | Err(_) => break, Ok(n) => n },
            _ = cut.notified() => break,
        };
        let total = count.fetch_add(n as u64, Ordering::SeqCst) + n as u64;
        let limit = faults.reset_after_up.load(Ordering::SeqCst);
        if upstream
            && limit > 0
            && total > limit
            && faults
                .reset_after_up
                .compare_exchange(limit, 0, Ordering::SeqCst, Ordering::SeqCst)
                .is_ok()
        {
            faults.fired.store(true, Ordering::SeqCst);
            cut.notify_waiters();
            break;
        }
        let rate = faults.rate.load(Ordering::SeqCst);
        if rate > 0 {
            tokio::time::sleep(Duration::from_secs_f64(n as f64 / rate as f64)).await;
        }
        if to.write_all(&buf[..n]).await.is_err() {
            break;
        }
    }
    let _ = to.shutdown().await;
    cut.notify_waiters();
}
