//! A parse → zlib's exact deflate bytes: where zlib cuts blocks and how its
//! `trees.c` codes each one (step 4 of issue 23).
//!
//! Given the symbols zlib's `deflate_slow` chose for an input, the rest of
//! its output is a pure function of them and of the input bytes:
//! - blocks end when the symbol buffer is full (`sym_next == sym_end`, i.e.
//!   `lit_bufsize - 1` = 16383 symbols at memLevel 8, in the LIT_MEM layout
//!   of Chromium's zlib and the 3-byte `sym_buf` layout of canonical zlib
//!   alike), except that the literal pending at the end of the input is
//!   tallied after `deflate_slow`'s loop without that check; then the last
//!   block (`FLUSH_BLOCK(s, 1)`) holds what is left, possibly nothing;
//! - each block's Huffman trees and its stored/fixed/dynamic choice
//!   (`_tr_flush_block`) depend on that block alone; only stored blocks
//!   depend on the bit offset they start at (they pad to a byte).
//!
//! So blocks can be encoded independently ([`encode_block`], e.g. on all
//! cores) and their bits concatenated ([`BitConcat`]). [`encode_parse`]
//! does the whole thing on one thread.
//!
//! The tree code mirrors zlib's trees.c function by function (the names
//! are zlib's). trees.c is the same in canonical zlib 1.2.12–1.3.x and in
//! Chromium's fork used by Node 20, 22 and 24, except for how bits are
//! buffered (Chromium's `DEFLATE_CHUNK_WRITE_64LE`), which does not change
//! the bytes.

use super::symbols::Symbol;

/// Symbols per block at memLevel 8: `lit_bufsize - 1` with
/// `lit_bufsize = 1 << (memLevel + 6)` (deflate.c, `deflateInit2_`).
pub const SYMBOLS_PER_BLOCK: usize = (1 << (8 + 6)) - 1;

/// The longest block whose bytes zlib surely still has in its window when
/// it flushes it: `block_start` goes negative (and `_tr_flush_block` gets
/// `buf == NULL`, which forbids a stored block) only when the window slid
/// (`strstart >= wsize + MAX_DIST` = 65274) after the block began at a
/// window offset below `wsize`, i.e. more than 65274 - 32768 bytes earlier.
pub const SURELY_BUFFERED: u64 = 32768 + 32768 - 262 - 32768;

/// Why a parse could not be encoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    /// zlib would store this block if it still had its bytes, but the
    /// block is long enough that its window may have slid past them
    /// (`buf == NULL`), in which case it codes it instead. Which one
    /// happened depends on how the window slid: encode sequentially.
    #[error("block of {input_len} bytes at input offset {input_start}: stored or coded depends on zlib's window state")]
    Ambiguous { input_start: u64, input_len: u64 },
    /// The symbols do not cover the input exactly.
    #[error("the parse covers {covered} bytes but the input has {input}")]
    ParseMismatch { covered: u64, input: u64 },
    /// A stored block longer than 65535 bytes (impossible with zlib's
    /// symbol limits; only a malformed parse gets there).
    #[error("a stored block of {0} bytes does not fit deflate's 16-bit length")]
    StoredTooLong(u64),
}

pub type Result<T> = std::result::Result<T, EncodeError>;

// ---------------------------------------------------------------------------
// Constants and static tables (trees.c: `tr_static_init`).

const LENGTH_CODES: usize = 29;
const LITERALS: usize = 256;
const L_CODES: usize = LITERALS + 1 + LENGTH_CODES;
const D_CODES: usize = 30;
const BL_CODES: usize = 19;
const HEAP_SIZE: usize = 2 * L_CODES + 1;
const MAX_BITS: usize = 15;
const MAX_BL_BITS: usize = 7;
const END_BLOCK: usize = 256;
const REP_3_6: usize = 16;
const REPZ_3_10: usize = 17;
const REPZ_11_138: usize = 18;

const EXTRA_LBITS: [u8; LENGTH_CODES] = [
    0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0,
];
const EXTRA_DBITS: [u8; D_CODES] = [
    0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13,
    13,
];
const EXTRA_BLBITS: [u8; BL_CODES] = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 3, 7];
const BL_ORDER: [usize; BL_CODES] = [
    16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15,
];

/// `_length_code`, `base_length`, `_dist_code`, `base_dist` and the static
/// trees, computed as `tr_static_init` does.
struct Static {
    length_code: [u8; 256],
    base_length: [u16; LENGTH_CODES],
    dist_code: [u8; 512],
    base_dist: [u16; D_CODES],
    ltree: [Code; L_CODES + 2],
    dtree: [Code; D_CODES],
}

#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
struct Code {
    code: u16,
    len: u16,
}

const fn bi_reverse(code: u32, len: u32) -> u16 {
    (code.reverse_bits() >> (32 - len)) as u16
}

const fn make_static() -> Static {
    let mut s = Static {
        length_code: [0; 256],
        base_length: [0; LENGTH_CODES],
        dist_code: [0; 512],
        base_dist: [0; D_CODES],
        ltree: [Code { code: 0, len: 0 }; L_CODES + 2],
        dtree: [Code { code: 0, len: 0 }; D_CODES],
    };
    let mut length = 0usize;
    let mut code = 0usize;
    while code < LENGTH_CODES - 1 {
        s.base_length[code] = length as u16;
        let mut n = 0;
        while n < 1 << EXTRA_LBITS[code] {
            s.length_code[length] = code as u8;
            length += 1;
            n += 1;
        }
        code += 1;
    }
    // Length 258 is code 285, not 284 + 31.
    s.length_code[255] = code as u8;
    let mut dist = 0usize;
    code = 0;
    while code < 16 {
        s.base_dist[code] = dist as u16;
        let mut n = 0;
        while n < 1 << EXTRA_DBITS[code] {
            s.dist_code[dist] = code as u8;
            dist += 1;
            n += 1;
        }
        code += 1;
    }
    dist >>= 7;
    while code < D_CODES {
        s.base_dist[code] = (dist << 7) as u16;
        let mut n = 0;
        while n < 1 << (EXTRA_DBITS[code] - 7) {
            s.dist_code[256 + dist] = code as u8;
            dist += 1;
            n += 1;
        }
        code += 1;
    }
    let mut bl_count = [0u16; MAX_BITS + 1];
    let mut n = 0;
    while n < L_CODES + 2 {
        let len = if n <= 143 {
            8
        } else if n <= 255 {
            9
        } else if n <= 279 {
            7
        } else {
            8
        };
        s.ltree[n].len = len;
        bl_count[len as usize] += 1;
        n += 1;
    }
    // gen_codes(static_ltree, L_CODES + 1, bl_count)
    let mut next_code = [0u32; MAX_BITS + 1];
    let mut c = 0u32;
    let mut bits = 1;
    while bits <= MAX_BITS {
        c = (c + bl_count[bits - 1] as u32) << 1;
        next_code[bits] = c;
        bits += 1;
    }
    n = 0;
    while n < L_CODES + 2 {
        let len = s.ltree[n].len as usize;
        s.ltree[n].code = bi_reverse(next_code[len], len as u32);
        next_code[len] += 1;
        n += 1;
    }
    n = 0;
    while n < D_CODES {
        s.dtree[n] = Code {
            code: bi_reverse(n as u32, 5),
            len: 5,
        };
        n += 1;
    }
    s
}

static STATIC: Static = make_static();

/// `d_code`: the distance code of `dist - 1`.
#[inline(always)]
fn d_code(dist0: u32) -> usize {
    if dist0 < 256 {
        STATIC.dist_code[dist0 as usize] as usize
    } else {
        STATIC.dist_code[256 + (dist0 >> 7) as usize] as usize
    }
}

// ---------------------------------------------------------------------------
// Bit output.

/// LSB-first bit writer, as zlib's `send_bits`/`bi_windup` produce them.
#[derive(Default, Clone)]
struct BitWriter {
    out: Vec<u8>,
    acc: u64,
    n: u32,
}

impl BitWriter {
    /// Appends the low `len` (≤ 32) bits of `value`.
    #[inline(always)]
    fn send(&mut self, value: u64, len: u32) {
        self.acc |= value << self.n;
        self.n += len;
        if self.n >= 32 {
            self.out.extend_from_slice(&(self.acc as u32).to_le_bytes());
            self.acc >>= 32;
            self.n -= 32;
        }
    }

    fn bit_len(&self) -> u64 {
        self.out.len() as u64 * 8 + self.n as u64
    }

    /// The bits written so far, with the partial last byte zero-padded.
    fn into_bits(mut self) -> (Vec<u8>, u64) {
        let bits = self.bit_len();
        while self.n > 0 {
            self.out.push(self.acc as u8);
            self.acc >>= 8;
            self.n = self.n.saturating_sub(8);
        }
        (self.out, bits)
    }
}

/// One encoded block, ready to be concatenated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EncodedBlock {
    /// A fixed or dynamic block: `bits` bits, LSB-first from `bytes[0]`.
    Coded {
        bytes: Vec<u8>,
        bits: u64,
        dynamic: bool,
        last: bool,
    },
    /// A stored block (`_tr_stored_block`): its 3 header bits, padding to a
    /// byte (`bi_windup`), LEN, NLEN and the bytes.
    Stored { data: Vec<u8>, last: bool },
}

impl EncodedBlock {
    pub fn is_last(&self) -> bool {
        match self {
            EncodedBlock::Coded { last, .. } | EncodedBlock::Stored { last, .. } => *last,
        }
    }
}

/// Concatenates encoded blocks into one deflate stream, carrying the bit
/// offset across block boundaries as zlib's `bi_buf`/`bi_valid` do, and
/// padding after the last block (`bi_windup`).
#[derive(Default)]
pub struct BitConcat {
    out: Vec<u8>,
    acc: u64,
    n: u32,
}

impl BitConcat {
    pub fn new(out: Vec<u8>) -> Self {
        BitConcat { out, acc: 0, n: 0 }
    }

    fn put(&mut self, value: u64, len: u32) {
        debug_assert!(len <= 32);
        self.acc |= (value & ((1u64 << len) - 1)) << self.n;
        self.n += len;
        while self.n >= 8 {
            self.out.push(self.acc as u8);
            self.acc >>= 8;
            self.n -= 8;
        }
    }

    fn windup(&mut self) {
        if self.n > 0 {
            self.out.push(self.acc as u8);
        }
        self.acc = 0;
        self.n = 0;
    }

    /// Appends `bits` bits stored LSB-first in `bytes`.
    pub fn push_bits(&mut self, bytes: &[u8], bits: u64) {
        let whole = (bits / 8) as usize;
        if self.n == 0 {
            self.out.extend_from_slice(&bytes[..whole]);
        } else {
            // Shift 4 bytes at a time into the partial byte.
            let mut chunks = bytes[..whole].chunks_exact(4);
            for c in &mut chunks {
                let v = u32::from_le_bytes(c.try_into().unwrap()) as u64;
                self.acc |= v << self.n;
                self.out.extend_from_slice(&(self.acc as u32).to_le_bytes());
                self.acc >>= 32;
            }
            for &b in chunks.remainder() {
                self.put(b as u64, 8);
            }
        }
        let rest = (bits % 8) as u32;
        if rest > 0 {
            self.put(bytes[whole] as u64, rest);
        }
    }

    /// Appends one block; after the last one, pads to a byte.
    pub fn push(&mut self, block: &EncodedBlock) {
        match block {
            EncodedBlock::Coded {
                bytes, bits, last, ..
            } => {
                self.push_bits(bytes, *bits);
                if *last {
                    self.windup();
                }
            }
            EncodedBlock::Stored { data, last } => {
                self.put(*last as u64, 3);
                self.windup();
                let len = data.len() as u16;
                self.out.extend_from_slice(&len.to_le_bytes());
                self.out.extend_from_slice(&(!len).to_le_bytes());
                self.out.extend_from_slice(data);
            }
        }
    }

    /// Bits written so far.
    pub fn bit_len(&self) -> u64 {
        self.out.len() as u64 * 8 + self.n as u64
    }

    /// The stream (padded to a byte if the last block was not pushed).
    pub fn finish(mut self) -> Vec<u8> {
        self.windup();
        self.out
    }
}

// ---------------------------------------------------------------------------
// Block cutting (deflate.c: `deflate_slow`, `_tr_tally`).

/// One block as zlib cuts it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockPlan {
    /// Its symbols, as indices into the parse.
    pub symbols: std::ops::Range<usize>,
    /// Offset of its first byte in the input.
    pub input_start: u64,
    /// Input bytes it covers (zlib's `stored_len`).
    pub input_len: u64,
    pub last: bool,
}

/// Cuts the parse of a whole input into zlib's blocks: a block ends after
/// each `limit`-th symbol (zlib flushes when `_tr_tally` fills the buffer),
/// except that a final literal is tallied after the loop of `deflate_slow`
/// without that check (the last input byte, when no match covers it, is
/// always that pending literal); then the last block, possibly empty.
pub fn plan_blocks(symbols: &[Symbol], limit: usize) -> Vec<BlockPlan> {
    assert!(limit > 0);
    let n = symbols.len();
    let final_literal = symbols.last().is_some_and(|s| s.is_literal());
    // Symbols tallied with a flush check.
    let checked = n - final_literal as usize;
    let full = checked / limit;
    let mut plans = Vec::with_capacity(full + 1);
    let mut pos = 0u64;
    let mut start = 0usize;
    let cover = |range: std::ops::Range<usize>| -> u64 {
        symbols[range].iter().map(|s| s.length() as u64).sum()
    };
    for _ in 0..full {
        let len = cover(start..start + limit);
        plans.push(BlockPlan {
            symbols: start..start + limit,
            input_start: pos,
            input_len: len,
            last: false,
        });
        pos += len;
        start += limit;
    }
    let len = cover(start..n);
    plans.push(BlockPlan {
        symbols: start..n,
        input_start: pos,
        input_len: len,
        last: true,
    });
    plans
}

// ---------------------------------------------------------------------------
// Huffman trees (trees.c).

/// One tree's working data: `ct_data` split into its union members (zlib
/// overlays Freq/Code and Dad/Len; each is only read while it holds the
/// value written last, so separate arrays behave the same).
struct Tree {
    freq: [u16; HEAP_SIZE],
    dad: [u16; HEAP_SIZE],
    len: [u16; HEAP_SIZE],
    code: [u16; HEAP_SIZE],
    max_code: i32,
}

impl Tree {
    fn new() -> Self {
        Tree {
            freq: [0; HEAP_SIZE],
            dad: [0; HEAP_SIZE],
            len: [0; HEAP_SIZE],
            code: [0; HEAP_SIZE],
            max_code: 0,
        }
    }
}

/// `static_tree_desc`: what differs between the three trees.
struct Desc {
    stree: Option<&'static [Code]>,
    extra: &'static [u8],
    extra_base: usize,
    elems: usize,
    max_length: usize,
}

/// The part of `deflate_state` that trees.c uses for one block.
struct State {
    /// dyn_ltree, dyn_dtree, bl_tree (indexed by [`Which`]).
    trees: [Tree; 3],
    bl_count: [u16; MAX_BITS + 1],
    heap: [i32; HEAP_SIZE],
    heap_len: usize,
    heap_max: usize,
    depth: [u8; HEAP_SIZE],
    opt_len: u64,
    static_len: u64,
}

const SMALLEST: usize = 1;

impl State {
    fn new() -> Box<Self> {
        Box::new(State {
            trees: [Tree::new(), Tree::new(), Tree::new()],
            bl_count: [0; MAX_BITS + 1],
            heap: [0; HEAP_SIZE],
            heap_len: 0,
            heap_max: 0,
            depth: [0; HEAP_SIZE],
            opt_len: 0,
            static_len: 0,
        })
    }

    /// `init_block` plus the tallies (`_tr_tally`) of `symbols`.
    fn tally(&mut self, symbols: &[Symbol]) {
        let [ltree, dtree, bltree] = &mut self.trees;
        ltree.freq[..L_CODES].fill(0);
        dtree.freq[..D_CODES].fill(0);
        bltree.freq[..BL_CODES].fill(0);
        ltree.freq[END_BLOCK] = 1;
        self.opt_len = 0;
        self.static_len = 0;
        // Counted in u32 then stored: zlib's u16 counters hold at most
        // 65535 per block, which `lit_bufsize` ≤ 64K guarantees.
        let mut lf = [0u32; L_CODES];
        let mut df = [0u32; D_CODES];
        for s in symbols {
            if s.is_literal() {
                lf[s.byte() as usize] += 1;
            } else {
                lf[STATIC.length_code[s.length() as usize - 3] as usize + LITERALS + 1] += 1;
                df[d_code(s.distance() - 1)] += 1;
            }
        }
        for (f, &c) in ltree.freq.iter_mut().zip(&lf) {
            *f = f.wrapping_add(c as u16);
        }
        for (f, &c) in dtree.freq.iter_mut().zip(&df) {
            *f = c as u16;
        }
    }

    fn tree(&mut self, which: Which) -> &mut Tree {
        &mut self.trees[which as usize]
    }

    /// `pqdownheap`: restores the heap property from node `k` down.
    fn pqdownheap(&mut self, which: Which, mut k: usize) {
        let State {
            trees,
            heap,
            heap_len,
            depth,
            ..
        } = self;
        let tree = &trees[which as usize];
        // `smaller`: frequency, then depth as the tie-breaker.
        let smaller = |n: i32, m: i32| {
            let (n, m) = (n as usize, m as usize);
            tree.freq[n] < tree.freq[m] || (tree.freq[n] == tree.freq[m] && depth[n] <= depth[m])
        };
        let v = heap[k];
        let mut j = k << 1;
        while j <= *heap_len {
            if j < *heap_len && smaller(heap[j + 1], heap[j]) {
                j += 1;
            }
            if smaller(v, heap[j]) {
                break;
            }
            heap[k] = heap[j];
            k = j;
            j <<= 1;
        }
        heap[k] = v;
    }

    /// `gen_bitlen`, with its fix for codes longer than `max_length`.
    fn gen_bitlen(&mut self, which: Which, desc: &Desc) {
        let max_length = desc.max_length;
        self.bl_count = [0; MAX_BITS + 1];
        let heap = self.heap;
        let heap_max = self.heap_max;
        let (mut opt_len, mut static_len) = (self.opt_len, self.static_len);
        let mut bl_count = self.bl_count;
        let tree = self.tree(which);
        let max_code = tree.max_code;
        tree.len[heap[heap_max] as usize] = 0; // root
        let mut overflow = 0i32;
        for &n in &heap[heap_max + 1..HEAP_SIZE] {
            let n = n as usize;
            let mut bits = tree.len[tree.dad[n] as usize] as usize + 1;
            if bits > max_length {
                bits = max_length;
                overflow += 1;
            }
            tree.len[n] = bits as u16;
            if n as i32 > max_code {
                continue; // not a leaf
            }
            bl_count[bits] += 1;
            let xbits = if n >= desc.extra_base {
                desc.extra[n - desc.extra_base] as u64
            } else {
                0
            };
            let f = tree.freq[n] as u64;
            opt_len = opt_len.wrapping_add(f * (bits as u64 + xbits));
            if let Some(stree) = desc.stree {
                static_len = static_len.wrapping_add(f * (stree[n].len as u64 + xbits));
            }
        }
        if overflow > 0 {
            loop {
                let mut bits = max_length - 1;
                while bl_count[bits] == 0 {
                    bits -= 1;
                }
                bl_count[bits] -= 1;
                bl_count[bits + 1] += 2;
                bl_count[max_length] -= 1;
                overflow -= 2;
                if overflow <= 0 {
                    break;
                }
            }
            let mut h = HEAP_SIZE;
            for bits in (1..=max_length).rev() {
                let mut n = bl_count[bits];
                while n != 0 {
                    h -= 1;
                    let m = heap[h];
                    if m > max_code {
                        continue;
                    }
                    let m = m as usize;
                    if tree.len[m] as usize != bits {
                        opt_len = opt_len.wrapping_add(
                            (bits as u64)
                                .wrapping_sub(tree.len[m] as u64)
                                .wrapping_mul(tree.freq[m] as u64),
                        );
                        tree.len[m] = bits as u16;
                    }
                    n -= 1;
                }
            }
        }
        self.bl_count = bl_count;
        self.opt_len = opt_len;
        self.static_len = static_len;
    }

    /// `build_tree`: the Huffman tree of one alphabet, its code lengths
    /// and codes; updates `opt_len` and `static_len`.
    fn build_tree(&mut self, which: Which, desc: &Desc) {
        let elems = desc.elems;
        let mut max_code: i32 = -1;
        self.heap_len = 0;
        self.heap_max = HEAP_SIZE;
        for n in 0..elems {
            if self.tree(which).freq[n] != 0 {
                self.heap_len += 1;
                self.heap[self.heap_len] = n as i32;
                max_code = n as i32;
                self.depth[n] = 0;
            } else {
                self.tree(which).len[n] = 0;
            }
        }
        // At least two codes of non-zero frequency.
        while self.heap_len < 2 {
            let node = if max_code < 2 {
                max_code += 1;
                max_code
            } else {
                0
            };
            self.heap_len += 1;
            self.heap[self.heap_len] = node;
            let node = node as usize;
            self.tree(which).freq[node] = 1;
            self.depth[node] = 0;
            self.opt_len = self.opt_len.wrapping_sub(1);
            if let Some(stree) = desc.stree {
                self.static_len = self.static_len.wrapping_sub(stree[node].len as u64);
            }
        }
        self.tree(which).max_code = max_code;
        for n in (1..=self.heap_len / 2).rev() {
            self.pqdownheap(which, n);
        }
        let mut node = elems;
        loop {
            // pqremove
            let n = self.heap[SMALLEST];
            self.heap[SMALLEST] = self.heap[self.heap_len];
            self.heap_len -= 1;
            self.pqdownheap(which, SMALLEST);
            let m = self.heap[SMALLEST];
            self.heap_max -= 1;
            self.heap[self.heap_max] = n;
            self.heap_max -= 1;
            self.heap[self.heap_max] = m;
            let (nu, mu) = (n as usize, m as usize);
            let depth = self.depth[nu].max(self.depth[mu]).wrapping_add(1);
            let tree = self.tree(which);
            tree.freq[node] = tree.freq[nu].wrapping_add(tree.freq[mu]);
            tree.dad[nu] = node as u16;
            tree.dad[mu] = node as u16;
            self.depth[node] = depth;
            self.heap[SMALLEST] = node as i32;
            node += 1;
            self.pqdownheap(which, SMALLEST);
            if self.heap_len < 2 {
                break;
            }
        }
        self.heap_max -= 1;
        self.heap[self.heap_max] = self.heap[SMALLEST];
        self.gen_bitlen(which, desc);
        let bl_count = self.bl_count;
        gen_codes(self.tree(which), max_code, &bl_count);
    }

    /// `scan_tree`: counts the bit-length codes that will send `tree`.
    fn scan_tree(&mut self, which: Which) {
        let [ltree, dtree, bltree] = &mut self.trees;
        let tree = match which {
            Which::L => ltree,
            _ => dtree,
        };
        let max_code = tree.max_code;
        let mut prevlen: i32 = -1;
        let mut nextlen = tree.len[0] as i32;
        let mut count = 0;
        let (mut max_count, mut min_count) = (7, 4);
        if nextlen == 0 {
            (max_count, min_count) = (138, 3);
        }
        tree.len[(max_code + 1) as usize] = 0xffff; // guard
        for n in 0..=max_code as usize {
            let curlen = nextlen;
            nextlen = tree.len[n + 1] as i32;
            count += 1;
            if count < max_count && curlen == nextlen {
                continue;
            } else if count < min_count {
                bltree.freq[curlen as usize] += count as u16;
            } else if curlen != 0 {
                if curlen != prevlen {
                    bltree.freq[curlen as usize] += 1;
                }
                bltree.freq[REP_3_6] += 1;
            } else if count <= 10 {
                bltree.freq[REPZ_3_10] += 1;
            } else {
                bltree.freq[REPZ_11_138] += 1;
            }
            count = 0;
            prevlen = curlen;
            (max_count, min_count) = if nextlen == 0 {
                (138, 3)
            } else if curlen == nextlen {
                (6, 3)
            } else {
                (7, 4)
            };
        }
    }

    /// `build_bl_tree`: returns the index in `BL_ORDER` of the last
    /// bit-length code to send.
    fn build_bl_tree(&mut self) -> usize {
        self.scan_tree(Which::L);
        self.scan_tree(Which::D);
        self.build_tree(Which::Bl, &BL_DESC);
        let mut max_blindex = BL_CODES - 1;
        while max_blindex >= 3 {
            if self.trees[Which::Bl as usize].len[BL_ORDER[max_blindex]] != 0 {
                break;
            }
            max_blindex -= 1;
        }
        self.opt_len = self
            .opt_len
            .wrapping_add(3 * (max_blindex as u64 + 1) + 5 + 5 + 4);
        max_blindex
    }
}

#[derive(Clone, Copy)]
enum Which {
    L = 0,
    D = 1,
    Bl = 2,
}

static L_DESC: Desc = Desc {
    stree: Some(&STATIC.ltree),
    extra: &EXTRA_LBITS,
    extra_base: LITERALS + 1,
    elems: L_CODES,
    max_length: MAX_BITS,
};
static D_DESC: Desc = Desc {
    stree: Some(&STATIC.dtree),
    extra: &EXTRA_DBITS,
    extra_base: 0,
    elems: D_CODES,
    max_length: MAX_BITS,
};
static BL_DESC: Desc = Desc {
    stree: None,
    extra: &EXTRA_BLBITS,
    extra_base: 0,
    elems: BL_CODES,
    max_length: MAX_BL_BITS,
};

/// `gen_codes`: canonical codes from the code lengths.
fn gen_codes(tree: &mut Tree, max_code: i32, bl_count: &[u16; MAX_BITS + 1]) {
    let mut next_code = [0u32; MAX_BITS + 1];
    let mut code = 0u32;
    for bits in 1..=MAX_BITS {
        code = (code + bl_count[bits - 1] as u32) << 1;
        next_code[bits] = code & 0xffff;
    }
    for n in 0..=max_code.max(-1) {
        let n = n as usize;
        let len = tree.len[n] as usize;
        if len == 0 {
            continue;
        }
        tree.code[n] = bi_reverse(next_code[len], len as u32);
        next_code[len] = (next_code[len] + 1) & 0xffff;
    }
}

/// `send_tree`: sends `tree`'s code lengths with the bit-length codes.
fn send_tree(w: &mut BitWriter, tree: &Tree, bl: &Tree, max_code: i32) {
    let send_code = |w: &mut BitWriter, c: usize| w.send(bl.code[c] as u64, bl.len[c] as u32);
    let mut prevlen: i32 = -1;
    let mut nextlen = tree.len[0] as i32;
    let mut count = 0;
    let (mut max_count, mut min_count) = (7, 4);
    if nextlen == 0 {
        (max_count, min_count) = (138, 3);
    }
    for n in 0..=max_code as usize {
        let curlen = nextlen;
        nextlen = tree.len[n + 1] as i32;
        count += 1;
        if count < max_count && curlen == nextlen {
            continue;
        } else if count < min_count {
            while count > 0 {
                send_code(w, curlen as usize);
                count -= 1;
            }
        } else if curlen != 0 {
            if curlen != prevlen {
                send_code(w, curlen as usize);
                count -= 1;
            }
            send_code(w, REP_3_6);
            w.send(count as u64 - 3, 2);
        } else if count <= 10 {
            send_code(w, REPZ_3_10);
            w.send(count as u64 - 3, 3);
        } else {
            send_code(w, REPZ_11_138);
            w.send(count as u64 - 11, 7);
        }
        count = 0;
        prevlen = curlen;
        (max_count, min_count) = if nextlen == 0 {
            (138, 3)
        } else if curlen == nextlen {
            (6, 3)
        } else {
            (7, 4)
        };
    }
}

/// `compress_block`: the symbols and the end-of-block code.
fn compress_block(w: &mut BitWriter, symbols: &[Symbol], lcode: &[Code], dcode: &[Code]) {
    // Per length (0..=255 for 3..=258): its code and extra bits, joined.
    let mut len_bits = [(0u32, 0u32); 256];
    for (lc, slot) in len_bits.iter_mut().enumerate() {
        let code = STATIC.length_code[lc] as usize;
        let c = lcode[code + LITERALS + 1];
        if c.len == 0 || c.len as usize > MAX_BITS {
            continue; // not in this block (or scan_tree's guard)
        }
        let extra = EXTRA_LBITS[code] as u32;
        // Code 285 (length 258) has no extra bits (and base_length[28] is 0).
        let value = if extra == 0 {
            c.code as u32
        } else {
            c.code as u32 | ((lc as u32 - STATIC.base_length[code] as u32) << c.len)
        };
        *slot = (value, c.len as u32 + extra);
    }
    for s in symbols {
        if s.is_literal() {
            let c = lcode[s.byte() as usize];
            w.send(c.code as u64, c.len as u32);
        } else {
            let (lv, ll) = len_bits[s.length() as usize - 3];
            let dist = s.distance() - 1;
            let code = d_code(dist);
            let c = dcode[code];
            let extra = EXTRA_DBITS[code] as u32;
            let dv = c.code as u64 | (((dist - STATIC.base_dist[code] as u32) as u64) << c.len);
            // ≤ 20 + 28 bits: send in two pieces of ≤ 32.
            w.send(lv as u64, ll);
            w.send(dv, c.len as u32 + extra);
        }
    }
    let c = lcode[END_BLOCK];
    w.send(c.code as u64, c.len as u32);
}

/// Encodes one block exactly as zlib's `_tr_flush_block` does: builds the
/// literal/length and distance trees, then stores it if that is no longer
/// than the cheaper of fixed and dynamic codes, else codes it with fixed
/// codes if they are no longer than dynamic ones, else with dynamic codes.
/// `bytes` are the input bytes the block covers (zlib's `buf`); when the
/// stored form wins for a block longer than [`SURELY_BUFFERED`] the result
/// is [`EncodeError::Ambiguous`] (with `input_start` 0: the caller knows
/// where the block is). Blocks are independent: encode them on any thread
/// and join them in order with [`BitConcat`].
pub fn encode_block(symbols: &[Symbol], bytes: &[u8], last: bool) -> Result<EncodedBlock> {
    let mut s = State::new();
    encode_block_with(&mut s, symbols, bytes, last)
}

fn encode_block_with(
    s: &mut State,
    symbols: &[Symbol],
    bytes: &[u8],
    last: bool,
) -> Result<EncodedBlock> {
    s.tally(symbols);
    s.build_tree(Which::L, &L_DESC);
    s.build_tree(Which::D, &D_DESC);
    let max_blindex = s.build_bl_tree();
    let mut opt_lenb = s.opt_len.wrapping_add(3 + 7) >> 3;
    let static_lenb = s.static_len.wrapping_add(3 + 7) >> 3;
    if static_lenb <= opt_lenb {
        opt_lenb = static_lenb;
    }
    let stored_len = bytes.len() as u64;
    if stored_len + 4 <= opt_lenb {
        if stored_len > SURELY_BUFFERED {
            return Err(EncodeError::Ambiguous {
                input_start: 0,
                input_len: stored_len,
            });
        }
        if stored_len > 0xffff {
            return Err(EncodeError::StoredTooLong(stored_len));
        }
        return Ok(EncodedBlock::Stored {
            data: bytes.to_vec(),
            last,
        });
    }
    let mut w = BitWriter {
        out: Vec::with_capacity((opt_lenb as usize).min(1 << 20) + 16),
        ..BitWriter::default()
    };
    let dynamic = static_lenb != opt_lenb;
    if !dynamic {
        w.send((1 << 1) + last as u64, 3);
        compress_block(&mut w, symbols, &STATIC.ltree, &STATIC.dtree);
    } else {
        w.send((2 << 1) + last as u64, 3);
        // send_all_trees
        let [ltree, dtree, bltree] = &s.trees;
        let lcodes = ltree.max_code as usize + 1;
        let dcodes = dtree.max_code as usize + 1;
        let blcodes = max_blindex + 1;
        w.send(lcodes as u64 - 257, 5);
        w.send(dcodes as u64 - 1, 5);
        w.send(blcodes as u64 - 4, 4);
        for &i in &BL_ORDER[..blcodes] {
            w.send(bltree.len[i] as u64, 3);
        }
        send_tree(&mut w, ltree, bltree, lcodes as i32 - 1);
        send_tree(&mut w, dtree, bltree, dcodes as i32 - 1);
        let lcode: Vec<Code> = (0..L_CODES)
            .map(|n| Code {
                code: ltree.code[n],
                len: ltree.len[n],
            })
            .collect();
        let dcode: Vec<Code> = (0..D_CODES)
            .map(|n| Code {
                code: dtree.code[n],
                len: dtree.len[n],
            })
            .collect();
        compress_block(&mut w, symbols, &lcode, &dcode);
    }
    let (bytes, bits) = w.into_bits();
    Ok(EncodedBlock::Coded {
        bytes,
        bits,
        dynamic,
        last,
    })
}

/// Re-encodes the level-9 parse `symbols` of `input` into exactly the raw
/// deflate stream zlib produces for it (windowBits 15, blocks of `limit`
/// symbols: [`SYMBOLS_PER_BLOCK`] at memLevel 8), appended to `out`. One
/// thread; a driver can run [`plan_blocks`] and [`encode_block`] in
/// parallel and join with [`BitConcat`] instead.
pub fn encode_parse(
    symbols: &[Symbol],
    input: &[u8],
    limit: usize,
    out: &mut Vec<u8>,
) -> Result<()> {
    let plans = plan_blocks(symbols, limit);
    let covered: u64 = plans.iter().map(|p| p.input_len).sum();
    if covered != input.len() as u64 {
        return Err(EncodeError::ParseMismatch {
            covered,
            input: input.len() as u64,
        });
    }
    let mut state = State::new();
    let mut concat = BitConcat::new(std::mem::take(out));
    for p in &plans {
        let bytes = &input[p.input_start as usize..(p.input_start + p.input_len) as usize];
        let block = encode_block_with(&mut state, &symbols[p.symbols.clone()], bytes, p.last)
            .map_err(|e| match e {
                EncodeError::Ambiguous { input_len, .. } => EncodeError::Ambiguous {
                    input_start: p.input_start,
                    input_len,
                },
                e => e,
            })?;
        concat.push(&block);
    }
    *out = concat.finish();
    Ok(())
}

/// What [`verify_coded_blocks`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BlockCheck {
    /// Fixed and dynamic blocks re-encoded to the very bits zlib wrote.
    pub identical: usize,
    /// Stored blocks (no parse to re-encode).
    pub stored: usize,
    /// Blocks that [`encode_block`] reports [`EncodeError::Ambiguous`].
    pub ambiguous: usize,
    /// Index of the first block whose bits differ, if any.
    pub first_mismatch: Option<usize>,
}

/// Re-encodes each fixed and dynamic block of a decoded zlib stream on its
/// own and compares it with the bits zlib wrote for it: a check of the
/// block coder on streams whose stored blocks hide part of the parse (so
/// that [`encode_parse`] cannot rebuild the whole stream). `input` is the
/// decompressed data.
pub fn verify_coded_blocks(
    raw: &[u8],
    decoded: &super::inflate_symbols::Decoded,
    input: &[u8],
) -> BlockCheck {
    use super::inflate_symbols::BlockKind;
    let mut check = BlockCheck::default();
    let mut state = State::new();
    for (i, b) in decoded.blocks.iter().enumerate() {
        if b.kind == BlockKind::Stored {
            check.stored += 1;
            continue;
        }
        let symbols = &decoded.symbols[b.first_symbol..b.first_symbol + b.symbol_count];
        let bytes = &input[b.input_start as usize..(b.input_start + b.input_len) as usize];
        match encode_block_with(&mut state, symbols, bytes, b.last) {
            Ok(EncodedBlock::Coded { bytes, bits, .. })
                if bits == b.bit_end - b.bit_start
                    && bits_equal(&bytes, raw, b.bit_start, bits) =>
            {
                check.identical += 1
            }
            Err(EncodeError::Ambiguous { .. }) => check.ambiguous += 1,
            _ => {
                check.first_mismatch.get_or_insert(i);
            }
        }
    }
    check
}

/// Whether the first `bits` bits of `ours` equal those of `raw` from bit
/// `start` on (both LSB-first).
fn bits_equal(ours: &[u8], raw: &[u8], start: u64, bits: u64) -> bool {
    let read = |buf: &[u8], at: u64| -> u32 {
        let byte = (at / 8) as usize;
        let mut word = [0u8; 8];
        let end = (byte + 8).min(buf.len());
        word[..end - byte].copy_from_slice(&buf[byte..end]);
        (u64::from_le_bytes(word) >> (at % 8)) as u32
    };
    let mut done = 0u64;
    while done < bits {
        let n = (bits - done).min(32) as u32;
        let mask = if n == 32 { u32::MAX } else { (1 << n) - 1 };
        if read(ours, done) & mask != read(raw, start + done) & mask {
            return false;
        }
        done += n as u64;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::super::inflate_symbols::{decode, BlockKind};
    use super::*;

    /// Raw deflate by the zlib linked into the test binary (the system's
    /// canonical zlib; under Node the addon's binding tests Node's own).
    fn zlib_raw(data: &[u8], mem_level: i32) -> Vec<u8> {
        use super::super::{host_zlib, ZStream, Z_DEFLATED, Z_FINISH, Z_OK, Z_STREAM_END};
        // Makes sure the system zlib is linked into the test binary.
        let _ = unsafe { libz_sys::zlibVersion() };
        let z = host_zlib().unwrap();
        let version = std::ffi::CString::new(z.version.clone()).unwrap();
        let mut out = vec![0u8; data.len() + data.len() / 8 + 64];
        // SAFETY: zlib's documented use of a zeroed z_stream and buffers of
        // the advertised sizes.
        unsafe {
            let mut s: ZStream = std::mem::zeroed();
            let size = std::mem::size_of::<ZStream>() as i32;
            let rc = (z.init)(
                &mut s,
                9,
                Z_DEFLATED,
                -15,
                mem_level,
                0,
                version.as_ptr(),
                size,
            );
            assert_eq!(rc, Z_OK);
            s.next_in = data.as_ptr();
            s.avail_in = data.len() as u32;
            s.next_out = out.as_mut_ptr();
            s.avail_out = out.len() as u32;
            assert_eq!((z.deflate)(&mut s, Z_FINISH), Z_STREAM_END);
            out.truncate(s.total_out as usize);
            (z.end)(&mut s);
        }
        out
    }

    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n.max(1)
        }
    }

    const WORDS: &[&str] = &[
        "const ",
        "function ",
        "return ",
        "import ",
        "export ",
        "default ",
        "this.",
        "=> ",
        "{\n",
        "}\n",
        "(",
        ")",
        ";\n",
        "require('",
        "')",
        "module.exports",
        " = ",
        "async ",
        "await ",
        "if (",
        "else ",
        "null",
        "undefined",
        "true",
        "false",
        "  ",
        "\t",
        "props",
        "value",
        "backstage",
        "plugin",
        "@backstage/core",
        "React",
        ".createElement(",
    ];

    /// One segment of a test input, of a kind picked at random.
    fn segment(rng: &mut Rng, out: &mut Vec<u8>, len: usize) {
        let end = out.len() + len;
        match rng.below(8) {
            0 => out.extend((0..len).map(|_| rng.next() as u8)),
            7 => match_free_bytes(rng, out, len),
            1 => {
                while out.len() < end {
                    out.extend_from_slice(WORDS[rng.below(WORDS.len() as u64) as usize].as_bytes());
                }
            }
            2 => {
                let b = rng.next() as u8;
                out.extend(std::iter::repeat_n(b, len));
            }
            3 => {
                let k = rng.below(6) + 2;
                out.extend((0..len).map(|_| b'a' + rng.below(k) as u8));
            }
            4 => {
                // Copies from far back: long distances, short matches.
                while out.len() < end {
                    if out.len() > 100 && rng.below(3) > 0 {
                        let back = rng.below(out.len().min(40_000) as u64) as usize + 1;
                        let n = rng.below(8) as usize + 3;
                        let from = out.len() - back;
                        for i in 0..n {
                            out.push(out[from + i % back]);
                        }
                    } else {
                        out.push(rng.next() as u8);
                    }
                }
            }
            5 => {
                let k = rng.below(40) + 1;
                out.extend((0..len).map(|i| (i as u64 % k) as u8 ^ (rng.below(20) == 0) as u8));
            }
            _ => out.extend((0..len).map(|_| (rng.below(16) as u8) * 17)),
        }
        out.truncate(end);
    }

    /// Appends `len` incompressible bytes that are provably match-free: no
    /// 3-byte string repeats within the window, so zlib's parse of them is
    /// all literals (and it stores them).
    fn match_free_bytes(rng: &mut Rng, out: &mut Vec<u8>, len: usize) {
        match_free_from(rng, out, len, 256)
    }

    /// The same over an alphabet of `letters` bytes: with few letters the
    /// literals are cheap enough that zlib codes them rather than store.
    fn match_free_from(rng: &mut Rng, out: &mut Vec<u8>, len: usize, letters: u64) {
        let end = out.len() + len;
        let mut seen = std::collections::HashMap::new();
        let from = out.len().saturating_sub(32768);
        for p in from..out.len().saturating_sub(2) {
            seen.insert([out[p], out[p + 1], out[p + 2]], p);
        }
        while out.len() < end {
            let n = out.len();
            for _ in 0..64 {
                let b = rng.below(letters) as u8;
                if n < 2 {
                    out.push(b);
                    break;
                }
                let key = [out[n - 2], out[n - 1], b];
                if seen.get(&key).is_none_or(|&q| n - 2 - q > 32768) {
                    seen.insert(key, n - 2);
                    out.push(b);
                    break;
                }
            }
            if out.len() == n {
                out.push(rng.below(letters) as u8);
            }
        }
    }

    fn input(rng: &mut Rng, max: usize) -> Vec<u8> {
        let len = rng.below(max as u64 + 1) as usize;
        let mut out = Vec::with_capacity(len);
        while out.len() < len {
            let n = (rng.below(len as u64 / 2 + 2) as usize + 1).min(len - out.len());
            segment(rng, &mut out, n);
        }
        out
    }

    #[derive(Default, Debug)]
    struct Counts {
        inputs: usize,
        /// Inputs compared byte for byte with zlib's output.
        exact: usize,
        /// Of those, inputs with stored blocks.
        exact_with_stored: usize,
        /// Inputs with a stored block whose parse is unknown.
        stored_unknown: usize,
        ambiguous: usize,
        kinds: [usize; 3],
    }

    /// True when no 3-byte string starting in `data[range]` (before its
    /// last two bytes) occurred in the 32 KiB before it: then no match
    /// can start there, and zlib's parse of that range is all literals.
    fn match_free(data: &[u8], range: std::ops::Range<usize>) -> bool {
        let mut seen = std::collections::HashSet::new();
        let from = range.start.saturating_sub(32768);
        for p in from..range.end.saturating_sub(2) {
            let key = [data[p], data[p + 1], data[p + 2]];
            if !seen.insert(key) && p >= range.start {
                return false;
            }
        }
        true
    }

    /// zlib's bytes → parse → our bytes, which must be zlib's.
    fn round_trip(data: &[u8], mem_level: i32, counts: &mut Counts) {
        let raw = zlib_raw(data, mem_level);
        let d = decode(&raw, 0).unwrap();
        assert!(d.complete);
        assert_eq!(d.output(&raw, &[]).unwrap(), data);
        for b in &d.blocks {
            counts.kinds[b.kind as usize] += 1;
        }
        counts.inputs += 1;
        let mut symbols = d.symbols.clone();
        if d.has_stored() {
            // A stored block hides its parse; when its bytes cannot hold a
            // match, the parse is all literals.
            symbols.clear();
            for b in &d.blocks {
                let range = b.input_start as usize..(b.input_start + b.input_len) as usize;
                if b.kind != BlockKind::Stored {
                    symbols.extend_from_slice(&d.symbols[b.first_symbol..][..b.symbol_count]);
                } else if match_free(data, range.clone()) {
                    symbols.extend(data[range].iter().map(|&c| Symbol::literal(c)));
                } else {
                    counts.stored_unknown += 1;
                    let check = verify_coded_blocks(&raw, &d, data);
                    assert_eq!(check.first_mismatch, None, "{check:?}");
                    return;
                }
            }
            counts.exact_with_stored += 1;
        }
        counts.exact += 1;
        let limit = (1usize << (mem_level + 6)) - 1;
        let mut out = Vec::new();
        match encode_parse(&symbols, data, limit, &mut out) {
            Ok(()) => assert!(
                out == raw,
                "{} bytes, memLevel {mem_level}: re-encoded stream differs (first at {:?})",
                data.len(),
                out.iter().zip(&raw).position(|(a, b)| a != b)
            ),
            Err(EncodeError::Ambiguous { .. }) => counts.ambiguous += 1,
            Err(e) => panic!("{e}"),
        }
        // zlib's blocks are where plan_blocks puts them.
        let plans = plan_blocks(&symbols, limit);
        assert_eq!(plans.len(), d.blocks.len());
        for (p, b) in plans.iter().zip(&d.blocks) {
            if b.kind != BlockKind::Stored {
                assert_eq!(p.symbols.len(), b.symbol_count);
            }
            assert_eq!(
                (p.input_start, p.input_len, p.last),
                (b.input_start, b.input_len, b.last)
            );
        }
    }

    #[test]
    fn static_tables_match_zlib() {
        // trees.h: static_ltree[0] = {12, 8}, [144] = {19, 9}, [256] = {0, 7},
        // [280] = {3, 8}; _dist_code[511] = 29; base_dist[29] = 24576.
        assert_eq!(STATIC.ltree[0], Code { code: 12, len: 8 });
        assert_eq!(STATIC.ltree[144], Code { code: 19, len: 9 });
        assert_eq!(STATIC.ltree[256], Code { code: 0, len: 7 });
        assert_eq!(STATIC.ltree[280], Code { code: 3, len: 8 });
        assert_eq!(STATIC.dist_code[511], 29);
        assert_eq!(STATIC.base_dist[29], 24576);
        assert_eq!(STATIC.length_code[255], 28);
    }

    #[test]
    fn edge_inputs_round_trip() {
        let mut c = Counts::default();
        for data in [&b""[..], b"a", b"ab", b"abc", b"aaaa", &[0u8; 100_000][..]] {
            round_trip(data, 8, &mut c);
        }
        let mut rng = Rng(7);
        // Exactly one or two full blocks of symbols, ending with a literal
        // (tallied after deflate_slow's loop: no extra empty block) or with
        // a match (tallied in the loop: a full block, then an empty last
        // one), and a few symbols more or less.
        let mut exact = [0usize; 2];
        for base in [SYMBOLS_PER_BLOCK, 2 * SYMBOLS_PER_BLOCK] {
            for delta in -3i64..=3 {
                for tail in [0usize, 12] {
                    let mut data = Vec::new();
                    let literals = (base as i64 + delta) as usize - (tail > 0) as usize;
                    match_free_from(&mut rng, &mut data, literals, 40);
                    if tail > 0 {
                        let from = data.len() - 1000;
                        data.extend_from_within(from..from + tail);
                    }
                    let raw = zlib_raw(&data, 8);
                    let d = decode(&raw, 0).unwrap();
                    assert!(!d.has_stored());
                    let symbols = d.symbols;
                    if symbols.len().is_multiple_of(SYMBOLS_PER_BLOCK) {
                        exact[symbols.last().unwrap().is_literal() as usize] += 1;
                    }
                    round_trip(&data, 8, &mut c);
                }
            }
        }
        assert!(exact[0] > 0 && exact[1] > 0, "{exact:?}");
        eprintln!(
            "edge inputs: {c:?}, {exact:?} with exactly full blocks (ending in a match, a literal)"
        );
    }

    #[test]
    fn random_inputs_round_trip() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let mut c = Counts::default();
        let start = std::time::Instant::now();
        for i in 0..3000 {
            // Small memLevels cut blocks every 127.. symbols: many block
            // boundaries per input.
            let mem_level = [1, 2, 3, 8, 8, 8, 9][i % 7];
            let max = if i % 50 == 0 { 400_000 } else { 20_000 };
            let data = input(&mut rng, max);
            round_trip(&data, mem_level, &mut c);
        }
        eprintln!("random inputs: {c:?} in {:?}", start.elapsed());
        assert!(c.kinds.iter().all(|&k| k > 0), "{c:?}");
        assert!(c.exact_with_stored > 100, "{c:?}");
    }

    /// Single-thread throughput on a real tar (`DYNPACK_TAR=path`):
    /// `cargo test --release --lib measure_parse_round_trip -- --ignored --nocapture`.
    #[test]
    #[ignore]
    fn measure_parse_round_trip() {
        let Ok(path) = std::env::var("DYNPACK_TAR") else {
            eprintln!("skipped: set DYNPACK_TAR to an uncompressed tar");
            return;
        };
        let data = std::fs::read(path).unwrap();
        let mb = data.len() as f64 / 1e6;
        let t = std::time::Instant::now();
        let raw = zlib_raw(&data, 8);
        let deflate = t.elapsed().as_secs_f64();
        let t = std::time::Instant::now();
        let d = decode(&raw, 0).unwrap();
        let dec = t.elapsed().as_secs_f64();
        let stored = d
            .blocks
            .iter()
            .filter(|b| b.kind == BlockKind::Stored)
            .count();
        eprintln!(
            "{mb:.1} MB, {} symbols, {} blocks ({stored} stored); zlib level 9: {:.1} MB/s; decode: {:.0} MB/s of input ({:.0} MB/s of deflate)",
            d.symbols.len(),
            d.blocks.len(),
            mb / deflate,
            mb / dec,
            raw.len() as f64 / 1e6 / dec
        );
        let t = std::time::Instant::now();
        if stored == 0 {
            let mut out = Vec::new();
            encode_parse(&d.symbols, &data, SYMBOLS_PER_BLOCK, &mut out).unwrap();
            assert!(out == raw);
        } else {
            // Each coded block on its own, compared with zlib's bits.
            let check = verify_coded_blocks(&raw, &d, &data);
            assert_eq!(check.first_mismatch, None, "{check:?}");
            assert_eq!(check.identical + check.stored, d.blocks.len(), "{check:?}");
        }
        let enc = t.elapsed().as_secs_f64();
        eprintln!("encode: {:.0} MB/s of input, byte-identical", mb / enc);
    }
}
