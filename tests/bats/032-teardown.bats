#!/usr/bin/env bats
# Teardown through the descriptor (issue 9 part 5, ctrk-descriptor(5)):
# `ctrk-mount --unmount | ctrk-snap remove` undoes `ctrk-snap prepare |
# ctrk-mount`, passes every other field on, can run twice, and fails closed
# when a step fails.

load helpers

setup() {
	ctrk_setup
	T=$BATS_TEST_TMPDIR
	ctrk-pull -q "oci:$CTRK_FIXTURES:single" >/dev/null
}

teardown() {
	ctrk_teardown
	unmount_under "$T"
}

# start KEY [DRIVER]: prepare | mount, with an unknown field added; the
# descriptor in $T/d.json.
start() {
	ctrk-snap -d "${2:-overlay}" prepare --image "oci:$CTRK_FIXTURES:single" "$1" </dev/null |
		ctrk-mount | jq -c '.extra = {"kept": [1, "two"]}' >"$T/d.json"
	[[ -n $(jq -r .rootfs "$T/d.json") ]]
}

# teardown_pipe: `ctrk-mount --unmount < $T/d.json | ctrk-snap remove`,
# stdout in $output, the two stderrs in $T/mount.err and $T/snap.err, the
# status of ctrk-snap in $status.
teardown_pipe() {
	run bash -c 'ctrk-mount --unmount <"$1/d.json" 2>"$1/mount.err" | ctrk-snap remove 2>"$1/snap.err"' _ "$T"
	printf '# stdout: %s\n# mount: %s\n# snap: %s\n' "$output" "$(cat "$T/mount.err")" "$(cat "$T/snap.err")"
}

# assert_torn_down KEY: no mount, no snapshot, nothing in $CTRK_RUN, and
# the output is the descriptor without snapshot, rootfs and rootfs mounts.
assert_torn_down() {
	run mounts_under "$T"
	assert_output ""
	run ctrk-snap stat "$1"
	assert_failure 1
	run find "$CTRK_RUN" -mindepth 1
	assert_output ""
	assert_equal "$(jq -cS . <<<"$OUT")" \
		"$(jq -cS 'del(.snapshot, .rootfs) | .mounts |= map(select(.target != "/")) |
			if .mounts == [] then del(.mounts) else . end' "$T/d.json")"
	assert_equal "$(jq -c '[.snapshot, .rootfs, .mounts]' <<<"$OUT")" '[null,null,null]'
	assert_equal "$(jq -c .extra <<<"$OUT")" '{"kept":[1,"two"]}'
	assert_equal "$(jq -cS .image <<<"$OUT")" "$(jq -cS .image "$T/d.json")"
	assert_equal "$(jq -c .version <<<"$OUT")" 1
}

@test "mount --unmount | snap remove undoes prepare | mount; other fields pass through" {
	start td-c1
	teardown_pipe
	assert_success
	OUT=$output
	assert_equal "$(cat "$T/mount.err")" ""
	assert_equal "$(cat "$T/snap.err")" ""
	assert_torn_down td-c1
}

@test "teardown run twice: it succeeds again, with notes, and prints the same" {
	start td-c2
	teardown_pipe
	assert_success
	local first=$output
	teardown_pipe
	assert_success
	OUT=$output
	assert_equal "$output" "$first"
	assert_equal "$(cat "$T/mount.err")" "ctrk-mount: note: '$CTRK_RUN/td-c2/rootfs' was already unmounted"
	assert_equal "$(cat "$T/snap.err")" "ctrk-snap: note: snapshot 'td-c2' was already removed"
	assert_torn_down td-c2

	# With the whole store gone too: the same, and the store is not made again.
	rm -rf "$CTRK_ROOT/snapshots/overlay"
	teardown_pipe
	assert_success
	assert_equal "$output" "$first"
	assert_equal "$(cat "$T/snap.err")" "ctrk-snap: note: snapshot 'td-c2' was already removed"
	[[ ! -e $CTRK_ROOT/snapshots/overlay ]]
}

@test "native: the descriptor's driver is used without --driver" {
	start td-n1 native
	teardown_pipe
	assert_success
	OUT=$output
	assert_torn_down td-n1
	run ctrk-snap -d native list
	refute_output --partial td-n1
}

@test "a busy rootfs: unmount fails, nothing printed, remove fails and keeps the snapshot; later it works" {
	start td-busy
	local rootfs
	rootfs=$(jq -r .rootfs "$T/d.json")
	(cd "$rootfs" && exec sleep 300) 3>&- &
	local pid=$! i
	track_pid "$pid"
	for ((i = 0; i < 50; i++)); do
		[[ $(readlink "/proc/$pid/cwd") == "$rootfs" ]] && break
		sleep 0.1
	done
	teardown_pipe
	assert_failure 1
	assert_output ""
	grep -q "^ctrk-mount: error: cannot unmount '$rootfs': it is busy (processes use it: $pid (sleep))" "$T/mount.err"
	assert_equal "$(cat "$T/snap.err")" "ctrk-snap: error: no descriptor on stdin (empty input)"
	ctrk-snap stat td-busy >/dev/null
	findmnt "$rootfs" >/dev/null

	kill_pid "$pid" || true
	teardown_pipe
	assert_success
	OUT=$output
	assert_torn_down td-busy
}

@test "no rootfs, no snapshot: each step says there is nothing to do and passes it on" {
	local d='{"version":1,"image":{"x":1},"mounts":[{"type":"tmpfs","source":"tmpfs","target":"/tmp"}]}'
	run --separate-stderr ctrk-mount --unmount <<<"$d"
	assert_success
	assert_equal "$(jq -cS . <<<"$output")" "$(jq -cS . <<<"$d")"
	assert_equal "$stderr" "ctrk-mount: note: the descriptor has no 'rootfs': nothing to unmount"
	run --separate-stderr ctrk-snap remove <<<"$d"
	assert_success
	assert_equal "$(jq -cS . <<<"$output")" "$(jq -cS . <<<"$d")"
	assert_equal "$stderr" "ctrk-snap: note: the descriptor has no 'snapshot': nothing to remove"
}

@test "remove keeps the container's mounts and drops only the rootfs ones" {
	ctrk-snap prepare --image "oci:$CTRK_FIXTURES:single" td-m </dev/null |
		jq -c '.mounts += [{"type":"tmpfs","source":"tmpfs","target":"/tmp"}]' >"$T/p.json"
	run --separate-stderr ctrk-snap remove <"$T/p.json"
	assert_success
	assert_equal "$(jq -c .mounts <<<"$output")" '[{"type":"tmpfs","source":"tmpfs","target":"/tmp"}]'
	run ctrk-snap stat td-m
	assert_failure 1
}

@test "remove by descriptor refuses a mounted snapshot and prints nothing" {
	start td-mounted
	run --separate-stderr ctrk-snap remove <"$T/d.json"
	assert_failure 1
	assert_output ""
	[[ $stderr == *"snapshot 'td-mounted' is mounted on '$CTRK_RUN/td-mounted/rootfs'"* ]]
	ctrk-snap stat td-mounted >/dev/null
}

@test "empty stdin is an error for both; named KEY or TARGET print nothing; usage errors" {
	run --separate-stderr ctrk-mount --unmount </dev/null
	assert_failure 1
	assert_equal "$stderr" "ctrk-mount: error: no descriptor on stdin (empty input)"
	run --separate-stderr ctrk-snap remove </dev/null
	assert_failure 1
	assert_equal "$stderr" "ctrk-snap: error: no descriptor on stdin (empty input)"

	ctrk-snap prepare td-named </dev/null >/dev/null
	run --separate-stderr ctrk-snap remove td-named <<<'{"version":1}'
	assert_success
	assert_output ""
	run ctrk-snap remove a b
	assert_failure 2
	run ctrk-mount --unmount --force
	assert_failure 2
}
