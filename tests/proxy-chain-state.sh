#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# proxy-chain-state.sh - RFC 9102 pins shared by two nodes of a.example
# through Redis (--state), on the Knot testbed, both nodes --chain prefer: a
# server without a chain is then authenticated by the DNS path (TLSA). B
# serves its chain with a lifetime of 1 hour: node 1's handshake pins
# sip.b.example and writes the pin to Redis; B replaced by a server with no
# chain, node 2, which never met B's chain, refuses it: the shared pin is a
# requirement there too. A pin in Redis that is not an end time within 65535
# hours is left out, logged: node 2 reaches the chainless server as before.
. "${srcdir:-.}/tests/proxy-lib.sh"
base=$("${srcdir:-.}/tests/ports.sh" $$)
a_sip=$base a_tls=$((base + 1)) b_sip=$((base + 2)) b_tls=$((base + 3)) a2_sip=$((base + 4)) a2_tls=$((base + 5))
dnsp=$((base + 8)) R=$((base + 10)) opt_p=$((base + 26)) opt_m=$((base + 28)) opt_c=$((base + 32))
need sipp knotd keymgr kdig ldns-signzone openssl redis-server redis-cli

export TB_A_TLS_PORT=$a_tls TB_A_SIP_PORT=$a_sip TB_B_TLS_PORT=$b_tls TB_B_SIP_PORT=$b_sip TB_TTL=3600
start_testbed $dnsp
redis-server --port $R --bind 127.0.0.1 --save "" --appendonly no >"$tmp/redis.log" 2>&1 &
pids="$pids $!"
"$wait_for" -t $R || { bad "redis-server listening on port $R"; finish; exit 1; }
rcli() { redis-cli -p $R "$@"; }
key=sipdance:a.example:pin:sip.b.example:$b_tls

# opt NAME PORT LOCAL - one OPTIONS through the node at PORT from SIPp's port LOCAL; $st, $reason
opt() {
	sipp_run "$1" 127.0.0.1:"$2" -sf "$srcdir/tests/sip-options-domain.xml" -i 127.0.0.1 -p "$3" -mp $opt_m -cp $opt_c
	st=$(status "$tmp/$1.msg")
	reason=$(msg "$tmp/$1.msg" received '^SIP/2.0 [2-6]' | header Reason)
}
# start_b NAME ARGS... - b.example's server at 127.0.0.2 with ARGS
start_b() {
	n=$1
	shift
	start_proxy "$n" --domain b.example --listen "sip:127.0.0.2:$b_sip;transport=udp" \
		--listen "sips:127.0.0.2:$b_tls;transport=tls" --client-auth off $dns --cert "$TB_CERT_B" \
		--key "$TB_KEY_B" --log-level debug "$@"
}
# start_a NAME SIP TLS - a node of a.example sharing Redis, its listeners on those ports
start_a() {
	# shellcheck disable=SC2086
	start_proxy "$1" --domain a.example --listen "sip:127.0.0.1:$2;transport=udp" \
		--listen "sips:127.0.0.1:$3;transport=tls" --cert "$TB_CERT_A" --key "$TB_KEY_A" \
		--chain prefer --state "redis://127.0.0.1:$R" --node-id "$1" --trusted 127.0.0.1/32 $dns \
		--log-level debug || { finish; exit 1; }
	"$wait_for" "$tmp/$1.log" "store: connected to Redis" || bad "node $1 connected to Redis"
}
start_a N1 $a_sip $a_tls
start_a N2 $a2_sip $a2_tls

# 1. a hostile pin in Redis is left out: node 2 reaches a server without a chain (DNS path)
start_b B0 --chain off || { finish; exit 1; }
rcli SET "$key" "$(($(date +%s) + 65536 * 3600))" >/dev/null
opt h1 $a2_sip $opt_p
check "a pin in Redis 65536 hours ahead: left out, logged; node 2 reaches B without a chain ($st)" \
	eval '[ "$st" = 200 ] && grep -q "shared RFC 9102 pin of sip.b.example:$b_tls left out" "$tmp/N2.log"'
stop_proxy B0

# 2. B serves its chain (lifetime 1 h): node 1's handshake pins it and writes it to Redis
start_b B --client-name sip.b.example --chain-lifetime 1 || { finish; exit 1; }
"$wait_for" "$tmp/B.log" "serving our DNSSEC chain for _$b_tls._tcp.sip.b.example" || bad "B serves its chain"
opt c1 $a_sip $((base + 40))
# node 1 writes the pin as its handshake ends: wait for it (the hostile value had no expiry)
i=0
while [ "$(rcli TTL "$key")" -lt 0 ] && [ $i -lt $((50 * vg_slow)) ]; do
	i=$((i + 1))
	sleep 0.1
done
now=$(date +%s)
val=$(rcli GET "$key")
ttl=$(rcli TTL "$key")
check "node 1 reached B by its chain (200) and shared the pin: $key = $val (now $now), TTL $ttl s" \
	eval '[ "$st" = 200 ] && [ "$val" -gt "$now" ] && [ "$val" -le $((now + 3600)) ] && [ "$ttl" -gt 0 ] && [ "$ttl" -le 3600 ]'
stop_proxy B

# 3. B replaced by a server without a chain: node 2, which never saw B's chain, refuses it
start_b B1 --chain off || { finish; exit 1; }
opt p2 $a2_sip $((base + 41))
check "node 2 refuses the chainless server: the pin node 1 learned holds there ($st, $reason)" \
	eval '[ "$st" = 502 ] && grep -q "shared RFC 9102 pin of sip.b.example:$b_tls taken" "$tmp/N2.log" && grep -q "sip.b.example:$b_tls: INDETERMINATE: no DNSSEC chain, but pinned until" "$tmp/N2.log"'
opt p1 $a_sip $((base + 42))
check "... as node 1 does by its own pin ($st)" eval '[ "$st" = 502 ]'
stop_proxy B1
stop_proxy N1
stop_proxy N2
finish
