#!/usr/bin/env bash
# make demo: a local registry, a small image in it, pulled with ctrk-pull.
set -euo pipefail

bin=${CTRK_BUILD:?}/bin
top=$(cd "$(dirname "$0")/.." && pwd)
demo=${CTRK_DEMO_DIR:-/tmp/ctrk-demo}
export CTRK_ROOT=$demo/root
registry_pid=

cleanup() {
	local rc=$?
	if [ -n "$registry_pid" ]; then
		kill "$registry_pid" 2>/dev/null || true
		wait "$registry_pid" 2>/dev/null || true
	fi
	exit "$rc"
}
trap cleanup EXIT

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

free_port() {
	/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

rm -rf "$demo"
mkdir -p "$demo/registry"
port=$(free_port)
cat >"$demo/registry.yml" <<YML
version: 0.1
log: {level: error}
storage: {filesystem: {rootdirectory: $demo/registry}}
http: {addr: 127.0.0.1:$port}
YML

step "starting a local registry on 127.0.0.1:$port"
docker-registry serve "$demo/registry.yml" >"$demo/registry.log" 2>&1 &
registry_pid=$!
for _ in $(seq 50); do
	curl -fs "http://127.0.0.1:$port/v2/" >/dev/null && break
	sleep 0.1
done

step "building a small busybox image and pushing it with skopeo"
bash "$top/tests/fixtures/mkimages.sh" "$demo/images" >/dev/null
skopeo copy -q --dest-tls-verify=false "oci:$demo/images:single" "docker://127.0.0.1:$port/demo/busybox:latest"

step "ctrk-pull 127.0.0.1:$port/demo/busybox"
"$bin/ctrk-pull" "127.0.0.1:$port/demo/busybox" | tee "$demo/descriptor.json" | jq .

step "the store at $CTRK_ROOT/content (an OCI image layout)"
umoci ls --layout "$CTRK_ROOT/content"
skopeo inspect "oci:$CTRK_ROOT/content:127.0.0.1:$port/demo/busybox:latest" | jq '{Digest, Architecture, Os, Layers}'
find "$CTRK_ROOT/content" -type f | sort
