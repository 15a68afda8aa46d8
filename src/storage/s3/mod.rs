//! S3 and S3-compatible stores through the official AWS SDK for Rust.

mod abort;
mod copy;
mod errors;
pub mod etag;
mod read;
pub mod upload;

use std::time::{Duration, SystemTime};

use aws_sdk_s3::Client;
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::types::{ChecksumMode, Delete, EncodingType, ObjectIdentifier};
use futures::{Stream, StreamExt};
use md5::{Digest, Md5};

use super::endpoint::{Checksums, EndpointConfig};
use super::entry::{DeleteReport, Entry, EntryKind, ListPage, ObjectInfo};
use super::error::{Result, StorageError};
use super::location::{EndpointRef, Location};
pub(crate) use errors::Ctx;

/// Most keys DeleteObjects takes in one request.
pub const DELETE_BATCH: usize = 1000;
/// Longest key S3 accepts, in bytes.
pub const MAX_KEY_BYTES: usize = 1024;

/// One endpoint with its client. Cheap to clone.
#[derive(Clone, Debug)]
pub struct S3Store {
    pub(crate) client: Client,
    pub(crate) endpoint: EndpointRef,
    /// Name and URL, for messages.
    pub(crate) label: String,
    pub(crate) identity: String,
    pub(crate) checksums: Checksums,
}

fn to_system_time(t: Option<&aws_smithy_types::DateTime>) -> Option<SystemTime> {
    t.and_then(|t| SystemTime::try_from(*t).ok())
}

fn unquote(etag: Option<&str>) -> Option<String> {
    etag.map(|e| e.trim_matches('"').to_string())
}

/// Decodes a key from a listing made with `EncodingType=url` (`+` is a space).
fn url_decode(s: &str) -> std::result::Result<String, String> {
    let plus = s.replace('+', " ");
    percent_encoding::percent_decode_str(&plus)
        .decode_utf8()
        .map(|c| c.into_owned())
        .map_err(|_| format!("listing returned a key that is not UTF-8 once decoded: {s:?}"))
}

/// Percent-encodes a key for the `x-amz-copy-source` header, keeping `/`.
pub(crate) fn copy_source(bucket: &str, key: &str) -> String {
    use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
    const KEEP: &AsciiSet = &NON_ALPHANUMERIC
        .remove(b'/')
        .remove(b'-')
        .remove(b'_')
        .remove(b'.')
        .remove(b'~');
    format!("{bucket}/{}", utf8_percent_encode(key, KEEP))
}

/// Refuses keys S3 would reject or mangle, before any request is sent.
pub fn check_key(key: &str) -> Result<()> {
    if key.len() > MAX_KEY_BYTES {
        return Err(StorageError::InvalidName {
            name: format!("{}…", key.chars().take(40).collect::<String>()),
            why: format!(
                "S3 keys are at most {MAX_KEY_BYTES} bytes; this one has {}",
                key.len()
            ),
        });
    }
    Ok(())
}

impl S3Store {
    /// Builds the store for an endpoint.
    pub async fn connect(endpoint: EndpointRef, cfg: &EndpointConfig) -> S3Store {
        let name = endpoint.to_string();
        S3Store {
            client: super::endpoint::build_client(cfg).await,
            label: super::endpoint::label(&name, cfg),
            identity: cfg.identity(),
            checksums: cfg.checksums,
            endpoint,
        }
    }

    /// True when a server-side copy between the two stores is possible (same endpoint and
    /// credentials).
    pub fn same_account(&self, other: &S3Store) -> bool {
        self.identity == other.identity
    }

    /// The name and URL of the endpoint.
    pub fn label(&self) -> &str {
        &self.label
    }

    pub(crate) fn ctx<'a>(&'a self, op: &'static str, bucket: &'a str, key: &'a str) -> Ctx<'a> {
        Ctx {
            endpoint: &self.label,
            op,
            bucket,
            key,
        }
    }

    /// Lists the buckets the credentials can see.
    pub async fn list_buckets(&self) -> Result<Vec<Entry>> {
        let resp = self
            .client
            .list_buckets()
            .send()
            .await
            .map_err(|e| errors::map(e, &self.ctx("list buckets", "", "")))?;
        Ok(resp
            .buckets()
            .iter()
            .filter_map(|b| {
                let name = b.name()?.to_string();
                Some(Entry {
                    location: Location::s3(self.endpoint.clone(), &name, ""),
                    name,
                    kind: EntryKind::Bucket,
                    size: None,
                    modified: to_system_time(b.creation_date()),
                    etag: None,
                    storage_class: None,
                })
            })
            .collect())
    }

    /// Lists a prefix page by page, as the pages arrive. With `delimiter`, one level (common
    /// prefixes become directories); without, every key below the prefix, named relative to it.
    pub fn list(
        &self,
        bucket: String,
        prefix: String,
        delimiter: bool,
    ) -> impl Stream<Item = Result<ListPage>> + Send + 'static {
        let store = self.clone();
        futures::stream::unfold(Some(None), move |token: Option<Option<String>>| {
            let store = store.clone();
            let (bucket, prefix) = (bucket.clone(), prefix.clone());
            async move {
                let token = token?;
                match store.list_page(&bucket, &prefix, delimiter, token).await {
                    Ok((page, next)) => Some((Ok(page), next.map(Some))),
                    Err(e) => Some((Err(e), None)),
                }
            }
        })
    }

    async fn list_page(
        &self,
        bucket: &str,
        prefix: &str,
        delimiter: bool,
        token: Option<String>,
    ) -> Result<(ListPage, Option<String>)> {
        let mut req = self
            .client
            .list_objects_v2()
            .bucket(bucket)
            .prefix(prefix)
            .encoding_type(EncodingType::Url)
            .set_continuation_token(token);
        if delimiter {
            req = req.delimiter("/");
        }
        let resp = req
            .send()
            .await
            .map_err(|e| errors::map(e, &self.ctx("list", bucket, prefix)))?;
        let encoded = resp.encoding_type() == Some(&EncodingType::Url);
        let decode = |s: &str| {
            if encoded {
                url_decode(s)
            } else {
                Ok(s.to_string())
            }
        };
        let mut page = ListPage::default();
        for cp in resp.common_prefixes() {
            match cp.prefix().map(decode) {
                Some(Ok(p)) => {
                    let name = p.strip_prefix(prefix).unwrap_or(&p).trim_end_matches('/');
                    page.entries.push(Entry {
                        name: name.to_string(),
                        location: Location::s3(self.endpoint.clone(), bucket, &p),
                        kind: EntryKind::Dir,
                        size: None,
                        modified: None,
                        etag: None,
                        storage_class: None,
                    });
                }
                Some(Err(e)) => page.problems.push(e),
                None => {}
            }
        }
        for obj in resp.contents() {
            let key = match obj.key().map(decode) {
                Some(Ok(k)) => k,
                Some(Err(e)) => {
                    page.problems.push(e);
                    continue;
                }
                None => continue,
            };
            let name = key.strip_prefix(prefix).unwrap_or(&key);
            // The folder marker of the listed prefix itself is the directory, not a row in it
            // (recursive listings keep it, so copies and deletes see it).
            if name.is_empty() && delimiter {
                continue;
            }
            // A folder marker below the prefix (seen in recursive listings) is a directory.
            let is_marker = key.ends_with('/');
            page.entries.push(Entry {
                name: name.trim_end_matches('/').to_string(),
                location: Location::s3(self.endpoint.clone(), bucket, &key),
                kind: if is_marker {
                    EntryKind::Dir
                } else {
                    EntryKind::File
                },
                size: obj.size().map(|s| s.max(0) as u64),
                modified: to_system_time(obj.last_modified()),
                etag: unquote(obj.e_tag()),
                storage_class: obj.storage_class().map(|c| c.as_str().to_string()),
            });
        }
        let next = if resp.is_truncated() == Some(true) {
            resp.next_continuation_token().map(str::to_string)
        } else {
            None
        };
        Ok((page, next))
    }

    /// HEAD of one object.
    pub async fn stat(&self, bucket: &str, key: &str) -> Result<ObjectInfo> {
        let mut req = self.client.head_object().bucket(bucket).key(key);
        if self.checksums == Checksums::WhenSupported {
            req = req.checksum_mode(ChecksumMode::Enabled);
        }
        let resp = req
            .send()
            .await
            .map_err(|e| errors::map(e, &self.ctx("stat", bucket, key)))?;
        let mut checksums = std::collections::BTreeMap::new();
        for (name, value) in [
            ("CRC32", resp.checksum_crc32()),
            ("CRC32C", resp.checksum_crc32_c()),
            ("CRC64NVME", resp.checksum_crc64_nvme()),
            ("SHA1", resp.checksum_sha1()),
            ("SHA256", resp.checksum_sha256()),
        ] {
            if let Some(v) = value {
                checksums.insert(name.to_string(), v.to_string());
            }
        }
        Ok(ObjectInfo {
            size: resp.content_length().unwrap_or(0).max(0) as u64,
            modified: to_system_time(resp.last_modified()),
            etag: unquote(resp.e_tag()),
            content_type: resp.content_type().map(str::to_string),
            storage_class: resp.storage_class().map(|c| c.as_str().to_string()),
            checksums,
            metadata: resp
                .metadata()
                .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                .unwrap_or_default(),
        })
    }

    /// Deletes keys with DeleteObjects, at most 1,000 a request, reporting per-key errors.
    pub async fn delete_keys(&self, bucket: &str, keys: &[String]) -> Result<DeleteReport> {
        let mut report = DeleteReport::default();
        for batch in keys.chunks(DELETE_BATCH) {
            self.delete_batch(bucket, batch, &mut report).await?;
        }
        Ok(report)
    }

    async fn delete_batch(
        &self,
        bucket: &str,
        batch: &[String],
        report: &mut DeleteReport,
    ) -> Result<()> {
        let objects = batch
            .iter()
            .map(|k| ObjectIdentifier::builder().key(k).build())
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| StorageError::Service {
                op: "delete",
                what: format!("bucket {bucket:?}"),
                code: "ClientError".into(),
                message: e.to_string(),
            })?;
        let delete = Delete::builder()
            .set_objects(Some(objects))
            .quiet(true)
            .build()
            .map_err(|e| StorageError::Service {
                op: "delete",
                what: format!("bucket {bucket:?}"),
                code: "ClientError".into(),
                message: e.to_string(),
            })?;
        report.requests += 1;
        let mut req = self
            .client
            .delete_objects()
            .bucket(bucket)
            .delete(delete)
            .customize();
        if self.checksums == Checksums::WhenRequired {
            // DeleteObjects must carry a checksum. The SDK now sends CRC32 even "when required",
            // which the stores that need this setting reject or ignore; Content-MD5 is what
            // every S3 implementation accepts.
            req = req.mutate_request(|r| {
                let md5 = r.body().bytes().map(Md5::digest);
                if let Some(md5) = md5 {
                    let headers = r.headers_mut();
                    headers.remove("x-amz-checksum-crc32");
                    headers.remove("x-amz-sdk-checksum-algorithm");
                    headers.insert("content-md5", aws_smithy_types::base64::encode(md5));
                }
            });
        }
        let resp = req
            .send()
            .await
            .map_err(|e| errors::map(e, &self.ctx("delete", bucket, "")))?;
        let failed: Vec<(String, String)> = resp
            .errors()
            .iter()
            .map(|e| {
                let reason = format!(
                    "{}: {}",
                    e.code().unwrap_or("Error"),
                    e.message().unwrap_or("")
                );
                (e.key().unwrap_or("").to_string(), reason)
            })
            .collect();
        report.deleted += batch.len() - failed.len().min(batch.len());
        report.failed.extend(failed);
        Ok(())
    }

    /// Deletes a key and everything below `key/` (or a whole prefix, its folder marker included,
    /// when `key` ends in `/`), batch by batch as the listing proceeds. Keys that merely start
    /// with the same characters (`treehouse` beside `tree`) are left alone.
    pub async fn delete_recursive(&self, bucket: &str, key: &str) -> Result<DeleteReport> {
        let mut report = DeleteReport::default();
        let below = if key.is_empty() || key.ends_with('/') {
            key.to_string()
        } else {
            format!("{key}/")
        };
        let mut pages = std::pin::pin!(self.list(bucket.to_string(), key.to_string(), false));
        while let Some(page) = pages.next().await {
            let keys: Vec<String> = page?
                .entries
                .into_iter()
                .filter_map(|e| match e.location {
                    Location::S3 { key: k, .. } if k == key || k.starts_with(&below) => Some(k),
                    _ => None,
                })
                .collect();
            // A listing page holds at most 1,000 keys, so each page is one request.
            for batch in keys.chunks(DELETE_BATCH) {
                self.delete_batch(bucket, batch, &mut report).await?;
            }
        }
        Ok(report)
    }

    /// Creates a bucket (in the client's region).
    pub async fn create_bucket(&self, bucket: &str) -> Result<()> {
        super::names::check_bucket_name(bucket)?;
        let mut req = self.client.create_bucket().bucket(bucket);
        let region = self
            .client
            .config()
            .region()
            .map(|r| r.as_ref().to_string());
        if let Some(region) = region.filter(|r| r != "us-east-1") {
            use aws_sdk_s3::types::{BucketLocationConstraint, CreateBucketConfiguration};
            req = req.create_bucket_configuration(
                CreateBucketConfiguration::builder()
                    .location_constraint(BucketLocationConstraint::from(region.as_str()))
                    .build(),
            );
        }
        req.send()
            .await
            .map_err(|e| errors::map(e, &self.ctx("create bucket", bucket, "")))?;
        Ok(())
    }

    /// Creates a "folder": a zero-byte object whose key ends in `/`.
    pub async fn create_folder(&self, bucket: &str, key: &str) -> Result<()> {
        let key = if key.ends_with('/') {
            key.to_string()
        } else {
            format!("{key}/")
        };
        check_key(&key)?;
        self.client
            .put_object()
            .bucket(bucket)
            .key(&key)
            .body(Vec::new().into())
            .send()
            .await
            .map_err(|e| errors::map(e, &self.ctx("create folder", bucket, &key)))?;
        Ok(())
    }

    /// Multipart uploads in progress below `prefix`, as (key, upload id).
    pub async fn list_multipart_uploads(
        &self,
        bucket: &str,
        prefix: &str,
    ) -> Result<Vec<(String, String)>> {
        let resp = self
            .client
            .list_multipart_uploads()
            .bucket(bucket)
            .prefix(prefix)
            .send()
            .await
            .map_err(|e| errors::map(e, &self.ctx("list multipart uploads", bucket, prefix)))?;
        Ok(resp
            .uploads()
            .iter()
            .map(|u| {
                (
                    u.key().unwrap_or_default().to_string(),
                    u.upload_id().unwrap_or_default().to_string(),
                )
            })
            .collect())
    }

    /// A presigned GET URL valid for `expires`.
    pub async fn presign_get(&self, bucket: &str, key: &str, expires: Duration) -> Result<String> {
        let config =
            PresigningConfig::expires_in(expires).map_err(|e| StorageError::InvalidName {
                name: format!("{expires:?}"),
                why: e.to_string(),
            })?;
        let req = self
            .client
            .get_object()
            .bucket(bucket)
            .key(key)
            .presigned(config)
            .await
            .map_err(|e| errors::map(e, &self.ctx("presign", bucket, key)))?;
        Ok(req.uri().to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_url_encoded_listing_keys() {
        assert_eq!(url_decode("a+b%2Bc%0D%0A%25").unwrap(), "a b+c\r\n%");
        assert!(url_decode("%FF").is_err());
    }

    #[test]
    fn copy_source_encodes_everything_but_slashes() {
        assert_eq!(copy_source("b", "a b/+?#%ü"), "b/a%20b/%2B%3F%23%25%C3%BC");
    }

    #[test]
    fn refuses_keys_over_1024_bytes() {
        assert!(check_key(&"k".repeat(1024)).is_ok());
        assert!(check_key(&"k".repeat(1025)).is_err());
    }
}
