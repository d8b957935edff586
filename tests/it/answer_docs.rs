//! Answer documents and other documents from outside the workspace, as an editor meets them: Helix
//! (its exact `initialize` params) opens the answer reverie shows and sends `didOpen` for it; a user
//! opens a file of another project by hand. Neither is ever indexed, counted or cited, hover inside
//! them still works, and every citation — in the answer document and in hover's reference list — is
//! a link whose label and target name the real file and line.

use crate::util::Workspace;
use crate::util::lsp::{LspClient, file_uri, helix_initialize_params};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

const ROUTER_GO: &str = "package router\n\nimport \"errors\"\n\nfunc RegisterRoute(path string) error {\n\tif path == \"\" {\n\t\treturn errors.New(\"empty route path\")\n\t}\n\treturn nil\n}\n";
const MAIN_GO: &str = "package main\n\nfunc main() {\n\trouter.RegisterRoute(\"/\")\n}\n";

/// Every markdown link in `text`: (label, target).
fn links(text: &str) -> Vec<(String, String)> {
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find("](") {
        let label_start = rest[..open].rfind('[').map_or(0, |i| i + 1);
        let label = rest[label_start..open].replace('\\', "");
        let after = &rest[open + 2..];
        let close = after.find(')').unwrap_or(after.len());
        found.push((label, after[..close].trim_matches(['<', '>']).to_string()));
        rest = &after[close..];
    }
    found
}

/// Checks that a citation link opens what it says: the label is `/absolute/path:line`; the target is
/// the same file with a `#Lline` anchor — a `file://` URI (hover), or a path relative to `folder`, the
/// folder of the document the link is in (an answer document); the line is in the file. Returns the
/// path and line.
fn assert_opens(label: &str, target: &str, folder: Option<&Path>) -> (PathBuf, usize) {
    let (path, lines) = label.rsplit_once(':').unwrap_or_else(|| panic!("no line in the label {label}"));
    let line: usize = lines.split('-').next().unwrap().parse().unwrap_or_else(|_| panic!("{label}"));
    let path = PathBuf::from(path);
    assert!(path.is_absolute() && path.is_file(), "the label names a real file: {label}");
    let (destination, anchor) = target.split_once('#').unwrap_or_else(|| panic!("no line anchor in {target}"));
    assert_eq!(anchor, format!("L{line}"), "{target}");
    match folder {
        None => assert_eq!(destination, file_uri(&path), "the target is the label's file: {label} {target}"),
        Some(folder) => {
            assert!(!destination.contains(':') && !destination.starts_with('/'), "relative: {target}");
            let resolved = folder.join(destination.replace("%20", " ")).canonicalize().unwrap();
            assert_eq!(resolved, path.canonicalize().unwrap(), "the target is the label's file: {label} {target}");
        }
    }
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(line >= 1 && line <= text.lines().count(), "line {line} is in {}", path.display());
    (path, line)
}

/// Hover on `RegisterRoute` in go/router.go (open in the editor, as hover needs).
async fn hover_register_route(client: &mut LspClient, ws: &Workspace) -> String {
    let router = ws.path("go/router.go");
    client.open(&router, "go", ROUTER_GO).await;
    hover_card(client, &router, 4, 8).await
}

async fn hover_card(client: &mut LspClient, path: &Path, line: u32, character: u32) -> String {
    let hover = client.hover(path, line, character).await;
    hover["contents"]["value"].as_str().unwrap_or_default().to_string()
}

/// Helix: ask → `window/showDocument` → `didOpen` of that document (as Helix sends it, language
/// `markdown`) → the answer is not a file of the workspace: hover lists no answer, the status counts
/// the same files, the next answer cites no answer; every link opens the real file and line.
#[tokio::test]
async fn an_answer_helix_opens_stays_out_of_the_workspace() {
    let ws = Workspace::with(&[("go/router.go", ROUTER_GO), ("go/main.go", MAIN_GO)]);
    let mut client = LspClient::spawn(&ws.cache_dir(), ws.home.path());
    client.initialize_with(helix_initialize_params(&ws.root(), "25.07.1 (a1b2c3d4)", Value::Null)).await;
    client.wait_for_indexed().await;
    let before = client.result("reverie/status", Value::Null).await;
    assert_eq!(before["files"], 2, "{before}");

    let question = "where is the error 'empty route path' raised?";
    client
        .result("workspace/executeCommand", json!({"command": "reverie.ask", "arguments": [{"question": question}]}))
        .await;
    let shown = client.wait_for(|m| m["method"] == "window/showDocument").await;
    let uri = shown["params"]["uri"].as_str().unwrap().to_string();
    let document = PathBuf::from(uri.strip_prefix("file://").unwrap());
    let markdown = std::fs::read_to_string(&document).unwrap();
    // Every citation is a link that opens the real file at the line: the error site is line 7.
    let cited = links(&markdown);
    assert!(!cited.is_empty(), "{markdown}");
    let folder = document.parent().unwrap();
    let opened: Vec<(PathBuf, usize)> =
        cited.iter().map(|(label, target)| assert_opens(label, target, Some(folder))).collect();
    assert!(opened.contains(&(ws.root().join("go/router.go"), 7)), "{markdown}");
    assert!(!markdown.contains("`go/router.go:"), "no citation left relative: {markdown}");

    // Helix opens the document it was shown, then the user opens main.go (which changes the snapshot,
    // so the status moves past both opens).
    client
        .notify(
            "textDocument/didOpen",
            json!({"textDocument": {"uri": uri, "languageId": "markdown", "version": 0, "text": markdown}}),
        )
        .await;
    let main = ws.path("go/main.go");
    client.open(&main, "go", MAIN_GO).await;
    let generation = before["generation"].as_u64().unwrap();
    let after = client.poll_status(|s| s["generation"].as_u64().unwrap_or(0) > generation).await;
    assert_eq!(after["files"], 2, "the answer is not counted: {after}");

    // Hover on RegisterRoute (router.go line 5): main.go is its one caller; no answer is listed.
    let card = hover_register_route(&mut client, &ws).await;
    assert!(card.contains("1 reference in 1 file:"), "{card}");
    assert!(!card.contains("answer-") && !card.contains("%3A"), "{card}");
    // Its links — the definition site, then the caller — open the real files at their lines.
    let opened: Vec<(PathBuf, usize)> =
        links(&card).iter().map(|(label, target)| assert_opens(label, target, None)).collect();
    assert_eq!(opened, [(ws.root().join("go/router.go"), 5), (main.clone(), 4)], "{card}");

    // A code action on the citation's line opens the cited line (Helix's `gf` opens the file at its
    // first line): reverie.open shows router.go with the cursor on line 7.
    let row = markdown.lines().position(|l| l.contains("/go/router.go:7]")).expect("the error site is cited") as u32;
    let at = json!({"line": row, "character": 4});
    let actions = client
        .result(
            "textDocument/codeAction",
            json!({"textDocument": {"uri": uri}, "range": {"start": at, "end": at}, "context": {"diagnostics": []}}),
        )
        .await;
    let open = actions
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["title"] == "reverie: Open go/router.go:7")
        .unwrap_or_else(|| panic!("no Open action: {actions}"));
    let command = json!({"command": open["command"]["command"], "arguments": open["command"]["arguments"]});
    client.result("workspace/executeCommand", command).await;
    let shown = client
        .wait_for(|m| m["method"] == "window/showDocument" && m["params"]["uri"] == file_uri(&ws.path("go/router.go")))
        .await;
    assert_eq!(shown["params"]["selection"]["start"], json!({"line": 6, "character": 0}), "{shown}");
    // A place that is not a file is refused, saying so.
    let gone = json!({"command": "reverie.open", "arguments": [{"uri": file_uri(&ws.path("go/gone.go")), "line": 3}]});
    let refused = client.request("workspace/executeCommand", gone).await;
    assert_eq!(refused["error"]["code"], -32602, "{refused}");
    client.wait_for_message("go/gone.go is not a file").await;

    // Hover inside the answer document still works (the card of what is under the cursor, or none).
    let (line, character) = markdown
        .lines()
        .enumerate()
        .find_map(|(i, l)| l.find("RegisterRoute").map(|c| (i as u32, c as u32 + 2)))
        .expect("the answer names RegisterRoute");
    let hover = client
        .request(
            "textDocument/hover",
            json!({"textDocument": {"uri": uri}, "position": {"line": line, "character": character}}),
        )
        .await;
    assert!(hover.get("error").is_none(), "{hover}");
    if !hover["result"].is_null() {
        let card = hover["result"]["contents"]["value"].as_str().unwrap();
        assert!(!card.contains("answer-"), "{card}");
    }

    // The next question, asked from inside the answer document, cites workspace files only.
    let position = json!({"line": line, "character": character});
    let ask = json!({"question": "Explain RegisterRoute", "textDocument": {"uri": uri}, "position": position});
    let answer = client.result("reverie/ask", ask).await;
    for item in answer["context"].as_array().unwrap() {
        let path = item["path"].as_str().unwrap();
        assert!(path.starts_with("go/"), "only workspace files are cited: {path}");
    }
    // The user edits the answer document (Helix sends the change) and asks again by command: the
    // new document cites and links workspace files only, and the file count has not moved.
    client
        .notify(
            "textDocument/didChange",
            json!({"textDocument": {"uri": uri, "version": 1}, "contentChanges": [{"text": format!("{markdown}\nRegisterRoute(\"/again\")\n")}]}),
        )
        .await;
    client
        .result(
            "workspace/executeCommand",
            json!({"command": "reverie.ask", "arguments": [{"question": "Explain RegisterRoute"}]}),
        )
        .await;
    let second = client
        .wait_for(|m| {
            m["method"] == "window/showDocument"
                && m["params"]["uri"] != uri.as_str()
                && m["params"]["uri"].as_str().is_some_and(|u| u.contains("/answers/"))
        })
        .await;
    let second = PathBuf::from(second["params"]["uri"].as_str().unwrap().strip_prefix("file://").unwrap());
    let markdown = std::fs::read_to_string(&second).unwrap();
    assert!(!markdown.contains("answer-") && !links(&markdown).is_empty(), "{markdown}");
    for (label, target) in links(&markdown) {
        assert_opens(&label, &target, second.parent());
    }
    assert_eq!(client.result("reverie/status", Value::Null).await["files"], 2);
    assert!(!client.received.iter().any(|m| m["method"] == "reverie/status"), "Helix gets no reverie/status");
    assert_eq!(client.shutdown().await, Some(0));
}

/// A file of another project, opened by hand in Helix (its exact `initialize` params), edited, saved
/// (and reported by Helix's file watcher) and closed, is never indexed; hover in it works and lists only the workspace's callers; an
/// ignored file inside the workspace is left out the same way.
#[tokio::test]
async fn a_document_outside_the_workspace_is_never_indexed() {
    let ws = Workspace::with(&[("go/router.go", ROUTER_GO), ("go/main.go", MAIN_GO), (".gitignore", "gen/\n")]);
    let elsewhere = tempfile::tempdir().unwrap();
    let other = elsewhere.path().join("other.go");
    let other_text = "package other\n\nfunc Other() {\n\trouter.RegisterRoute(\"/x\")\n}\n";
    std::fs::write(&other, other_text).unwrap();
    let script = elsewhere.path().join("tool.py");
    let script_text = "def register_route(path):\n    return RegisterRoute(path)\n";
    std::fs::write(&script, script_text).unwrap();
    let ignored = ws.path("gen/gen.go");
    let ignored_text = "package gen\n\nfunc Gen() {\n\trouter.RegisterRoute(\"/gen\")\n}\n";
    ws.write("gen/gen.go", ignored_text);

    let mut client = LspClient::spawn(&ws.cache_dir(), ws.home.path());
    client.initialize_with(helix_initialize_params(&ws.root(), "25.07.1 (a1b2c3d4)", Value::Null)).await;
    client.wait_for_indexed().await;
    let before = client.result("reverie/status", Value::Null).await;
    assert_eq!(before["files"], 2, "{before}");
    client.open(&other, "go", other_text).await;
    client.open(&script, "python", script_text).await;
    client.open(&ignored, "go", ignored_text).await;
    let edited = format!("{other_text}\nfunc More() {{ router.RegisterRoute(\"/y\") }}\n");
    client
        .notify(
            "textDocument/didChange",
            json!({"textDocument": {"uri": file_uri(&other), "version": 2}, "contentChanges": [{"text": edited}]}),
        )
        .await;
    std::fs::write(&other, &edited).unwrap();
    client.notify("textDocument/didSave", json!({"textDocument": {"uri": file_uri(&other)}})).await;
    client.notify("textDocument/didClose", json!({"textDocument": {"uri": file_uri(&script)}})).await;
    // Helix's file watcher reports what it saved, wherever it lies: the outside file, an answer.
    let answer = ws.cache_dir().join("answers/answer-9.md");
    std::fs::create_dir_all(answer.parent().unwrap()).unwrap();
    std::fs::write(&answer, "# q\n\n`RegisterRoute` is called from go/main.go:4.\n").unwrap();
    let changes = json!([{"uri": file_uri(&other), "type": 2}, {"uri": file_uri(&answer), "type": 1}, {"uri": file_uri(&script), "type": 2}]);
    client.notify("workspace/didChangeWatchedFiles", json!({"changes": changes})).await;
    // A workspace file opened after them moves the status past all of them.
    let generation = before["generation"].as_u64().unwrap();
    client.open(&ws.path("go/main.go"), "go", MAIN_GO).await;
    let status = client.poll_status(|s| s["generation"].as_u64().unwrap_or(0) > generation).await;
    assert_eq!(status["files"], 2, "{status}");

    let card = hover_register_route(&mut client, &ws).await;
    assert!(card.contains("1 reference in 1 file:"), "{card}");
    assert!(!card.contains("other.go") && !card.contains("gen.go") && !card.contains("tool.py"), "{card}");
    // Hover inside the outside file: the workspace's RegisterRoute, with the workspace's caller.
    let card = hover_card(&mut client, &other, 3, 10).await;
    assert!(card.contains("func RegisterRoute(path string) error"), "{card}");
    assert!(card.contains("1 reference in 1 file:") && !card.contains("other.go"), "{card}");
    let opened: Vec<(PathBuf, usize)> =
        links(&card).iter().map(|(label, target)| assert_opens(label, target, None)).collect();
    assert_eq!(opened, [(ws.root().join("go/router.go"), 5), (ws.path("go/main.go"), 4)], "{card}");
    // A code action inside it still offers reverie's questions, and asking one cites the workspace only.
    let range = json!({"start": {"line": 3, "character": 10}, "end": {"line": 3, "character": 10}});
    let actions = client
        .result(
            "textDocument/codeAction",
            json!({"textDocument": {"uri": file_uri(&other)}, "range": range, "context": {"diagnostics": []}}),
        )
        .await;
    assert!(actions.as_array().is_some_and(|a| !a.is_empty()), "{actions}");
    let answer = client.result("reverie/ask", json!({"question": "what calls RegisterRoute?"})).await;
    let paths: Vec<&str> = answer["context"].as_array().unwrap().iter().map(|i| i["path"].as_str().unwrap()).collect();
    assert!(paths.iter().all(|p| p.starts_with("go/")), "{paths:?}");
    assert_eq!(client.result("reverie/status", Value::Null).await["files"], 2);
    assert!(
        !client.received.iter().any(|m| m["method"] == "reverie/status"),
        "Helix declares no reverie/status notifications and gets none"
    );
    assert_eq!(client.shutdown().await, Some(0));
}

/// reverie's cache inside the workspace (`REVERIE_CACHE_DIR` in it, not hidden): the answer documents
/// written there are seen by the watcher and the walk, and left out by both.
#[tokio::test]
async fn answers_in_a_cache_inside_the_workspace_are_not_indexed() {
    let ws = Workspace::with(&[("go/router.go", ROUTER_GO), ("go/main.go", MAIN_GO)]);
    let mut client = LspClient::spawn(&ws.path("reverie-cache"), ws.home.path());
    client.initialize(&ws.root(), &["utf-16"], Value::Null).await;
    client.wait_for_status("ready", 1).await;
    let question = "where is the error 'empty route path' raised?";
    client
        .result("workspace/executeCommand", json!({"command": "reverie.ask", "arguments": [{"question": question}]}))
        .await;
    let shown = client.wait_for(|m| m["method"] == "window/showDocument").await;
    let document = PathBuf::from(shown["params"]["uri"].as_str().unwrap().strip_prefix("file://").unwrap());
    assert!(document.starts_with(ws.path("reverie-cache")), "{}", document.display());
    // A new workspace file after the answer: the watcher reports both; only the new file counts.
    let generation = client.generation();
    ws.write("go/extra.go", "package router\n\nfunc Extra() {\n\tRegisterRoute(\"/extra\")\n}\n");
    let status = client
        .wait_for(|m| {
            m["method"] == "reverie/status"
                && m["params"]["generation"].as_u64().unwrap_or(0) > generation
                && m["params"]["files"] == 3
        })
        .await;
    assert_eq!(status["params"]["files"], 3, "{status}");
    let card = hover_register_route(&mut client, &ws).await;
    assert!(card.contains("2 references in 2 files:") && !card.contains("answer-"), "{card}");
    client.result("workspace/executeCommand", json!({"command": "reverie.reindex"})).await;
    let (_, done) = client.wait_for_message("reverie: indexed").await;
    assert!(done.starts_with("reverie: indexed 3 files from scratch"), "the walk leaves the cache out: {done}");
    assert_eq!(client.shutdown().await, Some(0));
}

/// The same with the workspace opened through a symbolic link and the cache named by its real path
/// (the server resolves the roots, so the walk meets the cache by the path it excludes).
#[cfg(unix)]
#[tokio::test]
async fn a_cache_inside_a_workspace_opened_through_a_link_is_not_indexed() {
    let ws = Workspace::with(&[("go/router.go", ROUTER_GO), ("go/main.go", MAIN_GO)]);
    let link = ws.home.path().join("linked-ws");
    std::os::unix::fs::symlink(ws.root(), &link).unwrap();
    let mut client = LspClient::spawn(&ws.path("reverie-cache"), ws.home.path());
    client.initialize(&link, &["utf-16"], Value::Null).await;
    client.wait_for_status("ready", 1).await;
    let question = "where is the error 'empty route path' raised?";
    client
        .result("workspace/executeCommand", json!({"command": "reverie.ask", "arguments": [{"question": question}]}))
        .await;
    client.wait_for(|m| m["method"] == "window/showDocument").await;
    client.result("workspace/executeCommand", json!({"command": "reverie.reindex"})).await;
    let (_, done) = client.wait_for_message("reverie: indexed").await;
    assert!(done.starts_with("reverie: indexed 2 files from scratch"), "the walk leaves the cache out: {done}");
    assert!(done.ends_with(", 0 skipped)"), "nor lists its stores as skipped: {done}");
    assert_eq!(client.shutdown().await, Some(0));
}

/// With no workspace folder, the open files are all the server knows: they count, but reverie's own
/// answer documents still do not.
#[tokio::test]
async fn with_no_workspace_folder_open_files_count_but_answers_do_not() {
    let ws = Workspace::with(&[("go/router.go", ROUTER_GO), ("go/main.go", MAIN_GO)]);
    let mut client = LspClient::spawn(&ws.cache_dir(), ws.home.path());
    let params = json!({"processId": null, "rootUri": null, "capabilities": {}});
    client.initialize_with(crate::util::lsp::with_status_notifications(params)).await;
    client.wait_for_status("ready", 0).await;
    let answer = ws.cache_dir().join("answers/answer-1.md");
    std::fs::create_dir_all(answer.parent().unwrap()).unwrap();
    std::fs::write(&answer, "# q\n\n`RegisterRoute` is called from go/main.go:4.\n").unwrap();
    client.open(&answer, "markdown", "# q\n\n`RegisterRoute` is called from go/main.go:4.\n").await;
    client.open(&ws.path("go/router.go"), "go", ROUTER_GO).await;
    client.open(&ws.path("go/main.go"), "go", MAIN_GO).await;
    // Once hover knows main.go's call (opened last), the answer opened before it was handled too.
    let started = std::time::Instant::now();
    let card = loop {
        let card = hover_card(&mut client, &ws.path("go/router.go"), 4, 8).await;
        if card.contains("/go/main.go:4]") {
            break card;
        }
        assert!(started.elapsed() < crate::util::lsp::TIMEOUT, "main.go's call never showed: {card}");
        tokio::task::yield_now().await;
    };
    assert!(card.contains("1 reference in 1 file:") && !card.contains("answer-"), "{card}");
    let status = client.result("reverie/status", Value::Null).await;
    assert_eq!(status["files"], 2, "the two Go files, not the answer: {status}");
    // A key that is a URI links to its own file, never joined to a root.
    let opened: Vec<(PathBuf, usize)> =
        links(&card).iter().map(|(label, target)| assert_opens(label, target, None)).collect();
    assert!(opened.contains(&(ws.path("go/main.go"), 4)), "{card}");
    assert_eq!(client.shutdown().await, Some(0));
}
