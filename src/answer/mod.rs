//! Answering: from the learned context first, from facts always, from a model only when needed.
//!
//! `plan_answer` decides, with no IO: a fresh anticipated question or a structural question ("where
//! is X defined", "what calls X", "which tests cover X", "where is this error raised") is answered
//! directly with zero model tokens; otherwise the question gets ranked, cited context (`retrieve.rs`)
//! and either a model request that leads with it (`compose.rs`) or, with no model, the context itself
//! as the answer, clearly labelled. The server and the CLI do the IO.

mod compose;
mod direct;
mod fusion;
pub mod grounding;
mod items;
mod learned;
mod names;
mod retrieve;
mod subject;
mod symbol;

pub use compose::{ConversationStore, Turn, citation, model_request, render_context_answer, render_set_aside_answer};
pub use direct::{ANTICIPATED_MATCH, Direct, anticipated, structural};
pub use learned::{LearnedContext, note_text};
pub use names::{Name, files_named_in, identifiers_in, is_code_shaped, names_in};
pub use retrieve::{MAX_PER_FILE, Rankers, WEIGHTS, Weights, candidates, candidates_weighted, rank_files, select};
pub use subject::{Intent, Subject};
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
    /// The definitions nearest the question by embedding, best first, with their cosine (empty
    /// without a semantic index): the caller embeds the question (`embed::semantic`).
    pub semantic: Vec<(crate::snapshot::DefinitionAt, f32)>,
    /// The learned passages nearest the question by embedding, by passage key
    /// (`learned::Passage::key`), best first, with their cosine.
    pub semantic_notes: Vec<(crate::hash::Digest, f32)>,
    /// The symbol a code action asks about ("Explain …", "How to debug …"): its context is built
    /// from the symbol outward before the general ranking fills the rest (`subject.rs`). `None` for
    /// a question typed by hand.
    pub subject: Option<Subject>,
    /// The files that the project's past commits most like the question changed, best first (empty
    /// without a mined history): the caller searches the history mined at idle time
    /// (`search::PastChanges::files`).
    pub past: Vec<crate::search::PastFile>,
    /// The history's index itself, for what an answer needs from it besides `past` (How to debug:
    /// the past fixes of the subject's file; an impact question: what changed with a file). `None`
    /// without a history.
    pub past_changes: Option<std::sync::Arc<crate::search::PastChanges>>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ContextItem {
    pub path: String,
    /// 1-based, inclusive.
    pub start_line: u32,
    pub end_line: u32,
    pub kind: ItemKind,
    pub score: f64,
    pub tokens: usize,
    /// Why this item is here, in a few words.
    pub reason: String,
    /// The text shown for it (signature, doc, note, message).
    pub text: String,
    /// From a note whose inputs changed since it was written.
    pub stale: bool,
}

/// What a context item is (serialized kebab-case: `error-site`, `ranked-definition`, …).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ItemKind {
    /// Where an error message is produced.
    ErrorSite,
    /// A definition: signature and doc.
    Definition,
    /// A definition ranked by the reference graph (central to the code around the question).
    RankedDefinition,
    /// Code whose words match the question (the full-text channel): a definition's body or
    /// module-level lines.
    Code,
    /// A note of the learned context.
    Note,
    /// A line that uses a symbol.
    Reference,
    /// A test function.
    Test,
    /// A raw window of a file (measurements only: the chunk baseline).
    Chunk,
}

impl ItemKind {
    /// The serialized name (`error-site`, `definition`, …).
    pub fn name(self) -> &'static str {
        match self {
            ItemKind::ErrorSite => "error-site",
            ItemKind::Definition => "definition",
            ItemKind::RankedDefinition => "ranked-definition",
            ItemKind::Code => "code",
            ItemKind::Note => "note",
            ItemKind::Reference => "reference",
            ItemKind::Test => "test",
            ItemKind::Chunk => "chunk",
        }
    }
}

impl std::fmt::Display for ItemKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Where an answer came from (serialized lowercase).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Source {
    /// A precomputed anticipated answer, zero tokens.
    Anticipated,
    /// A structural answer from facts, zero tokens.
    Facts,
    /// The model's answer.
    Model,
    /// No model: the ranked context is the answer.
    Context,
}

impl Source {
    /// The serialized name (`anticipated`, `facts`, `model`, `context`).
    pub fn name(self) -> &'static str {
        match self {
            Source::Anticipated => "anticipated",
            Source::Facts => "facts",
            Source::Model => "model",
            Source::Context => "context",
        }
    }

    /// Answered with zero model tokens.
    pub fn is_direct(self) -> bool {
        matches!(self, Source::Anticipated | Source::Facts)
    }
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
    pub source: Source,
    pub context: Vec<ContextItem>,
    pub usage: Usage,
    /// Names the model's answer wrote that are in neither the workspace nor the language
    /// (`grounding`), whether its prose is shown (marked) or set aside.
    pub unverified: Vec<String>,
    /// The model's answer named mostly such code and the context stands in for it (`source` is
    /// then `context`).
    pub set_aside: bool,
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
    if names_in(snapshot, &snapshot.text_index(), &question.text).is_empty()
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
    let ranked = || candidates(snapshot, learned, &retrieval, Rankers::default());
    // A code action about a symbol: its centred context, never a guess from the question's words;
    // the general ranking, asked about the symbol, fills the rest.
    let about_symbol = |text: &str| {
        candidates(snapshot, learned, &Question { text: text.to_string(), ..retrieval.clone() }, Rankers::default())
    };
    let centred = subject::centred_context(snapshot, learned, question, about_symbol);
    if centred.is_none() {
        if let Some(direct) = learned.and_then(|l| anticipated(l, question)) {
            return Plan::Done(from_direct(direct));
        }
        if let Some(direct) = structural(snapshot, &retrieval) {
            return Plan::Done(from_direct(direct));
        }
    }
    let context = centred.unwrap_or_else(|| select(ranked(), question.budget));
    if have_model {
        let request = model_request(question, &context, completion_budget);
        return Plan::Model { request, context };
    }
    Plan::Done(Answer {
        answer: render_context_answer(&question.text, &context),
        source: Source::Context,
        context,
        usage: Usage::default(),
        unverified: Vec::new(),
        set_aside: false,
    })
}

fn from_direct(direct: Direct) -> Answer {
    Answer {
        answer: direct.answer,
        source: direct.source,
        context: direct.context,
        usage: Usage::default(),
        unverified: Vec::new(),
        set_aside: false,
    }
}
