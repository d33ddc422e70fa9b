#!/usr/bin/env bats
# ctrk-run's seccomp filter, seen from inside real containers: Docker's
# default profile, its capability conditions, --security-opt
# seccomp=unconfined|FILE, --privileged.  The runtime is runc;
# 046-run-seccomp-crun.bats is this file under another name, run with crun
# (the name picks it, through $CTRK_RUNTIME).
#
# tests/fixtures/syscall-probe.c, built static here and copied into the
# container, makes each call with harmless arguments and prints its errno:
# EPERM is the filter's answer (Docker's defaultAction SCMP_ACT_ERRNO), the
# kernel's own for these arguments is EINVAL, ENOSYS or success.

load helpers

setup_file() {
	export PROBE=$BATS_FILE_TMPDIR/syscall-probe
	gcc -static -O2 -o "$PROBE" "$CTRK_TESTS_DIR/fixtures/syscall-probe.c"
}

setup() {
	ctrk_setup
	export CTRK_RUNTIME=runc
	[[ $BATS_TEST_FILENAME != *crun* ]] || CTRK_RUNTIME=crun
	T=$BATS_TEST_TMPDIR
	C=$(cid c)
	container_rootfs "$C"
	D=$T/$C.json
	cp "$PROBE" "$(jq -r .rootfs "$D")/bin/syscall-probe"
}

teardown() {
	run_teardown
}

teardown_file() {
	ctrk_teardown_file
}

# probe [OPTION]... -- CALL...: the probe's lines for CALL... in $output.
probe() {
	local opts=()
	while [[ $1 != -- ]]; do
		opts+=("$1")
		shift
	done
	shift
	r -0 "${opts[@]}" -- syscall-probe "$@"
}

# profile FILE JSON: a profile written to FILE.
profile() {
	printf '%s\n' "$2" >"$1"
}

@test "default profile: busybox, a pipeline and socket calls run" {
	r -0 -- sh -c 'echo hello | tr a-z A-Z | sed s/L/l/g; ls /bin | grep -c "^sh$"; id -u'
	assert_output "HEllO
1
0"
	probe -- socket socketpair
	assert_output "socket ok
socketpair ok"
}

@test "default profile: config.json has it, resolved for the capabilities" {
	run -0 --separate-stderr ctrk-run config "$C" -- true <"$D"
	jq -e '.linux.seccomp | .defaultAction == "SCMP_ACT_ERRNO" and (.architectures | length > 0)
		and (.syscalls | length > 5)' <<<"$output"
	# Without CAP_SYS_ADMIN: clone3 is ENOSYS (glibc falls back to clone),
	# unshare is not allowed; with it, both are.
	jq -e '[.linux.seccomp.syscalls[] | select(.names | index("clone3"))] == [{"names": ["clone3"],
		"action": "SCMP_ACT_ERRNO", "errnoRet": 38}]' <<<"$output"
	jq -e '[.linux.seccomp.syscalls[].names[]] | index("unshare") == null' <<<"$output"
	run -0 --separate-stderr ctrk-run config --cap-add SYS_ADMIN "$C" -- true <"$D"
	jq -e '[.linux.seccomp.syscalls[] | select(.names | index("clone3")) | .action] == ["SCMP_ACT_ALLOW"]' \
		<<<"$output"
	jq -e '[.linux.seccomp.syscalls[].names[]] | index("unshare") != null' <<<"$output"
}

@test "default profile: unshare, keyctl, add_key, kexec_load, clock_settime, personality fail with EPERM" {
	probe -- unshare-user keyctl add_key kexec_load clock_settime personality clone3
	assert_output "unshare-user EPERM
keyctl EPERM
add_key EPERM
kexec_load EPERM
clock_settime EPERM
personality EPERM
clone3 ENOSYS"
}

@test "exec: a process exec'd into the container gets its filter" {
	ctrk-run run -d "$C" -- sleep 1000 <"$D" >/dev/null
	run -0 --separate-stderr ctrk-run exec "$C" syscall-probe keyctl personality
	assert_output "keyctl EPERM
personality EPERM"
	C2=$(cid u)
	container_rootfs "$C2"
	cp "$PROBE" "$(jq -r .rootfs "$T/$C2.json")/bin/syscall-probe"
	ctrk-run run -d --security-opt seccomp=unconfined "$C2" -- sleep 1000 <"$T/$C2.json" >/dev/null
	run -0 --separate-stderr ctrk-run exec "$C2" syscall-probe keyctl personality
	assert_output "keyctl ok
personality ok"
}

@test "seccomp=unconfined: no filter; the same calls get the kernel's own answers" {
	run -0 --separate-stderr ctrk-run config --security-opt seccomp=unconfined "$C" -- true <"$D"
	jq -e '.linux | has("seccomp") | not' <<<"$output"
	probe --security-opt seccomp=unconfined -- unshare-user keyctl add_key clock_settime personality clone3
	assert_output "unshare-user ok
keyctl ok
add_key EINVAL
clock_settime EINVAL
personality ok
clone3 EINVAL"
}

@test "default profile: a capability added opens the calls the profile ties to it" {
	probe --cap-add SYS_ADMIN -- unshare-user clone3 keyctl
	assert_output "unshare-user ok
clone3 EINVAL
keyctl EPERM"
	probe --cap-add SYS_TIME -- clock_settime unshare-user
	assert_output "clock_settime EINVAL
unshare-user EPERM"
}

@test "--privileged: no filter" {
	run -0 --separate-stderr ctrk-run config --privileged "$C" -- true <"$D"
	jq -e '.linux | has("seccomp") | not' <<<"$output"
	probe --privileged -- keyctl add_key personality clone3 kexec_load
	# kexec_load: ENOSYS without kexec in the kernel, else EINVAL (flags)
	# now that CAP_SYS_BOOT is there; EPERM only from a filter (or a
	# lockdown this test does not expect).
	assert_line --index 0 "keyctl ok"
	assert_line --index 1 "add_key EINVAL"
	assert_line --index 2 "personality ok"
	assert_line --index 3 "clone3 EINVAL"
	assert_line --index 4 --regexp "^kexec_load (ENOSYS|EINVAL)$"
}

@test "seccomp=FILE: the profile's rules, actions, errnoRet and conditions apply" {
	profile "$T/p.json" '{
		"defaultAction": "SCMP_ACT_ALLOW",
		"archMap": [{"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86"]},
			    {"architecture": "SCMP_ARCH_AARCH64", "subArchitectures": null}],
		"syscalls": [
			{"names": ["keyctl"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13},
			{"name": "add_key", "action": "SCMP_ACT_ERRNO", "comment": "old form"},
			{"names": ["personality"], "action": "SCMP_ACT_ERRNO", "errnoRet": 22,
			 "args": [{"index": 0, "value": 262144, "op": "SCMP_CMP_EQ"}]},
			{"names": ["clock_settime"], "action": "SCMP_ACT_ERRNO", "errnoRet": 16,
			 "includes": {"caps": ["CAP_SYS_TIME"]}},
			{"names": ["socketpair"], "action": "SCMP_ACT_ERRNO", "errnoRet": 19,
			 "excludes": {"caps": ["CAP_NET_RAW"]}}
		]}'
	probe --security-opt "seccomp=$T/p.json" -- keyctl add_key personality clock_settime socketpair socket
	assert_output "keyctl EACCES
add_key EPERM
personality EINVAL
clock_settime EINVAL
socketpair ok
socket ok"
	probe --security-opt "seccomp=$T/p.json" --cap-add SYS_TIME --cap-drop NET_RAW -- clock_settime socketpair
	assert_output "clock_settime EBUSY
socketpair ENODEV"
	# An explicit profile is kept with --privileged (Docker drops it).
	probe --privileged --security-opt "seccomp=$T/p.json" -- keyctl
	assert_output "keyctl EACCES"
}

@test "seccomp=FILE: a bad profile is refused naming the field; nothing starts" {
	local p=$T/p.json
	bad() {
		profile "$p" "$1"
		run -1 --separate-stderr ctrk-run config --security-opt "seccomp=$p" "$C" -- true <"$D"
		assert_run_error "$2"
	}
	bad '{"defaultAction": "SCMP_ACT_FOO"}' "seccomp profile '$p': field 'defaultAction': unknown action 'SCMP_ACT_FOO'"
	bad '{"syscalls": []}' "seccomp profile '$p': missing field 'defaultAction'"
	bad '{"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_Z80"]}' \
		"field 'architectures': unknown architecture 'SCMP_ARCH_Z80'"
	bad '{"defaultAction": "SCMP_ACT_ERRNO", "archMap": [{"architecture": "x86_64"}]}' \
		"archMap[0]: field 'architecture': unknown architecture 'x86_64'"
	bad '{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": "read", "action": "SCMP_ACT_ALLOW"}]}' \
		"syscalls[0]: field 'names' must be an array"
	bad '{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALOW"}]}' \
		"syscalls[0]: field 'action': unknown action 'SCMP_ACT_ALOW'"
	bad '{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW",
		"exclude": {"caps": ["CAP_SYS_ADMIN"]}}]}' "syscalls[0]: unknown field 'exclude'"
	bad '{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW",
		"includes": {"arches": ["amd65"]}}]}' "syscalls[0].includes: field 'arches': unknown architecture 'amd65'"
	bad '{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW",
		"includes": {"caps": ["CAP_SYS_ADMN"]}}]}' "field 'caps': unknown capability 'CAP_SYS_ADMN'"
	bad '{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW",
		"args": [{"index": 6, "value": 1, "op": "SCMP_CMP_EQ"}]}]}' \
		"syscalls[0].args[0]: field 'index' must be an integer from 0 to 5"
	bad '{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW",
		"args": [{"index": 0, "value": 1, "op": "SCMP_CMP_EQUAL"}]}]}' \
		"field 'op': unknown operator 'SCMP_CMP_EQUAL'"
	bad '{"defaultAction": "SCMP_ACT_ERRNO", "defaultAction": "SCMP_ACT_ALLOW"}' "key 'defaultAction' appears twice"
	bad '{"defaultAction": "SCMP_ACT_ERRNO",' "seccomp profile"
	run -1 --separate-stderr ctrk-run config --security-opt "seccomp=$T/none.json" "$C" -- true <"$D"
	assert_run_error "reading the seccomp profile: "
	# run: the same error, and no container is left.
	profile "$p" '{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": 1}]}'
	r -125 --security-opt "seccomp=$p" -- true
	assert_run_error "syscalls[0]: field 'action' must be a string"
	run -0 ctrk-run list -q
	assert_output ""
}

# crun_here ARGS...: crun, in a mount namespace without the cgroup2
# "unified" tree on a hybrid cgroup host (crun 1.8 refuses those; ctrk-run
# does the same for it).
crun_here() {
	unshare -m --propagation slave busybox sh -c 'umount -l /sys/fs/cgroup/unified 2>/dev/null; exec crun "$@"' \
		crun "$@"
}

# same_actions_as_crun CONFIG: crun creates a container from CONFIG without
# the annotation; the program it compiled itself (linear) and the
# annotation's (a binary tree) must give the same action for every call
# (test-run-seccomp-bpf --compare runs both in an emulator), and differ
# in layout.  crun's is also the unit test's reference, byte for byte (the
# linear layout of the same libseccomp calls).
same_actions_as_crun() {
	local id b=$T/bundle
	id=$(cid cmp)
	mkdir -p "$b" "$T/croot"
	jq -r '.annotations["run.oci.seccomp_bpf_data"]' "$1" | base64 -d >"$T/ahead.bpf"
	jq --arg cg "/$(cgroup_parent)/$id" 'del(.annotations) | .linux.cgroupsPath = $cg' "$1" >"$b/config.json"
	crun_here --root "$T/croot" create -b "$b" "$id" </dev/null
	cp "$T/croot/$id/seccomp.bpf" "$T/crun.bpf"
	crun_here --root "$T/croot" delete -f "$id"
	[[ -s $T/ahead.bpf ]]
	run -0 "$CTRK_BUILD/tests/test-run-seccomp-bpf" --compare "$T/crun.bpf" "$T/ahead.bpf" "$1"
	assert_line --regexp '^0 of [0-9]+ inputs differ'
	! cmp -s "$T/crun.bpf" "$T/ahead.bpf"
	"$CTRK_BUILD/tests/test-run-seccomp-bpf" --linear "$1" "$T/linear.bpf"
	cmp "$T/crun.bpf" "$T/linear.bpf"
}

@test "crun: the filter comes compiled ahead, as a tree with crun's actions; cached; runc: none" {
	run -0 --separate-stderr ctrk-run config "$C" -- true <"$D"
	if [[ $CTRK_RUNTIME == runc ]]; then
		# runc knows no such annotation: it compiles linux.seccomp.
		jq -e 'has("annotations") | not' <<<"$output"
		return
	fi
	printf '%s\n' "$output" >"$T/default.json"
	jq -e '.linux.seccomp.syscalls | length > 5' "$T/default.json"
	same_actions_as_crun "$T/default.json"
	# The comparison sees a changed program: crun's with one ALLOW
	# (0x7fff0000, little-endian) made ERRNO(EPERM).
	local at
	at=$(od -An -tx1 -v -w8 "$T/crun.bpf" | grep -n ' 00 00 ff 7f$' | head -n 1 | cut -d: -f1)
	[[ -n $at ]]
	cp "$T/crun.bpf" "$T/changed.bpf"
	printf '\x01\x00\x05\x00' | dd of="$T/changed.bpf" bs=1 seek=$(((at - 1) * 8 + 4)) conv=notrunc status=none
	run -1 "$CTRK_BUILD/tests/test-run-seccomp-bpf" --compare "$T/changed.bpf" "$T/ahead.bpf" "$T/default.json"
	assert_line --regexp '^[1-9][0-9]* of [0-9]+ inputs differ'
	# Arguments, a repeated argument index (one rule per argument), errnoRet;
	# more than 32 rules, so a tree too.
	profile "$T/p.json" '{"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 38,
		"archMap": [{"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86"]},
			    {"architecture": "SCMP_ARCH_AARCH64", "subArchitectures": ["SCMP_ARCH_ARM"]}],
		"syscalls": [{"names": ["read", "write", "exit_group", "execve", "no_such_call", "close", "fstat",
			"lseek", "mmap", "mprotect", "munmap", "brk", "rt_sigaction", "rt_sigprocmask", "rt_sigreturn",
			"ioctl", "pread64", "pwrite64", "readv", "writev", "access", "pipe", "select", "sched_yield",
			"mremap", "msync", "mincore", "madvise", "dup", "dup2", "pause", "nanosleep", "getpid", "openat",
			"newfstatat", "getuid"], "action": "SCMP_ACT_ALLOW"},
			{"names": ["personality"], "action": "SCMP_ACT_ALLOW", "args": [
				{"index": 0, "value": 0, "op": "SCMP_CMP_EQ"}, {"index": 0, "value": 8, "op": "SCMP_CMP_EQ"}]},
			{"names": ["socket"], "action": "SCMP_ACT_ALLOW", "args": [
				{"index": 0, "value": 2, "op": "SCMP_CMP_EQ"}, {"index": 1, "value": 15, "valueTwo": 1,
				 "op": "SCMP_CMP_MASKED_EQ"}]},
			{"names": ["keyctl"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13}]}'
	run -0 --separate-stderr ctrk-run config --security-opt "seccomp=$T/p.json" "$C" -- true <"$D"
	printf '%s\n' "$output" >"$T/custom.json"
	same_actions_as_crun "$T/custom.json"
	# Cached, one file per filter, root's alone, and used: another start
	# leaves the entries as they are.
	run -0 find "$CTRK_RUN/seccomp" -type f -perm 0600
	assert_equal "${#lines[@]}" 2
	local f files=("${lines[@]}") inodes
	inodes=$(stat -c %i "${files[@]}")
	run -0 --separate-stderr ctrk-run config "$C" -- true <"$D"
	assert_equal "$(stat -c %i "${files[@]}")" "$inodes"
	# A damaged entry, in the filter's text or in its program, is not used
	# but made again (a new file), the same.
	for at in 200 -1; do
		for f in "${files[@]}"; do
			((at >= 0)) || at=$(($(stat -c %s "$f") - 1))
			printf 'X' | dd of="$f" bs=1 seek="$at" conv=notrunc status=none
		done
		run -0 --separate-stderr ctrk-run config "$C" -- true <"$D"
		printf '%s\n' "$output" >"$T/again.json"
		assert_equal "$(jq -c .annotations "$T/again.json")" "$(jq -c .annotations "$T/default.json")"
		assert_equal "$(jq -c .linux.seccomp "$T/again.json")" "$(jq -c .linux.seccomp "$T/default.json")"
		run -0 --separate-stderr ctrk-run config --security-opt "seccomp=$T/p.json" "$C" -- true <"$D"
		assert_equal "$(jq -c .annotations <<<"$output")" "$(jq -c .annotations "$T/custom.json")"
		run -0 stat -c %i "${files[@]}"
		assert_equal "${#lines[@]}" 2
		[[ ${lines[0]} != "$(sed -n 1p <<<"$inodes")" && ${lines[1]} != "$(sed -n 2p <<<"$inodes")" ]]
		inodes=$(stat -c %i "${files[@]}")
		at=-1
	done
	# And the container runs with it.
	probe -- keyctl socket
	assert_output "keyctl EPERM
socket ok"
}

@test "--security-opt: other keys are refused, not ignored" {
	r -125 --security-opt apparmor=unconfined -- true
	assert_run_error "invalid --security-opt 'apparmor=unconfined': only seccomp=unconfined or seccomp=FILE is known"
	r -125 --security-opt seccomp= -- true
	assert_run_error "invalid --security-opt 'seccomp='"
}
