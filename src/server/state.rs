//! The server's state, without the transport: what `initialize` said, the merged configuration,
//! the open documents, the current snapshot of the facts, the store, the idle clock, the status,
//! the user's attention and the learned context built for the current facts and notes.
//!
//! Request handlers and the background passes read it; the session (`session.rs`) owns it beside
//! the client and the event loop. Nothing here talks to the client or spawns a task, so it is
//! unit-tested with plain values. Locks are std mutexes held for short, synchronous sections: never
//! across an `.await` or a client call.

use super::client::{ClientSupport, Editor};
use super::status::{SemanticCounts, ServerState, StatusParams};
use crate::config::{Config, ConfigProblem, Layer};
use crate::convert::Encoding;
use crate::document::Document;
use crate::idle::{Activity, IdleClock};
use crate::sleep::NoteStore;
use crate::snapshot::Snapshot;
use crate::store::Store;
use crate::workspace::IgnoreRules;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, RwLock};
use std::time::Instant;

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
        status_notifications: false,
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

/// The learned context for answering, with the (snapshot generation, notes version) it was built for.
#[derive(Default)]
struct Learned {
    /// Bumped whenever notes are written.
    notes_version: u64,
    built: Option<(u64, u64, Arc<crate::answer::LearnedContext>)>,
}

/// Commits per file key.
pub type Churn = Arc<HashMap<String, u32>>;

/// How long git history read for scheduling stays good (commits are rare next to thinking passes).
const CHURN_MAX_AGE: std::time::Duration = std::time::Duration::from_secs(600);

/// Questions kept as examples for the thinking pass.
const RECENT_QUESTIONS: usize = 50;

pub(super) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

pub struct State {
    setup: OnceLock<Setup>,
    configured: Mutex<Configured>,
    /// Open documents by URI string.
    documents: Mutex<HashMap<String, Document>>,
    snapshot: RwLock<Arc<Snapshot>>,
    store: OnceLock<Arc<Store>>,
    rules: OnceLock<Arc<IgnoreRules>>,
    idle: Mutex<IdleClock>,
    status: Mutex<StatusParams>,
    attention: Mutex<Attention>,
    learned: Mutex<Learned>,
}

impl Default for State {
    fn default() -> State {
        State::new()
    }
}

impl State {
    pub fn new() -> State {
        let config = Config::default();
        State {
            setup: OnceLock::new(),
            idle: Mutex::new(IdleClock::new(config.server.idle_after, Instant::now())),
            configured: Mutex::new(Configured { config, provider: None, ollama_offer: None }),
            documents: Mutex::new(HashMap::new()),
            snapshot: RwLock::new(Arc::new(Snapshot::default())),
            store: OnceLock::new(),
            rules: OnceLock::new(),
            status: Mutex::new(StatusParams { message: "starting".into(), ..StatusParams::default() }),
            attention: Mutex::new(Attention::default()),
            learned: Mutex::new(Learned::default()),
        }
    }

    /// Records what `initialize` said (once; a second `initialize` is refused by tower-lsp-server).
    pub fn set_up(&self, setup: Setup) {
        if self.setup.set(setup).is_err() {
            tracing::warn!("initialize was received twice; keeping the first");
        }
    }

    fn setup(&self) -> &Setup {
        self.setup.get().unwrap_or(&UNSET)
    }

    pub fn encoding(&self) -> Encoding {
        self.setup().encoding
    }

    pub fn roots(&self) -> Vec<PathBuf> {
        self.setup().roots.clone()
    }

    pub fn support(&self) -> ClientSupport {
        self.setup().support.clone()
    }

    pub fn config(&self) -> Config {
        lock(&self.configured).config.clone()
    }

    /// The configured model, if any.
    pub fn provider(&self) -> Option<Arc<crate::llm::Resilient>> {
        lock(&self.configured).provider.clone()
    }

    /// The store, once the first index opened it.
    pub fn store(&self) -> Option<Arc<Store>> {
        self.store.get().cloned()
    }

    /// Keeps `store` as the store (the first one set wins) and returns the one kept.
    pub fn keep_store(&self, store: Store) -> Arc<Store> {
        self.store.get_or_init(|| Arc::new(store)).clone()
    }

    /// The ignore rules of the roots, made on first use.
    pub fn rules(&self) -> Arc<IgnoreRules> {
        self.rules.get_or_init(|| Arc::new(IgnoreRules::new(&self.roots()))).clone()
    }

    /// The ignore rules, if the first index made them.
    pub fn rules_if_made(&self) -> Option<Arc<IgnoreRules>> {
        self.rules.get().cloned()
    }

    pub fn documents(&self) -> MutexGuard<'_, HashMap<String, Document>> {
        lock(&self.documents)
    }

    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.snapshot.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Swaps in `snapshot`; returns its file count.
    pub fn replace_snapshot(&self, snapshot: Arc<Snapshot>) -> usize {
        let files = snapshot.files.len();
        *self.snapshot.write().unwrap_or_else(|e| e.into_inner()) = snapshot;
        files
    }

    pub fn status(&self) -> StatusParams {
        lock(&self.status).clone()
    }

    /// The snapshot generation the status announces (grows with every change of the facts).
    pub fn generation(&self) -> u64 {
        lock(&self.status).generation
    }

    /// Swaps in `snapshot` and counts the next generation in one step (a reader that sees the new
    /// facts sees the new status, and the other way round); outside an index, the status' file count
    /// follows it. Returns the state to announce.
    pub fn publish(&self, snapshot: Arc<Snapshot>) -> ServerState {
        let files = snapshot.files.len();
        let mut current = self.snapshot.write().unwrap_or_else(|e| e.into_inner());
        let state = self.next_generation(Some(files));
        *current = snapshot;
        state
    }

    /// A new view of the code: the next generation; outside an index, the file count follows it.
    pub fn next_generation(&self, files: Option<usize>) -> ServerState {
        let mut status = lock(&self.status);
        status.generation += 1;
        if status.state != ServerState::Indexing
            && let Some(files) = files
        {
            status.files = files;
        }
        status.state
    }

    /// Changes the status; returns the params to tell the client. With no model configured, a
    /// `ready` or `idle` message says how questions are answered, so both read as the one condition
    /// they are ("indexed 2 files in 0.1 s; no model configured, answering from facts", then "idle: no
    /// model configured, answering from facts").
    pub fn update_status(&self, state: ServerState, files: Option<usize>, message: Option<String>) -> StatusParams {
        let message = match (message, state) {
            (Some(message), ServerState::Ready | ServerState::Idle) => match self.answering_without_model() {
                Some(how) if !message.contains(&how) => Some(format!("{message}; {how}")),
                _ => Some(message),
            },
            (message, _) => message,
        };
        let mut status = lock(&self.status);
        status.state = state;
        if let Some(files) = files {
            status.files = files;
        }
        if let Some(message) = message {
            status.message = message;
        }
        status.clone()
    }

    /// Sets the note counts shown in the status (without notifying: the next status update does).
    pub fn set_note_counts(&self, notes: usize, stale: usize) {
        let mut status = lock(&self.status);
        status.notes = notes;
        status.stale = stale;
    }

    /// Sets how far the semantic index covers the code; returns the params to tell the client when
    /// that changed.
    pub fn set_semantic_counts(&self, counts: SemanticCounts) -> Option<StatusParams> {
        let mut status = lock(&self.status);
        (status.semantic != Some(counts)).then(|| {
            status.semantic = Some(counts);
            status.clone()
        })
    }

    /// Whether the user is idle now (by the idle clock).
    pub fn user_idle(&self) -> bool {
        lock(&self.idle).state() == Activity::Idle
    }

    /// Records user activity at `now`; returns the change of activity it makes, if any.
    pub fn activity(&self, now: Instant) -> Option<Activity> {
        lock(&self.idle).activity(now)
    }

    /// Advances the idle clock to `now`; returns the change of activity, if any.
    pub fn tick(&self, now: Instant) -> Option<Activity> {
        lock(&self.idle).tick(now)
    }

    /// When the idle clock next needs a tick.
    pub fn next_deadline(&self) -> Option<Instant> {
        lock(&self.idle).next_deadline()
    }

    /// The key of `path` if it is one of the workspace's files: under a root and not left out by the
    /// walk (hidden, ignored); a path through a symbolic link is tried resolved too. `None` for
    /// anything else — such a document is never indexed, counted or cited. Read it through
    /// `Session::workspace_key`, which leaves reverie's own cache out too.
    pub fn key_of(&self, path: &Path) -> Option<String> {
        let locate = |path: &Path| match self.rules.get() {
            Some(rules) => rules.locate(path).filter(|_| !rules.is_ignored(path, false)).map(|(_, key)| key),
            None => {
                let roots = &self.setup().roots;
                let root = roots.iter().find(|r| path.starts_with(r))?;
                let prefix = crate::workspace::root_prefix(roots, root);
                Some(crate::workspace::key_for(root, prefix.as_deref(), path))
            }
        };
        locate(path).or_else(|| locate(&path.canonicalize().ok()?))
    }

    /// Re-merges the configuration layers with `settings` (from the editor) on top. Returns the
    /// problems to show the user, and the Ollama server to look for when no model is configured.
    pub fn merge_config(&self, settings: Option<serde_json::Value>) -> (Vec<ConfigProblem>, Option<String>) {
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
        let look_for_ollama =
            (provider.is_none() && !config.llm.offer_ollama.is_empty()).then(|| config.llm.offer_ollama.clone());
        *lock(&self.configured) = Configured { config, provider, ollama_offer: None };
        (problems, look_for_ollama)
    }

    /// Keeps the offer of a local Ollama server, unless a model was configured meanwhile; returns
    /// whether it was kept.
    pub fn offer_ollama(&self, offer: String) -> bool {
        let mut configured = lock(&self.configured);
        if configured.provider.is_some() {
            return false;
        }
        configured.ollama_offer = Some(offer);
        true
    }

    /// How to enable a model — in reverie.toml and from this editor — with the local Ollama
    /// server's offer when one answered. For an editor that shows a message as one status line
    /// (Helix), one line with the editor's way first, so it is what the line shows.
    pub fn how_to_enable(&self) -> String {
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

    /// The status message of an idle server with nothing left to do.
    pub fn idle_message(&self) -> String {
        format!("idle: {}", self.answering_without_model().unwrap_or_else(|| "every note is fresh".to_string()))
    }

    /// The status message when the user is back: with no model, how questions are answered, as the
    /// idle message says it, so `ready` and `idle` read as one condition.
    pub fn ready_message(&self) -> String {
        match self.answering_without_model() {
            Some(how) => format!("ready: {how}"),
            None => "ready".to_string(),
        }
    }

    /// With no model configured, how questions are answered (and the Ollama server on offer).
    fn answering_without_model(&self) -> Option<String> {
        let configured = lock(&self.configured);
        match (&configured.provider, &configured.ollama_offer) {
            (Some(_), _) => None,
            (None, Some(offer)) => Some(offer.clone()),
            (None, None) => Some("no model configured, answering from facts".to_string()),
        }
    }

    /// Notes were written: the learned context must be rebuilt.
    pub fn notes_written(&self) {
        lock(&self.learned).notes_version += 1;
    }

    /// Counts the notes written since start: what the learned context and its vectors follow.
    pub fn notes_version(&self) -> u64 {
        lock(&self.learned).notes_version
    }

    /// The learned context for the current facts and notes (rebuilt when either changed; reads the
    /// store: call it off the async threads).
    pub fn learned(&self) -> Option<Arc<crate::answer::LearnedContext>> {
        let store = self.store.get()?;
        if let Some(learned) = self.learned_if_current() {
            return Some(learned);
        }
        let generation = self.generation();
        let version = self.notes_version();
        let notes = store.notes().ok()?;
        let learned = Arc::new(crate::answer::LearnedContext::new(notes, &self.snapshot()));
        lock(&self.learned).built = Some((generation, version, learned.clone()));
        Some(learned)
    }

    /// The learned context if it is already built for the current facts and notes (never builds:
    /// for request paths that must stay fast, such as hover).
    pub fn learned_if_current(&self) -> Option<Arc<crate::answer::LearnedContext>> {
        let generation = self.generation();
        let learned = lock(&self.learned);
        let version = learned.notes_version;
        learned.built.as_ref().filter(|(g, v, _)| *g == generation && *v == version).map(|(_, _, l)| l.clone())
    }

    /// Fresh, stale and failed notes for the current facts and model.
    pub fn note_counts(&self) -> crate::sleep::NoteCounts {
        let (Some(store), Some(provider)) = (self.store.get(), self.provider()) else {
            return crate::sleep::NoteCounts::default();
        };
        let model = crate::sleep::model_id(Some(provider.as_ref() as &dyn crate::llm::Provider));
        crate::sleep::note_counts(store, &self.snapshot(), &model, &self.config().sleep.kinds())
    }

    /// The text of a file by key: the open buffer if there is one, else the disk (only a file the
    /// walk would keep under that key).
    pub fn source_of(&self, key: &str) -> Option<String> {
        if let Some(doc) = self.documents().values().find(|d| d.key == key) {
            return Some(doc.text.clone());
        }
        let rules = self.rules.get()?;
        let max = self.config().index.max_file_size;
        self.roots().iter().find_map(|root| {
            let path = root.join(key);
            (rules.locate(&path).map(|(_, k)| k).as_deref() == Some(key))
                .then(|| crate::workspace::read_source_text(&path, max))
                .flatten()
        })
    }

    /// Commits per file in recent git history, read again when older than `CHURN_MAX_AGE`. Runs
    /// `git log`: call it off the async threads.
    pub fn churn(&self) -> Churn {
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
    pub fn signals(&self, churn: &HashMap<String, u32>) -> crate::sleep::schedule::Signals {
        let open_files = self.documents().values().filter(|d| d.in_workspace).map(|d| d.key.clone()).collect();
        let attention = lock(&self.attention);
        crate::sleep::schedule::Signals {
            open_files,
            edited_at_ns: attention.edited_at.clone(),
            asked_about: attention.asked_about.clone(),
            churn: churn.clone(),
            now_ns: now_ns(),
        }
    }

    /// Records an edit to `key` (a scheduling signal).
    pub fn edited(&self, key: &str) {
        lock(&self.attention).edited_at.insert(key.to_string(), now_ns());
    }

    /// Records a question and the files its answer cited (scheduling signals and examples).
    pub fn asked(&self, question: &str, files: &[String]) {
        let mut attention = lock(&self.attention);
        attention.asked.push(question.to_string());
        if attention.asked.len() > RECENT_QUESTIONS {
            attention.asked.remove(0);
        }
        for file in files {
            *attention.asked_about.entry(file.clone()).or_insert(0) += 1;
        }
    }

    /// The questions asked lately (examples for the thinking pass).
    pub fn recent_questions(&self) -> Vec<String> {
        lock(&self.attention).asked.clone()
    }
}

fn now_ns() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set_up(state: &State, roots: Vec<PathBuf>) {
        state.set_up(Setup {
            encoding: Encoding::Utf8,
            roots,
            support: ClientSupport {
                editor: Editor::Other,
                work_done_progress: false,
                show_document: false,
                watched_files_registration: false,
                status_notifications: false,
            },
            init_options: Some(serde_json::json!({"server": {"idle_after": "3s"}})),
        });
    }

    #[test]
    fn before_initialize_the_state_is_utf16_with_no_roots() {
        let state = State::new();
        assert_eq!(state.encoding(), Encoding::Utf16);
        assert!(state.roots().is_empty());
        assert_eq!(state.key_of(Path::new("/anywhere/a.py")), None);
        assert_eq!(state.status().message, "starting");
    }

    #[test]
    fn the_first_initialize_wins_and_keys_are_relative_to_the_roots() {
        let state = State::new();
        set_up(&state, vec![PathBuf::from("/work/app")]);
        set_up(&state, vec![PathBuf::from("/elsewhere")]);
        assert_eq!(state.encoding(), Encoding::Utf8);
        assert_eq!(state.key_of(Path::new("/work/app/src/a.py")).as_deref(), Some("src/a.py"));
        assert_eq!(state.key_of(Path::new("/tmp/answer.md")), None, "outside every root");
    }

    #[test]
    fn initialization_options_are_a_config_layer() {
        let state = State::new();
        set_up(&state, vec![]);
        let (problems, _) = state.merge_config(Some(serde_json::json!({"llm": {"answer_tokens": 123}})));
        assert!(problems.is_empty(), "{problems:?}");
        let config = state.config();
        assert_eq!(config.server.idle_after, std::time::Duration::from_secs(3));
        assert_eq!(config.llm.answer_tokens, 123, "settings win over initializationOptions");
        assert!(state.provider().is_none());
        assert_eq!(state.idle_message(), "idle: no model configured, answering from facts");
        assert_eq!(state.ready_message(), "ready: no model configured, answering from facts");
        // Ready after an index and idle say the same about answering, once each.
        let ready = state.update_status(ServerState::Ready, Some(2), Some("indexed 2 files in 0.1 s".into()));
        assert_eq!(ready.message, "indexed 2 files in 0.1 s; no model configured, answering from facts");
        let idle = state.update_status(ServerState::Idle, None, Some(state.idle_message()));
        assert_eq!(idle.message, "idle: no model configured, answering from facts");
        let indexing = state.update_status(ServerState::Indexing, None, Some("indexing ~/app".into()));
        assert_eq!(indexing.message, "indexing ~/app");
    }

    #[test]
    fn an_ollama_offer_is_kept_only_without_a_model_and_shown_when_idle() {
        let state = State::new();
        set_up(&state, vec![]);
        state.merge_config(None);
        assert!(state.offer_ollama("Ollama answers at http://127.0.0.1:11434".into()));
        assert_eq!(state.idle_message(), "idle: Ollama answers at http://127.0.0.1:11434");
        assert!(state.how_to_enable().ends_with("Ollama answers at http://127.0.0.1:11434"));
    }

    #[test]
    fn status_updates_keep_what_they_do_not_change() {
        let state = State::new();
        let first = state.update_status(ServerState::Ready, Some(4), Some("indexed 4 files".into()));
        let indexed = "indexed 4 files; no model configured, answering from facts";
        assert_eq!((first.state, first.files, first.message.as_str()), (ServerState::Ready, 4, indexed));
        state.set_note_counts(3, 1);
        let second = state.update_status(ServerState::Idle, None, None);
        assert_eq!((second.files, second.notes, second.stale), (4, 3, 1));
        assert_eq!(second.message, indexed);
        let counts = SemanticCounts { embedded: 2, definitions: 5 };
        assert_eq!(state.set_semantic_counts(counts).map(|s| s.semantic), Some(Some(counts)));
        assert_eq!(state.set_semantic_counts(counts), None, "unchanged: nothing to tell");
        assert_eq!(state.next_generation(Some(5)), ServerState::Idle);
        assert_eq!((state.status().files, state.generation()), (5, 1));
        state.update_status(ServerState::Indexing, None, None);
        state.next_generation(Some(9));
        assert_eq!(state.status().files, 5, "while indexing the count comes from the index");
    }

    #[test]
    fn recent_questions_are_bounded_and_cited_files_counted() {
        let state = State::new();
        for i in 0..(RECENT_QUESTIONS + 5) {
            state.asked(&format!("q{i}"), &["a.py".to_string()]);
        }
        let recent = state.recent_questions();
        assert_eq!(recent.len(), RECENT_QUESTIONS);
        assert_eq!(recent[0], "q5");
        state.edited("b.py");
        let signals = state.signals(&HashMap::new());
        assert_eq!(signals.asked_about["a.py"], (RECENT_QUESTIONS + 5) as u32);
        assert!(signals.edited_at_ns.contains_key("b.py"));
    }

    #[test]
    fn an_open_buffer_is_the_source_of_its_file_and_nothing_else_is_read_before_the_index() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.py"), "on disk\n").unwrap();
        let state = State::new();
        set_up(&state, vec![dir.path().to_path_buf()]);
        assert_eq!(state.source_of("a.py"), None, "no rules before the first index: nothing is read");
        state.rules();
        assert_eq!(state.source_of("a.py").as_deref(), Some("on disk\n"));
        state
            .documents()
            .insert("file:///a.py".into(), Document::new("a.py".into(), 1, "in the buffer\n".into(), None));
        assert_eq!(state.source_of("a.py").as_deref(), Some("in the buffer\n"));
        assert_eq!(state.source_of("../outside.py"), None);
    }

    #[test]
    fn the_learned_context_follows_the_generation_and_the_notes() {
        let dir = tempfile::tempdir().unwrap();
        let state = State::new();
        assert!(state.learned().is_none(), "no store yet");
        let (store, _) = Store::open(dir.path()).unwrap();
        state.keep_store(store);
        let first = state.learned().expect("built");
        assert!(Arc::ptr_eq(&first, &state.learned_if_current().unwrap()));
        state.notes_written();
        assert!(state.learned_if_current().is_none(), "new notes: rebuilt on next use");
        let second = state.learned().unwrap();
        state.next_generation(None);
        assert!(state.learned_if_current().is_none(), "new facts: rebuilt on next use");
        assert!(!Arc::ptr_eq(&second, &state.learned().unwrap()));
    }
}
