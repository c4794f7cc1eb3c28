//! Which vectors a run holds: suites, id globs, and a stable hash partition.

use globset::{Glob, GlobSet, GlobSetBuilder};

use crate::suite::Suites;
use crate::vector::Vector;

/// A partition `hash:K/N`: vector ids hashed with FNV-1a (64-bit), kept when `hash % N == K - 1`.
/// The hash is specified, not `DefaultHasher`, so shards stay stable across versions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Partition {
    pub index: u64,
    pub count: u64,
}

impl std::str::FromStr for Partition {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("`{s}` is not a partition: write hash:K/N with 1 <= K <= N");
        let rest = s.strip_prefix("hash:").ok_or_else(bad)?;
        let (k, n) = rest.split_once('/').ok_or_else(bad)?;
        let (index, count): (u64, u64) =
            (k.parse().map_err(|_| bad())?, n.parse().map_err(|_| bad())?);
        if index == 0 || index > count {
            return Err(bad());
        }
        Ok(Partition { index, count })
    }
}

impl std::fmt::Display for Partition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "hash:{}/{}", self.index, self.count)
    }
}

impl Partition {
    pub fn holds(&self, id: &str) -> bool {
        fnv1a(id.as_bytes()) % self.count == self.index - 1
    }
}

pub fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// What the user asked to run.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    pub suites: Vec<String>,
    pub filters: Vec<String>,
    pub partition: Option<Partition>,
}

impl Selection {
    /// The vectors selected, in corpus order. Unknown suite names and bad globs are errors.
    pub fn apply<'a>(
        &self,
        vectors: &'a [Vector],
        suites: &Suites,
    ) -> Result<Vec<&'a Vector>, String> {
        for s in &self.suites {
            if suites.get(s).is_none() {
                let known: Vec<&str> = suites.suites.iter().map(|s| s.name()).collect();
                return Err(format!(
                    "no suite named `{s}` (known: {})",
                    known.join(", ")
                ));
            }
        }
        let filters = globs(&self.filters)?;
        Ok(vectors
            .iter()
            .filter(|v| {
                self.suites.is_empty()
                    || self
                        .suites
                        .iter()
                        .any(|s| suites.get(s).is_some_and(|s| s.holds(v.id())))
            })
            .filter(|v| filters.as_ref().is_none_or(|g| g.is_match(v.id())))
            .filter(|v| self.partition.is_none_or(|p| p.holds(v.id())))
            .collect())
    }
}

fn globs(patterns: &[String]) -> Result<Option<GlobSet>, String> {
    if patterns.is_empty() {
        return Ok(None);
    }
    let mut b = GlobSetBuilder::new();
    for p in patterns {
        b.add(Glob::new(p).map_err(|e| format!("bad --filter `{p}`: {e}"))?);
    }
    b.build().map(Some).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions_cover_every_id_exactly_once() {
        let ids: Vec<String> = (0..500).map(|i| format!("v.{i}")).collect();
        let parts: Vec<Partition> = (1..=3)
            .map(|k| format!("hash:{k}/3").parse().unwrap())
            .collect();
        for id in &ids {
            assert_eq!(parts.iter().filter(|p| p.holds(id)).count(), 1);
        }
        assert!(
            parts
                .iter()
                .all(|p| ids.iter().filter(|i| p.holds(i)).count() > 100)
        );
    }

    #[test]
    fn the_hash_is_fnv1a() {
        assert_eq!(fnv1a(b""), 0xcbf29ce484222325);
        assert_eq!(fnv1a(b"a"), 0xaf63dc4c8601ec8c);
    }

    #[test]
    fn bad_partitions_are_refused() {
        for s in ["hash:0/3", "hash:4/3", "count:1/2", "hash:1", "hash:a/b"] {
            assert!(s.parse::<Partition>().is_err(), "{s}");
        }
    }
}
