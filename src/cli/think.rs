//! `reverie think`: the idle work, now — refresh the index, then each idle job in turn: embed what
//! the semantic index lacks, mine the project's history, fit the semantic space to the project's
//! own pairs (`embed::adapter`), write the notes that are missing or stale
//! (within the token budgets, with a progress bar), and embed the new notes' passages.
//!
//! Without a chat model, every job that needs none still runs and reports; the notes are skipped
//! with one line saying they need a model, and the command succeeds. With `--format json` the
//! output holds one object per job (`semantic`, `history`, `adapter`, `notes`). Each job's last run is kept for
//! `reverie status` (`jobs`).

use super::{Cli, Format};
use crate::config::Config;
use crate::embed::adapter::AdapterReport;
use crate::history::HistoryReport;
use crate::jobs::{Job, JobRun, JobStore};
use crate::ledger::LedgerStore;
use crate::snapshot::Snapshot;
use crate::store::Store;
use anyhow::Result;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

#[derive(Args, Debug)]
pub struct ThinkArgs {
    /// The folder to think about.
    #[arg(default_value = ".")]
    pub path: PathBuf,
    /// Print what would be sent (after redaction) and the token estimate; call nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Stop after this many notes.
    #[arg(long, value_name = "N")]
    pub max_jobs: Option<usize>,
    #[command(flatten)]
    pub model: super::ModelArgs,
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

/// Failed jobs named, with why, after a pass (the rest are counted).
const SHOWN_FAILURES: usize = 5;

/// The semantic job's report, as `--format json` prints it.
#[derive(Clone, Debug, Serialize)]
struct SemanticJob {
    /// Definitions embedded by this run.
    embedded: usize,
    /// Note passages embedded by this run.
    passages: usize,
    seconds: f64,
    model: String,
}

pub fn run(cli: &Cli, args: &ThinkArgs) -> Result<()> {
    let root = super::workspace_root(&args.path)?;
    let config = args.model.apply(super::load_config(&root));
    let roots = vec![root.clone()];
    let store = super::open_store(cli, &roots)?;
    super::index::index_with_progress(&store, &roots, &config)?;
    let snapshot = Arc::new(crate::index::snapshot(&store)?);
    // The semantic index first: no tokens, and every later question uses it. The notes this pass
    // writes are embedded after it.
    let embedder = if args.dry_run { None } else { super::semantic::embedder(cli, &config) };
    let semantic = match &embedder {
        Some(embedder) => Some(embed(&store, &snapshot, &root, &config, &**embedder)?),
        None => None,
    };
    let history = if args.dry_run { None } else { Some(mine_history(&store, &roots, &snapshot)?) };
    // The adapter learns from the vectors and the history just brought up to date.
    let adapter = match &embedder {
        Some(embedder) => Some(fit_adapter(&store, &snapshot, &**embedder)?),
        None => None,
    };
    let jobs = Jobs { semantic: semantic.as_ref(), history: history.as_ref(), adapter: adapter.as_ref() };

    let provider = crate::llm::from_config(&config.llm).map_err(anyhow::Error::from)?;
    if provider.is_none() && !args.dry_run {
        return report_without_notes(args.format, &jobs);
    }
    let provider_ref: Option<&dyn crate::llm::Provider> = provider.as_deref().map(|p| p as &dyn crate::llm::Provider);
    let notes = write_notes(&store, snapshot, &root, &roots, &config, provider_ref, args)?;
    if notes.report.stored > 0
        && let Some(embedder) = &embedder
        && let Err(err) = embed(&store, &notes.snapshot, &root, &config, &**embedder)
    {
        // The notes are stored; only their vectors wait for the next pass.
        eprintln!("reverie: the new notes were not embedded ({err:#}); the next `think` or idle pass will");
    }
    report_with_notes(&store, args, &config, provider_ref, &jobs, notes)
}

/// The reports of the jobs that need no chat model.
struct Jobs<'a> {
    semantic: Option<&'a SemanticJob>,
    history: Option<&'a HistoryReport>,
    adapter: Option<&'a AdapterReport>,
}

/// Fits the semantic space to the project's pairs (`embed::adapter`), and keeps the run for `status`.
fn fit_adapter(store: &Store, snapshot: &Snapshot, embedder: &dyn crate::embed::Embedder) -> Result<AdapterReport> {
    let commits = crate::history::stored::all_commits(store)?;
    let report =
        super::runtime()?.block_on(crate::embed::adapter::refresh(store, snapshot, &commits, embedder, &|| false))?;
    crate::embed::adapter::record_run(store, &embedder.model_id(), &report)?;
    Ok(report)
}

/// Embeds what the semantic index lacks (definitions, and the stored notes' passages), and keeps the
/// run for `status`.
fn embed(
    store: &Store,
    snapshot: &Snapshot,
    root: &Path,
    config: &Config,
    embedder: &dyn crate::embed::Embedder,
) -> Result<SemanticJob> {
    let learned = crate::answer::LearnedContext::new(crate::sleep::NoteStore::notes(store)?, snapshot);
    let passages = learned.embedding_items();
    let report = super::semantic::update(&super::runtime()?, store, snapshot, root, config, embedder, &passages)?;
    let outcome = if report.cancelled { "cancelled" } else { "done" };
    let run =
        JobRun::ended_now(report.elapsed.as_secs_f64(), report.files_done as u64, report.files_left as u64, outcome);
    store.put_job_run(Job::Semantic, &run)?;
    Ok(SemanticJob {
        embedded: report.embedded - report.passages,
        passages: report.passages,
        seconds: report.elapsed.as_secs_f64(),
        model: embedder.model_id().to_string(),
    })
}

/// Mines the commits new since the last pass, with a progress bar on a terminal.
pub(super) fn mine_history(store: &Store, roots: &[PathBuf], snapshot: &Snapshot) -> Result<HistoryReport> {
    let bar = progress_bar("{spinner} history [{bar:30}] {pos}/{len} commits", false);
    let progress = |p: crate::history::Progress| {
        bar.set_length(p.total as u64);
        bar.set_position(p.done as u64);
    };
    let cancel = std::sync::atomic::AtomicBool::new(false);
    let report = crate::history::refresh(store, roots, snapshot, &cancel, &progress)?;
    bar.finish_and_clear();
    Ok(report)
}

fn progress_bar(template: &str, hidden: bool) -> ProgressBar {
    let bar = ProgressBar::hidden();
    if std::io::IsTerminal::is_terminal(&std::io::stderr()) && !hidden {
        bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
    }
    bar.set_style(
        ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar()).progress_chars("=> "),
    );
    bar
}

/// What the notes job did.
struct NotesOutcome {
    report: crate::sleep::ThinkReport,
    /// The facts after the pass.
    snapshot: Arc<Snapshot>,
    failures: Vec<String>,
    dry_runs: Vec<serde_json::Value>,
}

/// Writes the notes that are missing or stale with the model (or, with `--dry-run`, prints what
/// would be sent).
fn write_notes(
    store: &Store,
    snapshot: Arc<Snapshot>,
    root: &Path,
    roots: &[PathBuf],
    config: &Config,
    provider: Option<&dyn crate::llm::Provider>,
    args: &ThinkArgs,
) -> Result<NotesOutcome> {
    let snapshot_fn = move || snapshot.clone();
    let source_root = root.to_path_buf();
    let max_size = config.index.max_file_size;
    let source = move |key: &str| crate::workspace::read_source_text(&source_root.join(key), max_size);
    let thinker = crate::sleep::Thinker {
        store,
        provider,
        config: &config.sleep,
        snapshot: &snapshot_fn,
        source: &source,
        // Git history is the one attention signal a command line has.
        signals: crate::sleep::schedule::Signals { churn: crate::git::churn(roots), ..Default::default() },
        asked: Vec::new(),
        past: crate::history::load_past_changes(store).unwrap_or_else(|err| {
            tracing::warn!("could not read the mined history: {err:#}");
            None
        }),
    };
    let bar = progress_bar("{spinner} thinking [{bar:30}] {pos}/{len} notes  {wide_msg}", args.dry_run);
    let events = NoteEvents { bar: &bar, args, dry_runs: Mutex::default(), failures: Mutex::default() };
    let (_active, user_active) = tokio::sync::watch::channel(false);
    let options = crate::sleep::ThinkOptions { dry_run: args.dry_run, max_jobs: args.max_jobs };
    let report = super::runtime()?.block_on(thinker.think(&options, user_active, &|event| events.on(event)));
    bar.finish_and_clear();
    store.flush()?;
    Ok(NotesOutcome {
        report,
        snapshot: snapshot_fn(),
        failures: events.failures.into_inner().unwrap_or_default(),
        dry_runs: events.dry_runs.into_inner().unwrap_or_default(),
    })
}

/// What the notes pass reports as it goes: the progress bar, failures, dry-run prompts.
struct NoteEvents<'a> {
    bar: &'a ProgressBar,
    args: &'a ThinkArgs,
    dry_runs: Mutex<Vec<serde_json::Value>>,
    failures: Mutex<Vec<String>>,
}

impl NoteEvents<'_> {
    fn on(&self, event: crate::sleep::ThinkEvent) {
        use crate::sleep::{Outcome, ThinkEvent};
        match event {
            ThinkEvent::Planned { jobs } => {
                let jobs = self.args.max_jobs.map_or(jobs, |max| max.min(jobs));
                self.bar.set_length(jobs as u64);
            }
            ThinkEvent::Started { job, .. } => self.bar.set_message(format!("{} {}", job.kind.name(), job.subject)),
            ThinkEvent::Finished { job, outcome } => {
                self.bar.inc(1);
                if let Outcome::Invalid(why) | Outcome::ProviderError(why) = outcome {
                    let subject = if job.subject.is_empty() { "(root)" } else { job.subject.as_str() };
                    let failure = format!("{} {subject}: {why}", job.kind.name());
                    self.failures.lock().unwrap_or_else(|e| e.into_inner()).push(failure);
                }
            }
            ThinkEvent::DryRun { job, request, report, estimated_tokens } => {
                let subject = if job.subject.is_empty() { "(root)" } else { job.subject.as_str() };
                if self.args.format == Format::Text {
                    println!("=== {} {subject} (~{estimated_tokens} tokens)", job.kind.name());
                    if !report.redactions.is_empty() {
                        println!("redacted: {}", report.redactions.join(", "));
                    }
                    if report.source_withheld {
                        println!("source withheld: the file looks like it holds secrets");
                    }
                    println!("--- system\n{}", request.system);
                    for message in &request.messages {
                        println!("--- {:?}\n{}", message.role, message.content);
                    }
                    println!();
                } else {
                    self.dry_runs.lock().unwrap_or_else(|e| e.into_inner()).push(serde_json::json!({
                        "kind": job.kind.name(),
                        "subject": job.subject,
                        "estimated_tokens": estimated_tokens,
                        "redactions": report.redactions,
                        "source_withheld": report.source_withheld,
                        "system": request.system,
                        "messages": request.messages,
                    }));
                }
            }
        }
    }
}

/// The one line that says notes were skipped.
const NOTES_NEED_A_MODEL: &str =
    "notes: skipped, they need a chat model — none is configured ([llm] in reverie.toml, or --local-model F.gguf)";

/// The report when no chat model is configured: the jobs that ran, and one line for the notes.
fn report_without_notes(format: Format, jobs: &Jobs) -> Result<()> {
    match format {
        Format::Json => {
            let json = serde_json::json!({
                "semantic": jobs.semantic,
                "history": jobs.history,
                "adapter": jobs.adapter,
                "notes": {"skipped": "no chat model configured", "how_to_enable": crate::llm::HOW_TO_ENABLE},
            });
            println!("{}", serde_json::to_string_pretty(&json)?);
        }
        Format::Text => {
            print_jobs(jobs);
            println!("{NOTES_NEED_A_MODEL}");
        }
    }
    Ok(())
}

/// One line per job that ran (and the history's status lines).
fn print_jobs(jobs: &Jobs) {
    if let Some(job) = jobs.semantic {
        println!(
            "semantic: {} definitions and {} note passages embedded in {:.1} s ({})",
            job.embedded, job.passages, job.seconds, job.model
        );
    }
    if let Some(report) = jobs.history {
        println!("{}", history_line(report));
        for line in &report.status {
            println!("  history: {line}");
        }
    }
    if let Some(report) = jobs.adapter {
        println!(
            "adapter: {} ({} pairs, {} questions embedded, {} epochs in {:.1} s)",
            report.summary, report.pairs, report.embedded, report.epochs, report.seconds
        );
    }
}

fn history_line(report: &HistoryReport) -> String {
    let mut line = format!(
        "history: {} commits, {} new, {} dropped in {:.1} s",
        super::thousands(report.commits as u64),
        super::thousands(report.new as u64),
        super::thousands(report.dropped as u64),
        report.seconds
    );
    if report.pending > 0 {
        line.push_str(&format!(", {} left for the next pass", super::thousands(report.pending as u64)));
    }
    line
}

/// The report after the notes job ran (or, with `--dry-run`, after it showed what it would send).
fn report_with_notes(
    store: &Store,
    args: &ThinkArgs,
    config: &Config,
    provider: Option<&dyn crate::llm::Provider>,
    jobs: &Jobs,
    notes: NotesOutcome,
) -> Result<()> {
    let report = &notes.report;
    let counts =
        crate::sleep::note_counts(store, &notes.snapshot, &crate::sleep::model_id(provider), &config.sleep.kinds());
    if !args.dry_run {
        let run = JobRun::ended_now(
            report.elapsed_ms / 1000.0,
            counts.fresh as u64,
            (counts.stale + counts.missing) as u64,
            report.stopped.clone().unwrap_or_else(|| "done".into()),
        );
        store.put_job_run(Job::Notes, &run)?;
    }
    let totals = crate::ledger::totals(&store.ledger(0)?);
    if args.format == Format::Json {
        let json = serde_json::json!({
            "semantic": jobs.semantic,
            "history": jobs.history,
            "adapter": jobs.adapter,
            "report": report,
            "failures": notes.failures,
            "notes": counts,
            "ledger": totals,
            "dry_run": notes.dry_runs,
        });
        println!("{}", serde_json::to_string_pretty(&json)?);
        return Ok(());
    }
    print_jobs(jobs);
    if args.dry_run {
        println!(
            "Dry run: {} notes would be written, ~{} tokens; nothing was sent.",
            report.planned.min(args.max_jobs.unwrap_or(usize::MAX)),
            report.prompt_tokens
        );
    } else {
        println!(
            "Thought for {:.1} s: {} notes stored, {} invalid, {} provider errors, {} outdated, {} waiting on children",
            report.elapsed_ms / 1000.0,
            report.stored,
            report.invalid,
            report.provider_errors,
            report.outdated,
            report.blocked
        );
        println!("  tokens this pass: {} prompt + {} completion", report.prompt_tokens, report.completion_tokens);
    }
    println!(
        "  notes: {} fresh, {} stale, {} missing, {} failed",
        counts.fresh, counts.stale, counts.missing, counts.failed
    );
    println!(
        "  ledger: sleep {} tokens in {} calls · test {} tokens in {} calls",
        totals.sleep.tokens(),
        totals.sleep.calls,
        totals.test.tokens(),
        totals.test.calls
    );
    if let Some(stopped) = &report.stopped {
        println!("  stopped: {stopped}");
    }
    for failure in notes.failures.iter().take(SHOWN_FAILURES) {
        println!("  failed: {failure}");
    }
    if notes.failures.len() > SHOWN_FAILURES {
        println!("  … and {} more failed (`--format json` lists all)", notes.failures.len() - SHOWN_FAILURES);
    }
    Ok(())
}
