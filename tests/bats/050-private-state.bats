#!/usr/bin/env bats
# Private state: nobody but root reaches into images or containers.
#
# After a real pull (the shared registry), prepare, mount and run -d, an
# unprivileged uid cannot list, read, stat, open or execute anything under
# CTRK_ROOT or CTRK_RUN, and cannot run the setuid-root program the image
# ships through the mounted rootfs (moby CVE-2021-41091, containerd
# CVE-2021-41103).  Looser directories that already exist are tightened with
# one warning each; a state root that is a symlink or someone else's is
# refused.
#
# The state roots live in a fresh directory P (mode 0755) under $BATS_TMPDIR,
# every parent of which the test uid can search: $BATS_TEST_TMPDIR's parents
# are 0700, which would hide loose modes and let these tests pass for the
# wrong reason.  A control in each test shows the uid does reach a 0755
# sibling at the same depth, and the setuid program runs as root from there.

load helpers

setup_file() {
	# The image: the fixture `single` plus a layer holding bin/suid-id, a
	# setuid-root copy of id(1), and dev/priv-null, a device node anyone may
	# open (1,3: null), pushed to the shared registry.
	local out=$BATS_FILE_TMPDIR/suid
	mk_suid_image "$out"
	PUSH_LAYOUT=$out registry_push shared suid test/priv-suid
	export SUID_REF=$REGISTRY_SHARED_ADDR/test/priv-suid:latest
}

setup() {
	ctrk_setup
	P=$(mktemp -d "${BATS_TMPDIR:-/tmp}/ctrk-priv.XXXXXX")
	chmod 0755 "$P"
	export CTRK_ROOT=$P/root CTRK_RUN=$P/run
	# A uid nobody uses (no passwd entry needed for setpriv).
	U=$((64999 + RANDOM % 1000))
	N=priv${BATS_SUITE_TEST_NUMBER:-0}
	# Ids that cannot collide with other tests' (runc's state is global).
	KEY=$N-c1
}

teardown() {
	local id left parent
	for id in $(ctrk-run list -q 2>/dev/null); do
		ctrk-run delete --force "$id" >/dev/null || true
	done
	# This state directory's runtime state and cgroup parent (ctrk-run(1)).
	parent=$(cgroup_parent)
	left=$(ls -d "$CTRK_RUN"/runtime/*/*/ /sys/fs/cgroup/*/"$parent" /sys/fs/cgroup/"$parent" 2>/dev/null)
	unmount_under "$P"
	ctrk_teardown
	left+=$(mounts_under "$P")
	# Never through a mount that is still there.
	[[ -n $(mounts_under "$P") ]] || rm -rf --one-file-system "$P"
	if [[ -n $left ]]; then
		echo "# left behind: $left" >&3
		return 1
	fi
}

# mk_suid_image OUT: an OCI layout at OUT, tag suid: `single` and one more
# layer with bin/suid-id (mode 4755, root:root) and dev/priv-null (c 1,3,
# mode 0666).
mk_suid_image() {
	local out=$1 w=$1.work m cfg ldig diffid cdig mdig
	skopeo copy -q "oci:$CTRK_FIXTURES:single" "oci:$out:suid" >/dev/null
	mkdir -p "$w/bin"
	cp /usr/bin/id "$w/bin/suid-id"
	chmod 4755 "$w/bin/suid-id"
	mkdir -p "$w/dev"
	mknod -m 0666 "$w/dev/priv-null" c 1 3
	tar -C "$w" --owner=0 --group=0 --numeric-owner -cf "$w.tar" bin/suid-id dev/priv-null
	gzip -n -c "$w.tar" >"$w.tar.gz"
	ldig=$(put_blob "$out" "$w.tar.gz")
	diffid=sha256:$(sha256sum "$w.tar" | cut -d' ' -f1)
	m=$out/blobs/sha256/$(jq -r '.manifests[0].digest | ltrimstr("sha256:")' "$out/index.json")
	cfg=$out/blobs/sha256/$(jq -r '.config.digest | ltrimstr("sha256:")' "$m")
	jq -c --arg d "$diffid" '.rootfs.diff_ids += [$d]' "$cfg" >"$w.config"
	cdig=$(put_blob "$out" "$w.config")
	jq -c --arg c "$cdig" --argjson cs "$(stat -c %s "$w.config")" --arg l "$ldig" \
		--argjson ls "$(stat -c %s "$w.tar.gz")" \
		'.config.digest = $c | .config.size = $cs |
		 .layers += [{mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest: $l, size: $ls}]' \
		"$m" >"$w.manifest"
	mdig=$(put_blob "$out" "$w.manifest")
	jq -c --arg d "$mdig" --argjson s "$(stat -c %s "$w.manifest")" \
		'.manifests[0].digest = $d | .manifests[0].size = $s' "$out/index.json" >"$w.index"
	mv "$w.index" "$out/index.json"
	rm -rf "$w" "$w".*
}

# put_blob LAYOUT FILE: FILE as a blob of LAYOUT; prints its digest.
put_blob() {
	local h
	h=$(sha256sum "$2" | cut -d' ' -f1)
	cp "$2" "$1/blobs/sha256/$h"
	echo "sha256:$h"
}

# as_user CMD...: CMD as uid:gid $U with no supplementary groups.  Through
# env: setpriv keeps root's capabilities until its own execve, so the
# lookup of a program it executes directly is done with CAP_DAC_OVERRIDE
# and reaches through any 0700 directory; env looks CMD up as $U.
as_user() {
	setpriv --reuid="$U" --regid="$U" --clear-groups -- /usr/bin/env -- "$@"
}

# start_container: pull | prepare | mount | run -d $KEY (sleep); the
# descriptor in $P/out.json.
start_container() {
	ctrk-pull -q "$SUID_REF" | ctrk-snap prepare "$KEY" | ctrk-mount |
		ctrk-run run -d "$KEY" -- sleep 1000 >"$P/out.json"
	[[ $(jq -r .container.status "$P/out.json") == running ]]
}

# assert_user_reaches PATH: the test uid can search every parent of PATH.
assert_user_reaches() {
	run as_user stat -c %a "$1"
	assert_success
}

# modes_of DIR...: "MODE PATH" of each.
modes_of() {
	stat -c '%a %n' "$@"
}

@test "an unprivileged uid reaches nothing under CTRK_ROOT and CTRK_RUN of a running container" {
	start_container
	local rootfs blob snapdir
	rootfs=$(jq -r .rootfs "$P/out.json")
	assert_equal "$rootfs" "$CTRK_RUN/$KEY/rootfs"
	[[ -u $rootfs/bin/suid-id ]]
	blob=$(store_blob "$(jq -r '.image.layers[-1].digest' "$P/out.json")")
	[[ -f $blob ]]
	snapdir=$(dirname "$(jq -r '.mounts[0].options[] | select(startswith("upperdir=")) | ltrimstr("upperdir=")' "$P/out.json")")
	[[ -d $snapdir/fs ]]

	# Control: at the same depth, in a 0755 sibling, the uid reaches
	# everything, and the setuid-root copy runs as root: were ctrk's modes
	# loose, the checks below would fail.
	mkdir -p "$P/open/sub/bin"
	chmod -R 0755 "$P/open"
	cp "$rootfs/bin/suid-id" "$P/open/sub/bin/suid-id"
	chmod 4755 "$P/open/sub/bin/suid-id"
	run as_user ls "$P/open/sub"
	assert_success
	assert_output bin
	run as_user "$P/open/sub/bin/suid-id" -u
	assert_success
	assert_output 0
	assert_user_reaches "$CTRK_ROOT"
	assert_user_reaches "$CTRK_RUN"

	# No listing, reading, stat-through, open or exec.
	run as_user ls "$CTRK_ROOT"
	assert_failure
	assert_output --partial "Permission denied"
	run as_user ls "$CTRK_RUN"
	assert_failure
	run as_user cat "$blob"
	assert_failure
	assert_output --partial "Permission denied"
	run as_user cat "$CTRK_ROOT/content/index.json"
	assert_failure
	run as_user stat "$rootfs/etc/passwd"
	assert_failure
	assert_output --partial "Permission denied"
	run as_user cat "$rootfs/etc/motd"
	assert_failure
	run as_user "$rootfs/bin/busybox" true
	assert_failure
	run as_user "$rootfs/bin/suid-id" -u
	assert_failure
	refute_output 0
	run as_user "$snapdir/fs/bin/suid-id" -u
	assert_failure
	refute_output 0
	[[ -c $rootfs/dev/priv-null ]]
	run as_user sh -c 'echo x >"$1"' sh "$rootfs/dev/priv-null"
	assert_failure
	assert_output --partial "Permission denied"
	run as_user cat "$CTRK_RUN/$KEY/config.json"
	assert_failure
	run as_user cat "$CTRK_RUN/$KEY/log"
	assert_failure

	# Nor anything else: every path ctrk keeps (the rootfs and the
	# snapshots' contents included), stat'ed by the uid, is out of reach.
	find "$CTRK_ROOT" "$CTRK_RUN" -mindepth 1 >"$P/all"
	[[ $(wc -l <"$P/all") -gt 100 ]]
	grep -qx "$rootfs/bin/suid-id" "$P/all"
	run as_user bash -c 'while IFS= read -r p; do
		if [[ -e $p || -L $p ]]; then echo "reached: $p"; fi
	done' <"$P/all"
	assert_success
	assert_output ""
	# The same script reaches the sibling: it would have said so above.
	run as_user bash -c 'while IFS= read -r p; do
		if [[ -e $p || -L $p ]]; then echo "reached: $p"; fi
	done' <<<"$P/open/sub/bin/suid-id"
	assert_output "reached: $P/open/sub/bin/suid-id"

	# The roots themselves: 0700, root's.
	assert_equal "$(stat -c '%a %u' "$CTRK_ROOT" "$CTRK_RUN" | sort -u)" "700 0"
}

@test "the setuid-root program runs as root once the modes are loose: the check above can fail" {
	start_container
	local rootfs
	rootfs=$(jq -r .rootfs "$P/out.json")
	# Loosen what an older ctrk made (0755 roots, 0711 container dir).
	chmod 0755 "$CTRK_RUN"
	chmod 0711 "$CTRK_RUN/$KEY"
	run as_user "$rootfs/bin/suid-id" -u
	assert_success
	assert_output 0
	run as_user sh -c 'echo x >"$1"' sh "$rootfs/dev/priv-null"
	assert_success
	# The next ctrk-run that opens them closes the hole, saying so once.
	ctrk-pull -q "$SUID_REF" | ctrk-snap prepare "$N-c2" | ctrk-mount >"$P/c2.json"
	run --separate-stderr ctrk-run run -d "$KEY" -- true <"$P/c2.json"
	# (the id is taken: this run fails after opening the directories)
	assert_failure
	assert_equal "$(grep -c "warning: '$CTRK_RUN/$KEY' was mode 0711: now 0700" <<<"$stderr")" 1
	run as_user "$rootfs/bin/suid-id" -u
	assert_failure
	refute_output 0
	run as_user sh -c 'echo x >"$1"' sh "$rootfs/dev/priv-null"
	assert_failure
}

@test "files and directories ctrk makes are private whatever the umask" {
	umask 0000
	start_container
	# Directories of ctrk's own (not the image's contents in fs/, rootfs/
	# and overlay's work/): 0700.  Files: 0600, except the pid file, which
	# the runtime writes itself (a temp file renamed, 0666 less the umask):
	# the directory keeps it from others.  What the runtime makes in its
	# state root ($CTRK_RUN/runtime/NAME, 0700: runc's own ID/ is 0711) is
	# the runtime's.
	run find "$CTRK_ROOT" "$CTRK_RUN" \( -name fs -o -name rootfs -o -name work \
		-o -path "$CTRK_RUN/runtime/*/*" \) -prune -o -type d ! -perm 0700 -printf '%m %p\n'
	assert_output ""
	assert_equal "$(stat -c %a "$CTRK_RUN/runtime/runc")" 700
	run find "$CTRK_ROOT" "$CTRK_RUN" \( -name fs -o -name rootfs -o -name work \
		-o -path "$CTRK_RUN/runtime/*/*" \) -prune -o -type f -perm /077 ! -path "$CTRK_RUN/$KEY/pid" \
		-printf '%m %p\n'
	assert_output ""
	[[ -s $CTRK_RUN/$KEY/config.json && -e $CTRK_RUN/$KEY/log ]]
}

@test "looser state directories are tightened, with one warning each, once" {
	mkdir -m 0755 "$CTRK_ROOT" "$CTRK_ROOT/content" "$CTRK_RUN"
	mkdir -m 0777 "$CTRK_ROOT/snapshots"
	run --separate-stderr ctrk-pull -q "$SUID_REF"
	assert_success
	assert_equal "$stderr" "ctrk-pull: warning: '$CTRK_ROOT' was mode 0755: now 0700
ctrk-pull: warning: '$CTRK_ROOT/content' was mode 0755: now 0700"
	assert_equal "$(modes_of "$CTRK_ROOT" "$CTRK_ROOT/content" "$CTRK_ROOT/snapshots")" \
		"700 $CTRK_ROOT
700 $CTRK_ROOT/content
777 $CTRK_ROOT/snapshots"
	# Again: nothing to say.
	run --separate-stderr ctrk-pull -q "$SUID_REF"
	assert_success
	assert_equal "$stderr" ""

	ctrk-pull -q "$SUID_REF" >"$P/img.json"
	run --separate-stderr ctrk-snap prepare "$KEY" <"$P/img.json"
	assert_success
	assert_equal "$stderr" "ctrk-snap: warning: '$CTRK_ROOT/snapshots' was mode 0777: now 0700"
	printf '%s\n' "$output" >"$P/snap.json"

	# $CTRK_RUN 0755, and a $CTRK_RUN/KEY an older ctrk-run made 0711.
	mkdir -m 0711 "$CTRK_RUN/$KEY"
	run --separate-stderr ctrk-mount <"$P/snap.json"
	assert_success
	assert_equal "$stderr" "ctrk-mount: warning: '$CTRK_RUN' was mode 0755: now 0700
ctrk-mount: warning: '$CTRK_RUN/$KEY' was mode 0711: now 0700"
	printf '%s\n' "$output" >"$P/mnt.json"
	assert_equal "$(modes_of "$CTRK_RUN" "$CTRK_RUN/$KEY")" "700 $CTRK_RUN
700 $CTRK_RUN/$KEY"

	run --separate-stderr ctrk-run run -d "$KEY" -- sleep 1000 <"$P/mnt.json"
	assert_success
	assert_equal "$stderr" ""
	run --separate-stderr ctrk-snap list
	assert_success
	assert_equal "$stderr" ""
}

@test "a state root that is a symlink, or owned by another user, is refused" {
	# A symlink: refused, and what it points to is left as it was.
	mkdir -m 0755 "$P/elsewhere"
	ln -s "$P/elsewhere" "$CTRK_ROOT"
	run --separate-stderr ctrk-pull -q "$SUID_REF"
	assert_failure
	assert_regex "$stderr" "^ctrk-pull: error: .*'$CTRK_ROOT' is a symbolic link: refusing to keep state there"
	assert_equal "$(modes_of "$P/elsewhere")" "755 $P/elsewhere"
	run ls -A "$P/elsewhere"
	assert_output ""
	run --separate-stderr ctrk-snap list
	assert_failure
	assert_regex "$stderr" "'$CTRK_ROOT' is a symbolic link"
	rm "$CTRK_ROOT"

	# A directory below a root, planted as a symlink.
	mkdir -m 0700 "$CTRK_ROOT"
	ln -s "$P/elsewhere" "$CTRK_ROOT/content"
	run --separate-stderr ctrk-pull -q "$SUID_REF"
	assert_failure
	assert_regex "$stderr" "'$CTRK_ROOT/content' is a symbolic link"
	run ls -A "$P/elsewhere"
	assert_output ""
	rm -r "$CTRK_ROOT"

	# Someone else's: another user may have made it to read what ctrk puts
	# there; ctrk fails closed and writes nothing into it.
	mkdir -m 0700 "$CTRK_ROOT" "$CTRK_RUN"
	chown "$U:$U" "$CTRK_ROOT" "$CTRK_RUN"
	run --separate-stderr ctrk-pull -q "$SUID_REF"
	assert_failure
	assert_regex "$stderr" "^ctrk-pull: error: .*'$CTRK_ROOT' is owned by uid $U, not by uid 0: refusing to use it"
	run ls -A "$CTRK_ROOT"
	assert_output ""
	assert_equal "$(stat -c '%a %u' "$CTRK_ROOT")" "700 $U"

	chown 0:0 "$CTRK_ROOT"
	ctrk-pull -q "$SUID_REF" | ctrk-snap prepare "$KEY" >"$P/snap.json"
	run --separate-stderr ctrk-mount <"$P/snap.json"
	assert_failure
	assert_regex "$stderr" "^ctrk-mount: error: .*'$CTRK_RUN' is owned by uid $U, not by uid 0"
	run ls -A "$CTRK_RUN"
	assert_output ""
	run mounts_under "$P"
	assert_output ""
	run --separate-stderr ctrk-run run -d --rootfs "$P" "$KEY" -- true
	assert_failure
	assert_regex "$stderr" "'$CTRK_RUN' is owned by uid $U"
	run ls -A "$CTRK_RUN"
	assert_output ""
}

@test "under umask 077 the rootfs's / is still 0755: a non-root container user reads it" {
	umask 0077
	ctrk-pull -q "$SUID_REF" | ctrk-snap prepare "$KEY" | ctrk-mount >"$P/mnt.json"
	# Private around it, public inside it, as the image says.
	assert_equal "$(modes_of "$CTRK_RUN/$KEY" "$CTRK_RUN/$KEY/rootfs")" "700 $CTRK_RUN/$KEY
755 $CTRK_RUN/$KEY/rootfs"
	run --separate-stderr ctrk-run run --rm --user 1000 "$KEY" -- ls / <"$P/mnt.json"
	assert_success
	assert_line bin
	assert_line etc
}
