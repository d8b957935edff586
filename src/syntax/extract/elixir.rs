//! Elixir's own doc rule: docs are attributes (`@doc`, `@moduledoc`), not comments.

use super::MAX_DOC_BYTES;
use super::docs::dedent;
use super::source::{literal_text, text, truncate};
use tree_sitter::Node;

/// Elixir's `@doc "…"` before a definition, or `@moduledoc "…"` first in a module's `do` block.
pub(super) fn doc_attribute(bytes: &[u8], node: Node) -> Option<String> {
    let attribute_text = |attribute: Node, name: &str| -> Option<String> {
        if attribute.kind() != "unary_operator" {
            return None;
        }
        let call = attribute.child_by_field_name("operand")?;
        let target = call.child_by_field_name("target")?;
        if text(bytes, target) != name {
            return None;
        }
        let arguments = call.named_children(&mut call.walk()).find(|child| child.kind() == "arguments")?;
        let string = arguments.named_child(0)?;
        (string.kind() == "string").then(|| dedent(&literal_text(&text(bytes, string), usize::MAX)))
    };
    let found = match node.prev_named_sibling().and_then(|previous| attribute_text(previous, "doc")) {
        Some(doc) => Some(doc),
        None => {
            let block = node.named_children(&mut node.walk()).find(|child| child.kind() == "do_block")?;
            let first = block.named_children(&mut block.walk()).find(|child| child.kind() != "comment")?;
            attribute_text(first, "moduledoc")
        }
    };
    found.filter(|doc| !doc.is_empty()).map(|doc| truncate(doc, MAX_DOC_BYTES))
}
