//! Bad input, measured: malformed and random LSP traffic, random bytes at the framing layer, and bad
//! files (huge, binary, invalid UTF-8, deeply nested, FIFOs, dangling links) — each handled with a
//! reason, never a panic or a hang.

use crate::util::Workspace;
use crate::util::lsp::LspClient;
use proptest::prelude::*;
use serde_json::{Value, json};
use tokio::io::AsyncReadExt;

/// Feeds `input` through the frame guard and returns what it passes on.
async fn guarded(input: Vec<u8>) -> Vec<u8> {
    let (mut reader, writer) = tokio::io::duplex(1 << 22);
    let guard = tokio::spawn(reverie::server::transport::guard_frames(std::io::Cursor::new(input), writer));
    let mut out = Vec::new();
    reader.read_to_end(&mut out).await.unwrap();
    guard.await.unwrap();
    out
}

/// Splits guarded output into frames; panics if it is not well-framed JSON objects.
fn frames(output: &[u8]) -> Vec<Value> {
    let mut frames = Vec::new();
    let mut rest = output;
    while !rest.is_empty() {
        let header_end = rest.windows(4).position(|w| w == b"\r\n\r\n").expect("a header");
        let header = std::str::from_utf8(&rest[..header_end]).unwrap();
        let length: usize = header.strip_prefix("Content-Length: ").unwrap().parse().unwrap();
        let body = &rest[header_end + 4..header_end + 4 + length];
        let value: Value = serde_json::from_slice(body).expect("the guard passes on JSON only");
        assert!(value.is_object());
        frames.push(value);
        rest = &rest[header_end + 4 + length..];
    }
    frames
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// Random bytes, and random bytes around valid frames: the guard never panics, always ends, and
    /// passes on only well-framed JSON objects — the valid frames among them intact.
    #[test]
    fn the_frame_guard_survives_random_bytes(noise in prop::collection::vec(any::<u8>(), 0..600), good in 0usize..4) {
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let mut input = noise.clone();
        for i in 0..good {
            let body = json!({"jsonrpc": "2.0", "id": i, "method": "reverie/status"}).to_string();
            input.extend(format!("\r\n\r\nContent-Length: {}\r\n\r\n{body}", body.len()).as_bytes());
        }
        let output = runtime.block_on(guarded(input));
        let frames = frames(&output);
        let ids: Vec<i64> = frames.iter().filter(|f| f["method"] == "reverie/status").filter_map(|f| f["id"].as_i64()).collect();
        // Noise can swallow at most the frames it runs into; the rest arrive intact.
        prop_assert!(ids.len() <= good);
        for f in &frames {
            prop_assert!(f["method"] == "reverie/status" || f["method"] == "reverie/malformed");
        }
    }
}

#[tokio::test]
async fn a_huge_frame_is_refused_without_reading_it_into_memory() {
    let mut input = format!("Content-Length: {}\r\n\r\n", 100 * 1024 * 1024).into_bytes();
    input.extend(vec![b' '; 100 * 1024 * 1024]);
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "reverie/status"}).to_string();
    input.extend(format!("Content-Length: {}\r\n\r\n{body}", body.len()).as_bytes());
    let frames = frames(&guarded(input).await);
    assert_eq!(frames.len(), 2);
    assert!(frames[0]["params"]["problem"].as_str().unwrap().contains("over the limit"), "{:?}", frames[0]);
    assert_eq!(frames[1]["id"], 1, "the next frame still arrives");
}

#[tokio::test]
async fn random_requests_get_answers_and_the_server_stays_up() {
    let ws = Workspace::with(&[("a.py", "def alpha():\n    return 1\n"), ("b.rs", "fn beta() -> u32 { 2 }\n")]);
    let mut client = LspClient::spawn(&ws.cache_dir(), ws.home.path());
    client.initialize(&ws.root(), &["utf-16"], Value::Null).await;
    client.wait_for_status("ready", 1).await;
    let uri = crate::util::lsp::file_uri(&ws.path("a.py"));
    client.open(&ws.path("a.py"), "python", "def alpha():\n    return 1\n").await;
    let methods = [
        "textDocument/hover",
        "textDocument/codeAction",
        "reverie/ask",
        "workspace/executeCommand",
        "textDocument/definition",
        "reverie/nothing",
        "$/weird",
    ];
    let params = [
        json!(null),
        json!([]),
        json!({"textDocument": {"uri": uri}, "position": {"line": 4294967295u32, "character": 4294967295u32}}),
        json!({"textDocument": {"uri": uri}, "position": {"line": -1, "character": "x"}}),
        json!({"textDocument": {"uri": "not a uri"}, "position": {"line": 0, "character": 0}}),
        json!({"textDocument": {"uri": uri}, "range": {"start": {"line": 9, "character": 9}, "end": {"line": 0, "character": 0}}, "context": {"diagnostics": []}}),
        json!({"question": "\u{0}\u{fffd}\u{d7ff}😀"}),
        json!({"command": "reverie.ask", "arguments": [42]}),
        json!({"question": "x".repeat(200_000)}),
    ];
    let mut answered = 0;
    for (i, method) in methods.iter().enumerate() {
        for p in &params {
            eprintln!("-> {method} {}", p.to_string().chars().take(80).collect::<String>());
            let response = client.request(method, p.clone()).await;
            assert!(response.get("result").is_some() || response.get("error").is_some(), "{method}: {response}");
            answered += 1;
            if i == 0 {
                // Edits with bad ranges interleaved: clamped, never a crash.
                client.notify("textDocument/didChange", json!({"textDocument": {"uri": uri, "version": answered + 1}, "contentChanges": [{"range": {"start": {"line": 99, "character": 99}, "end": {"line": 0, "character": 0}}, "text": "x😀"}]})).await;
            }
        }
    }
    println!("random requests answered: {answered}");
    let status = client.result("reverie/status", Value::Null).await;
    assert_eq!(status["files"], 2);
    assert_eq!(client.shutdown().await, Some(0));
}

#[cfg(unix)]
#[test]
fn bad_files_are_skipped_or_handled_with_a_reason() {
    let ws = Workspace::new();
    ws.write("ok.py", "def fine():\n    pass\n");
    // A 100 MB file (sparse: created instantly, never read).
    let huge = std::fs::File::create(ws.path("huge.py")).unwrap();
    huge.set_len(100 * 1024 * 1024).unwrap();
    ws.write("binary.rs", b"\x7fELF\x02\x01\x01\x00\x00\x00fn main() {}");
    ws.write("latin1.py", b"def caf\xe9():\n    return '\xff\xfe'\n\ndef after():\n    pass\n");
    // Deeply nested code: 20,000 levels of parentheses and of lists.
    ws.write("deep.py", format!("x = {}1{}\n\ndef after_deep():\n    pass\n", "(".repeat(20_000), ")".repeat(20_000)));
    ws.write(
        "deep.js",
        format!("const x = {}1{};\nfunction afterDeep() {{}}\n", "[".repeat(20_000), "]".repeat(20_000)),
    );
    let fifo = ws.path("pipe.py");
    assert!(Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    std::os::unix::fs::symlink(ws.path("missing.py"), ws.path("dangling.py")).unwrap();
    ws.write("reverie.toml", "[index]\nfollow_symlinks = true\n");

    let started = std::time::Instant::now();
    let report = ws.json(&["index", "."]);
    let skipped: Vec<(String, String)> = report["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["key"].as_str().unwrap().into(), s["reason"].as_str().unwrap().into()))
        .collect();
    println!("indexed in {:?}: {report}", started.elapsed());
    assert!(skipped.contains(&("huge.py".into(), "too-large".into())), "{skipped:?}");
    assert!(skipped.contains(&("binary.rs".into(), "binary".into())), "{skipped:?}");
    assert!(skipped.iter().any(|(k, r)| k == "dangling.py" && r == "unreadable"), "{skipped:?}");
    // Invalid UTF-8 and deep nesting are indexed (with what the parser recovers).
    let map = ws.ok(&["map", ".", "--budget", "2000"]);
    for name in ["fine", "after", "after_deep", "afterDeep"] {
        assert!(map.contains(name), "{name} missing from:\n{map}");
    }
    // The FIFO is not a regular file: never opened (opening it would block forever).
    assert!(!skipped.iter().any(|(k, _)| k == "pipe.py"));
    assert!(started.elapsed() < std::time::Duration::from_secs(60));
}

use std::process::Command;
