//! `reverie ask`: answer a question about a folder — from anticipated answers and facts with zero
//! model tokens when possible, else with the configured model, else with the ranked context.

use super::{Cli, Format};
use crate::sleep::NoteStore;
use anyhow::Result;
use clap::Args;
use serde::Serialize;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Args, Debug)]
pub struct AskArgs {
    /// `[PATH] QUESTION`: the folder (default: the current one) and the question (a traceback or an
    /// error message is fine).
    #[arg(value_name = "[PATH] QUESTION", num_args = 1..=2, required = true)]
    pub words: Vec<String>,
    /// Never call a model: answer from anticipated answers, facts and the ranked context.
    #[arg(long)]
    pub no_llm: bool,
    /// Most tokens of context to retrieve.
    #[arg(long, default_value_t = 2000, value_name = "TOKENS")]
    pub budget: usize,
    /// Continue a conversation: follow-ups see the earlier questions and answers.
    #[arg(long, value_name = "ID")]
    pub conversation: Option<String>,
    /// Show the model's answer even when it names mostly code that is not in this workspace (its
    /// unverified names marked ⚠) instead of setting it aside for the ranked context.
    #[arg(long)]
    pub show_unverified: bool,
    #[command(flatten)]
    pub model: super::ModelArgs,
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

#[derive(Serialize)]
struct JsonItem<'a> {
    path: &'a str,
    start_line: u32,
    end_line: u32,
    kind: &'a str,
    score: f64,
    tokens: usize,
}

#[derive(Serialize)]
struct JsonAnswer<'a> {
    answer: &'a str,
    source: &'a str,
    context: Vec<JsonItem<'a>>,
    usage: &'a crate::answer::Usage,
    /// The names the model's answer wrote that are in neither the workspace nor the language.
    unverified: &'a [String],
    /// The model's answer was mostly such names and the ranked context stands in for it.
    set_aside: bool,
    /// Every name the model's answer wrote, with where it was found (`workspace`, `language`,
    /// `unverified`): what the grounding check saw, for measurements.
    checked: Vec<JsonChecked<'a>>,
    /// The model's answer as it wrote it, unmarked, whether shown or set aside (absent when no
    /// model answered): what a measurement of the check reads.
    #[serde(skip_serializing_if = "Option::is_none")]
    model_answer: Option<&'a str>,
    latency_ms: f64,
}

#[derive(Serialize)]
struct JsonChecked<'a> {
    name: &'a str,
    found: &'static str,
}

/// How `reverie ask` shows a set-aside answer anyway.
const SHOW_UNVERIFIED: &str = "to see it anyway, ask again with --show-unverified";

impl AskArgs {
    fn path(&self) -> PathBuf {
        if self.words.len() == 2 { PathBuf::from(&self.words[0]) } else { PathBuf::from(".") }
    }

    fn question(&self) -> &str {
        self.words.last().map_or("", String::as_str)
    }
}

pub fn run(cli: &Cli, args: &AskArgs) -> Result<()> {
    let asked = std::time::Instant::now();
    let question_text = args.question().to_string();
    anyhow::ensure!(
        !question_text.trim().is_empty(),
        "the question is empty: reverie ask . \"where is the config loaded?\""
    );
    let root = super::workspace_root(&args.path())?;
    let config = args.model.apply(super::load_config(&root));
    let roots = vec![root.clone()];
    let store = Arc::new(super::open_store(cli, &roots)?);
    let before = store.file_records()?.len();
    let report = super::index::index_with_progress(&store, &roots, &config)?;
    if report.parsed > 0 {
        eprintln!(
            "reverie: indexed {} ({} files parsed{})",
            root.display(),
            report.parsed,
            if before == 0 { ", first run" } else { "" }
        );
    }
    let started = std::time::Instant::now();
    let peak_mb = || crate::index::peak_rss_bytes().map_or(0, |b| b / 1_000_000);
    tracing::debug!("indexed; peak RSS so far {} MB", peak_mb());
    let snapshot = Arc::new(crate::index::snapshot(&store)?);
    tracing::debug!("facts read and the snapshot built by {:?}; peak RSS {} MB", started.elapsed(), peak_mb());
    snapshot.facts_index();
    tracing::debug!("facts search index built by {:?}; peak RSS {} MB", started.elapsed(), peak_mb());
    snapshot.text_index();
    tracing::debug!("full-text index built by {:?}; peak RSS {} MB", started.elapsed(), peak_mb());
    let learned = Arc::new(crate::answer::LearnedContext::new(store.notes()?, &snapshot));
    let provider =
        if args.no_llm { None } else { crate::llm::from_config(&config.llm).map_err(anyhow::Error::from)? };
    let runtime = super::runtime()?;
    // The semantic channel, when an idle pass (`reverie think`, the server) stored vectors.
    let nearest = match store.has_embeddings().then(|| super::semantic::embedder(cli, &config)).flatten() {
        Some(embedder) => Some(super::semantic::Nearest::load(&store, &snapshot, Some(&learned), embedder)?),
        None => None,
    };
    tracing::debug!("facts, notes and vectors loaded by {:?}", started.elapsed());
    let past = crate::history::load_past_changes(&store)?;
    tracing::debug!("history loaded by {:?}; peak RSS {} MB", started.elapsed(), peak_mb());
    // The process ends after the answer: the system takes its memory back at once, where freeing
    // every file's facts one by one took a tenth of a big workspace's question.
    std::mem::forget(snapshot.clone());
    let knowledge = crate::ask::Knowledge {
        snapshot,
        learned: Some(learned),
        store: Some(store.clone()),
        provider: provider.map(|p| p as Arc<dyn crate::llm::Provider>),
        past,
        llm: config.llm.clone(),
    };
    let question = crate::answer::Question { text: question_text, budget: args.budget, ..Default::default() };
    let around = OnTheCommandLine {
        root: root.clone(),
        max_file_size: config.index.max_file_size,
        nearest,
        // The model's text is shown once checked against the workspace, not as it streams: a dot
        // per piece on stderr says it is coming.
        streaming: args.format == Format::Text && std::io::IsTerminal::is_terminal(&std::io::stderr()),
        show_unverified: args.show_unverified,
    };
    let answered = runtime.block_on(crate::ask::ask(knowledge, question, args.conversation.as_deref(), &around, asked));
    if let Some(sized) = &answered.sized {
        eprintln!(
            "reverie: the model reads {:.0} and writes {:.0} tokens/s here (after 1,000 tokens): {} tokens of context, answers up to {} tokens (llm.answer_time {:?})",
            sized.speed.prompt_per_s(1000.0),
            sized.speed.answer_per_s(1000.0),
            sized.context_tokens,
            sized.answer_tokens,
            config.llm.answer_time
        );
    }
    if let Some(err) = &answered.model_error {
        eprintln!("reverie: the model could not answer ({err}); showing the context instead");
    }
    if around.streaming && answered.answer.usage.llm_calls > 0 {
        eprintln!();
    }
    let answer = answered.answer;
    let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
    store.flush()?;
    match args.format {
        Format::Json => {
            let json = JsonAnswer {
                answer: &answer.answer,
                source: answer.source.name(),
                context: answer
                    .context
                    .iter()
                    .map(|c| JsonItem {
                        path: &c.path,
                        start_line: c.start_line,
                        end_line: c.end_line,
                        kind: c.kind.name(),
                        score: c.score,
                        tokens: c.tokens,
                    })
                    .collect(),
                usage: &answer.usage,
                unverified: &answer.unverified,
                set_aside: answer.set_aside,
                checked: answered
                    .grounding
                    .iter()
                    .flat_map(|g| &g.claims)
                    .map(|c| JsonChecked { name: &c.name, found: c.verdict.name() })
                    .collect(),
                model_answer: answered.model_text.as_deref(),
                latency_ms,
            };
            println!("{}", serde_json::to_string_pretty(&json)?);
        }
        Format::Text => {
            if answer.source == crate::answer::Source::Model {
                println!("{}\n", answer.answer.trim_end());
                for (i, item) in answer.context.iter().enumerate() {
                    println!("[{}] {}:{}-{}  {}", i + 1, item.path, item.start_line, item.end_line, item.reason);
                }
            } else {
                print!("{}", answer.answer);
            }
            eprintln!(
                "reverie: source {} · {} model call(s), {} prompt + {} completion tokens · {:.0} ms",
                answer.source,
                answer.usage.llm_calls,
                answer.usage.test_prompt_tokens,
                answer.usage.test_completion_tokens,
                latency_ms
            );
        }
    }
    Ok(())
}

/// The asking flow's surroundings on the command line: files from the disk, the store's vectors, and
/// a dot on stderr per streamed piece (the answer is printed once checked; JSON whole at the end).
struct OnTheCommandLine {
    root: PathBuf,
    max_file_size: u64,
    nearest: Option<super::semantic::Nearest>,
    streaming: bool,
    show_unverified: bool,
}

impl crate::ask::Surroundings for OnTheCommandLine {
    fn source_of(&self, key: &str) -> Option<String> {
        crate::workspace::read_source_text(&self.root.join(key), self.max_file_size)
    }

    async fn nearest(&self, question: &str) -> crate::embed::semantic::Nearby {
        match &self.nearest {
            Some(nearest) => nearest.search(question).await,
            None => Default::default(),
        }
    }

    fn on_chunk(&self, _: &str) {
        if self.streaming {
            eprint!(".");
            let _ = std::io::stderr().flush();
        }
    }

    fn show_unverified(&self) -> bool {
        self.show_unverified
    }

    fn how_to_show_unverified(&self) -> &str {
        SHOW_UNVERIFIED
    }
}
