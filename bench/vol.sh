#!/usr/bin/env bash
# bench/vol.sh — how long it takes to create a named dir volume and to
# remove it again: `ctrk-vol create` + `ctrk-vol rm` next to Debian's
# `podman volume create` + `podman volume rm`, side by side in one run.
#
#   bash bench/vol.sh [--rounds N] [--ctrk-bin DIR] [--storage-driver D]
#                     [--fs-size SIZE] [--keep-going]
#   make bench runs it after the others
#
# --rounds defaults to $CTRK_BENCH_ROUNDS, else 20; --storage-driver (vfs,
# the default, or overlay) is podman's.  Needs root (loop device, mount),
# jq, awk and podman (installed with apt-get if missing; without it the
# podman row is SKIP and says why).  Without build/bin/ctrk-vol the ctrk
# row is n/a and the other still runs.
#
# What happens:
#   * a fresh journaled ext4 on a loop device (1 GiB sparse file in
#     /var/tmp) holds everything: CTRK_ROOT and CTRK_RUN, and podman's
#     private storage: podman --root R --runroot RR --tmpdir T
#     --storage-driver D --events-backend none, all three under the scratch
#     fs, so nothing of the host's podman (/var/lib/containers, /run) is
#     read or written.  --events-backend none spares podman one journald
#     write per command: it favours podman;
#   * one untimed podman volume ls first: podman makes its database and
#     storage layout on its first call, which is not what is measured;
#   * N rounds; each round runs every row once, starting order rotated per
#     round and reversed every second round, stdin /dev/null:
#       ctrk    ctrk-vol create NAME; ctrk-vol rm NAME   (a dir volume:
#               NAME/_data under $CTRK_ROOT/volumes, meta.json fsynced)
#       podman  podman volume create NAME; podman volume rm NAME
#               (driver "local": NAME/_data under R/volumes, a row in its
#               database)
#     each command timed on its own, create and rm shown apart and summed;
#     between them an untimed check that the volume exists (ctrk-vol exists,
#     podman volume exists), after rm one that it is gone;
#   * wall time from fork to exit, bash EPOCHREALTIME (µs), in ms; the
#     scratch fs is synced (untimed) before every round's row;
#   * prints medians and checks the target of issue 12:
#       ctrk create+rm <= 0.2 x podman create+rm
#     (the median of the per-run sums).  Exit 0 even on MISS and when
#     ctrk-vol is not built (n/a row); non-zero when a run or check failed.
#   * on exit, also after a failure or Ctrl-C, every volume the bench made
#     is removed with the scratch fs.

# shellcheck disable=SC2317  # functions run through bench_ms and traps
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=bench/lib.sh
. "$HERE/lib.sh"

ROUNDS=${CTRK_BENCH_ROUNDS:-20}
CTRK_BIN=${CTRK_BUILD:-$HERE/../build}/bin
FS_SIZE=1G
DRIVER=vfs
KEEP_GOING=

usage() { sed -n '2,/^$/s/^# \{0,1\}//p' "$0"; }

while [ $# -gt 0 ]; do
	case $1 in
	--rounds) ROUNDS=$2; shift ;;
	--rounds=*) ROUNDS=${1#*=} ;;
	--ctrk-bin) CTRK_BIN=$2; shift ;;
	--ctrk-bin=*) CTRK_BIN=${1#*=} ;;
	--storage-driver) DRIVER=$2; shift ;;
	--storage-driver=*) DRIVER=${1#*=} ;;
	--fs-size) FS_SIZE=$2; shift ;;
	--keep-going) KEEP_GOING=1 ;;
	-h | --help) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
	shift
done
[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || bench_die "--rounds (CTRK_BENCH_ROUNDS) wants a positive number"
case $DRIVER in vfs | overlay) ;; *) bench_die "--storage-driver wants vfs or overlay" ;; esac

bench_init
bench_need jq awk

declare -A NA # row -> why it has no result
if ! command -v podman >/dev/null 2>&1; then
	bench_log "installing podman (Debian's)"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends podman >/dev/null 2>&1 ||
		{ apt-get update -q >/dev/null 2>&1 &&
			DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends podman >/dev/null 2>&1; } ||
		NA[podman]="SKIP: podman not installed and apt-get install podman failed"
fi

loopfs_setup "$FS_SIZE"
M=$LOOPFS_MNT
export TMPDIR=$M/tmp
mkdir -p "$M/bin" "$M/logs"

# Measure a fixed binary even if someone rebuilds build/ meanwhile.
VOL=$M/bin/ctrk-vol
if [ -x "$CTRK_BIN/ctrk-vol" ]; then
	cp "$CTRK_BIN/ctrk-vol" "$VOL" || bench_die "cannot copy $CTRK_BIN/ctrk-vol"
	VOL_DESC="$CTRK_BIN/ctrk-vol ($(stat -c '%s bytes, built %y' "$CTRK_BIN/ctrk-vol" | cut -d. -f1))"
else
	NA[ctrk]="ctrk-vol not built: no $CTRK_BIN/ctrk-vol"
	VOL_DESC="none at $CTRK_BIN/ctrk-vol"
fi
export CTRK_ROOT=$M/ctrk CTRK_RUN=$M/run
mkdir -m 0700 "$CTRK_ROOT" "$CTRK_RUN"

# podman with a storage of its own on the scratch fs.  The podman calls of
# the cleanup run before loopfs_cleanup unmounts it (registered after).
PR=$M/podman
PODMAN=(podman --root "$PR/root" --runroot "$PR/runroot" --tmpdir "$PR/tmp"
	--storage-driver "$DRIVER" --events-backend none)
podman_clean() {
	"${PODMAN[@]}" volume rm --all --force >/dev/null 2>&1
	# the storage driver's mounts (overlay keeps one of its own dir)
	bench_umount_under "$PR"
}
if [ -z "${NA[podman]:-}" ]; then
	mkdir -p "$PR/tmp"
	bench_on_exit podman_clean
	if ! "${PODMAN[@]}" volume ls >"$M/logs/podman-init.log" 2>&1; then
		NA[podman]="SKIP: podman --storage-driver $DRIVER does not start: $(tail -n 2 "$M/logs/podman-init.log" | tr '\n' ' ')"
	fi
fi
bench_log "ctrk-vol: $VOL_DESC; CTRK_ROOT=$CTRK_ROOT CTRK_RUN=$CTRK_RUN"
bench_log "podman: ${NA[podman]:-${PODMAN[*]}}"

# ------------------------------------------------- the timed commands

FAILED=0
declare -A WALL CREATE RM CPU RSS # CPU, RSS: not measured (empty)

# one_row ROW NAME — create NAME, check it, remove it, check it is gone;
# sets C_MS and R_MS.  Returns non-zero with WHY on a failure.
one_row() {
	local row=$1 name=$2 err=$M/logs/$1.err left
	WHY=
	case $row in
	ctrk)
		bench_ms "$VOL" create "$name" </dev/null >/dev/null 2>"$err" ||
			{ WHY="ctrk-vol create $name: $(head -c 300 "$err")"; return 1; }
		C_MS=$BENCH_MS
		"$VOL" exists "$name" || { WHY="ctrk-vol exists $name after create: exit $?"; return 1; }
		bench_ms "$VOL" rm "$name" </dev/null >/dev/null 2>"$err" ||
			{ WHY="ctrk-vol rm $name: $(head -c 300 "$err")"; return 1; }
		R_MS=$BENCH_MS
		! "$VOL" exists "$name" || { WHY="ctrk-vol exists $name after rm: still there"; return 1; }
		left=$(find "$CTRK_ROOT/volumes" -mindepth 1 -maxdepth 1 ! -name .lock -printf '%f ')
		[ -z "$left" ] || { WHY="left in $CTRK_ROOT/volumes: $left"; return 1; }
		;;
	podman)
		bench_ms "${PODMAN[@]}" volume create "$name" </dev/null >/dev/null 2>"$err" ||
			{ WHY="podman volume create $name: $(head -c 300 "$err")"; return 1; }
		C_MS=$BENCH_MS
		"${PODMAN[@]}" volume exists "$name" || { WHY="podman volume exists $name after create: exit $?"; return 1; }
		[ -d "$PR/root/volumes/$name/_data" ] || { WHY="no $PR/root/volumes/$name/_data"; return 1; }
		bench_ms "${PODMAN[@]}" volume rm "$name" </dev/null >/dev/null 2>"$err" ||
			{ WHY="podman volume rm $name: $(head -c 300 "$err")"; return 1; }
		R_MS=$BENCH_MS
		! "${PODMAN[@]}" volume exists "$name" || { WHY="podman volume exists $name after rm: still there"; return 1; }
		;;
	esac
	rm -f "$err"
}

# run_tool ROW ROUND — one timed create+rm (bench_rounds_reversing calls it).
run_tool() {
	local t=$1 r=$2 name=bv$$-$2-$1
	[ -z "${NA[$t]:-}" ] || return 0
	loopfs_settle
	if ! one_row "$t" "$name"; then
		if [ "$t" = ctrk ]; then
			NA[$t]="ctrk-vol failed: round $r: $WHY"
			bench_log "n/a ctrk: ${NA[$t]}"
			"$VOL" rm --force "$name" >/dev/null 2>&1
		else
			fail_run "$t round $r: $WHY"
		fi
		unset "WALL[$t]"
		return 0
	fi
	CREATE[$t]+="$C_MS " RM[$t]+="$R_MS "
	WALL[$t]+="$(awk -v a="$C_MS" -v b="$R_MS" 'BEGIN { printf "%.3f", a + b }') "
	printf '  round %d  %-7s create %7.3f ms  rm %7.3f ms\n' "$r" "$t" "$C_MS" "$R_MS" >&2
}


TOOLS=(ctrk podman)
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
T0=$SECONDS
bench_rounds_reversing
bench_log "runs done in $((SECONDS - T0)) s"
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)

# ---------------------------------------------------------------- report

bench_summarise
declare -A MED_CREATE MED_RM
for t in "${TOOLS[@]}"; do
	# shellcheck disable=SC2086
	[ -z "${CREATE[$t]:-}" ] || MED_CREATE[$t]=$(median ${CREATE[$t]})
	# shellcheck disable=SC2086
	[ -z "${RM[$t]:-}" ] || MED_RM[$t]=$(median ${RM[$t]})
done

echo
echo "ctrk volume benchmark: create + rm of a dir volume, $ROUNDS rounds, journaled ext4 on loop, $(nproc) CPUs"
echo "load average (1/5/15 min) before the runs $LOAD_START, after $LOAD_END: other work on the host skews the ratios"
echo "ctrk-vol $VOL_DESC"
echo "podman ${NA[podman]:-$(podman --version | awk '{print $3}'), storage driver $DRIVER, private --root/--runroot/--tmpdir, --events-backend none}"
echo
printf '%-8s %9s %9s %9s %9s %9s %8s\n' "" create rm "c+rm" min max ratio
printf '%-8s %9s %9s %9s %9s %9s %8s\n' row "med ms" "med ms" "med ms" ms ms /podman
for t in "${TOOLS[@]}"; do
	if [ -z "${MED_W[$t]:-}" ] || [ -n "${NA[$t]:-}" ]; then
		printf '%-8s n/a (%s)\n' "$t" "${NA[$t]:-no result}"
		continue
	fi
	printf '%-8s %9.2f %9.2f %9.2f %9.2f %9.2f %8s\n' "$t" "${MED_CREATE[$t]}" "${MED_RM[$t]}" \
		"${MED_W[$t]}" "${MIN_W[$t]}" "${MAX_W[$t]}" "$(ratio "${MED_W[$t]}" "${MED_W[podman]:-}")"
done
echo "(wall ms from fork to exit; c+rm: the median of the per-run sums)"
echo "create+rm per run (ms):"
for t in "${TOOLS[@]}"; do
	[ -z "${NA[$t]:-}" ] && printf '  %-8s %s\n' "$t" "${WALL[$t]:-}"
done
echo

cm=${MED_W[ctrk]:-} pm=${MED_W[podman]:-}
if [ -n "${NA[ctrk]:-}" ] || [ -z "$cm" ]; then
	echo "n/a   ctrk create+rm <= 0.2 x podman  (${NA[ctrk]:-no result})"
elif [ -n "${NA[podman]:-}" ] || [ -z "$pm" ]; then
	echo "n/a   ctrk create+rm <= 0.2 x podman  (podman: ${NA[podman]:-no result})"
elif awk -v c="$cm" -v p="$pm" 'BEGIN { exit !(c <= 0.2 * p) }'; then
	printf 'PASS  ctrk create+rm <= 0.2 x podman  (%s x: %.3f ms vs %.3f ms)\n' "$(ratio "$cm" "$pm")" "$cm" "$pm"
else
	printf 'MISS  ctrk create+rm <= 0.2 x podman  (%s x: %.3f ms vs %.3f ms)\n' "$(ratio "$cm" "$pm")" "$cm" "$pm"
fi

if [ "$FAILED" != 0 ]; then
	bench_log "some runs or checks FAILED (logs were in $M/logs)"
	exit 1
fi
case ${NA[ctrk]:-} in
"ctrk-vol failed"*)
	bench_log "ctrk-vol FAILED (see the n/a row)"
	exit 1
	;;
esac
exit 0
