//! Checking bytes against an S3 ETag while they stream: the hex MD5 of the content for
//! single-part objects, and for multipart ones the MD5 of the parts' MD5s with the part count
//! (`…-N`), recomputed for each whole-MiB part size that could have made N parts.

use md5::{Digest, Md5};

use crate::storage::MIB;

/// True for a plain hex MD5.
pub fn is_md5(s: &str) -> bool {
    s.len() == 32 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The hash and part count of a multipart ETag (`<md5>-N`).
pub fn multipart(etag: &str) -> Option<(&str, u64)> {
    let (hash, n) = etag.split_once('-')?;
    let n = n.parse::<u64>().ok().filter(|&n| n > 0)?;
    is_md5(hash).then_some((hash, n))
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

/// The multipart ETag that parts with these (hex MD5) ETags make, if every one is an MD5.
pub fn of_parts<'a>(part_etags: impl IntoIterator<Item = &'a str>) -> Option<String> {
    let mut digests = Vec::new();
    let mut n = 0;
    for e in part_etags {
        digests.extend(
            hex::decode(e.trim_matches('"'))
                .ok()
                .filter(|d| d.len() == 16)?,
        );
        n += 1;
    }
    (n > 0).then(|| format!("{}-{n}", hex::encode(Md5::digest(&digests))))
}

/// One candidate part size: the running MD5 of the current part and the digests so far.
struct Parts {
    size: u64,
    filled: u64,
    current: Md5,
    digests: Vec<u8>,
}

/// Hashes a stream for its MD5 and the multipart ETags of some part sizes at once.
pub struct EtagHasher {
    whole: Md5,
    parts: Vec<Parts>,
    pub len: u64,
}

impl EtagHasher {
    pub fn new(part_sizes: &[u64]) -> Self {
        EtagHasher {
            whole: Md5::new(),
            parts: part_sizes
                .iter()
                .map(|&size| Parts {
                    size,
                    filled: 0,
                    current: Md5::new(),
                    digests: Vec::new(),
                })
                .collect(),
            len: 0,
        }
    }

    /// A hasher able to check `etag` for an object of `size` bytes; `None` when the ETag is
    /// neither an MD5 nor a multipart ETag with a plausible part size.
    pub fn for_etag(etag: &str, size: u64) -> Option<Self> {
        if is_md5(etag) {
            return Some(EtagHasher::new(&[]));
        }
        let (_, n) = multipart(etag)?;
        let candidates = candidate_part_sizes(size, n);
        (!candidates.is_empty()).then(|| EtagHasher::new(&candidates))
    }

    pub fn update(&mut self, chunk: &[u8]) {
        self.len += chunk.len() as u64;
        if self.parts.is_empty() {
            self.whole.update(chunk);
            return;
        }
        for p in &mut self.parts {
            let mut rest = chunk;
            while !rest.is_empty() {
                let take = ((p.size - p.filled) as usize).min(rest.len());
                p.current.update(&rest[..take]);
                p.filled += take as u64;
                rest = &rest[take..];
                if p.filled == p.size {
                    p.digests
                        .extend_from_slice(&std::mem::take(&mut p.current).finalize());
                    p.filled = 0;
                }
            }
        }
    }

    /// The hex MD5 (only when made without part sizes) and the multipart ETag of each size.
    pub fn finish(self) -> (String, Vec<String>) {
        let etags = self
            .parts
            .into_iter()
            .map(|mut p| {
                if p.filled > 0 {
                    p.digests.extend_from_slice(&p.current.finalize());
                }
                let n = p.digests.len() / 16;
                format!("{}-{n}", hex::encode(Md5::digest(&p.digests)))
            })
            .collect();
        (hex::encode(self.whole.finalize()), etags)
    }

    /// True when the bytes seen match `etag` (an MD5 or a multipart ETag).
    pub fn matches(self, etag: &str) -> bool {
        let (md5, etags) = self.finish();
        if is_md5(etag) {
            md5.eq_ignore_ascii_case(etag)
        } else {
            etags.iter().any(|e| e.eq_ignore_ascii_case(etag))
        }
    }
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

    #[test]
    fn recomputes_multipart_etags_from_bytes_and_from_parts() {
        let bytes: Vec<u8> = (0..(11 * MIB as usize)).map(|i| (i % 251) as u8).collect();
        let part_etags: Vec<String> = bytes
            .chunks(5 * MIB as usize)
            .map(|p| hex::encode(Md5::digest(p)))
            .collect();
        let etag = of_parts(part_etags.iter().map(String::as_str)).unwrap();
        assert!(etag.ends_with("-3"));
        let mut h = EtagHasher::for_etag(&etag, bytes.len() as u64).unwrap();
        for c in bytes.chunks(777_777) {
            h.update(c);
        }
        assert!(h.matches(&etag));
        let mut h = EtagHasher::for_etag(&etag, bytes.len() as u64).unwrap();
        h.update(&bytes[1..]);
        h.update(&[0]);
        assert!(!h.matches(&etag));
        let md5 = hex::encode(Md5::digest(&bytes));
        let mut h = EtagHasher::for_etag(&md5, 0).unwrap();
        h.update(&bytes);
        assert!(h.matches(&md5));
        assert!(EtagHasher::for_etag("not-an-etag", 5).is_none());
        assert_eq!(of_parts(["xyz"]), None);
    }
}
