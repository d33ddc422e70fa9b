#!/usr/bin/env bats
# ctrk-vol attach and detach: container mounts in the descriptor, run by
# real containers (ctrk-snap prepare | ctrk-vol attach | ctrk-mount |
# ctrk-run run), and the teardown pipeline with ctrk-vol detach.

load helpers

setup() {
	ctrk_setup
	export CTRK_RUNTIME=runc
	T=$BATS_TEST_TMPDIR
	IMG="oci:$CTRK_FIXTURES:single"
	ctrk-pull -q "$IMG" >/dev/null
}

teardown() {
	run_teardown
}

# up KEY ATTACH-ARGS...: snapshot KEY of the fixture image, the attach,
# mounted: the descriptor in $T/KEY.json.
up() {
	local key=$1
	shift
	set -o pipefail
	ctrk-snap prepare --image "$IMG" "$key" </dev/null | ctrk-vol attach "$@" | ctrk-mount >"$T/$key.json"
}

# inside KEY CMD: run sh -c CMD in a container on KEY's descriptor (removed at
# its end); $output, $stderr, $status as bats' run.
inside() {
	run --separate-stderr ctrk-run run --rm "$1" -- sh -c "$2" <"$T/$1.json"
	printf '# inside %s: %s\n# exit %s\n# stdout: %s\n# stderr: %s\n' "$1" "$2" "$status" "$output" "$stderr"
}

# down KEY: the teardown pipeline (the descriptor on stdin for a container
# that is already gone).
down() {
	set -o pipefail
	ctrk-run delete --force "$1" <"$T/$1.json" | ctrk-mount --unmount | ctrk-vol detach | ctrk-snap remove
}

@test "data written by one container is read by the next (volume outlives both)" {
	ctrk-vol create data
	local a b
	a=$(cid a) b=$(cid b)
	up "$a" data:/data
	inside "$a" 'echo kept > /data/file && id -u > /data/who'
	assert_success
	down "$a" >/dev/null
	up "$b" data:/var/lib/x
	inside "$b" 'cat /var/lib/x/file /var/lib/x/who'
	assert_success
	assert_output $'kept\n0'
	down "$b" >/dev/null
	# And on the host, in the volume's own directory.
	assert_equal "$(cat "$(ctrk-vol path data)/file")" kept
}

@test ":ro gives EROFS inside; rw (the default) writes" {
	ctrk-vol create ro
	local a
	a=$(cid a)
	up "$a" ro:/ro:ro ro:/rw
	inside "$a" 'echo x > /ro/f'
	assert_failure
	[[ $stderr == *"Read-only file system"* ]]
	inside "$a" 'echo x > /rw/f && cat /ro/f'
	assert_success
	assert_output x
	assert_equal "$(jq -c '[.mounts[] | select(.target == "/ro") | .options[]] | index("ro") != null' "$T/$a.json")" true
}

@test "--tmpfs with size and mode, --bind of a host directory (and :ro) work in the container" {
	local a
	a=$(cid a)
	mkdir "$T/host"
	echo from-host >"$T/host/h.txt"
	up "$a" --tmpfs /scratch:size=8m,mode=1777 --bind "$T/host:/h" --bind "$T/host/h.txt:/etc/h.txt:ro"
	inside "$a" 'grep " /scratch " /proc/mounts; stat -c %a /scratch; cat /h/h.txt; echo w > /h/new; echo z > /etc/h.txt'
	assert_failure # the last write, to the read-only bind
	assert_line --index 0 --regexp '^tmpfs /scratch tmpfs .*size=8192k'
	assert_line --index 1 1777
	assert_line --index 2 from-host
	[[ $stderr == *"Read-only file system"* ]]
	assert_equal "$(cat "$T/host/new")" w
	assert_equal "$(cat "$T/host/h.txt")" from-host
	# Without options: nosuid, nodev, noexec, as ctrk-run --tmpfs.
	ctrk-vol attach --tmpfs /t </dev/null >"$T/t.json"
	assert_equal "$(jq -c '.mounts[0].options' "$T/t.json")" '["nosuid","nodev","noexec","rw"]'
}

@test "attach twice is idempotent; every other field passes through unchanged" {
	ctrk-vol create v
	local a
	a=$(cid a)
	ctrk-snap prepare --image "$IMG" "$a" </dev/null |
		jq -c '. + {"x-user": {"keep": [1, "two"]}, "netns": "/run/netns/none"}' >"$T/in.json"
	ctrk-vol attach v:/data --tmpfs /tmp <"$T/in.json" >"$T/once.json"
	ctrk-vol attach v:/data --tmpfs /tmp <"$T/once.json" >"$T/twice.json"
	assert_equal "$(jq -S . "$T/once.json")" "$(jq -S . "$T/twice.json")"
	assert_equal "$(jq '[.mounts[] | select(.target == "/data")] | length' "$T/twice.json")" 1
	assert_equal "$(jq '.volumes | length' "$T/twice.json")" 2
	# The rootfs mounts first, untouched; ours after them.
	assert_equal "$(jq -c '.mounts[0]' "$T/twice.json")" "$(jq -c '.mounts[0]' "$T/in.json")"
	assert_equal "$(jq -S 'del(.mounts, .volumes)' "$T/twice.json")" "$(jq -S 'del(.mounts)' "$T/in.json")"
	# A new spec at a target replaces what was there: now read-only.
	ctrk-vol attach v:/data:ro <"$T/twice.json" >"$T/ro.json"
	assert_equal "$(jq -c '[.mounts[] | select(.target == "/data") | .options] ' "$T/ro.json")" '[["rbind","ro"]]'
	assert_equal "$(jq '.volumes | length' "$T/ro.json")" 2
	ctrk-snap remove "$a"
}

@test "detach removes exactly what attach added; again passes it on unchanged; empty input fails" {
	ctrk-vol create v
	local a
	a=$(cid a)
	ctrk-snap prepare --image "$IMG" "$a" </dev/null | jq -c '. + {"x-user": 1}' >"$T/in.json"
	mkdir "$T/host"
	ctrk-vol attach v:/data --tmpfs /tmp --bind "$T/host:/t" <"$T/in.json" >"$T/att.json"
	ctrk-vol detach <"$T/att.json" >"$T/det.json"
	assert_equal "$(jq -S . "$T/det.json")" "$(jq -S . "$T/in.json")"
	ctrk-vol detach <"$T/det.json" >"$T/det2.json"
	assert_equal "$(jq -S . "$T/det2.json")" "$(jq -S . "$T/in.json")"
	# A descriptor that started with attach: nothing of ours is left.
	ctrk-vol attach v:/data </dev/null | ctrk-vol detach >"$T/bare.json"
	assert_equal "$(jq -c . "$T/bare.json")" '{"version":1}'
	# Fail closed: the step before failed.
	run --separate-stderr ctrk-vol detach </dev/null
	assert_failure
	assert_output ""
	[[ $stderr == "ctrk-vol: error: no descriptor on stdin (empty input)" ]]
	ctrk-snap remove "$a"
}

@test "teardown pipeline works twice; rm refuses a volume a container uses and names it" {
	ctrk-vol create db
	local a
	a=$(cid a)
	up "$a" db:/db
	ctrk-run run -d "$a" -- sleep 1000 <"$T/$a.json" >/dev/null
	run --separate-stderr ctrk-vol rm db
	assert_failure
	[[ $stderr == *"in use by container '$a'"* ]]
	set -o pipefail
	ctrk-run delete --force "$a" | ctrk-mount --unmount | ctrk-vol detach | ctrk-snap remove >"$T/down1.json"
	ctrk-run delete "$a" | ctrk-mount --unmount | ctrk-vol detach | ctrk-snap remove >"$T/down2.json"
	assert_equal "$(jq -S . "$T/down1.json")" "$(jq -S . "$T/down2.json")"
	assert_equal "$(jq -c 'has("mounts"), has("volumes"), has("snapshot")' "$T/down1.json" | tr '\n' ' ')" "false false false "
	ctrk-vol rm db
}

@test "a loop volume is mounted while attached and unmounted by detach once no running container uses it" {
	command -v mkfs.ext4 >/dev/null || skip "mkfs.ext4 (e2fsprogs) missing"
	ctrk-vol create --type loop --opt size=16m lv
	local a b mp=$CTRK_RUN/volumes/lv
	a=$(cid a) b=$(cid b)
	up "$a" lv:/lv
	mountpoint -q "$mp"
	up "$b" lv:/lv
	ctrk-run run -d "$a" -- sleep 1000 <"$T/$a.json" >/dev/null
	inside "$b" 'echo from-b > /lv/f'
	assert_success
	# b's teardown: a still runs on the volume, so it stays mounted.
	down "$b" >/dev/null
	mountpoint -q "$mp"
	run ctrk-run exec "$a" cat /lv/f
	assert_output from-b
	set -o pipefail
	ctrk-run delete --force "$a" | ctrk-mount --unmount | ctrk-vol detach | ctrk-snap remove >/dev/null
	! mountpoint -q "$mp"
	# The data is in the image file: attach mounts it again.
	up "$a" lv:/lv
	inside "$a" 'cat /lv/f'
	assert_output from-b
	down "$a" >/dev/null
}

@test "a new spec at a target that held a loop volume unmounts the old one when nothing uses it" {
	command -v mkfs.ext4 >/dev/null || skip "mkfs.ext4 (e2fsprogs) missing"
	ctrk-vol create --type loop --opt size=4m l1
	ctrk-vol create --type loop --opt size=4m l2
	ctrk-vol create d
	ctrk-vol attach l1:/x l2:/y </dev/null >"$T/one.json"
	mountpoint -q "$CTRK_RUN/volumes/l1"
	mountpoint -q "$CTRK_RUN/volumes/l2"
	# /x now holds a dir volume: l1 is this descriptor's no more.
	ctrk-vol attach d:/x <"$T/one.json" >"$T/two.json"
	! mountpoint -q "$CTRK_RUN/volumes/l1"
	[ ! -e "$CTRK_RUN/volumes/l1" ]
	mountpoint -q "$CTRK_RUN/volumes/l2"
	# A volume that moves to another target in the same descriptor stays.
	ctrk-vol attach l2:/z --tmpfs /y <"$T/two.json" >"$T/three.json"
	mountpoint -q "$CTRK_RUN/volumes/l2"
	assert_equal "$(jq -c '[.volumes[] | .name // .type]' "$T/three.json")" '["d","l2","tmpfs"]'
	ctrk-vol detach <"$T/three.json" >/dev/null
	! mountpoint -q "$CTRK_RUN/volumes/l2"
	# A failed attach unmounts what it mounted (the anonymous volume's
	# bad option fails after l1 was mounted).
	run --separate-stderr ctrk-vol attach l1:/a --anonymous /b -o x=y </dev/null
	assert_failure
	[[ $stderr == *"unknown option 'x' for a dir volume"* ]]
	! mountpoint -q "$CTRK_RUN/volumes/l1"
	[ -z "$output" ]
	ctrk-vol rm l1 l2 d
}

@test "a pipeline not yet started holds its loop volume: another descriptor's detach leaves it mounted" {
	command -v mkfs.ext4 >/dev/null || skip "mkfs.ext4 (e2fsprogs) missing"
	ctrk-vol create --type loop --opt size=4m lv
	local mp=$CTRK_RUN/volumes/lv
	ctrk-vol attach lv:/lv </dev/null >"$T/a.json"
	ctrk-vol attach lv:/lv </dev/null >"$T/b.json"
	local ha hb
	ha=$(jq -r '.volumes[0].hold' "$T/a.json") hb=$(jq -r '.volumes[0].hold' "$T/b.json")
	[[ $ha =~ ^[0-9a-f]{16}$ && $hb =~ ^[0-9a-f]{16}$ && $ha != "$hb" ]]
	# Attaching again keeps the descriptor's hold.
	ctrk-vol attach lv:/lv <"$T/a.json" >"$T/a2.json"
	assert_equal "$(jq -S . "$T/a2.json")" "$(jq -S . "$T/a.json")"
	# b's teardown: a has not started its container yet, and holds it.
	ctrk-vol detach <"$T/b.json" >/dev/null
	mountpoint -q "$mp"
	[ ! -e "$CTRK_RUN/volumes/.holds/lv/$hb" ]
	[ -f "$CTRK_RUN/volumes/.holds/lv/$ha" ]
	ctrk-vol detach <"$T/a.json" >/dev/null
	! mountpoint -q "$mp"
	[ ! -e "$CTRK_RUN/volumes/.holds/lv" ]
	# A pipeline that died without its teardown holds nothing: its hold
	# is stale once the process that ran it is gone.
	sh -c 'ctrk-vol attach lv:/lv </dev/null >"$1"; true' _ "$T/dead.json"
	ctrk-vol attach lv:/lv </dev/null | ctrk-vol detach >/dev/null
	! mountpoint -q "$mp"
	[ ! -e "$CTRK_RUN/volumes/.holds/lv" ]
	# With no teardown after it, check finds its mount; --fix unmounts it.
	sh -c 'ctrk-vol attach lv:/lv </dev/null >"$1"; true' _ "$T/dead.json"
	mountpoint -q "$mp"
	run ctrk-vol check
	assert_failure 1
	assert_output "unused-mount: $mp: mounted, but no container uses it and no pipeline holds it: --fix unmounts it"
	run ctrk-vol check --fix
	assert_success
	! mountpoint -q "$mp"
	run ctrk-vol check
	assert_success
	assert_output ""
	# One this shell holds is left alone.
	ctrk-vol attach lv:/lv </dev/null >"$T/live.json"
	run ctrk-vol check --fix
	assert_success
	mountpoint -q "$mp"
	ctrk-vol detach <"$T/live.json" >/dev/null
	! mountpoint -q "$mp"
	# A crafted hold names no path.
	run --separate-stderr ctrk-vol detach <<<'{"version":1,"volumes":[{"target":"/x","type":"volume","name":"lv","hold":"../../../etc/x"}]}'
	assert_failure 1
	assert_equal "$stderr" "ctrk-vol: error: descriptor: volumes[0]: 'hold' must be 16 hex digits, not '../../../etc/x'"
	ctrk-vol rm lv
}

@test "ctrk-mount's default target never lands in ctrk-vol's \$CTRK_RUN/volumes (snapshot key 'volumes')" {
	local k
	for k in volumes runtime deleted; do
		run --separate-stderr ctrk-mount <<<"{\"version\":1,\"snapshot\":{\"key\":\"$k\"},\"mounts\":[{\"type\":\"tmpfs\",\"source\":\"tmpfs\",\"target\":\"/\"}]}"
		assert_failure
		assert_equal "$stderr" "ctrk-mount: error: no --target given: descriptor: snapshot.key '$k' is reserved in '$CTRK_RUN': give --target"
		[ -z "$output" ]
		[ ! -e "$CTRK_RUN/$k/rootfs" ]
	done
}

@test "--anonymous makes a new volume; attaching it again at the same target keeps the same one" {
	local a
	a=$(cid a)
	ctrk-snap prepare --image "$IMG" "$a" </dev/null | ctrk-vol attach --anonymous /cache >"$T/1.json"
	local name
	name=$(jq -r '.volumes[0].name' "$T/1.json")
	assert_equal "$(jq -r '.volumes[0].anonymous' "$T/1.json")" true
	assert_equal "$(jq -r .anonymous "$CTRK_ROOT/volumes/$name/meta.json")" true
	ctrk-vol attach --anonymous /cache <"$T/1.json" >"$T/2.json"
	assert_equal "$(jq -r '.volumes[0].name' "$T/2.json")" "$name"
	assert_equal "$(ls "$CTRK_ROOT/volumes" | grep -cv '^\.')" 1
	ctrk-mount <"$T/2.json" >"$T/$a.json"
	inside "$a" 'echo c > /cache/c'
	assert_success
	assert_equal "$(cat "$(ctrk-vol path "$name")/c")" c
	down "$a" >/dev/null
}

@test "--uid/--gid give the volume's root to the container's user" {
	ctrk-vol create u
	local a
	a=$(cid a)
	up "$a" --uid 1000 --gid 1000 u:/home/u --tmpfs /t
	assert_equal "$(stat -c %u:%g "$(ctrk-vol path u)")" 1000:1000
	inside "$a" 'echo mine > /home/u/f && stat -c %u:%g /home/u/f /t'
	assert_success
	assert_output $'0:0\n1000:1000'
	run --separate-stderr ctrk-run run --rm -u 1000:1000 "$a" -- sh -c 'echo by-1000 > /home/u/g && echo ok > /t/x && cat /home/u/g' <"$T/$a.json"
	assert_success
	assert_output by-1000
	assert_equal "$(stat -c %u:%g "$(ctrk-vol path u)/g")" 1000:1000
	down "$a" >/dev/null
}

@test "bad specs: clear errors, nothing on stdout, nothing made" {
	ctrk-vol create ok
	ctrk-snap prepare --image "$IMG" "$(cid a)" </dev/null >"$T/in.json"
	ls -A "$CTRK_ROOT/volumes" >"$T/before"
	local spec
	check() {
		run --separate-stderr ctrk-vol attach "$@" <"$T/in.json"
		printf '# attach %s\n# exit %s\n# stderr: %s\n' "$*" "$status" "$stderr"
		assert_failure
		assert_output ""
		[[ $stderr == "ctrk-vol: error: "* ]]
		[[ $(echo "$stderr" | wc -l) == 1 ]]
	}
	check ok:data
	[[ $stderr == *"'data' must be an absolute path"* ]]
	check ok:/
	[[ $stderr == *"container's root"* ]]
	check ok:/a/../..
	check ok:/d,exec,bogus
	[[ $stderr == *"unknown option 'bogus'"* ]]
	check ok:/d:rx
	[[ $stderr == *"unknown mode 'rx'"* ]]
	check ok:/d,
	check missing:/d
	[[ $stderr == *"no volume 'missing'"* ]]
	check 'bad/name:/d'
	check ok:/d ok:/d/
	[[ $stderr == *"two mounts at '/d'"* ]]
	check --tmpfs /t:size=lots
	[[ $stderr == *"bad value in option 'size=lots'"* ]]
	check --tmpfs /t:mode=999
	check --tmpfs t
	check --bind rel:/x
	check --bind /nonexistent-$$:/x
	check --bind "$CTRK_ROOT:/x"
	[[ $stderr == *"inside ctrk's state"* ]]
	check --anonymous /
	# A good spec with a bad one: the good one is not made either.
	check --anonymous /cache missing:/d
	assert_equal "$(ls -A "$CTRK_ROOT/volumes")" "$(cat "$T/before")"
	# A failure after the anonymous volume was made (populate cannot read
	# a tmpfs rootfs): it is removed again.
	run --separate-stderr ctrk-vol attach --anonymous /data \
		<<<'{"mounts":[{"type":"tmpfs","source":"tmpfs","target":"/"}]}'
	assert_failure
	assert_output ""
	[[ $stderr == *"cannot populate from a rootfs mount of type 'tmpfs'"* ]]
	assert_equal "$(ls -A "$CTRK_ROOT/volumes")" "$(cat "$T/before")"
	# A malformed record of ours in the descriptor is refused.
	jq -c '.volumes = [{"target": "/", "type": "volume", "name": "ok"}]' "$T/in.json" >"$T/bad.json"
	run --separate-stderr ctrk-vol detach <"$T/bad.json"
	assert_failure
	assert_output ""
	[[ $stderr == *"volumes[0]"* ]]
	ctrk-snap remove "$(cid a)"
}
