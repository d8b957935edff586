//! The plain lexical baselines of `shared/guide/benchmarks.md`, measured in the same run as reverie:
//!
//! 1. **BM25, every file**: one document per file the walk keeps (tests and docs included), its
//!    path's terms plus its content's (`search::tokenize`, `search::path_tokens`);
//! 2. **BM25, code files**: only the files of the project's main language that are not tests (not
//!    under a `tests/` folder or a top-level `test/`/`testing/`, not `test_*`, `*_test(s)`, `tests`,
//!    `conftest`); helper packages such as `django/test/` stay;
//! 3. **named files first, then BM25 (code files)**: the files the question names (a path, a path
//!    suffix, a dotted module: `answer::files_named_in`), then the rest in the order of (2) — the
//!    strongest plain baseline on bug reports.
//!
//! Reads the workspace's files; a file's terms are kept by its content digest, so asking again at a
//! nearby commit (`eval --ranking --checkouts`) reads and tokenizes only what changed.

use crate::answer::{ContextItem, ItemKind};
use crate::hash::Digest;
use crate::search::{self, Bm25};
use crate::snapshot::Snapshot;
use crate::syntax::Language;
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

/// A file's document: term → count.
type Terms = Arc<Vec<(String, u32)>>;

/// Each file's document, by path and content digest, across rebuilds.
#[derive(Default)]
pub(in crate::cli) struct FileTerms {
    cache: HashMap<(Arc<str>, Digest), Terms>,
}

/// The two whole-file BM25 indexes of one workspace state.
pub(in crate::cli) struct Baselines {
    every: (Vec<Arc<str>>, Bm25),
    code: (Vec<Arc<str>>, Bm25),
}

impl FileTerms {
    /// The baselines over `snapshot`'s files as they are on disk under `root`.
    pub(in crate::cli) fn baselines(&mut self, root: &Path, snapshot: &Snapshot, max_file_size: u64) -> Baselines {
        let mut fresh = HashMap::new();
        let mut docs: Vec<(Arc<str>, Terms)> = Vec::new();
        for (key, facts) in &snapshot.files {
            let id = (key.clone(), facts.content_hash);
            let terms = match self.cache.remove(&id) {
                Some(terms) => terms,
                None => {
                    let bytes = crate::workspace::read_source(&root.join(&**key), max_file_size).unwrap_or_default();
                    let mut tokens = search::tokenize(&String::from_utf8_lossy(&bytes));
                    tokens.extend(search::path_tokens(key));
                    let mut counts: HashMap<String, u32> = HashMap::new();
                    for token in tokens {
                        *counts.entry(token).or_insert(0) += 1;
                    }
                    Arc::new(counts.into_iter().collect())
                }
            };
            fresh.insert(id, terms.clone());
            docs.push((key.clone(), terms));
        }
        self.cache = fresh;
        let language = main_language(snapshot);
        let index = |docs: Vec<&(Arc<str>, Terms)>| {
            let keys = docs.iter().map(|(k, _)| k.clone()).collect();
            let bm25 = Bm25::from_counts(docs.iter().map(|(_, t)| t.iter().map(|(t, c)| (t.as_str(), *c))));
            (keys, bm25)
        };
        let every = index(docs.iter().collect());
        let code = index(
            docs.iter()
                .filter(|(k, _)| snapshot.files.get(k).is_some_and(|f| f.language == language) && !is_test_path(k))
                .collect(),
        );
        Baselines { every, code }
    }
}

impl Baselines {
    /// Baseline 1: BM25 over every file.
    pub(in crate::cli) fn every_file(&self, snapshot: &Snapshot, question: &str) -> Vec<ContextItem> {
        file_items(snapshot, ranked(&self.every, question))
    }

    /// Baseline 2: BM25 over the code files.
    pub(in crate::cli) fn code_files(&self, snapshot: &Snapshot, question: &str) -> Vec<ContextItem> {
        file_items(snapshot, ranked(&self.code, question))
    }

    /// Baseline 3: the files the question names, then BM25 over the code files.
    pub(in crate::cli) fn named_then_code(&self, snapshot: &Snapshot, question: &str) -> Vec<ContextItem> {
        let named: Vec<Arc<str>> = crate::answer::files_named_in(snapshot, question)
            .into_iter()
            .filter_map(|k| snapshot.files.get_key_value(k.as_str()).map(|(k, _)| k.clone()))
            .collect();
        let mut files: Vec<(Arc<str>, f64)> = named.iter().map(|k| (k.clone(), f64::INFINITY)).collect();
        files.extend(ranked(&self.code, question).into_iter().filter(|(k, _)| !named.contains(k)));
        file_items(snapshot, files)
    }
}

fn ranked((keys, bm25): &(Vec<Arc<str>>, Bm25), question: &str) -> Vec<(Arc<str>, f64)> {
    bm25.search(&search::tokenize(question), usize::MAX)
        .into_iter()
        .map(|(d, s)| (keys[d as usize].clone(), s))
        .collect()
}

/// The language most of the workspace's files with a grammar are in (prose aside): the project's.
fn main_language(snapshot: &Snapshot) -> Language {
    let mut counts: HashMap<Language, usize> = HashMap::new();
    for facts in snapshot.files.values().filter(|f| !f.language.is_prose() && f.language != Language::Text) {
        *counts.entry(facts.language).or_insert(0) += 1;
    }
    counts.into_iter().max_by_key(|(l, n)| (*n, l.name())).map_or(Language::Text, |(l, _)| l)
}

/// A test file by the baselines' rule (`benchmarks.md`): under a `tests/` folder or a top-level
/// `test/`/`testing/`, or named `test_*`, `*_test`, `*_tests`, `tests`, `conftest`.
pub(in crate::cli) fn is_test_path(key: &str) -> bool {
    let parts: Vec<&str> = key.split('/').collect();
    let (folders, file) = parts.split_at(parts.len() - 1);
    if folders.contains(&"tests") || matches!(folders.first(), Some(&"test") | Some(&"testing")) {
        return true;
    }
    let stem = file[0].split('.').next().unwrap_or("");
    stem.starts_with("test_")
        || stem.ends_with("_test")
        || stem.ends_with("_tests")
        || stem == "tests"
        || stem == "conftest"
}

/// Whole files as context items (tokens = bytes / 4, as the baselines count).
fn file_items(snapshot: &Snapshot, files: Vec<(Arc<str>, f64)>) -> Vec<ContextItem> {
    files
        .into_iter()
        .filter_map(|(key, score)| {
            let facts = snapshot.files.get(&key)?;
            Some(ContextItem {
                path: key.to_string(),
                start_line: 1,
                end_line: facts.line_count.max(1),
                kind: ItemKind::Chunk,
                score,
                tokens: (facts.byte_len as usize / 4).max(1),
                reason: String::new(),
                text: String::new(),
                stale: false,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_files_follow_the_baselines_rule() {
        for key in ["tests/a.py", "django/tests/x.py", "test/x.py", "testing/x.py", "a/test_x.py", "a/x_test.py"] {
            assert!(is_test_path(key), "{key}");
        }
        for key in ["a/conftest.py", "a/tests.py", "a/x_tests.py"] {
            assert!(is_test_path(key), "{key}");
        }
        for key in ["django/test/client.py", "src/testing_tools.py", "lib/contest.py", "a/testing/x.py"] {
            assert!(!is_test_path(key), "{key}");
        }
    }
}
