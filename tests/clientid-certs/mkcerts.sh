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
cd "$(dirname "$0")"
rm -f ./*.pem ./*.key ./*.cnf
cat > x.cnf <<'CNF'
[req]
distinguished_name = dn
prompt = no
[dn]
[ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[user]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
CNF
# mk NAME SUBJECT SAN [ISSUER]
mk() {
	set -- "$1" "$2" "$3" "${4-}"
	if [ -n "$4" ]; then
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -noenc -days 36500 \
			-config x.cnf -extensions user -subj "$2" -addext "subjectAltName=$3" \
			-CA "$4.pem" -CAkey "$4.key" -keyout "$1.key" -out "$1.pem" 2>/dev/null
	elif [ -n "$3" ]; then
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -noenc -days 36500 \
			-config x.cnf -extensions user -subj "$2" -addext "subjectAltName=$3" \
			-keyout "$1.key" -out "$1.pem" 2>/dev/null
	else
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -noenc -days 36500 \
			-config x.cnf -extensions ca -subj "$2" -keyout "$1.key" -out "$1.pem" 2>/dev/null
	fi
}
mk userca "/CN=sipdance user CA a.example" ""
mk alice /CN=alice "email:alice@a.example,URI:sip:alice@a.example" userca
mk alice-uri /CN=alice "URI:sip:alice@a.example" userca
mk alice-email /CN=alice "email:alice@a.example" userca
mk alice-upper /CN=Alice "email:Alice@A.EXAMPLE" userca
mk alice-pct /CN=alice "URI:sip:%61lice@a.example" userca
mk alice-param /CN=alice "URI:sip:alice@a.example;transport=tls" userca
mk carol /CN=carol "email:carol@a.example,URI:sip:carol@a.example" userca
mk alice-self /CN=alice "email:alice@a.example,URI:sip:alice@a.example"
mk proxy /CN=sip.a.example "DNS:sip.a.example" userca
cat alice.pem userca.pem > alice-chain.pem
cat carol.pem userca.pem > carol-chain.pem
cat proxy.pem userca.pem > proxy-chain.pem
rm -f x.cnf
