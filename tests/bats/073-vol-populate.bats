#!/usr/bin/env bats
# ctrk-vol attach's populate ("copy-up"): an empty volume gets the image's
# content at the mount's target, with owners, modes, xattrs, hard links and
# times; once, and crash-safe.  Images are built here: the fixture image
# `single` plus one layer made with GNU tar (pax, with xattrs).

load helpers

setup() {
	ctrk_setup
	export CTRK_RUNTIME=runc
	T=$BATS_TEST_TMPDIR
	L=$T/layout
}

teardown() {
	run_teardown
}

# image TAG DIR: an image TAG in the OCI layout $L: the fixture's single
# with a layer holding DIR's content on top.  Prints nothing.
image() {
	local tag=$1 dir=$2 m cfg diff gz size
	if [[ ! -d $L ]]; then
		mkdir -p "$L/blobs/sha256"
		cp "$CTRK_FIXTURES/oci-layout" "$L/"
		cp "$CTRK_FIXTURES"/blobs/sha256/* "$L/blobs/sha256/"
		echo '{"schemaVersion":2,"manifests":[]}' >"$L/index.json"
	fi
	m=$(jq -r '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] == "single") | .digest' \
		"$CTRK_FIXTURES/index.json")
	m=$L/blobs/sha256/${m#sha256:}
	(cd "$dir" && find . -mindepth 1 -printf '%P\n' | LC_ALL=C sort |
		tar --xattrs --xattrs-include='user.*' --format=posix --numeric-owner --no-recursion \
			-T - -cf "$T/layer.tar")
	diff=sha256:$(sha256sum "$T/layer.tar" | cut -d' ' -f1)
	gzip -n -f "$T/layer.tar"
	gz=$(sha256sum "$T/layer.tar.gz" | cut -d' ' -f1)
	size=$(stat -c %s "$T/layer.tar.gz")
	mv "$T/layer.tar.gz" "$L/blobs/sha256/$gz"
	cfg=$(jq -c --arg d "$diff" '.rootfs.diff_ids += [$d]' "$L/blobs/sha256/$(jq -r '.config.digest | ltrimstr("sha256:")' "$m")")
	printf '%s' "$cfg" >"$T/cfg"
	local ch cs
	ch=$(sha256sum "$T/cfg" | cut -d' ' -f1) cs=$(stat -c %s "$T/cfg")
	mv "$T/cfg" "$L/blobs/sha256/$ch"
	jq -c --arg c "sha256:$ch" --argjson cs "$cs" --arg l "sha256:$gz" --argjson ls "$size" \
		'.config.digest = $c | .config.size = $cs
		 | .layers += [{mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest: $l, size: $ls}]' \
		"$m" >"$T/man"
	local mh ms
	mh=$(sha256sum "$T/man" | cut -d' ' -f1) ms=$(stat -c %s "$T/man")
	mv "$T/man" "$L/blobs/sha256/$mh"
	jq -c --arg t "$tag" --arg d "sha256:$mh" --argjson s "$ms" \
		'.manifests = [.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] != $t)]
		 + [{mediaType: "application/vnd.oci.image.manifest.v1+json", digest: $d, size: $s,
		     annotations: {"org.opencontainers.image.ref.name": $t}}]' "$L/index.json" >"$T/idx"
	mv "$T/idx" "$L/index.json"
	ctrk-pull -q "oci:$L:$tag" >/dev/null
}

setxattr() { # setxattr FILE NAME VALUE
	"$PYTHON" -c 'import os, sys; os.setxattr(sys.argv[1], sys.argv[2], sys.argv[3].encode(), follow_symlinks=False)' "$@"
}

getxattr() { # getxattr FILE NAME
	"$PYTHON" -c 'import os, sys; print(os.getxattr(sys.argv[1], sys.argv[2], follow_symlinks=False).decode())' "$@"
}

# The content of the first image: data/ owned by 1000:1000 (0750), a file
# 0640 with user.x, a hard link to it, a symlink, an empty dir.
content_v1() {
	local d=$T/v1
	mkdir -p "$d/data/sub" "$d/data/empty"
	echo secret >"$d/data/f"
	chmod 0640 "$d/data/f"
	setxattr "$d/data/f" user.x hello
	ln "$d/data/f" "$d/data/sub/g"
	ln -s f "$d/data/link"
	ln -s /etc/passwd "$d/data/abs"
	chown -R 1000:1000 "$d/data"
	chmod 0750 "$d/data"
	touch -h -d @1600000000 "$d/data/f" "$d/data/link" "$d/data/sub" "$d/data"
	echo "$d"
}

# up KEY TAG ATTACH-ARGS...: snapshot KEY of image TAG, the attach, mounted:
# the descriptor in $T/KEY.json.
up() {
	local key=$1 tag=$2
	shift 2
	set -o pipefail
	ctrk-snap prepare --image "oci:$L:$tag" "$key" </dev/null | ctrk-vol attach "$@" | ctrk-mount >"$T/$key.json"
}

down() {
	set -o pipefail
	ctrk-run delete --force "$1" <"$T/$1.json" | ctrk-mount --unmount | ctrk-vol detach | ctrk-snap remove >/dev/null
}

@test "populate keeps owner 1000:1000, mode 0640, xattr user.x, a hard link, symlinks and times; records the image" {
	image v1 "$(content_v1)"
	ctrk-vol create p
	local a v
	a=$(cid a)
	up "$a" v1 p:/data
	v=$(ctrk-vol path p)
	assert_equal "$(stat -c '%u:%g %a' "$v/f")" "1000:1000 640"
	assert_equal "$(stat -c '%u:%g %a' "$v")" "1000:1000 750"
	assert_equal "$(getxattr "$v/f" user.x)" hello
	assert_equal "$(stat -c %i "$v/f")" "$(stat -c %i "$v/sub/g")"
	assert_equal "$(stat -c %h "$v/f")" 2
	assert_equal "$(readlink "$v/link")" f
	assert_equal "$(readlink "$v/abs")" /etc/passwd
	assert_equal "$(stat -c '%u:%g' "$v/abs")" 1000:1000
	assert_equal "$(stat -c %Y "$v/f")" 1600000000
	assert_equal "$(stat -c %Y "$v/sub")" 1600000000
	assert_equal "$(stat -c %Y "$v/link")" 1600000000
	[[ -d $v/empty ]]
	assert_equal "$(cat "$v/f")" secret
	# inspect shows where the content came from.
	local digest
	digest=$(jq -r .image.digest "$T/$a.json")
	assert_equal "$(jq -c .populated_from "$CTRK_ROOT/volumes/p/meta.json")" "{\"image\":\"$digest\",\"path\":\"/data\"}"
	[[ $(ctrk-vol inspect p) == *"$digest"* ]]
	assert_equal "$(jq 'has("populating")' "$CTRK_ROOT/volumes/p/meta.json")" false
	# The container sees the same.
	run --separate-stderr ctrk-run run --rm "$a" -- sh -c 'stat -c "%u:%g %a %h" /data/f; cat /data/sub/g' <"$T/$a.json"
	assert_success
	assert_output $'1000:1000 640 2\nsecret'
	down "$a"
	# The image's own layers were read, not changed; nothing is mounted.
	[[ -z $(mounts_under "$CTRK_ROOT") ]]
}

@test "a second attach after the image changed overwrites nothing" {
	image v1 "$(content_v1)"
	ctrk-vol create p
	local a b v d1
	a=$(cid a) b=$(cid b)
	up "$a" v1 p:/data
	d1=$(jq -r .image.digest "$T/$a.json")
	down "$a"
	mkdir -p "$T/v2/data"
	echo changed >"$T/v2/data/f"
	echo new >"$T/v2/data/new"
	image v2 "$T/v2"
	up "$b" v2 p:/data
	[[ $(jq -r .image.digest "$T/$b.json") != "$d1" ]]
	v=$(ctrk-vol path p)
	assert_equal "$(cat "$v/f")" secret
	[[ ! -e $v/new ]]
	assert_equal "$(jq -r .populated_from.image "$CTRK_ROOT/volumes/p/meta.json")" "$d1"
	down "$b"
	# Emptied by its user, it stays the user's: still nothing copied.
	rm -rf "${v:?}"/*
	up "$b" v2 p:/data
	assert_equal "$(ls -A "$v")" ""
	down "$b"
}

@test "--populate never, nocopy, a non-empty volume, a tmpfs volume and a missing /dst copy nothing" {
	image v1 "$(content_v1)"
	local a
	a=$(cid a)
	ctrk-vol create n1
	ctrk-vol create n2
	ctrk-vol create n3
	echo mine >"$(ctrk-vol path n3)/mine"
	ctrk-vol create --type tmpfs --opt size=8m t
	ctrk-vol create n4
	ctrk-snap prepare --image "oci:$L:v1" "$a" </dev/null >"$T/in.json"
	ctrk-vol attach --populate never n1:/data <"$T/in.json" >/dev/null
	ctrk-vol attach n2:/data,nocopy n3:/data/sub t:/data/empty n4:/nonexistent <"$T/in.json" >"$T/out.json"
	assert_equal "$(ls -A "$(ctrk-vol path n1)")" ""
	assert_equal "$(ls -A "$(ctrk-vol path n2)")" ""
	assert_equal "$(ls -A "$(ctrk-vol path n3)")" mine
	assert_equal "$(ls -A "$(ctrk-vol path n4)")" ""
	for v in n1 n2 n3 n4; do
		assert_equal "$(jq 'has("populated_from") or has("populating")' "$CTRK_ROOT/volumes/$v/meta.json")" false
	done
	# Where the image has nothing, that is remembered for this image (no
	# look at the next start); an image that has content still populates.
	assert_equal "$(jq -c .populate_checked "$CTRK_ROOT/volumes/n4/meta.json")" \
		"$(jq -c '{image: .image.digest, path: "/nonexistent"}' "$T/in.json")"
	ctrk-vol attach n4:/data <"$T/in.json" >/dev/null
	assert_equal "$(cat "$(ctrk-vol path n4)/f")" secret
	assert_equal "$(jq -c 'has("populate_checked"), .populated_from.path' "$CTRK_ROOT/volumes/n4/meta.json" | tr '\n' ' ')" 'false "/data" '
	ctrk-snap remove "$a"
}

@test "a volume a running container already uses is not populated" {
	image v1 "$(content_v1)"
	ctrk-vol create busy
	local a b
	a=$(cid a) b=$(cid b)
	up "$a" v1 --populate never busy:/data
	ctrk-run run -d "$a" -- sleep 1000 <"$T/$a.json" >/dev/null
	up "$b" v1 busy:/data
	assert_equal "$(ls -A "$(ctrk-vol path busy)")" ""
	assert_equal "$(jq 'has("populated_from")' "$CTRK_ROOT/volumes/busy/meta.json")" false
	down "$b"
	ctrk-run delete --force "$a" >/dev/null
	# Unused now: the first attach copies.
	up "$b" v1 busy:/data
	assert_equal "$(cat "$(ctrk-vol path busy)/f")" secret
	down "$b"
	ctrk-mount --unmount <"$T/$a.json" | ctrk-vol detach | ctrk-snap remove >/dev/null
}

@test "populate copies from the image, not from the container's writable layer, and never follows a symlink out" {
	mkdir -p "$T/img/data" "$T/img/var"
	echo from-image >"$T/img/data/f"
	# /var/data -> /data, and an absolute link that would leave the image.
	ln -s /data "$T/img/var/data"
	ln -s /etc "$T/img/hostetc"
	image sym "$T/img"
	local a
	a=$(cid a)
	ctrk-vol create s1
	ctrk-vol create s2
	ctrk-snap prepare --image "oci:$L:sym" "$a" </dev/null | ctrk-mount >"$T/m.json"
	# The container's upper layer changes /data: not what is copied.
	echo from-container >"$(jq -r .rootfs "$T/m.json")/data/f"
	ctrk-vol attach s1:/var/data s2:/hostetc <"$T/m.json" >"$T/out.json"
	assert_equal "$(cat "$(ctrk-vol path s1)/f")" from-image
	# /hostetc -> /etc resolves to the image's /etc, never the host's.
	[[ ! -e $(ctrk-vol path s2)/hostname ]]
	assert_equal "$(cat "$(ctrk-vol path s2)/passwd")" "$(printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false')"
	ctrk-mount --unmount <"$T/m.json" >/dev/null
	ctrk-snap remove "$a"
}

# kill_midway: start `ctrk-vol attach k:/data` on $T/in.json and SIGKILL it
# while it copies ("populating" in meta.json).  Retried from an empty
# volume when the kill came too late; 1 when it never came in time.
kill_midway() {
	local meta=$CTRK_ROOT/volumes/k/meta.json pid i try
	for ((try = 0; try < 5; try++)); do
		ctrk-vol attach k:/data <"$T/in.json" >"$T/out.json" 2>"$T/err" &
		pid=$!
		for ((i = 0; i < 2000; i++)); do
			grep -q '"populating":[[:space:]]*true' "$meta" 2>/dev/null && break
			sleep 0.005
		done
		kill -KILL "$pid"
		wait "$pid" || true
		grep -q '"populating":[[:space:]]*true' "$meta" && return 0
		# Too late (done): start again from empty.
		jq 'del(.populated_from)' "$meta" >"$T/m" && cat "$T/m" >"$meta"
		rm -rf "$(ctrk-vol path k)"/*
	done
	return 1
}

# files: the number of files (not directories) in volume k.
files() {
	find "$(ctrk-vol path k)" -mindepth 1 -not -type d | wc -l
}

@test "SIGKILL during populate: the next attach, or check --fix, leaves a complete copy" {
	mkdir -p "$T/many/data"
	local i j
	for ((i = 0; i < 40; i++)); do
		mkdir "$T/many/data/d$i"
		for ((j = 0; j < 100; j++)); do echo "$i.$j" >"$T/many/data/d$i/f$j"; done
	done
	head -c 64M /dev/zero >"$T/many/data/zero"
	image many "$T/many"
	local a meta=$CTRK_ROOT/volumes/k/meta.json want=4001 have
	a=$(cid a)
	ctrk-vol create k
	ctrk-snap prepare --image "oci:$L:many" "$a" </dev/null >"$T/in.json"

	kill_midway || skip "the copy was never caught in the middle"
	have=$(files)
	echo "# files after the first kill: $have"
	((have < want))
	# No copier is left behind writing.
	sleep 0.2
	assert_equal "$(files)" "$have"
	run ctrk-vol check
	assert_failure
	assert_output --partial populate
	# The next attach empties the half copy and copies it all.
	ctrk-vol attach k:/data <"$T/in.json" >"$T/out.json"
	assert_equal "$(files)" "$want"
	assert_equal "$(cat "$(ctrk-vol path k)/d39/f99")" 39.99
	assert_equal "$(stat -c %s "$(ctrk-vol path k)/zero")" 67108864
	assert_equal "$(jq 'has("populating")' "$meta")" false
	assert_equal "$(jq -r .populated_from.path "$meta")" /data
	ctrk-vol check

	# Again, and this time check --fix repairs it.
	jq 'del(.populated_from)' "$meta" >"$T/m" && cat "$T/m" >"$meta"
	rm -rf "$(ctrk-vol path k)"/*
	kill_midway || skip "the copy was never caught in the middle"
	ctrk-vol check --fix
	assert_equal "$(ls -A "$(ctrk-vol path k)")" ""
	assert_equal "$(jq 'has("populating") or has("populated_from")' "$meta")" false
	ctrk-vol check
	ctrk-vol attach k:/data <"$T/in.json" >"$T/out.json"
	assert_equal "$(files)" "$want"
	assert_equal "$(jq -r .populated_from.path "$meta")" /data
	ctrk-snap remove "$a"
}

@test "--anonymous volumes are populated too, and --uid/--gid apply after the copy" {
	image v1 "$(content_v1)"
	local a name v
	a=$(cid a)
	ctrk-snap prepare --image "oci:$L:v1" "$a" </dev/null | ctrk-vol attach --anonymous /data >"$T/out.json"
	name=$(jq -r '.volumes[0].name' "$T/out.json")
	v=$(ctrk-vol path "$name")
	assert_equal "$(cat "$v/f")" secret
	assert_equal "$(stat -c '%u:%g' "$v")" 1000:1000
	ctrk-vol create u
	ctrk-vol attach --uid 2000 --gid 3000 u:/data <"$T/out.json" >/dev/null
	assert_equal "$(stat -c '%u:%g' "$(ctrk-vol path u)")" 2000:3000
	assert_equal "$(stat -c '%u:%g' "$(ctrk-vol path u)/f")" 1000:1000
	ctrk-snap remove "$a"
}
