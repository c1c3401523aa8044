#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# kamailio-bench.sh - Kamailio routing calls with and without sipdance's DANE checks, same box, same
# run: SIPp UAC --UDP--> Kamailio b.example --TLS--> Kamailio c.example --UDP--> SIPp UAS.
# WITH_DANE: b runs sipdance_check_dest("$rd") per INVITE (DNS from the module's cache after the
# first), c runs sipdance_verify_peer("$fd") on every request over the one reused TLS connection.
# Prints calls/s achieved, failures, INVITE->200 median response time, CPU and RSS of each Kamailio.
#
#   bench/kamailio-bench.sh BUILD-DIR [RATES] [SECONDS]   defaults: "200 400 800", 10 s per step
# BUILD-DIR is a build configured with --with-kamailio-module (kamailio/.libs/sipdance.so).
set -u
[ -f "${1:-.}/kamailio/.libs/sipdance.so" ] || { echo "no ${1:-.}/kamailio/.libs/sipdance.so" >&2; exit 1; }
. "$(dirname "$0")/bench-lib.sh"
moddir=/usr/lib/x86_64-linux-gnu/kamailio/modules
# INVITE, 200, ACK, 100 ms, BYE, 200
sipp_extra="-d 100"

# kam NAME ADDR SIP TLS CERT KEY NEXTHOP DEFINES... - start one Kamailio; its pid in $tmp/NAME.pid
kam() {
	name=$1
	mkdir -p "$tmp/$name"
	SD_ADDR=$2 SD_SIP_PORT=$3 SD_TLS_PORT=$4 SD_CERT=$5 SD_KEY=$6 SD_NEXTHOP=$7 SD_CTL="unix:$tmp/$1/ctl" \
		SD_RESOLVER=$TB_RESOLVER SD_ANCHOR=$TB_ANCHOR SD_MPATH="$moddir:$build/kamailio/.libs" \
		kamailio -f "$top/bench/kamailio-bench.cfg" -DD -E -Y "$tmp/$name" -w "$tmp/$name" -m 512 -M 16 \
		$(shift 7; for d in "$@"; do printf -- '-A %s ' "$d"; done) >"$tmp/$name.log" 2>&1 &
	echo $! >"$tmp/$name.pid"
	pids="$pids $!"
}

# start_proxies LABEL - b and c: plain, or dane (WITH_DANE: the module's checks)
start_proxies() {
	if [ "$1" = dane ]; then set -- WITH_DANE; else set --; fi
	kam b 127.0.0.2 "$b_sip" "$b_tls" "$TB_CERT_B" "$TB_KEY_B" "sip:127.0.0.3:$c_tls;transport=tls" ROLE_EDGE "$@"
	kam c 127.0.0.3 "$c_sip" "$c_tls" "$TB_CERT_C" "$TB_KEY_C" "sip:127.0.0.1:$uas" ROLE_PEER "$@"
}

# mem_bytes NAME PID - Kamailio's shared and private memory in use (the module's own allocations,
# malloc's, are not in them); linger LABEL NAME - tm's wait timer, 5 s
mem_bytes() { kam_bytes "$1"; }
linger() { echo 5; }

bench_table
for m in plain dane; do
	bench_mode $m
	grep -h "ERROR" "$tmp/b.log" "$tmp/c.log" | head -5 >&2
done
