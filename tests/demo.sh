#!/usr/bin/env bash
# make demo: a local registry, a small image in it, pulled with ctrk-pull,
# turned into a snapshot, mounted and run; it ends with a container running.
set -euo pipefail

bin=${CTRK_BUILD:?}/bin
top=$(cd "$(dirname "$0")/.." && pwd)
demo=${CTRK_DEMO_DIR:-/tmp/ctrk-demo}
export CTRK_ROOT=$demo/root CTRK_RUN=$demo/run
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

# What an earlier demo left running goes first.
if [ -d "$demo/run" ]; then
	for id in $("$bin/ctrk-run" list -q 2>/dev/null); do
		"$bin/ctrk-run" delete --force "$id" >/dev/null || true
	done
	for m in $(findmnt -rn -o TARGET | grep "^$demo/" | sort -r); do
		umount "$m" || umount -l "$m"
	done
fi
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

ref=127.0.0.1:$port/demo/busybox
step "ctrk-snap prepare --volatile --image $ref hello | ctrk-mount | ctrk-run run --rm hello -- ..."
"$bin/ctrk-snap" prepare --volatile --image "$ref" hello </dev/null | "$bin/ctrk-mount" >"$demo/hello.json"
"$bin/ctrk-run" run --rm hello -- sh -c 'echo "hello from $(hostname), pid $$, as $(id -un)"; ls /' \
	<"$demo/hello.json"
step "teardown: ctrk-mount --unmount | ctrk-snap remove (each takes away what it added)"
"$bin/ctrk-mount" --unmount <"$demo/hello.json" | "$bin/ctrk-snap" remove | jq -c 'keys'

step "a detached container: ctrk-run run -d web"
"$bin/ctrk-snap" prepare --image "$ref" web </dev/null | "$bin/ctrk-mount" |
	"$bin/ctrk-run" run -d web -- sh -c 'while :; do date; sleep 5; done' | jq .container
"$bin/ctrk-run" list
"$bin/ctrk-run" exec web ps
sleep 1
"$bin/ctrk-run" logs web

cat <<EOF

The container 'web' is running.  Try:
    export CTRK_ROOT=$CTRK_ROOT CTRK_RUN=$CTRK_RUN PATH=$bin:\$PATH
    ctrk-run exec -t web sh
    ctrk-run logs -f web
and to take it down, one pipeline (each tool takes away what it added):
    ctrk-run delete --force web | ctrk-mount --unmount | ctrk-snap remove
EOF
