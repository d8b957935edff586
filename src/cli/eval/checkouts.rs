//! Git working copies with history for `eval --ranking --checkouts DIR` (`shared/data/README.md`,
//! "With history"): one copy per project, `DIR/<owner>__<name>`, with no refs and HEAD detached; a
//! record is asked with HEAD moved to its `base_commit`.
//!
//! The leakage rule: a record sees only the commits reachable from its base commit (`git rev-list`
//! of that commit: never other refs, the reflog or dates). Commits are mined once per project and
//! kept by id, so moving HEAD forward mines only the commits new since the last record.
//!
//! IO: runs `git` in the working copy.

use crate::search::PastCommit;
use anyhow::{Context, Result, bail};
use std::collections::HashMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// One project's working copy and the commits mined from it so far.
pub(in crate::cli) struct Checkout {
    pub dir: PathBuf,
    mined: HashMap<String, PastCommit>,
}

impl Checkout {
    pub(in crate::cli) fn open(dir: &Path) -> Result<Checkout> {
        anyhow::ensure!(
            dir.join(".git").exists(),
            "{} is not a git working copy (build them with shared/data/make-dev-checkouts.sh)",
            dir.display()
        );
        Ok(Checkout { dir: dir.to_path_buf(), mined: HashMap::new() })
    }

    /// Commit time (seconds) of each of `commits`, for asking in commit order.
    pub(in crate::cli) fn commit_times(&self, commits: &[String]) -> Result<HashMap<String, i64>> {
        let mut args = vec!["show".to_string(), "-s".into(), "--format=%H %ct".into()];
        args.extend(commits.iter().cloned());
        let out = git(&self.dir, &args, None)?;
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
        git(&self.dir, &["checkout".into(), "-q".into(), "--detach".into(), "-f".into(), commit.into()], None)
            .map(drop)
            .or_else(|err| {
                // A copy whose mirror lacks a large blob (astropy's IERS table) checks out the rest and
                // says so; HEAD moved all the same.
                let head = git(&self.dir, &["rev-parse".into(), "HEAD".into()], None)?;
                if head.trim() == commit { Ok(()) } else { Err(err) }
            })
    }

    /// The non-merge commits reachable from HEAD, newest first (`git rev-list` order), mining those
    /// not seen before. Paths are the repository's: the workspace keys of a copy indexed at its root.
    pub(in crate::cli) fn history(&mut self) -> Result<Vec<PastCommit>> {
        let ids: Vec<String> = git(&self.dir, &["rev-list".into(), "--no-merges".into(), "HEAD".into()], None)?
            .lines()
            .map(str::to_string)
            .collect();
        let missing: Vec<&String> = ids.iter().filter(|id| !self.mined.contains_key(*id)).collect();
        if !missing.is_empty() {
            let input: String = missing.iter().map(|id| format!("{id}\n")).collect();
            // One record per commit: \x1e, id, \x1f, subject, \x1f, body, \x1f, then the files, NUL-separated.
            let out = git(
                &self.dir,
                &[
                    "log".into(),
                    "--no-walk=unsorted".into(),
                    "--stdin".into(),
                    "--name-only".into(),
                    "--no-renames".into(),
                    "-z".into(),
                    "--format=%x1e%H%x1f%s%x1f%b%x1f".into(),
                ],
                Some(&input),
            )?;
            for record in out.split('\x1e').filter(|r| !r.is_empty()) {
                let mut parts = record.splitn(4, '\x1f');
                let (Some(id), Some(subject), Some(body), Some(files)) =
                    (parts.next(), parts.next(), parts.next(), parts.next())
                else {
                    continue;
                };
                let files: Vec<String> = files
                    .split('\0')
                    .map(|f| f.trim_matches('\n'))
                    .filter(|f| !f.is_empty())
                    .map(str::to_string)
                    .collect();
                let body = body.trim();
                let message = if body.is_empty() { subject.to_string() } else { format!("{subject}\n{body}") };
                self.mined.insert(
                    id.to_string(),
                    PastCommit {
                        id: id.to_string(),
                        subject: subject.to_string(),
                        message: crate::redact::redact(&message).0,
                        files_touched: files.len() as u32,
                        files,
                    },
                );
            }
        }
        Ok(ids.iter().filter_map(|id| self.mined.get(id).cloned()).collect())
    }
}

fn git(dir: &Path, args: &[String], input: Option<&str>) -> Result<String> {
    let mut child = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .stdin(if input.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("running git (is it installed?)")?;
    if let Some(input) = input {
        let mut stdin = child.stdin.take().context("git's stdin")?;
        let input = input.to_string();
        // Written from another thread: git writes while it reads, and both pipes have small buffers.
        std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    }
    let output = child.wait_with_output().context("waiting for git")?;
    if !output.status.success() {
        bail!("git {} in {}: {}", args.join(" "), dir.display(), String::from_utf8_lossy(&output.stderr).trim());
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}
