//! Outputs that appear whole or not at all.
//!
//! Every file dynpack writes goes to a temporary name in its destination
//! folder first and is renamed over the final name only once it is
//! complete and synced. A failure, a panic or an abort drops the temporary
//! file, so the destination holds afterwards exactly what it held before.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::{Error, IoContext, Result};
use crate::pipeline::{check_cancel, Cancel};

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// Bytes of the final name kept in a temporary name: a final name near the
/// 255-byte limit must not make its temporary name too long to create.
const TEMP_STEM_MAX: usize = 100;

/// A unique temporary name next to `final_name` in `dir`.
pub fn temp_path(dir: &Path, final_name: &str) -> PathBuf {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let mut stem_len = final_name.len().min(TEMP_STEM_MAX);
    while !final_name.is_char_boundary(stem_len) {
        stem_len -= 1;
    }
    dir.join(format!(
        ".{}.{}-{n}-{nanos:x}.dynpack-tmp",
        &final_name[..stem_len],
        std::process::id()
    ))
}

/// Checks that `dir` is an existing folder.
pub fn check_destination(dir: &Path) -> Result<()> {
    match std::fs::metadata(dir) {
        Ok(m) if m.is_dir() => Ok(()),
        Ok(_) => Err(Error::Destination {
            path: dir.to_path_buf(),
            reason: "it is a file".into(),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(Error::Destination {
            path: dir.to_path_buf(),
            reason: "it does not exist".into(),
        }),
        Err(e) => Err(Error::io(dir, e)),
    }
}

/// Creates a new, unique temporary file in `dir` named after `label`
/// (readable too with `read`); a permission problem is the destination's.
pub fn create_temp(dir: &Path, label: &str, read: bool) -> Result<(PathBuf, File)> {
    create_temp_mode(dir, label, read, 0o666)
}

/// [`create_temp`] for a file holding secrets: created 0600, so that no
/// one else can read it even for the moment before a chmod.
pub fn create_private_temp(dir: &Path, label: &str) -> Result<(PathBuf, File)> {
    create_temp_mode(dir, label, false, 0o600)
}

fn create_temp_mode(dir: &Path, label: &str, read: bool, mode: u32) -> Result<(PathBuf, File)> {
    let temp = temp_path(dir, label);
    let mut options = OpenOptions::new();
    options.read(read).write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, mode);
    #[cfg(not(unix))]
    let _ = mode;
    let file = options.open(&temp).map_err(|e| match e.kind() {
        std::io::ErrorKind::PermissionDenied => Error::Destination {
            path: dir.to_path_buf(),
            reason: "permission denied".into(),
        },
        _ => Error::io(&temp, e),
    })?;
    Ok((temp, file))
}

/// A file being written under a temporary name.
pub struct AtomicFile {
    temp: PathBuf,
    target: PathBuf,
    writer: Option<BufWriter<File>>,
}

impl AtomicFile {
    /// Creates the temporary file for `dir/name`.
    pub fn create(dir: &Path, name: &str) -> Result<AtomicFile> {
        check_destination(dir)?;
        let (temp, file) = create_temp(dir, name, false)?;
        Ok(AtomicFile {
            target: dir.join(name),
            temp,
            writer: Some(BufWriter::with_capacity(1 << 20, file)),
        })
    }

    pub fn write(&mut self, bytes: &[u8]) -> Result<()> {
        let temp = &self.temp;
        self.writer
            .as_mut()
            .expect("written after commit")
            .write_all(bytes)
            .at(temp)
    }

    /// Flushes, syncs and renames the file to its final name.
    pub fn commit(mut self) -> Result<PathBuf> {
        let writer = self.writer.take().expect("committed twice");
        let result = (|| {
            let file = writer
                .into_inner()
                .map_err(|e| Error::io(&self.temp, e.into_error()))?;
            file.sync_all().at(&self.temp)?;
            drop(file);
            std::fs::rename(&self.temp, &self.target).at(&self.target)
        })();
        if result.is_err() {
            let _ = std::fs::remove_file(&self.temp);
        }
        result.map(|_| self.target.clone())
    }

    /// The final path.
    pub fn target(&self) -> &Path {
        &self.target
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if self.writer.take().is_some() {
            let _ = std::fs::remove_file(&self.temp);
        }
    }
}

/// An advisory lock on a folder (`flock` on Unix), held by a run that reads,
/// merges and rewrites a file other runs may rewrite too: without it two
/// builds into one image layout each write back the `index.json` they read,
/// and one tag is lost. Only other dynpack runs honour it. Released on drop.
/// Not taken where the platform or file system has no such lock (Windows,
/// some network and FUSE file systems): runs there are not serialized.
pub struct FolderLock {
    #[cfg(unix)]
    handle: Option<File>,
}

impl FolderLock {
    /// Waits for the lock on `dir`, polling, so that `cancel` still stops a
    /// run that waits for another.
    pub fn acquire(dir: &Path, cancel: &Cancel) -> Result<FolderLock> {
        #[cfg(unix)]
        {
            use std::fs::TryLockError;
            let handle = File::open(dir).at(dir)?;
            let mut wait = std::time::Duration::from_millis(1);
            loop {
                match handle.try_lock() {
                    Ok(()) => {
                        return Ok(FolderLock {
                            handle: Some(handle),
                        })
                    }
                    Err(TryLockError::WouldBlock) => {}
                    Err(TryLockError::Error(e)) if e.kind() == std::io::ErrorKind::Unsupported => {
                        return Ok(FolderLock { handle: None })
                    }
                    Err(TryLockError::Error(e)) => return Err(Error::io(dir, e)),
                }
                check_cancel(cancel)?;
                std::thread::sleep(wait);
                wait = (wait * 2).min(std::time::Duration::from_millis(50));
            }
        }
        #[cfg(not(unix))]
        {
            check_cancel(cancel)?;
            let _ = dir;
            Ok(FolderLock {})
        }
    }

    /// Whether `dir` still is the folder this lock is on: it is not when the
    /// run that created the folder removed it again while this one waited.
    pub fn holds(&self, dir: &Path) -> bool {
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            let Some(handle) = &self.handle else {
                return dir.is_dir();
            };
            match (handle.metadata(), std::fs::metadata(dir)) {
                (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
                _ => false,
            }
        }
        #[cfg(not(unix))]
        {
            dir.is_dir()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicBool;
    use std::sync::Arc;

    #[test]
    fn a_folder_lock_excludes_and_a_waiting_run_can_be_cancelled() {
        let t = tempfile::tempdir().unwrap();
        let held = FolderLock::acquire(t.path(), &None).unwrap();
        assert!(held.holds(t.path()));
        let cancel: Cancel = Some(Arc::new(AtomicBool::new(false)));
        let waiter = {
            let (dir, cancel) = (t.path().to_path_buf(), cancel.clone());
            std::thread::spawn(move || FolderLock::acquire(&dir, &cancel).map(|_| ()))
        };
        std::thread::sleep(std::time::Duration::from_millis(100));
        assert!(!waiter.is_finished(), "the lock did not exclude");
        cancel
            .as_ref()
            .unwrap()
            .store(true, std::sync::atomic::Ordering::Relaxed);
        assert_eq!(waiter.join().unwrap().unwrap_err().code(), "E_ABORTED");
        drop(held);
        assert!(FolderLock::acquire(t.path(), &None).is_ok());
    }

    #[test]
    fn a_lock_on_a_removed_folder_holds_nothing() {
        let t = tempfile::tempdir().unwrap();
        let dir = t.path().join("d");
        std::fs::create_dir(&dir).unwrap();
        let lock = FolderLock::acquire(&dir, &None).unwrap();
        std::fs::remove_dir(&dir).unwrap();
        std::fs::create_dir(&dir).unwrap();
        assert!(!lock.holds(&dir));
    }
}
