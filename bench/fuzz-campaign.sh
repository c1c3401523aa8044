#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# fuzz-campaign.sh [MINUTES] [BUILDDIR] - a fuzzing campaign over every libFuzzer
# target built in BUILDDIR (default build-fuzz: ./configure --enable-fuzzing
# CC=clang && make fuzz), MINUTES of CPU time per target (default 30). Not part
# of the test suite. For each target:
#   - fuzz from tests/fuzz/corpus/<name>/; a crash, leak, timeout or OOM is
#     copied to tests/fuzz/regressions/<name>/ (which tests/fuzz/run.sh
#     replays first) and fuzzing resumes, at most 10 times (an artifact that
#     recurs at once is a bug to fix before the next campaign);
#   - at the end only the new inputs that reach new edges are merged
#     (-merge=1 -use_counters=0: edges, not hit counts, keeps it small) into
#     tests/fuzz/corpus/<name>/ next to the named seeds; inputs capped at
#     MAXLEN bytes (default 4096).
# The budget is CPU time (user+sys, measured with /usr/bin/time), so a campaign
# run with nice beside other work still gives each target its full budget.
# JOBS=N runs N targets at once (default 1). TARGETS="sdp sip" picks targets.
# The summary (runs, executions, crashes) goes to stdout and BUILDDIR/fuzz-campaign.txt.
set -u
minutes=${1:-30}
build=${2:-build-fuzz}
here=$(cd "$(dirname "$0")/.." && pwd)
maxlen=${MAXLEN:-4096}
jobs=${JOBS:-1}
summary=$build/fuzz-campaign.txt
# fuzz_flags NAME, isolated CMD...
. "$here/tests/fuzz/fuzz-lib.sh"

# campaign NAME - fuzz one target for its budget, keep crashes, minimise the corpus
campaign() {
	name=$1 t=$build/tests/fuzz/fuzz-$1
	corpus=$here/tests/fuzz/corpus/$name reg=$here/tests/fuzz/regressions/$name
	work=$(mktemp -d "${TMPDIR:-/tmp}/sipdance-fuzz-campaign-$name.XXXXXX")
	mkdir -p "$corpus" "$work/new" "$work/art" "$work/min"
	left=$((minutes * 60)) crashes=0 execs=0 rounds=0
	while [ "$left" -gt 5 ] && [ "$crashes" -lt 10 ]; do
		rounds=$((rounds + 1))
		set -- "$work/new" "$corpus"
		# shellcheck disable=SC2046
		isolated /usr/bin/time -o "$work/cpu.$rounds" -f '%U %S' "$t" -max_total_time="$left" \
			$(fuzz_flags "$name") -max_len="$maxlen" -print_final_stats=1 \
			-artifact_prefix="$work/art/" "$@" >"$work/log.$rounds" 2>&1
		rc=$?
		n=$(grep -Eo 'stat::number_of_executed_units: *[0-9]+' "$work/log.$rounds" | tail -1 | grep -Eo '[0-9]+$')
		execs=$((execs + ${n:-0}))
		used=$(awk 'END { printf "%d", $1 + $2 }' "$work/cpu.$rounds")
		[ "${used:-0}" -gt 0 ] || { echo "fuzz-$name: no CPU time measured"; tail -5 "$work/log.$rounds"; break; }
		left=$((left - used))
		found=0
		for a in "$work"/art/*; do
			[ -f "$a" ] || continue
			mkdir -p "$reg"
			kind=${a##*/}; kind=${kind%%-*}
			dest=$reg/$kind-$(sha1sum <"$a" | cut -c1-16)
			cp "$a" "$dest"
			rm -f "$a"
			found=1 crashes=$((crashes + 1))
			echo "fuzz-$name: $kind saved as ${dest#"$here"/} (log $work/log.$rounds)"
		done
		[ "$rc" -eq 0 ] && continue
		[ "$found" -eq 1 ] || { echo "fuzz-$name: exit $rc without an artifact"; tail -5 "$work/log.$rounds"; break; }
	done
	# merge: only the new inputs that add coverage join the corpus (seeds keep their names)
	before=$(ls "$corpus" | wc -l)
	# shellcheck disable=SC2046
	isolated "$t" -merge=1 -use_counters=0 $(fuzz_flags "$name") -max_len="$maxlen" "$corpus" \
		"$work/new" >"$work/merge.log" 2>&1
	size=$(du -sk "$corpus" | cut -f1)
	line="fuzz-$name: $minutes CPU-min budget, $rounds run(s), $execs executions, $crashes crash/leak/timeout artifact(s), corpus $before -> $(ls "$corpus" | wc -l) inputs ${size} kB"
	echo "$line"
	echo "$line" >>"$cur"
	if [ "$crashes" -eq 0 ]; then rm -rf "$work"; else echo "# logs kept in $work"; fi
}

[ -d "$build/tests/fuzz" ] || { echo "no fuzz targets in $build (configure --enable-fuzzing CC=clang; make fuzz)"; exit 2; }
cur=$(mktemp "${TMPDIR:-/tmp}/sipdance-fuzz-campaign.XXXXXX")
echo "# campaign $(date -u +%FT%TZ), $minutes min per target" >"$cur"
names=${TARGETS:-$(for t in "$build"/tests/fuzz/fuzz-*; do [ -x "$t" ] && echo "${t##*/fuzz-}"; done)}
running=0
for n in $names; do
	campaign "$n" &
	running=$((running + 1))
	if [ "$running" -ge "$jobs" ]; then wait; running=0; fi
done
wait
cat "$cur" >>"$summary"
if grep -q ' [1-9][0-9]* crash' "$cur"; then rm -f "$cur"; exit 1; fi
rm -f "$cur"
