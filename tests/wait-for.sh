#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# wait-for.sh [-n N] FILE REGEX [SECONDS] - until N lines (1 by default) of FILE
# (a program's log) match REGEX (grep -E): exit 0. A new line after one seen
# before: N=$(($(grep -Ec REGEX FILE) + 1)).
# wait-for.sh -u|-t [ADDR:]PORT [SECONDS] - until a UDP (-u) or TCP (-t) socket
# listens on PORT (of ADDR, or of any address): a server has bound it: exit 0.
# Exit 1 after SECONDS, 5 by default, times VG_SLOW under valgrind
# (tests/timeout.sh), where programs take seconds to start.
n=1 port=
case $1 in
-n) n=$2 && shift 2 ;;
-u) port="-Hlun" ;;
-t) port="-Hltn" ;;
esac
s=$((${3:-5} * ${VG_SLOW:-1}))
end=$(($(date +%s) + s))
if [ -n "$port" ]; then
	case $2 in
	*:*) filter="src $2" ;;
	*) filter="sport = :$2" ;;
	esac
	until ss $port "$filter" 2>/dev/null | grep -q .; do
		[ "$(date +%s)" -lt "$end" ] || exit 1
		sleep 0.05
	done
	exit 0
fi
until [ "$(grep -Ec -- "$2" "$1" 2>/dev/null)" -ge "$n" ] 2>/dev/null; do
	[ "$(date +%s)" -lt "$end" ] || exit 1
	sleep 0.1
done
