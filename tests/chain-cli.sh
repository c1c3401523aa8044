#!/bin/sh
# chain-cli.sh - `sipdance chain verify` offline, on fixed chains that never
# expire: the signed seeds of the chain fuzz target (. -> example. ->
# a.example., ECDSA P-256, RRSIGs valid around --at 1700000000).
set -u
. "${srcdir:-.}/tests/check-lib.sh"
sd=$("${srcdir:-.}/tests/valgrind.sh" "${top_builddir:-.}/sipdance")
seeds="${srcdir:-.}/tests/fuzz/corpus/chain"
at=1700000000
own=_5061._tcp.sip.a.example


echo '. 3600 IN DNSKEY 257 3 13 S5CKSS8SpIRJzJ1rauKz/6LovDqMOzWZxD8ry4Idex1UBm1RzXx+iL+1rB6L0QsI3nu+QXEPlgs/c04+rZOqog==' \
	>"$tmp/root.key"
v() {
	"$sd" chain verify --trust-anchor "$tmp/root.key" --bare "$@"
}

check "TLSA RRset" 0 "^3 1 1 b{64}\$" v --at $at --name $own "$seeds/signed-tlsa"
check "through a CNAME" 0 "^3 1 1 a{64}\$" v --at $at --name _5061._tcp.alias.a.example "$seeds/signed-cname"
check "NXDOMAIN proof" 0 "no TLSA: validated denial at $own\." v --at $at --name $own "$seeds/signed-nxdomain"
check "NODATA proof" 0 "no TLSA: validated denial at $own\." v --at $at --name $own "$seeds/signed-nodata"
check "today: expired" 1 "BOGUS: .*RRSIG expired 2023-11-15" v --name $own "$seeds/signed-tlsa"
check "before inception" 1 "BOGUS: .*RRSIG not valid before 2023-11-14" v --at $((at - 7200)) --name $own \
	"$seeds/signed-tlsa"
check "another port" 1 "BOGUS: _5062._tcp.sip.a.example.: no TLSA RRset and no valid denial" \
	v --at $at --name _5062._tcp.sip.a.example "$seeds/signed-tlsa"
check "NXDOMAIN proof for a name it does not cover" 1 "no valid denial" \
	v --at $at --name _5061._tcp.zzzz.a.example "$seeds/signed-nxdomain"
check "unsigned seed: refused" 1 "BOGUS: .*no RRSIG covers it" \
	v --at $at --name $own "$seeds/tlsa-rrsig-dnskey-ds"
check "with lifetime prefix but --bare" 1 "BOGUS: malformed chain" v --at $at --name $own "$seeds/ext-lifetime"

finish
