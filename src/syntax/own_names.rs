//! The names a language gives every program before any of its code is written: its keywords, and,
//! where a real list could be generated, its builtins and standard library. An answer that names
//! `print`, `json.loads`, `Vec::push` or `Promise` names real code even though the workspace
//! defines none of them (`answer::grounding` asks here after the workspace's facts).
//!
//! Nothing here is typed by hand:
//! - **keywords** of every language with a grammar are the grammar's own word tokens (its anonymous,
//!   visible node kinds that read as a word: `def`, `impl`, `func`, `None`), read from tree-sitter;
//! - **Python** (`own_names/python.txt`): keywords, builtins, the standard library's modules and
//!   their public members (`json.loads`), the builtin types' attributes — written by
//!   `own_names/python.py` from the interpreter itself;
//! - **Rust** (`own_names/rust.txt`): every item, module, method, field and variant of `std`'s
//!   documentation — written by `own_names/rust.sh` from the toolchain's `rust-docs`;
//! - **JavaScript, TypeScript, TSX** (`own_names/javascript.txt`): the globals and members of the
//!   TypeScript compiler's `lib.*.d.ts` and Node's `@types/node` — written by `own_names/javascript.sh`.
//!
//! Other languages have their keywords only (their standard libraries had no source on this
//! machine to generate from). A list's dotted lines (`json.loads`) are a module's members; its
//! bare lines are names a program may use anywhere. Pure; the lists are compiled in.

use super::Language;
use std::collections::HashSet;
use std::sync::OnceLock;

const PYTHON: &str = include_str!("own_names/python.txt");
const RUST: &str = include_str!("own_names/rust.txt");
const JAVASCRIPT: &str = include_str!("own_names/javascript.txt");

/// The generated list for `language`, if there is one.
fn generated(language: Language) -> Option<&'static str> {
    match language {
        Language::Python => Some(PYTHON),
        Language::Rust => Some(RUST),
        Language::JavaScript | Language::TypeScript | Language::Tsx => Some(JAVASCRIPT),
        _ => None,
    }
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
}

fn own_names(language: Language) -> &'static OwnNames {
    static ALL: OnceLock<Vec<OnceLock<OwnNames>>> = OnceLock::new();
    let all = ALL.get_or_init(|| Language::ALL.iter().map(|_| OnceLock::new()).collect());
    all[language as usize].get_or_init(|| {
        let keywords = keywords(language);
        let mut names = OwnNames { bare: keywords.clone(), keywords, ..OwnNames::default() };
        for line in generated(language).unwrap_or("").lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
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
        assert!(has_library_names(Language::Python) && !has_library_names(Language::Go));
    }
}
