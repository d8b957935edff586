//! Open documents: the editor's buffer text, its version, and a tree-sitter tree kept up to date
//! incrementally as edits arrive.
//!
//! Edits are byte ranges (the server converts LSP positions before calling in). Applying an edit
//! never fails: ranges are clamped to the text and snapped to character boundaries.

use crate::syntax::{self, Language};
use tree_sitter::{InputEdit, Point, Tree};

pub struct Document {
    pub key: String,
    /// Whether the buffer is one of the workspace's files, whose facts count (else a document from
    /// elsewhere — reverie's own answers, `/tmp`, another project — open for hover, never indexed).
    pub in_workspace: bool,
    pub version: i32,
    pub text: String,
    pub language: Option<Language>,
    tree: Option<Tree>,
    /// The tree is behind the text: edits were applied to it but it was not re-parsed yet.
    tree_stale: bool,
}

/// One edit, in bytes: replace `start..end` with `text`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ByteEdit {
    pub start: usize,
    pub end: usize,
    pub text: String,
}

impl Document {
    /// A new document. It is not parsed here: the server parses it in the background
    /// (`parse_input` / `install_tree`), or on first use (`tree`).
    pub fn new(key: String, version: i32, text: String, language: Option<Language>) -> Document {
        Document { key, in_workspace: true, version, text, language, tree: None, tree_stale: language.is_some() }
    }

    /// What a background parse needs: the text, its version, the language and the old tree (already
    /// edited, for an incremental parse). `None` when the tree is current or there is no language.
    pub fn parse_input(&self) -> Option<(String, i32, Language, Option<Tree>)> {
        let language = self.language?;
        self.tree_stale.then(|| (self.text.clone(), self.version, language, self.tree.clone()))
    }

    /// Installs a tree parsed in the background from the text of `version`; ignored if the document
    /// changed meanwhile (a newer parse will come).
    pub fn install_tree(&mut self, version: i32, tree: Tree) {
        if self.version == version && self.tree_stale {
            self.tree = Some(tree);
            self.tree_stale = false;
        }
    }

    /// Applies one edit to the text and (without re-parsing) to the tree.
    pub fn edit(&mut self, edit: &ByteEdit) {
        let start = floor_boundary(&self.text, edit.start.min(self.text.len()));
        let end = floor_boundary(&self.text, edit.end.clamp(start, self.text.len()));
        let start_position = point_at(&self.text, start);
        let old_end_position = point_at(&self.text, end);
        self.text.replace_range(start..end, &edit.text);
        let new_end = start + edit.text.len();
        self.tree_stale = self.language.is_some();
        if let Some(tree) = &mut self.tree {
            tree.edit(&InputEdit {
                start_byte: start,
                old_end_byte: end,
                new_end_byte: new_end,
                start_position,
                old_end_position,
                new_end_position: point_at(&self.text, new_end),
            });
        }
    }

    /// Replaces the whole text (a full-document change).
    pub fn replace(&mut self, text: String) {
        self.text = text;
        self.tree = None;
        self.tree_stale = self.language.is_some();
    }

    /// Brings the tree up to date with the text, reusing the unchanged parts of the old tree.
    pub fn reparse(&mut self) {
        if self.tree_stale
            && let Some(language) = self.language
        {
            self.tree = syntax::parse(self.text.as_bytes(), language, self.tree.as_ref());
            self.tree_stale = false;
        }
    }

    pub fn tree(&mut self) -> Option<&Tree> {
        self.reparse();
        self.tree.as_ref()
    }

    /// The identifier at byte `offset`, if the cursor is on one.
    pub fn identifier_at(&mut self, offset: usize) -> Option<String> {
        self.reparse();
        let tree = self.tree.as_ref()?;
        let offset = offset.min(self.text.len());
        let mut node = tree.root_node().descendant_for_byte_range(offset, offset)?;
        // At the end of an identifier the cursor touches the next token; look one byte back too.
        if !is_identifier(node.kind()) && offset > 0 {
            node = tree.root_node().descendant_for_byte_range(offset - 1, offset - 1)?;
        }
        is_identifier(node.kind()).then(|| self.text[node.start_byte()..node.end_byte()].to_string())
    }
}

fn is_identifier(kind: &str) -> bool {
    kind.ends_with("identifier") || kind == "constant" || kind == "name"
}

fn floor_boundary(text: &str, mut offset: usize) -> usize {
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

fn point_at(text: &str, offset: usize) -> Point {
    let before = &text[..offset];
    let row = before.matches('\n').count();
    let column = offset - before.rfind('\n').map_or(0, |i| i + 1);
    Point { row, column }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(text: &str) -> Document {
        Document::new("a.py".into(), 1, text.into(), Some(Language::Python))
    }

    #[test]
    fn incremental_edits_match_a_fresh_parse() {
        let mut d = doc("def alpha():\n    return 1\n");
        d.edit(&ByteEdit { start: 4, end: 9, text: "beta_μ".into() });
        d.edit(&ByteEdit { start: d.text.len(), end: d.text.len(), text: "\ndef gamma(x):\n    pass\n".into() });
        assert_eq!(d.text, "def beta_μ():\n    return 1\n\ndef gamma(x):\n    pass\n");
        let incremental = d.tree().unwrap().root_node().to_sexp();
        let fresh = doc(&d.text.clone()).tree().unwrap().root_node().to_sexp();
        assert_eq!(incremental, fresh);
    }

    #[test]
    fn out_of_range_edits_are_clamped() {
        let mut d = doc("μ = 1\n");
        d.edit(&ByteEdit { start: 1, end: 999, text: "x".into() });
        assert_eq!(d.text, "x");
    }

    #[test]
    fn identifier_under_the_cursor() {
        let mut d = doc("def load_settings(path):\n    return path\n");
        assert_eq!(d.identifier_at(6).as_deref(), Some("load_settings"));
        assert_eq!(d.identifier_at(17).as_deref(), Some("load_settings"), "just after the name");
        assert_eq!(d.identifier_at(0), None);
    }
}
