#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# proxy-federation.sh - two sipdance-proxies federating over DANE on the Knot
# testbed: SIPp alice -> proxy a.example -> TLS+DANE -> proxy b.example -> SIPp
# bob. The call completes with SDP and Identity byte-identical; refusals are
# fast and explained (bogus zone, TLSA that no longer matches B's key, no
# usable target); a connection authenticated for b.example is never used for
# another domain at the same address; a foreign From on an unauthenticated
# connection gets 403; SIGHUP flushes the DNS cache. SIPp on 127.0.0.1
# stands for a.example's PBX (A --trusted 127.0.0.1/32); B trusts nobody.
. "${srcdir:-.}/tests/proxy-lib.sh"
federation_testbed
a_metrics=$((base + 60))
start_proxy A --domain a.example --listen "sip:127.0.0.1:$a_sip;transport=udp" \
	--listen "sips:127.0.0.1:$a_tls;transport=tls" --cert "$TB_CERT_A" --key "$TB_KEY_A" \
	--ca-file "$TB_PKIX_CA" --trusted 127.0.0.1/32 $dns --log-level debug --metrics "$a_metrics" || exit 1
start_proxy B --domain b.example --listen "sip:127.0.0.2:$b_sip;transport=udp" \
	--listen "sips:127.0.0.2:$b_tls;transport=tls" --cert "$TB_CERT_B" --key "$TB_KEY_B" \
	--location "bob@b.example=sip:bob@127.0.0.2:$uas_p" $dns --log-level debug || exit 1

# 1. the call; bob's phone asserts identities in its 180 and 200 (RFC 3325 headers nothing authenticated)
awk '/^\[last_Record-Route:\]/ { print; print "P-Asserted-Identity: <sip:ceo@a.example>, <sip:bob@b.example>";
	next } { print }' "$srcdir/tests/sip-uas.xml" >"$tmp/uas-pai.xml"
sipp_bg uas -sf "$tmp/uas-pai.xml" -i 127.0.0.2 -p $uas_p -mp $uas_m -cp $uas_c
sipp_run uac 127.0.0.1:$a_sip -sf "$srcdir/tests/sip-uac.xml" -i 127.0.0.1 -p $uac_p -mp $uac_m \
	-cp $uac_c -s bob -key rdomain b.example
rc=$?
wait "$uas_pid" 2>/dev/null
if [ $rc -eq 0 ] && grep -q "^ACK " "$tmp/uas.msg" && grep -q "^BYE " "$tmp/uas.msg"; then
	ok "call alice@a.example -> bob@b.example over TLS+DANE completed (INVITE, 200, ACK, BYE)"
else
	bad "call completed (sipp rc $rc)" "$(tail -n 5 "$tmp/uac.out"; tail -n 20 "$tmp/A.log"; tail -n 20 "$tmp/B.log")"
fi
# once the call is over A holds none of its client transactions: the INVITE and the BYE over TLS ended with
# their answers, and the ACK it relayed is not kept for Timer F, 32 s (sip/sofia-sip/nta-proxy-linger.patch)
python3 "$srcdir/tests/http-get.py" 127.0.0.1 "$a_metrics" --timeout $((10 * vg_slow)) >"$tmp/metrics" 2>&1
check "after the call A holds no client transaction (the ACK it relayed is not kept 32 s)" \
	grep -q '^sipdance_sip_transactions{side="client"} 0$' "$tmp/metrics"
msg "$tmp/uac.msg" sent '^INVITE' >"$tmp/inv.sent"
msg "$tmp/uas.msg" received '^INVITE' >"$tmp/inv.recv"
body <"$tmp/inv.sent" >"$tmp/sdp.sent"
body <"$tmp/inv.recv" >"$tmp/sdp.recv"
if [ -s "$tmp/sdp.sent" ] && cmp -s "$tmp/sdp.sent" "$tmp/sdp.recv" &&
	grep -q '^a=fingerprint:sha-256 4A:AD' "$tmp/sdp.recv" && grep -q '^a=tls-id:' "$tmp/sdp.recv"; then
	ok "offer SDP (a=fingerprint, a=setup, a=tls-id, a=crypto) arrived byte-identical"
else
	bad "offer SDP byte-identical" "$(diff "$tmp/sdp.sent" "$tmp/sdp.recv" | head)"
fi
header Identity <"$tmp/inv.sent" >"$tmp/id.sent"
header Identity <"$tmp/inv.recv" >"$tmp/id.recv"
check "Identity header arrived byte-identical" eval '[ -s "$tmp/id.sent" ] && cmp -s "$tmp/id.sent" "$tmp/id.recv"'
msg "$tmp/uas.msg" sent '^SIP/2.0 200' | body >"$tmp/ans.sent"
msg "$tmp/uac.msg" received '^SIP/2.0 200' | body >"$tmp/ans.recv"
check "answer SDP arrived back byte-identical" eval '[ -s "$tmp/ans.sent" ] && cmp -s "$tmp/ans.sent" "$tmp/ans.recv"'
check "the identities bob's phone asserted (a.example's ceo, bob himself) reached no one: B vouches for none (RFC 3325)" \
	eval '! grep -qi "^P-Asserted-Identity:" "$tmp/uac.msg" && grep -q "200 response: P-Asserted-Identity <sip:ceo@a.example>, <sip:bob@b.example> removed" "$tmp/B.log"'
check "A authenticated B by DANE inside the handshake (log line)" \
	grep -Eq "auth: peer=127.0.0.2:$b_tls domain=b.example rule=secure-tlsa verdict=MATCH" "$tmp/A.log"
check "B authenticated A's client chain for From a.example (log line)" \
	grep -Eq 'auth: peer=127.0.0.1:[0-9]+ domain=a.example rule=secure-tlsa verdict=MATCH' "$tmp/B.log"
check "B saw Record-Route of both proxies (with dialog tokens) and Max-Forwards 68" \
	eval 'grep -q "^Record-Route: <sip:b.example;lr;dt=" "$tmp/inv.recv" && grep -q "^Record-Route: <sip:a.example;lr;dt=" "$tmp/inv.recv" && grep -q "^Max-Forwards: 68" "$tmp/inv.recv"'
n1=$(grep -c "new TLS connection to 127.0.0.2:$b_tls for b.example" "$tmp/A.log")

# one request, its status and Reason: opt NAME PROXYADDR RDOMAIN FROMDOMAIN
opt() {
	t0=$(date +%s%N)
	sipp_run "$1" "$2" -sf "$srcdir/tests/sip-options.xml" -i 127.0.0.1 -p $opt_p -mp $opt_m -cp $opt_c \
		-s bob -key rdomain "$3" -key fromdomain "$4"
	ms=$(elapsed_ms "$t0")
	st=$(status "$tmp/$1.msg")
	reason=$(msg "$tmp/$1.msg" received '^SIP/2.0 [2-6]' | header Reason)
}

# nta takes a response for a branch by its Via branch, Call-ID, CSeq and tags, whatever delivered it:
# bob's phone, to which B's INVITE shows all of them, answers A itself over UDP, asserting another user
# of b.example (reviewer's finding: A kept it as vouched for by B, and alice was shown ceo@b.example)
cat >"$tmp/around-b.py" <<'EOF'
import random, re, socket, sys
a_sip, uac, bob_p, slow = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
def sock(ip, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind((ip, port)); s.settimeout(10 * slow); return s
bob, alice = sock("127.0.0.2", bob_p), sock("127.0.0.1", uac)
alice.sendto(("INVITE sip:bob@b.example SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bK%x;rport\r\n"
              "From: <sip:alice@a.example>;tag=around\r\nTo: <sip:bob@b.example>\r\nCall-ID: %x@around\r\n"
              "CSeq: 1 INVITE\r\nMax-Forwards: 70\r\nContact: <sip:alice@127.0.0.1:%d>\r\nContent-Length: 0\r\n\r\n" %
              (uac, random.getrandbits(40), random.getrandbits(48), uac)).encode(), ("127.0.0.1", a_sip))
req = ""
while not req.startswith("INVITE"):
    req, b = bob.recvfrom(65535); req = req.decode()
hdrs = req.split("\r\n\r\n")[0].split("\r\n")[1:]
keep = [h for h in hdrs if h.split(":")[0].lower() in ("from", "call-id", "cseq", "record-route")]
vias = [h for h in hdrs if h.split(":")[0].lower() == "via"][1:]  # B's own Via left out: A's on top
to = [h + ";tag=bob" for h in hdrs if h.split(":")[0].lower() == "to"]
bob.sendto(("SIP/2.0 200 OK\r\n%s\r\nP-Asserted-Identity: <sip:ceo@b.example>\r\nContact: <sip:bob@127.0.0.2:%d>\r\n"
            "Content-Length: 0\r\n\r\n" % ("\r\n".join(vias + keep + to), bob_p)).encode(), ("127.0.0.1", a_sip))
r = ""
while not r.startswith("SIP/2.0 200"):
    r = alice.recv(65535).decode()
print("asserted" if re.search(r"^P-Asserted-Identity:", r, re.M | re.I) else "none")
# then B's own transaction ends (busy), so that it sends nothing more to the phone's port
bob.sendto(("SIP/2.0 486 Busy Here\r\n%s\r\nContent-Length: 0\r\n\r\n" %
            "\r\n".join([h for h in hdrs if h.split(":")[0].lower() == "via"] + keep + to)).encode(), b)
EOF
python3 "$tmp/around-b.py" $a_sip $uac_p $uas_p "$vg_slow" >"$tmp/around-b.out" 2>&1
check "bob's phone answers A directly over UDP as ceo@b.example: the 200 reaches alice without it (B vouched for nothing)" \
	eval 'grep -qx none "$tmp/around-b.out" && grep -q "200 response: P-Asserted-Identity <sip:ceo@b.example> removed" "$tmp/A.log"'

# 2. the connection is reused for b.example, never for another domain at the same address
opt reuse 127.0.0.1:$a_sip b.example a.example
n2=$(grep -c "new TLS connection to 127.0.0.2:$b_tls for b.example" "$tmp/A.log")
nb=$(grep -c 'OPTIONS sip:bob@b.example from 127.0.0.1:[0-9]* over TLS' "$tmp/B.log")
check "a second request to b.example rides the authenticated connection (no new handshake)" \
	eval '[ "$n1" = 1 ] && [ "$n2" = 1 ] && [ "$nb" = 1 ]'
opt other 127.0.0.1:$a_sip nodane.example a.example
if grep -q "new TLS connection to 127.0.0.2:$b_tls for nodane.example" "$tmp/A.log" && [ "$st" = 502 ]; then
	ok "nodane.example at the same address got a fresh handshake, refused by PKIX ($st in ${ms} ms)"
else
	bad "fresh handshake for another domain at the same address (status $st)" "$reason"
fi

# 3. bogus zone: refused before any connection, with the cause named
opt bogus 127.0.0.1:$a_sip badsig.example a.example
case $reason in
*'cause=502'*'bogus'*) ok "badsig.example (bogus TLSA) refused: $st in ${ms} ms, Reason names bogus" ;;
*) bad "badsig.example refused as bogus (status $st)" "$reason" ;;
esac
opt expired 127.0.0.1:$a_sip expired.example a.example
check "expired.example (expired RRSIGs) refused as bogus ($st in ${ms} ms)" \
	eval 'case "$reason" in *bogus*) true ;; *) false ;; esac'
check "every refusal came well before SIP timer F (no 408)" \
	eval '! grep -q "SIP/2.0 408" "$tmp"/other.msg "$tmp"/bogus.msg "$tmp"/expired.msg'

# 3b. nothing listens at c.example's TLS target: a fast answer, not timer F's 408
opt down 127.0.0.1:$a_sip c.example a.example
case "$st $reason" in
'503 '*'no usable target'*) ok "c.example with no server listening: 503 in ${ms} ms with a Reason (no 408)" ;;
*) bad "c.example with no server answered 5xx (status $st in ${ms} ms)" "$reason" ;;
esac

# 3c. a From with no domain gets no free pass at the receiving proxy either: A (trusting its PBX)
# routes it, B (authenticated A as a.example, but From claims no domain) challenges it
opt nodomain 127.0.0.1:$a_sip b.example 127.0.0.1
check "From with no domain (IP literal), through A to B: 407 from B, nothing routed to bob" \
	eval '[ "$st" = 407 ] && grep -q "user=? method=OPTIONS rule=digest verdict=CHALLENGE" "$tmp/B.log"'

# 4. forged From: a.example claimed over plain UDP to B
opt forged 127.0.0.2:$b_sip b.example a.example
case "$st $reason" in
'403 '*'forged domain'*) ok "From a.example over UDP to B: 403 with Reason" ;;
*) bad "forged From over UDP refused with 403 (status $st)" "$reason" ;;
esac
printf 'OPTIONS sip:bob@b.example SIP/2.0\r\nVia: SIP/2.0/TLS 127.0.0.1:1;branch=z9hG4bK-nocert\r\nFrom: <sip:alice@a.example>;tag=1\r\nTo: <sip:bob@b.example>\r\nCall-ID: nocert@test\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n' >"$tmp/nocert.req"
tls_req 127.0.0.2:$b_tls "$tmp/nocert.req" "$tmp/nocert.out" -servername b.example
check "From a.example over TLS without a client certificate: 403" grep -q '^SIP/2.0 403' "$tmp/nocert.out"
sed 's/nocert/wrongcert/' "$tmp/nocert.req" >"$tmp/wrong.req"
tls_req 127.0.0.2:$b_tls "$tmp/wrong.req" "$tmp/wrong.out" -servername b.example -cert "$TB_CERT_WRONG" \
	-key "$TB_KEY_WRONG"
check "From a.example over TLS with a certificate not in a.example's TLSA: 403" \
	grep -q '^SIP/2.0 403' "$tmp/wrong.out"
sed 's/nocert/goodcert/' "$tmp/nocert.req" >"$tmp/good.req"
tls_req 127.0.0.2:$b_tls "$tmp/good.req" "$tmp/good.out" -servername b.example -cert "$TB_CERT_A" -key "$TB_KEY_A"
check "From a.example over TLS with a.example's certificate: accepted (not 403)" \
	eval 'grep -q "^SIP/2.0 [1-5]" "$tmp/good.out" && ! grep -q "^SIP/2.0 403" "$tmp/good.out"'

# 5. B's key no longer matches its TLSA: refused inside the handshake, fast, explained
stop_proxy B
start_proxy B2 --domain b.example --listen "sip:127.0.0.2:$b_sip;transport=udp" \
	--listen "sips:127.0.0.2:$b_tls;transport=tls" --cert "$TB_CERT_WRONG" --key "$TB_KEY_WRONG" \
	--location "bob@b.example=sip:bob@127.0.0.2:$uas_p" $dns --log-level debug || exit 1
opt mismatch 127.0.0.1:$a_sip b.example a.example
case "$st $reason" in
'502 '*'mismatch'*) ok "B with a key its TLSA does not name: 502 in ${ms} ms, Reason names mismatch" ;;
*) bad "TLSA mismatch refused with 502 (status $st)" "$reason" ;;
esac
check "the refusal is logged as one authentication decision" \
	grep -Eq "auth: peer=127.0.0.2:$b_tls domain=b.example rule=secure-tlsa verdict=NOMATCH" "$tmp/A.log"
check "B never received the request over the refused connection" \
	eval '! grep -q "OPTIONS sip:bob" "$tmp/B2.log"'

# 6. SIGHUP: certificates reloaded, DNS/TLSA cache flushed
hup A
check "SIGHUP reloads certificates and flushes the DNS/TLSA cache" \
	eval 'grep -q "reload: certificates reloaded" "$tmp/A.log" && grep -q "cache flushed" "$tmp/A.log"'

# 7. SIGTERM drains and exits
stop_proxy A
check "SIGTERM: proxy A drained and exited" grep -q 'drained, exiting' "$tmp/A.log"
finish
