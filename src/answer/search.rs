//! The facts search index: BM25 over every definition (name parts, signature, doc, path) and every
//! error message, built once per snapshot (lazily, on the first question) and shared.

use super::bm25::{Bm25, tokenize};
use crate::snapshot::Snapshot;
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
    pub fn build(snapshot: &Snapshot) -> FactsIndex {
        let mut docs = Vec::new();
        let mut token_lists = Vec::new();
        for (file, facts) in &snapshot.files {
            let path = path_tokens(file);
            for (index, def) in facts.definitions.iter().enumerate() {
                let mut tokens = tokenize(&def.name);
                // The name counts twice: a question naming it should find it first.
                tokens.extend(tokenize(&def.name));
                tokens.extend(tokenize(&def.signature));
                if let Some(doc) = &def.doc {
                    tokens.extend(tokenize(doc.split("\n\n").next().unwrap_or(doc)));
                }
                tokens.extend(path.iter().cloned());
                docs.push(FactDoc::Definition { file: file.clone(), index: index as u32 });
                token_lists.push(tokens);
            }
            for (index, site) in facts.error_sites.iter().enumerate() {
                let mut tokens = tokenize(&site.message);
                if let Some(def) = site.definition.and_then(|d| facts.definitions.get(d as usize)) {
                    tokens.extend(tokenize(&def.name));
                }
                docs.push(FactDoc::ErrorSite { file: file.clone(), index: index as u32 });
                token_lists.push(tokens);
            }
        }
        FactsIndex { docs, bm25: Bm25::new(token_lists) }
    }
}
