#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# proxy-chain.sh - RFC 9102 between two sipdance-proxies on the Knot testbed.
# A runs --chain required: it never looks TLSA up, only the peer's DNSSEC
# chain can authenticate it. A first locates b.example while nothing listens
# there (its cache then holds NAPTR, SRV and addresses, no TLSA); B starts and
# builds its chain through getdns; knotd is stopped; A reaches B: the
# handshake is authenticated by the chain alone (log: via=rfc9102) and A's
# DNS log shows no TLSA query ever. A server that serves no chain, a chain
# for another name, and a valid chain whose TLSA does not match the server's
# key are each refused by A (log: rule=rfc9102-chain via=rfc9102, the chain's
# cause). A proxy whose certificate its own chain's TLSA does not match does
# not start, and a SIGHUP bringing such a certificate keeps the old one. B
# rebuilds its chain on SIGHUP at once, and refreshes it on a timer
# (--chain-refresh 10): with knotd gone the refresh fails and B keeps serving
# the chain it has, still valid. The records' TTL is an hour, so nothing A
# cached expires during the test, however slow.
. "${srcdir:-.}/tests/proxy-lib.sh"
base=$("${srcdir:-.}/tests/ports.sh" $$)
a_sip=$base a_tls=$((base + 1)) b_sip=$((base + 2)) b_tls=$((base + 3)) dnsp=$((base + 8))
opt_p=$((base + 26)) opt_m=$((base + 28)) opt_c=$((base + 32))
need sipp knotd keymgr kdig ldns-signzone openssl

export TB_A_TLS_PORT=$a_tls TB_A_SIP_PORT=$a_sip TB_B_TLS_PORT=$b_tls TB_B_SIP_PORT=$b_sip TB_TTL=3600
start_testbed $dnsp
chaintls=$("$srcdir/tests/valgrind.sh" "$top_builddir/tests/chain-tls")

# OPTIONS sip:b.example from an IP-literal From, through A, which trusts
# SIPp's address (--trusted 127.0.0.1/32: a PBX of a.example); B answers an
# OPTIONS for itself without authenticating or locating anyone, so B needs
# no DNS once started
# opt NAME - one OPTIONS through A; status in $st, Reason in $reason
opt() {
	sipp_run "$1" 127.0.0.1:$a_sip -sf "$srcdir/tests/sip-options-domain.xml" -i 127.0.0.1 -p $opt_p -mp $opt_m -cp $opt_c
	st=$(status "$tmp/$1.msg")
	reason=$(msg "$tmp/$1.msg" received '^SIP/2.0 [2-6]' | header Reason)
}
# start_b NAME ARGS... - proxy B (b.example) with ARGS
start_b() {
	n=$1
	shift
	start_proxy "$n" --domain b.example --listen "sip:127.0.0.2:$b_sip;transport=udp" \
		--listen "sips:127.0.0.2:$b_tls;transport=tls" --client-auth off $dns --log-level debug "$@"
}

start_proxy A --domain a.example --listen "sip:127.0.0.1:$a_sip;transport=udp" \
	--listen "sips:127.0.0.1:$a_tls;transport=tls" --cert "$TB_CERT_A" --key "$TB_KEY_A" \
	--chain required --trusted 127.0.0.1/32 $dns --log-level debug || exit 1

# 1. nothing at B yet: A locates b.example (no TLSA lookup) and fails fast
opt first
check "A located b.example with nothing listening: 503" eval '[ "$st" = 503 ]'

# 2. refusals under --chain required (knotd still up)
start_b B0 --cert "$TB_CERT_B" --key "$TB_KEY_B" --chain off || exit 1
opt nochain
case "$st $reason" in
'502 '*'no DNSSEC chain'*) ok "B serving no chain: refused by A (502, Reason: no DNSSEC chain)" ;;
*) bad "B without a chain refused (status $st)" "$reason$(grep 'auth:' "$tmp/A.log" | tail -2)" ;;
esac
stop_proxy B0
# A proxy never serves a chain its certificate does not match (below); a
# misbehaving server is tests/chain-tls --serve, serving what it is told.
# bad_server NAME HOST CERT KEY - chain-tls serving the chain of _$b_tls._tcp.HOST at B's address
bad_server() {
	n=$1
	"$chaintls" --serve "127.0.0.2:$b_tls" --trust-anchor "$TB_ANCHOR" --resolver "$TB_RESOLVER" \
		--host "$2" --port "$b_tls" --cert "$3" --key "$4" >"$tmp/$n.log" 2>&1 &
	eval "${n}_pid=$!"
	pids="$pids $!"
	"$wait_for" "$tmp/$n.log" "serving on" || bad "$n started" "$(cat "$tmp/$n.log")"
}
bad_server B1 sip.c.example "$TB_CERT_B" "$TB_KEY_B"
opt othername
check "a chain for another name: refused as BOGUS ($st)" \
	eval '[ "$st" = 502 ] && grep -Eq "auth: peer=127.0.0.2:$b_tls domain=b.example rule=rfc9102-chain verdict=BOGUS via=rfc9102 tls=TLSv1\.[23] \(DNSSEC chain" "$tmp/A.log"'
stop_proxy B1
bad_server B2 sip.b.example "$TB_CERT_WRONG" "$TB_KEY_WRONG"
opt wrongkey
check "a valid chain whose TLSA does not match B's key: refused (NOMATCH, $st), the log names the chain" \
	eval '[ "$st" = 502 ] && grep -Eq "auth: peer=127.0.0.2:$b_tls domain=b.example rule=rfc9102-chain verdict=NOMATCH via=rfc9102 " "$tmp/A.log"'
stop_proxy B2
check "A refused by a chain never logs the DNS path for it (via=dns)" \
	eval '! grep -Eq "auth: peer=127.0.0.2:$b_tls .*via=dns" "$tmp/A.log"'

# a proxy whose certificate does not match the TLSA records of its own chain does not start
timeout $((20 * vg_slow)) "$PROXY" --domain b.example --listen "sip:127.0.0.2:$b_sip;transport=udp" \
	--listen "sips:127.0.0.2:$b_tls;transport=tls" --client-auth off $dns \
	--cert "$TB_CERT_WRONG" --key "$TB_KEY_WRONG" --client-name sip.b.example >"$tmp/Bwrong.log" 2>&1
rc=$?
check "B with a certificate its chain's TLSA does not match: refuses to start (exit $rc)" \
	eval '[ $rc != 0 ] && [ $rc != 124 ] && grep -q "our certificate does not match the TLSA records of our chain for _$b_tls._tcp.sip.b.example" "$tmp/Bwrong.log" && ! grep -q "serving our DNSSEC chain\|proxy: serving" "$tmp/Bwrong.log"'

# 3. B builds its chain, knotd stops, B's refresh fails on its timer and B keeps
# serving the valid chain it has; then A reaches B by the chain alone (B's next
# try is 30 s after the failed one: no blocking refresh meets A's handshake)
cp "$TB_CERT_B" "$tmp/b.pem"
cp "$TB_KEY_B" "$tmp/b.key"
start_b B --cert "$tmp/b.pem" --key "$tmp/b.key" --client-name sip.b.example --chain-lifetime 1 \
	--chain-refresh 10 || exit 1
check "B built and serves its chain for _$b_tls._tcp.sip.b.example" \
	grep -q "serving our DNSSEC chain for _$b_tls._tcp.sip.b.example" "$tmp/B.log"
kill -HUP "$B_pid"
check "SIGHUP: B rebuilt its chain at once (logged as SIGHUP, not timer)" \
	"$wait_for" "$tmp/B.log" "chain: our DNSSEC chain refreshed \([0-9]+ bytes, SIGHUP\)"
"$wait_for" "$tmp/B.log" "reload: certificates reloaded"
# SIGHUP with certificate files its chain's TLSA does not match: refused loudly, the old one kept
cp "$TB_CERT_WRONG" "$tmp/b.pem"
cp "$TB_KEY_WRONG" "$tmp/b.key"
kill -HUP "$B_pid"
check "SIGHUP with a certificate the chain's TLSA does not match: error logged, the old one kept" \
	"$wait_for" "$tmp/B.log" "error proxy: reload: our certificate does not match the TLSA records of our chain for _$b_tls._tcp.sip.b.example: .* \(keeping the old certificate\)"
"$TESTBED" stop "$tbdir" >/dev/null 2>&1
check "knotd stopped (kdig gets no answer)" \
	eval '! kdig @127.0.0.1 -p $dnsp +time=1 +tries=1 sip.b.example A >/dev/null 2>&1 || ! kdig @127.0.0.1 -p $dnsp +time=1 +tries=1 sip.b.example A | grep -q "status: NOERROR"'
check "B's refresh ran on its timer (--chain-refresh 10); without DNS it keeps the valid chain" \
	"$wait_for" "$tmp/B.log" "refresh of our DNSSEC chain failed: .*\(the current one is still valid\)" 30
asked=$(grep -c "dns: .*: asking" "$tmp/A.log")
opt chain
check "with knotd stopped, A reached B: 200" eval '[ "$st" = 200 ]'
check "A authenticated B by its RFC 9102 chain (log: via=rfc9102)" \
	grep -Eq "auth: peer=127.0.0.2:$b_tls domain=b.example rule=rfc9102-chain verdict=MATCH via=rfc9102 tls=TLSv1\.3 " "$tmp/A.log"
check "A never sent a TLSA query (its DNS log names no type-52 lookup)" \
	eval '! grep -Eq "dns: [^ ]*/52: asking" "$tmp/A.log"'
check "A did look the rest up over DNS (NAPTR/SRV/A, before knotd stopped)" \
	grep -Eq "dns: _sips._tcp.b.example/33: asking|dns: b.example/35: asking" "$tmp/A.log"
check "A asked no DNS after knotd stopped (everything from its cache)" \
	eval '[ "$(grep -c "dns: .*: asking" "$tmp/A.log")" = "$asked" ]'
finish
