//! OCaml's own doc rule: odoc's `(** … *)` may follow the item it documents.

use super::MAX_DOC_BYTES;
use super::docs::clean_comment;
use super::source::{text, truncate};
use tree_sitter::Node;

/// An OCaml `(** … *)` right after a definition: on its last line or the next, with nothing but
/// whitespace between, and followed by a blank line or the end of the file or of its enclosing
/// `struct`/`sig` (with the next item on the very next line, odoc calls the comment ambiguous and
/// the next item's preceding comment takes it).
pub(super) fn following_doc_comment(bytes: &[u8], node: Node, comments: &[Node]) -> Option<String> {
    let first_after = comments.partition_point(|c| c.start_byte() < node.end_byte());
    let comment = comments.get(first_after)?;
    let gap = &bytes[node.end_byte()..comment.start_byte()];
    let comment_text = text(bytes, *comment);
    if !comment_text.starts_with("(**")
        || comment_text.starts_with("(***")
        || !gap.iter().all(|b| b.is_ascii_whitespace())
        || gap.iter().filter(|&&b| b == b'\n').count() > 1
    {
        return None;
    }
    let rest = &bytes[comment.end_byte()..];
    let rest = &rest[..rest.iter().position(|&b| b != b' ' && b != b'\t' && b != b'\r').unwrap_or(rest.len())];
    let after = &bytes[comment.end_byte() + rest.len()..];
    let next_line_blank_or_end = match after.first() {
        None => true,
        Some(b'\n') => {
            let next_line = after[1..].split(|&b| b == b'\n').next().unwrap_or(&[]);
            let next_line = String::from_utf8_lossy(next_line);
            let next_line = next_line.trim();
            next_line.is_empty() || next_line == "end" || next_line.starts_with("end ") || next_line.starts_with("(*")
        }
        Some(_) => false, // code follows on the comment's own line
    };
    if !next_line_blank_or_end {
        return None;
    }
    let doc = clean_comment(&comment_text);
    (!doc.is_empty()).then(|| truncate(doc, MAX_DOC_BYTES))
}
