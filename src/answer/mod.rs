//! Answers from what reverie knows. Today that is the facts layer: a question becomes ranked, cited
//! context (what to read and why), and a symbol becomes a hover card. Learned notes and a model join
//! behind these same functions later.
//!
//! Everything here is pure: it reads a `Snapshot` and returns values; the server and the CLI do the IO.

mod context;
mod symbol;

pub use context::{Answer, ContextItem, Question, Usage, answer_from_facts, identifiers_in};
pub use symbol::describe_symbol;
