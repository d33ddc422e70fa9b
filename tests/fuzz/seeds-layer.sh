#!/bin/sh
# Seeds for tests/fuzz/fuzz-layer.c: the layer corpus of
# tests/fixtures/hostile-layers.py (hostile, benign, whiteout layers), its
# absolute paths aimed at the harness's canary directory, plus a gzip and a
# zstd copy of the benign layer.
#   seeds-layer.sh OUTDIR
set -eu
out=${1:?usage: seeds-layer.sh OUTDIR}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$out"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/seeds-layer.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
/usr/bin/python3 "$here/../fixtures/hostile-layers.py" "$tmp" /tmp/ctrk-fuzz-layer-outside
# The 100 MiB sparse file of benign.tar is kept: it is a few KiB of tar.
for f in "$tmp"/*.tar; do
	cp "$f" "$out/layer-$(basename "$f")"
done
gzip -n -c "$tmp/benign.tar" >"$out/layer-benign.tar.gz"
if command -v zstd >/dev/null; then
	zstd -q -c "$tmp/benign.tar" >"$out/layer-benign.tar.zst"
fi
