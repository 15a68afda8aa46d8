//! Whole objects: HeadObject and GetObject (ranges, part numbers, conditions), PutObject,
//! DeleteObject, DeleteObjects and CopyObject.

use std::sync::Arc;
use std::time::SystemTime;

use s3s::dto::*;
use s3s::{S3ErrorCode, S3Request, S3Response, S3Result, s3_error};

use super::body::{self, Hashing, whole};
use super::checksum::{Algo, Wanted};
use super::conditions::{check_conditions, check_write_conditions, select};
use super::store::{self, Attrs, MAX_OBJECT, ObjectMeta, Store, check_key, etag, read, write};

/// Most keys one DeleteObjects request may name.
const MAX_DELETE: usize = 1000;

/// The headers HeadObject and GetObject answer alike (their outputs are distinct s3s types,
/// so one macro fills both instead of two copies of the field list).
macro_rules! object_headers {
    ($ty:ident { $($field:ident: $value:expr),* $(,)? }, $meta:expr, $sel:expr, $sum:expr) => {{
        let (meta, sel, sum) = ($meta, $sel, $sum);
        let a = meta.attrs.clone();
        $ty {
            $($field: $value,)*
            accept_ranges: Some("bytes".into()),
            content_length: Some(len(&sel.range)),
            content_range: sel.content_range,
            content_type: a.content_type,
            content_encoding: a.content_encoding,
            content_disposition: a.content_disposition,
            content_language: a.content_language,
            cache_control: a.cache_control,
            metadata: a.metadata,
            storage_class: a.storage_class.map(StorageClass::from),
            e_tag: Some(etag(&meta.etag)),
            last_modified: Some(meta.modified.into()),
            parts_count: sel.parts_count,
            checksum_crc32: sum.checksum_crc32,
            checksum_crc32c: sum.checksum_crc32c,
            checksum_crc64nvme: sum.checksum_crc64nvme,
            checksum_sha1: sum.checksum_sha1,
            checksum_sha256: sum.checksum_sha256,
            checksum_type: sum.checksum_type,
            ..Default::default()
        }
    }};
}

/// What a HEAD or GET asked for: conditions, a range or part, the checksum mode.
struct ReadRequest<'a> {
    if_match: Option<&'a ETagCondition>,
    if_none_match: Option<&'a ETagCondition>,
    if_modified_since: Option<&'a Timestamp>,
    if_unmodified_since: Option<&'a Timestamp>,
    range: Option<&'a Range>,
    part_number: Option<i32>,
    checksum_mode: Option<&'a ChecksumMode>,
}

/// A [`ReadRequest`] from a HeadObject or GetObject input (same field names).
macro_rules! read_request {
    ($i:expr) => {
        ReadRequest {
            if_match: $i.if_match.as_ref(),
            if_none_match: $i.if_none_match.as_ref(),
            if_modified_since: $i.if_modified_since.as_ref(),
            if_unmodified_since: $i.if_unmodified_since.as_ref(),
            range: $i.range.as_ref(),
            part_number: $i.part_number,
            checksum_mode: $i.checksum_mode.as_ref(),
        }
    };
}

impl Store {
    /// The object, the bytes selected, and its checksum when the whole object is read (a
    /// checksum describes the whole object; a range or part goes without).
    fn select_read(
        &self,
        meta: &ObjectMeta,
        r: ReadRequest<'_>,
    ) -> S3Result<(super::conditions::Selection, Checksum)> {
        check_conditions(
            meta,
            r.if_match,
            r.if_none_match,
            r.if_modified_since,
            r.if_unmodified_since,
            S3ErrorCode::NotModified,
        )?;
        let sel = select(meta, r.range, r.part_number)?;
        let sum = if sel.whole {
            checksum_of(meta, r.checksum_mode)
        } else {
            Checksum::default()
        };
        Ok((sel, sum))
    }

    pub(crate) async fn head_object(
        &self,
        req: S3Request<HeadObjectInput>,
    ) -> S3Result<S3Response<HeadObjectOutput>> {
        let i = req.input;
        let meta = self.object(&i.bucket, &i.key)?;
        let (sel, sum) = self.select_read(&meta, read_request!(i))?;
        Ok(S3Response::new(object_headers!(
            HeadObjectOutput {},
            &meta,
            sel,
            sum
        )))
    }

    pub(crate) async fn get_object(
        &self,
        req: S3Request<GetObjectInput>,
    ) -> S3Result<S3Response<GetObjectOutput>> {
        let i = req.input;
        let meta = self.object(&i.bucket, &i.key)?;
        store::check_readable(&meta)?;
        let (sel, sum) = self.select_read(&meta, read_request!(i))?;
        let body = body::read_extents(body::slice(&meta.data, sel.range.clone()));
        Ok(S3Response::new(object_headers!(
            GetObjectOutput { body: Some(body) },
            &meta,
            sel,
            sum
        )))
    }

    pub(crate) async fn put_object(
        &self,
        req: S3Request<PutObjectInput>,
    ) -> S3Result<S3Response<PutObjectOutput>> {
        let trailers = req.trailing_headers;
        let i = req.input;
        let bucket = self.bucket(&i.bucket)?;
        check_key(&i.key)?;
        if i.content_length.is_some_and(|l| l as u64 > MAX_OBJECT) {
            return Err(s3_error!(
                EntityTooLarge,
                "Your proposed upload exceeds the maximum allowed size"
            ));
        }
        let claimed = Checksum {
            checksum_crc32: i.checksum_crc32,
            checksum_crc32c: i.checksum_crc32c,
            checksum_crc64nvme: i.checksum_crc64nvme,
            checksum_sha1: i.checksum_sha1,
            checksum_sha256: i.checksum_sha256,
            checksum_type: None,
        };
        let wanted = Wanted::new(i.checksum_algorithm.as_ref(), &claimed, None)?;
        let conditions = (i.if_match, i.if_none_match);
        check_write_conditions(read(&bucket.objects).get(&i.key), &conditions)?;
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
        let attrs = Attrs {
            content_type: i.content_type,
            content_encoding: i.content_encoding,
            content_disposition: i.content_disposition,
            content_language: i.content_language,
            cache_control: i.cache_control,
            metadata: i.metadata,
            storage_class: i.storage_class.map(|c| c.as_str().to_string()),
        };
        let meta = ObjectMeta {
            data: whole(blob, size),
            size,
            etag: hex::encode(md5),
            modified: SystemTime::now(),
            attrs,
            checksum: checksum.clone(),
            parts: Vec::new(),
        };
        let out_etag = etag(&meta.etag);
        let mut objects = write(&bucket.objects);
        check_write_conditions(objects.get(&i.key), &conditions)?;
        let old = objects.insert(i.key, Arc::new(meta));
        drop(objects);
        drop(old);
        let sum = checksum.map(|s| s.to_dto()).unwrap_or_default();
        Ok(S3Response::new(PutObjectOutput {
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

    pub(crate) async fn delete_object(
        &self,
        req: S3Request<DeleteObjectInput>,
    ) -> S3Result<S3Response<DeleteObjectOutput>> {
        let bucket = self.bucket(&req.input.bucket)?;
        let old = write(&bucket.objects).remove(&req.input.key);
        drop(old);
        Ok(S3Response::new(DeleteObjectOutput::default()))
    }

    pub(crate) async fn delete_objects(
        &self,
        req: S3Request<DeleteObjectsInput>,
    ) -> S3Result<S3Response<DeleteObjectsOutput>> {
        let bucket = self.bucket(&req.input.bucket)?;
        let Delete { objects, quiet } = req.input.delete;
        if objects.is_empty() || objects.len() > MAX_DELETE {
            return Err(s3_error!(
                MalformedXML,
                "The XML you provided was not well-formed or did not validate against our published schema"
            ));
        }
        let (mut deleted, mut errors, mut old) = (Vec::new(), Vec::new(), Vec::new());
        {
            let mut index = write(&bucket.objects);
            for o in objects {
                if o.key.len() > store::MAX_KEY {
                    errors.push(Error {
                        code: Some("KeyTooLongError".into()),
                        message: Some("Your key is too long".into()),
                        key: Some(o.key),
                        version_id: None,
                    });
                    continue;
                }
                old.push(index.remove(&o.key));
                deleted.push(DeletedObject {
                    key: Some(o.key),
                    ..Default::default()
                });
            }
        }
        drop(old);
        Ok(S3Response::new(DeleteObjectsOutput {
            deleted: (!quiet.unwrap_or(false)).then_some(deleted),
            errors: (!errors.is_empty()).then_some(errors),
            ..Default::default()
        }))
    }

    pub(crate) async fn copy_object(
        &self,
        req: S3Request<CopyObjectInput>,
    ) -> S3Result<S3Response<CopyObjectOutput>> {
        let i = req.input;
        let dst = self.bucket(&i.bucket)?;
        check_key(&i.key)?;
        let src = self.copy_source(&i.copy_source)?;
        check_conditions(
            &src,
            i.copy_source_if_match.as_ref(),
            i.copy_source_if_none_match.as_ref(),
            i.copy_source_if_modified_since.as_ref(),
            i.copy_source_if_unmodified_since.as_ref(),
            S3ErrorCode::PreconditionFailed,
        )?;
        if src.size > MAX_OBJECT {
            return Err(s3_error!(
                InvalidRequest,
                "The specified copy source is larger than the maximum allowable size for a copy source: {MAX_OBJECT}"
            ));
        }
        let replace = match i.metadata_directive.as_ref().map(|d| d.as_str()) {
            None | Some(MetadataDirective::COPY) => false,
            Some(MetadataDirective::REPLACE) => true,
            Some(_) => return Err(s3_error!(InvalidArgument, "Unknown metadata directive.")),
        };
        let onto_itself = matches!(&i.copy_source,
            CopySource::Bucket { bucket, key, .. } if **bucket == *i.bucket && **key == *i.key);
        if onto_itself && !replace && i.storage_class.is_none() {
            return Err(s3_error!(
                InvalidRequest,
                "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes."
            ));
        }
        let mut attrs = if replace {
            Attrs {
                content_type: i.content_type,
                content_encoding: i.content_encoding,
                content_disposition: i.content_disposition,
                content_language: i.content_language,
                cache_control: i.cache_control,
                metadata: i.metadata,
                storage_class: None,
            }
        } else {
            src.attrs.clone()
        };
        if let Some(c) = i.storage_class {
            attrs.storage_class = Some(c.as_str().to_string());
        }
        // A copy is a new single-part object: its ETag is the MD5 of its bytes, which only a
        // multipart source needs read to know; a composite checksum becomes a full one.
        let want = i.checksum_algorithm.as_ref().map(Algo::parse).transpose()?;
        let keep = src
            .checksum
            .clone()
            .filter(|s| !s.composite && want.is_none_or(|a| a == s.algo));
        let algo = match keep {
            Some(_) => None,
            None => want.or(src.checksum.as_ref().map(|s| s.algo)),
        };
        let (etag_hex, checksum) = if !src.parts.is_empty() || algo.is_some() {
            let (md5, sum) = body::hash_extents(src.data.clone(), algo).await?.finish();
            let e = if src.parts.is_empty() {
                src.etag.clone()
            } else {
                hex::encode(md5)
            };
            (e, keep.or(sum))
        } else {
            (src.etag.clone(), keep)
        };
        let modified = SystemTime::now();
        let meta = ObjectMeta {
            data: src.data.clone(),
            size: src.size,
            etag: etag_hex,
            modified,
            attrs,
            checksum: checksum.clone(),
            parts: Vec::new(),
        };
        let out_etag = etag(&meta.etag);
        let old = write(&dst.objects).insert(i.key, Arc::new(meta));
        drop(old);
        let sum = checksum.map(|s| s.to_dto()).unwrap_or_default();
        Ok(S3Response::new(CopyObjectOutput {
            copy_object_result: Some(CopyObjectResult {
                e_tag: Some(out_etag),
                last_modified: Some(modified.into()),
                checksum_crc32: sum.checksum_crc32,
                checksum_crc32c: sum.checksum_crc32c,
                checksum_crc64nvme: sum.checksum_crc64nvme,
                checksum_sha1: sum.checksum_sha1,
                checksum_sha256: sum.checksum_sha256,
                checksum_type: sum.checksum_type,
            }),
            ..Default::default()
        }))
    }
}

fn len(r: &std::ops::Range<u64>) -> i64 {
    (r.end - r.start) as i64
}

fn checksum_of(meta: &ObjectMeta, mode: Option<&ChecksumMode>) -> Checksum {
    match (&meta.checksum, mode) {
        (Some(s), Some(m)) if m.as_str().eq_ignore_ascii_case(ChecksumMode::ENABLED) => s.to_dto(),
        _ => Checksum::default(),
    }
}
