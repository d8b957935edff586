//! `reverie eval --ranking` and `reverie eval --questions DIR`: how well reverie's first citations
//! point at the right code, beside the lexical baselines measured in the same run.
//!
//! Two question sets: the localization dev set (real bug reports, gold = the files their fix
//! changed; `--ranking`) and the natural-language set in `tests/questions/` (questions written by
//! reading eight projects in eight languages, gold = the 1–3 definitions a good answer cites;
//! `--questions DIR`, workspaces fetched by `tests/questions/fetch-workspaces.sh`).
//!
//! Systems, each a ranking of context items for a question:
//! - **whole-file BM25**: the anchor (`shared/guide/benchmarks.md`): every indexed file one document,
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

use super::workspace::{Channels, Prepared, Workspace};
use crate::answer::{self, ContextItem, Question, Rankers};
use crate::cli::{Cli, Format};
use crate::eval::tables::pct;
use crate::eval::{self, Item};
use crate::snapshot::Snapshot;
use crate::tokens::estimate_tokens;
use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

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
    /// Ask at this commit: the workspace is a git working copy whose HEAD moves there first, and
    /// the past-changes channel sees the commits reachable from it (`eval --ranking --checkouts`).
    pub base_commit: Option<String>,
}

/// The systems measured, in report order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum System {
    WholeFile,
    Chunks,
    /// The baselines of `shared/guide/benchmarks.md` (`eval/baselines.rs`).
    EveryFile,
    CodeFiles,
    NamedThenCode,
    Reverie,
    Ablation(&'static str, Rankers),
    /// Ranked with the workspace's notes (the other rows rank without them); measured only when
    /// some workspace has notes.
    Learned(&'static str, Rankers),
    /// Every channel, fused otherwise: `REVERIE_EVAL_VARIANTS`'s n-th variant (`Variant`).
    Tuned(usize),
    /// Every channel, without the file stage (`answer::retrieve::file_stage`): the fusion as it was
    /// before it.
    OneStage,
    /// The semantic channel searched through the adapter the project adopted (the other rows search
    /// the space answers use: the base model's unless `REVERIE_ADAPTER=on`).
    Adapted(&'static str, Rankers),
}

impl System {
    fn label(self) -> String {
        match self {
            System::WholeFile => "whole-file BM25 (anchor)".into(),
            System::Chunks => "chunk BM25 (60 lines)".into(),
            System::EveryFile => "BM25, every file (baseline 1)".into(),
            System::CodeFiles => "BM25, code files (baseline 2)".into(),
            System::NamedThenCode => "named files, then BM25 code files (baseline 3)".into(),
            System::Reverie => "reverie (ask --no-llm)".into(),
            System::Ablation(label, _) | System::Learned(label, _) | System::Adapted(label, _) => {
                format!("  {label}")
            }
            System::Tuned(n) => format!("  variant {n}"),
            System::OneStage => "  without the file stage".into(),
        }
    }
}

/// The strongest plain baseline: what every gain is judged against.
const STRONGEST: System = System::NamedThenCode;

/// Another way to fuse, for tuning on the dev set in one run: `REVERIE_EVAL_VARIANTS` holds
/// variants separated by `;`, each `name=value` pairs separated by `,` — any channel weight of
/// `answer::Weights` (`history=3,files_semantic=0.75`), or the past-changes channel's voting:
/// `commits`, `damping`, `max_files` (`search::Voting`).
#[derive(Clone, Debug)]
struct Variant {
    text: String,
    /// Weight overrides (`answer::Weights::overridden`), checked when parsed.
    weights: String,
    voting: crate::search::Voting,
}

fn variants() -> Result<Vec<Variant>> {
    let Ok(spec) = std::env::var("REVERIE_EVAL_VARIANTS") else { return Ok(Vec::new()) };
    let mut variants = Vec::new();
    for text in spec.split(';').map(str::trim).filter(|t| !t.is_empty()) {
        let mut variant = Variant { text: text.to_string(), weights: String::new(), voting: crate::search::VOTING };
        let mut weights = Vec::new();
        for pair in text.split(',') {
            let (name, value) =
                pair.split_once('=').with_context(|| format!("REVERIE_EVAL_VARIANTS: `{pair}` is not name=value"))?;
            let value: f64 =
                value.trim().parse().with_context(|| format!("REVERIE_EVAL_VARIANTS: `{value}` is not a number"))?;
            match name.trim() {
                "commits" => variant.voting.commits = value as usize,
                "damping" => variant.voting.damping = value,
                "max_files" => variant.voting.max_files = value as u32,
                _ => weights.push(pair.trim()),
            }
        }
        variant.weights = weights.join(",");
        answer::WEIGHTS.overridden(&variant.weights).map_err(|e| anyhow::anyhow!("REVERIE_EVAL_VARIANTS: {e}"))?;
        variants.push(variant);
    }
    Ok(variants)
}

fn systems(chunks: bool) -> Vec<System> {
    let all = Rankers::default();
    let index_only = Rankers { semantic: false, history: false, notes: false, ..all };
    let mut systems = vec![System::WholeFile];
    if chunks {
        systems.push(System::Chunks);
    }
    systems.extend([
        System::EveryFile,
        System::CodeFiles,
        System::NamedThenCode,
        System::Reverie,
        System::Ablation("fused context, no direct answers", all),
        System::Ablation("index only", index_only),
        System::Ablation("index + semantic", Rankers { semantic: true, ..index_only }),
        System::Adapted("index + semantic + adapter", Rankers { semantic: true, ..index_only }),
        System::Ablation("index + history", Rankers { history: true, ..index_only }),
        System::Ablation("without full text", Rankers { text: false, ..all }),
        System::Ablation("without facts BM25", Rankers { facts_bm25: false, ..all }),
        System::Ablation("without names", Rankers { names: false, ..all }),
        System::Ablation("without semantic", Rankers { semantic: false, ..all }),
        System::Ablation("without history", Rankers { history: false, ..all }),
        System::OneStage,
        System::Adapted("with adapter", all),
        System::Ablation("full text alone", Rankers::only_text()),
        System::Ablation("semantic alone", Rankers::only_semantic()),
        System::Adapted("semantic + adapter alone", Rankers::only_semantic()),
        System::Ablation("history alone", Rankers::only_history()),
        System::Learned("with notes", all),
        System::Learned("notes alone", Rankers::only_notes()),
    ]);
    systems
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
    /// Against the strongest plain baseline, record by record: (right here and wrong there, wrong
    /// here and right there) at Acc@5 and Acc@1, with the exact McNemar p of each.
    vs_strongest_acc5: (usize, usize, f64),
    vs_strongest_acc1: (usize, usize, f64),
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
    fn figures(&self, system: String, strongest: &Tally) -> Figures {
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
            vs_strongest_acc5: mcnemar(&self.acc5, &strongest.acc5),
            vs_strongest_acc1: mcnemar(&self.acc1, &strongest.acc1),
        }
    }
}

/// Records right in `ours` and wrong in `theirs`, the reverse, and the exact two-sided McNemar p
/// (binomial with p = ½ over the discordant records).
fn mcnemar(ours: &[f64], theirs: &[f64]) -> (usize, usize, f64) {
    let gained = ours.iter().zip(theirs).filter(|(o, t)| **o >= 1.0 && **t < 1.0).count();
    let lost = ours.iter().zip(theirs).filter(|(o, t)| **o < 1.0 && **t >= 1.0).count();
    (gained, lost, exact_mcnemar_p(gained, lost))
}

fn exact_mcnemar_p(gained: usize, lost: usize) -> f64 {
    let n = gained + lost;
    if n == 0 {
        return 1.0;
    }
    let k = gained.min(lost);
    // P(X <= k) for X ~ Binomial(n, 1/2), in logs so large n does not overflow.
    let ln_choose = |n: usize, k: usize| -> f64 { (1..=k).map(|i| ((n - k + i) as f64).ln() - (i as f64).ln()).sum() };
    let tail: f64 = (0..=k).map(|i| (ln_choose(n, i) - n as f64 * std::f64::consts::LN_2).exp()).sum();
    (2.0 * tail).min(1.0)
}

#[derive(Serialize)]
struct Report {
    set: String,
    /// The semantic channel's model, or why it is off.
    semantic: String,
    /// Where the past-changes channel's commits came from, and what mining them cost.
    history: String,
    /// What the adapter's passes fitted and adopted.
    adapter: String,
    /// The row every gain is judged against.
    strongest: String,
    /// What each "variant" row ran with.
    variants: Vec<String>,
    workspaces: usize,
    #[serde(flatten)]
    measured: Breakdown<Figures>,
}

/// Per system, a `T` over every question, per project (`Case::group`) and per question kind; and
/// reverie's direct answers and misses at Acc@5, said in words.
#[derive(Serialize)]
struct Breakdown<T> {
    figures: Vec<T>,
    by_group: BTreeMap<String, Vec<T>>,
    by_kind: BTreeMap<String, Vec<T>>,
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
                base_commit: None,
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
    let with_history = groups.iter().any(|(_, cases)| cases.iter().any(|c| c.base_commit.is_some()));
    // Chunk BM25 re-reads every file: measured on the sdists, not at each base commit.
    let mut list = systems(!with_history);
    let variants = variants()?;
    list.extend((0..variants.len()).map(System::Tuned));
    // `REVERIE_EVAL_DUMP=FILE`: each question's first 50 files per system and their change records,
    // one JSON line per question, for studying the fusion offline.
    let dump = match std::env::var_os("REVERIE_EVAL_DUMP") {
        Some(path) => Some(std::cell::RefCell::new(std::io::BufWriter::new(
            std::fs::File::create(&path).with_context(|| format!("REVERIE_EVAL_DUMP: cannot create {path:?}"))?,
        ))),
        None => None,
    };
    let systems = Systems { list, variants, weights, dump };
    let mut tallies = Tallies::new(systems.list.len());
    let mut channels = Channels::new(with_history);
    let workspaces = groups.len();
    let runtime = crate::cli::runtime()?;
    for (dir, cases) in groups {
        let mut workspace = Workspace::open(cli, &dir, with_history)?;
        let mut at: Option<(Option<String>, Prepared)> = None;
        for case in &cases {
            if at.as_ref().is_none_or(|(base, _)| *base != case.base_commit) {
                let here = cases.iter().filter(|c| c.base_commit == case.base_commit).count();
                let prepared = channels.prepare(cli, &runtime, &mut workspace, case.base_commit.as_deref(), here)?;
                at = Some((case.base_commit.clone(), prepared));
            }
            let Some((_, prepared)) = &at else { continue };
            systems.rank_case(&runtime, prepared, case, &mut tallies);
        }
    }
    let report = tallies.report(set, &systems, &channels, workspaces);
    match format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&report)?),
        Format::Text => print!("{}", render(&report)),
    }
    Ok(())
}

/// What every question of a run is ranked with: the systems in report order, the variants
/// of `System::Tuned` and the fusion weights.
struct Systems<'a> {
    list: Vec<System>,
    variants: Vec<Variant>,
    weights: &'a answer::Weights,
    dump: Option<std::cell::RefCell<std::io::BufWriter<std::fs::File>>>,
}

impl Systems<'_> {
    /// Ranks `case` with every system and adds what each scored to `tallies`.
    fn rank_case(&self, runtime: &tokio::runtime::Runtime, prepared: &Prepared, case: &Case, tallies: &mut Tallies) {
        let Prepared { snapshot, nearest, past, .. } = prepared;
        let terms = crate::terms::tokenize(&case.question);
        let text_index = snapshot.text_index();
        // Embedding the question and searching the history are part of reverie's latency.
        let started = Instant::now();
        let vector = nearest.as_ref().and_then(|n| Some((n, runtime.block_on(n.question_vector(&case.question))?)));
        let adapted = vector.as_ref().map(|(n, v)| n.index.nearby(v)).unwrap_or_default();
        let embed_ms = started.elapsed().as_secs_f64() * 1000.0;
        let base = vector.as_ref().map(|(n, v)| n.index.nearby_base(v)).unwrap_or_default();
        // The rows rank in the space answers use, but for the adapter's own rows.
        let answered = if crate::embed::adapter::questions_go_through_it() { &adapted } else { &base };
        let started = Instant::now();
        let past_files = past.as_ref().map(|p| p.for_question(&case.question)).unwrap_or_default();
        let past_ms = started.elapsed().as_secs_f64() * 1000.0;
        let tuned: Vec<Vec<crate::search::PastFile>> = self
            .variants
            .iter()
            .map(|v| {
                past.as_ref().map(|p| p.files(&terms, &v.voting, crate::search::QUESTION_FILES)).unwrap_or_default()
            })
            .collect();
        let mut dumped: Vec<(String, Vec<(String, f64)>)> = Vec::new();
        for (s, system) in self.list.iter().enumerate() {
            let nearby = if matches!(system, System::Adapted(..)) { &adapted } else { answered };
            let question = Question {
                text: case.question.clone(),
                budget: usize::MAX,
                semantic: nearby.definitions.clone(),
                semantic_notes: nearby.passages.clone(),
                past: match system {
                    System::Tuned(n) => tuned[*n].clone(),
                    _ => past_files.clone(),
                },
                ..Question::default()
            };
            let started = Instant::now();
            let (ranking, direct) = self.ranking(*system, prepared, case, &question, &terms, &text_index);
            let semantic = !nearby.definitions.is_empty() || !nearby.passages.is_empty();
            let rankers = match system {
                System::Reverie | System::Tuned(_) | System::OneStage => Some(Rankers::default()),
                System::Ablation(_, rankers) | System::Learned(_, rankers) | System::Adapted(_, rankers) => {
                    Some(*rankers)
                }
                _ => None,
            };
            let extra = rankers.map_or(0.0, |r| {
                let embedded = if (r.semantic || r.notes) && semantic { embed_ms } else { 0.0 };
                embedded + if r.history { past_ms } else { 0.0 }
            });
            let ms = started.elapsed().as_secs_f64() * 1000.0 + extra;
            let outcome = measure(snapshot, case, &ranking);
            if *system == System::Reverie {
                tallies.note_reverie(case, &ranking, &outcome, direct);
            }
            if self.dump.is_some() {
                // Each file once, with its best item's fused score (items come best first).
                let mut files: Vec<(String, f64)> = Vec::new();
                for item in &ranking {
                    if files.len() < 50 && !files.iter().any(|(f, _)| *f == item.path) {
                        files.push((item.path.clone(), item.score));
                    }
                }
                dumped.push((system.label().trim().to_string(), files));
            }
            tallies.add(s, case, &outcome, direct, ms);
        }
        if let Some(dump) = &self.dump {
            let mut files: Vec<&String> = dumped.iter().flat_map(|(_, f)| f.iter().map(|(f, _)| f)).collect();
            files.sort();
            files.dedup();
            let history: BTreeMap<&String, (u32, u32, u32)> = match past {
                Some(p) => files.into_iter().filter_map(|f| Some((f, p.change_record(f)?))).collect(),
                None => BTreeMap::new(),
            };
            let line = serde_json::json!({
                "id": case.id, "group": case.group, "gold": case.gold_files,
                "commits": past.as_ref().map_or(0, |p| p.len()),
                "lists": dumped.iter().cloned().collect::<BTreeMap<String, Vec<(String, f64)>>>(),
                "history": history,
                // The past-changes channel's own votes (the fused scores hide them: RRF gives its top
                // files nearly equal bonuses).
                "votes": past_files.iter().take(20).map(|p| (p.file.as_str(), p.score)).collect::<Vec<_>>(),
            });
            let _ = writeln!(dump.borrow_mut(), "{line}");
        }
    }

    /// `system`'s ranking for `question` (`case`'s, with `terms` its words), and whether it is a
    /// direct answer's citations.
    fn ranking(
        &self,
        system: System,
        prepared: &Prepared,
        case: &Case,
        question: &Question,
        terms: &[String],
        text_index: &crate::search::TextIndex,
    ) -> (Vec<ContextItem>, bool) {
        let Prepared { snapshot, chunks, baselines, learned, .. } = prepared;
        let fused = |learned: Option<&crate::answer::LearnedContext>, rankers: Rankers| {
            answer::select(answer::candidates_weighted(snapshot, learned, question, rankers, self.weights), usize::MAX)
        };
        match system {
            System::WholeFile => (whole_file_items(snapshot, &text_index.rank_files(terms, usize::MAX)), false),
            System::Chunks => match chunks {
                Some(chunks) => (answer::select(chunks.ranking(&case.question), usize::MAX), false),
                None => (Vec::new(), false),
            },
            System::EveryFile => (baselines.every_file(snapshot, &case.question), false),
            System::CodeFiles => (baselines.code_files(snapshot, &case.question), false),
            System::NamedThenCode => (baselines.named_then_code(snapshot, &case.question), false),
            System::Reverie => match answer::structural(snapshot, question) {
                Some(direct) => (direct.context, true),
                None => (fused(None, Rankers::default()), false),
            },
            System::Ablation(_, rankers) | System::Adapted(_, rankers) => (fused(None, rankers), false),
            System::Learned(_, rankers) => (fused(Some(learned), rankers), false),
            System::OneStage => {
                let weights =
                    answer::Weights { files_semantic: 0.0, files_text: 0.0, files_history: 0.0, ..*self.weights };
                let candidates = answer::candidates_weighted(snapshot, None, question, Rankers::default(), &weights);
                (answer::select(candidates, usize::MAX), false)
            }
            System::Tuned(n) => {
                let weights = self.weights.overridden(&self.variants[n].weights).expect("checked when parsed");
                let candidates = answer::candidates_weighted(snapshot, None, question, Rankers::default(), &weights);
                (answer::select(candidates, usize::MAX), false)
            }
        }
    }
}

/// A run's tallies, one per system (of `systems`).
struct Tallies {
    systems: usize,
    tallies: Breakdown<Tally>,
}

impl Tallies {
    fn new(systems: usize) -> Tallies {
        let tallies = Breakdown {
            figures: (0..systems).map(|_| Tally::default()).collect(),
            by_group: BTreeMap::new(),
            by_kind: BTreeMap::new(),
            misses: Vec::new(),
            directs: Vec::new(),
        };
        Tallies { systems, tallies }
    }

    /// Adds system `s`'s `outcome` on `case` to its totals, its project's and its kind's.
    fn add(&mut self, s: usize, case: &Case, outcome: &Outcome, direct: bool, ms: f64) {
        let systems = self.systems;
        let group = self
            .tallies
            .by_group
            .entry(case.group.clone())
            .or_insert_with(|| (0..systems).map(|_| Tally::default()).collect());
        let kind = self
            .tallies
            .by_kind
            .entry(case.kind.clone())
            .or_insert_with(|| (0..systems).map(|_| Tally::default()).collect());
        for tally in [&mut self.tallies.figures[s], &mut group[s], &mut kind[s]] {
            outcome.add_to(tally, direct, ms);
        }
    }

    /// Keeps reverie's direct answer on `case`, judged, and its miss at Acc@5.
    fn note_reverie(&mut self, case: &Case, ranking: &[ContextItem], outcome: &Outcome, direct: bool) {
        if direct {
            let listed = items(ranking);
            let cited: Vec<&str> = eval::distinct_files(&listed).into_iter().take(5).collect();
            let verdict = if outcome.any_gold { "right" } else { "WRONG" };
            self.tallies
                .directs
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
            self.tallies.misses.push(format!("{} [{}]: gold {gold:?}, shown {shown:?}", case.id, case.kind));
        }
    }

    /// The report of the run: every system's figures against the strongest plain baseline.
    fn report(self, set: &str, systems: &Systems, channels: &Channels, workspaces: usize) -> Report {
        let labels: Vec<String> = systems.list.iter().map(|s| s.label()).collect();
        // Rows with notes say nothing when no workspace has any.
        let shown: Vec<bool> =
            systems.list.iter().map(|s| channels.with_notes || !matches!(s, System::Learned(..))).collect();
        let strongest = systems.list.iter().position(|s| *s == STRONGEST).unwrap_or(0);
        let figures = |tallies: &[Tally]| -> Vec<Figures> {
            tallies
                .iter()
                .zip(&labels)
                .zip(&shown)
                .filter(|(_, shown)| **shown)
                .map(|((t, l), _)| t.figures(l.clone(), &tallies[strongest]))
                .collect()
        };
        let (weights, semantic_note) = (systems.weights, &channels.semantic_note);
        Report {
            set: set.to_string(),
            semantic: if *weights == answer::WEIGHTS {
                semantic_note.clone()
            } else {
                format!("{semantic_note}; {weights:?}")
            },
            variants: systems.variants.iter().enumerate().map(|(n, v)| format!("variant {n}: {}", v.text)).collect(),
            history: channels.history_note(),
            adapter: channels.adapter_note(),
            strongest: STRONGEST.label(),
            workspaces,
            measured: Breakdown {
                figures: figures(&self.tallies.figures),
                by_group: self.tallies.by_group.iter().map(|(g, t)| (g.clone(), figures(t))).collect(),
                by_kind: self.tallies.by_kind.iter().map(|(k, t)| (k.clone(), figures(t))).collect(),
                misses: self.tallies.misses,
                directs: self.tallies.directs,
            },
        }
    }
}

/// Whole-file BM25's ranking as context items: each source file whole (tokens = bytes / 4, as the
/// anchor counts). Documentation and text files without a grammar, which the walk also keeps, are
/// not source files and not part of the anchor (`shared/guide/benchmarks.md`).
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
    let _ = writeln!(
        out,
        "# Ranking: {} ({} workspaces; {}; {}; {})\n",
        report.set, report.workspaces, report.semantic, report.adapter, report.history
    );
    table(&mut out, &report.measured.figures);
    for variant in &report.variants {
        let _ = writeln!(out, "- {variant}");
    }
    let row = |rows: &'_ [Figures], label: &str| rows.iter().position(|f| f.system.trim() == label);
    let strongest = row(&report.measured.figures, &report.strongest);
    let _ = writeln!(
        out,
        "\n## Against the strongest plain baseline ({}), record by record\n\n| system | Acc@5 gained | lost | p | Acc@1 gained | lost | p |\n|---|---|---|---|---|---|---|",
        report.strongest
    );
    for f in report.measured.figures.iter().filter(|f| f.system.trim() != report.strongest) {
        let ((g5, l5, p5), (g1, l1, p1)) = (f.vs_strongest_acc5, f.vs_strongest_acc1);
        let _ = writeln!(out, "| {} | {g5} | {l5} | {p5:.3} | {g1} | {l1} | {p1:.3} |", f.system);
    }
    // Per group: the strongest baseline beside reverie, the index alone and each idle channel.
    let columns: Vec<(&str, Option<usize>)> = [
        ("baseline 3", strongest),
        ("index only", row(&report.measured.figures, "index only")),
        ("+ semantic", row(&report.measured.figures, "index + semantic")),
        ("+ adapter", row(&report.measured.figures, "index + semantic + adapter")),
        ("+ history", row(&report.measured.figures, "index + history")),
        ("reverie", row(&report.measured.figures, "reverie (ask --no-llm)")),
    ]
    .into_iter()
    .filter(|(_, i)| i.is_some())
    .collect();
    for (title, groups) in [("project", &report.measured.by_group), ("question kind", &report.measured.by_kind)] {
        let _ = writeln!(out, "\n## By {title}: Acc@1 / Acc@5\n");
        let header: String = columns.iter().map(|(name, _)| format!(" {name} |")).collect();
        let rule: String = columns.iter().map(|_| "---|").collect();
        let _ = writeln!(out, "| {title} | n |{header}\n|---|---|{rule}");
        for (name, rows) in groups {
            let cells: String = columns
                .iter()
                .filter_map(|(_, i)| rows.get((*i)?))
                .map(|f| format!(" {} / {} |", pct(f.acc1), pct(f.acc5)))
                .collect();
            let _ = writeln!(out, "| {name} | {} |{cells}", rows.first().map_or(0, |f| f.questions));
        }
    }
    if !report.measured.directs.is_empty() {
        let _ = writeln!(out, "\n## reverie's direct answers\n");
        for direct in &report.measured.directs {
            let _ = writeln!(out, "- {direct}");
        }
    }
    if !report.measured.misses.is_empty() {
        let _ = writeln!(out, "\n## reverie's misses at Acc@5\n");
        for miss in &report.measured.misses {
            let _ = writeln!(out, "- {miss}");
        }
    }
    out
}
