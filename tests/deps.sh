#!/bin/sh
# Installs the Debian packages that ctrk needs to build and test, and only the
# ones that are missing. Runs `apt-get update` at most once, and only if
# something has to be installed. Non-interactive; meant for Debian 12 as root.
#
#   sh tests/deps.sh                 install what is missing
#   sh tests/deps.sh --check-build   install nothing; exit 1 naming what is
#                                    missing to build (what `make` runs first)
#   sh tests/deps.sh --fuzz          also clang, libFuzzer and llvm-symbolizer
#                                    (`make fuzz`)
#
# Every command the build, tests/demo.sh, tests/run.sh and the bats suite
# run comes from one of these packages or from one that every Debian has
# (debootstrap --variant=minbase: coreutils, util-linux, mount, findutils,
# grep, sed, tar, gzip, diffutils, hostname, ...). tests/fresh-machine.sh
# proves it on a fresh Debian 12.
set -eu

# What `make` needs: compiler, pkg-config and the libraries' -dev packages
# (static ones too: ctrk-snap and ctrk-vol link libarchive, zlib, zstd,
# bzip2, xz and mbedtls statically, ctrk-vol libacl as well), scdoc for the man pages.
BUILD_PKGS="gcc libc6-dev make pkg-config libcurl4-openssl-dev libcjson-dev libarchive-dev
libssl-dev libcap-ng-dev libseccomp-dev libmnl-dev libacl1-dev libmbedtls-dev libzstd-dev zlib1g-dev libbz2-dev liblzma-dev scdoc"
# What the demo and the tests run: bats, a registry, skopeo and umoci to make
# and read images, busybox for the test images, the runtimes, htpasswd and
# openssl for the auth and TLS registries, python3 for the fixtures, jq,
# curl, ip (netns), fuser (psmisc), pgrep and ps (procps), zstd (zstd
# layers), strace, valgrind.
TEST_PKGS="bats bats-support bats-assert skopeo umoci docker-registry busybox-static
apache2-utils openssl ca-certificates jq python3 curl iproute2 psmisc procps zstd runc
crun valgrind strace containernetworking-plugins"

# What `make fuzz` adds: clang with libFuzzer's and the sanitizers' runtimes
# (clang-14 brings libstdc++-12-dev, which libFuzzer links), and
# llvm-symbolizer (package llvm), without which a crash's stack has
# addresses but no function names.  The harnesses link the libraries of
# BUILD_PKGS, as the tools do.
FUZZ_PKGS="clang libclang-rt-14-dev llvm"

# missing PKGS...: prints those of PKGS that are not installed.
missing() {
	# One dpkg-query for all: packages it does not know are not printed.
	dpkg-query -W -f='${Package} ${Status}\n' "$@" 2>/dev/null |
		awk -v want="$*" '$NF == "installed" { ok[$1] = 1 }
			END { n = split(want, w, " "); for (i = 1; i <= n; i++) if (!ok[w[i]]) printf " %s", w[i] }'
}

if [ "${1:-}" = --check-build ]; then
	# Not Debian: nothing to ask; the compiler will say what is missing.
	command -v dpkg-query >/dev/null || exit 0
	# shellcheck disable=SC2086
	m=$(missing $BUILD_PKGS)
	[ -z "$m" ] && exit 0
	echo "error: packages needed to build ctrk are missing:$m" >&2
	echo "error: run 'make deps' as root to install them (or: make demo, make check)" >&2
	exit 1
fi

extra=""
[ "${1:-}" = --fuzz ] && extra=$FUZZ_PKGS
# shellcheck disable=SC2086
m=$(missing $BUILD_PKGS $TEST_PKGS $extra)
[ -z "$m" ] && exit 0

echo "deps: installing:$m"
if [ "$(id -u)" -ne 0 ]; then
	echo "deps: error: missing packages and not root; install:$m" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $m
