//! Helix as the server sees it. No registry ships Helix, so these tests speak its wire format: the
//! exact `initialize` params helix-lsp sends (`crate::util::lsp::helix_initialize_params`, from
//! `Client::initialize` in helix-lsp/src/client.rs, with `[language-server.reverie.config]` from
//! editors/helix/languages.toml as initializationOptions), then what a Helix user does — hover, a
//! code action, `:lsp-workspace-command` with and without its argument — and checks what Helix
//! receives: documents it opens, messages it shows in the status line, progress it draws.

use crate::util::Workspace;
use crate::util::lsp::{LspClient, file_uri, helix_initialize_params};
use serde_json::{Value, json};

const ROUTER_GO: &str = "package router\n\nimport \"errors\"\n\nfunc RegisterRoute(path string) error {\n\tif path == \"\" {\n\t\treturn errors.New(\"empty route path\")\n\t}\n\treturn nil\n}\n";
const MAIN_GO: &str = "package main\n\nfunc main() {\n\trouter.RegisterRoute(\"/\")\n}\n";

/// `[language-server.reverie.config]` of editors/helix/languages.toml, as Helix sends it.
fn helix_config() -> Value {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/editors/helix/languages.toml")).unwrap();
    let config: toml::Table = text.parse().unwrap();
    serde_json::to_value(config["language-server"]["reverie"]["config"].clone()).unwrap()
}

async fn helix(ws: &Workspace, version: &str) -> (LspClient, Value) {
    let mut client = LspClient::spawn(&ws.cache_dir(), ws.home.path());
    let init = client.initialize_with(helix_initialize_params(&ws.root(), version, helix_config())).await;
    // Helix gets no reverie/status notifications (it would log each as unhandled): the end of the
    // indexing progress says the server is ready.
    client.wait_for_indexed().await;
    (client, init)
}

#[tokio::test]
async fn helix_gets_documents_messages_and_progress() {
    let ws = Workspace::with(&[("go/router.go", ROUTER_GO), ("go/main.go", MAIN_GO)]);
    let (mut client, init) = helix(&ws, "25.07.1 (a1b2c3d4)").await;
    assert_eq!(init["capabilities"]["positionEncoding"], "utf-8", "Helix offers UTF-8 first");
    // Indexing progress: Helix advertises workDoneProgress and draws it in the status line.
    assert!(client.received.iter().any(|m| m["method"] == "window/workDoneProgress/create"));
    // Helix shows a progress after the server's name ("reverie: indexing ⋅ 2/2 files"): the title is
    // not prefixed again.
    client.wait_for(|m| m["method"] == "$/progress" && m["params"]["value"]["title"] == "indexing").await;

    // Hover on `RegisterRoute` in main.go: markdown, reverie's, with the caller by name.
    let main = ws.path("go/main.go");
    client.open(&main, "go", MAIN_GO).await;
    let hover = client.hover(&main, 3, 10).await;
    let card = hover["contents"]["value"].as_str().unwrap_or_default();
    assert_eq!(hover["contents"]["kind"], "markdown");
    assert!(card.starts_with("**reverie**") && card.contains("func RegisterRoute(path string) error"), "{card}");
    let main_link = format!("- `main` — [{}:4]({}#L4)", main.display(), file_uri(&main));
    assert!(card.contains(&main_link), "{main_link} in {card}");

    // A code action runs reverie.ask through workspace/executeCommand; Helix 25.07 opens the answer.
    let actions = client
        .result(
            "textDocument/codeAction",
            json!({"textDocument": {"uri": file_uri(&main)}, "range": {"start": {"line": 3, "character": 10}, "end": {"line": 3, "character": 10}}, "context": {"diagnostics": []}}),
        )
        .await;
    let debug =
        actions.as_array().unwrap().iter().find(|a| a["title"] == "reverie: How to debug RegisterRoute").unwrap();
    let command = &debug["command"];
    client
        .result("workspace/executeCommand", json!({"command": command["command"], "arguments": command["arguments"]}))
        .await;
    let shown = client.wait_for(|m| m["method"] == "window/showDocument").await;
    let path = shown["params"]["uri"].as_str().unwrap().strip_prefix("file://").unwrap().to_string();
    let markdown = std::fs::read_to_string(path).unwrap();
    assert!(markdown.starts_with("# How do I debug `RegisterRoute`?"), "{markdown}");
    assert!(markdown.contains("go/router.go"), "{markdown}");

    // `:lsp-workspace-command reverie.ask` with no argument, and with a wrong one: shown in the status line.
    for params in [json!({"command": "reverie.ask"}), json!({"command": "reverie.ask", "arguments": [{"q": "why?"}]})] {
        client.received.clear();
        let response = client.request("workspace/executeCommand", params.clone()).await;
        assert_eq!(response["error"]["code"], -32602, "{response}");
        let (kind, message) = client.wait_for_message("reverie.ask").await;
        assert_eq!(kind, 1, "an error message: {message}");
        assert!(message.contains(r#"reverie.ask {"question": "#), "{params}: {message}");
    }

    // The error-site question, asked by command: its document quotes the real line.
    client
        .result(
            "workspace/executeCommand",
            json!({"command": "reverie.ask", "arguments": [{"question": "where is the error 'empty route path' raised?"}]}),
        )
        .await;
    let answer =
        client.result("reverie/ask", json!({"question": "where is the error 'empty route path' raised?"})).await;
    assert_eq!(answer["context"][0]["text"], "return errors.New(\"empty route path\")", "{answer}");

    // reverie.think with no model: how to set one in Helix, first and on one line (Helix shows a
    // message as one status line, cut at the terminal's width).
    client.result("workspace/executeCommand", json!({"command": "reverie.think"})).await;
    let (_, message) = client.wait_for_message("[language-server.reverie.config]").await;
    assert!(message.contains(":lsp-restart"), "{message}");
    assert!(!message.contains('\n'), "one line: {message}");
    let at = message.find("[language-server.reverie.config]").unwrap();
    assert!(at < 100, "Helix's own way comes first: {message}");
    assert!(
        !client.received.iter().any(|m| m["method"] == "reverie/status"),
        "Helix handles no reverie/status notification"
    );
    // No progress Helix drew names reverie a second time.
    for begun in
        client.received.iter().filter(|m| m["method"] == "$/progress" && m["params"]["value"]["kind"] == "begin")
    {
        let title = begun["params"]["value"]["title"].as_str().unwrap();
        assert!(!title.contains("reverie"), "Helix shows `reverie: {title}`");
    }
    assert_eq!(client.shutdown().await, Some(0));
}

/// Helix before 24.03 cannot open documents: the answer is one status line, citations first.
#[tokio::test]
async fn older_helix_gets_one_line_with_the_citations_first() {
    let ws = Workspace::with(&[("go/router.go", ROUTER_GO), ("go/main.go", MAIN_GO)]);
    let (mut client, _) = helix(&ws, "23.10 (035a3d9a)").await;
    client
        .result(
            "workspace/executeCommand",
            json!({"command": "reverie.ask", "arguments": [{"question": "where is the error 'empty route path' raised?"}]}),
        )
        .await;
    let (kind, message) = client.wait_for_message("go/router.go:7").await;
    assert_eq!(kind, 3);
    assert!(
        message.starts_with("reverie: go/router.go:7 RegisterRoute — return errors.New(\"empty route path\")"),
        "the place, the function and the real line: {message}"
    );
    assert!(!message.contains('\n'), "{message}");
    assert!(message.contains("full answer: "), "{message}");
    assert!(!client.received.iter().any(|m| m["method"] == "window/showDocument"));
    assert_eq!(client.shutdown().await, Some(0));
}
