//! Telling whether a local file holds the same bytes as an object, from the object's ETag: the
//! hex MD5 for single-part objects, and for multipart ones the MD5 of the parts' MD5s with the
//! part count (`…-N`), recomputed for the part sizes that could have made N parts.

use futures::StreamExt;
use md5::{Digest, Md5};

use crate::storage::{Location, MIB, Storage, StorageError};

/// True for a plain hex MD5.
pub fn is_md5(s: &str) -> bool {
    s.len() == 32 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Whole-MiB part sizes that split `size` bytes into exactly `parts` parts (at most four, the
/// smallest first).
pub fn candidate_part_sizes(size: u64, parts: u64) -> Vec<u64> {
    if parts == 0 || size == 0 {
        return vec![];
    }
    let smallest = size.div_ceil(parts).div_ceil(MIB);
    (smallest..smallest + 4)
        .map(|m| m * MIB)
        .filter(|&p| size.div_ceil(p) == parts)
        .collect()
}

/// The MD5 of the whole content and, for each part size given, the multipart ETag.
async fn digests(
    storage: &Storage,
    loc: &Location,
    part_sizes: &[u64],
) -> Result<(String, Vec<String>), StorageError> {
    let mut whole = Md5::new();
    // Per candidate: the running MD5 of the current part, bytes in it, and the part digests.
    let mut parts: Vec<(Md5, u64, Vec<u8>, u64)> = part_sizes
        .iter()
        .map(|&p| (Md5::new(), 0, Vec::new(), p))
        .collect();
    let mut stream = storage.read(loc, None).await?;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk?;
        whole.update(&chunk);
        for (md5, filled, digests, size) in parts.iter_mut() {
            let mut rest: &[u8] = &chunk;
            while !rest.is_empty() {
                let take = ((*size - *filled) as usize).min(rest.len());
                md5.update(&rest[..take]);
                *filled += take as u64;
                rest = &rest[take..];
                if *filled == *size {
                    digests.extend_from_slice(&std::mem::take(md5).finalize());
                    *filled = 0;
                }
            }
        }
    }
    let etags = parts
        .into_iter()
        .map(|(md5, filled, mut digests, size)| {
            if filled > 0 {
                digests.extend_from_slice(&md5.finalize());
            }
            let n = digests.len() / 16;
            let _ = size;
            format!("{}-{n}", hex::encode(Md5::digest(&digests)))
        })
        .collect();
    Ok((hex::encode(whole.finalize()), etags))
}

/// True when the local file at `loc` (of `size` bytes) has the content the ETag describes; false
/// when it differs or the ETag cannot be checked (e.g. SSE-KMS or an unknown part size).
pub async fn local_matches_etag(
    storage: &Storage,
    loc: &Location,
    size: u64,
    etag: &str,
) -> Result<bool, StorageError> {
    if is_md5(etag) {
        let (md5, _) = digests(storage, loc, &[]).await?;
        return Ok(md5.eq_ignore_ascii_case(etag));
    }
    let Some((hash, n)) = etag.split_once('-') else {
        return Ok(false);
    };
    let (Ok(n), true) = (n.parse::<u64>(), is_md5(hash)) else {
        return Ok(false);
    };
    let candidates = candidate_part_sizes(size, n);
    if candidates.is_empty() {
        return Ok(false);
    }
    let (_, etags) = digests(storage, loc, &candidates).await?;
    Ok(etags.iter().any(|e| e.eq_ignore_ascii_case(etag)))
}

/// The hex MD5 of a location's content.
pub async fn md5_of(storage: &Storage, loc: &Location) -> Result<String, StorageError> {
    Ok(digests(storage, loc, &[]).await?.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn part_size_candidates_make_exactly_n_parts() {
        assert_eq!(candidate_part_sizes(40 * MIB, 5), vec![8 * MIB, 9 * MIB]);
        assert_eq!(candidate_part_sizes(20 * MIB + 1, 5), vec![5 * MIB]);
        assert!(candidate_part_sizes(0, 1).is_empty());
        for p in candidate_part_sizes(123_456_789, 12) {
            assert_eq!(123_456_789u64.div_ceil(p), 12);
        }
    }

    #[tokio::test]
    async fn recomputes_multipart_etags() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let bytes: Vec<u8> = (0..(11 * MIB as usize)).map(|i| (i % 251) as u8).collect();
        std::fs::write(&path, &bytes).unwrap();
        let mut part_md5s = Vec::new();
        for part in bytes.chunks(5 * MIB as usize) {
            part_md5s.extend_from_slice(&Md5::digest(part));
        }
        let etag = format!("{}-3", hex::encode(Md5::digest(&part_md5s)));
        let storage = Storage::new(Default::default(), Default::default());
        let loc = Location::Local(path);
        assert!(
            local_matches_etag(&storage, &loc, bytes.len() as u64, &etag)
                .await
                .unwrap()
        );
        let wrong = format!("{}-3", hex::encode(Md5::digest(b"x")));
        assert!(
            !local_matches_etag(&storage, &loc, bytes.len() as u64, &wrong)
                .await
                .unwrap()
        );
        let md5 = hex::encode(Md5::digest(&bytes));
        assert!(
            local_matches_etag(&storage, &loc, bytes.len() as u64, &md5)
                .await
                .unwrap()
        );
    }
}
