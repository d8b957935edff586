//! A question → ranked, cited context, fused from several rankers with reciprocal rank fusion
//! (k = 60, as Tabby does):
//!
//! 1. error-message sites whose literal text the question quotes (people paste tracebacks);
//! 2. definitions the question names exactly;
//! 3. BM25 over facts (definition names, signatures, docs, paths, error messages);
//! 4. BM25 over the learned context (summaries, playbooks, anticipated questions and answers);
//! 5. PageRank personalized to the open file and the named identifiers;
//! 6. the definition under the cursor.
//!
//! Rankings by relevance (3–5, and 2 for names that are plain words) are scaled by the file's prior
//! (`prior.rs`: vendored and minified code counts less); what the question points at itself (1, 2
//! for code-shaped names, 6) is not.
//! Items are keyed by location; at most `MAX_PER_FILE` per file; the budget is filled greedily in
//! fused order; every item cites path and lines. `rank_files` exposes the fused file order for
//! measurements.

use super::learned::{LearnedContext, note_text};
use super::{ContextItem, Question};
use crate::graph::{self, Focus};
use crate::search::{FactDoc, prior, tokenize};
use crate::sleep::NoteKind;
use crate::snapshot::Snapshot;
use crate::syntax::facts::{Definition, ErrorSite};
use crate::tokens::estimate_tokens;
use std::collections::{HashMap, HashSet};

const RRF_K: f64 = 60.0;
pub const MAX_PER_FILE: usize = 3;
/// Error-message fragments shorter than this are too generic to match on.
const MIN_MESSAGE_FRAGMENT: usize = 12;
/// Candidates taken from each ranker.
const PER_RANKER: usize = 100;

/// Which rankers to use (all by default; measurements switch some off).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rankers {
    pub facts: bool,
    pub notes: bool,
    pub graph: bool,
}

impl Default for Rankers {
    fn default() -> Self {
        Rankers { facts: true, notes: true, graph: true }
    }
}

/// Identifier-like words of `text`, in order, once each.
pub fn identifiers_in(text: &str) -> Vec<String> {
    let mut seen = HashSet::new();
    text.split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|w| w.chars().next().is_some_and(|c| c.is_alphabetic() || c == '_'))
        .filter(|w| seen.insert(w.to_string()))
        .map(str::to_string)
        .collect()
}

/// Identifiers of the question that name definitions in the workspace.
pub fn named_definitions(snapshot: &Snapshot, question: &str) -> Vec<String> {
    identifiers_in(question)
        .into_iter()
        .filter(|w| w.len() > 2 && snapshot.definitions_by_name.contains_key(w))
        .collect()
}

/// Fused candidates, best first, before budgeting.
pub fn candidates(
    snapshot: &Snapshot,
    learned: Option<&LearnedContext>,
    question: &Question,
    rankers: Rankers,
) -> Vec<ContextItem> {
    let mut lists: Vec<Ranked> = Vec::new();
    let named = named_definitions(snapshot, &question.text);
    let tokens = tokenize(&question.text);

    if rankers.facts {
        // 1. Quoted error messages.
        let mut errors = Vec::new();
        for (key, facts) in &snapshot.files {
            for site in &facts.error_sites {
                if let Some(matched) = longest_quoted_fragment(&site.message, &question.text) {
                    let within = site.definition.and_then(|d| facts.definitions.get(d as usize));
                    errors.push((matched, error_item(key, site, within)));
                }
            }
        }
        errors.sort_by_key(|e| std::cmp::Reverse(e.0));
        lists.push(Ranked::asked_for(2.0, errors.into_iter().map(|(_, item)| item).collect()));

        // 2. Named definitions, the most specific names first.
        // A code-shaped name (`load_settings`, `readFile`) is the question pointing at that symbol; a
        // plain word that happens to name a definition ("settings") is only relevance.
        let (mut exact, mut plain) = (Vec::new(), Vec::new());
        let mut by_specificity: Vec<&String> = named.iter().collect();
        by_specificity.sort_by(|a, b| {
            let wa = graph::identifier_weight(a, snapshot.definitions_by_name[*a].len());
            let wb = graph::identifier_weight(b, snapshot.definitions_by_name[*b].len());
            wb.total_cmp(&wa)
        });
        for name in by_specificity {
            for (key, index) in
                snapshot.definitions_named(name, question.focus_file.as_deref()).iter().take(MAX_PER_FILE * 2)
            {
                let def = &snapshot.files[key].definitions[*index as usize];
                let item = definition_item(key, def, "definition", format!("`{name}` is named in the question"));
                if is_code_shaped(name) { exact.push(item) } else { plain.push(item) }
            }
        }
        lists.push(Ranked::asked_for(1.5, exact));
        lists.push(Ranked::by_relevance(1.5, plain));

        // 3. BM25 over facts.
        let index = snapshot.facts_index();
        let hits = index.bm25.search(&tokens, PER_RANKER);
        let items = hits
            .into_iter()
            .filter_map(|(doc, _)| match &index.docs[doc as usize] {
                FactDoc::Definition { file, index } => {
                    let def = &snapshot.files.get(file)?.definitions[*index as usize];
                    Some(definition_item(file, def, "definition", "matches the words of the question".into()))
                }
                FactDoc::ErrorSite { file, index } => {
                    let facts = snapshot.files.get(file)?;
                    let site = &facts.error_sites[*index as usize];
                    Some(error_item(file, site, site.definition.and_then(|d| facts.definitions.get(d as usize))))
                }
            })
            .collect();
        lists.push(Ranked::by_relevance(1.0, items));
    }

    // 4. BM25 over the learned context.
    if rankers.notes
        && let Some(learned) = learned.filter(|l| !l.is_empty())
    {
        let hits = learned.bm25.search(&tokens, PER_RANKER);
        let items = hits.into_iter().map(|(p, _)| passage_item(learned, p as usize, snapshot)).collect();
        lists.push(Ranked::by_relevance(1.2, items));
    }

    // 5. The graph, personalized.
    if rankers.graph {
        let focus = Focus { files: question.focus_file.iter().cloned().collect(), identifiers: named.clone() };
        let ranking = graph::rank(&snapshot.graph, &focus);
        let mut items = Vec::new();
        for (file, name, _) in ranking.definitions.iter().take(PER_RANKER) {
            let key = &snapshot.graph.files[*file as usize];
            if let Some((key, facts)) = snapshot.files.get_key_value(key.as_str()) {
                for def in facts.definitions.iter().filter(|d| &d.name == name).take(2) {
                    items.push(definition_item(
                        key,
                        def,
                        "ranked-definition",
                        "central to the code around your question".into(),
                    ));
                }
            }
        }
        lists.push(Ranked::by_relevance(0.5, items));
    }

    // 6. The definition under the cursor.
    if let (Some(key), Some(line)) = (&question.focus_file, question.focus_line)
        && let Some((key, facts)) = snapshot.files.get_key_value(key.as_str())
        && let Some(def) = facts
            .definitions
            .iter()
            .filter(|d| d.span.start.line <= line && line <= d.span.end.line)
            .min_by_key(|d| d.span.end.line - d.span.start.line)
    {
        // First for "what does this do?"; after the symbols a question names.
        let weight = if named.is_empty() { 3.0 } else { 0.8 };
        lists.push(Ranked::asked_for(
            weight,
            vec![definition_item(key, def, "definition", "where your cursor is".into())],
        ));
    }

    fuse(lists)
}

/// Whether `name` looks like code rather than a word: an underscore, a capital after the first
/// letter, or a digit.
fn is_code_shaped(name: &str) -> bool {
    name.contains('_') || name.chars().skip(1).any(char::is_uppercase) || name.chars().any(|c| c.is_ascii_digit())
}

/// One ranker's list for `fuse`.
struct Ranked {
    weight: f64,
    items: Vec<ContextItem>,
    /// Scale each item by its file's prior (`prior.rs`). Lists of what the question itself points at
    /// (a quoted error, a named symbol, the cursor) are taken at their word.
    with_prior: bool,
}

impl Ranked {
    fn by_relevance(weight: f64, items: Vec<ContextItem>) -> Ranked {
        Ranked { weight, items, with_prior: true }
    }

    fn asked_for(weight: f64, items: Vec<ContextItem>) -> Ranked {
        Ranked { weight, items, with_prior: false }
    }
}

/// Reciprocal rank fusion of weighted lists; an item's location identifies it across lists.
fn fuse(lists: Vec<Ranked>) -> Vec<ContextItem> {
    let mut scores: HashMap<(String, u32, u32), (f64, ContextItem)> = HashMap::new();
    for Ranked { weight, items, with_prior } in lists {
        let mut seen = HashSet::new();
        for (rank, item) in items.into_iter().enumerate() {
            let id = (item.path.clone(), item.start_line, item.end_line);
            if !seen.insert(id.clone()) {
                continue;
            }
            let prior = if with_prior { prior::file_weight(&item.path) } else { 1.0 };
            let add = weight * prior / (RRF_K + rank as f64 + 1.0);
            match scores.get_mut(&id) {
                Some((score, existing)) => {
                    *score += add;
                    // Keep the more informative description (learned text over a bare signature).
                    if existing.kind != "note" && item.kind == "note" {
                        *existing = item;
                    }
                }
                None => {
                    scores.insert(id, (add, item));
                }
            }
        }
    }
    let mut fused: Vec<ContextItem> = scores
        .into_values()
        .map(|(score, mut item)| {
            item.score = score;
            item
        })
        .collect();
    fused.sort_by(|a, b| {
        b.score.total_cmp(&a.score).then_with(|| (&a.path, a.start_line).cmp(&(&b.path, b.start_line)))
    });
    fused
}

/// Best first, at most `MAX_PER_FILE` per file, within `budget` tokens.
pub fn select(candidates: Vec<ContextItem>, budget: usize) -> Vec<ContextItem> {
    let mut per_file: HashMap<String, usize> = HashMap::new();
    let mut used = 0;
    let mut out = Vec::new();
    for item in candidates {
        let count = per_file.entry(item.path.clone()).or_insert(0);
        if *count >= MAX_PER_FILE || used + item.tokens > budget {
            continue;
        }
        *count += 1;
        used += item.tokens;
        out.push(item);
    }
    out
}

/// The fused order of files (first appearance), for retrieval measurements.
pub fn rank_files(candidates: &[ContextItem]) -> Vec<String> {
    let mut seen = HashSet::new();
    candidates.iter().filter(|c| seen.insert(c.path.clone())).map(|c| c.path.clone()).collect()
}

/// The text shown for items of files that look like they hold secrets (it may reach a model).
const WITHHELD: &str = "(withheld: the file looks like it holds secrets)";

fn is_secret(key: &str) -> bool {
    crate::redact::is_secret_file(std::path::Path::new(key))
}

fn definition_item(key: &str, def: &Definition, kind: &str, reason: String) -> ContextItem {
    let mut text = if is_secret(key) { WITHHELD.to_string() } else { def.signature.clone() };
    if let Some(doc) = def.doc.as_ref().filter(|_| !is_secret(key)) {
        let first = doc.split("\n\n").next().unwrap_or(doc);
        text.push('\n');
        text.push_str(first.trim());
    }
    let (start_line, end_line) = def.span.lines_1based();
    let tokens = estimate_tokens(&text) + estimate_tokens(key) + 4;
    let reason = if is_secret(key) {
        format!("a {} in a file that looks like it holds secrets", def.kind.name())
    } else {
        format!("{} `{}`: {reason}", def.kind.name(), def.name)
    };
    ContextItem {
        path: key.to_string(),
        start_line,
        end_line,
        kind: kind.into(),
        score: 0.0,
        tokens,
        reason,
        text,
        stale: false,
    }
}

fn error_item(key: &str, site: &ErrorSite, within: Option<&Definition>) -> ContextItem {
    let (start_line, end_line) = site.span.lines_1based();
    let text = if is_secret(key) { WITHHELD.to_string() } else { format!("{} \"{}\"", site.kind.name(), site.message) };
    let reason = match within.filter(|_| !is_secret(key)) {
        Some(def) => format!("this error message is produced here, in `{}`", def.name),
        None => "this error message is produced here".into(),
    };
    let tokens = estimate_tokens(&text) + estimate_tokens(key) + 4;
    ContextItem {
        path: key.to_string(),
        start_line,
        end_line,
        kind: "error-site".into(),
        score: 0.0,
        tokens,
        reason,
        text,
        stale: false,
    }
}

/// A learned passage as a context item, cited at its note's first anchor (or its file).
fn passage_item(learned: &LearnedContext, passage: usize, snapshot: &Snapshot) -> ContextItem {
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
    let tokens = estimate_tokens(&text) + estimate_tokens(&path) + 4;
    ContextItem {
        path,
        start_line,
        end_line,
        kind: "note".into(),
        score: 0.0,
        tokens,
        reason: format!("{what}{}", if fresh { "" } else { " (stale: the code changed since it was written)" }),
        text,
        stale: !fresh,
    }
}

fn file_end(snapshot: &Snapshot, key: &str) -> u32 {
    snapshot.files.get(key).map_or(1, |f| f.line_count.max(1))
}

/// The length of the longest literal fragment of `message` (split at format placeholders such as
/// `{x}`, `%s`, `%(name)r`) that occurs in `question`, if it is long enough to be telling.
pub fn longest_quoted_fragment(message: &str, question: &str) -> Option<usize> {
    let mut fragments: Vec<String> = Vec::new();
    let mut current = String::new();
    let mut chars = message.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' => {
                fragments.push(std::mem::take(&mut current));
                for c in chars.by_ref() {
                    if c == '}' {
                        break;
                    }
                }
            }
            '%' if chars.peek().is_some_and(|n| n.is_ascii_alphabetic() || *n == '(') => {
                fragments.push(std::mem::take(&mut current));
                if chars.peek() == Some(&'(') {
                    for c in chars.by_ref() {
                        if c == ')' {
                            break;
                        }
                    }
                }
                chars.next();
            }
            _ => current.push(c),
        }
    }
    fragments.push(current);
    fragments
        .iter()
        .map(|f| f.trim())
        .filter(|f| f.len() >= MIN_MESSAGE_FRAGMENT && question.contains(f))
        .map(str::len)
        .max()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_split_and_deduplicated() {
        assert_eq!(
            identifiers_in("Why does store.open_db() fail? open_db again, 42x"),
            vec!["Why", "does", "store", "open_db", "fail", "again"]
        );
    }

    #[test]
    fn error_messages_match_across_placeholders() {
        assert_eq!(
            longest_quoted_fragment("no such table: {name} in database", "I get `no such table: users in database`"),
            Some(14)
        );
        assert_eq!(
            longest_quoted_fragment("Bad value %r for field %(field)s", "Bad value 'x' for field"),
            None,
            "fragments too short"
        );
        assert_eq!(
            longest_quoted_fragment("settings path must not be empty", "ValueError: settings path must not be empty"),
            Some(31)
        );
    }
}
