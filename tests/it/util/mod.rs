//! Test harness: a temporary workspace and a way to run the real `reverie` binary against it with
//! its own cache and config directories, so tests never see the developer's files.

pub mod http;
pub mod lsp;
pub mod openai_fake;

use std::path::PathBuf;
use std::process::{Command, Output};

pub struct Workspace {
    pub dir: tempfile::TempDir,
    pub home: tempfile::TempDir,
}

impl Workspace {
    pub fn new() -> Workspace {
        Workspace { dir: tempfile::tempdir().unwrap(), home: tempfile::tempdir().unwrap() }
    }

    /// A workspace holding `files`, given as `(path, contents)`.
    pub fn with(files: &[(&str, &str)]) -> Workspace {
        let ws = Workspace::new();
        for (path, contents) in files {
            ws.write(path, contents);
        }
        ws
    }

    /// A workspace holding a copy of the project under `tests/fixtures/projects/<name>`.
    pub fn from_project(name: &str) -> Workspace {
        let ws = Workspace::new();
        let source = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/projects").join(name);
        let mut pending = vec![source.clone()];
        while let Some(dir) = pending.pop() {
            for entry in std::fs::read_dir(&dir).unwrap_or_else(|err| panic!("{}: {err}", dir.display())) {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    pending.push(path);
                } else {
                    let rel = path.strip_prefix(&source).unwrap().to_str().unwrap().to_string();
                    ws.write(&rel, std::fs::read(&path).unwrap());
                }
            }
        }
        ws
    }

    pub fn root(&self) -> PathBuf {
        self.dir.path().canonicalize().unwrap()
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    pub fn write(&self, rel: &str, contents: impl AsRef<[u8]>) {
        let path = self.path(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, contents).unwrap();
    }

    pub fn cache_dir(&self) -> PathBuf {
        self.home.path().join("cache")
    }

    /// `reverie ARGS` with HOME, XDG dirs and the cache pointed into this test's own directory.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_reverie"));
        cmd.args(args)
            .current_dir(self.dir.path())
            .env("HOME", self.home.path())
            .env("XDG_CONFIG_HOME", self.home.path().join("config"))
            .env("XDG_CACHE_HOME", self.home.path().join("xdg-cache"))
            .env("REVERIE_CACHE_DIR", self.cache_dir())
            .env_remove("REVERIE_LOG")
            .env_remove("GIT_DIR");
        cmd
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("the reverie binary runs")
    }

    /// Runs and expects success; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "reverie {args:?} failed with {}\nstdout:\n{}\nstderr:\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// Runs with `--format json` appended and parses stdout.
    pub fn json(&self, args: &[&str]) -> serde_json::Value {
        let mut args = args.to_vec();
        args.extend(["--format", "json"]);
        serde_json::from_str(&self.ok(&args)).unwrap()
    }
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The test model for the `local` provider: `REVERIE_TEST_MODEL` (a GGUF path), else
/// SmolLM2-135M-Instruct.Q4_1.gguf where reverie looks for models by name (`reverie::dirs::model_dirs`:
/// `~/.cache/reverie/models`, where `scripts/fetch-model.sh` puts it, or the earlier
/// `~/.cache/reverie-test`). `None` (after saying how to fetch it) when it is missing, unless
/// `REVERIE_REQUIRE_TOOLS=1` (CI), which makes a missing model a failure.
#[cfg(feature = "local")]
pub fn test_model() -> Option<PathBuf> {
    let path = match std::env::var_os("REVERIE_TEST_MODEL") {
        Some(path) => {
            let path = PathBuf::from(path);
            assert!(path.is_file(), "REVERIE_TEST_MODEL names {}, which is not a file", path.display());
            path
        }
        None => model_by_name("SmolLM2-135M-Instruct.Q4_1.gguf", |path| path.is_file()),
    };
    if path.is_file() {
        return Some(path);
    }
    let how = format!(
        "the test model is missing at {}: run scripts/fetch-model.sh (puts SmolLM2-135M-Instruct, 98 MB, in \
         ~/.cache/reverie/models) or set REVERIE_TEST_MODEL to a GGUF file",
        path.display()
    );
    assert!(std::env::var("REVERIE_REQUIRE_TOOLS").as_deref() != Ok("1"), "{how} (REVERIE_REQUIRE_TOOLS=1)");
    eprintln!("skipping: {how}");
    None
}

/// The first of reverie's model directories holding `name` as `present` says, else where it would be
/// fetched to (the first).
fn model_by_name(name: &str, present: impl Fn(&std::path::Path) -> bool) -> PathBuf {
    let candidates: Vec<PathBuf> = reverie::dirs::model_dirs(None).into_iter().map(|dir| dir.join(name)).collect();
    candidates.iter().find(|path| present(path)).unwrap_or(&candidates[0]).clone()
}

/// The embedding model for the in-process embedder (a directory with all-MiniLM-L6-v2's
/// `model.safetensors`, `config.json`, `tokenizer.json`): `REVERIE_TEST_EMBED_MODEL`, else
/// all-MiniLM-L6-v2 where reverie looks for models by name (`~/.cache/reverie/models`, where
/// `scripts/fetch-embed-model.sh` puts it, or the earlier `~/.cache/reverie-test`). `None` (after
/// saying how to fetch it) when it is missing, unless `REVERIE_REQUIRE_TOOLS=1` (CI), which makes a
/// missing model a failure.
pub fn test_embed_model() -> Option<PathBuf> {
    let complete = |dir: &std::path::Path| {
        ["model.safetensors", "config.json", "tokenizer.json"].iter().all(|f| dir.join(f).is_file())
    };
    let dir = match std::env::var_os("REVERIE_TEST_EMBED_MODEL") {
        Some(dir) => {
            let dir = PathBuf::from(dir);
            assert!(dir.is_dir(), "REVERIE_TEST_EMBED_MODEL names {}, which is not a directory", dir.display());
            dir
        }
        None => model_by_name("all-MiniLM-L6-v2", complete),
    };
    if complete(&dir) {
        return Some(dir);
    }
    let how = format!(
        "the embedding test model is missing at {}: run scripts/fetch-embed-model.sh (puts all-MiniLM-L6-v2, \
         87 MB, in ~/.cache/reverie/models) or set REVERIE_TEST_EMBED_MODEL to its directory",
        dir.display()
    );
    assert!(std::env::var("REVERIE_REQUIRE_TOOLS").as_deref() != Ok("1"), "{how} (REVERIE_REQUIRE_TOOLS=1)");
    eprintln!("skipping: {how}");
    None
}

/// Runs git in `ws` (a test identity, no signing, the workspace's own HOME); fails the test if git fails.
pub fn git(ws: &Workspace, args: &[&str]) {
    let out = std::process::Command::new("git")
        .args(["-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "commit.gpgsign=false"])
        .args(args)
        .current_dir(ws.dir.path())
        .env("HOME", ws.home.path())
        .output()
        .expect("git runs");
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// Commits everything in `ws` with `message`.
pub fn commit(ws: &Workspace, message: &str) {
    git(ws, &["add", "-A"]);
    git(ws, &["commit", "-q", "-m", message]);
}
