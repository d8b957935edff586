//! Whether the code a text names exists. A model's answer (or a note) writes names as code — inline
//! code, code blocks, `Type.method`, `module.function`, `path/to/file.py:123` — and a small model
//! invents some (`FlaskContext`, `session.cookies[0]`, `requests.get` in a project that never uses
//! requests). Each name is looked up here and is either *grounded* — in the workspace's facts, or one
//! of the language's own names (`syntax::is_own_name`: keywords, builtins, the standard library) — or
//! *unverified*: found nowhere. Nothing is ever judged wrong for being absent from the model's context;
//! only for being absent from the workspace and the language.
//!
//! What counts as a name (read by `grounding/written.rs`):
//! - in prose: inline code (read as a snippet, below); bare words shaped like code (`get_app`,
//!   `FlaskContext`, `__init__`, `run()`), chains (`Flask.route`, `flask.app`,
//!   `cereal::XMLOutputArchive`), paths with a source extension or a `/`, with an optional `:line`
//!   or `:start-end`;
//! - in a snippet (a code block or inline code): every identifier chain it *uses*, minus what the
//!   snippet binds itself (assignments, parameters, loop variables, `def`/`class`/`fn`/`let` names,
//!   C-family declarations `std::vector<int> v;`, keyword arguments, object keys) and minus string
//!   literals and comments; an import is a use (`import requests` claims `requests` exists) that also
//!   binds its name, and so is a destructured key (`const { getHeaders } = require(…)`); an
//!   `#include` names a header, which must be a workspace file or a standard header — whatever the
//!   block's tag says, a block that includes headers is C's and C++'s too; a name it uses unbound is
//!   a claim when called, capitalized or shaped like code (`requestBody`), a placeholder when a
//!   plain word (`url`);
//! - one-letter identifiers, numbers and URLs never count.
//!
//! How a name is looked up, strongest evidence first:
//! - a path: a workspace file whose path ends with it (`names::files_at_path`), and a cited line
//!   inside that file (`FileFacts::line_count`); cited lines written in the same sentence or list
//!   item as names of code must hold one of them — overlap its definition or reference it
//!   (`grounding/cited.rs`);
//! - a single name: a definition, a reference, an import's segment, a file or folder name; else a
//!   language's own name; else, for a name standing alone or after a dot, the same identifier in the
//!   workspace's text (comments, strings, attribute accesses that are not facts: `status_code`),
//!   in the same case when sources can be read (Go's `UseLine` is not `useLine`);
//! - a chain `a.b`: `a` a standard module with known members (`json.loads`, not `json.loadz`, unless
//!   the workspace writes `a.b`: a variable may share a module's name); `a` a workspace package (a
//!   folder), then `b` a module, folder, top-level definition or import of it, or `a.b` written
//!   somewhere (`jinja2.cache` is not), and so on down the chain's modules; `a` a workspace type or
//!   module, or the language's own receiver (`self`, `this`), then `b` as above; `a`
//!   anything else (a variable, `session`, `engine`): the text `a.b` must be written somewhere in the
//!   workspace's sources — `session.cookies` is not, even though `request.cookies` is. Without a
//!   source reader (notes), `a` and `b` are looked up separately.
//!
//! Notes' reliability (`learned.rs`) counts their named symbols with `is_defined` here, the first
//! rung of the same lookup. Pure but for the `source` reader the caller passes.

use crate::snapshot::Snapshot;
use crate::syntax::Language;
use crate::syntax::facts::DefKind;
use std::collections::{HashMap, HashSet};
use written::{What, written_names};

mod cited;
mod written;

/// How a name was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// In the workspace: a file, a definition, a reference, an import, or its text.
    Workspace,
    /// One of the language's own names (keyword, builtin, standard library).
    Language,
    /// Found nowhere.
    Unverified,
}

impl Verdict {
    /// `workspace`, `language` or `unverified`.
    pub fn name(self) -> &'static str {
        match self {
            Verdict::Workspace => "workspace",
            Verdict::Language => "language",
            Verdict::Unverified => "unverified",
        }
    }
}

/// One name a text writes as code, and whether it was found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Claim {
    /// As written, without call parentheses or indexing: `session.cookies`, `src/app.py:900`.
    pub name: String,
    /// Where a mark for it goes in the text: just after the inline code, the word, or the code block.
    pub mark_at: usize,
    /// Inside a fenced code block (marked after the block, not in the code).
    pub in_block: bool,
    pub verdict: Verdict,
    /// Why an unverified path is unverified (`the file has 120 lines`, `lines 3–9 of app.py hold
    /// `Flask.route`, not `find_template``), when that helps.
    pub detail: Option<String>,
}

/// Every claim of a text, in order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Grounding {
    pub claims: Vec<Claim>,
}

impl Grounding {
    /// The unverified names, once each, in order of appearance.
    pub fn unverified(&self) -> Vec<String> {
        let mut seen = HashSet::new();
        self.claims
            .iter()
            .filter(|c| c.verdict == Verdict::Unverified && seen.insert(c.name.clone()))
            .map(|c| c.name.clone())
            .collect()
    }

    /// Distinct names checked, and how many of them are unverified.
    pub fn counts(&self) -> (usize, usize) {
        let names: HashSet<&str> = self.claims.iter().map(|c| c.name.as_str()).collect();
        (names.len(), self.unverified().len())
    }
}

/// Whether `name` is defined in the workspace — in `file` when one is given. The lookup a note's
/// named symbols get (`learned.rs`) and the first rung of every name's.
pub fn is_defined(snapshot: &Snapshot, name: &str, file: Option<&str>) -> bool {
    match file {
        // From the summary's names: no file's facts are read (notes' reliability asks this of
        // every file that has notes).
        Some(file) => {
            snapshot.definitions_by_name.get(name).is_some_and(|defs| defs.iter().any(|(key, _)| &**key == file))
        }
        None => snapshot.definitions_by_name.contains_key(name),
    }
}

/// Reads a workspace file's text by key (an open buffer or the disk), if it can.
pub type SourceReader<'a> = &'a dyn Fn(&str) -> Option<String>;

/// The names methods reach their object by, by convention (`self`, `cls`) or by keyword (`this`):
/// what follows them is looked up as a member.
const RECEIVERS: &[&str] = &["self", "cls", "this", "Self", "super"];

/// Files read at most to find one `a.b` written in the workspace.
const MAX_FILES_READ_PER_CHAIN: usize = 40;

/// Checks every name `text` writes as code (see the module docs). `source` reads workspace files
/// for chains on variables; `None` looks their parts up separately.
pub fn check(snapshot: &Snapshot, text: &str, source: Option<SourceReader<'_>>) -> Grounding {
    let lookup = Lookup::new(snapshot, source);
    let written = written_names(text, &lookup.languages);
    let mut claims = Vec::new();
    for written in &written {
        let (verdict, detail) = match &written.what {
            What::Path { path, line } => lookup.path(path, *line),
            What::Header(header) => (lookup.header(header, &written.languages), None),
            What::Chain { parts, alone } => (lookup.chain(parts, *alone, &written.languages), None),
        };
        claims.push(Claim {
            name: written.name.clone(),
            mark_at: written.mark_at,
            in_block: written.in_block,
            verdict,
            detail,
        });
    }
    cited::judge_cited_lines(snapshot, &written, &mut claims);
    Grounding { claims }
}

struct Lookup<'a> {
    snapshot: &'a Snapshot,
    source: Option<SourceReader<'a>>,
    text_index: std::sync::Arc<crate::search::TextIndex>,
    /// The workspace's languages with a grammar, most files first.
    languages: Vec<Language>,
    /// Segments of import paths (`werkzeug`, `datastructures` of `werkzeug.datastructures`).
    import_segments: HashSet<String>,
    /// File stems and folder names (`app`, `flask`).
    module_names: HashSet<String>,
    /// Folder names alone (`flask`).
    folder_names: HashSet<String>,
    /// Sources read so far.
    read: std::cell::RefCell<HashMap<String, Option<String>>>,
}

impl<'a> Lookup<'a> {
    fn new(snapshot: &'a Snapshot, source: Option<SourceReader<'a>>) -> Lookup<'a> {
        let mut counts: HashMap<Language, usize> = HashMap::new();
        let mut import_segments = HashSet::new();
        let mut module_names = HashSet::new();
        let mut folder_names = HashSet::new();
        for (key, facts) in &snapshot.files {
            if facts.language.grammar().is_some() {
                *counts.entry(facts.language).or_default() += 1;
            }
            for import in &facts.imports {
                import_segments.extend(
                    import
                        .path
                        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
                        .filter(|s| !s.is_empty())
                        .map(str::to_string),
                );
            }
            for part in key.split('/') {
                module_names.insert(part.rsplit_once('.').map_or(part, |(stem, _)| stem).to_string());
            }
            if let Some((folders, _)) = key.rsplit_once('/') {
                folder_names.extend(folders.split('/').map(str::to_string));
            }
        }
        let mut languages: Vec<(Language, usize)> = counts.into_iter().collect();
        languages.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        Lookup {
            snapshot,
            source,
            text_index: snapshot.text_index(),
            languages: languages.into_iter().map(|(l, _)| l).collect(),
            import_segments,
            module_names,
            folder_names,
            read: Default::default(),
        }
    }

    fn path(&self, path: &str, line: Option<(u32, u32)>) -> (Verdict, Option<String>) {
        let files = super::names::files_at_path(self.snapshot, path);
        if files.is_empty() {
            return (Verdict::Unverified, None);
        }
        let Some((start, end)) = line else { return (Verdict::Workspace, None) };
        let longest = files.iter().filter_map(|f| self.snapshot.files.get(f)).map(|f| f.line_count).max().unwrap_or(0);
        if start >= 1 && start <= end && end <= longest {
            (Verdict::Workspace, None)
        } else {
            (Verdict::Unverified, Some(format!("the file has {longest} lines")))
        }
    }

    /// A workspace file whose path ends with `header`, or a standard header of the languages (C's
    /// and C++'s always: an `#include` line says the code is theirs, whatever its block's tag).
    fn header(&self, header: &str, languages: &[Language]) -> Verdict {
        if !super::names::files_at_path(self.snapshot, header).is_empty() {
            Verdict::Workspace
        } else if languages
            .iter()
            .chain(&[Language::C, Language::Cpp])
            .any(|&l| crate::syntax::is_own_header(l, header))
        {
            Verdict::Language
        } else {
            Verdict::Unverified
        }
    }

    /// A fact of the workspace: defined, referenced, imported, or a file or folder's name.
    fn in_facts(&self, name: &str) -> bool {
        is_defined(self.snapshot, name, None)
            || self.snapshot.references_by_name.contains_key(name)
            || self.import_segments.contains(name)
            || self.module_names.contains(name)
    }

    /// Written in the workspace's text as this identifier: the index finds it case aside, and, with
    /// a source reader, a file it ranks writes it in this very case as a whole word (Go's
    /// `UseLine` is not `useLine`).
    fn in_text(&self, name: &str) -> bool {
        let terms = crate::terms::tokenize(name);
        // A name of several parts keeps its whole form as a term; a one-part name is its only term.
        let whole = name.to_lowercase();
        if !(terms.contains(&whole) && self.text_index.file_share(&whole) > 0.0) {
            return false;
        }
        let Some(source) = self.source else { return true };
        let mut read = self.read.borrow_mut();
        self.text_index.rank_files(&[whole], MAX_FILES_READ_PER_CHAIN).into_iter().any(|(file, _)| {
            let text = read.entry(file.to_string()).or_insert_with(|| source(&file));
            text.as_deref().is_some_and(|t| contains_word(t, name))
        })
    }

    fn own(&self, languages: &[Language], name: &str) -> bool {
        // A receiver (`self`, `this`) is the language's own in every language that has one, whether
        // or not its grammar makes it a keyword token (Python's does not).
        RECEIVERS.contains(&name) || languages.iter().any(|&l| crate::syntax::is_own_name(l, name))
    }

    /// One name standing alone or after a dot.
    fn single(&self, name: &str, languages: &[Language]) -> Verdict {
        if self.in_facts(name) {
            Verdict::Workspace
        } else if self.own(languages, name) {
            Verdict::Language
        } else if self.in_text(name) {
            Verdict::Workspace
        } else {
            Verdict::Unverified
        }
    }

    fn chain(&self, parts: &[String], alone: bool, languages: &[Language]) -> Verdict {
        let Some((head, tail)) = parts.split_first() else { return Verdict::Unverified };
        if !alone {
            // After a variable the snippet bound itself: only what follows it is a claim.
            return self.members(tail, languages, Verdict::Workspace);
        }
        if tail.is_empty() {
            return self.single(head, languages);
        }
        if RECEIVERS.contains(&head.as_str()) {
            // `self.load`, `this.router`: a member of whatever class the text is about.
            return self.members(tail, languages, Verdict::Workspace);
        }
        let workspace_kind = self
            .snapshot
            .definitions_by_name
            .get(head.as_str())
            .and_then(|defs| defs.first())
            .and_then(|(file, i)| self.snapshot.definition(file, i))
            .map(|definition| definition.kind);
        let type_or_module = matches!(
            workspace_kind,
            Some(DefKind::Class | DefKind::Interface | DefKind::Type | DefKind::Enum | DefKind::Module)
        ) || self.module_names.contains(head.as_str())
            || self.import_segments.contains(head.as_str());
        if workspace_kind.is_none() {
            for &language in languages {
                match crate::syntax::is_own_member(language, head, &tail[0]) {
                    Some(true) => return Verdict::Language,
                    // A workspace file of the same name (its own `parser.py`) may define it, and a
                    // variable may share a module's name (Go's `flag.Name` on a `*pflag.Flag`).
                    Some(false)
                        if !self.module_names.contains(head.as_str())
                            && self.written_somewhere(head, &tail[0]) != Some(true) =>
                    {
                        return Verdict::Unverified;
                    }
                    _ => {}
                }
            }
        }
        // A workspace package (a folder; a file's stem is as often a variable's name, `app`).
        let a_workspace_module = self.folder_names.contains(head.as_str())
            && matches!(workspace_kind, None | Some(DefKind::Module))
            && self.source.is_some();
        if a_workspace_module {
            // `jinja2.cache`: the package is real, the module is not. Down the chain while its parts
            // are modules (`flask.sessions.cache`).
            let mut module = head;
            for member in tail {
                if !self.module_has(module, member) {
                    return Verdict::Unverified;
                }
                if !self.module_names.contains(member.as_str()) {
                    break;
                }
                module = member;
            }
        }
        if type_or_module {
            return self.members(tail, languages, Verdict::Workspace);
        }
        if workspace_kind.is_none() && self.own(languages, head) {
            // `str.join`, `Vec::new`, `console.log`: the receiver is the language's.
            return self.members(tail, languages, Verdict::Language);
        }
        // A variable or an unknown name: `a.b` must be written in the workspace.
        match self.written_somewhere(head, &tail[0]) {
            Some(true) => self.members(&tail[1..], languages, Verdict::Workspace),
            Some(false) => Verdict::Unverified,
            None if workspace_kind.is_some() || self.in_facts(head) => {
                self.members(tail, languages, Verdict::Workspace)
            }
            None => Verdict::Unverified,
        }
    }

    /// Whether the workspace module `module` (a folder or a file's stem) has `member`: a file or
    /// folder in it, a definition at the top of one of its files or in a namespace there, a module
    /// it imports (a re-export), or `module.member` written somewhere.
    fn module_has(&self, module: &str, member: &str) -> bool {
        let found = self.snapshot.files.iter().any(|(key, facts)| {
            let parts: Vec<&str> = key.split('/').collect();
            let stem = |part: &str| part.rsplit_once('.').map_or(part, |(stem, _)| stem).to_string();
            let Some(at) = parts.iter().position(|part| stem(part) == module) else { return false };
            parts[at + 1..].iter().take(1).any(|part| stem(part) == member)
                || facts.definitions.iter().any(|d| {
                    // Top-level, or in a namespace or module (`namespace cereal { class … }`).
                    d.name == member
                        && d.parent.is_none_or(|p| {
                            facts.definitions.get(p as usize).is_some_and(|p| p.kind == DefKind::Module)
                        })
                })
                || facts.imports.iter().any(|i| {
                    i.path.split(|c: char| !(c.is_alphanumeric() || c == '_')).any(|segment| segment == member)
                })
        });
        found || self.written_somewhere(module, member) == Some(true)
    }

    /// Names after a dot: each one looked up alone; `base` when all are found.
    fn members(&self, parts: &[String], languages: &[Language], base: Verdict) -> Verdict {
        if parts.iter().any(|part| self.single(part, languages) == Verdict::Unverified) {
            Verdict::Unverified
        } else {
            base
        }
    }

    /// Whether `head.member` (or `head::member`, `head->member`) is written in a workspace file that
    /// uses the word `member`; `None` without a reader or when no file uses the word.
    fn written_somewhere(&self, head: &str, member: &str) -> Option<bool> {
        let source = self.source?;
        let terms = crate::terms::tokenize(member);
        if terms.is_empty() {
            return None;
        }
        let files = self.text_index.rank_files(&terms, MAX_FILES_READ_PER_CHAIN);
        if files.is_empty() {
            return Some(false);
        }
        let mut read = self.read.borrow_mut();
        for (file, _) in files {
            let text = read.entry(file.to_string()).or_insert_with(|| source(&file));
            if text.as_deref().is_some_and(|t| contains_member_access(t, head, member)) {
                return Some(true);
            }
        }
        Some(false)
    }
}

/// Whether `text` writes `word` as a whole word, in this case.
fn contains_word(text: &str, word: &str) -> bool {
    let is_word = |c: char| c.is_alphanumeric() || c == '_';
    text.match_indices(word).any(|(at, _)| {
        !text[..at].chars().next_back().is_some_and(is_word)
            && !text[at + word.len()..].chars().next().is_some_and(is_word)
    })
}

/// Whether `text` writes `head` then `.`, `::`, `->` or `?.` then `member`, as whole words.
fn contains_member_access(text: &str, head: &str, member: &str) -> bool {
    let is_word = |c: char| c.is_alphanumeric() || c == '_';
    let mut from = 0;
    while let Some(found) = text[from..].find(head) {
        let start = from + found;
        let end = start + head.len();
        from = end;
        if text[..start].chars().next_back().is_some_and(is_word) {
            continue;
        }
        let rest = text[end..].trim_start();
        let Some(rest) = ["?.", ".", "::", "->"].iter().find_map(|sep| rest.strip_prefix(sep)) else { continue };
        let rest = rest.trim_start();
        if rest.starts_with(member) && !rest[member.len()..].chars().next().is_some_and(is_word) {
            return true;
        }
    }
    false
}

/// The mark after an unverified name.
pub const MARK: &str = "⚠";

/// `text` with each unverified name marked where it stands (`` `FlaskContext`⚠ ``; a code block's
/// after the block, on a line of its own) and the list of them under it. A text with none is
/// returned as it is; in either, a code block the model left open is closed first.
pub fn mark(text: &str, grounding: &Grounding) -> String {
    let unverified = grounding.unverified();
    if unverified.is_empty() {
        return close_open_block(text);
    }
    // (position, what to insert), inserted from the end so earlier positions stay valid.
    let mut inserts: Vec<(usize, String)> = Vec::new();
    let mut blocks: Vec<(usize, Vec<String>)> = Vec::new();
    for claim in grounding.claims.iter().filter(|c| c.verdict == Verdict::Unverified) {
        if claim.in_block {
            match blocks.iter_mut().find(|(at, _)| *at == claim.mark_at) {
                Some((_, names)) if !names.contains(&claim.name) => names.push(claim.name.clone()),
                Some(_) => {}
                None => blocks.push((claim.mark_at, vec![claim.name.clone()])),
            }
        } else if !inserts.iter().any(|(at, _)| *at == claim.mark_at) {
            inserts.push((claim.mark_at, MARK.to_string()));
        }
    }
    for (at, names) in blocks {
        inserts.push((at, format!("\n{MARK} not found in this workspace: {}", quoted(&names))));
    }
    // An answer cut off inside a code block (the model ran out of tokens) has its block closed, so
    // that its marks and the list below read as text, not as code.
    let out = close_open_block(text);
    if out.len() != text.len() {
        let end = text.trim_end().len();
        for insert in inserts.iter_mut().filter(|(at, _)| *at >= end) {
            insert.0 = out.len();
        }
    }
    let mut out = out;
    inserts.sort_by_key(|insert| std::cmp::Reverse(insert.0));
    for (at, insert) in inserts {
        if out.is_char_boundary(at.min(out.len())) {
            out.insert_str(at.min(out.len()), &insert);
        }
    }
    let listed: Vec<String> = unverified
        .iter()
        .map(|name| {
            let detail = grounding.claims.iter().find(|c| &c.name == name).and_then(|c| c.detail.as_deref());
            match detail {
                Some(detail) => format!("`{name}` ({detail})"),
                None => format!("`{name}`"),
            }
        })
        .collect();
    format!("{}\n\n{MARK} Not found in this workspace: {}\n", out.trim_end(), listed.join(", "))
}

/// `text` with a code block the model left open (it ran out of tokens inside it) closed, so that
/// what follows it reads as text; any other text as it is.
fn close_open_block(text: &str) -> String {
    if text.lines().filter(|line| line.trim_start().starts_with("```")).count() % 2 == 0 {
        return text.to_string();
    }
    format!("{}\n```", text.trim_end())
}

fn quoted(names: &[String]) -> String {
    names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
}

/// An answer is set aside when at least this many of its distinct names are unverified…
pub const SET_ASIDE_MIN_UNVERIFIED: usize = 2;
/// …and they are at least this share of the names it checks.
pub const SET_ASIDE_SHARE: f64 = 0.5;

/// Whether the answer is mostly unverified and is better replaced by the context (see the
/// constants; chosen on real answers, `tests/it/grounding.rs`'s figures).
pub fn set_aside(grounding: &Grounding) -> bool {
    let (checked, unverified) = grounding.counts();
    unverified >= SET_ASIDE_MIN_UNVERIFIED && unverified as f64 >= SET_ASIDE_SHARE * checked as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax::extract;
    use std::collections::BTreeMap;
    use std::sync::Arc;

    /// A small Flask: the real names the issue's inventions were written against.
    const FLASK: &[(&str, &str)] = &[
        (
            "src/flask/app.py",
            "from werkzeug.datastructures import Headers\nimport os\n\nclass Flask(App):\n    request_class = Request\n\n    def make_response(self, rv):\n        \"\"\"Convert the return value.\"\"\"\n        status_code = rv.status_code\n        return rv\n\n    def register_blueprint(self, blueprint, **options):\n        blueprint.register(self, options)\n\n    def route(self, rule):\n        return rule\n",
        ),
        (
            "src/flask/sessions.py",
            "class SecureCookieSessionInterface:\n    def get_signing_serializer(self, app):\n        return None\n\n    def open_session(self, app, request):\n        val = request.cookies.get(self.get_cookie_name(app))\n        return val\n",
        ),
        ("src/flask/globals.py", "session = LocalProxy(\"session\")\nrequest = LocalProxy(\"request\")\n"),
        ("src/flask/ctx.py", "class AppContext:\n    def __enter__(self):\n        return self\n"),
        ("src/flask/helpers.py", "def get_root_path(import_name):\n    return import_name\n"),
        ("src/flask/blueprints.py", "class Blueprint:\n    def __init__(self, name):\n        self._blueprints = []\n"),
    ];

    fn flask() -> Snapshot {
        let mut map = BTreeMap::new();
        for (key, source) in FLASK {
            map.insert(Arc::<str>::from(*key), Arc::new(extract(source.as_bytes(), Language::Python)));
        }
        Snapshot::new(map)
    }

    fn read(key: &str) -> Option<String> {
        FLASK.iter().find(|(k, _)| *k == key).map(|(_, s)| s.to_string())
    }

    #[test]
    fn a_receiver_written_alone_is_the_language_s_own() {
        let unverified: Vec<String> = verdicts("`self` holds the state.")
            .into_iter()
            .filter(|(_, v)| *v == Verdict::Unverified)
            .map(|(n, _)| n)
            .collect();
        assert!(unverified.is_empty(), "{unverified:?}");
    }

    fn verdicts(text: &str) -> Vec<(String, Verdict)> {
        check(&flask(), text, Some(&read)).claims.into_iter().map(|c| (c.name, c.verdict)).collect()
    }

    fn unverified(text: &str) -> Vec<String> {
        check(&flask(), text, Some(&read)).unverified()
    }

    #[test]
    fn the_inventions_of_a_small_model_are_unverified() {
        // Written by SmolLM2-135M about Flask 3.0.3 (issue 22).
        let text = "The session cookie signed by `{cookie_name}` is stored in the `session.cookies[0]`. \
                    The `__enter__` method of the `FlaskContext` class calls `get_package_path()` and \
                    `_get_current_context`; see `Blueprint.__init_blueprints`.";
        assert_eq!(
            unverified(text),
            [
                "cookie_name",
                "session.cookies",
                "FlaskContext",
                "get_package_path",
                "_get_current_context",
                "Blueprint.__init_blueprints"
            ]
        );
    }

    #[test]
    fn real_names_are_grounded_in_the_workspace_or_the_language() {
        let text = "`SecureCookieSessionInterface.get_signing_serializer` signs it; `Flask.make_response` \
                    converts `rv.status_code`; `request.cookies` holds it; `__enter__` of `AppContext`; \
                    `sorted()` and `dict.items()` and `json.loads` are Python's; register_blueprint() and \
                    Flask.route too; `os.path.join`; `Headers`; `werkzeug.datastructures`; `self.route`.";
        let found = verdicts(text);
        assert!(found.iter().all(|(_, v)| *v != Verdict::Unverified), "{found:?}");
        let language: Vec<&str> =
            found.iter().filter(|(_, v)| *v == Verdict::Language).map(|(n, _)| n.as_str()).collect();
        assert_eq!(language, ["sorted", "dict.items", "json.loads", "os.path.join"]);
        assert_eq!(unverified("`json.loadz` reads it"), ["json.loadz"]);
    }

    #[test]
    fn a_workspace_module_s_member_must_be_in_it() {
        // Written by SmolLM2-135M about jinja2: "the `jinja2.cache` module" (there is none).
        assert_eq!(unverified("`flask.cache` and `flask.sessions.cache`"), ["flask.cache", "flask.sessions.cache"]);
        let real = "`flask.helpers`, `flask.get_root_path`, `flask.Flask`, `flask.globals`, `flask.sessions.SecureCookieSessionInterface`";
        assert!(unverified(real).is_empty(), "{:?}", unverified(real));
    }

    #[test]
    fn paths_must_exist_and_cited_lines_lie_inside_the_file() {
        let text = "See src/flask/app.py:7, `flask/sessions.py:2-3`, app.py and src/flask/app.py:900; \
                    `src/flask/views.py` and docs at https://flask.palletsprojects.com/en/latest/app.py.";
        assert_eq!(unverified(text), ["src/flask/app.py:900", "src/flask/views.py"]);
        let grounding = check(&flask(), "see src/flask/app.py:900", None);
        assert_eq!(grounding.claims[0].detail.as_deref(), Some("the file has 16 lines"));
    }

    /// The detail of the claim written `name` in `text`, checked in the small Flask.
    fn detail_of(text: &str, name: &str) -> Option<String> {
        let grounding = check(&flask(), text, Some(&read));
        grounding.claims.into_iter().find(|c| c.name == name).and_then(|c| c.detail)
    }

    #[test]
    fn cited_lines_must_hold_the_code_named_beside_them() {
        // The right lines: the definition's, or lines that reference the name.
        for right in [
            "`Flask.make_response` converts the value (src/flask/app.py:7-10).",
            "The `make_response()` method is at `src/flask/app.py:8`.",
            "`blueprint.register` is called at src/flask/app.py:13.",
            "`sorted()` orders them, `flask.app` holds it: src/flask/app.py:12-13.",
        ] {
            assert!(unverified(right).is_empty(), "{right}: {:?}", unverified(right));
        }
        // SmolLM2-135M about jinja2: an invented name beside real lines of other code.
        let text = "The `find_template` method loads it, see `src/flask/app.py:12-13`.";
        assert_eq!(unverified(text), ["find_template", "src/flask/app.py:12-13"]);
        assert_eq!(
            detail_of(text, "src/flask/app.py:12-13").as_deref(),
            Some("lines 12–13 of src/flask/app.py hold `Flask.register_blueprint`, not `find_template`")
        );
        let module_level = "`find_template` is imported at src/flask/app.py:1-2.";
        assert_eq!(
            detail_of(module_level, "src/flask/app.py:1-2").as_deref(),
            Some("lines 1–2 of src/flask/app.py hold no definition, not `find_template`")
        );
    }

    #[test]
    fn a_name_cited_at_other_lines_is_told_where_it_is() {
        let text = "`Flask.route` registers a rule (src/flask/app.py:7-10).";
        assert_eq!(unverified(text), ["src/flask/app.py:7-10"]);
        assert_eq!(
            detail_of(text, "src/flask/app.py:7-10").as_deref(),
            Some("lines 7–10 of src/flask/app.py hold `Flask.make_response`; `Flask.route` is at lines 15–16")
        );
        let other_file = "`get_root_path` finds it in src/flask/app.py:15-16.";
        assert_eq!(
            detail_of(other_file, "src/flask/app.py:15-16").as_deref(),
            Some(
                "lines 15–16 of src/flask/app.py hold `Flask.route`; `get_root_path` is at lines 1–2 of src/flask/helpers.py"
            )
        );
    }

    #[test]
    fn a_citation_is_judged_by_the_names_of_its_own_sentence_or_list_item() {
        // No name beside it: the lines need only lie inside the file.
        assert!(unverified("See src/flask/app.py:12-13 for the registration.").is_empty());
        assert_eq!(
            detail_of("see src/flask/app.py:900", "src/flask/app.py:900").as_deref(),
            Some("the file has 16 lines")
        );
        for apart in [
            "`find_template` is not in Flask. The registration is at src/flask/app.py:12-13.",
            "Two steps:\n- `find_template` loads it\n- src/flask/app.py:12-13 registers it\n",
            "`find_template` is not in Flask.\n\nsrc/flask/app.py:12-13 registers it.",
            "```python\nfind_template(name)\n```\nsrc/flask/app.py:12-13 registers it.",
        ] {
            assert_eq!(unverified(apart), ["find_template"], "{apart}");
        }
        // A sentence wrapped over two lines is one.
        let wrapped = "`Flask.route` is defined in\nsrc/flask/app.py:7-10, with the others.";
        assert_eq!(unverified(wrapped), ["src/flask/app.py:7-10"]);
    }

    #[test]
    fn a_citation_of_docs_keeps_the_lines_inside_check() {
        let files: &[(&str, &str)] =
            &[("app.py", "def load(path):\n    return path\n"), ("docs/usage.md", "# Usage\n\nCall load.\n")];
        let (unverified, _) = unverified_in(files, "`load` is described in docs/usage.md:1-3.");
        assert!(unverified.is_empty(), "{unverified:?}");
    }

    #[test]
    fn a_path_that_fits_several_files_is_held_by_any_of_them() {
        let files: &[(&str, &str)] = &[
            ("server/app.py", "def load(path):\n    return path\n\ndef close():\n    pass\n"),
            ("client/app.py", "def save(data):\n    return data\n"),
        ];
        let (unverified, _) = unverified_in(files, "`save` writes it (app.py:1-2).");
        assert!(unverified.is_empty(), "{unverified:?}");
        let text = "`store` writes it (app.py:1-2).";
        let grounding = check(&workspace(files), text, None);
        assert_eq!(grounding.unverified(), ["store", "app.py:1-2"]);
        assert_eq!(
            grounding.claims[1].detail.as_deref(),
            Some("lines 1–2 of client/app.py hold `save`; lines 1–2 of server/app.py hold `load`, not `store`")
        );
        let grounding = check(&workspace(files), "`close` ends it (app.py:1-2).", None);
        assert_eq!(
            grounding.claims[1].detail.as_deref(),
            Some(
                "lines 1–2 of client/app.py hold `save`; lines 1–2 of server/app.py hold `load`; `close` is at lines \
                 4–5 of server/app.py"
            )
        );
    }

    #[test]
    fn a_code_block_is_checked_for_what_it_uses_not_what_it_binds() {
        let text = "Like this:\n\n```python\nimport socket\nimport requests\nfrom flask import Flask\n\n\
                    app = Flask(__name__)\nengine.register_blueprint(Flask)\n\n@app.route(\"/users\")\n\
                    def users(limit=10, *args):\n    # the comment names nothing_here\n    \
                    response = requests.get('https://example.com/api/users', timeout=limit)\n    \
                    data, count = response.json(), 0\n    for item in data:\n        print(item, len(data), \
                    count, args)\n    handler = lambda event: event.value\n    return {\"key\": data}\n```\n";
        assert_eq!(unverified(text), ["requests", "engine.register_blueprint", "requests.get"]);
        let names: Vec<String> = verdicts(text).into_iter().map(|(n, _)| n).collect();
        for local in [
            "app",
            "users",
            "limit",
            "response",
            "data",
            "item",
            "timeout",
            "handler",
            "event",
            "nothing_here",
            "count",
        ] {
            assert!(!names.contains(&local.to_string()), "{local} was checked: {names:?}");
        }
        for used in ["socket", "Flask", "__name__", "app.route", "len", "response.json"] {
            assert!(names.contains(&used.to_string()), "{used} was not checked: {names:?}");
        }
    }

    #[test]
    fn english_is_not_code() {
        let text = "It uses JSON over HTTP, e.g. with a URL; see the docs (v3.0.3) at 10:15, i.e. _soon_. \
                    Then **restart** it: `pip install flask` and `flask run`.\n\n```text\nFlaskContext missing\n```\n";
        assert!(verdicts(text).is_empty(), "{:?}", verdicts(text));
    }

    #[test]
    fn marks_stand_where_the_names_do_and_are_listed_under_the_answer() {
        let text = "The `__enter__` method of `FlaskContext` opens it.\n\n```python\nrequests.get(url)\n```\n\
                    See src/flask/app.py:900.";
        let grounding = check(&flask(), text, Some(&read));
        let marked = mark(text, &grounding);
        assert_eq!(
            marked,
            "The `__enter__` method of `FlaskContext`⚠ opens it.\n\n```python\nrequests.get(url)\n```\n\
             ⚠ not found in this workspace: `requests.get`\nSee src/flask/app.py:900⚠.\n\n\
             ⚠ Not found in this workspace: `FlaskContext`, `requests.get`, `src/flask/app.py:900` (the file has \
             16 lines)\n"
        );
        assert_eq!(mark("`Flask` is real.", &check(&flask(), "`Flask` is real.", None)), "`Flask` is real.");
    }

    #[test]
    fn an_answer_cut_off_inside_a_code_block_has_it_closed_before_the_marks() {
        // SmolLM2-135M ran out of tokens inside a snippet (fastify): the marks read as code.
        let text = "Like this:\n\n```python\nrequests.get(url)\n";
        let marked = mark(text, &check(&flask(), text, Some(&read)));
        assert_eq!(
            marked,
            "Like this:\n\n```python\nrequests.get(url)\n```\n⚠ not found in this workspace: `requests.get`\n\n\
             ⚠ Not found in this workspace: `requests.get`\n"
        );
        let grounded = "Like this:\n\n```python\nfrom flask import Flask\n";
        assert_eq!(mark(grounded, &check(&flask(), grounded, None)), format!("{}```", grounded));
    }

    /// A snapshot of `files` (key, source), each parsed as the language of its extension.
    fn workspace(files: &[(&str, &str)]) -> Snapshot {
        let mut map = BTreeMap::new();
        for (key, source) in files {
            let language = Language::from_extension(key.rsplit_once('.').map_or("", |(_, e)| e)).unwrap();
            map.insert(Arc::<str>::from(*key), Arc::new(extract(source.as_bytes(), language)));
        }
        Snapshot::new(map)
    }

    fn unverified_in(files: &[(&'static str, &'static str)], text: &str) -> (Vec<String>, Vec<(String, Verdict)>) {
        let read = |key: &str| files.iter().find(|(k, _)| *k == key).map(|(_, s)| s.to_string());
        let grounding = check(&workspace(files), text, Some(&read));
        (grounding.unverified(), grounding.claims.into_iter().map(|c| (c.name, c.verdict)).collect())
    }

    const FASTIFY: &[(&str, &str)] = &[(
        "fastify.js",
        "function fastify(opts) {\n  const { route, addHook } = require('./lib/route')\n  return { route, addHook }\n}\nmodule.exports = fastify\n",
    )];

    #[test]
    fn destructured_keys_are_claims_and_what_they_bind_is_the_snippet_s() {
        // Written by SmolLM2-135M about fastify: the keys were not checked at all.
        let text = "```js\nconst { getHeaders, route: addRoute, getFastfireHeaders = null, ...rest } = require('fastify')\n\
                    addRoute(rest, getHeaders())\n```";
        let (unverified, claims) = unverified_in(FASTIFY, text);
        assert_eq!(unverified, ["getFastfireHeaders"]);
        let names: Vec<&str> = claims.iter().map(|(n, _)| n.as_str()).collect();
        for key in ["getHeaders", "route", "getFastfireHeaders", "require"] {
            assert!(names.contains(&key), "{key} was not checked: {names:?}");
        }
        for local in ["addRoute", "rest"] {
            assert!(!names.contains(&local), "{local} was checked: {names:?}");
        }
    }

    #[test]
    fn a_destructuring_cut_short_and_a_free_code_shaped_value_are_claims() {
        // Written by SmolLM2-135M about fastify, both answers cut at the model's answer length.
        let (unverified, _) = unverified_in(FASTIFY, "```javascript\nconst {\n  getHeadersByHeaderLength,\n  route");
        assert_eq!(unverified, ["getHeadersByHeaderLength"]);
        let text = "```javascript\nfunction preventRequestLimit(opts) {\n  if (typeof requestBody === \"undefined\" || !url) {\n    return opts\n  }\n}\n```";
        let (unverified, _) = unverified_in(FASTIFY, text);
        assert_eq!(unverified, ["requestBody"], "`url` is a placeholder, `requestBody` a name");
    }

    #[test]
    fn a_plain_word_in_backticks_is_a_claim() {
        let (unverified, _) = unverified_in(FASTIFY, "`Fastfire` registers the plugin; `fastify` is real.");
        assert_eq!(unverified, ["Fastfire"]);
    }

    const BROTLI: &[(&str, &str)] = &[(
        "c/include/brotli/decode.h",
        "typedef struct BrotliDecoderStateStruct BrotliDecoderState;\nBrotliDecoderState* BrotliDecoderCreateInstance(int alloc);\n",
    )];

    #[test]
    fn includes_are_checked_as_headers_whatever_the_block_s_tag() {
        // A C snippet labelled `python`: its `#include`s were comments, its `printf` Python's.
        let text = "```python\n#include <stdio.h>\n#include \"brotli/decode.h\"\n#include <brotli/fast_decode.h>\n\
                    int main(void) {\n  BrotliDecoderState* s = BrotliDecoderCreateInstance(0);\n  printf(\"%p\", (void*)s);\n  \
                    memcpy(NULL, NULL, sizeof(size_t));\n  return 0;\n}\n```";
        let (unverified, claims) = unverified_in(BROTLI, text);
        assert_eq!(unverified, ["brotli/fast_decode.h"]);
        let verdict = |name: &str| claims.iter().find(|(n, _)| n == name).map(|(_, v)| *v);
        assert_eq!(verdict("stdio.h"), Some(Verdict::Language));
        assert_eq!(verdict("brotli/decode.h"), Some(Verdict::Workspace));
        assert_eq!(verdict("printf"), Some(Verdict::Language));
        let (unverified, _) = unverified_in(BROTLI, "Add `#include <brotli/encode_fast.h>` first.");
        assert_eq!(unverified, ["brotli/encode_fast.h"]);
    }

    const COBRA: &[(&str, &str)] = &[(
        "command.go",
        "package cobra\n\nimport \"fmt\"\n\n// UseLine puts out the full usage line.\nfunc (c *Command) UseLine() string { return c.Use }\n\nfunc (c *Command) Find(args []string) (*Command, error) {\n\tflag := c.Flags().Lookup(args[0])\n\tif flag.Name == \"\" {\n\t\treturn nil, fmt.Errorf(\"unknown\")\n\t}\n\treturn c, nil\n}\n",
    )];

    #[test]
    fn go_s_literals_builtins_and_standard_library_are_its_own() {
        let text = "`Find` returns `false`, `nil` or `true`; it calls `fmt.Errorf`, `strings.HasPrefix`, `len(args)` \
                    and `append`, and reads `flag.Name`; `fmt.Printline` and `strings.HasPrefixFold` do not exist.\n\n\
                    ```go\nfunc ok() bool { var x int = iota; _ = x; return false }\n```";
        let (unverified, _) = unverified_in(COBRA, text);
        assert_eq!(unverified, ["fmt.Printline", "strings.HasPrefixFold"]);
    }

    #[test]
    fn a_name_is_found_in_the_workspace_s_text_only_in_its_own_case() {
        // Written by SmolLM2-135M about cobra, which has `UseLine` (exported) and no `useLine`.
        let (unverified, _) = unverified_in(COBRA, "It calls `useLine()` and `Find`, and `Lookup`.");
        assert_eq!(unverified, ["useLine"]);
    }

    #[test]
    fn a_chain_written_with_colons_in_prose_is_checked() {
        // Written by SmolLM2-135M about cereal: `XMLOut` (cut short) is nowhere.
        let cereal: &[(&str, &str)] = &[(
            "include/cereal/archives/xml.hpp",
            "namespace cereal {\nclass XMLOutputArchive {\npublic:\n  void saveValue(int v);\n};\n}\n",
        )];
        let text = "it uses it as a cereal::XMLOutputArchive and then as a cereal::XMLOut of std::vector.";
        let (unverified, _) = unverified_in(cereal, text);
        assert_eq!(unverified, ["cereal::XMLOut"]);
    }

    #[test]
    fn c_and_cpp_standard_names_are_their_own() {
        let text = "```cpp\n#include <vector>\n#include <memory>\nstd::vector<int> v;\nv.push_back(1);\n\
                    auto p = std::make_unique<BrotliDecoderState>();\nstd::cout << v.size() << std::endl;\n\
                    BrotliFastDecoder(p.get());\n```";
        let (unverified, _) = unverified_in(BROTLI, text);
        assert_eq!(unverified, ["BrotliFastDecoder"]);
    }

    #[test]
    fn an_answer_is_set_aside_when_most_of_what_it_names_is_invented() {
        let invented = "The `FlaskContext` calls `get_package_path()` from `Flask`.";
        assert!(set_aside(&check(&flask(), invented, Some(&read))));
        let grounded = "`Flask.make_response` calls `get_package_path()`; `Flask.route` registers it.";
        assert!(!set_aside(&check(&flask(), grounded, Some(&read))));
    }
}
