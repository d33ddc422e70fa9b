#!/usr/bin/env bats
# Registries and token servers that try to steal credentials or stall a
# pull (issue 10): tests/fixtures/hostile-registry.py, a scripted server,
# because a real registry cannot be made to echo secrets, inject headers or
# go silent mid-body. Every pull runs under `timeout`, so that a build that
# waits forever fails the test instead of hanging the suite.

load helpers

SECRET_PASS='hostile-Pa55-w0rd'

setup() {
	ctrk_setup
	DG=$(fixture_digest single)
}

teardown() {
	ctrk_teardown
}

# hostile_start NAME [hostile-registry.py options]: exports HOSTILE_<NAME>_{PORT,
# ADDR,LOG} and, with TLS=1, HOSTILE_<NAME>_{TLS_PORT,TLS_ADDR,CA}.
hostile_start() {
	local name=${1^^} d pid i tls=()
	shift
	d="$BATS_TEST_TMPDIR/hostile-$name"
	mkdir -p "$d"
	if [[ ${TLS:-0} == 1 ]]; then
		make_ca "$d/pki"
		make_server_cert "$d/pki"
		tls=(--tls-cert "$d/pki/server.crt" --tls-key "$d/pki/server.key")
		printf -v "HOSTILE_${name}_CA" '%s' "$d/pki/ca.crt"
	fi
	"$PYTHON" "$CTRK_TESTS_DIR/fixtures/hostile-registry.py" --layout "$CTRK_FIXTURE_OCI_SINGLE" \
		--log "$d/log" --port-file "$d/ports" "${tls[@]}" "$@" >"$d/out" 2>&1 3>&- &
	pid=$!
	track_pid "$pid"
	for ((i = 0; i < 100; i++)); do
		[[ -s $d/ports ]] && break
		kill -0 "$pid" 2>/dev/null || { cat "$d/out" >&2; return 1; }
		sleep 0.1
	done
	[[ -s $d/ports ]] || { cat "$d/out" >&2; return 1; }
	printf -v "HOSTILE_${name}_PORT" '%s' "$(jq -r .http "$d/ports")"
	printf -v "HOSTILE_${name}_ADDR" '127.0.0.1:%s' "$(jq -r .http "$d/ports")"
	printf -v "HOSTILE_${name}_TLS_PORT" '%s' "$(jq -r '.https // empty' "$d/ports")"
	printf -v "HOSTILE_${name}_TLS_ADDR" '127.0.0.1:%s' "$(jq -r '.https // empty' "$d/ports")"
	printf -v "HOSTILE_${name}_LOG" '%s' "$d/log"
	: >"$d/log"
}

# tpull SECONDS [-N] ARGS...: pull, killed after SECONDS (status 124).
tpull() {
	local t=$1
	shift
	local st=()
	if [[ ${1:-} =~ ^-[0-9]+$ ]]; then
		st=("$1")
		shift
	fi
	run "${st[@]}" --separate-stderr timeout -k 5 "$t" ctrk-pull -q "$@"
	DESC=$output
	printf '# ctrk-pull %s\n# exit %s\n# stderr: %s\n' "$*" "$status" "$stderr"
}

# refute_in_stderr TEXT WHAT: TEXT (a secret) is nowhere in $stderr.
refute_in_stderr() {
	if [[ $stderr == *"$1"* ]]; then
		echo "$2 in stderr: $stderr" | fail
	fi
}

b64() {
	printf '%s' "$1" | base64 -w0
}

# authfile_identity FILE HOST TOKEN: an auth file holding an identity token.
authfile_identity() {
	jq -n --arg h "$2" --arg t "$3" '{auths: {($h): {identitytoken: $t}}}' >"$1"
}

# --- secrets never leave ------------------------------------------------------

@test "secrets: a registry that echoes the Basic credentials in its error gets them redacted" {
	hostile_start r --auth basic --user u --password "$SECRET_PASS" --fail-manifest 400
	tpull 60 -1 --creds "u:$SECRET_PASS" "$HOSTILE_R_ADDR/test/single"
	assert_error_message
	# The echo arrived (it is the message), with the secrets taken out.
	assert_regex "$stderr" 'HTTP 400: denied: you sent Authorization: Basic \[redacted\] \(\[redacted\]\)'
	refute_in_stderr "$SECRET_PASS" "password"
	refute_in_stderr "$(b64 "u:$SECRET_PASS")" "base64 user:password"
}

@test "secrets: a registry that echoes its bearer token gets it redacted" {
	local tok=eyJhbGciOiJSUzI1NiJ9.c2VjcmV0LWNsYWltcw.c2lnbmF0dXJl
	hostile_start r --auth bearer --token "$tok" --fail-manifest 403
	tpull 60 -1 "$HOSTILE_R_ADDR/test/single"
	assert_regex "$stderr" 'HTTP 403: denied: you sent Authorization: Bearer \[redacted\]'
	refute_in_stderr "$tok" "bearer token"
	refute_in_stderr "${tok:0:12}" "start of the bearer token"
}

@test "secrets: a token server that echoes the credentials gets them redacted" {
	hostile_start r --auth bearer --fail-token 400
	tpull 60 -1 --creds "u:$SECRET_PASS" "$HOSTILE_R_ADDR/test/single"
	assert_regex "$stderr" 'token server answered HTTP 400: denied: you sent Authorization: Basic \[redacted\]'
	refute_in_stderr "$SECRET_PASS" "password"
	refute_in_stderr "$(b64 "u:$SECRET_PASS")" "base64 user:password"
}

@test "secrets: a token server that echoes a refresh token (URL-encoded) gets it redacted" {
	local idt='refresh/Tok+en=s3cr3t'
	hostile_start r --auth bearer --fail-token 400
	authfile_identity "$BATS_TEST_TMPDIR/auth.json" "$HOSTILE_R_ADDR" "$idt"
	tpull 60 -1 --authfile "$BATS_TEST_TMPDIR/auth.json" "$HOSTILE_R_ADDR/test/single"
	# The form was sent (POST with the refresh token), and echoed.
	run -0 jq -r 'select(.path == "/token") | .method' "$HOSTILE_R_LOG"
	assert_output POST
	assert_regex "$stderr" 'refresh_token=\[redacted\]'
	refute_in_stderr "$idt" "refresh token"
	refute_in_stderr "refresh%2FTok%2Ben%3Ds3cr3t" "URL-encoded refresh token"
}

@test "secrets: control characters a server sends are shown, not sent to the terminal" {
	hostile_start r --fail-manifest 404 --message 'gone\x1b[2J\x1b]0;owned\x07\rctrk-pull: all fine'
	tpull 60 -1 "$HOSTILE_R_ADDR/test/single"
	assert_error_message
	[[ $stderr != *$'\e'* && $stderr != *$'\r'* && $stderr != *$'\a'* ]] ||
		{ echo "control characters in stderr: $(printf '%q' "$stderr")" | fail; }
	assert_regex "$stderr" 'HTTP 404: gone\\x1b\[2J\\x1b\]0;owned\\x07\\x0dctrk-pull: all fine'
}

@test "secrets: server text that reaches a message by way of the manifest is redacted too" {
	# Not an error body: the manifest's mediaType, quoted by the manifest
	# parser (lib/common/image.c), far from the registry client.
	hostile_start r --auth basic --user u --password "$SECRET_PASS" \
		--manifest-type "application/vnd.$SECRET_PASS+\x1b[31mjson"
	tpull 60 -1 --creds "u:$SECRET_PASS" "$HOSTILE_R_ADDR/test/single"
	assert_error_message
	assert_regex "$stderr" "media type.*'application/vnd.\[redacted\]\+\\\\x1b\[31mjson'"
	refute_in_stderr "$SECRET_PASS" "password"
	[[ $stderr != *$'\e'* ]] || { echo "ESC in stderr: $(printf '%q' "$stderr")" | fail; }
}

@test "secrets: a proxy password echoed back is redacted" {
	local pp=proxy-Pa55-s3cret
	hostile_start r --fail-manifest 400 --message "the proxy saw $pp"
	# The scripted server is the proxy as well: it serves the absolute URLs.
	HTTP_PROXY="http://pu:$pp@$HOSTILE_R_ADDR" tpull 60 -1 --plain-http "$HOSTILE_R_ADDR/test/single"
	assert_regex "$stderr" 'HTTP 400: the proxy saw \[redacted\]'
	refute_in_stderr "$pp" "proxy password"
	run -0 jq -s '[.[] | select(.headers["Proxy-Authorization"] != null)] | length' "$HOSTILE_R_LOG"
	refute_output 0
}

# --- credentials go only where they belong ------------------------------------

@test "credentials: not over plain HTTP to a token realm on another host" {
	# localhost and 127.0.0.1 are different hosts to a client.
	hostile_start r --auth bearer --realm 'http://localhost:{port}/token'
	tpull 60 -1 --creds "u:$SECRET_PASS" "$HOSTILE_R_ADDR/test/single"
	assert_regex "$stderr" "refusing to send credentials over plain HTTP to 'localhost'"
	run -0 jq -s '[.[] | select(.path == "/token" and .auth != null)] | length' "$HOSTILE_R_LOG"
	assert_output 0
	refute_in_stderr "$SECRET_PASS" "password"
}

@test "credentials: a plain-HTTP realm on the registry's own host gets them; anonymous goes anywhere" {
	hostile_start r --auth bearer --realm 'http://127.0.0.1:{port}/token'
	tpull 60 -0 --creds "u:$SECRET_PASS" "$HOSTILE_R_ADDR/test/single"
	assert_equal "$(jqo .image.digest)" "$DG"
	run -0 jq -r 'select(.path == "/token") | .auth' "$HOSTILE_R_LOG"
	assert_output "Basic $(b64 "u:$SECRET_PASS")"

	rm -rf "$CTRK_ROOT"
	hostile_start a --auth bearer --realm 'http://localhost:{port}/token'
	tpull 60 -0 "$HOSTILE_A_ADDR/test/single"
	assert_equal "$(jqo .image.digest)" "$DG"
}

@test "credentials: a Basic token request redirected to another host goes on without them" {
	hostile_start r --auth bearer --redirect-token 'http://localhost:{port}'
	tpull 60 -0 --creds "u:$SECRET_PASS" "$HOSTILE_R_ADDR/test/single"
	run -0 jq -r 'select(.path == "/token") | .auth' "$HOSTILE_R_LOG"
	assert_output "Basic $(b64 "u:$SECRET_PASS")"
	run -0 jq -s '[.[] | select(.path == "/token2")] | length' "$HOSTILE_R_LOG"
	refute_output 0
	run -0 jq -s '[.[] | select(.path == "/token2" and .auth != null)] | length' "$HOSTILE_R_LOG"
	assert_output 0
}

@test "credentials: a refresh token is not re-posted to another host on a 307" {
	local idt=idt-0a1b2c3d4e5f
	hostile_start r --auth bearer --redirect-token 'http://localhost:{port}'
	authfile_identity "$BATS_TEST_TMPDIR/auth.json" "$HOSTILE_R_ADDR" "$idt"
	tpull 60 -1 --authfile "$BATS_TEST_TMPDIR/auth.json" "$HOSTILE_R_ADDR/test/single"
	assert_regex "$stderr" "refusing to send the refresh token on to 'http://localhost:[0-9]+/token2"
	run -0 jq -s '[.[] | select(.path == "/token2")] | length' "$HOSTILE_R_LOG"
	assert_output 0
	run -0 grep -c "$idt" "$HOSTILE_R_LOG"
	assert_output 1 # the one POST to the realm itself
}

@test "https: a registry cannot redirect a manifest to plain HTTP" {
	TLS=1 hostile_start r --redirect-manifests 'http://127.0.0.1:{port}'
	tpull 60 -1 --ca-file "$HOSTILE_R_CA" "$HOSTILE_R_TLS_ADDR/test/single"
	assert_regex "$stderr" "refusing a redirect from HTTPS to plain HTTP \('http://127.0.0.1:$HOSTILE_R_PORT/v2/test/single/manifests/latest'\)"
	run -0 jq -s '[.[] | select(.scheme == "http" and (.path | contains("manifests")))] | length' "$HOSTILE_R_LOG"
	assert_output 0
}

@test "https: a registry cannot redirect a blob to plain HTTP" {
	TLS=1 hostile_start r --redirect-blobs 'http://127.0.0.1:{port}'
	local before
	before=$(store_snapshot)
	tpull 60 -1 --ca-file "$HOSTILE_R_CA" "$HOSTILE_R_TLS_ADDR/test/single"
	assert_regex "$stderr" "fetching blob sha256:[0-9a-f]{64}: refusing a redirect from HTTPS to plain HTTP \('http://127.0.0.1:$HOSTILE_R_PORT/v2/test/single/blobs/sha256:"
	run -0 jq -s '[.[] | select(.scheme == "http")] | length' "$HOSTILE_R_LOG"
	assert_output 0
	assert_store_unchanged "$before"
}

@test "https: a token realm over plain HTTP is refused" {
	TLS=1 hostile_start r --auth bearer --realm 'http://127.0.0.1:{port}/token'
	tpull 60 -1 --ca-file "$HOSTILE_R_CA" "$HOSTILE_R_TLS_ADDR/test/single"
	assert_regex "$stderr" "refusing the token realm 'http://127.0.0.1:$HOSTILE_R_PORT/token': plain HTTP for an HTTPS registry"
	run -0 jq -s '[.[] | select(.scheme == "http")] | length' "$HOSTILE_R_LOG"
	assert_output 0
}

@test "https: a token request cannot be redirected to plain HTTP" {
	TLS=1 hostile_start r --auth bearer --realm 'https://127.0.0.1:{tls_port}/token' \
		--redirect-token 'http://127.0.0.1:{port}'
	tpull 60 -1 --ca-file "$HOSTILE_R_CA" --creds "u:$SECRET_PASS" "$HOSTILE_R_TLS_ADDR/test/single"
	assert_regex "$stderr" 'refusing a redirect from HTTPS to plain HTTP'
	run -0 jq -s '[.[] | select(.scheme == "http")] | length' "$HOSTILE_R_LOG"
	assert_output 0
}

@test "https: the same registry over HTTPS with a token realm pulls (checks the test setup)" {
	TLS=1 hostile_start r --auth bearer --realm 'https://127.0.0.1:{tls_port}/token'
	tpull 60 -0 --ca-file "$HOSTILE_R_CA" --creds "u:$SECRET_PASS" "$HOSTILE_R_TLS_ADDR/test/single"
	assert_equal "$(jqo .image.digest)" "$DG"
	run -0 jq -s '[.[] | select(.scheme == "http")] | length' "$HOSTILE_R_LOG"
	assert_output 0
}

# --- no header injection ----------------------------------------------------------

@test "header injection: a token with CR LF is refused, and nothing is injected" {
	hostile_start r --auth bearer --token 'tok\r\nX-Injected: 1'
	tpull 60 -1 "$HOSTILE_R_ADDR/test/single"
	assert_regex "$stderr" "the token server's token holds a control character"
	run -0 jq -s '[.[] | select(.headers["X-Injected"] != null)] | length' "$HOSTILE_R_LOG"
	assert_output 0
	run -0 jq -s '[.[] | select(.path | contains("manifests"))] | length' "$HOSTILE_R_LOG"
	assert_output 0
}

@test "header injection: a realm with a control character is refused" {
	hostile_start r --auth bearer --challenge 'Bearer realm="http://127.0.0.1:{port}/to\x01ken",service="s"'
	# The placeholder is not expanded in a raw challenge: the realm is
	# refused before it is ever asked.
	tpull 60 -1 "$HOSTILE_R_ADDR/test/single"
	assert_regex "$stderr" "WWW-Authenticate header: parameter 'realm' holds a control character"
	run -0 jq -s '[.[] | select(.path | startswith("/to"))] | length' "$HOSTILE_R_LOG"
	assert_output 0
}

@test "header injection: a password from a credential helper with CR LF is refused" {
	local bin=$BATS_TEST_TMPDIR/bin
	mkdir -p "$bin" "$HOME/.docker"
	cat >"$bin/docker-credential-evil" <<-'EOF'
		#!/bin/sh
		cat >/dev/null
		printf '{"Username":"u","Secret":"p\\r\\nX-Injected: 1"}\n'
	EOF
	chmod +x "$bin/docker-credential-evil"
	hostile_start r --auth basic
	jq -n --arg h "$HOSTILE_R_ADDR" '{credHelpers: {($h): "evil"}}' >"$HOME/.docker/config.json"
	PATH="$bin:$PATH" tpull 60 -1 "$HOSTILE_R_ADDR/test/single"
	assert_regex "$stderr" "the password for '$HOSTILE_R_ADDR' from '.*config.json' holds a control character"
	run -0 jq -s '[.[] | select(.headers["X-Injected"] != null)] | length' "$HOSTILE_R_LOG"
	assert_output 0
}

# --- nothing waits forever ------------------------------------------------------

@test "no waiting: an auth file that is a FIFO is refused at once" {
	mkfifo "$BATS_TEST_TMPDIR/auth.json"
	tpull 30 -1 --authfile "$BATS_TEST_TMPDIR/auth.json" "$REGISTRY_SHARED_ADDR/test/single"
	assert_regex "$stderr" "auth file: '$BATS_TEST_TMPDIR/auth.json' is not a regular file"
	mkdir -p "$HOME/.docker"
	mkfifo "$HOME/.docker/config.json"
	tpull 30 -1 "$REGISTRY_SHARED_ADDR/test/single"
	assert_regex "$stderr" "'$HOME/.docker/config.json' is not a regular file"
}

@test "no waiting: CA and client certificate files that are FIFOs are refused at once" {
	mkfifo "$BATS_TEST_TMPDIR/ca.pem"
	tpull 30 -1 --ca-file "$BATS_TEST_TMPDIR/ca.pem" "$REGISTRY_SHARED_ADDR/test/single"
	assert_regex "$stderr" "'$BATS_TEST_TMPDIR/ca.pem' is not a regular file"

	local d=$BATS_TEST_TMPDIR/certs.d
	mkdir -p "$d"
	mkfifo "$d/ca.crt"
	tpull 30 -1 --cert-dir "$d" "$REGISTRY_SHARED_ADDR/test/single"
	assert_regex "$stderr" "'$d/ca.crt' is not a regular file"

	rm "$d/ca.crt"
	mkfifo "$d/client.cert"
	: >"$d/client.key"
	tpull 30 -1 --cert-dir "$d" "$REGISTRY_SHARED_ADDR/test/single"
	assert_regex "$stderr" "client certificate: '$d/client.cert' is not a regular file"
	rm "$d/client.cert"
	: >"$d/client.cert"
	rm "$d/client.key"
	mkfifo "$d/client.key"
	tpull 30 -1 --cert-dir "$d" "$REGISTRY_SHARED_ADDR/test/single"
	assert_regex "$stderr" "client key: '$d/client.key' is not a regular file"
}

@test "no waiting: a credential helper that hangs is killed after CTRK_CREDENTIAL_HELPER_TIMEOUT" {
	local bin=$BATS_TEST_TMPDIR/bin
	mkdir -p "$bin" "$HOME/.docker"
	printf '#!/bin/sh\necho $$ >"%s/helper.pid"\nexec sleep 600\n' "$BATS_TEST_TMPDIR" >"$bin/docker-credential-sleepy"
	chmod +x "$bin/docker-credential-sleepy"
	jq -n --arg h "$REGISTRY_SHARED_ADDR" '{credHelpers: {($h): "sleepy"}}' >"$HOME/.docker/config.json"
	local t0=$SECONDS
	CTRK_CREDENTIAL_HELPER_TIMEOUT=2 PATH="$bin:$PATH" tpull 40 -1 "$REGISTRY_SHARED_ADDR/test/single"
	assert_regex "$stderr" "credential helper 'docker-credential-sleepy': no answer within 2 s"
	[ $((SECONDS - t0)) -lt 20 ]
	# The helper was killed, not left behind.
	run ! kill -0 "$(cat "$BATS_TEST_TMPDIR/helper.pid")"
}

@test "no waiting: a manifest that declares more than 4 MiB is refused before its body is read" {
	hostile_start r --manifest-length 5000000
	local t0=$SECONDS
	tpull 40 -1 "$HOSTILE_R_ADDR/test/single"
	assert_regex "$stderr" "fetching manifest 'latest' of 'test/single': larger than 4194304 bytes \(Content-Length: 5000000\)"
	# Refused at the headers, not after a stall; and not asked again.
	[ $((SECONDS - t0)) -lt 20 ]
	run -0 jq -s '[.[] | select(.path | contains("/manifests/"))] | length' "$HOSTILE_R_LOG"
	assert_output 1
}

@test "no waiting: a blob that stops mid-body is given up within CTRK_STALL_TIMEOUT" {
	hostile_start r --stall-blob 100
	local t0=$SECONDS
	CTRK_STALL_TIMEOUT=2 tpull 40 -1 --retries 0 "$HOSTILE_R_ADDR/test/single"
	assert_regex "$stderr" 'fetching blob sha256:[0-9a-f]{64}: .*\(the limit is 2 s, CTRK_STALL_TIMEOUT\)'
	[ $((SECONDS - t0)) -lt 20 ]
	# The bytes that came are kept for a resume.
	run -0 find "$CTRK_ROOT/ingest" -name 'sha256-*' -size 100c
	refute_output ''
}

@test "no waiting: an invalid CTRK_STALL_TIMEOUT is an error" {
	CTRK_STALL_TIMEOUT=0 tpull 30 -1 "$REGISTRY_SHARED_ADDR/test/single"
	assert_regex "$stderr" "invalid CTRK_STALL_TIMEOUT '0'"
}

@test "size: a blob that declares more than its descriptor says is refused, not retried" {
	hostile_start r --blob-extra-length 1000
	local before
	before=$(store_snapshot)
	tpull 60 -1 --retries 3 "$HOSTILE_R_ADDR/test/single"
	assert_regex "$stderr" 'longer than the [0-9]+ bytes its descriptor says \(Content-Length: [0-9]+ from byte 0\)'
	run -0 jq -s '[.[] | select(.path | contains("/blobs/"))] | length' "$HOSTILE_R_LOG"
	assert_output 1
	assert_store_unchanged "$before"
}
