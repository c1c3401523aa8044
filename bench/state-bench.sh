#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# state-bench.sh - what the state shared through Redis costs a call, same box, same run:
#   one-node:  SIPp UAC --UDP--> sipdance-proxy (bob registered there)  --UDP--> SIPp UAS
#   two-nodes: SIPp UAC --UDP--> node 1 (--state; bob registered at node 2: each INVITE reads
#              reg:bob@a.example, HGETALL) --UDP--> SIPp UAS; node 2 idle beside it
# Prints calls/s achieved, failures, INVITE->200 median response time, CPU of node 1 and of
# redis-server, and Redis' own count and time of the commands the run sent (INFO commandstats).
#
#   bench/state-bench.sh BUILD-DIR [RATES] [SECONDS]   defaults: "200 400", 10 s per step
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:?usage: state-bench.sh BUILD-DIR [RATES] [SECONDS]}" && pwd)
rates=${2:-200 400}
secs=${3:-10}
proxy=$build/sipdance-proxy
[ -x "$proxy" ] || { echo "no $proxy" >&2; exit 1; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/sipdance-state-bench.XXXXXX")
base=$("$top/tests/ports.sh" $$)
n1=$((base + 1)) n2=$((base + 2)) uas=$((base + 3)) uac=$((base + 4)) reg=$((base + 5)) R=$((base + 6))
pids=
hz=$(getconf CLK_TCK)

# cleanup - stop everything started here, by pid
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	[ -n "${KEEP_TMP-}" ] || rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

# ticks PID - CPU clock ticks (user + system) of PID
ticks() { awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"; }

# bob registers with Digest (MD5, offered first for SIPp): the trusted PBX does not register
pw=$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')
echo "$pw" | "$build/sipdance" user-digest bob a.example >"$tmp/users"

# node NAME PORT ARGS... - one sipdance-proxy of a.example trusting the SIPp PBX; pid in $NAME_pid
node() {
	name=$1 port=$2
	shift 2
	"$proxy" --domain a.example --listen "sip:127.0.0.1:$port;transport=udp" --trusted 127.0.0.1/32 \
		--users "$tmp/users" --digest-algorithms MD5,SHA-256 \
		--log-level warn "$@" >"$tmp/$name.log" 2>&1 &
	eval "${name}_pid=$!"
	pids="$pids $!"
	"$top/tests/wait-for.sh" -u "$port" || { cat "$tmp/$name.log" >&2; exit 1; }
}

# register PORT - bob@a.example bound to the UAS, through the node on PORT
register() {
	sipp "127.0.0.1:$1" -sf "$top/tests/sip-register.xml" -s bob -ap "$pw" -i 127.0.0.1 -p "$reg" -mp $((base + 40)) \
		-cp $((base + 20)) -key rdomain a.example -key contact "127.0.0.1:$uas" -key expires 3600 -m 1 \
		-nostdin >/dev/null 2>&1 || { echo "REGISTER through $1 failed" >&2; exit 1; }
}

# uac RATE CALLS TAG - one SIPp load step at node 1; prints "ok fail median_ms"
uac() {
	rm -f "$tmp"/uac_* "$tmp"/*_rtt.csv
	(cd "$tmp" && sipp "127.0.0.1:$n1" -sf "$top/tests/kamailio-uac.xml" -s bob -i 127.0.0.1 \
		-key rdomain a.example -key fromuser alice -key fdomain a.example -key extrahdr "X-Bench: 1" \
		-p "$uac" -mp $((base + 50)) -cp $((base + 21)) -r "$1" -m "$2" -l 5000 -timeout 120 \
		-recv_timeout 5000 -buff_size 4194304 -nostdin -trace_stat -stf "uac_stat.csv" -trace_rtt \
		-rtt_freq 1 >"uac_$3.out" 2>&1)
	awk -F';' 'NR == 1 { for (i = 1; i <= NF; i++) { if ($i == "SuccessfulCall(C)") s = i; if ($i == "FailedCall(C)") f = i } }
		NR > 1 { ok = $s; fail = $f } END { printf "%d %d", ok, fail }' "$tmp/uac_stat.csv"
	cat "$tmp"/*_rtt.csv 2>/dev/null | awk -F';' '$2 ~ /^[0-9.]+$/ { print $2 }' | sort -n |
		awk '{ v[NR] = $1 } END { if (!NR) print " -"; else printf " %.2f\n", v[int((NR + 1) / 2)] }'
}

# rstat - "calls usec" of every command Redis ran so far
rstat() {
	redis-cli -p "$R" INFO commandstats | tr -d '\r' |
		awk -F'[:=,]' '/^cmdstat_/ { c += $3; u += $5 } END { printf "%d %d", c, u }'
}

# mode LABEL - the UAS, the nodes of that mode, bob registered, warm-up, every rate
mode() {
	label=$1
	(cd "$tmp" && sipp -sf "$top/tests/kamailio-uas.xml" -i 127.0.0.1 -p "$uas" -mp $((base + 60)) \
		-cp $((base + 22)) -buff_size 4194304 -nostdin >/dev/null 2>&1) &
	uas_pid=$!
	pids="$pids $uas_pid"
	case $label in
	one-node)
		node N1 "$n1"
		register "$n1" ;;
	two-nodes)
		redis-server --port "$R" --bind 127.0.0.1 --save "" --appendonly no >"$tmp/redis.log" 2>&1 &
		redis_pid=$!
		pids="$pids $redis_pid"
		"$top/tests/wait-for.sh" -t "$R" || exit 1
		node N1 "$n1" --state "redis://127.0.0.1:$R" --node-id n1
		node N2 "$n2" --state "redis://127.0.0.1:$R" --node-id n2
		register "$n2" ;;
	esac
	uac 20 40 warm >/dev/null
	for r in $rates; do
		n=$((r * secs))
		t0=$(ticks "$N1_pid") r0=0 c0="0 0"
		[ "$label" = two-nodes ] && r0=$(ticks "$redis_pid") && c0=$(rstat)
		w0=$(date +%s%N)
		set -- $(uac "$r" "$n" "$label-$r")
		w1=$(date +%s%N)
		t1=$(ticks "$N1_pid") r1=0 c1="0 0"
		[ "$label" = two-nodes ] && r1=$(ticks "$redis_pid") && c1=$(rstat)
		awk -v m="$label" -v r="$r" -v n="$n" -v ok="$1" -v f="$2" -v rt="$3" -v w=$(((w1 - w0) / 1000000)) \
			-v a=$((t1 - t0)) -v rd=$((r1 - r0)) -v hz="$hz" -v c0="$c0" -v c1="$c1" 'BEGIN {
			split(c0, x, " "); split(c1, y, " "); cmds = y[1] - x[1]; us = y[2] - x[2]
			printf "| %-9s | %4d | %5d | %5d / %-3d | %6.0f | %6s | %4.0f%% | %4.0f%% | %5.2f | %6s |\n",
				m, r, n, ok, f, ok / (w / 1000), rt, 100 * a / hz / (w / 1000), 100 * rd / hz / (w / 1000),
				ok ? cmds / ok : 0, cmds ? sprintf("%.1f", us / cmds) : "-" }'
	done
	for p in $pids; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	pids=
}

echo "| mode      | cps  | calls | ok / failed | calls/s | median ms | CPU node 1 | CPU Redis | Redis cmds/call | us/cmd |"
echo "|-----------|------|-------|-------------|---------|-----------|------------|-----------|-----------------|--------|"
mode one-node
mode two-nodes
