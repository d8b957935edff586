//! Where reverie keeps things on disk, by the XDG conventions: the cache root (stores, answer
//! documents, a local model's measured speed) and the models (`scripts/fetch-model.sh` and
//! `scripts/fetch-embed-model.sh` put them in `$XDG_CACHE_HOME/reverie/models`). Reads the
//! environment (and resolves symbolic links to compare paths); creates nothing.

use anyhow::{Context, Result};
use std::path::{Path, PathBuf};

/// The cache root: `--cache-dir`/`REVERIE_CACHE_DIR` if given, else `$XDG_CACHE_HOME/reverie`, else
/// `~/.cache/reverie`.
pub fn cache_root(explicit: Option<&Path>) -> Result<PathBuf> {
    if let Some(dir) = explicit {
        return Ok(dir.to_path_buf());
    }
    if let Some(xdg) = std::env::var_os("XDG_CACHE_HOME").filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(xdg).join("reverie"));
    }
    let home = std::env::var_os("HOME")
        .filter(|v| !v.is_empty())
        .context("neither XDG_CACHE_HOME nor HOME is set; pass --cache-dir or set REVERIE_CACHE_DIR")?;
    Ok(PathBuf::from(home).join(".cache").join("reverie"))
}

/// Where a model given by name is looked for, in order: `<cache root>/models` (the root given with
/// `--cache-dir`, when one is), `$XDG_CACHE_HOME/reverie/models` (else `~/.cache/reverie/models`),
/// where the fetch scripts put models, and `~/.cache/reverie-test` (or `$REVERIE_TEST_MODEL_DIR`),
/// where earlier versions of them did.
pub fn model_dirs(explicit_root: Option<&Path>) -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    for root in [explicit_root.map(Path::to_path_buf), cache_root(None).ok()].into_iter().flatten() {
        let models = root.join("models");
        if !dirs.contains(&models) {
            dirs.push(models);
        }
    }
    if let Some(dir) = std::env::var_os("REVERIE_TEST_MODEL_DIR").filter(|v| !v.is_empty()) {
        dirs.push(PathBuf::from(dir));
    } else if let Some(home) = std::env::var_os("HOME").filter(|v| !v.is_empty()) {
        dirs.push(PathBuf::from(home).join(".cache").join("reverie-test"));
    }
    dirs
}

/// Whether `path` lies in reverie's cache root (its stores and answer documents: never workspace
/// files, even when the cache sits inside a workspace). Compares the paths as given and with
/// symbolic links resolved, since an editor may open a file by either.
pub fn in_cache(explicit: Option<&Path>, path: &Path) -> bool {
    let Ok(root) = cache_root(explicit) else { return false };
    if path.starts_with(&root) {
        return true;
    }
    match (root.canonicalize(), path.canonicalize()) {
        (Ok(root), Ok(path)) => path.starts_with(root),
        (Ok(root), Err(_)) => path.starts_with(root),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(unix)]
    fn files_in_the_cache_are_known_by_either_path() {
        let dir = tempfile::tempdir().unwrap();
        let cache = dir.path().join("cache");
        std::fs::create_dir_all(cache.join("answers")).unwrap();
        std::fs::write(cache.join("answers/answer-1.md"), "# q\n").unwrap();
        std::os::unix::fs::symlink(&cache, dir.path().join("link")).unwrap();
        assert!(in_cache(Some(&cache), &cache.join("answers/answer-1.md")));
        assert!(in_cache(Some(&cache), &dir.path().join("link/answers/answer-1.md")), "through a symlink");
        assert!(in_cache(Some(&dir.path().join("link")), &cache.join("answers/answer-1.md")));
        assert!(!in_cache(Some(&cache), &dir.path().join("app.py")));
        assert!(!in_cache(Some(&cache), Path::new("/tmp/notes.md")));
    }
}
