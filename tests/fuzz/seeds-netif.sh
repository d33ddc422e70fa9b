#!/bin/sh
# Seeds for fuzz-netif: descriptors as ctrk-netif writes them, and option
# values for each parser (first byte: 0 name, 1 address, 2 route, 3 MAC,
# 4 sysctl; see fuzz-netif.c).  Usage: tests/fuzz/seeds-netif.sh OUTDIR
set -eu
out=${1:?usage: seeds-netif.sh OUTDIR}
mkdir -p "$out"

cat >"$out/descriptor.json" <<'JSON'
{"version":1,"netns":"/run/netns/c1",
 "network":{"cniVersion":"1.0.0",
  "interfaces":[{"name":"ck0123456789ab","mac":"aa:bb:cc:dd:ee:01","mtu":1500},
                {"name":"eth0","mac":"aa:bb:cc:dd:ee:02","mtu":1500,"sandbox":"/run/netns/c1"}],
  "ips":[{"address":"10.88.0.2/24","gateway":"10.88.0.1","interface":1},
         {"address":"fd00::2/64","interface":1}],
  "routes":[{"dst":"0.0.0.0/0","gw":"10.88.0.1"},{"dst":"10.9.0.0/16","gw":"10.88.0.1","priority":10,"table":100}],
  "dns":{}},
 "netif":{"key":"c1","netns_created":true,
  "added":[{"type":"veth","ifname":"eth0","host":"ck0123456789ab","bridge":"br0"},
           {"type":"move","ifname":"eth2","device":"veth7"},
           {"type":"cni","ifname":"net1","conf":"/etc/cni/net.d/10-br.conflist","network":"br","container_id":"c1",
            "result":{"cniVersion":"1.0.0","interfaces":[],"ips":[]}}]}}
JSON
printf '{"netns":{"path":"/run/netns/x"},"network":{"cniVersion":"1.0.0","ips":[{"address":"10.0.0.1/33","interface":5}]}}' \
	>"$out/bad-index.json"
n=0
for v in '\000eth0' '\000a/b' '\000123456789012345' \
	'\00110.1.2.3/24' '\001fd00::1/64' '\001::ffff:1.2.3.4/128' '\011192.168.0.1' \
	'\00210.0.0.0/8,via=10.1.1.1,metric=5,table=100' '\002::/0,via=fe80::1' \
	'\003aa:bb:cc:dd:ee:ff' '\00301:00:5e:00:00:01' \
	'\004net.ipv4.conf.eth0.rp_filter=1' '\004net/ipv6/conf/eth0.100/accept_dad=0' '\004net.ipv4.../x=1'; do
	n=$((n + 1))
	printf "$v" >"$out/option-$n"
done
