#!/usr/bin/env bats
# ctrk-netif cni --conf FILE add|del|check: Debian's CNI plugins
# (containernetworking-plugins, cniVersion up to 1.0.0) run on namespaces
# the test makes (ct<pid>-<test>…, so 099-leftovers sees any left), on
# bridges it makes (ckb<pid><test>…), with addresses in 10.213.<test>.0/24.
# Everything is removed in teardown, also after a failure.

load helpers

CNI=/usr/lib/cni

setup() {
	netif_setup
	NS=${NSP}a
	NS2=${NSP}b
	BR=ckb$$-${N}a
	BR2=ckb$$-${N}b
	KEY=c$$-$N
	NET=ctn$$-$N
	SUB=10.213.$BATS_TEST_NUMBER # the test's number in this file: at most 255
	ip netns add "$NS"
	ip netns add "$NS2"
}

# Namespaces first (their veths go with them, and the host ends with
# them), then the bridges the plugins made, then what plugins keep on disk.
teardown() {
	netif_teardown "$BR" "$BR2"
	rm -rf "/var/lib/cni/networks/$NET" "/var/lib/cni/networks/${NET}b"
	rm -f /var/lib/cni/tuning/"$KEY"* /var/lib/cni/tuning/"${KEY}"b* 2>/dev/null
	true
}

# bridge_conf BRIDGE ADDRESS [NAME]: a single plugin configuration (.conf):
# bridge BRIDGE, static IPAM giving ADDRESS (gateway .1) and a default route.
bridge_conf() {
	jq -n --arg br "$1" --arg a "$2" --arg gw "$SUB.1" --arg name "${3:-$NET}" '{
		cniVersion: "1.0.0", name: $name, type: "bridge", bridge: $br,
		ipam: {type: "static", addresses: [{address: $a, gateway: $gw}],
		       routes: [{dst: "0.0.0.0/0"}, {dst: "10.99.0.0/16", gw: $gw}]}}'
}

# plugin COMMAND NSPATH CONF TYPE: Debian's plugin TYPE run directly, as a
# runtime runs it, with CONF on stdin; its result on stdout.
plugin() {
	CNI_COMMAND=$1 CNI_CONTAINERID=${KEY}b CNI_NETNS=$2 CNI_IFNAME=eth0 CNI_PATH=$CNI "$CNI/$4" <"$3"
}

# state NS BRIDGE: what a container sees (eth0's flags, MTU, global
# addresses; routes) and BRIDGE's ports, without what differs by run
# (MACs, indexes, names of the host ends).
state() {
	{
		ip netns exec "$1" ip -j addr show dev eth0 |
			jq -c '.[0] | {ifname, flags, mtu, operstate, qdisc, link_type,
				addrs: [.addr_info[] | select(.scope == "global") | {family, local, prefixlen, broadcast}]}'
		ip netns exec "$1" ip -j route | jq -c .
		ip netns exec "$1" ip -j -6 route | jq -c '[.[] | select(.dst | startswith("fe80") | not)]'
		ip -j -d link show master "$2" |
			jq -c '[.[] | {flags, mtu, operstate, group, state: .linkinfo.info_slave_data.state,
				hairpin: .linkinfo.info_slave_data.hairpin, learning: .linkinfo.info_slave_data.learning}]'
		ip -j -d link show "$2" | jq -c '.[0] | {flags, mtu, stp: .linkinfo.info_data.stp_state}'
	}
}

# A CNI result without what differs by run: MACs and the host end's name.
normalize='del(.interfaces[]?.mac) | .interfaces |= map(if (.name | startswith("veth")) then .name = "VETH" else . end)
	| del(.interfaces[]?.sandbox)'

@test "cni add: bridge + static IPAM through ctrk-netif gives the same end state as the plugin run directly" {
	bridge_conf "$BR" "$SUB.2/24" >"$T/a.conf"
	bridge_conf "$BR2" "$SUB.2/24" "${NET}b" >"$T/b.conf"

	nin -0 '' cni --conf "$T/a.conf" --netns "/run/netns/$NS" --key "$KEY" add
	desc=$output
	run plugin ADD "/run/netns/$NS2" "$T/b.conf" bridge
	assert_success
	direct=$output
	echo "# direct: $direct"

	# The kernel's view: the same in both namespaces and on both bridges.
	a=$(state "$NS" "$BR")
	b=$(state "$NS2" "$BR2")
	echo "# ctrk-netif: $a"
	echo "# direct:     $b"
	[[ $a == "$b" ]]
	grep -q "\"local\":\"$SUB.2\"" <<<"$a"
	grep -q '"dst":"10.99.0.0/16","gateway":"'"$SUB.1"'"' <<<"$a"
	[[ $(ip -j link show master "$BR" | jq length) == 1 ]]

	# The descriptor: the plugin's result as network and in the record.
	jq -e --arg ns "/run/netns/$NS" --arg k "$KEY" --arg conf "$T/a.conf" --arg net "$NET" '
		.netns == $ns and .netif.key == $k and (.netif.added | length) == 1 and
		(.netif.added[0] | .type == "cni" and .ifname == "eth0" and .conf == $conf and
		 .network == $net and .container_id == $k and .result.cniVersion == "1.0.0") and
		(.network.interfaces | map(select(.sandbox == $ns)) | .[0].name) == "eth0"' <<<"$desc"
	want=$(jq -cS "del(.dns) | $normalize" <<<"$direct")
	got=$(jq -cS ".network | del(.dns) | $normalize" <<<"$desc" | sed "s/ckb$$-${N}a/ckb$$-${N}b/")
	echo "# want $want"
	echo "# got  $got"
	[[ $got == "$want" ]]
	# The MAC recorded is eth0's.
	mac=$(ip netns exec "$NS" ip -j link show eth0 | jq -r '.[0].address')
	jq -e --arg m "$mac" '.network.interfaces[] | select(.name == "eth0") | .mac == $m' <<<"$desc"

	run plugin DEL "/run/netns/$NS2" "$T/b.conf" bridge
	assert_success
}

@test "cni add: a conflist chains bridge -> tuning, which reads prevResult; check; cniVersions picks 1.0.0" {
	jq -n --arg br "$BR" --arg a "$SUB.2/24" --arg net "$NET" '{
		cniVersion: "1.1.0", cniVersions: ["0.4.0", "1.0.0", "1.1.0"], name: $net,
		plugins: [
			{type: "bridge", bridge: $br, ipam: {type: "static", addresses: [{address: $a}]}},
			{type: "tuning", mac: "02:13:00:00:00:02", mtu: 1400,
			 sysctl: {"net.ipv4.conf.eth0.arp_notify": "1"}}]}' >"$T/chain.conflist"

	nin -0 '' cni --conf "$T/chain.conflist" --netns "/run/netns/$NS" --key "$KEY" add
	desc=$output
	# tuning is a chained plugin: it fails without prevResult, and set
	# the MAC it was given in the result it passed on.
	run ip netns exec "$NS" ip -j link show eth0
	jq -e '.[0].address == "02:13:00:00:00:02" and .[0].mtu == 1400' <<<"$output"
	run ip netns exec "$NS" cat /proc/sys/net/ipv4/conf/eth0/arp_notify
	assert_output 1
	jq -e --arg ns "/run/netns/$NS" '
		(.network.interfaces[] | select(.name == "eth0" and .sandbox == $ns) | .mac) == "02:13:00:00:00:02" and
		.network.ips[0].address == "'"$SUB.2/24"'" and .netif.added[0].result.cniVersion == "1.0.0"' <<<"$desc"

	# check: every plugin's CHECK passes; after the address is removed,
	# bridge's CHECK reports it and check exits 1.
	nin -0 "$desc" cni --conf "$T/chain.conflist" check
	assert_output ""
	ip netns exec "$NS" ip addr del "$SUB.2/24" dev eth0
	nin -1 "$desc" cni --conf "$T/chain.conflist" check
	assert_ni_error "check of CNI network '$NET' on 'eth0': CNI plugin 'bridge' CHECK failed:"
	assert_ni_error "$SUB.2/24"

	nin -0 "$desc" cni --conf "$T/chain.conflist" del
}

@test "cni: Debian's tuning plugin accepts ctrk-netif's own result (add veth) as prevResult" {
	nin -0 '' add veth --netns "/run/netns/$NS" --key "$KEY" --ifname eth0 --addr "$SUB.2/24" --gateway "$SUB.1"
	desc=$output
	jq -e '.network.interfaces | length > 0' <<<"$desc"
	jq --arg net "$NET" '{cniVersion: "1.0.0", name: $net, type: "tuning", mtu: 1300,
		sysctl: {"net.ipv4.conf.eth0.arp_notify": "1"}, prevResult: .network}' <<<"$desc" >"$T/tuning.conf"
	CNI_COMMAND=ADD CNI_CONTAINERID=$KEY CNI_NETNS=/run/netns/$NS CNI_IFNAME=eth0 CNI_PATH=$CNI \
		run --separate-stderr "$CNI/tuning" <"$T/tuning.conf"
	echo "# tuning: $status $output $stderr"
	assert_success
	# It took ctrk's result and passed it on as it is (spec: a chained
	# plugin outputs its prevResult with its changes), but for the
	# interfaces' "mtu", which CNI 1.0's types do not have (1.1 added it).
	got=$(jq -cS "del(.dns)" <<<"$output")
	want=$(jq -cS ".network | del(.dns) | del(.interfaces[].mtu)" <<<"$desc")
	echo "# got  $got"
	echo "# want $want"
	[[ $got == "$want" ]]
	run ip netns exec "$NS" ip -j link show eth0
	jq -e '.[0].mtu == 1300' <<<"$output"
	run ip netns exec "$NS" cat /proc/sys/net/ipv4/conf/eth0/arp_notify
	assert_output 1
	CNI_COMMAND=DEL CNI_CONTAINERID=$KEY CNI_NETNS=/run/netns/$NS CNI_IFNAME=eth0 CNI_PATH=$CNI \
		run "$CNI/tuning" <"$T/tuning.conf"
	assert_success
	nin -0 "$desc" del
}

@test "cni del: removes the interface and its part of network; a second del, and one after the namespace is gone, succeed" {
	bridge_conf "$BR" "$SUB.2/24" >"$T/a.conf"
	bridge_conf "$BR" "$SUB.3/24" "${NET}b" >"$T/b.conf"
	nin -0 '' cni --conf "$T/a.conf" --netns "/run/netns/$NS" --key "$KEY" add
	nin -0 "$output" cni --conf "$T/b.conf" --ifname eth1 add
	both=$output
	jq -e '(.network.interfaces | length) == 6 and (.network.ips | length) == 2 and
		.network.ips[1].interface == 5 and (.netif.added | length) == 2' <<<"$both"
	[[ $(ip -j link show master "$BR" | jq length) == 2 ]]

	# del of the first network: eth0 goes, eth1 stays, and network holds
	# only eth1's part with its index renumbered.
	nin -0 "$both" cni --conf "$T/a.conf" del
	one=$output
	run ip netns exec "$NS" ip -j link show
	jq -e 'map(.ifname) | (index("eth0") == null) and (index("eth1") != null)' <<<"$output"
	[[ $(ip -j link show master "$BR" | jq length) == 1 ]]
	jq -e --arg net "${NET}b" '(.netif.added | length) == 1 and .netif.added[0].network == $net and
		(.network.ips | length) == 1 and .network.ips[0].address == "'"$SUB.3/24"'" and
		(.network.interfaces[.network.ips[0].interface].name) == "eth1" and
		(.network.routes | length) == 2' <<<"$one"

	# Again: nothing of it is left in the descriptor, so nothing is run.
	nin -0 "$one" cni --conf "$T/a.conf" del
	[[ $output == "$(jq -c . <<<"$one")" ]] || jq -e --argjson o "$one" '. == $o' <<<"$output"
	grep -qF "ctrk-netif: note: CNI network '$NET' is not in the descriptor" <<<"$stderr"
	# The old descriptor still lists it: its DEL runs again and succeeds.
	nin -0 "$both" cni --conf "$T/a.conf" del

	# The namespace gone: DEL still succeeds (the plugins release what
	# is outside it), with a note, and the entry goes.
	ip netns del "$NS"
	nin -0 "$one" cni --conf "$T/b.conf" del
	grep -qF "ctrk-netif: note: CNI network '${NET}b' on 'eth1': the namespace is already gone" <<<"$stderr"
	jq -e '.netif.added == [] and .network.interfaces == [] and .network.ips == []' <<<"$output"
}

@test "del (teardown): runs the CNI DEL of cni entries with the built-in ones; a configuration that is gone fails closed" {
	bridge_conf "$BR" "$SUB.3/24" >"$T/a.conf"
	nin -0 '' add veth --netns "/run/netns/$NS" --key "$KEY" --ifname eth0 --addr "$SUB.2/24"
	nin -0 "$output" cni --conf "$T/a.conf" --ifname eth1 add
	desc=$output
	jq -e '(.netif.added | map(.type)) == ["veth", "cni"] and (.network.ips | map(.interface)) == [1, 4]' <<<"$desc"

	# Without its configuration DEL cannot be told what to undo: an
	# error, and nothing is removed (the cni entry is the first undone).
	mv "$T/a.conf" "$T/a.conf.away"
	nin -1 "$desc" del
	assert_ni_error "cannot undo CNI network on 'eth1' (restore the configuration, or run \`ctrk-netif cni --conf FILE del\` with it)"
	assert_output ""
	run ip netns exec "$NS" ip -j link show
	jq -e 'map(.ifname) | index("eth0") != null and index("eth1") != null' <<<"$output"

	mv "$T/a.conf.away" "$T/a.conf"
	nin -0 "$desc" del
	jq -e 'has("netif") or has("network") | not' <<<"$output"
	run ip netns exec "$NS" ip -j link show
	jq -e 'map(.ifname) == ["lo"]' <<<"$output"
	[[ $(ip -j link show master "$BR" | jq length) == 0 ]]
	# Again, from the same descriptor: everything is already gone.
	nin -0 "$desc" del
	# del eth1 alone: the cni entry and its part of network only.
	nin -0 '' add veth --netns "/run/netns/$NS" --key "$KEY" --ifname eth0 --addr "$SUB.2/24"
	nin -0 "$output" cni --conf "$T/a.conf" --ifname eth1 add
	nin -0 "$output" del eth1
	jq -e '(.netif.added | map(.ifname)) == ["eth0"] and (.network.interfaces | map(.name) | index("eth1")) == null and
		(.network.ips | map(.address)) == ["'"$SUB.2/24"'"]' <<<"$output"
	run ip netns exec "$NS" ip -j link show
	jq -e 'map(.ifname) | index("eth0") != null and index("eth1") == null' <<<"$output"
}

@test "cni add: a plugin that fails gives its error, and what the chain made before is undone" {
	# Bad IPAM configuration: the bridge plugin's own error, with its code.
	bridge_conf "$BR" "$SUB.300/24" >"$T/bad.conf"
	nin -1 '' cni --conf "$T/bad.conf" --netns "/run/netns/$NS" --key "$KEY" add
	assert_ni_error "CNI plugin 'bridge' ADD failed: "
	assert_ni_error "$SUB.300/24"
	assert_ni_error "(code "
	assert_output ""

	# The second plugin fails after bridge made eth0: bridge's DEL runs.
	jq -n --arg br "$BR" --arg a "$SUB.2/24" --arg net "$NET" '{cniVersion: "1.0.0", name: $net,
		plugins: [{type: "bridge", bridge: $br, ipam: {type: "static", addresses: [{address: $a}]}},
			  {type: "tuning", mtu: 99999}]}' >"$T/chain.conflist"
	nin -1 '' cni --conf "$T/chain.conflist" --netns "/run/netns/$NS" --key "$KEY" add
	assert_ni_error "CNI plugin 'tuning' ADD failed: "
	assert_output ""
	run ip netns exec "$NS" ip -j link show
	jq -e 'map(.ifname) == ["lo"]' <<<"$output"
	[[ $(ip -j link show master "$BR" | jq length) == 0 ]]

	# A plugin that is not there: nothing runs at all.
	jq '.plugins[1].type = "ctrk-no-such-plugin"' "$T/chain.conflist" >"$T/missing.conflist"
	nin -1 '' cni --conf "$T/missing.conflist" --netns "/run/netns/$NS" --key "$KEY" --cni-path "$CNI" add
	assert_ni_error "CNI plugin 'ctrk-no-such-plugin' not found in '$CNI'"
	[[ $(ip -j link show master "$BR" | jq length) == 0 ]]
}

@test "cni add: a plugin that hangs is killed at CTRK_CNI_TIMEOUT with what it started" {
	mkdir "$T/plugins"
	cat >"$T/plugins/hang" <<-EOF
	#!/bin/sh
	sleep 1000 &
	echo \$! > "$T/sleep.\$CNI_COMMAND"
	wait
	EOF
	chmod +x "$T/plugins/hang"
	jq -n --arg net "$NET" '{cniVersion: "1.0.0", name: $net, type: "hang"}' >"$T/hang.conf"
	start=$(date +%s%N)
	CTRK_CNI_TIMEOUT=1 nin -1 '' cni --conf "$T/hang.conf" --cni-path "$T/plugins" --netns "/run/netns/$NS" \
		--key "$KEY" add
	took=$((($(date +%s%N) - start) / 1000000))
	echo "# took $took ms"
	assert_ni_error "CNI plugin 'hang' ADD failed: '$T/plugins/hang' did not finish in 1 s and was killed"
	# Its DEL (the undo) hangs too, and is killed as well.
	assert_ni_error "CNI plugin 'hang' DEL failed"
	((took >= 2000 && took < 8000))
	# What the plugin started is gone (a zombie at most, until init reaps it).
	for c in ADD DEL; do
		pid=$(cat "$T/sleep.$c")
		state=$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null || echo gone)
		echo "# sleep of $c: $pid $state"
		[[ $state == gone || $state == Z ]]
	done

	CTRK_CNI_TIMEOUT=0 nin -1 '' cni --conf "$T/hang.conf" --cni-path "$T/plugins" --netns "/run/netns/$NS" \
		--key "$KEY" add
	assert_ni_error "invalid CTRK_CNI_TIMEOUT '0': expected seconds, 1 to 3600"
}

@test "cni: a configuration asking for cniVersion 1.1.0 is refused, saying the plugins speak up to 1.0.0" {
	bridge_conf "$BR" "$SUB.2/24" | jq '.cniVersion = "1.1.0"' >"$T/v.conf"
	nin -1 '' cni --conf "$T/v.conf" --netns "/run/netns/$NS" --key "$KEY" add
	assert_ni_error "cniVersion 1.1.0 is not supported: Debian's CNI plugins (containernetworking-plugins) speak cniVersion up to 1.0.0"
	run ip netns exec "$NS" ip -j link show
	jq -e 'map(.ifname) == ["lo"]' <<<"$output"
	! ip link show "$BR" 2>/dev/null

	bridge_conf "$BR" "$SUB.2/24" | jq '.cniVersion = "0.2.0"' >"$T/old.conf"
	nin -1 '' cni --conf "$T/old.conf" --netns "/run/netns/$NS" --key "$KEY" add
	assert_ni_error "cniVersion 0.2.0 is not supported"
	bridge_conf "$BR" "$SUB.2/24" | jq '.cniVersion = "1.0"' >"$T/bad.conf"
	nin -1 '' cni --conf "$T/bad.conf" --netns "/run/netns/$NS" --key "$KEY" add
	assert_ni_error "'1.0' is not a CNI version"
}

@test "cni: a 0.4.0 configuration: the record keeps the plugin's 0.4.0 result, network gets the 1.0 shape; CHECK needs 0.4.0" {
	bridge_conf "$BR" "$SUB.2/24" | jq '.cniVersion = "0.4.0"' >"$T/old.conf"
	nin -0 '' cni --conf "$T/old.conf" --netns "/run/netns/$NS" --key "$KEY" add
	desc=$output
	jq -e '.netif.added[0].result.cniVersion == "0.4.0" and .netif.added[0].result.ips[0].version == "4" and
		.network.cniVersion == "1.0.0" and (.network.ips[0] | has("version") | not) and
		.network.ips[0].address == "'"$SUB.2/24"'"' <<<"$desc"
	nin -0 "$desc" cni --conf "$T/old.conf" check
	jq '.cniVersion = "0.3.1"' "$T/old.conf" >"$T/older.conf"
	nin -1 "$desc" cni --conf "$T/older.conf" check
	assert_ni_error "CHECK needs cniVersion 0.4.0 or later, not 0.3.1"
	nin -0 "$desc" cni --conf "$T/old.conf" del
	run ip netns exec "$NS" ip -j link show
	jq -e 'map(.ifname) == ["lo"]' <<<"$output"
}

@test "cni add --pid: the namespace of a process; the descriptor's path stays its name, another namespace is refused" {
	bridge_conf "$BR" "$SUB.2/24" >"$T/a.conf"
	bridge_conf "$BR" "$SUB.3/24" "${NET}b" >"$T/b.conf"
	netif_sleeper "$NS"
	pid=$SLEEPER
	netif_sleeper "$NS2"
	pid2=$SLEEPER
	# No netns in the descriptor: /proc/PID/ns/net is the path.
	nin -0 '' cni --conf "$T/a.conf" --pid "$pid" --key "$KEY" add
	jq -e --arg p "/proc/$pid/ns/net" '.netns == $p and .network.interfaces[2].sandbox == $p' <<<"$output"
	desc=$output
	run ip netns exec "$NS" ip -j addr show eth0
	jq -e '.[0].addr_info | map(.local) | index("'"$SUB.2"'") != null' <<<"$output"
	nin -0 "$desc" cni --conf "$T/a.conf" del
	run ip netns exec "$NS" ip -j link show
	jq -e 'map(.ifname) == ["lo"]' <<<"$output"

	# The descriptor names the namespace: its path is CNI_NETNS.
	desc=$(jq -n --arg p "/run/netns/$NS" --arg k "$KEY" '{version: 1, netns: $p, netif: {key: $k, added: []}}')
	nin -0 "$desc" cni --conf "$T/b.conf" --pid "$pid" --ifname eth1 add
	jq -e --arg p "/run/netns/$NS" '.netns == $p and .network.interfaces[2].sandbox == $p' <<<"$output"
	nin -0 "$output" cni --conf "$T/b.conf" del
	run ip netns exec "$NS" ip -j link show
	jq -e 'map(.ifname) == ["lo"]' <<<"$output"
	nin -1 "$desc" cni --conf "$T/b.conf" --pid "$pid2" --ifname eth1 add
	assert_ni_error "the descriptor's netns is '/run/netns/$NS', not '/proc/$pid2/ns/net'; one descriptor describes one namespace"
	run ip netns exec "$NS2" ip -j link show
	jq -e 'map(.ifname) == ["lo"]' <<<"$output"
}

@test "cni: a plugin type (or IPAM type) with '/' is refused, and so is other bad input" {
	for t in ../../bin/sh /bin/sh . ..; do
		bridge_conf "$BR" "$SUB.2/24" | jq --arg t "$t" '.type = $t' >"$T/slash.conf"
		nin -1 '' cni --conf "$T/slash.conf" --netns "/run/netns/$NS" --key "$KEY" add
		assert_ni_error "invalid plugin type '$t': a plugin is a file name in the CNI path, without '/'"
	done
	jq -n --arg net "$NET" '{cniVersion: "1.0.0", name: $net,
		plugins: [{type: "bridge", ipam: {type: "../host-local"}}]}' >"$T/ipam.conflist"
	nin -1 '' cni --conf "$T/ipam.conflist" --netns "/run/netns/$NS" --key "$KEY" add
	assert_ni_error "plugins[0]: invalid IPAM plugin type '../host-local'"
	run ip netns exec "$NS" ip -j link show
	jq -e 'map(.ifname) == ["lo"]' <<<"$output"

	bridge_conf "$BR" "$SUB.2/24" >"$T/a.conf"
	nin -2 '' cni add
	assert_ni_error "--conf FILE is required"
	nin -2 '' cni --conf "$T/a.conf" frob
	assert_ni_error "unknown action 'frob'"
	nin -2 '' cni --conf "$T/a.conf" --ifname eth0/x add
	assert_ni_error "--ifname: interface name 'eth0/x' holds '/', which the kernel refuses"
	nin -2 '' cni --conf "$T/a.conf" --ifname eth0123456789abc add
	assert_ni_error "--ifname: interface name 'eth0123456789abc' is 16 bytes, the kernel takes at most 15"
	nin -1 '' cni --conf "$T/nonexistent.conf" --netns "/run/netns/$NS" add
	assert_ni_error "cannot open CNI configuration"
	jq '.name = "../x"' "$T/a.conf" >"$T/name.conf"
	nin -1 '' cni --conf "$T/name.conf" --netns "/run/netns/$NS" --key "$KEY" add
	assert_ni_error "invalid network name '../x'"
	jq -n '{cniVersion: "1.0.0", name: "x", plugins: []}' >"$T/empty.conflist"
	nin -1 '' cni --conf "$T/empty.conflist" --netns "/run/netns/$NS" --key "$KEY" add
	assert_ni_error "field 'plugins' must list 1 to 64 plugins"
	# The same network twice on one interface.
	nin -0 '' cni --conf "$T/a.conf" --netns "/run/netns/$NS" --key "$KEY" add
	desc=$output
	nin -1 "$desc" cni --conf "$T/a.conf" add
	assert_ni_error "CNI network '$NET' is already attached as 'eth0'"
	nin -1 "$desc" cni --conf "$T/a.conf" --ifname eth1 --key other add
	assert_ni_error "the owner key 'other' is not the descriptor's netif.key '$KEY'"
	nin -1 '' cni --conf "$T/a.conf" --netns "/run/netns/$NS2" --key _x add
	assert_ni_error "the owner key '_x' cannot be a CNI container id"
	run ip netns exec "$NS2" ip -j link show
	jq -e 'map(.ifname) == ["lo"]' <<<"$output"
	nin -0 "$desc" cni --conf "$T/a.conf" del
}

@test "cni add: a plugin's hostile output is refused, naming the field, and its work undone" {
	mkdir "$T/plugins"
	# A plugin that answers ADD with RESULT and records each command.
	evil() {
		cat >"$T/plugins/evil" <<-EOF
		#!/bin/sh
		echo "\$CNI_COMMAND \$CNI_CONTAINERID \$CNI_IFNAME \$CNI_NETNS \$CNI_PATH" >> "$T/calls"
		cat > "$T/stdin.\$CNI_COMMAND"
		[ "\$CNI_COMMAND" = ADD ] && $1
		exit 0
		EOF
		chmod +x "$T/plugins/evil"
		rm -f "$T/calls"
	}
	jq -n --arg net "$NET" '{cniVersion: "1.0.0", name: $net, type: "evil", capabilities: {mac: true}, x: [1]}' \
		>"$T/evil.conf"
	run_evil() {
		nin "$@" '' cni --conf "$T/evil.conf" --cni-path "$T/plugins" --netns "/run/netns/$NS" --key "$KEY" add
	}

	evil "echo '{\"cniVersion\":\"1.0.0\",\"interfaces\":[{\"name\":\"eth0\"}],\"ips\":[{\"address\":\"10.0.0.1/33\",\"interface\":0}]}'"
	run_evil -1
	assert_ni_error "the result of CNI plugin 'evil' ADD: field 'ips[0].address' must be an address with a prefix (CIDR), not '10.0.0.1/33'"
	assert_output ""
	# ADD, then the DEL that undoes it, with the CNI environment.
	run cat "$T/calls"
	assert_output "ADD $KEY eth0 /run/netns/$NS $T/plugins
DEL $KEY eth0 /run/netns/$NS $T/plugins"
	# The request: name and version injected, capabilities dropped, the
	# plugin's own fields kept; no prevResult for the first ADD.
	jq -e --arg net "$NET" '.name == $net and .cniVersion == "1.0.0" and .type == "evil" and .x == [1] and
		(has("capabilities") | not) and (has("prevResult") | not)' "$T/stdin.ADD"

	evil "echo '{\"cniVersion\":\"1.0.0\",\"interfaces\":[{\"name\":\"eth0\"}],\"ips\":[{\"address\":\"10.0.0.1/24\",\"interface\":3}]}'"
	run_evil -1
	assert_ni_error "field 'ips[0].interface' must be an integer from 0 to 0"
	evil "echo '{\"cniVersion\":\"1.0.0\",\"interfaces\":[{\"name\":7}]}'"
	run_evil -1
	assert_ni_error "field 'interfaces[0].name' must be a string"
	evil "echo '{\"cniVersion\":\"1.0.0\",\"routes\":[{\"dst\":\"0.0.0.0/0\",\"gw\":\"nowhere\"}]}'"
	run_evil -1
	assert_ni_error "field 'routes[0].gw' must be an IP address"
	evil "echo '{\"interfaces\":[]}'"
	run_evil -1
	assert_ni_error "missing field 'cniVersion'"
	evil "echo '{\"cniVersion\":\"1.0.0\"} trailing'"
	run_evil -1
	assert_ni_error "the result of CNI plugin 'evil' ADD"
	evil "yes | head -c 2000000"
	run_evil -1
	assert_ni_error "output of '$T/plugins/evil' larger than 1048576 bytes"
	evil "echo '{\"cniVersion\":\"1.0.0\",\"code\":7,\"msg\":\"Invalid Configuration\",\"details\":\"too small\"}'; exit 1"
	run_evil -1
	assert_ni_error "CNI plugin 'evil' ADD failed: Invalid Configuration: too small (code 7)"
	evil "echo not json; exit 3"
	run_evil -1
	assert_ni_error "CNI plugin 'evil' ADD failed with exit status 3: not json"

	# A good result is stored; DEL gets it as prevResult.
	evil "echo '{\"cniVersion\":\"1.0.0\",\"interfaces\":[{\"name\":\"eth0\",\"sandbox\":\"/x\"}],\"ips\":[{\"address\":\"10.213.0.9/24\",\"interface\":0}]}'"
	run_evil -0
	desc=$output
	nin -0 "$desc" cni --conf "$T/evil.conf" --cni-path "$T/plugins" del
	jq -e '.prevResult.ips[0].address == "10.213.0.9/24" and .prevResult.interfaces[0].sandbox == "/x"' "$T/stdin.DEL"
	jq -e '.network.interfaces == [] and .network.ips == [] and .netif.added == []' <<<"$output"
}
