#!/usr/bin/env bats
# ctrk-netif: interfaces in real namespaces — veths on a bridge, macvlan,
# move, addresses, routes, sysctls and offloads; the descriptor; del,
# check, set, list; a container started by the pipeline.
#
# Addresses are 10.213.x.y/24 and fd00:213:x::y/64, only on namespaces
# and bridges the tests make; traffic only between those namespaces.

load helpers

setup() {
	netif_setup
	NS1=${NSP}a
	NS2=${NSP}b
	ip netns add "$NS1"
	ip netns add "$NS2"
}

teardown() {
	[[ -z ${CONTAINER_TEST:-} ]] || run_teardown
	netif_teardown "$BR" "${BR}2" "$VA" "$VB"
}

# save NAME: the last output into $T/NAME.json (the next step's input).
save() {
	printf '%s\n' "$DESC" >"$T/$1.json"
}

# in_ns NS CMD...: run CMD in namespace NS.
in_ns() {
	local ns=$1
	shift
	ip netns exec "$ns" "$@"
}

# ns_addrs NS IFNAME: the interface's global addresses, CIDR, one a line.
ns_addrs() {
	ip -j -n "$1" addr show dev "$2" | jq -r '.[0].addr_info[] | select(.scope == "global") | "\(.local)/\(.prefixlen)"'
}

# ns_link NS IFNAME FIELD: a field of `ip -j link show` (mtu, address, txqlen, ...).
ns_link() {
	ip -j -n "$1" link show dev "$2" | jq -r ".[0].$3"
}

# host_veth KEY IFNAME: the host side's default name, "ck" and 12 hex
# digits of sha256(KEY/IFNAME).
host_veth() {
	printf 'ck%s\n' "$(printf '%s/%s' "$1" "$2" | sha256sum | cut -c1-12)"
}

@test "two namespaces on one bridge ping each other over IPv4 and IPv6 within one second of setup" {
	ni -0 bridge add "$BR"
	ni -0 add veth --netns "/run/netns/$NS1" --key "k$N-a" --bridge "$BR" --addr 10.213.1.1/24 --addr fd00:213:1::1/64
	ni -0 add veth --netns "/run/netns/$NS2" --key "k$N-b" --bridge "$BR" --addr 10.213.1.2/24 --addr fd00:213:1::2/64
	local start=$EPOCHREALTIME
	in_ns "$NS1" busybox ping -c1 -W1 10.213.1.2
	in_ns "$NS2" busybox ping -c1 -W1 10.213.1.1
	in_ns "$NS1" busybox ping -c1 -W1 fd00:213:1::2
	in_ns "$NS2" busybox ping -c1 -W1 fd00:213:1::1
	local ms=$(((${EPOCHREALTIME/./} - ${start/./}) / 1000))
	echo "# four pings took $ms ms"
	((ms < 1000))
	# No address given waits for duplicate detection (the kernel's own
	# link-local one may).
	run ip -j -n "$NS1" addr show dev eth0
	assert_equal "$(jq -c '[.[0].addr_info[] | select(.scope == "global") | .tentative // false]' <<<"$output")" \
		'[false,false]'
	# The host sides carry the owner mark: group and alias.
	local h
	h=$(host_veth "k$N-a" eth0)
	assert_equal "$(ip -j -d link show dev "$h" | jq -r '.[0].group')" "$(printf '%d' 0x6374726b)"
	assert_equal "$(ip -j -d link show dev "$h" | jq -r '.[0].ifalias')" "$(ip -j -d link show dev "$h" | jq -r '.[0].ifalias' | grep "^ctrk-netif key=k$N-a created=[0-9]*$")"
	assert_equal "$(ip -j link show dev "$h" | jq -r '.[0].master')" "$BR"
}

@test "the descriptor: netns, network (a CNI 1.0 result), netif; adds append, other fields pass through" {
	echo '{"image": {"name": "x"}, "custom": {"keep": [1, 2]}, "container": {"id": "c'"$N"'"}}' >"$T/in.json"
	NIN=$T/in.json ni -0 add veth --netns "/run/netns/$NS1" --addr 10.213.2.2/24 --addr fd00:213:2::2/64 \
		--gateway 10.213.2.1 --gateway fd00:213:2::1 --route 10.214.0.0/16,via=10.213.2.1,metric=7
	save one
	NIN=$T/one.json ni -0 add veth --ifname eth1 --addr 10.213.3.2/24
	save two
	local d=$T/two.json host0 host1
	host0=$(host_veth "c$N" eth0)
	host1=$(host_veth "c$N" eth1)
	assert_equal "$(jq -c .custom "$d")" '{"keep":[1,2]}'
	assert_equal "$(jq -c .image "$d")" '{"name":"x"}'
	assert_equal "$(jq -r .netns "$d")" "/run/netns/$NS1"
	assert_equal "$(jq -r .network.cniVersion "$d")" 1.0.0
	assert_equal "$(jq -c '[.network.interfaces[] | [.name, .sandbox]]' "$d")" \
		"[[\"$host0\",null],[\"eth0\",\"/run/netns/$NS1\"],[\"$host1\",null],[\"eth1\",\"/run/netns/$NS1\"]]"
	assert_equal "$(jq -c '[.network.ips[] | [.address, .gateway, .interface]]' "$d")" \
		'[["10.213.2.2/24","10.213.2.1",1],["fd00:213:2::2/64","fd00:213:2::1",1],["10.213.3.2/24",null,3]]'
	assert_equal "$(jq -c '.network.routes' "$d")" \
		'[{"dst":"0.0.0.0/0","gw":"10.213.2.1"},{"dst":"::/0","gw":"fd00:213:2::1"},{"dst":"10.214.0.0/16","gw":"10.213.2.1","priority":7}]'
	# The MAC and MTU in the result are the kernel's.
	assert_equal "$(jq -r '.network.interfaces[1].mac' "$d")" "$(ns_link "$NS1" eth0 address)"
	assert_equal "$(jq -r '.network.interfaces[1].mtu' "$d")" "$(ns_link "$NS1" eth0 mtu)"
	assert_equal "$(jq -c .netif "$d")" \
		"{\"key\":\"c$N\",\"added\":[{\"type\":\"veth\",\"ifname\":\"eth0\",\"host\":\"$host0\"},{\"type\":\"veth\",\"ifname\":\"eth1\",\"host\":\"$host1\"}]}"
	# And the kernel has it all.
	assert_equal "$(ns_addrs "$NS1" eth0 | sort | tr '\n' ' ')" "10.213.2.2/24 fd00:213:2::2/64 "
	run ip -n "$NS1" route show default
	assert_output --partial "default via 10.213.2.1 dev eth0"
	run ip -n "$NS1" -6 route show default
	assert_output --partial "default via fd00:213:2::1 dev eth0"
	run ip -n "$NS1" route show 10.214.0.0/16
	assert_output --partial "via 10.213.2.1 dev eth0 proto static metric 7"
	# del eth1: that one goes, from the kernel and the descriptor.
	NIN=$d ni -0 del eth1
	save three
	run ip link show dev "$host1"
	assert_failure
	assert_equal "$(jq -c '[.network.interfaces[].name]' "$T/three.json")" "[\"$host0\",\"eth0\"]"
	assert_equal "$(jq -c '[.netif.added[].ifname]' "$T/three.json")" '["eth0"]'
	assert_equal "$(jq -r '.network.routes | length' "$T/three.json")" 3
	# The teardown leaves only what was not ctrk-netif's.
	NIN=$T/three.json ni -0 del
	assert_equal "$(jq -cS . <<<"$DESC")" "$(jq -cS '{image, custom, container, version: 1}' "$T/in.json")"
	run ip link show dev "$host0"
	assert_failure
	# The namespace was not made by ctrk-netif: it stays.
	[[ -e /run/netns/$NS1 ]]
}

@test "macvlan on a veth master: two namespaces talk through it" {
	ip link add "$VA" type veth peer name "$VB"
	ip link set "$VA" up
	ip link set "$VB" up
	ni -0 add macvlan --netns "/run/netns/$NS1" --key "k$N-a" --master "$VA" --addr 10.213.4.1/24
	save a
	ni -0 add macvlan --netns "/run/netns/$NS2" --key "k$N-b" --master "$VA" --mode bridge --ifname mv1 \
		--addr 10.213.4.2/24
	save b
	run ip -d -j -n "$NS1" link show dev eth0
	assert_equal "$(jq -r '.[0].linkinfo.info_kind' <<<"$output")" macvlan
	assert_equal "$(jq -r '.[0].linkinfo.info_data.mode' <<<"$output")" bridge
	in_ns "$NS1" busybox ping -c1 -W1 10.213.4.2
	assert_equal "$(jq -c .netif.added "$T/a.json")" "[{\"type\":\"macvlan\",\"ifname\":\"eth0\",\"master\":\"$VA\"}]"
	# Nothing of it on the host.
	run ip -o link show master "$VA"
	assert_output ""
	NIN=$T/b.json ni -0 del
	run ip -n "$NS2" link show dev mv1
	assert_failure
	NIN=$T/a.json ni -0 add macvlan --master "$VA" --mode private --ifname mv2
	run ip -d -j -n "$NS1" link show dev mv2
	assert_equal "$(jq -r '.[0].linkinfo.info_data.mode' <<<"$output")" private
	NIN=/dev/null ni -2 add macvlan --netns "/run/netns/$NS1" --key x --master "$VA" --mode l3
	assert_output ""
	[[ $stderr == *"'l3' is not a mode of macvlan"* ]]
}

@test "move: a veth end into the namespace under a new name, and back out under its own on del" {
	ip link add "$VA" type veth peer name "$VB"
	ni -0 move "$VB" --netns "/run/netns/$NS1" --key "k$N" --ifname eth3 --addr 10.213.5.2/24 --mtu 1400
	save moved
	run ip link show dev "$VB"
	assert_failure
	assert_equal "$(ns_addrs "$NS1" eth3)" 10.213.5.2/24
	assert_equal "$(ns_link "$NS1" eth3 mtu)" 1400
	assert_equal "$(ns_link "$NS1" eth3 operstate)" LOWERLAYERDOWN # up; its peer is down
	assert_equal "$(jq -c .netif.added "$T/moved.json")" "[{\"type\":\"move\",\"ifname\":\"eth3\",\"device\":\"$VB\"}]"
	NIN=$T/moved.json ni -0 del
	run ip -n "$NS1" link show dev eth3
	assert_failure
	run ip link show dev "$VB"
	assert_success
	# Moving a device that is not there is an error, and nothing moved.
	ni -1 move "nosuch$N" --netns "/run/netns/$NS1" --key "k$N"
	[[ $stderr == *"no interface 'nosuch$N' on the host"* ]]
}

@test "bridge MTU: a port with a smaller MTU never lowers the bridge's" {
	ni -0 bridge add "$BR" --mtu 1500
	ni -0 add veth --netns "/run/netns/$NS1" --key "k$N-a" --bridge "$BR" --mtu 1400 --addr 10.213.6.1/24
	assert_equal "$(ip -j link show dev "$BR" | jq -r '.[0].mtu')" 1500
	assert_equal "$(ns_link "$NS1" eth0 mtu)" 1400
	# The host side takes the bridge's MTU, so no port is smaller.
	assert_equal "$(ip -j link show dev "$(host_veth "k$N-a" eth0)" | jq -r '.[0].mtu')" 1500
	# A bridge made without --mtu keeps its MTU too, and a large one
	# (jumbo frames) is not raised or lowered by a default port.
	ni -0 bridge add "${BR}2" --mtu 9000
	ni -0 add veth --netns "/run/netns/$NS2" --key "k$N-b" --bridge "${BR}2" --mtu 1300
	assert_equal "$(ip -j link show dev "${BR}2" | jq -r '.[0].mtu')" 9000
	assert_equal "$(ns_link "$NS2" eth0 mtu)" 1300
	ni -0 add veth --netns "/run/netns/$NS2" --key "k$N-b" --bridge "${BR}2" --ifname eth1
	assert_equal "$(ip -j link show dev "${BR}2" | jq -r '.[0].mtu')" 9000
	# bridge del removes only bridges.
	ni -1 bridge del "$(host_veth "k$N-b" eth1)"
	[[ $stderr == *"is not a bridge (it is a veth)"* ]]
	ni -0 bridge del "${BR}2"
	run ip link show dev "${BR}2"
	assert_failure
}

@test "check: a changed MTU and a removed address are found; JSON too" {
	ni -0 bridge add "$BR"
	ni -0 add veth --netns "/run/netns/$NS1" --key "k$N" --bridge "$BR" --addr 10.213.7.2/24 --addr fd00:213:7::2/64 \
		--gateway 10.213.7.1
	save d
	NIN=$T/d.json ni -0 check
	assert_output ""
	ip -n "$NS1" link set eth0 mtu 1280
	ip -n "$NS1" addr del 10.213.7.2/24 dev eth0
	NIN=$T/d.json ni -1 check
	assert_line "eth0 in /run/netns/$NS1: mtu 1280, expected 1500"
	assert_line "eth0 in /run/netns/$NS1: address 10.213.7.2/24 missing"
	# The default route went with the address.
	assert_line "routes: route 0.0.0.0/0 via 10.213.7.1 missing"
	assert_equal "${#lines[@]}" 3
	NIN=$T/d.json ni -1 check --json
	assert_equal "$(jq length <<<"$output")" 3
	assert_equal "$(jq -r '.[0].difference' <<<"$output")" "mtu 1280, expected 1500"
	# Bridge membership.
	ip link set "$(host_veth "k$N" eth0)" nomaster
	NIN=$T/d.json ni -1 check
	assert_line "$(host_veth "k$N" eth0) on the host: not a port of bridge $BR"
}

@test "set: MTU, up/down, addresses and routes change, and the descriptor follows" {
	ni -0 add veth --netns "/run/netns/$NS1" --key "k$N" --addr 10.213.8.2/24
	save d
	NIN=$T/d.json ni -0 set eth0 --mtu 1400 --addr 10.213.9.2/24 --addr fd00:213:9::2/64 --del-addr 10.213.8.2/24 \
		--route 10.215.0.0/16,via=10.213.9.1
	save e
	assert_equal "$(ns_link "$NS1" eth0 mtu)" 1400
	assert_equal "$(ns_addrs "$NS1" eth0 | tr '\n' ' ')" "10.213.9.2/24 fd00:213:9::2/64 "
	run ip -n "$NS1" route show 10.215.0.0/16
	assert_output --partial "via 10.213.9.1 dev eth0"
	assert_equal "$(jq -c '[.network.ips[].address]' "$T/e.json")" '["10.213.9.2/24","fd00:213:9::2/64"]'
	assert_equal "$(jq -c '.network.interfaces[1].mtu' "$T/e.json")" 1400
	assert_equal "$(jq -c '.network.routes' "$T/e.json")" '[{"dst":"10.215.0.0/16","gw":"10.213.9.1"}]'
	NIN=$T/e.json ni -0 check
	NIN=$T/e.json ni -0 set eth0 --del-route 10.215.0.0/16,via=10.213.9.1 --down
	save f
	assert_equal "$(jq -c '.network.routes' "$T/f.json")" '[]'
	# Down, the kernel drops the link's IPv6 addresses; network follows.
	assert_equal "$(ns_addrs "$NS1" eth0)" 10.213.9.2/24
	assert_equal "$(jq -c '[.network.ips[].address]' "$T/f.json")" '["10.213.9.2/24"]'
	NIN=$T/f.json ni -0 check
	run ip -n "$NS1" route show 10.215.0.0/16
	assert_output ""
	run ip -j -n "$NS1" link show dev eth0
	refute_output --partial '"UP"'
	# A failed set changes nothing: the route's gateway is unreachable,
	# so the MTU change before it is taken back.
	NIN=$T/f.json ni -1 set eth0 --up --mtu 1300 --route 10.216.0.0/16,via=10.99.99.99
	assert_output ""
	assert_equal "$(ns_link "$NS1" eth0 mtu)" 1400
	ni -1 set nosuch --netns "/run/netns/$NS1" --mtu 1400
	[[ $stderr == *"no interface 'nosuch' in /run/netns/$NS1"* ]]
}

@test "list: interfaces with addresses; --json with routes" {
	ni -0 add veth --netns "/run/netns/$NS1" --key "k$N" --addr 10.213.10.2/24 --gateway 10.213.10.1
	save d
	NIN=$T/d.json ni -0 list
	assert_line --regexp '^eth0 veth up mtu 1500 ([0-9a-f]{2}:){5}[0-9a-f]{2}$'
	assert_line "    10.213.10.2/24"
	assert_line --regexp '^lo device down mtu 65536'
	ni -0 list --json --netns "/run/netns/$NS1"
	assert_equal "$(jq -c '.interfaces[] | select(.name == "eth0") | .addresses[0]' <<<"$output")" '"10.213.10.2/24"'
	assert_equal "$(jq -c '.routes[] | select(.dst == "0.0.0.0/0") | [.gw, .dev]' <<<"$output")" '["10.213.10.1","eth0"]'
}

@test "del twice, and del after ip netns del: what is gone is a note, not an error" {
	ni -0 bridge add "$BR"
	ni -0 add veth --netns "/run/netns/$NS1" --key "k$N" --bridge "$BR" --addr 10.213.11.2/24
	save d
	local h
	h=$(host_veth "k$N" eth0)
	NIN=$T/d.json ni -0 del
	assert_equal "$(jq -c . <<<"$output")" '{"version":1}'
	run ip link show dev "$h"
	assert_failure
	NIN=$T/d.json ni -0 del
	assert_equal "$(jq -c . <<<"$DESC")" '{"version":1}'
	[[ $stderr == *"note: veth 'eth0' was already gone"* ]]
	NIN=$T/d.json ni -0 del -q
	assert_equal "$stderr" ""
	# A descriptor without netif passes through unchanged.
	NIN=$T/d.json ni -0 del
	save nothing
	NIN=$T/nothing.json ni -0 del
	assert_equal "$DESC" '{"version":1}'
	# The namespace deleted behind ctrk-netif's back.
	ni -0 add veth --netns "/run/netns/$NS2" --key "k$N-b" --bridge "$BR" --addr 10.213.11.3/24
	save e
	ip netns del "$NS2"
	NIN=$T/e.json ni -0 del
	assert_equal "$(jq -c . <<<"$DESC")" '{"version":1}'
	[[ $stderr == *"the namespace /run/netns/$NS2 is already gone"* ]]
	run ip link show dev "$(host_veth "k$N-b" eth0)"
	assert_failure
}

@test "ns add | add | del: the namespace ctrk-netif made goes with the teardown" {
	local ns=${NSP}c
	run --separate-stderr bash -c "ctrk-netif ns add $ns </dev/null | ctrk-netif add veth --addr 10.213.12.2/24 >$T/d.json"
	assert_success
	assert_equal "$(jq -r .netif.netns_created "$T/d.json")" true
	assert_equal "$(ns_addrs "$ns" eth0)" 10.213.12.2/24
	NIN=$T/d.json ni -0 del
	[[ ! -e /run/netns/$ns ]]
	NIN=$T/d.json ni -0 del
	assert_equal "$(jq -c . <<<"$DESC")" '{"version":1}'
}

@test "--pid: the namespace of a process; the descriptor keeps its own path for the same namespace" {
	netif_sleeper "$NS1"
	local pid=$SLEEPER
	ni -0 add veth --pid "$pid" --key "k$N" --addr 10.213.17.2/24
	save a
	assert_equal "$(jq -r .netns "$T/a.json")" "/proc/$pid/ns/net"
	assert_equal "$(ns_addrs "$NS1" eth0)" 10.213.17.2/24
	echo "{\"netns\": \"/run/netns/$NS1\"}" >"$T/b.json"
	NIN=$T/b.json ni -0 add veth --pid "$pid" --key "k$N" --ifname eth1
	assert_equal "$(jq -r .netns <<<"$DESC")" "/run/netns/$NS1"
	assert_equal "$(jq -r '.network.interfaces[1].sandbox' <<<"$DESC")" "/run/netns/$NS1"
}

@test "16 parallel adds on one bridge all succeed" {
	ni -0 bridge add "$BR"
	local i pids=() st=0
	for i in $(seq 1 16); do
		ip netns add "${NSP}p$i"
	done
	for i in $(seq 1 16); do
		ctrk-netif add veth --netns "/run/netns/${NSP}p$i" --key "k$N-p$i" --bridge "$BR" \
			--addr "10.213.13.$i/24" </dev/null >"$T/p$i.json" 2>"$T/p$i.err" &
		pids+=($!)
	done
	for i in "${pids[@]}"; do
		wait "$i" || st=1
	done
	cat "$T"/p*.err
	assert_equal "$st" 0
	assert_equal "$(ip -j link show master "$BR" | jq length)" 16
	in_ns "${NSP}p1" busybox ping -c1 -W1 10.213.13.16
	for i in $(seq 1 16); do
		NIN=$T/p$i.json ni -0 del
	done
	assert_equal "$(ip -j link show master "$BR" | jq length)" 0
}

@test "--sysctl, --mtu, --mac, --txqueuelen, --route metric and table, --no-tx-checksum take effect" {
	HOST_FORWARD=$(cat /proc/sys/net/ipv4/ip_forward)
	ni -0 add veth --netns "/run/netns/$NS1" --key "k$N" --addr 10.213.14.2/24 --mtu 1450 --mac 02:00:0a:d5:0e:02 \
		--txqueuelen 321 --sysctl net.ipv4.conf.eth0.rp_filter=2 --sysctl net/ipv4/ip_forward=1 \
		--route 10.217.0.0/16,via=10.213.14.1,metric=33,table=117 --route 10.218.0.0/24 --no-tx-checksum
	save d
	assert_equal "$(ns_link "$NS1" eth0 mtu)" 1450
	assert_equal "$(ns_link "$NS1" eth0 address)" 02:00:0a:d5:0e:02
	assert_equal "$(ns_link "$NS1" eth0 txqlen)" 321
	assert_equal "$(in_ns "$NS1" cat /proc/sys/net/ipv4/conf/eth0/rp_filter)" 2
	assert_equal "$(in_ns "$NS1" cat /proc/sys/net/ipv4/ip_forward)" 1
	run ip -n "$NS1" route show table 117
	assert_output "10.217.0.0/16 via 10.213.14.1 dev eth0 proto static metric 33 "
	run ip -n "$NS1" route show 10.218.0.0/24
	assert_output "10.218.0.0/24 dev eth0 proto static scope link "
	assert_equal "$(jq -c '.network.routes' "$T/d.json")" \
		'[{"dst":"10.217.0.0/16","gw":"10.213.14.1","priority":33,"table":117},{"dst":"10.218.0.0/24"}]'
	# Transmit checksumming, read back through the same ethtool ioctl
	# (ETHTOOL_GTXCSUM) when ethtool itself is not installed.
	if command -v ethtool >/dev/null; then
		run in_ns "$NS1" ethtool -k eth0
		assert_line "tx-checksumming: off"
	else
		run in_ns "$NS1" "$PYTHON" -c '
import array, fcntl, socket, struct
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
buf = array.array("B", struct.pack("II", 0x16, 0))
fcntl.ioctl(s.fileno(), 0x8946, struct.pack("16sP", b"eth0", buf.buffer_info()[0]))
print(struct.unpack("II", buf.tobytes())[1])'
		assert_output 0
	fi
	NIN=$T/d.json ni -0 check
	# The host's own value is the host's still.
	assert_equal "$(cat /proc/sys/net/ipv4/ip_forward)" "$HOST_FORWARD"
}

@test "ipvlan and vlan, where the kernel has them" {
	ip link add "$VA" type veth peer name "$VB"
	if ! ip link add "ctp${N}x$$" link "$VA" type ipvlan mode l2 2>/dev/null; then
		skip "this kernel has no ipvlan/8021q module"
	fi
	ip link del "ctp${N}x$$"
	ni -0 add ipvlan --netns "/run/netns/$NS1" --key "k$N" --master "$VA" --mode l3 --addr 10.213.15.2/24
	run ip -d -j -n "$NS1" link show dev eth0
	assert_equal "$(jq -r '.[0].linkinfo.info_kind' <<<"$output")" ipvlan
	if ! ip link add "ctq${N}x$$" link "$VA" type vlan id 9 2>/dev/null; then
		skip "this kernel has no ipvlan/8021q module"
	fi
	ip link del "ctq${N}x$$"
	ni -0 add vlan --netns "/run/netns/$NS2" --key "k$N" --master "$VA" --vlan-id 7 --addr 10.213.15.3/24
	run ip -d -j -n "$NS2" link show dev eth0
	assert_equal "$(jq -r '.[0].linkinfo.info_data.id' <<<"$output")" 7
}

@test "a container started by the pipeline sees eth0 with its address and route" {
	CONTAINER_TEST=1
	local c
	c=$(cid c)
	ni -0 bridge add "$BR"
	ni -0 add veth --netns "/run/netns/$NS2" --key "k$N-b" --bridge "$BR" --addr 10.213.16.3/24
	ctrk-pull -q "oci:$CTRK_FIXTURES:single" >/dev/null
	run --separate-stderr bash -c "ctrk-snap prepare --image oci:$CTRK_FIXTURES:single $c </dev/null |
		ctrk-netif add veth --netns /run/netns/$NS1 --bridge $BR --addr 10.213.16.2/24 --gateway 10.213.16.1 |
		ctrk-mount >$T/d.json"
	assert_success
	run --separate-stderr ctrk-run run --rm "$c" -- sh -c 'ip -4 addr show eth0; ip route; ping -c1 -W1 10.213.16.3' <"$T/d.json"
	echo "# $output"
	assert_success
	assert_output --partial "inet 10.213.16.2/24"
	assert_output --partial "default via 10.213.16.1 dev eth0"
	assert_output --partial "1 packets received"
	# The teardown of the network: the descriptor without it, the host
	# side gone.
	NIN=$T/d.json ni -0 del
	assert_equal "$(jq -r 'has("netns"), has("network"), has("netif"), has("snapshot")' <<<"$DESC" | tr '\n' ' ')" \
		"false false false true "
	run ip link show dev "$(host_veth "$c" eth0)"
	assert_failure
}
