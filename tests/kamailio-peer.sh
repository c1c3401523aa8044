#!/bin/sh
# kamailio-peer.sh - sipdance_verify_peer() and sipdance_verify_user() inside Kamailio: a TLS
# client presenting a.example's certificate (its key in a.example's TLSA) is accepted as a.example,
# the wrong certificate gets 403 with a Reason header, users authenticate by their _user TLSA.
. "${srcdir:-.}/tests/kamailio-lib.sh"
need_env
tb_start
kam_start -A WITH_TESTHOOKS || { bad "kamailio did not start" "$tmp/kam.log"; finish; exit 1; }

# hook NAME CERT KEY FROM TEST REGEX... - the OPTIONS test hook over TLS
hook() {
	local name=$1 cert=$2 key=$3 from=$4 t=$5
	shift 5
	if [ -n "$cert" ]; then
		sip tls OPTIONS sip:b.example "$from" --cert "$cert" --key "$key" --hdr "X-Sipdance-Test: $t"
	else
		sip tls OPTIONS sip:b.example "$from" --hdr "X-Sipdance-Test: $t"
	fi
	expect "$name" "$@"
}

# The example config's own route: a request from a.example over TLS.
sip tls OPTIONS sip:b.example sip:alice@a.example --cert "$TB_CERT_A" --key "$TB_KEY_A"
expect "a.example's certificate: accepted (200)" "^SIP/2.0 200 OK"
sip tls OPTIONS sip:b.example sip:alice@a.example --cert "$TB_CERT_WRONG" --key "$TB_KEY_WRONG"
expect "wrong certificate for a.example: 403 with Reason" "^SIP/2.0 403 " \
	'^Reason: SIP;cause=403;text="NOMATCH: a.example: .+"'
sip tls OPTIONS sip:b.example sip:alice@a.example
expect "no client certificate: 403 with Reason" "^SIP/2.0 403 " \
	'^Reason: SIP;cause=403;text="NOMATCH: the TLS peer sent no certificate"'
sip tls OPTIONS sip:b.example sip:alice@c.example --cert "$TB_CERT_A" --key "$TB_KEY_A"
expect "a.example's certificate claiming c.example: 403" "^SIP/2.0 403 " '^Reason: SIP;cause=403;text="NOMATCH'
sip udp OPTIONS sip:b.example sip:alice@a.example
expect "federation request over UDP: 403" "^SIP/2.0 403 " '^Reason: .*federation requires TLS'

# The function itself through the test hook.
hook "verify_peer a.example with a's cert: 1, MATCH DANE-EE" "$TB_CERT_A" "$TB_KEY_A" sip:x@b.example \
	peer=a.example "X-Sipdance-RC: 1" "X-Sipdance-Verdict: MATCH" "X-Sipdance-Reason: a.example: .*3 1 1" \
	"X-Sipdance-Target: sip.a.example:$TB_A_TLS_PORT"
hook "verify_peer a.example with the wrong cert: -1, NOMATCH" "$TB_CERT_WRONG" "$TB_KEY_WRONG" sip:x@b.example \
	peer=a.example "X-Sipdance-RC: -1" "X-Sipdance-Verdict: NOMATCH"
hook "verify_peer c.example with a's cert: -1" "$TB_CERT_A" "$TB_KEY_A" sip:x@b.example peer=c.example \
	"X-Sipdance-RC: -1" "X-Sipdance-Verdict: NOMATCH"
hook "verify_peer badsig.example with b's cert: -1, BOGUS" "$TB_CERT_B" "$TB_KEY_B" sip:x@b.example \
	peer=badsig.example "X-Sipdance-RC: -1" "X-Sipdance-Verdict: BOGUS"
hook "verify_peer insecure.example: -1, INSECURE (no CA file)" "$TB_CERT_INSECURE" "$TB_KEY_INSECURE" \
	sip:x@b.example peer=insecure.example "X-Sipdance-RC: -1" "X-Sipdance-Verdict: INSECURE"
sip udp OPTIONS sip:b.example sip:x@b.example --hdr "X-Sipdance-Test: peer=a.example"
expect "verify_peer over UDP: -1, not TLS" "X-Sipdance-RC: -1" "X-Sipdance-Reason: request not received over TLS"

# Users: the _user TLSA of the From address (or the given one).
hook "verify_user alice with alice's cert: 1, MATCH" "$TB_CERT_ALICE" "$TB_KEY_ALICE" sip:alice@a.example \
	user "X-Sipdance-RC: 1" "X-Sipdance-Verdict: MATCH"
hook "verify_user alice with bob's cert: -1, NOMATCH" "$TB_CERT_BOB" "$TB_KEY_BOB" sip:alice@a.example \
	user "X-Sipdance-RC: -1" "X-Sipdance-Verdict: NOMATCH"
hook "verify_user bob@b.example given explicitly: 1" "$TB_CERT_BOB" "$TB_KEY_BOB" sip:x@b.example \
	user=bob@b.example "X-Sipdance-RC: 1" "X-Sipdance-Verdict: MATCH"
hook "verify_user carol@a.example (no _user TLSA): -1, NODATA" "$TB_CERT_ALICE" "$TB_KEY_ALICE" \
	sip:carol@a.example user "X-Sipdance-RC: -1" "X-Sipdance-Verdict: NODATA"
hook "verify_user without a client certificate: -1" "" "" sip:alice@a.example user "X-Sipdance-RC: -1"

# Many TLS connections: no worker died, shared memory did not run out.
n=0
for i in $(seq 30); do
	sip tls OPTIONS sip:b.example sip:alice@a.example --cert "$TB_CERT_A" --key "$TB_KEY_A"
	grep -q "^SIP/2.0 200" "$tmp/resp" && n=$((n + 1))
done
[ "$n" = 30 ] && ok "30 authenticated TLS connections in a row: 30 x 200" || bad "only $n/30 answered 200"
if grep -Eq "(segfault|SIGSEGV|SIGABRT|child process .* exited by a signal|out of memory)" "$tmp/kam.log"; then
	bad "kamailio log shows a crash or memory exhaustion" "$tmp/kam.log"
else
	ok "no crash or memory exhaustion in the kamailio log"
fi
kam_stop
finish
