#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# proxy-local.sh - sipdance-proxy serving its own domain, no DNS needed:
# REGISTER then a call to the registered contact, expiry by Expires: 0,
# forking to two contacts (the 200 beats a 486, whichever answers first),
# CANCEL of a ringing call, E.164 numbers to --e164-route, Max-Forwards 0,
# the config file, overload (503 past --max-pending, service again once
# requests end), and clear startup errors for bad configurations. The SIPp
# clients on 127.0.0.1 stand for a PBX of a.example: the proxy trusts that
# address (--trusted 127.0.0.1/32); Digest users are tested in proxy-auth.sh.
. "${srcdir:-.}/tests/proxy-lib.sh"
# ports: a block of our own (tests/ports.sh)
base=$("${srcdir:-.}/tests/ports.sh" $$)
P=$base uac_p=$((base + 1)) opt_p=$((base + 2)) opt_m=$((base + 4)) opt_c=$((base + 8))
uas_p=$((base + 10)) uas_m=$((base + 12)) uas_c=$((base + 16)) busy_p=$((base + 17))
busy_m=$((base + 18)) busy_c=$((base + 22)) ans_p=$((base + 23)) ans_m=$((base + 24))
ans_c=$((base + 28)) e164_p=$((base + 29)) e164_m=$((base + 30)) e164_c=$((base + 34))
slow_p=$((base + 35)) slow_m=$((base + 36)) slow_c=$((base + 39))
need sipp

# bob and carol register with Digest (MD5, offered first for SIPp): a trusted network does not register
pw=$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')
sd=$("${srcdir:-.}/tests/valgrind.sh" "${top_builddir:-.}/sipdance")
for u in bob carol; do echo "$pw" | "$sd" user-digest $u a.example; done >"$tmp/users"
chmod 600 "$tmp/users"
start_proxy L --domain a.example --listen "sip:127.0.0.1:$P;transport=udp" \
	--users "$tmp/users" --digest-algorithms MD5,SHA-256 \
	--listen "sip:127.0.0.1:$P;transport=tcp" --e164-route "sip:127.0.0.1:$e164_p;transport=udp" \
	--location "fork@a.example=sip:fork@127.0.0.1:$busy_p" --location "fork@a.example=sip:fork@127.0.0.1:$ans_p" \
	--trusted 127.0.0.1/32 --log-level debug || exit 1
opts="-i 127.0.0.1 -mp $opt_m -cp $opt_c"
regopts="$opts -ap $pw"

# 1. registrar
sipp_run reg 127.0.0.1:$P -sf "$srcdir/tests/sip-register.xml" $regopts -p $opt_p -s bob \
	-key rdomain a.example -key contact 127.0.0.1:$uas_p -key expires 60
check "REGISTER bob@a.example: 200" eval '[ "$(status "$tmp/reg.msg")" = 200 ]'
check "the 200 lists the binding with its expiry" \
	grep -q "Contact: <sip:bob@127.0.0.1:$uas_p>;expires=60" "$tmp/reg.msg"
# bob's phone asserts identities in its 180 and 200 (RFC 3325 headers nothing authenticated)
awk '/^\[last_Record-Route:\]/ { print; print "P-Asserted-Identity: <sip:ceo@a.example>";
	print "Remote-Party-ID: <sip:+12025550100@a.example;user=phone>"; next } { print }' \
	"$srcdir/tests/sip-uas.xml" >"$tmp/uas-pai.xml"
sipp_bg uas -sf "$tmp/uas-pai.xml" -i 127.0.0.1 -p $uas_p -mp $uas_m -cp $uas_c
sipp_run uac 127.0.0.1:$P -sn uac $opts -p $uac_p -s bob
rc=$?
wait "$uas_pid" 2>/dev/null
check "call to bob@a.example reached the registered contact and completed" eval '[ $rc = 0 ]'
check "  ... the identities bob's phone asserted in its 180 and 200 did not reach the caller (RFC 3325)" \
	eval 'grep -q "^SIP/2.0 200" "$tmp/uac.msg" && ! grep -Eqi "^(P-Asserted-Identity|Remote-Party-ID):" "$tmp/uac.msg" &&
	      grep -q "response: P-Asserted-Identity <sip:ceo@a.example> removed" "$tmp/L.log"'
check "the callee saw Record-Route (with the dialog token) and Max-Forwards 69" \
	eval 'grep -Eq "^Record-Route: <sip:a.example;lr;dt=[0-9a-f]{24}>" "$tmp/uas.msg" && grep -q "^Max-Forwards: 69" "$tmp/uas.msg"'
sipp_run unreg 127.0.0.1:$P -sf "$srcdir/tests/sip-register.xml" $regopts -p $opt_p -s bob \
	-key rdomain a.example -key contact 127.0.0.1:$uas_p -key expires 0
sipp_run gone 127.0.0.1:$P -sf "$srcdir/tests/sip-options.xml" $opts -p $opt_p -s bob \
	-key rdomain a.example -key fromdomain a.example
check "after Expires: 0 bob has no binding: 404" eval '[ "$(status "$tmp/gone.msg")" = 404 ]'

# 2. forking: one contact busy, the other answers; the 200 wins
sipp_bg busy -sf "$srcdir/tests/sip-busy.xml" -i 127.0.0.1 -p $busy_p -mp $busy_m -cp $busy_c
sipp_bg ans -sf "$srcdir/tests/sip-uas.xml" -i 127.0.0.1 -p $ans_p -mp $ans_m -cp $ans_c
sipp_run fork 127.0.0.1:$P -sn uac $opts -p $uac_p -s fork
rc=$?
wait "$busy_pid" "$ans_pid" 2>/dev/null
check "forked INVITE reached both contacts of fork@a.example" \
	eval 'grep -q "^INVITE sip:fork@127.0.0.1:$busy_p" "$tmp/busy.msg" && grep -q "^INVITE sip:fork@127.0.0.1:$ans_p" "$tmp/ans.msg"'
check "best response wins: the call completed despite the 486" eval '[ $rc = 0 ] && ! grep -q "SIP/2.0 486" "$tmp/fork.msg"'

# 3. CANCEL
sipp_bg cuas -sf "$srcdir/tests/sip-cancel-uas.xml" -i 127.0.0.1 -p $uas_p -mp $uas_m -cp $uas_c
sipp_run reg2 127.0.0.1:$P -sf "$srcdir/tests/sip-register.xml" $regopts -p $opt_p -s carol \
	-key rdomain a.example -key contact 127.0.0.1:$uas_p -key expires 60
sipp_run cuac 127.0.0.1:$P -sf "$srcdir/tests/sip-cancel-uac.xml" $opts -p $uac_p -s carol
rc=$?
wait "$cuas_pid" 2>/dev/null
check "CANCEL reached the ringing callee; the caller got 200 and 487" \
	eval '[ $rc = 0 ] && grep -q "^CANCEL " "$tmp/cuas.msg" && grep -q "SIP/2.0 487" "$tmp/cuac.msg"'

# 4. E.164 numbers go to --e164-route, without DNS or DANE
sipp_bg e164 -sf "$srcdir/tests/sip-answer.xml" -i 127.0.0.1 -p $e164_p -mp $e164_m -cp $e164_c
sipp_run tel 127.0.0.1:$P -sf "$srcdir/tests/sip-options.xml" $opts -p $opt_p -s +15551234567 \
	-key rdomain "a.example;user=phone" -key fromdomain a.example
wait "$e164_pid" 2>/dev/null
check "sip:+15551234567@a.example;user=phone went to the E.164 next hop: 200" \
	eval '[ "$(status "$tmp/tel.msg")" = 200 ] && grep -q "^OPTIONS sip:+15551234567@a.example;user=phone" "$tmp/e164.msg"'
sed 's/sip:\[service\]@\[rdomain\]/tel:[service]/g' "$srcdir/tests/sip-options.xml" >"$tmp/tel.xml"
sipp_bg e164b -sf "$srcdir/tests/sip-answer.xml" -i 127.0.0.1 -p $e164_p -mp $e164_m -cp $e164_c
sipp_run tel2 127.0.0.1:$P -sf "$tmp/tel.xml" $opts -p $opt_p -s +15551234567 -key rdomain a.example \
	-key fromdomain a.example
wait "$e164b_pid" 2>/dev/null
check "tel:+15551234567 went to the E.164 next hop: 200" \
	eval '[ "$(status "$tmp/tel2.msg")" = 200 ] && grep -q "^OPTIONS tel:+15551234567 SIP/2.0" "$tmp/e164b.msg"'

# 4b. TLS to an IP literal cannot be authenticated for a domain: refused at once
sipp_run iptls 127.0.0.1:$P -sf "$srcdir/tests/sip-options.xml" $opts -p $opt_p -s bob \
	-key rdomain "127.0.0.9:5061;transport=tls" -key fromdomain a.example
check "sip:bob@127.0.0.9:5061;transport=tls: 502 with a Reason, no unauthenticated TLS" \
	eval '[ "$(status "$tmp/iptls.msg")" = 502 ] && grep -q "^Reason: SIP;cause=502" "$tmp/iptls.msg"'

# 5. Max-Forwards 0
sed 's/Max-Forwards: 70/Max-Forwards: 0/' "$srcdir/tests/sip-options.xml" >"$tmp/mf0.xml"
sipp_run mf0 127.0.0.1:$P -sf "$tmp/mf0.xml" $opts -p $opt_p -s bob -key rdomain a.example -key fromdomain a.example
check "Max-Forwards: 0 is answered 483" eval '[ "$(status "$tmp/mf0.msg")" = 483 ]'
stop_proxy L

# 6. config file, flags overriding it
cat >"$tmp/proxy.conf" <<CONF
# a comment
domain = a.example
listen = sip:127.0.0.1:$P;transport=udp
log-level = info
trace = on
trusted = 127.0.0.1/32
CONF
start_proxy F --config "$tmp/proxy.conf" --log-level debug || exit 1
sipp_run opt 127.0.0.1:$P -sf "$srcdir/tests/sip-options.xml" $opts -p $opt_p -s nobody \
	-key rdomain a.example -key fromdomain a.example
check "config file: domain and listener from the file, log level from the flag" \
	eval '[ "$(status "$tmp/opt.msg")" = 404 ] && grep -q "debug proxy: OPTIONS" "$tmp/F.log"'
check "trace = on: the OPTIONS received and the 404 sent are in the log" eval \
	'grep -A2 "^recv [0-9]* bytes from udp/\[127.0.0.1\]:$opt_p" "$tmp/F.log" | grep -q "OPTIONS sip:nobody@a.example" &&
	grep -A2 "^send [0-9]* bytes to udp/\[127.0.0.1\]:$opt_p" "$tmp/F.log" | grep -q "SIP/2.0 404"'
check "  ... and a proxy without it logs no message" eval '! grep -q "^recv [0-9]* bytes" "$tmp/L.log"'
stop_proxy F

# 7. overload: with --max-pending 2 and two INVITEs held at a callee (it says
# "held" for each, and answers them 486 once $tmp/release exists), a third is
# refused at once; once they end, service resumes
python3 -c '
import os, socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.settimeout(0.05)
held = {}
while True:
    try:
        d, addr = s.recvfrom(65535)
        if d.startswith(b"INVITE ") and d not in held:
            held[d] = addr
            print("held", flush=True)
    except socket.timeout:
        pass
    if held and os.path.exists(sys.argv[2]):
        for d, addr in held.items():
            hs = [h for h in d.split(b"\r\n\r\n")[0].split(b"\r\n")[1:]
                  if h.split(b":")[0].lower() in (b"via", b"from", b"to", b"call-id", b"cseq")]
            hs = [h + b";tag=busy" if h.lower().startswith(b"to:") else h for h in hs]
            s.sendto(b"\r\n".join([b"SIP/2.0 486 Busy Here"] + hs + [b"Content-Length: 0", b"", b""]), addr)
        held = {}
' $slow_p "$tmp/release" >"$tmp/held.out" &
pids="$pids $!"
"$wait_for" -u "127.0.0.1:$slow_p"
start_proxy O --domain a.example --listen "sip:127.0.0.1:$P;transport=udp" --max-pending 2 --trusted 127.0.0.1/32 \
	--location "slow@a.example=sip:slow@127.0.0.1:$slow_p" || exit 1
# (kamailio-sip.py waits for the final response: the two held INVITEs wait in the background)
SEND="python3 $srcdir/tests/kamailio-sip.py udp 127.0.0.1 $P INVITE sip:slow@a.example sip:carol@a.example"
$SEND >"$tmp/inv1.out" 2>&1 &
inv1=$!
$SEND >"$tmp/inv2.out" 2>&1 &
inv2=$!
"$wait_for" -n 2 "$tmp/held.out" "^held"
$SEND >"$tmp/inv3.out" 2>&1
check "two INVITEs held at the callee, a third past --max-pending 2: 503 meanwhile" eval \
	'grep -q "^SIP/2.0 503" "$tmp/inv3.out" && [ "$(grep -c "^held" "$tmp/held.out")" = 2 ]'
check "  ... with Retry-After and a Reason naming the overload, logged" eval \
	'grep -q "^Retry-After: 5" "$tmp/inv3.out" &&
	grep -q "^Reason: SIP;cause=503;text=\"overload: too many requests in progress\"" "$tmp/inv3.out" &&
	grep -q "overload: 2 requests in progress (--max-pending 2)" "$tmp/O.log"'
: >"$tmp/release"
wait $inv1 $inv2
check "  ... the two held ones were answered by the callee once released (486)" eval \
	'grep -q "^SIP/2.0 486" "$tmp/inv1.out" && grep -q "^SIP/2.0 486" "$tmp/inv2.out"'
$SEND >"$tmp/inv4.out" 2>&1
check "once they ended, a new INVITE is routed again (the callee's 486, not 503)" \
	grep -q "^SIP/2.0 486" "$tmp/inv4.out"
stop_proxy O

# 8. startup errors: exit status and a message naming the problem
# bad_start NAME WANT_RE ARGS... - the proxy must refuse to start with a message matching WANT_RE
bad_start() {
	name=$1 re=$2
	shift 2
	timeout $((5 * vg_slow)) "$PROXY" "$@" >"$tmp/err.out" 2>&1
	rc=$?
	if [ $rc -ne 0 ] && [ $rc -ne 124 ] && grep -Eq -- "$re" "$tmp/err.out"; then
		ok "startup error: $name"
	else
		bad "startup error: $name (exit $rc)" "$(cat "$tmp/err.out")"
	fi
}
L="--listen sip:127.0.0.1:$P;transport=udp"
bad_start "no --domain" "no --domain" $L
bad_start "no --listen" "no --listen" --domain a.example
bad_start "bad --dane" "--dane maybe: want required" --domain a.example $L --dane maybe
bad_start "bad --trace" "--trace yes: want on or off" --domain a.example $L --trace yes
bad_start "unknown option" "unknown option --frobnicate" --domain a.example $L --frobnicate 1
bad_start "TLS without --cert" "TLS listener needs --cert" --domain a.example --listen "sips:127.0.0.1:$P;transport=tls"
bad_start "bad --location" "--location bob: want AOR=CONTACT" --domain a.example $L --location bob
bad_start "resolver without trust anchor" "--trust-anchor go together" --domain a.example $L --resolver 127.0.0.1@53
bad_start "unreadable trust anchor" "trust anchor" --domain a.example $L --resolver 127.0.0.1@53 --trust-anchor /nonexistent
bad_start "missing --cert file" "--cert /nonexistent" --domain a.example --listen "sips:127.0.0.1:$P;transport=tls" --cert /nonexistent --key /nonexistent
bad_start "unreadable --ca-file" "--ca-file /nonexistent" --domain a.example $L --ca-file /nonexistent
printf 'domain = a.example\nfrobnicate = 1\n' >"$tmp/bad.conf"
bad_start "bad --local-auth" "--local-auth maybe: want required or off" --domain a.example $L --local-auth maybe
bad_start "bad --trusted" "--trusted 300.1.2.3: want ADDRESS" --domain a.example $L --trusted 127.0.0.1,300.1.2.3
bad_start "bad --trusted prefix" "--trusted 10.0.0.0/33: want ADDRESS" --domain a.example $L --trusted 10.0.0.0/33
bad_start "missing --users file" "--users /nonexistent: No such file" --domain a.example $L --users /nonexistent
printf 'alice:a.example:xyz\n' >"$tmp/users.bad"
bad_start "bad --users line (its number, no credential echoed)" "users.bad:1: HA1-MD5 is 32 hex" --domain a.example $L --users "$tmp/users.bad"
printf 'short' >"$tmp/secret.short"
bad_start "short --auth-secret" "--auth-secret .*: want at least 16" --domain a.example $L --auth-secret "$tmp/secret.short"
bad_start "unknown key in the config file" 'bad.conf:2: unknown key "frobnicate"' --config "$tmp/bad.conf" $L
bad_start "address not available" "cannot listen on sip:192.0.2.1" --domain a.example --listen "sip:192.0.2.1:$P;transport=udp"
"$PROXY" --help >"$tmp/help.out" 2>&1
check "--help lists every key" eval 'for k in domain listen cert key trust-anchor resolver dane ca-file location e164-route log-level trace config local-auth users trusted auth-secret; do grep -q -- "--$k " "$tmp/help.out" || exit 1; done'
finish
