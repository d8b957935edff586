//! The real binary on temporary workspaces: index, warm starts, skips and ignore rules, the repo map,
//! status, configuration problems and a corrupt store.

use crate::util::{Workspace, stderr};
use serde_json::Value;

const LIB_PY: &str = r#"
class Settings:
    """Holds configuration."""

    def load_settings(self, path):
        if not path:
            raise ValueError("settings path must not be empty")
        return {}


def configure_logging(level):
    return level
"#;

const APP_PY: &str = r#"
from lib import Settings, configure_logging


def main():
    settings = Settings()
    settings.load_settings("app.toml")
    configure_logging("debug")
"#;

fn sample() -> Workspace {
    Workspace::with(&[("lib.py", LIB_PY), ("app.py", APP_PY), ("src/util.rs", "pub fn helper() -> u32 { 1 }\n")])
}

fn skipped(report: &Value) -> Vec<(String, String)> {
    report["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["key"].as_str().unwrap().to_string(), s["reason"].as_str().unwrap().to_string()))
        .collect()
}

#[test]
fn index_summarizes_the_workspace() {
    let ws = sample();
    let report = ws.json(&["index", "."]);
    assert_eq!(report["files"], 3);
    assert_eq!(report["files_by_language"]["python"], 2);
    assert_eq!(report["files_by_language"]["rust"], 1);
    assert_eq!(report["parsed"], 3);
    assert!(report["definitions"].as_u64().unwrap() >= 5, "{report}");
    assert!(report["graph_edges"].as_u64().unwrap() >= 2, "app.py uses lib.py: {report}");
    let text = ws.ok(&["index", "."]);
    assert!(text.contains("3 files"), "{text}");
    assert!(text.contains("python 2, rust 1"), "{text}");
}

#[test]
fn warm_start_reparses_nothing_and_edits_reparse_only_the_edited_file() {
    let ws = sample();
    ws.json(&["index", "."]);
    let warm = ws.json(&["index", "."]);
    assert_eq!(warm["parsed"], 0, "{warm}");
    assert_eq!(warm["rehashed"].as_u64().unwrap() + warm["unchanged"].as_u64().unwrap(), 3);
    assert_eq!(warm["graph_rebuilt"], false);

    // Same bytes, new mtime: read and hashed, not parsed.
    let lib = ws.path("lib.py");
    let file = std::fs::File::options().write(true).open(&lib).unwrap();
    file.set_modified(std::time::SystemTime::now() + std::time::Duration::from_secs(5)).unwrap();
    drop(file);
    let touched = ws.json(&["index", "."]);
    assert_eq!(touched["parsed"], 0, "{touched}");
    assert!(touched["rehashed"].as_u64().unwrap() >= 1, "{touched}");

    // A body edit that adds no call parses the file but leaves the ranking alone.
    ws.write("lib.py", LIB_PY.replace("return level", "return level  # unchanged graph"));
    let body_only = ws.json(&["index", "."]);
    assert_eq!(body_only["parsed"], 1, "{body_only}");
    assert_eq!(body_only["graph_rebuilt"], false, "{body_only}");

    ws.write("lib.py", format!("{LIB_PY}\ndef added():\n    pass\n"));
    let edited = ws.json(&["index", "."]);
    assert_eq!(edited["parsed"], 1, "{edited}");
    assert_eq!(edited["graph_rebuilt"], true);

    std::fs::remove_file(ws.path("src/util.rs")).unwrap();
    let removed = ws.json(&["index", "."]);
    assert_eq!(removed["removed"], 1, "{removed}");
    assert_eq!(removed["files"], 2);
}

#[test]
fn copies_and_renames_reuse_facts() {
    let ws = sample();
    ws.json(&["index", "."]);
    std::fs::rename(ws.path("lib.py"), ws.path("renamed.py")).unwrap();
    ws.write("copy.py", LIB_PY);
    let report = ws.json(&["index", "."]);
    assert_eq!(report["parsed"], 0, "same bytes are never parsed twice: {report}");
    assert_eq!(report["removed"], 1);
    assert_eq!(report["files"], 4);
}

#[test]
fn skips_are_reported_with_reasons() {
    let ws = sample();
    ws.write("binary.rs", b"fn x() {}\0\x01\x02");
    ws.write("big.py", "x = 1\n".repeat(400));
    let report = ws.json(&["index", ".", "--max-file-size", "2KiB"]);
    let skips = skipped(&report);
    assert!(skips.contains(&("binary.rs".into(), "binary".into())), "{skips:?}");
    assert!(skips.contains(&("big.py".into(), "too-large".into())), "{skips:?}");
    assert_eq!(report["files"], 3);

    let status = ws.json(&["status", "."]);
    assert_eq!(skipped_of(&status).len(), 2, "status shows the skips: {status}");
    let text = ws.ok(&["status", "."]);
    assert!(text.contains("big.py  too large (2400 bytes, limit 2048"), "{text}");
    assert!(text.contains("binary.rs  binary"), "{text}");

    // Under the default limit the big file is indexed and leaves the skip list.
    let report = ws.json(&["index", "."]);
    assert_eq!(skipped(&report), vec![("binary.rs".to_string(), "binary".to_string())]);
}

fn skipped_of(status: &Value) -> Vec<Value> {
    status["skipped"].as_array().unwrap().clone()
}

#[test]
fn ignore_rules_are_honoured() {
    let ws = sample();
    ws.write(".gitignore", "build/\n*.gen.py\n");
    ws.write("build/out.py", "def built(): pass\n");
    ws.write("schema.gen.py", "def generated(): pass\n");
    ws.write(".ignore", "vendor/\n");
    ws.write("vendor/dep.py", "def vendored(): pass\n");
    ws.write(".reverieignore", "secret_stuff/\n");
    ws.write("secret_stuff/keys.py", "def keys(): pass\n");
    ws.write(".hidden/tool.py", "def hidden(): pass\n");
    ws.write("excluded_globally.py", "def excluded(): pass\n");
    ws.write("../home-is-elsewhere", "");
    // The global git excludes file: $XDG_CONFIG_HOME/git/ignore.
    let global = ws.home.path().join("config/git/ignore");
    std::fs::create_dir_all(global.parent().unwrap()).unwrap();
    std::fs::write(&global, "excluded_globally.py\n").unwrap();

    let report = ws.json(&["index", "."]);
    assert_eq!(report["files"], 3, "only lib.py, app.py and src/util.rs: {report}");
    let map = ws.ok(&["map", ".", "--budget", "4000"]);
    for name in ["built", "generated", "vendored", "keys", "hidden", "excluded"] {
        assert!(!map.contains(&format!("def {name}")), "{name} should be ignored:\n{map}");
    }
}

#[cfg(unix)]
#[test]
fn symlink_loops_are_safe() {
    let ws = sample();
    std::os::unix::fs::symlink(ws.root(), ws.path("src/loop")).unwrap();
    // Not following links (the default): the loop is never entered.
    let report = ws.json(&["index", "."]);
    assert_eq!(report["files"], 3);
    // Following links: the loop is detected and reported.
    ws.write("reverie.toml", "[index]\nfollow_symlinks = true\n");
    let report = ws.json(&["index", "."]);
    assert!(skipped(&report).iter().any(|(_, reason)| reason == "symlink-loop"), "{report}");
}

#[test]
fn the_map_fits_its_budget_and_follows_focus() {
    let ws = sample();
    let map = ws.ok(&["map", ".", "--budget", "1000"]);
    assert!(map.contains("lib.py"), "{map}");
    assert!(map.contains("def load_settings(self, path)"), "{map}");
    for budget in [5usize, 20, 40, 80, 1000] {
        let map = ws.ok(&["map", ".", "--budget", &budget.to_string()]);
        assert!(reverie::tokens::estimate_tokens(&map) <= budget, "budget {budget}:\n{map}");
    }
    // The referenced definitions rank first: lib.py's come before the unreferenced Rust helper.
    let lib_at = map.find("lib.py").unwrap();
    let util_at = map.find("src/util.rs").unwrap_or(usize::MAX);
    assert!(lib_at < util_at, "{map}");

    let out = ws.run(&["map", ".", "--focus", "nope.py"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("--focus nope.py: no such file"), "{}", stderr(&out));
    let focused = ws.ok(&["map", ".", "--focus", "app.py", "--budget", "1000"]);
    assert!(focused.contains("configure_logging"), "{focused}");
}

#[test]
fn status_before_and_after_indexing() {
    let ws = sample();
    let text = ws.ok(&["status", "."]);
    assert!(text.contains("not indexed yet"), "{text}");
    ws.ok(&["index", "."]);
    let status = ws.json(&["status", "."]);
    assert_eq!(status["indexed"], true);
    assert_eq!(status["files"], 3);
    assert_eq!(status["top_files"][0][0], "lib.py", "{status}");
    assert!(status["store"].as_str().unwrap().starts_with(ws.cache_dir().to_str().unwrap()));
}

#[test]
fn the_store_lives_in_the_xdg_cache_by_default() {
    let ws = sample();
    let out = ws.command(&["index", ".", "--format", "json"]).env_remove("REVERIE_CACHE_DIR").output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let status = ws.command(&["status", ".", "--format", "json"]).env_remove("REVERIE_CACHE_DIR").output().unwrap();
    let status: Value = serde_json::from_slice(&status.stdout).unwrap();
    let store = status["store"].as_str().unwrap();
    assert!(store.starts_with(ws.home.path().join("xdg-cache/reverie").to_str().unwrap()), "{store}");
    assert!(!ws.path(".reverie").exists(), "nothing is written into the workspace");
}

#[test]
fn a_bad_config_is_reported_and_defaults_apply() {
    let ws = sample();
    ws.write("reverie.toml", "[index]\nmax_fiel_size = 10\n");
    let out = ws.run(&["index", ".", "--format", "json"]);
    assert!(out.status.success());
    assert!(stderr(&out).contains("unknown key `index.max_fiel_size`"), "{}", stderr(&out));
    ws.write("reverie.toml", "[index]\nmax_file_size = \"huge\"\n");
    let out = ws.run(&["index", ".", "--format", "json"]);
    assert!(out.status.success());
    assert!(stderr(&out).contains("reverie.toml: has a bad value"), "{}", stderr(&out));
    ws.write("reverie.toml", "[index]\nmax_file_size = 100\n");
    let report = ws.json(&["index", "."]);
    assert_eq!(skipped(&report).len(), 2, "the config applies to lib.py and app.py: {report}");
}

#[test]
fn a_corrupt_store_is_rebuilt() {
    let ws = sample();
    ws.ok(&["index", "."]);
    let store_dir = std::fs::read_dir(ws.cache_dir()).unwrap().next().unwrap().unwrap().path();
    for entry in std::fs::read_dir(&store_dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            std::fs::write(&path, b"this is not a sled file").unwrap();
        }
    }
    let out = ws.run(&["index", ".", "--format", "json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("rebuilding"), "{}", stderr(&out));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["parsed"], 3);
    let warm = ws.json(&["index", "."]);
    assert_eq!(warm["parsed"], 0);
}

#[test]
fn errors_say_what_to_do() {
    let ws = sample();
    let out = ws.run(&["index", "does-not-exist"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("cannot open the folder does-not-exist"), "{}", stderr(&out));
    let out = ws.run(&["index", "lib.py"]);
    assert!(stderr(&out).contains("is a file; give the folder to index"), "{}", stderr(&out));
    let help = ws.ok(&["--help"]);
    for command in ["index", "map", "think", "ask", "status", "facts", "serve"] {
        assert!(help.contains(command), "{help}");
        // Every subcommand's help renders (clap checks argument definitions here).
        let sub = ws.ok(&[command, "--help"]);
        assert!(sub.contains("Usage: reverie"), "{sub}");
    }
}

#[test]
fn facts_prints_one_file() {
    let ws = sample();
    let text = ws.ok(&["facts", "lib.py"]);
    assert!(text.contains("def method load_settings 5-8 in Settings | def load_settings(self, path)"), "{text}");
    assert!(text.contains("error raise \"settings path must not be empty\" 7 in load_settings"), "{text}");
    let out = ws.run(&["facts", "README"]);
    assert!(stderr(&out).contains("not a file reverie keeps (it parses Rust, Python, "), "{}", stderr(&out));
}
