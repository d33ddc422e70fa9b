#!/usr/bin/env bats
# ctrk-pull against registries that want credentials (htpasswd basic auth,
# the token flow) or speak TLS with a CA of their own. The registries are
# started once for this file and only read by the tests.

load helpers

setup_file() {
	registry_start basic htpasswd
	registry_push basic single
	registry_start tls tls
	registry_push tls single
	registry_start tlsbasic tls-htpasswd
	registry_push tlsbasic single
	registry_start token token
	registry_push token single
	registry_start anon token-anon
	registry_push anon single
}

teardown_file() {
	ctrk_teardown_file
}

setup() {
	ctrk_setup
	DG=$(fixture_digest single)
}

teardown() {
	ctrk_teardown
}

# authfile FILE HOST USER PASS: writes a containers/docker auth file.
authfile() {
	mkdir -p "$(dirname "$1")"
	jq -n --arg h "$2" --arg a "$(printf '%s:%s' "$3" "$4" | base64 -w0)" \
		'{auths: {($h): {auth: $a}}}' >"$1"
}

# assert_no_secret: the password is nowhere in stdout or stderr.
assert_no_secret() {
	refute_output --partial "$TEST_PASS"
	if [[ $stderr == *"$TEST_PASS"* || $stderr == *"wrong-$TEST_PASS"* ]]; then
		echo "password in stderr: $stderr" | fail
	fi
	local b64
	b64=$(printf '%s:%s' "$TEST_USER" "$TEST_PASS" | base64 -w0)
	if [[ $stderr == *"$b64"* ]]; then
		echo "base64 credentials in stderr: $stderr" | fail
	fi
}

# --- htpasswd basic auth ------------------------------------------------------

@test "basic auth: without credentials fails clearly" {
	local before
	before=$(store_snapshot)
	pull -1 "$REGISTRY_BASIC_ADDR/test/single"
	assert_error_message
	assert_regex "$stderr" '[uU]nauthori[sz]ed|401|authenticat|credentials|denied'
	assert_equal "$output" ""
	assert_store_unchanged "$before"
}

@test "basic auth: --creds USER:PASS" {
	pull -0 --creds "$TEST_USER:$TEST_PASS" "$REGISTRY_BASIC_ADDR/test/single"
	assert_descriptor
	assert_equal "$(jqo .image.digest)" "$DG"
	assert_no_secret
	store_verify
}

@test "basic auth: --creds with a wrong password fails and never prints it" {
	local before
	before=$(store_snapshot)
	pull -1 --creds "$TEST_USER:wrong-$TEST_PASS" "$REGISTRY_BASIC_ADDR/test/single"
	assert_error_message
	assert_regex "$stderr" '[uU]nauthori[sz]ed|401|authenticat|credentials|denied'
	[[ $stderr != *"wrong-$TEST_PASS"* ]]
	assert_store_unchanged "$before"
}

@test "basic auth: --authfile" {
	authfile "$BATS_TEST_TMPDIR/auth.json" "$REGISTRY_BASIC_ADDR" "$TEST_USER" "$TEST_PASS"
	pull -0 --authfile "$BATS_TEST_TMPDIR/auth.json" "$REGISTRY_BASIC_ADDR/test/single"
	assert_equal "$(jqo .image.digest)" "$DG"
	assert_no_secret
	store_verify
}

@test "basic auth: --authfile with a wrong password fails and never prints it" {
	authfile "$BATS_TEST_TMPDIR/auth.json" "$REGISTRY_BASIC_ADDR" "$TEST_USER" "wrong-$TEST_PASS"
	local before
	before=$(store_snapshot)
	pull -1 --authfile "$BATS_TEST_TMPDIR/auth.json" "$REGISTRY_BASIC_ADDR/test/single"
	assert_error_message
	[[ $stderr != *"wrong-$TEST_PASS"* ]]
	[[ $stderr != *"$(printf '%s:wrong-%s' "$TEST_USER" "$TEST_PASS" | base64 -w0)"* ]]
	assert_store_unchanged "$before"
}

@test "basic auth: \$REGISTRY_AUTH_FILE" {
	authfile "$BATS_TEST_TMPDIR/containers-auth.json" "$REGISTRY_BASIC_ADDR" "$TEST_USER" "$TEST_PASS"
	REGISTRY_AUTH_FILE="$BATS_TEST_TMPDIR/containers-auth.json" \
		pull -0 "$REGISTRY_BASIC_ADDR/test/single"
	assert_equal "$(jqo .image.digest)" "$DG"
	store_verify
}

@test "basic auth: ~/.docker/config.json" {
	authfile "$HOME/.docker/config.json" "$REGISTRY_BASIC_ADDR" "$TEST_USER" "$TEST_PASS"
	pull -0 "$REGISTRY_BASIC_ADDR/test/single"
	assert_equal "$(jqo .image.digest)" "$DG"
	store_verify
}

@test "basic auth: --creds wins over a wrong auth file" {
	authfile "$HOME/.docker/config.json" "$REGISTRY_BASIC_ADDR" "$TEST_USER" "wrong-$TEST_PASS"
	pull -0 --creds "$TEST_USER:$TEST_PASS" "$REGISTRY_BASIC_ADDR/test/single"
	assert_equal "$(jqo .image.digest)" "$DG"
}

@test "basic auth: a credential helper (docker-credential-NAME on PATH)" {
	local bin=$BATS_TEST_TMPDIR/bin
	mkdir -p "$bin" "$HOME/.docker"
	# The helper protocol: `get` with the server on stdin, JSON on stdout.
	cat >"$bin/docker-credential-ctrktest" <<-EOF
		#!/bin/sh
		[ "\$1" = get ] || exit 1
		read -r server
		printf '%s\n' "\$server" >>"$BATS_TEST_TMPDIR/helper.log"
		printf '{"ServerURL":"%s","Username":"%s","Secret":"%s"}\n' "\$server" "$TEST_USER" "$TEST_PASS"
	EOF
	chmod +x "$bin/docker-credential-ctrktest"
	jq -n --arg h "$REGISTRY_BASIC_ADDR" '{credHelpers: {($h): "ctrktest"}}' >"$HOME/.docker/config.json"
	PATH="$bin:$PATH" pull -0 "$REGISTRY_BASIC_ADDR/test/single"
	assert_equal "$(jqo .image.digest)" "$DG"
	assert_no_secret
	# The helper was asked about this registry.
	run -0 cat "$BATS_TEST_TMPDIR/helper.log"
	assert_output --partial "$REGISTRY_BASIC_ADDR"
	store_verify
}

@test "basic auth: credsStore helper" {
	local bin=$BATS_TEST_TMPDIR/bin
	mkdir -p "$bin" "$HOME/.docker"
	cat >"$bin/docker-credential-ctrkstore" <<-EOF
		#!/bin/sh
		[ "\$1" = get ] || exit 1
		read -r server
		case "\$server" in
		*$REGISTRY_BASIC_ADDR*) printf '{"ServerURL":"%s","Username":"%s","Secret":"%s"}\n' "\$server" "$TEST_USER" "$TEST_PASS" ;;
		*) echo "credentials not found in native keychain"; exit 1 ;;
		esac
	EOF
	chmod +x "$bin/docker-credential-ctrkstore"
	echo '{"credsStore": "ctrkstore"}' >"$HOME/.docker/config.json"
	PATH="$bin:$PATH" pull -0 "$REGISTRY_BASIC_ADDR/test/single"
	assert_equal "$(jqo .image.digest)" "$DG"
}

# --- token auth -----------------------------------------------------------------

@test "token: the test token server works with plain curl (checks the test setup)" {
	local a=$REGISTRY_TOKEN_ADDR t=http://127.0.0.1:$REGISTRY_TOKEN_TOKEN_PORT/token tok
	run -0 curl -s -D - -o /dev/null "http://$a/v2/test/single/manifests/latest"
	assert_line --partial " 401"
	assert_output --partial "Bearer realm=\"$t\""
	assert_output --partial 'service="ctrk-test-registry"'
	tok=$(curl -sf -u "$TEST_USER:$TEST_PASS" "$t?service=ctrk-test-registry&scope=repository:test/single:pull" | jq -r .token)
	run -0 bash -c "curl -sf -H 'Authorization: Bearer $tok' \
		-H 'Accept: application/vnd.oci.image.manifest.v1+json' \
		http://$a/v2/test/single/manifests/latest | sha256sum"
	assert_output --partial "$(fixture_digest single | cut -d: -f2)"
	# A wrong password gets 401 from the token server.
	run -0 curl -s -o /dev/null -w '%{http_code}' -u "$TEST_USER:nope" \
		"$t?service=ctrk-test-registry&scope=repository:test/single:pull"
	assert_output 401
	# An anonymous token grants nothing here: the registry still says 401.
	tok=$(curl -sf "$t?service=ctrk-test-registry&scope=repository:test/single:pull" | jq -r .token)
	run -0 curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $tok" \
		"http://$a/v2/test/single/manifests/latest"
	assert_output 401
}

@test "token: with --creds gets a pull token for the repository" {
	: >"$REGISTRY_TOKEN_TOKEN_LOG"
	pull -0 --creds "$TEST_USER:$TEST_PASS" "$REGISTRY_TOKEN_ADDR/test/single"
	assert_descriptor
	assert_equal "$(jqo .image.digest)" "$DG"
	assert_no_secret
	store_verify
	# The token server saw the user and the pull scope of this repository,
	# for the service the registry named, and nothing wider than pull.
	run -0 jq -sr '[.[] | select(.result == 200)] | length' "$REGISTRY_TOKEN_TOKEN_LOG"
	[ "$output" -ge 1 ]
	run -0 jq -r 'select(.result == 200) | .user' "$REGISTRY_TOKEN_TOKEN_LOG"
	assert_line "$TEST_USER"
	run -0 jq -r 'select(.result == 200) | .service' "$REGISTRY_TOKEN_TOKEN_LOG"
	assert_line ctrk-test-registry
	run -0 jq -r 'select(.result == 200) | .scopes[]' "$REGISTRY_TOKEN_TOKEN_LOG"
	assert_line "repository:test/single:pull"
	refute_output --partial push
}

@test "token: with an auth file" {
	authfile "$BATS_TEST_TMPDIR/auth.json" "$REGISTRY_TOKEN_ADDR" "$TEST_USER" "$TEST_PASS"
	pull -0 --authfile "$BATS_TEST_TMPDIR/auth.json" "$REGISTRY_TOKEN_ADDR/test/single"
	assert_equal "$(jqo .image.digest)" "$DG"
}

@test "token: without credentials, a registry that wants them refuses" {
	local before
	before=$(store_snapshot)
	: >"$REGISTRY_TOKEN_TOKEN_LOG"
	pull -1 "$REGISTRY_TOKEN_ADDR/test/single"
	assert_error_message
	assert_regex "$stderr" '[uU]nauthori[sz]ed|401|authenticat|credentials|denied'
	assert_store_unchanged "$before"
	# It did go through the token flow (anonymously).
	run -0 jq -r '.user' "$REGISTRY_TOKEN_TOKEN_LOG"
	assert_line null
}

@test "token: a wrong password fails clearly and is never printed" {
	local before
	before=$(store_snapshot)
	pull -1 --creds "$TEST_USER:wrong-$TEST_PASS" "$REGISTRY_TOKEN_ADDR/test/single"
	assert_error_message
	assert_regex "$stderr" '[uU]nauthori[sz]ed|401|authenticat|credentials|denied|password'
	[[ $stderr != *"wrong-$TEST_PASS"* ]]
	assert_store_unchanged "$before"
	run -0 jq -r 'select(.result == 401) | .user' "$REGISTRY_TOKEN_TOKEN_LOG"
	assert_line "$TEST_USER"
}

@test "token: anonymous pull where the token server allows it" {
	: >"$REGISTRY_ANON_TOKEN_LOG"
	pull -0 "$REGISTRY_ANON_ADDR/test/single"
	assert_equal "$(jqo .image.digest)" "$DG"
	store_verify
	run -0 jq -r 'select(.result == 200) | .user' "$REGISTRY_ANON_TOKEN_LOG"
	assert_line null
	run -0 jq -r '.scopes[]' "$REGISTRY_ANON_TOKEN_LOG"
	assert_line "repository:test/single:pull"
}

# --- TLS ---------------------------------------------------------------------------

@test "tls: --ca-file" {
	pull -0 --ca-file "$REGISTRY_TLS_CA" "$REGISTRY_TLS_ADDR/test/single"
	assert_equal "$(jqo .image.digest)" "$DG"
	store_verify
}

@test "tls: localhost name matches the certificate too" {
	pull -0 --ca-file "$REGISTRY_TLS_CA" "localhost:$REGISTRY_TLS_PORT/test/single"
	assert_equal "$(jqo .image.digest)" "$DG"
}

@test "tls: an unknown CA is an error, not a fallback to HTTP" {
	local before
	before=$(store_snapshot)
	pull -1 "$REGISTRY_TLS_ADDR/test/single"
	assert_error_message
	assert_regex "$stderr" '[cC]ertificate|TLS|SSL|tls|ssl|x509|verif'
	# Falling back to HTTP would have met Go's "HTTP request to an HTTPS
	# server" 400 page instead: the message must be about the certificate.
	refute_regex "$stderr" '400|Bad Request'
	assert_equal "$output" ""
	assert_store_unchanged "$before"
}

@test "tls: --cert-dir with ca.crt" {
	pull -0 --cert-dir "$REGISTRY_TLS_CERTDIR" "$REGISTRY_TLS_ADDR/test/single"
	assert_equal "$(jqo .image.digest)" "$DG"
	store_verify
}

@test "tls: --cert-dir without ca.crt fails" {
	mkdir -p "$BATS_TEST_TMPDIR/empty-certs"
	pull -1 --cert-dir "$BATS_TEST_TMPDIR/empty-certs" "$REGISTRY_TLS_ADDR/test/single"
	assert_error_message
}

@test "tls: a CA for another server is refused" {
	make_ca "$BATS_TEST_TMPDIR/otherca"
	pull -1 --ca-file "$BATS_TEST_TMPDIR/otherca/ca.crt" "$REGISTRY_TLS_ADDR/test/single"
	assert_error_message
	assert_regex "$stderr" '[cC]ertificate|TLS|SSL|tls|ssl|x509|verif'
}

@test "tls and basic auth together" {
	pull -0 --ca-file "$REGISTRY_TLSBASIC_CA" --creds "$TEST_USER:$TEST_PASS" \
		"$REGISTRY_TLSBASIC_ADDR/test/single"
	assert_equal "$(jqo .image.digest)" "$DG"
	assert_no_secret
}
