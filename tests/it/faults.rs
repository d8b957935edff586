//! A faulty model server while the language server thinks: 500s, rate limits, garbage bodies and
//! invalid notes. Requests stay fast, failures show in the status, the budget holds, and nothing
//! queued is lost: once the server behaves, the next pass finishes the job.

use crate::util::Workspace;
use crate::util::lsp::LspClient;
use crate::util::openai_fake::{FakeOpenAi, Reply, valid_note};
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

#[tokio::test]
async fn faults_never_block_requests_or_lose_the_queue() {
    let ws = Workspace::new();
    for i in 0..8 {
        ws.write(&format!("m{i}.py"), format!("def f{i}(x):\n    return g{i}(x)\n\n\ndef g{i}(x):\n    return x\n"));
    }
    let healthy = Arc::new(AtomicBool::new(false));
    let calls = Arc::new(AtomicUsize::new(0));
    let (h, c) = (healthy.clone(), calls.clone());
    let fake = FakeOpenAi::start(move |request| {
        let n = c.fetch_add(1, Ordering::SeqCst);
        if h.load(Ordering::SeqCst) {
            return Reply::Text(valid_note(request));
        }
        match n % 4 {
            0 => Reply::Status(500, "{\"error\": {\"message\": \"overloaded\"}}".into()),
            1 => Reply::Status(429, "{\"error\": {\"message\": \"slow down\"}}".into()),
            2 => Reply::Status(200, "<html>this is not json</html>".into()),
            _ => Reply::Text("not the JSON you asked for".into()),
        }
    });
    let budget = 200_000;
    ws.write(
        "reverie.toml",
        format!(
            "{}max_retries = 1\ntotal_timeout = \"10s\"\n[sleep]\ntokens_per_hour = {budget}\nnotes = [\"summary\"]\n",
            fake.llm_config().replace("max_retries = 0\n", "")
        ),
    );
    let mut client = LspClient::spawn(&ws.cache_dir(), ws.home.path());
    client.initialize(&ws.root(), &["utf-16"], Value::Null).await;
    client.wait_for_status("ready", 1).await;
    client.open(&ws.path("m0.py"), "python", "def f0(x):\n    return g0(x)\n\n\ndef g0(x):\n    return x\n").await;

    client.result("workspace/executeCommand", json!({"command": "reverie.think"})).await;
    // Hovers while the pass runs into faults.
    let mut worst = Duration::ZERO;
    for _ in 0..50 {
        let started = Instant::now();
        client.hover(&ws.path("m0.py"), 1, 12).await;
        worst = worst.max(started.elapsed());
    }
    let done = client
        .wait_for(|m| {
            m["method"] == "reverie/status"
                && m["params"]["message"].as_str().unwrap_or("").contains("notes stored this pass")
        })
        .await;
    let message = done["params"]["message"].as_str().unwrap().to_string();
    let status = client.result("reverie/status", Value::Null).await;
    println!("faulty pass: {message}; {} model calls; worst hover {worst:?}", calls.load(Ordering::SeqCst));
    assert!(worst < Duration::from_secs(2), "requests stay responsive while the model fails: {worst:?}");
    assert!(message.contains("failed"), "{message}");
    assert!(!message.contains(" 0 failed)"), "failures show in the status: {message} {status}");

    // The model recovers: the next pass finishes what the faulty one could not.
    healthy.store(true, Ordering::SeqCst);
    let generation = client.generation();
    client.result("workspace/executeCommand", json!({"command": "reverie.think"})).await;
    let recovered = client
        .wait_for(|m| {
            m["method"] == "reverie/status"
                && m["params"]["generation"].as_u64().unwrap_or(0) >= generation
                && m["params"]["message"].as_str().unwrap_or("").contains("(8 fresh, 0 stale, 0 failed)")
        })
        .await;
    println!("after recovery: {}", recovered["params"]["message"]);
    assert_eq!(client.shutdown().await, Some(0));

    let think = ws.json(&["think", ".", "--dry-run"]);
    let spent = think["ledger"]["sleep"]["prompt_tokens"].as_u64().unwrap()
        + think["ledger"]["sleep"]["completion_tokens"].as_u64().unwrap();
    assert!(spent <= budget, "the budget is not overspent: {spent}");
    assert_eq!(think["notes"]["fresh"], 8, "{think}");
}
