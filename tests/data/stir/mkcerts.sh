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
. "$(dirname "$0")/../../certs-lib.sh"
certs_fresh "$(dirname "$0")"

certs_cnf <<CNF
$(certs_leaf v3_shaken)
subjectKeyIdentifier = hash
1.3.6.1.5.5.7.1.26 = DER:30:08:a0:06:16:04:31:32:33:34
$(certs_leaf v3_notn)
$(certs_leaf v3_badtn)
1.3.6.1.5.5.7.1.26 = DER:30:00
$(certs_leaf v3_trunctn)
1.3.6.1.5.5.7.1.26 = DER:30:04:a0:7f:16:04
$(certs_leaf v3_server)
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1, DNS:localhost
CNF
certs_db 2000
certs_dn="/C=US/O=sipdance fixtures"

certs_key root;       certs_sign root "Fixture STI-CA Root" self v3_ca
certs_key int;        certs_sign int "Fixture STI-CA Intermediate" root v3_ca
certs_key other;      certs_sign other "Unrelated STI-CA Root" self v3_ca
certs_key ee;         certs_sign ee "SHAKEN 1234" int v3_shaken
certs_key expired;    certs_sign expired "SHAKEN 1234 expired" int v3_shaken \
	"-startdate 20200101000000Z -enddate 20210101000000Z"
certs_key notn;       certs_sign notn "SHAKEN no TNAuthList" int v3_notn
certs_key badtn;      certs_sign badtn "SHAKEN bad TNAuthList" int v3_badtn
certs_key trunctn;    certs_sign trunctn "SHAKEN truncated TNAuthList" int v3_trunctn
certs_key p384 P-384; certs_sign p384 "SHAKEN P-384" int v3_shaken
certs_key other-ee;   certs_sign other-ee "SHAKEN 9999" other v3_shaken
certs_key server;     certs_sign server "127.0.0.1" root v3_server

for n in ee expired notn badtn trunctn p384; do cat "$n.pem" int.pem > "$n-chain.pem"; done
cp other-ee.pem other-ee-chain.pem
certs_clean
