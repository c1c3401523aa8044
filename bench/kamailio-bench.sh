#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# kamailio-bench.sh - Kamailio routing calls with and without sipdance's DANE checks, same box, same
# run: SIPp UAC --UDP--> Kamailio b.example --TLS--> Kamailio c.example --UDP--> SIPp UAS.
# WITH_DANE: b runs sipdance_check_dest("$rd") per INVITE (DNS from the module's cache after the
# first), c runs sipdance_verify_peer("$fd") on every request over the one reused TLS connection.
# Prints calls/s achieved, failures, INVITE->200 median response time and CPU of each Kamailio.
#
#   bench/kamailio-bench.sh BUILD-DIR [RATES] [SECONDS]   defaults: "200 400 800", 10 s per step
# BUILD-DIR is a build configured with --with-kamailio-module (kamailio/.libs/sipdance.so).
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:?usage: kamailio-bench.sh BUILD-DIR [RATES] [SECONDS]}" && pwd)
rates=${2:-200 400 800}
secs=${3:-10}
moddir=/usr/lib/x86_64-linux-gnu/kamailio/modules
[ -f "$build/kamailio/.libs/sipdance.so" ] || { echo "no $build/kamailio/.libs/sipdance.so" >&2; exit 1; }
tmp=$(mktemp -d)
base=$((42000 + ($$ % 300) * 64))
b_sip=$((base + 1)) b_tls=$((base + 2)) c_sip=$((base + 3)) c_tls=$((base + 4)) uas=$((base + 5)) uac=$((base + 6))
pids=
hz=$(getconf CLK_TCK)

cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	"$top/tests/testbed/testbed.sh" stop "$tmp/tb" >/dev/null 2>&1
	[ -n "${KEEP_TMP-}" ] || rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

export TB_B_TLS_PORT=$b_tls TB_C_TLS_PORT=$c_tls TB_A_TLS_PORT=$((base + 7)) TB_INSECURE_TLS_PORT=$((base + 8))
"$top/tests/testbed/testbed.sh" start "$tmp/tb" "$base" >/dev/null || exit 1
. "$tmp/tb/env.sh"

# kam NAME ADDR SIP TLS CERT KEY NEXTHOP DEFINES... - start one Kamailio; its pid in $tmp/NAME.pid
kam() {
	name=$1
	mkdir -p "$tmp/$name"
	SD_ADDR=$2 SD_SIP_PORT=$3 SD_TLS_PORT=$4 SD_CERT=$5 SD_KEY=$6 SD_NEXTHOP=$7 \
		SD_RESOLVER=$TB_RESOLVER SD_ANCHOR=$TB_ANCHOR SD_MPATH="$moddir:$build/kamailio/.libs" \
		kamailio -f "$top/bench/kamailio-bench.cfg" -DD -E -Y "$tmp/$name" -w "$tmp/$name" -m 512 -M 16 \
		$(shift 7; for d in "$@"; do printf -- '-A %s ' "$d"; done) >"$tmp/$name.log" 2>&1 &
	echo $! >"$tmp/$name.pid"
	pids="$pids $!"
}

# ticks PID - CPU clock ticks (user + system) of PID and its children
ticks() {
	for p in "$1" $(ps --ppid "$1" -o pid=); do cat "/proc/$p/stat" 2>/dev/null; done |
		awk '{ sub(/^.*\) /, ""); t += $12 + $13 } END { print t + 0 }'
}

# uac RATE CALLS TAG - one SIPp load step; prints "ok fail median_ms"
uac() {
	rm -f "$tmp"/uac_* "$tmp"/*_rtt.csv
	(cd "$tmp" && sipp "127.0.0.2:$b_sip" -sf "$top/tests/kamailio-uac.xml" -s bob -i 127.0.0.1 \
		-key rdomain c.example -key fromuser alice -key fdomain b.example -key extrahdr "X-Bench: 1" -p "$uac" \
		-mp $((base + 20)) -cp $((base + 16)) -d 100 -r "$1" -m "$2" -l 5000 -timeout 120 -recv_timeout 5000 \
		-buff_size 4194304 -nostdin -trace_stat -stf "uac_stat.csv" -trace_rtt -rtt_freq 1 \
		>"uac_$3.out" 2>&1)
	awk -F';' 'NR == 1 { for (i = 1; i <= NF; i++) { if ($i == "SuccessfulCall(C)") s = i; if ($i == "FailedCall(C)") f = i } }
		NR > 1 { ok = $s; fail = $f } END { printf "%d %d", ok, fail }' "$tmp/uac_stat.csv"
	# median INVITE->200 response time (SIPp rtt file: date_ms;response_time_ms;rtd_no; whole ms)
	cat "$tmp"/*_rtt.csv 2>/dev/null | awk -F';' '$2 ~ /^[0-9.]+$/ { print $2 }' | sort -n |
		awk '{ v[NR] = $1 } END { if (!NR) print " -"; else printf " %.2f\n", v[int((NR + 1) / 2)] }'
}

# mode NAME DEFINES... - one configuration: start UAS and both Kamailios, warm up, run every rate
mode() {
	label=$1
	shift
	(cd "$tmp" && sipp -sf "$top/tests/kamailio-uas.xml" -i 127.0.0.1 -p "$uas" -mp $((base + 40)) \
		-cp $((base + 17)) -buff_size 4194304 -nostdin >/dev/null 2>&1) &
	uas_pid=$!
	pids="$pids $uas_pid"
	kam b 127.0.0.2 "$b_sip" "$b_tls" "$TB_CERT_B" "$TB_KEY_B" "sip:127.0.0.3:$c_tls;transport=tls" ROLE_EDGE "$@"
	kam c 127.0.0.3 "$c_sip" "$c_tls" "$TB_CERT_C" "$TB_KEY_C" "sip:127.0.0.1:$uas" ROLE_PEER "$@"
	sleep 2
	for f in b c; do
		kill -0 "$(cat "$tmp/$f.pid")" 2>/dev/null || { echo "kamailio $f did not start:" >&2; cat "$tmp/$f.log" >&2; exit 1; }
	done
	uac 20 40 warm >/dev/null
	for r in $rates; do
		n=$((r * secs))
		tb0=$(ticks "$(cat "$tmp/b.pid")") tc0=$(ticks "$(cat "$tmp/c.pid")") t0=$(date +%s%N)
		set -- $(uac "$r" "$n" "$label-$r")
		t1=$(date +%s%N)
		tb1=$(ticks "$(cat "$tmp/b.pid")") tc1=$(ticks "$(cat "$tmp/c.pid")")
		awk -v m="$label" -v r="$r" -v n="$n" -v ok="$1" -v f="$2" -v rt="$3" -v w=$(((t1 - t0) / 1000000)) \
			-v b=$((tb1 - tb0)) -v c=$((tc1 - tc0)) -v hz="$hz" 'BEGIN {
			printf "| %-9s | %5d | %6d | %6d / %-4d | %7.0f | %6s | %5.0f%% | %5.0f%% |\n",
				m, r, n, ok, f, ok / (w / 1000), rt, 100 * b / hz / (w / 1000), 100 * c / hz / (w / 1000) }'
	done
	for f in b c; do kill "$(cat "$tmp/$f.pid")"; done
	kill "$uas_pid"
	wait 2>/dev/null
	pids=
	grep -h "ERROR" "$tmp/b.log" "$tmp/c.log" | head -5 >&2
}

echo "| mode      | cps   | calls  | ok / failed   | calls/s | median ms | CPU b  | CPU c  |"
echo "|-----------|-------|--------|---------------|---------|-----------|--------|--------|"
mode plain
mode dane WITH_DANE
