#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# demo.sh - the federated call demo (examples/demo/demo.py, ./bootstrap.sh demo)
# run non-interactively against this build: Knot, two sipdance-proxies, our UA
# and baresip on loopback, every scenario checked. The demo's exit
# code is the result (0: every check passed). Skipped (77) when
# baresip is not installed (Debian package baresip-core).
set -u
command -v baresip >/dev/null 2>&1 || { echo "# SKIP: baresip not installed (apt-get install baresip-core)"; exit 77; }
build=$(cd "${top_builddir:-.}" && pwd)
run=$build
if [ -n "${VALGRIND-}" ]; then
	# the demo's programs under memcheck: wrappers laid out as in the build
	run=$VG_DIR/build
	mkdir -p "$run/examples" "$run/tests"
	for p in sipdance-proxy sipdance examples/sipdance-ua tests/sip-tls-client; do
		ln -s "$("${srcdir:-.}/tests/valgrind.sh" "$build/$p")" "$run/$p"
	done
fi
python3 "${srcdir:-.}/examples/demo/demo.py" --build "$run" --patience "${VG_SLOW:-1}" --no-color \
	--report "$build/tests/demo-report.html"
rc=$?
if [ "$rc" -eq 0 ]; then
	echo "ok - the federated call demo: every scenario behaved as expected"
	echo "1 passed, 0 failed"
else
	echo "FAIL - the federated call demo exited $rc"
	echo "0 passed, 1 failed"
fi
[ "$rc" -eq 0 ]
