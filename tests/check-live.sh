#!/bin/sh
# check-live.sh - `sipdance check` against the real DNSSEC-signed Knot hierarchy
# (tests/testbed) and real TLS servers on loopback: every policy case, with its
# exit status and the reason a person would read.
set -u
top=$(cd "${srcdir:-.}" && pwd)
sd=$("${srcdir:-.}/tests/valgrind.sh" "${top_builddir:-.}/sipdance")
. "$top/tests/check-lib.sh"
base=$("${srcdir:-.}/tests/ports.sh" $$)
servers=
cleanup() {
	for p in $servers; do kill "$p" 2>/dev/null; done
	"$top/tests/testbed/testbed.sh" stop "$tmp/tb" >/dev/null 2>&1
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

tlsport=$((base + 1))
export TB_A_TLS_PORT=$tlsport TB_B_TLS_PORT=$tlsport TB_C_TLS_PORT=$tlsport TB_INSECURE_TLS_PORT=$tlsport
"$top/tests/testbed/testbed.sh" start "$tmp/tb" "$base" >/dev/null || { echo "FAIL - testbed did not start"; exit 1; }
. "$tmp/tb/env.sh"

# serve ADDR CERT KEY - a TLS server on ADDR:$tlsport until the test ends
serve() {
	openssl s_server -quiet -accept "$1:$tlsport" -cert "$2" -key "$3" </dev/null >/dev/null 2>&1 &
	servers="$servers $!"
	"$top/tests/wait-for.sh" -t "$1:$tlsport" || not_ok "openssl s_server listening on $1:$tlsport"
}

# sdcheck NAME WANT_EXIT REGEX ARGS... - `sipdance check` against the testbed
sdcheck() {
	name=$1 want=$2 re=$3
	shift 3
	check "$name" "$want" "$re" "$sd" check --trust-anchor "$TB_ANCHOR" --resolver "$TB_RESOLVER" "$@"
}

serve 127.0.0.1 "$TB_CERT_A" "$TB_KEY_A"
serve 127.0.0.2 "$TB_CERT_WRONG" "$TB_KEY_WRONG"
serve 127.0.0.4 "$TB_CERT_INSECURE" "$TB_KEY_INSECURE"

# Secure domain: every step secure, DANE mandatory, and the right key matches.
sdcheck "secure chain: NAPTR, SRV, A, TLSA" 0 "NAPTR a.example +SECURE .*SIPS\+D2T" sips:bob@a.example
sdcheck "secure TLSA decides DANE" 0 "policy: DANE \(secure-tlsa\)" sips:a.example
sdcheck "secure + match over TLS" 0 "SNI sip.a.example: MATCH: DANE-EE 3 1 1" --connect sip:bob@a.example
# b.example's server presents a key that is not in its TLSA: refused.
sdcheck "secure + mismatch over TLS" 1 "NOMATCH: no matching DANE TLSA records" --connect sips:b.example
sdcheck "explicit port skips NAPTR/SRV" 0 "TLSA _$tlsport._tcp.sip.a.example: SECURE" "sips:sip.a.example:$tlsport"

# Bogus zones: the target is unusable, whatever the policy mode, with the reason.
sdcheck "bogus by bad signature" 1 "result: no usable target: .*BOGUS" --ca-file "$TB_PKIX_CA" sips:badsig.example
sdcheck "bogus by expired RRSIGs" 1 "BOGUS.*(expired|2020)" --ca-file "$TB_PKIX_CA" sips:expired.example
sdcheck "bogus by DS matching no key" 1 "no usable target: .*BOGUS" --ca-file "$TB_PKIX_CA" sips:wrongds.example
sdcheck "dane=off does not look at TLSA: PKIX" 0 "policy: PKIX \(dane-off\)" \
	--dane off --ca-file "$TB_PKIX_CA" sips:badsig.example

# Insecure zone: its TLSA is ignored; PKIX with the right CA, never without one.
sdcheck "insecure: TLSA not looked up" 0 "TLSA .*not looked up" --ca-file "$TB_PKIX_CA" sips:insecure.example
sdcheck "insecure + opportunistic: PKIX fallback authenticates" 0 \
	"MATCH: PKIX chain to a configured root" --connect --ca-file "$TB_PKIX_CA" sips:insecure.example
sdcheck "insecure + PKIX with the wrong CA" 1 "NOMATCH: PKIX" --connect --ca-file "$TB_OTHER_CA" sips:insecure.example
sdcheck "insecure without a CA file: refused" 1 "REFUSE \(no-ca-file\)" sips:insecure.example
sdcheck "insecure + dane=required: refused" 1 "REFUSE \(dane-required\)" --dane required --ca-file "$TB_PKIX_CA" \
	sips:insecure.example

# Secure denial: no TLSA, proven, so DANE is off for this target.
sdcheck "secure denial falls back to PKIX" 0 "policy: PKIX \(secure-denial\)" --ca-file "$TB_PKIX_CA" sips:nodane.example
sdcheck "secure denial + required: refused" 1 "REFUSE \(dane-required\)" --dane required --ca-file "$TB_PKIX_CA" \
	sips:nodane.example

# Aliases (RFC 7671 §7): TLSA at the expanded name first, else at the original name.
sdcheck "CNAME: TLSA at the expanded name" 0 "TLSA _$tlsport._tcp.sip.a.example: SECURE, FOUND" sips:alias.example
sdcheck "CNAME: TLSA at the original name" 0 "TLSA _$tlsport._tcp.sip2.alias.example: SECURE, FOUND" sips:alias.example
sdcheck "CNAME: DANE over the alias authenticates" 0 "SNI sip.a.example: MATCH" --connect sips:alias.example

# No NAPTR, no SRV: the domain's own address on 5061 (RFC 3263 §4.2).
sdcheck "A-record fallback" 0 "target norecords.example:5061" --ca-file "$TB_PKIX_CA" sips:norecords.example

# The resolver is down: indeterminate, refused fast, never insecure.
start=$(date +%s)
sdcheck "resolver down: indeterminate, refused" 1 "INDETERMINATE" --resolver "127.0.0.1@$((base + 3))" \
	--ca-file "$TB_PKIX_CA" sips:a.example
# (a bound on a hang: a few 3 s DNS timeouts, times vg_slow)
if [ $(($(date +%s) - start)) -le $((10 * vg_slow)) ]; then ok "resolver down answers within $((10 * vg_slow)) s"
else not_ok "resolver down took longer than $((10 * vg_slow)) s"; fi

# JSON output parses and carries the decision.
sdcheck "--json" 0 '"action": "DANE"' --json sips:a.example
"$sd" check --trust-anchor "$TB_ANCHOR" --resolver "$TB_RESOLVER" --json sips:a.example |
	python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["usable"] and d["targets"][0]["tlsa_status"]=="SECURE"' &&
	ok "--json is valid JSON" || not_ok "--json"
# JSON is for programs: the records of each step whole, as the targets carry them
"$sd" check --trust-anchor "$TB_ANCHOR" --resolver "$TB_RESOLVER" --json sips:a.example >"$tmp/check.json"
if python3 - "$tmp/check.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
tlsa = [s["records"] for s in d["steps"] if s["query"].startswith("TLSA") and s["rcode"] == "FOUND"]
naptr = [s["records"] for s in d["steps"] if s["query"].startswith("NAPTR")]
assert tlsa and tlsa[0] == "; ".join(d["targets"][0]["tlsa"]), (tlsa, d["targets"][0]["tlsa"])
assert len(tlsa[0].split()[3]) == 64, tlsa[0]
assert naptr and '10 10 "S" "SIPS+D2T" "" _sips._tcp.a.example' in naptr[0], naptr
PY
then ok "--json: steps[].records whole (TLSA data in full hex, NAPTR strings quoted)"
else not_ok "--json: steps[].records whole"; fi

# Bad input: exit 2 with a message.
sdcheck "not a SIP URI" 2 "not a sip: or sips: URI" http://a.example
sdcheck "missing trust anchor file" 2 "trust anchor file not found" --trust-anchor /nonexistent sips:a.example
sdcheck "bad resolver" 2 "DNS: " --resolver "not-an-address" sips:a.example

finish
