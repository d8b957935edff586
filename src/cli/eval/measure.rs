//! Measuring one workspace: index it (into the usual cache, so a second run is warm), think about it
//! if asked, rank each record's question three ways — (a) raw chunks, (b) facts, (c) facts + notes —
//! and score them with `crate::eval`, time direct answers, and answer a few records end to end.
//!
//! Every ranking passes through `answer::select` without a budget (at most `MAX_PER_FILE` items per
//! file, as answering does), so the three are treated alike. Tokens are counted the same way for every
//! system (`count.rs`): the item exactly as `answer::model_request` puts it in a prompt.

use super::count::{metric_items, walk};
use super::raw::{RawChunks, text_of};
use super::{EvalArgs, direct, e2e, think};
use crate::answer::{self, LearnedContext, Question, Rankers};
use crate::cli::Cli;
use crate::eval::Record;
use crate::eval::figures::{E2E_CONTEXTS, E2eRow, Scored, Timing};
use crate::ledger::LedgerStore;
use crate::sleep::NoteStore;
use crate::tokens::estimate_tokens;
use anyhow::Result;
use serde::Serialize;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

/// What every workspace's measurement shares.
pub(super) struct Setup<'a> {
    pub cli: &'a Cli,
    pub args: &'a EvalArgs,
    pub runtime: tokio::runtime::Runtime,
    /// The model for end-to-end answers, if there is one.
    pub e2e_provider: Option<Arc<crate::llm::Resilient>>,
    /// End-to-end answers per workspace (records, each answered with both contexts).
    pub e2e_quota: usize,
}

/// One workspace measured.
#[derive(Clone, Debug, Serialize)]
pub(super) struct WorkspaceRow {
    pub workspace: String,
    pub records: usize,
    pub files: usize,
    pub index_seconds: f64,
    pub parsed: usize,
    /// Gold files of its records, and how many of them are in the index.
    pub gold_files: usize,
    pub gold_indexed: usize,
    pub think: Option<crate::sleep::ThinkReport>,
    pub notes: usize,
    pub fresh_notes: usize,
    pub anticipated_questions: usize,
    pub sleep_tokens: u64,
    pub sleep_calls: u64,
}

/// The results of the workspaces measured so far.
#[derive(Default)]
pub(super) struct Gathered {
    pub scored: Vec<Scored>,
    pub rows: Vec<WorkspaceRow>,
    pub timings: Vec<Timing>,
    pub e2e: Vec<E2eRow>,
}

impl Setup<'_> {
    /// Measures the workspace `name` in `dir` on its records `group`; adds the results to `into`.
    pub(super) fn workspace(&self, name: &str, dir: &Path, group: &[Record], into: &mut Gathered) -> Result<()> {
        let (cli, args, runtime) = (self.cli, self.args, &self.runtime);
        let root = crate::cli::workspace_root(dir)?;
        eprintln!("reverie eval: {name}: {} record(s)", group.len());
        let config = crate::cli::load_config(&root);
        let roots = vec![root.clone()];
        let store = crate::cli::open_store(cli, &roots)?;
        let report = crate::cli::index::index_with_progress(&store, &roots, &config)?;
        let snapshot = Arc::new(crate::index::snapshot(&store)?);
        eprintln!(
            "reverie eval: {name}: {} files indexed in {:.1} s ({} parsed)",
            report.files,
            report.elapsed_ms / 1000.0,
            report.parsed
        );

        let think = match think::provider(args, &config)? {
            Some(provider) => {
                Some(think::think(&store, &root, &config, snapshot.clone(), provider.as_ref(), args, runtime)?)
            }
            None => None,
        };
        let learned = Arc::new(LearnedContext::new(store.notes()?, &snapshot));
        let fresh_notes = learned.fresh.iter().filter(|f| **f).count();
        let max_file_size = config.index.max_file_size;
        let started = Instant::now();
        let raw = RawChunks::build(&root, &snapshot, max_file_size);
        snapshot.facts_index();
        eprintln!(
            "reverie eval: {name}: {} raw chunks and the facts index built in {:.1} s; {} notes ({fresh_notes} fresh)",
            raw.len(),
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
            let items = rankings.each_ref().map(|r| metric_items(r));
            into.scored.push(Scored::new(
                record.pypi.package.clone(),
                !learned.is_empty(),
                items.each_ref().map(Vec::as_slice),
                &record.gold_paths,
                estimate_tokens(&record.question),
            ));

            if let Some(provider) = &self.e2e_provider
                && e2e_here < self.e2e_quota
                && into.e2e.len() / 2 < args.e2e
                && estimate_tokens(&record.question) <= e2e::MAX_QUESTION_TOKENS
            {
                e2e_here += 1;
                let mut raw_context = walk(&rankings[0], args.e2e_budget);
                for item in &mut raw_context {
                    item.text = text_of(&root, item, max_file_size);
                }
                let [learned_label, raw_label] = E2E_CONTEXTS;
                let contexts = [(learned_label, walk(&rankings[2], args.e2e_budget)), (raw_label, raw_context)];
                for (label, context) in contexts {
                    eprintln!("reverie eval: {name}: answering {} with {label} context", record.id);
                    let row = e2e::answer(provider.as_ref(), &store, record, label, &context, runtime);
                    into.e2e.push(row);
                }
            }
        }

        into.timings.extend(direct::latencies(&snapshot, &learned, runtime));
        let totals = crate::ledger::totals(&store.ledger(0)?);
        store.flush()?;
        into.rows.push(WorkspaceRow {
            workspace: name.to_string(),
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
        Ok(())
    }
}
