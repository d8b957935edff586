//! Whether sleep-time compute pays: the paper's amortization accounting (Lin et al., 2025) with
//! measured figures. Sleep tokens are spent once per context (workspace); each question then costs
//! the test-time tokens its context needs, priced at a multiplier of sleep tokens (the paper prices
//! latency-sensitive test-time tokens at 10×). Pure: per-record curves and per-workspace sleep tokens
//! in, the amortization table out.
//!
//! The two sides are compared at equal recall: per question, the context tokens each side needs to
//! reach the raw baseline's mean recall within 8k tokens (else within 2k, if the learned side never
//! gets to the 8k figure), plus the question itself.

use super::figures::{SYSTEMS, Scored};
use super::{Curve, mean_of, mean_recall_within, tokens_to_reach};
use serde::Serialize;

/// The amortization table's queries per context.
pub const QUERIES: [u32; 4] = [1, 2, 5, 10];
/// The amortization table's test-time price multipliers (the paper's).
pub const MULTIPLIERS: [f64; 2] = [1.0, 10.0];

/// One row of the amortization table: the cost per question of answering `queries` questions about
/// one context, with sleep-time notes versus test-time only, test tokens priced at `multiplier` ×
/// sleep tokens.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct AmortizationRow {
    pub queries: u32,
    pub multiplier: f64,
    pub with_notes_per_query: f64,
    pub test_only_per_query: f64,
    /// test_only / with_notes: above 1 means sleep-time compute pays.
    pub saving: f64,
}

/// The paper's accounting: `sleep_tokens` spent once per context, `test_tokens_with_notes` per
/// question when answering from notes, `test_tokens_without` per question without them.
pub fn per_query(
    sleep_tokens: f64,
    test_tokens_with_notes: f64,
    test_tokens_without: f64,
    queries: u32,
    multiplier: f64,
) -> AmortizationRow {
    let n = f64::from(queries.max(1));
    let with_notes = (sleep_tokens + n * multiplier * test_tokens_with_notes) / n;
    let test_only = multiplier * test_tokens_without;
    AmortizationRow {
        queries,
        multiplier,
        with_notes_per_query: with_notes,
        test_only_per_query: test_only,
        saving: if with_notes > 0.0 { test_only / with_notes } else { 0.0 },
    }
}

/// What the accounting needs of one workspace.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct WorkspaceSleep {
    /// Notes in its store.
    pub notes: usize,
    /// Sleep-phase tokens in its ledger.
    pub sleep_tokens: u64,
}

/// The amortization table with how it was computed.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Amortization {
    /// The equal-recall point and what is counted, in words (or why there is no table).
    pub basis: String,
    pub learned_system: &'static str,
    pub sleep_tokens_per_workspace: f64,
    pub mean_question_tokens: f64,
    pub test_tokens_with_notes: Option<f64>,
    pub test_tokens_without: Option<f64>,
    /// For reference: (b) facts at the same recall, which spends no sleep-time tokens.
    pub test_tokens_facts_only: Option<f64>,
    pub rows: Vec<AmortizationRow>,
    /// Queries per context from which sleep-time compute pays, per multiplier.
    pub break_even_queries: Vec<(f64, Option<f64>)>,
}

/// The accounting over `scored` and its `workspaces`. The learned side is (c) facts + notes when
/// some workspace has notes, else (b) facts. When only some workspaces have notes, only those (and
/// their records) are counted, so sleep tokens and test tokens describe the same contexts.
pub fn amortization(scored: &[Scored], workspaces: &[WorkspaceSleep]) -> Amortization {
    let have_notes = workspaces.iter().any(|w| w.notes > 0);
    let learned = if have_notes { 2 } else { 1 };
    let records: Vec<&Scored> = scored.iter().filter(|r| !have_notes || r.has_notes).collect();
    let contexts: Vec<&WorkspaceSleep> = workspaces.iter().filter(|w| !have_notes || w.notes > 0).collect();
    let sleep_tokens = mean_of(contexts.iter().map(|w| w.sleep_tokens as f64));
    let question_tokens = mean_of(records.iter().map(|r| r.question_tokens as f64));
    let curves = |s: usize| -> Vec<Curve> { records.iter().map(|r| r.curves[s].clone()).collect() };
    let (raw, mine) = (curves(0), curves(learned));
    let mut amortization = Amortization {
        basis: String::new(),
        learned_system: SYSTEMS[learned],
        sleep_tokens_per_workspace: sleep_tokens,
        mean_question_tokens: question_tokens,
        test_tokens_with_notes: None,
        test_tokens_without: None,
        test_tokens_facts_only: None,
        rows: Vec::new(),
        break_even_queries: Vec::new(),
    };
    let chosen = [8_000, 2_000].into_iter().find_map(|budget| {
        let target = mean_recall_within(&raw, budget);
        let with = tokens_to_reach(&mine, target)?;
        let without = tokens_to_reach(&raw, target)?;
        Some((budget, target, with, without))
    });
    let Some((budget, target, with, without)) = chosen else {
        amortization.basis =
            format!("{} never reaches the raw baseline's recall at 2k or 8k: no equal-recall point", SYSTEMS[learned]);
        return amortization;
    };
    let with = with as f64 + question_tokens;
    let without = without as f64 + question_tokens;
    let scope = if !have_notes {
        " (none: no workspace has notes, so the learned side is (b) facts, which cost no model tokens)".to_string()
    } else if contexts.len() < workspaces.len() {
        format!("; only the {} workspaces with notes and their {} records are counted", contexts.len(), records.len())
    } else {
        String::new()
    };
    amortization.basis = format!(
        "equal recall {:.1}% (raw at {}k); per question: context at that recall + the question \
         ({question_tokens:.0} tokens on average); sleep tokens: the ledger's, per workspace{scope}",
        target * 100.0,
        budget / 1000,
    );
    amortization.test_tokens_with_notes = Some(with);
    amortization.test_tokens_without = Some(without);
    amortization.test_tokens_facts_only =
        tokens_to_reach(&curves(1), target).map(|tokens| tokens as f64 + question_tokens);
    for multiplier in MULTIPLIERS {
        for queries in QUERIES {
            amortization.rows.push(per_query(sleep_tokens, with, without, queries, multiplier));
        }
        let saved = multiplier * (without - with);
        let break_even = if saved > 0.0 { Some(sleep_tokens / saved) } else { None };
        amortization.break_even_queries.push((multiplier, break_even));
    }
    amortization
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::figures::tests::record;

    #[test]
    fn per_query_cost_matches_the_papers_shape() {
        // Sleep 10,000 tokens once; 500 test tokens per question with notes vs 2,500 without, at 10×.
        let one = per_query(10_000.0, 500.0, 2_500.0, 1, 10.0);
        assert_eq!(one.with_notes_per_query, 15_000.0, "10,000 + 10 × 500");
        assert_eq!(one.test_only_per_query, 25_000.0);
        let ten = per_query(10_000.0, 500.0, 2_500.0, 10, 10.0);
        assert_eq!(ten.with_notes_per_query, 6_000.0, "(10,000 + 10 × 10 × 500) / 10");
        assert_eq!(ten.saving, 25_000.0 / 6_000.0);
        assert_eq!((ten.queries, ten.multiplier), (10, 10.0));
        // No queries counts as one; nothing spent at all saves nothing.
        assert_eq!(per_query(10_000.0, 500.0, 2_500.0, 0, 1.0).with_notes_per_query, 10_500.0);
        assert_eq!(per_query(0.0, 0.0, 2_500.0, 1, 1.0).saving, 0.0);
    }

    #[test]
    fn with_notes_the_learned_side_is_c_and_only_workspaces_with_notes_count() {
        // Raw finds a.py at 4,000 tokens, (c) at 400, (b) at 1,000; 20 question tokens each (see `record`).
        let raw = [("x.py", 3_000), ("a.py", 1_000)];
        let scored = [
            record("django", true, [&raw, &[("x.py", 500), ("a.py", 500)], &[("a.py", 400)]]),
            // A record of a workspace without notes: left out.
            record("sympy", false, [&[("a.py", 10)], &[("a.py", 10)], &[("a.py", 10)]]),
        ];
        let workspaces =
            [WorkspaceSleep { notes: 12, sleep_tokens: 7_600 }, WorkspaceSleep { notes: 0, sleep_tokens: 999 }];
        let a = amortization(&scored, &workspaces);
        assert_eq!(a.learned_system, "(c) facts + notes");
        assert_eq!(a.sleep_tokens_per_workspace, 7_600.0);
        assert_eq!(a.mean_question_tokens, 20.0);
        assert_eq!(a.test_tokens_with_notes, Some(420.0));
        assert_eq!(a.test_tokens_without, Some(4_020.0));
        assert_eq!(a.test_tokens_facts_only, Some(1_020.0));
        assert_eq!(
            a.basis,
            "equal recall 100.0% (raw at 8k); per question: context at that recall + the question (20 tokens on \
             average); sleep tokens: the ledger's, per workspace; only the 1 workspaces with notes and their 1 \
             records are counted"
        );
        assert_eq!(a.rows.len(), MULTIPLIERS.len() * QUERIES.len());
        assert_eq!(a.rows[0], per_query(7_600.0, 420.0, 4_020.0, 1, 1.0));
        // At 1× one query costs 7,600 + 420 = 8,020 against 4,020; ten cost 760 + 420 = 1,180 each.
        assert_eq!(a.rows[0].with_notes_per_query, 8_020.0);
        assert_eq!(a.rows[3].queries, 10);
        assert_eq!(a.rows[3].with_notes_per_query, 1_180.0);
        // Break-even: 7,600 / (4,020 - 420) = 2.11 queries at 1×, 7,600 / 36,000 at 10×.
        assert_eq!(a.break_even_queries, [(1.0, Some(7_600.0 / 3_600.0)), (10.0, Some(7_600.0 / 36_000.0))]);
    }

    #[test]
    fn without_notes_the_learned_side_is_b_and_costs_no_sleep() {
        let scored = [
            record("django", false, [&[("x.py", 1_000), ("a.py", 1_000)], &[("a.py", 500)], &[("a.py", 500)]]),
            record("django", false, [&[("a.py", 100)], &[("a.py", 300)], &[("a.py", 300)]]),
        ];
        let a = amortization(&scored, &[WorkspaceSleep { notes: 0, sleep_tokens: 0 }]);
        assert_eq!(a.learned_system, "(b) facts");
        // Both raw rankings find a.py within 8k: 100%; raw needs 2,000 tokens for that, facts 500.
        assert_eq!(a.test_tokens_without, Some(2_020.0));
        assert_eq!(a.test_tokens_with_notes, Some(520.0));
        assert!(
            a.basis.ends_with(
                "(none: no workspace has notes, so the learned side is (b) facts, which cost no model tokens)"
            )
        );
        // No sleep tokens: it pays from zero queries.
        assert_eq!(a.break_even_queries, [(1.0, Some(0.0)), (10.0, Some(0.0))]);
    }

    #[test]
    fn no_equal_recall_point_no_table() {
        // Raw finds the gold file within 2k; facts never do.
        let scored = [record("django", false, [&[("a.py", 100)], &[("x.py", 100)], &[("x.py", 100)]])];
        let a = amortization(&scored, &[WorkspaceSleep { notes: 0, sleep_tokens: 0 }]);
        assert_eq!(a.basis, "(b) facts never reaches the raw baseline's recall at 2k or 8k: no equal-recall point");
        assert_eq!((a.test_tokens_with_notes, a.test_tokens_without), (None, None));
        assert!(a.rows.is_empty() && a.break_even_queries.is_empty());
    }

    #[test]
    fn a_learned_side_that_costs_more_never_breaks_even() {
        let scored = [record("django", true, [&[("a.py", 100)], &[("a.py", 100)], &[("x.py", 50), ("a.py", 100)]])];
        let a = amortization(&scored, &[WorkspaceSleep { notes: 3, sleep_tokens: 1_000 }]);
        assert_eq!((a.test_tokens_with_notes, a.test_tokens_without), (Some(170.0), Some(120.0)));
        assert_eq!(a.break_even_queries, [(1.0, None), (10.0, None)]);
        assert!(a.rows.iter().all(|row| row.saving < 1.0));
    }
}
