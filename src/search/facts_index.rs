//! The facts search index: BM25 over every definition (name parts, signature, doc, path) and every
//! error message, built once per snapshot (lazily, on the first question) and shared.

use super::bm25::{Bm25, tokenize};
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

/// Path parts as tokens: `django/db/models/query.py` → `django db models query`.
pub fn path_tokens(path: &str) -> Vec<String> {
    tokenize(&path.replace(['/', '.', '-'], " "))
}

impl FactsIndex {
    pub fn build(files: &BTreeMap<Arc<str>, Arc<FileFacts>>) -> FactsIndex {
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
        // Each path's tokens once (every definition of a file repeats them: 222k definitions in 15k
        // files on a big workspace, tokenized twice each by the two walks of `Bm25::new`).
        let paths: rustc_hash::FxHashMap<&str, Vec<String>> =
            files.keys().map(|key| (&**key, path_tokens(key))).collect();
        // Tokens are produced one document at a time, never all held at once.
        let bm25 = Bm25::new(docs.iter().map(|doc| tokens_of(files, &paths, doc)));
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
