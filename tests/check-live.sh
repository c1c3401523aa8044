#!/bin/sh
# check-live.sh - `sipdance check` against the real DNSSEC-signed Knot hierarchy
# (tests/testbed) and real TLS servers on loopback: every policy case, with its
# exit status and the reason a person would read.
set -u
top=$(cd "${srcdir:-.}" && pwd)
sd="${top_builddir:-.}/sipdance"
pass=0 fail=0
base=$((20000 + ($$ % 2000) * 4))
tb=$(mktemp -d)
servers=
cleanup() {
	for p in $servers; do kill "$p" 2>/dev/null; done
	"$top/tests/testbed/testbed.sh" stop "$tb/tb" >/dev/null 2>&1
	rm -rf "$tb"
}
trap cleanup EXIT INT TERM

tlsport=$((base + 1))
export TB_A_TLS_PORT=$tlsport TB_B_TLS_PORT=$tlsport TB_C_TLS_PORT=$tlsport TB_INSECURE_TLS_PORT=$tlsport
"$top/tests/testbed/testbed.sh" start "$tb/tb" "$base" >/dev/null || { echo "FAIL - testbed did not start"; exit 1; }
. "$tb/tb/env.sh"

# serve ADDR CERT KEY - a TLS server on ADDR:$tlsport until the test ends
serve() {
	openssl s_server -quiet -accept "$1:$tlsport" -cert "$2" -key "$3" </dev/null >/dev/null 2>&1 &
	servers="$servers $!"
}

# check NAME WANT_EXIT REGEX ARGS... - run `sipdance check`, expect the exit code and REGEX in the output
check() {
	name=$1 want=$2 re=$3
	shift 3
	"$sd" check --trust-anchor "$TB_ANCHOR" --resolver "$TB_RESOLVER" "$@" >"$tb/out" 2>&1
	got=$?
	if [ "$got" -eq "$want" ] && grep -Eq -- "$re" "$tb/out"; then
		pass=$((pass + 1)); echo "ok - $name"
	else
		fail=$((fail + 1)); echo "FAIL - $name (exit $got, want $want, /$re/)"
		sed 's/^/    /' "$tb/out"
	fi
}

serve 127.0.0.1 "$TB_CERT_A" "$TB_KEY_A"
serve 127.0.0.2 "$TB_CERT_WRONG" "$TB_KEY_WRONG"
serve 127.0.0.4 "$TB_CERT_INSECURE" "$TB_KEY_INSECURE"
sleep 0.5

# Secure domain: every step secure, DANE mandatory, and the right key matches.
check "secure chain: NAPTR, SRV, A, TLSA" 0 "NAPTR a.example +SECURE .*SIPS\+D2T" sips:bob@a.example
check "secure TLSA decides DANE" 0 "policy: DANE \(secure-tlsa\)" sips:a.example
check "secure + match over TLS" 0 "SNI sip.a.example: MATCH: DANE-EE 3 1 1" --connect sip:bob@a.example
# b.example's server presents a key that is not in its TLSA: refused.
check "secure + mismatch over TLS" 1 "NOMATCH: no matching DANE TLSA records" --connect sips:b.example
check "explicit port skips NAPTR/SRV" 0 "TLSA _$tlsport._tcp.sip.a.example: SECURE" "sips:sip.a.example:$tlsport"

# Bogus zones: the target is unusable, whatever the policy mode, with the reason.
check "bogus by bad signature" 1 "result: no usable target: .*BOGUS" --ca-file "$TB_PKIX_CA" sips:badsig.example
check "bogus by expired RRSIGs" 1 "BOGUS.*(expired|2020)" --ca-file "$TB_PKIX_CA" sips:expired.example
check "bogus by DS matching no key" 1 "no usable target: .*BOGUS" --ca-file "$TB_PKIX_CA" sips:wrongds.example
check "dane=off does not look at TLSA: PKIX" 0 "policy: PKIX \(dane-off\)" \
	--dane off --ca-file "$TB_PKIX_CA" sips:badsig.example

# Insecure zone: its TLSA is ignored; PKIX with the right CA, never without one.
check "insecure: TLSA not looked up" 0 "TLSA .*not looked up" --ca-file "$TB_PKIX_CA" sips:insecure.example
check "insecure + opportunistic: PKIX fallback authenticates" 0 \
	"MATCH: PKIX chain to a configured root" --connect --ca-file "$TB_PKIX_CA" sips:insecure.example
check "insecure + PKIX with the wrong CA" 1 "NOMATCH: PKIX" --connect --ca-file "$TB_OTHER_CA" sips:insecure.example
check "insecure without a CA file: refused" 1 "REFUSE \(no-ca-file\)" sips:insecure.example
check "insecure + dane=required: refused" 1 "REFUSE \(dane-required\)" --dane required --ca-file "$TB_PKIX_CA" \
	sips:insecure.example

# Secure denial: no TLSA, proven, so DANE is off for this target.
check "secure denial falls back to PKIX" 0 "policy: PKIX \(secure-denial\)" --ca-file "$TB_PKIX_CA" sips:nodane.example
check "secure denial + required: refused" 1 "REFUSE \(dane-required\)" --dane required --ca-file "$TB_PKIX_CA" \
	sips:nodane.example

# Aliases (RFC 7671 §7): TLSA at the expanded name first, else at the original name.
check "CNAME: TLSA at the expanded name" 0 "TLSA _$tlsport._tcp.sip.a.example: SECURE, FOUND" sips:alias.example
check "CNAME: TLSA at the original name" 0 "TLSA _$tlsport._tcp.sip2.alias.example: SECURE, FOUND" sips:alias.example
check "CNAME: DANE over the alias authenticates" 0 "SNI sip.a.example: MATCH" --connect sips:alias.example

# No NAPTR, no SRV: the domain's own address on 5061 (RFC 3263 §4.2).
check "A-record fallback" 0 "target norecords.example:5061" --ca-file "$TB_PKIX_CA" sips:norecords.example

# The resolver is down: indeterminate, refused fast, never insecure.
start=$(date +%s)
check "resolver down: indeterminate, refused" 1 "INDETERMINATE" --resolver "127.0.0.1@$((base + 3))" \
	--ca-file "$TB_PKIX_CA" sips:a.example
[ $(($(date +%s) - start)) -le 10 ] && { pass=$((pass + 1)); echo "ok - resolver down answers within 10 s"; } ||
	{ fail=$((fail + 1)); echo "FAIL - resolver down took too long"; }

# JSON output parses and carries the decision.
check "--json" 0 '"action": "DANE"' --json sips:a.example
"$sd" check --trust-anchor "$TB_ANCHOR" --resolver "$TB_RESOLVER" --json sips:a.example |
	python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["usable"] and d["targets"][0]["tlsa_status"]=="SECURE"' &&
	{ pass=$((pass + 1)); echo "ok - --json is valid JSON"; } || { fail=$((fail + 1)); echo "FAIL - --json"; }

# Bad input: exit 2 with a message.
check "not a SIP URI" 2 "not a sip: or sips: URI" http://a.example
check "missing trust anchor file" 2 "trust anchor file not found" --trust-anchor /nonexistent sips:a.example
check "bad resolver" 2 "DNS: " --resolver "not-an-address" sips:a.example

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
