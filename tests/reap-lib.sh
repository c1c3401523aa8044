# SPDX-License-Identifier: BSD-2-Clause
# reap-lib.sh - stopping the programs a script test started, by PID; sourced (not run) by the test
# libraries (proxy-lib.sh, kamailio-lib.sh, webrtc-lib.sh) and the tests without one.

# reap_wait TENTHS PID... - until none of PID runs, at most TENTHS tenths of a second; 1 if one still does
reap_wait() {
	local n=$1 p alive
	shift
	while :; do
		alive=
		for p in "$@"; do kill -0 "$p" 2>/dev/null && alive=1; done
		[ -n "$alive" ] || return 0
		[ "$n" -gt 0 ] || return 1
		n=$((n - 1))
		sleep 0.1
	done
}

# reap [-g SECONDS] [-t SECONDS] PID... - stop children of this shell: they get -g SECONDS (0) to exit by
# themselves, then SIGTERM and -t SECONDS (20: room for a sanitizer's or memcheck's report at exit), then
# SIGKILL; both times vg_slow (VG_SLOW). $reaped: the exit status of the last PID. Returns 1 when one had to
# be killed: a program must exit on SIGTERM, never hang the test.
reap() {
	local slow=${vg_slow:-${VG_SLOW:-1}} grace=0 term=20 p rc=0
	while :; do
		case ${1-} in
		-g) grace=$2 ;;
		-t) term=$2 ;;
		*) break ;;
		esac
		shift 2
	done
	if [ "$grace" -gt 0 ]; then reap_wait $((grace * 10 * slow)) "$@" || :; fi
	for p in "$@"; do kill -TERM "$p" 2>/dev/null; done
	reap_wait $((term * 10 * slow)) "$@" || rc=1
	for p in "$@"; do
		kill -KILL "$p" 2>/dev/null
		reaped=0
		wait "$p" 2>/dev/null || reaped=$?
	done
	return $rc
}
