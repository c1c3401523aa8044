#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# proxy-auth.sh - sipdance-proxy vouches only for whom it authenticated, in
# its default configuration (--local-auth required). The four attacks of an
# open proxy each fail: an unauthenticated REGISTER hijacking alice's
# binding, an unauthenticated INVITE From alice into the federation, the same
# to a telephone number, and a From with no domain (no host, IP literal).
# Digest (RFC 3261 §22, RFC 8760): SHA-256 and MD5, per user (a user without
# an MD5 HA1 cannot be downgraded), wrong password, a stale nonce (forged
# with the --auth-secret key), a replayed nonce count, a nonce issued to
# another address, another realm, another digest uri, qop=auth-int, RFC 2069
# clients (one request per nonce), a user registering or calling as someone
# else, percent-encoding and case in addresses, a callee's 401 in our realm
# (her answer never forwarded); SIPp [authentication] over
# UDP for REGISTER and a whole call; dialog tokens in Record-Route (a forged
# in-dialog request, or a real token with another From, is judged like any
# other; a REGISTER with either end's token binds nothing; a 200 sent again
# after the transaction carries the caller's token; an address too
# long to spell is bound whole, never cut short); maddr is never followed;
# trusted networks (over TCP) vs an address outside;
# P-Asserted-Identity set by the proxy (Remote-Party-ID and
# P-Preferred-Identity of a user removed), the --e164-route gateway's kept in
# its answers, never in an answer from another address; SIGHUP
# reloads the users file and keeps the old one when the new one is broken,
# and leaves a binding bob made with Digest over TLS reachable (it rests on
# his password, not on the connection's DANCE identity);
# --local-auth off routes unauthenticated requests with a warning.
. "${srcdir:-.}/tests/proxy-lib.sh"
base=$("${srcdir:-.}/tests/ports.sh" $$)
P=$base M=$((base + 1)) O=$((base + 2)) T=$((base + 3)) uas_p=$((base + 10)) uas_m=$((base + 12)) uas_c=$((base + 16))
uac_p=$((base + 18)) uac_m=$((base + 20)) uac_c=$((base + 24)) reg_p=$((base + 26))
need sipp python3 openssl

sd=$("${srcdir:-.}/tests/valgrind.sh" "${top_builddir:-.}/sipdance")
DIG="python3 $srcdir/tests/sip-digest.py"

# users: alice (a number), bob, carol without an MD5 HA1, dave from htdigest (MD5 only),
# a user named after alice's number (not entitled to it)
pw_a=$(openssl rand -hex 8) pw_b=$(openssl rand -hex 8) pw_c=$(openssl rand -hex 8) pw_d=$(openssl rand -hex 8)
{
	echo "# test users"
	echo "$pw_a" | "$sd" user-digest alice a.example 12025551000
	echo "$pw_b" | "$sd" user-digest bob a.example
	echo "$pw_c" | "$sd" user-digest carol a.example | awk -F: '{ $3 = ""; print }' OFS=:
	printf 'dave:a.example:%s\n' "$(printf 'dave:a.example:%s' "$pw_d" | md5sum | cut -d' ' -f1)"
	echo "$pw_d" | "$sd" user-digest +12025551000 a.example
} >"$tmp/users"
chmod 600 "$tmp/users"
openssl rand 32 >"$tmp/secret"
check "sipdance user-digest: user:realm:HA1-MD5:HA1-SHA-256:numbers, the password from stdin only" \
	eval 'grep -Eq "^alice:a.example:[0-9a-f]{32}:[0-9a-f]{64}:12025551000$" "$tmp/users" && ! grep -q "$pw_a" "$tmp/users"'

cert=$srcdir/tests/data/certs
line=$(printf 'Circle of Life\n' | "$sd" user-digest Mufasa http-auth@example.org)
check "sipdance user-digest: the RFC 7616 HA1 values (MD5, SHA-256) of Mufasa" \
	[ "$line" = "Mufasa:http-auth@example.org:3d78807defe7de2157e2b0b6573a855f:7987c64c30e25f1b74be53f966b49b90f2808aa92faf9a00262392d7b4794232" ]
bad_cli() { printf '%s\n' "$1" | "$sd" user-digest $2 >/dev/null 2>"$tmp/cli.err"; [ $? = 2 ] && grep -q "$3" "$tmp/cli.err"; }
check "sipdance user-digest refuses (exit 2): ':' in the user, an empty password, a bad number" \
	eval 'bad_cli pw "a:b a.example" "no .:. or line break" && bad_cli "" "alice a.example" "empty password" &&
	bad_cli pw "alice a.example 12x" "a number is digits"'
start_proxy A --domain a.example --listen "sip:127.0.0.1:$P;transport=udp" --listen "sip:127.0.0.1:$P;transport=tcp" \
	--listen "sips:127.0.0.1:$T;transport=tls" --cert "$cert/ee.pem" --key "$cert/ee.key" --client-auth off \
	--users "$tmp/users" --auth-secret "$tmp/secret" --trusted 127.0.0.9/32 \
	--e164-route "sip:127.0.0.1:$uas_p;transport=udp" --log-level debug || exit 1
check "start-up: the users and the trusted network are logged, no credential" \
	eval 'grep -q "auth: --users .*: 5 user(s)" "$tmp/A.log" && grep -q "trusted peers: 127.0.0.9/32" "$tmp/A.log" && ! grep -q "$(cut -d: -f3 "$tmp/users" | sed -n 2p)" "$tmp/A.log"'

# d NAME ARGS... - sip-digest.py against A; its lines in $tmp/NAME.out
d() { n=$1; shift; $DIG 127.0.0.1 $P "$@" >"$tmp/$n.out" 2>&1; }
# line NAME N - the N-th response line of NAME
line() { sed -n "${2}p" "$tmp/$1.out"; }
# said NAME N STATUS [TEXT] - the N-th response was STATUS (and contains TEXT)
said() { line "$1" "$2" | grep -q "^$3 ${4:+.*$4}"; }
reg() { n=$1 to=$2; shift 2; d "$n" REGISTER sip:a.example --from "$to" --to "$to" --expires 60 "$@"; }

# 1. REGISTER
reg hijack sip:alice@a.example --no-auth --contact sip:mallory@192.0.2.66
check "attack 1: an unauthenticated REGISTER for alice: 401, SHA-256 offered first, then MD5" \
	eval 'said hijack 1 401 "algs=SHA-256,MD5"'
check "  ... and no binding was made (nothing for alice in the registrar)" \
	eval '! grep -q "registrar: REGISTER alice" "$tmp/A.log" && grep -q "user=? method=REGISTER rule=digest verdict=CHALLENGE" "$tmp/A.log"'
reg a256 sip:alice@a.example --user alice --password "$pw_a" --algorithm SHA-256
check "alice registers with Digest SHA-256: 200, logged with the rule" \
	eval 'said a256 2 200 && grep -q "user=alice@a.example method=REGISTER rule=digest verdict=MATCH (To alice@a.example is the user authenticated by Digest" "$tmp/A.log"'
reg amd5 sip:alice@a.example --user alice --password "$pw_a" --algorithm MD5
check "alice registers with Digest MD5: 200" said amd5 2 200
reg wrong sip:alice@a.example --user alice --password nothers
check "a wrong password: 401 again (no stale), logged as such" \
	eval 'said wrong 2 401 "stale=0" && grep -q "user=alice@a.example method=REGISTER rule=digest verdict=CHALLENGE (wrong response (password))" "$tmp/A.log"'
reg other sip:alice@a.example --user bob --password "$pw_b"
check "bob (authenticated) registering alice's address: 403 with Reason" \
	eval 'said other 2 403 "identity mismatch: To alice@a.example is not bob@a.example"'
reg replay sip:bob@a.example --user bob --password "$pw_b" --replay --again 1
check "a replayed Authorization (same nonce count): 401 stale=true; the next count: 200" \
	eval 'said replay 2 200 && said replay 3 401 "stale=1" && said replay 4 200 && grep -q "nonce count 00000001 replayed" "$tmp/A.log"'
reg noqop sip:bob@a.example --user bob --password "$pw_b" --qop none --replay
check "RFC 2069 client (no qop): 200 once, the same nonce again: 401 stale=true" \
	eval 'said noqop 2 200 && said noqop 3 401 "stale=1"'
reg ncplus sip:bob@a.example --user bob --password "$pw_b" --nc "+0000001"
reg ncspace sip:bob@a.example --user bob --password "$pw_b" --nc " 0000001"
check "a nonce count that is not 8 hex digits (+0000001, \" 0000001\"): 401, even with a correct response" \
	eval 'said ncplus 2 401 && said ncspace 2 401 && [ "$(grep -c "qop=auth without a valid nc" "$tmp/A.log")" = 2 ]'
reg authint sip:bob@a.example --user bob --password "$pw_b" --qop auth-int
check "qop=auth-int (not offered): 401, logged" \
	eval 'said authint 2 401 && grep -q "qop auth-int was not offered" "$tmp/A.log"'
reg realm sip:bob@a.example --user bob --password "$pw_b" --realm b.example
check "credentials for another realm are not ours: 401 (no credentials)" \
	eval 'said realm 2 401 "authentication required"'
reg uri sip:bob@a.example --user bob --password "$pw_b" --uri sip:elsewhere@b.example
check "a digest uri that is neither the Request-URI nor this proxy: 401, logged" \
	eval 'said uri 2 401 && grep -q "digest uri sip:elsewhere@b.example is neither the Request-URI nor this proxy" "$tmp/A.log"'
reg c_md5 sip:carol@a.example --user carol --password "$pw_c" --algorithm MD5
reg c_sha sip:carol@a.example --user carol --password "$pw_c" --algorithm SHA-256
check "downgrade: carol has no MD5 HA1: MD5 401 (logged), SHA-256 200" \
	eval 'said c_md5 2 401 && grep -q "user carol has no MD5 credentials" "$tmp/A.log" && said c_sha 2 200'
reg d_sha sip:dave@a.example --user dave --password "$pw_d" --algorithm SHA-256
reg d_md5 sip:dave@a.example --user dave --password "$pw_d" --algorithm MD5
check "htdigest line (dave, MD5 only): SHA-256 401, MD5 200" eval 'said d_sha 2 401 && said d_md5 2 200'
reg peer1 sip:bob@a.example --user bob --password "$pw_b" --nonce-out "$tmp/nonce"
reg peer2 sip:bob@a.example --user bob --password "$pw_b" --bind 127.0.0.2 --nonce "$(cat "$tmp/nonce")"
check "a nonce issued to 127.0.0.1, used from 127.0.0.2: 401 (not stale), logged" \
	eval 'said peer2 2 401 "stale=0" && grep -q "a nonce this proxy did not issue to 127.0.0.2" "$tmp/A.log"'
# a nonce 400 s old, made with the --auth-secret key (the nonce layout of sip/auth.c)
old=$(python3 -c '
import hashlib, hmac, os, struct, sys, time
key = hashlib.sha256(open(sys.argv[1], "rb").read()).digest()
ts, salt = struct.pack(">Q", int(time.time()) - 400), os.urandom(8)
m = hmac.new(key, b"".join(p + b"\0" for p in (b"nonce", ts, salt, b"a.example", bytes([127, 0, 0, 1]))), "sha256")
print((ts + salt + m.digest()[:16]).hex())' "$tmp/secret")
reg stale sip:bob@a.example --user bob --password "$pw_b" --nonce "$old"
check "a valid but 400 s old nonce: 401 stale=true (the client retries without asking for a password)" \
	eval 'said stale 2 401 "stale=1" && grep -q "nonce expired (40[0-9] s old)" "$tmp/A.log"'
reg pct "sip:%61lice@a.example" --user alice --password "$pw_a"
reg case "sip:ALICE@A.EXAMPLE" --user alice --password "$pw_a"
reg pctbob "sip:%61lice@a.example" --user bob --password "$pw_b"
check "percent-encoding and case: %61lice and ALICE are alice (200), bob registering %61lice: 403" \
	eval 'said pct 2 200 && said case 2 200 && said pctbob 2 403 && grep -q "registrar: REGISTER alice@a.example" "$tmp/A.log"'
reg at1 "sip:bob%40x@a.example" --user bob --password "$pw_b"
reg at2 "sip:bob%40a.example@evil.example" --user bob --password "$pw_b"
check "an escaped @ in the user part: bob%40x@a.example is not bob's (403), bob%40a.example@evil is not ours (403)" \
	eval 'said at1 2 403 && said at2 1 403 "outside our domain"'
reg foreign sip:alice@b.example --user alice --password "$pw_a"
check "REGISTER for another domain's address: 403 (bindings only for a.example)" \
	eval 'said foreign 1 403 "outside our domain"'

# 2. requests from our users
d fed INVITE sip:carol@b.example --from sip:alice@a.example --no-auth
check "attack 2: an unauthenticated INVITE From alice to b.example: 407, never located" \
	eval 'said fed 1 407 && ! grep -q "locate\|b.example: " "$tmp/A.log"'
d tel INVITE "sip:+12025552000@a.example;user=phone" --from "sip:+12025551000@a.example;user=phone" --no-auth
check "attack 3: an unauthenticated INVITE From alice's number to a telephone number: 407" said tel 1 407
d nohost OPTIONS sip:carol@b.example --from sip:x@203.0.113.5 --no-auth
d telfrom OPTIONS sip:carol@b.example --from tel:+12025559999 --no-auth
check "attack 4: a From with no domain (IP literal, tel:) gets no free pass: 407 each" \
	eval 'said nohost 1 407 && said telfrom 1 407'
sipp_bg e1 -sf "$srcdir/tests/sip-answer.xml" -i 127.0.0.1 -p $uas_p -mp $uas_m -cp $uas_c
d alice_ok OPTIONS "sip:+15551234567@a.example;user=phone" --from sip:alice@a.example --user alice \
	--password "$pw_a" --hdr "P-Asserted-Identity: <sip:mallory@a.example>" \
	--hdr "Remote-Party-ID: \"CEO\" <sip:ceo@a.example>;party=calling;privacy=off;screen=yes" \
	--hdr "P-Preferred-Identity: <sip:ceo@a.example>"
wait "$e1_pid" 2>/dev/null
msg "$tmp/e1.msg" received '^OPTIONS' >"$tmp/e1.req"
check "alice (Digest) reaches a telephone number: 200 from the next hop" said alice_ok 2 200
check "  ... which got P-Asserted-Identity <sip:alice@a.example> set by the proxy, hers removed" \
	eval '[ "$(header P-Asserted-Identity <"$tmp/e1.req")" = "P-Asserted-Identity: <sip:alice@a.example>" ]'
check "  ... and no Remote-Party-ID or P-Preferred-Identity of hers (ceo's): a gateway would show them" \
	eval '[ -s "$tmp/e1.req" ] && ! grep -qi "^Remote-Party-ID\|^P-Preferred-Identity" "$tmp/e1.req"'
check "  ... and no Proxy-Authorization for our realm (RFC 3261 §22.3)" \
	eval '[ -s "$tmp/e1.req" ] && ! grep -qi "^Proxy-Authorization" "$tmp/e1.req"'
# a phone's final answer other than a 2xx (busy, decline, redirect) goes up once every branch has
# ended, not through relay(): its identities reached the caller (reviewer's finding: 486 asserting ceo)
awk '/^\[last_CSeq:\]/ { print; print "P-Asserted-Identity: <sip:ceo@a.example>"; next }
	{ sub(/^SIP\/2.0 200 OK/, "SIP/2.0 486 Busy Here"); print }' "$srcdir/tests/sip-answer.xml" >"$tmp/busy.xml"
sipp_bg busy_u -sf "$tmp/busy.xml" -i 127.0.0.1 -p $uas_p -mp $uas_m -cp $uas_c
d busy OPTIONS "sip:x@127.0.0.1:$uas_p" --from sip:alice@a.example --user alice --password "$pw_a" \
	--save "$tmp/busy.resp"
wait "$busy_u_pid" 2>/dev/null
check "a phone's 486 asserting ceo@a.example reaches alice without it: nothing vouches for a phone (RFC 3325)" \
	eval 'said busy 2 486 && ! grep -qi "^P-Asserted-Identity" "$tmp/busy.resp" &&
	      grep -q "486 response: P-Asserted-Identity <sip:ceo@a.example> removed" "$tmp/A.log"'
# nta takes a response for a branch by its Via branch, Call-ID, CSeq and tags, whatever delivered it: the
# --e164-route gateway's own answer keeps its identities, one from another port (anyone who saw the
# request, the gateway's far side among them) has none (reviewer's finding: kept as the gateway's)
cat >"$tmp/gw.py" <<'EOF'
import socket, sys
port, mode, slow = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", port)); s.settimeout(30 * slow)
out = s if mode == "same" else socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
while True:  # every copy answered (a slow proxy retransmits) until the test ends it
    req, src = s.recvfrom(65535)
    hdrs = req.decode().split("\r\n\r\n")[0].split("\r\n")[1:]
    keep = [h + (";tag=gw" if h.split(":")[0].lower() == "to" else "") for h in hdrs
            if h.split(":")[0].lower() in ("via", "from", "to", "call-id", "cseq")]
    out.sendto(("SIP/2.0 200 OK\r\n%s\r\nP-Asserted-Identity: <sip:pstn@a.example>\r\nContent-Length: 0\r\n\r\n" %
                "\r\n".join(keep)).encode(), src)
EOF
# gw NAME same|other - alice's OPTIONS to a number, answered by gw.py
gw() {
	python3 "$tmp/gw.py" $uas_p "$2" "$vg_slow" &
	gw_pid=$!
	pids="$pids $gw_pid"
	"$wait_for" -u $uas_p
	d "$1" OPTIONS "sip:+15551234567@a.example;user=phone" --from sip:alice@a.example --user alice \
		--password "$pw_a" --save "$tmp/$1.resp"
	kill "$gw_pid" 2>/dev/null
	wait "$gw_pid" 2>/dev/null
}
gw gw_same same
gw gw_other other
check "the --e164-route gateway's 200 keeps its P-Asserted-Identity; the same from another port of it: removed" \
	eval 'said gw_same 2 200 && grep -q "^P-Asserted-Identity: <sip:pstn@a.example>" "$tmp/gw_same.resp" &&
	      said gw_other 2 200 && ! grep -qi "^P-Asserted-Identity" "$tmp/gw_other.resp" &&
	      grep -q "200 response: P-Asserted-Identity <sip:pstn@a.example> removed" "$tmp/A.log"'
# two INVITEs with the same loop hash (Request-URI, Call-ID, From tag, CSeq; no Proxy-Authorization:
# a trusted PBX's, a DANCE user's, a peer proxy's) from two callers: the callee's 200 to eve's, sent
# again after the transaction with alice's callee token added, went up with alice's caller token
# (reviewer's finding: eve then spoke as alice in that dialog, unauthenticated, to any Request-URI)
cat >"$tmp/stray-mix.py" <<'EOF'
import random, re, socket, sys
pp, bp = int(sys.argv[1]), int(sys.argv[2])
def sock(ip, port=0):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind((ip, port)); s.settimeout(5); return s
bob, alice, eve = sock("127.0.0.1", bp), sock("127.0.0.9"), sock("127.0.0.9")
cid, tag = "%x@mix" % random.getrandbits(48), "%x" % random.getrandbits(32)
def invite(s, who):
    ip, p = s.getsockname()
    return ("INVITE sip:bob@127.0.0.1:%d SIP/2.0\r\nVia: SIP/2.0/UDP %s:%d;branch=z9hG4bK%x;rport\r\n"
            "From: <sip:%s@a.example>;tag=%s\r\nTo: <sip:bob@a.example>\r\nCall-ID: %s\r\nCSeq: 1 INVITE\r\n"
            "Max-Forwards: 70\r\nContact: <sip:%s@%s:%d>\r\nContent-Length: 0\r\n\r\n" %
            (bp, ip, p, random.getrandbits(40), who, tag, cid, who, ip, p)).encode()
def answer(req, rr=None):
    out = []
    for h in req.split("\r\n")[1:]:
        name = h.split(":")[0].lower()
        if name in ("via", "from", "call-id", "cseq"):
            out.append(h)
        elif name == "to":
            out.append(h + ";tag=b")
        elif name == "record-route":
            out += (["Record-Route: " + rr] if rr else []) + [h]
    return ("SIP/2.0 200 OK\r\n%s\r\nContact: <sip:bob@127.0.0.1:%d>\r\nContent-Length: 0\r\n\r\n" %
            ("\r\n".join(out), bp)).encode()
def dts(m):
    return re.findall(r"dt=([0-9a-f]+)", "\n".join(l for l in m.split("\r\n") if l.startswith("Record-Route")))
alice.sendto(invite(alice, "alice"), ("127.0.0.1", pp))
ra, src_a = bob.recvfrom(65535); ra = ra.decode()
bob.sendto(answer(ra), src_a)
mine = dts(alice.recv(65535).decode())
eve.sendto(invite(eve, "eve"), ("127.0.0.1", pp))
rb, src_e = bob.recvfrom(65535); rb = rb.decode()
bob.sendto(answer(rb), src_e)
eve.recv(65535)
bob.sendto(answer(rb, "<sip:a.example;lr;dt=%s>" % dts(ra)[0]), src_e)
got = dts(eve.recv(65535).decode())
bob.sendto(answer(ra), src_a)
again = dts(alice.recv(65535).decode())
print("alice", "again" if again == mine else "other", "eve", "leak" if set(mine) & set(got) else "none")
EOF
python3 "$tmp/stray-mix.py" $P $((base + 30)) >"$tmp/stray-mix.out" 2>&1
check "a callee's 200 again to eve with alice's token: eve gets none of alice's; alice's own 200 again, hers" \
	eval 'grep -qx "alice again eve none" "$tmp/stray-mix.out"'
# maddr sends a request elsewhere than the address judged (past the check of the proxy's own
# non-SIP sockets, or to a name resolved outside DNSSEC): reviewer's finding, alice's OPTIONS to
# 192.0.2.1 with maddr=127.0.0.1 reached the UAS there (200)
sipp_bg e_maddr -sf "$srcdir/tests/sip-answer.xml" -i 127.0.0.1 -p $uas_p -mp $uas_m -cp $uas_c
d maddr OPTIONS "sip:x@192.0.2.1:$uas_p;maddr=127.0.0.1" --from sip:alice@a.example --user alice --password "$pw_a"
d maddr_rt OPTIONS "sip:x@192.0.2.1:$uas_p" --from sip:alice@a.example --user alice --password "$pw_a" \
	--hdr "Route: <sip:192.0.2.1:$uas_p;lr;maddr=127.0.0.1>"
# a port above 65535 is taken modulo 65536 below the checks, which judged no port at all: the proxy's
# --state or --metrics socket at P was reached as 65536 + P (reviewer's finding: this UAS got it)
d wrap OPTIONS "sip:x@127.0.0.1:$((65536 + uas_p))" --from sip:alice@a.example --user alice --password "$pw_a"
d wrap_rt OPTIONS "sip:x@192.0.2.1" --from sip:alice@a.example --user alice --password "$pw_a" \
	--hdr "Route: <sip:127.0.0.1:$((65536 + uas_p));lr>"
kill "$e_maddr_pid" 2>/dev/null
wait "$e_maddr_pid" 2>/dev/null
check "maddr in the Request-URI or a Route (alice, authenticated): 403 with Reason, nothing sent there" \
	eval 'said maddr 2 403 "maddr in the Request-URI or Route is not followed" && said maddr_rt 2 403 &&
	      ! grep -q "^OPTIONS " "$tmp/e_maddr.msg"'
check "a port above 65535 in the Request-URI or a Route: 400 with Reason, nothing sent to it modulo 65536" \
	eval 'said wrap 2 400 "no port number" && said wrap_rt 2 400 "no port number" && ! grep -q "^OPTIONS " "$tmp/e_maddr.msg"'
# a callee that challenges alice in our realm's name: bob's phone (127.0.0.5) takes a nonce of ours for
# its own address and answers her OPTIONS 401 with it; her phone answers that with her Digest
# response, which bob then sent us as his own Proxy-Authorization, preloading a Route anywhere
# (reviewer's finding: routed as alice, rule digest, 200)
cat >"$tmp/relay-401.py" <<'EOF'
import hashlib, random, re, socket, sys, threading
P, pw, slow = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
H = lambda s: hashlib.sha256(s.encode()).hexdigest()
def sock(ip, port=0):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind((ip, port)); s.settimeout(10 * slow); return s
def req(s, ruri, frm, cseq, cid, extra=()):
    ip, port = s.getsockname()
    return ("OPTIONS %s SIP/2.0\r\nVia: SIP/2.0/UDP %s:%d;branch=z9hG4bK%x;rport\r\nMax-Forwards: 70\r\n"
            "From: <%s>;tag=f%d\r\nTo: <%s>\r\nCall-ID: %s\r\nCSeq: %d OPTIONS\r\n%sContent-Length: 0\r\n\r\n" %
            (ruri, ip, port, random.getrandbits(40), frm, port, ruri, cid, cseq, "".join(e + "\r\n" for e in extra))).encode()
def final(s, m):
    s.sendto(m, ("127.0.0.1", P))
    cseq = re.search(rb"^CSeq: (\d+)", m, re.M).group(1).decode()
    while True:
        r = s.recv(65535).decode()
        if int(r.split()[1]) >= 200 and re.search(r"^CSeq: %s " % cseq, r, re.M):
            return r
def chal(r):
    m = re.search(r'^(?:WWW|Proxy)-Authenticate:\s*Digest\s+(.*)$', r, re.M | re.I)
    return dict((k.lower(), v.strip('"')) for k, v in re.findall(r'(\w+)=("[^"]*"|[^,\s]+)', m.group(1)))
def cred(name, c, uri, nc):
    ha1, ha2, cn = H("alice:%s:%s" % (c["realm"], pw)), H("OPTIONS:%s" % uri), "%x" % random.getrandbits(32)
    return ('%s: Digest username="alice", realm="%s", nonce="%s", uri="%s", response="%s", algorithm=SHA-256, '
            'qop=auth, nc=%08x, cnonce="%s"' % (name, c["realm"], c["nonce"], uri, H("%s:%s:%08x:%s:auth:%s" %
            (ha1, c["nonce"], nc, cn, ha2)), nc, cn))
def answer(s, m, src, status, extra=""):
    hdrs = m.split("\r\n\r\n")[0].split("\r\n")[1:]
    keep = [h + (";tag=x" if h.lower().startswith("to:") else "") for h in hdrs
            if h.split(":")[0].lower() in ("via", "from", "to", "call-id", "cseq")]
    s.sendto(("SIP/2.0 %s\r\n%s\r\n%sContent-Length: 0\r\n\r\n" % (status, "\r\n".join(keep), extra)).encode(), src)
bob, alice, gw = sock("127.0.0.5"), sock("127.0.0.1"), sock("127.0.0.1")
uri = "sip:bob@127.0.0.5:%d" % bob.getsockname()[1]
nonce = chal(final(bob, req(bob, "sip:x@a.example", "sip:bob@a.example", 1, "n@relay")))["nonce"]
seen = []
def phone():  # alice's CSeq 2 gets the 401, her CSeq 3 the 200; a retransmission its answer again
    while True:
        m, src = bob.recvfrom(65535); m = m.decode()
        last = re.search(r"^CSeq: 3 ", m, re.M)
        seen.extend(re.findall(r"^Authorization:.*$", m, re.M) if last else [])
        answer(bob, m, src, "200 OK" if last else "401 Unauthorized", "" if last else
               'WWW-Authenticate: Digest realm="a.example", nonce="%s", algorithm=SHA-256, qop="auth"\r\n' % nonce)
        if last:
            return
th = threading.Thread(target=phone); th.start()
c407 = chal(final(alice, req(alice, uri, "sip:alice@a.example", 1, "a@relay")))
c401 = chal(final(alice, req(alice, uri, "sip:alice@a.example", 2, "a@relay", [cred("Proxy-Authorization", c407, uri, 1)])))
r = final(alice, req(alice, uri, "sip:alice@a.example", 3, "a@relay",
                     [cred("Proxy-Authorization", c407, uri, 2), cred("Authorization", c401, uri, 1)]))
th.join()
out = ["alice", r.split()[1], "phone", "credentials" if seen else "none"]
if seen:
    def gateway():
        m, src = gw.recvfrom(65535)
        answer(gw, m.decode(), src, "200 OK")
    threading.Thread(target=gateway, daemon=True).start()
    r = final(bob, req(bob, uri, "sip:alice@a.example", 2, "b@relay", [seen[0].replace("Authorization", "Proxy-Authorization", 1).rstrip("\r"),
              "Route: <sip:127.0.0.1:%d;lr>" % gw.getsockname()[1]]))
    out += ["as-alice", r.split()[1]]
print(" ".join(out))
EOF
python3 "$tmp/relay-401.py" $P "$pw_a" "$vg_slow" >"$tmp/relay-401.out" 2>&1
check "a callee's 401 in our realm: alice's answer to it reaches no one (bob could not be her: 200 before)" \
	eval 'grep -qx "alice 200 phone none" "$tmp/relay-401.out" && ! grep -q "peer=127.0.0.5:.* user=alice@a.example .*verdict=MATCH" "$tmp/A.log"'
d bob_as_alice OPTIONS sip:carol@b.example --from sip:alice@a.example --user bob --password "$pw_b"
check "bob (authenticated) with From alice: 403 with Reason" \
	eval 'said bob_as_alice 2 403 "identity mismatch: From alice@a.example is not bob@a.example"'
d bob_num INVITE "sip:+12025552000@a.example;user=phone" --from "sip:+12025551000@a.example;user=phone" \
	--user bob --password "$pw_b"
check "bob with alice's number as From: 403 (the number belongs to another user)" \
	eval 'said bob_num 2 403 "From number 12025551000 belongs to another user"'
d num_user OPTIONS sip:carol@b.example --from "sip:+12025551000@a.example;user=phone" --user +12025551000 \
	--password "$pw_d"
check "a user whose address is alice's number (+12025551000@a.example), not entitled to it: 403, alice's" \
	eval 'said num_user 2 403 "From number 12025551000 belongs to another user"'
python3 "$srcdir/tests/kamailio-sip.py" tls 127.0.0.1 $T OPTIONS sip:carol@b.example sip:alice@a.example \
	--cert "$cert/ee.pem" --key "$cert/ee.key" >"$tmp/tlscert.out" 2>&1
check "over TLS with a client certificate but no DANCE identity, From alice: 407 (a certificate is not a user)" \
	grep -q "^SIP/2.0 407" "$tmp/tlscert.out"
d tcp_ok OPTIONS sip:a.example --from sip:bob@a.example --transport tcp --no-auth
check "OPTIONS for the proxy itself: answered (200), nothing routed, nobody asked" said tcp_ok 1 200

# 3. trusted networks: the source address, over TCP here (UDP sources can be forged)
sipp_bg e2 -sf "$srcdir/tests/sip-answer.xml" -i 127.0.0.1 -p $uas_p -mp $uas_m -cp $uas_c
d trusted OPTIONS "sip:+15551234567@a.example;user=phone" --from tel:+15550001111 --transport tcp --bind 127.0.0.9 --no-auth
wait "$e2_pid" 2>/dev/null
check "a trusted PBX (127.0.0.9, TCP) is routed unauthenticated, named in the log" \
	eval 'said trusted 1 200 && grep -q "peer=127.0.0.9:[0-9]* user=? method=OPTIONS rule=trusted verdict=MATCH (trusted network 127.0.0.9/32, over tcp)" "$tmp/A.log"'
d untrusted OPTIONS "sip:+15551234567@a.example;user=phone" --from tel:+15550001111 --transport tcp --bind 127.0.0.10 --no-auth
check "the neighbouring address 127.0.0.10 is not trusted: 407" said untrusted 1 407
reg trustreg sip:alice@a.example --no-auth --contact sip:mallory@192.0.2.66 --transport tcp --bind 127.0.0.9
reg trustreg2 sip:alice@a.example --no-auth --contact sip:mallory@192.0.2.66 --bind 127.0.0.9
check "a REGISTER from the trusted PBX (TCP, or one forged UDP datagram) binds nothing on trust: 401" \
	eval 'said trustreg 1 401 && said trustreg2 1 401 && ! grep -q "mallory@192.0.2.66" "$tmp/A.log"'

# 4. dialogs: only with our token in the Route
d forged BYE sip:carol@b.example --from sip:alice@a.example --to "sip:carol@b.example;tag=x1" \
	--hdr "Route: <sip:a.example;lr>" --no-auth
d forged2 BYE sip:carol@b.example --from sip:alice@a.example --to "sip:carol@b.example;tag=x1" \
	--hdr "Route: <sip:a.example;lr;dt=0123456789abcdef01234567>" --no-auth
check "a forged in-dialog request (To tag, Route to us, no or a wrong token): 407, not routed" \
	eval 'said forged 1 407 && said forged2 1 407 && ! grep -q "rule=dialog" "$tmp/A.log"'
# a dialog of ours (its tokens made with the --auth-secret key, as our Record-Route carries them,
# over the side that sends, Call-ID, the caller's tag, the caller's and the callee's addresses and
# an empty flow token): routed by the dialog rule, and a P-Asserted-Identity inside it is removed
# token SIDE - the caller's or the callee's token of dialog dlg1@test
token() {
	python3 -c '
import hashlib, hmac, sys
key = hashlib.sha256(open(sys.argv[1], "rb").read()).digest()
print(hmac.new(key, b"".join(p.encode() + b"\0" for p in sys.argv[2:]) + b"\0", "sha256").digest()[:12].hex())' \
		"$tmp/secret" "dialog-$1" "dlg1@test" "caller1" "alice@a.example" "+15551234567@a.example"
}
tok=$(token caller)
tok_callee=$(token callee)
sipp_bg e3 -sf "$srcdir/tests/sip-answer.xml" -i 127.0.0.1 -p $uas_p -mp $uas_m -cp $uas_c
d indialog OPTIONS "sip:+15551234567@a.example;user=phone" --from sip:alice@a.example --call-id dlg1@test \
	--to "sip:+15551234567@a.example;tag=callee1" --hdr "Route: <sip:a.example;lr;dt=$tok>" --no-auth \
	--tag caller1 --hdr "P-Asserted-Identity: <sip:ceo@a.example>"
wait "$e3_pid" 2>/dev/null
check "inside a dialog of ours (its token, the caller's From tag): routed by the dialog rule" \
	eval 'said indialog 1 200 && grep -q "method=OPTIONS rule=dialog verdict=MATCH" "$tmp/A.log"'
check "  ... a P-Asserted-Identity inside the dialog is removed, not forwarded" \
	eval 'grep -q "^OPTIONS " "$tmp/e3.msg" && ! grep -qi "^P-Asserted-Identity" "$tmp/e3.msg"'
sipp_bg e4 -sf "$srcdir/tests/sip-answer.xml" -i 127.0.0.1 -p $uas_p -mp $uas_m -cp $uas_c
d indialog2 OPTIONS "sip:+15551234567@a.example;user=phone" --from sip:+15551234567@a.example --call-id dlg1@test \
	--to "sip:alice@a.example;tag=caller1" --hdr "Route: <sip:a.example;lr;dt=$tok_callee>" --no-auth --tag callee1
wait "$e4_pid" 2>/dev/null
check "  ... the other end's request with its own token (the caller's tag in To): routed too" said indialog2 1 200
d swap OPTIONS "sip:+15551234567@a.example;user=phone" --from sip:+15551234567@a.example --call-id dlg1@test \
	--to "sip:alice@a.example;tag=caller1" --hdr "Route: <sip:a.example;lr;dt=$tok>" --no-auth --tag anything
check "  ... the caller's token in a request posing as the other end: 407, no one speaks for the other side" \
	said swap 1 407
d indialog3 OPTIONS "sip:+15551234567@a.example;user=phone" --from sip:alice@a.example --call-id dlg2@test \
	--to "sip:+15551234567@a.example;tag=caller1" --hdr "Route: <sip:a.example;lr;dt=$tok>" --no-auth
check "  ... that token with another Call-ID: not a dialog of ours, 407" said indialog3 1 407
# a REGISTER is never inside a dialog: the callee's token names alice in To (the caller), yet
# a REGISTER To alice with it is alice's binding, which only alice may make (reviewer's finding:
# bound, 200)
reg dreg sip:alice@a.example --from sip:+15551234567@a.example --call-id dlg1@test \
	--to "sip:alice@a.example;tag=caller1" --hdr "Route: <sip:a.example;lr;dt=$tok_callee>" --no-auth \
	--tag callee1 --contact sip:mallory@192.0.2.66
check "a REGISTER To alice with the callee's token of a dialog with alice: 401, nothing bound" \
	eval 'said dreg 1 401 && ! grep -q "method=REGISTER rule=dialog" "$tmp/A.log" && ! grep -q "registrar: REGISTER alice.*mallory" "$tmp/A.log"'
d cancel CANCEL sip:carol@b.example --from sip:alice@a.example --no-auth
check "a CANCEL of nothing in progress (cannot be challenged): 403" said cancel 1 403 "CANCEL cannot be challenged"

# 5. SIPp [authentication] over UDP (MD5: SIPp knows no SHA-256, so proxy M offers MD5 first)
start_proxy M --domain a.example --listen "sip:127.0.0.1:$M;transport=udp" --users "$tmp/users" \
	--digest-algorithms MD5,SHA-256 --e164-route "sip:127.0.0.1:$uas_p;transport=udp" --log-level debug || exit 1
cat >"$tmp/reg.xml" <<'EOF'
<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="REGISTER answering 401 with [authentication]">
  <send retrans="500">
    <![CDATA[
REGISTER sip:[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:[service]@a.example>;tag=[pid]SIPpTag00[call_number]
To: <sip:[service]@a.example>
Call-ID: [call_id]
CSeq: 1 REGISTER
Contact: <sip:[service]@[local_ip]:[local_port]>
Expires: 60
Max-Forwards: 70
Content-Length: 0
]]>
  </send>
  <recv response="401" auth="true"/>
  <send retrans="500">
    <![CDATA[
REGISTER sip:[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:[service]@a.example>;tag=[pid]SIPpTag00[call_number]
To: <sip:[service]@a.example>
Call-ID: [call_id]
CSeq: 2 REGISTER
Contact: <sip:[service]@[local_ip]:[local_port]>
[authentication]
Expires: 60
Max-Forwards: 70
Content-Length: 0
]]>
  </send>
  <recv response="200"/>
</scenario>
EOF
sipp_run sreg 127.0.0.1:$M -sf "$tmp/reg.xml" -i 127.0.0.1 -p $reg_p -mp $uac_m -cp $uac_c -s alice -au alice -ap "$pw_a"
rc=$?
check "SIPp REGISTER with [authentication] (MD5, UDP): 401 then 200" eval '[ $rc = 0 ] && [ "$(grep -c "^SIP/2.0 200" "$tmp/sreg.msg")" = 1 ]'
sipp_run sregx 127.0.0.1:$M -sf "$tmp/reg.xml" -i 127.0.0.1 -p $reg_p -mp $uac_m -cp $uac_c -s alice -au alice -ap wrong
check "SIPp REGISTER with a wrong password: no 200" eval '! grep -q "^SIP/2.0 200" "$tmp/sregx.msg"'
sipp_bg scall_uas -sf "$srcdir/tests/sip-uas.xml" -i 127.0.0.1 -p $uas_p -mp $uas_m -cp $uas_c
sipp_run scall 127.0.0.1:$M -sf "$srcdir/tests/sip-stir-uac.xml" -i 127.0.0.1 -p $uac_p -mp $uac_m -cp $uac_c \
	-s +12025552000 -key rdomain "a.example;user=phone" -key from "sip:+12025551000@a.example;user=phone" \
	-key to "sip:+12025552000@a.example;user=phone" -key ihdr "X-Filler: none" -au alice -ap "$pw_a"
rc=$?
wait "$scall_uas_pid" 2>/dev/null
check "SIPp call with [authentication] (407, MD5, UDP): INVITE, 200, ACK, BYE reached the callee" \
	eval '[ $rc = 0 ] && grep -q "^ACK " "$tmp/scall_uas.msg" && grep -q "^BYE " "$tmp/scall_uas.msg"'
check "  ... alice authenticated from her number; ACK and BYE followed the dialog by its token" \
	eval 'grep -q "user=alice@a.example method=INVITE rule=digest verdict=MATCH attest=A" "$tmp/M.log" && grep -q "method=BYE rule=dialog verdict=MATCH" "$tmp/M.log" && grep -q "method=ACK rule=dialog verdict=MATCH" "$tmp/M.log"'
check "  ... the callee saw our Record-Route with the dialog token" \
	grep -Eq "^Record-Route: <sip:a.example;lr;dt=[0-9a-f]{24}>" "$tmp/scall_uas.msg"
# the caller's token is in our Record-Route of the 200 she got (the callee's, in the INVITE, differs);
# that real token, in requests of its dialog (its Call-ID and the caller's tag) that claim other
# addresses: no longer the dialog's, judged like any request (407)
msg "$tmp/scall_uas.msg" received '^INVITE' >"$tmp/scall.inv"
msg "$tmp/scall.msg" received '^SIP/2.0 200' >"$tmp/scall.200"
rr=$(header Record-Route <"$tmp/scall.200" | sed 's/^[^:]*: *//')
rr_callee=$(header Record-Route <"$tmp/scall.inv" | sed 's/^[^:]*: *//')
cid=$(header Call-ID <"$tmp/scall.inv" | sed 's/^[^:]*: *//')
ftag=$(header From <"$tmp/scall.inv" | sed 's/.*;tag=//')
check "  ... the caller got our Record-Route with her own token, not the callee's" \
	eval 'echo "$rr" | grep -Eq "^<sip:a.example;lr;dt=[0-9a-f]{24}>$" && [ "$rr" != "$rr_callee" ]'
# dlg NAME FROM [TO] - a request of that dialog from the caller's side, unauthenticated, to M
dlg() {
	sipp_bg ${1}u -sf "$srcdir/tests/sip-answer.xml" -i 127.0.0.1 -p $uas_p -mp $uas_m -cp $uas_c
	$DIG 127.0.0.1 $M OPTIONS "sip:+12025552000@a.example;user=phone" --from "$2" --call-id "$cid" \
		--tag "$ftag" --to "${3:-sip:+12025552000@a.example;user=phone};tag=callee1" --hdr "Route: $rr" \
		--no-auth >"$tmp/$1.out" 2>&1
	kill "$(eval echo \$${1}u_pid)" 2>/dev/null
	wait "$(eval echo \$${1}u_pid)" 2>/dev/null
}
dlg d_same "sip:+12025551000@a.example;user=phone"
check "  ... a request of that dialog with its own From and To: routed by the dialog rule (200)" \
	said d_same 1 200
dlg d_ceo sip:ceo@a.example
dlg d_bob sip:bob@a.example "sip:+12025559999@a.example;user=phone"
check "  ... the same token and tags with From ceo (or To another number): 407, not a dialog of ours" \
	eval 'said d_ceo 1 407 && said d_bob 1 407'
rr=$rr_callee
dlg d_theirs "sip:+12025551000@a.example;user=phone"
check "  ... the callee's token from the caller's side: 407 (each side holds only its own)" \
	said d_theirs 1 407
# the callee's own token, as itself (From the address the INVITE was routed to, To the caller)
sipp_bg d_callee_u -sf "$srcdir/tests/sip-answer.xml" -i 127.0.0.1 -p $uas_p -mp $uas_m -cp $uas_c
$DIG 127.0.0.1 $M OPTIONS "sip:+12025552000@a.example;user=phone" --call-id "$cid" --tag callee1 \
	--from "sip:+12025552000@a.example;user=phone" --to "sip:+12025551000@a.example;user=phone;tag=$ftag" \
	--hdr "Route: $rr_callee" --no-auth >"$tmp/d_callee.out" 2>&1
wait "$d_callee_u_pid" 2>/dev/null
check "  ... the callee's token from the callee, as itself: routed by the dialog rule (200)" \
	said d_callee 1 200
# alice calls an address of her own (the --e164-route UAS stands for her phone) with To naming bob:
# the callee's token she gets there speaks only as the address the INVITE was routed to, never as
# bob (reviewer's finding: it covered To, so alice spoke as bob). Her phone also adds a Record-Route
# naming us above ours to its 200: only ours is rewritten with the caller's token.
awk '/^SIP\/2.0 200 OK/ { ok = 1 } ok && /^\[last_Record-Route:\]/ {
	print "Record-Route: <sip:a.example;lr;dt=000000000000000000000000>"; ok = 0 } { print }' \
	"$srcdir/tests/sip-uas.xml" >"$tmp/uas-rr.xml"
sipp_bg self_uas -sf "$tmp/uas-rr.xml" -i 127.0.0.1 -p $uas_p -mp $uas_m -cp $uas_c
sipp_run self 127.0.0.1:$M -sf "$srcdir/tests/sip-stir-uac.xml" -i 127.0.0.1 -p $uac_p -mp $uac_m -cp $uac_c \
	-s +12025552000 -key rdomain "a.example;user=phone" -key from "sip:+12025551000@a.example;user=phone" \
	-key to "sip:bob@a.example" -key ihdr "X-Filler: none" -au alice -ap "$pw_a"
rc=$?
wait "$self_uas_pid" 2>/dev/null
msg "$tmp/self_uas.msg" received '^INVITE' >"$tmp/self.inv"
msg "$tmp/self.msg" received '^SIP/2.0 200' >"$tmp/self.200"
cid=$(header Call-ID <"$tmp/self.inv" | sed 's/^[^:]*: *//')
ftag=$(header From <"$tmp/self.inv" | sed 's/.*;tag=//')
rr_self=$(header Record-Route <"$tmp/self.inv" | sed 's/^[^:]*: *//')
check "a call whose To names another user than the Request-URI: set up, ACK and BYE by the dialog rule" \
	eval '[ $rc = 0 ] && grep -q "^BYE " "$tmp/self_uas.msg" && grep -q "To names another address" "$tmp/M.log"'
check "  ... the Record-Route naming us that the callee added is passed on as it was, ours rewritten" \
	eval '[ "$(grep -c "^Record-Route:.*dt=000000000000000000000000" "$tmp/self.200")" = 1 ] &&
	      [ "$(grep -Eo "dt=[0-9a-f]{24}" "$tmp/self.200" | sort -u | grep -vc "dt=0\{24\}")" = 1 ] &&
	      ! grep -qF "$(echo "$rr_self" | grep -Eo "dt=[0-9a-f]{24}")" "$tmp/self.200"'
sipp_bg d_asbob_u -sf "$srcdir/tests/sip-answer.xml" -i 127.0.0.1 -p $uas_p -mp $uas_m -cp $uas_c
$DIG 127.0.0.1 $M OPTIONS "sip:+12025552000@a.example;user=phone" --call-id "$cid" --tag callee1 \
	--from sip:bob@a.example --to "sip:+12025551000@a.example;user=phone;tag=$ftag" \
	--hdr "Route: $rr_self" --no-auth >"$tmp/d_asbob.out" 2>&1
kill "$d_asbob_u_pid" 2>/dev/null
wait "$d_asbob_u_pid" 2>/dev/null
check "  ... that callee's token, From bob (the To of the INVITE): 407, it does not speak as bob" \
	said d_asbob 1 407
# alice's own token from that 200 covers To bob: in a REGISTER To bob it bound bob's address to
# her contact (reviewer's finding: 200, bob's calls rang at mallory)
rr_mine=$(grep -Eo "<sip:a.example;lr;dt=[0-9a-f]{24}>" "$tmp/self.200" | grep -v "dt=0\{24\}" | head -1)
$DIG 127.0.0.1 $M REGISTER sip:a.example --call-id "$cid" --tag "$ftag" \
	--from "sip:+12025551000@a.example;user=phone" --to "sip:bob@a.example;tag=x" --hdr "Route: $rr_mine" \
	--contact sip:mallory@192.0.2.66 --expires 60 --no-auth >"$tmp/d_regbob.out" 2>&1
check "  ... the caller's token, in a REGISTER To bob (the To of her INVITE): 401, bob's binding untouched" \
	eval '[ -n "$rr_mine" ] && said d_regbob 1 401 && ! grep -q "method=REGISTER rule=dialog" "$tmp/M.log"'
# the callee's 200 again (as a phone does until the ACK comes; here the caller ACKs 1.2 s late)
# reaches the proxy after the INVITE's transaction and goes up statelessly: it carried the
# callee's token to the caller (reviewer's finding: alice then spoke as the callee,
# unauthenticated, to any Request-URI); the caller's, now
sed 's|^  <label id="answered"/>$|&\n  <pause milliseconds="1200"/>|' "$srcdir/tests/sip-stir-uac.xml" >"$tmp/uac-late-ack.xml"
sipp_bg again_uas -sf "$srcdir/tests/sip-uas.xml" -i 127.0.0.1 -p $uas_p -mp $uas_m -cp $uas_c
sipp_run again 127.0.0.1:$M -sf "$tmp/uac-late-ack.xml" -i 127.0.0.1 -p $uac_p -mp $uac_m -cp $uac_c \
	-s +12025552000 -key rdomain "a.example;user=phone" -key from "sip:+12025551000@a.example;user=phone" \
	-key to "sip:+12025552000@a.example;user=phone" -key ihdr "X-Filler: none" -au alice -ap "$pw_a"
rc=$?
wait "$again_uas_pid" 2>/dev/null
dt_callee=$(msg "$tmp/again_uas.msg" received '^INVITE' | header Record-Route | grep -Eo "dt=[0-9a-f]{24}")
check "a late ACK: the callee's 200 again reached the caller (the BYE's 200 too), the call completed" \
	eval '[ $rc = 0 ] && [ "$(grep -c "^SIP/2.0 200 OK" "$tmp/again.msg")" -ge 3 ]'
check "  ... neither carried the callee's token to the caller (the second did before)" \
	eval '[ -n "$dt_callee" ] && ! grep -q "$dt_callee" "$tmp/again.msg"'
# an address too long to spell in full (a user part of 300 characters) is never cut short:
# alice SUBSCRIBEs to it at an IP address of her own; that callee's token spoke, cut to the
# user part, as that user at any host, ours included (reviewer's finding: 200)
long=$(printf "%0300d" 0 | tr 0 x)
sed 's/request="OPTIONS"/request="SUBSCRIBE"/' "$srcdir/tests/sip-answer.xml" >"$tmp/sub-answer.xml"
sipp_bg long_uas -sf "$tmp/sub-answer.xml" -i 127.0.0.1 -p $uas_p -mp $uas_m -cp $uas_c
$DIG 127.0.0.1 $M SUBSCRIBE "sip:$long@127.0.0.1:$uas_p" --from "sip:+12025551000@a.example;user=phone" \
	--user alice --password "$pw_a" --call-id long@test --tag ltag --hdr "Event: presence" --expires 60 \
	>"$tmp/long.out" 2>&1
wait "$long_uas_pid" 2>/dev/null
rr_long=$(msg "$tmp/long_uas.msg" received '^SUBSCRIBE' | header Record-Route | sed 's/^[^:]*: *//')
# as_long NAME FROM - a request of that dialog from the callee's side, unauthenticated, to a number
as_long() {
	sipp_bg ${1}u -sf "$srcdir/tests/sip-answer.xml" -i 127.0.0.1 -p $uas_p -mp $uas_m -cp $uas_c
	$DIG 127.0.0.1 $M OPTIONS "sip:+12025552000@a.example;user=phone" --from "$2" --call-id long@test \
		--tag l2 --to "sip:+12025551000@a.example;user=phone;tag=ltag" --hdr "Route: $rr_long" --no-auth \
		>"$tmp/$1.out" 2>&1
	kill "$(eval echo \$${1}u_pid)" 2>/dev/null
	wait "$(eval echo \$${1}u_pid)" 2>/dev/null
}
as_long l_self "sip:$long@127.0.0.1:$uas_p"
as_long l_ours "sip:$long@a.example"
as_long l_other "sip:$long@evil.example"
check "a callee reached at a 300-character user part, as itself: routed by the dialog rule (200)" \
	eval '[ -n "$rr_long" ] && said l_self 1 200'
check "  ... as that user at our domain (407), or at another domain (403 over UDP): not routed (200 before)" \
	eval 'said l_ours 1 407 && said l_other 1 403'
stop_proxy M

# 6. SIGHUP: the users file again; a broken one keeps the old
pw_e=$(openssl rand -hex 8)
echo "$pw_e" | "$sd" user-digest erin a.example >>"$tmp/users"
kill -HUP "$A_pid"
"$srcdir/tests/wait-for.sh" "$tmp/A.log" "reload: --users .*: 6 user" 10
reg erin sip:erin@a.example --user erin --password "$pw_e"
check "SIGHUP reloads the users file: erin, added, registers (200)" said erin 2 200
cp "$tmp/users" "$tmp/users.good"
echo "broken line" >>"$tmp/users"
kill -HUP "$A_pid"
"$srcdir/tests/wait-for.sh" "$tmp/A.log" "reload: --users .*:7: want" 10
reg erin2 sip:erin@a.example --user erin --password "$pw_e"
check "a broken users file on SIGHUP: logged with its line, the old users kept (erin: 200)" \
	eval 'said erin2 2 200 && grep -q "keeping the 6 user(s) loaded before" "$tmp/A.log"'
# bob registers with Digest over a TLS connection he keeps (no DANCE identity: the binding
# rests on his password, not on the connection's identity); after a SIGHUP alice's call
# still reaches him over it (his busy comes back)
python3 - "$srcdir/tests/kamailio-sip.py" $T "$pw_b" "$tmp/bobtls.stop" >"$tmp/bobtls.out" 2>&1 <<'PY' &
import importlib.util, os, re, socket, sys
spec = importlib.util.spec_from_file_location("kamsip", sys.argv[1])
k = importlib.util.module_from_spec(spec)
spec.loader.exec_module(k)
c = k.Conn("tls", "127.0.0.1", int(sys.argv[2]))
ua = k.Client(c, "sip:bob@a.example", ("bob", sys.argv[3]))
r = ua.request("REGISTER", "sip:a.example", to="sip:bob@a.example", contact="sip:bob@127.0.0.1:5999;transport=tls",
               hdrs=["Expires: 60"])
print((r or "no response").splitlines()[0], flush=True)
c.s.settimeout(0.2)
while not os.path.exists(sys.argv[4]):
    try:
        m = c.recv().decode(errors="replace")
    except socket.timeout:
        continue
    except OSError:
        break
    first = m.split("\r\n", 1)[0]
    print("received " + " ".join(first.split()[:2]), flush=True)
    if first.startswith(("ACK ", "SIP/2.0 ")):
        continue
    hs = [h + (";tag=b" if re.match(r"(?i)(to|t)\s*:", h) and "tag=" not in h else "") for h in m.split("\r\n")
          if re.match(r"(?i)(via|v|from|f|to|t|call-id|i|cseq|record-route)\s*:", h)]
    c.send(("SIP/2.0 %s\r\n%s\r\nContent-Length: 0\r\n\r\n" % (
        "486 Busy Here" if first.startswith("INVITE ") else "200 OK", "\r\n".join(hs))).encode())
PY
bpid=$!
"$srcdir/tests/wait-for.sh" "$tmp/bobtls.out" "^SIP/2.0" 10
kill -HUP "$A_pid"
"$srcdir/tests/wait-for.sh" -n 3 "$tmp/A.log" "reload: --users" 10
python3 "$srcdir/tests/kamailio-sip.py" udp 127.0.0.1 $P INVITE sip:bob@a.example sip:alice@a.example \
	--auth "alice:$pw_a" >"$tmp/bobtls-call.out" 2>&1
touch "$tmp/bobtls.stop"
wait $bpid
check "bob's Digest binding over TLS is not the connection's identity: after a SIGHUP alice's call reaches him there (486)" \
	eval 'grep -q "^SIP/2.0 200" "$tmp/bobtls.out" && grep -q "^received INVITE sip:bob@" "$tmp/bobtls.out" && grep -q "^SIP/2.0 486" "$tmp/bobtls-call.out"'
cut -d: -f3,4 "$tmp/users.good" | tr ':' '\n' | grep . >"$tmp/ha1s"
check "no HA1 in the log, ever" eval '[ -s "$tmp/ha1s" ] && ! grep -qFf "$tmp/ha1s" "$tmp/A.log"'
stop_proxy A

# 7. --local-auth off: a warning at start, unauthenticated requests routed
start_proxy O --domain a.example --listen "sip:127.0.0.1:$O;transport=udp" --local-auth off --log-level debug || exit 1
$DIG 127.0.0.1 $O REGISTER sip:a.example --from sip:alice@a.example --to sip:alice@a.example --no-auth >"$tmp/off.out" 2>&1
check "--local-auth off: a loud warning at start-up" grep -q "warn auth: --local-auth off: .* WITHOUT authenticating anyone" "$tmp/O.log"
check "--local-auth off: an unauthenticated REGISTER is bound (200), logged as not authenticated" \
	eval 'said off 1 200 && grep -q "rule=local-auth-off verdict=MATCH (--local-auth off: NOT authenticated)" "$tmp/O.log"'
stop_proxy O
finish
