//! The learned context as answering sees it: every stored note, whether it is fresh for the current
//! facts, its text for retrieval, and the anticipated questions indexed for matching.

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
}

#[derive(Debug, Default)]
pub struct LearnedContext {
    pub notes: Vec<Note>,
    /// Parallel to `notes`: the note's key still matches its inputs.
    pub fresh: Vec<bool>,
    pub passages: Vec<Passage>,
    pub bm25: Bm25,
    /// Indexes into `passages` of anticipated questions, and a BM25 over the questions alone.
    pub questions: Vec<usize>,
    pub questions_bm25: Bm25,
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
                            text: format!(
                                "Q: {}\nA: {}",
                                item["question"].as_str().unwrap_or(""),
                                item["answer"].as_str().unwrap_or("")
                            ),
                        });
                    }
                }
                _ => passages.push(Passage { note: i, question: None, text: note_text(note) }),
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
        LearnedContext { notes, fresh, passages, bm25, questions, questions_bm25 }
    }

    pub fn is_empty(&self) -> bool {
        self.notes.is_empty()
    }

    /// The fresh file summary of `file`, for hover cards.
    pub fn summary_of(&self, file: &str) -> Option<(&Note, bool)> {
        self.notes
            .iter()
            .zip(&self.fresh)
            .find(|(n, _)| n.kind == NoteKind::FileSummary && n.subject == file)
            .map(|(n, fresh)| (n, *fresh))
    }
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
