//! The project's history as answered questions: every non-merge commit reachable from HEAD, with its
//! message (subject, body, the issues it cites) and what it changed (files, and the definitions whose
//! lines the diff touched, mapped through the current facts where they still exist).
//!
//! - `mod.rs`: the records (`Commit`, stored one per commit) and the read side (`History`, compact
//!   enough to keep in the server's memory: paths and names interned, ids as 20 bytes; `load`);
//! - `parse.rs`: `git log --patch` → commits, files, candidate names, cited issues (pure);
//! - `mine.rs`: `refresh`, the incremental, preemptible pass (git runs through `git::Git`);
//! - `stored.rs`: the typed view of the store's `history` and `history-state` trees;
//! - `past.rs`: the history as the "past changes" channel's index (`search::PastChanges`).
//!
//! Guarantees: only commits reachable from HEAD are ever kept (never other refs, the reflog or
//! stashes; never dates as a proxy); messages are redacted (`redact::redact`) before they are stored.

pub mod mine;
pub mod parse;
mod past;
pub mod stored;

pub use mine::{HistoryReport, Options, Progress, refresh, refresh_with};
pub use past::{load_past_changes, past_changes};
pub use stored::{HistoryStore, RootState};

use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// One mined commit, as stored (one JSON record per commit) and as `History::commit` returns it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Commit {
    /// The full hexadecimal commit id.
    pub id: String,
    /// The message's first line, redacted.
    pub subject: String,
    /// The rest of the message, redacted, trimmed.
    pub body: String,
    /// Issue numbers the message cites (`#1234`, `Fixed #27626`, `gh-123`), in order, without repeats.
    pub issues: Vec<u32>,
    /// Workspace keys of the files it changed (as the facts key them), at most `MAX_FILES_LISTED`.
    pub files: Vec<String>,
    /// How many files under the workspace it changed, also when `files` is capped.
    pub files_touched: u32,
    /// (workspace key, definition name) of the current definitions whose lines its diff touched.
    pub definitions: Vec<(String, String)>,
}

/// A commit touching more files than this lists the first ones and keeps the count (`files_touched`).
pub const MAX_FILES_LISTED: usize = 500;

/// The history in memory, read by the "past changes" channel: commits in `git rev-list` order (newest
/// first), file keys and definition names interned.
#[derive(Clone, Debug, Default)]
pub struct History {
    commits: Vec<Entry>,
    paths: Interner,
    names: Interner,
}

/// One commit in memory: what `Commit` holds, with strings interned and the message in one buffer.
#[derive(Clone, Debug)]
struct Entry {
    id: [u8; 20],
    /// Subject, then `\n`, then body.
    message: Box<str>,
    subject_len: u32,
    issues: Box<[u32]>,
    files: Box<[u32]>,
    files_touched: u32,
    /// (path id, name id).
    definitions: Box<[(u32, u32)]>,
}

#[derive(Clone, Debug, Default)]
struct Interner {
    strings: Vec<Box<str>>,
    ids: HashMap<Box<str>, u32>,
}

impl Interner {
    fn intern(&mut self, s: &str) -> u32 {
        if let Some(&id) = self.ids.get(s) {
            return id;
        }
        let id = self.strings.len() as u32;
        self.strings.push(s.into());
        self.ids.insert(s.into(), id);
        id
    }

    fn get(&self, id: u32) -> &str {
        &self.strings[id as usize]
    }

    fn id(&self, s: &str) -> Option<u32> {
        self.ids.get(s).copied()
    }
}

/// A commit of a `History`, borrowed.
#[derive(Clone, Copy, Debug)]
pub struct CommitRef<'a> {
    history: &'a History,
    entry: &'a Entry,
}

impl<'a> CommitRef<'a> {
    /// The full hexadecimal id.
    pub fn id(&self) -> String {
        self.entry.id.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// The first 7 hex digits, as people cite commits.
    pub fn short_id(&self) -> String {
        self.id()[..7].to_string()
    }

    pub fn subject(&self) -> &'a str {
        &self.entry.message[..self.entry.subject_len as usize]
    }

    pub fn body(&self) -> &'a str {
        self.entry.message.get(self.entry.subject_len as usize + 1..).unwrap_or("")
    }

    /// Subject and body as one text (for search).
    pub fn message(&self) -> &'a str {
        &self.entry.message
    }

    pub fn issues(&self) -> &'a [u32] {
        &self.entry.issues
    }

    /// Path ids (`History::path`) of the files listed.
    pub fn file_ids(&self) -> &'a [u32] {
        &self.entry.files
    }

    pub fn files(&self) -> impl Iterator<Item = &'a str> + 'a {
        let history = self.history;
        self.entry.files.iter().map(move |&id| history.paths.get(id))
    }

    pub fn files_touched(&self) -> u32 {
        self.entry.files_touched
    }

    /// (path id, name id) pairs; `History::path` and `History::name` read them.
    pub fn definition_ids(&self) -> &'a [(u32, u32)] {
        &self.entry.definitions
    }

    pub fn definitions(&self) -> impl Iterator<Item = (&'a str, &'a str)> + 'a {
        let history = self.history;
        self.entry.definitions.iter().map(move |&(path, name)| (history.paths.get(path), history.names.get(name)))
    }

    /// The owned record.
    pub fn to_commit(&self) -> Commit {
        Commit {
            id: self.id(),
            subject: self.subject().to_string(),
            body: self.body().to_string(),
            issues: self.issues().to_vec(),
            files: self.files().map(str::to_string).collect(),
            files_touched: self.files_touched(),
            definitions: self.definitions().map(|(p, n)| (p.to_string(), n.to_string())).collect(),
        }
    }
}

impl History {
    /// A history of `commits`, in the order given (newest first, as `git rev-list` gives them).
    pub fn from_commits(commits: impl IntoIterator<Item = Commit>) -> History {
        let mut history = History::default();
        for commit in commits {
            history.push(&commit);
        }
        history
    }

    fn push(&mut self, commit: &Commit) {
        let mut id = [0u8; 20];
        for (i, byte) in id.iter_mut().enumerate() {
            *byte = commit.id.get(2 * i..2 * i + 2).and_then(|h| u8::from_str_radix(h, 16).ok()).unwrap_or(0);
        }
        let message = if commit.body.is_empty() {
            commit.subject.clone()
        } else {
            format!("{}\n{}", commit.subject, commit.body)
        };
        let files = commit.files.iter().map(|f| self.paths.intern(f)).collect();
        let definitions =
            commit.definitions.iter().map(|(path, name)| (self.paths.intern(path), self.names.intern(name))).collect();
        self.commits.push(Entry {
            id,
            message: message.into(),
            subject_len: commit.subject.len() as u32,
            issues: commit.issues.clone().into(),
            files,
            files_touched: commit.files_touched,
            definitions,
        });
    }

    pub fn len(&self) -> usize {
        self.commits.len()
    }

    pub fn is_empty(&self) -> bool {
        self.commits.is_empty()
    }

    /// Commits newest first.
    pub fn commits(&self) -> impl Iterator<Item = CommitRef<'_>> {
        self.commits.iter().map(move |entry| CommitRef { history: self, entry })
    }

    /// The commit at `index` (in `commits()` order).
    pub fn commit(&self, index: usize) -> Option<CommitRef<'_>> {
        self.commits.get(index).map(|entry| CommitRef { history: self, entry })
    }

    /// The workspace key of a path id.
    pub fn path(&self, id: u32) -> &str {
        self.paths.get(id)
    }

    /// The path id of a workspace key, when some commit changed it.
    pub fn path_id(&self, key: &str) -> Option<u32> {
        self.paths.id(key)
    }

    /// How many distinct paths the commits name (path ids are `0..paths()`).
    pub fn paths(&self) -> usize {
        self.paths.strings.len()
    }

    /// The definition name of a name id.
    pub fn name(&self, id: u32) -> &str {
        self.names.get(id)
    }

    /// Bytes this history holds on the heap (an estimate from its sizes: commits, messages, lists,
    /// the interned strings and their tables), for the memory budget and `status`.
    pub fn heap_bytes(&self) -> usize {
        let entries: usize = self
            .commits
            .iter()
            .map(|e| e.message.len() + e.issues.len() * 4 + e.files.len() * 4 + e.definitions.len() * 8)
            .sum();
        let interned = |i: &Interner| {
            let text: usize = i.strings.iter().map(|s| s.len()).sum();
            // Each string is held twice (list and table); a table slot is a Box<str> and a u32, at
            // the hash map's load factor (7/8).
            2 * text + i.strings.capacity() * 16 + i.ids.capacity() * 24 * 8 / 7
        };
        self.commits.capacity() * std::mem::size_of::<Entry>() + entries + interned(&self.paths) + interned(&self.names)
    }
}

/// The stored history of every root, in `rev-list` order per root (roots by their prefix). Reads
/// the store once; keep the result.
pub fn load(store: &crate::store::Store) -> anyhow::Result<History> {
    let mut history = History::default();
    for (label, state) in store.root_states()? {
        let mut commits: HashMap<String, Commit> =
            store.stored_commits(&label)?.into_iter().map(|c| (c.id.clone(), c)).collect();
        for id in &state.order {
            if let Some(commit) = commits.remove(id) {
                history.push(&commit);
            }
        }
    }
    Ok(history)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commits_read_back_as_stored() {
        let commit = Commit {
            id: "0123456789abcdef0123456789abcdef01234567".into(),
            subject: "Fixed #27626 -- Moved MEDIA_URL validation.".into(),
            body: "Thanks Tim.".into(),
            issues: vec![27626],
            files: vec!["django/conf/__init__.py".into(), "tests/settings_tests/tests.py".into()],
            files_touched: 2,
            definitions: vec![("django/conf/__init__.py".into(), "Settings".into())],
        };
        let history = History::from_commits([commit.clone(), Commit { id: "ff".repeat(20), ..Default::default() }]);
        assert_eq!(history.len(), 2);
        let first = history.commit(0).unwrap();
        assert_eq!(first.to_commit(), commit);
        assert_eq!(first.short_id(), "0123456");
        assert_eq!(history.path(first.file_ids()[0]), "django/conf/__init__.py");
        assert_eq!(history.path_id("tests/settings_tests/tests.py"), Some(1));
        assert_eq!(history.commit(1).unwrap().body(), "");
    }
}
