#!/bin/sh
# clientid-tls.sh - dane_clientid handshakes against the Knot testbed: start it
# on a private port, make the DNSSEC chains clients ship (`sipdance chain build
# --name` and, independently, tests/mkchain.py with dnspython: valid, for
# another name, tampered, expired, a denial, malformed, through a CNAME), run tests/clientid-tls
# (which prints ok/FAIL lines and the summary), stop it on exit.
set -u
here=$(cd "${srcdir:-.}" && pwd)
prog=$("${srcdir:-.}/tests/valgrind.sh" "${top_builddir:-.}/tests/clientid-tls")
sd=$("${srcdir:-.}/tests/valgrind.sh" "${top_builddir:-.}/sipdance")
dir=$(mktemp -d "${TMPDIR:-/tmp}/sipdance-clientid.XXXXXX")
port=$("${srcdir:-.}/tests/ports.sh" $$)
trap '"$here/tests/testbed/testbed.sh" stop "$dir"; rm -rf "$dir"' EXIT
trap 'exit 130' INT TERM
if ! out=$("$here/tests/testbed/testbed.sh" start "$dir" "$port" 2>&1); then
	echo "FAIL - testbed starts: $out"
	echo "0 passed, 1 failed"
	exit 1
fi
echo "ok - $out"
# shellcheck source=/dev/null
. "$dir/env.sh"
CHAIN_DIR=$dir/chains
mkdir -p "$CHAIN_DIR"
mk() { /usr/bin/python3 "$here/tests/mkchain.py" --resolver "$TB_RESOLVER" "$@"; }
user() { "$sd" user-name "$1"; }
alice=$(user alice@a.example)
if ! "$sd" chain build --trust-anchor "$TB_ANCHOR" --resolver "$TB_RESOLVER" --name "$alice" \
	--out "$CHAIN_DIR/alice.ext" >/dev/null ||
	! mk --name "$alice" "$CHAIN_DIR/alice-py.ext" ||
	! mk --name "$(user bob@b.example)" "$CHAIN_DIR/bob.ext" ||
	! mk --name "$alice" --tamper "$CHAIN_DIR/tampered.ext" ||
	! mk --name "$(user alice@expired.example)" "$CHAIN_DIR/expired.ext" ||
	! mk --name "$(user bob@a.example)" "$CHAIN_DIR/denial.ext" ||
	! mk --name sip.alias.example "$CHAIN_DIR/cname.ext" ||
	! "$sd" chain build --trust-anchor "$TB_ANCHOR" --resolver "$TB_RESOLVER" --name sip.a.example \
		--out "$CHAIN_DIR/sip.a.ext" >/dev/null; then
	echo "FAIL - the client chains are made"
	echo "1 passed, 1 failed"
	exit 1
fi
# sip.alias.example's CNAME (dnspython), then the TLSA chain of its target sip.a.example
{ cat "$CHAIN_DIR/cname.ext"; tail -c +3 "$CHAIN_DIR/sip.a.ext"; } >"$CHAIN_DIR/alias.ext"
printf '\000' >"$CHAIN_DIR/truncated.ext"
: >"$CHAIN_DIR/empty.ext"
head -c 300 /dev/urandom >"$CHAIN_DIR/garbage.ext"
head -c 65000 /dev/urandom >"$CHAIN_DIR/oversized.ext"
cat "$TB_CERT_ALICE" "$TB_CERT_B" >"$CHAIN_DIR/alice+b.pem"
echo "ok - the client chains are made"
CHAIN_DIR=$CHAIN_DIR srcdir=$here "$prog"
