#!/usr/bin/env bash
# End-to-end test of the VS Code extension in real VS Code (code-server 4.100.3) driven by headless
# Chromium (playwright-core): builds the reverie binary and the .vsix, installs code-server into a cache
# dir if missing, installs the extension into a fresh profile, opens a fixture workspace and drives it
# (test/e2e.js says what is asserted). Exits non-zero on any failure.
#
# Usage: editors/vscode/test/e2e.sh            (from anywhere; ~2 min warm, +2 min the first time)
# Env:   CARGO_TARGET_DIR          where cargo builds (default: <repo>/target)
#        REVERIE_E2E_CODE_SERVER_DIR  code-server install dir (default: ~/.cache/reverie-vscode-e2e/...)
#        CHROMIUM                  the browser (default: /usr/bin/chromium)
#        REVERIE_E2E_KEEP=1        keep the temporary profile, workspace and logs
set -euo pipefail

HERE="$(cd "$(dirname "$0")/.." && pwd)"      # editors/vscode
REPO="$(cd "$HERE/../.." && pwd)"
CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
step() { printf '\n== %s\n' "$*"; }
die() { printf '\nerror: %s\n' "$*" >&2; exit 1; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; elif sudo -n true 2>/dev/null; then sudo "$@"; else return 1; fi; }

step "tools"
command -v node >/dev/null && command -v npm >/dev/null ||
  die "node and npm are missing; install Node 20: sudo apt-get install -y nodejs npm"
node_major="$(node -p 'process.versions.node.split(".")[0]')"
[ "$node_major" = 20 ] || echo "warning: Node $(node --version); code-server 4.100.3 is built for Node 20"
command -v cargo >/dev/null || die "cargo is missing; install Rust from https://rustup.rs"
if [ ! -x "$CHROMIUM" ]; then
  echo "installing chromium (Debian package)"
  { as_root apt-get update -qq && DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq chromium; } ||
    die "could not install chromium; run: sudo apt-get update && sudo apt-get install -y chromium (or set CHROMIUM=/path/to/chromium)"
  [ -x "$CHROMIUM" ] || die "chromium is not at $CHROMIUM after installing; set CHROMIUM=/path/to/chromium"
fi
echo "node $(node --version), $("$CHROMIUM" --version 2>/dev/null | head -n1)"

step "reverie binary (cargo build)"
(cd "$REPO" && cargo build --locked --bin reverie)
TARGET_DIR="${CARGO_TARGET_DIR:-$REPO/target}"
case "$TARGET_DIR" in /*) ;; *) TARGET_DIR="$REPO/$TARGET_DIR" ;; esac
REVERIE_BIN="$TARGET_DIR/debug/reverie"
[ -x "$REVERIE_BIN" ] || die "no binary at $REVERIE_BIN after cargo build"

step "extension (npm ci, compile, unit tests, package)"
cd "$HERE"
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
npm test --silent
npm run --silent package
VSIX="$HERE/reverie.vsix"
[ -f "$VSIX" ] || die "packaging did not produce $VSIX"

step "code-server"
CODE_SERVER="$("$HERE/test/install-code-server.sh" ${REVERIE_E2E_CODE_SERVER_DIR:+"$REVERIE_E2E_CODE_SERVER_DIR"} | tail -n1)" ||
  die "could not install code-server; run: $HERE/test/install-code-server.sh (needs: sudo apt-get install -y build-essential python3 pkg-config libkrb5-dev ripgrep)"
[ -x "$CODE_SERVER" ] || die "code-server is not at '$CODE_SERVER'; run: $HERE/test/install-code-server.sh"
"$CODE_SERVER" --version | head -n1

step "drive VS Code"
export REVERIE_BIN VSIX CODE_SERVER CHROMIUM
timeout --kill-after=10 300 node "$HERE/test/e2e.js"
