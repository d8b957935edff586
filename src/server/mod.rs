//! `reverie serve`: the language server over stdio (tower-lsp-server).
//!
//! This module is the thin edge: `Backend` turns each LSP method into one call on the `Session`
//! (`session.rs`: the state of `state.rs` with the client and the background work of `events.rs`),
//! and `handlers.rs` holds the logic of each request. Only the
//! server layer knows LSP types; positions are converted in `proto.rs` (with `crate::convert`).
//!
//! The custom protocol — `reverie/ask`, `reverie/status` (request and notification),
//! `reverie/answerChunk` and the `reverie.*` commands — is declared in `ext.rs`, the one place that
//! defines it; the README's protocol table is checked against it.
//!
//! The other modules: `client.rs` what the client can do (capabilities and `clientInfo`),
//! `hover.rs` the hover card, `think.rs` the thinking pass and `semantic.rs` the embedding pass (each
//! with its own state, given the narrow handle of `pass.rs`), `status.rs` the status payload,
//! `answer_docs.rs` the markdown documents answers open as, `links.rs` citations as links to the
//! real file and line.

mod adapter;
mod answer_docs;
mod client;
mod events;
pub mod ext;
mod handlers;
mod history;
mod hover;
mod links;
mod pass;
mod proto;
mod semantic;
mod session;
mod share;
mod state;
mod status;
mod think;
pub mod transport;

pub use ext::{AskParams, COMMANDS};
pub use session::{ServerOptions, Session};
pub use status::{ServerState, StatusParams};

use ext::Request as _;
use std::sync::Arc;
use tower_lsp_server::jsonrpc::Result;
use tower_lsp_server::ls_types::*;
use tower_lsp_server::{LanguageServer, LspService, Server};

pub struct Backend {
    session: Arc<Session>,
}

/// Builds the service (for `serve` and for in-process tests).
pub fn service(options: ServerOptions) -> (LspService<Backend>, tower_lsp_server::ClientSocket) {
    LspService::build(|client| Backend { session: Session::new(client, options) })
        .custom_method(ext::Ask::METHOD, Backend::ask)
        .custom_method(ext::Status::METHOD, Backend::status)
        .custom_method(transport::MALFORMED_METHOD, Backend::malformed)
        .finish()
}

/// Serves LSP on stdin/stdout until the client sends `exit` or closes stdin, then exits the process
/// (background work must not keep a closed server alive). Malformed frames are answered with errors
/// (see `transport.rs`) instead of ending the session.
pub async fn serve_stdio(options: ServerOptions) -> ! {
    let (service, socket) = service(options);
    let shutdown = service.inner().session.clone();
    let (guarded, guarded_input) = tokio::io::duplex(1 << 20);
    tokio::spawn(transport::guard_frames(tokio::io::stdin(), guarded));
    Server::new(guarded_input, tokio::io::stdout(), socket).serve(service).await;
    let code = if shutdown.was_shut_down() { 0 } else { 1 };
    tracing::info!("the client went away; exiting with {code}");
    std::process::exit(code)
}

impl Backend {
    async fn ask(&self, params: AskParams) -> Result<crate::answer::Answer> {
        handlers::ask(&self.session, params).await
    }

    async fn status(&self) -> Result<StatusParams> {
        let mut status = self.session.status();
        if let Some(store) = self.session.store() {
            status.jobs = tokio::task::spawn_blocking(move || crate::jobs::last_runs(&store)).await.unwrap_or_default();
        }
        Ok(status)
    }

    async fn malformed(&self, params: serde_json::Value) -> Result<()> {
        let problem = params["problem"].as_str().unwrap_or("a malformed message");
        Err(tower_lsp_server::jsonrpc::Error {
            code: tower_lsp_server::jsonrpc::ErrorCode::ParseError,
            message: format!("reverie could not read a message: {problem}").into(),
            data: None,
        })
    }
}

impl LanguageServer for Backend {
    async fn initialize(&self, params: InitializeParams) -> Result<InitializeResult> {
        handlers::initialize(&self.session, params)
    }

    async fn initialized(&self, _: InitializedParams) {
        handlers::initialized(&self.session).await
    }

    async fn shutdown(&self) -> Result<()> {
        self.session.shut_down();
        Ok(())
    }

    async fn did_open(&self, params: DidOpenTextDocumentParams) {
        handlers::did_open(&self.session, params)
    }

    async fn did_change(&self, params: DidChangeTextDocumentParams) {
        handlers::did_change(&self.session, params)
    }

    async fn did_save(&self, params: DidSaveTextDocumentParams) {
        handlers::did_save(&self.session, params)
    }

    async fn did_close(&self, params: DidCloseTextDocumentParams) {
        handlers::did_close(&self.session, params)
    }

    async fn did_change_configuration(&self, params: DidChangeConfigurationParams) {
        handlers::did_change_configuration(&self.session, params).await
    }

    async fn did_change_watched_files(&self, params: DidChangeWatchedFilesParams) {
        handlers::did_change_watched_files(&self.session, params)
    }

    async fn hover(&self, params: HoverParams) -> Result<Option<Hover>> {
        handlers::hover(&self.session, params)
    }

    async fn code_action(&self, params: CodeActionParams) -> Result<Option<CodeActionResponse>> {
        handlers::code_action(&self.session, params)
    }

    async fn execute_command(&self, params: ExecuteCommandParams) -> Result<Option<LSPAny>> {
        handlers::execute_command(&self.session, params).await
    }
}
