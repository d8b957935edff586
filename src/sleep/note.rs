//! Notes: the learned context. What a note is, how it is keyed, and when it is fresh.
//!
//! A note's key is `hash(kind, prompt version, model, inputs)`. File-level notes (summary, playbook,
//! anticipated questions) take the file's content hash and the *interface* hashes of the files it
//! uses; module notes take their files' interface hashes and their sub-modules' keys; the overview
//! takes the top-level modules' keys (a Merkle tree). So a body edit makes one file's notes stale, a
//! signature edit also its dependents' and its modules' — and nothing else. A stale note is still
//! served, marked stale, until it is rebuilt.

use crate::hash::{Digest, DigestBuilder};
use crate::store::{JobFailure, RecordTree, Store};
use anyhow::Result;
use serde::{Deserialize, Serialize};

/// A kind of note. Three names, each for its own audience, fixed once written:
/// - the discriminant (`byte()`) is the first byte of the note's store key — never renumber a kind;
/// - the serde name (`file-summary`) is what notes carry in the store and in JSON output;
/// - `name()` (`summary`) is what users write in `[sleep] notes = [...]` and what the CLI prints.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[repr(u8)]
pub enum NoteKind {
    /// Purpose, key symbols and their roles, invariants, how the file is used.
    FileSummary = 0,
    /// Likely failure modes, error messages and where they are raised, breakpoints, tests.
    Playbook = 1,
    /// Anticipated questions with answers, anchored to symbols.
    Questions = 2,
    /// A directory, rolled up from its files' and sub-directories' notes.
    ModuleSummary = 3,
    /// The workspace: components, data flow, entry points, where to start reading.
    Overview = 4,
}

impl NoteKind {
    pub const ALL: [NoteKind; 5] =
        [NoteKind::FileSummary, NoteKind::Playbook, NoteKind::Questions, NoteKind::ModuleSummary, NoteKind::Overview];

    pub fn name(self) -> &'static str {
        match self {
            NoteKind::FileSummary => "summary",
            NoteKind::Playbook => "playbook",
            NoteKind::Questions => "questions",
            NoteKind::ModuleSummary => "module",
            NoteKind::Overview => "overview",
        }
    }

    pub fn from_name(name: &str) -> Option<NoteKind> {
        NoteKind::ALL.into_iter().find(|k| k.name() == name)
    }

    pub fn is_file_level(self) -> bool {
        matches!(self, NoteKind::FileSummary | NoteKind::Playbook | NoteKind::Questions)
    }

    /// Bumped when the kind's prompt or output schema changes: every note of the kind goes stale.
    pub fn prompt_version(self) -> u32 {
        1
    }

    pub fn byte(self) -> u8 {
        self as u8
    }
}

/// A place a note speaks about.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Anchor {
    pub path: String,
    /// 1-based, inclusive.
    pub start_line: u32,
    pub end_line: u32,
    pub symbol: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Note {
    pub key: Digest,
    pub kind: NoteKind,
    /// A file key, a directory key (`""` is the root) or `""` for the overview.
    pub subject: String,
    /// The validated structured output (see `prompt.rs` for each kind's schema).
    pub body: serde_json::Value,
    pub anchors: Vec<Anchor>,
    pub provider: String,
    /// The model as the provider reported it.
    pub model: String,
    /// The model as configured: with `provider`, what the note's key was made with.
    pub model_configured: String,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub created_at_ns: u64,
}

impl Note {
    /// The model part of the identity its key was made with (`sleep::model_id` is `provider/model`).
    pub fn model_id_tail(&self) -> &str {
        &self.model_configured
    }
}

/// Named inputs of a note (sorted by name before hashing).
pub type Inputs = Vec<(String, Digest)>;

/// `hash(kind, prompt version, model, inputs)`.
pub fn note_key(kind: NoteKind, model: &str, inputs: &Inputs) -> Digest {
    let mut sorted: Vec<&(String, Digest)> = inputs.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    let mut builder = DigestBuilder::new();
    builder.part(kind.name().as_bytes()).part(&kind.prompt_version().to_le_bytes()).part(model.as_bytes());
    for (name, digest) in sorted {
        builder.part(name.as_bytes()).part(&digest.0);
    }
    builder.finish()
}

/// Notes and failed jobs in the store (the store keeps their JSON; this is their typed view).
pub trait NoteStore {
    /// Stores a note durably (it cost tokens), replacing the previous one for its kind and subject,
    /// and clears that job's failure.
    fn put_note(&self, note: &Note) -> Result<()>;
    fn note(&self, kind: NoteKind, subject: &str) -> Result<Option<Note>>;
    fn notes(&self) -> Result<Vec<Note>>;
    fn put_failure(&self, kind: NoteKind, subject: &str, failure: &JobFailure) -> Result<()>;
    fn failure(&self, kind: NoteKind, subject: &str) -> Result<Option<JobFailure>>;
    fn failures(&self) -> Result<Vec<(NoteKind, String, JobFailure)>>;
}

impl NoteStore for Store {
    fn put_note(&self, note: &Note) -> Result<()> {
        let key = store_key(note.kind, &note.subject);
        self.put_record(RecordTree::Notes, &key, note)?;
        self.remove_record(RecordTree::Failures, &key)?;
        self.flush()
    }

    fn note(&self, kind: NoteKind, subject: &str) -> Result<Option<Note>> {
        self.get_record(RecordTree::Notes, &store_key(kind, subject))
    }

    fn notes(&self) -> Result<Vec<Note>> {
        Ok(self.records_from(RecordTree::Notes, &[])?.into_iter().map(|(_, note)| note).collect())
    }

    fn put_failure(&self, kind: NoteKind, subject: &str, failure: &JobFailure) -> Result<()> {
        self.put_record(RecordTree::Failures, &store_key(kind, subject), failure)
    }

    fn failure(&self, kind: NoteKind, subject: &str) -> Result<Option<JobFailure>> {
        self.get_record(RecordTree::Failures, &store_key(kind, subject))
    }

    fn failures(&self) -> Result<Vec<(NoteKind, String, JobFailure)>> {
        Ok(self
            .records_from(RecordTree::Failures, &[])?
            .into_iter()
            .filter_map(|(key, failure)| {
                let kind = NoteKind::ALL.into_iter().find(|k| key.first() == Some(&k.byte()))?;
                Some((kind, String::from_utf8_lossy(&key[1..]).into_owned(), failure))
            })
            .collect())
    }
}

/// A note's store key: its kind's byte, then its subject.
fn store_key(kind: NoteKind, subject: &str) -> Vec<u8> {
    let mut key = vec![kind.byte()];
    key.extend_from_slice(subject.as_bytes());
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_ignore_input_order_but_not_inputs_model_or_kind() {
        let a = ("content".to_string(), Digest::of(b"a"));
        let b = ("interface:x.py".to_string(), Digest::of(b"b"));
        let key = note_key(NoteKind::FileSummary, "m", &vec![a.clone(), b.clone()]);
        assert_eq!(key, note_key(NoteKind::FileSummary, "m", &vec![b.clone(), a.clone()]));
        assert_ne!(key, note_key(NoteKind::FileSummary, "other-model", &vec![a.clone(), b.clone()]));
        assert_ne!(key, note_key(NoteKind::Playbook, "m", &vec![a.clone(), b.clone()]));
        assert_ne!(key, note_key(NoteKind::FileSummary, "m", &vec![a, ("interface:x.py".into(), Digest::of(b"c"))]));
    }
}
