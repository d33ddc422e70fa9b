#!/usr/bin/env bats
# What a registry or the network can do wrong, injected by
# tests/fixtures/fault-proxy.py in front of the real shared registry.

load helpers

setup() {
	ctrk_setup
}

teardown() {
	ctrk_teardown
}

# blob_gets LOG DIGEST: how many GETs of that blob the proxy saw.
blob_gets() {
	jq -r --arg d "$2" 'select(.method == "GET" and (.path | endswith("/blobs/" + $d))) | .path' "$1" | wc -l
}

layer0() {
	jq -r '.layers[0].digest' "$(fixture_blob "$(fixture_digest single)")"
}

config_of_single() {
	jq -r '.config.digest' "$(fixture_blob "$(fixture_digest single)")"
}

@test "5xx answers are retried until the blob arrives" {
	proxy_start f --fail-blob 2:503
	pull -0 -q "$PROXY_F_ADDR/test/single"
	assert_descriptor
	store_verify
	[ "$(blob_gets "$PROXY_F_LOG" "$(layer0)")" -eq 3 ]
}

@test "429 with Retry-After is honoured" {
	proxy_start f --fail-blob 1:429 --retry-after 2
	local t0=$SECONDS
	pull -0 -q "$PROXY_F_ADDR/test/single"
	store_verify
	[ $((SECONDS - t0)) -ge 2 ]
	[ "$(blob_gets "$PROXY_F_LOG" "$(layer0)")" -eq 2 ]
}

@test "a registry that keeps failing is a clear error and leaves the store unchanged" {
	proxy_start f --fail-blob 100:503
	local before
	before=$(store_snapshot)
	pull -1 -q --retries 1 "$PROXY_F_ADDR/test/single"
	assert_error_message
	assert_regex "$stderr" 'HTTP 503: injected'
	assert_store_unchanged "$before"
	# The config comes first; after it failed, no layer was asked for.
	[ "$(blob_gets "$PROXY_F_LOG" "$(config_of_single)")" -eq 2 ]
	[ "$(blob_gets "$PROXY_F_LOG" "$(layer0)")" -eq 0 ]
}

@test "a connection dropped mid-blob is resumed with a Range request" {
	proxy_start f --cut-blob 100000
	pull -0 -q "$PROXY_F_ADDR/test/single"
	store_verify
	run jq -r --arg d "$(layer0)" 'select(.path | endswith($d)) | .range // "none"' "$PROXY_F_LOG"
	assert_line --index 0 none
	assert_line --index 1 'bytes=100000-'
}

@test "a blob longer than its descriptor says is cut off and refused" {
	proxy_start f --extra-bytes 4096
	local before
	before=$(store_snapshot)
	pull -1 -q "$PROXY_F_ADDR/test/single"
	assert_regex "$stderr" 'longer than the [0-9]+ bytes its descriptor says'
	assert_store_unchanged "$before"
	run find "$CTRK_ROOT/ingest" -name 'sha256-*' -size +2000k
	assert_output ''
}

@test "a manifest over 4 MiB is refused" {
	proxy_start f --big-manifest 5000000
	pull -1 -q "$PROXY_F_ADDR/test/single"
	assert_regex "$stderr" "fetching manifest 'latest'.*larger than 4194304 bytes"
}

@test "credentials do not follow a redirect to another host" {
	registry_start auth htpasswd
	registry_push auth single
	UPSTREAM=$REGISTRY_AUTH_ADDR proxy_start cdn --upstream-auth "$REGISTRY_AUTH_USER:$REGISTRY_AUTH_PASS"
	# "localhost" and "127.0.0.1" are different origins to a client.
	UPSTREAM=$REGISTRY_AUTH_ADDR proxy_start front --redirect-blobs "http://localhost:${PROXY_CDN_ADDR#*:}"
	pull -0 -q --creds "$REGISTRY_AUTH_USER:$REGISTRY_AUTH_PASS" "$PROXY_FRONT_ADDR/test/single"
	store_verify
	# The registry itself got the credentials...
	run jq -s 'map(select(.path | test("/manifests/"))) | any(.auth)' "$PROXY_FRONT_LOG"
	assert_output true
	# ...the other host got the blob requests, and no credentials.
	run jq -s 'map(select(.path | test("/blobs/"))) | length' "$PROXY_CDN_LOG"
	refute_output 0
	run jq -s 'any(.auth)' "$PROXY_CDN_LOG"
	assert_output false
}

@test "HTTP_PROXY and NO_PROXY are honoured, in upper case too" {
	proxy_start fwd
	HTTP_PROXY="http://$PROXY_FWD_ADDR" pull -0 -q "$REGISTRY_SHARED_ADDR/test/single"
	store_verify
	run jq -s 'map(select(.forward)) | length' "$PROXY_FWD_LOG"
	refute_output 0

	: >"$PROXY_FWD_LOG"
	rm -rf "$CTRK_ROOT"
	HTTP_PROXY="http://$PROXY_FWD_ADDR" NO_PROXY=127.0.0.1 pull -0 -q "$REGISTRY_SHARED_ADDR/test/single"
	store_verify
	run cat "$PROXY_FWD_LOG"
	assert_output ''
}
