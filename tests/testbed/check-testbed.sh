#!/usr/bin/env bash
# check-testbed.sh - self-test of testbed.sh: start the hierarchy in a temporary directory, validate it with
# getdns (stub mode, private root trust anchor), stop it. One "ok"/"FAIL" line per check, then
# "N passed, M failed"; exit status 1 if anything failed. knotd is always stopped (trap).
#
# Note: no NAPTR is validated with getdns here: getdns 1.6.0 (Debian 12) aborts on an assertion when it
# validates NAPTR RRsets (getdnsapi/stubby#295, fixed upstream in 45683d3); kdig checks that NAPTR is signed.
set -eu

here=$(cd "$(dirname "$0")" && pwd -P)
port=$((20053 + $$ % 1000))
dir=$(mktemp -d "${TMPDIR:-/tmp}/sipdance-testbed.XXXXXX")
passed=0
failed=0

# Stop knotd; remove the directory unless something failed (then keep it for the log). Only in the main
# shell: a subshell dying on an error may run the inherited EXIT trap.
# shellcheck disable=SC2317 # invoked by the trap
cleanup() {
	[ "$BASHPID" = "$$" ] || return 0
	"$here/testbed.sh" stop "$dir" || true
	if [ "$failed" -eq 0 ]; then rm -rf "$dir"; else echo "kept $dir for inspection" >&2; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# result OK DESCRIPTION [DETAIL]: print and count one check.
result() {
	if [ "$1" = 0 ]; then
		echo "ok - $2"
		passed=$((passed + 1))
	else
		echo "FAIL - $2${3:+ ($3)}"
		failed=$((failed + 1))
	fi
}

# Print the final summary line and exit non-zero on any failure.
finish() {
	echo "$passed passed, $failed failed"
	[ "$failed" -eq 0 ] || exit 1
	exit 0
}

# dnssec NAME TYPE EXPECT: getdns stub lookup; EXPECT is secure (400 with answers of TYPE), bogus (401),
# insecure (403) or denial (400, NXDOMAIN/NODATA, no answer of TYPE).
dnssec() {
	local name=$1 type=$2 expect=$3 num got rc=0
	case $type in A) num=1 ;; CNAME) num=5 ;; AAAA) num=28 ;; SRV) num=33 ;; TLSA) num=52 ;; esac
	got=$(getdns_query -s "@$TB_RESOLVER" -f "$TB_ANCHOR" "{\"appdata_dir\":\"$dir/getdns\"}" \
		+dnssec_return_all_statuses -j "$name" "$type" 2>&1 | jq -r --argjson t "$num" '
		(.replies_tree[0].dnssec_status // -1) as $d
		| ([.replies_tree[0].answer[]? | select(.type == $t)] | length) as $n
		| if $d == 400 and $n > 0 then "secure"
		  elif $d == 400 and .status == 901 then "denial"
		  elif $d == 401 then "bogus" elif $d == 403 then "insecure"
		  else "status \(.status) dnssec_status \($d) answers \($n)" end' 2>&1) || true
	[ "$got" = "$expect" ] || rc=1
	result $rc "$name $type is $expect" "got: $got"
}

# tlsa_is NAME SPKI: the TLSA RRset at NAME is exactly "3 1 1 SPKI" (checks DNS against the certificate).
tlsa_is() {
	local got rc=0
	got=$(kdig @127.0.0.1 -p "$TB_PORT" +short "$1" TLSA)
	[ "${got,,}" = "3 1 1 $2" ] || rc=1
	result $rc "$1 TLSA matches the certificate" "got: $got"
}

# signed NAME TYPE PATTERN: kdig shows an RRSIG over NAME TYPE whose text contains PATTERN.
signed() {
	local rc=0
	kdig @127.0.0.1 -p "$TB_PORT" +dnssec +short "$1" "$2" | grep -q "^$2 .*${3-}" || rc=1
	result $rc "$1 $2 is signed${3:+ ($3)}"
}

if ! out=$("$here/testbed.sh" start "$dir" "$port" 2>&1); then
	result 1 "testbed starts" "$out"
	finish
fi
result 0 "testbed starts: $out"
# shellcheck source=/dev/null
. "$dir/env.sh"

for d in a b c; do
	tls=TB_${d^^}_TLS_PORT spki=TB_SPKI_${d^^}
	tls=${!tls} spki=${!spki}
	dnssec "_$tls._tcp.sip.$d.example" TLSA secure
	dnssec "sip.$d.example" TLSA secure
	tlsa_is "_$tls._tcp.sip.$d.example" "$spki"
	dnssec "_sips._tcp.$d.example" SRV secure
	dnssec "sip.$d.example" A secure
	signed "$d.example" NAPTR
done
dnssec "$TB_USER_ALICE" TLSA secure
tlsa_is "$TB_USER_ALICE" "$TB_SPKI_ALICE"
dnssec "$TB_USER_BOB" TLSA secure
tlsa_is "$TB_USER_BOB" "$TB_SPKI_BOB"

dnssec sip.alias.example CNAME secure
dnssec "_$TB_A_TLS_PORT._tcp.sip.alias.example" TLSA denial
dnssec sip2.alias.example CNAME secure
dnssec "_$TB_B_TLS_PORT._tcp.sip2.b.example" TLSA denial
dnssec "_$TB_B_TLS_PORT._tcp.sip2.alias.example" TLSA secure

for d in badsig expired wrongds; do
	dnssec "_$TB_B_TLS_PORT._tcp.sip.$d.example" TLSA bogus
done
signed "_$TB_B_TLS_PORT._tcp.sip.expired.example" TLSA " 20200201000000 20200101000000 "

dnssec "_$TB_INSECURE_TLS_PORT._tcp.sip.insecure.example" TLSA insecure
dnssec sip.insecure.example A insecure
dnssec "_$TB_B_TLS_PORT._tcp.sip.nodane.example" TLSA denial
dnssec sip.nodane.example A secure
dnssec norecords.example A secure
dnssec _sips._tcp.norecords.example SRV denial
dnssec nonexistent.example A denial

finish
