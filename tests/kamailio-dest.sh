#!/bin/sh
# kamailio-dest.sh - sipdance_check_dest() inside Kamailio against the Knot testbed: secure
# domains are allowed (DANE), bogus ones refused with BOGUS, an insecure one refused without a CA
# file, plus the example config's federation route (503 + Reason) and the bounded wait.
. "${srcdir:-.}/tests/kamailio-lib.sh"
need_env
tb_start
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
sip udp INVITE sip:bob@badsig.example sip:alice@b.example
expect "INVITE to bogus domain: 503 with Reason" "^SIP/2.0 503 " \
	'^Reason: SIP;cause=503;text="BOGUS: badsig.example refused: '

# a resolver that never answers: the call returns within max_wait with INDETERMINATE
kam_stop
"$top/tests/testbed/testbed.sh" stop "$tmp/tb" >/dev/null
python3 -c 'import socket,time,sys; s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); s.bind(("127.0.0.1",int(sys.argv[1]))); time.sleep(60)' "$base" &
blackhole=$!
kam_start -A WITH_TESTHOOKS || bad "kamailio did not restart" "$tmp/kam.log"
t0=$(date +%s%N)
dest "silent resolver: -1, INDETERMINATE" c.example "X-Sipdance-RC: -1" "X-Sipdance-Verdict: INDETERMINATE"
ms=$((($(date +%s%N) - t0) / 1000000))
[ "$ms" -le 4000 ] && ok "silent resolver: answered after $ms ms (max_wait 2000)" ||
	bad "silent resolver: took $ms ms"
kill $blackhole 2>/dev/null; wait $blackhole 2>/dev/null
kam_stop
finish
