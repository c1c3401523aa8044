#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# wait-for.sh FILE REGEX [SECONDS] - until a line of FILE (a program's log)
# matches REGEX (grep -E): exit 0; exit 1 after SECONDS, 5 by default, six
# times as long under VALGRIND=1, where our programs take seconds to start.
s=${3:-5}
[ -n "${VALGRIND-}" ] && s=$((s * 6))
end=$(($(date +%s) + s))
until grep -Eq -- "$2" "$1" 2>/dev/null; do
	[ "$(date +%s)" -lt "$end" ] || exit 1
	sleep 0.1
done
