//! Docs as most languages write them: a docstring first in the body, comments right above a
//! definition (through attributes and wrapping declarations), or a prose section's first paragraph;
//! cleaned of comment markers and cut to `MAX_DOC_BYTES`.

use super::MAX_DOC_BYTES;
use super::source::{collapse_whitespace, literal_text, text, truncate};
use tree_sitter::Node;

/// The first paragraph of a Markdown or reStructuredText section (`node` is the section or its heading).
pub(super) fn first_paragraph(bytes: &[u8], node: Node) -> Option<String> {
    let paragraph = match node.kind() {
        // A reStructuredText title (its `section` holds only the title): the first paragraph after
        // it, before the next title.
        "section" if node.named_child(0).is_some_and(|child| child.kind() == "title") => {
            let mut next = node.next_named_sibling();
            loop {
                match next {
                    Some(sibling) if sibling.kind() == "paragraph" => break sibling,
                    Some(sibling) if sibling.kind() != "section" => next = sibling.next_named_sibling(),
                    _ => return None,
                }
            }
        }
        // A setext heading has no section of its own: the paragraph right after it.
        "setext_heading" => node.next_named_sibling().filter(|next| next.kind() == "paragraph")?,
        _ => {
            let section =
                if node.kind() == "section" { node } else { node.parent().filter(|p| p.kind() == "section")? };
            section.named_children(&mut section.walk()).find(|child| child.kind() == "paragraph")?
        }
    };
    // A reStructuredText paragraph ending in `::` holds the literal block after it: the prose only.
    let end = paragraph
        .named_children(&mut paragraph.walk())
        .find(|child| child.kind() == "literal_block")
        .map_or(paragraph.end_byte(), |block| block.start_byte());
    let doc = collapse_whitespace(&String::from_utf8_lossy(&bytes[paragraph.start_byte()..end]), MAX_DOC_BYTES);
    (!doc.is_empty()).then_some(doc)
}

pub(super) fn docstring(bytes: &[u8], node: Node) -> Option<String> {
    let body = node.child_by_field_name("body")?;
    let first = body.named_child(0)?;
    if first.kind() != "expression_statement" {
        return None;
    }
    let string = first.named_child(0)?;
    if string.kind() != "string" {
        return None;
    }
    let raw = literal_text(&text(bytes, string), usize::MAX);
    let cleaned = dedent(&raw);
    (!cleaned.is_empty()).then(|| truncate(cleaned, MAX_DOC_BYTES))
}

pub(super) fn dedent(doc: &str) -> String {
    let mut lines = doc.lines();
    let first = lines.next().unwrap_or("").trim().to_string();
    let rest: Vec<&str> = lines.collect();
    let indent =
        rest.iter().filter(|l| !l.trim().is_empty()).map(|l| l.len() - l.trim_start().len()).min().unwrap_or(0);
    let mut out = vec![first];
    out.extend(
        rest.iter().map(|l| if l.len() >= indent { l[indent..].trim_end().to_string() } else { l.trim().to_string() }),
    );
    out.join("\n").trim().to_string()
}

/// Kinds of nodes that wrap a definition and may carry its leading comments instead of it.
const WRAPPERS: &[&str] = &[
    "export_statement",
    "decorated_definition",
    "template_declaration",
    "lexical_declaration",
    "variable_declaration",
    "ambient_declaration",
    "assignment_expression",
    "expression_statement",
    // OCaml: `let f x = …` is a value_definition around the let_binding that is the definition.
    "value_definition",
];

pub(super) fn preceding_comments(bytes: &[u8], node: Node, comments: &[Node], line_starts: &[usize]) -> Option<String> {
    let mut anchor = node;
    while let Some(parent) = anchor.parent() {
        if WRAPPERS.contains(&parent.kind()) {
            anchor = parent;
        } else {
            break;
        }
    }
    // The last comment that ends before the definition starts.
    let end = comments.partition_point(|c| c.end_byte() <= anchor.start_byte());
    let mut next_row = anchor.start_position().row;
    let mut next_start = anchor.start_byte();
    let mut block: Vec<String> = Vec::new();
    for comment in comments[..end].iter().rev() {
        let gap = &bytes[comment.end_byte()..next_start];
        if !gap_is_attributes_only(gap)
            || comment.end_position().row + 1 < next_row.saturating_sub(attribute_lines(gap))
        {
            break;
        }
        let line_start = line_starts[comment.start_position().row];
        if !bytes[line_start..comment.start_byte()].iter().all(|b| b.is_ascii_whitespace()) {
            break; // A trailing comment on a line of code documents that line, not this definition.
        }
        block.push(clean_comment(&text(bytes, *comment)));
        next_row = comment.start_position().row;
        next_start = comment.start_byte();
    }
    if block.is_empty() {
        return None;
    }
    block.reverse();
    let doc = block.join("\n").trim().to_string();
    (!doc.is_empty()).then(|| truncate(doc, MAX_DOC_BYTES))
}

/// Whether the bytes between a comment and a definition hold nothing but whitespace and
/// attribute/annotation/decorator lines (`#[derive(..)]`, `@Override`, `@app.route(..)`).
fn gap_is_attributes_only(gap: &[u8]) -> bool {
    String::from_utf8_lossy(gap).lines().all(|line| {
        let line = line.trim();
        line.is_empty() || line.starts_with("#[") || line.starts_with('@')
    })
}

fn attribute_lines(gap: &[u8]) -> usize {
    String::from_utf8_lossy(gap).lines().filter(|l| !l.trim().is_empty()).count()
}

pub(super) fn clean_comment(comment: &str) -> String {
    comment
        .lines()
        .map(|line| {
            let line = line.trim();
            let line = ["*/", "*)", "-}", "]]"].iter().find_map(|end| line.strip_suffix(end)).unwrap_or(line);
            // Longest markers first: `///` before `//`, `---` (Lua, LDoc) before `--`, `(**` before `(*`.
            let line = [
                "///", "//!", "//", "/**", "/*!", "/*", "---", "--[[", "--|", "-- |", "--", "{-|", "{-", "(**", "(*",
                "*", "#",
            ]
            .iter()
            .find_map(|marker| line.strip_prefix(marker))
            .unwrap_or(line);
            line.strip_prefix(' ').unwrap_or(line).trim_end()
        })
        .collect::<Vec<_>>()
        .join("\n")
        .trim()
        .to_string()
}
