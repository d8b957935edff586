#!/usr/bin/env bash
# Installs code-server 4.100.3 (real VS Code; the last release that runs on Node 20) into DIR (default:
# $XDG_CACHE_HOME/reverie-vscode-e2e/code-server-4.100.3) from the npm registry and Debian packages only.
#
# A plain `npm install code-server` fails here three ways, each handled below: kerberos needs
# libkrb5-dev; @vscode/ripgrep's postinstall downloads rg from GitHub (we link Debian's rg instead);
# node-pty's build runs `npx node-gyp` (npm_config_yes). Takes ~80 s and ~300 MB, once.
#
# Usage: test/install-code-server.sh [DIR]   — prints the code-server path on the last line.
set -euo pipefail

VERSION=4.100.3
DIR=${1:-${XDG_CACHE_HOME:-$HOME/.cache}/reverie-vscode-e2e/code-server-$VERSION}
BIN="$DIR/node_modules/.bin/code-server"

if [ -x "$BIN" ] && "$BIN" --version >/dev/null 2>&1; then
  echo "$BIN"
  exit 0
fi

APT_PACKAGES=(build-essential python3 pkg-config libkrb5-dev ripgrep)
missing=()
for p in "${APT_PACKAGES[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if ((${#missing[@]})); then
  if [ "$(id -u)" -eq 0 ]; then SUDO=(); else SUDO=(sudo); fi
  echo "installing Debian packages: ${missing[*]}" >&2
  if ! { "${SUDO[@]}" apt-get update -qq && DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -qq "${missing[@]}"; } >&2; then
    echo "error: could not install ${missing[*]}; run: sudo apt-get install -y ${APT_PACKAGES[*]}" >&2
    exit 1
  fi
fi
command -v npm >/dev/null || { echo "error: npm is missing; run: sudo apt-get install -y nodejs npm (Node 20)" >&2; exit 1; }

echo "installing code-server $VERSION into $DIR (once; ~80 s)" >&2
mkdir -p "$DIR"
cd "$DIR"
set +e
(
  set -euo pipefail
  [ -f package.json ] || npm init -y >/dev/null
  export npm_config_yes=true npm_config_audit=false npm_config_fund=false npm_config_update_notifier=false
  npm install --unsafe-perm --ignore-scripts "code-server@$VERSION"
  npm rebuild argon2                  # its prebuilt download fails here, so it builds from source
  cd node_modules/code-server/lib/vscode
  npm install --unsafe-perm --omit=dev --ignore-scripts
  # @vscode/ripgrep's postinstall downloads rg from GitHub; it does nothing when bin/ exists.
  mkdir -p node_modules/@vscode/ripgrep/bin
  ln -sf "$(command -v rg)" node_modules/@vscode/ripgrep/bin/rg
  npm rebuild --unsafe-perm           # kerberos, node-pty, spdlog, native-watchdog, ... via node-gyp
  # The rest of code-server's postinstall.sh.
  ln -sfn node_modules node_modules.asar
  (cd bin/remote-cli && ln -sf code-linux.sh code-server)
  (cd bin/helpers && ln -sf browser-linux.sh browser.sh)
  (cd extensions && npm install --unsafe-perm --omit=dev)
) >"$DIR/install.log" 2>&1
rc=$?
set -e
if [ "$rc" -ne 0 ] || ! "$BIN" --version >/dev/null 2>&1; then
  echo "error: installing code-server failed; the log is $DIR/install.log (last lines below)" >&2
  tail -n 30 "$DIR/install.log" >&2
  echo "retry with: $0 $DIR" >&2
  exit 1
fi
cd "$DIR"
"$BIN" --version >&2
echo "$BIN"
