//! The text tables of `reverie eval` (the figures after the workspace table): retrieval quality,
//! tokens to reach the baseline, direct-answer latency, amortization and end-to-end answers. Pure:
//! `Figures` in, text out; the JSON output is `Figures` serialized.

use super::amortize::Amortization;
use super::figures::{E2E_CONTEXTS, E2eRow, Latency, Reach, SYSTEMS, SystemReport};
use super::{Summary, mean_of};
use crate::units::thousands;
use serde::Serialize;
use std::fmt::Write as _;

/// Everything `render` prints (the report's fields after the workspaces, in output order).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Figures {
    pub systems: Vec<SystemReport>,
    pub reach: Vec<Reach>,
    pub latency: Vec<Latency>,
    pub amortization: Amortization,
    pub e2e_skipped: Option<String>,
    pub e2e_budget: usize,
    pub e2e: Vec<E2eRow>,
}

/// A share as a percentage, one decimal, right-aligned in five characters (` 92.6`).
pub fn pct(x: f64) -> String {
    format!("{:5.1}", x * 100.0)
}

fn tokens(n: Option<usize>) -> String {
    n.map_or_else(|| "not reached".into(), |n| thousands(n as u64))
}

fn ms(x: Option<f64>) -> String {
    x.map_or_else(|| "—".into(), |x| format!("{x:.2}"))
}

fn summary_row(out: &mut String, label: &str, s: &Summary) {
    let _ = writeln!(
        out,
        "  {label:<22} {} {} {}   {} {} {}   {} {} {}",
        pct(s.recall[0]),
        pct(s.recall[1]),
        pct(s.recall[2]),
        pct(s.all_gold[0]),
        pct(s.all_gold[1]),
        pct(s.all_gold[2]),
        pct(s.budget_recall[0]),
        pct(s.budget_recall[1]),
        pct(s.budget_recall[2]),
    );
}

/// A column of a text table: its width, and whether its cells align left (names) or right (figures).
#[derive(Clone, Copy, Debug)]
pub enum Column {
    Left(usize),
    Right(usize),
}

/// One line of a text table: two spaces of indent, then each cell padded to its column, one space
/// between cells (a cell wider than its column pushes the rest right). Figures come formatted.
pub fn table_row(columns: &[Column], cells: &[&dyn std::fmt::Display]) -> String {
    let mut line = String::from(" ");
    for (column, cell) in columns.iter().zip(cells) {
        let _ = match *column {
            Column::Left(width) => write!(line, " {cell:<width$}"),
            Column::Right(width) => write!(line, " {cell:>width$}"),
        };
    }
    line
}

/// The tables, numbered 1–5, each opening with a blank line.
pub fn render(f: &Figures) -> String {
    let mut out = String::new();
    quality(&mut out, &f.systems);
    reach(&mut out, &f.reach);
    latency(&mut out, &f.latency);
    amortization(&mut out, &f.amortization);
    end_to_end(&mut out, f);
    out
}

/// 1. Retrieval quality: overall, per project, the budget-recall curve and files in context.
fn quality(out: &mut String, systems: &[SystemReport]) {
    let header = format!(
        "  {:<22} {:>5} {:>5} {:>5}   {:>5} {:>5} {:>5}   {:>5} {:>5} {:>5}",
        "system (%)", "R@1", "R@5", "R@10", "All@1", "All@5", "All@10", "B@2k", "B@8k", "B@32k"
    );
    let _ = writeln!(
        out,
        "\n1. Retrieval quality — file recall@k, all-gold@k, recall within a token budget (mean over records)"
    );
    let _ = writeln!(out, "{header}");
    for system in systems {
        summary_row(out, system.name, &system.overall);
    }
    let _ = writeln!(out, "\n  Per project:");
    let projects: Vec<&String> = systems[0].per_project.keys().collect();
    for project in projects {
        let n = systems[0].per_project[project].records;
        let _ = writeln!(out, "  {project} ({n} records)");
        for system in systems {
            if let Some(summary) = system.per_project.get(project) {
                summary_row(out, system.name, summary);
            }
        }
    }
    let _ = writeln!(out, "\n  Budget recall curve (%):");
    let mut line = format!("  {:<22}", "budget");
    for (budget, _) in &systems[0].curve {
        let _ = write!(line, " {:>6}", format!("{}k", *budget as f64 / 1000.0));
    }
    let _ = writeln!(out, "{line} {:>9} {:>11}", "unbounded", "mean tokens");
    for system in systems {
        let mut line = format!("  {:<22}", system.name);
        for (_, recall) in &system.curve {
            let _ = write!(line, " {:>6}", pct(*recall).trim());
        }
        let _ = writeln!(
            out,
            "{line} {:>9} {:>11}",
            pct(system.recall_unbounded).trim(),
            thousands(system.mean_ranking_tokens as u64)
        );
    }
    let _ = writeln!(out, "  (unbounded: recall of the whole ranking; mean tokens: what the whole ranking takes)");
    let _ = writeln!(out, "  Distinct files in context (mean):");
    for system in systems {
        let [a, b, c] = system.files_within;
        let _ = writeln!(out, "  {:<22} {a:>6.1} within 2k {b:>6.1} within 8k {c:>6.1} within 32k", system.name);
    }
}

/// 2. Test-time tokens to reach the raw baseline's recall.
fn reach(out: &mut String, reach: &[Reach]) {
    let _ = writeln!(
        out,
        "\n2. Test-time tokens to reach the raw baseline's recall (smallest budget, exact; ratio = raw's tokens / system's)"
    );
    for reach in reach {
        let _ = writeln!(
            out,
            "  raw recall within {}k = {:.1}%:",
            reach.baseline_budget / 1000,
            reach.target_recall * 100.0
        );
        for (s, name) in SYSTEMS.iter().enumerate() {
            let ratio = match reach.ratio[s] {
                _ if s == 0 => "  (the baseline's own smallest budget)".to_string(),
                Some(x) => format!("  {x:.1}× fewer"),
                None => String::new(),
            };
            let _ = writeln!(out, "    {name:<22} {:>12} tokens{ratio}", tokens(reach.tokens[s]));
        }
    }
    let _ = writeln!(out, "  (target: learned context reaches the baseline's recall with ≥ 5× fewer tokens)");
}

/// 3. Direct-answer latency.
fn latency(out: &mut String, latency: &[Latency]) {
    let _ = writeln!(out, "\n3. Direct answers — the asking flow with no model (ask::ask) (target p50/p99 ≤ 10 ms)");
    use Column::{Left, Right};
    let columns = [Left(42), Right(5), Right(7), Right(8), Right(8), Right(8), Right(14)];
    let header: [&dyn std::fmt::Display; 7] =
        [&"questions", &"asked", &"direct", &"p50 ms", &"p99 ms", &"max ms", &"fallback p50"];
    let _ = writeln!(out, "{}", table_row(&columns, &header));
    for l in latency {
        let (p50, p99, max, fallback) = (ms(l.p50_ms), ms(l.p99_ms), ms(l.max_ms), ms(l.fallback_p50_ms));
        let _ = writeln!(out, "{}", table_row(&columns, &[&l.kind, &l.asked, &l.direct, &p50, &p99, &max, &fallback]));
    }
    let _ = writeln!(
        out,
        "  (percentiles over the direct answers; questions that fell back to ranked context are timed separately)"
    );
}

/// 4. The amortization table.
fn amortization(out: &mut String, a: &Amortization) {
    let _ = writeln!(
        out,
        "\n4. Amortization (the paper's accounting, tokens per question; learned side: {})",
        a.learned_system
    );
    let _ = writeln!(out, "  basis: {}", a.basis);
    if let (Some(with), Some(without)) = (a.test_tokens_with_notes, a.test_tokens_without) {
        let _ = writeln!(
            out,
            "  sleep tokens per workspace {:.0} · test tokens per question: {with:.0} with learned context, {without:.0} with raw chunks",
            a.sleep_tokens_per_workspace
        );
        let _ =
            writeln!(out, "  {:>10} {:>8} {:>16} {:>16} {:>8}", "price", "N", "with notes", "test-time only", "saving");
        for row in &a.rows {
            let _ = writeln!(
                out,
                "  {:>9}× {:>8} {:>16.0} {:>16.0} {:>7.2}×",
                row.multiplier, row.queries, row.with_notes_per_query, row.test_only_per_query, row.saving
            );
        }
        if let Some(facts) = a.test_tokens_facts_only.filter(|_| a.sleep_tokens_per_workspace > 0.0) {
            let _ = writeln!(
                out,
                "  for reference, (b) facts alone at the same recall: {facts:.0} test tokens per question and no sleep \
                 tokens, {:.2}× fewer than raw chunks for any N and price",
                without / facts.max(1.0)
            );
        }
        for (multiplier, n) in a.break_even_queries.iter().filter(|_| a.sleep_tokens_per_workspace > 0.0) {
            let _ = writeln!(
                out,
                "  at {multiplier}× test-time price sleep-time compute pays from {} queries per workspace",
                n.map_or_else(|| "no number of".into(), |n| format!("{n:.2}"))
            );
        }
    }
}

/// 5. End-to-end answers (or why there are none).
fn end_to_end(out: &mut String, f: &Figures) {
    let _ = writeln!(out, "\n5. End to end with the local model (context budget {} tokens for both)", f.e2e_budget);
    match &f.e2e_skipped {
        Some(why) => {
            let _ = writeln!(out, "  skipped: {why}");
        }
        None => {
            use Column::{Left, Right};
            let columns = [Left(28), Left(15), Right(5), Right(8), Right(8), Right(6), Right(10), Right(5)];
            let header: [&dyn std::fmt::Display; 8] =
                [&"record", &"context", &"items", &"ctx tok", &"prompt", &"compl", &"latency s", &"gold"];
            let _ = writeln!(out, "{}", table_row(&columns, &header));
            for row in &f.e2e {
                let latency = format!("{:.1}", row.latency_ms / 1000.0);
                let gold = if row.gold_in_context { "yes" } else { "no" };
                let cells: [&dyn std::fmt::Display; 8] = [
                    &row.id,
                    &row.context,
                    &row.items,
                    &row.context_tokens,
                    &row.prompt_tokens,
                    &row.completion_tokens,
                    &latency,
                    &gold,
                ];
                let error = row.error.as_deref().map(|e| format!("  error: {e}")).unwrap_or_default();
                let _ = writeln!(out, "{}{error}", table_row(&columns, &cells));
            }
            for label in E2E_CONTEXTS {
                let rows: Vec<&E2eRow> = f.e2e.iter().filter(|e| e.context == label && e.error.is_none()).collect();
                if rows.is_empty() {
                    continue;
                }
                let _ = writeln!(
                    out,
                    "  mean {label:<15}: {:.0} prompt tokens, {:.1} s, gold in context {}/{}",
                    mean_of(rows.iter().map(|e| e.prompt_tokens as f64)),
                    mean_of(rows.iter().map(|e| e.latency_ms / 1000.0)),
                    rows.iter().filter(|e| e.gold_in_context).count(),
                    rows.len()
                );
            }
            let _ = writeln!(
                out,
                "  (prompt tokens as the model's tokenizer counts them, system prompt and question included)"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::amortize::{WorkspaceSleep, amortization};
    use crate::eval::figures::tests::record;
    use crate::eval::figures::{self, Timing};

    /// One record (gold `a.py`, 20 question tokens): raw chunks find it at 2,000 tokens, facts never,
    /// facts + notes at 100; its workspace spent 3,800 sleep tokens.
    fn sample(e2e_skipped: Option<String>, e2e: Vec<E2eRow>) -> Figures {
        let scored = [record("django", true, [&[("x.py", 1_500), ("a.py", 500)], &[("x.py", 10)], &[("a.py", 100)]])];
        let systems = figures::systems(&scored);
        let reach = figures::reach(&scored, &systems[0].overall);
        let timing = Timing { kind: "defined", question: "Where is A defined?".into(), ms: 0.5, direct: true };
        Figures {
            systems,
            reach,
            latency: figures::latency(&[timing], &["defined"]),
            amortization: amortization(&scored, &[WorkspaceSleep { notes: 5, sleep_tokens: 3_800 }]),
            e2e_skipped,
            e2e_budget: 2_000,
            e2e,
        }
    }

    fn e2e_row(context: &'static str, prompt_tokens: u64, latency_ms: f64, gold: bool, error: Option<&str>) -> E2eRow {
        E2eRow {
            id: "demo-1".into(),
            context,
            items: 3,
            context_tokens: 250,
            prompt_tokens,
            completion_tokens: 40,
            latency_ms,
            gold_in_context: gold,
            error: error.map(String::from),
        }
    }

    #[track_caller]
    fn assert_line(out: &str, line: &str) {
        assert!(out.lines().any(|l| l == line), "no line\n{line}\nin\n{out}");
    }

    #[test]
    fn quality_prints_percentages_per_system_and_project() {
        let out = render(&sample(Some("--e2e 0".into()), Vec::new()));
        assert!(out.starts_with("\n1. Retrieval quality"), "{out}");
        assert_line(&out, "  (a) raw BM25 chunks      0.0 100.0 100.0     0.0 100.0 100.0   100.0 100.0 100.0");
        assert_line(&out, "  (b) facts                0.0   0.0   0.0     0.0   0.0   0.0     0.0   0.0   0.0");
        assert_line(&out, "  django (1 records)");
        // The curve: raw has nothing within 0.5k or 1k, everything from 2k; its ranking takes 2,000 tokens.
        assert_line(
            &out,
            "  (a) raw BM25 chunks       0.0    0.0  100.0  100.0  100.0  100.0  100.0  100.0     100.0       2,000",
        );
        assert_line(&out, "  (a) raw BM25 chunks       2.0 within 2k    2.0 within 8k    2.0 within 32k");
    }

    #[test]
    fn reach_says_how_many_fewer_tokens_or_not_reached() {
        let out = render(&sample(Some("--e2e 0".into()), Vec::new()));
        assert_line(&out, "  raw recall within 2k = 100.0%:");
        assert_line(&out, "    (a) raw BM25 chunks           2,000 tokens  (the baseline's own smallest budget)");
        assert_line(&out, "    (b) facts               not reached tokens");
        assert_line(&out, "    (c) facts + notes               100 tokens  20.0× fewer");
    }

    #[test]
    fn latency_rows_show_milliseconds_or_a_dash() {
        let out = render(&sample(Some("--e2e 0".into()), Vec::new()));
        assert_line(
            &out,
            "  defined                                        1       1     0.50     0.50     0.50              —",
        );
    }

    #[test]
    fn amortization_prints_each_price_and_the_break_even() {
        let out = render(&sample(Some("--e2e 0".into()), Vec::new()));
        assert_line(
            &out,
            "4. Amortization (the paper's accounting, tokens per question; learned side: (c) facts + notes)",
        );
        assert_line(
            &out,
            "  sleep tokens per workspace 3800 · test tokens per question: 120 with learned context, 2020 with raw chunks",
        );
        // 1×, one query: 3,800 + 120 = 3,920 against 2,020 (0.52×); 10×, ten: 380 + 1,200 against 20,200.
        assert_line(&out, "          1×        1             3920             2020    0.52×");
        assert_line(&out, "         10×       10             1580            20200   12.78×");
        // 3,800 / (2,020 - 120) = 2 queries at 1×; 3,800 / 19,000 at 10×.
        assert_line(&out, "  at 1× test-time price sleep-time compute pays from 2.00 queries per workspace");
        assert_line(&out, "  at 10× test-time price sleep-time compute pays from 0.20 queries per workspace");
        // Facts never reach the baseline's recall: no reference line for them.
        assert!(!out.contains("for reference"), "{out}");
    }

    #[test]
    fn end_to_end_rows_and_means_leave_out_failed_answers() {
        let rows = vec![
            e2e_row("learned (c)", 300, 1_500.0, true, None),
            e2e_row("raw chunks (a)", 900, 3_000.0, false, None),
            e2e_row("raw chunks (a)", 0, 10.0, false, Some("timed out")),
        ];
        let out = render(&sample(None, rows));
        assert!(out.ends_with(
            "\n5. End to end with the local model (context budget 2000 tokens for both)\n\
             \x20 record                       context         items  ctx tok   prompt  compl  latency s  gold\n\
             \x20 demo-1                       learned (c)         3      250      300     40        1.5   yes\n\
             \x20 demo-1                       raw chunks (a)      3      250      900     40        3.0    no\n\
             \x20 demo-1                       raw chunks (a)      3      250        0     40        0.0    no  error: timed out\n\
             \x20 mean learned (c)    : 300 prompt tokens, 1.5 s, gold in context 1/1\n\
             \x20 mean raw chunks (a) : 900 prompt tokens, 3.0 s, gold in context 0/1\n\
             \x20 (prompt tokens as the model's tokenizer counts them, system prompt and question included)\n"
        ), "{out}");
        let skipped = render(&sample(Some("--e2e 0".into()), Vec::new()));
        assert!(skipped.ends_with("tokens for both)\n  skipped: --e2e 0\n"), "{skipped}");
    }
}
