//! The source's text and positions: a node's text and span, spans from byte offsets, line counts,
//! and string literals and whitespace cut to size. Shared by every part of extraction.

use super::MAX_MESSAGE_BYTES;
use crate::syntax::facts::{Point, Span};
use tree_sitter::Node;

/// The span of `bytes[from..to]`, its points from the file's `line_starts`.
pub(super) fn span_at(line_starts: &[usize], from: usize, to: usize) -> Span {
    let point = |at: usize| {
        let line = line_starts.partition_point(|&s| s <= at).saturating_sub(1);
        Point { line: line as u32, column: (at - line_starts[line]) as u32 }
    };
    Span { start_byte: from as u32, end_byte: to as u32, start: point(from), end: point(to) }
}

pub(super) fn text<'a>(bytes: &'a [u8], node: Node) -> std::borrow::Cow<'a, str> {
    String::from_utf8_lossy(&bytes[node.start_byte()..node.end_byte()])
}

pub(super) fn span(node: Node) -> Span {
    let start = node.start_position();
    let end = node.end_position();
    Span {
        start_byte: node.start_byte() as u32,
        end_byte: node.end_byte() as u32,
        start: Point { line: start.row as u32, column: start.column as u32 },
        end: Point { line: end.row as u32, column: end.column as u32 },
    }
}

/// The node's span without trailing line breaks (a `#define` node ends at the start of the next line).
pub(super) fn trimmed_span(bytes: &[u8], node: Node) -> Span {
    let mut span = span(node);
    let mut end = span.end_byte as usize;
    while end > span.start_byte as usize && matches!(bytes[end - 1], b'\n' | b'\r') {
        end -= 1;
    }
    if end < span.end_byte as usize {
        let line_start = bytes[..end].iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        let line =
            span.start.line + bytes[span.start_byte as usize..end].iter().filter(|&&b| b == b'\n').count() as u32;
        span.end = Point { line, column: (end - line_start) as u32 };
        span.end_byte = end as u32;
    }
    span
}

pub(super) fn count_lines(bytes: &[u8]) -> u32 {
    if bytes.is_empty() {
        return 0;
    }
    let newlines = memchr::memchr_iter(b'\n', bytes).count() as u32;
    if bytes.ends_with(b"\n") { newlines } else { newlines + 1 }
}

pub(super) fn line_starts(bytes: &[u8]) -> Vec<usize> {
    std::iter::once(0).chain(memchr::memchr_iter(b'\n', bytes).map(|i| i + 1)).collect()
}

/// Cuts `s` to at most `max` bytes on a char boundary, marking the cut with `…`.
pub(super) fn truncate(mut s: String, max: usize) -> String {
    if s.len() > max {
        let mut cut = max;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
        s.push('…');
    }
    s
}

pub(super) fn collapse_whitespace(s: &str, max: usize) -> String {
    truncate(s.split_whitespace().collect::<Vec<_>>().join(" "), max)
}

/// The text of a string literal without its prefix (`r`, `b`, `f`, `u`, `@`, `L`, ...), raw-string
/// hashes and quotes: `f"no such key {k!r}"` → `no such key {k!r}`. Anything else is returned trimmed.
pub(super) fn literal_text(literal: &str, max: usize) -> String {
    let trimmed = literal.trim();
    let body = match trimmed.find(['"', '\'', '`']) {
        Some(quote_at) if trimmed[..quote_at].chars().all(|c| c.is_ascii_alphabetic() || c == '#' || c == '@') => {
            let inner = trimmed[quote_at..].trim_end_matches('#');
            let quote = inner.chars().next().unwrap_or('"');
            let run = inner.chars().take_while(|&c| c == quote).count().min(3);
            let run = if run == 2 && inner.len() == 2 { 1 } else { run };
            let open = quote.len_utf8() * run;
            if inner.len() >= 2 * open {
                let inner = &inner[open..];
                inner.strip_suffix(&quote.to_string().repeat(run)).unwrap_or(inner)
            } else {
                ""
            }
        }
        _ => trimmed,
    };
    // C++ raw strings: R"delim( ... )delim"
    let body = if trimmed.starts_with("R\"") {
        body.split_once('(').and_then(|(_, rest)| rest.rsplit_once(')')).map_or(body, |(inner, _)| inner)
    } else {
        body
    };
    truncate(body.to_string(), max)
}

/// An error message as users see it: the literal's text, with the line breaks and indentation of a
/// multi-line literal (Java text blocks, Python triple quotes) collapsed to single spaces.
pub(super) fn message_text(literal: &str) -> String {
    let text = literal_text(literal, MAX_MESSAGE_BYTES * 2);
    let text = if text.contains('\n') { text.split_whitespace().collect::<Vec<_>>().join(" ") } else { text };
    truncate(text, MAX_MESSAGE_BYTES)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_text_strips_prefixes_and_quotes() {
        assert_eq!(literal_text(r#""plain""#, 100), "plain");
        assert_eq!(literal_text(r#"f"no such key {k}""#, 100), "no such key {k}");
        assert_eq!(literal_text(r##"r#"raw "quoted""#"##, 100), r#"raw "quoted""#);
        assert_eq!(literal_text(r#"'''doc'''"#, 100), "doc");
        assert_eq!(literal_text(r#""""doc""""#, 100), "doc");
        assert_eq!(literal_text("`tmpl ${x}`", 100), "tmpl ${x}");
        assert_eq!(literal_text(r#"R"(raw)""#, 100), "raw");
        assert_eq!(literal_text(r#""""#, 100), "");
    }
}
