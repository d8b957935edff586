//! The files of a snapshot, by key: every file's facts held in memory, or read from where they are
//! kept the first time something asks for them (`FactsSource`) and held from then on.
//!
//! A big workspace's facts are hundreds of megabytes and take seconds to read, while a question
//! touches a few dozen files: a snapshot of the store's facts reads only those. What is needed
//! across every file (names, tests, error messages, sizes) is in the snapshot's `Summary`, never
//! here.
//!
//! Guarantees: the keys are fixed and sorted; a file's facts, once read, stay the same for the life
//! of the snapshot (the store's facts are content-addressed, and what `FactsSource` gives for a file
//! is read once). A file whose facts cannot be read (removed from the store under a snapshot that
//! outlived them) is absent from `get` — logged, never a panic.

use crate::syntax::FileFacts;
use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

/// Where the facts of a snapshot's files are read from when first asked for.
pub trait FactsSource: Send + Sync {
    /// The facts of the file `key`; `None` when they cannot be read.
    fn read(&self, key: &str) -> Option<FileFacts>;
}

/// The files of a snapshot: keys in order, each with its facts once read.
pub struct Files {
    keys: Arc<[Arc<str>]>,
    /// `None` inside: the facts could not be read.
    facts: Box<[OnceLock<Option<Arc<FileFacts>>>]>,
    source: Option<Arc<dyn FactsSource>>,
}

impl Default for Files {
    fn default() -> Files {
        Files::from(BTreeMap::new())
    }
}

impl From<BTreeMap<Arc<str>, Arc<FileFacts>>> for Files {
    /// Every file's facts already in memory.
    fn from(files: BTreeMap<Arc<str>, Arc<FileFacts>>) -> Files {
        let (keys, facts): (Vec<Arc<str>>, Vec<_>) =
            files.into_iter().map(|(key, facts)| (key, OnceLock::from(Some(facts)))).unzip();
        Files { keys: keys.into(), facts: facts.into(), source: None }
    }
}

impl Files {
    /// The files `keys` (sorted, distinct), their facts read from `source` when first asked for.
    pub fn read_on_demand(keys: Arc<[Arc<str>]>, source: Arc<dyn FactsSource>) -> Files {
        let facts = (0..keys.len()).map(|_| OnceLock::new()).collect();
        Files { keys, facts, source: Some(source) }
    }

    /// The keys in order, shared (a name index's file ordinals point into them).
    pub fn shared_keys(&self) -> Arc<[Arc<str>]> {
        self.keys.clone()
    }

    /// The keys in order.
    pub fn ordered_keys(&self) -> &[Arc<str>] {
        &self.keys
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Where `key` is in the key order.
    pub fn ordinal(&self, key: &str) -> Option<usize> {
        self.keys.binary_search_by(|k| (**k).cmp(key)).ok()
    }

    pub fn contains_key(&self, key: &str) -> bool {
        self.ordinal(key).is_some()
    }

    pub fn keys(&self) -> impl ExactSizeIterator<Item = &Arc<str>> + Clone {
        self.keys.iter()
    }

    /// The key at `ordinal` and its facts (read now if they were not yet).
    pub fn at(&self, ordinal: usize) -> Option<(&Arc<str>, &Arc<FileFacts>)> {
        let key = self.keys.get(ordinal)?;
        let facts = self.facts[ordinal].get_or_init(|| {
            let read = self.source.as_ref().and_then(|source| source.read(key));
            if read.is_none() {
                tracing::warn!("the facts of {key} could not be read; answering without them");
            }
            read.map(Arc::new)
        });
        facts.as_ref().map(|facts| (key, facts))
    }

    pub fn get_key_value(&self, key: &str) -> Option<(&Arc<str>, &Arc<FileFacts>)> {
        self.at(self.ordinal(key)?)
    }

    pub fn get(&self, key: &str) -> Option<&Arc<FileFacts>> {
        self.get_key_value(key).map(|(_, facts)| facts)
    }

    /// The facts of `key` without keeping them when they were not kept yet: for a pass over many
    /// files (embedding at idle) that should not leave them all in memory.
    pub fn fetch(&self, key: &str) -> Option<Arc<FileFacts>> {
        let ordinal = self.ordinal(key)?;
        match self.facts[ordinal].get() {
            Some(facts) => facts.clone(),
            None => self.source.as_ref()?.read(key).map(Arc::new),
        }
    }

    /// Every file with its facts, in key order (reading those not yet read: the whole workspace's
    /// facts — what a question should not need).
    pub fn iter(&self) -> impl Iterator<Item = (&Arc<str>, &Arc<FileFacts>)> {
        (0..self.keys.len()).filter_map(|ordinal| self.at(ordinal))
    }

    pub fn values(&self) -> impl Iterator<Item = &Arc<FileFacts>> {
        self.iter().map(|(_, facts)| facts)
    }

    /// A reader for one pass over many files (building a search index) whose reads are dropped with
    /// it: facts already kept are shared, the others read once for the pass and not kept here.
    pub fn for_one_pass(&self) -> PassReads<'_> {
        PassReads { files: self, read: (0..self.keys.len()).map(|_| OnceLock::new()).collect() }
    }

    /// Every file with its facts, in key order, without keeping those read for it (`fetch`).
    pub fn scan(&self) -> impl Iterator<Item = (&Arc<str>, Arc<FileFacts>)> {
        self.keys.iter().filter_map(|key| Some((key, self.fetch(key)?)))
    }

    /// These files with `changed` replacing or added and the keys of `removed` dropped: the facts
    /// read so far are kept, the others read from the same source when asked for. Also returns, for
    /// each file of the new key order, its ordinal here (`None`: changed).
    pub fn with_changes(
        &self,
        changed: &BTreeMap<Arc<str>, Arc<FileFacts>>,
        removed: &std::collections::HashSet<&str>,
    ) -> (Files, Vec<Option<usize>>) {
        let mut kept = (0..self.keys.len())
            .filter(|&i| !removed.contains(&*self.keys[i]) && !changed.contains_key(&self.keys[i]))
            .peekable();
        let mut changed = changed.iter().peekable();
        let (mut keys, mut facts, mut origins) = (Vec::new(), Vec::new(), Vec::new());
        loop {
            let take_kept = match (kept.peek(), changed.peek()) {
                (Some(&i), Some((key, _))) => self.keys[i] < **key,
                (Some(_), None) => true,
                (None, Some(_)) => false,
                (None, None) => break,
            };
            if take_kept {
                let i = kept.next().unwrap_or_default();
                keys.push(self.keys[i].clone());
                facts.push(self.facts[i].get().cloned().map_or_else(OnceLock::new, OnceLock::from));
                origins.push(Some(i));
            } else if let Some((key, file_facts)) = changed.next() {
                keys.push(key.clone());
                facts.push(OnceLock::from(Some(file_facts.clone())));
                origins.push(None);
            }
        }
        let files = Files { keys: keys.into(), facts: facts.into(), source: self.source.clone() };
        (files, origins)
    }

    /// Every file's facts in a map (all read).
    pub fn to_map(&self) -> BTreeMap<Arc<str>, Arc<FileFacts>> {
        self.iter().map(|(key, facts)| (key.clone(), facts.clone())).collect()
    }
}

impl<'a> IntoIterator for &'a Files {
    type Item = (&'a Arc<str>, &'a Arc<FileFacts>);
    type IntoIter = Box<dyn Iterator<Item = Self::Item> + 'a>;

    fn into_iter(self) -> Self::IntoIter {
        Box::new(self.iter())
    }
}

/// For tests: a file's facts by key (a panic when absent).
#[cfg(test)]
impl std::ops::Index<&str> for Files {
    type Output = Arc<FileFacts>;

    fn index(&self, key: &str) -> &Arc<FileFacts> {
        self.get(key).unwrap_or_else(|| panic!("no facts for {key}"))
    }
}

/// Facts read for one pass (`Files::for_one_pass`), dropped with it.
pub struct PassReads<'a> {
    files: &'a Files,
    read: Box<[OnceLock<Option<Arc<FileFacts>>>]>,
}

impl PassReads<'_> {
    pub fn get(&self, key: &str) -> Option<&FileFacts> {
        let ordinal = self.files.ordinal(key)?;
        self.read[ordinal].get_or_init(|| self.files.fetch(key)).as_deref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    struct Counted(AtomicUsize);

    impl FactsSource for Counted {
        fn read(&self, key: &str) -> Option<FileFacts> {
            self.0.fetch_add(1, Ordering::SeqCst);
            (key != "gone.py").then(|| crate::syntax::extract(b"def f():\n    pass\n", crate::syntax::Language::Python))
        }
    }

    #[test]
    fn facts_are_read_once_when_first_asked_for_and_a_file_that_cannot_be_read_is_absent() {
        let source = Arc::new(Counted(AtomicUsize::new(0)));
        let keys: Arc<[Arc<str>]> = ["a.py", "b.py", "gone.py"].into_iter().map(Arc::from).collect();
        let files = Files::read_on_demand(keys, source.clone());
        assert_eq!(source.0.load(Ordering::SeqCst), 0, "nothing read up front");
        assert!(files.contains_key("gone.py") && !files.contains_key("c.py"));
        assert_eq!(files.get("b.py").map(|f| f.definitions.len()), Some(1));
        assert_eq!(files.get("b.py").map(|f| f.definitions.len()), Some(1));
        assert_eq!(source.0.load(Ordering::SeqCst), 1, "read once");
        assert!(files.get("gone.py").is_none());
        assert_eq!(source.0.load(Ordering::SeqCst), 2);
        assert_eq!(files.scan().count(), 2);
        assert_eq!(source.0.load(Ordering::SeqCst), 3, "a scan reads what was not read, and keeps nothing");
        assert_eq!(files.iter().map(|(k, _)| &**k).collect::<Vec<_>>(), ["a.py", "b.py"]);
        assert_eq!(source.0.load(Ordering::SeqCst), 4);
    }
}
