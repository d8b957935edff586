//! `reverie eval` on a tiny question set of its own: records are grouped by workspace, missing
//! workspaces are skipped with the command that fetches them, the three systems are scored, and with
//! no notes (c) is (b) and the output says so; the question set comes from `--data`, else
//! `REVERIE_DEV_SET`, else the dev set beside the checkout, from the current directory. The arithmetic
//! itself is unit-tested in `src/eval/`.

use crate::util::{Workspace, stderr};
use serde_json::Value;

const SETTINGS_PY: &str = r#"
class Settings:
    """Holds configuration."""

    def load_settings(self, path):
        if not path:
            raise ValueError("settings path must not be empty")
        return {}
"#;

const APP_PY: &str = r#"
from demo.settings import Settings


def main():
    Settings().load_settings("app.toml")
"#;

const LOGS_PY: &str = r#"
def configure_logging(level):
    """Sets the log level of every handler."""
    return level
"#;

fn record(id: &str, package: &str, version: &str, question: &str, gold: &[&str]) -> String {
    serde_json::json!({
        "id": id,
        "repo": format!("demo/{package}"),
        "pypi": {"package": package, "version": version},
        "question": question,
        "gold_paths": gold,
    })
    .to_string()
}

fn sample() -> Workspace {
    let ws = Workspace::with(&[
        ("ws/demo-1.0/demo/settings.py", SETTINGS_PY),
        ("ws/demo-1.0/demo/app.py", APP_PY),
        ("ws/demo-1.0/demo/logs.py", LOGS_PY),
    ]);
    let lines = [
        record(
            "demo-1",
            "demo",
            "1.0",
            "load_settings raises ValueError: settings path must not be empty",
            &["demo/settings.py"],
        ),
        record("demo-2", "demo", "1.0", "configure_logging ignores the level", &["demo/logs.py"]),
        record("other-1", "missing", "2.0", "anything", &["x.py"]),
    ];
    ws.write("data/questions.jsonl", lines.join("\n") + "\n");
    ws
}

#[test]
fn eval_scores_the_fetched_workspaces_and_says_how_to_fetch_the_rest() {
    let ws = sample();
    let out =
        ws.run(&["eval", "--workspaces", "ws", "--data", "data/questions.jsonl", "--e2e", "0", "--format", "json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("fetch-dev-workspaces.sh") && err.contains("missing==2.0"), "{err}");
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["records"], 2);
    assert_eq!(report["skipped"], serde_json::json!([["missing-2.0", 1]]));
    assert_eq!(report["workspaces"][0]["workspace"], "demo-1.0");
    assert_eq!(report["workspaces"][0]["gold_indexed"], 2);
    assert_eq!(report["notes_absent_in"], serde_json::json!(["demo-1.0"]));
    let systems = report["systems"].as_array().unwrap();
    assert_eq!(systems.len(), 3);
    // Both questions name their definition: facts put the gold file first.
    assert_eq!(systems[1]["overall"]["recall"][0], 1.0);
    // No notes: (c) is (b).
    assert_eq!(systems[1]["overall"], systems[2]["overall"]);
    // Three small files fit any budget, so every system finds every gold file within 2k.
    for system in systems {
        assert_eq!(system["overall"]["budget_recall"][0], 1.0, "{system}");
    }
    // "Where is X defined?" is answered from facts, with no model.
    let defined =
        report["latency"].as_array().unwrap().iter().find(|l| l["kind"].as_str().unwrap().contains("defined")).unwrap();
    assert!(defined["direct"].as_u64().unwrap() >= 1, "{defined}");
    assert_eq!(report["e2e_skipped"], "--e2e 0");
}

#[test]
fn eval_text_says_when_notes_are_absent_and_filters_projects() {
    let ws = sample();
    let text = ws.ok(&[
        "eval",
        "--workspaces",
        "ws",
        "--data",
        "data/questions.jsonl",
        "--e2e",
        "0",
        "--project",
        "demo==1.0",
    ]);
    assert!(text.contains("1. Retrieval quality"), "{text}");
    assert!(
        text.contains("no workspace has notes, so (c) facts + notes is the same ranking as (b) facts only"),
        "{text}"
    );
    assert!(!text.contains("Skipped"), "the filter leaves no missing workspace: {text}");
    let out = ws.run(&["eval", "--workspaces", "ws", "--data", "data/questions.jsonl", "--project", "nothing"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("no record of"), "{}", stderr(&out));
    let out = ws.run(&["eval", "--workspaces", "elsewhere", "--data", "data/questions.jsonl", "--e2e", "0"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("fetch-dev-workspaces.sh"), "{}", stderr(&out));
}

#[test]
fn eval_finds_the_question_set_from_the_flag_the_environment_or_beside_the_checkout() {
    let ws = sample();
    let records = |out: std::process::Output| -> Value {
        assert!(out.status.success(), "{}", stderr(&out));
        serde_json::from_slice::<Value>(&out.stdout).unwrap()["records"].clone()
    };
    let args = ["eval", "--workspaces", "ws", "--e2e", "0", "--format", "json"];
    let from_env = ws.command(&args).env("REVERIE_DEV_SET", "data/questions.jsonl").output().unwrap();
    assert_eq!(records(from_env), 2);
    // The flag wins over the environment.
    let mut flag_args = args.to_vec();
    flag_args.extend(["--data", "data/questions.jsonl"]);
    let from_flag = ws.command(&flag_args).env("REVERIE_DEV_SET", "nowhere.jsonl").output().unwrap();
    assert_eq!(records(from_flag), 2);
    // The default: `../shared/data/dev-localization.jsonl` from the current directory (a checkout).
    let lines = std::fs::read_to_string(ws.path("data/questions.jsonl")).unwrap();
    let first: String = lines.lines().next().unwrap().to_string() + "\n";
    ws.write("shared/data/dev-localization.jsonl", first);
    std::fs::create_dir_all(ws.path("checkout")).unwrap();
    let workspaces = ws.path("ws");
    let default = ws
        .command(&["eval", "--workspaces", workspaces.to_str().unwrap(), "--e2e", "0", "--format", "json"])
        .current_dir(ws.path("checkout"))
        .env_remove("REVERIE_DEV_SET")
        .output()
        .unwrap();
    assert_eq!(records(default), 1);
}

#[test]
fn eval_without_a_question_set_says_what_to_pass() {
    let ws = sample();
    let out = ws.command(&["eval", "--workspaces", "ws", "--e2e", "0"]).env_remove("REVERIE_DEV_SET").output().unwrap();
    assert!(!out.status.success());
    let err = stderr(&out);
    for expected in ["../shared/data/dev-localization.jsonl", "current directory", "--data FILE", "REVERIE_DEV_SET"] {
        assert!(err.contains(expected), "{expected} in {err}");
    }
    let out = ws.command(&["eval", "--data", "missing.jsonl"]).output().unwrap();
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("cannot read the question set missing.jsonl") && err.contains("--data FILE"), "{err}");
}
