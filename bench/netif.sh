#!/usr/bin/env bash
# bench/netif.sh — how long ctrk-netif takes to give a container its
# network and to take it away again, next to Debian's CNI bridge plugin
# run as containerd runs it, and next to the same done with `ip` commands;
# and how long `ctrk-netif gc` takes to remove 50 links killed runs left.
#
#   bash bench/netif.sh [--rounds N] [--gc-rounds N] [--gc-links N]
#                       [--ctrk-bin DIR] [--keep-going]
#   make bench                       (same, with the fresh build)
#
# --rounds defaults to $CTRK_BENCH_ROUNDS, else 20; --gc-rounds to 10,
# --gc-links to 50.  Needs root, ip (iproute2), jq, awk and Debian's
# containernetworking-plugins (bridge and static in $CNI_PATH, default
# /usr/lib/cni).  Without build/bin/ctrk-netif the ctrk rows are n/a and
# the others still run.
#
# What happens:
#   * a bridge ckb<PID>-br, up, without an address, made with ip (untimed):
#     every interface of the bench hangs on it and every address is in
#     10.219.0.0/16, inside namespaces the bench made; no traffic is sent;
#   * N rounds; each round runs every row once, starting order rotated per
#     round and reversed every second round.  A row is an ADD (namespace,
#     a veth pair whose host end is on the bridge, 10.219.R.2/24 on eth0
#     inside, eth0 up, a default route via 10.219.R.1), an untimed check of
#     that state, then a DEL and an untimed check that nothing is left:
#       ctrk  add: ctrk-netif ns add NS | ctrk-netif add veth --bridge BR
#                  --addr 10.219.1.2/24 --gateway 10.219.1.1 > D
#                  (two processes; ns add also brings lo up)
#             del: ctrk-netif del < D (removes the veth and the namespace)
#       ctrk-steps  the same, but ns add and add veth one after the other
#             (D in a file between them), each timed: where ctrk's time
#             goes (shown under ctrk, not a target)
#       cni   the bridge plugin with static IPAM, as containerd runs it:
#             exec'd with CNI_COMMAND, CNI_CONTAINERID, CNI_NETNS,
#             CNI_IFNAME=eth0, CNI_PATH, CNI_ARGS=IgnoreUnknown=1 and the
#             network configuration (cniVersion 1.0.0, the newest Debian's
#             plugins speak) on stdin; DEL gets ADD's result as prevResult,
#             as libcni passes its cached result.
#             containerd pins the namespace itself, in its own process
#             (unshare in a thread, bind mount at /var/run/netns/cni-ID),
#             and removes it itself after DEL.  The cheapest equivalent
#             from a shell is `ip netns add` / `ip netns del` (one process
#             doing the same unshare and bind mount): they are timed apart
#             from the plugin.  Row "cni" is the plugin alone: the
#             denominator of the targets, which counts the namespace on
#             ctrk's side and not on CNI's.  Row "cni+ns" adds ip netns
#             add / del (shown, not a target).  containerd also runs the
#             loopback plugin to bring lo up: not counted here either.
#       ip    add: ip netns add; ip link add H type veth peer name eth0
#             netns NS; ip link set H master BR up; ip -n NS addr add;
#             ip -n NS link set eth0 up; ip -n NS route add default via
#             (six processes; lo stays down)
#             del: ip link del H; ip netns del NS
#   * gc: per round, 50 veth pairs on the host, each host end with the
#     owner mark of ctrk-netif(1) (link group 0x6374726b, alias
#     "ctrk-netif key=KEY created=T" one hour old, one key per pair), made
#     with one ip -batch (untimed); then, rows alternating:
#       ctrk-gc   ctrk-netif gc --min-age 0 KEY... (the 50 keys: nothing
#                 else on the host is touched)
#       ip-del    ip link del H, one process per link (the reference)
#       ip-batch  ip -batch of the 50 deletes (one process, still one
#                 request and one RCU grace period per link; shown)
#       ip-group  ip link del group G: the kernel's floor, one request
#                 that unregisters all 50 in one batch (shown).  G is a
#                 group of the bench's own, not the mark: ip link del
#                 group 0x6374726b would take every run's links
#     and an untimed check that no link is left;
#   * wall time from fork to exit, bash EPOCHREALTIME (µs), in ms;
#   * prints medians and checks the targets of issue 11:
#       ctrk add <= 0.25 x cni ADD, ctrk del <= 0.5 x cni DEL,
#       gc of 50 leftover links <= 100 ms.
#     Exit 0 even on MISS and when ctrk-netif is not built (n/a rows);
#     non-zero when a run or check of cni or ip failed.
#   * on exit, also after a failure or Ctrl-C, everything the bench made
#     is removed: its namespaces, its links, its bridge.

# shellcheck disable=SC2317  # functions run through bench_ms and traps
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=bench/lib.sh
. "$HERE/lib.sh"

ROUNDS=${CTRK_BENCH_ROUNDS:-20}
GC_ROUNDS=10
GC_LINKS=50
CTRK_BIN=${CTRK_BUILD:-$HERE/../build}/bin
CNI_DIR=${CNI_PATH:-/usr/lib/cni}
KEEP_GOING=

usage() { sed -n '2,/^$/s/^# \{0,1\}//p' "$0"; }

while [ $# -gt 0 ]; do
	case $1 in
	--rounds) ROUNDS=$2; shift ;;
	--rounds=*) ROUNDS=${1#*=} ;;
	--gc-rounds) GC_ROUNDS=$2; shift ;;
	--gc-rounds=*) GC_ROUNDS=${1#*=} ;;
	--gc-links) GC_LINKS=$2; shift ;;
	--gc-links=*) GC_LINKS=${1#*=} ;;
	--ctrk-bin) CTRK_BIN=$2; shift ;;
	--ctrk-bin=*) CTRK_BIN=${1#*=} ;;
	--keep-going) KEEP_GOING=1 ;;
	-h | --help) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
	shift
done
[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || bench_die "--rounds (CTRK_BENCH_ROUNDS) wants a positive number"
[[ $GC_ROUNDS =~ ^[0-9]+$ ]] || bench_die "--gc-rounds wants a number"
{ [[ $GC_LINKS =~ ^[1-9][0-9]*$ ]] && [ "$GC_LINKS" -le 1000 ]; } || bench_die "--gc-links wants 1-1000"

bench_init
bench_need ip jq awk
for p in bridge static; do
	[ -x "$CNI_DIR/$p" ] ||
		bench_die "no CNI plugin $CNI_DIR/$p (apt-get install containernetworking-plugins, or set CNI_PATH)"
done

# Names: everything the bench makes carries its pid, so that two benches,
# or the test suite, never see each other's; link names stay <= 15 bytes.
P=ckb$$-                # links: ${P}br, ${P}i<R> (ip row), ${P}g<N> (gc);
                        # the dash: bench 95's names are no prefix of 951's
NSP=ctrkbench-$$        # namespaces: $NSP-<row><R>; keys: the same
BR=${P}br
M=$(mktemp -d /tmp/ctrk-bench-netif.XXXXXX)
bench_on_exit "rm -rf '$M'"

declare -A NA # row -> why it has no result
# Measure a fixed binary even if someone rebuilds build/ meanwhile.
NETIF=$M/ctrk-netif
if [ -x "$CTRK_BIN/ctrk-netif" ]; then
	cp "$CTRK_BIN/ctrk-netif" "$NETIF" || bench_die "cannot copy $CTRK_BIN/ctrk-netif"
	CTRK_DESC="$CTRK_BIN/ctrk-netif ($(stat -c '%s bytes, built %y' "$CTRK_BIN/ctrk-netif" | cut -d. -f1))"
else
	NA[ctrk]="no binary at $CTRK_BIN/ctrk-netif (not built yet?)"
	NA[ctrk-gc]=${NA[ctrk]}
	NA[ctrk-steps]=${NA[ctrk]}
	CTRK_DESC="none at $CTRK_BIN/ctrk-netif"
fi

# ------------------------------------------------------------- cleanup

# What the bench made, by its names only.  Namespaces first: that takes
# the veth pairs inside them along.
netif_bench_clean() {
	local f l
	for f in /run/netns/"$NSP"-*; do
		[ -e "$f" ] || continue
		ip netns del "${f##*/}" 2>/dev/null || { umount "$f" 2>/dev/null; rm -f "$f"; }
	done
	# Links named by the bench, and links marked with one of its keys
	# (ctrk-netif's host ends, named from the key), the bridge last.
	for l in $(ip -j link show 2>/dev/null | jq -r --arg p "$P" --arg k "key=$NSP-" '.[]
		| select((.ifname | startswith($p)) or ((.ifalias // "") | contains($k)))
		| select(.ifname != ($p + "br")) | .ifname'); do
		ip link del "$l" 2>/dev/null
	done
	# The bridge's remaining ports: the host ends of this run's veths.
	for l in $(ip -j link show master "$BR" 2>/dev/null | jq -r '.[].ifname'); do
		ip link del "$l" 2>/dev/null
	done
	ip link del "$BR" 2>/dev/null
	return 0
}
bench_on_exit netif_bench_clean
netif_bench_clean # an earlier bench of the same pid, however unlikely

ip link add "$BR" type bridge || bench_die "cannot create bridge $BR"
ip link set "$BR" up || bench_die "cannot set $BR up"
bench_log "bridge $BR; ctrk-netif: $CTRK_DESC; CNI plugins in $CNI_DIR"

# ------------------------------------------------- the timed commands

# Row R's addresses: 10.219.R.2/24 on eth0, gateway 10.219.R.1 (the
# gateway need not exist: nothing is sent).
row_net() { # ROW
	case $1 in
	ctrk) NET=1 ;; cni) NET=2 ;; ip) NET=3 ;; ctrk-steps) NET=4 ;;
	esac
	ADDR=10.219.$NET.2/24 GW=10.219.$NET.1
}

ctrk_add() { # NS
	"$NETIF" -q ns add "$1" </dev/null |
		"$NETIF" -q add veth --bridge "$BR" --addr "$ADDR" --gateway "$GW" >"$M/ctrk.json"
	CTRK_PS="${PIPESTATUS[*]}"
	[ "$CTRK_PS" = "0 0" ]
}
ctrk_ns_add() { "$NETIF" -q ns add "$1" </dev/null >"$M/ctrk-ns.json"; }
ctrk_add_veth() {
	"$NETIF" -q add veth --bridge "$BR" --addr "$ADDR" --gateway "$GW" <"$M/ctrk-ns.json" >"$M/ctrk.json"
}
ctrk_del() {
	"$NETIF" -q del <"$M/ctrk.json" >"$M/ctrk-del.json"
}

# cni_exec COMMAND NS CONF — the plugin as libcni execs it.
cni_exec() {
	CNI_COMMAND=$1 CNI_CONTAINERID=$2 CNI_NETNS=/run/netns/$2 CNI_IFNAME=eth0 \
		CNI_PATH=$CNI_DIR CNI_ARGS=IgnoreUnknown=1 "$CNI_DIR/bridge" <"$3"
}
cni_conf() { # -> $M/cni-add.json
	jq -cn --arg br "$BR" --arg a "$ADDR" --arg gw "$GW" '{
		cniVersion: "1.0.0", name: "ctrkbench", type: "bridge", bridge: $br,
		ipam: { type: "static", addresses: [ { address: $a, gateway: $gw } ],
		        routes: [ { dst: "0.0.0.0/0" } ] } }' >"$M/cni-add.json"
}

ip_add() { # NS HOST
	ip netns add "$1" &&
		ip link add "$2" type veth peer name eth0 netns "$1" &&
		ip link set "$2" master "$BR" up &&
		ip -n "$1" addr add "$ADDR" dev eth0 &&
		ip -n "$1" link set eth0 up &&
		ip -n "$1" route add default via "$GW"
}
ip_del() { # NS HOST
	ip link del "$2" && ip netns del "$1"
}

# --------------------------------------------------- the untimed checks

# state_ok NS HOST — NS has ADDR on eth0 (up) and the default route via GW,
# and HOST is a port of the bridge.  Prints what is wrong.
state_ok() {
	local ns=$1 host=$2 w=
	ip -n "$ns" -j addr show dev eth0 2>/dev/null |
		jq -e --arg a "${ADDR%/*}" --argjson p "${ADDR#*/}" \
			'.[0] | (.flags | index("UP")) and any(.addr_info[]; .local == $a and .prefixlen == $p)' \
			>/dev/null || w+="eth0 in $ns is not up with $ADDR; "
	ip -n "$ns" -j route show default 2>/dev/null | jq -e --arg g "$GW" 'any(.[]; .gateway == $g and .dev == "eth0")' \
		>/dev/null || w+="no default route via $GW in $ns; "
	[ -n "$host" ] && ip -j link show dev "$host" 2>/dev/null | jq -e --arg b "$BR" '.[0].master == $b' >/dev/null ||
		w+="host end '$host' is not a port of $BR; "
	printf '%s' "$w"
}

# gone_ok NS HOST — NS and HOST are gone.  A namespace's links go when the
# kernel cleans the namespace up, a moment after its last reference: the
# host end is given 2 s.  Appends what is left to MSG (no subshell: it
# counts LINGER).
gone_ok() {
	local ns=$1 host=$2 i
	[ -e "/run/netns/$ns" ] && MSG+="/run/netns/$ns is left; "
	if [ -n "$host" ]; then
		for ((i = 0; i < 200; i++)); do
			ip link show dev "$host" >/dev/null 2>&1 || break
			sleep 0.01
		done
		ip link show dev "$host" >/dev/null 2>&1 && MSG+="host end '$host' is left; "
		[ "$i" = 0 ] || LINGER[$ROW]=$((${LINGER[$ROW]:-0} + 1))
	fi
	return 0
}

# ---------------------------------------------------------------- rows

FAILED=0
declare -A WALL_ADD WALL_DEL LINGER
TOOLS=(ctrk ctrk-steps cni ip)
CNI_NS_ADD='' CNI_NS_DEL='' STEP_NS='' STEP_VETH=''

# row_failed ROW MSG — ctrk becomes n/a and the others go on; cni or ip
# failing fails the bench.
row_failed() {
	case $1 in
	ctrk | ctrk-steps | ctrk-gc)
		NA[$1]="ctrk-netif failed: $2"
		bench_log "n/a $1: ${NA[$1]}"
		;;
	*) fail_run "$1: $2" ;;
	esac
}

# run_row ROW ROUND — one ADD, check, DEL, check of ROW; the times go to
# WALL_ADD and WALL_DEL only when all four went well.
run_row() {
	local row=$1 r=$2 ns=$NSP-$1-$2 host='' msg a d na nd nv
	ROW=$row
	[ -z "${NA[$row]:-}" ] || return 0
	row_net "$row"
	case $row in
	ctrk)
		bench_ms ctrk_add "$ns" 2>"$M/err" || {
			row_failed ctrk "round $r: add: exit ${CTRK_PS:-?}: $(head -c 300 "$M/err")"
			netif_bench_clean_ns "$ns"
			return 0
		}
		a=$BENCH_MS
		host=$(jq -r '[.netif.added[]? | select(.type == "veth") | .host][0] // empty' "$M/ctrk.json")
		;;
	ctrk-steps)
		bench_ms ctrk_ns_add "$ns" 2>"$M/err" || {
			row_failed "$row" "round $r: ns add: $(head -c 300 "$M/err")"
			netif_bench_clean_ns "$ns"
			return 0
		}
		na=$BENCH_MS
		bench_ms ctrk_add_veth 2>"$M/err" || {
			row_failed "$row" "round $r: add veth: $(head -c 300 "$M/err")"
			netif_bench_clean_ns "$ns"
			return 0
		}
		nv=$BENCH_MS
		a=$(awk -v a="$na" -v b="$nv" 'BEGIN { printf "%.3f", a + b }')
		host=$(jq -r '[.netif.added[]? | select(.type == "veth") | .host][0] // empty' "$M/ctrk.json")
		;;
	cni)
		cni_conf
		bench_ms ip netns add "$ns" 2>"$M/err" || { row_failed cni "round $r: ip netns add: $(head -c 300 "$M/err")"; return 0; }
		na=$BENCH_MS
		bench_ms cni_exec ADD "$ns" "$M/cni-add.json" >"$M/cni.res" 2>"$M/err" || {
			row_failed cni "round $r: ADD: $(cat "$M/cni.res" "$M/err" | head -c 300)"
			netif_bench_clean_ns "$ns"
			return 0
		}
		a=$BENCH_MS
		host=$(jq -r '[.interfaces[] | select(.sandbox == null and .name != $br)][0].name // empty' \
			--arg br "$BR" "$M/cni.res")
		jq -c --slurpfile r "$M/cni.res" '. + {prevResult: $r[0]}' "$M/cni-add.json" >"$M/cni-del.json"
		;;
	ip)
		host=$P"i$r"
		bench_ms ip_add "$ns" "$host" 2>"$M/err" || {
			row_failed ip "round $r: $(head -c 300 "$M/err")"
			netif_bench_clean_ns "$ns"
			return 0
		}
		a=$BENCH_MS
		;;
	esac
	msg=$(state_ok "$ns" "$host")
	if [ -n "$msg" ]; then
		row_failed "$row" "round $r: after add: $msg"
		netif_bench_clean_ns "$ns"
		return 0
	fi
	case $row in
	ctrk | ctrk-steps)
		bench_ms ctrk_del 2>"$M/err" || {
			row_failed "$row" "round $r: del: $(head -c 300 "$M/err")"
			netif_bench_clean_ns "$ns"
			return 0
		}
		d=$BENCH_MS
		jq -e 'has("netns") or has("network") or has("netif") | not' "$M/ctrk-del.json" >/dev/null ||
			msg+="del's output still has netns, network or netif: $(head -c 200 "$M/ctrk-del.json"); "
		;;
	cni)
		bench_ms cni_exec DEL "$ns" "$M/cni-del.json" >"$M/out" 2>"$M/err" || {
			row_failed cni "round $r: DEL: $(cat "$M/out" "$M/err" | head -c 300)"
			netif_bench_clean_ns "$ns"
			return 0
		}
		d=$BENCH_MS
		bench_ms ip netns del "$ns" 2>"$M/err" || { row_failed cni "round $r: ip netns del: $(head -c 300 "$M/err")"; return 0; }
		nd=$BENCH_MS
		;;
	ip)
		bench_ms ip_del "$ns" "$host" 2>"$M/err" || {
			row_failed ip "round $r: del: $(head -c 300 "$M/err")"
			netif_bench_clean_ns "$ns"
			return 0
		}
		d=$BENCH_MS
		;;
	esac
	MSG=$msg
	gone_ok "$ns" "$host"
	msg=$MSG
	if [ -n "$msg" ]; then
		row_failed "$row" "round $r: after del: $msg"
		netif_bench_clean_ns "$ns"
		return 0
	fi
	WALL_ADD[$row]+="$a " WALL_DEL[$row]+="$d "
	if [ "$row" = ctrk-steps ]; then
		STEP_NS+="$na " STEP_VETH+="$nv "
	fi
	if [ "$row" = cni ]; then
		CNI_NS_ADD+="$na " CNI_NS_DEL+="$nd "
		WALL_ADD[cni+ns]+="$(awk -v a="$a" -v b="$na" 'BEGIN { printf "%.3f", a + b }') "
		WALL_DEL[cni+ns]+="$(awk -v a="$d" -v b="$nd" 'BEGIN { printf "%.3f", a + b }') "
	fi
	printf '  round %2d  %-10s add %8.3f ms  del %8.3f ms\n' "$r" "$row" "$a" "$d" >&2
}

# netif_bench_clean_ns NS — after a failed run: its namespace, and the
# bridge's ports (nothing else is on it between runs).
netif_bench_clean_ns() {
	local l
	ip netns del "$1" 2>/dev/null
	for l in $(ip -j link show master "$BR" 2>/dev/null | jq -r '.[].ifname'); do
		ip link del "$l" 2>/dev/null
	done
}

# ------------------------------------------------------------- gc rows

# gc_setup GROUP — GC_LINKS veth pairs on the host, in one ip -batch; the
# host ends in link GROUP with the alias of ctrk-netif's owner mark.
gc_setup() {
	local i t=$(($(date +%s) - 3600))
	for ((i = 0; i < GC_LINKS; i++)); do
		printf 'link add %sg%d group %s type veth peer name %sh%d\n' "$P" "$i" "$1" "$P" "$i"
		printf 'link set %sg%d alias "ctrk-netif key=%s-g%d created=%d"\n' "$P" "$i" "$NSP" "$i" "$t"
	done | ip -batch - || bench_die "cannot make the gc's leftover links"
}
gc_keys() {
	local i
	for ((i = 0; i < GC_LINKS; i++)); do printf '%s-g%d\n' "$NSP" "$i"; done
}
gc_left() { # the number of gc links still there
	ip -j link show 2>/dev/null | jq --arg p "$P" '[.[] | select(.ifname | test("^" + $p + "[gh][0-9]+$"))] | length'
}
ctrk_gc() {
	# shellcheck disable=SC2046
	"$NETIF" -q gc --min-age 0 $(gc_keys)
}
ip_del_each() {
	local i
	for ((i = 0; i < GC_LINKS; i++)); do ip link del "${P}g$i" || return 1; done
}
ip_del_batch() {
	local i
	for ((i = 0; i < GC_LINKS; i++)); do printf 'link del %sg%d\n' "$P" "$i"; done | ip -batch -
}

# The kernel's floor: one RTM_DELLINK for a whole link group, which the
# kernel unregisters in one batch (one RCU grace period for all, where
# deleting link by link waits for one each).  In a group of the bench's
# own, never ctrk-netif's: that would take other runs' links too.
PRIV_GROUP=$((0x63620000 + ($$ & 0xffff)))
[ -z "$(ip link show group "$PRIV_GROUP" 2>/dev/null)" ] || bench_die "link group $PRIV_GROUP is in use"
ip_del_group() { ip link del group "$PRIV_GROUP"; }

GC_TOOLS=(ctrk-gc ip-del ip-batch ip-group)
declare -A WALL_GC
run_gc() { # ROW ROUND
	local row=$1 r=$2 left
	[ -z "${NA[$row]:-}" ] || return 0
	if [ "$row" = ip-group ]; then gc_setup "$PRIV_GROUP"; else gc_setup 0x6374726b; fi
	left=$(gc_left)
	[ "$left" = $((2 * GC_LINKS)) ] || bench_die "gc setup made $left links, not $((2 * GC_LINKS))"
	case $row in
	ctrk-gc) bench_ms ctrk_gc >"$M/out" 2>"$M/err" ;;
	ip-del) bench_ms ip_del_each 2>"$M/err" ;;
	ip-batch) bench_ms ip_del_batch 2>"$M/err" ;;
	ip-group) bench_ms ip_del_group 2>"$M/err" ;;
	esac
	local rc=$?
	left=$(gc_left)
	if [ "$rc" != 0 ] || [ "$left" != 0 ]; then
		row_failed "$row" "round $r: exit $rc, $left links left: $(head -c 300 "$M/err")"
		ip_del_batch >/dev/null 2>&1
		return 0
	fi
	WALL_GC[$row]+="$BENCH_MS "
	printf '  round %2d  %-8s %8.3f ms\n' "$r" "$row" "$BENCH_MS" >&2
}

# rounds ROUNDS RUNNER ROW... — RUNNER ROW R for each round R and row, the
# order rotated per round and reversed every second one: a run leaves
# work to the kernel (namespace cleanup, RCU) that the next one pays for.
rounds() {
	local n=$1 fn=$2 r i k
	shift 2
	local rows=("$@") m=$#
	for ((r = 1; r <= n; r++)); do
		bench_log "$fn: round $r/$n"
		for ((i = 0; i < m; i++)); do
			k=$(((i + r - 1) % m))
			((r % 2)) || k=$((m - 1 - k))
			"$fn" "${rows[k]}" "$r"
		done
	done
}

# ----------------------------------------------------------------- runs

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
T0=$SECONDS
rounds "$ROUNDS" run_row "${TOOLS[@]}"
[ "$GC_ROUNDS" = 0 ] || rounds "$GC_ROUNDS" run_gc "${GC_TOOLS[@]}"
bench_log "runs done in $((SECONDS - T0)) s"
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)

# --------------------------------------------------------------- report

# stats LIST — "median min max" of the numbers in LIST, or empty.
stats() {
	# shellcheck disable=SC2086
	[ -n "${1// /}" ] && printf '%s %s %s' "$(median $1)" "$(min $1)" "$(max $1)"
}
med() { # LIST — the median, 3 places, or empty
	local s
	s=$(stats "$1") && [ -n "$s" ] && printf '%.3f' "${s%% *}"
}
row_line() { # LABEL LIST [NOTE]
	local s m mi ma
	s=$(stats "$2")
	if [ -z "$s" ]; then
		printf '%-10s n/a (%s)\n' "$1" "${3:-no result}"
		return
	fi
	read -r m mi ma <<<"$s"
	printf '%-10s %9.2f %9.2f %9.2f\n' "$1" "$m" "$mi" "$ma"
}
check() { # LABEL OK
	if [ "$2" = 1 ]; then printf 'PASS  %s\n' "$1"; else printf 'MISS  %s\n' "$1"; fi
}
target() { # LABEL ROW-LIST REF-LIST FACTOR NA-REASON
	local c d
	c=$(med "$2") d=$(med "$3")
	if [ -z "$c" ] || [ -z "$d" ]; then
		echo "n/a   $1  (${5:-no result})"
		return
	fi
	check "$1  ($(ratio "$c" "$d") x: $c ms vs $d ms)" \
		"$(awk -v c="$c" -v d="$d" -v f="$4" 'BEGIN { print (c <= f * d) ? 1 : 0 }')"
}

echo
echo "ctrk-netif benchmark: namespace + veth on a bridge + one IPv4 address + default route, then teardown; $ROUNDS rounds, $(nproc) CPUs"
echo "load average (1/5/15 min) before the runs $LOAD_START, after $LOAD_END: other work on the host skews the ratios"
echo "kernel $(uname -r); $(ip -V); containernetworking-plugins $(dpkg-query -W -f '${Version}' containernetworking-plugins 2>/dev/null || echo '?') ($CNI_DIR)"
echo "ctrk-netif $CTRK_DESC"
echo
for phase in ADD DEL; do
	printf '%-10s %9s %9s %9s    %s\n' "$phase" median min max "ms, wall from fork to exit"
	for t in ctrk cni cni+ns ip; do
		if [ "$phase" = ADD ]; then l=${WALL_ADD[$t]:-}; else l=${WALL_DEL[$t]:-}; fi
		row_line "$t" "$l" "${NA[$t]:-${NA[${t%+ns}]:-}}"
		if [ "$t" = ctrk ] && [ "$phase" = ADD ] && [ -n "$STEP_NS" ]; then
			row_line "  ns add" "$STEP_NS"
			row_line "  add veth" "$STEP_VETH"
		fi
	done
	if [ "$phase" = ADD ]; then row_line "  ip netns add" "$CNI_NS_ADD"; else row_line "  ip netns del" "$CNI_NS_DEL"; fi
	echo
done
echo "(ctrk: the pipeline ns add | add veth; under it, each step alone (row ctrk-steps, one after the other);"
echo " cni: the bridge plugin's ADD or DEL alone; cni+ns: with ip netns add/del, as containerd pins the namespace itself)"
for t in "${TOOLS[@]}"; do
	[ -z "${LINGER[$t]:-}" ] ||
		echo "note: $t: in ${LINGER[$t]} runs the host end was still there right after del (gone within 2 s: namespace cleanup is asynchronous)"
done
if [ "$GC_ROUNDS" != 0 ]; then
	printf '%-10s %9s %9s %9s    %s\n' "GC $GC_LINKS" median min max "ms, $GC_ROUNDS rounds"
	for t in "${GC_TOOLS[@]}"; do row_line "$t" "${WALL_GC[$t]:-}" "${NA[$t]:-}"; done
	echo
fi
echo "wall per run (ms):"
for t in ctrk ctrk-steps cni ip; do
	[ -z "${WALL_ADD[$t]:-}" ] || printf '  %-10s add %s\n  %-10s del %s\n' "$t" "${WALL_ADD[$t]}" "$t" "${WALL_DEL[$t]}"
done
for t in "${GC_TOOLS[@]}"; do
	[ -z "${WALL_GC[$t]:-}" ] || printf '  %-9s %s\n' "$t" "${WALL_GC[$t]}"
done
echo

target "ctrk add <= 0.25 x cni ADD" "${WALL_ADD[ctrk]:-}" "${WALL_ADD[cni]:-}" 0.25 "${NA[ctrk]:-${NA[cni]:-}}"
target "ctrk del <= 0.5 x cni DEL " "${WALL_DEL[ctrk]:-}" "${WALL_DEL[cni]:-}" 0.5 "${NA[ctrk]:-${NA[cni]:-}}"
if [ "$GC_ROUNDS" != 0 ]; then
	g=$(med "${WALL_GC[ctrk-gc]:-}")
	if [ -z "$g" ]; then
		echo "n/a   gc of $GC_LINKS leftover links <= 100 ms  (${NA[ctrk-gc]:-no result})"
	else
		check "gc of $GC_LINKS leftover links <= 100 ms  ($g ms; ip link del one by one $(med "${WALL_GC[ip-del]:-}") ms)" \
			"$(awk -v g="$g" 'BEGIN { print (g <= 100) ? 1 : 0 }')"
	fi
fi
for ph in ADD DEL; do
	if [ "$ph" = ADD ]; then c=$(med "${WALL_ADD[ctrk]:-}") n=$(med "${WALL_ADD[cni+ns]:-}") i=$(med "${WALL_ADD[ip]:-}")
	else c=$(med "${WALL_DEL[ctrk]:-}") n=$(med "${WALL_DEL[cni+ns]:-}") i=$(med "${WALL_DEL[ip]:-}"); fi
	[ -n "$c" ] && echo "info  ctrk ${ph,,}: $(ratio "$c" "$n") x cni+ns, $(ratio "$c" "$i") x ip (not targets)"
done

if [ "$FAILED" != 0 ]; then
	bench_log "some runs or checks FAILED"
	exit 1
fi
exit 0
