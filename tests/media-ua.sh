#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# media-ua.sh - two sipdance-ua processes call each other directly on
# loopback (SIP on sofia-sip, no proxy): with ICE, then without; DTLS-SRTP
# must complete with fingerprints matched and the tone flow both ways. With a
# fingerprint altered in transit, the checking side refuses and hangs up
# with a Reason. Last, both register with a Kamailio registrar and call
# through it (skipped without kamailio).
. "${srcdir:-.}/tests/media-lib.sh"

# call NAME PORT ALICE-ARGS -- BOB-ARGS - bob answers on PORT, alice calls him; rc in $arc $brc
call() {
	name=$1 port=$2
	shift 2
	aargs=
	while [ "$1" != -- ]; do aargs="$aargs $1"; shift; done
	shift
	# shellcheck disable=SC2086
	"$ua" --aor sip:bob@127.0.0.1 --listen "sip:127.0.0.1:$port" --answer --duration 2 --expect 50 "$@" \
		>"$dir/$name-bob.log" 2>&1 &
	pids=$!
	"$srcdir/tests/wait-for.sh" "$dir/$name-bob.log" "waiting for a call"
	# shellcheck disable=SC2086
	"$ua" --aor sip:alice@127.0.0.1 --listen "sip:127.0.0.1:$((port + 1))" \
		--call "sip:bob@127.0.0.1:$port" --duration 2 --expect 50 $aargs >"$dir/$name-alice.log" 2>&1
	arc=$?
	bob_done
}

# bob_done - bob's exit status in $brc: he ends with the call; if it never came, he is
# stopped after 15 s (times VG_SLOW under valgrind)
bob_done() {
	reap -g 15 $pids
	brc=$reaped
	pids=
}

call ice "$base" --
check "ICE: alice exits 0" test "$arc" -eq 0
check "ICE: bob exits 0" test "$brc" -eq 0
check "ICE: both matched the peer's fingerprint" \
	eval "grep -q 'fingerprint MATCH' '$dir/ice-alice.log' && grep -q 'fingerprint MATCH' '$dir/ice-bob.log'"
check "ICE: ICE was used" grep -q "ice yes" "$dir/ice-alice.log"
check "ICE: alice received >= 50 packets" received "$dir/ice-alice.log" 50
check "ICE: bob received >= 50 packets" received "$dir/ice-bob.log" 50

call noice "$((base + 2))" --no-ice --
check "no ICE: alice exits 0" test "$arc" -eq 0
check "no ICE: bob exits 0" test "$brc" -eq 0
check "no ICE: straight to the connection address" grep -q "ice no" "$dir/noice-bob.log"
check "no ICE: both received >= 50 packets" eval "received '$dir/noice-alice.log' 50 && received '$dir/noice-bob.log' 50"

call tamper "$((base + 4))" --tamper-fingerprint remote --
check "altered fingerprint: alice exits non-zero" test "$arc" -ne 0
check "altered fingerprint: bob exits non-zero" test "$brc" -ne 0
check "altered fingerprint: alice refused the handshake" \
	grep -q "media failed: DTLS handshake refused: DTLS certificate (sha-256" "$dir/tamper-alice.log"
check "altered fingerprint: no packet received by either" \
	eval "grep -q 'received 0 ' '$dir/tamper-alice.log' && ! grep -q 'media secure' '$dir/tamper-bob.log'"

# kamailio_start PORT - a registrar and proxy with in-memory location on 127.0.0.1:PORT
kamailio_start() {
	cat >"$dir/kam.cfg" <<EOF
#!KAMAILIO
debug=2
log_stderror=yes
children=1
listen=udp:127.0.0.1:$1
mpath="/usr/lib/x86_64-linux-gnu/kamailio/modules/"
loadmodule "tm.so"
loadmodule "sl.so"
loadmodule "rr.so"
loadmodule "pv.so"
loadmodule "maxfwd.so"
loadmodule "usrloc.so"
loadmodule "registrar.so"
loadmodule "siputils.so"
loadmodule "textops.so"
modparam("usrloc", "db_mode", 0)
request_route {
	if (!mf_process_maxfwd_header("10")) { sl_send_reply("483", "Too Many Hops"); exit; }
	if (is_method("REGISTER")) { save("location"); exit; }
	if (has_totag()) {
		if (loose_route()) { t_relay(); exit; }
		if (is_method("ACK")) { if (t_check_trans()) t_relay(); exit; }
		sl_send_reply("404", "Not here"); exit;
	}
	if (is_method("INVITE")) record_route();
	if (!lookup("location")) { sl_send_reply("404", "Not Found"); exit; }
	t_relay();
}
EOF
	kamailio -f "$dir/kam.cfg" -P "$dir/kam.pid" -w "$dir" -m 32 -M 8 -E >"$dir/kam.log" 2>&1
}

if command -v kamailio >/dev/null && kamailio_start "$((base + 6))"; then
	kam=$((base + 6))
	"$ua" --aor sip:bob@127.0.0.1 --listen "sip:127.0.0.1:$((base + 7))" --registrar "sip:127.0.0.1:$kam" \
		--answer --duration 2 --expect 50 >"$dir/reg-bob.log" 2>&1 &
	pids=$!
	"$srcdir/tests/wait-for.sh" "$dir/reg-bob.log" registered
	"$ua" --aor sip:alice@127.0.0.1 --listen "sip:127.0.0.1:$((base + 8))" --registrar "sip:127.0.0.1:$kam" \
		--call "sip:bob@127.0.0.1:$kam" --duration 2 --expect 50 >"$dir/reg-alice.log" 2>&1
	arc=$?
	bob_done
	check "registrar: both registered" \
		eval "grep -q '^ua: registered' '$dir/reg-alice.log' && grep -q '^ua: registered' '$dir/reg-bob.log'"
	check "registrar: call through Kamailio, both exit 0" eval "[ $arc -eq 0 ] && [ $brc -eq 0 ]"
	check "registrar: both received >= 50 packets" eval "received '$dir/reg-alice.log' 50 && received '$dir/reg-bob.log' 50"
else
	echo "SKIP - registrar: kamailio not installed or did not start"
fi

finish "$dir"/*.log
