//! Asking, end to end: the one flow that turns an answering `Plan` into an `Answer`, shared by the
//! language server (`server`) and `reverie ask` (`cli`). It sits between `answer` (pure planning) and
//! those edges.
//!
//! Guarantees: a plan that needs a model is sent to it once, streaming its text to the caller; the
//! call is recorded in the ledger as test-time spending whether it succeeded or not; a failed call
//! still yields an answer — the ranked context, `source: context` — with the model's error handed
//! back for the caller to show. A question is always answered. Error-site items quote the real source
//! lines (`quote_error_sites`), read by the caller's reader.

use crate::answer::{self, Answer, ConversationStore, ItemKind, Plan, Source, Turn, Usage};
use crate::ledger::LedgerStore;
use crate::llm::{LlmError, OnChunk, Provider};
use crate::store::Store;

/// The context budget and answer length for a question to `provider` under `config`: as asked, or,
/// for a model whose speed is known (in-process), sized so the answer comes within
/// `config.answer_time` of the question (`llm::fit_to_time`), less the `spent` time already gone on
/// it (refreshing the index, loading the models: measured 1–1.5 s of a CLI ask on Flask), but never
/// to less than `MIN_MODEL_SHARE` of it. Returns (context tokens, answer tokens). `speed` is
/// `provider.speed()`, which the caller gets off the async threads (it may load the model).
pub fn fit_budget(
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

/// An answer, and the model's error when it could not answer and the context stands in.
pub struct Answered {
    pub answer: Answer,
    pub model_error: Option<LlmError>,
}

/// Carries out `plan` for `question`: `Plan::Done` as it is, `Plan::Model` with `provider` (chunks of
/// its answer go to `on_chunk`), recording the call in `ledger`'s store when there is one.
pub async fn complete(
    plan: Plan,
    provider: Option<&dyn Provider>,
    ledger: Option<&Store>,
    question: &str,
    on_chunk: OnChunk<'_>,
) -> Answered {
    let (request, context) = match plan {
        Plan::Done(answer) => return Answered { answer, model_error: None },
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
        return Answered { answer, model_error: None };
    };
    let started = std::time::Instant::now();
    let result = provider.chat(&request, on_chunk).await;
    if let Some(store) = ledger {
        let entry = crate::ledger::test_entry(provider, question, &request, &result, started.elapsed());
        if let Err(err) = store.record(&entry) {
            tracing::warn!("could not record a ledger entry: {err:#}");
        }
    }
    match result {
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
        },
    }
}

/// Error-site items quote the lines that raise the error as they are in the file (the facts keep only
/// the message: `raise "empty route path"` where the file says `return errors.New("empty route
/// path")`). `source_of` reads a file by key (the open buffer or the disk); files that look like
/// they hold secrets are left as they are. A context-only answer, which shows the items, is
/// rendered again with them.
pub fn quote_error_sites(answer: &mut Answer, question: &str, source_of: &dyn Fn(&str) -> Option<String>) {
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
pub fn ground(
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
pub fn remember(store: &Store, conversation: &str, question: &str, answer: &Answer) -> anyhow::Result<()> {
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
