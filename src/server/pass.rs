//! What an idle pass (history `history.rs`, share `share.rs`, embedding `semantic.rs`, thinking `think.rs`) sees of the session, and all it
//! may do with it: read the current facts, sources, notes and configuration; say what it is doing
//! (status and `$/progress`); learn that the user is back; and hand the idle time on when it ends.
//!
//! Each pass keeps its own state (whether it runs, what it has done) in its own module; the
//! session holds those states and starts the passes (`Session::start_idle_work`). A pass never
//! reaches into the session beyond this handle.

use super::session::Session;
use super::status::ServerState;
use crate::config::Config;
use crate::snapshot::Snapshot;
use crate::store::Store;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use tower_lsp_server::ls_types::ProgressToken;

#[derive(Clone)]
pub(super) struct PassHandle {
    session: Arc<Session>,
}

impl PassHandle {
    pub(super) fn new(session: &Arc<Session>) -> PassHandle {
        PassHandle { session: session.clone() }
    }

    pub(super) fn snapshot(&self) -> Arc<Snapshot> {
        self.session.snapshot()
    }

    /// The generation of the facts the snapshot holds (what derived data is keyed by).
    pub(super) fn generation(&self) -> u64 {
        self.session.generation()
    }

    pub(super) fn store(&self) -> Option<Arc<Store>> {
        self.session.store()
    }

    pub(super) fn config(&self) -> Config {
        self.session.config()
    }

    pub(super) fn provider(&self) -> Option<Arc<crate::llm::Resilient>> {
        self.session.provider()
    }

    /// The workspace folders.
    pub(super) fn roots(&self) -> Vec<std::path::PathBuf> {
        self.session.roots()
    }

    /// The cache root the user chose (`--cache-dir`), if any.
    pub(super) fn cache_dir(&self) -> Option<std::path::PathBuf> {
        self.session.cache_dir().map(std::path::Path::to_path_buf)
    }

    /// The text of a file by key (the open buffer over the disk).
    pub(super) fn source_of(&self, key: &str) -> Option<String> {
        self.session.source_of(key)
    }

    /// The learned context for the current facts and notes (reads the store: off the async threads).
    pub(super) fn learned(&self) -> Option<Arc<crate::answer::LearnedContext>> {
        self.session.learned()
    }

    /// The past-changes index the history pass keeps loaded, if any.
    pub(super) fn past_changes(&self) -> Option<Arc<crate::search::PastChanges>> {
        self.session.past_changes()
    }

    pub(super) fn notes_version(&self) -> u64 {
        self.session.notes_version()
    }

    /// Notes were stored: answers use them at once, and the status shows the counts (read from the
    /// store off the async threads).
    pub(super) async fn notes_written(&self) -> crate::sleep::NoteCounts {
        self.session.notes_written();
        let session = self.session.clone();
        let counts = tokio::task::spawn_blocking(move || session.note_counts()).await.unwrap_or_default();
        self.session.set_note_counts(counts.fresh + counts.stale, counts.stale);
        counts
    }

    /// What the thinking pass's scheduler reads: the user's attention and the files' git churn
    /// (runs `git log`: off the async threads).
    pub(super) async fn scheduling(&self) -> (crate::sleep::schedule::Signals, Vec<String>) {
        let session = self.session.clone();
        let churn = tokio::task::spawn_blocking(move || session.churn()).await.unwrap_or_default();
        (self.session.signals(&churn), self.session.recent_questions())
    }

    /// The user is back (or the server is shutting down): a pass stops taking work.
    pub(super) fn user_back(&self) -> bool {
        !self.session.user_idle() || self.session.was_shut_down()
    }

    /// The semantic index was built (for the current facts) with `counts`: the status shows them.
    pub(super) fn semantic_index_built(&self, counts: super::status::SemanticCounts) {
        self.session.semantic_index_built(counts);
    }

    /// Vectors (and with `notes`, notes) were added to the store from elsewhere (a pull): answers
    /// use the notes at once, and the semantic index is rebuilt.
    pub(super) async fn shared_work_added(&self, notes: bool) {
        if notes {
            self.notes_written().await;
        }
        self.session.facts_changed();
    }

    /// Says what the pass is doing, in the status.
    pub(super) fn working(&self, message: String) {
        self.session.set_status(ServerState::Thinking, None, Some(message));
    }

    /// `$/progress` for the pass's `work` (nothing when the client shows none).
    pub(super) async fn progress(&self, work: Work) -> Progress {
        Progress::begin(&self.session, work).await
    }

    /// The pass ended with `message`: the next idle work starts if the user is still idle, else
    /// the status says `message`.
    pub(super) fn hand_on(&self, message: String) {
        if self.session.user_idle() && !self.session.was_shut_down() {
            self.session.start_idle_work();
        } else {
            self.session.set_status(ServerState::Ready, None, Some(message));
        }
    }

    /// Idle time began while the pass could not run (a model loading): use it now.
    pub(super) fn resume_idle_work(&self) {
        if self.session.user_idle() && !self.session.was_shut_down() {
            self.session.start_idle_work();
        }
    }

    /// The last pass ended with `message`: idle or ready, as the user is.
    pub(super) fn finished(&self, message: String) {
        let state = if self.session.user_idle() { ServerState::Idle } else { ServerState::Ready };
        self.session.set_status(state, None, Some(message));
    }
}

/// What a pass run off the async threads returned, its failure or panic as one line.
pub(super) fn joined<T>(result: Result<anyhow::Result<T>, tokio::task::JoinError>) -> Result<T, String> {
    match result {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(err)) => Err(format!("{err:#}")),
        Err(err) => Err(err.to_string()),
    }
}

/// What a `$/progress` is about. Its title is the bare word ("indexing"): the client's own way of
/// naming the server is added by `Editor::progress_title` (Helix shows the server's name itself).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Work {
    Indexing,
    History,
    Share,
    Embedding,
    FittingSemanticSpace,
    Thinking,
}

impl Work {
    #[cfg(test)]
    pub(super) const ALL: [Work; 6] =
        [Work::Indexing, Work::History, Work::Share, Work::Embedding, Work::FittingSemanticSpace, Work::Thinking];

    pub(super) fn word(self) -> &'static str {
        match self {
            Work::Indexing => "indexing",
            Work::History => "history",
            Work::Share => "share",
            Work::Embedding => "embedding",
            Work::FittingSemanticSpace => "fitting the semantic space",
            Work::Thinking => "thinking",
        }
    }
}

/// `$/progress` for one long operation, when the client supports it (else nothing is sent).
pub(super) struct Progress {
    ongoing: Option<tower_lsp_server::OngoingProgress<tower_lsp_server::Bounded, tower_lsp_server::NotCancellable>>,
}

impl Progress {
    /// Begins the progress of `work`, titled as the client shows it best.
    pub(super) async fn begin(session: &Session, work: Work) -> Progress {
        if !session.support().work_done_progress {
            return Progress { ongoing: None };
        }
        let token = ProgressToken::String(format!("reverie-{}", next_token()));
        if session.client().create_work_done_progress(token.clone()).await.is_err() {
            return Progress { ongoing: None };
        }
        let title = session.support().editor.progress_title(work.word());
        let ongoing = session.client().progress(token, title).with_percentage(0).begin().await;
        Progress { ongoing: Some(ongoing) }
    }

    pub(super) async fn report(&self, message: &str, percentage: u32) {
        if let Some(ongoing) = &self.ongoing {
            ongoing.report_with_message(message.to_string(), percentage.min(100)).await;
        }
    }

    pub(super) async fn end(self, message: &str) {
        if let Some(ongoing) = self.ongoing {
            ongoing.finish_with_message(message.to_string()).await;
        }
    }
}

fn next_token() -> u64 {
    use std::sync::atomic::AtomicU64;
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}
