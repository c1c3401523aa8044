#!/bin/sh
# dns-live.sh - the DNS layer against the real Knot hierarchy: starts the
# testbed on a port of its own, adds the CNAME cases below, runs tests/dns-live
# (which prints the ok/FAIL lines and the count), stops knotd on exit.
set -u
srcdir=${srcdir:-$(dirname "$0")/..}
prog=$("${srcdir:-.}/tests/valgrind.sh" "${top_builddir:-.}/tests/dns-live")
testbed="$srcdir/tests/testbed/testbed.sh"
port=$("${srcdir:-.}/tests/ports.sh" $$)
dir=$(mktemp -d /tmp/sipdance-dns-live.XXXXXX) || exit 99
trap '"$testbed" stop "$dir" >/dev/null 2>&1; rm -rf "$dir"' EXIT
trap 'exit 1' INT TERM

command -v knotd >/dev/null 2>&1 || { echo "SKIP - knotd not installed"; exit 77; }
if ! "$testbed" start "$dir" "$port" >"$dir.log" 2>&1; then
	echo "FAIL - testbed start"; sed 's/^/    /' "$dir.log"; rm -f "$dir.log"
	echo "0 passed, 1 failed"; exit 1
fi
rm -f "$dir.log"
. "$dir/env.sh"

# zone ZONE RECORD... - add records to a running zone (Knot re-signs signed zones)
zone() {
	z=$1; shift
	$TB_KNOTC zone-begin "$z" >/dev/null &&
	for rr in "$@"; do
		# shellcheck disable=SC2086 # RECORD is "OWNER TTL TYPE DATA", split on purpose
		$TB_KNOTC zone-set "$z" $rr >/dev/null || return 1
	done &&
	$TB_KNOTC zone-commit "$z" >/dev/null
}
# Two CNAMEs in one zone, a secure CNAME to an insecure and to a bogus zone,
# an insecure CNAME to a secure zone, a loop; and a NAPTR added to the
# pre-signed badsig.example, which Knot does not sign: its RRSIG fails.
zone alias.example. \
	"two.alias.example. 60 CNAME sip.alias.example." \
	"toinsecure.alias.example. 60 CNAME sip.insecure.example." \
	"tobogus.alias.example. 60 CNAME sip.expired.example." \
	"loop1.alias.example. 60 CNAME loop2.alias.example." \
	"loop2.alias.example. 60 CNAME loop1.alias.example." &&
zone insecure.example. "fromins.insecure.example. 60 CNAME sip.a.example." &&
zone badsig.example. 'badsig.example. 60 NAPTR 40 10 "S" "SIPS+D2T" "" _sips._tcp.badsig.example.' || {
	echo "FAIL - adding the CNAME test records"; echo "0 passed, 1 failed"; exit 1
}
# wait until Knot serves the re-signed alias zone
# served NAME TYPE RE - Knot answers NAME/TYPE with a line matching RE (zone-commit
# returns once the change is signed and served: this only makes sure; Knot's RRSIG
# inception and the testbed's ldns-signzone one are in the past, so no clock tick matters)
served() {
	kdig +dnssec +norec -p "$TB_PORT" @127.0.0.1 "$1" "$2" | grep -q "$3" ||
		{ echo "FAIL - Knot serves $1/$2"; echo "0 passed, 1 failed"; exit 1; }
}
served loop1.alias.example CNAME "RRSIG.*CNAME"
served fromins.insecure.example CNAME "CNAME.*sip.a.example"
served badsig.example NAPTR "SIPS+D2T"

"$prog"
