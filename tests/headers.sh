#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# headers.sh - the installed API: sipdance.h includes every public header, and
# each public header compiles on its own (C and C++), so an embedder can include
# any one of them first.
. "${srcdir:-.}/tests/check-lib.sh"
src=${srcdir:-.}/src
bld=${top_builddir:-.}/src
cc=${CC:-cc}
flags="-I$bld -I$src $(pkg-config --cflags openssl) -Wall -Wextra -Werror -fsyntax-only"
for h in "$src"/sipdance/*.h "$bld"/sipdance/version.h; do
	n=sipdance/$(basename "$h")
	grep -q "^#include <$n>" "$src/sipdance.h" && ok "sipdance.h includes $n" ||
		not_ok "sipdance.h includes $n"
	printf '#include <%s>\n' "$n" >"$tmp/one.c"
	# shellcheck disable=SC2086
	$cc $flags -std=c99 "$tmp/one.c" 2>"$tmp/err" && ok "$n compiles alone" ||
		{ not_ok "$n compiles alone"; sed 's/^/    /' "$tmp/err"; }
	if command -v c++ >/dev/null; then
		printf '#include <%s>\n' "$n" >"$tmp/one.cc"
		# shellcheck disable=SC2086
		c++ $flags -x c++ "$tmp/one.cc" 2>"$tmp/err" && ok "$n compiles as C++" ||
			{ not_ok "$n compiles as C++"; sed 's/^/    /' "$tmp/err"; }
	fi
done
finish
