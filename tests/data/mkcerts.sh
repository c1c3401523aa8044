#!/bin/sh
# mkcerts.sh - regenerate the certificate fixtures in tests/data/certs/.
# The outputs are committed (with fixed validity dates, so tests are
# reproducible); run this only to change them, then update dane.in, whose
# header lists the TLSA values this script prints.
set -eu
. "$(dirname "$0")/../certs-lib.sh"
certs_fresh "$(dirname "$0")/certs"

certs_cnf <<CNF
$(certs_leaf v3_ee)
extendedKeyUsage = serverAuth, clientAuth
subjectAltName = \${ENV::SAN}
$(certs_leaf v3_ee_nosan)
extendedKeyUsage = serverAuth, clientAuth
CNF
certs_db 1000
export SAN=

certs_key root;  certs_sign root "Fixture Root CA" self v3_ca
certs_key int;   certs_sign int "Fixture Intermediate CA" root v3_ca
certs_key other; certs_sign other "Unrelated Root CA" self v3_ca

SAN="URI:sip:example.com, DNS:example.com, DNS:sip.example.com" certs_key ee
SAN="URI:sip:example.com, DNS:example.com, DNS:sip.example.com" certs_sign ee sip.example.com int v3_ee
SAN="URI:sip:example.com, DNS:sip.example.com" certs_key expired
SAN="URI:sip:example.com, DNS:sip.example.com" certs_sign expired sip.example.com int v3_ee \
	"-startdate 20200101000000Z -enddate 20210101000000Z"
SAN="DNS:example.com, DNS:sip.example.com" certs_key dnsonly
SAN="DNS:example.com, DNS:sip.example.com" certs_sign dnsonly sip.example.com int v3_ee
SAN="DNS:*.example.com" certs_key wild
SAN="DNS:*.example.com" certs_sign wild wildcard int v3_ee
SAN="URI:sip:other.com, DNS:example.com" certs_key urionly
SAN="URI:sip:other.com, DNS:example.com" certs_sign urionly other.com int v3_ee
certs_key cnonly; certs_sign cnonly example.com int v3_ee_nosan

cat ee.pem int.pem > chain.pem
cat ee.pem int.pem root.pem > chain-full.pem
cat expired.pem int.pem > chain-expired.pem
cat dnsonly.pem int.pem > chain-dnsonly.pem
cat wild.pem int.pem > chain-wild.pem
cat urionly.pem int.pem > chain-urionly.pem
cat cnonly.pem int.pem > chain-cnonly.pem
certs_clean

# digest SELECTOR MD FILE - TLSA association data computed by the openssl CLI
digest() {
	if [ "$1" = 0 ]; then
		openssl x509 -in "$3" -outform DER
	else
		openssl x509 -in "$3" -pubkey -noout | openssl pkey -pubin -outform DER
	fi | openssl dgst "-$2" -r | cut -d' ' -f1
}
for f in ee int root expired other; do
	for s in 0 1; do
		echo "$f.pem selector $s sha256 $(digest $s sha256 $f.pem)"
		echo "$f.pem selector $s sha512 $(digest $s sha512 $f.pem)"
	done
done
