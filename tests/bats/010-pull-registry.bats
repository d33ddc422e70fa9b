#!/usr/bin/env bats
# ctrk-pull from a real registry (the suite's shared docker-registry, see
# setup_suite.bash): reference forms, the descriptor, the store, platforms,
# Docker schema 2, and the manifest types it must refuse.

load helpers

setup_file() {
	# A deeper repository path, in the shared registry (blobs already there).
	registry_push shared single test/nested/deep/single
}

setup() {
	ctrk_setup
	A=$REGISTRY_SHARED_ADDR
}

teardown() {
	ctrk_teardown
}

# manifest_of TAG: the fixture manifest (JSON) of TAG.
manifest_of() {
	cat "$(fixture_blob "$(fixture_digest "$1")")"
}

@test "pull a full reference: the descriptor describes the image" {
	pull -0 "$A/test/single:latest"
	assert_descriptor
	local m cfg
	m=$(manifest_of single)
	cfg=$(cat "$(fixture_blob "$(jq -r .config.digest <<<"$m")")")

	assert_equal "$(jqo .image.ref)" "$A/test/single:latest"
	assert_equal "$(jqo .image.name)" "$A/test/single"
	assert_equal "$(jqo .image.tag)" latest
	assert_equal "$(jqo .image.digest)" "$(fixture_digest single)"
	assert_equal "$(jqo .image.mediaType)" application/vnd.oci.image.manifest.v1+json
	assert_equal "$(jqo .image.size)" "$(stat -c %s "$(fixture_blob "$(fixture_digest single)")")"
	assert_equal "$(jqo .image.root)" "$CTRK_ROOT"
	assert_equal "$(jqo -cS .image.platform)" '{"architecture":"amd64","os":"linux"}'
	assert_equal "$(jqo .image.configDescriptor.digest)" "$(jq -r .config.digest <<<"$m")"
	assert_equal "$(jqo -c '.image.layers | map({mediaType, digest, size})')" \
		"$(jq -c '.layers | map({mediaType, digest, size})' <<<"$m")"
	assert_equal "$(jqo -c .image.diffIds)" "$(jq -c .rootfs.diff_ids <<<"$cfg")"
	# Not an index: no "index" member.
	assert_equal "$(jqo '.image | has("index")')" false

	# The image config, as in the image.
	assert_equal "$(jqo -c .image.config.Env)" "$(jq -c .config.Env <<<"$cfg")"
	assert_equal "$(jqo -c .image.config.Cmd)" '["sh"]'
	assert_equal "$(jqo .image.config.WorkingDir)" /
	assert_equal "$(jqo -c .image.config.Labels)" '{"org.ctrk.test":"yes"}'
	assert_equal "$(jqo -c .image.config.ExposedPorts)" '{"8080/tcp":{}}'
	assert_equal "$(jqo -c .image.config.Volumes)" '{"/data":{}}'
}

@test "pull stores the image as an OCI layout with the normalised ref" {
	pull -0 "$A/test/single:latest"
	store_verify
	local c=$CTRK_ROOT/content d
	# index.json: one entry for the ref, pointing at the manifest.
	run -0 jq -r --arg r "$A/test/single:latest" \
		'[.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] == $r)]
		 | length, .[0].digest, .[0].mediaType' "$c/index.json"
	assert_equal "${lines[0]}" 1
	assert_equal "${lines[1]}" "$(fixture_digest single)"
	assert_equal "${lines[2]}" application/vnd.oci.image.manifest.v1+json
	# Manifest, config and every layer are blobs, byte for byte the pushed ones.
	for d in $(fixture_digest single) $(manifest_of single | jq -r '.config.digest, .layers[].digest'); do
		cmp "$(store_blob "$d")" "$(fixture_blob "$d")"
	done
	# No partial downloads left behind.
	run -0 ingest_files
	assert_output ""
}

@test "the tag defaults to latest" {
	pull -0 "$A/test/single"
	assert_descriptor
	assert_equal "$(jqo .image.ref)" "$A/test/single:latest"
	assert_equal "$(jqo .image.tag)" latest
	assert_equal "$(jqo .image.digest)" "$(fixture_digest single)"
	run -0 store_refs
	assert_line "$A/test/single:latest"
}

@test "pull a reference with a nested repository path" {
	pull -0 "$A/test/nested/deep/single:latest"
	assert_equal "$(jqo .image.name)" "$A/test/nested/deep/single"
	assert_equal "$(jqo .image.digest)" "$(fixture_digest single)"
	run -0 store_refs
	assert_line "$A/test/nested/deep/single:latest"
}

@test "pull by localhost:PORT (loopback plain HTTP without a flag)" {
	pull -0 "localhost:$REGISTRY_SHARED_PORT/test/single"
	assert_equal "$(jqo .image.name)" "localhost:$REGISTRY_SHARED_PORT/test/single"
	assert_equal "$(jqo .image.digest)" "$(fixture_digest single)"
	store_verify
}

@test "pull by digest: pinned ref is fetched and verified" {
	local dg
	dg=$(fixture_digest single)
	pull -0 "$A/test/single@$dg"
	assert_descriptor
	assert_equal "$(jqo .image.digest)" "$dg"
	assert_equal "$(jqo .image.name)" "$A/test/single"
	assert_equal "$(jqo .image.configDescriptor.digest)" "$(manifest_of single | jq -r .config.digest)"
	store_verify
	[ -f "$(store_blob "$dg")" ]
}

@test "pull by tag and digest" {
	local dg
	dg=$(fixture_digest multi)
	pull -0 "$A/test/multi:latest@$dg"
	assert_equal "$(jqo .image.digest)" "$dg"
	store_verify
}

@test "a pinned digest the registry does not have fails, store unchanged" {
	local before
	before=$(store_snapshot)
	pull -1 "$A/test/single@sha256:$(printf '0%.0s' {1..64})"
	assert_error_message
	assert_equal "$output" ""
	assert_store_unchanged "$before"
}

@test "a pinned digest of another repository's image fails" {
	local before
	before=$(store_snapshot)
	# multi's manifest exists in the registry, but not in test/single.
	pull -1 "$A/test/single@$(fixture_digest multi)"
	assert_error_message
	assert_store_unchanged "$before"
}

@test "a pinned digest that does not match what the server sends is refused" {
	# docker-registry always serves the right bytes for a digest, so this
	# needs a server that lies: it answers every manifest request with
	# single's manifest, whatever digest was asked for.
	local m wrong before
	m=$(fixture_blob "$(fixture_digest single)")
	wrong=$(fixture_digest multi)
	fake_registry_start liar "$m" application/vnd.oci.image.manifest.v1+json "$CTRK_FIXTURES/blobs/sha256"
	before=$(store_snapshot)
	pull -1 "$REGISTRY_LIAR_ADDR/test/single@$wrong"
	assert_error_message
	assert_equal "$output" ""
	assert_store_unchanged "$before"
	# It did ask for the manifest (so it failed on the digest, not before).
	run -0 grep -c "/v2/test/single/manifests/" "$REGISTRY_LIAR_LOG"
}

@test "multi-layer image: layers in order, whiteout kept in its layer, Entrypoint and User" {
	pull -0 "$A/test/multi"
	local m
	m=$(manifest_of multi)
	assert_equal "$(jqo '.image.layers | length')" 3
	assert_equal "$(jqo -c '[.image.layers[].digest]')" "$(jq -c '[.layers[].digest]' <<<"$m")"
	assert_equal "$(jqo '.image.diffIds | length')" 3
	assert_equal "$(jqo -c .image.config.Entrypoint)" '["/bin/sh","-c"]'
	assert_equal "$(jqo .image.config.User)" 0:0
	store_verify
	# Blobs are stored as they are: the whiteout is in the third layer.
	run -0 tar -tzf "$(store_blob "$(jqo '.image.layers[2].digest')")"
	assert_line etc/.wh.motd
	run -0 layer_file "$(jqo '.image.layers[1].digest')" data/hello.txt
	assert_output "hello from layer 2"
}

@test "multiarch: the host platform by default" {
	local host
	host=$(host_platform)
	pull -0 "$A/test/multiarch:latest"
	assert_descriptor
	assert_equal "$(jqo .image.digest)" "$(fixture_platform_manifest "$host")"
	assert_equal "$(jqo .image.mediaType)" application/vnd.oci.image.manifest.v1+json
	assert_equal "$(jqo .image.indexDigest)" "$(fixture_digest multiarch)"
	assert_equal "$(jqo .image.platform.os)" linux
	assert_equal "$(jqo .image.platform.architecture)" "$(cut -d/ -f2 <<<"$host")"
	run -0 layer_file "$(jqo '.image.layers[-1].digest')" etc/arch
	assert_output "$host"
	store_verify
	run -0 store_refs
	assert_line "$A/test/multiarch:latest"
}

@test "multiarch: --platform linux/arm64 picks arm64/v8" {
	pull -0 --platform linux/arm64 "$A/test/multiarch"
	assert_equal "$(jqo .image.digest)" "$(fixture_platform_manifest linux/arm64/v8)"
	assert_equal "$(jqo .image.platform.architecture)" arm64
	assert_equal "$(jqo .image.indexDigest)" "$(fixture_digest multiarch)"
	run -0 layer_file "$(jqo '.image.layers[-1].digest')" etc/arch
	assert_output linux/arm64/v8
	# The config in the store is the arm64 one.
	run -0 jq -r '.architecture + "/" + .variant' "$(store_blob "$(jqo .image.configDescriptor.digest)")"
	assert_output arm64/v8
	store_verify
}

@test "multiarch: --platform linux/arm/v7 picks arm/v7" {
	pull -0 --platform linux/arm/v7 "$A/test/multiarch"
	assert_equal "$(jqo .image.digest)" "$(fixture_platform_manifest linux/arm/v7)"
	assert_equal "$(jqo .image.platform.architecture)" arm
	assert_equal "$(jqo .image.platform.variant)" v7
	run -0 layer_file "$(jqo '.image.layers[-1].digest')" etc/arch
	assert_output linux/arm/v7
	store_verify
}

@test "multiarch: a platform not in the index is a clear error, store unchanged" {
	local before
	before=$(store_snapshot)
	pull -1 --platform linux/s390x "$A/test/multiarch"
	assert_error_message
	assert_equal "$output" ""
	# The message names the platform asked for.
	assert_regex "$stderr" 'linux/s390x'
	assert_store_unchanged "$before"
}

@test "Docker schema 2 image" {
	pull -0 "$A/test/docker-v2s2"
	assert_descriptor
	local m
	m=$(skopeo inspect --raw --tls-verify=false "docker://$A/test/docker-v2s2:latest")
	assert_equal "$(jqo .image.mediaType)" application/vnd.docker.distribution.manifest.v2+json
	assert_equal "$(jqo .image.digest)" "sha256:$(printf '%s' "$m" | sha256sum | cut -d' ' -f1)"
	assert_equal "$(jqo .image.layers[0].mediaType)" application/vnd.docker.image.rootfs.diff.tar.gzip
	assert_equal "$(jqo .image.configDescriptor.digest)" "$(jq -r .config.digest <<<"$m")"
	assert_equal "$(jqo -c .image.config.Cmd)" '["sh"]'
	assert_equal "$(jqo -c .image.config.Labels)" '{"org.ctrk.test":"yes"}'
	# Same layer contents as the OCI image.
	assert_equal "$(jqo -c .image.diffIds)" \
		"$(jq -c .rootfs.diff_ids "$(fixture_blob "$(manifest_of single | jq -r .config.digest)")")"
	store_verify
	run -0 jq -r --arg r "$A/test/docker-v2s2:latest" \
		'.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] == $r) | .mediaType' \
		"$CTRK_ROOT/content/index.json"
	assert_output application/vnd.docker.distribution.manifest.v2+json
}

@test "a schema 1 manifest is refused with a clear error" {
	# docker-registry 2.8 refuses to store an unsigned schema 1 manifest (and
	# signing needs libtrust JWS), so a canned server serves it.
	cat >"$BATS_TEST_TMPDIR/schema1.json" <<-'EOF'
		{"schemaVersion":1,"name":"test/old","tag":"latest","architecture":"amd64",
		 "fsLayers":[{"blobSum":"sha256:a3ed95caeb02ffe68cdd9fd84406680ae93d633cb16422d00e8a7c22955b46d4"}],
		 "history":[{"v1Compatibility":"{\"id\":\"e45a5af57b00862e5ef5782a9925979a02ba2b12dff832fd0991335f4a11e5c5\"}"}]}
	EOF
	local before
	before=$(store_snapshot)
	fake_registry_start old "$BATS_TEST_TMPDIR/schema1.json" \
		application/vnd.docker.distribution.manifest.v1+prettyjws
	pull -1 "$REGISTRY_OLD_ADDR/test/old:latest"
	assert_error_message
	assert_regex "$stderr" '[sS]chema ?1|v1\+prettyjws|manifest\.v1'
	assert_equal "$output" ""
	assert_store_unchanged "$before"
}

@test "an unknown manifest media type is refused with a clear error" {
	printf '{"schemaVersion":2,"mediaType":"application/vnd.ctrk.unknown.v1+json"}' \
		>"$BATS_TEST_TMPDIR/weird.json"
	local before
	before=$(store_snapshot)
	fake_registry_start weird "$BATS_TEST_TMPDIR/weird.json" application/vnd.ctrk.unknown.v1+json
	pull -1 "$REGISTRY_WEIRD_ADDR/test/weird:latest"
	assert_error_message
	assert_regex "$stderr" 'application/vnd\.ctrk\.unknown\.v1\+json'
	assert_store_unchanged "$before"
}

@test "a tag that does not exist is a clear error, store unchanged" {
	local before
	before=$(store_snapshot)
	pull -1 "$A/test/single:nosuchtag"
	assert_error_message
	assert_regex "$stderr" 'nosuchtag'
	assert_store_unchanged "$before"
}

@test "a repository that does not exist is a clear error" {
	pull -1 "$A/test/nosuchrepo"
	assert_error_message
	assert_regex "$stderr" 'nosuchrepo'
}

@test "two images share blobs and both refs land in index.json" {
	pull -0 "$A/test/single"
	pull -0 "$A/test/multi"
	pull -0 "$A/test/multiarch"
	store_verify
	run -0 store_refs
	assert_line "$A/test/single:latest"
	assert_line "$A/test/multi:latest"
	assert_line "$A/test/multiarch:latest"
	# The busybox layer is shared: once in the store.
	run -0 find "$CTRK_ROOT/content/blobs/sha256" -name "$(manifest_of single | jq -r '.layers[0].digest | ltrimstr("sha256:")')"
	assert_equal "${#lines[@]}" 1
}

@test "skopeo inspect and umoci ls read the store" {
	pull -0 "$A/test/single"
	pull -0 "$A/test/multi"
	run -0 skopeo inspect "oci:$CTRK_ROOT/content:$A/test/single:latest"
	assert_equal "$(jq -r .Digest <<<"$output")" "$(fixture_digest single)"
	assert_equal "$(jq -r '.Labels["org.ctrk.test"]' <<<"$output")" yes
	run -0 skopeo inspect "oci:$CTRK_ROOT/content:$A/test/multi:latest"
	assert_equal "$(jq -r '.Layers | length' <<<"$output")" 3
	run -0 umoci ls --layout "$CTRK_ROOT/content"
	assert_line "$A/test/single:latest"
	assert_line "$A/test/multi:latest"
	# umoci can unpack it too (the whiteout applied).
	run -0 umoci unpack --rootless --image "$CTRK_ROOT/content:$A/test/multi:latest" "$BATS_TEST_TMPDIR/bundle"
	[ -f "$BATS_TEST_TMPDIR/bundle/rootfs/data/hello.txt" ]
	[ ! -e "$BATS_TEST_TMPDIR/bundle/rootfs/etc/motd" ]
	[ -x "$BATS_TEST_TMPDIR/bundle/rootfs/bin/busybox" ]
}

@test "--root overrides CTRK_ROOT" {
	pull -0 --root "$BATS_TEST_TMPDIR/other" "$A/test/single"
	assert_equal "$(jqo .image.root)" "$BATS_TEST_TMPDIR/other"
	store_verify "$BATS_TEST_TMPDIR/other"
	[ ! -e "$CTRK_ROOT/content/index.json" ] ||
		[ "$(jq '.manifests | length' "$CTRK_ROOT/content/index.json")" = 0 ]
}

@test "pulling the same image again downloads no blob and changes no blob" {
	REGISTRY_ACCESSLOG=1 registry_start counted plain
	registry_push counted multi
	local log=$REGISTRY_COUNTED_DIR/registry.log mtimes1 mtimes2 n1 n2
	pull -0 "$REGISTRY_COUNTED_ADDR/test/multi"
	local first=$output
	n1=$(grep -c '"GET /v2/test/multi/blobs/' "$log")
	# manifest + config + 3 layers were fetched once each (config and layers
	# are blobs: at least 4 blob GETs).
	[ "$n1" -ge 4 ]
	mtimes1=$(stat -c '%n %Y %i' "$CTRK_ROOT"/content/blobs/sha256/* | sort)
	sleep 1.1
	pull -0 "$REGISTRY_COUNTED_ADDR/test/multi"
	n2=$(grep -c '"GET /v2/test/multi/blobs/' "$log")
	assert_equal "$n2" "$n1"
	mtimes2=$(stat -c '%n %Y %i' "$CTRK_ROOT"/content/blobs/sha256/* | sort)
	assert_equal "$mtimes2" "$mtimes1"
	# Same descriptor both times.
	assert_equal "$(jq -cS . <<<"$output")" "$(jq -cS . <<<"$first")"
	run -0 store_refs
	assert_equal "$(grep -c "test/multi:latest" <<<"$output")" 1
}
