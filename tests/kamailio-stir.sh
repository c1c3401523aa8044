#!/bin/sh
# kamailio-stir.sh - STIR/SHAKEN between Kamailio's secsipid module (libsecsipid) and sipdance
# (`sipdance passport`): Kamailio verifies a PASSporT sipdance signed and rejects a tampered one;
# sipdance verifies the Identity Kamailio built and rejects it for the wrong number.
. "${srcdir:-.}/tests/kamailio-lib.sh"
need_env
sd=$("${srcdir:-.}/tests/valgrind.sh" "${top_builddir:-.}/sipdance")
[ -f "$KAMAILIO_MODDIR/secsipid.so" ] ||
	{ echo "FAIL - secsipid.so missing (apt-get install kamailio-secsipid-modules)"; exit 1; }
tb_start

# A SHAKEN-style chain: a CA and a leaf with a TNAuthList (SPC 1234) extension.
mkdir -p "$tmp/stir" && cd "$tmp/stir" || exit 1
. "$top/tests/certs-lib.sh"
certs_cnf <<CNF
$(certs_leaf leaf)
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
1.3.6.1.5.5.7.1.26 = DER:3008A006160431323334
CNF
certs_mint ca v3_ca "/CN=test STIR CA" "" && certs_mint leaf leaf "/CN=SHAKEN b.example" "" ca &&
	openssl pkey -in leaf.key -pubout -out leaf.pub || { echo "FAIL - openssl"; exit 1; }
cd - >/dev/null || exit 1
export SD_STIR_PUB="$tmp/stir/leaf.pub" SD_STIR_KEY="$tmp/stir/leaf.key" SD_X5U="https://cert.example/leaf.pem"
KAM_CFG=$top/tests/kamailio-stir.cfg kam_start || { bad "kamailio (secsipid) did not start" "$tmp/kam.log"; finish; exit 1; }

# sipdance signs, Kamailio verifies
id=$("$sd" passport sign --key "$tmp/stir/leaf.key" --x5u "$SD_X5U" --orig 12025550100 --dest 12025550123 --attest A)
sip udp INVITE sip:12025550123@b.example sip:12025550100@b.example --hdr "Identity: $id"
expect "Kamailio secsipid verifies sipdance's PASSporT" "^SIP/2.0 200 Verified"
# one character of the payload changed: the signature no longer covers it
bad_id=$(printf %s "$id" | awk -F. -v OFS=. '{ c = substr($2, 10, 1); $2 = substr($2, 1, 9) (c == "A" ? "B" : "A") substr($2, 11); print }')
sip udp INVITE sip:12025550123@b.example sip:12025550100@b.example --hdr "Identity: $bad_id"
expect "Kamailio secsipid rejects a tampered sipdance PASSporT (438)" "^SIP/2.0 438 "

# Kamailio signs, sipdance verifies
sip udp INVITE sip:12025550123@b.example sip:12025550100@b.example
kid=$(sed -n 's/^X-Identity: //p' "$tmp/resp" | tr -d '\r')
if [ -n "$kid" ] && "$sd" passport verify --cert "$tmp/stir/leaf.pem" --ca-file "$tmp/stir/ca.pem" \
	--orig 12025550100 --dest 12025550123 "$kid" >"$tmp/v.out" 2>&1 && grep -q '"attest":"A"' "$tmp/v.out"; then
	ok "sipdance verifies the Identity Kamailio secsipid built (attest A)"
else
	bad "sipdance did not verify Kamailio's Identity" "$tmp/resp"; cat "$tmp/v.out" 2>/dev/null
fi
if [ -n "$kid" ] && ! "$sd" passport verify --cert "$tmp/stir/leaf.pem" --ca-file "$tmp/stir/ca.pem" \
	--orig 12025550100 --dest 12025550999 "$kid" >"$tmp/v.out" 2>&1; then
	ok "sipdance rejects Kamailio's Identity for another destination number"
else
	bad "sipdance accepted Kamailio's Identity for the wrong number" "$tmp/v.out"
fi
kam_stop
finish
