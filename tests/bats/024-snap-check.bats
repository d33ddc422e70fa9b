#!/usr/bin/env bats
# ctrk-snap check and check --fix against what real killed commands leave:
# an unpack, a prepare, a remove and the first-use overlay probe are each
# stopped at a known point by strace (a delayed system call), checked while
# alive (in use: left alone), then killed with SIGKILL.  And the command
# line: the verb table's usage errors, and non-root refused in one line.

load helpers

setup() {
	ctrk_setup
	T=$BATS_TEST_TMPDIR
	SDIR=$CTRK_ROOT/snapshots/overlay
	META=$SDIR/metadata.json
}

# A stalled command is killed first, also when the test failed midway: a
# process stopped in strace's delay does not die of SIGTERM.
teardown() {
	local pid
	for pid in ${SNAP_PID:-} ${STRACE_PID:-}; do
		kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	unmount_test_mounts
	ctrk_teardown
}

# no_leak_check: ASAN_OPTIONS=... for a traced command (LeakSanitizer cannot
# run under ptrace).
no_leak_check() {
	printf 'ASAN_OPTIONS=%s' "${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
}

# stalled NAME INJECT ARGS...: ctrk-snap ARGS in the background under
# strace -f, with the fault INJECT (strace's -e inject=...) stalling it at a
# known system call.  Sets STRACE_PID and SNAP_PID (the traced ctrk-snap).
stalled() {
	local name=$1 inject=$2 i
	shift 2
	env "$(no_leak_check)" strace -f -qq -o "$T/$name.trace" -e "trace=${inject%%:*}" -e "inject=$inject" \
		ctrk-snap "$@" <"${SNAP_IN:-/dev/null}" >"$T/$name.out" 2>"$T/$name.err" &
	STRACE_PID=$!
	track_pid "$STRACE_PID"
	SNAP_PID=""
	for ((i = 0; i < 100; i++)); do
		SNAP_PID=$(pgrep -P "$STRACE_PID" -x ctrk-snap || true)
		[[ -z $SNAP_PID ]] || break
		sleep 0.05
	done
	[[ -n $SNAP_PID ]]
	track_pid "$SNAP_PID"
}

# wait_until DESCRIPTION COMMAND...: polls COMMAND for up to 20 s.
wait_until() {
	local what=$1 i
	shift
	for ((i = 0; i < 400; i++)); do
		"$@" && return 0
		sleep 0.05
	done
	echo "# gave up waiting for $what" >&3
	return 1
}

# unnamed_dirs: the snapshot directories no record in metadata.json names.
unnamed_dirs() {
	local named
	named=$( [[ -f $META ]] && jq -r '.snapshots[].id' "$META")
	find "$SDIR" -mindepth 1 -maxdepth 1 -type d -regex '.*/[0-9]+' -printf '%f\n' |
		grep -vxF -f <(printf '%s\n' $named) | sort -n || true
}

has_unnamed_dir() {
	[[ -n $(unnamed_dirs) ]]
}

# kill_stalled: SIGKILL the traced ctrk-snap, then wait for strace to end.
kill_stalled() {
	kill -KILL "$SNAP_PID"
	wait "$STRACE_PID" || true
	! kill -0 "$SNAP_PID" 2>/dev/null
}

# host_mounts_under DIR: the mount points under DIR in our mount namespace.
host_mounts_under() {
	awk '{print $5}' /proc/self/mountinfo | grep -F "$1/" || true
}

pull_single() {
	ctrk-pull -q "oci:$CTRK_FIXTURES:single" >"$T/single.json"
}

# --- leftovers of killed commands ----------------------------------------------

@test "a killed unpack: its directory is in use while it runs, then check --fix removes exactly it" {
	pull_single
	# Something recorded, to see that --fix leaves it.
	snap -0 prepare keep
	local keep_id
	keep_id=$(jq -r .snapshots.keep.id "$META")
	# Every write of layer data takes 0.3 s: the unpack crawls.
	SNAP_IN=$T/single.json stalled unpack pwrite64,pwritev,write:delay_exit=300000 unpack
	wait_until "the unpack's directory" has_unnamed_dir
	local id
	id=$(unnamed_dirs)
	[[ $id =~ ^[0-9]+$ ]]
	# Alive: in use, not a problem, and --fix leaves it.
	snap -0 check
	assert_output "in use: '$SDIR/$id' is held by a running process; left alone"
	assert_regex "$stderr" "1 in use"
	snap -0 check --fix
	assert_output "in use: '$SDIR/$id' is held by a running process; left alone"
	[[ -d $SDIR/$id/fs ]]
	kill_stalled
	# Killed: an orphan, found and removed; nothing else is touched.
	snap -1 check
	assert_output "orphan directory: '$SDIR/$id' belongs to no snapshot"
	assert_regex "$stderr" "found 1 problem in 'overlay'"
	snap -0 check --fix
	assert_output "removed orphan directory '$SDIR/$id' (it belongs to no snapshot)"
	assert_regex "$stderr" "note: removed 1 leftover in 'overlay'"
	[[ ! -e $SDIR/$id ]]
	[[ -d $SDIR/$keep_id/fs ]]
	snap -0 stat keep
	snap -0 check
	assert_output ""
	# The next unpack works, and leaves nothing.
	SNAP_IN=$T/single.json snap -0 unpack
	snap -0 check
	assert_output ""
	assert_equal "$(unnamed_dirs)" ""
}

@test "a killed prepare: its directory and the metadata temp file are removed by check --fix" {
	snap -0 prepare a
	snap -0 commit base a
	# The metadata save is the prepare's first rename: stall before it.
	stalled prepare rename,renameat,renameat2:delay_enter=30000000 prepare p1 base
	wait_until "the metadata temp file" compgen -G "$SDIR/.metadata.json.*"
	local id tmp
	id=$(unnamed_dirs)
	[[ $id =~ ^[0-9]+$ && -d $SDIR/$id/fs && -d $SDIR/$id/work ]]
	tmp=$(compgen -G "$SDIR/.metadata.json.*")
	kill_stalled
	[[ $(jq -r '.snapshots.p1' "$META") == null ]]
	snap -1 check
	assert_line "orphan directory: '$SDIR/$id' belongs to no snapshot"
	assert_line "temp file: '$tmp' is left from a metadata write"
	assert_equal "${#lines[@]}" 2
	snap -1 check --json
	assert_equal "$(jqs -c 'map([.problem, .path, .state]) | sort')" \
		"[[\"orphan directory\",\"$SDIR/$id\",\"found\"],[\"temp file\",\"$tmp\",\"found\"]]"
	snap -0 check --fix
	assert_line "removed orphan directory '$SDIR/$id' (it belongs to no snapshot)"
	assert_line "removed temp file '$tmp' (it is left from a metadata write)"
	assert_equal "${#lines[@]}" 2
	[[ ! -e $SDIR/$id && ! -e $tmp ]]
	snap -0 check
	assert_output ""
	# The key is free, and base and its directory are untouched.
	snap -0 prepare p1 base
	snap -0 check
	assert_output ""
}

@test "a killed remove: its trash is in use while it deletes, then check --fix removes it" {
	snap -0 prepare a
	local id
	id=$(jq -r .snapshots.a.id "$META")
	mkdir "$SDIR/$id/fs/d"
	touch "$SDIR/$id/fs/d/f1" "$SDIR/$id/fs/d/f2"
	# Deleting the trash is the first unlink: stall it.
	stalled remove unlink,unlinkat,rmdir:delay_enter=30000000 remove a
	wait_until "the trash directory" test -d "$SDIR/trash-$id"
	snap -0 check
	assert_output "in use: '$SDIR/trash-$id' is held by a running process; left alone"
	snap -0 check --fix
	[[ -d $SDIR/trash-$id ]]
	kill_stalled
	snap -1 check
	assert_output "orphan directory: '$SDIR/trash-$id' is left from a removal"
	snap -0 check --fix
	assert_output "removed orphan directory '$SDIR/trash-$id' (it is left from a removal)"
	[[ ! -e $SDIR/trash-$id ]]
	snap -0 check
	assert_output ""
}

@test "a killed overlay probe leaves no mount anywhere; check --fix removes its directory" {
	# A fresh store: the first command probes overlay.  Its second mount
	# (after making its mount namespace private) is the overlay: stall it
	# once it is mounted.
	stalled probe mount:delay_exit=30000000:when=2 list
	local child=""
	find_probe_child() {
		local p
		for p in $(pgrep -P "$SNAP_PID"); do
			grep -q " $SDIR/probe-[^ /]*/m .* overlay " "/proc/$p/mountinfo" 2>/dev/null && child=$p
		done
		[[ -n $child ]]
	}
	wait_until "the probe's overlay mount" find_probe_child
	track_pid "$child"
	# The mount exists, in the probe's namespace only.
	run -0 grep -c " $SDIR/probe-[^ /]*/m .* overlay " "/proc/$child/mountinfo"
	assert_output 1
	assert_equal "$(host_mounts_under "$CTRK_ROOT")" ""
	local probe
	probe=$(compgen -G "$SDIR/probe-*")
	[[ -d $probe/m ]]
	kill_stalled
	# The child died with its parent, and the mount with the child.
	wait_until "the probe's child to die" eval '! kill -0 "$child" 2>/dev/null'
	assert_equal "$(host_mounts_under "$CTRK_ROOT")" ""
	[[ -d $probe ]]
	snap -1 check
	assert_output "probe leftover: '$probe' is left from an overlay probe"
	snap -0 check --fix
	assert_output "removed probe leftover '$probe' (it is left from an overlay probe)"
	[[ ! -e $probe ]]
	# The next first use probes again and works.
	snap -0 prepare a
	snap -0 check
	assert_output ""
	run -0 ls -A "$SDIR"
	refute_output --partial probe-
}

@test "killing the probe's child: the command fails, and nothing is left" {
	stalled probe mount:delay_exit=30000000:when=2 list
	local child=""
	find_child() {
		child=$(pgrep -P "$SNAP_PID" || true)
		[[ -n $child ]] && grep -q " $SDIR/probe-" "/proc/$child/mountinfo" 2>/dev/null
	}
	wait_until "the probe's child" find_child
	kill -KILL "$child"
	wait "$STRACE_PID" || true
	# (strace's own complaints aside)
	run -0 grep '^ctrk-snap' "$T/probe.err"
	assert_output "ctrk-snap: error: opening the snapshots of driver 'overlay' in '$CTRK_ROOT': the overlay probe was killed by signal 9"
	run -0 ls -A "$SDIR"
	assert_output lock
	assert_equal "$(host_mounts_under "$CTRK_ROOT")" ""
}

@test "a probe leftover of an older ctrk-snap, mounted on the host, is unmounted and removed" {
	snap -0 prepare a
	# What a probe killed before this version left: an overlay on the host.
	local p=$SDIR/probe-4242
	mkdir -p "$p/l1" "$p/l2" "$p/u" "$p/w" "$p/m"
	mount -t overlay overlay -o "lowerdir=$p/l1:$p/l2,upperdir=$p/u,workdir=$p/w" "$p/m"
	snap -1 check
	assert_output "probe leftover: '$p' is left from an overlay probe, with its mount"
	snap -0 check --fix
	assert_output "removed probe leftover '$p' (it is left from an overlay probe, with its mount)"
	[[ ! -e $p ]]
	assert_equal "$(host_mounts_under "$SDIR")" ""
}

@test "check --fix leaves a directory a live process holds, and what the metadata names" {
	snap -0 prepare a
	snap -0 prepare --volatile v
	local aid vid
	aid=$(jq -r .snapshots.a.id "$META")
	vid=$(jq -r .snapshots.v.id "$SDIR/volatile.json")
	mkdir -p "$SDIR/90/fs" "$SDIR/91/fs"
	# Anyone holding the directory's flock keeps it.
	(
		exec 9<"$SDIR/90"
		flock 9
		exec sleep 60
	) &
	local holder=$!
	track_pid "$holder"
	wait_until "the lock on 90" eval '! flock -n "$SDIR/90" true'
	snap -0 check --fix
	assert_line "in use: '$SDIR/90' is held by a running process; left alone"
	assert_line "removed orphan directory '$SDIR/91' (it belongs to no snapshot)"
	assert_equal "${#lines[@]}" 2
	[[ -d $SDIR/90 && ! -e $SDIR/91 && -d $SDIR/$aid/fs && -d $SDIR/$vid/fs ]]
	# Garbage in volatile.json: it may name anything, so nothing is removed.
	kill "$holder"
	wait "$holder" || true
	wait_until "the lock on 90 to go" flock -n "$SDIR/90" true
	echo '{garbage' >"$SDIR/volatile.json"
	snap -1 check --fix
	assert_line "orphan directory: '$SDIR/90' belongs to no snapshot, but volatile.json cannot be read and may name it; left alone"
	assert_line "orphan directory: '$SDIR/$vid' belongs to no snapshot, but volatile.json cannot be read and may name it; left alone"
	assert_equal "${#lines[@]}" 2
	assert_regex "$stderr" "could not fix 2 problems in 'overlay'"
	[[ -d $SDIR/90 && -d $SDIR/$vid/fs ]]
	rm "$SDIR/volatile.json"
	snap -0 check --fix
	assert_line "removed orphan directory '$SDIR/$vid' (it belongs to no snapshot)"
	assert_line "removed orphan directory '$SDIR/90' (it belongs to no snapshot)"
	snap -0 check
	assert_output ""
	snap -0 stat a
}

@test "check --fix does not change metadata: a dangling parent is reported, exit 1" {
	snap -0 prepare a
	snap -0 commit base a
	snap -0 prepare b base
	jq '.snapshots.b.parent = "gone"' "$META" >"$T/meta" && cp "$T/meta" "$META"
	snap -1 check --fix
	assert_output "dangling parent: snapshot 'b' names parent 'gone', which does not exist; --fix does not change metadata"
	assert_regex "$stderr" "could not fix 1 problem"
	run -0 jq -r .snapshots.b.parent "$META"
	assert_output gone
}

# --- one shape for every command line -------------------------------------------

@test "extra or missing arguments are usage errors, and nothing is done" {
	snap -0 prepare a
	local before
	before=$(cat "$META")
	snap -2 stat a b
	assert_equal "$stderr" "ctrk-snap: error: 'stat' takes 1 argument, not 2
Try 'ctrk-snap --help' for more information."
	assert_output ""
	snap -2 list x
	assert_regex "$stderr" "^ctrk-snap: error: 'list' takes no arguments, not 1"
	snap -2 check x
	snap -2 commit base a extra
	assert_regex "$stderr" "'commit' takes 2 arguments, not 3"
	snap -2 prepare new base extra
	assert_regex "$stderr" "'prepare' takes at most 2 arguments, not 3"
	snap -2 remove a b
	assert_regex "$stderr" "'remove' takes at most 1 argument, not 2"
	snap -2 commit base
	snap -2 frobnicate
	assert_regex "$stderr" "unknown verb 'frobnicate'"
	snap -2 --fix list
	assert_regex "$stderr" "--fix is for check"
	assert_equal "$(cat "$META")" "$before"
	run -0 ls "$SDIR"
	assert_output "$(printf '%s\n' "$(jq -r .snapshots.a.id "$META")" lock metadata.json)"
}

@test "run as another user than root, ctrk-snap and ctrk-mount say so in one line and do nothing" {
	local as_nobody=(setpriv --reuid=65534 --regid=65534 --clear-groups)
	local verb
	for verb in list "stat a" "prepare a" "check --fix" "remove a"; do
		# shellcheck disable=SC2086
		run -1 --separate-stderr "${as_nobody[@]}" ctrk-snap $verb </dev/null
		assert_output ""
		assert_equal "$stderr" "ctrk-snap: error: must be run as root (effective uid 65534)"
	done
	[[ ! -e $CTRK_ROOT ]]
	run -1 --separate-stderr "${as_nobody[@]}" ctrk-mount --target "$T/mnt" \
		<<<'{"version": 1, "mounts": []}'
	assert_output ""
	assert_equal "$stderr" "ctrk-mount: error: must be run as root (effective uid 65534)"
	run -1 --separate-stderr "${as_nobody[@]}" ctrk-mount --unmount "$T/mnt"
	assert_equal "$stderr" "ctrk-mount: error: must be run as root (effective uid 65534)"
	[[ ! -e $T/mnt ]]
	# Help, versions and usage errors need no root.
	run -0 "${as_nobody[@]}" ctrk-snap --help
	assert_line --index 0 --partial "Usage: ctrk-snap"
	run -0 "${as_nobody[@]}" ctrk-mount --version
	run -2 --separate-stderr "${as_nobody[@]}" ctrk-snap stat a b
	run -2 --separate-stderr "${as_nobody[@]}" ctrk-mount --lazy
}
