#!/usr/bin/env bash
# bench/start.sh — how long from command to exit for `true` in a busybox
# container: the ctrk pipeline, next to the floor (overlay mount + a bare
# OCI runtime run + umount) and containerd's `ctr run --rm`, with runc and
# with crun.
#
#   bash bench/start.sh [--rounds N] [--ctrk-bin DIR] [--fs-size SIZE]
#                       [--no-containerd] [--no-crun] [--keep-going]
#                       [--rows ROW,...] [--cpu]
#   make bench                       (same, with the fresh build)
#
# --rounds defaults to $CTRK_BENCH_ROUNDS, else 20.  --rows runs only the
# rows named (e.g. ctrk-crun,ctrk-crun-unconfined: the seccomp cost alone,
# more rounds in the same time); the others are n/a.  --cpu also measures
# the CPU time of each ctrk run (task-clock of all its processes, with
# perf stat; the wall times then include perf's own): on a host shared with
# other work a difference of 1 ms drowns in the wall times, less so in CPU.  Needs root (loop
# device, mounts), runc, busybox-static (/bin/busybox, also the image),
# jq, tar, gzip, unshare, GNU time (installed with apt-get if missing);
# crun for the crun rows, containerd + ctr for the ctr rows (both
# installed with apt-get when missing; without them: SKIP and why).
#
# What happens:
#   * a fresh journaled ext4 on a loop device (2 GiB sparse file in
#     /var/tmp) holds everything: the image, CTRK_ROOT, CTRK_RUN (a
#     directory of its own, not /run/ctrk), the bundles, containerd's root;
#     the runtimes keep their state where they always do (/run/runc,
#     /run/crun, /run/containerd/runc/ctrk-bench);
#   * the busybox image of tests/fixtures/mkimages.sh (tag single:
#     busybox-static in one layer) is written as an OCI archive named
#     docker.io/bench/busybox:latest; untimed, ctrk-pull pulls it into the
#     private CTRK_ROOT and ctrk-snap unpacks it; a private containerd
#     imports (and unpacks) it with ctr images import;
#   * N rounds; each round runs every row once, starting order rotated per
#     round and reversed every second round (bench_rounds_reversing), stdin
#     /dev/null, stdout /dev/null:
#       ctrk-RT   ctrk-snap prepare --volatile --image IMG ID | ctrk-mount |
#                 ctrk-run run --rm [--runtime crun] ID -- true;
#                 ctrk-mount --unmount $CTRK_RUN/ID/rootfs; ctrk-snap remove ID
#                 (--volatile: a throwaway container's snapshot, recorded
#                 without fsync, as ctrk-snap(1) and the README advise for
#                 run --rm)
#       ctrk-runc-sync  the same with runc and a durable snapshot (prepare
#                 without --volatile: two fsyncs in prepare, two in remove);
#                 shown, not a target
#       ctrk-runc-vol  ctrk-runc with one volume: ctrk-snap prepare ... |
#                 ctrk-vol attach benchvol:/data | ctrk-mount | ctrk-run ...
#                 (benchvol: a dir volume made once, untimed; the image has
#                 nothing at /data, which the first, untimed run records,
#                 so no run copies anything; the teardown is ctrk-runc's: a
#                 dir volume leaves nothing on the host to detach).
#                 ctrk-runc-vol minus ctrk-runc is what attaching a volume
#                 adds to a start
#       ctrk-RT-unconfined  ctrk-RT with --security-opt seccomp=unconfined:
#                 no seccomp filter.  ctrk-RT minus this row is what
#                 Docker's default profile costs a start: ctrk-run's part
#                 (the resolved filter and its program read from
#                 $CTRK_RUN/seccomp/, written into config.json) and the
#                 runtime's (runc: libseccomp compiling it for 3
#                 architectures in runc init; crun: reading the program
#                 from the annotation; both: the kernel loading it)
#       floor-RT  mount -t overlay (lowerdir = the layer ctrk-snap unpacked,
#                 an empty upper made before, untimed); RT run -b BUNDLE ID;
#                 umount.  BUNDLE is made once, `runc spec` with process
#                 ["true"], terminal false, root writable.  mount, umount
#                 and the shell below are busybox's (static: ~1 ms less
#                 than util-linux per mount+umount, so the floor is not
#                 slowed by them)
#       ctr-RT    ctr run --rm IMG ID true (runc.v2 shim; crun through
#                 --runc-binary)
#       RT-bare   RT run -b BUNDLE ID on a ready bundle (rootfs mounted once)
#     RT is runc or crun.  crun 1.8 refuses a hybrid cgroup host (v1
#     controllers + /sys/fs/cgroup/unified): there every crun call is
#       unshare -m --propagation slave busybox sh -c \
#           'umount -l /sys/fs/cgroup/unified; exec crun "$@"' crun ARGS
#     (two forks: unshare, and busybox's umount applet; the same thing
#     ctrk-run does itself).  For ctr that wrapper is a script given to
#     --runc-binary, used only if crun itself fails there (it says so);
#   * wall time from fork to exit, bash EPOCHREALTIME (µs), in ms; the
#     scratch fs is synced (untimed) before every run;
#   * one untimed run of each row first, as a check: it must exit 0 and
#     leave no mount, snapshot or container (ctrk and ctr run `echo` and
#     the output is checked); a ctrk row whose check or run fails is
#     reported as "n/a (ctrk-run failed: ...)" and the others go on;
#   * prints a table of medians and checks the targets:
#       ctrk / floor <= 1.15 (runc and crun), ctrk-runc / ctr-runc <= 0.35,
#       ctrk-RT - ctrk-RT-unconfined <= 1 ms, ctrk-runc-vol - ctrk-runc
#       <= 1 ms (the difference of the medians; the median of the
#       per-round differences is shown too: the two rows run in every
#       round, so it pairs runs made under the same load).
#     Exit 0 even on MISS, and when ctrk-run is not built yet (n/a rows);
#     non-zero when a run or a check failed.

# shellcheck disable=SC2317  # functions run through bench_ms and traps
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=bench/lib.sh
. "$HERE/lib.sh"

ROUNDS=${CTRK_BENCH_ROUNDS:-20}
CTRK_BIN=${CTRK_BUILD:-$HERE/../build}/bin
FS_SIZE=2G
NO_CONTAINERD=
NO_CRUN=
KEEP_GOING=
ROWS=
CPU_MODE=
MKIMAGES=$HERE/../tests/fixtures/mkimages.sh
BUSYBOX=${BUSYBOX:-/bin/busybox}
IMG=docker.io/bench/busybox:latest
CTR_NS=ctrk-bench
HYBRID_UMOUNT='umount -l /sys/fs/cgroup/unified; exec crun "$@"'

usage() { sed -n '2,/^$/s/^# \{0,1\}//p' "$0"; }

while [ $# -gt 0 ]; do
	case $1 in
	--rounds) ROUNDS=$2; shift ;;
	--rounds=*) ROUNDS=${1#*=} ;;
	--ctrk-bin) CTRK_BIN=$2; shift ;;
	--ctrk-bin=*) CTRK_BIN=${1#*=} ;;
	--fs-size) FS_SIZE=$2; shift ;;
	--no-containerd) NO_CONTAINERD=1 ;;
	--no-crun) NO_CRUN=1 ;;
	--keep-going) KEEP_GOING=1 ;;
	--rows) ROWS=$2; shift ;;
	--rows=*) ROWS=${1#*=} ;;
	--cpu) CPU_MODE=1 ;;
	-h | --help) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
	shift
done
[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || bench_die "--rounds (CTRK_BENCH_ROUNDS) wants a positive number"

bench_init
# A signal is handled when the timed command ends, inside its redirections
# (a file on the scratch fs): the message and the cleanups get the real
# stdout and stderr back, or the open log would keep the fs busy.
exec {STDOUT_FD}>&1 {STDERR_FD}>&2
start_on_exit() {
	local rc=$?
	exec 1>&"$STDOUT_FD" 2>&"$STDERR_FD" </dev/null
	(exit "$rc") # bench__run_cleanups exits with $?
	bench__run_cleanups
}
trap start_on_exit EXIT
trap 'bench_log "interrupted" 2>&"$STDERR_FD"; exit 130' INT
trap 'bench_log "terminated" 2>&"$STDERR_FD"; exit 143' TERM HUP
bench_need runc jq tar gzip sha256sum findmnt mountpoint unshare stat awk
[ -z "$CPU_MODE" ] || bench_need perf
[ -x "$BUSYBOX" ] || bench_die "$BUSYBOX missing (apt-get install busybox-static)"
for b in ctrk-pull ctrk-snap ctrk-mount; do
	[ -x "$CTRK_BIN/$b" ] || bench_die "no $CTRK_BIN/$b (run 'make' first, or --ctrk-bin DIR)"
done
CTRK_BIN=$(cd "$CTRK_BIN" && pwd)
unset CTRK_RUNTIME # ctrk-runc means ctrk-run's default: runc

# What the comparison needs is installed, like everything else here.
apt_install() { # PACKAGE
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$1" >/dev/null 2>&1 ||
		{ apt-get update -q >/dev/null 2>&1 &&
			DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$1" >/dev/null 2>&1; }
}
[ -n "$NO_CONTAINERD" ] || command -v ctr >/dev/null 2>&1 || apt_install containerd || true
[ -n "$NO_CRUN" ] || command -v crun >/dev/null 2>&1 || apt_install crun || true

declare -A NA # row -> why it has no result
CRUN_SKIP='' CONTAINERD_SKIP='' RUN='' CRUN=(crun) ID_PREFIX=sb$$-
if [ -n "$NO_CRUN" ]; then
	CRUN_SKIP="--no-crun given"
elif ! command -v crun >/dev/null 2>&1; then
	CRUN_SKIP="crun not installed (apt-get install -y crun)"
fi
if [ -n "$NO_CONTAINERD" ]; then
	CONTAINERD_SKIP="--no-containerd given"
elif ! command -v containerd >/dev/null 2>&1 || ! command -v ctr >/dev/null 2>&1; then
	CONTAINERD_SKIP="containerd/ctr not installed (apt-get install -y containerd)"
fi

# --------------------------------------------------------------- set up

loopfs_setup "$FS_SIZE"
M=$LOOPFS_MNT
export TMPDIR=$M/tmp
# Unmount whatever is left mounted under the scratch fs before it goes
# (registered after loopfs_cleanup, so it runs before it; not the scratch
# fs itself: loopfs_cleanup would wait 5 s for it to be unmounted) ...
bench_on_exit "bench_umount_below '$M'"
# ... and before that, delete the containers an interrupted run left.
bench_on_exit runtime_leftovers_clean

# Measure fixed binaries even if someone rebuilds build/ meanwhile.
mkdir -p "$M/bin" "$M/logs"
for b in ctrk-pull ctrk-snap ctrk-mount; do
	cp "$CTRK_BIN/$b" "$M/bin/$b" || bench_die "cannot copy $CTRK_BIN/$b"
done
PULL=$M/bin/ctrk-pull SNAP=$M/bin/ctrk-snap MOUNT=$M/bin/ctrk-mount RUN=$M/bin/ctrk-run VOL=$M/bin/ctrk-vol
if [ -x "$CTRK_BIN/ctrk-vol" ]; then
	cp "$CTRK_BIN/ctrk-vol" "$VOL" || bench_die "cannot copy $CTRK_BIN/ctrk-vol"
else
	NA[ctrk-runc-vol]="ctrk-vol failed: no binary at $CTRK_BIN/ctrk-vol (not built yet?)"
fi
CTRK_RUN_SRC=$CTRK_BIN/ctrk-run
if [ -x "$CTRK_RUN_SRC" ]; then
	cp "$CTRK_RUN_SRC" "$RUN" || bench_die "cannot copy $CTRK_RUN_SRC"
	CTRK_RUN_DESC="$CTRK_RUN_SRC ($(stat -c '%s bytes, built %y' "$CTRK_RUN_SRC" | cut -d. -f1))"
else
	NA[ctrk-runc]="ctrk-run failed: no binary at $CTRK_RUN_SRC (not built yet?)"
	NA[ctrk-crun]=${NA[ctrk-runc]}
	NA[ctrk-runc-sync]=${NA[ctrk-runc]}
	NA[ctrk-runc-unconfined]=${NA[ctrk-runc]}
	NA[ctrk-crun-unconfined]=${NA[ctrk-runc]}
	NA[ctrk-runc-vol]=${NA[ctrk-runc]}
	CTRK_RUN_DESC="none at $CTRK_RUN_SRC"
	RUN=
fi
export CTRK_ROOT=$M/ctrk CTRK_RUN=$M/run
mkdir -p -m 0700 "$CTRK_RUN" # ctrk would tighten a 0755 one, with a warning
bench_log "ctrk: $CTRK_BIN; CTRK_ROOT=$CTRK_ROOT CTRK_RUN=$CTRK_RUN; ctrk-run: $CTRK_RUN_DESC"

# The image: the fixture's busybox (tag single), as an OCI archive named IMG.
sh "$MKIMAGES" "$M/fixtures" >/dev/null || bench_die "mkimages.sh failed"
A=$M/archive
mkdir -p "$A/blobs/sha256"
MDESC=$(jq -c --arg n "$IMG" '.manifests[]
	| select(.annotations["org.opencontainers.image.ref.name"] == "single")
	| .annotations = {"org.opencontainers.image.ref.name": $n}' "$M/fixtures/index.json")
MDIG=$(jq -r .digest <<<"$MDESC")
MFILE=$M/fixtures/blobs/sha256/${MDIG#sha256:}
for d in "$MDIG" $(jq -r '.config.digest, .layers[].digest' "$MFILE"); do
	cp "$M/fixtures/blobs/sha256/${d#sha256:}" "$A/blobs/sha256/" || bench_die "blob $d missing"
done
[ "$(jq '.layers | length' "$MFILE")" = 1 ] || bench_die "the fixture 'single' is not one layer"
printf '{"imageLayoutVersion":"1.0.0"}' >"$A/oci-layout"
jq -cn --argjson m "$MDESC" '{schemaVersion: 2, manifests: [$m]}' >"$A/index.json"
ARCHIVE=$M/busybox.oci.tar
tar -C "$A" -cf "$ARCHIVE" oci-layout index.json blobs || bench_die "cannot write $ARCHIVE"
rm -rf "$A"

# ctrk: pulled and unpacked once.
"$PULL" -q "oci-archive:$ARCHIVE" >"$M/pull.json" 2>"$M/logs/pull.err" ||
	bench_die "ctrk-pull oci-archive:$ARCHIVE failed: $(cat "$M/logs/pull.err")"
"$SNAP" unpack "$IMG" </dev/null >/dev/null 2>"$M/logs/unpack.err" ||
	bench_die "ctrk-snap unpack $IMG failed: $(cat "$M/logs/unpack.err")"
# The floor's lower layer: the directory ctrk-snap unpacked the layer into.
"$SNAP" prepare --image "$IMG" probe </dev/null >"$M/probe.json" ||
	bench_die "ctrk-snap prepare --image $IMG failed"
LOWER=$(jq -r '.mounts[0].options[] | select(startswith("lowerdir=")) | sub("^lowerdir="; "")' "$M/probe.json")
"$SNAP" remove probe >/dev/null || bench_die "ctrk-snap remove probe failed"
if [ -z "$LOWER" ] || ! [ -x "$LOWER/bin/busybox" ]; then
	bench_die "no unpacked layer with bin/busybox (lowerdir '$LOWER')"
fi
bench_log "image $IMG ($MDIG), layer unpacked at $LOWER"
# The volume of ctrk-runc-vol, made once (a dir volume, the default).
if [ -z "${NA[ctrk-runc-vol]:-}" ] && ! "$VOL" create benchvol </dev/null >/dev/null 2>"$M/logs/vol.err"; then
	NA[ctrk-runc-vol]="ctrk-vol failed: create benchvol: $(head -c 300 "$M/logs/vol.err")"
fi

# The bundles: config.json `runc spec` style, made once.  floor/ gets its
# rootfs mounted by every floor run, bare/ once for good.
mk_bundle() { # DIR
	mkdir -p "$1/bundle/rootfs" "$1/up" "$1/work"
	runc spec --bundle "$1/bundle" || return 1
	jq '.process.terminal = false | .process.args = ["true"] | .root = {path: "rootfs", readonly: false}' \
		"$1/bundle/config.json" >"$1/bundle/config.json.new" &&
		mv "$1/bundle/config.json.new" "$1/bundle/config.json"
}
ovl_opts() { echo "lowerdir=$LOWER,upperdir=$1/up,workdir=$1/work"; }
F=$M/floor B=$M/bare
{ mk_bundle "$F" && mk_bundle "$B"; } || bench_die "cannot make the bundles"
FLOOR_OPTS=$(ovl_opts "$F")
"$BUSYBOX" mount -t overlay -o "$(ovl_opts "$B")" overlay "$B/bundle/rootfs" ||
	bench_die "overlay mount of $LOWER failed"

# crun, on a hybrid cgroup host in a mount namespace without cgroup2.
CRUN_NOTE=
CRUN_WRAPPER=$M/bin/crun-hybrid
if [ -z "$CRUN_SKIP" ] && cgroup_hybrid; then
	CRUN=(unshare -m --propagation slave "$BUSYBOX" sh -c "$HYBRID_UMOUNT" crun)
	CRUN_NOTE="hybrid cgroups (crun 1.8 refuses them): every crun call in the floor, bare and ctr rows is unshare -m --propagation slave $BUSYBOX sh -c '$HYBRID_UMOUNT' crun ARGS"
	printf '#!/bin/sh\nexec unshare -m --propagation slave %s sh -c %s crun "$@"\n' \
		"$BUSYBOX" "'$HYBRID_UMOUNT'" >"$CRUN_WRAPPER"
	chmod 0755 "$CRUN_WRAPPER"
fi

# runtime_leftovers_clean — delete the containers (ids $ID_PREFIX*) that an
# interrupted or failed run left, in every runtime and in ctrk-run.
runtime_leftovers_clean() {
	local id
	for id in $(runc list -q 2>/dev/null | grep "^$ID_PREFIX"); do
		runc delete -f "$id" >/dev/null 2>&1
	done
	if [ -z "$CRUN_SKIP" ]; then
		for id in $("${CRUN[@]}" list -q 2>/dev/null | grep "^$ID_PREFIX"); do
			"${CRUN[@]}" delete -f "$id" >/dev/null 2>&1
		done
	fi
	if [ -n "$RUN" ] && [ -x "$RUN" ]; then
		for id in $("$RUN" list -q 2>/dev/null | grep "^$ID_PREFIX"); do
			"$RUN" delete --force "$id" >/dev/null 2>&1
		done
	fi
}

# containerd: a private daemon, the image imported (and unpacked) once.
RUN_CONTAINERD_EXISTED=
[ -d /run/containerd ] && RUN_CONTAINERD_EXISTED=1
# the runtime directories a private daemon leaves in /run (after it stops)
containerd_rundirs_clean() {
	rmdir "/run/containerd/runc/$CTR_NS" 2>/dev/null
	[ -n "$RUN_CONTAINERD_EXISTED" ] && return 0
	rmdir /run/containerd/runc /run/containerd/fifo /run/containerd/s /run/containerd 2>/dev/null
	return 0
}
# the parent cgroup ctr run makes (/NAMESPACE/ID) in every hierarchy
ctr_cgroups_clean() {
	local d
	for d in /sys/fs/cgroup/*/"$CTR_NS" /sys/fs/cgroup/"$CTR_NS"; do
		[ -d "$d" ] && rmdir "$d" 2>/dev/null
	done
	return 0
}
CTR=() CTR_CRUN=() CTR_CRUN_NOTE=
if [ -z "$CONTAINERD_SKIP" ]; then
	bench_on_exit ctr_cgroups_clean
	bench_on_exit containerd_rundirs_clean
	if ! containerd_start "$M/containerd"; then
		CONTAINERD_SKIP="containerd did not start (log: $M/containerd/containerd.log)"
	else
		bench_on_exit "containerd_ns_clean '$CONTAINERD_SOCK' '$CTR_NS'"
		CTR=(ctr -a "$CONTAINERD_SOCK" -n "$CTR_NS")
		if ! "${CTR[@]}" images import --base-name "${IMG%:*}" "$ARCHIVE" >"$M/logs/ctr-import.log" 2>&1; then
			CONTAINERD_SKIP="ctr images import failed: $(tail -n 2 "$M/logs/ctr-import.log" | tr '\n' ' ')"
		elif ! "${CTR[@]}" images ls -q | grep -qxF "$IMG"; then
			CONTAINERD_SKIP="ctr images import did not name the image $IMG"
		fi
	fi
	[ -z "$CONTAINERD_SKIP" ] || containerd_stop
fi
[ -z "$CONTAINERD_SKIP" ] || bench_log "SKIP ctr rows: $CONTAINERD_SKIP"

# ------------------------------------------------- the timed commands

# ctrk_start RUNTIME[-sync|-unconfined|-vol] ID CMD... — the whole ctrk
# pipeline, with a volatile snapshot unless -sync, without a seccomp filter
# with -unconfined, with ctrk-vol attach benchvol:/data after prepare with
# -vol.  CTRK_PS: the exit statuses of prepare, mount and run, then of
# unmount and remove; CTRK_VOL_PS: attach's (0 without -vol).
ctrk_start() {
	local rt=$1 id=$2 ra=() pa=(--volatile) ps va='' s
	case $rt in
	*-sync) rt=${rt%-sync} pa=() ;;
	*-unconfined) rt=${rt%-unconfined} ra=(--security-opt seccomp=unconfined) ;;
	*-vol) rt=${rt%-vol} va=1 ;;
	esac
	shift 2
	[ "$rt" = runc ] || ra+=(--runtime "$rt")
	CTRK_VOL_PS=0
	if [ -z "$va" ]; then
		"$SNAP" prepare "${pa[@]}" --image "$IMG" "$id" | "$MOUNT" | "$RUN" run --rm "${ra[@]}" "$id" -- "$@"
		ps="${PIPESTATUS[*]}"
	else
		"$SNAP" prepare "${pa[@]}" --image "$IMG" "$id" | "$VOL" attach benchvol:/data |
			"$MOUNT" | "$RUN" run --rm "${ra[@]}" "$id" -- "$@"
		s=("${PIPESTATUS[@]}")
		ps="${s[0]} ${s[2]} ${s[3]}" CTRK_VOL_PS=${s[1]}
	fi
	"$MOUNT" --unmount "$CTRK_RUN/$id/rootfs"
	ps+=" $?"
	"$SNAP" remove "$id"
	CTRK_PS="$ps $?"
	[ "$CTRK_PS" = "0 0 0 0 0" ] && [ "$CTRK_VOL_PS" = 0 ]
}

# ctrk_start_cpu RUNTIME ID CMD... — ctrk_start under perf stat: CTRK_CPU,
# the CPU ms of all its processes.
ctrk_start_cpu() {
	local rc
	SNAP=$SNAP MOUNT=$MOUNT RUN=$RUN VOL=$VOL IMG=$IMG CTRK_PS_FILE=$M/logs/ps \
		perf stat -x, -e task-clock -o "$M/logs/cpu" -- \
		bash -c "$(declare -f ctrk_start)"'; ctrk_start "$@"; rc=$?; echo "$CTRK_PS" >"$CTRK_PS_FILE"; exit $rc' \
		bash "$@"
	rc=$?
	CTRK_PS=$(cat "$M/logs/ps" 2>/dev/null)
	CTRK_CPU=$(awk -F, '/task-clock/ { printf "%.3f", $1 }' "$M/logs/cpu" 2>/dev/null)
	return "$rc"
}

# floor_start RUNTIME ID — mount, a bare runtime run, umount.
floor_start() {
	local rc
	"$BUSYBOX" mount -t overlay -o "$FLOOR_OPTS" overlay "$F/bundle/rootfs" || return 125
	if [ "$1" = runc ]; then
		runc run -b "$F/bundle" "$2"
	else
		"${CRUN[@]}" run -b "$F/bundle" "$2"
	fi
	rc=$?
	"$BUSYBOX" umount "$F/bundle/rootfs" || return 125
	return "$rc"
}

# bare_start RUNTIME ID — the runtime alone on the ready bundle.
bare_start() {
	if [ "$1" = runc ]; then
		runc run -b "$B/bundle" "$2"
	else
		"${CRUN[@]}" run -b "$B/bundle" "$2"
	fi
}

# ctr_start RUNTIME ID CMD...
ctr_start() {
	local rt=$1 id=$2
	shift 2
	if [ "$rt" = runc ]; then
		"${CTR[@]}" run --rm "$IMG" "$id" "$@"
	else
		"${CTR[@]}" run --rm "${CTR_CRUN[@]}" "$IMG" "$id" "$@"
	fi
}

# start_row ROW ID [CMD...] — one start of ROW (ctrk-runc, floor-crun, ...);
# CMD for ctrk and ctr (default true; the floor and bare rows run the
# bundle's true).  Stdin /dev/null, stdout to $OUT, stderr to $ERR.
start_row() {
	local row=$1 id=$2 rt=${1#*-}
	shift 2
	[ $# -gt 0 ] || set -- true
	case $row in
	*-bare) rt=${row%-bare} ;;
	esac
	case $row in
	ctrk-*) if [ -n "$CPU_MODE" ]; then bench_ms ctrk_start_cpu "$rt" "$id" "$@"; else bench_ms ctrk_start "$rt" "$id" "$@"; fi ;;
	floor-*) bench_ms floor_start "$rt" "$id" ;;
	ctr-*) bench_ms ctr_start "$rt" "$id" "$@" ;;
	*-bare) bench_ms bare_start "$rt" "$id" ;;
	esac </dev/null >"$OUT" 2>"$ERR"
}

# leftovers ROW ID — what a finished run left behind (empty: nothing).
leftovers() {
	local row=$1 id=$2 l=
	case $row in
	ctrk-*)
		[ -e "$CTRK_RUN/$id" ] && l+="$CTRK_RUN/$id still exists; "
		"$SNAP" stat "$id" >/dev/null 2>&1 && l+="snapshot $id still exists; "
		"$RUN" state "$id" >/dev/null 2>&1 && l+="container $id still known to ctrk-run; "
		;;
	floor-*) mountpoint -q "$F/bundle/rootfs" && l+="$F/bundle/rootfs still mounted; " ;;
	ctr-*)
		"${CTR[@]}" containers ls -q | grep -qxF "$id" && l+="ctr container $id still exists; "
		[ -z "$("${CTR[@]}" snapshots ls | awk -v k="$id" '$1 == k')" ] || l+="ctr snapshot $id still exists; "
		;;
	esac
	case $row in
	*runc*) runc state "$id" >/dev/null 2>&1 && l+="runc container $id still exists; " ;;
	*crun*) "${CRUN[@]}" state "$id" >/dev/null 2>&1 && l+="crun container $id still exists; " ;;
	esac
	printf '%s' "$l"
}

# ctrk_cleanup ID — undo what a failed ctrk run left (untimed).
ctrk_cleanup() {
	"$RUN" delete --force "$1" >/dev/null 2>&1
	"$MOUNT" --unmount --lazy "$CTRK_RUN/$1/rootfs" >/dev/null 2>&1
	bench_umount_under "$CTRK_RUN/$1"
	"$SNAP" remove "$1" >/dev/null 2>&1
	rm -rf "${CTRK_RUN:?}/$1"
}

# ctrk_why — a one-line reason from the last ctrk run's statuses and stderr.
ctrk_why() {
	local s=() w=
	read -ra s <<<"${CTRK_PS:-}"
	[ "${s[0]:-0}" = 0 ] || w+="ctrk-snap prepare exit ${s[0]}, "
	[ "${CTRK_VOL_PS:-0}" = 0 ] || w+="ctrk-vol attach exit $CTRK_VOL_PS, "
	[ "${s[1]:-0}" = 0 ] || w+="ctrk-mount exit ${s[1]}, "
	[ "${s[2]:-0}" = 0 ] || w+="ctrk-run exit ${s[2]}, "
	[ "${s[3]:-0}" = 0 ] || w+="ctrk-mount --unmount exit ${s[3]}, "
	[ "${s[4]:-0}" = 0 ] || w+="ctrk-snap remove exit ${s[4]}, "
	# ctrk-run's own words first: the others often just report a closed pipe
	printf '%s%s' "$w" "$({ grep '^ctrk-run\|^ctrk-vol' "$ERR"; grep -v '^ctrk-run\|^ctrk-vol' "$ERR"; } | grep -v '^$' |
		head -n 2 | tr '\n' ' ' | cut -c1-300)"
}

FAILED=0
# row_failed ROW MSG — a ctrk row (or ctr with crun, which need not work)
# becomes n/a, the other rows go on; any other row fails the bench.
row_failed() {
	case $1 in
	ctrk-*) NA[$1]="ctrk-run failed: $2" ;;
	ctr-crun) NA[$1]="ctr with crun failed: $2" ;;
	*)
		fail_run "$1: $2"
		return 0
		;;
	esac
	unset "WALL[$1]"
	bench_log "n/a $1: ${NA[$1]}"
}

# ------------------------------------------------------------ the rows

TOOLS=(ctrk-runc ctrk-runc-unconfined ctrk-runc-sync ctrk-runc-vol floor-runc ctr-runc runc-bare)
[ -n "$CRUN_SKIP" ] || TOOLS+=(ctrk-crun ctrk-crun-unconfined floor-crun ctr-crun crun-bare)
if [ -n "$CONTAINERD_SKIP" ]; then
	NA[ctr-runc]="SKIP: $CONTAINERD_SKIP"
	NA[ctr-crun]=${NA[ctr-runc]}
fi
if [ -n "$CRUN_SKIP" ]; then
	for t in ctrk-crun ctrk-crun-unconfined floor-crun ctr-crun crun-bare; do NA[$t]="SKIP: $CRUN_SKIP"; done
fi
if [ -n "$ROWS" ]; then
	picked=()
	for t in "${TOOLS[@]}"; do
		if [[ ,$ROWS, == *,$t,* ]]; then picked+=("$t"); else NA[$t]=${NA[$t]:-"not in --rows"}; fi
	done
	[ "${#picked[@]}" -gt 0 ] || bench_die "--rows $ROWS names no row of: ${TOOLS[*]}"
	TOOLS=("${picked[@]}")
fi

# The check (untimed): each row once; ctrk and ctr echo a word.
OUT=$M/logs/check.out ERR=$M/logs/check.err
WORD=ctrk-bench-ok
for t in "${TOOLS[@]}"; do
	[ -z "${NA[$t]:-}" ] || continue
	id=${ID_PREFIX}check-$t
	if [ "$t" = ctr-crun ]; then
		# crun as it is first; through the wrapper only if that fails.
		CTR_CRUN=(--runc-binary "$(command -v crun)")
		if start_row "$t" "$id" echo "$WORD"; then
			CTR_CRUN_NOTE="ctr run --runc-binary ${CTR_CRUN[1]}: crun works directly"
		else
			why=$(grep -v '^$' "$ERR" | tail -n 1 | cut -c1-200)
			"${CTR[@]}" tasks delete -f "$id" >/dev/null 2>&1
			"${CTR[@]}" containers delete "$id" >/dev/null 2>&1
			if [ -x "$CRUN_WRAPPER" ]; then
				CTR_CRUN=(--runc-binary "$CRUN_WRAPPER")
				CTR_CRUN_NOTE="ctr run --runc-binary crun fails here ($why); ctr-crun is ctr run --runc-binary $CRUN_WRAPPER, the unshare wrapper above as a script, for every crun call of the shim"
			else
				CTR_CRUN_NOTE="ctr run --runc-binary crun fails here: $why"
				NA[$t]="ctr with crun failed: $why"
				continue
			fi
		fi
	fi
	case $t in
	*-vol) start_row "$t" "$id" sh -c "grep -q ' /data ' /proc/self/mounts && echo $WORD" ;;
	ctrk-* | ctr-*) start_row "$t" "$id" echo "$WORD" ;;
	*) start_row "$t" "$id" ;;
	esac
	rc=$?
	if [ "$rc" != 0 ]; then
		case $t in
		ctrk-*) msg=$(ctrk_why) ;;
		*) msg="exit $rc: $(grep -v '^$' "$ERR" | tail -n 2 | tr '\n' ' ' | cut -c1-300)" ;;
		esac
	else
		msg=$(leftovers "$t" "$id")
		case $t in
		ctrk-* | ctr-*) grep -qxF "$WORD" "$OUT" || msg+="the container did not print $WORD (stdout: $(head -c 200 "$OUT"))" ;;
		esac
	fi
	if [ -n "$msg" ]; then
		[ "${t%%-*}" != ctrk ] || ctrk_cleanup "$id"
		row_failed "$t" "check run: $msg"
	else
		bench_log "check $t: ok (${BENCH_MS} ms)"
	fi
done
[ -z "$CTR_CRUN_NOTE" ] || bench_log "$CTR_CRUN_NOTE"

# ----------------------------------------------------------------- runs

declare -A WALL CPU RSS # CPU: with --cpu, the ctrk rows; RSS: not measured (empty)

# run_tool ROW ROUND — one timed start (bench_rounds_reversing calls it).
run_tool() {
	local t=$1 r=$2 id=$ID_PREFIX$2-$1 rc msg
	[ -z "${NA[$t]:-}" ] || return 0
	OUT=/dev/null ERR=$M/logs/$t.$r.err
	if [ "${t%%-*}" = floor ]; then
		rm -rf "$F/up" "$F/work" && mkdir "$F/up" "$F/work"
	fi
	loopfs_settle
	start_row "$t" "$id"
	rc=$?
	if [ "$rc" != 0 ]; then
		case $t in
		ctrk-*)
			msg="round $r: $(ctrk_why)"
			ctrk_cleanup "$id"
			;;
		*) msg="round $r: exit $rc: $(tail -n 3 "$ERR" | tr '\n' ' ')" ;;
		esac
		row_failed "$t" "$msg"
		return 0
	fi
	msg=$(leftovers "$t" "$id")
	if [ -n "$msg" ]; then
		[ "${t%%-*}" != ctrk ] || ctrk_cleanup "$id"
		row_failed "$t" "round $r: $msg"
		return 0
	fi
	WALL[$t]+="$BENCH_MS "
	[ -z "$CPU_MODE" ] || [ "${t%%-*}" != ctrk ] || CPU[$t]+="$CTRK_CPU "
	printf '  round %d  %-21s %8.3f ms%s\n' "$r" "$t" "$BENCH_MS" \
		"$([ -n "$CPU_MODE" ] && [ "${t%%-*}" = ctrk ] && echo " (cpu $CTRK_CPU ms)")" >&2
	rm -f "$ERR"
}


LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
T0=$SECONDS
bench_rounds_reversing
bench_log "runs done in $((SECONDS - T0)) s"
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)

# ---------------------------------------------------------------- report

bench_summarise

echo
echo "ctrk start benchmark: \`true\` in busybox (tests/fixtures/mkimages.sh single: busybox-static, 1 layer), $ROUNDS rounds, journaled ext4 on loop, $(nproc) CPUs"
echo "load average (1/5/15 min) before the runs $LOAD_START, after $LOAD_END: other work on the host skews the ratios"
echo "runc $(runc --version | awk 'NR == 1 {print $3}'); crun ${CRUN_SKIP:+SKIP: $CRUN_SKIP}$([ -z "$CRUN_SKIP" ] && crun --version | awk 'NR == 1 {print $3}'); containerd ${CONTAINERD_SKIP:+SKIP: $CONTAINERD_SKIP}$([ -z "$CONTAINERD_SKIP" ] && containerd --version | awk '{print $3}')"
echo "ctrk $CTRK_BIN; ctrk-run $CTRK_RUN_DESC"
[ -z "$CRUN_NOTE" ] || echo "$CRUN_NOTE"
[ -z "$CTR_CRUN_NOTE" ] || echo "$CTR_CRUN_NOTE"
echo
printf '%-21s %9s %9s %9s %8s %8s\n' "" median min max ratio ratio
printf '%-21s %9s %9s %9s %8s %8s\n' row ms ms ms /floor /ctr
for t in ctrk-runc ctrk-runc-unconfined ctrk-runc-sync ctrk-runc-vol floor-runc ctr-runc runc-bare \
	ctrk-crun ctrk-crun-unconfined floor-crun ctr-crun crun-bare; do
	if [ -z "${MED_W[$t]:-}" ] || [ -n "${NA[$t]:-}" ]; then
		printf '%-21s n/a (%s)\n' "$t" "${NA[$t]:-no result}"
		continue
	fi
	rt=${t#*-}
	rt=${rt%-sync}
	rt=${rt%-unconfined}
	rt=${rt%-vol}
	[ "${t%-bare}" = "$t" ] || rt=${t%-bare}
	printf '%-21s %9.2f %9.2f %9.2f %8s %8s\n' "$t" "${MED_W[$t]}" "${MIN_W[$t]}" "${MAX_W[$t]}" \
		"$(ratio "${MED_W[$t]}" "${MED_W[floor-$rt]:-}")" "$(ratio "${MED_W[$t]}" "${MED_W[ctr-$rt]:-}")"
done
echo "(wall ms from fork to exit; /floor and /ctr against the same runtime's row)"
if [ -n "$CPU_MODE" ]; then
	for t in "${TOOLS[@]}"; do
		[ -z "${MED_C[$t]:-}" ] || printf '%-21s cpu median %.2f ms (all its processes, perf stat task-clock)\n' "$t" "${MED_C[$t]}"
	done
fi
echo "wall per run (ms):"
for t in "${TOOLS[@]}"; do
	[ -z "${NA[$t]:-}" ] && printf '  %-21s %s\n' "$t" "${WALL[$t]:-}"
done
echo

check() { # LABEL OK
	if [ "$2" = 1 ]; then printf 'PASS  %s\n' "$1"; else printf 'MISS  %s\n' "$1"; fi
}
med() { # ROW — its median (3 places), empty when it has none
	[ -n "${MED_W[$1]:-}" ] && [ -z "${NA[$1]:-}" ] && printf '%.3f' "${MED_W[$1]}"
}
for rt in runc crun; do
	cm=$(med "ctrk-$rt") fm=$(med "floor-$rt")
	if [ -z "$cm" ]; then
		echo "n/a   ctrk-$rt <= 1.15 x floor-$rt  (${NA[ctrk-$rt]:-no result})"
	elif [ -z "$fm" ]; then
		echo "n/a   ctrk-$rt <= 1.15 x floor-$rt  (floor: ${NA[floor-$rt]:-no result})"
	else
		check "ctrk-$rt <= 1.15 x floor-$rt    ($(ratio "$cm" "$fm") x: $cm ms vs $fm ms)" \
			"$(awk -v c="$cm" -v f="$fm" 'BEGIN{print (c <= 1.15 * f) ? 1 : 0}')"
	fi
done
cm=$(med ctrk-runc) dm=$(med ctr-runc)
if [ -z "$cm" ]; then
	echo "n/a   ctrk-runc <= 0.35 x ctr-runc  (${NA[ctrk-runc]:-no result})"
elif [ -z "$dm" ]; then
	echo "n/a   ctrk-runc <= 0.35 x ctr-runc  (ctr: ${NA[ctr-runc]:-no result})"
else
	check "ctrk-runc <= 0.35 x ctr-runc     ($(ratio "$cm" "$dm") x: $cm ms vs $dm ms)" \
		"$(awk -v c="$cm" -v d="$dm" 'BEGIN{print (c <= 0.35 * d) ? 1 : 0}')"
fi
cm=$(med ctrk-crun) dm=$(med ctr-crun)
[ -n "$cm" ] && [ -n "$dm" ] &&
	echo "info  ctrk-crun / ctr-crun = $(ratio "$cm" "$dm") ($cm ms vs $dm ms; not a target)"
# paired_diff ROW1 ROW2 [LIST] — the median of ROW1 - ROW2 over the rounds
# (both rows ran in each: a failed run makes its row n/a, so the lists
# align); LIST: WALL (default) or CPU.
paired_diff() {
	local -a a b
	local -n list=${3:-WALL}
	read -ra a <<<"${list[$1]:-}"
	read -ra b <<<"${list[$2]:-}"
	[ "${#a[@]}" -gt 0 ] && [ "${#a[@]}" = "${#b[@]}" ] || return 0
	for i in "${!a[@]}"; do echo "${a[i]} ${b[i]}"; done |
		awk '{print $1 - $2}' | sort -g | awk '{v[NR] = $1} END {
			m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%.3f", m }'
}
for rt in runc crun; do
	cm=$(med "ctrk-$rt") um=$(med "ctrk-$rt-unconfined")
	if [ -z "$cm" ] || [ -z "$um" ]; then
		echo "n/a   seccomp: ctrk-$rt - ctrk-$rt-unconfined <= 1 ms  (${NA[ctrk-$rt]:-${NA[ctrk-$rt-unconfined]:-no result}})"
		continue
	fi
	d=$(awk -v c="$cm" -v u="$um" 'BEGIN{printf "%.3f", c - u}')
	check "seccomp: ctrk-$rt - ctrk-$rt-unconfined <= 1 ms  ($d ms: $cm ms vs $um ms; per-round median difference $(paired_diff "ctrk-$rt" "ctrk-$rt-unconfined") ms)" \
		"$(awk -v d="$d" 'BEGIN{print (d <= 1) ? 1 : 0}')"
	if [ -n "${MED_C[ctrk-$rt]:-}" ] && [ -n "${MED_C[ctrk-$rt-unconfined]:-}" ]; then
		echo "info  seccomp CPU: ctrk-$rt - ctrk-$rt-unconfined $(awk -v c="${MED_C[ctrk-$rt]}" -v u="${MED_C[ctrk-$rt-unconfined]}" 'BEGIN{printf "%.3f", c - u}') ms (${MED_C[ctrk-$rt]} ms vs ${MED_C[ctrk-$rt-unconfined]} ms of CPU; per-round median difference $(paired_diff "ctrk-$rt" "ctrk-$rt-unconfined" CPU) ms)"
	fi
done
cm=$(med ctrk-runc) vm=$(med ctrk-runc-vol)
if [ -z "$cm" ] || [ -z "$vm" ]; then
	echo "n/a   volume: ctrk-runc-vol - ctrk-runc <= 1 ms  (${NA[ctrk-runc-vol]:-${NA[ctrk-runc]:-no result}})"
else
	d=$(awk -v c="$cm" -v v="$vm" 'BEGIN{printf "%.3f", v - c}')
	check "volume: ctrk-runc-vol - ctrk-runc <= 1 ms  ($d ms: $vm ms vs $cm ms; per-round median difference $(paired_diff ctrk-runc-vol ctrk-runc) ms)" \
		"$(awk -v d="$d" 'BEGIN{print (d <= 1) ? 1 : 0}')"
	if [ -n "${MED_C[ctrk-runc]:-}" ] && [ -n "${MED_C[ctrk-runc-vol]:-}" ]; then
		echo "info  volume CPU: ctrk-runc-vol - ctrk-runc $(awk -v c="${MED_C[ctrk-runc]}" -v v="${MED_C[ctrk-runc-vol]}" 'BEGIN{printf "%.3f", v - c}') ms (per-round median difference $(paired_diff ctrk-runc-vol ctrk-runc CPU) ms)"
	fi
fi
cm=$(med ctrk-runc-sync) fm=$(med floor-runc) dm=$(med ctr-runc)
[ -n "$cm" ] && [ -n "$fm" ] &&
	echo "info  ctrk-runc-sync (durable snapshot) / floor-runc = $(ratio "$cm" "$fm")$([ -n "$dm" ] && echo ", / ctr-runc = $(ratio "$cm" "$dm")") ($cm ms; not a target)"

if [ "$FAILED" != 0 ]; then
	bench_log "some runs or checks FAILED (logs were in $M/logs)"
	exit 1
fi
for t in ctrk-runc ctrk-runc-unconfined ctrk-runc-sync ctrk-runc-vol ctrk-crun ctrk-crun-unconfined; do
	case ${NA[$t]:-} in
	"ctrk-run failed: no binary"* | "ctrk-vol failed: no binary"*) ;;
	"ctrk-run failed"* | "ctrk-vol failed"*)
		bench_log "ctrk-run FAILED (see the n/a rows)"
		exit 1
		;;
	esac
done
exit 0
