//! Crash safety: `kill -9` during indexing and during thinking, many times. Every restart opens the
//! store, nothing partial is ever served, and finished work is kept: the final index equals a fresh
//! one, and notes written before a kill are not written again.

mod util;

use serde_json::Value;
use std::process::Stdio;
use std::time::{Duration, Instant};
use util::Workspace;
use util::openai_fake::{FakeOpenAi, Reply, valid_note};

const ITERATIONS: u64 = 50;

fn generated_workspace(files: usize) -> Workspace {
    let ws = Workspace::new();
    for i in 0..files {
        let mut src = format!(
            "\"\"\"Module {i}.\"\"\"\nfrom pkg.m{} import helper_{}\n\n\nclass Thing{i}:\n",
            (i + 1) % files,
            (i + 1) % files
        );
        for j in 0..12 {
            src.push_str(&format!("    def method_{j}(self, x):\n        if x is None:\n            raise ValueError(\"thing {i} method {j} needs x\")\n        return helper_{}(x) + {j}\n\n", (i + 1) % files));
        }
        src.push_str(&format!("\ndef helper_{i}(x):\n    return x\n"));
        ws.write(&format!("pkg/m{i}.py"), src);
    }
    ws
}

/// Runs `reverie ARGS`, killing it with SIGKILL after `after` (if it is still running). Returns
/// whether it was killed mid-work.
fn run_and_kill(ws: &Workspace, args: &[&str], after: Duration) -> bool {
    let mut child = ws.command(args).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    let deadline = Instant::now() + after;
    loop {
        if child.try_wait().unwrap().is_some() {
            return false;
        }
        if Instant::now() >= deadline {
            child.kill().unwrap(); // SIGKILL
            child.wait().unwrap();
            return true;
        }
        std::thread::yield_now();
    }
}

fn counts(report: &Value) -> (u64, u64, u64) {
    (report["files"].as_u64().unwrap(), report["definitions"].as_u64().unwrap(), report["references"].as_u64().unwrap())
}

#[test]
fn kill_9_during_indexing_loses_nothing() {
    let ws = generated_workspace(300);
    let mut killed = 0;
    for i in 0..ITERATIONS {
        // Kill points spread over the cold index and the warm ones that follow.
        let after = Duration::from_millis(20 + (i * 97) % 2500);
        if run_and_kill(&ws, &["index", ".", "--format", "json"], after) {
            killed += 1;
        }
        // Every restart opens the store and reports without error.
        let status = ws.json(&["status", "."]);
        assert!(status["files"].as_u64().unwrap() <= 300, "{status}");
    }
    let recovered = ws.json(&["index", "."]);
    let fresh_cache = ws.home.path().join("fresh-cache");
    let fresh: Value = serde_json::from_slice(
        &ws.command(&["index", ".", "--format", "json"])
            .env("REVERIE_CACHE_DIR", &fresh_cache)
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    println!("iterations: {ITERATIONS}, killed mid-work: {killed}, recovered parsed {} files", recovered["parsed"]);
    assert!(killed >= ITERATIONS / 4, "the kills must land mid-work to mean anything ({killed})");
    assert!(recovered["parsed"].as_u64().unwrap() < 300, "finished batches survive the kills: {recovered}");
    assert_eq!(counts(&recovered), counts(&fresh), "after the crashes the index equals a fresh one");
    let map = ws.ok(&["map", ".", "--budget", "500"]);
    let fresh_map = String::from_utf8(
        ws.command(&["map", ".", "--budget", "500"]).env("REVERIE_CACHE_DIR", &fresh_cache).output().unwrap().stdout,
    )
    .unwrap();
    assert_eq!(map, fresh_map, "the same facts give the same map");
}

#[test]
fn kill_9_during_thinking_keeps_finished_notes() {
    let ws = generated_workspace(12);
    let fake = FakeOpenAi::start(|request| {
        std::thread::sleep(Duration::from_millis(30)); // A model that takes a moment.
        Reply::Text(valid_note(request))
    });
    ws.write("reverie.toml", format!("{}[sleep]\nnotes = [\"summary\", \"questions\"]\n", fake.llm_config()));
    ws.ok(&["index", "."]);
    let mut killed = 0;
    for i in 0..ITERATIONS / 2 {
        let after = Duration::from_millis(300 + (i * 211) % 3000);
        if run_and_kill(&ws, &["think", ".", "--format", "json"], after) {
            killed += 1;
        }
    }
    let requests_before_final = fake.requests().len();
    let last = ws.json(&["think", "."]);
    // 12 files × 2 kinds.
    assert_eq!(last["notes"]["fresh"], 24, "{last}");
    assert_eq!(last["notes"]["missing"], 0);
    let total_requests = fake.requests().len();
    println!("iterations: {}, killed mid-work: {killed}, requests: {total_requests} for 24 notes", ITERATIONS / 2);
    // Each kill loses at most the one call in flight; nothing finished is redone.
    assert!(total_requests as u64 <= 24 + killed, "{total_requests} requests for 24 notes and {killed} kills");
    assert!(requests_before_final > 0);
    let again = ws.json(&["think", "."]);
    assert_eq!(again["report"]["planned"], 0, "{again}");
}
