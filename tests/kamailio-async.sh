#!/bin/sh
# kamailio-async.sh - sipdance_check_dest_async() inside Kamailio (examples/kamailio/kamailio.cfg, 2 UDP
# workers): its verdicts are sipdance_check_dest()'s (DANE continues, BOGUS and INSECURE refused); a
# domain whose DNS never answers (tests/dns-filter.py swallows its queries) holds no worker: calls to
# other domains through the same two workers complete while four of its calls wait, and each of those
# gets its 503 with a Reason after max_wait; and one DNS cache serves every worker (the module's
# resolver process): repeated checks send Knot no query, whichever worker takes them.
. "${srcdir:-.}/tests/kamailio-lib.sh"
need_env
tb_start

# the module asks the filter, which relays to Knot everything but silent.example
"$top/tests/dns-filter.py" 127.0.0.1 $((base + 7)) 127.0.0.1 "$base" silent.example "$tmp/filter.count" \
	>"$tmp/filter.out" 2>&1 &
other_pids="$other_pids $!"
"$top/tests/wait-for.sh" "$tmp/filter.out" listening || bad "the DNS filter did not start" "$tmp/filter.out"
TB_RESOLVER=127.0.0.1@$((base + 7))
# a long max_wait, and a longer DNS timeout (the module's deadline ends the wait): the silent domain's
# calls stay pending while the others are tested (under valgrind within tm's 30 s fr_timer, after which
# tm would answer a suspended request itself)
KAM_MAX_WAIT=8000
[ "$vg_slow" -gt 1 ] && KAM_MAX_WAIT=20000
KAM_DNS_TIMEOUT=$((2 * KAM_MAX_WAIT))
kam_start -A WITH_TESTHOOKS || { bad "kamailio did not start" "$tmp/kam.log"; finish; exit 1; }

# check NAME HOOK REGEX... - OPTIONS test hook HOOK (dest=D: synchronous, adest=D: asynchronous) over UDP
check() {
	local name=$1 h=$2
	shift 2
	sip udp OPTIONS sip:b.example sip:alice@b.example --hdr "X-Sipdance-Test: $h"
	expect "$name" "$@"
}

# verdicts: the asynchronous check says what the synchronous one says, field by field
for d in a.example b.example badsig.example expired.example insecure.example nodane.example \
	"sips:bob@a.example" "sip:a.example;@badsig.example" "a.example;@badsig.example" "sip:bob@a.example;maddr=127.0.0.9"; do
	sip udp OPTIONS sip:b.example sip:alice@b.example --hdr "X-Sipdance-Test: dest=$d"
	grep -E '^X-Sipdance-(RC|Verdict|Reason|Action|Rule|Target|Addr|Name):' "$tmp/resp" >"$tmp/sync"
	sip udp OPTIONS sip:b.example sip:alice@b.example --hdr "X-Sipdance-Test: adest=$d"
	grep -E '^X-Sipdance-(RC|Verdict|Reason|Action|Rule|Target|Addr|Name):' "$tmp/resp" >"$tmp/async"
	if [ -s "$tmp/sync" ] && cmp -s "$tmp/sync" "$tmp/async"; then
		ok "async $d: $(grep -E '^X-Sipdance-(RC|Verdict):' "$tmp/async" | tr -d '\r' | tr '\n' ' ')as sync"
	else
		diff "$tmp/sync" "$tmp/async" >"$tmp/diff"
		bad "async $d differs from sync" "$tmp/diff"
	fi
done
check "async a.example: MATCH of the policy continues (rc 1, DANE)" adest=a.example "X-Sipdance-RC: 1" \
	"X-Sipdance-Verdict: DANE" "X-Sipdance-Addr: 127.0.0.1:$TB_A_TLS_PORT"
check "async badsig.example: BOGUS refused (rc -1)" adest=badsig.example "X-Sipdance-RC: -1" \
	"X-Sipdance-Verdict: BOGUS" "X-Sipdance-Action: REFUSE"
check "async with a bad argument: refused at once (rc -1)" "adest=[a.example]" "X-Sipdance-RC: -1" \
	"X-Sipdance-Reason: .*not an IPv6 address"
sip udp INVITE sip:bob@badsig.example sip:alice@b.example --auth "alice:$KAM_PW_ALICE"
expect "INVITE to a bogus domain (the example's asynchronous federation route): 503 with Reason" "^SIP/2.0 503 " \
	'^Reason: SIP;cause=503;text="BOGUS: badsig.example refused: '

# one cache for every worker: after one lookup, no repeat sends Knot a query, whichever worker takes it
knot_queries() { $TB_KNOTC stats mod-stats 2>/dev/null | awk -F'[][ =]+' '/query-type/ { s += $NF } END { print s + 0 }'; }
check "async c.example: DANE" adest=c.example "X-Sipdance-RC: 1"
q1=$(knot_queries)
for i in 1 2 3 4 5 6; do
	sip udp OPTIONS sip:b.example sip:alice@b.example --hdr "X-Sipdance-Test: adest=c.example" \
		--bind "127.0.0.1:$((base + 10 + i))"
done
q2=$(knot_queries)
[ "$q1" -gt 0 ] && [ "$q1" = "$q2" ] && ok "6 repeats from 6 source ports: no DNS query ($q1 before and after)" ||
	bad "repeats of a cached check queried DNS ($q1 -> $q2)"

# the silent domain: four calls (two more than the UDP workers) wait for DNS that never answers
for i in 1 2 3 4; do
	VG_SLOW=$((4 * vg_slow)) "$top/tests/kamailio-sip.py" udp 127.0.0.2 "$TB_B_SIP_PORT" INVITE \
		"sip:bob@x$i.silent.example" sip:alice@b.example --auth "alice:$KAM_PW_ALICE" >"$tmp/stalled$i" 2>&1 &
	eval "stalled$i=$!"
done
"$top/tests/wait-for.sh" "$tmp/filter.count" "silent [4-9]" ||
	bad "the silent domain's queries did not reach the filter" "$tmp/filter.count"
# meanwhile the same two workers take other calls, one after the other, and answer them all
n=0
for d in a.example b.example badsig.example a.example c.example b.example; do
	sip udp OPTIONS sip:b.example sip:alice@b.example --hdr "X-Sipdance-Test: adest=$d"
	grep -q "^X-Sipdance-RC: " "$tmp/resp" && n=$((n + 1))
	sip udp OPTIONS sip:b.example sip:alice@b.example --hdr "X-Sipdance-Test: dest=$d"
	grep -q "^X-Sipdance-RC: " "$tmp/resp" && n=$((n + 1))
done
pending=0
for i in 1 2 3 4; do [ -s "$tmp/stalled$i" ] || pending=$((pending + 1)); done
[ "$n" = 12 ] && [ "$pending" = 4 ] && ok "12 checks of other domains answered while 4 silent calls wait" ||
	bad "other domains' checks answered: $n of 12, silent calls still waiting: $pending of 4"
for i in 1 2 3 4; do
	eval "wait \$stalled$i"
	cp "$tmp/stalled$i" "$tmp/resp"
	expect "silent call $i: 503 with Reason after max_wait" "^SIP/2.0 503 " \
		"^Reason: SIP;cause=503;text=\"INDETERMINATE: DNS for x$i.silent.example not complete after $SD_MAX_WAIT ms"
done
kam_stop
finish
