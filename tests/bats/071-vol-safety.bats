#!/usr/bin/env bats
# ctrk-vol: safety and durability — parallel creates, SIGKILL at any moment
# of create, import and rm, check [--fix], and rm never reaching outside
# the store.

load helpers

setup() {
	vol_setup
}

teardown() {
	vol_teardown
}

# parallel_create N NAME ARGS...: N creates of NAME at once; their exit
# statuses in $T/rc.*, their stderr in $T/err.*.
parallel_create() {
	local n=$1 name=$2 i pids=()
	shift 2
	rm -f "$T"/rc.* "$T"/err.*
	for ((i = 0; i < n; i++)); do
		(
			rc=0
			ctrk-vol create "$@" "$name" >/dev/null 2>"$T/err.$i" || rc=$?
			echo "$rc" >"$T/rc.$i"
		) &
		pids+=($!)
	done
	wait "${pids[@]}"
}

# assert_store_clean: no temp entries left, check finds nothing.
assert_store_clean() {
	run ctrk-vol check
	assert_success
	assert_output ""
	run bash -c "ls -A '$S' | grep -v '^\.lock$' | grep '^\.' || true"
	assert_output ""
}

@test "8 parallel creates of one name: exactly one volume, seven clear errors" {
	local type
	for type in dir loop; do
		local args=()
		[[ $type == loop ]] && args=(--type loop -o size=4m)
		parallel_create 8 "same-$type" "${args[@]}"
		assert_equal "$(cat "$T"/rc.* | sort | uniq -c | awk '{print $1 ":" $2}' | tr '\n' ' ')" "1:0 7:1 "
		assert_equal "$(cat "$T"/err.* | sort | uniq -c | awk '{$1=$1; print}')" \
			"7 ctrk-vol: error: volume 'same-$type' already exists"
		run ctrk-vol inspect "same-$type"
		assert_success
		assert_equal "$(jq -r '.[0].type' <<<"$output")" "$type"
	done
	run ctrk-vol ls -q
	assert_output "$(printf 'same-dir\nsame-loop')"
	assert_store_clean
	# Parallel creates of different names all succeed.
	local i pids=()
	for ((i = 0; i < 8; i++)); do
		ctrk-vol create "many$i" >/dev/null &
		pids+=($!)
	done
	for i in "${pids[@]}"; do wait "$i"; done
	assert_equal "$(ctrk-vol ls -q | grep -c '^many')" 8
	# And parallel rm of one volume: one removes it, the others say so.
	rm -f "$T"/rc.*
	pids=()
	for ((i = 0; i < 8; i++)); do
		(
			rc=0
			ctrk-vol rm -q many0 2>/dev/null || rc=$?
			echo "$rc" >"$T/rc.$i"
		) &
		pids+=($!)
	done
	wait "${pids[@]}"
	assert_equal "$(cat "$T"/rc.* | sort | uniq -c | awk '{print $1 ":" $2}' | tr '\n' ' ')" "1:0 7:1 "
	assert_store_clean
}

@test "SIGKILL during create: no volume; check reports the leftover, --fix (or the next create) removes it" {
	vol_make_driver
	ctrk-vol create --type shdrv -o hang=1 half &
	local pid=$! i
	for ((i = 0; i < 100; i++)); do [[ -s $T/shdrv/pid.half ]] && break; sleep 0.05; done
	[[ -d $S/.tmp-half ]]
	kill -KILL "$pid"
	wait "$pid" || true
	# Half made: never a volume.
	run ctrk-vol exists half
	assert_failure 1
	run ctrk-vol ls -q
	assert_output ""
	run ctrk-vol inspect half
	assert_failure 1
	run ctrk-vol check
	assert_failure 1
	assert_output "leftover: $S/.tmp-half: a create or import that was killed"
	run ctrk-vol check --json
	assert_failure 1
	assert_equal "$(jq -c '[.[] | [.kind, .fixed]]' <<<"$output")" '[["leftover",false]]'
	[[ -d $T/shdrv/half ]]
	run ctrk-vol check --fix
	assert_success
	assert_output "leftover: $S/.tmp-half: a create or import that was killed (fixed)"
	[[ ! -e $S/.tmp-half ]]
	# What the driver had made for it is removed through the driver.
	[[ ! -e $T/shdrv/half ]]
	assert_store_clean

	# Killed again; this time the next create of the same name cleans up.
	ctrk-vol create --type shdrv -o hang=1 half2 &
	pid=$!
	for ((i = 0; i < 100; i++)); do [[ -s $T/shdrv/pid.half2 ]] && break; sleep 0.05; done
	kill -KILL "$pid"
	wait "$pid" || true
	[[ -d $S/.tmp-half2 && -d $T/shdrv/half2 ]]
	run ctrk-vol create half2
	assert_success
	[[ ! -e $T/shdrv/half2 ]]
	run ctrk-vol inspect half2
	assert_equal "$(jq -r '.[0].type' <<<"$output")" dir
	assert_store_clean

	# A live create is no leftover: check --fix leaves it alone, and a
	# second create of the name waits for it, then finds it.
	ctrk-vol create --type shdrv -o hang=1 live &
	pid=$!
	track_pid "$pid"
	for ((i = 0; i < 100; i++)); do [[ -s $T/shdrv/pid.live ]] && break; sleep 0.05; done
	run ctrk-vol check --fix
	assert_success
	[[ -d $S/.tmp-live ]]
	kill -KILL "$(cat "$T/shdrv/pid.live")"
	local st=0
	wait "$pid" || st=$?
	assert_equal "$st" 1
	run ctrk-vol exists live
	assert_failure 1
	assert_store_clean
}

@test "SIGKILL at random moments of create, import and rm: a volume is complete or absent" {
	local i name kind pid d
	head -c 3000000 /dev/urandom >"$T/blob"
	ctrk-vol create src >/dev/null
	for ((i = 0; i < 200; i++)); do echo "$i" >"$S/src/_data/f$i"; done
	cp "$T/blob" "$S/src/_data/blob"
	ctrk-vol export src >"$T/src.tar"
	for ((i = 0; i < 12; i++)); do
		d=$(printf '0.%03d' $((i * 9)))
		for kind in create-loop import rm; do
			name=k-$kind-$i
			case $kind in
			create-loop) ctrk-vol create --type loop -o size=8m "$name" >/dev/null 2>&1 & ;;
			import) ctrk-vol import "$name" <"$T/src.tar" >/dev/null 2>&1 & ;;
			rm)
				ctrk-vol import "$name" <"$T/src.tar" >/dev/null
				ctrk-vol rm "$name" >/dev/null 2>&1 &
				;;
			esac
			pid=$!
			sleep "$d"
			kill -KILL "$pid" 2>/dev/null || true
			wait "$pid" 2>/dev/null || true
			if ctrk-vol exists "$name"; then
				# Complete: valid metadata and all of its content.
				run ctrk-vol inspect "$name"
				assert_success
				case $kind in
				create-loop) [[ $(stat -c %s "$S/$name/disk.img") -ge 8388608 ]] ;;
				*)
					cmp "$T/blob" "$S/$name/_data/blob"
					assert_equal "$(ls "$S/$name/_data" | wc -l)" 201
					;;
				esac
			else
				[[ ! -e $S/$name ]]
			fi
		done
	done
	echo "# after the kills: $(ls -A "$S" | tr '\n' ' ')" >&3
	run ctrk-vol check --fix
	assert_store_clean
	# Nothing of the killed imports is mounted or attached to a loop device.
	run findmnt -rn -o TARGET
	refute_output --partial "$S"
	run losetup -j "$S"/k-create-loop-0/disk.img
	assert_output ""
}

@test "check: damaged metadata rebuilt, empty volume dirs removed, stale mount points and mounts let go" {
	ctrk-vol create good >/dev/null
	ctrk-vol create broken >/dev/null
	echo keep >"$S/broken/_data/f"
	echo '{"version": 1, "name": ' >"$S/broken/meta.json"
	ctrk-vol create --type loop -o size=2m lo >/dev/null
	rm "$S/lo/meta.json"
	mkdir -m 0700 "$S/empty"
	mkdir -p "$CTRK_RUN/volumes/ghost" "$CTRK_RUN/volumes/ghost2"
	mount -t tmpfs tmpfs "$CTRK_RUN/volumes/ghost2"
	# A metadata write killed between its temp file and the rename.
	echo partial >"$S/good/.meta.json.Ab12Cd"
	run ctrk-vol ls -q
	assert_failure 1
	assert_output --partial "volume 'broken' is damaged (see ctrk-vol check)"
	assert_line good
	run ctrk-vol inspect broken
	assert_failure 1
	assert_output --partial "volume 'broken' is damaged"
	run ctrk-vol check --json
	assert_failure 1
	assert_equal "$(jq -c '[.[] | [.kind, .volume, .fixed]] | sort' <<<"$output")" \
		'[["damaged","broken",false],["damaged","empty",false],["damaged","lo",false],["meta-temp","good",false],["stale-mount","ghost2",false],["stale-mountpoint","ghost",false]]'
	run ctrk-vol check --fix
	assert_success
	assert_line --partial "metadata rebuilt (fixed)"
	assert_line --partial "removed (it held no content) (fixed)"
	assert_store_clean
	run ctrk-vol inspect broken lo
	assert_success
	assert_equal "$(jq -c '[.[] | [.name, .type, .repaired]]' <<<"$output")" '[["broken","dir",true],["lo","loop",true]]'
	assert_equal "$(cat "$S/broken/_data/f")" keep
	run ctrk-vol exists empty
	assert_failure 1
	[[ ! -e $CTRK_RUN/volumes/ghost && ! -e $CTRK_RUN/volumes/ghost2 ]]
	run findmnt -rn -o TARGET
	refute_output --partial "$CTRK_RUN/volumes"
}

@test "check --fix empties a volume whose populate was killed and drops the mark" {
	# The state a killed populate leaves (073-vol-populate kills a real
	# one): "populating": true and a half copy.
	ctrk-vol create half >/dev/null
	jq '. + {populating: true}' "$S/half/meta.json" >"$T/m"
	cat "$T/m" >"$S/half/meta.json"
	mkdir "$S/half/_data/partial"
	echo x >"$S/half/_data/partial/f"
	run ctrk-vol check
	assert_failure 1
	assert_output "populate-interrupted: $S/half: a populate that was killed: --fix empties it (the next attach copies again)"
	run ctrk-vol check --fix
	assert_success
	assert_equal "$(ls -A "$S/half/_data")" ""
	assert_equal "$(jq 'has("populating")' "$S/half/meta.json")" false
	assert_store_clean

	# Never under a running container that uses the volume.
	export CTRK_RUNTIME=runc
	C=$(cid c)
	container_rootfs "$C"
	ctrk-vol attach --populate never half:/data <"$T/$C.json" >"$T/d.json"
	ctrk-run run --rm "$C" -- sh -c 'echo mine >/data/f; sleep 300' <"$T/d.json" &
	track_pid $!
	wait_running "$C"
	for i in $(seq 50); do [[ -f $S/half/_data/f ]] && break; sleep 0.1; done
	jq '. + {populating: true}' "$S/half/meta.json" >"$T/m"
	cat "$T/m" >"$S/half/meta.json"
	run ctrk-vol check --fix
	assert_failure 1
	assert_output --partial "the running container '$C' uses it"
	assert_equal "$(cat "$S/half/_data/f")" mine
	ctrk-run kill "$C" KILL
	for i in $(seq 50); do ctrk-run list -q | grep -qx "$C" || break; sleep 0.1; done
	run ctrk-vol check --fix
	assert_success
	assert_equal "$(ls -A "$S/half/_data")" ""
}

@test "rm removes only inside the store: never through a symlink" {
	mkdir -p "$T/outside"
	echo precious >"$T/outside/file"
	ctrk-vol create v >/dev/null
	rmdir "$S/v/_data"
	ln -s "$T/outside" "$S/v/_data"
	ln -s "$T/outside/file" "$S/v/link"
	ctrk-vol rm v
	[[ ! -e $S/v ]]
	assert_equal "$(cat "$T/outside/file")" precious
	# A symlink in place of a volume is no volume.
	ln -s "$T/outside" "$S/fake"
	run ctrk-vol rm fake
	assert_failure 1
	assert_output --partial "no such volume 'fake'"
	run ctrk-vol inspect fake
	assert_failure 1
	assert_equal "$(cat "$T/outside/file")" precious
	rm "$S/fake"
	# A bind volume's directory is the host's: rm leaves it.
	ctrk-vol create --type bind -o path="$T/outside" b >/dev/null
	ctrk-vol rm b
	assert_equal "$(cat "$T/outside/file")" precious
}

@test "rm never deletes another file system's files mounted inside a volume" {
	ctrk-vol create v >/dev/null
	local data
	data=$(ctrk-vol path v)
	mkdir "$data/m"
	mount -t tmpfs tmpfs "$data/m"
	echo precious >"$data/m/file"
	run --separate-stderr ctrk-vol rm --force v
	assert_failure 1
	assert_equal "$stderr" "ctrk-vol: error: cannot remove volume 'v': '$(realpath "$data")/m' is mounted inside volume 'v': unmount it first"
	assert_equal "$(cat "$data/m/file")" precious
	# Nothing was renamed away or half removed.
	assert_equal "$(ctrk-vol ls -q)" v
	assert_equal "$(ls -A "$S")" $'.lock\nv'
	umount "$data/m"
	ctrk-vol rm v
	assert_equal "$(ls -A "$S")" .lock
}

@test "rm unmounts a loop volume that is mounted and unused (--force when a pipeline holds it)" {
	ctrk-vol create --type loop -o size=4m lv >/dev/null
	printf '{}' | ctrk-vol attach lv:/data >"$T/d.json"
	run ctrk-vol path lv
	assert_success
	assert_output "$CTRK_RUN/volumes/lv"
	mountpoint -q "$CTRK_RUN/volumes/lv"
	echo data >"$CTRK_RUN/volumes/lv/f"
	run losetup -j "$S/lv/disk.img"
	assert_output --partial /dev/loop
	# d.json's pipeline (this shell) holds it: only --force removes it.
	run --separate-stderr ctrk-vol rm lv
	assert_failure 1
	assert_equal "$stderr" "ctrk-vol: error: cannot remove volume 'lv': volume 'lv' is attached by a pipeline whose container has not started: its detach releases it (or --force)"
	mountpoint -q "$CTRK_RUN/volumes/lv"
	ctrk-vol rm --force lv
	run findmnt -rn -o TARGET
	refute_output --partial "$CTRK_RUN/volumes/lv"
	[[ ! -e $CTRK_RUN/volumes/lv ]]
	run losetup -j "$S/lv/disk.img"
	assert_output ""
}

@test "every lock wait has an end: an export stuck on its reader makes others fail after CTRK_VOL_LOCK_TIMEOUT" {
	ctrk-vol create big
	head -c 4M /dev/urandom >"$(ctrk-vol path big)/blob"
	mkfifo "$T/fifo"
	# The export holds the volume's lock while it writes; nobody reads.
	ctrk-vol export big >"$T/fifo" &
	local pid=$!
	exec 8<>"$T/fifo" # opened, never read: the export blocks on a full pipe
	local t0=$SECONDS
	run --separate-stderr env CTRK_VOL_LOCK_TIMEOUT=1 ctrk-vol attach big:/b </dev/null
	assert_failure 1
	assert_equal "$stderr" "ctrk-vol: error: attaching 'big:/b': volume 'big' is busy: another ctrk-vol has held it for 1 s (CTRK_VOL_LOCK_TIMEOUT)"
	[ -z "$output" ]
	((SECONDS - t0 < 10))
	run --separate-stderr env CTRK_VOL_LOCK_TIMEOUT=1 ctrk-vol rm big
	assert_failure 1
	[[ $stderr == *"volume 'big' is busy"* ]]
	kill "$pid"
	exec 8<&-
	wait "$pid" || true
	ctrk-vol rm big
}
