#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# proxy-bench.sh - call rate through two sipdance-proxies federating over TLS, side by side with
# Kamailio 5.6 doing the same stateful routing, same box, same run:
#   SIPp UAC --UDP--> proxy b.example --TLS--> proxy c.example --UDP--> SIPp UAS
# Modes: sipdance with DANE (the TLSA of c is checked in the handshake, c checks b's client chain
# for From b.example), sipdance with --dane off (RFC 5922 PKIX against a CA file holding both
# self-signed certificates: the cost of DANE is the difference), Kamailio (t_relay, record_route,
# TLS without peer authentication; bench/kamailio-bench.cfg without WITH_DANE).
# Prints calls/s achieved, failures, INVITE->200 median response time, CPU and RSS of each proxy, and
# the memory each holds in the steady state over idle, in all and per call in flight (bench-lib.sh).
#
#   bench/proxy-bench.sh BUILD-DIR [RATES] [SECONDS]   defaults: "200 400 800", 10 s per step
# MODES="sipdance-dane kamailio" runs only those (default: all three). Memory per call in flight needs
# SECONDS of at least 45 (nta's 32 s linger, then a steady quarter of the step).
set -u
[ -x "${1:-.}/sipdance-proxy" ] || { echo "no ${1:-.}/sipdance-proxy" >&2; exit 1; }
. "$(dirname "$0")/bench-lib.sh"
proxy=$build/sipdance-proxy
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
	SD_ADDR=$2 SD_SIP_PORT=$3 SD_TLS_PORT=$4 SD_CERT=$5 SD_KEY=$6 SD_NEXTHOP=$7 SD_CTL="unix:$tmp/$1/ctl" SD_RESOLVER=- SD_ANCHOR=- \
		SD_MPATH=/usr/lib/x86_64-linux-gnu/kamailio/modules \
		kamailio -f "$top/bench/kamailio-bench.cfg" -DD -E -Y "$tmp/$1" -w "$tmp/$1" -m 512 -M 16 \
		-A "$8" >"$tmp/$1.log" 2>&1 &
	echo $! >"$tmp/$1.pid"
	pids="$pids $!"
}

# start_proxies LABEL - b and c of that mode
start_proxies() {
	case $1 in
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
}

# mem_bytes NAME PID - what proxy NAME holds: sipdance-proxy's anonymous resident memory (its heap),
# Kamailio's own accounts of shared and private memory in use
mem_bytes() {
	if [ "$label" = kamailio ]; then kam_bytes "$1"; else anon_bytes "$2"; fi
}

# linger LABEL NAME - how long proxy NAME keeps a call's transactions after the call: nta keeps the
# caller's BYE over UDP at b 64*T1 = 32 s (timer J), at c the INVITE's server transaction and the BYE's
# client transaction over UDP T4 = 5 s (timers I and K); tm frees a transaction its wait timer (5 s) after
# the final response
linger() {
	if [ "$1" = kamailio ] || [ "$2" = c ]; then echo 5; else echo 32; fi
}

bench_table
for m in ${MODES:-sipdance-dane sipdance-off kamailio}; do
	bench_mode "$m"
done
