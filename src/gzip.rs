//! gzip, two ways: byte-identical to npm, or fast on every core.
//!
//! `npm pack` gzips with the zlib *inside the Node binary that runs it*
//! (Chromium's fork in official builds), at level 9, and overwrites the OS
//! byte with 0xff. No other zlib produces the same bytes, so
//! [`NpmGzip`] calls that very zlib: it looks up `deflateInit2_`,
//! `deflate` and `deflateEnd` in the host process (`dlsym(RTLD_DEFAULT)`
//! on Unix, `GetProcAddress` on the executable on Windows). When they are
//! not there it fails with `E_ZLIB_UNAVAILABLE` instead of silently
//! producing other bytes; the JavaScript layer also checks once per process
//! that the result equals `zlib.gzipSync`.
//!
//! [`FastGzip`] cuts the stream into fixed 1 MiB blocks, deflates them
//! independently on all cores (each ends with a sync flush, pigz-style) and
//! concatenates them: a valid gzip member whose bytes depend only on the
//! input and the level, not on the number of threads. Deflate is zlib-rs
//! (flate2's `zlib-rs` backend, a port of zlib-ng whose output is the same
//! on every CPU): 1.5x faster than miniz_oxide at level 3 on a 59 MB
//! backend plugin. Its bytes are pinned by a test, since image digests
//! depend on them.

use std::ffi::{c_char, c_int, c_uint, c_ulong, c_void, CStr};
use std::sync::OnceLock;

use flate2::{Compress, Compression, FlushCompress, Status};
use std::collections::VecDeque;
use std::sync::mpsc::{Receiver, RecvTimeoutError, TryRecvError};

use crate::error::{Error, Result};

pub mod inflate_symbols;
pub mod parallel;
pub mod symbols;
pub mod trees;

/// The header npm's tarballs start with: no name, mtime 0, XFL 2 (level 9),
/// OS 0xff (minizlib's portable mode).
pub const NPM_GZIP_HEADER: [u8; 10] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 2, 0xff];
/// The same header for the fast compressor (XFL 0: neither best nor fastest).
pub const FAST_GZIP_HEADER: [u8; 10] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];

/// Receives compressed bytes in order.
pub trait Sink {
    fn write(&mut self, bytes: &[u8]) -> Result<()>;
}

/// A gzip compressor fed in chunks.
pub trait Gzip: Send {
    fn push(&mut self, data: &[u8], sink: &mut dyn Sink) -> Result<()>;
    fn finish(self: Box<Self>, sink: &mut dyn Sink) -> Result<()>;
}

// ---------------------------------------------------------------------------
// The host's zlib.

#[repr(C)]
struct ZStream {
    next_in: *const u8,
    avail_in: c_uint,
    total_in: c_ulong,
    next_out: *mut u8,
    avail_out: c_uint,
    total_out: c_ulong,
    msg: *const c_char,
    state: *mut c_void,
    zalloc: *const c_void,
    zfree: *const c_void,
    opaque: *mut c_void,
    data_type: c_int,
    adler: c_ulong,
    reserved: c_ulong,
}

type DeflateInit2 = unsafe extern "C" fn(
    *mut ZStream,
    c_int,
    c_int,
    c_int,
    c_int,
    c_int,
    *const c_char,
    c_int,
) -> c_int;
type Deflate = unsafe extern "C" fn(*mut ZStream, c_int) -> c_int;
type DeflateEnd = unsafe extern "C" fn(*mut ZStream) -> c_int;
type ZlibVersion = unsafe extern "C" fn() -> *const c_char;
type DeflateSetDictionary = unsafe extern "C" fn(*mut ZStream, *const u8, c_uint) -> c_int;

struct HostZlib {
    init: DeflateInit2,
    deflate: Deflate,
    end: DeflateEnd,
    /// Optional: only the parallel compressor's experiments use it.
    set_dictionary: Option<DeflateSetDictionary>,
    version: String,
}

// The function pointers are process-global code addresses.
unsafe impl Send for HostZlib {}
unsafe impl Sync for HostZlib {}

#[cfg(unix)]
fn lookup(name: &CStr) -> *mut c_void {
    unsafe { libc::dlsym(libc::RTLD_DEFAULT, name.as_ptr()) }
}

#[cfg(windows)]
fn lookup(name: &CStr) -> *mut c_void {
    extern "system" {
        fn GetModuleHandleW(name: *const u16) -> *mut c_void;
        fn GetProcAddress(module: *mut c_void, name: *const c_char) -> *mut c_void;
    }
    unsafe { GetProcAddress(GetModuleHandleW(std::ptr::null()), name.as_ptr()) }
}

fn host_zlib() -> Result<&'static HostZlib> {
    static HOST: OnceLock<std::result::Result<HostZlib, String>> = OnceLock::new();
    HOST.get_or_init(|| {
        let find = |name: &CStr| {
            let p = lookup(name);
            if p.is_null() {
                Err(format!(
                    "the symbol {} is not exported by the host process",
                    name.to_string_lossy()
                ))
            } else {
                Ok(p)
            }
        };
        let init = find(c"deflateInit2_")?;
        let deflate = find(c"deflate")?;
        let end = find(c"deflateEnd")?;
        let version = find(c"zlibVersion")?;
        // SAFETY: the symbols are zlib's, whose C signatures are fixed.
        unsafe {
            let version: ZlibVersion = std::mem::transmute(version);
            let v = CStr::from_ptr(version()).to_string_lossy().into_owned();
            if !v.starts_with('1') {
                return Err(format!("the host's zlib reports version {v:?}"));
            }
            Ok(HostZlib {
                init: std::mem::transmute::<*mut c_void, DeflateInit2>(init),
                deflate: std::mem::transmute::<*mut c_void, Deflate>(deflate),
                end: std::mem::transmute::<*mut c_void, DeflateEnd>(end),
                set_dictionary: find(c"deflateSetDictionary")
                    .ok()
                    .map(|p| std::mem::transmute::<*mut c_void, DeflateSetDictionary>(p)),
                version: v,
            })
        }
    })
    .as_ref()
    .map_err(|reason| Error::ZlibUnavailable {
        reason: reason.clone(),
    })
}

/// The version string of the zlib that npm-identical compression uses.
pub fn host_zlib_version() -> Result<String> {
    host_zlib().map(|z| z.version.clone())
}

const Z_NO_FLUSH: c_int = 0;
const Z_FINISH: c_int = 4;
const Z_OK: c_int = 0;
const Z_STREAM_END: c_int = 1;
const Z_BUF_ERROR: c_int = -5;
const Z_DEFLATED: c_int = 8;

/// Level-9 raw deflate by the host's zlib, wrapped in npm's gzip header and
/// a CRC32/ISIZE trailer.
pub struct NpmGzip {
    zlib: &'static HostZlib,
    stream: Box<ZStream>,
    crc: crc32fast::Hasher,
    input_len: u64,
    out: Vec<u8>,
    started: bool,
}

// The z_stream is owned by this value and only used from one thread at a time.
unsafe impl Send for NpmGzip {}

/// A level-9 raw deflate stream of the host's zlib (windowBits -15,
/// memLevel 8, default strategy: npm's parameters).
fn host_stream(zlib: &HostZlib) -> Result<Box<ZStream>> {
    {
        let mut stream = Box::new(ZStream {
            next_in: std::ptr::null(),
            avail_in: 0,
            total_in: 0,
            next_out: std::ptr::null_mut(),
            avail_out: 0,
            total_out: 0,
            msg: std::ptr::null(),
            state: std::ptr::null_mut(),
            zalloc: std::ptr::null(),
            zfree: std::ptr::null(),
            opaque: std::ptr::null_mut(),
            data_type: 0,
            adler: 0,
            reserved: 0,
        });
        let version = std::ffi::CString::new(zlib.version.clone()).unwrap();
        // SAFETY: a zeroed z_stream with null allocators is zlib's documented
        // initial state; windowBits -15 asks for raw deflate.
        let rc = unsafe {
            (zlib.init)(
                &mut *stream,
                9,
                Z_DEFLATED,
                -15,
                8,
                0,
                version.as_ptr(),
                std::mem::size_of::<ZStream>() as c_int,
            )
        };
        if rc != Z_OK {
            return Err(Error::Zlib {
                operation: "deflateInit2",
                status: rc,
            });
        }
        Ok(stream)
    }
}

/// The whole raw deflate stream of `input` by the host's zlib at npm's
/// parameters, optionally primed with `dictionary` (`deflateSetDictionary`).
fn host_deflate_raw(input: &[u8], dictionary: Option<&[u8]>) -> Result<Vec<u8>> {
    struct Guard(&'static HostZlib, Box<ZStream>);
    impl Drop for Guard {
        fn drop(&mut self) {
            // SAFETY: initialised by host_stream.
            unsafe {
                (self.0.end)(&mut *self.1);
            }
        }
    }
    let zlib = host_zlib()?;
    let mut g = Guard(zlib, host_stream(zlib)?);
    if let Some(dict) = dictionary {
        let set = zlib.set_dictionary.ok_or_else(|| Error::ZlibUnavailable {
            reason: "the host process does not export deflateSetDictionary".into(),
        })?;
        // SAFETY: a fresh stream; the dictionary is live for the call.
        let rc = unsafe { set(&mut *g.1, dict.as_ptr(), dict.len() as c_uint) };
        if rc != Z_OK {
            return Err(Error::Zlib {
                operation: "deflateSetDictionary",
                status: rc,
            });
        }
    }
    let mut out: Vec<u8> = Vec::with_capacity(input.len() / 3 + 1024);
    let mut rest = input;
    loop {
        if out.capacity() - out.len() < 16 * 1024 {
            out.reserve(out.capacity().max(64 * 1024));
        }
        let take = rest.len().min(1 << 30);
        let flush = if take == rest.len() {
            Z_FINISH
        } else {
            Z_NO_FLUSH
        };
        let s = &mut *g.1;
        s.next_in = rest.as_ptr();
        s.avail_in = take as c_uint;
        let spare = out.capacity() - out.len();
        // SAFETY: next_out points at the vector's spare capacity.
        s.next_out = unsafe { out.as_mut_ptr().add(out.len()) };
        s.avail_out = spare.min(c_uint::MAX as usize) as c_uint;
        let avail_out = s.avail_out as usize;
        // SAFETY: the stream was initialised and its buffers are live.
        let rc = unsafe { (zlib.deflate)(s, flush) };
        let produced = avail_out - s.avail_out as usize;
        let consumed = take - s.avail_in as usize;
        // SAFETY: zlib wrote `produced` bytes there.
        unsafe { out.set_len(out.len() + produced) };
        rest = &rest[consumed..];
        match rc {
            Z_STREAM_END => return Ok(out),
            Z_OK | Z_BUF_ERROR => {}
            status => {
                return Err(Error::Zlib {
                    operation: "deflate",
                    status,
                })
            }
        }
    }
}

impl NpmGzip {
    pub fn new() -> Result<NpmGzip> {
        let zlib = host_zlib()?;
        let stream = host_stream(zlib)?;
        Ok(NpmGzip {
            zlib,
            stream,
            crc: crc32fast::Hasher::new(),
            input_len: 0,
            out: vec![0; 256 * 1024],
            started: false,
        })
    }

    fn run(&mut self, data: &[u8], flush: c_int, sink: &mut dyn Sink) -> Result<()> {
        if !self.started {
            sink.write(&NPM_GZIP_HEADER)?;
            self.started = true;
        }
        self.stream.next_in = data.as_ptr();
        self.stream.avail_in = data.len() as c_uint;
        loop {
            self.stream.next_out = self.out.as_mut_ptr();
            self.stream.avail_out = self.out.len() as c_uint;
            // SAFETY: the stream was initialised by deflateInit2_ and its
            // buffers point at live memory of the advertised sizes.
            let rc = unsafe { (self.zlib.deflate)(&mut *self.stream, flush) };
            let produced = self.out.len() - self.stream.avail_out as usize;
            if produced > 0 {
                sink.write(&self.out[..produced])?;
            }
            match rc {
                Z_STREAM_END => return Ok(()),
                Z_OK | Z_BUF_ERROR => {
                    if flush == Z_NO_FLUSH
                        && self.stream.avail_in == 0
                        && self.stream.avail_out != 0
                    {
                        return Ok(());
                    }
                    if rc == Z_BUF_ERROR && produced == 0 {
                        return Ok(());
                    }
                }
                status => {
                    return Err(Error::Zlib {
                        operation: "deflate",
                        status,
                    })
                }
            }
        }
    }
}

impl Drop for NpmGzip {
    fn drop(&mut self) {
        // SAFETY: initialised in new(); deflateEnd frees zlib's state.
        unsafe {
            (self.zlib.end)(&mut *self.stream);
        }
    }
}

impl Gzip for NpmGzip {
    fn push(&mut self, data: &[u8], sink: &mut dyn Sink) -> Result<()> {
        self.crc.update(data);
        self.input_len += data.len() as u64;
        // zlib's avail_in is 32-bit: feed huge inputs in slices.
        for part in data.chunks(1 << 30) {
            self.run(part, Z_NO_FLUSH, sink)?;
        }
        Ok(())
    }

    fn finish(mut self: Box<Self>, sink: &mut dyn Sink) -> Result<()> {
        self.run(&[], Z_FINISH, sink)?;
        let crc = std::mem::take(&mut self.crc).finalize();
        sink.write(&trailer(crc, self.input_len))
    }
}

fn trailer(crc: u32, len: u64) -> [u8; 8] {
    let mut t = [0u8; 8];
    t[..4].copy_from_slice(&crc.to_le_bytes());
    t[4..].copy_from_slice(&(len as u32).to_le_bytes());
    t
}

/// Gzips a whole buffer as npm does (for tests and the JS self-check).
pub fn npm_gzip(data: &[u8]) -> Result<Vec<u8>> {
    struct VecSink(Vec<u8>);
    impl Sink for VecSink {
        fn write(&mut self, b: &[u8]) -> Result<()> {
            self.0.extend_from_slice(b);
            Ok(())
        }
    }
    let mut sink = VecSink(Vec::new());
    let mut gz: Box<dyn Gzip> = Box::new(NpmGzip::new()?);
    gz.push(data, &mut sink)?;
    gz.finish(&mut sink)?;
    Ok(sink.0)
}

// ---------------------------------------------------------------------------
// Fast, parallel, deterministic.

/// Input bytes per independently deflated block.
pub const FAST_BLOCK: usize = 1 << 20;
/// Blocks being deflated at once (bounds memory, not the output).
const FAST_WINDOW: usize = 16;
/// Deflate level of the fast mode.
pub const FAST_LEVEL: u32 = 1;

/// pigz-style parallel gzip with fixed block boundaries: each full block is
/// handed to the rayon pool as soon as it is cut, and the deflated blocks
/// are written in input order.
pub struct FastGzip {
    pending: Vec<u8>,
    in_flight: VecDeque<Receiver<Vec<u8>>>,
    crc: crc32fast::Hasher,
    input_len: u64,
    started: bool,
    level: u32,
}

impl Default for FastGzip {
    fn default() -> Self {
        Self::new()
    }
}

impl FastGzip {
    pub fn new() -> FastGzip {
        FastGzip::with_level(FAST_LEVEL)
    }

    /// The same block scheme at another deflate level (0-9): the bytes
    /// still depend only on the input and the level. OCI layers use a
    /// higher level than packDynamic's 'fast' because every pull pays for
    /// their size.
    pub fn with_level(level: u32) -> FastGzip {
        FastGzip {
            pending: Vec::with_capacity(FAST_BLOCK),
            in_flight: VecDeque::new(),
            crc: crc32fast::Hasher::new(),
            input_len: 0,
            started: false,
            level: level.min(9),
        }
    }

    fn submit(&mut self, block: Vec<u8>, last: bool) {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        let level = self.level;
        rayon::spawn(move || {
            let _ = tx.send(deflate_block(&block, last, level));
        });
        self.in_flight.push_back(rx);
    }

    /// Writes the deflated blocks in order until at most `keep` are still
    /// being deflated, then those already done at the front.
    fn drain(&mut self, keep: usize, sink: &mut dyn Sink) -> Result<()> {
        if !self.started {
            sink.write(&FAST_GZIP_HEADER)?;
            self.started = true;
        }
        while self.in_flight.len() > keep {
            let rx = self.in_flight.pop_front().expect("a block in flight");
            sink.write(&wait_for(&rx))?;
        }
        while let Some(Ok(out)) = self.in_flight.front().map(Receiver::try_recv) {
            self.in_flight.pop_front();
            sink.write(&out)?;
        }
        Ok(())
    }
}

/// The deflated block of `rx`. On a rayon worker (a caller inside a pool)
/// blocking could starve the pool, so that thread runs other jobs while it
/// waits.
fn wait_for(rx: &Receiver<Vec<u8>>) -> Vec<u8> {
    const LOST: &str = "a deflate job panicked";
    if rayon::current_thread_index().is_none() {
        return rx.recv().expect(LOST);
    }
    loop {
        match rx.try_recv() {
            Ok(out) => return out,
            Err(TryRecvError::Disconnected) => panic!("{LOST}"),
            Err(TryRecvError::Empty) => {
                if rayon::yield_now() != Some(rayon::Yield::Executed) {
                    match rx.recv_timeout(std::time::Duration::from_micros(200)) {
                        Ok(out) => return out,
                        Err(RecvTimeoutError::Disconnected) => panic!("{LOST}"),
                        Err(RecvTimeoutError::Timeout) => {}
                    }
                }
            }
        }
    }
}

fn deflate_block(data: &[u8], last: bool, level: u32) -> Vec<u8> {
    let mut c = Compress::new(Compression::new(level), false);
    let mut out = Vec::with_capacity(data.len() / 2 + 1024);
    let flush = if last {
        FlushCompress::Finish
    } else {
        FlushCompress::Sync
    };
    let mut input = data;
    loop {
        if out.capacity() - out.len() < 64 * 1024 {
            out.reserve(256 * 1024);
        }
        let before_in = c.total_in();
        let status = c
            .compress_vec(input, &mut out, flush)
            .expect("deflate of memory cannot fail");
        input = &input[(c.total_in() - before_in) as usize..];
        match status {
            Status::StreamEnd => break,
            _ if !last && input.is_empty() && out.capacity() > out.len() => break,
            _ => {}
        }
    }
    out
}

impl Gzip for FastGzip {
    fn push(&mut self, mut data: &[u8], sink: &mut dyn Sink) -> Result<()> {
        self.crc.update(data);
        self.input_len += data.len() as u64;
        while !data.is_empty() {
            let take = (FAST_BLOCK - self.pending.len()).min(data.len());
            self.pending.extend_from_slice(&data[..take]);
            data = &data[take..];
            if self.pending.len() == FAST_BLOCK {
                let block = std::mem::replace(&mut self.pending, Vec::with_capacity(FAST_BLOCK));
                self.submit(block, false);
                self.drain(FAST_WINDOW, sink)?;
            }
        }
        Ok(())
    }

    fn finish(mut self: Box<Self>, sink: &mut dyn Sink) -> Result<()> {
        let tail = std::mem::take(&mut self.pending);
        self.submit(tail, true);
        self.drain(0, sink)?;
        let crc = std::mem::take(&mut self.crc).finalize();
        sink.write(&trailer(crc, self.input_len))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    struct VecSink(Vec<u8>);
    impl Sink for VecSink {
        fn write(&mut self, b: &[u8]) -> Result<()> {
            self.0.extend_from_slice(b);
            Ok(())
        }
    }

    fn sample(n: usize) -> Vec<u8> {
        (0..n)
            .map(|i| (i * 7 % 251) as u8 ^ (i / 1000) as u8)
            .collect()
    }

    fn gunzip(b: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(b)
            .read_to_end(&mut out)
            .unwrap();
        out
    }

    #[test]
    fn fast_round_trips_and_ignores_chunking() {
        let data = sample(3 * FAST_BLOCK + 12345);
        let mut a = VecSink(Vec::new());
        let mut gz: Box<dyn Gzip> = Box::new(FastGzip::new());
        gz.push(&data, &mut a).unwrap();
        gz.finish(&mut a).unwrap();
        let mut b = VecSink(Vec::new());
        let mut gz: Box<dyn Gzip> = Box::new(FastGzip::new());
        for c in data.chunks(777) {
            gz.push(c, &mut b).unwrap();
        }
        gz.finish(&mut b).unwrap();
        assert_eq!(a.0, b.0);
        assert_eq!(gunzip(&a.0), data);
    }

    fn fast_gzip(data: &[u8], level: u32) -> Vec<u8> {
        let mut out = VecSink(Vec::new());
        let mut gz: Box<dyn Gzip> = Box::new(FastGzip::with_level(level));
        for c in data.chunks(100_000) {
            gz.push(c, &mut out).unwrap();
        }
        gz.finish(&mut out).unwrap();
        out.0
    }

    #[test]
    fn fast_bytes_do_not_depend_on_threads_or_the_calling_pool() {
        let data = sample(40 * FAST_BLOCK + 999);
        let here = fast_gzip(&data, 3);
        for threads in [1, 2, 7] {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            // Called from a worker of the pool, as a caller inside rayon would.
            assert_eq!(
                pool.install(|| fast_gzip(&data, 3)),
                here,
                "{threads} threads"
            );
        }
        assert_eq!(gunzip(&here), data);
    }

    /// The image digests users pin depend on these bytes: a new deflate
    /// backend or version that changes them must be a deliberate choice.
    #[test]
    fn fast_bytes_are_pinned() {
        use sha2::{Digest, Sha256};
        let data = sample(3 * FAST_BLOCK + 4321);
        let digests: Vec<String> = [1, 3, 9]
            .iter()
            .map(|&level| crate::hex::hex(&Sha256::digest(fast_gzip(&data, level))))
            .collect();
        assert_eq!(
            digests,
            [
                "6bde4d407223eb30d06648728cf53278e4d5561600e75375540c1f366913d8fa",
                "bc22a5c8511027d41a9fd9013017b7ab58eae5f35344b055520cd45a439159cf",
                "4bcbf188646bba2a4b0508c0b751e686759754e665821d00825a50cac6f2a9f8",
            ]
        );
    }

    #[test]
    fn fast_empty_input() {
        let mut a = VecSink(Vec::new());
        let gz: Box<dyn Gzip> = Box::new(FastGzip::new());
        gz.finish(&mut a).unwrap();
        assert_eq!(gunzip(&a.0), Vec::<u8>::new());
    }

    #[test]
    fn host_zlib_round_trips() {
        // The test binary links the system zlib (dev-dependency), which
        // stands in for Node's here.
        let _ = unsafe { libz_sys::zlibVersion() };
        let data = sample(500_000);
        let gz = npm_gzip(&data).unwrap();
        assert_eq!(&gz[..10], &NPM_GZIP_HEADER);
        assert_eq!(gunzip(&gz), data);
    }
}
