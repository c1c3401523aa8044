#!/bin/sh
# stir-bench.sh BUILDDIR [SECONDS] - PASSporT signs and verifications per
# second with a warm certificate cache, libsipdance next to libsecsipid in
# the same process (bench/stir-bench), then `openssl speed ecdsap256` as the
# physical limit of one core. Both count operations per CPU second (openssl
# speed divides by its user CPU time unless -elapsed), so load from other
# processes does not skew the ratio. Results go to docs/benchmarks.md by hand.
set -u
build=$1 secs=${2:-3}
top=$(cd "$(dirname "$0")/.." && pwd)
echo "# $(date -u +%Y-%m-%dT%H:%MZ) $(uname -m), $(nproc) CPUs, $(openssl version), one thread, ${secs} s each"
"$build/bench/stir-bench" "$top/tests/data/stir" "$secs" || exit 1
openssl speed -seconds "$secs" ecdsap256 2>/dev/null |
	awk '/nistp256/ { printf "%-44s %10.0f ops/s\n%-44s %10.0f ops/s\n", "openssl speed ecdsap256 sign", $(NF-1), "openssl speed ecdsap256 verify", $NF }'
