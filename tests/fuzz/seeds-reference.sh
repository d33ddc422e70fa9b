#!/bin/sh
# Seeds for fuzz-reference: image references as people write them (short
# names, registries with ports, IPv6, tags and digests) and the edges of the
# grammar (the longest tag, the longest name, separators, bad digests).
# Usage: tests/fuzz/seeds-reference.sh OUTDIR
set -eu
out=${1:?usage: seeds-reference.sh OUTDIR}
mkdir -p "$out"
hex=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
n=0
seed() {
	n=$((n + 1))
	printf '%s' "$1" >"$out/ref-$n"
}
seed busybox
seed busybox:1.36
seed busybox:latest@sha256:$hex
seed busybox@sha256:$hex
seed library/busybox
seed docker.io/library/busybox:1.36
seed index.docker.io/busybox
seed index.docker.io/x/y
seed quay.io/podman/hello:latest
seed ghcr.io/owner/repo/sub/image:v1.2.3-rc_1
seed registry.k8s.io/pause:3.9
seed public.ecr.aws/docker/library/alpine:3.19
seed localhost/a
seed localhost:5000/a/b:t
seed localhost:5000
seed 127.0.0.1:5000/test/busybox@sha256:$hex
seed '[::1]:5000/a:t'
seed '[::1]/a'
seed '[fe80::1%eth0]:5000/a'
seed '[::ffff:127.0.0.1]:65535/a'
seed Foo/bar
seed my-registry.local:5000/team/app:_tag
seed example.com/a/b:t@sha256:$hex
seed quay.io/a-b/c__d.e_f--g:V1.0-rc_1
seed a/b/c/d/e/f/g/h
seed x@md5:d41d8cd98f00b204e9800998ecf8427e
seed x@sha512:$hex$hex
seed x@sha256:0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef
seed "$hex"
seed a:b:c
seed a//b
seed localhost:99999/a
seed '-bad.com/a'
seed 'bad..com/a'
seed "x:$(printf '%0128d' 0)"
seed "$(printf '%0237d' 0 | tr 0 a)"
seed "example.com:5000/$(printf '%0230d' 0 | tr 0 a):tag"
