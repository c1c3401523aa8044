#!/bin/sh
# mkcerts.sh - regenerate the dane_clientid certificate fixtures next to this
# script (P-256, valid 100 years from generation; the outputs are committed):
#   userca   user CA of a.example (the *._user.a.example DANE-TA anchor)
#   alice    issued by userca: email + URI sip:alice@a.example
#   alice-uri / alice-email / alice-upper: one SAN kind each; Alice@A.EXAMPLE
#   alice-pct / alice-param: URI sip:%61lice@a.example; sip:alice@a.example;transport=tls
#   carol    issued by userca for carol@a.example (a different local part)
#   alice-self  self-signed alice (DANE-EE 3 1 1)
#   proxy    issued by userca: dNSName sip.a.example (host-name DANE-TA)
set -eu
. "$(dirname "$0")/../certs-lib.sh"
certs_fresh "$(dirname "$0")"
certs_cnf <<CNF
$(certs_leaf user)
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
CNF
certs_days=36500
certs_mint userca v3_ca "/CN=sipdance user CA a.example" ""
certs_mint alice user /CN=alice "email:alice@a.example,URI:sip:alice@a.example" userca
certs_mint alice-uri user /CN=alice "URI:sip:alice@a.example" userca
certs_mint alice-email user /CN=alice "email:alice@a.example" userca
certs_mint alice-upper user /CN=Alice "email:Alice@A.EXAMPLE" userca
certs_mint alice-pct user /CN=alice "URI:sip:%61lice@a.example" userca
certs_mint alice-param user /CN=alice "URI:sip:alice@a.example;transport=tls" userca
certs_mint carol user /CN=carol "email:carol@a.example,URI:sip:carol@a.example" userca
certs_mint alice-self user /CN=alice "email:alice@a.example,URI:sip:alice@a.example"
certs_mint proxy user /CN=sip.a.example "DNS:sip.a.example" userca
cat alice.pem userca.pem > alice-chain.pem
cat carol.pem userca.pem > carol-chain.pem
cat proxy.pem userca.pem > proxy-chain.pem
certs_clean
