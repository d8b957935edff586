//! Fixture tests for fact extraction: every source file under `tests/fixtures/facts/<language>/` is
//! extracted and compared with the `.facts` file next to it (the `render_facts` text).
//!
//! To accept new output after a deliberate change: `UPDATE_EXPECT=1 cargo test --test it -- facts_fixtures::`,
//! then review the diff of the `.facts` files like code.

use reverie::syntax::{Language, extract, render_facts};
use std::path::{Path, PathBuf};

fn fixture_sources() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/facts");
    let mut sources = Vec::new();
    for dir in std::fs::read_dir(&root).expect("tests/fixtures/facts exists") {
        let dir = dir.unwrap().path();
        for file in std::fs::read_dir(&dir).unwrap() {
            let file = file.unwrap().path();
            if Language::from_path(&file).is_some() {
                sources.push(file);
            }
        }
    }
    sources.sort();
    sources
}

#[test]
fn facts_match_fixtures() {
    let update = std::env::var_os("UPDATE_EXPECT").is_some();
    let mut failures = Vec::new();
    let sources = fixture_sources();
    for source in &sources {
        let language = Language::from_path(source).unwrap();
        let bytes = std::fs::read(source).unwrap();
        let actual = render_facts(&extract(&bytes, language));
        let expected_path = PathBuf::from(format!("{}.facts", source.display()));
        if update {
            std::fs::write(&expected_path, &actual).unwrap();
            continue;
        }
        let expected = std::fs::read_to_string(&expected_path).unwrap_or_default();
        if expected != actual {
            failures.push(format!("--- {} (expected)\n{expected}\n+++ actual\n{actual}", expected_path.display()));
        }
    }
    assert!(
        failures.is_empty(),
        "{} fixture(s) differ; if the change is intended run UPDATE_EXPECT=1 cargo test --test it -- facts_fixtures::\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Every language must have at least one fixture, so every grammar is loaded and exercised.
#[test]
fn every_language_has_a_fixture() {
    let sources = fixture_sources();
    for &language in Language::ALL {
        assert!(
            sources.iter().any(|s| Language::from_path(s) == Some(language)),
            "no fixture for {} under tests/fixtures/facts/",
            language.name()
        );
    }
}
