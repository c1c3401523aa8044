#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# stress.sh - the load of STRESS=1 (tests/timeout.sh runs it before each test):
# one busy loop per core, at the tests' own priority, for the make that runs
# the tests. The first test of that make starts the loops (a directory named
# after the make's pid is the lock); they end by themselves within a tenth of
# a second once that make has exited, so both cores stay busy for the whole
# suite and nothing is left behind. A test that passes only on idle cores
# assumes a timing; this finds it before CI does.

# make_pid - the nearest ancestor that is make (empty when there is none)
make_pid() {
	p=$$
	while [ "${p:-1}" -gt 1 ]; do
		case $(cat "/proc/$p/comm" 2>/dev/null) in
		make | gmake) echo "$p"; return ;;
		esac
		p=$(awk '{ print $4 }' "/proc/$p/stat" 2>/dev/null)
	done
}
pid=$(make_pid)
[ -n "$pid" ] || pid=$PPID
lock=${TMPDIR:-/tmp}/sipdance-stress.$pid
mkdir "$lock" 2>/dev/null || exit 0
n=$(nproc 2>/dev/null || echo 2)
i=0
while [ $i -lt "$n" ]; do
	(
		while kill -0 "$pid" 2>/dev/null; do
			j=0
			while [ $j -lt 20000 ]; do j=$((j + 1)); done
		done
		rmdir "$lock" 2>/dev/null
	) </dev/null >/dev/null 2>&1 &
	i=$((i + 1))
done
echo "# STRESS=1: $n busy loop(s) beside the tests while make (pid $pid) runs"
