#!/bin/sh
# Seeds for fuzz-image-docs: a byte picking the media type the document
# comes with (0 none, 3 OCI manifest, 4 OCI index, ...), then the document.
set -eu
out=${1:?usage: seeds-image-docs.sh OUTDIR}
mkdir -p "$out"
D=sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a
CFG="{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"$D\",\"size\":2}"
LAYER="{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"$D\",\"size\":3}"
seed() { printf "\\$(printf %03o "$2")%s" "$3" >"$out/$1"; }
seed manifest 3 "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"config\":$CFG,\"layers\":[$LAYER,$LAYER]}"
seed manifest-bare 0 "{\"schemaVersion\":2,\"config\":$CFG,\"layers\":[$LAYER]}"
seed index 4 "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.index.v1+json\",\"manifests\":[{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"$D\",\"size\":7,\"platform\":{\"os\":\"linux\",\"architecture\":\"amd64\"}},{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"$D\",\"size\":7,\"platform\":{\"os\":\"linux\",\"architecture\":\"arm\",\"variant\":\"v7\"}}]}"
seed both 3 "{\"schemaVersion\":2,\"config\":$CFG,\"layers\":[],\"manifests\":[]}"
seed docker-list 6 "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.docker.distribution.manifest.list.v2+json\",\"manifests\":[]}"
seed config 2 "{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{\"Env\":[\"A=1\"],\"Cmd\":[\"sh\"],\"User\":\"1:1\"},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}"
seed schema1 1 "{\"schemaVersion\":1,\"fsLayers\":[]}"
