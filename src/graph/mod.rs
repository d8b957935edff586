//! The reference graph: files are nodes, and a file that references an identifier points at the files
//! that define it.
//!
//! Edge weights follow aider's repo map (`aider/repomap.py`): an identifier counts for more when it is long
//! and specific (`snake_case`/`camelCase`, 8+ characters), for less when it is private (`_x`) or
//! defined in many files; repeated references count with the square root of their number. Identifiers
//! defined in more than `MAX_DEFINERS` files (`get`, `__init__`, `new`) carry no signal about *which*
//! file is meant and would add a quadratic number of edges, so they add none.
//! `rank.rs` runs (personalized) PageRank over the graph; `map.rs` renders the repo map.

mod map;
mod rank;

pub use map::{RepoMap, render_repo_map};
pub use rank::{Focus, Ranking, rank};

use crate::syntax::FileFacts;
use std::collections::HashMap;

/// Identifiers defined in more files than this add no edges.
pub const MAX_DEFINERS: usize = 24;

/// One file of the graph: its key and its facts.
pub type GraphFile<'a> = (&'a str, &'a FileFacts);

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Edge {
    pub from: u32,
    pub to: u32,
    pub identifier: u32,
    /// Weight before focus multipliers: identifier weight × √(references from `from`).
    pub weight: f64,
}

#[derive(Debug, Default)]
pub struct FileGraph {
    pub files: Vec<String>,
    pub identifiers: Vec<String>,
    pub edges: Vec<Edge>,
    /// For each identifier, how many files define it.
    pub definer_counts: Vec<u32>,
}

impl FileGraph {
    pub fn file_index(&self, key: &str) -> Option<usize> {
        self.files.iter().position(|f| f == key)
    }
}

/// Builds the graph of `files` (keys must be unique).
pub fn build(files: &[GraphFile<'_>]) -> FileGraph {
    let mut identifier_ids: HashMap<&str, u32> = HashMap::new();
    let mut definers: Vec<Vec<u32>> = Vec::new();
    for (file_index, (_, facts)) in files.iter().enumerate() {
        for def in &facts.definitions {
            let next = identifier_ids.len() as u32;
            let id = *identifier_ids.entry(def.name.as_str()).or_insert(next);
            if id as usize == definers.len() {
                definers.push(Vec::new());
            }
            let list = &mut definers[id as usize];
            if list.last() != Some(&(file_index as u32)) {
                list.push(file_index as u32);
            }
        }
    }
    let mut reference_counts: HashMap<(u32, u32), u32> = HashMap::new();
    for (file_index, (_, facts)) in files.iter().enumerate() {
        for reference in &facts.references {
            if let Some(&id) = identifier_ids.get(reference.name.as_str()) {
                *reference_counts.entry((id, file_index as u32)).or_insert(0) += 1;
            }
        }
    }
    let mut identifiers = vec![String::new(); identifier_ids.len()];
    for (name, &id) in &identifier_ids {
        identifiers[id as usize] = (*name).to_string();
    }
    let keys = files.iter().map(|(key, _)| (*key).to_string()).collect();
    build_from_names(keys, identifiers, definers, reference_counts.into_iter().collect())
}

/// The graph of the files `keys` from what `build` takes from their facts: each defined identifier
/// (in the order a walk over the files' definitions first meets them) with the files that define it
/// (increasing, distinct), and how often each file references each of them: ((identifier, file),
/// count), in any order.
pub fn build_from_names(
    keys: Vec<String>,
    identifiers: Vec<String>,
    definers: Vec<Vec<u32>>,
    mut reference_counts: Vec<((u32, u32), u32)>,
) -> FileGraph {
    let mut edges = Vec::new();
    reference_counts.sort_unstable_by_key(|&((id, file), _)| (file, id));
    for ((id, referencer), count) in reference_counts {
        let defining = &definers[id as usize];
        if defining.len() > MAX_DEFINERS {
            continue;
        }
        let weight = identifier_weight(&identifiers[id as usize], defining.len()) * (count as f64).sqrt();
        for &definer in defining {
            if definer != referencer {
                edges.push(Edge { from: referencer, to: definer, identifier: id, weight });
            }
        }
    }
    FileGraph { files: keys, definer_counts: definers.iter().map(|d| d.len() as u32).collect(), identifiers, edges }
}

/// A digest of what the graph takes from one file: its definition names and its references (names
/// with counts). A body edit that adds no call leaves it unchanged, so re-ranking can be skipped.
pub fn graph_digest(facts: &FileFacts) -> crate::hash::Digest {
    let mut defined: Vec<&str> = facts.definitions.iter().map(|d| d.name.as_str()).collect();
    let mut referenced: Vec<&str> = facts.references.iter().map(|r| r.name.as_str()).collect();
    defined.sort_unstable();
    referenced.sort_unstable();
    let mut builder = crate::hash::DigestBuilder::new();
    for name in defined {
        builder.part(name.as_bytes());
    }
    builder.part(b"\x00references");
    for name in referenced {
        builder.part(name.as_bytes());
    }
    builder.finish()
}

/// How much a reference to `name` says about the files that define it.
pub fn identifier_weight(name: &str, definers: usize) -> f64 {
    let mut weight = 1.0;
    let has_lower = name.chars().any(|c| c.is_lowercase());
    let has_upper = name.chars().any(|c| c.is_uppercase());
    let is_snake = name.contains('_') && name.chars().any(|c| c.is_alphabetic());
    let is_camel = has_lower && has_upper;
    if (is_snake || is_camel) && name.chars().count() >= 8 {
        weight *= 10.0;
    }
    if name.starts_with('_') {
        weight *= 0.1;
    }
    if definers > 5 {
        weight *= 0.1;
    }
    weight
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specific_names_weigh_more_than_private_or_common_ones() {
        assert!(identifier_weight("load_settings", 1) > identifier_weight("load", 1));
        assert!(identifier_weight("RequestHandler", 1) > identifier_weight("Handler", 1));
        assert!(identifier_weight("_private_helper", 1) < identifier_weight("private_helper", 1));
        assert!(identifier_weight("render_template", 9) < identifier_weight("render_template", 2));
    }
}
