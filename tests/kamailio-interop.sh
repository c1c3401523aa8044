#!/bin/sh
# kamailio-interop.sh - the two-proxy federation: sipdance-proxy serves a.example (127.0.0.1),
# Kamailio with sipdance.so serves b.example (127.0.0.2), DNSSEC/DANE from the Knot testbed.
# Calls both ways (SIPp over UDP into each proxy, TLS between the proxies): each side authenticates
# the other through its TLSA; the SDP (a=fingerprint, a=setup) and the Identity header arrive byte
# for byte as sent. Kamailio presenting the wrong certificate is refused by sipdance-proxy, and
# sipdance-proxy's certificate is what Kamailio authenticates (a wrong one gets 403 + Reason).
# Each edge authenticates its own users by Digest before it vouches for them: alice at
# sipdance-proxy (--users; MD5 offered first, SIPp computes no SHA-256), bob at Kamailio (auth_db).
. "${srcdir:-.}/tests/kamailio-lib.sh"
need_env
proxy=$("${srcdir:-.}/tests/valgrind.sh" "${top_builddir:-.}/sipdance-proxy")
[ -x "$proxy" ] || { echo "FAIL - no sipdance-proxy binary at $proxy"; exit 1; }
command -v sipp >/dev/null || { echo "FAIL - sipp not installed (apt-get install sip-tester)"; exit 1; }
export TB_A_SIP_PORT=$((base + 6))
uac=$((base + 7)) uas_b=$((base + 8)) uas_a=$((base + 9))
tb_start

# px_start CERT KEY - sipdance-proxy for a.example: UDP for its users (alice answers a Digest
# challenge), TLS for the federation (Kamailio is judged as b.example by DANE)
pw_alice=$(openssl rand -hex 8)
echo "$pw_alice" | "${top_builddir:-.}/sipdance" user-digest alice a.example >"$tmp/px-users"
chmod 600 "$tmp/px-users"
px_start() {
	"$proxy" --domain a.example --listen "sip:127.0.0.1:$TB_A_SIP_PORT;transport=udp" \
		--listen "sips:127.0.0.1:$TB_A_TLS_PORT;transport=tls" --cert "$1" --key "$2" \
		--trust-anchor "$TB_ANCHOR" --resolver "$TB_RESOLVER" --handshake-timeout $((2000 * vg_slow)) --accept-timeout $((10000 * vg_slow)) \
		--location "alice@a.example=sip:alice@127.0.0.1:$uas_a" --users "$tmp/px-users" \
		--digest-algorithms MD5,SHA-256 \
		--log-level info >"$tmp/px.log" 2>&1 &
	px_pid=$!
	other_pids="$other_pids $px_pid"
	for _ in $(seq $((50 * vg_slow))); do
		grep -q serving "$tmp/px.log" && return 0
		kill -0 "$px_pid" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

# px_stop - stop sipdance-proxy: SIGTERM, SIGKILL after 5 s (times vg_slow)
px_stop() { reap -t 5 "$px_pid"; }

# call NAME UAS_PORT TARGET_ADDR TARGET_PORT RDOMAIN SERVICE FROMUSER FDOMAIN [PASSWORD] - one SIPp call through
# both proxies (the UAC answers a Digest challenge with FROMUSER and PASSWORD)
call() {
	name=$1
	rm -f "$tmp"/*.msg
	(cd "$tmp" && exec timeout $((40 * vg_slow)) sipp -sf "$top/tests/kamailio-uas.xml" -i 127.0.0.1 -p "$2" \
		-mp $((base + 20)) -cp $((base + 10)) -m 1 -timeout $((20 * vg_slow)) -nostdin -trace_msg \
		-message_file "$tmp/uas-$name.msg" >"$tmp/uas-$name.out" 2>&1) &
	uas=$!
	"$top/tests/wait-for.sh" -u "127.0.0.1:$2"
	(cd "$tmp" && timeout $((40 * vg_slow)) sipp "$3:$4" -sf "$top/tests/kamailio-uac.xml" -s "$6" -i 127.0.0.5 \
		-p "$uac" -mp $((base + 14)) -cp $((base + 11)) -key rdomain "$5" -key fromuser "$7" -key fdomain "$8" \
		-key extrahdr "Identity: $identity" -au "$7" -ap "${9:-none}" -d $((300 * vg_slow)) -m 1 \
		-timeout $((20 * vg_slow)) -recv_timeout $((5000 * vg_slow)) -max_invite_retrans $((5 * vg_slow)) \
		-max_non_invite_retrans $((7 * vg_slow)) -nostdin -trace_msg \
		-message_file "$tmp/uac-$name.msg" >"$tmp/uac-$name.out" 2>&1)
	rc=$?
	wait "$uas"
	urc=$?
	if [ "$rc" = 0 ] && [ "$urc" = 0 ]; then
		ok "$name: call completed (INVITE/200/ACK/BYE/200)"
	else
		bad "$name: call failed (uac $rc, uas $urc)" "$tmp/uac-$name.out"
		tail -20 "$tmp/px.log" | sed 's/^/    px: /'
		return 1
	fi
	"$top/tests/kamailio-compare.py" "$tmp/uac-$name.msg" "$tmp/uas-$name.msg" INVITE Identity >"$tmp/cmp" 2>&1
	cmp_rc=$?
	"$top/tests/kamailio-compare.py" "$tmp/uas-$name.msg" "$tmp/uac-$name.msg" "SIP/2.0 200" >>"$tmp/cmp" 2>&1
	if [ $cmp_rc = 0 ] && [ $? = 0 ] && grep -q "a=fingerprint:sha-256" "$tmp/uas-$name.msg"; then
		ok "$name: INVITE SDP + Identity and 200 SDP byte-identical end to end"
	else
		bad "$name: SDP or Identity changed on the way" "$tmp/cmp"
	fi
}

# A PASSporT-shaped Identity value: the proxies must pass it through, not judge it (non-E.164 call).
identity="eyJhbGciOiJFUzI1NiIsInBwdCI6InNoYWtlbiIsInR5cCI6InBhc3Nwb3J0IiwieDV1IjoiaHR0cHM6Ly9jZXJ0LmV4YW1wbGUvYS5wZW0ifQ.eyJhdHRlc3QiOiJBIiwiZGVzdCI6eyJ1cmkiOlsic2lwOmJvYkBiLmV4YW1wbGUiXX0sImlhdCI6MTcwMDAwMDAwMCwib3JpZyI6eyJ1cmkiOiJzaXA6YWxpY2VAYS5leGFtcGxlIn0sIm9yaWdpZCI6IjEyMyJ9.c2lnbmF0dXJlLW5vdC1jaGVja2VkLWJ5LXRoZS1wcm94aWVz;info=<https://cert.example/a.pem>;alg=ES256;ppt=shaken"

px_start "$TB_CERT_A" "$TB_KEY_A" || { bad "sipdance-proxy did not start" "$tmp/px.log"; finish; exit 1; }
# sip.b.example has AAAA ::1 too: Kamailio listens there as well when lo has ::1
v6=
if grep -q '^0\{31\}1 ' /proc/net/if_inet6 2>/dev/null; then export SD_ADDR6="[::1]"; v6="-A WITH_IPV6"; fi
# shellcheck disable=SC2086
kam_start $v6 || { bad "kamailio did not start" "$tmp/kam.log"; finish; exit 1; }

# bob registers at Kamailio (UDP, Digest) from the port of his SIPp UAS: Kamailio reaches him there
sip udp REGISTER sip:b.example sip:bob@b.example --to sip:bob@b.example --contact "sip:bob@127.0.0.1:$uas_b" \
	--auth "bob:$KAM_PW_BOB" --bind "127.0.0.1:$uas_b"
expect "bob registers at Kamailio (Digest)" "^SIP/2.0 200 "

# a -> b: SIPp -> sipdance-proxy (UDP) -> TLS, DANE both ways -> Kamailio -> bob's UAS
call a-to-b "$uas_b" 127.0.0.1 "$TB_A_SIP_PORT" b.example bob alice a.example "$pw_alice"
grep -q "user=alice@a.example method=INVITE rule=digest verdict=MATCH" "$tmp/px.log" &&
	ok "a-to-b: sipdance-proxy authenticated alice (Digest) before it sent her call to b.example" ||
	bad "a-to-b: no Digest MATCH for alice in the proxy log" "$tmp/px.log"
grep -q "domain=b.example rule=secure-tlsa verdict=MATCH" "$tmp/px.log" &&
	ok "a-to-b: sipdance-proxy authenticated Kamailio as b.example (DANE-EE)" ||
	bad "a-to-b: no DANE MATCH for b.example in the proxy log" "$tmp/px.log"

# b -> a: SIPp -> Kamailio (UDP) -> sipdance_check_dest -> TLS -> sipdance-proxy -> alice's UAS
call b-to-a "$uas_a" 127.0.0.2 "$TB_B_SIP_PORT" a.example alice bob b.example "$KAM_PW_BOB"
grep -q "^SIP/2.0 407 " "$tmp/uac-b-to-a.msg" &&
	ok "b-to-a: Kamailio challenged bob (407, Digest) before it vouched for him" ||
	bad "b-to-a: Kamailio did not challenge bob" "$tmp/uac-b-to-a.msg"
grep -q "domain=b.example rule=secure-tlsa verdict=MATCH (inbound client" "$tmp/px.log" &&
	ok "b-to-a: sipdance-proxy accepted Kamailio's request only as DANE-authenticated b.example" ||
	bad "b-to-a: no inbound DANE MATCH for b.example in the proxy log" "$tmp/px.log"

# Kamailio authenticates sipdance-proxy: the request a-to-b passed sipdance_verify_peer("a.example").
# With the proxy presenting the wrong certificate, Kamailio refuses with 403 and a Reason (and the
# proxy, which authenticates Kamailio's server certificate, is still fine with b).
px_stop
px_start "$TB_CERT_WRONG" "$TB_KEY_WRONG" || bad "sipdance-proxy (wrong cert) did not start" "$tmp/px.log"
"$top/tests/kamailio-sip.py" udp 127.0.0.1 "$TB_A_SIP_PORT" OPTIONS sip:bob@b.example sip:alice@a.example \
	--auth "alice:$pw_alice" \
	--bind 127.0.0.5 >"$tmp/resp" 2>&1
expect "sipdance-proxy with the wrong certificate: Kamailio answers 403 with Reason" "^SIP/2.0 403 " \
	'^Reason: SIP;cause=403;text="NOMATCH: a.example: '

# Kamailio with the wrong certificate: sipdance-proxy refuses to send to it (DANE NOMATCH).
px_stop
px_start "$TB_CERT_A" "$TB_KEY_A" || bad "sipdance-proxy did not restart" "$tmp/px.log"
kam_stop
kam_env "$TB_CERT_WRONG" "$TB_KEY_WRONG"
mkdir -p "$tmp/run2"
# shellcheck disable=SC2086
"$kamailio" -f "$top/examples/kamailio/kamailio.cfg" $v6 -DD -E -Y "$tmp/run2" -m 64 -M 8 -w "$tmp/run2" >"$tmp/kam2.log" 2>&1 &
kam_pid=$!
kam_wait || bad "Kamailio (wrong certificate) did not start" "$tmp/kam2.log"
"$top/tests/kamailio-sip.py" udp 127.0.0.1 "$TB_A_SIP_PORT" OPTIONS sip:bob@b.example sip:alice@a.example \
	--auth "alice:$pw_alice" \
	--bind 127.0.0.5 >"$tmp/resp" 2>&1
expect "Kamailio with the wrong certificate: sipdance-proxy refuses (5xx, NOMATCH)" "^SIP/2.0 5[0-9][0-9] " \
	"NOMATCH|no matching"
kam_stop
px_stop
finish
