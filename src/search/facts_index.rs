//! The facts search index: BM25 over every definition (name parts, signature, doc, path) and every
//! error message, built once per snapshot (lazily, on the first question) and shared, or read in
//! place from the file kept for the snapshot (`stored.rs`).

use super::bm25::{Bm25, tokenize};
use super::stored::IndexFiles;
use crate::syntax::FileFacts;
use std::collections::BTreeMap;
use std::sync::Arc;

/// What a document of the facts index stands for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FactDoc {
    Definition { file: Arc<str>, index: u32 },
    ErrorSite { file: Arc<str>, index: u32 },
}

#[derive(Debug, Default)]
pub struct FactsIndex {
    pub docs: Vec<FactDoc>,
    pub bm25: Bm25,
}

/// What the indexes' terms are made of, as bytes to digest into a snapshot's identity
/// (`stored.rs`): `RECIPE` and the tokenizer's output on a text and a path that exercise its rules.
pub fn recipe_probe() -> Vec<u8> {
    let mut probe = super::stored::RECIPE.to_le_bytes().to_vec();
    let words = tokenize("HTTPServer.load_settings_v2 __init__ parseJSONValue café-au-lait x1");
    probe.extend(words.join(" ").into_bytes());
    probe.extend(path_tokens("src/my-app/Core.rs").join(" ").into_bytes());
    probe
}

/// Path parts as tokens: `django/db/models/query.py` → `django db models query`.
pub fn path_tokens(path: &str) -> Vec<String> {
    tokenize(&path.replace(['/', '.', '-'], " "))
}

impl FactsIndex {
    pub fn build(files: &BTreeMap<Arc<str>, Arc<FileFacts>>) -> FactsIndex {
        FactsIndex::build_or_read(files, None)
    }

    /// Built, or read in place from `kept` when it holds this snapshot's index (`search::stored`).
    pub fn build_or_read(files: &BTreeMap<Arc<str>, Arc<FileFacts>>, kept: Option<&dyn IndexFiles>) -> FactsIndex {
        let mut docs = Vec::new();
        for (file, facts) in files {
            docs.extend(
                (0..facts.definitions.len())
                    .map(|index| FactDoc::Definition { file: file.clone(), index: index as u32 }),
            );
            docs.extend(
                (0..facts.error_sites.len())
                    .map(|index| FactDoc::ErrorSite { file: file.clone(), index: index as u32 }),
            );
        }
        let bm25 = super::stored::load_or_build(kept, "facts", docs.len(), || {
            // Each path's tokens once (every definition of a file repeats them: 222k definitions in
            // 15k files on a big workspace, tokenized twice each by the two walks of `Bm25::new`).
            let paths: rustc_hash::FxHashMap<&str, Vec<String>> =
                files.keys().map(|key| (&**key, path_tokens(key))).collect();
            // Tokens are produced one document at a time, never all held at once.
            Bm25::new(docs.iter().map(|doc| tokens_of(files, &paths, doc)))
        });
        FactsIndex { docs, bm25 }
    }
}

fn tokens_of(
    files: &BTreeMap<Arc<str>, Arc<FileFacts>>,
    paths: &rustc_hash::FxHashMap<&str, Vec<String>>,
    doc: &FactDoc,
) -> Vec<String> {
    match doc {
        FactDoc::Definition { file, index } => {
            let def = &files[file].definitions[*index as usize];
            let mut tokens = tokenize(&def.name);
            // The name counts twice: a question naming it should find it first.
            tokens.extend_from_within(..);
            tokens.extend(tokenize(&def.signature));
            if let Some(doc) = &def.doc {
                tokens.extend(tokenize(doc.split("\n\n").next().unwrap_or(doc)));
            }
            tokens.extend(paths[&**file].iter().cloned());
            tokens
        }
        FactDoc::ErrorSite { file, index } => {
            let facts = &files[file];
            let site = &facts.error_sites[*index as usize];
            let mut tokens = tokenize(&site.message);
            if let Some(def) = site.definition.and_then(|d| facts.definitions.get(d as usize)) {
                tokens.extend(tokenize(&def.name));
            }
            tokens
        }
    }
}
