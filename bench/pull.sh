#!/usr/bin/env bash
# bench/pull.sh — how fast does ctrk-pull fetch a big image into an OCI
# layout, next to skopeo and a plain parallel curl of the same blobs?
#
#   bash bench/pull.sh [--rounds N] [--ctrk PATH] [--ctrk-args "ARGS"]
#                      [--curl-jobs N] [--format oci|v2s2] [--fs-size SIZE]
#                      [--no-cache] [--keep-going]
#   make bench                       (same, with the fresh build)
#
# Needs root (loop device + mount), skopeo, docker-registry, curl, jq,
# openssl, GNU time (installed with apt-get if missing).
#
# What happens:
#   * a fresh journaled ext4 on a loop device (6 GiB sparse file in /var/tmp)
#     holds everything: registry storage, every store, every download;
#   * a deterministic 4-layer image (~453 MB uncompressed, 22,505 files, one
#     280 MiB incompressible layer) is built once with awk/openssl/tar/gzip/jq
#     and cached in /var/tmp/ctrk-bench-cache, then pushed with skopeo to a
#     docker-registry on a free 127.0.0.1 port (plain HTTP);
#   * N rounds (default 5); each round runs every tool once from an empty
#     destination, starting order rotated per round:
#       ctrk-pull    ctrk-pull -q --root DIR REF          (fsyncs, counted)
#       skopeo       skopeo copy docker://REF oci:DIR:big
#       curl-floor   curl of every blob, xargs -P 4 (the floor)
#       curl+sync    the same plus sync -f (informational: the floor with
#                    the data made durable, as ctrk-pull does)
#     Between runs the destination is removed and the file system synced
#     (untimed) so one run's write-back does not land in the next run;
#     the page cache is NOT dropped, registry data stays hot.
#   * wall time (ms, bash EPOCHREALTIME around GNU time) and peak RSS (GNU
#     time %M); for the curl batch the RSS is that of the largest curl;
#   * every ctrk-pull result is verified (oci-layout, index.json naming the
#     manifest, every blob present with the right size and sha256); the
#     first skopeo and curl results are verified too;
#   * prints a table of medians and checks the targets:
#       ctrk-pull <= 0.6 x skopeo, <= 2 x curl floor, peak RSS < 20 MiB.
#     Exit 0 even on MISS; non-zero when a run or a verification failed.

set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=bench/lib.sh
. "$HERE/lib.sh"

ROUNDS=5
CTRK=${CTRK_PULL:-${CTRK_BUILD:-$HERE/../build}/bin/ctrk-pull}
CTRK_ARGS=${CTRK_PULL_ARGS:-}
CURL_JOBS=4
FORMAT=oci
FS_SIZE=6G
KEEP_GOING=

usage() { sed -n '2,/^$/s/^# \{0,1\}//p' "$0"; }

while [ $# -gt 0 ]; do
	case $1 in
	--rounds) ROUNDS=$2; shift ;;
	--rounds=*) ROUNDS=${1#*=} ;;
	--ctrk) CTRK=$2; shift ;;
	--ctrk=*) CTRK=${1#*=} ;;
	--ctrk-args) CTRK_ARGS=$2; shift ;;
	--ctrk-args=*) CTRK_ARGS=${1#*=} ;;
	--curl-jobs) CURL_JOBS=$2; shift ;;
	--format) FORMAT=$2; shift ;;
	--fs-size) FS_SIZE=$2; shift ;;
	--no-cache) export BENCH_NO_CACHE=1 ;;
	--keep-going) KEEP_GOING=1 ;;
	-h | --help) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
	shift
done
[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || bench_die "--rounds wants a positive number"
case $FORMAT in oci | v2s2) ;; *) bench_die "--format is oci or v2s2" ;; esac

bench_init
bench_need skopeo docker-registry curl jq sha256sum xargs

# ------------------------------------------------------------- the tools

TOOLS=()
CTRK_SRC=
if [ -x "$CTRK" ]; then
	CTRK=$(cd "$(dirname "$CTRK")" && pwd)/$(basename "$CTRK")
	TOOLS+=(ctrk-pull)
else
	bench_log "SKIP ctrk-pull: no binary at $CTRK (run 'make' first); measuring the others"
fi
TOOLS+=(skopeo curl-floor curl+sync)

# ---- containerd hook --------------------------------------------------------
# HOOK(containerd): not measured yet.  When `ctr` and `containerd` are
# installed, a run would start containerd with root/state on $LOOPFS_MNT and
# time `ctr -a SOCK content fetch --plain-http REF` (or `ctr images pull
# --plain-http`), then `ctr content rm` / wipe its root between runs.  Add
# "containerd" to TOOLS and a case in run_tool() below.
if command -v ctr >/dev/null 2>&1 && command -v containerd >/dev/null 2>&1; then
	bench_log "note: ctr + containerd found, but the containerd run is not implemented yet (hook in $0)"
fi
# -----------------------------------------------------------------------------

# --------------------------------------------------------------- set up

loopfs_setup "$FS_SIZE"
M=$LOOPFS_MNT
export TMPDIR=$M/tmp
if [[ " ${TOOLS[*]} " == *" ctrk-pull "* ]]; then
	# Measure one fixed binary even if someone rebuilds build/ meanwhile.
	CTRK_SRC=$CTRK
	mkdir -p "$M/bin"
	cp "$CTRK" "$M/bin/ctrk-pull" || bench_die "cannot copy $CTRK"
	CTRK=$M/bin/ctrk-pull
	bench_log "ctrk-pull: $CTRK_SRC ($(stat -c '%s bytes, built %y' "$CTRK_SRC" | cut -d. -f1))"
fi

build_big_image "$BENCH_CACHE"
registry_start "$M/registry"
REF=$REGISTRY_ADDR/bench/big:latest
bench_log "pushing $BIG_IMAGE_VERSION to $REF (format $FORMAT)"
registry_push "$BIG_IMAGE_DIR" big "$REF" "$FORMAT"

registry_manifest "$REF" "$M/manifest.json"
mapfile -t BLOBS < <(manifest_blobs "$M/manifest.json")
BLOB_BYTES=$(printf '%s\n' "${BLOBS[@]}" | awk '{s += $2} END {print s}')
ref_split "$REF"
BLOB_URL=http://$REF_HOST/v2/$REF_REPO/blobs
printf '%s\n' "${BLOBS[@]}" | cut -d' ' -f1 >"$M/blob-list"
bench_log "manifest $MANIFEST_DIGEST ($MANIFEST_TYPE): ${#BLOBS[@]} blobs, $((BLOB_BYTES / 1000000)) MB to download"

mkdir -p "$M/runs" "$M/logs"

curl_batch() { # DIR
	mkdir -p "$1"
	xargs -P "$CURL_JOBS" -I{} curl -sSf -o "$1/{}" "$BLOB_URL/{}" <"$M/blob-list"
}

# verify_curl DIR — every blob downloaded with the right hash.
verify_curl() {
	local ds d s f
	for ds in "${BLOBS[@]}"; do
		d=${ds% *} s=${ds#* } f=$1/$d
		if ! [ -f "$f" ] || [ "$(stat -c %s "$f")" != "$s" ] ||
			[ "sha256:$(sha256sum "$f" | cut -d' ' -f1)" != "$d" ]; then
			echo "curl blob $d wrong or missing"
			return 1
		fi
	done
}

# Warm-up (untimed): makes sure the registry's blobs are in the page cache
# and that the curl floor really downloads the right bytes.
bench_log "warm-up: one untimed curl batch"
curl_batch "$M/runs/warmup" || bench_die "warm-up curl failed"
verify_curl "$M/runs/warmup" || bench_die "warm-up curl verification failed"
rm -rf "$M/runs/warmup"
loopfs_settle

# ----------------------------------------------------------------- runs

declare -A WALL RSS CPU VERIFIED
FAILED=0

# run_tool TOOL ROUND — one timed run into an empty destination.
run_tool() {
	local tool=$1 r=$2 dest=$M/runs/$1 log=$M/logs/$1.$2 rc msg
	rm -rf "$dest"
	loopfs_settle
	case $tool in
	ctrk-pull)
		# shellcheck disable=SC2086
		bench_time "$CTRK" -q $CTRK_ARGS --root "$dest" "$REF" >"$log.out" 2>"$log.err"
		;;
	skopeo)
		mkdir -p "$dest"
		bench_time skopeo --insecure-policy copy -q --src-tls-verify=false \
			"docker://$REF" "oci:$dest/oci:big" >"$log.out" 2>"$log.err"
		;;
	curl-floor)
		mkdir -p "$dest"
		bench_time xargs -P "$CURL_JOBS" -I{} curl -sSf -o "$dest/{}" "$BLOB_URL/{}" \
			<"$M/blob-list" >"$log.out" 2>"$log.err"
		;;
	curl+sync)
		mkdir -p "$dest"
		# shellcheck disable=SC2016  # $1.. expand in the inner shell
		bench_time bash -c 'xargs -P "$1" -I{} curl -sSf -o "$2/{}" "$3/{}" && sync -f "$2"' \
			_ "$CURL_JOBS" "$dest" "$BLOB_URL" <"$M/blob-list" >"$log.out" 2>"$log.err"
		;;
	esac
	rc=$?
	if [ "$rc" != 0 ]; then
		fail_run "$tool round $r: exit $rc: $(tail -n 3 "$log.err" | tr '\n' ' ')"
		return 0
	fi
	WALL[$tool]+="$BENCH_WALL "
	RSS[$tool]+="$BENCH_RSS_KB "
	CPU[$tool]+="$BENCH_CPU "
	printf '  round %d  %-10s %7.3f s  %7.1f MB  cpu %6.2f s\n' "$r" "$tool" "$BENCH_WALL" \
		"$(awk -v k="$BENCH_RSS_KB" 'BEGIN{print k/1024}')" "$BENCH_CPU" >&2

	# Verification (untimed): every ctrk-pull run; the others once.
	msg=
	case $tool in
	ctrk-pull)
		msg=$(oci_verify_layout "$dest/content" "$MANIFEST_DIGEST" "${BLOBS[@]}") ||
			fail_run "ctrk-pull round $r: result does not verify: $msg"
		local d
		d=$(jq -r '.digest // .image.digest // empty' "$log.out" 2>/dev/null)
		if [ -z "$d" ]; then
			bench_log "warning: ctrk-pull printed no JSON descriptor with a digest (.digest or .image.digest) on stdout"
		elif [ "$d" != "$MANIFEST_DIGEST" ]; then
			fail_run "ctrk-pull round $r: descriptor digest $d != manifest $MANIFEST_DIGEST"
		fi
		;;
	skopeo)
		if [ -z "${VERIFIED[$tool]:-}" ]; then
			# skopeo converts a Docker schema 2 manifest to OCI: blobs only then
			local md=$MANIFEST_DIGEST
			[ "$FORMAT" = v2s2 ] && md=-
			msg=$(oci_verify_layout "$dest/oci" "$md" "${BLOBS[@]}") ||
				fail_run "skopeo result does not verify: $msg"
			VERIFIED[$tool]=1
		fi
		;;
	curl-floor | curl+sync)
		if [ -z "${VERIFIED[$tool]:-}" ]; then
			msg=$(verify_curl "$dest") || fail_run "$tool: $msg"
			VERIFIED[$tool]=1
		fi
		;;
	esac
	rm -rf "$dest"
}

T0=$SECONDS
bench_rounds
loopfs_settle
bench_log "runs done in $((SECONDS - T0)) s"

# ---------------------------------------------------------------- report

bench_summarise

SK=${MED_W[skopeo]:-}
FL=${MED_W[curl-floor]:-}
echo
echo "ctrk pull benchmark: $BIG_IMAGE_VERSION, ${#BLOBS[@]} blobs, $((BLOB_BYTES / 1000000)) MB compressed, $ROUNDS rounds, journaled ext4 on loop"
echo "ref $REF  manifest $MANIFEST_TYPE"
echo "ctrk-pull ${CTRK_SRC:-(not measured)}  args: ${CTRK_ARGS:-(default)}"
echo
mb() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
printf '%-11s %9s %9s %9s %9s %8s %9s %9s %7s\n' "" median min median max median ratio ratio ""
printf '%-11s %9s %9s %9s %9s %8s %9s %9s %7s\n' tool "wall s" "wall s" "RSS MB" "RSS MB" "CPU s" "/skopeo" "/floor" "MB/s"
for t in "${TOOLS[@]}"; do
	if [ -z "${MED_W[$t]:-}" ]; then
		printf '%-11s %9s\n' "$t" "no result"
		continue
	fi
	printf '%-11s %9.3f %9.3f %9s %9s %8.2f %9s %9s %7.0f\n' "$t" "${MED_W[$t]}" "${MIN_W[$t]}" \
		"$(mb "${MED_R[$t]}")" "$(mb "${MAX_R[$t]}")" "${MED_C[$t]}" \
		"$(ratio "${MED_W[$t]}" "$SK")" "$(ratio "${MED_W[$t]}" "$FL")" \
		"$(awk -v b="$BLOB_BYTES" -v s="${MED_W[$t]}" 'BEGIN{ if (s > 0) print b / s / 1e6; else print 0 }')"
done
echo "(MB = MiB for RSS; MB/s = 10^6 bytes of blobs per median wall second; CPU = user+sys incl. children)"
echo "wall per run (s):"
for t in "${TOOLS[@]}"; do printf '  %-11s %s\n' "$t" "${WALL[$t]:-}"; done
echo

if [ -n "${MED_W[ctrk-pull]:-}" ]; then
	check() { # LABEL OK
		if [ "$2" = 1 ]; then printf 'PASS  %s\n' "$1"; else printf 'MISS  %s\n' "$1"; fi
	}
	C=${MED_W[ctrk-pull]}
	C=$(printf '%.3f' "$C") SK=$(printf '%.3f' "$SK") FL=$(printf '%.3f' "$FL")
	CR=${MAX_R[ctrk-pull]}
	check "ctrk-pull <= 0.6 x skopeo     ($(ratio "$C" "$SK") x: $C s vs $SK s)" \
		"$(awk -v c="$C" -v s="$SK" 'BEGIN{print (s != "" && c <= 0.6 * s) ? 1 : 0}')"
	check "ctrk-pull <= 2 x curl floor   ($(ratio "$C" "$FL") x: $C s vs $FL s)" \
		"$(awk -v c="$C" -v f="$FL" 'BEGIN{print (f != "" && c <= 2 * f) ? 1 : 0}')"
	check "ctrk-pull peak RSS < 20 MiB   (max over runs $(mb "$CR") MiB)" \
		"$(awk -v k="$CR" 'BEGIN{print (k < 20 * 1024) ? 1 : 0}')"
else
	echo "targets not checked: ctrk-pull was not measured"
fi

if [ "$FAILED" != 0 ]; then
	bench_log "some runs or verifications FAILED (logs were in $M/logs)"
	exit 1
fi
exit 0
