#!/bin/sh
# run.sh BUILD_DIR [PATTERN...]: runs the integration tests: every
# tests/integration/t_*.sh (bash) and t_*.py (Python, run inside the standard
# environment of lib.sh: a mock provider and a daemon in front of it). Each
# test case prints "ok - name" or "not ok - name: diagnosis". At the end one
# line "N passed, N failed"; the exit status is non-zero if any failed.
#
# PATTERN limits the run to test files whose name contains it. KEEP=1 keeps
# the temporary directories. Each test file is bounded by FILE_TIMEOUT
# seconds.

# Started by "sh" from the Makefile: the rest is bash.
if [ -z "${BASH_VERSION:-}" ]; then
	exec bash "$0" "$@"
fi
set -u

if [ $# -lt 1 ]; then
	echo "usage: $0 BUILD_DIR [PATTERN...]" >&2
	exit 2
fi
HERE=$(cd "$(dirname "$0")" && pwd)
AR_BUILD=$(cd "$1" && pwd) || exit 2
export AR_BUILD
shift
FILE_TIMEOUT=${FILE_TIMEOUT:-240}

passed=0
failed=0
start=$(date +%s)
out=$(mktemp "${TMPDIR:-/tmp}/authrelay-run.XXXXXX")
trap 'rm -f "$out"' EXIT
trap 'exit 1' INT TERM HUP

for t in "$HERE"/t_*.sh "$HERE"/t_*.py; do
	[ -e "$t" ] || continue
	name=${t##*/}
	if [ $# -gt 0 ]; then
		sel=0
		for p in "$@"; do
			case $name in *"$p"*) sel=1 ;; esac
		done
		[ "$sel" = 1 ] || continue
	fi
	echo "# $name"
	t0=$(date +%s)
	case $name in
	*.sh) timeout -k 10 "$FILE_TIMEOUT" bash "$t" ;;
	*.py) timeout -k 10 "$FILE_TIMEOUT" bash "$HERE/pyenv.sh" "$t" ;;
	esac </dev/null >"$out" 2>&1
	rc=$?
	cat "$out"
	p=$(grep -c '^ok - ' "$out")
	f=$(grep -c '^not ok - ' "$out")
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
			echo "not ok - $name: timed out after ${FILE_TIMEOUT}s"
		else
			echo "not ok - $name: exited with status $rc"
		fi
		f=1
	fi
	echo "# $name: $p passed, $f failed, $(($(date +%s) - t0))s"
	passed=$((passed + p))
	failed=$((failed + f))
done

echo "# total time $(($(date +%s) - start))s"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
