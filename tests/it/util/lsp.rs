//! A small LSP client for tests: Content-Length framing over any async stream (the real binary's
//! stdio, or an in-process server over `tokio::io::duplex`). It answers the server's requests the way
//! a client would (progress tokens, registrations, showDocument) and records everything the server
//! sends, so tests wait on messages, never on sleeps.

use serde_json::{Value, json};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::sync::mpsc;

/// How long any single wait may take before the test fails (generous for slow CI machines).
pub const TIMEOUT: Duration = Duration::from_secs(60);

pub struct LspClient {
    writer: Box<dyn AsyncWrite + Unpin + Send>,
    incoming: mpsc::UnboundedReceiver<Value>,
    next_id: i64,
    /// Every notification and server request received so far, in order.
    pub received: Vec<Value>,
    /// Responses that arrived while waiting for another one.
    pub early_responses: Vec<Value>,
    /// Whether to accept `window/showDocument` requests.
    pub accept_show_document: bool,
    pub child: Option<tokio::process::Child>,
}

/// Reads Content-Length framed messages until the stream ends.
async fn read_frames(reader: impl AsyncRead + Unpin, sender: mpsc::UnboundedSender<Value>) {
    let mut reader = BufReader::new(reader);
    loop {
        let mut length = None;
        loop {
            let mut line = String::new();
            match reader.read_line(&mut line).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some(value) = line.strip_prefix("Content-Length: ") {
                length = value.parse::<usize>().ok();
            }
        }
        let Some(length) = length else { return };
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).await.is_err() {
            return;
        }
        match serde_json::from_slice(&body) {
            Ok(value) => {
                if sender.send(value).is_err() {
                    return;
                }
            }
            Err(err) => panic!("the server sent invalid JSON ({err}): {}", String::from_utf8_lossy(&body)),
        }
    }
}

impl LspClient {
    pub fn new(
        reader: impl AsyncRead + Unpin + Send + 'static,
        writer: impl AsyncWrite + Unpin + Send + 'static,
    ) -> LspClient {
        let (sender, incoming) = mpsc::unbounded_channel();
        tokio::spawn(read_frames(reader, sender));
        LspClient {
            writer: Box::new(writer),
            incoming,
            next_id: 0,
            received: Vec::new(),
            early_responses: Vec::new(),
            accept_show_document: true,
            child: None,
        }
    }

    /// The real binary, `reverie serve`, with its cache in `cache_dir` and a clean environment.
    pub fn spawn(cache_dir: &std::path::Path, home: &std::path::Path) -> LspClient {
        let level = std::env::var("REVERIE_TEST_SERVER_LOG").unwrap_or_else(|_| "warn".into());
        LspClient::spawn_with_log(cache_dir, home, &level, std::process::Stdio::inherit())
    }

    /// The real binary with `REVERIE_LOG=level` and its stderr (the log) written to `log`, a pipe as
    /// an editor gives it.
    pub fn spawn_logging(
        cache_dir: &std::path::Path,
        home: &std::path::Path,
        level: &str,
        log: &std::path::Path,
    ) -> LspClient {
        let file = std::fs::File::create(log).expect("the log file can be created");
        LspClient::spawn_with_log(cache_dir, home, level, std::process::Stdio::from(file))
    }

    fn spawn_with_log(
        cache_dir: &std::path::Path,
        home: &std::path::Path,
        level: &str,
        stderr: std::process::Stdio,
    ) -> LspClient {
        let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_reverie"))
            .arg("serve")
            .env("REVERIE_CACHE_DIR", cache_dir)
            .env("HOME", home)
            .env("XDG_CONFIG_HOME", home.join("config"))
            .env("REVERIE_LOG", level)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(stderr)
            .kill_on_drop(true)
            .spawn()
            .expect("reverie serve starts");
        let stdin = child.stdin.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut client = LspClient::new(stdout, stdin);
        client.child = Some(child);
        client
    }

    /// An in-process server over an in-memory pipe, behind the same frame guard as `serve`.
    pub fn in_process(cache_dir: &std::path::Path) -> LspClient {
        let (client_side, server_side) = tokio::io::duplex(1 << 20);
        let (server_read, server_write) = tokio::io::split(server_side);
        let (guarded, server_read_guarded) = tokio::io::duplex(1 << 20);
        tokio::spawn(reverie::server::transport::guard_frames(server_read, guarded));
        let server_read = server_read_guarded;
        let options = reverie::server::ServerOptions { cache_dir: Some(cache_dir.to_path_buf()) };
        let (service, socket) = reverie::server::service(options);
        tokio::spawn(tower_lsp_server::Server::new(server_read, server_write, socket).serve(service));
        let (client_read, client_write) = tokio::io::split(client_side);
        LspClient::new(client_read, client_write)
    }

    pub async fn send_raw(&mut self, bytes: &[u8]) {
        self.writer.write_all(bytes).await.unwrap();
        self.writer.flush().await.unwrap();
    }

    pub async fn send(&mut self, message: &Value) {
        let body = serde_json::to_vec(message).unwrap();
        let mut frame = format!("Content-Length: {}\r\n\r\n", body.len()).into_bytes();
        frame.extend(body);
        self.send_raw(&frame).await;
    }

    pub async fn notify(&mut self, method: &str, params: Value) {
        self.send(&json!({"jsonrpc": "2.0", "method": method, "params": params})).await;
    }

    /// Sends a request and returns the whole response (`result` or `error`).
    pub async fn request(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        self.send(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params})).await;
        self.response(json!(id)).await
    }

    /// Waits for the response with `id`, handling everything else that arrives meanwhile.
    pub async fn response(&mut self, id: Value) -> Value {
        if let Some(at) = self.early_responses.iter().position(|m| m["id"] == id) {
            return self.early_responses.remove(at);
        }
        loop {
            let message = self.next_message().await;
            if message.get("method").is_none() {
                if message["id"] == id {
                    return message;
                }
                self.early_responses.push(message);
            }
        }
    }

    /// The messages of error responses with id null received so far, joined.
    pub fn received_error(&self) -> String {
        self.early_responses
            .iter()
            .filter(|m| m["id"].is_null())
            .filter_map(|m| m["error"]["message"].as_str())
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// The result of a request, failing the test on an error response.
    pub async fn result(&mut self, method: &str, params: Value) -> Value {
        let response = self.request(method, params).await;
        assert!(response.get("error").is_none(), "{method} failed: {response}");
        response["result"].clone()
    }

    async fn next_message(&mut self) -> Value {
        let Ok(message) = tokio::time::timeout(TIMEOUT, self.incoming.recv()).await else {
            let last: Vec<String> = self
                .received
                .iter()
                .rev()
                .take(12)
                .map(|m| format!("{} {}", m["method"], m["params"].to_string().chars().take(160).collect::<String>()))
                .collect();
            panic!(
                "the server did not answer within {TIMEOUT:?}; the last messages, newest first:\n{}",
                last.join("\n")
            );
        };
        let message = message.expect("the server is still running");
        if message.get("method").is_some() {
            if message.get("id").is_some() {
                self.answer_server_request(&message).await;
            }
            self.received.push(message.clone());
        }
        message
    }

    async fn answer_server_request(&mut self, request: &Value) {
        let result = match request["method"].as_str().unwrap_or("") {
            "window/showDocument" => json!({"success": self.accept_show_document}),
            "workspace/configuration" => json!([]),
            _ => Value::Null,
        };
        let id = request["id"].clone();
        self.send(&json!({"jsonrpc": "2.0", "id": id, "result": result})).await;
    }

    /// Waits for a notification or server request matching `matches` (including ones already received).
    /// The text streamed as `reverie/answerChunk` for `token` so far, reading on until it holds at
    /// least `chars` characters (chunks are notifications: they may arrive after the response).
    pub async fn streamed(&mut self, token: &str, chars: usize) -> String {
        loop {
            let text: String = self
                .received
                .iter()
                .filter(|m| m["method"] == "reverie/answerChunk" && m["params"]["token"] == token)
                .map(|m| m["params"]["text"].as_str().unwrap_or_default().to_string())
                .collect();
            if text.chars().count() >= chars {
                return text;
            }
            self.next_message().await;
        }
    }

    pub async fn wait_for(&mut self, matches: impl Fn(&Value) -> bool) -> Value {
        if let Some(found) = self.received.iter().find(|m| matches(m)) {
            return found.clone();
        }
        loop {
            let message = self.next_message().await;
            if message.get("method").is_some() && matches(&message) {
                return message;
            }
        }
    }

    /// Waits for a `reverie/status` notification whose state is `state` and generation ≥ `generation`.
    pub async fn wait_for_status(&mut self, state: &str, generation: u64) -> Value {
        self.wait_for(|m| {
            m["method"] == "reverie/status"
                && m["params"]["state"] == state
                && m["params"]["generation"].as_u64().unwrap_or(0) >= generation
        })
        .await["params"]
            .clone()
    }

    /// Waits for the server's view to move past `generation` (any state).
    pub async fn wait_for_generation(&mut self, generation: u64) -> Value {
        self.wait_for(|m| {
            m["method"] == "reverie/status" && m["params"]["generation"].as_u64().unwrap_or(0) > generation
        })
        .await["params"]
            .clone()
    }

    pub fn generation(&self) -> u64 {
        self.received
            .iter()
            .filter(|m| m["method"] == "reverie/status")
            .filter_map(|m| m["params"]["generation"].as_u64())
            .max()
            .unwrap_or(0)
    }

    /// initialize + initialized for `root`, offering `encodings`; returns the initialize result.
    pub async fn initialize(&mut self, root: &std::path::Path, encodings: &[&str], options: Value) -> Value {
        let uri = file_uri(root);
        self.initialize_with(json!({
            "processId": null,
            "rootUri": uri,
            "workspaceFolders": [{"uri": uri, "name": "ws"}],
            "initializationOptions": options,
            "capabilities": {
                "general": {"positionEncodings": encodings},
                "window": {"workDoneProgress": true, "showDocument": {"support": true}},
                "workspace": {"didChangeWatchedFiles": {"dynamicRegistration": true}},
                "experimental": {"reverie": {"statusNotification": true}}
            }
        }))
        .await
    }

    /// initialize (with exactly `params`, as a given editor sends them) + initialized.
    pub async fn initialize_with(&mut self, params: Value) -> Value {
        let result = self.result("initialize", params).await;
        self.notify("initialized", json!({})).await;
        result
    }

    /// Waits for the end of the indexing `$/progress` (for clients that get no `reverie/status`
    /// notifications, as Helix); returns its message ("indexed 2 files in 0.0 s (2 parsed, 0 skipped)").
    pub async fn wait_for_indexed(&mut self) -> String {
        let begin = self
            .wait_for(|m| {
                m["method"] == "$/progress"
                    && m["params"]["value"]["kind"] == "begin"
                    && m["params"]["value"]["title"].as_str().is_some_and(|t| t.ends_with("indexing"))
            })
            .await;
        let token = begin["params"]["token"].clone();
        let end = self
            .wait_for(|m| {
                m["method"] == "$/progress" && m["params"]["token"] == token && m["params"]["value"]["kind"] == "end"
            })
            .await;
        end["params"]["value"]["message"].as_str().unwrap_or_default().to_string()
    }

    /// Asks `reverie/status` until `until` holds for it (for clients that get no status
    /// notifications); each ask is a round trip, no sleep. Fails the test after `TIMEOUT`.
    pub async fn poll_status(&mut self, until: impl Fn(&Value) -> bool) -> Value {
        let started = std::time::Instant::now();
        loop {
            let status = self.result("reverie/status", Value::Null).await;
            if until(&status) {
                return status;
            }
            assert!(started.elapsed() < TIMEOUT, "the status never reached the expected state: {status}");
            tokio::task::yield_now().await;
        }
    }

    /// Waits for a `window/showMessage` whose text contains `text`; returns (type, text).
    pub async fn wait_for_message(&mut self, text: &str) -> (u64, String) {
        let message = self
            .wait_for(|m| {
                m["method"] == "window/showMessage" && m["params"]["message"].as_str().unwrap_or("").contains(text)
            })
            .await;
        (
            message["params"]["type"].as_u64().unwrap_or(0),
            message["params"]["message"].as_str().unwrap_or("").to_string(),
        )
    }

    pub async fn open(&mut self, path: &std::path::Path, language: &str, text: &str) {
        self.notify(
            "textDocument/didOpen",
            json!({"textDocument": {"uri": file_uri(path), "languageId": language, "version": 1, "text": text}}),
        )
        .await;
    }

    pub async fn hover(&mut self, path: &std::path::Path, line: u32, character: u32) -> Value {
        self.result(
            "textDocument/hover",
            json!({"textDocument": {"uri": file_uri(path)}, "position": {"line": line, "character": character}}),
        )
        .await
    }

    /// shutdown + exit; returns the process's exit code when it is the real binary.
    pub async fn shutdown(mut self) -> Option<i32> {
        self.result("shutdown", Value::Null).await;
        self.notify("exit", Value::Null).await;
        match self.child.take() {
            Some(mut child) => Some(
                tokio::time::timeout(TIMEOUT, child.wait())
                    .await
                    .expect("exits promptly")
                    .unwrap()
                    .code()
                    .unwrap_or(-1),
            ),
            None => None,
        }
    }
}

pub fn file_uri(path: &std::path::Path) -> String {
    let mut uri = String::from("file://");
    for byte in path.to_str().unwrap().bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => uri.push(byte as char),
            other => uri.push_str(&format!("%{other:02X}")),
        }
    }
    uri
}

/// The `initialize` params Helix sends, field for field as helix-lsp/src/client.rs (`Client::initialize`)
/// builds them: `clientInfo` `helix` with its calendar version (`25.07.1 (a1b2c3d4)`), work-done
/// progress, UTF-8/32/16 positions — and no `window.showDocument`, which Helix handles since 24.03
/// without advertising it. `config` is `[language-server.reverie.config]` (initializationOptions).
pub fn helix_initialize_params(root: &std::path::Path, version: &str, config: Value) -> Value {
    let uri = file_uri(root);
    json!({
        "processId": std::process::id(),
        "rootPath": root.to_str(),
        "rootUri": uri,
        "initializationOptions": config,
        "capabilities": {
            "workspace": {
                "applyEdit": true,
                "workspaceEdit": {
                    "documentChanges": true,
                    "resourceOperations": ["create", "rename", "delete"],
                    "failureHandling": "abort",
                    "normalizesLineEndings": false
                },
                "didChangeConfiguration": {"dynamicRegistration": false},
                "didChangeWatchedFiles": {"dynamicRegistration": true, "relativePatternSupport": false},
                "symbol": {"dynamicRegistration": false},
                "executeCommand": {"dynamicRegistration": false},
                "workspaceFolders": true,
                "configuration": true,
                "inlayHint": {"refreshSupport": false},
                "fileOperations": {"willRename": true, "didRename": true}
            },
            "textDocument": {
                "completion": {
                    "completionItem": {
                        "snippetSupport": true,
                        "deprecatedSupport": true,
                        "tagSupport": {"valueSet": [1]},
                        "insertReplaceSupport": true,
                        "resolveSupport": {"properties": ["documentation", "detail", "additionalTextEdits"]}
                    },
                    "completionItemKind": {}
                },
                "hover": {"contentFormat": ["markdown"]},
                "signatureHelp": {
                    "signatureInformation": {
                        "documentationFormat": ["markdown"],
                        "parameterInformation": {"labelOffsetSupport": true},
                        "activeParameterSupport": true
                    }
                },
                "formatting": {"dynamicRegistration": false},
                "codeAction": {
                    "codeActionLiteralSupport": {"codeActionKind": {"valueSet": [
                        "", "quickfix", "refactor", "refactor.extract", "refactor.inline", "refactor.rewrite",
                        "source", "source.organizeImports"
                    ]}},
                    "isPreferredSupport": true,
                    "disabledSupport": true,
                    "dataSupport": true,
                    "resolveSupport": {"properties": ["edit", "command"]}
                },
                "rename": {"dynamicRegistration": false, "prepareSupport": true, "honorsChangeAnnotations": false},
                "publishDiagnostics": {"versionSupport": true, "tagSupport": {"valueSet": [1, 2]}},
                "inlayHint": {"dynamicRegistration": false}
            },
            "window": {"workDoneProgress": true},
            "general": {"positionEncodings": ["utf-8", "utf-32", "utf-16"]}
        },
        "workspaceFolders": [{"uri": uri, "name": root.file_name().and_then(|n| n.to_str()).unwrap_or("ws")}],
        "clientInfo": {"name": "helix", "version": version}
    })
}

/// `params` with the client capability that asks for `reverie/status` notifications, as the VS Code
/// extension and the Neovim plugin declare it (other clients are not sent them).
pub fn with_status_notifications(mut params: Value) -> Value {
    params["capabilities"]["experimental"] = json!({"reverie": {"statusNotification": true}});
    params
}

/// `initialize` params of another client: `clientInfo` `name`/`version`, and whether it advertises
/// `window.showDocument` (Neovim and VS Code do; many small clients do not).
pub fn client_initialize_params(root: &std::path::Path, name: &str, version: &str, show_document: bool) -> Value {
    let uri = file_uri(root);
    let mut window =
        json!({"workDoneProgress": true, "showMessage": {"messageActionItem": {"additionalPropertiesSupport": false}}});
    if show_document {
        window["showDocument"] = json!({"support": true});
    }
    json!({
        "processId": std::process::id(),
        "rootUri": uri,
        "workspaceFolders": [{"uri": uri, "name": "ws"}],
        "capabilities": {"window": window, "general": {"positionEncodings": ["utf-16"]}},
        "clientInfo": {"name": name, "version": version}
    })
}
