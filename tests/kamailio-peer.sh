#!/bin/sh
# kamailio-peer.sh - sipdance_verify_peer() and sipdance_verify_user() inside Kamailio: a TLS
# client presenting a.example's certificate (its key in a.example's TLSA) is accepted as a.example,
# the wrong certificate gets 403 with a Reason header, users authenticate by their _user TLSA; a
# bracketed host, a URI given as a domain, and identities longer than the module takes are refused,
# never truncated.
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

# The example config's own route: a request from a.example over TLS (accepted: the registrar then
# answers 404 for a user nobody registered).
sip tls MESSAGE sip:nobody@b.example sip:alice@a.example --cert "$TB_CERT_A" --key "$TB_KEY_A"
expect "a.example's certificate: accepted (404 from the registrar)" "^SIP/2.0 404 Not Found"
grep -q "peer a.example authenticated: MATCH" "$tmp/kam.log" && ok "the config logged the authenticated peer" ||
	bad "no 'peer a.example authenticated' in the Kamailio log" "$tmp/kam.log"
sip tls MESSAGE sip:nobody@b.example sip:alice@a.example --cert "$TB_CERT_WRONG" --key "$TB_KEY_WRONG"
expect "wrong certificate for a.example: 403 with Reason" "^SIP/2.0 403 " \
	'^Reason: SIP;cause=403;text="NOMATCH: a.example: .+"'
sip tls MESSAGE sip:nobody@b.example sip:alice@a.example
expect "no client certificate: 403 with Reason" "^SIP/2.0 403 " \
	'^Reason: SIP;cause=403;text="NOMATCH: the TLS peer sent no certificate"'
sip tls MESSAGE sip:nobody@b.example sip:alice@c.example --cert "$TB_CERT_A" --key "$TB_KEY_A"
expect "a.example's certificate claiming c.example: 403" "^SIP/2.0 403 " '^Reason: SIP;cause=403;text="NOMATCH'
sip udp MESSAGE sip:nobody@b.example sip:alice@a.example
expect "federation request over UDP: 403" "^SIP/2.0 403 " '^Reason: .*federation requires TLS'
sip tls MESSAGE sip:nobody@b.example "sip:mallory@[b.example]" --cert "$TB_CERT_B" --key "$TB_KEY_B"
expect "From sip:mallory@[b.example] with b's own certificate: 403 (a bracketed host is no domain)" \
	"^SIP/2.0 403 " '^Reason: SIP;cause=403;text="NOMATCH: .*IPv6'

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
hook "verify_peer [b.example] with b's cert: -1 (a bracketed host is an IPv6 address or nothing)" "$TB_CERT_B" \
	"$TB_KEY_B" sip:x@b.example "peer=[b.example]" "X-Sipdance-RC: -1" "X-Sipdance-Reason: .*not an IPv6 address"
hook "verify_peer b.example;@a.example: -1 (a domain, not a URI)" "$TB_CERT_A" "$TB_KEY_A" sip:x@b.example \
	"peer=b.example;@a.example" "X-Sipdance-RC: -1" "X-Sipdance-Reason: not a domain name"
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
hook "verify_user of From sip:alice@a.example;transport=tls: 1 (Kamailio's parser: user@host)" "$TB_CERT_ALICE" \
	"$TB_KEY_ALICE" "sip:alice@a.example;transport=tls" user "X-Sipdance-RC: 1" "X-Sipdance-Verdict: MATCH"

# No identity is ever truncated. The zone owner of a.example publishes alice's key for a user address
# whose first 299 octets are those of a longer From (the module once checked only that much).
dom=$(printf 'l%02d.' $(seq 1 33))holdings.a.example              # 150 octets, under a.example
loc=$(printf 'x%.0s' $(seq 1 $((299 - 5 - ${#dom}))))            # "sip:" + local + "@" + dom = 299
owner=$("${top_builddir:-.}/sipdance" user-name "$loc@$dom" | awk '{ print $1 }')
{ $TB_KNOTC zone-begin a.example. && $TB_KNOTC zone-set a.example. "$owner." "$TB_TTL" TLSA 3 1 1 "$TB_SPKI_ALICE" &&
	$TB_KNOTC zone-commit a.example.; } >"$tmp/knotc.log" 2>&1 || bad "adding a _user TLSA to a.example" "$tmp/knotc.log"
hook "verify_user of the 299-octet From sip:$(echo "$loc" | cut -c1-8)...@...$dom: 1 (its TLSA is live)" \
	"$TB_CERT_ALICE" "$TB_KEY_ALICE" "sip:$loc@$dom" user "X-Sipdance-RC: 1" "X-Sipdance-Verdict: MATCH"
hook "verify_user of the same From with .uk appended (302 octets): -1, not the shorter address's TLSA" \
	"$TB_CERT_ALICE" "$TB_KEY_ALICE" "sip:$loc@$dom.uk" user "X-Sipdance-RC: -1" "X-Sipdance-Name: [0-9a-f]{56}\._user\.$dom\.uk"
long=$(printf 'y%.0s' $(seq 1 700))
hook "verify_user of a 700-octet address: -1, refused as too long" "$TB_CERT_ALICE" "$TB_KEY_ALICE" \
	sip:x@b.example "user=$long@a.example" "X-Sipdance-RC: -1" "X-Sipdance-Reason: address refused: longer than"
hook "verify_peer of a 700-octet domain: -1, refused as too long" "$TB_CERT_A" "$TB_KEY_A" sip:x@b.example \
	"peer=$long.a.example" "X-Sipdance-RC: -1" "X-Sipdance-Reason: domain refused: longer than"

# Many TLS connections: no worker died, shared memory did not run out.
n=0
for i in $(seq 30); do
	sip tls MESSAGE sip:nobody@b.example sip:alice@a.example --cert "$TB_CERT_A" --key "$TB_KEY_A"
	grep -q "^SIP/2.0 404" "$tmp/resp" && n=$((n + 1))
done
[ "$n" = 30 ] && ok "30 authenticated TLS connections in a row: 30 x 404 (past the peer check)" ||
	bad "only $n/30 got past the peer check"
if grep -Eq "(segfault|SIGSEGV|SIGABRT|child process .* exited by a signal|out of memory)" "$tmp/kam.log"; then
	bad "kamailio log shows a crash or memory exhaustion" "$tmp/kam.log"
else
	ok "no crash or memory exhaustion in the kamailio log"
fi
kam_stop
finish
