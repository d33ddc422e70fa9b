#!/usr/bin/env bats
# ctrk-run's lifecycle with a real runtime: run -d and its supervisor, exec,
# kill, wait, state, list, logs, delete, interrupts, a killed supervisor.
# The runtime is runc; 042-run-lifecycle-crun.bats is this file under
# another name, run with crun (the name picks it, through $CTRK_RUNTIME).

load helpers

setup() {
	ctrk_setup
	export CTRK_RUNTIME=runc
	[[ $BATS_TEST_FILENAME != *crun* ]] || CTRK_RUNTIME=crun
	T=$BATS_TEST_TMPDIR
	C=$(cid c)
	container_rootfs "$C"
	D=$T/$C.json
}

teardown() {
	run_teardown
}

# detach ARGS...: ctrk-run run -d ARGS $C -- sleep 1000 by default; the
# printed descriptor in $T/out.json.
detach() {
	ctrk-run run -d "$@" <"$D" >"$T/out.json"
}

# owner_pid: the pid of $C's supervisor (it holds owner.lock).
supervisor_pid() {
	fuser "$CTRK_RUN/$C/owner.lock" 2>/dev/null | tr -d ' '
}

@test "run -d: the descriptor gets 'container'; state, list, logs, exec, kill, wait, delete" {
	detach "$C" -- sh -c 'echo out; echo err >&2; trap "echo term; exit 42" TERM; while :; do sleep 0.1; done'
	assert_equal "$(jq -r .container.status "$T/out.json")" running
	assert_equal "$(jq -r .container.id "$T/out.json")" "$C"
	assert_equal "$(jq -r .container.bundle "$T/out.json")" "$CTRK_RUN/$C"
	assert_equal "$(jq -r .container.runtime "$T/out.json")" "$(command -v "$CTRK_RUNTIME")"
	assert_equal "$(jq -r .snapshot.key "$T/out.json")" "$C" # passed through
	local pid
	pid=$(jq -r .container.pid "$T/out.json")
	kill -0 "$pid"
	run ctrk-run state "$C"
	assert_success
	assert_equal "$(jq -r .status <<<"$output")" running
	run ctrk-run list
	assert_line --index 0 --regexp "^ID +IMAGE +COMMAND +CREATED +STATUS +PID +RUNTIME$"
	assert_line --index 1 --regexp "^$C +oci:.*:single +sh -c echo out; .*\.\.\. +[0-9]+ seconds? ago +running +$pid +$CTRK_RUNTIME$"
	assert_equal "$(ctrk-run list --json | jq -c '.[0] | [.image, .command[0:2], (.age | test("ago$"))]')" \
		"[\"oci:$CTRK_FIXTURES:single\",[\"sh\",\"-c\"],true]"
	assert_equal "$(ctrk-run list --json | jq -r '.[0].id')" "$C"
	sleep 0.3
	run ctrk-run logs "$C"
	assert_output "out
err"
	run ctrk-run exec "$C" sh -c 'echo in-exec $HOSTNAME; exit 4'
	assert_failure 4
	assert_output "in-exec $C"
	run -127 ctrk-run exec "$C" no-such-command
	run ctrk-run delete "$C"
	assert_failure 1
	assert_output --partial "is running"
	ctrk-run kill "$C" TERM
	run ctrk-run wait "$C"
	assert_failure 42
	assert_output 42
	run ctrk-run logs "$C"
	assert_output "out
err
term"
	assert_equal "$(ctrk-run state "$C" | jq -c '[.status, .exitCode]')" '["stopped",42]'
	run ctrk-run list
	assert_line --index 1 --regexp "^$C .* stopped \(42\) +$pid "
	assert_equal "$(ctrk-run list --json | jq -c '.[0] | [.status, .exitCode]')" '["stopped",42]'
	run ! kill -0 "$pid"
	ctrk-run delete "$C" >/dev/null
	run ctrk-run list -q
	assert_output ""
	run ls "$CTRK_RUN/$C"
	assert_output rootfs # only ctrk-mount's rootfs is left
}

@test "kill with a signal number and name; wait returns 128+N" {
	detach "$C" -- sleep 1000
	ctrk-run kill "$C" 9
	run ctrk-run wait "$C"
	assert_failure 137
	assert_output 137
	run ctrk-run kill "$C" KILL
	assert_failure 1
	run ctrk-run kill "$C" NOSIG
	assert_failure 1
	assert_output --partial "invalid signal"
}

@test "logs -f follows a container to its end" {
	detach "$C" -- sh -c 'for i in 1 2 3; do echo line $i; sleep 0.3; done'
	run timeout 10 ctrk-run logs -f "$C"
	assert_success
	assert_output "line 1
line 2
line 3"
}

@test "run -d --rm: the container is deleted when it ends" {
	detach --rm "$C" -- sh -c 'sleep 0.3'
	local i
	for ((i = 0; i < 50; i++)); do
		[[ -e $CTRK_RUN/$C/descriptor.json ]] || break
		sleep 0.1
	done
	run ctrk-run list -q
	assert_output ""
}

@test "exec -t gets a terminal; exec -d leaves the process running" {
	detach "$C" -- sleep 1000
	run "$PYTHON" "$CTRK_TESTS_DIR/fixtures/pty-run.py" --size 25x90 -- ctrk-run exec -t "$C" sh -c 'stty size; exit 5'
	assert_failure 5
	assert_output --partial "25 90"
	ctrk-run exec -d "$C" sh -c 'echo done >/tmp/marker'
	sleep 0.5
	run ctrk-run exec "$C" cat /tmp/marker
	assert_output done
}

@test "a second run of the same id is refused and changes nothing" {
	detach "$C" -- sleep 1000
	run --separate-stderr ctrk-run run --rm "$C" -- true <"$D"
	assert_failure 125
	assert_run_error "already exists"
	assert_equal "$(ctrk-run state "$C" | jq -r .status)" running
}

@test "SIGTERM to a foreground ctrk-run stops the container (SIGKILL after --stop-timeout)" {
	ctrk-run run --rm --stop-timeout 1 "$C" -- sleep 1000 <"$D" &
	local pid=$! st=0
	track_pid "$pid"
	wait_running "$C"
	kill -TERM "$pid"
	SECONDS=0
	wait "$pid" || st=$?
	# sleep as pid 1 ignores SIGTERM: killed after the timeout.
	assert_equal "$st" 137
	((SECONDS < 8))
	run ctrk-run list -q
	assert_output ""
}

@test "SIGINT to a foreground ctrk-run reaches the container's handler" {
	ctrk-run run --rm "$C" -- sh -c 'trap "exit 11" INT; while :; do sleep 0.1; done' <"$D" &
	local pid=$! st=0
	track_pid "$pid"
	wait_running "$C"
	sleep 0.2 # let the trap be set
	kill -INT "$pid"
	wait "$pid" || st=$?
	assert_equal "$st" 11
}

@test "a supervisor killed with SIGKILL leaves a state that delete --force cleans" {
	detach "$C" -- sleep 1000
	local sup pid
	pid=$(jq -r .container.pid "$T/out.json")
	sup=$(supervisor_pid)
	[[ -n $sup ]]
	kill -KILL "$sup"
	sleep 0.2
	kill -0 "$pid" # the container lives on
	ctrk-run wait "$C" >"$T/wait.out" 2>&1 &
	local waiter=$! st=0
	track_pid "$waiter"
	ctrk-run delete --force "$C" >/dev/null
	# Nobody knows the exit status now, and wait says so (125: not the
	# container's own status).
	wait "$waiter" || st=$?
	assert_equal "$st" 125
	run cat "$T/wait.out"
	assert_output --partial "unknown"
	local i
	for ((i = 0; i < 50; i++)); do
		[[ -e /proc/$pid ]] || break
		sleep 0.1
	done
	[[ ! -e /proc/$pid ]]
	run ctrk-run list -q
	assert_output ""
	run ctrk-run state "$C"
	assert_failure
	assert_output --partial "no container"
}

@test "a container sees only fds 0, 1, 2 with -d and with exec too" {
	exec 7</dev/null
	detach "$C" -- sh -c 'ls /proc/self/fd; sleep 1000'
	run ctrk-run exec "$C" ls /proc/self/fd
	assert_output "0
1
2
3"
	sleep 0.2
	run ctrk-run logs "$C"
	assert_output "0
1
2
3"
	exec 7<&-
}

@test "a failed start leaves nothing behind" {
	run -127 --separate-stderr ctrk-run run -d "$C" -- no-such-command <"$D"
	assert_run_error no-such-command
	run ctrk-run list -q
	assert_output ""
	run ls "$CTRK_RUN/$C"
	assert_output rootfs
}
