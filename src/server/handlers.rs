//! One function per LSP method. Each reads the session's current state and returns; anything slow
//! is handed to the session's event loop.

use super::proto;
use super::session::{ClientSupport, Event, Session};
use super::status::ServerState;
use crate::answer::ConversationStore;
use crate::answer::{self, Answer, Question};
use crate::convert::{Encoding, LineIndex};
use crate::document::{ByteEdit, Document};
use crate::ledger::LedgerStore;
use crate::syntax::Language;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::sync::Arc;
use tower_lsp_server::jsonrpc::{Error, Result};
use tower_lsp_server::ls_types::*;

/// Commands the server executes (advertised exactly).
pub const COMMANDS: [&str; 4] = ["reverie.ask", "reverie.status", "reverie.reindex", "reverie.think"];
/// Context budget for questions that do not give one.
const DEFAULT_ASK_BUDGET: usize = 2000;

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AskParams {
    pub question: String,
    #[serde(default)]
    pub text_document: Option<TextDocumentIdentifier>,
    #[serde(default)]
    pub position: Option<Position>,
    #[serde(default)]
    pub budget: Option<usize>,
    /// Continue this conversation (any string the client chooses); follow-ups see earlier turns.
    #[serde(default)]
    pub conversation: Option<String>,
    /// Stream the answer as `reverie/answerChunk` notifications carrying this token.
    #[serde(default)]
    pub token: Option<String>,
}

pub fn initialize(session: &Session, params: InitializeParams) -> Result<InitializeResult> {
    let offered: Vec<String> = params
        .capabilities
        .general
        .as_ref()
        .and_then(|g| g.position_encodings.as_ref())
        .map(|encodings| encodings.iter().map(|e| e.as_str().to_string()).collect())
        .unwrap_or_default();
    let encoding = Encoding::negotiate(&offered);
    *session.encoding.lock().unwrap_or_else(|e| e.into_inner()) = encoding;

    let mut roots: Vec<PathBuf> =
        params.workspace_folders.iter().flatten().filter_map(|folder| proto::path_of(&folder.uri)).collect();
    #[allow(deprecated)]
    if roots.is_empty()
        && let Some(root) = params.root_uri.as_ref().and_then(proto::path_of)
    {
        roots.push(root);
    }
    let roots: Vec<PathBuf> = roots.into_iter().map(|r| r.canonicalize().unwrap_or(r)).collect();
    *session.roots.lock().unwrap_or_else(|e| e.into_inner()) = roots;

    let window = params.capabilities.window.as_ref();
    let support = ClientSupport {
        work_done_progress: window.and_then(|w| w.work_done_progress).unwrap_or(false),
        show_document: window.and_then(|w| w.show_document.as_ref()).is_some_and(|s| s.support),
        watched_files_registration: params
            .capabilities
            .workspace
            .as_ref()
            .and_then(|w| w.did_change_watched_files.as_ref())
            .and_then(|d| d.dynamic_registration)
            .unwrap_or(false),
    };
    *session.support.lock().unwrap_or_else(|e| e.into_inner()) = support;
    *session.init_options.lock().unwrap_or_else(|e| e.into_inner()) = params.initialization_options;

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
        session.client.show_message(MessageType::WARNING, format!("reverie config: {problem}")).await;
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
        let client = session.client.clone();
        // Registration is a request to the client: never wait for it on this path.
        tokio::spawn(async move {
            if let Err(err) = client.register_capability(vec![registration]).await {
                tracing::info!("the client did not accept watched-files registration: {err}");
            }
        });
    }
    session.start();
}

fn key_for_uri(session: &Session, uri: &Uri) -> (Option<PathBuf>, String) {
    let path = proto::path_of(uri);
    let key = path.as_deref().and_then(|p| session.key_of(p)).unwrap_or_else(|| uri.as_str().to_string());
    (path, key)
}

pub fn did_open(session: &Arc<Session>, params: DidOpenTextDocumentParams) {
    let doc = params.text_document;
    let (path, key) = key_for_uri(session, &doc.uri);
    let language = path.as_deref().and_then(Language::from_path).or_else(|| language_from_id(&doc.language_id));
    let document = Document::new(key, doc.version, doc.text, language);
    session.documents().insert(doc.uri.as_str().to_string(), document);
    session.touch();
    session.send(Event::Buffer(doc.uri.as_str().to_string()));
}

fn language_from_id(id: &str) -> Option<Language> {
    Some(match id {
        "rust" => Language::Rust,
        "python" => Language::Python,
        "javascript" | "javascriptreact" => Language::JavaScript,
        "typescript" => Language::TypeScript,
        "typescriptreact" => Language::Tsx,
        "go" => Language::Go,
        "java" => Language::Java,
        "c" => Language::C,
        "cpp" => Language::Cpp,
        _ => return None,
    })
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
        session.edited(&doc.key);
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
        session.client.show_message(MessageType::WARNING, format!("reverie config: {problem}")).await;
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
    Ok(answer::describe_symbol(&snapshot, learned.as_deref(), &name, Some(&key)).map(|markdown| Hover {
        contents: HoverContents::Markup(MarkupContent { kind: MarkupKind::Markdown, value: markdown }),
        range: None,
    }))
}

pub fn code_action(session: &Arc<Session>, params: CodeActionParams) -> Result<Option<CodeActionResponse>> {
    session.touch();
    let uri = params.text_document.uri.clone();
    let encoding = session.encoding();
    let subject = {
        let mut documents = session.documents();
        let Some(doc) = documents.get_mut(uri.as_str()) else { return Ok(None) };
        let (start, end) = proto::range_offsets(&doc.text, params.range, encoding);
        if end > start {
            let selected = doc.text[start..end].trim().to_string();
            doc.identifier_at(start).filter(|name| *name == selected).or(Some(selected).filter(|s| !s.is_empty()))
        } else {
            doc.identifier_at(start)
        }
    };
    let Some(subject) = subject else { return Ok(Some(Vec::new())) };
    let short = shorten(&subject, 40);
    let questions = [
        (
            format!("reverie: Explain `{short}`"),
            format!("Explain `{subject}`: what it does, how it is used and why it exists."),
        ),
        (
            format!("reverie: How to debug `{short}`"),
            format!(
                "How do I debug `{subject}`? Likely failure modes, error messages, where to put a breakpoint and which tests cover it."
            ),
        ),
        (format!("reverie: Where is `{short}` used?"), format!("Where is `{subject}` used?")),
    ];
    let actions = questions
        .into_iter()
        .map(|(title, question)| {
            let ask = AskParams {
                question,
                text_document: Some(TextDocumentIdentifier { uri: uri.clone() }),
                position: Some(params.range.start),
                budget: None,
                conversation: None,
                token: None,
            };
            CodeActionOrCommand::CodeAction(CodeAction {
                title: title.clone(),
                kind: Some(CodeActionKind::EMPTY),
                command: Some(Command {
                    title,
                    command: "reverie.ask".into(),
                    arguments: Some(vec![serde_json::to_value(ask).unwrap_or_default()]),
                }),
                ..CodeAction::default()
            })
        })
        .collect();
    Ok(Some(actions))
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
    if params.question.trim().is_empty() {
        return Err(Error::invalid_params("`question` is empty: ask something, e.g. \"where is the config loaded?\""));
    }
    let encoding = session.encoding();
    let mut question = Question {
        text: params.question.clone(),
        budget: params.budget.unwrap_or(DEFAULT_ASK_BUDGET),
        ..Question::default()
    };
    if let Some(doc_id) = &params.text_document {
        let documents = session.documents();
        if let Some(doc) = documents.get(doc_id.uri.as_str()) {
            question.focus_file = Some(doc.key.clone());
            if let Some(position) = params.position {
                let index = LineIndex::new(&doc.text);
                let offset = proto::offset(&doc.text, &index, position, encoding);
                question.focus_line = Some(index.position(&doc.text, offset, encoding).line);
            }
        } else if let Some(path) = proto::path_of(&doc_id.uri) {
            question.focus_file = session.key_of(&path);
            question.focus_line = params.position.map(|p| p.line);
        }
    }
    let store = session.store.get().cloned();
    if let (Some(id), Some(store)) = (&params.conversation, &store) {
        question.history = store.conversation(id).unwrap_or_default();
    }
    let started = std::time::Instant::now();
    let snapshot = session.snapshot();
    let provider = session.provider.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let completion_budget = session.config().llm_answer_tokens();
    let have_model = provider.is_some();
    let for_learned = session.clone();
    // Retrieval and personalized PageRank take milliseconds on a large workspace: off the async threads.
    let plan = tokio::task::spawn_blocking(move || {
        let learned = for_learned.learned();
        answer::plan_answer(&snapshot, learned.as_deref(), &question, have_model, completion_budget)
    })
    .await
    .map_err(|err| internal(format!("answering failed: {err}")))?;
    let answer = match plan {
        answer::Plan::Done(answer) => answer,
        answer::Plan::Model { request, context } => {
            let provider = provider.expect("a model plan is only made with a provider");
            let client = session.client.clone();
            let token = params.token.clone();
            let (chunks, mut chunk_receiver) = tokio::sync::mpsc::unbounded_channel::<String>();
            let forward = async move {
                while let Some(text) = chunk_receiver.recv().await {
                    if let Some(token) = &token {
                        client.send_notification::<AnswerChunk>(AnswerChunkParams { token: token.clone(), text }).await;
                    }
                }
            };
            let on_chunk = move |text: &str| {
                let _ = chunks.send(text.to_string());
            };
            let call = async {
                let result = crate::llm::Provider::chat(provider.as_ref(), &request, &on_chunk).await;
                drop(on_chunk);
                result
            };
            let (result, ()) = tokio::join!(call, forward);
            record_test_call(session, &provider, &params.question, &request, &result, started.elapsed());
            match result {
                Ok(response) => Answer {
                    answer: response.text,
                    source: crate::answer::Source::Model,
                    context,
                    usage: answer::Usage {
                        test_prompt_tokens: response.usage.prompt_tokens,
                        test_completion_tokens: response.usage.completion_tokens,
                        llm_calls: 1,
                    },
                },
                Err(err) => {
                    // The model failed: still answer, from the context, and say why.
                    let mut text =
                        format!("The model could not answer ({err}). Here is the context reverie found instead.\n\n");
                    text.push_str(&answer::render_context_answer(&params.question, &context));
                    Answer {
                        answer: text,
                        source: crate::answer::Source::Context,
                        context,
                        usage: answer::Usage { llm_calls: 1, ..answer::Usage::default() },
                    }
                }
            }
        }
    };
    let cited: Vec<String> = answer.context.iter().map(|item| item.path.clone()).collect();
    session.asked(&params.question, &cited);
    if let (Some(id), Some(store)) = (&params.conversation, &store) {
        let turn = answer::Turn { question: params.question.clone(), answer: answer.answer.clone() };
        if let Err(err) = store.add_turn(id, turn) {
            tracing::warn!("could not store the conversation turn: {err:#}");
        }
    }
    Ok(answer)
}

fn internal(message: String) -> Error {
    Error { code: tower_lsp_server::jsonrpc::ErrorCode::InternalError, message: message.into(), data: None }
}

fn record_test_call(
    session: &Session,
    provider: &crate::llm::Resilient,
    question: &str,
    request: &crate::llm::ChatRequest,
    result: &std::result::Result<crate::llm::ChatResponse, crate::llm::LlmError>,
    elapsed: std::time::Duration,
) {
    let Some(store) = session.store.get() else { return };
    let entry = crate::ledger::test_entry(provider, question, request, result, elapsed);
    if let Err(err) = store.record(&entry) {
        tracing::warn!("could not record a ledger entry: {err:#}");
    }
}

/// `reverie/answerChunk`: a piece of a streamed answer, for the `token` the client gave in `reverie/ask`.
pub enum AnswerChunk {}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AnswerChunkParams {
    pub token: String,
    pub text: String,
}

impl tower_lsp_server::ls_types::notification::Notification for AnswerChunk {
    type Params = AnswerChunkParams;
    const METHOD: &'static str = "reverie/answerChunk";
}

pub async fn execute_command(session: &Arc<Session>, params: ExecuteCommandParams) -> Result<Option<LSPAny>> {
    session.touch();
    match params.command.as_str() {
        "reverie.ask" => {
            let Some(argument) = params.arguments.into_iter().next() else {
                return Err(Error::invalid_params("reverie.ask takes one argument: {\"question\": \"...\"}"));
            };
            let ask_params: AskParams = serde_json::from_value(argument).map_err(|err| {
                Error::invalid_params(format!("reverie.ask: the argument must be {{\"question\": \"...\"}} ({err})"))
            })?;
            let question = ask_params.question.clone();
            let answer = ask(session, ask_params).await?;
            show_answer(session, &question, &answer).await;
            Ok(serde_json::to_value(&answer).ok())
        }
        "reverie.status" => {
            let status = session.status();
            session
                .client
                .show_message(
                    MessageType::INFO,
                    format!("reverie: {} — {} files. {}", state_name(status.state), status.files, status.message),
                )
                .await;
            Ok(serde_json::to_value(&status).ok())
        }
        "reverie.reindex" => {
            session.send(Event::Reindex);
            Ok(Some(serde_json::json!({"started": true})))
        }
        "reverie.think" => {
            let started = session.think_now();
            let message = if started {
                "reverie: thinking now (progress in the status); it stops when you resume typing".to_string()
            } else if session.provider.lock().unwrap_or_else(|e| e.into_inner()).is_none() {
                session.how_to_enable()
            } else {
                "reverie: not indexed yet; thinking starts after the index".to_string()
            };
            session.client.show_message(MessageType::INFO, &message).await;
            Ok(Some(serde_json::json!({"started": started, "message": message})))
        }
        other => {
            Err(Error::invalid_params(format!("unknown command `{other}`; reverie knows {}", COMMANDS.join(", "))))
        }
    }
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

/// Shows an answer: as a markdown document when the client can open one (`window/showDocument`),
/// else as a message.
async fn show_answer(session: &Arc<Session>, question: &str, answer: &Answer) {
    let markdown = format!("# {}\n\n{}\n\n_source: {}_\n", question.trim(), answer.answer, answer.source);
    if session.support().show_document
        && let Some(uri) = write_answer_file(session, &markdown)
    {
        let shown = session
            .client
            .show_document(ShowDocumentParams { uri, external: Some(false), take_focus: Some(true), selection: None })
            .await;
        if matches!(shown, Ok(true)) {
            return;
        }
    }
    session.client.show_message(MessageType::INFO, markdown).await;
}

fn write_answer_file(session: &Session, markdown: &str) -> Option<Uri> {
    let dir = crate::store::cache_root(session.options.cache_dir.as_deref()).ok()?.join("answers");
    std::fs::create_dir_all(&dir).ok()?;
    let stamp = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis());
    let path = dir.join(format!("answer-{stamp}.md"));
    std::fs::write(&path, markdown).ok()?;
    proto::uri_of(&path)
}
