//! The language table (`src/syntax/language.rs`) is the one list of languages: the editor
//! configurations (Neovim filetypes, VS Code activation events and document selector, Helix language
//! entries) and the README's language line must name exactly what it says. When a language is added
//! to the table, these tests say which lines to add where.

use reverie::syntax::Language;
use std::collections::BTreeSet;

fn read(path: &str) -> String {
    std::fs::read_to_string(format!("{}/{path}", env!("CARGO_MANIFEST_DIR")))
        .unwrap_or_else(|err| panic!("{path}: {err}"))
}

/// Every `"…"` or `'…'` literal in `text`.
fn quoted(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find(['"', '\'']) {
        let quote = rest[open..].chars().next().unwrap();
        let after = &rest[open + 1..];
        let Some(close) = after.find(quote) else { break };
        out.push(after[..close].to_string());
        rest = &after[close + 1..];
    }
    out
}

fn from_table(field: impl Fn(&reverie::syntax::LanguageSpec) -> &'static [&'static str]) -> BTreeSet<String> {
    Language::ALL.iter().flat_map(|language| field(language.spec()).iter().map(|s| s.to_string())).collect()
}

fn assert_same(what: &str, actual: BTreeSet<String>, expected: BTreeSet<String>) {
    let missing: Vec<_> = expected.difference(&actual).collect();
    let extra: Vec<_> = actual.difference(&expected).collect();
    assert!(missing.is_empty() && extra.is_empty(), "{what}: missing {missing:?}, not in the language table {extra:?}");
}

#[test]
fn neovim_filetypes_follow_the_table() {
    let init = read("editors/nvim/lua/reverie/init.lua");
    let line =
        init.lines().find(|l| l.trim_start().starts_with("filetypes = {")).expect("defaults.filetypes in init.lua");
    assert_same("editors/nvim filetypes", quoted(line).into_iter().collect(), from_table(|s| s.nvim_filetypes));
}

#[test]
fn vscode_activation_and_document_selector_follow_the_table() {
    let package: serde_json::Value = serde_json::from_str(&read("editors/vscode/package.json")).unwrap();
    let events: BTreeSet<String> = package["activationEvents"]
        .as_array()
        .expect("activationEvents")
        .iter()
        .filter_map(|e| e.as_str()?.strip_prefix("onLanguage:").map(str::to_string))
        .collect();
    let expected = from_table(|s| s.lsp_ids);
    assert_same("editors/vscode/package.json activationEvents onLanguage:", events, expected.clone());

    // The documentSelector is built from the LANGUAGES array in the extension's source.
    let source = read("editors/vscode/src/extension.ts");
    let start = source.find("const LANGUAGES = [").expect("const LANGUAGES in extension.ts");
    let end = start + source[start..].find("];").expect("the end of LANGUAGES");
    assert_same(
        "editors/vscode/src/extension.ts LANGUAGES",
        quoted(&source[start..end]).into_iter().collect(),
        expected,
    );
}

#[test]
fn helix_languages_follow_the_table() {
    let config: toml::Table = read("editors/helix/languages.toml").parse().expect("valid TOML");
    let names: BTreeSet<String> =
        config["language"].as_array().unwrap().iter().map(|l| l["name"].as_str().unwrap().to_string()).collect();
    assert_same("editors/helix/languages.toml [[language]] names", names, from_table(|s| s.helix_names));
}

#[test]
fn the_readme_lists_the_languages() {
    let readme = read("README.md");
    let titles: Vec<&str> = Language::ALL.iter().map(|l| l.spec().title).filter(|title| !title.is_empty()).collect();
    let expected = format!("- Languages: {}.", titles.join(", "));
    let line = readme.lines().find(|l| l.starts_with("- Languages:")).expect("a `- Languages:` line in README.md");
    assert!(line.starts_with(&expected), "README.md's language line should start with\n{expected}\nbut is\n{line}");
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
