#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# valgrind.sh PROG - the command a test script runs PROG (a program of the build
# tree, or one in PATH that loads our code, such as kamailio) with. Normally PROG itself; with VALGRIND=1 (tests/timeout.sh exports
# VG_DIR) a wrapper that runs PROG under valgrind's memcheck, definite leaks
# counted as errors (stacks 40 deep, so that suppressions see their anchors under deep ASN.1
# frees), its report in VG_DIR/vg-PID.log so that the program's own
# output stays what the test reads. timeout.sh fails the test on any report.
# tests/valgrind.supp holds the libraries' own leaks (sofia-sip), nothing of ours;
# tests/valgrind-kamailio.supp what memcheck misreads in Kamailio alone.
set -eu
[ -n "${VALGRIND-}" ] && [ -n "${VG_DIR-}" ] || { echo "$1"; exit 0; }
case $1 in
*/*) prog=$(cd "$(dirname "$1")" && pwd)/$(basename "$1") ;;
*) prog=$(command -v "$1") ;;
esac
build=$(cd "${top_builddir:-.}" && pwd)
supp=$(cd "${srcdir:-.}/tests" && pwd)/valgrind.supp
# Kamailio's OpenSSL allocates from its shared memory: valgrind-kamailio.supp too
kam=
[ "$(basename "$1")" != kamailio ] || kam="--suppressions=\"${supp%.supp}-kamailio.supp\""
mkdir -p "$VG_DIR/bin"
w=$VG_DIR/bin/$(basename "$1")
cat >"$w" <<WRAP
#!/bin/sh
exec "$build/libtool" --mode=execute valgrind --leak-check=full --errors-for-leak-kinds=definite \\
	--num-callers=40 --suppressions="$supp" $kam --log-file="$VG_DIR/vg-%p.log" "$prog" "\$@"
WRAP
chmod +x "$w"
echo "$w"
