//! Typed storage errors a person can act on. Names are quoted with `{:?}`, so control characters in
//! keys come out escaped, never raw. No variant ever carries a secret.

use std::io;

/// Everything the storage layer can fail with.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("invalid location {input:?}: {why}")]
    InvalidLocation { input: String, why: String },

    #[error("invalid name {name:?}: {why}")]
    InvalidName { name: String, why: String },

    #[error("not found: {what}")]
    NotFound { what: String },

    #[error("no such bucket {bucket:?} on {endpoint}")]
    NoSuchBucket { endpoint: String, bucket: String },

    #[error("already exists: {what}")]
    AlreadyExists { what: String },

    #[error("access denied to {what} ({op}): check the credentials' permissions")]
    AccessDenied { op: &'static str, what: String },

    #[error(
        "{endpoint} rejected the credentials ({code}): check the access key and secret, or the profile"
    )]
    BadCredentials { endpoint: String, code: String },

    #[error("cannot reach {endpoint} ({op}): {cause}")]
    Unreachable {
        endpoint: String,
        op: &'static str,
        cause: String,
    },

    #[error("timed out talking to {endpoint} ({op} {what})")]
    Timeout {
        endpoint: String,
        op: &'static str,
        what: String,
    },

    #[error("{endpoint} is throttling requests ({op} {what}); retried with backoff and gave up")]
    Throttled {
        endpoint: String,
        op: &'static str,
        what: String,
    },

    #[error("bucket {bucket:?} is in region {region:?}: set region = {region:?} for this endpoint")]
    WrongRegion { bucket: String, region: String },

    #[error(
        "{endpoint} rejected the request's checksum ({op} {what}: {message}); set checksums = \"when_required\" for this endpoint in config.toml"
    )]
    ChecksumRejected {
        endpoint: String,
        op: &'static str,
        what: String,
        message: String,
    },

    #[error("integrity check failed for {what}: {detail}")]
    Integrity { what: String, detail: String },

    #[error("{what}: copied and verified, source not deleted: {reason}")]
    SourceNotDeleted { what: String, reason: String },

    #[error("{what} is archived ({class}); restore it before reading")]
    Archived { what: String, class: String },

    #[error("{op} {what} failed: {code}: {message}")]
    Service {
        op: &'static str,
        what: String,
        code: String,
        message: String,
    },

    #[error("{op} {path:?}: {source}")]
    Io {
        op: &'static str,
        path: String,
        #[source]
        source: io::Error,
    },

    #[error("{op} is not possible on {what}")]
    Unsupported { op: &'static str, what: String },

    #[error("cancelled")]
    Cancelled,

    #[error("config: {0}")]
    Config(String),
}

impl StorageError {
    /// An I/O error on a local path.
    pub fn io(op: &'static str, path: &std::path::Path, source: io::Error) -> Self {
        StorageError::Io {
            op,
            path: path.to_string_lossy().into_owned(),
            source,
        }
    }

    /// True for the "it is not there" family.
    pub fn is_not_found(&self) -> bool {
        match self {
            StorageError::NotFound { .. } | StorageError::NoSuchBucket { .. } => true,
            StorageError::Io { source, .. } => source.kind() == io::ErrorKind::NotFound,
            _ => false,
        }
    }
}

/// Results of the storage layer.
pub type Result<T, E = StorageError> = std::result::Result<T, E>;
