#!/bin/sh
# timeout.sh TEST [ARGS] - run one test (automake's LOG_COMPILER) under a time
# limit, so a hung test fails (exit 124) instead of stalling the suite:
# SD_TEST_TIMEOUT seconds, 600 by default (1200 with VALGRIND=1); SIGKILL 10 s
# after SIGTERM. With VALGRIND=1 a compiled test, and the programs a script
# test starts through tests/valgrind.sh, run under memcheck, and any error or
# definite leak they report fails the test; VG_SLOW (6) is the factor the
# tests stretch their waits by, as programs take seconds to start there.
# With STRESS=1 every core is kept busy while the tests run (tests/stress.sh).
[ -z "${STRESS-}" ] || "$(dirname "$0")/stress.sh"
[ -n "${VALGRIND-}" ] || exec timeout -k 10 "${SD_TEST_TIMEOUT:-600}" "$@"
VG_DIR=$(mktemp -d "${TMPDIR:-/tmp}/sipdance-vg.XXXXXX") || exit 99
VG_SLOW=6
export VG_DIR VG_SLOW
case $1 in
*.sh) timeout -k 10 "${SD_TEST_TIMEOUT:-1200}" "$@" ;;
*) t=$("$(dirname "$0")/valgrind.sh" "$1") && shift && timeout -k 10 "${SD_TEST_TIMEOUT:-1200}" "$t" "$@" ;;
esac
rc=$?
runs=$(ls "$VG_DIR" | grep -c '^vg-.*\.log$')
done_=$(grep -l '== ERROR SUMMARY: ' "$VG_DIR"/vg-*.log 2>/dev/null | wc -l)
if grep -l '== FATAL' "$VG_DIR"/vg-*.log >/dev/null 2>&1; then
	echo "FAIL - valgrind could not run (reports kept in $VG_DIR)"
	grep -h -A3 '== FATAL' "$VG_DIR"/vg-*.log | head -20 | sed 's/^/#   /'
	exit 1
fi
if grep -l '== ERROR SUMMARY: [1-9]' "$VG_DIR"/vg-*.log >/dev/null 2>&1; then
	echo "FAIL - valgrind (memcheck): errors or definite leaks (reports kept in $VG_DIR)"
	grep -h -B60 '== ERROR SUMMARY: [1-9]' "$VG_DIR"/vg-*.log | head -150 | sed 's/^/#   /'
	exit 1
fi
echo "# valgrind (memcheck): no error, no definite leak in $done_ report(s) ($runs process(es); a killed one leaves none)"
rm -rf "$VG_DIR"
exit $rc
