//! The server's semantic index (`crate::embed::semantic`): built while the user is idle, asked at
//! question time.
//!
//! Guarantees: the embedder loads once, off the async threads — after the first index when the store
//! already holds vectors, else at the first idle time (a missing model is logged once and the other
//! channels answer); an idle pass embeds what has no vector yet — the
//! learned context's passages, then definitions, most valuable files first — reporting `$/progress`
//! as files done/total, and stops within one batch of the user's return (what it stored stays: the
//! next idle pass resumes); it runs before the thinking pass, which starts when it ends if the user is
//! still idle, and never beside one (notes written by a pass are embedded at the next idle time, when
//! the notes version has moved). The index is rebuilt off the request
//! path after a pass and when the facts change; a question uses it only when it matches the current
//! facts, and never waits more than `QUESTION_TIMEOUT` for the question's embedding.

use super::pass::{PassHandle, Progress, Work};
use super::status::SemanticCounts;
use crate::embed::Embedder;
use crate::embed::semantic::{self, Nearby, SemanticIndex};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// The longest a question waits for its own embedding (10–25 ms measured with the local model).
const QUESTION_TIMEOUT: Duration = Duration::from_millis(500);

/// The semantic index and its embedder: the embedding pass's own state, kept by the session.
#[derive(Default)]
pub(super) struct SemanticPass {
    state: Mutex<SemanticState>,
}

#[derive(Default)]
struct SemanticState {
    embedder: Loaded,
    /// A pass is running.
    running: bool,
    /// The snapshot generation and notes version a pass left nothing to embed for.
    complete_for: Option<(u64, u64)>,
    /// The index and the snapshot generation it was built for.
    index: Option<(u64, Arc<SemanticIndex>)>,
}

#[derive(Default)]
enum Loaded {
    #[default]
    NotYet,
    Loading,
    Ready(Arc<dyn Embedder>),
    /// `provider = "none"`, or the model could not be loaded (logged once).
    Off,
}

impl SemanticPass {
    fn lock(&self) -> MutexGuard<'_, SemanticState> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// New facts: (re)builds the index for them, off the request path, once the embedder is loaded.
    /// The embedder (66 MB in memory for the default model) is loaded here only when the store holds
    /// vectors already — questions need it then — or `[share] remote` is set (the share pass pulls by
    /// its model id); otherwise the first idle pass loads it (`start`), so a workspace never left
    /// idle costs no model memory.
    pub(super) fn follow_facts(self: &Arc<Self>, handle: PassHandle) {
        let ready = matches!(self.lock().embedder, Loaded::Ready(_));
        if ready {
            let pass = self.clone();
            tokio::spawn(async move { pass.rebuild_index(&handle).await });
        } else if handle.store().is_some_and(|store| store.has_embeddings()) || handle.config().share.remote.is_some() {
            self.load(handle);
        }
    }

    /// Loads the configured embedder in the background (once), then builds the index and uses idle
    /// time that began meanwhile.
    fn load(self: &Arc<Self>, handle: PassHandle) {
        {
            let mut state = self.lock();
            match state.embedder {
                Loaded::NotYet => state.embedder = Loaded::Loading,
                Loaded::Loading | Loaded::Off | Loaded::Ready(_) => return,
            }
        }
        let pass = self.clone();
        tokio::spawn(async move {
            let config = handle.config();
            let cache_root = crate::dirs::cache_root(handle.cache_dir().as_deref()).ok();
            let dirs = crate::embed::model_search_dirs(cache_root.as_deref());
            let loaded =
                tokio::task::spawn_blocking(move || crate::embed::from_config(&config.embed, &config.llm, &dirs))
                    .await
                    .map_err(anyhow::Error::from)
                    .and_then(|r| r);
            let embedder = match loaded {
                Ok(Some(embedder)) => {
                    tracing::info!("semantic index: {}", embedder.model_id());
                    Loaded::Ready(embedder)
                }
                Ok(None) => Loaded::Off,
                Err(err) => {
                    tracing::warn!("no semantic index: {err:#}");
                    Loaded::Off
                }
            };
            pass.lock().embedder = embedder;
            pass.rebuild_index(&handle).await;
            // Idle time that began while the model loaded is used now (by the thinking pass when the
            // model could not be loaded).
            handle.resume_idle_work();
        });
    }

    /// The loaded embedder's model id (what shared vectors are keyed by); none until it is loaded.
    pub(super) fn model_id(&self) -> Option<String> {
        self.embedder().map(|embedder| embedder.model_id())
    }

    pub(super) fn embedder(&self) -> Option<Arc<dyn Embedder>> {
        match &self.lock().embedder {
            Loaded::Ready(embedder) => Some(embedder.clone()),
            _ => None,
        }
    }

    /// Whether a pass left nothing to embed for the current facts and notes.
    pub(super) fn is_complete(&self, handle: &PassHandle) -> bool {
        self.lock().complete_for == Some((handle.generation(), handle.notes_version()))
    }

    /// Rebuilds the index for the current snapshot, off the async threads.
    pub(super) async fn rebuild_index(&self, handle: &PassHandle) {
        let (Some(embedder), Some(store)) = (self.embedder(), handle.store()) else { return };
        let generation = handle.generation();
        let snapshot = handle.snapshot();
        let model_id = embedder.model_id();
        let learned = handle.clone();
        let built = tokio::task::spawn_blocking(move || {
            let passages: Vec<_> =
                learned.learned().map(|l| l.passages.iter().map(|p| p.key).collect()).unwrap_or_default();
            let index = SemanticIndex::load(&store, &model_id, &snapshot, &passages)?;
            Ok::<_, anyhow::Error>(match crate::embed::adapter::questions_go_through_it() {
                true => index,
                false => index.without_adapter(),
            })
        })
        .await;
        match built {
            Ok(Ok(index)) => {
                let counts = SemanticCounts { embedded: index.len(), definitions: index.definitions() };
                let current = {
                    let mut state = self.lock();
                    let current = state.index.as_ref().is_none_or(|(g, _)| *g <= generation);
                    if current {
                        state.index = Some((generation, Arc::new(index)));
                    }
                    current
                };
                if current {
                    handle.semantic_index_built(counts);
                }
            }
            Ok(Err(err)) => tracing::warn!("could not load the semantic index: {err:#}"),
            Err(err) => tracing::warn!("could not load the semantic index: {err}"),
        }
    }

    /// Starts an idle embedding pass when there is something to embed; returns whether one runs now
    /// (the caller starts the next pass otherwise; this pass hands the idle time on when it ends).
    pub(super) fn start(self: &Arc<Self>, handle: &PassHandle) -> bool {
        let Some(store) = handle.store() else { return false };
        if matches!(self.lock().embedder, Loaded::NotYet | Loaded::Loading) {
            // The first idle time: load the model (once); the load starts this pass when it is done.
            self.load(handle.clone());
            return true;
        }
        let Some(embedder) = self.embedder() else { return false };
        let version = (handle.generation(), handle.notes_version());
        {
            let mut state = self.lock();
            if state.running {
                return true;
            }
            if state.complete_for == Some(version) {
                return false;
            }
            state.running = true;
        }
        handle.working("embedding definitions".into());
        let pass = self.clone();
        let handle = handle.clone();
        tokio::spawn(async move {
            let snapshot = handle.snapshot();
            let learned = handle.clone();
            let passages = tokio::task::spawn_blocking(move || learned.learned().map(|l| l.embedding_items()))
                .await
                .ok()
                .flatten()
                .unwrap_or_default();
            let progress = handle.progress(Work::Embedding).await;
            let (steps, mut step_receiver) = tokio::sync::mpsc::unbounded_channel::<(usize, usize)>();
            let on_progress = |done: usize, total: usize| {
                let _ = steps.send((done, total));
            };
            let source = |key: &str| handle.source_of(key);
            let user_back = || handle.user_back();
            let pass_future =
                semantic::embed_snapshot(&snapshot, &passages, &store, &*embedder, &source, &user_back, &on_progress);
            tokio::pin!(pass_future);
            let report = loop {
                tokio::select! {
                    report = &mut pass_future => break report,
                    Some((done, total)) = step_receiver.recv() => report_step(&handle, &progress, done, total).await,
                }
            };
            // The steps sent as the last round finished.
            while let Ok((done, total)) = step_receiver.try_recv() {
                report_step(&handle, &progress, done, total).await;
            }
            if let Ok(report) = &report {
                let outcome = if report.cancelled { "cancelled" } else { "done" };
                let run = crate::jobs::JobRun::ended_now(
                    report.elapsed.as_secs_f64(),
                    report.files_done as u64,
                    report.files_left as u64,
                    outcome,
                );
                if let Err(err) = crate::jobs::JobStore::put_job_run(&*store, crate::jobs::Job::Semantic, &run) {
                    tracing::warn!("could not keep the embedding pass's run: {err:#}");
                }
            }
            let message = match &report {
                Ok(report) if report.cancelled => format!(
                    "embedding paused ({} definitions and passages this pass; resumes when idle)",
                    report.embedded
                ),
                Ok(report) if report.passages > 0 => format!(
                    "embedded {} definitions and {} note passages",
                    report.embedded - report.passages,
                    report.passages
                ),
                Ok(report) => format!("embedded {} definitions", report.embedded),
                Err(err) => {
                    tracing::warn!("embedding pass failed: {err:#}");
                    format!("embedding failed: {err:#}")
                }
            };
            {
                let mut state = pass.lock();
                state.running = false;
                if matches!(&report, Ok(r) if !r.cancelled && r.files_left == 0) {
                    state.complete_for = Some(version);
                }
                if report.is_err() {
                    // Do not retry in a loop: the next change of the facts or notes tries again.
                    state.complete_for = Some(version);
                }
            }
            // The index first, so a question after the end of the progress meets the new vectors.
            pass.rebuild_index(&handle).await;
            progress.end(&message).await;
            handle.hand_on(message);
        });
        true
    }

    /// The definitions and learned passages nearest `question` in the index built for the facts of
    /// `generation`; empty when there is none, or the embedding does not come within
    /// `QUESTION_TIMEOUT`. (A passage of a note rewritten since the index was built is not found by
    /// its key: left out.)
    pub(super) async fn nearest(&self, generation: u64, question: &str) -> Nearby {
        let index = match &self.lock().index {
            Some((g, index)) if *g == generation && !index.is_empty() => index.clone(),
            _ => return Nearby::default(),
        };
        let Some(embedder) = self.embedder() else { return Nearby::default() };
        let text = [question.to_string()];
        match tokio::time::timeout(QUESTION_TIMEOUT, embedder.embed(&text)).await {
            Ok(Ok(mut vectors)) if !vectors.is_empty() => index.nearby(&vectors.swap_remove(0)),
            Ok(Ok(_)) => Nearby::default(),
            Ok(Err(err)) => {
                tracing::warn!("could not embed the question: {err:#}");
                Nearby::default()
            }
            Err(_) => {
                tracing::warn!("the question's embedding took over {QUESTION_TIMEOUT:?}; answered without it");
                Nearby::default()
            }
        }
    }
}

async fn report_step(handle: &PassHandle, progress: &Progress, done: usize, total: usize) {
    progress.report(&format!("{done}/{total} files"), (done * 100 / total.max(1)) as u32).await;
    handle.working(format!("embedding: {done}/{total} files"));
}
