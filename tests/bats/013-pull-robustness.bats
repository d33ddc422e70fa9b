#!/usr/bin/env bats
# ctrk-pull when things go wrong: corrupted blobs, a pull killed midway,
# concurrent pulls, bad input, an unreachable registry; and the options that
# only print (--help, --version).

load helpers

BIG_MB=96

setup_file() {
	# A separate image with one ~100 MB incompressible layer, in a registry
	# of its own (the tests stop and kill around it).
	export BIG_LAYOUT="$BATS_FILE_TMPDIR/big"
	sh "$CTRK_TESTS_DIR/fixtures/mkimages.sh" --big "$BIG_MB" "$BIG_LAYOUT"
	REGISTRY_ACCESSLOG=1 registry_start big plain
	PUSH_LAYOUT=$BIG_LAYOUT registry_push big big
	export REGISTRY_BIG_ADDR REGISTRY_BIG_DIR REGISTRY_BIG_PID
}

teardown_file() {
	ctrk_teardown_file
}

setup() {
	ctrk_setup
}

teardown() {
	ctrk_teardown
}

# big_layer: digest and size of the big layer.
big_layer() {
	local m
	m=$BIG_LAYOUT/blobs/sha256/$(jq -r '.manifests[0].digest | ltrimstr("sha256:")' "$BIG_LAYOUT/index.json")
	jq -r '.layers[-1] | .digest + " " + (.size | tostring)' "$m"
}

# corrupt FILE: overwrite a few bytes in the middle, keeping the size.
corrupt() {
	printf 'CORRUPTED' | dd of="$1" bs=1 seek=$(($(stat -c %s "$1") / 2)) conv=notrunc status=none
}

# --- corrupted content ----------------------------------------------------

# kill_when_partial PID: waits until more than 1 MiB of the big layer is
# in ingest/ (the small layer is under 1 MiB), SIGKILLs PID at once, and
# prints the partial file's path (nothing if PID ended first).
kill_when_partial() {
	local pid=$1 i part=""
	for ((i = 0; i < 3000; i++)); do
		part=$(find "$CTRK_ROOT/ingest" -type f -size +1M 2>/dev/null | head -1)
		[[ -n $part ]] && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.01
	done
	kill -KILL "$pid" 2>/dev/null || true
	echo "$part"
}

@test "a layer corrupted in the registry's storage is refused, nothing stored" {
	registry_start corrupt plain
	registry_push corrupt single
	local m l before
	m=$(fixture_blob "$(fixture_digest single)")
	l=$(jq -r '.layers[0].digest' "$m")
	corrupt "$(registry_blob_path corrupt "$l")"
	# The registry now serves wrong bytes under the layer's digest.
	run -0 bash -c "curl -s http://$REGISTRY_CORRUPT_ADDR/v2/test/single/blobs/$l | sha256sum"
	refute_output --partial "${l#sha256:}"

	before=$(store_snapshot)
	pull -1 --retries 0 "$REGISTRY_CORRUPT_ADDR/test/single"
	assert_error_message
	assert_equal "$output" ""
	assert_regex "$stderr" 'digest|sha256|mismatch|verif|corrupt'
	assert_store_unchanged "$before"
	[ ! -e "$(store_blob "$l")" ]
}

@test "a config corrupted in the registry's storage is refused, nothing stored" {
	registry_start corrupt plain
	registry_push corrupt single
	local c before
	c=$(jq -r '.config.digest' "$(fixture_blob "$(fixture_digest single)")")
	corrupt "$(registry_blob_path corrupt "$c")"
	before=$(store_snapshot)
	pull -1 --retries 0 "$REGISTRY_CORRUPT_ADDR/test/single"
	assert_error_message
	assert_equal "$output" ""
	assert_store_unchanged "$before"
}

@test "after a refused corrupt pull, a good pull of the image works" {
	registry_start corrupt plain
	registry_push corrupt single
	local l p saved
	l=$(jq -r '.layers[0].digest' "$(fixture_blob "$(fixture_digest single)")")
	p=$(registry_blob_path corrupt "$l")
	saved=$BATS_TEST_TMPDIR/saved
	cp "$p" "$saved"
	corrupt "$p"
	pull -1 --retries 0 "$REGISTRY_CORRUPT_ADDR/test/single"
	cp "$saved" "$p"
	pull -0 "$REGISTRY_CORRUPT_ADDR/test/single"
	assert_equal "$(jqo .image.digest)" "$(fixture_digest single)"
	store_verify
}

# --- killed midway, concurrent -------------------------------------------

@test "SIGKILL in the middle of a pull, then the pull again completes" {
	local dg size pid st i part=""
	read -r dg size < <(big_layer)
	ctrk-pull --jobs 1 "$REGISTRY_BIG_ADDR/test/big" \
		>"$BATS_TEST_TMPDIR/out1" 2>"$BATS_TEST_TMPDIR/err1" 3>&- &
	pid=$!
	track_pid "$pid"
	part=$(kill_when_partial "$pid")
	st=0
	wait "$pid" || st=$?
	if [[ -z $part ]]; then
		echo "no partial download appeared in $CTRK_ROOT/ingest (exit $st):" \
			"$(cat "$BATS_TEST_TMPDIR/err1")" | fail
	fi
	# It was killed, not finished.
	assert_equal "$st" 137
	[ ! -e "$(store_blob "$dg")" ]
	# What is there is a prefix of the layer, shorter than it.
	local have
	have=$(stat -c %s "$part")
	[ "$have" -lt "$size" ]
	cmp -n "$have" "$part" "$BIG_LAYOUT/blobs/sha256/${dg#sha256:}"
	# No ref for a half-pulled image.
	if [[ -f $CTRK_ROOT/content/index.json ]]; then
		run -0 store_refs
		refute_output --partial test/big
	fi

	pull -0 "$REGISTRY_BIG_ADDR/test/big"
	assert_descriptor
	assert_equal "$(jqo '.image.layers[-1].digest')" "$dg"
	store_verify
	cmp "$(store_blob "$dg")" "$BIG_LAYOUT/blobs/sha256/${dg#sha256:}"
	run -0 store_refs
	assert_line "$REGISTRY_BIG_ADDR/test/big:latest"
	run -0 ingest_files
	assert_output ""
}

@test "a killed pull is resumed with a range request, not started over" {
	local dg size pid i part="" log=$REGISTRY_BIG_DIR/registry.log n
	read -r dg size < <(big_layer)
	ctrk-pull --jobs 1 "$REGISTRY_BIG_ADDR/test/big" >/dev/null 2>&1 3>&- &
	pid=$!
	track_pid "$pid"
	part=$(kill_when_partial "$pid")
	wait "$pid" || true
	[[ -n $part ]]
	n=$(wc -l <"$log")
	pull -0 "$REGISTRY_BIG_ADDR/test/big"
	store_verify
	# The second run's GET of the big layer was answered 206 Partial Content.
	run -0 bash -c "tail -n +$((n + 1)) '$log' | grep 'GET /v2/test/big/blobs/$dg'"
	assert_output --regexp '" 206 '
}

@test "two concurrent pulls of one image both succeed, one copy in the store" {
	local dg p1 p2 s1=0 s2=0
	read -r dg _ < <(big_layer)
	ctrk-pull "$REGISTRY_BIG_ADDR/test/big" >"$BATS_TEST_TMPDIR/o1" 2>"$BATS_TEST_TMPDIR/e1" 3>&- &
	p1=$!
	track_pid "$p1"
	ctrk-pull "$REGISTRY_BIG_ADDR/test/big" >"$BATS_TEST_TMPDIR/o2" 2>"$BATS_TEST_TMPDIR/e2" 3>&- &
	p2=$!
	track_pid "$p2"
	wait "$p1" || s1=$?
	wait "$p2" || s2=$?
	assert_equal "$s1 $s2" "0 0"
	assert_equal "$(jq -r .image.digest "$BATS_TEST_TMPDIR/o1")" "$(jq -r .image.digest "$BATS_TEST_TMPDIR/o2")"
	assert_equal "$(jq -r '.image.layers[-1].digest' "$BATS_TEST_TMPDIR/o1")" "$dg"
	store_verify
	cmp "$(store_blob "$dg")" "$BIG_LAYOUT/blobs/sha256/${dg#sha256:}"
	# One index entry for the ref, and no leftovers.
	run -0 jq --arg r "$REGISTRY_BIG_ADDR/test/big:latest" \
		'[.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] == $r)] | length' \
		"$CTRK_ROOT/content/index.json"
	assert_output 1
	run -0 ingest_files
	assert_output ""
	run -0 find "$CTRK_ROOT/content" -name '*.tmp*'
	assert_output ""
}

@test "concurrent pulls of different images keep both refs" {
	local p1 p2 s1=0 s2=0 a=$REGISTRY_SHARED_ADDR
	ctrk-pull "$a/test/single" >/dev/null 2>"$BATS_TEST_TMPDIR/e1" 3>&- &
	p1=$!
	track_pid "$p1"
	ctrk-pull "$a/test/multi" >/dev/null 2>"$BATS_TEST_TMPDIR/e2" 3>&- &
	p2=$!
	track_pid "$p2"
	wait "$p1" || s1=$?
	wait "$p2" || s2=$?
	assert_equal "$s1 $s2" "0 0"
	store_verify
	run -0 store_refs
	assert_line "$a/test/single:latest"
	assert_line "$a/test/multi:latest"
}

# --- bad input ------------------------------------------------------------

@test "bad references are errors, store unchanged" {
	local before ref
	before=$(store_snapshot)
	for ref in 'UPPER/Case' 'a b' "$REGISTRY_SHARED_ADDR/test/single@sha256:abc" \
		"$REGISTRY_SHARED_ADDR/test/single:" ':latest' 'test//single' "$REGISTRY_SHARED_ADDR/test/single:bad*tag"; do
		pull "$ref"
		if [[ $status != 1 && $status != 2 ]]; then
			echo "ref '$ref': exit $status, want 1 or 2" | fail
		fi
		assert_error_message
		assert_equal "$output" ""
	done
	assert_store_unchanged "$before"
}

@test "an unknown flag is a usage error (exit 2)" {
	pull -2 --no-such-flag "$REGISTRY_SHARED_ADDR/test/single"
	assert_regex "$stderr" 'no-such-flag'
	assert_equal "$output" ""
	[ ! -e "$CTRK_ROOT/content/index.json" ] ||
		[ "$(jq '.manifests | length' "$CTRK_ROOT/content/index.json")" = 0 ]
}

@test "a missing SOURCE is a usage error (exit 2)" {
	pull -2
	[ -n "$stderr" ]
	assert_equal "$output" ""
}

@test "two SOURCEs are a usage error (exit 2)" {
	pull -2 "$REGISTRY_SHARED_ADDR/test/single" "$REGISTRY_SHARED_ADDR/test/multi"
	assert_equal "$output" ""
}

@test "a bad --jobs value is a usage error (exit 2)" {
	pull -2 --jobs abc "$REGISTRY_SHARED_ADDR/test/single"
	pull -2 --jobs 0 "$REGISTRY_SHARED_ADDR/test/single"
}

@test "an unreachable registry is a clear error, store unchanged" {
	local before
	before=$(store_snapshot)
	SECONDS=0
	run -1 --separate-stderr timeout 120 ctrk-pull --retries 1 127.0.0.1:1/test/single
	assert_error_message
	assert_regex "$stderr" '127\.0\.0\.1:1'
	assert_equal "$output" ""
	assert_store_unchanged "$before"
	[ "$SECONDS" -lt 60 ]
}

# --- quiet, help, version -----------------------------------------------------

@test "-q: the descriptor and nothing on stderr" {
	pull -0 -q "$REGISTRY_SHARED_ADDR/test/single"
	assert_descriptor
	assert_equal "$stderr" ""
}

@test "-j 1 and -j 8 give the same result" {
	pull -0 -j 1 "$REGISTRY_SHARED_ADDR/test/multi"
	local one=$output
	rm -rf "$CTRK_ROOT"
	pull -0 --jobs 8 "$REGISTRY_SHARED_ADDR/test/multi"
	assert_equal "$(jq -cS '.image | del(.root)' <<<"$output")" "$(jq -cS '.image | del(.root)' <<<"$one")"
	store_verify
}

@test "--help prints usage and exits 0" {
	pull -0 --help
	assert_output --partial ctrk-pull
	assert_output --partial -- --platform
	assert_output --partial -- --creds
	pull -0 -h
	assert_output --partial -- --root
}

@test "--version prints the version and exits 0" {
	pull -0 --version
	assert_output --regexp '[0-9]+\.[0-9]+\.[0-9]+'
}

@test "an archive pull sweeps extraction directories left by a killed pull, not live ones" {
	mkdir -p "$CTRK_ROOT/ingest/extract-stale/blobs"
	echo junk >"$CTRK_ROOT/ingest/extract-stale/blobs/x"
	mkdir -p "$CTRK_ROOT/ingest/extract-live"
	# A live pull holds a lock on its directory.
	flock "$CTRK_ROOT/ingest/extract-live" sleep 30 &
	local holder=$!
	track_pid "$holder"
	sleep 0.2
	pull -0 -q "oci-archive:$CTRK_FIXTURE_OCI_ARCHIVE:single"
	[ ! -e "$CTRK_ROOT/ingest/extract-stale" ]
	[ -d "$CTRK_ROOT/ingest/extract-live" ]
	run ls "$CTRK_ROOT/ingest"
	refute_output --partial extract-stale
}
