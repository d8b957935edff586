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
//! 6. `sleep` (notes, planning, scheduling, the runner), `answer` (retrieval, fusion, direct answers);
//! 7. the edges: `config` (assembles every section), `ask` (one answer flow), `server`, `cli`.
//!
//! A new module gets a row here; a new import against the order fails this test, which says where the
//! shared piece should move instead.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Module → the `crate::` modules it may use (test code inside `#[cfg(test)]` is not checked).
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
    ("workspace", &["syntax", "hash"]),
    ("document", &["syntax", "hash"]),
    ("git", &["workspace"]),
    ("graph", &["hash", "syntax", "tokens"]),
    ("search", &["hash", "terms", "syntax", "tokens", "graph"]),
    ("snapshot", &["hash", "syntax", "graph", "search"]),
    ("store", &["hash", "syntax", "workspace"]),
    ("index", &["hash", "syntax", "workspace", "graph", "snapshot", "store"]),
    ("jobs", &["store"]),
    ("history", &["units", "redact", "workspace", "git", "snapshot", "store", "jobs"]),
    ("llm", &["hash", "tokens", "units", "redact", "dirs"]),
    ("ledger", &["tokens", "llm", "store"]),
    (
        "embed",
        &["hash", "tokens", "units", "redact", "syntax", "search", "snapshot", "store", "history", "llm", "ledger"],
    ),
    (
        "sleep",
        &["hash", "tokens", "units", "redact", "syntax", "graph", "search", "snapshot", "store", "llm", "ledger"],
    ),
    (
        "answer",
        &[
            "hash", "terms", "tokens", "units", "redact", "syntax", "graph", "search", "snapshot", "store", "llm",
            "ledger", "embed", "sleep",
        ],
    ),
    ("config", &["units", "workspace", "llm", "embed", "sleep"]),
    (
        "ask",
        &[
            "hash",
            "tokens",
            "units",
            "redact",
            "syntax",
            "workspace",
            "graph",
            "search",
            "snapshot",
            "store",
            "index",
            "llm",
            "ledger",
            "embed",
            "sleep",
            "answer",
            "config",
        ],
    ),
    ("server", &["*except cli"]),
    ("cli", &["*"]),
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

/// The top-level module a file belongs to (`src/answer/retrieve.rs` → `answer`).
fn module_of(file: &Path) -> String {
    let relative = file.strip_prefix(src()).unwrap();
    let first = relative.components().next().unwrap().as_os_str().to_string_lossy().into_owned();
    first.trim_end_matches(".rs").to_string()
}

/// `crate::x` paths used by a file's non-test code, ignoring comments.
fn crate_imports(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for line in text.lines() {
        if line.trim_start().starts_with("#[cfg(test)]") {
            break;
        }
        let code = line.split("//").next().unwrap_or("");
        let mut rest = code;
        while let Some(at) = rest.find("crate::") {
            let after = &rest[at + "crate::".len()..];
            let name: String = after.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
            if !name.is_empty() {
                out.insert(name);
            }
            rest = after;
        }
    }
    out
}

#[test]
fn modules_import_only_what_lies_below_them() {
    let allowed: BTreeMap<&str, &[&str]> = ALLOWED.iter().copied().collect();
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    files.sort();
    let mut problems = Vec::new();
    for file in &files {
        let module = module_of(file);
        if module == "lib" || module == "main" {
            continue;
        }
        let Some(may) = allowed.get(module.as_str()) else {
            problems.push(format!("src/{module}: a new module — give it a row in tests/it/layers.rs's ALLOWED"));
            continue;
        };
        let text = std::fs::read_to_string(file).unwrap();
        for used in crate_imports(&text) {
            let ok = used == module
                || may.contains(&"*")
                || (may.contains(&"*except cli") && used != "cli")
                || may.contains(&used.as_str());
            if !ok {
                problems.push(format!(
                    "{} uses crate::{used}, which `{module}` may not (move the shared piece below both)",
                    file.strip_prefix(src().parent().unwrap()).unwrap().display()
                ));
            }
        }
    }
    assert!(problems.is_empty(), "imports against the layering:\n{}", problems.join("\n"));
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
