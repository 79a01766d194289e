//! Brace expansion as minimatch 10 runs it before compiling an ignore rule
//! (`brace-expansion` 5.0.9 with `balanced-match` 4, bundled with npm 11).
//!
//! Which rules npm expands, and into what, decides which files are packed,
//! so this is a port rather than a generic implementation. It keeps the
//! bounds brace-expansion added against hostile patterns (at most 100,000
//! results and 4,000,000 characters) and bounds nesting too, so that no
//! `.npmignore` can make packing hang or exhaust memory.

/// brace-expansion's `EXPANSION_MAX`: results kept at most.
const MAX: usize = 100_000;
/// brace-expansion's `EXPANSION_MAX_LENGTH`, in UTF-16 units as JS counts.
const MAX_LENGTH: usize = 4_000_000;
/// Nesting npm can still expand: Node 20's stack holds about 2,000 to
/// 4,000 levels of brace-expansion's recursion; beyond, npm crashes with
/// "Maximum call stack size exceeded". dynpack refuses such a rule.
pub const MAX_DEPTH: usize = 2_500;

/// Brace nesting above which the expansion runs on a thread of its own
/// with a stack large enough for [`MAX_DEPTH`] levels.
const DEEP: usize = 64;

/// A rule nesting braces deeper than [`MAX_DEPTH`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooDeep;

const ESC_SLASH: &str = "\u{0}SLASH\u{fdd0}\u{0}";
const ESC_OPEN: &str = "\u{0}OPEN\u{fdd0}\u{0}";
const ESC_CLOSE: &str = "\u{0}CLOSE\u{fdd0}\u{0}";
const ESC_COMMA: &str = "\u{0}COMMA\u{fdd0}\u{0}";
const ESC_PERIOD: &str = "\u{0}PERIOD\u{fdd0}\u{0}";

/// minimatch's `braceExpand`: patterns without a `{...}` holding no `{` are
/// returned as they are.
pub fn brace_expand(pattern: &str) -> Result<Vec<String>, TooDeep> {
    if !has_simple_brace(pattern) {
        return Ok(vec![pattern.to_string()]);
    }
    expand(pattern)
}

/// `/\{(?:(?!\{).)*\}/.test(p)`.
fn has_simple_brace(p: &str) -> bool {
    let mut open = false;
    for c in p.chars() {
        match c {
            '{' => open = true,
            '}' if open => return true,
            '\n' | '\r' | '\u{2028}' | '\u{2029}' => open = false,
            _ => {}
        }
    }
    false
}

/// brace-expansion's `expand`.
pub fn expand(s: &str) -> Result<Vec<String>, TooDeep> {
    if s.is_empty() {
        return Ok(Vec::new());
    }
    let s = match s.strip_prefix("{}") {
        Some(rest) => format!("\\{{\\}}{rest}"),
        None => s.to_string(),
    };
    let escaped = escape_braces(&s);
    let expanded = if nesting(&escaped) > DEEP {
        std::thread::scope(|scope| {
            std::thread::Builder::new()
                .stack_size(MAX_DEPTH * 16 * 1024)
                .spawn_scoped(scope, || expand_inner(&escaped, true, 0))
                .expect("a thread for a deeply nested rule")
                .join()
                .expect("brace expansion panicked")
        })
    } else {
        expand_inner(&escaped, true, 0)
    };
    Ok(expanded?.into_iter().map(|e| unescape_braces(&e)).collect())
}

/// The deepest `{` nesting in `s` (an upper bound of the recursion).
fn nesting(s: &str) -> usize {
    let (mut depth, mut max) = (0usize, 0usize);
    for b in s.bytes() {
        match b {
            b'{' => {
                depth += 1;
                max = max.max(depth);
            }
            b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    max
}

fn escape_braces(s: &str) -> String {
    s.replace("\\\\", ESC_SLASH)
        .replace("\\{", ESC_OPEN)
        .replace("\\}", ESC_CLOSE)
        .replace("\\,", ESC_COMMA)
        .replace("\\.", ESC_PERIOD)
}

fn unescape_braces(s: &str) -> String {
    s.replace(ESC_SLASH, "\\")
        .replace(ESC_OPEN, "{")
        .replace(ESC_CLOSE, "}")
        .replace(ESC_COMMA, ",")
        .replace(ESC_PERIOD, ".")
}

fn js_len(s: &str) -> usize {
    s.chars().map(char::len_utf16).sum()
}

/// balanced-match's `balanced('{', '}', s)`: (pre, body, post).
fn balanced(s: &str) -> Option<(&str, &str, &str)> {
    let (start, end) = range(s)?;
    Some((&s[..start], &s[start + 1..end], &s[end + 1..]))
}

/// balanced-match's `range` for `{` and `}`, index for index (`-1` is
/// JavaScript's "not found").
fn range(s: &str) -> Option<(usize, usize)> {
    let b = s.as_bytes();
    let index_of = |c: u8, from: isize| -> isize {
        let from = from.max(0) as usize;
        b.get(from..)
            .and_then(|t| t.iter().position(|&x| x == c))
            .map_or(-1, |p| (p + from) as isize)
    };
    let mut ai = index_of(b'{', 0);
    let mut bi = index_of(b'}', ai + 1);
    if ai < 0 || bi <= 0 {
        return None;
    }
    let mut i = ai;
    let mut begs: Vec<isize> = Vec::new();
    let mut left = b.len() as isize;
    let mut right = None;
    let mut result = None;
    while i >= 0 && result.is_none() {
        if i == ai {
            begs.push(i);
            ai = index_of(b'{', i + 1);
        } else if begs.len() == 1 {
            result = begs.pop().map(|r| (r, bi));
        } else {
            if let Some(beg) = begs.pop() {
                if beg < left {
                    left = beg;
                    right = Some(bi);
                }
            }
            bi = index_of(b'}', i + 1);
        }
        i = if ai < bi && ai >= 0 { ai } else { bi };
    }
    if !begs.is_empty() {
        if let Some(r) = right {
            result = Some((left, r));
        }
    }
    result.map(|(a, b)| (a as usize, b as usize))
}

/// brace-expansion's `parseCommaParts`: split on commas outside nested
/// braces (written as a loop; the original recurses once per group).
fn parse_comma_parts(s: &str) -> Vec<String> {
    if s.is_empty() {
        return vec![String::new()];
    }
    let mut parts = Vec::new();
    let mut carry = String::new();
    let mut rest = s;
    loop {
        let Some((pre, body, post)) = balanced(rest) else {
            let mut split = rest.split(',');
            carry.push_str(split.next().unwrap_or(""));
            parts.push(carry);
            parts.extend(split.map(str::to_string));
            return parts;
        };
        let mut p: Vec<String> = pre.split(',').map(str::to_string).collect();
        p[0].insert_str(0, &carry);
        let last = p.last_mut().expect("split yields one part");
        last.push('{');
        last.push_str(body);
        last.push('}');
        if post.is_empty() {
            parts.extend(p);
            return parts;
        }
        carry = p.pop().expect("one part");
        parts.extend(p);
        rest = post;
    }
}

/// Every `acc + pre + value`, capped at [`MAX`] results and [`MAX_LENGTH`]
/// characters; empty results are dropped when `drop_empties`.
fn combine(acc: &[String], pre: &str, values: &[String], drop_empties: bool) -> Vec<String> {
    let mut out = Vec::new();
    let mut length = 0;
    let pre_len = js_len(pre);
    for a in acc {
        let a_len = js_len(a);
        for v in values {
            if out.len() >= MAX {
                return out;
            }
            let len = a_len + pre_len + js_len(v);
            if drop_empties && len == 0 {
                continue;
            }
            if length + len > MAX_LENGTH {
                return out;
            }
            out.push(format!("{a}{pre}{v}"));
            length += len;
        }
    }
    out
}

/// `^-?\d+\.\.-?\d+(?:\.\.-?\d+)?$`
fn is_numeric_sequence(body: &str) -> bool {
    let parts: Vec<&str> = body.split("..").collect();
    (parts.len() == 2 || parts.len() == 3) && parts.iter().all(|p| is_int(p))
}

/// `^[a-zA-Z]\.\.[a-zA-Z](?:\.\.-?\d+)?$`
fn is_alpha_sequence(body: &str) -> bool {
    let parts: Vec<&str> = body.split("..").collect();
    let letter = |p: &str| p.len() == 1 && p.as_bytes()[0].is_ascii_alphabetic();
    (parts.len() == 2 || parts.len() == 3)
        && letter(parts[0])
        && letter(parts[1])
        && (parts.len() == 2 || is_int(parts[2]))
}

/// `-?\d+`
fn is_int(p: &str) -> bool {
    let digits = p.strip_prefix('-').unwrap_or(p);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

/// brace-expansion's `numeric` on the strings a sequence body can hold.
fn numeric(s: &str) -> f64 {
    if is_int(s) {
        s.parse::<f64>().unwrap_or(0.0)
    } else {
        s.encode_utf16().next().map_or(f64::NAN, f64::from)
    }
}

/// `String(n)` for the integral numbers a sequence produces.
fn js_number(n: f64) -> String {
    if !n.is_finite() {
        return if n > 0.0 { "Infinity" } else { "-Infinity" }.to_string();
    }
    if n.abs() < 1e21 {
        format!("{}", n as i128)
    } else {
        let s = format!("{n:e}");
        match s.split_once('e') {
            Some((m, e)) if !e.starts_with('-') => format!("{m}e+{e}"),
            _ => s,
        }
    }
}

/// `/^-?0\d/`
fn is_padded(p: &str) -> bool {
    let d = p.strip_prefix('-').unwrap_or(p).as_bytes();
    d.len() >= 2 && d[0] == b'0' && d[1].is_ascii_digit()
}

/// brace-expansion's `expandSequence`.
fn expand_sequence(body: &str, alpha: bool) -> Vec<String> {
    let n: Vec<&str> = body.split("..").collect();
    let x = numeric(n[0]);
    let y = numeric(n[1]);
    let width = n[0].len().max(n[1].len());
    let mut incr = if n.len() == 3 {
        numeric(n[2]).abs().max(1.0)
    } else {
        1.0
    };
    let reverse = y < x;
    if reverse {
        incr = -incr;
    }
    let pad = n.iter().any(|p| is_padded(p));
    let mut out = Vec::new();
    let mut length = 0;
    let mut i = x;
    while (if reverse { i >= y } else { i <= y }) && out.len() < MAX {
        let c = if alpha {
            match char::from_u32(i as u32) {
                Some('\\') | None => String::new(),
                Some(c) => c.to_string(),
            }
        } else {
            let mut c = js_number(i);
            if pad {
                let need = width.saturating_sub(c.len());
                if need > 0 {
                    let zeros = "0".repeat(need);
                    c = if i < 0.0 {
                        format!("-{zeros}{}", &c[1..])
                    } else {
                        format!("{zeros}{c}")
                    };
                }
            }
            c
        };
        if length + js_len(&c) > MAX_LENGTH {
            break;
        }
        length += js_len(&c);
        out.push(c);
        i += incr;
    }
    out
}

/// `/,(?!,).*\}/.test(post)`
fn has_comma_then_close(post: &str) -> bool {
    let b = post.as_bytes();
    b.iter()
        .enumerate()
        .any(|(i, &c)| c == b',' && b.get(i + 1) != Some(&b',') && b[i + 1..].contains(&b'}'))
}

/// brace-expansion's `expand_`: consumes the top-level groups left to
/// right, combining them into one accumulator.
fn expand_inner(s: &str, mut is_top: bool, depth: usize) -> Result<Vec<String>, TooDeep> {
    if depth > MAX_DEPTH {
        return Err(TooDeep);
    }
    let mut s = s.to_string();
    let mut acc = vec![String::new()];
    let mut drop_empties = false;
    let mut first_group = true;
    loop {
        let Some((pre, body, post)) = balanced(&s) else {
            return Ok(combine(&acc, &s, &[String::new()], drop_empties));
        };
        let (pre, body, post) = (pre.to_string(), body.to_string(), post.to_string());
        if pre.ends_with('$') {
            acc = combine(
                &acc,
                &format!("{pre}{{{body}}}"),
                &[String::new()],
                drop_empties && post.is_empty(),
            );
            first_group = false;
            if post.is_empty() {
                break;
            }
            s = post;
            continue;
        }
        let numeric_seq = is_numeric_sequence(&body);
        let alpha_seq = is_alpha_sequence(&body);
        let is_sequence = numeric_seq || alpha_seq;
        if !is_sequence && !body.contains(',') {
            if has_comma_then_close(&post) {
                s = format!("{pre}{{{body}{ESC_CLOSE}{post}");
                is_top = true;
                continue;
            }
            return Ok(combine(
                &acc,
                &format!("{pre}{{{body}}}{post}"),
                &[String::new()],
                drop_empties,
            ));
        }
        if first_group {
            drop_empties = is_top && !is_sequence;
            first_group = false;
        }
        let values = if is_sequence {
            expand_sequence(&body, alpha_seq)
        } else {
            let mut n = parse_comma_parts(&body);
            if n.len() == 1 {
                n = expand_inner(&n[0], false, depth + 1)?
                    .into_iter()
                    .map(|e| format!("{{{e}}}"))
                    .collect();
                if n.len() == 1 {
                    acc = combine(
                        &acc,
                        &format!("{pre}{}", n[0]),
                        &[String::new()],
                        drop_empties && post.is_empty(),
                    );
                    if post.is_empty() {
                        break;
                    }
                    s = post;
                    continue;
                }
            }
            let drops_empties = drop_empties
                && post.is_empty()
                && pre.is_empty()
                && acc.iter().all(String::is_empty);
            let mut values = Vec::new();
            let mut values_length = 0;
            'outer: for part in &n {
                for v in expand_inner(part, false, depth + 1)? {
                    if drops_empties && v.is_empty() {
                        continue;
                    }
                    if values.len() >= MAX || values_length + js_len(&v) > MAX_LENGTH {
                        break 'outer;
                    }
                    values_length += js_len(&v);
                    values.push(v);
                }
            }
            values
        };
        acc = combine(&acc, &pre, &values, drop_empties && post.is_empty());
        if post.is_empty() {
            break;
        }
        s = post;
    }
    Ok(acc)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn brace_expand(p: &str) -> Vec<String> {
        super::brace_expand(p).unwrap()
    }

    #[test]
    fn like_brace_expansion() {
        assert_eq!(brace_expand("a{b,c}d"), vec!["abd", "acd"]);
        assert_eq!(brace_expand("a{1..3}"), vec!["a1", "a2", "a3"]);
        assert_eq!(brace_expand("a{b}c"), vec!["a{b}c"]);
        assert_eq!(brace_expand("{a,b{c,d}}"), vec!["a", "bc", "bd"]);
        assert_eq!(brace_expand("x{a..e..2}"), vec!["xa", "xc", "xe"]);
        assert_eq!(brace_expand("{08..10}"), vec!["08", "09", "10"]);
        assert_eq!(brace_expand("{3..1}"), vec!["3", "2", "1"]);
        assert_eq!(brace_expand("a{,b}c"), vec!["ac", "abc"]);
        assert_eq!(brace_expand("{,a}"), vec!["a"]);
        assert_eq!(brace_expand("${a,b}"), vec!["${a,b}"]);
        assert_eq!(brace_expand("a\\{b,c}"), vec!["a{b,c}"]);
        assert_eq!(
            brace_expand("/readme{,.*[^~$]}"),
            vec!["/readme", "/readme.*[^~$]"]
        );
    }

    #[test]
    fn hostile_patterns_stay_bounded() {
        // Not a sequence in brace-expansion: only ASCII letters count.
        assert_eq!(brace_expand("{'..\u{fffd}}"), vec!["{'..\u{fffd}}"]);
        assert_eq!(brace_expand("{1..1000000}").len(), MAX);
        let chained = "{a,b}".repeat(400);
        let out = brace_expand(&chained);
        assert!(out.len() <= MAX);
        assert!(out.iter().map(|s| s.len()).sum::<usize>() <= MAX_LENGTH);
        // npm's recursion overflows Node's stack between 2,000 and 4,000
        // levels; dynpack expands 2,000 and refuses 20,000.
        let nested = |n: usize| format!("{}a,b{}", "{".repeat(n), "}".repeat(n));
        assert_eq!(brace_expand(&nested(2_000)).len(), 2);
        assert_eq!(super::brace_expand(&nested(20_000)), Err(TooDeep));
    }
}
