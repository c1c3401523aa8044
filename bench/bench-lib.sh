# SPDX-License-Identifier: BSD-2-Clause
# bench-lib.sh - sourced by the call-rate benchmarks (bench/proxy-bench.sh, bench/kamailio-bench.sh):
#   SIPp UAC --UDP--> b.example (127.0.0.2) --TLS--> c.example (127.0.0.3) --UDP--> SIPp UAS
# Their arguments (BUILD-DIR [RATES] [SECONDS], defaults "200 400 800" and 10 s per step), a port
# block, the Knot testbed, the SIPp UAS and load steps, CPU and RSS of the two proxies, the memory
# each holds per call in flight, one table row per rate, and everything stopped on exit. The script
# defines start_proxies LABEL, which starts b and c of that mode in the background (pids in $tmp/b.pid
# and $tmp/c.pid, and in $pids), mem_bytes NAME PID (the bytes proxy NAME holds: anon_bytes or
# kam_bytes below) and linger LABEL NAME (seconds proxy NAME keeps a call's transactions after the call),
# then calls bench_table and bench_mode LABEL for each mode. Each rate gets freshly started proxies.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:?usage: $0 BUILD-DIR [RATES] [SECONDS]}" && pwd)
rates=${2:-200 400 800}
secs=${3:-10}
# sipp_extra - SIPp options of the script's own for the UAC (e.g. a pause before the BYE)
sipp_extra=
tmp=$(mktemp -d "${TMPDIR:-/tmp}/sipdance-bench.XXXXXX")
base=$("$top/tests/ports.sh" $$)
b_sip=$((base + 1)) b_tls=$((base + 2)) c_sip=$((base + 3)) c_tls=$((base + 4)) uas=$((base + 5)) uac=$((base + 6))
pids=
hz=$(getconf CLK_TCK)
# reap PID... - SIGTERM, SIGKILL after 20 s
. "$top/tests/reap-lib.sh"

# cleanup - stop everything started here, by pid
cleanup() {
	# shellcheck disable=SC2086
	reap $pids
	"$top/tests/testbed/testbed.sh" stop "$tmp/tb" >/dev/null 2>&1
	[ -n "${KEEP_TMP-}" ] || rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

export TB_B_TLS_PORT=$b_tls TB_C_TLS_PORT=$c_tls TB_B_SIP_PORT=$b_sip TB_C_SIP_PORT=$c_sip
export TB_A_TLS_PORT=$((base + 7)) TB_INSECURE_TLS_PORT=$((base + 8))
"$top/tests/testbed/testbed.sh" start "$tmp/tb" "$((base + 9))" >/dev/null || exit 1
. "$tmp/tb/env.sh"

# ticks PID - CPU clock ticks (user + system) of PID and its children
ticks() {
	for p in "$1" $(ps --ppid "$1" -o pid=); do cat "/proc/$p/stat" 2>/dev/null; done |
		awk '{ sub(/^.*\) /, ""); t += $12 + $13 } END { print t + 0 }'
}

# rss PID - resident set size in MB of PID and its children
rss() {
	for p in "$1" $(ps --ppid "$1" -o pid=); do grep VmRSS "/proc/$p/status" 2>/dev/null; done |
		awk '{ k += $2 } END { printf "%.0f", k / 1024 }'
}

# anon_bytes PID - anonymous resident memory (heap and anonymous maps, no library pages) of PID and its children
anon_bytes() {
	for p in "$1" $(ps --ppid "$1" -o pid=); do grep RssAnon "/proc/$p/status" 2>/dev/null; done |
		awk '{ k += $2 } END { printf "%.0f", k * 1024 }'
}

# kam_bytes NAME - what Kamailio NAME holds by its own accounts, over its control socket $tmp/NAME/ctl:
# shared memory in use (core.shmmem real_used: blocks and their headers) plus every process's private
# memory in use (kex's pkg.stats real_used); not RSS, which counts shared pages once per process
kam_bytes() {
	{ kamcmd -s "unix:$tmp/$1/ctl" core.shmmem; kamcmd -s "unix:$tmp/$1/ctl" pkg.stats; } 2>/dev/null |
		awk '$1 == "real_used:" { s += $2 } END { printf "%.0f", s }'
}

# uac RATE CALLS TAG - one SIPp load step; prints "ok fail median_ms"
uac() {
	rm -f "$tmp"/uac_* "$tmp"/*_rtt.csv
	# shellcheck disable=SC2086
	(cd "$tmp" && sipp "127.0.0.2:$b_sip" -sf "$top/tests/kamailio-uac.xml" -s bob -i 127.0.0.1 \
		-key rdomain c.example -key fromuser alice -key fdomain b.example -key extrahdr "X-Bench: 1" -p "$uac" \
		-mp $((base + 20)) -cp $((base + 16)) $sipp_extra -r "$1" -m "$2" -l 5000 -timeout 120 \
		-recv_timeout 5000 -buff_size 4194304 -nostdin -trace_stat -stf "uac_stat.csv" -trace_rtt -rtt_freq 1 \
		>"uac_$3.out" 2>&1)
	awk -F';' 'NR == 1 { for (i = 1; i <= NF; i++) { if ($i == "SuccessfulCall(C)") s = i; if ($i == "FailedCall(C)") f = i } }
		NR > 1 { ok = $s; fail = $f } END { printf "%d %d", ok, fail }' "$tmp/uac_stat.csv"
	# median INVITE->200 response time (SIPp rtt file: date_ms;response_time_ms;rtd_no; whole ms)
	cat "$tmp"/*_rtt.csv 2>/dev/null | awk -F';' '$2 ~ /^[0-9.]+$/ { print $2 }' | sort -n |
		awk '{ v[NR] = $1 } END { if (!NR) print " -"; else printf " %.2f\n", v[int((NR + 1) / 2)] }'
}

# bench_table - the table's header
bench_table() {
	echo "| mode          | cps   | calls  | ok / failed   | calls/s | median ms | CPU b  | CPU c  | RSS MB b / c | held MB b / c | kB/call b / c |"
	echo "|---------------|-------|--------|---------------|---------|-----------|--------|--------|--------------|---------------|---------------|"
}

# bench_mode LABEL - one configuration, a row per rate: the UAS and start_proxies LABEL, a warm-up, the
# memory each proxy holds idle, then the load step with the memory sampled every second. "held" is the
# mean over the step's last quarter (the steady state, when SECONDS is longer than the linger) minus
# idle; per call it is divided by the calls in flight, rate x linger (the calls last no time of their own)
bench_mode() {
	label=$1
	for r in $rates; do
		(cd "$tmp" && exec sipp -sf "$top/tests/kamailio-uas.xml" -i 127.0.0.1 -p "$uas" -mp $((base + 40)) \
			-cp $((base + 17)) -buff_size 4194304 -nostdin >/dev/null 2>&1) &
		pids="$pids $!"
		start_proxies "$label"
		for f in b c; do
			port=$b_sip
			[ $f = b ] || port=$c_sip
			"$top/tests/wait-for.sh" -u "$port" 10 && kill -0 "$(cat "$tmp/$f.pid")" 2>/dev/null ||
				{ echo "$label $f did not start:" >&2; cat "$tmp/$f.log" >&2; exit 1; }
		done
		uac 20 40 warm >/dev/null
		pb=$(cat "$tmp/b.pid") pc=$(cat "$tmp/c.pid")
		ib=$(mem_bytes b "$pb") ic=$(mem_bytes c "$pc")
		n=$((r * secs))
		tb0=$(ticks "$pb") tc0=$(ticks "$pc") t0=$(date +%s%N)
		while :; do
			echo "$((($(date +%s%N) - t0) / 1000000)) $(mem_bytes b "$pb") $(mem_bytes c "$pc")"
			sleep 1
		done >"$tmp/mem.txt" &
		sampler=$!
		# shellcheck disable=SC2046
		set -- $(uac "$r" "$n" "$label-$r")
		t1=$(date +%s%N)
		kill "$sampler"
		wait "$sampler" 2>/dev/null
		tb1=$(ticks "$pb") tc1=$(ticks "$pc")
		mb=$(rss "$pb") mc=$(rss "$pc")
		awk -v m="$label" -v r="$r" -v n="$n" -v ok="$1" -v f="$2" -v rt="$3" -v w=$(((t1 - t0) / 1000000)) \
			-v b=$((tb1 - tb0)) -v c=$((tc1 - tc0)) -v hz="$hz" -v mb="$mb" -v mc="$mc" -v ib="$ib" -v ic="$ic" \
			-v from=$((secs * 750)) -v to=$((secs * 1000)) -v lb="$(linger "$label" b)" -v lc="$(linger "$label" c)" '
			$1 >= from && $1 <= to { sb += $2; sc += $3; k++ }
			END {
				hb = k ? sb / k - ib : 0; hc = k ? sc / k - ic : 0
				printf "| %-13s | %5d | %6d | %6d / %-4d | %7.0f | %6s | %5.0f%% | %5.0f%% | %4d / %-4d | %5.0f / %-5.0f | %5.1f / %-5.1f |\n",
					m, r, n, ok, f, ok / (w / 1000), rt, 100 * b / hz / (w / 1000), 100 * c / hz / (w / 1000), mb, mc,
					hb / 1048576, hc / 1048576, hb / 1024 / (r * lb), hc / 1024 / (r * lc) }' "$tmp/mem.txt"
		# shellcheck disable=SC2086
		reap $pids
		pids=
	done
}
