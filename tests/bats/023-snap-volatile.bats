#!/usr/bin/env bats
# ctrk-snap prepare/view --volatile: the record lives in volatile.json, which
# is replaced by a rename but never synced; what a crash can leave there
# (nothing, garbage, stale records) never costs the durable snapshots in
# metadata.json.  Real snapshots, real mounts, real strace.

load helpers

setup() {
	ctrk_setup
	T=$BATS_TEST_TMPDIR
	IMG="oci:$CTRK_FIXTURES:single"
	SDIR=$CTRK_ROOT/snapshots/overlay
	META=$SDIR/metadata.json
	VOL=$SDIR/volatile.json
}

# Mounts first (ctrk-mount's under $CTRK_RUN, ours under $T), also when the
# test failed midway; every file is under $T.
teardown() {
	unmount_test_mounts
	ctrk_teardown
}

snapdir() { # snapdir ID: the overlay snapshot directory of ID
	echo "$SDIR/$1"
}

# pull_single: the fixture image `single` into the test's store; its only
# layer's chain ID in $LAYER.
pull_single() {
	ctrk-pull -q "$IMG" >"$T/single.json"
	LAYER=$(jq -r '.image.diffIds[0]' "$T/single.json")
}

# traced NAME ARGS...: ctrk-snap ARGS (which must succeed) under strace -f,
# the sync system calls of it and its children written to $T/NAME.trace;
# stdout in $SNAP as with snap.
traced() {
	local name=$1
	shift
	run -0 --separate-stderr env "$(no_leak_check)" strace -f -qq -o "$T/$name.trace" \
		-e trace=fsync,fdatasync,sync_file_range,syncfs ctrk-snap "$@" </dev/null
	SNAP=$output
	printf '# strace ctrk-snap %s\n# stderr: %s\n# trace:\n%s\n' "$*" "$stderr" "$(cat "$T/$name.trace")"
}

# no_leak_check: ASAN_OPTIONS=... for a traced command.  LeakSanitizer
# cannot run under ptrace and fails the program at exit; the ASan build
# (make check-asan) still checks everything else under strace.
no_leak_check() {
	printf 'ASAN_OPTIONS=%s' "${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
}

# sync_calls NAME: how many sync calls $T/NAME.trace holds.
sync_calls() {
	grep -cE '(^|[^a-z_])(fsync|fdatasync|sync_file_range|syncfs)\(' "$T/$1.trace" || true
}

# mount_desc NAME: ctrk-mount the descriptor in $SNAP (default target
# $CTRK_RUN/KEY/rootfs); the result in $T/NAME.json.
mount_desc() {
	run -0 --separate-stderr ctrk-mount <<<"$SNAP"
	printf '%s\n' "$output" >"$T/$1.json"
}

# --- where the record is, and what says it is volatile -----------------------

@test "prepare --volatile: the record is in volatile.json, not in metadata.json; stat, list --json and the descriptor say volatile" {
	pull_single
	snap -0 prepare --volatile --image "$IMG" c1
	assert_equal "$stderr" ""
	assert_equal "$(jqs -c '.snapshot | [.key, .kind, .parent, .volatile, .driver]')" \
		"[\"c1\",\"active\",\"$LAYER\",true,\"overlay\"]"
	assert_equal "$(jqs .mounts[0].type)" overlay
	# The layer is durable, c1 is volatile only.
	run -0 jq -c --arg l "$LAYER" '.snapshots | [has($l), has("c1")]' "$META"
	assert_output '[true,false]'
	run -0 jq -c --arg l "$LAYER" \
		'[.version, .driver, (.snapshots | keys), .snapshots.c1.kind, .snapshots.c1.parent == $l,
		  (.snapshots.c1 | has("volatile")), (.snapshots.c1.created | test("^[0-9-]+T[0-9:]+Z$"))]' "$VOL"
	assert_output '[1,"overlay",["c1"],"active",true,false,true]'
	local id
	id=$(jq -r .snapshots.c1.id "$VOL")
	[[ $(jq -r .nextId "$VOL") -gt $id ]]
	[[ -d $(snapdir "$id")/fs && -d $(snapdir "$id")/work ]]
	# stat, list --json: volatile true for c1 only.
	snap -0 stat c1
	assert_equal "$(jqs -c '[.kind, .volatile, .id]')" "[\"active\",true,$id]"
	snap -0 stat "$LAYER"
	assert_equal "$(jqs -c '[.kind, has("volatile")]')" '["committed",false]'
	snap -0 list --json
	assert_equal "$(jqs -c '[.[] | select(.volatile == true) | .key]')" '["c1"]'
	assert_equal "$(jqs length)" 2
	snap -0 list
	assert_line --regexp "^c1 +active +$LAYER\$"
	# mounts KEY carries the mark as well; a durable prepare does not.
	snap -0 mounts c1
	assert_equal "$(jqs .snapshot.volatile)" true
	snap -0 prepare d1
	assert_equal "$(jqs -c '.snapshot | has("volatile")')" false
	snap -0 mounts d1
	assert_equal "$(jqs -c '.snapshot | has("volatile")')" false
	run -0 jq -c '.snapshots | keys' "$META"
	assert_output "$(jq -cn --arg l "$LAYER" '[$l, "d1"] | sort')"
	run -0 jq -c '.snapshots | keys' "$VOL"
	assert_output '["c1"]'
	snap -0 check
}

@test "strace: no sync call for prepare --volatile of an unpacked image nor for its remove; a durable prepare and remove sync" {
	pull_single
	snap -0 unpack "$IMG"
	local meta_before
	meta_before=$(sha256sum <"$META")

	traced vprep prepare --volatile --image "$IMG" v1
	assert_equal "$(jqs .snapshot.volatile)" true
	assert_equal "$(jq -r .snapshots.v1.kind "$VOL")" active
	assert_equal "$(sync_calls vprep)" 0
	# Nothing durable was written at all.
	assert_equal "$(sha256sum <"$META")" "$meta_before"
	local id
	id=$(jq -r .snapshots.v1.id "$VOL")

	traced vrm remove v1
	assert_equal "$(jq -c '.snapshots' "$VOL")" '{}'
	[[ ! -e $(snapdir "$id") && ! -e $SDIR/trash-$id ]]
	assert_equal "$(sync_calls vrm)" 0
	assert_equal "$(sha256sum <"$META")" "$meta_before"

	# The same trace sees the syncs of a durable prepare and remove.
	traced dprep prepare --image "$IMG" d1
	assert_equal "$(jq -r .snapshots.d1.kind "$META")" active
	[[ $(sync_calls dprep) -ge 1 ]]
	traced drm remove d1
	[[ $(sync_calls drm) -ge 1 ]]
	snap -0 check
}

@test "a volatile snapshot mounts with ctrk-mount, takes writes, unmounts and is removed" {
	pull_single
	snap -0 prepare --volatile --image "$IMG" c1
	local id
	id=$(jq -r .snapshots.c1.id "$VOL")
	mount_desc c1
	local rootfs
	rootfs=$(jq -r .rootfs "$T/c1.json")
	assert_equal "$rootfs" "$CTRK_RUN/c1/rootfs"
	# ctrk-mount passes the snapshot field through, mark included.
	assert_equal "$(jq -r .snapshot.volatile "$T/c1.json")" true
	assert_equal "$(findmnt -n -o FSTYPE "$rootfs")" overlay
	[[ -x $rootfs/bin/busybox ]]
	echo written >"$rootfs/hello"
	echo changed >"$rootfs/etc/motd"
	# The writes land in the snapshot's own directory.
	assert_equal "$(cat "$(snapdir "$id")/fs/hello")" written
	run -0 --separate-stderr ctrk-mount --unmount <"$T/c1.json"
	run -0 findmnt -rn -o TARGET
	refute_output --partial "$CTRK_RUN/c1"
	[[ ! -e $CTRK_RUN/c1 ]]
	# What was written stays with the snapshot until it is removed.
	assert_equal "$(cat "$(snapdir "$id")/fs/etc/motd")" changed
	snap -0 usage c1
	[[ $(jqs .inodes) -ge 3 ]]
	snap -0 remove c1
	[[ ! -e $(snapdir "$id") ]]
	snap -0 list --json
	assert_equal "$(jqs -c '[.[].key]')" "[\"$LAYER\"]"
	snap -0 check
}

@test "view --volatile: a read-only volatile view, of a parent and of an image" {
	snap -0 prepare a
	echo hello >"$(snapdir 1)/fs/hello"
	snap -0 commit base a
	snap -0 view --volatile v base
	assert_equal "$(jqs -c '.snapshot | [.key, .kind, .parent, .volatile]')" '["v","view","base",true]'
	assert_equal "$(jqs -c '.mounts[0].options')" '["rbind","ro"]'
	assert_equal "$(jq -r .snapshots.v.kind "$VOL")" view
	run -0 jq -c '.snapshots | keys' "$META"
	assert_output '["base"]'
	mount_desc v
	local rootfs
	rootfs=$(jq -r .rootfs "$T/v.json")
	assert_equal "$(cat "$rootfs/hello")" hello
	run ! touch "$rootfs/x"
	run -0 --separate-stderr ctrk-mount --unmount <"$T/v.json"
	snap -0 stat v
	assert_equal "$(jqs -c '[.kind, .volatile]')" '["view",true]'
	# A view of an image, volatile too.
	pull_single
	snap -0 view --volatile --image "$IMG" vi
	assert_equal "$(jqs -c '.snapshot | [.kind, .parent, .volatile]')" "[\"view\",\"$LAYER\",true]"
	run -0 jq -c '.snapshots | keys' "$VOL"
	assert_output '["v","vi"]'
	snap -0 remove v
	snap -0 remove vi
	snap -0 remove base
	run -0 jq -c '.snapshots' "$VOL"
	assert_output '{}'
	snap -0 check
}

# --- commit ------------------------------------------------------------------

@test "commit of a volatile snapshot is durable; a committed parent of a volatile child cannot be removed" {
	snap -0 prepare --volatile a
	local id
	id=$(jq -r .snapshots.a.id "$VOL")
	echo kept >"$(snapdir "$id")/fs/kept"
	traced commit commit base a
	# The commit is durable: synced, in metadata.json, gone from volatile.json.
	[[ $(sync_calls commit) -ge 1 ]]
	run -0 jq -c '.snapshots.base | [.id, .kind, has("volatile")]' "$META"
	assert_output "[$id,\"committed\",false]"
	run -0 jq -c '.snapshots' "$VOL"
	assert_output '{}'
	snap -0 stat base
	assert_equal "$(jqs -c '[.kind, has("volatile")]')" '["committed",false]'
	snap -1 stat a
	# A volatile child keeps its committed parent.
	snap -0 prepare --volatile child base
	snap -1 remove base
	assert_regex "$stderr" "^ctrk-snap: error: cannot remove 'base': snapshot 'base' has children: remove them first$"
	snap -0 stat base
	[[ -d $(snapdir "$id")/fs ]]
	assert_equal "$(cat "$(snapdir "$id")/fs/kept")" kept
	# A volatile view, too.
	snap -0 remove child
	snap -0 view --volatile vw base
	snap -1 remove base
	assert_regex "$stderr" "has children"
	snap -0 remove vw
	snap -0 remove base
	snap -0 list --json
	assert_output '[]'
	snap -0 check
}

@test "a crash during the commit of a volatile snapshot: the durable record wins over the stale volatile one" {
	snap -0 prepare --volatile a
	local id
	id=$(jq -r .snapshots.a.id "$VOL")
	cp "$VOL" "$T/volatile.before"
	snap -0 commit base a
	# As if the crash came after metadata.json was saved, before volatile.json.
	cp "$T/volatile.before" "$VOL"
	snap -0 list --json
	assert_equal "$stderr" ""
	assert_equal "$(jqs -c '[.[] | [.key, .kind, .id, .volatile]]')" "[[\"base\",\"committed\",$id,null]]"
	snap -1 stat a
	snap -0 prepare c base
	snap -0 check
	assert_output ""
}

# --- what a crash can leave in volatile.json ---------------------------------

@test "an empty volatile.json after a crash names nothing, silently; check reports the forgotten directory" {
	snap -0 prepare d
	snap -0 prepare --volatile v
	local vid did
	vid=$(jq -r .snapshots.v.id "$VOL")
	did=$(jq -r .snapshots.d.id "$META")
	# The crash: volatile.json was never synced.
	truncate -s 0 "$VOL"
	snap -0 list --json
	assert_equal "$stderr" ""
	assert_equal "$(jqs -c '[.[].key]')" '["d"]'
	snap -1 stat v
	assert_regex "$stderr" "snapshot 'v' does not exist"
	snap -0 stat d
	snap -1 check
	assert_output "orphan directory: '$(snapdir "$vid")' belongs to no snapshot"
	assert_regex "$stderr" "found 1 problem in 'overlay'"
	# The forgotten directory is not reused; the key is free again.
	snap -0 prepare --volatile v
	assert_equal "$stderr" ""
	local nid
	nid=$(jq -r .snapshots.v.id "$VOL")
	[[ $nid != "$vid" && $nid != "$did" ]]
	snap -0 prepare d2
	local d2
	d2=$(jq -r .snapshots.d2.id "$META")
	[[ $d2 != "$vid" && $d2 != "$nid" && $d2 != "$did" ]]
	# Cleaning up by hand, as check suggests.
	rm -r "$(snapdir "$vid")"
	snap -0 check
	assert_output ""
	snap -0 remove v
	snap -0 remove d
	snap -0 remove d2
	snap -0 check
}

@test "garbage in volatile.json: a warning; the durable snapshots are listed and usable" {
	snap -0 prepare a
	snap -0 commit base a
	snap -0 prepare --volatile v base
	local vid
	vid=$(jq -r .snapshots.v.id "$VOL")
	cp "$META" "$T/meta.before"
	printf '{"version":1,"nextId":' >"$VOL"
	snap -0 list --json
	assert_regex "$stderr" "^ctrk-snap: warning: ignoring the volatile snapshots: .*volatile\.json"
	assert_equal "$(jqs -c '[.[] | [.key, .kind]]')" '[["base","committed"]]'
	snap -0 stat base
	assert_regex "$stderr" "warning: ignoring the volatile snapshots"
	snap -1 stat v
	# Durable work goes on, without a new id clash and without touching the
	# garbage.
	snap -0 prepare c base
	assert_equal "$(jqs .snapshot.kind)" active
	local cid
	cid=$(jq -r .snapshots.c.id "$META")
	[[ $cid != "$vid" ]]
	assert_equal "$(cat "$VOL")" '{"version":1,"nextId":'
	mount_desc c
	echo x >"$(jq -r .rootfs "$T/c.json")/x"
	run -0 --separate-stderr ctrk-mount --unmount <"$T/c.json"
	snap -0 commit c2 c
	run -0 jq -c '.snapshots | keys' "$META"
	assert_output '["base","c2"]'
	# check: the ignored snapshot's directory is an orphan.
	snap -1 check
	assert_output --partial "orphan directory: '$(snapdir "$vid")' belongs to no snapshot"
	rm -r "$(snapdir "$vid")"
	rm "$VOL"
	snap -0 check
	assert_equal "$stderr" ""
}

@test "a volatile.json that is not valid metadata is ignored with a warning that says why" {
	snap -0 prepare d
	local cases=(
		'{"version":1,"driver":"overlay","nextId":9,"snapshots":{"x":{"id":7,"kind":"committed","created":"2026-01-01T00:00:00Z"}}}'
		"'x': a committed snapshot cannot be volatile"
		'{"version":1,"driver":"overlay","snapshots":{}}'
		"missing field 'nextId'"
		'[]'
		'not a JSON object'
		'{"version":1,"driver":"overlay","nextId":9,"snapshots":{"x":{"id":"7","kind":"active"}}}'
		"field 'id' must be a number"
		'{"version":1,"driver":"overlay","nextId":9,"snapshots":{"x":{"id":7,"kind":"frozen"}}}'
		"unknown kind 'frozen'"
	)
	# Not $i: bats 1.8's run clobbers a caller's i (bats_any_in).
	local c want
	for ((c = 0; c < ${#cases[@]}; c += 2)); do
		want=${cases[c + 1]}
		printf '%s' "${cases[c]}" >"$VOL"
		snap -0 list --json
		assert_regex "$stderr" "^ctrk-snap: warning: ignoring the volatile snapshots: .*volatile\.json.*: $want\$"
		assert_equal "$(jqs -c '[.[] | [.key, .volatile]]')" '[["d",null]]'
	done
	# A file of zeros, as some file systems leave an unsynced one.
	head -c 200 /dev/zero >"$VOL"
	snap -0 list --json
	assert_regex "$stderr" "^ctrk-snap: warning: ignoring the volatile snapshots: "
	assert_equal "$(jqs -c '[.[].key]')" '["d"]'
	rm "$VOL"
	snap -0 check
	assert_equal "$stderr" ""
}

@test "a stale volatile record with the key or the id of a durable one is dropped: the durable one wins" {
	snap -0 prepare d
	local did
	did=$(jq -r .snapshots.d.id "$META")
	mkdir -p "$(snapdir 7)/fs" "$(snapdir 7)/work" "$(snapdir 8)/fs" "$(snapdir 8)/work"
	# d: the key of a durable one; x: its id; ok: neither.
	jq -n --argjson did "$did" '{version: 1, driver: "overlay", nextId: 9, snapshots: {
		d: {id: 7, kind: "view", created: "2026-01-01T00:00:00Z"},
		x: {id: $did, kind: "active", created: "2026-01-01T00:00:00Z"},
		ok: {id: 8, kind: "active", created: "2026-01-01T00:00:00Z"}}}' >"$VOL"
	snap -0 list --json
	assert_equal "$stderr" ""
	assert_equal "$(jqs -c '[.[] | [.key, .kind, .id, .volatile]] | sort')" \
		"[[\"d\",\"active\",$did,null],[\"ok\",\"active\",8,true]]"
	snap -0 stat d
	assert_equal "$(jqs -c '[.kind, .id, has("volatile")]')" "[\"active\",$did,false]"
	snap -1 stat x
	snap -0 mounts d
	assert_equal "$(jqs .mounts[0].source)" "$(snapdir "$did")/fs"
	# The dropped record's directory is an orphan; the one kept is not.
	# check --fix leaves it: volatile.json still names it.
	snap -1 check --fix
	assert_output "orphan directory: '$(snapdir 7)' belongs to no snapshot, but a stale record in volatile.json names it; left alone"
	[[ -d $(snapdir 7) ]]
	# The next id is past both files' nextId.
	snap -0 prepare n
	[[ $(jq -r .snapshots.n.id "$META") -ge 9 ]]
	# The first save of volatile.json forgets the stale records.
	snap -0 remove ok
	run -0 jq -c '.snapshots' "$VOL"
	assert_output '{}'
	rm -r "$(snapdir 7)"
	snap -0 check
}

# --- keys, ids, usage ----------------------------------------------------------

@test "a crash brings back a volatile record whose parent was removed: it is dropped, and its directory is an orphan" {
	snap -0 prepare a
	snap -0 commit base a
	snap -0 prepare --volatile v base
	local vid
	vid=$(jq -r .snapshots.v.id "$VOL")
	cp "$VOL" "$T/old.json"
	snap -0 remove v
	snap -0 remove base
	# The crash: volatile.json was never synced and comes back old; the
	# directory of v is back too (as if its deletion had not reached disk).
	mkdir -p "$(snapdir "$vid")/fs" "$(snapdir "$vid")/work"
	cp "$T/old.json" "$VOL"
	snap -0 list --json
	assert_equal "$(jqs -c 'map(.key)')" '[]'
	snap -1 stat v
	snap -1 check
	assert_output "orphan directory: '$(snapdir "$vid")' belongs to no snapshot, but a stale record in volatile.json names it; left alone"
	# A snapshot of that key can be made again, and removed.
	snap -0 prepare --volatile v
	snap -0 remove v
	rm -r "$(snapdir "$vid")"
	snap -0 check
}

@test "a store that only ever had volatile snapshots probes the driver once, not on every command" {
	snap -0 prepare --volatile a
	[ ! -e "$META" ]
	run -0 env "$(no_leak_check)" strace -f -qq -o "$T/probe.trace" -e trace=mount,umount2 ctrk-snap remove a
	run -0 cat "$T/probe.trace"
	assert_output ""
}

@test "a record in metadata.json that says volatile is refused: the file a record is in says what it is" {
	snap -0 prepare a
	jq '.snapshots.a.volatile = true' "$META" >"$T/meta" && cp "$T/meta" "$META"
	snap -1 list
	assert_equal "$stderr" "ctrk-snap: error: metadata '$META': 'a': unexpected field 'volatile'"
	jq 'del(.snapshots.a.volatile)' "$META" >"$T/meta" && cp "$T/meta" "$META"
	snap -0 remove a
}

@test "keys are unique across metadata.json and volatile.json" {
	snap -0 prepare k
	snap -1 prepare --volatile k
	assert_regex "$stderr" "^ctrk-snap: error: cannot prepare 'k': snapshot 'k' already exists$"
	[[ ! -e $VOL ]] || assert_equal "$(jq -c '.snapshots | has("k")' "$VOL")" false
	snap -1 view --volatile k
	assert_regex "$stderr" "snapshot 'k' already exists"
	snap -0 prepare --volatile v
	snap -1 prepare v
	assert_regex "$stderr" "^ctrk-snap: error: cannot prepare 'v': snapshot 'v' already exists$"
	assert_equal "$(jq -c '.snapshots | has("v")' "$META")" false
	snap -1 view v
	assert_regex "$stderr" "snapshot 'v' already exists"
	snap -1 prepare --volatile v
	assert_regex "$stderr" "snapshot 'v' already exists"
	# commit cannot take a name the other file holds either.
	snap -1 commit v k
	assert_regex "$stderr" "snapshot 'v' already exists"
	snap -1 commit k v
	assert_regex "$stderr" "snapshot 'k' already exists"
	snap -0 stat k
	assert_equal "$(jqs -c '[.kind, has("volatile")]')" '["active",false]'
	snap -0 stat v
	assert_equal "$(jqs -c '[.kind, .volatile]')" '["active",true]'
	snap -0 check
}

@test "ids of volatile and durable snapshots never collide" {
	local n
	for n in 1 2 3; do
		snap -0 prepare "d$n"
		snap -0 prepare --volatile "v$n"
	done
	snap -0 remove v2
	snap -0 remove d1
	snap -0 prepare --volatile v4
	snap -0 prepare d4
	snap -0 list --json
	assert_equal "$(jqs length)" 6
	assert_equal "$(jqs '[.[].id] | unique | length')" 6
	assert_equal "$(jqs -c '[.[] | select(.volatile) | .key] | sort')" '["v1","v3","v4"]'
	# Each directory belongs to exactly one of them.
	run -0 jq -n --slurpfile m "$META" --slurpfile v "$VOL" \
		'[$m[0].snapshots[].id] + [$v[0].snapshots[].id] | (length == (unique | length))'
	assert_output true
	snap -0 check
	assert_output ""
}

@test "--volatile is a usage error with any verb but prepare and view" {
	snap -2 --volatile list
	assert_regex "$stderr" "^ctrk-snap: (usage )?error: --volatile is for prepare and view"
	snap -2 list --volatile
	assert_regex "$stderr" "--volatile is for prepare and view"
	local args
	for args in "stat x" "remove x" "commit n x" "mounts x" "usage x" "unpack $IMG" "check" "diff x"; do
		# shellcheck disable=SC2086 # split on purpose
		snap -2 --volatile $args
		assert_regex "$stderr" "--volatile is for prepare and view"
	done
	# Nothing was created.
	[[ ! -e $VOL && ! -e $META ]]
	snap -0 prepare --volatile ok
}
