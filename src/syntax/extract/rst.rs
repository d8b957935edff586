//! reStructuredText's own extraction: the section outline (tree-sitter-rst gives flat sections),
//! Sphinx roles naming code, `:doc:` targets, toctrees and directives' bodies, which the grammar
//! leaves unparsed.

use super::MAX_SIGNATURE_BYTES;
use super::markdown::{code_span, identifier_path};
use super::source::{collapse_whitespace, span_at, text};
use crate::syntax::facts::{DefKind, Definition, Import, Name, RefKind, Reference, Todo};
use tree_sitter::Node;

/// reStructuredText sections. tree-sitter-rst gives each title a flat `section` node (overline,
/// title, underline), so the outline is rebuilt here with reST's rule: a title's level is the order
/// in which its adornment style (the underline character, overlined or not) first appears in the
/// file. A section's span runs from its title to the last non-blank line before the next title of
/// the same or a higher level (or the end of the file), which makes `assign_parents` nest it in the
/// enclosing section; its signature is the title line. `nodes` and `definitions` are parallel.
pub(super) fn rst_sections(
    bytes: &[u8],
    nodes: &[(Node, DefKind, Node)],
    definitions: &mut [Definition],
    line_starts: &[usize],
) {
    let mut styles: Vec<(u8, bool)> = Vec::new();
    let levels: Vec<Option<usize>> = nodes
        .iter()
        .map(|(node, _, _)| {
            let adornments: Vec<Node> =
                node.children(&mut node.walk()).filter(|child| child.kind() == "adornment").collect();
            let underline = adornments.last()?;
            let style = (bytes[underline.start_byte()], adornments.len() > 1);
            Some(styles.iter().position(|&seen| seen == style).unwrap_or_else(|| {
                styles.push(style);
                styles.len() - 1
            }))
        })
        .collect();
    for (index, &(node, _, title)) in nodes.iter().enumerate() {
        let Some(level) = levels[index] else { continue };
        let next = levels[index + 1..]
            .iter()
            .position(|other| other.is_some_and(|other| other <= level))
            .map_or(bytes.len(), |offset| nodes[index + 1 + offset].0.start_byte());
        let mut end = next;
        while end > node.end_byte() && bytes[end - 1].is_ascii_whitespace() {
            end -= 1;
        }
        definitions[index].span = span_at(line_starts, node.start_byte(), end.max(node.end_byte()));
        definitions[index].signature = collapse_whitespace(&text(bytes, title), MAX_SIGNATURE_BYTES);
    }
}

/// Sphinx roles whose target names code (`:func:`, `:py:meth:`, `:c:macro:`, …): the last dotted
/// segment of the target is a reference.
const RST_CODE_ROLES: &[&str] = &[
    "func",
    "function",
    "meth",
    "method",
    "class",
    "mod",
    "module",
    "attr",
    "exc",
    "data",
    "obj",
    "const",
    "type",
    "member",
    "macro",
    "struct",
    "union",
    "enum",
    "enumerator",
    "var",
];

/// Directives whose body is code or data, not prose.
const RST_CODE_DIRECTIVES: &[&str] = &[
    "code",
    "code-block",
    "sourcecode",
    "highlight",
    "literalinclude",
    "include",
    "raw",
    "math",
    "doctest",
    "testcode",
    "testoutput",
    "testsetup",
    "testcleanup",
    "productionlist",
    "graphviz",
    "digraph",
    "graph",
    "console",
    "prompt",
    "ipython",
    "jupyter-execute",
    "plot",
    "mermaid",
];

/// Scans one reStructuredText `@inline` node for what names code, as `scan_inline` does for Markdown:
/// a ``literal`` goes by the same rule as a Markdown code span; a code role (:func:`pkg.mod.name`,
/// :class:`~pkg.Name`, :meth:`title <Cls.method>`) is a reference to its last dotted segment; a
/// :doc: or :download: target and a relative `link <path>`_ are imports. A directive's body, which
/// the grammar leaves unparsed, is read here: a toctree's entries are imports, a `.. todo::` a todo,
/// and the prose of other directives is scanned for literals and roles.
pub(super) fn scan_rst(
    bytes: &[u8],
    node: Node,
    line_starts: &[usize],
    references: &mut Vec<Reference>,
    imports: &mut Vec<Import>,
    todos: &mut Vec<Todo>,
) {
    match node.kind() {
        "literal" => {
            let content = &text(bytes, node);
            let Some(inner) = content.strip_prefix("``").and_then(|c| c.strip_suffix("``")) else { return };
            let offset = node.start_byte() + 2 + (inner.len() - inner.trim_start().len());
            code_span(inner.trim(), offset, line_starts, references, imports);
        }
        "interpreted_text" => {
            let Some(role) = node.named_child(0).filter(|child| child.kind() == "role") else { return };
            let whole = text(bytes, node);
            let (Some(open), Some(close)) = (whole.find('`'), whole.rfind('`')) else { return };
            if close > open {
                let at = node.start_byte() + open + 1;
                rst_role(&text(bytes, role), &whole[open + 1..close], at, line_starts, references, imports);
            }
        }
        "reference" => {
            // `text <target>`_ : an embedded target; `name`_ refers to a target defined elsewhere.
            let whole = text(bytes, node);
            let Some(inner) = whole.strip_prefix('`').and_then(|w| w.strip_suffix("`__").or(w.strip_suffix("`_")))
            else {
                return;
            };
            if let Some((target, at)) = embedded_target(inner, node.start_byte() + 1) {
                relative_import(target, at, line_starts, imports);
            }
        }
        "directive" => {
            let (Some(name), Some(body)) = (node.child_by_field_name("name"), node.child_by_field_name("body")) else {
                return;
            };
            let name = text(bytes, name).to_ascii_lowercase();
            let content = body.named_children(&mut body.walk()).find(|child| child.kind() == "content");
            match name.as_str() {
                "toctree" => {
                    let Some(content) = content else { return };
                    let mut at = content.start_byte();
                    for line in text(bytes, content).split_inclusive('\n') {
                        let entry = line.trim();
                        let entry_at = at + (line.len() - line.trim_start().len());
                        at += line.len();
                        if entry.is_empty() || entry == "self" || entry.contains('*') || entry.starts_with(':') {
                            continue;
                        }
                        let (target, target_at) = embedded_target(entry, entry_at).unwrap_or((entry, entry_at));
                        relative_import(target, target_at, line_starts, imports);
                    }
                }
                "todo" => {
                    let line = line_starts.partition_point(|&s| s <= node.start_byte()).saturating_sub(1) as u32;
                    let todo = collapse_whitespace(&text(bytes, body), 200);
                    todos.push(Todo { tag: "TODO".to_string(), text: todo, line });
                }
                name if RST_CODE_DIRECTIVES.contains(&name) => {}
                _ => {
                    if let Some(content) = content {
                        scan_rst_text(
                            bytes,
                            content.start_byte(),
                            content.end_byte(),
                            line_starts,
                            references,
                            imports,
                        );
                    }
                }
            }
        }
        _ => {}
    }
}

/// Scans reStructuredText the grammar did not parse (a directive's body) for ``literals`` and
/// :role:`targets`, with the rules of `scan_rst`.
fn scan_rst_text(
    bytes: &[u8],
    start: usize,
    end: usize,
    line_starts: &[usize],
    references: &mut Vec<Reference>,
    imports: &mut Vec<Import>,
) {
    let text = String::from_utf8_lossy(&bytes[start..end]);
    let mut at = 0;
    while let Some(found) = text[at..].find(['`', ':']) {
        let open = at + found;
        if text[open..].starts_with("``") {
            let Some(close) = text[open + 2..].find("``") else { break };
            let content = &text[open + 2..open + 2 + close];
            let offset = start + open + 2 + (content.len() - content.trim_start().len());
            code_span(content.trim(), offset, line_starts, references, imports);
            at = open + 2 + close + 2;
        } else if text[open..].starts_with('`') {
            // Interpreted text without a role (the default role): skipped whole.
            at = text[open + 1..].find('`').map_or(text.len(), |close| open + 1 + close + 1);
        } else {
            // `:role:` then a backquoted target; the role starts a word.
            let starts_word =
                text[..open].chars().next_back().is_none_or(|c| c.is_whitespace() || "([{'\"".contains(c));
            let role_len = text[open + 1..]
                .find(|c: char| !(c.is_ascii_alphanumeric() || "_-:+.".contains(c)))
                .unwrap_or(text.len() - open - 1);
            let role = &text[open..open + 1 + role_len];
            let after = open + 1 + role_len;
            if !starts_word || role.len() < 3 || !role.ends_with(':') || !text[after..].starts_with('`') {
                at = open + 1;
                continue;
            }
            let Some(close) = text[after + 1..].find('`') else { break };
            let target = &text[after + 1..after + 1 + close];
            rst_role(role, target, start + after + 1, line_starts, references, imports);
            at = after + 1 + close + 1;
        }
    }
}

/// One role's target (`target`, at byte `at` of the file): a reference for a code role, an import
/// for :doc: and :download:, nothing for the others (:ref: labels, :envvar:, …).
fn rst_role(
    role: &str,
    target: &str,
    at: usize,
    line_starts: &[usize],
    references: &mut Vec<Reference>,
    imports: &mut Vec<Import>,
) {
    // `:py:func:` is the `func` role of the Python domain.
    let role = role.trim_matches(':').rsplit(':').next().unwrap_or("");
    let (target, at) = embedded_target(target, at).unwrap_or((target, at));
    if RST_CODE_ROLES.contains(&role) {
        // `~pkg.Name` shows only `Name`, `!Name` is not linked, `.Name` is searched for: all name `Name`.
        let name = target.trim_start_matches(['~', '!', '.']);
        let name_at = at + (target.len() - name.len());
        if let Some(&(segment_at, segment)) = identifier_path(name.trim_end()).as_deref().and_then(<[_]>::last) {
            let from = name_at + segment_at;
            references.push(Reference {
                name: Name::new(segment),
                kind: RefKind::Name,
                span: span_at(line_starts, from, from + segment.len()),
            });
        }
    } else if role == "doc" || role == "download" {
        relative_import(target, at, line_starts, imports);
    }
}

/// The explicit target of `title <target>` (a role's or a link's), with its byte offset; `None` when
/// `text` has no `<…>` at its end.
fn embedded_target(text: &str, at: usize) -> Option<(&str, usize)> {
    let inner = text.trim_end().strip_suffix('>')?;
    let open = inner.rfind('<')?;
    let target = inner[open + 1..].trim();
    let target_at = at + open + 1 + (inner[open + 1..].len() - inner[open + 1..].trim_start().len());
    (!target.is_empty()).then_some((target, target_at))
}

/// An import of `target` (at byte `at`) unless it is external (a URL, a mail address) or empty.
fn relative_import(target: &str, at: usize, line_starts: &[usize], imports: &mut Vec<Import>) {
    let path = target.split('#').next().unwrap_or("").trim();
    if path.is_empty() || path.contains("://") || path.starts_with("mailto:") || path.contains(char::is_whitespace) {
        return;
    }
    imports.push(Import { path: path.to_string(), span: span_at(line_starts, at, at + path.len()) });
}
