#!/usr/bin/env bats
# ctrk-run: the pipeline, the config it generates (process, user, env,
# capabilities, limits, namespaces, mounts) as seen from inside real
# containers run by runc, exit codes, terminals and fd hygiene.

load helpers

setup() {
	ctrk_setup
	T=$BATS_TEST_TMPDIR
	C=$(cid c)
	container_rootfs "$C"
	D=$T/$C.json
	ROOTFS=$(jq -r .rootfs "$D")
}

teardown() {
	[[ -z ${NETNS:-} ]] || ip netns del "$NETNS" 2>/dev/null || true
	run_teardown
}

# with_config JQ: the descriptor with the jq update JQ applied to
# image.config, in $RIN.
with_config() {
	RIN=$T/in.json
	jq ".image.config |= ($1)" "$D" >"$RIN"
}

@test "the pipeline: prepare | mount | run --rm echo hi" {
	run --separate-stderr bash -c "ctrk-snap prepare --image oci:$CTRK_FIXTURES:single $(cid p) </dev/null |
		ctrk-mount | ctrk-run run --rm $(cid p) -- echo hi"
	assert_success
	assert_output hi
	run --separate-stderr bash -c "ctrk-snap prepare --image oci:$CTRK_FIXTURES:single $(cid q) </dev/null |
		ctrk-mount | ctrk-run run --rm $(cid q) -- sh -c 'exit 7'"
	assert_failure 7
	# --rm leaves only ctrk-mount's rootfs in the directory.
	run ls "$CTRK_RUN/$(cid q)"
	assert_output rootfs
}

@test "exit codes: the command's, 127 not found, 126 not executable, 125 ctrk failed" {
	r -3 -- sh -c 'exit 3'
	r -127 -- no-such-command
	assert_run_error "no-such-command"
	r -126 -- /etc/passwd
	r -125 --cpus nonsense -- true
	r -125 --user nosuchuser -- true
	assert_run_error "no user 'nosuchuser'"
	RIN=/dev/null r -125 -- true
	RIN=/dev/null r -125 --rootfs "$T/missing" -- true
	# Failed starts leave no container behind.
	run ctrk-run list -q
	assert_output ""
}

@test "a process killed by signal N gives 128+N" {
	ctrk-run run --rm "$C" -- sleep 100 <"$D" &
	local pid=$! st=0
	track_pid "$pid"
	wait_running "$C"
	ctrk-run kill "$C" KILL
	wait "$pid" || st=$?
	assert_equal "$st" 137
}

@test "process: Entrypoint, Cmd, Env, WorkingDir from the image, overridden by flags" {
	with_config '. + {Entrypoint: ["/bin/sh", "-c"], Cmd: ["echo cmd:$FOO:$(pwd)"],
		Env: ["FOO=image", "PATH=/bin"], WorkingDir: "/tmp"}'
	r -0
	assert_output "cmd:image:/tmp"
	r -0 -- 'echo "$FOO $BAR $PATH $HOSTNAME $HOME"'
	assert_output "image  /bin $C /root"
	printf '# comment\nBAR=from-file\n\nFOO=file\n' >"$T/env"
	FROMHOST=host-value r -0 --env-file "$T/env" -e FOO=flag -e FROMHOST -w /bin -- 'echo $FOO $BAR $FROMHOST $(pwd)'
	assert_output "flag from-file host-value /bin"
	r -0 --entrypoint /bin/echo -- plain args
	assert_output "plain args"
	r -0 --hostname other -- hostname
	assert_output other
	with_config '{}'
	r -125
	assert_run_error "no command"
}

@test "user: names and numbers from the container's own passwd and group" {
	printf 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n' >"$ROOTFS/etc/passwd"
	printf 'root:x:0:\napp:x:1000:\nwheel:x:10:app\nstaff:x:50:app,other\n' >"$ROOTFS/etc/group"
	r -0 --user app -- sh -c 'id; echo $HOME'
	assert_output "uid=1000(app) gid=1000(app) groups=10(wheel),50(staff),1000(app)
/home/app"
	r -0 --user app:staff -- id -g
	assert_output 50
	r -0 --user 4242:4343 -- sh -c 'id -u; id -g'
	assert_output "4242
4343"
	r -0 --user app --group-add 77 -- id -G
	assert_output "1000 10 50 77"
	with_config '. + {User: "app"}'
	r -0 -- id -un
	assert_output app
	r -125 --user app:nogroup -- true
	assert_run_error "nogroup"
}

@test "user: a hostile symlinked /etc/passwd never reads the host's files" {
	printf 'evil:x:4242:4242::/:/bin/sh\n' >"$T/outside-passwd"
	printf 'evil:x:4242:\n' >"$T/outside-group"
	ln -sf "$T/outside-passwd" "$ROOTFS/etc/passwd" # absolute: the host path
	r -125 --user evil -- true
	assert_run_error "evil"
	rm "$ROOTFS/etc/passwd"
	ln -s "../../../../../../../../..$T/outside-passwd" "$ROOTFS/etc/passwd"
	r -125 --user evil -- true
	rm "$ROOTFS/etc/passwd"
	# /etc itself a symlink out of the root.
	mkdir -p "$T/fake-etc"
	cp "$T/outside-passwd" "$T/fake-etc/passwd"
	mv "$ROOTFS/etc" "$ROOTFS/etc.real"
	ln -s "$T/fake-etc" "$ROOTFS/etc"
	r -125 --user evil -- true
	# Numbers need no passwd at all.
	r -0 --user 4242 -- id -u
	assert_output 4242
}

@test "capabilities: Docker's default set, --cap-add/--cap-drop, --privileged, no_new_privileges" {
	capeff() { grep CapEff <<<"$output" | awk '{print $2}'; }
	r -0 -- cat /proc/self/status
	assert_equal "$(capeff)" 00000000a80425fb
	assert_line --regexp '^NoNewPrivs:[[:space:]]+1$'
	r -0 --cap-drop ALL -- cat /proc/self/status
	assert_equal "$(capeff)" 0000000000000000
	r -0 --cap-drop ALL --cap-add net_admin --cap-add CAP_SYS_ADMIN -- cat /proc/self/status
	assert_equal "$(capeff)" 0000000000201000
	r -0 --cap-drop chown -- cat /proc/self/status
	assert_equal "$(capeff)" 00000000a80425fa
	r -0 --privileged -- cat /proc/self/status
	# All that ctrk-run itself may give: its bounding set.
	assert_equal "$(capeff)" "$(awk '/^CapBnd/ {print $2}' /proc/self/status)"
	assert_line --regexp '^NoNewPrivs:[[:space:]]+0$'
	r -125 --cap-add NOT_A_CAP -- true
	assert_run_error "NOT_A_CAP"
}

@test "limits: memory, cpus, pids and ulimits are visible inside" {
	local mem=/sys/fs/cgroup/memory/memory.limit_in_bytes pids=/sys/fs/cgroup/pids/pids.max
	local cpu=/sys/fs/cgroup/cpu/cpu.cfs_quota_us
	if [[ $(stat -f -c %T /sys/fs/cgroup) == cgroup2fs ]]; then
		mem=/sys/fs/cgroup/memory.max pids=/sys/fs/cgroup/pids.max cpu=/sys/fs/cgroup/cpu.max
	fi
	r -0 --memory 64m --pids-limit 50 --cpus 0.5 --ulimit nofile=100:200 -- \
		sh -c "cat $mem $pids $cpu; ulimit -n; ulimit -Hn"
	assert_output "67108864
50
50000
100
200"
	r -125 --ulimit nofile=5:1 -- true
	r -125 --memory 12q -- true
}

@test "security: masked and read-only paths, --read-only, --privileged" {
	[[ $(head -c 10 /proc/timer_list | wc -c) == 10 ]] # not empty on the host
	r -0 -- sh -c 'wc -c </proc/timer_list; ls /sys/firmware | wc -l; echo x >/proc/sys/kernel/domainname || echo ro'
	assert_output "0
0
ro"
	r -0 -- sh -c 'touch /x && echo writable'
	assert_output writable
	r -1 --read-only -- touch /y
	r -0 --read-only --tmpfs /scratch -- touch /scratch/y
	r -0 --privileged -- sh -c 'ls /sys/firmware | wc -l'
	refute_output 0
}

@test "namespaces: new by default; --net none|host|PATH, --pid host" {
	r -0 -- sh -c 'echo $$; ls /sys/class/net'
	assert_output "1
lo"
	r -0 --net none -- ls /sys/class/net
	assert_output lo
	r -0 --net host -- sh -c 'ls /sys/class/net | wc -l'
	assert_equal "$output" "$(ls /sys/class/net | wc -l)"
	r -0 --pid host -- sh -c 'echo $$'
	refute_output 1
	NETNS=$(cid ns)
	ip netns add "$NETNS"
	ip -n "$NETNS" link add ctrkt0 type veth peer name ctrkt1
	r -0 --net "/run/netns/$NETNS" -- ls /sys/class/net
	assert_output "ctrkt0
ctrkt1
lo"
	# The descriptor's netns is used when --net is not given.
	jq --arg p "/run/netns/$NETNS" '.netns = $p' "$D" >"$T/net.json"
	RIN=$T/net.json r -0 -- ls /sys/class/net
	assert_output --partial ctrkt0
	r -125 --net /nonexistent -- true
}

@test "mounts: --mount bind (ro), --tmpfs, and the descriptor's container mounts" {
	mkdir -p "$T/data"
	echo outside >"$T/data/file"
	r -0 --mount "type=bind,src=$T/data,dst=/data" -- sh -c 'cat /data/file; echo inside >/data/new'
	assert_output outside
	assert_equal "$(cat "$T/data/new")" inside
	r -1 --mount "type=bind,src=$T/data,dst=/data,ro" -- touch /data/x
	r -0 --tmpfs /scratch:size=1m -- sh -c 'grep " /scratch " /proc/mounts'
	assert_output --partial "tmpfs /scratch tmpfs rw"
	assert_output --partial "size=1024k"
	jq --arg s "$T/data" '.mounts += [{type: "bind", source: $s, target: "/vol", options: ["rbind", "ro"]}]' \
		"$D" >"$T/vol.json"
	RIN=$T/vol.json r -0 -- cat /vol/file
	assert_output outside
	r -125 --mount "type=bind,src=$T/missing,dst=/x" -- true
	r -125 --mount "src=$T/data" -- true
}

@test "fd hygiene: the container sees 0, 1, 2 and only what --preserve-fds passes" {
	exec 7</dev/null 8>"$T/eight"
	r -0 -- ls /proc/self/fd
	assert_output "0
1
2
3"
	# fd 3 here is passed on purpose; 7 and 8 are not.
	run --separate-stderr bash -c "exec 3<'$D'; ctrk-run run --rm --preserve-fds 1 $C -- ls /proc/self/fd <'$D'"
	assert_success
	assert_output "0
1
2
3
4"
	# --preserve-fds 6 with fds 5, 6 and 8 not open: ctrk-run's own
	# descriptors (locks, signalfd) must not take their place; they come
	# as /dev/null.
	run --separate-stderr bash -c "exec 3<'$D' 4<'$D' 5<&- 6<&- 7</dev/null 8<&-
		ctrk-run run --rm --preserve-fds 6 $C -- sh -c 'for f in 5 6 8; do readlink /proc/self/fd/\$f; done; ls /proc/self/fd | wc -l' <'$D'"
	assert_success
	assert_output "/dev/null
/dev/null
/dev/null
10"
	exec 7<&- 8>&-
}

@test "config prints a runtime-spec 1.0.2 config and runs nothing" {
	run --separate-stderr ctrk-run config "$C" -- echo hi <"$D"
	assert_success
	assert_equal "$(jq -r .ociVersion <<<"$output")" 1.0.2
	assert_equal "$(jq -c .process.args <<<"$output")" '["echo","hi"]'
	assert_equal "$(jq -r .root.path <<<"$output")" "$ROOTFS"
	assert_equal "$(jq -r '.linux.namespaces | map(.type) | sort | join(",")' <<<"$output")" \
		"ipc,mount,network,pid,uts"
	assert_equal "$(jq -r .linux.cgroupsPath <<<"$output")" "/$(cgroup_parent)/$C"
	run ctrk-run list -q
	assert_output ""
}

@test "a terminal with -t: size, resizes, input and ^C reach the container" {
	local pty=("$PYTHON" "$CTRK_TESTS_DIR/fixtures/pty-run.py")
	run "${pty[@]}" --size 30x100 -- sh -c "ctrk-run run -t --rm $C -- sh -c 'stty size; tty; exit 3' <'$D'"
	assert_failure 3
	assert_output --partial "30 100"
	assert_output --partial /dev/pts/0
	run "${pty[@]}" --size 30x100 --resize-after 0.8 40x120 -- \
		sh -c "ctrk-run run -t --rm $C -- sh -c 'sleep 1.6; stty size' <'$D'"
	assert_success
	assert_output --partial "40 120"
	run "${pty[@]}" --input 'echo hel""lo\nexit 6\n' -- sh -c "ctrk-run run -t --rm $C -- sh <'$D'"
	assert_failure 6
	assert_output --partial hello
	run "${pty[@]}" --input '\x03' --input-after 0.8 -- \
		sh -c "ctrk-run run -t --rm $C -- sh -c 'trap \"echo got-int; exit 9\" INT; sleep 5 & wait' <'$D'"
	assert_failure 9
	assert_output --partial got-int
}

@test "verbs: argument counts are checked before anything is done; exit codes as ctrk-run(1) says" {
	# run, exec and wait: 125 for ctrk-run's own failures (2 or 1 could be
	# the command's status).
	run -125 --separate-stderr ctrk-run run
	assert_run_error "'run' takes at least 1 argument, not 0"
	run -125 --separate-stderr ctrk-run exec "$C"
	assert_run_error "'exec' takes at least 2 arguments, not 1"
	run -125 --separate-stderr ctrk-run exec "$C" --
	assert_run_error "no command given"
	run -125 --separate-stderr ctrk-run run --no-such-option "$C"
	run -125 --separate-stderr ctrk-run run --rootfs "$ROOTFS" runtime -- true
	assert_run_error "invalid container id 'runtime': the name is reserved"
	run -125 --separate-stderr ctrk-run run --rootfs "$ROOTFS" deleted -- true
	assert_run_error "the name is reserved"
	run -125 --separate-stderr ctrk-run run --rootfs "$ROOTFS" volumes -- true
	assert_run_error "invalid container id 'volumes': the name is reserved"
	run -125 --separate-stderr ctrk-run wait "$(cid nosuch)"
	assert_run_error "no container '$(cid nosuch)'"
	assert_output ""
	# The other verbs: 2 for usage, 1 for failures.
	run -2 ctrk-run
	run -2 ctrk-run bogus
	run -2 ctrk-run config
	run -2 ctrk-run list extra
	run -2 ctrk-run state a b
	run -2 ctrk-run logs a b
	run -2 ctrk-run delete
	run -2 ctrk-run stop
	run -2 ctrk-run stop -t x a
	run -2 ctrk-run list --no-such-option
	run -1 ctrk-run state "$(cid nosuch)"
	run -1 ctrk-run kill "$(cid nosuch)"
	run -1 ctrk-run stop "$(cid nosuch)"
	run -1 ctrk-run logs "$(cid nosuch)"
	# Extra arguments are refused, not half done: the container is not
	# killed, wait does not wait.
	ctrk-run run -d "$C" -- sleep 1000 <"$D" >/dev/null
	run -2 --separate-stderr ctrk-run kill "$C" KILL extra
	assert_run_error "'kill' takes at most 2 arguments, not 3"
	run -125 --separate-stderr timeout 5 ctrk-run wait "$C" "$C"
	assert_run_error "'wait' takes 1 argument, not 2"
	assert_equal "$(ctrk-run state "$C" | jq -r .status)" running
}

@test "as a non-root user every verb says in one line that it needs root; --help and --version work" {
	local as=(setpriv --reuid=65534 --regid=65534 --clear-groups)
	local msg="ctrk-run: error: must be run as root (effective uid 65534)"
	local verb
	for verb in "list" "state $C" "kill $C" "stop $C" "logs $C" "delete $C" "config $C"; do
		# shellcheck disable=SC2086
		run -1 --separate-stderr "${as[@]}" ctrk-run $verb
		assert_equal "$stderr" "$msg"
		assert_output ""
	done
	for verb in "run $C" "exec $C true" "wait $C"; do
		# shellcheck disable=SC2086
		run -125 --separate-stderr "${as[@]}" ctrk-run $verb </dev/null
		assert_equal "$stderr" "$msg"
	done
	run -0 "${as[@]}" ctrk-run --help
	assert_line --partial "Usage: ctrk-run"
	run -0 "${as[@]}" ctrk-run run --help
	assert_line --partial "Usage: ctrk-run"
	run -0 "${as[@]}" ctrk-run --version
	assert_output --partial "ctrk-run"
}

@test "a descriptor read two ways is refused: a key twice, an escaped NUL, invalid UTF-8" {
	local desc
	desc=$(jq -c . "$D")
	# A second "rootfs" (Go, Python and jq would take it; cJSON the first).
	printf '%s' "${desc%\}},\"rootfs\":\"/\"}" >"$T/dup.json"
	RIN=$T/dup.json r -125 -- true
	assert_run_error "key 'rootfs' appears twice in the top object"
	# A user cut short at an escaped NUL, and a working directory that is
	# not UTF-8.
	jq -c '.image.config.User = "nobody"' "$D" | sed 's/"nobody"/"root\\u0000nobody"/' >"$T/nul.json"
	RIN=$T/nul.json r -125 -- true
	assert_run_error "field 'image.config.User' holds a NUL character"
	jq -c '.image.config.WorkingDir = "/tmp/X"' "$D" | sed 's|/tmp/X|/tmp/\xff|' >"$T/utf8.json"
	RIN=$T/utf8.json r -125 -- true
	assert_run_error "field 'image.config.WorkingDir' is not valid UTF-8"
	# The same descriptor without them runs.
	r -0 -- true
}

@test "image config fields of the wrong type are refused, never read as a default that grants more" {
	local field
	for field in '.User = 0' '.User = ["nobody"]' '.Env = "A=1"' '.Cmd = "sh"' '.WorkingDir = 1'; do
		jq -c ".image.config |= ($field)" "$D" >"$T/bad.json"
		RIN=$T/bad.json r -125 -- id -u
		assert_run_error "descriptor: image.config: field '$(sed -E 's/^\.([A-Za-z]+).*/\1/' <<<"$field")' must be"
		assert_output ""
	done
}
