#!/usr/bin/env bats
# ctrk-snap against another unpacker: the trees it makes (overlay driver,
# mounted by ctrk-mount; native driver) must equal what `umoci unpack` makes
# of the same image, compared entry by entry with tests/fixtures/tree-listing.py
# (type, mode, owner, size, sha256, symlink target, device numbers, mtime of
# non-directories, hard link groups, xattrs but overlayfs' own).
#
# Images: an image of 120 tiny layers (tests/fixtures/mklayers.sh: an
# overlay lowerdir list longer than a page), an image written layer by layer
# by umoci (every file type, setuid/setgid/sticky, owners, an xattr, hard
# links, deleted files and directories), and the fixture `multi`.

load helpers

MANY_LAYERS=120

setup_file() {
	local d=$BATS_FILE_TMPDIR
	export MANY=$d/many UMOCI_IMG=$d/umoci/L REFS=$d/refs
	bash "$CTRK_TESTS_DIR/fixtures/mklayers.sh" "$MANY" "$MANY_LAYERS"
	build_umoci_image "$d/umoci"
	# The reference trees, by umoci.
	mkdir -p "$REFS"
	umoci unpack --image "$MANY:many" "$REFS/many" >/dev/null
	umoci unpack --image "$UMOCI_IMG:t" "$REFS/umoci" >/dev/null
	umoci unpack --image "$CTRK_FIXTURES:multi" "$REFS/multi" >/dev/null
}

teardown_file() {
	ctrk_teardown_file
}

setup() {
	ctrk_setup
	T=$BATS_TEST_TMPDIR
}

teardown() {
	snap_teardown
}

# build_umoci_image DIR: DIR/L (an OCI layout, tag t) of three layers made
# by `umoci repack`, from changes to a bundle unpacked by umoci.
build_umoci_image() {
	local L=$1/L B=$1/bundle R
	R=$B/rootfs
	umoci init --layout "$L"
	umoci new --image "$L:t"
	umoci unpack --image "$L:t" "$B" >/dev/null
	# Layer 1: every file type and the special modes.
	mkdir -p "$R/etc" "$R/bin" "$R/usr/share/doc/pkg" "$R/var/empty" "$R/tmp" "$R/gone-dir/sub"
	printf 'root:x:0:0::/root:/bin/sh\n' >"$R/etc/passwd"
	printf 'deleted in layer 2\n' >"$R/etc/motd"
	printf 'kept\n' >"$R/etc/kept"
	head -c 70000 /dev/urandom >"$R/bin/tool"
	chmod 0755 "$R/bin/tool"
	cp "$R/bin/tool" "$R/bin/su"
	chmod 4755 "$R/bin/su"
	printf 'sg\n' >"$R/bin/sg"
	chmod 2711 "$R/bin/sg"
	ln "$R/bin/tool" "$R/bin/tool-hardlink"
	ln "$R/bin/su" "$R/bin/su-hardlink"
	ln -s tool "$R/bin/tool-symlink"
	ln -s ../../etc/passwd "$R/usr/share/doc/passwd-link"
	ln -s /nonexistent/dangling "$R/usr/share/doc/dangling"
	mkfifo "$R/var/fifo"
	mkfifo -m 0600 "$R/var/fifo-kept"
	mknod "$R/var/null" c 1 3
	chmod 1777 "$R/tmp"
	printf 'owned\n' >"$R/usr/share/doc/pkg/owned"
	chown 1000:2000 "$R/usr/share/doc/pkg/owned"
	chown 33:33 "$R/usr/share/doc/pkg"
	chmod 0750 "$R/usr/share/doc/pkg"
	printf 'x\n' >"$R/gone-dir/sub/f"
	printf 'spaces\n' >"$R/usr/share/doc/a file with spaces"
	: >"$R/etc/empty"
	printf 'xattr\n' >"$R/etc/with-xattr"
	"$PYTHON" -c 'import os, sys; os.setxattr(sys.argv[1], "user.ctrk", b"test value")' "$R/etc/with-xattr"
	touch -d @1500000000 "$R/etc/kept" "$R/bin/sg"
	touch -h -d @1400000000 "$R/usr/share/doc/passwd-link"
	umoci repack --refresh-bundle --image "$L:t" "$B"
	# Layer 2: deletions (a file, a whole tree), changes of content and
	# mode, a hard link to a file of layer 1, a symlink retargeted.
	rm "$R/etc/motd"
	rm -r "$R/gone-dir"
	printf 'changed\n' >"$R/etc/kept"
	chmod 0600 "$R/etc/passwd"
	ln "$R/etc/kept" "$R/etc/kept-hardlink"
	mkdir -p "$R/opt/new/dir"
	printf 'new\n' >"$R/opt/new/dir/file"
	rm "$R/bin/tool-symlink"
	ln -s sg "$R/bin/tool-symlink"
	umoci repack --refresh-bundle --image "$L:t" "$B"
	# Layer 3: a directory replaced by another, a fifo by a directory, a
	# hard link and a symlink removed, a private directory.
	rm "$R/usr/share/doc/dangling"
	rm -r "$R/opt/new"
	mkdir -p "$R/opt/new"
	printf 'recreated\n' >"$R/opt/new/only"
	rm "$R/var/fifo"
	mkdir "$R/var/fifo"
	printf 'a dir now\n' >"$R/var/fifo/inside"
	rm "$R/bin/tool-hardlink"
	mkdir -m 0700 "$R/root"
	umoci repack --refresh-bundle --image "$L:t" "$B"
	rm -rf "$B"
}

# expected_many N: the files layers/ holds after N layers of mklayers.sh.
expected_many() {
	local i n=$1
	for ((i = 1; i <= n; i++)); do
		((i % 7 == 4 && i + 3 <= n)) && continue
		printf 'file%03d\n' "$i"
	done
}

# run_ok CMD...: runs CMD; on failure, fails the test naming the command
# and showing its stderr. Stdout is in $output.
run_ok() {
	run --separate-stderr "$@"
	if ((status != 0)); then
		printf 'command: %s\nexit: %s\nstderr: %s\n' "$*" "$status" "$stderr" |
			batslib_decorate "command failed" | fail
	fi
}

# snap_mount DRIVER REF KEY DIR: ctrk-snap -d DRIVER prepare --image REF KEY
# | ctrk-mount --target DIR, each step checked; the descriptor ctrk-snap
# printed is in $T/KEY.json, ctrk-mount's in $T/KEY.mounted.json.
snap_mount() {
	local drv=$1 ref=$2 key=$3 dir=$4
	run_ok ctrk-snap -d "$drv" prepare --image "$ref" "$key"
	printf '%s\n' "$output" >"$T/$key.json"
	mount_desc "$T/$key.json" "$dir"
	cp "$T/mounted.json" "$T/$key.mounted.json"
}

# mount_desc FILE DIR: ctrk-mount --target DIR < FILE; output in $T/mounted.json.
mount_desc() {
	echo "$2" >>"$T/.mounted"
	run_ok ctrk-mount --target "$2" <"$1"
	printf '%s\n' "$output" >"$T/mounted.json"
	[[ $(jq -r .rootfs "$T/mounted.json") == "$2" ]]
	mountpoint -q "$2"
}

# assert_same_tree REF DIR: the listings of REF (umoci's) and DIR are equal,
# else fails with their diff.
assert_same_tree() {
	local name
	name=$(basename "$2")
	"$PYTHON" "$CTRK_TESTS_DIR/fixtures/tree-listing.py" "$1" >"$T/$name.ref.list"
	"$PYTHON" "$CTRK_TESTS_DIR/fixtures/tree-listing.py" "$2" >"$T/$name.list"
	if ! diff -u "$T/$name.ref.list" "$T/$name.list" >"$T/$name.diff"; then
		{
			echo "--- umoci unpack: $1"
			echo "+++ ctrk-snap:    $2"
			tail -n +3 "$T/$name.diff"
		} | batslib_decorate "the trees differ" | fail
	fi
}

# lower_count DESCFILE: how many directories the overlay's lowerdir names.
lower_count() {
	jq -r '.mounts[0].options[] | select(startswith("lowerdir="))' "$1" |
		sed 's/^lowerdir=//' | tr ':' '\n' | grep -c .
}

# --- 120 layers -------------------------------------------------------------

@test "120 layers, overlay: prepare --image | ctrk-mount; all files there, whiteouts hide, writes go up" {
	run_ok ctrk-pull -q "oci:$MANY:many"
	assert_equal "$(jq '.image.layers | length' <<<"$output")" "$MANY_LAYERS"
	snap_mount overlay "oci:$MANY:many" c1 "$T/r"
	assert_equal "$(jq -r '.mounts[0].type' "$T/c1.json")" overlay
	assert_equal "$(lower_count "$T/c1.json")" "$MANY_LAYERS"
	(($(jq -r '.mounts[0].options | join(",") | length' "$T/c1.json") > 4096))
	assert_equal "$(findmnt -n -o FSTYPE "$T/r")" overlay

	assert_equal "$(ls "$T/r/layers")" "$(expected_many "$MANY_LAYERS")"
	local i f
	for ((i = 1; i <= MANY_LAYERS; i++)); do
		f=$(printf '%s/r/layers/file%03d' "$T" "$i")
		if ((i % 7 == 4 && i + 3 <= MANY_LAYERS)); then
			[[ ! -e $f ]] || fail "$f was deleted by layer $((i + 3)) and is still there"
		else
			[[ $(cat "$f") == "$(printf '%03d' "$i")" ]] || fail "$f: wrong content"
		fi
	done
	assert_same_tree "$REFS/many/rootfs" "$T/r"

	# Writes land in the upper directory; a delete leaves a whiteout there.
	local upper
	upper=$(jq -r '.mounts[0].options[] | select(startswith("upperdir=")) | ltrimstr("upperdir=")' "$T/c1.json")
	echo written >"$T/r/layers/new"
	rm "$T/r/layers/file001"
	assert_equal "$(cat "$upper/layers/new")" written
	assert_equal "$(stat -c '%F %t,%T' "$upper/layers/file001")" "character special file 0,0"
	[[ ! -e $upper/layers/file002 ]]

	run_ok ctrk-mount --unmount "$T/r"
	! mountpoint -q "$T/r"
	run_ok ctrk-snap check
}

@test "120 layers, native: the same tree as umoci unpack, writes land in the snapshot" {
	run_ok ctrk-pull -q "oci:$MANY:many"
	snap_mount native "oci:$MANY:many" c1 "$T/r"
	assert_equal "$(jq -r '.mounts[0].type' "$T/c1.json")" bind
	assert_equal "$(ls "$T/r/layers")" "$(expected_many "$MANY_LAYERS")"
	assert_same_tree "$REFS/many/rootfs" "$T/r"
	echo written >"$T/r/layers/new"
	assert_equal "$(cat "$(jq -r '.mounts[0].source' "$T/c1.json")/layers/new")" written
	run_ok ctrk-mount --unmount "$T/r"
	! mountpoint -q "$T/r"
}

@test "120 layers: the overlay layers of ctrk-snap unpack, stacked by hand by ctrk-mount, equal umoci's tree" {
	# Tells a fault of ctrk-snap's layers from one of its mounts: the
	# lowerdir list is built here from the unpacked layers' directories.
	run_ok ctrk-pull -q "oci:$MANY:many"
	printf '%s\n' "$output" >"$T/many.json"
	run_ok ctrk-snap unpack "oci:$MANY:many"
	run_ok ctrk-snap list --json
	printf '%s\n' "$output" >"$T/list.json"
	local chain="" chains=() id dirs=() lower
	for id in $(jq -r '.image.diffIds[]' "$T/many.json"); do
		if [[ -z $chain ]]; then
			chain=$id
		else
			chain="sha256:$(printf '%s %s' "$chain" "$id" | sha256sum | cut -d' ' -f1)"
		fi
		chains=("$chain" "${chains[@]}")
	done
	# Their directories, nearest (top) layer first.
	mapfile -t dirs < <(jq -r --arg root "$CTRK_ROOT" '
		(map(select(.kind == "committed") | {(.key): .id}) | add) as $ids
		| $ARGS.positional[] | "\($root)/snapshots/overlay/\($ids[.] // "MISSING")/fs"' \
		"$T/list.json" --args "${chains[@]}")
	! printf '%s\n' "${dirs[@]}" | grep -q MISSING || fail "a layer has no committed snapshot"
	assert_equal "${#dirs[@]}" "$MANY_LAYERS"
	lower=$(IFS=:; echo "${dirs[*]}")
	mkdir -p "$T/upper" "$T/work"
	jq -n --arg l "$lower" --arg t "$T" '{mounts: [{type: "overlay", source: "overlay", target: "/",
		options: ["lowerdir=\($l)", "upperdir=\($t)/upper", "workdir=\($t)/work"]}]}' >"$T/hand.json"
	mount_desc "$T/hand.json" "$T/r"
	assert_same_tree "$REFS/many/rootfs" "$T/r"
	run_ok ctrk-mount --unmount "$T/r"
}

# --- an image written by umoci ---------------------------------------------

@test "umoci-built image, overlay mounted by ctrk-mount: the same tree as umoci unpack" {
	run_ok ctrk-pull -q "oci:$UMOCI_IMG:t"
	assert_equal "$(jq '.image.layers | length' <<<"$output")" 3
	snap_mount overlay "oci:$UMOCI_IMG:t" c1 "$T/r"
	assert_equal "$(jq -r '.mounts[0].type' "$T/c1.json")" overlay
	assert_same_tree "$REFS/umoci/rootfs" "$T/r"
	# The listing does see what the test is about.
	grep -q '^bin/su - 4755 0 0 ' "$T/r.list"
	grep -q '^var/null c 0644 0 0 1,3' "$T/r.list"
	grep -q '^var/fifo-kept p 0600 ' "$T/r.list"
	grep -q '^usr/share/doc/pkg/owned - 0644 1000 2000 ' "$T/r.list"
	grep -q '^etc/kept-hardlink .* link:etc/kept$' "$T/r.list"
	grep -q ' user.ctrk=' "$T/r.list"
	! grep -q -e '^etc/motd' -e '^gone-dir' -e '^bin/tool-hardlink' "$T/r.list"
	run_ok ctrk-mount --unmount "$T/r"
}

@test "umoci-built image, native: the same tree as umoci unpack" {
	run_ok ctrk-pull -q "oci:$UMOCI_IMG:t"
	snap_mount native "oci:$UMOCI_IMG:t" c1 "$T/r"
	assert_same_tree "$REFS/umoci/rootfs" "$T/r"
	# And the snapshot's own directory, not only the bind mount of it.
	assert_same_tree "$REFS/umoci/rootfs" "$(jq -r '.mounts[0].source' "$T/c1.json")"
	run_ok ctrk-mount --unmount "$T/r"
}

# --- the fixture multi ------------------------------------------------------

@test "fixture multi: ctrk-snap unpack, then prepare on it, equals umoci unpack (overlay and native)" {
	run_ok ctrk-pull -q "oci:$CTRK_FIXTURES:multi"
	local drv top
	for drv in overlay native; do
		run_ok ctrk-snap -d "$drv" unpack "oci:$CTRK_FIXTURES:multi"
		top=$(jq -r .snapshot.key <<<"$output")
		run_ok ctrk-snap -d "$drv" prepare "c-$drv" "$top"
		printf '%s\n' "$output" >"$T/c-$drv.json"
		mount_desc "$T/c-$drv.json" "$T/$drv"
		assert_same_tree "$REFS/multi/rootfs" "$T/$drv"
		# The whiteout of layer 3 did its work, in both.
		[[ ! -e $T/$drv/etc/motd ]]
		[[ -e $REFS/multi/rootfs/etc/passwd ]]
		run_ok ctrk-mount --unmount "$T/$drv"
	done
}
