//! Search over facts, shared by the sleep-time engine and answering: identifier-aware tokens and
//! BM25 (`bm25.rs`), the lexical index over definitions and error messages (`facts_index.rs`), the
//! full-text index over code bodies (`text_index.rs`), both kept between processes for a snapshot of
//! the store's facts (`stored.rs`), the project's past commits as answered questions (`past.rs`),
//! and how much a file counts before any question is asked (`prior.rs`).
//!
//! Pure: everything here is built from facts in memory and tested with strings. It sits below
//! `snapshot` (which owns one index per snapshot), `sleep` (which schedules by the file prior) and
//! `answer` (which ranks with all of it).

mod bm25;
mod facts_index;
mod past;
pub mod prior;
mod stored;
mod text_index;

pub use bm25::{Bm25, IndexBytes, split_identifier, tokenize};
pub use facts_index::{FactDoc, FactsIndex, path_tokens, recipe_probe};
pub use past::{CoChange, FileVote, PastChanges, PastCommit, PastFile, QUESTION_FILES, VOTING, Voting};
pub use prior::{file_weight, is_vendored};
pub use stored::IndexFiles;
pub use text_index::{TextDocAt, TextIndex};
