//! Subresource Integrity strings, as npm (ssri) and RHDH read them.
//!
//! `sha512-<base64>` is what `npm pack --json` reports and what
//! `dynamic-plugins.yaml` wants next to a tgz URL. Parsing follows ssri's
//! loose mode: tokens separated by whitespace, `algo-digest?options`,
//! unknown tokens skipped; verification uses the strongest algorithm listed.

use std::io::Read;
use std::path::Path;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use sha1::Sha1;
use sha2::{Digest, Sha256, Sha384, Sha512};

use crate::error::{Error, Result};
use crate::input::{open_regular, Unreadable};
use crate::pipeline::{check_cancel, Cancel};

/// A hash algorithm dynpack computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Algorithm {
    Sha1,
    Sha256,
    Sha384,
    Sha512,
}

impl Algorithm {
    pub fn parse(name: &str) -> Result<Algorithm> {
        match name.to_ascii_lowercase().as_str() {
            "sha1" => Ok(Algorithm::Sha1),
            "sha256" => Ok(Algorithm::Sha256),
            "sha384" => Ok(Algorithm::Sha384),
            "sha512" => Ok(Algorithm::Sha512),
            _ => Err(Error::UnknownAlgorithm {
                name: name.to_string(),
            }),
        }
    }

    /// The algorithms `names` lists, each once, in their order; at least one.
    pub fn parse_list(names: &[String]) -> Result<Vec<Algorithm>> {
        if names.is_empty() {
            return Err(Error::InvalidOption {
                message: "algorithms must name at least one algorithm".into(),
            });
        }
        let mut algorithms = Vec::new();
        for n in names {
            let a = Algorithm::parse(n)?;
            if !algorithms.contains(&a) {
                algorithms.push(a);
            }
        }
        Ok(algorithms)
    }

    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Sha1 => "sha1",
            Algorithm::Sha256 => "sha256",
            Algorithm::Sha384 => "sha384",
            Algorithm::Sha512 => "sha512",
        }
    }

    fn digest_len(self) -> usize {
        match self {
            Algorithm::Sha1 => 20,
            Algorithm::Sha256 => 32,
            Algorithm::Sha384 => 48,
            Algorithm::Sha512 => 64,
        }
    }
}

/// ssri's priority list: the later, the stronger.
const PRIORITY: &[&str] = &[
    "md5",
    "whirlpool",
    "sha1",
    "sha224",
    "sha256",
    "sha384",
    "sha512",
    "sha3",
    "sha3-256",
    "sha3-384",
    "sha3-512",
    "sha3_256",
    "sha3_384",
    "sha3_512",
];

fn priority(algo: &str) -> isize {
    PRIORITY
        .iter()
        .position(|p| *p == algo.to_ascii_lowercase())
        .map_or(-1, |p| p as isize)
}

/// Several hashes fed at once.
pub struct MultiHasher {
    hashers: Vec<(Algorithm, Box<dyn sha2::digest::DynDigest + Send>)>,
}

impl MultiHasher {
    pub fn new(algorithms: &[Algorithm]) -> MultiHasher {
        MultiHasher {
            hashers: algorithms
                .iter()
                .map(|&a| {
                    let h: Box<dyn sha2::digest::DynDigest + Send> = match a {
                        Algorithm::Sha1 => Box::new(Sha1::new()),
                        Algorithm::Sha256 => Box::new(Sha256::new()),
                        Algorithm::Sha384 => Box::new(Sha384::new()),
                        Algorithm::Sha512 => Box::new(Sha512::new()),
                    };
                    (a, h)
                })
                .collect(),
        }
    }

    pub fn update(&mut self, data: &[u8]) {
        if self.hashers.len() > 1 && data.len() >= 1 << 20 {
            use rayon::prelude::*;
            self.hashers
                .par_iter_mut()
                .for_each(|(_, h)| h.update(data));
        } else {
            for (_, h) in &mut self.hashers {
                h.update(data);
            }
        }
    }

    /// The raw digests, in the order the algorithms were given.
    pub fn finish(self) -> Vec<(Algorithm, Vec<u8>)> {
        self.hashers
            .into_iter()
            .map(|(a, h)| (a, h.finalize().to_vec()))
            .collect()
    }
}

/// Formats digests as an SRI string (`algo-base64`, space separated).
pub fn to_sri(digests: &[(Algorithm, Vec<u8>)]) -> String {
    digests
        .iter()
        .map(|(a, d)| format!("{}-{}", a.name(), STANDARD.encode(d)))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The SRI string of a byte slice.
pub fn integrity_of_bytes(data: &[u8], algorithms: &[Algorithm]) -> String {
    integrity_of_bytes_cancellable(data, algorithms, &None).expect("nothing cancels it")
}

/// [`integrity_of_bytes`] hashed in [`READ_BUF`] pieces, stopping with
/// `E_ABORTED` between two pieces once `cancel` is set.
pub fn integrity_of_bytes_cancellable(
    data: &[u8],
    algorithms: &[Algorithm],
    cancel: &Cancel,
) -> Result<String> {
    let mut h = MultiHasher::new(algorithms);
    for piece in data.chunks(READ_BUF) {
        check_cancel(cancel)?;
        h.update(piece);
    }
    check_cancel(cancel)?;
    Ok(to_sri(&h.finish()))
}

/// Size of the buffers a file is read in.
const READ_BUF: usize = 4 << 20;

/// The SRI string of a file, read in large blocks on one thread while
/// another hashes, so reading and hashing overlap.
pub fn integrity_of_file(path: &Path, algorithms: &[Algorithm]) -> Result<String> {
    integrity_of_file_cancellable(path, algorithms, &None)
}

/// [`integrity_of_file`], stopping with `E_ABORTED` between two blocks
/// once `cancel` is set.
pub fn integrity_of_file_cancellable(
    path: &Path,
    algorithms: &[Algorithm],
    cancel: &Cancel,
) -> Result<String> {
    let (mut file, _) = match open_regular(path) {
        Ok(opened) => opened,
        Err(Unreadable::Io(e)) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(Error::NoSuchFile {
                path: path.to_path_buf(),
            })
        }
        Err(Unreadable::NotRegular(kind)) => {
            return Err(Error::NotAFile {
                path: path.to_path_buf(),
                kind,
                fix: "pass a regular file, or its bytes as a Buffer",
            })
        }
        Err(Unreadable::Io(e)) => return Err(Error::io(path, e)),
        Err(Unreadable::TooLarge(_)) => unreachable!("open_regular sets no limit"),
    };
    let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<u8>>(3);
    let (back_tx, back_rx) = std::sync::mpsc::channel::<Vec<u8>>();
    let algorithms = algorithms.to_vec();
    let hasher = std::thread::spawn(move || {
        let mut h = MultiHasher::new(&algorithms);
        for buf in rx {
            h.update(&buf);
            let _ = back_tx.send(buf);
        }
        h.finish()
    });
    let mut read_error = None;
    let mut cancelled = false;
    loop {
        if check_cancel(cancel).is_err() {
            cancelled = true;
            break;
        }
        let mut buf = back_rx
            .try_recv()
            .unwrap_or_else(|_| Vec::with_capacity(READ_BUF));
        buf.resize(READ_BUF, 0);
        let mut filled = 0;
        while filled < READ_BUF {
            match file.read(&mut buf[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    read_error = Some(e);
                    break;
                }
            }
        }
        buf.truncate(filled);
        if filled == 0 || read_error.is_some() {
            break;
        }
        if tx.send(buf).is_err() {
            break;
        }
    }
    drop(tx);
    let digests = hasher.join().expect("hasher thread");
    if cancelled {
        return Err(Error::Aborted);
    }
    if let Some(e) = read_error {
        return Err(Error::io(path, e));
    }
    Ok(to_sri(&digests))
}

/// One parsed `algo-digest?opts` token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SriHash {
    pub algorithm: String,
    pub digest: String,
    pub options: Vec<String>,
}

/// Parses an SRI string as ssri does in its default (loose) mode: tokens
/// that do not look like `algo-digest` are skipped.
pub fn parse_sri(sri: &str) -> Vec<SriHash> {
    sri.split_whitespace()
        .filter_map(|tok| {
            let (algo, rest) = tok.split_once('-')?;
            if algo.is_empty()
                || !algo
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
            {
                return None;
            }
            let (digest, opts) = match rest.find('?') {
                Some(i) => (&rest[..i], &rest[i..]),
                None => (rest, ""),
            };
            if digest.is_empty() {
                return None;
            }
            Some(SriHash {
                algorithm: algo.to_string(),
                digest: digest.to_string(),
                options: opts.split('?').skip(1).map(str::to_string).collect(),
            })
        })
        .collect()
}

/// What checking data against an SRI string needs: the strongest listed
/// algorithm and the digests given for it.
#[derive(Debug, Clone)]
pub struct Expected {
    pub algorithm: Algorithm,
    pub digests: Vec<String>,
}

/// Picks the strongest algorithm of `sri` (ssri's `pickAlgorithm`) and
/// checks its digests are well-formed.
pub fn expected(sri: &str) -> Result<Expected> {
    let hashes = parse_sri(sri);
    let bad = |reason: &str| Error::InvalidSri {
        value: sri.chars().take(200).collect(),
        reason: reason.to_string(),
    };
    let best = hashes
        .iter()
        .fold(None::<&SriHash>, |acc, h| match acc {
            Some(a) if priority(&a.algorithm) >= priority(&h.algorithm) => Some(a),
            _ => Some(h),
        })
        .ok_or_else(|| bad("no `algorithm-base64digest` hash in it (expected e.g. sha512-...)"))?;
    let algorithm = Algorithm::parse(&best.algorithm)?;
    let digests: Vec<String> = hashes
        .iter()
        .filter(|h| h.algorithm == best.algorithm)
        .map(|h| h.digest.clone())
        .collect();
    let well_formed = digests.iter().any(|d| {
        STANDARD
            .decode(d)
            .is_ok_and(|raw| raw.len() == algorithm.digest_len())
    });
    if !well_formed {
        return Err(bad(&format!(
            "the {} digest is not the base64 of {} bytes",
            algorithm.name(),
            algorithm.digest_len()
        )));
    }
    Ok(Expected { algorithm, digests })
}

impl Expected {
    /// True when `computed` (an SRI of the same algorithm) is one of the
    /// expected digests.
    pub fn matches(&self, computed: &str) -> bool {
        parse_sri(computed)
            .iter()
            .any(|h| self.digests.contains(&h.digest))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_vectors() {
        assert_eq!(
            integrity_of_bytes(b"", &[Algorithm::Sha512]),
            "sha512-z4PhNX7vuL3xVChQ1m2AB9Yg5AULVxXcg/SpIdNs6c5H0NE8XYXysP+DGNKHfuwvY7kxvUdBeoGlODJ6+SfaPg=="
        );
        assert_eq!(
            integrity_of_bytes(b"abc", &[Algorithm::Sha256, Algorithm::Sha1]),
            "sha256-ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0= sha1-qZk+NkcGgWq6PiVxeFDCbJzQ2J0="
        );
    }

    #[test]
    fn parse_like_ssri() {
        let h = parse_sri("  sha1-abc?foo?bar   junk sha512-xyz ");
        assert_eq!(h.len(), 2);
        assert_eq!(h[0].options, vec!["foo", "bar"]);
        assert!(parse_sri("").is_empty());
        assert!(parse_sri("SHA512-abc").is_empty());
    }

    #[test]
    fn strongest_algorithm_wins() {
        let data = b"hello";
        let sri = format!(
            "sha1-AAAAAAAAAAAAAAAAAAAAAAAAAAA= {}",
            integrity_of_bytes(data, &[Algorithm::Sha512])
        );
        let e = expected(&sri).unwrap();
        assert_eq!(e.algorithm, Algorithm::Sha512);
        assert!(e.matches(&integrity_of_bytes(data, &[Algorithm::Sha512])));
        assert_eq!(expected("").unwrap_err().code(), "E_INVALID_SRI");
        assert_eq!(
            expected("md5-abc").unwrap_err().code(),
            "E_UNKNOWN_ALGORITHM"
        );
        assert_eq!(expected("sha512-!!!").unwrap_err().code(), "E_INVALID_SRI");
    }
}
