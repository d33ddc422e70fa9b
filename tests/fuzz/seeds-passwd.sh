#!/bin/sh
# Seeds for fuzz-passwd: a user spec, a --group-add list, /etc/passwd and
# /etc/group, split at 0xff bytes (see fuzz-passwd.c).  Usage: seeds-passwd.sh OUTDIR
set -eu
out=${1:?usage: seeds-passwd.sh OUTDIR}
mkdir -p "$out"

passwd='root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
# a comment
alice:x:1000:1000:Alice:/home/alice:/bin/sh
bob:x:1001:100::/home/bob:/bin/sh
+nisuser:x:2000:2000::/:/bin/sh
-daemon
big:x:2147483648:0::/:/bin/sh
max:x:4294967295:0::/:/bin/sh
short:x:3000:3000
nohome:x:1002:1002:::/bin/sh'
group='root:x:0:
wheel:x:10:alice,bob
users:x:100:
video:x:44:,,alice,
dev:x:2000:carol,alice,alice
short:x:4000
huge:x:4294967294:bob
badgid:x:4x:alice'

# seed NAME SPEC EXTRA [PASSWD [GROUP]]: one input; a missing file is left out.
seed() {
	name=$1 spec=$2 extra=$3
	shift 3
	{
		printf '%s\377%s' "$spec" "$extra"
		for f in "$@"; do printf '\377%s' "$f"; done
	} >"$out/$name"
}

seed root '' '' "$passwd" "$group"
seed alice alice '' "$passwd" "$group"
seed alice-group alice:users 'audio,4242,wheel' "$passwd" "$group"
seed numeric 1000:1000 '' "$passwd" "$group"
seed bob bob '' "$passwd" "$group"
seed big big '' "$passwd" "$group"
seed out-of-range 2147483648 '' "$passwd" "$group"
seed no-files 5000:5001 '77'
seed no-group alice '' "$passwd"
seed empty-files alice wheel '' ''
seed bad-spec 'alice:wheel:x' '' "$passwd" "$group"
seed no-newline dave '' 'dave:x:1005:1005::/home/dave:/bin/sh' 'docker:x:999:dave'
