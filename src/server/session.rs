//! The server's state and its one background event loop.
//!
//! Request handlers read an immutable `Snapshot` and the open documents, and return. Everything slow
//! — the initial index, watcher batches, re-extracting an edited buffer, rebuilding the snapshot —
//! happens in `run_events`, one event at a time, off the request path, on blocking threads. Locks are
//! std mutexes held for short, synchronous sections: never across an `.await` or a client call.
//!
//! The state is grouped by how it changes: `Setup` is set once at `initialize`; `Configured` is
//! re-merged when settings change; `Attention` gathers the user's signals for the scheduler;
//! `Thinking` is the sleep-time pass (`think.rs`) and what it produced. Every field is private: the
//! handlers go through the methods below.

use super::client::{ClientSupport, Editor};
use super::ext::StatusNotification;
use super::status::{ServerState, StatusParams};
use crate::config::{Config, ConfigProblem, Layer};
use crate::convert::Encoding;
use crate::document::Document;
use crate::idle::{Activity, IdleClock};
use crate::sleep::NoteStore;
use crate::snapshot::Snapshot;
use crate::store::Store;
use crate::syntax::FileFacts;
use crate::workspace::{IgnoreRules, Watcher};
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, RwLock};
use std::time::Instant;
use tokio::sync::{Notify, mpsc};
use tower_lsp_server::Client;
use tower_lsp_server::ls_types::{MessageType, ProgressToken};

#[derive(Clone, Debug, Default)]
pub struct ServerOptions {
    /// The cache root (`--cache-dir` / `REVERIE_CACHE_DIR`); default: the XDG cache.
    pub cache_dir: Option<PathBuf>,
}

/// What the event loop works on.
#[derive(Debug)]
pub enum Event {
    /// Index everything from scratch (start-up, and `reverie.reindex` with `announce`: the user asked,
    /// so the result is shown to them as a message too).
    Reindex { announce: bool },
    /// Files or directories changed on disk.
    Paths(Vec<PathBuf>),
    /// An open buffer changed; its facts must be re-extracted from the buffer.
    Buffer(String),
    /// A buffer was closed; its file's facts come from disk again.
    Closed(PathBuf),
}

/// Set once, at `initialize`.
#[derive(Clone, Debug)]
pub struct Setup {
    pub encoding: Encoding,
    /// Workspace folders, canonical.
    pub roots: Vec<PathBuf>,
    pub support: ClientSupport,
    /// The `initializationOptions` layer, kept to re-merge when settings change.
    pub init_options: Option<serde_json::Value>,
}

/// Before `initialize`: UTF-16, no roots, nothing supported.
static UNSET: Setup = Setup {
    encoding: Encoding::Utf16,
    roots: Vec::new(),
    support: ClientSupport {
        editor: Editor::Other,
        work_done_progress: false,
        show_document: false,
        watched_files_registration: false,
    },
    init_options: None,
};

/// The merged configuration and what follows from it.
struct Configured {
    config: Config,
    /// The configured model, if any.
    provider: Option<Arc<crate::llm::Resilient>>,
    /// With no model configured: the offer of a local Ollama server that answered, if one did.
    ollama_offer: Option<String>,
}

/// What the user pays attention to (scheduling signals and examples for the thinking pass).
#[derive(Default)]
struct Attention {
    edited_at: HashMap<String, u64>,
    asked: Vec<String>,
    asked_about: HashMap<String, u32>,
    /// Commits per file from `git log` (`crate::git::churn`), with when it was read.
    churn: Option<(Instant, Churn)>,
}

/// The sleep-time pass and what it produced.
#[derive(Default)]
struct Thinking {
    /// Set while a pass runs; sending `true` tells it the user is back.
    running: Option<tokio::sync::watch::Sender<bool>>,
    /// Bumped whenever notes are written.
    notes_version: u64,
    /// The learned context for answering, with the (snapshot generation, notes version) it was built for.
    learned: Option<(u64, u64, Arc<crate::answer::LearnedContext>)>,
}

/// The receiving ends of the background loops, taken once by `start`.
struct Loops {
    events: mpsc::UnboundedReceiver<Event>,
    status_updates: mpsc::UnboundedReceiver<StatusParams>,
}

pub struct Session {
    client: Client,
    options: ServerOptions,
    setup: OnceLock<Setup>,
    configured: Mutex<Configured>,
    /// Open documents by URI string.
    documents: Mutex<HashMap<String, Document>>,
    snapshot: RwLock<Arc<Snapshot>>,
    store: OnceLock<Arc<Store>>,
    rules: OnceLock<Arc<IgnoreRules>>,
    idle: Mutex<IdleClock>,
    activity: Notify,
    status: Mutex<StatusParams>,
    events: mpsc::UnboundedSender<Event>,
    /// Status notifications go through one task, so the client sees them in order.
    status_updates: mpsc::UnboundedSender<StatusParams>,
    loops: Mutex<Option<Loops>>,
    watcher: Mutex<Option<Watcher>>,
    shut_down: AtomicBool,
    attention: Mutex<Attention>,
    thinking: Mutex<Thinking>,
    semantic: Mutex<super::semantic::SemanticState>,
    /// The mined history as the past-changes channel's index, loaded from the store on first use.
    past: Mutex<Option<Arc<crate::search::PastChanges>>>,
}

/// Commits per file key.
type Churn = Arc<HashMap<String, u32>>;

/// How long git history read for scheduling stays good (commits are rare next to thinking passes).
const CHURN_MAX_AGE: std::time::Duration = std::time::Duration::from_secs(600);

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Session {
    pub fn new(client: Client, options: ServerOptions) -> Arc<Session> {
        let (events, event_receiver) = mpsc::unbounded_channel();
        let (status_updates, status_receiver) = mpsc::unbounded_channel();
        let config = Config::default();
        Arc::new(Session {
            client,
            options,
            setup: OnceLock::new(),
            idle: Mutex::new(IdleClock::new(config.server.idle_after, Instant::now())),
            configured: Mutex::new(Configured { config, provider: None, ollama_offer: None }),
            documents: Mutex::new(HashMap::new()),
            snapshot: RwLock::new(Arc::new(Snapshot::default())),
            store: OnceLock::new(),
            rules: OnceLock::new(),
            activity: Notify::new(),
            status: Mutex::new(StatusParams { message: "starting".into(), ..StatusParams::default() }),
            events,
            status_updates,
            loops: Mutex::new(Some(Loops { events: event_receiver, status_updates: status_receiver })),
            watcher: Mutex::new(None),
            shut_down: AtomicBool::new(false),
            attention: Mutex::new(Attention::default()),
            thinking: Mutex::new(Thinking::default()),
            semantic: Mutex::new(Default::default()),
            past: Mutex::new(None),
        })
    }

    /// Records what `initialize` said (once; a second `initialize` is refused by tower-lsp-server).
    pub(super) fn set_up(&self, setup: Setup) {
        if self.setup.set(setup).is_err() {
            tracing::warn!("initialize was received twice; keeping the first");
        }
    }

    fn setup(&self) -> &Setup {
        self.setup.get().unwrap_or(&UNSET)
    }

    /// The semantic index and its embedder (`semantic.rs` keeps them).
    pub(super) fn semantic(&self) -> &Mutex<super::semantic::SemanticState> {
        &self.semantic
    }

    pub(super) fn client(&self) -> &Client {
        &self.client
    }

    pub(super) fn cache_dir(&self) -> Option<&std::path::Path> {
        self.options.cache_dir.as_deref()
    }

    pub(super) fn encoding(&self) -> Encoding {
        self.setup().encoding
    }

    pub(super) fn roots(&self) -> Vec<PathBuf> {
        self.setup().roots.clone()
    }

    pub(super) fn support(&self) -> ClientSupport {
        self.setup().support.clone()
    }

    pub(super) fn config(&self) -> Config {
        lock(&self.configured).config.clone()
    }

    /// The configured model, if any.
    pub(super) fn provider(&self) -> Option<Arc<crate::llm::Resilient>> {
        lock(&self.configured).provider.clone()
    }

    /// The store, once the first index opened it.
    pub(super) fn store(&self) -> Option<Arc<Store>> {
        self.store.get().cloned()
    }

    pub(super) fn documents(&self) -> MutexGuard<'_, HashMap<String, Document>> {
        lock(&self.documents)
    }

    pub(super) fn snapshot(&self) -> Arc<Snapshot> {
        self.snapshot.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Swaps in a new snapshot and tells the client (status with the next generation).
    fn publish_snapshot(self: &Arc<Self>, snapshot: Snapshot) {
        let files = snapshot.files.len();
        let snapshot = Arc::new(snapshot);
        *self.snapshot.write().unwrap_or_else(|e| e.into_inner()) = snapshot.clone();
        // Build the search indexes now, off the request path, so the first question does not wait.
        tokio::task::spawn_blocking(move || {
            snapshot.facts_index();
            snapshot.text_index();
        });
        let state = {
            let mut status = lock(&self.status);
            status.generation += 1;
            if status.state != ServerState::Indexing {
                status.files = files;
            }
            status.state
        };
        self.set_status(state, None, None);
        // Rebuild the learned context off the request path, so hover finds it current.
        if self.store.get().is_some() {
            let session = self.clone();
            tokio::task::spawn_blocking(move || session.learned());
            super::semantic::follow_facts(self);
        }
    }

    pub fn status(&self) -> StatusParams {
        lock(&self.status).clone()
    }

    /// Sets the note counts shown in the status (without notifying: `set_status` does).
    pub(super) fn set_note_counts(&self, notes: usize, stale: usize) {
        let mut status = lock(&self.status);
        status.notes = notes;
        status.stale = stale;
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

    /// Whether the user is idle now (by the idle clock).
    pub(super) fn user_idle(&self) -> bool {
        lock(&self.idle).state() == Activity::Idle
    }

    /// The key of `path` in the workspace, if it is under a root.
    pub(super) fn key_of(&self, path: &std::path::Path) -> Option<String> {
        match self.rules.get() {
            Some(rules) => rules.locate(path).map(|(_, key)| key),
            None => {
                let roots = &self.setup().roots;
                let root = roots.iter().find(|r| path.starts_with(r))?;
                Some(crate::workspace::key_for(root, None, path))
            }
        }
    }

    /// Re-merges the configuration layers; returns the problems to show the user.
    pub(super) fn reload_config(self: &Arc<Self>, settings: Option<serde_json::Value>) -> Vec<ConfigProblem> {
        let setup = self.setup();
        let mut layers = setup.roots.first().map(|root| crate::config::file_layers(root)).unwrap_or_default();
        if let Some(init) = setup.init_options.clone() {
            layers.push(Layer { source: "initializationOptions".into(), value: Ok(init) });
        }
        if let Some(settings) = settings {
            layers.push(Layer { source: "workspace/didChangeConfiguration settings".into(), value: Ok(settings) });
        }
        let (config, mut problems) = Config::from_layers(layers);
        lock(&self.idle).set_idle_after(config.server.idle_after);
        let provider = match crate::llm::from_config(&config.llm) {
            Ok(provider) => provider,
            Err(err) => {
                problems.push(ConfigProblem(format!("llm: {err}; answering from facts only")));
                None
            }
        };
        let look_for_ollama = provider.is_none() && !config.llm.offer_ollama.is_empty();
        let offer_from = config.llm.offer_ollama.clone();
        *lock(&self.configured) = Configured { config, provider, ollama_offer: None };
        if look_for_ollama {
            self.look_for_ollama(offer_from);
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
            let offer = crate::llm::ollama::offer(&base, &models);
            {
                let mut configured = lock(&session.configured);
                if configured.provider.is_some() {
                    return;
                }
                configured.ollama_offer = Some(offer.clone());
            }
            if lock(&session.status).state == ServerState::Idle && !session.is_thinking() {
                session.set_status(ServerState::Idle, None, Some(format!("idle: {offer}")));
            }
        });
    }

    /// How to enable a model — in reverie.toml and from this editor — with the local Ollama
    /// server's offer when one answered. For an editor that shows a message as one status line
    /// (Helix), one line with the editor's way first, so it is what the line shows.
    pub(super) fn how_to_enable(&self) -> String {
        let editor = self.setup().support.editor;
        let (mut text, separator) = if editor.one_line_messages() {
            (format!("{} (Or add [llm] to reverie.toml.)", editor.how_to_configure_model()), ' ')
        } else {
            (format!("{}\n{}", crate::llm::HOW_TO_ENABLE, editor.how_to_configure_model()), '\n')
        };
        if let Some(offer) = lock(&self.configured).ollama_offer.as_ref() {
            text.push(separator);
            text.push_str(offer);
        }
        text
    }

    /// Records user activity (an edit, a request). Cheap; never blocks on background work.
    pub(super) fn touch(self: &Arc<Self>) {
        let changed = lock(&self.idle).activity(Instant::now());
        if changed.is_some() {
            self.activity.notify_one();
            self.on_activity_change(Activity::Active);
        }
    }

    fn on_activity_change(self: &Arc<Self>, activity: Activity) {
        if activity == Activity::Active
            && let Some(running) = lock(&self.thinking).running.as_ref()
        {
            // Stop taking jobs; the runner cancels a call in flight after the grace period.
            let _ = running.send(true);
        }
        let state = lock(&self.status).state;
        if !matches!(state, ServerState::Idle | ServerState::Ready | ServerState::Thinking) {
            return;
        }
        match activity {
            Activity::Active if state != ServerState::Thinking => {
                self.set_status(ServerState::Ready, None, Some("ready".into()))
            }
            Activity::Active => {}
            Activity::Idle => self.start_idle_work(),
        }
    }

    /// The work of idle time, one pass at a time: embedding what has no vector yet (cheap, no
    /// tokens), then thinking. The embedding pass calls this again when it ends.
    pub(super) fn start_idle_work(self: &Arc<Self>) {
        if super::semantic::start(self) || super::think::start(self) {
            return;
        }
        let message = {
            let configured = lock(&self.configured);
            match (&configured.provider, &configured.ollama_offer) {
                (Some(_), _) => "idle: every note is fresh".to_string(),
                (None, Some(offer)) => format!("idle: {offer}"),
                (None, None) => "idle: no model configured, answering from facts".to_string(),
            }
        };
        self.set_status(ServerState::Idle, None, Some(message));
    }

    /// `reverie.think`: a pass now, even though the user is active (they asked for it). Activity
    /// during the pass still stops it, as usual. Returns whether a pass is running.
    pub(super) fn think_now(self: &Arc<Self>) -> bool {
        super::think::start(self)
    }

    /// Marks a pass as running; returns the receiver that tells it the user is back, or `None` when
    /// one already runs.
    pub(super) fn begin_thinking(&self) -> Option<tokio::sync::watch::Receiver<bool>> {
        let mut thinking = lock(&self.thinking);
        if thinking.running.is_some() {
            return None;
        }
        let (sender, receiver) = tokio::sync::watch::channel(false);
        thinking.running = Some(sender);
        Some(receiver)
    }

    pub(super) fn is_thinking(&self) -> bool {
        lock(&self.thinking).running.is_some()
    }

    /// Notes were written: the learned context must be rebuilt. `finished` ends the pass.
    pub(super) fn notes_written(&self, finished: bool) {
        let mut thinking = lock(&self.thinking);
        thinking.notes_version += 1;
        if finished {
            thinking.running = None;
        }
    }

    /// The questions asked lately (examples for the thinking pass).
    pub(super) fn recent_questions(&self) -> Vec<String> {
        lock(&self.attention).asked.clone()
    }

    /// Counts the notes written since start: what the learned context and its vectors follow.
    pub(super) fn notes_version(&self) -> u64 {
        lock(&self.thinking).notes_version
    }

    /// The learned context for the current facts and notes (rebuilt when either changed).
    pub(super) fn learned(&self) -> Option<Arc<crate::answer::LearnedContext>> {
        let store = self.store.get()?;
        let generation = self.status().generation;
        let version = lock(&self.thinking).notes_version;
        if let Some((g, v, learned)) = lock(&self.thinking).learned.as_ref()
            && *g == generation
            && *v == version
        {
            return Some(learned.clone());
        }
        let notes = store.notes().ok()?;
        let learned = Arc::new(crate::answer::LearnedContext::new(notes, &self.snapshot()));
        lock(&self.thinking).learned = Some((generation, version, learned.clone()));
        Some(learned)
    }

    /// The past-changes channel's index over the mined history (`history::past_changes`): read from
    /// the store once (blocking: call off the async threads), then kept: a history pass in the
    /// server must reset `past` when it stores commits. None before any history is mined.
    pub(super) fn past_changes(&self) -> Option<Arc<crate::search::PastChanges>> {
        let mut past = lock(&self.past);
        if past.is_none() {
            let history = crate::history::load(self.store.get()?).ok()?;
            if history.is_empty() {
                return None;
            }
            *past = Some(Arc::new(crate::history::past_changes(&history)));
        }
        past.clone()
    }

    /// The learned context if it is already built for the current facts and notes (never builds:
    /// for request paths that must stay fast, such as hover).
    pub(super) fn learned_if_current(&self) -> Option<Arc<crate::answer::LearnedContext>> {
        let generation = self.status().generation;
        let thinking = lock(&self.thinking);
        let version = thinking.notes_version;
        thinking.learned.as_ref().filter(|(g, v, _)| *g == generation && *v == version).map(|(_, _, l)| l.clone())
    }

    /// Fresh, stale and failed notes for the current facts and model.
    pub(super) fn note_counts(&self) -> crate::sleep::NoteCounts {
        let (Some(store), Some(provider)) = (self.store.get(), self.provider()) else {
            return crate::sleep::NoteCounts::default();
        };
        let model = crate::sleep::model_id(Some(provider.as_ref() as &dyn crate::llm::Provider));
        crate::sleep::note_counts(store, &self.snapshot(), &model, &self.config().sleep.kinds())
    }

    /// The text of a file by key: the open buffer if there is one, else the disk.
    pub(super) fn source_of(&self, key: &str) -> Option<String> {
        if let Some(doc) = self.documents().values().find(|d| d.key == key) {
            return Some(doc.text.clone());
        }
        let roots = self.roots();
        let rules = self.rules.get()?;
        let max = self.config().index.max_file_size;
        roots.iter().find_map(|root| {
            let path = root.join(key);
            (rules.locate(&path).map(|(_, k)| k).as_deref() == Some(key))
                .then(|| crate::workspace::read_source_text(&path, max))
                .flatten()
        })
    }

    /// Commits per file in recent git history, read again when older than `CHURN_MAX_AGE`. Runs
    /// `git log`: call it off the async threads.
    pub(super) fn churn(&self) -> Churn {
        if let Some((at, churn)) = lock(&self.attention).churn.as_ref()
            && at.elapsed() < CHURN_MAX_AGE
        {
            return churn.clone();
        }
        let churn = Arc::new(crate::git::churn(&self.roots()));
        lock(&self.attention).churn = Some((Instant::now(), churn.clone()));
        churn
    }

    /// What the scheduler should know about the user's attention.
    pub(super) fn signals(&self, churn: &HashMap<String, u32>) -> crate::sleep::schedule::Signals {
        let open_files = self.documents().values().map(|d| d.key.clone()).collect();
        let attention = lock(&self.attention);
        crate::sleep::schedule::Signals {
            open_files,
            edited_at_ns: attention.edited_at.clone(),
            asked_about: attention.asked_about.clone(),
            churn: churn.clone(),
            now_ns: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos() as u64),
        }
    }

    /// Records an edit to `key` (a scheduling signal).
    pub(super) fn edited(&self, key: &str) {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64);
        lock(&self.attention).edited_at.insert(key.to_string(), now);
    }

    /// Records a question and the files its answer cited (scheduling signals and examples).
    pub(super) fn asked(&self, question: &str, files: &[String]) {
        let mut attention = lock(&self.attention);
        attention.asked.push(question.to_string());
        if attention.asked.len() > 50 {
            attention.asked.remove(0);
        }
        for file in files {
            *attention.asked_about.entry(file.clone()).or_insert(0) += 1;
        }
    }

    /// Updates the status and notifies the client (from a spawned task, never under a lock).
    pub(super) fn set_status(self: &Arc<Self>, state: ServerState, files: Option<usize>, message: Option<String>) {
        let params = {
            let mut status = lock(&self.status);
            status.state = state;
            if let Some(files) = files {
                status.files = files;
            }
            if let Some(message) = message {
                status.message = message;
            }
            status.clone()
        };
        let _ = self.status_updates.send(params);
    }

    /// Starts the background tasks: the idle clock, the event loop, the watcher; then indexes.
    pub(super) fn start(self: &Arc<Self>) {
        let Some(Loops { events, status_updates: mut updates }) = lock(&self.loops).take() else { return };
        let client = self.client.clone();
        tokio::spawn(async move {
            while let Some(params) = updates.recv().await {
                client.send_notification::<StatusNotification>(params).await;
            }
        });
        let idle = self.clone();
        tokio::spawn(async move { idle.run_idle_clock().await });
        let session = self.clone();
        tokio::spawn(async move { session.run_events(events).await });
        self.send(Event::Reindex { announce: false });
    }

    async fn run_idle_clock(self: Arc<Self>) {
        loop {
            let deadline = lock(&self.idle).next_deadline();
            match deadline {
                Some(deadline) => {
                    tokio::select! {
                        _ = self.activity.notified() => {}
                        _ = tokio::time::sleep_until(deadline.into()) => {}
                    }
                }
                None => self.activity.notified().await,
            }
            let changed = lock(&self.idle).tick(Instant::now());
            if let Some(activity) = changed {
                self.on_activity_change(activity);
            }
        }
    }

    async fn run_events(self: Arc<Self>, mut receiver: mpsc::UnboundedReceiver<Event>) {
        while let Some(first) = receiver.recv().await {
            // Coalesce everything that is already queued into one round of work.
            let mut events = vec![first];
            while let Ok(next) = receiver.try_recv() {
                events.push(next);
            }
            let reindex = events.iter().any(|e| matches!(e, Event::Reindex { .. }));
            if reindex {
                let announce = events.iter().any(|e| matches!(e, Event::Reindex { announce: true }));
                self.reindex(announce).await;
            }
            let mut paths: Vec<PathBuf> = Vec::new();
            let mut buffers: Vec<String> = Vec::new();
            for event in events {
                match event {
                    Event::Reindex { .. } => {}
                    Event::Paths(p) if !reindex => paths.extend(p),
                    Event::Closed(p) if !reindex => paths.push(p),
                    // A re-index applies every open buffer itself.
                    Event::Buffer(uri) if !reindex => buffers.push(uri),
                    Event::Buffer(_) => {}
                    Event::Paths(_) | Event::Closed(_) => {}
                }
            }
            buffers.sort();
            buffers.dedup();
            if !paths.is_empty() || !buffers.is_empty() {
                self.apply_changes(paths, buffers).await;
            }
        }
    }

    /// A full index with `$/progress`, then a fresh snapshot. With `announce` (the user asked for it),
    /// the result is also shown as a message, for clients that show no progress.
    async fn reindex(self: &Arc<Self>, announce: bool) {
        let roots = self.roots();
        if roots.is_empty() {
            let message = "no workspace folder: only open files are known";
            if announce {
                self.client.show_message(MessageType::INFO, format!("reverie: {message}")).await;
            }
            self.set_status(ServerState::Ready, Some(0), Some(message.into()));
            return;
        }
        self.set_status(ServerState::Indexing, None, Some(format!("indexing {}", describe_roots(&roots))));
        let store = match self.open_store(&roots).await {
            Ok(store) => store,
            Err(err) => {
                let message = format!("cannot open the cache: {err:#}; set REVERIE_CACHE_DIR to a writable folder");
                self.client.show_message(MessageType::ERROR, &message).await;
                self.set_status(ServerState::Error, None, Some(message));
                return;
            }
        };
        let rules = self.rules.get_or_init(|| Arc::new(IgnoreRules::new(&roots))).clone();
        rules.clear();
        {
            // Adding inotify watches to a large tree takes a while: not on an async worker.
            let session = self.clone();
            let watch_roots = roots.clone();
            let _ = tokio::task::spawn_blocking(move || session.start_watcher(&watch_roots)).await;
        }

        let progress = Progress::begin(self, "reverie: indexing").await;
        let (sender, mut receiver) = mpsc::unbounded_channel::<(usize, usize)>();
        let walk_options = self.config().index.walk_options();
        let task_store = store.clone();
        let task_roots = roots.clone();
        let work = tokio::task::spawn_blocking(move || {
            let last = std::sync::Mutex::new(Instant::now());
            let report = crate::index::index(&task_store, &task_roots, &walk_options, &|event| {
                if let crate::index::Progress::Checked { done, total, .. } = event {
                    let mut last = last.lock().unwrap_or_else(|e| e.into_inner());
                    if done == total || last.elapsed().as_millis() >= 100 {
                        *last = Instant::now();
                        let _ = sender.send((done, total));
                    }
                }
            })?;
            let facts = crate::index::all_facts(&task_store)?;
            Ok::<_, anyhow::Error>((report, facts))
        });
        while let Some((done, total)) = receiver.recv().await {
            progress.report(&format!("{done}/{total} files"), (done * 100 / total.max(1)) as u32).await;
        }
        let result = work.await.map_err(anyhow::Error::from).and_then(|r| r);
        match result {
            Ok((report, facts)) => {
                let files: BTreeMap<Arc<str>, Arc<FileFacts>> =
                    facts.into_iter().map(|(k, f)| (Arc::from(k.as_str()), Arc::new(f))).collect();
                let count = files.len();
                let snapshot = tokio::task::spawn_blocking(move || Snapshot::new(files)).await.unwrap_or_default();
                let snapshot = Arc::new(snapshot);
                *self.snapshot.write().unwrap_or_else(|e| e.into_inner()) = snapshot.clone();
                // Build the search indexes now, off the request path, so the first question does not wait.
                tokio::task::spawn_blocking(move || {
                    snapshot.facts_index();
                    snapshot.text_index();
                });
                // Open buffers win over the disk.
                let open: Vec<String> = self.documents().keys().cloned().collect();
                if !open.is_empty() {
                    self.apply_changes(Vec::new(), open).await;
                }
                let message = format!(
                    "indexed {count} files in {:.1} s ({} parsed, {} skipped)",
                    report.elapsed_ms / 1000.0,
                    report.parsed,
                    report.skipped.len()
                );
                // The editors' log (VS Code's output channel at its default level) says it too.
                tracing::info!("{message}");
                // Ready before saying so: a `reverie.status` asked on the message reads the new state.
                lock(&self.status).generation += 1;
                self.set_status(ServerState::Ready, Some(count), Some(message.clone()));
                progress.end(&message).await;
                if announce {
                    self.client.show_message(MessageType::INFO, format!("reverie: {message}")).await;
                }
                super::semantic::follow_facts(self);
                if lock(&self.idle).state() == Activity::Idle {
                    // The user went idle while we indexed: think now (or report idle).
                    self.on_activity_change(Activity::Idle);
                }
            }
            Err(err) => {
                let message = format!("indexing failed: {err:#}");
                tracing::error!("{message}");
                progress.end(&message).await;
                self.client.show_message(MessageType::ERROR, &message).await;
                self.set_status(ServerState::Error, None, Some(message));
            }
        }
    }

    async fn open_store(&self, roots: &[PathBuf]) -> anyhow::Result<Arc<Store>> {
        if let Some(store) = self.store.get() {
            return Ok(store.clone());
        }
        let dir = crate::dirs::cache_root(self.options.cache_dir.as_deref())?.join(crate::store::workspace_id(roots));
        let (store, outcome) = tokio::task::spawn_blocking(move || Store::open(&dir)).await??;
        if let crate::store::OpenOutcome::Rebuilt(reason) = outcome {
            self.client.log_message(MessageType::WARNING, reason).await;
        }
        Ok(self.store.get_or_init(|| Arc::new(store)).clone())
    }

    fn start_watcher(self: &Arc<Self>, roots: &[PathBuf]) {
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

    /// Applies disk changes and re-extracts changed buffers, then swaps in a new snapshot.
    async fn apply_changes(self: &Arc<Self>, paths: Vec<PathBuf>, buffers: Vec<String>) {
        let (Some(store), Some(rules)) = (self.store.get().cloned(), self.rules.get().cloned()) else {
            // Not indexed yet (or no workspace): buffers still count.
            if !buffers.is_empty() {
                self.refresh_buffers(Vec::new(), Vec::new(), buffers).await;
            }
            return;
        };
        let options = self.config().index.walk_options();
        // Paths of open buffers are handled from the buffer, not the disk.
        let open_paths: Vec<PathBuf> = self
            .documents()
            .keys()
            .filter_map(|uri| uri.parse().ok().and_then(|u| super::proto::path_of(&u)))
            .collect();
        let disk_paths: Vec<PathBuf> = paths.into_iter().filter(|p| !open_paths.contains(p)).collect();
        let update = if disk_paths.is_empty() {
            crate::index::Update::default()
        } else {
            match tokio::task::spawn_blocking(move || crate::index::update_paths(&store, &rules, &options, &disk_paths))
                .await
            {
                Ok(Ok(update)) => update,
                Ok(Err(err)) => {
                    tracing::warn!("updating changed files failed: {err:#}");
                    crate::index::Update::default()
                }
                Err(err) => {
                    tracing::warn!("updating changed files panicked: {err}");
                    crate::index::Update::default()
                }
            }
        };
        let changed: Vec<(String, Arc<FileFacts>)> =
            update.changed.into_iter().map(|(k, f)| (k, Arc::new(f))).collect();
        self.refresh_buffers(changed, update.removed, buffers).await;
    }

    async fn refresh_buffers(
        self: &Arc<Self>,
        mut changed: Vec<(String, Arc<FileFacts>)>,
        removed: Vec<String>,
        buffers: Vec<String>,
    ) {
        for uri in buffers {
            let (input, key) = {
                let documents = self.documents();
                let Some(doc) = documents.get(&uri) else { continue };
                let Some(language) = doc.language else { continue };
                // Parse incrementally from the edited old tree, off the request path.
                let input = doc.parse_input().unwrap_or_else(|| (doc.text.clone(), doc.version, language, None));
                (input, doc.key.clone())
            };
            let (text, version, language, old_tree) = input;
            let parsed = tokio::task::spawn_blocking(move || {
                let tree = crate::syntax::parse(text.as_bytes(), language, old_tree.as_ref())?;
                let facts = crate::syntax::extract_from_tree(text.as_bytes(), language, &tree);
                Some((tree, facts))
            })
            .await;
            let Ok(Some((tree, facts))) = parsed else { continue };
            // A result for an outdated version is dropped: a newer Buffer event is queued.
            let mut documents = self.documents();
            if let Some(doc) = documents.get_mut(&uri).filter(|d| d.version == version) {
                doc.install_tree(version, tree);
                drop(documents);
                changed.push((key, Arc::new(facts)));
            }
        }
        if changed.is_empty() && removed.is_empty() {
            return;
        }
        let base = self.snapshot();
        let snapshot = tokio::task::spawn_blocking(move || base.with_changes(changed, &removed)).await;
        if let Ok(snapshot) = snapshot {
            self.publish_snapshot(snapshot);
        }
    }
}

/// The workspace folders, for messages: `~/src/app`, or `3 folders`.
fn describe_roots(roots: &[PathBuf]) -> String {
    match roots {
        [root] => {
            let home = std::env::var_os("HOME").map(PathBuf::from);
            match home.as_deref().and_then(|home| root.strip_prefix(home).ok()) {
                Some(under_home) => format!("~/{}", under_home.display()),
                None => root.display().to_string(),
            }
        }
        roots => format!("{} folders", roots.len()),
    }
}

/// `$/progress` for one long operation, when the client supports it (else nothing is sent).
pub(super) struct Progress {
    ongoing: Option<tower_lsp_server::OngoingProgress<tower_lsp_server::Bounded, tower_lsp_server::NotCancellable>>,
}

impl Progress {
    pub(super) async fn begin(session: &Session, title: &str) -> Progress {
        if !session.support().work_done_progress {
            return Progress { ongoing: None };
        }
        let token = ProgressToken::String(format!("reverie-{}", next_token()));
        if session.client.create_work_done_progress(token.clone()).await.is_err() {
            return Progress { ongoing: None };
        }
        let ongoing = session.client.progress(token, title.to_string()).with_percentage(0).begin().await;
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
