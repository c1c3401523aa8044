#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# tncert.sh OUT SECTIONS - OUT: an end entity for ee.key issued by the fixture
# intermediate, valid from now for two days, then the intermediate (what an
# x5u URL serves); its TNAuthList (RFC 8226, id-pe 26) encoded by the openssl
# command from SECTIONS, openssl.cnf sections with the list in [tn], e.g.
#   '[tn]\ne = EXP:2,IA5:15551230000\n'        one number
#   '[tn]\ne = EXP:1,SEQUENCE:r\n[r]\ns = IA5:15551230000\nc = INT:100\n'   a range
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out=$1
tmp=$(mktemp -d "${TMPDIR:-/tmp}/sipdance-tncert.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
printf '[v3]\nbasicConstraints = critical, CA:false\n1.3.6.1.5.5.7.1.26 = ASN1:SEQUENCE:tn\n%b' "$2" >"$tmp/ext.cnf"
openssl req -new -key "$here/ee.key" -subj "/CN=TNAuthList fixture" -out "$tmp/req.csr" 2>/dev/null
openssl x509 -req -in "$tmp/req.csr" -CA "$here/int.pem" -CAkey "$here/int.key" -set_serial 77 -days 2 \
	-extfile "$tmp/ext.cnf" -extensions v3 -out "$out" 2>/dev/null
cat "$here/int.pem" >>"$out"
