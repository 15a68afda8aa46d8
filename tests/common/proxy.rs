//! A fault-injecting HTTP/1.1 proxy for tests, between the SDK and an S3 server on 127.0.0.1 (no
//! toxiproxy is installable here). It frames requests and responses itself, so it can:
//! - count the bytes in each direction and limit the rate;
//! - log every request line (method, target, headers, the status answered) for assertions;
//! - on command, per request matched by a [`Rule`]: answer a canned response (`503 SlowDown`,
//!   `403 AccessDenied`, `200 OK` with an `<Error>` body), cut the connection after N request or
//!   response body bytes, stall a response body mid-way, flip one byte of it, add a per-key
//!   `<Error>` to a DeleteObjects answer, or start an outage (every later request is cut until
//!   [`Proxy::restore`]).
//!
//! The older, request-blind faults stay: `faults.rate` and `faults.reset_after_up`.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::net::TcpListener;

mod http;

/// Faults that apply to every byte; change them at any time.
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

/// One request as the proxy saw it.
#[derive(Debug, Clone)]
pub struct Req {
    pub method: String,
    /// Path and query, e.g. `/bucket/key?partNumber=2&uploadId=…`.
    pub target: String,
    pub headers: Vec<(String, String)>,
    /// The status answered (`None`: the connection was cut before an answer).
    pub status: Option<u16>,
    /// When the request arrived, from the proxy's start.
    pub at: Duration,
    /// True when a rule's fault was applied to it.
    pub faulted: bool,
}

impl Req {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or("")
    }

    /// The value of a query parameter (`Some("")` for a bare `?delete`).
    pub fn param(&self, name: &str) -> Option<&str> {
        let query = self.target.split_once('?')?.1;
        query.split('&').find_map(|kv| match kv.split_once('=') {
            Some((k, v)) if k == name => Some(v),
            None if kv == name => Some(""),
            _ => None,
        })
    }

    /// An UploadPart (not an UploadPartCopy).
    pub fn is_upload_part(&self) -> bool {
        self.method == "PUT"
            && self.param("partNumber").is_some()
            && self.header("x-amz-copy-source").is_none()
    }

    /// A DeleteObjects (`POST ?delete`).
    pub fn is_delete_objects(&self) -> bool {
        self.method == "POST" && self.param("delete").is_some()
    }

    /// A CompleteMultipartUpload (`POST ?uploadId=`).
    pub fn is_complete(&self) -> bool {
        self.method == "POST" && self.param("uploadId").is_some()
    }

    /// A CopyObject (a PUT with a copy source and no part number).
    pub fn is_copy_object(&self) -> bool {
        self.method == "PUT"
            && self.header("x-amz-copy-source").is_some()
            && self.param("partNumber").is_none()
    }

    /// Any request that deletes (DeleteObject or DeleteObjects).
    pub fn is_delete(&self) -> bool {
        self.method == "DELETE" && self.param("uploadId").is_none() || self.is_delete_objects()
    }
}

/// What to do with a matched request.
#[derive(Debug, Clone)]
pub enum Action {
    /// Answer without asking the server.
    Respond { status: u16, body: String },
    /// Cut this request's connection and every later request's, until [`Proxy::restore`];
    /// exchanges already under way finish.
    Outage,
    /// Cut the connection after this many bytes of the request body went to the server.
    ResetUpAfter(u64),
    /// Cut the connection after this many bytes of the response body reached the client.
    ResetDownAfter(u64),
    /// Send this many bytes of the response body, then nothing more until the client gives up.
    StallAfter(u64),
    /// Flip every bit of the response body byte at this offset.
    FlipAt(u64),
    /// For a DeleteObjects whose request names `key`: forward it, then add an `<Error>` for
    /// `key` to the answer (as a store does when one key of a batch cannot be deleted).
    DeleteError {
        key: String,
        code: String,
        message: String,
    },
}

impl Action {
    pub fn error(status: u16, code: &str, message: &str) -> Action {
        Action::Respond {
            status,
            body: format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{message}</Message><RequestId>proxy</RequestId></Error>"
            ),
        }
    }

    pub fn slow_down() -> Action {
        Action::error(503, "SlowDown", "Please reduce your request rate.")
    }

    pub fn access_denied() -> Action {
        Action::error(403, "AccessDenied", "Access Denied")
    }

    /// `200 OK` whose body is an error (CompleteMultipartUpload and CopyObject can do this).
    pub fn ok_with_error() -> Action {
        Action::error(
            200,
            "InternalError",
            "We encountered an internal error. Please try again.",
        )
    }
}

type Matcher = Box<dyn Fn(&Req) -> bool + Send + Sync>;

/// Applies an action to the requests a matcher picks: after letting `skip` of them pass, to
/// `times` of them (`None`: all).
pub struct Rule {
    matcher: Matcher,
    action: Action,
    skip: u32,
    times: Option<u32>,
}

impl Rule {
    pub fn new(matcher: impl Fn(&Req) -> bool + Send + Sync + 'static, action: Action) -> Rule {
        Rule {
            matcher: Box::new(matcher),
            action,
            skip: 0,
            times: None,
        }
    }

    pub fn skip(mut self, n: u32) -> Rule {
        self.skip = n;
        self
    }

    pub fn times(mut self, n: u32) -> Rule {
        self.times = Some(n);
        self
    }

    pub fn once(self) -> Rule {
        self.times(1)
    }
}

struct State {
    target: SocketAddr,
    up: Arc<AtomicU64>,
    down: Arc<AtomicU64>,
    faults: Arc<Faults>,
    rules: Mutex<Vec<Rule>>,
    log: Mutex<Vec<Req>>,
    outage: AtomicBool,
    started: Instant,
}

impl State {
    /// The action for a request, consuming one use of the first rule that applies.
    fn action_for(&self, req: &Req) -> Option<Action> {
        let mut rules = self.rules.lock().unwrap();
        for rule in rules.iter_mut() {
            if rule.times == Some(0) || !(rule.matcher)(req) {
                continue;
            }
            if rule.skip > 0 {
                rule.skip -= 1;
                return None;
            }
            if let Some(t) = rule.times.as_mut() {
                *t -= 1;
            }
            return Some(rule.action.clone());
        }
        None
    }

    fn set_status(&self, index: usize, status: u16) {
        self.log.lock().unwrap()[index].status = Some(status);
    }
}

pub struct Proxy {
    pub addr: SocketAddr,
    /// Client → server bytes.
    pub up: Arc<AtomicU64>,
    /// Server → client bytes.
    pub down: Arc<AtomicU64>,
    pub faults: Arc<Faults>,
    state: Arc<State>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Proxy {
    /// Proxies a port of 127.0.0.1 to `upstream` (an `http://host:port` URL).
    pub async fn start(upstream: &str) -> Proxy {
        Proxy::start_on("127.0.0.1:0", upstream).await
    }

    /// Proxies `bind` (e.g. `0.0.0.0:0`) to `upstream`.
    pub async fn start_on(bind: &str, upstream: &str) -> Proxy {
        let target: SocketAddr = upstream
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .parse()
            .unwrap();
        let listener = TcpListener::bind(bind).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(State {
            target,
            up: Arc::default(),
            down: Arc::default(),
            faults: Arc::default(),
            rules: Mutex::default(),
            log: Mutex::default(),
            outage: AtomicBool::new(false),
            started: Instant::now(),
        });
        let s = state.clone();
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                tokio::spawn(http::serve(client, s.clone()));
            }
        });
        Proxy {
            addr,
            up: state.up.clone(),
            down: state.down.clone(),
            faults: state.faults.clone(),
            state,
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

    /// Adds a rule; earlier rules are asked first.
    pub fn add(&self, rule: Rule) {
        self.state.rules.lock().unwrap().push(rule);
    }

    /// Removes every rule and ends an outage.
    pub fn clear(&self) {
        self.state.rules.lock().unwrap().clear();
        self.restore();
    }

    /// Ends an outage: the server is back.
    pub fn restore(&self) {
        self.state.outage.store(false, Ordering::SeqCst);
    }

    pub fn in_outage(&self) -> bool {
        self.state.outage.load(Ordering::SeqCst)
    }

    /// Every request seen so far, in arrival order.
    pub fn requests(&self) -> Vec<Req> {
        self.state.log.lock().unwrap().clone()
    }

    /// The requests a predicate picks.
    pub fn count(&self, f: impl Fn(&Req) -> bool) -> usize {
        self.requests().iter().filter(|r| f(r)).count()
    }

    pub fn clear_log(&self) {
        self.state.log.lock().unwrap().clear();
    }
}
