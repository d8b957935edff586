//! Fusion of the channels' rankings (`retrieve.rs` gathers them): reciprocal rank fusion of the
//! items (k = 60, as Tabby does), file-level rankings adding to every item of their files; then the
//! file stage, which fuses the resulting order of files again with a small k (`file_stage`).
//!
//! Pure: rankings in, one ranking out.

use super::{ContextItem, ItemKind};
use crate::search::prior;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

const RRF_K: f64 = 60.0;
/// The file stage's k (`file_stage`): its lists' first files count most (tuned on the dev set with
/// history: 3, 5, 10, 20, 60 → 5).
const FILE_RRF_K: f64 = 5.0;

/// One ranker's list for `fuse`.
pub(super) struct Ranked {
    pub weight: f64,
    pub items: Vec<ContextItem>,
    /// Scale each item by its file's prior (`prior.rs`). Lists of what the question itself points at
    /// (a quoted error, a named symbol, the cursor) are taken at their word.
    pub with_prior: bool,
    /// Per item, how far it counts (a note's reliability); empty: every item fully.
    pub factors: Vec<f64>,
}

impl Ranked {
    pub(super) fn by_relevance(weight: f64, items: Vec<ContextItem>) -> Ranked {
        Ranked { weight, items, with_prior: true, factors: Vec::new() }
    }

    pub(super) fn asked_for(weight: f64, items: Vec<ContextItem>) -> Ranked {
        Ranked { weight, items, with_prior: false, factors: Vec::new() }
    }
}

/// Reciprocal rank fusion of weighted lists; an item's location identifies it across lists. Each
/// file list `(weight, with_prior, files)` adds its file's fused rank score to every item of the file.
pub(super) fn fuse(lists: Vec<Ranked>, file_lists: &[(f64, bool, Vec<Arc<str>>)]) -> Vec<ContextItem> {
    let mut file_bonus: HashMap<&str, f64> = HashMap::new();
    for (weight, with_prior, files) in file_lists {
        for (rank, file) in files.iter().enumerate() {
            let prior = if *with_prior { prior::file_weight(file) } else { 1.0 };
            *file_bonus.entry(&**file).or_insert(0.0) += weight * prior / (RRF_K + rank as f64 + 1.0);
        }
    }
    let mut scores: HashMap<(String, u32, u32), (f64, ContextItem)> = HashMap::new();
    for Ranked { weight, items, with_prior, factors } in lists {
        let mut seen = HashSet::new();
        for (rank, item) in items.into_iter().enumerate() {
            let id = (item.path.clone(), item.start_line, item.end_line);
            if !seen.insert(id.clone()) {
                continue;
            }
            let prior = if with_prior { prior::file_weight(&item.path) } else { 1.0 };
            let factor = factors.get(rank).copied().unwrap_or(1.0);
            let add = weight * prior * factor / (RRF_K + rank as f64 + 1.0);
            match scores.get_mut(&id) {
                Some((score, existing)) => {
                    *score += add;
                    // Keep the more informative description (learned text over a bare signature).
                    if existing.kind != ItemKind::Note && item.kind == ItemKind::Note {
                        *existing = item;
                    }
                }
                None => {
                    let bonus = file_bonus.get(item.path.as_str()).copied().unwrap_or(0.0);
                    scores.insert(id, (add + bonus, item));
                }
            }
        }
    }
    let mut fused: Vec<ContextItem> = scores
        .into_values()
        .map(|(score, mut item)| {
            item.score = score;
            item
        })
        .collect();
    fused.sort_by(|a, b| {
        b.score.total_cmp(&a.score).then_with(|| (&a.path, a.start_line).cmp(&(&b.path, b.start_line)))
    });
    fused
}

/// A relevance list's files in the order its items rank them once scaled by their file's prior
/// (the order the list alone would give).
pub(super) fn files_by_prior(items: &[ContextItem]) -> Vec<Arc<str>> {
    let mut best: HashMap<&str, f64> = HashMap::new();
    for (rank, item) in items.iter().enumerate() {
        let score = prior::file_weight(&item.path) / (RRF_K + rank as f64 + 1.0);
        let entry = best.entry(item.path.as_str()).or_insert(0.0);
        *entry = entry.max(score);
    }
    let mut files: Vec<(&str, f64)> = best.into_iter().collect();
    files.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(b.0)));
    files.into_iter().map(|(f, _)| Arc::from(f)).collect()
}

/// The file stage: the fused order of files (each file's best item) fused again, by reciprocal
/// rank with a small `FILE_RRF_K`, with `lists` — whole-file orders of channels that judge files
/// better than the items they contribute. In the item fusion (k = 60) a channel adds nearly the
/// same to its first file as to its twentieth; here its first files count. An item's score becomes
/// its file's score scaled by how it compares with its file's best item, so the stage decides the
/// order of files and leaves the order within a file alone. Measured on the dev set with history
/// at base commits and vectors (all 404): Acc@1 / Acc@5 49.0 / 78.5 without the stage, 53.0 / 80.7
/// with it; the question set 48.9 / 91.9 → 53.3 / 92.6 (the weights: `retrieve::WEIGHTS`).
pub(super) fn file_stage(fused: Vec<ContextItem>, lists: &[(f64, Vec<Arc<str>>)]) -> Vec<ContextItem> {
    let lists: Vec<&(f64, Vec<Arc<str>>)> = lists.iter().filter(|(w, files)| *w > 0.0 && !files.is_empty()).collect();
    if lists.is_empty() {
        return fused;
    }
    let mut best_item: HashMap<String, f64> = HashMap::new();
    let mut order: Vec<String> = Vec::new();
    for item in &fused {
        if !best_item.contains_key(&item.path) {
            best_item.insert(item.path.clone(), item.score);
            order.push(item.path.clone());
        }
    }
    let mut file_score: HashMap<&str, f64> =
        order.iter().enumerate().map(|(rank, f)| (f.as_str(), 1.0 / (FILE_RRF_K + rank as f64 + 1.0))).collect();
    for (weight, files) in lists {
        for (rank, file) in files.iter().enumerate() {
            // Only files with items can be shown.
            if let Some(score) = file_score.get_mut(&**file) {
                *score += weight / (FILE_RRF_K + rank as f64 + 1.0);
            }
        }
    }
    let mut staged: Vec<ContextItem> = fused
        .into_iter()
        .map(|mut item| {
            let best = best_item[&item.path];
            let share = if best > 0.0 { item.score / best } else { 1.0 };
            item.score = file_score[item.path.as_str()] * share;
            item
        })
        .collect();
    staged.sort_by(|a, b| {
        b.score.total_cmp(&a.score).then_with(|| (&a.path, a.start_line).cmp(&(&b.path, b.start_line)))
    });
    staged
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::answer::rank_files;

    /// A definition item at `line` of `path` with `score`.
    fn item(path: &str, line: u32, score: f64) -> ContextItem {
        ContextItem {
            path: path.into(),
            start_line: line,
            end_line: line,
            kind: ItemKind::Definition,
            score,
            tokens: 10,
            reason: String::new(),
            text: String::new(),
            stale: false,
        }
    }

    #[test]
    fn the_file_stage_orders_files_and_keeps_each_files_own_order() {
        let fused = vec![
            item("a.py", 1, 0.09),
            item("a.py", 2, 0.08),
            item("b.py", 1, 0.05),
            item("c.py", 1, 0.04),
            item("c.py", 9, 0.01),
        ];
        let places = |items: &[ContextItem]| -> Vec<(String, u32)> {
            items.iter().map(|i| (i.path.clone(), i.start_line)).collect()
        };
        // No list, or lists of weight 0: the fusion's own order, scores untouched.
        assert_eq!(file_stage(fused.clone(), &[]), fused);
        assert_eq!(file_stage(fused.clone(), &[(0.0, vec!["c.py".into()])]), fused);
        // A list that ranks c.py first lifts c.py above b.py, not above a.py; a file the list ranks
        // that has no item adds nothing, and c.py's second item stays after its first.
        let staged = file_stage(fused.clone(), &[(0.2, vec!["z.py".into(), "c.py".into()])]);
        let files = rank_files(&staged);
        assert_eq!(files, ["a.py", "c.py", "b.py"]);
        let c = |line| staged.iter().position(|i| i.path == "c.py" && i.start_line == line).unwrap();
        assert!(c(1) < c(9));
        // Strongly enough, above a.py too; a.py's weak second item then follows its first.
        let staged = file_stage(fused.clone(), &[(3.0, vec!["c.py".into()])]);
        assert_eq!(rank_files(&staged), ["c.py", "a.py", "b.py"]);
        assert_eq!(places(&staged)[0], ("c.py".into(), 1));
        // The scores still say how each item compares with its file's best.
        let a2 = staged.iter().find(|i| i.path == "a.py" && i.start_line == 2).unwrap().score;
        let a1 = staged.iter().find(|i| i.path == "a.py" && i.start_line == 1).unwrap().score;
        assert!((a2 / a1 - 0.08 / 0.09).abs() < 1e-9);
    }

    #[test]
    fn a_lists_files_follow_its_items_scaled_by_their_prior() {
        // A test file first in the list counts half: the code file right after it goes first.
        let files = files_by_prior(&[
            item("tests/test_a.py", 1, 0.0),
            item("a.py", 1, 0.0),
            item("b.py", 1, 0.0),
            item("a.py", 2, 0.0),
        ]);
        let files: Vec<&str> = files.iter().map(|f| &**f).collect();
        assert_eq!(files, ["a.py", "b.py", "tests/test_a.py"]);
    }
}
