#!/bin/bash
# tests/fresh-machine.sh: proves that the README's first commands work the
# first time on a fresh Debian 12. It makes a clean bookworm root with
# debootstrap (--variant=minbase: less than any real install has), copies
# the source tree in as a checkout would have it, and inside that root, as
# root, runs what "Getting started" in the README says:
#
#     apt-get update && apt-get install -y make
#     make demo
#     make check
#     (then the demo's container, still running, taken down as the demo says)
#
# The root runs in private mount, pid and cgroup namespaces, as their / (by
# pivot_root): /proc, /sys, /dev (+ a private /dev/shm), /run (tmpfs) and
# the cgroup tree are mounted for it; /tmp is the root's own directory, as on a fresh Debian 12. Every
# cgroup hierarchy of the host gets a subtree (ctrk-fresh.PID) that is the
# root's whole cgroup tree, so what the root's containers leave is removed
# with it. Nothing of the host's build or packages is used inside.
#
# Usage: tests/fresh-machine.sh [--demo-only] [--keep] [--no-cache] [--work-dir DIR]
#   --demo-only   stop after make demo (what .ci/run does)
#   --keep        keep the root (and its log) for debugging
#   --no-cache    neither read nor write the debootstrap cache
#   --work-dir    where the root is made (default $CTRK_FRESH_DIR or
#                 /var/tmp/ctrk-fresh); it needs ~3 GB
# Environment: CTRK_FRESH_MIRROR (default: the Debian mirror of the host's
# apt sources), CTRK_FRESH_CACHE (default /var/cache/ctrk-fresh).
#
# The cache holds only the untouched result of debootstrap, as a tarball
# named by suite and architecture, and is remade after 14 days. Without it
# (a new machine) the script works the same, only slower.
#
# Prints how long each phase took; exits 0 only if every phase succeeded.
# Everything it mounted or started is gone when it exits, also on failure
# or Ctrl-C.
set -euo pipefail

suite=bookworm
self=$(readlink -f "$0")
src=$(cd "$(dirname "$self")/.." && pwd)
path=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

say() { printf 'fresh-machine: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }
now() { date +%s.%N; }
took() { LC_ALL=C awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

# --- inside the namespaces --------------------------------------------------
# Runs as pid 1 of the new pid namespace, in a private mount namespace and a
# cgroup namespace rooted at the ctrk-fresh.PID subtrees. Mounts what a
# booted machine has, makes the root the namespace's / and runs each phase
# there, recording "NAME SECONDS STATUS" in /var/log/fresh-machine.phases.
in_namespace() {
	local root=$run/root
	# / is a mount point on a real machine (runc makes it a slave).
	mount --bind "$root" "$root"
	mount -t proc proc "$root/proc"
	mount -t sysfs sysfs "$root/sys"
	mount_cgroups "$root"
	mount --rbind /dev "$root/dev"
	mount -t tmpfs -o nosuid,nodev,mode=1777 tmpfs "$root/dev/shm"
	mount -t tmpfs -o nosuid,nodev,mode=0755 tmpfs "$root/run"
	cp -L /etc/resolv.conf "$root/etc/resolv.conf"
	# pivot_root, not chroot: a process that joins a container's mount
	# namespace (runc exec) gets that namespace's / as its root. After a
	# chroot that would be the host's /, not the root made here.
	mkdir "$root/.host"
	cd "$root"
	pivot_root . .host
	cd /
	umount -l /.host
	rmdir /.host

	phase "apt-get install make" 'apt-get update -q && apt-get install -y -q make' || return 1
	phase "make demo" 'cd /root/ctrk && make demo' || return 1
	if [ "$demo_only" = 0 ]; then
		# With the demo's container running, as a user who follows the
		# README would have it.
		phase "make check" 'cd /root/ctrk && make check' || return 1
	fi
	# The demo's container is still running (the tests touched nothing
	# they did not make) and goes with what the demo says to run.
	# shellcheck disable=SC2016 # expanded in the root
	phase "demo teardown" 'cd /root/ctrk && export CTRK_ROOT=/tmp/ctrk-demo/root CTRK_RUN=/tmp/ctrk-demo/run &&
		test "$(build/bin/ctrk-run state web | jq -r .status)" = running &&
		set -o pipefail &&
		build/bin/ctrk-run delete --force web | build/bin/ctrk-mount --unmount |
			build/bin/ctrk-snap remove >/dev/null &&
		! build/bin/ctrk-snap stat web 2>/dev/null &&
		test -z "$(findmnt -rn -o TARGET | grep "^$CTRK_RUN/")"' || return 1
}

# mount_cgroups ROOT: the host's cgroup mounts again, under ROOT/sys/fs/cgroup.
# In the cgroup namespace each shows the ctrk-fresh.PID subtree as its root.
# The phases run in a child cgroup "init": under cgroup v2 a cgroup with
# processes cannot hand controllers to its children.
mount_cgroups() {
	local root=$1 dir type opts
	while read -r dir type opts; do
		if [ "$dir" = /sys/fs/cgroup ]; then
			mount -t "$type" -o "$opts" cgroup "$root/sys/fs/cgroup"
		else
			mountpoint -q "$root/sys/fs/cgroup" ||
				mount -t tmpfs -o nosuid,nodev,noexec,mode=0755 tmpfs "$root/sys/fs/cgroup"
			mkdir -p "$root$dir"
			mount -t "$type" -o "$opts" cgroup "$root$dir"
		fi
		mkdir -p "$root$dir/init"
		copy_cpuset "$root$dir" init
		echo 0 >"$root$dir/init/cgroup.procs"
	done <"$run/cgroups"
}

# copy_cpuset DIR CHILD: a new cpuset (v1) has no CPUs or memory nodes
# until it is given some; DIR/CHILD gets those of DIR.
copy_cpuset() {
	if [ -f "$1/cpuset.cpus" ] && [ ! -f "$1/cgroup.controllers" ]; then
		cat "$1/cpuset.cpus" >"$1/$2/cpuset.cpus"
		cat "$1/cpuset.mems" >"$1/$2/cpuset.mems"
	fi
}

# phase NAME SCRIPT: runs SCRIPT with bash in the root, as root, with the
# environment a root login has; times it.
phase() {
	local name=$1 script=$2 t rc=0
	say "== $name"
	t=$(now)
	/usr/bin/env -i HOME=/root TERM="${TERM:-dumb}" PATH="$path" /bin/bash -c "set -e; $script" || rc=$?
	echo "$(printf %s "$name" | tr ' ' _) $(took "$t") $rc" >>/var/log/fresh-machine.phases
	say "== $name: exit $rc after $(took "$t") s"
	return "$rc"
}

if [ "${1:-}" = --in-namespace ]; then
	run=$2 demo_only=$3
	in_namespace
	exit
fi

# --- on the host --------------------------------------------------------------

demo_only=0 keep=0 use_cache=1
work=${CTRK_FRESH_DIR:-/var/tmp/ctrk-fresh}
cache=${CTRK_FRESH_CACHE:-/var/cache/ctrk-fresh}
usage() {
	sed -n 's/^# \{0,1\}//; /^Usage:/,/^Environment/p' "$self" | sed '$d' >&2
	exit "$1"
}
while [ $# -gt 0 ]; do
	case $1 in
	--demo-only) demo_only=1 ;;
	--keep) keep=1 ;;
	--no-cache) use_cache=0 ;;
	--work-dir) [ $# -ge 2 ] || usage 2; work=$2; shift ;;
	--work-dir=*) work=${1#*=} ;;
	-h | --help) usage 0 ;;
	*) usage 2 ;;
	esac
	shift
done

[ "$(id -u)" -eq 0 ] || die "must be run as root (it runs debootstrap and mount)"
[ -r /etc/debian_version ] || die "the host must be Debian (it runs apt-get and debootstrap)"

# debian_mirror: the Debian mirror the host's apt uses for $suite.
debian_mirror() {
	local f uri
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -r "$f" ] || continue
		uri=$(awk -v s="$suite" '$1 == "deb" && $0 ~ "[ \t]" s "[ \t]" && $0 !~ /security/ {
			for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) { print $i; exit } }' "$f")
		[ -n "$uri" ] && { echo "$uri"; return; }
	done
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -r "$f" ] || continue
		# deb822: a stanza whose Suites has $suite and whose URI is not security.
		uri=$(awk -v s="$suite" 'BEGIN { RS = ""; FS = "\n" }
			$0 ~ "Suites:.*[ \t]" s "([ \t]|$)" && $0 !~ /security/ {
				for (i = 1; i <= NF; i++) if ($i ~ /^URIs:/) { split($i, u, /[ \t]+/); print u[2]; exit } }' "$f")
		[ -n "$uri" ] && { echo "$uri"; return; }
	done
	echo http://deb.debian.org/debian
}

started=$(now)
arch=$(dpkg --print-architecture)
mirror=${CTRK_FRESH_MIRROR:-$(debian_mirror)}
cache_file=$cache/$suite-$arch-minbase.tar.zst
mkdir -p "$work"
run=$(mktemp -d "$work/run.XXXXXX")
root=$run/root
: >"$run/phases"
ns_pid=
cg_name=ctrk-fresh.$$
cg_dirs=()

# shellcheck disable=SC2317 # run by the trap
cleanup() {
	local rc=$? d i
	trap - EXIT INT TERM
	set +e
	if [ -n "$ns_pid" ] && kill -0 "$ns_pid" 2>/dev/null; then
		# unshare's child (pid 1 of the namespace) gets SIGKILL when unshare
		# dies (--kill-child); with it every process of the namespace.
		kill -KILL "$ns_pid" 2>/dev/null
	fi
	[ -n "$ns_pid" ] && wait "$ns_pid" 2>/dev/null
	# The mounts were private to the namespace; anything still mounted
	# under the run dir (there should be nothing) goes too.
	findmnt -rn -o TARGET | grep -F "$run/" | sort -r | while read -r d; do
		umount -R "$d" 2>/dev/null || umount -R -l "$d"
	done
	losetup -nO NAME,BACK-FILE -l 2>/dev/null | while read -r d i; do
		case $i in "$run"/*) losetup -d "$d" ;; esac
	done
	# The cgroups of the killed processes empty as the processes are reaped.
	for d in "${cg_dirs[@]}"; do
		for i in $(seq 50); do
			find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
			[ -d "$d" ] || break
			sleep 0.1
		done
		[ -d "$d" ] && say "warning: cannot remove cgroup '$d'"
	done
	if [ "$keep" = 1 ]; then
		say "kept: $run"
	else
		rm -rf --one-file-system "$run"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# report: the phases and their times; the last line says whether all passed.
report() {
	local name secs rc all=0
	say "phase                    seconds  status"
	while read -r name secs rc; do
		printf 'fresh-machine: %-24s %7s  %s\n' "${name//_/ }" "$secs" "$([ "$rc" = 0 ] && echo ok || echo "failed (exit $rc)")" >&2
		[ "$rc" = 0 ] || all=1
	done < <(cat "$run/phases" "$root/var/log/fresh-machine.phases" 2>/dev/null)
	printf 'fresh-machine: %-24s %7s\n' total "$(took "$started")" >&2
	return "$all"
}

record() { echo "$(printf %s "$1" | tr ' ' _) $2 $3" >>"$run/phases"; }

# 1. A clean root: from the cache, or debootstrap.
t=$(now)
if ! command -v debootstrap >/dev/null; then
	say "installing debootstrap on the host"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q debootstrap >/dev/null 2>&1 ||
		{ apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q debootstrap; }
fi
if [ "$use_cache" = 1 ] && [ -n "$(find "$cache_file" -mtime -14 2>/dev/null)" ]; then
	say "== root from the cache $cache_file"
	mkdir "$root"
	tar --zstd --numeric-owner --xattrs --xattrs-include='*' -C "$root" -xpf "$cache_file"
	record "root from cache" "$(took "$t")" 0
else
	say "== debootstrap --variant=minbase $suite from $mirror"
	debootstrap --variant=minbase --arch="$arch" "$suite" "$root" "$mirror" >"$run/debootstrap.log" 2>&1 ||
		{ tail -n 30 "$run/debootstrap.log" >&2; die "debootstrap failed (log: $run/debootstrap.log)"; }
	record "debootstrap" "$(took "$t")" 0
	if [ "$use_cache" = 1 ]; then
		# Untouched, before anything is copied in or installed.
		t=$(now)
		mkdir -p "$cache"
		tmp=$(mktemp "$cache_file.XXXXXX")
		if tar --zstd --numeric-owner --xattrs --xattrs-include='*' -C "$root" -cf "$tmp" . &&
			mv -f "$tmp" "$cache_file"; then
			record "cache the root" "$(took "$t")" 0
		else
			rm -f "$tmp"
			say "warning: cannot write the cache $cache_file"
		fi
	fi
fi

# 2. The source tree as a checkout has it: the files git knows (also
# uncommitted and new ones, not ignored ones such as build/), else all but
# the build directories.
t=$(now)
mkdir -p "$root/root/ctrk"
if git -C "$src" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	# shellcheck disable=SC2016 # the inner sh expands it
	git -C "$src" ls-files -z -c -o --exclude-standard |
		(cd "$src" && xargs -0 sh -c 'for f; do [ -e "$f" ] || [ -L "$f" ] && printf "%s\0" "$f"; done' sh) |
		tar -C "$src" --null -T - -cf - | tar -C "$root/root/ctrk" -xf -
else
	tar -C "$src" --exclude=./build --exclude=./build-asan --exclude=./.git -cf - . |
		tar -C "$root/root/ctrk" -xf -
fi
record "copy the source" "$(took "$t")" 0

# 3. A cgroup subtree in every hierarchy of the host, and the namespaces.
findmnt -rn -t cgroup,cgroup2 -o TARGET,FSTYPE,FS-OPTIONS | awk '$1 ~ "^/sys/fs/cgroup(/|$)"' >"$run/cgroups"
while read -r d _ _; do
	mkdir "$d/$cg_name"
	cg_dirs+=("$d/$cg_name")
	copy_cpuset "$d" "$cg_name"
done <"$run/cgroups"

# The subshell moves itself into the subtrees, so that the cgroup namespace
# unshare makes is rooted there. Signals are reset to their defaults: bash
# starts background jobs with SIGINT ignored, and tests send SIGINT.
(
	while read -r d _ _; do echo 0 >"$d/$cg_name/cgroup.procs"; done <"$run/cgroups"
	exec env --default-signal unshare --mount --propagation private --pid --cgroup --fork --kill-child \
		"$self" --in-namespace "$run" "$demo_only"
) &
ns_pid=$!
# unshare itself waits in the subtrees' top cgroups, and under cgroup v2 a
# cgroup with a process cannot give its children controllers. Once pid 1
# of the namespace is in "init" (the namespace's root is fixed by then),
# unshare goes to the top of each hierarchy.
while read -r d _ _; do
	for i in $(seq 300); do
		grep -q . "$d/$cg_name/init/cgroup.procs" 2>/dev/null || ! kill -0 "$ns_pid" 2>/dev/null && break
		sleep 0.1
	done
	echo "$ns_pid" >"$d/cgroup.procs" 2>/dev/null || true
done <"$run/cgroups"
rc=0
wait "$ns_pid" || rc=$?
ns_pid=

report || rc=1
if [ "$rc" -eq 0 ]; then
	say "passed"
else
	say "FAILED"
fi
exit "$rc"
