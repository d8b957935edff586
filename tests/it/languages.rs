//! The language table (`src/syntax/language.rs`) is the one list of languages: the editor
//! configurations (Neovim filetypes, VS Code activation events and document selector, Helix language
//! entries) and the README's language line are generated from it. Each test renders its file's
//! generated part from the table and compares; with `UPDATE_EXPECT=1` it rewrites the file instead
//! (as expect-test does), so adding a language is its table entry, its queries, its fixture, and
//!
//! ```sh
//! UPDATE_EXPECT=1 cargo test --test it languages
//! ```

use reverie::syntax::{Language, LanguageSpec};
use std::path::Path;

fn path(relative: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

fn read(relative: &str) -> String {
    std::fs::read_to_string(path(relative)).unwrap_or_else(|err| panic!("{relative}: {err}"))
}

/// Every value of `field` over the table, in table order.
fn from_table(field: impl Fn(&LanguageSpec) -> &'static [&'static str]) -> Vec<&'static str> {
    Language::ALL.iter().flat_map(|language| field(language.spec()).iter().copied()).collect()
}

/// `text` with what lies between the line that starts with `open` and the next line that starts
/// with `close` (both trimmed, both kept) replaced by `body`.
fn replace_between(text: &str, open: &str, close: &str, body: &str) -> Result<String, String> {
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let start = lines.iter().position(|l| l.trim_start().starts_with(open)).ok_or(format!("no line `{open}`"))?;
    let end = start
        + 1
        + lines[start + 1..]
            .iter()
            .position(|l| l.trim_start().starts_with(close))
            .ok_or(format!("no line `{close}` after `{open}`"))?;
    Ok(format!("{}{body}{}", lines[..=start].concat(), lines[end..].concat()))
}

/// `text` with the line that starts with `prefix` (trimmed) replaced by `line` (given without its
/// line break).
fn replace_line(text: &str, prefix: &str, line: impl Fn(&str) -> String) -> Result<String, String> {
    let mut found = false;
    let out: String = text
        .split_inclusive('\n')
        .map(|l| {
            if !found && l.trim_start().starts_with(prefix) {
                found = true;
                format!("{}{}", line(l.trim_end_matches('\n')), if l.ends_with('\n') { "\n" } else { "" })
            } else {
                l.to_string()
            }
        })
        .collect();
    if found { Ok(out) } else { Err(format!("no line starting with `{prefix}`")) }
}

/// Compares `relative`'s text with `expected` (its generated parts rendered from the table); with
/// `UPDATE_EXPECT=1`, writes `expected` instead.
fn check_generated(relative: &str, expected: Result<String, String>) {
    let actual = read(relative);
    let expected = expected.unwrap_or_else(|err| panic!("{relative}: {err} (the generated part's frame)"));
    if actual == expected {
        return;
    }
    if std::env::var_os("UPDATE_EXPECT").is_some() {
        std::fs::write(path(relative), &expected).unwrap_or_else(|err| panic!("{relative}: {err}"));
        return;
    }
    let first_difference = actual.lines().zip(expected.lines()).position(|(a, e)| a != e).unwrap_or(0);
    panic!(
        "{relative} does not say what the language table (src/syntax/language.rs) says; from line {}:\n\
         expected: {}\n  actual: {}\nRewrite it with: UPDATE_EXPECT=1 cargo test --test it languages",
        first_difference + 1,
        expected.lines().nth(first_difference).unwrap_or(""),
        actual.lines().nth(first_difference).unwrap_or(""),
    );
}

fn neovim_init(current: &str) -> Result<String, String> {
    let quoted: Vec<String> = from_table(|s| s.nvim_filetypes).iter().map(|f| format!("\"{f}\"")).collect();
    replace_line(current, "filetypes = {", |line| {
        let indent = &line[..line.len() - line.trim_start().len()];
        format!("{indent}filetypes = {{ {} }},", quoted.join(", "))
    })
}

fn vscode_package(current: &str) -> Result<String, String> {
    let events: Vec<String> = std::iter::once("onStartupFinished".to_string())
        .chain(from_table(|s| s.lsp_ids).iter().map(|id| format!("onLanguage:{id}")))
        .map(|event| format!("    \"{event}\""))
        .collect();
    replace_between(current, "\"activationEvents\": [", "],", &format!("{}\n", events.join(",\n")))
}

fn vscode_extension(current: &str) -> Result<String, String> {
    let ids: String = from_table(|s| s.lsp_ids).iter().map(|id| format!("  '{id}',\n")).collect();
    replace_between(current, "const LANGUAGES = [", "];", &ids)
}

/// The marker after which `editors/helix/languages.toml` is generated.
const HELIX_MARKER: &str = "# One entry per Helix language reverie reads";

fn helix_languages(current: &str) -> Result<String, String> {
    let head = current.find(HELIX_MARKER).map(|at| &current[..at]).ok_or(format!("no line `{HELIX_MARKER}`"))?;
    let mut out = format!(
        "{head}{HELIX_MARKER}, generated from src/syntax/language.rs\n\
         # (UPDATE_EXPECT=1 cargo test --test it languages).\n"
    );
    for &language in Language::ALL {
        let spec = language.spec();
        for name in spec.helix_names {
            let servers: Vec<String> =
                spec.helix_servers.iter().chain(&["reverie"]).map(|server| format!("\"{server}\"")).collect();
            out.push_str(&format!("\n[[language]]\nname = \"{name}\"\nlanguage-servers = [{}]\n", servers.join(", ")));
        }
    }
    Ok(out)
}

fn readme(current: &str) -> Result<String, String> {
    let titles: Vec<&str> = Language::ALL.iter().map(|l| l.spec().title).filter(|title| !title.is_empty()).collect();
    replace_line(current, "- Languages:", |line| {
        let rest = line.split_once(". ").map_or("", |(_, rest)| rest);
        format!("- Languages: {}. {rest}", titles.join(", ")).trim_end().to_string()
    })
}

#[test]
fn neovim_filetypes_follow_the_table() {
    let file = "editors/nvim/lua/reverie/init.lua";
    check_generated(file, neovim_init(&read(file)));
}

#[test]
fn vscode_activation_and_document_selector_follow_the_table() {
    let file = "editors/vscode/package.json";
    check_generated(file, vscode_package(&read(file)));
    // The documentSelector is built from the LANGUAGES array in the extension's source.
    let file = "editors/vscode/src/extension.ts";
    check_generated(file, vscode_extension(&read(file)));
}

#[test]
fn helix_languages_follow_the_table() {
    let file = "editors/helix/languages.toml";
    check_generated(file, helix_languages(&read(file)));
    let config: toml::Table = read(file).parse().expect("valid TOML");
    assert!(config["language"].as_array().is_some_and(|l| !l.is_empty()), "{file}: no [[language]] entry");
}

#[test]
fn the_readme_lists_the_languages() {
    check_generated("README.md", readme(&read("README.md")));
}

#[test]
fn generated_parts_are_rendered_from_the_table() {
    // The frames around what is generated stay; what is inside them is the table's.
    let nvim = neovim_init("local defaults = {\n  filetypes = { \"old\" },\n}\n").unwrap();
    assert!(nvim.starts_with("local defaults = {\n  filetypes = { \"rust\", \"python\", "), "{nvim}");
    assert!(nvim.ends_with(", \"rst\" },\n}\n"), "{nvim}");
    let package =
        vscode_package("{\n  \"activationEvents\": [\n    \"onLanguage:old\"\n  ],\n  \"x\": 1\n}\n").unwrap();
    assert!(package.contains("[\n    \"onStartupFinished\",\n    \"onLanguage:rust\",\n"), "{package}");
    assert!(package.ends_with("\"onLanguage:restructuredtext\"\n  ],\n  \"x\": 1\n}\n"), "{package}");
    let readme = readme("# r\n- Languages: Old. Other text files are kept.\n").unwrap();
    assert!(readme.starts_with("# r\n- Languages: Rust, Python, "), "{readme}");
    assert!(readme.ends_with(", reStructuredText. Other text files are kept.\n"), "{readme}");
    let helix =
        helix_languages(&format!("[language-server.reverie]\n\n{HELIX_MARKER}\n[[language]]\nname = \"old\"\n"))
            .unwrap();
    assert!(helix.contains("name = \"ruby\"\nlanguage-servers = [\"ruby-lsp\", \"solargraph\", \"reverie\"]\n"));
    assert!(!helix.contains("old"), "{helix}");
    assert!(vscode_extension("const X = [\n];\n").is_err(), "a missing frame is an error, not a silent pass");
}

#[test]
fn lsp_ids_and_editor_names_map_back_to_their_language() {
    for &language in Language::ALL {
        let spec = language.spec();
        for id in spec.lsp_ids.iter().chain(spec.nvim_filetypes).chain(spec.helix_names) {
            assert_eq!(Language::from_lsp_id(id), Some(language), "{id}");
        }
        for ext in spec.extensions {
            assert_eq!(Language::from_path(std::path::Path::new(&format!("dir/file.{ext}"))), Some(language), "{ext}");
        }
    }
}
