#!/usr/bin/env bats
# ctrk-pull's progress on a real terminal (a pty, tests/fixtures/pty-run.py),
# through a proxy that sends blobs slowly (fault-proxy.py --throttle) so that
# many frames are drawn: what the terminal shows is played back by
# tests/fixtures/term-render.py at the terminal's width. Lines fit the
# width, frames are redrawn in place, the rate and the time left are shown,
# and a summary line ends it.

load helpers

# Bytes per second the proxy sends blobs at: the busybox layer takes ~2 s.
THROTTLE=400000

setup() {
	ctrk_setup
	T=$BATS_TEST_TMPDIR
	proxy_start slow --throttle "$THROTTLE"
	P=$PROXY_SLOW_ADDR
}

teardown() {
	ctrk_teardown
}

# pull_on_tty ROWSxCOLS TAG [ARGS...]: ctrk-pull ARGS of test/TAG through the
# slow proxy on a terminal of that size. What the terminal got is in
# $T/tty, the descriptor in $T/desc.json, the played-back terminal in
# $RENDER (JSON, see term-render.py).
pull_on_tty() {
	local size=$1 tag=$2
	shift 2
	# shellcheck disable=SC2016
	"$PYTHON" "$CTRK_TESTS_DIR/fixtures/pty-run.py" --size "$size" -- \
		sh -c 'out=$1; shift; exec ctrk-pull "$@" >"$out"' sh "$T/desc.json" "$@" "$P/test/$tag" >"$T/tty" ||
		fail "ctrk-pull failed on a terminal: $(cat -v "$T/tty")"
	render_tty "${size#*x}"
	# The pull itself worked.
	assert_equal "$(jq -r .image.digest "$T/desc.json")" "$(fixture_digest "$tag")"
}

# render_tty COLS: $T/tty played back on a terminal COLS wide, into $RENDER.
render_tty() {
	RENDER=$("$PYTHON" "$CTRK_TESTS_DIR/fixtures/term-render.py" --cols "$1" "$T/tty")
	# Shown by bats only when the test fails.
	echo "terminal output: $(cat -v "$T/tty" | tail -c 3000)"
	echo "as shown: $(jq -r '.lines[]' <<<"$RENDER")"
	echo "render: $(jq -c 'del(.lines)' <<<"$RENDER")"
}

render() { jq -r "$@" <<<"$RENDER"; }

# layers_of TAG: how many layers the fixture image TAG has.
layers_of() {
	jq '.layers | length' "$(fixture_blob "$(fixture_digest "$1")")"
}

# assert_drawn_in_place NBARS: no line was wider than the terminal, and the
# output took one line per bar plus the summary however many frames were
# drawn (at least 5: the transfer is slow).
assert_drawn_in_place() {
	assert_equal "$(render .wraps)" 0
	assert_equal "$(render .unknown)" 0
	assert_equal "$(render .newlines)" "$(($1 + 1))"
	(($(render .ups) >= 5)) || fail "only $(render .ups) frames were redrawn in place"
}

@test "at 40 columns nothing wraps, frames are redrawn in place, rate and time left, a summary" {
	pull_on_tty 24x40 single
	assert_drawn_in_place "$((1 + $(layers_of single)))"
	(($(render .widest) <= 40)) || fail "a line took $(render .widest) columns"
	# While the layer came: its rate and the time left.
	run -0 grep -aEc 'layer [0-9a-f]+ +[ 0-9]+% [0-9.]+ (B|KiB|MiB)/s eta [0-9]+:[0-9]{2}' "$T/tty"
	# What stays: one line per blob, then the summary.
	run -0 render '.lines | length'
	assert_output 3
	assert_regex "$(render '.lines[0]')" '^config [0-9a-f]{7,12} +done'
	assert_regex "$(render '.lines[1]')" '^layer [0-9a-f]{7,12} +done'
	assert_regex "$(render '.lines[2]')" '^pulled (.+: )?2 blobs, [0-9.]+ (KiB|MiB) in [0-9]+\.[0-9] s'
}

@test "at 160 columns: bars, sizes, rate and time left; the summary names the image" {
	pull_on_tty 24x160 single
	assert_drawn_in_place "$((1 + $(layers_of single)))"
	run -0 grep -aEc 'layer [0-9a-f]{12} +\[=*>? *\] [0-9.]+ (B|KiB|MiB) / [0-9.]+ (KiB|MiB) [0-9.]+ (B|KiB|MiB)/s eta [0-9]+:[0-9]{2}' "$T/tty"
	run -0 render '.lines[-1]'
	assert_regex "$output" "^pulled $P/test/single:latest: 2 blobs, [0-9.]+ (KiB|MiB) in [0-9]+\.[0-9] s \([0-9.]+ (B|KiB|MiB)/s\)$"
}

@test "at 12 columns nothing wraps either" {
	pull_on_tty 24x12 single
	assert_drawn_in_place "$((1 + $(layers_of single)))"
	(($(render .widest) <= 12)) || fail "a line took $(render .widest) columns"
	assert_regex "$(render '.lines[-1]')" '^pulled'
}

@test "more bars than the terminal has rows: the frames still fit, the rest is counted" {
	# multi: 3 layers; 4 rows leave 2 lines: one bar and "... 2 more".
	pull_on_tty 4x60 multi
	assert_drawn_in_place 3
	assert_regex "$(render '.lines[2]')" '^\.\.\. 2 more, 3 of 3 finished'
	assert_regex "$(render '.lines[3]')" '^pulled (.+: )?4 blobs, '
}

@test "a second pull: everything is in the store, and the summary says so" {
	pull_on_tty 24x100 single
	pull_on_tty 24x100 single
	assert_regex "$(render '.lines[0]')" '^config [0-9a-f]{12} +in the store'
	assert_regex "$(render '.lines[-1]')" '^pulled .*: 2 blobs \(2 in the store\), 0 B in '
}

@test "--quiet on a terminal, or stderr not a terminal: no progress and no summary" {
	pull_on_tty 24x80 single -q
	assert_equal "$(wc -c <"$T/tty")" 0
	ctrk-pull "$P/test/single" >"$T/desc2.json" 2>"$T/err" </dev/null
	assert_equal "$(wc -c <"$T/err")" 0
}

@test "a pull that fails on a terminal: the error on its own line after the last frame, no summary" {
	local bad
	proxy_start bad --fail-blob 100:500
	bad=$PROXY_BAD_ADDR
	run -1 "$PYTHON" "$CTRK_TESTS_DIR/fixtures/pty-run.py" --size 24x60 -- \
		ctrk-pull -q --retries 0 "$bad/test/single"
	assert_output --partial "ctrk-pull: error: "
	# shellcheck disable=SC2016
	"$PYTHON" "$CTRK_TESTS_DIR/fixtures/pty-run.py" --size 24x60 -- \
		sh -c 'exec ctrk-pull --retries 0 "$1" >/dev/null' sh "$bad/test/single" >"$T/tty" && fail "the pull did not fail"
	render_tty 60
	# The error (which may wrap: it is long) starts a line of its own.
	assert_regex "$(render '.lines[0]')" '^config [0-9a-f]{12} '
	assert_regex "$(render '.lines[1]')" '^ctrk-pull: error: '
	run -1 grep -c '^pulled' <(render '.lines[]')
}

@test "a terminal widened during the pull gets wider lines from the next frame on" {
	# shellcheck disable=SC2016
	"$PYTHON" "$CTRK_TESTS_DIR/fixtures/pty-run.py" --size 24x40 --resize-after 1 24x160 -- \
		sh -c 'exec ctrk-pull "$1" >/dev/null' sh "$P/test/single" >"$T/tty" || fail "ctrk-pull failed"
	render_tty 160
	assert_equal "$(render .wraps)" 0
	# Narrow frames first (no bar, a percentage), then frames with a bar.
	run -0 grep -aEc 'layer [0-9a-f]{7} +[ 0-9]+% ' "$T/tty"
	run -0 grep -aEc 'layer [0-9a-f]{12} +\[[ =>]+\] ' "$T/tty"
	assert_regex "$(render '.lines[-1]')" "^pulled $P/test/single:latest: 2 blobs, "
}
