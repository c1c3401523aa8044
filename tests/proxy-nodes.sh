#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# proxy-nodes.sh - two sipdance-proxy nodes of a.example sharing Redis
# (--state), both in a.example's SRV (sip.a.example 127.0.0.1 first,
# sip2.a.example 127.0.0.5 second, one key), and b.example's proxy. alice
# registers over TLS at node 1 (sipdance-ua): her binding names node 1 in
# Redis, and node 2 reaches her through node 1 over their authenticated TLS
# connection, node 1 sending on over her flow; a whole call from carol at node
# 2 (requests inside the dialog too). Refused: a Route to her flow from a
# stranger (UDP from a trusted PBX, TLS as b.example's proxy, TLS as alice
# herself, TLS without a certificate), a binding in Redis naming a node that
# is not a TLS target of a.example or this node. Her _user TLSA withdrawn:
# node 1 judges her identity again before using her flow, removes her
# binding, and node 2 answers 480. A UDP user registered at
# node 2 is reached through node 1. Node 1 killed: alice is not reached
# (480, no connection to her address), b.example fails over to node 2 by
# SRV, alice registers at node 2 and is reached again. UDP clients on 127.0.0.1 stand for a PBX of each
# domain (--trusted 127.0.0.1/32).
. "${srcdir:-.}/tests/proxy-lib.sh"
UA=$("${srcdir:-.}/tests/valgrind.sh" "${top_builddir:-.}/examples/sipdance-ua")
need sipp redis-server redis-cli knotd keymgr kdig ldns-signzone openssl
federation_ports
R=$((base + 36)) ua_p=$((base + 40)) N2=127.0.0.5
export TB_A2_ADDR=$N2
start_testbed "$dnsp"

redis-server --port $R --bind 127.0.0.1 --save "" --appendonly no >"$tmp/redis.log" 2>&1 &
redis_pid=$!
pids="$pids $redis_pid"
"$wait_for" -t $R || { bad "redis-server listening on port $R"; finish; exit 1; }
rcli() { redis-cli -p $R "$@"; }
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$tmp/secret"
# dave registers over UDP with Digest (MD5, offered first for SIPp): a trusted network does not register
pw=$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')
echo "$pw" | "$("${srcdir:-.}/tests/valgrind.sh" "${top_builddir:-.}/sipdance")" user-digest dave a.example >"$tmp/users"
chmod 600 "$tmp/users"

# node NAME ADDR [ARGS...] - a node of a.example on ADDR, sharing Redis
node() {
	nn=$1 na=$2
	shift 2
	start_proxy "$nn" --domain a.example --listen "sip:$na:$a_sip;transport=udp" \
		--listen "sips:$na:$a_tls;transport=tls" --cert "$TB_CERT_A" --key "$TB_KEY_A" \
		--state "redis://127.0.0.1:$R" --node-id "$nn" --state-timeout $((10000 * vg_slow)) \
		--auth-secret "$tmp/secret" --trusted 127.0.0.1/32 --users "$tmp/users" --digest-algorithms MD5,SHA-256 \
		$dns --log-level debug "$@" || { finish; exit 1; }
	"$wait_for" "$tmp/$nn.log" "store: connected to Redis" || bad "node $nn connected to Redis"
}
"$PROXY" --domain a.example --listen "sip:127.0.0.1:$a_sip;transport=udp" --state "redis://127.0.0.1:$R" \
	--node-address 0.0.0.0:$a_tls >"$tmp/badaddr.log" 2>&1
check "--node-address 0.0.0.0:PORT: the node does not start (a wildcard names no node)" \
	grep -q "node-address 0.0.0.0:$a_tls: want IP:PORT or \[IP6\]:PORT, not a wildcard" "$tmp/badaddr.log"
node N1 127.0.0.1
node N2 $N2 --node-address "$N2:$a_tls"
start_proxy B --domain b.example --listen "sip:127.0.0.2:$b_sip;transport=udp" \
	--listen "sips:127.0.0.2:$b_tls;transport=tls" --cert "$TB_CERT_B" --key "$TB_KEY_B" \
	--trusted 127.0.0.1/32 $dns --log-level debug || { finish; exit 1; }
check "each node names the TLS listener its flows are reached through" \
	eval 'grep -q "flows registered here are reached by the other nodes through 127.0.0.1:$a_tls" "$tmp/N1.log" && grep -q "through $N2:$a_tls" "$tmp/N2.log"'

# ua NAME PORT REGISTRAR ARGS... - alice's sipdance-ua registered over TLS at REGISTRAR (ADDR)
ua() {
	n=$1 p=$2 reg=$3
	shift 3
	"$UA" --aor sip:alice@a.example --listen "sip:127.0.0.1:$p" --answer \
		--registrar "sips:$reg:$a_tls;transport=tls" --tls-cert "$TB_CERT_ALICE" --tls-key "$TB_KEY_ALICE" \
		--tls-listen "sips:127.0.0.1:$((p + 1));transport=tls" --cert "$TB_CERT_ALICE" \
		--key "$TB_KEY_ALICE" "$@" >"$tmp/$n.log" 2>&1 &
	eval "${n}_pid=$!"
	pids="$pids $!"
	"$wait_for" "$tmp/$n.log" "registered\|failed\|cannot" || true
}
# send NAME ADDR PORT METHOD RURI FROM ARGS... - one request over UDP (tests/kamailio-sip.py), in $tmp/NAME.out
send() {
	n=$1
	shift
	python3 "$srcdir/tests/kamailio-sip.py" udp "$@" >"$tmp/$n.out" 2>&1
}
# sendtls NAME ADDR CERT KEY METHOD RURI FROM ARGS... - the same over TLS with a client certificate
sendtls() {
	n=$1 a=$2 c=$3 k=$4
	shift 4
	python3 "$srcdir/tests/kamailio-sip.py" tls "$a" $a_tls "$@" --cert "$c" --key "$k" >"$tmp/$n.out" 2>&1
}
ns=sipdance:a.example:
key=${ns}reg:alice@a.example

# 1. alice over TLS at node 1: her binding in Redis names node 1 and her flow
ua ua1 $ua_p 127.0.0.1
line=$(rcli HGET "$key" N1)
token=$(echo "$line" | awk '{ print $3 }')
check "alice registered over TLS at node 1; Redis: \"$line\"" \
	eval 'grep -q "^ua: registered sip:alice@a.example" "$tmp/ua1.log" && echo "$line" | grep -Eq "^[0-9]+ sips?:([a-z]+@)?127.0.0.1:[0-9]+[^ ]* [0-9a-f]{32} 127.0.0.1:$a_tls\$"'
check "  ... and flow:TOKEN names node 1" eval '[ "$(rcli GET "${ns}flow:$token")" = "127.0.0.1:$a_tls" ]'

# 2. through node 2: node 2 routes to node 1, which authenticates it as a.example's server and
# sends on over alice's flow (OPTIONS answered by her UA)
send via2 $N2 $a_sip OPTIONS sip:alice@a.example sip:carol@a.example
check "OPTIONS to alice at node 2 reaches her UA over her flow at node 1: 200" \
	eval 'grep -q "^SIP/2.0 200" "$tmp/via2.out" && grep -q "OPTIONS carol: branch 1 via node 127.0.0.1:$a_tls, over the user.s flow there" "$tmp/N2.log"'
check "  ... node 1 authenticated node 2 as a.example's server, then used her flow" \
	eval 'grep -Eq "auth: peer=$N2:[0-9]+ domain=a.example rule=[a-z-]+ verdict=MATCH" "$tmp/N1.log" && grep -Eq "OPTIONS from node $N2:[0-9]+ of a.example: over the user.s flow here" "$tmp/N1.log"'
check "  ... and node 2 opened no connection to alice's address" \
	eval '! grep -q "new TLS connection to 127.0.0.1:$((ua_p + 1))" "$tmp/N2.log"'

# 3. strangers with her real token: refused before they reach her flow
n_flow=$(grep -c "of a.example: over the user's flow here" "$tmp/N1.log")
route="Route: <sip:a.example;lr;flow=$token>"
send forged_udp 127.0.0.1 $a_sip OPTIONS "sips:alice@127.0.0.1:$((ua_p + 1))" sip:carol@a.example --hdr "$route"
check "a Route to her flow over UDP, even from a trusted PBX: 403 with Reason" \
	grep -q '^Reason: SIP;cause=403;text="a user.s flow is reached only through a node of a.example, authenticated over TLS"' "$tmp/forged_udp.out"
python3 "$srcdir/tests/kamailio-sip.py" tls 127.0.0.1 $a_tls OPTIONS "sips:alice@127.0.0.1:$((ua_p + 1))" \
	sip:carol@a.example --hdr "$route" >"$tmp/forged_nocert.out" 2>&1
check "the same over TLS without a client certificate: 403 with Reason" \
	grep -q '^Reason: SIP;cause=403;text="a user.s flow is reached only through a node of a.example, authenticated over TLS"' "$tmp/forged_nocert.out"
sendtls forged_b 127.0.0.1 "$TB_CERT_B" "$TB_KEY_B" OPTIONS "sips:alice@127.0.0.1:$((ua_p + 1))" sip:bob@b.example --hdr "$route"
check "the same from b.example's proxy over TLS (its own key): 403, not a node of a.example" \
	grep -q '^Reason: SIP;cause=403;text="a user.s flow is reached only through a node of a.example: ' "$tmp/forged_b.out"
sendtls forged_alice 127.0.0.1 "$TB_CERT_ALICE" "$TB_KEY_ALICE" OPTIONS "sips:alice@127.0.0.1:$((ua_p + 1))" sip:alice@a.example --hdr "$route"
check "the same from alice's own key (a user of a.example, no server): 403" \
	grep -q '^Reason: SIP;cause=403;text="a user.s flow is reached only through a node of a.example: ' "$tmp/forged_alice.out"
send forged_tok 127.0.0.1 $a_sip OPTIONS "sips:alice@127.0.0.1:$((ua_p + 1))" sip:carol@a.example --hdr "Route: <sip:a.example;lr;flow=xyz>"
check "a flow= that is no token: 403" grep -q '^Reason: SIP;cause=403;text="the flow in Route is no flow token"' "$tmp/forged_tok.out"
check "  ... none of them reached her flow" eval '[ "$(grep -c "of a.example: over the user.s flow here" "$tmp/N1.log")" = "$n_flow" ]'

# 4. what Redis says is checked: a binding naming a node that is not a TLS target of a.example
# (b.example's proxy), or this very node, is not followed; the real one still answers
now=$(date +%s)
rcli HSET "$key" evil "$((now + 60)) sips:alice@127.0.0.1:5999;transport=tls $token 127.0.0.2:$b_tls
$((now + 60)) sips:alice@127.0.0.1:5998;transport=tls $token $N2:$a_tls
$((now + 60)) sips:alice@127.0.0.1:5997;transport=tls nottoken 127.0.0.1:$a_tls" >/dev/null
send evil $N2 $a_sip OPTIONS sip:alice@a.example sip:carol@a.example
check "hostile lines in Redis: alice still reached (200)" grep -q "^SIP/2.0 200" "$tmp/evil.out"
check "  ... a node that is not a TLS target of a.example is not reached" \
	eval 'grep -q "127.0.0.2:$b_tls is not a TLS target of a.example that the policy allows" "$tmp/N2.log" && ! grep -q "new TLS connection to 127.0.0.2:$b_tls" "$tmp/N2.log"'
check "  ... this node itself and a bad token are left out, logged" \
	eval 'grep -q "shared binding of node evil left out: the node is this proxy" "$tmp/N2.log" && grep -q "shared binding of node evil left out: not a flow token" "$tmp/N2.log"'
rcli HDEL "$key" evil >/dev/null

# 5. a whole call from carol (a UA behind node 2) to alice: INVITE, ACK and BYE inside the
# dialog go through node 2, which finds the node of alice's flow in Redis
"$UA" --aor sip:carol@a.example --listen "sip:127.0.0.1:$((ua_p + 4))" --proxy "sip:$N2:$a_sip" \
	--call sip:alice@a.example --duration 1 --cert "$TB_CERT_BOB" --key "$TB_KEY_BOB" \
	>"$tmp/carol.log" 2>&1 &
carol_pid=$!
pids="$pids $carol_pid"
wait $carol_pid
rc=$?
pids=$(echo "$pids" | sed "s/ $carol_pid\b//")
wait "$ua1_pid"
pids=$(echo "$pids" | sed "s/ $ua1_pid\b//")
check "carol calls alice through node 2: answered over her flow at node 1, media, BYE (exit $rc)" \
	eval '[ $rc = 0 ] && grep -q "call established" "$tmp/carol.log" && grep -q "answering call from carol" "$tmp/ua1.log"'
for m in ACK BYE; do
	check "  ... node 2 sent the $m to node 1, the flow's node by its key in Redis" \
		eval 'grep -q "$m carol: branch 1 via node 127.0.0.1:$a_tls" "$tmp/N2.log" && grep -Eq "$m from node $N2:[0-9]+ of a.example: over the user.s flow here" "$tmp/N1.log"'
done
send unreg $N2 $a_sip OPTIONS sip:alice@a.example sip:carol@a.example
check "alice's UA unregistered as it ended: 404 at node 2" grep -q "^SIP/2.0 404" "$tmp/unreg.out"

# 5b. alice's DANCE identity gone while her flow at node 1 stays open (her _user TLSA withdrawn,
# node 1's SIGHUP): node 1, which holds the flow, judges her identity again before sending over
# it, removes her binding (and its lines in Redis), and the request through node 2 gets 480
ua ua5 $((ua_p + 10)) 127.0.0.1
send live5 $N2 $a_sip OPTIONS sip:alice@a.example sip:carol@a.example
check "alice registered at node 1 by her DANCE identity, reached through node 2: 200" \
	eval 'grep -q "^SIP/2.0 200" "$tmp/live5.out" && [ "$(grep -c "user=alice@a.example method=REGISTER rule=dane-clientid verdict=MATCH" "$tmp/N1.log")" -ge 2 ]'
$TB_KNOTC zone-begin a.example. >/dev/null && $TB_KNOTC zone-unset a.example. "$TB_USER_ALICE" TLSA >/dev/null &&
	$TB_KNOTC zone-commit a.example. >/dev/null || bad "alice's _user TLSA withdrawn"
hup N1
n_flow=$(grep -c "of a.example: over the user's flow here" "$tmp/N1.log")
send lapsed5 $N2 $a_sip OPTIONS sip:alice@a.example sip:carol@a.example
check "  ... her _user TLSA withdrawn, node 1's SIGHUP: through node 2, 480 (node 1's 430), not sent over her flow" \
	eval 'grep -q "^SIP/2.0 480" "$tmp/lapsed5.out" && [ "$(grep -c "of a.example: over the user.s flow here" "$tmp/N1.log")" = "$n_flow" ]'
check "  ... node 1 judged her again (NODATA) and removed her binding, with the reason" \
	eval 'grep -q "dane_clientid [0-9a-f]*._user.a.example NODATA via=dns (judged again)" "$tmp/N1.log" && grep -q "registrar: alice@a.example: binding <.*> removed: the DANCE identity it was registered with is no longer valid on its TLS connection: dane_clientid NODATA" "$tmp/N1.log" && grep -q "user registered with over this flow is no longer valid" "$tmp/N1.log"'
check "  ... and her line in Redis with it" eval '[ -z "$(rcli HGET "$key" N1)" ]'
$TB_KNOTC zone-begin a.example. >/dev/null && $TB_KNOTC zone-set a.example. "$TB_USER_ALICE" "$TB_TTL" TLSA 3 1 1 "$TB_SPKI_ALICE" >/dev/null &&
	$TB_KNOTC zone-commit a.example. >/dev/null || bad "alice's _user TLSA restored"
hup N1
kill "$ua5_pid" 2>/dev/null
wait "$ua5_pid" 2>/dev/null
pids=$(echo "$pids" | sed "s/ $ua5_pid\b//")

# flows_closed N PORT - until node N has no TCP connection from port PORT left (it read the close)
flows_closed() {
	i=0
	while ss -Htn "( sport = :$a_tls and dport = :$2 )" | grep -q . && [ $i -lt $((100 * vg_slow)) ]; do
		i=$((i + 1))
		sleep 0.05
	done
}
ua ua2 $((ua_p + 2)) 127.0.0.1
uap=$(grep "user=alice@a.example method=REGISTER" "$tmp/N1.log" | tail -1 | sed 's/.*peer=127.0.0.1:\([0-9]*\) .*/\1/')
kill -KILL "$ua2_pid"
wait "$ua2_pid" 2>/dev/null
pids=$(echo "$pids" | sed "s/ $ua2_pid\b//")
flows_closed N1 "$uap"
send closed $N2 $a_sip OPTIONS sip:alice@a.example sip:carol@a.example
check "alice's UA killed (no unregistration): node 2 answers 480, her flow at node 1 closed (its 430)" \
	eval 'grep -q "^Reason: SIP;cause=480;text=\"the user.s TLS flow at node 127.0.0.1:$a_tls has closed" "$tmp/closed.out" && grep -q "no such flow at this node" "$tmp/N1.log"'
check "  ... node 2 never opened a connection to alice's addresses" \
	eval '! grep -Eq "new TLS connection to 127.0.0.1:($((ua_p + 1))|$((ua_p + 3)))" "$tmp/N2.log"'

# 6. a UDP user registered at node 2, reached through node 1
sipp_run reg $N2:$a_sip -sf "$srcdir/tests/sip-register.xml" -i 127.0.0.1 -p $opt_p -mp $opt_m -cp $opt_c \
	-ap "$pw" -s dave -key rdomain a.example -key contact 127.0.0.1:$uas_p -key expires 60
sipp_bg uas -sf "$srcdir/tests/sip-uas.xml" -i 127.0.0.1 -p $uas_p -mp $uas_m -cp $uas_c
sipp_run uac 127.0.0.1:$a_sip -sn uac -i 127.0.0.1 -p $uac_p -mp $uac_m -cp $uac_c -s dave
rc=$?
wait "$uas_pid" 2>/dev/null
check "dave (UDP) registered at node 2 and called through node 1: completed" \
	eval '[ $rc = 0 ] && grep -q "^INVITE sip:dave@127.0.0.1:$uas_p" "$tmp/uas.msg"'

# 7. node 1 dies with alice's flow
ua ua4 $((ua_p + 6)) 127.0.0.1
check "alice registered at node 1 again" grep -q "^ua: registered sip:alice@a.example" "$tmp/ua4.log"
kill -KILL "$N1_pid"
wait "$N1_pid" 2>/dev/null
pids=$(echo "$pids" | sed "s/ $N1_pid\b//")
send dead $N2 $a_sip OPTIONS sip:alice@a.example sip:carol@a.example
check "node 1 killed: node 2 answers 480 with Reason for alice, and opens nothing to her address" \
	eval 'grep -q "^Reason: SIP;cause=480;text=\"the node holding the user.s TLS flow (127.0.0.1:$a_tls) cannot be reached" "$tmp/dead.out" && ! grep -q "new TLS connection to 127.0.0.1:$((ua_p + 7))" "$tmp/N2.log"'
send fail 127.0.0.2 $b_sip OPTIONS sip:nobody@a.example sip:bob@b.example
check "b.example's proxy fails over to node 2 (SRV), which answers (404 for nobody)" \
	eval 'grep -q "^SIP/2.0 404" "$tmp/fail.out" && grep -q "failover for a.example: 127.0.0.1:$a_tls failed .*; next $N2:$a_tls" "$tmp/B.log"'
kill "$ua4_pid" 2>/dev/null
ua ua3 $((ua_p + 8)) $N2
send back $N2 $a_sip OPTIONS sip:alice@a.example sip:carol@a.example
check "alice registers at node 2 and is reached again over her flow there: 200" \
	eval 'grep -q "^ua: registered sip:alice@a.example" "$tmp/ua3.log" && grep -q "^SIP/2.0 200" "$tmp/back.out"'
send back_b 127.0.0.2 $b_sip OPTIONS sip:alice@a.example sip:bob@b.example
check "  ... and from b.example (through node 2): 200" grep -q "^SIP/2.0 200" "$tmp/back_b.out"
kill "$ua3_pid" 2>/dev/null
stop_proxy N2
stop_proxy B
finish
