//! Content digests.
//!
//! Everything reverie derives is keyed by a digest of what it was derived from (the README's
//! invariant "Content-addressed, with two digests per file"). This module is the one place that decides which hash function that
//! is (BLAKE3) and how a digest is written down (lowercase hex).

use serde::{Deserialize, Serialize};
use std::fmt;

/// A 256-bit BLAKE3 digest.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Digest(pub [u8; 32]);

impl Digest {
    /// The digest of `bytes`.
    pub fn of(bytes: &[u8]) -> Digest {
        Digest(*blake3::hash(bytes).as_bytes())
    }

    /// The full digest as 64 lowercase hex characters.
    pub fn to_hex(&self) -> String {
        let mut out = String::with_capacity(64);
        for byte in self.0 {
            out.push_str(&format!("{byte:02x}"));
        }
        out
    }

    /// The first 12 hex characters: enough to tell digests apart in logs and status output.
    pub fn short(&self) -> String {
        self.to_hex()[..12].to_string()
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Digest({})", self.short())
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

/// Incremental hashing of several parts. Each part is length-prefixed, so `("ab", "c")` and
/// `("a", "bc")` give different digests.
#[derive(Default)]
pub struct DigestBuilder(blake3::Hasher);

impl DigestBuilder {
    pub fn new() -> DigestBuilder {
        DigestBuilder(blake3::Hasher::new())
    }

    pub fn part(&mut self, bytes: &[u8]) -> &mut DigestBuilder {
        self.begin_part(bytes.len() as u64).more(bytes)
    }

    /// Starts a part of `len` bytes given in pieces by `more` (the same digest as `part` of them
    /// all at once), for data too large to hold whole.
    pub fn begin_part(&mut self, len: u64) -> &mut DigestBuilder {
        self.0.update(&len.to_le_bytes());
        self
    }

    /// The next piece of the part `begin_part` started.
    pub fn more(&mut self, bytes: &[u8]) -> &mut DigestBuilder {
        self.0.update(bytes);
        self
    }

    pub fn finish(&self) -> Digest {
        Digest(*self.0.finalize().as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_are_length_prefixed() {
        let ab_c = DigestBuilder::new().part(b"ab").part(b"c").finish();
        let a_bc = DigestBuilder::new().part(b"a").part(b"bc").finish();
        assert_ne!(ab_c, a_bc);
    }

    #[test]
    fn hex_is_64_chars() {
        let d = Digest::of(b"reverie");
        assert_eq!(d.to_hex().len(), 64);
        assert_eq!(d.short().len(), 12);
    }
}
