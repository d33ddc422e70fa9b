#!/usr/bin/env bats
# ctrk-run checks what the runtime would trip over before it starts
# anything (ctrk-run(1), LIMITS): caps on Env, Entrypoint/Cmd and mounts,
# execve's limits, user and group ids, empty names and programs, paths
# cleaned lexically; the runtime's small environment; a detached
# supervisor that keeps none of its caller's descriptors.  Runtime-specific
# behaviour is tried with runc and crun both.

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
	run_teardown
}

# with_config JQ: the descriptor with the jq update JQ applied to
# image.config, in $RIN.
with_config() {
	RIN=$T/in.json
	jq ".image.config |= ($1)" "$D" >"$RIN"
}

# big N: N bytes of 'a'.
big() {
	head -c "$1" /dev/zero | tr '\0' a
}

# with_big N JQ: with_config JQ where $big is N bytes of 'a' (too long for
# an argument of jq itself).
with_big() {
	big "$1" >"$T/big"
	RIN=$T/in.json
	jq --rawfile big "$T/big" ".image.config |= ($2)" "$D" >"$RIN"
}

# no_container: nothing was left by a refused start.
no_container() {
	run ctrk-run list -q
	assert_output ""
}

@test "Env: 100,000 entries merge in seconds; over the cap is refused naming Env" {
	RIN=$T/in.json
	jq '.image.config.Env = [range(100000) | "E\(.)=\(.)"] + ["E5=again"]' "$D" >"$RIN"
	local t0 t1
	t0=$(date +%s%N)
	run --separate-stderr timeout 120 ctrk-run config "$C" -- true <"$RIN"
	t1=$(date +%s%N)
	assert_success
	# The list search took minutes here; generous for a loaded machine.
	# PATH, HOSTNAME and HOME are ctrk-run's own.
	(((t1 - t0) / 1000000 < 10000)) || fail "config took $(((t1 - t0) / 1000000)) ms"
	assert_equal "$(jq -c '.process.env | [length, .[5], .[99999]]' <<<"$output")" \
		'[100003,"E5=again","E99999=99999"]'
	# And the container gets them all (1.7 MB: within ARG_MAX).
	r -0 -- sh -c 'echo $E5 $E99999; env | grep -c "^E[0-9]"'
	assert_output "again 99999
100000"

	jq '.image.config.Env = [range(131073) | "E\(.)=1"]' "$D" >"$RIN"
	r -125 -- true
	assert_run_error "image config Env: more than 131072 entries"
	jq '.image.config.Cmd = [range(131073) | "a"]' "$D" >"$RIN"
	r -125
	assert_run_error "image config Cmd: more than 131072 entries"
	no_container
}

@test "mounts: more than the cap is refused naming them" {
	RIN=$T/in.json
	jq '.mounts += [range(4097) | {type: "tmpfs", source: "tmpfs", target: "/m\(.)"}]' "$D" >"$RIN"
	r -125 -- true
	assert_run_error "too many mounts: 4097"
	no_container
}

@test "exec limits: a string over 128 KiB or a total over ARG_MAX is refused with 125 naming Env or Cmd" {
	local rt
	printf 'BIG=%s\n' "$(big 140000)" >"$T/big.env"
	for i in 1 2 3; do
		for j in 1 2 3 4 5 6 7; do printf 'F%sV%s=%s\n' "$i" "$j" "$(big 120000)"; done >"$T/e$i.env"
	done
	for rt in runc crun; do
		with_big 131072 '. + {Env: ["BIG=" + $big]}'
		r -125 --runtime "$rt" -- true
		assert_run_error "Env: variable 'BIG' is 131076 bytes long, more than execve takes (131071)"
		refute_output --partial aaaa
		with_big 131072 '. + {Entrypoint: ["/bin/echo"], Cmd: ["x", $big]}'
		r -125 --runtime "$rt"
		assert_run_error "Cmd: argument 1 is 131072 bytes long"
		# One byte less runs.
		with_big 131067 '. + {Entrypoint: ["/bin/sh", "-c", "echo ${#BIG}"], Env: ["BIG=" + $big]}'
		r -0 --runtime "$rt"
		assert_output 131067
		# With an 8 MiB stack, as by default: ARG_MAX is 2 MiB.
		RIN=$D r -125 --runtime "$rt" --ulimit stack=8388608 --env-file "$T/e1.env" --env-file "$T/e2.env" \
			--env-file "$T/e3.env" -- true
		assert_run_error "Env and Cmd take"
		assert_run_error "more than execve takes (ARG_MAX 2097152"
		# A larger stack limit for the container gives more room.
		RIN=$D r -0 --runtime "$rt" --ulimit stack=67108864 --env-file "$T/e1.env" --env-file "$T/e2.env" \
			--env-file "$T/e3.env" -- sh -c 'echo ${#F3V7}'
		assert_output 120000
		no_container

		# exec: the same checks, with the running container's env.
		CTRK_RUNTIME=$rt ctrk-run run -d "$C" -- sleep 1000 <"$D" >/dev/null
		run --separate-stderr ctrk-run exec --env-file "$T/big.env" "$C" true
		assert_failure 125
		assert_run_error "Env: variable 'BIG' is 140004 bytes long"
		run --separate-stderr ctrk-run exec --env-file "$T/e1.env" --env-file "$T/e2.env" --env-file "$T/e3.env" "$C" true
		assert_failure 125
		assert_run_error "Env and Cmd take"
		run --separate-stderr ctrk-run exec "$C" ""
		assert_failure 125
		assert_run_error "the program to run is empty"
		run ctrk-run exec --env-file "$T/e1.env" "$C" sh -c 'echo ${#F1V7}'
		assert_success
		assert_output 120000
		ctrk-run delete --force "$C" >/dev/null
	done
}

@test "exec limits: what is accepted runs: Env filled to exactly the limit runs, one variable more is refused" {
	local rt
	run --separate-stderr ctrk-run config --ulimit stack=8388608 "$C" -- /bin/sh -c 'echo ok' <"$D"
	assert_success
	printf '%s\n' "$output" >"$T/config.json"
	# --env-file lines that bring the count, as ctrk-run(1) gives it (each
	# string with its NUL, a pointer each and two more, PATH_MAX for the
	# program's path), to exactly ARG_MAX for an 8 MiB stack: 2 MiB.
	"$PYTHON" - "$T/config.json" "$T/fill.env" <<-'EOF'
		import json, sys
		p = json.load(open(sys.argv[1]))["process"]
		strings = p["args"] + p["env"]
		total = lambda extra: (sum(len(s) + 1 for s in strings + extra)
		                       + (len(strings) + len(extra) + 2) * 8 + 4096)
		extra = []
		while total(extra + ["V%d=%s" % (len(extra), "a" * 120000)]) <= 2097152:
		    extra.append("V%d=%s" % (len(extra), "a" * 120000))
		last = "LAST="
		extra.append(last + "b" * (2097152 - total(extra) - 8 - 1 - len(last)))
		assert total(extra) == 2097152
		open(sys.argv[2], "w").write("".join(e + "\n" for e in extra))
	EOF
	# --env-file reads at most 1 MiB a file.
	split -l 6 "$T/fill.env" "$T/part."
	local files=()
	for f in "$T"/part.*; do files+=(--env-file "$f"); done
	echo ONE=x >"$T/one.env" # 6 bytes and a pointer: 2097166
	for rt in runc crun; do
		r -0 --runtime "$rt" --ulimit stack=8388608 "${files[@]}" -- /bin/sh -c 'echo ok'
		assert_output ok
		r -125 --runtime "$rt" --ulimit stack=8388608 "${files[@]}" --env-file "$T/one.env" -- /bin/sh -c 'echo ok'
		assert_run_error "Env and Cmd take 2097166 bytes"
	done
	no_container
}

@test "ids outside 0..2^31-1 are refused before the start, with runc and crun alike" {
	local rt
	printf 'root:x:0:0:root:/root:/bin/sh\nbig:x:2147483648:0::/:/bin/sh\nbiggid:x:1000:3000000000::/:/bin/sh\nerin:x:1001:1001::/:/bin/sh\n' \
		>"$ROOTFS/etc/passwd"
	printf 'root:x:0:\nhuge:x:4294967294:erin\n' >"$ROOTFS/etc/group"
	for rt in runc crun; do
		r -125 --runtime "$rt" --user 2147483648 -- true
		assert_run_error "user id '2147483648' is out of range (0 to 2147483647)"
		r -125 --runtime "$rt" --user 0:4294967294 -- true
		assert_run_error "group id '4294967294' is out of range"
		r -125 --runtime "$rt" --group-add 2147483648 -- true
		assert_run_error "group id '2147483648' is out of range"
		r -125 --runtime "$rt" --user big -- true
		assert_run_error "user 'big' has uid 2147483648 in the container's /etc/passwd, out of range"
		r -125 --runtime "$rt" --user biggid -- true
		assert_run_error "user 'biggid' has gid 3000000000"
		r -125 --runtime "$rt" --user erin -- true
		assert_run_error "group 'huge' has gid 4294967294 in the container's /etc/group"
		with_config '. + {User: "3000000000"}'
		r -125 --runtime "$rt" -- true
		assert_run_error "user id '3000000000' is out of range"
		RIN=
		r -0 --runtime "$rt" --user 2147483647:2147483647 --group-add 2147483647 -- sh -c 'id -u; id -g'
		assert_output "2147483647
2147483647"
	done
	no_container
}

@test "an empty variable name or an empty program from the image is refused as on the command line" {
	r -125 -e =x -- true
	assert_run_error "invalid --env '=x'"
	with_config '. + {Env: ["A=1", "=secret-value"]}'
	r -125 -- true
	assert_run_error "image config Env: a variable with an empty name"
	refute [ "$(grep -c secret-value <<<"$stderr")" -gt 0 ]
	RIN=$D r -125 -- ""
	assert_run_error "the program to run is empty ('' as the first word of the command line)"
	with_config '. + {Entrypoint: [""], Cmd: ["x"]}'
	r -125
	assert_run_error "the image's Entrypoint"
	with_config '. + {Entrypoint: null, Cmd: ["", "x"]}'
	r -125
	assert_run_error "the image's Cmd"
	RIN=$D r -125 --entrypoint "" -- "" x
	assert_run_error "the command line"
	no_container
}

@test "working directories and mount destinations are cleaned lexically: no stray directories, no '..' out" {
	local rt
	for rt in runc crun; do
		with_config '. + {WorkingDir: "/made/../tmp/./"}'
		r -0 --runtime "$rt" -- pwd
		assert_output /tmp
		r -0 --runtime "$rt" -w //made2/../../../usr//bin/. -- pwd
		assert_output /usr/bin
		[[ ! -e $ROOTFS/made && ! -e $ROOTFS/made2 ]] || fail "stray directories in the rootfs: $(ls "$ROOTFS")"
		r -0 --runtime "$rt" --tmpfs /stray/../../mnt//x/. --mount type=tmpfs,dst=/dev//shm -- \
			sh -c 'grep -c " /dev/shm " /proc/mounts; grep -c " /mnt/x " /proc/mounts'
		assert_output "1
1"
		[[ ! -e $ROOTFS/stray ]] || fail "stray directory in the rootfs"
	done
	# The config says where things go, cleaned; the default /dev/shm is
	# replaced, not mounted twice.
	RIN=$D
	run --separate-stderr ctrk-run config --tmpfs /dev//shm/ -w /a/b/../c "$C" -- true <"$D"
	assert_success
	assert_equal "$(jq -c '[.process.cwd, ([.mounts[].destination | select(startswith("/dev/shm") or
		startswith("/dev//shm"))])]' <<<"$output")" '["/a/c",["/dev/shm"]]'
	jq '.mounts += [{type: "tmpfs", source: "tmpfs", target: "/x/../y//"}]' "$D" >"$T/m.json"
	run --separate-stderr ctrk-run config "$C" -- true <"$T/m.json"
	assert_success
	assert_equal "$(jq -r '.mounts[-1].destination' <<<"$output")" /y

	r -125 --tmpfs /.. -- true
	assert_run_error "--tmpfs '/..' is the container's root"
	jq '.mounts += [{type: "tmpfs", source: "tmpfs", target: "/x/.."}]' "$D" >"$T/m.json"
	RIN=$T/m.json r -125 -- true
	assert_run_error "descriptor: mounts[1] target '/x/..' is the container's root"
	RIN=
	r -125 -w "/$(big 4095)" -- true
	assert_run_error "more than PATH_MAX (4095)"
	with_config '. + {WorkingDir: "rel/dir"}'
	r -125 -- true
	assert_run_error "the working directory (image config WorkingDir) 'rel/dir' is not an absolute path"
	no_container
}

@test "the runtime gets PATH and XDG_RUNTIME_DIR, never the caller's environment" {
	local rt
	for rt in runc crun; do
		# A wrapper as --runtime: it records its environment, then is the
		# runtime.  Named as the runtime: ctrk-run treats crun by name.
		mkdir -p "$T/wrap-$rt"
		printf '#!/bin/sh\n/usr/bin/env >>%s\necho --- >>%s\nexec %s "$@"\n' "$T/env-$rt" "$T/env-$rt" \
			"$(command -v "$rt")" >"$T/wrap-$rt/$rt"
		chmod +x "$T/wrap-$rt/$rt"
		CTRK_TEST_TOKEN=hunter2-token XDG_RUNTIME_DIR=$T/xdg r -0 --runtime "$T/wrap-$rt/$rt" -- sh -c 'env | grep -c hunter2 || true'
		assert_output 0
		[[ -s $T/env-$rt ]] || fail "the wrapper did not run"
		run grep -c hunter2 "$T/env-$rt"
		assert_output 0
		# What it gets, and nothing else.
		# (PWD is the wrapper's sh's own.)
		run sh -c "grep -v '^---' '$T/env-$rt' | cut -d= -f1 | grep -vx PWD | sort -u"
		assert_output "PATH
XDG_RUNTIME_DIR"
		run grep -c "^XDG_RUNTIME_DIR=$T/xdg\$" "$T/env-$rt"
		refute_output 0
		# --env NAME still takes ctrk-run's own value, on purpose.
		CTRK_TEST_TOKEN=hunter2-token r -0 --runtime "$T/wrap-$rt/$rt" -e CTRK_TEST_TOKEN -- sh -c 'echo $CTRK_TEST_TOKEN'
		assert_output hunter2-token
		run grep -c hunter2 "$T/env-$rt"
		assert_output 0
	done
}

@test "a detached container's supervisor keeps none of its caller's descriptors" {
	exec 7>"$T/seven"
	# Its caller's pipe: the reader must see the end when ctrk-run returns,
	# not when the container ends.
	run timeout 30 bash -c "ctrk-run run -d $C -- sleep 1000 <'$D' 9>&1 >'$T/out.json' 2>'$T/err' | cat"
	assert_success
	exec 7>&-
	local sup
	sup=$(fuser "$CTRK_RUN/$C/owner.lock" 2>/dev/null | tr -d ' ')
	[[ -n $sup ]] || fail "no supervisor holds owner.lock"
	local fds
	fds=$(ls -l "/proc/$sup/fd" | awk 'NR > 1 { print $NF }')
	printf '# supervisor %s fds:\n%s\n' "$sup" "$fds"
	refute grep -q "$T/seven" <<<"$fds"
	refute grep -q "pipe:" <<<"$(ls -l "/proc/$sup/fd/9" 2>/dev/null)"
	# What it has: stdio, its log, its locks, its signalfd and pidfd.
	run ls "/proc/$sup/fd"
	assert [ "${#lines[@]}" -le 12 ]
	run ctrk-run state "$C"
	assert_success
	ctrk-run delete --force "$C" >/dev/null
}
