#!/usr/bin/env bash
# Fetch the Brotli 1.1.0 sdist from PyPI (it bundles the C library sources under c/) and unpack it into
# DIR/brotli/ (the workspace root the questions' gold paths are relative to). Idempotent: an existing
# complete unpack is kept.
set -euo pipefail

if [ "$#" -ne 1 ]; then
    echo "usage: $0 DIR" >&2
    exit 2
fi
NAME=brotli
SDIST_NAME=Brotli
VERSION=1.1.0
DEST="$1/$NAME"
STAMP="$DEST/.reverie-fetched-$NAME-$VERSION"
[ -f "$STAMP" ] && exit 0

command -v pip >/dev/null 2>&1 || { echo "fetch.sh: pip is required to download $NAME==$VERSION from PyPI" >&2; exit 1; }
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
if ! pip download -q --no-deps --no-binary :all: "$SDIST_NAME==$VERSION" -d "$TMP" >"$TMP/pip.log" 2>&1; then
    cat "$TMP/pip.log" >&2
    echo "fetch.sh: could not download $NAME==$VERSION from PyPI" >&2
    exit 1
fi
SDIST="$TMP/$SDIST_NAME-$VERSION.tar.gz"
[ -f "$SDIST" ] || { echo "fetch.sh: expected $SDIST after pip download" >&2; exit 1; }
rm -rf "$DEST"
mkdir -p "$DEST"
tar xzf "$SDIST" -C "$DEST" --strip-components=1
touch "$STAMP"
