//! Asking, end to end: `ask` is the one flow from a question to an `Answer`, shared by the language
//! server (`server`), `reverie ask` and the measurements (`cli`). It sits between `answer` (pure
//! planning) and those edges; what differs between them — reading sources, the nearest definitions,
//! where streamed text goes — is the `Surroundings` trait.
//!
//! Guarantees: a plan that needs a model is sent to it once, streaming its text to the caller; the
//! call is recorded in the ledger as test-time spending whether it succeeded or not; a failed call
//! still yields an answer — the ranked context, `source: context` — with the model's error handed
//! back for the caller to show. A question is always answered. Error-site items quote the real source
//! lines (`quote_error_sites`), read by the caller's reader. A model's answer is checked against the
//! code before anyone sees it (`ground`): what it names that is in neither the workspace nor the
//! language is marked and listed, and an answer made mostly of such names is set aside for the
//! context unless the user asked to see it.

use crate::answer::{self, Answer, ConversationStore, ItemKind, LearnedContext, Plan, Question, Source, Turn, Usage};
use crate::embed::semantic::Nearby;
use crate::ledger::LedgerStore;
use crate::llm::{ChatRequest, ChatResponse, LlmError, OnChunk, Provider};
use crate::snapshot::Snapshot;
use crate::store::Store;
use std::sync::Arc;

/// The context budget and answer length for a question to `provider` under `config`: as asked, or,
/// for a model whose speed is known (in-process), sized so the answer comes within
/// `config.answer_time` of the question (`llm::fit_to_time`), less the `spent` time already gone on
/// it (refreshing the index, loading the models: measured 1–1.5 s of a CLI ask on Flask), but never
/// to less than `MIN_MODEL_SHARE` of it. Returns (context tokens, answer tokens). `speed` is
/// `provider.speed()`, which the caller gets off the async threads (it may load the model).
fn fit_budget(
    speed: Option<crate::llm::Speed>,
    config: &crate::llm::LlmConfig,
    question: &str,
    budget: usize,
    spent: std::time::Duration,
) -> (usize, u32) {
    let Some(speed) = speed else { return (budget, config.answer_tokens) };
    // The instructions, the citation lines' overhead and the question itself.
    let fixed = FIXED_PROMPT_TOKENS + crate::tokens::estimate_tokens(question);
    let left = config.answer_time.saturating_sub(spent).max(config.answer_time.mul_f64(MIN_MODEL_SHARE));
    let (answer, context) = crate::llm::fit_to_time(speed, left.mul_f64(SPEED_MARGIN), config.answer_tokens, fixed);
    (budget.min(context), answer)
}

/// The least share of `llm.answer_time` the model gets, however long the rest took.
const MIN_MODEL_SHARE: f64 = 0.5;

/// The share of the time left that the model is planned to fill. A speed measured at load, or kept
/// from an earlier run, can be optimistic on a shared machine: on Flask with SmolLM2-135M the kept
/// speed predicted 6.7 s for a call that took 8.7 s (1,406 prompt tokens, 71 written), and whole
/// asks took 9.0–11.5 s of a 10 s `answer_time`.
const SPEED_MARGIN: f64 = 0.8;

/// What a model request holds besides the context and the question (`answer::model_request`'s
/// instructions and framing), in estimated tokens.
const FIXED_PROMPT_TOKENS: usize = 300;

/// What the asking flow needs from the edge it runs at, and nothing more: the server (open buffers,
/// the session's semantic index, `reverie/answerChunk` to the client) or the command line (the disk,
/// the store's vectors, stdout).
pub trait Surroundings: Sync {
    /// The text of a file by workspace key (an open buffer wins over the disk).
    fn source_of(&self, key: &str) -> Option<String>;
    /// The definitions and note passages nearest the question by embedding; empty without a
    /// semantic index.
    fn nearest(&self, question: &str) -> impl Future<Output = Nearby> + Send;
    /// A piece of the model's answer, as it streams.
    fn on_chunk(&self, text: &str);
    /// Show a model's answer even when it names mostly code that is not in the workspace (marked)
    /// instead of setting it aside for the context (`ground`): the user asked for it.
    fn show_unverified(&self) -> bool;
    /// How the user asks for that here, said in the line that replaces a set-aside answer.
    fn how_to_show_unverified(&self) -> &str;
}

/// What an answer is computed from, read once per question.
#[derive(Clone)]
pub struct Knowledge {
    pub snapshot: Arc<Snapshot>,
    pub learned: Option<Arc<LearnedContext>>,
    /// Holds the ledger and the conversations (the server has none before its first index).
    pub store: Option<Arc<Store>>,
    /// The model, if one is configured and wanted for this question.
    pub provider: Option<Arc<dyn Provider>>,
    /// The history mined at idle, as the past-changes channel's index (none before a history pass).
    pub past: Option<Arc<crate::search::PastChanges>>,
    pub llm: crate::llm::LlmConfig,
}

/// An answer, and the model's error when it could not answer and the context stands in.
pub struct Answered {
    pub answer: Answer,
    pub model_error: Option<LlmError>,
    /// How the context was sized for a model of known speed (in-process), to tell the user.
    pub sized: Option<Sizing>,
    /// What the model's answer names as code and where each name was found (`ground`); `None`
    /// for an answer that did not come from a model.
    pub grounding: Option<answer::grounding::Grounding>,
    /// The model's answer as it wrote it, before it was marked or set aside; `None` for an answer
    /// that did not come from a model. For measuring the check (`scripts/grounding-eval.py`).
    pub model_text: Option<String>,
}

/// A context sized so an in-process model answers within `llm.answer_time`.
#[derive(Clone, Copy, Debug)]
pub struct Sizing {
    pub speed: crate::llm::Speed,
    pub context_tokens: usize,
    pub answer_tokens: u32,
}

/// Said when the architecture overview is asked for before one was written.
pub const NO_OVERVIEW_YET: &str = "No architecture overview has been written yet. reverie writes one while you are idle, once a model is configured and the files' notes are done; run reverie.think (or `reverie think`) to write the notes now. Until then, here is what the facts give:";

/// Answers `question` (its text, budget and focus as asked; the flow fills in the rest) — the one
/// way a question is answered, at every edge: the nearest definitions by embedding, the
/// conversation so far, a context sized to the model's speed, the plan (`answer::plan_answer`, off
/// the async threads), the model's call with its ledger entry, error sites quoted from the source,
/// the model's answer checked against the code (`ground`),
/// the note that no overview exists yet when one is asked for, and the turn remembered. `started`
/// is when the question arrived (time already spent comes off an in-process model's time).
pub async fn ask(
    knowledge: Knowledge,
    mut question: Question,
    conversation: Option<&str>,
    around: &impl Surroundings,
    started: std::time::Instant,
) -> Answered {
    // A code action's question is about its symbol, not about the action's wording ("… where to put
    // a breakpoint …"): the nearest definitions and past commits are searched for the symbol.
    let searched = match &question.subject {
        Some(subject) => format!("`{}`", subject.name),
        None => question.text.clone(),
    };
    let nearby = around.nearest(&searched).await;
    question.semantic = nearby.definitions;
    question.semantic_notes = nearby.passages;
    let store = knowledge.store.clone();
    if let (Some(id), Some(store)) = (conversation, &store) {
        question.history = store.conversation(id).unwrap_or_else(|err| {
            tracing::warn!("could not read conversation {id}: {err:#}");
            Vec::new()
        });
    }
    // An in-process model reads a few hundred tokens a second: the context is sized to answer in
    // time (its speed is measured when it loads, which this may wait for once).
    let speed = match knowledge.provider.clone() {
        Some(provider) => tokio::task::spawn_blocking(move || provider.speed()).await.ok().flatten(),
        None => None,
    };
    let (budget, answer_tokens) = fit_budget(speed, &knowledge.llm, &question.text, question.budget, started.elapsed());
    question.budget = budget;
    let sized = speed.map(|speed| Sizing { speed, context_tokens: budget, answer_tokens });
    let provider = knowledge.provider.clone();
    let learned = knowledge.learned.clone();
    let no_overview = asks_for_overview(&question.text) && learned.as_deref().is_none_or(|l| !has_overview(l));
    // Retrieval and personalized PageRank take milliseconds on a large workspace: off the async threads.
    let have_model = provider.is_some();
    let snapshot = knowledge.snapshot.clone();
    let past = knowledge.past.clone();
    let planned = tokio::task::spawn_blocking(move || {
        let mut question = question;
        if let Some(past) = past {
            question.past = past.for_question(&searched);
            question.past_changes = Some(past);
        }
        let plan = answer::plan_answer(&snapshot, learned.as_deref(), &question, have_model, answer_tokens);
        (plan, question)
    })
    .await;
    let (plan, question) = match planned {
        Ok(planned) => planned,
        // A panic in planning is a bug; the question still gets an answer that says so.
        Err(err) => {
            tracing::error!("planning the answer failed: {err}");
            let answer = Answer {
                answer: format!("reverie could not plan an answer ({err}); please report this with the log."),
                source: Source::Context,
                context: Vec::new(),
                usage: Usage::default(),
                unverified: Vec::new(),
                set_aside: false,
            };
            return Answered { answer, model_error: None, sized, grounding: None, model_text: None };
        }
    };
    let on_chunk = |text: &str| around.on_chunk(text);
    let mut answered = complete(plan, provider.as_deref(), store.as_deref(), &question.text, &on_chunk).await;
    answered.sized = sized;
    quote_error_sites(&mut answered.answer, &question.text, &|key| around.source_of(key));
    answered.model_text = (answered.answer.source == Source::Model).then(|| answered.answer.answer.clone());
    answered.grounding = ground(
        &mut answered.answer,
        &knowledge.snapshot,
        &question.text,
        &|key| around.source_of(key),
        around.show_unverified(),
        around.how_to_show_unverified(),
    );
    if no_overview && answered.answer.source != Source::Model {
        answered.answer.answer = format!("{NO_OVERVIEW_YET}\n\n{}", answered.answer.answer);
    }
    if let (Some(id), Some(store)) = (conversation, &store)
        && let Err(err) = remember(store, id, &question.text, &answered.answer)
    {
        tracing::warn!("could not store the conversation turn: {err:#}");
    }
    answered
}

/// Whether the question asks for the architecture overview (as the editors' commands do).
fn asks_for_overview(question: &str) -> bool {
    let question = question.to_ascii_lowercase();
    question.contains("architecture") && question.contains("overview")
}

fn has_overview(learned: &LearnedContext) -> bool {
    learned.notes.iter().any(|note| note.kind == crate::sleep::NoteKind::Overview)
}

/// Sends `request` to `provider`, streaming to `on_chunk`, and records the call in the ledger of
/// `ledger` (test phase) whether it succeeded or not: the one way a question reaches a model.
pub async fn call_model(
    provider: &dyn Provider,
    ledger: Option<&Store>,
    question: &str,
    request: &ChatRequest,
    on_chunk: OnChunk<'_>,
) -> Result<ChatResponse, LlmError> {
    let started = std::time::Instant::now();
    let result = provider.chat(request, on_chunk).await;
    if let Some(store) = ledger {
        let entry = crate::ledger::test_entry(provider, question, request, &result, started.elapsed());
        if let Err(err) = store.record(&entry) {
            tracing::warn!("could not record a ledger entry: {err:#}");
        }
    }
    result
}

/// Carries out `plan` for `question`: `Plan::Done` as it is, `Plan::Model` with `provider` (chunks of
/// its answer go to `on_chunk`), recording the call in `ledger`'s store when there is one.
async fn complete(
    plan: Plan,
    provider: Option<&dyn Provider>,
    ledger: Option<&Store>,
    question: &str,
    on_chunk: OnChunk<'_>,
) -> Answered {
    let (request, context) = match plan {
        Plan::Done(answer) => {
            return Answered { answer, model_error: None, sized: None, grounding: None, model_text: None };
        }
        Plan::Model { request, context } => (request, context),
    };
    let Some(provider) = provider else {
        // Plans ask for a model only when one is configured; without one, the context is the answer.
        let answer = Answer {
            answer: answer::render_context_answer(question, &context),
            source: Source::Context,
            context,
            usage: Usage::default(),
            unverified: Vec::new(),
            set_aside: false,
        };
        return Answered { answer, model_error: None, sized: None, grounding: None, model_text: None };
    };
    match call_model(provider, ledger, question, &request, on_chunk).await {
        Ok(response) => Answered {
            answer: Answer {
                answer: response.text,
                source: Source::Model,
                context,
                usage: Usage {
                    test_prompt_tokens: response.usage.prompt_tokens,
                    test_completion_tokens: response.usage.completion_tokens,
                    llm_calls: 1,
                },
                unverified: Vec::new(),
                set_aside: false,
            },
            model_error: None,
            sized: None,
            grounding: None,
            model_text: None,
        },
        Err(err) => Answered {
            answer: Answer {
                answer: answer::render_context_answer(question, &context),
                source: Source::Context,
                context,
                usage: Usage { llm_calls: 1, ..Usage::default() },
                unverified: Vec::new(),
                set_aside: false,
            },
            model_error: Some(err),
            sized: None,
            grounding: None,
            model_text: None,
        },
    }
}

/// Error-site items quote the lines that raise the error as they are in the file (the facts keep only
/// the message: `raise "empty route path"` where the file says `return errors.New("empty route
/// path")`). `source_of` reads a file by key (the open buffer or the disk); files that look like
/// they hold secrets are left as they are. A context-only answer, which shows the items, is
/// rendered again with them.
fn quote_error_sites(answer: &mut Answer, question: &str, source_of: &dyn Fn(&str) -> Option<String>) {
    let mut quoted_any = false;
    for item in answer.context.iter_mut().filter(|item| item.kind == ItemKind::ErrorSite) {
        if crate::redact::is_secret_file(std::path::Path::new(&item.path)) {
            continue;
        }
        let Some(source) = source_of(&item.path) else { continue };
        let lines: Vec<&str> = source
            .lines()
            .skip(item.start_line.saturating_sub(1) as usize)
            .take((item.end_line.saturating_sub(item.start_line) + 1).min(MAX_QUOTED_LINES) as usize)
            .collect();
        let quoted = dedent(&lines);
        if !quoted.trim().is_empty() && quoted != item.text {
            item.text = quoted;
            quoted_any = true;
        }
    }
    if quoted_any && answer.source == Source::Context {
        answer.answer = answer::render_context_answer(question, &answer.context);
    }
}

/// Most lines an error-site item quotes.
const MAX_QUOTED_LINES: u32 = 5;

/// `lines` without their common leading whitespace, joined.
fn dedent(lines: &[&str]) -> String {
    let indent =
        lines.iter().filter(|l| !l.trim().is_empty()).map(|l| l.len() - l.trim_start().len()).min().unwrap_or(0);
    lines.iter().map(|l| l.get(indent..).unwrap_or(l.trim_start()).trim_end()).collect::<Vec<_>>().join("\n")
}

/// Checks a model's answer against the workspace (`answer::grounding`): its unverified names are
/// listed in `unverified` and marked where they stand, or — when the answer is mostly unverified and
/// `show_unverified` is off — its prose is set aside for the ranked context (`source: context`,
/// `set_aside`), with one line that names them and says `how_to_see` it anyway. Other answers (from
/// facts, anticipated, the context) are left as they are. `source_of` reads a workspace file by key.
/// Returns the check, for callers that report it.
fn ground(
    answer: &mut Answer,
    snapshot: &crate::snapshot::Snapshot,
    question: &str,
    source_of: &dyn Fn(&str) -> Option<String>,
    show_unverified: bool,
    how_to_see: &str,
) -> Option<answer::grounding::Grounding> {
    if answer.source != Source::Model {
        return None;
    }
    let started = std::time::Instant::now();
    let grounding = answer::grounding::check(snapshot, &answer.answer, Some(source_of));
    answer.unverified = grounding.unverified();
    let (checked, unverified) = grounding.counts();
    tracing::info!("checked {checked} names of the answer, {unverified} unverified, in {:?}", started.elapsed());
    if answer::grounding::set_aside(&grounding) && !show_unverified {
        answer.answer = answer::render_set_aside_answer(question, &answer.context, &answer.unverified, how_to_see);
        answer.source = Source::Context;
        answer.set_aside = true;
    } else {
        answer.answer = answer::grounding::mark(&answer.answer, &grounding);
    }
    Some(grounding)
}

/// Adds the question and its answer to `conversation`, so follow-ups are read in their light.
fn remember(store: &Store, conversation: &str, question: &str, answer: &Answer) -> anyhow::Result<()> {
    store.add_turn(conversation, Turn { question: question.to_string(), answer: answer.answer.clone() })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::answer::ContextItem;

    fn error_site(path: &str, line: u32, text: &str) -> ContextItem {
        ContextItem {
            path: path.into(),
            start_line: line,
            end_line: line,
            kind: ItemKind::ErrorSite,
            score: 1.0,
            tokens: 5,
            reason: "this error message is produced here".into(),
            text: text.into(),
            stale: false,
        }
    }

    #[test]
    fn error_sites_quote_the_real_line_and_a_context_answer_shows_it() {
        let router = "package router\n\nfunc RegisterRoute(path string) error {\n\tif path == \"\" {\n\t\treturn errors.New(\"empty route path\")\n\t}\n\treturn nil\n}\n";
        let context = vec![error_site("go/router.go", 5, "return \"empty route path\""), error_site(".env", 1, "x")];
        let mut answer = Answer {
            answer: answer::render_context_answer("why?", &context),
            source: Source::Context,
            context,
            usage: Usage::default(),
            unverified: Vec::new(),
            set_aside: false,
        };
        let read = |key: &str| match key {
            "go/router.go" => Some(router.to_string()),
            _ => Some("SECRET=1\n".to_string()),
        };
        quote_error_sites(&mut answer, "why?", &read);
        assert_eq!(answer.context[0].text, "return errors.New(\"empty route path\")");
        assert_eq!(answer.context[1].text, "x", "a secret-looking file is not quoted");
        assert!(answer.answer.contains("return errors.New(\"empty route path\")"), "{}", answer.answer);
        assert!(!answer.answer.contains("SECRET"), "{}", answer.answer);
    }

    #[test]
    fn dedent_keeps_relative_indentation() {
        assert_eq!(dedent(&["        if x:", "            raise E()"]), "if x:\n    raise E()");
    }
}
