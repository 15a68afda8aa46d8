//! Reading objects: a GET streamed as it arrives, verified at its end against the object's
//! checksum (by the SDK) or ETag (here), so that corrupted or short bodies never count as read.

use std::ops::Range;

use aws_sdk_s3::types::ChecksumMode;

use super::{S3Store, errors, etag, unquote};
use crate::storage::ByteStream;
use crate::storage::endpoint::Checksums;
use crate::storage::error::{Result, StorageError};

impl S3Store {
    /// How to verify a whole-object GET: by MD5 for a plain ETag; for a multipart one
    /// (`<md5>-N`), by the multipart ETag of the object's real part size, which a HEAD of part 1
    /// tells (guessing it from the size would fail objects uploaded with unusual part sizes).
    async fn check_for(
        &self,
        bucket: &str,
        key: &str,
        resp: &aws_sdk_s3::operation::get_object::GetObjectOutput,
    ) -> Option<ReadCheck> {
        let (etag, size) = ReadCheck::wanted(resp, self.checksums)?;
        let hasher = match etag::multipart(&etag) {
            None if etag::is_md5(&etag) => etag::EtagHasher::new(&[]),
            None => return None,
            Some((_, parts)) => {
                let part = self
                    .client
                    .head_object()
                    .bucket(bucket)
                    .key(key)
                    .part_number(1)
                    .if_match(format!("\"{etag}\""))
                    .send()
                    .await
                    .ok()
                    .filter(|h| h.parts_count() == Some(parts as i32))
                    .and_then(|h| h.content_length())
                    .filter(|&l| l > 0)?;
                etag::EtagHasher::new(&[part as u64])
            }
        };
        Some(ReadCheck {
            hasher,
            etag,
            size: Some(size),
        })
    }

    /// GET of an object or a byte range of it, as a stream.
    pub async fn read(
        &self,
        bucket: &str,
        key: &str,
        range: Option<Range<u64>>,
    ) -> Result<ByteStream> {
        let mut req = self.client.get_object().bucket(bucket).key(key);
        match &range {
            Some(r) if r.end <= r.start => return Ok(Box::pin(futures::stream::empty())),
            Some(r) => req = req.range(format!("bytes={}-{}", r.start, r.end - 1)),
            None if self.checksums == Checksums::WhenSupported => {
                req = req.checksum_mode(ChecksumMode::Enabled)
            }
            None => {}
        }
        let resp = req
            .send()
            .await
            .map_err(|e| errors::map(e, &self.ctx("get", bucket, key)))?;
        let what = format!("{key:?} in bucket {bucket:?}");
        let check = match range {
            None => self.check_for(bucket, key, &resp).await,
            Some(_) => None,
        };
        let state = ReadState {
            body: resp.body,
            check,
            what,
            label: self.label.clone(),
        };
        let stream = futures::stream::unfold(Some(state), |state| async move {
            let mut s = state?;
            match s.body.try_next().await {
                Ok(Some(b)) => {
                    if let Some(c) = s.check.as_mut() {
                        c.hasher.update(&b);
                    }
                    Some((Ok(b), Some(s)))
                }
                Ok(None) => match s.check.take().map(|c| c.verify(&s.what)) {
                    Some(Err(e)) => Some((Err(e), None)),
                    _ => None,
                },
                Err(e) => Some((Err(body_error(&s.label, &s.what, &e)), None)),
            }
        });
        Ok(Box::pin(stream))
    }
}

/// A GET body being read, and the check it must pass at its end.
struct ReadState {
    body: aws_sdk_s3::primitives::ByteStream,
    check: Option<ReadCheck>,
    what: String,
    label: String,
}

/// Verifies a whole-object download against its ETag where the SDK does not already validate a
/// full-object checksum: the bytes are hashed as they pass, and a mismatch (or a short body) is
/// an error in place of the stream's end, so no consumer commits them.
struct ReadCheck {
    hasher: etag::EtagHasher,
    etag: String,
    size: Option<u64>,
}

impl ReadCheck {
    /// The ETag and size to verify a whole-object GET against, if the SDK does not validate a
    /// checksum already and the ETag can describe the content.
    fn wanted(
        resp: &aws_sdk_s3::operation::get_object::GetObjectOutput,
        checksums: Checksums,
    ) -> Option<(String, u64)> {
        // SSE-KMS and SSE-C objects have ETags that are not MD5s of the content.
        let kms = resp
            .server_side_encryption()
            .is_some_and(|s| s.as_str().starts_with("aws:kms"));
        if kms || resp.sse_customer_algorithm().is_some() {
            return None;
        }
        let sdk_validates = checksums == Checksums::WhenSupported
            && [
                resp.checksum_crc32(),
                resp.checksum_crc32_c(),
                resp.checksum_crc64_nvme(),
                resp.checksum_sha1(),
                resp.checksum_sha256(),
            ]
            .into_iter()
            .flatten()
            .any(|v| !v.contains('-'));
        if sdk_validates {
            return None;
        }
        let etag = unquote(resp.e_tag())?;
        let size = resp.content_length().map(|l| l.max(0) as u64)?;
        Some((etag, size))
    }

    fn verify(self, what: &str) -> Result<()> {
        let len = self.hasher.len;
        if let Some(size) = self.size.filter(|&s| s != len) {
            return Err(StorageError::Integrity {
                what: what.to_string(),
                detail: format!("received {len} bytes of {size}"),
            });
        }
        if !self.hasher.matches(&self.etag) {
            return Err(StorageError::Integrity {
                what: what.to_string(),
                detail: format!(
                    "the bytes received do not match the object's ETag {:?}",
                    self.etag
                ),
            });
        }
        Ok(())
    }
}

fn body_error(label: &str, what: &str, e: &dyn std::error::Error) -> StorageError {
    let text = {
        let mut t = e.to_string();
        let mut src = e.source();
        while let Some(s) = src {
            t.push_str(": ");
            t.push_str(&s.to_string());
            src = s.source();
        }
        t
    };
    let lower = text.to_ascii_lowercase();
    if lower.contains("checksum") {
        StorageError::Integrity {
            what: what.to_string(),
            detail: text,
        }
    } else if lower.contains("stalled")
        || lower.contains("timed out")
        || lower.contains("timeout")
        || lower.contains("throughput")
    {
        StorageError::Timeout {
            endpoint: label.to_string(),
            op: "get",
            what: what.to_string(),
        }
    } else {
        StorageError::Unreachable {
            endpoint: label.to_string(),
            op: "get",
            cause: format!("reading {what}: {text}"),
        }
    }
}
