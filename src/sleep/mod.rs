//! The sleep-time engine: while the editor is idle, turn facts into notes — file summaries, module
//! summaries, an architecture overview, debugging playbooks and anticipated questions with answers —
//! and keep them fresh as the code changes.
//!
//! - `config.rs`: the `[sleep]` section;
//! - `note.rs`: what a note is, its key, freshness;
//! - `plan.rs`: which notes the current facts call for, with inputs and keys (pure);
//! - `prompt.rs`: prompts and output validation per kind (pure);
//! - `schedule.rs`: priorities and budgets (pure);
//! - `run.rs`: the runner that calls the model and stores results.

pub mod config;
pub mod note;
pub mod plan;
pub mod prompt;
pub mod run;
pub mod schedule;

pub use config::SleepConfig;
pub use note::{Anchor, Note, NoteKind, NoteStore};
pub use run::{NoteCounts, Outcome, ThinkEvent, ThinkOptions, ThinkReport, Thinker, model_id, note_counts};
