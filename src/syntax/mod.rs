//! Syntax: the language registry, the tree-sitter queries from `grammars/`, and fact extraction.
//!
//! This layer knows nothing about LSP, the store or the network. Its one job is
//! `(bytes, language) -> FileFacts`, deterministic and infallible.

mod extract;
pub mod facts;
mod language;
mod own_names;
pub mod text;

pub use extract::{extract, extract_from_tree, parse};
pub use facts::{FileFacts, TermCounts, TextDoc, render_facts};
pub use language::{DocStyle, Language, LanguageSpec, facts_fingerprint};
pub use own_names::{has_library_names, is_keyword, is_own_header, is_own_member, is_own_name};

/// Bumped whenever extraction logic changes what it produces for the same bytes; part of the store's
/// facts fingerprint, so stale facts are re-extracted rather than served.
pub const EXTRACTOR_VERSION: u32 = 4;
