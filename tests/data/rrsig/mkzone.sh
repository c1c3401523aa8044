#!/bin/sh
# mkzone.sh - regenerate the RRSIG fixtures: one small zone signed by
# ldns-signzone (an implementation independent of ours) with an ECDSA P-256,
# an RSA/SHA-256 and an Ed25519 key, valid 2025-01-01 to 2035-01-01, and
# once with an ECDSA key whose REVOKE flag is set (ldns-revoke, RFC 5011).
# Outputs (committed): signed-<alg>.zone and the DNSKEY of each.
set -eu
cd "$(dirname "$0")"
rm -f ./*.zone ./*.key ./*.private ./*.ds
cat > zone.in <<'ZONE'
$ORIGIN rrsig.test.
$TTL 60
@		SOA	ns hostmaster 1 3600 600 86400 60
@		NS	ns
ns		A	127.0.0.1
@		NAPTR	10 10 "S" "SIPS+D2T" "" _sips._tcp.RRSIG.test.
@		NAPTR	20 10 "S" "SIP+D2T" "" _sip._tcp.rrsig.test.
_sips._tcp	SRV	10 10 5061 Sip.RRSIG.test.
sip		A	127.0.0.1
*.wild		TXT	"wildcard"
ZONE
for alg in ECDSAP256SHA256 RSASHA256 ED25519 revoked; do
	key=$(ldns-keygen -a "$(echo "$alg" | sed s/revoked/ECDSAP256SHA256/)" -k rrsig.test)
	[ "$alg" = revoked ] && ldns-revoke "$key.key" >/dev/null
	ldns-signzone -i 20250101000000 -e 20350101000000 -f "signed-$alg.zone" zone.in "$key"
	rm -f "$key.private" "$key.ds"
	mv "$key.key" "dnskey-$alg.key"
done
rm -f zone.in
