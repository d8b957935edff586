#!/usr/bin/env bash
# Builds the big benchmark workspace of `benches/big.rs` (issue 23) and prints its path:
# $REVERIE_BENCH_DIR/big-workspace (default ~/.cache/reverie-bench/big-workspace), about 21,000 files in
# 20 projects and 9 languages — one release each of the dev set's 12 Python projects, copied from
# ~/.cache/reverie-dev-workspaces when it holds them (else downloaded with pip), and tokio (crates.io),
# expo-modules-core and rxjs (npm), ruby-rack, php-symfony-console, lua-penlight and
# golang-github-spf13-cobra-dev (Debian), pythonnet (PyPI). The fetching is the bench's own
# (benches/common/corpus.rs); nothing is fetched when the workspace is complete.
#
#   WS="$(scripts/fetch-big-workspace.sh)"; reverie index "$WS"
set -euo pipefail
cd "$(dirname "$0")/.."
cargo bench --quiet --bench big -- --fetch-only | tail -n 1
