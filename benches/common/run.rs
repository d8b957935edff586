//! Running what the benchmarks measure: a subprocess timed by its wall clock with its peak RSS
//! (`/usr/bin/time -f %M` when it exists), and Universal Ctags — the anchor — with the files and bytes
//! it reports having scanned. A failed run stops the benchmark with its stderr.
#![allow(dead_code)] // Each benchmark uses its own part.

use crate::setup::fail;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

/// How to install the anchor (the hint printed when it is missing).
pub const CTAGS_INSTALL: &str = "apt-get install -y universal-ctags";

/// `/usr/bin/time`, if it runs (to read a subprocess's peak RSS with `%M`).
pub fn time_bin() -> Option<PathBuf> {
    Some(PathBuf::from("/usr/bin/time")).filter(|p| {
        Command::new(p)
            .args(["-f", "%M", "true"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    })
}

/// Universal Ctags' version line ("Universal Ctags 5.9.0"); stops with the install hint without it.
pub fn ctags_version() -> String {
    let out = Command::new("ctags").arg("--version").output();
    match out {
        Ok(out) if out.status.success() && String::from_utf8_lossy(&out.stdout).contains("Universal Ctags") => {
            String::from_utf8_lossy(&out.stdout)
                .lines()
                .next()
                .unwrap_or("")
                .split(',')
                .next()
                .unwrap_or("")
                .trim()
                .to_string()
        }
        Ok(_) => fail(&format!("`ctags` is not Universal Ctags (the anchor); install it: {CTAGS_INSTALL}")),
        Err(_) => fail(&format!("Universal Ctags (the anchor) is missing; install it: {CTAGS_INSTALL}")),
    }
}

pub struct Timed {
    pub secs: f64,
    /// Peak RSS in bytes from /usr/bin/time -f %M, if available.
    pub time_rss: Option<u64>,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `program args` (under `time_bin` when given, its output in a temporary file under `tmp`),
/// timing its wall clock. Stops the benchmark on failure.
pub fn timed(time_bin: Option<&Path>, tmp: &Path, program: &Path, args: &[&OsStr]) -> Timed {
    let rss_file = time_bin.map(|_| {
        tempfile::Builder::new()
            .prefix("rss-")
            .tempdir_in(tmp)
            .unwrap_or_else(|e| fail(&format!("cannot create a temporary dir under {}: {e}", tmp.display())))
    });
    let mut command = match (time_bin, &rss_file) {
        (Some(time), Some(dir)) => {
            let mut c = Command::new(time);
            c.args(["-f", "%M", "-o"]).arg(dir.path().join("rss")).arg(program);
            c
        }
        _ => Command::new(program),
    };
    command.args(args).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let started = Instant::now();
    let out = command.output().unwrap_or_else(|e| fail(&format!("cannot run {}: {e}", program.display())));
    let secs = started.elapsed().as_secs_f64();
    if !out.status.success() {
        fail(&format!(
            "{} {:?} failed ({}):\n{}",
            program.display(),
            args,
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let time_rss = rss_file.and_then(|dir| {
        let text = std::fs::read_to_string(dir.path().join("rss")).ok()?;
        let kib: u64 = text.lines().rev().find_map(|l| l.trim().parse().ok())?;
        Some(kib * 1024)
    });
    Timed {
        secs,
        time_rss,
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

pub struct CtagsRun {
    pub timed: Timed,
    pub files: u64,
    pub bytes: u64,
}

/// `ctags [-R] [--languages=LANGS] --totals=yes -f /dev/null TARGET` (every language it knows without
/// `languages`; the totals give the files and kB it scanned).
pub fn ctags(time_bin: Option<&Path>, tmp: &Path, languages: Option<&str>, target: &Path, recursive: bool) -> CtagsRun {
    let langs = languages.map(|l| format!("--languages={l}"));
    let mut args: Vec<&OsStr> = Vec::new();
    if recursive {
        args.push("-R".as_ref());
    }
    if let Some(langs) = &langs {
        args.push(langs.as_ref());
    }
    args.extend(["--totals=yes".as_ref(), "-f".as_ref(), "/dev/null".as_ref(), target.as_os_str()]);
    let timed = timed(time_bin, tmp, Path::new("ctags"), &args);
    // "2789 files, 470934 lines (16982 kB) scanned in 0.3 seconds (…)", on stderr.
    let (files, bytes) = timed
        .stderr
        .lines()
        .chain(timed.stdout.lines())
        .find_map(|line| {
            let (files, rest) = line.split_once(" files, ").or_else(|| line.split_once(" file, "))?;
            let kb = rest.split_once('(')?.1.split_once(" kB)")?.0;
            Some((files.trim().parse().ok()?, kb.trim().parse::<u64>().ok()? * 1024))
        })
        .unwrap_or((0, 0));
    CtagsRun { timed, files, bytes }
}
