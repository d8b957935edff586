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
        let counts = files.iter().map(|(key, f)| (key, (f.definitions.len() as u32, f.error_sites.len() as u32)));
        FactsIndex::build_or_read(counts, |key| files.get(key).map(|f| &**f), None)
    }

    /// Built, or read in place from `kept` when it holds this snapshot's index (`search::stored`).
    /// `files` gives each file's key, in key order, with its number of definitions and error sites;
    /// `facts` a file's facts, asked for only when the index is built.
    pub fn build_or_read<'a>(
        files: impl Iterator<Item = (&'a Arc<str>, (u32, u32))>,
        facts: impl Fn(&str) -> Option<&'a FileFacts>,
        kept: Option<&dyn IndexFiles>,
    ) -> FactsIndex {
        let mut docs = Vec::new();
        let mut keys = Vec::new();
        for (file, (definitions, error_sites)) in files {
            docs.extend((0..definitions).map(|index| FactDoc::Definition { file: file.clone(), index }));
            docs.extend((0..error_sites).map(|index| FactDoc::ErrorSite { file: file.clone(), index }));
            keys.push(file);
        }
        let bm25 = super::stored::load_or_build(kept, "facts", docs.len(), || {
            // Each path's tokens once (every definition of a file repeats them: 222k definitions in
            // 15k files on a big workspace, tokenized twice each by the two walks of `Bm25::new`).
            let paths: rustc_hash::FxHashMap<&str, Vec<String>> =
                keys.iter().map(|key| (&***key, path_tokens(key))).collect();
            // Tokens are produced one document at a time, never all held at once.
            Bm25::new(docs.iter().map(|doc| tokens_of(&facts, &paths, doc)))
        });
        FactsIndex { docs, bm25 }
    }
}

fn tokens_of<'a>(
    facts_of: &impl Fn(&str) -> Option<&'a FileFacts>,
    paths: &rustc_hash::FxHashMap<&str, Vec<String>>,
    doc: &FactDoc,
) -> Vec<String> {
    match doc {
        FactDoc::Definition { file, index } => {
            let Some(def) = facts_of(file).and_then(|facts| facts.definitions.get(*index as usize)) else {
                return Vec::new();
            };
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
            let Some(facts) = facts_of(file) else { return Vec::new() };
            let Some(site) = facts.error_sites.get(*index as usize) else { return Vec::new() };
            let mut tokens = tokenize(&site.message);
            if let Some(def) = site.definition.and_then(|d| facts.definitions.get(d as usize)) {
                tokens.extend(tokenize(&def.name));
            }
            tokens
        }
    }
}
