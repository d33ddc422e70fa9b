#!/usr/bin/env bats
# Two state directories ($CTRK_RUN) never see or touch each other's
# containers, even with the same ids: each has its own runtime state root
# ($CTRK_RUN/runtime/RUNTIME) and its own cgroup parent.  Every test runs
# with runc and with crun.

load helpers

setup() {
	ctrk_setup
	T=$BATS_TEST_TMPDIR
	A=$CTRK_RUN
	B=$T/run-b
	ID=$(cid c)
	container_rootfs "$(cid a)"
	CTRK_RUN=$B container_rootfs "$(cid b)"
	DA=$T/$(cid a).json
	DB=$T/$(cid b).json
}

teardown() {
	run_teardown "$B" ${C3:+"$C3"}
}

# at RUN ARGS...: ctrk-run ARGS with CTRK_RUN=RUN.
at() {
	local r=$1
	shift
	CTRK_RUN=$r ctrk-run "$@"
}

# both_run RUNTIME: $ID runs detached in A and in B; pids in $PA and $PB.
both_run() {
	export CTRK_RUNTIME=$1
	at "$A" run -d "$ID" -- sleep 1000 <"$DA" >"$T/a.json"
	at "$B" run -d "$ID" -- sleep 1000 <"$DB" >"$T/b.json"
	PA=$(jq -r .container.pid "$T/a.json")
	PB=$(jq -r .container.pid "$T/b.json")
	kill -0 "$PA"
	kill -0 "$PB"
	[[ $PA != "$PB" ]]
}

# cgroup_procs RUN: the processes in $ID's pids cgroup of state dir RUN
# (v1 or hybrid: the pids controller; pure v2: the unified tree).
cgroup_procs() {
	local p
	p=$(cgroup_parent "$1")
	if [[ -d /sys/fs/cgroup/pids ]]; then
		cat "/sys/fs/cgroup/pids/$p/$ID/cgroup.procs"
	else
		cat "/sys/fs/cgroup/$p/$ID/cgroup.procs"
	fi
}

same_id_in_two_dirs() {
	local rt=$1
	both_run "$rt"
	# Each state directory has its own runtime root, and the runtime
	# there knows only its own container.
	assert_equal "$(jq -r .container.runtimeRoot "$T/a.json")" "$(realpath "$A")/runtime/$rt"
	assert_equal "$(jq -r .container.runtimeRoot "$T/b.json")" "$(realpath "$B")/runtime/$rt"
	assert_equal "$("$rt" --root "$A/runtime/$rt" state "$ID" | jq -r .pid)" "$PA"
	assert_equal "$("$rt" --root "$B/runtime/$rt" state "$ID" | jq -r .pid)" "$PB"
	# ... and its own cgroup parent.
	[[ $(cgroup_parent "$A") != "$(cgroup_parent "$B")" ]]
	run cgroup_procs "$A"
	assert_output "$PA"
	run cgroup_procs "$B"
	assert_output "$PB"
	# list and state in each show only its own.
	run at "$A" list -q
	assert_output "$ID"
	assert_equal "$(at "$A" list --json | jq -c '[.[].pid]')" "[$PA]"
	assert_equal "$(at "$B" list --json | jq -c '[.[].pid]')" "[$PB]"
	assert_equal "$(at "$B" state "$ID" | jq -r .pid)" "$PB"
	# exec, kill and wait reach the container of their own directory.
	run at "$A" exec "$ID" sh -c 'echo $$; cat /proc/1/cmdline | tr "\0" " "'
	assert_success
	at "$A" kill "$ID" KILL
	run at "$A" wait "$ID"
	assert_failure 137
	kill -0 "$PB"
	assert_equal "$(at "$B" state "$ID" | jq -r .status)" running
	# delete in one leaves the other running.
	at "$A" delete "$ID" >/dev/null
	run at "$A" list -q
	assert_output ""
	kill -0 "$PB"
	assert_equal "$("$rt" --root "$B/runtime/$rt" state "$ID" | jq -r .status)" running
	# A's cgroup parent is gone with its last container; B's is there.
	run ls -d /sys/fs/cgroup/*/"$(cgroup_parent "$A")" /sys/fs/cgroup/"$(cgroup_parent "$A")"
	assert_failure
	run cgroup_procs "$B"
	assert_output "$PB"
	at "$B" delete --force "$ID" >/dev/null
	run ! kill -0 "$PB"
}

@test "runc: the same id in two state directories: both run; list, exec, kill, delete stay in their own" {
	same_id_in_two_dirs runc
}

@test "crun: the same id in two state directories: both run; list, exec, kill, delete stay in their own" {
	same_id_in_two_dirs crun
}

taken_id_left_alone() {
	local rt=$1
	both_run "$rt"
	# A taken id in the same state directory: refused, nothing changes.
	run --separate-stderr at "$A" run -d "$ID" -- true <"$DA"
	assert_failure 125
	assert_run_error "container '$ID' already exists"
	kill -0 "$PA"
	# A third state directory pointed at B's runtime root, where the id is
	# taken: refused with a clear message, and B's container runs on.
	C3=$T/run-c
	CTRK_RUN=$C3 container_rootfs "$(cid c3)"
	run --separate-stderr at "$C3" run -d --runtime-root "$B/runtime/$rt" "$ID" -- true <"$T/$(cid c3).json"
	assert_failure 125
	assert_run_error "$rt already has a container '$ID'"
	kill -0 "$PB"
	assert_equal "$("$rt" --root "$B/runtime/$rt" state "$ID" | jq -r .status)" running
	assert_equal "$(at "$B" state "$ID" | jq -r .status)" running
	# ... and in the foreground too.
	run --separate-stderr at "$C3" run --rm --runtime-root "$B/runtime/$rt" "$ID" -- true <"$T/$(cid c3).json"
	assert_failure 125
	kill -0 "$PB"
	run at "$C3" list -q
	assert_output ""
	assert_equal "$(at "$A" state "$ID" | jq -r .status)" running
	assert_equal "$(at "$B" state "$ID" | jq -r .status)" running
}

@test "runc: a run whose id is taken fails and leaves the other container running" {
	taken_id_left_alone runc
}

@test "crun: a run whose id is taken fails and leaves the other container running" {
	taken_id_left_alone crun
}

@test "--runtime-root is used by every verb" {
	export CTRK_RUNTIME=runc
	local root=$T/rr
	at "$A" run -d --runtime-root "$root" "$ID" -- sleep 1000 <"$DA" >"$T/a.json"
	assert_equal "$(jq -r .container.runtimeRoot "$T/a.json")" "$root"
	assert_equal "$(runc --root "$root" state "$ID" | jq -r .status)" running
	[[ ! -e $A/runtime/runc/$ID ]]
	run at "$A" exec "$ID" true
	assert_success
	assert_equal "$(at "$A" state "$ID" | jq -r .status)" running
	at "$A" delete --force "$ID" >/dev/null
	run runc --root "$root" state "$ID"
	assert_failure
}

# --- one container per root file system --------------------------------------

@test "a second container on a rootfs in use is refused, naming the first; --force overrides" {
	export CTRK_RUNTIME=runc
	local c1 c2
	c1=$(cid r1) c2=$(cid r2)
	at "$A" run -d "$c1" -- sleep 1000 <"$DA" >/dev/null
	run --separate-stderr at "$A" run -d "$c2" -- sleep 1000 <"$DA"
	assert_failure 125
	assert_run_error "root file system '$(jq -r .rootfs "$DA")' is in use by container '$c1'"
	assert_output ""
	run at "$A" list -q
	assert_output "$c1"
	[[ ! -e $A/$c2 ]]
	# In the foreground too, and from another state directory (by the
	# owner's pid: the container is not in that one's list).
	run --separate-stderr at "$A" run --rm "$c2" -- true <"$DA"
	assert_failure 125
	assert_run_error "is in use by container '$c1'"
	run --separate-stderr at "$B" run --rm --rootfs "$(jq -r .rootfs "$DA")" "$c2" -- true
	assert_failure 125
	assert_run_error "is in use by another container (owner pid"
	# --force says otherwise.
	run at "$A" run --rm --force "$c2" -- echo forced <"$DA"
	assert_success
	assert_output forced
	# A stopped container no longer uses it.
	at "$A" kill "$c1" KILL
	run at "$A" wait "$c1"
	assert_failure 137
	run at "$A" run --rm "$c2" -- echo after <"$DA"
	assert_success
	assert_output after
}

@test "8 parallel runs on one rootfs: exactly one wins, 7 are refused" {
	export CTRK_RUNTIME=runc
	local i pids=() st won=0 refused=0
	for i in 0 1 2 3 4 5 6 7; do
		at "$A" run -d "$(cid p$i)" -- sleep 1000 <"$DA" >"$T/p$i.out" 2>"$T/p$i.err" &
		pids+=($!)
	done
	for i in 0 1 2 3 4 5 6 7; do
		st=0
		wait "${pids[i]}" || st=$?
		if ((st == 0)); then
			won=$((won + 1))
		elif ((st == 125)) && grep -q "is in use by" "$T/p$i.err"; then
			refused=$((refused + 1))
		else
			echo "# run $i: exit $st: $(cat "$T/p$i.err")" >&3
		fi
	done
	assert_equal "$won" 1
	assert_equal "$refused" 7
	run at "$A" list -q
	assert_equal "${#lines[@]}" 1
	assert_equal "$(at "$A" state "${lines[0]}" | jq -r .status)" running
	# The refused ones left nothing.
	run bash -c "ls -d '$A'/$(cid p)* | wc -l"
	assert_output 1
}

@test "a runtime that keeps its state elsewhere: its own 'already exists' still leaves the other container alone" {
	# runc with its state one level below --root, so that ctrk-run's look
	# for ROOT/ID misses it and only the runtime's own refusal is left.
	mkdir -p "$T/bin"
	cat >"$T/bin/runc-sub" <<-'SH'
		#!/bin/sh
		if [ "$1" = --root ]; then
			root=$2/sub
			shift 2
			exec runc --root "$root" "$@"
		fi
		exec runc "$@"
	SH
	chmod +x "$T/bin/runc-sub"
	export CTRK_RUNTIME=$T/bin/runc-sub
	at "$A" run -d "$ID" -- sleep 1000 <"$DA" >"$T/a.json"
	PA=$(jq -r .container.pid "$T/a.json")
	assert_equal "$(runc --root "$A/runtime/runc-sub/sub" state "$ID" | jq -r .status)" running
	C3=$T/run-c
	CTRK_RUN=$C3 container_rootfs "$(cid c3)"
	run --separate-stderr at "$C3" run -d --runtime-root "$A/runtime/runc-sub" "$ID" -- true <"$T/$(cid c3).json"
	assert_failure 125
	assert_run_error "already exists"
	run --separate-stderr at "$C3" run --rm --runtime-root "$A/runtime/runc-sub" "$ID" -- true <"$T/$(cid c3).json"
	assert_failure 125
	assert_run_error "already exists"
	kill -0 "$PA"
	assert_equal "$(runc --root "$A/runtime/runc-sub/sub" state "$ID" | jq -r .status)" running
	assert_equal "$(at "$A" state "$ID" | jq -r .status)" running
	run at "$C3" list -q
	assert_output ""
	at "$A" delete --force "$ID" >/dev/null
	run ! kill -0 "$PA"
}
