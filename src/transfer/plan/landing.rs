//! Where a planned file lands, and the checks that keep it inside the destination.
//!
//! Local targets: a key becomes a path only if it is safe ([`safe_local_path`]); nothing is
//! written through a symbolic link that already exists below the target directory (a link there
//! pointing outside would otherwise carry the write out); and a name cannot be both a file and a
//! directory in one job (keys `photos` and `photos/1.jpg`): the one planned second is refused with
//! the reason. S3 targets: a key over 1,024 bytes, or a local name that is not UTF-8, is refused
//! before any request. With several sources, two that land on the same name are a conflict.

use std::collections::HashSet;
use std::path::{Component, Path, PathBuf};

use crate::storage::{Location, local, s3::check_key};

/// Maps a relative, `/`-separated key to a path below `root`, refusing anything that could
/// leave it: `..` and `.` segments, empty segments (`a//b`), absolute keys, backslashes, NUL.
/// One trailing `/` (a folder marker) is allowed.
pub fn safe_local_path(root: &Path, key: &str) -> Result<PathBuf, String> {
    let key = key.strip_suffix('/').unwrap_or(key);
    if key.is_empty() {
        return Err("an empty name cannot be a local file".into());
    }
    if key.contains('\0') {
        return Err("holds a NUL character".into());
    }
    if key.contains('\\') {
        return Err("holds a backslash, which could act as a path separator".into());
    }
    if key.starts_with('/') {
        return Err("is an absolute path".into());
    }
    let mut path = root.to_path_buf();
    for seg in key.split('/') {
        match seg {
            "" => return Err("has an empty path segment ('//')".into()),
            "." | ".." => {
                return Err("has a '.' or '..' segment that could leave the target".into());
            }
            s => path.push(s),
        }
    }
    Ok(path)
}

/// A name relative to the source root: an S3 key (`/`-separated) or a local path (byte-exact).
pub(super) enum Rel<'a> {
    Key(&'a str),
    Path(&'a Path),
}

/// The destination of one job and what its files have claimed so far.
pub(super) struct Landing {
    dest: Location,
    /// Track names (for file/directory conflicts and duplicates): always for a local target,
    /// for an S3 target only with several sources (one listing never repeats a key).
    track: bool,
    files: HashSet<PathBuf>,
    dirs: HashSet<PathBuf>,
    keys: HashSet<String>,
    /// Directories below a local target found to be real (not links).
    real_dirs: HashSet<PathBuf>,
}

impl Landing {
    pub(super) fn new(dest: Location, several_sources: bool) -> Landing {
        Landing {
            track: several_sources || matches!(dest, Location::Local(_)),
            dest,
            files: HashSet::new(),
            dirs: HashSet::new(),
            keys: HashSet::new(),
            real_dirs: HashSet::new(),
        }
    }

    /// Where `rel` lands below the destination, or why it cannot.
    pub(super) async fn place(&mut self, rel: Rel<'_>, is_dir: bool) -> Result<Location, String> {
        match self.dest.clone() {
            Location::Local(root) => {
                let path = match rel {
                    Rel::Key(k) => safe_local_path(&root, k)?,
                    Rel::Path(p) => plain_below(&root, p)?,
                };
                if self.track {
                    self.claim_path(&root, &path, is_dir)?;
                }
                refuse_links(&root, &path, &mut self.real_dirs).await?;
                Ok(Location::Local(path))
            }
            dest @ Location::S3 { .. } => {
                let key = match rel {
                    Rel::Key(k) => k.to_string(),
                    Rel::Path(p) => p
                        .to_str()
                        .ok_or("the name is not UTF-8, so it cannot be an S3 key")?
                        .to_string(),
                };
                let loc = dest.join(&key);
                if let Location::S3 { key, .. } = &loc {
                    check_key(key).map_err(|e| e.to_string())?;
                    if self.track && !self.keys.insert(key.clone()) {
                        return Err("another source of this job lands on the same key".into());
                    }
                }
                Ok(loc)
            }
            Location::Buckets(_) => Err("choose a bucket as the destination".into()),
        }
    }

    /// Records `path` as a file or a directory, refusing a name that is already the other kind
    /// (or already a file) in this job.
    fn claim_path(&mut self, root: &Path, path: &Path, is_dir: bool) -> Result<(), String> {
        let shown = |p: &Path| format!("{:?}", p.strip_prefix(root).unwrap_or(p).to_string_lossy());
        let ancestors: Vec<&Path> = path
            .ancestors()
            .skip(1)
            .take_while(|a| *a != root && a.starts_with(root))
            .collect();
        if let Some(file) = ancestors.iter().find(|a| self.files.contains(**a)) {
            return Err(format!(
                "conflicts with the file {} of the same job: a local name cannot be both a file and a directory",
                shown(file)
            ));
        }
        if self.files.contains(path) {
            return Err(if is_dir {
                format!(
                    "conflicts with the file {} of the same job: a local name cannot be both a file and a directory",
                    shown(path)
                )
            } else {
                "another source of this job lands on the same file".into()
            });
        }
        if !is_dir && self.dirs.contains(path) {
            return Err(format!(
                "conflicts with the directory {} of the same job: a local name cannot be both a file and a directory",
                shown(path)
            ));
        }
        for a in ancestors {
            if !self.dirs.insert(a.to_path_buf()) {
                break; // its ancestors are in already
            }
        }
        if is_dir {
            self.dirs.insert(path.to_path_buf());
        } else {
            self.files.insert(path.to_path_buf());
        }
        Ok(())
    }
}

/// `root` joined with a relative local path made only of plain names (as a directory walk gives).
fn plain_below(root: &Path, rel: &Path) -> Result<PathBuf, String> {
    if rel.as_os_str().is_empty() || !rel.components().all(|c| matches!(c, Component::Normal(_))) {
        return Err("is not a plain relative name".into());
    }
    Ok(root.join(rel))
}

async fn refuse_links(
    root: &Path,
    path: &Path,
    real_dirs: &mut HashSet<PathBuf>,
) -> Result<(), String> {
    match local::first_link_below(root, path, real_dirs).await {
        Some(link) => Err(format!(
            "would be written through the symbolic link {:?} in the destination (links are not followed)",
            link.strip_prefix(root).unwrap_or(&link).to_string_lossy()
        )),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_never_leave_the_target() {
        let root = Path::new("/target");
        assert_eq!(
            safe_local_path(root, "a/b.txt").unwrap(),
            Path::new("/target/a/b.txt")
        );
        assert_eq!(
            safe_local_path(root, "dir/").unwrap(),
            Path::new("/target/dir")
        );
        assert_eq!(
            safe_local_path(root, "ü ß/+%").unwrap(),
            Path::new("/target/ü ß/+%")
        );
        for bad in [
            "../evil",
            "../../x",
            "a/../../b",
            "..",
            "./x",
            "/abs",
            "dir\\..\\..\\w",
            "a\\b",
            "a//b",
            "a//",
            "",
            "a\0b",
        ] {
            assert!(
                safe_local_path(root, bad).is_err(),
                "{bad:?} must be refused"
            );
        }
    }

    #[tokio::test]
    async fn a_name_is_a_file_or_a_directory_never_both() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_path_buf();
        let mut l = Landing::new(Location::Local(root.clone()), false);
        assert!(l.place(Rel::Key("photos"), false).await.is_ok());
        let err = l.place(Rel::Key("photos/1.jpg"), false).await.unwrap_err();
        assert!(err.contains("the file \"photos\""), "{err}");
        let err = l.place(Rel::Key("photos/"), true).await.unwrap_err();
        assert!(err.contains("the file \"photos\""), "{err}");
        assert!(l.place(Rel::Key("a/b/c"), false).await.is_ok());
        let err = l.place(Rel::Key("a/b"), false).await.unwrap_err();
        assert!(err.contains("the directory \"a/b\""), "{err}");
        assert!(l.place(Rel::Key("a/b/"), true).await.is_ok());
        assert!(
            l.place(Rel::Path(Path::new("a/../x")), false)
                .await
                .is_err()
        );
    }
}
