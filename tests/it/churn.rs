//! Filesystem churn while the server indexes: thousands of creates, edits, deletes and renames and a
//! git branch switch. No panic, and when the dust settles the server's facts equal a fresh index of
//! the final tree.

use crate::util::Workspace;
use crate::util::lsp::LspClient;
use serde_json::{Value, json};
use std::process::Command;

fn git(ws: &Workspace, args: &[&str]) {
    let out = Command::new("git")
        .args(args)
        .current_dir(ws.dir.path())
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.com")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.com")
        .env("HOME", ws.home.path())
        .output()
        .expect("git runs");
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

fn module(i: usize, flavour: &str) -> String {
    format!("def {flavour}_function_{i}(x):\n    return helper_{i}(x)\n\n\ndef helper_{i}(x):\n    return x + {i}\n")
}

fn counts(status: &Value) -> (u64, u64, u64, usize) {
    (
        status["files"].as_u64().unwrap(),
        status["definitions"].as_u64().unwrap(),
        status["references"].as_u64().unwrap(),
        status["skipped"].as_array().unwrap().len(),
    )
}

#[tokio::test]
async fn churn_and_a_branch_switch_during_indexing_end_in_a_correct_index() {
    let ws = Workspace::new();
    for i in 0..300 {
        ws.write(&format!("src/m{i}.py"), module(i, "main"));
    }
    git(&ws, &["init", "-q", "-b", "main"]);
    git(&ws, &["add", "-A"]);
    git(&ws, &["commit", "-q", "-m", "main"]);
    git(&ws, &["checkout", "-q", "-b", "feature"]);
    for i in 0..300 {
        if i % 2 == 0 {
            ws.write(&format!("src/m{i}.py"), module(i, "feature"));
        } else {
            std::fs::remove_file(ws.path(&format!("src/m{i}.py"))).unwrap();
            ws.write(&format!("lib/f{i}.py"), module(i, "feature_only"));
        }
    }
    git(&ws, &["add", "-A"]);
    git(&ws, &["commit", "-q", "-m", "feature"]);
    git(&ws, &["checkout", "-q", "main"]);

    let mut client = LspClient::spawn(&ws.cache_dir(), ws.home.path());
    client.initialize(&ws.root(), &["utf-16"], Value::Null).await;
    // Churn while the initial index runs.
    let root = ws.dir.path().to_path_buf();
    let churn = std::thread::spawn(move || {
        let mut operations = 0;
        for round in 0..10 {
            for i in 0..100 {
                let path = root.join(format!("churn/c{i}.py"));
                std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                std::fs::write(&path, module(i, &format!("round{round}"))).unwrap();
                operations += 1;
                if i % 3 == 0 {
                    std::fs::rename(&path, root.join(format!("churn/r{round}_{i}.py"))).unwrap();
                    operations += 1;
                } else if i % 3 == 1 {
                    std::fs::remove_file(&path).unwrap();
                    operations += 1;
                } else {
                    std::fs::write(&path, module(i, &format!("edited{round}"))).unwrap();
                    operations += 1;
                }
            }
        }
        operations
    });
    let operations = churn.join().unwrap();
    git(&ws, &["checkout", "-q", "feature"]);
    // A marker written last: once the server knows it, it has seen everything before it.
    ws.write("zz_marker.py", "def churn_marker_function():\n    pass\n");
    client.wait_for_status("ready", 1).await;
    let mut found = false;
    for _ in 0..200 {
        let answer = client.result("reverie/ask", json!({"question": "where is churn_marker_function defined?"})).await;
        if answer["source"] == "facts" {
            found = true;
            break;
        }
        let generation = client.generation();
        client.wait_for_generation(generation).await;
    }
    assert!(found, "the marker was never indexed");
    assert_eq!(client.shutdown().await, Some(0));

    let after_churn = ws.json(&["status", "."]);
    let fresh_cache = ws.home.path().join("fresh");
    let output =
        ws.command(&["index", ".", "--format", "json"]).env("REVERIE_CACHE_DIR", &fresh_cache).output().unwrap();
    let fresh: Value = serde_json::from_slice(&output.stdout).unwrap();
    let fresh = json!({"files": fresh["files"], "definitions": fresh["definitions"], "references": fresh["references"], "skipped": fresh["skipped"]});
    println!(
        "operations: {operations} + a branch switch touching 450 files; server: {:?}, fresh: {:?}",
        counts(&after_churn),
        counts(&fresh)
    );
    assert_eq!(counts(&after_churn), counts(&fresh), "the server's facts equal a fresh index of the final tree");
}
