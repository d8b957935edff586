#!/usr/bin/env bash
# Fetch the java.util.zip and java.util.jar sources of OpenJDK 17 from Debian's openjdk-17-source
# package and unpack them into DIR/openjdk17-zip/ (the workspace root the questions' gold paths are
# relative to: java/util/zip/*.java, java/util/jar/*.java).
#
# Debian replaces openjdk-17-source with every security update, so a version number alone does not
# stay fetchable. What is pinned is the content: the sha256 over the 36 files (sorted by path,
# `sha256sum` of each, then `sha256sum` of that listing). The pinned package version is tried first,
# then any other version apt offers; the first whose sources hash to the pin is used. If none does, the
# gold lines may have moved: re-check them against the new sources and update VERSION and CONTENT_SHA256.
# Idempotent: an existing complete unpack is kept. Needs apt-get (with its package lists fetched by
# `apt-get update`), dpkg-deb and unzip.
set -euo pipefail

if [ "$#" -ne 1 ]; then
    echo "usage: $0 DIR" >&2
    exit 2
fi
NAME=openjdk17-zip
PACKAGE=openjdk-17-source
VERSION=17.0.21.1+2-1~deb12u1
CONTENT_SHA256=48114c4ce962cea8a408347cf4d2e6e2ee6eeec09165b22192ed0c7bd9d14e04
DEST="$1/$NAME"
STAMP="$DEST/.reverie-fetched-$NAME-$CONTENT_SHA256"
[ -f "$STAMP" ] && exit 0

for tool in apt-get apt-cache dpkg-deb unzip sha256sum; do
    command -v "$tool" >/dev/null 2>&1 || { echo "fetch.sh: $tool is required to fetch $PACKAGE" >&2; exit 1; }
done
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
# apt-get download as root warns on stderr that it runs unsandboxed; a world-writable folder avoids that.
chmod 0777 "$TMP"

# The pinned version first, then whatever else apt offers (newest first), each tried once.
CANDIDATES="$VERSION $(apt-cache madison "$PACKAGE" 2>/dev/null | awk -F'|' '{gsub(/ /, "", $2); print $2}')"
TRIED=""
for v in $CANDIDATES; do
    case " $TRIED " in *" $v "*) continue ;; esac
    TRIED="$TRIED $v"
    WORK="$TMP/try"
    rm -rf "$WORK"
    mkdir -p "$WORK/src"
    chmod 0777 "$WORK"
    if ! (cd "$WORK" && apt-get download "$PACKAGE=$v") >"$TMP/apt.log" 2>&1; then
        continue
    fi
    DEB="$(ls "$WORK"/*.deb)"
    if ! dpkg-deb --fsys-tarfile "$DEB" | tar x -C "$WORK" ./usr/lib/jvm/openjdk-17/lib/src.zip; then
        echo "fetch.sh: $DEB has no usr/lib/jvm/openjdk-17/lib/src.zip" >&2
        exit 1
    fi
    if ! unzip -q "$WORK/usr/lib/jvm/openjdk-17/lib/src.zip" 'java.base/java/util/zip/*' 'java.base/java/util/jar/*' -d "$WORK/src"; then
        echo "fetch.sh: could not unpack java.util.zip and java.util.jar from $PACKAGE=$v" >&2
        exit 1
    fi
    GOT="$(cd "$WORK/src/java.base" && find java -type f | LC_ALL=C sort | xargs sha256sum | sha256sum | cut -d' ' -f1)"
    if [ "$GOT" = "$CONTENT_SHA256" ]; then
        rm -rf "$DEST"
        mkdir -p "$DEST"
        mv "$WORK/src/java.base/java" "$DEST/java"
        touch "$STAMP"
        exit 0
    fi
done
if [ "$TRIED" = " $VERSION" ]; then
    cat "$TMP/apt.log" >&2
    echo "fetch.sh: could not download $PACKAGE=$VERSION and apt offers no other version (run 'apt-get update' first?)" >&2
else
    echo "fetch.sh: none of the $PACKAGE versions apt offers ($TRIED ) has the pinned java.util.zip/java.util.jar sources (sha256 $CONTENT_SHA256); re-check the gold lines against a newer version and update VERSION and CONTENT_SHA256" >&2
fi
exit 1
