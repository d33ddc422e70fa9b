#!/usr/bin/env bats
# ctrk-pull and documents, blobs and layouts made to mislead: one meaning per
# document, the config's platform, the layer cap, a store that commits only
# verified bytes, and offline sources that stay inside their directory.
# See "DOCUMENTS AND THE STORE" in ctrk-pull(1).

load helpers

setup() {
	ctrk_setup
	LAY=$BATS_TEST_TMPDIR/layout
	cp -r "$CTRK_FIXTURES" "$LAY"
	chmod -R u+w "$LAY"
}

teardown() {
	ctrk_teardown
}

MT_MANIFEST=application/vnd.oci.image.manifest.v1+json
MT_INDEX=application/vnd.oci.image.index.v1+json
MT_DOCKER_MANIFEST=application/vnd.docker.distribution.manifest.v2+json
# The same, as regular expressions.
RE_MANIFEST=${MT_MANIFEST//+/\\+}
RE_INDEX=${MT_INDEX//+/\\+}
RE_DOCKER_MANIFEST=${MT_DOCKER_MANIFEST//+/\\+}

# blob DIGEST: the file of a blob of $LAY.
blob() {
	echo "$LAY/blobs/sha256/${1#sha256:}"
}

# put FILE: stores FILE as a blob of $LAY; prints "DIGEST SIZE".
put() {
	local h
	h=$(sha256sum "$1" | cut -d' ' -f1)
	cp "$1" "$LAY/blobs/sha256/$h"
	echo "sha256:$h $(stat -c %s "$1")"
}

# retag TAG DIGEST SIZE [MEDIATYPE]: $LAY's index.json entry TAG names
# DIGEST (and says MEDIATYPE) from now on.
retag() {
	jq -c --arg t "$1" --arg d "$2" --argjson s "$3" --arg mt "${4:-}" '.manifests |= map(
		if .annotations["org.opencontainers.image.ref.name"] == $t then
			.digest = $d | .size = $s | (if $mt != "" then .mediaType = $mt else . end)
		else . end)' "$LAY/index.json" >"$LAY/index.json.new"
	mv "$LAY/index.json.new" "$LAY/index.json"
}

# edit_doc TAG JQ_FILTER [MEDIATYPE]: replaces the document TAG names by
# the result of JQ_FILTER on it; prints the new digest.
edit_doc() {
	local d
	d=$(jq -r --arg t "$1" '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] == $t) | .digest' \
		"$LAY/index.json")
	jq -c "$2" "$(blob "$d")" >"$BATS_TEST_TMPDIR/doc.json"
	set -- "$1" "${3:-}" $(put "$BATS_TEST_TMPDIR/doc.json")
	retag "$1" "$3" "$4" "$2"
	echo "$3"
}

# edit_config TAG JQ_FILTER: gives image TAG (a manifest) a config changed
# by JQ_FILTER.
edit_config() {
	local tag=$1 m c
	m=$(jq -r --arg t "$tag" '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] == $t) | .digest' \
		"$LAY/index.json")
	c=$(jq -r .config.digest "$(blob "$m")")
	jq -c "$2" "$(blob "$c")" >"$BATS_TEST_TMPDIR/config.json"
	set -- $(put "$BATS_TEST_TMPDIR/config.json")
	edit_doc "$tag" ".config.digest = \"$1\" | .config.size = $2" >/dev/null
}

# other_platform: a platform of the multiarch fixture that is not the host's.
other_platform() {
	local p
	for p in linux/arm/v7 linux/arm64/v8 linux/amd64; do
		[[ $p == "$(host_platform)"* ]] || { echo "$p"; return; }
	done
}

# layer0_of TAG: the digest of the first layer of image TAG in $LAY.
layer0_of() {
	jq -r '.layers[0].digest' "$(blob "$(fixture_digest "$1")")"
}

# --- one meaning per document ---------------------------------------------

@test "a manifest that is also an index is refused, naming it" {
	local d before
	d=$(edit_doc single '. + {manifests: []}')
	before=$(store_snapshot)
	pull -1 "oci:$LAY:single"
	assert_error_message
	assert_regex "$stderr" "manifest $d: .*both an image manifest .* and an index"
	assert_store_unchanged "$before"
}

@test "an index that is also a manifest is refused" {
	local cfg
	cfg=$(jq -c .config "$(blob "$(fixture_digest single)")")
	edit_doc multiarch ". + {config: $cfg, layers: []}" >/dev/null
	pull -1 "oci:$LAY:multiarch"
	assert_error_message
	assert_regex "$stderr" "both an image manifest \(it has 'config'\) and an index"
}

@test "a manifest whose mediaType says index is refused" {
	# index.json agrees with the document: only its shape gives it away.
	edit_doc single ".mediaType = \"$MT_INDEX\"" "$MT_INDEX" >/dev/null
	pull -1 "oci:$LAY:single"
	assert_error_message
	assert_regex "$stderr" "an index, but it has 'config' as an image manifest does"
}

@test "an index without mediaType that index.json calls a manifest is refused" {
	edit_doc multiarch 'del(.mediaType)' "$MT_MANIFEST" >/dev/null
	pull -1 "oci:$LAY:multiarch"
	assert_error_message
	assert_regex "$stderr" "an image manifest, but it has 'manifests' as an index does"
}

@test "a manifest that index.json describes as an index is refused" {
	retag single "$(fixture_digest single)" "$(stat -c %s "$(blob "$(fixture_digest single)")")" "$MT_INDEX"
	pull -1 "oci:$LAY:single"
	assert_error_message
	assert_regex "$stderr" "manifest sha256:[0-9a-f]{64}: its mediaType '$RE_MANIFEST' disagrees with '$RE_INDEX'"
}

@test "a manifest that its index describes with another media type is refused" {
	local want
	want=$(fixture_platform_manifest "$(host_platform)")
	edit_doc multiarch ".manifests |= map(.mediaType = \"$MT_DOCKER_MANIFEST\")" >/dev/null
	pull -1 "oci:$LAY:multiarch"
	assert_error_message
	assert_regex "$stderr" "manifest $want: its mediaType '$RE_MANIFEST' disagrees with '$RE_DOCKER_MANIFEST'"
}

@test "a registry whose Content-Type disagrees with the manifest's mediaType is refused" {
	local before
	cp "$(blob "$(fixture_digest single)")" "$BATS_TEST_TMPDIR/m.json"
	fake_registry_start ct "$BATS_TEST_TMPDIR/m.json" "$MT_DOCKER_MANIFEST" "$LAY/blobs/sha256"
	before=$(store_snapshot)
	pull -1 "$REGISTRY_CT_ADDR/test/single:latest"
	assert_error_message
	assert_regex "$stderr" "mediaType '$RE_MANIFEST' disagrees with '$RE_DOCKER_MANIFEST'"
	assert_store_unchanged "$before"
	# A generic Content-Type is no claim: the same manifest is pulled.
	fake_registry_start ok "$BATS_TEST_TMPDIR/m.json" application/json "$LAY/blobs/sha256"
	pull -0 "$REGISTRY_OK_ADDR/test/single:latest"
	store_verify
}

# --- the config's platform --------------------------------------------------

@test "an index entry whose config is for another platform is refused" {
	local other want_d want_s
	other=$(other_platform)
	want_d=$(fixture_platform_manifest "$other")
	want_s=$(stat -c %s "$(blob "$want_d")")
	# The host's entry points at the other platform's manifest.
	edit_doc multiarch "(.manifests[] | select(.platform.architecture == \"$(host_platform | cut -d/ -f2)\"))
		|= (.digest = \"$want_d\" | .size = $want_s)" >/dev/null
	local before
	before=$(store_snapshot)
	pull -1 "oci:$LAY:multiarch"
	assert_error_message
	assert_regex "$stderr" "the index lists manifest $want_d for $(host_platform).*, but its config says ${other%/v8}"
	assert_store_unchanged "$before"
}

@test "an image for another platform is refused by default, taken with --platform" {
	edit_config single '.architecture = "s390x"'
	local before
	before=$(store_snapshot)
	pull -1 "oci:$LAY:single"
	assert_error_message
	assert_regex "$stderr" "the image is for linux/s390x, not $(host_platform).*--platform linux/s390x"
	assert_store_unchanged "$before"
	pull -0 --platform linux/s390x "oci:$LAY:single"
	assert_equal "$(jqo .image.platform.architecture)" s390x
	store_verify
}

@test "a config without os or architecture is refused" {
	edit_config single 'del(.architecture)'
	pull -1 "oci:$LAY:single"
	assert_error_message
	assert_regex "$stderr" "image config sha256:[0-9a-f]{64}: .*architecture"
}

# --- the layer cap ------------------------------------------------------------

@test "more than 500 layers are refused before any blob is fetched" {
	local m l
	m=$(blob "$(fixture_digest single)")
	l=$(jq -c '.layers[0]' "$m")
	jq -c --argjson l "$l" '.layers = [range(501) | $l]' "$m" >"$BATS_TEST_TMPDIR/many.json"
	fake_registry_start many "$BATS_TEST_TMPDIR/many.json" "$MT_MANIFEST" "$LAY/blobs/sha256"
	pull -1 "$REGISTRY_MANY_ADDR/test/many:latest"
	assert_error_message
	assert_regex "$stderr" 'the image has 501 layers, more than the 500 ctrk accepts'
	run -0 jq -r 'select(.path | contains("/blobs/")) | .path' "$REGISTRY_MANY_LOG"
	assert_output ''
	# 500 pass the cap: what stops them is the config's single diff_id.
	jq -c --argjson l "$l" '.layers = [range(500) | $l]' "$m" >"$BATS_TEST_TMPDIR/many.json"
	fake_registry_start many2 "$BATS_TEST_TMPDIR/many.json" "$MT_MANIFEST" "$LAY/blobs/sha256"
	pull -1 "$REGISTRY_MANY2_ADDR/test/many:latest"
	assert_regex "$stderr" '1 diff_ids for 500 layers'
}

# --- the store commits only verified bytes ----------------------------------

# corrupt FILE: a few bytes in the middle changed, the size kept.
corrupt() {
	chmod u+w "$1"
	printf 'CORRUPTED' | dd of="$1" bs=1 seek=$(($(stat -c %s "$1") / 2)) conv=notrunc status=none
}

@test "a corrupted blob of the right size in the store is replaced by the next pull" {
	pull -0 -q "oci:$LAY:single"
	local l
	l=$(store_blob "$(layer0_of single)")
	corrupt "$l"
	pull -0 -q "oci:$LAY:single"
	store_verify
	cmp "$l" "$(blob "$(layer0_of single)")"
}

@test "a corrupted config in the store is replaced, not read" {
	pull -0 -q "oci:$LAY:single"
	local c
	c=$(store_blob "$(jq -r .config.digest "$(blob "$(fixture_digest single)")")")
	corrupt "$c"
	pull -0 -q "oci:$LAY:single"
	assert_descriptor
	store_verify
}

@test "a poisoned verified blob left in the ingest area is not committed" {
	pull -0 -q "oci:$LAY:single"
	local l hex
	l=$(layer0_of single)
	hex=${l#sha256:}
	# As if an earlier run had verified it and died before the commit, and
	# the file had changed since.
	mv "$(store_blob "$l")" "$CTRK_ROOT/ingest/sha256-$hex.verified"
	corrupt "$CTRK_ROOT/ingest/sha256-$hex.verified"
	pull -0 -q "oci:$LAY:single"
	store_verify
	[ -f "$(store_blob "$l")" ]
	[ ! -e "$CTRK_ROOT/ingest/sha256-$hex.verified" ]
}

@test "a stale verified file never replaces a good blob in the store" {
	pull -0 -q "oci:$LAY:single"
	local l hex
	l=$(layer0_of single)
	hex=${l#sha256:}
	cp "$(store_blob "$l")" "$CTRK_ROOT/ingest/sha256-$hex.verified"
	corrupt "$CTRK_ROOT/ingest/sha256-$hex.verified"
	pull -0 -q "oci:$LAY:single"
	store_verify
}

# ranges DIGEST: the Range header of each GET of that blob ("none"), in order.
ranges() {
	jq -r --arg d "$1" 'select(.method == "GET" and (.path | endswith("/blobs/" + $d))) | .range // "none"' \
		"$PROXY_P_LOG"
}

@test "a poisoned partial download is discarded and fetched again from zero in the same run" {
	local l hex
	l=$(layer0_of single)
	hex=${l#sha256:}
	proxy_start p
	pull -0 -q "$PROXY_P_ADDR/test/single"
	rm "$(store_blob "$l")"
	head -c 1000 /dev/urandom >"$CTRK_ROOT/ingest/sha256-$hex"
	: >"$PROXY_P_LOG"
	pull -0 -q "$PROXY_P_ADDR/test/single"
	store_verify
	run -0 ranges "$l"
	assert_output $'bytes=1000-\nnone'
	run -0 ingest_files
	assert_output ''
}

@test "a registry that answers a resumed download with 416 gets it again from zero" {
	local l
	l=$(layer0_of single)
	# The first GET of each blob breaks off; the Range request to resume
	# it is answered 416.
	proxy_start p --cut-blob 100000 --range-416
	pull -0 -q "$PROXY_P_ADDR/test/single"
	store_verify
	run -0 ranges "$l"
	assert_output $'none\nbytes=100000-\nnone'
}

@test "a fresh download that fails verification is not fetched again" {
	local l
	l=$(layer0_of single)
	mkdir "$BATS_TEST_TMPDIR/blobs"
	cp "$LAY"/blobs/sha256/* "$BATS_TEST_TMPDIR/blobs/"
	corrupt "$BATS_TEST_TMPDIR/blobs/${l#sha256:}"
	cp "$(blob "$(fixture_digest single)")" "$BATS_TEST_TMPDIR/m.json"
	fake_registry_start bad "$BATS_TEST_TMPDIR/m.json" "$MT_MANIFEST" "$BATS_TEST_TMPDIR/blobs"
	pull -1 -q "$REGISTRY_BAD_ADDR/test/single:latest"
	assert_regex "$stderr" "blob $l failed verification"
	run -0 jq -r --arg d "$l" 'select(.path | endswith("/blobs/" + $d)) | .method' "$REGISTRY_BAD_LOG"
	assert_output GET
}

# --- offline sources stay inside -----------------------------------------------

@test "oci: a blob that is a symbolic link to a host file is refused" {
	local l outside
	l=$(layer0_of single)
	outside=$BATS_TEST_TMPDIR/outside
	# The right bytes, but outside the layout: a link could name any file.
	cp "$(blob "$l")" "$outside"
	rm "$(blob "$l")"
	ln -s "$outside" "$(blob "$l")"
	local before
	before=$(store_snapshot)
	pull -1 "oci:$LAY:single"
	assert_error_message
	assert_regex "$stderr" "blobs/sha256/${l#sha256:}' in the layout is a symbolic link"
	assert_store_unchanged "$before"
}

@test "oci: a blobs directory that is a symbolic link is refused" {
	mv "$LAY/blobs" "$BATS_TEST_TMPDIR/blobs"
	ln -s "$BATS_TEST_TMPDIR/blobs" "$LAY/blobs"
	pull -1 "oci:$LAY:single"
	assert_error_message
	assert_regex "$stderr" "is a symbolic link or is under one"
}

@test "oci: a blob that is a fifo is refused at once, no hang" {
	local l
	l=$(layer0_of single)
	rm "$(blob "$l")"
	mkfifo "$(blob "$l")"
	run --separate-stderr timeout 60 ctrk-pull "oci:$LAY:single"
	assert_equal "$status" 1
	assert_regex "$stderr" "in the layout is not a regular file"
}

@test "oci: index.json or oci-layout as a fifo or a symbolic link is refused, no hang" {
	mv "$LAY/index.json" "$BATS_TEST_TMPDIR/index.json"
	mkfifo "$LAY/index.json"
	run --separate-stderr timeout 60 ctrk-pull "oci:$LAY:single"
	assert_equal "$status" 1
	assert_regex "$stderr" "'index.json' in the layout is not a regular file"
	rm "$LAY/index.json"
	ln -s "$BATS_TEST_TMPDIR/index.json" "$LAY/index.json"
	run --separate-stderr timeout 60 ctrk-pull "oci:$LAY:single"
	assert_equal "$status" 1
	assert_regex "$stderr" "'index.json' in the layout is a symbolic link"
	mv "$BATS_TEST_TMPDIR/index.json" "$LAY/index.json"
	rm "$LAY/oci-layout"
	mkfifo "$LAY/oci-layout"
	run --separate-stderr timeout 60 ctrk-pull "oci:$LAY:single"
	assert_equal "$status" 1
	assert_regex "$stderr" "'oci-layout' in the layout is not a regular file"
}

# mktar OUT SPEC...: a tar of the oci-single fixture layout plus hostile
# entries, each SPEC "KIND:NAME[:TARGET]" (symlink, hardlink, fifo, chardev)
# replacing the member NAME.
mktar() {
	"$PYTHON" - "$@" <<-'EOF'
		import os, sys, tarfile
		out, specs = sys.argv[1], sys.argv[2:]
		src = os.environ["SRC"]
		replace = {s.split(":")[1]: s.split(":") for s in specs}
		with tarfile.open(out, "w") as t:
		    for dirpath, dirs, files in os.walk(src):
		        dirs.sort()
		        for f in sorted(files):
		            p = os.path.join(dirpath, f)
		            name = os.path.relpath(p, src)
		            if name not in replace:
		                t.add(p, name)
		                continue
		            kind, _, *target = replace[name]
		            ti = tarfile.TarInfo(name)
		            ti.type = {"symlink": tarfile.SYMTYPE, "hardlink": tarfile.LNKTYPE,
		                       "fifo": tarfile.FIFOTYPE, "chardev": tarfile.CHRTYPE}[kind]
		            ti.linkname = target[0] if target else ""
		            t.addfile(ti)
	EOF
}

@test "oci-archive: a blob that is a link, a fifo or a device in the tar is refused" {
	local l kind
	l=blobs/sha256/$(jq -r '.layers[0].digest | ltrimstr("sha256:")' \
		"$CTRK_FIXTURE_OCI_SINGLE/blobs/sha256/$(jq -r '.manifests[0].digest | ltrimstr("sha256:")' \
		"$CTRK_FIXTURE_OCI_SINGLE/index.json")")
	for kind in symlink:$l:/etc/passwd hardlink:$l:oci-layout fifo:$l chardev:$l; do
		SRC=$CTRK_FIXTURE_OCI_SINGLE mktar "$BATS_TEST_TMPDIR/a.tar" "$kind"
		local before
		before=$(store_snapshot)
		run --separate-stderr timeout 60 ctrk-pull "oci-archive:$BATS_TEST_TMPDIR/a.tar"
		printf '# %s: exit %s: %s\n' "$kind" "$status" "$stderr"
		assert_equal "$status" 1
		assert_regex "$stderr" "^ctrk-pull: error: .*${l}"
		assert_store_unchanged "$before"
	done
	# Nothing of the extraction is left behind.
	run -0 find "$CTRK_ROOT/ingest" -mindepth 1 -name 'extract-*'
	assert_output ''
}

@test "docker-archive: a layer that is a link out of the archive, a fifo or a device is refused" {
	local x l kind
	x=$BATS_TEST_TMPDIR/x
	mkdir "$x"
	tar -xf "$CTRK_FIXTURE_DOCKER_ARCHIVE" -C "$x"
	l=$(jq -r '.[0].Layers[0]' "$x/manifest.json")
	for kind in symlink:$l:../../../../../../etc/passwd symlink:$l:/etc/passwd hardlink:$l:manifest.json \
		fifo:$l chardev:$l; do
		SRC=$x mktar "$BATS_TEST_TMPDIR/d.tar" "$kind"
		local before
		before=$(store_snapshot)
		run --separate-stderr timeout 60 ctrk-pull "docker-archive:$BATS_TEST_TMPDIR/d.tar"
		printf '# %s: exit %s: %s\n' "$kind" "$status" "$stderr"
		assert_equal "$status" 1
		assert_regex "$stderr" "^ctrk-pull: error: "
		assert_store_unchanged "$before"
	done
}
