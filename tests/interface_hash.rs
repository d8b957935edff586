//! The interface-hash property: editing only function bodies keeps a file's interface hash; changing
//! a signature (name, parameter, return type), adding a definition or changing a type's member
//! changes it. Sources are generated, in Python and Rust.

use proptest::prelude::*;
use reverie::syntax::{Language, extract};

#[derive(Clone, Debug)]
struct Function {
    name: String,
    params: Vec<String>,
    body: Vec<String>,
}

fn ident() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9_]{0,8}".prop_filter("not a keyword", |s| {
        !matches!(
            s.as_str(),
            "as" | "if"
                | "in"
                | "is"
                | "or"
                | "and"
                | "def"
                | "del"
                | "for"
                | "not"
                | "try"
                | "else"
                | "elif"
                | "from"
                | "pass"
                | "with"
                | "class"
                | "while"
                | "yield"
                | "raise"
                | "break"
                | "async"
                | "await"
                | "global"
                | "import"
                | "lambda"
                | "return"
                | "except"
                | "finally"
                | "continue"
                | "nonlocal"
                | "assert"
                | "fn"
                | "let"
                | "mut"
                | "pub"
                | "use"
                | "mod"
                | "impl"
                | "loop"
                | "match"
                | "move"
                | "ref"
                | "self"
                | "type"
                | "where"
                | "const"
                | "crate"
                | "enum"
                | "extern"
                | "false"
                | "true"
                | "static"
                | "struct"
                | "super"
                | "trait"
                | "unsafe"
                | "dyn"
                | "box"
                | "do"
                | "final"
                | "macro"
                | "override"
                | "priv"
                | "typeof"
                | "unsized"
                | "virtual"
                | "abstract"
                | "become"
                | "try_"
                | "gen"
                | "yield_"
                | "None"
                | "True"
                | "False"
        )
    })
}

fn function() -> impl Strategy<Value = Function> {
    (ident(), prop::collection::vec(ident(), 0..3), prop::collection::vec(0u32..1000, 1..4)).prop_map(
        |(name, params, body)| Function {
            name: format!("f_{name}"),
            params: params.into_iter().enumerate().map(|(i, p)| format!("{p}{i}")).collect(),
            body: body.into_iter().map(|n| n.to_string()).collect(),
        },
    )
}

fn python(functions: &[Function]) -> String {
    let mut out = String::from("import os\n\nLIMIT = 10\n\n\nclass Box:\n    size: int\n\n");
    for f in functions {
        out.push_str(&format!("def {}({}):\n", f.name, f.params.join(", ")));
        for (i, n) in f.body.iter().enumerate() {
            out.push_str(&format!("    v{i} = {n} + len(os.sep)\n"));
        }
        out.push_str("    return None\n\n\n");
    }
    out
}

fn rust(functions: &[Function]) -> String {
    let mut out = String::from("use std::fmt;\n\npub struct Point {\n    pub x: i64,\n}\n\n");
    for f in functions {
        let params: Vec<String> = f.params.iter().map(|p| format!("{p}: i64")).collect();
        out.push_str(&format!("pub fn {}({}) -> i64 {{\n", f.name, params.join(", ")));
        for (i, n) in f.body.iter().enumerate() {
            out.push_str(&format!("    let v{i} = {n};\n"));
        }
        out.push_str("    0\n}\n\n");
    }
    out
}

fn hash(source: &str, language: Language) -> reverie::hash::Digest {
    let facts = extract(source.as_bytes(), language);
    assert!(!facts.has_syntax_errors, "generated source must parse:\n{source}");
    facts.interface_hash
}

fn both(functions: &[Function]) -> [(reverie::hash::Digest, Language); 2] {
    [
        (hash(&python(functions), Language::Python), Language::Python),
        (hash(&rust(functions), Language::Rust), Language::Rust),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn body_edits_keep_the_interface_hash(
        functions in prop::collection::vec(function(), 1..5),
        which in any::<prop::sample::Index>(),
        new_body in prop::collection::vec(0u32..1000, 1..6),
    ) {
        let mut edited = functions.clone();
        let i = which.index(edited.len());
        edited[i].body = new_body.into_iter().map(|n| n.to_string()).collect();
        let before = both(&functions);
        let after = both(&edited);
        prop_assert_eq!(before[0].0, after[0].0, "python");
        prop_assert_eq!(before[1].0, after[1].0, "rust");
    }

    #[test]
    fn signature_edits_change_the_interface_hash(
        functions in prop::collection::vec(function(), 1..5),
        which in any::<prop::sample::Index>(),
        edit in 0u8..3,
    ) {
        let mut edited = functions.clone();
        let i = which.index(edited.len());
        match edit {
            0 => edited[i].name.push_str("_renamed"),
            1 => edited[i].params.push("extra_param".to_string()),
            _ => edited.push(Function { name: "f_added_function".into(), params: vec![], body: vec!["1".into()] }),
        }
        // A rename can collide with another generated function name only if names repeat.
        prop_assume!(edited.iter().map(|f| &f.name).collect::<std::collections::HashSet<_>>().len() == edited.len());
        let before = both(&functions);
        let after = both(&edited);
        prop_assert_ne!(before[0].0, after[0].0, "python");
        prop_assert_ne!(before[1].0, after[1].0, "rust");
    }
}

#[test]
fn comments_blank_lines_and_moves_keep_it_but_members_and_return_types_do_not() {
    let base = "pub struct Point {\n    pub x: i64,\n}\n\npub fn a(x: i64) -> i64 {\n    x\n}\n\npub fn b() {}\n";
    let h = |s: &str| hash(s, Language::Rust);
    let commented = "// about points\npub struct Point {\n    pub x: i64, // the x\n}\n\n\npub fn a(x: i64) -> i64 {\n    // body comment\n    x + 0\n}\n\npub fn b() {}\n";
    assert_eq!(h(base), h(commented));
    let moved = "pub fn b() {}\n\npub fn a(x: i64) -> i64 {\n    x\n}\n\npub struct Point {\n    pub x: i64,\n}\n";
    assert_eq!(h(base), h(moved));
    let member = "pub struct Point {\n    pub x: i64,\n    pub y: i64,\n}\n\npub fn a(x: i64) -> i64 {\n    x\n}\n\npub fn b() {}\n";
    assert_ne!(h(base), h(member));
    let returns = "pub struct Point {\n    pub x: i64,\n}\n\npub fn a(x: i64) -> u64 {\n    x\n}\n\npub fn b() {}\n";
    assert_ne!(h(base), h(returns));
    // A nested helper inside a body is implementation, not interface.
    let nested = "pub struct Point {\n    pub x: i64,\n}\n\npub fn a(x: i64) -> i64 {\n    fn helper() {}\n    x\n}\n\npub fn b() {}\n";
    assert_eq!(h(base), h(nested));
}
