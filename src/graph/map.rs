//! The repo map: the best-ranked definitions of the workspace, rendered as an outline that fits a
//! token budget (aider's idea, `aider/repomap.py`). Each line is `line  signature`, indented by nesting, under
//! the file's path, so every entry is also a citation.
//!
//! The candidates are the definitions the ranking points at (best first), then every other
//! definition, by file rank and position, so a workspace without cross-file references still gets a
//! map. The largest prefix of candidates whose rendering fits the budget is found by binary search;
//! the enclosing definitions of a chosen one are shown for context and counted in the budget.

use super::{GraphFile, Ranking};
use crate::syntax::FileFacts;
use crate::tokens::estimate_tokens;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::fmt::Write;

#[derive(Clone, Debug, Default, PartialEq)]
pub struct RepoMap {
    pub text: String,
    pub tokens: usize,
    /// Definitions shown (not counting enclosing ones shown for context).
    pub definitions: usize,
    /// Definitions that were candidates in all.
    pub candidates: usize,
}

pub fn render_repo_map(files: &[GraphFile<'_>], ranking: &Ranking, budget_tokens: usize) -> RepoMap {
    let candidates = candidates(files, ranking);
    let render_n = |n: usize| render(files, &candidates[..n]);
    let (mut low, mut high) = (0usize, candidates.len());
    // Invariant: render_n(low) fits (an empty map always does).
    while low < high {
        let mid = low + (high - low).div_ceil(2);
        if estimate_tokens(&render_n(mid)) <= budget_tokens {
            low = mid;
        } else {
            high = mid - 1;
        }
    }
    let text = render_n(low);
    RepoMap { tokens: estimate_tokens(&text), text, definitions: low, candidates: candidates.len() }
}

/// (file index, definition index) in the order they should enter the map.
fn candidates(files: &[GraphFile<'_>], ranking: &Ranking) -> Vec<(usize, usize)> {
    let mut by_name: HashMap<(usize, &str), Vec<usize>> = HashMap::new();
    for (file_index, (_, facts)) in files.iter().enumerate() {
        for (def_index, def) in facts.definitions.iter().enumerate() {
            if !is_local(facts, def_index) {
                by_name.entry((file_index, def.name.as_str())).or_default().push(def_index);
            }
        }
    }
    let mut seen: HashSet<(usize, usize)> = HashSet::new();
    let mut order = Vec::new();
    for (file, name, _) in &ranking.definitions {
        if let Some(defs) = by_name.get(&(*file as usize, name.as_str())) {
            for &def in defs {
                if seen.insert((*file as usize, def)) {
                    order.push((*file as usize, def));
                }
            }
        }
    }
    let mut files_by_rank: Vec<usize> = (0..files.len()).collect();
    files_by_rank.sort_by(|&a, &b| {
        let ra = ranking.file_ranks.get(a).copied().unwrap_or(0.0);
        let rb = ranking.file_ranks.get(b).copied().unwrap_or(0.0);
        rb.total_cmp(&ra).then(a.cmp(&b))
    });
    for file in files_by_rank {
        let facts = files[file].1;
        for def in 0..facts.definitions.len() {
            if !is_local(facts, def) && seen.insert((file, def)) {
                order.push((file, def));
            }
        }
    }
    order
}

/// Definitions inside a function body are implementation details, not part of the map.
fn is_local(facts: &FileFacts, def_index: usize) -> bool {
    let mut parent = facts.definitions[def_index].parent;
    while let Some(p) = parent {
        let def = &facts.definitions[p as usize];
        if def.kind.has_implementation_body() {
            return true;
        }
        parent = def.parent;
    }
    false
}

fn render(files: &[GraphFile<'_>], chosen: &[(usize, usize)]) -> String {
    // Files in the order their first definition was chosen; definitions by position.
    let mut file_order: Vec<usize> = Vec::new();
    let mut per_file: HashMap<usize, BTreeSet<usize>> = HashMap::new();
    for &(file, def) in chosen {
        let set = per_file.entry(file).or_insert_with(|| {
            file_order.push(file);
            BTreeSet::new()
        });
        let facts = files[file].1;
        let mut current = Some(def as u32);
        while let Some(index) = current {
            set.insert(index as usize);
            current = facts.definitions[index as usize].parent;
        }
    }
    let mut out = String::new();
    for file in file_order {
        let (key, facts) = files[file];
        let _ = writeln!(out, "{key}");
        for &def_index in &per_file[&file] {
            let def = &facts.definitions[def_index];
            let depth = depth(facts, def_index);
            let _ = writeln!(out, "{:>5}  {}{}", def.span.start.line + 1, "    ".repeat(depth), def.signature);
        }
    }
    out
}

fn depth(facts: &FileFacts, def_index: usize) -> usize {
    let mut depth = 0;
    let mut parent = facts.definitions[def_index].parent;
    while let Some(p) = parent {
        depth += 1;
        parent = facts.definitions[p as usize].parent;
    }
    depth
}
