#!/bin/sh
# chain-live.sh - `sipdance chain build|verify` against the real DNSSEC-signed
# Knot hierarchy (tests/testbed): the chain for a.example validates to its
# TLSA record, nodane.example's to a denial, and every damaged variant
# (flipped record, expired, another name, truncated, wrong anchor) is refused
# with the RRset that failed and why. Nothing is kept: chains expire.
set -u
top=$(cd "${srcdir:-.}" && pwd)
sd=$("${srcdir:-.}/tests/valgrind.sh" "${top_builddir:-.}/sipdance")
tool=$("${srcdir:-.}/tests/valgrind.sh" "${top_builddir:-.}/tests/chain-tls")
base=$("${srcdir:-.}/tests/ports.sh" $$)
. "$top/tests/check-lib.sh"
trap '"$top/tests/testbed/testbed.sh" stop "$tmp/tb" >/dev/null 2>&1; rm -rf "$tmp"' EXIT INT TERM

"$top/tests/testbed/testbed.sh" start "$tmp/tb" "$base" >/dev/null || { echo "FAIL - testbed did not start"; exit 1; }
. "$tmp/tb/env.sh"
a=_${TB_A_TLS_PORT}._tcp.sip.a.example


# flip FILE OFFSET OUT - copy of FILE with the octet at OFFSET inverted
flip() {
	cp "$1" "$3"
	b=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
	printf "$(printf '\\%03o' $((b ^ 255)))" | dd of="$3" bs=1 seek="$2" conv=notrunc 2>/dev/null
}

verify() {
	"$sd" chain verify --trust-anchor "$TB_ANCHOR" "$@"
}

check "build a.example" 0 "a.ext: [0-9]+ octets \(lifetime 24 h" \
	"$sd" chain build --trust-anchor "$TB_ANCHOR" --resolver "$TB_RESOLVER" --lifetime 24 \
	--out "$tmp/a.ext" sip.a.example
check "lifetime prefix is 24 hours" 0 "^0018" sh -c "od -An -tx1 -N2 '$tmp/a.ext' | tr -d ' \n'; echo"
check "a.example validates to its TLSA record" 0 "^3 1 1 $TB_SPKI_A\$" verify --name "$a" "$tmp/a.ext"
check "DNSKEY anchor works as well" 0 "^3 1 1 $TB_SPKI_A\$" \
	"$sd" chain verify --trust-anchor "$TB_ANCHOR_DNSKEY" --name "$a" "$tmp/a.ext"
tail -c +3 "$tmp/a.ext" >"$tmp/a.bare"
check "--bare reads the chain alone" 0 "^3 1 1 $TB_SPKI_A\$" verify --bare --name "$a" "$tmp/a.bare"
check "bare chain without --bare is refused" 1 "BOGUS: " verify --name "$a" "$tmp/a.bare"
check "every record flipped in turn is refused" 0 "[0-9]+ records, 0 accepted" \
	"$tool" --flip-each "$tmp/a.ext" --trust-anchor "$TB_ANCHOR" --name "$a"
# the TLSA association data itself, found in the file by its hex
off=$(od -An -tx1 -v "$tmp/a.ext" | tr -d ' \n' | grep -bo "$TB_SPKI_A" | cut -d: -f1)
flip "$tmp/a.ext" $((off / 2 + 5)) "$tmp/flip.ext"
check "flipped TLSA data: TLSA RRset named" 1 "BOGUS: $a\. TLSA: signature does not verify" \
	verify --name "$a" "$tmp/flip.ext"
size=$(wc -c <"$tmp/a.ext")
flip "$tmp/a.ext" $((size - 1)) "$tmp/flip.ext"
check "flipped root signature: root DNSKEY named" 1 "BOGUS: \. DNSKEY: signature does not verify" \
	verify --name "$a" "$tmp/flip.ext"
check "expired RRSIGs (--at a year ahead)" 1 "BOGUS: .*RRSIG expired" \
	verify --at $(($(date +%s) + 366 * 86400)) --name "$a" "$tmp/a.ext"
check "not yet valid (--at a year ago)" 1 "BOGUS: .*RRSIG not valid before" \
	verify --at $(($(date +%s) - 366 * 86400)) --name "$a" "$tmp/a.ext"
check "chain for another name" 1 "BOGUS: _${TB_B_TLS_PORT}._tcp.sip.b.example.: no TLSA RRset and no valid denial" \
	verify --name "_${TB_B_TLS_PORT}._tcp.sip.b.example" "$tmp/a.ext"
head -c $((size - 40)) "$tmp/a.ext" >"$tmp/trunc.ext"
check "truncated chain" 1 "BOGUS: malformed chain at octet [0-9]+: RDATA runs past" \
	verify --name "$a" "$tmp/trunc.ext"
head -c 300 "$tmp/a.ext" >"$tmp/trunc.ext"
check "chain cut before its DNSKEYs" 1 "BOGUS: " verify --name "$a" "$tmp/trunc.ext"
sed 's/\([0-9A-Fa-f]\)$/0/' "$TB_ANCHOR" >"$tmp/wrong.ds"
if cmp -s "$tmp/wrong.ds" "$TB_ANCHOR"; then sed 's/\([0-9A-Fa-f]\)$/1/' "$TB_ANCHOR" >"$tmp/wrong.ds"; fi
check "wrong trust anchor" 1 "BOGUS: \. DNSKEY: no DNSKEY in the chain matches the DS" \
	"$sd" chain verify --trust-anchor "$tmp/wrong.ds" --name "$a" "$tmp/a.ext"

check "build nodane.example (denial)" 0 "nodane.ext: " \
	"$sd" chain build --trust-anchor "$TB_ANCHOR" --resolver "$TB_RESOLVER" --out "$tmp/nodane.ext" \
	sip.nodane.example
check "nodane validates as no TLSA" 0 "no TLSA: validated denial at _${TB_B_TLS_PORT}._tcp.sip.nodane.example" \
	verify --name "_${TB_B_TLS_PORT}._tcp.sip.nodane.example" "$tmp/nodane.ext"
check "the denial proves nothing for a.example" 1 "BOGUS: .*no valid denial" \
	verify --name "$a" "$tmp/nodane.ext"

for z in badsig expired wrongds; do
	check "build refuses bogus $z.example" 2 "TLSA answer is bogus" \
		"$sd" chain build --trust-anchor "$TB_ANCHOR" --resolver "$TB_RESOLVER" --out "$tmp/x.ext" \
		"sip.$z.example"
done
check "build refuses insecure.example" 2 "not secure" \
	"$sd" chain build --trust-anchor "$TB_ANCHOR" --resolver "$TB_RESOLVER" --out "$tmp/x.ext" \
	sip.insecure.example
check "unreadable chain file" 2 "No such file" verify --name "$a" "$tmp/none.ext"
check "unreadable trust anchor" 2 "trust anchor file not found" \
	"$sd" chain verify --trust-anchor "$tmp/none.ds" --name "$a" "$tmp/a.ext"
printf 'x' >"$tmp/short.ext"
check "extension_data too short" 2 "shorter than lifetime" verify --name "$a" "$tmp/short.ext"
check "bad --name" 2 "not a valid DNS name" verify --name "a..b" "$tmp/a.ext"
check "verify usage" 2 "usage: sipdance chain verify" "$sd" chain verify --name "$a" "$tmp/a.ext"
check "build usage" 2 "usage: sipdance chain build" "$sd" chain build sip.a.example
check "chain help" 0 "sipdance chain build" "$sd" chain --help
"$top/tests/testbed/testbed.sh" stop "$tmp/tb" >/dev/null 2>&1
check "build without DNS fails cleanly" 2 "cannot build the chain" \
	"$sd" chain build --trust-anchor "$TB_ANCHOR" --resolver "$TB_RESOLVER" --out "$tmp/x.ext" sip.a.example
check "verify needs no DNS" 0 "^3 1 1 $TB_SPKI_A\$" verify --name "$a" "$tmp/a.ext"

finish
