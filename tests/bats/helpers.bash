# shellcheck shell=bash
# Helpers for ctrk's bats tests. Load with `load helpers` in every .bats file.
#
# Everything here uses real parts: Debian's docker-registry (distribution 2.8)
# on 127.0.0.1, images built by tests/fixtures/mkimages.sh and pushed with
# skopeo, a token server in tests/fixtures/token-server.py. No mocks.
#
# Set once per suite by setup_suite.bash (read-only for tests):
#   CTRK_FIXTURES             OCI layout with tags single, multi, multiarch
#   CTRK_FIXTURE_OCI_SINGLE   OCI layout holding only `single` (tag single)
#   CTRK_FIXTURE_OCI_ARCHIVE  oci-archive of `single` (tag single)
#   CTRK_FIXTURE_DOCKER_ARCHIVE  docker-archive of `single`, named busybox:latest
#   REGISTRY_SHARED_PORT      the shared plain-HTTP registry; it holds
#   REGISTRY_SHARED_ADDR        127.0.0.1:PORT/test/{single,multi,multiarch}:latest
#   REGISTRY_SHARED_DIR         (multiarch pushed with --all) and
#                               test/docker-v2s2:latest (Docker schema 2)
#   REGISTRY_SHARED_STORAGE   its storage root (docker/registry/v2/...)
#   CTRK_TESTS_DIR            tests/ of the source tree
#
# Set by registry_start NAME MODE (NAME upper-cased, e.g. tls -> TLS):
#   REGISTRY_<NAME>_PORT, REGISTRY_<NAME>_ADDR (127.0.0.1:PORT),
#   REGISTRY_<NAME>_DIR (its work dir), REGISTRY_<NAME>_STORAGE,
#   REGISTRY_<NAME>_PID, REGISTRY_<NAME>_SCHEME (http|https),
#   REGISTRY_<NAME>_CA        (tls modes) CA certificate that signed the server
#   REGISTRY_<NAME>_CERTDIR   (tls modes) a dir holding only ca.crt (--cert-dir)
#   REGISTRY_<NAME>_USER, REGISTRY_<NAME>_PASS   (htpasswd and token modes)
#   REGISTRY_<NAME>_TOKEN_PORT, REGISTRY_<NAME>_TOKEN_LOG,
#   REGISTRY_<NAME>_TOKEN_PID (token mode; the log has one JSON line a request)
#
# Per test (ctrk_setup): CTRK_ROOT, CTRK_RUN, HOME under $BATS_TEST_TMPDIR.
#
# Every process a helper starts is recorded in the current scope's pid list
# (test, file or suite tmp dir); ctrk_teardown / ctrk_teardown_file /
# ctrk_kill_scope kill them by PID and wait for them, also after a failure.

bats_require_minimum_version 1.5.0

load /usr/lib/bats/bats-support/load.bash
load /usr/lib/bats/bats-assert/load.bash

# Debian's python3, not whatever python3 is first on PATH.
PYTHON=/usr/bin/python3
CTRK_TESTS_DIR=${CTRK_TESTS_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
export CTRK_TESTS_DIR

REGISTRY_BIN=${REGISTRY_BIN:-/usr/bin/docker-registry}
TEST_USER=ctrkuser
TEST_PASS='s3cret-Pa55word'

# --- per test -------------------------------------------------------------

# ctrk_setup: a private root, run dir and HOME for this test; no credentials
# or runtime dirs from the real environment leak in.
ctrk_setup() {
	export CTRK_ROOT="$BATS_TEST_TMPDIR/root"
	export CTRK_RUN="$BATS_TEST_TMPDIR/run"
	export HOME="$BATS_TEST_TMPDIR/home"
	mkdir -p "$HOME"
	unset DOCKER_CONFIG REGISTRY_AUTH_FILE XDG_RUNTIME_DIR
	unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY ALL_PROXY all_proxy no_proxy NO_PROXY
}

ctrk_teardown() {
	ctrk_kill_scope "$BATS_TEST_TMPDIR"
}

ctrk_teardown_file() {
	ctrk_kill_scope "$BATS_FILE_TMPDIR"
}

# _scope_dir: where processes and files started now belong.
_scope_dir() {
	if [[ -n "${BATS_TEST_TMPDIR:-}" && -d "${BATS_TEST_TMPDIR:-}" ]]; then
		echo "$BATS_TEST_TMPDIR"
	elif [[ -n "${BATS_FILE_TMPDIR:-}" && -d "${BATS_FILE_TMPDIR:-}" ]]; then
		echo "$BATS_FILE_TMPDIR"
	else
		echo "$BATS_SUITE_TMPDIR"
	fi
}

# track_pid PID: kill PID when the current scope ends.
track_pid() {
	echo "$1" >>"$(_scope_dir)/.ctrk-pids"
}

# kill_pid PID: TERM, wait up to 5 s, then KILL; reaps it if it is our child.
kill_pid() {
	local pid=$1 i
	kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; return 0; }
	kill -TERM "$pid" 2>/dev/null
	for ((i = 0; i < 50; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	return 0
}

# ctrk_kill_scope DIR: kills every process recorded under DIR.
ctrk_kill_scope() {
	local f="$1/.ctrk-pids" pid
	[[ -f $f ]] || return 0
	while read -r pid; do
		[[ -n $pid ]] && kill_pid "$pid"
	done <"$f"
	rm -f "$f"
}

# free_port: a TCP port on 127.0.0.1 nobody listens on right now.
free_port() {
	"$PYTHON" -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()'
}

# host_platform: the platform ctrk-pull should pick by default (os/arch[/variant]).
host_platform() {
	case "$(uname -m)" in
	x86_64) echo linux/amd64 ;;
	aarch64 | arm64) echo linux/arm64/v8 ;;
	armv7l) echo linux/arm/v7 ;;
	*) echo "linux/$(uname -m)" ;;
	esac
}

# --- certificates ---------------------------------------------------------

# make_ca DIR: DIR/ca.crt, DIR/ca.key (EC P-256, CA:TRUE).
make_ca() {
	local d=$1
	mkdir -p "$d"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
		-keyout "$d/ca.key" -out "$d/ca.crt" -days 2 -subj "/CN=ctrk test CA" \
		-addext "basicConstraints=critical,CA:TRUE" \
		-addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
}

# make_cert DIR NAME CN EXT: DIR/NAME.crt + .key signed by DIR/ca.*.
make_cert() {
	local d=$1 name=$2 cn=$3 ext=$4
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
		-keyout "$d/$name.key" -out "$d/$name.csr" -subj "/CN=$cn" 2>/dev/null
	printf '%s\n' "$ext" >"$d/$name.ext"
	openssl x509 -req -in "$d/$name.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" \
		-CAcreateserial -out "$d/$name.crt" -days 2 -extfile "$d/$name.ext" 2>/dev/null
}

# make_server_cert DIR: server cert for 127.0.0.1 and localhost.
make_server_cert() {
	make_cert "$1" server 127.0.0.1 "subjectAltName=IP:127.0.0.1,DNS:localhost
basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth"
}

# --- registries -----------------------------------------------------------

# _var NAME SUFFIX: prints the variable name REGISTRY_<NAME>_<SUFFIX>.
_var() {
	local n=${1^^}
	n=${n//[^A-Z0-9]/_}
	echo "REGISTRY_${n}_$2"
}

_set() { # _set NAME SUFFIX VALUE: exports REGISTRY_<NAME>_<SUFFIX>=VALUE
	local v
	v=$(_var "$1" "$2")
	printf -v "$v" '%s' "$3"
	export "${v?}"
}

_get() { # _get NAME SUFFIX
	local v
	v=$(_var "$1" "$2")
	echo "${!v:-}"
}

# wait_http URL [CURL ARGS...]: waits up to 15 s until URL answers with any
# HTTP status (a 401 counts: the server is up, it wants credentials).
wait_http() {
	local url=$1 code i
	shift
	for ((i = 0; i < 150; i++)); do
		code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$@" "$url" 2>/dev/null) || code=000
		[[ $code != 000 ]] && return 0
		sleep 0.1
	done
	echo "wait_http: $url did not answer" >&2
	return 1
}

# token_server_start NAME DIR [--anonymous-pull]: starts the token server
# for registry NAME; exports REGISTRY_<NAME>_TOKEN_{PORT,LOG,PID}.
token_server_start() {
	local name=$1 d=$2 anon=${3:-} pid port i
	mkdir -p "$d/token"
	openssl req -x509 -newkey rsa:2048 -nodes -keyout "$d/token/key.pem" \
		-out "$d/token/cert.pem" -days 2 -subj "/CN=ctrk token issuer" 2>/dev/null
	: >"$d/token/requests.log"
	"$PYTHON" "$CTRK_TESTS_DIR/fixtures/token-server.py" \
		--key "$d/token/key.pem" --cert "$d/token/cert.pem" \
		--issuer ctrk-test-issuer --service ctrk-test-registry \
		--user "$TEST_USER" --password "$TEST_PASS" $anon \
		--log "$d/token/requests.log" --port-file "$d/token/port" \
		>"$d/token/server.log" 2>&1 3>&- &
	pid=$!
	track_pid "$pid"
	for ((i = 0; i < 100; i++)); do
		[[ -s $d/token/port ]] && break
		kill -0 "$pid" 2>/dev/null || { cat "$d/token/server.log" >&2; return 1; }
		sleep 0.1
	done
	port=$(cat "$d/token/port")
	wait_http "http://127.0.0.1:$port/token" || return 1
	_set "$name" TOKEN_PORT "$port"
	_set "$name" TOKEN_LOG "$d/token/requests.log"
	_set "$name" TOKEN_PID "$pid"
}

# registry_start NAME [plain|tls|htpasswd|tls-htpasswd|token|token-anon]:
# starts docker-registry on 127.0.0.1 on a free port. token-anon lets
# anonymous clients pull (not push). Exports REGISTRY_<NAME>_*.
# With REGISTRY_ACCESSLOG=1 its log (REGISTRY_<NAME>_DIR/registry.log) has an
# access log line for every request ("GET /v2/... HTTP/1.1" STATUS ...).
registry_start() {
	local name=$1 mode=${2:-plain} d port scheme=http pid tls="" auth="" try
	local accesslog_off=true
	[[ ${REGISTRY_ACCESSLOG:-0} == 1 ]] && accesslog_off=false
	d="$(_scope_dir)/registry-$name"
	mkdir -p "$d/storage"
	_set "$name" DIR "$d"
	_set "$name" STORAGE "$d/storage"
	_set "$name" USER ""
	_set "$name" PASS ""
	_set "$name" CA ""
	_set "$name" CERTDIR ""

	case $mode in
	tls | tls-htpasswd)
		make_ca "$d/pki"
		make_server_cert "$d/pki"
		scheme=https
		_set "$name" CA "$d/pki/ca.crt"
		# A cert dir as in /etc/containers/certs.d/HOST:PORT: only ca.crt.
		mkdir -p "$d/certs.d"
		cp "$d/pki/ca.crt" "$d/certs.d/ca.crt"
		_set "$name" CERTDIR "$d/certs.d"
		tls="  tls:
    certificate: $d/pki/server.crt
    key: $d/pki/server.key"
		;;
	plain | htpasswd | token | token-anon) ;;
	*)
		echo "registry_start: unknown mode '$mode'" >&2
		return 1
		;;
	esac
	case $mode in
	htpasswd | tls-htpasswd)
		htpasswd -Bbn "$TEST_USER" "$TEST_PASS" >"$d/htpasswd"
		_set "$name" USER "$TEST_USER"
		_set "$name" PASS "$TEST_PASS"
		auth="auth:
  htpasswd:
    realm: ctrk-test
    path: $d/htpasswd"
		;;
	token | token-anon)
		local anon=""
		[[ $mode == token-anon ]] && anon=--anonymous-pull
		token_server_start "$name" "$d" $anon || return 1
		_set "$name" USER "$TEST_USER"
		_set "$name" PASS "$TEST_PASS"
		auth="auth:
  token:
    realm: http://127.0.0.1:$(_get "$name" TOKEN_PORT)/token
    service: ctrk-test-registry
    issuer: ctrk-test-issuer
    rootcertbundle: $d/token/cert.pem"
		;;
	esac

	# A free port can be taken between free_port and the bind: retry.
	for try in 1 2 3; do
		port=$(free_port)
		cat >"$d/config.yml" <<-EOF
			version: 0.1
			log:
			  level: error
			  accesslog:
			    disabled: $accesslog_off
			storage:
			  filesystem:
			    rootdirectory: $d/storage
			  delete:
			    enabled: true
			  maintenance:
			    uploadpurging:
			      enabled: false
			http:
			  addr: 127.0.0.1:$port
			  secret: ctrk-test-secret
			$tls
			$auth
		EOF
		# A clean environment: docker-registry reads every REGISTRY_* variable
		# as a config override (REGISTRY_HTTP_ADDR, REGISTRY_AUTH...).
		env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin "$REGISTRY_BIN" serve "$d/config.yml" \
			>"$d/registry.log" 2>&1 3>&- &
		pid=$!
		track_pid "$pid"
		local cacert=()
		[[ $scheme == https ]] && cacert=(--cacert "$d/pki/ca.crt")
		if wait_http "$scheme://127.0.0.1:$port/v2/" "${cacert[@]}"; then
			break
		fi
		kill_pid "$pid"
		pid=""
	done
	if [[ -z $pid ]]; then
		echo "registry_start: docker-registry did not start:" >&2
		cat "$d/registry.log" >&2
		return 1
	fi
	echo "$pid" >"$d/pid"
	_set "$name" PORT "$port"
	_set "$name" ADDR "127.0.0.1:$port"
	_set "$name" PID "$pid"
	_set "$name" SCHEME "$scheme"
}

# registry_stop NAME: stops it (and its token server) by PID.
registry_stop() {
	local pid
	pid=$(_get "$1" PID)
	[[ -n $pid ]] && kill_pid "$pid"
	pid=$(_get "$1" TOKEN_PID)
	[[ -n $pid ]] && kill_pid "$pid"
	_set "$1" PID ""
	_set "$1" TOKEN_PID ""
}

# registry_push NAME TAG [REPO [SKOPEO ARGS...]]: copies fixture TAG from
# $CTRK_FIXTURES to NAME's registry as REPO:latest (default test/TAG);
# multiarch is copied with --all. PUSH_LAYOUT=DIR pushes from another layout.
registry_push() {
	local name=$1 tag=$2 repo=${3:-test/$2} addr user
	shift 3 2>/dev/null || shift $#
	local args=(--dest-tls-verify=false)
	[[ $tag == multiarch ]] && args+=(--all)
	user=$(_get "$name" USER)
	[[ -n $user ]] && args+=(--dest-creds "$user:$(_get "$name" PASS)")
	addr=$(_get "$name" ADDR)
	skopeo copy -q "${args[@]}" "$@" "oci:${PUSH_LAYOUT:-$CTRK_FIXTURES}:$tag" \
		"docker://$addr/$repo:latest" >/dev/null
}

# registry_blob_path NAME DIGEST: the data file of a blob in NAME's storage.
registry_blob_path() {
	local hex=${2#sha256:}
	echo "$(_get "$1" STORAGE)/docker/registry/v2/blobs/sha256/${hex:0:2}/$hex/data"
}

# --- the store ------------------------------------------------------------

# store_snapshot [ROOT]: a text that changes when a blob or index.json does.
# A missing store and an empty one compare equal.
store_snapshot() {
	local root=${1:-$CTRK_ROOT}
	local c=$root/content
	echo "blobs:"
	if [[ -d $c/blobs/sha256 ]]; then
		(cd "$c/blobs/sha256" && find . -type f -printf '%P\n' | LC_ALL=C sort)
	fi
	echo "index:"
	if [[ -f $c/index.json ]]; then
		jq -cS '.manifests // []' "$c/index.json"
	else
		echo '[]'
	fi
}

# assert_store_unchanged BEFORE: the store is as store_snapshot saw it.
assert_store_unchanged() {
	local now
	now=$(store_snapshot)
	if [[ $now != "$1" ]]; then
		batslib_print_kv_single_or_multi 8 before "$1" after "$now" |
			batslib_decorate "store changed" | fail
	fi
}

# store_verify [ROOT]: every blob's sha256 is its name, no stray files in
# blobs/sha256, and every index.json entry's blob exists.
store_verify() {
	local root=${1:-$CTRK_ROOT} c f n=0 bad=""
	c=$root/content
	[[ -f $c/oci-layout ]] || { echo "no $c/oci-layout" | fail; return 1; }
	jq -e '.imageLayoutVersion == "1.0.0"' "$c/oci-layout" >/dev/null ||
		{ echo "bad oci-layout" | fail; return 1; }
	jq -e '.schemaVersion == 2 and (.manifests | type == "array")' "$c/index.json" >/dev/null ||
		{ echo "bad index.json" | fail; return 1; }
	for f in "$c"/blobs/sha256/*; do
		[[ -e $f ]] || continue
		n=$((n + 1))
		[[ $(sha256sum "$f" | cut -d' ' -f1) == "$(basename "$f")" ]] || bad="$bad $(basename "$f")"
	done
	for f in $(jq -r '.manifests[].digest' "$c/index.json"); do
		[[ -f $c/blobs/sha256/${f#sha256:} ]] || bad="$bad missing:$f"
	done
	[[ -z $bad ]] || { echo "bad blobs:$bad" | fail; return 1; }
	[[ $n -gt 0 ]] || { echo "no blobs in store" | fail; return 1; }
}

# store_blob DIGEST [ROOT]: path of a blob in the store.
store_blob() {
	echo "${2:-$CTRK_ROOT}/content/blobs/sha256/${1#sha256:}"
}

# store_refs [ROOT]: the ref names in index.json, one a line.
store_refs() {
	jq -r '.manifests[].annotations["org.opencontainers.image.ref.name"] // empty' \
		"${1:-$CTRK_ROOT}/content/index.json"
}

# layer_file DIGEST PATH: prints PATH from the (gzip) layer blob DIGEST.
layer_file() {
	tar -xzOf "$(store_blob "$1")" "$2"
}

# --- running ctrk-pull ----------------------------------------------------

# pull [-N|!] ARGS...: runs ctrk-pull with stdout and stderr separate
# ($output and $stderr; stdout also in $DESC). The expected status, if
# given, is checked by run.
pull() {
	local st=()
	if [[ ${1:-} =~ ^-[0-9]+$ || ${1:-} == '!' ]]; then
		st=("$1")
		shift
	fi
	run "${st[@]}" --separate-stderr ctrk-pull "$@"
	DESC=$output
	# Shown by bats only when the test fails.
	printf '# ctrk-pull %s\n# exit %s\n# stderr: %s\n' "$*" "$status" "$stderr"
}

# assert_descriptor: $output is exactly one JSON document with version 1 and
# an image; prints nothing.
assert_descriptor() {
	local n
	n=$(jq -s 'length' <<<"$output" 2>/dev/null) ||
		{ echo "stdout is not JSON: $output" | fail; return 1; }
	[[ $n == 1 ]] || { echo "stdout has $n JSON documents: $output" | fail; return 1; }
	jq -e '.version == 1 and (.image | type == "object")' <<<"$output" >/dev/null ||
		{ echo "not a version 1 descriptor: $output" | fail; return 1; }
}

# jqo FILTER: runs jq -r FILTER on the stdout of the last pull ($DESC, kept
# when later `run`s replace $output).
jqo() {
	jq -r "$@" <<<"$DESC"
}

# assert_error_message: $stderr has a line "ctrk-pull: error: WHAT: WHY".
assert_error_message() {
	if ! grep -qE '^ctrk-pull: error: .+' <<<"$stderr"; then
		echo "stderr has no 'ctrk-pull: error: ...' line: $stderr" | fail
		return 1
	fi
}

# fixture_digest TAG: the manifest (or index) digest of fixture TAG.
fixture_digest() {
	jq -r --arg t "$1" '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] == $t) | .digest' \
		"$CTRK_FIXTURES/index.json"
}

# fixture_blob DIGEST: path of a blob of the fixture layout.
fixture_blob() {
	echo "$CTRK_FIXTURES/blobs/sha256/${1#sha256:}"
}

# fixture_platform_manifest PLATFORM: digest of multiarch's manifest for
# PLATFORM (os/arch[/variant]).
fixture_platform_manifest() {
	local os arch variant
	IFS=/ read -r os arch variant <<<"$1"
	jq -r --arg os "$os" --arg a "$arch" --arg v "${variant:-}" '
		.manifests[] | select(.platform.os == $os and .platform.architecture == $a
		and (($v == "") or (.platform.variant // "") == $v)) | .digest' \
		"$(fixture_blob "$(fixture_digest multiarch)")" | head -1
}

# fake_registry_start NAME MANIFEST_FILE MEDIA_TYPE [BLOBDIR]: starts
# tests/fixtures/fake-registry.py serving that manifest for every
# /v2/*/manifests/* (for what docker-registry refuses to store: schema 1,
# unknown media types). Exports REGISTRY_<NAME>_{PORT,ADDR,PID,LOG}.
fake_registry_start() {
	local name=$1 d pid i
	d="$(_scope_dir)/fake-$name"
	mkdir -p "$d"
	: >"$d/requests.log"
	"$PYTHON" "$CTRK_TESTS_DIR/fixtures/fake-registry.py" --manifest "$2" \
		--media-type "$3" --blobs "${4:-}" --log "$d/requests.log" \
		--port-file "$d/port" >"$d/server.log" 2>&1 3>&- &
	pid=$!
	track_pid "$pid"
	for ((i = 0; i < 100; i++)); do
		[[ -s $d/port ]] && break
		kill -0 "$pid" 2>/dev/null || { cat "$d/server.log" >&2; return 1; }
		sleep 0.1
	done
	wait_http "http://127.0.0.1:$(cat "$d/port")/v2/" || return 1
	_set "$name" PORT "$(cat "$d/port")"
	_set "$name" ADDR "127.0.0.1:$(cat "$d/port")"
	_set "$name" PID "$pid"
	_set "$name" LOG "$d/requests.log"
	_set "$name" SCHEME http
}

# ingest_files [ROOT]: partial downloads left in ROOT/ingest, one a line
# (nothing when the directory is absent).
ingest_files() {
	local d=${1:-$CTRK_ROOT}/ingest
	[[ -d $d ]] || return 0
	find "$d" -type f
}

# proxy_start NAME [fault-proxy options]: tests/fixtures/fault-proxy.py in
# front of $UPSTREAM (default the shared registry); exports
# PROXY_<NAME>_ADDR and PROXY_<NAME>_LOG (its JSON log of requests).
proxy_start() {
	local name=$1 d pid i
	shift
	d="$BATS_TEST_TMPDIR/proxy-$name"
	mkdir -p "$d"
	: >"$d/log"
	"$PYTHON" "$CTRK_TESTS_DIR/fixtures/fault-proxy.py" --upstream "${UPSTREAM:-$REGISTRY_SHARED_ADDR}" \
		--log "$d/log" --port-file "$d/port" "$@" >"$d/out" 2>&1 3>&- &
	pid=$!
	track_pid "$pid"
	for ((i = 0; i < 100; i++)); do
		[[ -s $d/port ]] && break
		sleep 0.1
	done
	[[ -s $d/port ]] || { cat "$d/out" >&2; return 1; }
	printf -v "PROXY_${name^^}_ADDR" '127.0.0.1:%s' "$(cat "$d/port")"
	printf -v "PROXY_${name^^}_LOG" '%s' "$d/log"
}

# --- snapshots and mounts ---------------------------------------------------

# unmount_test_mounts: every mount under this test's tmp dir, deepest first.
unmount_test_mounts() {
	findmnt -rn -o TARGET | grep "^$BATS_TEST_TMPDIR/" | sort -r | while read -r m; do
		umount "$m" || umount -l "$m"
	done
}

# snap_teardown: what ctrk-mount mounted for this test (listed in
# $T/.mounted), by ctrk-mount; then anything still mounted under the
# test's directory, newest first, even after a failure.
snap_teardown() {
	local m
	if [[ -f $T/.mounted ]]; then
		tac "$T/.mounted" | while read -r m; do
			mountpoint -q "$m" && ctrk-mount --unmount "$m"
		done
	fi
	findmnt -rn -o TARGET | grep "^$BATS_TEST_TMPDIR/" | tac | while read -r m; do
		umount "$m" || umount -l "$m"
	done
	ctrk_teardown
}

# snap [-N|!] ARGS...: ctrk-snap with stdin from /dev/null (or $SNAP_IN),
# stdout in $output and $SNAP, stderr in $stderr.  The expected status, if
# given, is checked by run.
snap() {
	local st=()
	if [[ ${1:-} =~ ^-[0-9]+$ || ${1:-} == '!' ]]; then
		st=("$1")
		shift
	fi
	run "${st[@]}" --separate-stderr ctrk-snap "$@" <"${SNAP_IN:-/dev/null}"
	SNAP=$output
	printf '# ctrk-snap %s\n# exit %s\n# stderr: %s\n' "$*" "$status" "$stderr"
}

# jqs FILTER: jq -r on the stdout of the last snap.
jqs() {
	jq -r "$@" <<<"$SNAP"
}

# --- containers -------------------------------------------------------------

# cid NAME: a container id unique to this test (cgroups and the runtimes'
# state are global, so ids must not collide across tests).
cid() {
	echo "ct${BATS_SUITE_TEST_NUMBER:-0}-$1"
}

# container_rootfs KEY [IMAGE_TAG]: pull the fixture image (default single)
# into the test's store, prepare snapshot KEY and mount it at
# $CTRK_RUN/KEY/rootfs; the descriptor is left in $BATS_TEST_TMPDIR/KEY.json.
container_rootfs() {
	local key=$1 tag=${2:-single}
	ctrk-pull -q "oci:$CTRK_FIXTURES:$tag" >/dev/null
	ctrk-snap prepare --image "oci:$CTRK_FIXTURES:$tag" "$key" </dev/null | ctrk-mount \
		>"$BATS_TEST_TMPDIR/$key.json"
}

# cgroup_parent [RUN]: the cgroup parent ctrk-run uses for the state
# directory RUN (default $CTRK_RUN): "ctrk" for /run/ctrk, else "ctrk-" and
# the FNV-1a hash of its canonical path, as ctrk-run(1) says.
cgroup_parent() {
	local s h=2166136261 i c
	s=$(realpath -m "${1:-$CTRK_RUN}")
	[[ $s != /run/ctrk ]] || { echo ctrk; return; }
	for ((i = 0; i < ${#s}; i++)); do
		printf -v c '%d' "'${s:i:1}"
		h=$((((h ^ c) * 16777619) & 0xffffffff))
	done
	printf 'ctrk-%08x\n' "$h"
}

# run_teardown [RUN...]: delete every container of this test (in $CTRK_RUN
# and each RUN), unmount its rootfs, and fail when a runtime state, a cgroup
# or a process of it is left.
run_teardown() {
	local id run leftovers="" parent
	for run in "$CTRK_RUN" "$@"; do
		for id in $(CTRK_RUN=$run ctrk-run list -q 2>/dev/null); do
			CTRK_RUN=$run ctrk-run delete --force "$id" >/dev/null || true
		done
		parent=$(cgroup_parent "$run")
		leftovers+=$(ls -d "$run"/runtime/*/ct* /sys/fs/cgroup/*/"$parent" /sys/fs/cgroup/"$parent" 2>/dev/null)
	done
	unmount_test_mounts
	ctrk_teardown
	# Only this test's state directories: the host-wide runtime roots and
	# cgroups hold other suites' containers (099-leftovers checks them).
	if [[ -n $leftovers ]]; then
		echo "# left behind: $leftovers" >&3
		return 1
	fi
}

# r [-N|!] [OPTION]... [-- CMD...]: ctrk-run run --rm OPTION... $C -- CMD on
# the descriptor $D (or $RIN); stdout in $output, stderr in $stderr.
r() {
	local st=() opts=()
	if [[ ${1:-} =~ ^-[0-9]+$ || ${1:-} == '!' ]]; then
		st=("$1")
		shift
	fi
	while (($#)) && [[ $1 != -- ]]; do
		opts+=("$1")
		shift
	done
	run "${st[@]}" --separate-stderr ctrk-run run --rm "${opts[@]}" "$C" "$@" <"${RIN:-$D}"
	printf '# ctrk-run run --rm %s\n# exit %s\n# stdout: %.2000s\n# stderr: %.2000s\n' "${opts[*]} $C $*" \
		"$status" "$output" "$stderr"
}

# assert_run_error TEXT: $stderr has a line "ctrk-run: error: ..." holding TEXT.
assert_run_error() {
	if ! grep -F -- "$1" <<<"$stderr" | grep -qE '^ctrk-run: error: .+'; then
		echo "stderr has no 'ctrk-run: error: ...$1...' line: $stderr" | fail
		return 1
	fi
}

# wait_running ID: until container ID is running (5 s at most).
wait_running() {
	local i
	for ((i = 0; i < 50; i++)); do
		[[ $(ctrk-run state "$1" 2>/dev/null | jq -r .status) == running ]] && return 0
		sleep 0.1
	done
	echo "container $1 did not start" | fail
}

# mounts_under DIR: mount points at or below DIR, in mount order.
mounts_under() {
	findmnt -rn -o TARGET | awk -v d="$1" '$0 == d || index($0, d "/") == 1'
}

# unmount_under DIR: every mount at or below DIR goes, newest first, lazily
# when busy, so that nothing can stop it; kill what keeps mounts busy first.
unmount_under() {
	local m i
	for ((i = 0; i < 10; i++)); do
		[[ -n $(mounts_under "$1") ]] || return 0
		while read -r m; do
			umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null
		done < <(mounts_under "$1" | tac)
	done
}

# --- ctrk-netif ---------------------------------------------------------------
# What a 06x test makes is named for the run and the test: namespaces
# "$NSP<x>" (ct<pid>-<test><x>: 099-leftovers looks for ct<digits>-*), and
# host links named by each file (at most 15 bytes).

# netif_setup: ctrk_setup; $T the test's directory, $N its number in the
# suite, $NSP the prefix of its namespaces' names, and names for a host
# bridge ($BR) and veth pair ($VA, $VB) the test may make itself.
netif_setup() {
	ctrk_setup
	T=$BATS_TEST_TMPDIR
	N=${BATS_SUITE_TEST_NUMBER:-0}
	NSP=ct$$-$N
	BR=cb${N}x$$
	VA=cva${N}x$$
	VB=cvb${N}x$$
}

# netif_teardown [LINK]...: processes first (they hold namespaces), then
# every namespace of the test (a veth goes with its end in one), then the
# host links whose names match a LINK pattern ("ckb1", "ck123t4*").
netif_teardown() {
	local ns link pat
	ctrk_teardown
	for ns in /run/netns/"$NSP"[a-z]*; do
		[[ -e $ns ]] || continue
		ip netns del "${ns##*/}" 2>/dev/null || rm -f "$ns"
	done
	(($#)) || return 0
	for link in $(ip -j link show | jq -r '.[].ifname'); do
		for pat in "$@"; do
			# shellcheck disable=SC2053 # PAT is a pattern
			[[ $link == $pat ]] && { ip link del "$link" 2>/dev/null || true; }
		done
	done
	return 0
}

# netif_sleeper [NS]: a process in namespace /run/netns/NS, or without NS
# in a new one that is in no file (as a container's, for --pid); killed in
# teardown, returned once it is in there, its pid in $SLEEPER.
netif_sleeper() {
	local i here
	here=$(stat -L -c %i /proc/self/ns/net)
	if (($#)); then
		ip netns exec "$1" sleep 1000 &
	else
		unshare -n sleep 1000 &
	fi
	SLEEPER=$!
	track_pid "$SLEEPER"
	# Both exec sleep: once the pid's namespace is NS's (or, without NS,
	# not this shell's), it is in.
	for ((i = 0; i < 50; i++)); do
		if (($#)); then
			[[ $(stat -L -c %i "/proc/$SLEEPER/ns/net") == $(stat -L -c %i "/run/netns/$1") ]] && return 0
		else
			[[ $(stat -L -c %i "/proc/$SLEEPER/ns/net") != "$here" ]] && return 0
		fi
		sleep 0.1
	done
	echo "netif_sleeper: pid $SLEEPER did not enter ${1:-a new namespace}" >&2
	return 1
}

# ni [-N|!] ARGS...: ctrk-netif ARGS with stdin from $NIN (default
# /dev/null); stdout in $output (and $DESC), stderr in $stderr.
ni() {
	local st=()
	if [[ ${1:-} =~ ^-[0-9]+$ || ${1:-} == '!' ]]; then
		st=("$1")
		shift
	fi
	run "${st[@]}" --separate-stderr ctrk-netif "$@" <"${NIN:-/dev/null}"
	DESC=$output
	printf '# ctrk-netif %s\n# exit %s\n# stdout: %.3000s\n# stderr: %.2000s\n' "$*" "$status" "$output" "$stderr"
}

# nin [-N|!] INPUT ARGS...: ni with the text INPUT on stdin.
nin() {
	local st=()
	if [[ ${1:-} =~ ^-[0-9]+$ || ${1:-} == '!' ]]; then
		st=("$1")
		shift
	fi
	printf '%s' "$1" >"$BATS_TEST_TMPDIR/netif-stdin.json"
	shift
	NIN=$BATS_TEST_TMPDIR/netif-stdin.json ni "${st[@]}" "$@"
}

# assert_ni_error TEXT: $stderr has a line "ctrk-netif: error: ..." holding TEXT.
assert_ni_error() {
	if ! grep -F -- "$1" <<<"$stderr" | grep -qE '^ctrk-netif: error: .+'; then
		echo "stderr has no 'ctrk-netif: error: ...$1...' line: $stderr" | fail
		return 1
	fi
}

# ---- ctrk-vol (070-073) ----

# vol_setup: ctrk_setup, with $T the test's directory and $S the store.
vol_setup() {
	ctrk_setup
	T=$BATS_TEST_TMPDIR
	S=$CTRK_ROOT/volumes
}

# vol_teardown: the test driver's hanging processes (by the pids they wrote:
# not our children), every volume of the test (their loop mounts too), then
# run_teardown.
vol_teardown() {
	local v pid
	for pid in $(cat "$T"/shdrv/pid.* 2>/dev/null); do
		kill -KILL "$pid" 2>/dev/null || true
	done
	for v in $(ctrk-vol ls -q 2>/dev/null); do
		ctrk-vol rm --force "$v" >/dev/null 2>&1 || true
	done
	run_teardown
}

# vol_make_driver: the external driver ctrk-vol-shdrv on PATH, one directory
# per volume in $SHDRV_ROOT ($T/shdrv), bind-mounted on the target; each
# request is appended to $SHDRV_ROOT/log.  The create options misbehave:
# fail=1 answers an error, flood=1 answers without end, hang=1 writes the
# driver's pid to $SHDRV_ROOT/pid.NAME (after making the volume) and sleeps.
vol_make_driver() {
	mkdir -p "$T/bin" "$T/shdrv"
	cat >"$T/bin/ctrk-vol-shdrv" <<'EOF'
#!/bin/sh
set -eu
req=$(cat)
printf '%s\n' "$req" >>"$SHDRV_ROOT/log"
get() { printf '%s' "$req" | jq -r "$1"; }
name=$(get .name)
fail() { jq -cn --arg e "$1" '{error: $e}'; exit 1; }
case $(get .op) in
create)
	[ -z "$(get '.options.fail // empty')" ] || fail "asked to fail"
	[ -z "$(get '.options.flood // empty')" ] || { yes; exit 0; }
	mkdir "$SHDRV_ROOT/$name" || fail "'$name' exists"
	if [ -n "$(get '.options.hang // empty')" ]; then
		echo $$ >"$SHDRV_ROOT/pid.$name"
		exec sleep 300
	fi
	echo '{}' ;;
remove) rm -rf "${SHDRV_ROOT:?}/$name" ;;
mount) mount --bind "$SHDRV_ROOT/$name" "$(get .target)" ;;
unmount) umount "$(get .target)" ;;
path) jq -cn --arg p "$(get .target)" '{path: $p}' ;;
*) fail "unknown op" ;;
esac
EOF
	chmod +x "$T/bin/ctrk-vol-shdrv"
	export PATH=$T/bin:$PATH SHDRV_ROOT=$T/shdrv
}
