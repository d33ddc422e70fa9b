#!/bin/sh
# Installs the Debian packages that ctrk needs to build and test, and only the
# ones that are missing. Runs `apt-get update` at most once, and only if
# something has to be installed. Non-interactive; meant for Debian 12 as root.
set -eu

PKGS="gcc make pkg-config libcurl4-openssl-dev libcjson-dev libarchive-dev
libssl-dev libcap-ng-dev libmbedtls-dev libzstd-dev zlib1g-dev libbz2-dev liblzma-dev scdoc
bats bats-support bats-assert skopeo umoci docker-registry busybox-static
apache2-utils openssl jq python3 curl iproute2 runc crun valgrind strace"

missing=""
for p in $PKGS; do
	status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	case "$status" in
	*" installed") ;;
	*) missing="$missing $p" ;;
	esac
done

[ -z "$missing" ] && exit 0

echo "deps: installing:$missing"
if [ "$(id -u)" -ne 0 ]; then
	echo "deps: error: missing packages and not root; install:$missing" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing
