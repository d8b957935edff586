//! An immutable, in-memory view of the workspace's facts, shared by every request.
//!
//! The server keeps one `Arc<Snapshot>` and swaps in a new one when facts change (after the initial
//! index, a watcher batch, an edit in an open buffer). Requests read whichever snapshot is current and
//! never wait for indexing. Building one is O(definitions + references) and happens off the request
//! path.

use crate::graph::{self, FileGraph};
use crate::search::{FactsIndex, IndexFiles, TextIndex};
use crate::syntax::FileFacts;
use rustc_hash::FxHashMap as HashMap;
use std::collections::BTreeMap;
use std::sync::Arc;

/// A definition's location: (file key, index into that file's definitions).
pub type DefinitionAt = (Arc<str>, u32);

/// Names → runs of (file, value), packed: the names sorted end to end, and one array of (file
/// ordinal, value) in name order. A big workspace's 220k defined and referenced names cost a
/// `String` and a `Vec` each in a hash map (with a shared key per entry), this a few bytes a name and
/// 8 bytes an entry. Entries of a name are in file order, then value order.
#[derive(Default)]
pub struct NameIndex {
    words: String,
    /// Where each name ends in `words`.
    ends: Vec<u32>,
    /// Name `i`'s entries are `entries[starts[i]..starts[i + 1]]`.
    starts: Vec<u32>,
    entries: Vec<(u32, u32)>,
    /// File ordinal → key: the snapshot's files in key order.
    keys: Arc<[Arc<str>]>,
}

/// The entries of one name: (file key, value).
#[derive(Clone, Copy)]
pub struct NameEntries<'a> {
    entries: &'a [(u32, u32)],
    keys: &'a [Arc<str>],
}

impl<'a> NameEntries<'a> {
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&'a Arc<str>, u32)> + 'a {
        let keys = self.keys;
        self.entries.iter().map(move |&(file, value)| (&keys[file as usize], value))
    }

    pub fn first(&self) -> Option<(&'a Arc<str>, u32)> {
        self.iter().next()
    }

    pub fn to_vec(&self) -> Vec<(Arc<str>, u32)> {
        self.iter().map(|(key, value)| (key.clone(), value)).collect()
    }
}

impl NameIndex {
    /// From (name, file ordinal into `keys`, value) triples in any order.
    fn new(mut triples: Vec<(&str, u32, u32)>, keys: Arc<[Arc<str>]>) -> NameIndex {
        triples.sort_unstable();
        let mut index = NameIndex { keys, ..NameIndex::default() };
        index.entries.reserve_exact(triples.len());
        for (name, file, value) in triples {
            if index.ends.is_empty() || index.name(index.ends.len() - 1) != name {
                index.words.push_str(name);
                index.ends.push(index.words.len() as u32);
                index.starts.push(index.entries.len() as u32);
            }
            index.entries.push((file, value));
        }
        index.starts.push(index.entries.len() as u32);
        index.words.shrink_to_fit();
        index.ends.shrink_to_fit();
        index.starts.shrink_to_fit();
        index
    }

    fn name(&self, i: usize) -> &str {
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        &self.words[start..self.ends[i] as usize]
    }

    /// The entries of `name`, if it has any.
    pub fn get(&self, name: &str) -> Option<NameEntries<'_>> {
        let at = crate::terms::find_sorted(self.ends.len(), |i| self.name(i).cmp(name))?;
        let run = self.starts[at] as usize..self.starts[at + 1] as usize;
        Some(NameEntries { entries: &self.entries[run], keys: &self.keys })
    }

    pub fn contains_key(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// How many entries `name` has (0 when none).
    pub fn count(&self, name: &str) -> usize {
        self.get(name).map_or(0, |entries| entries.len())
    }
}

#[derive(Default)]
pub struct Snapshot {
    pub files: BTreeMap<Arc<str>, Arc<FileFacts>>,
    /// For each name, where it is defined: (file, index into its definitions).
    pub definitions_by_name: NameIndex,
    /// For each name, the files that reference it and how often.
    pub references_by_name: NameIndex,
    pub graph: FileGraph,
    /// Global PageRank per file key.
    pub file_ranks: HashMap<Arc<str>, f64>,
    /// The lexical search index over these facts, built on first use.
    facts_index: std::sync::OnceLock<Arc<FactsIndex>>,
    /// The full-text index over code bodies, built on first use.
    text_index: std::sync::OnceLock<Arc<TextIndex>>,
    /// Where the search indexes of exactly these facts are kept between processes (a snapshot of
    /// the store's facts; none once changed in memory).
    kept_indexes: Option<Arc<dyn IndexFiles>>,
}

impl Snapshot {
    /// For tests: the snapshot of Python sources given as (workspace key, text).
    #[cfg(test)]
    pub fn of_python(files: &[(&str, &str)]) -> Snapshot {
        let language = crate::syntax::Language::Python;
        Snapshot::new(
            files
                .iter()
                .map(|(key, text)| {
                    (Arc::<str>::from(*key), Arc::new(crate::syntax::extract(text.as_bytes(), language)))
                })
                .collect(),
        )
    }

    pub fn new(files: BTreeMap<Arc<str>, Arc<FileFacts>>) -> Snapshot {
        Snapshot::with_ranks(files, None)
    }

    /// The snapshot of `files`, with the global PageRank `ranks` when they are known to be those of
    /// exactly these files' graph (the store keeps them, computed at index time), else ranked here.
    pub fn with_ranks(files: BTreeMap<Arc<str>, Arc<FileFacts>>, ranks: Option<Vec<(String, f64)>>) -> Snapshot {
        let keys: Arc<[Arc<str>]> = files.keys().cloned().collect();
        let mut definitions: Vec<(&str, u32, u32)> = Vec::new();
        let mut references: Vec<(&str, u32, u32)> = Vec::new();
        for (ordinal, facts) in files.values().enumerate() {
            let ordinal = ordinal as u32;
            definitions.extend(facts.definitions.iter().enumerate().map(|(i, d)| (d.name.as_str(), ordinal, i as u32)));
            let mut counts: HashMap<&str, u32> = HashMap::default();
            for reference in &facts.references {
                *counts.entry(reference.name.as_str()).or_insert(0) += 1;
            }
            references.extend(counts.into_iter().map(|(name, count)| (name, ordinal, count)));
        }
        let definitions_by_name = NameIndex::new(definitions, keys.clone());
        let references_by_name = NameIndex::new(references, keys);
        let graph_files: Vec<graph::GraphFile> = files.iter().map(|(k, f)| (&**k, &**f)).collect();
        let file_graph = graph::build(&graph_files);
        let file_ranks = match ranks {
            Some(ranks) => ranks.into_iter().map(|(k, r)| (Arc::<str>::from(k), r)).collect(),
            None => {
                let ranking = graph::rank(&file_graph, &graph::Focus::default());
                file_graph
                    .files
                    .iter()
                    .zip(ranking.file_ranks.iter())
                    .map(|(k, r)| (Arc::<str>::from(k.as_str()), *r))
                    .collect()
            }
        };
        Snapshot {
            files,
            definitions_by_name,
            references_by_name,
            graph: file_graph,
            file_ranks,
            facts_index: Default::default(),
            text_index: Default::default(),
            kept_indexes: None,
        }
    }

    /// This snapshot, its search indexes read from and kept in `kept` (which names them by these
    /// exact facts: `search::stored`).
    pub fn with_kept_indexes(mut self, kept: Arc<dyn IndexFiles>) -> Snapshot {
        self.kept_indexes = Some(kept);
        self
    }

    /// A new snapshot with `changed` files replaced (or added) and `removed` files dropped.
    pub fn with_changes(&self, changed: Vec<(String, Arc<FileFacts>)>, removed: &[String]) -> Snapshot {
        let mut files = self.files.clone();
        for key in removed {
            files.remove(key.as_str());
        }
        for (key, facts) in changed {
            files.insert(Arc::from(key.as_str()), facts);
        }
        Snapshot::new(files)
    }

    /// The lexical search index over every definition and error message (built or read once, on
    /// first use).
    pub fn facts_index(&self) -> Arc<FactsIndex> {
        self.facts_index
            .get_or_init(|| Arc::new(FactsIndex::build_or_read(&self.files, self.kept_indexes.as_deref())))
            .clone()
    }

    /// The full-text index over every file's words (built or read once, on first use).
    pub fn text_index(&self) -> Arc<TextIndex> {
        self.text_index
            .get_or_init(|| Arc::new(TextIndex::build_or_read(&self.files, self.kept_indexes.as_deref())))
            .clone()
    }

    pub fn file_rank(&self, key: &str) -> f64 {
        self.file_ranks.get(key).copied().unwrap_or(0.0)
    }

    pub fn graph_files(&self) -> Vec<graph::GraphFile<'_>> {
        self.files.iter().map(|(k, f)| (&**k, &**f)).collect()
    }

    /// Definitions named `name`: those in `prefer` first, then by file rank.
    pub fn definitions_named(&self, name: &str, prefer: Option<&str>) -> Vec<DefinitionAt> {
        let mut defs = self.definitions_by_name.get(name).map(|d| d.to_vec()).unwrap_or_default();
        defs.sort_by(|a, b| {
            let pa = Some(&*a.0) == prefer;
            let pb = Some(&*b.0) == prefer;
            pb.cmp(&pa).then(self.file_rank(&b.0).total_cmp(&self.file_rank(&a.0))).then(a.cmp(b))
        });
        defs
    }

    /// Names defined in the file `key`.
    pub fn definitions_named_in(&self, key: &str) -> Vec<String> {
        let mut names: Vec<String> =
            self.files.get(key).map(|f| f.definitions.iter().map(|d| d.name.clone()).collect()).unwrap_or_default();
        names.sort();
        names.dedup();
        names
    }

    /// Files that reference `name`, most references first.
    pub fn referencing_files(&self, name: &str) -> Vec<(Arc<str>, u32)> {
        let mut files = self.references_by_name.get(name).map(|f| f.to_vec()).unwrap_or_default();
        files.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        files
    }

    /// Test functions (in any file) that reference `name`: (file, test name, first line, last line).
    pub fn tests_covering_name(&self, name: &str, limit: usize) -> Vec<(String, String, u32, u32)> {
        let mut out = Vec::new();
        for (file, facts) in &self.files {
            for test in &facts.tests {
                if facts.references.iter().any(|r| test.span.contains(&r.span) && r.name == name) {
                    let (start, end) = test.span.lines_1based();
                    out.push((file.to_string(), test.name.clone(), start, end));
                    if out.len() >= limit {
                        return out;
                    }
                }
            }
        }
        out
    }

    /// Test functions (in any file) that reference a definition of `key`.
    pub fn tests_covering_file(&self, key: &str, limit: usize) -> Vec<String> {
        let names: std::collections::HashSet<String> = self.definitions_named_in(key).into_iter().collect();
        let mut out = Vec::new();
        for (file, facts) in &self.files {
            if facts.tests.is_empty() {
                continue;
            }
            for test in &facts.tests {
                let uses =
                    facts.references.iter().any(|r| test.span.contains(&r.span) && names.contains(r.name.as_str()));
                if uses {
                    out.push(format!("{file}::{}", test.name));
                    if out.len() >= limit {
                        return out;
                    }
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_map_to_their_definitions_and_referencing_files_in_file_order() {
        let snapshot = Snapshot::of_python(&[
            ("b.py", "def load():\n    return parse(parse(1))\n\ndef load():\n    pass\n"),
            ("a.py", "def parse(x):\n    return load()\n"),
            ("c.py", "x = 1\n"),
        ]);
        let defined = |name: &str| snapshot.definitions_by_name.get(name).map(|d| d.to_vec()).unwrap_or_default();
        let at = |key: &str, i: u32| (Arc::<str>::from(key), i);
        assert_eq!(defined("load"), [at("b.py", 0), at("b.py", 1)]);
        assert_eq!(defined("parse"), [at("a.py", 0)]);
        assert!(defined("missing").is_empty() && !snapshot.definitions_by_name.contains_key("missing"));
        assert_eq!(snapshot.definitions_by_name.count("load"), 2);
        assert_eq!(snapshot.definitions_by_name.get("load").and_then(|d| d.first()), Some((&Arc::from("b.py"), 0)));
        assert_eq!(snapshot.referencing_files("parse"), [at("b.py", 2)]);
        assert_eq!(snapshot.referencing_files("load"), [at("a.py", 1)]);
        assert!(
            snapshot.references_by_name.contains_key("parse") && !snapshot.references_by_name.contains_key("nowhere")
        );
        assert_eq!(snapshot.definitions_named("load", None), [at("b.py", 0), at("b.py", 1)]);
    }
}
