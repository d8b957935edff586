//! `reverie think`: one sleep-time pass now — refresh the index, then write the notes that are
//! missing or stale, within the token budgets, with a progress bar.

use super::{Cli, Format};
use crate::ledger::LedgerStore;
use anyhow::Result;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use std::collections::BTreeMap;
use std::path::PathBuf;
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
    let embed = |snapshot: &crate::snapshot::Snapshot| -> Result<()> {
        let Some(embedder) = &embedder else { return Ok(()) };
        let learned = crate::answer::LearnedContext::new(crate::sleep::NoteStore::notes(&store)?, snapshot);
        let passages = learned.embedding_items();
        let report =
            super::semantic::update(&super::runtime()?, &store, snapshot, &root, &config, &**embedder, &passages)?;
        eprintln!(
            "reverie: semantic index: {} definitions and {} note passages embedded in {:.1} s ({})",
            report.embedded - report.passages,
            report.passages,
            report.elapsed.as_secs_f64(),
            embedder.model_id()
        );
        Ok(())
    };
    embed(&snapshot)?;

    let provider = crate::llm::from_config(&config.llm).map_err(anyhow::Error::from)?;
    if provider.is_none() && !args.dry_run {
        anyhow::bail!("{}\n(or run `reverie think --dry-run` to see what would be sent)", crate::llm::HOW_TO_ENABLE);
    }
    let provider_ref: Option<&dyn crate::llm::Provider> = provider.as_deref().map(|p| p as &dyn crate::llm::Provider);
    let snapshot_fn = move || snapshot.clone();
    let source_root = root.clone();
    let max_size = config.index.max_file_size;
    let source = move |key: &str| crate::workspace::read_source_text(&source_root.join(key), max_size);
    let thinker = crate::sleep::Thinker {
        store: &store,
        provider: provider_ref,
        config: &config.sleep,
        snapshot: &snapshot_fn,
        source: &source,
        // Git history is the one attention signal a command line has.
        signals: crate::sleep::schedule::Signals { churn: crate::git::churn(&roots), ..Default::default() },
        asked: Vec::new(),
    };
    let bar = ProgressBar::hidden();
    if std::io::IsTerminal::is_terminal(&std::io::stderr()) && !args.dry_run {
        bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
    }
    bar.set_style(
        ProgressStyle::with_template("{spinner} thinking [{bar:30}] {pos}/{len} notes  {wide_msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    let dry_runs: Mutex<Vec<serde_json::Value>> = Mutex::new(Vec::new());
    let outcomes: Mutex<BTreeMap<String, usize>> = Mutex::new(BTreeMap::new());
    let failures: Mutex<Vec<String>> = Mutex::new(Vec::new());
    let text_output = args.format == Format::Text;
    let on_event = |event: crate::sleep::ThinkEvent| match event {
        crate::sleep::ThinkEvent::Planned { jobs } => {
            let jobs = args.max_jobs.map_or(jobs, |max| max.min(jobs));
            bar.set_length(jobs as u64);
        }
        crate::sleep::ThinkEvent::Started { job, .. } => {
            bar.set_message(format!("{} {}", job.kind.name(), job.subject))
        }
        crate::sleep::ThinkEvent::Finished { job, outcome } => {
            bar.inc(1);
            if let crate::sleep::Outcome::Invalid(why) | crate::sleep::Outcome::ProviderError(why) = outcome {
                let subject = if job.subject.is_empty() { "(root)" } else { job.subject.as_str() };
                failures
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(format!("{} {subject}: {why}", job.kind.name()));
            }
            let name = match outcome {
                crate::sleep::Outcome::Stored => "stored",
                crate::sleep::Outcome::Invalid(_) => "invalid",
                crate::sleep::Outcome::ProviderError(_) => "provider error",
                crate::sleep::Outcome::Outdated => "outdated",
                crate::sleep::Outcome::Cancelled => "cancelled",
                crate::sleep::Outcome::Blocked => "blocked",
                crate::sleep::Outcome::DryRun => "dry run",
            };
            *outcomes.lock().unwrap_or_else(|e| e.into_inner()).entry(name.into()).or_insert(0) += 1;
        }
        crate::sleep::ThinkEvent::DryRun { job, request, report, estimated_tokens } => {
            if text_output {
                println!(
                    "=== {} {} (~{estimated_tokens} tokens)",
                    job.kind.name(),
                    if job.subject.is_empty() { "(root)" } else { &job.subject }
                );
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
                dry_runs.lock().unwrap_or_else(|e| e.into_inner()).push(serde_json::json!({
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
    };
    let (_active, user_active) = tokio::sync::watch::channel(false);
    let options = crate::sleep::ThinkOptions { dry_run: args.dry_run, max_jobs: args.max_jobs };
    let runtime = super::runtime()?;
    let report = runtime.block_on(thinker.think(&options, user_active, &on_event));
    bar.finish_and_clear();
    store.flush()?;

    let snapshot = snapshot_fn();
    if report.stored > 0
        && let Err(err) = embed(&snapshot)
    {
        // The notes are stored; only their vectors wait for the next pass.
        eprintln!("reverie: the new notes were not embedded ({err:#}); the next `think` or idle pass will");
    }
    let counts =
        crate::sleep::note_counts(&store, &snapshot, &crate::sleep::model_id(provider_ref), &config.sleep.kinds());
    let totals = crate::ledger::totals(&store.ledger(0)?);
    match args.format {
        Format::Json => {
            let json = serde_json::json!({
                "report": report,
                "failures": failures.into_inner().unwrap_or_default(),
                "notes": counts,
                "ledger": totals,
                "dry_run": dry_runs.into_inner().unwrap_or_default(),
            });
            println!("{}", serde_json::to_string_pretty(&json)?);
        }
        Format::Text => {
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
                println!(
                    "  tokens this pass: {} prompt + {} completion",
                    report.prompt_tokens, report.completion_tokens
                );
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
            let failures = failures.into_inner().unwrap_or_default();
            for failure in failures.iter().take(SHOWN_FAILURES) {
                println!("  failed: {failure}");
            }
            if failures.len() > SHOWN_FAILURES {
                println!("  … and {} more failed (`--format json` lists all)", failures.len() - SHOWN_FAILURES);
            }
        }
    }
    Ok(())
}
