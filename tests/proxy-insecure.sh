#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# proxy-insecure.sh - a peer domain in an unsigned zone (insecure.example, its
# proxy on 127.0.0.4 with a certificate from a private PKIX CA): with
# --dane opportunistic the RFC 5922 PKIX fallback authenticates it with the
# right CA file and refuses it with the wrong one; --dane required refuses it
# outright. Its TLSA record (unsigned) is never used. SIPp on 127.0.0.1
# stands for a.example's PBX (--trusted 127.0.0.1/32).
. "${srcdir:-.}/tests/proxy-lib.sh"
# ports: a block of our own (tests/ports.sh)
base=$("${srcdir:-.}/tests/ports.sh" $$)
a_sip=$base a_tls=$((base + 1)) b_sip=$((base + 2)) b_tls=$((base + 3)) c_sip=$((base + 4))
c_tls=$((base + 5)) i_sip=$((base + 6)) i_tls=$((base + 7)) dnsp=$((base + 8))
uas_p=$((base + 10)) uas_m=$((base + 12)) uas_c=$((base + 16)) uac_p=$((base + 18)) uac_m=$((base + 20))
uac_c=$((base + 24)) opt_p=$((base + 26)) opt_m=$((base + 28)) opt_c=$((base + 32))
need sipp knotd keymgr kdig ldns-signzone openssl

export TB_A_TLS_PORT=$a_tls TB_A_SIP_PORT=$a_sip TB_B_TLS_PORT=$b_tls TB_B_SIP_PORT=$b_sip
export TB_C_TLS_PORT=$c_tls TB_C_SIP_PORT=$c_sip TB_INSECURE_TLS_PORT=$i_tls TB_INSECURE_SIP_PORT=$i_sip
start_testbed $dnsp

dns="--resolver $TB_RESOLVER --trust-anchor $TB_ANCHOR"
start_proxy I --domain insecure.example --listen "sip:127.0.0.4:$i_sip;transport=udp" \
	--listen "sips:127.0.0.4:$i_tls;transport=tls" --cert "$TB_CERT_INSECURE" --key "$TB_KEY_INSECURE" \
	--ca-file "$TB_PKIX_CA" $dns --log-level debug || exit 1

# run_a NAME MODE CAFILE - proxy A with that policy, one OPTIONS to insecure.example
run_a() {
	start_proxy "$1" --domain a.example --listen "sip:127.0.0.1:$a_sip;transport=udp" \
		--listen "sips:127.0.0.1:$a_tls;transport=tls" --cert "$TB_CERT_A" --key "$TB_KEY_A" \
		--dane "$2" --ca-file "$3" --trusted 127.0.0.1/32 $dns --log-level debug || return 1
	sipp_run "$1-opt" 127.0.0.1:$a_sip -sf "$srcdir/tests/sip-options.xml" -i 127.0.0.1 -p $opt_p \
		-mp $opt_m -cp $opt_c -s carol -key rdomain insecure.example -key fromdomain a.example
	st=$(status "$tmp/$1-opt.msg")
	reason=$(msg "$tmp/$1-opt.msg" received '^SIP/2.0 [2-6]' | header Reason)
	stop_proxy "$1"
}

run_a right opportunistic "$TB_PKIX_CA"
if grep -q 'domain=insecure.example rule=insecure-fallback verdict=MATCH' "$tmp/right.log" &&
	grep -q 'OPTIONS sip:carol@insecure.example from 127.0.0.1:[0-9]* over TLS' "$tmp/I.log"; then
	ok "opportunistic + right CA: PKIX fallback authenticated insecure.example, request delivered ($st)"
else
	bad "opportunistic + right CA delivered (status $st)" "$reason"
fi
run_a wrongca opportunistic "$TB_OTHER_CA"
case "$st $reason" in
'502 '*mismatch*) ok "opportunistic + wrong CA: refused with 502, Reason names mismatch" ;;
*) bad "opportunistic + wrong CA refused (status $st)" "$reason" ;;
esac
check "opportunistic + wrong CA: logged as one authentication decision" \
	grep -q 'domain=insecure.example rule=insecure-fallback verdict=NOMATCH' "$tmp/wrongca.log"
run_a required required "$TB_PKIX_CA"
case "$st $reason" in
'503 '*'no usable target'*'dane=required'*) ok "required + insecure zone: refused with 503 before connecting" ;;
*) bad "required + insecure refused (status $st)" "$reason" ;;
esac
check "required: no TLS connection was even attempted" \
	eval '! grep -q "new TLS connection" "$tmp/required.log"'
check "insecure.example's unsigned TLSA record was never used" \
	eval '! grep -q "rule=secure-tlsa" "$tmp/right.log" "$tmp/wrongca.log" "$tmp/required.log"'
finish
