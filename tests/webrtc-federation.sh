#!/bin/bash
# webrtc-federation.sh - browsers across a DANE-authenticated domain boundary, in a network namespace
# with only loopback: two WebRTC edges (Kamailio + websocket + sipdance.so) serve c.example
# (127.0.0.3) and b.example (127.0.0.2) and federate over TLS, each authenticating the other through
# the Knot testbed's TLSA records. Headless Chromium runs the web phone (JsSIP) for alice@c.example
# and bob@b.example (tests/webrtc-drive.cjs prints the checks):
#   1. alice calls bob: bob rings, DTLS connects, audio both ways, the SDP of offer and answer
#      arrive byte-identical, each browser verified the fingerprint that crossed both edges;
#   3. b's edge rewrites one digit of a=fingerprint: Chromium refuses DTLS, the page hangs up (BYE
#      with Reason 488);
#   4. the DANE check between the domains fails, two ways: c's TLSA publishes the wrong key, and
#      c's edge presents the wrong certificate (TB_CERT_WRONG): b's edge refuses the request (403 with
#      the DANE reason) and bob's phone never rings.
# (2, the browser against sipdance-ua, is tests/webrtc-ua.sh.)
. "${srcdir:-.}/tests/webrtc-lib.sh"
start_common
edge_start c c.example 127.0.0.3 "$TB_CERT_C" "$TB_KEY_C" || { finish; exit 1; }
edge_start b b.example 127.0.0.2 "$TB_CERT_B" "$TB_KEY_B" || { finish; exit 1; }

echo "# 1. alice (c.example) calls bob (b.example) across the DANE-authenticated TLS hop"
drive call
grep -q "peer c.example authenticated: MATCH" "$tmp/kam-b.log" &&
	ok "b's edge authenticated c's edge through DANE (sipdance_verify_peer MATCH)" ||
	bad "no DANE MATCH for c.example in b's edge log" "$tmp/kam-b.log"

echo "# 3. b's edge rewrites one digit of a=fingerprint"
edge_stop b
edge_start b b.example 127.0.0.2 "$TB_CERT_B" "$TB_KEY_B" -A FP_TAMPER || { finish; exit 1; }
drive tamper
edge_stop b

echo "# 4. c's TLSA publishes the wrong key: the DANE check between the domains fails"
n=_5061._tcp.sip.c.example.
{ $TB_KNOTC zone-begin c.example. && $TB_KNOTC zone-unset c.example. sip.c.example. TLSA &&
	$TB_KNOTC zone-unset c.example. $n TLSA &&
	$TB_KNOTC zone-set c.example. sip.c.example. "$TB_TTL" TLSA 3 1 1 "$TB_SPKI_WRONG" &&
	$TB_KNOTC zone-set c.example. $n "$TB_TTL" TLSA 3 1 1 "$TB_SPKI_WRONG" &&
	$TB_KNOTC zone-commit c.example.; } >"$tmp/knotc.log" 2>&1 || bad "changing c.example's TLSA" "$tmp/knotc.log"
edge_start b b.example 127.0.0.2 "$TB_CERT_B" "$TB_KEY_B" || { finish; exit 1; }
drive refused
grep -q "peer for c.example refused: NOMATCH" "$tmp/kam-b.log" &&
	ok "b's edge logged the refusal (NOMATCH for c.example)" ||
	bad "no NOMATCH refusal for c.example in b's edge log" "$tmp/kam-b.log"

echo "# 4b. c's TLSA is right again, but c's edge presents the wrong certificate"
$TB_KNOTC -b zone-reload c.example. >"$tmp/knotc.log" 2>&1 || bad "restoring c.example" "$tmp/knotc.log"
edge_stop b
edge_stop c
edge_start c c.example 127.0.0.3 "$TB_CERT_WRONG" "$TB_KEY_WRONG" || { finish; exit 1; }
edge_start b b.example 127.0.0.2 "$TB_CERT_B" "$TB_KEY_B" || { finish; exit 1; }
drive refused
[ "$(grep -c "peer for c.example refused: NOMATCH" "$tmp/kam-b.log")" -ge 1 ] &&
	ok "b's edge logged the refusal of c's wrong certificate (NOMATCH)" ||
	bad "no NOMATCH refusal for c's wrong certificate in b's edge log" "$tmp/kam-b.log"
finish
