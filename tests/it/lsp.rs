//! The language server over the wire: the real binary on stdio for the protocol a user's editor
//! speaks, and the same service in-process for the cases that need many round trips.

use crate::util::Workspace;
use crate::util::lsp::{LspClient, file_uri};
use serde_json::{Value, json};

const LIB_PY: &str = "class Settings:\n    \"\"\"Holds configuration.\"\"\"\n\n    def load_settings(self, path):\n        if not path:\n            raise ValueError(\"settings path must not be empty\")\n        return {}\n\n\ndef configure_logging(level):\n    return level\n";
const APP_PY: &str = "from lib import Settings, configure_logging\n\n\ndef main():\n    s = Settings()\n    s.load_settings(\"app.toml\")\n    configure_logging(\"debug\")\n";

fn workspace() -> Workspace {
    Workspace::with(&[("lib.py", LIB_PY), ("app.py", APP_PY), (".gitignore", "ignored/\n")])
}

async fn started(ws: &Workspace, encodings: &[&str], options: Value) -> (LspClient, Value) {
    let mut client = LspClient::spawn(&ws.cache_dir(), ws.home.path());
    let init = client.initialize(&ws.root(), encodings, options).await;
    client.wait_for_status("ready", 1).await;
    (client, init)
}

fn hover_text(hover: &Value) -> String {
    hover["contents"]["value"].as_str().unwrap_or_default().to_string()
}

#[tokio::test]
async fn capabilities_are_exactly_what_works() {
    let ws = workspace();
    let (client, init) = started(&ws, &["utf-8", "utf-16"], Value::Null).await;
    let caps = &init["capabilities"];
    assert_eq!(caps["positionEncoding"], "utf-8");
    assert_eq!(caps["textDocumentSync"]["change"], 2, "incremental");
    assert_eq!(caps["hoverProvider"], true);
    assert_eq!(caps["codeActionProvider"], true);
    assert_eq!(
        caps["executeCommandProvider"]["commands"],
        json!(["reverie.ask", "reverie.status", "reverie.reindex", "reverie.think", "reverie.open"])
    );
    for absent in ["completionProvider", "definitionProvider", "referencesProvider", "renameProvider"] {
        assert!(caps.get(absent).is_none(), "{absent} is not implemented and must not be advertised");
    }
    assert_eq!(client.shutdown().await, Some(0));

    let (client, init) = started(&ws, &["utf-16"], Value::Null).await;
    assert_eq!(init["capabilities"]["positionEncoding"], "utf-16");
    assert_eq!(client.shutdown().await, Some(0));
}

#[tokio::test]
async fn indexing_reports_progress_and_status() {
    let ws = workspace();
    let (mut client, _) = started(&ws, &["utf-16"], Value::Null).await;
    let begin = client.wait_for(|m| m["method"] == "$/progress" && m["params"]["value"]["kind"] == "begin").await;
    assert_eq!(begin["params"]["value"]["title"], "reverie: indexing");
    let end = client.wait_for(|m| m["method"] == "$/progress" && m["params"]["value"]["kind"] == "end").await;
    assert!(end["params"]["value"]["message"].as_str().unwrap().contains("indexed 2 files"), "{end}");
    assert!(client.received.iter().any(|m| m["method"] == "window/workDoneProgress/create"));
    let status = client.result("reverie/status", Value::Null).await;
    assert_eq!(status["state"], "ready");
    assert_eq!(status["files"], 2);
    assert_eq!(client.shutdown().await, Some(0));
}

#[tokio::test]
async fn hover_shows_definition_signature_doc_and_callers() {
    let ws = workspace();
    let (mut client, _) = started(&ws, &["utf-16"], Value::Null).await;
    client.open(&ws.path("app.py"), "python", APP_PY).await;
    // `load_settings` on line 6 (0-based 5), column 6.
    let hover = client.hover(&ws.path("app.py"), 5, 8).await;
    let text = hover_text(&hover);
    assert!(text.contains("def load_settings(self, path)"), "{text}");
    let lib = ws.root().join("lib.py");
    let defined = format!("method defined at [{}:4-7]({}#L4)", lib.display(), file_uri(&lib));
    assert!(text.contains(&defined), "{defined} in {text}");
    assert!(text.starts_with("**reverie**"), "the card says whose it is: {text}");
    assert!(text.contains("1 reference in 1 file"), "{text}");
    // The caller by name, with its line and a link that opens it.
    let app = ws.root().join("app.py");
    let link = format!("[{}:6]({}#L6)", app.display(), file_uri(&app));
    assert!(text.contains(&format!("- `main` — {link}")), "{text}");
    let hover = client.hover(&ws.path("app.py"), 4, 10).await;
    assert!(hover_text(&hover).contains("Holds configuration."), "{hover}");
    // Not on an identifier: no hover.
    assert_eq!(client.hover(&ws.path("app.py"), 1, 0).await, Value::Null);
    assert_eq!(client.shutdown().await, Some(0));
}

#[tokio::test]
async fn positions_are_converted_for_non_ascii_text() {
    let ws = workspace();
    // "μ" is 2 bytes and 1 UTF-16 unit; "😀" is 4 bytes and 2 UTF-16 units.
    let text = "# μ 😀\ns = \"😀μ\"; configure_logging(s)\n";
    ws.write("uni.py", text);
    for (encoding, character) in [("utf-16", 14), ("utf-8", 17)] {
        let (mut client, _) = started(&ws, &[encoding], Value::Null).await;
        client.open(&ws.path("uni.py"), "python", text).await;
        let hover = client.hover(&ws.path("uni.py"), 1, character).await;
        assert!(hover_text(&hover).contains("def configure_logging(level)"), "{encoding}: {hover}");
        // Positions past the end of a line or the file clamp instead of failing.
        let response = client.request("textDocument/hover", json!({"textDocument": {"uri": file_uri(&ws.path("uni.py"))}, "position": {"line": 99, "character": 99}})).await;
        assert!(response.get("error").is_none(), "{response}");
        assert_eq!(client.shutdown().await, Some(0));
    }
}

#[tokio::test]
async fn edits_apply_in_order_and_facts_come_from_the_buffer() {
    let ws = workspace();
    let (mut client, _) = started(&ws, &["utf-16"], Value::Null).await;
    let path = ws.path("lib.py");
    let uri = file_uri(&path);
    client.open(&path, "python", LIB_PY).await;
    // Rename configure_logging → setup_logging_now in several small edits, sent back to back.
    let line = 9; // "def configure_logging(level):"
    let before = client.generation();
    let edits = [
        (4, 21, "setup_logging_x"), // "def setup_logging_x(level):"
        (18, 19, "_now"),           // "def setup_logging__now(level):"
        (17, 18, ""),               // "def setup_logging_now(level):"
    ];
    for (version, (start, end, text)) in edits.iter().enumerate() {
        client
            .notify(
                "textDocument/didChange",
                json!({"textDocument": {"uri": uri, "version": version + 2}, "contentChanges": [{"range": {"start": {"line": line, "character": start}, "end": {"line": line, "character": end}}, "text": text}]}),
            )
            .await;
    }
    client.wait_for_generation(before).await;
    let mut text = String::new();
    // The buffer's facts replace the disk's: wait until the renamed function is known.
    for _ in 0..50 {
        text = hover_text(&client.hover(&path, line, 6).await);
        if text.contains("setup_logging_now") {
            break;
        }
        let current = client.generation();
        client.wait_for_generation(current).await;
    }
    assert!(text.contains("def setup_logging_now(level)"), "{text}");
    assert!(!std::fs::read_to_string(&path).unwrap().contains("setup_logging_now"), "the disk is untouched");
    assert_eq!(client.shutdown().await, Some(0));
}

#[tokio::test]
async fn code_actions_ask_and_show_the_answer() {
    let ws = workspace();
    let (mut client, _) = started(&ws, &["utf-16"], Value::Null).await;
    let path = ws.path("app.py");
    client.open(&path, "python", APP_PY).await;
    let actions = client
        .result("textDocument/codeAction", json!({"textDocument": {"uri": file_uri(&path)}, "range": {"start": {"line": 5, "character": 8}, "end": {"line": 5, "character": 8}}, "context": {"diagnostics": []}}))
        .await;
    let titles: Vec<&str> = actions.as_array().unwrap().iter().map(|a| a["title"].as_str().unwrap()).collect();
    assert_eq!(
        titles,
        [
            "reverie: Explain load_settings",
            "reverie: How to debug load_settings",
            "reverie: Where is load_settings used?"
        ]
    );
    let command = actions[0]["command"].clone();
    assert_eq!(command["command"], "reverie.ask");
    let answer = client
        .result("workspace/executeCommand", json!({"command": "reverie.ask", "arguments": command["arguments"]}))
        .await;
    assert_eq!(answer["source"], "context");
    assert_eq!(answer["context"][0]["path"], "lib.py", "{answer}");
    let shown = client.wait_for(|m| m["method"] == "window/showDocument").await;
    let shown_path = shown["params"]["uri"].as_str().unwrap().strip_prefix("file://").unwrap().to_string();
    let markdown = std::fs::read_to_string(&shown_path).unwrap();
    assert!(markdown.starts_with("# Explain `load_settings`"), "{markdown}");
    let lib = ws.root().join("lib.py");
    // The label is the absolute path; the target the same file relative to the document, at the line.
    let cited = format!("[{}:4-7](", lib.display());
    assert!(markdown.contains(&cited) && markdown.contains("/lib.py#L4)"), "links the real file and line: {markdown}");

    // A client that refuses the document gets a short message, citations first, and the full answer
    // in the log.
    client.accept_show_document = false;
    client
        .result(
            "workspace/executeCommand",
            json!({"command": "reverie.ask", "arguments": [{"question": "where is configure_logging?"}]}),
        )
        .await;
    let (_, message) = client.wait_for_message("configure_logging").await;
    assert!(message.starts_with("reverie: lib.py:10 def configure_logging(level)"), "{message}");
    assert!(!message.contains('\n') && message.contains("full answer: "), "{message}");
    let log = client
        .wait_for(|m| {
            m["method"] == "window/logMessage"
                && m["params"]["message"].as_str().unwrap_or("").contains("# where is configure_logging?")
        })
        .await;
    let log = log["params"]["message"].as_str().unwrap();
    assert!(
        log.contains("/lib.py:10](") && log.contains("/lib.py#L10) — function `def configure_logging(level)`"),
        "{log}"
    );
    assert!(log.contains("_source: facts_"), "a structural question needs no model: {log}");

    let status = client.result("workspace/executeCommand", json!({"command": "reverie.status"})).await;
    assert_eq!(status["files"], 2);
    let unknown = client.request("workspace/executeCommand", json!({"command": "reverie.nope"})).await;
    assert!(unknown["error"]["message"].as_str().unwrap().contains("unknown command `reverie.nope`"), "{unknown}");
    assert_eq!(client.shutdown().await, Some(0));
}

/// The code actions on a real project (five files of Flask 3.0.3, `tests/fixtures/projects/flask`):
/// the actions the server offers on `get_signing_serializer`, executed with their own arguments,
/// answer from the symbol outward — the definition, then its callers (Explain); its tests and callers
/// (How to debug); the facts' list of uses (Where is … used?), the code before the fixture's README
/// that mentions it — from its definition and from a call.
#[tokio::test]
async fn code_actions_centre_on_their_symbol_in_a_real_project() {
    let ws = Workspace::from_project("flask");
    let (mut client, _) = started(&ws, &["utf-16"], Value::Null).await;
    let path = ws.path("src/flask/sessions.py");
    client.open(&path, "python", &std::fs::read_to_string(&path).unwrap()).await;
    // (line, character), 0-based: the name in `def get_signing_serializer` (:307), and the call in
    // `open_session` (:321, `s = self.get_signing_serializer(app)`).
    for (line, character) in [(306, 10), (320, 20)] {
        let range =
            json!({"start": {"line": line, "character": character}, "end": {"line": line, "character": character}});
        let actions = client
            .result(
                "textDocument/codeAction",
                json!({"textDocument": {"uri": file_uri(&path)}, "range": range, "context": {"diagnostics": []}}),
            )
            .await;
        let actions = actions.as_array().unwrap().clone();
        let titles: Vec<&str> = actions.iter().map(|a| a["title"].as_str().unwrap()).collect();
        assert_eq!(
            titles,
            [
                "reverie: Explain get_signing_serializer",
                "reverie: How to debug get_signing_serializer",
                "reverie: Where is get_signing_serializer used?"
            ]
        );
        let mut answers = Vec::new();
        for (action, intent) in actions.iter().zip(["explain", "debug", "usages"]) {
            let arguments = action["command"]["arguments"].clone();
            assert_eq!(arguments[0]["subject"], json!({"name": "get_signing_serializer", "intent": intent}));
            let answer = client
                .result(
                    "workspace/executeCommand",
                    json!({"command": action["command"]["command"], "arguments": arguments}),
                )
                .await;
            let places = places_of(&answer);
            answers.push((answer, places));
        }
        let (explain, places) = &answers[0];
        assert_eq!(explain["source"], "context", "{explain}");
        assert_eq!(
            places[..4],
            [
                "src/flask/sessions.py:307 the method you asked about: `SecureCookieSessionInterface.get_signing_serializer`",
                "src/flask/sessions.py:320 method `open_session` calls `get_signing_serializer` at :321",
                "src/flask/sessions.py:334 method `save_session` calls `get_signing_serializer` at :368",
                "src/flask/sessions.py:288 `get_signing_serializer` is a method of class `SecureCookieSessionInterface`",
            ],
            "{places:#?}"
        );
        let (debug, places) = &answers[1];
        let first8 = &places[..8.min(places.len())];
        assert_eq!(first8[0], places_of(explain)[0], "the definition first");
        for caller in
            ["src/flask/sessions.py:320 method `open_session`", "src/flask/sessions.py:334 method `save_session`"]
        {
            assert!(first8.iter().any(|p| p.starts_with(caller)), "{caller} in {first8:#?}");
        }
        let tests: Vec<&Value> =
            debug["context"].as_array().unwrap()[..first8.len()].iter().filter(|c| c["kind"] == "test").collect();
        assert!(
            tests.iter().any(|t| t["path"] == "tests/test_reqctx.py"
                && t["reason"] == "test `test_session_error_pops_context` overrides `open_session` at :210, which calls `get_signing_serializer`"),
            "{first8:#?}"
        );
        let (usages, places) = &answers[2];
        assert_eq!(usages["source"], "facts", "{usages}");
        assert_eq!(
            places,
            &[
                "src/flask/sessions.py:321 uses `get_signing_serializer` in `open_session`",
                "src/flask/sessions.py:368 uses `get_signing_serializer` in `save_session`",
                "README.md:5 uses `get_signing_serializer` in `Flask 3.0.3, in part`"
            ]
        );
    }
    // The document the first Explain opened (what Helix shows) lists the items in the same order.
    let shown = client.wait_for(|m| m["method"] == "window/showDocument").await;
    let document =
        std::fs::read_to_string(shown["params"]["uri"].as_str().unwrap().strip_prefix("file://").unwrap()).unwrap();
    assert!(document.starts_with("# Explain `get_signing_serializer`"), "{document}");
    let numbered: Vec<&str> =
        document.lines().filter(|l| l.starts_with(|c: char| c.is_ascii_digit())).take(3).collect();
    assert!(
        numbered.len() == 3
            && numbered[0].starts_with("1. ")
            && numbered[0].contains("src/flask/sessions.py:307-318")
            && numbered[1].contains("src/flask/sessions.py:320-332")
            && numbered[2].contains("src/flask/sessions.py:334-379"),
        "{document}"
    );
    // The same question typed by hand is ranked as before: no item is there for calling it.
    let typed = client
        .result(
            "reverie/ask",
            json!({"question": "Explain `get_signing_serializer`: what it does, how it is used and why it exists."}),
        )
        .await;
    assert!(
        !typed["context"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["reason"].as_str().unwrap().contains("calls `get_signing_serializer`")),
        "{typed}"
    );
    assert_eq!(client.shutdown().await, Some(0));
}

/// `path:start_line reason` of each item of an answer's context.
fn places_of(answer: &Value) -> Vec<String> {
    answer["context"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| format!("{}:{} {}", c["path"].as_str().unwrap(), c["start_line"], c["reason"].as_str().unwrap()))
        .collect()
}

#[tokio::test]
async fn reverie_ask_returns_cited_context() {
    let ws = workspace();
    let (mut client, _) = started(&ws, &["utf-16"], Value::Null).await;
    let answer =
        client.result("reverie/ask", json!({"question": "ValueError: settings path must not be empty — why?"})).await;
    let first = &answer["context"][0];
    assert_eq!(first["kind"], "error-site", "{answer}");
    assert_eq!(first["path"], "lib.py");
    assert_eq!(first["start_line"], 6);
    assert_eq!(
        first["text"], "raise ValueError(\"settings path must not be empty\")",
        "the real source line: {answer}"
    );
    assert!(answer["answer"].as_str().unwrap().contains("No model is configured"));
    assert_eq!(answer["usage"]["llm_calls"], 0);
    // The direct answer to "where is it raised" shows the message and the function, and its item
    // quotes the file's own line: never a rewritten `raise "…"`.
    let direct = client
        .result("reverie/ask", json!({"question": "where is the error 'settings path must not be empty' raised?"}))
        .await;
    assert_eq!(direct["source"], "facts", "{direct}");
    let text = direct["answer"].as_str().unwrap();
    assert!(text.contains("- `lib.py:6` in `load_settings`: \"settings path must not be empty\""), "{text}");
    assert_eq!(direct["context"][0]["reason"], "this error message is produced here, in `load_settings`");
    assert_eq!(direct["context"][0]["text"], "raise ValueError(\"settings path must not be empty\")");
    assert!(!direct.to_string().contains("raise \\\"settings"), "no rewritten line anywhere: {direct}");
    let focused = client.result("reverie/ask", json!({"question": "what does this do?", "textDocument": {"uri": file_uri(&ws.path("app.py"))}, "position": {"line": 5, "character": 4}, "budget": 400})).await;
    assert_eq!(focused["context"][0]["path"], "app.py", "the cursor's definition comes first: {focused}");
    let tokens: u64 = focused["context"].as_array().unwrap().iter().map(|i| i["tokens"].as_u64().unwrap()).sum();
    assert!(tokens <= 400);
    let empty = client.request("reverie/ask", json!({"question": "  "})).await;
    assert!(empty["error"]["message"].as_str().unwrap().contains("`question` is empty"));
    let wrong = client.request("reverie/ask", json!({"question": 42})).await;
    assert!(wrong.get("error").is_some(), "{wrong}");
    assert_eq!(client.shutdown().await, Some(0));
}

#[tokio::test]
async fn the_watcher_follows_the_disk_and_the_ignore_rules() {
    let ws = workspace();
    let (mut client, _) = started(&ws, &["utf-16"], Value::Null).await;
    let ask = |name: &str| json!({"question": format!("where is {name} defined?")});

    let generation = client.generation();
    ws.write("ignored/secret.py", "def hidden_function():\n    pass\n");
    ws.write("new_module.py", "def brand_new_function():\n    pass\n");
    let status = client.wait_for_generation(generation).await;
    assert_eq!(status["files"], 3, "{status}");
    let answer = client.result("reverie/ask", ask("brand_new_function")).await;
    assert_eq!(answer["context"][0]["path"], "new_module.py", "{answer}");
    let answer = client.result("reverie/ask", ask("hidden_function")).await;
    assert!(!answer.to_string().contains("secret.py"), "ignored files stay ignored: {answer}");

    let generation = client.generation();
    std::fs::rename(ws.path("new_module.py"), ws.path("renamed_module.py")).unwrap();
    client
        .wait_for(|m| {
            m["method"] == "reverie/status"
                && m["params"]["generation"].as_u64().unwrap() > generation
                && m["params"]["files"] == 3
        })
        .await;
    let answer = client.result("reverie/ask", ask("brand_new_function")).await;
    assert_eq!(answer["context"][0]["path"], "renamed_module.py", "{answer}");

    let generation = client.generation();
    std::fs::remove_file(ws.path("renamed_module.py")).unwrap();
    client
        .wait_for(|m| {
            m["method"] == "reverie/status"
                && m["params"]["generation"].as_u64().unwrap() > generation
                && m["params"]["files"] == 2
        })
        .await;
    assert_eq!(client.shutdown().await, Some(0));
}

#[tokio::test]
async fn a_bad_config_is_shown_and_the_server_keeps_working() {
    let ws = workspace();
    ws.write("reverie.toml", "[index]\nmax_fiel_size = 1\n");
    let mut client = LspClient::spawn(&ws.cache_dir(), ws.home.path());
    client.initialize(&ws.root(), &["utf-16"], json!({"server": {"idle_after": "soon"}})).await;
    let first = client
        .wait_for(|m| {
            m["method"] == "window/showMessage"
                && m["params"]["message"].as_str().unwrap_or("").contains("max_fiel_size")
        })
        .await;
    assert!(
        first["params"]["message"].as_str().unwrap().contains("reverie.toml: unknown key `index.max_fiel_size`"),
        "{first}"
    );
    let second = client
        .wait_for(|m| {
            m["method"] == "window/showMessage"
                && m["params"]["message"].as_str().unwrap_or("").contains("initializationOptions")
        })
        .await;
    assert!(second["params"]["message"].as_str().unwrap().contains("idle_after"), "{second}");
    client.wait_for_status("ready", 1).await;
    let answer = client.result("reverie/ask", json!({"question": "configure_logging"})).await;
    assert_eq!(answer["context"][0]["path"], "lib.py");
    assert_eq!(client.shutdown().await, Some(0));
}

#[tokio::test]
async fn idle_after_quiet_time_and_ready_on_activity() {
    let ws = workspace();
    let mut client = LspClient::spawn(&ws.cache_dir(), ws.home.path());
    client.initialize(&ws.root(), &["utf-16"], json!({"server": {"idle_after": "300ms"}})).await;
    // Indexed, then idle (or idle already when indexing ends on a slow machine).
    client
        .wait_for(|m| m["method"] == "reverie/status" && m["params"]["state"] == "idle" && m["params"]["files"] == 2)
        .await;
    client.hover(&ws.path("app.py"), 0, 0).await;
    client
        .wait_for(|m| {
            m["method"] == "reverie/status"
                && m["params"]["state"] == "ready"
                && m["params"]["message"] == "ready: no model configured, answering from facts"
        })
        .await;
    assert_eq!(client.shutdown().await, Some(0));
}

#[tokio::test]
async fn exits_when_stdin_closes_and_survives_malformed_input() {
    let ws = workspace();
    let (mut client, _) = started(&ws, &["utf-16"], Value::Null).await;
    // Truncated JSON, a body that is not a JSON-RPC object, a bad header followed by a good frame:
    // each bad one gets a parse-error response, and the good one still gets through.
    client.send_raw(b"Content-Length: 10\r\n\r\n{\"jsonrpc\"").await;
    let error = client.response(Value::Null).await;
    assert_eq!(error["error"]["code"], -32700, "{error}");
    assert!(error["error"]["message"].as_str().unwrap().contains("not valid JSON"), "{error}");
    client.send_raw(b"Content-Length: 2\r\n\r\n[]").await;
    let error = client.response(Value::Null).await;
    assert!(error["error"]["message"].as_str().unwrap().contains("not a JSON-RPC object"), "{error}");
    client.send_raw(b"Content-Length: lots\r\n\r\ngarbage").await;
    let status = client.result("reverie/status", Value::Null).await;
    assert_eq!(status["files"], 2, "the frame after the garbage is read: {status}");
    let error = client.received_error();
    assert!(error.contains("bad Content-Length `lots`"), "{error}");
    // Wrong parameter types and an unknown method.
    let wrong = client.request("textDocument/hover", json!({"textDocument": 7})).await;
    assert!(wrong.get("error").is_some(), "{wrong}");
    let unknown = client.request("reverie/frobnicate", json!({})).await;
    assert_eq!(unknown["error"]["code"], -32601, "{unknown}");
    // Still answering.
    let status = client.result("reverie/status", Value::Null).await;
    assert_eq!(status["files"], 2);
    // Closing stdin ends the process (no shutdown was sent: exit code 1, per the LSP spec).
    let mut child = client.child.take().unwrap();
    drop(client);
    let status =
        tokio::time::timeout(crate::util::lsp::TIMEOUT, child.wait()).await.expect("exits when stdin closes").unwrap();
    assert_eq!(status.code(), Some(1));
}

/// Clients say "no parameters" differently: absent, `null`, `{}` (Neovim's `vim.empty_dict()`, and
/// several others) and `[]` are all accepted by every request that takes none.
#[tokio::test]
async fn parameterless_requests_accept_every_form_of_no_params() {
    let ws = workspace();
    let (mut client, _) = started(&ws, &["utf-16"], Value::Null).await;
    client.send(&json!({"jsonrpc": "2.0", "id": "absent", "method": "reverie/status"})).await;
    let absent = client.response(json!("absent")).await;
    assert_eq!(absent["result"]["files"], 2, "{absent}");
    for params in [Value::Null, json!({}), json!([])] {
        let response = client.request("reverie/status", params.clone()).await;
        assert!(response.get("error").is_none(), "reverie/status with {params}: {response}");
        assert_eq!(response["result"]["state"], "ready", "{response}");
    }
    // Parameters where none are taken are still an error.
    let extra = client.request("reverie/status", json!({"verbose": true})).await;
    assert_eq!(extra["error"]["code"], -32602, "{extra}");
    let response = client.request("shutdown", json!({})).await;
    assert!(response.get("error").is_none(), "shutdown with {{}}: {response}");
    client.notify("exit", Value::Null).await;
}

#[tokio::test]
async fn in_process_service_answers_like_the_binary() {
    let ws = workspace();
    let mut client = LspClient::in_process(&ws.cache_dir());
    client.initialize(&ws.root(), &["utf-8"], Value::Null).await;
    client.wait_for_status("ready", 1).await;
    client.open(&ws.path("app.py"), "python", APP_PY).await;
    let hover = client.hover(&ws.path("app.py"), 6, 4).await;
    assert!(hover_text(&hover).contains("def configure_logging(level)"), "{hover}");
    client.result("shutdown", Value::Null).await;
}

#[tokio::test]
async fn rapid_keystrokes_apply_in_order() {
    let ws = workspace();
    let mut client = LspClient::in_process(&ws.cache_dir());
    client.initialize(&ws.root(), &["utf-16"], Value::Null).await;
    client.wait_for_status("ready", 1).await;
    let path = ws.path("app.py");
    let uri = file_uri(&path);
    client.open(&path, "python", APP_PY).await;
    // Type a new function one character at a time at the end of the file, with a non-ASCII name.
    let typed = "\n\n# 😀 surrogate pairs\ndef tapé_função(x):\n    return x\n";
    let mut line = APP_PY.lines().count() as u32;
    let mut character = 0u32;
    for (i, ch) in typed.chars().enumerate() {
        client
            .notify(
                "textDocument/didChange",
                json!({"textDocument": {"uri": uri, "version": i + 2}, "contentChanges": [{"range": {"start": {"line": line, "character": character}, "end": {"line": line, "character": character}}, "text": ch.to_string()}]}),
            )
            .await;
        if ch == '\n' {
            line += 1;
            character = 0;
        } else {
            character += ch.len_utf16() as u32;
        }
    }
    let def_line = APP_PY.lines().count() as u32 + 3;
    let mut text = String::new();
    for _ in 0..100 {
        text = hover_text(&client.hover(&path, def_line, 6).await);
        if text.contains("tapé_função") {
            break;
        }
        let current = client.generation();
        client.wait_for_generation(current).await;
    }
    assert!(text.contains("def tapé_função(x)"), "{text}");
    client.result("shutdown", Value::Null).await;
}

/// The status says how far the semantic index covers the code (`semantic: {embedded, definitions}`)
/// once it is built: here at idle time, with an embedder on a loopback `/v1/embeddings` server; the
/// adapter pass follows, and `reverie/status` lists each idle job's last run.
#[tokio::test]
async fn the_status_says_how_far_the_semantic_index_covers_the_code() {
    let embeddings = crate::util::http::Server::start(|_, request| {
        let inputs = request.json()["input"].as_array().cloned().unwrap_or_default();
        let data: Vec<Value> = inputs
            .iter()
            .enumerate()
            .map(|(i, text)| {
                let text = text.as_str().unwrap_or_default();
                json!({"object": "embedding", "index": i, "embedding": [text.len() as f32, 1.0, 0.5, 0.25]})
            })
            .collect();
        crate::util::http::Reply::json(200, &json!({"object": "list", "data": data, "model": "fake-embed"}))
    });
    let ws = workspace();
    let mut client = LspClient::spawn(&ws.cache_dir(), ws.home.path());
    let options = json!({
        "server": {"idle_after": "300ms"},
        "embed": {"provider": "openai", "model": "fake-embed", "base_url": format!("{}/v1", embeddings.url())}
    });
    client.initialize(&ws.root(), &["utf-16"], options).await;
    let covered = client
        .wait_for(|m| {
            let semantic = &m["params"]["semantic"];
            m["method"] == "reverie/status"
                && semantic["definitions"].as_u64().is_some_and(|n| n > 0)
                && semantic["embedded"] == semantic["definitions"]
        })
        .await;
    // lib.py's `Settings`, `load_settings`, `configure_logging` and app.py's `main`.
    assert_eq!(covered["params"]["semantic"], json!({"embedded": 4, "definitions": 4}), "{covered}");
    let asked = client.result("reverie/status", Value::Null).await;
    assert_eq!(asked["semantic"], json!({"embedded": 4, "definitions": 4}), "{asked}");
    // Then the adapter pass (four definitions are too few pairs to fit a space), and the answer to
    // `reverie/status` lists each idle job's last run; notifications leave them out.
    let fitted = client
        .wait_for(|m| {
            m["method"] == "$/progress"
                && m["params"]["value"]["kind"] == "end"
                && m["params"]["value"]["message"].as_str().is_some_and(|t| t.starts_with("adapter: "))
        })
        .await;
    assert!(fitted["params"]["value"]["message"].as_str().unwrap().contains("too few pairs"), "{fitted}");
    let notified: Vec<&Value> = client.received.iter().filter(|m| m["method"] == "reverie/status").collect();
    assert!(notified.iter().all(|m| m["params"].get("jobs").is_none()), "{notified:?}");
    let asked = client.result("reverie/status", Value::Null).await;
    assert_eq!(asked["jobs"]["semantic"]["outcome"], "done", "{asked}");
    assert_eq!(asked["jobs"]["semantic"]["pending"], 0, "{asked}");
    assert!(asked["jobs"]["adapter"]["outcome"].as_str().unwrap().contains("too few pairs"), "{asked}");
    assert!(asked["jobs"]["history"]["outcome"].is_string(), "{asked}");
    assert!(asked["jobs"].get("notes").is_none(), "{asked}");
    assert_eq!(client.shutdown().await, Some(0));
}

/// With no model configured, a local Ollama server that answers is offered in the idle status, and
/// only its model list is asked for; with none answering, the status says facts only.
#[tokio::test]
async fn an_answering_ollama_server_is_offered_when_no_model_is_configured() {
    let ollama = crate::util::http::Server::always(crate::util::http::Reply::json(
        200,
        &json!({"models": [{"name": "qwen2.5-coder:7b", "model": "qwen2.5-coder:7b", "size": 4683087332u64}]}),
    ));
    let ws = workspace();
    let mut client = LspClient::spawn(&ws.cache_dir(), ws.home.path());
    let options = json!({"server": {"idle_after": "300ms"}, "llm": {"offer_ollama": ollama.url()}});
    client.initialize(&ws.root(), &["utf-16"], options).await;
    let idle = client
        .wait_for(|m| {
            m["method"] == "reverie/status"
                && m["params"]["state"] == "idle"
                && m["params"]["message"].as_str().is_some_and(|t| t.contains("An Ollama server answers"))
        })
        .await;
    let message = idle["params"]["message"].as_str().unwrap();
    assert!(message.contains("model = \"qwen2.5-coder:7b\"") && message.contains("/v1"), "{message}");
    let think = client.result("workspace/executeCommand", json!({"command": "reverie.think", "arguments": []})).await;
    assert!(think["message"].as_str().unwrap().contains("qwen2.5-coder:7b"), "{think}");
    let asked: Vec<(String, String)> = ollama.requests().into_iter().map(|r| (r.method, r.path)).collect();
    assert_eq!(asked, vec![("GET".to_string(), "/api/tags".to_string())], "nothing but the model list");
    assert_eq!(client.shutdown().await, Some(0));

    // Nothing answering there: facts only, as before.
    let url = ollama.url();
    drop(ollama);
    let mut client = LspClient::spawn(&ws.cache_dir(), ws.home.path());
    client
        .initialize(&ws.root(), &["utf-16"], json!({"server": {"idle_after": "300ms"}, "llm": {"offer_ollama": url}}))
        .await;
    client
        .wait_for(|m| {
            m["method"] == "reverie/status"
                && m["params"]["state"] == "idle"
                && m["params"]["message"] == "idle: no model configured, answering from facts"
        })
        .await;
    assert_eq!(client.shutdown().await, Some(0));
}

/// The answer to `reverie.ask` opens as a document where the client can show one — advertised
/// (Neovim, VS Code) or known from `clientInfo` (Helix ≥ 24.03, which handles it without advertising
/// it) — and is a short message otherwise.
#[tokio::test]
async fn answers_open_as_documents_where_the_client_can_show_one() {
    let ws = workspace();
    let root = ws.root();
    let clients = [
        ("Neovim 0.11", crate::util::lsp::client_initialize_params(&root, "Neovim", "0.11.4", true), true),
        ("VS Code", crate::util::lsp::client_initialize_params(&root, "Visual Studio Code", "1.100.3", true), true),
        ("code-server", crate::util::lsp::client_initialize_params(&root, "code-server", "4.100.3", true), true),
        ("Helix 25.07", crate::util::lsp::helix_initialize_params(&root, "25.07.1 (a1b2c3d4)", Value::Null), true),
        ("Helix 24.03", crate::util::lsp::helix_initialize_params(&root, "24.03 (0f23f3e6)", Value::Null), true),
        ("Helix 23.10", crate::util::lsp::helix_initialize_params(&root, "23.10 (035a3d9a)", Value::Null), false),
        ("unknown client", crate::util::lsp::client_initialize_params(&root, "some-editor", "1.0", false), false),
        ("no clientInfo", json!({"processId": null, "rootUri": file_uri(&root), "capabilities": {}}), false),
    ];
    for (name, params, document) in clients {
        let mut client = LspClient::spawn(&ws.cache_dir(), ws.home.path());
        client.initialize_with(crate::util::lsp::with_status_notifications(params)).await;
        client.wait_for_status("ready", 1).await;
        let question = format!("where is configure_logging defined? ({name})");
        client
            .result(
                "workspace/executeCommand",
                json!({"command": "reverie.ask", "arguments": [{"question": question}]}),
            )
            .await;
        if document {
            let shown = client.wait_for(|m| m["method"] == "window/showDocument").await;
            let path = shown["params"]["uri"].as_str().unwrap().strip_prefix("file://").unwrap().to_string();
            let markdown = std::fs::read_to_string(&path).unwrap();
            assert!(markdown.starts_with(&format!("# {question}")), "{name}: {markdown}");
        } else {
            let (kind, message) = client.wait_for_message("lib.py:10").await;
            assert_eq!(kind, 3, "{name}: an info message");
            assert!(message.starts_with("reverie: lib.py:10 def configure_logging(level)"), "{name}: {message}");
            assert!(!message.contains('\n'), "{name}: one line: {message}");
            assert!(!client.received.iter().any(|m| m["method"] == "window/showDocument"), "{name}");
        }
        assert_eq!(client.shutdown().await, Some(0), "{name}");
    }
}

/// A command that cannot run says so to the user (`window/showMessage`, error) with the form it
/// expects — not only as an error response, which some clients (Helix) only log.
#[tokio::test]
async fn command_errors_are_shown_to_the_user() {
    let ws = workspace();
    let (mut client, _) = started(&ws, &["utf-16"], Value::Null).await;
    let cases = [
        json!({"command": "reverie.ask"}),
        json!({"command": "reverie.ask", "arguments": []}),
        json!({"command": "reverie.ask", "arguments": [null]}),
        json!({"command": "reverie.ask", "arguments": [{"q": "where is configure_logging?"}]}),
        json!({"command": "reverie.ask", "arguments": [{"question": " "}]}),
    ];
    for (i, params) in cases.iter().enumerate() {
        client.received.clear();
        let response = client.request("workspace/executeCommand", params.clone()).await;
        assert_eq!(response["error"]["code"], -32602, "{params}: {response}");
        let shown = client.wait_for(|m| m["method"] == "window/showMessage" && m["params"]["type"] == 1).await;
        let shown = shown["params"]["message"].as_str().unwrap();
        assert!(shown.starts_with("reverie.ask"), "{params}: {shown}");
        if i < 4 {
            assert!(shown.contains(r#"reverie.ask {"question": "#), "the expected form, for {params}: {shown}");
        } else {
            assert!(shown.contains("`question` is empty"), "{shown}");
        }
    }
    let unknown = client.request("workspace/executeCommand", json!({"command": "reverie.nope"})).await;
    assert!(unknown["error"]["message"].as_str().unwrap().contains("unknown command `reverie.nope`"), "{unknown}");
    client.wait_for_message("unknown command `reverie.nope`").await;
    assert_eq!(client.shutdown().await, Some(0));
}

/// `reverie.reindex` re-parses every file and says it started and what it did; `reverie.status` says
/// the state once; `reverie.think` without a model says how to set one from this editor.
#[tokio::test]
async fn commands_say_what_they_do() {
    let ws = workspace();
    let mut client = LspClient::spawn(&ws.cache_dir(), ws.home.path());
    client
        .initialize_with(crate::util::lsp::helix_initialize_params(&ws.root(), "25.07.1 (a1b2c3d4)", Value::Null))
        .await;
    client.wait_for_indexed().await;
    client.result("workspace/executeCommand", json!({"command": "reverie.reindex"})).await;
    client.wait_for_message("re-indexing the workspace from scratch").await;
    let (_, done) = client.wait_for_message("reverie: indexed 2 files").await;
    assert!(done.starts_with("reverie: indexed 2 files from scratch in "), "says what it did: {done}");
    assert!(done.ends_with("(2 parsed, 0 skipped)"), "every file parsed again: {done}");
    let status = client.result("workspace/executeCommand", json!({"command": "reverie.status"})).await;
    assert_eq!(status["files"], 2);
    // Ready, or already idle when the machine is slow enough for the idle clock to run out.
    let shown = client
        .wait_for(|m| {
            m["method"] == "window/showMessage"
                && ["reverie: ready — ", "reverie: idle — "]
                    .iter()
                    .any(|state| m["params"]["message"].as_str().unwrap_or("").starts_with(state))
        })
        .await;
    let line = shown["params"]["message"].as_str().unwrap();
    assert!(line.contains(" — 2 files"), "{line}");
    let state = if line.starts_with("reverie: ready") { "ready" } else { "idle" };
    assert_eq!(line.matches(state).count(), 1, "the state once: {line}");
    let think = client.result("workspace/executeCommand", json!({"command": "reverie.think"})).await;
    assert_eq!(think["started"], false);
    let (_, message) = client.wait_for_message("[llm]").await;
    assert!(message.contains("reverie.toml"), "{message}");
    assert!(message.contains("[language-server.reverie.config]"), "Helix users are told where in Helix: {message}");
    assert_eq!(client.shutdown().await, Some(0));

    // Neovim users are told about setup{ settings }, VS Code users about their settings.
    for (name, hint) in [("Neovim", "settings = { llm"), ("Visual Studio Code", "reverie.llm.provider")] {
        let mut client = LspClient::spawn(&ws.cache_dir(), ws.home.path());
        client.initialize_with(crate::util::lsp::client_initialize_params(&ws.root(), name, "1", true)).await;
        client.wait_for_indexed().await;
        let think = client.result("workspace/executeCommand", json!({"command": "reverie.think"})).await;
        assert!(think["message"].as_str().unwrap().contains(hint), "{name}: {think}");
        assert_eq!(client.shutdown().await, Some(0));
    }
}

/// While thinking: `$/progress` with done/total jobs, and the status' note count grows as notes land,
/// before the pass ends.
#[tokio::test]
async fn thinking_reports_progress_and_notes_as_they_land() {
    let fake = crate::util::openai_fake::FakeOpenAi::start(|request| {
        crate::util::openai_fake::Reply::Text(crate::util::openai_fake::valid_note(request))
    });
    let ws = workspace();
    ws.write("reverie.toml", format!("{}[sleep]\nnotes = [\"summary\"]\n", fake.llm_config()));
    let (mut client, _) = started(&ws, &["utf-16"], Value::Null).await;
    let think = client.result("workspace/executeCommand", json!({"command": "reverie.think"})).await;
    assert_eq!(think["started"], true, "{think}");
    let begin =
        client.wait_for(|m| m["method"] == "$/progress" && m["params"]["value"]["title"] == "reverie: thinking").await;
    let token = begin["params"]["token"].clone();
    let end = client
        .wait_for(|m| {
            m["method"] == "$/progress" && m["params"]["token"] == token && m["params"]["value"]["kind"] == "end"
        })
        .await;
    assert!(end["params"]["value"]["message"].as_str().unwrap().contains("2 notes stored this pass"), "{end}");
    let reports: Vec<String> = client
        .received
        .iter()
        .filter(|m| {
            m["method"] == "$/progress" && m["params"]["token"] == token && m["params"]["value"]["kind"] == "report"
        })
        .map(|m| m["params"]["value"]["message"].as_str().unwrap_or("").to_string())
        .collect();
    assert_eq!(reports.first().map(String::as_str), Some("0/2 jobs"), "{reports:?}");
    assert!(reports.iter().any(|r| r.starts_with("1/2: summary ")), "{reports:?}");
    assert!(reports.iter().any(|r| r.starts_with("2/2: summary ")), "{reports:?}");
    // The status counted the first note while the pass still ran.
    let counted = client
        .received
        .iter()
        .any(|m| m["method"] == "reverie/status" && m["params"]["state"] == "thinking" && m["params"]["notes"] == 1);
    assert!(counted, "the notes count grows during the pass");
    let status = client.result("reverie/status", Value::Null).await;
    assert_eq!(status["notes"], 2, "{status}");
    assert_eq!(client.shutdown().await, Some(0));
}

/// Asking for the architecture overview before one was written says so, and how to get one.
#[tokio::test]
async fn the_overview_before_one_is_written_says_how_to_get_one() {
    let ws = workspace();
    let (mut client, _) = started(&ws, &["utf-16"], Value::Null).await;
    let answer =
        client.result("reverie/ask", json!({"question": "Give me the architecture overview of this codebase"})).await;
    let text = answer["answer"].as_str().unwrap();
    assert!(text.starts_with("No architecture overview has been written yet."), "{text}");
    assert!(text.contains("reverie.think") && text.contains("[llm]"), "how to get one: {text}");
    assert_eq!(client.shutdown().await, Some(0));
}

/// At the level editors start the server with by default (VS Code's `reverie.logLevel` is `info`),
/// the log says what happened — the index, an answer, a command that could not run — as plain text
/// (no colour codes: stderr is a pipe, not a terminal).
#[tokio::test]
async fn the_log_says_what_happened_in_plain_text() {
    let ws = workspace();
    let log = ws.home.path().join("server.log");
    let mut client = LspClient::spawn_logging(&ws.cache_dir(), ws.home.path(), "info", &log);
    client.initialize(&ws.root(), &["utf-16"], Value::Null).await;
    client.wait_for_status("ready", 1).await;
    client.result("reverie/ask", json!({"question": "where is configure_logging?"})).await;
    client.request("workspace/executeCommand", json!({"command": "reverie.ask"})).await;
    assert_eq!(client.shutdown().await, Some(0));
    let log = std::fs::read_to_string(&log).unwrap();
    assert!(log.contains("indexed 2 files"), "{log}");
    assert!(log.contains("answered from facts with 1 citation in "), "{log}");
    assert!(!log.contains("where is configure_logging"), "the question is not logged: {log}");
    assert!(log.contains("reverie.ask takes one argument"), "{log}");
    assert!(!log.contains('\x1b'), "no ANSI colour codes off a terminal: {log}");
}
