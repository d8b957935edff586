//! PageRank over the file graph, optionally personalized to focus files and identifiers (the files
//! open in the editor, the identifiers in a question), and the ranking of definitions it induces.

use super::FileGraph;
use std::collections::{HashMap, HashSet};

const DAMPING: f64 = 0.85;
const MAX_ITERATIONS: usize = 100;
const TOLERANCE: f64 = 1e-9;
/// An edge whose identifier is in focus weighs this much more (aider: 10).
const FOCUS_IDENTIFIER_BOOST: f64 = 10.0;
/// An edge from a focus file weighs this much more (aider: 50).
const FOCUS_FILE_BOOST: f64 = 50.0;

/// What to personalize the ranking to. Empty means the plain, global PageRank.
#[derive(Clone, Debug, Default)]
pub struct Focus {
    pub files: Vec<String>,
    pub identifiers: Vec<String>,
}

#[derive(Clone, Debug, Default)]
pub struct Ranking {
    /// Per file (same order as `FileGraph::files`); sums to 1 when there is at least one file.
    pub file_ranks: Vec<f64>,
    /// (file index, identifier) of definitions, best first, with the rank that flows into them.
    pub definitions: Vec<(u32, String, f64)>,
}

pub fn rank(graph: &FileGraph, focus: &Focus) -> Ranking {
    let n = graph.files.len();
    if n == 0 {
        return Ranking::default();
    }
    let focus_files: HashSet<u32> = focus.files.iter().filter_map(|f| graph.file_index(f)).map(|i| i as u32).collect();
    let focus_identifiers: HashSet<&str> = focus.identifiers.iter().map(String::as_str).collect();

    let weight = |edge: &super::Edge| {
        let mut w = edge.weight;
        if focus_identifiers.contains(graph.identifiers[edge.identifier as usize].as_str()) {
            w *= FOCUS_IDENTIFIER_BOOST;
        }
        if focus_files.contains(&edge.from) {
            w *= FOCUS_FILE_BOOST;
        }
        w
    };
    let weights: Vec<f64> = graph.edges.iter().map(weight).collect();
    let mut out_weight = vec![0.0; n];
    for (edge, w) in graph.edges.iter().zip(&weights) {
        out_weight[edge.from as usize] += w;
    }

    let personalization = personalization(n, &focus_files);
    let mut ranks = personalization.clone();
    let mut next = vec![0.0; n];
    for _ in 0..MAX_ITERATIONS {
        let dangling: f64 = (0..n).filter(|&i| out_weight[i] == 0.0).map(|i| ranks[i]).sum();
        for i in 0..n {
            next[i] = (1.0 - DAMPING + DAMPING * dangling) * personalization[i];
        }
        for (edge, w) in graph.edges.iter().zip(&weights) {
            let from = edge.from as usize;
            next[edge.to as usize] += DAMPING * ranks[from] * w / out_weight[from];
        }
        let change: f64 = ranks.iter().zip(&next).map(|(a, b)| (a - b).abs()).sum();
        std::mem::swap(&mut ranks, &mut next);
        if change < TOLERANCE * n as f64 {
            break;
        }
    }

    let mut definition_ranks: HashMap<(u32, u32), f64> = HashMap::new();
    for (edge, w) in graph.edges.iter().zip(&weights) {
        let from = edge.from as usize;
        *definition_ranks.entry((edge.to, edge.identifier)).or_insert(0.0) += ranks[from] * w / out_weight[from];
    }
    let mut definitions: Vec<(u32, String, f64)> = definition_ranks
        .into_iter()
        .map(|((file, id), score)| (file, graph.identifiers[id as usize].clone(), score))
        .collect();
    definitions.sort_by(|a, b| b.2.total_cmp(&a.2).then_with(|| (a.0, &a.1).cmp(&(b.0, &b.1))));
    Ranking { file_ranks: ranks, definitions }
}

fn personalization(n: usize, focus_files: &HashSet<u32>) -> Vec<f64> {
    if focus_files.is_empty() {
        return vec![1.0 / n as f64; n];
    }
    // Most of the restart mass on the focus files, a little everywhere so every file stays reachable.
    let background = 0.1 / n as f64;
    let focus_share = 0.9 / focus_files.len() as f64;
    (0..n).map(|i| background + if focus_files.contains(&(i as u32)) { focus_share } else { 0.0 }).collect()
}

#[cfg(test)]
mod tests {
    use super::super::{Edge, FileGraph};
    use super::*;

    fn graph(n: usize, edges: &[(u32, u32)]) -> FileGraph {
        FileGraph {
            files: (0..n).map(|i| format!("f{i}")).collect(),
            identifiers: vec!["ident".into()],
            edges: edges.iter().map(|&(from, to)| Edge { from, to, identifier: 0, weight: 1.0 }).collect(),
            definer_counts: vec![1],
        }
    }

    #[test]
    fn ranks_sum_to_one_and_favour_the_referenced() {
        let g = graph(4, &[(0, 3), (1, 3), (2, 3), (3, 0)]);
        let r = rank(&g, &Focus::default());
        let sum: f64 = r.file_ranks.iter().sum();
        assert!((sum - 1.0).abs() < 1e-6, "sum {sum}");
        assert!(r.file_ranks[3] > r.file_ranks[1]);
        assert!(r.file_ranks[0] > r.file_ranks[1], "f0 is referenced by f3");
    }

    #[test]
    fn focus_moves_rank_towards_what_the_focus_file_uses() {
        let g = graph(4, &[(0, 2), (1, 3)]);
        let plain = rank(&g, &Focus::default());
        assert!((plain.file_ranks[2] - plain.file_ranks[3]).abs() < 1e-9);
        let focused = rank(&g, &Focus { files: vec!["f0".into()], identifiers: vec![] });
        assert!(focused.file_ranks[2] > focused.file_ranks[3]);
    }
}
