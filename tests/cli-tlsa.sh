#!/bin/sh
# cli-tlsa.sh - the `sipdance tlsa` command-line contract: outputs and exit codes.
set -u
. "${srcdir:-.}/tests/check-lib.sh"
sd=$("${srcdir:-.}/tests/valgrind.sh" "${top_builddir:-.}/sipdance")
certs="${srcdir:-.}/tests/data/certs"
ee311=5dbf60a2894fcc647c8ae70825755b15ee69ebf85f41b820b6c05046b411bb10


check "create default 3 1 1" 0 "^3 1 1 $ee311\$" "$sd" tlsa create "$certs/ee.pem"
check "create --depth 1 2 1 1" 0 "^2 1 1 5f581136" "$sd" tlsa create -u 2 --depth 1 "$certs/chain.pem"
check "create 3 0 2" 0 "^3 0 2 [0-9a-f]{128}\$" "$sd" tlsa create -s 0 -m 2 "$certs/ee.pem"
check "create bad depth" 2 "no depth 5" "$sd" tlsa create --depth 5 "$certs/chain.pem"
check "create bad usage" 2 "usage must be" "$sd" tlsa create -u 7 "$certs/ee.pem"
check "create unreadable" 2 "No such file" "$sd" tlsa create /nonexistent.pem
printf 'not a certificate\n' >"$tmp/bad.pem"
check "create non-PEM" 2 "no PEM certificate" "$sd" tlsa create "$tmp/bad.pem"
sed '5s/.*/AAAA/' "$certs/ee.pem" >"$tmp/broken.pem"
check "create corrupt PEM" 2 "malformed PEM" "$sd" tlsa create "$tmp/broken.pem"

check "verify match" 0 "^MATCH usage=3 selector=1 mtype=1 depth=0\$" \
	"$sd" tlsa verify --tlsa "3 1 1 $ee311" --chain "$certs/chain.pem"
check "verify DANE-TA with name" 0 "^MATCH usage=2 selector=1 mtype=1 depth=1\$" \
	"$sd" tlsa verify --tlsa "$("$sd" tlsa create -u 2 --depth 1 "$certs/chain.pem")" \
	--chain "$certs/chain.pem" --name example.com
check "verify DANE-TA wrong name" 1 "^NOMATCH: " \
	"$sd" tlsa verify --tlsa "$("$sd" tlsa create -u 2 --depth 1 "$certs/chain.pem")" \
	--chain "$certs/chain.pem" --name other.com
check "verify wrong key" 1 "^NOMATCH: " \
	"$sd" tlsa verify --tlsa "3 1 1 $(printf '%064d' 0)" --chain "$certs/chain.pem"
check "verify unusable" 1 "^UNUSABLE: " \
	"$sd" tlsa verify --tlsa "3 1 1 00" --chain "$certs/chain.pem"
check "verify PKIX with CA" 0 "^MATCH usage=1" \
	"$sd" tlsa verify --tlsa "1 1 1 $ee311" --chain "$certs/chain.pem" --ca-file "$certs/root.pem" \
	--name example.com
check "verify PKIX expired at time" 1 "^NOMATCH: certificate has expired" \
	"$sd" tlsa verify --tlsa "1 1 1 $("$sd" tlsa create "$certs/expired.pem" | cut -d' ' -f4)" \
	--chain "$certs/chain-expired.pem" --ca-file "$certs/root.pem" --name example.com
check "verify DANE-TA expired now" 1 "^NOMATCH: certificate has expired" \
	"$sd" tlsa verify --tlsa "$("$sd" tlsa create -u 2 --depth 1 "$certs/chain.pem")" \
	--chain "$certs/chain-expired.pem" --name example.com
check "verify --at in validity" 0 "^MATCH usage=2 selector=1 mtype=1 depth=1\$" \
	"$sd" tlsa verify --tlsa "$("$sd" tlsa create -u 2 --depth 1 "$certs/chain.pem")" \
	--chain "$certs/chain-expired.pem" --name example.com --at 1593561600
printf '# records\n\n3 1 1 %s  # comment\n3 1 2 ( %s\n' "$(printf '%064d' 0)" "" >"$tmp/multi"
printf '# records\n3 1 1 %s\n  3 1 1 %s # the right one\n' "$(printf '%064d' 0)" "$ee311" >"$tmp/recs"
check "verify --tlsa-file" 0 "^MATCH usage=3" \
	"$sd" tlsa verify --tlsa-file "$tmp/recs" --chain "$certs/chain.pem"
check "verify malformed record" 2 "malformed TLSA record: odd number of hex digits" \
	"$sd" tlsa verify --tlsa "3 1 1 abc" --chain "$certs/chain.pem"
check "verify malformed file line" 2 "multi:4: malformed TLSA record: unbalanced" \
	"$sd" tlsa verify --tlsa-file "$tmp/multi" --chain "$certs/chain.pem"
check "verify empty chain" 2 "no PEM certificate" \
	"$sd" tlsa verify --tlsa "3 1 1 $ee311" --chain "$tmp/bad.pem"
check "verify bad CA file" 2 "no usable PEM certificate in CA file" \
	"$sd" tlsa verify --tlsa "3 1 1 $ee311" --chain "$certs/chain.pem" --ca-file "$tmp/bad.pem"
check "verify both record sources" 2 "^sipdance tlsa verify: give --tlsa or --tlsa-file" \
	"$sd" tlsa verify --tlsa "3 1 1 $ee311" --tlsa-file "$tmp/recs" --chain "$certs/chain.pem"
check "verify no chain" 2 "^sipdance tlsa verify: --chain is required" "$sd" tlsa verify --tlsa "3 1 1 $ee311"
check "verify bad --at" 2 "--at takes" \
	"$sd" tlsa verify --tlsa "3 1 1 $ee311" --chain "$certs/chain.pem" --at yesterday
check "help" 0 "usage: sipdance <command>" "$sd" --help
check "tlsa help" 0 "sipdance tlsa create" "$sd" tlsa --help
check "unknown command" 2 "^sipdance: unknown command 'frobnicate'" "$sd" frobnicate
check "unknown sub-command named" 2 "^sipdance tlsa: unknown sub-command 'frobnicate'" "$sd" tlsa frobnicate
check "missing sub-command" 2 "^sipdance tlsa: missing sub-command" "$sd" tlsa
check "getopt error names the command" 2 "^sipdance tlsa create: (unrecognized|unknown) option" \
	"$sd" tlsa create --frobnicate "$certs/chain.pem"
check "missing required option named" 2 "^sipdance check: --trust-anchor is required" \
	"$sd" check --resolver 127.0.0.1 sip:a.example
check "missing argument named" 2 "^sipdance tlsa create: expected one CERTS.pem" "$sd" tlsa create

finish
