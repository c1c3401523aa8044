#!/bin/bash
# webrtc-ua.sh - a browser calls the project's own media endpoint, in a network namespace with only
# loopback: alice's web phone (headless Chromium, JsSIP) on the WebRTC edge of c.example (Kamailio +
# websocket + sipdance.so) calls ua@a.example; c's edge locates a.example through DNSSEC/DANE and
# relays over TLS to sipdance-proxy (a.example, which authenticates c's edge by DANE), which hands the
# call to examples/sipdance-ua --ice-lite. Chromium's full ICE against the ICE-lite answer, DTLS-SRTP
# (Chromium offers DTLS 1.3 and 1.2), SRTP both ways, rtcp-mux, BUNDLE of one audio m-line; the UA
# authenticates Chromium's certificate against the offer's fingerprint and counts the packets.
# Then the other way (2b): sipdance-ua calls alice through sipdance-proxy and c's edge; the UA offers full
# ICE (it controls) and is the DTLS server, so Chromium's DTLS 1.3-capable ClientHello meets OpenSSL.
# sipdance-proxy trusts the calling UA's address (--trusted 127.0.0.5/32: a PBX-side endpoint), and
# nothing else: c's edge is judged as c.example by DANE whatever loopback address it connects from.
. "${srcdir:-.}/tests/webrtc-lib.sh"
proxy=$("$top/tests/valgrind.sh" "$build/sipdance-proxy") ua=$("$top/tests/valgrind.sh" "$build/examples/sipdance-ua")
for b in "$proxy" "$ua"; do [ -x "$b" ] || { bad "no $b"; finish; exit 1; }; done
start_common
edge_start c c.example 127.0.0.3 "$TB_CERT_C" "$TB_KEY_C" || { finish; exit 1; }
"$proxy" --domain a.example --listen "sip:127.0.0.1:5060;transport=udp" \
	--listen "sips:127.0.0.1:5061;transport=tls" --cert "$TB_CERT_A" --key "$TB_KEY_A" \
	--trust-anchor "$TB_ANCHOR" --resolver "$TB_RESOLVER" --handshake-timeout $((2000 * vg_slow)) --accept-timeout $((10000 * vg_slow)) \
	--location "ua@a.example=sip:ua@127.0.0.1:5070" --trusted 127.0.0.5/32 --log-level info >"$tmp/px.log" 2>&1 &
pids="$pids $!"
"$ua" --aor sip:ua@a.example --listen sip:127.0.0.1:5070 --answer --ice-lite --duration 20 --expect 50 \
	>"$tmp/ua.log" 2>&1 &
ua_pid=$!
pids="$pids $ua_pid"
"$top/tests/wait-for.sh" "$tmp/px.log" serving && "$top/tests/wait-for.sh" "$tmp/ua.log" "waiting for a call" ||
	bad "sipdance-proxy and sipdance-ua started" "$tmp/px.log"

echo "# 2. alice (browser, c.example) calls sipdance-ua (a.example) across the DANE-authenticated hop"
WR_TARGET=ua@a.example WR_UA_LOG="$tmp/ua.log" drive ua
for _ in $(seq $((50 * vg_slow))); do kill -0 "$ua_pid" 2>/dev/null || break; sleep 0.1; done
wait "$ua_pid" 2>/dev/null
rc=$?
grep -q "^ua: media secure: SRTP_[A-Z0-9_]*, fingerprint MATCH" "$tmp/ua.log" &&
	ok "sipdance-ua: $(grep '^ua: media secure' "$tmp/ua.log" | sed 's/^ua: //')" ||
	bad "sipdance-ua did not authenticate Chromium's DTLS certificate" "$tmp/ua.log"
[ "$rc" = 0 ] && ok "sipdance-ua: $(grep '^ua: packets' "$tmp/ua.log" | sed 's/^ua: //') (exit 0)" ||
	bad "sipdance-ua exit status $rc (too few packets from Chromium, or media failed)" "$tmp/ua.log"
grep -q "domain=c.example rule=secure-tlsa verdict=MATCH" "$tmp/px.log" &&
	ok "sipdance-proxy authenticated c's edge as c.example through DANE" ||
	bad "no DANE MATCH for c.example in sipdance-proxy's log" "$tmp/px.log"

echo "# 2b. sipdance-ua (a.example) calls alice's browser: the UA controls ICE and is the DTLS server"
export WR_UA_LOG="$tmp/ua2.log"
export WR_UA_CMD="exec '$ua' --aor sip:ua@a.example --listen sip:127.0.0.5:5072 --proxy sip:127.0.0.1:5060 \
	--call sip:alice@c.example --duration 3 --expect 50"
drive uacall
grep -q "^ua: media secure: SRTP_[A-Z0-9_]*, fingerprint MATCH" "$tmp/ua2.log" &&
	ok "sipdance-ua: $(grep '^ua: media secure' "$tmp/ua2.log" | sed 's/^ua: //')" ||
	bad "sipdance-ua did not authenticate Chromium's DTLS certificate" "$tmp/ua2.log"
grep -q "peer a.example authenticated: MATCH" "$tmp/kam-c.log" &&
	ok "c's edge authenticated sipdance-proxy as a.example through DANE" ||
	bad "no DANE MATCH for a.example in c's edge log" "$tmp/kam-c.log"
finish
