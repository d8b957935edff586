//! A minimal LSP client for the benchmarks: `reverie serve` as a subprocess over stdio, on std threads —
//! a reader thread stamps each frame as its last byte arrives, answers the server's own requests at once
//! (progress tokens, registrations, configuration), records `reverie/status` notifications and
//! `$/progress` ends, and hands responses to the caller; so no client-side async runtime sits inside
//! the measured round trips.
#![allow(dead_code)] // Each benchmark uses its own part.

use crate::setup::{Scratch, fail as die};
use serde_json::{Value, json};
use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// How long a request or the initial index may take before the benchmark stops (`Server::timeout`).
pub const TIMEOUT: Duration = Duration::from_secs(120);

pub fn file_uri(path: &Path) -> String {
    let mut uri = String::from("file://");
    for byte in path.to_str().unwrap_or_else(|| die("a non-UTF-8 path")).bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => uri.push(byte as char),
            other => {
                let _ = write!(uri, "%{other:02X}");
            }
        }
    }
    uri
}

/// A response, stamped when its last byte was read.
pub struct Incoming {
    at: Instant,
    message: Value,
    /// Whether the server had reported the end of the initial index before this response arrived
    /// (frames arrive in order, so this is exact).
    after_ready: bool,
}

#[derive(Default)]
pub struct Seen {
    /// Every `reverie/status` notification, with its arrival time.
    pub statuses: Vec<(Instant, Value)>,
    /// The first status notification after the initial index (state ready, idle or thinking).
    pub ready: Option<(Instant, Value)>,
    /// Every `$/progress` end, with its arrival time and message.
    pub progress_ends: Vec<(Instant, String)>,
    /// Set when the server's stdout closed.
    pub closed: bool,
}

pub struct Server {
    child: Child,
    pub pid: u32,
    writer: Arc<Mutex<ChildStdin>>,
    responses: Receiver<Incoming>,
    seen: Arc<(Mutex<Seen>, Condvar)>,
    next_id: i64,
    stderr: PathBuf,
    /// How long a request or the initial index may take (default `TIMEOUT`).
    pub timeout: Duration,
    _scratch: Option<Scratch>,
}

pub fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

fn write_frame(writer: &Mutex<ChildStdin>, message: &Value) -> std::io::Result<()> {
    let body = serde_json::to_vec(message).map_err(std::io::Error::other)?;
    let mut frame = format!("Content-Length: {}\r\n\r\n", body.len()).into_bytes();
    frame.extend(body);
    let mut writer = lock(writer);
    writer.write_all(&frame)?;
    writer.flush()
}

/// One Content-Length framed message, or `None` when the stream ends.
fn read_frame(reader: &mut impl BufRead) -> Option<Vec<u8>> {
    let mut length = None;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let line = line.trim_end();
        if line.is_empty() {
            if length.is_some() {
                break;
            }
            continue;
        }
        if let Some((name, value)) = line.split_once(':')
            && name.trim().eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse::<usize>().ok();
        }
    }
    let mut body = vec![0; length?];
    reader.read_exact(&mut body).ok()?;
    Some(body)
}

/// Reads the server's messages until its stdout closes: answers its requests at once (progress tokens,
/// registrations), records status notifications, and hands responses to the main thread.
fn read_loop(
    stdout: impl Read,
    writer: Arc<Mutex<ChildStdin>>,
    responses: Sender<Incoming>,
    seen: Arc<(Mutex<Seen>, Condvar)>,
) {
    let mut reader = BufReader::with_capacity(1 << 16, stdout);
    let mut after_ready = false;
    while let Some(body) = read_frame(&mut reader) {
        let at = Instant::now();
        let Ok(message) = serde_json::from_slice::<Value>(&body) else {
            eprintln!("bench lsp: the server sent invalid JSON: {}", String::from_utf8_lossy(&body));
            continue;
        };
        match (message.get("method").and_then(Value::as_str), message.get("id")) {
            (Some(method), Some(id)) => {
                let result = match method {
                    "window/showDocument" => json!({"success": false}),
                    "workspace/configuration" => json!([]),
                    _ => Value::Null,
                };
                let _ = write_frame(&writer, &json!({"jsonrpc": "2.0", "id": id, "result": result}));
            }
            (Some("reverie/status"), None) => {
                let params = message["params"].clone();
                let state = params["state"].as_str().unwrap_or("");
                let (mutex, condvar) = &*seen;
                let mut seen = lock(mutex);
                if !after_ready && matches!(state, "ready" | "idle" | "thinking" | "error") {
                    after_ready = true;
                    seen.ready = Some((at, params.clone()));
                }
                seen.statuses.push((at, params));
                condvar.notify_all();
            }
            (Some("$/progress"), None) if message["params"]["value"]["kind"] == "end" => {
                let text = message["params"]["value"]["message"].as_str().unwrap_or("").to_string();
                let (mutex, condvar) = &*seen;
                lock(mutex).progress_ends.push((at, text));
                condvar.notify_all();
            }
            (Some(_), None) => {}
            (None, _) => {
                if responses.send(Incoming { at, message, after_ready }).is_err() {
                    break;
                }
            }
        }
    }
    let (mutex, condvar) = &*seen;
    lock(mutex).closed = true;
    condvar.notify_all();
}

pub struct Reply {
    /// When the response arrived.
    pub at: Instant,
    pub secs: f64,
    pub result: Value,
    pub after_ready: bool,
}

impl Server {
    /// `reverie serve` with its cache and config home under `dir` (kept by the caller when `scratch`
    /// is `None`, so a second server finds what the first stored).
    pub fn spawn_in(bin: &Path, dir: &Path, scratch: Option<Scratch>) -> Server {
        let cache = dir.join("cache");
        let config = dir.join("config");
        std::fs::create_dir_all(&config).ok();
        static SERVERS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = SERVERS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let stderr = dir.join(format!("stderr-{n}.log"));
        let stderr_file = std::fs::File::create(&stderr).unwrap_or_else(|e| die(&format!("cannot create a log: {e}")));
        let mut child = Command::new(bin)
            .arg("serve")
            .env("REVERIE_CACHE_DIR", &cache)
            .env("XDG_CONFIG_HOME", &config)
            .env("REVERIE_LOG", "warn")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(stderr_file))
            .spawn()
            .unwrap_or_else(|e| die(&format!("cannot run {} serve: {e}", bin.display())));
        let pid = child.id();
        let writer = Arc::new(Mutex::new(child.stdin.take().expect("piped stdin")));
        let stdout = child.stdout.take().expect("piped stdout");
        let (sender, responses) = mpsc::channel();
        let seen = Arc::new((Mutex::new(Seen::default()), Condvar::new()));
        {
            let writer = writer.clone();
            let seen = seen.clone();
            std::thread::spawn(move || read_loop(stdout, writer, sender, seen));
        }
        Server { child, pid, writer, responses, seen, next_id: 0, stderr, timeout: TIMEOUT, _scratch: scratch }
    }

    pub fn fail(&self, message: &str) -> ! {
        let log = std::fs::read_to_string(&self.stderr).unwrap_or_default();
        let tail: Vec<&str> = log.lines().rev().take(20).collect::<Vec<_>>().into_iter().rev().collect();
        die(&format!("{message}\nthe server's stderr (last lines):\n{}", tail.join("\n")))
    }

    pub fn send(&self, message: &Value) {
        if let Err(e) = write_frame(&self.writer, message) {
            self.fail(&format!("cannot write to the server: {e}"));
        }
    }

    pub fn notify(&self, method: &str, params: Value) {
        self.send(&json!({"jsonrpc": "2.0", "method": method, "params": params}));
    }

    /// Sends a request and waits for its response; the round trip runs from just before the write to
    /// the arrival of the response's last byte.
    pub fn request(&mut self, method: &str, params: Value) -> Reply {
        self.next_id += 1;
        let id = self.next_id;
        let started = Instant::now();
        self.send(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        loop {
            let incoming = match self.responses.recv_timeout(self.timeout) {
                Ok(incoming) => incoming,
                Err(RecvTimeoutError::Timeout) => {
                    self.fail(&format!("no answer to {method} within {:?}", self.timeout))
                }
                Err(RecvTimeoutError::Disconnected) => self.fail(&format!("the server exited during {method}")),
            };
            if incoming.message["id"] != json!(id) {
                continue; // An answer to an earlier request that was given up on: none are, but be safe.
            }
            if let Some(error) = incoming.message.get("error") {
                self.fail(&format!("{method} failed: {error}"));
            }
            return Reply {
                at: incoming.at,
                secs: incoming.at.duration_since(started).as_secs_f64(),
                result: incoming.message["result"].clone(),
                after_ready: incoming.after_ready,
            };
        }
    }

    /// `initialize` for `root` (an editor-like client: progress, dynamic watched-files registration).
    pub fn initialize(&mut self, root: &Path) {
        self.initialize_with(root, Value::Null);
    }

    /// `initialize` with `initializationOptions`.
    pub fn initialize_with(&mut self, root: &Path, options: Value) {
        let uri = file_uri(root);
        self.request(
            "initialize",
            json!({
                "processId": std::process::id(),
                "rootUri": uri,
                "workspaceFolders": [{"uri": uri, "name": root.file_name().map_or(String::new(), |n| n.to_string_lossy().into_owned())}],
                "capabilities": {
                    "general": {"positionEncodings": ["utf-16"]},
                    "window": {"workDoneProgress": true},
                    "workspace": {"didChangeWatchedFiles": {"dynamicRegistration": true}},
                    // The server sends `reverie/status` notifications only to clients that declare them.
                    "experimental": {"reverie": {"statusNotification": true}}
                },
                "initializationOptions": options
            }),
        );
    }

    pub fn ready(&self) -> Option<(Instant, Value)> {
        lock(&self.seen.0).ready.clone()
    }

    /// Waits for the end of the initial index (the first non-indexing `reverie/status` notification).
    pub fn wait_ready(&self) -> (Instant, Value) {
        let (mutex, condvar) = &*self.seen;
        let deadline = Instant::now() + self.timeout;
        let mut seen = lock(mutex);
        loop {
            if let Some(ready) = seen.ready.clone() {
                return ready;
            }
            if seen.closed {
                drop(seen);
                self.fail("the server exited before the index was ready");
            }
            let now = Instant::now();
            if now >= deadline {
                drop(seen);
                self.fail(&format!("the index was not ready within {:?}", self.timeout));
            }
            seen = condvar.wait_timeout(seen, deadline - now).unwrap_or_else(|e| e.into_inner()).0;
        }
    }

    /// Waits for a `$/progress` end whose message contains `needle`, arriving after `since`.
    pub fn wait_progress_end(&self, needle: &str, since: Instant, timeout: Duration) -> (Instant, String) {
        let (mutex, condvar) = &*self.seen;
        let deadline = Instant::now() + timeout;
        let mut seen = lock(mutex);
        loop {
            if let Some(end) = seen.progress_ends.iter().find(|(at, m)| *at >= since && m.contains(needle)) {
                return end.clone();
            }
            if seen.closed {
                drop(seen);
                self.fail(&format!("the server exited before a progress ended with {needle:?}"));
            }
            let now = Instant::now();
            if now >= deadline {
                drop(seen);
                self.fail(&format!("no progress ended with {needle:?} within {timeout:?}"));
            }
            seen = condvar.wait_timeout(seen, deadline - now).unwrap_or_else(|e| e.into_inner()).0;
        }
    }

    pub fn check_ready_state(&self, ready: &Value) {
        if ready["state"] == "error" {
            self.fail(&format!("the server reported an error: {}", ready["message"]));
        }
    }

    /// Generations announced after `since` (the snapshot was rebuilt), and the last one's arrival.
    pub fn generations_after(&self, since: Instant) -> (usize, Option<Instant>) {
        let seen = lock(&self.seen.0);
        let mut last_generation = None;
        let mut bumps = 0;
        let mut last_at = None;
        for (at, params) in &seen.statuses {
            let generation = params["generation"].as_u64();
            if *at > since && last_generation.is_some() && generation > last_generation {
                bumps += 1;
                last_at = Some(*at);
            }
            last_generation = last_generation.max(generation);
        }
        (bumps, last_at)
    }

    /// VmRSS and VmHWM of the server process, in bytes.
    pub fn rss(&self) -> Rss {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid))
            .unwrap_or_else(|e| self.fail(&format!("cannot read /proc/{}/status: {e}", self.pid)));
        let field = |name: &str| -> f64 {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
                .map_or(f64::NAN, |kib| kib * 1024.0)
        };
        Rss { rss: field("VmRSS:"), hwm: field("VmHWM:") }
    }

    /// shutdown + exit, then waits (bounded) for the process to end.
    pub fn shutdown(mut self) {
        self.request("shutdown", Value::Null);
        self.notify("exit", Value::Null);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        eprintln!("bench lsp: the server did not exit within 10 s of `exit`; killing it");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // Only this child, by its handle; a no-op when it already exited.
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

#[derive(Clone, Copy)]
pub struct Rss {
    pub rss: f64,
    pub hwm: f64,
}
