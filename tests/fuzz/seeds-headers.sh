#!/bin/sh
# Seeds for tests/fuzz/fuzz-headers.c: WWW-Authenticate challenges as
# registries send them, Link headers as they page, and "secret\ntext" pairs
# for the redaction.  Usage: seeds-headers.sh OUTDIR
set -eu
out=${1:?usage: seeds-headers.sh OUTDIR}
mkdir -p "$out"
n=0
seed() {
	n=$((n + 1))
	printf '%b' "$1" >"$out/headers-$n"
}
seed 'Bearer realm="https://auth.docker.io/token",service="registry.docker.io"'
seed 'Bearer realm="https://ghcr.io/token",service="ghcr.io",scope="repository:a/b:pull"'
seed 'Bearer realm="https://r/t",service="s",scope="repository:a/b:pull,push",error="insufficient_scope"'
seed 'Basic realm="Registry Realm"'
seed 'basic realm=x, Bearer realm="y"'
seed 'Bearer realm="a\\"b\\\\c", service=s'
seed 'Bearer realm="unterminated'
seed 'Bearer realm="x",realm="y"'
seed 'Bearer realm="x\001y"'
seed 'Negotiate abc123=='
seed '</v2/_catalog?last=b&n=2>; rel="next"'
seed '<https://x/a>; rel=prev, <https://x/c>; rel="next"; title="a;b,c"'
seed '<https://x/c>; rel="prev next"'
seed 'WWW-Authenticate: Bearer realm="https://r/t"\r\n'
seed 'hunter2\nHTTP 400: you sent Basic aHVudGVyMg== hunter2 hunt'
seed 'tok.en\nerror \033[2J tok.en\r\n tok'
