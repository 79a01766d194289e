//! Steps 1 and 3 of the exact parallel compressor: compress overlapping
//! chunks speculatively with the host's own zlib on all cores, decode each
//! run back into its parse, and stitch the parses where they re-join.
//!
//! Why a stitch is exact. At level 9 zlib runs `deflate_slow`, whose state
//! between two steps is the position, the lazy-match state (`prev_length`,
//! `prev_match`, `match_available`) and the hash chains over the window.
//! Right after a match symbol the lazy state is canonical
//! (`prev_length = MIN_MATCH-1`, no pending literal), and every position
//! before the match end is in the chains. The chains are only walked back to
//! `strstart - MAX_DIST` (32,506 bytes), and `fill_window` keeps at least
//! `MIN_LOOKAHEAD` (262) bytes ahead except at the end of the input. So two
//! runs that both emit a match ending at the same position `q`, whose inputs
//! both hold the `MAX_DIST` bytes before `q` as *ordinary input* (so every
//! position was hashed from its real bytes), and that both have more than
//! `MARGIN` bytes after the symbols compared, make the same choices from `q`
//! on: the parse is the same function of the same bytes. Block flushes do
//! not touch that state, and `Z_NO_FLUSH` input feeding does not change it.
//!
//! Runs are primed with [`PREFIX`] bytes of plain input rather than
//! `deflateSetDictionary`: with Chromium's 4-byte hash, the dictionary path
//! hashes the position 3 bytes before the dictionary's end from a byte that
//! is not there yet, so that position lands in the wrong chain and a later
//! match into it is missed. Measured on the zlib of Node 20, 22 and 24: 20
//! of 20 crafted inputs parse differently that way, 0 of 120 with plain
//! priming (`__test__/gzip-parallel.test.mjs`, "adversarial").
//!
//! Two runs that share no match end in the overlap (long periodic data such
//! as a run of one byte: the 258-byte matches stay out of phase) are
//! handled by compressing the first one again over a longer input, which
//! continues that stretch sequentially. A run whose needed stretch the host
//! coded as a stored block hides its parse: the whole input falls back
//! ([`Fallback`]).
//!
//! Step 2 (decoding) is [`super::inflate_symbols`]; step 4 (re-encoding the
//! stitched parse as `trees.c` would) is [`super::trees`]. Not yet used by
//! `NpmGzip`: stored blocks hide the parse of incompressible stretches, and
//! real plugin tars have some (docs/performance.md, "Exact parallel gzip").

use rayon::prelude::*;

use super::symbols::Symbol;
use crate::error::{Error, Result};

/// Bytes of ordinary input before each chunk: more than zlib's `MAX_DIST`
/// (32,768 - 262) so that every position a match from the chunk can reach
/// was hashed from its real bytes.
pub const PREFIX: usize = 32 * 1024 + 1024;
/// Bytes each run continues past its chunk, where the next chunk's run must
/// re-join it.
pub const TAIL: usize = 32 * 1024;
/// Symbols within this many bytes of a truncated run's end are not trusted
/// (lookahead shorter than `MIN_LOOKAHEAD`, lazy look-ahead of 258 + 1).
pub const MARGIN: usize = 1024;

/// A decoded run: its symbols, and the stored blocks whose parse zlib hid
/// (symbol index where each starts, its input offset and length).
pub struct Parse {
    pub symbols: Vec<Symbol>,
    pub stored: Vec<(usize, usize, usize)>,
}

/// Why a parallel compression gave up (the caller compresses sequentially).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fallback {
    /// A run's needed stretch was in a stored block (no parse to read).
    Stored,
    /// Neighbouring runs did not re-join, and the re-runs that continue
    /// such stretches sequentially would cost more than compressing the
    /// whole input twice (long periodic data).
    NoJoin,
}

/// Figures of one stitched compression, for tests and measurements.
#[derive(Debug, Default, Clone)]
pub struct Stats {
    /// Per chunk boundary: how far past the chunk start the join was.
    pub join_distances: Vec<usize>,
    pub runs: usize,
    /// CPU time of the speculative host deflates and of decoding them,
    /// summed over the runs (ms; Linux only, else 0).
    pub compress_cpu_ms: f64,
    pub decode_cpu_ms: f64,
    /// Input bytes the runs compressed in all (overlaps and re-runs
    /// included).
    pub compressed_bytes: usize,
    /// Runs compressed again, longer, because they shared no match end
    /// with the next run, and the bytes those re-runs compressed.
    pub reruns: usize,
    pub rerun_bytes: usize,
}

/// CPU time of the calling thread (ms).
pub fn thread_cpu_ms() -> f64 {
    #[cfg(target_os = "linux")]
    {
        let mut t = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: a valid clock id and a live timespec.
        unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut t) };
        t.tv_sec as f64 * 1e3 + t.tv_nsec as f64 / 1e6
    }
    #[cfg(not(target_os = "linux"))]
    {
        0.0
    }
}

/// Speculative runs over `input` cut every `chunk` bytes, decoded and
/// stitched on `threads` threads: the host zlib's sequential parse of the
/// whole input, or why it could not be had.
pub fn stitched_parse(
    input: &[u8],
    chunk: usize,
    threads: usize,
) -> Result<std::result::Result<(Vec<Symbol>, Stats), Fallback>> {
    stitched_parse_primed(input, chunk, threads, Prime::Prefix, TAIL)
}

/// How a speculative run gets the history before its chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prime {
    /// [`PREFIX`] bytes of ordinary input (the exact one).
    Prefix,
    /// `deflateSetDictionary` with the 32 KiB before the chunk (measured,
    /// not used: see the module documentation).
    Dictionary,
}

/// [`stitched_parse`] with a choice of priming and of the overlap past each
/// chunk (more than [`MARGIN`]), for tests and measurements.
pub fn stitched_parse_primed(
    input: &[u8],
    chunk: usize,
    threads: usize,
    prime: Prime,
    tail: usize,
) -> Result<std::result::Result<(Vec<Symbol>, Stats), Fallback>> {
    let chunk = chunk.max(1);
    let tail = tail.max(MARGIN + 1);
    let n = input.len();
    let starts: Vec<usize> = (0..n.div_ceil(chunk).max(1)).map(|k| k * chunk).collect();
    let runs: Vec<(usize, usize)> = starts
        .iter()
        .map(|&s| {
            let a = match prime {
                Prime::Prefix => s.saturating_sub(PREFIX),
                Prime::Dictionary => s,
            };
            (a, (s + chunk + tail).min(n))
        })
        .collect();
    let run = |a: usize, b: usize| -> Result<(Parse, f64, f64)> {
        let t0 = thread_cpu_ms();
        let history = match prime {
            Prime::Dictionary => a.min(32 * 1024),
            Prime::Prefix => 0,
        };
        let dictionary = (history > 0).then(|| &input[a - history..a]);
        let out = super::host_deflate_raw(&input[a..b], dictionary)?;
        let t1 = thread_cpu_ms();
        let p = decode(&out, a, history)?;
        Ok((p, t1 - t0, thread_cpu_ms() - t1))
    };
    let parses: Vec<Result<(Parse, f64, f64)>> = in_pool(threads, || {
        runs.par_iter().map(|&(a, b)| run(a, b)).collect()
    });
    let parses: Vec<(Parse, f64, f64)> = parses.into_iter().collect::<Result<_>>()?;
    let (compress_cpu_ms, decode_cpu_ms) = parses
        .iter()
        .fold((0.0, 0.0), |(c, d), p| (c + p.1, d + p.2));
    let parses: Vec<Parse> = parses.into_iter().map(|p| p.0).collect();
    let compressed_bytes: usize = runs.iter().map(|(a, b)| b - a).sum();
    let rerun = |a: usize, b: usize| run(a, b).map(|r| r.0);
    Ok(
        stitch(n, starts, runs, parses, &rerun)?.map(|(parse, stats)| {
            (
                parse,
                Stats {
                    compress_cpu_ms,
                    decode_cpu_ms,
                    compressed_bytes: compressed_bytes + stats.rerun_bytes,
                    ..stats
                },
            )
        }),
    )
}

/// Runs `f` in a rayon pool of `threads` threads (pools are kept per size).
fn in_pool<T: Send>(threads: usize, f: impl FnOnce() -> T + Send) -> T {
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex, OnceLock};
    static POOLS: OnceLock<Mutex<HashMap<usize, Arc<rayon::ThreadPool>>>> = OnceLock::new();
    let threads = threads.clamp(1, 256);
    let pool = POOLS
        .get_or_init(Default::default)
        .lock()
        .unwrap()
        .entry(threads)
        .or_insert_with(|| {
            Arc::new(
                rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .build()
                    .expect("a thread pool"),
            )
        })
        .clone();
    pool.install(f)
}

/// The steps of a parse in order: (symbols consumed so far, input offset
/// after the step, `Some(is_match)` or `None` for a stored block).
fn walk(p: &Parse, base: usize) -> impl Iterator<Item = (usize, usize, Option<bool>)> + '_ {
    let mut pos = base;
    let mut stored = p.stored.iter().peekable();
    let mut i = 0usize;
    std::iter::from_fn(move || {
        if let Some(&&(at, off, len)) = stored.peek() {
            if at == i {
                stored.next();
                debug_assert_eq!(off, pos);
                pos += len;
                return Some((i, pos, None));
            }
        }
        let s = *p.symbols.get(i)?;
        pos += s.length() as usize;
        i += 1;
        Some((i, pos, Some(!s.is_literal())))
    })
}

/// Joins the runs' parses. When run `k` shares no match end with run
/// `k + 1`, run `k` is compressed again through the end of run `k + 1`
/// (`rerun`), which takes its place: the same fresh start over a longer
/// input decides the same symbols up to where the shorter run was trusted,
/// and sequential compression continues that stretch.
fn stitch(
    n: usize,
    mut starts: Vec<usize>,
    mut runs: Vec<(usize, usize)>,
    mut parses: Vec<Parse>,
    rerun: &(dyn Fn(usize, usize) -> Result<Parse> + Sync),
) -> Result<std::result::Result<(Vec<Symbol>, Stats), Fallback>> {
    let mut stats = Stats {
        runs: runs.len(),
        ..Stats::default()
    };
    let mut out: Vec<Symbol> = Vec::new();
    // Where the current run's trusted symbols begin: (symbol index, offset).
    let mut from = (0usize, 0usize);
    let mut k = 0;
    let mut fails = 0u32;
    while k < runs.len() {
        let (a, b) = runs[k];
        let trusted_end = if b == n { n } else { b - MARGIN.min(b - a) };
        // The join with the next run: the first offset at or after its
        // chunk start where both runs end a match, inside this run's
        // trusted range: (my symbol index, its symbol index, offset).
        let join = if k + 1 < runs.len() {
            let lo = starts[k + 1].max(from.1);
            let found = {
                let mut mine = walk(&parses[k], a).filter(|&(_, pos, _)| pos >= lo);
                let mut theirs =
                    walk(&parses[k + 1], runs[k + 1].0).filter(|&(_, pos, _)| pos >= lo);
                let (mut m, mut t) = (mine.next(), theirs.next());
                let mut found = None;
                while let (Some((mi, mpos, mk)), Some((ti, tpos, tk))) = (m, t) {
                    if mpos > trusted_end {
                        break;
                    }
                    if mpos < tpos {
                        m = mine.next();
                    } else if tpos < mpos {
                        t = theirs.next();
                    } else if mk == Some(true) && tk == Some(true) {
                        found = Some((mi, ti, mpos));
                        break;
                    } else {
                        m = mine.next();
                        t = theirs.next();
                    }
                }
                found
            };
            match found {
                Some(j) => Some(j),
                None => {
                    // Each new failure at the same run doubles the stretch
                    // it swallows, so a long periodic stretch costs its
                    // length a bounded number of times, not its square.
                    let swallow = (1usize << fails.min(20)).min(runs.len() - 1 - k);
                    let b = runs[k + swallow].1;
                    let needed = from.1..runs[k].1;
                    if parses[k]
                        .stored
                        .iter()
                        .any(|&(_, off, len)| off + len > needed.start && off < needed.end)
                    {
                        return Ok(Err(Fallback::Stored));
                    }
                    if stats.rerun_bytes + (b - a) > 3 * n {
                        return Ok(Err(Fallback::NoJoin));
                    }
                    parses[k] = rerun(a, b)?;
                    runs[k].1 = b;
                    runs.drain(k + 1..=k + swallow);
                    parses.drain(k + 1..=k + swallow);
                    starts.drain(k + 1..=k + swallow);
                    stats.reruns += 1;
                    stats.rerun_bytes += b - a;
                    fails += 1;
                    continue;
                }
            }
        } else {
            None
        };
        let p = &parses[k];
        let (end_sym, end_pos) = join.map_or((p.symbols.len(), n), |j| (j.0, j.2));
        if p.stored
            .iter()
            .any(|&(_, off, len)| off + len > from.1 && off < end_pos)
        {
            return Ok(Err(Fallback::Stored));
        }
        out.extend_from_slice(&p.symbols[from.0..end_sym]);
        if let Some((_, ti, pos)) = join {
            stats.join_distances.push(pos - starts[k + 1]);
            from = (ti, pos);
        }
        k += 1;
        fails = 0;
    }
    Ok(Ok((out, stats)))
}

/// Decodes a raw deflate stream into its parse (with
/// [`super::inflate_symbols`]); `base` is the input offset of its first
/// byte (for the stored blocks' offsets), `history` the length of the
/// preset dictionary its matches may reach into.
pub fn decode(data: &[u8], base: usize, history: usize) -> Result<Parse> {
    let decoded = super::inflate_symbols::decode(data, history).map_err(|_| Error::Zlib {
        operation: "decode of the host's deflate output",
        status: -3,
    })?;
    let stored = decoded
        .blocks
        .iter()
        .filter(|b| b.kind == super::inflate_symbols::BlockKind::Stored)
        .map(|b| {
            (
                b.first_symbol,
                base + b.input_start as usize,
                b.input_len as usize,
            )
        })
        .collect();
    let mut symbols = decoded.symbols;
    // Parses are held until stitched: keep only what they use.
    symbols.shrink_to_fit();
    Ok(Parse { symbols, stored })
}

/// The host zlib's own parse of the whole input, sequentially (the
/// reference the stitched parse must equal).
pub fn sequential_parse(input: &[u8]) -> Result<Parse> {
    decode(&super::host_deflate_raw(input, None)?, 0, 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host() {
        // The test binary links the system zlib, standing in for Node's.
        let _ = unsafe { libz_sys::zlibVersion() };
    }

    fn rng(seed: u64) -> impl FnMut() -> u64 {
        let mut x = seed.wrapping_mul(0x9e3779b97f4a7c15) | 1;
        move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        }
    }

    /// Text-like data with repeats at all distances, runs and noise.
    fn corpus(n: usize, seed: u64) -> Vec<u8> {
        let mut r = rng(seed);
        let words: Vec<Vec<u8>> = (0..300)
            .map(|_| (0..1 + r() % 9).map(|_| b'a' + (r() % 26) as u8).collect())
            .collect();
        let mut v = Vec::with_capacity(n);
        while v.len() < n {
            match r() % 20 {
                0 => v.extend(std::iter::repeat_n((r() % 256) as u8, (r() % 600) as usize)),
                1 => v.extend((0..r() % 300).map(|_| r() as u8)),
                2 if v.len() > 40000 => {
                    let d = 1 + (r() % 40000) as usize;
                    let l = (r() % 400) as usize;
                    for _ in 0..l {
                        v.push(v[v.len() - d]);
                    }
                }
                _ => {
                    v.extend_from_slice(&words[(r() % 300) as usize]);
                    v.push(b' ');
                }
            }
        }
        v.truncate(n);
        v
    }

    fn check(input: &[u8], chunk: usize, threads: usize) -> Option<Stats> {
        let seq = sequential_parse(input).unwrap();
        match stitched_parse(input, chunk, threads).unwrap() {
            Ok((parse, stats)) => {
                if seq.stored.is_empty() {
                    assert_eq!(parse.len(), seq.symbols.len());
                    let first = parse.iter().zip(&seq.symbols).position(|(a, b)| a != b);
                    assert_eq!(first, None, "chunk {chunk}, threads {threads}");
                }
                Some(stats)
            }
            Err(_) => None,
        }
    }

    #[test]
    fn decode_round_trips_the_host_output() {
        host();
        let data = corpus(300_000, 1);
        let p = sequential_parse(&data).unwrap();
        let mut out = Vec::new();
        for s in &p.symbols {
            if s.is_literal() {
                out.push(s.byte());
            } else {
                for _ in 0..s.length() {
                    out.push(out[out.len() - s.distance() as usize]);
                }
            }
        }
        assert_eq!(out, data);
    }

    #[test]
    fn stitched_parse_equals_sequential() {
        host();
        let mut joined = 0;
        for seed in 0..6 {
            let data = corpus(400_000 + seed as usize * 7777, seed);
            for (chunk, threads) in [(50_000, 2), (70_001, 7), (123_456, 1), (200_000, 64)] {
                if let Some(s) = check(&data, chunk, threads) {
                    joined += s.join_distances.len();
                }
            }
        }
        assert!(joined > 50, "{joined} joins");
    }

    #[test]
    fn periodic_data_rejoins_through_reruns() {
        host();
        let mut data = corpus(50_000, 2);
        data.extend(vec![0u8; 1_000_000]);
        data.extend(corpus(100_000, 3));
        data.extend(std::iter::repeat_n(b"abc".iter().copied(), 50_000).flatten());
        data.extend(corpus(100_000, 4));
        let seq = sequential_parse(&data).unwrap();
        let (parse, stats) = stitched_parse(&data, 64 * 1024, 2).unwrap().unwrap();
        assert!(stats.reruns > 0);
        assert!(parse == seq.symbols);
    }

    #[test]
    fn tiny_chunks_and_edge_inputs() {
        host();
        for data in [
            vec![],
            vec![7],
            vec![0; 100_000],
            corpus(1000, 9),
            corpus(3000, 11),
            corpus(70_000, 10),
        ] {
            for chunk in [1000, 4096, 65536] {
                check(&data, chunk, 2);
            }
        }
    }
}
