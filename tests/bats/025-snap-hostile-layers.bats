#!/usr/bin/env bats
# Hostile and tricky layers, through the real pipeline: ctrk-pull from an OCI
# layout, ctrk-snap prepare --image with each driver, ctrk-mount (overlayfs
# for the overlay driver, a bind mount for native).  The corpus is
# tests/fixtures/hostile-layers.py --oci: the hostile layers of
# tests/unit/test-snap-apply.c, the whiteout and benign images, images of
# several layers where what a layer does depends on those below it, and
# gzip layers with a bad trailer.
#
# For every image: the overlay and native drivers make the same merged tree
# (tests/fixtures/tree-listing.py: types, modes, owners, content, xattrs,
# link targets, hard link groups), or both refuse it; nothing outside the
# store changes.  Then the outcomes ctrk-snap(1) promises for a few of them.

load helpers

setup_file() {
	export LAYOUT=$BATS_FILE_TMPDIR/layout OUTSIDE=$BATS_FILE_TMPDIR/outside
	mkdir -p "$OUTSIDE"
	echo canary >"$OUTSIDE/canary"
	echo victim >"$OUTSIDE/victim"
	"$PYTHON" "$CTRK_TESTS_DIR/fixtures/hostile-layers.py" --oci "$LAYOUT" "$OUTSIDE"
	"$PYTHON" "$CTRK_TESTS_DIR/fixtures/tree-listing.py" "$OUTSIDE" >"$BATS_FILE_TMPDIR/outside.list"
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

# unpack DRIVER TAG: ctrk-snap -d DRIVER prepare --image oci:LAYOUT:TAG, then
# ctrk-mount on $T/m/TAG.DRIVER.  1 when ctrk-snap refused (its stderr in
# $T/TAG.DRIVER.err), 2 when anything else failed.
unpack() {
	local drv=$1 tag=$2 dir=$T/m/$2.$1
	ctrk-snap -d "$drv" prepare --image "oci:$LAYOUT:$tag" "$tag.$drv" </dev/null >"$T/$tag.$drv.json" \
		2>"$T/$tag.$drv.err" || return 1
	mkdir -p "$dir"
	echo "$dir" >>"$T/.mounted"
	ctrk-mount --target "$dir" <"$T/$tag.$drv.json" >/dev/null 2>>"$T/$tag.$drv.err" || return 2
}

# compare TAG: unpack TAG with both drivers; prints what differs, if anything.
compare() {
	local tag=$1 o=0 n=0
	if ! ctrk-pull -q "oci:$LAYOUT:$tag" </dev/null >/dev/null 2>"$T/$tag.pull.err"; then
		echo "$tag: ctrk-pull failed: $(cat "$T/$tag.pull.err")"
		return
	fi
	unpack overlay "$tag" || o=$?
	unpack native "$tag" || n=$?
	if ((o == 2 || n == 2)); then
		echo "$tag: mounting failed: $(cat "$T/$tag.overlay.err" "$T/$tag.native.err")"
	elif ((o != n)); then
		echo "$tag: overlay exit $o, native exit $n:"
		sed 's/^/    /' "$T/$tag.overlay.err" "$T/$tag.native.err"
	elif ((o == 1)); then
		# Both refused: for the same reason.
		if ! diff "$T/$tag.overlay.err" "$T/$tag.native.err" >/dev/null; then
			echo "$tag: both refused, for different reasons:"
			sed 's/^/    /' "$T/$tag.overlay.err" "$T/$tag.native.err"
		fi
	else
		local d
		for d in overlay native; do
			if ! "$PYTHON" "$CTRK_TESTS_DIR/fixtures/tree-listing.py" "$T/m/$tag.$d" \
				>"$T/$tag.$d.list" 2>"$T/$tag.$d.list.err"; then
				echo "$tag: the $d tree cannot be listed: $(tail -1 "$T/$tag.$d.list.err")"
				return
			fi
		done
		if ! diff -u "$T/$tag.native.list" "$T/$tag.overlay.list" >"$T/$tag.diff"; then
			echo "$tag: the trees differ (- native, + overlay):"
			tail -n +3 "$T/$tag.diff" | sed 's/^/    /'
		fi
	fi
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

# outside_unchanged: the sandbox's "outside" and the host's / are as before.
outside_unchanged() {
	"$PYTHON" "$CTRK_TESTS_DIR/fixtures/tree-listing.py" "$OUTSIDE" >"$T/outside.list"
	diff -u "$BATS_FILE_TMPDIR/outside.list" "$T/outside.list"
	[[ ! -e /evil && ! -e /escape && ! -e /abs/path ]]
}

# listing DRIVER TAG: the merged tree's listing, its paths only.
paths() {
	cut -d' ' -f1 "$T/$2.$1.list"
}

@test "every image of the corpus: overlay and native make the same tree, or both refuse it" {
	local tag report=$T/report
	: >"$report"
	while read -r tag; do
		compare "$tag" >>"$report"
		# Unmounted as we go: a hundred mounts at once are not needed.
		ctrk-mount --unmount "$T/m/$tag.overlay" 2>/dev/null || true
		ctrk-mount --unmount "$T/m/$tag.native" 2>/dev/null || true
	done <"$LAYOUT/cases"
	outside_unchanged
	if [[ -s $report ]]; then
		batslib_decorate "overlay and native differ" <"$report" | fail
	fi
	# Not vacuous: most images unpacked, some were refused.
	(($(ls "$T"/*.overlay.list | wc -l) > 40))
	(($(grep -l . "$T"/*.overlay.err | wc -l) > 10))
}

# both TAG: unpack TAG with both drivers, list both trees.
both() {
	run_ok ctrk-pull -q "oci:$LAYOUT:$1"
	local d
	for d in overlay native; do
		unpack "$d" "$1" || fail "$d: $(cat "$T/$1.$d.err")"
		"$PYTHON" "$CTRK_TESTS_DIR/fixtures/tree-listing.py" "$T/m/$1.$d" >"$T/$1.$d.list"
	done
}

# refused TAG MESSAGE: both drivers refuse TAG with MESSAGE.
refused() {
	run_ok ctrk-pull -q "oci:$LAYOUT:$1"
	local d
	for d in overlay native; do
		! unpack "$d" "$1" || fail "$d unpacked $1"
		grep -qF -- "$2" "$T/$1.$d.err" || fail "$d: $(cat "$T/$1.$d.err")"
		grep -q "^ctrk-snap: error: " "$T/$1.$d.err"
	done
	outside_unchanged
}

@test "device numbers the kernel cannot hold are refused, not cut to another device" {
	refused hostile-dev-major-huge "layer entry 'big': device number 4096:0 is out of range"
	refused hostile-dev-minor-huge "layer entry 'big': device number 0:1048576 is out of range"
	refused hostile-dev-both-huge "device number 4097:1048577 is out of range"
}

@test "a character device 0:0, which overlayfs would read as a whiteout, is refused" {
	refused hostile-chardev-0-0 "layer entry 'wh': a character device 0:0 is an overlay whiteout"
}

@test "a gzip layer whose trailer is wrong is refused" {
	refused gzip-bad-crc "invalid gzip data: incorrect data check"
	refused gzip-bad-length "invalid gzip data: incorrect length check"
	refused gzip-trailing-garbage "data after the end of the gzip stream"
}

@test "a whiteout, then a directory of that name: the new directory hides what was below" {
	local tag d
	for tag in multi-wh-then-dir multi-wh-then-implicit-dir; do
		both "$tag"
		for d in overlay native; do
			assert_equal "$(paths "$d" "$tag" | grep '^d')" "d
d/new"
		done
	done
	both multi-wh-then-dir-nested
	for d in overlay native; do
		assert_equal "$(paths "$d" multi-wh-then-dir-nested | grep '^d/sub')" "d/sub
d/sub/new"
	done
}

@test "a whiteout of a name no lower layer has leaves nothing: ls -l, find, tar work" {
	local tag d
	for tag in multi-wh-absent-new-dir multi-wh-absent-implicit-dir multi-wh-absent-missing-dir \
		multi-wh-absent-existing-dir; do
		both "$tag"
		for d in overlay native; do
			run_ok ls -lA "$T/m/$tag.$d"
			run_ok find "$T/m/$tag.$d" -exec stat {} +
			run_ok tar -C "$T/m/$tag.$d" -cf /dev/null .
		done
		assert_equal "$(cat "$T/$tag.overlay.list")" "$(cat "$T/$tag.native.list")"
	done
	assert_equal "$(ls -A "$T/m/multi-wh-absent-new-dir.overlay/fresh")" file
	assert_equal "$(ls -A "$T/m/multi-wh-absent-implicit-dir.overlay/fresh")" file
	[[ ! -e $T/m/multi-wh-absent-missing-dir.overlay/missing ]]
	[[ ! -e $T/m/multi-wh-absent-missing-dir.overlay/m1 ]]
}

@test "an opaque marker at a layer's root hides all lower layers" {
	both multi-opaque-root
	local d
	for d in overlay native; do
		assert_equal "$(paths "$d" multi-opaque-root)" new
	done
	both multi-opaque-root-middle
	for d in overlay native; do
		assert_equal "$(paths "$d" multi-opaque-root-middle)" top
	done
	# Still the layers' own: the lowerdir list stops at the opaque one.
	local lower
	lower=$(jq -r '.mounts[0].options[] | select(startswith("lowerdir="))' "$T/multi-opaque-root-middle.overlay.json")
	assert_equal "$(tr ':' '\n' <<<"${lower#lowerdir=}" | wc -l)" 2
}

@test "a hardlink to a symlink links the symlink itself" {
	both hostile-hardlink-to-symlink
	local d
	for d in overlay native; do
		[[ -L $T/m/hostile-hardlink-to-symlink.$d/h ]]
		assert_equal "$(readlink "$T/m/hostile-hardlink-to-symlink.$d/h")" "$OUTSIDE/canary"
		assert_equal "$(stat -c %h "$T/m/hostile-hardlink-to-symlink.$d/h")" 2
	done
	outside_unchanged
}

@test "what overlayfs cannot do alone: both drivers behave as ctrk-snap(1) says" {
	local d
	# A hardlink to a file only a lower layer has is refused.
	refused multi-hardlink-to-lower "layer entry 'h': hardlink target 'x' does not exist in this layer"
	refused multi-hardlink-via-lower-symlink "hardlink target 'l/y' does not exist in this layer"
	# A path through a lower layer's symlink: the symlink becomes a directory.
	both multi-symlink-parent-lower
	for d in overlay native; do
		[[ -d $T/m/multi-symlink-parent-lower.$d/bin && ! -L $T/m/multi-symlink-parent-lower.$d/bin ]]
		assert_equal "$(ls "$T/m/multi-symlink-parent-lower.$d/bin")" foo
		assert_equal "$(ls "$T/m/multi-symlink-parent-lower.$d/usr/bin")" sh
	done
	# An implicit directory keeps the metadata of the one below it.
	both multi-implicit-parent-meta
	for d in overlay native; do
		assert_equal "$(stat -c '%a %u %g' "$T/m/multi-implicit-parent-meta.$d/tmp")" "1777 0 0"
		assert_equal "$(stat -c '%a %u %g' "$T/m/multi-implicit-parent-meta.$d/opt")" "700 5 6"
		assert_equal "$("$PYTHON" -c 'import os, sys; print(os.getxattr(sys.argv[1], "user.kept").decode())' "$T/m/multi-implicit-parent-meta.$d/opt")" yes
		assert_equal "$(stat -c '%a' "$T/m/multi-implicit-parent-meta.$d/opt/deep")" 711
	done
}

@test "ctrk-pull: a gzip-compressed oci-archive whose trailer is wrong is refused" {
	local good=$T/single.oci.tar.gz bad=$T/bad-crc.oci.tar.gz
	gzip -n -c "$CTRK_FIXTURE_OCI_ARCHIVE" >"$good"
	"$PYTHON" -c 'import sys
b = bytearray(open(sys.argv[1], "rb").read()); b[-8] ^= 1
open(sys.argv[2], "wb").write(b)' "$good" "$bad"
	run_ok ctrk-pull -q "oci-archive:$good:single"
	export CTRK_ROOT=$T/root2
	run --separate-stderr ctrk-pull -q "oci-archive:$bad:single"
	assert_failure
	assert_regex "$stderr" "^ctrk-pull: error: .*invalid gzip data: incorrect data check"
	[[ ! -e $CTRK_ROOT/content/index.json ]] || [[ $(jq '.manifests | length' "$CTRK_ROOT/content/index.json") == 0 ]]
}
