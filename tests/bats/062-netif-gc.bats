#!/usr/bin/env bats
# ctrk-netif gc: what killed runs left, found by the owner mark (link group
# 0x6374726b and alias "ctrk-netif key=KEY created=T") on host links and on
# lo of namespaces in /run/netns.  Leftovers are made with ip here, with
# keys and names unique to the run; gc always gets the test's KEYs (the
# host may have other ctrk-netif links).

load helpers

GROUP=0x6374726b

setup() {
	netif_setup
	# Keys are the namespaces' names, $NSP<x>; links ck<pid>t<test><x>.
	KA=${NSP}a
	KB=${NSP}b
	KC=${NSP}c
	L=ck$$t$N
	mkdir -p "$CTRK_RUN"
}

teardown() {
	netif_teardown "$L*"
}

# leftover NAME KEY [CREATED] [MORE ip link set ARGS]: a veth pair NAME /
# NAME-p with the owner mark of KEY on NAME (created at CREATED, default 0:
# long ago), as a killed run leaves it.
leftover() {
	local name=$1 key=$2 created=${3:-0}
	ip link add "$name" type veth peer name "${name}p"
	ip link set "$name" group "$GROUP" alias "ctrk-netif key=$key created=$created"
}

# marked_ns NAME KEY [CREATED]: a namespace whose lo carries KEY's mark.
marked_ns() {
	ctrk-netif --key "$2" ns add "$1" </dev/null >/dev/null
	[[ -z ${3:-} ]] || ip netns exec "$1" ip link set lo alias "ctrk-netif key=$2 created=$3"
}

link_exists() {
	ip link show "$1" >/dev/null 2>&1
}

@test "gc KEY: removes the key's marked links in one go, and only the key's" {
	leftover "${L}a" "$KA"
	leftover "${L}b" "$KA"
	leftover "${L}c" "$KB"
	ni -0 gc "$KA"
	assert_line "removed link ${L}a (key $KA)"
	assert_line "removed link ${L}b (key $KA)"
	[[ ${#lines[@]} == 2 ]]
	! link_exists "${L}a"
	! link_exists "${L}ap" # the veth's other end goes with it
	! link_exists "${L}b"
	link_exists "${L}c"
	# Nothing left of KA: a second gc has nothing to do.
	ni -0 gc "$KA"
	assert_output ""
	ni -0 gc "$KA" "$KB"
	assert_output "removed link ${L}c (key $KB)"
	! link_exists "${L}c"
}

@test "gc: a link without the group is never touched, even with a matching alias; nor one with the group and another alias" {
	ip link add "${L}a" type veth peer name "${L}ap"
	ip link set "${L}a" alias "ctrk-netif key=$KA created=0"
	ip link add "${L}b" type veth peer name "${L}bp"
	ip link set "${L}b" group "$GROUP" alias "not ctrk-netif key=$KA created=0"
	ip link add "${L}c" type veth peer name "${L}cp"
	ip link set "${L}c" group "$GROUP" alias "ctrk-netif key=$KA"
	ni -0 gc --min-age 0 "$KA"
	assert_output ""
	link_exists "${L}a"
	link_exists "${L}b"
	link_exists "${L}c"
}

@test "gc: deletes through the group 0x6374726c; a gc killed midway leaves marked links there, a later gc finds them; a foreign link in that group is never touched" {
	leftover "${L}a" "$KA"
	ip link add "${L}b" type veth peer name "${L}bp"
	ip link set "${L}b" group 0x6374726c alias "ctrk-netif key=$KA created=0"
	ni -0 gc "$KA"
	assert_line "removed link ${L}a (key $KA)"
	assert_line "removed link ${L}b (key $KA)"
	! link_exists "${L}a"
	! link_exists "${L}b"
	# Someone else's link in that group: gc deletes its garbage one by one
	# and leaves that link alone.
	ip link add "${L}c" type veth peer name "${L}cp"
	ip link set "${L}c" group 0x6374726c
	leftover "${L}d" "$KA"
	ni -0 gc "$KA"
	assert_output "removed link ${L}d (key $KA)"
	! link_exists "${L}d"
	link_exists "${L}c"
	# A kept link found in that group goes back to the owner group.
	ip link add "${L}e" type veth peer name "${L}ep"
	ip link set "${L}e" group 0x6374726c alias "ctrk-netif key=$KB created=$(date +%s)"
	ip link del "${L}c"
	ni -0 gc "$KB"
	assert_output ""
	[[ $(ip -j -d link show "${L}e" | jq -r '.[0].group') == 1668575851 ]]
}

@test "gc --dry-run: says what it would remove and removes nothing" {
	leftover "${L}a" "$KA"
	marked_ns "$KA" "$KA" 0
	ni -0 gc --dry-run "$KA"
	assert_line "would remove link ${L}a (key $KA)"
	assert_line "would remove namespace /run/netns/$KA (key $KA)"
	link_exists "${L}a"
	[[ $(findmnt -n -o FSTYPE "/run/netns/$KA") == nsfs ]]
	ni -0 gc --dry-run --json "$KA"
	jq -e --arg l "${L}a" --arg k "$KA" --arg p "/run/netns/$KA" \
		'.dry_run == true and .links == [{"name": $l, "key": $k}] and
		 .namespaces == [{"name": $k, "path": $p, "key": $k}]' <<<"$output"
	link_exists "${L}a"
	[[ -e /run/netns/$KA ]]
	# And for real.
	ni -0 gc --json "$KA"
	jq -e --arg l "${L}a" --arg k "$KA" --arg p "/run/netns/$KA" \
		'has("dry_run") == false and .links == [{"name": $l, "key": $k}] and
		 .namespaces == [{"name": $k, "path": $p, "key": $k}]' <<<"$output"
	! link_exists "${L}a"
	[[ ! -e /run/netns/$KA ]]
}

@test "gc --min-age: marks younger than it keep their key (default 60 s)" {
	now=$(date +%s)
	leftover "${L}a" "$KA" "$now"
	leftover "${L}b" "$KB" $((now - 61))
	# KC: an old link, but its namespace was marked just now.
	leftover "${L}c" "$KC" 0
	marked_ns "$KC" "$KC"
	ni -0 gc "$KA" "$KB" "$KC"
	assert_output "removed link ${L}b (key $KB)"
	link_exists "${L}a"
	link_exists "${L}c"
	[[ -e /run/netns/$KC ]]
	ni -0 gc --min-age 3600 "$KA" "$KC"
	assert_output ""
	ni -0 gc --min-age 0 "$KA" "$KC"
	assert_line "removed link ${L}a (key $KA)"
	assert_line "removed link ${L}c (key $KC)"
	assert_line "removed namespace /run/netns/$KC (key $KC)"
	! link_exists "${L}a"
	! link_exists "${L}c"
	[[ ! -e /run/netns/$KC ]]
}

@test "gc: a key in use is kept: a process in its namespace, or a container of that name in \$CTRK_RUN" {
	marked_ns "$KA" "$KA" 0
	ip link add "${L}a" group "$GROUP" type veth peer name eth0 netns "$KA"
	ip link set "${L}a" alias "ctrk-netif key=$KA created=0"
	netif_sleeper "$KA"
	pid=$SLEEPER
	leftover "${L}b" "$KB"
	mkdir "$CTRK_RUN/$KB"
	ni -0 gc --min-age 0 "$KA" "$KB"
	assert_output ""
	link_exists "${L}a"
	link_exists "${L}b"
	[[ -e /run/netns/$KA ]]
	# Once the process is gone and the container too, they go.
	kill "$pid"
	wait "$pid" || true
	rmdir "$CTRK_RUN/$KB"
	ni -0 gc --min-age 0 "$KA" "$KB"
	assert_line "removed link ${L}a (key $KA)"
	assert_line "removed link ${L}b (key $KB)"
	assert_line "removed namespace /run/netns/$KA (key $KA)"
	! link_exists "${L}a"
	! link_exists "${L}b"
	[[ ! -e /run/netns/$KA ]]
	run findmnt -n "/run/netns/$KA"
	assert_failure
}

@test "gc: a link whose other end is in a namespace a process is in is kept, whatever its key" {
	# A namespace ctrk-netif did not make (as with --pid of a container).
	netif_sleeper
	pid=$SLEEPER
	ip link add "${L}a" group "$GROUP" type veth peer name eth0 netns "/proc/$pid/ns/net"
	ip link set "${L}a" alias "ctrk-netif key=$KA created=0"
	# One marked for KB whose namespace (marked for KC) has a process.
	marked_ns "$KC" "$KC" 0
	ip link add "${L}b" group "$GROUP" type veth peer name eth0 netns "$KC"
	ip link set "${L}b" alias "ctrk-netif key=$KB created=0"
	netif_sleeper "$KC"
	pid2=$SLEEPER
	ni -0 gc --min-age 0 "$KA" "$KB" "$KC"
	assert_output ""
	link_exists "${L}a"
	link_exists "${L}b"
	[[ -e /run/netns/$KC ]]
	kill "$pid" "$pid2"
	wait "$pid" "$pid2" || true
	# The unshare'd namespace died with its process, and the veth with it.
	for ((i = 0; i < 50; i++)); do
		link_exists "${L}a" || break
		sleep 0.1
	done
	ni -0 gc --min-age 0 "$KA" "$KB" "$KC"
	assert_line "removed link ${L}b (key $KB)"
	assert_line "removed namespace /run/netns/$KC (key $KC)"
	! link_exists "${L}a"
	! link_exists "${L}b"
}

@test "gc: a namespace only ip made, or marked for another key, is not touched" {
	ip netns add "$KA"
	marked_ns "$KB" "$KC" 0
	ni -0 gc --min-age 0 "$KA" "$KB"
	assert_output ""
	[[ $(findmnt -n -o FSTYPE "/run/netns/$KA") == nsfs ]]
	[[ $(findmnt -n -o FSTYPE "/run/netns/$KB") == nsfs ]]
	ni -0 gc --min-age 0 "$KC"
	assert_output "removed namespace /run/netns/$KB (key $KC)"
	[[ -e /run/netns/$KA ]]
}

@test "gc: a host link with the group but no alias goes with the key of the namespace its peer is in" {
	marked_ns "$KA" "$KA" 0
	# A run killed between the request that made the veth and the alias.
	ip link add "${L}a" group "$GROUP" type veth peer name eth0 netns "$KA"
	# The same with no namespace to tie it to: no key is its.
	ip link add "${L}b" group "$GROUP" type veth peer name "${L}bp"
	ni -0 gc --min-age 0 "$KA"
	assert_line "removed link ${L}a (key $KA)"
	assert_line "removed namespace /run/netns/$KA (key $KA)"
	[[ ${#lines[@]} == 2 ]]
	! link_exists "${L}a"
	link_exists "${L}b"
}

@test "gc: a marked bridge stays while a link gc keeps is its port" {
	ip link add "${L}br" type bridge
	ip link set "${L}br" group "$GROUP" alias "ctrk-netif key=$KA created=0"
	ip link add "${L}a" type veth peer name "${L}ap"
	ip link set "${L}a" master "${L}br"
	ni -0 gc --min-age 0 "$KA"
	assert_output ""
	link_exists "${L}br"
	# A port that is garbage itself does not keep it.
	ip link set "${L}a" group "$GROUP" alias "ctrk-netif key=$KA created=0"
	ni -0 gc --min-age 0 "$KA"
	assert_line "removed link ${L}br (key $KA)"
	assert_line "removed link ${L}a (key $KA)"
	! link_exists "${L}br"
}

@test "gc KEY: a file /run/netns/KEY with nothing mounted on it (ns add killed before the bind) goes once old" {
	mkdir -p /run/netns
	: >"/run/netns/$KA"
	ni -0 gc "$KA"
	assert_output ""
	[[ -e /run/netns/$KA ]]
	touch -d '2 minutes ago' "/run/netns/$KA"
	ni -0 gc "$KA"
	assert_output "removed namespace /run/netns/$KA (key $KA)"
	[[ ! -e /run/netns/$KA ]]
	# Not a file with content, and not one whose name is no KEY given.
	echo data >"/run/netns/$KB"
	touch -d '2 minutes ago' "/run/netns/$KB"
	ni -0 gc "$KB" "$KA"
	assert_output ""
	[[ -e /run/netns/$KB ]]
}

@test "gc: an invalid KEY is a usage error; nothing is removed" {
	leftover "${L}a" "$KA"
	for k in "-$KA" ".$KA" "$KA/x" "$(printf 'k%.0s' {1..129})"; do
		ni -2 gc "$KA" -- "$k"
		assert_output ""
		grep -qE "^ctrk-netif: error: invalid key" <<<"$stderr"
	done
	link_exists "${L}a"
}

@test "gc: 50 leftover links in one batch (time printed, not asserted)" {
	for i in $(seq 1 50); do
		echo "link add ${L}x$i group $GROUP type veth peer name ${L}y$i"
		echo "link set ${L}x$i alias \"ctrk-netif key=$KA created=0\""
	done >"$T/batch"
	ip -batch "$T/batch"
	start=$(date +%s%N)
	ni -0 gc "$KA"
	end=$(date +%s%N)
	echo "# gc of 50 links: $(((end - start) / 1000000)) ms"
	[[ ${#lines[@]} == 50 ]]
	[[ -z $(ip -j link | jq -r --arg p "$L" '.[].ifname | select(startswith($p))') ]]
}

@test "gc after SIGKILL in the middle of 20 adds: nothing with the test's keys left in the link table or /run/netns" {
	br=${L}br
	ip link add "$br" type bridge
	ip link set "$br" up
	keys=()
	for i in $(seq 1 20); do
		k=ct$$-${N}k$i
		keys+=("$k")
		# A session of its own, so that the whole pipeline can be killed.
		setsid bash -c 'ctrk-netif ns add "$1" </dev/null | ctrk-netif add veth --bridge "$2" \
			--host-ifname "$3" --addr "10.213.$4.$5/24" >/dev/null' _ "$k" "$br" "${L}h$i" "$BATS_TEST_NUMBER" "$i" \
			2>/dev/null &
		pid=$!
		track_pid $pid
		# Anywhere from before the namespace to after the veth.
		sleep "0.00$((RANDOM % 10))$((RANDOM % 10))"
		kill -KILL -- "-$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	# What was left (some runs finished, some died midway).
	left_links=$(ip -j link | jq -r --arg p "${L}h" '[.[].ifname | select(startswith($p))] | length')
	left_ns=$(ls /run/netns | grep -c "^ct$$-${N}k" || true)
	echo "# left before gc: $left_links host links, $left_ns namespaces"
	ni -0 gc --min-age 0 "${keys[@]}"
	run ip -d -j link show
	jq -e --arg p "${L}h" --arg k "key=ct$$-${N}k" \
		'[.[] | select((.ifname | startswith($p)) or ((.ifalias // "") | contains($k)))] == []' <<<"$output"
	run bash -c "ip -j link show master '$br' | jq length"
	assert_output 0
	run bash -c "ls /run/netns | grep '^ct$$-${N}k'"
	assert_output ""
	# And a second gc finds nothing.
	ni -0 gc --min-age 0 "${keys[@]}"
	assert_output ""
}
