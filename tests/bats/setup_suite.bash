# shellcheck shell=bash
# Once per bats run: build the fixture images, start the shared plain
# registry and push them into it, make the offline archives.
# See helpers.bash for the variables exported here.

setup_suite() {
	load helpers
	local fx="$BATS_SUITE_TMPDIR/fixtures"

	export CTRK_FIXTURES="$fx/layout"
	sh "$CTRK_TESTS_DIR/fixtures/mkimages.sh" "$CTRK_FIXTURES"

	export CTRK_FIXTURE_OCI_SINGLE="$fx/oci-single"
	export CTRK_FIXTURE_OCI_ARCHIVE="$fx/single.oci.tar"
	export CTRK_FIXTURE_DOCKER_ARCHIVE="$fx/single.docker.tar"
	skopeo copy -q "oci:$CTRK_FIXTURES:single" "oci:$CTRK_FIXTURE_OCI_SINGLE:single" >/dev/null
	skopeo copy -q "oci:$CTRK_FIXTURES:single" "oci-archive:$CTRK_FIXTURE_OCI_ARCHIVE:single" >/dev/null
	skopeo copy -q "oci:$CTRK_FIXTURES:single" \
		"docker-archive:$CTRK_FIXTURE_DOCKER_ARCHIVE:busybox:latest" >/dev/null

	registry_start shared plain
	local tag
	for tag in single multi multiarch; do
		registry_push shared "$tag"
	done
	skopeo copy -q --dest-tls-verify=false --format v2s2 "oci:$CTRK_FIXTURES:single" \
		"docker://$REGISTRY_SHARED_ADDR/test/docker-v2s2:latest" >/dev/null
	export REGISTRY_SHARED_STORAGE REGISTRY_SHARED_DIR
}

teardown_suite() {
	load helpers
	registry_stop shared
	ctrk_kill_scope "$BATS_SUITE_TMPDIR"
}
