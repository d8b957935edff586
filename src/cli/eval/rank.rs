//! `reverie eval --ranking` and `reverie eval --questions DIR`: how well reverie's first citations
//! point at the right code, beside the lexical baselines measured in the same run.
//!
//! Two question sets: the localization dev set (real bug reports, gold = the files their fix
//! changed; `--ranking`) and the natural-language set in `tests/questions/` (questions written by
//! reading eight projects in eight languages, gold = the 1–3 definitions a good answer cites;
//! `--questions DIR`, workspaces fetched by `tests/questions/fetch-workspaces.sh`).
//!
//! Systems, each a ranking of context items for a question:
//! - **whole-file BM25**: the anchor, the strongest plain baseline: every indexed file one document,
//!   identifier-aware terms, k1 1.2, b 0.75; prose files (`Language::is_prose`) are scored but not
//!   listed, since the gold is code (before reStructuredText had its own language, `.rst` files were
//!   plain text and left out this way; when it got one they entered the list and the anchor's Acc@5
//!   on the dev subset fell from 57.5 to 40.0);
//! - **chunk BM25**: 60-line windows of every file;
//! - **reverie**: what `reverie ask --no-llm` shows — a direct answer's citations when it gives one,
//!   else the fused context (`answer::candidates`, at most `MAX_PER_FILE` items per file);
//! - **ablations**: reverie with one channel switched off or alone (`answer::Rankers`).
//!
//! Figures per system (`crate::eval` does the arithmetic): file Acc@1/@5 (every gold file within the
//! first k distinct files), hit@5 (any), MRR of the first gold file, symbol hit@10 (a gold
//! definition's lines overlap one of the first 10 items; natural-language set only), recall within
//! 1k/2k/8k tokens (1k: about what a local model reads in its `llm.answer_time`), direct answers given and how many cite no gold file, and question latency.

use super::raw::RawChunks;
use crate::answer::{self, ContextItem, LearnedContext, Question, Rankers};
use crate::cli::semantic::Nearest;
use crate::cli::{Cli, Format};
use crate::eval::{self, Item};
use crate::snapshot::Snapshot;
use crate::tokens::estimate_tokens;
use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A gold definition of the natural-language set.
#[derive(Clone, Debug, Deserialize)]
pub struct GoldDefinition {
    pub path: String,
    pub symbol: String,
    /// 1-based first line.
    pub line: u32,
}

/// A question of the natural-language set (`tests/questions/<project>/questions.jsonl`).
#[derive(Clone, Debug, Deserialize)]
pub struct NlQuestion {
    pub id: String,
    /// The project (its workspace folder); the record's `language` field is for readers.
    pub project: String,
    pub kind: String,
    pub question: String,
    pub gold: Vec<GoldDefinition>,
}

/// One question to rank, from either set.
#[derive(Clone, Debug)]
pub struct Case {
    pub id: String,
    /// The project, for per-project figures.
    pub group: String,
    pub kind: String,
    pub question: String,
    pub gold_files: Vec<String>,
    pub gold_definitions: Vec<GoldDefinition>,
}

/// The systems measured, in report order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum System {
    WholeFile,
    Chunks,
    Reverie,
    Ablation(&'static str, Rankers),
    /// Ranked with the workspace's notes (the other rows rank without them); measured only when
    /// some workspace has notes.
    Learned(&'static str, Rankers),
}

impl System {
    fn label(self) -> String {
        match self {
            System::WholeFile => "whole-file BM25 (anchor)".into(),
            System::Chunks => "chunk BM25 (60 lines)".into(),
            System::Reverie => "reverie (ask --no-llm)".into(),
            System::Ablation(label, _) | System::Learned(label, _) => format!("  {label}"),
        }
    }
}

fn systems() -> Vec<System> {
    let all = Rankers::default();
    vec![
        System::WholeFile,
        System::Chunks,
        System::Reverie,
        System::Ablation("fused context, no direct answers", all),
        System::Ablation("without full text", Rankers { text: false, ..all }),
        System::Ablation("without facts BM25", Rankers { facts_bm25: false, ..all }),
        System::Ablation("without names", Rankers { names: false, ..all }),
        System::Ablation("without graph", Rankers { graph: false, ..all }),
        System::Ablation("without semantic", Rankers { semantic: false, ..all }),
        System::Ablation("full text alone", Rankers::only_text()),
        System::Ablation("semantic alone", Rankers::only_semantic()),
        System::Learned("with notes", all),
        System::Learned("notes alone", Rankers::only_notes()),
    ]
}

#[derive(Clone, Debug, Default, Serialize)]
struct Figures {
    system: String,
    questions: usize,
    acc1: f64,
    acc5: f64,
    hit5: f64,
    mrr: f64,
    symbol_hit10: Option<f64>,
    /// Within the in-process model's context here (`ask::fit_budget`: ~750 tokens measured).
    recall_local: f64,
    recall_1k: f64,
    recall_2k: f64,
    recall_8k: f64,
    direct: usize,
    direct_wrong: usize,
    p50_ms: Option<f64>,
    p99_ms: Option<f64>,
}

#[derive(Default)]
struct Tally {
    acc1: Vec<f64>,
    acc5: Vec<f64>,
    hit5: Vec<f64>,
    rr: Vec<f64>,
    symbol: Vec<f64>,
    r_local: Vec<f64>,
    r1k: Vec<f64>,
    r2k: Vec<f64>,
    r8k: Vec<f64>,
    direct: usize,
    direct_wrong: usize,
    ms: Vec<f64>,
}

impl Tally {
    fn figures(&self, system: String) -> Figures {
        let mean = |v: &[f64]| if v.is_empty() { 0.0 } else { v.iter().sum::<f64>() / v.len() as f64 };
        Figures {
            system,
            questions: self.acc1.len(),
            acc1: mean(&self.acc1),
            acc5: mean(&self.acc5),
            hit5: mean(&self.hit5),
            mrr: mean(&self.rr),
            symbol_hit10: (!self.symbol.is_empty()).then(|| mean(&self.symbol)),
            recall_local: mean(&self.r_local),
            recall_1k: mean(&self.r1k),
            recall_2k: mean(&self.r2k),
            recall_8k: mean(&self.r8k),
            direct: self.direct,
            direct_wrong: self.direct_wrong,
            p50_ms: eval::percentile(&self.ms, 50.0),
            p99_ms: eval::percentile(&self.ms, 99.0),
        }
    }
}

#[derive(Serialize)]
struct Report {
    set: String,
    /// The semantic channel's model, or why it is off.
    semantic: String,
    workspaces: usize,
    figures: Vec<Figures>,
    by_group: BTreeMap<String, Vec<Figures>>,
    by_kind: BTreeMap<String, Vec<Figures>>,
    misses: Vec<String>,
    /// reverie's direct (zero-token) answers, each judged against the gold.
    directs: Vec<String>,
}

/// Loads the natural-language set: every `<project>/questions.jsonl` under `dir`.
pub fn load_nl_questions(dir: &Path) -> Result<Vec<Case>> {
    let mut cases = Vec::new();
    let mut projects: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read the question folder {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("questions.jsonl").is_file())
        .collect();
    projects.sort();
    for project in projects {
        let file = project.join("questions.jsonl");
        let text = std::fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?;
        for (n, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
            let q: NlQuestion = serde_json::from_str(line)
                .with_context(|| format!("{}:{}: not a question record", file.display(), n + 1))?;
            let mut gold_files: Vec<String> = q.gold.iter().map(|g| g.path.clone()).collect();
            gold_files.dedup();
            cases.push(Case {
                id: q.id,
                group: q.project,
                kind: q.kind,
                question: q.question,
                gold_files,
                gold_definitions: q.gold,
            });
        }
    }
    anyhow::ensure!(!cases.is_empty(), "no questions under {}", dir.display());
    Ok(cases)
}

/// Ranks `cases` (grouped by workspace folder) with every system and prints the report.
pub fn run(
    cli: &Cli,
    set: &str,
    groups: Vec<(PathBuf, Vec<Case>)>,
    weights: &answer::Weights,
    format: Format,
) -> Result<()> {
    let systems = systems();
    let mut tallies = Tallies::new(systems.len());
    let workspaces = groups.len();
    let runtime = crate::cli::runtime()?;
    let mut semantic = Semantic::default();
    for (dir, cases) in groups {
        let workspace = Workspace::open(cli, &runtime, &dir, &mut semantic)?;
        tallies.with_notes |= !workspace.learned.is_empty();
        eprintln!(
            "reverie eval: {}: {} files, indexes built in {:.1} s, {} question(s)",
            dir.display(),
            workspace.snapshot.files.len(),
            workspace.built_in.as_secs_f64(),
            cases.len()
        );
        for case in &cases {
            workspace.rank_case(&runtime, &systems, case, weights, &mut tallies);
        }
    }
    let report = tallies.report(set, &systems, semantic.note(weights), workspaces);
    match format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&report)?),
        Format::Text => print!("{}", render(&report)),
    }
    Ok(())
}

/// The semantic channel: the embedder of the first workspace's configuration (`[embed]`), kept for
/// every workspace, and what the report says of it.
struct Semantic {
    embedder: Option<Option<Arc<dyn crate::embed::Embedder>>>,
    note: String,
}

impl Default for Semantic {
    fn default() -> Semantic {
        Semantic { embedder: None, note: String::from("semantic channel: off (no embedder)") }
    }
}

impl Semantic {
    /// The report's line on the semantic channel, with the weights when they are not the built-in ones.
    fn note(&self, weights: &answer::Weights) -> String {
        let note = &self.note;
        if *weights == answer::WEIGHTS { note.clone() } else { format!("{note}; {weights:?}") }
    }
}

/// One workspace, indexed, with what every system ranks from.
struct Workspace {
    snapshot: Arc<Snapshot>,
    text_index: Arc<crate::search::TextIndex>,
    chunks: RawChunks,
    learned: LearnedContext,
    /// The semantic index, when there is an embedder.
    nearest: Option<Nearest>,
    /// The time the indexes took after the snapshot was loaded.
    built_in: Duration,
}

impl Workspace {
    /// Indexes `dir` (into the usual cache), builds every system's index, and brings the workspace's
    /// vectors up to date (cached in its store).
    fn open(cli: &Cli, runtime: &tokio::runtime::Runtime, dir: &Path, channel: &mut Semantic) -> Result<Workspace> {
        let root = crate::cli::workspace_root(dir)?;
        let config = crate::cli::load_config(&root);
        let roots = vec![root.clone()];
        let store = crate::cli::open_store(cli, &roots)?;
        crate::cli::index::index_with_progress(&store, &roots, &config)?;
        let snapshot = Arc::new(crate::index::snapshot(&store)?);
        let started = Instant::now();
        let text_index = snapshot.text_index();
        snapshot.facts_index();
        let chunks = RawChunks::build(&root, &snapshot, config.index.max_file_size);
        let learned = LearnedContext::new(crate::sleep::NoteStore::notes(&store)?, &snapshot);
        let embedder = channel.embedder.get_or_insert_with(|| crate::cli::semantic::embedder(cli, &config)).clone();
        let nearest = match embedder {
            Some(embedder) => {
                let passages = learned.embedding_items();
                let report =
                    crate::cli::semantic::update(runtime, &store, &snapshot, &root, &config, &*embedder, &passages)?;
                let nearest = Nearest::load(&store, &snapshot, Some(&learned), embedder.clone())?;
                eprintln!(
                    "reverie eval: {}: {} definitions and passages embedded now in {:.1} s; {} of {} definitions and {} of {} note passages have a vector",
                    dir.display(),
                    report.embedded,
                    report.elapsed.as_secs_f64(),
                    nearest.index.len(),
                    nearest.index.definitions(),
                    nearest.index.passages(),
                    passages.len()
                );
                channel.note = format!("semantic channel: {}", embedder.model_id());
                Some(nearest)
            }
            None => None,
        };
        Ok(Workspace { snapshot, text_index, chunks, learned, nearest, built_in: started.elapsed() })
    }

    /// Ranks `case` with every system, scores each ranking and adds it to `tallies`.
    fn rank_case(
        &self,
        runtime: &tokio::runtime::Runtime,
        systems: &[System],
        case: &Case,
        weights: &answer::Weights,
        tallies: &mut Tallies,
    ) {
        let terms = crate::terms::tokenize(&case.question);
        // Embedding the question is part of reverie's latency.
        let started = Instant::now();
        let nearby = self.nearest.as_ref().map(|n| runtime.block_on(n.search(&case.question))).unwrap_or_default();
        let embed_ms = started.elapsed().as_secs_f64() * 1000.0;
        for (s, system) in systems.iter().enumerate() {
            let question = Question {
                text: case.question.clone(),
                budget: usize::MAX,
                semantic: nearby.definitions.clone(),
                semantic_notes: nearby.passages.clone(),
                ..Question::default()
            };
            let started = Instant::now();
            let (ranking, direct) = self.rank(*system, &terms, case, &question, weights);
            let semantic = !nearby.definitions.is_empty() || !nearby.passages.is_empty();
            let uses_semantic = match system {
                System::Reverie => semantic,
                System::Ablation(_, rankers) | System::Learned(_, rankers) => {
                    (rankers.semantic || rankers.notes) && semantic
                }
                _ => false,
            };
            let ms = started.elapsed().as_secs_f64() * 1000.0 + if uses_semantic { embed_ms } else { 0.0 };
            let outcome = measure(&self.snapshot, case, &ranking);
            if *system == System::Reverie {
                tallies.note_reverie(case, &ranking, &outcome, direct);
            }
            tallies.add(s, case, &outcome, direct, ms);
        }
    }

    /// `system`'s ranking for `question`, and whether it is a direct answer's.
    fn rank(
        &self,
        system: System,
        terms: &[String],
        case: &Case,
        question: &Question,
        weights: &answer::Weights,
    ) -> (Vec<ContextItem>, bool) {
        let snapshot = &self.snapshot;
        match system {
            System::WholeFile => (whole_file_items(snapshot, &self.text_index.rank_files(terms, usize::MAX)), false),
            System::Chunks => (answer::select(self.chunks.ranking(&case.question), usize::MAX), false),
            System::Reverie => match answer::structural(snapshot, question) {
                Some(direct) => (direct.context, true),
                None => (
                    answer::select(
                        answer::candidates_weighted(snapshot, None, question, Rankers::default(), weights),
                        usize::MAX,
                    ),
                    false,
                ),
            },
            System::Ablation(_, rankers) => (
                answer::select(answer::candidates_weighted(snapshot, None, question, rankers, weights), usize::MAX),
                false,
            ),
            System::Learned(_, rankers) => (
                answer::select(
                    answer::candidates_weighted(snapshot, Some(&self.learned), question, rankers, weights),
                    usize::MAX,
                ),
                false,
            ),
        }
    }
}

/// Every system's tallies, overall, per project and per question kind, and reverie's misses and
/// direct answers.
struct Tallies {
    systems: usize,
    /// Some workspace has notes (else the rows with notes are left out).
    with_notes: bool,
    totals: Vec<Tally>,
    by_group: BTreeMap<String, Vec<Tally>>,
    by_kind: BTreeMap<String, Vec<Tally>>,
    misses: Vec<String>,
    directs: Vec<String>,
}

impl Tallies {
    fn new(systems: usize) -> Tallies {
        Tallies {
            systems,
            with_notes: false,
            totals: (0..systems).map(|_| Tally::default()).collect(),
            by_group: BTreeMap::new(),
            by_kind: BTreeMap::new(),
            misses: Vec::new(),
            directs: Vec::new(),
        }
    }

    /// Keeps reverie's direct answer on `case`, judged, or its miss at Acc@5.
    fn note_reverie(&mut self, case: &Case, ranking: &[ContextItem], outcome: &Outcome, direct: bool) {
        if direct {
            let listed = items(ranking);
            let cited: Vec<&str> = eval::distinct_files(&listed).into_iter().take(5).collect();
            let verdict = if outcome.any_gold { "right" } else { "WRONG" };
            self.directs
                .push(format!("{} [{}] {verdict}: cites {cited:?}, gold {:?}", case.id, case.kind, case.gold_files));
        }
        if outcome.acc5 < 1.0 {
            let listed = items(ranking);
            let shown: Vec<&str> = eval::distinct_files(&listed).into_iter().take(5).collect();
            let gold: Vec<String> = if case.gold_definitions.is_empty() {
                case.gold_files.clone()
            } else {
                case.gold_definitions.iter().map(|g| format!("{}:{} {}", g.path, g.line, g.symbol)).collect()
            };
            self.misses.push(format!("{} [{}]: gold {gold:?}, shown {shown:?}", case.id, case.kind));
        }
    }

    /// Adds system `s`'s `outcome` on `case` (a direct answer's or not, in `ms`) overall, to its
    /// project and to its kind.
    fn add(&mut self, s: usize, case: &Case, outcome: &Outcome, direct: bool, ms: f64) {
        let systems = self.systems;
        let group =
            self.by_group.entry(case.group.clone()).or_insert_with(|| (0..systems).map(|_| Tally::default()).collect());
        let kind =
            self.by_kind.entry(case.kind.clone()).or_insert_with(|| (0..systems).map(|_| Tally::default()).collect());
        for tally in [&mut self.totals[s], &mut group[s], &mut kind[s]] {
            outcome.add_to(tally, direct, ms);
        }
    }

    /// The report of `set`, one row per system shown.
    fn report(self, set: &str, systems: &[System], semantic: String, workspaces: usize) -> Report {
        let labels: Vec<String> = systems.iter().map(|s| s.label()).collect();
        // Rows with notes say nothing when no workspace has any.
        let shown: Vec<bool> = systems.iter().map(|s| self.with_notes || !matches!(s, System::Learned(..))).collect();
        let figures = |tallies: &[Tally]| -> Vec<Figures> {
            tallies
                .iter()
                .zip(&labels)
                .zip(&shown)
                .filter(|(_, shown)| **shown)
                .map(|((t, l), _)| t.figures(l.clone()))
                .collect()
        };
        Report {
            set: set.to_string(),
            semantic,
            workspaces,
            figures: figures(&self.totals),
            by_group: self.by_group.iter().map(|(g, t)| (g.clone(), figures(t))).collect(),
            by_kind: self.by_kind.iter().map(|(k, t)| (k.clone(), figures(t))).collect(),
            misses: self.misses,
            directs: self.directs,
        }
    }
}

/// Whole-file BM25's ranking as context items: each source file whole (tokens = bytes / 4, as the
/// anchor counts). Documentation and text files without a grammar, which the walk also keeps, are
/// not source files and not part of the anchor.
fn whole_file_items(snapshot: &Snapshot, files: &[(Arc<str>, f64)]) -> Vec<ContextItem> {
    files
        .iter()
        .filter_map(|(key, score)| {
            let facts = snapshot.files.get(key)?;
            if facts.language.is_prose() {
                return None;
            }
            Some(ContextItem {
                path: key.to_string(),
                start_line: 1,
                end_line: facts.line_count.max(1),
                kind: answer::ItemKind::Chunk,
                score: *score,
                tokens: (facts.byte_len as usize / 4).max(1),
                reason: String::new(),
                text: String::new(),
                stale: false,
            })
        })
        .collect()
}

fn items(ranking: &[ContextItem]) -> Vec<Item> {
    ranking.iter().map(|i| Item { path: i.path.clone(), tokens: i.tokens.max(estimate_tokens(&i.text)) }).collect()
}

struct Outcome {
    acc1: f64,
    acc5: f64,
    hit5: f64,
    rr: f64,
    symbol: Option<f64>,
    r_local: f64,
    r1k: f64,
    r2k: f64,
    r8k: f64,
    any_gold: bool,
}

impl Outcome {
    fn add_to(&self, tally: &mut Tally, direct: bool, ms: f64) {
        tally.acc1.push(self.acc1);
        tally.acc5.push(self.acc5);
        tally.hit5.push(self.hit5);
        tally.rr.push(self.rr);
        if let Some(symbol) = self.symbol {
            tally.symbol.push(symbol);
        }
        tally.r_local.push(self.r_local);
        tally.r1k.push(self.r1k);
        tally.r2k.push(self.r2k);
        tally.r8k.push(self.r8k);
        if direct {
            tally.direct += 1;
            if !self.any_gold {
                tally.direct_wrong += 1;
            }
        }
        tally.ms.push(ms);
    }
}

/// The context the in-process model gets on this machine (`ask::fit_budget` sizes it to
/// `llm.answer_time`: 732–738 tokens measured with SmolLM2-135M on 2 cores, Flask, whole asks
/// 5.9–8.6 s). Its recall is that of `answer::select` at this budget — the items the model is sent —
/// where R@1k and beyond walk the ranking.
const LOCAL_CONTEXT_TOKENS: usize = 750;

fn measure(snapshot: &Snapshot, case: &Case, ranking: &[ContextItem]) -> Outcome {
    let items = items(ranking);
    let files = eval::distinct_files(&items);
    let gold = &case.gold_files;
    let rr = files.iter().position(|f| gold.iter().any(|g| g == f)).map_or(0.0, |p| 1.0 / (p as f64 + 1.0));
    let symbol = (!case.gold_definitions.is_empty()).then(|| {
        let spans: Vec<(&str, u32, u32)> = case
            .gold_definitions
            .iter()
            .map(|g| {
                let end = snapshot
                    .files
                    .get(g.path.as_str())
                    .and_then(|f| f.definitions.iter().find(|d| d.span.start.line + 1 == g.line))
                    .map_or(g.line, |d| d.span.end.line + 1);
                (g.path.as_str(), g.line, end)
            })
            .collect();
        let hit = ranking.iter().take(10).any(|item| {
            spans
                .iter()
                .any(|(path, start, end)| item.path == *path && item.start_line <= *end && *start <= item.end_line)
        });
        if hit { 1.0 } else { 0.0 }
    });
    Outcome {
        acc1: eval::all_gold_at(&files, gold, 1),
        acc5: eval::all_gold_at(&files, gold, 5),
        hit5: if files.iter().take(5).any(|f| gold.iter().any(|g| g == f)) { 1.0 } else { 0.0 },
        rr,
        symbol,
        r_local: eval::budget_recall(
            &self::items(&answer::select(ranking.to_vec(), LOCAL_CONTEXT_TOKENS)),
            gold,
            LOCAL_CONTEXT_TOKENS,
        ),
        r1k: eval::budget_recall(&items, gold, 1_000),
        r2k: eval::budget_recall(&items, gold, 2_000),
        r8k: eval::budget_recall(&items, gold, 8_000),
        any_gold: files.iter().any(|f| gold.iter().any(|g| g == f)),
    }
}

fn pct(x: f64) -> String {
    format!("{:5.1}", x * 100.0)
}

fn table(out: &mut String, rows: &[Figures]) {
    let _ = writeln!(
        out,
        "| system | n | Acc@1 | Acc@5 | hit@5 | MRR | sym@10 | R@0.75k | R@1k | R@2k | R@8k | direct (wrong) | p50 ms | p99 ms |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
    );
    for f in rows {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {:.3} | {} | {} | {} | {} | {} | {} ({}) | {} | {} |",
            f.system,
            f.questions,
            pct(f.acc1),
            pct(f.acc5),
            pct(f.hit5),
            f.mrr,
            f.symbol_hit10.map_or("–".into(), pct),
            pct(f.recall_local),
            pct(f.recall_1k),
            pct(f.recall_2k),
            pct(f.recall_8k),
            f.direct,
            f.direct_wrong,
            f.p50_ms.map_or("–".into(), |m| format!("{m:.1}")),
            f.p99_ms.map_or("–".into(), |m| format!("{m:.1}")),
        );
    }
}

fn render(report: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# Ranking: {} ({} workspaces; {})\n", report.set, report.workspaces, report.semantic);
    table(&mut out, &report.figures);
    if let (Some(anchor), Some(ours)) = (report.figures.first(), report.figures.get(2)) {
        let _ = writeln!(
            out,
            "\nreverie vs the anchor (whole-file BM25, same run): Acc@5 {:+.1} points, hit@5 {:+.1}, MRR {:+.3}",
            (ours.acc5 - anchor.acc5) * 100.0,
            (ours.hit5 - anchor.hit5) * 100.0,
            ours.mrr - anchor.mrr
        );
    }
    for (title, groups) in [("project", &report.by_group), ("question kind", &report.by_kind)] {
        let _ = writeln!(out, "\n## By {title} (anchor, chunks, reverie)\n");
        let _ = writeln!(
            out,
            "| {title} | n | Acc@5 anchor | Acc@5 chunks | Acc@5 reverie | hit@5 anchor | hit@5 reverie |\n|---|---|---|---|---|---|---|"
        );
        for (name, rows) in groups {
            let _ = writeln!(
                out,
                "| {name} | {} | {} | {} | {} | {} | {} |",
                rows[0].questions,
                pct(rows[0].acc5),
                pct(rows[1].acc5),
                pct(rows[2].acc5),
                pct(rows[0].hit5),
                pct(rows[2].hit5)
            );
        }
    }
    if !report.directs.is_empty() {
        let _ = writeln!(out, "\n## reverie's direct answers\n");
        for direct in &report.directs {
            let _ = writeln!(out, "- {direct}");
        }
    }
    if !report.misses.is_empty() {
        let _ = writeln!(out, "\n## reverie's misses at Acc@5\n");
        for miss in &report.misses {
            let _ = writeln!(out, "- {miss}");
        }
    }
    out
}
