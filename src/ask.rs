//! Asking, end to end: the one flow that turns an answering `Plan` into an `Answer`, shared by the
//! language server (`server`) and `reverie ask` (`cli`). It sits between `answer` (pure planning) and
//! those edges.
//!
//! Guarantees: a plan that needs a model is sent to it once, streaming its text to the caller; the
//! call is recorded in the ledger as test-time spending whether it succeeded or not; a failed call
//! still yields an answer — the ranked context, `source: context` — with the model's error handed
//! back for the caller to show. A question is always answered.

use crate::answer::{self, Answer, ConversationStore, Plan, Source, Turn, Usage};
use crate::ledger::LedgerStore;
use crate::llm::{LlmError, OnChunk, Provider};
use crate::store::Store;

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
            },
            model_error: None,
        },
        Err(err) => Answered {
            answer: Answer {
                answer: answer::render_context_answer(question, &context),
                source: Source::Context,
                context,
                usage: Usage { llm_calls: 1, ..Usage::default() },
            },
            model_error: Some(err),
        },
    }
}

/// Adds the question and its answer to `conversation`, so follow-ups are read in their light.
pub fn remember(store: &Store, conversation: &str, question: &str, answer: &Answer) -> anyhow::Result<()> {
    store.add_turn(conversation, Turn { question: question.to_string(), answer: answer.answer.clone() })
}
