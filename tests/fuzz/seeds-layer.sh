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
# Scripts of entries (see fuzz-layer.c), layers separated by "---".
s() { printf '#layers\n%s\n' "$2" >"$out/script-$1"; }
s wh-then-dir 'd0d
f2d/old
---
f2.wh.d
d1d
f2d/new'
s wh-absent 'f2x
---
d0fresh
f2fresh/.wh.nothing
f2missing/.wh.thing'
s opaque-root 'f2a
---
f2.wh..wh..opq
f2b
---
f2c'
s symlink-lower 'd0usr
d0usr/bin
l0bin>usr/bin
---
f2bin/foo
l0l>bin
f2l/x'
s hardlinks 'f2x
---
f2y
h2hy>y
h2hx>x
l0s>y
h2hs>s'
s implicit-meta 'd3tmp
d1opt
---
f2tmp/x
f2opt/y/z'
s devices 'c2dev/null
p2dev/fifo
---
f2dev/.wh.null'
