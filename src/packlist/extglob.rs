//! One glob segment to what minimatch 10.2.5 makes of it (`AST.fromGlob(…)
//! .toMMPattern()` and `parseClass`), with the options npm's ignore walker
//! passes (`dot`, `nocase`; extglobs on).
//!
//! minimatch parses a segment into a tree of extglobs (`!(…)`, `@(…)`,
//! `+(…)`, `*(…)`, `?(…)`), flattens nested ones ("adoption"), copies what
//! follows a `!(…)` into it, and prints a RegExp source. Its quirks decide
//! which files npm packs (an escaped `|` becomes an alternation, `[\^a]` a
//! negated class, an unfinished `@(` a literal, a POSIX class next to a
//! `-` a thrown error), so this is a line-by-line port working on UTF-16
//! code units as JavaScript strings do. The printed source is then
//! compiled by [`super::jsregex`].
//!
//! The tree is an arena; each node's parts live in a separate list of
//! arrays because minimatch's "usurp" step makes two nodes share one array.

use super::jsregex::{JsRegex, SyntaxError};

type U16s = Vec<u16>;

fn u(s: &str) -> U16s {
    s.encode_utf16().collect()
}

fn starts_with(s: &[u16], at: usize, prefix: &str) -> bool {
    let p = u(prefix);
    s.get(at..).is_some_and(|rest| rest.starts_with(&p))
}

/// What a segment compiles to.
#[derive(Debug)]
pub enum Compiled {
    /// No magic: compared as a string.
    Literal(String),
    /// A RegExp (`i`, and `u` when `unicode`), as its source without `^…$`.
    Regex { source: U16s, unicode: bool },
}

impl Compiled {
    /// `new RegExp('^' + source + '$', flags)`; the error is V8's.
    pub fn regex(source: &[u16], unicode: bool) -> Result<JsRegex, SyntaxError> {
        let mut full = u("^");
        full.extend_from_slice(source);
        full.extend(u("$"));
        JsRegex::new(&full, unicode)
    }
}

/// minimatch's `AST.fromGlob(glob, {dot, nocase}).toMMPattern()`.
pub fn compile(glob: &str) -> Compiled {
    let glob = u(glob);
    let mut ast = Ast {
        nodes: Vec::new(),
        arrays: Vec::new(),
        negs: Vec::new(),
        filled_negs: false,
    };
    let root = ast.new_node(None, None);
    ast.parse(&glob, root, 0, 0);
    ast.mm_pattern(root)
}

#[derive(Clone)]
enum Part {
    Str(U16s),
    Node(usize),
}

struct Node {
    ty: Option<u16>,
    /// Index into [`Ast::arrays`].
    parts: usize,
    parent: Option<usize>,
    parent_index: usize,
    has_magic: Option<bool>,
    uflag: bool,
    empty_ext: bool,
    cached_text: Option<U16s>,
}

struct Ast {
    nodes: Vec<Node>,
    arrays: Vec<Vec<Part>>,
    negs: Vec<usize>,
    filled_negs: bool,
}

const MAX_EXTGLOB_RECURSION: usize = 2;

fn is_extglob_type(c: u16) -> bool {
    matches!(char::from_u32(c as u32), Some('!' | '?' | '+' | '*' | '@'))
}

/// `adoptionMap`, `adoptionWithSpaceMap`, `adoptionAnyMap`.
fn adoption(parent: u16, child: u16, map: Map) -> bool {
    let p = char::from_u32(parent as u32).unwrap_or(' ');
    let c = char::from_u32(child as u32).unwrap_or(' ');
    let allowed: &str = match (map, p) {
        (Map::Adopt, '!') => "@",
        (Map::Adopt, '?') => "?@",
        (Map::Adopt, '@') => "@",
        (Map::Adopt, '*') => "*+?@",
        (Map::Adopt, '+') => "+@",
        (Map::WithSpace, '!') => "?",
        (Map::WithSpace, '@') => "?",
        (Map::WithSpace, '+') => "?*",
        (Map::Any, '!') => "?@",
        (Map::Any, '?') => "?@",
        (Map::Any, '@') => "?@",
        (Map::Any, '*') => "*+?@",
        (Map::Any, '+') => "+@?*",
        _ => "",
    };
    allowed.contains(c)
}

#[derive(Clone, Copy)]
enum Map {
    Adopt,
    WithSpace,
    Any,
}

/// `usurpMap`: the type a parent takes when its only child is `child`.
fn usurp_type(parent: u16, child: u16) -> Option<u16> {
    let p = char::from_u32(parent as u32)?;
    let c = char::from_u32(child as u32)?;
    let nt = match (p, c) {
        ('!', '!') => '@',
        ('?', '*' | '+') => '*',
        ('@', '!' | '?' | '@' | '*' | '+') => c,
        ('+', '?' | '*') => '*',
        _ => return None,
    };
    Some(nt as u16)
}

pub const START_NO_TRAVERSAL: &str = r"(?!(?:^|/)\.\.?(?:$|/))";
const QMARK: &str = "[^/]";
const STAR: &str = "[^/]*?";
const STAR_NO_EMPTY: &str = "[^/]+?";

/// minimatch's `regExpEscape`: `/[-[\]{}()*+?.,\\^$|#\s]/g`.
fn regexp_escape_into(out: &mut U16s, c: u16) {
    if c < 128 && b"-[]{}()*+?.,\\^$|#".contains(&(c as u8)) || is_js_space(c) {
        out.push(b'\\' as u16);
    }
    out.push(c);
}

/// JavaScript's `\s`.
fn is_js_space(c: u16) -> bool {
    matches!(
        c,
        0x09..=0x0D
            | 0x20
            | 0xA0
            | 0x1680
            | 0x2000..=0x200A
            | 0x2028
            | 0x2029
            | 0x202F
            | 0x205F
            | 0x3000
            | 0xFEFF
    )
}

fn is_line_terminator(c: u16) -> bool {
    matches!(c, 0x0A | 0x0D | 0x2028 | 0x2029)
}

/// minimatch's `unescape(s)` (no Windows paths, magical braces).
fn unescape(s: &[u16]) -> U16s {
    let (lb, rb, bs, sl) = (b'[' as u16, b']' as u16, b'\\' as u16, b'/' as u16);
    // s.replace(/((?!\\).|^)\[([^/\\])\]/g, '$1$2')
    let mut a = Vec::with_capacity(s.len());
    let mut i = 0;
    let class_at = |j: usize| {
        s.get(j) == Some(&lb)
            && s.get(j + 1).is_some_and(|&c| c != sl && c != bs)
            && s.get(j + 2) == Some(&rb)
    };
    while i < s.len() {
        if s[i] != bs && !is_line_terminator(s[i]) && class_at(i + 1) {
            a.push(s[i]);
            a.push(s[i + 2]);
            i += 4;
        } else if i == 0 && class_at(0) {
            a.push(s[1]);
            i += 3;
        } else {
            a.push(s[i]);
            i += 1;
        }
    }
    // .replace(/\\([^/])/g, '$1')
    let mut b = Vec::with_capacity(a.len());
    let mut i = 0;
    while i < a.len() {
        if a[i] == bs && a.get(i + 1).is_some_and(|&c| c != sl) {
            b.push(a[i + 1]);
            i += 2;
        } else {
            b.push(a[i]);
            i += 1;
        }
    }
    b
}

impl Ast {
    /// `new AST(type, parent)`.
    fn new_node(&mut self, ty: Option<u16>, parent: Option<usize>) -> usize {
        let id = self.nodes.len();
        self.arrays.push(Vec::new());
        let parent_index = parent.map_or(0, |p| self.parts(p).len());
        self.nodes.push(Node {
            ty,
            parts: self.arrays.len() - 1,
            parent,
            parent_index,
            has_magic: ty.map(|_| true),
            uflag: false,
            empty_ext: false,
            cached_text: None,
        });
        if ty == Some(b'!' as u16) && !self.filled_negs {
            self.negs.push(id);
        }
        id
    }

    fn parts(&self, n: usize) -> &Vec<Part> {
        &self.arrays[self.nodes[n].parts]
    }

    fn parts_mut(&mut self, n: usize) -> &mut Vec<Part> {
        let a = self.nodes[n].parts;
        &mut self.arrays[a]
    }

    fn is_root(&self, n: usize) -> bool {
        self.nodes[n].parent.is_none()
    }

    /// `push(...parts)`: empty strings are dropped.
    fn push(&mut self, n: usize, part: Part) {
        if matches!(&part, Part::Str(s) if s.is_empty()) {
            return;
        }
        self.parts_mut(n).push(part);
    }

    /// minimatch's `toString()`, cached as minimatch caches it: some steps
    /// change parts without clearing the cache, and what they print depends
    /// on that.
    fn text(&mut self, n: usize) -> U16s {
        if let Some(s) = &self.nodes[n].cached_text {
            return s.clone();
        }
        let parts = self.parts(n).clone();
        let mut out = U16s::new();
        let ty = self.nodes[n].ty;
        if let Some(t) = ty {
            out.push(t);
            out.push(b'(' as u16);
        }
        for (k, p) in parts.iter().enumerate() {
            if ty.is_some() && k > 0 {
                out.push(b'|' as u16);
            }
            match p {
                Part::Str(s) => out.extend_from_slice(s),
                Part::Node(c) => {
                    let s = self.text(*c);
                    out.extend(s);
                }
            }
        }
        if ty.is_some() {
            out.push(b')' as u16);
        }
        self.nodes[n].cached_text = Some(out.clone());
        out
    }

    fn fill_negs(&mut self, root: usize) {
        if self.filled_negs {
            return;
        }
        self.text(root);
        self.filled_negs = true;
        while let Some(n) = self.negs.pop() {
            if self.nodes[n].ty != Some(b'!' as u16) {
                continue;
            }
            let mut p = n;
            let mut pp = self.nodes[p].parent;
            while let Some(ppn) = pp {
                let mut i = self.nodes[p].parent_index + 1;
                while self.nodes[ppn].ty.is_none() && i < self.parts(ppn).len() {
                    let n_parts = self.parts(n).clone();
                    for part in n_parts {
                        let Part::Node(part) = part else {
                            continue; // "string part in extglob AST??"
                        };
                        let source = self.parts(ppn)[i].clone();
                        self.copy_in(part, source);
                    }
                    i += 1;
                }
                p = ppn;
                pp = self.nodes[p].parent;
            }
        }
    }

    fn is_start(&self, n: usize) -> bool {
        let Some(parent) = self.nodes[n].parent else {
            return true;
        };
        if !self.is_start(parent) {
            return false;
        }
        let pi = self.nodes[n].parent_index;
        if pi == 0 {
            return true;
        }
        let pparts = self.parts(parent);
        (0..pi).all(|i| {
            matches!(pparts.get(i), Some(Part::Node(c)) if self.nodes[*c].ty == Some(b'!' as u16))
        })
    }

    fn is_end(&self, n: usize) -> bool {
        let Some(parent) = self.nodes[n].parent else {
            return true;
        };
        if self.nodes[parent].ty == Some(b'!' as u16) {
            return true;
        }
        if !self.is_end(parent) {
            return false;
        }
        if self.nodes[n].ty.is_none() {
            return self.is_end(parent);
        }
        let pl = self.parts(parent).len();
        self.nodes[n].parent_index + 1 == pl
    }

    fn copy_in(&mut self, n: usize, part: Part) {
        match part {
            Part::Str(s) => self.push(n, Part::Str(s)),
            Part::Node(c) => {
                let cl = self.clone_node(c, n);
                self.push(n, Part::Node(cl));
            }
        }
    }

    fn clone_node(&mut self, n: usize, parent: usize) -> usize {
        let c = self.new_node(self.nodes[n].ty, Some(parent));
        for p in self.parts(n).clone() {
            self.copy_in(c, p);
        }
        c
    }

    /// `AST.#parseAST`: returns the index after what it consumed.
    fn parse(&mut self, s: &[u16], ast: usize, pos: usize, ext_depth: usize) -> usize {
        let (bs, lb, rb) = (b'\\' as u16, b'[' as u16, b']' as u16);
        let (caret, bang, open) = (b'^' as u16, b'!' as u16, b'(' as u16);
        let mut escaping = false;
        let mut in_brace = false;
        let mut brace_start = 0usize;
        let mut brace_neg = false;
        if self.nodes[ast].ty.is_none() {
            let mut i = pos;
            let mut acc = U16s::new();
            while i < s.len() {
                let c = s[i];
                i += 1;
                if escaping || c == bs {
                    escaping = !escaping;
                    acc.push(c);
                    continue;
                }
                if in_brace {
                    if i == brace_start + 1 {
                        if c == caret || c == bang {
                            brace_neg = true;
                        }
                    } else if c == rb && !(i == brace_start + 2 && brace_neg) {
                        in_brace = false;
                    }
                    acc.push(c);
                    continue;
                } else if c == lb {
                    in_brace = true;
                    brace_start = i;
                    brace_neg = false;
                    acc.push(c);
                    continue;
                }
                let recurse = is_extglob_type(c)
                    && s.get(i) == Some(&open)
                    && ext_depth <= MAX_EXTGLOB_RECURSION;
                if recurse {
                    self.push(ast, Part::Str(std::mem::take(&mut acc)));
                    let ext = self.new_node(Some(c), Some(ast));
                    i = self.parse(s, ext, i, ext_depth + 1);
                    self.push(ast, Part::Node(ext));
                    continue;
                }
                acc.push(c);
            }
            self.push(ast, Part::Str(acc));
            return i;
        }
        // An extglob: `pos` is at its `(`.
        let ty = self.nodes[ast].ty.unwrap();
        let mut i = pos + 1;
        let mut part = self.new_node(None, Some(ast));
        let mut parts: Vec<usize> = Vec::new();
        let mut acc = U16s::new();
        while i < s.len() {
            let c = s[i];
            i += 1;
            if escaping || c == bs {
                escaping = !escaping;
                acc.push(c);
                continue;
            }
            if in_brace {
                if i == brace_start + 1 {
                    if c == caret || c == bang {
                        brace_neg = true;
                    }
                } else if c == rb && !(i == brace_start + 2 && brace_neg) {
                    in_brace = false;
                }
                acc.push(c);
                continue;
            } else if c == lb {
                in_brace = true;
                brace_start = i;
                brace_neg = false;
                acc.push(c);
                continue;
            }
            let adoptable = is_extglob_type(c) && adoption(ty, c, Map::Any);
            let recurse = is_extglob_type(c)
                && s.get(i) == Some(&open)
                && (ext_depth <= MAX_EXTGLOB_RECURSION || adoptable);
            if recurse {
                let depth_add = if adoptable { 0 } else { 1 };
                self.push(part, Part::Str(std::mem::take(&mut acc)));
                let ext = self.new_node(Some(c), Some(part));
                self.push(part, Part::Node(ext));
                i = self.parse(s, ext, i, ext_depth + depth_add);
                continue;
            }
            if c == b'|' as u16 {
                self.push(part, Part::Str(std::mem::take(&mut acc)));
                parts.push(part);
                part = self.new_node(None, Some(ast));
                continue;
            }
            if c == b')' as u16 {
                if acc.is_empty() && self.parts(ast).is_empty() {
                    self.nodes[ast].empty_ext = true;
                }
                self.push(part, Part::Str(std::mem::take(&mut acc)));
                for p in parts.into_iter().chain([part]) {
                    self.push(ast, Part::Node(p));
                }
                return i;
            }
            acc.push(c);
        }
        // Unfinished: not an extglob after all, but the text from its type on.
        self.nodes[ast].ty = None;
        self.nodes[ast].has_magic = None;
        self.arrays.push(vec![Part::Str(s[pos - 1..].to_vec())]);
        self.nodes[ast].parts = self.arrays.len() - 1;
        i
    }

    /// `#canAdopt(child, map)` (with `#canAdoptWithSpace` as `WithSpace`).
    fn can_adopt(&self, n: usize, child: &Part, map: Map) -> bool {
        let Part::Node(child) = *child else {
            return false;
        };
        let Some(ty) = self.nodes[n].ty else {
            return false;
        };
        if self.nodes[child].ty.is_some() || self.parts(child).len() != 1 {
            return false;
        }
        match self.parts(child)[0] {
            Part::Node(gc) => self.nodes[gc].ty.is_some_and(|gt| adoption(ty, gt, map)),
            Part::Str(_) => false,
        }
    }

    fn adopt(&mut self, n: usize, child: usize, index: usize) {
        let Part::Node(gc) = self.parts(child)[0] else {
            unreachable!()
        };
        let gparts = self.parts(gc).clone();
        self.parts_mut(n)
            .splice(index..index + 1, gparts.iter().cloned());
        for p in &gparts {
            if let Part::Node(p) = p {
                self.nodes[*p].parent = Some(n);
            }
        }
        self.nodes[n].cached_text = None;
    }

    fn adopt_with_space(&mut self, n: usize, child: usize, index: usize) {
        let Part::Node(gc) = self.parts(child)[0] else {
            unreachable!()
        };
        let blank = self.new_node(None, Some(gc));
        self.parts_mut(blank).push(Part::Str(U16s::new()));
        self.push(gc, Part::Node(blank));
        self.adopt(n, child, index);
    }

    fn can_usurp(&self, n: usize, child: &Part) -> bool {
        let Part::Node(child) = *child else {
            return false;
        };
        let Some(ty) = self.nodes[n].ty else {
            return false;
        };
        if self.nodes[child].ty.is_some()
            || self.parts(child).len() != 1
            || self.parts(n).len() != 1
        {
            return false;
        }
        match self.parts(child)[0] {
            Part::Node(gc) => self.nodes[gc]
                .ty
                .is_some_and(|gt| usurp_type(ty, gt).is_some()),
            Part::Str(_) => false,
        }
    }

    fn usurp(&mut self, n: usize, child: usize) {
        let Part::Node(gc) = self.parts(child)[0] else {
            unreachable!()
        };
        let nt = usurp_type(self.nodes[n].ty.unwrap(), self.nodes[gc].ty.unwrap()).unwrap();
        // The same array, shared, as in JavaScript.
        self.nodes[n].parts = self.nodes[gc].parts;
        for p in self.parts(n).clone() {
            if let Part::Node(p) = p {
                self.nodes[p].parent = Some(n);
            }
        }
        self.nodes[n].ty = Some(nt);
        self.nodes[n].cached_text = None;
        self.nodes[n].empty_ext = false;
    }

    fn flatten(&mut self, n: usize) {
        if self.nodes[n].ty.is_none() {
            for p in self.parts(n).clone() {
                if let Part::Node(c) = p {
                    self.flatten(c);
                }
            }
        } else {
            let mut iterations = 0;
            loop {
                let mut done = true;
                let mut i = 0;
                while i < self.parts(n).len() {
                    let c = self.parts(n)[i].clone();
                    if let Part::Node(cn) = c {
                        self.flatten(cn);
                        if self.can_adopt(n, &c, Map::Adopt) {
                            done = false;
                            self.adopt(n, cn, i);
                        } else if self.can_adopt(n, &c, Map::WithSpace) {
                            done = false;
                            self.adopt_with_space(n, cn, i);
                        } else if self.can_usurp(n, &c) {
                            done = false;
                            self.usurp(n, cn);
                        }
                    }
                    i += 1;
                }
                iterations += 1;
                if done || iterations >= 10 {
                    break;
                }
            }
        }
        self.nodes[n].cached_text = None;
    }

    /// `toRegExpSource(allowDot)` with `dot: true`: (source, body, hasMagic, uflag).
    fn regexp_source(&mut self, n: usize) -> (U16s, U16s, bool, bool) {
        if self.is_root(n) {
            self.flatten(n);
            self.fill_negs(n);
        }
        let Some(ty) = self.nodes[n].ty else {
            let no_empty = self.is_start(n)
                && self.is_end(n)
                && self.parts(n).iter().all(|p| matches!(p, Part::Str(_)));
            let mut src = U16s::new();
            for p in self.parts(n).clone() {
                let (re, magic, uflag) = match p {
                    Part::Str(s) => {
                        let (re, magic, uflag) =
                            parse_glob(&s, self.nodes[n].has_magic.unwrap_or(false), no_empty);
                        (re, magic, uflag)
                    }
                    Part::Node(c) => {
                        let (re, _, magic, uflag) = self.regexp_source(c);
                        (re, magic, uflag)
                    }
                };
                let node = &mut self.nodes[n];
                node.has_magic = Some(node.has_magic.unwrap_or(false) || magic);
                node.uflag = node.uflag || uflag;
                src.extend(re);
            }
            let mut start = U16s::new();
            if self.is_start(n) {
                if let Some(Part::Str(first)) = self.parts(n).first() {
                    let dot_trav_allowed =
                        self.parts(n).len() == 1 && (first == &u(".") || first == &u(".."));
                    if !dot_trav_allowed {
                        let aps = |k: usize| {
                            src.get(k)
                                .is_some_and(|&c| c == b'[' as u16 || c == b'.' as u16)
                        };
                        let need_no_trav = aps(0)
                            || (starts_with(&src, 0, r"\.") && aps(2))
                            || (starts_with(&src, 0, r"\.\.") && aps(4));
                        if need_no_trav {
                            start = u(START_NO_TRAVERSAL);
                        }
                    }
                }
            }
            let mut end = U16s::new();
            let parent_is_neg = self.nodes[n]
                .parent
                .is_some_and(|p| self.nodes[p].ty == Some(b'!' as u16));
            if self.is_end(n) && self.filled_negs && parent_is_neg {
                end = u(r"(?:$|\/)");
            }
            let body = unescape(&src);
            let mut fin = start;
            fin.extend(src);
            fin.extend(end);
            let node = &mut self.nodes[n];
            let magic = node.has_magic.unwrap_or(false);
            node.has_magic = Some(magic);
            return (fin, body, magic, node.uflag);
        };

        let bang = b'!' as u16;
        let open: U16s = if ty == bang { u("(?:(?!(?:") } else { u("(?:") };
        let body = self.parts_to_regexp(n);
        if self.is_start(n) && self.is_end(n) && body.is_empty() && ty != bang {
            // An extglob alone with nothing in it: its text, literally.
            let s = self.text(n);
            self.arrays.push(vec![Part::Str(s.clone())]);
            self.nodes[n].parts = self.arrays.len() - 1;
            self.nodes[n].ty = None;
            self.nodes[n].has_magic = None;
            let body = unescape(&self.text(n));
            return (s, body, false, false);
        }
        let fin = if ty == bang && self.nodes[n].empty_ext {
            u(STAR_NO_EMPTY)
        } else {
            let close = match char::from_u32(ty as u32) {
                Some('!') => {
                    let mut c = u("))");
                    c.extend(u(STAR));
                    c.extend(u(")"));
                    c
                }
                Some('@') => u(")"),
                Some('?') => u(")?"),
                _ => vec![b')' as u16, ty],
            };
            let mut f = open;
            f.extend_from_slice(&body);
            f.extend(close);
            f
        };
        let node = &mut self.nodes[n];
        let magic = node.has_magic.unwrap_or(false);
        node.has_magic = Some(magic);
        (fin, unescape(&body), magic, node.uflag)
    }

    fn parts_to_regexp(&mut self, n: usize) -> U16s {
        let whole = self.is_start(n) && self.is_end(n);
        let mut out = U16s::new();
        let mut first = true;
        for p in self.parts(n).clone() {
            let Part::Node(c) = p else {
                continue; // "string type in extglob ast??"
            };
            let (re, _, _, uflag) = self.regexp_source(c);
            self.nodes[n].uflag = self.nodes[n].uflag || uflag;
            if whole && re.is_empty() {
                continue;
            }
            if !first {
                out.push(b'|' as u16);
            }
            first = false;
            out.extend(re);
        }
        out
    }

    fn mm_pattern(&mut self, root: usize) -> Compiled {
        let glob = self.text(root);
        let (re, body, has_magic, uflag) = self.regexp_source(root);
        let glob = String::from_utf16_lossy(&glob);
        let any_magic = has_magic
            || self.nodes[root].has_magic == Some(true)
            || glob.to_uppercase() != glob.to_lowercase();
        if !any_magic {
            return Compiled::Literal(String::from_utf16_lossy(&body));
        }
        Compiled::Regex {
            source: re,
            unicode: uflag,
        }
    }
}

/// `AST.#parseGlob`: a string part to RegExp source, hasMagic, uflag.
fn parse_glob(glob: &[u16], mut has_magic: bool, no_empty: bool) -> (U16s, bool, bool) {
    let (star_c, bs, lb, q) = (b'*' as u16, b'\\' as u16, b'[' as u16, b'?' as u16);
    let mut escaping = false;
    let mut re = U16s::new();
    let mut uflag = false;
    let mut in_star = false;
    let all_stars = !glob.is_empty() && glob.iter().all(|&c| c == star_c);
    let mut i = 0;
    while i < glob.len() {
        let c = glob[i];
        if escaping {
            escaping = false;
            if c < 128 && b"().*{}+?[]^$\\!".contains(&(c as u8)) {
                re.push(bs);
            }
            re.push(c);
            i += 1;
            continue;
        }
        if c == star_c {
            if !in_star {
                in_star = true;
                re.extend(u(if no_empty && all_stars {
                    STAR_NO_EMPTY
                } else {
                    STAR
                }));
                has_magic = true;
            }
            i += 1;
            continue;
        } else {
            in_star = false;
        }
        if c == bs {
            if i == glob.len() - 1 {
                re.extend(u(r"\\"));
            } else {
                escaping = true;
            }
            i += 1;
            continue;
        }
        if c == lb {
            let (src, need_u, consumed, magic) = parse_class(glob, i);
            if consumed > 0 {
                re.extend(src);
                uflag = uflag || need_u;
                i += consumed;
                has_magic = has_magic || magic;
                continue;
            }
        }
        if c == q {
            re.extend(u(QMARK));
            has_magic = true;
            i += 1;
            continue;
        }
        regexp_escape_into(&mut re, c);
        i += 1;
    }
    (re, has_magic, uflag)
}

/// The POSIX classes: (name, translation, needs `u`, negated).
const POSIX_CLASSES: [(&str, &str, bool, bool); 14] = [
    ("[:alnum:]", r"\p{L}\p{Nl}\p{Nd}", true, false),
    ("[:alpha:]", r"\p{L}\p{Nl}", true, false),
    ("[:ascii:]", r"\x00-\x7f", false, false),
    ("[:blank:]", r"\p{Zs}\t", true, false),
    ("[:cntrl:]", r"\p{Cc}", true, false),
    ("[:digit:]", r"\p{Nd}", true, false),
    ("[:graph:]", r"\p{Z}\p{C}", true, true),
    ("[:lower:]", r"\p{Ll}", true, false),
    ("[:print:]", r"\p{C}", true, false),
    ("[:punct:]", r"\p{P}", true, false),
    ("[:space:]", r"\p{Z}\t\r\n\v\f", true, false),
    ("[:upper:]", r"\p{Lu}", true, false),
    ("[:word:]", r"\p{L}\p{Nl}\p{Nd}\p{Pc}", true, false),
    ("[:xdigit:]", "A-Fa-f0-9", false, false),
];

/// braceEscape: `[`, `]`, `\` and `-` get a backslash.
fn brace_escape_into(out: &mut U16s, c: u16) {
    if c < 128 && b"[]\\-".contains(&(c as u8)) {
        out.push(b'\\' as u16);
    }
    out.push(c);
}

/// `parseClass(glob, position)`: (source, needs `u`, units consumed, magic).
fn parse_class(glob: &[u16], pos: usize) -> (U16s, bool, usize, bool) {
    let (bang, caret, rb, bs, lb, dash) = (
        b'!' as u16,
        b'^' as u16,
        b']' as u16,
        b'\\' as u16,
        b'[' as u16,
        b'-' as u16,
    );
    let poison = || (u("$."), false, glob.len() - pos, true);
    let mut ranges: Vec<U16s> = Vec::new();
    let mut negs: Vec<U16s> = Vec::new();
    let mut i = pos + 1;
    let mut saw_start = false;
    let mut uflag = false;
    let mut escaping = false;
    let mut negate = false;
    let mut end_pos = pos;
    let mut range_start: Option<u16> = None;
    'outer: while i < glob.len() {
        let c = glob[i];
        if (c == bang || c == caret) && i == pos + 1 {
            negate = true;
            i += 1;
            continue;
        }
        if c == rb && saw_start && !escaping {
            end_pos = i + 1;
            break;
        }
        saw_start = true;
        if c == bs && !escaping {
            escaping = true;
            i += 1;
            continue;
        }
        if c == lb && !escaping {
            for (cls, unip, needs_u, neg) in POSIX_CLASSES {
                if starts_with(glob, i, cls) {
                    if range_start.is_some() {
                        return poison();
                    }
                    i += cls.len();
                    if neg {
                        negs.push(u(unip));
                    } else {
                        ranges.push(u(unip));
                    }
                    uflag = uflag || needs_u;
                    continue 'outer;
                }
            }
        }
        escaping = false;
        if let Some(rs) = range_start.take() {
            if c > rs {
                let mut r = U16s::new();
                brace_escape_into(&mut r, rs);
                r.push(dash);
                brace_escape_into(&mut r, c);
                ranges.push(r);
            } else if c == rs {
                let mut r = U16s::new();
                brace_escape_into(&mut r, c);
                ranges.push(r);
            }
            i += 1;
            continue;
        }
        if glob.get(i + 1) == Some(&dash) && glob.get(i + 2) == Some(&rb) {
            let mut r = U16s::new();
            brace_escape_into(&mut r, c);
            brace_escape_into(&mut r, dash);
            ranges.push(r);
            i += 2;
            continue;
        }
        if glob.get(i + 1) == Some(&dash) {
            range_start = Some(c);
            i += 2;
            continue;
        }
        let mut r = U16s::new();
        brace_escape_into(&mut r, c);
        ranges.push(r);
        i += 1;
    }
    if end_pos < i {
        return (U16s::new(), false, 0, false);
    }
    if ranges.is_empty() && negs.is_empty() {
        return poison();
    }
    // One positive single character: that character, literally.
    if negs.is_empty() && ranges.len() == 1 && !negate {
        let r = &ranges[0];
        let single = match r.len() {
            1 => !is_line_terminator(r[0]),
            2 => r[0] == bs && !is_line_terminator(r[1]),
            _ => false,
        };
        if single {
            let mut out = U16s::new();
            regexp_escape_into(&mut out, *r.last().unwrap());
            return (out, false, end_pos - pos, false);
        }
    }
    let join = |v: &[U16s]| v.concat();
    let mut sranges = u("[");
    if negate {
        sranges.push(caret);
    }
    sranges.extend(join(&ranges));
    sranges.push(rb);
    let mut snegs = u("[");
    if !negate {
        snegs.push(caret);
    }
    snegs.extend(join(&negs));
    snegs.push(rb);
    let comb = if !ranges.is_empty() && !negs.is_empty() {
        let mut c = u("(");
        c.extend(sranges);
        c.push(b'|' as u16);
        c.extend(snegs);
        c.push(b')' as u16);
        c
    } else if !ranges.is_empty() {
        sranges
    } else {
        snegs
    };
    (comb, uflag, end_pos - pos, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn src(glob: &str) -> String {
        match compile(glob) {
            Compiled::Literal(s) => format!("lit:{s}"),
            Compiled::Regex { source, unicode } => {
                format!(
                    "{}{}",
                    String::from_utf16_lossy(&source),
                    if unicode { "/u" } else { "" }
                )
            }
        }
    }

    /// Sources printed by minimatch 10.2.5 for the same segments.
    #[test]
    fn sources_equal_minimatchs() {
        assert_eq!(src("x!(y)z"), r"x(?:(?!(?:yz(?:$|\/)))[^/]*?)z");
        assert_eq!(src("+()"), "lit:+()");
        assert_eq!(src(r"a\|b"), "a|b");
        assert_eq!(
            src("[[:alpha:]]-x"),
            r"(?!(?:^|/)\.\.?(?:$|/))[\p{L}\p{Nl}]\-x/u"
        );
        assert_eq!(src("123"), "lit:123");
    }
}
