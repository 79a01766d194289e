//! The part of JavaScript's `RegExp` that minimatch's segment regexes use,
//! with the `i` flag and with or without `u`.
//!
//! minimatch turns every glob segment into a RegExp source (see
//! [`super::extglob`]) and npm tests file names with it. Matching that
//! source exactly as V8 does needs ECMAScript semantics the `regex` crate
//! does not have: negative lookahead (`!(…)`), UTF-16 code units without
//! `u` (`?` matches half an emoji), ECMAScript's two case-insensitivity
//! rules (upper-casing without `u`, simple case folding with it), and the
//! same syntax errors (a `u` regex rejects `\-` outside a class, which makes
//! minimatch throw). The grammar here is the subset minimatch can emit;
//! anything else is reported as an error.
//!
//! Matching computes, for every node, the set of end positions reachable
//! from a set of start positions. Without captures or back-references that
//! is exactly the set of strings a backtracking engine accepts, in
//! polynomial time (a backtracking engine can take exponential time on the
//! same source).

use std::collections::HashMap;
use std::sync::OnceLock;

/// A compiled regex: `new RegExp(source, unicode ? "iu" : "i")`.
#[derive(Debug, Clone)]
pub struct JsRegex {
    node: Node,
    unicode: bool,
}

/// Why V8 would refuse the source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError(pub &'static str);

#[derive(Debug, Clone)]
enum Node {
    /// One character, already canonicalized.
    Char(u32),
    Class(Box<Class>),
    /// `.`: anything but a line terminator.
    Dot,
    /// `^`
    Start,
    /// `$`
    End,
    Seq(Vec<Node>),
    Alt(Vec<Node>),
    Repeat(Box<Node>, u32, Option<u32>),
    /// `(?!…)` (`true`) or `(?=…)` (`false`).
    Look(Box<Node>, bool),
}

#[derive(Debug, Clone)]
struct Class {
    negate: bool,
    /// Inclusive ranges of characters (code units without `u`).
    ranges: Vec<(u32, u32)>,
}

impl JsRegex {
    /// Parses `source` (UTF-16, as a JavaScript string holds it).
    pub fn new(source: &[u16], unicode: bool) -> Result<JsRegex, SyntaxError> {
        let chars: Vec<u32> = if unicode {
            char::decode_utf16(source.iter().copied())
                .map(|r| match r {
                    Ok(c) => c as u32,
                    Err(e) => e.unpaired_surrogate() as u32,
                })
                .collect()
        } else {
            source.iter().map(|&u| u as u32).collect()
        };
        let mut p = Parser {
            s: &chars,
            i: 0,
            unicode,
        };
        let node = p.disjunction()?;
        if p.i < chars.len() {
            // A `)` without its `(`.
            return Err(SyntaxError("Unmatched ')'"));
        }
        Ok(JsRegex { node, unicode })
    }

    /// `regex.test(s)`.
    pub fn is_match(&self, s: &str) -> bool {
        let input: Vec<u32> = if self.unicode {
            s.chars().map(|c| c as u32).collect()
        } else {
            s.encode_utf16().map(u32::from).collect()
        };
        let m = Matcher {
            input: &input,
            unicode: self.unicode,
        };
        // Unanchored search, as `test` does: any start position.
        let mut from = Set::new(input.len());
        for p in 0..=input.len() {
            from.insert(p);
        }
        !m.run(&self.node, &from).is_empty()
    }
}

// ---------------------------------------------------------------------------
// Parsing

struct Parser<'a> {
    s: &'a [u32],
    i: usize,
    unicode: bool,
}

const fn c(ch: char) -> u32 {
    ch as u32
}

impl Parser<'_> {
    fn peek(&self) -> Option<u32> {
        self.s.get(self.i).copied()
    }

    fn eat(&mut self, ch: char) -> bool {
        if self.peek() == Some(c(ch)) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn disjunction(&mut self) -> Result<Node, SyntaxError> {
        let mut alts = vec![self.alternative()?];
        while self.eat('|') {
            alts.push(self.alternative()?);
        }
        Ok(if alts.len() == 1 {
            alts.pop().unwrap()
        } else {
            Node::Alt(alts)
        })
    }

    fn alternative(&mut self) -> Result<Node, SyntaxError> {
        let mut seq = Vec::new();
        while let Some(ch) = self.peek() {
            if ch == c('|') || ch == c(')') {
                break;
            }
            let (atom, quantifiable) = self.term()?;
            let atom = match self.quantifier()? {
                Some((min, max)) => {
                    if !quantifiable {
                        return Err(SyntaxError("Nothing to repeat"));
                    }
                    Node::Repeat(Box::new(atom), min, max)
                }
                None => atom,
            };
            seq.push(atom);
        }
        Ok(if seq.len() == 1 {
            seq.pop().unwrap()
        } else {
            Node::Seq(seq)
        })
    }

    /// A quantifier after an atom, with its lazy `?` (which does not change
    /// what matches).
    fn quantifier(&mut self) -> Result<Option<(u32, Option<u32>)>, SyntaxError> {
        let q = match self.peek() {
            Some(x) if x == c('*') => (0, None),
            Some(x) if x == c('+') => (1, None),
            Some(x) if x == c('?') => (0, Some(1)),
            Some(x) if x == c('{') => match self.braces() {
                Some((q, len)) => {
                    self.i += len - 1;
                    q
                }
                None if self.unicode => return Err(SyntaxError("Incomplete quantifier")),
                None => return Ok(None),
            },
            _ => return Ok(None),
        };
        self.i += 1;
        self.eat('?');
        Ok(Some(q))
    }

    /// `{n}`, `{n,}` or `{n,m}` at the cursor: the bounds and the length.
    fn braces(&self) -> Option<((u32, Option<u32>), usize)> {
        let rest = &self.s[self.i + 1..];
        let digits = |s: &[u32]| {
            s.iter()
                .take_while(|&&d| (c('0')..=c('9')).contains(&d))
                .count()
        };
        let num = |s: &[u32]| {
            s.iter().fold(0u64, |n, &d| {
                (n * 10 + (d - c('0')) as u64).min(u32::MAX as u64)
            }) as u32
        };
        let n1 = digits(rest);
        if n1 == 0 {
            return None;
        }
        let min = num(&rest[..n1]);
        let mut k = n1;
        let max = if rest.get(k) == Some(&c(',')) {
            k += 1;
            let n2 = digits(&rest[k..]);
            let max = (n2 > 0).then(|| num(&rest[k..k + n2]));
            k += n2;
            max
        } else {
            Some(min)
        };
        (rest.get(k) == Some(&c('}'))).then_some(((min, max), k + 2))
    }

    /// One term; the flag says whether a quantifier may follow.
    fn term(&mut self) -> Result<(Node, bool), SyntaxError> {
        let ch = self.peek().unwrap();
        self.i += 1;
        Ok(match char::from_u32(ch).unwrap_or('\u{FFFD}') {
            '^' => (Node::Start, false),
            '$' => (Node::End, false),
            '.' => (Node::Dot, true),
            '(' => {
                let look = if self.s[self.i..].starts_with(&[c('?'), c('!')]) {
                    Some(true)
                } else if self.s[self.i..].starts_with(&[c('?'), c('=')]) {
                    Some(false)
                } else {
                    None
                };
                if look.is_some() || self.s[self.i..].starts_with(&[c('?'), c(':')]) {
                    self.i += 2;
                } else if self.peek() == Some(c('?')) {
                    return Err(SyntaxError("Invalid group"));
                }
                let inner = self.disjunction()?;
                if !self.eat(')') {
                    return Err(SyntaxError("Unterminated group"));
                }
                match look {
                    // Annex B lets a lookahead be quantified without `u`.
                    Some(neg) => (Node::Look(Box::new(inner), neg), !self.unicode),
                    None => (inner, true),
                }
            }
            '[' => (Node::Class(Box::new(self.class()?)), true),
            '\\' => (self.atom_escape()?, true),
            '*' | '+' | '?' => return Err(SyntaxError("Nothing to repeat")),
            '{' if self.unicode => return Err(SyntaxError("Lone quantifier brackets")),
            '{' => {
                self.i -= 1;
                if self.braces().is_some() {
                    return Err(SyntaxError("Nothing to repeat"));
                }
                self.i += 1;
                (Node::Char(canonicalize(ch, false)), true)
            }
            '}' | ']' if self.unicode => return Err(SyntaxError("Lone quantifier brackets")),
            _ => (Node::Char(canonicalize(ch, self.unicode)), true),
        })
    }

    fn atom_escape(&mut self) -> Result<Node, SyntaxError> {
        match self.class_escape(false)? {
            Escaped::Char(ch) => Ok(Node::Char(canonicalize(ch, self.unicode))),
            Escaped::Set(ranges) => Ok(Node::Class(Box::new(Class {
                negate: false,
                ranges,
            }))),
        }
    }

    /// After a `\`, inside a class or not.
    fn class_escape(&mut self, in_class: bool) -> Result<Escaped, SyntaxError> {
        let Some(ch) = self.peek() else {
            return Err(SyntaxError("\\ at end of pattern"));
        };
        self.i += 1;
        let e = char::from_u32(ch).unwrap_or('\u{FFFD}');
        Ok(Escaped::Char(match e {
            't' => 9,
            'n' => 10,
            'v' => 11,
            'f' => 12,
            'r' => 13,
            '0' if !self.peek().is_some_and(|d| (c('0')..=c('9')).contains(&d)) => 0,
            'x' => {
                let hex = self.s.get(self.i..self.i + 2).and_then(|h| {
                    h.iter()
                        .try_fold(0, |v, &d| Some(v * 16 + char::from_u32(d)?.to_digit(16)?))
                });
                match hex {
                    Some(v) => {
                        self.i += 2;
                        v
                    }
                    None if self.unicode => return Err(SyntaxError("Invalid escape")),
                    None => ch,
                }
            }
            'p' | 'P' if self.unicode => {
                let start = self.i + 1;
                let end = self.s[start.min(self.s.len())..]
                    .iter()
                    .position(|&x| x == c('}'))
                    .map(|n| start + n);
                if self.peek() != Some(c('{')) || end.is_none() {
                    return Err(SyntaxError("Invalid property name"));
                }
                let end = end.unwrap();
                let name: String = self.s[start..end]
                    .iter()
                    .filter_map(|&x| char::from_u32(x))
                    .collect();
                self.i = end + 1;
                let Some(ranges) = property(&name) else {
                    return Err(SyntaxError("Invalid property name"));
                };
                let ranges = if e == 'P' {
                    complement(ranges)
                } else {
                    ranges.to_vec()
                };
                return Ok(Escaped::Set(ranges));
            }
            'd' | 'D' | 'w' | 'W' | 's' | 'S' | 'b' | 'B' | 'c' | 'k' | 'u' => {
                // Never emitted by minimatch: its sources escape letters away.
                return Err(SyntaxError("unsupported escape"));
            }
            '1'..='9' => return Err(SyntaxError("unsupported escape")),
            _ if self.unicode => {
                let syntax = "^$\\.*+?()[]{}|/".contains(e) || (in_class && e == '-');
                if !syntax {
                    return Err(SyntaxError("Invalid escape"));
                }
                ch
            }
            _ => ch,
        }))
    }

    /// After `[`.
    fn class(&mut self) -> Result<Class, SyntaxError> {
        let negate = self.eat('^');
        let mut ranges = Vec::new();
        loop {
            let Some(ch) = self.peek() else {
                return Err(SyntaxError("Unterminated character class"));
            };
            if ch == c(']') {
                self.i += 1;
                break;
            }
            let a = self.class_atom()?;
            if self.peek() == Some(c('-')) && self.s.get(self.i + 1) != Some(&c(']')) {
                if self.s.get(self.i + 1).is_none() {
                    return Err(SyntaxError("Unterminated character class"));
                }
                self.i += 1;
                let b = self.class_atom()?;
                match (a, b) {
                    (Escaped::Char(x), Escaped::Char(y)) => {
                        if x > y {
                            return Err(SyntaxError("Range out of order in character class"));
                        }
                        ranges.push((x, y));
                    }
                    (a, b) => {
                        if self.unicode {
                            return Err(SyntaxError("Invalid character class"));
                        }
                        // Annex B: a class escape in a range is taken as
                        // the set plus a literal `-`.
                        for e in [a, Escaped::Char(c('-')), b] {
                            e.push_to(&mut ranges);
                        }
                    }
                }
            } else {
                a.push_to(&mut ranges);
            }
        }
        Ok(Class { negate, ranges })
    }

    fn class_atom(&mut self) -> Result<Escaped, SyntaxError> {
        let ch = self.peek().unwrap();
        self.i += 1;
        if ch == c('\\') {
            if self.peek() == Some(c('b')) {
                self.i += 1;
                return Ok(Escaped::Char(8));
            }
            if self.peek() == Some(c('-')) && !self.unicode {
                self.i += 1;
                return Ok(Escaped::Char(c('-')));
            }
            return self.class_escape(true);
        }
        Ok(Escaped::Char(ch))
    }
}

enum Escaped {
    Char(u32),
    Set(Vec<(u32, u32)>),
}

impl Escaped {
    fn push_to(self, ranges: &mut Vec<(u32, u32)>) {
        match self {
            Escaped::Char(x) => ranges.push((x, x)),
            Escaped::Set(s) => ranges.extend(s),
        }
    }
}

/// The general categories minimatch's POSIX classes use, as ranges.
fn property(name: &str) -> Option<&'static [(u32, u32)]> {
    static TABLE: OnceLock<HashMap<&'static str, Vec<(u32, u32)>>> = OnceLock::new();
    let table = TABLE.get_or_init(|| {
        let mut t = HashMap::new();
        for name in ["L", "Nl", "Nd", "Zs", "Cc", "Ll", "Lu", "P", "Z", "C", "Pc"] {
            let hir = regex_syntax::ParserBuilder::new()
                .build()
                .parse(&format!(r"\p{{{name}}}"))
                .expect("a general category");
            let mut ranges = Vec::new();
            if let regex_syntax::hir::HirKind::Class(regex_syntax::hir::Class::Unicode(cls)) =
                hir.kind()
            {
                ranges.extend(
                    cls.ranges()
                        .iter()
                        .map(|r| (r.start() as u32, r.end() as u32)),
                );
            }
            if name == "C" {
                // JavaScript's \p{C} holds the surrogates (Cs), which Rust's
                // `char` cannot.
                ranges.push((0xD800, 0xDFFF));
                ranges.sort_unstable();
            }
            t.insert(name, ranges);
        }
        t
    });
    table.get(name).map(Vec::as_slice)
}

fn complement(ranges: &[(u32, u32)]) -> Vec<(u32, u32)> {
    let mut out = Vec::new();
    let mut next = 0u32;
    for &(a, b) in ranges {
        if a > next {
            out.push((next, a - 1));
        }
        next = next.max(b + 1);
    }
    if next <= 0x10FFFF {
        out.push((next, 0x10FFFF));
    }
    out
}

// ---------------------------------------------------------------------------
// Case-insensitivity: ECMAScript's `Canonicalize`.

/// `Canonicalize(ch)` with the `i` flag.
pub fn canonicalize(ch: u32, unicode: bool) -> u32 {
    if unicode {
        simple_fold(ch)
    } else {
        nonunicode_table()[ch as usize & 0xFFFF] as u32
    }
}

/// ECMAScript's `Canonicalize` without `u` (case-insensitive RegExps, and
/// minimatch's `nocase` matching): the code unit upper-cased when that gives
/// one code unit, except that nothing outside ASCII becomes ASCII (`ſ` does
/// not match `s`, the Kelvin sign does not match `k`).
pub(crate) fn nonunicode_canon(u: u16) -> u16 {
    if u < 128 {
        return (u as u8).to_ascii_uppercase() as u16;
    }
    let Some(ch) = char::from_u32(u as u32) else {
        return u; // a surrogate
    };
    let mut upper = ch.to_uppercase();
    match (upper.next(), upper.next()) {
        (Some(c), None) if c.len_utf16() == 1 && (c as u32) >= 128 => c as u32 as u16,
        _ => u,
    }
}

fn nonunicode_table() -> &'static [u16] {
    static T: OnceLock<Vec<u16>> = OnceLock::new();
    T.get_or_init(|| (0..=0xFFFFu16).map(nonunicode_canon).collect())
}

/// Every code unit with the same non-`u` canonical form as `u` (itself
/// included).
fn nonunicode_orbit(u: u32) -> &'static [u32] {
    static T: OnceLock<HashMap<u32, Vec<u32>>> = OnceLock::new();
    let t = T.get_or_init(|| {
        let canon = nonunicode_table();
        let mut by_canon: HashMap<u32, Vec<u32>> = HashMap::new();
        for (unit, &cu) in canon.iter().enumerate() {
            by_canon.entry(cu as u32).or_default().push(unit as u32);
        }
        let mut t = HashMap::new();
        for orbit in by_canon.into_values() {
            if orbit.len() > 1 {
                for &m in &orbit {
                    t.insert(m, orbit.clone());
                }
            }
        }
        t
    });
    t.get(&u).map(Vec::as_slice).unwrap_or(&[])
}

/// Every code point with the same simple case folding as `ch` (itself
/// included), from the Unicode tables of `regex-syntax`.
fn unicode_orbit(ch: u32) -> Vec<u32> {
    let Some(c) = char::from_u32(ch) else {
        return vec![ch];
    };
    let mut cls =
        regex_syntax::hir::ClassUnicode::new([regex_syntax::hir::ClassUnicodeRange::new(c, c)]);
    cls.case_fold_simple();
    cls.iter()
        .flat_map(|r| (r.start() as u32)..=(r.end() as u32))
        .collect()
}

/// Simple case folding as a canonical form: the smallest member of the
/// orbit (any fixed member works, only equality is compared).
fn simple_fold(ch: u32) -> u32 {
    if ch < 128 {
        // The smallest member of an ASCII letter's orbit is its upper case.
        return (ch as u8).to_ascii_uppercase() as u32;
    }
    unicode_orbit(ch).into_iter().min().unwrap_or(ch)
}

impl Class {
    fn contains(&self, ch: u32, unicode: bool) -> bool {
        let hit = |x: u32| self.ranges.iter().any(|&(a, b)| a <= x && x <= b);
        let found = hit(ch)
            || if unicode {
                unicode_orbit(ch).into_iter().any(hit)
            } else {
                nonunicode_orbit(ch).iter().any(|&x| hit(x))
            };
        found != self.negate
    }
}

// ---------------------------------------------------------------------------
// Matching: sets of positions.

#[derive(Clone, PartialEq, Eq)]
struct Set(Vec<u64>);

impl Set {
    fn new(len: usize) -> Set {
        Set(vec![0; len / 64 + 1])
    }
    fn insert(&mut self, p: usize) {
        self.0[p / 64] |= 1 << (p % 64);
    }
    fn contains(&self, p: usize) -> bool {
        self.0[p / 64] & (1 << (p % 64)) != 0
    }
    fn is_empty(&self) -> bool {
        self.0.iter().all(|&w| w == 0)
    }
    fn union(&mut self, o: &Set) {
        for (a, b) in self.0.iter_mut().zip(&o.0) {
            *a |= b;
        }
    }
    /// Positions not in `o`.
    fn minus(&self, o: &Set) -> Set {
        Set(self.0.iter().zip(&o.0).map(|(a, b)| a & !b).collect())
    }
    fn iter(&self) -> impl Iterator<Item = usize> + '_ {
        self.0.iter().enumerate().flat_map(|(w, &bits)| {
            let mut bits = bits;
            std::iter::from_fn(move || {
                (bits != 0).then(|| {
                    let b = bits.trailing_zeros() as usize;
                    bits &= bits - 1;
                    w * 64 + b
                })
            })
        })
    }
}

struct Matcher<'a> {
    input: &'a [u32],
    unicode: bool,
}

impl Matcher<'_> {
    fn one(&self, from: &Set, test: impl Fn(u32) -> bool) -> Set {
        let mut out = Set::new(self.input.len());
        for p in from.iter() {
            if p < self.input.len() && test(self.input[p]) {
                out.insert(p + 1);
            }
        }
        out
    }

    /// End positions of `node` from the positions in `from`.
    fn run(&self, node: &Node, from: &Set) -> Set {
        let n = self.input.len();
        match node {
            Node::Char(want) => self.one(from, |x| canonicalize(x, self.unicode) == *want),
            Node::Class(cls) => self.one(from, |x| cls.contains(x, self.unicode)),
            Node::Dot => self.one(from, |x| !matches!(x, 10 | 13 | 0x2028 | 0x2029)),
            Node::Start => {
                let mut out = Set::new(n);
                if from.contains(0) {
                    out.insert(0);
                }
                out
            }
            Node::End => {
                let mut out = Set::new(n);
                if from.contains(n) {
                    out.insert(n);
                }
                out
            }
            Node::Seq(nodes) => {
                let mut cur = from.clone();
                for node in nodes {
                    if cur.is_empty() {
                        break;
                    }
                    cur = self.run(node, &cur);
                }
                cur
            }
            Node::Alt(nodes) => {
                let mut out = Set::new(n);
                for node in nodes {
                    out.union(&self.run(node, from));
                }
                out
            }
            Node::Repeat(node, min, max) => {
                let mut cur = from.clone();
                for _ in 0..*min {
                    if cur.is_empty() {
                        return cur;
                    }
                    cur = self.run(node, &cur);
                }
                let mut out = cur.clone();
                let extra = max.map(|m| m - min);
                let mut k = 0;
                while extra.is_none_or(|e| k < e) {
                    let next = self.run(node, &cur).minus(&out);
                    if next.is_empty() {
                        break;
                    }
                    out.union(&next);
                    cur = next;
                    k += 1;
                }
                out
            }
            Node::Look(node, negative) => {
                let mut out = Set::new(n);
                for p in from.iter() {
                    let mut at = Set::new(n);
                    at.insert(p);
                    if self.run(node, &at).is_empty() == *negative {
                        out.insert(p);
                    }
                }
                out
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn re(src: &str, unicode: bool) -> Result<JsRegex, SyntaxError> {
        JsRegex::new(&src.encode_utf16().collect::<Vec<_>>(), unicode)
    }

    fn m(src: &str, s: &str) -> bool {
        re(src, false).unwrap().is_match(s)
    }

    #[test]
    fn anchors_alternation_lookahead() {
        assert!(m("^a|b$", "ax") && m("^a|b$", "xb") && !m("^a|b$", "xa"));
        assert!(m("^x(?:(?!(?:yz(?:$|\\/)))[^/]*?)z$", "xaz"));
        assert!(!m("^x(?:(?!(?:yz(?:$|\\/)))[^/]*?)z$", "xyz"));
        assert!(m("^(?:a|bc)+$", "abcbca") && !m("^(?:a|bc)+$", "abcb"));
        assert!(!m("^$.", "") && m("^@()$", "@"));
    }

    #[test]
    fn case_rules() {
        assert!(m("^k$", "K") && !m("^k$", "\u{212A}"));
        assert!(re("^k$", true).unwrap().is_match("\u{212A}"));
        assert!(m("^[a-c]$", "B") && m("^[^a-c]$", "d") && !m("^[^a-c]$", "B"));
        assert!(m("^..$", "\u{1F600}") && !re("^..$", true).unwrap().is_match("\u{1F600}"));
        assert!(re("^[\\p{Lu}]$", true).unwrap().is_match("a"));
    }

    #[test]
    fn syntax_errors() {
        assert!(re("^\\-$", true).is_err() && re("^\\-$", false).is_ok());
        assert!(re("^[\\-]$", true).is_ok());
        assert!(re("^*()$", false).is_err() && re("^+()$", false).is_err());
        assert!(re("^(?:a)+()$", false).is_ok());
        assert!(re("^[\u{1F600}-\u{E000}]$", true).is_err());
        assert!(re("^[\u{1F600}-\u{E000}]$", false).is_ok());
    }
}
