//! The one place git runs (a subprocess, so callers run it off the request path):
//!
//! - churn, a scheduling signal: how many recent commits touched each file. Files that change often
//!   are the ones people ask about, so the sleep-time scheduler thinks about them sooner. A root that
//!   is not in a git repository, or a machine without git, contributes nothing — never an error.
//! - `Git`, the commands the history miner (`history`) needs: the version check, what a root's
//!   repository is (HEAD, shallow or not), the non-merge commits reachable from HEAD, and their
//!   patches as a stream (`PatchLog`) that can be stopped at once. Each failure is a `GitError` that
//!   says what is wrong (git missing or too old, not a repository, a command that failed).
//! - the plumbing that shares idle work through a remote (`share`): blobs, trees and parentless
//!   commits written with `hash-object`, `mktree`, `commit-tree`; refs under `refs/reverie/` only,
//!   set with `update-ref`, pushed and fetched one at a time; trees and blobs read back with
//!   `ls-tree` and `cat-file --batch`. Never a branch, a tag, HEAD, the index or the working tree.
//!
//! The history reads only HEAD: never other refs, the reflog or stashes. Output is made independent of
//! the user's configuration where it matters (prefixes, colour, renames, external diffs, textconv,
//! signatures, pager, output encoding). Keys are workspace keys (`workspace::key_for`), so they
//! match the facts; `--relative` makes paths relative to a root that is a sub-folder of the
//! repository and leaves out what lies outside it.

use std::collections::HashMap;
use std::io::{BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};

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

/// How often a command that can be stopped looks at its cancel flag.
const CANCEL_POLL: std::time::Duration = std::time::Duration::from_millis(5);

/// The oldest git the history miner works with (`rev-parse --is-shallow-repository` came in 2.15).
pub const MIN_VERSION: (u32, u32) = (2, 15);

/// Why git could not answer; each says what to do about it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GitError {
    #[error("git was not found (`{program}`); install git to mine the project's history")]
    Missing { program: String },
    #[error("git {found} is too old to mine the project's history; reverie needs git {}.{} or newer", MIN_VERSION.0, MIN_VERSION.1)]
    TooOld { found: String },
    #[error("{root} is not in a git repository; there is no history to mine")]
    NotARepository { root: String },
    #[error(
        "the git repository of {root} has no remote named `{remote}` (`git remote -v` lists them; set [share] remote in reverie.toml)"
    )]
    NoRemote { root: String, remote: String },
    #[error("`git {command}` failed in {root}: {stderr}")]
    Failed { command: String, root: String, stderr: String },
}

/// The git command, by program name or path (`git` on the `PATH` by default).
#[derive(Clone, Debug)]
pub struct Git {
    program: PathBuf,
}

impl Default for Git {
    fn default() -> Git {
        Git { program: PathBuf::from("git") }
    }
}

/// What `Git::repository` found for a root.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Repository {
    /// HEAD's commit id; `None` before the first commit.
    pub head: Option<String>,
    /// A shallow clone: history stops at its graft points.
    pub shallow: bool,
}

/// One commit of `Git::commits`: its id and its parents' (none for a root commit, or for the
/// boundary of a shallow clone).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RevListed {
    pub id: String,
    pub parents: usize,
}

impl Git {
    /// The git at `program` (a name looked up on the `PATH`, or a path).
    pub fn at(program: impl Into<PathBuf>) -> Git {
        Git { program: program.into() }
    }

    fn command(&self, root: &Path) -> Command {
        let mut command = Command::new(&self.program);
        command.arg("-C").arg(root);
        // The caller's repository, not one an outer git process (a hook) points at.
        for var in ["GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY", "GIT_NAMESPACE"] {
            command.env_remove(var);
        }
        command.env("GIT_TERMINAL_PROMPT", "0").env("LC_ALL", "C").stdin(Stdio::null());
        command
    }

    fn spawn_error(&self, err: std::io::Error) -> GitError {
        if err.kind() == std::io::ErrorKind::NotFound {
            GitError::Missing { program: self.program.display().to_string() }
        } else {
            GitError::Failed { command: "--version".into(), root: String::new(), stderr: err.to_string() }
        }
    }

    /// Runs git in `root`, returning its standard output.
    fn run(&self, root: &Path, args: &[&str]) -> Result<Vec<u8>, GitError> {
        self.run_with_input(root, args, None)
    }

    /// Runs git in `root` with `input` on its standard input (none: `/dev/null`), returning its
    /// standard output.
    fn run_with_input(&self, root: &Path, args: &[&str], input: Option<&[u8]>) -> Result<Vec<u8>, GitError> {
        self.run_command(self.command(root), root, args, input)
    }

    /// Runs a git command that talks to a remote (`push`, `ls-remote`, `fetch`): like `run`, but it
    /// never asks anything and never waits without end — `GIT_TERMINAL_PROMPT=0` covers HTTPS, ssh
    /// runs in batch mode (a key with a passphrase and no agent fails at once instead of asking on the
    /// terminal the editor runs in, which would block the server's pull) and gives up connecting after
    /// 15 s, and an HTTP transfer below 1 KB/s for 30 s is abandoned.
    fn run_remote(&self, root: &Path, args: &[&str]) -> Result<Vec<u8>, GitError> {
        let mut command = self.command(root);
        command.args(["-c", "http.lowSpeedLimit=1000", "-c", "http.lowSpeedTime=30"]);
        let configured = self
            .run(root, &["config", "--get", "core.sshCommand"])
            .ok()
            .map(|out| String::from_utf8_lossy(&out).trim().to_string());
        let own = std::env::var("GIT_SSH_COMMAND").ok();
        let program_only = std::env::var_os("GIT_SSH").is_some_and(|p| !p.is_empty());
        if let Some(ssh) = batch_ssh_command(own.as_deref(), program_only, configured.as_deref()) {
            command.env("GIT_SSH_COMMAND", ssh);
        }
        self.run_command(command, root, args, None)
    }

    /// Runs `command` (from `Git::command`) with `args`; `input` on its standard input.
    fn run_command(
        &self,
        mut command: Command,
        root: &Path,
        args: &[&str],
        input: Option<&[u8]>,
    ) -> Result<Vec<u8>, GitError> {
        command.args(args);
        let output = match input {
            None => command.output(),
            Some(input) => {
                command.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
                let mut child = command.spawn().map_err(|err| self.spawn_error(err))?;
                let mut stdin = child.stdin.take().expect("piped stdin");
                let input = input.to_vec();
                // git may write before it has read everything: a thread keeps both pipes moving.
                let feeder = std::thread::spawn(move || {
                    let _ = stdin.write_all(&input);
                });
                let output = child.wait_with_output();
                let _ = feeder.join();
                output
            }
        }
        .map_err(|err| self.spawn_error(err))?;
        if output.status.success() {
            return Ok(output.stdout);
        }
        let stderr = String::from_utf8_lossy(&output.stderr).trim().to_string();
        if stderr.contains("not a git repository") {
            return Err(GitError::NotARepository { root: root.display().to_string() });
        }
        Err(GitError::Failed { command: args.join(" "), root: root.display().to_string(), stderr })
    }

    /// Runs git in `root` like `run`, but kills it and returns `Ok(None)` within a few milliseconds
    /// of `cancel` being set (a `rev-list` over a large history takes seconds).
    fn run_until(&self, root: &Path, args: &[&str], cancel: &AtomicBool) -> Result<Option<Vec<u8>>, GitError> {
        let mut child = self
            .command(root)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|err| self.spawn_error(err))?;
        let mut stdout = child.stdout.take().expect("piped stdout");
        let mut stderr = child.stderr.take().expect("piped stderr");
        let out = std::thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = stdout.read_to_end(&mut bytes);
            bytes
        });
        let err = std::thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = stderr.read_to_end(&mut bytes);
            bytes
        });
        let status = loop {
            if cancel.load(Ordering::Relaxed) {
                let _ = child.kill();
                let _ = child.wait();
                return Ok(None);
            }
            match child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) => std::thread::sleep(CANCEL_POLL),
                Err(err) => {
                    return Err(GitError::Failed {
                        command: args.join(" "),
                        root: root.display().to_string(),
                        stderr: err.to_string(),
                    });
                }
            }
        };
        let stdout = out.join().unwrap_or_default();
        let stderr = String::from_utf8_lossy(&err.join().unwrap_or_default()).trim().to_string();
        if status.success() {
            return Ok(Some(stdout));
        }
        if stderr.contains("not a git repository") {
            return Err(GitError::NotARepository { root: root.display().to_string() });
        }
        Err(GitError::Failed { command: args.join(" "), root: root.display().to_string(), stderr })
    }

    /// The version (`2.47.3`), checked against `MIN_VERSION`.
    pub fn version(&self) -> Result<String, GitError> {
        let output = Command::new(&self.program)
            .arg("--version")
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .output()
            .map_err(|err| self.spawn_error(err))?;
        let text = String::from_utf8_lossy(&output.stdout);
        let found = text.trim().strip_prefix("git version ").unwrap_or(text.trim()).to_string();
        let mut numbers = found.split(|c: char| !c.is_ascii_digit()).map(|n| n.parse::<u32>().ok());
        match (numbers.next().flatten(), numbers.next().flatten()) {
            (Some(major), Some(minor)) if (major, minor) >= MIN_VERSION => Ok(found),
            _ => Err(GitError::TooOld { found: if found.is_empty() { "(no version)".into() } else { found } }),
        }
    }

    /// The repository `root` is in: HEAD, and whether it is a shallow clone.
    pub fn repository(&self, root: &Path) -> Result<Repository, GitError> {
        let shallow = self.run(root, &["rev-parse", "--is-shallow-repository"])?;
        let shallow = String::from_utf8_lossy(&shallow).trim() == "true";
        let head = match self.run(root, &["rev-parse", "--verify", "-q", "HEAD^{commit}"]) {
            Ok(out) => Some(String::from_utf8_lossy(&out).trim().to_string()).filter(|h| !h.is_empty()),
            // No commit yet: `--verify -q` fails quietly.
            Err(GitError::Failed { stderr, .. }) if stderr.is_empty() => None,
            Err(err) => return Err(err),
        };
        Ok(Repository { head, shallow })
    }

    /// The non-merge commits reachable from HEAD that changed something under `root`, newest first
    /// (`git rev-list` order, never by date), at most `limit`; with `since`, only those `since` does
    /// not reach.
    /// `None` when `cancel` stopped it.
    pub fn commits(
        &self,
        root: &Path,
        limit: usize,
        since: Option<&str>,
        cancel: &AtomicBool,
    ) -> Result<Option<Vec<RevListed>>, GitError> {
        let limit = format!("--max-count={limit}");
        let mut args = vec!["rev-list", "--no-merges", "--parents", &limit, "HEAD"];
        let exclude = since.map(|since| format!("^{since}"));
        args.extend(exclude.as_deref());
        args.extend(["--", "."]);
        let Some(out) = self.run_until(root, &args, cancel)? else { return Ok(None) };
        Ok(Some(
            String::from_utf8_lossy(&out)
                .lines()
                .filter_map(|line| {
                    let mut ids = line.split_ascii_whitespace();
                    let id = ids.next()?.to_string();
                    Some(RevListed { id, parents: ids.count() })
                })
                .collect(),
        ))
    }

    /// Whether commit `ancestor` is reachable from `descendant` (false when either is unknown, e.g.
    /// collected after a rebase).
    pub fn is_ancestor(&self, root: &Path, ancestor: &str, descendant: &str) -> bool {
        self.command(root)
            .args(["merge-base", "--is-ancestor", ancestor, descendant])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success())
    }

    /// The patches of `ids` (in that order) under `root`, with no context lines and each hunk's
    /// function context from git's built-in language drivers (`attributes` is a gitattributes file
    /// naming them), as a stream. Each commit is `\0<id>\n<message>\0` followed by its diff.
    pub fn patches(&self, root: &Path, ids: Vec<String>, attributes: &Path) -> Result<PatchLog, GitError> {
        let mut command = self.command(root);
        command
            .arg("-c")
            .arg(format!("core.attributesFile={}", attributes.display()))
            .args(["-c", "core.quotepath=off", "-c", "i18n.logOutputEncoding=UTF-8", "-c", "diff.noprefix=false"])
            .args(["-c", "core.pager=cat", "log", "--no-walk=unsorted", "--stdin", "--no-merges", "--relative"])
            .args(["--patch", "--unified=0", "--no-color", "--no-ext-diff", "--no-textconv", "--no-renames"])
            .args(["--src-prefix=a/", "--dst-prefix=b/", "--no-show-signature", "--format=%x00%H%n%B%x00"])
            .args(["--", "."])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command.spawn().map_err(|err| self.spawn_error(err))?;
        let mut stdin = child.stdin.take().expect("piped stdin");
        // git reads every id before it writes; a thread keeps a long list from filling the pipe.
        let feeder = std::thread::spawn(move || {
            let mut text = ids.join("\n");
            text.push('\n');
            let _ = stdin.write_all(text.as_bytes());
        });
        let mut stderr = child.stderr.take().expect("piped stderr");
        let errors = std::thread::spawn(move || {
            let mut text = Vec::new();
            let _ = stderr.by_ref().take(64 * 1024).read_to_end(&mut text);
            let _ = std::io::copy(&mut stderr, &mut std::io::sink());
            String::from_utf8_lossy(&text).trim().to_string()
        });
        let stdout = BufReader::with_capacity(256 * 1024, child.stdout.take().expect("piped stdout"));
        Ok(PatchLog {
            child,
            stdout: Some(stdout),
            feeder: Some(feeder),
            errors: Some(errors),
            root: root.to_path_buf(),
        })
    }
}

/// One entry of a tree (`Git::tree_entries`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TreeEntry {
    /// `blob`, `tree` or `commit`.
    pub kind: String,
    pub id: String,
    /// Bytes of a blob (`None` for anything else).
    pub size: Option<u64>,
    pub name: String,
}

/// The ssh command a remote operation runs with: the user's own (`GIT_SSH_COMMAND`, else
/// `core.sshCommand`, else plain `ssh`) with batch mode and a connect timeout added — only when it is
/// OpenSSH's `ssh` (another program, such as plink, takes other options), and never over `GIT_SSH`
/// (a program path without options, which git runs as it is). `None`: leave git's choice alone.
fn batch_ssh_command(own: Option<&str>, program_only: bool, configured: Option<&str>) -> Option<String> {
    let base = match (own.filter(|c| !c.trim().is_empty()), configured.filter(|c| !c.is_empty())) {
        (Some(own), _) => own,
        (None, _) if program_only => return None,
        (None, Some(configured)) => configured,
        (None, None) => "ssh",
    };
    let program = base.split_whitespace().next()?;
    let name = program.rsplit(['/', '\\']).next().unwrap_or(program);
    (name == "ssh" || name == "ssh.exe").then(|| format!("{base} -o BatchMode=yes -o ConnectTimeout=15"))
}

/// The plumbing that shares reverie's idle work through a remote (`share`): objects are written
/// with `hash-object`, `mktree` and `commit-tree`, published under reverie's own refs with
/// `update-ref` and `push`, and read back with `ls-remote`, `fetch`, `ls-tree` and `cat-file`.
/// None of these touches a branch, a tag, HEAD, the index or the working tree.
impl Git {
    /// The path of `root` inside its repository's working tree (`""` at the top, else `sub/dir/`).
    pub fn prefix(&self, root: &Path) -> Result<String, GitError> {
        Ok(String::from_utf8_lossy(&self.run(root, &["rev-parse", "--show-prefix"])?).trim().to_string())
    }

    /// The URL of the remote `name`; a clear error when the repository has no such remote.
    pub fn remote_url(&self, root: &Path, name: &str) -> Result<String, GitError> {
        match self.run(root, &["remote", "get-url", "--", name]) {
            Ok(out) => Ok(String::from_utf8_lossy(&out).trim().to_string()),
            Err(GitError::Failed { stderr, .. })
                if stderr.contains("No such remote") || stderr.contains("no such remote") =>
            {
                Err(GitError::NoRemote { root: root.display().to_string(), remote: name.to_string() })
            }
            Err(err) => Err(err),
        }
    }

    /// Writes `bytes` as a blob into the object database; returns its id.
    pub fn write_blob(&self, root: &Path, bytes: &[u8]) -> Result<String, GitError> {
        let out = self.run_with_input(root, &["hash-object", "-w", "--no-filters", "--stdin"], Some(bytes))?;
        Ok(String::from_utf8_lossy(&out).trim().to_string())
    }

    /// Writes a tree of blobs `(name, blob id)` (names without `/`); returns its id.
    pub fn write_tree(&self, root: &Path, blobs: &[(String, String)]) -> Result<String, GitError> {
        let mut input = Vec::new();
        for (name, id) in blobs {
            input.extend_from_slice(format!("100644 blob {id}\t{name}").as_bytes());
            input.push(0);
        }
        let out = self.run_with_input(root, &["mktree", "-z"], Some(&input))?;
        Ok(String::from_utf8_lossy(&out).trim().to_string())
    }

    /// Writes a commit of `tree` with no parent, by reverie (whatever the user's identity and
    /// signing settings), with `message`; returns its id.
    pub fn write_commit(&self, root: &Path, tree: &str, message: &str) -> Result<String, GitError> {
        let args = ["-c", "commit.gpgSign=false", "commit-tree", "--no-gpg-sign", tree, "-m", message];
        let mut command = self.command(root);
        command.args(args);
        for (name, value) in [
            ("GIT_AUTHOR_NAME", "reverie"),
            ("GIT_AUTHOR_EMAIL", "reverie@localhost"),
            ("GIT_COMMITTER_NAME", "reverie"),
            ("GIT_COMMITTER_EMAIL", "reverie@localhost"),
        ] {
            command.env(name, value);
        }
        let output = command.output().map_err(|err| self.spawn_error(err))?;
        if !output.status.success() {
            return Err(GitError::Failed {
                command: args.join(" "),
                root: root.display().to_string(),
                stderr: String::from_utf8_lossy(&output.stderr).trim().to_string(),
            });
        }
        Ok(String::from_utf8_lossy(&output.stdout).trim().to_string())
    }

    /// Points `reference` (which must be under `refs/reverie/`) at `id`.
    pub fn update_ref(&self, root: &Path, reference: &str, id: &str) -> Result<(), GitError> {
        assert!(reference.starts_with("refs/reverie/"), "reverie writes only its own refs");
        self.run(root, &["update-ref", "-m", "reverie share", reference, id]).map(drop)
    }

    /// The commit `reference` names locally, if it exists.
    pub fn resolve(&self, root: &Path, reference: &str) -> Option<String> {
        let arg = format!("{reference}^{{commit}}");
        let out = self.run(root, &["rev-parse", "--verify", "-q", &arg]).ok()?;
        Some(String::from_utf8_lossy(&out).trim().to_string()).filter(|id| !id.is_empty())
    }

    /// Publishes commit `id` as `reference` (under `refs/reverie/`) on `remote`, replacing what was
    /// there. Nothing else is pushed: no branch, no tag.
    pub fn push_ref(&self, root: &Path, remote: &str, id: &str, reference: &str) -> Result<(), GitError> {
        assert!(reference.starts_with("refs/reverie/"), "reverie pushes only its own refs");
        let refspec = format!("+{id}:{reference}");
        self.run_remote(root, &["push", "--quiet", "--no-follow-tags", remote, &refspec]).map(drop)
    }

    /// The refs of `remote` matching `pattern` (`refs/reverie/embeddings/*`), as `(id, name)`.
    pub fn remote_refs(&self, root: &Path, remote: &str, pattern: &str) -> Result<Vec<(String, String)>, GitError> {
        let out = self.run_remote(root, &["ls-remote", "--refs", remote, pattern])?;
        Ok(String::from_utf8_lossy(&out)
            .lines()
            .filter_map(|line| {
                let (id, name) = line.split_once('\t')?;
                Some((id.to_string(), name.to_string()))
            })
            .collect())
    }

    /// Fetches `reference` (under `refs/reverie/`) from `remote` into the same local ref (its objects
    /// first; the ref is written last, by git). No tags, no other ref.
    pub fn fetch_ref(&self, root: &Path, remote: &str, reference: &str) -> Result<(), GitError> {
        assert!(reference.starts_with("refs/reverie/"), "reverie fetches only into its own refs");
        let refspec = format!("+{reference}:{reference}");
        self.run_remote(root, &["fetch", "--quiet", "--no-tags", remote, &refspec]).map(drop)
    }

    /// The entries of the tree of `commit`, with blob sizes.
    pub fn tree_entries(&self, root: &Path, commit: &str) -> Result<Vec<TreeEntry>, GitError> {
        // `--full-tree`: from a sub-folder, ls-tree would list only what lies under it.
        let out = self.run(root, &["ls-tree", "--full-tree", "-l", "-z", commit])?;
        Ok(out
            .split(|&b| b == 0)
            .filter_map(|entry| {
                let entry = std::str::from_utf8(entry).ok()?;
                let (meta, name) = entry.split_once('\t')?;
                let mut fields = meta.split_ascii_whitespace();
                let (_mode, kind, id, size) = (fields.next()?, fields.next()?, fields.next()?, fields.next()?);
                Some(TreeEntry {
                    kind: kind.to_string(),
                    id: id.to_string(),
                    size: size.parse().ok(),
                    name: name.to_string(),
                })
            })
            .collect())
    }

    /// The contents of the blobs `ids`, in order, read by one `cat-file --batch`.
    pub fn read_blobs(&self, root: &Path, ids: &[String]) -> Result<Vec<Vec<u8>>, GitError> {
        let mut input = ids.join("\n");
        input.push('\n');
        let out = self.run_with_input(root, &["cat-file", "--batch"], Some(input.as_bytes()))?;
        let failed = |why: &str| GitError::Failed {
            command: "cat-file --batch".into(),
            root: root.display().to_string(),
            stderr: why.to_string(),
        };
        let mut blobs = Vec::with_capacity(ids.len());
        let mut rest = &out[..];
        for id in ids {
            let end = rest.iter().position(|&b| b == b'\n').ok_or_else(|| failed("output ends early"))?;
            let header = String::from_utf8_lossy(&rest[..end]).to_string();
            let mut fields = header.split_ascii_whitespace();
            let (Some(_), Some("blob"), Some(size)) = (fields.next(), fields.next(), fields.next()) else {
                return Err(failed(&format!("{id} is not a blob here ({header})")));
            };
            let size: usize = size.parse().map_err(|_| failed(&format!("bad size in {header}")))?;
            let body = rest.get(end + 1..end + 1 + size).ok_or_else(|| failed("output ends within a blob"))?;
            blobs.push(body.to_vec());
            rest = rest.get(end + 2 + size..).unwrap_or_default();
        }
        Ok(blobs)
    }
}

/// A running `git log --patch`: read `stdout`, then `finish`. Dropped early (or `kill`ed), it stops
/// git at once.
pub struct PatchLog {
    child: Child,
    stdout: Option<BufReader<ChildStdout>>,
    feeder: Option<std::thread::JoinHandle<()>>,
    errors: Option<std::thread::JoinHandle<String>>,
    root: PathBuf,
}

impl PatchLog {
    /// The stream; taken once (to read it on another thread while this one can `kill`).
    pub fn take_stdout(&mut self) -> Option<BufReader<ChildStdout>> {
        self.stdout.take()
    }

    /// Stops git now; the stream ends.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
    }

    /// Waits for git to exit; an error carries its message.
    pub fn finish(mut self) -> Result<(), GitError> {
        drop(self.stdout.take());
        let status = self.child.wait();
        if let Some(feeder) = self.feeder.take() {
            let _ = feeder.join();
        }
        let stderr = self.errors.take().and_then(|e| e.join().ok()).unwrap_or_default();
        match status {
            Ok(status) if status.success() => Ok(()),
            Ok(status) => Err(GitError::Failed {
                command: "log --patch".into(),
                root: self.root.display().to_string(),
                stderr: if stderr.is_empty() { status.to_string() } else { stderr },
            }),
            Err(err) => Err(GitError::Failed {
                command: "log --patch".into(),
                root: self.root.display().to_string(),
                stderr: err.to_string(),
            }),
        }
    }
}

impl Drop for PatchLog {
    fn drop(&mut self) {
        if self.feeder.is_some() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The gitattributes that turn on git's built-in function-context drivers for hunk headers, by
/// file extension (`diff=python` makes `@@ … @@ def save(self):` name the enclosing function).
/// Languages git has no driver for (JavaScript, TypeScript, …) get its default: the last line
/// before the hunk that starts with a letter, `_` or `$` — a top-level declaration.
pub const DRIVER_ATTRIBUTES: &str = "\
*.py diff=python\n*.pyi diff=python\n*.rs diff=rust\n*.go diff=golang\n*.java diff=java\n\
*.kt diff=kotlin\n*.kts diff=kotlin\n*.cs diff=csharp\n*.c diff=cpp\n*.h diff=cpp\n*.cc diff=cpp\n\
*.cpp diff=cpp\n*.cxx diff=cpp\n*.hpp diff=cpp\n*.hh diff=cpp\n*.rb diff=ruby\n*.php diff=php\n\
*.ex diff=elixir\n*.exs diff=elixir\n*.sh diff=bash\n*.bash diff=bash\n*.pl diff=perl\n*.pm diff=perl\n\
*.md diff=markdown\n*.css diff=css\n*.html diff=html\n*.tex diff=tex\n*.f90 diff=fortran\n\
*.m diff=objc\n*.mm diff=objc\n*.pas diff=pascal\n*.scm diff=scheme\n";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remote_commands_run_ssh_in_batch_mode_over_the_user_s_own_command() {
        let batch = " -o BatchMode=yes -o ConnectTimeout=15";
        assert_eq!(batch_ssh_command(None, false, None), Some(format!("ssh{batch}")));
        assert_eq!(
            batch_ssh_command(Some("ssh -i ~/.ssh/team"), false, None),
            Some(format!("ssh -i ~/.ssh/team{batch}"))
        );
        assert_eq!(
            batch_ssh_command(None, false, Some("/usr/bin/ssh -F /etc/ssh/team")),
            Some(format!("/usr/bin/ssh -F /etc/ssh/team{batch}"))
        );
        assert_eq!(
            batch_ssh_command(Some("ssh -4"), false, Some("ssh -6")),
            Some(format!("ssh -4{batch}")),
            "env wins"
        );
        assert_eq!(batch_ssh_command(None, true, None), None, "GIT_SSH is a program git runs as it is");
        assert_eq!(batch_ssh_command(Some("plink -batch"), false, None), None, "not OpenSSH: left alone");
    }

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
