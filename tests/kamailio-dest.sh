#!/bin/sh
# kamailio-dest.sh - sipdance_check_dest() inside Kamailio against the Knot testbed: secure
# domains are allowed (DANE), bogus ones refused with BOGUS, an insecure one refused without a CA
# file, URIs checked at the host Kamailio routes to, plus the example config's federation route (503 +
# Reason), a domain with 16 TLS targets (every DNS socket watched; at most max_targets used), the
# verdict a failure_route sees, and the bounded wait.
. "${srcdir:-.}/tests/kamailio-lib.sh"
need_env
tb_start

# many.a.example: 16 SRV targets in priority order, each with an address; only the last one's TLSA
# publishes a.example's key. Authenticating a's certificate needs all 16 resolved in one call.
{
	$TB_KNOTC zone-begin a.example.
	for i in $(seq 16); do
		spki=$TB_SPKI_WRONG
		[ "$i" = 16 ] && spki=$TB_SPKI_A
		$TB_KNOTC zone-set a.example. _sips._tcp.many.a.example. "$TB_TTL" SRV "$i" 0 "$TB_A_TLS_PORT" "t$i.many.a.example."
		$TB_KNOTC zone-set a.example. "t$i.many.a.example." "$TB_TTL" A 127.0.0.1
		$TB_KNOTC zone-set a.example. "_$TB_A_TLS_PORT._tcp.t$i.many.a.example." "$TB_TTL" TLSA 3 1 1 "$spki"
	done
	$TB_KNOTC zone-commit a.example.
} >"$tmp/knotc.log" 2>&1 || bad "adding many.a.example" "$tmp/knotc.log"
export SD_MAX_TARGETS=16
kam_start -A WITH_TESTHOOKS || { bad "kamailio did not start" "$tmp/kam.log"; finish; exit 1; }

# dest NAME DOMAIN REGEX... - OPTIONS test hook dest=DOMAIN over UDP
dest() {
	local name=$1 d=$2
	shift 2
	sip udp OPTIONS sip:b.example sip:alice@b.example --hdr "X-Sipdance-Test: dest=$d"
	expect "$name" "$@"
}

dest "secure a.example: 1, DANE" a.example "X-Sipdance-RC: 1" "X-Sipdance-Verdict: DANE" \
	"X-Sipdance-Rule: secure-tlsa" "X-Sipdance-Target: sip.a.example:$TB_A_TLS_PORT" \
	"X-Sipdance-Addr: 127.0.0.1:$TB_A_TLS_PORT"
dest "secure b.example: 1, DANE" b.example "X-Sipdance-RC: 1" "X-Sipdance-Action: DANE" \
	"X-Sipdance-Target: sip.b.example:$TB_B_TLS_PORT"
dest "bogus badsig.example: -1, BOGUS with reason" badsig.example "X-Sipdance-RC: -1" \
	"X-Sipdance-Verdict: BOGUS" "X-Sipdance-Action: REFUSE" "X-Sipdance-Reason: badsig.example refused: .+"
dest "bogus expired.example: -1, BOGUS" expired.example "X-Sipdance-RC: -1" "X-Sipdance-Verdict: BOGUS"
dest "insecure.example without CA file: -1, INSECURE, no-ca-file" insecure.example "X-Sipdance-RC: -1" \
	"X-Sipdance-Verdict: INSECURE" "X-Sipdance-Rule: no-ca-file"
dest "secure denial nodane.example without CA file: -1" nodane.example "X-Sipdance-RC: -1" \
	"X-Sipdance-Action: REFUSE"
dest "URI form sips:a.example: 1" "sips:bob@a.example" "X-Sipdance-RC: 1"
# the host of a URI is the host Kamailio routes to (its own parser), never another reading of it
dest "sip:a.example;@badsig.example: -1, BOGUS (the host is badsig.example)" "sip:a.example;@badsig.example" \
	"X-Sipdance-RC: -1" "X-Sipdance-Verdict: BOGUS" "X-Sipdance-Reason: badsig.example refused"
dest "sip:bob@a.example;maddr=127.0.0.9: -1 (tm would send to maddr)" "sip:bob@a.example;maddr=127.0.0.9" \
	"X-Sipdance-RC: -1" "X-Sipdance-Reason: maddr"
dest "a.example;@badsig.example as a domain: -1" "a.example;@badsig.example" "X-Sipdance-RC: -1" \
	"X-Sipdance-Reason: not a domain name"
dest "[a.example]: -1 (a bracketed host is an IPv6 address or nothing)" "[a.example]" "X-Sipdance-RC: -1" \
	"X-Sipdance-Reason: .*not an IPv6 address"
dest "sip:bob@[a.example]: -1" "sip:bob@[a.example]" "X-Sipdance-RC: -1"
dest "nodane.example.. (empty label): -1" "nodane.example.." "X-Sipdance-RC: -1" "X-Sipdance-Reason: .*empty label"

# the cache: a second lookup of the same domain is answered without new queries
q1=$($TB_KNOTC stats mod-stats 2>/dev/null | awk -F'[][ =]+' '/query-type/ { s += $NF } END { print s + 0 }')
dest "a.example again (cached): 1" a.example "X-Sipdance-RC: 1"
q2=$($TB_KNOTC stats mod-stats 2>/dev/null | awk -F'[][ =]+' '/query-type/ { s += $NF } END { print s + 0 }')
if [ "$q1" -gt 0 ] && [ "$q1" = "$q2" ]; then ok "repeat check sent no DNS query ($q1 before and after)"
else
	# each worker has its own cache: the repeat may land on the other UDP worker once
	dest "a.example a third time (cached): 1" a.example "X-Sipdance-RC: 1"
	q3=$($TB_KNOTC stats mod-stats 2>/dev/null | awk -F'[][ =]+' '/query-type/ { s += $NF } END { print s + 0 }')
	[ "$q3" = "$q2" ] && ok "repeat check sent no DNS query (per-process cache)" ||
		bad "cached check still queried DNS ($q1 -> $q2 -> $q3)"
fi

# federation route of the example config: a refused destination is a fast 503 with a Reason
sip udp INVITE sip:bob@badsig.example sip:alice@b.example --auth "alice:$KAM_PW_ALICE"
expect "INVITE to bogus domain: 503 with Reason" "^SIP/2.0 503 " \
	'^Reason: SIP;cause=503;text="BOGUS: badsig.example refused: '

# failure_route sees the verdict of its own request (the module keeps it in $xavp(sipdance), which tm
# keeps with the transaction); a message that ran no check in between sees none.
"$top/tests/kamailio-listen.py" udp 127.0.0.1 $((base + 6)) "$tmp/busy.log" --code 486 >"$tmp/busy.out" 2>&1 &
other_pids="$other_pids $!"
"$top/tests/wait-for.sh" "$tmp/busy.out" listening || bad "the 486 listener did not start" "$tmp/busy.out"
sip udp OPTIONS sip:b.example sip:alice@b.example --hdr "X-Sipdance-Test: fail=badsig.example" \
	--hdr "X-Sipdance-Hop: sip:127.0.0.1:$((base + 6))"
expect "failure_route after check_dest(badsig.example): its verdict (BOGUS for badsig.example)" \
	"^SIP/2.0 500 failure_route sees BOGUS for badsig.example"
sip udp OPTIONS sip:b.example sip:alice@b.example --hdr "X-Sipdance-Test: fail=a.example" \
	--hdr "X-Sipdance-Hop: sip:127.0.0.1:$((base + 6))"
expect "failure_route after check_dest(a.example): DANE for a.example" "^SIP/2.0 500 failure_route sees DANE for a.example"
sip udp OPTIONS sip:b.example sip:alice@b.example --hdr "X-Sipdance-Test: none"
expect "a message that ran no check: \$sipdance(verdict) is \$null" "X-Sipdance-Verdict: <null>"

# 16 targets in one call: every DNS socket is watched (there were at most 64), so all 16 resolve at
# once and a's certificate matches the last one; nothing times out, nothing is cached as a failure
knot_queries() { $TB_KNOTC stats mod-stats 2>/dev/null | awk -F'[][ =]+' '/query-type/ { s += $NF } END { print s + 0 }'; }
q0=$(knot_queries)
sip tls OPTIONS sip:b.example sip:x@b.example --cert "$TB_CERT_A" --key "$TB_KEY_A" \
	--hdr "X-Sipdance-Test: peer=many.a.example"
expect "verify_peer many.a.example (16 targets, max_targets 16) with a's cert: 1, MATCH at t16" \
	"X-Sipdance-RC: 1" "X-Sipdance-Verdict: MATCH" "X-Sipdance-Target: t16.many.a.example:$TB_A_TLS_PORT"
q16=$(($(knot_queries) - q0))

# the default max_targets (4): the first 4 targets only; a's key is on none of them, and the call costs
# fewer queries than the 16-target one
kam_stop
unset SD_MAX_TARGETS
kam_start -A WITH_TESTHOOKS || bad "kamailio did not restart" "$tmp/kam.log"
q0=$(knot_queries)
sip tls OPTIONS sip:b.example sip:x@b.example --cert "$TB_CERT_A" --key "$TB_KEY_A" \
	--hdr "X-Sipdance-Test: peer=many.a.example"
expect "verify_peer many.a.example with the default max_targets 4: -1, NOMATCH" "X-Sipdance-RC: -1" \
	"X-Sipdance-Verdict: NOMATCH"
q4=$(($(knot_queries) - q0))
[ "$q4" -gt 0 ] && [ "$q4" -lt "$q16" ] && ok "max_targets bounds the DNS cost of one call: $q4 queries for 4 targets, $q16 for 16" ||
	bad "queries with 4 targets: $q4, with 16: $q16"

# a resolver that never answers: the call returns within max_wait with INDETERMINATE
kam_stop
"$top/tests/testbed/testbed.sh" stop "$tmp/tb" >/dev/null
python3 -c 'import signal,socket,sys; s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); s.bind(("127.0.0.1",int(sys.argv[1]))); signal.pause()' "$base" &
blackhole=$!
kam_start -A WITH_TESTHOOKS || bad "kamailio did not restart" "$tmp/kam.log"
t0=$(date +%s%N)
dest "silent resolver: -1, INDETERMINATE" c.example "X-Sipdance-RC: -1" "X-Sipdance-Verdict: INDETERMINATE"
ms=$((($(date +%s%N) - t0) / 1000000))
[ "$ms" -le $((SD_MAX_WAIT + 2000 * vg_slow)) ] && ok "silent resolver: answered after $ms ms (max_wait $SD_MAX_WAIT)" ||
	bad "silent resolver: took $ms ms"
kill $blackhole 2>/dev/null; wait $blackhole 2>/dev/null
kam_stop
finish
