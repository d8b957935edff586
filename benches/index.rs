//! `cargo bench --bench index`: how fast `reverie index` is on real code no one here wrote, against
//! Universal Ctags measured in the same run (these machines are shared and noisy: ratios hold, absolute
//! times do not). See `benches/README.md` for what it prints and the targets.
//!
//! Sections:
//! 1. corpora: Django 5.1.4 (sdist, Python) and tokio 1.47.1 (crate source, Rust), pinned, downloaded once
//!    into a cache dir outside the repo ($REVERIE_BENCH_DIR, else $XDG_CACHE_HOME/reverie-bench, else
//!    ~/.cache/reverie-bench);
//! 2. per corpus, N runs (REVERIE_BENCH_RUNS, default 5), medians: cold index (fresh cache dir each run,
//!    the real release binary as a subprocess), files, MB, files/s, MB/s, peak RSS, ctags wall and the
//!    ratio; warm start with nothing changed (parsed must be 0) and warm/cold;
//! 3. incremental, on the Django .py file closest to 2,000 lines: re-extracting after a one-line body
//!    edit in-process (full `extract`, and incremental `parse` with the edited old tree +
//!    `extract_from_tree`), p50/p99 over REVERIE_BENCH_EDITS (default 200) edits; and end to end, the
//!    edited file in a copy of the corpus re-indexed by `reverie index` (parsed must be 1);
//! 4. per language, one real project each (`common/corpus.rs`), reduced to that language's files:
//!    in-process extraction files/s and MB/s, cold `reverie index` and `ctags -R` on the same tree,
//!    medians of N runs, and the languages whose extraction is over 2× slower than the median.
//!
//! Only std plus the crate's own dependencies (serde_json, tree-sitter, tempfile). Under `cargo test
//! --benches` (no `--bench` argument) it does nothing.

#[path = "common/corpus.rs"]
mod corpus;
#[path = "common/report.rs"]
mod report;
#[path = "common/run.rs"]
mod run;
#[path = "common/setup.rs"]
mod setup;
use report::*;
use reverie::syntax::{self, Language};
use run::{CtagsRun, Timed};
use serde_json::Value;
use setup::{bench_dir, env_usize, install_dir, reverie_binary, run_ok, single_subdir};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;
use tree_sitter::{InputEdit, Point};

const DJANGO_VERSION: &str = "5.1.4";
const TOKIO_VERSION: &str = "1.47.1";
const DEFAULT_RUNS: usize = 5;
const DEFAULT_EDITS: usize = 200;
const TARGET_COLD_VS_CTAGS: f64 = 2.0;
const TARGET_WARM_VS_COLD: f64 = 0.05;
const TARGET_EDIT_SECS: f64 = 0.005;
const INCREMENTAL_LINES: usize = 2_000;

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` / `--all-targets` does not. A benchmark that
    // downloads corpora and runs for minutes has no place in a test run.
    if !std::env::args().any(|a| a == "--bench") {
        println!("benches/index.rs: skipped (not run by `cargo bench`); run `cargo bench --bench index`");
        return;
    }
    let ctx = Ctx::new();
    ctx.print_setup();

    let mut summary = Summary::default();
    let corpora = ctx.corpora();
    let mut django_root = None;
    for corpus in &corpora {
        let root = corpus.ensure(&ctx);
        bench_corpus(&ctx, corpus, &root, &mut summary);
        if corpus.name == "django" {
            django_root = Some(root);
        }
    }
    match django_root {
        Some(root) => bench_incremental(&ctx, &root, &mut summary),
        None => println!("\n(incremental section skipped: it runs on Django; REVERIE_BENCH_ONLY excludes it)"),
    }
    if ctx.only.as_ref().is_none_or(|only| only.split(',').any(|o| o.trim() == "languages")) {
        bench_languages(&ctx);
    }
    summary.print();
}

// ------------------------------------------------------------------------------------------------
// Setup: where things are, what tools exist.

struct Ctx {
    bin: PathBuf,
    bench_dir: PathBuf,
    runs: usize,
    edits: usize,
    only: Option<String>,
    /// `/usr/bin/time`, to cross-check peak RSS (`%M`), if it exists.
    time_bin: Option<PathBuf>,
    ctags_version: String,
}

impl Ctx {
    fn new() -> Ctx {
        let runs = env_usize("REVERIE_BENCH_RUNS", DEFAULT_RUNS).max(1);
        let edits = env_usize("REVERIE_BENCH_EDITS", DEFAULT_EDITS).max(1);
        let only = std::env::var("REVERIE_BENCH_ONLY").ok().filter(|s| !s.is_empty()).map(|s| s.to_lowercase());
        let bench_dir = bench_dir();
        std::fs::create_dir_all(bench_dir.join("tmp"))
            .unwrap_or_else(|e| die(&format!("cannot create {}: {e}", bench_dir.display())));
        let ctags_version = run::ctags_version();
        let time_bin = run::time_bin();
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
        let bin = reverie_binary(&cargo);
        Ctx { bin, bench_dir, runs, edits, only, time_bin, ctags_version }
    }

    fn corpora(&self) -> Vec<Corpus> {
        let all = vec![
            Corpus { name: "django", label: format!("Django {DJANGO_VERSION} (sdist)"), ctags_language: "Python" },
            Corpus { name: "tokio", label: format!("tokio {TOKIO_VERSION} (crate source)"), ctags_language: "Rust" },
        ];
        match &self.only {
            Some(only) => all.into_iter().filter(|c| only.split(',').any(|o| o.trim() == c.name)).collect(),
            None => all,
        }
    }

    fn print_setup(&self) {
        println!("reverie index benchmark");
        println!("  binary      {}", self.bin.display());
        println!("  anchor      {}", self.ctags_version);
        println!("  corpora in  {} (REVERIE_BENCH_DIR)", self.bench_dir.display());
        println!("  runs        {} per figure, medians (REVERIE_BENCH_RUNS)", self.runs);
        println!("  edits       {} for the incremental figures (REVERIE_BENCH_EDITS)", self.edits);
        println!(
            "  peak RSS    from the report's peak_rss_bytes (VmHWM){}",
            if self.time_bin.is_some() {
                ", cross-checked with /usr/bin/time -f %M"
            } else {
                " (/usr/bin/time not found: no cross-check)"
            }
        );
        println!("  cores       {}", std::thread::available_parallelism().map_or(0, |n| n.get()));
    }

    fn tmp_dir(&self, prefix: &str) -> tempfile::TempDir {
        tempfile::Builder::new()
            .prefix(prefix)
            .tempdir_in(self.bench_dir.join("tmp"))
            .unwrap_or_else(|e| die(&format!("cannot create a temporary dir under {}: {e}", self.bench_dir.display())))
    }
}

fn die(message: &str) -> ! {
    eprintln!("bench index: {message}");
    std::process::exit(2)
}

// ------------------------------------------------------------------------------------------------
// Corpora: pinned, downloaded once, kept outside the repo.

struct Corpus {
    name: &'static str,
    label: String,
    ctags_language: &'static str,
}

impl Corpus {
    /// The corpus root, downloading it first if it is not in the cache yet.
    fn ensure(&self, ctx: &Ctx) -> PathBuf {
        match self.name {
            "django" => ensure_django(ctx),
            "tokio" => ensure_tokio(ctx),
            _ => unreachable!(),
        }
    }
}

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
    let staging = ctx.tmp_dir("django-");
    run_ok(Command::new("tar").arg("xzf").arg(&tarball).arg("-C").arg(staging.path()), "untarring Django");
    install_dir(staging.path(), &dir);
    single_subdir(&dir).unwrap_or_else(|| die(&format!("unexpected layout in {}", dir.display())))
}

/// `<bench>/tokio-1.47.1`: the crate's source as `cargo fetch` unpacks it, fetched with a throwaway
/// manifest and a CARGO_HOME inside the bench dir (so the user's registry cache is not touched).
fn ensure_tokio(ctx: &Ctx) -> PathBuf {
    let dir = ctx.bench_dir.join(format!("tokio-{TOKIO_VERSION}"));
    if dir.join("Cargo.toml").is_file() {
        return dir;
    }
    println!("\nfetching tokio {TOKIO_VERSION} (cargo fetch with a throwaway manifest)…");
    let staging = ctx.tmp_dir("tokio-");
    let unpacked = corpus::fetch(&corpus::Source::Crate("tokio", TOKIO_VERSION), staging.path())
        .unwrap_or_else(|e| die(&format!("fetching tokio: {e}")));
    let src = unpacked.join(format!("tokio-{TOKIO_VERSION}"));
    if let Some(parent) = dir.parent() {
        std::fs::create_dir_all(parent).ok();
    }
    std::fs::rename(&src, &dir)
        .unwrap_or_else(|e| die(&format!("cannot move {} to {}: {e}", src.display(), dir.display())));
    dir
}

// ------------------------------------------------------------------------------------------------
// Running things.

/// `run::timed` with this bench's `/usr/bin/time` and scratch dir.
fn timed(ctx: &Ctx, program: &Path, args: &[&std::ffi::OsStr]) -> Timed {
    run::timed(ctx.time_bin.as_deref(), &ctx.bench_dir.join("tmp"), program, args)
}

/// `run::ctags` with this bench's `/usr/bin/time` and scratch dir.
fn ctags(ctx: &Ctx, languages: &str, target: &Path, recursive: bool) -> CtagsRun {
    run::ctags(ctx.time_bin.as_deref(), &ctx.bench_dir.join("tmp"), Some(languages), target, recursive)
}

struct IndexRun {
    timed: Timed,
    report: Value,
}

impl IndexRun {
    fn u64(&self, field: &str) -> u64 {
        self.report
            .get(field)
            .and_then(Value::as_u64)
            .unwrap_or_else(|| die(&format!("the index report has no number {field:?}")))
    }
    fn f64(&self, field: &str) -> f64 {
        self.report.get(field).and_then(Value::as_f64).unwrap_or(f64::NAN)
    }
    fn bool(&self, field: &str) -> bool {
        self.report.get(field).and_then(Value::as_bool).unwrap_or(false)
    }
}

/// `reverie index ROOT --format json --cache-dir CACHE` as a subprocess.
fn reverie_index(ctx: &Ctx, root: &Path, cache: &Path) -> IndexRun {
    let args = [root.as_os_str(), "--format".as_ref(), "json".as_ref(), "--cache-dir".as_ref(), cache.as_os_str()];
    let mut all: Vec<&std::ffi::OsStr> = vec!["index".as_ref()];
    all.extend(args);
    let timed = timed(ctx, &ctx.bin, &all);
    let report: Value = serde_json::from_str(&timed.stdout)
        .unwrap_or_else(|e| die(&format!("reverie index did not print JSON ({e}):\n{}", timed.stdout)));
    IndexRun { timed, report }
}

// ------------------------------------------------------------------------------------------------
// Section: cold and warm index of one corpus.

fn bench_corpus(ctx: &Ctx, corpus: &Corpus, root: &Path, summary: &mut Summary) {
    let title =
        format!("{}: cold and warm `reverie index` vs `ctags -R --languages={}`", corpus.label, corpus.ctags_language);
    println!("\n{title}\n  corpus  {}", root.display());

    // Warm-up (not measured): fills the page cache for both tools, and tells which languages reverie indexes.
    let warmup_cache = ctx.tmp_dir("cache-");
    let warmup = reverie_index(ctx, root, warmup_cache.path());
    drop(warmup_cache);
    ctags(ctx, corpus.ctags_language, root, true);
    let languages: BTreeMap<String, u64> = warmup
        .report
        .get("files_by_language")
        .and_then(Value::as_object)
        .map(|m| m.iter().map(|(k, v)| (k.clone(), v.as_u64().unwrap_or(0))).collect())
        .unwrap_or_default();
    let all_ctags_languages: Vec<&str> = {
        let mut v: Vec<&str> = languages.keys().filter_map(|l| ctags_name(l)).collect();
        v.sort();
        v.dedup();
        v
    };
    let same_languages = all_ctags_languages.join(",");
    let extra_anchor =
        (same_languages != corpus.ctags_language && !same_languages.is_empty()).then_some(same_languages);
    println!(
        "  reverie indexes  {}",
        languages.iter().map(|(l, n)| format!("{l} {}", thousands(*n))).collect::<Vec<_>>().join(", ")
    );

    let mut cold = Vec::new();
    let mut warm = Vec::new();
    let mut ctags_runs = Vec::new();
    let mut ctags_all = Vec::new();
    for run in 0..ctx.runs {
        let c = ctags(ctx, corpus.ctags_language, root, true);
        let cache = ctx.tmp_dir("cache-");
        let cold_run = reverie_index(ctx, root, cache.path());
        let warm_run = reverie_index(ctx, root, cache.path());
        if let Some(langs) = &extra_anchor {
            ctags_all.push(ctags(ctx, langs, root, true));
        }
        println!(
            "  run {}/{}: cold {}  warm {} (parsed {})  ctags {}",
            run + 1,
            ctx.runs,
            secs(cold_run.timed.secs),
            secs(warm_run.timed.secs),
            warm_run.u64("parsed"),
            secs(c.timed.secs)
        );
        cold.push(cold_run);
        warm.push(warm_run);
        ctags_runs.push(c);
    }

    let files = cold[0].u64("files") as f64;
    let bytes = cold[0].u64("bytes") as f64;
    let consistent = cold.iter().all(|r| r.u64("files") as f64 == files && r.u64("bytes") as f64 == bytes);
    let cold_secs: Vec<f64> = cold.iter().map(|r| r.timed.secs).collect();
    let warm_secs: Vec<f64> = warm.iter().map(|r| r.timed.secs).collect();
    let ctags_secs: Vec<f64> = ctags_runs.iter().map(|r| r.timed.secs).collect();
    let ctags_files = ctags_runs[0].files as f64;
    let ctags_bytes = ctags_runs[0].bytes as f64;
    let vs_ctags: Vec<f64> = cold_secs.iter().zip(&ctags_secs).map(|(a, b)| a / b).collect();
    let warm_vs_cold: Vec<f64> = warm_secs.iter().zip(&cold_secs).map(|(a, b)| a / b).collect();
    let files_per_s: Vec<f64> = cold_secs.iter().map(|s| files / s).collect();
    let mb_per_s: Vec<f64> = cold_secs.iter().map(|s| bytes / 1e6 / s).collect();
    let ctags_files_per_s: Vec<f64> = ctags_secs.iter().map(|s| ctags_files / s).collect();
    let ctags_mb_per_s: Vec<f64> = ctags_secs.iter().map(|s| ctags_bytes / 1e6 / s).collect();
    let rss_json: Vec<f64> = cold.iter().map(|r| r.u64("peak_rss_bytes") as f64).collect();
    let rss_time: Vec<f64> = cold.iter().filter_map(|r| r.timed.time_rss).map(|b| b as f64).collect();
    let ctags_rss: Vec<f64> = ctags_runs.iter().filter_map(|r| r.timed.time_rss).map(|b| b as f64).collect();
    let cold_elapsed: Vec<f64> = cold.iter().map(|r| r.f64("elapsed_ms") / 1000.0).collect();
    let warm_elapsed: Vec<f64> = warm.iter().map(|r| r.f64("elapsed_ms") / 1000.0).collect();
    let warm_parsed_max = warm.iter().map(|r| r.u64("parsed")).max().unwrap_or(0);
    let warm_graph_rebuilt = warm.iter().filter(|r| r.bool("graph_rebuilt")).count();

    let is_django = corpus.name == "django";
    let mut table =
        Table::new(&format!("{} — {} runs, medians (ratios are medians of per-run pairs)", corpus.label, ctx.runs));
    table.row(
        Row::info("files indexed", thousands(files as u64), "")
            .anchor(format!("ctags {}", thousands(ctags_files as u64)), ratio(files / ctags_files)),
    );
    table.row(
        Row::info(
            "bytes indexed",
            format!("{:.1} MB", bytes / 1e6),
            if consistent { "" } else { "VARIED between runs" },
        )
        .anchor(format!("ctags {:.1} MB", ctags_bytes / 1e6), ratio(bytes / ctags_bytes)),
    );
    table.row(
        Row::info("cold index wall (subprocess)", secs(median(&cold_secs)), &spread(&cold_secs, secs))
            .anchor(format!("ctags {}", secs(median(&ctags_secs))), ratio(median(&vs_ctags))),
    );
    let ratio_row = Row::new(
        "cold wall ÷ ctags wall",
        ratio(median(&vs_ctags)),
        &spread(&vs_ctags, ratio),
        if is_django {
            format!("≤ {TARGET_COLD_VS_CTAGS:.1}×")
        } else {
            format!("— (≤ {TARGET_COLD_VS_CTAGS:.1}× is for Django)")
        },
        if is_django { Some(median(&vs_ctags) <= TARGET_COLD_VS_CTAGS) } else { None },
    )
    .anchor(format!("ctags {}", secs(median(&ctags_secs))), ratio(median(&vs_ctags)));
    summary.add(corpus.label.as_str(), &ratio_row);
    table.row(ratio_row);
    if let Some(langs) = &extra_anchor {
        let all_secs: Vec<f64> = ctags_all.iter().map(|r| r.timed.secs).collect();
        let vs_all: Vec<f64> = cold_secs.iter().zip(&all_secs).map(|(a, b)| a / b).collect();
        table.row(
            Row::info(
                &format!("cold wall ÷ ctags --languages={langs}"),
                ratio(median(&vs_all)),
                &spread(&vs_all, ratio),
            )
            .anchor(
                format!("ctags {} ({} files)", secs(median(&all_secs)), thousands(ctags_all[0].files)),
                ratio(median(&vs_all)),
            ),
        );
    }
    table.row(
        Row::info("  of which index() (elapsed_ms)", secs(median(&cold_elapsed)), &spread(&cold_elapsed, secs)).anchor(
            format!("cold wall {}", secs(median(&cold_secs))),
            ratio(median(&cold_elapsed) / median(&cold_secs)),
        ),
    );
    table.row(
        Row::info("files/s", thousands(median(&files_per_s) as u64), &spread(&files_per_s, |v| thousands(v as u64)))
            .anchor(
                format!("ctags {}", thousands(median(&ctags_files_per_s) as u64)),
                ratio(median(&files_per_s) / median(&ctags_files_per_s)),
            ),
    );
    table.row(
        Row::info("MB/s", format!("{:.2}", median(&mb_per_s)), &spread(&mb_per_s, |v| format!("{v:.2}"))).anchor(
            format!("ctags {:.1}", median(&ctags_mb_per_s)),
            ratio(median(&mb_per_s) / median(&ctags_mb_per_s)),
        ),
    );
    let ctags_rss_text =
        if ctags_rss.is_empty() { "—".to_string() } else { format!("ctags {}", mib(median(&ctags_rss))) };
    let ctags_rss_ratio = |v: f64| if ctags_rss.is_empty() { "—".to_string() } else { ratio(v / median(&ctags_rss)) };
    table.row(
        Row::info("peak RSS (report: VmHWM)", mib(median(&rss_json)), &spread(&rss_json, mib))
            .anchor(ctags_rss_text.clone(), ctags_rss_ratio(median(&rss_json))),
    );
    if !rss_time.is_empty() {
        let agree = median(&rss_time) / median(&rss_json);
        table.row(
            Row::info(
                "peak RSS (/usr/bin/time %M)",
                mib(median(&rss_time)),
                &format!("{}; {:+.0}% vs report", spread(&rss_time, mib), (agree - 1.0) * 100.0),
            )
            .anchor(ctags_rss_text, ctags_rss_ratio(median(&rss_time))),
        );
    }
    table.row(
        Row::info("warm start wall, nothing changed", secs(median(&warm_secs)), &spread(&warm_secs, secs))
            .anchor(format!("cold {}", secs(median(&cold_secs))), pct(median(&warm_vs_cold))),
    );
    let warm_ratio_row = Row::new(
        "warm wall ÷ cold wall",
        pct(median(&warm_vs_cold)),
        &spread(&warm_vs_cold, pct),
        format!("≤ {:.0}%", TARGET_WARM_VS_COLD * 100.0),
        Some(median(&warm_vs_cold) <= TARGET_WARM_VS_COLD),
    )
    .anchor(format!("cold {}", secs(median(&cold_secs))), pct(median(&warm_vs_cold)));
    summary.add(corpus.label.as_str(), &warm_ratio_row);
    table.row(warm_ratio_row);
    table.row(
        Row::info("  of which index() (elapsed_ms)", secs(median(&warm_elapsed)), &spread(&warm_elapsed, secs)).anchor(
            format!("warm wall {}", secs(median(&warm_secs))),
            ratio(median(&warm_elapsed) / median(&warm_secs)),
        ),
    );
    let parsed_row = Row::new(
        "warm start: files parsed",
        format!("max {warm_parsed_max}"),
        &format!("graph re-ranked in {warm_graph_rebuilt}/{} runs", ctx.runs),
        "= 0".to_string(),
        Some(warm_parsed_max == 0),
    )
    .anchor(format!("cold parsed {}", thousands(cold[0].u64("parsed"))), "—".to_string());
    summary.add(corpus.label.as_str(), &parsed_row);
    table.row(parsed_row);
    table.row(Row::info(
        "definitions / references / graph edges",
        format!(
            "{} / {} / {}",
            thousands(cold[0].u64("definitions")),
            thousands(cold[0].u64("references")),
            thousands(cold[0].u64("graph_edges"))
        ),
        "",
    ));
    table.print();
}

/// Universal Ctags' name for a reverie language (`None` when ctags has no parser for it).
fn ctags_name(language: &str) -> Option<&'static str> {
    Some(match language {
        "rust" => "Rust",
        "python" => "Python",
        "javascript" => "JavaScript",
        "typescript" | "tsx" => "TypeScript",
        "go" => "Go",
        "java" => "Java",
        "c" => "C",
        "cpp" => "C++",
        _ => return None,
    })
}

// ------------------------------------------------------------------------------------------------
// Section: incremental, one edited ~2,000-line Python file.

fn bench_incremental(ctx: &Ctx, django: &Path, summary: &mut Summary) {
    let (path, original) = closest_python_file(django, INCREMENTAL_LINES);
    let rel = path.strip_prefix(django).unwrap_or(&path).display().to_string();
    let lines = line_starts(&original);
    println!(
        "\nIncremental: one-line body edits to {rel} ({} lines, {:.1} KB; the Django .py file closest to {} lines)",
        thousands(lines.len() as u64),
        original.len() as f64 / 1024.0,
        thousands(INCREMENTAL_LINES as u64)
    );

    // Edit k inserts a comment line, indented like the statement it precedes, before the k-th of
    // `edits` statement lines spread over the file (indented ≥ 8 columns: inside a method or nested
    // function; not after a backslash continuation). Each edit is applied to the original file, whose
    // tree the incremental variant starts from, like an editor with the file parsed once.
    let candidates = edit_candidates(&original, &lines);
    if candidates.is_empty() {
        die(&format!("no body line to edit in {rel}"));
    }
    let edits: Vec<Edit> =
        (0..ctx.edits).map(|k| make_edit(&original, &lines, candidates[k * candidates.len() / ctx.edits], k)).collect();
    let distinct_lines = {
        let mut l: Vec<usize> = edits.iter().map(|e| e.line).collect();
        l.sort();
        l.dedup();
        l.len()
    };
    println!(
        "  {} edits on {} distinct lines (of {} candidate body lines), each inserting `# reverie bench edit k`",
        edits.len(),
        distinct_lines,
        candidates.len()
    );

    let base_tree = syntax::parse(&original, Language::Python, None).expect("tree-sitter parses the original");
    let base_facts = syntax::extract_from_tree(&original, Language::Python, &base_tree);
    // Warm-up: thread-local parser, compiled query, caches.
    for edit in edits.iter().take(10) {
        let _ = syntax::extract(&edit.bytes, Language::Python);
        let mut tree = base_tree.clone();
        tree.edit(&edit.input);
        let _ = syntax::parse(&edit.bytes, Language::Python, Some(&tree));
    }

    let mut full = Vec::new();
    let mut parse_only = Vec::new();
    let mut incremental = Vec::new();
    let mut incremental_parse = Vec::new();
    let mut same_facts = 0;
    let mut interface_kept = 0;
    let mut syntax_errors = 0;
    for edit in &edits {
        let started = Instant::now();
        let full_facts = syntax::extract(&edit.bytes, Language::Python);
        full.push(started.elapsed().as_secs_f64());

        let started = Instant::now();
        let tree = syntax::parse(&edit.bytes, Language::Python, None);
        parse_only.push(started.elapsed().as_secs_f64());
        drop(tree);

        let mut old_tree = base_tree.clone();
        let started = Instant::now();
        old_tree.edit(&edit.input);
        let tree = syntax::parse(&edit.bytes, Language::Python, Some(&old_tree)).expect("incremental parse");
        let parsed_at = started.elapsed().as_secs_f64();
        let facts = syntax::extract_from_tree(&edit.bytes, Language::Python, &tree);
        incremental.push(started.elapsed().as_secs_f64());
        incremental_parse.push(parsed_at);

        same_facts += usize::from(facts == full_facts);
        interface_kept += usize::from(facts.interface_hash == base_facts.interface_hash);
        syntax_errors += usize::from(facts.has_syntax_errors && !base_facts.has_syntax_errors);
    }

    // Anchor: ctags on the same single file, as a subprocess (spawn included, as for any CLI).
    let ctags_file: Vec<f64> =
        (0..ctx.runs.max(5) * 4).map(|_| ctags(ctx, "Python", &path, false).timed.secs).collect();

    let p = |v: &[f64], q: f64| percentile(v, q);
    let target = format!("≤ {}", secs(TARGET_EDIT_SECS));
    let mut table = Table::new(&format!("In-process re-extraction after one edit — {} edits, p50/p99", edits.len()));
    for (q, name) in [(0.5, "p50"), (0.99, "p99")] {
        let row = Row::new(
            &format!("full re-extract `extract()` {name}"),
            secs(p(&full, q)),
            &format!("min {} max {}", secs(min(&full)), secs(max(&full))),
            target.clone(),
            Some(p(&full, q) <= TARGET_EDIT_SECS),
        )
        .anchor(format!("parse alone {}", secs(p(&parse_only, q))), ratio(p(&full, q) / p(&parse_only, q)));
        summary.add("incremental", &row);
        table.row(row);
    }
    for (q, name) in [(0.5, "p50"), (0.99, "p99")] {
        let row = Row::new(
            &format!("incremental parse + `extract_from_tree` {name}"),
            secs(p(&incremental, q)),
            &format!("of which parse {}", secs(p(&incremental_parse, q))),
            target.clone(),
            Some(p(&incremental, q) <= TARGET_EDIT_SECS),
        )
        .anchor(format!("full re-extract {}", secs(p(&full, q))), ratio(p(&incremental, q) / p(&full, q)));
        summary.add("incremental", &row);
        table.row(row);
    }
    table.row(
        Row::info(
            "anchor: tree-sitter full parse alone p50",
            secs(p(&parse_only, 0.5)),
            &format!("p99 {}", secs(p(&parse_only, 0.99))),
        )
        .anchor("—".to_string(), "—".to_string()),
    );
    table.row(
        Row::info(
            "anchor: ctags on the file (subprocess) p50",
            secs(p(&ctags_file, 0.5)),
            &format!("{} runs, p99 {}", ctags_file.len(), secs(p(&ctags_file, 0.99))),
        )
        .anchor(format!("full re-extract {}", secs(p(&full, 0.5))), ratio(p(&full, 0.5) / p(&ctags_file, 0.5))),
    );
    let same_row = Row::new(
        "incremental facts == full facts",
        format!("{same_facts}/{}", edits.len()),
        "",
        "all".to_string(),
        Some(same_facts == edits.len()),
    );
    summary.add("incremental", &same_row);
    table.row(same_row);
    table.row(Row::info(
        "interface hash kept (body-only edit)",
        format!("{interface_kept}/{}", edits.len()),
        &format!("edits introducing syntax errors: {syntax_errors}"),
    ));
    table.print();

    bench_end_to_end(ctx, django, &path, &original, &edits, summary);
}

/// The touched file in a copy of the corpus, re-indexed by the CLI.
fn bench_end_to_end(ctx: &Ctx, django: &Path, file: &Path, original: &[u8], edits: &[Edit], summary: &mut Summary) {
    let copy_parent = ctx.tmp_dir("e2e-");
    let copy = copy_parent.path().join(django.file_name().expect("corpus dir name"));
    // cp -a keeps mtimes, so the copy's files are as old (as trusted) as the originals.
    run_ok(Command::new("cp").arg("-a").arg(django).arg(&copy), "copying the Django corpus");
    let copied_file = copy.join(file.strip_prefix(django).expect("file inside the corpus"));
    let cache = ctx.tmp_dir("cache-");
    let first = reverie_index(ctx, &copy, cache.path());
    let _ = reverie_index(ctx, &copy, cache.path());
    println!(
        "\nEnd to end: edit the file in a copy of the corpus, then `reverie index` (subprocess; cold index of the copy took {})",
        secs(first.timed.secs)
    );

    let mut edited = Vec::new();
    let mut unchanged = Vec::new();
    let mut parsed_ok = 0;
    let mut rebuilt = 0;
    let mut edited_elapsed = Vec::new();
    for run in 0..ctx.runs {
        let edit = &edits[(run * edits.len() / ctx.runs + run) % edits.len()];
        std::fs::write(&copied_file, &edit.bytes).expect("write the edited file");
        let after_edit = reverie_index(ctx, &copy, cache.path());
        let nothing = reverie_index(ctx, &copy, cache.path());
        let parsed = after_edit.u64("parsed");
        println!(
            "  run {}/{}: after edit {} (parsed {}, re-ranked {})  nothing changed {} (parsed {})",
            run + 1,
            ctx.runs,
            secs(after_edit.timed.secs),
            parsed,
            after_edit.bool("graph_rebuilt"),
            secs(nothing.timed.secs),
            nothing.u64("parsed")
        );
        parsed_ok += usize::from(parsed == 1 && nothing.u64("parsed") == 0);
        rebuilt += usize::from(after_edit.bool("graph_rebuilt"));
        edited.push(after_edit.timed.secs);
        edited_elapsed.push(after_edit.f64("elapsed_ms") / 1000.0);
        unchanged.push(nothing.timed.secs);
    }
    std::fs::write(&copied_file, original).ok();
    let extra: Vec<f64> = edited.iter().zip(&unchanged).map(|(a, b)| a - b).collect();
    let vs: Vec<f64> = edited.iter().zip(&unchanged).map(|(a, b)| a / b).collect();

    let target = format!("≤ {}", secs(TARGET_EDIT_SECS));
    let mut table =
        Table::new(&format!("End to end: `reverie index` after editing one file — {} runs, medians", ctx.runs));
    let wall = Row::new(
        "re-index wall after one edit",
        secs(median(&edited)),
        &spread(&edited, secs),
        format!("{target} (includes process start + walk)"),
        Some(median(&edited) <= TARGET_EDIT_SECS),
    )
    .anchor(format!("nothing changed {}", secs(median(&unchanged))), ratio(median(&vs)));
    summary.add("end to end", &wall);
    table.row(wall);
    table.row(
        Row::info("  of which index() (elapsed_ms)", secs(median(&edited_elapsed)), &spread(&edited_elapsed, secs))
            .anchor(format!("wall {}", secs(median(&edited))), ratio(median(&edited_elapsed) / median(&edited))),
    );
    let delta = Row::new(
        "cost of the edit (wall − nothing-changed wall)",
        secs(median(&extra)),
        &spread(&extra, secs),
        target,
        Some(median(&extra) <= TARGET_EDIT_SECS),
    )
    .anchor(format!("nothing changed {}", secs(median(&unchanged))), "—".to_string());
    summary.add("end to end", &delta);
    table.row(delta);
    let parsed = Row::new(
        "files parsed after the edit",
        format!("1 in {parsed_ok}/{} runs", ctx.runs),
        &format!("graph re-ranked in {rebuilt}/{} runs", ctx.runs),
        "= 1 (and 0 when nothing changed)".to_string(),
        Some(parsed_ok == ctx.runs),
    );
    summary.add("end to end", &parsed);
    table.row(parsed);
    table.print();
}

/// The `.py` file under `root` whose line count is closest to `lines` (ties: the smaller path).
fn closest_python_file(root: &Path, lines: usize) -> (PathBuf, Vec<u8>) {
    let mut best: Option<(usize, PathBuf)> = None;
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for entry in entries.flatten() {
            let path = entry.path();
            let Ok(kind) = entry.file_type() else { continue };
            if kind.is_dir() {
                stack.push(path);
            } else if kind.is_file() && path.extension().is_some_and(|e| e == "py") {
                let Ok(bytes) = std::fs::read(&path) else { continue };
                let count = bytes.iter().filter(|&&b| b == b'\n').count();
                let distance = count.abs_diff(lines);
                if best.as_ref().is_none_or(|(d, p)| (distance, &path) < (*d, p)) {
                    best = Some((distance, path));
                }
            }
        }
    }
    let (_, path) = best.unwrap_or_else(|| die(&format!("no .py file under {}", root.display())));
    let bytes = std::fs::read(&path).expect("read the chosen file");
    (path, bytes)
}

fn line_starts(bytes: &[u8]) -> Vec<usize> {
    let mut starts = vec![0];
    starts.extend(
        bytes.iter().enumerate().filter(|(_, b)| **b == b'\n').map(|(i, _)| i + 1).filter(|&i| i < bytes.len()),
    );
    starts
}

fn line_text<'a>(bytes: &'a [u8], lines: &[usize], i: usize) -> &'a [u8] {
    let end = lines.get(i + 1).copied().unwrap_or(bytes.len());
    let line = &bytes[lines[i]..end];
    line.strip_suffix(b"\n").unwrap_or(line)
}

fn edit_candidates(bytes: &[u8], lines: &[usize]) -> Vec<usize> {
    (1..lines.len())
        .filter(|&i| {
            let line = line_text(bytes, lines, i);
            let indent = line.iter().take_while(|&&b| b == b' ').count();
            let first = line.get(indent).copied().unwrap_or(b'\n');
            let previous = line_text(bytes, lines, i - 1);
            indent >= 8 && (first.is_ascii_alphabetic() || first == b'_') && !previous.trim_ascii_end().ends_with(b"\\")
        })
        .collect()
}

struct Edit {
    line: usize,
    bytes: Vec<u8>,
    input: InputEdit,
}

fn make_edit(original: &[u8], lines: &[usize], line: usize, k: usize) -> Edit {
    let at = lines[line];
    let indent = line_text(original, lines, line).iter().take_while(|&&b| b == b' ').count();
    let inserted = format!("{}# reverie bench edit {k}\n", " ".repeat(indent));
    let mut bytes = Vec::with_capacity(original.len() + inserted.len());
    bytes.extend_from_slice(&original[..at]);
    bytes.extend_from_slice(inserted.as_bytes());
    bytes.extend_from_slice(&original[at..]);
    let input = InputEdit {
        start_byte: at,
        old_end_byte: at,
        new_end_byte: at + inserted.len(),
        start_position: Point { row: line, column: 0 },
        old_end_position: Point { row: line, column: 0 },
        new_end_position: Point { row: line + 1, column: 0 },
    };
    Edit { line, bytes, input }
}

// ------------------------------------------------------------------------------------------------
// Section: per-language throughput, one corpus per language.

struct LanguageRow {
    language: &'static str,
    label: String,
    files: u64,
    bytes: u64,
    extract_secs: f64,
    index_secs: f64,
    ctags_secs: Option<f64>,
    /// Medians of the per-run ratios (each run measures extraction, the index and ctags back to back).
    extract_vs_ctags: Option<f64>,
    index_vs_ctags: Option<f64>,
}

fn bench_languages(ctx: &Ctx) {
    println!(
        "\nPer language: extraction in-process, cold `reverie index` and `ctags -R` on the same tree ({} runs, medians)",
        ctx.runs
    );
    let mut rows: Vec<LanguageRow> = Vec::new();
    for language_corpus in corpus::language_corpora() {
        let staging = ctx.tmp_dir("corpus-");
        let root = match corpus::ensure(&language_corpus, &ctx.bench_dir, staging.path()) {
            Ok(root) => root,
            Err(err) => {
                println!("  {}: no corpus ({err})", language_corpus.language.name());
                continue;
            }
        };
        let (files, bytes) = corpus::size_of(&root);
        let sources: Vec<Vec<u8>> = walk_files(&root).iter().filter_map(|p| std::fs::read(p).ok()).collect();
        let language = language_corpus.language;
        let mut extract_runs = Vec::new();
        let mut index_runs = Vec::new();
        let mut ctags_runs = Vec::new();
        for _ in 0..ctx.runs {
            let started = Instant::now();
            for source in &sources {
                std::hint::black_box(syntax::extract(source, language));
            }
            extract_runs.push(started.elapsed().as_secs_f64());
            let cache = ctx.tmp_dir("lang-cache-");
            index_runs.push(reverie_index(ctx, &root, cache.path()).timed.secs);
            if let Some(ctags_language) = language_corpus.ctags_language {
                ctags_runs.push(ctags(ctx, ctags_language, &root, true).timed.secs);
            }
        }
        let ratio_to_ctags = |runs: &[f64]| {
            let ratios: Vec<f64> = runs.iter().zip(&ctags_runs).map(|(secs, ctags)| secs / ctags).collect();
            (!ratios.is_empty()).then(|| median(&ratios))
        };
        rows.push(LanguageRow {
            language: language.name(),
            label: language_corpus.label(),
            files,
            bytes,
            extract_secs: median(&extract_runs),
            index_secs: median(&index_runs),
            ctags_secs: (!ctags_runs.is_empty()).then(|| median(&ctags_runs)),
            extract_vs_ctags: ratio_to_ctags(&extract_runs),
            index_vs_ctags: ratio_to_ctags(&index_runs),
        });
    }
    if rows.is_empty() {
        return;
    }
    // extract s: one thread, in-process, no IO; index s: the release binary as a subprocess (walk, read,
    // both cores, the store); ctags: one process, one thread. Ratios are medians of per-run ratios.
    println!(
        "  {:<8} {:<36} {:>6} {:>7} {:>9} {:>9} {:>9} {:>8} {:>9} {:>8} {:>9} {:>9} {:>9}",
        "language",
        "corpus",
        "files",
        "MB",
        "extract s",
        "files/s",
        "MB/s",
        "index s",
        "idx MB/s",
        "ctags s",
        "ctags MB/s",
        "extr÷ctags",
        "idx÷ctags"
    );
    let megabytes = |b: u64| b as f64 / 1e6;
    let or_dash = |value: Option<f64>, decimals: usize| value.map_or("-".to_string(), |v| format!("{v:.decimals$}"));
    for row in &rows {
        println!(
            "  {:<8} {:<36} {:>6} {:>7.2} {:>9.3} {:>9.0} {:>9.2} {:>8.3} {:>9.2} {:>8} {:>10} {:>10} {:>9}",
            row.language,
            row.label,
            row.files,
            megabytes(row.bytes),
            row.extract_secs,
            row.files as f64 / row.extract_secs,
            megabytes(row.bytes) / row.extract_secs,
            row.index_secs,
            megabytes(row.bytes) / row.index_secs,
            or_dash(row.ctags_secs, 3),
            or_dash(row.ctags_secs.map(|s| megabytes(row.bytes) / s), 2),
            or_dash(row.extract_vs_ctags, 1),
            or_dash(row.index_vs_ctags, 1),
        );
    }
    let rates: Vec<f64> = rows.iter().map(|r| megabytes(r.bytes) / r.extract_secs).collect();
    let median_rate = median(&rates);
    println!("  median extraction: {median_rate:.2} MB/s");
    for (row, rate) in rows.iter().zip(&rates) {
        if *rate * 2.0 < median_rate {
            println!(
                "  SLOW: {} extracts at {rate:.2} MB/s, {:.1}× slower than the median",
                row.language,
                median_rate / rate
            );
        }
    }
}

/// Every file under `root` except the corpus marker.
fn walk_files(root: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(at) = stack.pop() {
        for entry in std::fs::read_dir(&at).into_iter().flatten().flatten() {
            let path = entry.path();
            match entry.file_type() {
                Ok(t) if t.is_dir() => stack.push(path),
                Ok(t) if t.is_file() && !path.ends_with(".complete") => files.push(path),
                _ => {}
            }
        }
    }
    files.sort();
    files
}
