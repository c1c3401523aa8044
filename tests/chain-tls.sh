#!/bin/sh
# chain-tls.sh - RFC 9102 in real TLS handshakes on loopback (tests/chain-tls):
# the server builds its chain from the Knot testbed, then DNS is stopped and
# the client still authenticates with the chain alone; a tampered chain, a
# wrong key, a denial, TLS 1.2, pinning and the chain= policies.
set -u
top=$(cd "${srcdir:-.}" && pwd)
sd=$("${srcdir:-.}/tests/valgrind.sh" "${top_builddir:-.}/sipdance")
tool=$("${srcdir:-.}/tests/valgrind.sh" "${top_builddir:-.}/tests/chain-tls")
pass=0 fail=0
base=$("${srcdir:-.}/tests/ports.sh" $$)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/sipdance-chain-tls.XXXXXX")
trap '"$top/tests/testbed/testbed.sh" stop "$tmp/tb" >/dev/null 2>&1; rm -rf "$tmp"' EXIT INT TERM

"$top/tests/testbed/testbed.sh" start "$tmp/tb" "$base" >/dev/null || { echo "FAIL - testbed did not start"; exit 1; }
. "$tmp/tb/env.sh"

# check NAME WANT_EXIT REGEX ARGS... - one handshake; exit code and result line
check() {
	name=$1 want=$2 re=$3
	shift 3
	run "$tool" --trust-anchor "$TB_ANCHOR" --port "$TB_A_TLS_PORT" "$@"
}

# check_cmd NAME WANT_EXIT REGEX CMD... - the same for any command
check_cmd() {
	name=$1 want=$2 re=$3
	shift 3
	run "$@"
}

# run CMD... - run, compare with $name/$want/$re, count and print
run() {
	"$@" >"$tmp/out" 2>&1
	got=$?
	if [ "$got" -eq "$want" ] && grep -Eq -- "$re" "$tmp/out"; then
		pass=$((pass + 1)); echo "ok - $name"
	else
		fail=$((fail + 1)); echo "FAIL - $name (exit $got, want $want /$re/)"
		sed 's/^/    /' "$tmp/out"
	fi
}

A="--cert $TB_CERT_A --key $TB_KEY_A --host sip.a.example"
pins=$tmp/pins

"$sd" chain build --trust-anchor "$TB_ANCHOR" --resolver "$TB_RESOLVER" --lifetime 24 \
	--out "$tmp/a.ext" sip.a.example >/dev/null
"$sd" chain build --trust-anchor "$TB_ANCHOR" --resolver "$TB_RESOLVER" --lifetime 0 \
	--out "$tmp/a0.ext" sip.a.example >/dev/null
"$sd" chain build --trust-anchor "$TB_ANCHOR" --resolver "$TB_RESOLVER" \
	--out "$tmp/nodane.ext" sip.nodane.example >/dev/null

check "chain built live, DNS stopped, client authenticates" 0 \
	"handshake=ok verdict=MATCH lifetime=0 version=TLSv1.3 reason=DANE-EE 3 1 1 matched" \
	$A --resolver "$TB_RESOLVER" --stop-dns "'$top/tests/testbed/testbed.sh' stop '$tmp/tb' >/dev/null"
check_cmd "DNS is really down" 0 "." sh -c "! '$top/tests/testbed/testbed.sh' status '$tmp/tb'"
check "tampered chain: handshake fails, reason names the RRset" 1 \
	"handshake=failed verdict=BOGUS .*reason=DNSSEC chain: \. DNSKEY: signature does not verify" \
	$A --ext-file "$tmp/a.ext" --tamper
check "wrong server key: the chain's TLSA does not match" 1 \
	"handshake=failed verdict=NOMATCH .*no matching DANE TLSA records" \
	--cert "$TB_CERT_WRONG" --key "$TB_KEY_WRONG" --host sip.a.example --ext-file "$tmp/a.ext"
check "TLS 1.2: chain in ServerHello" 0 "handshake=ok verdict=MATCH .*version=TLSv1.2" \
	$A --ext-file "$tmp/a.ext" --tls12
check "chain for another SNI is refused" 1 "handshake=failed verdict=BOGUS .*no TLSA RRset" \
	$A --ext-file "$tmp/a.ext" --sni sip.b.example
check "denial: no TLSA, own verification decides (fails: no roots)" 1 \
	"handshake=failed verdict=NODATA .*proves no TLSA at _${TB_A_TLS_PORT}._tcp.sip.nodane.example" \
	--cert "$TB_CERT_B" --key "$TB_KEY_B" --host sip.nodane.example --ext-file "$tmp/nodane.ext"

# Pinning: a lifetime of 24 h pins sip.a.example:5061 in the store file.
check "chain with lifetime 24 pins" 0 "handshake=ok verdict=MATCH lifetime=24" \
	$A --ext-file "$tmp/a.ext" --pins "$pins"
check_cmd "pin file written" 0 " $TB_A_TLS_PORT sip.a.example\$" cat "$pins"
check "pinned: no extension is refused even with DNS TLSA" 1 \
	"handshake=failed verdict=INDETERMINATE .*no DNSSEC chain, but pinned until" \
	$A --no-ext --pins "$pins" --policy prefer --fallback-tlsa "3 1 1 $TB_SPKI_A"
check "pinned with chain: still fine" 0 "handshake=ok verdict=MATCH" $A --ext-file "$tmp/a.ext" --pins "$pins"
# The lifetime is not signed: a man in the middle replaying the genuine chain
# with lifetime 0 under its own key fails the handshake and changes no pin.
check "replayed chain with lifetime 0, wrong key: handshake fails" 1 \
	"handshake=failed verdict=NOMATCH lifetime=0" \
	--cert "$TB_CERT_WRONG" --key "$TB_KEY_WRONG" --host sip.a.example --ext-file "$tmp/a0.ext" --pins "$pins"
check "the failed handshake left the pin" 1 "handshake=failed verdict=INDETERMINATE .*pinned until" \
	$A --no-ext --pins "$pins" --policy prefer --fallback-tlsa "3 1 1 $TB_SPKI_A"
check "lifetime 0 from the authenticated server" 0 "handshake=ok verdict=MATCH lifetime=0" \
	$A --ext-file "$tmp/a0.ext" --pins "$pins"
check "removes the pin after the handshake" 0 "handshake=ok verdict=INDETERMINATE" \
	$A --no-ext --pins "$pins" --policy prefer --fallback-tlsa "3 1 1 $TB_SPKI_A"
check "not pinned, prefer: falls back to the DNS path" 0 \
	"handshake=ok verdict=INDETERMINATE .*left to the connection's own verification" \
	$A --no-ext --policy prefer --fallback-tlsa "3 1 1 $TB_SPKI_A"
check "not pinned, required: refused" 1 "handshake=failed verdict=INDETERMINATE .*chain=required" \
	$A --no-ext --policy required --fallback-tlsa "3 1 1 $TB_SPKI_A"
check "policy off: not asked, DNS path decides" 0 "handshake=ok verdict=INDETERMINATE" \
	$A --ext-file "$tmp/a.ext" --policy off --fallback-tlsa "3 1 1 $TB_SPKI_A"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
