#!/bin/sh
# stir-cli.sh - the `sipdance passport` command-line contract: outputs and exit codes.
set -u
. "${srcdir:-.}/tests/check-lib.sh"
sd=$("${srcdir:-.}/tests/valgrind.sh" "${top_builddir:-.}/sipdance")
data="${srcdir:-.}/tests/data/stir"
x5u=https://cr.example.net/sti/ee-chain.pem
fp="sha-256 02:1A:CC:54:27:AB:EB:9C:53:3F:3E:4B:65:2E:7D:46:3F:54:42:CD:54:F1:7A:03:A2:7D:F9:B0:7F:46:19:B2"


# sign ARGS... - an Identity value from the fixture key
sign() { "$sd" passport sign --key "$data/ee.key" --x5u "$x5u" "$@"; }
# verify ARGS... - verify against the fixture chain and root
verify() { "$sd" passport verify --cert "$data/ee-chain.pem" --ca-file "$data/root.pem" "$@"; }

id=$(sign --orig "tel:+1-202-555-1000" --dest 12025552000 --attest A --iat 1795896363 \
	--origid 123e4567-e89b-12d3-a456-426614174000)
check "sign prints the Identity value" 0 "^eyJhbGciOiJFUzI1NiIsInBwdCI6InNoYWtlbiIsInR5cCI6InBhc3Nwb3J0Iiwi[^;]*\.[A-Za-z0-9_-]{86};info=<$x5u>;alg=ES256;ppt=shaken\$" \
	printf '%s\n' "$id"
check "sign: canonical claims" 0 '^eyJhdHRlc3QiOiJBIiwiZGVzdCI6eyJ0biI6WyIxMjAyNTU1MjAwMCJdfSwiaWF0IjoxNzk1ODk2MzYzLCJvcmlnIjp7InRuIjoiMTIwMjU1NTEwMDAifSwib3JpZ2lkIjoiMTIzZTQ1NjctZTg5Yi0xMmQzLWE0NTYtNDI2NjE0MTc0MDAwIn0$' \
	sh -c 'printf "%s\n" "$1" | cut -d. -f2' - "$id"
check "verify valid: JSON" 0 '^\{"claims":\{"attest":"A","dest":\{"tn":\["12025552000"\]\},"iat":1795896363,"orig":\{"tn":"12025551000"\},"origid":"123e4567-e89b-12d3-a456-426614174000"\},"header":\{"alg":"ES256","ppt":"shaken","typ":"passport","x5u":"https://cr\.example\.net/sti/ee-chain\.pem"\}\}$' \
	verify --at 1795896363 --orig 12025551000 --dest "sip:+12025552000@b.example;user=phone" "$id"
check "verify stale" 1 '^status=403 reason="iat is 61 s old \(more than 60 s\)"$' verify --at 1795896424 "$id"
check "verify --max-age" 0 '"attest":"A"' verify --at 1795896424 --max-age 120 "$id"
check "verify future" 1 '^status=403 reason="iat is 61 s in the future \(more than 60 s\)"$' verify --at 1795896302 "$id"
check "verify --max-skew" 1 '^status=403 reason="iat is 11 s in the future \(more than 10 s\)"$' \
	verify --at 1795896352 --max-skew 10 "$id"
check "verify orig mismatch" 1 '^status=438 reason="orig 12025551000 does not match From 12025551001"$' \
	verify --at 1795896363 --orig 12025551001 "$id"
check "verify dest mismatch" 1 '^status=438 reason="To 12025552001 is not a dest of the PASSporT"$' \
	verify --at 1795896363 --dest 12025552001 "$id"
check "verify untrusted root" 1 '^status=437 reason="certificate at depth 1: unable to get local issuer certificate"$' \
	"$sd" passport verify --cert "$data/ee-chain.pem" --ca-file "$data/other.pem" --at 1795896363 "$id"
check "verify expired" 1 '^status=403 reason="certificate at depth 0: certificate has expired"$' \
	"$sd" passport verify --cert "$data/expired-chain.pem" --ca-file "$data/root.pem" --at 1795896363 "$id"
check "verify no TNAuthList" 1 '^status=437 reason="certificate has no TNAuthList \(RFC 8226\)"$' \
	"$sd" passport verify --cert "$data/notn-chain.pem" --ca-file "$data/root.pem" --at 1795896363 "$id"
# tncert NAME SECTIONS - $tmp/NAME.pem, a certificate with that TNAuthList (tests/data/stir/tncert.sh)
tncert() { "$data/tncert.sh" "$tmp/$1.pem" "$2"; }
# now ORIG - an Identity value for ORIG signed now (the certificates above start now)
now() { sign --orig "$1" --dest 12025552000 --attest A; }
tncert one '[tn]\ne = EXP:2,IA5:15551230000\n'
tncert range '[tn]\ne = EXP:1,SEQUENCE:r\n[r]\ns = IA5:15551230000\nc = INT:100\n'
check "TNAuthList one number: another orig refused" 1 \
	'^status=437 reason="certificate TNAuthList does not cover orig 12025551000"$' \
	"$sd" passport verify --cert "$tmp/one.pem" --ca-file "$data/root.pem" "$(now 12025551000)"
check "TNAuthList one number: that number, From with separators" 0 '"orig":\{"tn":"15551230000"\}' \
	"$sd" passport verify --cert "$tmp/one.pem" --ca-file "$data/root.pem" --orig 'tel:+1-555-123-0000' \
	"$(now 15551230000)"
check "TNAuthList range: its last number" 0 '"orig":\{"tn":"15551230099"\}' \
	"$sd" passport verify --cert "$tmp/range.pem" --ca-file "$data/root.pem" "$(now 15551230099)"
check "TNAuthList range: one past its end refused" 1 \
	'^status=437 reason="certificate TNAuthList does not cover orig 15551230100"$' \
	"$sd" passport verify --cert "$tmp/range.pem" --ca-file "$data/root.pem" "$(now 15551230100)"
check "verify info != x5u" 1 '^status=438 reason="info parameter does not equal x5u"$' \
	verify --at 1795896363 "$(printf '%s' "$id" | sed 's|info=<[^>]*>|info=<https://other.example/c.pem>|')"
check "verify malformed value" 1 '^status=438 reason="Identity header: info parameter missing"$' \
	verify --at 1795896363 "$(printf '%s' "$id" | cut -d';' -f1)"
mky=$(sign --orig 12025551000 --dest 12025552000 --iat 1795896363 --mky "$fp")
check "verify mky = fingerprint" 0 '"mky":\[\{"alg":"sha-256","dig":"02:1A:CC' \
	verify --at 1795896363 --fingerprint "$(printf '%s' "$fp" | tr 'A-F' 'a-f')" "$mky"
check "verify mky != fingerprint" 1 '^status=438 reason="mky does not match the SDP fingerprints"$' \
	verify --at 1795896363 --fingerprint "sha-256 00:11" "$mky"
check "verify --require-mky" 1 '^status=438 reason="SDP has fingerprints but the PASSporT has no mky"$' \
	verify --at 1795896363 --require-mky --fingerprint "$fp" "$id"
check "sign default attest C" 0 '"attest":"C"' verify "$(sign --orig 12025551000 --dest 12025552000)"
div=$(sign --orig 12025551000 --dest 13035553000 --div 12025552000 --iat 1795896363)
check "sign div" 0 ";ppt=div\$" printf '%s\n' "$div"
check "verify original + div" 0 '"attest":"A"' verify --at 1795896363 --dest 13035553000 "$id" "$div"

check "sign without key" 2 "usage: sipdance passport sign" "$sd" passport sign --x5u "$x5u" --orig 1 --dest 2
check "sign bad orig" 2 "--orig alice@example.com: not a tel:, sip: or sips: URI or a number" \
	sign --orig alice@example.com --dest 12025552000
check "sign bad attest" 2 "--attest takes A, B or C" sign --orig 12025551000 --dest 12025552000 --attest D
check "sign bad mky" 2 "--mky: fingerprint is not colon-separated hex pairs" \
	sign --orig 12025551000 --dest 12025552000 --mky "sha-256 xyz"
check "sign P-384 key" 2 "key is not an EC P-256 private key" \
	"$sd" passport sign --key "$data/p384.key" --x5u "$x5u" --orig 12025551000 --dest 12025552000
check "sign missing key" 2 "cannot read the key file" \
	"$sd" passport sign --key "$tmp/none.key" --x5u "$x5u" --orig 12025551000 --dest 12025552000
check "sign file: x5u" 2 "x5u is not an http\(s\) URL" \
	"$sd" passport sign --key "$data/ee.key" --x5u file:///etc/passwd --orig 12025551000 --dest 12025552000
check "verify needs one source" 2 "usage: sipdance passport verify" \
	"$sd" passport verify --ca-file "$data/root.pem" "$id"
check "verify needs --ca-file" 2 "--ca-file \(the STI-CA roots\) is required" \
	"$sd" passport verify --cert "$data/ee-chain.pem" "$id"
check "verify bad CA file" 2 "no usable PEM certificate in CA file" \
	"$sd" passport verify --cert "$data/ee-chain.pem" --ca-file "$data/ee.key" "$id"
check "verify bad --at" 2 "--at takes a Unix time" verify --at yesterday "$id"
check "verify no value" 2 "usage: sipdance passport verify" verify
check "passport help" 0 "sipdance passport sign" "$sd" passport --help

finish
