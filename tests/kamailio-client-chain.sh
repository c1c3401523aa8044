#!/bin/sh
# kamailio-client-chain.sh - sipdance_verify_user() with users that ship their own DNSSEC chain
# (docs/client-chain.md) inside Kamailio: the module makes the tls module's contexts ask for it in
# the TLS 1.3 CertificateRequest, and judges it with no DNS query (knotd's counters say so). Another
# user's chain, a tampered or expired one and a valid one with another key are refused, and so is
# alice's valid chain under another user's From (another hash) and a chain proving there is no
# TLSA, or her key under an address whose _user name is an alias of hers, shipped or looked up;
# without a chain (none, or TLS 1.2, which cannot carry one) the user is looked up (client_chain
# prefer), or refused with nothing looked up (required).
. "${srcdir:-.}/tests/kamailio-lib.sh"
need_env
tb_start
CLIENT=$("$top/tests/valgrind.sh" "${top_builddir:-.}/tests/sip-tls-client")
SD=$("$top/tests/valgrind.sh" "${top_builddir:-.}/sipdance")
user() { "$SD" user-name "$1"; }
# queries - what knotd has answered so far
queries() { $TB_KNOTC stats mod-stats 2>/dev/null | awk -F'[][ =]+' '/query-type/ { s += $NF } END { print s + 0 }'; }
mk() { /usr/bin/python3 "$top/tests/mkchain.py" --resolver "$TB_RESOLVER" "$@"; }
alice=${TB_USER_ALICE%.}
if ! "$SD" chain build --trust-anchor "$TB_ANCHOR" --resolver "$TB_RESOLVER" --name "$alice" \
	--out "$tmp/alice.ext" >/dev/null || ! mk --name "$(user bob@b.example)" "$tmp/bob.ext" ||
	! mk --name "$alice" --tamper "$tmp/tampered.ext" ||
	! mk --name "$(user alice@expired.example)" "$tmp/expired.ext" ||
	! mk --name "$(user bob@a.example)" "$tmp/denial.ext" ||
	! mk --name "$(user alice@alias.example)" "$tmp/cname.ext"; then
	bad "the client chains are made"
	finish
	exit 1
fi
kam_start -A WITH_TESTHOOKS || { bad "kamailio did not start" "$tmp/kam.log"; finish; exit 1; }

# user NAME CERT KEY FROM CHAIN REGEX... - the verify_user test hook ($hook: user, or auser for
# sipdance_verify_user_async) over TLS, shipping CHAIN ("": none); every REGEX in the answer, and for a
# chain no DNS query meanwhile (TLS=tls12: TLS 1.2)
n=0 hook=user
user_hook() {
	local name=$1 cert=$2 key=$3 from=$4 chain=$5 q0 q1
	shift 5
	n=$((n + 1))
	printf 'OPTIONS sip:b.example SIP/2.0\nVia: SIP/2.0/TLS 127.0.0.1:5999;branch=z9hG4bK-cc%s;rport\n' "$n" >"$tmp/req$n"
	printf 'From: <%s>;tag=t%s\nTo: <sip:b.example>\nCall-ID: cc%s@test\nCSeq: 1 OPTIONS\n' "$from" "$n" "$n" >>"$tmp/req$n"
	printf 'X-Sipdance-Test: %s\nMax-Forwards: 70\nContent-Length: 0\n\n' "$hook" >>"$tmp/req$n"
	q0=$(queries)
	SHIP=$chain FULL=1 timeout $((30 * vg_slow)) "$CLIENT" 127.0.0.2 "$TB_B_TLS_PORT" "$cert" "$key" - \
		${TLS-} "$tmp/req$n" >"$tmp/resp" 2>&1
	q1=$(queries)
	[ -z "$chain" ] || [ "$q0" = "$q1" ] || { bad "$name: no DNS query ($q0 -> $q1)" "$tmp/resp"; return 1; }
	expect "$name" "$@"
}

user_hook "alice ships her chain: verify_user 1, MATCH by the chain, no DNS query" "$TB_CERT_ALICE" \
	"$TB_KEY_ALICE" sip:alice@a.example "$tmp/alice.ext" '^shipped' "X-Sipdance-RC: 1" \
	"X-Sipdance-Verdict: MATCH" "X-Sipdance-Rule: client-chain" "X-Sipdance-Reason: .*no DNS query"
user_hook "bob's chain under alice's From: -1, BOGUS (no DNS query, nothing looked up instead)" \
	"$TB_CERT_ALICE" "$TB_KEY_ALICE" sip:alice@a.example "$tmp/bob.ext" "X-Sipdance-RC: -1" \
	"X-Sipdance-Verdict: BOGUS" "X-Sipdance-Rule: client-chain"
user_hook "alice's chain with another key: -1, NOMATCH" "$TB_CERT_WRONG" "$TB_KEY_WRONG" sip:alice@a.example \
	"$tmp/alice.ext" "X-Sipdance-RC: -1" "X-Sipdance-Verdict: NOMATCH" "X-Sipdance-Rule: client-chain"
user_hook "a tampered chain: -1, BOGUS (signature)" "$TB_CERT_ALICE" "$TB_KEY_ALICE" sip:alice@a.example \
	"$tmp/tampered.ext" "X-Sipdance-RC: -1" "X-Sipdance-Verdict: BOGUS" "X-Sipdance-Reason: .*signature does not verify"
user_hook "an expired chain: -1, BOGUS (RRSIG expired)" "$TB_CERT_ALICE" "$TB_KEY_ALICE" \
	sip:alice@expired.example "$tmp/expired.ext" "X-Sipdance-RC: -1" "X-Sipdance-Verdict: BOGUS" \
	"X-Sipdance-Reason: .*RRSIG expired"
user_hook "alice without a chain (client_chain prefer): looked up, 1, MATCH" "$TB_CERT_ALICE" "$TB_KEY_ALICE" \
	sip:alice@a.example "" "X-Sipdance-RC: 1" "X-Sipdance-Verdict: MATCH" "X-Sipdance-Rule: dns"
user_hook "alice's chain and key under bob@a.example's From (another hash): -1, BOGUS, not looked up" \
	"$TB_CERT_ALICE" "$TB_KEY_ALICE" sip:bob@a.example "$tmp/alice.ext" "X-Sipdance-RC: -1" \
	"X-Sipdance-Verdict: BOGUS" "X-Sipdance-Rule: client-chain"
user_hook "a chain proving bob@a.example has no TLSA: -1, NODATA" "$TB_CERT_ALICE" "$TB_KEY_ALICE" \
	sip:bob@a.example "$tmp/denial.ext" "X-Sipdance-RC: -1" "X-Sipdance-Verdict: NODATA" \
	"X-Sipdance-Rule: client-chain"
# the same through sipdance_verify_user_async: the shipped chain goes with the job to the resolver process
hook=auser
user_hook "async: alice ships her chain: 1, MATCH by the chain, no DNS query" "$TB_CERT_ALICE" \
	"$TB_KEY_ALICE" sip:alice@a.example "$tmp/alice.ext" "X-Sipdance-RC: 1" "X-Sipdance-Verdict: MATCH" \
	"X-Sipdance-Rule: client-chain" "X-Sipdance-Reason: .*no DNS query"
user_hook "async: bob's chain under alice's From: -1, BOGUS" "$TB_CERT_ALICE" "$TB_KEY_ALICE" \
	sip:alice@a.example "$tmp/bob.ext" "X-Sipdance-RC: -1" "X-Sipdance-Verdict: BOGUS" "X-Sipdance-Rule: client-chain"
user_hook "async: a tampered chain: -1, BOGUS" "$TB_CERT_ALICE" "$TB_KEY_ALICE" sip:alice@a.example \
	"$tmp/tampered.ext" "X-Sipdance-RC: -1" "X-Sipdance-Verdict: BOGUS"
user_hook "async: alice without a chain: looked up, 1, MATCH" "$TB_CERT_ALICE" "$TB_KEY_ALICE" \
	sip:alice@a.example "" "X-Sipdance-RC: 1" "X-Sipdance-Verdict: MATCH" "X-Sipdance-Rule: dns"
hook=user
# alice@alias.example's _user name is a CNAME to alice@a.example's: her key, but not her own TLSA
{ cat "$tmp/cname.ext"; tail -c +3 "$tmp/alice.ext"; } >"$tmp/alias.ext"
user_hook "alice@alias.example shipping the chain through its alias to alice@a.example: -1, BOGUS" \
	"$TB_CERT_ALICE" "$TB_KEY_ALICE" sip:alice@alias.example "$tmp/alias.ext" "X-Sipdance-RC: -1" \
	"X-Sipdance-Verdict: BOGUS" "X-Sipdance-Reason: .*leads from"
user_hook "alice@alias.example without a chain: looked up, the same refusal (-1, BOGUS)" "$TB_CERT_ALICE" \
	"$TB_KEY_ALICE" sip:alice@alias.example "" "X-Sipdance-RC: -1" "X-Sipdance-Verdict: BOGUS" \
	"X-Sipdance-Reason: .*leads to"
TLS=tls12 user_hook "alice over TLS 1.2 (no chain possible, client_chain prefer): looked up, 1, MATCH" \
	"$TB_CERT_ALICE" "$TB_KEY_ALICE" sip:alice@a.example "" "X-Sipdance-RC: 1" "X-Sipdance-Verdict: MATCH" \
	"X-Sipdance-Rule: dns"

kam_stop
SD_CLIENT_CHAIN=required
export SD_CLIENT_CHAIN
kam_start -A WITH_TESTHOOKS || { bad "kamailio (client_chain required) did not start" "$tmp/kam.log"; finish; exit 1; }
q0=$(queries)
user_hook "client_chain required, alice without a chain: -1, not looked up" "$TB_CERT_ALICE" "$TB_KEY_ALICE" \
	sip:alice@a.example "" "X-Sipdance-RC: -1" "X-Sipdance-Verdict: INDETERMINATE" "X-Sipdance-Reason: .*not looked up"
q1=$(queries)
[ "$q0" = "$q1" ] && ok "  ... and no DNS query ($q0 -> $q1)" || bad "  ... no DNS query ($q0 -> $q1)"
user_hook "client_chain required, alice with her chain: 1, MATCH" "$TB_CERT_ALICE" "$TB_KEY_ALICE" \
	sip:alice@a.example "$tmp/alice.ext" "X-Sipdance-RC: 1" "X-Sipdance-Verdict: MATCH"
q0=$(queries)
TLS=tls12 user_hook "client_chain required, alice over TLS 1.2: -1, not looked up" "$TB_CERT_ALICE" \
	"$TB_KEY_ALICE" sip:alice@a.example "" "X-Sipdance-RC: -1" "X-Sipdance-Verdict: INDETERMINATE" \
	"X-Sipdance-Reason: .*not looked up"
q1=$(queries)
[ "$q0" = "$q1" ] && ok "  ... and no DNS query ($q0 -> $q1)" || bad "  ... no DNS query ($q0 -> $q1)"
finish
