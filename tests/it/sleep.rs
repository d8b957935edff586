//! The sleep-time engine through `reverie think`, against a fake OpenAI-compatible server on
//! loopback: every note kind is stored, invalidation re-thinks exactly what an edit can have changed,
//! invalid output is retried once then recorded as failed, budgets cap spending, a restart resumes,
//! and a dry run sends nothing.

use crate::util::Workspace;
use crate::util::openai_fake::{FakeOpenAi, Reply, job_of, prompt_of, valid_note};
use serde_json::Value;
use std::collections::BTreeSet;

const LIB_PY: &str = "class Settings:\n    \"\"\"Holds configuration.\"\"\"\n\n    def load_settings(self, path):\n        if not path:\n            raise ValueError(\"settings path must not be empty\")\n        return {}\n";
const APP_PY: &str = "from pkg.lib import Settings\n\n\ndef main():\n    Settings().load_settings(\"app.toml\")\n";

fn setup(extra_config: &str) -> (Workspace, FakeOpenAi) {
    let fake = FakeOpenAi::start(|request| Reply::Text(valid_note(request)));
    let ws = Workspace::with(&[("pkg/lib.py", LIB_PY), ("app.py", APP_PY)]);
    ws.write("reverie.toml", format!("{}{extra_config}", fake.llm_config()));
    (ws, fake)
}

fn jobs(fake: &FakeOpenAi, from: usize) -> BTreeSet<String> {
    fake.requests()[from..]
        .iter()
        .map(|r| {
            let (kind, subject) = job_of(r);
            format!("{kind} {subject}")
        })
        .collect()
}

fn think(ws: &Workspace, args: &[&str]) -> Value {
    let mut all = vec!["think", "."];
    all.extend(args);
    ws.json(&all)
}

#[test]
fn a_pass_stores_every_kind_of_note_with_a_ledger() {
    let (ws, fake) = setup("");
    let result = think(&ws, &[]);
    // 2 files × 3 kinds, 2 modules (pkg and the root), 1 overview.
    assert_eq!(result["report"]["stored"], 9, "{result}");
    assert_eq!(result["notes"]["fresh"], 9, "{result}");
    assert_eq!(result["notes"]["missing"], 0);
    assert_eq!(result["ledger"]["sleep"]["calls"], 9);
    assert!(result["ledger"]["sleep"]["prompt_tokens"].as_u64().unwrap() > 0);
    let all = jobs(&fake, 0);
    for expected in [
        "summary pkg/lib.py",
        "playbook app.py",
        "questions pkg/lib.py",
        "module pkg",
        "module (the workspace root)",
        "overview ",
    ] {
        assert!(all.contains(expected), "{expected} missing from {all:?}");
    }
    // Children before parents: the module of pkg after pkg/lib.py's summary, the overview last.
    let order: Vec<String> = fake
        .requests()
        .iter()
        .map(|r| {
            let (k, s) = job_of(r);
            format!("{k} {s}")
        })
        .collect();
    let position = |name: &str| order.iter().position(|o| o == name).unwrap();
    assert!(position("summary pkg/lib.py") < position("module pkg"));
    assert!(position("module pkg") < position("module (the workspace root)"));
    assert_eq!(order.last().unwrap(), "overview ");
    // A second pass has nothing to do.
    let again = think(&ws, &[]);
    assert_eq!(again["report"]["planned"], 0, "{again}");
    assert_eq!(fake.requests().len(), 9);
}

#[test]
fn a_body_edit_rethinks_only_that_files_notes() {
    let (ws, fake) = setup("");
    think(&ws, &[]);
    let before = fake.requests().len();
    ws.write("pkg/lib.py", LIB_PY.replace("return {}", "return {\"edited\": True}"));
    let result = think(&ws, &[]);
    assert_eq!(
        jobs(&fake, before),
        ["playbook pkg/lib.py", "questions pkg/lib.py", "summary pkg/lib.py"]
            .into_iter()
            .map(String::from)
            .collect::<BTreeSet<_>>(),
        "{result}"
    );
}

#[test]
fn a_signature_edit_rethinks_dependents_and_parents() {
    let (ws, fake) = setup("");
    think(&ws, &[]);
    let before = fake.requests().len();
    ws.write(
        "pkg/lib.py",
        LIB_PY.replace("def load_settings(self, path)", "def load_settings(self, path, strict=False)"),
    );
    think(&ws, &[]);
    let redone = jobs(&fake, before);
    for expected in [
        "summary pkg/lib.py",
        "summary app.py",
        "playbook app.py",
        "module pkg",
        "module (the workspace root)",
        "overview ",
    ] {
        assert!(redone.contains(expected), "{expected} should be re-thought: {redone:?}");
    }
}

#[test]
fn invalid_output_is_retried_once_then_recorded_as_failed() {
    let (ws, fake) = setup("[sleep]\nnotes = [\"summary\"]\n");
    fake.set_responder(|request| {
        let (_, subject) = job_of(request);
        if subject == "app.py" {
            Reply::Text("I think this file is about apps.".into())
        } else {
            Reply::Text(valid_note(request))
        }
    });
    let result = think(&ws, &[]);
    assert_eq!(result["report"]["stored"], 1, "{result}");
    assert_eq!(result["report"]["invalid"], 1, "{result}");
    assert_eq!(result["notes"]["failed"], 1);
    let failures = result["failures"].as_array().unwrap();
    assert_eq!(failures.len(), 1, "{result}");
    let failure = failures[0].as_str().unwrap();
    assert!(
        failure.starts_with("summary app.py: invalid output twice: the reply contains no JSON object"),
        "why it failed is said: {failure}"
    );
    let app_requests: Vec<Value> = fake.requests().into_iter().filter(|r| job_of(r).1 == "app.py").collect();
    assert_eq!(app_requests.len(), 2, "one retry");
    let retry = app_requests[1]["messages"].as_array().unwrap();
    assert!(retry.last().unwrap()["content"].as_str().unwrap().contains("That reply is invalid"), "{retry:?}");
}

#[test]
fn budgets_cap_a_pass_and_a_restart_resumes() {
    let (ws, fake) = setup("[sleep]\ntokens_per_hour = 800\n");
    let first = think(&ws, &[]);
    let stopped = first["report"]["stopped"].as_str().unwrap_or("");
    assert!(stopped.contains("token budget"), "{first}");
    let done = first["report"]["stored"].as_u64().unwrap();
    assert!((1..9).contains(&done), "{first}");
    let spent = first["ledger"]["sleep"]["prompt_tokens"].as_u64().unwrap()
        + first["ledger"]["sleep"]["completion_tokens"].as_u64().unwrap();
    assert!(spent <= 800, "the budget is not overspent: {first}");
    // Raise the budget: the next pass does only what is left.
    ws.write("reverie.toml", format!("{}[sleep]\ntokens_per_hour = 1000000\n", fake.llm_config()));
    let before = fake.requests().len();
    let second = think(&ws, &[]);
    assert_eq!(second["report"]["stored"].as_u64().unwrap(), 9 - done, "{second}");
    assert_eq!(fake.requests().len() - before, (9 - done) as usize);
}

#[test]
fn max_jobs_then_resume_redoes_nothing() {
    let (ws, fake) = setup("");
    let first = think(&ws, &["--max-jobs", "3"]);
    assert_eq!(first["report"]["stored"], 3, "{first}");
    let done: BTreeSet<String> = jobs(&fake, 0);
    think(&ws, &[]);
    let redone: BTreeSet<String> = jobs(&fake, 3);
    assert!(done.is_disjoint(&redone), "{done:?} were redone: {redone:?}");
    assert_eq!(fake.requests().len(), 9);
}

#[test]
fn a_dry_run_sends_nothing_and_shows_redactions() {
    let (ws, fake) = setup("");
    ws.write("pkg/keys.py", "AWS_KEY = \"AKIAZ7CANARY1234567X\"\n\ndef connect():\n    return AWS_KEY\n");
    let result = think(&ws, &["--dry-run"]);
    assert!(fake.requests().is_empty(), "a dry run calls nothing");
    let prompts = result["dry_run"].as_array().unwrap();
    let keys = prompts.iter().find(|p| p["subject"] == "pkg/keys.py" && p["kind"] == "summary").unwrap();
    assert_eq!(keys["redactions"][0], "aws-access-key");
    assert!(!result.to_string().contains("AKIAZ7CANARY1234567X"), "the canary never appears");
    let text = ws.ok(&["think", ".", "--dry-run"]);
    assert!(text.contains("redacted: aws-access-key"), "{text}");
}

/// In a git repository, a file's playbook prompt lists the past commits that fixed it (newest
/// first), and only those: zero-token evidence of how it broke before.
#[test]
fn a_playbook_prompt_lists_the_files_past_fixes() {
    let (ws, fake) = setup("");
    crate::util::git(&ws, &["init", "-q", "-b", "main"]);
    crate::util::commit(&ws, "Added settings.");
    ws.write("pkg/lib.py", LIB_PY.replace("must not be empty", "is empty"));
    crate::util::commit(&ws, "Fixed #41 -- Crash when the settings path is empty.");
    ws.write("pkg/lib.py", LIB_PY.replace("Holds configuration.", "Holds the configuration."));
    crate::util::commit(&ws, "Reworded a docstring.");
    think(&ws, &[]);
    let prompts: Vec<String> = fake.requests().iter().filter(|r| job_of(r).0 == "playbook").map(prompt_of).collect();
    let lib = prompts.iter().find(|p| p.contains("File: pkg/lib.py")).expect("a playbook for pkg/lib.py");
    assert!(
        lib.contains(
            "Past fixes to this file (newest first):\n  - Fixed #41 -- Crash when the settings path is empty. ("
        ),
        "{lib}"
    );
    assert!(!lib.contains("Reworded a docstring"), "{lib}");
    let app = prompts.iter().find(|p| p.contains("File: app.py")).expect("a playbook for app.py");
    assert!(!app.contains("Past fixes"), "{app}");
}

#[test]
fn without_a_model_think_does_the_rest_and_says_how_to_enable_notes() {
    let ws = Workspace::with(&[("a.py", "def f():\n    pass\n")]);
    let out = ws.ok(&["think", "."]);
    let notes: Vec<&str> = out.lines().filter(|l| l.starts_with("notes:")).collect();
    assert_eq!(notes.len(), 1, "{out}");
    assert!(notes[0].contains("[llm]"), "{out}");
}

/// `--local-model` picks the in-process provider over the config; a build without llama.cpp says how
/// to get one, and a missing file is named. (tests/it/local_e2e.rs runs it with the real model.)
#[test]
fn local_model_on_the_command_line_is_checked() {
    let ws = Workspace::with(&[("a.py", "def f():\n    pass\n")]);
    let missing = ws.path("no-such-model.gguf");
    for command in ["think", "ask"] {
        let mut args = vec![command, "."];
        if command == "ask" {
            args.push("what does f do?");
        }
        args.extend(["--local-model", missing.to_str().unwrap()]);
        let out = ws.run(&args);
        let stderr = crate::util::stderr(&out);
        if cfg!(feature = "local") {
            assert!(stderr.contains("no-such-model.gguf"), "{command}: {stderr}");
        } else {
            assert!(stderr.contains("--features local"), "{command}: {stderr}");
        }
        if command == "think" {
            assert!(!out.status.success(), "{stderr}");
        }
    }
}

#[test]
fn vendored_code_gets_no_notes() {
    let (ws, fake) = setup("");
    ws.write("static/jquery-3.5.1.js", "function settings(path) { return load(path); }\n");
    ws.write("node_modules/left-pad/index.js", "module.exports = function leftPad(s) { return s; };\n");
    let result = think(&ws, &[]);
    // The same 9 notes as without them: no file notes, no modules for `static` or `node_modules`.
    assert_eq!(result["report"]["stored"], 9, "{result}");
    let all = jobs(&fake, 0);
    assert!(
        all.iter().all(|job| !job.contains("jquery") && !job.contains("node_modules") && !job.contains("static")),
        "{all:?}"
    );
    assert_eq!(result["notes"]["missing"], 0, "{result}");
}

/// In a git repository, files that change often are thought about first (issue: "git churn").
#[test]
fn git_churn_puts_often_changed_files_first() {
    let fake = FakeOpenAi::start(|request| Reply::Text(valid_note(request)));
    let ws =
        Workspace::with(&[("calm.py", "def calm(x):\n    return x\n"), ("busy.py", "def busy(x):\n    return x\n")]);
    ws.write("reverie.toml", fake.llm_config());
    let git = |args: &[&str]| {
        let status = std::process::Command::new("git")
            .arg("-C")
            .arg(ws.dir.path())
            .args(["-c", "user.name=t", "-c", "user.email=t@localhost", "-c", "commit.gpgsign=false"])
            .args(args)
            .stdout(std::process::Stdio::null())
            .status()
            .expect("git runs (apt-get install git)");
        assert!(status.success(), "git {args:?}");
    };
    git(&["init", "-q"]);
    git(&["add", "-A"]);
    git(&["commit", "-q", "-m", "start"]);
    for i in 0..6 {
        ws.write("busy.py", format!("def busy(x):\n    return x + {i}\n"));
        git(&["commit", "-q", "-am", "busy again"]);
    }
    think(&ws, &["--max-jobs", "1"]);
    let first = jobs(&fake, 0);
    assert_eq!(first.len(), 1);
    assert!(first.iter().next().unwrap().ends_with(" busy.py"), "{first:?}");
}

#[test]
fn notes_print_what_was_learned_and_mark_the_stale_ones() {
    let (ws, _fake) = setup("");
    let before = ws.ok(&["notes", "."]);
    assert!(before.contains("No notes yet: `reverie think"), "{before}");
    think(&ws, &[]);

    let all = ws.ok(&["notes", "."]);
    assert!(all.contains("9 notes, 0 stale"), "{all}");
    let overview = all.find("## Architecture overview\n\nThe whole workspace").expect("the overview first");
    let folder = all.find("## Folder `pkg`\n\nDirectory pkg").expect("the folder's summary");
    let file = all.find("## Summary of `pkg/lib.py`\n\nPurpose of pkg/lib.py").expect("the file's summary");
    assert!(overview < folder && folder < file, "overview, then folders, then files:\n{all}");
    assert!(all.contains("## Anticipated questions about `app.py`\n\nQ: What does"), "{all}");
    assert!(!all.contains("(stale)"), "{all}");

    // A body edit leaves the file's notes written for code that is gone: they are marked, the others not.
    ws.write("app.py", format!("{APP_PY}    print(\"done\")\n"));
    let after = ws.ok(&["notes", ".", "app.py"]);
    assert!(after.contains("## Summary of `app.py` *(stale)*"), "{after}");
    assert!(!after.contains("pkg/lib.py"), "only the notes about app.py:\n{after}");

    let kinds = ws.json(&["notes", ".", "--kind", "overview", "--kind", "module"]);
    let shown: Vec<(String, String, bool)> = kinds
        .as_array()
        .unwrap()
        .iter()
        .map(|n| (n["kind"].as_str().unwrap().into(), n["subject"].as_str().unwrap().into(), n["fresh"] == true))
        .collect();
    assert_eq!(shown[0].0, "overview", "{kinds}");
    assert!(shown[1..].iter().all(|(kind, _, _)| kind == "module"), "{kinds}");
    assert!(shown.iter().any(|(_, subject, _)| subject == "pkg"), "{kinds}");

    let wrong = ws.run(&["notes", ".", "--kind", "summaries"]);
    assert!(!wrong.status.success());
    assert!(
        crate::util::stderr(&wrong).contains("use summary, playbook, questions, module or overview"),
        "{}",
        crate::util::stderr(&wrong)
    );
}
