//! A question → ranked, cited context from facts.
//!
//! Candidates, strongest first: error-message sites whose literal text the question quotes (people
//! paste error messages and tracebacks); definitions the question names; then definitions ranked by
//! PageRank personalized to the open file and the named identifiers (aider's repo-map idea). At most
//! `MAX_PER_FILE` items per file; the token budget is filled greedily; every item cites path and lines.

use crate::graph::{self, Focus};
use crate::snapshot::Snapshot;
use crate::syntax::facts::{Definition, ErrorSite};
use crate::tokens::estimate_tokens;
use serde::Serialize;
use std::collections::{HashMap, HashSet};
use std::fmt::Write;

const MAX_PER_FILE: usize = 3;
/// Error-message fragments shorter than this are too generic to match on.
const MIN_MESSAGE_FRAGMENT: usize = 12;

#[derive(Clone, Debug, Default)]
pub struct Question {
    pub text: String,
    /// The file open in the editor, by key.
    pub focus_file: Option<String>,
    /// The 0-based line of the cursor in `focus_file`.
    pub focus_line: Option<u32>,
    /// Most tokens the context may take.
    pub budget: usize,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ContextItem {
    pub path: String,
    /// 1-based, inclusive.
    pub start_line: u32,
    pub end_line: u32,
    /// `error-site`, `definition`, `ranked-definition`.
    pub kind: String,
    pub score: f64,
    pub tokens: usize,
    /// Why this item is here, in a few words.
    pub reason: String,
    /// The text shown for it (signature, doc, message).
    pub text: String,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Usage {
    pub test_prompt_tokens: u64,
    pub test_completion_tokens: u64,
    pub llm_calls: u32,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Answer {
    pub answer: String,
    /// `context`: no model was asked; the answer is the ranked context itself.
    pub source: String,
    pub context: Vec<ContextItem>,
    pub usage: Usage,
}

/// Identifier-like words of `text` (`load_settings`, `Store`, parts of `a.b.c`), in order, once each.
pub fn identifiers_in(text: &str) -> Vec<String> {
    let mut seen = HashSet::new();
    text.split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|w| w.chars().next().is_some_and(|c| c.is_alphabetic() || c == '_'))
        .filter(|w| seen.insert(w.to_string()))
        .map(str::to_string)
        .collect()
}

pub fn answer_from_facts(snapshot: &Snapshot, question: &Question) -> Answer {
    let named: Vec<String> =
        identifiers_in(&question.text).into_iter().filter(|w| snapshot.definitions_by_name.contains_key(w)).collect();
    let mut candidates: Vec<ContextItem> = Vec::new();

    // 1. Error messages quoted in the question.
    for (key, facts) in &snapshot.files {
        for site in &facts.error_sites {
            if let Some(matched) = longest_quoted_fragment(&site.message, &question.text) {
                candidates.push(error_item(
                    key,
                    site,
                    facts.definitions.get(site.definition.unwrap_or(u32::MAX) as usize),
                    10.0 + matched as f64 / 100.0,
                ));
            }
        }
    }
    // 2. Definitions the question names, by how specific the name is.
    for name in &named {
        let defs = snapshot.definitions_named(name, question.focus_file.as_deref());
        let specificity = graph::identifier_weight(name, defs.len());
        for (key, index) in defs.iter().take(MAX_PER_FILE * 2) {
            let def = &snapshot.files[key].definitions[*index as usize];
            candidates.push(definition_item(
                key,
                def,
                "definition",
                format!("`{name}` is named in the question"),
                5.0 + specificity.min(10.0) / 10.0 + snapshot.file_rank(key),
            ));
        }
    }
    // 3. The graph, personalized to the open file and the named identifiers.
    let focus = Focus { files: question.focus_file.iter().cloned().collect(), identifiers: named.clone() };
    let ranking = graph::rank(&snapshot.graph, &focus);
    for (file, name, score) in ranking.definitions.iter().take(200) {
        let key = &snapshot.graph.files[*file as usize];
        if let Some((key, facts)) = snapshot.files.get_key_value(key.as_str()) {
            for def in facts.definitions.iter().filter(|d| &d.name == name) {
                candidates.push(definition_item(
                    key,
                    def,
                    "ranked-definition",
                    "central to the code around your question".into(),
                    *score,
                ));
            }
        }
    }
    // The open file's enclosing definition at the cursor.
    if let (Some(key), Some(line)) = (&question.focus_file, question.focus_line)
        && let Some((key, facts)) = snapshot.files.get_key_value(key.as_str())
        && let Some(def) = facts
            .definitions
            .iter()
            .filter(|d| d.span.start.line <= line && line <= d.span.end.line)
            .min_by_key(|d| d.span.end.line - d.span.start.line)
        {
            // First for "what does this do?"; after the symbols a question names explicitly.
            let score = if named.is_empty() { 20.0 } else { 4.5 };
            candidates.push(definition_item(key, def, "definition", "where your cursor is".into(), score));
        }

    let context = select(candidates, question.budget);
    Answer {
        answer: render_answer(&question.text, &context),
        source: "context".into(),
        context,
        usage: Usage::default(),
    }
}

/// Best first, one item per location, at most `MAX_PER_FILE` per file, within `budget` tokens.
fn select(mut candidates: Vec<ContextItem>, budget: usize) -> Vec<ContextItem> {
    candidates.sort_by(|a, b| {
        b.score.total_cmp(&a.score).then_with(|| (&a.path, a.start_line).cmp(&(&b.path, b.start_line)))
    });
    let mut seen: HashSet<(String, u32)> = HashSet::new();
    let mut per_file: HashMap<String, usize> = HashMap::new();
    let mut used = 0;
    let mut out = Vec::new();
    for item in candidates {
        if !seen.insert((item.path.clone(), item.start_line)) {
            continue;
        }
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

fn definition_item(key: &str, def: &Definition, kind: &str, reason: String, score: f64) -> ContextItem {
    let mut text = def.signature.clone();
    if let Some(doc) = &def.doc {
        let first = doc.split("\n\n").next().unwrap_or(doc);
        let _ = write!(text, "\n{}", first.trim());
    }
    let (start_line, end_line) = def.span.lines_1based();
    let tokens = estimate_tokens(&text) + estimate_tokens(key) + 4;
    ContextItem {
        path: key.to_string(),
        start_line,
        end_line,
        kind: kind.into(),
        score,
        tokens,
        reason: format!("{} `{}`: {reason}", def.kind.name(), def.name),
        text,
    }
}

fn error_item(key: &str, site: &ErrorSite, within: Option<&Definition>, score: f64) -> ContextItem {
    let (start_line, end_line) = site.span.lines_1based();
    let text = format!("{} \"{}\"", site.kind.name(), site.message);
    let reason = match within {
        Some(def) => format!("the error message in your question is produced here, in `{}`", def.name),
        None => "the error message in your question is produced here".into(),
    };
    let tokens = estimate_tokens(&text) + estimate_tokens(key) + 4;
    ContextItem { path: key.to_string(), start_line, end_line, kind: "error-site".into(), score, tokens, reason, text }
}

/// The length of the longest literal fragment of `message` (split at format placeholders such as
/// `{x}`, `%s`, `%(name)r`) that occurs in `question`, if it is long enough to be telling.
fn longest_quoted_fragment(message: &str, question: &str) -> Option<usize> {
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

fn render_answer(question: &str, context: &[ContextItem]) -> String {
    let mut out = String::new();
    if context.is_empty() {
        let _ = writeln!(
            out,
            "reverie found nothing in this workspace's facts that matches \"{}\". Try naming a function, class or file, or paste the error message.",
            question.trim()
        );
        return out;
    }
    let _ = writeln!(
        out,
        "No model is configured, so this is the context reverie would give one: what to read, best first.\n"
    );
    for (i, item) in context.iter().enumerate() {
        let lines = if item.start_line == item.end_line {
            format!("{}", item.start_line)
        } else {
            format!("{}-{}", item.start_line, item.end_line)
        };
        let _ = writeln!(out, "{}. `{}:{}` — {}", i + 1, item.path, lines, item.reason);
        let _ = writeln!(out, "   ```\n   {}\n   ```", item.text.replace('\n', "\n   "));
    }
    out
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
