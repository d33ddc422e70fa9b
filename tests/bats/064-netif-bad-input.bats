#!/usr/bin/env bats
# ctrk-netif on bad input: every wrong name, address, route, MAC, sysctl
# or descriptor is a clear error naming what is wrong — exit 2 for a
# malformed command line, 1 for what the kernel or the host refuses —
# with nothing on stdout and nothing left behind.

load helpers

setup() {
	netif_setup
	NS=${NSP}a
	KEY=bad$N
	ip netns add "$NS"
	BEFORE=$(leftovers)
}

teardown() {
	netif_teardown "$BR" "$VA"
}

# leftovers: what a run of this test could leave — the namespace's links,
# host links marked with this test's key or named as its veth would be,
# and this test's namespaces.  The host's other links are other tests'
# (they run in parallel), so they are not compared.
leftovers() {
	ip -o -n "$NS" link show | awk -F': ' '{print "ns:", $2}'
	ip -j -d link show group 1668575851 |
		jq -r --arg k "key=$KEY " '.[] | select((.ifalias // "") | contains($k)) | "marked: \(.ifname)"'
	local name
	for name in eth0 lo; do
		name=ck$(printf '%s/%s' "$KEY" "$name" | sha256sum | cut -c1-12)
		ip link show dev "$name" >/dev/null 2>&1 && echo "host: $name"
	done
	ls -d /run/netns/"$NSP"[a-z]* 2>/dev/null
}

# refused RC TEXT ARGS...: ctrk-netif ARGS (stdin $NIN, default empty)
# exits RC, prints nothing on stdout, says "ctrk-netif: error: ...TEXT..."
# and leaves nothing behind.
refused() {
	local rc=$1 text=$2
	shift 2
	run -"$rc" --separate-stderr ctrk-netif "$@" <"${NIN:-/dev/null}"
	printf '# ctrk-netif %s\n# exit %s\n# stderr: %s\n' "$*" "$status" "$stderr"
	assert_output ""
	if ! grep -F -- "$text" <<<"$stderr" | grep -q '^ctrk-netif: error: '; then
		echo "stderr has no 'ctrk-netif: error: ...$text...' line" | fail
	fi
	assert_equal "$(leftovers)" "$BEFORE"
}

# veth: the options that aim an add at this test's namespace and key.
veth() {
	echo "--netns /run/netns/$NS --key $KEY"
}

@test "interface names: over 15 bytes, with '/', ':' or white space, '.' and '..'" {
	refused 2 "interface name 'abcdefghijklmnop' is 16 bytes, the kernel takes at most 15" \
		add veth $(veth) --ifname abcdefghijklmnop
	refused 2 "--host-ifname: interface name 'xxxxxxxxxxxxxxxx' is 16 bytes" add veth $(veth) --host-ifname xxxxxxxxxxxxxxxx
	refused 2 "interface name 'a/b' holds '/'" add veth $(veth) --ifname a/b
	refused 2 "interface name 'a:b' holds ':'" add veth $(veth) --ifname a:b
	refused 2 "interface name 'a b' holds ' '" add veth $(veth) --ifname 'a b'
	refused 2 "'..' is not a valid interface name" add veth $(veth) --ifname ..
	refused 2 "'.' is not a valid interface name" add veth $(veth) --ifname .
	refused 2 "an interface name cannot be empty" add veth $(veth) --ifname ''
	refused 2 "--bridge: interface name" add veth $(veth) --bridge abcdefghijklmnopq
	refused 2 "--master: interface name" add macvlan $(veth) --master abcdefghijklmnopq
	refused 2 "bridge add: interface name 'abcdefghijklmnop' is 16 bytes" bridge add abcdefghijklmnop
	refused 2 "move: interface name 'abcdefghijklmnop' is 16 bytes" move abcdefghijklmnop $(veth)
	refused 2 "set: interface name" set abcdefghijklmnop $(veth)
	refused 2 "del: interface name" del abcdefghijklmnop
}

@test "addresses and prefixes out of range, gateways" {
	refused 2 "--addr: invalid address '10.0.0.256/24'" add veth $(veth) --addr 10.0.0.256/24
	refused 2 "--addr: prefix length '33' in '10.0.0.1/33' is out of range (0-32 for IPv4)" add veth $(veth) --addr 10.0.0.1/33
	refused 2 "--addr: prefix length '129' in 'fd00::1/129' is out of range (0-128 for IPv6)" add veth $(veth) --addr fd00::1/129
	refused 2 "prefix length '-1'" add veth $(veth) --addr 10.0.0.1/-1
	refused 2 "prefix length ''" add veth $(veth) --addr 10.0.0.1/
	refused 2 "--addr: '10.213.0.2' has no prefix length (as in 10.213.0.2/24)" add veth $(veth) --addr 10.213.0.2
	refused 2 "--addr: invalid address 'eth0'" add veth $(veth) --addr eth0
	refused 2 "--addr: invalid address 'fd00::1%eth0/64'" add veth $(veth) --addr fd00::1%eth0/64
	refused 2 "--gateway: '10.0.0.1/24': a gateway has no prefix length" add veth $(veth) --gateway 10.0.0.1/24
	refused 2 "--gateway: invalid address '300.1.1.1'" add veth $(veth) --gateway 300.1.1.1
	refused 2 "one default route per family; '10.0.0.2' is the second" add veth $(veth) --gateway 10.0.0.1 --gateway 10.0.0.2
	refused 2 "--del-addr: prefix length '40'" set eth0 $(veth) --del-addr 10.0.0.1/40
	refused 2 "--addr: invalid address '1.2.3/24'" bridge add "$BR" --addr 1.2.3/24
}

@test "routes: bad specs" {
	refused 2 "--route '10.0.0.0': '10.0.0.0' has no prefix length" add veth $(veth) --route 10.0.0.0
	refused 2 "'10.0.0.1/24' has host bits set past the prefix length" add veth $(veth) --route 10.0.0.1/24
	refused 2 "the gateway fd00::1 is not of the destination's family" add veth $(veth) --route 10.0.0.0/24,via=fd00::1
	refused 2 "metric 'x' is not a number from 0 to 4294967295" add veth $(veth) --route 10.0.0.0/24,metric=x
	refused 2 "metric '4294967296' is not a number" add veth $(veth) --route 10.0.0.0/24,metric=4294967296
	refused 2 "table '0' is not a number from 1 to 4294967295 (not 255)" add veth $(veth) --route 10.0.0.0/24,table=0
	refused 2 "table '255'" add veth $(veth) --route 10.0.0.0/24,table=255
	refused 2 "unknown key 'dev' (expected via=, metric=, table=)" add veth $(veth) --route 10.0.0.0/24,dev=eth0
	refused 2 "'via' is not KEY=VALUE" add veth $(veth) --route 10.0.0.0/24,via
	refused 2 "via given twice" add veth $(veth) --route 10.0.0.0/24,via=10.0.0.1,via=10.0.0.2
	refused 2 "an empty part between commas" add veth $(veth) --route 10.0.0.0/24,,metric=1
	refused 2 "an empty part between commas" add veth $(veth) --route 10.0.0.0/24,
	refused 2 "no destination" add veth $(veth) --route ,via=10.0.0.1
	refused 2 "via=10.0.0.1/24: a gateway has no prefix length" add veth $(veth) --route 10.0.0.0/24,via=10.0.0.1/24
	# Well-formed, but the kernel cannot reach the gateway: created, then
	# taken back.
	refused 1 "adding route '10.9.0.0/16,via=10.99.0.1' on 'eth0' in /run/netns/$NS: Nexthop has invalid gateway" \
		add veth $(veth) --addr 10.213.20.2/24 --route 10.9.0.0/16,via=10.99.0.1
	refused 1 "adding route 0.0.0.0/0 via 10.99.0.1 on 'eth0'" add veth $(veth) --addr 10.213.20.2/24 --gateway 10.99.0.1
}

@test "MACs, sysctls, modes, numbers" {
	refused 2 "--mac: invalid MAC address '02:00:00:00:00' (expected six hex pairs" add veth $(veth) --mac 02:00:00:00:00
	refused 2 "--mac: invalid MAC address 'zz:00:00:00:00:01'" add veth $(veth) --mac zz:00:00:00:00:01
	refused 2 "--mac: invalid MAC address '02-00-00-00-00-01'" add veth $(veth) --mac 02-00-00-00-00-01
	refused 2 "--mac: '01:00:5e:00:00:01' is a multicast address" add veth $(veth) --mac 01:00:5e:00:00:01
	refused 2 "--mac: '00:00:00:00:00:00' is all zero" add veth $(veth) --mac 00:00:00:00:00:00
	refused 2 "--sysctl 'kernel.hostname': not a key under net" add veth $(veth) --sysctl kernel.hostname=x
	refused 2 "--sysctl 'net/../kernel/hostname': not a key under net" add veth $(veth) --sysctl net/../kernel/hostname=x
	refused 2 "--sysctl 'net': not a key under net" add veth $(veth) --sysctl net=1
	refused 2 "--sysctl 'net.ipv4.ip_forward': expected KEY=VALUE" add veth $(veth) --sysctl net.ipv4.ip_forward
	refused 2 "holds a newline" add veth $(veth) --sysctl $'net.ipv4.ip_forward=1\n0'
	# A key the namespace does not have: made, then taken back.
	refused 1 "sysctl 'net.ipv4.conf.eth0.nosuch': no such key in the namespace" add veth $(veth) \
		--sysctl net.ipv4.conf.eth0.nosuch=1
	refused 2 "--mtu" add veth $(veth) --mtu 10
	refused 2 "--mtu" add veth $(veth) --mtu 70000
	refused 2 "--vlan-id" add vlan $(veth) --master lo --vlan-id 5000
	refused 2 "add: unknown type 'bond'" add bond $(veth)
	refused 2 "add macvlan needs --master DEV" add macvlan $(veth)
	refused 2 "add vlan needs --vlan-id N" add vlan $(veth) --master lo
	refused 2 "'l4' is not a mode of ipvlan (l2, l3, l3s)" add ipvlan $(veth) --master lo --mode l4
	refused 2 "add veth takes no --master" add veth $(veth) --master lo
	refused 2 "add macvlan takes no --host-ifname or --bridge" add macvlan $(veth) --master lo --bridge x
	refused 2 "set changes --mtu, --up/--down, --addr, --del-addr, --route and --del-route only" set eth0 $(veth) --mac 02:00:00:00:00:01
	refused 2 "bridge: unknown verb 'show'" bridge show x
}

@test "a missing master, bridge or device; an existing name" {
	refused 1 "--master: no interface 'nosuch$N' on the host" add macvlan $(veth) --master "nosuch$N"
	refused 1 "--bridge: no interface 'nosuch$N' on the host" add veth $(veth) --bridge "nosuch$N"
	refused 1 "move: no interface 'nosuch$N' on the host" move "nosuch$N" $(veth)
	ip link add "$VA" type veth peer name "$VB"
	refused 1 "--bridge: '$VA' is not a bridge (it is a veth)" add veth $(veth) --bridge "$VA"
	refused 1 "bridge del: '$VA' is not a bridge (it is a veth)" bridge del "$VA"
	refused 1 "bridge del: no interface 'nosuch$N' on the host" bridge del "nosuch$N"
	# Names that exist: in the namespace, and on the host.
	refused 1 "creating veth 'lo' in /run/netns/$NS: an interface 'lo' exists in /run/netns/$NS" add veth $(veth) --ifname lo
	refused 1 "an interface '$VA' exists on the host" add veth $(veth) --host-ifname "$VA"
	refused 1 "creating macvlan 'lo' on '$VA' in /run/netns/$NS: an interface 'lo' exists in /run/netns/$NS" \
		add macvlan $(veth) --master "$VA" --ifname lo
	refused 1 "creating bridge '$VA': an interface '$VA' exists" bridge add "$VA"
	refused 1 "moving '$VB' into /run/netns/$NS as 'lo': an interface 'lo' exists in /run/netns/$NS" move "$VB" $(veth) --ifname lo
	ip link show dev "$VB" # still on the host
	# An MTU the master cannot carry: the kernel's reason.
	ip link set "$VA" mtu 1400
	refused 1 "creating macvlan 'eth0' on '$VA' in /run/netns/$NS:" add macvlan $(veth) --master "$VA" --mtu 1500
	# del of what ctrk-netif did not add.
	echo '{"netif": {"key": "x", "added": []}}' >"$T/d.json"
	NIN=$T/d.json refused 1 "'eth0' is not an interface ctrk-netif added" del eth0
	echo '{"version":1}' >"$T/empty.json"
	NIN=$T/empty.json refused 1 "the descriptor has no netif" del eth0
	NIN=/dev/null refused 1 "no descriptor on stdin" del eth0
}

@test "hostile descriptors and namespaces" {
	printf '{"netns": 3}' >"$T/a.json"
	NIN=$T/a.json refused 1 "netns" add veth --key "$KEY"
	printf '{"netif": {"key": "../x", "added": []}}' >"$T/b.json"
	NIN=$T/b.json refused 1 "invalid key '../x'" add veth --netns "/run/netns/$NS"
	printf '{"netif": {"key": "x", "added": [{"type": 1}]}}' >"$T/c.json"
	NIN=$T/c.json refused 1 "type" del
	printf '{"netns": "/run/netns/%s", "netif": {"key": "x", "added": [{"type": "bond", "ifname": "eth0"}]}}' "$NS" >"$T/d.json"
	NIN=$T/d.json refused 1 "unknown type 'bond'" del
	printf '{"network": {"cniVersion": "1.0.0", "interfaces": [], "ips": [{"address": "10.0.0.1/24", "interface": 5}]}}' >"$T/e.json"
	NIN=$T/e.json refused 1 "interface" add veth $(veth)
	refused 1 "/nonexistent/ns" add veth --netns /nonexistent/ns --key "$KEY"
	: >"$T/file"
	refused 1 "is not a network namespace" add veth --netns "$T/file" --key "$KEY"
	refused 1 "invalid owner key" add veth --netns "/run/netns/$NS" --key ../../x
	# The host's own namespace: nothing is added, moved or changed there.
	refused 1 "is this process's own network namespace (the host's)" add veth --netns /proc/self/ns/net --key "$KEY"
	refused 1 "is this process's own network namespace (the host's)" set lo --netns /proc/self/ns/net --mtu 1000
	refused 1 "is this process's own network namespace (the host's)" move lo --netns /proc/self/ns/net --key "$KEY"
	# A descriptor of another namespace is not silently rewritten.
	ip netns add "${NSP}b"
	BEFORE=$(leftovers)
	printf '{"netns": "/run/netns/%s", "netif": {"key": "x", "added": []}}' "${NSP}b" >"$T/f.json"
	NIN=$T/f.json refused 1 "the descriptor's netns is '/run/netns/${NSP}b', not '/run/netns/$NS'" add veth $(veth)
	NIN=$T/f.json refused 1 "the descriptor's netns is '/run/netns/${NSP}b', not '/run/netns/$NS'" set lo --netns "/run/netns/$NS" --mtu 1000
	NIN=$T/f.json refused 1 "the descriptor's netns is '/run/netns/${NSP}b', not '/run/netns/$NS'" del --netns "/run/netns/$NS"
	# One descriptor has one owner: del checks the marks against netif.key.
	printf '{"netns": "/run/netns/%s", "netif": {"key": "x", "added": []}}' "$NS" >"$T/h.json"
	NIN=$T/h.json refused 1 "the owner key '$KEY' is not the descriptor's netif.key 'x'" add veth $(veth)
	NIN=$T/h.json refused 1 "the owner key '$KEY' is not the descriptor's netif.key 'x'" move "$VA" $(veth)
}

@test "del and cni never reach the host's links, nor another key's links, namespaces or addresses" {
	# A host veth named in the descriptor as its host side is left alone
	# by del unless it carries the mark of the descriptor's key: not when
	# it has no mark, nor when it has another key's (the group is every
	# key's).
	ip link add "$VA" type veth peer name "$VB"
	printf '{"netns": "/run/netns/%s", "netif": {"key": "x", "added": [{"type": "veth", "ifname": "eth9", "host": "%s"}]}}' \
		"$NS" "$VA" >"$T/a.json"
	for mark in none "other$N"; do
		[[ $mark == none ]] || ip link set "$VA" group 1668575851 alias "ctrk-netif key=$mark created=1"
		run --separate-stderr ctrk-netif del <"$T/a.json"
		assert_success
		[[ $stderr == *"'$VA' on the host does not carry ctrk-netif's mark for key 'x': left alone"* ]]
		ip link show dev "$VA"
	done
	BEFORE=$(leftovers)
	# The host's namespace as the descriptor's (or --pid of a host
	# process): del would remove, or move out and rename, the host's
	# links of those names.
	for netns in /proc/self/ns/net /proc/$$/ns/net; do
		printf '{"netns": "%s", "netif": {"key": "x", "added": [{"type": "veth", "ifname": "%s"}]}}' \
			"$netns" "$VA" >"$T/b.json"
		NIN=$T/b.json refused 1 "is this process's own network namespace (the host's)" del
	done
	printf '{"netif": {"key": "x", "added": [{"type": "move", "ifname": "%s", "device": "%s"}]}}' "$VA" "$VB" >"$T/c.json"
	NIN=$T/c.json refused 1 "is this process's own network namespace (the host's)" del --pid $$
	ip link show dev "$VA"
	# A namespace ctrk-netif made for another key is not removed by a
	# descriptor claiming to have made it.
	ctrk-netif --key "other$N" ns add "${NSP}o" </dev/null >/dev/null
	BEFORE=$(leftovers)
	printf '{"netns": "/run/netns/%s", "netif": {"key": "x", "netns_created": true, "added": []}}' "${NSP}o" >"$T/d.json"
	NIN=$T/d.json refused 1 "ctrk-netif made it for key 'other$N', not for the descriptor's 'x'" del
	# CNI: never on the host's namespace (a plugin's DEL removes
	# CNI_IFNAME there), and never for another container id (IPAM would
	# release that container's addresses).
	jq -n '{cniVersion: "1.0.0", name: "n\($n)", type: "bridge", bridge: "x"}' --arg n "$N" >"$T/n.conf"
	refused 1 "is this process's own network namespace (the host's)" cni --conf "$T/n.conf" add --netns /proc/self/ns/net --key "$KEY"
	refused 1 "is this process's own network namespace (the host's)" cni --conf "$T/n.conf" check --netns /proc/self/ns/net
	printf '{"netns": "/proc/self/ns/net", "netif": {"key": "x", "added": [{"type": "cni", "ifname": "%s", "conf": "%s", "network": "n%s", "container_id": "x"}]}}' \
		"$VA" "$T/n.conf" "$N" >"$T/e.json"
	NIN=$T/e.json refused 1 "is this process's own network namespace (the host's)" del
	printf '{"netns": "/run/netns/%s", "netif": {"key": "x", "added": [{"type": "cni", "ifname": "eth0", "conf": "%s", "network": "n%s", "container_id": "other"}]}}' \
		"$NS" "$T/n.conf" "$N" >"$T/f.json"
	NIN=$T/f.json refused 1 "container_id 'other' is not netif.key 'x'" del
	ip link show dev "$VA"
}

@test "del (teardown) of an empty input is an error: the step before failed, nothing is removed" {
	run -1 --separate-stderr ctrk-netif del </dev/null
	assert_output ""
	assert_regex "$stderr" "^ctrk-netif: error: no descriptor on stdin"
}
