//! Corpus handling both benchmarks share: put a downloaded tree in place in one rename, find the one
//! folder an archive unpacks to, run a helper command or stop with what failed.
#![allow(dead_code)] // Each benchmark uses its own part.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Stops the benchmark with `message` (the corpus is unusable; nothing to measure).
fn fail(message: &str) -> ! {
    eprintln!("bench: {message}");
    std::process::exit(2)
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
