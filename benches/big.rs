//! `cargo bench --bench big`: reverie on a big workspace — one folder holding one release each of the
//! dev set's 12 Python projects and 8 projects in 8 more languages (crates.io, npm, PyPI, Debian), over
//! 15,000 files — against Universal Ctags on the same tree in the same run. The figures of issue 23:
//! cold and warm index (wall, peak RSS), `reverie ask --no-llm` on a warm cache (wall, peak RSS), and
//! `reverie serve` on a fresh and on a warm cache (initialized → ready, the first question after
//! ready, the p50/p99 of the questions after it, VmRSS/VmHWM). See `benches/README.md` for the targets.
//!
//! The workspace is built once into `$REVERIE_BENCH_DIR/big-workspace` (default
//! `~/.cache/reverie-bench`): the Python projects are copied from the dev set's sdist cache
//! (`~/.cache/reverie-dev-workspaces`, never modified) when it holds them, else downloaded with pip;
//! the others are fetched with `common/corpus.rs`. `scripts/fetch-big-workspace.sh` builds it alone
//! and prints its path (`--fetch-only`). Under `cargo test --benches` (no `--bench` argument) it does
//! nothing.

#[path = "common/corpus.rs"]
mod corpus;
#[path = "common/lsp_client.rs"]
mod lsp_client;
#[path = "common/report.rs"]
mod report;
#[path = "common/run.rs"]
mod run;
#[path = "common/setup.rs"]
mod setup;
use corpus::Source;
use lsp_client::{Rss, Server};
use report::*;
use serde_json::{Value, json};
use setup::{Scratch, bench_dir, env_usize, fail, reverie_binary, run_ok, single_subdir};
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const DEFAULT_RUNS: usize = 2;
/// Questions asked of a server after the first one (each a `reverie/ask` with no open file).
const DEFAULT_QUESTIONS: usize = 50;
const TARGET_COLD_VS_CTAGS: f64 = 2.0;
const TARGET_WARM_VS_COLD: f64 = 0.05;
const TARGET_ASK_SECS: f64 = 1.0;
const TARGET_ASK_RSS: f64 = 250e6;
const TARGET_FIRST_QUESTION_SECS: f64 = 0.100;
const TARGET_SERVER_RSS: f64 = 400e6;
/// At least this many files, or the workspace is not the one the targets are about.
const MIN_FILES: u64 = 15_000;
/// The initial index of this workspace can take minutes on a busy machine.
const SERVER_TIMEOUT: Duration = Duration::from_secs(900);

/// The dev set's 12 Python projects, one release each: (folder in the dev set's cache, pip name, version).
const PYTHON: [(&str, &str, &str); 12] = [
    ("Django-4.2.3", "django", "4.2.3"),
    ("Flask-2.2.3", "flask", "2.2.3"),
    ("Sphinx-7.1.2", "sphinx", "7.1.2"),
    ("astropy-5.2.2", "astropy", "5.2.2"),
    ("matplotlib-3.7.2", "matplotlib", "3.7.2"),
    ("pylint-2.17.5", "pylint", "2.17.5"),
    ("pytest-7.1.3", "pytest", "7.1.3"),
    ("requests-2.27.0", "requests", "2.27.0"),
    ("scikit-learn-1.2.2", "scikit-learn", "1.2.2"),
    ("seaborn-0.12.1", "seaborn", "0.12.1"),
    ("sympy-1.11.1", "sympy", "1.11.1"),
    ("xarray-2022.12.0", "xarray", "2022.12.0"),
];

/// The other languages: Rust, Kotlin/Swift/TypeScript, TypeScript/JavaScript, Ruby, PHP, Lua, Go, C#.
const OTHERS: [Source; 8] = [
    Source::Crate("tokio", "1.47.1"),
    Source::Npm("expo-modules-core", "58.0.7"),
    Source::Npm("rxjs", "7.8.1"),
    Source::Debian("ruby-rack"),
    Source::Debian("php-symfony-console"),
    Source::Debian("lua-penlight"),
    Source::Debian("golang-github-spf13-cobra-dev"),
    Source::PypiSdist("pythonnet", "3.2.1"),
];

/// Questions of the kind a developer asks, about several of the projects.
const QUESTIONS: [&str; 5] = [
    "where is the session cookie signed?",
    "What does QuerySet.get do when several rows match?",
    "how does pytest collect test modules?",
    "where does the tokio runtime park idle worker threads?",
    "how does requests retry a failed connection?",
];

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` / `--all-targets` does not.
    if !std::env::args().any(|a| a == "--bench") {
        println!("benches/big.rs: skipped (not run by `cargo bench`); run `cargo bench --bench big`");
        return;
    }
    let bench_dir = bench_dir();
    std::fs::create_dir_all(bench_dir.join("tmp"))
        .unwrap_or_else(|e| fail(&format!("cannot create {}: {e}", bench_dir.display())));
    let workspace = ensure_workspace(&bench_dir);
    if std::env::args().any(|a| a == "--fetch-only") {
        println!("{}", workspace.display());
        return;
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let ctx = Ctx {
        // REVERIE_BENCH_BIN measures another build (an earlier commit's, to compare in one sitting).
        bin: std::env::var_os("REVERIE_BENCH_BIN").map_or_else(|| reverie_binary(&cargo), PathBuf::from),
        tmp: bench_dir.join("tmp"),
        time_bin: run::time_bin(),
        runs: env_usize("REVERIE_BENCH_RUNS", DEFAULT_RUNS).max(1),
        questions: env_usize("REVERIE_BENCH_QUESTIONS", DEFAULT_QUESTIONS).max(1),
    };
    let ctags_version = run::ctags_version();
    let (files, bytes) = corpus::size_of(&workspace);
    println!("reverie on a big workspace, against {ctags_version} in the same run");
    println!("  binary      {}", ctx.bin.display());
    println!("  workspace   {} ({} files, {})", workspace.display(), thousands(files), mb(bytes as f64));
    println!(
        "  runs        {} (REVERIE_BENCH_RUNS), medians; {} questions per server after the first (REVERIE_BENCH_QUESTIONS)",
        ctx.runs, ctx.questions
    );
    println!(
        "  peak RSS    /usr/bin/time -f %M ({}), the index report's peak_rss_bytes, and /proc/<server pid>/status; MB = 10^6 bytes",
        if ctx.time_bin.is_some() { "found" } else { "missing: CLI ask RSS not measured" }
    );
    println!(
        "  cores       {}; load average {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        load_average()
    );

    // Warm-up (not measured): the page cache holds the tree for every measured run.
    run::ctags(ctx.time_bin.as_deref(), &ctx.tmp, None, &workspace, true);
    let warmup = ctx.scratch("warmup-");
    reverie_index(&ctx, &workspace, &warmup.path.join("cache"));
    drop(warmup);

    let mut runs = Vec::new();
    for n in 0..ctx.runs {
        let run = measure(&ctx, &workspace);
        println!(
            "  run {}/{}: ctags {}  cold {} ({})  warm {}  ask {} ({})  server fresh: ready {} first {} p50 {} HWM {}  warm: ready {} first {} p50 {} HWM {}  load {}",
            n + 1,
            ctx.runs,
            secs(run.ctags),
            secs(run.cold),
            mb(run.cold_rss),
            secs(run.warm),
            secs(median(&run.asks)),
            mb(max(&run.ask_rss)),
            secs(run.fresh.ready),
            secs(run.fresh.first),
            secs(percentile(&run.fresh.after, 0.5)),
            mb(run.fresh.rss.hwm),
            secs(run.warm_server.ready),
            secs(run.warm_server.first),
            secs(percentile(&run.warm_server.after, 0.5)),
            mb(run.warm_server.rss.hwm),
            load_average()
        );
        runs.push(run);
    }
    report(&runs, files);
}

struct Ctx {
    bin: PathBuf,
    tmp: PathBuf,
    time_bin: Option<PathBuf>,
    runs: usize,
    questions: usize,
}

impl Ctx {
    fn scratch(&self, prefix: &str) -> Scratch {
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Scratch::new(self.tmp.join(format!("big-{prefix}{}-{n}", std::process::id())))
    }
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".to_string())
}

// ------------------------------------------------------------------------------------------------
// The workspace: built once, whole or not at all.

/// `<bench>/big-workspace`, built first if it is not complete: each project in a folder of its own.
fn ensure_workspace(bench_dir: &Path) -> PathBuf {
    let dir = bench_dir.join("big-workspace");
    if dir.join(".complete").is_file() {
        return dir;
    }
    let building = bench_dir.join("big-workspace.partial");
    let _ = std::fs::remove_dir_all(&building);
    std::fs::create_dir_all(&building).unwrap_or_else(|e| fail(&format!("cannot create {}: {e}", building.display())));
    let dev_set = dev_set_cache();
    for (folder, name, version) in PYTHON {
        let copy = dev_set.as_ref().map(|d| d.join(folder)).filter(|d| d.is_dir());
        match copy {
            Some(source) => {
                println!("copying {folder} from {}…", source.display());
                run_ok(Command::new("cp").arg("-a").arg(&source).arg(building.join(folder)), "cp -a");
            }
            None => fetch_into(&Source::PypiSdist(name, version), bench_dir, &building.join(folder)),
        }
    }
    for source in &OTHERS {
        fetch_into(source, bench_dir, &building.join(source.dir_name()));
    }
    let (files, bytes) = corpus::size_of(&building);
    if files < MIN_FILES {
        fail(&format!("the workspace holds {files} files, fewer than {MIN_FILES}"));
    }
    println!("built the workspace: {} files, {}", thousands(files), mb(bytes as f64));
    std::fs::write(building.join(".complete"), "").unwrap_or_else(|e| fail(&e.to_string()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::rename(&building, &dir)
        .unwrap_or_else(|e| fail(&format!("cannot move {} to {}: {e}", building.display(), dir.display())));
    dir
}

/// `$XDG_CACHE_HOME/reverie-dev-workspaces`, else `~/.cache/reverie-dev-workspaces`, if it exists.
fn dev_set_cache() -> Option<PathBuf> {
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
    Some(cache.join("reverie-dev-workspaces")).filter(|d| d.is_dir())
}

/// Fetches `source` and moves the folder it unpacks to (or the whole unpacked tree, when it is not one
/// folder) to `target`.
fn fetch_into(source: &Source, bench_dir: &Path, target: &Path) {
    println!("fetching {}…", source.label());
    let staging = Scratch::new(bench_dir.join("tmp").join(format!("big-fetch-{}", std::process::id())));
    let unpacked = corpus::fetch(source, &staging.path).unwrap_or_else(|e| fail(&format!("{}: {e}", source.label())));
    let root = single_subdir(&unpacked).unwrap_or(unpacked);
    std::fs::rename(&root, target)
        .unwrap_or_else(|e| fail(&format!("cannot move {} to {}: {e}", root.display(), target.display())));
}

// ------------------------------------------------------------------------------------------------
// One run: ctags, the CLI cold and warm, asks on the warm cache, a server on a fresh and on the warm cache.

struct Measured {
    ctags: f64,
    cold: f64,
    cold_rss: f64,
    files: u64,
    warm: f64,
    warm_parsed: u64,
    asks: Vec<f64>,
    ask_rss: Vec<f64>,
    fresh: ServerSession,
    warm_server: ServerSession,
}

fn measure(ctx: &Ctx, workspace: &Path) -> Measured {
    let ctags = run::ctags(ctx.time_bin.as_deref(), &ctx.tmp, None, workspace, true).timed.secs;
    let scratch = ctx.scratch("cli-");
    let cache = scratch.path.join("cache");
    let (cold, cold_report) = reverie_index(ctx, workspace, &cache);
    let (warm, warm_report) = reverie_index(ctx, workspace, &cache);
    let mut asks = Vec::new();
    let mut ask_rss = Vec::new();
    for question in QUESTIONS {
        let args: [&OsStr; 6] = [
            "ask".as_ref(),
            workspace.as_os_str(),
            question.as_ref(),
            "--no-llm".as_ref(),
            "--cache-dir".as_ref(),
            cache.as_os_str(),
        ];
        let timed = run::timed(ctx.time_bin.as_deref(), &ctx.tmp, &ctx.bin, &args);
        if timed.stdout.trim().is_empty() {
            fail(&format!("`reverie ask` printed nothing for {question:?}"));
        }
        asks.push(timed.secs);
        ask_rss.push(timed.time_rss.map_or(f64::NAN, |b| b as f64));
    }
    let fresh = server_session(ctx, workspace, &ctx.scratch("serve-").path);
    // The server on the CLI's cache: `spawn_in` uses `<dir>/cache`, where the CLI indexed.
    let warm_server = server_session(ctx, workspace, &scratch.path);
    Measured {
        ctags,
        cold,
        cold_rss: cold_report["peak_rss_bytes"].as_f64().unwrap_or(f64::NAN),
        files: cold_report["files"].as_u64().unwrap_or(0),
        warm,
        warm_parsed: warm_report["parsed"].as_u64().unwrap_or(u64::MAX),
        asks,
        ask_rss,
        fresh,
        warm_server,
    }
}

/// `reverie index ROOT --format json --cache-dir CACHE`: its wall and its report.
fn reverie_index(ctx: &Ctx, root: &Path, cache: &Path) -> (f64, Value) {
    let args: [&OsStr; 6] = [
        "index".as_ref(),
        root.as_os_str(),
        "--format".as_ref(),
        "json".as_ref(),
        "--cache-dir".as_ref(),
        cache.as_os_str(),
    ];
    let timed = run::timed(ctx.time_bin.as_deref(), &ctx.tmp, &ctx.bin, &args);
    let report: Value = serde_json::from_str(&timed.stdout)
        .unwrap_or_else(|e| fail(&format!("reverie index did not print JSON ({e}):\n{}", timed.stdout)));
    (timed.secs, report)
}

struct ServerSession {
    /// `initialized` → the first status notification that is no longer `indexing`.
    ready: f64,
    /// The first `reverie/ask` sent after ready.
    first: f64,
    /// The asks after it.
    after: Vec<f64>,
    /// After all the asks (VmHWM: the peak over the whole session).
    rss: Rss,
}

/// `reverie serve` with its cache in `<dir>/cache`: initialize, wait for ready, then ask.
fn server_session(ctx: &Ctx, workspace: &Path, dir: &Path) -> ServerSession {
    let mut server = Server::spawn_in(&ctx.bin, dir, None);
    server.timeout = SERVER_TIMEOUT;
    server.initialize(workspace);
    let started = Instant::now();
    server.notify("initialized", json!({}));
    let (ready_at, status) = server.wait_ready();
    server.check_ready_state(&status);
    let ready = ready_at.duration_since(started).as_secs_f64();
    let first = server.request("reverie/ask", json!({"question": QUESTIONS[0]})).secs;
    let after = (0..ctx.questions)
        .map(|i| server.request("reverie/ask", json!({"question": QUESTIONS[(i + 1) % QUESTIONS.len()]})).secs)
        .collect();
    let rss = server.rss();
    server.shutdown();
    ServerSession { ready, first, after, rss }
}

// ------------------------------------------------------------------------------------------------
// The report.

fn report(runs: &[Measured], files_on_disk: u64) {
    let per = |f: &dyn Fn(&Measured) -> f64| -> Vec<f64> { runs.iter().map(f).collect() };
    println!(
        "\nfiles indexed by reverie: {} (of {} on disk; ctags reads every file of a language it knows)",
        thousands(runs[0].files),
        thousands(files_on_disk)
    );
    let ctags = secs(median(&per(&|r| r.ctags)));
    let mut table = Table::new("Big workspace (medians over runs; the anchor is ctags -R on the same tree, same run)");
    let mut summary = Summary::default();
    let mut add = |table: &mut Table, row: Row| {
        summary.add("big", &row);
        table.row(row);
    };
    // A row of seconds, against ctags in the same run (the median of per-run ratios).
    let timed_row = |figure: &str, v: Vec<f64>, ratios: Vec<f64>, target: &str, pass: Option<bool>| {
        Row::new(figure, secs(median(&v)), &spread(&v, secs), target.to_string(), pass)
            .anchor(ctags.clone(), ratio(median(&ratios)))
    };
    let cold_ratio = median(&per(&|r| r.cold / r.ctags));
    add(
        &mut table,
        timed_row(
            "cold index",
            per(&|r| r.cold),
            per(&|r| r.cold / r.ctags),
            "≤ 2.0× ctags",
            Some(cold_ratio <= TARGET_COLD_VS_CTAGS),
        ),
    );
    let cold_rss = per(&|r| r.cold_rss);
    add(&mut table, Row::info("cold index peak RSS", mb(median(&cold_rss)), &spread(&cold_rss, mb)));
    let warm_vs_cold = median(&per(&|r| r.warm / r.cold));
    add(
        &mut table,
        timed_row(
            "warm index (nothing changed)",
            per(&|r| r.warm),
            per(&|r| r.warm / r.ctags),
            &format!("≤ 5% of cold (is {})", pct(warm_vs_cold)),
            Some(warm_vs_cold <= TARGET_WARM_VS_COLD),
        ),
    );
    add(
        &mut table,
        Row::new(
            "warm index files parsed",
            runs.iter().map(|r| r.warm_parsed.to_string()).collect::<Vec<_>>().join(", "),
            "",
            "0".to_string(),
            Some(runs.iter().all(|r| r.warm_parsed == 0)),
        ),
    );
    let asks: Vec<f64> = runs.iter().flat_map(|r| r.asks.iter().copied()).collect();
    add(
        &mut table,
        timed_row(
            "CLI ask --no-llm, warm cache (every question)",
            asks.clone(),
            per(&|r| median(&r.asks) / r.ctags),
            "≤ 1 s",
            Some(max(&asks) <= TARGET_ASK_SECS),
        ),
    );
    let ask_rss: Vec<f64> = runs.iter().flat_map(|r| r.ask_rss.iter().copied()).collect();
    let ask_rss_max = max(&ask_rss);
    add(
        &mut table,
        Row::new(
            "CLI ask peak RSS",
            mb(median(&ask_rss)),
            &spread(&ask_rss, mb),
            "≤ 250 MB".to_string(),
            ask_rss_max.is_finite().then_some(ask_rss_max <= TARGET_ASK_RSS),
        ),
    );
    let fresh: &dyn Fn(&Measured) -> &ServerSession = &|r| &r.fresh;
    let warm: &dyn Fn(&Measured) -> &ServerSession = &|r| &r.warm_server;
    for (label, session) in [("fresh cache", fresh), ("warm cache", warm)] {
        add(
            &mut table,
            timed_row(
                &format!("server: initialized → ready, {label}"),
                per(&|r| session(r).ready),
                per(&|r| session(r).ready / r.ctags),
                "",
                None,
            ),
        );
        let first = per(&|r| session(r).first);
        add(
            &mut table,
            Row::new(
                &format!("server: first question after ready, {label}"),
                secs(median(&first)),
                &spread(&first, secs),
                "≤ 100 ms (every run)".to_string(),
                Some(max(&first) <= TARGET_FIRST_QUESTION_SECS),
            ),
        );
        for (name, q) in [("p50", 0.5), ("p99", 0.99)] {
            let v = per(&|r| percentile(&session(r).after, q));
            add(
                &mut table,
                Row::info(
                    &format!("server: questions after the first, {name}, {label}"),
                    secs(median(&v)),
                    &spread(&v, secs),
                ),
            );
        }
        let hwm = per(&|r| session(r).rss.hwm);
        add(
            &mut table,
            Row::new(
                &format!("server: VmHWM (peak), {label}"),
                mb(median(&hwm)),
                &spread(&hwm, mb),
                "≤ 400 MB (every run)".to_string(),
                Some(max(&hwm) <= TARGET_SERVER_RSS),
            ),
        );
        let rss = per(&|r| session(r).rss.rss);
        add(
            &mut table,
            Row::info(&format!("server: VmRSS after the questions, {label}"), mb(median(&rss)), &spread(&rss, mb)),
        );
    }
    table.print();
    summary.print();
    println!("\nload average at the end: {}", load_average());
}
