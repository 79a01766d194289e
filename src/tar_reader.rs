//! Tar streams read with the `tar` crate, with the metadata it buffers
//! bounded.
//!
//! The crate reads a member's GNU long name or link and its PAX records
//! into memory whole, whatever size their headers claim: a 522 KB gzip
//! layer holding a 512 MiB long name took 1.7 GB. Go's archive/tar refuses
//! such records past 1 MiB, as `lib/cli/untar.js` does. Here the crate may
//! read at most [`MAX_METADATA`] between the end of one member's data and
//! the start of the next member's (its headers, GNU long name and link, PAX
//! records, the padding before them): past that the read fails with an
//! error that [`is_too_large`] recognises, before the record is buffered. The bound is on positions
//! the crate itself reports, so it needs no second tar parser that could
//! disagree with the crate about where headers are.

use std::cell::Cell;
use std::io::{self, Read};
use std::rc::Rc;

/// The bytes of metadata (headers, long names and links, PAX records) one
/// member may have in the archive.
pub const MAX_METADATA: u64 = 1 << 20;

/// The error a guarded read fails with when the metadata is too large.
#[derive(Debug)]
struct MetadataTooLarge;

impl std::fmt::Display for MetadataTooLarge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "a tar member's metadata (GNU long name or link, PAX records) is larger than {MAX_METADATA} bytes"
        )
    }
}

impl std::error::Error for MetadataTooLarge {}

/// Whether `e` is the refusal of a member whose metadata is too large.
pub fn is_too_large(e: &io::Error) -> bool {
    e.get_ref().is_some_and(|r| r.is::<MetadataTooLarge>())
}

fn too_large() -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, MetadataTooLarge)
}

/// The archive's reader, which refuses to read past `limit`.
pub struct Guard<R> {
    inner: R,
    pos: u64,
    limit: Rc<Cell<u64>>,
}

impl<R: Read> Read for Guard<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let limit = self.limit.get();
        if buf.is_empty() {
            return Ok(0);
        }
        if self.pos >= limit {
            return Err(too_large());
        }
        let room = usize::try_from(limit - self.pos).map_or(buf.len(), |r| r.min(buf.len()));
        let n = self.inner.read(&mut buf[..room])?;
        self.pos += n as u64;
        Ok(n)
    }
}

/// A tar archive whose members are listed with bounded metadata.
pub struct Archive<R: Read> {
    tar: tar::Archive<Guard<R>>,
    limit: Rc<Cell<u64>>,
}

impl<R: Read> Archive<R> {
    pub fn new(reader: R) -> Archive<R> {
        let limit = Rc::new(Cell::new(u64::MAX));
        Archive {
            tar: tar::Archive::new(Guard {
                inner: reader,
                pos: 0,
                limit: limit.clone(),
            }),
            limit,
        }
    }

    /// The members, as `tar::Archive::entries` lists them; a member whose
    /// metadata is too large fails ([`is_too_large`]).
    pub fn entries(&mut self) -> io::Result<Entries<'_, R>> {
        Ok(Entries {
            inner: self.tar.entries()?,
            limit: self.limit.clone(),
            data_end: 0,
        })
    }
}

pub struct Entries<'a, R: Read> {
    inner: tar::Entries<'a, Guard<R>>,
    limit: Rc<Cell<u64>>,
    /// Where the data of the member last listed ends in the archive.
    data_end: u64,
}

impl<'a, R: Read> Iterator for Entries<'a, R> {
    type Item = io::Result<tar::Entry<'a, Guard<R>>>;

    fn next(&mut self) -> Option<Self::Item> {
        // While the crate skips the rest of the last member and reads the
        // next one's headers, long name and PAX records.
        self.limit.set(self.data_end.saturating_add(MAX_METADATA));
        let mut next = self.inner.next();
        // The member's data is the caller's to read, at any size.
        self.limit.set(u64::MAX);
        if let Some(Ok(entry)) = &mut next {
            // A PAX global header is a member to the crate (not buffered),
            // but a metadata record all the same: bounded as Go does.
            if entry.header().entry_type().is_pax_global_extensions() && entry.size() > MAX_METADATA
            {
                return Some(Err(too_large()));
            }
            self.data_end = entry.raw_file_position().saturating_add(stored_size(entry));
        }
        next
    }
}

/// The bytes of `entry`'s data in the archive, as the crate counts them to
/// find the next header: `size()`, except for a GNU sparse member, whose
/// `size()` is the expanded size.
fn stored_size<R: Read>(entry: &mut tar::Entry<'_, R>) -> u64 {
    if !entry.header().entry_type().is_gnu_sparse() {
        return entry.size();
    }
    let header_size = entry.header().entry_size().unwrap_or(0);
    // The member's own PAX records are already in memory (the crate reads
    // only a `g` or `x` member's data here, and this is neither).
    let pax_size = entry.pax_extensions().ok().flatten().and_then(|mut pax| {
        pax.find_map(|e| {
            let e = e.ok()?;
            (e.key() == Ok("size")).then(|| e.value().ok()?.parse::<u64>().ok())?
        })
    });
    pax_size.unwrap_or(header_size)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tar of one GNU long-name member (`name_len` bytes of name) and an
    /// ordinary file after it, written by the crate itself.
    fn long_name_tar(name_len: usize) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        let name = format!("{}/f.js", "d".repeat(name_len - 5));
        let mut h = tar::Header::new_gnu();
        h.set_size(3);
        h.set_mode(0o644);
        h.set_entry_type(tar::EntryType::Regular);
        b.append_data(&mut h, &name, &b"abc"[..]).unwrap();
        let mut h = tar::Header::new_gnu();
        h.set_size(2);
        h.set_mode(0o644);
        b.append_data(&mut h, "next.js", &b"ok"[..]).unwrap();
        b.into_inner().unwrap()
    }

    fn names(tar: &[u8]) -> io::Result<Vec<(usize, u64)>> {
        let mut a = Archive::new(tar);
        let mut out = Vec::new();
        for e in a.entries()? {
            let e = e?;
            out.push((e.path_bytes().len(), e.size()));
        }
        Ok(out)
    }

    #[test]
    fn long_names_under_the_bound_are_read() {
        assert_eq!(names(&long_name_tar(300)).unwrap(), [(300, 3), (7, 2)]);
        let near = MAX_METADATA as usize - 2048;
        assert_eq!(names(&long_name_tar(near)).unwrap(), [(near, 3), (7, 2)]);
    }

    /// A GNU `L` header claiming `size` bytes of name, its data a stream of
    /// `d`s that is never stored: the crate would buffer all of it.
    fn hostile_long_name(size: u64) -> impl Read {
        let mut h = tar::Header::new_gnu();
        h.as_gnu_mut().unwrap().name[..13].copy_from_slice(b"././@LongLink");
        h.set_entry_type(tar::EntryType::GNULongName);
        h.set_size(size);
        h.set_mode(0o644);
        h.set_cksum();
        io::Cursor::new(h.as_bytes().to_vec()).chain(io::repeat(b'd').take(size))
    }

    #[test]
    fn a_huge_long_name_fails_early() {
        let size = 4u64 << 30;
        let counted = Rc::new(Cell::new(0u64));
        struct Count<R>(R, Rc<Cell<u64>>);
        impl<R: Read> Read for Count<R> {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                let n = self.0.read(buf)?;
                self.1.set(self.1.get() + n as u64);
                Ok(n)
            }
        }
        let mut a = Archive::new(Count(hostile_long_name(size), counted.clone()));
        let e = a.entries().unwrap().next().unwrap().err().unwrap();
        assert!(is_too_large(&e), "{e}");
        assert!(counted.get() <= MAX_METADATA, "{}", counted.get());
    }

    #[test]
    fn a_pax_record_past_the_bound_fails() {
        let mut b = tar::Builder::new(Vec::new());
        let long = "p".repeat(MAX_METADATA as usize + 10);
        b.append_pax_extensions([("path", long.as_bytes())])
            .unwrap();
        let mut h = tar::Header::new_ustar();
        h.set_size(1);
        h.set_mode(0o644);
        b.append_data(&mut h, "x", &b"1"[..]).unwrap();
        let e = names(&b.into_inner().unwrap()).unwrap_err();
        assert!(is_too_large(&e), "{e}");
        // The bound is per member: the data of a large file is not metadata.
        let mut b = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_gnu();
        h.set_size(3 << 20);
        h.set_mode(0o644);
        b.append_data(&mut h, "big", &vec![0u8; 3 << 20][..])
            .unwrap();
        let mut h = tar::Header::new_gnu();
        h.set_size(1);
        b.append_data(&mut h, "n".repeat(400), &b"1"[..]).unwrap();
        assert_eq!(
            names(&b.into_inner().unwrap()).unwrap(),
            [(3, 3 << 20), (400, 1)]
        );
    }
}
