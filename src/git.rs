//! Git history as a scheduling signal: how many recent commits touched each file. Files that change
//! often are the ones people ask about, so the sleep-time scheduler thinks about them sooner.
//!
//! IO: runs `git log` in each workspace root (a subprocess, so callers run it off the request path).
//! A root that is not in a git repository, or a machine without git, contributes nothing — never an
//! error. Keys are workspace keys (`workspace::key_for`), so they match the facts.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// How far back to look: the most recent commits (merges left out: they repeat their parents' files).
pub const CHURN_COMMITS: usize = 300;

/// Commits touching each file among the last `CHURN_COMMITS` of each root, by workspace key.
pub fn churn(roots: &[PathBuf]) -> HashMap<String, u32> {
    let mut counts = HashMap::new();
    for root in roots {
        let prefix = crate::workspace::root_prefix(roots, root);
        for path in changed_paths(root) {
            let key = match &prefix {
                Some(prefix) => format!("{prefix}/{path}"),
                None => path,
            };
            *counts.entry(key).or_insert(0) += 1;
        }
    }
    counts
}

/// One entry per (commit, file) under `root`, paths relative to `root` with `/` separators.
fn changed_paths(root: &Path) -> Vec<String> {
    // `--relative` limits the log to `root` and prints paths relative to it (the workspace may be a
    // sub-folder of the repository); `-z` keeps unusual file names unquoted.
    let output = Command::new("git")
        .arg("-C")
        .arg(root)
        .args(["log", "--no-merges", "--relative", "--name-only", "-z", "--format="])
        .arg(format!("-n{CHURN_COMMITS}"))
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output();
    match output {
        Ok(output) if output.status.success() => output
            .stdout
            .split(|&b| b == 0)
            .map(|name| String::from_utf8_lossy(name).trim_matches('\n').to_string())
            .filter(|name| !name.is_empty())
            .collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn git(dir: &Path, args: &[&str]) {
        let status = Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(["-c", "user.name=reverie", "-c", "user.email=reverie@localhost", "-c", "commit.gpgsign=false"])
            .args(args)
            .stdout(Stdio::null())
            .status()
            .expect("git runs (apt-get install git)");
        assert!(status.success(), "git {args:?}");
    }

    #[test]
    fn counts_commits_per_file_relative_to_each_root() {
        let repo = tempfile::tempdir().unwrap();
        let sub = repo.path().join("sub");
        std::fs::create_dir_all(&sub).unwrap();
        git(repo.path(), &["init", "-q"]);
        for i in 0..3 {
            std::fs::write(sub.join("hot.py"), format!("x = {i}\n")).unwrap();
            std::fs::write(repo.path().join("outside.py"), format!("y = {i}\n")).unwrap();
            git(repo.path(), &["add", "-A"]);
            git(repo.path(), &["commit", "-q", "-m", "change"]);
        }
        std::fs::write(sub.join("odd name ü.py"), "z = 1\n").unwrap();
        git(repo.path(), &["add", "-A"]);
        git(repo.path(), &["commit", "-q", "-m", "add"]);

        // One root inside the repository: paths relative to it, nothing from outside it.
        let one = churn(std::slice::from_ref(&sub));
        assert_eq!(one.get("hot.py"), Some(&3), "{one:?}");
        assert_eq!(one.get("odd name ü.py"), Some(&1), "{one:?}");
        assert_eq!(one.len(), 2, "{one:?}");

        // Several roots: keys carry the root's prefix, as the walk's do.
        let plain = tempfile::tempdir().unwrap();
        let roots = vec![sub.clone(), plain.path().to_path_buf()];
        let both = churn(&roots);
        assert_eq!(both.get("sub/hot.py"), Some(&3), "{both:?}");
        assert_eq!(both.len(), 2, "a folder outside git adds nothing: {both:?}");
    }
}
