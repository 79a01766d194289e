//! The tar stream, byte for byte as node-tar writes it for `npm pack`.
//!
//! node-tar in portable mode writes ustar headers with NUL uid/gid, a fixed
//! mtime, a checksum terminated by space then NUL, a 155-byte prefix, and a
//! PAX `x` header in front of every entry whose path is long or not ASCII.
//! There are no directory entries and the archive ends with exactly 1024
//! zero bytes. [`Header::encode`] reproduces one entry's header blocks;
//! [`TarEntry`] plans the entries of a [`PackList`]; [`write_entries`]
//! streams them with the file contents.

use std::collections::HashMap;
use std::io::Read;
use std::path::PathBuf;

use crate::error::{Error, IoContext, Result};
use crate::packlist::PackList;
use crate::posix;

/// 1985-10-26T08:15:00Z, the mtime npm stamps on every entry.
pub const NPM_MTIME: u64 = 499_162_500;

/// Largest values the octal fields hold; beyond that node-tar writes
/// base-256 and a PAX record.
const MAX_OCTAL_8: u64 = 0o7777777;
const MAX_OCTAL_12: u64 = 0o77777777777;

/// The type of a tar entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryType {
    File,
    HardLink,
    Directory,
}

impl EntryType {
    fn flag(self) -> u8 {
        match self {
            EntryType::File => b'0',
            EntryType::HardLink => b'1',
            EntryType::Directory => b'5',
        }
    }
}

/// One entry's header fields.
#[derive(Debug, Clone)]
pub struct Header<'a> {
    /// Full path in the archive (`package/...`).
    pub path: &'a str,
    pub mode: u32,
    pub size: u64,
    pub mtime: u64,
    pub entry_type: EntryType,
    /// Full target path for hard links.
    pub linkpath: Option<&'a str>,
    /// `None` leaves uid/gid NUL as npm does; `Some(0)` writes root.
    pub owner: Option<u64>,
}

impl Header<'_> {
    /// Appends the PAX header (when needed) and the ustar header.
    pub fn encode(&self, out: &mut Vec<u8>) {
        let mut block = [0u8; 512];
        let need_pax = self.encode_block(&mut block);
        if need_pax {
            encode_pax(self, out);
        }
        out.extend_from_slice(&block);
    }

    fn encode_block(&self, buf: &mut [u8; 512]) -> bool {
        let (name, prefix, split_pax) = split_prefix(self.path, 155);
        let mut pax = split_pax;
        pax |= enc_string(buf, 0, 100, Some(&name));
        pax |= enc_number(buf, 100, 8, Some(self.mode as u64));
        pax |= enc_number(buf, 108, 8, self.owner);
        pax |= enc_number(buf, 116, 8, self.owner);
        pax |= enc_number(buf, 124, 12, Some(self.size));
        pax |= enc_number(buf, 136, 12, Some(self.mtime));
        buf[156] = self.entry_type.flag();
        pax |= enc_string(buf, 157, 100, self.linkpath);
        buf[257..265].copy_from_slice(b"ustar\x0000");
        pax |= enc_number(buf, 329, 8, Some(0));
        pax |= enc_number(buf, 337, 8, Some(0));
        pax |= enc_string(buf, 345, 155, Some(&prefix));
        write_checksum(buf);
        pax
    }
}

fn write_checksum(buf: &mut [u8; 512]) {
    let sum: u64 = 8 * 0x20
        + buf[..148].iter().map(|&b| b as u64).sum::<u64>()
        + buf[156..].iter().map(|&b| b as u64).sum::<u64>();
    enc_number(buf, 148, 8, Some(sum));
}

/// The PAX extended header node-tar writes in portable mode.
fn encode_pax(h: &Header, out: &mut Vec<u8>) {
    let mut body = String::new();
    pax_field(&mut body, "path", h.path);
    if let Some(l) = h.linkpath {
        pax_field(&mut body, "linkpath", l);
    }
    pax_field(&mut body, "mtime", &h.mtime.to_string());
    pax_field(&mut body, "size", &h.size.to_string());
    let body = body.into_bytes();

    let pax_path = js_slice(&format!("PaxHeader/{}", posix::basename(h.path)), 99);
    let pax_header = Header {
        path: &pax_path,
        mode: 0o644,
        size: body.len() as u64,
        mtime: h.mtime,
        entry_type: EntryType::File,
        linkpath: Some(""),
        owner: h.owner,
    };
    let mut block = [0u8; 512];
    pax_header.encode_block(&mut block);
    block[156] = b'x';
    write_checksum(&mut block);
    out.extend_from_slice(&block);
    out.extend_from_slice(&body);
    pad_to_block(out, body.len() as u64);
}

fn pax_field(body: &mut String, key: &str, value: &str) {
    let s = format!(" {key}={value}\n");
    let byte_len = s.len();
    let mut digits = (byte_len as f64).log10().floor() as u32 + 1;
    if byte_len as u64 + digits as u64 >= 10u64.pow(digits) {
        digits += 1;
    }
    body.push_str(&(digits as usize + byte_len).to_string());
    body.push_str(&s);
}

/// Appends NULs so that data of `len` bytes fills whole 512-byte blocks.
pub fn pad_to_block(out: &mut Vec<u8>, len: u64) {
    let rem = (len % 512) as usize;
    if rem != 0 {
        out.resize(out.len() + 512 - rem, 0);
    }
}

fn utf16_len(s: &str) -> usize {
    s.chars().map(char::len_utf16).sum()
}

/// `String.prototype.slice(0, n)` in UTF-16 units; a split surrogate pair
/// becomes U+FFFD, as Buffer.write encodes a lone surrogate.
fn js_slice(s: &str, n: usize) -> String {
    let mut out = String::new();
    let mut used = 0;
    for c in s.chars() {
        let w = c.len_utf16();
        if used + w > n {
            if used < n {
                out.push('\u{FFFD}');
            }
            break;
        }
        used += w;
        out.push(c);
    }
    out
}

/// node-tar's `encString`: UTF-8, never a partial character, NUL padded;
/// true when the value needs PAX.
fn enc_string(buf: &mut [u8], off: usize, size: usize, s: Option<&str>) -> bool {
    let Some(s) = s else {
        return false;
    };
    let mut n = 0;
    for c in s.chars() {
        let w = c.len_utf8();
        if n + w > size {
            break;
        }
        c.encode_utf8(&mut buf[off + n..off + n + w]);
        n += w;
    }
    for b in &mut buf[off + n..off + size] {
        *b = 0;
    }
    let u16len = utf16_len(s);
    u16len != s.len() || u16len > size
}

/// node-tar's `encNumber`: zero-padded octal, space, NUL; base-256 (and
/// PAX) when the value does not fit.
fn enc_number(buf: &mut [u8], off: usize, size: usize, num: Option<u64>) -> bool {
    let Some(num) = num else {
        return false;
    };
    let max = if size == 12 {
        MAX_OCTAL_12
    } else {
        MAX_OCTAL_8
    };
    if num > max {
        buf[off] = 0x80;
        let mut n = num;
        for i in (1..size).rev() {
            buf[off + i] = (n & 0xff) as u8;
            n >>= 8;
        }
        return true;
    }
    let digits = format!("{num:o}");
    let s = if digits.len() == size - 1 {
        format!("{digits}\0")
    } else {
        format!("{}{digits} \0", "0".repeat(size - digits.len() - 2))
    };
    buf[off..off + size].copy_from_slice(s.as_bytes());
    false
}

/// node-tar's `splitPrefix`: (name, prefix, needs PAX).
fn split_prefix(p: &str, prefix_size: usize) -> (String, String, bool) {
    const PATH_SIZE: usize = 100;
    if p.len() < PATH_SIZE {
        return (p.to_string(), String::new(), false);
    }
    let mut prefix = posix::dirname(p).to_string();
    let mut pp = posix::basename(p).to_string();
    loop {
        if pp.len() <= PATH_SIZE && prefix.len() <= prefix_size {
            return (pp, prefix, false);
        } else if pp.len() > PATH_SIZE && prefix.len() <= prefix_size {
            return (js_slice(&pp, PATH_SIZE - 1), prefix, true);
        } else {
            pp = format!("{}/{}", posix::basename(&prefix), pp);
            prefix = posix::dirname(&prefix).to_string();
        }
        if prefix == "." {
            return (js_slice(p, PATH_SIZE - 1), String::new(), true);
        }
    }
}

/// One planned entry of a package tarball.
#[derive(Debug, Clone)]
pub struct TarEntry {
    /// Path without the `package/` prefix.
    pub path: String,
    pub abs: PathBuf,
    /// Mode as written (bin fix and node-tar's portable mode fix applied).
    pub mode: u32,
    /// Bytes of content (0 for hard links).
    pub size: u64,
    /// For hard links: the earlier entry's path (without prefix).
    pub link_to: Option<String>,
}

impl TarEntry {
    /// Plans npm's entries for a pack list: hard links become link entries
    /// to the first path with the same (dev, inode), `bin` files get +x,
    /// modes are normalized as `(m | 0o600) & !0o022`.
    pub fn plan(list: &PackList) -> Vec<TarEntry> {
        let mut first_by_inode: HashMap<(u64, u64), String> = HashMap::new();
        list.files
            .iter()
            .map(|f| {
                let mut mode = f.mode & 0o7777;
                if list.manifest.is_bin(&f.path) {
                    mode |= 0o111;
                }
                mode = (mode | 0o600) & !0o022;
                let mut link_to = None;
                if f.nlink > 1 {
                    match first_by_inode.get(&(f.dev, f.ino)) {
                        Some(first) => link_to = Some(first.clone()),
                        None => {
                            first_by_inode.insert((f.dev, f.ino), f.path.clone());
                        }
                    }
                }
                TarEntry {
                    path: f.path.clone(),
                    abs: f.abs.clone(),
                    mode,
                    size: if link_to.is_some() { 0 } else { f.size },
                    link_to,
                }
            })
            .collect()
    }
}

/// How entries are written: npm's style, or the OCI layer's.
#[derive(Debug, Clone)]
pub struct TarStyle {
    /// Prepended to every path (`package/`, or `<plugin-dir>/`).
    pub prefix: String,
    pub mtime: u64,
    pub owner: Option<u64>,
}

impl TarStyle {
    /// Exactly what `npm pack` writes.
    pub fn npm() -> TarStyle {
        TarStyle {
            prefix: "package/".into(),
            mtime: NPM_MTIME,
            owner: None,
        }
    }
}

/// Size of the chunks handed to the sink: large enough to keep system
/// calls and channel traffic negligible, small enough to stay in cache.
pub const CHUNK: usize = 256 * 1024;

/// Writes the entries (headers, contents, padding) to `sink` in chunks of
/// about [`CHUNK`] bytes. A file whose size differs from what was planned
/// is an error: the archive would otherwise be corrupt or silently short.
/// Does not write the end-of-archive blocks (see [`END_OF_ARCHIVE`]).
pub fn write_entries(
    entries: &[TarEntry],
    style: &TarStyle,
    sink: &mut dyn FnMut(Vec<u8>) -> Result<()>,
) -> Result<()> {
    write_entries_counted(entries, style, sink, &None)
}

/// [`write_entries`], advancing `progress` by each entry once it is read.
pub fn write_entries_counted(
    entries: &[TarEntry],
    style: &TarStyle,
    sink: &mut dyn FnMut(Vec<u8>) -> Result<()>,
    progress: &crate::progress::SharedProgress,
) -> Result<()> {
    let mut buf: Vec<u8> = Vec::with_capacity(CHUNK * 2);
    for e in entries {
        let path = format!("{}{}", style.prefix, e.path);
        let linkpath = e.link_to.as_ref().map(|l| format!("{}{}", style.prefix, l));
        Header {
            path: &path,
            mode: e.mode,
            size: e.size,
            mtime: style.mtime,
            entry_type: if linkpath.is_some() {
                EntryType::HardLink
            } else {
                EntryType::File
            },
            linkpath: linkpath.as_deref(),
            owner: style.owner,
        }
        .encode(&mut buf);
        if e.size > 0 {
            append_file(e, &mut buf, sink)?;
        }
        crate::progress::file_done(progress, e.size);
        if buf.len() >= CHUNK {
            sink(std::mem::replace(&mut buf, Vec::with_capacity(CHUNK * 2)))?;
        }
    }
    if !buf.is_empty() {
        sink(buf)?;
    }
    Ok(())
}

/// The two zero blocks that end every archive npm writes.
pub const END_OF_ARCHIVE: [u8; 1024] = [0; 1024];

/// Appends the contents of `e.abs` (exactly `e.size` bytes) and the
/// padding to `buf`, handing full chunks to `sink`; fails with
/// `E_FILE_CHANGED` when the file is not that size any more.
pub fn append_file(
    e: &TarEntry,
    buf: &mut Vec<u8>,
    sink: &mut dyn FnMut(Vec<u8>) -> Result<()>,
) -> Result<()> {
    // Never block on a file swapped for a FIFO since the walk; anything
    // but a regular file of the planned size would corrupt the archive.
    let mut file = crate::input::open_no_block(&e.abs).at(&e.abs)?;
    let meta = file.metadata().at(&e.abs)?;
    if !meta.is_file() || meta.len() != e.size {
        return Err(Error::FileChanged {
            path: e.abs.clone(),
            expected: e.size,
            actual: if meta.is_file() { meta.len() } else { 0 },
        });
    }
    let mut remaining = e.size;
    while remaining > 0 {
        if buf.len() >= CHUNK {
            sink(std::mem::replace(buf, Vec::with_capacity(CHUNK * 2)))?;
        }
        let want = remaining.min((CHUNK * 2 - buf.len()).max(64 * 1024) as u64) as usize;
        let start = buf.len();
        buf.resize(start + want, 0);
        let n = read_full(&mut file, &mut buf[start..]).at(&e.abs)?;
        buf.truncate(start + n);
        if n == 0 {
            return Err(Error::FileChanged {
                path: e.abs.clone(),
                expected: e.size,
                actual: e.size - remaining,
            });
        }
        remaining -= n as u64;
    }
    let mut probe = [0u8; 1];
    if file.read(&mut probe).at(&e.abs)? != 0 {
        return Err(Error::FileChanged {
            path: e.abs.clone(),
            expected: e.size,
            actual: e.size + 1,
        });
    }
    pad_to_block(buf, e.size);
    Ok(())
}

fn read_full(f: &mut std::fs::File, mut dst: &mut [u8]) -> std::io::Result<usize> {
    let mut total = 0;
    while !dst.is_empty() {
        match f.read(dst) {
            Ok(0) => break,
            Ok(n) => {
                total += n;
                dst = &mut dst[n..];
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(path: &str) -> Vec<u8> {
        let mut out = Vec::new();
        Header {
            path,
            mode: 0o644,
            size: 4,
            mtime: NPM_MTIME,
            entry_type: EntryType::File,
            linkpath: None,
            owner: None,
        }
        .encode(&mut out);
        out
    }

    #[test]
    fn short_ascii_path_has_no_pax() {
        let h = header("package/index.js");
        assert_eq!(h.len(), 512);
        assert_eq!(&h[100..108], b"000644 \0");
        assert_eq!(&h[108..124], &[0u8; 16]);
        assert_eq!(&h[124..136], b"0000000004 \0");
        assert_eq!(&h[136..148], b"3560116604 \0");
        assert_eq!(&h[257..265], b"ustar\x0000");
        assert_eq!(&h[329..345], b"000000 \x00000000 \x00");
        // checksum: 6 digits, space, NUL
        assert_eq!(h[154], b' ');
        assert_eq!(h[155], 0);
    }

    #[test]
    fn non_ascii_path_gets_pax() {
        let h = header("package/é.js");
        assert_eq!(h.len(), 512 * 3);
        assert_eq!(h[156], b'x');
        let body = std::str::from_utf8(&h[512..512 + 60]).unwrap();
        assert!(body.starts_with("22 path=package/é.js\n19 mtime=499162500\n9 size=4\n"));
    }

    #[test]
    fn split_prefix_rules() {
        let p99 = format!("package/{}", "a".repeat(91));
        assert_eq!(split_prefix(&p99, 155), (p99.clone(), String::new(), false));
        let p100 = format!("package/dist/{}", "a".repeat(87));
        let (name, prefix, pax) = split_prefix(&p100, 155);
        assert_eq!(
            (prefix.as_str(), name.len(), pax),
            ("package/dist", 87, false)
        );
        let long = format!("package/dist/{}", "b".repeat(124));
        let (name, prefix, pax) = split_prefix(&long, 155);
        assert_eq!(
            (prefix.as_str(), name.len(), pax),
            ("package/dist", 99, true)
        );
    }

    #[test]
    fn pax_length_counts_its_own_digits() {
        let mut s = String::new();
        pax_field(&mut s, "size", "4");
        assert_eq!(s, "9 size=4\n");
        let mut s = String::new();
        pax_field(&mut s, "path", &"x".repeat(91));
        // " path=" + 91 + "\n" = 98 bytes, 2 digits -> 100 -> 3 digits
        assert!(s.starts_with("101 path="));
    }
}
