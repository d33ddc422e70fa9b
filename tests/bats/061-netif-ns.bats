#!/usr/bin/env bats
# ctrk-netif ns add|del|list, and the namespace options --netns and --pid:
# real namespaces pinned in /run/netns, named ct<pid>-<test>… so that
# 099-leftovers sees any left behind.

load helpers

GROUP=1668575851 # NETIF_GROUP, 0x6374726b

setup() {
	netif_setup
	NS=${NSP}a
	NS2=${NSP}b
	NSLONG=${NSP}x$(printf 'x%.0s' {1..255})
	NSLONG=${NSLONG:0:255}
}

teardown() {
	netif_teardown
}

# lo_json NS: lo of namespace NS as ip -d -j shows it.
lo_json() {
	ip netns exec "$1" ip -d -j link show lo | jq -c '.[0]'
}

@test "ns add: a namespace in /run/netns with lo up and marked, usable by ip netns exec and ip netns del" {
	nin -0 '' ns add "$NS"
	jq -e --arg p "/run/netns/$NS" --arg k "$NS" \
		'.version == 1 and .netns == $p and .netif.netns_created == true and .netif.key == $k and .netif.added == []' \
		<<<"$output"
	# A namespace is mounted there, and /run/netns is a shared mount (as ip makes it).
	run findmnt -n -o FSTYPE "/run/netns/$NS"
	assert_output nsfs
	run findmnt -n -o PROPAGATION /run/netns
	assert_output --partial shared
	lo=$(lo_json "$NS")
	echo "# lo: $lo"
	jq -e '.flags | index("UP")' <<<"$lo"
	jq -e --arg g "$GROUP" --arg k "$NS" \
		'(.group | tostring) == $g and (.ifalias | test("^ctrk-netif key=" + $k + " created=[0-9]+$"))' <<<"$lo"
	# lo works: a datagram to 127.0.0.1 inside the namespace (no ping here).
	run ip netns exec "$NS" "$PYTHON" -c 'import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(2)
s.bind(("127.0.0.1", 0))
s.sendto(b"ctrk", s.getsockname())
print(s.recv(16).decode())'
	assert_output ctrk
	# It is a namespace of its own, not the host's.
	[[ $(stat -L -c %i "/run/netns/$NS") != $(stat -L -c %i /proc/self/ns/net) ]]
	run ip netns del "$NS"
	assert_success
	[[ ! -e /run/netns/$NS ]]
}

@test "ns add: where /run/netns is no mount point yet, it becomes a shared bind mount of itself, as ip makes it" {
	# In a mount namespace of its own with an empty /run, so that the host's
	# /run/netns is not touched; the namespace dies with that mount namespace.
	run unshare -m --propagation private sh -c '
		mount -t tmpfs tmpfs /run || exit 9
		ctrk-netif ns add "$1" </dev/null >/dev/null || exit 8
		findmnt -n -o FSTYPE,PROPAGATION /run/netns | tail -1
		findmnt -n -o FSTYPE "/run/netns/$1"
		ip netns exec "$1" ip -j link show lo | jq -r ".[0].flags | index(\"UP\") != null"
		# findmnt also lists mounts at /run/netns that the new /run hides
		# (the host'"'"'s own, where /run is a tmpfs): count what the
		# second add changes, not all of them.
		before=$(findmnt -n -o FSTYPE /run/netns | grep -c tmpfs)
		ctrk-netif ns add "$1" </dev/null 2>/dev/null && exit 7
		echo "stacked $(($(findmnt -n -o FSTYPE /run/netns | grep -c tmpfs) - before))"' _ "$NS"
	assert_success
	assert_output "tmpfs  shared
nsfs
true
stacked 0"
	[[ ! -e /run/netns/$NS ]]
}

@test "ns add: other fields pass through; the descriptor's container id is the key" {
	in='{"version":1,"container":{"id":"c-'$$'"},"snapshot":{"key":"s1"},"extra":{"a":[1,2]}}'
	nin -0 "$in" ns add "$NS"
	jq -e --arg p "/run/netns/$NS" --arg k "c-$$" \
		'.netns == $p and .netif.key == $k and .netif.netns_created == true and .extra == {"a":[1,2]} and
		 .container == {"id": $k} and .snapshot == {"key":"s1"}' <<<"$output"
	[[ $(jq -s length <<<"$output") == 1 ]]
	lo=$(lo_json "$NS")
	jq -e --arg k "c-$$" '.ifalias | startswith("ctrk-netif key=" + $k + " ")' <<<"$lo"
	# --key wins over the descriptor.
	nin -0 "$in" --key "k$$" ns add "$NS2"
	jq -e --arg k "k$$" '.netif.key == $k' <<<"$output"
	jq -e --arg k "k$$" '.ifalias | startswith("ctrk-netif key=" + $k + " ")' <<<"$(lo_json "$NS2")"
}

@test "ns add: a descriptor that already has a netns (a path or an object) is refused, nothing made" {
	nin -1 '{"version":1,"netns":"/run/netns/other"}' ns add "$NS"
	assert_ni_error "already has a network namespace ('/run/netns/other')"
	assert_output ""
	nin -1 '{"version":1,"netns":{"path":"/run/netns/other"}}' ns add "$NS"
	assert_ni_error "already has a network namespace ('/run/netns/other')"
	nin -1 '{"version":1,"netns":{"pat":"/x"}}' ns add "$NS"
	assert_ni_error "netns"
	nin -1 '{"version":1,"netns":7}' ns add "$NS"
	assert_ni_error "netns"
	[[ ! -e /run/netns/$NS ]]
	# An owner key that is not a valid key (from the name) is refused too.
	nin -1 '' ns add -- "-$NS"
	assert_ni_error "invalid owner key"
	[[ ! -e /run/netns/-$NS ]]
}

@test "ns del: removes it; a second del says it is already gone and succeeds" {
	nin -0 '' ns add "$NS"
	nin -0 '' ns del "$NS"
	assert_output ""
	[[ ! -e /run/netns/$NS ]]
	run findmnt -n "/run/netns/$NS"
	assert_failure
	nin -0 '' ns del "$NS"
	assert_output ""
	[[ $stderr == "ctrk-netif: note: namespace '$NS' is already gone" ]]
	nin -0 '' -q ns del "$NS"
	assert_equal "$stderr" ""
	# ns del works on a namespace ip made, as ip netns del would.
	ip netns add "$NS2"
	nin -0 '' ns del "$NS2"
	[[ ! -e /run/netns/$NS2 ]]
}

@test "ns list: names; --json says which ctrk-netif made, for whom, and which processes are in it" {
	nin -0 '' ns add "$NS"
	ip netns add "$NS2"
	nin -0 '' ns list
	assert_line "$NS"
	assert_line "$NS2"
	netif_sleeper "$NS"
	pid=$SLEEPER
	nin -0 '' ns list --json
	jq -e --arg n "$NS" --arg p "/run/netns/$NS" --argjson pid "$pid" \
		'.[] | select(.name == $n) | .path == $p and .ctrk == true and .key == $n and
		 (.created | type == "number") and .pids == [$pid]' <<<"$output"
	jq -e --arg n "$NS2" '.[] | select(.name == $n) | .ctrk == false and .pids == [] and (has("key") | not)' <<<"$output"
	# Sorted by name.
	jq -e 'map(.name) == (map(.name) | sort)' <<<"$output"
}

@test "ns add: an existing name is an error and changes nothing" {
	ip netns add "$NS"
	before=$(lo_json "$NS")
	ino=$(stat -L -c %i "/run/netns/$NS")
	nin -1 '' ns add "$NS"
	assert_ni_error "namespace '/run/netns/$NS' already exists"
	assert_output ""
	[[ $(stat -L -c %i "/run/netns/$NS") == "$ino" ]]
	assert_equal "$(lo_json "$NS")" "$before"
	jq -e '.flags | index("UP") | not' <<<"$before"
	# One mount there, not two.
	[[ $(findmnt -n -o TARGET "/run/netns/$NS" | wc -l) == 1 ]]
	# And ours the same way: the first stays as it was.
	nin -0 '' ns add "$NS2"
	ino=$(stat -L -c %i "/run/netns/$NS2")
	nin -1 '' ns add "$NS2"
	assert_ni_error "already exists"
	[[ $(stat -L -c %i "/run/netns/$NS2") == "$ino" ]]
}

@test "ns add|del: bad names are refused, nothing made" {
	for name in "" ".$NS" "." ".." "$NS/x" "../$NS" "$NS x" "$NS:x" "${NSLONG}y" $'ct\n1'; do
		nin -2 '' ns add "$name"
		assert_ni_error "invalid namespace name"
		nin -2 '' ns del "$name"
		assert_ni_error "invalid namespace name"
	done
	# (Other runs may add namespaces meanwhile: only this run's names count.)
	run bash -c "ls -A /run/netns | grep -F 'ct$$-'"
	assert_output ""
	[[ ! -e /run/$NS ]]
	# 255 bytes is the longest name.
	nin -0 '' --key "k$$" ns add "$NSLONG"
	[[ $(findmnt -n -o FSTYPE "/run/netns/$NSLONG") == nsfs ]]
	nin -0 '' ns del "$NSLONG"
	[[ ! -e /run/netns/$NSLONG ]]
}

@test "--pid: the namespace of that process (through a pidfd)" {
	nin -0 '' ns add "$NS"
	ip link add "ck$$p$N" type veth peer name "ck$$q$N" netns "$NS"
	netif_sleeper "$NS"
	pid=$SLEEPER
	nin -0 '' --pid "$pid" list --json
	assert_output --partial "\"ck$$q$N\""
	refute_output --partial "\"ck$$p$N\""
	nin -0 '' --netns "/run/netns/$NS" list --json
	assert_output --partial "\"ck$$q$N\""
	# unshare -n: a namespace that is in no file at all.
	netif_sleeper
	pid2=$SLEEPER
	nin -0 '' --pid "$pid2" list --json
	refute_output --partial "\"ck$$q$N\""
	assert_output --partial '"lo"'
}

@test "--pid of a dead process, --netns of what is not a network namespace: errors" {
	true &
	dead=$!
	wait "$dead"
	nin -1 '' --pid "$dead" list
	assert_ni_error "--pid $dead: no such process"
	echo x >"$T/file"
	nin -1 '' --netns "$T/file" list
	assert_ni_error "'$T/file' is not a network namespace"
	nin -1 '' --netns "$T/missing" list
	assert_ni_error "cannot open network namespace '$T/missing'"
	nin -1 '' --netns /proc/self/ns/uts list
	assert_ni_error "is a namespace, but not a network namespace"
	# A FIFO is never opened for real (that would block).
	mkfifo "$T/fifo"
	run --separate-stderr timeout 5 ctrk-netif --netns "$T/fifo" list
	assert_failure 1
	assert_ni_error "'$T/fifo' is not a network namespace"
	# A file left where a namespace was (nothing mounted on it).
	touch "/run/netns/$NS"
	nin -1 '' --netns "/run/netns/$NS" list
	assert_ni_error "is not a network namespace (no namespace is mounted there)"
	rm -f "/run/netns/$NS"
	# Both --netns and --pid: a usage error, whatever the verb.
	nin -2 '' --netns /proc/self/ns/net --pid $$ ns list
	assert_ni_error "--netns and --pid: give one, not both"
}

@test "a link table that changes while it is read: ns list --json reads it again, list says so; neither hangs" {
	nin -0 '' ns add "$NS"
	# Enough links for a dump of several datagrams, which is what the
	# kernel can mark as interrupted (NLM_F_DUMP_INTR).
	for i in $(seq 1 150); do echo "link add ckd$i type veth peer name cke$i"; done | ip -n "$NS" -batch -
	(while :; do
		ip -n "$NS" link add ckz type veth peer name cky 2>/dev/null
		ip -n "$NS" link del ckz 2>/dev/null
	done) &
	track_pid $!
	local changed=0 i
	for i in $(seq 1 30); do
		run --separate-stderr timeout 10 ctrk-netif ns list --json
		assert_success
		jq -e --arg n "$NS" '.[] | select(.name == $n) | .ctrk == true' <<<"$output" >/dev/null
		run --separate-stderr timeout 10 ctrk-netif --netns "/run/netns/$NS" list --json
		if ((status == 1)); then
			assert_ni_error "listing links: the table changed while it was read"
			changed=$((changed + 1))
		else
			assert_success
		fi
	done
	echo "# list saw the table change $changed times of 30" >&3
}
