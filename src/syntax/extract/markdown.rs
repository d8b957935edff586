//! Markdown's own extraction: prose with inline markup (an `@inline` capture) names code. A code
//! span that is an identifier path is a reference to each identifier, one that names a file is an
//! import, and so is a link to a relative target; TODO/FIXME lines are todos. reStructuredText's
//! ``literals`` follow the same code-span rule (`code_span`).

use super::source::span_at;
use super::todos::todo_in_line;
use crate::syntax::Language;
use crate::syntax::facts::{Import, Name, RefKind, Reference, Todo};

/// Scans prose (a Markdown `inline` node, `bytes[start..end]`) for what names code: a code span that
/// looks like an identifier path (`SessionStore::load`, `verify_cookie()`, `cfg.max_age`) is a
/// reference to each of its identifiers; one that names a file (`reverie.toml`) and a link to a
/// relative target (`[loader](src/config.rs#L10)`) are imports. TODO/FIXME lines become todos.
pub(super) fn scan_inline(
    bytes: &[u8],
    start: usize,
    end: usize,
    line_starts: &[usize],
    references: &mut Vec<Reference>,
    imports: &mut Vec<Import>,
    todos: &mut Vec<Todo>,
) {
    let text = String::from_utf8_lossy(&bytes[start..end]);
    let span_of = |from: usize, to: usize| span_at(line_starts, from, to);
    let mut at = 0;
    while let Some(found) = text[at..].find(['`', '[']) {
        let open = at + found;
        if text[open..].starts_with('`') {
            let ticks = text[open..].chars().take_while(|&c| c == '`').count();
            let fence = "`".repeat(ticks);
            let Some(close) = text[open + ticks..].find(&fence) else { break };
            let content_start = open + ticks;
            let content = &text[content_start..content_start + close];
            let offset = start + content_start + (content.len() - content.trim_start().len());
            code_span(content.trim(), offset, line_starts, references, imports);
            at = content_start + close + ticks;
        } else {
            // [text](target): the text may hold code spans of its own, so only the target is skipped.
            let Some(close) = text[open..].find("](") else {
                at = open + 1;
                continue;
            };
            let target_start = open + close + 2;
            let Some(target_len) = text[target_start..].find(')') else { break };
            let target = text[target_start..target_start + target_len].trim();
            let path = target.split(['#', ' ']).next().unwrap_or("");
            let external = path.contains("://") || path.starts_with("mailto:") || path.is_empty();
            if !external {
                let from = start + target_start;
                imports.push(Import { path: path.to_string(), span: span_of(from, from + path.len()) });
            }
            // Scan the link text too (for code spans), then continue after the target.
            let label = &text[open + 1..open + close];
            if label.contains('`') {
                scan_inline(bytes, start + open + 1, start + open + close, line_starts, references, imports, todos);
            }
            at = target_start + target_len + 1;
        }
    }
    let first_line = line_starts.partition_point(|&s| s <= start).saturating_sub(1) as u32;
    for (offset, line) in text.lines().enumerate() {
        if let Some(todo) = todo_in_line(line, first_line + offset as u32) {
            todos.push(todo);
        }
    }
}

/// A code span's content (`trimmed`, at byte `offset` of the file): an import if it names a file, a
/// reference to each identifier if it is an identifier path, nothing otherwise.
pub(super) fn code_span(
    trimmed: &str,
    offset: usize,
    line_starts: &[usize],
    references: &mut Vec<Reference>,
    imports: &mut Vec<Import>,
) {
    if names_a_file(trimmed) {
        imports.push(Import { path: trimmed.to_string(), span: span_at(line_starts, offset, offset + trimmed.len()) });
    } else if let Some(segments) = identifier_path(trimmed) {
        for (segment_at, segment) in segments {
            let from = offset + segment_at;
            references.push(Reference {
                name: Name::new(segment),
                kind: RefKind::Name,
                span: span_at(line_starts, from, from + segment.len()),
            });
        }
    }
}

/// `reverie.toml`, `src/config.rs`: a code span naming a file of a language reverie keeps.
fn names_a_file(span: &str) -> bool {
    !span.contains(char::is_whitespace)
        && span.rsplit_once('.').is_some_and(|(stem, ext)| !stem.is_empty() && Language::from_extension(ext).is_some())
}

/// The identifiers of a code span that is an identifier path (`a::b`, `a.b`, `a->b`, `a#b`, an
/// optional trailing `()`), with their byte offsets; `None` for anything else (commands, snippets).
pub(super) fn identifier_path(span: &str) -> Option<Vec<(usize, &str)>> {
    let body = span.strip_suffix("()").unwrap_or(span);
    if body.is_empty() || body.len() > 120 {
        return None;
    }
    let mut segments = Vec::new();
    let mut at = 0;
    let bytes = body.as_bytes();
    loop {
        let start = at;
        while at < bytes.len() && (bytes[at].is_ascii_alphanumeric() || bytes[at] == b'_') {
            at += 1;
        }
        if at == start || bytes[start].is_ascii_digit() {
            return None;
        }
        segments.push((start, &body[start..at]));
        if at == bytes.len() {
            return Some(segments);
        }
        let rest = &body[at..];
        let separator = ["::", "->", ".", "#"].iter().find(|sep| rest.starts_with(**sep))?;
        at += separator.len();
    }
}
