#!/bin/sh
# chain-bench.sh BUILDDIR [N] - start the Knot testbed, run bench/chain-bench
# for sip.a.example, stop it. Results go to docs/benchmarks.md by hand.
set -u
build=$1 n=${2:-500}
top=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap '"$top/tests/testbed/testbed.sh" stop "$tmp/tb" >/dev/null 2>&1; rm -rf "$tmp"' EXIT INT TERM
"$top/tests/testbed/testbed.sh" start "$tmp/tb" $((40000 + $$ % 1000)) >/dev/null || exit 1
. "$tmp/tb/env.sh"
"$build/bench/chain-bench" "$TB_RESOLVER" "$TB_ANCHOR" sip.a.example "$TB_A_TLS_PORT" "$TB_CERT_A" "$n"
