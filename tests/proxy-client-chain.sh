#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# proxy-client-chain.sh - DANCE clients that ship their own DNSSEC chain
# (docs/client-chain.md) at sipdance-proxy on the Knot testbed, the DNS
# server's own counters (knotc stats) saying whether anything was asked:
#  1. alice ships her chain: REGISTER and INVITE authenticated with no DNS
#     query (via=client-chain); so does sipdance-ua, from a file or building
#     it through its own resolver;
#  2. refused in the handshake, with no DNS query: another user's chain under
#     her name, her chain with another key, a tampered chain, an expired one,
#     and (--client-chain required) no chain at all, also as a flood of
#     handshakes naming made-up users; over TLS 1.2 (no place for either) or
#     with her valid chain but no dane_clientid, her key authenticates nothing;
#  3. a peer proxy whose ClientName is its domain (a.example) ships its chain:
#     B authenticates it with no DNS query at all; one named sip.a.example is
#     authenticated by its chain too (its TLSA never looked up); one ships a
#     --client-chain-file made by `sipdance chain build --name a.example`,
#     due again three quarters into its TTL and read again on SIGHUP (a file
#     that no longer validates leaves the chain held); one that does not
#     validate for its name stops the proxy at start;
#  4. without a chain the name is looked up after the handshake: with the DNS
#     server frozen, alice's call over her shipped chain completes while the
#     connection being looked up waits; it is answered once DNS answers;
#  5. requests pipelined before the verdict each wait for it and are judged
#     by it; a connection closed while its lookup is pending leaves nothing;
#  6. a connection holds at most 16 requests while its lookup runs (more get
#     503): with DNS frozen, one client pipelining 30 cannot fill A's
#     --max-pending (24) and make everyone else's calls wait or fail;
#  7. on a live connection her chain's verdict is judged again after a
#     SIGHUP: looked up (prefer), or lapsed (required: no lookups), and with
#     it the binding she made: a call then gets 480, nothing reaches her.
. "${srcdir:-.}/tests/proxy-lib.sh"
CLIENT=$("${srcdir:-.}/tests/valgrind.sh" "${top_builddir:-.}/tests/sip-tls-client")
SD=$("${srcdir:-.}/tests/valgrind.sh" "${top_builddir:-.}/sipdance")
base=$("${srcdir:-.}/tests/ports.sh" $$)
a_sip=$base a_tls=$((base + 1)) b_sip=$((base + 2)) b_tls=$((base + 3)) r_tls=$((base + 4))
s_sip=$((base + 5)) s_tls=$((base + 6)) dnsp=$((base + 8)) uas_p=$((base + 10))
f_sip=$((base + 12)) f_tls=$((base + 13)) rc_sip=$((base + 14)) rc_tls=$((base + 15))
need knotd keymgr kdig ldns-signzone openssl

# nothing may expire during the test: a changed answer needs a SIGHUP, not a wait
export TB_TTL=3600 TB_A_TLS_PORT=$a_tls TB_A_SIP_PORT=$a_sip TB_B_TLS_PORT=$b_tls TB_B_SIP_PORT=$b_sip
start_testbed $dnsp
alice=${TB_USER_ALICE%.}
user() { "$SD" user-name "$1"; }
# queries [TYPE] - what knotd has answered so far (of one query type)
queries() {
	$TB_KNOTC stats mod-stats 2>/dev/null |
		awk -F'[][ =]+' -v t="${1:-}" '/query-type/ && (t == "" || $2 == t) { s += $NF } END { print s + 0 }'
}
mk() { /usr/bin/python3 "$srcdir/tests/mkchain.py" --resolver "$TB_RESOLVER" "$@"; }
"$SD" chain build --trust-anchor "$TB_ANCHOR" --resolver "$TB_RESOLVER" --name "$alice" \
	--out "$tmp/alice.ext" >/dev/null &&
	"$SD" chain build --trust-anchor "$TB_ANCHOR" --resolver "$TB_RESOLVER" --name a.example \
		--out "$tmp/a.ext" >/dev/null &&
	mk --name "$(user bob@b.example)" "$tmp/bob.ext" && mk --name "$alice" --tamper "$tmp/tampered.ext" &&
	mk --name "$(user alice@expired.example)" "$tmp/expired.ext" ||
	{ bad "the client chains are made"; finish; exit 1; }

# carol's and bob's endpoint: answers every request 200
python3 "$srcdir/tests/kamailio-listen.py" udp 127.0.0.1 $uas_p "$tmp/uas.log" >"$tmp/uas.out" 2>&1 &
pids="$pids $!"
"$wait_for" "$tmp/uas.out" listening || bad "the endpoint listens"
start_proxy A --domain a.example --listen "sip:127.0.0.1:$a_sip;transport=udp" \
	--listen "sips:127.0.0.1:$a_tls;transport=tls" --cert "$TB_CERT_A" --key "$TB_KEY_A" \
	--client-name a.example --client-domains a.example,expired.example \
	--location "carol@a.example=sip:carol@127.0.0.1:$uas_p" --trusted 127.0.0.1/32 \
	--dns-timeout $((60000 * vg_slow)) --max-pending 24 $dns --log-level debug || exit 1
start_proxy R --domain a.example --listen "sips:127.0.0.1:$r_tls;transport=tls" --cert "$TB_CERT_A" \
	--key "$TB_KEY_A" --client-chain required $dns --log-level debug || exit 1
start_proxy B --domain b.example --listen "sip:127.0.0.2:$b_sip;transport=udp" \
	--listen "sips:127.0.0.2:$b_tls;transport=tls" --cert "$TB_CERT_B" --key "$TB_KEY_B" \
	--client-domains a.example --location "bob@b.example=sip:bob@127.0.0.1:$uas_p" $dns \
	--log-level debug || exit 1
check "A ships its own chain for a.example (built from its resolver)" \
	grep -q "chain: shipping our DNSSEC chain for a.example to servers that ask" "$tmp/A.log"

# req FILE METHOD RURI FROM TO - one request over TLS; its branch and Call-ID
# are the file's name: each client sends requests of its own (nta would take
# a request another connection sent for a retransmission)
req() {
	id=$(basename "$1" | tr -c 'a-zA-Z0-9\n' '-')
	{
		printf '%s %s SIP/2.0\n' "$2" "$3"
		printf 'Via: SIP/2.0/TLS 127.0.0.1:5999;branch=z9hG4bK-%s;rport\n' "$id"
		printf 'From: <%s>;tag=t1\nTo: <%s>\nCall-ID: %s@test\nCSeq: 1 %s\n' "$4" "$5" "$id" "$2"
		printf 'Contact: <sip:alice@127.0.0.1:5999;transport=tls>\nMax-Forwards: 70\n'
		[ "$2" = REGISTER ] && printf 'Expires: 300\n'
		printf 'Content-Length: 0\n\n'
	} >"$1"
}
# reqs NAME - NAME's requests: $tmp/NAME.reg (alice), .inv (alice to carol), .forged (From
# mallory), .opt (alice to a.example)
reqs() {
	req "$tmp/$1.reg" REGISTER sip:a.example sip:alice@a.example sip:alice@a.example
	req "$tmp/$1.inv" INVITE sip:carol@a.example sip:alice@a.example sip:carol@a.example
	req "$tmp/$1.forged" OPTIONS sip:carol@a.example sip:mallory@a.example sip:carol@a.example
	req "$tmp/$1.opt" OPTIONS sip:a.example sip:alice@a.example sip:a.example
}
# client NAME PORT CERT KEY CLIENTNAME KIND... - the TLS client sending NAME's requests
# of each KIND (reg, inv, forged), output in $tmp/NAME.out (SHIP=FILE in the
# environment: the bytes it ships as its chain)
client() {
	n=$1 p=$2 c=$3 k=$4 cn=$5
	shift 5
	reqs "$n"
	set -- $(for kind in "$@"; do printf '%s ' "$tmp/$n.$kind"; done)
	timeout $((30 * vg_slow)) "$CLIENT" 127.0.0.1 "$p" "$c" "$k" "$cn" "$@" >"$tmp/$n.out" 2>&1
}
# status_of NAME N - the status of the Nth final response in $tmp/NAME.out
status_of() { grep '^SIP/2.0 ' "$tmp/$1.out" | sed -n "${2}p" | cut -d' ' -f2; }

# 1. alice ships her chain: no DNS query at all
q0=$(queries)
SHIP=$tmp/alice.ext client good $a_tls "$TB_CERT_ALICE" "$TB_KEY_ALICE" "$alice" reg inv
q1=$(queries)
check "alice ships her chain (A asked for it in its CertificateRequest)" grep -q '^shipped' "$tmp/good.out"
check "  ... REGISTER 200 and INVITE to carol 200" \
	eval '[ "$(status_of good 1)" = 200 ] && [ "$(status_of good 2)" = 200 ]'
check "  ... authenticated by her chain (log: MATCH via=client-chain, no DNS query)" \
	grep -q "tls: inbound 127.0.0.1:[0-9]*: dane_clientid $alice MATCH via=client-chain (its own DNSSEC chain, no DNS query)" "$tmp/A.log"
check "  ... both requests by her DANCE identity (rule dane-clientid, via=client-chain)" \
	eval '[ "$(grep -Ec "user=alice@a.example method=(REGISTER|INVITE) rule=dane-clientid verdict=MATCH .*via=client-chain" "$tmp/A.log")" = 2 ]'
check "  ... and the DNS server answered no query meanwhile (knotd: $q0 -> $q1)" [ "$q0" = "$q1" ]

# 1b. the example UA ships her chain from a file (and, built through her own
# resolver, from DNS)
UA=$("${srcdir:-.}/tests/valgrind.sh" "${top_builddir:-.}/examples/sipdance-ua")
ua_p=$((base + 30))
# ua NAME ARGS... - sipdance-ua registering alice over TLS; returns once it said how it went
ua() {
	un=$1
	shift
	"$UA" --aor sip:alice@a.example --answer --registrar "sips:127.0.0.1:$a_tls;transport=tls" \
		--tls-cert "$TB_CERT_ALICE" --tls-key "$TB_KEY_ALICE" --trust-anchor "$TB_ANCHOR" "$@" \
		>"$tmp/$un.log" 2>&1 &
	eval "${un}_pid=$!"
	pids="$pids $!"
	"$wait_for" "$tmp/$un.log" "registered|failed|cannot|usage" 30
}
q0=$(queries)
ua ua1 --listen "sip:127.0.0.1:$ua_p" --tls-listen "sips:127.0.0.1:$((ua_p + 1));transport=tls" \
	--client-chain-file "$tmp/alice.ext"
q1=$(queries)
check "sipdance-ua --client-chain-file: alice registers, authenticated by the chain it shipped" \
	eval 'grep -q "^ua: DNSSEC chain of .*shipped when the server asks" "$tmp/ua1.log" && grep -q "^ua: registered sip:alice@a.example" "$tmp/ua1.log" && [ "$(grep -c "method=REGISTER rule=dane-clientid verdict=MATCH .*via=client-chain" "$tmp/A.log")" -ge 2 ]'
check "  ... with no DNS query (knotd: $q0 -> $q1)" [ "$q0" = "$q1" ]
ua ua2 --listen "sip:127.0.0.1:$((ua_p + 2))" --tls-listen "sips:127.0.0.1:$((ua_p + 3));transport=tls" \
	--resolver "$TB_RESOLVER"
check "sipdance-ua --resolver: builds its chain through its own resolver, registers by it" \
	eval 'grep -q "^ua: DNSSEC chain of .*built through our resolver" "$tmp/ua2.log" && grep -q "^ua: registered sip:alice@a.example" "$tmp/ua2.log" && [ "$(grep -c "method=REGISTER rule=dane-clientid verdict=MATCH .*via=client-chain" "$tmp/A.log")" -ge 3 ]'
kill $ua1_pid $ua2_pid 2>/dev/null

# 2. refused in the handshake, nothing looked up
# refused NAME PROXYLOG PORT CERT KEY CLIENTNAME CHAIN LOGRE - one attempt that must fail
nref=0
refused() {
	nref=$((nref + 1))
	rn=refused$nref rlog=$2 rre=$8
	q0=$(queries)
	SHIP=$7 client $rn "$3" "$4" "$5" "$6" reg
	q1=$(queries)
	check "$1: handshake refused (handshake failure), the reason logged, no DNS query ($q0 -> $q1)" \
		eval 'grep -q "handshake failed: handshake failure" "$tmp/$rn.out" && grep -Eq "$rre" "$tmp/$rlog.log" && [ "$q0" = "$q1" ]'
}
refused "another user's chain under alice's name" A $a_tls "$TB_CERT_ALICE" "$TB_KEY_ALICE" "$alice" \
	"$tmp/bob.ext" "clientid: $alice: BOGUS: client chain does not validate: $alice\\.: no TLSA RRset"
refused "alice's chain with another key" A $a_tls "$TB_CERT_WRONG" "$TB_KEY_WRONG" "$alice" \
	"$tmp/alice.ext" "clientid: $alice: NOMATCH: .*no matching DANE TLSA records"
refused "a tampered chain" A $a_tls "$TB_CERT_ALICE" "$TB_KEY_ALICE" "$alice" "$tmp/tampered.ext" \
	"clientid: $alice: BOGUS: client chain does not validate: .*signature does not verify"
expired=$(user alice@expired.example)
refused "an expired chain" A $a_tls "$TB_CERT_ALICE" "$TB_KEY_ALICE" "$expired" "$tmp/expired.ext" \
	"clientid: $expired: BOGUS: client chain does not validate: .*RRSIG expired"
refused "no chain under --client-chain required" R $r_tls "$TB_CERT_ALICE" "$TB_KEY_ALICE" "$alice" "" \
	"clientid: $alice: INDETERMINATE: no DNSSEC chain from the client \\(client chains required\\): not looked up"
q0=$(queries)
i=0
while [ $i -lt 10 ]; do
	client flood$i $r_tls "$TB_CERT_WRONG" "$TB_KEY_WRONG" "$(openssl rand -hex 28)._user.a.example" reg
	i=$((i + 1))
done
q1=$(queries)
check "10 handshakes naming made-up users, no chain, --client-chain required: all refused, no DNS query ($q0 -> $q1)" \
	eval '[ "$(cat "$tmp"/flood*.out | grep -c "handshake failed: handshake failure")" = 10 ] && [ "$q0" = "$q1" ]'
q0=$(queries)
reqs tls12
timeout $((30 * vg_slow)) "$CLIENT" 127.0.0.1 $r_tls "$TB_CERT_ALICE" "$TB_KEY_ALICE" "$alice" tls12 \
	"$tmp/tls12.reg" >"$tmp/tls12.out" 2>&1
SHIP=$tmp/alice.ext client noname $r_tls "$TB_CERT_ALICE" "$TB_KEY_ALICE" - reg
q1=$(queries)
check "TLS 1.2 with alice's key and ClientName: no DANCE identity, REGISTER challenged (401)" \
	eval '[ "$(status_of tls12 1)" = 401 ] && grep -q "clientid: (no ClientName): NODATA: TLS below 1.3" "$tmp/R.log"'
check "alice's valid chain and key, no dane_clientid: the chain proves nothing, REGISTER 401" \
	eval 'grep -q "^shipped" "$tmp/noname.out" && [ "$(status_of noname 1)" = 401 ]'
check "  ... and neither asked DNS anything ($q0 -> $q1)" [ "$q0" = "$q1" ]

# 3. peer proxies: A (ClientName a.example) reaches B; B needs no DNS at all
SEND="python3 $srcdir/tests/kamailio-sip.py udp 127.0.0.1 $a_sip"
$SEND OPTIONS sip:bob@b.example sip:carol@a.example >"$tmp/peer1.out" 2>&1
check "A's first request to b.example: 200, B authenticated A by its chain (no location needed)" \
	eval 'grep -q "^SIP/2.0 200" "$tmp/peer1.out" && grep -Eq "auth: peer=127.0.0.1:[0-9]+ domain=a.example rule=dane-clientid verdict=MATCH \(inbound client: client TLSA of a.example \(dane_clientid via=client-chain\), no location needed\)" "$tmp/B.log"'
# B again, so that A opens a new connection: everything A needs is in its cache by now
stop_proxy B
start_proxy B --domain b.example --listen "sip:127.0.0.2:$b_sip;transport=udp" \
	--listen "sips:127.0.0.2:$b_tls;transport=tls" --cert "$TB_CERT_B" --key "$TB_KEY_B" \
	--client-domains a.example --location "bob@b.example=sip:bob@127.0.0.1:$uas_p" $dns \
	--log-level debug || exit 1
q0=$(queries)
$SEND OPTIONS sip:bob@b.example sip:carol@a.example >"$tmp/peer2.out" 2>&1
q1=$(queries)
check "a new connection A -> B, authenticated by A's shipped chain: 200 with no DNS query ($q0 -> $q1)" \
	eval 'grep -q "^SIP/2.0 200" "$tmp/peer2.out" && grep -q "dane_clientid a.example MATCH via=client-chain" "$tmp/B.log" && [ "$q0" = "$q1" ]'
start_proxy S --domain a.example --listen "sip:127.0.0.1:$s_sip;transport=udp" \
	--listen "sips:127.0.0.1:$s_tls;transport=tls" --cert "$TB_CERT_A" --key "$TB_KEY_A" \
	--client-name sip.a.example --trusted 127.0.0.1/32 $dns --log-level debug || exit 1
t0=$(queries TLSA)
python3 "$srcdir/tests/kamailio-sip.py" udp 127.0.0.1 $s_sip OPTIONS sip:bob@b.example sip:carol@a.example \
	>"$tmp/peer3.out" 2>&1
check "a peer proxy named sip.a.example: authenticated by its chain, its own TLSA never looked up" \
	eval 'grep -q "^SIP/2.0 200" "$tmp/peer3.out" && grep -q "dane_clientid sip.a.example MATCH via=client-chain" "$tmp/B.log" && ! grep -q "dns: sip.a.example/52: asking" "$tmp/B.log"'
stop_proxy S
start_proxy F --domain a.example --listen "sip:127.0.0.1:$f_sip;transport=udp" \
	--listen "sips:127.0.0.1:$f_tls;transport=tls" --cert "$TB_CERT_A" --key "$TB_KEY_A" \
	--client-name a.example --client-chain-file "$tmp/a.ext" --trusted 127.0.0.1/32 \
	$dns --log-level debug || exit 1
matched=$(grep -c "dane_clientid a.example MATCH via=client-chain" "$tmp/B.log")
python3 "$srcdir/tests/kamailio-sip.py" udp 127.0.0.1 $f_sip OPTIONS sip:bob@b.example sip:carol@a.example \
	>"$tmp/peer4.out" 2>&1
check "a peer proxy shipping --client-chain-file (sipdance chain build --name a.example): B authenticates it by that chain" \
	eval 'grep -q "chain: shipping our DNSSEC chain for a.example to servers that ask ([0-9]* bytes, $tmp/a.ext)" "$tmp/F.log" && grep -q "^SIP/2.0 200" "$tmp/peer4.out" && [ "$(grep -c "dane_clientid a.example MATCH via=client-chain" "$tmp/B.log")" -gt "$matched" ]'
check "  ... due again three quarters into its TTL (TB_TTL 3600: in 2700 s)" \
	grep -q "chain: chain for a.example: $(wc -c <"$tmp/a.ext") octets, TLSA, ttl 3600, next refresh in 2700s" "$tmp/F.log"
cp "$tmp/a.ext" "$tmp/a.ext.good"
cp "$tmp/bob.ext" "$tmp/a.ext"
hup F
check "  ... SIGHUP with a file that no longer validates: read again, refused, the chain held kept" \
	grep -q "chain: refresh of our DNSSEC chain failed: own chain does not validate (the current one is still valid): shipped" "$tmp/F.log"
cp "$tmp/a.ext.good" "$tmp/a.ext"
hup F
check "  ... SIGHUP with the file renewed: read again and shipped" \
	grep -q "chain: our DNSSEC chain refreshed ($(wc -c <"$tmp/a.ext") bytes, SIGHUP): shipped" "$tmp/F.log"
stop_proxy F
timeout $((20 * vg_slow)) "$PROXY" --domain a.example --listen "sips:127.0.0.1:$f_tls;transport=tls" \
	--cert "$TB_CERT_A" --key "$TB_KEY_A" --client-name a.example --client-chain-file "$tmp/bob.ext" \
	$dns >"$tmp/Fbad.log" 2>&1
rc=$?
check "--client-chain-file holding another name's chain: the proxy does not start (exit $rc)" \
	eval '[ $rc != 0 ] && [ $rc != 124 ] && grep -q "client-chain-file $tmp/bob.ext: own chain does not validate" "$tmp/Fbad.log"'

# 4. without a chain, the lookup runs after the handshake and holds only its connection
hup A
check "SIGHUP: A built both its chains again, the one it serves and the one it ships" \
	eval '[ "$(grep -Ec "chain: our DNSSEC chain refreshed \([0-9]+ bytes, SIGHUP\)" "$tmp/A.log")" = 2 ]'
asking=$(grep -c "dns: $alice/52: asking" "$tmp/A.log")
kill -STOP "$(cat "$tbdir/knotd.pid")"
client slow $a_tls "$TB_CERT_ALICE" "$TB_KEY_ALICE" "$alice" reg &
slow_pid=$!
"$wait_for" -n $((asking + 1)) "$tmp/A.log" "dns: $alice/52: asking"
SHIP=$tmp/alice.ext client fast $a_tls "$TB_CERT_ALICE" "$TB_KEY_ALICE" "$alice" inv
check "DNS frozen, alice's name being looked up for one connection: her call over another, with her chain, 200" \
	eval '[ "$(status_of fast 1)" = 200 ]'
check "  ... while the connection being looked up still waits for its verdict (no answer yet)" \
	eval '! grep -q "^SIP/2.0" "$tmp/slow.out" && ! grep -q "via=dns (looked up after the handshake)" "$tmp/A.log"'
kill -CONT "$(cat "$tbdir/knotd.pid")"
wait $slow_pid
check "DNS answers: the held REGISTER is authenticated by the lookup and answered 200" \
	eval '[ "$(status_of slow 1)" = 200 ] && grep -q "dane_clientid $alice MATCH via=dns (looked up after the handshake)" "$tmp/A.log"'
line() { grep -n "$1" "$tmp/A.log" | tail -1 | cut -d: -f1; }
check "  ... in A's log the INVITE's decision comes before that verdict" \
	eval '[ "$(line "method=INVITE rule=dane-clientid verdict=MATCH")" -lt "$(line "MATCH via=dns (looked up after the handshake)")" ]'

# 5. pipelined requests wait for the verdict; a connection that goes while its lookup runs
hup A
asking=$(grep -c "dns: $alice/52: asking" "$tmp/A.log")
kill -STOP "$(cat "$tbdir/knotd.pid")"
PIPELINE=1 client pipe $a_tls "$TB_CERT_ALICE" "$TB_KEY_ALICE" "$alice" reg forged inv &
pipe_pid=$!
"$wait_for" -n $((asking + 1)) "$tmp/A.log" "dns: $alice/52: asking"
"$wait_for" "$tmp/pipe.out" "^pipelined 3"
mark=$(wc -l <"$tmp/A.log")
kill -CONT "$(cat "$tbdir/knotd.pid")"
wait $pipe_pid
# since RE - the line number, after $mark, of A's first log line matching RE (0: none)
since() { tail -n +$((mark + 1)) "$tmp/A.log" | grep -n "$1" | head -1 | cut -d: -f1 | grep . || echo 0; }
check "3 requests pipelined before the verdict: none decided before it" \
	eval '[ "$(since "auth: peer=")" -gt "$(since "via=dns (looked up after the handshake)")" ] && [ "$(since "via=dns (looked up after the handshake)")" -gt 0 ]'
check "  ... then each judged by it, in order: REGISTER 200, a forged From 403, INVITE 200" \
	eval '[ "$(status_of pipe 1)" = 200 ] && [ "$(status_of pipe 2)" = 403 ] && [ "$(status_of pipe 3)" = 200 ]'
hup A
verdicts=$(grep -c "via=dns (looked up after the handshake)" "$tmp/A.log")
asking=$(grep -c "dns: $alice/52: asking" "$tmp/A.log")
kill -STOP "$(cat "$tbdir/knotd.pid")"
PIPELINE=1 CLOSE=1 client gone $a_tls "$TB_CERT_ALICE" "$TB_KEY_ALICE" "$alice" reg
"$wait_for" -n $((asking + 1)) "$tmp/A.log" "dns: $alice/52: asking"
kill -CONT "$(cat "$tbdir/knotd.pid")"
"$wait_for" -n $((verdicts + 1)) "$tmp/A.log" "via=dns \\(looked up after the handshake\\)"
SHIP=$tmp/alice.ext client after $a_tls "$TB_CERT_ALICE" "$TB_KEY_ALICE" "$alice" reg
check "a connection closed while its lookup ran: the verdict still came, A serves on (200)" \
	eval '[ "$(status_of after 1)" = 200 ] && kill -0 "$A_pid"'

# 6. one connection cannot hold more than 16 requests while its lookup runs
hup A
asking=$(grep -c "dns: $alice/52: asking" "$tmp/A.log")
many=""
i=0
while [ $i -lt 30 ]; do
	req "$tmp/many$i" OPTIONS sip:carol@a.example sip:alice@a.example sip:carol@a.example
	many="$many $tmp/many$i"
	i=$((i + 1))
done
kill -STOP "$(cat "$tbdir/knotd.pid")"
PIPELINE=1 timeout $((30 * vg_slow)) "$CLIENT" 127.0.0.1 $a_tls "$TB_CERT_ALICE" "$TB_KEY_ALICE" "$alice" \
	$many >"$tmp/many.out" 2>&1 &
many_pid=$!
"$wait_for" -n $((asking + 1)) "$tmp/A.log" "dns: $alice/52: asking"
check "DNS frozen, 30 requests pipelined on a connection being looked up: 14 refused at once (503)" \
	"$wait_for" -n 14 "$tmp/A.log" "OPTIONS a.example -> 503 Service Unavailable \(16 requests of this connection already wait for its ClientName's verdict\)"
SHIP=$tmp/alice.ext client fast2 $a_tls "$TB_CERT_ALICE" "$TB_KEY_ALICE" "$alice" inv
check "  ... the 16 held do not fill --max-pending: alice's call over another connection, 200" \
	eval '[ "$(status_of fast2 1)" = 200 ]'
kill -CONT "$(cat "$tbdir/knotd.pid")"
check "DNS answers: the 16 held requests are judged by the lookup's verdict (alice, MATCH)" \
	"$wait_for" -n 16 "$tmp/A.log" "user=alice@a.example method=OPTIONS rule=dane-clientid verdict=MATCH"
# its 30 answers read, the client exits by itself (a SIGTERM meeting its exit made memcheck report
# OpenSSL's cleanup cut short as a leak)
wait $many_pid

# 7. a shipped chain proved the TLSA record when the connection began; on a
# live connection that proof is judged again after 30 s or a SIGHUP: looked up
# under --client-chain prefer, lapsed (a new connection ships it again) under
# required, which looks nothing up
reqs keep
SHIP=$tmp/alice.ext held keep 127.0.0.1 $a_tls "$TB_CERT_ALICE" "$TB_KEY_ALICE" "$alice" "$tmp/keep.reg" "$tmp/keep.inv"
hup A
t0=$(queries TLSA)
held_go keep
t1=$(queries TLSA)
check "alice's live connection with her shipped chain, after a SIGHUP (prefer): looked up, still hers (200, 200)" \
	eval '[ "$(status_of keep 1)" = 200 ] && [ "$(status_of keep 2)" = 200 ] && grep -q "dane_clientid $alice MATCH via=dns (judged again)" "$tmp/A.log" && [ "$t1" -gt "$t0" ]'
reqs lapse
SHIP=$tmp/alice.ext held lapse 127.0.0.1 $r_tls "$TB_CERT_ALICE" "$TB_KEY_ALICE" "$alice" "$tmp/lapse.reg" "$tmp/lapse.opt"
hup R
q0=$(queries)
held_go lapse
q1=$(queries)
check "the same under --client-chain required: REGISTER 200, then her next request 403, the identity lapsed" \
	eval '[ "$(status_of lapse 1)" = 200 ] && [ "$(status_of lapse 2)" = 403 ] && grep -q "^Reason: SIP;cause=403;text=\"client not authenticated: dane_clientid INDETERMINATE (its DNSSEC chain was judged " "$tmp/lapse.out"'
SHIP=$tmp/alice.ext client relapse $r_tls "$TB_CERT_ALICE" "$TB_KEY_ALICE" "$alice" reg
check "  ... with no DNS query ($q0 -> $q1); a new connection with her chain registers again (200)" \
	eval '[ "$q0" = "$q1" ] && [ "$(status_of relapse 1)" = 200 ]'
SEND="python3 $srcdir/tests/kamailio-sip.py udp 127.0.0.1 $rc_sip"
start_proxy RC --domain a.example --listen "sip:127.0.0.1:$rc_sip;transport=udp" \
	--listen "sips:127.0.0.1:$rc_tls;transport=tls" --cert "$TB_CERT_A" --key "$TB_KEY_A" \
	--client-chain required --trusted 127.0.0.1/32 $dns --log-level debug || exit 1
reqs call
export ANSWER=486
SHIP=$tmp/alice.ext held call 127.0.0.1 $rc_tls "$TB_CERT_ALICE" "$TB_KEY_ALICE" "$alice" "$tmp/call.reg" "$tmp/call.opt"
unset ANSWER
$SEND INVITE sip:alice@a.example sip:bob@a.example >"$tmp/call1.out" 2>&1
check "under required, alice registered with her shipped chain over a held connection: bob's call rings there (486)" \
	eval '[ "$(status_of call 1)" = 200 ] && grep -q "^SIP/2.0 486" "$tmp/call1.out" && [ "$(grep -c "^received INVITE" "$tmp/call.out")" = 1 ]'
hup RC
q0=$(queries)
$SEND INVITE sip:alice@a.example sip:bob@a.example >"$tmp/call2.out" 2>&1
q1=$(queries)
check "  ... after a SIGHUP her identity lapses with no DNS query ($q0 -> $q1), and the binding it made: 480, nothing sent to her" \
	eval '[ "$q0" = "$q1" ] && grep -q "^Reason: SIP;cause=480;text=\"the DANCE identity the user registered with is no longer valid" "$tmp/call2.out" && [ "$(grep -c "^received INVITE" "$tmp/call.out")" = 1 ] && grep -q "registrar: alice@a.example: binding <.*> removed: the DANCE identity it was registered with is no longer valid on its TLS connection: dane_clientid INDETERMINATE (its DNSSEC chain was judged" "$tmp/RC.log"'
held_go call
finish
