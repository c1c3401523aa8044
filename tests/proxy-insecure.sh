#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# proxy-insecure.sh - a peer domain in an unsigned zone (insecure.example, its
# proxy on 127.0.0.4 with a certificate from a private PKIX CA): with
# --dane opportunistic the RFC 5922 PKIX fallback authenticates it with the
# right CA file and refuses it with the wrong one; --dane required refuses it
# outright. Its TLSA record (unsigned) is never used. Under --chain required
# a peer whose RFC 9102 chain (made with dnspython) validly proves its name
# unsigned is refused with that proof as the reason, never "no chain". SIPp
# on 127.0.0.1 stands for a.example's PBX (--trusted 127.0.0.1/32).
. "${srcdir:-.}/tests/proxy-lib.sh"
federation_testbed
start_proxy I --domain insecure.example --listen "sip:127.0.0.4:$i_sip;transport=udp" \
	--listen "sips:127.0.0.4:$i_tls;transport=tls" --cert "$TB_CERT_INSECURE" --key "$TB_KEY_INSECURE" \
	--ca-file "$TB_PKIX_CA" $dns --log-level debug || exit 1

# run_a NAME MODE CAFILE [ARGS...] - proxy A with that policy, one OPTIONS to insecure.example
run_a() {
	ra=$1 rm=$2 rc=$3
	shift 3
	start_proxy "$ra" --domain a.example --listen "sip:127.0.0.1:$a_sip;transport=udp" \
		--listen "sips:127.0.0.1:$a_tls;transport=tls" --cert "$TB_CERT_A" --key "$TB_KEY_A" \
		--dane "$rm" --ca-file "$rc" --trusted 127.0.0.1/32 $dns --log-level debug "$@" || return 1
	set -- "$ra"
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

# --chain required: the peer ships a valid chain proving its name unsigned
# (the signed denial of insecure.example's DS, made by dnspython); refused,
# and the reason is that proof, not "no DNSSEC chain"
stop_proxy I
/usr/bin/python3 "$srcdir/tests/mkchain.py" --resolver "$TB_RESOLVER" --name insecure.example --ask DS \
	"$tmp/insecure.ext" || bad "the unsigned-zone chain is made"
chaintls=$("$srcdir/tests/valgrind.sh" "$top_builddir/tests/chain-tls")
"$chaintls" --serve "127.0.0.4:$i_tls" --trust-anchor "$TB_ANCHOR" --ext-file "$tmp/insecure.ext" \
	--host sip.insecure.example --port "$i_tls" --cert "$TB_CERT_INSECURE" --key "$TB_KEY_INSECURE" \
	>"$tmp/I2.log" 2>&1 &
pids="$pids $!"
"$wait_for" "$tmp/I2.log" "serving on" || bad "chain-tls serves the unsigned-zone chain" "$(cat "$tmp/I2.log")"
run_a chainreq opportunistic "$TB_PKIX_CA" --chain required
check "--chain required, a chain proving the peer unsigned: refused (502), INSECURE with the chain's reason" \
	eval '[ "$st" = 502 ] && grep -q "domain=insecure.example rule=rfc9102-chain verdict=INSECURE via=rfc9102 .*is in an unsigned zone: the delegation insecure.example. has no DS" "$tmp/chainreq.log"'
check "  ... never called a missing chain" eval '! grep -q "no DNSSEC chain" "$tmp/chainreq.log"'
finish
