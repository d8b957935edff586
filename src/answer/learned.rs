//! The learned context as answering sees it: every stored note, whether it is fresh for the current
//! facts, how far its claims check out against them, its text for retrieval, and the anticipated
//! questions indexed for matching.
//!
//! A note's *reliability* is how many of the symbols it names really are definitions where it says
//! (its file, for a file's notes; `grounding::is_defined`, the lookup answers are checked with too),
//! smoothed: `(found + 1) / (named + 2)`, halved when stale. A small model's notes name symbols that
//! do not exist; ranking trusts a note only as far as this goes.

use crate::hash::{Digest, DigestBuilder};
use crate::search::{Bm25, path_tokens, tokenize};
use crate::sleep::{Note, NoteKind};
use crate::snapshot::Snapshot;
use std::collections::HashMap;

/// One retrievable piece of a note: a whole summary or playbook, or one anticipated question.
#[derive(Clone, Debug, PartialEq)]
pub struct Passage {
    /// Index into `LearnedContext::notes`.
    pub note: usize,
    /// For anticipated questions: which question of the note.
    pub question: Option<usize>,
    pub text: String,
    /// Identifies the passage across runs (its note's key and place): what its vector is stored under.
    pub key: Digest,
}

#[derive(Debug, Default)]
pub struct LearnedContext {
    pub notes: Vec<Note>,
    /// Parallel to `notes`: the note's key still matches its inputs.
    pub fresh: Vec<bool>,
    /// Parallel to `notes`: how far the note's claims check out, in (0, 1] (see the module doc).
    pub reliability: Vec<f64>,
    pub passages: Vec<Passage>,
    pub bm25: Bm25,
    /// Indexes into `passages` of anticipated questions, and a BM25 over the questions alone.
    pub questions: Vec<usize>,
    pub questions_bm25: Bm25,
    /// Passage key → index into `passages` (the semantic index finds passages by key).
    by_key: HashMap<Digest, usize>,
}

impl LearnedContext {
    /// Builds from `notes`, judging freshness against the jobs the current facts call for.
    pub fn new(notes: Vec<Note>, snapshot: &Snapshot) -> LearnedContext {
        // Freshness needs the planned key of each note for its own model.
        let mut planned: HashMap<(String, NoteKind, String), crate::hash::Digest> = HashMap::new();
        let mut models: Vec<String> = notes.iter().map(|n| format!("{}/{}", n.provider, n.model_id_tail())).collect();
        models.sort();
        models.dedup();
        for model in &models {
            for job in crate::sleep::plan::plan(snapshot, model, &NoteKind::ALL) {
                planned.insert((model.clone(), job.kind, job.subject), job.key);
            }
        }
        let fresh: Vec<bool> = notes
            .iter()
            .map(|n| {
                planned.get(&(format!("{}/{}", n.provider, n.model_id_tail()), n.kind, n.subject.clone()))
                    == Some(&n.key)
            })
            .collect();
        let mut passages = Vec::new();
        let mut questions = Vec::new();
        for (i, note) in notes.iter().enumerate() {
            match note.kind {
                NoteKind::Questions => {
                    for (q, item) in note.body["questions"].as_array().into_iter().flatten().enumerate() {
                        questions.push(passages.len());
                        passages.push(Passage {
                            note: i,
                            question: Some(q),
                            key: passage_key(&note.key, Some(q)),
                            text: format!(
                                "Q: {}\nA: {}",
                                item["question"].as_str().unwrap_or(""),
                                item["answer"].as_str().unwrap_or("")
                            ),
                        });
                    }
                }
                _ => passages.push(Passage {
                    note: i,
                    question: None,
                    text: note_text(note),
                    key: passage_key(&note.key, None),
                }),
            }
        }
        let bm25 = Bm25::new(passages.iter().map(|p| {
            let mut tokens = tokenize(&p.text);
            tokens.extend(path_tokens(&notes[p.note].subject));
            tokens
        }));
        let questions_bm25 = Bm25::new(questions.iter().map(|&p| {
            let note = &notes[passages[p].note];
            tokenize(note.body["questions"][passages[p].question.unwrap_or(0)]["question"].as_str().unwrap_or(""))
        }));
        let reliability = notes
            .iter()
            .zip(&fresh)
            .map(|(note, fresh)| reliability(note, snapshot) * if *fresh { 1.0 } else { 0.5 })
            .collect();
        let by_key = passages.iter().enumerate().map(|(i, p)| (p.key, i)).collect();
        LearnedContext { notes, fresh, reliability, passages, bm25, questions, questions_bm25, by_key }
    }

    /// What the semantic index embeds of each passage, under the passage's key: an anticipated
    /// question's question (what a user's question is compared with), else the passage's text.
    pub fn embedding_items(&self) -> Vec<(Digest, String)> {
        self.passages
            .iter()
            .map(|p| {
                let note = &self.notes[p.note];
                let text = match p.question {
                    Some(q) => note.body["questions"][q]["question"].as_str().unwrap_or("").to_string(),
                    None => p.text.clone(),
                };
                let subject = if note.subject.is_empty() { "the workspace" } else { note.subject.as_str() };
                (p.key, format!("{subject}\n{text}"))
            })
            .collect()
    }

    /// The passage stored under `key`, if it is one of this context's.
    pub fn passage_by_key(&self, key: &Digest) -> Option<usize> {
        self.by_key.get(key).copied()
    }

    pub fn is_empty(&self) -> bool {
        self.notes.is_empty()
    }

    /// The file summary of `file` and whether it is fresh, for hover cards.
    pub fn summary_of(&self, file: &str) -> Option<(&Note, bool)> {
        self.note_of(file, NoteKind::FileSummary)
    }

    /// The note of `kind` about `file` and whether it is fresh.
    pub fn note_of(&self, file: &str, kind: NoteKind) -> Option<(&Note, bool)> {
        self.notes
            .iter()
            .zip(&self.fresh)
            .find(|(n, _)| n.kind == kind && n.subject == file)
            .map(|(n, fresh)| (n, *fresh))
    }
}

/// The key a passage's vector is stored under: its note's key (which changes with whatever the note
/// was written from) and its place in the note.
pub fn passage_key(note_key: &Digest, question: Option<usize>) -> Digest {
    let place = question.map_or(u64::MAX, |q| q as u64);
    DigestBuilder::new().part(b"embed-note-passage").part(&note_key.0).part(&place.to_le_bytes()).finish()
}

/// `(found + 1) / (named + 2)` over the symbols `note` names: found where the note says (in its file
/// for a file's notes, anywhere for a directory's or the workspace's).
fn reliability(note: &Note, snapshot: &Snapshot) -> f64 {
    let named = crate::sleep::prompt::named_symbols(&note.body);
    let file = note.kind.is_file_level().then_some(note.subject.as_str());
    let found = named.iter().filter(|name| super::grounding::is_defined(snapshot, name, file)).count();
    (found as f64 + 1.0) / (named.len() as f64 + 2.0)
}

/// A note's body as readable text (what goes into a prompt or a context item).
pub fn note_text(note: &Note) -> String {
    let body = &note.body;
    let mut out = String::new();
    let field = |name: &str| body[name].as_str().unwrap_or("").trim().to_string();
    let list = |name: &str| -> Vec<String> {
        body[name].as_array().into_iter().flatten().filter_map(|v| v.as_str().map(str::to_string)).collect()
    };
    let named = |name: &str| -> Vec<String> {
        body[name]
            .as_array()
            .into_iter()
            .flatten()
            .map(|v| format!("{}: {}", v["name"].as_str().unwrap_or(""), v["role"].as_str().unwrap_or("")))
            .collect()
    };
    match note.kind {
        NoteKind::FileSummary => {
            out.push_str(&field("purpose"));
            for symbol in named("key_symbols") {
                out.push_str(&format!("\n- {symbol}"));
            }
            for invariant in list("invariants") {
                out.push_str(&format!("\n- invariant: {invariant}"));
            }
            let used_by = field("used_by");
            if !used_by.is_empty() {
                out.push_str(&format!("\nUsed by: {used_by}"));
            }
        }
        NoteKind::Playbook => {
            for mode in body["failure_modes"].as_array().into_iter().flatten() {
                out.push_str(&format!(
                    "- {} (cause: {}; where: {})\n",
                    mode["symptom"].as_str().unwrap_or(""),
                    mode["cause"].as_str().unwrap_or(""),
                    mode["where"].as_str().unwrap_or("")
                ));
            }
            let breakpoints = list("breakpoints");
            if !breakpoints.is_empty() {
                out.push_str(&format!("Breakpoints: {}\n", breakpoints.join(", ")));
            }
            let tests = list("tests");
            if !tests.is_empty() {
                out.push_str(&format!("Tests: {}\n", tests.join(", ")));
            }
        }
        NoteKind::Questions => {
            for q in body["questions"].as_array().into_iter().flatten() {
                out.push_str(&format!(
                    "Q: {}\nA: {}\n",
                    q["question"].as_str().unwrap_or(""),
                    q["answer"].as_str().unwrap_or("")
                ));
            }
        }
        NoteKind::ModuleSummary => {
            out.push_str(&field("purpose"));
            for component in named("components") {
                out.push_str(&format!("\n- {component}"));
            }
        }
        NoteKind::Overview => {
            out.push_str(&field("summary"));
            for component in named("components") {
                out.push_str(&format!("\n- {component}"));
            }
            let flow = field("data_flow");
            if !flow.is_empty() {
                out.push_str(&format!("\nData flow: {flow}"));
            }
            let entry = list("entry_points");
            if !entry.is_empty() {
                out.push_str(&format!("\nEntry points: {}", entry.join(", ")));
            }
            let start = list("start_reading");
            if !start.is_empty() {
                out.push_str(&format!("\nStart reading: {}", start.join(", ")));
            }
        }
    }
    out.trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax::{Language, extract};
    use serde_json::json;
    use std::sync::Arc;

    fn note(kind: NoteKind, subject: &str, body: serde_json::Value) -> Note {
        Note {
            key: Digest::of(format!("{kind:?}{subject}{body}").as_bytes()),
            kind,
            subject: subject.into(),
            body,
            anchors: Vec::new(),
            provider: "p".into(),
            model: "m".into(),
            model_configured: "m".into(),
            prompt_tokens: 0,
            completion_tokens: 0,
            created_at_ns: 0,
        }
    }

    #[test]
    fn a_note_is_as_reliable_as_its_named_symbols_are_real_and_passages_have_stable_keys() {
        let source = "class Settings:\n    def load(self):\n        return 1\n";
        let snapshot = Snapshot::new(
            [(Arc::<str>::from("lib.py"), Arc::new(extract(source.as_bytes(), Language::Python)))]
                .into_iter()
                .collect(),
        );
        let grounded = note(
            NoteKind::FileSummary,
            "lib.py",
            json!({"purpose": "p", "key_symbols": [{"name": "Settings", "role": "r"}, {"name": "Settings.load()", "role": "r"}]}),
        );
        let invented = note(
            NoteKind::Questions,
            "lib.py",
            json!({"questions": [{"question": "What is it?", "answer": "a", "symbols": ["frob", "Widget"]}, {"question": "Why?", "answer": "b", "symbols": []}]}),
        );
        let silent = note(NoteKind::Playbook, "lib.py", json!({"failure_modes": [], "breakpoints": [], "tests": []}));
        let learned = LearnedContext::new(vec![grounded, invented, silent], &snapshot);
        // Every note here is stale (made-up keys match no planned job): halved.
        assert_eq!(learned.fresh, vec![false; 3]);
        assert_eq!(learned.reliability[0], 3.0 / 4.0 * 0.5, "both named symbols exist");
        assert_eq!(learned.reliability[1], 1.0 / 4.0 * 0.5, "none exists");
        assert_eq!(learned.reliability[2], 1.0 / 2.0 * 0.5, "names nothing: neither trusted nor distrusted");
        let keys: Vec<Digest> = learned.passages.iter().map(|p| p.key).collect();
        assert_eq!(keys.len(), 4, "a passage per summary and playbook, one per anticipated question");
        assert_eq!(keys.iter().collect::<std::collections::HashSet<_>>().len(), 4);
        assert_eq!(
            keys,
            LearnedContext::new(learned.notes.clone(), &snapshot).passages.iter().map(|p| p.key).collect::<Vec<_>>()
        );
        let items = learned.embedding_items();
        assert_eq!(items[1], (keys[1], "lib.py\nWhat is it?".to_string()), "a question is embedded as asked");
        assert_eq!(learned.passage_by_key(&keys[2]), Some(2));
    }
}
