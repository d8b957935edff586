//! Retrieval measurements over a question set with gold files: the arithmetic behind `reverie eval`.
//! Pure: rankings and gold paths in, figures out; the command (`cli/eval/`) does the IO.
//!
//! The definitions are those of the localization dev set (`shared/data/README.md`):
//!
//! - a *ranking* is a list of items, best first; each item lies in one file (its path) and takes some
//!   tokens in a prompt. An item counts toward the file it lies in;
//! - *file recall@k*: the fraction of the record's gold files among the first k distinct files;
//! - *all-gold@k* (the Acc@k): 1 when every gold file is among the first k distinct files;
//! - *recall within a budget B*: walk down the ranking adding each item's tokens until the next item
//!   would go over B (the walk stops there); a gold file is found if any of its items made it in.
//!
//! Figures are averaged over records, and per project. `tokens_to_reach` is the test-time cost
//! question: the smallest budget at which a system's mean budget recall reaches a target (another
//! system's recall at some budget). It is exact, not a grid search: mean budget recall is a step
//! function of the budget that only moves where some record's walk first takes in a gold file.
//!
//! The rest of the arithmetic, in order: `records.rs` (the question-set format), `figures.rs` (the
//! report's figures from each record's rankings), `amortize.rs` (whether sleep-time compute pays),
//! `tables.rs` (the text tables).

pub mod amortize;
pub mod figures;
mod records;
pub mod tables;

pub use records::{Record, Release, parse_records};

use serde::Serialize;
use std::collections::{BTreeMap, HashSet};

/// The k of recall@k and all-gold@k.
pub const KS: [usize; 3] = [1, 5, 10];
/// The token budgets of budget recall.
pub const BUDGETS: [usize; 3] = [2_000, 8_000, 32_000];
/// Budgets at which the budget-recall curve is shown.
pub const CURVE_GRID: [usize; 8] = [500, 1_000, 2_000, 4_000, 8_000, 12_000, 16_000, 32_000];
/// Lines per window of the raw-chunk baseline.
pub const CHUNK_LINES: usize = 60;

/// One item of a ranking, as the metrics see it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Item {
    pub path: String,
    pub tokens: usize,
}

/// The distinct files of a ranking, in order of first appearance.
pub fn distinct_files(ranking: &[Item]) -> Vec<&str> {
    let mut seen = HashSet::new();
    ranking.iter().map(|item| item.path.as_str()).filter(|path| seen.insert(*path)).collect()
}

fn distinct_gold(gold: &[String]) -> HashSet<&str> {
    gold.iter().map(String::as_str).collect()
}

/// File recall@k over `files` (distinct, best first). No gold files: 0.
pub fn recall_at(files: &[&str], gold: &[String], k: usize) -> f64 {
    let gold = distinct_gold(gold);
    if gold.is_empty() {
        return 0.0;
    }
    files.iter().take(k).filter(|f| gold.contains(**f)).count() as f64 / gold.len() as f64
}

/// All-gold@k: 1.0 when every gold file is among the first k of `files`, else 0.0. No gold files: 0.
pub fn all_gold_at(files: &[&str], gold: &[String], k: usize) -> f64 {
    let gold = distinct_gold(gold);
    let top: HashSet<&str> = files.iter().take(k).copied().collect();
    if !gold.is_empty() && gold.iter().all(|g| top.contains(g)) { 1.0 } else { 0.0 }
}

/// Budget recall of one record as a step function of the budget: `steps` holds, for each gold file
/// in the order the walk meets it, the tokens the walk has taken in once that file's first item is
/// in, and the recall from then on.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Curve {
    pub steps: Vec<(usize, f64)>,
    /// Tokens of the whole ranking: no budget above this finds more.
    pub total_tokens: usize,
}

impl Curve {
    /// Recall within `budget` tokens.
    pub fn recall_within(&self, budget: usize) -> f64 {
        self.steps.iter().take_while(|(tokens, _)| *tokens <= budget).last().map_or(0.0, |(_, recall)| *recall)
    }

    /// Recall of the whole ranking (any budget).
    pub fn final_recall(&self) -> f64 {
        self.steps.last().map_or(0.0, |(_, recall)| *recall)
    }
}

/// The budget-recall curve of `ranking` against `gold` (see the module docs for the walk).
pub fn budget_curve(ranking: &[Item], gold: &[String]) -> Curve {
    let gold = distinct_gold(gold);
    let mut found: HashSet<&str> = HashSet::new();
    let mut used = 0usize;
    let mut steps = Vec::new();
    for item in ranking {
        used = used.saturating_add(item.tokens);
        if gold.contains(item.path.as_str()) && found.insert(item.path.as_str()) {
            steps.push((used, found.len() as f64 / gold.len() as f64));
        }
    }
    Curve { steps, total_tokens: used }
}

/// Recall within `budget` tokens of one ranking.
pub fn budget_recall(ranking: &[Item], gold: &[String], budget: usize) -> f64 {
    budget_curve(ranking, gold).recall_within(budget)
}

/// Distinct files with at least one item within `budget` tokens (the same walk): how broad the
/// context is — a compact item puts a file in context with a line, not with its code.
pub fn files_within(ranking: &[Item], budget: usize) -> usize {
    let mut used = 0usize;
    let mut files = HashSet::new();
    for item in ranking {
        used = used.saturating_add(item.tokens);
        if used > budget {
            break;
        }
        files.insert(item.path.as_str());
    }
    files.len()
}

/// The figures of one record (indexes follow `KS` and `BUDGETS`).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Scores {
    pub recall: [f64; 3],
    pub all_gold: [f64; 3],
    pub budget_recall: [f64; 3],
}

/// Scores one ranking; also returns its budget curve (for `tokens_to_reach`).
pub fn score(ranking: &[Item], gold: &[String]) -> (Scores, Curve) {
    let files = distinct_files(ranking);
    let curve = budget_curve(ranking, gold);
    let scores = Scores {
        recall: KS.map(|k| recall_at(&files, gold, k)),
        all_gold: KS.map(|k| all_gold_at(&files, gold, k)),
        budget_recall: BUDGETS.map(|b| curve.recall_within(b)),
    };
    (scores, curve)
}

/// Figures averaged over records.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Summary {
    pub records: usize,
    pub recall: [f64; 3],
    pub all_gold: [f64; 3],
    pub budget_recall: [f64; 3],
}

/// The mean of `scores` (all zeros for none).
pub fn mean<'a>(scores: impl IntoIterator<Item = &'a Scores>) -> Summary {
    let mut summary = Summary::default();
    for s in scores {
        summary.records += 1;
        for i in 0..3 {
            summary.recall[i] += s.recall[i];
            summary.all_gold[i] += s.all_gold[i];
            summary.budget_recall[i] += s.budget_recall[i];
        }
    }
    if summary.records > 0 {
        let n = summary.records as f64;
        for i in 0..3 {
            summary.recall[i] /= n;
            summary.all_gold[i] /= n;
            summary.budget_recall[i] /= n;
        }
    }
    summary
}

/// Means per project, by project name.
pub fn by_project<'a>(scored: impl IntoIterator<Item = (&'a str, &'a Scores)>) -> BTreeMap<String, Summary> {
    let mut groups: BTreeMap<String, Vec<&Scores>> = BTreeMap::new();
    for (project, scores) in scored {
        groups.entry(project.to_string()).or_default().push(scores);
    }
    groups.into_iter().map(|(project, scores)| (project, mean(scores))).collect()
}

/// Mean recall within `budget` over `curves` (0 for none).
pub fn mean_recall_within(curves: &[Curve], budget: usize) -> f64 {
    if curves.is_empty() {
        return 0.0;
    }
    curves.iter().map(|c| c.recall_within(budget)).sum::<f64>() / curves.len() as f64
}

/// The smallest budget at which the mean recall within it over `curves` is at least `target`, or
/// `None` if no budget gets there (the rankings run out first). Exact (see the module docs).
pub fn tokens_to_reach(curves: &[Curve], target: f64) -> Option<usize> {
    const EPSILON: f64 = 1e-9;
    if target <= EPSILON {
        return Some(0);
    }
    if curves.is_empty() {
        return None;
    }
    let n = curves.len() as f64;
    let mut events: Vec<(usize, f64)> = Vec::new();
    for curve in curves {
        let mut before = 0.0;
        for &(tokens, recall) in &curve.steps {
            events.push((tokens, (recall - before) / n));
            before = recall;
        }
    }
    events.sort_by_key(|e| e.0);
    let mut mean = 0.0;
    let mut i = 0;
    while i < events.len() {
        let tokens = events[i].0;
        while i < events.len() && events[i].0 == tokens {
            mean += events[i].1;
            i += 1;
        }
        if mean + EPSILON >= target {
            return Some(tokens);
        }
    }
    None
}

/// The mean of `values` (0 for none).
pub fn mean_of(values: impl IntoIterator<Item = f64>) -> f64 {
    let (sum, n) = values.into_iter().fold((0.0, 0usize), |(s, n), v| (s + v, n + 1));
    if n == 0 { 0.0 } else { sum / n as f64 }
}

/// The `p`-th percentile (0–100) of `values` by nearest rank; `None` for no values.
pub fn percentile(values: &[f64], p: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

/// `text` cut into windows of `lines` lines: (first line, last line, text), 1-based and inclusive.
/// The last window may be shorter; empty text has no windows.
pub fn line_windows(text: &str, lines: usize) -> Vec<(u32, u32, &str)> {
    let lines = lines.max(1);
    let mut windows = Vec::new();
    let mut start_byte = 0;
    let mut start_line = 1u32;
    let mut count = 0;
    for (i, _) in text.match_indices('\n') {
        count += 1;
        if count == lines {
            windows.push((start_line, start_line + lines as u32 - 1, &text[start_byte..=i]));
            start_byte = i + 1;
            start_line += lines as u32;
            count = 0;
        }
    }
    if start_byte < text.len() {
        let rest = &text[start_byte..];
        let rest_lines = count + usize::from(!rest.ends_with('\n'));
        windows.push((start_line, start_line + rest_lines as u32 - 1, rest));
    }
    windows
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(super) fn ranking(items: &[(&str, usize)]) -> Vec<Item> {
        items.iter().map(|(path, tokens)| Item { path: path.to_string(), tokens: *tokens }).collect()
    }

    fn gold(paths: &[&str]) -> Vec<String> {
        paths.iter().map(|p| p.to_string()).collect()
    }

    #[test]
    fn recall_and_all_gold_count_distinct_files() {
        let r = ranking(&[("a.py", 10), ("a.py", 10), ("b.py", 10), ("c.py", 10), ("d.py", 10)]);
        let files = distinct_files(&r);
        assert_eq!(files, ["a.py", "b.py", "c.py", "d.py"]);
        let g = gold(&["c.py", "a.py"]);
        assert_eq!(recall_at(&files, &g, 1), 0.5);
        assert_eq!(recall_at(&files, &g, 2), 0.5, "the repeated a.py is one file");
        assert_eq!(recall_at(&files, &g, 3), 1.0);
        assert_eq!(all_gold_at(&files, &g, 2), 0.0);
        assert_eq!(all_gold_at(&files, &g, 3), 1.0);
        assert_eq!(recall_at(&files, &gold(&["x.py"]), 10), 0.0);
        assert_eq!(recall_at(&files, &[], 10), 0.0);
        assert_eq!(all_gold_at(&files, &[], 10), 0.0);
        // A gold path listed twice is one gold file.
        assert_eq!(recall_at(&files, &gold(&["a.py", "a.py"]), 1), 1.0);
    }

    #[test]
    fn budget_walk_stops_at_the_first_item_that_does_not_fit() {
        let r = ranking(&[("a.py", 600), ("big.py", 1_500), ("b.py", 100), ("c.py", 300)]);
        let g = gold(&["b.py", "c.py"]);
        // 600 + 1,500 = 2,100 > 2,000: the walk stops before big.py, so b.py (which would fit) is not in.
        assert_eq!(budget_recall(&r, &g, 2_000), 0.0);
        assert_eq!(budget_recall(&r, &g, 2_200), 0.5);
        assert_eq!(budget_recall(&r, &g, 2_499), 0.5);
        assert_eq!(budget_recall(&r, &g, 2_500), 1.0);
        assert_eq!(files_within(&r, 2_000), 1);
        assert_eq!(files_within(&r, 2_500), 4);
        assert_eq!(files_within(&r, 0), 0);
        let curve = budget_curve(&r, &g);
        assert_eq!(curve.steps, [(2_200, 0.5), (2_500, 1.0)]);
        assert_eq!(curve.total_tokens, 2_500);
        assert_eq!(curve.final_recall(), 1.0);
        // Only a file's first item matters.
        let repeated = ranking(&[("b.py", 10), ("b.py", 10), ("c.py", 10)]);
        assert_eq!(budget_curve(&repeated, &g).steps, [(10, 0.5), (30, 1.0)]);
    }

    #[test]
    fn scores_average_overall_and_per_project() {
        let g = gold(&["a.py"]);
        let (hit, _) = score(&ranking(&[("a.py", 100), ("b.py", 100)]), &g);
        assert_eq!(hit.recall, [1.0, 1.0, 1.0]);
        assert_eq!(hit.budget_recall, [1.0, 1.0, 1.0]);
        let (late, _) = score(&ranking(&[("b.py", 3_000), ("c.py", 10), ("a.py", 10)]), &g);
        assert_eq!(late.recall, [0.0, 1.0, 1.0]);
        assert_eq!(late.all_gold, [0.0, 1.0, 1.0]);
        assert_eq!(late.budget_recall, [0.0, 1.0, 1.0]);
        let all = mean([&hit, &late]);
        assert_eq!(all.records, 2);
        assert_eq!(all.recall, [0.5, 1.0, 1.0]);
        assert_eq!(all.budget_recall, [0.5, 1.0, 1.0]);
        let projects = by_project([("django", &hit), ("sympy", &late), ("django", &hit)]);
        assert_eq!(projects.len(), 2);
        assert_eq!(projects["django"].records, 2);
        assert_eq!(projects["django"].recall[0], 1.0);
        assert_eq!(projects["sympy"].recall[0], 0.0);
        assert_eq!(mean([]), Summary::default());
    }

    #[test]
    fn tokens_to_reach_is_the_exact_smallest_budget() {
        let g = gold(&["a.py"]);
        let curves = vec![
            budget_curve(&ranking(&[("a.py", 300)]), &g),
            budget_curve(&ranking(&[("x.py", 1_000), ("a.py", 500)]), &g),
            budget_curve(&ranking(&[("x.py", 100)]), &g),
        ];
        assert!((mean_recall_within(&curves, 1_499) - 1.0 / 3.0).abs() < 1e-12);
        assert!((mean_recall_within(&curves, 1_500) - 2.0 / 3.0).abs() < 1e-12);
        assert_eq!(tokens_to_reach(&curves, 1.0 / 3.0), Some(300));
        assert_eq!(tokens_to_reach(&curves, 0.5), Some(1_500));
        assert_eq!(tokens_to_reach(&curves, 2.0 / 3.0), Some(1_500), "equal counts as reached");
        assert_eq!(tokens_to_reach(&curves, 0.9), None, "the third ranking never finds its gold file");
        assert_eq!(tokens_to_reach(&curves, 0.0), Some(0));
        assert_eq!(tokens_to_reach(&[], 0.5), None);
        // Agrees with a brute-force scan of every budget.
        for target in [0.1, 0.34, 0.6] {
            let brute = (0..=2_000).find(|&b| mean_recall_within(&curves, b) + 1e-9 >= target);
            assert_eq!(tokens_to_reach(&curves, target), brute, "target {target}");
        }
    }

    #[test]
    fn mean_of_values() {
        assert_eq!(mean_of([1.0, 2.0, 6.0]), 3.0);
        assert_eq!(mean_of([]), 0.0);
    }

    #[test]
    fn percentiles_by_nearest_rank() {
        let values: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&values, 50.0), Some(50.0));
        assert_eq!(percentile(&values, 99.0), Some(99.0));
        assert_eq!(percentile(&values, 100.0), Some(100.0));
        assert_eq!(percentile(&[3.0, 1.0, 2.0], 50.0), Some(2.0));
        assert_eq!(percentile(&[7.0], 99.0), Some(7.0));
        assert_eq!(percentile(&[7.0], 0.0), Some(7.0));
        assert_eq!(percentile(&[], 50.0), None);
    }

    #[test]
    fn windows_cover_every_line_once() {
        let text = "1\n2\n3\n4\n5\n";
        assert_eq!(line_windows(text, 2), [(1, 2, "1\n2\n"), (3, 4, "3\n4\n"), (5, 5, "5\n")]);
        assert_eq!(line_windows("1\n2\n3", 2), [(1, 2, "1\n2\n"), (3, 3, "3")]);
        assert_eq!(line_windows("1\n2\n", 2), [(1, 2, "1\n2\n")]);
        assert_eq!(line_windows("", 60), []);
        let long: String = (1..=130).map(|i| format!("line {i}\n")).collect();
        let windows = line_windows(&long, CHUNK_LINES);
        assert_eq!(windows.iter().map(|w| (w.0, w.1)).collect::<Vec<_>>(), [(1, 60), (61, 120), (121, 130)]);
        assert_eq!(windows.iter().map(|w| w.2).collect::<String>(), long);
    }
}
