//! Setup the benchmarks share: the release binary under test, scratch directories removed when dropped,
//! and corpus handling — put a downloaded tree in place in one rename, find the one folder an archive
//! unpacks to, run a helper command or stop with what failed.
#![allow(dead_code)] // Each benchmark uses its own part.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Stops the benchmark with `message` (the corpus is unusable; nothing to measure).
pub fn fail(message: &str) -> ! {
    eprintln!("bench: {message}");
    std::process::exit(2)
}

/// A number from the environment (`REVERIE_BENCH_RUNS=3`), `default` when unset or empty; anything
/// else stops the benchmark.
pub fn env_usize(name: &str, default: usize) -> usize {
    match std::env::var(name) {
        Ok(v) if !v.trim().is_empty() => {
            v.trim().parse().unwrap_or_else(|_| fail(&format!("{name}={v:?} is not a number")))
        }
        _ => default,
    }
}

/// Where corpora and temporary caches live: `REVERIE_BENCH_DIR`, else `$XDG_CACHE_HOME/reverie-bench`,
/// else `~/.cache/reverie-bench` (outside the repository).
pub fn bench_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("REVERIE_BENCH_DIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    if let Some(dir) = std::env::var_os("XDG_CACHE_HOME").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir).join("reverie-bench");
    }
    match std::env::var_os("HOME").filter(|d| !d.is_empty()) {
        Some(home) => PathBuf::from(home).join(".cache").join("reverie-bench"),
        None => fail("no REVERIE_BENCH_DIR, XDG_CACHE_HOME or HOME: set REVERIE_BENCH_DIR"),
    }
}

/// A fresh, empty directory, removed with what it holds when dropped.
pub struct Scratch {
    pub path: PathBuf,
}

impl Scratch {
    pub fn new(path: PathBuf) -> Scratch {
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap_or_else(|e| fail(&format!("cannot create {}: {e}", path.display())));
        Scratch { path }
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

pub fn single_subdir(dir: &Path) -> Option<PathBuf> {
    let subdirs: Vec<PathBuf> =
        std::fs::read_dir(dir).ok()?.flatten().map(|e| e.path()).filter(|p| p.is_dir()).collect();
    match subdirs.as_slice() {
        [one] => Some(one.clone()),
        _ => None,
    }
}

/// Moves the contents of `staging` to `dir` in one rename (so an interrupted download leaves no half corpus).
pub fn install_dir(staging: &Path, dir: &Path) {
    let _ = std::fs::remove_dir_all(dir);
    let fresh = staging.with_extension("done");
    std::fs::create_dir_all(&fresh).expect("mkdir");
    for entry in std::fs::read_dir(staging).expect("read staging").flatten() {
        std::fs::rename(entry.path(), fresh.join(entry.file_name())).expect("move");
    }
    std::fs::rename(&fresh, dir)
        .unwrap_or_else(|e| fail(&format!("cannot move {} to {}: {e}", fresh.display(), dir.display())));
}

pub fn run_ok(command: &mut Command, what: &str) {
    match command.status() {
        Ok(status) if status.success() => {}
        Ok(status) => fail(&format!("{what} failed ({status})")),
        Err(e) => fail(&format!("{what}: cannot run {:?}: {e}", command.get_program())),
    }
}

/// The release `reverie` binary: the one Cargo built for this bench (CARGO_BIN_EXE_reverie), else
/// `<target>/release/reverie` next to this bench executable (`<target>/release/deps/<bench>-…`), built
/// with `cargo build --release --bin reverie` into the same target dir if missing.
pub fn reverie_binary(cargo: &str) -> PathBuf {
    if let Some(exe) = option_env!("CARGO_BIN_EXE_reverie").map(PathBuf::from).filter(|p| p.is_file()) {
        return exe;
    }
    let exe = std::env::current_exe().unwrap_or_else(|e| fail(&format!("cannot find the bench executable: {e}")));
    let target = exe
        .parent()
        .and_then(Path::parent)
        .and_then(Path::parent)
        .unwrap_or_else(|| fail("unexpected bench executable path"));
    let bin = target.join("release").join("reverie");
    if !bin.is_file() {
        println!("building {} (cargo build --release --bin reverie)…", bin.display());
        let status = Command::new(cargo)
            .args(["build", "--release", "--bin", "reverie"])
            .env("CARGO_TARGET_DIR", target)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .status()
            .unwrap_or_else(|e| fail(&format!("cannot run cargo: {e}")));
        if !status.success() || !bin.is_file() {
            fail("building the release binary failed");
        }
    }
    bin
}
