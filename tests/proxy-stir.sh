#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# proxy-stir.sh - STIR/SHAKEN in sipdance-proxy, on loopback with SIPp:
# --stir sign adds an Identity to an authenticated caller's call (verified by
# `sipdance passport verify` and by secsipidx when installed) with the
# attestation the caller earned (A: a Digest user calling from one of her
# numbers; B: from a number that is nobody's; C: a trusted gateway), signs
# nothing for an unauthenticated caller (407) and leaves other calls alone; --stir verify passes a valid PASSporT (ours or secsipidx's)
# with Identity and body byte-exact, and rejects a tampered, stale, misdirected,
# untrusted, unreachable or missing one with the RFC 8224 status and a Reason,
# while a slow x5u server does not hold up another call; --stir-fail annotate
# routes the failure on with a Reason. A node alone keeps its replay cache in
# memory: a PASSporT accepted once is a replay (403) there. Two nodes of a.example sharing their
# replay state in Redis (--state): a PASSporT accepted at one is a replay (403)
# at the other; Redis stopped: 503 with the reason (or, --state-fail open,
# accepted and logged); Redis back: service resumes by itself. x5u is served
# by openssl s_server -WWW.
# The verifying proxies trust the SIPp caller (--trusted 127.0.0.1/32): it
# stands for an interconnect carrier's gateway delivering calls.
. "${srcdir:-.}/tests/proxy-lib.sh"
# ports: a block of our own (tests/ports.sh)
base=$("${srcdir:-.}/tests/ports.sh" $$)
S=$base V=$((base + 1)) VA=$((base + 2)) uac_p=$((base + 3)) uac_m=$((base + 4)) uac_c=$((base + 8))
uas_p=$((base + 10)) uas_m=$((base + 12)) uas_c=$((base + 16)) u2_p=$((base + 18)) u2_m=$((base + 20))
u2_c=$((base + 24)) closed=$((base + 26)) R=$((base + 30)) N1=$((base + 31)) N2=$((base + 32)) NO=$((base + 33))
need sipp openssl python3

sd=$("${srcdir:-.}/tests/valgrind.sh" "${top_builddir:-.}/sipdance")
data=$(cd "$srcdir/tests/data/stir" && pwd)
fp="sha-256 4A:AD:B9:B1:3F:82:18:3B:54:02:12:DF:3E:5D:49:6B:19:E5:7C:AB:3E:4B:65:2C:B2:0A:EE:A5:06:A5:A3:34"

# x5u: an HTTPS server on loopback, and a "slow" one that never answers (it
# accepts each connection, says so, and never reads it)
mkdir -p "$tmp/www"
cp "$data/ee-chain.pem" "$tmp/www/ee-chain.pem"
cp "$data/ee-chain.pem" "$tmp/www/ee-chain2.pem"
cp "$data/other-ee-chain.pem" "$tmp/www/other-chain.pem"
# a certificate for the one number 15551230000 (RFC 8226 TNAuthList), ee.key's public key
"$data/tncert.sh" "$tmp/www/one-chain.pem" '[tn]\ne = EXP:2,IA5:15551230000\n'
(cd "$tmp/www" && exec openssl s_server -WWW -accept 127.0.0.1:0 -naccept 1000 \
	-cert "$data/server.pem" -key "$data/server.key" >"$tmp/www.log" 2>&1) &
pids="$pids $!"
python3 -c '
import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(16)
print(s.getsockname()[1], flush=True)
held = []
while True:
    held.append(s.accept()[0]); print("connection", flush=True)' >"$tmp/slow.log" &
pids="$pids $!"
"$wait_for" "$tmp/www.log" "^ACCEPT 127" && "$wait_for" "$tmp/slow.log" "^[0-9]+$" ||
	{ bad "x5u test servers started" "$(cat "$tmp/www.log")"; finish; exit 1; }
wport=$(sed -n 's/^ACCEPT 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$tmp/www.log")
sport=$(sed -n 1p "$tmp/slow.log")
X5U=https://127.0.0.1:$wport

# sign_id X5U-PATH KEY [ARGS...] - an Identity value made by `sipdance passport sign`
sign_id() {
	p=$1 k=$2
	shift 2
	"$sd" passport sign --key "$data/$k" --x5u "$X5U/$p" --attest A "$@"
}

# call NAME PROXYPORT FROM TO RURI-USER RDOMAIN IHDR - one call from the SIPp UAC (trace
# $tmp/NAME.msg), from address ${uac_ip:-127.0.0.1}, answering a 407 as ${uac_user:-nobody}
call() {
	n=$1 pp=$2 from=$3 to=$4 ru=$5 rd=$6 ih=$7
	sipp_run "$n" 127.0.0.1:$pp -sf "$srcdir/tests/sip-stir-uac.xml" -i "${uac_ip:-127.0.0.1}" -p $uac_p \
		-mp $uac_m -cp $uac_c -s "$ru" -key rdomain "$rd" -key from "$from" -key to "$to" \
		-key ihdr "$ih" -au "${uac_user:-nobody}" -ap "${uac_pw:-none}"
}

# attest_of IDENTITY - the attest claim of a PASSporT (payload decoded, not verified)
attest_of() {
	python3 -c 'import base64, json, sys
p = sys.argv[1].split(";")[0].split(".")[1]
print(json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))["attest"])' "$1"
}

# sx_check NAME IDENTITY ATTEST - secsipidx verifies the signature, and the attestation is ATTEST
sx_check() {
	if ! command -v secsipidx >/dev/null; then
		echo "# secsipidx not installed: its check of $1 skipped"
		return
	fi
	printf '%s' "$2" >"$tmp/$1.id"
	if secsipidx -check -fidentity "$tmp/$1.id" -fpubkey "$data/ee.pem" -expire 60 >"$tmp/$1.sx" 2>&1 &&
		grep -q '^ok' "$tmp/$1.sx" && [ "$(attest_of "$2")" = "$3" ]; then
		ok "$1: secsipidx -check accepts it, attestation $3"
	else
		bad "$1: secsipidx -check accepts it, attestation $3 (got $(attest_of "$2" 2>&1))" "$(cat "$tmp/$1.sx")"
	fi
}

# uas NAME [PORT] - a SIPp callee behind the proxies' --e164-route
uas() { sipp_bg "$1" -sf "$srcdir/tests/sip-uas.xml" -i 127.0.0.1 -p "${2:-$uas_p}" -mp $uas_m -cp $uas_c; }

# answered CALL NAME ARGS... - a callee (NAMEuas) up, then CALL NAME ARGS... (call or
# vcall), the callee reaped; $rc is the caller's exit status
answered() {
	uas "${2}uas"
	"$@"
	rc=$?
	eval "wait \"\$${2}uas_pid\"" 2>/dev/null
}

# same_bytes NAME UAC-TRACE UAS-TRACE - Identity lines and body identical on both sides
same_bytes() {
	msg "$2" sent '^INVITE' >"$tmp/a.inv"
	msg "$3" received '^INVITE' >"$tmp/b.inv"
	if [ -s "$tmp/b.inv" ] && [ "$(header Identity <"$tmp/a.inv")" = "$(header Identity <"$tmp/b.inv")" ] &&
		[ "$(body <"$tmp/a.inv")" = "$(body <"$tmp/b.inv")" ]; then
		ok "$1: Identity and body byte-exact at the callee"
	else
		bad "$1: Identity and body byte-exact at the callee" "$(diff "$tmp/a.inv" "$tmp/b.inv")"
	fi
}

# rejected NAME TRACE STATUS REASON-RE - the caller got STATUS with a matching Reason
rejected() {
	st=$(status "$2")
	rs=$(msg "$2" received '^SIP/2.0 [3-6]' | header Reason)
	if [ "$st" = "$3" ] && echo "$rs" | grep -Eq -- "^Reason: SIP;cause=$3;text=\"$4"; then
		ok "$1: $3 with Reason ($(echo "$rs" | cut -c1-90))"
	else
		bad "$1: want $3 with Reason /$4/, got $st" "$rs"
	fi
}

local_from="sip:+12025551000@a.example;user=phone"
to="sip:+12025552000@a.example;user=phone"

# ---- 1. signing at egress ----
# alice: a Digest user entitled to 12025551000 (SIPp answers the 407 as her, MD5);
# 127.0.0.5: a trusted gateway of a.example
uac_pw=$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
echo "$uac_pw" | "$sd" user-digest alice a.example 12025551000 >"$tmp/users"
chmod 600 "$tmp/users"
start_proxy S --domain a.example --listen "sip:127.0.0.1:$S;transport=udp" \
	--e164-route "sip:127.0.0.1:$uas_p;transport=udp" --stir sign --stir-key "$data/ee.key" \
	--stir-x5u "$X5U/ee-chain.pem" --stir-attest A --stir-orig-range "1303555*,1202555*" \
	--users "$tmp/users" --digest-algorithms MD5,SHA-256 --trusted 127.0.0.5/32 \
	--log-level debug || { finish; exit 1; }
uac_user=alice
answered call s1 $S "$local_from" "$to" +12025552000 "a.example;user=phone" "X-Filler: none"
msg "$tmp/s1uas.msg" received '^INVITE' >"$tmp/s1.inv"
id=$(header Identity <"$tmp/s1.inv" | sed 's/^Identity: //')
check "sign: alice (Digest) from her number, call completed with one Identity at the callee" \
	eval '[ $rc = 0 ] && [ "$(header Identity <"$tmp/s1.inv" | wc -l)" = 1 ]'
check "sign: Identity has info=<x5u>;alg=ES256;ppt=shaken and a Date was added" \
	eval 'echo "$id" | grep -q ";info=<$X5U/ee-chain.pem>;alg=ES256;ppt=shaken\$" && header Date <"$tmp/s1.inv" | grep -q GMT'
if "$sd" passport verify --cert "$data/ee-chain.pem" --ca-file "$data/root.pem" --orig 12025551000 \
	--dest 12025552000 --fingerprint "$fp" --require-mky "$id" >"$tmp/s1.json" 2>&1 &&
	grep -q '"attest":"A"' "$tmp/s1.json" && grep -q '"mky":\[{"alg":"sha-256"' "$tmp/s1.json"; then
	ok "sign: sipdance passport verify accepts it (attest A, mky of the SDP fingerprint)"
else
	bad "sign: sipdance passport verify accepts it" "$(cat "$tmp/s1.json")"
fi
check "sign: sipdance passport verify rejects it for another destination" \
	eval '! "$sd" passport verify --cert "$data/ee-chain.pem" --ca-file "$data/root.pem" --dest 12025559999 "$id" >/dev/null'
sx_check "sign: alice, her number" "$id" A
check "sign: body byte-exact at the callee" \
	eval '[ "$(msg "$tmp/s1.msg" sent "^INVITE" | body)" = "$(body <"$tmp/s1.inv")" ]'
check "sign: one log line for the signature" grep -q 'stir: sign orig=12025551000 dest=12025552000 attest=A' "$tmp/S.log"

answered call s2 $S "sip:+14155551000@a.example;user=phone" "$to" +12025552000 "a.example;user=phone" "X-Filler: none"
check "sign: caller outside --stir-orig-range: call goes on unsigned" \
	eval '[ $rc = 0 ] && ! msg "$tmp/s2uas.msg" received "^INVITE" | grep -qi "^Identity:" && grep -q "orig=14155551000.*not signed (orig is outside" "$tmp/S.log"'
answered call s1b $S "sip:+12025553333@a.example;user=phone" "$to" +12025552000 "a.example;user=phone" "X-Filler: none"
id=$(msg "$tmp/s1buas.msg" received '^INVITE' | header Identity | sed 's/^Identity: //')
check "sign: alice from a number of nobody's, in range: signed, attestation B (log line)" \
	eval '[ $rc = 0 ] && [ -n "$id" ] && grep -q "stir: sign orig=12025553333 dest=12025552000 attest=B" "$tmp/S.log"'
sx_check "sign: alice, a number of nobody's" "$id" B
uac_user= uac_ip=127.0.0.5
answered call s1c $S "$local_from" "$to" +12025552000 "a.example;user=phone" "X-Filler: none"
uac_ip= uac_user=alice
id=$(msg "$tmp/s1cuas.msg" received '^INVITE' | header Identity | sed 's/^Identity: //')
check "sign: a trusted gateway (127.0.0.5): signed, attestation C (log lines)" \
	eval '[ $rc = 0 ] && [ -n "$id" ] && grep -q "rule=trusted verdict=MATCH attest=C" "$tmp/S.log" && grep -q "stir: sign orig=12025551000 dest=12025552000 attest=C" "$tmp/S.log"'
sx_check "sign: trusted gateway" "$id" C
n_sign=$(grep -c "stir: sign orig" "$tmp/S.log")
python3 "$srcdir/tests/sip-digest.py" 127.0.0.1 $S INVITE "sip:+12025552000@a.example;user=phone" \
	--from "$local_from" --to "$to" --no-auth >"$tmp/s3.out" 2>&1
check "sign: an unauthenticated caller claiming alice's number: 407, nothing signed or routed" \
	eval 'grep -q "^407 " "$tmp/s3.out" && [ "$(grep -c "stir: sign orig" "$tmp/S.log")" = "$n_sign" ]'
python3 "$srcdir/tests/sip-digest.py" 127.0.0.1 $S INVITE "sip:+12025552000@a.example;user=phone" \
	--from "tel:+12025551000" --to "$to" --user alice --password wrong >"$tmp/s3b.out" 2>&1
check "sign: a tel: From (no domain) with a wrong password: 407 twice, nothing signed" \
	eval '[ "$(grep -c "^407 " "$tmp/s3b.out")" = 2 ] && [ "$(grep -c "stir: sign orig" "$tmp/S.log")" = "$n_sign" ]'
theirs=$(sign_id ee-chain.pem ee.key --orig 12025551000 --dest 12025552000)
answered call s4 $S "$local_from" "$to" +12025552000 "a.example;user=phone" "Identity: $theirs"
check "sign: an Identity already present is neither replaced nor doubled" \
	eval '[ $rc = 0 ] && [ "$(msg "$tmp/s4uas.msg" received "^INVITE" | header Identity | wc -l)" = 1 ]'
same_bytes "sign: existing Identity" "$tmp/s4.msg" "$tmp/s4uas.msg"
stop_proxy S

# ---- 2. verification at ingress ----
# the x5u timeout is the interval "fast" and "pending" are measured against:
# 4 s, times vg_slow (a call with a fresh fetch takes seconds under valgrind)
x5u_ms=$((4000 * vg_slow))
vopts="--stir verify --stir-ca-file $data/root.pem --stir-x5u-allow private,any-port --stir-x5u-tls-ca $data/root.pem --stir-x5u-timeout $x5u_ms"
# shellcheck disable=SC2086
uac_user=
start_proxy V --domain b.example --listen "sip:127.0.0.1:$V;transport=udp" \
	--e164-route "sip:127.0.0.1:$uas_p;transport=udp" $vopts --trusted 127.0.0.1/32 \
	--log-level debug || { finish; exit 1; }
tel="tel:+12025551000"
bto="sip:+12025552000@b.example;user=phone"
vcall() { call "$1" $V "$tel" "$bto" +12025552000 "b.example;user=phone" "$2"; }

answered vcall v1 "Identity: $(sign_id ee-chain.pem ee.key --orig 12025551000 --dest 12025552000 --mky "$fp")"
check "verify: our PASSporT (x5u fetched over HTTPS): call completed" eval '[ $rc = 0 ]'
same_bytes "verify: valid" "$tmp/v1.msg" "$tmp/v1uas.msg"
check "verify: logged as MATCH" grep -q 'stir: verify orig=12025551000 dest=12025552000 verdict=MATCH' "$tmp/V.log"
if command -v secsipidx >/dev/null; then
	secsipidx -sign-full -orig-tn 12025551000 -dest-tn 12025552000 -attest B \
		-orig-id 123e4567-e89b-12d3-a456-426614174000 -x5u "$X5U/ee-chain.pem" -k "$data/ee.key" >"$tmp/sx.id"
	answered vcall v2 "Identity: $(cat "$tmp/sx.id")"
	check "verify: secsipidx's PASSporT: call completed" eval '[ $rc = 0 ] && grep -q "verdict=MATCH.*attest=B" "$tmp/V.log"'
	same_bytes "verify: secsipidx" "$tmp/v2.msg" "$tmp/v2uas.msg"
else
	echo "# secsipidx not installed: its PASSporT skipped"
fi

# good / tamper - a valid Identity signed now (a PASSporT is stale 60 s after its iat:
# each use gets a fresh one), and the same with one character of its claims changed
good() { sign_id ee-chain.pem ee.key --orig 12025551000 --dest 12025552000; }
tamper() { awk -F. -v OFS=. '{ c = substr($2, 10, 1); $2 = substr($2, 1, 9) (c == "A" ? "B" : "A") substr($2, 11); print }'; }
good=$(good)
vcall v3 "Identity: $(printf %s "$good" | tamper)"
rejected "verify: tampered claims" "$tmp/v3.msg" 438 ""
badsig=$(printf %s "$good" | awk -F. -v OFS=. '{ c = substr($3, 5, 1); $3 = substr($3, 1, 4) (c == "A" ? "B" : "A") substr($3, 6); print }')
vcall v3b "Identity: $badsig"
rejected "verify: tampered signature" "$tmp/v3b.msg" 438 ".*signature"
vcall v4 "Identity: $(sign_id ee-chain.pem ee.key --orig 12025551000 --dest 12025552000 --iat $(($(date +%s) - 300)))"
rejected "verify: iat 5 minutes old" "$tmp/v4.msg" 403 "iat is [0-9]+ s old"
check "verify: 403 says Stale Date" grep -q '^SIP/2.0 403 Stale Date' "$tmp/v4.msg"
vcall v5 "Identity: $(sign_id ee-chain.pem ee.key --orig 12025551000 --dest 12025559999)"
rejected "verify: signed for another destination" "$tmp/v5.msg" 438 "To 12025552000 is not a dest"
vcall v6 "Identity: $(sign_id ee-chain.pem ee.key --orig 12025550000 --dest 12025552000)"
rejected "verify: signed for another caller" "$tmp/v6.msg" 438 ".*orig"
vcall v7 "Identity: $(sign_id other-chain.pem other-ee.key --orig 12025551000 --dest 12025552000)"
rejected "verify: certificate from an untrusted root" "$tmp/v7.msg" 437 "certificate at depth"
vcall v7b "Identity: $(sign_id one-chain.pem ee.key --orig 12025551000 --dest 12025552000)"
rejected "verify: a certificate for another number (TNAuthList)" "$tmp/v7b.msg" 437 \
	"certificate TNAuthList does not cover orig 12025551000"
vcall v8 "Identity: $(sign_id ee-chain.pem ee.key --orig 12025551000 --dest 12025552000 --mky "sha-256 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF")"
rejected "verify: mky does not match the SDP fingerprint" "$tmp/v8.msg" 438 ""
closed_id=$("$sd" passport sign --key "$data/ee.key" --x5u "https://127.0.0.1:$closed/c.pem" --orig 12025551000 --dest 12025552000)
vcall v9 "Identity: $closed_id"
ms=$(answer_ms "$tmp/v9.msg")
rejected "verify: x5u unreachable" "$tmp/v9.msg" 436 "x5u connect to 127.0.0.1"
check "verify: x5u unreachable answered without waiting for the x5u timeout ($ms ms < $x5u_ms ms)" \
	eval '[ $ms -lt $x5u_ms ]'
vcall v10 "X-Filler: none"
rejected "verify: no Identity" "$tmp/v10.msg" 428 "no Identity header"

# a slow x5u server holds one call; another call (fresh x5u, signed beforehand)
# completes meanwhile: it starts once the slow server has accepted the fetch
slow_id=$("$sd" passport sign --key "$data/ee.key" --x5u "https://127.0.0.1:$sport/slow.pem" --orig 12025551000 --dest 12025552000)
fresh_id=$(sign_id ee-chain2.pem ee.key --orig 12025551000 --dest 12025552000)
(sipp_run slow 127.0.0.1:$V -sf "$srcdir/tests/sip-stir-uac.xml" -i 127.0.0.1 -p $u2_p -mp $u2_m -cp $u2_c \
	-s +12025552000 -key rdomain "b.example;user=phone" -key from "$tel" -key to "$bto" \
	-key ihdr "Identity: $slow_id") &
slow_pid=$!
pids="$pids $slow_pid"
"$wait_for" "$tmp/slow.log" "^connection" || bad "the slow x5u server got the fetch of the first call"
uas v11uas
vcall v11 "Identity: $fresh_id"
rc=$?
fast_ms=$(answer_ms "$tmp/v11.msg")
wait "$v11uas_pid" 2>/dev/null
still=0
kill -0 "$slow_pid" 2>/dev/null && ! grep -q '^SIP/2.0 436' "$tmp/slow.msg" 2>/dev/null && still=1
check "verify: another call completed (200 in ${fast_ms} ms) while the slow x5u fetch was pending" \
	eval '[ $rc = 0 ] && [ $still = 1 ]'
wait "$slow_pid" 2>/dev/null
slow_ms=$(answer_ms "$tmp/slow.msg")
rejected "verify: slow x5u server" "$tmp/slow.msg" 436 "x5u TLS handshake with 127.0.0.1 timed out"
# SIPp stamps a message with the clock of its loop turn: a few ms either way
check "verify: the slow call ended by the x5u timeout ($slow_ms ms, timeout $x5u_ms ms)" \
	eval '[ $slow_ms -ge $((x5u_ms - 20)) ] && [ $slow_ms -lt $((2 * x5u_ms)) ]'
slow_id2=$("$sd" passport sign --key "$data/ee.key" --x5u "https://127.0.0.1:$sport/slow2.pem" --orig 12025551000 --dest 12025552000)
sipp_run cancel 127.0.0.1:$V -sf "$srcdir/tests/sip-stir-cancel.xml" -i 127.0.0.1 -p $uac_p -mp $uac_m -cp $uac_c \
	-s +12025552000 -key rdomain "b.example;user=phone" -key from "$tel" -key to "$bto" -key ihdr "Identity: $slow_id2"
rc=$?
ms=$(answer_ms "$tmp/cancel.msg" CANCEL "SIP/2.0 487")
check "verify: CANCEL while the x5u fetch is pending: 200, then 487 without waiting for the fetch ($ms ms)" \
	eval '[ $rc = 0 ] && [ $ms -lt $x5u_ms ] && grep -q "^SIP/2.0 487" "$tmp/cancel.msg"'
"$wait_for" "$tmp/V.log" "slow2.pem: .*timed out" $((x5u_ms / 1000 + 5))
check "verify: the cancelled verification never answered (one final response, proxy alive)" \
	eval '[ "$(grep -c "^SIP/2.0 [2-6]" "$tmp/cancel.msg")" = 2 ] && kill -0 $V_pid && grep -q "fetch https://127.0.0.1:$sport/slow2.pem: .*timed out" "$tmp/V.log" && [ "$(grep -c "verdict=FAIL status=436 (x5u TLS handshake" "$tmp/V.log")" = 1 ]'
fetches() { grep -c "^FILE:ee-chain.pem" "$tmp/www.log"; }
n0=$(fetches)
good=$(good)
answered vcall v12 "Identity: $good"
n1=$(fetches)
kill -HUP "$V_pid"
"$wait_for" "$tmp/V.log" "x5u cache flushed"
rc1=$rc
answered vcall v13 "Identity: $(good)"
n2=$(fetches)
check "verify: x5u cached across calls ($n0 -> $n1 fetches), fetched again after SIGHUP ($n2)" \
	eval '[ $rc1 = 0 ] && [ $rc = 0 ] && [ $n0 -ge 1 ] && [ $n1 = $n0 ] && [ $n2 = $((n1 + 1)) ] && grep -q "x5u cache flushed" "$tmp/V.log"'
# one node, no --state: its own replay cache (SIGHUP flushes DNS and x5u, not it)
vcall v14 "Identity: $good"
rejected "verify: one node without --state: the PASSporT of v12 replayed" "$tmp/v14.msg" 403 "PASSporT replayed"
check "verify: the E.164 calls never went through DANE" eval '! grep -q "domain=.* rule=\|locate" "$tmp/V.log"'
stop_proxy V

# ---- 3. --stir-fail annotate ----
# shellcheck disable=SC2086
start_proxy VA --domain b.example --listen "sip:127.0.0.1:$VA;transport=udp" \
	--e164-route "sip:127.0.0.1:$uas_p;transport=udp" $vopts --stir-fail annotate --trusted 127.0.0.1/32 --log-level debug ||
	{ finish; exit 1; }
answered call a1 $VA "$tel" "$bto" +12025552000 "b.example;user=phone" "Identity: $(good | tamper)"
check "annotate: a failed verification still reaches the callee with Reason: SIP;cause=438" \
	eval '[ $rc = 0 ] && msg "$tmp/a1uas.msg" received "^INVITE" | grep -q "^Reason: SIP;cause=438;text=\""'
same_bytes "annotate" "$tmp/a1.msg" "$tmp/a1uas.msg"
answered call a2 $VA "$tel" "$bto" +12025552000 "b.example;user=phone" "Identity: $(good)"
check "annotate: a valid PASSporT gets no Reason" \
	eval '[ $rc = 0 ] && ! msg "$tmp/a2uas.msg" received "^INVITE" | grep -q "^Reason:"'
stop_proxy VA

# ---- 4. two nodes of a.example sharing their replay state in Redis ----
# redis_start - the shared Redis (password from a file), on loopback, not persisting
redis_start() {
	redis-server --port $R --bind 127.0.0.1 --save "" --appendonly no --requirepass "$(cat "$tmp/redis.pw")" \
		>>"$tmp/redis.log" 2>&1 &
	redis_pid=$!
	pids="$pids $redis_pid"
	"$wait_for" -t $R || bad "redis-server listening on port $R"
}
# redis_stop - SIGTERM, reaped
redis_stop() {
	reap "$redis_pid" || bad "redis-server stopped"
	pids=$(echo "$pids" | sed "s/ $redis_pid\b//")
}
rcli() { redis-cli -p $R -a "$(cat "$tmp/redis.pw")" --no-auth-warning "$@"; }
# reconnected NAME N - the proxy's N-th "connected to Redis" line is there
reconnected() { "$wait_for" -n "$2" "$tmp/$1.log" "store: connected to Redis" $((15 * vg_slow)); }
state_tests() {
	ato="sip:+12025552000@a.example;user=phone"
	ncall() { call "$1" "$2" "$tel" "$ato" +12025552000 "a.example;user=phone" "$3"; }
	head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$tmp/redis.pw"
	echo >>"$tmp/redis.pw"
	chmod 600 "$tmp/redis.pw"
	redis_start
	sopts="--state redis://127.0.0.1:$R --state-password-file $tmp/redis.pw --state-timeout $((2000 * vg_slow))"
	for n in N1 N2; do
		# shellcheck disable=SC2086
		start_proxy $n --domain a.example --listen "sip:127.0.0.1:$(eval echo \$$n);transport=udp" \
			--e164-route "sip:127.0.0.1:$uas_p;transport=udp" $vopts $sopts --node-id "$n" \
			--trusted 127.0.0.1/32 --log-level debug || return 1
		reconnected $n 1 || bad "node $n connected to Redis" "$(cat "$tmp/$n.log")"
	done
	id=$(good)
	answered ncall r1 $N1 "Identity: $id"
	key=$(rcli --scan --pattern 'sipdance:a.example:stir:*' | head -1)
	ttl=$(rcli TTL "$key")
	check "state: a PASSporT accepted at node 1: its claim in Redis says N1, under sipdance:a.example:stir:, TTL $ttl s <= 120 (max age + skew)" \
		eval '[ $rc = 0 ] && [ "$(rcli GET "$key")" = N1 ] && [ "$ttl" -gt 0 ] && [ "$ttl" -le 120 ]'
	ncall r2 $N2 "Identity: $id"
	rejected "state: the same PASSporT replayed at node 2" "$tmp/r2.msg" 403 "PASSporT replayed"
	ncall r3 $N1 "Identity: $id"
	rejected "state: ... and replayed at node 1 itself" "$tmp/r3.msg" 403 "PASSporT replayed"
	redis_stop
	ncall r4 $N1 "Identity: $(good)"
	rejected "state: Redis stopped: fail closed" "$tmp/r4.msg" 503 "replay state unavailable: Redis 127.0.0.1:$R/0: "
	check "state: the outage logged, reconnection with backoff" \
		grep -Eq "store: Redis 127.0.0.1:$R/0: .*; reconnecting, backoff" "$tmp/N1.log"
	# shellcheck disable=SC2086
	start_proxy NO --domain a.example --listen "sip:127.0.0.1:$NO;transport=udp" \
		--e164-route "sip:127.0.0.1:$uas_p;transport=udp" $vopts $sopts --state-fail open --node-id NO \
		--trusted 127.0.0.1/32 || return 1
	answered ncall r5 $NO "Identity: $(good)"
	check "state: --state-fail open: accepted without the replay check, said at startup and per call" \
		eval '[ $rc = 0 ] && grep -q "warn state: --state-fail open" "$tmp/NO.log" && grep -q "FAIL OPEN: Redis 127.0.0.1:$R/0: .* the claim is let through unchecked" "$tmp/NO.log"'
	stop_proxy NO
	redis_start
	reconnected N1 2 && reconnected N2 2
	id=$(good)
	answered ncall r6 $N1 "Identity: $id"
	check "state: Redis back: node 1 reconnected by itself and accepts calls again" eval '[ $rc = 0 ]'
	ncall r7 $N2 "Identity: $id"
	rejected "state: ... and node 2 refuses the replay again" "$tmp/r7.msg" 403 "PASSporT replayed"
	stop_proxy N1
	stop_proxy N2
	redis_stop
}
if command -v redis-server >/dev/null && command -v redis-cli >/dev/null; then
	state_tests || bad "state: two nodes sharing Redis set up"
else
	echo "# redis-server not installed: the shared state skipped"
fi

# ---- 5. configuration errors ----
bad_start() {
	name=$1 re=$2
	shift 2
	timeout $((5 * vg_slow)) "$PROXY" --domain a.example --listen "sip:127.0.0.1:$S;transport=udp" "$@" >"$tmp/err.out" 2>&1
	rc=$?
	if [ $rc -ne 0 ] && [ $rc -ne 124 ] && grep -Eq -- "$re" "$tmp/err.out"; then
		ok "startup error: $name"
	else
		bad "startup error: $name (exit $rc)" "$(cat "$tmp/err.out")"
	fi
}
bad_start "--stir verify without --stir-ca-file" "needs --stir-ca-file" --stir verify
bad_start "--stir sign without a key" "needs --stir-key" --stir sign
bad_start "unknown --stir mode" "--stir maybe: want off" --stir maybe
bad_start "bad --stir-fail" "--stir-fail drop: want reject or annotate" --stir verify --stir-ca-file "$data/root.pem" --stir-fail drop
bad_start "bad --stir-attest" "--stir-attest D" --stir-attest D
bad_start "unreadable --stir-key" "--stir-key: cannot read" --stir sign --stir-key /nonexistent --stir-x5u "$X5U/x.pem" --stir-orig-range 1202555*
bad_start "not a P-256 key" "--stir-key: key is not an EC P-256" --stir sign --stir-key "$data/p384.key" --stir-x5u "$X5U/x.pem" --stir-orig-range 1202555*
bad_start "bad --stir-orig-range" "--stir-orig-range: number range" --stir sign --stir-key "$data/ee.key" --stir-x5u "$X5U/x.pem" --stir-orig-range 12a
bad_start "bad --state-fail" "--state-fail maybe: want closed or open" --state-fail maybe
bad_start "--state not redis://" "--state rediss://127.0.0.1:1: the state URL must start with redis://" --state rediss://127.0.0.1:1
bad_start "--state with a host name" "must be an IP address" --state redis://localhost:6379
bad_start "unreadable --state-password-file" "--state-password-file /nonexistent: No such file" --state redis://127.0.0.1:1 --state-password-file /nonexistent
bad_start "CA file without a certificate" "--stir-ca-file .*: no usable PEM" --stir verify --stir-ca-file "$data/ee.key"
finish
