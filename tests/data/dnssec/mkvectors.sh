#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# mkvectors.sh - regenerate the DNSSEC vectors of this directory, signed by
# implementations independent of ours: ldns-signzone (ldnsutils), Knot
# (keymgr and knotd's automatic signing, zones read back with knotc) and
# dnspython (mkvectors.py). Run by hand (it starts a knotd on loopback for
# a few seconds); the outputs are committed, vectors.in says what each
# vector expects. Signatures are valid 2025-01-01 to 2055-01-01 (Knot's
# from the day this runs, for 30 years), except past.example (2019) and
# future.example (2060); the tests set the validator's clock.
#
# The hierarchy (every zone a child of example., itself a child of .):
#   .                ldns   ECDSA P-256 KSK+ZSK, NSEC
#   example.         Knot   ECDSA P-256 CSK, NSEC3 opt-out (3 iterations, salt)
#   a.example.       ldns   ECDSA P-256 KSK+ZSK, NSEC: SIP records, alias,
#                           wildcards, an unsigned delegation (insecure.a)
#   rsa.example.     ldns   RSASHA256, NSEC3 (2 iterations, salt): wildcard
#   optout.example.  ldns   ECDSA P-256, NSEC3 opt-out: wildcard
#   k.example.       Knot   Ed25519 CSK, NSEC
#   py.example. ...  dnspython (see mkvectors.py): P-384, Ed448, key-tag
#                    collision, NSEC3 iteration bounds, crafted attacks
#   past.example.    ldns   RRSIGs 2019-01-01..2020-01-01
#   future.example.  ldns   RRSIGs 2060-01-01..2061-01-01
#   revoked.example. ldns   signed only by a key with the REVOKE flag (the DS names it)
#   sha1.example.    ldns   RSASHA1 (algorithm 5): not supported, insecure
#   sha1ds.example.  ldns   DS of digest type 1 only: not supported, insecure
#   wrongds.example. ldns   the DS in example. names another key
#   unsigned.example.       NS only, in an opt-out span of example.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
INC=20250101000000 EXP=20550101000000
TLSA="3 1 1 5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a"
tmp=$(mktemp -d)
trap 'knot_stop; rm -rf "$tmp"' EXIT INT TERM
cd "$tmp"

# norm - one record a line, "owner ttl IN type rdata" (TTL 3600 where none is
# given), comments, blank lines and knotc's "[zone]" prefix dropped
norm() {
	sed -e 's/;.*$//' -e 's/^\[[^]]*\] //' | awk 'NF {
		i = 2; ttl = 3600
		for (k = 0; k < 2; k++) {
			if ($i ~ /^[0-9]+$/) { ttl = $i; i++ } else if ($i == "IN") { i++ }
		}
		rest = $i
		for (j = i + 1; j <= NF; j++) rest = rest " " $j
		print $1, ttl, "IN", rest
	}'
}

# pick FILE OWNER TYPE - the RRset (OWNER, TYPE) of a normalised FILE with its RRSIGs
pick() {
	awk -v o="$2" -v t="$3" 'tolower($1) == tolower(o) && ($4 == t || ($4 == "RRSIG" && $5 == t))' "$1"
}

# sip_zone ORIGIN - the records of a zone with SIP servers, TLSA and a wildcard
sip_zone() {
	cat <<EOF
\$ORIGIN $1
\$TTL 3600
@ SOA ns hostmaster 1 3600 600 86400 3600
@ NS ns
ns A 127.0.0.1
@ NAPTR 10 10 "S" "SIPS+D2T" "" _sips._tcp.$(echo "$1" | tr a-z A-Z)
_sips._tcp SRV 10 10 5061 Sip.$1
sip A 127.0.0.1
_5061._tcp.sip TLSA $TLSA
*._tcp.wild TLSA $TLSA
y._tcp.wild A 127.0.0.1
EOF
}

# ldns_zone ORIGIN ALG INC EXP [signzone options] - sign ORIGIN.src (KSK + ZSK,
# or with ALG "revoked" one revoked ECDSA key): ORIGIN.signed, ORIGIN.ds
ldns_zone() {
	o=$1 alg=$2 i=$3 e=$4
	shift 4
	bits=
	case $alg in RSA*) bits="-b 2048" ;; esac
	if [ "$alg" = revoked ]; then
		ksk=$(ldns-keygen -a ECDSAP256SHA256 -k "$o")
		ldns-revoke "$ksk.key" >/dev/null
		keys=$ksk
	else
		# shellcheck disable=SC2086
		ksk=$(ldns-keygen -a "$alg" $bits -k "$o")
		# shellcheck disable=SC2086
		keys="$ksk $(ldns-keygen -a "$alg" $bits "$o")"
	fi
	# shellcheck disable=SC2086
	ldns-signzone -i "$i" -e "$e" -o "$o" -f - "$@" "${o}src" $keys | norm >"${o}signed"
	ldns-key2ds -n -2 "$ksk.key" | norm >"${o}ds"
	rm -f K*.ds
}

# ---- the children of example. ----

sip_zone a.example. >a.example.src
cat >>a.example.src <<EOF
_5061._tcp.alias CNAME _5061._tcp.sip
*.naptr NAPTR 20 10 "S" "SIP+D2T" "" _sip._tcp.a.example.
insecure NS ns.insecure
ns.insecure A 127.0.0.1
EOF
ldns_zone a.example. ECDSAP256SHA256 $INC $EXP
sip_zone rsa.example. >rsa.example.src
ldns_zone rsa.example. RSASHA256 $INC $EXP -n -s 1234abcd -t 2
sip_zone optout.example. >optout.example.src
ldns_zone optout.example. ECDSAP256SHA256 $INC $EXP -n -p -s 9f -t 0
for z in past future revoked sha1 sha1ds wrongds; do sip_zone $z.example. >$z.example.src; done
ldns_zone past.example. ECDSAP256SHA256 20190101000000 20200101000000
ldns_zone future.example. ECDSAP256SHA256 20600101000000 20610101000000
ldns_zone revoked.example. revoked $INC $EXP
ldns_zone sha1.example. RSASHA1 $INC $EXP
ldns_zone sha1ds.example. ECDSAP256SHA256 $INC $EXP
ldns-key2ds -n -1 "$ksk.key" | norm >sha1ds.example.ds
ldns_zone wrongds.example. ECDSAP256SHA256 $INC $EXP
other=$(ldns-keygen -a ECDSAP256SHA256 -k wrongds.example.)
ldns-key2ds -n -2 "$other.key" | norm >wrongds.example.ds
rm -f K*.ds
/usr/bin/python3 "$here/mkvectors.py" .
/usr/bin/python3 "$here/mkattacks.py" .

# ---- example. and k.example., signed by Knot ----

port=$(($("$here/../../ports.sh" $$) + 53))
knot_stop() {
	[ -s "$tmp/knotd.pid" ] && kill "$(cat "$tmp/knotd.pid")" 2>/dev/null && sleep 1
	rm -f "$tmp/knotd.pid"
}
mkdir -p knot/zones knot/db knot/keys knot/run
cat >knot/knot.conf <<EOF
server:
    rundir: "$tmp/knot/run"
    listen: 127.0.0.1@$port
database:
    storage: "$tmp/knot/db"
    kasp-db: "$tmp/knot/keys"
control:
    listen: "$tmp/knot/run/knot.sock"
policy:
  - id: p13
    algorithm: ecdsap256sha256
    single-type-signing: on
    manual: on
    nsec3: on
    nsec3-opt-out: on
    nsec3-iterations: 3
    nsec3-salt-length: 4
    nsec3-salt-lifetime: 0
    rrsig-lifetime: 10950d
    rrsig-refresh: 1d
    dnskey-ttl: 3600
    zone-max-ttl: 3600
  - id: p15
    algorithm: ed25519
    single-type-signing: on
    manual: on
    rrsig-lifetime: 10950d
    rrsig-refresh: 1d
    dnskey-ttl: 3600
    zone-max-ttl: 3600
template:
  - id: default
    storage: "$tmp/knot/zones"
    file: "%s.zone"
    journal-content: none
    zonefile-sync: -1
zone:
  - domain: example.
    dnssec-signing: on
    dnssec-policy: p13
  - domain: k.example.
    dnssec-signing: on
    dnssec-policy: p15
EOF
keymgr -c knot/knot.conf example. generate algorithm=13 ksk=yes zsk=yes >/dev/null
keymgr -c knot/knot.conf k.example. generate algorithm=15 ksk=yes zsk=yes >/dev/null
keymgr -c knot/knot.conf k.example. ds | norm | awk '$7 == 2' >k.example.ds
sip_zone k.example. >knot/zones/k.example.zone
{
	cat <<EOF
\$ORIGIN example.
\$TTL 3600
@ SOA ns hostmaster 1 3600 600 86400 3600
@ NS ns
ns A 127.0.0.1
unsigned NS ns.unsigned
ns.unsigned A 127.0.0.1
EOF
	for ds in *.ds; do
		z=${ds%.ds}
		case $z in *.*.example) continue ;; esac # below a child, not below example.
		echo "$z. NS ns.$z."
		cat "$ds"
	done
} >knot/zones/example.zone
knotd -c knot/knot.conf >knot/knotd.log 2>&1 &
echo $! >knotd.pid
for i in $(seq 100); do
	if knotc -c knot/knot.conf zone-read example. @ NSEC3PARAM 2>/dev/null | grep -q NSEC3PARAM &&
		knotc -c knot/knot.conf zone-read k.example. @ RRSIG 2>/dev/null | grep -q DNSKEY; then
		break
	fi
	sleep 0.1
done
knotc -c knot/knot.conf zone-read example. | norm >example.signed
knotc -c knot/knot.conf zone-read k.example. | norm >k.example.signed
knot_stop
grep -q NSEC3 example.signed || { cat knot/knotd.log >&2; echo "knotd did not sign example." >&2; exit 1; }

# ---- the root, signed by ldns ----

{
	printf '$ORIGIN .\n$TTL 86400\n@ SOA ns.example. hostmaster.example. 1 3600 600 86400 3600\n@ NS ns.example.\n'
	echo "example. NS ns.example."
	keymgr -c knot/knot.conf example. ds | norm | awk '$7 == 2'
} >root.src
ksk=$(ldns-keygen -a ECDSAP256SHA256 -k .)
zsk=$(ldns-keygen -a ECDSAP256SHA256 .)
rm -f K*.ds
ldns-signzone -i $INC -e $EXP -o . -f - root.src "$ksk" "$zsk" | norm >root.signed
ldns-key2ds -n -2 "$ksk.key" | norm >root.ds
pick root.signed . DNSKEY | awk '$4 == "DNSKEY" && $5 == 257' >root.dnskey

# ---- the files the vectors name ----

# chain-Z: the DNSKEY and DS RRsets from the root down to zone Z
chain() {
	pick root.signed . DNSKEY
	pick root.signed example. DS
	pick example.signed example. DNSKEY
	[ "$1" = example. ] && return
	parent=example.
	case $1 in *.py.example.) parent=py.example. ;; esac
	[ $parent = example. ] || pick example.signed py.example. DS
	[ $parent = example. ] || pick py.example.signed py.example. DNSKEY
	pick "${parent}signed" "$1" DS
	pick "${1}signed" "$1" DNSKEY
}
for z in a rsa optout k py sub.py ed448 collide 0 n3max n3over past future revoked sha1 sha1ds wrongds; do
	chain $z.example. >chain-$z.zone
done
chain example. >chain-example.zone
for z in a rsa k revoked; do pick $z.example.signed $z.example. DNSKEY | awk '$4 == "DNSKEY"' >$z.dnskey; done
for z in a rsa k revoked; do pick $z.example.signed $z.example. NAPTR >$z-naptr.zone; done
awk '$4 == "NSEC" || ($4 == "RRSIG" && $5 == "NSEC")' a.example.signed >a-nsec.zone
awk '$4 == "NSEC3" || ($4 == "RRSIG" && $5 == "NSEC3")' rsa.example.signed >rsa-nsec3.zone
pick a.example.signed a.example. NSEC >a-nsec-apex.zone
# wildcard answers as a server gives them: the RRset and RRSIG at the name asked
expand() { sed "s/^\*\.$2/$3/" "$1"; }
pick a.example.signed '*._tcp.wild.a.example.' TLSA | expand - '_tcp.wild.a.example.' '_5061._tcp.wild.a.example.' >a-wild.zone
pick a.example.signed '*._tcp.wild.a.example.' TLSA | expand - '_tcp.wild.a.example.' 'x.y._tcp.wild.a.example.' >a-wild-closer.zone
pick a.example.signed '*.naptr.a.example.' NAPTR | expand - 'naptr.a.example.' 'x.naptr.a.example.' >a-naptr-wild.zone
pick rsa.example.signed '*._tcp.wild.rsa.example.' TLSA | expand - '_tcp.wild.rsa.example.' '_5061._tcp.wild.rsa.example.' >rsa-wild.zone
awk 'NR <= 2' rsa-nsec3.zone >rsa-nsec3-one.zone
pick optout.example.signed '*._tcp.wild.optout.example.' TLSA |
	expand - '_tcp.wild.optout.example.' '_5061._tcp.wild.optout.example.' >optout-wild.zone
awk '$4 == "NSEC3" || ($4 == "RRSIG" && $5 == "NSEC3")' optout.example.signed >>optout-wild.zone

# everything generated is replaced; the transcribed RFC 9102 vectors stay
for f in "$here"/*.signed "$here"/*.zone "$here"/*.ds "$here"/*.dnskey; do
	case ${f##*/} in rfc9102-*) ;; *) rm -f "$f" ;; esac
done
for f in *.signed *.zone *.ds *.dnskey; do
	case $f in *.src) ;; *) cp "$f" "$here/" ;; esac
done
/usr/bin/python3 "$here/mkseeds.py"
echo "vectors and the fuzz-dnssec seeds written"
