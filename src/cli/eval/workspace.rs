//! One workspace of `eval --ranking` / `--questions` (`rank.rs`) made ready to rank in: indexed (at a
//! base commit, with history), its snapshot and text indexes, the plain baselines' terms, the raw
//! chunks, the learned context, the semantic channel's nearest definitions (the space fitted to the
//! project by the adapter, as the server's idle pass fits it) and the past changes mined from its
//! history.
//!
//! Guarantees: one embedder serves every workspace (the first configuration's `[embed]` that asks for
//! it), each workspace's vectors brought up to date in its own store first; the semantic channel is
//! off at base commits unless `REVERIE_EVAL_SEMANTIC=1` (embedding every definition again at each
//! would take hours); chunk BM25 is built only without history. What each step cost goes to stderr and
//! into the notes of the report (`Channels::semantic_note`, `Channels::history_note`).

use super::baselines::{Baselines, FileTerms};
use super::checkouts::Checkout;
use super::raw::RawChunks;
use crate::answer::LearnedContext;
use crate::cli::Cli;
use crate::cli::semantic::Nearest;
use crate::config::Config;
use crate::embed::Embedder;
use crate::search::PastChanges;
use crate::snapshot::Snapshot;
use crate::store::Store;
use anyhow::Result;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

/// A workspace folder of the question set, opened: its store, configuration and, with history, the
/// checkout moved from base commit to base commit.
pub(super) struct Workspace {
    dir: PathBuf,
    root: PathBuf,
    roots: Vec<PathBuf>,
    config: Config,
    store: Store,
    checkout: Option<Checkout>,
    file_terms: FileTerms,
}

impl Workspace {
    pub(super) fn open(cli: &Cli, dir: &Path, with_history: bool) -> Result<Workspace> {
        let root = crate::cli::workspace_root(dir)?;
        let config = crate::cli::load_config(&root);
        let roots = vec![root.clone()];
        let store = crate::cli::open_store(cli, &roots)?;
        let checkout = match with_history {
            true => Some(Checkout::open(&root)?),
            false => None,
        };
        Ok(Workspace { dir: dir.to_path_buf(), root, roots, config, store, checkout, file_terms: FileTerms::default() })
    }
}

/// One workspace state, ready to rank in: at a base commit with history, else as fetched.
pub(super) struct Prepared {
    pub(super) snapshot: Arc<Snapshot>,
    pub(super) chunks: Option<RawChunks>,
    pub(super) baselines: Baselines,
    pub(super) learned: LearnedContext,
    pub(super) nearest: Option<Nearest>,
    pub(super) past: Option<PastChanges>,
}

/// The channels that span the workspaces of a run (the embedder, the history's costs) and what they
/// say about themselves in the report.
pub(super) struct Channels {
    with_history: bool,
    semantic_wanted: bool,
    /// Whether each state fits the adapter (`REVERIE_EVAL_ADAPTER=off`: no).
    adapter_wanted: bool,
    /// `None` until the first workspace asks; then the embedder, or `None` when there is none.
    embedder: Option<Option<Arc<dyn Embedder>>>,
    /// The semantic channel's model, or why it is off.
    pub(super) semantic_note: String,
    history_note: String,
    mined_seconds: f64,
    history_seconds: f64,
    history_records: usize,
    /// Whether some workspace has notes.
    pub(super) with_notes: bool,
    adapter: AdapterRuns,
}

/// The adapter's passes over a run's workspace states.
#[derive(Default)]
struct AdapterRuns {
    states: usize,
    fitted: usize,
    adopted: usize,
    seconds: f64,
    last: String,
}

impl Channels {
    pub(super) fn new(with_history: bool) -> Channels {
        let semantic_wanted = !with_history || std::env::var_os("REVERIE_EVAL_SEMANTIC").is_some_and(|v| v == "1");
        let semantic_note = String::from(if semantic_wanted {
            "semantic channel: off (no embedder)"
        } else {
            "semantic channel: off at base commits (REVERIE_EVAL_SEMANTIC=1 turns it on)"
        });
        Channels {
            with_history,
            semantic_wanted,
            adapter_wanted: std::env::var_os("REVERIE_EVAL_ADAPTER").is_none_or(|v| v != "off"),
            embedder: None,
            semantic_note,
            history_note: String::from("history: off (no base commits)"),
            mined_seconds: 0.0,
            history_seconds: 0.0,
            history_records: 0,
            with_notes: false,
            adapter: AdapterRuns::default(),
        }
    }

    /// `workspace` at `base` (with history), indexed and with every channel's data loaded;
    /// `questions_here`: how many questions it will answer, for the progress line.
    pub(super) fn prepare(
        &mut self,
        cli: &Cli,
        runtime: &tokio::runtime::Runtime,
        workspace: &mut Workspace,
        base: Option<&str>,
        questions_here: usize,
    ) -> Result<Prepared> {
        let started = Instant::now();
        if let (Some(checkout), Some(base)) = (&workspace.checkout, base) {
            checkout.move_to(base)?;
        }
        let (root, config) = (&workspace.root, &workspace.config);
        crate::cli::index::index_with_progress(&workspace.store, &workspace.roots, config)?;
        let snapshot = Arc::new(crate::index::snapshot(&workspace.store)?);
        let text_index = snapshot.text_index();
        snapshot.facts_index();
        drop(text_index);
        let chunks = (!self.with_history).then(|| RawChunks::build(root, &snapshot, config.index.max_file_size));
        let baselines = workspace.file_terms.baselines(root, &snapshot, config.index.max_file_size);
        let learned = LearnedContext::new(crate::sleep::NoteStore::notes(&workspace.store)?, &snapshot);
        self.with_notes |= !learned.is_empty();
        let indexed = started.elapsed().as_secs_f64();
        let past = self.past(workspace, &snapshot)?;
        let nearest = self.nearest(cli, runtime, workspace, &snapshot, &learned)?;
        eprintln!(
            "reverie eval: {}{}: {} files, indexed in {:.1} s{}, {} question(s) here",
            workspace.dir.display(),
            base.map(|b| format!(" at {}", &b[..b.len().min(10)])).unwrap_or_default(),
            snapshot.files.len(),
            indexed,
            past.as_ref().map(|p| format!(", {} past commits", p.len())).unwrap_or_default(),
            questions_here
        );
        Ok(Prepared { snapshot, chunks, baselines, learned, nearest, past })
    }

    /// The semantic channel's nearest definitions and passages, the workspace's vectors brought up to
    /// date first; `None` when the channel is off or there is no embedder.
    fn nearest(
        &mut self,
        cli: &Cli,
        runtime: &tokio::runtime::Runtime,
        workspace: &Workspace,
        snapshot: &Snapshot,
        learned: &LearnedContext,
    ) -> Result<Option<Nearest>> {
        if !self.semantic_wanted {
            return Ok(None);
        }
        let config = &workspace.config;
        if self.embedder.is_none() {
            let embedder = crate::cli::semantic::embedder(cli, config);
            self.embedder = Some(match (embedder, std::env::var_os("REVERIE_EVAL_VECTORS")) {
                (Some(embedder), Some(path)) => {
                    Some(Arc::new(super::remembered::Remembered::open(embedder, Path::new(&path))?) as Arc<dyn Embedder>)
                }
                (embedder, _) => embedder,
            });
        }
        let Some(embedder) = self.embedder.clone().flatten() else {
            return Ok(None);
        };
        let passages = learned.embedding_items();
        let report = crate::cli::semantic::update(
            runtime,
            &workspace.store,
            snapshot,
            &workspace.root,
            config,
            &*embedder,
            &passages,
        )?;
        if self.adapter_wanted {
            self.fit_adapter(runtime, workspace, snapshot, &*embedder)?;
        }
        let nearest = Nearest::load_with_adapter(&workspace.store, snapshot, Some(learned), embedder.clone())?;
        eprintln!(
            "reverie eval: {}: {} definitions and passages embedded now in {:.1} s; {} of {} definitions and {} of {} note passages have a vector",
            workspace.dir.display(),
            report.embedded,
            report.elapsed.as_secs_f64(),
            nearest.index.len(),
            nearest.index.definitions(),
            nearest.index.passages(),
            passages.len()
        );
        self.semantic_note = format!("semantic channel: {}", embedder.model_id());
        Ok(Some(nearest))
    }

    /// Fits the semantic space to the project as the server's idle pass does (`embed::adapter`), from
    /// the pairs of this state: its docstrings and tests, and at a base commit the commits reachable
    /// from it (mined by [`Channels::past`] first) — nothing later, so no leak. A pass over the pairs
    /// of the last one does nothing.
    fn fit_adapter(
        &mut self,
        runtime: &tokio::runtime::Runtime,
        workspace: &Workspace,
        snapshot: &Snapshot,
        embedder: &dyn Embedder,
    ) -> Result<()> {
        let commits = match workspace.checkout {
            Some(_) => crate::history::stored::all_commits(&workspace.store)?,
            None => Vec::new(),
        };
        let report = runtime.block_on(crate::embed::adapter::refresh(
            &workspace.store,
            snapshot,
            &commits,
            embedder,
            &|| false,
        ))?;
        self.adapter.states += 1;
        self.adapter.adopted += usize::from(report.adopted);
        self.adapter.seconds += report.seconds;
        if !report.unchanged {
            self.adapter.fitted += 1;
        }
        eprintln!(
            "reverie eval: {}: adapter over {} pairs ({} questions embedded, {:.1} s): {}",
            workspace.dir.display(),
            report.pairs,
            report.embedded,
            report.seconds,
            report.summary
        );
        self.adapter.last = report.summary;
        Ok(())
    }

    /// What the adapter's passes did over the run, for the report's notes.
    pub(super) fn adapter_note(&self) -> String {
        if self.adapter.states == 0 {
            return if self.semantic_wanted && !self.adapter_wanted {
                "adapter: not fitted (REVERIE_EVAL_ADAPTER=off): its rows equal the base model's".into()
            } else {
                "adapter: off (the semantic channel is off)".into()
            };
        }
        let AdapterRuns { states, fitted, adopted, seconds, last } = &self.adapter;
        format!(
            "adapter: adopted in {adopted} of {states} workspace states ({fitted} fitted, {seconds:.1} s in all); the last: {last}"
        )
    }

    /// The past changes mined from the commits reachable from the checkout's base commit; `None`
    /// without history.
    fn past(&mut self, workspace: &Workspace, snapshot: &Snapshot) -> Result<Option<PastChanges>> {
        if workspace.checkout.is_none() {
            return Ok(None);
        }
        let started = Instant::now();
        let mined = crate::history::refresh(
            &workspace.store,
            &workspace.roots,
            snapshot,
            &std::sync::atomic::AtomicBool::new(false),
            &|_| {},
        )?;
        self.mined_seconds += started.elapsed().as_secs_f64();
        let past = crate::history::past_changes(&crate::history::load(&workspace.store)?);
        self.history_seconds += started.elapsed().as_secs_f64();
        self.history_records += 1;
        self.history_note = format!(
            "history: the commits reachable from each base commit, mined by history::refresh; {} at the last ({})",
            past.len(),
            mined.status.join("; ")
        );
        Ok(Some(past))
    }

    /// Where the past-changes channel's commits came from, and what mining them cost.
    pub(super) fn history_note(&self) -> String {
        if self.history_records == 0 {
            return self.history_note.clone();
        }
        format!(
            "{}; mined and searchable in {:.1} s over {} base commits ({:.1} s of it mining)",
            self.history_note, self.history_seconds, self.history_records, self.mined_seconds
        )
    }
}
