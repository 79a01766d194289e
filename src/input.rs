//! Opening inputs nobody has checked without ever blocking.
//!
//! A FIFO opened for reading blocks until a writer comes along, which in an
//! unattended CI job means forever. Every input file is therefore opened
//! non-blocking and its type is checked on the open handle (not on the path,
//! which may be swapped in between) before a byte is read.

use std::fs::File;
use std::io::Read;
use std::path::Path;

/// Opens `path` for reading without blocking on a FIFO.
pub fn open_no_block(path: &Path) -> std::io::Result<File> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK);
    }
    options.open(path)
}

/// What a non-regular file is, for error messages.
pub fn file_kind(meta: &std::fs::Metadata) -> &'static str {
    let t = meta.file_type();
    if t.is_dir() {
        return "a folder";
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_fifo() {
            return "a FIFO";
        }
        if t.is_socket() {
            return "a socket";
        }
        if t.is_block_device() || t.is_char_device() {
            return "a device";
        }
    }
    "a special file"
}

/// Why [`read_regular`] returned no bytes; each caller turns it into the
/// error its own input deserves.
#[derive(Debug)]
pub enum Unreadable {
    /// Opening or reading failed (`NotFound` among them).
    Io(std::io::Error),
    /// The path is a folder, FIFO, socket or device ([`file_kind`]).
    NotRegular(&'static str),
    /// The file holds more bytes than the caller accepts.
    TooLarge(u64),
}

/// Opens the regular file at `path`; anything else is [`Unreadable`].
pub fn open_regular(path: &Path) -> Result<(File, std::fs::Metadata), Unreadable> {
    let file = match open_no_block(path) {
        Ok(file) => file,
        // A socket cannot be opened at all (ENXIO): name it, not the errno.
        Err(e) => {
            return Err(match std::fs::metadata(path) {
                Ok(meta) if !meta.is_file() => Unreadable::NotRegular(file_kind(&meta)),
                _ => Unreadable::Io(e),
            })
        }
    };
    let meta = file.metadata().map_err(Unreadable::Io)?;
    if !meta.is_file() {
        return Err(Unreadable::NotRegular(file_kind(&meta)));
    }
    Ok((file, meta))
}

/// The whole content of the regular file at `path`, at most `max` bytes.
pub fn read_regular(path: &Path, max: u64) -> Result<Vec<u8>, Unreadable> {
    let (file, meta) = open_regular(path)?;
    if meta.len() > max {
        return Err(Unreadable::TooLarge(meta.len()));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    // One byte over `max` tells a file that grew past it since the check.
    file.take(max.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(Unreadable::Io)?;
    if bytes.len() as u64 > max {
        return Err(Unreadable::TooLarge(bytes.len() as u64));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_regular_files_and_names_the_rest() {
        let t = tempfile::tempdir().unwrap();
        let file = t.path().join("f");
        std::fs::write(&file, "abc").unwrap();
        assert_eq!(read_regular(&file, 3).unwrap(), b"abc");
        assert!(matches!(
            read_regular(&file, 2),
            Err(Unreadable::TooLarge(3))
        ));
        assert!(matches!(
            read_regular(t.path(), 10),
            Err(Unreadable::NotRegular("a folder"))
        ));
        assert!(matches!(
            read_regular(&t.path().join("missing"), 10),
            Err(Unreadable::Io(e)) if e.kind() == std::io::ErrorKind::NotFound
        ));
    }

    #[cfg(unix)]
    #[test]
    fn never_blocks_on_a_fifo() {
        let t = tempfile::tempdir().unwrap();
        let fifo = t.path().join("p");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        assert!(matches!(
            read_regular(&fifo, 10),
            Err(Unreadable::NotRegular("a FIFO"))
        ));
        let socket = t.path().join("s");
        let _listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
        assert!(matches!(
            read_regular(&socket, 10),
            Err(Unreadable::NotRegular("a socket"))
        ));
    }
}
