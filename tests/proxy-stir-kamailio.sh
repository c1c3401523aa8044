#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# proxy-stir-kamailio.sh - STIR/SHAKEN between sipdance-proxy and Kamailio's
# secsipid module (libsecsipid), on loopback with SIPp: Kamailio signs a call
# (secsipid_add_identity) that sipdance-proxy --stir verify accepts, and
# rejects with 438 when it was signed for another number; sipdance-proxy
# --stir sign signs a call that Kamailio verifies (secsipid_check_identity)
# before relaying it. x5u is served by openssl s_server -WWW. Skipped (77)
# when Kamailio or its secsipid module is missing.
. "${srcdir:-.}/tests/proxy-lib.sh"
base=$("${srcdir:-.}/tests/ports.sh" $$)
K=$base S=$((base + 1)) V=$((base + 2)) uac_p=$((base + 3)) uac_m=$((base + 4)) uac_c=$((base + 8))
uas_p=$((base + 10)) uas_m=$((base + 12)) uas_c=$((base + 16))
need sipp openssl kamailio
moddir=${KAMAILIO_MODDIR:-/usr/lib/x86_64-linux-gnu/kamailio/modules}
for m in secsipid tm sl pv textops xlog; do
	[ -f "$moddir/$m.so" ] || { echo "# SKIP: Kamailio module $m.so missing (kamailio-secsipid-modules)"; exit 77; }
done
sd=$("${srcdir:-.}/tests/valgrind.sh" "${top_builddir:-.}/sipdance")
data=$(cd "$srcdir/tests/data/stir" && pwd)

# x5u of the shared test signing key (Kamailio and sipdance-proxy sign with it)
mkdir -p "$tmp/www" "$tmp/run"
cp "$data/ee-chain.pem" "$tmp/www/"
(cd "$tmp/www" && exec openssl s_server -WWW -accept 127.0.0.1:0 -naccept 1000 \
	-cert "$data/server.pem" -key "$data/server.key" >"$tmp/www.log" 2>&1) &
pids="$pids $!"
"$wait_for" "$tmp/www.log" "^ACCEPT 127" || { bad "x5u server started" "$(cat "$tmp/www.log")"; finish; exit 1; }
wport=$(sed -n 's/^ACCEPT 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$tmp/www.log")
X5U=https://127.0.0.1:$wport/ee-chain.pem
openssl pkey -in "$data/ee.key" -pubout -out "$tmp/ee.pub" 2>/dev/null

# Kamailio: an INVITE with an Identity is verified (X-Secsipid: verified) and
# relayed to the callee; one without is signed (orig From user, dest R-URI
# user, "+" dropped) and relayed to the verifying sipdance-proxy; in-dialog
# requests follow that way too.
cat >"$tmp/kamailio.cfg" <<CFG
#!KAMAILIO
debug=2
log_stderror=yes
children=1
auto_aliases=no
listen=udp:127.0.0.1:$K
loadpath "$moddir"
loadmodule "tm.so"
loadmodule "sl.so"
loadmodule "pv.so"
loadmodule "textops.so"
loadmodule "xlog.so"
loadmodule "secsipid.so"
modparam("secsipid", "expire", 60)

request_route {
	if (\$tt != \$null) {
		\$du = "sip:127.0.0.1:$V";
		t_relay();
		exit;
	}
	if (is_method("OPTIONS")) {
		sl_send_reply("200", "OK");
		exit;
	}
	if (!is_method("INVITE")) {
		sl_send_reply("405", "Method Not Allowed");
		exit;
	}
	if (is_present_hf("Identity")) {
		\$var(rc) = secsipid_check_identity("$tmp/ee.pub");
		xlog("L_INFO", "secsipid_check_identity rc=\$var(rc)\n");
		if (\$var(rc) > 0) {
			append_hf("X-Secsipid: verified\r\n");
			\$du = "sip:127.0.0.1:$uas_p";
			t_relay();
			exit;
		}
		sl_send_reply("438", "Invalid Identity Header");
		exit;
	}
	if (!secsipid_add_identity("\$(fU{s.substr,1,0})", "\$(rU{s.substr,1,0})", "A", "", "$X5U", "$data/ee.key")) {
		sl_send_reply("500", "Signing Failed");
		exit;
	}
	xlog("L_INFO", "secsipid signed\n");
	\$du = "sip:127.0.0.1:$V";
	t_relay();
}
CFG
kamailio -f "$tmp/kamailio.cfg" -DD -E -Y "$tmp/run" -m 64 -M 8 -w "$tmp/run" >"$tmp/kam.log" 2>&1 &
kam_pid=$!
pids="$pids $kam_pid"
i=0
while ! ss -uln 2>/dev/null | grep -q "127.0.0.1:$K "; do
	i=$((i + 1))
	if [ $i -gt $((100 * vg_slow)) ] || ! kill -0 $kam_pid 2>/dev/null; then
		bad "Kamailio with secsipid started" "$(tail -n 20 "$tmp/kam.log")"
		finish
		exit 1
	fi
	sleep 0.1
done
ok "Kamailio with the secsipid module started"

# V trusts 127.0.0.1 (Kamailio and SIPp stand for an interconnect delivering calls); S
# authenticates its caller: SIPp answers the 407 as alice, a Digest user entitled to 12025551000
pw=$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
echo "$pw" | "$sd" user-digest alice a.example 12025551000 >"$tmp/users"
start_proxy V --domain b.example --listen "sip:127.0.0.1:$V;transport=udp" \
	--e164-route "sip:127.0.0.1:$uas_p;transport=udp" --stir verify --stir-ca-file "$data/root.pem" \
	--stir-x5u-allow private,any-port --stir-x5u-tls-ca "$data/root.pem" --trusted 127.0.0.1/32 \
	--stir-x5u-timeout $((2000 * vg_slow)) \
	--log-level debug || { finish; exit 1; }
start_proxy S --domain a.example --listen "sip:127.0.0.1:$S;transport=udp" \
	--e164-route "sip:127.0.0.1:$K;transport=udp" --stir sign --stir-key "$data/ee.key" \
	--stir-x5u "$X5U" --stir-orig-range "1202555*" --users "$tmp/users" \
	--digest-algorithms MD5,SHA-256 --log-level debug || { finish; exit 1; }

# call NAME PROXYPORT FROM TO - the SIPp caller, R-URI sip:+12025552000@b.example;user=phone
call() {
	sipp_run "$1" 127.0.0.1:$2 -sf "$srcdir/tests/sip-stir-uac.xml" -i 127.0.0.1 -p $uac_p -mp $uac_m \
		-cp $uac_c -s +12025552000 -key rdomain "b.example;user=phone" -key from "$3" -key to "$4" \
		-key ihdr "X-Filler: none" -au alice -ap "$pw"
}
uas() { sipp_bg "$1" -sf "$srcdir/tests/sip-uas.xml" -i 127.0.0.1 -p $uas_p -mp $uas_m -cp $uas_c; }
bto="sip:+12025552000@b.example;user=phone"

# 1. Kamailio signs, sipdance-proxy verifies
uas k1uas
call k1 $K "sip:+12025551000@127.0.0.1;user=phone" "$bto"
rc=$?
wait "$k1uas_pid" 2>/dev/null
check "Kamailio secsipid signed the call" grep -q "secsipid signed" "$tmp/kam.log"
check "sipdance-proxy verified Kamailio's PASSporT (MATCH, attest A); the call completed" \
	eval '[ $rc = 0 ] && grep -q "stir: verify orig=12025551000 dest=12025552000 verdict=MATCH.*attest=A" "$tmp/V.log"'
msg "$tmp/k1uas.msg" received '^INVITE' >"$tmp/k1.inv"
kid=$(header Identity <"$tmp/k1.inv" | sed 's/^Identity: //')
check "the callee got Kamailio's Identity (info=<x5u>, ppt=shaken)" \
	eval 'echo "$kid" | grep -q ";info=<$X5U>;alg=ES256;ppt=shaken"'
if [ -n "$kid" ] && "$sd" passport verify --cert "$data/ee-chain.pem" --ca-file "$data/root.pem" \
	--orig 12025551000 --dest 12025552000 "$kid" >/dev/null 2>&1; then
	ok "the Identity the callee got still verifies (forwarded byte-exact)"
else
	bad "the Identity the callee got still verifies" "$kid"
fi
call k2 $K "sip:+12025551000@127.0.0.1;user=phone" "sip:+12025553000@b.example;user=phone"
st=$(status "$tmp/k2.msg")
rs=$(msg "$tmp/k2.msg" received '^SIP/2.0 [3-6]' | header Reason)
if [ "$st" = 438 ] && echo "$rs" | grep -q 'cause=438;text="To 12025553000 is not a dest'; then
	ok "Kamailio signed for the R-URI number, To differs: sipdance-proxy 438 with Reason"
else
	bad "Kamailio signed for another number: 438 with Reason (got $st)" "$rs"
fi

# 2. sipdance-proxy signs, Kamailio verifies
uas k3uas
call k3 $S "sip:+12025551000@a.example;user=phone" "$bto"
rc=$?
wait "$k3uas_pid" 2>/dev/null
check "sipdance-proxy signed the call" grep -q "stir: sign orig=12025551000 dest=12025552000 attest=A" "$tmp/S.log"
check "Kamailio secsipid verified sipdance-proxy's PASSporT; the call completed" \
	eval '[ $rc = 0 ] && grep -q "secsipid_check_identity rc=1" "$tmp/kam.log" && msg "$tmp/k3uas.msg" received "^INVITE" | grep -q "^X-Secsipid: verified"'
check "body byte-exact through both" \
	eval '[ "$(msg "$tmp/k3.msg" sent "^INVITE" | body)" = "$(msg "$tmp/k3uas.msg" received "^INVITE" | body)" ]'
stop_proxy S
stop_proxy V
finish
