#!/usr/bin/env bats
# ctrk-run's half of teardown (see ctrk-descriptor(5), "Teardown"): the
# saved descriptor, `delete` printing it without "container", the
# tombstone, idempotent delete; and `stop` with the image's StopSignal.

load helpers

setup() {
	ctrk_setup
	export CTRK_RUNTIME=runc
	T=$BATS_TEST_TMPDIR
	C=$(cid c)
	container_rootfs "$C"
	D=$T/$C.json
}

teardown() {
	run_teardown
}

# same_json A B: the files hold the same JSON document.
same_json() {
	assert_equal "$(jq -S . "$1")" "$(jq -S . "$2")"
}

@test "run saves descriptor.json (0600); delete prints it without 'container', the rest unchanged" {
	ctrk-run run -d "$C" -- sleep 1000 <"$D" >"$T/out.json"
	local saved=$CTRK_RUN/$C/descriptor.json
	assert_equal "$(stat -c %a "$saved")" 600
	assert_equal "$(jq -r .container.id "$saved")" "$C"
	assert_equal "$(jq -S 'del(.container)' "$saved")" "$(jq -S . "$D")"
	run --separate-stderr ctrk-run delete --force "$C"
	assert_success
	echo "$output" >"$T/deleted.json"
	assert_equal "$(jq 'has("container")' "$T/deleted.json")" false
	same_json "$T/deleted.json" "$D"
	[[ ! -e $CTRK_RUN/$C/descriptor.json ]]
}

@test "delete keeps a tombstone; delete again notes it and prints the same descriptor; a new run removes it" {
	ctrk-run run -d "$C" -- sleep 1000 <"$D" >/dev/null
	ctrk-run delete --force "$C" >"$T/first.json"
	local tomb=$CTRK_RUN/deleted/$C.json
	assert_equal "$(stat -c %a "$CTRK_RUN/deleted")" 700
	assert_equal "$(stat -c %a "$tomb")" 600
	same_json "$tomb" "$D"
	# Again: exit 0, a note, the same descriptor (also with --force).
	run --separate-stderr ctrk-run delete "$C" </dev/null
	assert_success
	assert_equal "$stderr" "ctrk-run: note: container '$C' was already deleted"
	echo "$output" >"$T/second.json"
	same_json "$T/second.json" "$D"
	run --separate-stderr ctrk-run delete --force "$C" </dev/null
	assert_success
	echo "$output" >"$T/third.json"
	same_json "$T/third.json" "$D"
	# A new container with that id: the tombstone goes.
	ctrk-run run --rm "$C" -- true <"$D"
	[[ ! -e $tomb ]]
}

@test "delete of a container never seen: the descriptor on stdin without 'container', else only the version" {
	run --separate-stderr ctrk-run delete "$(cid never)" </dev/null
	assert_success
	assert_equal "$(jq -c . <<<"$output")" '{"version":1}'
	assert_equal "$stderr" "ctrk-run: note: container '$(cid never)' was already deleted"
	jq '.container = {"id": "x"}' "$D" >"$T/with.json"
	run --separate-stderr ctrk-run delete "$(cid never)" <"$T/with.json"
	assert_success
	echo "$output" >"$T/out.json"
	same_json "$T/out.json" "$D"
	# Garbage on stdin fails closed: nothing on stdout.
	echo 'not json' >"$T/bad"
	run --separate-stderr ctrk-run delete "$(cid never)" <"$T/bad"
	assert_failure 1
	assert_output ""
}

@test "delete: several ids print nothing; a refused delete prints nothing" {
	local c2
	c2=$(cid c2)
	ctrk-run run -d "$C" -- sleep 1000 <"$D" >/dev/null
	run --separate-stderr ctrk-run delete "$C"
	assert_failure 1
	assert_output ""
	assert_run_error "is running"
	run --separate-stderr ctrk-run delete --force "$C" "$c2" </dev/null
	assert_success
	assert_output ""
	assert_equal "$stderr" "ctrk-run: note: container '$c2' was already deleted"
	run ctrk-run list -q
	assert_output ""
}

@test "stop: TERM, then KILL after -t; a stopped container stops again without error" {
	ctrk-run run -d "$C" -- sh -c 'trap "echo ignored TERM" TERM; while :; do sleep 0.1; done' <"$D" >/dev/null
	sleep 0.3 # let the trap be set
	SECONDS=0
	run ctrk-run stop -t 1 "$C"
	assert_success
	((SECONDS >= 1 && SECONDS < 6))
	assert_equal "$(ctrk-run state "$C" | jq -c '[.status, .exitCode]')" '["stopped",137]'
	run ctrk-run logs "$C"
	assert_output --partial "ignored TERM"
	run ctrk-run stop "$C"
	assert_success
	run --separate-stderr ctrk-run stop "$(cid nosuch)"
	assert_failure 1
	assert_run_error "no container"
}

@test "stop: a process that ends on TERM ends at once, with its own status" {
	ctrk-run run -d "$C" -- sh -c 'trap "exit 42" TERM; while :; do sleep 0.1; done' <"$D" >/dev/null
	sleep 0.3
	SECONDS=0
	ctrk-run stop "$C"
	((SECONDS < 3))
	run ctrk-run wait "$C"
	assert_failure 42
}

@test "stop sends the image's StopSignal" {
	jq '.image.config.StopSignal = "SIGUSR1"' "$D" >"$T/usr1.json"
	ctrk-run run -d "$C" -- sh -c 'trap "exit 11" USR1; trap "exit 22" TERM; while :; do sleep 0.1; done' \
		<"$T/usr1.json" >/dev/null
	sleep 0.3
	ctrk-run stop -t 5 "$C"
	run ctrk-run wait "$C"
	assert_failure 11
	# A StopSignal that is no signal is an error, and nothing is sent.
	ctrk-run delete "$C" >/dev/null
	jq '.image.config.StopSignal = "SIGNOPE"' "$D" >"$T/bad.json"
	ctrk-run run -d "$C" -- sleep 1000 <"$T/bad.json" >/dev/null
	run --separate-stderr ctrk-run stop "$C"
	assert_failure 1
	assert_run_error "invalid signal 'SIGNOPE'"
	assert_equal "$(ctrk-run state "$C" | jq -r .status)" running
}

# Needs ctrk-mount --unmount and ctrk-snap remove reading the descriptor on
# stdin (issue 9 part 5: their halves are on another branch).
@test "teardown pipeline: delete --force | ctrk-mount --unmount | ctrk-snap remove undoes prepare | mount | run -d, twice" {
	local k
	k=$(cid pipe)
	run --separate-stderr bash -c "ctrk-snap prepare --image oci:$CTRK_FIXTURES:single $k </dev/null |
		ctrk-mount | ctrk-run run -d $k -- sleep 1000"
	assert_success
	echo "$output" >"$T/up.json"
	assert_equal "$(jq -r .container.status "$T/up.json")" running
	local down="ctrk-run delete --force $k | ctrk-mount --unmount | ctrk-snap remove"
	run --separate-stderr bash -c "$down"
	assert_success
	echo "$output" >"$T/down.json"
	# What is left is what came before prepare: the image, the version.
	assert_equal "$(jq -c '[has("container"), has("rootfs"), has("snapshot")]' "$T/down.json")" '[false,false,false]'
	assert_equal "$(jq -c '[.mounts // [] | .[] | select(.target == "/")] | length' "$T/down.json")" 0
	assert_equal "$(jq -S .image "$T/down.json")" "$(jq -S .image "$T/up.json")"
	run ctrk-run list -q
	assert_output ""
	run findmnt -rn -o TARGET
	refute_output --partial "$CTRK_RUN/$k"
	[[ ! -e $CTRK_RUN/$k ]]
	run ctrk-snap list
	refute_output --partial "$k"
	# Again: each step notes its part was already gone, and succeeds with
	# the same descriptor.
	run --separate-stderr bash -c "$down"
	assert_success
	echo "$output" >"$T/again.json"
	same_json "$T/again.json" "$T/down.json"
	[[ $stderr == *"ctrk-run: note: container '$k' was already deleted"* ]]
}

@test "a start that fails keeps its descriptor: the teardown pipeline still takes rootfs and snapshot down" {
	local k
	k=$(cid fail)
	ctrk-snap prepare --image "oci:$CTRK_FIXTURES:single" "$k" </dev/null | ctrk-mount >"$T/$k.json"
	run -127 --separate-stderr ctrk-run run -d "$k" -- /no/such/command <"$T/$k.json"
	assert_failure 127
	assert_equal "$(stat -c %a "$CTRK_RUN/deleted/$k.json")" 600
	run --separate-stderr bash -c "ctrk-run delete $k | ctrk-mount --unmount | ctrk-snap remove"
	assert_success
	[[ $stderr == *"ctrk-run: note: container '$k' was already deleted"* ]]
	assert_equal "$(jq -c '[has("container"), has("rootfs"), has("snapshot")]' <<<"$output")" '[false,false,false]'
	run findmnt -rn -o TARGET
	refute_output --partial "$CTRK_RUN/$k"
	run ctrk-snap list
	refute_output --partial "$k"
	# Refused before the runtime ran (the rootfs is another container's):
	# no tombstone, so a teardown cannot take that container's rootfs.
	local other
	other=$(cid other)
	container_rootfs "$other"
	ctrk-run run -d "$other" -- sleep 1000 <"$T/$other.json" >/dev/null
	run --separate-stderr ctrk-run run -d "$k-2" -- true <"$T/$other.json"
	assert_failure 125
	[[ ! -e $CTRK_RUN/deleted/$k-2.json ]]
}
