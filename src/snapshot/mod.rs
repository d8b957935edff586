//! An immutable view of the workspace's facts, shared by every request.
//!
//! The server keeps one `Arc<Snapshot>` and swaps in a new one when facts change (after the initial
//! index, a watcher batch, an edit in an open buffer). Requests read whichever snapshot is current and
//! never wait for indexing. Building one is O(definitions + references) and happens off the request
//! path — or, for a snapshot of the store's facts whose summary was kept (`index::snapshot`), a read
//! of that summary: each file's facts are then read when a question first needs them (`files.rs`),
//! and what is needed across every file comes from the summary (`summary.rs`), never from a walk
//! over every file's facts. `files.iter()` still walks them all (reading every file): what a
//! question answers from must not.

use crate::graph::{self, FileGraph};
use crate::search::{FactsIndex, IndexFiles, TextIndex};
use crate::syntax::FileFacts;
pub use files::{FactsSource, Files};
use rustc_hash::FxHashMap as HashMap;
pub use summary::{FileShape, NameEntries, NameIndex, Summary};

mod files;
mod summary;
use std::collections::BTreeMap;
use std::sync::Arc;

/// A definition's location: (file key, index into that file's definitions).
pub type DefinitionAt = (Arc<str>, u32);

#[derive(Default)]
pub struct Snapshot {
    pub files: Files,
    /// For each name, where it is defined: (file, index into its definitions).
    pub definitions_by_name: NameIndex,
    /// For each name, the files that reference it and how often.
    pub references_by_name: NameIndex,
    /// For each name, the tests whose body references it: (file, index into its tests).
    tests_by_name: NameIndex,
    /// Per file in key order: how many definitions, error sites, tests and text documents.
    shapes: Vec<FileShape>,
    /// Every error message: (file ordinal, index into its error sites, message).
    error_messages: Vec<summary::ErrorMessage>,
    /// The reference graph, built from every file's facts on first use.
    graph: std::sync::OnceLock<FileGraph>,
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
        let summary = Summary::of(files.values().map(|facts| &**facts));
        Snapshot::of_summary(Files::from(files), summary, ranks)
    }

    /// The snapshot of `files` (whose facts may be read only when asked for) given their `summary`
    /// and ranks as `with_ranks` takes them.
    pub fn of_summary(files: Files, mut summary: Summary, ranks: Option<Vec<(String, f64)>>) -> Snapshot {
        summary.set_keys(&files.shared_keys());
        let Summary { shapes, definitions, references, tests, error_messages } = summary;
        let mut snapshot = Snapshot {
            files,
            definitions_by_name: definitions,
            references_by_name: references,
            tests_by_name: tests,
            shapes,
            error_messages,
            ..Snapshot::default()
        };
        snapshot.file_ranks = match ranks {
            Some(ranks) => ranks.into_iter().map(|(k, r)| (Arc::<str>::from(k), r)).collect(),
            None => {
                let graph = snapshot.graph();
                let ranking = graph::rank(graph, &graph::Focus::default());
                graph
                    .files
                    .iter()
                    .zip(ranking.file_ranks.iter())
                    .map(|(k, r)| (Arc::<str>::from(k.as_str()), *r))
                    .collect()
            }
        };
        snapshot
    }

    /// This snapshot, its search indexes read from and kept in `kept` (which names them by these
    /// exact facts: `search::stored`).
    pub fn with_kept_indexes(mut self, kept: Arc<dyn IndexFiles>) -> Snapshot {
        self.kept_indexes = Some(kept);
        self
    }

    /// A new snapshot with `changed` files replaced (or added) and `removed` files dropped. The
    /// facts of the others are not read: what was read is shared, the rest is read from the same
    /// place when asked for, and the summary is this one's with the changed files' entries.
    pub fn with_changes(&self, changed: Vec<(String, Arc<FileFacts>)>, removed: &[String]) -> Snapshot {
        let changed: BTreeMap<Arc<str>, Arc<FileFacts>> =
            changed.into_iter().map(|(key, facts)| (Arc::from(key.as_str()), facts)).collect();
        // A file both removed and changed is there, changed.
        let removed: std::collections::HashSet<&str> =
            removed.iter().map(String::as_str).filter(|key| !changed.contains_key(*key)).collect();
        let (files, origins) = self.files.with_changes(&changed, &removed);
        let parts = summary::SummaryParts {
            shapes: &self.shapes,
            definitions: &self.definitions_by_name,
            references: &self.references_by_name,
            tests: &self.tests_by_name,
            error_messages: &self.error_messages,
        };
        let summary = parts.changed(&origins, &changed.values().map(|facts| &**facts).collect::<Vec<_>>());
        Snapshot::of_summary(files, summary, None)
    }

    /// The reference graph of every file (built on first use from the names, without reading any
    /// file's facts): the graph `graph::build` makes of every file's facts.
    pub fn graph(&self) -> &FileGraph {
        self.graph.get_or_init(|| {
            // Identifiers in the order a walk over the files' definitions first meets them: by
            // their first (file, definition).
            let mut defined: Vec<(&str, NameEntries<'_>)> = self.definitions_by_name.iter().collect();
            defined.sort_by_key(|(_, entries)| entries.ordinals().first().copied().unwrap_or((u32::MAX, u32::MAX)));
            let mut reference_counts = Vec::new();
            let mut identifiers = Vec::with_capacity(defined.len());
            let mut definers = Vec::with_capacity(defined.len());
            for (id, (name, entries)) in defined.into_iter().enumerate() {
                let mut files: Vec<u32> = entries.ordinals().iter().map(|&(file, _)| file).collect();
                files.dedup();
                definers.push(files);
                identifiers.push(name.to_string());
                let references = self.references_by_name.get(name).map_or(&[][..], |entries| entries.ordinals());
                reference_counts.extend(references.iter().map(|&(file, count)| ((id as u32, file), count)));
            }
            let keys = self.files.keys().map(|key| key.to_string()).collect();
            graph::build_from_names(keys, identifiers, definers, reference_counts)
        })
    }

    /// The lexical search index over every definition and error message (built or read once, on
    /// first use).
    pub fn facts_index(&self) -> Arc<FactsIndex> {
        self.facts_index
            .get_or_init(|| {
                let counts = self.shapes.iter().map(|shape| (shape.definitions, shape.error_sites));
                let files = self.files.keys().zip(counts);
                // Read for the build only (a snapshot after an edit builds anew): not kept after it.
                let reads = self.files.for_one_pass();
                let facts = |key: &str| reads.get(key);
                Arc::new(FactsIndex::build_or_read(files, facts, self.kept_indexes.as_deref()))
            })
            .clone()
    }

    /// The full-text index over every file's words (built or read once, on first use).
    pub fn text_index(&self) -> Arc<TextIndex> {
        self.text_index
            .get_or_init(|| {
                let files = self.files.keys().zip(self.shapes.iter().map(|shape| shape.text));
                let reads = self.files.for_one_pass();
                let facts = |key: &str| reads.get(key);
                Arc::new(TextIndex::build_or_read(files, facts, self.kept_indexes.as_deref()))
            })
            .clone()
    }

    pub fn file_rank(&self, key: &str) -> f64 {
        self.file_ranks.get(key).copied().unwrap_or(0.0)
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

    /// Every file's key with its content hash and counts, in key order — without reading any file's
    /// facts.
    pub fn shapes(&self) -> impl Iterator<Item = (&Arc<str>, &FileShape)> {
        self.files.keys().zip(&self.shapes)
    }

    /// The shape of the file `key` (see `shapes`).
    pub fn shape(&self, key: &str) -> Option<&FileShape> {
        self.shapes.get(self.files.ordinal(key)?)
    }

    /// The definition at `index` in the file `key`.
    pub fn definition(&self, key: &str, index: u32) -> Option<&crate::syntax::facts::Definition> {
        self.files.get(key)?.definitions.get(index as usize)
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

    /// Test functions (in any file) that reference `name`: (file, test name, first line, last line),
    /// in file order, then test order.
    pub fn tests_covering_name(&self, name: &str, limit: usize) -> Vec<(String, String, u32, u32)> {
        let tests = self.tests_by_name.get(name).map_or(&[][..], |entries| entries.ordinals());
        self.tests_at(tests)
            .take(limit)
            .map(|(file, test)| {
                let (start, end) = test.span.lines_1based();
                (file.to_string(), test.name.clone(), start, end)
            })
            .collect()
    }

    /// Test functions (in any file) that reference a definition of `key`: `file::test`, in file
    /// order, then test order.
    pub fn tests_covering_file(&self, key: &str, limit: usize) -> Vec<String> {
        let mut tests: Vec<(u32, u32)> = self
            .definitions_named_in(key)
            .iter()
            .filter_map(|name| self.tests_by_name.get(name))
            .flat_map(|entries| entries.ordinals().iter().copied())
            .collect();
        tests.sort_unstable();
        tests.dedup();
        self.tests_at(&tests).take(limit).map(|(file, test)| format!("{file}::{}", test.name)).collect()
    }

    /// The tests at (file ordinal, index into its tests), reading only their files.
    fn tests_at<'a>(
        &'a self,
        tests: &'a [(u32, u32)],
    ) -> impl Iterator<Item = (&'a Arc<str>, &'a crate::syntax::facts::TestCase)> + 'a {
        tests.iter().filter_map(|&(file, test)| {
            let (key, facts) = self.files.at(file as usize)?;
            Some((key, facts.tests.get(test as usize)?))
        })
    }

    /// Every error message with its file and its index in the file's error sites, in file order,
    /// then site order — without reading any file's facts.
    pub fn error_messages(&self) -> impl Iterator<Item = (&Arc<str>, u32, &str)> {
        let keys = self.files.ordered_keys();
        self.error_messages.iter().map(move |(file, site, message)| (&keys[*file as usize], *site, message.as_str()))
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

    /// Tests and error messages as a walk over every file's facts finds them (what the summary
    /// stands in for).
    type Walked = (Vec<(String, String)>, Vec<(String, u32, String)>);

    fn walked(snapshot: &Snapshot, name: &str) -> Walked {
        let mut tests = Vec::new();
        let mut errors = Vec::new();
        for (file, facts) in &snapshot.files {
            for test in &facts.tests {
                if facts.references.iter().any(|r| test.span.contains(&r.span) && r.name == *name) {
                    tests.push((file.to_string(), test.name.clone()));
                }
            }
            for (i, site) in facts.error_sites.iter().enumerate() {
                errors.push((file.to_string(), i as u32, site.message.clone()));
            }
        }
        (tests, errors)
    }

    const TESTED: [(&str, &str); 3] = [
        ("app.py", "def load(path):\n    raise ValueError('no such path')\n\ndef save():\n    load(1)\n"),
        (
            "tests/test_app.py",
            "def test_load():\n    load('a')\n    save()\n\ndef test_save():\n    save()\n\ndef helper():\n    load(2)\n",
        ),
        ("tests/test_more.py", "def test_both():\n    save()\n    load(3)\n    raise KeyError('missing key')\n"),
    ];

    #[test]
    fn tests_and_error_messages_come_from_the_summary_as_a_walk_over_the_facts_finds_them() {
        let snapshot = Snapshot::of_python(&TESTED);
        for name in ["load", "save", "helper", "nothing"] {
            let (tests, _) = walked(&snapshot, name);
            let covering: Vec<(String, String)> =
                snapshot.tests_covering_name(name, 10).into_iter().map(|(file, test, ..)| (file, test)).collect();
            assert_eq!(covering, tests, "{name}");
        }
        assert_eq!(snapshot.tests_covering_name("load", 1).len(), 1, "the limit holds");
        assert_eq!(
            snapshot.tests_covering_file("app.py", 10),
            ["tests/test_app.py::test_load", "tests/test_app.py::test_save", "tests/test_more.py::test_both"]
        );
        let (_, errors) = walked(&snapshot, "");
        let messages: Vec<(String, u32, String)> = snapshot
            .error_messages()
            .map(|(file, site, message)| (file.to_string(), site, message.to_string()))
            .collect();
        assert_eq!(messages, errors);
        assert_eq!(messages.len(), 2);
    }

    #[test]
    fn the_graph_from_the_names_is_the_graph_of_the_facts() {
        let snapshot = Snapshot::of_python(&[
            ("z.py", "def save():\n    load()\n    parse_settings()\n\ndef load():\n    pass\n"),
            (
                "a.py",
                "def parse_settings():\n    save()\n    save()\n    load()\n\nclass Config:\n    def load(self):\n        pass\n",
            ),
            ("m/b.py", "def _private():\n    Config()\n    parse_settings()\n\ndef save():\n    _private()\n"),
            ("tests/test_b.py", "def test_save():\n    save()\n    Config().load()\n"),
        ]);
        let map = snapshot.files.to_map();
        let files: Vec<graph::GraphFile<'_>> = map.iter().map(|(key, facts)| (&**key, &**facts)).collect();
        let from_facts = graph::build(&files);
        let from_names = snapshot.graph();
        assert_eq!(from_names.files, from_facts.files);
        assert_eq!(from_names.identifiers, from_facts.identifiers);
        assert_eq!(from_names.definer_counts, from_facts.definer_counts);
        assert_eq!(from_names.edges, from_facts.edges);
        assert!(from_facts.edges.len() > 5, "{:?}", from_facts.edges);
    }

    /// Everything a snapshot serves from its summary, by name: definitions, references, tests.
    fn served(snapshot: &Snapshot) -> Vec<String> {
        let mut names: Vec<String> = snapshot.definitions_by_name.iter().map(|(name, _)| name.to_string()).collect();
        names.extend(snapshot.references_by_name.iter().map(|(name, _)| name.to_string()));
        names.sort();
        names.dedup();
        let mut out: Vec<String> = names
            .iter()
            .map(|name| {
                format!(
                    "{name}: {:?} {:?} {:?}",
                    snapshot.definitions_by_name.get(name).map(|d| d.to_vec()),
                    snapshot.referencing_files(name),
                    snapshot.tests_covering_name(name, 100)
                )
            })
            .collect();
        out.extend(snapshot.error_messages().map(|(file, site, message)| format!("{file} {site} {message}")));
        out.extend(snapshot.shapes().map(|(file, shape)| format!("{file} {shape:?}")));
        out
    }

    #[test]
    fn a_changed_snapshot_carries_the_summary_over_and_serves_what_a_new_one_would() {
        let before = Snapshot::of_python(&TESTED);
        let extract = |text: &str| Arc::new(crate::syntax::extract(text.as_bytes(), crate::syntax::Language::Python));
        let changed = vec![
            ("app.py".to_string(), extract("def load(path, strict):\n    raise OSError('gone')\n")),
            ("b_new.py".to_string(), extract("def test_new():\n    load(4)\n    helper()\n")),
        ];
        let removed = ["tests/test_more.py".to_string(), "b_new.py".to_string(), "absent.py".to_string()];
        let after = before.with_changes(changed.clone(), &removed);
        let mut expected = before.files.to_map();
        expected.remove("tests/test_more.py");
        expected.extend(changed.into_iter().map(|(key, facts)| (Arc::<str>::from(key.as_str()), facts)));
        let expected = Snapshot::new(expected);
        assert_eq!(after.files.keys().collect::<Vec<_>>(), expected.files.keys().collect::<Vec<_>>());
        assert_eq!(served(&after), served(&expected));
        assert_eq!(after.graph().edges, expected.graph().edges);
        for key in expected.files.keys() {
            assert_eq!(after.file_rank(key), expected.file_rank(key), "{key}");
            assert_eq!(after.files.get(key), expected.files.get(key), "{key}");
        }
        assert_eq!(after.facts_index().docs, expected.facts_index().docs);
    }

    /// A source that reads from an eager snapshot's facts and counts its reads.
    struct Counting(BTreeMap<Arc<str>, Arc<FileFacts>>, std::sync::atomic::AtomicUsize);

    impl FactsSource for Counting {
        fn read(&self, key: &str) -> Option<FileFacts> {
            self.1.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            self.0.get(key).map(|facts| (**facts).clone())
        }
    }

    #[test]
    fn a_snapshot_from_a_kept_summary_answers_as_the_eager_one_reading_only_the_files_it_needs() {
        let eager = Snapshot::of_python(&TESTED);
        let map = eager.files.to_map();
        let bytes = Summary::of(map.values().map(|f| &**f)).to_bytes();
        let summary = Summary::from_bytes(&bytes, map.len()).expect("a whole summary");
        let source = Arc::new(Counting(map.clone(), Default::default()));
        let ranks = map.keys().map(|key| (key.to_string(), eager.file_rank(key))).collect();
        let lazy = Snapshot::of_summary(
            Files::read_on_demand(eager.files.shared_keys(), source.clone()),
            summary,
            Some(ranks),
        );
        let reads = || source.1.load(std::sync::atomic::Ordering::SeqCst);
        assert_eq!(lazy.definitions_named("load", None), eager.definitions_named("load", None));
        assert_eq!(lazy.referencing_files("save"), eager.referencing_files("save"));
        assert_eq!(lazy.error_messages().count(), 2);
        assert_eq!(reads(), 0, "names, references and messages read no file");
        use crate::sleep::NoteKind::*;
        let kinds = [FileSummary, Playbook, Questions, ModuleSummary, Overview];
        let planned = crate::sleep::plan::plan(&lazy, "model", &kinds);
        assert!(planned.len() > map.len());
        assert_eq!(planned, crate::sleep::plan::plan(&eager, "model", &kinds));
        assert_eq!(reads(), 0, "planning notes reads no file");
        for (name, file) in [("load", Some("app.py")), ("load", Some("tests/test_app.py")), ("save", None)] {
            let is_defined = crate::answer::grounding::is_defined;
            assert_eq!(is_defined(&lazy, name, file), is_defined(&eager, name, file), "{name} in {file:?}");
        }
        assert_eq!(reads(), 0, "a note's reliability reads no file");
        assert_eq!(lazy.tests_covering_name("save", 10), eager.tests_covering_name("save", 10));
        assert_eq!(reads(), 2, "the two test files");
        assert_eq!(lazy.facts_index().docs, eager.facts_index().docs);
        assert_eq!(lazy.text_index().docs, eager.text_index().docs);
        // The index builds read what they needed for themselves: the snapshot keeps only the two
        // test files it was asked for, and reads the others again when a question needs them.
        let before = reads();
        let keys: Vec<Arc<str>> = lazy.files.keys().cloned().collect();
        keys.iter().for_each(|key| assert!(lazy.files.get(key).is_some()));
        assert_eq!(reads(), before + keys.len() - 2);
    }

    #[test]
    fn a_damaged_summary_is_refused_with_a_reason_never_a_panic() {
        let snapshot = Snapshot::of_python(&TESTED);
        let bytes = Summary::of(snapshot.files.values().map(|f| &**f)).to_bytes();
        assert!(Summary::from_bytes(&bytes, 3).is_ok());
        assert!(Summary::from_bytes(&bytes, 4).err().is_some_and(|reason| reason.contains("files")));
        assert!(Summary::from_bytes(&bytes[..bytes.len() / 2], 3).is_err());
        assert!(Summary::from_bytes(b"reverie-summary\x00", 3).is_err());
        for at in 16..bytes.len() {
            for flip in [0x01, 0x80, 0xff] {
                let mut damaged = bytes.clone();
                damaged[at] ^= flip;
                if let Ok(summary) = Summary::from_bytes(&damaged, 3) {
                    // Whatever it holds is within bounds: reading it through a snapshot cannot panic.
                    let source = Arc::new(Counting(snapshot.files.to_map(), Default::default()));
                    let files = Files::read_on_demand(snapshot.files.shared_keys(), source);
                    let lazy = Snapshot::of_summary(files, summary, Some(Vec::new()));
                    for name in ["load", "save", "test_load"] {
                        let _ = lazy
                            .definitions_named(name, None)
                            .iter()
                            .filter_map(|(k, i)| lazy.definition(k, *i))
                            .count();
                        let _ = (lazy.tests_covering_name(name, 10), lazy.referencing_files(name));
                    }
                    let _ = lazy.tests_covering_file("app.py", 10);
                    let _ = lazy.error_messages().count();
                    let _ = lazy.graph();
                }
            }
        }
    }
}
