# SPDX-License-Identifier: BSD-2-Clause
# fuzz-lib.sh - sourced by tests/fuzz/run.sh (the suite's short runs) and bench/fuzz-campaign.sh (the
# campaign): how every run of a libFuzzer target is made.

# fuzz_flags NAME - the flags of every run of fuzz-NAME: 10 s per input, 2 GB; fuzz-sip keeps proxy
# state (pending transactions) across inputs, so libFuzzer's per-input leak check would report them:
# leaks of the proxy are measured by RSS in tests/soak-short.sh instead
fuzz_flags() {
	echo -timeout=10 -rss_limit_mb=2048
	[ "$1" != sip ] || echo -detect_leaks=0
}

# isolated CMD... - CMD in a fresh network namespace (loopback only) when possible
isolated() {
	if command -v ip >/dev/null 2>&1 && unshare -rn true 2>/dev/null; then
		unshare -rn sh -c 'ip link set lo up && exec "$@"' sh "$@"
	else
		"$@"
	fi
}
