#!/usr/bin/env bash
# Fetch cobra 1.6.1 (Debian package golang-github-spf13-cobra-dev 1.6.1-1, which ships the Go sources)
# with apt-get download, and unpack the module's sources into DIR/cobra/ (the workspace root the
# questions' gold paths are relative to). Idempotent: an existing complete unpack is kept.
set -euo pipefail

if [ "$#" -ne 1 ]; then
    echo "usage: $0 DIR" >&2
    exit 2
fi
NAME=cobra
PKG=golang-github-spf13-cobra-dev
VERSION=1.6.1-1
SUBDIR=usr/share/gocode/src/github.com/spf13/cobra
DEST="$1/$NAME"
STAMP="$DEST/.reverie-fetched-$PKG-$VERSION"
[ -f "$STAMP" ] && exit 0

for tool in apt-get dpkg-deb; do
    command -v "$tool" >/dev/null 2>&1 || { echo "fetch.sh: $tool is required to fetch $PKG=$VERSION" >&2; exit 1; }
done
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
# apt-get download writes into the current directory; the _apt sandbox user may not be able to, which
# apt only warns about, so the log is shown only on failure.
if ! (cd "$TMP" && apt-get download "$PKG=$VERSION") >"$TMP/apt.log" 2>&1; then
    cat "$TMP/apt.log" >&2
    echo "fetch.sh: could not download $PKG=$VERSION (run 'apt-get update' first if the package is unknown)" >&2
    exit 1
fi
DEB="$(ls "$TMP"/"$PKG"_*.deb 2>/dev/null | head -n1)"
[ -n "$DEB" ] || { echo "fetch.sh: no .deb for $PKG after apt-get download" >&2; exit 1; }
dpkg-deb -x "$DEB" "$TMP/x"
[ -d "$TMP/x/$SUBDIR" ] || { echo "fetch.sh: $SUBDIR missing in $DEB" >&2; exit 1; }
rm -rf "$DEST"
mkdir -p "$DEST"
cp -R "$TMP/x/$SUBDIR/." "$DEST/"
touch "$STAMP"
