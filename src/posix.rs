//! Node's `path.posix` functions that npm's behaviour depends on.
//!
//! npm decides sort keys, bin paths and tar header splits with Node's
//! string functions, whose edge cases (leading dots, trailing slashes,
//! `..` at the root) differ from `std::path`; these reproduce them on
//! `/`-separated strings.

/// `path.posix.basename`: the last segment, trailing slashes ignored.
pub fn basename(p: &str) -> &str {
    let t = p.trim_end_matches('/');
    match t.rfind('/') {
        Some(i) => &t[i + 1..],
        None => t,
    }
}

/// `path.posix.dirname`: trailing slashes (directory entries) are ignored.
pub fn dirname(p: &str) -> &str {
    let t = p.trim_end_matches('/');
    if t.is_empty() && !p.is_empty() {
        return "/";
    }
    match t.rfind('/') {
        Some(0) => "/",
        Some(i) => &p[..i],
        None => ".",
    }
}

/// Node's `path.posix.extname`, including its rules for leading dots.
pub fn extname(path: &str) -> &str {
    let b = path.as_bytes();
    let mut start_dot: Option<usize> = None;
    let mut start_part = 0;
    let mut end: Option<usize> = None;
    let mut matched_slash = true;
    let mut pre_dot_state = 0;
    for i in (0..b.len()).rev() {
        let c = b[i];
        if c == b'/' {
            if !matched_slash {
                start_part = i + 1;
                break;
            }
            continue;
        }
        if end.is_none() {
            matched_slash = false;
            end = Some(i + 1);
        }
        if c == b'.' {
            if start_dot.is_none() {
                start_dot = Some(i);
            } else if pre_dot_state != 1 {
                pre_dot_state = 1;
            }
        } else if start_dot.is_some() {
            pre_dot_state = -1;
        }
    }
    match (start_dot, end) {
        (Some(sd), Some(e))
            if pre_dot_state != 0
                && !(pre_dot_state == 1 && sd + 1 == e && sd == start_part + 1) =>
        {
            &path[sd..e]
        }
        _ => "",
    }
}

/// `path.posix.join('/', p).slice(1)`: resolves `.` and `..` without
/// escaping the root, collapses slashes, keeps a trailing slash.
pub fn clean_join(p: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for seg in p.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            s => parts.push(s),
        }
    }
    let mut out = parts.join("/");
    if p.ends_with('/') && !out.is_empty() {
        out.push('/');
    }
    out
}
