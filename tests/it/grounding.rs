//! A model's answer is checked against the code before it is shown, over the CLI and LSP: a fake
//! OpenAI-compatible server streams scripted prose that invents names, cites a file that does not
//! exist and a line past the end of one, and also names real code and a name that is only a Python
//! builtin. Invented names are marked and listed; an answer made mostly of them is set aside for the
//! ranked context unless asked to show it anyway.

use crate::util::Workspace;
use crate::util::lsp::{LspClient, helix_initialize_params};
use crate::util::openai_fake::{FakeOpenAi, Reply, job_of};
use serde_json::{Value, json};

const LIB_PY: &str = "class Settings:\n    \"\"\"Holds configuration.\"\"\"\n\n    def load_settings(self, path):\n        if not path:\n            raise ValueError(\"settings path must not be empty\")\n        return {}\n";
const APP_PY: &str = "from pkg.lib import Settings\n\n\ndef main():\n    Settings().load_settings(\"app.toml\")\n";

const QUESTION: &str = "explain how configuration gets loaded for the app";

/// Mostly real: the real method, a real citation, a builtin; one invented class, one line past the
/// end of `pkg/lib.py` (7 lines).
const MOSTLY_REAL: &str = "`Settings.load_settings` (pkg/lib.py:4) raises `ValueError` on an empty path; \
`main()` in app.py calls it, and `sorted()` orders nothing here. The `ConfigLoader` class is not \
involved; see pkg/lib.py:400.";

/// Mostly invented, the way a small model writes (issue 22): classes, helpers and a file that do
/// not exist, a library the project never uses.
const MOSTLY_INVENTED: &str = "The `ConfigLoader` class reads it with `load_config_file()` from \
pkg/config.py:12, then `Settings.from_env` applies it:\n\n```python\nimport requests\nloader = \
ConfigLoader()\nloader.load(requests.get(url).text)\n```\n";

fn workspace(prose: &'static str) -> (Workspace, FakeOpenAi) {
    let fake = FakeOpenAi::start(move |request| {
        assert_eq!(job_of(request).0, "other", "only questions are asked here");
        Reply::Text(prose.into())
    });
    let ws = Workspace::with(&[("pkg/lib.py", LIB_PY), ("app.py", APP_PY)]);
    // Never idle during a test (a loaded machine can take 20 s): only the questions reach the model.
    ws.write("reverie.toml", format!("{}\n[server]\nidle_after = \"1h\"\n", fake.llm_config()));
    (ws, fake)
}

fn strings(value: &Value) -> Vec<&str> {
    value.as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect()
}

#[test]
fn a_grounded_answer_keeps_its_prose_with_invented_names_marked_and_listed() {
    let (ws, _fake) = workspace(MOSTLY_REAL);
    let answer = ws.json(&["ask", ".", QUESTION]);
    assert_eq!(answer["source"], "model", "{answer}");
    assert_eq!(answer["set_aside"], false);
    assert_eq!(strings(&answer["unverified"]), ["ConfigLoader", "pkg/lib.py:400"]);
    let text = answer["answer"].as_str().unwrap();
    assert!(text.starts_with("`Settings.load_settings` (pkg/lib.py:4) raises `ValueError` on"), "{text}");
    assert!(text.contains("The `ConfigLoader`⚠ class") && text.contains("see pkg/lib.py:400⚠."), "{text}");
    assert!(
        text.ends_with("⚠ Not found in this workspace: `ConfigLoader`, `pkg/lib.py:400` (the file has 7 lines)\n"),
        "{text}"
    );
    let found: Vec<(&str, &str)> = answer["checked"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["name"].as_str().unwrap(), c["found"].as_str().unwrap()))
        .collect();
    for expected in [
        ("Settings.load_settings", "workspace"),
        ("pkg/lib.py:4", "workspace"),
        ("ValueError", "workspace"),
        ("main", "workspace"),
        ("app.py", "workspace"),
        ("sorted", "language"),
    ] {
        assert!(found.contains(&expected), "{expected:?} in {found:?}");
    }

    // The text output shows the checked answer, then the citations.
    let out = ws.run(&["ask", ".", QUESTION]);
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("`ConfigLoader`⚠") && stdout.contains("\n[1] "), "{stdout}");
}

#[test]
fn a_mostly_invented_answer_is_set_aside_for_the_context_unless_asked_for() {
    let (ws, fake) = workspace(MOSTLY_INVENTED);
    let no_model = ws.json(&["ask", ".", QUESTION, "--no-llm"]);
    let answer = ws.json(&["ask", ".", QUESTION]);
    assert_eq!(fake.requests().len(), 1, "the model was asked once");
    assert_eq!(answer["source"], "context", "{answer}");
    assert_eq!(answer["set_aside"], true);
    assert_eq!(
        strings(&answer["unverified"]),
        [
            "ConfigLoader",
            "load_config_file",
            "pkg/config.py:12",
            "Settings.from_env",
            "requests",
            "loader.load",
            "requests.get"
        ]
    );
    let text = answer["answer"].as_str().unwrap();
    assert!(
        text.starts_with(
            "⚠ The model's answer named code that does not exist in this workspace (`ConfigLoader`, \
             `load_config_file`, `pkg/config.py:12`, `Settings.from_env`, `requests`, `loader.load`, …), so this \
             is what reverie found instead; to see it anyway, ask again with --show-unverified.\n\n1. `"
        ),
        "{text}"
    );
    assert_eq!(answer["context"][0], no_model["context"][0], "the first citation is the no-model answer's");
    assert_eq!(answer["model_answer"], MOSTLY_INVENTED, "the model's own prose is kept for measuring");
    assert!(no_model.get("model_answer").is_none(), "{no_model}");

    let shown = ws.json(&["ask", ".", QUESTION, "--show-unverified"]);
    assert_eq!(shown["source"], "model", "{shown}");
    assert_eq!(shown["set_aside"], false);
    assert_eq!(shown["unverified"], answer["unverified"]);
    let text = shown["answer"].as_str().unwrap();
    assert!(text.starts_with("The `ConfigLoader`⚠ class reads it with `load_config_file()`⚠ from"), "{text}");
    assert!(
        text.contains(
            "```\n⚠ not found in this workspace: `requests`, `ConfigLoader`, `loader.load`, `requests.get`\n"
        ),
        "the code block's names are listed after it: {text}"
    );
}

#[tokio::test]
async fn over_lsp_the_streamed_answer_ends_marked_or_set_aside() {
    let (ws, fake) = workspace(MOSTLY_REAL);
    let mut client = LspClient::spawn(&ws.cache_dir(), ws.home.path());
    client.initialize(&ws.root(), &["utf-16"], Value::Null).await;
    client.wait_for_status("ready", 1).await;
    let answer = client.result("reverie/ask", json!({"question": QUESTION, "token": "t1"})).await;
    assert_eq!(answer["source"], "model", "{answer}");
    assert_eq!(strings(&answer["unverified"]), ["ConfigLoader", "pkg/lib.py:400"]);
    assert_eq!(answer["set_aside"], false);
    let chunks = client.streamed("t1", MOSTLY_REAL.chars().count()).await;
    assert_eq!(chunks, MOSTLY_REAL, "the stream is the model's text as written");
    assert!(answer["answer"].as_str().unwrap().contains("`ConfigLoader`⚠"), "the answer as checked: {answer}");

    fake.set_responder(|_| Reply::Text(MOSTLY_INVENTED.into()));
    let set_aside = client.result("reverie/ask", json!({"question": QUESTION})).await;
    assert_eq!(set_aside["source"], "context", "{set_aside}");
    assert_eq!(set_aside["set_aside"], true);
    let text = set_aside["answer"].as_str().unwrap();
    assert!(text.contains("to see it anyway, ask again with \"showUnverified\": true"), "{text}");
    let shown = client.result("reverie/ask", json!({"question": QUESTION, "showUnverified": true})).await;
    assert_eq!(shown["source"], "model", "{shown}");
    assert_eq!(shown["set_aside"], false);
    assert!(shown["answer"].as_str().unwrap().contains("`load_config_file()`⚠"), "{shown}");
    assert_eq!(client.shutdown().await, Some(0));
}

/// Helix opens the answer as a document written once: already marked, or set aside with how to see
/// it anyway (`"showUnverified": true` in the command's argument).
#[tokio::test]
async fn helix_gets_the_answer_document_already_checked() {
    let (ws, fake) = workspace(MOSTLY_REAL);
    let mut client = LspClient::spawn(&ws.cache_dir(), ws.home.path());
    client.initialize_with(helix_initialize_params(&ws.root(), "25.07.1 (a1b2c3d4)", Value::Null)).await;
    // Helix declares no `reverie/status` notifications: the end of the indexing progress says ready.
    client.wait_for_indexed().await;
    let marked = document(&mut client, json!({"question": QUESTION})).await;
    assert!(marked.contains("The `ConfigLoader`⚠ class is not involved; see "), "{marked}");
    assert!(marked.contains("pkg/lib.py:400⚠."), "a line past the end is marked and not a link: {marked}");
    assert!(marked.contains("⚠ Not found in this workspace: `ConfigLoader`, `pkg/lib.py:400`"), "{marked}");
    fake.set_responder(|_| Reply::Text(MOSTLY_INVENTED.into()));
    let set_aside = document(&mut client, json!({"question": QUESTION})).await;
    assert!(set_aside.contains("⚠ The model's answer named code that does not exist in this workspace"), "{set_aside}");
    let shown = document(&mut client, json!({"question": QUESTION, "showUnverified": true})).await;
    assert!(shown.contains("The `ConfigLoader`⚠ class reads it with `load_config_file()`⚠"), "{shown}");
    assert_eq!(client.shutdown().await, Some(0));
}

/// Runs `reverie.ask` with `argument` as Helix does and reads the document it is asked to open.
async fn document(client: &mut LspClient, argument: Value) -> String {
    client.received.clear();
    client.result("workspace/executeCommand", json!({"command": "reverie.ask", "arguments": [argument]})).await;
    let shown = client.wait_for(|m| m["method"] == "window/showDocument").await;
    let path = shown["params"]["uri"].as_str().unwrap().strip_prefix("file://").unwrap().to_string();
    std::fs::read_to_string(path).unwrap()
}
