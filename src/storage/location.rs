//! Where things live: a local path, the bucket list of an endpoint, or a key/prefix in a bucket.
//!
//! Written and parsed as `/local/path` (or any relative path), `s3://bucket/prefix/` for the
//! default endpoint (the AWS credential chain), and `NAME:bucket/prefix/` for an endpoint named in
//! the config file. `s3://` alone and `NAME:` alone are the bucket lists of those endpoints.

use std::fmt;
use std::path::{Path, PathBuf};

use super::error::StorageError;

/// Which S3 endpoint (and so which credentials) a location is on.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EndpointRef {
    /// The AWS default chain: environment, profiles, `AWS_ENDPOINT_URL`, `--profile`.
    Default,
    /// An endpoint named in `config.toml`.
    Named(String),
}

impl fmt::Display for EndpointRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EndpointRef::Default => f.write_str("s3"),
            EndpointRef::Named(n) => f.write_str(n),
        }
    }
}

/// A place s3ferry can list, read from or write to.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Location {
    /// A file or directory on the local disk (the path is kept byte-exact).
    Local(PathBuf),
    /// The bucket list of an endpoint.
    Buckets(EndpointRef),
    /// A key or prefix in a bucket; an empty key is the bucket's root.
    S3 {
        endpoint: EndpointRef,
        bucket: String,
        key: String,
    },
}

fn is_endpoint_name(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
}

fn malformed(input: &str, why: &str) -> StorageError {
    StorageError::InvalidLocation {
        input: input.to_string(),
        why: why.to_string(),
    }
}

impl Location {
    /// Parses `s3://bucket/key`, `NAME:bucket/key`, or a local path.
    pub fn parse(input: &str) -> Result<Location, StorageError> {
        if input.is_empty() {
            return Err(malformed(input, "a location cannot be empty"));
        }
        if input.chars().any(|c| c == '\0') {
            return Err(malformed(input, "it contains a NUL character"));
        }
        if let Some(rest) = input.strip_prefix("s3://") {
            return Self::parse_remote(input, EndpointRef::Default, rest);
        }
        if input.starts_with("s3:") || input.starts_with("S3://") {
            return Err(malformed(
                input,
                "S3 locations are written s3://bucket/prefix",
            ));
        }
        if let Some((name, rest)) = input.split_once(':') {
            // A leading `/` or `.` means a local path that happens to contain a colon.
            if !name.starts_with(['/', '.', '~']) && !name.contains('/') {
                if !is_endpoint_name(name) {
                    return Err(malformed(
                        input,
                        "an endpoint name may hold only letters, digits, '-', '_' and '.'",
                    ));
                }
                return Self::parse_remote(input, EndpointRef::Named(name.to_string()), rest);
            }
        }
        Ok(Location::Local(PathBuf::from(input)))
    }

    fn parse_remote(
        input: &str,
        endpoint: EndpointRef,
        rest: &str,
    ) -> Result<Location, StorageError> {
        if rest.is_empty() {
            return Ok(Location::Buckets(endpoint));
        }
        let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(malformed(input, "the bucket name is missing"));
        }
        if bucket.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(malformed(
                input,
                "a bucket name cannot hold spaces or control characters",
            ));
        }
        Ok(Location::S3 {
            endpoint,
            bucket: bucket.to_string(),
            key: key.to_string(),
        })
    }

    /// A local location.
    pub fn local(path: impl Into<PathBuf>) -> Location {
        Location::Local(path.into())
    }

    /// An S3 location on the given endpoint.
    pub fn s3(endpoint: EndpointRef, bucket: &str, key: &str) -> Location {
        Location::S3 {
            endpoint,
            bucket: bucket.to_string(),
            key: key.to_string(),
        }
    }

    /// The endpoint of an S3 location or bucket list; `None` for local paths.
    pub fn endpoint(&self) -> Option<&EndpointRef> {
        match self {
            Location::Local(_) => None,
            Location::Buckets(e) | Location::S3 { endpoint: e, .. } => Some(e),
        }
    }

    /// True when this names a directory-like place: a bucket list, a bucket root, a prefix
    /// ending in `/`. Local paths cannot tell without the disk and answer false.
    pub fn is_container(&self) -> bool {
        match self {
            Location::Local(_) => false,
            Location::Buckets(_) => true,
            Location::S3 { key, .. } => key.is_empty() || key.ends_with('/'),
        }
    }

    /// The location of `rel` below this one: a path join locally, a key concatenation on S3
    /// (adding the `/` separator when this prefix lacks it).
    pub fn join(&self, rel: &str) -> Location {
        match self {
            Location::Local(p) => Location::Local(p.join(rel)),
            Location::Buckets(e) => {
                let (bucket, key) = rel.split_once('/').unwrap_or((rel, ""));
                Location::s3(e.clone(), bucket, key)
            }
            Location::S3 {
                endpoint,
                bucket,
                key,
            } => {
                let sep = if key.is_empty() || key.ends_with('/') {
                    ""
                } else {
                    "/"
                };
                Location::s3(endpoint.clone(), bucket, &format!("{key}{sep}{rel}"))
            }
        }
    }

    /// The containing location: the parent directory, the enclosing prefix, the bucket list.
    pub fn parent(&self) -> Option<Location> {
        match self {
            Location::Local(p) => p.parent().map(Path::to_path_buf).map(Location::Local),
            Location::Buckets(_) => None,
            Location::S3 {
                endpoint,
                bucket,
                key,
            } => {
                if key.is_empty() {
                    return Some(Location::Buckets(endpoint.clone()));
                }
                let trimmed = key.strip_suffix('/').unwrap_or(key);
                let parent = match trimmed.rfind('/') {
                    Some(i) => &trimmed[..=i],
                    None => "",
                };
                Some(Location::s3(endpoint.clone(), bucket, parent))
            }
        }
    }

    /// The last name of the path or key, without a trailing `/`.
    pub fn file_name(&self) -> Option<String> {
        match self {
            Location::Local(p) => p.file_name().map(|n| n.to_string_lossy().into_owned()),
            Location::Buckets(_) => None,
            Location::S3 { bucket, key, .. } => {
                let trimmed = key.strip_suffix('/').unwrap_or(key);
                if trimmed.is_empty() {
                    return Some(bucket.clone());
                }
                Some(trimmed.rsplit('/').next().unwrap_or(trimmed).to_string())
            }
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Local(p) => write!(f, "{}", p.display()),
            Location::Buckets(EndpointRef::Default) => f.write_str("s3://"),
            Location::Buckets(EndpointRef::Named(n)) => write!(f, "{n}:"),
            Location::S3 {
                endpoint: EndpointRef::Default,
                bucket,
                key,
            } => write!(f, "s3://{bucket}/{key}"),
            Location::S3 {
                endpoint: EndpointRef::Named(n),
                bucket,
                key,
            } => write!(f, "{n}:{bucket}/{key}"),
        }
    }
}

impl std::str::FromStr for Location {
    type Err = StorageError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Location::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn named(n: &str) -> EndpointRef {
        EndpointRef::Named(n.into())
    }

    #[test]
    fn parses_every_form() {
        assert_eq!(
            Location::parse("/tmp/x").unwrap(),
            Location::local("/tmp/x")
        );
        assert_eq!(
            Location::parse("rel/dir").unwrap(),
            Location::local("rel/dir")
        );
        assert_eq!(Location::parse("./a:b").unwrap(), Location::local("./a:b"));
        assert_eq!(
            Location::parse("s3://").unwrap(),
            Location::Buckets(EndpointRef::Default)
        );
        assert_eq!(
            Location::parse("s3://b").unwrap(),
            Location::s3(EndpointRef::Default, "b", "")
        );
        assert_eq!(
            Location::parse("s3://b/p/q/").unwrap(),
            Location::s3(EndpointRef::Default, "b", "p/q/")
        );
        assert_eq!(
            Location::parse("wasabi:").unwrap(),
            Location::Buckets(named("wasabi"))
        );
        assert_eq!(
            Location::parse("cloud-a:photos/2024/a b.jpg").unwrap(),
            Location::s3(named("cloud-a"), "photos", "2024/a b.jpg")
        );
    }

    #[test]
    fn round_trips_through_display() {
        for s in [
            "/tmp/x",
            "s3://",
            "s3://bucket/",
            "s3://bucket/a/b/",
            "s3://bucket/a//b",
            "r2:",
            "r2:bucket/k",
            "my_end.point:b/ü ß/+%",
        ] {
            let loc = Location::parse(s).unwrap();
            let shown = loc.to_string();
            assert_eq!(Location::parse(&shown).unwrap(), loc, "{s} -> {shown}");
        }
        // A bare bucket displays with its root slash and parses back to the same place.
        let b = Location::parse("s3://b").unwrap();
        assert_eq!(b.to_string(), "s3://b/");
        assert_eq!(Location::parse("s3://b/").unwrap(), b);
    }

    #[test]
    fn rejects_malformed_input_quoting_it() {
        for bad in [
            "",
            "s3:/b",
            "S3://b",
            "s3:///key",
            "bad name:b/",
            "s3://a b/k",
            "x\0y",
        ] {
            let err = Location::parse(bad).unwrap_err().to_string();
            assert!(err.contains(&format!("{bad:?}")), "{err}");
        }
    }

    #[test]
    fn join_parent_and_name() {
        let root = Location::parse("s3://b/").unwrap();
        let file = root.join("dir/f.txt");
        assert_eq!(file.to_string(), "s3://b/dir/f.txt");
        assert_eq!(
            Location::parse("s3://b/dir").unwrap().join("x").to_string(),
            "s3://b/dir/x"
        );
        assert_eq!(file.parent().unwrap().to_string(), "s3://b/dir/");
        assert_eq!(file.parent().unwrap().parent().unwrap(), root);
        assert_eq!(
            root.parent().unwrap(),
            Location::Buckets(EndpointRef::Default)
        );
        assert_eq!(file.file_name().unwrap(), "f.txt");
        assert_eq!(
            Location::parse("s3://b/dir/").unwrap().file_name().unwrap(),
            "dir"
        );
        assert_eq!(
            Location::Buckets(named("n")).join("bk").to_string(),
            "n:bk/"
        );
        assert!(root.is_container() && !file.is_container());
    }
}
