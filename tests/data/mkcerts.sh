#!/bin/sh
# mkcerts.sh - regenerate the certificate fixtures in tests/data/certs/.
# The outputs are committed (with fixed validity dates, so tests are
# reproducible); run this only to change them, then update dane.in, whose
# header lists the TLSA values this script prints.
set -eu
cd "$(dirname "$0")/certs"
rm -f ./*.pem ./*.key index.txt* serial* ./*.cnf

valid="-startdate 20250101000000Z -enddate 21250101000000Z"

cat > ca.cnf <<'CNF'
[ ca ]
default_ca = fixture
[ fixture ]
database = index.txt
new_certs_dir = .
serial = serial
default_md = sha256
policy = any
unique_subject = no
copy_extensions = none
[ any ]
commonName = supplied
[ v3_ca ]
basicConstraints = critical, CA:true
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[ v3_ee ]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth, clientAuth
subjectAltName = ${ENV::SAN}
[ v3_ee_nosan ]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth, clientAuth
CNF
: > index.txt
echo 1000 > serial
export SAN=

# key NAME - an EC P-256 key
key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1.key" 2>/dev/null; }

# sign NAME CN ISSUER EXT [DATES] - a certificate for NAME.key signed by ISSUER
sign() {
	openssl req -new -key "$1.key" -subj "/CN=$2" -out "$1.csr"
	if [ "$3" = self ]; then
		openssl ca -batch -config ca.cnf -selfsign -keyfile "$1.key" -extensions "$4" \
			${5:-$valid} -in "$1.csr" -out "$1.pem" 2>/dev/null
	else
		openssl ca -batch -config ca.cnf -cert "$3.pem" -keyfile "$3.key" -extensions "$4" \
			${5:-$valid} -in "$1.csr" -out "$1.pem" 2>/dev/null
	fi
	rm -f "$1.csr"
	# Keep only the PEM block.
	openssl x509 -in "$1.pem" -out "$1.pem"
}

key root;  sign root "Fixture Root CA" self v3_ca
key int;   sign int "Fixture Intermediate CA" root v3_ca
key other; sign other "Unrelated Root CA" self v3_ca

SAN="URI:sip:example.com, DNS:example.com, DNS:sip.example.com" key ee
SAN="URI:sip:example.com, DNS:example.com, DNS:sip.example.com" sign ee sip.example.com int v3_ee
SAN="URI:sip:example.com, DNS:sip.example.com" key expired
SAN="URI:sip:example.com, DNS:sip.example.com" sign expired sip.example.com int v3_ee \
	"-startdate 20200101000000Z -enddate 20210101000000Z"
SAN="DNS:example.com, DNS:sip.example.com" key dnsonly
SAN="DNS:example.com, DNS:sip.example.com" sign dnsonly sip.example.com int v3_ee
SAN="DNS:*.example.com" key wild
SAN="DNS:*.example.com" sign wild wildcard int v3_ee
SAN="URI:sip:other.com, DNS:example.com" key urionly
SAN="URI:sip:other.com, DNS:example.com" sign urionly other.com int v3_ee
key cnonly; sign cnonly example.com int v3_ee_nosan

cat ee.pem int.pem > chain.pem
cat ee.pem int.pem root.pem > chain-full.pem
cat expired.pem int.pem > chain-expired.pem
cat dnsonly.pem int.pem > chain-dnsonly.pem
cat wild.pem int.pem > chain-wild.pem
cat urionly.pem int.pem > chain-urionly.pem
cat cnonly.pem int.pem > chain-cnonly.pem
rm -f index.txt* serial* ./*.cnf [0-9A-F]*.pem

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
