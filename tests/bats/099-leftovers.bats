#!/usr/bin/env bats
# Last of the suite: nothing the tests started is left on the host.

load helpers

@test "no containers, runtime states, cgroups, mounts or netns of the tests are left" {
	run bash -c 'ls -d /run/runc/ct[0-9]*-* /run/crun/ct[0-9]*-* /sys/fs/cgroup/*/ctrk*/ct[0-9]*-* \
		/sys/fs/cgroup/ctrk*/ct[0-9]*-* /run/netns/ct[0-9]*-* 2>/dev/null'
	assert_output ""
	run bash -c "findmnt -rn -o TARGET | grep -F '$BATS_RUN_TMPDIR' || true"
	assert_output ""
	# No process runs from the suite's directories (a runtime, a
	# supervisor, a container on a test rootfs).
	run bash -c "ls -l /proc/[0-9]*/cwd /proc/[0-9]*/root 2>/dev/null | grep -F '$BATS_RUN_TMPDIR' || true"
	assert_output ""
}
