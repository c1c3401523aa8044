#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# proxy-failover.sh - RFC 3263 §4.3 failover at sipdance-proxy: sip.b.example
# has AAAA ::1 (nothing listens there) and A 127.0.0.2 (proxy B). A, with TLS
# listeners in both families, tries ::1 first (IPv6 first), gets a refused
# connection and goes on to 127.0.0.2: the request arrives, authenticated.
# Then B is stopped: with every address dead the caller gets a fast 503.
# SIPp on 127.0.0.1 stands for a.example's PBX (--trusted 127.0.0.1/32).
. "${srcdir:-.}/tests/proxy-lib.sh"
base=$("${srcdir:-.}/tests/ports.sh" $$)
a_sip=$base a_tls=$((base + 1)) b_sip=$((base + 2)) b_tls=$((base + 3)) a_tls6=$((base + 4))
dnsp=$((base + 8)) opt_p=$((base + 26)) opt_m=$((base + 28)) opt_c=$((base + 32))
need sipp knotd keymgr kdig ldns-signzone openssl

export TB_A_TLS_PORT=$a_tls TB_A_SIP_PORT=$a_sip TB_B_TLS_PORT=$b_tls TB_B_SIP_PORT=$b_sip
start_testbed $dnsp
start_proxy A --domain a.example --listen "sip:127.0.0.1:$a_sip;transport=udp" \
	--listen "sips:127.0.0.1:$a_tls;transport=tls" --listen "sips:[::1]:$a_tls6;transport=tls" \
	--cert "$TB_CERT_A" --key "$TB_KEY_A" --trusted 127.0.0.1/32 $dns --log-level debug || exit 1
start_proxy B --domain b.example --listen "sip:127.0.0.2:$b_sip;transport=udp" \
	--listen "sips:127.0.0.2:$b_tls;transport=tls" --cert "$TB_CERT_B" --key "$TB_KEY_B" \
	$dns --log-level debug || exit 1

# opt NAME - OPTIONS sip:bob@b.example through A; status in $st, time in $ms
opt() {
	t0=$(date +%s%N)
	sipp_run "$1" 127.0.0.1:$a_sip -sf "$srcdir/tests/sip-options.xml" -i 127.0.0.1 -p $opt_p \
		-mp $opt_m -cp $opt_c -s bob -key rdomain b.example -key fromdomain a.example
	ms=$(elapsed_ms "$t0")
	st=$(status "$tmp/$1.msg")
	reason=$(msg "$tmp/$1.msg" received '^SIP/2.0 [2-6]' | header Reason)
}
opt first
check "A tried [::1]:$b_tls first (IPv6 first)" \
	grep -q "new TLS connection to \[::1\]:$b_tls for b.example" "$tmp/A.log"
check "the refused connection failed over to 127.0.0.2:$b_tls (log line)" \
	grep -q "failover for b.example: \[::1\]:$b_tls failed (connection failed before TLS authentication); next 127.0.0.2:$b_tls" "$tmp/A.log"
check "the request reached B over an authenticated connection ($st in ${ms} ms)" \
	eval 'grep -Eq "auth: peer=127.0.0.2:$b_tls domain=b.example rule=secure-tlsa verdict=MATCH" "$tmp/A.log" && grep -q "OPTIONS sip:bob@b.example from" "$tmp/B.log" && [ "$st" = 404 ]'
stop_proxy B
opt dead
case "$st $reason" in
'503 '*'no usable target'*) ok "every address dead: 503 with a Reason in ${ms} ms (no 408)" ;;
*) bad "every address dead answered 503 (status $st in ${ms} ms)" "$reason" ;;
esac
finish
