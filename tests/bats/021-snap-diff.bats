#!/usr/bin/env bats
# ctrk-snap diff: a snapshot's changes as a layer in the store.  Round trips
# for both drivers: change a container's tree, diff it, build an image of
# the fixture `multi` plus that layer (an OCI layout made with jq), pull it,
# prepare a fresh snapshot of it, and compare the two trees with
# tests/fixtures/tree-listing.py.

load helpers

setup() {
	ctrk_setup
	MNT=$BATS_TEST_TMPDIR/mnt
	mkdir -p "$MNT"
}

teardown() {
	unmount_test_mounts
	ctrk_teardown
}

# mount_at DIR DESCRIPTOR: mounts the descriptor's rootfs mount on DIR.
mount_at() {
	local type src opts
	type=$(jq -r '.mounts[0].type' <<<"$2")
	src=$(jq -r '.mounts[0].source' <<<"$2")
	opts=$(jq -r '.mounts[0].options | join(",")' <<<"$2")
	if [[ $type == bind ]]; then
		mount --rbind "$src" "$1"
	else
		mount -t "$type" "$src" -o "$opts" "$1"
	fi
}

# listing DIR: the canonical listing of a tree.
listing() {
	"$PYTHON" "$CTRK_TESTS_DIR/fixtures/tree-listing.py" "$1"
}

# setxattr FILE NAME HEXVALUE
setxattr() {
	"$PYTHON" -c 'import os, sys; os.setxattr(sys.argv[1], sys.argv[2], bytes.fromhex(sys.argv[3]), follow_symlinks=False)' "$@"
}

# A file capability: cap_net_raw+ep (VFS_CAP_REVISION_2).
CAP_HEX=0100000200200000000000000000000000000000

# setcap_file FILE: cap_net_raw+ep, with setcap when it is installed.
setcap_file() {
	if command -v setcap >/dev/null; then
		setcap cap_net_raw+ep "$1"
	else
		setxattr "$1" security.capability "$CAP_HEX"
	fi
}

# base_changes DIR: what the committed layer `base` adds on top of multi.
base_changes() {
	mkdir -p "$1/dir1/sub" "$1/dir2"
	echo a >"$1/dir1/a"
	echo b >"$1/dir1/sub/b"
	echo x >"$1/dir2/x"
	echo y >"$1/dir2/y"
	echo keep >"$1/keep.txt"
}

# container_changes DIR: every kind of change a layer can hold.
container_changes() {
	local d=$1
	echo new >"$d/new.txt"                        # added
	setxattr "$d/new.txt" user.x 68656c6c6f       # with an xattr
	echo more >>"$d/etc/passwd"                   # content changed
	chmod 0640 "$d/etc/group"                     # mode and owner changed
	chown 0:42 "$d/etc/group"
	echo s >"$d/suid"                             # setuid, capability
	chmod 4755 "$d/suid"
	setcap_file "$d/suid"
	mkdir "$d/links"
	echo pair >"$d/links/a"                       # a new hardlink pair
	ln "$d/links/a" "$d/links/b"
	ln "$d/keep.txt" "$d/keep.lnk"                # a new link to an old file
	ln -s ../etc/passwd "$d/links/sym"            # symlink, fifo, device
	mkfifo "$d/links/fifo"
	mknod "$d/links/null" c 1 3
	"$PYTHON" -c 'import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$d/links/sock"
	chown -h 7:8 "$d/links/sym"
	rm "$d/data3.txt" "$d/bin/sh"                 # deleted files
	rm -r "$d/dir1"                               # a deleted directory
	rm -r "$d/tmp"                                # a directory becomes a file
	echo was-a-dir >"$d/tmp"
	rm "$d/data/hello.txt"                        # a file becomes a directory
	mkdir "$d/data/hello.txt"
	echo inner >"$d/data/hello.txt/inner"
	rm -r "$d/dir2"                               # an opaque directory
	mkdir "$d/dir2"
	echo z >"$d/dir2/z"
}

# image_with LAYOUT TAG LAYER_JSON...: an OCI layout holding multi plus the
# layers ({mediaType, digest, size, diffId}, blobs from the store) on top.
# With NO_BASE=1, only the given layers.
image_with() {
	local out=$1 tag=$2 m cfg l layers ids
	shift 2
	mkdir -p "$out/blobs/sha256"
	printf '{"imageLayoutVersion":"1.0.0"}' >"$out/oci-layout"
	m=$(fixture_blob "$(fixture_digest multi)")
	cfg=$(fixture_blob "$(jq -r .config.digest "$m")")
	layers=$(jq -c '.layers' "$m")
	ids=$(jq -c '.rootfs.diff_ids' "$cfg")
	if [[ ${NO_BASE:-0} == 1 ]]; then
		layers='[]'
		ids='[]'
	fi
	cp "$CTRK_FIXTURES"/blobs/sha256/* "$out/blobs/sha256/"
	for l in "$@"; do
		cp "$(store_blob "$(jq -r .digest <<<"$l")")" "$out/blobs/sha256/"
		layers=$(jq -c --argjson l "$l" '. + [$l | {mediaType, digest, size}]' <<<"$layers")
		ids=$(jq -c --argjson l "$l" '. + [$l.diffId]' <<<"$ids")
	done
	jq -c --argjson ids "$ids" '.rootfs.diff_ids = $ids' "$cfg" >"$out/config.json"
	local ch cs
	ch=$(sha256sum "$out/config.json" | cut -d' ' -f1)
	cs=$(stat -c %s "$out/config.json")
	mv "$out/config.json" "$out/blobs/sha256/$ch"
	jq -c --argjson layers "$layers" --arg d "sha256:$ch" --argjson s "$cs" \
		'.layers = $layers | .config.digest = $d | .config.size = $s' "$m" >"$out/manifest.json"
	local mh ms
	mh=$(sha256sum "$out/manifest.json" | cut -d' ' -f1)
	ms=$(stat -c %s "$out/manifest.json")
	mv "$out/manifest.json" "$out/blobs/sha256/$mh"
	jq -cn --arg d "sha256:$mh" --argjson s "$ms" --arg t "$tag" \
		'{schemaVersion: 2, manifests: [{mediaType: "application/vnd.oci.image.manifest.v1+json",
		  digest: $d, size: $s, annotations: {"org.opencontainers.image.ref.name": $t}}]}' \
		>"$out/index.json"
}

# check_layer LAYER_JSON: the blob is in the store with that digest and
# size, and its uncompressed content hashes to diffId.
check_layer() {
	local l=$1 blob mt
	blob=$(store_blob "$(jq -r .digest <<<"$l")")
	[[ -f $blob ]]
	assert_equal "sha256:$(sha256sum "$blob" | cut -d' ' -f1)" "$(jq -r .digest <<<"$l")"
	assert_equal "$(stat -c %s "$blob")" "$(jq -r .size <<<"$l")"
	mt=$(jq -r .mediaType <<<"$l")
	local plain
	case $mt in
	*+gzip) plain=$(gzip -dc "$blob" | sha256sum) ;;
	*+zstd) plain=$(zstd -dcq "$blob" | sha256sum) ;;
	*.tar) plain=$(sha256sum <"$blob") ;;
	*) fail "unexpected media type $mt" ;;
	esac
	assert_equal "sha256:${plain%% *}" "$(jq -r .diffId <<<"$l")"
	# Nothing left behind in the ingest area.
	assert_equal "$(ingest_files)" ""
}

# layer_list LAYER_JSON: tar -tv of the layer blob (any compression).
layer_list() {
	local blob
	blob=$(store_blob "$(jq -r .digest <<<"$1")")
	case $(jq -r .mediaType <<<"$1") in
	*+zstd) zstd -dcq "$blob" | tar -tvf - ;;
	*) tar -tvf "$blob" ;; # GNU tar detects gzip
	esac
}

# round_trip DRIVER COMPRESSION: the whole story for one driver.
round_trip() {
	local drv=$1 comp=$2 img=oci:$CTRK_FIXTURES:multi
	ctrk-pull -q "$img" >/dev/null
	# base: a committed layer on multi, to diff and to build on.
	snap -0 -d "$drv" prepare --image "$img" b0
	mount_at "$MNT" "$SNAP"
	base_changes "$MNT"
	umount "$MNT"
	snap -0 -d "$drv" commit base b0
	snap -0 -d "$drv" diff --compression "$comp" base
	local base_layer
	base_layer=$(jqs -c .layer)
	check_layer "$base_layer"

	# c1: a container on base.
	snap -0 -d "$drv" prepare c1 base
	local c1=$SNAP
	mount_at "$MNT" "$c1"
	container_changes "$MNT"
	umount "$MNT"
	# The descriptor on stdin passes through, with `layer` added.
	run --separate-stderr ctrk-snap -d "$drv" diff --compression "$comp" c1 <<<'{"version":1,"mine":[1]}'
	assert_success
	assert_equal "$(jq -c .mine <<<"$output")" '[1]'
	assert_equal "$(jq -r '.layer | keys | join(",")' <<<"$output")" diffId,digest,mediaType,size
	local layer
	layer=$(jq -c .layer <<<"$output")
	case $comp in
	gzip) assert_equal "$(jq -r .mediaType <<<"$layer")" application/vnd.oci.image.layer.v1.tar+gzip ;;
	zstd) assert_equal "$(jq -r .mediaType <<<"$layer")" application/vnd.oci.image.layer.v1.tar+zstd ;;
	none) assert_equal "$(jq -r .mediaType <<<"$layer")" application/vnd.oci.image.layer.v1.tar ;;
	esac
	check_layer "$layer"

	# The same changes give the same layer.
	snap -0 -d "$drv" diff --compression "$comp" c1
	assert_equal "$(jqs -c .layer)" "$layer"

	# What the layer holds: whiteouts for what was deleted, one for a
	# directory and none for its children; owners numeric.
	run -0 layer_list "$layer"
	local list=$output
	assert_line --regexp '^-[-rwx]{9} 0/0 +0 .* \.wh\.dir1$'
	refute_line --regexp ' dir1/'
	assert_line --regexp ' \.wh\.data3\.txt$'
	assert_line --regexp ' bin/\.wh\.sh$'
	assert_line --regexp '^-rwsr-xr-x 0/0 .* suid$'
	assert_line --regexp '^-rw-r----- 0/42 .* etc/group$'
	assert_line --regexp '^crw-r--r-- 0/0 +1,3 .* links/null$'
	assert_line --regexp '^p.* links/fifo$'
	refute_line --regexp ' links/sock$' # a tar cannot hold a socket
	assert_line --regexp '^lrwxrwxrwx 7/8 .* links/sym -> \.\./etc/passwd$'
	assert_line --regexp '^h.* links/b link to links/a$'
	assert_line --regexp ' keep\.(lnk|txt) link to keep\.(lnk|txt)$'
	assert_line --regexp '^-.* tmp$'
	assert_line --regexp ' etc/passwd$'
	refute_line --regexp ' etc/motd$'
	# Parents of changes are there; unchanged files are not.
	assert_line --regexp '^d.* etc/$'
	refute_line --regexp ' bin/busybox$'
	if [[ $drv == overlay ]]; then
		assert_line --regexp ' dir2/\.wh\.\.wh\.\.opq$'
	else
		assert_line --regexp ' dir2/\.wh\.x$'
	fi
	# Sorted: each directory before what is in it.
	local i j
	i=$(awk '{print $6}' <<<"$list" | grep -n '^bin/$' | cut -d: -f1)
	j=$(awk '{print $6}' <<<"$list" | grep -n '^bin/\.wh\.sh$' | cut -d: -f1)
	assert [ "$i" -lt "$j" ]

	# The xattrs are in the tar as SCHILY.xattr pax records.
	local blob
	blob=$(store_blob "$(jq -r .digest <<<"$layer")")
	local unpack="gzip -dcf" # -f: plain tar passes through
	[[ $comp == zstd ]] && unpack="zstd -dcq"
	run -0 bash -c "$unpack <'$blob' | grep -ac 'SCHILY\.xattr\.'"
	assert [ "$output" -ge 2 ]

	# Apply it: an image of multi + base + c1's layer, unpacked afresh.
	image_with "$BATS_TEST_TMPDIR/img" diffed "$base_layer" "$layer"
	ctrk-pull -q "oci:$BATS_TEST_TMPDIR/img:diffed" >/dev/null
	snap -0 -d "$drv" prepare --image "oci:$BATS_TEST_TMPDIR/img:diffed" c2
	local c2=$SNAP
	mkdir -p "$BATS_TEST_TMPDIR/m1" "$BATS_TEST_TMPDIR/m2"
	mount_at "$BATS_TEST_TMPDIR/m1" "$c1"
	mount_at "$BATS_TEST_TMPDIR/m2" "$c2"
	listing "$BATS_TEST_TMPDIR/m1" | grep -v '^links/sock s ' >"$BATS_TEST_TMPDIR/l1"
	listing "$BATS_TEST_TMPDIR/m2" >"$BATS_TEST_TMPDIR/l2"
	umount "$BATS_TEST_TMPDIR/m1"
	umount "$BATS_TEST_TMPDIR/m2"
	run diff "$BATS_TEST_TMPDIR/l1" "$BATS_TEST_TMPDIR/l2"
	assert_success
	# The listing saw what was changed, and not what was deleted.
	run -0 cat "$BATS_TEST_TMPDIR/l1"
	assert_line --regexp "^new.txt - 0644 0 0 4 .* user.x=68656c6c6f$"
	assert_line --regexp "^suid - 4755 0 0 .* security.capability=$CAP_HEX$"
	assert_line --regexp '^links/b - .* link:links/a$'
	assert_line --regexp '^keep.txt - .* link:keep.lnk$'
	assert_line --regexp '^links/null c 0644 0 0 1,3$'
	assert_line --regexp '^tmp - '
	assert_line --regexp '^data/hello.txt/inner - '
	refute_line --regexp '^(dir1|data3.txt|bin/sh|dir2/x|etc/motd)( |/)'
}

@test "overlay: diff round trip (gzip)" {
	round_trip overlay gzip
}

@test "native: diff round trip (gzip)" {
	round_trip native gzip
}

@test "overlay: diff round trip (zstd)" {
	round_trip overlay zstd
}

@test "native: diff round trip (none)" {
	round_trip native none
}

@test "diff of a snapshot without a parent is its whole tree" {
	local drv
	for drv in overlay native; do
		snap -0 -d "$drv" prepare "p-$drv"
		local fs
		fs=$(jqs '.mounts[0].source')
		mkdir -p "$fs/a/b"
		echo one >"$fs/a/b/one"
		ln -s one "$fs/a/b/link"
		echo top >"$fs/top"
		snap -0 -d "$drv" diff --compression none "p-$drv"
		local layer
		layer=$(jqs -c .layer)
		check_layer "$layer"
		run -0 layer_list "$layer"
		assert_equal "$(awk '{print $6}' <<<"$output" | tr '\n' ' ')" "a/ a/b/ a/b/link a/b/one top "
		refute_output --partial .wh.
		# Unpacked as the only layer of an image, it is the same tree.
		NO_BASE=1 image_with "$BATS_TEST_TMPDIR/img-$drv" alone "$layer"
		ctrk-pull -q "oci:$BATS_TEST_TMPDIR/img-$drv:alone" >/dev/null
		snap -0 -d "$drv" prepare --image "oci:$BATS_TEST_TMPDIR/img-$drv:alone" "q-$drv"
		mount_at "$MNT" "$SNAP"
		run diff <(listing "$fs") <(listing "$MNT")
		umount "$MNT"
		assert_success
	done
}

@test "diff of an unchanged snapshot is an empty layer" {
	local drv
	ctrk-pull -q "oci:$CTRK_FIXTURES:multi" >/dev/null
	for drv in overlay native; do
		snap -0 -d "$drv" prepare --image "oci:$CTRK_FIXTURES:multi" "e-$drv"
		snap -0 -d "$drv" diff --compression none "e-$drv"
		check_layer "$(jqs -c .layer)"
		run -0 layer_list "$(jqs -c .layer)"
		assert_output ""
		# 1024 zero bytes: the end of the archive, and nothing else.
		assert_equal "$(jqs .layer.size)" 1024
	done
}

@test "diff: unknown key, views and bad options" {
	snap -1 diff nosuch
	assert_output ""
	assert_regex "$stderr" "^ctrk-snap: error: cannot diff 'nosuch': snapshot 'nosuch' does not exist$"
	snap -0 -d native prepare base
	snap -0 -d native commit b base
	snap -0 -d native view v b
	snap -1 -d native diff v
	assert_regex "$stderr" "snapshot 'v' is a view"
	snap -2 diff --compression lz4 x
	assert_regex "$stderr" "gzip, zstd or none"
	snap -2 list --compression gzip
	snap -2 diff
	# A name reserved for whiteouts cannot be stored.
	snap -0 -d native prepare w b
	touch "$(jqs '.mounts[0].source')/.wh.evil"
	snap -1 -d native diff w
	assert_regex "$stderr" "'/.wh.evil': a name starting with '.wh.' cannot be stored in a layer"
	assert_equal "$(ingest_files)" ""
}
