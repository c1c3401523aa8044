#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# ports.sh OWNER - the first of 100 ports a test (OWNER: the test script's PID)
# may use, and only it: below the kernel's ephemeral range (no outgoing socket
# takes one by chance), claimed by no other running test (a file per block in
# $TMPDIR/sipdance-ports holds its owner; a claim whose owner has exited is free
# again), and with no socket in the block now. Tests run in parallel (make -j),
# so a port picked from the PID alone was sometimes another test's.
set -eu
owner=$1
dir=${TMPDIR:-/tmp}/sipdance-ports
mkdir -p "$dir"
exec 9>"$dir/lock"
flock 9
blocks=227 # 10000-32699
i=0
while [ $i -lt $blocks ]; do
	b=$((10000 + ((owner + i) % blocks) * 100))
	i=$((i + 1))
	o=$(cat "$dir/$b" 2>/dev/null || true)
	[ -n "$o" ] && [ "$o" != "$owner" ] && kill -0 "$o" 2>/dev/null && continue
	[ -z "$(ss -Htuan "( sport >= :$b and sport <= :$((b + 99)) )" 2>/dev/null)" ] || continue
	echo "$owner" >"$dir/$b"
	echo "$b"
	exit 0
done
echo "ports.sh: no free block of 100 ports in 10000-32699" >&2
exit 1
