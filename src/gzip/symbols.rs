//! A deflate parse: the sequence of literals and back-references a
//! compressor chose, independent of how it was cut into blocks and coded.
//!
//! The exact parallel compressor works on parses: it decodes the host
//! zlib's output into one, stitches parses of neighbouring chunks, and
//! re-encodes the result exactly as zlib's `trees.c` would.

/// One deflate symbol: a literal byte, or a match of `length` (3..=258)
/// bytes `distance` (1..=32768) back. Packed in a `u32` because a parse of
/// a 60 MB input holds tens of millions of them.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Symbol(u32);

const MATCH_FLAG: u32 = 1 << 31;

impl Symbol {
    /// The literal byte `byte`.
    pub fn literal(byte: u8) -> Symbol {
        Symbol(byte as u32)
    }

    /// A back-reference; `length` in 3..=258, `distance` in 1..=32768.
    pub fn matched(length: u16, distance: u16) -> Symbol {
        debug_assert!((3..=258).contains(&length));
        debug_assert!(distance >= 1 && distance as u32 <= 32768);
        // distance 32768 does not fit 15 bits: store distance - 1.
        Symbol(MATCH_FLAG | ((length as u32) << 16) | (distance as u32 - 1))
    }

    pub fn is_literal(self) -> bool {
        self.0 & MATCH_FLAG == 0
    }

    /// The literal byte; meaningless for a match.
    pub fn byte(self) -> u8 {
        self.0 as u8
    }

    /// Input bytes this symbol covers: 1 for a literal.
    pub fn length(self) -> u32 {
        if self.is_literal() {
            1
        } else {
            (self.0 >> 16) & 0x1ff
        }
    }

    /// The match distance; 0 for a literal.
    pub fn distance(self) -> u32 {
        if self.is_literal() {
            0
        } else {
            (self.0 & 0xffff) + 1
        }
    }
}

impl std::fmt::Debug for Symbol {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.is_literal() {
            write!(f, "L({})", self.byte())
        } else {
            write!(f, "M({},{})", self.length(), self.distance())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symbols_round_trip() {
        for b in [0u8, 1, 255] {
            let s = Symbol::literal(b);
            assert!(s.is_literal());
            assert_eq!((s.byte(), s.length(), s.distance()), (b, 1, 0));
        }
        for (len, dist) in [(3u16, 1u16), (258, 32768), (4, 32767), (100, 1000)] {
            let s = Symbol::matched(len, dist);
            assert!(!s.is_literal());
            assert_eq!((s.length(), s.distance()), (len as u32, dist as u32));
        }
    }
}
