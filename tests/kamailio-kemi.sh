#!/bin/sh
# kamailio-kemi.sh - the module's KEMI exports (KSR.sipdance.check_dest, verify_peer, verify_user,
# verify_user_uri, and their *_async forms continuing in a callback function) from a JavaScript routing
# script (app_jsdt): same verdicts as the native functions.
. "${srcdir:-.}/tests/kamailio-lib.sh"
need_env
[ -f "$KAMAILIO_MODDIR/app_jsdt.so" ] || { echo "FAIL - Kamailio's app_jsdt.so missing"; exit 1; }
tb_start
export SD_KEMI_JS="$top/tests/kamailio-kemi.js"
KAM_CFG=$top/tests/kamailio-kemi.cfg kam_start || { bad "kamailio (KEMI) did not start" "$tmp/kam.log"; finish; exit 1; }

# kemi NAME TRANSPORT TEST [--cert C --key K] -- REGEX... : one OPTIONS through the KEMI script
kemi() {
	name=$1 tp=$2 t=$3
	shift 3
	case $1 in --cert) c=$2 k=$4; shift 4 ;; *) c= k= ;; esac
	[ "$1" = -- ] && shift
	if [ -n "$c" ]; then
		sip "$tp" OPTIONS sip:b.example sip:alice@a.example --cert "$c" --key "$k" --hdr "X-Sipdance-Test: $t"
	else
		sip "$tp" OPTIONS sip:b.example sip:alice@a.example --hdr "X-Sipdance-Test: $t"
	fi
	expect "$name" "$@"
}

kemi "KSR.sipdance.check_dest(a.example): 1, DANE" udp dest=a.example -- "X-Sipdance-RC: 1" "X-Sipdance-Verdict: DANE"
kemi "KSR.sipdance.check_dest(badsig.example): -1, BOGUS" udp dest=badsig.example -- "X-Sipdance-RC: -1" \
	"X-Sipdance-Verdict: BOGUS"
kemi "KSR.sipdance.verify_peer(a.example) with a's cert: 1, MATCH" tls peer=a.example \
	--cert "$TB_CERT_A" --key "$TB_KEY_A" -- "X-Sipdance-RC: 1" "X-Sipdance-Verdict: MATCH"
kemi "KSR.sipdance.verify_peer(a.example) with the wrong cert: -1, NOMATCH" tls peer=a.example \
	--cert "$TB_CERT_WRONG" --key "$TB_KEY_WRONG" -- "X-Sipdance-RC: -1" "X-Sipdance-Verdict: NOMATCH"
kemi "KSR.sipdance.verify_user() as alice with alice's cert: 1" tls user \
	--cert "$TB_CERT_ALICE" --key "$TB_KEY_ALICE" -- "X-Sipdance-RC: 1" "X-Sipdance-Verdict: MATCH"
kemi "KSR.sipdance.verify_user_uri(bob@b.example) with alice's cert: -1" tls user=bob@b.example \
	--cert "$TB_CERT_ALICE" --key "$TB_KEY_ALICE" -- "X-Sipdance-RC: -1" "X-Sipdance-Verdict: NOMATCH"
kemi "KSR.sipdance.check_dest_async(a.example): continued, 1, DANE" udp adest=a.example -- "X-Sipdance-RC: 1" \
	"X-Sipdance-Verdict: DANE"
kemi "KSR.sipdance.check_dest_async(badsig.example): continued, -1, BOGUS" udp adest=badsig.example -- \
	"X-Sipdance-RC: -1" "X-Sipdance-Verdict: BOGUS"
kemi "KSR.sipdance.check_dest_async([a.example]): -1 at once" udp "adest=[a.example]" -- "X-Sipdance-RC: -1" \
	"X-Sipdance-Reason: .*not an IPv6 address"
kemi "KSR.sipdance.verify_peer_async(a.example) with a's cert: 1, MATCH" tls apeer=a.example \
	--cert "$TB_CERT_A" --key "$TB_KEY_A" -- "X-Sipdance-RC: 1" "X-Sipdance-Verdict: MATCH"
kemi "KSR.sipdance.verify_peer_async(a.example) with the wrong cert: -1, NOMATCH" tls apeer=a.example \
	--cert "$TB_CERT_WRONG" --key "$TB_KEY_WRONG" -- "X-Sipdance-RC: -1" "X-Sipdance-Verdict: NOMATCH"
kemi "KSR.sipdance.verify_user_async() as alice with alice's cert: 1" tls auser \
	--cert "$TB_CERT_ALICE" --key "$TB_KEY_ALICE" -- "X-Sipdance-RC: 1" "X-Sipdance-Verdict: MATCH"
kemi "KSR.sipdance.verify_user_uri_async(bob@b.example) with alice's cert: -1" tls auser=bob@b.example \
	--cert "$TB_CERT_ALICE" --key "$TB_KEY_ALICE" -- "X-Sipdance-RC: -1" "X-Sipdance-Verdict: NOMATCH"
kam_stop
finish
