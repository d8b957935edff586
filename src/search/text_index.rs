//! The full-text index: BM25 over the words of code bodies, built from the term counts stored with
//! each file's facts (`syntax::text`), so nothing is read from disk and an unchanged file costs
//! nothing to re-extract (or read in place from the files kept for the snapshot: `stored.rs`). Two
//! views of the same words:
//!
//! - **documents**: one per definition (its own lines) and per module-level chunk — which part of a
//!   file matches;
//! - **files**: each file's documents summed — whole-file BM25, which is what decides file order best
//!   on questions written in words (measured: `reverie eval`).

use super::bm25::Bm25;
use super::stored::{IndexFiles, load_or_build};
use crate::syntax::FileFacts;
use std::collections::BTreeMap;
use std::sync::Arc;

/// A document of the index: (file key, index into that file's `text`).
pub type TextDocAt = (Arc<str>, u32);

#[derive(Debug, Default)]
pub struct TextIndex {
    pub docs: Vec<TextDocAt>,
    pub bm25: Bm25,
    /// Files in key order, parallel to `file_bm25`'s documents.
    pub files: Vec<Arc<str>>,
    pub file_bm25: Bm25,
}

impl TextIndex {
    pub fn build(files: &BTreeMap<Arc<str>, Arc<FileFacts>>) -> TextIndex {
        let counts = files.iter().map(|(key, facts)| (key, facts.text.len() as u32));
        TextIndex::build_or_read(counts, |key| files.get(key).map(|f| &**f), None)
    }

    /// Built, or read in place from `kept` when it holds this snapshot's index (`search::stored`).
    /// `files` gives each file's key, in key order, with its number of text documents; `facts` a
    /// file's facts, asked for only when the index is built.
    pub fn build_or_read<'a>(
        files: impl Iterator<Item = (&'a Arc<str>, u32)>,
        facts: impl Fn(&str) -> Option<&'a FileFacts>,
        kept: Option<&dyn IndexFiles>,
    ) -> TextIndex {
        let mut docs: Vec<TextDocAt> = Vec::new();
        let mut keys: Vec<Arc<str>> = Vec::new();
        for (key, text) in files {
            docs.extend((0..text).map(|i| (key.clone(), i)));
            keys.push(key.clone());
        }
        let no_terms = crate::syntax::TermCounts::default();
        let bm25 = load_or_build(kept, "text", docs.len(), || {
            Bm25::from_counts(docs.iter().map(|(key, i)| {
                facts(key).and_then(|f| f.text.get(*i as usize)).map_or(&no_terms, |doc| &doc.terms).iter()
            }))
        });
        let file_bm25 = load_or_build(kept, "text-files", keys.len(), || {
            Bm25::from_counts(keys.iter().map(|key| {
                let mut counts: rustc_hash::FxHashMap<&str, u32> = Default::default();
                for doc in facts(key).iter().flat_map(|f| &f.text) {
                    for (term, count) in doc.terms.iter() {
                        *counts.entry(term).or_insert(0) += count;
                    }
                }
                counts
            }))
        });
        TextIndex { docs, bm25, files: keys, file_bm25 }
    }

    /// Files by whole-file BM25 for `query` terms, best first.
    pub fn rank_files(&self, query: &[String], limit: usize) -> Vec<(Arc<str>, f64)> {
        self.file_bm25.search(query, limit).into_iter().map(|(f, s)| (self.files[f as usize].clone(), s)).collect()
    }

    /// The share of files that contain `term` (0 when the index is empty).
    pub fn file_share(&self, term: &str) -> f64 {
        if self.files.is_empty() {
            0.0
        } else {
            self.file_bm25.document_frequency(term) as f64 / self.files.len() as f64
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax::{Language, extract};

    #[test]
    fn a_word_used_only_in_a_body_finds_its_definition_and_file() {
        let mut files = BTreeMap::new();
        for (key, source) in [
            ("net.py", "def connect(host):\n    raise TimeoutError('handshake stalled')\n"),
            ("util.py", "def handshake_name():\n    return 'name'\n"),
            ("other.py", "def unrelated():\n    return 1\n"),
        ] {
            files.insert(Arc::<str>::from(key), Arc::new(extract(source.as_bytes(), Language::Python)));
        }
        let index = TextIndex::build(&files);
        let query = crate::terms::tokenize("why is the handshake stalled?");
        let (file, _) = &index.rank_files(&query, 3)[0];
        assert_eq!(&**file, "net.py");
        let (doc, _) = index.bm25.search(&query, 1)[0];
        let (key, i) = &index.docs[doc as usize];
        let def = files[key].text[*i as usize].definition.unwrap();
        assert_eq!(files[key].definitions[def as usize].name, "connect");
    }
}
