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
    let temp = temp_path(dir, label);
    let file = OpenOptions::new()
        .read(read)
        .write(true)
        .create_new(true)
        .open(&temp)
        .map_err(|e| match e.kind() {
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
