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
    pub name: Name,
    pub kind: RefKind,
    pub span: Span,
}

/// A referenced name, interned: the same name in every file is one shared allocation. A big workspace
/// holds millions of references to a few hundred thousand names (1.67M to 220k on a 15,675-file
/// monorepo), and a `String` each cost ~40 bytes more per reference than a shared `Arc<str>`. Stored
/// exactly as a `String` (the interning happens when facts are made or read back).
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Name(std::sync::Arc<str>);

impl Name {
    /// The interned name for `text` (one allocation per distinct name for the life of the process).
    pub fn new(text: &str) -> Name {
        static NAMES: std::sync::OnceLock<std::sync::Mutex<std::collections::HashSet<std::sync::Arc<str>>>> =
            std::sync::OnceLock::new();
        let mut names = NAMES.get_or_init(Default::default).lock().unwrap_or_else(|e| e.into_inner());
        if let Some(name) = names.get(text) {
            return Name(name.clone());
        }
        let name: std::sync::Arc<str> = std::sync::Arc::from(text);
        names.insert(name.clone());
        Name(name)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::ops::Deref for Name {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl std::borrow::Borrow<str> for Name {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Name {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&*self.0, f)
    }
}

impl std::fmt::Display for Name {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl PartialEq<str> for Name {
    fn eq(&self, other: &str) -> bool {
        &*self.0 == other
    }
}

impl PartialEq<&str> for Name {
    fn eq(&self, other: &&str) -> bool {
        &*self.0 == *other
    }
}

impl PartialEq<String> for Name {
    fn eq(&self, other: &String) -> bool {
        *self.0 == **other
    }
}

impl From<&str> for Name {
    fn from(text: &str) -> Name {
        Name::new(text)
    }
}

impl From<String> for Name {
    fn from(text: String) -> Name {
        Name::new(&text)
    }
}

impl Serialize for Name {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Name {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Name, D::Error> {
        struct Visit;
        impl serde::de::Visitor<'_> for Visit {
            type Value = Name;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a name")
            }
            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Name, E> {
                Ok(Name::new(text))
            }
        }
        deserializer.deserialize_str(Visit)
    }
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
    pub terms: TermCounts,
}

/// Terms and their counts, sorted by term, packed into three allocations: a file's term lists are
/// most of its facts (a `Vec<(String, u32)>` spends ~48 bytes on a 7-letter term, this ~15), and the
/// server keeps every file's facts in memory. Stored exactly as a `Vec<(String, u32)>` would be.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TermCounts {
    /// The terms, one after another.
    words: Box<str>,
    /// Where each term ends in `words`.
    ends: Box<[u32]>,
    counts: Box<[u32]>,
}

impl TermCounts {
    /// From (term, count) pairs in any order (sorted here, so equal inputs pack equal).
    pub fn new(mut pairs: Vec<(String, u32)>) -> TermCounts {
        pairs.sort_unstable();
        let mut words = String::with_capacity(pairs.iter().map(|(t, _)| t.len()).sum());
        let mut ends = Vec::with_capacity(pairs.len());
        let mut counts = Vec::with_capacity(pairs.len());
        for (term, count) in pairs {
            words.push_str(&term);
            ends.push(words.len() as u32);
            counts.push(count);
        }
        TermCounts { words: words.into_boxed_str(), ends: ends.into_boxed_slice(), counts: counts.into_boxed_slice() }
    }

    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// The `i`th term in order.
    fn term(&self, i: usize) -> &str {
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        &self.words[start..self.ends[i] as usize]
    }

    /// (term, count), sorted by term.
    pub fn iter(&self) -> impl Iterator<Item = (&str, u32)> + '_ {
        (0..self.len()).map(|i| (self.term(i), self.counts[i]))
    }

    /// How often `term` occurs (0 when it does not).
    pub fn count(&self, term: &str) -> u32 {
        crate::terms::find_sorted(self.len(), |i| self.term(i).cmp(term)).map_or(0, |at| self.counts[at])
    }

    pub fn contains(&self, term: &str) -> bool {
        self.count(term) > 0
    }
}

impl Serialize for TermCounts {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.iter())
    }
}

impl<'de> Deserialize<'de> for TermCounts {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(TermCounts::new(Vec::<(String, u32)>::deserialize(deserializer)?))
    }
}

impl FileFacts {
    /// `Type.name` for a member of this file's `def`, else `name`.
    pub fn qualified_name(&self, def: &Definition) -> String {
        match def.parent.and_then(|p| self.definitions.get(p as usize)) {
            Some(parent) => format!("{}.{}", parent.name, def.name),
            None => def.name.clone(),
        }
    }

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packed_term_counts_answer_and_store_like_the_pairs_they_replace() {
        let pairs = vec![("socket".to_string(), 2), ("acquire".to_string(), 1), ("timeout".to_string(), 5)];
        let packed = TermCounts::new(pairs.clone());
        let mut sorted = pairs.clone();
        sorted.sort();
        let listed: Vec<(String, u32)> = packed.iter().map(|(t, c)| (t.to_string(), c)).collect();
        assert_eq!(listed, sorted);
        assert_eq!(packed.count("timeout"), 5);
        assert_eq!(packed.count("acquire"), 1);
        assert!(!packed.contains("sock"), "a prefix of a term is not the term");
        assert!(!packed.contains("zzz") && !packed.contains(""));
        // The stored bytes are those of the sorted pairs: facts stored before stay readable.
        let bytes = postcard::to_stdvec(&packed).unwrap();
        assert_eq!(bytes, postcard::to_stdvec(&sorted).unwrap());
        assert_eq!(postcard::from_bytes::<TermCounts>(&bytes).unwrap(), packed);
        assert!(TermCounts::new(Vec::new()).is_empty());
    }
}
