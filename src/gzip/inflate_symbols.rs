//! Raw deflate → its parse: the literals and matches the compressor chose,
//! and where its blocks start and end.
//!
//! The exact parallel compressor lets the host zlib compress chunks
//! speculatively and then needs to know *what it decided* (step 2 of
//! issue 23): this decoder recovers that without reconstructing the bytes.
//! It is table-driven like zlib's `inflate_fast` (a 10-bit primary table
//! for literal/lengths, 8-bit for distances, second-level tables for longer
//! codes), reads the input 64 bits at a time, and is bounded on hostile
//! input: every malformed stream is an error, never a panic, and the output
//! is at most one symbol per input bit.
//!
//! A stored block carries no parse (zlib chose to store the bytes, not how
//! it would have matched them): it appears as a [`BlockInfo`] with
//! `symbol_count == 0` and its byte span, so the caller can fall back.

use super::symbols::Symbol;

/// Why a stream could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("the deflate stream ends in the middle of a block (bit {bit})")]
    Truncated { bit: u64 },
    #[error("invalid deflate block type 3 at bit {bit}")]
    BadBlockType { bit: u64 },
    #[error("stored block length does not match its complement at byte {byte}")]
    BadStoredLength { byte: u64 },
    #[error("invalid Huffman code description at bit {bit}: {reason}")]
    BadCodes { bit: u64, reason: &'static str },
    #[error("invalid literal/length or distance code at bit {bit}")]
    BadSymbol { bit: u64 },
    #[error("match distance {distance} reaches before the start of the data (position {position}, history {history})")]
    DistanceTooFar {
        distance: u32,
        position: u64,
        history: u64,
    },
}

pub type Result<T> = std::result::Result<T, DecodeError>;

/// The three block encodings of RFC 1951.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockKind {
    Stored,
    Fixed,
    Dynamic,
}

/// One block of the stream: which symbols it holds and which bytes of the
/// decompressed data it covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockInfo {
    pub kind: BlockKind,
    /// Index of the block's first symbol in [`Decoded::symbols`].
    pub first_symbol: usize,
    /// 0 for a stored block (its bytes are not parsed).
    pub symbol_count: usize,
    /// Offset of the block's first byte in the decompressed data.
    pub input_start: u64,
    /// Decompressed bytes the block covers.
    pub input_len: u64,
    /// The BFINAL bit.
    pub last: bool,
    /// Bit offset of the block header in the raw stream.
    pub bit_start: u64,
    /// Bit offset just past the block (past its end-of-block code).
    pub bit_end: u64,
    /// For a stored block, the byte offset of its data in the raw stream.
    pub stored_offset: Option<usize>,
}

/// A decoded stream: its parse and its blocks.
#[derive(Debug, Clone, Default)]
pub struct Decoded {
    pub symbols: Vec<Symbol>,
    pub blocks: Vec<BlockInfo>,
    /// Decompressed length.
    pub output_len: u64,
    /// False when the data ended on a block boundary before a block with
    /// BFINAL (a flushed, unfinished stream).
    pub complete: bool,
    /// Bits read, including the final block's padding to a byte.
    pub bits_used: u64,
}

impl Decoded {
    /// True when some block is stored, i.e. part of the data has no parse.
    pub fn has_stored(&self) -> bool {
        self.blocks.iter().any(|b| b.kind == BlockKind::Stored)
    }

    /// The decompressed bytes, rebuilt from the parse and the stored blocks'
    /// data (`raw` is the stream that was decoded). `history` is the data
    /// that preceded the stream (a preset dictionary), needed when matches
    /// reach before its start. Used to check a parse against its input.
    pub fn output(&self, raw: &[u8], history: &[u8]) -> Result<Vec<u8>> {
        let mut out = Vec::with_capacity(history.len() + self.output_len as usize);
        out.extend_from_slice(history);
        for b in &self.blocks {
            match b.stored_offset {
                Some(at) => out.extend_from_slice(&raw[at..at + b.input_len as usize]),
                None => replay(
                    &self.symbols[b.first_symbol..b.first_symbol + b.symbol_count],
                    &mut out,
                )?,
            }
        }
        out.drain(..history.len());
        Ok(out)
    }
}

/// Appends the bytes `symbols` stand for to `out`, whose current content is
/// the history matches refer to.
pub fn replay(symbols: &[Symbol], out: &mut Vec<u8>) -> Result<()> {
    for s in symbols {
        if s.is_literal() {
            out.push(s.byte());
            continue;
        }
        let (len, dist) = (s.length() as usize, s.distance() as usize);
        if dist > out.len() {
            return Err(DecodeError::DistanceTooFar {
                distance: dist as u32,
                position: out.len() as u64,
                history: 0,
            });
        }
        let from = out.len() - dist;
        if dist >= len {
            out.extend_from_within(from..from + len);
        } else {
            for i in 0..len {
                out.push(out[from + i]);
            }
        }
    }
    Ok(())
}

/// Decodes the raw deflate stream `raw` into its parse. Matches may reach
/// at most `history` bytes before the start of the stream (the length of a
/// preset dictionary; 0 for a plain stream).
pub fn decode(raw: &[u8], history: usize) -> Result<Decoded> {
    Decoder::new(raw, history as u64).run()
}

// ---------------------------------------------------------------------------
// Bit input.

/// LSB-first bit reader over a byte slice, refilled 64 bits at a time.
/// Reading past the end yields zero bits; `overrun` tells afterwards.
struct Bits<'a> {
    data: &'a [u8],
    /// Next byte to load into `buf` (may pass `data.len()` by the zero
    /// padding).
    pos: usize,
    buf: u64,
    count: u32,
}

impl<'a> Bits<'a> {
    fn new(data: &'a [u8]) -> Self {
        Bits {
            data,
            pos: 0,
            buf: 0,
            count: 0,
        }
    }

    /// Makes at least 56 bits available.
    #[inline(always)]
    fn refill(&mut self) {
        if self.pos + 8 <= self.data.len() {
            let word = u64::from_le_bytes(self.data[self.pos..self.pos + 8].try_into().unwrap());
            self.buf |= word << self.count;
            self.pos += ((63 - self.count) >> 3) as usize;
            self.count |= 56;
        } else {
            while self.count <= 56 {
                let byte = self.data.get(self.pos).copied().unwrap_or(0);
                self.buf |= (byte as u64) << self.count;
                self.pos += 1;
                self.count += 8;
            }
        }
    }

    #[inline(always)]
    fn peek(&self) -> u64 {
        self.buf
    }

    #[inline(always)]
    fn consume(&mut self, n: u32) {
        debug_assert!(n <= self.count);
        self.buf >>= n;
        self.count -= n;
    }

    /// Reads `n` (≤ 32) bits; call after a refill that covers them.
    #[inline(always)]
    fn take(&mut self, n: u32) -> u32 {
        let v = (self.buf & ((1u64 << n) - 1)) as u32;
        self.consume(n);
        v
    }

    fn position(&self) -> u64 {
        self.pos as u64 * 8 - self.count as u64
    }

    fn overrun(&self) -> bool {
        self.position() > self.data.len() as u64 * 8
    }

    /// Moves to byte offset `byte`, dropping the buffered bits.
    fn seek_byte(&mut self, byte: usize) {
        self.pos = byte;
        self.buf = 0;
        self.count = 0;
    }
}

// ---------------------------------------------------------------------------
// Decoding tables.
//
// An entry is a u32: bits 0..4 the bits it consumes, bits 4..8 its kind,
// bits 8..16 extra bits (lengths, distances) or the subtable's index bits,
// bits 16..32 its value (literal byte, base length or distance, subtable
// offset).

const K_LITERAL: u32 = 0;
const K_LENGTH: u32 = 1;
const K_END: u32 = 2;
const K_SUB: u32 = 3;
const K_INVALID: u32 = 4;
const K_DIST: u32 = 5;

const LIT_PRIMARY: u32 = 10;
const DIST_PRIMARY: u32 = 8;

const LENGTH_BASE: [u16; 29] = [
    3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131,
    163, 195, 227, 258,
];
const LENGTH_EXTRA: [u8; 29] = [
    0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0,
];
const DIST_BASE: [u16; 30] = [
    1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537,
    2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577,
];
const DIST_EXTRA: [u8; 30] = [
    0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13,
    13,
];

#[inline(always)]
fn entry(bits: u32, kind: u32, extra: u32, value: u32) -> u32 {
    bits | kind << 4 | extra << 8 | value << 16
}

/// What a leaf of a code stands for.
fn leaf_entry(symbol: usize, bits: u32, distances: bool) -> u32 {
    if distances {
        match symbol {
            0..=29 => entry(
                bits,
                K_DIST,
                DIST_EXTRA[symbol] as u32,
                DIST_BASE[symbol] as u32,
            ),
            _ => entry(bits, K_INVALID, 0, 0),
        }
    } else {
        match symbol {
            0..=255 => entry(bits, K_LITERAL, 0, symbol as u32),
            256 => entry(bits, K_END, 0, 0),
            257..=285 => entry(
                bits,
                K_LENGTH,
                LENGTH_EXTRA[symbol - 257] as u32,
                LENGTH_BASE[symbol - 257] as u32,
            ),
            _ => entry(bits, K_INVALID, 0, 0),
        }
    }
}

/// A two-level decoding table for one canonical Huffman code.
#[derive(Default)]
struct Table {
    entries: Vec<u32>,
    primary: u32,
}

impl Table {
    /// Builds the table of the canonical code with code lengths `lengths`
    /// (RFC 1951 §3.2.2). Like zlib's `inflate_table`, an over-subscribed
    /// code is an error, and an incomplete one is accepted only when it is
    /// a single code of one bit (the other half decodes as invalid).
    fn build(
        &mut self,
        lengths: &[u8],
        primary: u32,
        distances: bool,
    ) -> std::result::Result<(), &'static str> {
        let mut count = [0u32; 16];
        for &l in lengths {
            count[l as usize] += 1;
        }
        count[0] = 0;
        let mut left: i32 = 1;
        for &c in &count[1..] {
            left = (left << 1) - c as i32;
            if left < 0 {
                return Err("over-subscribed code");
            }
        }
        let max = (1..16).rev().find(|&l| count[l] > 0).unwrap_or(0);
        if left > 0 && max != 1 {
            if max == 0 && distances {
                // No distance codes at all: valid if no match is used.
            } else {
                return Err("incomplete code");
            }
        }
        let mut next = [0u32; 16];
        let mut code = 0u32;
        for len in 1..16 {
            code = (code + count[len - 1]) << 1;
            next[len] = code;
        }
        self.primary = primary;
        self.entries.clear();
        self.entries.resize(1 << primary, entry(0, K_INVALID, 0, 0));
        // Subtable sizes: for each primary index, the longest code under it.
        let mut sub_bits = vec![0u8; 1 << primary];
        let mut codes = [0u32; 288];
        for (sym, &len) in lengths.iter().enumerate() {
            if len == 0 {
                continue;
            }
            let len = len as u32;
            let rev = next[len as usize].reverse_bits() >> (32 - len);
            next[len as usize] += 1;
            codes[sym] = rev;
            if len > primary {
                let p = (rev & ((1 << primary) - 1)) as usize;
                sub_bits[p] = sub_bits[p].max((len - primary) as u8);
            }
        }
        let mut sub_start = vec![0u32; 1 << primary];
        for (p, &bits) in sub_bits.iter().enumerate() {
            if bits > 0 {
                let start = self.entries.len() as u32;
                sub_start[p] = start;
                self.entries[p] = entry(primary, K_SUB, bits as u32, start);
                self.entries
                    .resize(start as usize + (1 << bits), entry(0, K_INVALID, 0, 0));
            }
        }
        for (sym, &len) in lengths.iter().enumerate() {
            if len == 0 {
                continue;
            }
            let len = len as u32;
            let rev = codes[sym];
            if len <= primary {
                let e = leaf_entry(sym, len, distances);
                let mut i = rev as usize;
                while i < 1 << primary {
                    self.entries[i] = e;
                    i += 1 << len;
                }
            } else {
                let p = (rev & ((1 << primary) - 1)) as usize;
                let bits = sub_bits[p] as u32;
                let e = leaf_entry(sym, len - primary, distances);
                let mut i = (rev >> primary) as usize;
                while i < 1 << bits {
                    self.entries[sub_start[p] as usize + i] = e;
                    i += 1 << (len - primary);
                }
            }
        }
        Ok(())
    }

    /// The entry for the next code in `bits`, after consuming a subtable
    /// pointer if there is one (the caller consumes the leaf's bits).
    #[inline(always)]
    fn lookup(&self, bits: &mut Bits) -> u32 {
        let mut e = self.entries[(bits.peek() & ((1 << self.primary) - 1)) as usize];
        if (e >> 4) & 0xf == K_SUB {
            bits.consume(self.primary);
            let sub = (e >> 8) & 0xff;
            e = self.entries[(e >> 16) as usize + (bits.peek() & ((1 << sub) - 1)) as usize];
        }
        e
    }
}

// ---------------------------------------------------------------------------
// The decoder.

struct Decoder<'a> {
    bits: Bits<'a>,
    history: u64,
    out: Decoded,
    lit: Table,
    dist: Table,
}

impl<'a> Decoder<'a> {
    fn new(raw: &'a [u8], history: u64) -> Self {
        Decoder {
            bits: Bits::new(raw),
            history,
            out: Decoded {
                // zlib's level 9 output is rarely below 1 symbol per 3 bytes.
                symbols: Vec::with_capacity(raw.len()),
                ..Decoded::default()
            },
            lit: Table::default(),
            dist: Table::default(),
        }
    }

    fn truncated(&self) -> DecodeError {
        DecodeError::Truncated {
            bit: self.bits.position(),
        }
    }

    fn run(mut self) -> Result<Decoded> {
        let total_bits = self.bits.data.len() as u64 * 8;
        loop {
            let start = self.bits.position();
            // Every block takes at least 10 bits: fewer left means the data
            // ended on a block boundary without BFINAL.
            if total_bits - start < 10 {
                self.out.complete = false;
                self.out.bits_used = start;
                break;
            }
            self.bits.refill();
            let last = self.bits.take(1) == 1;
            let kind = self.bits.take(2);
            let first_symbol = self.out.symbols.len();
            let input_start = self.out.output_len;
            let (kind, stored_offset) = match kind {
                0 => (BlockKind::Stored, Some(self.stored()?)),
                1 => {
                    fixed_tables(&mut self.lit, &mut self.dist);
                    self.codes()?;
                    (BlockKind::Fixed, None)
                }
                2 => {
                    self.dynamic_tables()?;
                    self.codes()?;
                    (BlockKind::Dynamic, None)
                }
                _ => return Err(DecodeError::BadBlockType { bit: start }),
            };
            if self.bits.overrun() {
                return Err(self.truncated());
            }
            self.out.blocks.push(BlockInfo {
                kind,
                first_symbol,
                symbol_count: self.out.symbols.len() - first_symbol,
                input_start,
                input_len: self.out.output_len - input_start,
                last,
                bit_start: start,
                bit_end: self.bits.position(),
                stored_offset,
            });
            if last {
                self.out.complete = true;
                self.out.bits_used = self.bits.position().div_ceil(8) * 8;
                break;
            }
        }
        Ok(self.out)
    }

    /// A stored block after its 3 header bits: returns its data's offset.
    fn stored(&mut self) -> Result<usize> {
        let byte = self.bits.position().div_ceil(8) as usize;
        let data = self.bits.data;
        if byte + 4 > data.len() {
            return Err(self.truncated());
        }
        let len = u16::from_le_bytes([data[byte], data[byte + 1]]);
        let nlen = u16::from_le_bytes([data[byte + 2], data[byte + 3]]);
        if len != !nlen {
            return Err(DecodeError::BadStoredLength { byte: byte as u64 });
        }
        let at = byte + 4;
        if at + len as usize > data.len() {
            return Err(DecodeError::Truncated {
                bit: data.len() as u64 * 8,
            });
        }
        self.bits.seek_byte(at + len as usize);
        self.out.output_len += len as u64;
        Ok(at)
    }

    /// Reads a dynamic block's code descriptions into `lit` and `dist`.
    fn dynamic_tables(&mut self) -> Result<()> {
        const ORDER: [usize; 19] = [
            16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15,
        ];
        let at = self.bits.position();
        let bad = |reason| DecodeError::BadCodes { bit: at, reason };
        self.bits.refill();
        let hlit = self.bits.take(5) as usize + 257;
        let hdist = self.bits.take(5) as usize + 1;
        let hclen = self.bits.take(4) as usize + 4;
        if hlit > 286 || hdist > 30 {
            return Err(bad("too many length or distance codes"));
        }
        let mut cl_lengths = [0u8; 19];
        for &i in &ORDER[..hclen] {
            self.bits.refill();
            cl_lengths[i] = self.bits.take(3) as u8;
        }
        let mut cl = Table::default();
        // The code-length code must be complete (zlib: type CODES).
        {
            let mut left = 1i32;
            let mut count = [0i32; 8];
            for &l in &cl_lengths {
                count[l as usize] += 1;
            }
            for &c in &count[1..] {
                left = (left << 1) - c;
            }
            if left != 0 {
                return Err(bad("invalid code lengths code"));
            }
        }
        cl.build(&cl_lengths, 7, false).map_err(bad)?;
        let mut lengths = [0u8; 286 + 30];
        let mut n = 0;
        while n < hlit + hdist {
            self.bits.refill();
            let e = cl.lookup(&mut self.bits);
            // The code-length alphabet decodes through the literal kinds:
            // symbol = value for K_LITERAL (0..=18 fit).
            if (e >> 4) & 0xf != K_LITERAL {
                return Err(bad("invalid code lengths code"));
            }
            self.bits.consume(e & 0xf);
            let sym = e >> 16;
            match sym {
                0..=15 => {
                    lengths[n] = sym as u8;
                    n += 1;
                }
                16..=18 => {
                    let (prev, repeat) = match sym {
                        16 => {
                            if n == 0 {
                                return Err(bad("repeat with no previous length"));
                            }
                            (lengths[n - 1], 3 + self.bits.take(2) as usize)
                        }
                        17 => (0, 3 + self.bits.take(3) as usize),
                        _ => (0, 11 + self.bits.take(7) as usize),
                    };
                    if n + repeat > hlit + hdist {
                        return Err(bad("too many code lengths"));
                    }
                    lengths[n..n + repeat].fill(prev);
                    n += repeat;
                }
                _ => return Err(bad("invalid code lengths code")),
            }
        }
        if self.bits.overrun() {
            return Err(self.truncated());
        }
        if lengths[256] == 0 {
            return Err(bad("no end-of-block code"));
        }
        self.lit
            .build(&lengths[..hlit], LIT_PRIMARY, false)
            .map_err(bad)?;
        self.dist
            .build(&lengths[hlit..hlit + hdist], DIST_PRIMARY, true)
            .map_err(bad)?;
        Ok(())
    }

    /// The hot loop: decodes symbols up to the end-of-block code.
    fn codes(&mut self) -> Result<()> {
        let bits = &mut self.bits;
        let symbols = &mut self.out.symbols;
        let mut pos = self.out.output_len;
        let limit = (bits.data.len() as u64 + 8) * 8;
        loop {
            // Longest symbol: 15 + 5 + 15 + 13 = 48 bits ≤ the 56 refilled.
            bits.refill();
            let e = self.lit.lookup(bits);
            bits.consume(e & 0xf);
            match (e >> 4) & 0xf {
                K_LITERAL => {
                    symbols.push(Symbol::literal((e >> 16) as u8));
                    pos += 1;
                }
                K_LENGTH => {
                    let len = (e >> 16) + bits.take((e >> 8) & 0xff);
                    let d = self.dist.lookup(bits);
                    if (d >> 4) & 0xf != K_DIST {
                        return Err(DecodeError::BadSymbol {
                            bit: bits.position(),
                        });
                    }
                    bits.consume(d & 0xf);
                    let dist = (d >> 16) + bits.take((d >> 8) & 0xff);
                    if dist as u64 > pos + self.history {
                        return Err(DecodeError::DistanceTooFar {
                            distance: dist,
                            position: pos,
                            history: self.history,
                        });
                    }
                    symbols.push(Symbol::matched(len as u16, dist as u16));
                    pos += len as u64;
                }
                K_END => break,
                _ => {
                    return Err(DecodeError::BadSymbol {
                        bit: bits.position(),
                    })
                }
            }
            // Zero padding past the end decodes as symbols forever:
            // stop once the reader is past the data.
            if bits.position() > limit {
                return Err(DecodeError::Truncated {
                    bit: bits.data.len() as u64 * 8,
                });
            }
        }
        self.out.output_len = pos;
        Ok(())
    }
}

/// The fixed codes of RFC 1951 §3.2.6.
fn fixed_tables(lit: &mut Table, dist: &mut Table) {
    let mut l = [0u8; 288];
    l[..144].fill(8);
    l[144..256].fill(9);
    l[256..280].fill(7);
    l[280..].fill(8);
    lit.build(&l, LIT_PRIMARY, false).expect("fixed code");
    // 30 and 31 have codes but are invalid distances.
    dist.build(&[5u8; 32], DIST_PRIMARY, true)
        .expect("fixed code");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_inputs_are_errors_not_panics() {
        let mut seed = 0x1234_5678_9abc_def0u64;
        let mut rnd = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for n in 0..20_000 {
            let len = (rnd() % 64) as usize + (n % 3);
            let data: Vec<u8> = (0..len).map(|_| rnd() as u8).collect();
            let _ = decode(&data, (rnd() % 40_000) as usize);
        }
        assert!(decode(&[0x07, 0], 0).is_err());
        assert!(!decode(&[], 0).unwrap().complete);
    }

    #[test]
    fn empty_fixed_block() {
        let d = decode(&[0x03, 0x00], 0).unwrap();
        assert!(d.complete);
        assert_eq!(d.blocks.len(), 1);
        assert_eq!(d.blocks[0].kind, BlockKind::Fixed);
        assert_eq!(d.output_len, 0);
    }
}
