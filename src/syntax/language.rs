//! The language registry: which files reverie understands, with which grammar and which queries.
//!
//! Each language's queries live in `grammars/<language>/*.scm` and are compiled into the binary with
//! `include_str!`. A language's query is the concatenation of its files (TypeScript reuses the
//! JavaScript files and adds its own), compiled once per process. The capture names the queries use
//! are the contract with `extract.rs`; they are listed in `grammars/README.md`.

use serde::{Deserialize, Serialize};
use std::path::Path;
use std::sync::OnceLock;
use tree_sitter::Query;

/// A language reverie extracts facts from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Language {
    Rust,
    Python,
    JavaScript,
    TypeScript,
    Tsx,
    Go,
    Java,
    C,
    Cpp,
}

/// How a language attaches documentation to a definition.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DocStyle {
    /// Comments directly above the definition (Rust, JavaScript, Go, Java, C, ...).
    PrecedingComments,
    /// A string literal as the first statement of the body (Python).
    Docstring,
}

impl Language {
    pub const ALL: [Language; 9] = [
        Language::Rust,
        Language::Python,
        Language::JavaScript,
        Language::TypeScript,
        Language::Tsx,
        Language::Go,
        Language::Java,
        Language::C,
        Language::Cpp,
    ];

    /// The language of a file, from its extension; `None` for files reverie does not parse.
    pub fn from_path(path: &Path) -> Option<Language> {
        let ext = path.extension()?.to_str()?;
        Language::from_extension(ext)
    }

    pub fn from_extension(ext: &str) -> Option<Language> {
        Some(match ext {
            "rs" => Language::Rust,
            "py" | "pyi" => Language::Python,
            "js" | "mjs" | "cjs" | "jsx" => Language::JavaScript,
            "ts" | "mts" | "cts" => Language::TypeScript,
            "tsx" => Language::Tsx,
            "go" => Language::Go,
            "java" => Language::Java,
            "c" | "h" => Language::C,
            "cc" | "cpp" | "cxx" | "c++" | "hpp" | "hh" | "hxx" | "h++" | "ipp" | "inl" => Language::Cpp,
            _ => return None,
        })
    }

    /// A short lowercase name, used in summaries, JSON and the store.
    pub fn name(self) -> &'static str {
        match self {
            Language::Rust => "rust",
            Language::Python => "python",
            Language::JavaScript => "javascript",
            Language::TypeScript => "typescript",
            Language::Tsx => "tsx",
            Language::Go => "go",
            Language::Java => "java",
            Language::C => "c",
            Language::Cpp => "cpp",
        }
    }

    pub fn grammar(self) -> tree_sitter::Language {
        match self {
            Language::Rust => tree_sitter_rust::LANGUAGE.into(),
            Language::Python => tree_sitter_python::LANGUAGE.into(),
            Language::JavaScript => tree_sitter_javascript::LANGUAGE.into(),
            Language::TypeScript => tree_sitter_typescript::LANGUAGE_TYPESCRIPT.into(),
            Language::Tsx => tree_sitter_typescript::LANGUAGE_TSX.into(),
            Language::Go => tree_sitter_go::LANGUAGE.into(),
            Language::Java => tree_sitter_java::LANGUAGE.into(),
            Language::C => tree_sitter_c::LANGUAGE.into(),
            Language::Cpp => tree_sitter_cpp::LANGUAGE.into(),
        }
    }

    pub fn doc_style(self) -> DocStyle {
        match self {
            Language::Python => DocStyle::Docstring,
            _ => DocStyle::PrecedingComments,
        }
    }

    /// The query source: the language's `.scm` files from `grammars/`, concatenated, the more specific
    /// language's files first (earlier patterns win when two match the same node).
    pub fn query_source(self) -> String {
        let parts: &[&str] = match self {
            Language::Rust => {
                &[include_str!("../../grammars/rust/tags.scm"), include_str!("../../grammars/rust/facts.scm")]
            }
            Language::Python => {
                &[include_str!("../../grammars/python/tags.scm"), include_str!("../../grammars/python/facts.scm")]
            }
            Language::JavaScript => &[
                include_str!("../../grammars/javascript/tags.scm"),
                include_str!("../../grammars/javascript/facts.scm"),
                include_str!("../../grammars/javascript/jsx.scm"),
            ],
            Language::TypeScript => &[
                include_str!("../../grammars/typescript/tags.scm"),
                include_str!("../../grammars/javascript/tags.scm"),
                include_str!("../../grammars/javascript/facts.scm"),
            ],
            Language::Tsx => &[
                include_str!("../../grammars/typescript/tags.scm"),
                include_str!("../../grammars/javascript/tags.scm"),
                include_str!("../../grammars/javascript/facts.scm"),
                include_str!("../../grammars/javascript/jsx.scm"),
            ],
            Language::Go => &[include_str!("../../grammars/go/tags.scm"), include_str!("../../grammars/go/facts.scm")],
            Language::Java => {
                &[include_str!("../../grammars/java/tags.scm"), include_str!("../../grammars/java/facts.scm")]
            }
            Language::C => &[include_str!("../../grammars/c/tags.scm"), include_str!("../../grammars/c/facts.scm")],
            Language::Cpp => &[
                include_str!("../../grammars/cpp/tags.scm"),
                include_str!("../../grammars/cpp/facts.scm"),
                include_str!("../../grammars/c/tags.scm"),
                include_str!("../../grammars/c/facts.scm"),
            ],
        };
        parts.join("\n")
    }

    /// The compiled query, built once per process. Panics only if a query shipped in `grammars/` does
    /// not compile against its grammar, which `tests/grammars.rs` checks for every language.
    pub fn query(self) -> &'static Query {
        static QUERIES: [OnceLock<Query>; 9] = [const { OnceLock::new() }; 9];
        QUERIES[self as usize].get_or_init(|| {
            Query::new(&self.grammar(), &self.query_source())
                .unwrap_or_else(|err| panic!("the query for {} does not compile: {err}", self.name()))
        })
    }
}

/// A fingerprint of every query and of the extractor's version. Facts in the store carry it, so a
/// binary with different queries never serves facts an older binary extracted.
pub fn facts_fingerprint() -> crate::hash::Digest {
    let mut builder = crate::hash::DigestBuilder::new();
    builder.part(env!("CARGO_PKG_VERSION").as_bytes());
    builder.part(&crate::syntax::EXTRACTOR_VERSION.to_le_bytes());
    for language in Language::ALL {
        builder.part(language.name().as_bytes());
        builder.part(language.query_source().as_bytes());
    }
    builder.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extensions_map_to_languages() {
        assert_eq!(Language::from_path(Path::new("a/b.rs")), Some(Language::Rust));
        assert_eq!(Language::from_path(Path::new("x.tsx")), Some(Language::Tsx));
        assert_eq!(Language::from_path(Path::new("x.hpp")), Some(Language::Cpp));
        assert_eq!(Language::from_path(Path::new("Makefile")), None);
        assert_eq!(Language::from_path(Path::new("notes.txt")), None);
    }

    #[test]
    fn language_index_matches_all() {
        for (i, language) in Language::ALL.iter().enumerate() {
            assert_eq!(*language as usize, i);
        }
    }
}
