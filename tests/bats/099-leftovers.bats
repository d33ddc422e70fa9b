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

# Keys and names of the tests: ct<digits>-..., links ck<digits>...
@test "no link with ctrk-netif's owner mark (group 0x6374726b, or gc's 0x6374726c) is left by the tests" {
	run bash -c "ip -d -j link show | jq -r '.[] | select((.group | tostring) == \"1668575851\" or
		(.group | tostring) == \"1668575852\") | select(((.ifalias // \"\") | test(\"key=ct[0-9]+-\")) or
		(.ifname | test(\"^ck[0-9]\"))) | \"\\(.ifname) \\(.ifalias // \"\")\"'"
	assert_success
	assert_output ""
}
