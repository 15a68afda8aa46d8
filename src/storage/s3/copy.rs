//! Server-side copies within one endpoint: CopyObject up to the threshold, UploadPartCopy in
//! parallel above it, each confirmed by HEAD before it counts.

use aws_sdk_s3::types::CompletedPart;
use tokio::task::JoinSet;

use super::abort::AbortGuard;
use super::upload::{MAX_PART, WriteOptions, join_next};
use super::{S3Store, check_key, copy_source, errors};
use crate::storage::entry::WriteOutcome;
use crate::storage::error::{Result, StorageError};

impl S3Store {
    /// Copies an object within this endpoint without the bytes passing through the client:
    /// CopyObject up to the threshold, UploadPartCopy in parallel above it.
    pub async fn copy_within(
        &self,
        src_bucket: &str,
        src_key: &str,
        dst_bucket: &str,
        dst_key: &str,
        size: u64,
        opts: &WriteOptions,
    ) -> Result<WriteOutcome> {
        check_key(dst_key)?;
        let source = copy_source(src_bucket, src_key);
        if size <= opts.copy_multipart_threshold.min(MAX_PART) {
            let resp = self
                .client
                .copy_object()
                .copy_source(&source)
                .bucket(dst_bucket)
                .key(dst_key)
                .send()
                .await
                .map_err(|e| errors::map(e, &self.ctx("copy", dst_bucket, dst_key)))
                .map_err(|e| name_archived_source(e, src_bucket, src_key))?;
            let etag = super::unquote(resp.copy_object_result().and_then(|r| r.e_tag()));
            self.confirm(dst_bucket, dst_key, size, etag.clone())
                .await?;
            return Ok(WriteOutcome {
                size,
                etag,
                md5: String::new(),
                parts: 0,
            });
        }
        let part_size = WriteOptions {
            size_hint: Some(size),
            ..opts.clone()
        }
        .effective_part_size()?;
        let created = self
            .client
            .create_multipart_upload()
            .bucket(dst_bucket)
            .key(dst_key)
            .send()
            .await
            .map_err(|e| {
                errors::map(e, &self.ctx("create multipart upload", dst_bucket, dst_key))
            })?;
        let upload_id = created.upload_id().unwrap_or_default().to_string();
        let guard = AbortGuard::new(self, dst_bucket, dst_key, &upload_id);
        let result = async {
            let mut tasks: JoinSet<Result<CompletedPart>> = JoinSet::new();
            let mut done = Vec::new();
            let mut start = 0u64;
            let mut number = 0i32;
            while start < size {
                let end = (start + part_size).min(size);
                number += 1;
                while tasks.len() >= opts.part_concurrency.max(1) {
                    done.push(join_next(&mut tasks).await?);
                }
                let (store, source, b, k, id) = (
                    self.clone(),
                    source.clone(),
                    dst_bucket.to_string(),
                    dst_key.to_string(),
                    upload_id.clone(),
                );
                let (src_bucket, src_key) = (src_bucket.to_string(), src_key.to_string());
                tasks.spawn(async move {
                    let resp = store
                        .client
                        .upload_part_copy()
                        .copy_source(source)
                        .copy_source_range(format!("bytes={}-{}", start, end - 1))
                        .bucket(&b)
                        .key(&k)
                        .upload_id(id)
                        .part_number(number)
                        .send()
                        .await
                        .map_err(|e| errors::map(e, &store.ctx("upload part copy", &b, &k)))
                        .map_err(|e| name_archived_source(e, &src_bucket, &src_key))?;
                    Ok(CompletedPart::builder()
                        .part_number(number)
                        .set_e_tag(
                            resp.copy_part_result()
                                .and_then(|r| r.e_tag())
                                .map(str::to_string),
                        )
                        .build())
                });
                start = end;
            }
            while !tasks.is_empty() {
                done.push(join_next(&mut tasks).await?);
            }
            done.sort_by_key(|p| p.part_number());
            let parts = done.len();
            let etag = self
                .complete(dst_bucket, dst_key, &upload_id, done, size)
                .await?;
            Ok::<_, StorageError>((parts, etag))
        }
        .await;
        match result {
            Ok((parts, etag)) => {
                guard.completed();
                Ok(WriteOutcome {
                    size,
                    etag,
                    md5: String::new(),
                    parts,
                })
            }
            Err(e) => {
                guard.abort().await;
                Err(e)
            }
        }
    }
}

/// A copy refused because its source is archived names the source, not the destination.
fn name_archived_source(e: StorageError, src_bucket: &str, src_key: &str) -> StorageError {
    match e {
        StorageError::Archived { class, .. } => StorageError::Archived {
            what: format!("{src_key:?} in bucket {src_bucket:?}"),
            class,
        },
        e => e,
    }
}
