//! The workspace on disk: which files reverie looks at, and reading them.
//!
//! The walk honours `.gitignore` (also outside a git repository), `.ignore`, `.reverieignore`, the
//! global git excludes and `.git/info/exclude`; it skips hidden files and does not follow symlinks
//! unless asked to (and then detects loops). Files that cannot be indexed — too large, binary,
//! unreadable — are never an error: each becomes a `Skipped` entry with its reason, shown by `status`.
//! This module and `store.rs` are the only ones that touch the file system.

use crate::syntax::Language;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

/// The name of reverie's own ignore file, in the syntax of `.gitignore`.
pub const IGNORE_FILE: &str = ".reverieignore";
/// Bytes looked at to decide whether a file is binary (a NUL byte in them means binary, as git does).
const BINARY_SNIFF_BYTES: usize = 8 * 1024;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WalkOptions {
    /// Files larger than this are skipped (reason `too-large`).
    pub max_file_size: u64,
    /// Follow symbolic links (loops are detected and skipped).
    pub follow_symlinks: bool,
    /// Folders never looked into, with everything under them: reverie's own cache (its answer
    /// documents, its stores) when it lies inside a workspace.
    pub excluded: Vec<PathBuf>,
}

impl Default for WalkOptions {
    fn default() -> Self {
        WalkOptions { max_file_size: 1024 * 1024, follow_symlinks: false, excluded: Vec::new() }
    }
}

impl WalkOptions {
    /// Whether `path` lies in an excluded folder.
    pub fn excludes(&self, path: &Path) -> bool {
        self.excluded.iter().any(|folder| path.starts_with(folder))
    }
}

/// A source file found by the walk.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceFile {
    pub path: PathBuf,
    /// The workspace-relative path with `/` separators; with several roots, prefixed by the root's
    /// folder name. This is the file's identity in the store and in every report.
    pub key: String,
    pub language: Language,
    pub size: u64,
    /// Modification time in nanoseconds since the Unix epoch.
    pub mtime_ns: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "reason", rename_all = "kebab-case")]
pub enum SkipReason {
    TooLarge { size: u64, limit: u64 },
    Binary,
    Unreadable { error: String },
    SymlinkLoop,
}

impl SkipReason {
    /// A stable short name, for grouping in summaries.
    pub fn name(&self) -> &'static str {
        match self {
            SkipReason::TooLarge { .. } => "too-large",
            SkipReason::Binary => "binary",
            SkipReason::Unreadable { .. } => "unreadable",
            SkipReason::SymlinkLoop => "symlink-loop",
        }
    }
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SkipReason::TooLarge { size, limit } => {
                write!(f, "too large ({size} bytes, limit {limit}; raise index.max_file_size to include it)")
            }
            SkipReason::Binary => write!(f, "binary (contains NUL bytes)"),
            SkipReason::Unreadable { error } => write!(f, "unreadable ({error})"),
            SkipReason::SymlinkLoop => write!(f, "symlink loop"),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Skipped {
    pub key: String,
    #[serde(flatten)]
    pub reason: SkipReason,
}

#[derive(Debug, Default)]
pub struct Walk {
    /// Source files in a supported language, sorted by key.
    pub files: Vec<SourceFile>,
    pub skipped: Vec<Skipped>,
    /// Files that are not ignored but in no supported language.
    pub other_files: usize,
}

/// Walks every root. Never fails: problems become `Skipped` entries.
pub fn walk(roots: &[PathBuf], options: &WalkOptions) -> Walk {
    let mut result = Walk::default();
    for root in roots {
        let prefix = root_prefix(roots, root);
        walk_root(root, prefix.as_deref(), options, &mut result);
    }
    result.files.sort_by(|a, b| a.key.cmp(&b.key));
    result.files.dedup_by(|a, b| a.key == b.key);
    result.skipped.sort_by(|a, b| a.key.cmp(&b.key));
    result
}

/// The key prefix of files under `root`: its folder name when there are several roots, else none.
pub fn root_prefix(roots: &[PathBuf], root: &Path) -> Option<String> {
    (roots.len() > 1).then(|| root_name(root))
}

fn root_name(root: &Path) -> String {
    root.file_name().map_or_else(|| root.display().to_string(), |n| n.to_string_lossy().into_owned())
}

/// The key of `path` under `root` (see `SourceFile::key`).
pub fn key_for(root: &Path, prefix: Option<&str>, path: &Path) -> String {
    let rel = path.strip_prefix(root).unwrap_or(path);
    let mut key = String::new();
    if let Some(prefix) = prefix {
        key.push_str(prefix);
        key.push('/');
    }
    let parts: Vec<String> = rel.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect();
    key.push_str(&parts.join("/"));
    key
}

/// The path of the file `key` names: the inverse of `key_for` (with several roots, the root whose
/// folder name starts the key). Pure; the file need not exist. `None` with no roots or no such root.
pub fn path_of_key(roots: &[PathBuf], key: &str) -> Option<PathBuf> {
    roots.iter().find_map(|root| match root_prefix(roots, root) {
        Some(prefix) => key.strip_prefix(&prefix)?.strip_prefix('/').map(|rest| root.join(rest)),
        None => Some(root.join(key)),
    })
}

fn walk_root(root: &Path, prefix: Option<&str>, options: &WalkOptions, out: &mut Walk) {
    let walker = ignore::WalkBuilder::new(root)
        .hidden(true)
        .git_ignore(true)
        .git_global(true)
        .git_exclude(true)
        .ignore(true)
        .require_git(false)
        .follow_links(options.follow_symlinks)
        .add_custom_ignore_filename(IGNORE_FILE)
        .filter_entry({
            let excluded = options.excluded.clone();
            move |entry| !excluded.iter().any(|folder| entry.path().starts_with(folder))
        })
        .build();
    for entry in walker {
        let entry = match entry {
            Ok(entry) => entry,
            Err(err) => {
                let (path, reason) = classify_walk_error(&err);
                let key = path.map_or_else(|| root.display().to_string(), |p| key_for(root, prefix, &p));
                out.skipped.push(Skipped { key, reason });
                continue;
            }
        };
        let Some(file_type) = entry.file_type() else { continue };
        if !file_type.is_file() {
            continue; // Directories, and symlinks when not following them.
        }
        let path = entry.path();
        let Some(language) = Language::from_path(path) else {
            out.other_files += 1;
            continue;
        };
        let key = key_for(root, prefix, path);
        let metadata = match entry.metadata() {
            Ok(metadata) => metadata,
            Err(err) => {
                out.skipped.push(Skipped { key, reason: SkipReason::Unreadable { error: err.to_string() } });
                continue;
            }
        };
        if metadata.len() > options.max_file_size {
            out.skipped.push(Skipped {
                key,
                reason: SkipReason::TooLarge { size: metadata.len(), limit: options.max_file_size },
            });
            continue;
        }
        out.files.push(SourceFile {
            path: path.to_path_buf(),
            key,
            language,
            size: metadata.len(),
            mtime_ns: mtime_ns(&metadata),
        });
    }
}

fn classify_walk_error(err: &ignore::Error) -> (Option<PathBuf>, SkipReason) {
    match err {
        ignore::Error::WithPath { path, err } => (Some(path.clone()), classify_walk_error(err).1),
        ignore::Error::WithDepth { err, .. } | ignore::Error::WithLineNumber { err, .. } => classify_walk_error(err),
        ignore::Error::Loop { child, .. } => (Some(child.clone()), SkipReason::SymlinkLoop),
        other => (None, SkipReason::Unreadable { error: other.to_string() }),
    }
}

pub fn mtime_ns(metadata: &std::fs::Metadata) -> u64 {
    metadata
        .modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos().min(u64::MAX as u128) as u64)
}

/// `read_source` as text (invalid UTF-8 replaced), or `None` when it cannot be read: what prompts and
/// answers quote.
pub fn read_source_text(path: &Path, max_file_size: u64) -> Option<String> {
    read_source(path, max_file_size).ok().map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
}

/// Reads a source file, refusing binary files and files that grew past the limit since the walk.
pub fn read_source(path: &Path, max_file_size: u64) -> Result<Vec<u8>, SkipReason> {
    let file = std::fs::File::open(path).map_err(|err| SkipReason::Unreadable { error: err.to_string() })?;
    let mut bytes = Vec::new();
    file.take(max_file_size + 1)
        .read_to_end(&mut bytes)
        .map_err(|err| SkipReason::Unreadable { error: err.to_string() })?;
    if bytes.len() as u64 > max_file_size {
        let size = std::fs::metadata(path).map_or(bytes.len() as u64, |m| m.len());
        return Err(SkipReason::TooLarge { size, limit: max_file_size });
    }
    if memchr::memchr(0, &bytes[..bytes.len().min(BINARY_SNIFF_BYTES)]).is_some() {
        return Err(SkipReason::Binary);
    }
    Ok(bytes)
}

/// The ignore files the walk reads in every directory, strongest first.
pub const IGNORE_FILES: [&str; 3] = [IGNORE_FILE, ".ignore", ".gitignore"];

/// The walk's ignore rules, answerable for one path at a time (for watcher events, where re-walking
/// the workspace would be too slow). Matchers are cached per directory; call `clear` when an ignore
/// file changes.
pub struct IgnoreRules {
    roots: Vec<PathBuf>,
    global: ignore::gitignore::Gitignore,
    per_dir: std::sync::Mutex<std::collections::HashMap<PathBuf, std::sync::Arc<Vec<ignore::gitignore::Gitignore>>>>,
}

impl IgnoreRules {
    pub fn new(roots: &[PathBuf]) -> IgnoreRules {
        let (global, _) = ignore::gitignore::Gitignore::global();
        IgnoreRules { roots: roots.to_vec(), global, per_dir: Default::default() }
    }

    pub fn clear(&self) {
        self.per_dir.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }

    /// The root `path` is under, and its key (see `SourceFile::key`).
    pub fn locate(&self, path: &Path) -> Option<(&Path, String)> {
        let root = self.roots.iter().filter(|r| path.starts_with(r)).max_by_key(|r| r.as_os_str().len())?;
        let prefix = root_prefix(&self.roots, root);
        Some((root, key_for(root, prefix.as_deref(), path)))
    }

    /// Whether the walk would leave `path` out: outside every root, hidden, or ignored by a rule.
    pub fn is_ignored(&self, path: &Path, is_dir: bool) -> bool {
        let Some((root, _)) = self.locate(path) else { return true };
        let Ok(relative) = path.strip_prefix(root) else { return true };
        if relative.components().any(|c| c.as_os_str().to_string_lossy().starts_with('.')) {
            return true;
        }
        // From the file's own directory up to the root: the deepest rule that matches decides.
        let mut dir = path.parent();
        while let Some(d) = dir {
            if !d.starts_with(root) {
                break;
            }
            for matcher in self.matchers(d).iter() {
                let m = matcher.matched_path_or_any_parents(path, is_dir);
                if m.is_ignore() {
                    return true;
                }
                if m.is_whitelist() {
                    return false;
                }
            }
            dir = d.parent();
        }
        self.global.matched_path_or_any_parents(path, is_dir).is_ignore()
    }

    fn matchers(&self, dir: &Path) -> std::sync::Arc<Vec<ignore::gitignore::Gitignore>> {
        let mut cache = self.per_dir.lock().unwrap_or_else(|e| e.into_inner());
        cache
            .entry(dir.to_path_buf())
            .or_insert_with(|| {
                std::sync::Arc::new(
                    IGNORE_FILES
                        .iter()
                        .map(|name| dir.join(name))
                        .filter(|file| file.is_file())
                        .map(|file| ignore::gitignore::Gitignore::new(file).0)
                        .collect(),
                )
            })
            .clone()
    }
}

/// How long the watcher waits for a burst of events (a `git checkout`, a build) to settle.
pub const WATCH_DEBOUNCE: std::time::Duration = std::time::Duration::from_millis(200);

/// A running file-system watcher; dropping it stops watching.
pub struct Watcher {
    _debouncer: notify_debouncer_full::Debouncer<notify::RecommendedWatcher, notify_debouncer_full::RecommendedCache>,
}

/// Watches `roots` recursively and calls `on_change` with the changed paths of each settled burst
/// (created, modified, removed, both ends of a rename). Paths are not filtered: pass them to
/// `index::update_paths`, which applies the ignore rules. Watcher errors are logged, not fatal.
pub fn watch(roots: &[PathBuf], on_change: impl Fn(Vec<PathBuf>) + Send + 'static) -> notify::Result<Watcher> {
    use notify::EventKind;
    let mut debouncer = notify_debouncer_full::new_debouncer(
        WATCH_DEBOUNCE,
        None,
        move |result: notify_debouncer_full::DebounceEventResult| match result {
            Ok(events) => {
                let mut paths: Vec<PathBuf> = events
                    .into_iter()
                    .filter(|e| !matches!(e.kind, EventKind::Access(_)))
                    .flat_map(|e| e.event.paths)
                    .collect();
                paths.sort();
                paths.dedup();
                if !paths.is_empty() {
                    on_change(paths);
                }
            }
            Err(errors) => {
                for error in errors {
                    tracing::warn!("file watcher: {error}");
                }
            }
        },
    )?;
    for root in roots {
        debouncer.watch(root, notify::RecursiveMode::Recursive)?;
    }
    Ok(Watcher { _debouncer: debouncer })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_paths_follow_the_same_rules_as_the_walk() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        let write = |rel: &str, text: &str| {
            let path = root.join(rel);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        };
        write(".gitignore", "build/\n*.gen.py\n!keep.gen.py\n");
        write("pkg/.reverieignore", "private.py\n");
        for rel in ["a.py", "build/x.py", "x.gen.py", "keep.gen.py", "pkg/private.py", "pkg/public.py", ".hidden/h.py"]
        {
            write(rel, "x = 1\n");
        }
        let walked: Vec<String> =
            walk(std::slice::from_ref(&root), &WalkOptions::default()).files.into_iter().map(|f| f.key).collect();
        let rules = IgnoreRules::new(std::slice::from_ref(&root));
        for rel in ["a.py", "build/x.py", "x.gen.py", "keep.gen.py", "pkg/private.py", "pkg/public.py", ".hidden/h.py"]
        {
            assert_eq!(
                !rules.is_ignored(&root.join(rel), false),
                walked.contains(&rel.to_string()),
                "{rel}: walk says {walked:?}"
            );
        }
        assert!(rules.is_ignored(Path::new("/elsewhere/a.py"), false));
    }

    #[test]
    fn a_key_leads_back_to_its_path() {
        let one = [PathBuf::from("/ws")];
        assert_eq!(path_of_key(&one, "go/router.go"), Some(PathBuf::from("/ws/go/router.go")));
        let two = [PathBuf::from("/src/api"), PathBuf::from("/src/web")];
        for path in ["/src/api/main.go", "/src/web/app.ts"] {
            let root = two.iter().find(|r| Path::new(path).starts_with(r)).unwrap();
            let key = key_for(root, root_prefix(&two, root).as_deref(), Path::new(path));
            assert_eq!(path_of_key(&two, &key), Some(PathBuf::from(path)), "{key}");
        }
        assert_eq!(path_of_key(&two, "other/x.go"), None);
        assert_eq!(path_of_key(&[], "a.py"), None);
    }

    #[test]
    fn reading_refuses_binary_and_grown_files() {
        let dir = tempfile::tempdir().unwrap();
        let binary = dir.path().join("b.rs");
        std::fs::write(&binary, b"fn main() {}\0").unwrap();
        assert_eq!(read_source(&binary, 1024), Err(SkipReason::Binary));
        let big = dir.path().join("big.rs");
        std::fs::write(&big, vec![b'a'; 2000]).unwrap();
        assert!(matches!(read_source(&big, 1000), Err(SkipReason::TooLarge { size: 2000, limit: 1000 })));
        assert!(matches!(read_source(dir.path(), 1000), Err(SkipReason::Unreadable { .. })), "a directory");
    }
}
