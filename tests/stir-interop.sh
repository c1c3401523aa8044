#!/bin/sh
# stir-interop.sh - `sipdance passport` against secsipidx (asipto/secsipidx,
# Debian package secsipidx) both ways, and x5u fetching from a loopback
# HTTPS server (openssl s_server -WWW) started and stopped here: fetch,
# cache, unreachable, slow, huge, not PEM, policy. Skipped (exit 77) when
# secsipidx is not installed.
set -u
sd=$("${srcdir:-.}/tests/valgrind.sh" "${top_builddir:-.}/sipdance")
data="${srcdir:-.}/tests/data/stir"
pass=0 fail=0
tmp=$(mktemp -d "${TMPDIR:-/tmp}/sipdance-stir-interop.XXXXXX")
srv=
cleanup() {
	[ -n "$srv" ] && kill -CONT "$srv" 2>/dev/null && kill "$srv" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
command -v secsipidx >/dev/null || { echo "SKIP: secsipidx not installed (apt-get install secsipidx)"; exit 77; }
data=$(cd "$data" && pwd)

# ok NAME / bad NAME DETAIL - record one check
ok() { pass=$((pass + 1)); echo "ok - $1"; }
bad() { fail=$((fail + 1)); echo "FAIL - $1"; [ -n "${2:-}" ] && printf '%s\n' "$2" | sed 's/^/    /'; }

# check NAME WANT_EXIT REGEX CMD... - exit code and a line of stdout+stderr
check() {
	name=$1 want=$2 re=$3
	shift 3
	"$@" >"$tmp/out" 2>&1
	got=$?
	if [ "$got" -eq "$want" ] && grep -Eq -- "$re" "$tmp/out"; then
		ok "$name"
	else
		bad "$name (exit $got, want $want /$re/)" "$(cat "$tmp/out")"
	fi
}

# iat - the iat of the PASSporT read (a JWS, or an Identity value)
iat() {
	cut -d. -f2 | python3 -c 'import base64, json, sys
s = sys.stdin.read().strip()
print(json.loads(base64.urlsafe_b64decode(s + "=" * (-len(s) % 4)))["iat"])'
}

now=$(date +%s)
x5u=https://cr.example.net/sti/ee-chain.pem

# --- ours signed, secsipidx verifies ---
"$sd" passport sign --key "$data/ee.key" --x5u "$x5u" --orig +12025551000 --dest 12025552000 \
	--attest A >"$tmp/ours.txt"
check "secsipidx verifies ours (key from certificate)" 0 "^ok" \
	secsipidx -check -fidentity "$tmp/ours.txt" -fpubkey "$data/ee.pem" -expire 60
check "secsipidx verifies ours (chain to STI-CA root)" 0 "^ok" \
	secsipidx -check -fidentity "$tmp/ours.txt" -fpubkey "$data/ee-chain.pem" -expire 60 \
	-cert-verify 5 -ca-file "$data/root.pem"
"$sd" passport sign --key "$data/ee.key" --x5u "$x5u" --orig 12025551000 --dest 12025552000,12025552001 \
	--attest B --mky "sha-256 02:1A:CC:54:27:AB:EB:9C:53:3F:3E:4B:65:2E:7D:46:3F:54:42:CD:54:F1:7A:03:A2:7D:F9:B0:7F:46:19:B2" \
	>"$tmp/mky.txt"
check "secsipidx verifies ours with mky and two dest" 0 "^ok" \
	secsipidx -check -fidentity "$tmp/mky.txt" -fpubkey "$data/ee.pem" -expire 60
sed 's/^\([^.]*\.[^.]*\)\.A/\1.B/; t; s/^\([^.]*\.[^.]*\)\../\1.A/' "$tmp/ours.txt" >"$tmp/tampered.txt"
check "secsipidx rejects ours with a changed signature" 0 "not-ok" \
	sh -c 'secsipidx -check -fidentity "$1" -fpubkey "$2" -expire 60; exit 0' - "$tmp/tampered.txt" "$data/ee.pem"

# --- secsipidx signed, ours verifies ---
secsipidx -sign-full -orig-tn 12025551000 -dest-tn 12025552000 -attest A \
	-orig-id 123e4567-e89b-12d3-a456-426614174000 -x5u "$x5u" -k "$data/ee.key" >"$tmp/theirs.txt"
# verified at the token's own iat (--at): a slow run must not make it stale (60 s)
t=$(iat <"$tmp/theirs.txt")
check "ours verifies secsipidx" 0 '"origid":"123e4567-e89b-12d3-a456-426614174000"' \
	"$sd" passport verify --cert "$data/ee-chain.pem" --ca-file "$data/root.pem" \
	--orig tel:+12025551000 --dest 12025552000 --at "$t" "$(cat "$tmp/theirs.txt")"
check "ours: secsipidx token, wrong To" 1 '^status=438 reason="To 12025559999 is not a dest of the PASSporT"$' \
	"$sd" passport verify --cert "$data/ee-chain.pem" --ca-file "$data/root.pem" \
	--dest 12025559999 --at "$t" "$(cat "$tmp/theirs.txt")"
check "ours: secsipidx token, 2 minutes later" 1 '^status=403 reason="iat is 120 s old \(more than 60 s\)"$' \
	"$sd" passport verify --cert "$data/ee-chain.pem" --ca-file "$data/root.pem" \
	--at $((t + 120)) "$(cat "$tmp/theirs.txt")"
secsipidx -sign-full -orig-tn 12025551000 -dest-tn 12025552000 -attest A -x5u "$x5u" \
	-k "$data/other-ee.key" >"$tmp/other.txt"
check "ours: secsipidx token, certificate from an unknown CA" 1 '^status=437 ' \
	"$sd" passport verify --cert "$data/other-ee-chain.pem" --ca-file "$data/root.pem" "$(cat "$tmp/other.txt")"
secsipidx -sign -header "{\"alg\":\"ES256\",\"ppt\":\"shaken\",\"typ\":\"passport\",\"x5u\":\"$x5u\"}" \
	-payload "{\"attest\":\"A\",\"dest\":{\"tn\":[\"12025552000\"]},\"iat\":$((now + 600)),\"orig\":{\"tn\":\"12025551000\"},\"origid\":\"x\"}" \
	-k "$data/ee.key" >"$tmp/future.jws"
printf '%s;info=<%s>;alg=ES256;ppt=shaken' "$(cat "$tmp/future.jws")" "$x5u" >"$tmp/future.txt"
check "secsipidx accepts iat 10 minutes ahead (its known gap)" 0 "^ok" \
	secsipidx -check -fidentity "$tmp/future.txt" -fpubkey "$data/ee.pem" -expire 60
check "ours rejects iat 10 minutes ahead" 1 '^status=403 reason="iat is 600 s in the future' \
	"$sd" passport verify --cert "$data/ee-chain.pem" --ca-file "$data/root.pem" --at "$now" "$(cat "$tmp/future.txt")"
# a fresh original for the diversion (the first one may be a minute old by now)
secsipidx -sign-full -orig-tn 12025551000 -dest-tn 12025552000 -attest A \
	-orig-id 123e4567-e89b-12d3-a456-426614174000 -x5u "$x5u" -k "$data/ee.key" >"$tmp/theirs.txt"
"$sd" passport sign --key "$data/ee.key" --x5u "$x5u" --orig 12025551000 --dest 13035553000 \
	--div 12025552000 >"$tmp/div.txt"
check "secsipidx rejects ppt=div (its known gap)" 0 "not-ok" \
	sh -c 'secsipidx -check -fidentity "$1" -fpubkey "$2" -expire 60; exit 0' - "$tmp/div.txt" "$data/ee.pem"
check "ours verifies secsipidx original + our div" 0 '"ppt":"shaken"' \
	"$sd" passport verify --cert "$data/ee-chain.pem" --ca-file "$data/root.pem" \
	--orig 12025551000 --dest 13035553000 --at "$(iat <"$tmp/div.txt")" "$(cat "$tmp/theirs.txt")" "$(cat "$tmp/div.txt")"

# --- x5u over HTTPS on loopback ---
www="$tmp/www"
mkdir -p "$www" "$tmp/cache"
cp "$data/ee-chain.pem" "$www/"
head -c 200000 /dev/zero | tr '\0' A >"$www/huge.pem"
echo "not a certificate" >"$www/notpem.pem"
(cd "$www" && exec openssl s_server -WWW -accept 127.0.0.1:0 -naccept 1000 \
	-cert "$data/server.pem" -key "$data/server.key" >"$tmp/srv.log" 2>&1) &
srv=$!
"${srcdir:-.}/tests/wait-for.sh" "$tmp/srv.log" "^ACCEPT 127"
port=$(sed -n 's/^ACCEPT 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$tmp/srv.log")
[ -n "$port" ] || { bad "x5u test server did not start" "$(cat "$tmp/srv.log")"; echo "$pass passed, $fail failed"; exit 1; }
base=https://127.0.0.1:$port
# the x5u timeout: 1000 ms, times VG_SLOW (a valgrinded fetch from a good server must fit in it)
xt=$((1000 * ${VG_SLOW:-1}))
fetch="--x5u-cache $tmp/cache --ca-file $data/root.pem --x5u-tls-ca $data/root.pem --x5u-allow-private --x5u-allow-any-port --timeout $xt"
sign_for() { "$sd" passport sign --key "$data/ee.key" --x5u "$base/$1" --orig 12025551000 --dest 12025552000 --attest A; }
fetches() { grep -c "^FILE:$1" "$tmp/srv.log"; }

id=$(sign_for ee-chain.pem)
# shellcheck disable=SC2086
# $id is verified at its own iat (--at) each time: a slow run must not make it stale
at_id="--at $(printf %s "$id" | iat)"
# shellcheck disable=SC2086
check "x5u fetched over HTTPS" 0 '"x5u":"https://127\.0\.0\.1' "$sd" passport verify $fetch $at_id "$id"
[ "$(fetches ee-chain.pem)" -eq 1 ] && ok "x5u: one request" || bad "x5u: one request" "$(cat "$tmp/srv.log")"
cached="$tmp/cache/https_127.0.0.1:${port}_ee-chain.pem"
[ -f "$cached" ] && [ "$(grep -c BEGIN "$cached")" -eq 2 ] && ok "x5u: whole chain cached under secsipid's name" ||
	bad "x5u: whole chain cached under secsipid's name" "$(ls -l "$tmp/cache")"
# shellcheck disable=SC2086
check "x5u: second verify" 0 '"attest":"A"' "$sd" passport verify $fetch $at_id "$id"
[ "$(fetches ee-chain.pem)" -eq 1 ] && ok "x5u: second verify made no request" || bad "x5u: second verify made no request"
printf '%s' "$id" >"$tmp/id.txt"
check "secsipidx verifies with our x5u cache directory" 0 "^ok" \
	secsipidx -check -fidentity "$tmp/id.txt" -fpubkey "$base/ee-chain.pem" -cache-dir "$tmp/cache" \
	-cache-expire 3600 -expire 3600
[ "$(fetches ee-chain.pem)" -eq 1 ] && ok "secsipidx made no request either" || bad "secsipidx made no request either"
# shellcheck disable=SC2086
check "x5u: --no-fetch, cached" 0 '"attest":"A"' "$sd" passport verify $fetch $at_id --no-fetch "$id"
# shellcheck disable=SC2086
check "x5u: --no-fetch, not cached" 1 '^status=436 reason="x5u https://127\.0\.0\.1:[0-9]+/other\.pem not in the cache' \
	"$sd" passport verify $fetch --no-fetch "$(sign_for other.pem)"
# shellcheck disable=SC2086
check "x5u: missing file (s_server answers 200 with an error text)" 1 \
	'^status=437 reason="x5u content is not a PEM certificate chain"$' "$sd" passport verify $fetch "$(sign_for missing.pem)"
# shellcheck disable=SC2086
check "x5u: huge response" 1 '^status=436 reason="x5u response larger than 65536 bytes"$' \
	"$sd" passport verify $fetch "$(sign_for huge.pem)"
# shellcheck disable=SC2086
check "x5u: not PEM" 1 '^status=437 reason="x5u content is not a PEM certificate chain"$' \
	"$sd" passport verify $fetch "$(sign_for notpem.pem)"
check "x5u: loopback refused by default" 1 '^status=436 reason="x5u host 127\.0\.0\.1 is loopback \(not allowed\)"$' \
	"$sd" passport verify --x5u-cache "$tmp/cache" --ca-file "$data/root.pem" \
	"$("$sd" passport sign --key "$data/ee.key" --x5u https://127.0.0.1:8443/c.pem --orig 12025551000 --dest 12025552000)"
check "x5u: port refused by default" 1 "^status=436 reason=\"x5u port $port not allowed \\(443 and 8443 only\\)\"\$" \
	"$sd" passport verify --x5u-cache "$tmp/cache" --ca-file "$data/root.pem" --x5u-allow-private "$(sign_for x.pem)"
secsipidx -sign-full -orig-tn 12025551000 -dest-tn 12025552000 -attest A -x5u file:///etc/passwd \
	-k "$data/ee.key" >"$tmp/file.txt"
check "x5u: file: refused" 1 '^status=436 reason="x5u scheme not allowed \(https only\)"$' \
	"$sd" passport verify --x5u-cache "$tmp/cache" --ca-file "$data/root.pem" "$(cat "$tmp/file.txt")"

# slow: the server stops answering (SIGSTOP); the kernel still accepts connections.
# "Within the timeout" is the Reason (timed out, refused) and the program ending by
# itself (exit 1; the hang guard's kill is 124): its wall time is mostly its start.
guard="timeout $((20 * ${VG_SLOW:-1}))"
slow_id=$(sign_for slow.pem)
gone_id=$(sign_for gone.pem)
kill -STOP "$srv"
# shellcheck disable=SC2086
check "x5u: slow server, 436 on timeout, the program ends by itself" 1 \
	'^status=436 reason="x5u TLS handshake with 127\.0\.0\.1 timed out"$' $guard "$sd" passport verify $fetch "$slow_id"
kill -CONT "$srv"
kill "$srv"
wait "$srv" 2>/dev/null
srv=
# shellcheck disable=SC2086
check "x5u: unreachable, the program ends by itself" 1 \
	'^status=436 reason="x5u connect to 127\.0\.0\.1: Connection refused"$' $guard "$sd" passport verify $fetch "$gone_id"
check "x5u: cached chain still verifies with the server gone" 0 '"attest":"A"' "$sd" passport verify $fetch $at_id "$id"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
