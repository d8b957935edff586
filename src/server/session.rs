//! The session: the server's state (`state.rs`) with what talks to the outside — the client, the
//! idle clock's task, the background event loop (`events.rs`), the watcher — and the idle passes'
//! own states (`history.rs`, `semantic.rs`, `adapter.rs`, `think.rs`), started here and given a narrow handle (`pass.rs`).
//!
//! Request handlers read the state through the session (it dereferences to `State`) and return;
//! anything slow is an `Event` for the loop. Status changes reach the client through one task, in
//! order. No lock is held across an `.await` or a client call.

use super::adapter::AdapterPass;
use super::events::Event;
use super::ext::StatusNotification;
use super::history::HistoryPass;
use super::pass::PassHandle;
use super::semantic::SemanticPass;
use super::state::{State, lock};
use super::status::{ServerState, StatusParams};
use super::think::ThinkingPass;
use crate::config::ConfigProblem;
use crate::idle::Activity;
use crate::workspace::Watcher;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;
use tokio::sync::{Notify, mpsc};
use tower_lsp_server::Client;

pub use super::state::Setup;

#[derive(Clone, Debug, Default)]
pub struct ServerOptions {
    /// The cache root (`--cache-dir` / `REVERIE_CACHE_DIR`); default: the XDG cache.
    pub cache_dir: Option<PathBuf>,
}

/// The receiving ends of the background loops, taken once by `start`.
struct Loops {
    events: mpsc::UnboundedReceiver<Event>,
    status_updates: mpsc::UnboundedReceiver<StatusParams>,
}

/// The idle passes' own states.
#[derive(Default)]
struct Passes {
    history: Arc<HistoryPass>,
    share: Arc<super::share::SharePass>,
    semantic: Arc<SemanticPass>,
    adapter: Arc<AdapterPass>,
    thinking: Arc<ThinkingPass>,
}

pub struct Session {
    client: Client,
    options: ServerOptions,
    state: State,
    activity: Notify,
    events: mpsc::UnboundedSender<Event>,
    /// Status notifications go through one task, so the client sees them in order.
    status_updates: mpsc::UnboundedSender<StatusParams>,
    loops: Mutex<Option<Loops>>,
    watcher: Mutex<Option<Watcher>>,
    shut_down: AtomicBool,
    passes: Passes,
}

/// The session is its state plus the transport: handlers read the state through it.
impl std::ops::Deref for Session {
    type Target = State;

    fn deref(&self) -> &State {
        &self.state
    }
}

impl Session {
    pub fn new(client: Client, options: ServerOptions) -> Arc<Session> {
        let (events, event_receiver) = mpsc::unbounded_channel();
        let (status_updates, status_receiver) = mpsc::unbounded_channel();
        Arc::new(Session {
            client,
            options,
            state: State::new(),
            activity: Notify::new(),
            events,
            status_updates,
            loops: Mutex::new(Some(Loops { events: event_receiver, status_updates: status_receiver })),
            watcher: Mutex::new(None),
            shut_down: AtomicBool::new(false),
            passes: Passes::default(),
        })
    }

    pub(super) fn client(&self) -> &Client {
        &self.client
    }

    pub(super) fn cache_dir(&self) -> Option<&std::path::Path> {
        self.options.cache_dir.as_deref()
    }

    /// The key of `path` when it is one of the workspace's files — under a root, not hidden or
    /// ignored, not in reverie's own cache (its answer documents, its stores) — else `None`: such a
    /// file is never indexed, counted or cited. The one test for a path the editor names (an open
    /// document, the file a question is asked from); the walk and the watcher leave out the same
    /// files with the same rules (`walk_options`, the ignore rules).
    pub(super) fn workspace_key(&self, path: &std::path::Path) -> Option<String> {
        if crate::dirs::in_cache(self.cache_dir(), path) {
            return None;
        }
        self.state.key_of(path)
    }

    /// What the walk and the watcher look at: the configured options, never reverie's own cache
    /// (its answer documents and stores, when it lies inside a workspace).
    pub(super) fn walk_options(&self) -> crate::workspace::WalkOptions {
        let mut options = self.config().index.walk_options();
        if let Ok(cache) = crate::dirs::cache_root(self.cache_dir()) {
            options.excluded.push(cache.canonicalize().unwrap_or(cache));
        }
        options
    }

    pub(super) fn send(&self, event: Event) {
        let _ = self.events.send(event);
    }

    pub fn shut_down(&self) {
        self.shut_down.store(true, Ordering::SeqCst);
    }

    pub fn was_shut_down(&self) -> bool {
        self.shut_down.load(Ordering::SeqCst)
    }

    /// Updates the status and notifies the client (from a spawned task, never under a lock).
    pub(super) fn set_status(&self, state: ServerState, files: Option<usize>, message: Option<String>) {
        let params = self.state.update_status(state, files, message);
        let _ = self.status_updates.send(params);
    }

    /// The semantic index was built with `counts`: the status says so when that changed.
    pub(super) fn semantic_index_built(&self, counts: super::status::SemanticCounts) {
        if let Some(params) = self.state.set_semantic_counts(counts) {
            let _ = self.status_updates.send(params);
        }
    }

    /// The definitions and note passages nearest `question` by embedding, for the current facts.
    pub(super) async fn nearest(&self, question: &str) -> crate::embed::semantic::Nearby {
        self.passes.semantic.nearest(self.generation(), question).await
    }

    /// The past-changes channel's index over the mined history, as the last history pass left it
    /// (none before one ran: questions never wait for the store).
    pub(super) fn past_changes(&self) -> Option<Arc<crate::search::PastChanges>> {
        self.passes.history.past_changes()
    }

    /// New facts: the semantic index follows them.
    pub(super) fn facts_changed(self: &Arc<Self>) {
        self.passes.semantic.follow_facts(PassHandle::new(self));
    }

    /// Re-merges the configuration layers; returns the problems to show the user.
    pub(super) fn reload_config(self: &Arc<Self>, settings: Option<serde_json::Value>) -> Vec<ConfigProblem> {
        let (problems, look_for_ollama) = self.merge_config(settings);
        if let Some(base) = look_for_ollama {
            self.look_for_ollama(base);
        }
        self.activity.notify_one();
        problems
    }

    /// Asks the Ollama server at `base` for its models in the background; when it answers, the idle
    /// status offers it (`llm::ollama`). Nothing but the model list is requested.
    /// An idle status already shown is said again with the offer.
    fn look_for_ollama(self: &Arc<Self>, base: String) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else { return };
        let session = Arc::downgrade(self);
        runtime.spawn(async move {
            let Some(models) = crate::llm::ollama::installed_models(&base).await else { return };
            let Some(session) = session.upgrade() else { return };
            if !session.offer_ollama(crate::llm::ollama::offer(&base, &models)) {
                return;
            }
            if session.status().state == ServerState::Idle && !session.passes.thinking.is_running() {
                session.set_status(ServerState::Idle, None, Some(session.idle_message()));
            }
        });
    }

    /// Records user activity (an edit, a request). Cheap; never blocks on background work.
    pub(super) fn touch(self: &Arc<Self>) {
        if self.activity(Instant::now()).is_some() {
            self.activity.notify_one();
            self.on_activity_change(Activity::Active);
        }
    }

    fn on_activity_change(self: &Arc<Self>, activity: Activity) {
        if activity == Activity::Active {
            self.passes.history.user_back();
            self.passes.share.user_back();
            self.passes.adapter.user_back();
            self.passes.thinking.user_back();
        }
        let state = self.status().state;
        if !matches!(state, ServerState::Idle | ServerState::Ready | ServerState::Thinking) {
            return;
        }
        match activity {
            Activity::Active if state != ServerState::Thinking => {
                self.set_status(ServerState::Ready, None, Some(self.ready_message()))
            }
            Activity::Active => {}
            Activity::Idle => self.start_idle_work(),
        }
    }

    /// The user went idle while the index was built: use the idle time now.
    pub(super) fn after_index(self: &Arc<Self>) {
        if self.user_idle() {
            self.on_activity_change(Activity::Idle);
        }
    }

    /// The work of idle time, one pass at a time: the project's history (seconds, no tokens), then
    /// pulling what the team shared (`[share] remote`, once the embedder is loaded), then
    /// embedding what has no vector yet (cheap, no tokens), then fitting the semantic space to the
    /// project (no tokens), then thinking. Each pass hands the idle
    /// time on when it ends (`PassHandle::hand_on`).
    pub(super) fn start_idle_work(self: &Arc<Self>) {
        if self.passes.thinking.is_running() {
            // One pass at a time: the next one runs at the next idle time.
            return;
        }
        let handle = PassHandle::new(self);
        let commits = self.passes.history.past_changes().map_or(0, |past| past.len());
        if self.passes.history.start(&handle)
            || self.passes.share.start(&handle, self.passes.semantic.model_id())
            || self.passes.semantic.start(&handle)
            || self.passes.adapter.start(&handle, &self.passes.semantic, commits)
            || self.passes.thinking.start(&handle)
        {
            return;
        }
        self.set_status(ServerState::Idle, None, Some(self.idle_message()));
    }

    /// `reverie.think`: a pass now, even though the user is active (they asked for it). Activity
    /// during the pass still stops it, as usual. Returns whether a pass is running.
    pub(super) fn think_now(self: &Arc<Self>) -> bool {
        self.passes.thinking.start(&PassHandle::new(self))
    }

    /// Starts the background tasks: the idle clock, the event loop, the watcher; then indexes.
    pub(super) fn start(self: &Arc<Self>) {
        let Some(Loops { events, status_updates: mut updates }) = lock(&self.loops).take() else { return };
        let client = self.client.clone();
        let notify = self.support().status_notifications;
        tokio::spawn(async move {
            while let Some(params) = updates.recv().await {
                if notify {
                    client.send_notification::<StatusNotification>(params).await;
                }
            }
        });
        let idle = self.clone();
        tokio::spawn(async move { idle.run_idle_clock().await });
        let session = self.clone();
        tokio::spawn(async move { super::events::run(session, events).await });
        self.send(Event::Reindex { asked: false });
    }

    async fn run_idle_clock(self: Arc<Self>) {
        loop {
            match self.next_deadline() {
                Some(deadline) => {
                    tokio::select! {
                        _ = self.activity.notified() => {}
                        _ = tokio::time::sleep_until(deadline.into()) => {}
                    }
                }
                None => self.activity.notified().await,
            }
            if let Some(activity) = self.tick(Instant::now()) {
                self.on_activity_change(activity);
            }
        }
    }

    /// Watches `roots` (once), sending what changes on disk to the event loop.
    pub(super) fn start_watcher(&self, roots: &[PathBuf]) {
        let mut watcher = lock(&self.watcher);
        if watcher.is_some() {
            return;
        }
        let events = self.events.clone();
        match crate::workspace::watch(roots, move |paths| {
            let _ = events.send(Event::Paths(paths));
        }) {
            Ok(w) => *watcher = Some(w),
            Err(err) => tracing::warn!("cannot watch the workspace ({err}); relying on the editor's file events"),
        }
    }
}
