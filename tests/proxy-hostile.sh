#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# proxy-hostile.sh - sipdance-proxy as an internet-facing service, attacked
# with small raw-SIP and raw-TLS clients (tests/hostile.py) on the Knot
# testbed, in its default configuration (plus the listeners, certificate,
# resolver and one static user every deployment has). Each block is one
# class of attack from docs/reliability.md ("Hostile peers"); each asserts
# counts, statuses and log lines, never elapsed time.
. "${srcdir:-.}/tests/proxy-lib.sh"
H="python3 $srcdir/tests/hostile.py"
base=$("${srcdir:-.}/tests/ports.sh" $$)
b_sip=$base b_tls=$((base + 1)) b_tls2=$((base + 2)) dnsp=$((base + 8)) bob=$((base + 10))
lport=$((base + 50))
need knotd keymgr kdig ldns-signzone openssl python3

export TB_B_TLS_PORT=$b_tls TB_B_SIP_PORT=$b_sip TB_A_TLS_PORT=$((base + 3)) TB_A_SIP_PORT=$((base + 4))
start_testbed $dnsp

$H sink udp 127.0.0.2 $bob "$tmp/bob.count" >"$tmp/sink.out" 2>&1 &
pids="$pids $!"
start_proxy B --domain b.example --listen "sip:127.0.0.2:$b_sip;transport=udp" \
	--listen "sip:127.0.0.2:$b_sip;transport=tcp" --listen "sips:127.0.0.2:$b_tls;transport=tls" \
	--listen "sips:127.0.0.2:$b_tls2;transport=tls" --cert "$TB_CERT_B" --key "$TB_KEY_B" \
	--resolver "$TB_RESOLVER" --trust-anchor "$TB_ANCHOR" \
	--location "bob@b.example=sip:bob@127.0.0.2:$bob" --log-level debug || exit 1

# delivered - how many requests reached bob's sink
delivered() { cut -d' ' -f1 "$tmp/bob.count" 2>/dev/null || echo 0; }

# request FILE METHOD RURI FROM [EXTRA-HEADER...] - a request file for hostile.py
request() {
	f=$1 m=$2 r=$3 fr=$4
	shift 4
	{
		printf '%s %s SIP/2.0\nVia: SIP/2.0/@TP@ @LOCAL@;branch=@BRANCH@;rport\n' "$m" "$r"
		printf 'Max-Forwards: 70\nFrom: <%s>;tag=h%s\nTo: <%s>\n' "$fr" "$$" "$r"
		printf 'Call-ID: %s-%s@hostile\nCSeq: 1 %s\n' "$(basename "$f")" "$$" "$m"
		for h in "$@"; do printf '%s\n' "$h"; done
		printf 'Content-Length: 0\n\n'
	} >"$f"
}
# over TP FILE - the request file with its Via transport set
over() { sed "s|@TP@|$1|" "$2" >"$2.$1"; echo "$2.$1"; }

# 1. TLS identity bound to the connection that completed the handshake
request "$tmp/imp" MESSAGE sip:bob@b.example sip:alice@a.example
imp=$(over TLS "$tmp/imp")
n0=$(delivered)
# 1a. a.example's certificate on one listener, stalled before CertificateVerify;
# the same ip:port on the other listener, without a certificate, claims alice
rm -f "$tmp/hold1"
$H stall-cert 127.0.0.2 $b_tls $lport "$TB_CERT_A" "$TB_KEY_A" "$tmp/hold1" >"$tmp/stall1.out" 2>&1 &
st=$!
"$srcdir/tests/wait-for.sh" "$tmp/stall1.out" 'stalled|closed' 10
$H tls 127.0.0.2 $b_tls2 $lport "$imp" >"$tmp/imp1.out" 2>&1
touch "$tmp/hold1"
wait $st
check "stalled handshake: connection 1 sent the certificate, held CertificateVerify" \
	grep -q 'stalled before CertificateVerify' "$tmp/stall1.out"
check "same ip:port, other listener, no certificate, From alice@a.example: 403" \
	grep -q '^SIP/2.0 403' "$tmp/imp1.out"
# 1b. the stalled connection reset, the same ip:port again on the same listener
rm -f "$tmp/hold2"
$H stall-cert 127.0.0.2 $b_tls $lport "$TB_CERT_A" "$TB_KEY_A" "$tmp/hold2" --rst >"$tmp/stall2.out" 2>&1 &
st=$!
"$srcdir/tests/wait-for.sh" "$tmp/stall2.out" 'stalled|closed' 10
touch "$tmp/hold2"
wait $st
$H tls 127.0.0.2 $b_tls $lport "$imp" >"$tmp/imp2.out" 2>&1
check "a dead connection's certificate, the same ip:port reconnecting without one: 403" \
	grep -q '^SIP/2.0 403' "$tmp/imp2.out"
# 1c. a complete handshake with a.example's key on one listener, kept open;
# the same ip:port on the other listener without a certificate
rm -f "$tmp/hold3"
$H tls 127.0.0.2 $b_tls $lport "$imp" --cert "$TB_CERT_A" --key "$TB_KEY_A" --hold "$tmp/hold3" \
	>"$tmp/good1.out" 2>&1 &
st=$!
"$srcdir/tests/wait-for.sh" "$tmp/good1.out" 'holding|no final' 10
$H tls 127.0.0.2 $b_tls2 $lport "$imp" >"$tmp/imp3.out" 2>&1
touch "$tmp/hold3"
wait $st
check "a.example's own key, handshake complete: 200 (positive control)" \
	grep -q '^SIP/2.0 200' "$tmp/good1.out"
check "its identity does not cross to the same ip:port on another listener: 403" \
	grep -q '^SIP/2.0 403' "$tmp/imp3.out"
check "bob got the authenticated MESSAGE only" eval '[ "$(delivered)" -eq $((n0 + 1)) ]'
check "one MATCH for a.example in the log, the authenticated connection's" \
	eval '[ "$(grep -c "domain=a.example rule=secure-tlsa verdict=MATCH" "$tmp/B.log")" -eq 1 ]'

stop_proxy B
finish
