#!/usr/bin/env bash
# Fetch mobx 6.13.5 from the npm registry and unpack it into DIR/mobx/ (the workspace root the
# questions' gold paths are relative to: src/, package.json, ...). The tarball's sha256 is pinned, so
# the gold lines stay right. The package's dist/ folder (bundles built from src/ and generated .d.ts
# files) is left out: a developer's checkout does not have it, and its copies of every definition would
# compete with the real ones. Idempotent: an existing complete unpack is kept.
set -euo pipefail

if [ "$#" -ne 1 ]; then
    echo "usage: $0 DIR" >&2
    exit 2
fi
NAME=mobx
VERSION=6.13.5
SHA256=b85a7f765065c081724a7c49e91f59950151607b2f1c5a77c8ec4231f7129a1b
DEST="$1/$NAME"
STAMP="$DEST/.reverie-fetched-$NAME-$VERSION"
[ -f "$STAMP" ] && exit 0

command -v npm >/dev/null 2>&1 || { echo "fetch.sh: npm is required to download $NAME@$VERSION" >&2; exit 1; }
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
if ! (cd "$TMP" && npm pack --silent "$NAME@$VERSION") >"$TMP/npm.log" 2>&1; then
    cat "$TMP/npm.log" >&2
    echo "fetch.sh: could not download $NAME@$VERSION from the npm registry" >&2
    exit 1
fi
TARBALL="$TMP/$NAME-$VERSION.tgz"
[ -f "$TARBALL" ] || { echo "fetch.sh: expected $TARBALL after npm pack" >&2; exit 1; }
GOT="$(sha256sum "$TARBALL" | cut -d' ' -f1)"
[ "$GOT" = "$SHA256" ] || { echo "fetch.sh: $NAME-$VERSION.tgz has sha256 $GOT, expected $SHA256" >&2; exit 1; }
rm -rf "$DEST"
mkdir -p "$DEST"
tar xzf "$TARBALL" -C "$DEST" --strip-components=1 --exclude=package/dist
touch "$STAMP"
