#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# proxy-bench.sh - call rate through two sipdance-proxies federating over TLS, side by side with
# Kamailio 5.6 doing the same stateful routing, same box, same run:
#   SIPp UAC --UDP--> proxy b.example --TLS--> proxy c.example --UDP--> SIPp UAS
# Modes: sipdance with DANE (the TLSA of c is checked in the handshake, c checks b's client chain
# for From b.example), sipdance with --dane off (RFC 5922 PKIX against a CA file holding both
# self-signed certificates: the cost of DANE is the difference), Kamailio (t_relay, record_route,
# TLS without peer authentication; bench/kamailio-bench.cfg without WITH_DANE).
# Prints calls/s achieved, failures, INVITE->200 median response time, CPU and RSS of each proxy.
#
#   bench/proxy-bench.sh BUILD-DIR [RATES] [SECONDS]   defaults: "200 400 800", 10 s per step
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:?usage: proxy-bench.sh BUILD-DIR [RATES] [SECONDS]}" && pwd)
rates=${2:-200 400 800}
secs=${3:-10}
proxy=$build/sipdance-proxy
[ -x "$proxy" ] || { echo "no $proxy" >&2; exit 1; }
tmp=$(mktemp -d)
base=$((45000 + ($$ % 200) * 64))
b_sip=$((base + 1)) b_tls=$((base + 2)) c_sip=$((base + 3)) c_tls=$((base + 4)) uas=$((base + 5)) uac=$((base + 6))
pids=
hz=$(getconf CLK_TCK)

# cleanup - stop everything started here, by pid
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	"$top/tests/testbed/testbed.sh" stop "$tmp/tb" >/dev/null 2>&1
	[ -n "${KEEP_TMP-}" ] || rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

export TB_B_TLS_PORT=$b_tls TB_C_TLS_PORT=$c_tls TB_B_SIP_PORT=$b_sip TB_C_SIP_PORT=$c_sip
export TB_A_TLS_PORT=$((base + 7)) TB_INSECURE_TLS_PORT=$((base + 8))
"$top/tests/testbed/testbed.sh" start "$tmp/tb" "$((base + 9))" >/dev/null || exit 1
. "$tmp/tb/env.sh"
cat "$TB_CERT_B" "$TB_CERT_C" >"$tmp/roots.pem"

# sdp NAME ADDR DOMAIN CERT KEY EXTRA... - start one sipdance-proxy; its pid in $tmp/NAME.pid
# (b trusts SIPp on 127.0.0.1, b.example's PBX, as Kamailio's config relays it unauthenticated; c trusts
# nobody: it judges b by DANE whatever address b's connections come from)
sdp() {
	name=$1 addr=$2 dom=$3 cert=$4 key=$5
	shift 5
	"$proxy" --domain "$dom" --listen "sip:$addr:$( [ "$dom" = b.example ] && echo "$b_sip" || echo "$c_sip");transport=udp" \
		--listen "sips:$addr:$( [ "$dom" = b.example ] && echo "$b_tls" || echo "$c_tls");transport=tls" \
		--cert "$cert" --key "$key" --resolver "$TB_RESOLVER" --trust-anchor "$TB_ANCHOR" \
		--log-level warn "$@" >"$tmp/$name.log" 2>&1 &
	echo $! >"$tmp/$name.pid"
	pids="$pids $!"
}

# kam NAME ADDR SIP TLS CERT KEY NEXTHOP ROLE - start one Kamailio; its pid in $tmp/NAME.pid
kam() {
	mkdir -p "$tmp/$1"
	SD_ADDR=$2 SD_SIP_PORT=$3 SD_TLS_PORT=$4 SD_CERT=$5 SD_KEY=$6 SD_NEXTHOP=$7 SD_RESOLVER=- SD_ANCHOR=- \
		SD_MPATH=/usr/lib/x86_64-linux-gnu/kamailio/modules \
		kamailio -f "$top/bench/kamailio-bench.cfg" -DD -E -Y "$tmp/$1" -w "$tmp/$1" -m 512 -M 16 \
		-A "$8" >"$tmp/$1.log" 2>&1 &
	echo $! >"$tmp/$1.pid"
	pids="$pids $!"
}

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

# uac RATE CALLS TAG - one SIPp load step; prints "ok fail median_ms"
uac() {
	rm -f "$tmp"/uac_* "$tmp"/*_rtt.csv
	(cd "$tmp" && sipp "127.0.0.2:$b_sip" -sf "$top/tests/kamailio-uac.xml" -s bob -i 127.0.0.1 \
		-key rdomain c.example -key fromuser alice -key fdomain b.example -key extrahdr "X-Bench: 1" -p "$uac" \
		-mp $((base + 20)) -cp $((base + 16)) -r "$1" -m "$2" -l 5000 -timeout 120 -recv_timeout 5000 \
		-buff_size 4194304 -nostdin -trace_stat -stf "uac_stat.csv" -trace_rtt -rtt_freq 1 \
		>"uac_$3.out" 2>&1)
	awk -F';' 'NR == 1 { for (i = 1; i <= NF; i++) { if ($i == "SuccessfulCall(C)") s = i; if ($i == "FailedCall(C)") f = i } }
		NR > 1 { ok = $s; fail = $f } END { printf "%d %d", ok, fail }' "$tmp/uac_stat.csv"
	cat "$tmp"/*_rtt.csv 2>/dev/null | awk -F';' '$2 ~ /^[0-9.]+$/ { print $2 }' | sort -n |
		awk '{ v[NR] = $1 } END { if (!NR) print " -"; else printf " %.2f\n", v[int((NR + 1) / 2)] }'
}

# mode LABEL - UAS, both proxies of that mode, warm-up, every rate
mode() {
	label=$1
	(cd "$tmp" && sipp -sf "$top/tests/kamailio-uas.xml" -i 127.0.0.1 -p "$uas" -mp $((base + 40)) \
		-cp $((base + 17)) -buff_size 4194304 -nostdin >/dev/null 2>&1) &
	uas_pid=$!
	pids="$pids $uas_pid"
	case $label in
	sipdance-dane)
		sdp b 127.0.0.2 b.example "$TB_CERT_B" "$TB_KEY_B" --trusted 127.0.0.1/32
		sdp c 127.0.0.3 c.example "$TB_CERT_C" "$TB_KEY_C" --location "bob@c.example=sip:bob@127.0.0.1:$uas" ;;
	sipdance-off)
		sdp b 127.0.0.2 b.example "$TB_CERT_B" "$TB_KEY_B" --dane off --ca-file "$tmp/roots.pem" \
			--trusted 127.0.0.1/32
		sdp c 127.0.0.3 c.example "$TB_CERT_C" "$TB_KEY_C" --dane off --ca-file "$tmp/roots.pem" \
			--location "bob@c.example=sip:bob@127.0.0.1:$uas" ;;
	kamailio)
		kam b 127.0.0.2 "$b_sip" "$b_tls" "$TB_CERT_B" "$TB_KEY_B" "sip:127.0.0.3:$c_tls;transport=tls" ROLE_EDGE
		kam c 127.0.0.3 "$c_sip" "$c_tls" "$TB_CERT_C" "$TB_KEY_C" "sip:127.0.0.1:$uas" ROLE_PEER ;;
	esac
	sleep 2
	for f in b c; do
		kill -0 "$(cat "$tmp/$f.pid")" 2>/dev/null || { echo "$label $f did not start:" >&2; cat "$tmp/$f.log" >&2; exit 1; }
	done
	uac 20 40 warm >/dev/null
	for r in $rates; do
		n=$((r * secs))
		tb0=$(ticks "$(cat "$tmp/b.pid")") tc0=$(ticks "$(cat "$tmp/c.pid")") t0=$(date +%s%N)
		set -- $(uac "$r" "$n" "$label-$r")
		t1=$(date +%s%N)
		tb1=$(ticks "$(cat "$tmp/b.pid")") tc1=$(ticks "$(cat "$tmp/c.pid")")
		mb=$(rss "$(cat "$tmp/b.pid")") mc=$(rss "$(cat "$tmp/c.pid")")
		awk -v m="$label" -v r="$r" -v n="$n" -v ok="$1" -v f="$2" -v rt="$3" -v w=$(((t1 - t0) / 1000000)) \
			-v b=$((tb1 - tb0)) -v c=$((tc1 - tc0)) -v hz="$hz" -v mb="$mb" -v mc="$mc" 'BEGIN {
			printf "| %-13s | %5d | %6d | %6d / %-4d | %7.0f | %6s | %5.0f%% | %5.0f%% | %4d / %-4d |\n",
				m, r, n, ok, f, ok / (w / 1000), rt, 100 * b / hz / (w / 1000), 100 * c / hz / (w / 1000), mb, mc }'
	done
	for f in b c; do kill "$(cat "$tmp/$f.pid")"; done
	kill "$uas_pid"
	wait 2>/dev/null
	pids=
}

echo "| mode          | cps   | calls  | ok / failed   | calls/s | median ms | CPU b  | CPU c  | RSS MB b / c |"
echo "|---------------|-------|--------|---------------|---------|-----------|--------|--------|--------------|"
mode sipdance-dane
mode sipdance-off
mode kamailio
