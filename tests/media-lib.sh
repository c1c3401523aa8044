# SPDX-License-Identifier: BSD-2-Clause
# media-lib.sh - sourced by tests/media-ua.sh and tests/media-baresip.sh (DTLS-SRTP between our UA and a
# peer on loopback, no proxy): our UA ($ua, under memcheck with VALGRIND=1), a port block of the test's
# own ($base), its scratch directory ($dir), the ok/FAIL lines, and on exit everything still running
# stopped: the PIDs in $pids, a daemon by its pid file in $dir.
set -u
srcdir=${srcdir:-.}
# vg_slow - the one factor for time limits (tests/timeout.sh sets it under valgrind)
vg_slow=${VG_SLOW:-1}
# reap [-g SECONDS] PID... - wait for an exit, then SIGTERM, then SIGKILL
. "$srcdir/tests/reap-lib.sh"
ua=$("$srcdir/tests/valgrind.sh" "${top_builddir:-.}/examples/sipdance-ua")
[ -x "$ua" ] || { echo "FAIL - $ua not built"; exit 1; }
base=$("$srcdir/tests/ports.sh" $$)
dir=$(mktemp -d "${TMPDIR:-/tmp}/sipdance-$(basename "$0" .sh).XXXXXX")
pids=
pass=0 fail=0

# cleanup - stop what is still running, by PID, and remove $dir
cleanup() {
	# shellcheck disable=SC2086
	reap $pids
	for f in "$dir"/*.pid; do [ -s "$f" ] && kill "$(cat "$f")" 2>/dev/null; done
	rm -rf "$dir"
}
trap cleanup EXIT

# check WHAT CMD... - one ok/FAIL line
check() {
	what=$1
	shift
	if "$@" >/dev/null 2>&1; then
		echo "ok - $what"
		pass=$((pass + 1))
	else
		echo "FAIL - $what"
		fail=$((fail + 1))
	fi
}

# received LOG MIN - whether our UA's last report in LOG counts at least MIN authenticated packets, none bad
received() { awk -v min="$2" '/packets sent/ { r = $6; b = $8 } END { exit !(r >= min && b == 0) }' "$1"; }

# finish LOG... - the LOGs when a check failed, then the summary line and the exit status
finish() {
	if [ "$fail" -gt 0 ]; then
		for f in "$@"; do echo "--- $f"; cat "$f"; done
	fi
	echo "$pass passed, $fail failed"
	[ "$fail" -eq 0 ]
}
