#!/usr/bin/env bash
# Fetch the serde_json 1.0.154 crate from crates.io (through cargo: a throwaway package that depends on
# exactly that version, then `cargo vendor`) and copy its sources into DIR/serde_json/ (the workspace
# root the questions' gold paths are relative to). Idempotent: an existing complete copy is kept.
set -euo pipefail

if [ "$#" -ne 1 ]; then
    echo "usage: $0 DIR" >&2
    exit 2
fi
NAME=serde_json
VERSION=1.0.154
DEST="$1/$NAME"
STAMP="$DEST/.reverie-fetched-$NAME-$VERSION"
[ -f "$STAMP" ] && exit 0

command -v cargo >/dev/null 2>&1 || { echo "fetch.sh: cargo is required to fetch $NAME $VERSION from crates.io" >&2; exit 1; }
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
mkdir -p "$TMP/pkg/src"
cat >"$TMP/pkg/Cargo.toml" <<TOML
[package]
name = "reverie-qset-fetch"
version = "0.0.0"
edition = "2021"
publish = false

[dependencies]
$NAME = "=$VERSION"
TOML
: >"$TMP/pkg/src/lib.rs"
if ! (cd "$TMP/pkg" && cargo vendor --versioned-dirs "$TMP/vendor") >"$TMP/cargo.log" 2>&1; then
    cat "$TMP/cargo.log" >&2
    echo "fetch.sh: cargo vendor could not fetch $NAME $VERSION from crates.io" >&2
    exit 1
fi
SRC="$TMP/vendor/$NAME-$VERSION"
[ -f "$SRC/Cargo.toml" ] || { echo "fetch.sh: $SRC missing after cargo vendor" >&2; exit 1; }
rm -rf "$DEST"
mkdir -p "$DEST"
cp -R "$SRC/." "$DEST/"
touch "$STAMP"
