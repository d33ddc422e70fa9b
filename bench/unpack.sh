#!/usr/bin/env bash
# bench/unpack.sh — how fast does ctrk-snap unpack a big image into
# snapshots, next to umoci, containerd and a plain serial tar of the layers?
#
#   bash bench/unpack.sh [--rounds N] [--ctrk-bin DIR] [--fs-size SIZE]
#                        [--prepare-runs N] [--no-containerd] [--no-cache]
#                        [--keep-going]
#
# Needs root (loop device, mounts), umoci, skopeo, tar, gzip, jq, python3,
# GNU time (installed with apt-get if missing); containerd + ctr for the
# containerd column (`apt-get install -y containerd`; without them it says
# SKIP and why).
#
# What happens:
#   * a fresh journaled ext4 on a loop device (8 GiB sparse file in /var/tmp)
#     holds everything: the image, every store, every unpacked tree;
#   * the image of bench/pull.sh (build_big_image in bench/lib.sh: 4 layers,
#     ~453 MB uncompressed, 22,505 files, one 280 MiB incompressible file) is
#     copied onto it as an OCI layout; untimed, it is pulled once into a ctrk
#     store (ctrk-pull oci:LAYOUT:big) and imported once into a private
#     containerd (skopeo -> oci-archive -> ctr images import --no-unpack);
#   * N rounds (default 3); each round runs every tool once into an empty
#     state, starting order rotated per round:
#       ctrk-snap    ctrk-snap --root R -d overlay unpack oci:LAYOUT:big
#                    (the content store stays; R/snapshots is deleted before)
#       umoci        umoci unpack --image LAYOUT:big DIR (it also writes an
#                    mtree manifest of the tree: that is part of its unpack)
#       containerd   ctr snapshots --snapshotter overlayfs unpack MANIFEST
#                    (its snapshots are removed before; RSS is the daemon's
#                    peak during the run, VmHWM reset before it, + ctr's)
#       tar-floor    tar -xzf of each layer in order into one directory,
#                    --numeric-owner -p --xattrs (serial; no whiteouts in
#                    this image, so it builds the same tree)
#     Removals and the file system's write-back happen between runs, untimed
#     (sync -f); the page cache is not dropped: every tool reads hot blobs;
#   * wall time (bash EPOCHREALTIME around GNU time), peak RSS (GNU time %M),
#     CPU (user+sys incl. children; for containerd the daemon's too);
#   * after the rounds, ctrk-snap prepare --image (a writable snapshot on the
#     unpacked image, the descriptor printed) is timed --prepare-runs times
#     (default 20) for the big image and for the small busybox fixture
#     (tests/fixtures/mkimages.sh, tag single), next to ctrk-snap --version
#     (the start-up floor: exec, dynamic linking, library init);
#   * the ctrk-snap result is verified once: prepared, mounted with
#     ctrk-mount, its file count and tests/fixtures/tree-listing.py listing
#     equal to the tar floor's;
#   * prints a table of medians and checks the targets:
#       ctrk-snap unpack <= 0.35 x containerd, <= 0.6 x tar floor,
#       ctrk-snap prepare median < 5 ms (big and small image).
#     Exit 0 even on MISS; non-zero when a run or a verification failed.
#
# CTRK_BENCH_ONLY=prepare measures only the prepare timing (and --version):
# the big image is unpacked once, untimed, instead of the rounds; no umoci,
# containerd, tar floor or result check.

set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=bench/lib.sh
. "$HERE/lib.sh"

ROUNDS=3
CTRK_BIN=${CTRK_BUILD:-$HERE/../build}/bin
FS_SIZE=8G
PREPARE_RUNS=20
NO_CONTAINERD=
KEEP_GOING=
TREE_LIST=$HERE/../tests/fixtures/tree-listing.py
MKIMAGES=$HERE/../tests/fixtures/mkimages.sh

usage() { sed -n '2,/^$/s/^# \{0,1\}//p' "$0"; }

while [ $# -gt 0 ]; do
	case $1 in
	--rounds) ROUNDS=$2; shift ;;
	--rounds=*) ROUNDS=${1#*=} ;;
	--ctrk-bin) CTRK_BIN=$2; shift ;;
	--ctrk-bin=*) CTRK_BIN=${1#*=} ;;
	--fs-size) FS_SIZE=$2; shift ;;
	--prepare-runs) PREPARE_RUNS=$2; shift ;;
	--no-containerd) NO_CONTAINERD=1 ;;
	--no-cache) export BENCH_NO_CACHE=1 ;;
	--keep-going) KEEP_GOING=1 ;;
	-h | --help) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
	shift
done
[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || bench_die "--rounds wants a positive number"
[[ $PREPARE_RUNS =~ ^[1-9][0-9]*$ ]] || bench_die "--prepare-runs wants a positive number"
ONLY=${CTRK_BENCH_ONLY:-}
case $ONLY in
'') ;;
prepare) NO_CONTAINERD=1 ROUNDS=0 ;;
*) bench_die "CTRK_BENCH_ONLY must be empty or 'prepare', not '$ONLY'" ;;
esac

bench_init
bench_need tar gzip jq sha256sum findmnt
[ -n "$ONLY" ] || bench_need umoci skopeo /usr/bin/python3
for b in ctrk-pull ctrk-snap ctrk-mount; do
	[ -x "$CTRK_BIN/$b" ] || bench_die "no $CTRK_BIN/$b (run 'make' first, or --ctrk-bin DIR)"
done
CTRK_BIN=$(cd "$CTRK_BIN" && pwd)

TOOLS=(ctrk-snap umoci)
CONTAINERD_SKIP=
if [ -z "$NO_CONTAINERD" ] && ! command -v ctr >/dev/null 2>&1; then
	# What the comparison needs is installed, like everything else here.
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends containerd >/dev/null 2>&1 ||
		(apt-get update -q >/dev/null 2>&1 &&
			DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends containerd >/dev/null 2>&1) || true
fi
if [ -n "$ONLY" ]; then
	CONTAINERD_SKIP="CTRK_BENCH_ONLY=$ONLY"
elif [ -n "$NO_CONTAINERD" ]; then
	CONTAINERD_SKIP="--no-containerd given"
elif ! command -v containerd >/dev/null 2>&1 || ! command -v ctr >/dev/null 2>&1; then
	CONTAINERD_SKIP="containerd/ctr not installed (apt-get install -y containerd)"
fi
TOOLS+=(tar-floor)

# --------------------------------------------------------------- set up

loopfs_setup "$FS_SIZE"
M=$LOOPFS_MNT
export TMPDIR=$M/tmp
# Unmount whatever a run left mounted under the scratch fs before it goes
# (registered after loopfs_cleanup, so it runs before it).
bench_on_exit "bench_umount_under '$M'"

# Measure fixed binaries even if someone rebuilds build/ meanwhile.
mkdir -p "$M/bin"
for b in ctrk-pull ctrk-snap ctrk-mount; do
	cp "$CTRK_BIN/$b" "$M/bin/$b" || bench_die "cannot copy $CTRK_BIN/$b"
done
bench_log "ctrk: $CTRK_BIN ($(stat -c 'ctrk-snap %s bytes, built %y' "$CTRK_BIN/ctrk-snap" | cut -d. -f1))"
SNAP=$M/bin/ctrk-snap
MOUNT=$M/bin/ctrk-mount

build_big_image "$BENCH_CACHE"
LAYOUT=$M/layout
cp -a "$BIG_IMAGE_DIR" "$LAYOUT" || bench_die "cannot copy the image to $LAYOUT"
REF=oci:$LAYOUT:big
MANIFEST_DIGEST=$(jq -r '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] == "big") | .digest' \
	"$LAYOUT/index.json")
MANIFEST=$LAYOUT/blobs/sha256/${MANIFEST_DIGEST#sha256:}
mapfile -t LAYER_FILES < <(jq -r '.layers[].digest | sub("^sha256:"; "")' "$MANIFEST" |
	sed "s|^|$LAYOUT/blobs/sha256/|")
LAYER_BYTES=$(cat "${LAYER_FILES[@]}" | wc -c)
bench_log "image $MANIFEST_DIGEST: ${#LAYER_FILES[@]} layers, $((LAYER_BYTES / 1000000)) MB compressed"

# The ctrk store: the blobs pulled once; every run unpacks from it.
CROOT=$M/ctrk
"$M/bin/ctrk-pull" -q --root "$CROOT" "$REF" >"$M/big.json" || bench_die "ctrk-pull $REF failed"

# containerd: a private daemon, the image imported without unpacking.
if [ -z "$CONTAINERD_SKIP" ]; then
	if ! containerd_start "$M/containerd"; then
		CONTAINERD_SKIP="containerd did not start (log: $M/containerd/containerd.log)"
	elif ! skopeo --insecure-policy copy -q "oci:$LAYOUT:big" \
		"oci-archive:$M/big.oci.tar:docker.io/bench/big:latest" >&2; then
		CONTAINERD_SKIP="skopeo could not write the oci-archive for ctr import"
	elif ! ctr -a "$CONTAINERD_SOCK" images import --no-unpack --base-name docker.io/bench/big \
		"$M/big.oci.tar" >"$M/containerd/import.log" 2>&1; then
		CONTAINERD_SKIP="ctr images import failed: $(tail -n 2 "$M/containerd/import.log" | tr '\n' ' ')"
	elif [ "$(ctr -a "$CONTAINERD_SOCK" images ls -q)" != docker.io/bench/big:latest ]; then
		CONTAINERD_SKIP="ctr images import did not name the image docker.io/bench/big:latest"
	fi
	rm -f "$M/big.oci.tar"
fi
if [ -n "$CONTAINERD_SKIP" ]; then
	bench_log "SKIP containerd: $CONTAINERD_SKIP"
	containerd_stop
else
	TOOLS=(ctrk-snap umoci containerd tar-floor)
fi
CTR=(ctr -a "${CONTAINERD_SOCK:-}" snapshots --snapshotter overlayfs)

# containerd_snapshots_rm — remove every overlayfs snapshot, children first.
containerd_snapshots_rm() {
	local i keys k
	for i in $(seq 1 20); do
		# KEY PARENT KIND; a key that is nobody's parent is a leaf.
		keys=$("${CTR[@]}" ls 2>/dev/null | awk 'NR > 1 { key[$1] = 1; if (NF == 3) parent[$2] = 1 }
			END { for (k in key) if (!(k in parent)) print k }')
		[ -z "$keys" ] && return 0
		for k in $keys; do "${CTR[@]}" rm "$k" >/dev/null 2>&1; done
	done
	return 1
}

# Warm-up (untimed): every copy of the blobs in the page cache.
cat "$LAYOUT"/blobs/sha256/* "$CROOT"/content/blobs/sha256/* >/dev/null
[ -n "${CONTAINERD_PID:-}" ] &&
	find "$M/containerd/root" -type f -path '*content*' -exec cat {} + >/dev/null
loopfs_settle
mkdir -p "$M/runs" "$M/logs"

# ----------------------------------------------------------------- runs

declare -A WALL RSS CPU
FAILED=0
UNPACKED= # the big image is unpacked in $CROOT
TAR_LIST=$M/tar-floor.list
TAR_COUNT=

# empty_state TOOL — remove what an earlier run of TOOL made (untimed).
empty_state() {
	case $1 in
	ctrk-snap) rm -rf "$CROOT/snapshots" ;;
	umoci) rm -rf "$M/runs/umoci" ;;
	containerd)
		containerd_snapshots_rm || fail_run "containerd: cannot remove its snapshots"
		[ -z "$("${CTR[@]}" ls 2>/dev/null | tail -n +2)" ] ||
			fail_run "containerd: snapshots left after removal"
		;;
	tar-floor) rm -rf "$M/runs/tar" && mkdir -p "$M/runs/tar" ;;
	esac
}

# run_tool TOOL ROUND — one timed run from an empty state.
run_tool() {
	local tool=$1 r=$2 log=$M/logs/$1.$2 rc rss cpu0=
	empty_state "$tool"
	loopfs_settle
	case $tool in
	ctrk-snap)
		bench_time "$SNAP" --root "$CROOT" -d overlay unpack "$REF" </dev/null >"$log.out" 2>"$log.err"
		;;
	umoci)
		bench_time umoci unpack --image "$LAYOUT:big" "$M/runs/umoci" >"$log.out" 2>"$log.err"
		;;
	containerd)
		proc_peak_rss_reset "$CONTAINERD_PID"
		cpu0=$(proc_cpu_s "$CONTAINERD_PID")
		bench_time "${CTR[@]}" unpack "$MANIFEST_DIGEST" >"$log.out" 2>"$log.err"
		;;
	tar-floor)
		# shellcheck disable=SC2016  # $d, $f expand in the inner shell
		bench_time bash -c 'd=$1; shift; for f; do
				tar -xzf "$f" -C "$d" --numeric-owner -p --xattrs || exit 1
			done' _ "$M/runs/tar" "${LAYER_FILES[@]}" >"$log.out" 2>"$log.err"
		;;
	esac
	rc=$?
	if [ "$rc" != 0 ]; then
		fail_run "$tool round $r: exit $rc: $(tail -n 3 "$log.err" | tr '\n' ' ')"
		return 0
	fi
	rss=$BENCH_RSS_KB
	if [ "$tool" = containerd ]; then
		# The work is done by the daemon: its peak during the run, + ctr's.
		rss=$(($(proc_peak_rss_kb "$CONTAINERD_PID") + BENCH_RSS_KB))
		BENCH_CPU=$(awk -v a="$cpu0" -v b="$(proc_cpu_s "$CONTAINERD_PID")" -v c="$BENCH_CPU" \
			'BEGIN { printf "%.2f", b - a + c }')
		[ "$("${CTR[@]}" ls | tail -n +2 | wc -l)" = "${#LAYER_FILES[@]}" ] ||
			fail_run "containerd round $r: not ${#LAYER_FILES[@]} snapshots after unpack"
	fi
	WALL[$tool]+="$BENCH_WALL "
	RSS[$tool]+="$rss "
	CPU[$tool]+="$BENCH_CPU "
	printf '  round %d  %-10s %7.3f s  %7.1f MB  cpu %6.2f s\n' "$r" "$tool" "$BENCH_WALL" \
		"$(awk -v k="$rss" 'BEGIN{print k/1024}')" "$BENCH_CPU" >&2

	case $tool in
	ctrk-snap)
		[ "$(jq -r .snapshot.kind "$log.out" 2>/dev/null)" = committed ] ||
			fail_run "ctrk-snap round $r: its output names no committed snapshot"
		;;
	tar-floor)
		# The reference for the ctrk-snap check, from the first run.
		if [ -z "$TAR_COUNT" ]; then
			TAR_COUNT=$(find "$M/runs/tar" -mindepth 1 -type f | wc -l)
			/usr/bin/python3 "$TREE_LIST" "$M/runs/tar" >"$TAR_LIST" ||
				fail_run "tree-listing.py of the tar floor failed"
		fi
		rm -rf "$M/runs/tar"
		;;
	umoci) rm -rf "$M/runs/umoci" ;;
	esac
}

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
T0=$SECONDS
if [ "$ONLY" = prepare ]; then
	TOOLS=()
	"$SNAP" --root "$CROOT" -d overlay unpack "$REF" </dev/null >/dev/null 2>"$M/unpack.err" ||
		bench_die "ctrk-snap unpack $REF failed: $(cat "$M/unpack.err")"
	UNPACKED=1
else
	bench_rounds
	[ -n "${WALL[ctrk-snap]:-}" ] && UNPACKED=1
fi
loopfs_settle
bench_log "runs done in $((SECONDS - T0)) s"
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)
if [ -n "${CONTAINERD_PID:-}" ]; then
	containerd_snapshots_rm
	containerd_stop
fi

# ----------------------------------------------- ctrk-snap prepare timing

# time_prepares ROOT REF PREFIX — PREPARE_RUNS prepares (fork + exec +
# descriptor included), medians in ms on stdout.
time_prepares() {
	local root=$1 ref=$2 p=$3 i t0 t1 ms=()
	for ((i = 1; i <= PREPARE_RUNS; i++)); do
		t0=$EPOCHREALTIME
		"$SNAP" --root "$root" prepare --image "$ref" "$p$i" </dev/null >/dev/null 2>"$M/prepare.err" || {
			fail_run "ctrk-snap prepare --image $ref $p$i: $(cat "$M/prepare.err")"
			return 1
		}
		t1=$EPOCHREALTIME
		ms+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) * 1000 }')")
	done
	echo "$(median "${ms[@]}") $(min "${ms[@]}") $(max "${ms[@]}")"
}

PREP_BIG='' PREP_SMALL='' START=''
if [ -n "$UNPACKED" ]; then
	# The floor of any ctrk-snap run: exec, dynamic linking, library init.
	ms=()
	for ((i = 1; i <= PREPARE_RUNS; i++)); do
		t0=$EPOCHREALTIME
		"$SNAP" --version >/dev/null
		t1=$EPOCHREALTIME
		ms+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) * 1000 }')")
	done
	START="$(median "${ms[@]}") $(min "${ms[@]}") $(max "${ms[@]}")"
	loopfs_settle
	PREP_BIG=$(time_prepares "$CROOT" "$REF" big-c)
	sh "$MKIMAGES" "$M/fixtures" || bench_die "mkimages.sh failed"
	SROOT=$M/ctrk-small
	SREF=oci:$M/fixtures:single
	"$M/bin/ctrk-pull" -q --root "$SROOT" "$SREF" >/dev/null || bench_die "ctrk-pull $SREF failed"
	"$SNAP" --root "$SROOT" unpack "$SREF" </dev/null >/dev/null || bench_die "ctrk-snap unpack $SREF failed"
	loopfs_settle
	PREP_SMALL=$(time_prepares "$SROOT" "$SREF" small-c)
fi

# ------------------------------------------- verify the ctrk-snap result

VERIFY=
if [ -n "${WALL[ctrk-snap]:-}" ] && [ -n "$TAR_COUNT" ]; then
	v=$M/verify
	if ! "$SNAP" --root "$CROOT" prepare --image "$REF" verify </dev/null >"$M/verify.json" 2>"$M/verify.err"; then
		fail_run "ctrk-snap prepare for the check: $(cat "$M/verify.err")"
	elif ! "$MOUNT" --target "$v" <"$M/verify.json" >/dev/null 2>"$M/verify.err"; then
		fail_run "ctrk-mount for the check: $(cat "$M/verify.err")"
	else
		count=$(find "$v" -mindepth 1 -type f | wc -l)
		/usr/bin/python3 "$TREE_LIST" "$v" >"$M/ctrk.list"
		if [ "$count" != "$TAR_COUNT" ]; then
			VERIFY="FAIL: $count files, the tar floor has $TAR_COUNT"
		elif ! diff -u "$TAR_LIST" "$M/ctrk.list" >"$M/verify.diff"; then
			VERIFY="FAIL: $count files, but tree-listing.py differs from the tar floor's: $(head -c 600 "$M/verify.diff")"
		else
			VERIFY="ok: $count files, tree identical to the tar floor's (types, modes, owners, sha256, mtimes)"
		fi
		"$MOUNT" --unmount "$v" || bench_umount_under "$v"
		"$SNAP" --root "$CROOT" remove verify >/dev/null
		case $VERIFY in FAIL*) fail_run "ctrk-snap result: $VERIFY" ;; esac
	fi
fi

# ---------------------------------------------------------------- report

bench_summarise
mb() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }

CD=${MED_W[containerd]:-}
FL=${MED_W[tar-floor]:-}
echo
echo "ctrk unpack benchmark: $BIG_IMAGE_VERSION, ${#LAYER_FILES[@]} layers, $((LAYER_BYTES / 1000000)) MB compressed, $ROUNDS rounds, journaled ext4 on loop, $(nproc) CPUs"
echo "load average (1/5/15 min) before the runs $LOAD_START, after $LOAD_END: other work on the host skews the ratios"
if [ -n "$ONLY" ]; then
	echo "CTRK_BENCH_ONLY=$ONLY: the unpack rounds were not run; ctrk $CTRK_BIN"
else
	echo "ctrk $CTRK_BIN; umoci $(umoci --version | awk '{print $3}'); containerd ${CONTAINERD_SKIP:+SKIP: $CONTAINERD_SKIP}$( [ -z "$CONTAINERD_SKIP" ] && containerd --version | awk '{print $3}')"
	echo
	printf '%-11s %9s %9s %9s %9s %8s %9s %9s\n' "" median min median max median ratio ratio
	printf '%-11s %9s %9s %9s %9s %8s %9s %9s\n' tool "wall s" "wall s" "RSS MB" "RSS MB" "CPU s" "/contd" "/floor"
	for t in ctrk-snap umoci containerd tar-floor; do
		if [ -z "${MED_W[$t]:-}" ]; then
			if [ "$t" = containerd ] && [ -n "$CONTAINERD_SKIP" ]; then
				printf '%-11s SKIP (%s)\n' "$t" "$CONTAINERD_SKIP"
			else
				printf '%-11s %9s\n' "$t" "no result"
			fi
			continue
		fi
		printf '%-11s %9.3f %9.3f %9s %9s %8.2f %9s %9s\n' "$t" "${MED_W[$t]}" "${MIN_W[$t]}" \
			"$(mb "${MED_R[$t]}")" "$(mb "${MAX_R[$t]}")" "${MED_C[$t]}" \
			"$(ratio "${MED_W[$t]}" "$CD")" "$(ratio "${MED_W[$t]}" "$FL")"
	done
	echo "(RSS in MiB; CPU = user+sys incl. children; for containerd both are the daemon's during the run"
	echo " (peak RSS, VmHWM reset before; CPU from /proc/PID/stat) plus ctr's)"
	echo "wall per run (s):"
	for t in "${TOOLS[@]}"; do printf '  %-11s %s\n' "$t" "${WALL[$t]:-}"; done
fi
echo "ctrk-snap prepare --image, $PREPARE_RUNS runs, ms (median min max):"
echo "  big image    ${PREP_BIG:-no result}"
echo "  busybox      ${PREP_SMALL:-no result}"
echo "  (ctrk-snap --version, the start-up floor: ${START:-no result})"
echo "ctrk-snap result check: ${VERIFY:-not done}"
echo

check() { # LABEL OK
	if [ "$2" = 1 ]; then printf 'PASS  %s\n' "$1"; else printf 'MISS  %s\n' "$1"; fi
}
if [ -n "${MED_W[ctrk-snap]:-}" ]; then
	C=$(printf '%.3f' "${MED_W[ctrk-snap]}")
	if [ -n "$CD" ]; then
		CD=$(printf '%.3f' "$CD")
		check "ctrk-snap unpack <= 0.35 x containerd  ($(ratio "$C" "$CD") x: $C s vs $CD s)" \
			"$(awk -v c="$C" -v s="$CD" 'BEGIN{print (c <= 0.35 * s) ? 1 : 0}')"
	else
		echo "SKIP  ctrk-snap unpack <= 0.35 x containerd  (${CONTAINERD_SKIP:-no containerd result})"
	fi
	if [ -n "$FL" ]; then
		FL=$(printf '%.3f' "$FL")
		check "ctrk-snap unpack <= 0.6 x tar floor    ($(ratio "$C" "$FL") x: $C s vs $FL s)" \
			"$(awk -v c="$C" -v f="$FL" 'BEGIN{print (c <= 0.6 * f) ? 1 : 0}')"
	fi
elif [ -z "$ONLY" ]; then
	echo "unpack targets not checked: ctrk-snap was not measured"
fi
for w in big:"$PREP_BIG" busybox:"$PREP_SMALL"; do
	v=${w#*:}
	v=${v%% *}
	[ -n "$v" ] || continue
	check "ctrk-snap prepare (${w%%:*}) < 5 ms  (median $v ms)" \
		"$(awk -v m="$v" 'BEGIN{print (m < 5) ? 1 : 0}')"
done

if [ "$FAILED" != 0 ]; then
	bench_log "some runs or verifications FAILED (logs were in $M/logs)"
	exit 1
fi
exit 0
