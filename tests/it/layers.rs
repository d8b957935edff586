//! The layering, checked: which `crate::` modules each module of `src/` may use, and that every
//! source file opens with a `//!` doc. In the style of rust-analyzer's tidy tests.
//!
//! Reading order, lowest first — a module may use only modules above it in this list:
//!
//! 1. leaves: `hash`, `terms`, `tokens`, `units`, `redact`, `dirs` (XDG directories), `convert`,
//!    `idle`, `eval` (pure helpers);
//! 2. `syntax` (bytes → facts), then `workspace` (files), `document` (open buffers), `git`;
//! 3. `graph` (reference graph, PageRank), `search` (BM25, file priors, the facts index), `snapshot`;
//! 4. `store` (the disk; keeps JSON records of higher layers without knowing their types), `index`,
//!    `jobs` (the idle jobs' last runs), `history` (the project's history, mined with `git`);
//! 5. `llm` (the network), `ledger`, `embed` (embedding providers and vectors);
//! 6. `sleep` (notes, planning, scheduling, the runner), `answer` (retrieval, fusion, direct answers),
//!    `share` (idle work shared through the git remote);
//! 7. the edges: `config` (assembles every section), `ask` (one answer flow), `server`, `cli`.
//!
//! A new module gets a row here; a new import against the order fails this test, which says where the
//! shared piece should move instead. Inside a folder the same holds without a table: the files and
//! subfolders beside each other (a folder's `mod.rs` aside, which its children may use) import each
//! other without a cycle.
//!
//! The imports are read from the whole file, comments and string literals aside, skipping only the
//! items under `#[cfg(test)]`; `use crate::{a, b::{c, d}}`, `super::` and `self::` paths are
//! resolved to the modules they name.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Module → the `crate::` modules it may use (items under `#[cfg(test)]` are not checked). Every
/// permission is used by some file of the module: one that nothing uses is reported, so the table says
/// what the code does.
const ALLOWED: &[(&str, &[&str])] = &[
    ("hash", &[]),
    ("terms", &[]),
    ("tokens", &[]),
    ("units", &[]),
    ("redact", &[]),
    ("dirs", &[]),
    ("convert", &[]),
    ("idle", &[]),
    ("eval", &["units"]),
    ("syntax", &["hash", "terms"]),
    ("workspace", &["syntax"]),
    ("document", &["syntax"]),
    ("git", &["workspace"]),
    ("graph", &["hash", "syntax", "tokens"]),
    ("search", &["terms", "syntax"]),
    ("snapshot", &["hash", "terms", "syntax", "graph", "search"]),
    ("store", &["hash", "syntax", "workspace", "search"]),
    ("index", &["hash", "syntax", "workspace", "graph", "search", "snapshot", "store"]),
    ("jobs", &["store"]),
    ("history", &["units", "redact", "workspace", "git", "search", "snapshot", "store", "jobs"]),
    ("llm", &["hash", "tokens", "units", "dirs"]),
    ("ledger", &["tokens", "llm", "store"]),
    (
        "embed",
        &[
            "hash", "tokens", "units", "redact", "dirs", "syntax", "search", "snapshot", "store", "jobs", "history",
            "llm",
        ],
    ),
    ("sleep", &["hash", "tokens", "units", "redact", "syntax", "search", "snapshot", "store", "llm", "ledger"]),
    (
        "answer",
        &["hash", "terms", "tokens", "redact", "syntax", "graph", "search", "snapshot", "store", "llm", "sleep"],
    ),
    ("share", &["hash", "redact", "git", "snapshot", "store", "history", "embed", "sleep", "answer"]),
    ("config", &["units", "workspace", "llm", "embed", "sleep", "share"]),
    ("ask", &["tokens", "redact", "search", "snapshot", "store", "llm", "ledger", "embed", "sleep", "answer"]),
    ("server", &["*except cli"]),
    ("cli", &["*"]),
];

/// Cycles inside a folder that are known and being taken apart: `folder_cycles` must report exactly
/// these besides none, so an entry that goes away fails this test until it is removed here. In the
/// server: `session.rs` starts the event loop of `events.rs` and the idle passes (`history.rs`,
/// `share.rs`, `semantic.rs`, `adapter.rs`, `think.rs`), which reach it back only through the handle of `pass.rs`.
const KNOWN_CYCLES: &[&str] = &[
    "src/server: adapter → pass → session → adapter",
    "src/server: events → session → events",
    "src/server: history → pass → session → history",
    "src/server: pass → session → pass",
    "src/server: semantic → pass → session → semantic",
    "src/server: share → pass → session → share",
    "src/server: think → pass → session → think",
];

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Every source file under `src/`, as its path under `src/` (with `/`) and its text.
pub(crate) fn sources() -> Vec<(String, String)> {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    files.sort();
    files
        .iter()
        .map(|f| {
            let relative = f.strip_prefix(src()).unwrap().to_string_lossy().replace('\\', "/");
            (relative, std::fs::read_to_string(f).unwrap())
        })
        .collect()
}

/// Every source file of the library, as `sources` gives them; `main.rs` is the binary, another crate.
fn library_sources() -> Vec<(String, String)> {
    sources().into_iter().filter(|(path, _)| path != "main.rs").collect()
}

/// The module path of a file under `src/`: `cli/eval/mod.rs` → `[cli, eval]`, `lib.rs` → `[]`.
fn module_path(file: &str) -> Vec<String> {
    let mut parts: Vec<String> = file.trim_end_matches(".rs").split('/').map(str::to_string).collect();
    if parts.last().is_some_and(|last| last == "mod" || last == "lib") {
        parts.pop();
    }
    parts
}

/// `text` with comments removed and the contents of string and character literals blanked, so that
/// what is left is code (lines kept).
pub(crate) fn code_only(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    if chars[i] == '\n' {
                        out.push('\n');
                    }
                    i += 1;
                }
            }
        } else if c == '"' || (c == 'r' && matches!(next, Some('"' | '#')) && !continues_identifier(&chars, i)) {
            // A string, or a raw string `r#"…"#`: skip to its end (escapes only outside raw strings).
            let start = i;
            let raw = c == 'r';
            let mut hashes = 0;
            if raw {
                i += 1;
                while chars.get(i) == Some(&'#') {
                    hashes += 1;
                    i += 1;
                }
                if chars.get(i) != Some(&'"') {
                    // `r#ident`, a raw identifier.
                    out.push_str("r#");
                    continue;
                }
            }
            i += 1;
            while i < chars.len() {
                if !raw && chars[i] == '\\' {
                    i += 2;
                    continue;
                }
                if chars[i] == '"' && (0..hashes).all(|h| chars.get(i + 1 + h) == Some(&'#')) {
                    i += 1 + hashes;
                    break;
                }
                if chars[i] == '\n' {
                    out.push('\n');
                }
                i += 1;
            }
            // A string that is a path (`#[serde(deserialize_with = "crate::units::de_duration")]`)
            // names a module as code does.
            let literal: String = chars[start..i].iter().collect();
            match path_in_string(&literal) {
                Some(path) => out.push_str(&format!(" {path} ")),
                None => out.push_str("\"\""),
            }
        } else if c == '\'' && (next == Some('\\') || chars.get(i + 2) == Some(&'\'')) {
            // A character literal (a lifetime `'a` has no closing quote); `'\''` escapes its quote.
            i += if next == Some('\\') { 3 } else { 1 };
            while i < chars.len() && chars[i] != '\'' {
                i += 1;
            }
            i += 1;
            out.push_str("' '");
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

/// The path a string literal holds when it is nothing else (`"crate::units::de_duration"`).
fn path_in_string(literal: &str) -> Option<&str> {
    let inner = literal.trim_start_matches('r').trim_matches('#').strip_prefix('"')?.strip_suffix('"')?;
    let mut segments = inner.split("::");
    let first = segments.next()?;
    let is_path = matches!(first, "crate" | "super" | "self")
        && inner.contains("::")
        && segments.all(|s| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'));
    is_path.then_some(inner)
}

/// Whether the character at `at` continues an identifier (`bar"` in `br"…"` does not start a raw
/// string of its own, `for"` never happens, but `letter` + `r"` does).
fn continues_identifier(chars: &[char], at: usize) -> bool {
    at > 0 && {
        let before = chars[at - 1];
        (before.is_alphanumeric() || before == '_') && before != 'b'
    }
}

/// `code` (from `code_only`) without the items under `#[cfg(test)]`: a test module, a test-only
/// function or import. The rest of the file is kept.
fn without_test_items(code: &str) -> String {
    const MARK: &str = "#[cfg(test)]";
    let mut out = String::new();
    let mut rest = code;
    while let Some(at) = rest.find(MARK) {
        out.push_str(&rest[..at]);
        rest = skip_item(&rest[at + MARK.len()..]);
    }
    out.push_str(rest);
    out
}

/// What follows the item at the start of `code` (after its attributes): up to its `;` or the `}` that
/// closes its body, whichever comes first outside brackets.
pub(crate) fn skip_item(code: &str) -> &str {
    let mut depth = 0i32;
    let mut in_body = false;
    for (at, c) in code.char_indices() {
        match c {
            '(' | '[' => depth += 1,
            ')' | ']' => depth -= 1,
            '{' => {
                in_body = true;
                depth += 1;
            }
            '}' => {
                depth -= 1;
                if in_body && depth == 0 {
                    return &code[at + 1..];
                }
            }
            ';' if depth == 0 && !in_body => return &code[at + 1..],
            _ => {}
        }
    }
    ""
}

#[derive(Clone, Debug, PartialEq)]
enum Token {
    Word(String),
    Path,
    Open,
    Close,
    Comma,
    Star,
    Other,
}

fn tokens(code: &str) -> Vec<Token> {
    let chars: Vec<char> = code.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_alphanumeric() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            out.push(Token::Word(chars[start..i].iter().collect()));
            continue;
        }
        out.push(match c {
            ':' if chars.get(i + 1) == Some(&':') => {
                i += 1;
                Token::Path
            }
            '{' => Token::Open,
            '}' => Token::Close,
            ',' => Token::Comma,
            '*' => Token::Star,
            c if c.is_whitespace() => {
                i += 1;
                continue;
            }
            _ => Token::Other,
        });
        i += 1;
    }
    out
}

/// Every path that starts at `crate`, `super` or `self` in `code`, with use-tree groups expanded:
/// `crate::{a, b::{c, self}}` → `crate::a`, `crate::b::c`, `crate::b`. A glob ends its path.
fn paths(code: &str) -> Vec<Vec<String>> {
    let tokens = tokens(code);
    let mut out = Vec::new();
    for (at, token) in tokens.iter().enumerate() {
        let Token::Word(word) = token else { continue };
        let starts = matches!(word.as_str(), "crate" | "super" | "self")
            && tokens.get(at + 1) == Some(&Token::Path)
            && (at == 0 || tokens[at - 1] != Token::Path);
        if starts {
            use_tree(&tokens, at, vec![], &mut out);
        }
    }
    out
}

/// Reads the use tree (or plain path) at `tokens[at]` below `prefix` into `out`; returns where it ends.
fn use_tree(tokens: &[Token], mut at: usize, mut prefix: Vec<String>, out: &mut Vec<Vec<String>>) -> usize {
    loop {
        match tokens.get(at) {
            Some(Token::Word(word)) if word == "self" && !prefix.is_empty() => at += 1,
            Some(Token::Word(word)) => {
                prefix.push(word.clone());
                at += 1;
            }
            Some(Token::Open) => {
                at += 1;
                while let Some(token) = tokens.get(at) {
                    match token {
                        Token::Close => return at + 1,
                        Token::Comma => at += 1,
                        _ => at = use_tree(tokens, at, prefix.clone(), out),
                    }
                }
                return at;
            }
            Some(Token::Star) => at += 1,
            _ => {}
        }
        if tokens.get(at) == Some(&Token::Path) {
            at += 1;
            continue;
        }
        // `as alias`
        if tokens.get(at) == Some(&Token::Word("as".into())) {
            at += 2;
        }
        out.push(prefix);
        return at;
    }
}

/// The module paths a file's non-test code names, from the crate root (`super::x` in `cli/eval/e2e.rs`
/// → `[cli, eval, x]`; items are included, as the segments after the module).
fn used_paths(file: &str, text: &str) -> Vec<Vec<String>> {
    let here = module_path(file);
    let mut out = Vec::new();
    for path in paths(&without_test_items(&code_only(text))) {
        let mut resolved = here.clone();
        let mut segments = path.into_iter().peekable();
        match segments.peek().map(String::as_str) {
            Some("crate") => {
                resolved.clear();
                segments.next();
            }
            Some("self") => {
                segments.next();
            }
            _ => {}
        }
        while segments.peek().is_some_and(|s| s == "super") {
            segments.next();
            resolved.pop();
        }
        resolved.extend(segments);
        out.push(resolved);
    }
    out
}

/// The top-level modules a file's non-test code uses (`crate::x`, `crate::{x, y}`, `super::x` from a
/// top-level file).
fn crate_imports(file: &str, text: &str) -> BTreeSet<String> {
    used_paths(file, text).into_iter().filter_map(|p| p.into_iter().next()).collect()
}

/// The top-level module a file belongs to (`answer/retrieve.rs` → `answer`).
fn module_of(file: &str) -> String {
    module_path(file).into_iter().next().unwrap_or_default()
}

/// Imports against `allowed`, and permissions of `allowed` that no file uses, for `sources` (paths
/// under `src/` and texts).
fn layering_problems(allowed: &[(&str, &[&str])], sources: &[(String, String)]) -> Vec<String> {
    let table: BTreeMap<&str, &[&str]> = allowed.iter().copied().collect();
    let mut problems = Vec::new();
    let mut used_by: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (file, text) in sources {
        let module = module_of(file);
        if module.is_empty() {
            continue;
        }
        let Some(may) = table.get(module.as_str()) else {
            problems.push(format!("src/{module}: a new module — give it a row in tests/it/layers.rs's ALLOWED"));
            continue;
        };
        for used in crate_imports(file, text) {
            if used == module {
                continue;
            }
            let ok =
                may.contains(&"*") || (may.contains(&"*except cli") && used != "cli") || may.contains(&used.as_str());
            if !ok {
                problems.push(format!(
                    "src/{file} uses crate::{used}, which `{module}` may not (move the shared piece below both)"
                ));
            }
            used_by.entry(module.clone()).or_default().insert(used);
        }
    }
    problems.sort();
    problems.dedup();
    for (module, may) in allowed {
        for permission in may.iter().filter(|p| !p.starts_with('*')) {
            if !used_by.get(*module).is_some_and(|used| used.contains(*permission)) {
                problems.push(format!(
                    "`{module}` may use `{permission}` but no file of it does: drop it from the row in tests/it/layers.rs"
                ));
            }
        }
    }
    problems
}

/// The cycles among the modules side by side in one folder: for each folder, its children (files and
/// subfolders; the folder's own `mod.rs` is their parent and not one of them) with an edge `a → b`
/// when code in `a` names `b`. Each cycle is said as `folder: a → b → a`.
fn folder_cycles(sources: &[(String, String)]) -> Vec<String> {
    let modules: BTreeSet<Vec<String>> = sources.iter().map(|(file, _)| module_path(file)).collect();
    // Folder (module path) → child → the children it uses.
    let mut edges: BTreeMap<Vec<String>, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
    for (file, text) in sources {
        let here = module_path(file);
        for used in used_paths(file, text) {
            // The deepest folder both lie in, and the child of it each lies under.
            let shared = here.iter().zip(&used).take_while(|(a, b)| a == b).count();
            let (Some(from), Some(to)) = (here.get(shared), used.get(shared)) else { continue };
            let folder = here[..shared].to_vec();
            let mut target = folder.clone();
            target.push(to.clone());
            if modules.contains(&target) {
                edges.entry(folder).or_default().entry(from.clone()).or_default().insert(to.clone());
            }
        }
    }
    let mut cycles = Vec::new();
    for (folder, graph) in &edges {
        let mut reported: BTreeSet<BTreeSet<String>> = BTreeSet::new();
        for start in graph.keys() {
            if let Some(cycle) = cycle_from(graph, start)
                && reported.insert(cycle.iter().cloned().collect())
            {
                let name = if folder.is_empty() { "src".to_string() } else { format!("src/{}", folder.join("/")) };
                cycles.push(format!("{name}: {}", cycle.join(" → ")));
            }
        }
    }
    cycles
}

/// A cycle through `start` in `graph`, as the path `start → … → start`, if there is one.
fn cycle_from(graph: &BTreeMap<String, BTreeSet<String>>, start: &str) -> Option<Vec<String>> {
    let mut stack = vec![(start.to_string(), vec![start.to_string()])];
    let mut seen = BTreeSet::new();
    while let Some((node, path)) = stack.pop() {
        for next in graph.get(&node).into_iter().flatten() {
            if next == start {
                let mut cycle = path.clone();
                cycle.push(start.to_string());
                return Some(cycle);
            }
            if seen.insert(next.clone()) {
                let mut longer = path.clone();
                longer.push(next.clone());
                stack.push((next.clone(), longer));
            }
        }
    }
    None
}

#[test]
fn modules_import_only_what_lies_below_them() {
    let problems = layering_problems(ALLOWED, &library_sources());
    assert!(problems.is_empty(), "imports against the layering:\n{}", problems.join("\n"));
}

#[test]
fn modules_side_by_side_in_a_folder_import_each_other_without_a_cycle() {
    let cycles = folder_cycles(&library_sources());
    let new: Vec<&String> = cycles.iter().filter(|c| !KNOWN_CYCLES.contains(&c.as_str())).collect();
    let gone: Vec<&&str> = KNOWN_CYCLES.iter().filter(|k| !cycles.iter().any(|c| c == *k)).collect();
    assert!(
        new.is_empty(),
        "cycles between the modules of a folder (move the shared piece into a module both use):\n{}",
        new.iter().map(|c| c.as_str()).collect::<Vec<_>>().join("\n")
    );
    assert!(gone.is_empty(), "these cycles are gone: remove them from KNOWN_CYCLES in tests/it/layers.rs: {gone:?}");
}

#[test]
fn every_source_file_opens_with_a_module_doc() {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let missing: Vec<String> = files
        .iter()
        .filter(|f| !std::fs::read_to_string(f).unwrap().trim_start().starts_with("//!"))
        .map(|f| f.display().to_string())
        .collect();
    assert!(missing.is_empty(), "files without a `//!` header saying what they are:\n{}", missing.join("\n"));
}

#[test]
fn the_layer_table_has_no_cycles() {
    // Each module's allowed imports must come before it in the table (the order is the reading order).
    let order: Vec<&str> = ALLOWED.iter().map(|(m, _)| *m).collect();
    for (position, (module, may)) in ALLOWED.iter().enumerate() {
        for used in may.iter().filter(|u| !u.starts_with('*')) {
            let at = order.iter().position(|m| m == used).unwrap_or_else(|| panic!("{module}: unknown module {used}"));
            assert!(at < position, "{module} may use {used}, which comes after it");
        }
    }
}

// The reader itself, on small sources: each case is one the earlier line-by-line reader got wrong.

fn imports(file: &str, text: &str) -> Vec<String> {
    crate_imports(file, text).into_iter().collect()
}

#[test]
fn code_after_a_test_only_item_is_still_read() {
    // `llm/resilient.rs` has a `#[cfg(test)]` method in the middle of an impl.
    let text = "impl A {\n    #[cfg(test)]\n    fn wait(&self) -> u32 { 1 }\n\n    fn call(&self) { crate::ledger::record(); }\n}\n";
    assert_eq!(imports("llm/resilient.rs", text), ["ledger"]);
    let after_tests =
        "#[cfg(test)]\nmod tests {\n    use crate::store::Store;\n    fn f() { { } }\n}\n\nuse crate::graph::Graph;\n";
    assert_eq!(imports("search/mod.rs", after_tests), ["graph"]);
    let test_import = "#[cfg(test)]\nuse crate::store::{Store, Key};\nuse crate::hash::Hash;\n";
    assert_eq!(imports("search/mod.rs", test_import), ["hash"]);
}

#[test]
fn grouped_and_nested_imports_are_read() {
    let text = "use crate::{\n    hash::Hash,\n    syntax::{self, Language},\n    tokens,\n};\nuse super::{graph::{Edge, self}};\n";
    assert_eq!(imports("search/mod.rs", text), ["graph", "hash", "syntax", "tokens"]);
    assert_eq!(imports("search/bm25.rs", "use crate::*;\nuse super::*;\n"), ["search"]);
}

#[test]
fn comments_and_strings_name_no_module() {
    let text = "//! See `crate::answer`.\n/* crate::llm */\nconst S: &str = \"see crate::store\";\nconst R: &str = r#\"crate::ledger \"quoted\"\"#;\nconst C: char = '\"';\nfn f<'a>(x: &'a str) { crate::hash::of(x) }\n";
    assert_eq!(imports("terms.rs", text), ["hash"]);
}

#[test]
fn a_path_in_an_attribute_string_is_an_import() {
    let text = "#[derive(Deserialize)]\nstruct C {\n    #[serde(deserialize_with = \"crate::units::de_duration\")]\n    idle: u64,\n    name: &'static str,\n}\nconst N: &str = \"crate::store is not a path here\";\n";
    assert_eq!(imports("config.rs", text), ["units"]);
}

#[test]
fn a_permission_nothing_uses_is_reported() {
    let sources = [("graph/mod.rs".to_string(), "use crate::hash::Hash;\n".to_string())];
    let allowed: &[(&str, &[&str])] = &[("hash", &[]), ("syntax", &[]), ("graph", &["hash", "syntax"])];
    assert_eq!(
        layering_problems(allowed, &sources),
        ["`graph` may use `syntax` but no file of it does: drop it from the row in tests/it/layers.rs"]
    );
    let against = [("hash.rs".to_string(), "use crate::{graph};\n".to_string())];
    assert_eq!(
        layering_problems(&allowed[..1], &against),
        ["src/hash.rs uses crate::graph, which `hash` may not (move the shared piece below both)"]
    );
}

#[test]
fn a_cycle_inside_a_folder_is_found() {
    let file = |path: &str, text: &str| (path.to_string(), text.to_string());
    let sources = [
        file("cli/mod.rs", "mod eval;\nmod rank;\npub struct Cli;\n"),
        file("cli/eval/mod.rs", "use super::rank::Case;\nmod e2e;\nmod measure;\nmod report;\npub struct Args;\n"),
        file("cli/eval/e2e.rs", "use super::Args;\nuse super::measure::prompt_tokens;\n"),
        file("cli/eval/measure.rs", "use super::{e2e, report::Row};\n"),
        file("cli/eval/report.rs", "use crate::cli::eval::measure::Gathered;\n"),
        file("cli/rank.rs", "fn f() { super::eval::raw(); }\n"),
        file("eval/amortize.rs", "use super::figures::Scored;\n"),
        file("eval/figures.rs", "use super::amortize::Amortization;\n"),
        file("eval/tables.rs", "use super::{amortize, figures};\n"),
    ];
    assert_eq!(
        folder_cycles(&sources),
        [
            "src/cli: eval → rank → eval",
            "src/cli/eval: e2e → measure → e2e",
            "src/cli/eval: measure → report → measure",
            "src/eval: amortize → figures → amortize",
        ]
    );
    // A child using its folder's `mod.rs`, and the folder using its children, is no cycle.
    let tree = [file("a/mod.rs", "mod b;\nuse b::B;\npub struct A;\n"), file("a/b.rs", "use super::A;\n")];
    assert!(folder_cycles(&tree).is_empty());
}
