#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# valgrind-self.sh - the valgrind harness can fail: under VALGRIND=1,
# tests/timeout.sh runs a script test whose program (tests/valgrind-self)
# leaks or reads freed memory, and must fail it with memcheck's report; the
# same program without a fault passes. Skipped (77) without VALGRIND=1.
[ -n "${VALGRIND-}" ] || { echo "# SKIP: only meaningful under VALGRIND=1"; exit 77; }
. "${srcdir:-.}/tests/check-lib.sh"
build=$(cd "${top_builddir:-.}" && pwd)
src=$(cd "${srcdir:-.}" && pwd)
for fault in leak use-after-free ""; do
	# the inner test, run as automake runs ours (its own VG_DIR from timeout.sh)
	cat >"$tmp/inner.sh" <<INNER
#!/bin/sh
"\$("$src/tests/valgrind.sh" "$build/tests/valgrind-self")" $fault
INNER
	chmod +x "$tmp/inner.sh"
	if [ -n "$fault" ]; then
		check "$fault: the test fails with memcheck's report" 1 \
			"^FAIL - valgrind \(memcheck\): errors or definite leaks" env -u VG_DIR "$src/tests/timeout.sh" "$tmp/inner.sh"
		rm -rf "$(sed -n 's/.*(reports kept in \(.*\))$/\1/p' "$tmp/out")"
	else
		check "no fault: the test passes, one report read" 0 \
			"^# valgrind \(memcheck\): no error, no definite leak in 1 report" env -u VG_DIR "$src/tests/timeout.sh" "$tmp/inner.sh"
	fi
done
finish
