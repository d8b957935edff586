//! TODO/FIXME/XXX/HACK lines: in comments, in prose, and in any line of a file without a grammar.

use super::source::{text, truncate};
use crate::syntax::facts::Todo;
use tree_sitter::Node;

const TODO_TAGS: [&str; 4] = ["TODO", "FIXME", "XXX", "HACK"];

pub(super) fn todos(bytes: &[u8], comments: &[Node]) -> Vec<Todo> {
    let mut todos = Vec::new();
    for comment in comments {
        let text = text(bytes, *comment);
        for (offset, line) in text.lines().enumerate() {
            if let Some(todo) = todo_in_line(line, comment.start_position().row as u32 + offset as u32) {
                todos.push(todo);
            }
        }
    }
    todos
}

/// The first TODO/FIXME/XXX/HACK tag in `line` (0-based line number `at_line`), with the text after it.
pub(super) fn todo_in_line(line: &str, at_line: u32) -> Option<Todo> {
    TODO_TAGS.iter().find_map(|tag| {
        let at = find_tag(line, tag)?;
        let rest = line[at + tag.len()..].trim_start_matches([':', ' ', '-']);
        let rest = rest
            .trim()
            .trim_end_matches("*/")
            .trim_end_matches("*)")
            .trim_end_matches("-}")
            .trim_end_matches("-->")
            .trim();
        Some(Todo { tag: tag.to_string(), text: truncate(rest.to_string(), 200), line: at_line })
    })
}

/// `tag` as a whole word followed by `:`, `(`, whitespace or the end of the line.
fn find_tag(line: &str, tag: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(found) = line[from..].find(tag) {
        let at = from + found;
        let before_ok = line[..at].chars().next_back().is_none_or(|c| !c.is_alphanumeric() && c != '_');
        let after = line[at + tag.len()..].chars().next();
        let after_ok = after.is_none_or(|c| c == ':' || c == '(' || c.is_whitespace());
        if before_ok && after_ok {
            return Some(at);
        }
        from = at + tag.len();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn todo_tags_are_whole_words() {
        assert_eq!(find_tag("# TODO: fix", "TODO"), Some(2));
        assert_eq!(find_tag("# TODOS are fine", "TODO"), None);
        assert_eq!(find_tag("// FIXME(anna) later", "FIXME"), Some(3));
    }
}
