//! The local disk, through `tokio::fs`. Writes go to a temporary name in the target directory and
//! are renamed into place only when complete, so a failed, cancelled or dropped write leaves no
//! partial file.

use std::collections::HashSet;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use bytes::Bytes;
use futures::StreamExt;
use md5::{Digest, Md5};
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};

use super::entry::{DeleteReport, Entry, EntryKind, ListPage, ObjectInfo, WriteOutcome};
use super::error::{Result, StorageError};
use super::location::Location;
use super::{ByteStream, WriteOptions};

/// Entries per listing page, so a huge directory shows its first rows at once.
const PAGE: usize = 1000;
/// Read buffer for streaming files.
const CHUNK: usize = 256 * 1024;
/// The marker in temporary file names; listings skip names that carry it.
pub const TEMP_MARKER: &str = ".s3ferry-part-";

/// Lists one directory page by page; entries that cannot be read are reported in the page.
pub fn list_dir(dir: PathBuf) -> impl futures::Stream<Item = Result<ListPage>> + Send {
    futures::stream::unfold(Some(ListState::Start(dir)), |state| async move {
        let mut rd = match state? {
            ListState::Start(dir) => match tokio::fs::read_dir(&dir).await {
                Ok(rd) => (rd, dir),
                Err(e) => return Some((Err(StorageError::io("list", &dir, e)), None)),
            },
            ListState::Reading(rd, dir) => (rd, dir),
        };
        let mut page = ListPage::default();
        loop {
            match rd.0.next_entry().await {
                Ok(Some(de)) => {
                    let name = de.file_name();
                    if name.to_string_lossy().contains(TEMP_MARKER) {
                        continue;
                    }
                    let path = de.path();
                    match entry_for(&path).await {
                        Ok(e) => page.entries.push(e),
                        Err(e) => page.problems.push(e.to_string()),
                    }
                    if page.entries.len() + page.problems.len() >= PAGE {
                        return Some((Ok(page), Some(ListState::Reading(rd.0, rd.1))));
                    }
                }
                Ok(None) => return Some((Ok(page), None)),
                Err(e) => {
                    page.problems
                        .push(StorageError::io("list", &rd.1, e).to_string());
                    return Some((Ok(page), None));
                }
            }
        }
    })
}

enum ListState {
    Start(PathBuf),
    Reading(tokio::fs::ReadDir, PathBuf),
}

async fn entry_for(path: &Path) -> Result<Entry> {
    let meta = tokio::fs::symlink_metadata(path)
        .await
        .map_err(|e| StorageError::io("stat", path, e))?;
    let kind = if meta.file_type().is_symlink() {
        EntryKind::Symlink
    } else if meta.is_dir() {
        EntryKind::Dir
    } else {
        EntryKind::File
    };
    Ok(Entry {
        name: path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        location: Location::Local(path.to_path_buf()),
        kind,
        size: (kind == EntryKind::File).then_some(meta.len()),
        modified: meta.modified().ok(),
        etag: None,
        storage_class: None,
    })
}

/// Walks a directory tree (not following symlinks), yielding every file, link and directory
/// below `root`, named by its `/`-separated path relative to `root`. Directories that cannot be
/// read are reported as problems.
pub fn walk(root: PathBuf) -> impl futures::Stream<Item = Result<ListPage>> + Send {
    let start = vec![(root, String::new())];
    futures::stream::unfold(start, |mut stack| async move {
        let (dir, rel) = stack.pop()?;
        let mut page = ListPage::default();
        let mut pages = std::pin::pin!(list_dir(dir));
        while let Some(p) = pages.next().await {
            match p {
                Ok(p) => {
                    page.problems.extend(p.problems);
                    for mut e in p.entries {
                        e.name = format!("{rel}{}", e.name);
                        if let (EntryKind::Dir, Location::Local(p)) = (e.kind, &e.location) {
                            stack.push((p.clone(), format!("{}/", e.name)));
                        }
                        page.entries.push(e);
                    }
                }
                // The root itself missing or unreadable is an error, below it a problem.
                Err(e) if rel.is_empty() => return Some((Err(e), Vec::new())),
                Err(e) => page.problems.push(e.to_string()),
            }
        }
        Some((Ok(page), stack))
    })
}

/// Stats a file or directory (following symlinks).
pub async fn stat(path: &Path) -> Result<ObjectInfo> {
    let meta = tokio::fs::metadata(path)
        .await
        .map_err(|e| not_found_or_io("stat", path, e))?;
    Ok(ObjectInfo {
        size: meta.len(),
        modified: meta.modified().ok(),
        ..ObjectInfo::default()
    })
}

fn not_found_or_io(op: &'static str, path: &Path, e: std::io::Error) -> StorageError {
    if e.kind() == std::io::ErrorKind::NotFound {
        StorageError::NotFound {
            what: format!("{:?}", path.to_string_lossy()),
        }
    } else {
        StorageError::io(op, path, e)
    }
}

/// Streams a file, or a byte range of it.
pub async fn read(path: &Path, range: Option<Range<u64>>) -> Result<ByteStream> {
    let mut file = tokio::fs::File::open(path)
        .await
        .map_err(|e| not_found_or_io("open", path, e))?;
    let limit = match range {
        Some(r) => {
            file.seek(std::io::SeekFrom::Start(r.start))
                .await
                .map_err(|e| StorageError::io("seek", path, e))?;
            r.end.saturating_sub(r.start)
        }
        None => u64::MAX,
    };
    let reader = file.take(limit);
    let owned = path.to_path_buf();
    let stream = tokio_util::io::ReaderStream::with_capacity(reader, CHUNK)
        .map(move |r| r.map_err(|e| StorageError::io("read", &owned, e)));
    Ok(Box::pin(stream))
}

/// The first symbolic link on the way from `root` down to `path` (`path` itself included,
/// `root` not), if any exists there now. A target directory may itself be reached through links
/// the user chose; below it, an existing link could carry a write outside, so planning refuses
/// it. Components that do not exist yet end the walk (they will be created as directories).
/// `real_dirs` remembers directories already found to be real ones, so a large job checks each
/// directory once.
pub async fn first_link_below(
    root: &Path,
    path: &Path,
    real_dirs: &mut HashSet<PathBuf>,
) -> Option<PathBuf> {
    let rel = path.strip_prefix(root).ok()?;
    let mut at = root.to_path_buf();
    for c in rel.components() {
        at.push(c);
        if real_dirs.contains(&at) {
            continue;
        }
        match tokio::fs::symlink_metadata(&at).await {
            Ok(m) if m.file_type().is_symlink() => return Some(at),
            Ok(m) if m.is_dir() => {
                real_dirs.insert(at.clone());
            }
            _ => return None,
        }
    }
    None
}

/// Removes the temporary file unless the write was committed.
struct TempFile {
    path: PathBuf,
    committed: bool,
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

fn temp_path_for(path: &Path) -> Result<PathBuf> {
    let name = path.file_name().ok_or_else(|| StorageError::InvalidName {
        name: path.to_string_lossy().into_owned(),
        why: "a file needs a name".into(),
    })?;
    let nonce = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let mut tmp = std::ffi::OsString::from(".");
    tmp.push(name);
    tmp.push(format!("{TEMP_MARKER}{}-{nonce:x}", std::process::id()));
    Ok(path.with_file_name(tmp))
}

/// Writes a stream to `path` through a temporary file renamed into place at the end; creates
/// missing parent directories.
/// `opts.expect_size` and `opts.expect_md5` are checked before the rename.
pub async fn write(path: &Path, mut body: ByteStream, opts: &WriteOptions) -> Result<WriteOutcome> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        tokio::fs::create_dir_all(parent)
            .await
            .map_err(|e| StorageError::io("create directory", parent, e))?;
    }
    let mut temp = TempFile {
        path: temp_path_for(path)?,
        committed: false,
    };
    let mut file = tokio::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&temp.path)
        .await
        .map_err(|e| StorageError::io("create", &temp.path, e))?;
    let mut md5 = Md5::new();
    let mut size = 0u64;
    while let Some(chunk) = body.next().await {
        let chunk: Bytes = chunk?;
        md5.update(&chunk);
        size += chunk.len() as u64;
        file.write_all(&chunk)
            .await
            .map_err(|e| StorageError::io("write", path, e))?;
    }
    let md5 = hex::encode(md5.finalize());
    opts.check_body(&format!("{:?}", path.to_string_lossy()), size, &md5)?;
    // No fsync: like cp and rclone, a process crash cannot leave a partial file (the rename is
    // atomic), but an OS crash right after may lose the newest files.
    file.flush()
        .await
        .map_err(|e| StorageError::io("write", path, e))?;
    drop(file);
    tokio::fs::rename(&temp.path, path)
        .await
        .map_err(|e| StorageError::io("rename into place", path, e))?;
    temp.committed = true;
    Ok(WriteOutcome {
        size,
        etag: None,
        md5,
        parts: 0,
    })
}

/// Deletes files (and empty directories), reporting each failure.
pub async fn delete_many(paths: &[PathBuf]) -> DeleteReport {
    let mut report = DeleteReport::default();
    for p in paths {
        let result = match tokio::fs::symlink_metadata(p).await {
            Ok(m) if m.is_dir() => tokio::fs::remove_dir(p).await,
            Ok(_) => tokio::fs::remove_file(p).await,
            Err(e) => Err(e),
        };
        match result {
            Ok(()) => report.deleted += 1,
            Err(e) => report
                .failed
                .push((p.to_string_lossy().into_owned(), e.to_string())),
        }
    }
    report
}

/// Deletes a file, or a directory and everything below it (symlinks are removed, not followed).
pub async fn delete_recursive(path: &Path) -> Result<DeleteReport> {
    let meta = tokio::fs::symlink_metadata(path)
        .await
        .map_err(|e| not_found_or_io("delete", path, e))?;
    if meta.is_dir() {
        tokio::fs::remove_dir_all(path)
            .await
            .map_err(|e| StorageError::io("delete", path, e))?;
    } else {
        tokio::fs::remove_file(path)
            .await
            .map_err(|e| StorageError::io("delete", path, e))?;
    }
    Ok(DeleteReport {
        deleted: 1,
        ..DeleteReport::default()
    })
}

/// Creates a directory (and its parents).
pub async fn create_dir(path: &Path) -> Result<()> {
    if tokio::fs::symlink_metadata(path).await.is_ok() {
        return Err(StorageError::AlreadyExists {
            what: format!("{:?}", path.to_string_lossy()),
        });
    }
    tokio::fs::create_dir_all(path)
        .await
        .map_err(|e| StorageError::io("create directory", path, e))
}

/// Renames within the local disk, refusing to replace an existing target.
pub async fn rename(from: &Path, to: &Path) -> Result<()> {
    if tokio::fs::symlink_metadata(to).await.is_ok() {
        return Err(StorageError::AlreadyExists {
            what: format!("{:?}", to.to_string_lossy()),
        });
    }
    tokio::fs::rename(from, to)
        .await
        .map_err(|e| not_found_or_io("rename", from, e))
}
