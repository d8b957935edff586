//! Real Neovim (headless) drives the real binary through `tests/nvim/lsp_test.lua`.
//!
//! Needs `nvim` on PATH (`apt-get install -y neovim`, as tests/run.sh does). Without it the test says
//! how to install it and passes, unless REVERIE_REQUIRE_TOOLS=1 (CI), where it fails.

mod util;

use std::process::Command;
use util::Workspace;

fn nvim_available() -> bool {
    Command::new("nvim").arg("--version").output().is_ok_and(|o| o.status.success())
}

#[test]
fn neovim_drives_the_server() {
    if !nvim_available() {
        let required = std::env::var("REVERIE_REQUIRE_TOOLS").is_ok_and(|v| v == "1");
        assert!(!required, "nvim is required (REVERIE_REQUIRE_TOOLS=1) but not installed: apt-get install -y neovim");
        eprintln!("skipping: nvim not found; install it with `apt-get install -y neovim` (tests/run.sh does)");
        return;
    }
    let ws = Workspace::with(&[
        ("lib.py", "class Settings:\n    \"\"\"Holds configuration.\"\"\"\n\n    def load_settings(self, path):\n        if not path:\n            raise ValueError(\"settings path must not be empty\")\n        return {}\n"),
        ("app.py", "from lib import Settings\n\n\ndef main():\n    s = Settings()\n    s.load_settings(\"app.toml\")\n"),
    ]);
    let out_file = ws.home.path().join("nvim-result.txt");
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/nvim/lsp_test.lua");
    let output = Command::new("timeout")
        .args(["120", "nvim", "--headless", "-u", "NONE", "-i", "NONE", "-c", "filetype on", "-c"])
        .arg(format!("luafile {}", script.display()))
        .args(["-c", "cquit 2"])
        .env("REVERIE_BIN", env!("CARGO_BIN_EXE_reverie"))
        .env("REVERIE_WS", ws.root())
        .env("REVERIE_OUT", &out_file)
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
        "nvim exited with {}\nresult:\n{result}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(result.contains("hover: ```python def load_settings(self, path) ```"), "{result}");
    assert!(result.contains("action: reverie: Explain `load_settings`"), "{result}");
    assert!(result.contains("command answer source: context first: lib.py"), "{result}");
    assert!(result.contains("ask: error-site lib.py:6"), "{result}");
}
