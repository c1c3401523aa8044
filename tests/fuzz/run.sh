#!/bin/sh
# run.sh BUILDDIR SECONDS - run every libFuzzer target built in BUILDDIR for
# SECONDS each, seeded from tests/fuzz/corpus/<name>/ (left unchanged: new
# inputs go to a scratch directory). Any crash fails the run.
set -u
build=$1 secs=$2
here=$(cd "$(dirname "$0")" && pwd)
pass=0 fail=0
for t in "$build"/tests/fuzz/fuzz-*; do
	[ -x "$t" ] || continue
	name=${t##*/fuzz-}
	scratch=$(mktemp -d)
	if "$t" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -artifact_prefix="$scratch/" \
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
