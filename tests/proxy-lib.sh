# SPDX-License-Identifier: BSD-2-Clause
# proxy-lib.sh - shared by the tests/proxy-*.sh scripts (sourced, not run):
# ok/FAIL counting, starting sipdance-proxy and the testbed, SIPp runs and
# reading SIPp's message traces. Everything runs on 127.0.0.0/8 and is
# stopped on exit.
top_builddir=${top_builddir:-.}
srcdir=${srcdir:-.}
PROXY=$("${srcdir:-.}/tests/valgrind.sh" "${top_builddir:-.}/sipdance-proxy")
TESTBED="$srcdir/tests/testbed/testbed.sh"
pass=0 fail=0 pids="" tbdir=""
# vg_slow - the one factor for time limits (tests/timeout.sh sets it under valgrind)
vg_slow=${VG_SLOW:-1}
# wait_for - tests/wait-for.sh: until a log line (or a bound port) appears
wait_for="$srcdir/tests/wait-for.sh"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/sipdance-proxy-test.XXXXXX")
# reap PID... - SIGTERM, SIGKILL after 20 s (times vg_slow); 1 when one had to be killed
. "$srcdir/tests/reap-lib.sh"

# cleanup - stop what we started, by pid; a process that ignored SIGTERM fails the test
cleanup() {
	rc=$?
	if ! reap $pids; then
		echo "FAIL - a process did not exit within 20 s of SIGTERM"
		rc=1 fail=$((fail + 1))
	fi
	[ -n "$tbdir" ] && "$TESTBED" stop "$tbdir" >/dev/null 2>&1
	if [ "$fail" -eq 0 ]; then rm -rf "$tmp"; else echo "# logs kept in $tmp"; fi
	exit $rc
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# ok NAME / bad NAME [DETAIL] - one result line
ok() { pass=$((pass + 1)); echo "ok - $1"; }
bad() { fail=$((fail + 1)); echo "FAIL - $1"; [ -n "${2:-}" ] && echo "$2" | sed 's/^/#   /'; return 0; }
# check NAME CMD... - ok if CMD succeeds
check() { n=$1; shift; if "$@"; then ok "$n"; else bad "$n"; fi; }

# finish - no sanitizer report from any proxy, then the summary line and exit status
# (with VALGRIND=1, tests/timeout.sh reads memcheck's reports once everything has exited)
finish() {
	if grep -l 'ERROR: AddressSanitizer\|runtime error:' "$tmp"/*.log >/dev/null 2>&1; then
		bad "no AddressSanitizer or UBSan report from the proxies" "$(grep -h -A5 'ERROR: AddressSanitizer\|runtime error:' "$tmp"/*.log | head -20)"
	fi
	echo "$pass passed, $fail failed"
	[ "$fail" -eq 0 ]
}

# slow_lookups on|off - programs started meanwhile preload tests/slowdns.c: names under slow.test
# hang 30 s in getaddrinfo (ASan then tolerates a library ahead of its runtime)
slow_lookups() {
	if [ "$1" = on ]; then
		LD_PRELOAD=$(cd "$top_builddir/tests/.libs" && pwd)/libslowdns.so
		sd_asan=${ASAN_OPTIONS-}
		ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0
		export LD_PRELOAD ASAN_OPTIONS
	else
		unset LD_PRELOAD
		ASAN_OPTIONS=$sd_asan
	fi
}

# need PROGRAM... - skip the script (77) when a program is missing
need() {
	for p in "$@"; do
		command -v "$p" >/dev/null 2>&1 || { echo "# SKIP: $p not installed"; exit 77; }
	done
}

# federation_ports - the test's port block (tests/ports.sh) laid out for the testbed's domains, their
# TB_*_PORT knobs exported: a.example's proxy on 127.0.0.1 ($a_sip, $a_tls), b.example's on .2 ($b_sip,
# $b_tls), c.example's ($c_sip, $c_tls), insecure.example's ($i_sip, $i_tls), Knot ($dnsp); SIPp's UAS,
# UAC and OPTIONS client ($uas_p, $uac_p, $opt_p; RTP _m, control _c)
federation_ports() {
	base=$("$srcdir/tests/ports.sh" $$)
	a_sip=$base a_tls=$((base + 1)) b_sip=$((base + 2)) b_tls=$((base + 3)) c_sip=$((base + 4))
	c_tls=$((base + 5)) i_sip=$((base + 6)) i_tls=$((base + 7)) dnsp=$((base + 8))
	uas_p=$((base + 10)) uas_m=$((base + 12)) uas_c=$((base + 16)) uac_p=$((base + 18)) uac_m=$((base + 20))
	uac_c=$((base + 24)) opt_p=$((base + 26)) opt_m=$((base + 28)) opt_c=$((base + 32))
	export TB_A_TLS_PORT=$a_tls TB_A_SIP_PORT=$a_sip TB_B_TLS_PORT=$b_tls TB_B_SIP_PORT=$b_sip
	export TB_C_TLS_PORT=$c_tls TB_C_SIP_PORT=$c_sip TB_INSECURE_TLS_PORT=$i_tls TB_INSECURE_SIP_PORT=$i_sip
}

# federation_testbed - the testbed on the ports of federation_ports (skipped without SIPp or Knot)
federation_testbed() {
	need sipp knotd keymgr kdig ldns-signzone openssl
	federation_ports
	start_testbed "$dnsp"
}

# start_testbed DNSPORT - Knot hierarchy with the proxies' ports (TB_* knobs exported by the caller);
# $dns: a proxy's options to resolve and validate through it
start_testbed() {
	tbdir=$tmp/tb
	"$TESTBED" start "$tbdir" "$1" >"$tmp/testbed.out" 2>&1 || { cat "$tmp/testbed.out"; tbdir=; exit 99; }
	. "$tbdir/env.sh"
	dns="--resolver $TB_RESOLVER --trust-anchor $TB_ANCHOR"
}

# start_proxy NAME ARGS... - run sipdance-proxy in the background, log in $tmp/NAME.log;
# waits for its "serving" line; the pid is in $NAME_pid (under memcheck with VALGRIND=1).
# Its outbound TLS handshake limit is 2 s and the one on an inbound handshake (--accept-timeout)
# 10 s, each times vg_slow unless ARGS set them.
start_proxy() {
	name=$1
	shift
	# emptied here, not only in the child: a restarted proxy's old "serving" line must not count
	: >"$tmp/$name.log"
	"$PROXY" --handshake-timeout $((2000 * vg_slow)) --accept-timeout $((10000 * vg_slow)) "$@" \
		>"$tmp/$name.log" 2>&1 &
	eval "${name}_pid=$!"
	pids="$pids $!"
	i=0 limit=$((100 * vg_slow))
	while ! grep -q "serving" "$tmp/$name.log" 2>/dev/null; do
		i=$((i + 1))
		if [ $i -gt $limit ] || ! kill -0 "$(eval echo \$${name}_pid)" 2>/dev/null; then
			bad "proxy $name started" "$(cat "$tmp/$name.log")"
			return 1
		fi
		sleep 0.05
	done
}

# hup NAME - SIGHUP to proxy NAME; returns once it logged its caches flushed
hup() {
	hn=$(grep -c "reload: DNS and TLSA cache flushed" "$tmp/$1.log")
	kill -HUP "$(eval echo \$${1}_pid)"
	"$wait_for" -n $((hn + 1)) "$tmp/$1.log" "reload: DNS and TLSA cache flushed" ||
		bad "proxy $1 flushed its caches on SIGHUP"
}

# held NAME IP PORT CERT KEY CLIENTNAME REQ... - $CLIENT (tests/sip-tls-client) to
# IP:PORT in the background (output $tmp/NAME.out): its first request answered,
# it holds the connection open until `held_go NAME`, then sends the others
held() {
	hl=$1
	shift
	rm -f "$tmp/$hl.go"
	HOLD="$tmp/$hl.go" timeout $((90 * vg_slow)) "$CLIENT" "$@" >"$tmp/$hl.out" 2>&1 &
	eval "${hl}_cpid=$!"
	"$wait_for" "$tmp/$hl.out" "holding|handshake failed|no final|never came" 20
}
# held_go NAME - let it send the rest, and wait until it has
held_go() { touch "$tmp/$1.go"; wait "$(eval echo \$${1}_cpid)"; }

# stop_proxy NAME - SIGTERM; it must exit within 20 s
stop_proxy() {
	p=$(eval echo \$${1}_pid)
	reap "$p" || bad "proxy $1 exits within 20 s of SIGTERM"
	pids=$(echo "$pids" | sed "s/ $p\b//")
}

# sipp_run NAME ARGS... - one SIPp run with a message trace $tmp/NAME.msg, at most
# 20 s times vg_slow (its own -timeout 15 s times vg_slow unless ARGS give one);
# SIPp gives up on a request after its usual 5 (INVITE) or 7 retransmissions times vg_slow
sipp_run() {
	name=$1
	shift
	timeout $((20 * vg_slow)) sipp -timeout $((15 * vg_slow)) -max_non_invite_retrans $((7 * vg_slow)) \
		-max_invite_retrans $((5 * vg_slow)) "$@" -m 1 -nostdin -trace_msg -message_file "$tmp/$name.msg" \
		>"$tmp/$name.out" 2>&1
}

# sipp_bg NAME ARGS... - a SIPp UAS in the background ($NAME_pid), its -p port bound on return
sipp_bg() {
	name=$1
	shift
	timeout $((30 * vg_slow)) sipp -timeout $((25 * vg_slow)) "$@" -m 1 -nostdin -trace_msg \
		-message_file "$tmp/$name.msg" >"$tmp/$name.out" 2>&1 &
	eval "${name}_pid=$!"
	pids="$pids $!"
	bg_port=$(echo " $* " | sed -n 's/.* -p \([0-9]*\) .*/\1/p')
	[ -z "$bg_port" ] || "$wait_for" -u "$bg_port" || bad "SIPp $name listening on UDP port $bg_port"
}

# tls_req ADDR:PORT REQFILE OUT [S_CLIENT-ARGS...] - REQFILE sent over TLS (openssl
# s_client), what comes back in OUT; returns once a final response is there, or the
# server closed, or after 10 s times vg_slow
tls_req() {
	ta=$1 trf=$2 tout=$3
	shift 3
	timeout $((10 * vg_slow)) openssl s_client -connect "$ta" -quiet "$@" <"$trf" >"$tout" 2>/dev/null &
	tpid=$!
	"$wait_for" "$tout" "^SIP/2.0 [2-6]" 10 &
	twait=$!
	while kill -0 $twait 2>/dev/null && kill -0 $tpid 2>/dev/null; do sleep 0.05; done
	kill $tpid $twait 2>/dev/null
	wait $tpid $twait 2>/dev/null
	return 0
}

# msg FILE sent|received FIRSTLINE_RE - the first such message of a SIPp trace, CRs removed
msg() {
	awk -v dir="$2" -v re="$3" '
		/^-----------------------------------------------/ { if (found) exit; hdr = 1; next }
		hdr == 1 { hdr = 2; take = index($0, "message " dir) > 0; next }
		hdr == 2 { hdr = 0; first = 1; next }
		take && first { first = 0; if ($0 ~ re) found = 1 }
		found { sub(/\r$/, ""); print }
	' "$1" | awk '{ a[NR] = $0 } END { n = NR; while (n > 0 && a[n] == "") n--; for (i = 1; i <= n; i++) print a[i] }'
}

# body - the part after the first empty line
body() { awk 'seen { print } /^$/ { seen = 1 }'; }

# header NAME - the value lines of header NAME
header() { grep -i "^$1:" || true; }

# status TRACE - the first final status in a SIPp trace other than a Digest challenge (401), else that
status() {
	grep -E '^SIP/2.0 [2-6][0-9][0-9]' "$1" | cut -d' ' -f2 |
		awk '$1 == 401 { c = 401; next } { print; done = 1; exit } END { if (!done && c) print c }'
}

# elapsed_ms START_NS - milliseconds since START_NS (date +%s%N)
elapsed_ms() { echo $((($(date +%s%N) - $1) / 1000000)); }

# answer_ms TRACE [REQUEST [RESPONSE-RE]] - ms from the first REQUEST (INVITE by default)
# in a SIPp trace to the first response after it matching RESPONSE-RE (any final one by
# default), by SIPp's own timestamps: what the proxy took, not the time programs take
# to start (99999: none)
answer_ms() {
	awk -v req="^${2:-INVITE} " -v resp="^${3:-SIP/2.0 [2-6]}" '
		/^-+ [0-9]/ { split($3, t, ":"); s = t[1] * 3600 + t[2] * 60 + t[3]; next }
		$0 ~ req && !t0 { t0 = s } t0 && $0 ~ resp && !t1 { t1 = s }
		END { print t1 ? int((t1 - t0 + (t1 < t0) * 86400) * 1000) : 99999 }' "$1"
}
