//! The semantic index from the command line: load the configured embedder, bring a workspace's
//! vectors up to date with a progress bar (`reverie think`, `reverie eval`), and find the definitions
//! nearest a question (`reverie ask`, `reverie eval`) — in the base model's space, or through the
//! project's adopted adapter with `REVERIE_ADAPTER=on` (`embed::adapter::questions_go_through_it`).
//! The server does the same at idle time
//! (`server/think.rs`).

use super::Cli;
use crate::answer::LearnedContext;
use crate::config::Config;
use crate::embed::semantic::{self, Nearby, SemanticIndex};
use crate::embed::{self, Embedder};
use crate::hash::Digest;
use crate::snapshot::Snapshot;
use crate::store::Store;
use anyhow::Result;
use indicatif::{ProgressBar, ProgressStyle};
use std::path::Path;
use std::sync::Arc;

/// The configured embedder, or `None` (with the reason on stderr when it is not "none").
pub fn embedder(cli: &Cli, config: &Config) -> Option<Arc<dyn Embedder>> {
    let cache_root = crate::dirs::cache_root(cli.cache_dir.as_deref()).ok();
    match embed::from_config(&config.embed, &config.llm, &embed::model_search_dirs(cache_root.as_deref())) {
        Ok(embedder) => embedder,
        Err(err) => {
            eprintln!("reverie: no semantic index ({err:#}); answering from the other channels");
            None
        }
    }
}

/// Embeds the definitions of `snapshot` that have no vector yet, with a progress bar on a terminal.
pub fn update(
    runtime: &tokio::runtime::Runtime,
    store: &Store,
    snapshot: &Snapshot,
    root: &Path,
    config: &Config,
    embedder: &dyn Embedder,
    passages: &[(Digest, String)],
) -> Result<semantic::PassReport> {
    let bar = ProgressBar::hidden();
    if std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
    }
    bar.set_style(
        ProgressStyle::with_template("{spinner} embedding {pos}/{len} files [{elapsed}] {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let max_size = config.index.max_file_size;
    let source = |key: &str| crate::workspace::read_source_text(&root.join(key), max_size);
    let progress = |done: usize, total: usize| {
        bar.set_length(total as u64);
        bar.set_position(done as u64);
    };
    let report = runtime.block_on(semantic::embed_snapshot(
        snapshot,
        passages,
        store,
        embedder,
        &source,
        &|| false,
        &progress,
    ))?;
    bar.finish_and_clear();
    Ok(report)
}

/// The semantic index of `snapshot` (and of the learned context's passages) and a way to ask it.
pub struct Nearest {
    pub index: SemanticIndex,
    pub embedder: Arc<dyn Embedder>,
}

impl Nearest {
    pub fn load(
        store: &Store,
        snapshot: &Snapshot,
        learned: Option<&LearnedContext>,
        embedder: Arc<dyn Embedder>,
    ) -> Result<Nearest> {
        let mut nearest = Nearest::load_with_adapter(store, snapshot, learned, embedder)?;
        if !crate::embed::adapter::questions_go_through_it() {
            nearest.index = nearest.index.without_adapter();
        }
        Ok(nearest)
    }

    /// [`Nearest::load`] with the project's adopted adapter kept whatever the switch says (`eval`
    /// measures both spaces).
    pub fn load_with_adapter(
        store: &Store,
        snapshot: &Snapshot,
        learned: Option<&LearnedContext>,
        embedder: Arc<dyn Embedder>,
    ) -> Result<Nearest> {
        let passages: Vec<Digest> = learned.map(|l| l.passages.iter().map(|p| p.key).collect()).unwrap_or_default();
        let index = SemanticIndex::load(store, &embedder.model_id(), snapshot, &passages)?;
        Ok(Nearest { index, embedder })
    }

    /// The definitions and passages nearest `question`, best first; empty when nothing is embedded
    /// or the embedder fails (said on stderr: the other channels still answer).
    pub async fn search(&self, question: &str) -> Nearby {
        self.question_vector(question).await.map(|v| self.index.nearby(&v)).unwrap_or_default()
    }

    /// `question`'s vector; `None` when nothing is embedded or the embedder fails (said on stderr:
    /// the other channels still answer).
    pub async fn question_vector(&self, question: &str) -> Option<Vec<f32>> {
        if self.index.is_empty() {
            return None;
        }
        match self.embedder.embed(&[question.to_string()]).await {
            Ok(mut vectors) if !vectors.is_empty() => Some(vectors.swap_remove(0)),
            Ok(_) => None,
            Err(err) => {
                eprintln!("reverie: could not embed the question ({err:#}); answering without the semantic index");
                None
            }
        }
    }
}
