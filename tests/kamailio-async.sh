#!/bin/sh
# kamailio-async.sh - the *_async functions inside Kamailio (examples/kamailio/kamailio.cfg, 2 UDP and 2
# TCP/TLS workers): their verdicts are the synchronous functions' (check_dest: DANE continues, BOGUS and
# INSECURE refused; verify_peer and verify_user: MATCH, NOMATCH, BOGUS, ...); a domain whose DNS never
# answers (tests/dns-filter.py swallows its queries) holds no worker: checks of other domains through the
# same workers complete while seven of its requests wait (4 INVITEs to it, 3 federated MESSAGEs from it),
# and each of those gets its 503 or 403 with a Reason after max_wait; and one DNS cache serves every worker (the module's resolver process):
# repeated checks send Knot no query, whichever worker takes them; max_pending bounds the lookups in
# flight.
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
KAM_MAX_WAIT=15000
[ "$vg_slow" -gt 1 ] && KAM_MAX_WAIT=25000
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
# the TLS peer and its users: sipdance_verify_peer_async and sipdance_verify_user_async say what the
# synchronous functions say (CERT KEY FROM HOOK [ARGUMENT]; "" "": no certificate)
while read -r cert key from what arg; do
	eval "cert=$cert key=$key"
	set -- ${cert:+--cert "$cert" --key "$key"}
	sip tls OPTIONS sip:b.example "$from" "$@" --hdr "X-Sipdance-Test: $what${arg:+=$arg}"
	grep -E '^X-Sipdance-(RC|Verdict|Reason|Action|Rule|Target|Addr|Name):' "$tmp/resp" >"$tmp/sync"
	sip tls OPTIONS sip:b.example "$from" "$@" --hdr "X-Sipdance-Test: a$what${arg:+=$arg}"
	grep -E '^X-Sipdance-(RC|Verdict|Reason|Action|Rule|Target|Addr|Name):' "$tmp/resp" >"$tmp/async"
	if [ -s "$tmp/sync" ] && cmp -s "$tmp/sync" "$tmp/async"; then
		ok "async $what ${arg:-$from} ($(basename "${cert:-no certificate}")): $(grep -E '^X-Sipdance-(RC|Verdict):' "$tmp/async" | tr -d '\r' | tr '\n' ' ')as sync"
	else
		diff "$tmp/sync" "$tmp/async" >"$tmp/diff"
		bad "async $what ${arg:-$from} differs from sync" "$tmp/diff"
	fi
done <<EOF
$TB_CERT_A $TB_KEY_A sip:x@b.example peer a.example
$TB_CERT_WRONG $TB_KEY_WRONG sip:x@b.example peer a.example
$TB_CERT_A $TB_KEY_A sip:x@b.example peer c.example
$TB_CERT_A $TB_KEY_A sip:x@b.example peer badsig.example
$TB_CERT_A $TB_KEY_A sip:x@b.example peer insecure.example
$TB_CERT_B $TB_KEY_B sip:x@b.example peer [b.example]
$TB_CERT_ALICE $TB_KEY_ALICE sip:alice@a.example user
$TB_CERT_BOB $TB_KEY_BOB sip:alice@a.example user
$TB_CERT_BOB $TB_KEY_BOB sip:x@b.example user bob@b.example
$TB_CERT_ALICE $TB_KEY_ALICE sip:carol@a.example user
"" "" sip:alice@a.example user
EOF
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
# and three federated TLS requests From it (two TLS workers), whose peer the example config checks
for i in 5 6 7; do
	VG_SLOW=$((4 * vg_slow)) "$top/tests/kamailio-sip.py" tls 127.0.0.2 "$TB_B_TLS_PORT" MESSAGE sip:bob@b.example \
		"sip:carol@x$i.silent.example" --cert "$TB_CERT_A" --key "$TB_KEY_A" >"$tmp/stalled$i" 2>&1 &
	eval "stalled$i=$!"
done
"$top/tests/wait-for.sh" "$tmp/filter.count" "silent ([7-9]|[1-9][0-9])" ||
	bad "the silent domain's queries did not reach the filter" "$tmp/filter.count"
# meanwhile the same workers take other calls, one after the other, and answer them all
n=0 t0=$(date +%s%N)
for d in a.example; do
	sip tls OPTIONS sip:b.example sip:x@b.example --cert "$TB_CERT_A" --key "$TB_KEY_A" --hdr "X-Sipdance-Test: apeer=$d"
	grep -q "^X-Sipdance-Verdict: MATCH" "$tmp/resp" && n=$((n + 1))
	sip tls OPTIONS sip:b.example sip:x@b.example --cert "$TB_CERT_A" --key "$TB_KEY_A" --hdr "X-Sipdance-Test: peer=$d"
	grep -q "^X-Sipdance-Verdict: MATCH" "$tmp/resp" && n=$((n + 1))
	# a federated request from a.example: authenticated, then the registrar's 404 for nobody
	sip tls MESSAGE sip:nobody@b.example sip:alice@a.example --cert "$TB_CERT_A" --key "$TB_KEY_A"
	grep -q "^SIP/2.0 404 " "$tmp/resp" && n=$((n + 1))
done
for d in a.example badsig.example c.example; do
	sip udp OPTIONS sip:b.example sip:alice@b.example --hdr "X-Sipdance-Test: adest=$d"
	grep -q "^X-Sipdance-RC: " "$tmp/resp" && n=$((n + 1))
	sip udp OPTIONS sip:b.example sip:alice@b.example --hdr "X-Sipdance-Test: dest=$d"
	grep -q "^X-Sipdance-RC: " "$tmp/resp" && n=$((n + 1))
done
ms=$((($(date +%s%N) - t0) / 1000000)) pending=0
for i in 1 2 3 4 5 6 7; do grep -q "^SIP/2.0" "$tmp/stalled$i" || pending=$((pending + 1)); done
[ "$n" = 9 ] && [ "$pending" = 7 ] && ok "9 requests for other domains (3 over TLS) answered in $ms ms while 7 silent ones wait" ||
	bad "other domains' requests answered: $n of 9 in $ms ms, silent ones still waiting: $pending of 7"
for i in 1 2 3 4; do
	eval "wait \$stalled$i"
	cp "$tmp/stalled$i" "$tmp/resp"
	expect "silent call $i: 503 with Reason after max_wait" "^SIP/2.0 503 " \
		"^Reason: SIP;cause=503;text=\"INDETERMINATE: DNS for x$i.silent.example not complete after $SD_MAX_WAIT ms"
done
for i in 5 6 7; do
	eval "wait \$stalled$i"
	cp "$tmp/stalled$i" "$tmp/resp"
	expect "federated MESSAGE from x$i.silent.example: 403 with Reason after max_wait" "^SIP/2.0 403 " \
		"^Reason: SIP;cause=403;text=\"INDETERMINATE: DNS for x$i.silent.example not complete after $SD_MAX_WAIT ms"
done

# max_pending bounds the lookups in flight: with 2 allowed and 2 waiting on the silent domain, a third
# check is refused at once (INDETERMINATE, the reason says why); once they end, checks go through again
kam_stop
KAM_MAX_WAIT=6000
[ "$vg_slow" -gt 1 ] && KAM_MAX_WAIT=20000
KAM_DNS_TIMEOUT=$((2 * KAM_MAX_WAIT))
SD_MAX_PENDING=2 kam_start -A WITH_TESTHOOKS || { bad "kamailio did not restart" "$tmp/kam.log"; finish; exit 1; }
s0=$(sed -n 's/.*silent //p' "$tmp/filter.count")
for i in 8 9; do
	VG_SLOW=$((4 * vg_slow)) "$top/tests/kamailio-sip.py" udp 127.0.0.2 "$TB_B_SIP_PORT" OPTIONS sip:b.example \
		sip:alice@b.example --hdr "X-Sipdance-Test: adest=x$i.silent.example" >"$tmp/stalled$i" 2>&1 &
	eval "stalled$i=$!"
done
"$top/tests/wait-for.sh" "$tmp/filter.count" "silent $((s0 + 2))" ||
	bad "the silent domain's queries did not reach the filter" "$tmp/filter.count"
check "max_pending 2, 2 lookups in flight: a third check is refused at once" adest=a.example "X-Sipdance-RC: -1" \
	"X-Sipdance-Verdict: INDETERMINATE" "X-Sipdance-Reason: 2 checks already waiting for DNS \(max_pending\)"
wait $stalled8 $stalled9
check "max_pending 2, nothing in flight: a.example goes through" adest=a.example "X-Sipdance-RC: 1" \
	"X-Sipdance-Verdict: DANE"

# an INVITE cancelled while its check waits: 487 at once; the late verdict touches nothing of the
# ended (or already freed) transaction, which is logged, and Kamailio goes on
python3 - "$top/tests/kamailio-sip.py" "$TB_B_SIP_PORT" "$KAM_PW_ALICE" >"$tmp/cancel" 2>&1 <<'EOF'
import importlib.util, re, sys
spec = importlib.util.spec_from_file_location("kamsip", sys.argv[1])
m = importlib.util.module_from_spec(spec)
spec.loader.exec_module(m)
c = m.Conn("udp", "127.0.0.2", int(sys.argv[2]))
u = m.Client(c, "sip:alice@b.example")
ruri, b1, b2 = "sip:bob@xc.silent.example", "z9hG4bK" + m.rand(), "z9hG4bK" + m.rand()
c.send(u.build("INVITE", ruri, branch=b1, cseq=1))
r = u.final()
tag = re.search(r";tag=([^;>\s]+)", m.header(r, "To")).group(1)
c.send(u.build("ACK", ruri, branch=b1, cseq=1, contact="", to_tag=tag))
auth = m.digest(m.header(r, "Proxy-Authenticate"), "INVITE", ruri, "alice", sys.argv[3], 1)
c.send(u.build("INVITE", ruri, branch=b2, cseq=2, hdrs=["Proxy-Authorization: " + auth]))
print(c.recv().decode(errors="replace").split("\r\n")[0])  # 100 Trying: suspended
c.send(u.build("CANCEL", ruri, branch=b2, cseq=2, contact=""))
for _ in range(2):
    r = u.final()
    print("%s %s" % (m.header(r, "CSeq").split()[-1], r.split(" ", 2)[1]) if r else "no final response")
EOF
cp "$tmp/cancel" "$tmp/resp"
expect "INVITE cancelled while its check waits: 100, then CANCEL 200 and INVITE 487" "^SIP/2.0 100" \
	"^CANCEL 200" "^INVITE 487"
"$top/tests/wait-for.sh" "$tmp/kam.log" "waiting for xc.silent.example (is gone|was cancelled or ended meanwhile)" \
	$((KAM_MAX_WAIT / 1000 + 5)) && ok "the late verdict of the cancelled INVITE was dropped (logged)" ||
	bad "no log line of the cancelled INVITE's late verdict" "$tmp/kam.log"
check "after it: a.example goes through" adest=a.example "X-Sipdance-RC: 1"
kam_stop
finish
