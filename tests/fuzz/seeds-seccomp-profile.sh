#!/bin/sh
# seeds-seccomp-profile.sh OUTDIR: seeds for fuzz-seccomp-profile: the
# built-in profile and small ones using each field and condition.
set -eu
out=$1
mkdir -p "$out"
here=$(cd "$(dirname "$0")/../.." && pwd)
cp "$here/ctrk-run/seccomp-default.json" "$out/default.json"
printf '%s' '{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["keyctl"],"action":"SCMP_ACT_ERRNO","errnoRet":13}]}' >"$out/small.json"
printf '%s' '{"defaultAction":"SCMP_ACT_ERRNO","defaultErrnoRet":1,"archMap":[{"architecture":"SCMP_ARCH_X86_64","subArchitectures":["SCMP_ARCH_X86"]}],"syscalls":[{"name":"personality","action":"SCMP_ACT_ALLOW","args":[{"index":0,"value":8,"valueTwo":0,"op":"SCMP_CMP_EQ"}],"includes":{"arches":["amd64"],"caps":["CAP_SYS_ADMIN"],"minKernel":"4.8"},"excludes":{"caps":["CAP_SYS_BOOT"]},"comment":"c"}]}' >"$out/conditions.json"
printf '%s' '{"defaultAction":"SCMP_ACT_ERRNO","architectures":["SCMP_ARCH_X86_64"],"flags":["SECCOMP_FILTER_FLAG_LOG"],"listenerPath":"/l","syscalls":null}' >"$out/flags.json"
