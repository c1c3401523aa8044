#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# proxy-clientid.sh - DANCE client authentication (dane_clientid) at
# sipdance-proxy on the Knot testbed. Users: alice with her published
# _user TLSA registers and calls; a wrong key, a name without TLSA (secure
# denial), TLS 1.2 under --client-auth required, and a From or
# P-Asserted-Identity that is not hers are each refused with the reason
# (a P-Asserted-Identity she sets herself is not believed: her From decides).
# UDP clients on 127.0.0.1 stand for a PBX of a.example (A and W trust that
# address); alice's TLS connections are judged by her DANCE identity first.
# Peer proxies: A presenting sip.a.example (client TLSA 3 1 1) is
# authenticated by B through dane_clientid; a proxy with another key
# presenting the same name is refused. On a live connection an identity is
# judged again after a SIGHUP: alice's and A's kept while their TLSA records
# stay, gone once hers is withdrawn or names another key; and the bindings
# alice made over a silent connection with it: calls ring there while it
# holds, and once it is gone her binding is removed and bob gets 480 (430 in
# a dialog); that judging attacked while her name is silent at the DNS (her
# connection closing, her own request racing, SIGHUPs). (Clients that ship
# their own DNSSEC chain: tests/proxy-client-chain.sh.)
. "${srcdir:-.}/tests/proxy-lib.sh"
CLIENT=$("${srcdir:-.}/tests/valgrind.sh" "${top_builddir:-.}/tests/sip-tls-client")
base=$("${srcdir:-.}/tests/ports.sh" $$)
a_sip=$base a_tls=$((base + 1)) b_sip=$((base + 2)) b_tls=$((base + 3)) r_tls=$((base + 4))
w_sip=$((base + 5)) w_tls=$((base + 6)) dnsp=$((base + 8)) uas_p=$((base + 10)) uas_m=$((base + 12))
uas_c=$((base + 16)) opt_p=$((base + 26)) opt_m=$((base + 28)) opt_c=$((base + 32))
need sipp knotd keymgr kdig ldns-signzone openssl

export TB_A_TLS_PORT=$a_tls TB_A_SIP_PORT=$a_sip TB_B_TLS_PORT=$b_tls TB_B_SIP_PORT=$b_sip
start_testbed $dnsp
alice=${TB_USER_ALICE%.}
# a user name in a.example that has no TLSA record (the zone proves it)
carol="$(printf %s carol | sha256sum | cut -c1-56)._user.a.example"

start_proxy A --domain a.example --listen "sip:127.0.0.1:$a_sip;transport=udp" \
	--listen "sips:127.0.0.1:$a_tls;transport=tls" --cert "$TB_CERT_A" --key "$TB_KEY_A" \
	--client-name sip.a.example --location "carol@a.example=sip:carol@127.0.0.1:$uas_p" \
	--trusted 127.0.0.1/32 $dns --log-level debug || exit 1
start_proxy B --domain b.example --listen "sip:127.0.0.2:$b_sip;transport=udp" \
	--listen "sips:127.0.0.2:$b_tls;transport=tls" --cert "$TB_CERT_B" --key "$TB_KEY_B" \
	--client-domains a.example,b.example $dns --log-level debug || exit 1
start_proxy R --domain a.example --listen "sips:127.0.0.1:$r_tls;transport=tls" --cert "$TB_CERT_A" \
	--key "$TB_KEY_A" --client-auth required $dns --log-level debug || exit 1

# req FILE METHOD RURI FROM TO [EXTRA-HEADER] - one request over TLS
req() {
	{
		printf '%s %s SIP/2.0\n' "$2" "$3"
		printf 'Via: SIP/2.0/TLS 127.0.0.1:5999;branch=z9hG4bK-%s;rport\n' "$(basename "$1")"
		printf 'From: <%s>;tag=t1\nTo: <%s>\nCall-ID: %s@test\nCSeq: 1 %s\n' "$4" "$5" "$(basename "$1")" "$2"
		printf 'Contact: <sip:alice@127.0.0.1:5999;transport=tls>\nMax-Forwards: 70\n'
		[ -n "${6:-}" ] && printf '%s\n' "$6"
		[ "$2" = REGISTER ] && printf 'Expires: 300\n'
		printf 'Content-Length: 0\n\n'
	} >"$1"
}
req "$tmp/reg" REGISTER sip:a.example sip:alice@a.example sip:alice@a.example
req "$tmp/inv" INVITE sip:carol@a.example sip:alice@a.example sip:carol@a.example
req "$tmp/forged" OPTIONS sip:a.example sip:mallory@a.example sip:a.example
req "$tmp/paid" OPTIONS sip:a.example sip:alice@a.example sip:a.example \
	"P-Asserted-Identity: <sip:mallory@a.example>"
req "$tmp/regbob" REGISTER sip:a.example sip:mallory@a.example sip:mallory@a.example

# client NAME PORT CERT KEY CLIENTNAME [tls12] REQ... - run the TLS client, output in $tmp/NAME.out
client() {
	n=$1
	shift
	timeout $((20 * vg_slow)) "$CLIENT" 127.0.0.1 "$@" >"$tmp/$n.out" 2>&1
}

# 1. alice with her published _user TLSA: registers and calls
sipp_bg uas -sf "$srcdir/tests/sip-uas.xml" -i 127.0.0.1 -p $uas_p -mp $uas_m -cp $uas_c
client good $a_tls "$TB_CERT_ALICE" "$TB_KEY_ALICE" "$alice" "$tmp/reg" "$tmp/inv" "$tmp/forged" "$tmp/paid"
out=$(cat "$tmp/good.out")
check "alice (valid _user TLSA) registers: 200" eval 'sed -n 1p "$tmp/good.out" | grep -q "^SIP/2.0 200"'
check "REGISTER authenticated by dane_clientid (log line)" \
	grep -Eq "auth: peer=127.0.0.1:[0-9]+ user=alice@a.example method=REGISTER rule=dane-clientid verdict=MATCH \(To alice@a.example" "$tmp/A.log"
check "alice calls carol: INVITE authenticated and answered 200" \
	eval 'sed -n 2p "$tmp/good.out" | grep -q "^SIP/2.0 200" && grep -Eq "user=alice@a.example method=INVITE rule=dane-clientid verdict=MATCH \(From alice@a.example" "$tmp/A.log"'
check "a From that is not alice's authenticated name: 403 with Reason" \
	eval 'grep -A1 "^SIP/2.0 403" "$tmp/good.out" | grep -q "^Reason: SIP;cause=403;text=\"identity mismatch: From mallory@a.example"'
check "a P-Asserted-Identity she sets (mallory's) is not believed: her From decides, 200" \
	eval 'tail -n 1 "$tmp/good.out" | grep -q "^SIP/2.0 200"'
client regother $a_tls "$TB_CERT_ALICE" "$TB_KEY_ALICE" "$alice" "$tmp/regbob"
check "alice registering mallory's AOR (To): 403 with Reason" \
	grep -q '^Reason: SIP;cause=403;text="identity mismatch: To mallory@a.example' "$tmp/regother.out"

# 1b. the example UA registers with its DANCE client identity
UA=$("${srcdir:-.}/tests/valgrind.sh" "${top_builddir:-.}/examples/sipdance-ua")
ua_p=$((base + 34))
"$UA" --aor sip:alice@a.example --listen "sip:127.0.0.1:$ua_p" --answer \
	--registrar "sips:127.0.0.1:$a_tls;transport=tls" --tls-cert "$TB_CERT_ALICE" \
	--tls-key "$TB_KEY_ALICE" --tls-listen "sips:127.0.0.1:$((ua_p + 1));transport=tls" \
	>"$tmp/ua.log" 2>&1 &
ua_pid=$!
pids="$pids $ua_pid"
i=0
while ! grep -q "registered\|failed\|cannot" "$tmp/ua.log" && [ $i -lt $((100 * vg_slow)) ] && kill -0 $ua_pid 2>/dev/null; do
	sleep 0.05
	i=$((i + 1))
done
check "sipdance-ua --tls-cert registers alice over TLS, authenticated by dane_clientid" \
	eval 'grep -q "^ua: registered sip:alice@a.example" "$tmp/ua.log" && [ "$(grep -c "user=alice@a.example method=REGISTER rule=dane-clientid verdict=MATCH" "$tmp/A.log")" -ge 2 ]'

# 1c. requests to alice go over the TLS connection she registered on (her flow):
# never a new TLS connection to her address, which nothing could authenticate
SEND="python3 $srcdir/tests/kamailio-sip.py udp 127.0.0.1 $a_sip"
$SEND OPTIONS sip:alice@a.example sip:carol@a.example >"$tmp/flow.out" 2>&1
check "OPTIONS to alice@a.example reaches her UA over her registration's TLS connection: 200" \
	eval 'grep -q "^SIP/2.0 200" "$tmp/flow.out" && grep -q "OPTIONS carol: branch 1 via request URI over the TLS connection it registered on" "$tmp/A.log"'
check "  ... and A opened no TLS connection to her address" \
	eval '! grep -q "no-expectation" "$tmp/A.log"'
$SEND OPTIONS "sips:alice@127.0.0.1:$((ua_p + 1))" sip:carol@a.example \
	--hdr "Route: <sip:00112233445566778899aabbccddeeff@a.example;lr;dt=00112233445566778899aabb>" \
	>"$tmp/token.out" 2>&1
check "a Route with a made-up flow token: 403 with Reason, not sent to any flow" \
	grep -q '^Reason: SIP;cause=403;text="the flow token in Route belongs to another dialog"' "$tmp/token.out"
kill -KILL $ua_pid 2>/dev/null
wait $ua_pid 2>/dev/null
"$wait_for" "$tmp/A.log" "registrar: alice@a.example: binding <.*> removed"
$SEND OPTIONS sip:alice@a.example sip:carol@a.example >"$tmp/closed.out" 2>&1
check "alice's connection gone (UA killed): 480 with Reason, binding removed" \
	eval 'grep -q "^Reason: SIP;cause=480;text=\"the TLS connection the user registered over has closed" "$tmp/closed.out" && grep -q "registrar: alice@a.example: binding <.*> removed: the TLS connection it was registered over has closed" "$tmp/A.log"'

# 2. refusals (without a DNSSEC chain of the client's own, the name is looked
# up after the handshake: the handshake completes, its requests wait for the
# verdict and are refused with it)
client wrongkey $a_tls "$TB_CERT_BOB" "$TB_KEY_BOB" "$alice" "$tmp/reg"
check "alice's name with another key: REGISTER 403 with the reason (NOMATCH)" \
	grep -q '^Reason: SIP;cause=403;text="client not authenticated: dane_clientid NOMATCH' "$tmp/wrongkey.out"
check "  ... logged as NOMATCH for alice's owner name, looked up after the handshake" \
	grep -Eq "clientid: $alice: NOMATCH: .*\(TLSA looked up after the handshake\)" "$tmp/A.log"
client missing $a_tls "$TB_CERT_BOB" "$TB_KEY_BOB" "$carol" "$tmp/reg"
check "a name without TLSA (secure denial), optional: REGISTER 403 with the reason" \
	eval 'grep -q "^Reason: SIP;cause=403;text=\"client not authenticated: dane_clientid NODATA (no such name (validated NXDOMAIN))" "$tmp/missing.out"'
client missingreq $r_tls "$TB_CERT_BOB" "$TB_KEY_BOB" "$carol" "$tmp/reg" "$tmp/forged"
check "a name without TLSA under --client-auth required: every request 403 (NODATA)" \
	eval '[ "$(grep -c "^Reason: SIP;cause=403;text=\"client not authenticated: dane_clientid NODATA" "$tmp/missingreq.out")" = 2 ] && grep -q "clientid: $carol: NODATA" "$tmp/R.log"'
client tls12 $r_tls "$TB_CERT_ALICE" "$TB_KEY_ALICE" "$alice" tls12 "$tmp/reg"
check "TLS 1.2 only under --client-auth required: refused (protocol version)" \
	eval 'grep -q "handshake failed: protocol version" "$tmp/tls12.out" && "$srcdir/tests/wait-for.sh" "$tmp/R.log" "inbound handshake from 127.0.0.1:[0-9]+ refused: sent alert protocol version"'
client goodreq $r_tls "$TB_CERT_ALICE" "$TB_KEY_ALICE" "$alice" tls13 "$tmp/reg"
check "alice under --client-auth required: registers (200)" grep -q "^SIP/2.0 200" "$tmp/goodreq.out"
client nocid $r_tls "$TB_CERT_ALICE" "$TB_KEY_ALICE" - "$tmp/reg"
check "a certificate without dane_clientid under --client-auth required: refused" \
	grep -q "handshake failed:" "$tmp/nocid.out"

# 3. peer proxies: A presents sip.a.example to B
sipp_run peer 127.0.0.1:$a_sip -sf "$srcdir/tests/sip-options.xml" -i 127.0.0.1 -p $opt_p -mp $opt_m \
	-cp $opt_c -s bob -key rdomain b.example -key fromdomain a.example
check "B authenticated proxy A by its client TLSA (dane_clientid sip.a.example, log line)" \
	grep -Eq "auth: peer=127.0.0.1:[0-9]+ domain=a.example rule=dane-clientid verdict=MATCH \(inbound client: client TLSA of sip.a.example" "$tmp/B.log"
check "  ... and the request was routed on (not 403)" eval '[ "$(status "$tmp/peer.msg")" != 403 ] && [ -n "$(status "$tmp/peer.msg")" ]'
start_proxy W --domain a.example --listen "sip:127.0.0.1:$w_sip;transport=udp" \
	--listen "sips:127.0.0.1:$w_tls;transport=tls" --cert "$TB_CERT_WRONG" --key "$TB_KEY_WRONG" \
	--client-name sip.a.example --trusted 127.0.0.1/32 $dns --log-level debug || exit 1
# (TLS 1.3 and no chain of its own: B accepts W's handshake, holds its request
# until the lookup of sip.a.example says NOMATCH, then refuses it)
sipp_run wpeer 127.0.0.1:$w_sip -sf "$srcdir/tests/sip-options.xml" -i 127.0.0.1 -p $opt_p -mp $opt_m \
	-cp $opt_c -s bob -key rdomain b.example -key fromdomain a.example -timeout $((10 * vg_slow))
check "a proxy presenting sip.a.example with another key: B refuses it (NOMATCH, log line)" \
	"$wait_for" "$tmp/B.log" "clientid: sip.a.example: NOMATCH"
check "  ... which does not ship the chain of sip.a.example: its key does not match it" \
	grep -q "chain: our DNSSEC chain for sip.a.example is not shipped: our certificate does not match" "$tmp/W.log"
check "  ... and its request was refused after the verdict, not routed: 403" \
	eval '[ "$(status "$tmp/wpeer.msg")" = 403 ] && grep -Eq "auth: peer=127.0.0.1:[0-9]+ domain=a.example rule=[a-z-]+ verdict=NOMATCH" "$tmp/B.log"'

# 4. alice's identity on a live connection does not outlive her _user TLSA: a
# ClientName verdict older than 30 s or than the last SIGHUP is judged again,
# under fresh DNS, on the connection's next request (SIGHUP here: nothing waits
# 30 s): still there, withdrawn, naming another key
req "$tmp/again" OPTIONS sip:a.example sip:alice@a.example sip:a.example
# alicetlsa [SPKI] - alice's _user TLSA withdrawn, or 3 1 1 SPKI; Knot signs the change
alicetlsa() {
	$TB_KNOTC zone-begin a.example. >/dev/null &&
		{ $TB_KNOTC zone-unset a.example. "$TB_USER_ALICE" TLSA >/dev/null; true; } &&
		{ [ -z "${1:-}" ] || $TB_KNOTC zone-set a.example. "$TB_USER_ALICE" "$TB_TTL" TLSA 3 1 1 "$1" >/dev/null; } &&
		$TB_KNOTC zone-commit a.example. >/dev/null
}
nm=$(grep -c "user=alice@a.example method=OPTIONS rule=dane-clientid verdict=MATCH" "$tmp/A.log")
held keep 127.0.0.1 $a_tls "$TB_CERT_ALICE" "$TB_KEY_ALICE" "$alice" "$tmp/reg" "$tmp/again"
hup A
held_go keep
check "alice's TLSA still there: after a SIGHUP her open connection's next request is still hers (200, 200)" \
	eval '[ "$(grep -c "^SIP/2.0 200" "$tmp/keep.out")" = 2 ] && [ "$(grep -c "user=alice@a.example method=OPTIONS rule=dane-clientid verdict=MATCH" "$tmp/A.log")" -gt "$nm" ]'
check "  ... her ClientName was judged again (looked up, from before a reload): MATCH" \
	eval 'grep -Eq "dane_clientid $alice judged again \(its verdict is [0-9]+ s old, from before a reload\)" "$tmp/A.log" && grep -q "dane_clientid $alice MATCH via=dns (judged again)" "$tmp/A.log"'
held gone 127.0.0.1 $a_tls "$TB_CERT_ALICE" "$TB_KEY_ALICE" "$alice" "$tmp/reg" "$tmp/again"
check "alice's _user TLSA withdrawn while her connection is open" alicetlsa
hup A
held_go gone
check "  ... her open connection's next request is no longer hers: 200, then 403 with the reason (NODATA)" \
	eval '[ "$(grep -m1 "^SIP/2.0" "$tmp/gone.out")" = "SIP/2.0 200 OK" ] && grep -A1 "^SIP/2.0 403" "$tmp/gone.out" | grep -q "^Reason: SIP;cause=403;text=\"client not authenticated: dane_clientid NODATA"'
check "  ... logged: judged again, NODATA, and the request refused by rule dane-clientid" \
	eval 'grep -q "dane_clientid $alice NODATA via=dns (judged again)" "$tmp/A.log" && grep -Eq "method=OPTIONS rule=dane-clientid verdict=REFUSE .*client not authenticated: dane_clientid NODATA" "$tmp/A.log"'
check "alice's _user TLSA restored" alicetlsa "$TB_SPKI_ALICE"
hup A
held rolled 127.0.0.1 $a_tls "$TB_CERT_ALICE" "$TB_KEY_ALICE" "$alice" "$tmp/reg" "$tmp/again"
check "alice's _user TLSA names another key (rolled) while her connection is open" alicetlsa "$TB_SPKI_WRONG"
hup A
held_go rolled
check "  ... her open connection (begun before): 200, then 403 with the reason (NOMATCH)" \
	eval '[ "$(grep -m1 "^SIP/2.0" "$tmp/rolled.out")" = "SIP/2.0 200 OK" ] && grep -A1 "^SIP/2.0 403" "$tmp/rolled.out" | grep -q "^Reason: SIP;cause=403;text=\"client not authenticated: dane_clientid NOMATCH" && grep -q "dane_clientid $alice NOMATCH via=dns (judged again)" "$tmp/A.log"'
check "alice's _user TLSA restored again" alicetlsa "$TB_SPKI_ALICE"
hup A
client back $a_tls "$TB_CERT_ALICE" "$TB_KEY_ALICE" "$alice" "$tmp/reg"
check "  ... a new connection of hers registers again (200)" grep -q "^SIP/2.0 200" "$tmp/back.out"

# 5. a peer proxy's DANCE identity (host ClientName sip.a.example, at B) is
# judged again the same way; once its TLSA no longer names the key, B's other
# inbound rule (a.example's server TLSA, which still does) decides
req "$tmp/p1" OPTIONS sip:bob@b.example sip:alice@a.example sip:bob@b.example
req "$tmp/p2" OPTIONS sip:bob@b.example sip:alice@a.example sip:bob@b.example
req "$tmp/p3" OPTIONS sip:bob@b.example sip:alice@a.example sip:bob@b.example
req "$tmp/p4" OPTIONS sip:bob@b.example sip:alice@a.example sip:bob@b.example
# hosttlsa SPKI - the TLSA at sip.a.example (the ClientName's) becomes 3 1 1 SPKI
hosttlsa() {
	$TB_KNOTC zone-begin a.example. >/dev/null && $TB_KNOTC zone-unset a.example. sip.a.example. TLSA >/dev/null &&
		$TB_KNOTC zone-set a.example. sip.a.example. "$TB_TTL" TLSA 3 1 1 "$1" >/dev/null &&
		$TB_KNOTC zone-commit a.example. >/dev/null
}
held peer 127.0.0.2 $b_tls "$TB_CERT_A" "$TB_KEY_A" sip.a.example "$tmp/p1" "$tmp/p2"
hup B
held_go peer
check "peer A's live connection (ClientName sip.a.example), after B's SIGHUP: judged again, MATCH, not refused" \
	eval 'grep -q "dane_clientid sip.a.example MATCH via=dns (judged again)" "$tmp/B.log" && [ "$(grep -c "^SIP/2.0" "$tmp/peer.out")" = 2 ] && ! grep -q "^SIP/2.0 403" "$tmp/peer.out"'
held peer2 127.0.0.2 $b_tls "$TB_CERT_A" "$TB_KEY_A" sip.a.example "$tmp/p3" "$tmp/p4"
check "sip.a.example's TLSA names another key while A's connection is open" hosttlsa "$TB_SPKI_WRONG"
hup B
mark=$(wc -l <"$tmp/B.log")
held_go peer2
check "  ... its ClientName judged again: NOMATCH, the domain then judged by its server TLSA rule, not dane-clientid" \
	eval 'grep -q "dane_clientid sip.a.example NOMATCH via=dns (judged again)" "$tmp/B.log" && tail -n +$((mark + 1)) "$tmp/B.log" | grep -E "auth: peer=127.0.0.1:[0-9]+ domain=a.example rule=" | grep -qv "rule=dane-clientid"'
hosttlsa "$TB_SPKI_A"

# 6. calls to alice over the flow of a DANCE registration: delivered only while her identity
# on that connection is current (judged again first when older than 30 s or the last
# SIGHUP); once her _user TLSA is withdrawn or names another key, her binding is removed
# and a caller gets 480 (430 inside a dialog with her), nothing reaching that connection.
# The connection sends nothing meanwhile: only the call can find her identity gone.
# called NAME TLSA-SPKI|- VERDICT - alice registers over a held connection that answers
# calls (busy), bob's call rings there; her _user TLSA withdrawn (-) or rolled, SIGHUP,
# bob's next call: 480, the binding removed with the verdict; her TLSA restored
called() {
	c=$1 v=$3
	export ANSWER=486
	held "$c" 127.0.0.1 $a_tls "$TB_CERT_ALICE" "$TB_KEY_ALICE" "$alice" "$tmp/reg" "$tmp/again"
	$SEND INVITE sip:alice@a.example sip:bob@a.example >"$tmp/$c-call.out" 2>&1
	check "alice registered over a held DANCE connection; bob calls: rings there, her busy comes back (486)" \
		eval 'grep -q "^SIP/2.0 486" "$tmp/$c-call.out" && [ "$(grep -c "^received INVITE sip:alice@" "$tmp/$c.out")" = 1 ]'
	unset ANSWER
	if [ "$2" = - ]; then alicetlsa; how=withdrawn; else alicetlsa "$2"; how="rolled to another key"; fi
	hup A
	mk=$(wc -l <"$tmp/A.log")
	$SEND INVITE sip:alice@a.example sip:bob@a.example >"$tmp/$c-lapsed.out" 2>&1
	tail -n +$((mk + 1)) "$tmp/A.log" >"$tmp/$c-lapsed.log"
	check "  ... her _user TLSA $how ($v), SIGHUP: bob's next call gets 480 with the reason" \
		grep -q '^Reason: SIP;cause=480;text="the DANCE identity the user registered with is no longer valid"' "$tmp/$c-lapsed.out"
	check "  ... nothing more reached her connection" eval '[ "$(grep -c "^received INVITE" "$tmp/$c.out")" = 1 ]'
	check "  ... her ClientName judged again for the call ($v), the binding removed with the verdict" \
		eval 'grep -q "dane_clientid $alice $v via=dns (judged again)" "$tmp/$c-lapsed.log" && grep -Eq "registrar: alice@a.example: binding <sip:alice@127.0.0.1:5999;transport=tls> removed: the DANCE identity it was registered with is no longer valid on its TLS connection: dane_clientid $v" "$tmp/$c-lapsed.log"'
	held_go "$c"
	check "  ... her TLSA restored" alicetlsa "$TB_SPKI_ALICE"
	hup A
}
SEND="python3 $srcdir/tests/kamailio-sip.py udp 127.0.0.1 $a_sip"
called callgone - NODATA
called callrolled "$TB_SPKI_WRONG" NOMATCH
# in a dialog: alice answers bob's call (200) over her held connection, then her _user TLSA
# goes: bob's BYE, whose Route carries her flow's token, gets 430, and nothing reaches her
export ANSWER=200
held dialog 127.0.0.1 $a_tls "$TB_CERT_ALICE" "$TB_KEY_ALICE" "$alice" "$tmp/reg" "$tmp/again"
unset ANSWER
python3 - "$srcdir/tests/kamailio-sip.py" $a_sip "$tmp/dialog.bye" >"$tmp/dialog-call.out" 2>&1 <<'PY' &
import importlib.util, os, sys, time
spec = importlib.util.spec_from_file_location("kamsip", sys.argv[1])
k = importlib.util.module_from_spec(spec)
spec.loader.exec_module(k)
ua = k.Client(k.Conn("udp", "127.0.0.1", int(sys.argv[2])), "sip:bob@a.example")
print((ua.request("INVITE", "sip:alice@a.example") or "no response").splitlines()[0], flush=True)
ua.ack()
while not os.path.exists(sys.argv[3]):
    time.sleep(0.05)
sys.stdout.write(ua.in_dialog("BYE") or "no response\n")
PY
dpid=$!
check "alice answers bob's call over her held connection (200), his ACK reaches her there" \
	eval '"$wait_for" "$tmp/dialog-call.out" "^SIP/2.0 200" 10 && "$wait_for" "$tmp/dialog.out" "^received ACK" 10'
alicetlsa
hup A
touch "$tmp/dialog.bye"
wait $dpid
check "  ... her _user TLSA withdrawn, SIGHUP: bob's BYE in that dialog gets 430 with the reason, nothing reaches her" \
	eval 'grep -q "^Reason: SIP;cause=430;text=\"the DANCE identity the user in this dialog registered with is no longer valid" "$tmp/dialog-call.out" && ! grep -q "^received BYE" "$tmp/dialog.out"'
held_go dialog
check "  ... her TLSA restored" alicetlsa "$TB_SPKI_ALICE"
hup A

# 7. the judging of a flow's identity attacked, alice's name silent at the DNS
# while it runs (tests/dns-filter.py in front of H's resolver, silent while
# $tmp/silent exists; H's lookups time out after 2 s): a. her connection
# closes while a call waits for it; b. her own request races the call's
# judging; c. SIGHUPs keep coming while the call waits. Each time one lookup,
# every waiting request answered once, by its verdict, and H goes on.
h_sip=$((base + 40)) h_tls=$((base + 41)) fport=$((base + 42))
python3 "$srcdir/tests/dns-filter.py" 127.0.0.1 $fport "${TB_RESOLVER%@*}" "${TB_RESOLVER#*@}" _user.a.example \
	"$tmp/filter.count" "$tmp/silent" >"$tmp/filter.out" 2>&1 &
pids="$pids $!"
"$wait_for" "$tmp/filter.out" listening || bad "the DNS filter listens"
start_proxy H --domain a.example --listen "sip:127.0.0.1:$h_sip;transport=udp" \
	--listen "sips:127.0.0.1:$h_tls;transport=tls" --cert "$TB_CERT_A" --key "$TB_KEY_A" \
	--trusted 127.0.0.1/32 --resolver "127.0.0.1@$fport" --trust-anchor "$TB_ANCHOR" \
	--dns-timeout $((2000 * vg_slow)) --log-level debug || exit 1
HSEND="python3 $srcdir/tests/kamailio-sip.py udp 127.0.0.1 $h_sip"
judged="dane_clientid $alice judged again"
# waiting NAME - alice registers over held connection NAME at H (DNS answering, the failures it
# cached flushed), her name goes silent, SIGHUP; bob's call starts ($tmp/NAME-call.out) and
# waits for the judging it began
waiting() {
	rm -f "$tmp/silent"
	hup H
	export ANSWER=486
	held "$1" 127.0.0.1 $h_tls "$TB_CERT_ALICE" "$TB_KEY_ALICE" "$alice" "$tmp/reg" "$tmp/again"
	unset ANSWER
	touch "$tmp/silent"
	hup H
	nj=$(grep -c "$judged" "$tmp/H.log")
	$HSEND INVITE sip:alice@a.example sip:bob@a.example >"$tmp/$1-call.out" 2>&1 &
	callpid=$!
	"$wait_for" -n $((nj + 1)) "$tmp/H.log" "$judged" 10 || bad "bob's call to alice at H began her judging"
}
waiting closing
kill "$closing_cpid"
wait "$closing_cpid" 2>/dev/null
wait $callpid
check "a. her connection closed while bob's call waits for her judging: 480 once it ends, one lookup" \
	eval 'grep -q "^SIP/2.0 480" "$tmp/closing-call.out" && [ "$(grep -c "$judged" "$tmp/H.log")" = $((nj + 1)) ] && kill -0 $H_pid'
waiting racing
held_go racing
wait $callpid
check "b. her own request racing bob's call's judging: both wait for the one lookup, judged by its verdict (403, 480)" \
	eval 'grep -q "^Reason: SIP;cause=403;text=\"client not authenticated: dane_clientid INDETERMINATE" "$tmp/racing.out" && grep -q "^Reason: SIP;cause=480;text=\"the DANCE identity the user registered with is no longer valid" "$tmp/racing-call.out" && [ "$(grep -c "$judged" "$tmp/H.log")" = $((nj + 1)) ] && [ "$(grep -c "^received INVITE" "$tmp/racing.out")" = 0 ]'
waiting storm
hup H
hup H
hup H
wait $callpid
check "c. three SIGHUPs while bob's call waits: still one lookup, the call answered once (480), never sent to her" \
	eval 'grep -q "^SIP/2.0 480" "$tmp/storm-call.out" && [ "$(grep -c "$judged" "$tmp/H.log")" = $((nj + 1)) ] && [ "$(grep -c "^received INVITE" "$tmp/storm.out")" = 0 ]'
held_go storm
waiting flood
python3 - "$srcdir/tests/kamailio-sip.py" $h_sip 16 >"$tmp/flood-calls.out" 2>&1 <<'PY'
import importlib.util, socket, sys, time
spec = importlib.util.spec_from_file_location("kamsip", sys.argv[1])
k = importlib.util.module_from_spec(spec)
spec.loader.exec_module(k)
c = k.Conn("udp", "127.0.0.1", int(sys.argv[2]))
calls = {}
for i in range(int(sys.argv[3])):  # one socket, sent at once: all while the judging runs
    ua = k.Client(c, "sip:bob@a.example")
    calls[ua.callid] = None
    c.send(ua.build("INVITE", "sip:alice@a.example", cseq=1))
end = time.time() + k.WAIT * 2
while None in calls.values() and time.time() < end:
    try:
        m = c.recv().decode(errors="replace")
    except OSError:
        continue
    code, cid = m.split(" ", 2)[1], k.header(m, "Call-ID")
    if not code.startswith("1") and calls.get(cid, 0) is None:
        calls[cid] = code + " " + (k.header(m, "Reason") or "")
print("\n".join(str(v) for v in calls.values()))
PY
wait $callpid
check "d. 16 more calls while bob's first waits for her judging: 15 wait with it, one gets 503 at once" \
	eval '[ "$(grep -c "^503 SIP;cause=503;text=\"16 requests already wait for the ClientName.s verdict on the user.s TLS connection" "$tmp/flood-calls.out")" = 1 ] && [ "$(grep -c "$judged" "$tmp/H.log")" = $((nj + 1)) ]'
check "  ... every call that waited gets the judging's answer, 480 (not 404 for those woken after the first removed her binding)" \
	eval '[ "$(grep -c "^480 SIP;cause=480;text=\"the DANCE identity the user registered with is no longer valid" "$tmp/flood-calls.out")" = 15 ] && grep -q "^SIP/2.0 480" "$tmp/flood-call.out"'
held_go flood
rm -f "$tmp/silent"
hup H
export ANSWER=486
held after 127.0.0.1 $h_tls "$TB_CERT_ALICE" "$TB_KEY_ALICE" "$alice" "$tmp/reg" "$tmp/again"
unset ANSWER
$HSEND INVITE sip:alice@a.example sip:bob@a.example >"$tmp/after-call.out" 2>&1
check "  ... her name answering again: a new connection of hers registers and bob's call rings there (486)" \
	eval 'grep -q "^SIP/2.0 486" "$tmp/after-call.out" && [ "$(grep -c "^received INVITE" "$tmp/after.out")" = 1 ]'
held_go after
finish
