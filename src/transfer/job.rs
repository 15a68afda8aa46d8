//! What a job is: copy, move or delete of sources to a destination, with its options.

use serde::{Deserialize, Serialize};

use crate::storage::{Location, MIB, WriteOptions};

/// Identifies a job on one worker.
pub type JobId = u64;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobKind {
    Copy,
    Move,
    Delete,
}

/// What to do when the destination already exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ConflictPolicy {
    /// Skip when size and checksum/ETag show the same data; anything else is a conflict that
    /// fails that file (never overwrites different data silently).
    #[default]
    SkipSame,
    /// Replace whatever is there.
    Overwrite,
    /// Skip any existing destination without comparing.
    SkipExisting,
    /// Fail the file when the destination exists.
    Fail,
}

/// How bytes move between two places. `Auto` picks server-side copy within one endpoint and
/// account, streaming otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    #[default]
    Auto,
    ServerSide,
    Streamed,
    Staged,
}

/// The way one file actually moved, as recorded in history (the paper's comparison groups).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Route {
    /// CopyObject / UploadPartCopy: no bytes through s3ferry.
    ServerSide,
    /// S3 → S3 through a bounded in-memory pipe.
    Streamed,
    /// S3 → local staging file → S3.
    Staged,
    Upload,
    Download,
    /// Local disk → local disk.
    Local,
    Delete,
}

impl Route {
    pub fn as_str(self) -> &'static str {
        match self {
            Route::ServerSide => "server-side",
            Route::Streamed => "streamed",
            Route::Staged => "staged",
            Route::Upload => "upload",
            Route::Download => "download",
            Route::Local => "local",
            Route::Delete => "delete",
        }
    }
}

/// Options of a job.
#[derive(Debug, Clone, PartialEq)]
pub struct JobOptions {
    pub conflict: ConflictPolicy,
    pub mode: Mode,
    /// Files in flight at once within this job.
    pub concurrency: usize,
    pub part_size: u64,
    /// Expand directories and prefixes.
    pub recursive: bool,
    /// Where staged copies are kept while in transit (default: the system temp dir).
    pub staging_dir: Option<std::path::PathBuf>,
    /// Server-side copies above this size use UploadPartCopy.
    pub copy_multipart_threshold: u64,
}

impl Default for JobOptions {
    fn default() -> Self {
        JobOptions {
            conflict: ConflictPolicy::SkipSame,
            mode: Mode::Auto,
            concurrency: 8,
            part_size: 8 * MIB,
            recursive: false,
            staging_dir: None,
            copy_multipart_threshold: WriteOptions::default().copy_multipart_threshold,
        }
    }
}

impl JobOptions {
    /// Write options for one file of `size` bytes.
    pub fn write_options(&self, size: Option<u64>) -> WriteOptions {
        WriteOptions {
            part_size: self.part_size,
            size_hint: size,
            copy_multipart_threshold: self.copy_multipart_threshold,
            ..WriteOptions::default()
        }
    }
}

/// A job as submitted.
#[derive(Debug, Clone, PartialEq)]
pub struct JobSpec {
    pub kind: JobKind,
    pub sources: Vec<Location>,
    /// The destination (none for deletes).
    pub dest: Option<Location>,
    pub options: JobOptions,
}
