#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# proxy-state.sh - two sipdance-proxy nodes of a.example sharing their
# registrar through Redis (--state): a UDP user registered at node 2 is
# reached through node 1; what node 1 reads from Redis is checked line by
# line (a host name, this proxy, an expiry too far ahead or garbage are left
# out, logged); Expires: 0 at node 2 removes the binding everywhere; a CANCEL
# while Redis hangs ends the call; Redis stopped: 503 with the reason, not a
# 404 that would tell the caller the user is not registered, and a REGISTER
# gets 503 and binds nothing (--state-fail open: 200, logged); Redis back:
# node 1 reconnects and registers again; node 1's
# --metrics count the store's operations by result, with their latency.
# Digest nonce counts are claimed in Redis: a response accepted at node 1
# and replayed at node 2 is challenged again (stale); Redis stopped: 503.
# --max-contacts counts an AOR's contacts at every node, also when nodes
# register the same AOR at once (each write checks what it counted). The
# SIPp clients on 127.0.0.1 stand for a PBX of a.example (--trusted
# 127.0.0.1/32). The shared STIR replay cache is tested in proxy-stir.sh.
. "${srcdir:-.}/tests/proxy-lib.sh"
base=$("${srcdir:-.}/tests/ports.sh" $$)
uac_p=$((base + 1)) opt_p=$((base + 2)) opt_m=$((base + 4)) opt_c=$((base + 8))
uas_p=$((base + 10)) uas_m=$((base + 12)) uas_c=$((base + 16)) R=$((base + 40)) N1=$((base + 41)) N2=$((base + 42)) M=$((base + 43)) NO=$((base + 44))
need sipp redis-server redis-cli

head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$tmp/redis.pw"
echo >>"$tmp/redis.pw"
chmod 600 "$tmp/redis.pw"
# redis_start - the shared Redis (password from a file), on loopback, not persisting
redis_start() {
	redis-server --port $R --bind 127.0.0.1 --save "" --appendonly no --requirepass "$(cat "$tmp/redis.pw")" \
		>>"$tmp/redis.log" 2>&1 &
	redis_pid=$!
	pids="$pids $redis_pid"
	"$wait_for" -t $R
}
redis_start || { bad "redis-server listening on port $R"; finish; exit 1; }
rcli() { redis-cli -p $R -a "$(cat "$tmp/redis.pw")" --no-auth-warning "$@"; }
# dave: a Digest user of a.example, from 127.0.0.2 (not trusted); both nodes share the nonce key
sd=$("${srcdir:-.}/tests/valgrind.sh" "${top_builddir:-.}/sipdance")
pw=$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
# bob, erin, frank, carol and eve register through SIPp (MD5, offered first) with dave's password
for u in dave bob erin frank carol eve; do echo "$pw" | "$sd" user-digest $u a.example; done >"$tmp/users"
chmod 600 "$tmp/users"
openssl rand 32 >"$tmp/secret"
aopts="--users $tmp/users --auth-secret $tmp/secret --digest-algorithms MD5,SHA-256"
# digest NAME PORT ARGS... - dave's REGISTER (Expires: 0) at PORT from 127.0.0.2, one line per answer in $tmp/NAME.out
digest() {
	dn=$1 dp=$2
	shift 2
	python3 "$srcdir/tests/sip-digest.py" 127.0.0.1 "$dp" REGISTER sip:a.example --from sip:dave@a.example --to sip:dave@a.example \
		--user dave --password "$pw" --bind 127.0.0.2 --expires 0 "$@" >"$tmp/$dn.out" 2>&1
}
for n in N1 N2; do
	# shellcheck disable=SC2046
	start_proxy $n --domain a.example --listen "sip:127.0.0.1:$(eval echo \$$n);transport=udp" \
		--listen "sip:127.0.0.1:$(eval echo \$$n);transport=tcp" \
		--state "redis://127.0.0.1:$R" --state-password-file "$tmp/redis.pw" --node-id $n \
		--state-timeout $((10000 * vg_slow)) \
		$([ $n = N1 ] && echo --metrics $M) --trusted 127.0.0.1/32 $aopts --max-contacts 2 \
		--log-level debug || { finish; exit 1; }
	"$wait_for" "$tmp/$n.log" "store: connected to Redis" || bad "node $n connected to Redis"
done
opts="-i 127.0.0.1 -mp $opt_m -cp $opt_c -ap $pw"
key=sipdance:a.example:reg:bob@a.example
# 1. registered at node 2, reached through node 1
sipp_run reg 127.0.0.1:$N2 -sf "$srcdir/tests/sip-register.xml" $opts -p $opt_p -s bob \
	-key rdomain a.example -key contact 127.0.0.1:$uas_p -key expires 60
shared=$(rcli HGET $key N2)
check "REGISTER bob at node 2: 200, and Redis held node 2's binding in $key when it came (\"$shared\")" \
	eval '[ "$(status "$tmp/reg.msg")" = 200 ] && echo "$shared" | grep -Eq "^[0-9]+ sip:bob@127.0.0.1:$uas_p\$" && [ "$(rcli TTL $key)" -gt 0 ]'
sipp_bg uas -sf "$srcdir/tests/sip-uas.xml" -i 127.0.0.1 -p $uas_p -mp $uas_m -cp $uas_c
sipp_run uac 127.0.0.1:$N1 -sn uac $opts -p $uac_p -s bob
rc=$?
wait "$uas_pid" 2>/dev/null
check "a call to bob through node 1 reached his contact registered at node 2 and completed" \
	eval '[ $rc = 0 ] && grep -q "^INVITE sip:bob@127.0.0.1:$uas_p" "$tmp/uas.msg"'

# 2. what node 1 reads is checked: a writer of Redis cannot point bob elsewhere
now=$(date +%s)
rcli HSET $key evil "$((now + 30)) sip:bob@evil.example
$((now + 999999)) sip:bob@127.0.0.9:5060
nonsense
$((now + 30)) sip:bob@127.0.0.1:$N1
$((now + 30)) sip:bob@127.0.0.1:5060;maddr=192.0.2.1
$((now + 30)) sips:bob@127.0.0.1:5061" >/dev/null
sipp_bg uas2 -sf "$srcdir/tests/sip-uas.xml" -i 127.0.0.1 -p $uas_p -mp $uas_m -cp $uas_c
sipp_run uac2 127.0.0.1:$N1 -sn uac $opts -p $uac_p -s bob
rc=$?
wait "$uas2_pid" 2>/dev/null
check "hostile lines in Redis: the call still reached bob's real contact only" \
	eval '[ $rc = 0 ] && ! grep -q "branch [2-9] via" "$tmp/N1.log"'
for why in "the contact host must be an IP address" "expired or too far ahead" "no contact" \
	"the contact is this proxy" "maddr in a contact is not accepted" \
	"a TLS contact is bound only by a REGISTER over its own TLS connection"; do
	check "hostile line left out and logged: $why" \
		grep -q "shared binding of node evil left out: $why" "$tmp/N1.log"
done
rcli HDEL $key evil >/dev/null

# 3. unregistered at node 2: gone at node 1 too
sipp_run unreg 127.0.0.1:$N2 -sf "$srcdir/tests/sip-register.xml" $opts -p $opt_p -s bob \
	-key rdomain a.example -key contact 127.0.0.1:$uas_p -key expires 0
check "Expires: 0 at node 2: 200, node 2's field of bob gone from Redis when it came" \
	eval '[ "$(status "$tmp/unreg.msg")" = 200 ] && [ -z "$(rcli HGET $key N2)" ]'
sipp_run gone 127.0.0.1:$N1 -sf "$srcdir/tests/sip-options.xml" $opts -p $opt_p -s bob \
	-key rdomain a.example -key fromdomain a.example
check "after Expires: 0 at node 2, node 1 answers 404 for bob" eval '[ "$(status "$tmp/gone.msg")" = 404 ]'

# 4. Digest: a response accepted at node 1 is claimed in Redis (nonce MAC and count); replayed at node 2: stale
# the nonce counts claimed by the REGISTERs above (bob's, with Digest too) out of the way: dave's is the one
rcli --scan --pattern 'sipdance:a.example:nc:*' | while read -r k; do rcli DEL "$k" >/dev/null; done
digest dig1 $N1 --replay-to $N2
nck=$(rcli --scan --pattern 'sipdance:a.example:nc:*' | head -1)
check "Digest at node 1: 401 then 200; the nonce count claimed in Redis ($nck, TTL $(rcli TTL "$nck") s <= 330)" \
	eval '[ "$(sed -n 1p "$tmp/dig1.out" | cut -c1-3)" = 401 ] && [ "$(sed -n 2p "$tmp/dig1.out" | cut -c1-3)" = 200 ] && echo "$nck" | grep -Eq "^sipdance:a.example:nc:[0-9a-f]{32}:00000001\$" && [ "$(rcli GET "$nck")" = N1 ] && [ "$(rcli TTL "$nck")" -le 330 ]'
check "the same Authorization replayed at node 2: challenged again, stale=true (\"$(sed -n 3p "$tmp/dig1.out")\")" \
	eval 'sed -n 3p "$tmp/dig1.out" | grep -q "^401 stale=1 " && grep -q "rule=digest verdict=STALE (nonce count replayed (used at this node or another))" "$tmp/N2.log"'
digest dig2 $N2
check "Digest at node 2 with a nonce of its own: 200" eval '[ "$(sed -n 2p "$tmp/dig2.out" | cut -c1-3)" = 200 ]'

# 5. --max-contacts 2 holds across the nodes: erin's third contact is refused wherever it comes
# reg NAME PORT USER HOST:PORT LOCAL - a REGISTER (Expires: 60) through SIPp from port LOCAL
# (each its own: a slow proxy answers a retransmission after SIPp is gone)
reg() {
	sipp_run "$1" 127.0.0.1:"$2" -sf "$srcdir/tests/sip-register.xml" $opts -p "$5" -s "$3" \
		-key rdomain a.example -key contact "$4" -key expires 60
}
reg e1 $N1 erin 127.0.0.1:$((base + 50)) $((base + 60))
reg e2 $N2 erin 127.0.0.1:$((base + 51)) $((base + 61))
check "erin: one contact at node 1, another at node 2: 200 each (2 bindings, --max-contacts 2)" \
	eval '[ "$(status "$tmp/e1.msg")" = 200 ] && [ "$(status "$tmp/e2.msg")" = 200 ]'
reg e3 $N1 erin 127.0.0.1:$((base + 52)) $((base + 62))
rs=$(msg "$tmp/e3.msg" received '^SIP/2.0 503' | header Reason)
check "erin's third contact at node 1 (which holds one): 503, counted with node 2's ($rs)" \
	eval 'echo "$rs" | grep -q "^Reason: SIP;cause=503;text=\"erin@a.example would have 3 bindings (--max-contacts 2)"'
reg e4 $N2 erin 127.0.0.1:$((base + 50)) $((base + 63))
check "erin's node 1 contact registered again at node 2: 200 (the same contact is counted once)" \
	eval '[ "$(status "$tmp/e4.msg")" = 200 ]'

# Redis refuses the write (EVAL, the checked write of the bindings, taken from its user): 503 with
# the reason, nothing bound at node 1
rcli ACL SETUSER default -eval >/dev/null
reg f1 $N1 frank 127.0.0.1:$((base + 53)) $((base + 64))
rcli ACL SETUSER default +eval >/dev/null
rs=$(msg "$tmp/f1.msg" received '^SIP/2.0 503' | header Reason)
check "Redis refuses the write: frank's REGISTER at node 1 gets 503 with the reason ($(echo "$rs" | cut -c1-100))" \
	eval 'echo "$rs" | grep -q "^Reason: SIP;cause=503;text=\"registrar state not written: .*NOPERM"'
sipp_run frank 127.0.0.1:$N1 -sf "$srcdir/tests/sip-options.xml" $opts -p $opt_p -s frank \
	-key rdomain a.example -key fromdomain a.example
check "... and node 1 holds no binding of frank: 404" eval '[ "$(status "$tmp/frank.msg")" = 404 ]'

# 5b. the Redis server and the --metrics listener are no destination: a request sent there over TCP
# would have its lines read as commands (a body "FLUSHALL" empties the shared state); Redis counts
# the commands it refused for want of AUTH, none of which may come from a SIP request
noauth() { rcli INFO errorstats | sed -n 's/^errorstat_NOAUTH:count=\([0-9]*\).*/\1/p'; }
n0=$(noauth)
printf 'SET ssrf 1\r\nFLUSHALL\r\n' >"$tmp/cmds"
tonode1() { python3 "$srcdir/tests/sip-digest.py" 127.0.0.1 $N1 "$@" --from sip:pbx@a.example --no-auth \
	--body-file "$tmp/cmds" 2>&1 | head -1; }
st1=$(tonode1 MESSAGE "sip:x@127.0.0.1:$R;transport=tcp")
st2=$(tonode1 MESSAGE "sip:x@127.0.0.2:$R;transport=tcp")
st3=$(tonode1 MESSAGE sip:bob@a.example --hdr "Route: <sip:127.0.0.1:$R;transport=tcp;lr>")
st4=$(tonode1 MESSAGE "sip:x@127.0.0.1:$M;transport=tcp")
check "a request for the --state server (its address, another loopback one, a Route) or the --metrics listener: 403" \
	eval 'printf "%s\n" "$st1" "$st2" "$st3" "$st4" | grep -c "^403 .*not SIP" | grep -qx 4'
st5=$(python3 "$srcdir/tests/sip-digest.py" 127.0.0.1 $N1 REGISTER sip:a.example --from sip:eve@a.example \
	--to sip:eve@a.example --contact "sip:eve@127.0.0.1:$R;transport=tcp" --expires 60 --user eve \
	--password "$pw" 2>&1 | tail -1)
check "  ... a contact naming the --state server: 403, not bound" \
	eval 'echo "$st5" | grep -q "^403 .*not SIP" && [ -z "$(rcli HGETALL sipdance:a.example:reg:eve@a.example)" ]'
check "  ... and Redis never read a line of them (no NOAUTH error counted)" eval '[ "$(noauth)" = "$n0" ]'

# 6. Redis hung (SIGSTOP) while node 1 reads bob's bindings: a CANCEL ends the call at once (487)
kill -STOP "$redis_pid"
sipp_run hung 127.0.0.1:$N1 -sf "$srcdir/tests/sip-stir-cancel.xml" $opts -p $uac_p -s bob \
	-key rdomain a.example -key from "sip:alice@a.example" -key to "sip:bob@a.example" -key ihdr "X-Filler: none"
rc=$?
kill -CONT "$redis_pid"
check "CANCEL while node 1 waits for Redis: 200 and 487, node 1 alive" \
	eval '[ $rc = 0 ] && grep -q "^SIP/2.0 487" "$tmp/hung.msg" && kill -0 $N1_pid'

# 7. Redis stopped: 503 with the reason, not 404
reap "$redis_pid" || bad "redis-server stopped"
pids=$(echo "$pids" | sed "s/ $redis_pid\b//")
sipp_run down 127.0.0.1:$N1 -sf "$srcdir/tests/sip-options.xml" $opts -p $opt_p -s bob \
	-key rdomain a.example -key fromdomain a.example
rs=$(msg "$tmp/down.msg" received '^SIP/2.0 503' | header Reason)
check "Redis stopped: a request for a user of ours gets 503 with the reason ($rs)" \
	eval 'echo "$rs" | grep -q "^Reason: SIP;cause=503;text=\"registrar state unavailable: Redis 127.0.0.1:$R/0: "'
sipp_run regdown 127.0.0.1:$N1 -sf "$srcdir/tests/sip-register.xml" $opts -p $((base + 65)) -s carol \
	-key rdomain a.example -key contact 127.0.0.1:$uas_p -key expires 60
rs=$(msg "$tmp/regdown.msg" received '^SIP/2.0 503' | header Reason)
check "Redis stopped: a REGISTER at node 1 gets 503 with the reason, its Digest nonce count unclaimed ($rs)" \
	eval 'echo "$rs" | grep -q "^Reason: SIP;cause=503;text=\"digest state unavailable: Redis 127.0.0.1:$R/0: "'
digest digdown $N1
check "Redis stopped: a Digest response at node 1 gets 503 with the reason ($(sed -n 2p "$tmp/digdown.out"))" \
	eval 'sed -n 2p "$tmp/digdown.out" | grep -q "^503 .*reason=\"digest state unavailable: Redis 127.0.0.1:$R/0: "'
# shellcheck disable=SC2086
start_proxy NO --domain a.example --listen "sip:127.0.0.1:$NO;transport=udp" --state "redis://127.0.0.1:$R" \
	--state-password-file "$tmp/redis.pw" --node-id NO --state-fail open --trusted 127.0.0.1/32 $aopts ||
	{ finish; exit 1; }
digest digopen $NO
check "--state-fail open: that Digest response is accepted at a node failing open, logged" \
	eval '[ "$(sed -n 2p "$tmp/digopen.out" | cut -c1-3)" = 200 ] && grep -q "FAIL OPEN: .* the claim is let through unchecked" "$tmp/NO.log"'
sipp_run regopen 127.0.0.1:$NO -sf "$srcdir/tests/sip-register.xml" $opts -p $((base + 66)) -s carol \
	-key rdomain a.example -key contact 127.0.0.1:$uas_p -key expires 60
check "--state-fail open: the REGISTER is answered 200 (bound at that node only), the failed write logged" \
	eval '[ "$(status "$tmp/regopen.msg")" = 200 ] && grep -q "FAIL OPEN: Redis 127.0.0.1:$R/0: .* the write is let through unchecked" "$tmp/NO.log"'
stop_proxy NO
python3 "$srcdir/tests/http-get.py" 127.0.0.1 $M --timeout $((10 * vg_slow)) >"$tmp/metrics" 2>&1
val() { awk -v s="$1" '$1 == s { v = $2 } END { print v + 0 }' "$tmp/metrics"; }
ok_n=$(val 'sipdance_store_operations_total{op="hgetall",result="OK"}')
absent_n=$(val 'sipdance_store_operations_total{op="hgetall",result="ABSENT"}')
err_n=$(val 'sipdance_store_operations_total{op="hgetall",result="ERROR"}')
count=$(val sipdance_store_operation_seconds_count)
check "node 1's metrics: reads of the shared registrar by result ($ok_n OK, $absent_n ABSENT, $err_n ERROR) and their latency ($count timed)" \
	eval '[ "$ok_n" -ge 2 ] && [ "$absent_n" -ge 1 ] && [ "$err_n" -ge 1 ] && [ "$count" -ge $((ok_n + absent_n + err_n)) ]'

# 8. Redis back: node 1 reconnects by itself; carol's failed REGISTER left nothing behind there
redis_start || bad "redis-server restarted"
"$wait_for" -n 2 "$tmp/N1.log" "store: connected to Redis" $((15 * vg_slow)) || bad "node 1 reconnected to Redis"
sipp_run carol 127.0.0.1:$N1 -sf "$srcdir/tests/sip-options.xml" $opts -p $((base + 67)) -s carol \
	-key rdomain a.example -key fromdomain a.example
check "Redis back: node 1 answers 404 for carol, whose REGISTER there got 503 (no local-only binding)" \
	eval '[ "$(status "$tmp/carol.msg")" = 404 ]'
sipp_run regback 127.0.0.1:$N1 -sf "$srcdir/tests/sip-register.xml" $opts -p $((base + 68)) -s carol \
	-key rdomain a.example -key contact 127.0.0.1:$uas_p -key expires 60
check "Redis back: carol's REGISTER at node 1 gets 200, her binding already in Redis when it does" \
	eval '[ "$(status "$tmp/regback.msg")" = 200 ] && rcli HGET sipdance:a.example:reg:carol@a.example N1 | grep -q "sip:carol@127.0.0.1:$uas_p"'

# 9. nodes registering one AOR at once cannot pass --max-contacts together: nodes 3 and 4 reach Redis
# through tests/redis-hold.py, which can hold the writes of frank's bindings. frank has one contact
# (node 3); then a REGISTER at each node reads it (1 of 2 allowed), and both writes are held until
# both are there. Released, one lands; the other finds the bindings changed since it counted them,
# counts again (2) and answers 503: frank has 2 bindings, not 3
RH=$((base + 70)) N3=$((base + 71)) N4=$((base + 72))
python3 "$srcdir/tests/redis-hold.py" 127.0.0.1 $RH 127.0.0.1 $R "reg:frank@" "$tmp/hold.count" \
	>"$tmp/hold.out" 2>&1 &
hold_pid=$!
pids="$pids $!"
"$wait_for" "$tmp/hold.out" listening || bad "the Redis relay started" "$(cat "$tmp/hold.out")"
for n in N3 N4; do
	start_proxy $n --domain a.example --listen "sip:127.0.0.1:$(eval echo \$$n);transport=udp" \
		--state "redis://127.0.0.1:$RH" --state-password-file "$tmp/redis.pw" --node-id $n \
		--state-timeout $((30000 * vg_slow)) --trusted 127.0.0.1/32 $aopts --max-contacts 2 \
		--log-level debug || { finish; exit 1; }
	"$wait_for" "$tmp/$n.log" "store: connected to Redis" || bad "node $n connected to Redis"
done
# freg NAME PORT CONTACT-PORT - frank's REGISTER of sip:frank@127.0.0.1:CONTACT-PORT at node PORT
# (Digest); the final status after the challenge is the second line of $tmp/NAME.out
freg() {
	python3 "$srcdir/tests/sip-digest.py" 127.0.0.1 "$2" REGISTER sip:a.example --from sip:frank@a.example \
		--to sip:frank@a.example --contact "sip:frank@127.0.0.1:$3" --expires 60 --user frank \
		--password "$pw" >"$tmp/$1.out" 2>&1
}
fst() { sed -n 2p "$tmp/$1.out" | cut -c1-3; }
freg k0 $N3 $((base + 80))
check "frank: one contact at node 3: 200" eval '[ "$(fst k0)" = 200 ]'
kill -USR1 $hold_pid
"$wait_for" "$tmp/hold.out" holding || bad "the Redis relay holds frank's writes"
freg k1 $N3 $((base + 81)) &
k1_pid=$!
freg k2 $N4 $((base + 82)) &
k2_pid=$!
check "a REGISTER at node 3 and one at node 4 have both counted frank's bindings: both writes held" \
	"$wait_for" "$tmp/hold.count" "held 2" 30
kill -USR2 $hold_pid
wait $k1_pid $k2_pid
check "released: one REGISTER 200, the other 503 ($(fst k1), $(fst k2)): --max-contacts 2 across the nodes" \
	eval '[ "$(fst k1) $(fst k2)" = "200 503" ] || [ "$(fst k1) $(fst k2)" = "503 200" ]'
check "... the later write found frank's bindings changed, counted them again (logged), and bound nothing" \
	eval 'cat "$tmp/N3.log" "$tmp/N4.log" | grep -q "REGISTER frank@a.example: the shared bindings changed since they were counted: counted again" && grep -q "would have 3 bindings (--max-contacts 2)" "$tmp/k1.out" "$tmp/k2.out"'
check "frank holds 2 bindings in Redis, not 3" \
	eval '[ "$(rcli HGETALL sipdance:a.example:reg:frank@a.example | grep -c "sip:frank@")" = 2 ]'
stop_proxy N3
stop_proxy N4
stop_proxy N1
stop_proxy N2
finish
