//! Crash safety: `kill -9` during indexing and during thinking, many times. Every restart opens the
//! store, nothing partial is ever served, and finished work is kept: the final index equals a fresh
//! one, and notes written before a kill are not written again.

use crate::util::Workspace;
use crate::util::openai_fake::{FakeOpenAi, Reply, valid_note};
use serde_json::Value;
use std::process::Stdio;
use std::time::{Duration, Instant};

const ITERATIONS: u64 = 50;
/// Files in the indexing workspace: a few store batches (`WRITE_BATCH` is 256), so a kill can land
/// after some batches are written and before the rest.
const FILES: usize = 700;

fn module_source(i: usize, files: usize, generation: u64) -> String {
    let next = (i + 1) % files;
    let mut src = format!(
        "\"\"\"Module {i}, generation {generation}.\"\"\"\nfrom pkg.m{next} import helper_{next}\n\n\nclass Thing{i}:\n"
    );
    for j in 0..12 {
        src.push_str(&format!(
            "    def method_{j}_g{generation}(self, x):\n        if x is None:\n            raise ValueError(\"thing {i} method {j} needs x\")\n        return helper_{next}(x) + {j}\n\n"
        ));
    }
    src.push_str(&format!("\ndef helper_{i}(x):\n    return x\n"));
    src
}

fn generated_workspace(files: usize) -> Workspace {
    let ws = Workspace::new();
    rewrite_all(&ws, files, 0);
    ws
}

/// Gives every file new contents (new definitions), so the next index has all of them to parse.
fn rewrite_all(ws: &Workspace, files: usize, generation: u64) {
    for i in 0..files {
        ws.write(&format!("pkg/m{i}.py"), module_source(i, files, generation));
    }
}

/// How a run ended.
enum Run {
    /// It finished on its own after this long.
    Finished(Duration),
    /// It was still working and got SIGKILL.
    Killed,
}

/// Runs `reverie ARGS`, killing it with SIGKILL after `after` if it is still running.
fn run_and_kill(ws: &Workspace, args: &[&str], after: Duration) -> Run {
    let started = Instant::now();
    let mut child = ws.command(args).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    let deadline = started + after;
    loop {
        if child.try_wait().unwrap().is_some() {
            return Run::Finished(started.elapsed());
        }
        if Instant::now() >= deadline {
            child.kill().unwrap(); // SIGKILL
            child.wait().unwrap();
            return Run::Killed;
        }
        std::thread::yield_now();
    }
}

fn counts(report: &Value) -> (u64, u64, u64) {
    (report["files"].as_u64().unwrap(), report["definitions"].as_u64().unwrap(), report["references"].as_u64().unwrap())
}

fn timed_index(ws: &Workspace) -> (Value, Duration) {
    let started = Instant::now();
    let report = ws.json(&["index", "."]);
    (report, started.elapsed())
}

/// Every iteration gives all files new contents, then kills an index at a point spread over how long
/// such an index takes on this machine (measured, and re-measured whenever a run finishes before its
/// kill), so the kills land mid-work whatever the machine's speed. After each kill an unkilled index
/// recovers: its `parsed` count shows what the killed run had finished and kept.
#[test]
fn kill_9_during_indexing_loses_nothing() {
    let ws = generated_workspace(FILES);
    timed_index(&ws);
    rewrite_all(&ws, FILES, 1);
    let (_, mut full_run) = timed_index(&ws);
    let (mut killed, mut kept_some, mut parsed_on_recovery) = (0, 0, 0);
    for i in 0..ITERATIONS {
        rewrite_all(&ws, FILES, i + 2);
        // Kill points from 15% to 95% of a full run.
        let fraction = 0.15 + 0.8 * ((i * 37) % ITERATIONS) as f64 / ITERATIONS as f64;
        match run_and_kill(&ws, &["index", ".", "--format", "json"], full_run.mul_f64(fraction)) {
            Run::Killed => killed += 1,
            Run::Finished(took) => full_run = took,
        }
        // Every restart opens the store and finishes the work.
        let (recovery, _) = timed_index(&ws);
        let parsed = recovery["parsed"].as_u64().unwrap();
        assert_eq!(recovery["files"].as_u64().unwrap(), FILES as u64, "{recovery}");
        if parsed < FILES as u64 {
            kept_some += 1;
        }
        parsed_on_recovery += parsed;
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
    println!(
        "iterations: {ITERATIONS}, killed mid-work: {killed}, recoveries that found finished batches kept: \
         {kept_some}, parsed on recovery: {parsed_on_recovery} of {} changed",
        ITERATIONS * FILES as u64
    );
    assert!(killed >= ITERATIONS / 2, "the kills must land mid-work to mean anything ({killed})");
    assert!(kept_some > 0, "batches finished before a kill are kept (no recovery found any)");
    assert_eq!(recovered["parsed"], 0, "the recoveries left nothing to do: {recovered}");
    assert_eq!(counts(&recovered), counts(&fresh), "after the crashes the index equals a fresh one");
    let map = ws.ok(&["map", ".", "--budget", "500"]);
    let fresh_map = String::from_utf8(
        ws.command(&["map", ".", "--budget", "500"]).env("REVERIE_CACHE_DIR", &fresh_cache).output().unwrap().stdout,
    )
    .unwrap();
    assert_eq!(map, fresh_map, "the same facts give the same map");
}

/// Every iteration gives the files new contents (so all their notes are stale), then kills a `think`
/// at a point spread over how long a full one takes here; an unkilled `think` recovers. Per
/// iteration the model is asked at most once more than there are notes to write: a kill loses the
/// one call in flight (jobs run one at a time) and nothing finished is asked again.
#[test]
fn kill_9_during_thinking_keeps_finished_notes() {
    const THINK_FILES: usize = 12;
    const NOTES: usize = THINK_FILES * 2; // Summary and questions per file.
    let iterations = ITERATIONS / 2;
    let ws = generated_workspace(THINK_FILES);
    let fake = FakeOpenAi::start(|request| {
        std::thread::sleep(Duration::from_millis(30)); // A model that takes a moment.
        Reply::Text(valid_note(request))
    });
    ws.write("reverie.toml", format!(
            "{}[sleep]\nnotes = [\"summary\", \"questions\"]\ntokens_per_hour = 100000000\ntokens_per_day = 100000000\n",
            fake.llm_config()
        ));
    let started = Instant::now();
    assert_eq!(ws.json(&["think", "."])["notes"]["fresh"], NOTES);
    let mut full_run = started.elapsed();
    let (mut killed, mut kept_some) = (0, 0);
    for i in 0..iterations {
        rewrite_all(&ws, THINK_FILES, i + 1);
        let before = fake.requests().len();
        let fraction = 0.15 + 0.8 * ((i * 7) % iterations) as f64 / iterations as f64;
        let was_killed = match run_and_kill(&ws, &["think", ".", "--format", "json"], full_run.mul_f64(fraction)) {
            Run::Killed => true,
            Run::Finished(took) => {
                full_run = took;
                false
            }
        };
        let by_the_killed_run = fake.requests().len() - before;
        let recovery = ws.json(&["think", "."]);
        assert_eq!(recovery["notes"]["fresh"], NOTES, "{recovery}");
        assert_eq!(recovery["notes"]["missing"], 0, "{recovery}");
        let asked = fake.requests().len() - before;
        assert!(
            asked <= NOTES + usize::from(was_killed),
            "iteration {i}: {asked} requests for {NOTES} notes (killed: {was_killed})"
        );
        if was_killed {
            killed += 1;
            if by_the_killed_run > 0 && asked - by_the_killed_run < NOTES {
                kept_some += 1;
            }
        }
    }
    println!(
        "iterations: {iterations}, killed mid-work: {killed}, recoveries that found finished notes kept: {kept_some}, \
         requests: {} for {} notes",
        fake.requests().len(),
        NOTES as u64 * (iterations + 1)
    );
    assert!(killed >= iterations / 2, "the kills must land mid-work to mean anything ({killed})");
    assert!(kept_some > 0, "notes finished before a kill are kept (no recovery found any)");
    let again = ws.json(&["think", "."]);
    assert_eq!(again["report"]["planned"], 0, "{again}");
}
