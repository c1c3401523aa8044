#!/bin/sh
# mkcerts.sh - regenerate the STIR/SHAKEN fixtures in tests/data/stir/.
# The outputs are committed (fixed validity dates, so tests are
# reproducible); run this only to change them. Every key is EC P-256 except
# p384.key. TNAuthList (RFC 8226, id-pe 26) holds one SPC entry, explicitly
# tagged [0] as in ATIS-1000080 certificates: 30 08 a0 06 16 04 "1234".
#   root, int        STI-CA root and intermediate (root.pem is the trust anchor)
#   ee               SHAKEN end entity "SHAKEN 1234" with TNAuthList, from int
#   expired          like ee, valid 2020-2021 only
#   notn             like ee, without TNAuthList
#   badtn            like ee, TNAuthList an empty SEQUENCE (malformed)
#   trunctn          like ee, TNAuthList entry longer than the extension (malformed)
#   p384             like ee, P-384 key (not usable for ES256)
#   other, other-ee  an unrelated root and an end entity it issued
#   server           TLS server certificate for 127.0.0.1 (the x5u test server), from root
# *-chain.pem: what an x5u URL serves, end entity first then intermediates.
set -eu
cd "$(dirname "$0")"
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
[ v3_shaken ]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature
subjectKeyIdentifier = hash
1.3.6.1.5.5.7.1.26 = DER:30:08:a0:06:16:04:31:32:33:34
[ v3_notn ]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature
[ v3_badtn ]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature
1.3.6.1.5.5.7.1.26 = DER:30:00
[ v3_trunctn ]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature
1.3.6.1.5.5.7.1.26 = DER:30:04:a0:7f:16:04
[ v3_server ]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1, DNS:localhost
CNF
: > index.txt
echo 2000 > serial

# key NAME [CURVE] - an EC key
key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:"${2:-P-256}" -out "$1.key" 2>/dev/null; }

# sign NAME CN ISSUER EXT [DATES] - a certificate for NAME.key signed by ISSUER
sign() {
	openssl req -new -key "$1.key" -subj "/C=US/O=sipdance fixtures/CN=$2" -out "$1.csr"
	if [ "$3" = self ]; then
		openssl ca -batch -config ca.cnf -selfsign -keyfile "$1.key" -extensions "$4" \
			${5:-$valid} -in "$1.csr" -out "$1.pem" 2>/dev/null
	else
		openssl ca -batch -config ca.cnf -cert "$3.pem" -keyfile "$3.key" -extensions "$4" \
			${5:-$valid} -in "$1.csr" -out "$1.pem" 2>/dev/null
	fi
	rm -f "$1.csr"
	openssl x509 -in "$1.pem" -out "$1.pem"
}

key root;     sign root "Fixture STI-CA Root" self v3_ca
key int;      sign int "Fixture STI-CA Intermediate" root v3_ca
key other;    sign other "Unrelated STI-CA Root" self v3_ca
key ee;       sign ee "SHAKEN 1234" int v3_shaken
key expired;  sign expired "SHAKEN 1234 expired" int v3_shaken "-startdate 20200101000000Z -enddate 20210101000000Z"
key notn;     sign notn "SHAKEN no TNAuthList" int v3_notn
key badtn;    sign badtn "SHAKEN bad TNAuthList" int v3_badtn
key trunctn;  sign trunctn "SHAKEN truncated TNAuthList" int v3_trunctn
key p384 P-384; sign p384 "SHAKEN P-384" int v3_shaken
key other-ee; sign other-ee "SHAKEN 9999" other v3_shaken
key server;   sign server "127.0.0.1" root v3_server

for n in ee expired notn badtn trunctn p384; do cat "$n.pem" int.pem > "$n-chain.pem"; done
cp other-ee.pem other-ee-chain.pem
rm -f index.txt* serial* ca.cnf ./*.old ./[0-9][0-9][0-9][0-9].pem
