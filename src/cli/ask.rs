//! `reverie ask`: answer a question about a folder — from anticipated answers and facts with zero
//! model tokens when possible, else with the configured model, else with the ranked context.

use super::{Cli, Format};
use crate::answer::ConversationStore;
use crate::sleep::NoteStore;
use anyhow::Result;
use clap::Args;
use serde::Serialize;
use std::io::Write;
use std::path::PathBuf;

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
    latency_ms: f64,
}

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
    let store = super::open_store(cli, &roots)?;
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
    let snapshot = crate::index::snapshot(&store)?;
    let learned = crate::answer::LearnedContext::new(store.notes()?, &snapshot);
    let provider =
        if args.no_llm { None } else { crate::llm::from_config(&config.llm).map_err(anyhow::Error::from)? };
    let history = match &args.conversation {
        Some(id) => store.conversation(id)?,
        None => Vec::new(),
    };
    let runtime = super::runtime()?;
    // The semantic channel, when an idle pass (`reverie think`, the server) stored vectors.
    let nearby = match store.has_embeddings().then(|| super::semantic::embedder(cli, &config)).flatten() {
        Some(embedder) => super::semantic::Nearest::load(&store, &snapshot, Some(&learned), embedder)?
            .search(&runtime, &question_text),
        None => Default::default(),
    };
    // The past-changes channel, when an idle pass mined the history (only commits reachable from HEAD).
    let mined = crate::history::load(&store)?;
    let past = match mined.is_empty() {
        true => Vec::new(),
        false => crate::history::past_changes(&mined).for_question(&question_text),
    };
    // An in-process model reads a few hundred tokens a second: the context is sized to answer in time.
    let speed = provider.as_ref().and_then(|p| crate::llm::Provider::speed(p.as_ref()));
    let (budget, answer_tokens) =
        crate::ask::fit_budget(speed, &config.llm, &question_text, args.budget, asked.elapsed());
    if let Some(speed) = speed {
        eprintln!(
            "reverie: the model reads {:.0} and writes {:.0} tokens/s here (after 1,000 tokens): {budget} tokens of context, answers up to {answer_tokens} tokens (llm.answer_time {:?})",
            speed.prompt_per_s(1000.0),
            speed.answer_per_s(1000.0),
            config.llm.answer_time
        );
    }
    let question = crate::answer::Question {
        text: question_text.clone(),
        budget,
        history,
        semantic: nearby.definitions,
        semantic_notes: nearby.passages,
        past,
        ..Default::default()
    };
    let plan = crate::answer::plan_answer(&snapshot, Some(&learned), &question, provider.is_some(), answer_tokens);
    let streaming = args.format == Format::Text;
    let on_chunk = |text: &str| {
        if streaming {
            print!("{text}");
            let _ = std::io::stdout().flush();
        }
    };
    let answered = match plan {
        crate::answer::Plan::Done(answer) => crate::ask::Answered { answer, model_error: None },
        plan => runtime.block_on(crate::ask::complete(
            plan,
            provider.as_deref().map(|p| p as &dyn crate::llm::Provider),
            Some(&store),
            &question_text,
            &on_chunk,
        )),
    };
    if let Some(err) = &answered.model_error {
        eprintln!("reverie: the model could not answer ({err}); showing the context instead");
    }
    let mut answer = answered.answer;
    let max_file_size = config.index.max_file_size;
    crate::ask::quote_error_sites(&mut answer, &question_text, &|key| {
        crate::workspace::read_source_text(&root.join(key), max_file_size)
    });
    let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
    if let Some(id) = &args.conversation {
        crate::ask::remember(&store, id, &question_text, &answer)?;
    }
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
                latency_ms,
            };
            println!("{}", serde_json::to_string_pretty(&json)?);
        }
        Format::Text => {
            if answer.source == crate::answer::Source::Model {
                println!("\n");
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
