# SPDX-License-Identifier: BSD-2-Clause
# kamailio-lib.sh - sourced by tests/kamailio-*.sh: ports of the test's own, the Knot testbed,
# one Kamailio (examples/kamailio/kamailio.cfg) serving b.example on 127.0.0.2, the ok/FAIL
# helpers, and cleanup of everything started. Needs: kamailio, kamailio-tls-modules, the module
# built (KAMAILIO_MODULE_DIR, set by `make check`), python3.
set -u
top=$(cd "${srcdir:-.}" && pwd)
pass=0 fail=0
tmp=$(mktemp -d "${TMPDIR:-/tmp}/sipdance-kamailio.XXXXXX")
kam_pid=
other_pids=
# kamailio - the command; with VALGRIND=1 under memcheck, every process it forks
# included (the module's allocations are malloc's, Kamailio's own are its pools)
kamailio=$("$top/tests/valgrind.sh" kamailio)
# vg_slow - factor for waits on Kamailio (tests/timeout.sh sets it under valgrind)
vg_slow=${VG_SLOW:-1}
# reap [-t SECONDS] PID... - SIGTERM, SIGKILL after SECONDS (times vg_slow)
. "$top/tests/reap-lib.sh"
# Ports (a block of our own, tests/ports.sh): DNS base, b SIP (UDP/TCP) +1, b TLS +2, a TLS +3 (TLSA), c +4, insecure +5;
# +6 and up are free for the test (SIPp, sipdance-proxy).
base=$("${srcdir:-.}/tests/ports.sh" $$)
export TB_B_SIP_PORT=$((base + 1)) TB_B_TLS_PORT=$((base + 2)) TB_A_TLS_PORT=$((base + 3))
export TB_C_TLS_PORT=$((base + 4)) TB_INSECURE_TLS_PORT=$((base + 5))

# ok NAME / bad NAME [DETAILS-FILE] - one result line
ok() { pass=$((pass + 1)); echo "ok - $1"; }
bad() {
	fail=$((fail + 1)); echo "FAIL - $1"
	[ -z "${2-}" ] || sed 's/^/    /' "$2"
}

# kam_stop - stop our Kamailio (SIGTERM, then SIGKILL after 5 s, times $vg_slow)
kam_stop() {
	[ -n "$kam_pid" ] || return 0
	reap -t 5 "$kam_pid"
	kam_pid=
}

cleanup() {
	kam_stop
	reap -t 5 $other_pids
	"$top/tests/testbed/testbed.sh" stop "$tmp/tb" >/dev/null 2>&1
	[ -n "${KEEP_TMP-}" ] || rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

# finish - the summary line and exit status
finish() {
	echo "$pass passed, $fail failed"
	[ "$fail" -eq 0 ]
}

# need_env - skip-free preconditions: the module and kamailio must exist (a failure, not a skip)
need_env() {
	if ! command -v kamailio >/dev/null; then
		echo "FAIL - kamailio not installed (apt-get install kamailio kamailio-tls-modules)"; exit 1
	fi
	if [ ! -f "${KAMAILIO_MODULE_DIR:-}/sipdance.so" ]; then
		echo "FAIL - sipdance.so not built (KAMAILIO_MODULE_DIR=${KAMAILIO_MODULE_DIR:-unset})"; exit 1
	fi
	KAMAILIO_MODDIR=${KAMAILIO_MODDIR:-/usr/lib/x86_64-linux-gnu/kamailio/modules}
}

# tb_start - the Knot testbed on our DNS port; sources its env.sh
tb_start() {
	"$top/tests/testbed/testbed.sh" start "$tmp/tb" "$base" >"$tmp/tb.log" 2>&1 ||
		{ echo "FAIL - testbed did not start"; cat "$tmp/tb.log"; exit 1; }
	. "$tmp/tb/env.sh"
}

# Digest users of b.example (examples/kamailio/add-user.sh): bob and alice, with these passwords
KAM_PW_BOB=bob-pw-3f1 KAM_PW_ALICE=alice-pw-9c2

# kam_env [CERT KEY] - the environment examples/kamailio/kamailio.cfg reads, and its users database
kam_env() {
	export SD_DOMAIN=b.example SD_ADDR=127.0.0.2 SD_SIP_PORT=$TB_B_SIP_PORT SD_TLS_PORT=$TB_B_TLS_PORT
	export SD_CERT=${1:-$TB_CERT_B} SD_KEY=${2:-$TB_KEY_B}
	export SD_RESOLVER=$TB_RESOLVER SD_ANCHOR=$TB_ANCHOR SD_MPATH="$KAMAILIO_MODDIR:$KAMAILIO_MODULE_DIR"
	# the module's bound on a DNS answer, stretched like our waits when Kamailio runs under valgrind
	# (KAM_MAX_WAIT, KAM_DNS_TIMEOUT: the test's own, as they are)
	export SD_MAX_WAIT=${KAM_MAX_WAIT:-$((2000 * vg_slow))} SD_DNS_TIMEOUT=${KAM_DNS_TIMEOUT:-$((1000 * vg_slow))}
	# the tests send more than pike's 30 requests in 2 s from 127.0.0.1; KAM_PIKE_DEFAULT=1: the shipped
	# rate, its 2 s unit times vg_slow: pike counts requests as Kamailio gets to them, and a Kamailio under
	# memcheck may take longer than 2 s over a flood that bans it at full speed
	if [ -n "${KAM_PIKE_DEFAULT-}" ]; then unset SD_PIKE_DENSITY; else export SD_PIKE_DENSITY=100000; fi
	export SD_PIKE_UNIT=$((2 * vg_slow))
	if [ ! -s "$tmp/users/subscriber" ]; then
		"$top/examples/kamailio/add-user.sh" "$tmp/users" bob b.example "$KAM_PW_BOB"
		"$top/examples/kamailio/add-user.sh" "$tmp/users" alice b.example "$KAM_PW_ALICE"
	fi
	export SD_AUTH_DB="text://$tmp/users"
}

# kam_start [-A DEFINE]... - start Kamailio (config $KAM_CFG, default the example) as our child; wait until it answers
kam_start() {
	kam_env
	mkdir -p "$tmp/run"
	"$kamailio" -f "${KAM_CFG:-$top/examples/kamailio/kamailio.cfg}" -DD -E -Y "$tmp/run" -m 64 -M 8 -w "$tmp/run" \
		"$@" >"$tmp/kam.log" 2>&1 &
	kam_pid=$!
	kam_wait
}

# kam_wait - until our Kamailio ($kam_pid) answers OPTIONS; false if it exits or stays silent 10 s (times vg_slow)
kam_wait() {
	for _ in $(seq $((100 * vg_slow))); do
		kill -0 "$kam_pid" 2>/dev/null || { kam_pid=; return 1; }
		"$top/tests/kamailio-sip.py" udp 127.0.0.2 "$TB_B_SIP_PORT" OPTIONS sip:b.example sip:probe@b.example \
			>/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}

# sip TRANSPORT METHOD RURI FROM [ARGS...] - one request to our Kamailio; response in $tmp/resp
sip() {
	local tp=$1 port=$TB_B_SIP_PORT
	shift
	[ "$tp" = tls ] && port=$TB_B_TLS_PORT
	"$top/tests/kamailio-sip.py" "$tp" 127.0.0.2 "$port" "$@" >"$tmp/resp" 2>&1
}

# expect NAME REGEX... - every REGEX (extended, case-sensitive) is in $tmp/resp
expect() {
	local name=$1 re
	shift
	for re in "$@"; do
		grep -Eq -- "$re" "$tmp/resp" || { bad "$name (no /$re/)" "$tmp/resp"; return 1; }
	done
	ok "$name"
}
