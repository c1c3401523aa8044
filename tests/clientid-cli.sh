#!/bin/sh
# clientid-cli.sh - the `sipdance user-name` / `user-tlsa` contract: outputs and exit codes.
set -u
. "${srcdir:-.}/tests/check-lib.sh"
sd=$("${srcdir:-.}/tests/valgrind.sh" "${top_builddir:-.}/sipdance")
certs="${srcdir:-.}/tests/clientid-certs"
alice=2bd806c97f0e00af1a1fc3328fa763a9269723c8db8fac4f93af71db


check "user-name hugh (RFC 7929 example, _user)" 0 \
	"^c93f1e400f26708f98cb19d936620da35eec8f72e57f9eec01c1afd6\._user\.example\.com\$" \
	"$sd" user-name hugh@example.com
check "user-name alice" 0 "^$alice\._user\.a\.example\$" "$sd" user-name alice@a.example
check "user-name folds ASCII case" 0 "^$alice\._user\.a\.example\$" "$sd" user-name Alice@A.Example
check "user-name takes a sip: URI" 0 "^$alice\._user\.a\.example\$" "$sd" user-name sip:alice@a.example
check "user-name A-label domain" 0 "\._user\.xn--bcher-kva\.example\$" \
	"$sd" user-name user@xn--bcher-kva.example
check "user-name U-label domain refused" 2 "use A-labels" "$sd" user-name "user@bücher.example"
check "user-name without @" 2 "address has no '@'" "$sd" user-name alice.a.example
check "user-name usage" 2 "usage: sipdance user-name" "$sd" user-name
check "user-name help" 0 "usage: sipdance user-name" "$sd" user-name --help

spki=$("$sd" tlsa create "$certs/alice-self.pem" | cut -d' ' -f4)
check "user-tlsa 3 1 1 line" 0 "^$alice\._user\.a\.example\. IN TLSA 3 1 1 $spki\$" \
	"$sd" user-tlsa "$certs/alice-self.pem" alice@a.example
check "user-tlsa -u 3 explicit" 0 "^$alice\._user\.a\.example\. IN TLSA 3 1 1 $spki\$" \
	"$sd" user-tlsa -u 3 "$certs/alice-self.pem" Alice@a.example
ca=$("$sd" tlsa create -u 2 "$certs/userca.pem" | cut -d' ' -f4)
check "user-tlsa -u 2 user CA from a domain" 0 "^\*\._user\.a\.example\. IN TLSA 2 1 1 $ca\$" \
	"$sd" user-tlsa -u 2 "$certs/userca.pem" a.example
check "user-tlsa -u 2 user CA from an address" 0 "^\*\._user\.a\.example\. IN TLSA 2 1 1 $ca\$" \
	"$sd" user-tlsa -u 2 "$certs/userca.pem" alice@a.example
check "user-tlsa -u 2 needs a CA" 2 "not a CA certificate" \
	"$sd" user-tlsa -u 2 "$certs/alice.pem" a.example
check "user-tlsa -u 1 refused" 2 "-u takes 3" "$sd" user-tlsa -u 1 "$certs/alice.pem" alice@a.example
check "user-tlsa bad address" 2 "empty local part" "$sd" user-tlsa "$certs/alice.pem" @a.example
check "user-tlsa unreadable certificate" 2 "No such file" "$sd" user-tlsa /nonexistent.pem alice@a.example
check "user-tlsa usage" 2 "usage: sipdance user-tlsa" "$sd" user-tlsa "$certs/alice.pem"
check "help lists user-name" 0 "user-name" "$sd" --help

finish
