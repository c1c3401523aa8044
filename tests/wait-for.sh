#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# wait-for.sh FILE REGEX [SECONDS] - until a line of FILE (a program's log)
# matches REGEX (grep -E): exit 0; exit 1 after SECONDS, 5 by default, times
# VG_SLOW under valgrind (tests/timeout.sh), where programs take seconds to start.
s=$((${3:-5} * ${VG_SLOW:-1}))
end=$(($(date +%s) + s))
until grep -Eq -- "$2" "$1" 2>/dev/null; do
	[ "$(date +%s)" -lt "$end" ] || exit 1
	sleep 0.1
done
