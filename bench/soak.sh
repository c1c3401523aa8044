#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# soak.sh BUILD-DIR [SECONDS] - a soak of the federation on the Knot testbed:
#   SIPp UAC --UDP--> proxy a.example --TLS+DANE--> proxy b.example --UDP--> SIPp UAS
# First the maximum call rate is measured (RAMP steps of STEP seconds, default
# 40: longer than the 32 s nta keeps a transaction, so a step sees old
# transactions expire while new ones arrive, as the soak does; the highest rate
# reached with no failed call), then calls run at 80 % of it for SECONDS
# (default 600), while a peer opens a fresh TLS connection into b.example for
# every request (connection churn, CHURN per second, openssl s_client with
# a.example's certificate: B authenticates it by DANE each time). Every 5 s the
# RSS and descriptors of both proxies are sampled. Printed: calls ok/failed,
# churn ok/failed, INVITE->200 p50/p99, RSS slope of each proxy after warm-up
# (WARMUP s, default the first third but at least 40 s: nta keeps a finished
# transaction for 32 s, so RSS climbs to a plateau first) in kB/min and kB per
# 1000 calls, descriptors after warm-up and at the end.
# The last line is machine-readable ("SOAK key=value ..."), for tests/soak-short.sh.
#
# soak.sh BUILD-DIR churn [N] - TLS connection churn only (default N 20000): tests/proxy-churn.sh
# with N connections each way (inbound into a.example, outbound from it, one request per
# connection), A's RSS sampled every 1000; prints each direction's RSS and its least-squares slope
# in bytes per connection after a warm-up of 1000, and "CHURN inbound=B outbound=B" last.
# Knobs: RATE (skip the measurement), RAMP ("400 600 800 1000 1200 1400 1600"), STEP (40), CHURN (5),
# RSS_LIMIT_MB (1500: the run stops if a proxy grows past it), PROXY_ARGS (more options for both
# proxies, e.g. "--max-pending 100000"), KEEP_TMP.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:?usage: soak.sh BUILD-DIR [SECONDS | churn [N]]}" && pwd)
secs=${2:-600}
if [ "$secs" = churn ]; then
	out=$(mktemp "${TMPDIR:-/tmp}/sipdance-soak-churn.XXXXXX")
	srcdir=$top top_builddir=$build CHURN_N=${3:-20000} CHURN_WARM=1000 CHURN_EVERY=1000 \
		sh "$top/tests/proxy-churn.sh" >"$out" 2>&1
	rc=$?
	grep -E '^(ok|FAIL|#) ' "$out"
	awk '$2 == "churn" { b[$3] = $4 } END { print "CHURN inbound=" b["inbound"] " outbound=" b["outbound"] }' "$out"
	rm -f "$out"
	exit $rc
fi
proxy=$build/sipdance-proxy
[ -x "$proxy" ] || { echo "no $proxy" >&2; exit 1; }
for p in sipp knotd openssl; do command -v $p >/dev/null || { echo "# SKIP: $p not installed"; exit 77; }; done
tmp=$(mktemp -d "${TMPDIR:-/tmp}/sipdance-soak.XXXXXX")
# ports: a block of 100 claimed through tests/ports.sh (below the ephemeral range, no other test's);
# the former 46000-52000 was in the kernel's ephemeral range, where any outgoing socket of the
# tests running beside it could take one
base=$("$top/tests/ports.sh" $$) || exit 1
a_sip=$base a_tls=$((base + 1)) b_sip=$((base + 2)) b_tls=$((base + 3)) uas=$((base + 4)) uac=$((base + 5))
pids= loadpids=
limit_kb=$((${RSS_LIMIT_MB:-1500} * 1024))
churn=${CHURN:-5}

# cleanup - stop everything started here, by pid
cleanup() {
	for p in $loadpids $pids; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	"$top/tests/testbed/testbed.sh" stop "$tmp/tb" >/dev/null 2>&1
	if [ -n "${KEEP_TMP-}" ]; then echo "# files kept in $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM

export TB_A_TLS_PORT=$a_tls TB_A_SIP_PORT=$a_sip TB_B_TLS_PORT=$b_tls TB_B_SIP_PORT=$b_sip
export TB_C_TLS_PORT=$((base + 6)) TB_C_SIP_PORT=$((base + 7)) TB_INSECURE_TLS_PORT=$((base + 8))
export TB_INSECURE_SIP_PORT=$((base + 9))
"$top/tests/testbed/testbed.sh" start "$tmp/tb" $((base + 10)) >"$tmp/tb.out" 2>&1 || { cat "$tmp/tb.out"; exit 1; }
. "$tmp/tb/env.sh"

# px NAME ARGS... - one sipdance-proxy (pid in $NAME_pid), started when it says "serving"
px() {
	name=$1
	shift
	"$proxy" --resolver "$TB_RESOLVER" --trust-anchor "$TB_ANCHOR" --log-level info ${PROXY_ARGS-} "$@" >"$tmp/$name.log" 2>&1 &
	eval "${name}_pid=$!"
	pids="$pids $!"
	i=0
	until grep -q serving "$tmp/$name.log" 2>/dev/null; do
		i=$((i + 1)); [ $i -gt 1200 ] && { cat "$tmp/$name.log"; exit 1; }
		sleep 0.05
	done
}
# SIPp on 127.0.0.1 stands for a.example's PBX: A trusts it (no Digest round trip per call)
px A --domain a.example --listen "sip:127.0.0.1:$a_sip;transport=udp" --listen "sips:127.0.0.1:$a_tls;transport=tls" \
	--cert "$TB_CERT_A" --key "$TB_KEY_A" --trusted 127.0.0.1/32
# the churn peer (one address) stands for many clients: B lets it open more than 2 TLS connections a second
px B --domain b.example --listen "sip:127.0.0.2:$b_sip;transport=udp" --listen "sips:127.0.0.2:$b_tls;transport=tls" \
	--cert "$TB_CERT_B" --key "$TB_KEY_B" --location "bob@b.example=sip:bob@127.0.0.2:$uas" \
	--max-source-handshakes 100000
(cd "$tmp" && exec sipp -sf "$top/tests/kamailio-uas.xml" -i 127.0.0.2 -p "$uas" -mp $((base + 20)) \
	-cp $((base + 11)) -buff_size 4194304 -nostdin >/dev/null 2>&1) &
pids="$pids $!"
"$top/tests/wait-for.sh" -u "127.0.0.2:$uas" || { echo "the SIPp callee did not start" >&2; exit 1; }

rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }
fds() { ls "/proc/$1/fd" 2>/dev/null | wc -l; }

# load RATE CALLS TAG - one SIPp UAC run into A (in the background; pid in $sipp_pid)
load() {
	rm -f "$tmp"/uac_"$3"* "$tmp"/*_rtt.csv
	(cd "$tmp" && exec sipp "127.0.0.1:$a_sip" -sf "$top/tests/kamailio-uac.xml" -s bob -i 127.0.0.1 \
		-key rdomain b.example -key fromuser alice -key fdomain a.example -key extrahdr "X-Soak: 1" \
		-p "$uac" -mp $((base + 30)) -cp $((base + 12)) -r "$1" -m "$2" -l 5000 -timeout $((secs + 120)) \
		-recv_timeout 5000 -buff_size 4194304 -nostdin -trace_stat -stf "uac_$3_stat.csv" -fd 1 \
		-trace_rtt -rtt_freq 1 >"uac_$3.out" 2>&1) &
	sipp_pid=$!
	loadpids="$loadpids $sipp_pid"
}
# counts TAG - "ok failed" of a finished SIPp run
counts() {
	awk -F';' 'NR == 1 { for (i = 1; i <= NF; i++) { if ($i == "SuccessfulCall(C)") s = i; if ($i == "FailedCall(C)") f = i } }
		NR > 1 { ok = $s; fail = $f } END { printf "%d %d\n", ok, fail }' "$tmp/uac_$1_stat.csv" 2>/dev/null
}

# 1. the maximum rate: STEP s per step, stop at the first step with a failure or < 95 % reached
if [ -n "${RATE-}" ]; then
	rate=$RATE max=-
else
	max=0 step=${STEP:-40}
	for r in ${RAMP:-400 600 800 1000 1200 1400 1600}; do
		t0=$(date +%s%N)
		load "$r" $((r * step)) "ramp$r"
		wait "$sipp_pid"
		w=$((($(date +%s%N) - t0) / 1000000))
		set -- $(counts "ramp$r")
		got=$((${1:-0} * 1000 / (w > 0 ? w : 1)))
		echo "# ramp $r cps: ${1:-0} ok, ${2:-?} failed in $w ms ($got calls/s)"
		[ "${2:-1}" = 0 ] && [ "$got" -ge $((r * 95 / 100)) ] || break
		max=$r
	done
	[ "$max" -gt 0 ] || { echo "no rate without failures" >&2; exit 1; }
	rate=$((max * 8 / 10))
fi
calls=$((rate * secs))
echo "# soak: $rate calls/s (max measured: $max) for $secs s = $calls calls; churn $churn TLS connections/s into b.example"

# 2. the soak, the churn peer and the sampler
printf 'OPTIONS sip:b.example SIP/2.0\r\nVia: SIP/2.0/TLS 127.0.0.1:1;branch=z9hG4bK-churn\r\nFrom: <sip:alice@a.example>;tag=1\r\nTo: <sip:b.example>\r\nCall-ID: churn@soak\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n' >"$tmp/churn.req"
(
	n=0 end=$(($(date +%s) + secs))
	while [ "$(date +%s)" -lt "$end" ] && [ "$n" -lt $((churn * secs)) ]; do
		n=$((n + 1))
		# one fresh connection, closed (close_notify) once its answer is in, 5 s at most
		r=$tmp/churn.$n
		{ cat "$tmp/churn.req"; "$top/tests/wait-for.sh" "$r" '^SIP/2.0 [2-6]'; } |
			timeout 10 openssl s_client -connect "127.0.0.2:$b_tls" -quiet -no_ign_eof \
				-servername sip.b.example -cert "$TB_CERT_A" -key "$TB_KEY_A" >"$r" 2>"$r.err"
		grep -q '^SIP/2.0 200' "$r" && echo ok ||
			echo "fail at $(date +%T): $(grep -m1 -a '^SIP/2.0' "$r" || echo "no answer: $(tail -c 300 "$r.err" | tr '\n' ' ')")"
		rm -f "$r" "$r.err"
		sleep "$(awk -v c="$churn" 'BEGIN { printf "%.3f", 1 / c }')"
	done >"$tmp/churn.out"
) &
churn_pid=$!
loadpids="$loadpids $churn_pid"
load "$rate" "$calls" soak
t0=$(date +%s)
: >"$tmp/samples"
stopped=
while kill -0 "$sipp_pid" 2>/dev/null; do
	ra=$(rss_kb "$A_pid") rb=$(rss_kb "$B_pid")
	echo "$(($(date +%s) - t0)) $ra $rb $(fds "$A_pid") $(fds "$B_pid")" >>"$tmp/samples"
	if [ "$ra" -gt "$limit_kb" ] || [ "$rb" -gt "$limit_kb" ]; then
		stopped="RSS past ${RSS_LIMIT_MB:-1500} MB after $(($(date +%s) - t0)) s"
		kill "$sipp_pid"
		break
	fi
	[ "$(($(date +%s) - t0))" -gt $((secs + 150)) ] && { stopped="SIPp overran"; kill "$sipp_pid"; break; }
	sleep 5
done
wait "$sipp_pid" 2>/dev/null
wait "$churn_pid" 2>/dev/null
kill -0 "$A_pid" 2>/dev/null && kill -0 "$B_pid" 2>/dev/null || stopped="${stopped:+$stopped; }a proxy died"

# 3. figures
set -- $(counts soak)
ok=${1:-0} failed=${2:-0}
cok=$(grep -c '^ok' "$tmp/churn.out") cfail=$(grep -c '^fail' "$tmp/churn.out")
pct=$(awk -F';' '$2 ~ /^[0-9.]+$/ { print $2 }' "$tmp"/*_rtt.csv 2>/dev/null | sort -n |
	awk '{ v[NR] = $1 } END { if (!NR) { print "- -"; exit } k = int(NR * 0.99 + 0.5); if (k < 1) k = 1
		printf "%.2f %.2f\n", v[int((NR + 1) / 2)], v[k] }')
warmup=${WARMUP:-$((secs / 3 > 40 ? secs / 3 : 40))}
# slope COLUMN - least squares kB/min over the samples after the warm-up
slope() {
	awk -v c="$1" -v w="$warmup" '{ t[NR] = $1; v[NR] = $c } END {
		n = 0
		for (i = 1; i <= NR; i++) { if (t[i] < w) continue; n++; sx += t[i]; sy += v[i]; sxx += t[i] * t[i]; sxy += t[i] * v[i] }
		if (n < 3 || n * sxx == sx * sx) { print "-"; exit }
		printf "%.0f", (n * sxy - sx * sy) / (n * sxx - sx * sx) * 60 }' "$tmp/samples"
}
sa=$(slope 2) sb=$(slope 3)
first=$(head -1 "$tmp/samples")
warm=$(awk -v w="$warmup" '$1 >= w { print; exit }' "$tmp/samples")
[ -n "$warm" ] || warm=$(tail -1 "$tmp/samples")
last=$(tail -1 "$tmp/samples")
set -- $warm; wa=$2 wb=$3 wfa=$4 wfb=$5
set -- $last; la=$2 lb=$3 lfa=$4 lfb=$5
per1k() { awk -v s="$1" -v r="$rate" 'BEGIN { if (s == "-" || r == 0) print "-"; else printf "%.0f", s / (r * 60) * 1000 }'; }
echo "calls: $ok ok, $failed failed (of $calls at $rate/s)${stopped:+; STOPPED: $stopped}"
echo "churn: $cok fresh TLS connections answered 200, $cfail failed"
grep '^fail' "$tmp/churn.out" | head -5 | sed 's/^/#   churn /'
echo "INVITE->200: p50 ${pct% *} ms, p99 ${pct#* } ms"
echo "RSS A: $(($(echo "$first" | cut -d' ' -f2) / 1024)) MB at start, $((wa / 1024)) MB after warm-up (${warmup} s), $((la / 1024)) MB at the end; slope $sa kB/min ($(per1k "$sa") kB per 1000 calls)"
echo "RSS B: $(($(echo "$first" | cut -d' ' -f3) / 1024)) MB at start, $((wb / 1024)) MB after warm-up, $((lb / 1024)) MB at the end; slope $sb kB/min ($(per1k "$sb") kB per 1000 calls)"
echo "fds A: $wfa after warm-up, $lfa at the end; fds B: $wfb after warm-up, $lfb at the end"
echo "SOAK rate=$rate calls=$calls ok=$ok failed=$failed churn_ok=$cok churn_failed=$cfail p50=${pct% *} p99=${pct#* } rss_a_warm=$wa rss_a_end=$la rss_b_warm=$wb rss_b_end=$lb slope_a=$sa slope_b=$sb fd_a_warm=$wfa fd_a_end=$lfa fd_b_warm=$wfb fd_b_end=$lfb stopped=${stopped:+1}"
[ -z "$stopped" ] && [ "$failed" = 0 ] && [ "$ok" = "$calls" ]
