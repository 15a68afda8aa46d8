//! Telling whether a local file holds the same bytes as an object, from the object's ETag: the
//! hex MD5 for single-part objects, and for multipart ones the MD5 of the parts' MD5s with the
//! part count (`…-N`), recomputed for the part sizes that could have made N parts.

use futures::StreamExt;

use crate::storage::s3::etag::{EtagHasher, multipart};
use crate::storage::{Location, Storage, StorageError};

pub use crate::storage::s3::etag::{candidate_part_sizes, is_md5};

/// Hashes a location's content with `hasher`.
async fn hash(
    storage: &Storage,
    loc: &Location,
    mut hasher: EtagHasher,
) -> Result<EtagHasher, StorageError> {
    let mut stream = storage.read(loc, None).await?;
    while let Some(chunk) = stream.next().await {
        hasher.update(&chunk?);
    }
    Ok(hasher)
}

/// True when the local file at `loc` (of `size` bytes) has the content the ETag describes; false
/// when it differs or the ETag cannot be checked (e.g. SSE-KMS or an unknown part size).
pub async fn local_matches_etag(
    storage: &Storage,
    loc: &Location,
    size: u64,
    etag: &str,
) -> Result<bool, StorageError> {
    if !is_md5(etag) && multipart(etag).is_none() {
        return Ok(false);
    }
    match EtagHasher::for_etag(etag, size) {
        Some(h) => Ok(hash(storage, loc, h).await?.matches(etag)),
        None => Ok(false),
    }
}

/// The hex MD5 of a location's content.
pub async fn md5_of(storage: &Storage, loc: &Location) -> Result<String, StorageError> {
    Ok(hash(storage, loc, EtagHasher::new(&[])).await?.finish().0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::MIB;
    use md5::{Digest, Md5};

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
