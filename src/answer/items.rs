//! The context items built from facts and notes, each one way, shared by the general ranking
//! (`retrieve.rs`) and the context centred on a symbol (`subject.rs`): any item from its place, kind,
//! reason and text; a definition; an error site; a learned passage.
//!
//! Guarantees: every item cites its path and lines, and its token count covers its text, its path and
//! the citation; an item of a file that looks like it holds secrets (`redact::is_secret_file`) shows
//! `WITHHELD` instead of its text and names no symbol in its reason. Items come unscored (0): the
//! ranking scores them.

use super::learned::{LearnedContext, note_text};
use super::{ContextItem, ItemKind};
use crate::sleep::NoteKind;
use crate::snapshot::Snapshot;
use crate::syntax::facts::{Definition, ErrorSite};
use crate::tokens::estimate_tokens;

/// The text shown for items of files that look like they hold secrets (it may reach a model).
pub(super) const WITHHELD: &str = "(withheld: the file looks like it holds secrets)";

/// Whether the file `key` looks like it holds secrets, so its items show no text.
pub(super) fn is_secret(key: &str) -> bool {
    crate::redact::is_secret_file(std::path::Path::new(key))
}

/// The tokens an item with `text` at `path` takes in a prompt: its text, its path and the citation.
pub(super) fn tokens_of(path: &str, text: &str) -> usize {
    estimate_tokens(text) + estimate_tokens(path) + 4
}

/// An unscored item at lines `start_line..=end_line` of `path`.
pub(super) fn item(
    path: &str,
    start_line: u32,
    end_line: u32,
    kind: ItemKind,
    reason: String,
    text: String,
) -> ContextItem {
    let tokens = tokens_of(path, &text);
    ContextItem { path: path.to_string(), start_line, end_line, kind, score: 0.0, tokens, reason, text, stale: false }
}

/// A definition of a file that looks like it holds secrets: `WITHHELD`, and only its kind in the reason.
pub(super) fn withheld_definition(key: &str, def: &Definition, kind: ItemKind) -> ContextItem {
    let (start_line, end_line) = def.span.lines_1based();
    let reason = format!("a {} in a file that looks like it holds secrets", def.kind.name());
    item(key, start_line, end_line, kind, reason, WITHHELD.into())
}

/// A definition as the ranking shows it: its signature and the first paragraph of its doc, whole; the
/// reason names it (`function `get_app`: {reason}`).
pub(super) fn definition_item(key: &str, def: &Definition, kind: ItemKind, reason: String) -> ContextItem {
    if is_secret(key) {
        return withheld_definition(key, def, kind);
    }
    let mut text = def.signature.clone();
    if let Some(doc) = def.doc.as_ref() {
        let first = doc.split("\n\n").next().unwrap_or(doc);
        text.push('\n');
        text.push_str(first.trim());
    }
    let (start_line, end_line) = def.span.lines_1based();
    item(key, start_line, end_line, kind, format!("{} `{}`: {reason}", def.kind.name(), def.name), text)
}

/// An error site: its kind and message (`raise ValueError "…"`), for `reason`.
pub(super) fn error_item(key: &str, site: &ErrorSite, reason: String) -> ContextItem {
    let (start_line, end_line) = site.span.lines_1based();
    let text = if is_secret(key) { WITHHELD.to_string() } else { format!("{} \"{}\"", site.kind.name(), site.message) };
    item(key, start_line, end_line, ItemKind::ErrorSite, reason, text)
}

/// A learned passage as a context item, cited at its note's first anchor (or its file).
pub(super) fn passage_item(learned: &LearnedContext, passage: usize, snapshot: &Snapshot) -> ContextItem {
    let p = &learned.passages[passage];
    let note = &learned.notes[p.note];
    let fresh = learned.fresh[p.note];
    let text = match p.question {
        Some(_) => p.text.clone(),
        None => note_text(note),
    };
    let anchor = match p.question {
        Some(q) => {
            let symbols: Vec<&str> = note.body["questions"][q]["symbols"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|s| s.as_str())
                .collect();
            note.anchors
                .iter()
                .find(|a| a.symbol.as_deref().is_some_and(|s| symbols.contains(&s)))
                .or(note.anchors.first())
        }
        None => note.anchors.first(),
    };
    let (path, start_line, end_line) = match anchor {
        Some(a) if note.kind.is_file_level() => (
            a.path.clone(),
            1.max(if p.question.is_some() { a.start_line } else { 1 }),
            if p.question.is_some() { a.end_line } else { file_end(snapshot, &a.path) },
        ),
        _ if note.kind.is_file_level() => (note.subject.clone(), 1, file_end(snapshot, &note.subject)),
        _ => (if note.subject.is_empty() { ".".to_string() } else { note.subject.clone() }, 1, 1),
    };
    let what = match (note.kind, p.question) {
        (NoteKind::Questions, Some(_)) => "an anticipated question",
        (NoteKind::FileSummary, _) => "the learned summary",
        (NoteKind::Playbook, _) => "the debugging playbook",
        (NoteKind::ModuleSummary, _) => "the directory's summary",
        (NoteKind::Overview, _) => "the architecture overview",
        (NoteKind::Questions, None) => "anticipated questions",
    };
    let reason = format!("{what}{}", if fresh { "" } else { " (stale: the code changed since it was written)" });
    ContextItem { stale: !fresh, ..item(&path, start_line, end_line, ItemKind::Note, reason, text) }
}

/// The last line of the file `key` (1 when it is not in the snapshot or empty).
pub(super) fn file_end(snapshot: &Snapshot, key: &str) -> u32 {
    snapshot.files.get(key).map_or(1, |f| f.line_count.max(1))
}
