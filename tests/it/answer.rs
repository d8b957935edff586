//! Answering end to end through `reverie ask` and `reverie/ask`, against a fake OpenAI-compatible
//! server: anticipated answers cost zero tokens and are never served stale, structural questions are
//! answered from facts, the model sees the learned context first, conversations carry over, and
//! answers stream.

use crate::util::Workspace;
use crate::util::lsp::LspClient;
use crate::util::openai_fake::{FakeOpenAi, Reply, job_of, prompt_of, valid_note};
use serde_json::{Value, json};

const LIB_PY: &str = "class Settings:\n    \"\"\"Holds configuration.\"\"\"\n\n    def load_settings(self, path):\n        if not path:\n            raise ValueError(\"settings path must not be empty\")\n        return {}\n";
const APP_PY: &str = "from pkg.lib import Settings\n\n\ndef main():\n    Settings().load_settings(\"app.toml\")\n";

/// A workspace whose notes were written by a pass of `think` against the fake.
fn thought() -> (Workspace, FakeOpenAi) {
    let fake = FakeOpenAi::start(|request| {
        if job_of(request).0 == "other" {
            Reply::Text("The model's answer, citing pkg/lib.py:4.".into())
        } else {
            Reply::Text(valid_note(request))
        }
    });
    let ws = Workspace::with(&[("pkg/lib.py", LIB_PY), ("app.py", APP_PY)]);
    ws.write("reverie.toml", fake.llm_config());
    let result = ws.json(&["think", "."]);
    assert_eq!(result["notes"]["fresh"], 9, "{result}");
    (ws, fake)
}

fn ask(ws: &Workspace, question: &str, extra: &[&str]) -> Value {
    let mut args = vec!["ask", ".", question];
    args.extend(extra);
    ws.json(&args)
}

/// "What calls X" lists the project's own callers first, then tests, then docs and changelogs, so
/// the answer's 25 lines are not spent on mentions that sort first by path (`CHANGES.rst`, `docs/`).
#[test]
fn callers_come_before_tests_and_docs_that_mention_the_name() {
    let ws = Workspace::with(&[
        ("CHANGES.rst", "Changes\n=======\n\nVersion 2\n---------\n\n- ``load_settings`` reads TOML.\n"),
        ("docs/guide.md", "# Guide\n\nCall `load_settings` first.\n"),
        ("pkg/lib.py", LIB_PY),
        (
            "tests/test_lib.py",
            "from pkg.lib import Settings\n\n\ndef test_load():\n    Settings().load_settings(\"x\")\n",
        ),
        ("zzz_app.py", APP_PY),
    ]);
    let answer = ask(&ws, "what calls load_settings?", &["--no-llm"]);
    assert_eq!(answer["source"], "facts", "{answer}");
    let paths: Vec<&str> = answer["context"].as_array().unwrap().iter().map(|c| c["path"].as_str().unwrap()).collect();
    assert_eq!(paths.first(), Some(&"zzz_app.py"), "the project's own caller first: {paths:?}");
    let position = |path: &str| paths.iter().position(|p| *p == path);
    assert!(position("tests/test_lib.py").is_some(), "{paths:?}");
    for doc in ["CHANGES.rst", "docs/guide.md"] {
        if let Some(at) = position(doc) {
            assert!(at > position("tests/test_lib.py").unwrap(), "docs after tests and code: {paths:?}");
        }
    }
}

#[test]
fn an_anticipated_question_is_answered_with_zero_tokens_and_never_served_stale() {
    let (ws, fake) = thought();
    let before = fake.requests().len();
    // The fake's anticipated question for pkg/lib.py is "What does Settings do?".
    let answer = ask(&ws, "what does Settings do", &[]);
    assert_eq!(answer["source"], "anticipated", "{answer}");
    assert_eq!(answer["usage"]["llm_calls"], 0);
    assert_eq!(answer["usage"]["test_prompt_tokens"], 0);
    assert_eq!(answer["context"][0]["path"], "pkg/lib.py");
    assert_eq!(fake.requests().len(), before, "no model call");
    assert!(answer["latency_ms"].as_f64().unwrap() < 1000.0);

    // The file changes: its anticipated answer is stale and must not be served as fresh.
    ws.write("pkg/lib.py", LIB_PY.replace("return {}", "return {\"changed\": True}"));
    let answer = ask(&ws, "what does Settings do", &["--no-llm"]);
    assert_ne!(answer["source"], "anticipated", "{answer}");
    let text = answer["answer"].as_str().unwrap();
    if text.contains("learned") {
        assert!(text.contains("stale"), "learned context from before the edit is marked stale: {text}");
    }
}

/// Notes whose named symbols do not exist (what a small model writes when it guesses) are no
/// evidence: their anticipated answers are not served for zero tokens and their passages stay out
/// of the context.
#[test]
fn notes_naming_symbols_that_do_not_exist_are_not_trusted() {
    let fake = FakeOpenAi::start(|request| {
        let (kind, subject) = job_of(request);
        let invented = "frobnicate_widget";
        let body = match kind.as_str() {
            "summary" => {
                json!({"purpose": format!("Purpose of {subject}"), "key_symbols": [{"name": invented, "role": "r"}, {"name": "WidgetPool", "role": "r"}], "invariants": [], "used_by": "callers"})
            }
            "questions" => {
                json!({"questions": [{"question": "What does Settings do?", "answer": "It frobnicates widgets.", "symbols": [invented, "WidgetPool"]}]})
            }
            "playbook" => {
                json!({"failure_modes": [{"symptom": "it fails", "cause": "bad input", "where": invented}], "breakpoints": [invented], "tests": []})
            }
            _ => serde_json::from_str(&valid_note(request)).unwrap(),
        };
        Reply::Text(body.to_string())
    });
    let ws = Workspace::with(&[("pkg/lib.py", LIB_PY), ("app.py", APP_PY)]);
    ws.write("reverie.toml", fake.llm_config());
    let result = ws.json(&["think", "."]);
    assert_eq!(result["notes"]["fresh"], 9, "{result}");
    let answer = ask(&ws, "what does Settings do", &["--no-llm"]);
    assert_ne!(answer["source"], "anticipated", "an ungrounded note does not answer directly: {answer}");
    let reasons: Vec<&str> =
        answer["context"].as_array().unwrap().iter().filter_map(|c| c["reason"].as_str()).collect();
    assert!(
        !reasons.iter().any(|r| r.contains("anticipated question") || r.contains("learned summary")),
        "ungrounded file notes are not in the context: {reasons:?}"
    );
    assert_eq!(answer["context"][0]["path"], "pkg/lib.py", "the facts still answer: {answer}");
}

#[test]
fn structural_questions_are_answered_from_facts() {
    let (ws, fake) = thought();
    let before = fake.requests().len();
    let answer = ask(&ws, "where is load_settings used?", &[]);
    assert_eq!(answer["source"], "facts", "{answer}");
    assert_eq!(answer["context"][0]["path"], "app.py");
    assert_eq!(answer["context"][0]["start_line"], 5);
    let answer = ask(&ws, "where is the error \"settings path must not be empty\" raised?", &[]);
    assert_eq!(answer["source"], "facts", "{answer}");
    assert_eq!(
        (answer["context"][0]["path"].as_str().unwrap(), answer["context"][0]["start_line"].as_u64().unwrap()),
        ("pkg/lib.py", 6)
    );
    assert_eq!(fake.requests().len(), before);
}

#[test]
fn the_model_gets_the_learned_context_first_and_conversations_carry_over() {
    let (ws, fake) = thought();
    let before = fake.requests().len();
    let answer = ask(&ws, "explain how configuration gets loaded for the app", &["--conversation", "c1"]);
    assert_eq!(answer["source"], "model", "{answer}");
    assert_eq!(answer["answer"], "The model's answer, citing pkg/lib.py:4.");
    assert_eq!(answer["usage"]["llm_calls"], 1);
    assert!(answer["usage"]["test_prompt_tokens"].as_u64().unwrap() > 0);
    let request = &fake.requests()[before];
    assert_eq!(request["stream"], true, "answers stream");
    let prompt = prompt_of(request);
    assert!(prompt.starts_with("Context, most relevant first:"), "{prompt}");
    assert!(prompt.contains("(learned note)\nPurpose of"), "learned summaries are in the context: {prompt}");
    assert!(prompt.contains("(learned note)\nQ: "), "anticipated questions are in the context: {prompt}");
    assert!(prompt.ends_with("Question: explain how configuration gets loaded for the app"), "{prompt}");

    // A follow-up in the same conversation sees the first exchange.
    ask(&ws, "and who calls it?", &["--conversation", "c1"]);
    let follow_up = &fake.requests()[before + 1];
    let messages = follow_up["messages"].as_array().unwrap();
    let text: Vec<&str> = messages.iter().filter_map(|m| m["content"].as_str()).collect();
    assert!(text.iter().any(|t| t.contains("explain how configuration gets loaded")), "{messages:?}");
    assert!(text.iter().any(|t| t.contains("The model's answer, citing pkg/lib.py:4.")), "{messages:?}");
    assert_eq!(messages.last().unwrap()["content"], "and who calls it?");

    let status = ws.json(&["think", ".", "--dry-run"]);
    assert_eq!(status["ledger"]["test"]["calls"], 2, "test-time calls are in the ledger: {status}");
}

#[test]
fn without_a_model_the_context_is_the_answer() {
    let ws = Workspace::with(&[("pkg/lib.py", LIB_PY), ("app.py", APP_PY)]);
    let answer = ask(&ws, "explain how configuration gets loaded", &[]);
    assert_eq!(answer["source"], "context");
    assert!(answer["answer"].as_str().unwrap().starts_with("No model is configured"));
    assert_eq!(answer["context"][0]["path"], "pkg/lib.py", "{answer}");
    let tokens: u64 = answer["context"].as_array().unwrap().iter().map(|c| c["tokens"].as_u64().unwrap()).sum();
    let small = ask(&ws, "explain how configuration gets loaded", &["--budget", "20"]);
    let small_tokens: u64 = small["context"].as_array().unwrap().iter().map(|c| c["tokens"].as_u64().unwrap()).sum();
    assert!(small_tokens <= 20 && small_tokens <= tokens, "{small}");
}

#[tokio::test]
async fn answers_stream_over_lsp_and_hover_shows_the_learned_summary() {
    let (ws, _fake) = thought();
    let mut client = LspClient::spawn(&ws.cache_dir(), ws.home.path());
    client.initialize(&ws.root(), &["utf-16"], Value::Null).await;
    client.wait_for_status("ready", 1).await;
    let answer = client
        .result("reverie/ask", json!({"question": "explain how configuration gets loaded for the app", "token": "t1"}))
        .await;
    assert_eq!(answer["source"], "model", "{answer}");
    let chunks: String = client
        .received
        .iter()
        .filter(|m| m["method"] == "reverie/answerChunk" && m["params"]["token"] == "t1")
        .map(|m| m["params"]["text"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(chunks, answer["answer"].as_str().unwrap(), "the chunks make the answer");

    client.open(&ws.path("app.py"), "python", APP_PY).await;
    let mut text = String::new();
    for _ in 0..20 {
        let hover = client.hover(&ws.path("app.py"), 4, 4).await;
        text = hover["contents"]["value"].as_str().unwrap_or("").to_string();
        if text.contains("Learned summary") {
            break;
        }
        let generation = client.generation();
        client.wait_for_generation(generation).await;
    }
    assert!(text.contains("**Learned summary** of `pkg/lib.py`: Purpose of pkg/lib.py"), "{text}");
    assert_eq!(client.shutdown().await, Some(0));
}

#[test]
fn vendored_code_ranks_below_the_projects_own() {
    let ws = Workspace::with(&[
        (
            "app/settings.py",
            "def load_settings(path):\n    \"\"\"Reads the settings file.\"\"\"\n    return open(path).read()\n",
        ),
        (
            "app/static/jquery-3.5.1.js",
            "function loadSettings(path) { return path; }\nfunction settings(path) { return path; }\nfunction readSettingsFile(path) { return path; }\n",
        ),
    ]);
    let answer = ws.json(&["ask", ".", "how are the settings loaded from a settings file?", "--no-llm"]);
    assert_eq!(answer["context"][0]["path"], "app/settings.py", "{answer}");
    // Still answerable when asked about by name: the named definition comes before the vendored
    // file's others. (The project's own settings reader may come first: its words are the name's
    // words, and the whole-file channel weighs that — tuned on the dev sets, see `WEIGHTS`.)
    let named = ws.json(&["ask", ".", "what does readSettingsFile do?", "--no-llm"]);
    let context = named["context"].as_array().unwrap();
    let position =
        |line: u64| context.iter().position(|c| c["path"] == "app/static/jquery-3.5.1.js" && c["start_line"] == line);
    let asked = position(3).expect("the named definition is in the context");
    assert!(asked <= 1, "{named}");
    assert!(position(1).is_none_or(|p| p > asked) && position(2).is_none_or(|p| p > asked), "{named}");
}

/// A small workspace where plain words ("session", "get", "view") name definitions, as they do in
/// Flask, and a message lives in a constant.
fn flask_like() -> Workspace {
    let mut files: Vec<(String, String)> = vec![
        ("globals.py".into(), "_no_app_msg = \"\"\"\\\nWorking outside of application context.\n\"\"\"\nsession = None\n\ndef get(name):\n    return session\n".into()),
        ("sessions.py".into(), "class SecureCookieSessionInterface:\n    def get_signing_serializer(self, app):\n        \"\"\"Sign the session cookie with the secret key.\"\"\"\n        return URLSafeTimedSerializer(app.secret_key, salt='cookie-session')\n".into()),
        ("app.py".into(), "class Flask:\n    def make_response(self, rv):\n        if isinstance(rv, tuple):\n            body, status = rv\n        return body\n\n    def register_blueprint(self, blueprint):\n        \"\"\"Register a blueprint on the application.\"\"\"\n        blueprint.register(self)\n".into()),
    ];
    // Many files use the everyday words, as a real code base does.
    for i in 0..40 {
        files.push((format!("views/v{i}.py"), format!("def view(request):\n    return session.get('user{i}')\n")));
    }
    let files: Vec<(&str, &str)> = files.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    Workspace::with(&files)
}

#[test]
fn plain_word_questions_never_get_a_structural_answer() {
    let ws = flask_like();
    // question → the source it must get, and the file its first citation must be in (for the view
    // question, among the first three files: the 40 `view`s may take the first places no more).
    let table = [
        ("where is the session cookie signed?", "context", "sessions.py"),
        ("what happens when a view returns a tuple?", "context", "app.py"),
        ("how is a blueprint registered on the application?", "context", "app.py"),
        ("where is the session cookie signed with the secret key?", "context", "sessions.py"),
        ("where is `session` defined?", "facts", "globals.py"),
        ("what calls get_signing_serializer?", "context", "sessions.py"),
        ("where is make_response defined?", "facts", "app.py"),
    ];
    for (question, source, first) in table {
        let answer = ask(&ws, question, &["--no-llm"]);
        assert_eq!(answer["source"], source, "{question}: {answer}");
        let mut files: Vec<&str> = Vec::new();
        for item in answer["context"].as_array().unwrap() {
            let path = item["path"].as_str().unwrap();
            if !files.contains(&path) {
                files.push(path);
            }
        }
        let within = if question.contains("view") { 3 } else { 1 };
        assert!(files.iter().take(within).any(|f| *f == first), "{question}: {first} not in {files:?}");
    }
}

#[test]
fn a_message_kept_in_a_constant_is_found() {
    let ws = flask_like();
    let answer = ask(&ws, "why would I get 'working outside of application context'?", &["--no-llm"]);
    assert_eq!(answer["context"][0]["path"], "globals.py", "{answer}");
    assert_eq!(answer["context"][0]["start_line"], 1, "{answer}");
}

#[test]
fn the_full_text_channel_finds_a_word_used_only_in_a_body() {
    let ws = flask_like();
    // "isinstance … tuple" appears only inside `make_response`'s body; no name, signature or doc has it.
    let answer = ask(&ws, "where do we unpack a tuple into body and status?", &["--no-llm"]);
    assert_eq!(answer["source"], "context", "{answer}");
    assert_eq!(answer["context"][0]["path"], "app.py", "{answer}");
    assert_eq!(answer["context"][0]["start_line"], 2, "make_response, not the class: {answer}");
}
