#!/usr/bin/env bats
# ctrk-snap: snapshots with the overlay and native drivers and an external
# driver (tests/fixtures/ctrk-snap-testdrv), images unpacked from a store
# filled offline by ctrk-pull from the fixture layout.

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

pull_multi() {
	ctrk-pull -q "oci:$CTRK_FIXTURES:multi" >"$BATS_TEST_TMPDIR/multi.json"
}

# chain_ids: the chain IDs of multi's layers, bottom first.
chain_ids() {
	local prev="" id
	for id in $(jq -r '.image.diffIds[]' "$BATS_TEST_TMPDIR/multi.json"); do
		if [[ -z $prev ]]; then
			prev=$id
		else
			prev="sha256:$(printf '%s %s' "$prev" "$id" | sha256sum | cut -d' ' -f1)"
		fi
		echo "$prev"
	done
}

# mount_snapshot DIR: mounts the rootfs mount in $SNAP on DIR.
mount_snapshot() {
	local type src opts
	type=$(jqs '.mounts[0].type')
	src=$(jqs '.mounts[0].source')
	opts=$(jqs '.mounts[0].options | join(",")')
	if [[ $type == bind ]]; then
		mount --rbind "$src" "$1"
		[[ ,$opts, == *,ro,* ]] && mount -o remount,bind,ro "$1"
	else
		mount -t "$type" "$src" -o "$opts" "$1"
	fi
}

snapdir() { # snapdir DRIVER ID
	echo "$CTRK_ROOT/snapshots/$1/$2"
}

# --- the verbs without images, for both drivers -----------------------------

basic_verbs() {
	local drv=$1
	snap -0 -d "$drv" prepare a
	assert_equal "$(jqs -c .snapshot)" \
		"{\"key\":\"a\",\"kind\":\"active\",\"driver\":\"$drv\",\"root\":\"$CTRK_ROOT\"}"
	assert_equal "$(jqs -c .mounts)" \
		"[{\"type\":\"bind\",\"source\":\"$(snapdir "$drv" 1)/fs\",\"target\":\"/\",\"options\":[\"rbind\",\"rw\"]}]"
	assert_equal "$(jqs .version)" 1
	echo hello >"$(snapdir "$drv" 1)/fs/hello"
	snap -0 -d "$drv" commit base a
	snap -1 -d "$drv" stat a
	assert_output ""
	assert_regex "$stderr" "^ctrk-snap: error: snapshot 'a' does not exist$"
	snap -0 -d "$drv" stat base
	assert_equal "$(jqs .kind)" committed
	assert_equal "$(jqs .id)" 1
	# A child, active and a view.
	snap -0 -d "$drv" prepare b base
	assert_equal "$(jqs .snapshot.parent)" base
	snap -0 -d "$drv" view v base
	assert_equal "$(jqs .snapshot.kind)" view
	assert_equal "$(jqs -c '.mounts[0].options')" '["rbind","ro"]'
	mount_snapshot "$MNT"
	assert_equal "$(cat "$MNT/hello")" hello
	run ! touch "$MNT/x"
	umount "$MNT"
	# mounts KEY gives the same again; for a committed one it is an error.
	snap -0 -d "$drv" mounts v
	assert_equal "$(jqs -c '.mounts[0].options')" '["rbind","ro"]'
	snap -1 -d "$drv" mounts base
	# The same key twice, a parent that is not committed, a missing one.
	snap -1 -d "$drv" prepare b base
	assert_regex "$stderr" "snapshot 'b' already exists"
	snap -1 -d "$drv" prepare c b
	assert_regex "$stderr" "parent 'b' is active, not committed"
	snap -1 -d "$drv" prepare c nosuch
	# list, list --json, list --tree
	snap -0 -d "$drv" list
	assert_line --index 0 --regexp '^KEY +KIND +PARENT$'
	assert_line --regexp '^base +committed *$'
	assert_line --regexp '^b +active +base$'
	assert_line --regexp '^v +view +base$'
	snap -0 -d "$drv" list --json
	assert_equal "$(jqs -c '[.[] | [.key, .kind, .parent]] | sort')" \
		'[["b","active","base"],["base","committed",null],["v","view","base"]]'
	assert_equal "$(jqs -r '[.[].driver] | unique | .[]')" "$drv"
	snap -0 -d "$drv" list --tree
	assert_line --index 0 'base (committed)'
	assert_line '  b (active)'
	assert_line '  v (view)'
	# remove: refused while it has children.
	snap -1 -d "$drv" remove base
	assert_regex "$stderr" "has children"
	snap -0 -d "$drv" remove b
	snap -0 -d "$drv" remove v
	snap -0 -d "$drv" remove base
	snap -0 -d "$drv" list --json
	assert_output '[]'
	run -0 ls "$CTRK_ROOT/snapshots/$drv"
	refute_output --regexp '^[0-9]+$|^trash-'
	snap -0 -d "$drv" check
}

@test "overlay: prepare, view, commit, mounts, stat, list, remove" {
	basic_verbs overlay
}

@test "native: prepare, view, commit, mounts, stat, list, remove" {
	basic_verbs native
}

@test "usage counts the snapshot's own files" {
	snap -0 -d native prepare u
	local fs size
	fs=$(snapdir native 1)/fs
	size=$(stat -c %s "$fs")
	head -c 1000 /dev/zero >"$fs/a"
	ln "$fs/a" "$fs/b" # a hardlink counts once
	mkdir "$fs/d"
	snap -0 -d native usage u
	assert_equal "$(jqs .inodes)" 3
	assert_equal "$(jqs .size)" $((size + 1000 + $(stat -c %s "$fs/d")))
	snap -1 -d native usage nosuch
}

# --- images -----------------------------------------------------------------

@test "overlay: prepare --image unpacks every layer and stacks them" {
	pull_multi
	local chains
	chains=($(chain_ids))
	snap -0 prepare --image "oci:$CTRK_FIXTURES:multi" c1
	# The image field as ctrk-pull printed it.
	assert_equal "$(jqs -cS .image)" "$(jq -cS .image "$BATS_TEST_TMPDIR/multi.json")"
	assert_equal "$(jqs .snapshot.parent)" "${chains[2]}"
	assert_equal "$(jqs '.mounts | length')" 1
	assert_equal "$(jqs '.mounts[0].type')" overlay
	# Nearest parent first, each layer in its own directory.
	local d1 d2 d3
	d1=$(snapdir overlay "$(ctrk-snap stat "${chains[0]}" | jq .id)")
	d2=$(snapdir overlay "$(ctrk-snap stat "${chains[1]}" | jq .id)")
	d3=$(snapdir overlay "$(ctrk-snap stat "${chains[2]}" | jq .id)")
	assert_equal "$(jqs '.mounts[0].options[0]')" "lowerdir=$d3/fs:$d2/fs:$d1/fs"
	assert_equal "$(jqs '.mounts[0].options[1]')" "upperdir=$(snapdir overlay 4)/fs"
	assert_equal "$(jqs '.mounts[0].options[2]')" "workdir=$(snapdir overlay 4)/work"
	# The whiteout of layer 3 is an overlay whiteout: etc/motd is gone.
	run -0 stat -c %F "$d3/fs/etc/motd"
	assert_output "character special file"
	mount_snapshot "$MNT"
	assert_equal "$(cat "$MNT/data/hello.txt")" "hello from layer 2"
	[[ -x $MNT/bin/busybox ]]
	[[ ! -e $MNT/etc/motd ]]
	# Writes go to the upper directory; commit it and build on it.
	echo changed >"$MNT/etc/passwd"
	umount "$MNT"
	snap -0 commit c1-done c1
	snap -0 prepare c2 c1-done
	assert_equal "$(jqs '.mounts[0].options[0]')" "lowerdir=$(snapdir overlay 4)/fs:$d3/fs:$d2/fs:$d1/fs"
	mount_snapshot "$MNT"
	assert_equal "$(cat "$MNT/etc/passwd")" changed
	umount "$MNT"
	# A second prepare reuses the layers: no new directories for them.
	snap -0 prepare --image "oci:$CTRK_FIXTURES:multi" c3
	assert_equal "$(ctrk-snap list --json | jq '[.[] | select(.kind == "committed")] | length')" 4
	snap -0 check
}

@test "overlay: views of an image: overlay of the lowers, or a bind of one" {
	pull_multi
	snap -0 view --image multi v3
	assert_equal "$(jqs '.mounts[0].type')" overlay
	assert_equal "$(jqs '.mounts[0].options | length')" 1
	[[ $(jqs '.mounts[0].options[0]') == lowerdir=*:*:* ]]
	mount_snapshot "$MNT"
	[[ ! -e $MNT/etc/motd ]]
	run ! touch "$MNT/x"
	umount "$MNT"
	# One parent: overlay needs two lowers without an upper, so a bind.
	ctrk-pull -q "oci:$CTRK_FIXTURES:single" >/dev/null
	snap -0 view --image single v1
	assert_equal "$(jqs '.mounts[0].type')" bind
	assert_equal "$(jqs -c '.mounts[0].options')" '["rbind","ro"]'
	assert_equal "$(jqs '.mounts[0].source')" "$(snapdir overlay 1)/fs"
}

@test "native: ctrk-pull | ctrk-snap prepare, a full copy with whiteouts applied" {
	pull_multi
	SNAP_IN=$BATS_TEST_TMPDIR/multi.json snap -0 -d native prepare c1
	assert_equal "$(jqs -cS .image)" "$(jq -cS .image "$BATS_TEST_TMPDIR/multi.json")"
	assert_equal "$(jqs -c '.image.config.Cmd')" '["sh"]'
	assert_equal "$(jqs '.snapshot.driver')" native
	local fs
	fs=$(jqs '.mounts[0].source')
	assert_equal "$fs" "$(snapdir native 4)/fs"
	assert_equal "$(cat "$fs/data/hello.txt")" "hello from layer 2"
	[[ ! -e $fs/etc/motd ]]
	# The layer below still has it: every snapshot is its own copy.
	[[ -f $(snapdir native 2)/fs/etc/motd ]]
	# Through a real pipe, with other fields and non-rootfs mounts kept.
	jq -c '. + {"mine": 1, "mounts": [{"type":"tmpfs","source":"tmpfs","target":"/tmp"}]}' \
		"$BATS_TEST_TMPDIR/multi.json" | ctrk-snap -d native prepare c2 >"$BATS_TEST_TMPDIR/c2.json"
	run -0 jq -c '[.mine, (.mounts | map(.target))]' "$BATS_TEST_TMPDIR/c2.json"
	assert_output '[1,["/","/tmp"]]'
}

@test "unpack REF: committed layers named by chain ID, reused the second time" {
	pull_multi
	local chains
	chains=($(chain_ids))
	snap -0 unpack multi
	assert_equal "$(jqs .snapshot.key)" "${chains[2]}"
	assert_equal "$(jqs .snapshot.kind)" committed
	assert_equal "$(jqs .snapshot.parent)" "${chains[1]}"
	assert_equal "$(jqs .mounts)" null
	assert_equal "$(jqs .image.digest)" "$(jq -r .image.digest "$BATS_TEST_TMPDIR/multi.json")"
	snap -0 list --json
	assert_equal "$(jqs -c '[.[] | [.key, .parent]]')" \
		"[[\"${chains[0]}\",null],[\"${chains[1]}\",\"${chains[0]}\"],[\"${chains[2]}\",\"${chains[1]}\"]]"
	# From the descriptor on stdin, again: nothing new.
	SNAP_IN=$BATS_TEST_TMPDIR/multi.json snap -0 unpack
	assert_equal "$(jqs .snapshot.key)" "${chains[2]}"
	run -0 ls "$CTRK_ROOT/snapshots/overlay"
	assert_equal "$(grep -c '^[0-9]*$' <<<"$output")" 3
	# Nothing to unpack is an error.
	snap -1 unpack
	snap -1 unpack nosuch-image
}

@test "a corrupt or wrong layer blob: unpack fails and records nothing" {
	pull_multi
	local blob
	blob=$(store_blob "$(jq -r '.image.layers[2].digest' "$BATS_TEST_TMPDIR/multi.json")")
	chmod u+w "$blob"
	# A well-formed layer, but not the one the config names.
	cp "$(store_blob "$(jq -r '.image.layers[1].digest' "$BATS_TEST_TMPDIR/multi.json")")" "$blob"
	local drv
	for drv in overlay native; do
		snap -1 -d "$drv" prepare --image multi c1
		assert_regex "$stderr" "^ctrk-snap: error: cannot unpack '.*multi.*': layer 2 .*"
		snap -0 -d "$drv" list --json
		assert_output '[]'
		run -0 ls "$CTRK_ROOT/snapshots/$drv"
		refute_output --regexp '^[0-9]+$'
	done
	# Garbage.
	printf 'not a layer' >"$blob"
	snap -1 prepare --image multi c1
	snap -0 list --json
	assert_output '[]'
	snap -0 check
}

@test "PARENT with an image, an image from another root, a bad descriptor" {
	pull_multi
	snap -2 prepare --image multi c1 parent
	assert_regex "$stderr" "exclude each other"
	SNAP_IN=$BATS_TEST_TMPDIR/multi.json snap -2 prepare c1 parent
	SNAP_IN=$BATS_TEST_TMPDIR/multi.json snap -1 --root "$BATS_TEST_TMPDIR/other" prepare c1
	assert_regex "$stderr" "is in the store at '$CTRK_ROOT', not in '$BATS_TEST_TMPDIR/other'"
	echo '{"snapshot": 3}' >"$BATS_TEST_TMPDIR/bad.json"
	SNAP_IN=$BATS_TEST_TMPDIR/bad.json snap -1 prepare c1
	assert_regex "$stderr" "snapshot"
	snap -2 frobnicate
	snap -2 prepare
	snap -2 list --tree --json
	snap -2 stat --image multi x
}

@test "an unknown driver is an error that names it" {
	snap -1 -d nosuch list
	assert_regex "$stderr" "unknown driver 'nosuch'.*ctrk-snap-nosuch"
	snap -1 -d ../x list
	assert_regex "$stderr" "invalid driver name"
	[[ ! -e $CTRK_ROOT/snapshots/nosuch ]]
}

@test "check reports orphan directories and dangling parents" {
	snap -0 prepare a
	snap -0 commit base a
	snap -0 prepare b base
	snap -0 check
	assert_output ""
	mkdir -p "$(snapdir overlay 42)/fs"
	snap -1 check
	assert_output --partial "orphan directory: '$(snapdir overlay 42)'"
	rm -r "$(snapdir overlay 42)"
	# A parent gone behind ctrk-snap's back.
	local meta=$CTRK_ROOT/snapshots/overlay/metadata.json
	jq '.snapshots.b.parent = "gone"' "$meta" >"$meta.new" && mv "$meta.new" "$meta"
	snap -1 check
	assert_output --partial "dangling parent: snapshot 'b' names parent 'gone'"
	assert_regex "$stderr" "found 1 problem"
}

@test "a directory left by a crash before the metadata was saved does not block later prepares" {
	snap -0 prepare a
	local next
	next=$(jq -r .nextId "$CTRK_ROOT/snapshots/overlay/metadata.json")
	# As if a prepare had died between its mkdir and its metadata save.
	mkdir -p "$(snapdir overlay "$next")/fs"
	snap -0 prepare b
	assert_equal "$(jq -r .snapshots.b.id "$CTRK_ROOT/snapshots/overlay/metadata.json")" "$((next + 1))"
	snap -1 check
	assert_output --partial "orphan directory: '$(snapdir overlay "$next")'"
}

@test "8 processes at once: metadata stays consistent, one prepare of a key wins" {
	local i n=8 dir=$BATS_TEST_TMPDIR/par
	mkdir -p "$dir"
	snap -0 prepare a
	snap -0 commit base a
	for ((i = 0; i < n; i++)); do
		(
			for j in 1 2 3 4 5; do
				ctrk-snap prepare "k$i-$j" base </dev/null >/dev/null || exit 1
				if ((j % 2)); then ctrk-snap remove "k$i-$j" || exit 1; fi
			done
		) &
		echo $! >>"$dir/pids"
		ctrk-snap prepare same base </dev/null >"$dir/same.$i" 2>"$dir/same.$i.err" &
		echo $! >>"$dir/same.pids"
	done
	local fails=0 wins=0 pid
	while read -r pid; do wait "$pid" || fails=$((fails + 1)); done <"$dir/pids"
	assert_equal "$fails" 0
	while read -r pid; do wait "$pid" && wins=$((wins + 1)); done <"$dir/same.pids"
	assert_equal "$wins" 1
	assert_equal "$(cat "$dir"/same.*.err | grep -c "snapshot 'same' already exists")" $((n - 1))
	snap -0 list --json
	# base, same, and k*-2, k*-4 of each process.
	assert_equal "$(jqs length)" $((2 + 2 * n))
	assert_equal "$(jqs '[.[].id] | unique | length')" $((2 + 2 * n))
	snap -0 check
	run -0 ls "$CTRK_ROOT/snapshots/overlay"
	assert_equal "$(grep -c '^[0-9]*$' <<<"$output")" $((2 + 2 * n))
}

@test "overlay that cannot work says so and points to --driver native" {
	# An upper directory on overlayfs itself is refused by the kernel.
	local o=$BATS_TEST_TMPDIR/ovl
	mkdir -p "$o/l" "$o/u" "$o/w" "$o/m"
	mount -t overlay overlay -o "lowerdir=$o/l,upperdir=$o/u,workdir=$o/w" "$o/m"
	snap -1 --root "$o/m/root" list
	assert_regex "$stderr" "overlay does not work on '$o/m/root/snapshots/overlay'.*use --driver native"
	snap -0 --root "$o/m/root" -d native prepare a
}

@test "an external driver: ctrk-snap-testdrv on PATH" {
	export PATH="$CTRK_TESTS_DIR/fixtures:$PATH"
	export CTRK_TESTDRV_LOG=$BATS_TEST_TMPDIR/drv.log
	pull_multi
	snap -0 -d testdrv prepare --image multi c1
	assert_equal "$(jqs .snapshot.driver)" testdrv
	assert_equal "$(jqs '.mounts[0].type')" bind
	local fs
	fs=$(jqs '.mounts[0].source')
	assert_equal "$(cat "$fs/data/hello.txt")" "hello from layer 2"
	[[ ! -e $fs/etc/motd ]]
	# Three layers (prepare + commit each), then prepare + mounts of c1.
	run -0 jq -r .op "$CTRK_TESTDRV_LOG"
	assert_equal "$(tr '\n' ' ' <<<"$output")" "prepare commit prepare commit prepare commit prepare mounts "
	run -0 jq -c 'select(.key == "c1" and .op == "prepare") | [.kind, .readonly, (.parents | length)]' \
		"$CTRK_TESTDRV_LOG"
	assert_output '["active",false,3]'
	snap -0 -d testdrv commit c1c c1
	snap -0 -d testdrv view v c1c
	assert_equal "$(jqs -c '.mounts[0].options')" '["rbind","ro"]'
	snap -0 -d testdrv remove v
	run -0 jq -r 'select(.key == "v") | .op' "$CTRK_TESTDRV_LOG"
	assert_equal "$(tr '\n' ' ' <<<"$output")" "prepare mounts remove "
	# A driver that fails: its message and status reach the user.
	printf '#!/bin/sh\necho "broken driver" >&2\nexit 3\n' >"$BATS_TEST_TMPDIR/ctrk-snap-broken"
	chmod +x "$BATS_TEST_TMPDIR/ctrk-snap-broken"
	PATH=$BATS_TEST_TMPDIR:$PATH snap -1 -d broken prepare x
	assert_regex "$stderr" "broken driver"
	assert_regex "$stderr" "driver 'broken': prepare 'x': .*exit status 3"
	PATH=$BATS_TEST_TMPDIR:$PATH snap -0 -d broken list --json
	assert_output '[]'
}
