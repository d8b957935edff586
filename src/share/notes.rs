//! The shared form of the notes (`sleep::Note`), pure: what `share push` writes and what
//! `share pull` accepts.
//!
//! A share of notes is a manifest (`pack::BlobManifest`: format version, count, bytes and BLAKE3
//! digest of the notes blob) and one blob, `notes.json`, the notes as a JSON array. Only notes fresh for the
//! pushing workspace's facts go, with every string of their body redacted (`redact::redact`), and
//! never a note about a secret-looking file.
//!
//! A note is keyed by `hash(kind, prompt version, model, inputs)` (`sleep::note`), its inputs being
//! content and interface hashes: [`acceptable`] keeps a shared note only when the key this
//! workspace's own facts give for its kind, subject and model is the note's key — the note was
//! written for exactly this content — and the workspace has no fresh note of its own there.
//!
//! Guarantees: [`decode`] accepts only what [`encode`] can have written (version, size, digest,
//! JSON of notes) and says in one sentence what was wrong otherwise; nothing here panics on input.

use super::pack::BlobManifest;
use crate::hash::Digest;
use crate::sleep::{Note, NoteKind};
use crate::snapshot::Snapshot;
use std::collections::HashMap;

/// The notes blob's name in the share's tree, and the share's kind.
pub const NOTES: &str = "notes.json";
pub const KIND: &str = "notes";
/// The largest notes blob a pull reads.
pub const MAX_NOTES_BYTES: u64 = 64 << 20;

/// The notes of `notes` worth sharing: fresh for `snapshot`, not about a secret-looking file, with
/// every string of their bodies redacted.
pub fn shareable(notes: Vec<Note>, fresh: &[bool]) -> Vec<Note> {
    notes
        .into_iter()
        .zip(fresh)
        .filter(|(note, fresh)| **fresh && !crate::redact::is_secret_file(std::path::Path::new(&note.subject)))
        .map(|(mut note, _)| {
            redact_strings(&mut note.body);
            note
        })
        .collect()
}

fn redact_strings(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::String(text) => *text = crate::redact::redact(text).0,
        serde_json::Value::Array(items) => items.iter_mut().for_each(redact_strings),
        serde_json::Value::Object(fields) => fields.values_mut().for_each(redact_strings),
        _ => {}
    }
}

/// The manifest's bytes and the notes blob.
pub fn encode(notes: &[Note]) -> (Vec<u8>, Vec<u8>) {
    let blob = serde_json::to_vec(notes).unwrap_or_default();
    (super::pack::blob_manifest(KIND, notes.len() as u64, &blob), blob)
}

/// Decodes the notes blob, checking it against its manifest.
pub fn decode(blob: &[u8], manifest: &BlobManifest) -> Result<Vec<Note>, String> {
    super::pack::check_blob(blob, manifest)?;
    let notes: Vec<Note> = serde_json::from_slice(blob).map_err(|err| format!("{NOTES} does not parse ({err})"))?;
    if notes.len() as u64 != manifest.items {
        return Err(format!("{NOTES} holds {} notes, the manifest says {}", notes.len(), manifest.items));
    }
    Ok(notes)
}

/// The shared notes this workspace can use: each one's key is the key `snapshot` gives its kind and
/// subject for its model (written for exactly this content), its subject is not secret-looking, and
/// `local` (the workspace's notes) has no fresh note there already.
pub fn acceptable(shared: Vec<Note>, local: &[Note], snapshot: &Snapshot) -> Vec<Note> {
    let model_of = |note: &Note| format!("{}/{}", note.provider, note.model_id_tail());
    let mut planned: HashMap<(String, NoteKind, String), Digest> = HashMap::new();
    let mut models: Vec<String> = shared.iter().map(model_of).collect();
    models.sort();
    models.dedup();
    for model in &models {
        for job in crate::sleep::plan::plan(snapshot, model, &NoteKind::ALL) {
            planned.insert((model.clone(), job.kind, job.subject), job.key);
        }
    }
    let fresh_here = |note: &Note| {
        local.iter().any(|mine| {
            mine.kind == note.kind
                && mine.subject == note.subject
                && planned.get(&(model_of(mine), mine.kind, mine.subject.clone())) == Some(&mine.key)
        })
    };
    shared
        .into_iter()
        .filter(|note| planned.get(&(model_of(note), note.kind, note.subject.clone())) == Some(&note.key))
        .filter(|note| !crate::redact::is_secret_file(std::path::Path::new(&note.subject)))
        .filter(|note| !fresh_here(note))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn note_for(snapshot: &Snapshot, subject: &str, body: serde_json::Value) -> Note {
        let job = crate::sleep::plan::plan(snapshot, "openai/m", &[NoteKind::FileSummary])
            .into_iter()
            .find(|job| job.subject == subject)
            .unwrap();
        Note {
            key: job.key,
            kind: NoteKind::FileSummary,
            subject: subject.into(),
            body,
            anchors: Vec::new(),
            provider: "openai".into(),
            model: "m".into(),
            model_configured: "m".into(),
            prompt_tokens: 1,
            completion_tokens: 1,
            created_at_ns: 1,
        }
    }

    #[test]
    fn only_notes_written_for_this_content_are_accepted() {
        let theirs = Snapshot::of_python(&[("a.py", "def f():\n    return 1\n"), ("b.py", "def g():\n    return 2\n")]);
        let ours = Snapshot::of_python(&[("a.py", "def f():\n    return 1\n"), ("b.py", "def g():\n    return 3\n")]);
        let shared = vec![
            note_for(&theirs, "a.py", serde_json::json!({"purpose": "f"})),
            note_for(&theirs, "b.py", serde_json::json!({"purpose": "g"})),
        ];
        let accepted = acceptable(shared.clone(), &[], &ours);
        assert_eq!(accepted.iter().map(|n| n.subject.as_str()).collect::<Vec<_>>(), ["a.py"]);
        // A fresh note of our own is kept, not replaced.
        assert!(acceptable(shared, &[note_for(&ours, "a.py", serde_json::json!({}))], &ours).is_empty());
    }

    #[test]
    fn what_is_encoded_decodes_and_a_corrupt_blob_is_rejected() {
        let snap = Snapshot::of_python(&[("a.py", "def f():\n    return 1\n")]);
        let key = "sk-proj-abcdefghijklmnopqrstuvwxyz0123456789";
        let notes =
            shareable(vec![note_for(&snap, "a.py", serde_json::json!({"purpose": format!("uses {key}")}))], &[true]);
        assert!(!notes[0].body.to_string().contains(key), "secrets are redacted: {}", notes[0].body);
        let (manifest, blob) = encode(&notes);
        let check = |size| super::super::pack::check_blob_manifest(&manifest, KIND, size, MAX_NOTES_BYTES);
        let manifest = check(blob.len() as u64).unwrap();
        assert_eq!(decode(&blob, &manifest).unwrap(), notes);
        assert!(check(3).unwrap_err().contains("truncated"));
        let mut flipped = blob.clone();
        flipped[5] ^= 1;
        assert!(decode(&flipped, &manifest).unwrap_err().contains("corrupt"));
    }
}
