#!/usr/bin/env bash
# Fetch the jinja2 3.1.4 sdist from PyPI and unpack it into DIR/jinja2/ (the workspace root the
# questions' gold paths are relative to). Idempotent: an existing complete unpack is kept.
set -euo pipefail

if [ "$#" -ne 1 ]; then
    echo "usage: $0 DIR" >&2
    exit 2
fi
NAME=jinja2
VERSION=3.1.4
DEST="$1/$NAME"
STAMP="$DEST/.reverie-fetched-$NAME-$VERSION"
[ -f "$STAMP" ] && exit 0

command -v pip >/dev/null 2>&1 || { echo "fetch.sh: pip is required to download $NAME==$VERSION from PyPI" >&2; exit 1; }
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
if ! pip download -q --no-deps --no-binary :all: "$NAME==$VERSION" -d "$TMP" >"$TMP/pip.log" 2>&1; then
    cat "$TMP/pip.log" >&2
    echo "fetch.sh: could not download $NAME==$VERSION from PyPI" >&2
    exit 1
fi
SDIST="$TMP/$NAME-$VERSION.tar.gz"
[ -f "$SDIST" ] || { echo "fetch.sh: expected $SDIST after pip download" >&2; exit 1; }
rm -rf "$DEST"
mkdir -p "$DEST"
tar xzf "$SDIST" -C "$DEST" --strip-components=1
touch "$STAMP"
