#!/bin/sh
# Runs the libFuzzer harnesses that `make fuzz` built: sh tests/fuzz/run.sh NAME...
# Each build-fuzz/fuzz-NAME runs FUZZ_SECONDS on build-fuzz/corpus-NAME
# (kept from run to run) plus the seeds tests/fuzz/seeds-NAME.sh writes
# afresh into build-fuzz/seeds-NAME.  A crash, leak, UB, timeout or
# out-of-memory leaves its input in build-fuzz/NAME-{crash,leak,timeout,oom}-*;
# the harness's log is build-fuzz/fuzz-NAME.log.  Every harness runs even
# after one failed; the exit status is 1 if any failed.
set -u
cd "$(dirname "$0")/../.."
out=build-fuzz
seconds=${FUZZ_SECONDS:-60}
: "${UBSAN_OPTIONS:=print_stacktrace=1}"
export UBSAN_OPTIONS

failed=0
total=0
for name in "$@"; do
	total=$((total + 1))
	bin=$out/fuzz-$name
	log=$out/fuzz-$name.log
	seeds=$out/seeds-$name
	corpus=$out/corpus-$name
	rm -rf "$seeds"
	mkdir -p "$seeds" "$corpus"
	script=tests/fuzz/seeds-$name.sh
	run=sh
	[ -x "$script" ] && run=
	if [ -f "$script" ] && ! $run "$script" "$seeds" >"$log" 2>&1; then
		cat "$log"
		echo "fuzz: $name FAILED: $script did not write the seeds"
		failed=$((failed + 1))
		continue
	fi
	echo "fuzz: $name for $seconds s ($(ls "$seeds" | wc -l) seeds, $(ls "$corpus" | wc -l) in the corpus)"
	# -timeout: one input that takes this long is a hang, and a failure.
	if "$bin" -max_total_time="$seconds" -timeout=25 -rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix="$out/$name-" "$corpus" "$seeds" >>"$log" 2>&1; then
		runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
		echo "fuzz: $name ok: ${runs:-?} runs, $(ls "$corpus" | wc -l) in the corpus"
		continue
	fi
	failed=$((failed + 1))
	tail -n 60 "$log"
	input=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -n 1)
	if [ -n "$input" ]; then
		echo "fuzz: $name FAILED: input $input (log $log); again: $bin $input"
	else
		echo "fuzz: $name FAILED without an input (log $log)"
	fi
done
echo "fuzz: $total harnesses, $failed failed"
[ "$failed" -eq 0 ]
