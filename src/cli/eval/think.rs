//! The thinking pass of `reverie eval --think` / `--think-local`: one sleep-time pass per workspace,
//! as `reverie think` does it, with at most `--think-jobs` notes, so that (c) has notes to use.

use super::EvalArgs;
use crate::llm::{LlmConfig, Provider};
use crate::snapshot::Snapshot;
use anyhow::Result;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

/// The provider of the thinking pass, if one was asked for.
pub(super) fn provider(args: &EvalArgs, config: &crate::config::Config) -> Result<Option<Arc<crate::llm::Resilient>>> {
    if let Some(model) = &args.think_local {
        let llm = LlmConfig {
            provider: crate::llm::LlmProvider::Local,
            model_path: Some(model.clone()),
            ..LlmConfig::default()
        };
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
pub(super) fn think(
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
        // Sdists have no history.
        past: None,
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
