//! Fact extraction: one parse and one query pass over a file turn its bytes into `FileFacts`.
//!
//! The language's query (see `language.rs`) does the matching; this module only interprets captures by
//! name (the contract in `grammars/README.md`), attaches docs and signatures, and computes the interface
//! digest. It is a pure function of the bytes and the language: no IO, no global state beyond the
//! compiled queries and a per-thread parser, and it never fails — broken code yields the facts the
//! parser could recover.
//!
//! The generic extraction is here; what only some languages need sits beside it, one module each:
//! `markdown.rs` (prose naming code), `rst.rs` (sections, roles, directives), `ocaml.rs` and
//! `elixir.rs` (their doc rules). `docs.rs` finds the docs most languages write, `interface.rs`
//! computes the interface digest, `todos.rs` the todo lines, `source.rs` texts and spans.

mod docs;
mod elixir;
mod interface;
mod markdown;
mod ocaml;
mod rst;
mod source;
mod todos;

use crate::hash::{Digest, DigestBuilder};
use crate::syntax::facts::*;
use crate::syntax::{DocStyle, Language};
use rustc_hash::FxHashMap;
use source::{collapse_whitespace, count_lines, line_starts, literal_text, message_text, span, text, trimmed_span};
use std::cell::RefCell;
use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::sync::OnceLock;
use streaming_iterator::StreamingIterator;
use tree_sitter::{Node, Parser, Query, QueryCursor, QueryMatch, Tree};

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
        if let Some(todo) = todos::todo_in_line(content, line as u32) {
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
    let root = tree.root_node();
    let mut captured = Captured::default();
    let roles = roles(language, query);
    let mut cursor = QueryCursor::new();
    let mut matches = cursor.matches(query, root, bytes);
    while let Some(m) = matches.next() {
        captured.add(bytes, roles, m);
    }
    let Captured {
        definitions,
        mut references,
        error_sites,
        tests,
        mut imports,
        mut comments,
        signatures,
        inlines,
        ..
    } = captured;
    comments.sort_by_key(|node| node.start_byte());
    comments.dedup_by_key(|node| node.start_byte());

    let mut definitions: Vec<(Node, DefKind, Node)> =
        definitions.into_values().map(|(_, definition)| definition).collect();
    definitions
        .sort_by_key(|(node, _, name)| (node.start_byte(), std::cmp::Reverse(node.end_byte()), name.start_byte()));
    let line_starts = line_starts(bytes);
    let facts_definitions = definitions_of(bytes, language, &definitions, &signatures, &comments, &line_starts);
    let interface_hash = interface::interface_hash(bytes, &definitions, &signatures, &comments);

    // A definition's own name is not a reference to it.
    for (_, _, name) in &definitions {
        references.remove(&name.start_byte());
    }
    let mut references: Vec<Reference> = references
        .into_values()
        .map(|(_, (node, kind))| Reference { name: Name::new(&text(bytes, node)), kind, span: span(node) })
        .collect();
    let mut todos = todos::todos(bytes, &comments);
    scan_prose(bytes, language, inlines, &line_starts, &mut references, &mut imports, &mut todos);
    todos.sort_by_key(|todo| todo.line);
    references.sort_by_key(|r| r.span.start_byte);

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
    facts.error_sites = error_sites_of(bytes, error_sites, &facts);
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

/// What the query's matches captured, before it becomes facts. Definitions, references and error
/// sites are keyed by the start byte of the name/message node, so that the same node matched by
/// several patterns is counted once; the earliest pattern (the most specific one) wins.
#[derive(Default)]
struct Captured<'tree> {
    /// Pattern index, then the definition node, its kind and its name node.
    definitions: FxHashMap<usize, (usize, (Node<'tree>, DefKind, Node<'tree>))>,
    /// Pattern index, then the name node and the kind.
    references: FxHashMap<usize, (usize, (Node<'tree>, RefKind))>,
    /// Pattern index, then the site, its kind and the message node.
    error_sites: FxHashMap<usize, (usize, (Node<'tree>, ErrorKind, Node<'tree>))>,
    /// The test node and its name, keyed by the test's start.
    tests: FxHashMap<usize, (Node<'tree>, Node<'tree>)>,
    imports: Vec<Import>,
    /// Start bytes of the import nodes already kept.
    import_nodes: FxHashMap<usize, ()>,
    comments: Vec<Node<'tree>>,
    /// A definition's separate signature, keyed by the definition's name node like `definitions`.
    signatures: FxHashMap<usize, Node<'tree>>,
    inlines: Vec<Node<'tree>>,
}

/// What one match captured, by role.
#[derive(Default)]
struct MatchCaptures<'tree> {
    def: Option<(Node<'tree>, DefKind)>,
    reference: Option<(Node<'tree>, RefKind)>,
    name: Option<Node<'tree>>,
    import: Option<Node<'tree>>,
    import_paths: Vec<Node<'tree>>,
    error_site: Option<(Node<'tree>, ErrorKind)>,
    message: Option<Node<'tree>>,
    test: Option<Node<'tree>>,
    test_name: Option<Node<'tree>>,
    signature: Option<Node<'tree>>,
}

/// Keeps `value` (found by `pattern`) at `key` unless an earlier pattern got there first; whether
/// it was kept.
fn keep_earliest<V>(map: &mut FxHashMap<usize, (usize, V)>, key: usize, pattern: usize, value: V) -> bool {
    match map.entry(key) {
        Entry::Vacant(slot) => {
            slot.insert((pattern, value));
            true
        }
        Entry::Occupied(mut slot) if slot.get().0 > pattern => {
            slot.insert((pattern, value));
            true
        }
        Entry::Occupied(_) => false,
    }
}

impl<'tree> Captured<'tree> {
    /// Adds one match's captures (`roles` gives each capture index its role).
    fn add(&mut self, bytes: &[u8], roles: &[Role], m: &QueryMatch<'_, 'tree>) {
        let mut one = MatchCaptures::default();
        for capture in m.captures() {
            let node = capture.node;
            match roles[capture.index as usize] {
                Role::Definition(kind) => one.def = Some((node, kind)),
                Role::Reference(kind) => one.reference = Some((node, kind)),
                Role::Name => one.name = Some(node),
                Role::Import => one.import = Some(node),
                Role::ImportPath => one.import_paths.push(node),
                Role::ErrorSite(kind) => one.error_site = Some((node, kind)),
                Role::ErrorMessage => one.message = Some(node),
                Role::Test => one.test = Some(node),
                Role::TestName => one.test_name = Some(node),
                Role::Comment => self.comments.push(node),
                Role::Signature => one.signature = Some(node),
                Role::Inline => self.inlines.push(node),
                Role::Predicate => {}
            }
        }
        let pattern = m.pattern_index;
        if let (Some((node, kind)), Some(name)) = (one.def, one.name) {
            if keep_earliest(&mut self.definitions, name.start_byte(), pattern, (node, kind, name)) {
                match one.signature {
                    Some(sig) => self.signatures.insert(name.start_byte(), sig),
                    None => self.signatures.remove(&name.start_byte()),
                };
            }
        } else if let (Some((_, kind)), Some(name)) = (one.reference, one.name) {
            keep_earliest(&mut self.references, name.start_byte(), pattern, (name, kind));
        }
        if let Some(node) = one.import {
            self.add_import(bytes, node, &one.import_paths);
        }
        if let (Some((site, kind)), Some(message)) = (one.error_site, one.message) {
            keep_earliest(&mut self.error_sites, message.start_byte(), pattern, (site, kind, message));
        }
        if let (Some(test), Some(test_name)) = (one.test, one.test_name) {
            self.tests.entry(test.start_byte()).or_insert((test, test_name));
        }
    }

    /// An import statement `node`: its paths when the query captured them, else its text.
    fn add_import(&mut self, bytes: &[u8], node: Node<'tree>, paths: &[Node<'tree>]) {
        if paths.is_empty() {
            if self.import_nodes.insert(node.start_byte(), ()).is_none() {
                // The statement's text, less the keyword: `import a.b.{C, D}` → `a.b.{C, D}`.
                let statement = text(bytes, node);
                let path = statement.strip_prefix("import ").unwrap_or(&statement);
                self.imports.push(Import { path: collapse_whitespace(path, 200), span: span(node) });
            }
        } else {
            for &path in paths {
                if self.import_nodes.insert(path.start_byte(), ()).is_none() {
                    self.imports.push(Import { path: literal_text(&text(bytes, path), 200), span: span(path) });
                }
            }
        }
    }
}

/// The definitions' facts, in the order of `nodes` (sorted by start, outer before inner), with their
/// signatures, docs and parents.
fn definitions_of(
    bytes: &[u8],
    language: Language,
    nodes: &[(Node, DefKind, Node)],
    signatures: &FxHashMap<usize, Node>,
    comments: &[Node],
    line_starts: &[usize],
) -> Vec<Definition> {
    let mut definitions: Vec<Definition> = nodes
        .iter()
        .map(|&(node, kind, name)| match signatures.get(&name.start_byte()) {
            Some(&sig) => Definition {
                name: definition_name(bytes, name),
                kind,
                span: Span { start_byte: sig.start_byte() as u32, start: span(sig).start, ..trimmed_span(bytes, node) },
                signature: collapse_whitespace(&text(bytes, sig), MAX_SIGNATURE_BYTES),
                doc: doc(bytes, language, sig, comments, line_starts),
                parent: None,
            },
            None => Definition {
                name: definition_name(bytes, name),
                kind,
                span: trimmed_span(bytes, node),
                signature: signature(bytes, node, comments),
                doc: doc(bytes, language, node, comments, line_starts),
                parent: None,
            },
        })
        .collect();
    if language == Language::Rst {
        rst::rst_sections(bytes, nodes, &mut definitions, line_starts);
    }
    assign_parents(&mut definitions);
    definitions
}

/// Prose with inline markup (`inlines`, Markdown's or reStructuredText's), scanned for references,
/// imports and todos.
fn scan_prose(
    bytes: &[u8],
    language: Language,
    mut inlines: Vec<Node>,
    line_starts: &[usize],
    references: &mut Vec<Reference>,
    imports: &mut Vec<Import>,
    todos: &mut Vec<Todo>,
) {
    inlines.sort_by_key(|node| node.start_byte());
    inlines.dedup_by_key(|node| node.start_byte());
    for node in &inlines {
        if language == Language::Rst {
            rst::scan_rst(bytes, *node, line_starts, references, imports, todos);
        } else {
            markdown::scan_inline(bytes, node.start_byte(), node.end_byte(), line_starts, references, imports, todos);
        }
    }
}

/// The error sites with a message, in file order, each with its enclosing definition in `facts`.
fn error_sites_of(
    bytes: &[u8],
    captured: FxHashMap<usize, (usize, (Node, ErrorKind, Node))>,
    facts: &FileFacts,
) -> Vec<ErrorSite> {
    let mut sites: Vec<ErrorSite> = captured
        .into_values()
        .map(|(_, (site, kind, message))| ErrorSite {
            message: message_text(&text(bytes, message)),
            kind,
            span: span(site),
            definition: None,
        })
        .filter(|site| !site.message.trim().is_empty())
        .collect();
    sites.sort_by_key(|site| site.span.start_byte);
    for site in &mut sites {
        site.definition = facts.enclosing_definition(&site.span);
    }
    sites
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
        DocStyle::Docstring => docs::docstring(bytes, node),
        DocStyle::PrecedingComments => docs::preceding_comments(bytes, node, comments, line_starts),
        DocStyle::DocAttribute => {
            elixir::doc_attribute(bytes, node).or_else(|| docs::preceding_comments(bytes, node, comments, line_starts))
        }
        DocStyle::PrecedingOrFollowingDocComment => docs::preceding_comments(bytes, node, comments, line_starts)
            .or_else(|| ocaml::following_doc_comment(bytes, node, comments)),
        DocStyle::FirstParagraph => docs::first_paragraph(bytes, node),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_capture_name_has_a_role() {
        for &language in Language::ALL {
            for name in language.query().map_or(&[][..], |query| query.capture_names()) {
                assert!(role_of(name).is_some(), "@{name} in {} has no meaning", language.name());
            }
        }
    }
}
