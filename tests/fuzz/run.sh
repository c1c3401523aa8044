#!/bin/sh
# run.sh BUILDDIR SECONDS - first replay every regression input of
# tests/fuzz/regressions/<name>/ (each once: crashes found earlier must stay
# fixed), then run every libFuzzer target built in BUILDDIR for SECONDS each,
# seeded from tests/fuzz/corpus/<name>/ (left unchanged: new inputs go to a
# scratch directory). Any crash fails the run. fuzz-sip sends datagrams on
# loopback: it runs in an empty network namespace when unshare allows it.
set -u
build=$1 secs=$2
here=$(cd "$(dirname "$0")" && pwd)
# fuzz_flags NAME, isolated CMD...
. "$here/fuzz-lib.sh"
pass=0 fail=0

for t in "$build"/tests/fuzz/fuzz-*; do
	[ -x "$t" ] || continue
	name=${t##*/fuzz-}
	reg=$here/regressions/$name
	[ -d "$reg" ] || continue
	set -- "$reg"/*
	[ -e "$1" ] || continue
	scratch=$(mktemp -d "${TMPDIR:-/tmp}/sipdance-fuzz-$name.XXXXXX")
	# shellcheck disable=SC2046
	if isolated "$t" $(fuzz_flags "$name") -artifact_prefix="$scratch/" "$@" >"$scratch/log" 2>&1; then
		pass=$((pass + 1))
		echo "PASS: fuzz-$name regressions ($# inputs replayed)"
	else
		fail=$((fail + 1))
		echo "FAIL: fuzz-$name regressions"
		tail -30 "$scratch/log"
	fi
	rm -rf "$scratch"
done
for t in "$build"/tests/fuzz/fuzz-*; do
	[ -x "$t" ] || continue
	name=${t##*/fuzz-}
	scratch=$(mktemp -d "${TMPDIR:-/tmp}/sipdance-fuzz-$name.XXXXXX")
	# shellcheck disable=SC2046
	if isolated "$t" -max_total_time="$secs" $(fuzz_flags "$name") -artifact_prefix="$scratch/" \
		"$scratch" "$here/corpus/$name" >"$scratch/log" 2>&1; then
		pass=$((pass + 1))
		echo "PASS: fuzz-$name $(grep -Eo 'Done [0-9]+ runs' "$scratch/log")"
	else
		fail=$((fail + 1))
		echo "FAIL: fuzz-$name"
		tail -30 "$scratch/log"
		ls "$scratch"/crash-* "$scratch"/leak-* 2>/dev/null
	fi
	rm -rf "$scratch"
done
echo "# PASS: $pass"
echo "# FAIL: $fail"
echo "# ERROR: 0"
[ "$fail" -eq 0 ]
