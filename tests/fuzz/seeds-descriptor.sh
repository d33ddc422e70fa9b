#!/bin/sh
# Seeds for fuzz-descriptor: descriptors as the tools pass them on, and the
# inputs that found bugs before (kept so that every run tries them again).
# Usage: tests/fuzz/seeds-descriptor.sh OUTDIR
set -eu
out=${1:?usage: seeds-descriptor.sh OUTDIR}
mkdir -p "$out"

# A descriptor after ctrk-pull, ctrk-snap and ctrk-mount.
printf '%s' '{"version":1,"image":{"ref":"a","config":{"User":"nobody","Env":["A=1"],"Cmd":["sh"]}},"snapshot":{"key":"c1"},"mounts":[{"type":"overlay","source":"overlay","target":"/","options":["ro"]}],"rootfs":"/run/ctrk/c1/rootfs"}' \
	>"$out/descriptor.json"
# An integer out of long long's range: its conversion was undefined
# (commit 3348eed, test-json).
printf '%s' '{"version":7777777777777777777777777777777777777777777777777777777777777777777777777777777777777777777777777771,"image":{"ref":"a","config":{"User":"nobody","Env":["A=h"]}},"soktfs":"/run/ctrrootfs"}' \
	>"$out/int-out-of-range.json"
# A full one, every field a tool owns, pretty-printed.
cat >"$out/full.json" <<'JSON'
{
  "version": 1,
  "image": {
    "ref": "docker.io/library/busybox:latest",
    "name": "docker.io/library/busybox",
    "tag": "latest",
    "digest": "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
    "mediaType": "application/vnd.oci.image.manifest.v1+json",
    "size": 528,
    "platform": {"os": "linux", "architecture": "amd64"},
    "root": "/var/lib/ctrk",
    "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": "sha256:1111111111111111111111111111111111111111111111111111111111111111", "size": 2153}],
    "diffIds": ["sha256:2222222222222222222222222222222222222222222222222222222222222222"],
    "config": {"Env": ["PATH=/bin"], "Entrypoint": ["/bin/sh", "-c"], "Cmd": ["echo hi"], "WorkingDir": "/tmp", "User": "1000:1000", "Volumes": {"/data": {}}, "ExposedPorts": {"80/tcp": {}}, "Labels": {"a": "b"}, "StopSignal": "SIGTERM"}
  },
  "snapshot": {"key": "c1", "driver": "overlay"},
  "mounts": [
    {"type": "overlay", "source": "overlay", "target": "/", "options": ["lowerdir=/a:/b", "upperdir=/u", "workdir=/w"]},
    {"type": "bind", "source": "/srv", "target": "/srv", "options": ["rbind", "ro"]}
  ],
  "rootfs": "/run/ctrk/c1/rootfs",
  "netns": "/run/netns/c1",
  "container": {"id": "c1", "runtime": "runc"}
}
JSON
# What the strict reading refuses: an escaped NUL, a key twice, invalid
# UTF-8, deep nesting.
printf '%s' '{"version":1,"image":{"ref":"a\u0000b"}}' >"$out/nul.json"
printf '%s' '{"version":1,"rootfs":"/a","rootfs":"/b"}' >"$out/dup.json"
printf '{"version":1,"rootfs":"/\377\376"}' >"$out/utf8.json"
python3 -c 'import sys; sys.stdout.write("[" * 1001 + "]" * 1001)' >"$out/deep.json"
