#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# unbound-mode.sh - the DNS and policy integration tests once more, through the
# testbed's second resolver mode: a validating Unbound (our trust anchor) in
# front of Knot (TB_UNBOUND=1), the way operators deploy DNS. The library asks
# every query with CD and DO and validates for itself, so each test asserts
# the same verdicts and reasons it asserts against Knot directly (a BOGUS zone
# is BOGUS, not a SERVFAIL turned INDETERMINATE). Each test prints its own
# lines; this one adds one line per test and the count. Under valgrind only
# the three that feed the library every answer shape a recursive resolver
# gives (whole CNAME chains, its denials) run here: the rest add minutes and
# no code path the Knot mode does not run under valgrind already.
set -u
command -v unbound >/dev/null 2>&1 || { echo "# SKIP: unbound not installed"; exit 77; }
export TB_UNBOUND=1
pass=0 fail=0
tests="dns-live check-live chain-live clientid-tls fault-bogus proxy-federation proxy-insecure"
[ -z "${VALGRIND-}" ] || tests="dns-live check-live proxy-federation"
for t in $tests; do
	echo "# ---- tests/$t.sh behind a validating unbound"
	"${srcdir:-.}/tests/$t.sh"
	rc=$?
	case $rc in
	0) pass=$((pass + 1)); echo "ok - $t.sh behind a validating unbound" ;;
	77) echo "# SKIP: $t.sh" ;;
	*) fail=$((fail + 1)); echo "FAIL - $t.sh behind a validating unbound (exit $rc)" ;;
	esac
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
