# shellcheck shell=bash
# shellcheck disable=SC2034  # variables set here are read by the callers
# bench/lib.sh — helpers shared by the ctrk benchmark scripts (pull, unpack,
# start, ...).  Source it from bash:
#
#     . "$(dirname "$0")/lib.sh"
#     bench_init                       # traps, root check, GNU time
#     loopfs_setup 6G                  # -> $LOOPFS_MNT (fresh journaled ext4)
#     registry_start "$LOOPFS_MNT/registry"   # -> $REGISTRY_ADDR
#     build_big_image                  # -> $BIG_IMAGE_DIR (OCI layout, tag "big")
#     registry_push "$BIG_IMAGE_DIR" big "$REGISTRY_ADDR/bench/big:latest"
#     bench_time ctrk-pull --root "$LOOPFS_MNT/x" REF   # -> $BENCH_WALL $BENCH_RSS_KB
#     median 3.1 2.9 3.0               # -> 3.0
#
# Everything torn down through bench_on_exit runs on EXIT, also after a
# failure, Ctrl-C or SIGTERM, in reverse order of registration.

export LC_ALL=C   # "." decimals for EPOCHREALTIME, awk, sort -g
BENCH_CACHE=${BENCH_CACHE:-/var/tmp/ctrk-bench-cache}
BENCH_TIME=/usr/bin/time

# ---------------------------------------------------------------- messages

bench_log() { printf '%s [bench] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
bench_die() {
	printf '%s [bench] error: %s\n' "$(date +%H:%M:%S)" "$*" >&2
	exit 1
}

# ------------------------------------------------------- cleanup machinery

BENCH_CLEANUPS=()

# bench_on_exit CMD...  — run "CMD..." (one string, eval'd) at exit.
bench_on_exit() { BENCH_CLEANUPS+=("$*"); }

bench__run_cleanups() {
	local rc=$? i
	trap - EXIT INT TERM HUP
	set +e
	for ((i = ${#BENCH_CLEANUPS[@]} - 1; i >= 0; i--)); do
		eval "${BENCH_CLEANUPS[i]}"
	done
	BENCH_CLEANUPS=()
	exit "$rc"
}

# bench_init — install the traps, check for root and GNU time.
bench_init() {
	trap bench__run_cleanups EXIT
	trap 'bench_log "interrupted"; exit 130' INT
	trap 'bench_log "terminated"; exit 143' TERM HUP
	[ "$(id -u)" = 0 ] || bench_die "must run as root (loop devices, mount)"
	bench_need_gnu_time
}

bench_need_gnu_time() {
	[ -x "$BENCH_TIME" ] && return 0
	bench_log "installing GNU time (package 'time')"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q time >/dev/null 2>&1 ||
		{ apt-get update -q >/dev/null 2>&1 &&
			DEBIAN_FRONTEND=noninteractive apt-get install -y -q time >/dev/null 2>&1; } ||
		bench_die "cannot install GNU time ($BENCH_TIME)"
}

# bench_need CMD... — die unless every command exists.
bench_need() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || bench_die "required command missing: $c"
	done
}

# ------------------------------------------------------- loop ext4 scratch

# loopfs_setup [SIZE] — a fresh journaled ext4 on a loop device backed by a
# sparse file under /var/tmp.  Sets LOOPFS_IMG LOOPFS_DEV LOOPFS_MNT and
# registers loopfs_cleanup.  Inode tables and journal are initialised by
# mkfs so no ext4lazyinit thread writes behind the benchmark's back.
loopfs_setup() {
	local size=${1:-6G}
	bench_need mkfs.ext4 losetup mount umount truncate
	LOOPFS_IMG=$(mktemp /var/tmp/ctrk-bench-fs.XXXXXX.img)
	bench_on_exit loopfs_cleanup
	truncate -s "$size" "$LOOPFS_IMG"
	mkfs.ext4 -q -F -O has_journal -E lazy_itable_init=0,lazy_journal_init=0 \
		-L ctrkbench "$LOOPFS_IMG" || bench_die "mkfs.ext4 failed"
	LOOPFS_DEV=$(losetup -f --show "$LOOPFS_IMG") || bench_die "losetup failed"
	LOOPFS_MNT=$(mktemp -d /tmp/ctrk-bench-mnt.XXXXXX)
	mount -t ext4 "$LOOPFS_DEV" "$LOOPFS_MNT" || bench_die "mount $LOOPFS_DEV failed"
	LOOPFS_MOUNTED=1
	mkdir -p "$LOOPFS_MNT/tmp"
	bench_log "scratch ext4 ($size, journaled) on $LOOPFS_DEV at $LOOPFS_MNT"
}

loopfs_cleanup() {
	local i
	if [ -n "${LOOPFS_MOUNTED:-}" ]; then
		for i in 1 2 3 4 5; do
			umount "$LOOPFS_MNT" 2>/dev/null && break
			sleep 1
		done
		mountpoint -q "$LOOPFS_MNT" 2>/dev/null && umount -l "$LOOPFS_MNT"
		LOOPFS_MOUNTED=
	fi
	[ -n "${LOOPFS_MNT:-}" ] && rmdir "$LOOPFS_MNT" 2>/dev/null
	[ -n "${LOOPFS_DEV:-}" ] && losetup -d "$LOOPFS_DEV" 2>/dev/null
	[ -n "${LOOPFS_IMG:-}" ] && rm -f "$LOOPFS_IMG"
	LOOPFS_DEV='' LOOPFS_IMG='' LOOPFS_MNT=''
}

# loopfs_settle — push dirty data of the scratch fs to disk (not timed) so
# one run's write-back does not land in the next run's measurement.
# Page cache is kept: registry blobs stay hot.
loopfs_settle() { sync -f "${LOOPFS_MNT:-/}" 2>/dev/null || sync; }

# --------------------------------------------------------------- registry

# free_port — print a TCP port at 127.0.0.1 that no socket uses, in any
# state, chosen below the kernel's ephemeral range so a client connection
# cannot grab it between the check and the bind.
free_port() {
	local p i lo=10000 hi eph
	eph=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null)
	hi=${eph:-32768}
	[ "$hi" -gt $((lo + 1000)) ] || { lo=1024; hi=${eph:-32768}; }
	for i in $(seq 1 200); do
		p=$((lo + (RANDOM * 32768 + RANDOM) % (hi - lo)))
		if command -v ss >/dev/null 2>&1; then
			[ -z "$(ss -Htan "( sport = :$p or dport = :$p )" 2>/dev/null)" ] && { echo "$p"; return 0; }
		elif ! (: </dev/tcp/127.0.0.1/"$p") 2>/dev/null; then
			echo "$p"; return 0
		fi
	done
	return 1
}

# registry_start STORAGE_DIR — a docker-registry (distribution 2.x) on a
# free loopback port, no auth, plain HTTP.  Sets REGISTRY_PID REGISTRY_PORT
# REGISTRY_ADDR (host:port) and registers registry_stop.
registry_start() {
	local dir=$1 attempt
	bench_need docker-registry curl
	mkdir -p "$dir/data"
	bench_on_exit registry_stop
	for attempt in 1 2 3 4 5; do
		_registry_try_start "$dir" && return 0
		grep -q 'address already in use' "$dir/registry.log" 2>/dev/null ||
			bench_die "docker-registry did not come up: $(tail -n 5 "$dir/registry.log")"
		bench_log "port $REGISTRY_PORT taken, trying another"
	done
	bench_die "docker-registry: no usable port after 5 tries"
}

_registry_try_start() {
	local dir=$1 i
	REGISTRY_PORT=$(free_port) || bench_die "no free port"
	REGISTRY_ADDR=127.0.0.1:$REGISTRY_PORT
	cat >"$dir/config.yml" <<EOF
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $dir/data
  cache:
    blobdescriptor: inmemory
  delete:
    enabled: true
http:
  addr: $REGISTRY_ADDR
EOF
	/usr/bin/docker-registry serve "$dir/config.yml" >"$dir/registry.log" 2>&1 &
	REGISTRY_PID=$!
	for i in $(seq 1 100); do
		curl -sf -o /dev/null "http://$REGISTRY_ADDR/v2/" && break
		if ! kill -0 "$REGISTRY_PID" 2>/dev/null; then
			wait "$REGISTRY_PID" 2>/dev/null
			REGISTRY_PID=
			return 1
		fi
		sleep 0.1
	done
	curl -sf -o /dev/null "http://$REGISTRY_ADDR/v2/" || { registry_stop; return 1; }
	bench_log "docker-registry pid $REGISTRY_PID on http://$REGISTRY_ADDR (storage $dir/data)"
}

registry_stop() {
	[ -n "${REGISTRY_PID:-}" ] || return 0
	kill "$REGISTRY_PID" 2>/dev/null
	for _ in 1 2 3 4 5 6 7 8 9 10; do
		kill -0 "$REGISTRY_PID" 2>/dev/null || break
		sleep 0.2
	done
	kill -9 "$REGISTRY_PID" 2>/dev/null
	wait "$REGISTRY_PID" 2>/dev/null
	REGISTRY_PID=
}

# registry_push OCI_DIR TAG REF [FORMAT] — skopeo copy oci:OCI_DIR:TAG to
# docker://REF over plain HTTP.  FORMAT oci (default, keep the manifest as
# built) or v2s2 (convert to Docker schema 2; blobs are unchanged).
registry_push() {
	local oci=$1 tag=$2 ref=$3 fmt=${4:-oci} args=()
	[ "$fmt" = v2s2 ] && args=(--format v2s2)
	skopeo --insecure-policy copy -q --dest-tls-verify=false "${args[@]}" \
		"oci:$oci:$tag" "docker://$ref" >&2 || bench_die "skopeo push to $ref failed"
}

# ref_split REF — set REF_HOST REF_REPO REF_TAG from host:port/repo:tag.
ref_split() {
	REF_HOST=${1%%/*}
	local rest=${1#*/}
	REF_REPO=${rest%:*}
	REF_TAG=${rest##*:}
}

# registry_manifest REF OUTFILE — fetch the manifest (OCI or Docker schema
# 2) of REF; sets MANIFEST_DIGEST and MANIFEST_TYPE.
registry_manifest() {
	local ref=$1 out=$2 hdr
	ref_split "$ref"
	hdr=$(mktemp)
	curl -sSf -D "$hdr" -o "$out" \
		-H 'Accept: application/vnd.oci.image.manifest.v1+json' \
		-H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
		"http://$REF_HOST/v2/$REF_REPO/manifests/$REF_TAG" || {
		rm -f "$hdr"
		bench_die "cannot fetch manifest of $ref"
	}
	MANIFEST_DIGEST=sha256:$(sha256sum "$out" | cut -d' ' -f1)
	MANIFEST_TYPE=$(jq -r '.mediaType // empty' "$out")
	local hd
	hd=$(tr -d '\r' <"$hdr" | awk -F': ' 'tolower($1)=="docker-content-digest"{print $2}')
	rm -f "$hdr"
	[ -z "$hd" ] || [ "$hd" = "$MANIFEST_DIGEST" ] ||
		bench_die "registry digest $hd != sha256 of manifest $MANIFEST_DIGEST"
}

# manifest_blobs MANIFEST_FILE — print "digest size" for config + layers,
# largest first.
manifest_blobs() {
	jq -r '([.config] + .layers)[] | "\(.digest) \(.size)"' "$1" | sort -k2,2nr
}

# ------------------------------------------------------------ statistics

# median N... — print the median (mean of the middle two for even counts).
median() {
	printf '%s\n' "$@" | sort -g | awk '{v[NR]=$1}
		END { if (NR == 0) { print "nan"; exit }
		      if (NR % 2) print v[(NR+1)/2]; else print (v[NR/2] + v[NR/2+1]) / 2 }'
}

# max N... / min N... — print the largest / smallest value.
max() { printf '%s\n' "$@" | sort -g | tail -n1; }
min() { printf '%s\n' "$@" | sort -g | head -n1; }

# bench_time CMD... — run CMD under GNU time.  Sets BENCH_WALL (seconds,
# ms resolution, from bash's EPOCHREALTIME around the run; GNU time's own
# %e only has 10 ms) and BENCH_RSS_KB (GNU time %M: peak RSS of CMD or, for
# a shell/xargs, of its largest waited-for descendant).  Returns CMD's exit
# status.  BENCH_CPU is user+system CPU seconds (GNU time %U + %S, which
# include waited-for children).
bench_time() {
	local tf rc line t0 t1
	tf=$(mktemp)
	t0=$EPOCHREALTIME
	"$BENCH_TIME" -f '%M %U %S' -o "$tf" "$@"
	rc=$?
	t1=$EPOCHREALTIME
	line=$(tail -n1 "$tf")
	rm -f "$tf"
	BENCH_WALL=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
	read -r BENCH_RSS_KB BENCH_CPU <<<"$(awk '{ printf "%s %.2f", $1, $2 + $3 }' <<<"$line")"
	return "$rc"
}

# --------------------------------------------------------- OCI verification

# oci_verify_layout DIR MANIFEST_DIGEST "digest size"... — check an OCI
# layout: oci-layout file, index.json naming the manifest, and every blob
# (manifest + the listed ones) present with the right size and sha256.
# MANIFEST_DIGEST "-" skips the index/manifest check (for a tool that
# converts the manifest, e.g. skopeo turning Docker schema 2 into OCI).
oci_verify_layout() {
	local dir=$1 mdig=$2 ds d s f got
	shift 2
	local blobs=("$@")
	[ -f "$dir/oci-layout" ] || { echo "missing $dir/oci-layout"; return 1; }
	jq -e '.imageLayoutVersion' "$dir/oci-layout" >/dev/null 2>&1 ||
		{ echo "bad oci-layout"; return 1; }
	jq -e '.manifests | length > 0' "$dir/index.json" >/dev/null 2>&1 ||
		{ echo "index.json missing or lists no manifest"; return 1; }
	if [ "$mdig" != - ]; then
		jq -e --arg d "$mdig" 'any(.manifests[]; .digest == $d)' "$dir/index.json" >/dev/null 2>&1 ||
			{ echo "index.json does not reference $mdig"; return 1; }
		blobs=("$mdig -" "${blobs[@]}")
	fi
	for ds in "${blobs[@]}"; do
		d=${ds% *} s=${ds#* }
		f=$dir/blobs/${d%%:*}/${d#*:}
		[ -f "$f" ] || { echo "missing blob $d"; return 1; }
		if [ "$s" != - ] && [ "$(stat -c %s "$f")" != "$s" ]; then
			echo "blob $d: size $(stat -c %s "$f") != $s"
			return 1
		fi
		got=sha256:$(sha256sum "$f" | cut -d' ' -f1)
		[ "$got" = "$d" ] || { echo "blob $d: content hashes to $got"; return 1; }
	done
	return 0
}

# ------------------------------------------------------- the "big" image

# Bump when the generator changes: it keys the cache.
BIG_IMAGE_VERSION=big-v1

# build_big_image [CACHE_ROOT] — a deterministic 4-layer OCI image, tag
# "big", built with awk/openssl/tar/gzip/sha256sum/jq:
#   layer 1  9,000 small text files   (~46 MB)
#   layer 2  one 280 MiB incompressible file (AES-CTR keystream, fixed key)
#   layer 3  8,000 text files         (~57 MB)
#   layer 4  5,500 text files         (~56 MB)
# ~453 MB uncompressed, 22,505 files, ~350 MB compressed (5 blobs).  Cached under
# CACHE_ROOT/$BIG_IMAGE_VERSION (default $BENCH_CACHE); BENCH_NO_CACHE=1
# builds into $LOOPFS_MNT instead.  Sets BIG_IMAGE_DIR.
build_big_image() {
	local root=${1:-$BENCH_CACHE}
	if [ -n "${BENCH_NO_CACHE:-}" ]; then
		root=${LOOPFS_MNT:?loopfs_setup first}/image-build
	fi
	local final=$root/$BIG_IMAGE_VERSION
	BIG_IMAGE_DIR=$final/oci
	if [ -f "$final/.complete" ]; then
		bench_log "using cached image $BIG_IMAGE_DIR"
		return 0
	fi
	bench_need openssl tar gzip sha256sum jq awk
	mkdir -p "$root"
	# One builder at a time; the loser re-checks the cache.
	exec {BIG_LOCK_FD}>"$root/.lock"
	flock "$BIG_LOCK_FD"
	if [ -f "$final/.complete" ]; then
		exec {BIG_LOCK_FD}>&-
		bench_log "using cached image $BIG_IMAGE_DIR"
		return 0
	fi
	local t0=$SECONDS work=$root/.build.$$
	rm -rf "$work" "$final"
	bench_on_exit "rm -rf '$work'"
	bench_log "building image $BIG_IMAGE_VERSION (one time, cached in $root) ..."
	(
		set -e
		umask 022
		export LC_ALL=C
		mkdir -p "$work/oci/blobs/sha256" "$work/tree"
		cd "$work/tree"
		# name seed nfiles minsize range
		_big_text_tree l1 usr/share/bench 101 9000 200 16000
		_big_random_tree l2 opt/bench/data 280
		_big_text_tree l3 srv/app 103 8000 300 24000
		_big_text_tree l4 var/lib/bench 104 5500 400 36000
		local diffs=() layers=() n
		for n in l1 l2 l3 l4; do
			# shellcheck disable=SC2046  # top-level names, no "./" prefix
			tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner \
				--format=gnu -C "$n" -cf "../$n.tar" $(cd "$n" && ls -A)
			diffs+=("sha256:$(sha256sum "../$n.tar" | cut -d' ' -f1)")
			gzip -n -6 "../$n.tar"
			local dg sz
			dg=$(sha256sum "../$n.tar.gz" | cut -d' ' -f1)
			sz=$(stat -c %s "../$n.tar.gz")
			mv "../$n.tar.gz" "$work/oci/blobs/sha256/$dg"
			layers+=("sha256:$dg $sz")
			rm -rf "$n"
		done
		local cfg cdg csz m mdg msz
		cfg=$work/config.json
		printf '%s\n' "${diffs[@]}" | jq -R . | jq -cjs '{
			created: "1970-01-01T00:00:00Z",
			architecture: "amd64", os: "linux",
			config: { Env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
			          Cmd: ["/bin/sh"], WorkingDir: "/" },
			rootfs: { type: "layers", diff_ids: . } }' >"$cfg"
		cdg=$(sha256sum "$cfg" | cut -d' ' -f1)
		csz=$(stat -c %s "$cfg")
		mv "$cfg" "$work/oci/blobs/sha256/$cdg"
		m=$work/manifest.json
		printf '%s\n' "${layers[@]}" | jq -R 'split(" ") | {
				mediaType: "application/vnd.oci.image.layer.v1.tar+gzip",
				digest: .[0], size: (.[1] | tonumber) }' |
			jq -cjs --arg cd "sha256:$cdg" --argjson cs "$csz" '{
				schemaVersion: 2,
				mediaType: "application/vnd.oci.image.manifest.v1+json",
				config: { mediaType: "application/vnd.oci.image.config.v1+json",
				          digest: $cd, size: $cs },
				layers: . }' >"$m"
		mdg=$(sha256sum "$m" | cut -d' ' -f1)
		msz=$(stat -c %s "$m")
		mv "$m" "$work/oci/blobs/sha256/$mdg"
		jq -cjn --arg d "sha256:$mdg" --argjson s "$msz" '{
			schemaVersion: 2,
			manifests: [ { mediaType: "application/vnd.oci.image.manifest.v1+json",
			               digest: $d, size: $s,
			               annotations: { "org.opencontainers.image.ref.name": "big" } } ] }' \
			>"$work/oci/index.json"
		printf '{"imageLayoutVersion":"1.0.0"}' >"$work/oci/oci-layout"
	) || {
		exec {BIG_LOCK_FD}>&-
		bench_die "building the image failed"
	}
	mkdir -p "$final"
	mv "$work/oci" "$final/oci"
	rm -rf "$work"
	touch "$final/.complete"
	exec {BIG_LOCK_FD}>&-
	bench_log "image built in $((SECONDS - t0)) s: $(du -sh "$BIG_IMAGE_DIR" | cut -f1) compressed"
}

# _big_text_tree LAYERDIR SUBDIR SEED NFILES MINSIZE RANGE — NFILES text
# files (sizes MINSIZE + RANGE*r^3, varied pseudo-prose) in LAYERDIR/SUBDIR,
# 100 per directory.  Deterministic: own Park-Miller PRNG, any awk.
_big_text_tree() {
	local l=$1 sub=$2 seed=$3 n=$4 min=$5 range=$6
	mkdir -p "$l/$sub"
	seq -f "$l/$sub/d%03g" 0 $(((n - 1) / 100)) | xargs mkdir -p
	(cd "$l" && awk -v seed="$seed" -v nfiles="$n" -v minsize="$min" -v range="$range" \
		-v perdir=100 -v dir="$sub" "$_BIG_GENTEXT_AWK")
	# a few fixed files so each layer has some non-generated metadata
	mkdir -p "$l/etc"
	printf 'layer %s seed %s files %s\n' "$l" "$seed" "$n" >"$l/etc/bench-$l.conf"
}

# The text generator: a 4096-word pseudo vocabulary, 64 x 64 KiB chunks of
# Zipf-ish prose, each file a random slice of a chunk behind a unique header.
_BIG_GENTEXT_AWK='
function rnd() { X = (X * 16807) % 2147483647; return X }
function rf() { return rnd() / 2147483647 }
BEGIN {
  X = seed + 0; if (X <= 0) X = 12345
  for (i = 0; i < 50; i++) rnd()
  split("a e i o u y", V, " "); split("b c d f g h j k l m n p r s t v w z st tr ch sh qu", C, " ")
  nv = 6; nc = 23
  nw = 4096
  for (i = 1; i <= nw; i++) {
    w = ""; k = 1 + rnd() % 4
    for (j = 0; j < k; j++) w = w C[1 + rnd() % nc] V[1 + rnd() % nv]
    if (rnd() % 3 == 0) w = w C[1 + rnd() % nc]
    W[i] = w
  }
  punct[0] = "."; punct[1] = ","; punct[2] = ";"; punct[3] = ":"; punct[4] = " ="; punct[5] = "()"
  nchunks = 64; CH = 65536
  for (c = 0; c < nchunks; c++) {
    s = ""
    while (length(s) < CH) {
      line = ""
      n = 3 + rnd() % 12
      for (j = 0; j < n; j++) {
        # Zipf-ish: favour low word indices
        r = rf(); idx = 1 + int(nw * r * r * r)
        line = line (j ? " " : "") W[idx]
        if (rnd() % 9 == 0) line = line punct[rnd() % 6]
      }
      if (rnd() % 4 == 0) line = line " " rnd()
      ind = ""; d = rnd() % 4; for (j = 0; j < d; j++) ind = ind "    "
      s = s ind line "\n"
    }
    chunk[c] = s
  }
  split("txt py c h json md conf sh", EXT, " ")
  for (f = 0; f < nfiles; f++) {
    r = rf(); len = minsize + int(range * r * r * r)
    if (len > CH - 64) len = CH - 64
    c = rnd() % nchunks; off = 1 + rnd() % (CH - len)
    path = sprintf("%s/d%03d/f%05d.%s", dir, int(f / perdir), f, EXT[1 + f % 8])
    printf "# %s %d\n%s", path, rnd(), substr(chunk[c], off, len) > path
    close(path)
  }
}
'

# _big_random_tree LAYERDIR FILE MIB — one incompressible MIB MiB file.
_big_random_tree() {
	local l=$1 f=$2 mib=$3
	mkdir -p "$l/$(dirname "$f")"
	openssl enc -aes-256-ctr -pass pass:ctrk-bench-seed -nosalt -pbkdf2 </dev/zero 2>/dev/null |
		head -c $((mib * 1024 * 1024)) >"$l/$f"
	[ "$(stat -c %s "$l/$f")" = $((mib * 1024 * 1024)) ] || return 1
	printf 'random payload, %s MiB\n' "$mib" >"$l/$(dirname "$f")/README"
}

# ------------------------------------------------- mounts, containerd, RSS
# (added for bench/unpack.sh; the functions above are unchanged)

# bench_umount_under DIR — unmount every mount at or below DIR, newest
# first (lazily when one stays busy).
bench_umount_under() {
	local dir=$1 m
	[ -n "$dir" ] || return 0
	findmnt -rn -o TARGET 2>/dev/null | awk -v d="$dir" '$0 == d || index($0, d "/") == 1' |
		tac | while read -r m; do
			umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null
		done
}

# proc_peak_rss_reset PID — reset the peak RSS (VmHWM) of a running process
# (Linux >= 4.0, /proc/PID/clear_refs "5").
proc_peak_rss_reset() { echo 5 >"/proc/$1/clear_refs" 2>/dev/null; }

# proc_peak_rss_kb PID — its peak RSS in KiB since start or the last reset.
proc_peak_rss_kb() { awk '/^VmHWM:/ { print $2 }' "/proc/$1/status" 2>/dev/null; }

# containerd_start DIR — a private containerd: root, state, config and
# socket under DIR, only the plugins an image unpack needs (no CRI), its
# log in DIR/containerd.log.  Sets CONTAINERD_PID CONTAINERD_SOCK and
# registers containerd_stop.  Returns 1 (with the log's tail on stderr)
# when it does not come up within 10 s.
containerd_start() {
	local dir=$1 i
	mkdir -p "$dir/root" "$dir/state"
	CONTAINERD_SOCK=$dir/c.sock
	cat >"$dir/config.toml" <<EOT
version = 2
root = "$dir/root"
state = "$dir/state"
disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.snapshotter.v1.aufs", "io.containerd.internal.v1.tracing",
  "io.containerd.tracing.processor.v1.otlp"]
[grpc]
  address = "$CONTAINERD_SOCK"
[ttrpc]
  address = "$CONTAINERD_SOCK.ttrpc"
[debug]
  address = ""
[metrics]
  address = ""
EOT
	bench_on_exit containerd_stop
	containerd --root "$dir/root" --state "$dir/state" --address "$CONTAINERD_SOCK" \
		--config "$dir/config.toml" >"$dir/containerd.log" 2>&1 &
	CONTAINERD_PID=$!
	for i in $(seq 1 100); do
		ctr -a "$CONTAINERD_SOCK" version >/dev/null 2>&1 && {
			bench_log "containerd pid $CONTAINERD_PID on $CONTAINERD_SOCK"
			return 0
		}
		kill -0 "$CONTAINERD_PID" 2>/dev/null || break
		sleep 0.1
	done
	tail -n 5 "$dir/containerd.log" >&2
	containerd_stop
	return 1
}

containerd_stop() {
	[ -n "${CONTAINERD_PID:-}" ] || return 0
	kill "$CONTAINERD_PID" 2>/dev/null
	for _ in $(seq 1 25); do
		kill -0 "$CONTAINERD_PID" 2>/dev/null || break
		sleep 0.2
	done
	kill -9 "$CONTAINERD_PID" 2>/dev/null
	wait "$CONTAINERD_PID" 2>/dev/null
	CONTAINERD_PID=
}

# proc_cpu_s PID — user+system CPU seconds a running process has used.
proc_cpu_s() {
	awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); printf "%.2f", ($12 + $13) / hz }' \
		"/proc/$1/stat" 2>/dev/null
}

# bench_summarise: from the per-tool run lists WALL, CPU and RSS (of the
# tools in TOOLS), the medians MED_W, MED_C, MED_R and extremes MIN_W, MAX_R
# (MAX_W too).  CPU and RSS are optional.
bench_summarise() {
	declare -gA MED_W MIN_W MAX_W MED_R MAX_R MED_C
	local t
	for t in "${TOOLS[@]}"; do
		[ -n "${WALL[$t]:-}" ] || continue
		# shellcheck disable=SC2086
		MED_W[$t]=$(median ${WALL[$t]})
		# shellcheck disable=SC2086
		MIN_W[$t]=$(min ${WALL[$t]})
		# shellcheck disable=SC2086
		MAX_W[$t]=$(max ${WALL[$t]})
		# (CPU and RSS may be absent: start.sh times runs of a few ms
		# without GNU time; the medians are then empty)
		# shellcheck disable=SC2086
		MED_C[$t]=$(median ${CPU[$t]:-})
		# shellcheck disable=SC2086
		MED_R[$t]=$(median ${RSS[$t]:-})
		# shellcheck disable=SC2086
		MAX_R[$t]=$(max ${RSS[$t]:-})
	done
}

# ratio A B: A/B to two places, or "-" when either is missing.
ratio() {
	[ -n "$1" ] && [ -n "$2" ] && awk -v a="$1" -v b="$2" 'BEGIN{ if (b > 0) printf "%.2f", a / b; else print "-" }' || echo -
}

# bench_rounds: ROUNDS rounds of run_tool TOOL ROUND over TOOLS, each round
# starting one tool later, so no tool always runs first (or last).
bench_rounds() {
	local r i n=${#TOOLS[@]}
	for ((r = 1; r <= ROUNDS; r++)); do
		bench_log "round $r/$ROUNDS"
		for ((i = 0; i < n; i++)); do
			run_tool "${TOOLS[(i + r - 1) % n]}" "$r"
		done
	done
}

# bench_rounds_reversing: bench_rounds, but every second round runs the
# rows in the reverse order.  A run leaves work behind (writeback, cgroup
# and mount teardown) that the next run pays for: with one order only, each
# row would always follow the same one.
bench_rounds_reversing() {
	local r i k n=${#TOOLS[@]}
	for ((r = 1; r <= ROUNDS; r++)); do
		bench_log "round $r/$ROUNDS"
		for ((i = 0; i < n; i++)); do
			k=$(((i + r - 1) % n))
			((r % 2)) || k=$((n - 1 - k))
			run_tool "${TOOLS[k]}" "$r"
		done
	done
}

# ------------------------------------------- start-up timing, runtimes
# (added for bench/start.sh; the functions above are unchanged)

# fail_run MSG — log a failed run and set FAILED; the bench stops there
# unless $KEEP_GOING is set.
fail_run() {
	bench_log "FAIL $*"
	FAILED=1
	[ -n "${KEEP_GOING:-}" ] || exit 1
}

# bench_ms CMD... — run CMD (a command or a shell function, in this shell:
# no GNU time, no extra fork) and set BENCH_MS to its wall time in ms, µs
# resolution, from bash's EPOCHREALTIME.  Returns CMD's exit status.
bench_ms() {
	local t0 t1 rc
	t0=$EPOCHREALTIME
	"$@"
	rc=$?
	t1=$EPOCHREALTIME
	BENCH_MS=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) * 1000 }')
	return "$rc"
}

# bench_umount_below DIR — bench_umount_under, but DIR itself stays mounted
# (for a scratch fs that loopfs_cleanup unmounts).
bench_umount_below() {
	local dir=$1 m
	[ -n "$dir" ] || return 0
	findmnt -rn -o TARGET 2>/dev/null | awk -v d="$dir" 'index($0, d "/") == 1' |
		tac | while read -r m; do
			umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null
		done
}

# cgroup_hybrid — true on a hybrid cgroup host: /sys/fs/cgroup a tmpfs of
# v1 controllers plus a cgroup2 tree at /sys/fs/cgroup/unified (crun 1.8
# refuses that layout: "cgroups in hybrid mode not supported").
cgroup_hybrid() {
	[ "$(stat -f -c %T /sys/fs/cgroup 2>/dev/null)" = tmpfs ] &&
		[ "$(stat -f -c %T /sys/fs/cgroup/unified 2>/dev/null)" = cgroup2fs ]
}

# containerd_ns_clean SOCK NAMESPACE — kill and delete every task and
# container (with its snapshot) of NAMESPACE, so no shim outlives the
# daemon.  For the cleanup of a private containerd that ran containers.
containerd_ns_clean() {
	local c=(ctr -a "$1" -n "$2") id
	[ -S "$1" ] || return 0
	for id in $("${c[@]}" tasks ls -q 2>/dev/null); do
		"${c[@]}" tasks kill -s SIGKILL "$id" >/dev/null 2>&1
		"${c[@]}" tasks delete -f "$id" >/dev/null 2>&1
	done
	for id in $("${c[@]}" containers ls -q 2>/dev/null); do
		"${c[@]}" containers delete "$id" >/dev/null 2>&1
	done
}
