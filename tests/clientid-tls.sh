#!/bin/sh
# clientid-tls.sh - dane_clientid handshakes against the Knot testbed: start it
# on a private port, run tests/clientid-tls (which prints ok/FAIL lines and the
# summary), stop it on exit.
set -u
here=$(cd "${srcdir:-.}" && pwd)
prog=$("${srcdir:-.}/tests/valgrind.sh" "${top_builddir:-.}/tests/clientid-tls")
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
srcdir=$here "$prog"
