//! Where reverie keeps things on disk, by the XDG conventions: the cache root (stores, answer
//! documents, a local model's measured speed). Reads the environment only; creates nothing.

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
