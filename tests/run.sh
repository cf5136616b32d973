#!/bin/sh
# Runs every test program in DIR and prints one summary line:
#   tests: N passed, N failed, N skipped
# (test cases summed from cmocka's own summaries). Exit 1 if any failed.
# LLMCAP_TEST_WRAP, when set, is put before each program (make test-neon:
# "qemu-aarch64 -cpu max").
set -u
dir=${1:-build/tests}
passed=0; failed=0; skipped=0; bad=""
for t in "$dir"/test_*; do
	[ -x "$t" ] || continue
	case "$t" in *.d|*.o) continue;; esac
	name=$(basename "$t")
	log=$(mktemp)
	# shellcheck disable=SC2086 # the wrapper is a command and its arguments
	${LLMCAP_TEST_WRAP:-} "$t" >"$log" 2>&1
	rc=$?
	cat "$log"
	p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$log" | awk '{s+=$1} END {print s+0}')
	f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$log" | awk '{s+=$1} END {print s+0}')
	k=$(sed -n 's/^\[  SKIPPED \] \([0-9]*\) test.*/\1/p' "$log" | awk '{s+=$1} END {print s+0}')
	rm -f "$log"
	passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + k))
	if [ $rc -ne 0 ]; then
		bad="$bad $name"
		[ "$f" -eq 0 ] && failed=$((failed + 1))
	fi
done
echo
[ -n "$bad" ] && echo "failing programs:$bad"
echo "tests: $passed passed, $failed failed, $skipped skipped"
[ -z "$bad" ]
