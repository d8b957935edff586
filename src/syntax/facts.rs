//! `FileFacts`: what reverie knows about one file without any model — its definitions, references,
//! imports, error-message sites, tests and TODOs — plus the two digests the rest of reverie is keyed on.
//!
//! Facts depend only on the file's bytes and its language, never on its path or on other files, so the
//! store can share them between identical files and keep them across renames (content addressing).
//! Positions are 0-based lines and byte columns; conversion to editor positions happens at the edge.

use crate::hash::Digest;
use crate::syntax::Language;
use serde::{Deserialize, Serialize};

/// A 0-based position: line and byte column.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Point {
    pub line: u32,
    pub column: u32,
}

/// A region of a file, in bytes and in lines (end exclusive in bytes, inclusive point in lines).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Span {
    pub start_byte: u32,
    pub end_byte: u32,
    pub start: Point,
    pub end: Point,
}

impl Span {
    /// 1-based first and last line, as people cite them (`path:12-30`).
    pub fn lines_1based(&self) -> (u32, u32) {
        (self.start.line + 1, self.end.line + 1)
    }

    pub fn contains(&self, other: &Span) -> bool {
        self.start_byte <= other.start_byte && other.end_byte <= self.end_byte
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum DefKind {
    Function,
    Method,
    Class,
    Interface,
    Type,
    Enum,
    Module,
    Macro,
    Constant,
    /// A section of a document: a Markdown heading or a reStructuredText title and what follows it up
    /// to the next heading of the same or a higher level.
    Section,
}

impl DefKind {
    pub fn from_capture(kind: &str) -> Option<DefKind> {
        Some(match kind {
            "function" => DefKind::Function,
            "method" => DefKind::Method,
            "class" | "struct" => DefKind::Class,
            "interface" | "trait" => DefKind::Interface,
            "type" => DefKind::Type,
            "enum" => DefKind::Enum,
            "module" | "namespace" => DefKind::Module,
            "macro" => DefKind::Macro,
            "constant" | "variable" => DefKind::Constant,
            "section" => DefKind::Section,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            DefKind::Function => "function",
            DefKind::Method => "method",
            DefKind::Class => "class",
            DefKind::Interface => "interface",
            DefKind::Type => "type",
            DefKind::Enum => "enum",
            DefKind::Module => "module",
            DefKind::Macro => "macro",
            DefKind::Constant => "constant",
            DefKind::Section => "section",
        }
    }

    /// Functions and methods: their bodies are implementation, not interface.
    pub fn has_implementation_body(self) -> bool {
        matches!(self, DefKind::Function | DefKind::Method)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum RefKind {
    Call,
    Type,
    Implementation,
    Name,
}

impl RefKind {
    pub fn from_capture(kind: &str) -> Option<RefKind> {
        Some(match kind {
            "call" | "send" => RefKind::Call,
            "type" | "class" => RefKind::Type,
            "implementation" => RefKind::Implementation,
            "name" | "identifier" | "import" | "attribute" => RefKind::Name,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            RefKind::Call => "call",
            RefKind::Type => "type",
            RefKind::Implementation => "implementation",
            RefKind::Name => "name",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Definition {
    pub name: String,
    pub kind: DefKind,
    /// The whole definition, from its first to its last byte.
    pub span: Span,
    /// The definition's header with whitespace collapsed and its body left out, e.g.
    /// `def get(self, key, default=None)` or `pub fn open(path: &Path) -> Result<Store>`.
    pub signature: String,
    pub doc: Option<String>,
    /// Index (into `definitions`) of the innermost definition that encloses this one.
    pub parent: Option<u32>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reference {
    pub name: String,
    pub kind: RefKind,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Import {
    /// The imported module or path as written (`os.path`, `crate::store::Store`, `./util`, `<stdio.h>`).
    pub path: String,
    pub span: Span,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ErrorKind {
    /// `raise`, `throw`.
    Raise,
    /// `panic!`, `unreachable!`, `.expect(..)`, `panic(..)`, `abort`.
    Panic,
    /// An error-level log call.
    Log,
    /// An error value that is returned or constructed: `Err(..)`, `errors.New(..)`, `bail!(..)`.
    Return,
}

impl ErrorKind {
    pub fn from_capture(kind: &str) -> Option<ErrorKind> {
        Some(match kind {
            "raise" | "throw" => ErrorKind::Raise,
            "panic" => ErrorKind::Panic,
            "log" => ErrorKind::Log,
            "return" => ErrorKind::Return,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            ErrorKind::Raise => "raise",
            ErrorKind::Panic => "panic",
            ErrorKind::Log => "log",
            ErrorKind::Return => "return",
        }
    }
}

/// A place where an error message is produced, with the message's literal text. Users paste error
/// messages into questions, so the literal is how a question finds its way to the code.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorSite {
    pub message: String,
    pub kind: ErrorKind,
    pub span: Span,
    /// Index of the innermost definition that contains the site.
    pub definition: Option<u32>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestCase {
    pub name: String,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Todo {
    /// `TODO`, `FIXME`, `XXX` or `HACK`.
    pub tag: String,
    pub text: String,
    pub line: u32,
}

/// Everything extracted from one file. See the module docs for what it depends on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileFacts {
    pub language: Language,
    /// Digest of the file's bytes.
    pub content_hash: Digest,
    /// Digest of the file's interface: every definition that is not inside a function body, with
    /// function bodies and comments left out and whitespace collapsed. A body-only edit keeps it; a
    /// changed signature, added or removed definition, or changed type member changes it.
    pub interface_hash: Digest,
    pub line_count: u32,
    pub byte_len: u32,
    /// The parser had to recover from syntax errors (the facts are still as complete as it could make them).
    pub has_syntax_errors: bool,
    pub definitions: Vec<Definition>,
    pub references: Vec<Reference>,
    pub imports: Vec<Import>,
    pub error_sites: Vec<ErrorSite>,
    pub tests: Vec<TestCase>,
    pub todos: Vec<Todo>,
    /// The file's words for full-text search, per definition and per module-level chunk (`text.rs`).
    pub text: Vec<TextDoc>,
}

/// One document of the full-text index: a definition's own lines, or a chunk of code outside every
/// definition.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TextDoc {
    /// 1-based, inclusive.
    pub start_line: u32,
    pub end_line: u32,
    /// Index into `definitions`; `None` for code outside every definition.
    pub definition: Option<u32>,
    /// Terms and how often they occur, sorted by term.
    pub terms: Vec<(String, u32)>,
}

impl FileFacts {
    /// The innermost definition containing `span`, if any.
    pub fn enclosing_definition(&self, span: &Span) -> Option<u32> {
        self.definitions
            .iter()
            .enumerate()
            .filter(|(_, def)| def.span.contains(span))
            .min_by_key(|(_, def)| def.span.end_byte - def.span.start_byte)
            .map(|(index, _)| index as u32)
    }

    /// The innermost definition whose lines hold the 0-based `line`, if any.
    pub fn definition_around_line(&self, line: u32) -> Option<u32> {
        self.definitions
            .iter()
            .enumerate()
            .filter(|(_, def)| def.span.start.line <= line && line <= def.span.end.line)
            .min_by_key(|(_, def)| def.span.end_byte - def.span.start_byte)
            .map(|(index, _)| index as u32)
    }
}

/// A compact, line-per-fact text rendering of `FileFacts`, for `reverie facts` and fixture tests.
/// Lines are 1-based, as in editors.
pub fn render_facts(facts: &FileFacts) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let line = |span: &Span| format!("{}-{}", span.start.line + 1, span.end.line + 1);
    let _ = writeln!(
        out,
        "language {} lines {} syntax-errors {}",
        facts.language.name(),
        facts.line_count,
        facts.has_syntax_errors
    );
    for def in &facts.definitions {
        let parent = def.parent.map_or(String::new(), |p| format!(" in {}", facts.definitions[p as usize].name));
        let _ = writeln!(out, "def {} {} {}{} | {}", def.kind.name(), def.name, line(&def.span), parent, def.signature);
        if let Some(doc) = &def.doc {
            let _ = writeln!(out, "    doc {:?}", doc);
        }
    }
    for r in &facts.references {
        let _ = writeln!(out, "ref {} {} {}", r.kind.name(), r.name, r.span.start.line + 1);
    }
    for import in &facts.imports {
        let _ = writeln!(out, "import {} {}", import.path, import.span.start.line + 1);
    }
    for site in &facts.error_sites {
        let within = site.definition.map_or(String::new(), |d| format!(" in {}", facts.definitions[d as usize].name));
        let _ = writeln!(out, "error {} {:?} {}{}", site.kind.name(), site.message, site.span.start.line + 1, within);
    }
    for test in &facts.tests {
        let _ = writeln!(out, "test {} {}", test.name, line(&test.span));
    }
    for todo in &facts.todos {
        let _ = writeln!(out, "todo {} {:?} {}", todo.tag, todo.text, todo.line + 1);
    }
    out
}
