#!/usr/bin/env bash
# Fetch every project of the natural-language question set into DIR/<project>/ (pinned releases from
# PyPI, crates.io, npm and Debian; each project's own fetch.sh says how). Re-running skips what is there.
# Usage: tests/questions/fetch-workspaces.sh [DIR]   (default ~/.cache/reverie-questions)
# Then:  reverie eval --questions tests/questions --workspaces DIR
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
dir="${1:-$HOME/.cache/reverie-questions}"
mkdir -p "$dir"
failed=0
for script in "$here"/*/fetch.sh; do
  project="$(basename "$(dirname "$script")")"
  if ! bash "$script" "$dir"; then
    echo "fetch-workspaces: $project failed (see above)" >&2
    failed=1
  fi
done
exit "$failed"
