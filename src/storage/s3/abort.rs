//! Aborting multipart uploads: a guard that aborts unless the upload completed (also when its
//! task is dropped), background retries while the store cannot be reached, and the count that
//! lets the process wait for aborts before it exits. Every upload is journaled
//! ([`journal`]) from before its first part until it is completed or aborted.

use std::sync::atomic::{AtomicUsize, Ordering};

use aws_sdk_s3::Client;

use super::{S3Store, errors};
use crate::storage::error::{Result, StorageError};
use crate::storage::journal;

/// Aborts a multipart upload unless it completed; on drop (a cancelled task) it spawns the
/// abort. Creating one journals the upload (see [`journal`]); completing or aborting it ends
/// the journal entry, so an upload this process could not abort is aborted on the next start.
pub(super) struct AbortGuard {
    client: Client,
    label: String,
    bucket: String,
    key: String,
    upload_id: String,
    armed: bool,
}

impl AbortGuard {
    pub(super) fn new(store: &S3Store, bucket: &str, key: &str, upload_id: &str) -> AbortGuard {
        journal::begin(&store.endpoint, &store.label, bucket, key, upload_id);
        AbortGuard {
            client: store.client.clone(),
            label: store.label.clone(),
            bucket: bucket.to_string(),
            key: key.to_string(),
            upload_id: upload_id.to_string(),
            armed: true,
        }
    }

    /// The upload completed: nothing to abort.
    pub(super) fn completed(mut self) {
        self.armed = false;
        journal::end(&self.bucket, &self.key, &self.upload_id);
    }

    /// Aborts now and waits for the first attempt; if the store cannot be reached, keeps trying
    /// in the background. The attempt runs in its own task, so cancelling the caller while it
    /// waits does not cancel the abort.
    pub(super) async fn abort(mut self) {
        self.armed = false;
        let _ = spawn_abort(self.take()).await;
    }

    fn take(&mut self) -> Upload {
        Upload {
            client: self.client.clone(),
            label: std::mem::take(&mut self.label),
            bucket: std::mem::take(&mut self.bucket),
            key: std::mem::take(&mut self.key),
            id: std::mem::take(&mut self.upload_id),
        }
    }
}

impl Drop for AbortGuard {
    fn drop(&mut self) {
        if self.armed {
            drop(spawn_abort(self.take()));
        }
    }
}

/// A multipart upload to abort.
struct Upload {
    client: Client,
    label: String,
    bucket: String,
    key: String,
    id: String,
}

impl Upload {
    /// One AbortMultipartUpload (with the SDK's retries); an upload already gone counts as
    /// aborted.
    async fn abort(&self) -> Result<()> {
        let r = self
            .client
            .abort_multipart_upload()
            .bucket(&self.bucket)
            .key(&self.key)
            .upload_id(&self.id)
            .send()
            .await;
        let ctx = errors::Ctx {
            endpoint: &self.label,
            op: "abort multipart upload",
            bucket: &self.bucket,
            key: &self.key,
        };
        match r.map_err(|e| errors::map(e, &ctx)) {
            Ok(_) | Err(StorageError::NotFound { .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }

    fn ended(&self) {
        journal::end(&self.bucket, &self.key, &self.id);
    }
}

/// Delays between background abort attempts: the store may be down for a while (an outage, a
/// dropped link), and an upload left behind costs money until someone aborts it.
const ABORT_RETRY_DELAYS: [u64; 9] = [1, 2, 4, 8, 15, 30, 60, 120, 300];

/// Aborts in a background task: at once, then again with growing delays until it succeeds or
/// ~9 minutes pass (the journal covers the rest). The returned receiver resolves after the
/// first attempt; `settle_aborts` also waits for the first attempt only, so quitting never
/// hangs on an unreachable store.
fn spawn_abort(upload: Upload) -> tokio::sync::oneshot::Receiver<()> {
    let (first_done, rx) = tokio::sync::oneshot::channel();
    let Ok(rt) = tokio::runtime::Handle::try_current() else {
        return rx;
    };
    PENDING_ABORTS.fetch_add(1, Ordering::SeqCst);
    rt.spawn(async move {
        let mut first_done = Some(first_done);
        for delay in std::iter::once(0).chain(ABORT_RETRY_DELAYS) {
            tokio::time::sleep(std::time::Duration::from_secs(delay)).await;
            let result = upload.abort().await;
            if result.is_ok() {
                upload.ended();
            }
            if let Some(tx) = first_done.take() {
                PENDING_ABORTS.fetch_sub(1, Ordering::SeqCst);
                let _ = tx.send(());
                if let Err(e) = &result {
                    tracing::warn!(bucket = %upload.bucket, key = ?upload.key, "abort multipart upload failed, will retry: {e}");
                }
            }
            if result.is_ok() {
                return;
            }
        }
        tracing::warn!(bucket = %upload.bucket, key = ?upload.key, "gave up aborting a multipart upload; the next start retries");
    });
    rx
}

/// Aborts of multipart uploads still in flight. A process-wide count (not a channel) because
/// drops happen anywhere a future is cancelled, and the only question asked of it is the one
/// at exit: "may the runtime stop yet?"
static PENDING_ABORTS: AtomicUsize = AtomicUsize::new(0);

/// Waits (at most `limit`) until every abort of a dropped multipart upload has been sent, so
/// quitting after a cancel leaves no upload behind.
pub async fn settle_aborts(limit: std::time::Duration) {
    let deadline = tokio::time::Instant::now() + limit;
    while PENDING_ABORTS.load(Ordering::SeqCst) > 0 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

impl S3Store {
    /// Aborts a multipart upload (an upload already gone counts as aborted).
    pub async fn abort_upload(&self, bucket: &str, key: &str, upload_id: &str) -> Result<()> {
        Upload {
            client: self.client.clone(),
            label: self.label.clone(),
            bucket: bucket.to_string(),
            key: key.to_string(),
            id: upload_id.to_string(),
        }
        .abort()
        .await
    }
}
