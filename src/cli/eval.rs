//! `reverie eval`: the measurements that say whether sleep-time compute pays, on the localization
//! dev set (real bug reports with the files their fix changed, asked against PyPI sdists; see
//! `shared/data/README.md`).
//!
//! For each record whose workspace is fetched, the workspace is indexed (into the usual cache, so a
//! second run is warm), optionally thought about (`--think`, `--think-local`), and its question is
//! ranked three ways, each scored by `crate::eval`:
//!
//! - **(a) raw**: BM25 over raw code — every indexed file cut into 60-line windows, each window's
//!   text and path tokenized with `search::tokenize` (the baseline a chunk-and-retrieve assistant has);
//! - **(b) facts**: `answer::candidates` with the facts rankers only (quoted error messages, named
//!   definitions, BM25 over facts, personalized PageRank), no notes;
//! - **(c) facts + notes**: every ranker, with the learned context built from the workspace's stored
//!   notes (summaries, playbooks, anticipated questions). With no notes it equals (b), and the output
//!   says so.
//!
//! Every ranking passes through `answer::select` without a budget (at most `MAX_PER_FILE` items per
//! file, as answering does), so the three are treated alike. Tokens are counted the same way for every
//! system: `tokens::estimate_tokens` (3.5 characters per token) of the item exactly as
//! `answer::model_request` puts it in a prompt — its citation line (`[n] path:lines — reason`) and its
//! text. For facts and notes the text is the signature and doc, or the note; for raw chunks, the
//! window's whole text. (`ContextItem::tokens` leaves the reason out, which undercounts many small
//! items; measured end to end it was ~1.7× low for facts and notes.)
//!
//! Then: the test-time tokens each system needs to reach the raw baseline's recall at 8k (and 2k,
//! 32k); the latency of direct answers (anticipated questions asked back, "where is X defined", "what
//! calls X"); the amortized cost per question from the ledger's sleep-time tokens; and, when built
//! with `--features local` and a GGUF model is at hand, a few questions answered end to end by the
//! local model with the learned context and with raw chunks at the same budget.

use super::{Cli, Format};
use crate::answer::{self, ContextItem, LearnedContext, Question, Rankers};
use crate::eval::{self, BUDGETS, CHUNK_LINES, CURVE_GRID, Curve, Item, Record, Scores, Summary};
use crate::ledger::LedgerStore;
use crate::llm::{LlmConfig, Provider};
use crate::search;
use crate::sleep::NoteStore;
use crate::snapshot::Snapshot;
use crate::tokens::estimate_tokens;
use anyhow::{Context, Result};
use clap::Args;
use rayon::prelude::*;
use serde::Serialize;
use std::collections::{BTreeMap, HashSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

/// The default model for end-to-end answers (what `tests/fetch-model.sh` downloads).
const TEST_MODEL: &str = ".cache/reverie-test/SmolLM2-135M-Instruct.Q4_1.gguf";
/// Raw chunks taken from BM25 per question (enough for 32k tokens and 10 distinct files).
const RAW_LIMIT: usize = 1000;
/// Anticipated questions asked back per workspace, and definitions asked about.
const ANTICIPATED_PER_WORKSPACE: usize = 40;
const DEFINITIONS_PER_WORKSPACE: usize = 10;
/// End to end: completion tokens per answer, the model's context window, the longest question used.
const E2E_ANSWER_TOKENS: u32 = 128;
const E2E_CONTEXT_TOKENS: u32 = 8192;
const E2E_MAX_QUESTION_TOKENS: usize = 800;
/// The amortization table's queries per context and test-time price multipliers (the paper's).
const QUERIES: [u32; 4] = [1, 2, 5, 10];
const MULTIPLIERS: [f64; 2] = [1.0, 10.0];
/// How tokens are counted, for the output.
const TOKEN_COUNTING: &str = "tokens::estimate_tokens (3.5 chars/token) of each item as answer::model_request renders \
it: the citation line `[n] path:lines — reason` + the item's text (facts: signature + doc; notes: the note; raw chunks: the \
60-line window's full text)";

#[derive(Args, Debug)]
#[command(after_help = "Examples:\n  \
shared/data/fetch-dev-workspaces.sh ~/.cache/reverie-dev-workspaces Django==4.0.3 sympy==1.1.1\n  \
reverie eval --project Django --limit 20\n  \
reverie eval --think-local ~/.cache/reverie-test/SmolLM2-135M-Instruct.Q4_1.gguf --think-jobs 20 --format json")]
pub struct EvalArgs {
    /// Where the dev-set workspaces are, one `<package>-<version>/` folder each [default:
    /// ~/.cache/reverie-dev-workspaces]. Missing ones are skipped with the command that fetches them.
    #[arg(long, value_name = "DIR")]
    pub workspaces: Option<PathBuf>,
    /// The question set, JSON lines [default: shared/data/dev-localization.jsonl beside the source tree].
    #[arg(long, value_name = "FILE", env = "REVERIE_DEV_SET")]
    pub data: Option<PathBuf>,
    /// Measure at most N records (of those whose workspace is fetched), in file order.
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
    /// Only this project: a package (`Django`), a repository (`django/django`) or a release
    /// (`Django==4.0.3`). Repeat for several.
    #[arg(long, value_name = "NAME")]
    pub project: Vec<String>,
    /// Think first: a sleep-time pass per workspace with the configured [llm] provider, so that (c)
    /// has notes. Notes are kept in the cache; later runs reuse them.
    #[arg(long)]
    pub think: bool,
    /// Think first with this GGUF model, in-process (needs a build with `--features local`).
    #[arg(long, value_name = "MODEL.gguf", conflicts_with = "think")]
    pub think_local: Option<PathBuf>,
    /// At most N notes per workspace in the thinking pass; the scheduler picks which (PageRank,
    /// cost), never the gold files.
    #[arg(long, value_name = "N")]
    pub think_jobs: Option<usize>,
    /// Questions to answer end to end with the local model, learned context vs raw chunks (0: skip).
    #[arg(long, value_name = "N", default_value_t = 4)]
    pub e2e: usize,
    /// The GGUF model for end-to-end answers [default: --think-local's, else $REVERIE_TEST_MODEL,
    /// else ~/.cache/reverie-test/SmolLM2-135M-Instruct.Q4_1.gguf].
    #[arg(long, value_name = "MODEL.gguf")]
    pub e2e_model: Option<PathBuf>,
    /// The context budget of end-to-end answers, the same for both contexts.
    #[arg(long, value_name = "TOKENS", default_value_t = 2000)]
    pub e2e_budget: usize,
    /// Measure only the ranking — reverie and its channels beside whole-file and chunk BM25, in the
    /// same run — on the dev set (no thinking, no end-to-end answers).
    #[arg(long)]
    pub ranking: bool,
    /// Measure the ranking on the natural-language question set in DIR (`tests/questions`: one
    /// `<project>/questions.jsonl` each), with workspaces in --workspaces (default
    /// ~/.cache/reverie-questions; fetch with tests/questions/fetch-workspaces.sh).
    #[arg(long, value_name = "DIR", conflicts_with = "ranking")]
    pub questions: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

const SYSTEMS: [&str; 3] = ["(a) raw BM25 chunks", "(b) facts", "(c) facts + notes"];

/// One raw chunk: a window of a file.
pub(super) struct Chunk {
    path: Arc<str>,
    start_line: u32,
    end_line: u32,
    tokens: usize,
}

/// The raw-code baseline's index: BM25 over 60-line windows of every indexed file.
pub(super) struct RawChunks {
    chunks: Vec<Chunk>,
    bm25: search::Bm25,
}

impl RawChunks {
    pub(super) fn build(root: &Path, snapshot: &Snapshot, max_file_size: u64) -> RawChunks {
        let keys: Vec<&Arc<str>> = snapshot.files.keys().collect();
        let per_file: Vec<Vec<(Chunk, Vec<String>)>> = keys
            .par_iter()
            .map(|key| {
                let Ok(bytes) = crate::workspace::read_source(&root.join(&***key), max_file_size) else {
                    return Vec::new();
                };
                let text = String::from_utf8_lossy(&bytes);
                let path_tokens = search::path_tokens(key);
                eval::line_windows(&text, CHUNK_LINES)
                    .into_iter()
                    .map(|(start_line, end_line, window)| {
                        let mut tokens = search::tokenize(window);
                        tokens.extend(path_tokens.iter().cloned());
                        let cost = estimate_tokens(window);
                        (Chunk { path: (*key).clone(), start_line, end_line, tokens: cost }, tokens)
                    })
                    .collect()
            })
            .collect();
        let (chunks, docs): (Vec<Chunk>, Vec<Vec<String>>) = per_file.into_iter().flatten().unzip();
        RawChunks { chunks, bm25: search::Bm25::new(docs) }
    }

    /// BM25's best chunks for `question`, as context items. The text is left empty (see `text_of`);
    /// `tokens` holds the window's.
    pub(super) fn ranking(&self, question: &str) -> Vec<ContextItem> {
        self.bm25
            .search(&search::tokenize(question), RAW_LIMIT)
            .into_iter()
            .map(|(doc, score)| {
                let chunk = &self.chunks[doc as usize];
                ContextItem {
                    path: chunk.path.to_string(),
                    start_line: chunk.start_line,
                    end_line: chunk.end_line,
                    kind: crate::answer::ItemKind::Chunk,
                    score,
                    tokens: chunk.tokens,
                    reason: RAW_REASON.into(),
                    text: String::new(),
                    stale: false,
                }
            })
            .collect()
    }
}

/// The text of a raw chunk, read again from disk.
fn text_of(root: &Path, item: &ContextItem, max_file_size: u64) -> String {
    let Ok(bytes) = crate::workspace::read_source(&root.join(&item.path), max_file_size) else { return String::new() };
    let text = String::from_utf8_lossy(&bytes);
    eval::line_windows(&text, CHUNK_LINES)
        .into_iter()
        .find(|w| w.0 == item.start_line)
        .map_or_else(String::new, |w| w.2.to_string())
}

/// The reason a raw chunk is given in a prompt (raw retrieval has nothing more to say).
const RAW_REASON: &str = "matches the question's words";

/// What `item` takes in a prompt: its citation line and text as `answer::model_request` renders them
/// (keep in step with `answer/compose.rs`). A raw chunk's text is read only when needed, so its
/// window's estimate is in `tokens`.
fn prompt_tokens(item: &ContextItem) -> usize {
    let lines = if item.start_line == item.end_line {
        item.start_line.to_string()
    } else {
        format!("{}-{}", item.start_line, item.end_line)
    };
    let stale = if item.stale { " (possibly outdated)" } else { "" };
    let citation = estimate_tokens(&format!("[10] {}:{} — {}{stale}\n", item.path, lines, item.reason));
    let text = if item.kind == crate::answer::ItemKind::Chunk {
        item.tokens
    } else if item.text.is_empty() {
        0
    } else {
        estimate_tokens(&item.text) + 1
    };
    citation + text
}

/// The first items of `ranking` that fit in `budget` (the walk of budget recall).
fn walk(ranking: &[ContextItem], budget: usize) -> Vec<ContextItem> {
    let mut used = 0;
    ranking
        .iter()
        .take_while(|item| {
            used += prompt_tokens(item);
            used <= budget
        })
        .cloned()
        .collect()
}

fn metric_items(ranking: &[ContextItem]) -> Vec<Item> {
    ranking.iter().map(|item| Item { path: item.path.clone(), tokens: prompt_tokens(item) }).collect()
}

/// One record's results, for the three systems.
struct Scored {
    project: String,
    /// Its workspace has notes (so (c) may differ from (b)).
    has_notes: bool,
    scores: [Scores; 3],
    curves: [Curve; 3],
    /// Distinct files in context within each of `BUDGETS`, per system.
    files_within: [[usize; 3]; 3],
    question_tokens: usize,
}

#[derive(Serialize)]
struct Timing {
    kind: &'static str,
    question: String,
    ms: f64,
    source: answer::Source,
}

#[derive(Clone, Debug, Serialize)]
struct WorkspaceRow {
    workspace: String,
    records: usize,
    files: usize,
    index_seconds: f64,
    parsed: usize,
    /// Gold files of its records, and how many of them are in the index.
    gold_files: usize,
    gold_indexed: usize,
    think: Option<crate::sleep::ThinkReport>,
    notes: usize,
    fresh_notes: usize,
    anticipated_questions: usize,
    sleep_tokens: u64,
    sleep_calls: u64,
}

#[derive(Serialize)]
struct E2eRow {
    id: String,
    context: &'static str,
    items: usize,
    context_tokens: usize,
    /// As the model counted them (the whole prompt: system, context, question).
    prompt_tokens: u64,
    completion_tokens: u64,
    latency_ms: f64,
    gold_in_context: bool,
    error: Option<String>,
}

#[derive(Serialize)]
struct Reach {
    /// The raw baseline's budget whose recall is the target.
    baseline_budget: usize,
    target_recall: f64,
    /// Per system: the smallest budget reaching the target, and raw's tokens / this system's.
    tokens: [Option<usize>; 3],
    ratio: [Option<f64>; 3],
}

#[derive(Serialize)]
struct SystemReport {
    name: &'static str,
    overall: Summary,
    per_project: BTreeMap<String, Summary>,
    /// Mean budget recall at each budget of `CURVE_GRID`.
    curve: Vec<(usize, f64)>,
    /// Mean recall of the whole ranking, and its mean tokens.
    recall_unbounded: f64,
    mean_ranking_tokens: f64,
    /// Mean distinct files in context within each of `BUDGETS`.
    files_within: [f64; 3],
}

#[derive(Serialize)]
struct Latency {
    kind: &'static str,
    asked: usize,
    direct: usize,
    /// Over direct answers (those are what the ≤ 10 ms target is about).
    p50_ms: Option<f64>,
    p99_ms: Option<f64>,
    max_ms: Option<f64>,
    /// Over the questions that fell back to ranked context.
    fallback_p50_ms: Option<f64>,
    /// The first few questions that fell back, to inspect.
    fallbacks: Vec<String>,
}

#[derive(Serialize)]
struct Amortization {
    basis: String,
    learned_system: &'static str,
    sleep_tokens_per_workspace: f64,
    mean_question_tokens: f64,
    test_tokens_with_notes: Option<f64>,
    test_tokens_without: Option<f64>,
    /// For reference: (b) facts at the same recall, which spends no sleep-time tokens.
    test_tokens_facts_only: Option<f64>,
    rows: Vec<crate::ledger::AmortizationRow>,
    /// Queries per context from which sleep-time compute pays, per multiplier.
    break_even_queries: Vec<(f64, Option<f64>)>,
}

#[derive(Serialize)]
struct Report {
    data: String,
    workspaces_dir: String,
    token_counting: &'static str,
    records: usize,
    projects: usize,
    skipped: Vec<(String, usize)>,
    fetch_command: Option<String>,
    workspaces: Vec<WorkspaceRow>,
    notes_absent_in: Vec<String>,
    systems: Vec<SystemReport>,
    reach: Vec<Reach>,
    latency: Vec<Latency>,
    amortization: Amortization,
    e2e_skipped: Option<String>,
    e2e_budget: usize,
    e2e: Vec<E2eRow>,
}

pub fn run(cli: &Cli, args: &EvalArgs) -> Result<()> {
    if let Some(dir) = &args.questions {
        return run_questions(cli, args, dir);
    }
    let data = match &args.data {
        Some(path) => path.clone(),
        None => PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/data/dev-localization.jsonl")),
    };
    let text = std::fs::read_to_string(&data)
        .with_context(|| format!("cannot read the question set {} (pass --data FILE)", data.display()))?;
    let data = data.canonicalize().unwrap_or(data);
    let records = eval::parse_records(&text).map_err(|e| anyhow::anyhow!("{}: {e}", data.display()))?;
    let records: Vec<Record> =
        records.into_iter().filter(|r| args.project.is_empty() || args.project.iter().any(|p| r.matches(p))).collect();
    anyhow::ensure!(
        !records.is_empty(),
        "no record of {} matches --project {}",
        data.display(),
        args.project.join(", ")
    );
    let workspaces_dir = match &args.workspaces {
        Some(dir) => dir.clone(),
        None => home()?.join(".cache/reverie-dev-workspaces"),
    };
    let fetch_script = data.parent().unwrap_or(Path::new(".")).join("fetch-dev-workspaces.sh");

    // Records grouped by workspace, in file order; workspaces not fetched are skipped.
    let mut groups: Vec<(String, Vec<Record>)> = Vec::new();
    for record in records {
        let name = record.workspace();
        match groups.iter_mut().find(|(n, _)| *n == name) {
            Some((_, group)) => group.push(record),
            None => groups.push((name, vec![record])),
        }
    }
    let (fetched, missing): (Vec<_>, Vec<_>) =
        groups.into_iter().partition(|(name, _)| workspaces_dir.join(name).is_dir());
    let skipped: Vec<(String, usize)> = missing.iter().map(|(name, group)| (name.clone(), group.len())).collect();
    let fetch_command = (!missing.is_empty()).then(|| {
        let specs: Vec<String> =
            missing.iter().map(|(_, group)| format!("{}=={}", group[0].pypi.package, group[0].pypi.version)).collect();
        fetch_hint(&fetch_script, &workspaces_dir, &specs)
    });
    if let Some(command) = &fetch_command {
        eprintln!(
            "reverie eval: skipping {} workspace(s) not fetched into {} ({} records); fetch them with:\n  {command}",
            missing.len(),
            workspaces_dir.display(),
            skipped.iter().map(|s| s.1).sum::<usize>()
        );
    }
    if args.ranking {
        let mut left = args.limit.unwrap_or(usize::MAX);
        let mut groups = Vec::new();
        for (name, mut group) in fetched {
            if left == 0 {
                break;
            }
            group.truncate(left);
            left -= group.len();
            let cases = group
                .into_iter()
                .map(|r| super::eval_rank::Case {
                    id: r.id.clone(),
                    group: r.pypi.package.clone(),
                    kind: "bug report".into(),
                    question: r.question.clone(),
                    gold_files: r.gold_paths.clone(),
                    gold_definitions: Vec::new(),
                })
                .collect();
            groups.push((workspaces_dir.join(&name), cases));
        }
        return super::eval_rank::run(cli, "localization dev set (bug reports)", groups, args.format);
    }
    let mut budget = args.limit.unwrap_or(usize::MAX);
    let mut todo: Vec<(String, Vec<Record>)> = Vec::new();
    for (name, mut group) in fetched {
        if budget == 0 {
            break;
        }
        group.truncate(budget);
        budget -= group.len();
        todo.push((name, group));
    }
    anyhow::ensure!(
        !todo.is_empty(),
        "no workspace of these records is fetched into {}; fetch them with:\n  {}",
        workspaces_dir.display(),
        fetch_command.unwrap_or_default()
    );

    let runtime = super::runtime()?;
    let (e2e_provider, mut e2e_skipped) = e2e_provider(args);
    let e2e_quota = if args.e2e == 0 { 0 } else { args.e2e.div_ceil(todo.len()) };

    let mut scored: Vec<Scored> = Vec::new();
    let mut rows: Vec<WorkspaceRow> = Vec::new();
    let mut timings: Vec<Timing> = Vec::new();
    let mut e2e: Vec<E2eRow> = Vec::new();
    for (name, group) in &todo {
        let root = super::workspace_root(&workspaces_dir.join(name))?;
        eprintln!("reverie eval: {name}: {} record(s)", group.len());
        let config = super::load_config(&root);
        let roots = vec![root.clone()];
        let store = super::open_store(cli, &roots)?;
        let report = super::index::index_with_progress(&store, &roots, &config)?;
        let snapshot = Arc::new(crate::index::snapshot(&store)?);
        eprintln!(
            "reverie eval: {name}: {} files indexed in {:.1} s ({} parsed)",
            report.files,
            report.elapsed_ms / 1000.0,
            report.parsed
        );

        let think = match think_provider(args, &config)? {
            Some(provider) => Some(think(&store, &root, &config, snapshot.clone(), provider.as_ref(), args, &runtime)?),
            None => None,
        };
        let learned = LearnedContext::new(store.notes()?, &snapshot);
        let fresh_notes = learned.fresh.iter().filter(|f| **f).count();
        let max_file_size = config.index.max_file_size;
        let started = Instant::now();
        let raw = RawChunks::build(&root, &snapshot, max_file_size);
        snapshot.facts_index();
        eprintln!(
            "reverie eval: {name}: {} raw chunks and the facts index built in {:.1} s; {} notes ({fresh_notes} fresh)",
            raw.chunks.len(),
            started.elapsed().as_secs_f64(),
            learned.notes.len()
        );

        let mut gold_files = 0;
        let mut gold_indexed = 0;
        let mut e2e_here = 0;
        for record in group {
            gold_files += record.gold_paths.len();
            gold_indexed += record.gold_paths.iter().filter(|g| snapshot.files.contains_key(g.as_str())).count();
            let question = Question { text: record.question.clone(), budget: usize::MAX, ..Question::default() };
            let rankings = [
                answer::select(raw.ranking(&record.question), usize::MAX),
                answer::select(answer::candidates(&snapshot, None, &question, Rankers::facts_only()), usize::MAX),
                answer::select(
                    answer::candidates(&snapshot, Some(&learned), &question, Rankers::default()),
                    usize::MAX,
                ),
            ];
            let results: Vec<(Scores, Curve)> =
                rankings.iter().map(|r| eval::score(&metric_items(r), &record.gold_paths)).collect();
            let [(s0, c0), (s1, c1), (s2, c2)]: [(Scores, Curve); 3] =
                results.try_into().map_err(|_| anyhow::anyhow!("three rankings"))?;
            scored.push(Scored {
                project: record.pypi.package.clone(),
                has_notes: !learned.is_empty(),
                scores: [s0, s1, s2],
                curves: [c0, c1, c2],
                files_within: std::array::from_fn(|s| {
                    let items = metric_items(&rankings[s]);
                    BUDGETS.map(|b| eval::files_within(&items, b))
                }),
                question_tokens: estimate_tokens(&record.question),
            });

            if let Some(provider) = &e2e_provider
                && e2e_here < e2e_quota
                && e2e.len() / 2 < args.e2e
                && estimate_tokens(&record.question) <= E2E_MAX_QUESTION_TOKENS
            {
                e2e_here += 1;
                let mut raw_context = walk(&rankings[0], args.e2e_budget);
                for item in &mut raw_context {
                    item.text = text_of(&root, item, max_file_size);
                }
                let contexts = [("learned (c)", walk(&rankings[2], args.e2e_budget)), ("raw chunks (a)", raw_context)];
                for (label, context) in contexts {
                    eprintln!("reverie eval: {name}: answering {} with {label} context", record.id);
                    let row = answer_end_to_end(provider.as_ref(), &store, record, label, &context, &runtime);
                    e2e.push(row);
                }
            }
        }

        timings.extend(direct_latencies(&snapshot, &learned));
        let totals = crate::ledger::totals(&store.ledger(0)?);
        store.flush()?;
        rows.push(WorkspaceRow {
            workspace: name.clone(),
            records: group.len(),
            files: report.files,
            index_seconds: report.elapsed_ms / 1000.0,
            parsed: report.parsed,
            gold_files,
            gold_indexed,
            think,
            notes: learned.notes.len(),
            fresh_notes,
            anticipated_questions: learned.questions.len(),
            sleep_tokens: totals.sleep.tokens(),
            sleep_calls: totals.sleep.calls,
        });
    }
    if e2e_provider.is_some() && e2e.is_empty() && args.e2e > 0 {
        e2e_skipped =
            Some(format!("no question short enough (≤ {E2E_MAX_QUESTION_TOKENS} tokens) among those measured"));
    }

    let report =
        build_report(args, &data, &workspaces_dir, &scored, rows, skipped, fetch_command, &timings, e2e, e2e_skipped);
    match args.format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&report)?),
        Format::Text => print!("{}", render(&report)),
    }
    Ok(())
}

/// `--questions DIR`: the natural-language set, ranking only.
fn run_questions(cli: &Cli, args: &EvalArgs, dir: &Path) -> Result<()> {
    let cases = super::eval_rank::load_nl_questions(dir)?;
    let workspaces = match &args.workspaces {
        Some(dir) => dir.clone(),
        None => home()?.join(".cache/reverie-questions"),
    };
    let mut groups: Vec<(PathBuf, Vec<super::eval_rank::Case>)> = Vec::new();
    for case in cases.into_iter().filter(|c| args.project.is_empty() || args.project.contains(&c.group)) {
        let folder = workspaces.join(&case.group);
        match groups.iter_mut().find(|(f, _)| *f == folder) {
            Some((_, group)) => group.push(case),
            None => groups.push((folder, vec![case])),
        }
    }
    let (present, missing): (Vec<_>, Vec<_>) = groups.into_iter().partition(|(folder, _)| folder.is_dir());
    for (folder, _) in &missing {
        eprintln!(
            "reverie eval: skipping {} (not fetched; run {}/fetch-workspaces.sh {})",
            folder.display(),
            dir.display(),
            workspaces.display()
        );
    }
    anyhow::ensure!(!present.is_empty(), "no workspace of {} is fetched into {}", dir.display(), workspaces.display());
    super::eval_rank::run(cli, "natural-language questions", present, args.format)
}

/// The command that fetches the workspaces `specs` (`package==version`); many are shortened to the
/// script's fetch-everything form, which skips what is already there.
fn fetch_hint(script: &Path, dir: &Path, specs: &[String]) -> String {
    const LISTED: usize = 12;
    if specs.len() <= LISTED {
        return format!("{} {} {}", script.display(), dir.display(), specs.join(" "));
    }
    format!(
        "{} {}    # all of them ({} releases, ~1.2 GB); or only some: {} {} {} ...",
        script.display(),
        dir.display(),
        specs.len(),
        script.display(),
        dir.display(),
        specs[..3].join(" ")
    )
}

fn home() -> Result<PathBuf> {
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(PathBuf::from)
        .context("HOME is not set; pass --workspaces DIR")
}

/// The provider of the thinking pass, if one was asked for.
fn think_provider(args: &EvalArgs, config: &crate::config::Config) -> Result<Option<Arc<crate::llm::Resilient>>> {
    if let Some(model) = &args.think_local {
        let llm = LlmConfig { provider: "local".into(), model_path: Some(model.clone()), ..LlmConfig::default() };
        let provider = crate::llm::from_config(&llm).map_err(anyhow::Error::from)?;
        return Ok(provider);
    }
    if !args.think {
        return Ok(None);
    }
    match crate::llm::from_config(&config.llm).map_err(anyhow::Error::from)? {
        Some(provider) => Ok(Some(provider)),
        None => anyhow::bail!(
            "--think needs a model: {}\n(or use --think-local MODEL.gguf with a build that has --features local)",
            crate::llm::HOW_TO_ENABLE
        ),
    }
}

/// One sleep-time pass over the workspace, as `reverie think` does it, at most `--think-jobs` notes.
fn think(
    store: &crate::store::Store,
    root: &Path,
    config: &crate::config::Config,
    snapshot: Arc<Snapshot>,
    provider: &dyn Provider,
    args: &EvalArgs,
    runtime: &tokio::runtime::Runtime,
) -> Result<crate::sleep::ThinkReport> {
    let snapshot_fn = move || snapshot.clone();
    let source_root = root.to_path_buf();
    let max_size = config.index.max_file_size;
    let source = move |key: &str| crate::workspace::read_source_text(&source_root.join(key), max_size);
    let thinker = crate::sleep::Thinker {
        store,
        provider: Some(provider),
        config: &config.sleep,
        snapshot: &snapshot_fn,
        source: &source,
        // No signals and no asked questions: the scheduler alone (PageRank, cost) picks the notes.
        signals: crate::sleep::schedule::Signals::default(),
        asked: Vec::new(),
    };
    let planned = std::sync::atomic::AtomicUsize::new(0);
    let started = std::sync::Mutex::new(Instant::now());
    let on_event = |event: crate::sleep::ThinkEvent| match event {
        crate::sleep::ThinkEvent::Planned { jobs } => {
            planned.store(args.think_jobs.map_or(jobs, |max| max.min(jobs)), std::sync::atomic::Ordering::Relaxed);
        }
        crate::sleep::ThinkEvent::Started { .. } => {
            *started.lock().unwrap_or_else(|e| e.into_inner()) = Instant::now();
        }
        crate::sleep::ThinkEvent::Finished { job, outcome } => {
            let seconds = started.lock().unwrap_or_else(|e| e.into_inner()).elapsed().as_secs_f64();
            let outcome = match outcome {
                crate::sleep::Outcome::Stored => "stored".to_string(),
                other => format!("{other:?}").to_lowercase(),
            };
            eprintln!(
                "reverie eval:   thought: {} {} — {outcome} ({seconds:.1} s) of {} planned",
                job.kind.name(),
                job.subject,
                planned.load(std::sync::atomic::Ordering::Relaxed)
            );
        }
        _ => {}
    };
    let (_active, user_active) = tokio::sync::watch::channel(false);
    let options = crate::sleep::ThinkOptions { dry_run: false, max_jobs: args.think_jobs };
    let report = runtime.block_on(thinker.think(&options, user_active, &on_event));
    store.flush()?;
    eprintln!(
        "reverie eval:   thinking: {} notes stored in {:.1} s, {} prompt + {} completion tokens{}",
        report.stored,
        report.elapsed_ms / 1000.0,
        report.prompt_tokens,
        report.completion_tokens,
        report.stopped.as_deref().map(|s| format!("; {s}")).unwrap_or_default()
    );
    Ok(report)
}

/// The local model for end-to-end answers, or why there is none.
fn e2e_provider(args: &EvalArgs) -> (Option<Arc<crate::llm::Resilient>>, Option<String>) {
    if args.e2e == 0 {
        return (None, Some("--e2e 0".into()));
    }
    if !cfg!(feature = "local") {
        return (
            None,
            Some(
                "this reverie was built without the local model (llama.cpp); rebuild with --features local \
                 (needs cmake, clang, libclang-dev) and fetch a model with tests/fetch-model.sh"
                    .into(),
            ),
        );
    }
    let model = args
        .e2e_model
        .clone()
        .or_else(|| args.think_local.clone())
        .or_else(|| std::env::var_os("REVERIE_TEST_MODEL").map(PathBuf::from))
        .or_else(|| home().ok().map(|h| h.join(TEST_MODEL)));
    let Some(model) = model.filter(|m| m.is_file()) else {
        return (None, Some("no GGUF model found: pass --e2e-model MODEL.gguf or run tests/fetch-model.sh".into()));
    };
    let llm = LlmConfig {
        provider: "local".into(),
        model_path: Some(model.clone()),
        context_tokens: E2E_CONTEXT_TOKENS,
        answer_tokens: E2E_ANSWER_TOKENS,
        ..LlmConfig::default()
    };
    match crate::llm::from_config(&llm) {
        Ok(Some(provider)) => (Some(provider), None),
        Ok(None) => (None, Some("no provider".into())),
        Err(err) => (None, Some(format!("{} cannot be used: {err}", model.display()))),
    }
}

/// Answers `record` with `context` through `provider`, recording the call in the ledger (test phase).
fn answer_end_to_end(
    provider: &dyn Provider,
    store: &crate::store::Store,
    record: &Record,
    label: &'static str,
    context: &[ContextItem],
    runtime: &tokio::runtime::Runtime,
) -> E2eRow {
    let question = Question { text: record.question.clone(), ..Question::default() };
    let request = answer::model_request(&question, context, E2E_ANSWER_TOKENS);
    let started = Instant::now();
    let result = runtime.block_on(provider.chat(&request, &|_| {}));
    let elapsed = started.elapsed();
    if let Err(err) = store.record(&crate::ledger::test_entry(provider, &record.question, &request, &result, elapsed)) {
        tracing::warn!("could not record a ledger entry: {err:#}");
    }
    let gold: HashSet<&str> = record.gold_paths.iter().map(String::as_str).collect();
    let (usage, error) = match &result {
        Ok(response) => (response.usage, None),
        Err(err) => (crate::llm::TokenUsage::default(), Some(err.to_string())),
    };
    E2eRow {
        id: record.id.clone(),
        context: label,
        items: context.len(),
        context_tokens: context.iter().map(prompt_tokens).sum(),
        prompt_tokens: usage.prompt_tokens,
        completion_tokens: usage.completion_tokens,
        latency_ms: elapsed.as_secs_f64() * 1000.0,
        gold_in_context: context.iter().any(|c| gold.contains(c.path.as_str())),
        error,
    }
}

const ANTICIPATED: &str = "anticipated (stored questions asked back)";
const DEFINED: &str = "\"where is X defined?\"";
const CALLERS: &str = "\"what calls X?\"";

/// Times `plan_answer` on questions that should be answered directly: the workspace's fresh
/// anticipated questions asked back verbatim, and structural questions about distinctive definitions
/// of the most central files.
fn direct_latencies(snapshot: &Snapshot, learned: &LearnedContext) -> Vec<Timing> {
    let mut questions: Vec<(&'static str, String)> = Vec::new();
    for &passage in &learned.questions {
        let p = &learned.passages[passage];
        if !learned.fresh[p.note] {
            continue;
        }
        let text = learned.notes[p.note].body["questions"][p.question.unwrap_or(0)]["question"].as_str().unwrap_or("");
        if !text.trim().is_empty() && questions.len() < ANTICIPATED_PER_WORKSPACE {
            questions.push((ANTICIPATED, text.to_string()));
        }
    }
    let mut ranked: Vec<(&Arc<str>, f64)> = snapshot.file_ranks.iter().map(|(k, r)| (k, *r)).collect();
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(b.0)));
    let mut names = Vec::new();
    for (key, _) in ranked {
        let Some(facts) = snapshot.files.get(key) else { continue };
        let name = facts.definitions.iter().map(|d| d.name.as_str()).find(|name| {
            name.len() >= 4
                && !name.starts_with('_')
                && snapshot.definitions_by_name.get(*name).is_some_and(|defs| defs.len() == 1)
        });
        if let Some(name) = name {
            names.push(name.to_string());
        }
        if names.len() >= DEFINITIONS_PER_WORKSPACE {
            break;
        }
    }
    for name in names {
        questions.push((DEFINED, format!("Where is {name} defined?")));
        questions.push((CALLERS, format!("What calls {name}?")));
    }
    questions
        .into_iter()
        .map(|(kind, text)| {
            let question = Question { text, budget: 2000, ..Question::default() };
            let started = Instant::now();
            let plan = answer::plan_answer(snapshot, Some(learned), &question, false, 400);
            let ms = started.elapsed().as_secs_f64() * 1000.0;
            let source = match plan {
                answer::Plan::Done(answer) => answer.source,
                answer::Plan::Model { .. } => answer::Source::Model,
            };
            Timing { kind, question: question.text, ms, source }
        })
        .collect()
}

#[allow(clippy::too_many_arguments)]
fn build_report(
    args: &EvalArgs,
    data: &Path,
    workspaces_dir: &Path,
    scored: &[Scored],
    workspaces: Vec<WorkspaceRow>,
    skipped: Vec<(String, usize)>,
    fetch_command: Option<String>,
    timings: &[Timing],
    e2e: Vec<E2eRow>,
    e2e_skipped: Option<String>,
) -> Report {
    let curves: Vec<Vec<Curve>> = (0..3).map(|s| scored.iter().map(|r| r.curves[s].clone()).collect()).collect();
    let systems: Vec<SystemReport> = (0..3)
        .map(|s| SystemReport {
            name: SYSTEMS[s],
            overall: eval::mean(scored.iter().map(|r| &r.scores[s])),
            per_project: eval::by_project(scored.iter().map(|r| (r.project.as_str(), &r.scores[s]))),
            curve: CURVE_GRID.iter().map(|&b| (b, eval::mean_recall_within(&curves[s], b))).collect(),
            recall_unbounded: mean_of(curves[s].iter().map(Curve::final_recall)),
            mean_ranking_tokens: mean_of(curves[s].iter().map(|c| c.total_tokens as f64)),
            files_within: std::array::from_fn(|b| mean_of(scored.iter().map(|r| r.files_within[s][b] as f64))),
        })
        .collect();
    let reach: Vec<Reach> = BUDGETS
        .iter()
        .enumerate()
        .map(|(i, &budget)| {
            let target = systems[0].overall.budget_recall[i];
            let tokens: [Option<usize>; 3] = std::array::from_fn(|s| eval::tokens_to_reach(&curves[s], target));
            let ratio = std::array::from_fn(|s| match (tokens[0], tokens[s]) {
                (Some(raw), Some(this)) if this > 0 => Some(raw as f64 / this as f64),
                _ => None,
            });
            Reach { baseline_budget: budget, target_recall: target, tokens, ratio }
        })
        .collect();

    let kinds = [ANTICIPATED, DEFINED, CALLERS];
    let latency = kinds
        .iter()
        .map(|&kind| {
            let all: Vec<&Timing> = timings.iter().filter(|t| t.kind == kind).collect();
            let direct: Vec<f64> = all.iter().filter(|t| t.source.is_direct()).map(|t| t.ms).collect();
            let fallback: Vec<f64> = all.iter().filter(|t| !t.source.is_direct()).map(|t| t.ms).collect();
            Latency {
                kind,
                asked: all.len(),
                direct: direct.len(),
                p50_ms: eval::percentile(&direct, 50.0),
                p99_ms: eval::percentile(&direct, 99.0),
                max_ms: eval::percentile(&direct, 100.0),
                fallback_p50_ms: eval::percentile(&fallback, 50.0),
                fallbacks: all.iter().filter(|t| !t.source.is_direct()).take(10).map(|t| t.question.clone()).collect(),
            }
        })
        .collect();

    let have_notes = workspaces.iter().any(|w| w.notes > 0);
    let notes_absent_in: Vec<String> =
        workspaces.iter().filter(|w| w.notes == 0).map(|w| w.workspace.clone()).collect();
    let amortization = amortize(scored, &workspaces, have_notes);
    Report {
        data: data.display().to_string(),
        workspaces_dir: workspaces_dir.display().to_string(),
        token_counting: TOKEN_COUNTING,
        records: scored.len(),
        projects: scored.iter().map(|r| r.project.as_str()).collect::<HashSet<_>>().len(),
        skipped,
        fetch_command,
        workspaces,
        notes_absent_in,
        systems,
        reach,
        latency,
        amortization,
        e2e_skipped,
        e2e_budget: args.e2e_budget,
        e2e,
    }
}

fn mean_of(values: impl Iterator<Item = f64>) -> f64 {
    let (sum, n) = values.fold((0.0, 0usize), |(s, n), v| (s + v, n + 1));
    if n == 0 { 0.0 } else { sum / n as f64 }
}

/// The paper's accounting with measured figures: the ledger's sleep tokens per workspace, and per
/// question the context tokens each side needs for the same recall (the raw baseline's at 8k, else at
/// 2k if the learned side never gets there) plus the question itself. When only some workspaces have
/// notes, only those (and their records) are counted, so sleep tokens and test tokens describe the
/// same contexts.
fn amortize(scored: &[Scored], workspaces: &[WorkspaceRow], have_notes: bool) -> Amortization {
    let learned = if have_notes { 2 } else { 1 };
    let records: Vec<&Scored> = scored.iter().filter(|r| !have_notes || r.has_notes).collect();
    let contexts: Vec<&WorkspaceRow> = workspaces.iter().filter(|w| !have_notes || w.notes > 0).collect();
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
        let target = eval::mean_recall_within(&raw, budget);
        let with = eval::tokens_to_reach(&mine, target)?;
        let without = eval::tokens_to_reach(&raw, target)?;
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
        eval::tokens_to_reach(&curves(1), target).map(|tokens| tokens as f64 + question_tokens);
    for multiplier in MULTIPLIERS {
        for queries in QUERIES {
            amortization.rows.push(crate::ledger::amortization(sleep_tokens, with, without, queries, multiplier));
        }
        let saved = multiplier * (without - with);
        let break_even = if saved > 0.0 { Some(sleep_tokens / saved) } else { None };
        amortization.break_even_queries.push((multiplier, break_even));
    }
    amortization
}

fn pct(x: f64) -> String {
    format!("{:5.1}", x * 100.0)
}

fn tokens(n: Option<usize>) -> String {
    n.map_or_else(|| "not reached".into(), |n| super::thousands(n as u64))
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

fn render(r: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "reverie eval — {} records in {} workspaces ({} projects), questions from {}",
        r.records,
        r.workspaces.len(),
        r.projects,
        r.data
    );
    let _ = writeln!(out, "Token counting: {}.", r.token_counting);
    if let Some(command) = &r.fetch_command {
        let records: usize = r.skipped.iter().map(|s| s.1).sum();
        let _ = writeln!(
            out,
            "Skipped {} workspaces not fetched ({records} records); fetch them with:\n  {command}",
            r.skipped.len()
        );
    }

    let _ = writeln!(out, "\nWorkspaces");
    let _ = writeln!(
        out,
        "  {:<22} {:>7} {:>7} {:>8} {:>11} {:>12} {:>13} {:>12}",
        "workspace", "records", "files", "index s", "gold found", "notes/fresh", "anticipated", "sleep tokens"
    );
    for w in &r.workspaces {
        let _ = writeln!(
            out,
            "  {:<22} {:>7} {:>7} {:>8.1} {:>11} {:>12} {:>13} {:>12}",
            w.workspace,
            w.records,
            super::thousands(w.files as u64),
            w.index_seconds,
            format!("{}/{}", w.gold_indexed, w.gold_files),
            format!("{}/{}", w.notes, w.fresh_notes),
            w.anticipated_questions,
            super::thousands(w.sleep_tokens),
        );
        if let Some(think) = &w.think {
            let _ = writeln!(
                out,
                "  {:<22} thought {:.0} s: {} stored, {} invalid, {} provider errors; {} + {} tokens{}",
                "",
                think.elapsed_ms / 1000.0,
                think.stored,
                think.invalid,
                think.provider_errors,
                think.prompt_tokens,
                think.completion_tokens,
                think.stopped.as_deref().map(|s| format!(" ({s})")).unwrap_or_default()
            );
        }
    }
    let _ =
        writeln!(out, "  (gold found: the records' gold files that are in the index — a miss there no system can fix)");
    if r.notes_absent_in.len() == r.workspaces.len() {
        let _ = writeln!(
            out,
            "\nNOTE: no workspace has notes, so (c) facts + notes is the same ranking as (b) facts only. \
             Run with --think (configured [llm]) or --think-local MODEL.gguf to measure learned context."
        );
    } else if !r.notes_absent_in.is_empty() {
        let _ = writeln!(out, "\nNOTE: no notes in {} — there (c) equals (b).", r.notes_absent_in.join(", "));
    }

    let header = format!(
        "  {:<22} {:>5} {:>5} {:>5}   {:>5} {:>5} {:>5}   {:>5} {:>5} {:>5}",
        "system (%)", "R@1", "R@5", "R@10", "All@1", "All@5", "All@10", "B@2k", "B@8k", "B@32k"
    );
    let _ = writeln!(
        out,
        "\n1. Retrieval quality — file recall@k, all-gold@k, recall within a token budget (mean over records)"
    );
    let _ = writeln!(out, "{header}");
    for system in &r.systems {
        summary_row(&mut out, system.name, &system.overall);
    }
    let _ = writeln!(out, "\n  Per project:");
    let projects: Vec<&String> = r.systems[0].per_project.keys().collect();
    for project in projects {
        let n = r.systems[0].per_project[project].records;
        let _ = writeln!(out, "  {project} ({n} records)");
        for system in &r.systems {
            if let Some(summary) = system.per_project.get(project) {
                summary_row(&mut out, system.name, summary);
            }
        }
    }
    let _ = writeln!(out, "\n  Budget recall curve (%):");
    let mut line = format!("  {:<22}", "budget");
    for (budget, _) in &r.systems[0].curve {
        let _ = write!(line, " {:>6}", format!("{}k", *budget as f64 / 1000.0));
    }
    let _ = writeln!(out, "{line} {:>9} {:>11}", "unbounded", "mean tokens");
    for system in &r.systems {
        let mut line = format!("  {:<22}", system.name);
        for (_, recall) in &system.curve {
            let _ = write!(line, " {:>6}", pct(*recall).trim());
        }
        let _ = writeln!(
            out,
            "{line} {:>9} {:>11}",
            pct(system.recall_unbounded).trim(),
            super::thousands(system.mean_ranking_tokens as u64)
        );
    }
    let _ = writeln!(out, "  (unbounded: recall of the whole ranking; mean tokens: what the whole ranking takes)");
    let _ = writeln!(out, "  Distinct files in context (mean):");
    for system in &r.systems {
        let [a, b, c] = system.files_within;
        let _ = writeln!(out, "  {:<22} {a:>6.1} within 2k {b:>6.1} within 8k {c:>6.1} within 32k", system.name);
    }

    let _ = writeln!(
        out,
        "\n2. Test-time tokens to reach the raw baseline's recall (smallest budget, exact; ratio = raw's tokens / system's)"
    );
    for reach in &r.reach {
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

    let _ = writeln!(out, "\n3. Direct answers — answer::plan_answer latency (target p50/p99 ≤ 10 ms)");
    let _ = writeln!(
        out,
        "  {:<42} {:>5} {:>7} {:>8} {:>8} {:>8} {:>14}",
        "questions", "asked", "direct", "p50 ms", "p99 ms", "max ms", "fallback p50"
    );
    for l in &r.latency {
        let _ = writeln!(
            out,
            "  {:<42} {:>5} {:>7} {:>8} {:>8} {:>8} {:>14}",
            l.kind,
            l.asked,
            l.direct,
            ms(l.p50_ms),
            ms(l.p99_ms),
            ms(l.max_ms),
            ms(l.fallback_p50_ms)
        );
    }
    let _ = writeln!(
        out,
        "  (percentiles over the direct answers; questions that fell back to ranked context are timed separately)"
    );

    let a = &r.amortization;
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

    let _ = writeln!(out, "\n5. End to end with the local model (context budget {} tokens for both)", r.e2e_budget);
    match &r.e2e_skipped {
        Some(why) => {
            let _ = writeln!(out, "  skipped: {why}");
        }
        None => {
            let _ = writeln!(
                out,
                "  {:<28} {:<15} {:>5} {:>8} {:>8} {:>6} {:>10} {:>5}",
                "record", "context", "items", "ctx tok", "prompt", "compl", "latency s", "gold"
            );
            for row in &r.e2e {
                let _ = writeln!(
                    out,
                    "  {:<28} {:<15} {:>5} {:>8} {:>8} {:>6} {:>10.1} {:>5}{}",
                    row.id,
                    row.context,
                    row.items,
                    row.context_tokens,
                    row.prompt_tokens,
                    row.completion_tokens,
                    row.latency_ms / 1000.0,
                    if row.gold_in_context { "yes" } else { "no" },
                    row.error.as_deref().map(|e| format!("  error: {e}")).unwrap_or_default()
                );
            }
            for label in ["learned (c)", "raw chunks (a)"] {
                let rows: Vec<&E2eRow> = r.e2e.iter().filter(|e| e.context == label && e.error.is_none()).collect();
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
    out
}
