//! Fact extraction: one parse and one query pass over a file turn its bytes into `FileFacts`.
//!
//! The language's query (see `language.rs`) does the matching; this module only interprets captures by
//! name (the contract in `grammars/README.md`), attaches docs and signatures, and computes the interface
//! digest. It is a pure function of the bytes and the language: no IO, no global state beyond the
//! compiled queries and a per-thread parser, and it never fails — broken code yields the facts the
//! parser could recover.

use crate::hash::{Digest, DigestBuilder};
use crate::syntax::facts::*;
use crate::syntax::{DocStyle, Language};
use std::cell::RefCell;
use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::sync::OnceLock;
use streaming_iterator::StreamingIterator;
use tree_sitter::{Node, Parser, Query, QueryCursor, Tree};

/// Longest signature kept, in bytes; longer ones end with `…`.
const MAX_SIGNATURE_BYTES: usize = 240;
/// Longest doc comment kept, in bytes.
const MAX_DOC_BYTES: usize = 1200;
/// Longest error message kept, in bytes.
const MAX_MESSAGE_BYTES: usize = 400;

/// Extracts the facts of `bytes` written in `language`.
pub fn extract(bytes: &[u8], language: Language) -> FileFacts {
    if language.grammar().is_none() {
        return text_facts(bytes, language);
    }
    match parse(bytes, language, None) {
        Some(tree) => extract_from_tree(bytes, language, &tree),
        None => empty_facts(bytes, language),
    }
}

/// Parses `bytes`, reusing `old_tree` (already edited with `Tree::edit`) for an incremental parse.
/// `None` for a language without a grammar (plain text), otherwise only if tree-sitter gives up, which
/// it does not do without a timeout or cancellation flag.
pub fn parse(bytes: &[u8], language: Language, old_tree: Option<&Tree>) -> Option<Tree> {
    thread_local! {
        static PARSERS: RefCell<HashMap<Language, Parser>> = RefCell::new(HashMap::new());
    }
    let grammar = language.grammar()?;
    PARSERS.with(|parsers| {
        let mut parsers = parsers.borrow_mut();
        let parser = parsers.entry(language).or_insert_with(|| {
            let mut parser = Parser::new();
            parser
                .set_language(&grammar)
                .unwrap_or_else(|err| panic!("grammar for {} does not load: {err}", language.name()));
            parser
        });
        parser.parse(bytes, old_tree)
    })
}

/// The facts of a file reverie keeps without a grammar: its size and its TODO/FIXME lines (any line
/// with the tag as a whole word counts, since there is no telling comments from text).
fn text_facts(bytes: &[u8], language: Language) -> FileFacts {
    let mut facts = empty_facts(bytes, language);
    facts.has_syntax_errors = false;
    let text = String::from_utf8_lossy(bytes);
    for (line, content) in text.lines().enumerate() {
        if let Some(todo) = todo_in_line(content, line as u32) {
            facts.todos.push(todo);
        }
    }
    facts
}

fn empty_facts(bytes: &[u8], language: Language) -> FileFacts {
    FileFacts {
        language,
        content_hash: Digest::of(bytes),
        interface_hash: DigestBuilder::new().finish(),
        line_count: count_lines(bytes),
        byte_len: bytes.len() as u32,
        has_syntax_errors: true,
        definitions: Vec::new(),
        references: Vec::new(),
        imports: Vec::new(),
        error_sites: Vec::new(),
        tests: Vec::new(),
        todos: Vec::new(),
        text: super::text::text_docs(bytes, &[]),
    }
}

/// What a capture name means (see `grammars/README.md`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Role {
    Definition(DefKind),
    Reference(RefKind),
    Name,
    Import,
    ImportPath,
    ErrorSite(ErrorKind),
    ErrorMessage,
    Test,
    TestName,
    Comment,
    /// A definition's separate signature (Haskell's `load :: Store -> Cookie -> Session` above its
    /// equations): the signature text, where the doc is looked up, the start of the span, and the
    /// definition's part of the interface hash.
    Signature,
    /// Prose with inline markup (Markdown): its code spans become references, its links to files
    /// imports, and its TODO/FIXME lines todos.
    Inline,
    /// Captures used only by predicates: names starting with `_`.
    Predicate,
}

pub(crate) fn role_of(capture: &str) -> Option<Role> {
    if capture.starts_with('_') {
        return Some(Role::Predicate);
    }
    let (head, tail) = capture.split_once('.').unwrap_or((capture, ""));
    Some(match (head, tail) {
        ("definition", kind) => Role::Definition(DefKind::from_capture(kind)?),
        ("reference", kind) => Role::Reference(RefKind::from_capture(kind)?),
        ("name", "") => Role::Name,
        ("import", "") => Role::Import,
        ("import", "path") => Role::ImportPath,
        ("error", "message") => Role::ErrorMessage,
        ("error", kind) => Role::ErrorSite(ErrorKind::from_capture(kind)?),
        ("test", "") => Role::Test,
        ("test", "name") => Role::TestName,
        ("comment", "") => Role::Comment,
        ("signature", "") => Role::Signature,
        ("inline", "") => Role::Inline,
        _ => return None,
    })
}

fn roles(language: Language, query: &Query) -> &'static [Role] {
    static ROLES: OnceLock<Vec<OnceLock<Vec<Role>>>> = OnceLock::new();
    let roles = ROLES.get_or_init(|| Language::ALL.iter().map(|_| OnceLock::new()).collect());
    roles[language as usize].get_or_init(|| {
        query
            .capture_names()
            .iter()
            .map(|name| {
                role_of(name).unwrap_or_else(|| panic!("unknown capture @{name} in the {} query", language.name()))
            })
            .collect()
    })
}

/// Extracts facts from an already parsed tree (the language server keeps trees of open buffers).
pub fn extract_from_tree(bytes: &[u8], language: Language, tree: &Tree) -> FileFacts {
    let Some(query) = language.query() else {
        return text_facts(bytes, language);
    };
    let roles = roles(language, query);
    let root = tree.root_node();

    // Keyed by the start byte of the name/message/test node, so that the same node matched by
    // several patterns is counted once; the earliest pattern (the most specific one) wins.
    let mut definitions: HashMap<usize, (usize, Node, DefKind, Node)> = HashMap::new();
    let mut references: HashMap<usize, (usize, Node, RefKind)> = HashMap::new();
    let mut error_sites: HashMap<usize, (usize, Node, ErrorKind, Node)> = HashMap::new();
    let mut tests: HashMap<usize, (Node, Node)> = HashMap::new();
    let mut imports: Vec<Import> = Vec::new();
    let mut import_nodes: HashMap<usize, ()> = HashMap::new();
    let mut comments: Vec<Node> = Vec::new();
    // Keyed by the definition's name node, like `definitions`.
    let mut signatures: HashMap<usize, Node> = HashMap::new();
    let mut inlines: Vec<Node> = Vec::new();

    let mut cursor = QueryCursor::new();
    let mut matches = cursor.matches(query, root, bytes);
    while let Some(m) = matches.next() {
        let mut def: Option<(Node, DefKind)> = None;
        let mut reference: Option<(Node, RefKind)> = None;
        let mut name: Option<Node> = None;
        let mut import: Option<Node> = None;
        let mut import_paths: Vec<Node> = Vec::new();
        let mut error_site: Option<(Node, ErrorKind)> = None;
        let mut message: Option<Node> = None;
        let mut test: Option<Node> = None;
        let mut test_name: Option<Node> = None;
        let mut signature_node: Option<Node> = None;
        for capture in m.captures() {
            let node = capture.node;
            match roles[capture.index as usize] {
                Role::Definition(kind) => def = Some((node, kind)),
                Role::Reference(kind) => reference = Some((node, kind)),
                Role::Name => name = Some(node),
                Role::Import => import = Some(node),
                Role::ImportPath => import_paths.push(node),
                Role::ErrorSite(kind) => error_site = Some((node, kind)),
                Role::ErrorMessage => message = Some(node),
                Role::Test => test = Some(node),
                Role::TestName => test_name = Some(node),
                Role::Comment => comments.push(node),
                Role::Signature => signature_node = Some(node),
                Role::Inline => inlines.push(node),
                Role::Predicate => {}
            }
        }
        if let (Some((node, kind)), Some(name)) = (def, name) {
            let wins = match definitions.entry(name.start_byte()) {
                Entry::Vacant(slot) => {
                    slot.insert((m.pattern_index, node, kind, name));
                    true
                }
                Entry::Occupied(mut slot) if slot.get().0 > m.pattern_index => {
                    slot.insert((m.pattern_index, node, kind, name));
                    true
                }
                Entry::Occupied(_) => false,
            };
            if wins {
                match signature_node {
                    Some(sig) => signatures.insert(name.start_byte(), sig),
                    None => signatures.remove(&name.start_byte()),
                };
            }
        } else if let (Some((_, kind)), Some(name)) = (reference, name) {
            match references.entry(name.start_byte()) {
                Entry::Vacant(slot) => {
                    slot.insert((m.pattern_index, name, kind));
                }
                Entry::Occupied(mut slot) if slot.get().0 > m.pattern_index => {
                    slot.insert((m.pattern_index, name, kind));
                }
                Entry::Occupied(_) => {}
            }
        }
        if let Some(node) = import {
            if import_paths.is_empty() {
                if import_nodes.insert(node.start_byte(), ()).is_none() {
                    // The statement's text, less the keyword: `import a.b.{C, D}` → `a.b.{C, D}`.
                    let statement = text(bytes, node);
                    let path = statement.strip_prefix("import ").unwrap_or(&statement);
                    imports.push(Import { path: collapse_whitespace(path, 200), span: span(node) });
                }
            } else {
                for path in import_paths {
                    if import_nodes.insert(path.start_byte(), ()).is_none() {
                        imports.push(Import { path: literal_text(&text(bytes, path), 200), span: span(path) });
                    }
                }
            }
        }
        if let (Some((site, kind)), Some(message)) = (error_site, message) {
            match error_sites.entry(message.start_byte()) {
                Entry::Vacant(slot) => {
                    slot.insert((m.pattern_index, site, kind, message));
                }
                Entry::Occupied(mut slot) if slot.get().0 > m.pattern_index => {
                    slot.insert((m.pattern_index, site, kind, message));
                }
                Entry::Occupied(_) => {}
            }
        }
        if let (Some(test), Some(test_name)) = (test, test_name) {
            tests.entry(test.start_byte()).or_insert((test, test_name));
        }
    }

    comments.sort_by_key(|node| node.start_byte());
    comments.dedup_by_key(|node| node.start_byte());

    let mut definitions: Vec<(Node, DefKind, Node)> =
        definitions.into_values().map(|(_, node, kind, name)| (node, kind, name)).collect();
    definitions
        .sort_by_key(|(node, _, name)| (node.start_byte(), std::cmp::Reverse(node.end_byte()), name.start_byte()));

    let line_starts = line_starts(bytes);
    let mut facts_definitions: Vec<Definition> = definitions
        .iter()
        .map(|&(node, kind, name)| match signatures.get(&name.start_byte()) {
            Some(&sig) => Definition {
                name: definition_name(bytes, name),
                kind,
                span: Span { start_byte: sig.start_byte() as u32, start: span(sig).start, ..trimmed_span(bytes, node) },
                signature: collapse_whitespace(&text(bytes, sig), MAX_SIGNATURE_BYTES),
                doc: doc(bytes, language, sig, &comments, &line_starts),
                parent: None,
            },
            None => Definition {
                name: definition_name(bytes, name),
                kind,
                span: trimmed_span(bytes, node),
                signature: signature(bytes, node, &comments),
                doc: doc(bytes, language, node, &comments, &line_starts),
                parent: None,
            },
        })
        .collect();
    if language == Language::Rst {
        rst_sections(bytes, &definitions, &mut facts_definitions, &line_starts);
    }
    assign_parents(&mut facts_definitions);

    let interface_hash = interface_hash(bytes, &definitions, &signatures, &comments);

    // A definition's own name is not a reference to it.
    for (_, _, name) in &definitions {
        references.remove(&name.start_byte());
    }
    let mut references: Vec<Reference> = references
        .into_values()
        .map(|(_, node, kind)| Reference { name: text(bytes, node).into_owned(), kind, span: span(node) })
        .collect();
    let mut todos = todos(bytes, &comments);
    inlines.sort_by_key(|node| node.start_byte());
    inlines.dedup_by_key(|node| node.start_byte());
    for node in &inlines {
        if language == Language::Rst {
            scan_rst(bytes, *node, &line_starts, &mut references, &mut imports, &mut todos);
        } else {
            scan_inline(
                bytes,
                node.start_byte(),
                node.end_byte(),
                &line_starts,
                &mut references,
                &mut imports,
                &mut todos,
            );
        }
    }
    todos.sort_by_key(|todo| todo.line);
    references.sort_by_key(|r| r.span.start_byte);

    let mut error_sites: Vec<ErrorSite> = error_sites
        .into_values()
        .map(|(_, site, kind, message)| ErrorSite {
            message: message_text(&text(bytes, message)),
            kind,
            span: span(site),
            definition: None,
        })
        .filter(|site| !site.message.trim().is_empty())
        .collect();
    error_sites.sort_by_key(|site| site.span.start_byte);
    let mut facts = FileFacts {
        language,
        content_hash: Digest::of(bytes),
        interface_hash,
        line_count: count_lines(bytes),
        byte_len: bytes.len() as u32,
        has_syntax_errors: root.has_error(),
        definitions: facts_definitions,
        references,
        imports,
        error_sites: Vec::new(),
        tests: Vec::new(),
        todos,
        text: Vec::new(),
    };
    for site in &mut error_sites {
        site.definition = facts.enclosing_definition(&site.span);
    }
    facts.error_sites = error_sites;

    let mut tests: Vec<TestCase> = tests
        .into_values()
        .map(|(node, name)| TestCase { name: literal_text(&text(bytes, name), 200), span: span(node) })
        .collect();
    tests.sort_by_key(|t| t.span.start_byte);
    facts.tests = tests;
    facts.imports.sort_by_key(|i| i.span.start_byte);
    facts.text = super::text::text_docs(bytes, &facts.definitions);
    facts
}

/// Scans prose (a Markdown `inline` node, `bytes[start..end]`) for what names code: a code span that
/// looks like an identifier path (`SessionStore::load`, `verify_cookie()`, `cfg.max_age`) is a
/// reference to each of its identifiers; one that names a file (`reverie.toml`) and a link to a
/// relative target (`[loader](src/config.rs#L10)`) are imports. TODO/FIXME lines become todos.
fn scan_inline(
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

/// reStructuredText sections. tree-sitter-rst gives each title a flat `section` node (overline,
/// title, underline), so the outline is rebuilt here with reST's rule: a title's level is the order
/// in which its adornment style (the underline character, overlined or not) first appears in the
/// file. A section's span runs from its title to the last non-blank line before the next title of
/// the same or a higher level (or the end of the file), which makes `assign_parents` nest it in the
/// enclosing section; its signature is the title line. `nodes` and `definitions` are parallel.
fn rst_sections(bytes: &[u8], nodes: &[(Node, DefKind, Node)], definitions: &mut [Definition], line_starts: &[usize]) {
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
fn scan_rst(
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
                name: segment.to_string(),
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

/// A code span's content (`trimmed`, at byte `offset` of the file): an import if it names a file, a
/// reference to each identifier if it is an identifier path, nothing otherwise.
fn code_span(
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
                name: segment.to_string(),
                kind: RefKind::Name,
                span: span_at(line_starts, from, from + segment.len()),
            });
        }
    }
}

/// The span of `bytes[from..to]`, its points from the file's `line_starts`.
fn span_at(line_starts: &[usize], from: usize, to: usize) -> Span {
    let point = |at: usize| {
        let line = line_starts.partition_point(|&s| s <= at).saturating_sub(1);
        Point { line: line as u32, column: (at - line_starts[line]) as u32 }
    };
    Span { start_byte: from as u32, end_byte: to as u32, start: point(from), end: point(to) }
}

/// `reverie.toml`, `src/config.rs`: a code span naming a file of a language reverie keeps.
fn names_a_file(span: &str) -> bool {
    !span.contains(char::is_whitespace)
        && span.rsplit_once('.').is_some_and(|(stem, ext)| !stem.is_empty() && Language::from_extension(ext).is_some())
}

/// The identifiers of a code span that is an identifier path (`a::b`, `a.b`, `a->b`, `a#b`, an
/// optional trailing `()`), with their byte offsets; `None` for anything else (commands, snippets).
fn identifier_path(span: &str) -> Option<Vec<(usize, &str)>> {
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

fn text<'a>(bytes: &'a [u8], node: Node) -> std::borrow::Cow<'a, str> {
    String::from_utf8_lossy(&bytes[node.start_byte()..node.end_byte()])
}

fn span(node: Node) -> Span {
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
fn trimmed_span(bytes: &[u8], node: Node) -> Span {
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

fn count_lines(bytes: &[u8]) -> u32 {
    if bytes.is_empty() {
        return 0;
    }
    let newlines = memchr::memchr_iter(b'\n', bytes).count() as u32;
    if bytes.ends_with(b"\n") { newlines } else { newlines + 1 }
}

fn line_starts(bytes: &[u8]) -> Vec<usize> {
    std::iter::once(0).chain(memchr::memchr_iter(b'\n', bytes).map(|i| i + 1)).collect()
}

/// Cuts `s` to at most `max` bytes on a char boundary, marking the cut with `…`.
pub(crate) fn truncate(mut s: String, max: usize) -> String {
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

fn collapse_whitespace(s: &str, max: usize) -> String {
    truncate(s.split_whitespace().collect::<Vec<_>>().join(" "), max)
}

/// The text of a string literal without its prefix (`r`, `b`, `f`, `u`, `@`, `L`, ...), raw-string
/// hashes and quotes: `f"no such key {k!r}"` → `no such key {k!r}`. Anything else is returned trimmed.
pub(crate) fn literal_text(literal: &str, max: usize) -> String {
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
fn message_text(literal: &str) -> String {
    let text = literal_text(literal, MAX_MESSAGE_BYTES * 2);
    let text = if text.contains('\n') { text.split_whitespace().collect::<Vec<_>>().join(" ") } else { text };
    truncate(text, MAX_MESSAGE_BYTES)
}

/// The body of a definition: its `body` field, or the body of the function assigned to it
/// (`const f = () => {...}`, `exports.f = function () {...}`).
fn body_of(node: Node) -> Option<Node> {
    node.child_by_field_name("body")
        .or_else(|| {
            let value = node.child_by_field_name("value").or_else(|| node.child_by_field_name("right"))?;
            value.child_by_field_name("body")
        })
        .or_else(|| {
            // Grammars whose bodies are plain children, not a `body` field (Kotlin, Swift, Scala, …).
            let mut cursor = node.walk();
            node.named_children(&mut cursor).find(|child| BODY_KINDS.contains(&child.kind()))
        })
}

/// Node kinds that are a definition's body when the grammar has no `body` field for it.
const BODY_KINDS: &[&str] =
    &["function_body", "class_body", "enum_class_body", "protocol_body", "template_body", "do_block"];

fn signature(bytes: &[u8], node: Node, comments: &[Node]) -> String {
    let end = match body_of(node) {
        Some(body) => body.start_byte(),
        None => {
            let start = node.start_byte();

            memchr::memchr(b'\n', &bytes[start..node.end_byte()]).map_or(node.end_byte(), |i| start + i)
        }
    };
    let mut header = String::new();
    let mut at = node.start_byte();
    let first = comments.partition_point(|c| c.end_byte() <= at);
    for comment in &comments[first..] {
        if comment.start_byte() >= end {
            break;
        }
        header.push_str(&String::from_utf8_lossy(&bytes[at..comment.start_byte()]));
        at = comment.end_byte().min(end);
    }
    header.push_str(&String::from_utf8_lossy(&bytes[at.min(end)..end]));
    let mut sig = collapse_whitespace(&header, MAX_SIGNATURE_BYTES);
    while let Some(stripped) = sig.strip_suffix(['{', ':', '=', ' ']) {
        sig = stripped.to_string();
    }
    if sig.ends_with("=>") {
        sig.truncate(sig.len() - 2);
        sig = sig.trim_end().to_string();
    }
    sig
}

/// Parent/child nesting: `definitions` is sorted by start, outer before inner.
fn assign_parents(definitions: &mut [Definition]) {
    let mut stack: Vec<usize> = Vec::new();
    for index in 0..definitions.len() {
        let span = definitions[index].span;
        while let Some(&top) = stack.last() {
            if definitions[top].span.contains(&span) && definitions[top].span != span {
                break;
            }
            stack.pop();
        }
        definitions[index].parent = stack.last().map(|&p| p as u32);
        stack.push(index);
    }
}

fn doc(bytes: &[u8], language: Language, node: Node, comments: &[Node], line_starts: &[usize]) -> Option<String> {
    match language.doc_style() {
        DocStyle::Docstring => docstring(bytes, node),
        DocStyle::PrecedingComments => preceding_comments(bytes, node, comments, line_starts),
        DocStyle::DocAttribute => {
            doc_attribute(bytes, node).or_else(|| preceding_comments(bytes, node, comments, line_starts))
        }
        DocStyle::PrecedingOrFollowingDocComment => preceding_comments(bytes, node, comments, line_starts)
            .or_else(|| following_doc_comment(bytes, node, comments)),
        DocStyle::FirstParagraph => first_paragraph(bytes, node),
        DocStyle::None => None,
    }
}

/// A definition's name as people write it when they use it: a Ruby symbol naming a method
/// (`alias :to_s :name`) without its colon.
fn definition_name(bytes: &[u8], name: Node) -> String {
    let name_text = text(bytes, name);
    match name.kind() {
        "simple_symbol" => name_text.strip_prefix(':').unwrap_or(&name_text).to_string(),
        _ => name_text.into_owned(),
    }
}

/// An OCaml `(** … *)` right after a definition: on its last line or the next, with nothing but
/// whitespace between, and followed by a blank line or the end of the file or of its enclosing
/// `struct`/`sig` (with the next item on the very next line, odoc calls the comment ambiguous and
/// the next item's preceding comment takes it).
fn following_doc_comment(bytes: &[u8], node: Node, comments: &[Node]) -> Option<String> {
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

/// The first paragraph of a Markdown or reStructuredText section (`node` is the section or its heading).
fn first_paragraph(bytes: &[u8], node: Node) -> Option<String> {
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

/// Elixir's `@doc "…"` before a definition, or `@moduledoc "…"` first in a module's `do` block.
fn doc_attribute(bytes: &[u8], node: Node) -> Option<String> {
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

fn docstring(bytes: &[u8], node: Node) -> Option<String> {
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

fn dedent(doc: &str) -> String {
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

fn preceding_comments(bytes: &[u8], node: Node, comments: &[Node], line_starts: &[usize]) -> Option<String> {
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

fn clean_comment(comment: &str) -> String {
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

/// See `FileFacts::interface_hash`.
fn interface_hash(
    bytes: &[u8],
    definitions: &[(Node, DefKind, Node)],
    signatures: &HashMap<usize, Node>,
    comments: &[Node],
) -> Digest {
    let bodies = merge_ranges(
        definitions
            .iter()
            .filter(|(_, kind, _)| kind.has_implementation_body())
            .filter_map(|(node, _, _)| body_of(*node))
            .map(|body| (body.start_byte(), body.end_byte()))
            .collect(),
    );
    // Bodies are marked as left out (so `fn f() {}` and `fn f();` differ); comments just vanish.
    let mut elided: Vec<(usize, usize, &str)> = bodies.iter().map(|&(s, e)| (s, e, " … ")).collect();
    elided.extend(
        comments
            .iter()
            .map(|c| (c.start_byte(), c.end_byte()))
            .filter(|&(s, _)| !inside(&bodies, s))
            .map(|(s, e)| (s, e, " ")),
    );
    elided.sort_unstable();

    let mut parts: Vec<String> = definitions
        .iter()
        .filter(|(node, _, _)| !inside(&bodies, node.start_byte()))
        .map(|(node, kind, name)| {
            if let Some(sig) = signatures.get(&name.start_byte()) {
                // A separate signature is the definition's whole interface (its equations are body).
                return format!(
                    "{}\u{1f}{}\u{1f}{}",
                    kind.name(),
                    text(bytes, *name),
                    text(bytes, *sig).split_whitespace().collect::<Vec<_>>().join(" ")
                );
            }
            let mut kept = String::new();
            let (start, end) = (node.start_byte(), node.end_byte());
            let mut at = start;
            let first = elided.partition_point(|&(_, e, _)| e <= start);
            for &(s, e, marker) in &elided[first..] {
                if s >= end {
                    break;
                }
                if s > at {
                    kept.push_str(&String::from_utf8_lossy(&bytes[at..s]));
                }
                kept.push_str(marker);
                at = at.max(e);
            }
            if at < end {
                kept.push_str(&String::from_utf8_lossy(&bytes[at..end]));
            }
            format!(
                "{}\u{1f}{}\u{1f}{}",
                kind.name(),
                text(bytes, *name),
                kept.split_whitespace().collect::<Vec<_>>().join(" ")
            )
        })
        .collect();
    // Order-independent: moving a definition is not an interface change.
    parts.sort_unstable();
    let mut builder = DigestBuilder::new();
    for part in &parts {
        builder.part(part.as_bytes());
    }
    builder.finish()
}

/// Whether `offset` falls inside one of the sorted, disjoint `ranges`.
fn inside(ranges: &[(usize, usize)], offset: usize) -> bool {
    let i = ranges.partition_point(|&(start, _)| start <= offset);
    i > 0 && offset < ranges[i - 1].1
}

fn merge_ranges(mut ranges: Vec<(usize, usize)>) -> Vec<(usize, usize)> {
    ranges.sort_unstable();
    let mut merged: Vec<(usize, usize)> = Vec::with_capacity(ranges.len());
    for (start, end) in ranges {
        match merged.last_mut() {
            Some(last) if start <= last.1 => last.1 = last.1.max(end),
            _ => merged.push((start, end)),
        }
    }
    merged
}

const TODO_TAGS: [&str; 4] = ["TODO", "FIXME", "XXX", "HACK"];

fn todos(bytes: &[u8], comments: &[Node]) -> Vec<Todo> {
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
fn todo_in_line(line: &str, at_line: u32) -> Option<Todo> {
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

    #[test]
    fn todo_tags_are_whole_words() {
        assert_eq!(find_tag("# TODO: fix", "TODO"), Some(2));
        assert_eq!(find_tag("# TODOS are fine", "TODO"), None);
        assert_eq!(find_tag("// FIXME(anna) later", "FIXME"), Some(3));
    }

    #[test]
    fn every_capture_name_has_a_role() {
        for &language in Language::ALL {
            for name in language.query().map_or(&[][..], |query| query.capture_names()) {
                assert!(role_of(name).is_some(), "@{name} in {} has no meaning", language.name());
            }
        }
    }
}
