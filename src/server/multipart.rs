//! Multipart uploads: CreateMultipartUpload, UploadPart, UploadPartCopy, CompleteMultipartUpload
//! and AbortMultipartUpload (the listings are in `multipart_list`). A part is a blob (or extents
//! of a copy source); completing an upload joins the parts' extents, copying no bytes.

use std::sync::Arc;
use std::time::SystemTime;

use md5::{Digest, Md5};
use s3s::dto::*;
use s3s::{S3ErrorCode, S3Request, S3Response, S3Result, s3_error};

use super::body::{self, Hashing, whole};
use super::checksum::{Algo, Sum, Wanted};
use super::conditions::{check_conditions, check_write_conditions};
use super::store::{
    self, Attrs, MAX_OBJECT, ObjectMeta, PartMeta, Store, Upload, check_key, etag, lock, read,
    write,
};

/// S3's smallest part, but for the last.
const MIN_PART: u64 = 5 * 1024 * 1024;
const MAX_PART_NUMBER: i32 = 10_000;

fn no_upload() -> s3s::S3Error {
    s3_error!(
        NoSuchUpload,
        "The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed."
    )
}

fn invalid_part() -> s3s::S3Error {
    s3_error!(
        InvalidPart,
        "One or more of the specified parts could not be found. The part may not have been uploaded, or the specified entity tag may not match the part's entity tag."
    )
}

fn check_part_number(n: i32) -> S3Result<()> {
    if !(1..=MAX_PART_NUMBER).contains(&n) {
        return Err(s3_error!(
            InvalidArgument,
            "Part number must be an integer between 1 and 10000, inclusive"
        ));
    }
    Ok(())
}

/// The checksum fields of a request or a completed part, as one DTO.
macro_rules! claimed {
    ($x:expr) => {
        Checksum {
            checksum_crc32: $x.checksum_crc32.clone(),
            checksum_crc32c: $x.checksum_crc32c.clone(),
            checksum_crc64nvme: $x.checksum_crc64nvme.clone(),
            checksum_sha1: $x.checksum_sha1.clone(),
            checksum_sha256: $x.checksum_sha256.clone(),
            checksum_type: None,
        }
    };
}

impl Store {
    pub(crate) fn upload(
        &self,
        bucket: &store::Bucket,
        id: &str,
        key: &str,
    ) -> S3Result<Arc<Upload>> {
        lock(&bucket.uploads)
            .get(id)
            .filter(|u| u.key == key)
            .cloned()
            .ok_or_else(no_upload)
    }

    /// Adds (or replaces) a part, unless the upload was completed or aborted meanwhile.
    fn add_part(
        &self,
        bucket: &store::Bucket,
        id: &str,
        upload: &Arc<Upload>,
        number: i32,
        part: PartMeta,
    ) -> S3Result<()> {
        let uploads = lock(&bucket.uploads);
        match uploads.get(id) {
            Some(u) if Arc::ptr_eq(u, upload) => {
                let old = lock(&u.parts).insert(number, Arc::new(part));
                drop(uploads);
                drop(old);
                Ok(())
            }
            _ => Err(no_upload()),
        }
    }

    pub(crate) async fn create_multipart_upload(
        &self,
        req: S3Request<CreateMultipartUploadInput>,
    ) -> S3Result<S3Response<CreateMultipartUploadOutput>> {
        let i = req.input;
        let bucket = self.bucket(&i.bucket)?;
        check_key(&i.key)?;
        let algo = i.checksum_algorithm.as_ref().map(Algo::parse).transpose()?;
        let full = i
            .checksum_type
            .as_ref()
            .is_some_and(|t| t.as_str().eq_ignore_ascii_case(ChecksumType::FULL_OBJECT));
        let id = self.upload_id();
        let upload = Upload {
            key: i.key.clone(),
            initiated: SystemTime::now(),
            attrs: Attrs {
                content_type: i.content_type,
                content_encoding: i.content_encoding,
                content_disposition: i.content_disposition,
                content_language: i.content_language,
                cache_control: i.cache_control,
                metadata: i.metadata,
                storage_class: i.storage_class.map(|c| c.as_str().to_string()),
            },
            algo,
            composite: !full && algo != Some(Algo::Crc64Nvme),
            parts: Default::default(),
        };
        let checksum_type = algo.map(|_| {
            ChecksumType::from_static(if upload.composite {
                ChecksumType::COMPOSITE
            } else {
                ChecksumType::FULL_OBJECT
            })
        });
        lock(&bucket.uploads).insert(id.clone(), Arc::new(upload));
        Ok(S3Response::new(CreateMultipartUploadOutput {
            bucket: Some(i.bucket),
            key: Some(i.key),
            upload_id: Some(id),
            checksum_algorithm: i.checksum_algorithm,
            checksum_type,
            ..Default::default()
        }))
    }

    pub(crate) async fn upload_part(
        &self,
        req: S3Request<UploadPartInput>,
    ) -> S3Result<S3Response<UploadPartOutput>> {
        let trailers = req.trailing_headers;
        let i = req.input;
        check_part_number(i.part_number)?;
        let bucket = self.bucket(&i.bucket)?;
        let upload = self.upload(&bucket, &i.upload_id, &i.key)?;
        if i.content_length.is_some_and(|l| l as u64 > MAX_OBJECT) {
            return Err(s3_error!(
                EntityTooLarge,
                "Your proposed upload exceeds the maximum allowed size"
            ));
        }
        let wanted = Wanted::new(i.checksum_algorithm.as_ref(), &claimed!(i), upload.algo)?;
        let body = i.body.ok_or_else(|| s3_error!(IncompleteBody))?;
        let mut h = Hashing::new(wanted.algo);
        let blob = body::write_blob(self.blob_path(), body, &mut h, MAX_OBJECT).await?;
        let size = h.len;
        if i.content_length.is_some_and(|l| l as u64 != size) {
            return Err(s3_error!(
                IncompleteBody,
                "You did not provide the number of bytes specified by the Content-Length HTTP header."
            ));
        }
        let (md5, sum) = h.finish();
        body::check_content_md5(i.content_md5.as_deref(), &md5)?;
        let checksum = wanted.verify(sum, trailers.as_ref())?;
        let part = PartMeta {
            data: whole(blob, size),
            size,
            md5,
            checksum: checksum.clone(),
            modified: SystemTime::now(),
        };
        self.add_part(&bucket, &i.upload_id, &upload, i.part_number, part)?;
        let sum = checksum.map(|s| s.to_dto()).unwrap_or_default();
        Ok(S3Response::new(UploadPartOutput {
            e_tag: Some(etag(&hex::encode(md5))),
            checksum_crc32: sum.checksum_crc32,
            checksum_crc32c: sum.checksum_crc32c,
            checksum_crc64nvme: sum.checksum_crc64nvme,
            checksum_sha1: sum.checksum_sha1,
            checksum_sha256: sum.checksum_sha256,
            ..Default::default()
        }))
    }

    pub(crate) async fn upload_part_copy(
        &self,
        req: S3Request<UploadPartCopyInput>,
    ) -> S3Result<S3Response<UploadPartCopyOutput>> {
        let i = req.input;
        check_part_number(i.part_number)?;
        let bucket = self.bucket(&i.bucket)?;
        let upload = self.upload(&bucket, &i.upload_id, &i.key)?;
        let src = self.copy_source(&i.copy_source)?;
        check_conditions(
            &src,
            i.copy_source_if_match.as_ref(),
            i.copy_source_if_none_match.as_ref(),
            i.copy_source_if_modified_since.as_ref(),
            i.copy_source_if_unmodified_since.as_ref(),
            S3ErrorCode::PreconditionFailed,
        )?;
        let range = match &i.copy_source_range {
            None => 0..src.size,
            Some(r) => copy_range(r, src.size)?,
        };
        if range.end - range.start > MAX_OBJECT {
            return Err(s3_error!(
                InvalidRequest,
                "The specified copy range is larger than the maximum part size"
            ));
        }
        let data = body::slice(&src.data, range.clone());
        let (md5, checksum) = body::hash_extents(data.clone(), upload.algo)
            .await?
            .finish();
        let modified = SystemTime::now();
        let part = PartMeta {
            data,
            size: range.end - range.start,
            md5,
            checksum: checksum.clone(),
            modified,
        };
        self.add_part(&bucket, &i.upload_id, &upload, i.part_number, part)?;
        let sum = checksum.map(|s| s.to_dto()).unwrap_or_default();
        Ok(S3Response::new(UploadPartCopyOutput {
            copy_part_result: Some(CopyPartResult {
                e_tag: Some(etag(&hex::encode(md5))),
                last_modified: Some(modified.into()),
                checksum_crc32: sum.checksum_crc32,
                checksum_crc32c: sum.checksum_crc32c,
                checksum_crc64nvme: sum.checksum_crc64nvme,
                checksum_sha1: sum.checksum_sha1,
                checksum_sha256: sum.checksum_sha256,
            }),
            ..Default::default()
        }))
    }

    pub(crate) async fn complete_multipart_upload(
        &self,
        req: S3Request<CompleteMultipartUploadInput>,
    ) -> S3Result<S3Response<CompleteMultipartUploadOutput>> {
        let i = req.input;
        let bucket = self.bucket(&i.bucket)?;
        let chosen = i
            .multipart_upload
            .and_then(|m| m.parts)
            .filter(|p| !p.is_empty())
            .ok_or_else(|| {
                s3_error!(
                    MalformedXML,
                    "The XML you provided was not well-formed or did not validate against our published schema"
                )
            })?;
        let conditions = (i.if_match, i.if_none_match);
        check_write_conditions(read(&bucket.objects).get(&i.key), &conditions)?;
        let mut uploads = lock(&bucket.uploads);
        let upload = uploads
            .get(&i.upload_id)
            .filter(|u| u.key == i.key)
            .cloned()
            .ok_or_else(no_upload)?;
        let stored = lock(&upload.parts).clone();
        let numbers: Vec<i32> = chosen
            .iter()
            .map(|c| c.part_number.ok_or_else(invalid_part))
            .collect::<S3Result<_>>()?;
        if numbers.windows(2).any(|w| w[0] >= w[1]) {
            return Err(s3_error!(
                InvalidPartOrder,
                "The list of parts was not in ascending order. Parts must be ordered by part number."
            ));
        }
        let mut parts: Vec<Arc<PartMeta>> = Vec::with_capacity(chosen.len());
        for (c, n) in chosen.iter().zip(&numbers) {
            let p = stored.get(n).ok_or_else(invalid_part)?;
            let tag_ok = c
                .e_tag
                .as_ref()
                .is_some_and(|e| e.value().trim_matches('"') == hex::encode(p.md5));
            let claimed = claimed!(c);
            let sum_ok = match &p.checksum {
                Some(s) => s.algo_field(&claimed).is_none_or(|v| *v == s.value),
                None => true,
            };
            if !tag_ok || !sum_ok {
                return Err(invalid_part());
            }
            parts.push(p.clone());
        }
        if parts[..parts.len() - 1].iter().any(|p| p.size < MIN_PART) {
            return Err(s3_error!(
                EntityTooSmall,
                "Your proposed upload is smaller than the minimum allowed object size."
            ));
        }
        let size: u64 = parts.iter().map(|p| p.size).sum();
        if i.mpu_object_size.is_some_and(|s| s as u64 != size) {
            return Err(s3_error!(
                InvalidRequest,
                "The provided 'x-amz-mp-object-size' header value does not match what was computed."
            ));
        }
        let mut md5s = Md5::new();
        for p in &parts {
            md5s.update(p.md5);
        }
        let checksum = upload.algo.filter(|_| upload.composite).and_then(|a| {
            let values: Option<Vec<&str>> = parts
                .iter()
                .map(|p| {
                    p.checksum
                        .as_ref()
                        .filter(|s| s.algo == a)
                        .map(|s| s.value.as_str())
                })
                .collect();
            Sum::composite(a, &values?)
        });
        let meta = ObjectMeta {
            data: parts.iter().flat_map(|p| p.data.iter().cloned()).collect(),
            size,
            etag: format!("{}-{}", hex::encode(md5s.finalize()), parts.len()),
            modified: SystemTime::now(),
            attrs: upload.attrs.clone(),
            checksum: checksum.clone(),
            parts: parts.iter().map(|p| p.size).collect(),
        };
        let out_etag = etag(&meta.etag);
        let done = uploads.remove(&i.upload_id);
        drop(uploads);
        let old = write(&bucket.objects).insert(i.key.clone(), Arc::new(meta));
        drop((old, done, stored, upload));
        let sum = checksum.map(|s| s.to_dto()).unwrap_or_default();
        Ok(S3Response::new(CompleteMultipartUploadOutput {
            bucket: Some(i.bucket),
            key: Some(i.key),
            e_tag: Some(out_etag),
            checksum_crc32: sum.checksum_crc32,
            checksum_crc32c: sum.checksum_crc32c,
            checksum_crc64nvme: sum.checksum_crc64nvme,
            checksum_sha1: sum.checksum_sha1,
            checksum_sha256: sum.checksum_sha256,
            checksum_type: sum.checksum_type,
            ..Default::default()
        }))
    }

    pub(crate) async fn abort_multipart_upload(
        &self,
        req: S3Request<AbortMultipartUploadInput>,
    ) -> S3Result<S3Response<AbortMultipartUploadOutput>> {
        let i = req.input;
        let bucket = self.bucket(&i.bucket)?;
        let mut uploads = lock(&bucket.uploads);
        if uploads.get(&i.upload_id).is_none_or(|u| u.key != i.key) {
            return Err(no_upload());
        }
        let gone = uploads.remove(&i.upload_id);
        drop(uploads);
        drop(gone);
        Ok(S3Response::new(AbortMultipartUploadOutput::default()))
    }
}

/// `bytes=first-last` of a copy source of `size` bytes.
fn copy_range(spec: &str, size: u64) -> S3Result<std::ops::Range<u64>> {
    let bad = || {
        s3_error!(
            InvalidArgument,
            "The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy"
        )
    };
    let (a, b) = spec
        .strip_prefix("bytes=")
        .and_then(|r| r.split_once('-'))
        .ok_or_else(bad)?;
    let (a, b): (u64, u64) = (a.parse().map_err(|_| bad())?, b.parse().map_err(|_| bad())?);
    if a > b || b >= size {
        return Err(s3_error!(
            InvalidRange,
            "Range specified is not valid for source object of size: {size}"
        ));
    }
    Ok(a..b + 1)
}
