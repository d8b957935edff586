//! The interface-hash property: editing only function bodies keeps a file's interface hash; changing
//! a signature (name, parameter, return type), adding a definition or changing a type's member
//! changes it. Sources are generated in every language of the table that has definitions.

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

/// One generated file per language: a preamble with an import and a type, then `functions` written by
/// `function(name, params, body_lines)`.
fn generate(preamble: &str, functions: &[Function], function: impl Fn(&str, &[String], &[String]) -> String) -> String {
    let mut out = String::from(preamble);
    for f in functions {
        out.push_str(&function(&f.name, &f.params, &f.body));
        out.push('\n');
    }
    out
}

fn lines(body: &[String], line: impl Fn(usize, &String) -> String) -> String {
    body.iter().enumerate().map(|(i, n)| line(i, n)).collect()
}

fn ruby(functions: &[Function]) -> String {
    let mut out = String::from("require \"set\"\n\nclass Point\n  attr_reader :x\nend\n\n");
    for f in functions {
        out.push_str(&format!("def {}({})\n", f.name, f.params.join(", ")));
        for (i, n) in f.body.iter().enumerate() {
            out.push_str(&format!("  v{i} = {n} + 1\n"));
        }
        out.push_str("  nil\nend\n\n");
    }
    out
}

fn javascript(functions: &[Function]) -> String {
    generate("import fs from 'fs';\n\nexport class Point {\n  x = 0;\n}\n\n", functions, |name, params, body| {
        format!(
            "export function {name}({}) {{\n{}  return 0;\n}}\n",
            params.join(", "),
            lines(body, |i, n| format!("  const v{i} = {n};\n"))
        )
    })
}

fn typescript(functions: &[Function]) -> String {
    generate(
        "import fs from 'fs';\n\nexport interface Point {\n  x: number;\n}\n\n",
        functions,
        |name, params, body| {
            let params: Vec<String> = params.iter().map(|p| format!("{p}: number")).collect();
            format!(
                "export function {name}({}): number {{\n{}  return 0;\n}}\n",
                params.join(", "),
                lines(body, |i, n| format!("  const v{i} = {n};\n"))
            )
        },
    )
}

fn go(functions: &[Function]) -> String {
    generate("package p\n\nimport \"fmt\"\n\ntype Point struct {\n\tX int\n}\n\n", functions, |name, params, body| {
        let params: Vec<String> = params.iter().map(|p| format!("{p} int")).collect();
        format!(
            "func {name}({}) int {{\n{}\tfmt.Println()\n\treturn 0\n}}\n",
            params.join(", "),
            lines(body, |i, n| format!("\tv{i} := {n}\n\t_ = v{i}\n"))
        )
    })
}

fn java(functions: &[Function]) -> String {
    let mut out =
        generate("import java.util.List;\n\npublic class Gen {\n    int x;\n\n", functions, |name, params, body| {
            let params: Vec<String> = params.iter().map(|p| format!("int {p}")).collect();
            format!(
                "    public int {name}({}) {{\n{}        return 0;\n    }}\n",
                params.join(", "),
                lines(body, |i, n| format!("        int v{i} = {n};\n"))
            )
        });
    out.push_str("}\n");
    out
}

fn c(functions: &[Function]) -> String {
    generate("#include <stdio.h>\n\nstruct point {\n    int x;\n};\n\n", functions, |name, params, body| {
        let params: Vec<String> = params.iter().map(|p| format!("int {p}")).collect();
        format!(
            "int {name}({}) {{\n{}    return 0;\n}}\n",
            params.join(", "),
            lines(body, |i, n| format!("    int v{i} = {n};\n"))
        )
    })
}

fn php(functions: &[Function]) -> String {
    generate("<?php\n\nuse App\\Util;\n\nclass Point\n{\n    public int $x;\n}\n\n", functions, |name, params, body| {
        let params: Vec<String> = params.iter().map(|p| format!("int ${p}")).collect();
        format!(
            "function {name}({}): int\n{{\n{}    return 0;\n}}\n",
            params.join(", "),
            lines(body, |i, n| format!("    $v{i} = {n};\n"))
        )
    })
}

fn csharp(functions: &[Function]) -> String {
    let mut out =
        generate("using System;\n\npublic class Gen\n{\n    public int X;\n\n", functions, |name, params, body| {
            let params: Vec<String> = params.iter().map(|p| format!("int {p}")).collect();
            format!(
                "    public int {name}({})\n    {{\n{}        return 0;\n    }}\n",
                params.join(", "),
                lines(body, |i, n| format!("        int v{i} = {n};\n"))
            )
        });
    out.push_str("}\n");
    out
}

fn lua(functions: &[Function]) -> String {
    generate("local json = require(\"cjson\")\n\nlocal M = {}\n\n", functions, |name, params, body| {
        format!(
            "function M.{name}({})\n{}  return 0\nend\n",
            params.join(", "),
            lines(body, |i, n| format!("  local v{i} = {n}\n"))
        )
    })
}

/// Bash functions have no parameter list (`$1` is read in the body), so a parameter edit is a body edit.
fn bash(functions: &[Function]) -> String {
    generate("source ./lib.sh\n\nreadonly LIMIT=10\n\n", functions, |name, params, body| {
        let locals: String = params.iter().enumerate().map(|(i, p)| format!("  local {p}=\"${}\"\n", i + 1)).collect();
        format!("{name}() {{\n{locals}{}  return 0\n}}\n", lines(body, |i, n| format!("  local v{i}={n}\n")))
    })
}

fn kotlin(functions: &[Function]) -> String {
    generate("import kotlin.math.max\n\ndata class Point(val x: Int)\n\n", functions, |name, params, body| {
        let params: Vec<String> = params.iter().map(|p| format!("{p}: Int")).collect();
        format!(
            "fun {name}({}): Int {{\n{}    return 0\n}}\n",
            params.join(", "),
            lines(body, |i, n| format!("    val v{i} = {n}\n"))
        )
    })
}

fn swift(functions: &[Function]) -> String {
    generate("import Foundation\n\nstruct Point {\n    let x: Int\n}\n\n", functions, |name, params, body| {
        let params: Vec<String> = params.iter().map(|p| format!("{p}: Int")).collect();
        format!(
            "func {name}({}) -> Int {{\n{}    return 0\n}}\n",
            params.join(", "),
            lines(body, |i, n| format!("    let v{i} = {n}\n"))
        )
    })
}

fn scala(functions: &[Function]) -> String {
    generate("import scala.util.Try\n\ncase class Point(x: Int)\n\n", functions, |name, params, body| {
        let params: Vec<String> = params.iter().map(|p| format!("{p}: Int")).collect();
        format!(
            "def {name}({}): Int = {{\n{}  0\n}}\n",
            params.join(", "),
            lines(body, |i, n| format!("  val v{i} = {n}\n"))
        )
    })
}

fn elixir(functions: &[Function]) -> String {
    let mut out = generate("defmodule Gen do\n  alias App.Util\n\n  @limit 10\n\n", functions, |name, params, body| {
        format!(
            "  def {name}({}) do\n{}    0\n  end\n",
            params.join(", "),
            lines(body, |i, n| format!("    v{i} = {n}\n"))
        )
    });
    out.push_str("end\n");
    out
}

fn haskell(functions: &[Function]) -> String {
    generate(
        "module Gen where\n\nimport Data.List (sort)\n\ndata Point = Point { px :: Int }\n\n",
        functions,
        |name, params, body| {
            let types: String = params.iter().map(|_| "Int -> ").collect();
            let params: String = params.iter().map(|p| format!(" {p}")).collect();
            format!(
                "{name} :: {types}Int\n{name}{params} = 0\n  where\n{}",
                lines(body, |i, n| format!("    v{i} = {n}\n"))
            )
        },
    )
}

fn ocaml(functions: &[Function]) -> String {
    generate("open Printf\n\ntype point = { x : int }\n\n", functions, |name, params, body| {
        // Without parameters `let f : int = …` is a value, not a function: take a unit parameter then.
        let params: String = if params.is_empty() {
            " ()".to_string()
        } else {
            params.iter().map(|p| format!(" ({p} : int)")).collect()
        };
        format!("let {name}{params} : int =\n{}  0\n", lines(body, |i, n| format!("  let v{i} = {n} in\n")))
    })
}

fn zig(functions: &[Function]) -> String {
    generate(
        "const std = @import(\"std\");\n\npub const Point = struct {\n    x: i64,\n};\n\n",
        functions,
        |name, params, body| {
            let params: Vec<String> = params.iter().map(|p| format!("{p}: i64")).collect();
            format!(
                "pub fn {name}({}) i64 {{\n{}    return 0;\n}}\n",
                params.join(", "),
                lines(body, |i, n| format!("    const v{i}: i64 = {n};\n"))
            )
        },
    )
}

/// Markdown: a section per function, its parameters in the heading, its body as prose. Prose edits
/// keep the interface hash (a heading is a section's interface), heading edits change it.
fn markdown(functions: &[Function]) -> String {
    generate("# Gen\n\nSee `Point` in [the source](src/point.rs).\n\n", functions, |name, params, body| {
        format!(
            "## {name}({})\n\n{}\n",
            params.join(", "),
            lines(body, |i, n| format!("Step {i} takes {n} seconds.\n"))
        )
    })
}

/// reStructuredText: an overlined document title, then a section per function, its parameters in the
/// title, its body as prose. Prose edits keep the interface hash (a title is a section's interface),
/// title edits change it.
fn rst(functions: &[Function]) -> String {
    let preamble = "===\nGen\n===\n\nSee :class:`Point` in :doc:`the source <src/point>`.\n\n";
    generate(preamble, functions, |name, params, body| {
        let title = format!("{name}({})", params.join(", "));
        format!(
            "{title}\n{}\n\n{}\n",
            "=".repeat(title.chars().count()),
            lines(body, |i, n| format!("Step {i} takes {n} seconds.\n"))
        )
    })
}

/// An OCaml interface has no bodies: a body edit leaves it as it is; parameters are in the `val` type.
fn ocaml_interface(functions: &[Function]) -> String {
    generate("open Printf\n\ntype point = { x : int }\n\n", functions, |name, params, _body| {
        let params: String = params.iter().map(|_| "int -> ").collect();
        format!("val {name} : {params}int\n")
    })
}

/// A generated source file for `language`, or `None` for a language without definitions to hash. No
/// wildcard arm: a new language does not compile here until it has a generator.
fn source(language: Language, functions: &[Function]) -> Option<String> {
    Some(match language {
        Language::Python => python(functions),
        Language::Rust => rust(functions),
        Language::Ruby => ruby(functions),
        Language::JavaScript => javascript(functions),
        Language::TypeScript | Language::Tsx => typescript(functions),
        Language::Go => go(functions),
        Language::Java => java(functions),
        Language::C | Language::Cpp => c(functions),
        Language::Markdown => markdown(functions),
        // Plain text has no definitions: its interface hash is constant.
        Language::Text => return None,
        Language::Zig => zig(functions),
        Language::OCaml => ocaml(functions),
        Language::OCamlInterface => ocaml_interface(functions),
        Language::Rst => rst(functions),
        Language::Haskell => haskell(functions),
        Language::Elixir => elixir(functions),
        Language::Scala => scala(functions),
        Language::Swift => swift(functions),
        Language::Kotlin => kotlin(functions),
        Language::Bash => bash(functions),
        Language::Lua => lua(functions),
        Language::CSharp => csharp(functions),
        Language::Php => php(functions),
    })
}

/// Whether a function's parameters are part of its header (not so in Bash).
fn has_parameter_lists(language: Language) -> bool {
    language != Language::Bash
}

fn hash(source: &str, language: Language) -> reverie::hash::Digest {
    let facts = extract(source.as_bytes(), language);
    assert!(!facts.has_syntax_errors, "generated {} source must parse:\n{source}", language.name());
    facts.interface_hash
}

fn all(functions: &[Function]) -> Vec<(reverie::hash::Digest, Language)> {
    Language::ALL
        .iter()
        .filter_map(|&language| Some((hash(&source(language, functions)?, language), language)))
        .collect()
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
        for (before, after) in all(&functions).into_iter().zip(all(&edited)) {
            prop_assert_eq!(before.0, after.0, "{}", before.1.name());
        }
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
        for (before, after) in all(&functions).into_iter().zip(all(&edited)) {
            if edit == 1 && !has_parameter_lists(before.1) {
                prop_assert_eq!(before.0, after.0, "{}: parameters are read in the body", before.1.name());
                continue;
            }
            prop_assert_ne!(before.0, after.0, "{}", before.1.name());
        }
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

/// Every language with a grammar is in the property tests above.
#[test]
fn every_language_with_a_grammar_is_generated() {
    let functions = [Function { name: "f_a".into(), params: vec!["x0".into()], body: vec!["1".into()] }];
    for &language in Language::ALL {
        if language.grammar().is_some() {
            let source = source(language, &functions)
                .unwrap_or_else(|| panic!("no generator for {} in tests/it/interface_hash.rs", language.name()));
            let facts = extract(source.as_bytes(), language);
            assert!(
                facts.definitions.iter().any(|d| d.name.starts_with("f_a")),
                "the generated {} function is a definition:\n{source}",
                language.name()
            );
        }
    }
}
