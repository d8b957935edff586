//! Notes: the learned context. What a note is, how it is keyed, and when it is fresh.
//!
//! A note's key is `hash(kind, prompt version, model, inputs)`. File-level notes (summary, playbook,
//! anticipated questions) take the file's content hash and the *interface* hashes of the files it
//! uses; module notes take their files' interface hashes and their sub-modules' keys; the overview
//! takes the top-level modules' keys (a Merkle tree). So a body edit makes one file's notes stale, a
//! signature edit also its dependents' and its modules' — and nothing else. A stale note is still
//! served, marked stale, until it is rebuilt.

use crate::hash::{Digest, DigestBuilder};
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NoteKind {
    /// Purpose, key symbols and their roles, invariants, how the file is used.
    FileSummary,
    /// Likely failure modes, error messages and where they are raised, breakpoints, tests.
    Playbook,
    /// Anticipated questions with answers, anchored to symbols.
    Questions,
    /// A directory, rolled up from its files' and sub-directories' notes.
    ModuleSummary,
    /// The workspace: components, data flow, entry points, where to start reading.
    Overview,
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

/// A note with whether it still matches its inputs.
#[derive(Clone, Debug, PartialEq)]
pub struct NoteState {
    pub note: Note,
    pub fresh: bool,
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
