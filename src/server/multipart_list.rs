//! Listing multipart state: ListParts (one upload's parts, paged by part number) and
//! ListMultipartUploads (uploads in progress, with prefix, delimiter and key/upload-id markers).

use std::sync::Arc;

use s3s::dto::*;
use s3s::{S3Request, S3Response, S3Result};

use super::buckets::owner;
use super::checksum::Sum;
use super::listing::{Enc, max_items, url_encoding};
use super::store::{Store, Upload, etag, lock};

impl Store {
    pub(crate) async fn list_parts(
        &self,
        req: S3Request<ListPartsInput>,
    ) -> S3Result<S3Response<ListPartsOutput>> {
        let i = req.input;
        let bucket = self.bucket(&i.bucket)?;
        let upload = self.upload(&bucket, &i.upload_id, &i.key)?;
        let max = max_items(i.max_parts)?;
        let marker = i.part_number_marker.unwrap_or(0).max(0);
        let parts = lock(&upload.parts);
        let mut listed: Vec<Part> = Vec::new();
        let mut truncated = false;
        for (n, p) in parts.range(marker + 1..) {
            if listed.len() == max {
                truncated = true;
                break;
            }
            let sum = p.checksum.as_ref().map(Sum::to_dto).unwrap_or_default();
            listed.push(Part {
                part_number: Some(*n),
                e_tag: Some(etag(&hex::encode(p.md5))),
                size: Some(p.size as i64),
                last_modified: Some(p.modified.into()),
                checksum_crc32: sum.checksum_crc32,
                checksum_crc32c: sum.checksum_crc32c,
                checksum_crc64nvme: sum.checksum_crc64nvme,
                checksum_sha1: sum.checksum_sha1,
                checksum_sha256: sum.checksum_sha256,
            });
        }
        drop(parts);
        let next = listed
            .last()
            .and_then(|p| p.part_number)
            .filter(|_| truncated);
        Ok(S3Response::new(ListPartsOutput {
            bucket: Some(i.bucket),
            key: Some(i.key),
            upload_id: Some(i.upload_id),
            part_number_marker: i.part_number_marker,
            next_part_number_marker: next,
            max_parts: Some(max as i32),
            is_truncated: Some(truncated),
            parts: Some(listed),
            owner: Some(owner()),
            initiator: Some(Initiator {
                display_name: owner().display_name,
                id: owner().id,
            }),
            storage_class: Some(StorageClass::from_static(StorageClass::STANDARD)),
            checksum_algorithm: upload.algo.map(|a| a.name().to_string().into()),
            ..Default::default()
        }))
    }

    pub(crate) async fn list_multipart_uploads(
        &self,
        req: S3Request<ListMultipartUploadsInput>,
    ) -> S3Result<S3Response<ListMultipartUploadsOutput>> {
        let i = req.input;
        let bucket = self.bucket(&i.bucket)?;
        let enc = Enc(url_encoding(i.encoding_type.as_ref())?);
        let max = max_items(i.max_uploads)?;
        let prefix = i.prefix.clone().unwrap_or_default();
        let delimiter = i.delimiter.clone().filter(|d| !d.is_empty());
        let mut all: Vec<(String, Arc<Upload>)> = lock(&bucket.uploads)
            .iter()
            .filter(|(_, u)| u.key.starts_with(&prefix))
            .map(|(id, u)| (id.clone(), u.clone()))
            .collect();
        all.sort_by(|(ia, a), (ib, b)| (&a.key, a.initiated, ia).cmp(&(&b.key, b.initiated, ib)));
        // Skip up to and including the markers.
        if let Some(km) = &i.key_marker {
            let skip = match &i.upload_id_marker {
                Some(idm) => all
                    .iter()
                    .position(|(id, u)| u.key == *km && id == idm)
                    .map_or_else(
                        || all.iter().take_while(|(_, u)| u.key <= *km).count(),
                        |p| p + 1,
                    ),
                None => all.iter().take_while(|(_, u)| u.key <= *km).count(),
            };
            all.drain(..skip);
        }
        let (mut uploads, mut prefixes) = (Vec::new(), Vec::<String>::new());
        let (mut truncated, mut next) = (false, None::<(String, Option<String>)>);
        for (id, u) in &all {
            let cp = delimiter.as_deref().and_then(|d| {
                let rest = &u.key[prefix.len()..];
                rest.find(d)
                    .map(|at| u.key[..prefix.len() + at + d.len()].to_string())
            });
            if let Some(cp) = &cp
                && (prefixes.last() == Some(cp) || i.key_marker.as_ref() == Some(cp))
            {
                continue;
            }
            if uploads.len() + prefixes.len() == max {
                truncated = true;
                break;
            }
            match cp {
                Some(cp) => {
                    next = Some((cp.clone(), None));
                    prefixes.push(cp);
                }
                None => {
                    next = Some((u.key.clone(), Some(id.clone())));
                    uploads.push(MultipartUpload {
                        key: Some(enc.s(&u.key)),
                        upload_id: Some(id.clone()),
                        initiated: Some(u.initiated.into()),
                        storage_class: Some(StorageClass::from_static(StorageClass::STANDARD)),
                        owner: Some(owner()),
                        initiator: Some(Initiator {
                            display_name: owner().display_name,
                            id: owner().id,
                        }),
                        checksum_algorithm: u.algo.map(|a| a.name().to_string().into()),
                        ..Default::default()
                    });
                }
            }
        }
        let next = next.filter(|_| truncated);
        Ok(S3Response::new(ListMultipartUploadsOutput {
            bucket: Some(i.bucket),
            prefix: Some(enc.s(&prefix)),
            delimiter: enc.opt(delimiter.as_deref()),
            key_marker: enc.opt(i.key_marker.as_deref()),
            upload_id_marker: i.upload_id_marker,
            next_key_marker: next.as_ref().map(|(k, _)| enc.s(k)),
            next_upload_id_marker: next.and_then(|(_, id)| id),
            max_uploads: Some(max as i32),
            is_truncated: Some(truncated),
            encoding_type: i.encoding_type,
            uploads: Some(uploads),
            common_prefixes: (!prefixes.is_empty()).then(|| {
                prefixes
                    .iter()
                    .map(|p| CommonPrefix {
                        prefix: Some(enc.s(p)),
                    })
                    .collect()
            }),
            ..Default::default()
        }))
    }
}
