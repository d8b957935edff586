//! Answering: from the learned context first, from facts always, from a model only when needed.
//!
//! `plan_answer` decides, with no IO: a fresh anticipated question or a structural question ("where
//! is X defined", "what calls X", "which tests cover X", "where is this error raised") is answered
//! directly with zero model tokens; otherwise the question gets ranked, cited context (`retrieve.rs`)
//! and either a model request that leads with it (`compose.rs`) or, with no model, the context itself
//! as the answer, clearly labelled. The server and the CLI do the IO.

mod compose;
mod direct;
mod learned;
mod retrieve;
mod symbol;

pub use compose::{ConversationStore, Turn, model_request, render_context_answer};
pub use direct::{ANTICIPATED_MATCH, Direct, anticipated, structural};
pub use learned::{LearnedContext, note_text};
pub use retrieve::{MAX_PER_FILE, Rankers, candidates, identifiers_in, named_definitions, rank_files, select};
pub use symbol::describe_symbol;

use crate::llm::ChatRequest;
use crate::snapshot::Snapshot;
use serde::Serialize;

#[derive(Clone, Debug, Default)]
pub struct Question {
    pub text: String,
    /// The file open in the editor, by key.
    pub focus_file: Option<String>,
    /// The 0-based line of the cursor in `focus_file`.
    pub focus_line: Option<u32>,
    /// Most tokens the retrieved context may take.
    pub budget: usize,
    /// Earlier turns of the conversation, oldest first (follow-ups are read in their light).
    pub history: Vec<Turn>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ContextItem {
    pub path: String,
    /// 1-based, inclusive.
    pub start_line: u32,
    pub end_line: u32,
    /// `error-site`, `definition`, `ranked-definition`, `note`, `reference`, `test`.
    pub kind: String,
    pub score: f64,
    pub tokens: usize,
    /// Why this item is here, in a few words.
    pub reason: String,
    /// The text shown for it (signature, doc, note, message).
    pub text: String,
    /// From a note whose inputs changed since it was written.
    pub stale: bool,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Usage {
    pub test_prompt_tokens: u64,
    pub test_completion_tokens: u64,
    pub llm_calls: u32,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Answer {
    pub answer: String,
    /// `anticipated` (precomputed, zero tokens), `facts` (structural, zero tokens), `model`, or
    /// `context` (no model: the ranked context is the answer).
    pub source: String,
    pub context: Vec<ContextItem>,
    pub usage: Usage,
}

/// What to do for a question.
pub enum Plan {
    /// Answered without a model.
    Done(Answer),
    /// Ask the model with this request; `context` is what it was given (cite it in the answer).
    Model { request: ChatRequest, context: Vec<ContextItem> },
}

/// The text retrieval works on: a follow-up that names nothing borrows the previous question.
fn retrieval_question(snapshot: &Snapshot, question: &Question) -> Question {
    let mut q = question.clone();
    if named_definitions(snapshot, &question.text).is_empty()
        && let Some(last) = question.history.last()
    {
        q.text = format!("{} {}", question.text, last.question);
    }
    q
}

/// Decides how to answer (see the module docs). `completion_budget` bounds a model's answer.
pub fn plan_answer(
    snapshot: &Snapshot,
    learned: Option<&LearnedContext>,
    question: &Question,
    have_model: bool,
    completion_budget: u32,
) -> Plan {
    let retrieval = retrieval_question(snapshot, question);
    if let Some(direct) = learned.and_then(|l| anticipated(l, question)) {
        return Plan::Done(from_direct(direct));
    }
    if let Some(direct) = structural(snapshot, &retrieval) {
        return Plan::Done(from_direct(direct));
    }
    let context = select(candidates(snapshot, learned, &retrieval, Rankers::default()), question.budget);
    if have_model {
        let request = model_request(question, &context, completion_budget);
        return Plan::Model { request, context };
    }
    Plan::Done(Answer {
        answer: render_context_answer(&question.text, &context),
        source: "context".into(),
        context,
        usage: Usage::default(),
    })
}

fn from_direct(direct: Direct) -> Answer {
    Answer { answer: direct.answer, source: direct.source.into(), context: direct.context, usage: Usage::default() }
}
