//! Writing objects: a single PUT up to one part, multipart above it with parts uploaded
//! concurrently (memory bounded by `(concurrency + 1) × part size`), each completion confirmed
//! by HEAD. Every error, cancellation or drop of a multipart write aborts the upload (see
//! `abort`), so nothing half-written stays behind; server-side copies are in `copy`.

use aws_sdk_s3::primitives::ByteStream as SdkBody;
use aws_sdk_s3::types::{ChecksumAlgorithm, CompletedMultipartUpload, CompletedPart};
use bytes::{Bytes, BytesMut};
use futures::StreamExt;
use md5::{Digest, Md5};
use tokio::task::JoinSet;

use super::abort::AbortGuard;
pub use super::abort::settle_aborts;
use super::{S3Store, check_key, errors, etag};
use crate::storage::ByteStream;
use crate::storage::endpoint::Checksums;
use crate::storage::entry::WriteOutcome;
use crate::storage::error::{Result, StorageError};

pub const MIB: u64 = 1024 * 1024;
/// S3's smallest part (all but the last).
pub const MIN_PART: u64 = 5 * MIB;
/// S3's largest part, and largest single PUT or CopyObject.
pub const MAX_PART: u64 = 5 * 1024 * MIB;
/// S3's most parts in one upload.
pub const MAX_PARTS: u64 = 10_000;

/// How to write an object.
#[derive(Debug, Clone)]
pub struct WriteOptions {
    /// Part size for multipart uploads; objects up to this size go up in one PUT.
    pub part_size: u64,
    /// Parts in flight at once per object.
    pub part_concurrency: usize,
    /// The total size when known, to raise the part size above 10,000 parts.
    pub size_hint: Option<u64>,
    pub content_type: Option<String>,
    /// Server-side copies above this size use UploadPartCopy (at most 5 GiB).
    pub copy_multipart_threshold: u64,
    /// When set, the size the body must have: anything else fails the write before the object
    /// or file becomes visible ("source changed during transfer").
    pub expect_size: Option<u64>,
    /// When set, the hex MD5 the body must have (e.g. the source's single-part ETag): a mismatch
    /// fails the write before the object or file becomes visible.
    pub expect_md5: Option<String>,
}

impl Default for WriteOptions {
    fn default() -> Self {
        WriteOptions {
            part_size: 8 * MIB,
            part_concurrency: 4,
            size_hint: None,
            content_type: None,
            copy_multipart_threshold: MAX_PART,
            expect_size: None,
            expect_md5: None,
        }
    }
}

impl WriteOptions {
    /// Checks a finished body against `expect_size` and `expect_md5`.
    pub fn check_body(&self, what: &str, size: u64, md5_hex: &str) -> Result<()> {
        if let Some(expected) = self.expect_size.filter(|&e| e != size) {
            return Err(StorageError::Integrity {
                what: what.to_string(),
                detail: format!(
                    "source changed during transfer: expected {expected} bytes, read {size}"
                ),
            });
        }
        if let Some(expected) = self
            .expect_md5
            .as_deref()
            .filter(|e| !e.eq_ignore_ascii_case(md5_hex))
        {
            return Err(StorageError::Integrity {
                what: what.to_string(),
                detail: format!(
                    "the bytes read have MD5 {md5_hex}, the source's checksum is {expected}"
                ),
            });
        }
        Ok(())
    }

    /// The part size actually used: at least the configured one, large enough for 10,000 parts
    /// of `size_hint`, and within S3's limits.
    pub fn effective_part_size(&self) -> Result<u64> {
        if self.part_size < MIN_PART || self.part_size > MAX_PART {
            return Err(StorageError::Config(format!(
                "part size {} MiB is outside S3's limits of 5 MiB to 5 GiB",
                self.part_size / MIB
            )));
        }
        let needed = self
            .size_hint
            .map_or(0, |s| s.div_ceil(MAX_PARTS).div_ceil(MIB) * MIB);
        let size = self.part_size.max(needed);
        if size > MAX_PART {
            return Err(StorageError::Config(
                "object larger than S3's 5 TiB limit".into(),
            ));
        }
        Ok(size)
    }
}

/// Reads a body in parts of a given size, hashing everything it hands out when asked to (an
/// MD5 of a whole multipart stream is only worth its CPU when there is one to compare with:
/// it was half of s3ferry's CPU on a 1 GiB upload).
struct PartReader {
    body: ByteStream,
    carry: Bytes,
    md5: Option<Md5>,
    total: u64,
    eof: bool,
}

impl PartReader {
    async fn next_part(&mut self, size: u64) -> Result<Bytes> {
        let size = size as usize;
        let mut buf = BytesMut::new();
        while buf.len() < size {
            let chunk = if !self.carry.is_empty() {
                std::mem::take(&mut self.carry)
            } else {
                match self.body.next().await {
                    Some(c) => c?,
                    None => {
                        self.eof = true;
                        break;
                    }
                }
            };
            let room = size - buf.len();
            if chunk.len() > room {
                buf.extend_from_slice(&chunk[..room]);
                self.carry = chunk.slice(room..);
            } else if buf.is_empty() && chunk.len() == room {
                buf = BytesMut::from(chunk);
            } else {
                buf.extend_from_slice(&chunk);
            }
        }
        let part = buf.freeze();
        if let Some(md5) = &mut self.md5 {
            md5.update(&part);
        }
        self.total += part.len() as u64;
        Ok(part)
    }
}

impl S3Store {
    /// Writes a stream to `bucket/key`: one PUT when it fits in a part, multipart otherwise.
    pub async fn write(
        &self,
        bucket: &str,
        key: &str,
        body: ByteStream,
        opts: &WriteOptions,
    ) -> Result<WriteOutcome> {
        check_key(key)?;
        let part_size = opts.effective_part_size()?;
        let mut reader = PartReader {
            body,
            carry: Bytes::new(),
            md5: opts.expect_md5.is_some().then(Md5::new),
            total: 0,
            eof: false,
        };
        let first = reader.next_part(part_size).await?;
        if reader.eof {
            // One part: its MD5 is the Content-MD5 of the PUT.
            let md5 = hex::encode(Md5::digest(&first));
            opts.check_body(&format!("{key:?} in bucket {bucket:?}"), reader.total, &md5)?;
            return self.put_single(bucket, key, first, md5, opts).await;
        }
        self.put_multipart(bucket, key, first, reader, part_size, opts)
            .await
    }

    async fn put_single(
        &self,
        bucket: &str,
        key: &str,
        data: Bytes,
        md5_hex: String,
        opts: &WriteOptions,
    ) -> Result<WriteOutcome> {
        let size = data.len() as u64;
        let content_md5 =
            aws_smithy_types::base64::encode(hex::decode(&md5_hex).unwrap_or_default());
        let resp = self
            .client
            .put_object()
            .bucket(bucket)
            .key(key)
            .content_md5(content_md5)
            .set_content_type(opts.content_type.clone())
            .body(SdkBody::from(data))
            .send()
            .await
            .map_err(|e| errors::map(e, &self.ctx("put", bucket, key)))?;
        let etag = super::unquote(resp.e_tag());
        Ok(WriteOutcome {
            size,
            etag,
            md5: md5_hex,
            parts: 0,
        })
    }

    async fn put_multipart(
        &self,
        bucket: &str,
        key: &str,
        first: Bytes,
        mut reader: PartReader,
        part_size: u64,
        opts: &WriteOptions,
    ) -> Result<WriteOutcome> {
        let full = self.checksums == Checksums::WhenSupported;
        let created = self
            .client
            .create_multipart_upload()
            .bucket(bucket)
            .key(key)
            .set_content_type(opts.content_type.clone())
            .set_checksum_algorithm(full.then_some(ChecksumAlgorithm::Crc32))
            .send()
            .await
            .map_err(|e| errors::map(e, &self.ctx("create multipart upload", bucket, key)))?;
        let upload_id = created.upload_id().unwrap_or_default().to_string();
        let guard = AbortGuard::new(self, bucket, key, &upload_id);
        let result = async {
            let parts = self
                .upload_parts(
                    bucket,
                    key,
                    &upload_id,
                    first,
                    &mut reader,
                    part_size,
                    opts.part_concurrency,
                )
                .await?;
            let n = parts.len();
            // The source must be what was promised (size, and MD5 when known) before the
            // object is made: a file truncated or rewritten mid-upload is refused, not stored.
            let md5 = reader.md5.take().map(|m| hex::encode(m.finalize()));
            opts.check_body(
                &format!("{key:?} in bucket {bucket:?}"),
                reader.total,
                md5.as_deref().unwrap_or_default(),
            )?;
            let etag = self
                .complete(bucket, key, &upload_id, parts, reader.total)
                .await?;
            let md5 = md5.unwrap_or_default();
            Ok::<_, StorageError>((n, etag, md5))
        }
        .await;
        match result {
            Ok((parts, etag, md5)) => {
                guard.completed();
                Ok(WriteOutcome {
                    size: reader.total,
                    etag,
                    md5,
                    parts,
                })
            }
            Err(e) => {
                guard.abort().await;
                Err(e)
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    async fn upload_parts(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
        first: Bytes,
        reader: &mut PartReader,
        part_size: u64,
        concurrency: usize,
    ) -> Result<Vec<CompletedPart>> {
        let mut tasks: JoinSet<Result<CompletedPart>> = JoinSet::new();
        let mut done = Vec::new();
        let mut next = Some(first);
        let mut number = 0i32;
        loop {
            let data = match next.take() {
                Some(d) => d,
                None if reader.eof => break,
                None => reader.next_part(part_size).await?,
            };
            if data.is_empty() {
                break;
            }
            number += 1;
            if number as u64 > MAX_PARTS {
                return Err(StorageError::Config(format!(
                    "{key:?} needs more than {MAX_PARTS} parts of {} MiB: raise the part size",
                    part_size / MIB
                )));
            }
            while tasks.len() >= concurrency.max(1) {
                done.push(join_next(&mut tasks).await?);
            }
            tasks.spawn(self.clone().upload_part(
                bucket.into(),
                key.into(),
                upload_id.into(),
                number,
                data,
            ));
        }
        while !tasks.is_empty() {
            done.push(join_next(&mut tasks).await?);
        }
        done.sort_by_key(|p| p.part_number());
        Ok(done)
    }

    async fn upload_part(
        self,
        bucket: String,
        key: String,
        upload_id: String,
        number: i32,
        data: Bytes,
    ) -> Result<CompletedPart> {
        let full = self.checksums == Checksums::WhenSupported;
        let mut req = self
            .client
            .upload_part()
            .bucket(&bucket)
            .key(&key)
            .upload_id(upload_id)
            .part_number(number);
        if full {
            req = req.checksum_algorithm(ChecksumAlgorithm::Crc32);
        } else {
            // Without the SDK's checksums, Content-MD5 still lets the store verify each part.
            req = req.content_md5(aws_smithy_types::base64::encode(Md5::digest(&data)));
        }
        let resp = req
            .body(SdkBody::from(data))
            .send()
            .await
            .map_err(|e| errors::map(e, &self.ctx("upload part", &bucket, &key)))?;
        Ok(CompletedPart::builder()
            .part_number(number)
            .set_e_tag(resp.e_tag().map(str::to_string))
            .set_checksum_crc32(resp.checksum_crc32().map(str::to_string))
            .build())
    }

    /// Completes an upload, then confirms with HEAD that the object is the one the parts make:
    /// its size, and its ETag where the parts' ETags give it (a `200 OK` can carry an error,
    /// a proxy or a broken store can answer success for nothing).
    pub(super) async fn complete(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
        parts: Vec<CompletedPart>,
        size: u64,
    ) -> Result<Option<String>> {
        let from_parts = parts
            .iter()
            .map(|p| p.e_tag())
            .collect::<Option<Vec<_>>>()
            .and_then(etag::of_parts);
        let resp = self
            .client
            .complete_multipart_upload()
            .bucket(bucket)
            .key(key)
            .upload_id(upload_id)
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .set_parts(Some(parts))
                    .build(),
            )
            .send()
            .await
            .map_err(|e| errors::map(e, &self.ctx("complete multipart upload", bucket, key)))?;
        let answered = super::unquote(resp.e_tag());
        // With SSE-KMS (a bucket default, say) part ETags are no MD5s: only the answer counts.
        let kms = resp
            .server_side_encryption()
            .is_some_and(|s| s.as_str().starts_with("aws:kms"));
        let expected = if kms {
            answered.clone()
        } else {
            from_parts.or(answered.clone())
        };
        self.confirm(bucket, key, size, expected).await?;
        Ok(answered)
    }

    /// HEADs a object just written: it must exist with `size` bytes and, when both are known
    /// and comparable, the expected ETag.
    pub(super) async fn confirm(
        &self,
        bucket: &str,
        key: &str,
        size: u64,
        expected_etag: Option<String>,
    ) -> Result<()> {
        let what = format!("{key:?} in bucket {bucket:?}");
        let info = match self.stat(bucket, key).await {
            Ok(info) => info,
            Err(e) if e.is_not_found() => {
                return Err(StorageError::Integrity {
                    what,
                    detail: "the store answered success, but the object is not there".into(),
                });
            }
            Err(e) => return Err(e),
        };
        if info.size != size {
            return Err(StorageError::Integrity {
                what,
                detail: format!(
                    "expected {size} bytes after writing, the store has {}",
                    info.size
                ),
            });
        }
        if let (Some(expected), Some(actual)) = (expected_etag, info.etag)
            && comparable(&expected, &actual)
            && !expected.eq_ignore_ascii_case(&actual)
        {
            return Err(StorageError::Integrity {
                what,
                detail: format!(
                    "the store's object has ETag {actual:?}, the data written makes {expected:?}"
                ),
            });
        }
        Ok(())
    }
}

/// Two ETags of the same kind (both MD5s, or both multipart with the same part count) can be
/// compared; anything else (SSE-KMS, a store's own scheme) says nothing.
fn comparable(a: &str, b: &str) -> bool {
    match (etag::multipart(a), etag::multipart(b)) {
        (Some((_, n)), Some((_, m))) => n == m,
        (None, None) => etag::is_md5(a) && etag::is_md5(b),
        _ => false,
    }
}

pub(super) async fn join_next(tasks: &mut JoinSet<Result<CompletedPart>>) -> Result<CompletedPart> {
    match tasks.join_next().await {
        Some(Ok(r)) => r,
        Some(Err(e)) => Err(StorageError::Service {
            op: "upload part",
            what: "a part task".into(),
            code: "TaskFailed".into(),
            message: e.to_string(),
        }),
        None => Err(StorageError::Cancelled),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn part_size_respects_s3_limits() {
        let o = WriteOptions::default();
        assert_eq!(o.effective_part_size().unwrap(), 8 * MIB);
        let big = WriteOptions {
            size_hint: Some(200 * 1024 * MIB),
            ..WriteOptions::default()
        };
        let p = big.effective_part_size().unwrap();
        assert!(
            p * MAX_PARTS >= 200 * 1024 * MIB && p.is_multiple_of(MIB),
            "{p}"
        );
        let small = WriteOptions {
            part_size: 4 * MIB,
            ..WriteOptions::default()
        };
        assert!(small.effective_part_size().is_err());
    }

    #[tokio::test]
    async fn part_reader_splits_exactly_and_hashes_everything() {
        let chunks: Vec<Result<Bytes>> = (0..10u8).map(|i| Ok(Bytes::from(vec![i; 7]))).collect();
        let mut r = PartReader {
            body: Box::pin(futures::stream::iter(chunks)),
            carry: Bytes::new(),
            md5: Some(Md5::new()),
            total: 0,
            eof: false,
        };
        let mut all = Vec::new();
        loop {
            let p = r.next_part(16).await.unwrap();
            if p.is_empty() {
                break;
            }
            assert!(p.len() == 16 || r.eof, "{}", p.len());
            all.extend_from_slice(&p);
        }
        assert_eq!(all.len(), 70);
        assert_eq!(r.total, 70);
        assert_eq!(
            hex::encode(r.md5.unwrap().finalize()),
            hex::encode(Md5::digest(&all))
        );
    }
}
