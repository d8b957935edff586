//! One function per LSP method. Each reads the session's current state and returns; anything slow
//! is handed to the session's event loop. How answers reach the user — a document where the client
//! can open one, else a short message with the citations first — is `show_answer`.

use super::client::ClientSupport;
use super::events::Event;
use super::ext::{AnswerChunk, AnswerChunkParams, AskParams, AskSubject, COMMANDS, Command, OpenParams};
use super::proto;
use super::session::{Session, Setup};
use super::status::ServerState;
use crate::answer::{Answer, ContextItem, Intent, ItemKind, Question};
use crate::convert::{Encoding, LineIndex};
use crate::document::{ByteEdit, Document};
use crate::syntax::Language;
use std::path::PathBuf;
use std::sync::Arc;
use tower_lsp_server::jsonrpc::{Error, Result};
use tower_lsp_server::ls_types::*;

/// Context budget for questions that do not give one.
const DEFAULT_ASK_BUDGET: usize = 2000;

pub fn initialize(session: &Session, params: InitializeParams) -> Result<InitializeResult> {
    let offered: Vec<String> = params
        .capabilities
        .general
        .as_ref()
        .and_then(|g| g.position_encodings.as_ref())
        .map(|encodings| encodings.iter().map(|e| e.as_str().to_string()).collect())
        .unwrap_or_default();
    let encoding = Encoding::negotiate(&offered);

    let mut roots: Vec<PathBuf> =
        params.workspace_folders.iter().flatten().filter_map(|folder| proto::path_of(&folder.uri)).collect();
    #[allow(deprecated)]
    if roots.is_empty()
        && let Some(root) = params.root_uri.as_ref().and_then(proto::path_of)
    {
        roots.push(root);
    }
    let roots: Vec<PathBuf> = roots.into_iter().map(|r| r.canonicalize().unwrap_or(r)).collect();
    let support = ClientSupport::from_initialize(&params);
    tracing::info!("{}", support.describe(params.client_info.as_ref()));
    session.set_up(Setup { encoding, roots, support, init_options: params.initialization_options });

    Ok(InitializeResult {
        server_info: Some(ServerInfo { name: "reverie".into(), version: Some(env!("CARGO_PKG_VERSION").into()) }),
        capabilities: ServerCapabilities {
            position_encoding: Some(PositionEncodingKind::new(encoding.name())),
            text_document_sync: Some(TextDocumentSyncCapability::Options(TextDocumentSyncOptions {
                open_close: Some(true),
                change: Some(TextDocumentSyncKind::INCREMENTAL),
                save: Some(TextDocumentSyncSaveOptions::Supported(true)),
                ..TextDocumentSyncOptions::default()
            })),
            hover_provider: Some(HoverProviderCapability::Simple(true)),
            code_action_provider: Some(CodeActionProviderCapability::Simple(true)),
            execute_command_provider: Some(ExecuteCommandOptions {
                commands: COMMANDS.iter().map(|c| c.to_string()).collect(),
                ..ExecuteCommandOptions::default()
            }),
            workspace: Some(WorkspaceServerCapabilities {
                workspace_folders: Some(WorkspaceFoldersServerCapabilities {
                    supported: Some(true),
                    change_notifications: None,
                }),
                file_operations: None,
            }),
            ..ServerCapabilities::default()
        },
        offset_encoding: None,
    })
}

pub async fn initialized(session: &Arc<Session>) {
    let problems = session.reload_config(None);
    for problem in problems {
        session.client().show_message(MessageType::WARNING, format!("reverie config: {problem}")).await;
    }
    if session.support().watched_files_registration {
        let options = DidChangeWatchedFilesRegistrationOptions {
            watchers: vec![FileSystemWatcher { glob_pattern: GlobPattern::String("**/*".into()), kind: None }],
        };
        let registration = Registration {
            id: "reverie-watched-files".into(),
            method: "workspace/didChangeWatchedFiles".into(),
            register_options: serde_json::to_value(options).ok(),
        };
        let client = session.client().clone();
        // Registration is a request to the client: never wait for it on this path.
        tokio::spawn(async move {
            if let Err(err) = client.register_capability(vec![registration]).await {
                tracing::info!("the client did not accept watched-files registration: {err}");
            }
        });
    }
    session.start();
}

pub fn did_open(session: &Arc<Session>, params: DidOpenTextDocumentParams) {
    let doc = params.text_document;
    let path = proto::path_of(&doc.uri);
    let language = path.as_deref().and_then(Language::from_path).or_else(|| language_from_id(&doc.language_id));
    let (key, in_workspace) = document_key(session, &doc.uri, path.as_deref());
    let mut document = Document::new(key, doc.version, doc.text, language);
    document.in_workspace = in_workspace;
    session.documents().insert(doc.uri.as_str().to_string(), document);
    session.touch();
    session.send(Event::Buffer(doc.uri.as_str().to_string()));
}

/// An open document's key, and whether it is one of the workspace's files (`Session::workspace_key`).
/// A document from elsewhere — reverie's own answer documents, a file in `/tmp`, another project's,
/// an ignored file — is keyed by its URI and stays open for hover, but is never indexed, counted or
/// cited. With no workspace folder, every open file but reverie's own counts: they are all the
/// server knows.
fn document_key(session: &Session, uri: &Uri, path: Option<&std::path::Path>) -> (String, bool) {
    if let Some(key) = path.and_then(|path| session.workspace_key(path)) {
        return (key, true);
    }
    let own = path.is_some_and(|path| crate::dirs::in_cache(session.cache_dir(), path));
    (uri.as_str().to_string(), session.roots().is_empty() && !own)
}

/// The language of an open document from the `languageId` the editor sent (VS Code's ids, Neovim's
/// filetypes, Helix's language names), by the language table.
fn language_from_id(id: &str) -> Option<Language> {
    Language::from_lsp_id(id)
}

/// Applies the edits in the order received, before any `.await` (see the architecture's "one writer").
pub fn did_change(session: &Arc<Session>, params: DidChangeTextDocumentParams) {
    let uri = params.text_document.uri.as_str().to_string();
    let encoding = session.encoding();
    {
        let mut documents = session.documents();
        let Some(doc) = documents.get_mut(&uri) else {
            tracing::warn!("didChange for {uri}, which is not open; ignored");
            return;
        };
        if params.text_document.version <= doc.version {
            tracing::warn!(
                "didChange for {uri} with version {} after {}; applying anyway",
                params.text_document.version,
                doc.version
            );
        }
        for change in params.content_changes {
            match change.range {
                Some(range) => {
                    let (start, end) = proto::range_offsets(&doc.text, range, encoding);
                    doc.edit(&ByteEdit { start, end, text: change.text });
                }
                None => doc.replace(change.text),
            }
        }
        doc.version = params.text_document.version;
        if doc.in_workspace {
            session.edited(&doc.key);
        }
    }
    session.touch();
    session.send(Event::Buffer(uri));
}

pub fn did_save(session: &Arc<Session>, _: DidSaveTextDocumentParams) {
    session.touch();
}

pub fn did_close(session: &Arc<Session>, params: DidCloseTextDocumentParams) {
    let removed = session.documents().remove(params.text_document.uri.as_str());
    if removed.is_some()
        && let Some(path) = proto::path_of(&params.text_document.uri)
    {
        session.send(Event::Closed(path));
    }
}

pub async fn did_change_configuration(session: &Arc<Session>, params: DidChangeConfigurationParams) {
    let settings = match params.settings {
        serde_json::Value::Object(mut map) if map.contains_key("reverie") => map.remove("reverie"),
        serde_json::Value::Null => None,
        other => Some(other),
    };
    for problem in session.reload_config(settings) {
        session.client().show_message(MessageType::WARNING, format!("reverie config: {problem}")).await;
    }
}

pub fn did_change_watched_files(session: &Arc<Session>, params: DidChangeWatchedFilesParams) {
    let paths: Vec<PathBuf> = params.changes.iter().filter_map(|c| proto::path_of(&c.uri)).collect();
    if !paths.is_empty() {
        session.send(Event::Paths(paths));
    }
}

pub fn hover(session: &Arc<Session>, params: HoverParams) -> Result<Option<Hover>> {
    session.touch();
    let uri = params.text_document_position_params.text_document.uri;
    let position = params.text_document_position_params.position;
    let encoding = session.encoding();
    let (name, key) = {
        let mut documents = session.documents();
        let Some(doc) = documents.get_mut(uri.as_str()) else { return Ok(None) };
        let index = LineIndex::new(&doc.text);
        let offset = proto::offset(&doc.text, &index, position, encoding);
        (doc.identifier_at(offset), doc.key.clone())
    };
    let Some(name) = name else { return Ok(None) };
    let snapshot = session.snapshot();
    let learned = session.learned_if_current();
    let roots = session.roots();
    let past = session.past_changes();
    Ok(super::hover::card(&snapshot, learned.as_deref(), past.as_deref(), &name, Some(&key), &roots).map(|markdown| {
        Hover {
            contents: HoverContents::Markup(MarkupContent { kind: MarkupKind::Markdown, value: markdown }),
            range: None,
        }
    }))
}

pub fn code_action(session: &Arc<Session>, params: CodeActionParams) -> Result<Option<CodeActionResponse>> {
    session.touch();
    let uri = params.text_document.uri.clone();
    let encoding = session.encoding();
    // The text asked about, and the identifier it is when it is one (a selection of `a + b` is not);
    // in a document from outside the workspace (an answer), the citations on the cursor's line.
    let (subject, symbol, cited) = {
        let mut documents = session.documents();
        let Some(doc) = documents.get_mut(uri.as_str()) else { return Ok(None) };
        let cited = match doc.text.lines().nth(params.range.start.line as usize) {
            Some(line) if !doc.in_workspace => super::links::cited_in(line),
            _ => Vec::new(),
        };
        let (start, end) = proto::range_offsets(&doc.text, params.range, encoding);
        let at = doc.identifier_at(start);
        if end > start {
            let selected = doc.text[start..end].trim().to_string();
            let symbol = at.filter(|name| *name == selected);
            (symbol.clone().or(Some(selected).filter(|s| !s.is_empty())), symbol, cited)
        } else {
            (at.clone(), at, cited)
        }
    };
    let mut actions = open_actions(session, cited);
    let Some(subject) = subject else { return Ok(Some(actions)) };
    // Titles are plain text in every client (no markdown): no backticks around the name.
    let short = shorten(&subject, 40);
    let questions = [
        (
            format!("reverie: Explain {short}"),
            format!("Explain `{subject}`: what it does, how it is used and why it exists."),
            Intent::Explain,
        ),
        (
            format!("reverie: How to debug {short}"),
            format!(
                "How do I debug `{subject}`? Likely failure modes, error messages, where to put a breakpoint and which tests cover it."
            ),
            Intent::Debug,
        ),
        (format!("reverie: Where is {short} used?"), format!("Where is `{subject}` used?"), Intent::Usages),
    ];
    actions.extend(questions.into_iter().map(|(title, question, intent)| {
        let ask = AskParams {
            question,
            text_document: Some(TextDocumentIdentifier { uri: uri.clone() }),
            position: Some(params.range.start),
            subject: symbol.clone().map(|name| AskSubject { name, intent }),
            ..AskParams::default()
        };
        CodeActionOrCommand::CodeAction(CodeAction {
            title: title.clone(),
            kind: Some(CodeActionKind::EMPTY),
            command: Some(tower_lsp_server::ls_types::Command {
                title,
                command: Command::Ask.name().into(),
                arguments: Some(vec![serde_json::to_value(ask).unwrap_or_default()]),
            }),
            ..CodeAction::default()
        })
    }));
    Ok(Some(actions))
}

/// "reverie: Open go/router.go:9" for each citation of an existing file: `reverie.open` shows it at
/// the line (Helix's `gf` opens a file at its first line; this lands on the cited one).
fn open_actions(session: &Session, cited: Vec<super::links::Cited>) -> Vec<CodeActionOrCommand> {
    cited
        .into_iter()
        .filter(|cited| cited.path.is_file())
        .filter_map(|cited| {
            let name = session.workspace_key(&cited.path).unwrap_or_else(|| cited.path.display().to_string());
            let title = format!("reverie: Open {name}:{}", cited.line);
            let open = OpenParams { uri: proto::uri_of(&cited.path)?, line: cited.line };
            Some(CodeActionOrCommand::CodeAction(CodeAction {
                title: title.clone(),
                kind: Some(CodeActionKind::EMPTY),
                command: Some(tower_lsp_server::ls_types::Command {
                    title,
                    command: Command::Open.name().into(),
                    arguments: Some(vec![serde_json::to_value(open).ok()?]),
                }),
                ..CodeAction::default()
            }))
        })
        .collect()
}

fn shorten(text: &str, max_chars: usize) -> String {
    let one_line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() <= max_chars {
        one_line
    } else {
        format!("{}…", one_line.chars().take(max_chars).collect::<String>())
    }
}

pub async fn ask(session: &Arc<Session>, params: AskParams) -> Result<Answer> {
    session.touch();
    let started = std::time::Instant::now();
    if params.question.trim().is_empty() {
        return Err(Error::invalid_params("`question` is empty: ask something, e.g. \"where is the config loaded?\""));
    }
    let mut question = Question {
        text: params.question,
        budget: params.budget.unwrap_or(DEFAULT_ASK_BUDGET),
        subject: params.subject.map(Into::into),
        ..Question::default()
    };
    if let Some(doc_id) = &params.text_document {
        (question.focus_file, question.focus_line) = focus(session, &doc_id.uri, params.position);
    }
    let provider = session.provider();
    // The learned context is built on first use after a change: off the async threads.
    let for_learned = session.clone();
    let learned = tokio::task::spawn_blocking(move || for_learned.learned()).await.ok().flatten();
    let past = session.past_changes();
    let knowledge = crate::ask::Knowledge {
        snapshot: session.snapshot(),
        learned,
        store: session.store(),
        provider: provider.clone().map(|p| p as Arc<dyn crate::llm::Provider>),
        past,
        llm: session.config().llm,
    };
    let (chunks, mut chunk_receiver) = tokio::sync::mpsc::unbounded_channel::<String>();
    let around = InSession { session: session.clone(), chunks, show_unverified: params.show_unverified };
    let client = session.client().clone();
    let token = params.token;
    let forward = async move {
        while let Some(text) = chunk_receiver.recv().await {
            if let Some(token) = &token {
                client.send_notification::<AnswerChunk>(AnswerChunkParams { token: token.clone(), text }).await;
            }
        }
    };
    let asked = question.text.clone();
    let call = async move {
        let answered = crate::ask::ask(knowledge, question, params.conversation.as_deref(), &around, started).await;
        // The chunks' sender goes with `around`: the forwarding ends.
        drop(around);
        answered
    };
    let (answered, ()) = tokio::join!(call, forward);
    let mut answer = answered.answer;
    if let Some(err) = answered.model_error {
        // The model failed: still answer, from the context, and say why.
        answer.answer = format!(
            "The model could not answer ({err}). Here is the context reverie found instead.\n\n{}",
            answer.answer
        );
    }
    if provider.is_none() && answer.answer.starts_with(crate::ask::NO_OVERVIEW_YET) {
        answer.answer.push_str(&format!("\n\n{}", session.how_to_enable()));
    }
    let cited: Vec<String> = answer.context.iter().map(|item| item.path.clone()).collect();
    session.asked(&asked, &cited);
    // What was answered, not the question (the log may be shared in a bug report).
    tracing::info!(
        "answered from {} with {} citation{} in {} ms",
        answer.source.name(),
        cited.len(),
        if cited.len() == 1 { "" } else { "s" },
        started.elapsed().as_millis()
    );
    Ok(answer)
}

/// How a client sees a set-aside answer anyway (VS Code's chat has a button, Neovim's float `s`).
const SHOW_UNVERIFIED: &str = "to see it anyway, ask again with \"showUnverified\": true";

/// The file key and 0-based line a question is asked from: the open buffer's, else the path's;
/// none from a document outside the workspace.
fn focus(session: &Session, uri: &Uri, position: Option<Position>) -> (Option<String>, Option<u32>) {
    let documents = session.documents();
    if let Some(doc) = documents.get(uri.as_str()) {
        let line = position.map(|position| {
            let index = LineIndex::new(&doc.text);
            let offset = proto::offset(&doc.text, &index, position, session.encoding());
            index.position(&doc.text, offset, session.encoding()).line
        });
        // A document from outside the workspace (an answer, a file in /tmp) is no focus.
        return (doc.in_workspace.then(|| doc.key.clone()), line);
    }
    drop(documents);
    (proto::path_of(uri).and_then(|path| session.workspace_key(&path)), position.map(|p| p.line))
}

/// The asking flow's surroundings in the server: open buffers over the disk, the session's semantic
/// index, and streamed text sent to the client as `reverie/answerChunk` (through `chunks`).
struct InSession {
    session: Arc<Session>,
    chunks: tokio::sync::mpsc::UnboundedSender<String>,
    show_unverified: bool,
}

impl crate::ask::Surroundings for InSession {
    fn source_of(&self, key: &str) -> Option<String> {
        self.session.source_of(key)
    }

    async fn nearest(&self, question: &str) -> crate::embed::semantic::Nearby {
        self.session.nearest(question).await
    }

    fn on_chunk(&self, text: &str) {
        let _ = self.chunks.send(text.to_string());
    }

    fn show_unverified(&self) -> bool {
        self.show_unverified
    }

    fn how_to_show_unverified(&self) -> &str {
        SHOW_UNVERIFIED
    }
}

pub async fn execute_command(session: &Arc<Session>, params: ExecuteCommandParams) -> Result<Option<LSPAny>> {
    session.touch();
    let Some(command) = Command::from_name(&params.command) else {
        let message = format!("unknown command `{}`; reverie knows {}", params.command, COMMANDS.join(", "));
        return Err(command_error(session, message).await);
    };
    match command {
        Command::Ask => {
            let argument = params.arguments.into_iter().next().filter(|a| !a.is_null());
            let ask_params = match argument.map(serde_json::from_value::<AskParams>) {
                Some(Ok(ask_params)) => ask_params,
                Some(Err(err)) => {
                    let message = format!(
                        "reverie.ask: the argument must be {{\"question\": \"...\"}} ({err}). Use: {}",
                        command.usage()
                    );
                    return Err(command_error(session, message).await);
                }
                None => {
                    let message = format!("reverie.ask takes one argument, the question. Use: {}", command.usage());
                    return Err(command_error(session, message).await);
                }
            };
            let question = ask_params.question.clone();
            let answer = match ask(session, ask_params).await {
                Ok(answer) => answer,
                Err(err) => return Err(command_error(session, format!("reverie.ask: {}", err.message)).await),
            };
            show_answer(session, &question, &answer).await;
            Ok(serde_json::to_value(&answer).ok())
        }
        Command::Status => {
            let status = session.status();
            session.client().show_message(MessageType::INFO, status_line(&status)).await;
            Ok(serde_json::to_value(&status).ok())
        }
        Command::Reindex => {
            session.send(Event::Reindex { asked: true });
            session.client().show_message(MessageType::INFO, "reverie: re-indexing the workspace from scratch…").await;
            Ok(Some(serde_json::json!({"started": true})))
        }
        Command::Think => {
            let started = session.think_now();
            let message = if started {
                "reverie: thinking now (progress in the status); it stops when you resume typing".to_string()
            } else if session.provider().is_none() {
                session.how_to_enable()
            } else {
                "reverie: not indexed yet; thinking starts after the index".to_string()
            };
            session.client().show_message(MessageType::INFO, &message).await;
            Ok(Some(serde_json::json!({"started": started, "message": message})))
        }
        Command::Open => {
            let argument = params.arguments.into_iter().next().unwrap_or_default();
            let open = serde_json::from_value::<OpenParams>(argument).ok().filter(|open| open.line >= 1);
            let Some((open, path)) = open.and_then(|open| proto::path_of(&open.uri).map(|path| (open, path))) else {
                return Err(command_error(session, format!("reverie.open: Use: {}", command.usage())).await);
            };
            if !path.is_file() {
                return Err(command_error(session, format!("reverie.open: {} is not a file", path.display())).await);
            }
            Ok(Some(serde_json::json!({"opened": open_at_line(session, open).await})))
        }
    }
}

/// Shows `open.uri` with the cursor at the start of `open.line` (`window/showDocument`); a client
/// that shows no documents is told the place as a message. Whether the client opened it.
async fn open_at_line(session: &Session, open: OpenParams) -> bool {
    let at = Position { line: open.line - 1, character: 0 };
    if session.support().show_document {
        let params = ShowDocumentParams {
            uri: open.uri.clone(),
            external: Some(false),
            take_focus: Some(true),
            selection: Some(Range { start: at, end: at }),
        };
        if matches!(session.client().show_document(params).await, Ok(true)) {
            return true;
        }
    }
    let place = proto::path_of(&open.uri).map_or_else(|| open.uri.as_str().to_string(), |p| p.display().to_string());
    session.client().show_message(MessageType::INFO, format!("reverie: {place}:{}", open.line)).await;
    false
}

/// A command that cannot run: shown to the user (some clients only log error responses), and
/// returned as the `InvalidParams` error.
async fn command_error(session: &Session, message: String) -> Error {
    tracing::warn!("{message}");
    session.client().show_message(MessageType::ERROR, &message).await;
    Error::invalid_params(message)
}

/// `reverie: ready — 2 files, 3 notes (1 stale). indexed 2 files in 0.1 s`: the state once, then
/// the message when it says more than the state.
fn status_line(status: &super::status::StatusParams) -> String {
    let state = state_name(status.state);
    // The message without the state it may start with ("idle: every note is fresh", "indexing ~/app").
    let message = status.message.trim();
    let rest = message.strip_prefix(state).map(|m| m.trim_start_matches([':', ' '])).unwrap_or(message).trim();
    // Before the first index has begun the message is the session's first, "starting".
    let (state, rest) =
        if status.state == ServerState::Indexing && rest == "starting" { ("starting", "") } else { (state, rest) };
    let mut line = format!("reverie: {state}");
    if status.state == ServerState::Indexing && !rest.is_empty() {
        line.push_str(&format!(" {rest}"));
    }
    line.push_str(&format!(" — {} file{}", status.files, if status.files == 1 { "" } else { "s" }));
    if status.state == ServerState::Indexing {
        line.push_str(" so far");
    }
    if status.notes > 0 {
        line.push_str(&format!(", {} note{}", status.notes, if status.notes == 1 { "" } else { "s" }));
        if status.stale > 0 {
            line.push_str(&format!(" ({} stale)", status.stale));
        }
    }
    if status.state != ServerState::Indexing && !rest.is_empty() {
        line.push_str(&format!(". {rest}"));
    }
    line
}

fn state_name(state: ServerState) -> &'static str {
    match state {
        ServerState::Indexing => "indexing",
        ServerState::Idle => "idle",
        ServerState::Thinking => "thinking",
        ServerState::Ready => "ready",
        ServerState::Error => "error",
    }
}

/// Shows an answer: as a markdown document when the client can open one (`window/showDocument`,
/// advertised or known from `clientInfo`), else as a short message — the citations first, then
/// where the full answer is — with the full answer in the log (`window/logMessage`).
async fn show_answer(session: &Arc<Session>, question: &str, answer: &Answer) {
    let snapshot = session.snapshot();
    let is_key = |key: &str| snapshot.files.contains_key(key);
    let folder = super::answer_docs::folder(session.cache_dir());
    let markdown = super::answer_docs::render(question, answer, &session.roots(), folder.as_deref(), &is_key);
    let file = folder.and_then(|folder| super::answer_docs::write(&folder, &markdown));
    if session.support().show_document
        && let Some(uri) = file.as_ref().and_then(|path| proto::uri_of(path))
    {
        let shown = session
            .client()
            .show_document(ShowDocumentParams { uri, external: Some(false), take_focus: Some(true), selection: None })
            .await;
        if matches!(shown, Ok(true)) {
            return;
        }
    }
    session.client().log_message(MessageType::INFO, &markdown).await;
    let within = |item: &ContextItem| enclosing_name(&snapshot, item);
    session.client().show_message(MessageType::INFO, short_answer(answer, file.as_deref(), &within)).await;
}

/// Most citations a short answer lists.
const SHORT_CITATIONS: usize = 3;

/// One line for clients that show a message as a status line: the citations first
/// (`go/router.go:9 RegisterRoute — return errors.New("empty route path")`), then where the full
/// answer is. `within` names the definition an item sits in (for an error site, a reference or a
/// piece of code; a definition's own first line already names it).
fn short_answer(
    answer: &Answer,
    file: Option<&std::path::Path>,
    within: &dyn Fn(&ContextItem) -> Option<String>,
) -> String {
    let mut parts: Vec<String> = answer
        .context
        .iter()
        .take(SHORT_CITATIONS)
        .map(|item| {
            let label = shorten(item.text.lines().next().unwrap_or(""), 60);
            // The definition's name, unless the quoted line already says it.
            let place = match within(item).filter(|name| !label.contains(name.as_str())) {
                Some(name) => format!("{}:{} {name}", item.path, item.start_line),
                None => format!("{}:{}", item.path, item.start_line),
            };
            match (label.is_empty(), place.contains(' ')) {
                (true, _) => place,
                (false, true) => format!("{place} — {label}"),
                (false, false) => format!("{place} {label}"),
            }
        })
        .collect();
    if answer.context.len() > SHORT_CITATIONS {
        parts.push(format!("+{} more", answer.context.len() - SHORT_CITATIONS));
    }
    let mut line = if parts.is_empty() {
        format!("reverie: {}", shorten(&answer.answer, 120))
    } else {
        format!("reverie: {}", parts.join(" · "))
    };
    match file {
        Some(path) => line.push_str(&format!(" — full answer: {}", path.display())),
        None => line.push_str(" — full answer in the log"),
    }
    line
}

/// The innermost definition around an item that is not itself a definition (an error site, a
/// reference, code, a test's line), by the item's first line.
fn enclosing_name(snapshot: &crate::snapshot::Snapshot, item: &ContextItem) -> Option<String> {
    if !matches!(item.kind, ItemKind::ErrorSite | ItemKind::Reference | ItemKind::Code) {
        return None;
    }
    let facts = snapshot.files.get(item.path.as_str())?;
    let index = facts.definition_around_line(item.start_line.checked_sub(1)?)?;
    facts.definitions.get(index as usize).map(|d| d.name.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::answer::{ContextItem, Usage};

    use crate::server::StatusParams;

    fn status(state: ServerState, files: usize, notes: usize, message: &str) -> StatusParams {
        StatusParams {
            state,
            files,
            notes,
            stale: 0,
            message: message.into(),
            generation: 1,
            semantic: None,
            jobs: Default::default(),
        }
    }

    #[test]
    fn the_status_line_says_the_state_once() {
        assert_eq!(status_line(&status(ServerState::Indexing, 0, 0, "indexing")), "reverie: indexing — 0 files so far");
        assert_eq!(status_line(&status(ServerState::Indexing, 0, 0, "starting")), "reverie: starting — 0 files so far");
        assert_eq!(
            status_line(&status(ServerState::Indexing, 0, 0, "indexing ~/src/app")),
            "reverie: indexing ~/src/app — 0 files so far"
        );
        assert_eq!(
            status_line(&status(ServerState::Ready, 2, 3, "indexed 2 files in 0.1 s")),
            "reverie: ready — 2 files, 3 notes. indexed 2 files in 0.1 s"
        );
        assert_eq!(status_line(&status(ServerState::Ready, 1, 0, "ready")), "reverie: ready — 1 file");
        assert_eq!(
            status_line(&status(ServerState::Idle, 2, 0, "idle: every note is fresh")),
            "reverie: idle — 2 files. every note is fresh"
        );
    }

    fn item(path: &str, line: u32, text: &str) -> ContextItem {
        ContextItem {
            path: path.into(),
            start_line: line,
            end_line: line,
            kind: crate::answer::ItemKind::ErrorSite,
            score: 1.0,
            tokens: 5,
            reason: "this error message is produced here".into(),
            text: text.into(),
            stale: false,
        }
    }

    #[test]
    fn items_inside_a_definition_are_named_by_it() {
        let text = "setup()\n\n\ndef validate(q):\n    if q <= 0:\n        raise ValueError(\"q must be positive\")\n";
        let facts = crate::syntax::extract(text.as_bytes(), crate::syntax::Language::Python);
        let snapshot = crate::snapshot::Snapshot::new([(Arc::<str>::from("v.py"), Arc::new(facts))].into());
        assert_eq!(enclosing_name(&snapshot, &item("v.py", 6, "raise ValueError(...)")), Some("validate".into()));
        assert_eq!(enclosing_name(&snapshot, &item("v.py", 1, "setup()")), None, "the top level");
        assert_eq!(enclosing_name(&snapshot, &item("other.py", 6, "x")), None, "an unknown file");
        let definition =
            ContextItem { kind: crate::answer::ItemKind::Definition, ..item("v.py", 4, "def validate(q)") };
        assert_eq!(enclosing_name(&snapshot, &definition), None, "a definition names itself");
    }

    #[test]
    fn a_short_answer_puts_the_citations_first_on_one_line() {
        let answer = Answer {
            answer: "That message is produced at:\n- `go/router.go:9` in `RegisterRoute`\n".into(),
            source: crate::answer::Source::Facts,
            context: vec![item("go/router.go", 9, "return errors.New(\"empty route path\")")],
            usage: Usage::default(),
            unverified: Vec::new(),
            set_aside: false,
        };
        let register_route = |_: &ContextItem| Some("RegisterRoute".to_string());
        let line = short_answer(&answer, Some(std::path::Path::new("/cache/answers/answer-1.md")), &register_route);
        assert_eq!(
            line,
            "reverie: go/router.go:9 RegisterRoute — return errors.New(\"empty route path\") — full answer: /cache/answers/answer-1.md"
        );
        assert!(!line.contains('\n'));
        // Outside every definition, or where the line already names it: the line alone.
        let line = short_answer(&answer, None, &|_| None);
        assert!(line.starts_with("reverie: go/router.go:9 return errors.New("), "{line}");
        let line = short_answer(&answer, None, &|_| Some("errors".into()));
        assert!(line.starts_with("reverie: go/router.go:9 return errors.New("), "{line}");
        let many = Answer { context: (1..=5).map(|i| item("a.py", i, "x")).collect(), ..answer.clone() };
        let line = short_answer(&many, None, &|_| None);
        assert!(line.starts_with("reverie: a.py:1 x · a.py:2 x · a.py:3 x · +2 more"), "{line}");
        assert!(line.ends_with("full answer in the log"), "{line}");
    }
}
