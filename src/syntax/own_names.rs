//! The names a language gives every program before any of its code is written: its keywords, and,
//! where a real list could be generated, its builtins and standard library. An answer that names
//! `print`, `json.loads`, `Vec::push` or `Promise` names real code even though the workspace
//! defines none of them (`answer::grounding` asks here after the workspace's facts).
//!
//! Nothing here is typed by hand:
//! - **keywords** of every language with a grammar are the grammar's own word tokens (its anonymous,
//!   visible node kinds that read as a word: `def`, `impl`, `func`, `None`), read from tree-sitter,
//!   and its word-like leaf kinds (named kinds with no fields, children or subtypes in the grammar's
//!   `node-types.json`, without an `_`): the literals some grammars name, Go's `true`, `false`,
//!   `nil`, `iota`, C++'s `this`, JavaScript's `undefined` (and, harmlessly, `identifier`, `comment`);
//! - **Python** (`own_names/python.txt`): keywords, builtins, the standard library's modules and
//!   their public members (`json.loads`), the builtin types' attributes — written by
//!   `own_names/python.py` from the interpreter itself;
//! - **Rust** (`own_names/rust.txt`): every item, module, method, field and variant of `std`'s
//!   documentation — written by `own_names/rust.sh` from the toolchain's `rust-docs`;
//! - **JavaScript, TypeScript, TSX** (`own_names/javascript.txt`): the globals and members of the
//!   TypeScript compiler's `lib.*.d.ts` and Node's `@types/node` — written by `own_names/javascript.sh`;
//! - **Go** (`own_names/go.txt`): the predeclared names (`append`, `len`, `error`), every standard
//!   package with its exported names (`fmt.Println`) and its types' exported methods and fields —
//!   written by `own_names/go.py` from the Go standard library's sources (Debian's golang-1.19-src);
//! - **C, C++** (`own_names/c.txt`, one list for both): every name of the preprocessed standard
//!   headers that is not the library's own internal (`printf`, `size_t`, `std`, `vector`) and the
//!   headers themselves (`<stdio.h>`, for `#include`) — written by `own_names/c.sh` from g++.
//!
//! Other languages have their keywords only (their standard libraries had no source on this
//! machine to generate from). A list's dotted lines (`json.loads`) are a module's members; its
//! `<…>` lines are headers; its other lines are names a program may use anywhere. The lists are
//! compiled in; the grammars' leaf kinds are read from their `node-types.json` once. Pure.

use super::Language;
use std::collections::HashSet;
use std::sync::OnceLock;

const PYTHON: &str = include_str!("own_names/python.txt");
const RUST: &str = include_str!("own_names/rust.txt");
const JAVASCRIPT: &str = include_str!("own_names/javascript.txt");
const GO: &str = include_str!("own_names/go.txt");
const C_AND_CPP: &str = include_str!("own_names/c.txt");

/// The generated list for `language`, if there is one.
fn generated(language: Language) -> Option<&'static str> {
    match language {
        Language::Python => Some(PYTHON),
        Language::Rust => Some(RUST),
        Language::JavaScript | Language::TypeScript | Language::Tsx => Some(JAVASCRIPT),
        Language::Go => Some(GO),
        Language::C | Language::Cpp => Some(C_AND_CPP),
        _ => None,
    }
}

/// The grammar's `node-types.json`, where its leaf kinds are listed (`None` for plain text).
fn node_types(language: Language) -> Option<&'static str> {
    Some(match language {
        Language::Rust => tree_sitter_rust::NODE_TYPES,
        Language::Python => tree_sitter_python::NODE_TYPES,
        Language::JavaScript => tree_sitter_javascript::NODE_TYPES,
        Language::TypeScript => tree_sitter_typescript::TYPESCRIPT_NODE_TYPES,
        Language::Tsx => tree_sitter_typescript::TSX_NODE_TYPES,
        Language::Go => tree_sitter_go::NODE_TYPES,
        Language::Java => tree_sitter_java::NODE_TYPES,
        Language::C => tree_sitter_c::NODE_TYPES,
        Language::Cpp => tree_sitter_cpp::NODE_TYPES,
        Language::Ruby => tree_sitter_ruby::NODE_TYPES,
        Language::Php => tree_sitter_php::PHP_NODE_TYPES,
        Language::CSharp => tree_sitter_c_sharp::NODE_TYPES,
        Language::Lua => tree_sitter_lua::NODE_TYPES,
        Language::Bash => tree_sitter_bash::NODE_TYPES,
        Language::Kotlin => tree_sitter_kotlin_ng::NODE_TYPES,
        Language::Swift => tree_sitter_swift::NODE_TYPES,
        Language::Scala => tree_sitter_scala::NODE_TYPES,
        Language::Elixir => tree_sitter_elixir::NODE_TYPES,
        Language::Haskell => tree_sitter_haskell::NODE_TYPES,
        Language::OCaml => tree_sitter_ocaml::OCAML_NODE_TYPES,
        Language::OCamlInterface => tree_sitter_ocaml::INTERFACE_NODE_TYPES,
        Language::Zig => tree_sitter_zig::NODE_TYPES,
        Language::Markdown => tree_sitter_md::NODE_TYPES_BLOCK,
        Language::Rst => tree_sitter_rst::NODE_TYPES,
        Language::Text => return None,
    })
}

/// The grammar's word-like leaf kinds: named kinds with no fields, children or subtypes, written
/// as a word without `_` (Go's `true`, `nil`, `iota`; not `int_literal`, a grammar's own name).
fn leaf_kinds(language: Language) -> HashSet<String> {
    let Some(json) = node_types(language) else { return HashSet::new() };
    let Ok(serde_json::Value::Array(kinds)) = serde_json::from_str::<serde_json::Value>(json) else {
        return HashSet::new();
    };
    let empty = |kind: &serde_json::Value, key: &str| match kind.get(key) {
        None | Some(serde_json::Value::Null) => true,
        Some(serde_json::Value::Object(map)) => map.is_empty(),
        Some(serde_json::Value::Array(list)) => list.is_empty(),
        Some(_) => false,
    };
    kinds
        .iter()
        .filter(|kind| kind.get("named").and_then(serde_json::Value::as_bool) == Some(true))
        .filter(|kind| ["fields", "children", "subtypes"].iter().all(|key| empty(kind, key)))
        .filter_map(|kind| kind.get("type").and_then(serde_json::Value::as_str))
        .filter(|kind| kind.chars().next().is_some_and(char::is_alphabetic) && kind.chars().all(char::is_alphanumeric))
        .map(str::to_string)
        .collect()
}

/// One language's own names, built once per process.
#[derive(Debug, Default)]
struct OwnNames {
    /// The grammar's keywords.
    keywords: HashSet<String>,
    /// Keywords, builtins, modules and members written bare.
    bare: HashSet<String>,
    /// `module.member` lines of the generated list.
    members: HashSet<String>,
    /// The modules that have members listed (`json` for `json.loads`).
    modules: HashSet<String>,
    /// Headers a program may include (`stdio.h`, `sys/types.h`, `vector`).
    headers: HashSet<String>,
}

fn own_names(language: Language) -> &'static OwnNames {
    static ALL: OnceLock<Vec<OnceLock<OwnNames>>> = OnceLock::new();
    let all = ALL.get_or_init(|| Language::ALL.iter().map(|_| OnceLock::new()).collect());
    all[language as usize].get_or_init(|| {
        let keywords = keywords(language);
        let mut names = OwnNames { bare: keywords.clone(), keywords, ..OwnNames::default() };
        names.bare.extend(leaf_kinds(language));
        for line in generated(language).unwrap_or("").lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            if let Some(header) = line.strip_prefix('<').and_then(|l| l.strip_suffix('>')) {
                names.headers.insert(header.to_string());
                continue;
            }
            match line.split_once('.') {
                Some((module, _)) => {
                    names.modules.insert(module.to_string());
                    names.members.insert(line.to_string());
                }
                None => {
                    names.bare.insert(line.to_string());
                }
            }
        }
        names
    })
}

/// The grammar's word tokens: anonymous, visible node kinds that start with a letter or `_` and
/// hold only letters, digits and `_` (`def`, `return`, `None`; not `(` or `->`).
fn keywords(language: Language) -> HashSet<String> {
    let Some(grammar) = language.grammar() else { return HashSet::new() };
    (0..grammar.node_kind_count() as u16)
        .filter(|&id| !grammar.node_kind_is_named(id) && grammar.node_kind_is_visible(id))
        .filter_map(|id| grammar.node_kind_for_id(id))
        .filter(|kind| {
            kind.chars().next().is_some_and(|c| c.is_alphabetic() || c == '_')
                && kind.chars().all(|c| c.is_alphanumeric() || c == '_')
        })
        .map(str::to_string)
        .collect()
}

/// Whether `name` is one of `language`'s own names: a keyword, a builtin, a standard module or
/// a member written bare (`split`, `unwrap`, `then`).
pub fn is_own_name(language: Language, name: &str) -> bool {
    own_names(language).bare.contains(name)
}

/// Whether `name` is one of `language`'s keywords (`def`, `return`, `None`).
pub fn is_keyword(language: Language, name: &str) -> bool {
    own_names(language).keywords.contains(name)
}

/// Whether `module` is a standard module of `language` whose members are listed, and if so whether
/// `member` is one of them: `Some(true)` for `json.loads`, `Some(false)` for `json.loadz`, `None`
/// when nothing is known about `module`'s members.
pub fn is_own_member(language: Language, module: &str, member: &str) -> Option<bool> {
    let names = own_names(language);
    names.modules.contains(module).then(|| names.members.contains(&format!("{module}.{member}")))
}

/// Whether `header` (`stdio.h`, `sys/types.h`, `vector`) is one of `language`'s standard headers.
pub fn is_own_header(language: Language, header: &str) -> bool {
    own_names(language).headers.contains(header)
}

/// Whether `language` has a generated list of builtins and standard library (else keywords only).
pub fn has_library_names(language: Language) -> bool {
    generated(language).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keywords_come_from_every_grammar() {
        assert!(is_own_name(Language::Python, "def") && is_own_name(Language::Python, "None"));
        assert!(is_own_name(Language::Go, "func") && is_own_name(Language::Go, "defer"));
        assert!(is_own_name(Language::Rust, "impl") && is_own_name(Language::C, "struct"));
        assert!(!is_own_name(Language::Go, "FlaskContext"));
        assert!(is_keyword(Language::Python, "return") && !is_keyword(Language::Python, "len"));
        for &language in Language::ALL {
            if language.grammar().is_some() && !matches!(language, Language::Markdown | Language::Rst) {
                assert!(!keywords(language).is_empty(), "{} has no keywords", language.name());
            }
        }
    }

    #[test]
    fn python_rust_and_javascript_know_their_libraries() {
        for name in ["print", "len", "socket", "__enter__", "items", "split", "ValueError", "__name__"] {
            assert!(is_own_name(Language::Python, name), "{name}");
        }
        assert_eq!(is_own_member(Language::Python, "json", "loads"), Some(true));
        assert_eq!(is_own_member(Language::Python, "json", "loadz"), Some(false));
        assert_eq!(is_own_member(Language::Python, "requests", "get"), None);
        assert!(!is_own_name(Language::Python, "requests") && !is_own_name(Language::Python, "FlaskContext"));
        for name in ["HashMap", "println", "push", "unwrap", "Ok", "collections", "u32"] {
            assert!(is_own_name(Language::Rust, name), "{name}");
        }
        for name in ["Promise", "console", "then", "querySelector", "require", "process", "readFile"] {
            assert!(is_own_name(Language::TypeScript, name) && is_own_name(Language::JavaScript, name), "{name}");
        }
        assert!(has_library_names(Language::Python) && !has_library_names(Language::Java));
    }

    #[test]
    fn go_c_and_cpp_know_their_libraries_and_literals() {
        // Go's `true`, `false`, `nil` and `iota` are named leaves of its grammar, not anonymous tokens.
        for name in ["true", "false", "nil", "iota", "append", "len", "error", "fmt", "Println", "ServeHTTP"] {
            assert!(is_own_name(Language::Go, name), "{name}");
        }
        assert_eq!(is_own_member(Language::Go, "fmt", "Println"), Some(true));
        assert_eq!(is_own_member(Language::Go, "strings", "HasPrefix"), Some(true));
        assert_eq!(is_own_member(Language::Go, "fmt", "Printline"), Some(false));
        for name in ["printf", "memcpy", "size_t", "uint8_t", "NULL", "malloc", "true"] {
            assert!(is_own_name(Language::C, name), "{name}");
        }
        for name in ["std", "vector", "push_back", "unique_ptr", "nullptr", "this"] {
            assert!(is_own_name(Language::Cpp, name), "{name}");
        }
        assert!(is_own_header(Language::C, "stdio.h") && is_own_header(Language::Cpp, "vector"));
        assert!(!is_own_header(Language::C, "brotli/decode.h") && !is_own_name(Language::C, "BrotliDecoderCreate"));
        for name in ["undefined", "this", "null"] {
            assert!(is_own_name(Language::JavaScript, name), "{name}");
        }
        assert!(!is_own_name(Language::Go, "int_literal"));
    }
}
