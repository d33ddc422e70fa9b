#!/usr/bin/env bats
# ctrk-pull from offline sources: an OCI layout directory (oci:DIR[:TAG]),
# an oci-archive and a docker-archive, all written by skopeo or mkimages.sh.

load helpers

setup() {
	ctrk_setup
}

teardown() {
	ctrk_teardown
}

# entry_for REF: the digest index.json maps REF to.
entry_for() {
	jq -r --arg r "$1" '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] == $r) | .digest' \
		"$CTRK_ROOT/content/index.json"
}

@test "oci:DIR:TAG" {
	pull -0 "oci:$CTRK_FIXTURES:multi"
	assert_descriptor
	assert_equal "$(jqo .image.digest)" "$(fixture_digest multi)"
	assert_equal "$(jqo .image.mediaType)" application/vnd.oci.image.manifest.v1+json
	assert_equal "$(jqo '.image.layers | length')" 3
	assert_equal "$(jqo .image.root)" "$CTRK_ROOT"
	assert_equal "$(jqo -c .image.config.Cmd)" '["sh"]'
	store_verify
	# Ref name: the TAG given.
	assert_equal "$(entry_for multi)" "$(fixture_digest multi)"
	# Blobs are the same bytes.
	local d
	for d in $(jqo '.image.configDescriptor.digest, .image.layers[].digest'); do
		cmp "$(store_blob "$d")" "$(fixture_blob "$d")"
	done
}

@test "oci:DIR of a single image, without a tag" {
	pull -0 "oci:$CTRK_FIXTURE_OCI_SINGLE"
	assert_descriptor
	assert_equal "$(jqo .image.digest)" "$(fixture_digest single)"
	store_verify
	run -0 jq -r '.manifests[].digest' "$CTRK_ROOT/content/index.json"
	assert_line "$(fixture_digest single)"
}

@test "oci:DIR with several images and no tag is an error" {
	local before
	before=$(store_snapshot)
	pull -1 "oci:$CTRK_FIXTURES"
	assert_error_message
	assert_store_unchanged "$before"
}

@test "oci:DIR:TAG with a tag that is not there is an error" {
	local before
	before=$(store_snapshot)
	pull -1 "oci:$CTRK_FIXTURES:nosuchtag"
	assert_error_message
	assert_regex "$stderr" nosuchtag
	assert_store_unchanged "$before"
}

@test "oci:DIR that does not exist is an error" {
	pull -1 "oci:$BATS_TEST_TMPDIR/nothing:single"
	assert_error_message
}

@test "oci:DIR:TAG of an index picks the platform" {
	pull -0 --platform linux/arm/v7 "oci:$CTRK_FIXTURES:multiarch"
	assert_equal "$(jqo .image.digest)" "$(fixture_platform_manifest linux/arm/v7)"
	assert_equal "$(jqo .image.indexDigest)" "$(fixture_digest multiarch)"
	run -0 layer_file "$(jqo '.image.layers[-1].digest')" etc/arch
	assert_output linux/arm/v7
	store_verify
	pull -0 "oci:$CTRK_FIXTURES:multiarch"
	run -0 layer_file "$(jqo '.image.layers[-1].digest')" etc/arch
	assert_output "$(host_platform)"
}

@test "oci:DIR with a corrupted layer is refused, store unchanged" {
	local lay l before
	lay=$BATS_TEST_TMPDIR/layout
	cp -r "$CTRK_FIXTURE_OCI_SINGLE" "$lay"
	l=$(jq -r '.layers[0].digest' "$lay/blobs/sha256/$(jq -r '.manifests[0].digest | ltrimstr("sha256:")' "$lay/index.json")")
	l=$lay/blobs/sha256/${l#sha256:}
	chmod u+w "$l"
	# Same size, different bytes in the middle.
	printf 'CORRUPT' | dd of="$l" bs=1 seek=$(($(stat -c %s "$l") / 2)) conv=notrunc status=none
	before=$(store_snapshot)
	pull -1 "oci:$lay:single"
	assert_error_message
	assert_store_unchanged "$before"
}

@test "oci-archive:FILE:TAG" {
	pull -0 "oci-archive:$CTRK_FIXTURE_OCI_ARCHIVE:single"
	assert_descriptor
	assert_equal "$(jqo .image.digest)" "$(fixture_digest single)"
	store_verify
	assert_equal "$(entry_for single)" "$(fixture_digest single)"
}

@test "oci-archive:FILE of one image, without a tag" {
	pull -0 "oci-archive:$CTRK_FIXTURE_OCI_ARCHIVE"
	assert_equal "$(jqo .image.digest)" "$(fixture_digest single)"
	store_verify
}

@test "oci-archive: a file that is not an archive is an error" {
	echo "not a tar" >"$BATS_TEST_TMPDIR/bad.tar"
	local before
	before=$(store_snapshot)
	pull -1 "oci-archive:$BATS_TEST_TMPDIR/bad.tar"
	assert_error_message
	assert_store_unchanged "$before"
}

@test "docker-archive:FILE" {
	pull -0 "docker-archive:$CTRK_FIXTURE_DOCKER_ARCHIVE"
	assert_descriptor
	# The archive's config is its own file (skopeo wrote a Docker config):
	# the descriptor names it by digest.
	local cfgname want_cfg
	cfgname=$(tar -xOf "$CTRK_FIXTURE_DOCKER_ARCHIVE" manifest.json | jq -r '.[0].Config')
	want_cfg=sha256:$(tar -xOf "$CTRK_FIXTURE_DOCKER_ARCHIVE" "$cfgname" | sha256sum | cut -d' ' -f1)
	assert_equal "$(jqo .image.configDescriptor.digest)" "$want_cfg"
	# Same file system content as the OCI image: same diff IDs.
	assert_equal "$(jqo -c .image.diffIds)" \
		"$(jq -c .rootfs.diff_ids "$(fixture_blob "$(jq -r .config.digest "$(fixture_blob "$(fixture_digest single)")")")")"
	assert_equal "$(jqo -c .image.config.Cmd)" '["sh"]'
	assert_equal "$(jqo -c .image.config.Labels)" '{"org.ctrk.test":"yes"}'
	store_verify
	# The manifest ctrk-pull recorded is in the store and lists the layers.
	[ -f "$(store_blob "$(jqo .image.digest)")" ]
	assert_equal "$(jq '.layers | length' "$(store_blob "$(jqo .image.digest)")")" 1
	# Ref name: the name in the archive.
	run -0 store_refs
	assert_output --regexp 'busybox:latest'
	# skopeo reads what was stored.
	run -0 skopeo inspect "oci:$CTRK_ROOT/content:$(store_refs | head -1)"
}

@test "docker-archive: a missing file is an error" {
	local before
	before=$(store_snapshot)
	pull -1 "docker-archive:$BATS_TEST_TMPDIR/none.tar"
	assert_error_message
	assert_store_unchanged "$before"
}
