//! Atomic file writes: the content goes to a uniquely named temporary file in the target's
//! folder, which is synced and then renamed over the target, so a reader (or a crash) sees
//! either the old file or the complete new one, never a torn one.
//!
//! [`write_atomic`] writes a byte buffer; [`AtomicFile`] streams (e.g. a large JSONL file)
//! and renames on [`commit`](AtomicFile::commit). Errors name the file and the action.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// An I/O failure while writing a file atomically, naming the path and what was being done.
#[derive(Debug, thiserror::Error)]
#[error("{action} {}: {source}", path.display())]
pub struct AtomicWriteError {
    /// The file (or folder) the failed operation concerned.
    pub path: PathBuf,
    /// What was being done: `creating folder`, `writing`, `syncing`, `renaming into`.
    pub action: &'static str,
    /// The operating system's error.
    #[source]
    pub source: std::io::Error,
}

/// Writes `bytes` to `path` atomically (see the [module docs](self)), creating the parent
/// folder if needed. On failure the temporary file is removed and `path` is unchanged.
pub fn write_atomic(path: impl AsRef<Path>, bytes: &[u8]) -> Result<(), AtomicWriteError> {
    let mut file = AtomicFile::create(path)?;
    file.write_all(bytes)
        .map_err(|e| file.error("writing", e))?;
    file.commit()
}

/// A file being written atomically: write through [`std::io::Write`], then
/// [`commit`](Self::commit) to sync it and rename it over the target. Dropped without a
/// commit, the temporary file is removed and the target is left as it was.
#[derive(Debug)]
pub struct AtomicFile {
    target: PathBuf,
    tmp: PathBuf,
    file: Option<File>,
}

impl AtomicFile {
    /// Opens a temporary sibling of `path` (creating the parent folder if needed).
    pub fn create(path: impl AsRef<Path>) -> Result<Self, AtomicWriteError> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let target = path.as_ref().to_path_buf();
        let dir = target
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let fail = |path: &Path, action, source| AtomicWriteError {
            path: path.to_path_buf(),
            action,
            source,
        };
        if target.file_name().is_none() {
            return Err(fail(
                &target,
                "writing",
                std::io::Error::new(std::io::ErrorKind::InvalidInput, "the path names no file"),
            ));
        }
        std::fs::create_dir_all(dir).map_err(|e| fail(dir, "creating folder", e))?;
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let tmp = dir.join(format!(
            ".{name}.{}-{}.tmp",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let file = File::create(&tmp).map_err(|e| fail(&tmp, "creating", e))?;
        Ok(Self {
            target,
            tmp,
            file: Some(file),
        })
    }

    /// The file that [`commit`](Self::commit) will replace.
    pub fn target(&self) -> &Path {
        &self.target
    }

    /// An error about the target file, for callers wrapping their own write failures.
    pub fn error(&self, action: &'static str, source: std::io::Error) -> AtomicWriteError {
        AtomicWriteError {
            path: self.target.clone(),
            action,
            source,
        }
    }

    /// Flushes and syncs the temporary file, then renames it over the target.
    pub fn commit(mut self) -> Result<(), AtomicWriteError> {
        let file = self
            .file
            .take()
            .expect("an uncommitted AtomicFile holds its file");
        file.sync_all().map_err(|e| self.error("syncing", e))?;
        drop(file);
        std::fs::rename(&self.tmp, &self.target).map_err(|e| self.error("renaming into", e))
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self.file.as_mut() {
            Some(f) => f.write(buf),
            None => Err(std::io::Error::other("AtomicFile already committed")),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self.file.as_mut() {
            Some(f) => f.flush(),
            None => Ok(()),
        }
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if self.file.take().is_some() {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_replace_and_leave_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/out.txt");
        write_atomic(&path, b"one").unwrap();
        write_atomic(&path, b"two").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        let names: Vec<_> = std::fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("out.txt")]);
    }

    #[test]
    fn an_uncommitted_file_leaves_the_target_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.txt");
        write_atomic(&path, b"old").unwrap();
        {
            let mut f = AtomicFile::create(&path).unwrap();
            f.write_all(b"partial").unwrap();
        }
        assert_eq!(std::fs::read(&path).unwrap(), b"old");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn errors_name_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let blocker = dir.path().join("file");
        std::fs::write(&blocker, b"x").unwrap();
        let e = write_atomic(blocker.join("below"), b"y").unwrap_err();
        assert!(e.to_string().contains("file"), "{e}");
        assert_eq!(e.action, "creating folder");
    }
}
