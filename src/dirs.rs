//! Where reverie keeps things on disk, by the XDG conventions: the cache root (stores, answer
//! documents, a local model's measured speed) and the models (`scripts/fetch-model.sh` and
//! `scripts/fetch-embed-model.sh` put them in `$XDG_CACHE_HOME/reverie/models`). Reads the
//! environment only; creates nothing.

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
