//! The figures `reverie eval` reports, from each record's rankings: the three systems' means (overall,
//! per project, the budget-recall curve, files in context), the tokens each needs to reach the raw
//! baseline's recall, and direct-answer latency percentiles. Pure: per-record results in, the
//! serialized report's figures out; `tables.rs` prints them, `amortize.rs` adds the cost accounting.

use super::{BUDGETS, CURVE_GRID, Curve, Item, Scores, Summary};
use serde::Serialize;
use std::collections::BTreeMap;

/// The systems compared, in this order everywhere (indexes of `Scored`'s arrays).
pub const SYSTEMS: [&str; 3] = ["(a) raw BM25 chunks", "(b) facts", "(c) facts + notes"];

/// One record's results, for the three systems of `SYSTEMS`.
#[derive(Clone, Debug, PartialEq)]
pub struct Scored {
    pub project: String,
    /// Its workspace has notes (so (c) may differ from (b)).
    pub has_notes: bool,
    pub scores: [Scores; 3],
    pub curves: [Curve; 3],
    /// Distinct files in context within each of `BUDGETS`, per system.
    pub files_within: [[usize; 3]; 3],
    pub question_tokens: usize,
}

impl Scored {
    /// Scores the three systems' rankings (as metric items, in `SYSTEMS` order) against `gold`.
    pub fn new(
        project: String,
        has_notes: bool,
        rankings: [&[Item]; 3],
        gold: &[String],
        question_tokens: usize,
    ) -> Scored {
        let results = rankings.map(|ranking| super::score(ranking, gold));
        Scored {
            project,
            has_notes,
            scores: std::array::from_fn(|s| results[s].0.clone()),
            curves: std::array::from_fn(|s| results[s].1.clone()),
            files_within: rankings.map(|ranking| BUDGETS.map(|b| super::files_within(ranking, b))),
            question_tokens,
        }
    }
}

/// One system's figures.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SystemReport {
    pub name: &'static str,
    pub overall: Summary,
    pub per_project: BTreeMap<String, Summary>,
    /// Mean budget recall at each budget of `CURVE_GRID`.
    pub curve: Vec<(usize, f64)>,
    /// Mean recall of the whole ranking, and its mean tokens.
    pub recall_unbounded: f64,
    pub mean_ranking_tokens: f64,
    /// Mean distinct files in context within each of `BUDGETS`.
    pub files_within: [f64; 3],
}

/// The tokens each system needs to reach the raw baseline's recall at one of `BUDGETS`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Reach {
    /// The raw baseline's budget whose recall is the target.
    pub baseline_budget: usize,
    pub target_recall: f64,
    /// Per system: the smallest budget reaching the target, and raw's tokens / this system's.
    pub tokens: [Option<usize>; 3],
    pub ratio: [Option<f64>; 3],
}

/// One question asked for a direct answer, timed.
#[derive(Clone, Debug, PartialEq)]
pub struct Timing {
    /// Which kind of question (a row of the latency table).
    pub kind: &'static str,
    pub question: String,
    pub ms: f64,
    /// Answered with zero model tokens (else it fell back to ranked context).
    pub direct: bool,
}

/// Latency of one kind of question.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Latency {
    pub kind: &'static str,
    pub asked: usize,
    pub direct: usize,
    /// Over direct answers (those are what the ≤ 10 ms target is about).
    pub p50_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    pub max_ms: Option<f64>,
    /// Over the questions that fell back to ranked context.
    pub fallback_p50_ms: Option<f64>,
    /// The first few questions that fell back, to inspect.
    pub fallbacks: Vec<String>,
}

/// The contexts questions are answered with end to end: the learned context of (c), and raw chunks
/// of (a) at the same budget.
pub const E2E_CONTEXTS: [&str; 2] = ["learned (c)", "raw chunks (a)"];

/// One question answered end to end by a model with one context.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct E2eRow {
    pub id: String,
    pub context: &'static str,
    pub items: usize,
    pub context_tokens: usize,
    /// As the model counted them (the whole prompt: system, context, question).
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub latency_ms: f64,
    pub gold_in_context: bool,
    pub error: Option<String>,
}

/// System `s`'s budget curves, one per record.
pub fn curves(scored: &[Scored], s: usize) -> Vec<Curve> {
    scored.iter().map(|r| r.curves[s].clone()).collect()
}

/// The three systems' figures over `scored`.
pub fn systems(scored: &[Scored]) -> Vec<SystemReport> {
    (0..3)
        .map(|s| {
            let curves = curves(scored, s);
            SystemReport {
                name: SYSTEMS[s],
                overall: super::mean(scored.iter().map(|r| &r.scores[s])),
                per_project: super::by_project(scored.iter().map(|r| (r.project.as_str(), &r.scores[s]))),
                curve: CURVE_GRID.iter().map(|&b| (b, super::mean_recall_within(&curves, b))).collect(),
                recall_unbounded: super::mean_of(curves.iter().map(Curve::final_recall)),
                mean_ranking_tokens: super::mean_of(curves.iter().map(|c| c.total_tokens as f64)),
                files_within: std::array::from_fn(|b| {
                    super::mean_of(scored.iter().map(|r| r.files_within[s][b] as f64))
                }),
            }
        })
        .collect()
}

/// For each of `BUDGETS`, the tokens each system needs to reach `baseline`'s budget recall there
/// (`baseline` is the raw system's overall summary).
pub fn reach(scored: &[Scored], baseline: &Summary) -> Vec<Reach> {
    let curves: [Vec<Curve>; 3] = std::array::from_fn(|s| curves(scored, s));
    BUDGETS
        .iter()
        .enumerate()
        .map(|(i, &budget)| {
            let target = baseline.budget_recall[i];
            let tokens: [Option<usize>; 3] = std::array::from_fn(|s| super::tokens_to_reach(&curves[s], target));
            let ratio = std::array::from_fn(|s| match (tokens[0], tokens[s]) {
                (Some(raw), Some(this)) if this > 0 => Some(raw as f64 / this as f64),
                _ => None,
            });
            Reach { baseline_budget: budget, target_recall: target, tokens, ratio }
        })
        .collect()
}

/// One latency row per kind of `kinds`, in that order.
pub fn latency(timings: &[Timing], kinds: &[&'static str]) -> Vec<Latency> {
    kinds
        .iter()
        .map(|&kind| {
            let all: Vec<&Timing> = timings.iter().filter(|t| t.kind == kind).collect();
            let direct: Vec<f64> = all.iter().filter(|t| t.direct).map(|t| t.ms).collect();
            let fallback: Vec<f64> = all.iter().filter(|t| !t.direct).map(|t| t.ms).collect();
            Latency {
                kind,
                asked: all.len(),
                direct: direct.len(),
                p50_ms: super::percentile(&direct, 50.0),
                p99_ms: super::percentile(&direct, 99.0),
                max_ms: super::percentile(&direct, 100.0),
                fallback_p50_ms: super::percentile(&fallback, 50.0),
                fallbacks: all.iter().filter(|t| !t.direct).take(10).map(|t| t.question.clone()).collect(),
            }
        })
        .collect()
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// A record whose gold file is `a.py`, with rankings for (a), (b), (c).
    pub(in crate::eval) fn record(project: &str, has_notes: bool, rankings: [&[(&str, usize)]; 3]) -> Scored {
        let [a, b, c] = rankings.map(crate::eval::tests::ranking);
        Scored::new(project.into(), has_notes, [&a, &b, &c], &["a.py".to_string()], 20)
    }

    #[test]
    fn a_record_is_scored_for_each_system() {
        let r = record(
            "django",
            false,
            [&[("x.py", 1_500), ("y.py", 1_000), ("a.py", 600)], &[("a.py", 50)], &[("x.py", 10), ("a.py", 40)]],
        );
        assert_eq!(r.scores[0].recall, [0.0, 1.0, 1.0]);
        // (a): 1,500 fits 2k, 2,500 does not; a.py comes in at 3,100 tokens.
        assert_eq!(r.scores[0].budget_recall, [0.0, 1.0, 1.0]);
        assert_eq!(r.curves[0].steps, [(3_100, 1.0)]);
        assert_eq!(r.files_within[0], [1, 3, 3]);
        assert_eq!(r.scores[1].recall, [1.0, 1.0, 1.0]);
        assert_eq!(r.files_within[1], [1, 1, 1]);
        assert_eq!(r.scores[2].recall, [0.0, 1.0, 1.0]);
        assert_eq!(r.curves[2].steps, [(50, 1.0)]);
        assert_eq!(r.files_within[2], [2, 2, 2]);
        assert_eq!(r.question_tokens, 20);
    }

    #[test]
    fn systems_average_records_and_reach_is_measured_against_the_baseline() {
        // Raw finds a.py at 3,000 tokens in one record and never in the other: raw recall within 8k is
        // 50%. Facts find it at 100 and 500 tokens: 50% at 100, 100% at 500.
        let scored = [
            record("django", false, [&[("x.py", 2_500), ("a.py", 500)], &[("a.py", 100)], &[("a.py", 100)]]),
            record(
                "sympy",
                false,
                [&[("x.py", 4_000)], &[("x.py", 300), ("a.py", 200)], &[("x.py", 300), ("a.py", 200)]],
            ),
        ];
        let systems = systems(&scored);
        assert_eq!(systems.iter().map(|s| s.name).collect::<Vec<_>>(), SYSTEMS);
        let raw = &systems[0];
        assert_eq!(raw.overall.records, 2);
        assert_eq!(raw.overall.budget_recall, [0.0, 0.5, 0.5]);
        assert_eq!(raw.per_project["django"].recall, [0.0, 1.0, 1.0]);
        assert_eq!(raw.per_project["sympy"].recall, [0.0, 0.0, 0.0]);
        assert_eq!(raw.curve[..4], [(500, 0.0), (1_000, 0.0), (2_000, 0.0), (4_000, 0.5)]);
        assert_eq!(raw.recall_unbounded, 0.5);
        assert_eq!(raw.mean_ranking_tokens, 3_500.0, "(3,000 + 4,000) / 2");
        // Within 2k: nothing of django's first item (2,500), nothing of sympy's (4,000).
        assert_eq!(raw.files_within, [0.0, 1.5, 1.5]);
        assert_eq!(systems[1].overall.recall, [0.5, 1.0, 1.0]);
        assert_eq!(systems[1].files_within, [1.5, 1.5, 1.5]);

        let reach = reach(&scored, &raw.overall);
        assert_eq!(reach.iter().map(|r| r.baseline_budget).collect::<Vec<_>>(), BUDGETS);
        // Raw within 2k finds nothing: every system reaches 0% with 0 tokens, and no ratio is defined.
        assert_eq!(reach[0].target_recall, 0.0);
        assert_eq!(reach[0].tokens, [Some(0), Some(0), Some(0)]);
        assert_eq!(reach[0].ratio, [None, None, None]);
        // 50% within 8k: raw needs 3,000 tokens, facts 100: 30× fewer.
        assert_eq!(reach[1].target_recall, 0.5);
        assert_eq!(reach[1].tokens, [Some(3_000), Some(100), Some(100)]);
        assert_eq!(reach[1].ratio, [Some(1.0), Some(30.0), Some(30.0)]);
    }

    #[test]
    fn latency_splits_direct_answers_from_fallbacks() {
        let timing = |kind, ms, direct| Timing { kind, question: format!("q{ms}"), ms, direct };
        let timings = [
            timing("defined", 2.0, true),
            timing("defined", 1.0, true),
            timing("defined", 9.0, false),
            timing("defined", 4.0, true),
            timing("callers", 5.0, false),
        ];
        let rows = latency(&timings, &["anticipated", "defined", "callers"]);
        assert_eq!(rows[0].asked, 0);
        assert_eq!((rows[0].p50_ms, rows[0].fallback_p50_ms), (None, None));
        let defined = &rows[1];
        assert_eq!((defined.asked, defined.direct), (4, 3));
        // Nearest rank over [1, 2, 4]: p50 is the 2nd, p99 and max the 3rd.
        assert_eq!((defined.p50_ms, defined.p99_ms, defined.max_ms), (Some(2.0), Some(4.0), Some(4.0)));
        assert_eq!(defined.fallback_p50_ms, Some(9.0));
        assert_eq!(defined.fallbacks, ["q9"]);
        assert_eq!((rows[2].direct, rows[2].p50_ms, rows[2].fallbacks.len()), (0, None, 1));
    }
}
