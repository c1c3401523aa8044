#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# naptr-variant.sh - the DNS layer also compiles for a getdns that validates
# NAPTR itself (1.7.0 and later: configure leaves SD_NAPTR_WORKAROUND out and
# src/dns_naptr.c unbuilt), so that path cannot rot while the baseline getdns
# still needs the workaround.
. "${srcdir:-.}/tests/check-lib.sh"
src=${srcdir:-.}/src
bld=${top_builddir:-.}
grep -v 'SD_NAPTR_WORKAROUND' "$bld/config.h" >"$tmp/config.h"
for f in dns.c dns_cache.c dns_diag.c dns_loop.c; do
	# shellcheck disable=SC2046
	${CC:-cc} -fsyntax-only -I"$tmp" -I"$bld/src" -I"$src" $(pkg-config --cflags getdns openssl) \
		-Wall -Wextra -Wno-unused-parameter -Wmissing-prototypes -Werror "$src/$f" 2>"$tmp/err" &&
		ok "$f compiles without the NAPTR workaround" ||
		{ not_ok "$f compiles without the NAPTR workaround"; sed 's/^/    /' "$tmp/err"; }
done
finish
