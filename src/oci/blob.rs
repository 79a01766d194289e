//! Content-addressed blobs: a temporary file that is hashed while it is
//! written and only then renamed to its digest (or read back into an
//! archive), so that a blob name always matches its content.

use std::fs::File;
use std::io::{BufWriter, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::error::{IoContext, Result};
use crate::gzip::Sink;
use crate::output::create_temp;

/// A temporary file next to where its content will end up; removed on drop
/// unless persisted.
pub struct TempBlob {
    path: PathBuf,
    writer: Option<BufWriter<File>>,
    sha: Sha256,
    len: u64,
}

impl TempBlob {
    pub fn create(dir: &Path, label: &str) -> Result<TempBlob> {
        let (path, file) = create_temp(dir, label, true)?;
        Ok(TempBlob {
            path,
            writer: Some(BufWriter::with_capacity(1 << 20, file)),
            sha: Sha256::new(),
            len: 0,
        })
    }

    /// `sha256:<hex>` and length of what was written so far.
    pub fn digest(&self) -> (String, u64) {
        (
            format!("sha256:{}", crate::hex::hex(&self.sha.clone().finalize())),
            self.len,
        )
    }

    fn flushed(&mut self) -> Result<&mut File> {
        let w = self.writer.as_mut().expect("blob already persisted");
        w.flush().at(&self.path)?;
        Ok(w.get_mut())
    }

    /// The written content, for copying into an archive.
    pub fn reader(&mut self) -> Result<&mut File> {
        let path = self.path.clone();
        let f = self.flushed()?;
        f.seek(SeekFrom::Start(0)).at(&path)?;
        Ok(f)
    }

    /// Syncs the file and renames it to `target` (kept if it already
    /// exists: same name, same content).
    pub fn persist(mut self, target: &Path) -> Result<()> {
        let path = self.path.clone();
        self.flushed()?.sync_all().at(&path)?;
        drop(self.writer.take());
        if target.exists() {
            let _ = std::fs::remove_file(&path);
            return Ok(());
        }
        let r = std::fs::rename(&path, target).at(target);
        if r.is_err() {
            let _ = std::fs::remove_file(&path);
        }
        r
    }
}

impl Sink for TempBlob {
    fn write(&mut self, bytes: &[u8]) -> Result<()> {
        self.sha.update(bytes);
        self.len += bytes.len() as u64;
        let path = &self.path;
        self.writer
            .as_mut()
            .expect("blob already persisted")
            .write_all(bytes)
            .at(path)
    }
}

impl Drop for TempBlob {
    fn drop(&mut self) {
        if self.writer.take().is_some() {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// The hex part of a `sha256:<hex>` digest (the blob's file name).
pub fn hex_of(digest: &str) -> &str {
    digest.strip_prefix("sha256:").unwrap_or(digest)
}

/// Is `digest` a well-formed `sha256:<64 lowercase hex>` (safe as a file name)?
pub fn is_sha256_digest(digest: &str) -> bool {
    digest.strip_prefix("sha256:").is_some_and(|h| {
        h.len() == 64
            && h.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}
