# SPDX-License-Identifier: BSD-2-Clause
# check-lib.sh - sourced by the script tests: a scratch directory $tmp
# (removed at exit; a script with its own EXIT trap removes it there), one
# "ok - ..." or "FAIL - ..." line per check, and the closing line
# "N passed, M failed" that automake's log and CI read.
pass=0 fail=0
tmp=$(mktemp -d "${TMPDIR:-/tmp}/sipdance-test.XXXXXX") && trap 'rm -rf "$tmp"' EXIT
# vg_slow - the one factor for time limits (tests/timeout.sh sets it under valgrind)
vg_slow=${VG_SLOW:-1}

# ok WHAT / not_ok WHAT - count one check
ok() { pass=$((pass + 1)); echo "ok - $*"; }
not_ok() { fail=$((fail + 1)); echo "FAIL - $*"; }

# check NAME WANT_EXIT REGEX CMD... - run CMD; it passes when CMD exits with
# WANT_EXIT and REGEX matches a line of its output (stdout and stderr)
check() {
	name=$1 want=$2 re=$3
	shift 3
	"$@" >"$tmp/out" 2>&1
	got=$?
	if [ "$got" -eq "$want" ] && grep -Eq -- "$re" "$tmp/out"; then
		ok "$name"
	else
		not_ok "$name (exit $got, want $want, /$re/)"
		sed 's/^/    /' "$tmp/out"
	fi
}

# finish - the closing line; the exit status says whether every check passed
finish() {
	echo "$pass passed, $fail failed"
	[ "$fail" -eq 0 ]
}
