#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# proxy-hostile.sh - sipdance-proxy as an internet-facing service, attacked
# with small raw-SIP and raw-TLS clients (tests/hostile.py) on the Knot
# testbed, in its default configuration (plus the listeners, certificate,
# resolver and one static user every deployment has). Each block is one
# class of attack from docs/reliability.md ("Hostile peers"); each asserts
# counts, statuses and log lines, never elapsed time.
. "${srcdir:-.}/tests/proxy-lib.sh"
H="python3 $srcdir/tests/hostile.py"
CLIENT=$("${srcdir:-.}/tests/valgrind.sh" "${top_builddir:-.}/tests/sip-tls-client")
base=$("${srcdir:-.}/tests/ports.sh" $$)
b_sip=$base b_tls=$((base + 1)) b_tls2=$((base + 2)) dnsp=$((base + 8)) bob=$((base + 10))
bob2=$((base + 11)) uas=$((base + 12)) sink=$((base + 13)) tsink=$((base + 14)) sink1=$((base + 15))
c_sip=$((base + 20))
d_sip=$((base + 21)) p_sip=$((base + 22)) hole=$((base + 23)) e_sip=$((base + 24)) p_tls=$((base + 25))
lport=$((base + 50))
need knotd keymgr kdig ldns-signzone openssl python3

export TB_B_TLS_PORT=$b_tls TB_B_SIP_PORT=$b_sip TB_A_TLS_PORT=$((base + 3)) TB_A_SIP_PORT=$((base + 4))
start_testbed $dnsp

# users of b.example (Digest, MD5), one password: the attackers are users too
pw=$(openssl rand -hex 8)
for u in carol alice amp loop eve src0 src1 src2 src3 src4 src5 src6 src7 src8 src9; do
	printf '%s:b.example:%s\n' $u "$(printf '%s:b.example:%s' $u "$pw" | md5sum | cut -d' ' -f1)"
done >"$tmp/users"
chmod 600 "$tmp/users"
# as USER - hostile.py's Digest answer for USER
as() { echo "--auth $1:$pw"; }

# sinks: UAS that count what reaches them (bob, bob's second contact, the
# addresses attacks aim at over UDP and TCP, a black hole)
for x in "udp $bob bob" "udp $bob2 bob2" "udp $sink sink" "tcp $tsink tsink" "udp $hole hole --silent" \
	"udp $sink1 sink1 --on 127.0.0.1"; do
	set -- $x
	a=127.0.0.2
	[ "${4:-}" = --on ] && a=$5 && set -- "$1" "$2" "$3"
	$H sink "$1" $a "$2" "$tmp/$3.count" ${4:-} >"$tmp/$3.out" 2>&1 &
	pids="$pids $!"
done
start_proxy B --domain b.example --listen "sip:127.0.0.2:$b_sip;transport=udp" \
	--listen "sip:127.0.0.2:$b_sip;transport=tcp" --listen "sips:127.0.0.2:$b_tls;transport=tls" \
	--listen "sips:127.0.0.2:$b_tls2;transport=tls" --cert "$TB_CERT_B" --key "$TB_KEY_B" \
	--resolver "$TB_RESOLVER" --trust-anchor "$TB_ANCHOR" \
	--location "bob@b.example=sip:bob@127.0.0.2:$bob" \
	--location "fork@b.example=sip:bob@127.0.0.2:$bob" --location "fork@b.example=sip:bob@127.0.0.2:$bob2" \
	--location "stray@b.example=sip:stray@127.0.0.2:$uas" --users "$tmp/users" \
	--e164-route "sip:127.0.0.2:$sink;transport=udp" \
	--client-domains b.example,c.example --log-level debug || exit 1

# count NAME - how many messages reached sink NAME
count() { cut -d' ' -f1 "$tmp/$1.count" 2>/dev/null || echo 0; }
# delivered - how many requests reached bob's sink
delivered() { count bob; }
# logged REGEX - wait (bounded) for a line of B's log
logged() { "$srcdir/tests/wait-for.sh" "$tmp/B.log" "$1" 10; }

# request FILE METHOD RURI FROM [EXTRA-HEADER...] - a request file for hostile.py
request() {
	f=$1 m=$2 r=$3 fr=$4
	shift 4
	{
		printf '%s %s SIP/2.0\nVia: SIP/2.0/@TP@ @LOCAL@;branch=@BRANCH@;rport\n' "$m" "$r"
		printf 'Max-Forwards: 70\nFrom: <%s>;tag=h%s\nTo: <%s>\n' "$fr" "$$" "$r"
		printf 'Call-ID: %s-%s@hostile\nCSeq: 1 %s\n' "$(basename "$f")" "$$" "$m"
		for h in "$@"; do printf '%s\n' "$h"; done
		printf 'Content-Length: 0\n\n'
	} >"$f"
}
# hold NAME REGEX CMD... - run hostile.py CMD, which keeps its connection(s) until
# $tmp/NAME.hold exists, in the background (output $tmp/NAME.out) and wait for REGEX there
hold() {
	n=$1 re=$2
	shift 2
	rm -f "$tmp/$n.hold"
	$H "$@" --hold "$tmp/$n.hold" >"$tmp/$n.out" 2>&1 &
	eval "${n}_hpid=$!"
	"$srcdir/tests/wait-for.sh" "$tmp/$n.out" "$re" 10
}
# release NAME... - let them go, and wait until they have
release() { for n in "$@"; do touch "$tmp/$n.hold"; wait "$(eval echo \$${n}_hpid)"; done; }
# over TP FILE - the request file with its Via transport set
over() { sed "s|@TP@|$1|" "$2" >"$2.$1"; echo "$2.$1"; }

# 1. TLS identity bound to the connection that completed the handshake
# (a.example asserting its own user, one of ours, one of c.example and numbers at its own domain:
# only its own user goes on)
request "$tmp/imp" MESSAGE sip:bob@b.example sip:alice@a.example "P-Asserted-Identity: <sip:alice@a.example>" \
	"P-Asserted-Identity: <sip:carol@b.example>" "Remote-Party-ID: \"CEO\" <sip:ceo@c.example>;party=calling" \
	"P-Asserted-Identity: <sip:+12025550123@a.example;user=phone>" \
	"P-Preferred-Identity: <sip:%2B1202555%30124@a.example>"
imp=$(over TLS "$tmp/imp")
n0=$(delivered)
# 1a. a.example's certificate on one listener, stalled before CertificateVerify;
# the same ip:port on the other listener, without a certificate, claims alice
hold stall1 'stalled|closed' stall-cert 127.0.0.2 $b_tls $lport "$TB_CERT_A" "$TB_KEY_A"
$H tls 127.0.0.2 $b_tls2 $lport "$imp" >"$tmp/imp1.out" 2>&1
release stall1
check "stalled handshake: connection 1 sent the certificate, held CertificateVerify" \
	grep -q 'stalled before CertificateVerify' "$tmp/stall1.out"
check "same ip:port, other listener, no certificate, From alice@a.example: 403" \
	grep -q '^SIP/2.0 403' "$tmp/imp1.out"
# 1b. the stalled connection reset, the same ip:port again on the same listener
hold stall2 'stalled|closed' stall-cert 127.0.0.2 $b_tls $lport "$TB_CERT_A" "$TB_KEY_A" --rst
release stall2
$H tls 127.0.0.2 $b_tls $lport "$imp" >"$tmp/imp2.out" 2>&1
check "a dead connection's certificate, the same ip:port reconnecting without one: 403" \
	grep -q '^SIP/2.0 403' "$tmp/imp2.out"
# 1c. a complete handshake with a.example's key on one listener, kept open;
# the same ip:port on the other listener without a certificate
hold good1 'holding|no final' tls 127.0.0.2 $b_tls $lport "$imp" --cert "$TB_CERT_A" --key "$TB_KEY_A"
$H tls 127.0.0.2 $b_tls2 $lport "$imp" >"$tmp/imp3.out" 2>&1
release good1
check "a.example's own key, handshake complete: 200 (positive control)" \
	grep -q '^SIP/2.0 200' "$tmp/good1.out"
check "its identity does not cross to the same ip:port on another listener: 403" \
	grep -q '^SIP/2.0 403' "$tmp/imp3.out"
check "bob got the authenticated MESSAGE only" eval '[ "$(delivered)" -eq $((n0 + 1)) ]'
check "one MATCH for a.example in B's log, the authenticated connection's" \
	eval '[ "$(grep -c "domain=a.example rule=secure-tlsa verdict=MATCH" "$tmp/B.log")" -eq 1 ]'
check "  ... a.example's assertion of its own user reached bob, its assertions of b.example's and c.example's users did not" \
	eval 'grep -q "^P-Asserted-Identity: <sip:alice@a.example>" "$tmp/bob.count.last" && ! grep -q "carol@b.example\|ceo@c.example" "$tmp/bob.count.last"'
check "  ... nor its telephone numbers at its own domain (user=phone, or digits percent-encoded): numbers are STIR's" \
	eval '! grep -qi "12025550123\|%2B1202555%30124" "$tmp/bob.count.last"'

# 1d. a peer proxy's requests end here: a.example (authenticated) asks B to relay to an
# IP address, to a number (B's --e164-route, a gateway that trusts B), past B by a
# Route, and into the federation (c.example)
n0=$(count sink)
request "$tmp/r_ip" MESSAGE "sip:x@127.0.0.2:$sink" sip:alice@a.example
request "$tmp/r_num" MESSAGE "sip:+19005550100@b.example;user=phone" sip:alice@a.example
request "$tmp/r_route" MESSAGE sip:bob@b.example sip:alice@a.example \
	"Route: <sip:127.0.0.2:$b_tls;transport=tls;lr>, <sip:127.0.0.2:$sink;lr>"
request "$tmp/r_fed" MESSAGE sip:carol@c.example sip:alice@a.example
for r in r_ip r_num r_route r_fed; do
	$H tls 127.0.0.2 $b_tls 0 "$(over TLS "$tmp/$r")" --cert "$TB_CERT_A" --key "$TB_KEY_A" >"$tmp/$r.out" 2>&1
done
check "a peer proxy (a.example, authenticated) relaying through B to an IP address, a number, past B, to c.example: 403 each" \
	eval '[ "$(cat "$tmp"/r_ip.out "$tmp"/r_num.out "$tmp"/r_route.out "$tmp"/r_fed.out | grep -c "^SIP/2.0 403")" -eq 4 ]'
check "  ... nothing reached the address or the gateway, and B opened no connection to c.example" \
	eval '[ "$(count sink)" -eq "$n0" ] && ! grep -q "new TLS connection .* for c.example" "$tmp/B.log" &&
	[ "$(grep -c "a peer proxy of a.example reaches users of b.example only" "$tmp/B.log")" -ge 4 ]'
# 1e. a verdict on a live connection does not outlive the TLSA record it rested on:
# a.example's connection sends a MESSAGE (200), a.example's TLSA stops naming its key,
# B's caches are flushed (SIGHUP: the TTL past), the same connection sends another
# atlsa SPKI - a.example's TLS port TLSA becomes 3 1 1 SPKI
atlsa() {
	o=_$TB_A_TLS_PORT._tcp.sip.a.example.
	$TB_KNOTC zone-begin a.example. >/dev/null && $TB_KNOTC zone-unset a.example. $o TLSA >/dev/null &&
		$TB_KNOTC zone-set a.example. $o "$TB_TTL" TLSA 3 1 1 "$1" >/dev/null &&
		$TB_KNOTC zone-commit a.example. >/dev/null
}
request "$tmp/live1" MESSAGE sip:bob@b.example sip:alice@a.example
request "$tmp/live2" MESSAGE sip:bob@b.example sip:alice@a.example
hold live 'holding' tls 127.0.0.2 $b_tls 0 "$(over TLS "$tmp/live1")" --cert "$TB_CERT_A" --key "$TB_KEY_A" \
	--then "$(over TLS "$tmp/live2")"
check "a.example's TLSA withdrawn while its connection is open" atlsa "$TB_SPKI_WRONG"
hup B
release live
check "  ... that connection's next request, after the caches went (SIGHUP): 403, its first was 200" \
	eval '[ "$(sed -n 1p "$tmp/live.out")" = "SIP/2.0 200 OK" ] && [ "$(sed -n 3p "$tmp/live.out")" = "SIP/2.0 403 Forbidden" ]'
check "  ... a.example's TLSA restored" atlsa "$TB_SPKI_A"
hup B

# 2. stray responses: relayed only back to where a request of ours came from
n0=$(count sink)
$H stray 127.0.0.2 $b_sip sip:stray@b.example $uas $sink $(as carol) >"$tmp/stray.out" 2>&1
logged 'stray 200 response from 127.0.0.2:[0-9]+ dropped: its top Via is not ours' >/dev/null
logged 'stray 200 response .* dropped: its top Via is not ours' >/dev/null
check "a 2xx retransmitted after the transaction ended is relayed to the caller (2 of 2)" \
	grep -q 'uac got 2 200s' "$tmp/stray.out"
check "forged strays (the Via under ours changed; a foreign top Via) reach no one" \
	eval '[ "$(count sink)" -eq "$n0" ] && [ "$(grep -c "dropped: its top Via is not ours" "$tmp/B.log")" -eq 2 ]'
# the original attack: one datagram, three Vias, the third one the target, over UDP and TCP
for tp in UDP TCP; do
	port=$sink name=sink
	[ $tp = TCP ] && port=$tsink name=tsink
	n0=$(count $name)
	printf 'SIP/2.0 200 OK\nVia: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK-a\nVia: SIP/2.0/UDP 192.0.2.2:5060;branch=z9hG4bK-b\nVia: SIP/2.0/%s 127.0.0.2:%s;branch=z9hG4bK-c\nFrom: <sip:a@b.example>;tag=1\nTo: <sip:b@b.example>;tag=2\nCall-ID: stray-%s@hostile\nCSeq: 1 INVITE\nContent-Length: 0\n\n' \
		$tp $port $tp >"$tmp/stray-$tp"
	$H udp 127.0.0.2 $b_sip "$tmp/stray-$tp" --wait 0.5 >/dev/null
	logged "stray 200 response from 127.0.0.1:[0-9]+ dropped" >/dev/null
	check "a stray 200 whose third Via names $tp 127.0.0.2:$port: nothing sent there" \
		eval '[ "$(count $name)" -eq "$n0" ]'
done

# 3. loops, forks and hop counts
# 3a. a Route naming this proxy spelled differently (leading zero) is this proxy
request "$tmp/self" OPTIONS sip:bob@b.example sip:carol@b.example "Route: <sip:127.0.0.2:0$b_sip;lr>"
n0=$(delivered)
$H udp 127.0.0.2 $b_sip "$(over UDP "$tmp/self")" --first $(as carol) >"$tmp/self.out"
check "Route <sip:127.0.0.2:0$b_sip;lr> is recognised as us: delivered once (200)" \
	eval 'grep -q "^SIP/2.0 200" "$tmp/self.out" && [ "$(delivered)" -eq $((n0 + 1)) ]'
check "  ... and the proxy never sent it to itself" \
	eval '! grep -q "OPTIONS sip:bob@b.example from 127.0.0.2:$b_sip over" "$tmp/B.log"'
# 3b. Max-Forwards capped: 100000 in, 69 out
request "$tmp/mf" OPTIONS sip:bob@b.example sip:carol@b.example
sed -i 's/^Max-Forwards: 70/Max-Forwards: 100000/' "$tmp/mf"
$H udp 127.0.0.2 $b_sip "$(over UDP "$tmp/mf")" --first $(as carol) >/dev/null
check "Max-Forwards 100000 leaves as 69" grep -q '^Max-Forwards: 69' "$tmp/bob.count.last"
# 3c. Max-Breadth (RFC 5393): two contacts share 60; a request allowed one branch forks to one
n0=$(count bob) n1=$(count bob2)
request "$tmp/fork" OPTIONS sip:fork@b.example sip:carol@b.example
$H udp 127.0.0.2 $b_sip "$(over UDP "$tmp/fork")" --first $(as carol) >/dev/null
"$srcdir/tests/wait-for.sh" "$tmp/bob2.count" "^$((n1 + 1)) " 10
"$srcdir/tests/wait-for.sh" "$tmp/bob.count" "^$((n0 + 1)) " 10
check "a fork to two contacts: each branch carries Max-Breadth 30" \
	eval 'grep -q "^Max-Breadth: 30" "$tmp/bob.count.last" && grep -q "^Max-Breadth: 30" "$tmp/bob2.count.last"'
request "$tmp/fork1" OPTIONS sip:fork@b.example sip:carol@b.example "Max-Breadth: 1"
n2=$(grep -c "OPTIONS carol: branch 2 via" "$tmp/B.log")
$H udp 127.0.0.2 $b_sip "$(over UDP "$tmp/fork1")" --first $(as carol) >"$tmp/fork1.out"
check "Max-Breadth 1: one branch only (200; the proxy logged no second branch)" \
	eval 'grep -q "^SIP/2.0 200" "$tmp/fork1.out" && [ "$(grep -c "OPTIONS carol: branch 2 via" "$tmp/B.log")" -eq "$n2" ]'
request "$tmp/fork0" OPTIONS sip:fork@b.example sip:carol@b.example "Max-Breadth: 0"
$H udp 127.0.0.2 $b_sip "$(over UDP "$tmp/fork0")" --first $(as carol) >"$tmp/fork0.out"
check "Max-Breadth 0: 440" grep -q '^SIP/2.0 440' "$tmp/fork0.out"
# 3d. contacts pointing back at the proxy are refused (they would fork exponentially)
request "$tmp/regloop" REGISTER sip:b.example sip:loop@b.example \
	"Contact: <sip:loop@127.0.0.2:$b_sip>, <sip:loop@127.0.0.2:0$b_sip>" "Expires: 300"
sed -i 's|^To: <sip:b.example>|To: <sip:loop@b.example>|' "$tmp/regloop"
$H udp 127.0.0.2 $b_sip "$(over UDP "$tmp/regloop")" --first $(as loop) >"$tmp/regloop.out"
check "REGISTER of contacts that are this proxy: 403" grep -q '^SIP/2.0 403' "$tmp/regloop.out"
# 3e. two proxies whose locations point at each other: RFC 5393 loop detection
# (two nodes of one domain that trust each other's address; carol is a user of C)
sed 's/b\.example/c.example/' "$tmp/users" | while IFS=: read -r u r _; do
	printf '%s:c.example:%s\n' "$u" "$(printf '%s:c.example:%s' "$u" "$pw" | md5sum | cut -d' ' -f1)"
done >"$tmp/users-c"
start_proxy C --domain c.example --listen "sip:127.0.0.2:$c_sip;transport=udp" --users "$tmp/users-c" \
	--trusted 127.0.0.2/32 --location "x@c.example=sip:x@127.0.0.2:$d_sip" --log-level debug || exit 1
start_proxy D --domain c.example --listen "sip:127.0.0.2:$d_sip;transport=udp" --trusted 127.0.0.2/32 \
	--location "x@c.example=sip:x@127.0.0.2:$c_sip" --log-level debug || exit 1
request "$tmp/pingpong" OPTIONS sip:x@c.example sip:carol@c.example
$H udp 127.0.0.2 $c_sip "$(over UDP "$tmp/pingpong")" --first --wait 10 $(as carol) >"$tmp/pingpong.out"
check "a loop between two proxies ends in 482 Loop Detected" grep -q '^SIP/2.0 482' "$tmp/pingpong.out"
check "  ... after at most 2 passes from one proxy to the other" \
	eval '[ "$(grep -c "OPTIONS sip:x@.* from 127.0.0.2:" "$tmp/C.log")" -le 2 ] && [ "$(grep -c "OPTIONS sip:x@.* from 127.0.0.2:" "$tmp/D.log")" -le 2 ]'
stop_proxy C
stop_proxy D

# 4. flow tokens open a user's connection only to requests of their dialog
hold ua 'registered: SIP/2.0 200' tls-ua 127.0.0.2 $b_tls alice@b.example "$tmp/ua.count" $(as alice)
$H invite 127.0.0.2 $b_sip sip:alice@b.example "$tmp/dialog" $(as carol) >"$tmp/invite.out" 2>&1
check "a call to alice goes over her TLS connection, Record-Route with her flow token" \
	grep -Eq '^INVITE: 200, Route <sip:[0-9a-f]{32}@b.example;lr;dt=[0-9a-f]{24}>' "$tmp/invite.out"
"$srcdir/tests/wait-for.sh" "$tmp/ua.count" '^2$' 10 # INVITE, ACK
$H udp 127.0.0.2 $b_sip "$(over UDP "$tmp/dialog")" --first >"$tmp/bye.out"
check "  ... a request of that dialog reaches her (200)" \
	eval 'grep -q "^SIP/2.0 200" "$tmp/bye.out" && [ "$(cat "$tmp/ua.count")" = 3 ]'
route=$(grep '^Route:' "$tmp/dialog")
# (the caller is carol, a user of ours who authenticates: the token must not be worth more)
request "$tmp/push" MESSAGE sip:anyone@192.0.2.9 sip:carol@b.example "$route"
$H udp 127.0.0.2 $b_sip "$(over UDP "$tmp/push")" --first $(as carol) >"$tmp/push.out"
request "$tmp/push2" MESSAGE sip:anyone@192.0.2.9 sip:carol@b.example "$route"
sed -i 's/^To: <sip:anyone@192.0.2.9>/&;tag=made-up/' "$tmp/push2"
$H udp 127.0.0.2 $b_sip "$(over UDP "$tmp/push2")" --first $(as carol) >"$tmp/push2.out"
check "her token in another request (new Call-ID, with or without a To tag): 403" \
	eval 'grep -q "^SIP/2.0 403" "$tmp/push.out" && grep -q "^SIP/2.0 403" "$tmp/push2.out"'
check "  ... and nothing more reached her connection" eval '[ "$(cat "$tmp/ua.count")" = 3 ]'
# carol binds, over UDP, a TLS contact naming the address of alice's connection: requests
# for carol would take alice's connection (sofia-sip reuses it)
ap=$(sed -n 's/.*alice@b.example: <sip:alice@127.0.0.1:\([0-9]*\)> is reached over the TLS connection.*/\1/p' "$tmp/B.log" | head -1)
request "$tmp/regtls" REGISTER sip:b.example sip:carol@b.example "Contact: <sip:carol@127.0.0.1:$ap;transport=tls>" \
	"Expires: 300"
sed -i 's|^To: <sip:b.example>|To: <sip:carol@b.example>|' "$tmp/regtls"
$H udp 127.0.0.2 $b_sip "$(over UDP "$tmp/regtls")" --first $(as carol) >"$tmp/regtls.out"
request "$tmp/tocarol" MESSAGE sip:carol@b.example sip:eve@b.example
$H udp 127.0.0.2 $b_sip "$(over UDP "$tmp/tocarol")" --first $(as eve) >"$tmp/tocarol.out"
check "a TLS contact (alice's connection's address) registered over UDP: 403, and a MESSAGE for carol never reaches alice's connection" \
	eval 'grep -q "^SIP/2.0 403" "$tmp/regtls.out" && [ -n "$ap" ] && [ "$(cat "$tmp/ua.count")" = 3 ]'
release ua

# 5. the registrar
# 5a. a foreign domain
request "$tmp/regforeign" REGISTER sip:b.example sip:eve@b.example "Contact: <sip:eve@127.0.0.1:5999>"
sed -i 's|^To: <sip:b.example>|To: <sip:eve@evil.example>|' "$tmp/regforeign"
$H udp 127.0.0.2 $b_sip "$(over UDP "$tmp/regforeign")" --first $(as eve) >"$tmp/regforeign.out"
check "REGISTER for a domain that is not ours: 403, nothing bound" \
	eval 'grep -q "^SIP/2.0 403" "$tmp/regforeign.out" && ! grep -q "registrar: REGISTER eve@evil.example: <" "$tmp/B.log"'
# regmany FILE AOR N - a REGISTER of N long contacts for AOR
regmany() {
	c=$(i=0; while [ $i -lt "$3" ]; do
		printf '%s<sip:u%03d-%0200d@127.0.0.1:5999>' "${i#0}" $i 0 | sed 's/^[1-9][0-9]*</, </'; i=$((i + 1))
	done)
	request "$1" REGISTER sip:b.example "sip:$2" "Contact: $c" "Expires: 300"
	sed -i "s|^To: <sip:b.example>|To: <sip:$2>|" "$1"
}
# 5b. many bindings for one AOR
regmany "$tmp/reg40" amp@b.example 40
$H tcp 127.0.0.2 $b_sip "$(over TCP "$tmp/reg40")" --first $(as amp) >"$tmp/reg40.out"
check "REGISTER of 40 contacts for one AOR: refused (503), none bound" \
	eval 'grep -q "^SIP/2.0 503" "$tmp/reg40.out"'
regmany "$tmp/reg10" amp@b.example 10
$H tcp 127.0.0.2 $b_sip "$(over TCP "$tmp/reg10")" --first $(as amp) >"$tmp/reg10.out"
check "REGISTER of 10 (--max-contacts): 200" grep -q '^SIP/2.0 200' "$tmp/reg10.out"
# 5c. the amplifier: a small query over UDP for an AOR with long contacts
request "$tmp/query" REGISTER sip:b.example sip:amp@b.example
sed -i 's|^To: <sip:b.example>|To: <sip:amp@b.example>|' "$tmp/query"
q=$(over UDP "$tmp/query")
$H udp 127.0.0.2 $b_sip "$q" --first $(as amp) >"$tmp/query.out"
size=$(sed -n 's/^SIP\/2.0 200 OK size=//p' "$tmp/query.out")
check "a small query over UDP (with its credentials): answered within 1300 bytes (got ${size:-none})" \
	eval '[ -n "$size" ] && [ "$size" -le 1300 ]'
# 5d. maddr in the Via: ignored, the answer comes back to the sender; nothing to the third party
n0=$(count sink)
request "$tmp/maddr" REGISTER sip:b.example sip:amp@b.example
sed -i "s|^To: <sip:b.example>|To: <sip:amp@b.example>|; s|;rport$|;rport;maddr=127.0.0.2|; s|@LOCAL@|127.0.0.2:$sink|" "$tmp/maddr"
$H udp 127.0.0.2 $b_sip "$(over UDP "$tmp/maddr")" --first $(as amp) >"$tmp/maddr.out"
check "Via with maddr (and sent-by) of a third party: challenged and answered at the sender, nothing there" \
	eval 'grep -q "^SIP/2.0 200" "$tmp/maddr.out" && [ "$(count sink)" -eq "$n0" ]'
request "$tmp/maddrname" OPTIONS sip:b.example sip:carol@b.example
sed -i 's|;rport$|;rport;maddr=unresolvable.invalid|' "$tmp/maddrname"
$H udp 127.0.0.2 $b_sip "$(over UDP "$tmp/maddrname")" --first $(as carol) >"$tmp/maddrname.out"
check "Via maddr=a host name: ignored (no lookup), answered to the sender" \
	grep -q '^SIP/2.0 200' "$tmp/maddrname.out"
# a request sofia-sip answers itself (400: no Call-ID), Via maddr=localhost and a sink's port
n0=$(count sink1)
printf 'OPTIONS sip:b.example SIP/2.0\nVia: SIP/2.0/UDP 127.0.0.1:%s;branch=z9hG4bK-nocid;maddr=localhost\nMax-Forwards: 70\nFrom: <sip:carol@b.example>;tag=1\nTo: <sip:b.example>\nCSeq: 1 OPTIONS\nContent-Length: 0\n\n' \
	$sink1 >"$tmp/nocid"
$H udp 127.0.0.2 $b_sip "$tmp/nocid" --wait 0.5 >/dev/null
logged 'host name localhost not resolved: no blocking lookup on the event loop' >/dev/null
check "sofia-sip's own 400 to a maddr host name: the name is not resolved (no blocking lookup), nothing sent" \
	eval 'grep -q "host name localhost not resolved" "$tmp/B.log" && [ "$(count sink1)" -eq "$n0" ]'
# 5e. per source: one address cannot fill the location service
i=0
while [ $i -lt 10 ]; do
	regmany "$tmp/src$i" "src$i@b.example" 10
	$H tcp 127.0.0.2 $b_sip "$(over TCP "$tmp/src$i")" --first $(as src$i) >"$tmp/src$i.out"
	i=$((i + 1))
done
check "100 bindings from one address (10 AORs x 10): the last REGISTER refused (503)" \
	eval 'grep -q "^SIP/2.0 503" "$tmp/src9.out" && grep -q "max-source-bindings" "$tmp/B.log"'
request "$tmp/alice" REGISTER sip:b.example sip:alice@b.example "Contact: <sip:alice@127.0.0.3:5999>"
sed -i 's|^To: <sip:b.example>|To: <sip:alice@b.example>|' "$tmp/alice"
$H udp 127.0.0.2 $b_sip "$(over UDP "$tmp/alice")" --first --bind 127.0.0.3 $(as alice) >"$tmp/alice.out"
check "  ... while a user from another address still registers (200)" grep -q '^SIP/2.0 200' "$tmp/alice.out"

# 7. descriptors: silent connections, per address and in all
fds() { ls "/proc/$B_pid/fd" 2>/dev/null | wc -l; }
fd0=$(fds)
hold conns '^open=64 closed=6$' conns 127.0.0.2 $b_sip 70
check "70 silent TCP connections from one address: 6 closed at accept (--max-source-connections 64)" \
	eval 'grep -q "^open=64 closed=6$" "$tmp/conns.out" && grep -q "too many connections from that address" "$tmp/B.log"'
request "$tmp/other" OPTIONS sip:b.example sip:carol@b.example
$H tcp 127.0.0.2 $b_sip "$(over TCP "$tmp/other")" --first --bind 127.0.0.7 $(as carol) >"$tmp/other.out"
check "  ... meanwhile a client from another address is answered over TCP" grep -q '^SIP/2.0 200' "$tmp/other.out"
hold tlsconns '^open=3 closed=0$' conns 127.0.0.2 $b_tls 3 --bind 127.0.0.9
hold tlsslow '^open=1 closed=0$' conns 127.0.0.2 $b_tls 1 --bind 127.0.0.9 --send 160301
"$srcdir/tests/wait-for.sh" "$tmp/conns.out" '^open=0 closed=70$' 30
check "  ... after --accept-timeout (10 s) the 64 silent ones are closed by the proxy" \
	eval 'grep -q "^open=0 closed=70$" "$tmp/conns.out" && [ "$(grep -c "closed: no data within --accept-timeout" "$tmp/B.log")" -ge 64 ]'
"$srcdir/tests/wait-for.sh" "$tmp/tlsslow.out" '^open=0 closed=1$' 30
"$srcdir/tests/wait-for.sh" "$tmp/tlsconns.out" '^open=0 closed=3$' 30
check "TLS connections that never finish a handshake (silent, or a ClientHello that stops) are closed" \
	eval 'grep -q "^open=0 closed=3$" "$tmp/tlsconns.out" && grep -q "^open=0 closed=1$" "$tmp/tlsslow.out" && [ "$(grep -c "closed: no TLS handshake within --accept-timeout" "$tmp/B.log")" -ge 4 ]'
release conns tlsconns tlsslow
i=0
while [ "$(fds)" -gt $((fd0 + 2)) ] && [ $i -lt $((100 * vg_slow)) ]; do sleep 0.1; i=$((i + 1)); done
check "  ... and the proxy's descriptors are back to $fd0 (+2 at most; got $(fds))" eval '[ "$(fds)" -le $((fd0 + 2)) ]'

# 8. TLS handshakes: per address, and dane_clientid lookups of made-up names
$H handshakes 127.0.0.2 $b_tls 30 --bind 127.0.0.10 >"$tmp/hs.out" 2>&1
check "30 TLS handshakes at once from one address: some refused at accept (--max-source-handshakes 20; $(cat "$tmp/hs.out"))" \
	eval 'grep -Eq "^handshakes ok=([0-9]|1[0-9]|2[0-9]) refused=([1-9]|[12][0-9])$" "$tmp/hs.out" && grep -q "too many TLS handshakes from that address" "$tmp/B.log"'
$H handshakes 127.0.0.2 $b_tls 1 --bind 127.0.0.11 >"$tmp/hs2.out" 2>&1
check "  ... another address still completes its handshake" grep -q '^handshakes ok=1 refused=0$' "$tmp/hs2.out"
request "$tmp/ping" OPTIONS sip:b.example sip:carol@b.example
sed -i 's/@TP@/TLS/' "$tmp/ping"
sed -i "s/@LOCAL@/127.0.0.1:5999/; s/@BRANCH@/z9hG4bK-ping/" "$tmp/ping"
i=0
while [ $i -lt 5 ]; do
	timeout $((30 * vg_slow)) "$CLIENT" 127.0.0.2 $b_tls "$TB_CERT_WRONG" "$TB_KEY_WRONG" \
		"$(openssl rand -hex 28)._user.c.example" "$tmp/ping" >"$tmp/cid$i.out" 2>&1
	i=$((i + 1))
done
check "5 handshakes with made-up user names under c.example (no user there): 1 DNS lookup of such a name" \
	eval '[ "$(grep -Ec "dns: [0-9a-f]{56}._user.c.example/52: asking" "$tmp/B.log")" -eq 1 ]'
check "  ... the rest answered from the negative cache (_user.c.example does not exist)" \
	grep -q 'clientid: _user.c.example does not exist: names below it are not looked up' "$tmp/B.log"

stop_proxy B
# a forked OPTIONS answered 200 twice once made nta free our UDP listener (a
# second final answer on a finished transaction): a crash seconds later, an
# assertion at exit
check "B exits cleanly after all this (no assertion, no crash)" \
	eval 'grep -q "drained, exiting" "$tmp/B.log" && ! grep -Eq "Assertion|Segmentation|Aborted" "$tmp/B.log"'

# 9. out of descriptors: a proxy whose limit is 64 (below --max-connections) sheds, never spins
printf '#!/bin/sh\nulimit -n 64\nexec "%s" "$@"\n' "$PROXY" >"$tmp/lowfd"
chmod +x "$tmp/lowfd"
PROXY=$tmp/lowfd start_proxy E --domain b.example --listen "sip:127.0.0.2:$e_sip;transport=udp" \
	--listen "sip:127.0.0.2:$e_sip;transport=tcp" --users "$tmp/users" --log-level debug || exit 1
hold emfile '^open=' conns 127.0.0.2 $e_sip 80 --bind 127.0.1.1 127.0.1.2 127.0.1.3 127.0.1.4 127.0.1.5 \
	127.0.1.6 127.0.1.7 127.0.1.8
"$srcdir/tests/wait-for.sh" "$tmp/E.log" 'for lack of descriptors' 10
"$srcdir/tests/wait-for.sh" "$tmp/emfile.out" '^open=[0-9]+ closed=[1-9][0-9]*$' 10
request "$tmp/eping" OPTIONS sip:b.example sip:carol@b.example
$H udp 127.0.0.2 $e_sip "$(over UDP "$tmp/eping")" --first $(as carol) >"$tmp/eping.out"
check "out of descriptors: pending connections accepted and closed (logged), the proxy still answers" \
	eval 'grep -q "out of descriptors" "$tmp/E.log" && grep -q "^SIP/2.0 200" "$tmp/eping.out"'
check "  ... accept() does not spin: sofia-sip logs no stream of EMFILE errors (got $(grep -c "Too many open files" "$tmp/E.log"))" \
	eval '[ "$(grep -c "Too many open files" "$tmp/E.log")" -le 2 ]'
release emfile
stop_proxy E

# 6. --max-pending is no longer bypassed by a To tag or an ACK
start_proxy P --domain b.example --listen "sip:127.0.0.2:$p_sip;transport=udp" --max-pending 3 \
	--listen "sip:127.0.0.2:$p_sip;transport=tcp" --listen "sips:127.0.0.2:$p_tls;transport=tls" \
	--cert "$TB_CERT_B" --key "$TB_KEY_B" --idle-timeout $((2 * vg_slow)) \
	--location "bob@b.example=sip:bob@127.0.0.2:$bob" --location "hole@b.example=sip:hole@127.0.0.2:$hole" \
	--users "$tmp/users" --log-level debug || exit 1
# (--idle-timeout 2 s, times vg_slow: a connection that carries no binding closes after it unused;
# alice's must have registered before a slow proxy has let it idle that long)
hold ua6 'registered: SIP/2.0 200' tls-ua 127.0.0.2 $p_tls alice@b.example "$tmp/ua6.count" $(as alice)
request "$tmp/idle" OPTIONS sip:b.example sip:carol@b.example
sed -i "s/@TP@/TCP/; s/@LOCAL@/127.0.0.1:5999/; s/@BRANCH@/z9hG4bK-idle/" "$tmp/idle"
hold idle '^open=0 closed=1$' conns 127.0.0.2 $p_sip 1 --send "$(sed 's/$/\r/' "$tmp/idle" | od -An -tx1 | tr -d ' \n')"
"$srcdir/tests/wait-for.sh" "$tmp/idle.out" '^open=0 closed=1$' 30
check "a TCP connection with nothing registered on it, unused for --idle-timeout: closed by the proxy" \
	grep -q '^open=0 closed=1$' "$tmp/idle.out"
check "  ... alice's TLS connection, which carries her binding, stays" eval 'kill -0 $ua6_hpid'
release idle ua6
$H invite 127.0.0.2 $p_sip sip:bob@b.example "$tmp/pdialog" $(as carol) >"$tmp/pinvite.out" 2>&1
request "$tmp/fill" INVITE sip:hole@b.example sip:carol@b.example
for i in 1 2 3; do $H udp 127.0.0.2 $p_sip "$(over UDP "$tmp/fill")" --wait 1 $(as carol) >/dev/null; done
"$srcdir/tests/wait-for.sh" "$tmp/hole.count" '^([3-9]|[1-9][0-9]+) ' 10
request "$tmp/totag" BYE sip:bob@127.0.0.2:$bob sip:carol@b.example
sed -i 's/^To: <sip:bob@127.0.0.2:[0-9]*>/&;tag=made-up/' "$tmp/totag"
$H udp 127.0.0.2 $p_sip "$(over UDP "$tmp/totag")" --first >"$tmp/totag.out"
check "overloaded (3 pending, --max-pending 3): a made-up To tag gets 503" grep -q '^SIP/2.0 503' "$tmp/totag.out"
n0=$(count bob)
sed 's/^BYE /ACK /; s/^CSeq: 1 BYE/CSeq: 1 ACK/' "$tmp/totag" >"$tmp/fakeack"
$H udp 127.0.0.2 $p_sip "$(over UDP "$tmp/fakeack")" --wait 0.5 >/dev/null
"$srcdir/tests/wait-for.sh" "$tmp/P.log" 'ACK from 127.0.0.1:[0-9]+ -> 503' 10
check "  ... a made-up ACK is dropped, not forwarded" eval '[ "$(count bob)" -eq "$n0" ]'
$H udp 127.0.0.2 $p_sip "$(over UDP "$tmp/pdialog")" --first >"$tmp/pbye.out"
check "  ... a BYE of a dialog it record-routed still passes (200)" grep -q '^SIP/2.0 200' "$tmp/pbye.out"
stop_proxy P
finish
