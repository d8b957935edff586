//! `cargo bench --bench lsp`: how responsive `reverie serve` is over stdio, on real code no one here wrote
//! (Django 5.1.4), while its initial index runs and after it finished. Anchors are measured in the same
//! run (these machines are shared and noisy: ratios hold, absolute times do not). See `benches/README.md`
//! for what it prints and the targets.
//!
//! Per run (REVERIE_BENCH_RUNS, default 3; medians over runs), each against the real release binary, with
//! the cache in a fresh, empty directory (REVERIE_CACHE_DIR) so the initial index runs for real:
//! 1. anchor: `reverie index DJANGO --format json --cache-dir FRESH` (the CLI, cold): wall, `elapsed_ms`,
//!    peak RSS;
//! 2. a quiet server session: initialize, `initialized`, and nothing else until the `reverie/status`
//!    notification says the index is done: time from `initialized` to "ready", and the server's
//!    VmRSS/VmHWM (`/proc/<pid>/status`) at that point;
//! 3. a loaded server session: initialize, `initialized`, `didOpen` of django/db/models/query.py, then
//!    rounds of four requests sent one after another (each waits for its answer): `reverie/status` (the
//!    anchor: answered without work), `textDocument/hover` and `textDocument/codeAction` on the method
//!    call `self.filter(…)` in `QuerySet.get`, and `reverie/ask` with a short question. While the index
//!    runs, rounds are paced to about REVERIE_BENCH_DURING (default 200) over the CLI's cold wall; after
//!    "ready", REVERIE_BENCH_REQUESTS (default 500) rounds back to back. Round trips are p50/p99/max per
//!    method and phase; RSS again after the requests.
//!
//! The client is std only (a reader thread that timestamps each frame as it arrives and answers the
//! server's own requests), so no async runtime of the client sits inside the measured round trips.
//! Under `cargo test --benches` (no `--bench` argument) it does nothing.

#[path = "common/lsp_client.rs"]
mod lsp_client;
#[path = "common/report.rs"]
mod report;
#[path = "common/setup.rs"]
mod setup;
use lsp_client::{Reply, Rss, Server, TIMEOUT, file_uri};
use report::*;
use serde_json::{Value, json};
use setup::{Scratch, bench_dir, env_usize, install_dir, reverie_binary, run_ok, single_subdir};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const DJANGO_VERSION: &str = "5.1.4";
const DEFAULT_RUNS: usize = 3;
const DEFAULT_REQUESTS: usize = 500;
const DEFAULT_DURING: usize = 200;
/// Hover round trip once the open file's facts exist (p99).
const TARGET_HOVER_P99_SECS: f64 = 0.010;
/// Any request while the initial index runs (the worst round trip of all runs).
const TARGET_DURING_MAX_SECS: f64 = 0.050;
/// Server memory after indexing Django (VmRSS and VmHWM), in bytes (MB = 10^6 bytes).
const TARGET_RSS_BYTES: f64 = 250e6;
/// The open file and the spot: hover and codeAction on `filter` in this line of `QuerySet.get`.
const OPEN_FILE: &str = "django/db/models/query.py";
const SPOT_LINE: &str = "clone = self._chain() if self.query.combinator else self.filter(*args, **kwargs)";
const SPOT_NAME: &str = "filter";
const QUESTION: &str = "What does QuerySet.get do when several rows match?";
/// Embedding Django at idle on 2 cores, from a fresh cache: the target the semantic index was built to.
const TARGET_EMBED_SECS: f64 = 15.0 * 60.0;
/// The server's memory with the embedder loaded and Django's vectors (its target), MB = 10^6 bytes.
const TARGET_EMBED_RSS_BYTES: f64 = 300e6;
/// `reverie/ask` once the vectors exist.
const TARGET_ASK_P99_SECS: f64 = 0.050;
/// The longest the embedding pass may take before the bench gives up.
const EMBED_TIMEOUT: Duration = Duration::from_secs(90 * 60);
/// Questions asked once the vectors are loaded, `EMBED_ASK_ROUNDS` times each.
const EMBED_QUESTIONS: [&str; 5] = [
    "where is the session cookie signed?",
    "how are migrations squashed?",
    "why would I get 'Apps aren't loaded yet'?",
    "how does the template loader find a template file?",
    "what happens when two requests update the same row at once?",
];
const EMBED_ASK_ROUNDS: usize = 10;

/// The four requests of a round, in the order they are sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Method {
    Status,
    Hover,
    CodeAction,
    Ask,
}

const METHODS: [Method; 4] = [Method::Status, Method::Hover, Method::CodeAction, Method::Ask];

/// The order of round `round`: a fixed-seed shuffle, so no method always follows the (slow) ask — the
/// request right after an ask has a longer tail, which would otherwise land on one method only.
fn round_order(round: usize) -> [Method; 4] {
    // splitmix64 of the round index.
    let mut x = (round as u64).wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut next = || {
        x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = x;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };
    let mut order = METHODS;
    for i in (1..order.len()).rev() {
        order.swap(i, (next() % (i as u64 + 1)) as usize);
    }
    order
}

impl Method {
    fn lsp(self) -> &'static str {
        match self {
            Method::Status => "reverie/status",
            Method::Hover => "textDocument/hover",
            Method::CodeAction => "textDocument/codeAction",
            Method::Ask => "reverie/ask",
        }
    }

    fn short(self) -> &'static str {
        match self {
            Method::Status => "status",
            Method::Hover => "hover",
            Method::CodeAction => "codeAction",
            Method::Ask => "ask",
        }
    }
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` / `--all-targets` does not. A benchmark that
    // downloads a corpus and runs for minutes has no place in a test run.
    if !std::env::args().any(|a| a == "--bench") {
        println!("benches/lsp.rs: skipped (not run by `cargo bench`); run `cargo bench --bench lsp`");
        return;
    }
    let ctx = Ctx::new();
    let history = std::env::var_os("REVERIE_BENCH_DJANGO_GIT").filter(|p| !p.is_empty()).map(PathBuf::from);
    if std::env::var("REVERIE_BENCH_ONLY").is_ok_and(|only| only == "history") {
        let Some(repo) = history else { die("REVERIE_BENCH_ONLY=history needs REVERIE_BENCH_DJANGO_GIT") };
        println!("reverie LSP benchmark, the history section only (REVERIE_BENCH_ONLY=history)");
        println!("  binary      {}; load average {}", ctx.bin.display(), load_average());
        let sessions = history_sessions(&ctx, &repo);
        let mut summary = Summary::default();
        report_history(&repo, &sessions, &mut summary);
        summary.print();
        println!("\nload average at the end: {}", load_average());
        return;
    }
    let django = ensure_django(&ctx);
    let spot = Spot::find(&django);
    ctx.print_setup(&django, &spot);

    // Warm-up (not measured): fills the page cache, as for every measured run after it.
    let warmup = ctx.scratch("warmup-");
    let _ = cli_index(&ctx, &django, &warmup.path.join("cache"), &warmup.path.join("config"));
    drop(warmup);

    let mut runs = Vec::new();
    println!();
    for run in 0..ctx.runs {
        let scratch = ctx.scratch("cli-");
        let cli = cli_index(&ctx, &django, &scratch.path.join("cache"), &scratch.path.join("config"));
        drop(scratch);
        let quiet = quiet_session(&ctx, &django);
        let loaded = loaded_session(&ctx, &django, &spot, cli.wall);
        println!(
            "  run {}/{}: CLI cold {} (index() {}, peak RSS {})  quiet server: ready after {} (index() {}), VmRSS {}, VmHWM {}",
            run + 1,
            ctx.runs,
            secs(cli.wall),
            secs(cli.elapsed),
            mb(cli.peak_rss),
            secs(quiet.ready),
            secs(quiet.index_secs),
            mb(quiet.rss.rss),
            mb(quiet.rss.hwm)
        );
        println!(
            "           loaded server: ready after {}, {} requests during indexing (max {}), {} after (hover p99 {}, ask p99 {}), VmRSS at the end {}, VmHWM {}",
            secs(loaded.ready),
            loaded.during.values().map(|s| s.latencies.len()).sum::<usize>(),
            secs(loaded.during.values().map(|s| max(&s.latencies)).fold(f64::NAN, f64::max)),
            loaded.after.values().map(|s| s.latencies.len()).sum::<usize>(),
            secs(percentile(&loaded.after[&Method::Hover].latencies, 0.99)),
            secs(percentile(&loaded.after[&Method::Ask].latencies, 0.99)),
            mb(loaded.rss_end.rss),
            mb(loaded.rss_end.hwm)
        );
        runs.push(Run { cli, quiet, loaded });
    }

    let embed = ctx.embed.then(|| {
        println!("\n  embedding Django at idle (REVERIE_BENCH_EMBED=0 skips this; ~10 min on 2 cores)…");
        embed_session(&ctx, &django)
    });

    let history_runs = history.as_ref().map(|repo| {
        println!("\n  the project's history: {} with and without .git (REVERIE_BENCH_DJANGO_GIT)…", repo.display());
        history_sessions(&ctx, repo)
    });

    let mut summary = Summary::default();
    report_during(&ctx, &runs, &mut summary);
    report_after(&ctx, &runs, &mut summary);
    report_memory(&runs, &mut summary);
    report_index(&runs, &mut summary);
    if let Some(embed) = &embed {
        report_embedding(embed, &runs, &mut summary);
    }
    if let (Some(repo), Some(sessions)) = (&history, &history_runs) {
        report_history(repo, sessions, &mut summary);
    }
    summary.print();
    println!("\nload average at the end: {}", load_average());
}

/// `/proc/loadavg`'s 1, 5 and 15 minute figures.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".to_string())
}

struct Run {
    cli: CliRun,
    quiet: QuietSession,
    loaded: LoadedSession,
}

// ------------------------------------------------------------------------------------------------
// Setup: where things are.

struct Ctx {
    bin: PathBuf,
    bench_dir: PathBuf,
    runs: usize,
    requests: usize,
    during: usize,
    /// Whether the embedding section runs (REVERIE_BENCH_EMBED, default 1).
    embed: bool,
}

impl Ctx {
    fn new() -> Ctx {
        let runs = env_usize("REVERIE_BENCH_RUNS", DEFAULT_RUNS).max(1);
        let requests = env_usize("REVERIE_BENCH_REQUESTS", DEFAULT_REQUESTS).max(1);
        let during = env_usize("REVERIE_BENCH_DURING", DEFAULT_DURING).max(1);
        let bench_dir = bench_dir();
        std::fs::create_dir_all(bench_dir.join("tmp"))
            .unwrap_or_else(|e| die(&format!("cannot create {}: {e}", bench_dir.display())));
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
        let bin = reverie_binary(&cargo);
        let embed = env_usize("REVERIE_BENCH_EMBED", 1) > 0;
        if embed {
            ensure_embedding_model();
        }
        Ctx { bin, bench_dir, runs, requests, during, embed }
    }

    fn print_setup(&self, django: &Path, spot: &Spot) {
        println!("reverie LSP benchmark (`reverie serve` over stdio)");
        println!("  binary      {}", self.bin.display());
        println!("  corpus      Django {DJANGO_VERSION} (sdist): {}", django.display());
        println!("  corpora in  {} (REVERIE_BENCH_DIR)", self.bench_dir.display());
        println!(
            "  open file   {OPEN_FILE} ({} lines, {:.1} KB)",
            thousands(spot.text.lines().count() as u64),
            spot.text.len() as f64 / 1024.0
        );
        println!(
            "  spot        line {}, character {}: `{SPOT_NAME}` in `{}` (hover; codeAction with an empty range there)",
            spot.line + 1,
            spot.character,
            SPOT_LINE
        );
        println!("  ask         {QUESTION:?} (with the open file and the spot as focus)");
        println!(
            "  runs        {} × (CLI cold, quiet server session, loaded server session), medians (REVERIE_BENCH_RUNS)",
            self.runs
        );
        println!(
            "  requests    rounds of status, hover, codeAction and ask (order shuffled per round, fixed seed), each sent after the previous answer; {} rounds after ready (REVERIE_BENCH_REQUESTS), about {} while indexing (REVERIE_BENCH_DURING, paced over the CLI's cold wall)",
            self.requests, self.during
        );
        println!("  memory      VmRSS and VmHWM from /proc/<server pid>/status; MB = 10^6 bytes");
        println!(
            "  cores       {}; load average {} (other work on the machine shows up in every figure)",
            std::thread::available_parallelism().map_or(0, |n| n.get()),
            load_average()
        );
    }

    /// A fresh directory under `<bench>/tmp`, removed when dropped.
    fn scratch(&self, prefix: &str) -> Scratch {
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Scratch::new(self.bench_dir.join("tmp").join(format!("lsp-{prefix}{}-{n}", std::process::id())))
    }

    /// `reverie serve` with its cache in a fresh directory and an empty config home.
    fn server(&self) -> Server {
        let scratch = self.scratch("serve-");
        let dir = scratch.path.clone();
        Server::spawn_in(&self.bin, &dir, Some(scratch))
    }
}

/// `scripts/fetch-embed-model.sh`: the server's default embedder looks for the model where it puts it.
fn ensure_embedding_model() {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/fetch-embed-model.sh");
    let out = Command::new(&script)
        .stderr(Stdio::inherit())
        .output()
        .unwrap_or_else(|e| die(&format!("cannot run {}: {e}", script.display())));
    if !out.status.success() {
        die(&format!("{} failed; REVERIE_BENCH_EMBED=0 skips the embedding section", script.display()));
    }
}

fn die(message: &str) -> ! {
    eprintln!("bench lsp: {message}");
    std::process::exit(2)
}

// ------------------------------------------------------------------------------------------------
// The corpus: pinned, downloaded once, kept outside the repo (the same place and layout as
// benches/index.rs, so either bench reuses the other's download).

/// `<bench>/django-5.1.4/<Django-5.1.4>`: the sdist from `pip download`, untarred.
fn ensure_django(ctx: &Ctx) -> PathBuf {
    let dir = ctx.bench_dir.join(format!("django-{DJANGO_VERSION}"));
    if let Some(root) = single_subdir(&dir) {
        return root;
    }
    println!("\ndownloading Django {DJANGO_VERSION} (pip download --no-deps --no-binary :all:)…");
    let downloads = ctx.bench_dir.join("downloads");
    std::fs::create_dir_all(&downloads).unwrap_or_else(|e| die(&format!("cannot create {}: {e}", downloads.display())));
    let spec = format!("django=={DJANGO_VERSION}");
    let pip_args = ["download", "--no-deps", "--no-binary", ":all:", &spec, "-d"];
    let ok = [("pip", vec![]), ("pip3", vec![]), ("python3", vec!["-m", "pip"])].iter().any(|(program, pre)| {
        Command::new(program).args(pre).args(pip_args).arg(&downloads).status().is_ok_and(|s| s.success())
    });
    if !ok {
        die(&format!("`pip download --no-deps --no-binary :all: {spec}` failed (is pip installed?)"));
    }
    let wanted = format!("django-{DJANGO_VERSION}.tar.gz");
    let tarball = std::fs::read_dir(&downloads)
        .ok()
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.file_name().is_some_and(|n| n.to_string_lossy().to_lowercase() == wanted))
        .unwrap_or_else(|| die(&format!("pip did not leave {wanted} in {}", downloads.display())));
    let staging = ctx.scratch("django-");
    run_ok(Command::new("tar").arg("xzf").arg(&tarball).arg("-C").arg(&staging.path), "untarring Django");
    install_dir(&staging.path, &dir);
    single_subdir(&dir).unwrap_or_else(|| die(&format!("unexpected layout in {}", dir.display())))
}

/// The open file and the position of the hover/codeAction (0-based line, UTF-16 character).
struct Spot {
    path: PathBuf,
    text: String,
    line: u32,
    character: u32,
}

impl Spot {
    fn find(django: &Path) -> Spot {
        let path = django.join(OPEN_FILE);
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| die(&format!("cannot read {}: {e}", path.display())));
        let (line, column) = text
            .lines()
            .enumerate()
            .find_map(|(i, l)| {
                let at = l.find(SPOT_LINE)?;
                let name = SPOT_LINE.find(&format!(".{SPOT_NAME}("))? + 1;
                Some((i, at + name))
            })
            .unwrap_or_else(|| die(&format!("no line `{SPOT_LINE}` in {}", path.display())));
        let prefix = &text.lines().nth(line).unwrap_or("")[..column];
        // Inside the name (not on its first character), as a cursor resting on it would be.
        let character = prefix.encode_utf16().count() as u32 + 2;
        Spot { path, text, line: line as u32, character }
    }

    fn uri(&self) -> String {
        file_uri(&self.path)
    }

    fn params(&self, method: Method) -> Value {
        let uri = self.uri();
        let position = json!({"line": self.line, "character": self.character});
        match method {
            Method::Status => Value::Null,
            Method::Hover => json!({"textDocument": {"uri": uri}, "position": position}),
            Method::CodeAction => json!({
                "textDocument": {"uri": uri},
                "range": {"start": position, "end": position},
                "context": {"diagnostics": []}
            }),
            Method::Ask => json!({"question": QUESTION, "textDocument": {"uri": uri}, "position": position}),
        }
    }
}

/// Whether a response carries what the method is for (a hover card, the three actions, cited context).
fn useful(method: Method, result: &Value) -> bool {
    match method {
        Method::Status => result["state"].is_string(),
        Method::Hover => result["contents"]["value"].as_str().is_some_and(|v| !v.is_empty()),
        Method::CodeAction => result.as_array().is_some_and(|a| a.len() == 3),
        Method::Ask => result["context"].as_array().is_some_and(|a| !a.is_empty()),
    }
}

// ------------------------------------------------------------------------------------------------
// The anchor: `reverie index` cold, as a subprocess.

struct CliRun {
    wall: f64,
    /// The part in `index()` (the report's `elapsed_ms`).
    elapsed: f64,
    peak_rss: f64,
    files: u64,
}

fn cli_index(ctx: &Ctx, root: &Path, cache: &Path, config: &Path) -> CliRun {
    std::fs::create_dir_all(config).ok();
    let started = Instant::now();
    let out = Command::new(&ctx.bin)
        .arg("index")
        .arg(root)
        .args(["--format", "json", "--cache-dir"])
        .arg(cache)
        .env("XDG_CONFIG_HOME", config)
        .env_remove("REVERIE_LOG")
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| die(&format!("cannot run {}: {e}", ctx.bin.display())));
    let wall = started.elapsed().as_secs_f64();
    if !out.status.success() {
        die(&format!("reverie index failed ({}):\n{}", out.status, String::from_utf8_lossy(&out.stderr)));
    }
    let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        die(&format!("reverie index did not print JSON ({e}):\n{}", String::from_utf8_lossy(&out.stdout)))
    });
    CliRun {
        wall,
        elapsed: report["elapsed_ms"].as_f64().unwrap_or(f64::NAN) / 1000.0,
        peak_rss: report["peak_rss_bytes"].as_f64().unwrap_or(f64::NAN),
        files: report["files"].as_u64().unwrap_or(0),
    }
}

/// The seconds of `index()` from the ready message ("indexed N files in X s (…)").
fn index_secs_of(status: &Value) -> f64 {
    status["message"]
        .as_str()
        .and_then(|m| m.split_once(" files in "))
        .and_then(|(_, rest)| rest.split_once(" s"))
        .and_then(|(secs, _)| secs.trim().parse().ok())
        .unwrap_or(f64::NAN)
}

// ------------------------------------------------------------------------------------------------
// Sessions.

struct QuietSession {
    /// `initialized` → the ready notification.
    ready: f64,
    index_secs: f64,
    files: u64,
    rss: Rss,
}

/// initialize, initialized, and nothing else until the index is ready.
fn quiet_session(ctx: &Ctx, root: &Path) -> QuietSession {
    let mut server = ctx.server();
    server.initialize(root);
    let started = Instant::now();
    server.notify("initialized", json!({}));
    let (at, status) = server.wait_ready();
    server.check_ready_state(&status);
    let rss = server.rss();
    server.shutdown();
    QuietSession {
        ready: at.duration_since(started).as_secs_f64(),
        index_secs: index_secs_of(&status),
        files: status["files"].as_u64().unwrap_or(0),
        rss,
    }
}

#[derive(Default)]
struct Samples {
    latencies: Vec<f64>,
    /// Responses that carried what the method is for (see `useful`).
    useful: usize,
    /// Arrival of each response, in the order of `latencies`.
    arrivals: Vec<Instant>,
}

impl Samples {
    fn push(&mut self, method: Method, reply: &Reply) {
        self.latencies.push(reply.secs);
        self.useful += usize::from(useful(method, &reply.result));
        self.arrivals.push(reply.at);
    }

    /// When the slowest response arrived, in seconds after `since`.
    fn slowest_at(&self, since: Instant) -> f64 {
        self.latencies
            .iter()
            .zip(&self.arrivals)
            .max_by(|a, b| a.0.total_cmp(b.0))
            .map_or(f64::NAN, |(_, at)| at.duration_since(since).as_secs_f64())
    }

    /// Round trips of the responses that arrived after `moment` (all of them when `None`).
    fn after(&self, moment: Option<Instant>) -> Vec<f64> {
        self.latencies
            .iter()
            .zip(&self.arrivals)
            .filter(|(_, at)| moment.is_none_or(|m| **at > m))
            .map(|(s, _)| *s)
            .collect()
    }

    /// Round trips of the responses that arrived before `moment` (all of them when `None`).
    fn before(&self, moment: Option<Instant>) -> Vec<f64> {
        self.latencies
            .iter()
            .zip(&self.arrivals)
            .filter(|(_, at)| moment.is_none_or(|m| **at < m))
            .map(|(s, _)| *s)
            .collect()
    }
}

struct LoadedSession {
    /// When `initialized` was sent.
    started: Instant,
    ready: f64,
    /// `initialized` → the first hover with a card (the open file's facts exist).
    first_card: f64,
    during: BTreeMap<Method, Samples>,
    /// Round trips while indexing that were answered before any hover or ask had content (the facts
    /// were not in the server's snapshot yet: the handlers had next to nothing to do), without the
    /// session's first request.
    before_facts: BTreeMap<Method, Vec<f64>>,
    /// From the first hover or ask with content to the ready notification, while the status still
    /// said `indexing` (the new snapshot was already being served).
    facts_before_ready: f64,
    /// Requests answered across the end of the index (in neither phase).
    straddling: usize,
    /// The first request after `didOpen`: its kind and round trip (it waits for the open file's parse).
    first_request: Option<(Method, f64)>,
    after: BTreeMap<Method, Samples>,
    /// Snapshot rebuilds announced after "ready" while the after-phase ran, and when the last one arrived
    /// (seconds after ready).
    rebuilds_after_ready: usize,
    last_rebuild: Option<f64>,
    /// Round trips after ready that arrived after the last rebuild announcement (steady state).
    steady: BTreeMap<Method, Vec<f64>>,
    rss_ready: Rss,
    rss_end: Rss,
}

fn loaded_session(ctx: &Ctx, root: &Path, spot: &Spot, cli_wall: f64) -> LoadedSession {
    let mut server = ctx.server();
    server.initialize(root);
    let started = Instant::now();
    server.notify("initialized", json!({}));
    server.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": spot.uri(), "languageId": "python", "version": 1, "text": spot.text}}),
    );
    let mut first_card = None;
    let mut first_facts: Option<Instant> = None;
    let mut note_card = |reply: &Reply, method: Method| {
        if matches!(method, Method::Hover | Method::Ask) && first_facts.is_none() && useful(method, &reply.result) {
            first_facts = Some(reply.at);
        }
        if method == Method::Hover && first_card.is_none() && useful(method, &reply.result) {
            first_card = Some(reply.at.duration_since(started).as_secs_f64());
        }
    };

    // While indexing: rounds paced so that about `ctx.during` of them spread over the CLI's cold wall.
    let period = Duration::from_secs_f64(cli_wall / ctx.during as f64);
    let mut during: BTreeMap<Method, Samples> = METHODS.iter().map(|m| (*m, Samples::default())).collect();
    let mut straddling = 0;
    let mut first_request = None;
    let mut rounds = 0;
    while server.ready().is_none() {
        let round = Instant::now();
        rounds += 1;
        for method in round_order(rounds) {
            let reply = server.request(method.lsp(), spot.params(method));
            note_card(&reply, method);
            first_request.get_or_insert((method, reply.secs));
            if reply.after_ready {
                straddling += 1;
            } else if let Some(samples) = during.get_mut(&method) {
                samples.push(method, &reply);
            }
        }
        if let Some(rest) = period.checked_sub(round.elapsed())
            && server.ready().is_none()
        {
            std::thread::sleep(rest);
        }
    }
    let (ready_at, status) = server.wait_ready();
    server.check_ready_state(&status);
    let rss_ready = server.rss();

    let mut after: BTreeMap<Method, Samples> = METHODS.iter().map(|m| (*m, Samples::default())).collect();
    for _ in 0..ctx.requests {
        rounds += 1;
        for method in round_order(rounds) {
            let reply = server.request(method.lsp(), spot.params(method));
            note_card(&reply, method);
            if let Some(samples) = after.get_mut(&method) {
                samples.push(method, &reply);
            }
        }
    }
    let rss_end = server.rss();
    let (rebuilds_after_ready, last_rebuild) = server.generations_after(ready_at);
    server.shutdown();
    let mut before_facts: BTreeMap<Method, Vec<f64>> =
        during.iter().map(|(m, s)| (*m, s.before(first_facts))).collect();
    // The first request waits for didOpen's parse (its own row), not for the index.
    if let Some(samples) = first_request.and_then(|(m, _)| before_facts.get_mut(&m))
        && !samples.is_empty()
    {
        samples.remove(0);
    }
    let steady = after.iter().map(|(m, s)| (*m, s.after(last_rebuild))).collect();
    LoadedSession {
        started,
        ready: ready_at.duration_since(started).as_secs_f64(),
        first_card: first_card.unwrap_or(f64::NAN),
        before_facts,
        facts_before_ready: first_facts
            .filter(|f| *f < ready_at)
            .map_or(0.0, |f| ready_at.duration_since(f).as_secs_f64()),
        during,
        straddling,
        first_request,
        after,
        rebuilds_after_ready,
        last_rebuild: last_rebuild.map(|at| at.duration_since(ready_at).as_secs_f64()),
        steady,
        rss_ready,
        rss_end,
    }
}

// ------------------------------------------------------------------------------------------------
// Embedding at idle.

struct EmbedSession {
    /// Definitions and note passages the first session embedded (from its progress message).
    definitions: u64,
    /// The first session: "ready" → the end of the embedding progress (idle after 1 s).
    secs: f64,
    /// The first session at the end of its embedding pass: VmHWM is its peak over indexing, loading
    /// the model and embedding everything.
    rss_embedding: Rss,
    /// The cache directory before and after the pass (facts, then facts and vectors).
    store_before: u64,
    store_after: u64,
    /// The second session, on the same cache: "ready" → its (empty) embedding pass ended and the index
    /// is loaded.
    loaded_secs: f64,
    /// Round trips of `reverie/ask` (no open file) in the second session.
    asks: Vec<f64>,
    /// Asks whose context cites something found by meaning (`reason` says "meaning").
    by_meaning: usize,
    rss_steady: Rss,
}

/// A first server on a fresh cache embeds Django at idle; a second, on that cache, answers questions
/// with the vectors loaded. Both with the default configuration (the in-process all-MiniLM-L6-v2).
fn embed_session(ctx: &Ctx, root: &Path) -> EmbedSession {
    let scratch = ctx.scratch("embed-");
    let options = json!({"server": {"idle_after": "1s"}});
    let mut first = Server::spawn_in(&ctx.bin, &scratch.path, None);
    first.initialize_with(root, options.clone());
    first.notify("initialized", json!({}));
    let (ready, status) = first.wait_ready();
    first.check_ready_state(&status);
    let store_before = dir_size(&scratch.path.join("cache"));
    let (ended, message) = first.wait_progress_end("embed", ready, EMBED_TIMEOUT);
    if !message.starts_with("embedded ") {
        first.fail(&format!("the embedding pass did not finish: {message:?}"));
    }
    let definitions = message.split_whitespace().filter_map(|w| w.parse::<u64>().ok()).sum::<u64>();
    let rss_embedding = first.rss();
    first.shutdown();
    let store_after = dir_size(&scratch.path.join("cache"));

    let mut second = Server::spawn_in(&ctx.bin, &scratch.path, None);
    second.initialize_with(root, options);
    second.notify("initialized", json!({}));
    let (ready_again, status) = second.wait_ready();
    second.check_ready_state(&status);
    let (loaded, message) = second.wait_progress_end("embed", ready_again, TIMEOUT);
    if message != "embedded 0 definitions" {
        second.fail(&format!("the second session embedded again: {message:?}"));
    }
    let mut asks = Vec::new();
    let mut by_meaning = 0;
    for round in 0..EMBED_ASK_ROUNDS {
        for question in EMBED_QUESTIONS {
            let reply = second.request("reverie/ask", json!({"question": question}));
            asks.push(reply.secs);
            let cites_meaning = reply.result["context"].as_array().is_some_and(|items| {
                items.iter().any(|i| i["reason"].as_str().is_some_and(|r| r.contains("its meaning is close")))
            });
            if round == 0 && cites_meaning {
                by_meaning += 1;
            }
        }
    }
    let rss_steady = second.rss();
    second.shutdown();
    drop(scratch);
    EmbedSession {
        definitions,
        secs: ended.duration_since(ready).as_secs_f64(),
        rss_embedding,
        store_before,
        store_after,
        loaded_secs: loaded.duration_since(ready_again).as_secs_f64(),
        asks,
        by_meaning,
        rss_steady,
    }
}

/// Bytes of the files under `dir`.
fn dir_size(dir: &Path) -> u64 {
    let mut total = 0;
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            match entry.metadata() {
                Ok(meta) if meta.is_dir() => pending.push(entry.path()),
                Ok(meta) => total += meta.len(),
                Err(_) => {}
            }
        }
    }
    total
}

fn report_embedding(embed: &EmbedSession, runs: &[Run], summary: &mut Summary) {
    let cli = median(&per_run(runs, |r| r.cli.wall));
    let cli_rss = median(&per_run(runs, |r| r.cli.peak_rss));
    let mut table = Table::new(
        "Embedding at idle (one session on a fresh cache, then one on that cache); anchors: `reverie index` cold, same runs",
    );
    let row = Row::new(
        "ready → everything embedded (idle after 1 s)",
        secs(embed.secs),
        "",
        format!("≤ {}", secs(TARGET_EMBED_SECS)),
        Some(embed.secs <= TARGET_EMBED_SECS),
    )
    .anchor(format!("CLI cold {}", secs(cli)), ratio(embed.secs / cli));
    summary.add("embedding", &row);
    table.row(row);
    table.row(Row::info(
        "  definitions and note passages embedded",
        format!("{} ({:.1}/s)", thousands(embed.definitions), embed.definitions as f64 / embed.secs),
        "",
    ));
    table.row(Row::info(
        "  store: before → after the pass",
        format!("{} → {}", mb(embed.store_before as f64), mb(embed.store_after as f64)),
        "",
    ));
    let target = format!("≤ {}", mb(TARGET_EMBED_RSS_BYTES));
    for (figure, value) in [
        ("first session: VmHWM (index, model, embedding)", embed.rss_embedding.hwm),
        ("second session: VmRSS after the asks", embed.rss_steady.rss),
        ("second session: VmHWM after the asks", embed.rss_steady.hwm),
    ] {
        let row = Row::new(figure, mb(value), "", target.clone(), Some(value <= TARGET_EMBED_RSS_BYTES))
            .anchor(format!("CLI peak {}", mb(cli_rss)), ratio(value / cli_rss));
        summary.add("embedding", &row);
        table.row(row);
    }
    table.row(Row::info("second session: ready → vectors loaded", secs(embed.loaded_secs), ""));
    let p99 = percentile(&embed.asks, 0.99);
    let row = Row::new(
        &format!("second session: ask round trip p99 ({} asks)", embed.asks.len()),
        secs(p99),
        &format!("p50 {}", secs(percentile(&embed.asks, 0.5))),
        format!("≤ {}", secs(TARGET_ASK_P99_SECS)),
        Some(p99 <= TARGET_ASK_P99_SECS),
    );
    summary.add("embedding", &row);
    table.row(row);
    table.row(Row::info(
        "  questions citing something found by meaning",
        format!("{} of {}", embed.by_meaning, EMBED_QUESTIONS.len()),
        "",
    ));
    table.print();
}

// ------------------------------------------------------------------------------------------------
// Reports.

/// Per-run values of `f`, over the runs.
fn per_run(runs: &[Run], f: impl Fn(&Run) -> f64) -> Vec<f64> {
    runs.iter().map(f).collect()
}

fn phase(run: &Run, during: bool, method: Method) -> &Samples {
    let map = if during { &run.loaded.during } else { &run.loaded.after };
    &map[&method]
}

/// p50/p99 rows for `method` in a phase, with the trivial request of the same phase and run as anchor.
fn latency_rows(
    runs: &[Run],
    during: bool,
    method: Method,
    target_p99: Option<f64>,
    section: &str,
    summary: &mut Summary,
    table: &mut Table,
) {
    for (q, name) in [(0.5, "p50"), (0.99, "p99")] {
        let values = per_run(runs, |r| percentile(&phase(r, during, method).latencies, q));
        let anchors = per_run(runs, |r| percentile(&phase(r, during, Method::Status).latencies, q));
        let ratios: Vec<f64> = values.iter().zip(&anchors).map(|(v, a)| v / a).collect();
        let value = median(&values);
        let (target, pass) = match target_p99 {
            Some(t) if q > 0.9 => (format!("≤ {}", secs(t)), Some(value <= t)),
            _ => ("—".to_string(), None),
        };
        let mut row = Row::new(&format!("{} {name}", method.lsp()), secs(value), &spread(&values, secs), target, pass);
        if method != Method::Status {
            row = row.anchor(format!("status {name} {}", secs(median(&anchors))), ratio(median(&ratios)));
        }
        summary.add(section, &row);
        table.row(row);
    }
}

fn useful_text(runs: &[Run], during: bool, method: Method) -> String {
    let useful: usize = runs.iter().map(|r| phase(r, during, method).useful).sum();
    let total: usize = runs.iter().map(|r| phase(r, during, method).latencies.len()).sum();
    format!("{useful}/{total}")
}

fn report_during(ctx: &Ctx, runs: &[Run], summary: &mut Summary) {
    let counts: Vec<String> =
        runs.iter().map(|r| r.loaded.during[&Method::Hover].latencies.len().to_string()).collect::<Vec<_>>();
    let mut table = Table::new(&format!(
        "While the initial index runs (state `indexing`, the loaded session) — {} runs, medians; rounds per run: {}",
        ctx.runs,
        counts.join(", ")
    ));
    for method in METHODS {
        latency_rows(runs, true, method, None, "while indexing", summary, &mut table);
    }
    for method in METHODS {
        let maxima = per_run(runs, |r| max(&phase(r, true, method).latencies));
        let after_max = per_run(runs, |r| max(&phase(r, false, method).latencies));
        let worst = max(&maxima);
        let per_run_text: Vec<String> = runs
            .iter()
            .zip(&maxima)
            .map(|(r, m)| {
                let at = r.loaded.during[&method].slowest_at(r.loaded.started);
                format!("{} at +{at:.2} s", secs(*m))
            })
            .collect();
        let row = Row::new(
            &format!("{} max (worst of all runs)", method.lsp()),
            secs(worst),
            &format!("per run {}", per_run_text.join(", ")),
            format!("≤ {}", secs(TARGET_DURING_MAX_SECS)),
            Some(worst <= TARGET_DURING_MAX_SECS),
        )
        .anchor(format!("max after ready {}", secs(max(&after_max))), ratio(worst / max(&after_max)));
        summary.add("while indexing", &row);
        table.row(row);
    }
    for method in METHODS {
        let maxima = per_run(runs, |r| max(&r.loaded.before_facts[&method]));
        let counts: usize = runs.iter().map(|r| r.loaded.before_facts[&method].len()).sum();
        table.row(Row::info(
            &format!("{} max before the facts were served (worst; not the first request)", method.short()),
            secs(max(&maxima)),
            &format!(
                "{counts} requests; p99 {}",
                secs(median(&per_run(runs, |r| percentile(&r.loaded.before_facts[&method], 0.99))))
            ),
        ));
    }
    for method in [Method::Hover, Method::CodeAction, Method::Ask] {
        table.row(Row::info(
            &format!("{} answers with content", method.short()),
            useful_text(runs, true, method),
            "all runs",
        ));
    }
    let first = per_run(runs, |r| r.loaded.first_request.map_or(f64::NAN, |(_, s)| s));
    let kinds: Vec<&str> = runs.iter().filter_map(|r| r.loaded.first_request.map(|(m, _)| m.short())).collect();
    table.row(Row::info(
        "first request after didOpen (waits for the open file's parse)",
        secs(median(&first)),
        &format!("{} ({})", spread(&first, secs), kinds.join(", ")),
    ));
    let window = per_run(runs, |r| r.loaded.facts_before_ready);
    table.row(Row::info(
        "facts served while the status still said indexing",
        secs(median(&window)),
        &spread(&window, secs),
    ));
    let straddling: usize = runs.iter().map(|r| r.loaded.straddling).sum();
    table.row(Row::info(
        "requests answered across the end of the index (in neither phase)",
        straddling.to_string(),
        "",
    ));
    table.print();
}

fn report_after(ctx: &Ctx, runs: &[Run], summary: &mut Summary) {
    let mut table = Table::new(&format!(
        "After the index is ready (the loaded session) — {} rounds × {} runs, medians of per-run percentiles",
        ctx.requests, ctx.runs
    ));
    for method in METHODS {
        let target = (method == Method::Hover).then_some(TARGET_HOVER_P99_SECS);
        latency_rows(runs, false, method, target, "after ready", summary, &mut table);
    }
    for method in METHODS {
        let maxima = per_run(runs, |r| max(&phase(r, false, method).latencies));
        table.row(Row::info(&format!("{} max", method.lsp()), secs(median(&maxima)), &spread(&maxima, secs)));
    }
    let anchors = per_run(runs, |r| percentile(&r.loaded.steady[&Method::Status], 0.99));
    for method in METHODS {
        let values = per_run(runs, |r| percentile(&r.loaded.steady[&method], 0.99));
        let ratios: Vec<f64> = values.iter().zip(&anchors).map(|(v, a)| v / a).collect();
        let maxima = per_run(runs, |r| max(&r.loaded.steady[&method]));
        let mut row = Row::info(
            &format!("{} p99 after the post-ready rebuild", method.short()),
            secs(median(&values)),
            &[spread(&values, secs), format!("max {}", secs(median(&maxima)))]
                .into_iter()
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>()
                .join("; "),
        );
        if method != Method::Status {
            row = row.anchor(format!("status p99 {}", secs(median(&anchors))), ratio(median(&ratios)));
        }
        table.row(row);
    }
    for method in [Method::Hover, Method::CodeAction, Method::Ask] {
        table.row(Row::info(
            &format!("{} answers with content", method.short()),
            useful_text(runs, false, method),
            "all runs",
        ));
    }
    let rebuilds = per_run(runs, |r| r.loaded.rebuilds_after_ready as f64);
    let last: Vec<String> = runs
        .iter()
        .map(|r| r.loaded.last_rebuild.map_or_else(|| "—".to_string(), |s| format!("+{}", secs(s))))
        .collect();
    table.row(Row::info(
        "snapshot rebuilds announced after ready",
        format!("{}", median(&rebuilds)),
        &format!("last one after ready: {}", last.join(", ")),
    ));
    table.print();
}

fn report_memory(runs: &[Run], summary: &mut Summary) {
    let cli = per_run(runs, |r| r.cli.peak_rss);
    let anchor = format!("CLI peak {}", mb(median(&cli)));
    let mut table = Table::new(&format!(
        "Server memory, /proc/<pid>/status — {} runs, medians; anchor: `reverie index` cold peak RSS (VmHWM)",
        runs.len()
    ));
    let target = format!("≤ {}", mb(TARGET_RSS_BYTES));
    let rows: [(&str, Vec<f64>, bool); 5] = [
        ("quiet session: VmRSS when ready", per_run(runs, |r| r.quiet.rss.rss), true),
        ("quiet session: VmHWM when ready", per_run(runs, |r| r.quiet.rss.hwm), true),
        ("loaded session: VmRSS when ready", per_run(runs, |r| r.loaded.rss_ready.rss), false),
        ("loaded session: VmRSS after all requests", per_run(runs, |r| r.loaded.rss_end.rss), true),
        ("loaded session: VmHWM after all requests", per_run(runs, |r| r.loaded.rss_end.hwm), true),
    ];
    for (figure, values, targeted) in rows {
        let value = median(&values);
        let ratios: Vec<f64> = values.iter().zip(&cli).map(|(v, c)| v / c).collect();
        let row = if targeted {
            Row::new(figure, mb(value), &spread(&values, mb), target.clone(), Some(value <= TARGET_RSS_BYTES))
        } else {
            Row::info(figure, mb(value), &spread(&values, mb))
        }
        .anchor(anchor.clone(), ratio(median(&ratios)));
        summary.add("memory", &row);
        table.row(row);
    }
    table.print();
}

fn report_index(runs: &[Run], summary: &mut Summary) {
    let cli = per_run(runs, |r| r.cli.wall);
    let cli_elapsed = per_run(runs, |r| r.cli.elapsed);
    let anchor = format!("CLI cold {}", secs(median(&cli)));
    let mut table = Table::new(&format!(
        "Initial index in the server: `initialized` → status \"ready\" — {} runs, medians; anchor: `reverie index` cold (subprocess wall), same runs",
        runs.len()
    ));
    let pair = |values: &[f64], anchors: &[f64]| -> f64 {
        median(&values.iter().zip(anchors).map(|(v, a)| v / a).collect::<Vec<_>>())
    };
    let quiet = per_run(runs, |r| r.quiet.ready);
    table.row(
        Row::info("quiet session: initialized → ready", secs(median(&quiet)), &spread(&quiet, secs))
            .anchor(anchor.clone(), ratio(pair(&quiet, &cli))),
    );
    let quiet_index = per_run(runs, |r| r.quiet.index_secs);
    table.row(
        Row::info(
            "  of which index() (from the ready message, 0.1 s)",
            secs(median(&quiet_index)),
            &spread(&quiet_index, secs),
        )
        .anchor(format!("CLI index() {}", secs(median(&cli_elapsed))), ratio(pair(&quiet_index, &cli_elapsed))),
    );
    let loaded = per_run(runs, |r| r.loaded.ready);
    table.row(
        Row::info("loaded session: initialized → ready", secs(median(&loaded)), &spread(&loaded, secs))
            .anchor(anchor.clone(), ratio(pair(&loaded, &cli))),
    );
    let card = per_run(runs, |r| r.loaded.first_card);
    table.row(
        Row::info("loaded session: initialized → first hover card", secs(median(&card)), &spread(&card, secs))
            .anchor(anchor, ratio(pair(&card, &cli))),
    );
    let files_match = runs.iter().all(|r| r.quiet.files == r.cli.files);
    let row = Row::new(
        "files indexed by the server",
        thousands(runs[0].quiet.files),
        "",
        "= the CLI's".to_string(),
        Some(files_match),
    )
    .anchor(format!("CLI {}", thousands(runs[0].cli.files)), "—".to_string());
    summary.add("initial index", &row);
    table.row(row);
    table.print();
}

// ------------------------------------------------------------------------------------------------
// The project's history (REVERIE_BENCH_DJANGO_GIT).

/// Server memory the mined history may add on Django (VmRSS, history against none), MB = 10^6 bytes.
const TARGET_HISTORY_RSS_BYTES: f64 = 30e6;
/// Mining Django's history at idle on 2 cores, from a fresh cache.
const TARGET_HISTORY_MINING_SECS: f64 = 60.0;
/// Bug-report-shaped questions (the past-changes channel answers those), asked `HISTORY_ASK_ROUNDS` times.
const HISTORY_QUESTIONS: [&str; 5] = [
    "QuerySet.get() raises MultipleObjectsReturned with a misleading count",
    "makemigrations crashes when a model field default is a callable on a ForeignKey",
    "The admin changelist filter crashes with a related field in list_filter",
    "Session cookie is not deleted when SESSION_COOKIE_DOMAIN is set",
    "Template loader cache is not cleared when a template is edited in DEBUG mode",
];
const HISTORY_ASK_ROUNDS: usize = 20;

/// One server session on a Django tree, embedding off: ready, the history pass over, then the asks.
struct HistorySession {
    /// `initialized` → the end of the history pass (idle after 1 s).
    mined: f64,
    /// The history pass's closing message.
    message: String,
    asks: Vec<f64>,
    /// Questions (first round) with an item lifted by similar past changes.
    lifted: usize,
    rss_mined: Rss,
    rss_end: Rss,
}

/// `root` with the embedder off; the history pass runs at idle (a tree without `.git` says so and ends).
/// The cache lives in `dir` (a fresh one when `None`).
fn history_session(ctx: &Ctx, root: &Path, dir: Option<&Path>) -> HistorySession {
    let mut server = match dir {
        Some(dir) => Server::spawn_in(&ctx.bin, dir, None),
        None => ctx.server(),
    };
    server.initialize_with(root, json!({"server": {"idle_after": "1s"}, "embed": {"provider": "none"}}));
    let started = Instant::now();
    server.notify("initialized", json!({}));
    let (ready, status) = server.wait_ready();
    server.check_ready_state(&status);
    let (ended, message) = server.wait_progress_end("history", ready, HISTORY_TIMEOUT);
    let rss_mined = server.rss();
    let mut asks = Vec::new();
    let mut lifted = 0;
    for round in 0..HISTORY_ASK_ROUNDS {
        for question in HISTORY_QUESTIONS {
            let reply = server.request("reverie/ask", json!({"question": question}));
            asks.push(reply.secs);
            let by_history = reply.result["context"].as_array().is_some_and(|items| {
                items.iter().any(|i| i["reason"].as_str().is_some_and(|r| r.contains("similar past change")))
            });
            if round == 0 && by_history {
                lifted += 1;
            }
        }
    }
    let rss_end = server.rss();
    server.shutdown();
    HistorySession { mined: ended.duration_since(started).as_secs_f64(), message, asks, lifted, rss_mined, rss_end }
}

/// The longest a history pass may take before the bench gives up.
const HISTORY_TIMEOUT: Duration = Duration::from_secs(20 * 60);

/// The same files without `.git` (the anchor: no history), then the git working copy twice on one
/// cache: the first session mines the history, the second finds it mined.
fn history_sessions(ctx: &Ctx, repo: &Path) -> [HistorySession; 3] {
    let plain = ctx.scratch("plain-");
    let tree = plain.path.join("django");
    std::fs::create_dir_all(&tree).unwrap_or_else(|e| die(&format!("cannot create {}: {e}", tree.display())));
    let archive = Command::new("sh")
        .arg("-c")
        .arg("git -C \"$1\" archive HEAD | tar -x -C \"$2\"")
        .arg("sh")
        .arg(repo)
        .arg(&tree)
        .status()
        .unwrap_or_else(|e| die(&format!("cannot run git archive: {e}")));
    if !archive.success() {
        die(&format!("`git archive HEAD` of {} failed (is it a git working copy?)", repo.display()));
    }
    let without = history_session(ctx, &tree, None);
    drop(plain);
    let cache = ctx.scratch("history-");
    let mining = history_session(ctx, repo, Some(&cache.path));
    let mined = history_session(ctx, repo, Some(&cache.path));
    [without, mining, mined]
}

fn report_history(repo: &Path, sessions: &[HistorySession; 3], summary: &mut Summary) {
    let [without, with, again] = sessions;
    let mut table = Table::new(&format!(
        "The project's history — {} (HEAD {}), embedding off, idle after 1 s; anchor: the same files without .git",
        repo.display(),
        git_head(repo)
    ));
    table.row(Row::info("history pass", with.message.clone(), ""));
    let row = Row::new(
        "initialized → history mined",
        secs(with.mined),
        "",
        format!("≤ {}", secs(TARGET_HISTORY_MINING_SECS)),
        Some(with.mined <= TARGET_HISTORY_MINING_SECS),
    )
    .anchor(format!("no .git {}", secs(without.mined)), ratio(with.mined / without.mined));
    summary.add("history", &row);
    table.row(row);
    let added = with.rss_end.rss - without.rss_end.rss;
    let row = Row::new(
        "VmRSS after the asks: with history − without",
        mb(added),
        &format!("{} − {}", mb(with.rss_end.rss), mb(without.rss_end.rss)),
        format!("≤ {}", mb(TARGET_HISTORY_RSS_BYTES)),
        Some(added <= TARGET_HISTORY_RSS_BYTES),
    );
    summary.add("history", &row);
    table.row(row);
    let added_again = again.rss_end.rss - without.rss_end.rss;
    let row = Row::new(
        "  the next session (history mined before): with − without",
        mb(added_again),
        &format!("{} − {}", mb(again.rss_end.rss), mb(without.rss_end.rss)),
        format!("≤ {}", mb(TARGET_HISTORY_RSS_BYTES)),
        Some(added_again <= TARGET_HISTORY_RSS_BYTES),
    );
    summary.add("history", &row);
    table.row(row);
    table.row(Row::info(
        "VmHWM after the asks: with history / without",
        format!("{} / {}", mb(with.rss_end.hwm), mb(without.rss_end.hwm)),
        "",
    ));
    table.row(Row::info(
        "VmRSS when the pass ended: with history / without",
        format!("{} / {}", mb(with.rss_mined.rss), mb(without.rss_mined.rss)),
        "",
    ));
    let p99 = percentile(&with.asks, 0.99);
    let anchor_p99 = percentile(&without.asks, 0.99);
    let row = Row::new(
        &format!("ask round trip p99 with history ({} asks)", with.asks.len()),
        secs(p99),
        &format!("p50 {}", secs(percentile(&with.asks, 0.5))),
        format!("≤ {}", secs(TARGET_ASK_P99_SECS)),
        Some(p99 <= TARGET_ASK_P99_SECS),
    )
    .anchor(format!("no history p99 {}", secs(anchor_p99)), ratio(p99 / anchor_p99));
    summary.add("history", &row);
    table.row(row);
    table.row(Row::info(
        "  the next session: ask p99 / p50; initialized → its history pass ended",
        format!(
            "{} / {}; {}",
            secs(percentile(&again.asks, 0.99)),
            secs(percentile(&again.asks, 0.5)),
            secs(again.mined)
        ),
        &again.message,
    ));
    table.row(Row::info(
        "  questions with an item lifted by similar past changes",
        format!("{} of {}", with.lifted, HISTORY_QUESTIONS.len()),
        &format!("without .git: {}", without.lifted),
    ));
    table.print();
}

/// `git rev-parse --short HEAD` of `repo`, or "?".
fn git_head(repo: &Path) -> String {
    Command::new("git")
        .arg("-C")
        .arg(repo)
        .args(["rev-parse", "--short", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map_or_else(|| "?".to_string(), |o| String::from_utf8_lossy(&o.stdout).trim().to_string())
}
