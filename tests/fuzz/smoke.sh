#!/bin/sh
# make fuzz-smoke: run each libFuzzer harness for a bounded time from its
# seed corpus, JOBS at a time, and fail if any finds a crash, a leak, UB, a
# timeout or an out-of-memory. The seed corpus tests/fuzz/corpus/NAME is
# copied to BUILD/fuzz-smoke/NAME/corpus first (libFuzzer adds what it
# finds to its corpus directory: the committed one stays as it is); a
# harness without a seed corpus starts from nothing. What a failing
# harness found is printed with the command that replays it.
#
#   sh tests/fuzz/smoke.sh BUILD SECONDS JOBS NAME...
set -eu

# One harness (run through xargs -P below): its log, its exit status.
if [ "${1:-}" = --one ]; then
	b=$2 secs=$3 name=$4
	dir=$b/fuzz-smoke/$name
	rm -rf "$dir"
	mkdir -p "$dir/corpus" "$dir/found"
	if [ -d "tests/fuzz/corpus/$name" ]; then
		cp -R "tests/fuzz/corpus/$name/." "$dir/corpus/"
	fi
	rc=0
	# -timeout: one input running 5 s is a hang. The outer timeout only
	# guards against libFuzzer itself not stopping.
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	timeout $((secs + 120)) "$b/fuzz_$name" -max_total_time="$secs" \
	    -timeout=5 -rss_limit_mb=2048 -print_final_stats=1 \
	    -artifact_prefix="$dir/found/" "$dir/corpus" \
	    >"$dir/log" 2>&1 || rc=$?
	echo "$rc" >"$dir/rc"
	exit 0
fi

[ $# -ge 4 ] || { echo "usage: $0 BUILD SECONDS JOBS NAME..." >&2; exit 2; }
b=$1 secs=$2 jobs=$3
shift 3
for name in "$@"; do
	[ -x "$b/fuzz_$name" ] || { echo "fuzz-smoke: $b/fuzz_$name missing" >&2
		exit 1; }
done

start=$(date +%s)
echo "fuzz-smoke: $# harnesses, ${secs} s each, $jobs at a time: $*"
printf '%s\n' "$@" | xargs -P "$jobs" -I NAME sh "$0" --one "$b" "$secs" NAME

failed=""
for name in "$@"; do
	dir=$b/fuzz-smoke/$name
	rc=$(cat "$dir/rc" 2>/dev/null || echo "?")
	runs=$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$dir/log" | tail -n 1)
	cov=$(sed -n 's/.*cov: \([0-9]*\).*/\1/p' "$dir/log" | tail -n 1)
	if [ "$rc" = 0 ] && [ -z "$(ls -A "$dir/found")" ]; then
		echo "fuzz-smoke: $name ok (${runs:-?} runs, cov ${cov:-?})"
		continue
	fi
	failed="$failed $name"
	echo "fuzz-smoke: $name FAILED (exit $rc); the end of $dir/log:"
	tail -n 60 "$dir/log" | sed 's/^/#   /'
	for f in "$dir"/found/*; do
		[ -e "$f" ] || continue
		echo "fuzz-smoke: $name found $f ($(wc -c <"$f") bytes;" \
		    "replay: $b/fuzz_$name $f):"
		od -A d -c "$f" | head -n 40 | sed 's/^/#   /'
	done
done
echo "fuzz-smoke: done in $(($(date +%s) - start)) s"
if [ -n "$failed" ]; then
	echo "fuzz-smoke: FAILED:$failed" >&2
	exit 1
fi
