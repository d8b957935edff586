//! `reverie eval`: the measurements that say whether sleep-time compute pays, on the localization
//! dev set (real bug reports with the files their fix changed, asked against PyPI sdists; see
//! `shared/data/README.md`).
//!
//! For each record whose workspace is fetched, the workspace is indexed (into the usual cache, so a
//! second run is warm), optionally thought about (`--think`, `--think-local`: `think.rs`), and its
//! question is ranked three ways (`measure.rs`), each scored by `crate::eval`:
//!
//! - **(a) raw**: BM25 over raw code — every indexed file cut into 60-line windows, each window's
//!   text and path tokenized with `search::tokenize` (`raw.rs`: the baseline a chunk-and-retrieve
//!   assistant has);
//! - **(b) facts**: `answer::candidates` with the facts rankers only (quoted error messages, named
//!   definitions, BM25 over facts, personalized PageRank), no notes;
//! - **(c) facts + notes**: every ranker, with the learned context built from the workspace's stored
//!   notes (summaries, playbooks, anticipated questions). With no notes it equals (b), and the output
//!   says so.
//!
//! Tokens are counted the same way for every system: `tokens::estimate_tokens` (3.5 characters per
//! token) of the item exactly as `answer::model_request` puts it in a prompt — its citation line
//! (`[n] path:lines`, `answer::citation`) and its text. For facts and notes the text is the signature and doc,
//! or the note; for raw chunks, the window's whole text.
//!
//! Then: the test-time tokens each system needs to reach the raw baseline's recall at 8k (and 2k,
//! 32k); the latency of direct answers (`direct.rs`: anticipated questions asked back, "where is X
//! defined", "what calls X"); the amortized cost per question from the ledger's sleep-time tokens;
//! and, when built with `--features local` and a GGUF model is at hand, a few questions answered end
//! to end by the local model with the learned context and with raw chunks at the same budget
//! (`e2e.rs`). The figures and tables are `crate::eval`'s; `report.rs` puts the report together.
//!
//! `--ranking` and `--questions` hand over to `rank.rs`, the ranking benchmark. Switches for it, for
//! measuring: `REVERIE_EVAL_SEMANTIC=1` (the semantic channel at base commits),
//! `REVERIE_EVAL_VECTORS=FILE` (every vector remembered by its text across states and runs,
//! `remembered.rs`), `REVERIE_EVAL_ADAPTER=off` (no adapter fitted), `REVERIE_EVAL_VARIANTS` (other
//! fusion weights and history voting, measured beside the defaults), `REVERIE_EVAL_DUMP=FILE` (each question's first files per system,
//! one JSON line each, for studying the fusion offline).

mod baselines;
mod checkouts;
mod count;
mod direct;
mod e2e;
mod measure;
mod rank;
mod raw;
mod remembered;
mod report;
mod think;
mod workspace;

use super::{Cli, Format};
use crate::eval::{self, Record};
use anyhow::{Context, Result};
use checkouts::Checkout;
use clap::Args;
use measure::{Gathered, Setup};
use rank::Case;
use report::{Inputs, Report};
use std::path::{Path, PathBuf};

/// The question set when neither `--data` nor `REVERIE_DEV_SET` names one: the dev set in `shared/`
/// beside a checkout of the repository, from the current directory (the checkout's root).
const DEFAULT_DATA: &str = "../shared/data/dev-localization.jsonl";

#[derive(Args, Debug)]
#[command(after_help = "Examples:\n  \
shared/data/fetch-dev-workspaces.sh ~/.cache/reverie-dev-workspaces Django==4.0.3 sympy==1.1.1\n  \
reverie eval --project Django --limit 20\n  \
reverie eval --think-local \"$(scripts/fetch-model.sh)\" --think-jobs 20 --format json")]
pub struct EvalArgs {
    /// Where the dev-set workspaces are, one `<package>-<version>/` folder each [default:
    /// ~/.cache/reverie-dev-workspaces]. Missing ones are skipped with the command that fetches them.
    #[arg(long, value_name = "DIR")]
    pub workspaces: Option<PathBuf>,
    /// The question set, JSON lines. A relative path is from the current directory: the default is the
    /// dev set beside a checkout of the repository, so run from the checkout's root or pass the file.
    #[arg(long, value_name = "FILE", env = "REVERIE_DEV_SET", default_value = DEFAULT_DATA)]
    pub data: PathBuf,
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
    /// else SmolLM2-135M-Instruct.Q4_1.gguf in ~/.cache/reverie/models, where scripts/fetch-model.sh puts it].
    #[arg(long, value_name = "MODEL.gguf")]
    pub e2e_model: Option<PathBuf>,
    /// The context budget of end-to-end answers, the same for both contexts.
    #[arg(long, value_name = "TOKENS", default_value_t = 2000)]
    pub e2e_budget: usize,
    /// Measure only the ranking — reverie and its channels beside whole-file and chunk BM25, in the
    /// same run — on the dev set (no thinking, no end-to-end answers).
    #[arg(long)]
    pub ranking: bool,
    /// With --ranking: ask each record at its `base_commit` in the git working copies in DIR
    /// (`DIR/<owner>__<name>`, built by shared/data/make-dev-checkouts.sh; HEAD is moved), a
    /// project's records in commit order, with the past-changes channel over the commits reachable
    /// from that commit. Gold files are `gold_paths_git`.
    #[arg(long, value_name = "DIR", requires = "ranking")]
    pub checkouts: Option<PathBuf>,
    /// Measure the ranking on the natural-language question set in DIR (`tests/questions`: one
    /// `<project>/questions.jsonl` each), with workspaces in --workspaces (default
    /// ~/.cache/reverie-questions; fetch with tests/questions/fetch-workspaces.sh).
    #[arg(long, value_name = "DIR", conflicts_with = "ranking")]
    pub questions: Option<PathBuf>,
    /// With --ranking or --questions: fuse with these channel weights instead of the built-in ones,
    /// e.g. `graph=0,semantic=1.5` (for tuning; the names are `answer::Weights`' fields)
    #[arg(long, value_name = "NAME=N,...")]
    pub weights: Option<String>,
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

/// The fusion weights to measure with: the built-in ones, or `--weights`' overrides of them.
fn weights(args: &EvalArgs) -> Result<crate::answer::Weights> {
    match &args.weights {
        Some(overrides) => {
            crate::answer::Weights::with_overrides(overrides).map_err(|e| anyhow::anyhow!("--weights: {e}"))
        }
        None => Ok(crate::answer::WEIGHTS),
    }
}

pub fn run(cli: &Cli, args: &EvalArgs) -> Result<()> {
    if let Some(dir) = &args.questions {
        return run_questions(cli, args, dir);
    }
    let data = args.data.clone();
    let text = std::fs::read_to_string(&data).map_err(|err| unreadable_data(&data, &err))?;
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
    if let (true, Some(dir)) = (args.ranking, &args.checkouts) {
        return run_checkouts(cli, args, records, dir);
    }
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
                .map(|r| Case {
                    id: r.id.clone(),
                    group: r.pypi.package.clone(),
                    kind: "bug report".into(),
                    question: r.question.clone(),
                    gold_files: r.gold_paths.clone(),
                    gold_definitions: Vec::new(),
                    base_commit: None,
                })
                .collect();
            groups.push((workspaces_dir.join(&name), cases));
        }
        return rank::run(cli, "localization dev set (bug reports)", groups, &weights(args)?, args.format);
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
    let (e2e_provider, e2e_skipped) = e2e::provider(args);
    let setup = Setup {
        cli,
        args,
        runtime,
        e2e_provider,
        e2e_quota: if args.e2e == 0 { 0 } else { args.e2e.div_ceil(todo.len()) },
    };
    let mut gathered = Gathered::default();
    for (name, group) in &todo {
        setup.workspace(name, &workspaces_dir.join(name), group, &mut gathered)?;
    }
    let e2e_skipped = if setup.e2e_provider.is_some() && gathered.e2e.is_empty() && args.e2e > 0 {
        Some(format!("no question short enough (≤ {} tokens) among those measured", e2e::MAX_QUESTION_TOKENS))
    } else {
        e2e_skipped
    };

    let inputs = Inputs {
        data: data.display().to_string(),
        workspaces_dir: workspaces_dir.display().to_string(),
        skipped,
        fetch_command,
        e2e_skipped,
        e2e_budget: args.e2e_budget,
    };
    let report = Report::new(inputs, gathered);
    match args.format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&report)?),
        Format::Text => print!("{}", report.render()),
    }
    Ok(())
}

/// Why the question set `data` cannot be read, and what to pass instead.
fn unreadable_data(data: &Path, err: &std::io::Error) -> anyhow::Error {
    let what = if data == Path::new(DEFAULT_DATA) {
        let here = std::env::current_dir().map_or_else(|_| "?".into(), |d| d.display().to_string());
        format!(
            "that is the default: the dev set beside a checkout of the repository, looked up from the current \
             directory {here}. Run from the checkout's root, or pass --data FILE (or set REVERIE_DEV_SET=FILE)"
        )
    } else {
        "pass --data FILE (or set REVERIE_DEV_SET=FILE): the dev set's JSON lines, dev-localization.jsonl".into()
    };
    anyhow::anyhow!("cannot read the question set {}: {err}\n  {what}", data.display())
}

/// `--ranking --checkouts DIR`: each record at its base commit in its project's working copy,
/// a project's records in commit order (so each move, and the index refresh, is small).
fn run_checkouts(cli: &Cli, args: &EvalArgs, records: Vec<Record>, dir: &Path) -> Result<()> {
    let mut groups: Vec<(PathBuf, Vec<Record>)> = Vec::new();
    for record in records {
        let Some(_) = &record.base_commit else {
            eprintln!("reverie eval: {} names no base_commit; skipped", record.id);
            continue;
        };
        let folder = dir.join(record.repo.replace('/', "__"));
        match groups.iter_mut().find(|(f, _)| *f == folder) {
            Some((_, group)) => group.push(record),
            None => groups.push((folder, vec![record])),
        }
    }
    let (present, missing): (Vec<_>, Vec<_>) = groups.into_iter().partition(|(folder, _)| folder.join(".git").exists());
    for (folder, group) in &missing {
        eprintln!(
            "reverie eval: skipping {} ({} records): no working copy; build it with shared/data/make-dev-checkouts.sh",
            folder.display(),
            group.len()
        );
    }
    let mut left = args.limit.unwrap_or(usize::MAX);
    let mut groups = Vec::new();
    for (folder, mut group) in present {
        let checkout = Checkout::open(&folder)?;
        let bases: Vec<String> = group.iter().filter_map(|r| r.base_commit.clone()).collect();
        let times = checkout.commit_times(&bases)?;
        group.sort_by_key(|r| (r.base_commit.as_ref().and_then(|b| times.get(b)).copied(), r.id.clone()));
        group.truncate(left);
        left -= group.len();
        let cases: Vec<Case> = group
            .into_iter()
            .map(|r| Case {
                id: r.id.clone(),
                group: r.pypi.package.clone(),
                kind: "bug report".into(),
                question: r.question.clone(),
                gold_files: r.gold_paths_git.clone().unwrap_or_else(|| r.gold_paths.clone()),
                gold_definitions: Vec::new(),
                base_commit: r.base_commit.clone(),
            })
            .collect();
        if !cases.is_empty() {
            groups.push((folder, cases));
        }
    }
    anyhow::ensure!(!groups.is_empty(), "no working copy of these records is in {}", dir.display());
    rank::run(cli, "localization dev set at base commits, with history", groups, &weights(args)?, args.format)
}

/// `--questions DIR`: the natural-language set, ranking only.
fn run_questions(cli: &Cli, args: &EvalArgs, dir: &Path) -> Result<()> {
    let cases = rank::load_nl_questions(dir)?;
    let workspaces = match &args.workspaces {
        Some(dir) => dir.clone(),
        None => home()?.join(".cache/reverie-questions"),
    };
    let mut groups: Vec<(PathBuf, Vec<Case>)> = Vec::new();
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
    rank::run(cli, "natural-language questions", present, &weights(args)?, args.format)
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
