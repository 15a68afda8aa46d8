//! What a listing or a stat returns.

use std::collections::BTreeMap;
use std::time::SystemTime;

use super::location::Location;

/// What kind of thing an entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EntryKind {
    Bucket,
    /// A local directory or an S3 common prefix.
    Dir,
    /// A local file or an S3 object.
    File,
    /// A local symbolic link (not followed when listing).
    Symlink,
}

/// One row of a listing.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// The name relative to the listed place, for display (lossy for non-UTF-8 local names;
    /// directories and prefixes without their trailing `/`).
    pub name: String,
    /// The exact address of the entry (byte-exact for local paths).
    pub location: Location,
    pub kind: EntryKind,
    pub size: Option<u64>,
    pub modified: Option<SystemTime>,
    pub etag: Option<String>,
    pub storage_class: Option<String>,
}

impl Entry {
    /// True for entries that can be opened like a directory.
    pub fn is_dir(&self) -> bool {
        matches!(self.kind, EntryKind::Dir | EntryKind::Bucket)
    }
}

/// One page of a listing, as it arrives. Problems with single entries (an unreadable file, a
/// name that cannot be decoded) are reported here rather than failing the whole listing.
#[derive(Debug, Default)]
pub struct ListPage {
    pub entries: Vec<Entry>,
    pub problems: Vec<String>,
}

/// The metadata of one object or file.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ObjectInfo {
    pub size: u64,
    pub modified: Option<SystemTime>,
    /// The ETag without quotes; for single-part uploads on most stores the hex MD5 of the bytes.
    pub etag: Option<String>,
    pub content_type: Option<String>,
    pub storage_class: Option<String>,
    /// S3 additional checksums that the store reports (e.g. `CRC32` → base64 value).
    pub checksums: BTreeMap<String, String>,
    /// User metadata (`x-amz-meta-*`).
    pub metadata: BTreeMap<String, String>,
}

impl ObjectInfo {
    /// The hex MD5 of the content when the ETag is one (not multipart, not SSE-KMS-looking).
    pub fn md5_etag(&self) -> Option<&str> {
        self.etag
            .as_deref()
            .filter(|e| e.len() == 32 && e.bytes().all(|b| b.is_ascii_hexdigit()))
    }
}

/// What a write produced.
#[derive(Debug, Clone, PartialEq)]
pub struct WriteOutcome {
    pub size: u64,
    pub etag: Option<String>,
    /// Hex MD5 of the bytes written: always for a single PUT, for a multipart write only when
    /// an expected MD5 was given (empty otherwise).
    pub md5: String,
    /// Number of parts; 0 for a single PUT or a local file.
    pub parts: usize,
}

/// Per-key result of a batch delete.
#[derive(Debug, Default)]
pub struct DeleteReport {
    pub deleted: usize,
    /// Keys or paths that could not be deleted, with the reason.
    pub failed: Vec<(String, String)>,
    /// Number of DeleteObjects requests sent (local: 0).
    pub requests: usize,
}
