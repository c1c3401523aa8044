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
# not start, and a SIGHUP bringing such a certificate keeps the old one. A
# refresh waits for DNS without blocking B: with B's resolver silent, A
# reaches B and gets the chain B had, and the refresh ends once DNS answers
# again. B rebuilds its chain on SIGHUP at once, and refreshes it on a timer
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

# start_a - proxy A (a.example), --chain required
start_a() {
	start_proxy A --domain a.example --listen "sip:127.0.0.1:$a_sip;transport=udp" \
		--listen "sips:127.0.0.1:$a_tls;transport=tls" --cert "$TB_CERT_A" --key "$TB_KEY_A" \
		--chain required --trusted 127.0.0.1/32 $dns --log-level debug
}
start_a || exit 1

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

# 3. B's refresh waits for DNS on B's loop, never in it: B asks through
# tests/dns-filter.py, which holds every query from SIGUSR1 until SIGUSR2 (B's
# DNS timeout is longer than the test). B's TLSA RRset becomes 3 0 2 (SHA-512
# of its certificate) instead of 3 1 1, DNS goes silent, SIGHUP starts the
# refresh. While it waits (B logged its start and not its end, the filter
# holds B's query) A reaches B: B handshakes and answers, serving the chain
# it had (A matched 3 1 1). DNS back: the same refresh ends with the new
# chain (32 bytes longer), the SIGHUP's reload finishes after it, and a new
# handshake gets it (A matches 3 0 2).
filt=$((base + 9))
"$srcdir/tests/dns-filter.py" 127.0.0.1 $filt 127.0.0.1 $dnsp silent.invalid "$tmp/filter.count" \
	>"$tmp/filter.out" 2>&1 &
filter_pid=$!
pids="$pids $!"
"$wait_for" "$tmp/filter.out" listening || bad "the DNS filter started" "$(cat "$tmp/filter.out")"
start_proxy B3 --domain b.example --listen "sip:127.0.0.2:$b_sip;transport=udp" \
	--listen "sips:127.0.0.2:$b_tls;transport=tls" --client-auth off --resolver 127.0.0.1@$filt \
	--trust-anchor "$TB_ANCHOR" --dns-timeout $((300000 * vg_slow)) --log-level debug \
	--cert "$TB_CERT_B" --key "$TB_KEY_B" --client-name sip.b.example || exit 1
old=$(sed -n "s/.*serving our DNSSEC chain for _$b_tls._tcp.sip.b.example (\([0-9]*\) bytes.*/\1/p" "$tmp/B3.log")
owner=_$b_tls._tcp.sip.b.example.
sha=$(openssl x509 -in "$TB_CERT_B" -outform DER | openssl dgst -sha512 -r | cut -d' ' -f1)
$TB_KNOTC zone-begin b.example. >/dev/null && $TB_KNOTC zone-unset b.example. $owner TLSA >/dev/null &&
	$TB_KNOTC zone-set b.example. $owner 3600 TLSA 3 0 2 "$sha" >/dev/null &&
	$TB_KNOTC zone-commit b.example. >/dev/null
check "B's TLSA RRset is now 3 0 2 (SHA-512 of its certificate)" \
	eval 'kdig @127.0.0.1 -p $dnsp +time=2 +retry=0 $owner TLSA | grep -Eq "TLSA[[:space:]]+3 0 2 "'
kill -USR1 $filter_pid
"$wait_for" "$tmp/filter.out" holding || bad "the DNS filter holds every query" "$(cat "$tmp/filter.out")"
kill -HUP "$B3_pid"
check "SIGHUP: B started refreshing its chain" \
	"$wait_for" "$tmp/B3.log" "chain: refreshing our DNSSEC chain \(SIGHUP\): served"
check "B's refresh asked DNS, which holds the query" "$wait_for" "$tmp/filter.count" " held [1-9]"
opt pending
check "while B's refresh waits for DNS, A reached B: 200 ($st)" eval '[ "$st" = 200 ]'
check "B's handshake served the chain it had: A matched its 3 1 1 record" \
	grep -Eq "auth: peer=127.0.0.2:$b_tls domain=b.example rule=rfc9102-chain verdict=MATCH via=rfc9102 .*DANE-EE 3 1 1 matched" "$tmp/A.log"
check "the refresh was still under way when B answered (no end of it logged, nor of the reload)" \
	eval '! grep -q "our DNSSEC chain refreshed\|refresh of our DNSSEC chain failed\|reload: certificates reloaded" "$tmp/B3.log"'
kill -USR2 $filter_pid
check "DNS back: the refresh ended with the new chain ($old + 32 bytes)" \
	"$wait_for" "$tmp/B3.log" "chain: our DNSSEC chain refreshed \($((old + 32)) bytes, SIGHUP\): served" 20
check "the SIGHUP's reload finished after it" \
	"$wait_for" "$tmp/B3.log" "reload: certificates reloaded"
stop_proxy A
start_a || exit 1
opt fresh
check "a new handshake gets B's new chain: 200 ($st), A matched its 3 0 2 record" \
	eval '[ "$st" = 200 ] && grep -Eq "auth: peer=127.0.0.2:$b_tls domain=b.example rule=rfc9102-chain verdict=MATCH via=rfc9102 .*DANE-EE 3 0 2 matched" "$tmp/A.log"'
stop_proxy B3

# 4. B builds its chain, knotd stops, B's refresh fails on its timer and B keeps
# serving the valid chain it has; then A reaches B by the chain alone
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
	eval '! kdig @127.0.0.1 -p $dnsp +time=1 +retry=0 sip.b.example A >/dev/null 2>&1 || ! kdig @127.0.0.1 -p $dnsp +time=1 +retry=0 sip.b.example A | grep -q "status: NOERROR"'
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
