//! The command line: `reverie serve | index | map | status | ask | think | notes | facts | eval | share`.
//! Each command lives in its own module and prints text for people or JSON for scripts; progress bars
//! go to stderr, only on a terminal. Logs go to stderr too, coloured only on a terminal (an editor
//! reading the server's stderr gets plain text).

mod ask;
mod eval;
mod facts;
mod index;
mod map;
mod notes;
mod semantic;
mod serve;
mod share;
mod status;
mod think;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand, ValueEnum};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Counts in output, `1,234,567` (kept here too: the commands and the benches print with it).
pub use crate::units::thousands;

#[derive(Parser, Debug)]
#[command(
    name = "reverie",
    version,
    about = "A coding assistant that thinks about your codebase while your editor is idle.",
    long_about = "reverie indexes a codebase with tree-sitter (definitions, references, imports, error \
messages, tests), ranks it as a graph, and keeps what it learns in a cache outside the workspace, so \
later runs only look at what changed.\n\nStart with:  reverie map .   or   reverie ask . \"where is the config loaded?\"",
    after_help = "Logs: set REVERIE_LOG=debug (or info, warn, error) to see what reverie does on stderr."
)]
pub struct Cli {
    /// Where reverie keeps its cache [default: $XDG_CACHE_HOME/reverie, else ~/.cache/reverie].
    #[arg(long, global = true, env = "REVERIE_CACHE_DIR", value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the language server on stdin/stdout (editors start this; see editors/).
    Serve(serve::ServeArgs),
    /// Build or refresh the index of a folder, then print a summary.
    ///
    /// Only files that changed since the last run are read again. Honours .gitignore, .ignore and
    /// .reverieignore; skips binary files and files over the size limit, and says which and why.
    Index(index::IndexArgs),
    /// Print the repo map: the most important definitions of a folder, within a token budget.
    ///
    /// Refreshes the index first. With --focus, the map is personalized to those files (as the
    /// editor does for the files you have open).
    Map(map::MapArgs),
    /// Show what the cache holds for a folder: files, languages, skipped files, the top files.
    Status(status::StatusArgs),
    /// Ask a question about a folder; answers cite file:line.
    ///
    /// Answered from anticipated answers and facts with no model call when it can be, else with the
    /// configured model (streamed), else with the ranked context: what to read and why.
    Ask(ask::AskArgs),
    /// Think now: write the notes (summaries, playbooks, anticipated questions, module summaries,
    /// an overview) that are missing or stale, within the token budgets.
    ///
    /// Needs a model ([llm] in reverie.toml). --dry-run shows every prompt after redaction and the
    /// token estimate, and sends nothing.
    Think(think::ThinkArgs),
    /// Print what reverie learned (its notes) as markdown: the overview, folder and file summaries,
    /// debugging playbooks, anticipated questions; stale notes are marked.
    ///
    /// Refreshes the index first, to tell which notes were written for code that has changed since.
    /// Calls no model.
    Notes(notes::NotesArgs),
    /// Print the facts reverie extracts from one file (for checking what it sees).
    Facts(facts::FactsArgs),
    /// Measure whether sleep-time compute pays, on the localization dev set (real questions with
    /// gold files, asked against PyPI sdists).
    ///
    /// Prints retrieval quality (file recall@k, all-gold@k, recall within 2k/8k/32k tokens) for raw
    /// BM25 chunks, facts only, and facts + notes; the test-time tokens each needs to reach the raw
    /// baseline's recall; direct-answer latency; the amortized cost per question from the ledger; and,
    /// with the local model, a few answers end to end. --think / --think-local write notes first.
    Eval(eval::EvalArgs),
    /// Share idle work through the workspace's git remote: `push` publishes the semantic index's
    /// vectors under refs/reverie/, `pull` imports those of files whose content is the same here.
    ///
    /// A CI job runs `reverie think` then `reverie share push`; teammates (and the server, with
    /// [share] remote = "origin") pull instead of embedding again.
    Share(share::ShareArgs),
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum Format {
    #[default]
    Text,
    Json,
}

pub fn main() -> ExitCode {
    init_logging();
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Serve(args) => serve::run(&cli, args),
        Command::Index(args) => index::run(&cli, args),
        Command::Map(args) => map::run(&cli, args),
        Command::Status(args) => status::run(&cli, args),
        Command::Think(args) => think::run(&cli, args),
        Command::Ask(args) => ask::run(&cli, args),
        Command::Notes(args) => notes::run(&cli, args),
        Command::Facts(args) => facts::run(args),
        Command::Eval(args) => eval::run(&cli, args),
        Command::Share(args) => share::run(&cli, args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("reverie: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging() {
    // A bare level (`REVERIE_LOG=debug`) applies to reverie itself; its dependencies stay at `warn`
    // (sled at debug is very chatty). Full filter syntax (`reverie=debug,sled=info`) is passed through.
    let spec = std::env::var("REVERIE_LOG").unwrap_or_else(|_| "warn".into());
    let spec = if spec.contains('=') || spec.contains(',') { spec } else { format!("warn,reverie={spec}") };
    let filter =
        tracing_subscriber::EnvFilter::try_new(&spec).unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    // Colour codes only for a person at a terminal: editors show the server's stderr as plain text.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi)
        .with_target(false)
        .try_init();
}

/// The async runtime for commands that need one (model calls, the server): the one place it is built.
pub(crate) fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().context("starting the async runtime")
}

/// The workspace root named on the command line, made absolute.
fn workspace_root(path: &Path) -> Result<PathBuf> {
    let root =
        path.canonicalize().with_context(|| format!("cannot open the folder {} (does it exist?)", path.display()))?;
    anyhow::ensure!(root.is_dir(), "{} is a file; give the folder to index", root.display());
    Ok(root)
}

/// The store directory for `roots` under the cache root.
fn store_dir(cli: &Cli, roots: &[PathBuf]) -> Result<PathBuf> {
    Ok(crate::dirs::cache_root(cli.cache_dir.as_deref())?.join(crate::store::workspace_id(roots)))
}

/// Opens the store for `roots`, logging a rebuild.
fn open_store(cli: &Cli, roots: &[PathBuf]) -> Result<crate::store::Store> {
    let dir = store_dir(cli, roots)?;
    let (store, outcome) = crate::store::Store::open(&dir)?;
    if let crate::store::OpenOutcome::Rebuilt(reason) = outcome {
        eprintln!("reverie: {reason}");
    }
    Ok(store)
}

/// The model on the command line, for commands that can call one.
#[derive(clap::Args, Debug, Default)]
pub struct ModelArgs {
    /// Use this GGUF model in-process (the `local` provider, from a build with `--features local`)
    /// instead of the configured [llm]. Nothing leaves the machine.
    #[arg(long, value_name = "FILE.gguf")]
    pub local_model: Option<std::path::PathBuf>,
}

impl ModelArgs {
    /// The configuration with the command line's model in place of the configured one.
    fn apply(&self, mut config: crate::config::Config) -> crate::config::Config {
        if let Some(path) = &self.local_model {
            config.llm.provider = crate::llm::LlmProvider::Local;
            config.llm.model_path = Some(path.clone());
        }
        config
    }
}

/// Loads the workspace configuration, printing any problem with it (never fatal).
fn load_config(root: &Path) -> crate::config::Config {
    let (config, problems) = crate::config::Config::load(root);
    for problem in problems {
        eprintln!("reverie: config: {problem}");
    }
    config
}

/// What an index holds, as `index` and `status` say it: `1,234 files (5.6 MB): python 1,200, rst 34`.
fn files_line(files: usize, bytes: u64, by_language: &std::collections::BTreeMap<String, usize>) -> String {
    let languages: Vec<String> =
        by_language.iter().map(|(lang, n)| format!("{lang} {}", thousands(*n as u64))).collect();
    let languages = if languages.is_empty() { "no supported source files".to_string() } else { languages.join(", ") };
    format!("{} files ({}): {languages}", thousands(files as u64), human_bytes(bytes))
}

fn human_bytes(bytes: u64) -> String {
    let b = bytes as f64;
    if b >= 1e9 {
        format!("{:.1} GB", b / 1e9)
    } else if b >= 1e6 {
        format!("{:.1} MB", b / 1e6)
    } else if b >= 1e3 {
        format!("{:.1} kB", b / 1e3)
    } else {
        format!("{bytes} B")
    }
}
