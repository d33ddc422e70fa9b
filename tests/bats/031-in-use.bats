#!/usr/bin/env bats
# What is in use cannot be pulled out from under it (issue 9 part 4):
# ctrk-snap remove refuses a mounted snapshot, ctrk-mount refuses a
# writable snapshot that is mounted already, each naming the mount point,
# and of parallel attempts exactly one wins.  Real overlayfs and bind
# mounts under $BATS_TEST_TMPDIR.

load helpers

setup() {
	ctrk_setup
	T=$BATS_TEST_TMPDIR
	ctrk-pull -q "oci:$CTRK_FIXTURES:single" >"$T/image.json"
}

teardown() {
	local id
	for id in $(ctrk-run list -q 2>/dev/null); do
		ctrk-run delete --force "$id" || true
	done
	ctrk_teardown
	unmount_under "$T"
}

# prepare DRIVER KEY [view]: snapshot KEY of the fixture image; its
# descriptor in $T/KEY.json.
prepare() {
	local verb=prepare
	[[ ${3:-} == view ]] && verb=view
	ctrk-snap -d "$1" "$verb" --image "oci:$CTRK_FIXTURES:single" "$2" </dev/null >"$T/$2.json"
}

# snapshot_exists DRIVER KEY
snapshot_exists() {
	ctrk-snap -d "$1" stat "$2" >/dev/null 2>&1
}

remove_refused_while_mounted() {
	local drv=$1 key=inuse-$1
	prepare "$drv" "$key"
	run --separate-stderr ctrk-mount --target "$T/r1" <"$T/$key.json"
	assert_success
	echo data >"$T/r1/kept"

	run --separate-stderr ctrk-snap -d "$drv" remove "$key"
	assert_failure 1
	assert_equal "$stderr" "ctrk-snap: error: cannot remove '$key': snapshot '$key' is mounted on '$T/r1': unmount it first (or --force)"
	snapshot_exists "$drv" "$key"
	assert_equal "$(cat "$T/r1/kept")" data

	# The pipeline's default target, too.
	prepare "$drv" "$key-2"
	ctrk-mount <"$T/$key-2.json" >"$T/d2.json"
	run --separate-stderr ctrk-snap -d "$drv" remove "$key-2"
	assert_failure 1
	assert_output ""
	[[ $stderr == *"is mounted on '$CTRK_RUN/$key-2/rootfs'"* ]]

	# Unmounted, it goes.
	ctrk-mount --unmount "$T/r1"
	ctrk-snap -d "$drv" remove "$key"
	! snapshot_exists "$drv" "$key"
	ctrk-mount --unmount "$CTRK_RUN/$key-2/rootfs"
	ctrk-snap -d "$drv" remove "$key-2"
}

@test "overlay: a mounted snapshot is not removed; the message names the mount point" {
	remove_refused_while_mounted overlay
}

@test "native: a mounted snapshot is not removed; the message names the mount point" {
	remove_refused_while_mounted native
}

mounted_twice_refused() {
	local drv=$1 key=inuse-twice-$1
	prepare "$drv" "$key"
	ctrk-mount --target "$T/r1" <"$T/$key.json" >/dev/null
	run --separate-stderr ctrk-mount --target "$T/r2" <"$T/$key.json"
	assert_failure 1
	assert_output ""
	assert_equal "$stderr" "ctrk-mount: error: snapshot '$key' is mounted on '$T/r1': unmount it first (or --force)"
	# Nothing mounted, and the target it would have created is not left.
	run mounts_under "$T/r2"
	assert_output ""
	[[ ! -e $T/r2 ]]
}

@test "overlay: the same writable snapshot is not mounted twice" {
	mounted_twice_refused overlay
}

@test "native: the same writable snapshot is not mounted twice; --force mounts it anyway" {
	mounted_twice_refused native
	ctrk-mount --force --target "$T/r2" <"$T/inuse-twice-native.json" >/dev/null
	echo x >"$T/r1/both"
	assert_equal "$(cat "$T/r2/both")" x
}

@test "an overlay descriptor without a snapshot: its upperdir in use is refused, naming the mount" {
	mkdir -p "$T/l" "$T/u" "$T/w"
	local d
	d=$(jq -cn --arg t "$T" '{mounts: [{type: "overlay", source: "overlay", target: "/",
		options: ["lowerdir=\($t)/l", "upperdir=\($t)/u", "workdir=\($t)/w"]}]}')
	ctrk-mount --target "$T/r1" <<<"$d" >/dev/null
	run --separate-stderr ctrk-mount --target "$T/r2" <<<"$d"
	assert_failure 1
	assert_equal "$stderr" "ctrk-mount: error: '$T/u' is in use by the mount on '$T/r1': unmount it first (or --force)"
}

@test "a view is read-only: it may be mounted twice, and is not removed while mounted" {
	prepare overlay inuse-view view
	ctrk-mount --target "$T/v1" <"$T/inuse-view.json" >/dev/null
	ctrk-mount --target "$T/v2" <"$T/inuse-view.json" >/dev/null
	[[ -n $(ls "$T/v2") ]]
	run --separate-stderr ctrk-snap remove inuse-view
	assert_failure 1
	[[ $stderr == *"snapshot 'inuse-view' is mounted on '$T/v1', '$T/v2'"* ]]
	snapshot_exists overlay inuse-view
}

@test "remove --force detaches the mounts that use the snapshot, says so, and removes it" {
	prepare overlay inuse-force
	ctrk-mount --target "$T/r1" <"$T/inuse-force.json" >/dev/null
	mkdir -p "$T/r1/sub" && mount -t tmpfs tmpfs "$T/r1/sub"
	run --separate-stderr ctrk-snap remove --force inuse-force
	assert_success
	assert_equal "$stderr" "ctrk-snap: warning: detached '$T/r1', which used snapshot 'inuse-force'"
	! snapshot_exists overlay inuse-force
	run mounts_under "$T"
	assert_output ""
	run ctrk-snap check
	assert_success
	# --force goes only with remove.
	run ctrk-snap --force list
	assert_failure 2
}

# parallel N CMD...: runs CMD with $i set, N times at once; the exit codes
# in $T/rc.N, stderr in $T/err.N.
parallel() {
	local n=$1 i
	shift
	for ((i = 0; i < n; i++)); do
		(
			rc=0
			"$@" "$i" 2>"$T/err.$i" || rc=$?
			echo "$rc" >"$T/rc.$i"
		) &
	done
	wait
}

mount_to() {
	ctrk-mount --target "$T/p$1" <"$T/inuse-par.json" >/dev/null
}

@test "8 parallel mounts of one writable snapshot: exactly one wins, 7 are refused" {
	local round i won refused
	for round in 1 2 3; do
		prepare overlay inuse-par
		parallel 8 mount_to
		won=0 refused=0
		for ((i = 0; i < 8; i++)); do
			if [[ $(cat "$T/rc.$i") == 0 ]]; then
				won=$((won + 1))
			else
				grep -q "snapshot 'inuse-par' is mounted on '$T/p" "$T/err.$i"
				refused=$((refused + 1))
			fi
		done
		assert_equal "$won/$refused" 1/7
		assert_equal "$(mounts_under "$T" | wc -l)" 1
		ctrk-mount --unmount "$(mounts_under "$T")"
		rm -rf "$T"/p?
		ctrk-snap remove inuse-par
	done
}

remove_it() {
	ctrk-snap remove inuse-rm
}

@test "8 parallel removes of a mounted snapshot: all are refused" {
	prepare overlay inuse-rm
	ctrk-mount --target "$T/r1" <"$T/inuse-rm.json" >/dev/null
	parallel 8 remove_it
	local i
	for ((i = 0; i < 8; i++)); do
		assert_equal "$(cat "$T/rc.$i")" 1
		grep -q "snapshot 'inuse-rm' is mounted on '$T/r1'" "$T/err.$i"
	done
	snapshot_exists overlay inuse-rm
	findmnt "$T/r1" >/dev/null
}

@test "remove racing mount: never a mounted snapshot that is removed" {
	local i mounted removed both=0 mounts=0 removes=0
	for ((i = 0; i < 12; i++)); do
		prepare "$([[ $((i % 2)) == 0 ]] && echo overlay || echo native)" "inuse-race$i"
	done
	for ((i = 0; i < 12; i++)); do
		local drv=overlay
		((i % 2)) && drv=native
		ctrk-mount --target "$T/m$i" <"$T/inuse-race$i.json" >/dev/null 2>&1 &
		ctrk-snap -d "$drv" remove "inuse-race$i" 2>/dev/null &
		wait
		mounted=0 removed=0
		findmnt "$T/m$i" >/dev/null && mounted=1
		snapshot_exists "$drv" "inuse-race$i" || removed=1
		# One of the two, never both and never neither.
		assert_equal "$((mounted + removed))" 1
		mounts=$((mounts + mounted))
		removes=$((removes + removed))
		if ((mounted)); then
			ls "$T/m$i" >/dev/null
			ctrk-mount --unmount "$T/m$i"
			ctrk-snap -d "$drv" remove "inuse-race$i"
		fi
	done
	echo "# $mounts mounted first, $removes removed first" >&3
	run ctrk-snap check
	assert_success
	run ctrk-snap -d native check
	assert_success
}

@test "another mount namespace's copy counts: refused also with --force until its process is gone" {
	prepare overlay inuse-ns
	ctrk-mount --target "$T/r1" <"$T/inuse-ns.json" >/dev/null
	unshare -m --propagation private sleep 300 3>&- &
	local pid=$! i
	track_pid "$pid"
	for ((i = 0; i < 50; i++)); do
		[[ $(readlink "/proc/$pid/ns/mnt") != "$(readlink /proc/self/ns/mnt)" ]] &&
			grep -q " $T/r1 " "/proc/$pid/mountinfo" && break
		sleep 0.1
	done
	# Gone from the host's namespace, not from the other one.
	ctrk-mount --unmount "$T/r1"
	run --separate-stderr ctrk-snap remove inuse-ns
	assert_failure 1
	assert_equal "$stderr" "ctrk-snap: error: cannot remove 'inuse-ns': snapshot 'inuse-ns' is mounted on '$T/r1' (in the mount namespace of process $pid): unmount it first (or --force)"
	run --separate-stderr ctrk-snap remove --force inuse-ns
	assert_failure 1
	[[ $stderr == *"(in the mount namespace of process $pid): stop what runs there first" ]]
	run --separate-stderr ctrk-mount --target "$T/r2" <"$T/inuse-ns.json"
	assert_failure 1
	[[ $stderr == *"snapshot 'inuse-ns' is mounted on '$T/r1' (in the mount namespace of process $pid)"* ]]
	snapshot_exists overlay inuse-ns

	kill_pid "$pid" || true
	ctrk-snap remove inuse-ns
	! snapshot_exists overlay inuse-ns
}

@test "a running container (runc) whose rootfs the host unmounted: its snapshot is not removed" {
	export CTRK_RUNTIME=runc
	local c
	c=$(cid snapmount-inuse)
	container_rootfs "$c"
	ctrk-run run -d "$c" -- sleep 1000 <"$T/$c.json" >/dev/null
	wait_running "$c"
	# ctrk-run's owner holds the rootfs open while the container runs, so
	# a plain unmount is refused as busy; a lazy one detaches it anyway.
	run ctrk-mount --unmount "$CTRK_RUN/$c/rootfs"
	assert_failure 1
	ctrk-mount --unmount --lazy "$CTRK_RUN/$c/rootfs"
	run mounts_under "$CTRK_RUN/$c/rootfs"
	assert_output ""

	run --separate-stderr ctrk-snap remove "$c"
	assert_failure 1
	[[ $stderr == *"snapshot '$c' is mounted on '/' (in the mount namespace of process "*"): unmount it first (or --force)" ]]
	run --separate-stderr ctrk-snap remove --force "$c"
	assert_failure 1
	[[ $stderr == *"stop what runs there first" ]]
	run --separate-stderr ctrk-mount --target "$T/again" <"$T/$c.json"
	assert_failure 1
	[[ $stderr == *"snapshot '$c' is mounted on '/' (in the mount namespace of process "* ]]
	assert_equal "$(ctrk-run state "$c" | jq -r .status)" running

	ctrk-run delete --force "$c" >/dev/null
	ctrk-snap remove "$c"
	! snapshot_exists overlay "$c"
}
