//! Mining: bring the stored history up to date with HEAD, incrementally, preemptibly.
//!
//! A pass, per workspace root: ask git what HEAD is; if the last pass mined this HEAD to the end,
//! stop. If the last HEAD is an ancestor of this one, list only the commits since it (`rev-list HEAD
//! ^old`); otherwise (a rebase, a branch switch, a pass cut short) list every commit reachable from
//! HEAD and compare with what is stored: commits no longer reachable are dropped, commits not stored
//! are mined. Mining runs `git log --patch --unified=0` over the missing ids in chunks, on
//! `Options::workers` git processes at once, parses the stream (`parse`), maps each file to its
//! workspace key and each candidate name to a definition the current facts have in that file, redacts
//! the message, and writes the commits in batches — so a pass that is stopped keeps what it mined,
//! and the next one continues. Each pass ends by storing its `jobs::JobRun` for `status`.
//!
//! Preemption: `cancel` is checked before each root, every 5 ms while `rev-list` runs, on every
//! line read and every 10 ms while git computes a diff; a stop kills the git processes, writes what
//! was parsed whole, and returns.
//!
//! Why the `git` command and not `gix`: git's hunk headers name the enclosing function with its
//! built-in language drivers (`git::DRIVER_ATTRIBUTES`) — gix has no such thing, so the definitions
//! would need our own re-implementation; git was already the one subprocess reverie runs; and the
//! work is git's own C diff, run on two processes at once. Measured on Django (31,220 commits at the
//! newest dev-set base, 2 cores shared with ~6 other builds, load average 17): `git log --patch
//! --unified=0` over all of it is 24 CPU-seconds (two processes: 177 s wall at that load); a full
//! pass 139.5 s wall, ~27 CPU-seconds (so about 15 s on two idle cores); figures for gix in the
//! closing note of issue 21. Bad input never fails the pass: git missing
//! or too old, a folder outside git, a failing git command each become a status line of the report,
//! and what is stored stays. Shallow clones are mined as far as they go (their boundary commits keep
//! their message only: their diff against nothing would claim every file), and a history over
//! `Options::max_commits` keeps the newest; both are said in the report.

use super::parse::{ParsedCommit, Parser, cited_issues};
use super::stored::{HistoryStore, RootState};
use super::{Commit, MAX_FILES_LISTED};
use crate::git::{Git, GitError, PatchLog};
use crate::jobs::{Job, JobRun, JobStore};
use crate::snapshot::Snapshot;
use crate::store::Store;
use anyhow::Result;
use serde::Serialize;
use std::collections::{HashSet, VecDeque};
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The most commits kept per root: the newest, in `rev-list` order.
pub const MAX_COMMITS: usize = 100_000;
/// The most (file, definition) pairs kept per commit.
pub const MAX_DEFINITIONS_LISTED: usize = 200;
/// Commits per git process: small enough that workers share the work evenly.
const CHUNK: usize = 2_000;
/// Commits per store write (and per progress report).
const WRITE_BATCH: usize = 500;
/// How often the collecting thread looks at `cancel` while git computes.
const CANCEL_POLL: Duration = Duration::from_millis(10);

/// How a pass runs; `Default` is what the server and `reverie think` use.
#[derive(Clone, Debug)]
pub struct Options {
    pub git: Git,
    pub max_commits: usize,
    pub files_listed: usize,
    /// git processes at once (each takes a core while it diffs).
    pub workers: usize,
}

impl Default for Options {
    fn default() -> Options {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Options { git: Git::default(), max_commits: MAX_COMMITS, files_listed: MAX_FILES_LISTED, workers: cores.min(2) }
    }
}

/// Commits mined so far out of those this pass set out to mine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Progress {
    pub done: usize,
    pub total: usize,
}

/// What a pass did.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct HistoryReport {
    /// Commits stored when the pass ended, over every root.
    pub commits: usize,
    /// Commits mined by this pass.
    pub new: usize,
    /// Commits dropped because HEAD no longer reaches them.
    pub dropped: usize,
    /// Commits left for the next pass (stopped or failed).
    pub pending: usize,
    pub seconds: f64,
    pub cancelled: bool,
    /// `git --version`, when git runs.
    pub git: Option<String>,
    /// One line per thing worth saying: not a repository, shallow, capped, git missing, a failure.
    pub status: Vec<String>,
}

/// Brings the stored history of `roots` up to date with their HEAD (blocking: run it off the async
/// threads). `snapshot` holds the current facts the touched definitions are matched against.
pub fn refresh(
    store: &Store,
    roots: &[PathBuf],
    snapshot: &Snapshot,
    cancel: &AtomicBool,
    progress: &dyn Fn(Progress),
) -> Result<HistoryReport> {
    refresh_with(&Options::default(), store, roots, snapshot, cancel, progress)
}

/// What to mine in one root.
struct Plan {
    root: PathBuf,
    /// The workspace-key prefix of the root's files (several roots), and the store's root label.
    prefix: Option<String>,
    state: RootState,
    to_mine: Vec<String>,
    /// Boundary commits of a shallow clone: message only.
    message_only: HashSet<String>,
}

impl Plan {
    fn label(&self) -> &str {
        self.prefix.as_deref().unwrap_or("")
    }
}

pub fn refresh_with(
    options: &Options,
    store: &Store,
    roots: &[PathBuf],
    snapshot: &Snapshot,
    cancel: &AtomicBool,
    progress: &dyn Fn(Progress),
) -> Result<HistoryReport> {
    let started = Instant::now();
    let mut report = HistoryReport::default();
    let finish = |mut report: HistoryReport| -> Result<HistoryReport> {
        report.commits =
            store.root_states()?.iter().map(|(label, state)| count_stored(store, label, state)).sum::<Result<_>>()?;
        report.seconds = started.elapsed().as_secs_f64();
        store.put_job_run(Job::History, &job_run(&report))?;
        Ok(report)
    };
    match options.git.version() {
        Ok(version) => report.git = Some(version),
        Err(err) => {
            report.status.push(err.to_string());
            return finish(report);
        }
    }
    let attributes = attributes_file(store.path())?;
    let mut plans = Vec::new();
    for root in roots {
        if cancel.load(Ordering::Relaxed) {
            report.cancelled = true;
            return finish(report);
        }
        let prefix = crate::workspace::root_prefix(roots, root);
        match plan(options, store, root, prefix, cancel, &mut report) {
            Ok(Some(plan)) => plans.push(plan),
            Ok(None) => {}
            Err(err) => match err.downcast_ref::<GitError>() {
                Some(git) => report.status.push(git.to_string()),
                None => return Err(err),
            },
        }
    }
    let total = plans.iter().map(|p| p.to_mine.len()).sum();
    progress(Progress { done: 0, total });
    let mut done = 0;
    for at in 0..plans.len() {
        let plan = &mut plans[at];
        let outcome = mine(options, store, snapshot, plan, &attributes, cancel, &mut |mined| {
            done += mined;
            progress(Progress { done, total });
        })?;
        report.new += outcome.mined;
        report.status.extend(outcome.failure);
        if outcome.mined == plan.to_mine.len() {
            plan.state.complete = true;
            store.put_root_state(plan.label(), &plan.state)?;
        } else {
            report.pending += plan.to_mine.len() - outcome.mined;
        }
        if cancel.load(Ordering::Relaxed) {
            report.cancelled = true;
            report.pending += plans[at + 1..].iter().map(|p| p.to_mine.len()).sum::<usize>();
            break;
        }
    }
    store.flush()?;
    finish(report)
}

/// The run `status` shows: how it ended — `done`, `cancelled`, or the first thing that went wrong.
fn job_run(report: &HistoryReport) -> JobRun {
    let outcome = if report.cancelled {
        "cancelled".to_string()
    } else if report.pending > 0 || (report.commits == 0 && !report.status.is_empty()) {
        report.status.first().cloned().unwrap_or_else(|| "stopped".into())
    } else {
        "done".to_string()
    };
    JobRun::ended_now(report.seconds, report.commits as u64, report.pending as u64, outcome)
}

/// A root's stored commits: its order when its last pass finished (no need to read them), else counted.
fn count_stored(store: &Store, label: &str, state: &RootState) -> Result<usize> {
    if state.complete {
        return Ok(state.order.len());
    }
    Ok(store.stored_commit_ids(label)?.len())
}

/// The gitattributes that turn on git's function-context drivers, in the store's folder (git reads
/// it by path; nothing is written into the workspace).
fn attributes_file(dir: &Path) -> Result<PathBuf> {
    let path = dir.join("git-attributes");
    if std::fs::read_to_string(&path).ok().as_deref() != Some(crate::git::DRIVER_ATTRIBUTES) {
        std::fs::write(&path, crate::git::DRIVER_ATTRIBUTES)?;
    }
    Ok(path)
}

/// What to mine under `root`, with its new state stored; `None` when it is up to date, has nothing to
/// mine, or `cancel` stopped the listing (then `report.cancelled` says so).
fn plan(
    options: &Options,
    store: &Store,
    root: &Path,
    prefix: Option<String>,
    cancel: &AtomicBool,
    report: &mut HistoryReport,
) -> Result<Option<Plan>, anyhow::Error> {
    let git = &options.git;
    let label = prefix.clone().unwrap_or_default();
    let repo = git.repository(root)?;
    let Some(head) = repo.head else {
        report.status.push(format!("{}: no commits yet", root.display()));
        return Ok(None);
    };
    let old = store.root_state(&label)?.unwrap_or_default();
    if repo.shallow {
        report.status.push(format!(
            "{}: a shallow clone: only the commits fetched are mined (`git fetch --unshallow` fetches the rest)",
            root.display()
        ));
    }
    if old.head.as_deref() == Some(&head) && old.complete {
        if old.capped {
            report.status.push(capped_line(root, options.max_commits));
        }
        return Ok(None);
    }
    // Since the last HEAD when it is an ancestor of this one and its pass finished; else all.
    let since = old.head.as_deref().filter(|old_head| old.complete && git.is_ancestor(root, old_head, &head));
    let Some(listed) = git.commits(root, options.max_commits + 1, since, cancel)? else {
        report.cancelled = true;
        return Ok(None);
    };
    let mut order: Vec<String> = listed.iter().map(|c| c.id.clone()).collect();
    let listed_new = order.len();
    if since.is_some() {
        order.extend(old.order.iter().cloned());
    }
    let capped = order.len() > options.max_commits;
    if capped {
        report.status.push(capped_line(root, options.max_commits));
    }
    let beyond_cap = order.split_off(options.max_commits.min(order.len()));
    let to_mine: Vec<String> = if since.is_some() {
        // Every commit listed is new (the last pass stored all of `old.order` and nothing else);
        // only the oldest, pushed past the cap, leave.
        store.remove_commits(&label, &beyond_cap)?;
        report.dropped += beyond_cap.len().saturating_sub(listed_new.saturating_sub(order.len()));
        order.iter().take(listed_new).cloned().collect()
    } else {
        let reachable: HashSet<&str> = order.iter().map(String::as_str).collect();
        let stored = store.stored_commit_ids(&label)?;
        let unreachable: Vec<String> = stored.iter().filter(|id| !reachable.contains(id.as_str())).cloned().collect();
        store.remove_commits(&label, &unreachable)?;
        report.dropped += unreachable.len();
        let stored: HashSet<String> = stored.into_iter().collect();
        order.iter().filter(|id| !stored.contains(*id)).cloned().collect()
    };
    let message_only =
        listed.iter().filter(|c| repo.shallow && c.parents == 0).map(|c| c.id.clone()).collect::<HashSet<_>>();
    let state = RootState { head: Some(head), complete: false, order, shallow: repo.shallow, capped };
    store.put_root_state(&label, &state)?;
    Ok(Some(Plan { root: root.to_path_buf(), prefix, state, to_mine, message_only }))
}

fn capped_line(root: &Path, max: usize) -> String {
    format!(
        "{}: more than {} commits are reachable from HEAD; the newest {} are mined",
        root.display(),
        crate::units::thousands(max as u64),
        crate::units::thousands(max as u64)
    )
}

/// What mining one root did.
struct Mined {
    mined: usize,
    failure: Option<String>,
}

/// The git processes running, by worker, so a stop can kill them while their output is read.
type Running = Mutex<Vec<(usize, Arc<Mutex<PatchLog>>)>>;

enum FromWorker {
    Commit(Box<ParsedCommit>),
    Failed(GitError),
}

/// Mines `plan.to_mine`, writing batches as they come; `on_batch` hears how many were written.
fn mine(
    options: &Options,
    store: &Store,
    snapshot: &Snapshot,
    plan: &Plan,
    attributes: &Path,
    cancel: &AtomicBool,
    on_batch: &mut dyn FnMut(usize),
) -> Result<Mined> {
    let mut mined = Mined { mined: 0, failure: None };
    if plan.to_mine.is_empty() {
        return Ok(mined);
    }
    let queue: Mutex<VecDeque<Vec<String>>> = Mutex::new(plan.to_mine.chunks(CHUNK).map(<[String]>::to_vec).collect());
    let running: Running = Mutex::new(Vec::new());
    let (sender, receiver) = mpsc::sync_channel::<FromWorker>(WRITE_BATCH);
    let workers = options.workers.max(1).min(plan.to_mine.len().div_ceil(CHUNK));
    let mut batch: Vec<Commit> = Vec::with_capacity(WRITE_BATCH);
    let mut write = |batch: &mut Vec<Commit>, mined: &mut Mined| -> Result<()> {
        if batch.is_empty() {
            return Ok(());
        }
        store.put_commits(plan.label(), batch)?;
        mined.mined += batch.len();
        on_batch(batch.len());
        batch.clear();
        Ok(())
    };
    let result = std::thread::scope(|scope| -> Result<()> {
        // Dropped with this closure, also on an early return: workers then stop at their next send.
        let receiver = receiver;
        for worker in 0..workers {
            let sender = sender.clone();
            let (queue, running) = (&queue, &running);
            scope.spawn(move || {
                run_worker(
                    worker,
                    &options.git,
                    &plan.root,
                    options.files_listed,
                    attributes,
                    queue,
                    running,
                    cancel,
                    &sender,
                )
            });
        }
        drop(sender);
        let mut killed = false;
        loop {
            match receiver.recv_timeout(CANCEL_POLL) {
                Ok(FromWorker::Commit(parsed)) => {
                    let message_only = plan.message_only.contains(&parsed.id);
                    batch.push(to_commit(*parsed, plan.prefix.as_deref(), snapshot, message_only));
                    if batch.len() >= WRITE_BATCH {
                        write(&mut batch, &mut mined)?;
                    }
                }
                Ok(FromWorker::Failed(err)) => mined.failure = Some(err.to_string()),
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            }
            if !killed && cancel.load(Ordering::Relaxed) {
                killed = true;
                for (_, log) in running.lock().unwrap_or_else(|e| e.into_inner()).iter() {
                    log.lock().unwrap_or_else(|e| e.into_inner()).kill();
                }
            }
        }
        Ok(())
    });
    write(&mut batch, &mut mined)?;
    result?;
    Ok(mined)
}

/// One worker: takes chunks until none are left (or `cancel`), runs git on each and sends each whole
/// commit it parses. A commit cut short by a stop or a failure is never sent.
#[allow(clippy::too_many_arguments)]
fn run_worker(
    worker: usize,
    git: &Git,
    root: &Path,
    files_listed: usize,
    attributes: &Path,
    queue: &Mutex<VecDeque<Vec<String>>>,
    running: &Running,
    cancel: &AtomicBool,
    sender: &mpsc::SyncSender<FromWorker>,
) {
    loop {
        if cancel.load(Ordering::Relaxed) {
            return;
        }
        let Some(chunk) = queue.lock().unwrap_or_else(|e| e.into_inner()).pop_front() else { return };
        let mut log = match git.patches(root, chunk, attributes) {
            Ok(log) => log,
            Err(err) => {
                let _ = sender.send(FromWorker::Failed(err));
                return;
            }
        };
        let Some(mut stdout) = log.take_stdout() else { return };
        let log = Arc::new(Mutex::new(log));
        running.lock().unwrap_or_else(|e| e.into_inner()).push((worker, log.clone()));
        let mut parser = Parser::new(files_listed);
        let mut line = Vec::new();
        let mut receiver_gone = false;
        loop {
            line.clear();
            match stdout.read_until(b'\n', &mut line) {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
            if cancel.load(Ordering::Relaxed) {
                break;
            }
            if let Some(commit) = parser.line(&line)
                && sender.send(FromWorker::Commit(Box::new(commit))).is_err()
            {
                receiver_gone = true;
                break;
            }
        }
        drop(stdout);
        if cancel.load(Ordering::Relaxed) || receiver_gone {
            log.lock().unwrap_or_else(|e| e.into_inner()).kill();
        }
        running.lock().unwrap_or_else(|e| e.into_inner()).retain(|(w, _)| *w != worker);
        let finished = match Arc::try_unwrap(log) {
            Ok(log) => log.into_inner().unwrap_or_else(|e| e.into_inner()).finish(),
            Err(_) => Err(GitError::Failed {
                command: "log".into(),
                root: root.display().to_string(),
                stderr: "stopped".into(),
            }),
        };
        if cancel.load(Ordering::Relaxed) || receiver_gone {
            return;
        }
        match finished {
            Ok(()) => {
                if let Some(commit) = parser.finish() {
                    let _ = sender.send(FromWorker::Commit(Box::new(commit)));
                }
            }
            Err(err) => {
                let _ = sender.send(FromWorker::Failed(err));
                return;
            }
        }
    }
}

/// The stored record of a parsed commit: message redacted and split, files as workspace keys, the
/// candidate names the current facts define in that file.
fn to_commit(parsed: ParsedCommit, prefix: Option<&str>, snapshot: &Snapshot, message_only: bool) -> Commit {
    let (message, _) = crate::redact::redact(parsed.message.trim());
    let (subject, body) = message.split_once('\n').unwrap_or((message.as_str(), ""));
    let key = |path: &str| match prefix {
        Some(prefix) => format!("{prefix}/{path}"),
        None => path.to_string(),
    };
    let mut commit = Commit {
        id: parsed.id,
        subject: subject.trim().to_string(),
        body: body.trim().to_string(),
        issues: cited_issues(&parsed.message),
        files: Vec::new(),
        files_touched: parsed.files_touched,
        definitions: Vec::new(),
    };
    if message_only {
        commit.files_touched = 0;
        return commit;
    }
    for file in parsed.files {
        let key = key(&file.path);
        for name in file.names {
            let defined_here =
                snapshot.definitions_by_name.get(&name).is_some_and(|defs| defs.iter().any(|(k, _)| **k == *key));
            if defined_here && commit.definitions.len() < MAX_DEFINITIONS_LISTED {
                commit.definitions.push((key.clone(), name));
            }
        }
        commit.files.push(key);
    }
    commit
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::{History, load};
    use std::process::{Command, Stdio};
    use std::sync::atomic::AtomicUsize;

    /// Runs git in `dir` with a fixed identity; returns its trimmed output.
    fn git(dir: &Path, args: &[&str]) -> String {
        let output = Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(["-c", "user.name=reverie", "-c", "user.email=reverie@localhost", "-c", "commit.gpgsign=false"])
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("git runs (apt-get install git)");
        assert!(output.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8_lossy(&output.stdout).trim().to_string()
    }

    fn commit_all(dir: &Path, message: &str) -> String {
        git(dir, &["add", "-A"]);
        git(dir, &["commit", "-q", "--allow-empty", "-m", message]);
        git(dir, &["rev-parse", "HEAD"])
    }

    fn write(dir: &Path, path: &str, text: &str) {
        let path = dir.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    /// The facts of every Python file under `dir`, keyed as the workspace keys them.
    fn snapshot_of(dir: &Path) -> Snapshot {
        let mut files = std::collections::BTreeMap::new();
        for entry in ignore::WalkBuilder::new(dir).build().flatten() {
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "py") {
                let key = crate::workspace::key_for(dir, None, path);
                let facts = crate::syntax::extract(&std::fs::read(path).unwrap(), crate::syntax::Language::Python);
                files.insert(Arc::<str>::from(key), Arc::new(facts));
            }
        }
        Snapshot::new(files)
    }

    struct Fixture {
        repo: tempfile::TempDir,
        cache: tempfile::TempDir,
        store: Store,
    }

    impl Fixture {
        fn new() -> Fixture {
            let repo = tempfile::tempdir().unwrap();
            git(repo.path(), &["init", "-q", "-b", "main"]);
            let cache = tempfile::tempdir().unwrap();
            let (store, _) = Store::open(cache.path()).unwrap();
            Fixture { repo, cache, store }
        }

        fn dir(&self) -> &Path {
            self.repo.path()
        }

        fn refresh(&self, options: &Options) -> HistoryReport {
            let roots = vec![self.dir().to_path_buf()];
            refresh_with(options, &self.store, &roots, &snapshot_of(self.dir()), &AtomicBool::new(false), &|_| {})
                .unwrap()
        }

        fn history(&self) -> History {
            load(&self.store).unwrap()
        }

        fn subjects(&self) -> Vec<String> {
            self.history().commits().map(|c| c.subject().to_string()).collect()
        }
    }

    const A_PY: &str = "def alpha():\n    return 1\n\n\nclass Beta:\n    def gamma(self):\n        return 1\n";

    #[test]
    fn mines_what_head_reaches_and_nothing_else() {
        let fx = Fixture::new();
        write(fx.dir(), "a.py", A_PY);
        let first = commit_all(fx.dir(), "Added alpha and Beta.");
        write(fx.dir(), "a.py", &A_PY.replace("        return 1", "        return 2"));
        let token = format!("ghp_{}", "a1B2c3D4e5".repeat(4));
        let second =
            commit_all(fx.dir(), &format!("Fixed #12 -- Beta.gamma returns 2.\n\nThanks gh-7; leaked {token} here."));
        // A later commit on another branch, a stash, and a commit only the reflog remembers.
        git(fx.dir(), &["checkout", "-q", "-b", "other"]);
        write(fx.dir(), "later.py", "def later():\n    pass\n");
        commit_all(fx.dir(), "Later commit on another branch.");
        git(fx.dir(), &["checkout", "-q", "main"]);
        write(fx.dir(), "a.py", "def stashed():\n    pass\n");
        git(fx.dir(), &["stash", "-q"]);
        write(fx.dir(), "gone.py", "x = 1\n");
        commit_all(fx.dir(), "Reset away, in the reflog only.");
        git(fx.dir(), &["reset", "-q", "--hard", "HEAD~1"]);

        let report = fx.refresh(&Options::default());
        assert_eq!((report.commits, report.new, report.cancelled), (2, 2, false), "{report:?}");
        assert!(report.status.is_empty(), "{report:?}");
        let history = fx.history();
        let ids: Vec<String> = history.commits().map(|c| c.id()).collect();
        assert_eq!(ids, [second.clone(), first], "HEAD's commits, newest first, nothing else");
        let fix = history.commit(0).unwrap();
        assert_eq!(fix.subject(), "Fixed #12 -- Beta.gamma returns 2.");
        assert_eq!(fix.issues(), [12, 7]);
        assert!(!fix.body().contains(&token) && fix.body().contains("[REDACTED:github-token]"), "{}", fix.body());
        assert_eq!(fix.files().collect::<Vec<_>>(), ["a.py"]);
        assert_eq!(fix.definitions().collect::<Vec<_>>(), [("a.py", "gamma")], "the hunk's function, by name");
        let added = history.commit(1).unwrap();
        let mut defined: Vec<_> = added.definitions().map(|(_, n)| n).collect();
        defined.sort();
        assert_eq!(defined, ["Beta", "alpha", "gamma"], "definitions the first commit added");

        // Up to date: nothing to do.
        let again = fx.refresh(&Options::default());
        assert_eq!((again.commits, again.new, again.dropped), (2, 0, 0));
        assert!(fx.cache.path().join("git-attributes").exists());
        assert_eq!(git(fx.dir(), &["status", "--porcelain"]), "", "nothing written into the workspace");
    }

    #[test]
    fn new_commits_are_mined_alone_and_a_rebase_drops_what_head_lost() {
        let fx = Fixture::new();
        write(fx.dir(), "a.py", A_PY);
        let base = commit_all(fx.dir(), "one");
        write(fx.dir(), "b.py", "def b():\n    pass\n");
        commit_all(fx.dir(), "two");
        assert_eq!(fx.refresh(&Options::default()).new, 2);

        write(fx.dir(), "c.py", "def c():\n    pass\n");
        commit_all(fx.dir(), "three");
        let report = fx.refresh(&Options::default());
        assert_eq!((report.commits, report.new, report.dropped), (3, 1, 0), "{report:?}");
        assert_eq!(fx.subjects(), ["three", "two", "one"]);

        // A rebase (or a switch to a branch that left these out): HEAD no longer reaches two, three.
        git(fx.dir(), &["reset", "-q", "--hard", &base]);
        write(fx.dir(), "d.py", "def d():\n    pass\n");
        commit_all(fx.dir(), "four, rewritten");
        let report = fx.refresh(&Options::default());
        assert_eq!((report.commits, report.new, report.dropped), (2, 1, 2), "{report:?}");
        assert_eq!(fx.subjects(), ["four, rewritten", "one"]);
    }

    #[test]
    fn a_root_in_a_sub_folder_sees_its_own_commits_with_relative_keys() {
        let fx = Fixture::new();
        write(fx.dir(), "sub/a.py", A_PY);
        commit_all(fx.dir(), "inside");
        write(fx.dir(), "outside.py", "x = 1\n");
        commit_all(fx.dir(), "outside only");
        let sub = fx.dir().join("sub");
        let roots = vec![sub.clone()];
        let report =
            refresh_with(&Options::default(), &fx.store, &roots, &snapshot_of(&sub), &AtomicBool::new(false), &|_| {})
                .unwrap();
        assert_eq!(report.commits, 1, "{report:?}");
        let history = fx.history();
        assert_eq!(history.commit(0).unwrap().files().collect::<Vec<_>>(), ["a.py"]);
        assert_eq!(history.commit(0).unwrap().definitions().count(), 3);
    }

    /// `n` commits on `main`, one file each, written with `git fast-import` (seconds for thousands;
    /// each commit continues from the branch's last).
    fn many_commits(dir: &Path, n: usize) {
        let mut stream = String::new();
        for i in 0..n {
            let message = format!("change {i}");
            let text = format!("def f{i}():\n    return {i}\n");
            stream.push_str(&format!(
                "commit refs/heads/main\ncommitter r <r@l> {} +0000\ndata {}\n{message}\nM 644 inline m{}.py\ndata {}\n{text}\n",
                1_600_000_000 + i,
                message.len(),
                i % 50,
                text.len(),
            ));
        }
        let mut child = Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(["fast-import", "--quiet"])
            .stdin(Stdio::piped())
            .spawn()
            .unwrap();
        std::io::Write::write_all(child.stdin.as_mut().unwrap(), stream.as_bytes()).unwrap();
        drop(child.stdin.take());
        assert!(child.wait().unwrap().success());
        git(dir, &["reset", "-q", "--hard", "main"]);
    }

    #[test]
    fn a_stopped_pass_keeps_what_it_mined_and_the_next_one_finishes() {
        let fx = Fixture::new();
        many_commits(fx.dir(), 5_000);
        let roots = vec![fx.dir().to_path_buf()];
        let snapshot = snapshot_of(fx.dir());
        let cancel = AtomicBool::new(false);
        let written = AtomicUsize::new(0);
        let stopped_at = Mutex::new(None);
        let report = std::thread::scope(|scope| {
            scope.spawn(|| {
                // Stop once the first batch is stored, from another thread, as the server does.
                while written.load(Ordering::SeqCst) == 0 {
                    std::thread::yield_now();
                }
                *stopped_at.lock().unwrap() = Some(Instant::now());
                cancel.store(true, Ordering::SeqCst);
            });
            let progress = |p: Progress| written.store(p.done, Ordering::SeqCst);
            refresh_with(&Options::default(), &fx.store, &roots, &snapshot, &cancel, &progress).unwrap()
        });
        let latency = stopped_at.lock().unwrap().unwrap().elapsed();
        println!("stopped {:.1} ms after the cancel, {} commits kept", latency.as_secs_f64() * 1e3, report.commits);
        assert!(report.cancelled, "{report:?}");
        assert!(report.pending > 0 && report.commits == report.new, "{report:?}");
        assert_eq!(report.commits + report.pending, 5_000, "{report:?}");
        assert!(latency < Duration::from_millis(500), "stopped {latency:?} after the cancel");
        assert_eq!(fx.history().len(), report.commits, "what was mined is stored");

        let report = fx.refresh(&Options::default());
        assert_eq!((report.commits, report.pending, report.cancelled), (5_000, 0, false), "{report:?}");
        let history = fx.history();
        assert_eq!(history.commit(0).unwrap().subject(), "change 4999");
        assert_eq!(history.commit(4_999).unwrap().subject(), "change 0");
    }

    #[test]
    fn a_pass_stopped_before_it_starts_loses_nothing() {
        let fx = Fixture::new();
        write(fx.dir(), "a.py", A_PY);
        commit_all(fx.dir(), "one");
        let roots = vec![fx.dir().to_path_buf()];
        let stopped = AtomicBool::new(true);
        let report =
            refresh_with(&Options::default(), &fx.store, &roots, &Snapshot::default(), &stopped, &|_| {}).unwrap();
        assert!(report.cancelled && report.commits == 0, "{report:?}");
        assert_eq!(fx.refresh(&Options::default()).commits, 1);
    }

    #[test]
    fn a_folder_outside_git_and_a_missing_or_old_git_say_so_and_keep_what_is_stored() {
        let fx = Fixture::new();
        write(fx.dir(), "a.py", A_PY);
        commit_all(fx.dir(), "kept");
        assert_eq!(fx.refresh(&Options::default()).commits, 1);

        let missing = Options { git: Git::at("/no/such/git"), ..Options::default() };
        let report = fx.refresh(&missing);
        assert_eq!(report.commits, 1, "what was stored stays: {report:?}");
        assert!(report.status[0].contains("git was not found"), "{report:?}");

        let bin = tempfile::tempdir().unwrap();
        let old = bin.path().join("git");
        std::fs::write(&old, "#!/bin/sh\necho 'git version 1.8.3.1'\n").unwrap();
        std::fs::set_permissions(&old, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
        let report = fx.refresh(&Options { git: Git::at(&old), ..Options::default() });
        assert!(report.status[0].contains("git 1.8.3.1 is too old"), "{report:?}");
        assert_eq!(report.commits, 1);
        let run = crate::jobs::JobStore::job_run(&fx.store, Job::History).unwrap().unwrap();
        assert_eq!((run.done, run.outcome.as_str()), (1, "done"), "the last run says what the history holds");

        let plain = tempfile::tempdir().unwrap();
        let roots = vec![plain.path().to_path_buf()];
        let report = refresh_with(
            &Options::default(),
            &fx.store,
            &roots,
            &Snapshot::default(),
            &AtomicBool::new(false),
            &|_| {},
        )
        .unwrap();
        assert!(report.status[0].contains("is not in a git repository"), "{report:?}");
        assert!(!report.cancelled && report.new == 0);
    }

    #[test]
    fn a_shallow_clone_is_mined_as_far_as_it_goes_and_says_so() {
        let fx = Fixture::new();
        for i in 0..4 {
            write(fx.dir(), "a.py", &format!("def alpha():\n    return {i}\n"));
            commit_all(fx.dir(), &format!("commit {i}"));
        }
        let clones = tempfile::tempdir().unwrap();
        let shallow = clones.path().join("shallow");
        let url = format!("file://{}", fx.dir().display());
        git(clones.path(), &["clone", "-q", "--depth", "2", &url, shallow.to_str().unwrap()]);
        let roots = vec![shallow.clone()];
        let report = refresh_with(
            &Options::default(),
            &fx.store,
            &roots,
            &snapshot_of(&shallow),
            &AtomicBool::new(false),
            &|_| {},
        )
        .unwrap();
        assert_eq!(report.commits, 2, "{report:?}");
        assert!(report.status.iter().any(|l| l.contains("shallow clone")), "{report:?}");
        let history = fx.history();
        let boundary = history.commit(1).unwrap();
        assert_eq!(boundary.subject(), "commit 2");
        assert_eq!(
            (boundary.files().count(), boundary.files_touched()),
            (0, 0),
            "its diff against nothing is not kept"
        );
        assert_eq!(history.commit(0).unwrap().files().collect::<Vec<_>>(), ["a.py"]);
    }

    #[test]
    fn a_history_over_the_cap_keeps_the_newest_and_says_so() {
        let fx = Fixture::new();
        many_commits(fx.dir(), 30);
        let capped = Options { max_commits: 20, ..Options::default() };
        let report = fx.refresh(&capped);
        assert_eq!(report.commits, 20, "{report:?}");
        assert!(report.status.iter().any(|l| l.contains("more than 20 commits")), "{report:?}");
        assert_eq!(fx.history().commit(0).unwrap().subject(), "change 29");
        assert_eq!(fx.history().commit(19).unwrap().subject(), "change 10");
        // One more commit: still 20, the oldest dropped.
        write(fx.dir(), "new.py", "def new():\n    pass\n");
        commit_all(fx.dir(), "change 30");
        let report = fx.refresh(&capped);
        assert_eq!((report.commits, report.new, report.dropped), (20, 1, 1), "{report:?}");
    }

    #[test]
    fn binary_diffs_huge_commits_and_messages_that_are_not_utf8() {
        let fx = Fixture::new();
        std::fs::write(fx.dir().join("logo.png"), b"\x89PNG\x00\x01\x02").unwrap();
        commit_all(fx.dir(), "Added a logo.");
        std::fs::write(fx.dir().join("logo.png"), b"\x89PNG\x00\x03\x04").unwrap();
        commit_all(fx.dir(), "Changed the logo.");
        for i in 0..10_000 {
            write(fx.dir(), &format!("gen/f{:05}.txt", i), "x\n");
        }
        commit_all(fx.dir(), "Generated ten thousand files.");
        // Latin-1 with its encoding declared (git re-encodes it), and bytes that are no encoding at all.
        write(fx.dir(), "a.py", A_PY);
        std::fs::write(fx.dir().join("msg"), b"Caf\xe9 cr\xe8me\n").unwrap();
        git(fx.dir(), &["add", "a.py"]);
        git(fx.dir(), &["-c", "i18n.commitEncoding=ISO-8859-1", "commit", "-q", "-F", "msg"]);
        write(fx.dir(), "b.py", "def b():\n    pass\n");
        std::fs::write(fx.dir().join("msg"), b"Broken \xff\xfe bytes\n").unwrap();
        git(fx.dir(), &["add", "b.py"]);
        git(fx.dir(), &["commit", "-q", "-F", "msg"]);
        std::fs::remove_file(fx.dir().join("msg")).unwrap();

        let report = fx.refresh(&Options::default());
        assert_eq!(report.commits, 5, "{report:?}");
        let history = fx.history();
        let subjects: Vec<&str> = history.commits().map(|c| c.subject()).collect();
        // git re-encodes bytes that are not UTF-8 (as Latin-1); what is left over would be replaced
        // (`parse`'s own test): either way the subject is readable text.
        assert!(subjects[0].starts_with("Broken ") && subjects[0].ends_with(" bytes"), "{subjects:?}");
        assert_eq!(subjects[1], "Café crème");
        let huge = history.commit(2).unwrap();
        assert_eq!((huge.files().count(), huge.files_touched()), (MAX_FILES_LISTED, 10_000));
        let binary = history.commit(3).unwrap();
        assert_eq!((binary.files().collect::<Vec<_>>(), binary.definitions().count()), (vec!["logo.png"], 0));
    }

    /// Resident memory of this process, from `/proc/self/statm`.
    fn rss_bytes() -> u64 {
        let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
        statm.split_whitespace().nth(1).and_then(|p| p.parse::<u64>().ok()).unwrap_or(0) * 4096
    }

    /// Measures passes on a real repository, e.g. Django:
    /// `REVERIE_HISTORY_REPO=/path cargo test --release --lib history::mine::tests::measure -- --ignored --nocapture`.
    /// Indexes it (the facts the definitions are matched against), then: a full pass on an empty
    /// store; a pass stopped after `REVERIE_HISTORY_STOP_AFTER` seconds (default 3), with how long the
    /// stop took, and the pass that resumes it; the history loaded, its heap estimate and the RSS it
    /// added; the store's size.
    #[test]
    #[ignore]
    fn measure_on_a_real_repository() {
        let Ok(repo) = std::env::var("REVERIE_HISTORY_REPO") else { return };
        let repo = PathBuf::from(repo).canonicalize().unwrap();
        let roots = vec![repo];
        let index_dir = tempfile::tempdir().unwrap();
        let (index_store, _) = Store::open(index_dir.path()).unwrap();
        let started = Instant::now();
        crate::index::index(
            &index_store,
            &roots,
            &crate::workspace::WalkOptions::default(),
            crate::index::Mode::Incremental,
            &|_| {},
        )
        .unwrap();
        let snapshot = crate::index::snapshot(&index_store).unwrap();
        println!("indexed {} files in {:.1} s", snapshot.files.len(), started.elapsed().as_secs_f64());
        drop(index_store);

        let full_dir = tempfile::tempdir().unwrap();
        let (store, _) = Store::open(full_dir.path()).unwrap();
        let full = refresh(&store, &roots, &snapshot, &AtomicBool::new(false), &|_| {}).unwrap();
        println!(
            "full pass: {} commits in {:.1} s ({} workers); status {:?}",
            full.commits,
            full.seconds,
            Options::default().workers,
            full.status
        );
        let again = refresh(&store, &roots, &snapshot, &AtomicBool::new(false), &|_| {}).unwrap();
        println!("pass with nothing new: {:.3} s", again.seconds);
        if std::env::var_os("REVERIE_HISTORY_NEW_COMMIT").is_some() {
            // One new commit (in a copy the caller owns), then the same HEAD rewritten away.
            let root = &roots[0];
            std::fs::write(root.join("HISTORY_BENCH.txt"), "one new commit\n").unwrap();
            git(root, &["add", "HISTORY_BENCH.txt"]);
            git(root, &["commit", "-q", "-m", "One new commit for the measurement."]);
            let one = refresh(&store, &roots, &snapshot, &AtomicBool::new(false), &|_| {}).unwrap();
            println!("one new commit: {} new in {:.3} s", one.new, one.seconds);
            git(root, &["reset", "-q", "--hard", "HEAD~1"]);
            let rewound = refresh(&store, &roots, &snapshot, &AtomicBool::new(false), &|_| {}).unwrap();
            println!("HEAD moved back (a rebase): {} dropped in {:.3} s", rewound.dropped, rewound.seconds);
        }
        let rss_before = rss_bytes();
        let history = load(&store).unwrap();
        let rss_after = rss_bytes();
        let definitions: usize = history.commits().map(|c| c.definition_ids().len()).sum();
        let files: usize = history.commits().map(|c| c.file_ids().len()).sum();
        println!(
            "in memory: {} commits, {} file entries over {} paths, {} definition entries; heap estimate {:.1} MB; RSS +{:.1} MB",
            history.len(),
            files,
            history.paths(),
            definitions,
            history.heap_bytes() as f64 / 1e6,
            rss_after.saturating_sub(rss_before) as f64 / 1e6
        );
        let load_started = Instant::now();
        let reloaded = load(&store).unwrap();
        println!("load: {:.2} s for {} commits", load_started.elapsed().as_secs_f64(), reloaded.len());
        store.flush().unwrap();
        println!(
            "store: history records {:.1} MB (+ state {:.1} MB); whole store on disk {:.1} MB",
            store.record_bytes(crate::store::RecordTree::History) as f64 / 1e6,
            store.record_bytes(crate::store::RecordTree::HistoryState) as f64 / 1e6,
            store.size_on_disk() as f64 / 1e6
        );

        let stop_after: f64 =
            std::env::var("REVERIE_HISTORY_STOP_AFTER").ok().and_then(|s| s.parse().ok()).unwrap_or(3.0);
        let resumed_dir = tempfile::tempdir().unwrap();
        let (store, _) = Store::open(resumed_dir.path()).unwrap();
        let cancel = AtomicBool::new(false);
        let stopped_at = Mutex::new(None);
        let (report, returned) = std::thread::scope(|scope| {
            scope.spawn(|| {
                // The stop comes at a set time, as a keystroke would; not a synchronisation.
                std::thread::sleep(Duration::from_secs_f64(stop_after));
                *stopped_at.lock().unwrap() = Some(Instant::now());
                cancel.store(true, Ordering::SeqCst);
            });
            let report = refresh(&store, &roots, &snapshot, &cancel, &|_| {}).unwrap();
            (report, Instant::now())
        });
        let latency = returned.duration_since(stopped_at.lock().unwrap().unwrap());
        println!(
            "stopped after {stop_after} s: {} commits kept, {} pending; returned {:.1} ms after the stop",
            report.commits,
            report.pending,
            latency.as_secs_f64() * 1e3
        );
        let resumed = refresh(&store, &roots, &snapshot, &AtomicBool::new(false), &|_| {}).unwrap();
        println!("resumed: {} new, {} commits in {:.1} s", resumed.new, resumed.commits, resumed.seconds);
        assert_eq!(resumed.commits, full.commits);
    }
}
