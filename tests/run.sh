#!/bin/sh
# Runs ctrk's tests: every unit test binary ($CTRK_BUILD/tests/test-*), then the
# bats suite (tests/bats) against the binaries in $CTRK_BUILD/bin.
#
# Environment:
#   CTRK_BUILD     absolute build directory (required; `make check` sets it)
#   CTRK_ONLY=unit run only the unit test binaries
#   CTRK_VALGRIND=1 run the unit test binaries under valgrind
#   CTRK_BATS_FILTER  passed to `bats --filter` (optional)
#   CTRK_BATS_FILES   space-separated .bats files instead of the whole suite
#
# Prints a last line "N passed, N failed[, N skipped]" and exits 1 if any failed.
set -u

here=$(cd "$(dirname "$0")" && pwd)
cd "$here/.." || exit 1

if [ -z "${CTRK_BUILD:-}" ]; then
	echo "run.sh: error: CTRK_BUILD is not set" >&2
	exit 2
fi

passed=0
failed=0
skipped=0
log=$(mktemp "${TMPDIR:-/tmp}/ctrk-run.XXXXXX")
trap 'rm -f "$log"' EXIT INT TERM

# Unit tests: one binary = one result, counted by its exit status.
for t in "$CTRK_BUILD"/tests/test-*; do
	[ -f "$t" ] && [ -x "$t" ] || continue
	echo "# unit: $t"
	if [ "${CTRK_VALGRIND:-0}" = 1 ]; then
		valgrind -q --leak-check=full --errors-for-leak-kinds=definite,indirect --child-silent-after-fork=yes \
			--error-exitcode=9 "$t"
	else
		"$t"
	fi
	rc=$?
	if [ "$rc" -eq 0 ]; then
		passed=$((passed + 1))
	else
		echo "# unit: FAILED (exit $rc): $t"
		failed=$((failed + 1))
	fi
done

if [ "${CTRK_ONLY:-}" != unit ]; then
	files=${CTRK_BATS_FILES:-tests/bats}
	set -- --tap
	[ -n "${CTRK_BATS_FILTER:-}" ] && set -- "$@" --filter "$CTRK_BATS_FILTER"
	# bats' own exit status is kept through the pipe in a file (POSIX sh has
	# no pipefail).
	rcfile="$log.rc"
	# shellcheck disable=SC2086
	{ PATH="$CTRK_BUILD/bin:$PATH" bats "$@" $files 2>&1; echo $? >"$rcfile"; } |
		tee "$log"
	brc=$(cat "$rcfile" 2>/dev/null || echo 1)
	rm -f "$rcfile"
	b_skip=$(grep -cE '^ok [0-9]+ .*# [sS][kK][iI][pP]' "$log")
	b_ok=$(grep -cE '^ok [0-9]+' "$log")
	b_fail=$(grep -cE '^not ok [0-9]+' "$log")
	b_ok=$((b_ok - b_skip))
	passed=$((passed + b_ok))
	skipped=$((skipped + b_skip))
	failed=$((failed + b_fail))
	# bats failed without a "not ok" line (setup_suite error, syntax error,
	# no bats at all): count it as one failure so it cannot pass silently.
	if [ "$brc" -ne 0 ] && [ "$b_fail" -eq 0 ]; then
		echo "# bats exited $brc without a failing test line"
		failed=$((failed + 1))
	fi
fi

if [ "$skipped" -gt 0 ]; then
	echo "$passed passed, $failed failed, $skipped skipped"
else
	echo "$passed passed, $failed failed"
fi
[ "$failed" -eq 0 ]
