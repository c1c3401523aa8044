#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# soak-short.sh - the 60-second soak of the suite: bench/soak.sh at a fixed,
# conservative 30 calls/s (SIPp UDP -> A -> TLS+DANE -> B -> SIPp UAS) with 2
# fresh TLS connections per second into B (churn). Asserted: every call and
# every churn request succeeded, no descriptor growth after warm-up, bounded
# RSS growth after warm-up (40 s: nta keeps finished transactions 32 s, so RSS
# first climbs to a plateau; SOAK_RSS_MB, default 4 MB per proxy). Timing is
# reported, never asserted.
. "${srcdir:-.}/tests/proxy-lib.sh"
need sipp knotd keymgr kdig ldns-signzone openssl
[ -n "${VALGRIND-}" ] && { echo "# SKIP: a soak under valgrind measures valgrind"; exit 77; }
RATE=${SOAK_RATE:-30} CHURN=${SOAK_CHURN:-2} KEEP_TMP= "$srcdir/bench/soak.sh" "$top_builddir" 60 >"$tmp/soak.out" 2>&1
rc=$?
[ $rc -eq 77 ] && exit 77
sed 's/^/# /' "$tmp/soak.out" | grep -v '^# SOAK '
line=$(grep '^SOAK ' "$tmp/soak.out")
[ -n "$line" ] || { bad "bench/soak.sh produced its summary (exit $rc)" "$(tail -20 "$tmp/soak.out")"; finish; exit 1; }
# the key=value pairs become shell variables
eval "$(echo "${line#SOAK }" | tr ' ' '\n' | grep -E '^[a-z_0-9]+=[0-9.]*$' | sed 's/^/s_/')"
check "all $s_calls calls completed, none failed ($s_ok ok, $s_failed failed)" \
	eval '[ "$s_failed" = 0 ] && [ "$s_ok" = "$s_calls" ]'
check "connection churn: every fresh TLS connection into B answered ($s_churn_ok ok, $s_churn_failed failed)" \
	eval '[ "$s_churn_ok" -gt 0 ] && [ "$s_churn_failed" = 0 ]'
check "descriptors of A flat after warm-up ($s_fd_a_warm -> $s_fd_a_end)" [ "$s_fd_a_end" -le $((s_fd_a_warm + 3)) ]
check "descriptors of B flat after warm-up ($s_fd_b_warm -> $s_fd_b_end)" [ "$s_fd_b_end" -le $((s_fd_b_warm + 3)) ]
lim=$((${SOAK_RSS_MB:-4} * 1024))
asan=0
for f in "$top_builddir/.libs/sipdance-proxy" "$top_builddir/.libs/lt-sipdance-proxy" "$top_builddir/sipdance-proxy"; do
	[ -f "$f" ] && grep -qa __asan_init "$f" && asan=1
done
[ "$asan" = 1 ] && echo "# ASan build: RSS includes ASan's quarantine, the RSS checks are skipped"
for p in a b; do
	[ "$asan" = 1 ] && break
	eval "w=\$s_rss_${p}_warm e=\$s_rss_${p}_end"
	what="RSS of proxy $(echo $p | tr ab AB) after warm-up grew $(((e - w) / 1024)) MB (limit ${SOAK_RSS_MB:-4} MB)"
	check "$what" [ $((e - w)) -le "$lim" ]
done
finish
