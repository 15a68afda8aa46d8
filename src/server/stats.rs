//! What the in-process server has seen, for tests that assert on load: requests by operation
//! (counted once authenticated, before the operation runs) and operations in flight, with the
//! highest number ever in flight at once — of all operations, and of those on one object
//! (transfers: HEAD, GET, PUT, copies, parts), which leaves out listings and bucket operations.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Counters shared by the server and its [`super::LocalS3Server`] handle.
#[derive(Debug, Default)]
pub struct ServerStats {
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
    object_in_flight: AtomicUsize,
    max_object_in_flight: AtomicUsize,
    requests: Mutex<BTreeMap<String, u64>>,
}

/// The operations (by their `S3` trait method) that act on one object.
const OBJECT_OPS: [&str; 11] = [
    "head_object",
    "get_object",
    "put_object",
    "delete_object",
    "copy_object",
    "create_multipart_upload",
    "upload_part",
    "upload_part_copy",
    "list_parts",
    "complete_multipart_upload",
    "abort_multipart_upload",
];

/// Counts one operation in flight until dropped.
pub(crate) struct InFlight<'a> {
    stats: &'a ServerStats,
    object: bool,
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.stats.in_flight.fetch_sub(1, Ordering::SeqCst);
        if self.object {
            self.stats.object_in_flight.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

impl ServerStats {
    /// Marks the operation `method` (an `S3` trait method name) as started; it ends when the
    /// guard drops. (A GET ends when its headers are ready; its body streams afterwards.)
    pub(crate) fn enter(&self, method: &str) -> InFlight<'_> {
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.max_in_flight.fetch_max(now, Ordering::SeqCst);
        let object = OBJECT_OPS.contains(&method);
        if object {
            let now = self.object_in_flight.fetch_add(1, Ordering::SeqCst) + 1;
            self.max_object_in_flight.fetch_max(now, Ordering::SeqCst);
        }
        InFlight {
            stats: self,
            object,
        }
    }

    /// Counts an authenticated request for the operation `op` (e.g. `PutObject`).
    pub(crate) fn count(&self, op: &str) {
        let mut r = self.requests.lock().unwrap_or_else(|e| e.into_inner());
        *r.entry(op.to_string()).or_default() += 1;
    }

    /// Operations running now.
    pub fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::SeqCst)
    }

    /// The most operations ever running at once (since the last [`ServerStats::reset`]).
    pub fn max_in_flight(&self) -> usize {
        self.max_in_flight.load(Ordering::SeqCst)
    }

    /// The most operations on single objects ever running at once (since the last reset).
    pub fn max_object_ops_in_flight(&self) -> usize {
        self.max_object_in_flight.load(Ordering::SeqCst)
    }

    /// Requests for one operation, by its S3 name (`PutObject`, `ListObjectsV2`, …).
    pub fn requests(&self, op: &str) -> u64 {
        let r = self.requests.lock().unwrap_or_else(|e| e.into_inner());
        r.get(op).copied().unwrap_or(0)
    }

    /// Every request, by operation.
    pub fn all_requests(&self) -> BTreeMap<String, u64> {
        self.requests
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The number of requests of every operation together.
    pub fn total_requests(&self) -> u64 {
        self.all_requests().values().sum()
    }

    /// Forgets the request counts and the maximum in flight.
    pub fn reset(&self) {
        self.requests
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
        self.max_in_flight
            .store(self.in_flight.load(Ordering::SeqCst), Ordering::SeqCst);
        self.max_object_in_flight.store(
            self.object_in_flight.load(Ordering::SeqCst),
            Ordering::SeqCst,
        );
    }
}
