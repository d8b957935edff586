//! reverie: a language server that thinks about your codebase while the editor is idle.
//!
//! The modules, alphabetically; the README's code map gives them in reading order, with the
//! layering and its invariants.

pub mod answer;
pub mod ask;
pub mod cli;
pub mod config;
pub mod convert;
pub mod dirs;
pub mod document;
pub mod embed;
pub mod eval;
pub mod git;
pub mod graph;
pub mod hash;
pub mod history;
pub mod idle;
pub mod index;
pub mod jobs;
pub mod ledger;
pub mod llm;
pub mod redact;
pub mod search;
pub mod server;
pub mod share;
pub mod sleep;
pub mod snapshot;
pub mod store;
pub mod syntax;
pub mod terms;
pub mod tokens;
pub mod units;
pub mod workspace;
