#!/usr/bin/env bash
# Fetch cereal 1.3.2 (the header-only C++ serialization library) from Debian's libcereal-dev package
# and unpack it into DIR/cereal/ (the workspace root the questions' gold paths are relative to):
#   include/cereal/...  the library headers (usr/include/cereal in the package)
#   tests/...           the upstream unit tests the package ships as documentation
#                       (usr/share/doc/libcereal-dev/tests, where Debian gzips the larger files;
#                       they are gunzipped back to their original names)
# The .deb's sha256 is pinned, so the gold lines stay right. Idempotent: an existing complete unpack is
# kept. Needs apt-get (with its package lists fetched by `apt-get update`), dpkg-deb and gzip.
set -euo pipefail

if [ "$#" -ne 1 ]; then
    echo "usage: $0 DIR" >&2
    exit 2
fi
NAME=cereal
PACKAGE=libcereal-dev
VERSION=1.3.2+dfsg-4
SHA256=a31814cd89642ed86147d674c28e68869764fb1fb8747db98e5fee050d50631e
DEST="$1/$NAME"
STAMP="$DEST/.reverie-fetched-$NAME-$VERSION"
[ -f "$STAMP" ] && exit 0

for tool in apt-get dpkg-deb gzip sha256sum; do
    command -v "$tool" >/dev/null 2>&1 || { echo "fetch.sh: $tool is required to fetch $PACKAGE" >&2; exit 1; }
done
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
# apt-get download as root warns on stderr that it runs unsandboxed; a world-writable folder avoids that.
chmod 0777 "$TMP"
if ! (cd "$TMP" && apt-get download "$PACKAGE=$VERSION") >"$TMP/apt.log" 2>&1; then
    cat "$TMP/apt.log" >&2
    echo "fetch.sh: could not download $PACKAGE=$VERSION (run 'apt-get update' first?)" >&2
    exit 1
fi
DEB="$(ls "$TMP"/*.deb)"
GOT="$(sha256sum "$DEB" | cut -d' ' -f1)"
[ "$GOT" = "$SHA256" ] || { echo "fetch.sh: $(basename "$DEB") has sha256 $GOT, expected $SHA256" >&2; exit 1; }
dpkg-deb -x "$DEB" "$TMP/root"
[ -d "$TMP/root/usr/include/cereal" ] || { echo "fetch.sh: $PACKAGE has no usr/include/cereal" >&2; exit 1; }
find "$TMP/root/usr/share/doc/$PACKAGE/tests" -name '*.gz' -exec gzip -d {} +
rm -rf "$DEST"
mkdir -p "$DEST/include"
mv "$TMP/root/usr/include/cereal" "$DEST/include/cereal"
mv "$TMP/root/usr/share/doc/$PACKAGE/tests" "$DEST/tests"
touch "$STAMP"
