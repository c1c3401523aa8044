#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# fault-dns-down.sh - the DNS server is killed under a running federation
# (queries refused at once: ICMP port unreachable; TB_TTL=5): cached answers
# serve; after expiry b.example fails fast with an explained 503 (never 200,
# never 408); the same knotd started again brings service back by itself.
# See fault-dns.sh for why B is restarted before each check.
. "${srcdir:-.}/tests/fault-lib.sh"
need knotd keymgr kdig knotc ldns-signzone openssl perl
export TB_TTL=5
start_testbed $dnsp
start_a || exit 1
start_b || exit 1
fromd=127.0.0.1

req sip:b.example "" $fromd
check "warm-up: 200 ($st in ${ms} ms)" [ "$st" = 200 ]
fd0=$(fds "$A_pid")
dns_kill
restart_b
req sip:b.example "" $fromd
check "DNS down, answers still cached: 200 ($st in ${ms} ms)" [ "$st" = 200 ]
sleep 7
restart_b
req sip:b.example "" $fromd
case "$st" in
503) check "DNS down, cache expired: 503 in ${ms} ms (< 10 s) with a Reason: $reason" \
	eval '[ "$ms" -lt 10000 ] && [ -n "$reason" ]' ;;
*) bad "DNS down, cache expired: 503 expected, got $st in ${ms} ms" "$reason" ;;
esac
t0=$(date +%s)
if dns_restart && until_ok 45 eval 'req sip:b.example "" $fromd 5; [ "$st" = 200 ]'; then
	ok "knotd restarted: service resumed by itself after $(($(date +%s) - t0)) s"
else
	bad "service resumed after knotd restart (last $st)" "$reason"
fi
fd1=$(fds "$A_pid")
check "descriptors of A bounded ($fd0 -> $fd1)" [ "$fd1" -le $((fd0 + 10)) ]
finish
