//! What a snapshot needs to know across every file, without the files' facts: names → where they are
//! defined, which files reference them, which tests use them; every error message; each file's
//! number of definitions, error sites and full-text documents. Built file by file from the facts
//! (`SummaryBuilder`), and kept between processes beside the search indexes, under the same identity
//! (`search::stored`), so a process that finds it reads a few megabytes instead of every file's facts.
//!
//! Guarantees: entries of a name are in file order, then value order — the order a walk over the
//! files in key order finds them. `Summary::from_bytes` checks everything a reader indexes with
//! (name boundaries, runs, file ordinals, and every definition, test and error site index against
//! its file's counts) before it serves anything: damaged bytes are refused with a reason, never a
//! panic.

use crate::syntax::FileFacts;
use rustc_hash::FxHashMap as HashMap;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// The kept layout's first bytes; the last is its version.
const MAGIC: &[u8; 16] = b"reverie-summary\x02";

/// Names → runs of (file, value), packed: the names sorted end to end, and one array of (file
/// ordinal, value) in name order. A big workspace's 220k defined and referenced names cost a
/// `String` and a `Vec` each in a hash map (with a shared key per entry), this a few bytes a name and
/// 8 bytes an entry. Entries of a name are in file order, then value order.
#[derive(Default, Serialize, Deserialize)]
pub struct NameIndex {
    words: String,
    /// Where each name ends in `words`.
    ends: Vec<u32>,
    /// Name `i`'s entries are `entries[starts[i]..starts[i + 1]]`.
    starts: Vec<u32>,
    entries: Vec<(u32, u32)>,
    /// File ordinal → key: the snapshot's files in key order.
    #[serde(skip)]
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

    /// The entries as (file ordinal, value).
    pub fn ordinals(&self) -> &'a [(u32, u32)] {
        self.entries
    }

    pub fn first(&self) -> Option<(&'a Arc<str>, u32)> {
        self.iter().next()
    }

    pub fn to_vec(&self) -> Vec<(Arc<str>, u32)> {
        self.iter().map(|(key, value)| (key.clone(), value)).collect()
    }
}

impl NameIndex {
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

    /// Every name with its entries, in name order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, NameEntries<'_>)> {
        (0..self.ends.len()).map(|i| {
            let run = self.starts[i] as usize..self.starts[i + 1] as usize;
            (self.name(i), NameEntries { entries: &self.entries[run], keys: &self.keys })
        })
    }

    /// Whether the layout is whole: names sorted and cut at character boundaries, runs in bounds,
    /// and every entry's file and value within `value_bound(file)` (`None`: any value).
    fn check(&self, files: usize, value_bound: impl Fn(usize) -> Option<u32>) -> Result<(), String> {
        if self.starts.len() != self.ends.len() + 1 || self.starts.last().copied() != Some(self.entries.len() as u32) {
            return Err("name runs do not cover the entries".into());
        }
        let mut start = 0usize;
        for (i, &end) in self.ends.iter().enumerate() {
            let end = end as usize;
            if end <= start && i > 0 || end > self.words.len() || !self.words.is_char_boundary(end) {
                return Err(format!("name {i} is out of bounds"));
            }
            if i > 0 && self.name(i - 1) >= self.name(i) {
                return Err(format!("names {} and {i} are out of order", i - 1));
            }
            start = end;
        }
        // Every name has at least one entry (an empty run would be a name defined nowhere).
        if self.starts.windows(2).any(|w| w[0] >= w[1]) {
            return Err("name runs are empty or out of order".into());
        }
        for &(file, value) in &self.entries {
            if file as usize >= files {
                return Err(format!("an entry points at file {file} of {files}"));
            }
            if value_bound(file as usize).is_some_and(|bound| value >= bound) {
                return Err(format!("an entry points past the end of file {file}'s facts"));
            }
        }
        Ok(())
    }
}

/// Builds a `NameIndex` from (name, file, value) triples added in any order.
#[derive(Default)]
struct NameIndexBuilder {
    ids: HashMap<Box<str>, u32>,
    triples: Vec<(u32, u32, u32)>,
}

impl NameIndexBuilder {
    fn add(&mut self, name: &str, file: u32, value: u32) {
        let id = match self.ids.get(name) {
            Some(&id) => id,
            None => {
                let id = self.ids.len() as u32;
                self.ids.insert(name.into(), id);
                id
            }
        };
        self.triples.push((id, file, value));
    }

    /// The entries of `old` whose file is still there, at its new ordinal (`new_of_old`).
    fn carry(&mut self, old: &NameIndex, new_of_old: &[Option<u32>]) {
        for (name, entries) in old.iter() {
            for &(file, value) in entries.ordinals() {
                if let Some(Some(new)) = new_of_old.get(file as usize) {
                    self.add(name, *new, value);
                }
            }
        }
    }

    fn finish(self) -> NameIndex {
        let mut names: Vec<(Box<str>, u32)> = self.ids.into_iter().collect();
        names.sort_unstable();
        let mut rank = vec![0u32; names.len()];
        for (position, (_, id)) in names.iter().enumerate() {
            rank[*id as usize] = position as u32;
        }
        let mut triples = self.triples;
        triples.iter_mut().for_each(|triple| triple.0 = rank[triple.0 as usize]);
        triples.sort_unstable();
        let mut index = NameIndex::default();
        index.entries.reserve_exact(triples.len());
        for (name, file, value) in triples {
            if index.ends.len() <= name as usize {
                index.words.push_str(&names[name as usize].0);
                index.ends.push(index.words.len() as u32);
                index.starts.push(index.entries.len() as u32);
            }
            index.entries.push((file, value));
        }
        index.starts.push(index.entries.len() as u32);
        index.words.shrink_to_fit();
        index
    }
}

/// Which content one file's facts are of, and how much of each kind they hold: what a search
/// index's documents are counted from, and a definition's vector is keyed by.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileShape {
    pub content_hash: crate::hash::Digest,
    /// `FileFacts::interface_hash`: what notes of files that use this one are keyed by.
    pub interface_hash: crate::hash::Digest,
    pub definitions: u32,
    pub error_sites: u32,
    pub tests: u32,
    /// Full-text documents (`FileFacts::text`).
    pub text: u32,
}

impl FileShape {
    fn of(facts: &FileFacts) -> FileShape {
        FileShape {
            content_hash: facts.content_hash,
            interface_hash: facts.interface_hash,
            definitions: facts.definitions.len() as u32,
            error_sites: facts.error_sites.len() as u32,
            tests: facts.tests.len() as u32,
            text: facts.text.len() as u32,
        }
    }
}

/// One error message: (file ordinal, index into its `error_sites`, the message).
pub type ErrorMessage = (u32, u32, String);

/// See the module docs.
#[derive(Default, Serialize, Deserialize)]
pub struct Summary {
    /// Per file, in key order.
    pub shapes: Vec<FileShape>,
    /// For each name, where it is defined: (file, index into its definitions).
    pub definitions: NameIndex,
    /// For each name, the files that reference it and how often.
    pub references: NameIndex,
    /// For each name, the tests whose body references it: (file, index into its tests).
    pub tests: NameIndex,
    /// Every error message, in file order, then site order.
    pub error_messages: Vec<ErrorMessage>,
}

impl Summary {
    /// The summary of `files`, in key order.
    pub fn of<'a>(files: impl IntoIterator<Item = &'a FileFacts>) -> Summary {
        let mut builder = SummaryBuilder::default();
        files.into_iter().for_each(|facts| builder.add(facts));
        builder.finish()
    }

    /// Points the name indexes' file ordinals at `keys` (the snapshot's files in key order).
    pub fn set_keys(&mut self, keys: &Arc<[Arc<str>]>) {
        for index in [&mut self.definitions, &mut self.references, &mut self.tests] {
            index.keys = keys.clone();
        }
    }

    /// The layout kept between processes: `MAGIC`, then the summary encoded with postcard.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut bytes = MAGIC.to_vec();
        // Encoding plain vectors and strings into memory cannot fail.
        bytes.extend(postcard::to_stdvec(self).unwrap_or_default());
        bytes
    }

    /// The summary kept in `bytes`, when they are a whole one over `files` files (see the module
    /// docs).
    pub fn from_bytes(bytes: &[u8], files: usize) -> Result<Summary, String> {
        let body = bytes.strip_prefix(MAGIC.as_slice()).ok_or("not a summary of this version")?;
        let summary: Summary = postcard::from_bytes(body).map_err(|err| format!("it does not decode: {err}"))?;
        if summary.shapes.len() != files {
            return Err(format!("it has {} files where the facts give {files}", summary.shapes.len()));
        }
        let shapes = &summary.shapes;
        summary
            .definitions
            .check(files, |file| Some(shapes[file].definitions))
            .map_err(|e| format!("definitions: {e}"))?;
        summary.references.check(files, |_| None).map_err(|e| format!("references: {e}"))?;
        summary.tests.check(files, |file| Some(shapes[file].tests)).map_err(|e| format!("tests: {e}"))?;
        for &(file, site, _) in &summary.error_messages {
            if shapes.get(file as usize).is_none_or(|shape| site >= shape.error_sites) {
                return Err(format!("an error message points past file {file}'s error sites"));
            }
        }
        Ok(summary)
    }
}

/// The parts of a snapshot's summary, borrowed (a snapshot holds them apart).
pub struct SummaryParts<'a> {
    pub shapes: &'a [FileShape],
    pub definitions: &'a NameIndex,
    pub references: &'a NameIndex,
    pub tests: &'a NameIndex,
    pub error_messages: &'a [ErrorMessage],
}

impl SummaryParts<'_> {
    /// The summary of the files after a change: `origins` gives, for each file of the new key order,
    /// its ordinal in this summary, or `None` for a changed file, whose facts `changed` gives (in the
    /// same order). What did not change is carried over without reading any file.
    pub fn changed(&self, origins: &[Option<usize>], changed: &[&FileFacts]) -> Summary {
        let mut new_of_old = vec![None; self.shapes.len()];
        let mut builder = SummaryBuilder::default();
        let mut changed = changed.iter();
        for (new, origin) in origins.iter().enumerate() {
            match origin {
                Some(old) => new_of_old[*old] = Some(new as u32),
                None => {
                    if let Some(facts) = changed.next() {
                        builder.add_at(new as u32, facts);
                    }
                }
            }
        }
        builder.shapes.resize(origins.len(), FileShape::default());
        for (old, new) in new_of_old.iter().enumerate() {
            if let Some(new) = new {
                builder.shapes[*new as usize] = self.shapes[old];
            }
        }
        builder.definitions.carry(self.definitions, &new_of_old);
        builder.references.carry(self.references, &new_of_old);
        builder.tests.carry(self.tests, &new_of_old);
        for (file, site, message) in self.error_messages {
            if let Some(Some(new)) = new_of_old.get(*file as usize) {
                builder.error_messages.push((*new, *site, message.clone()));
            }
        }
        builder.finish()
    }
}

/// Whether `bytes` start like a kept summary of another layout version (`MAGIC`'s last byte).
fn is_other_version(bytes: &[u8]) -> bool {
    let (name, version) = MAGIC.split_at(MAGIC.len() - 1);
    bytes.starts_with(name) && bytes.get(name.len()).is_some_and(|v| *v != version[0])
}

/// The name of the summary among a snapshot's kept files (`search::IndexFiles`).
const KEPT_NAME: &str = "summary";

impl Summary {
    /// The summary kept in `kept` over `files` files, if a whole one is there (a damaged one is
    /// logged and left for `keep` to replace).
    pub fn read_kept(kept: &dyn crate::search::IndexFiles, files: usize) -> Option<Summary> {
        let bytes = kept.read(KEPT_NAME)?;
        let bytes: &[u8] = (*bytes).as_ref();
        match Summary::from_bytes(bytes, files) {
            Ok(summary) => Some(summary),
            // Another version's layout (after an upgrade) is expected, not damage.
            Err(_) if is_other_version(bytes) => {
                tracing::info!("the kept summary of the facts is of another version of reverie; rebuilding it");
                None
            }
            Err(reason) => {
                tracing::warn!("the kept summary of the facts is unreadable ({reason}); rebuilding it");
                None
            }
        }
    }

    /// Keeps this summary in `kept` (best effort: a failure is logged there).
    pub fn keep(&self, kept: &dyn crate::search::IndexFiles) {
        kept.write(KEPT_NAME, &self.to_bytes());
    }
}

/// Builds a `Summary` one file at a time (files added in key order), so a pass over a store's facts
/// never holds more than one file's.
#[derive(Default)]
pub struct SummaryBuilder {
    shapes: Vec<FileShape>,
    definitions: NameIndexBuilder,
    references: NameIndexBuilder,
    tests: NameIndexBuilder,
    error_messages: Vec<ErrorMessage>,
}

impl SummaryBuilder {
    /// Adds the next file in key order.
    pub fn add(&mut self, facts: &FileFacts) {
        self.add_at(self.shapes.len() as u32, facts);
    }

    /// Adds the file at `file` in key order.
    fn add_at(&mut self, file: u32, facts: &FileFacts) {
        if self.shapes.len() <= file as usize {
            self.shapes.resize(file as usize + 1, FileShape::default());
        }
        self.shapes[file as usize] = FileShape::of(facts);
        for (i, definition) in facts.definitions.iter().enumerate() {
            self.definitions.add(&definition.name, file, i as u32);
        }
        let mut counts: HashMap<&str, u32> = HashMap::default();
        for reference in &facts.references {
            *counts.entry(reference.name.as_str()).or_insert(0) += 1;
        }
        for (name, count) in counts {
            self.references.add(name, file, count);
        }
        if !facts.tests.is_empty() {
            // References by where they start: a test's are those from its start that end within it.
            let mut by_start: Vec<&crate::syntax::facts::Reference> = facts.references.iter().collect();
            by_start.sort_by_key(|r| r.span.start_byte);
            for (i, test) in facts.tests.iter().enumerate() {
                let first = by_start.partition_point(|r| r.span.start_byte < test.span.start_byte);
                let mut names: Vec<&str> = by_start[first..]
                    .iter()
                    .take_while(|r| r.span.start_byte <= test.span.end_byte)
                    .filter(|r| test.span.contains(&r.span))
                    .map(|r| r.name.as_str())
                    .collect();
                names.sort_unstable();
                names.dedup();
                names.into_iter().for_each(|name| self.tests.add(name, file, i as u32));
            }
        }
        for (i, site) in facts.error_sites.iter().enumerate() {
            self.error_messages.push((file, i as u32, site.message.clone()));
        }
    }

    pub fn finish(mut self) -> Summary {
        self.error_messages.sort_by_key(|(file, site, _)| (*file, *site));
        Summary {
            shapes: self.shapes,
            definitions: self.definitions.finish(),
            references: self.references.finish(),
            tests: self.tests.finish(),
            error_messages: self.error_messages,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn another_versions_layout_is_told_from_damage() {
        assert!(is_other_version(b"reverie-summary\x01and the rest"));
        assert!(!is_other_version(MAGIC), "this version");
        assert!(!is_other_version(b"reverie-summary"), "cut before the version");
        assert!(!is_other_version(b"reverie-sXmmary\x01"), "damaged");
        assert!(!is_other_version(b""));
    }
}
