//! Git working copies with history for `eval --ranking --checkouts DIR` (`shared/data/README.md`,
//! "With history"): one copy per project, `DIR/<owner>__<name>`, with no refs and HEAD detached; a
//! record is asked with HEAD moved to its `base_commit`.
//!
//! The leakage rule holds by construction: the copies have no refs, and the history is mined by
//! `history::refresh` from HEAD (only commits reachable from it), incrementally as HEAD moves.
//!
//! IO: runs `git` in the working copy.

use anyhow::{Context, Result, bail};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// One project's working copy.
pub(in crate::cli) struct Checkout {
    pub dir: PathBuf,
}

impl Checkout {
    pub(in crate::cli) fn open(dir: &Path) -> Result<Checkout> {
        anyhow::ensure!(
            dir.join(".git").exists(),
            "{} is not a git working copy (build them with shared/data/make-dev-checkouts.sh)",
            dir.display()
        );
        Ok(Checkout { dir: dir.to_path_buf() })
    }

    /// Commit time (seconds) of each of `commits`, for asking in commit order.
    pub(in crate::cli) fn commit_times(&self, commits: &[String]) -> Result<HashMap<String, i64>> {
        let mut args = vec!["show".to_string(), "-s".into(), "--format=%H %ct".into()];
        args.extend(commits.iter().cloned());
        let out = git(&self.dir, &args)?;
        Ok(out
            .lines()
            .filter_map(|l| {
                let (id, time) = l.split_once(' ')?;
                Some((id.to_string(), time.trim().parse().ok()?))
            })
            .collect())
    }

    /// Moves HEAD (and the files) to `commit`.
    pub(in crate::cli) fn move_to(&self, commit: &str) -> Result<()> {
        git(&self.dir, &["checkout".into(), "-q".into(), "--detach".into(), "-f".into(), commit.into()])
            .map(drop)
            .or_else(|err| {
                // A copy whose mirror lacks a large blob (astropy's IERS table) checks out the rest and
                // says so; HEAD moved all the same.
                let head = git(&self.dir, &["rev-parse".into(), "HEAD".into()])?;
                if head.trim() == commit { Ok(()) } else { Err(err) }
            })
    }
}

fn git(dir: &Path, args: &[String]) -> Result<String> {
    let output = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .context("running git (is it installed?)")?;
    if !output.status.success() {
        bail!("git {} in {}: {}", args.join(" "), dir.display(), String::from_utf8_lossy(&output.stderr).trim());
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}
