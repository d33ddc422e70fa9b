#!/usr/bin/env bats
# ctrk-mount: mounting a descriptor's rootfs mounts and unmounting them,
# with real mounts (tmpfs, bind, overlay) under $BATS_TEST_TMPDIR.

load helpers

setup() {
	ctrk_setup
	T=$BATS_TEST_TMPDIR
}

# Everything a test mounted goes, also when it failed midway: background
# processes first (they keep mounts busy), then every mount under the test's
# dir, newest first, lazily so that nothing can stop it.
teardown() {
	ctrk_teardown
	unmount_under "$T"
}

# cm [-N|!] INPUT ARGS...: runs ctrk-mount ARGS with the text INPUT on stdin
# ($output is stdout, $stderr stderr; stdout also in $DESC).
cm() {
	local st=()
	if [[ ${1:-} =~ ^-[0-9]+$ || ${1:-} == '!' ]]; then
		st=("$1")
		shift
	fi
	printf '%s' "$1" >"$T/stdin.json"
	shift
	run "${st[@]}" --separate-stderr ctrk-mount "$@" <"$T/stdin.json"
	DESC=$output
	printf '# ctrk-mount %s\n# exit %s\n# stdout: %s\n# stderr: %s\n' "$*" "$status" "$output" "$stderr"
}

# rootfs_json MOUNT...: a descriptor whose mounts are the given JSON objects.
rootfs_json() {
	jq -cn '{mounts: $ARGS.positional | map(fromjson)}' --args "$@"
}

tmpfs_mount='{"type":"tmpfs","source":"tmpfs","target":"/","options":["size=8m","mode=0750"]}'

assert_not_mounted() {
	run mounts_under "$1"
	assert_output ""
}

@test "tmpfs rootfs with size and mode: mounted, rootfs added" {
	cm -0 "$(rootfs_json "$tmpfs_mount")" --target "$T/r"
	assert_equal "$(jq -r .rootfs <<<"$DESC")" "$T/r"
	assert_equal "$(jq -r .version <<<"$DESC")" 1
	assert_equal "$(findmnt -n -o FSTYPE "$T/r")" tmpfs
	run findmnt -n -o OPTIONS "$T/r"
	assert_output --partial size=8192k
	assert_output --partial mode=750
	assert_equal "$stderr" ""
}

@test "a relative --target is made absolute; parents are created 0700" {
	cd "$T"
	cm -0 "$(rootfs_json "$tmpfs_mount")" --target a/b/r
	assert_equal "$(jq -r .rootfs <<<"$DESC")" "$T/a/b/r"
	# Only root may reach a rootfs (its setuid programs): see ctrk(7).
	assert_equal "$(stat -c %a "$T/a" "$T/a/b")" "700
700"
	findmnt "$T/a/b/r" >/dev/null
}

@test "flags: ro, nosuid, nodev, noexec, noatime reach the mount" {
	cm -0 "$(rootfs_json '{"type":"tmpfs","source":"tmpfs","target":"/","options":["ro","nosuid","nodev","noexec","noatime","size=1m"]}')" --target "$T/r"
	run findmnt -n -o OPTIONS "$T/r"
	assert_output --regexp '^ro,nosuid,nodev,noexec,noatime'
	run ! touch "$T/r/x"
}

@test "bind: the source shows through; ro bind is read-only, its source is not" {
	mkdir -p "$T/src"
	echo hello >"$T/src/file"
	cm -0 "$(rootfs_json "{\"type\":\"bind\",\"source\":\"$T/src\",\"target\":\"/\",\"options\":[\"rbind\",\"rprivate\"]}")" --target "$T/rw"
	assert_equal "$(cat "$T/rw/file")" hello
	touch "$T/rw/new"
	[[ -e $T/src/new ]]

	cm -0 "$(rootfs_json "{\"type\":\"bind\",\"source\":\"$T/src\",\"target\":\"/\",\"options\":[\"ro\",\"nosuid\"]}")" --target "$T/ro"
	assert_equal "$(cat "$T/ro/file")" hello
	run ! touch "$T/ro/other"
	assert_output --partial "Read-only file system"
	run findmnt -n -o OPTIONS "$T/ro"
	assert_output --regexp '^ro,nosuid'
	touch "$T/src/still-writable"
	assert_equal "$(findmnt -n -o PROPAGATION "$T/rw")" private
}

@test "bind with a missing source: a clear error, nothing left" {
	cm -1 "$(rootfs_json "{\"type\":\"bind\",\"source\":\"$T/nope\",\"target\":\"/\"}")" --target "$T/new/r"
	assert_output ""
	assert_equal "$stderr" "ctrk-mount: error: cannot bind-mount '$T/nope' on '$T/new/r': No such file or directory"
	[[ ! -e $T/new ]]
}

@test "overlay, two lowers and an upper: writes land in the upper, whiteouts hide" {
	mkdir -p "$T/l1" "$T/l2" "$T/upper" "$T/work"
	echo top >"$T/l1/shared"
	echo bottom >"$T/l2/shared"
	echo a >"$T/l1/a"
	echo b >"$T/l2/b"
	echo gone >"$T/l2/gone"
	mknod "$T/upper/gone" c 0 0 # an overlay whiteout
	local m
	m=$(jq -cn --arg t "$T" '{type: "overlay", source: "overlay", target: "/",
		options: ["lowerdir=\($t)/l1:\($t)/l2", "upperdir=\($t)/upper", "workdir=\($t)/work"]}')
	cm -0 "$(rootfs_json "$m")" --target "$T/r"
	assert_equal "$(findmnt -n -o FSTYPE "$T/r")" overlay
	assert_equal "$(cat "$T/r/shared")" top
	assert_equal "$(cat "$T/r/a")" a
	assert_equal "$(cat "$T/r/b")" b
	[[ ! -e $T/r/gone ]]

	echo new >"$T/r/new"
	echo changed >"$T/r/b"
	rm "$T/r/a"
	assert_equal "$(cat "$T/upper/new")" new
	assert_equal "$(cat "$T/upper/b")" changed
	assert_equal "$(cat "$T/l2/b")" b
	assert_equal "$(stat -c %F "$T/upper/a")" "character special file"
	assert_equal "$(cat "$T/l1/a")" a
}

@test "overlay with 120 lowers, longer than a page: all layers visible, upper writable" {
	local i name lower="" m
	mkdir -p "$T/layers/upper" "$T/layers/work"
	for ((i = 0; i < 120; i++)); do
		name=$(printf 'layer-%03d-abcdefghijklmnopqrstuv' "$i")
		mkdir "$T/layers/$name"
		echo "$i" >"$T/layers/$name/file-$i"
		lower="$T/layers/$name${lower:+:$lower}"
	done
	((${#lower} > 4096))
	m=$(jq -cn --arg t "$T/layers" --arg l "$lower" '{type: "overlay", source: "overlay", target: "/",
		options: ["lowerdir=\($l)", "upperdir=\($t)/upper", "workdir=\($t)/work"]}')
	cm -0 "$(rootfs_json "$m")" --target "$T/r"
	for ((i = 0; i < 120; i++)); do
		[[ $(cat "$T/r/file-$i") == "$i" ]] || fail "file-$i is not visible"
	done
	assert_equal "$(find "$T/r" -mindepth 1 | wc -l)" 120
	echo up >"$T/r/written"
	assert_equal "$(cat "$T/layers/upper/written")" up
}

@test "overlay with 120 lowers, one missing: a clear error, nothing mounted" {
	local i lower="$T/layers/missing" m
	mkdir -p "$T/layers/upper" "$T/layers/work"
	for ((i = 0; i < 120; i++)); do
		mkdir "$T/layers/$(printf 'layer-%03d-abcdefghijklmnopqrstuv' "$i")"
		lower="$T/layers/$(printf 'layer-%03d-abcdefghijklmnopqrstuv' "$i"):$lower"
	done
	m=$(jq -cn --arg t "$T/layers" --arg l "$lower" '{type: "overlay", source: "overlay", target: "/",
		options: ["lowerdir=\($l)", "upperdir=\($t)/upper", "workdir=\($t)/work"]}')
	cm -1 "$(rootfs_json "$m")" --target "$T/r"
	assert_output ""
	assert_regex "$stderr" "^ctrk-mount: error: cannot mount overlay on '$T/r'.*: No such file or directory$"
	assert_not_mounted "$T"
	[[ ! -e $T/r ]]
}

@test "overlay with a missing lower: a clear error" {
	mkdir -p "$T/upper" "$T/work"
	m=$(jq -cn --arg t "$T" '{type: "overlay", source: "overlay", target: "/",
		options: ["lowerdir=\($t)/missing", "upperdir=\($t)/upper", "workdir=\($t)/work"]}')
	cm -1 "$(rootfs_json "$m")" --target "$T/r"
	assert_output ""
	assert_regex "$stderr" "^ctrk-mount: error: cannot mount overlay on '$T/r': No such file or directory"
}

@test "failure midway: the first mount is undone, the created target removed, stdout empty" {
	cm -1 "$(rootfs_json "$tmpfs_mount" '{"type":"nosuchfs","source":"x","target":"/"}')" --target "$T/made/r"
	assert_output ""
	assert_equal "$stderr" "ctrk-mount: error: cannot mount nosuchfs on '$T/made/r': the kernel does not know file system type 'nosuchfs' (it is not in /proc/filesystems)"
	assert_not_mounted "$T"
	[[ ! -e $T/made ]]
}

@test "failure midway on an existing target: unmounted, the target stays" {
	mkdir "$T/r"
	cm -1 "$(rootfs_json "$tmpfs_mount" '{"type":"tmpfs","source":"tmpfs","target":"/","options":["size=nonsense"]}')" --target "$T/r"
	assert_output ""
	assert_regex "$stderr" "^ctrk-mount: error: cannot mount tmpfs on '$T/r': Invalid argument"
	assert_not_mounted "$T"
	[[ -d $T/r ]]
}

@test "malformed descriptors are refused with the field named" {
	cm -1 '{"mounts":[' --target "$T/r"
	assert_output ""
	assert_regex "$stderr" '^ctrk-mount: error: descriptor: invalid JSON'

	cm -1 '{"mounts":[{"type":"tmpfs","target":"mnt"}]}' --target "$T/r"
	assert_equal "$stderr" "ctrk-mount: error: descriptor: mounts[0]: 'target' must be an absolute path, not 'mnt'"

	cm -1 '{"mounts":[{"type":"tmpfs","target":"/","options":"ro"}]}' --target "$T/r"
	assert_regex "$stderr" "'options' must be an array"

	cm -1 '{"rootfs":7}' --unmount
	assert_equal "$stderr" "ctrk-mount: error: descriptor: field 'rootfs' must be a string"
	[[ ! -e $T/r ]]
}

@test "no rootfs mounts: an error that says so" {
	cm -1 '{"mounts":[{"type":"tmpfs","source":"tmpfs","target":"/data"}]}' --target "$T/r"
	assert_output ""
	assert_equal "$stderr" 'ctrk-mount: error: descriptor has no rootfs mounts (target "/")'
	cm -1 '{}' --target "$T/r"
	assert_equal "$stderr" 'ctrk-mount: error: descriptor has no rootfs mounts (target "/")'
	[[ ! -e $T/r ]]
}

@test "unknown fields and the container's mounts pass through unchanged" {
	local in
	in=$(jq -cn --argjson tm "$tmpfs_mount" '{
		image: {ref: "x", layers: []},
		snapshot: {key: "k", driver: "overlay"},
		mounts: [{type: "bind", source: "/etc", target: "/etc/x", options: ["ro"]}, $tm,
			{type: "proc", source: "proc", target: "/proc"}],
		custom: {nested: [1, 2, {deep: true}]},
		"x-note": "kept"}')
	cm -0 "$in" --target "$T/r"
	assert_equal "$(jq -cS 'del(.rootfs)' <<<"$DESC")" "$(jq -cS '. + {version: 1}' <<<"$in")"
	# Only the rootfs mount was mounted, and nothing at /etc/x or /proc.
	assert_equal "$(mounts_under "$T")" "$T/r"
}

@test "default target: \$CTRK_RUN/KEY/rootfs; --unmount by descriptor removes it" {
	local in
	in=$(jq -cn --argjson tm "$tmpfs_mount" '{snapshot: {key: "c1"}, mounts: [$tm]}')
	cm -0 "$in"
	assert_equal "$(jq -r .rootfs <<<"$DESC")" "$CTRK_RUN/c1/rootfs"
	assert_equal "$(findmnt -n -o FSTYPE "$CTRK_RUN/c1/rootfs")" tmpfs

	cm -0 "$DESC" --unmount
	assert_equal "$stderr" ""
	assert_equal "$(jq -cS . <<<"$DESC")" "$(jq -cS '. + {version: 1}' <<<"$in")"
	assert_not_mounted "$T"
	[[ ! -e $CTRK_RUN/c1 ]]
	[[ -d $CTRK_RUN ]]
}

@test "no --target and no snapshot.key; a key that is not a name" {
	cm -1 "$(rootfs_json "$tmpfs_mount")"
	assert_equal "$stderr" "ctrk-mount: error: no --target given: the descriptor has no snapshot.key to name the target after"
	cm -1 "$(jq -cn --argjson tm "$tmpfs_mount" '{snapshot: {key: "../x"}, mounts: [$tm]}')"
	assert_regex "$stderr" "snapshot.key '../x' cannot name a directory"
	assert_not_mounted "$T"
}

@test "--unmount TARGET: stacked mounts all go, nothing on stdout, a target outside \$CTRK_RUN stays" {
	cm -0 "$(rootfs_json "$tmpfs_mount" '{"type":"tmpfs","source":"tmpfs","target":"/","options":["size=1m"]}')" --target "$T/r"
	assert_equal "$(mounts_under "$T" | wc -l)" 2
	mkdir "$T/r/proc"
	mount -t tmpfs sub "$T/r/proc"

	run -0 --separate-stderr ctrk-mount --unmount "$T/r"
	assert_output ""
	assert_equal "$stderr" ""
	assert_not_mounted "$T"
	[[ -d $T/r ]]

	run -1 --separate-stderr ctrk-mount --unmount="$T/r"
	assert_equal "$stderr" "ctrk-mount: error: cannot unmount '$T/r': it is not a mount point"
}

@test "--unmount takes only a mount point, never /" {
	mkdir -p "$T/plain/sub"
	mount -t tmpfs sub "$T/plain/sub"
	run -1 --separate-stderr ctrk-mount --unmount "$T/plain"
	assert_equal "$stderr" "ctrk-mount: error: cannot unmount '$T/plain': it is not a mount point"
	assert_equal "$(mounts_under "$T")" "$T/plain/sub"
	run -1 --separate-stderr ctrk-mount --unmount /
	assert_equal "$stderr" "ctrk-mount: error: refusing to unmount '/'"
	run -1 --separate-stderr ctrk-mount --unmount "$T/missing"
	assert_equal "$stderr" "ctrk-mount: error: cannot unmount '$T/missing': No such file or directory"
}

@test "mounting on a mount point is refused" {
	cm -0 "$(rootfs_json "$tmpfs_mount")" --target "$T/r"
	cm -1 "$(rootfs_json "$tmpfs_mount")" --target "$T/r"
	assert_equal "$stderr" "ctrk-mount: error: cannot mount on '$T/r': it is a mount point already (unmount it first)"
	assert_equal "$(mounts_under "$T" | wc -l)" 1
}

@test "a busy target: an error naming the process; --lazy detaches it" {
	cm -0 "$(rootfs_json "$tmpfs_mount")" --target "$T/r"
	(cd "$T/r" && exec sleep 60) 3>&- &
	local pid=$!
	track_pid "$pid"
	for ((i = 0; i < 50; i++)); do
		[[ $(readlink "/proc/$pid/cwd") == "$T/r" ]] && break
		sleep 0.1
	done

	run -1 --separate-stderr ctrk-mount --unmount "$T/r"
	assert_equal "$stderr" "ctrk-mount: error: cannot unmount '$T/r': it is busy (processes use it: $pid (sleep))"
	assert_equal "$(mounts_under "$T")" "$T/r"

	run -0 --separate-stderr ctrk-mount --unmount --lazy "$T/r"
	assert_equal "$stderr" "ctrk-mount: warning: '$T/r' is busy (processes use it: $pid (sleep)): detached it, the kernel unmounts it once they let go"
	assert_not_mounted "$T"
}

@test "--help, --version, usage errors" {
	run -0 ctrk-mount --help
	assert_line --index 0 --partial "Usage: ctrk-mount"
	assert_output --partial "--unmount"
	run -0 ctrk-mount --version
	assert_output --regexp '^ctrk-mount [0-9]+\.[0-9]+\.[0-9]+$'

	run -2 --separate-stderr ctrk-mount --bogus
	assert_equal "$stderr" "ctrk-mount: error: unknown option '--bogus'
Try 'ctrk-mount --help' for more information."
	run -2 --separate-stderr ctrk-mount --target
	assert_regex "$stderr" "option '--target' requires an argument"
	run -2 --separate-stderr ctrk-mount --lazy
	assert_regex "$stderr" "--lazy goes with --unmount"
	run -2 --separate-stderr ctrk-mount --unmount a b
	assert_regex "$stderr" "unexpected argument 'b'"
	run -2 --separate-stderr ctrk-mount --unmount x --target y
	assert_regex "$stderr" "give the mount point to --unmount"
}
