//! The S3 additional checksums (CRC32, CRC32C, CRC64NVME, SHA1, SHA256): which one a write asks
//! for and claims (header or trailer), verifying it, and the composite checksum of multipart
//! objects.

use s3s::checksum::ChecksumHasher;
use s3s::crypto::Checksum as _;
use s3s::dto::{self, ChecksumType};
use s3s::{S3Result, s3_error};

/// An S3 additional checksum algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Algo {
    Crc32,
    Crc32c,
    Crc64Nvme,
    Sha1,
    Sha256,
}

impl Algo {
    const ALL: [Algo; 5] = [
        Algo::Crc32,
        Algo::Crc32c,
        Algo::Crc64Nvme,
        Algo::Sha1,
        Algo::Sha256,
    ];

    pub(crate) fn parse(name: &dto::ChecksumAlgorithm) -> S3Result<Algo> {
        Algo::ALL
            .into_iter()
            .find(|a| a.name().eq_ignore_ascii_case(name.as_str()))
            .ok_or_else(|| s3_error!(InvalidArgument, "unknown checksum algorithm {name:?}"))
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            Algo::Crc32 => "CRC32",
            Algo::Crc32c => "CRC32C",
            Algo::Crc64Nvme => "CRC64NVME",
            Algo::Sha1 => "SHA1",
            Algo::Sha256 => "SHA256",
        }
    }

    /// The request header (or trailer) that carries a value.
    fn header(self) -> String {
        format!("x-amz-checksum-{}", self.name().to_ascii_lowercase())
    }

    pub(crate) fn hasher(self) -> ChecksumHasher {
        let mut h = ChecksumHasher::default();
        match self {
            Algo::Crc32 => h.crc32 = Some(s3s::crypto::Crc32::new()),
            Algo::Crc32c => h.crc32c = Some(s3s::crypto::Crc32c::new()),
            Algo::Crc64Nvme => h.crc64nvme = Some(s3s::crypto::Crc64Nvme::new()),
            Algo::Sha1 => h.sha1 = Some(s3s::crypto::Sha1::new()),
            Algo::Sha256 => h.sha256 = Some(s3s::crypto::Sha256::new()),
        }
        h
    }

    pub(crate) fn field(self, c: &dto::Checksum) -> Option<&String> {
        match self {
            Algo::Crc32 => c.checksum_crc32.as_ref(),
            Algo::Crc32c => c.checksum_crc32c.as_ref(),
            Algo::Crc64Nvme => c.checksum_crc64nvme.as_ref(),
            Algo::Sha1 => c.checksum_sha1.as_ref(),
            Algo::Sha256 => c.checksum_sha256.as_ref(),
        }
    }
}

/// A checksum kept with an object or a part: of the whole object, or composite over parts
/// (`base64-N`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Sum {
    pub algo: Algo,
    pub value: String,
    pub composite: bool,
}

impl Sum {
    /// As the DTO's checksum fields (with the checksum type).
    pub(crate) fn to_dto(&self) -> dto::Checksum {
        let mut c = dto::Checksum::default();
        let v = Some(self.value.clone());
        match self.algo {
            Algo::Crc32 => c.checksum_crc32 = v,
            Algo::Crc32c => c.checksum_crc32c = v,
            Algo::Crc64Nvme => c.checksum_crc64nvme = v,
            Algo::Sha1 => c.checksum_sha1 = v,
            Algo::Sha256 => c.checksum_sha256 = v,
        }
        c.checksum_type = Some(ChecksumType::from_static(if self.composite {
            ChecksumType::COMPOSITE
        } else {
            ChecksumType::FULL_OBJECT
        }));
        c
    }

    /// The value a DTO claims for this sum's algorithm.
    pub(crate) fn algo_field<'a>(&self, c: &'a dto::Checksum) -> Option<&'a String> {
        self.algo.field(c)
    }

    /// The composite checksum of parts: the algorithm over the concatenated binary part sums.
    pub(crate) fn composite(algo: Algo, parts: &[&str]) -> Option<Sum> {
        let mut h = algo.hasher();
        for p in parts {
            h.update(&aws_smithy_types::base64::decode(p).ok()?);
        }
        let value = algo.field(&h.finalize())?.clone();
        Some(Sum {
            algo,
            value: format!("{value}-{}", parts.len()),
            composite: true,
        })
    }
}

/// Which checksum a write asks for, and the value it claims (in a header, or later in a trailer).
pub(crate) struct Wanted {
    pub algo: Option<Algo>,
    pub claimed: Option<String>,
}

impl Wanted {
    /// From the request's `x-amz-sdk-checksum-algorithm`/`x-amz-trailer` (as s3s parsed them)
    /// and `x-amz-checksum-*` headers; `fallback` is the multipart upload's algorithm.
    pub(crate) fn new(
        declared: Option<&dto::ChecksumAlgorithm>,
        headers: &dto::Checksum,
        fallback: Option<Algo>,
    ) -> S3Result<Wanted> {
        let given = Algo::ALL.into_iter().find(|a| a.field(headers).is_some());
        let algo = match declared {
            Some(d) => Some(Algo::parse(d)?),
            None => given.or(fallback),
        };
        let claimed = algo.and_then(|a| a.field(headers).cloned());
        Ok(Wanted { algo, claimed })
    }

    /// Checks the computed sum against the claimed one (or the trailer's) and returns it.
    pub(crate) fn verify(
        self,
        computed: Option<Sum>,
        trailers: Option<&s3s::TrailingHeaders>,
    ) -> S3Result<Option<Sum>> {
        let (Some(algo), Some(sum)) = (self.algo, computed) else {
            return Ok(None);
        };
        let claimed = self.claimed.or_else(|| {
            let h = trailers?.read(|t| t.get(algo.header()).cloned())??;
            h.to_str().ok().map(str::to_string)
        });
        match claimed {
            Some(c) if c != sum.value => Err(s3_error!(
                BadDigest,
                "The {} you specified did not match the calculated checksum.",
                algo.name()
            )),
            _ => Ok(Some(sum)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::body::Hashing;

    #[test]
    fn composite_checksum_has_the_part_count() {
        let part = |d: &[u8]| {
            let mut h = Hashing::new(Some(Algo::Crc32));
            h.update(d);
            h.finish().1.unwrap().value
        };
        let (a, b) = (part(b"hello"), part(b"world"));
        let sum = Sum::composite(Algo::Crc32, &[&a, &b]).unwrap();
        assert!(sum.value.ends_with("-2") && sum.composite, "{sum:?}");
    }
}
