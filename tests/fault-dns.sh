#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# fault-dns.sh - the DNS server stops answering under a running federation
# (knotd SIGSTOPped: every query times out; TB_TTL=5). Cached, unexpired
# answers keep serving; after expiry b.example fails fast with an explained
# 503, never a 200 over an unauthenticated path and never timer F's 408; the
# failure is cached (30 s, src/dns.c DEFAULT_NEG_TTL) so later requests fail
# at once; service resumes by itself when DNS answers again.
# A reuses a live authenticated connection without any DNS lookup, so before
# each check B is restarted (restart_b) to make A locate b.example again.
# From is an IP literal: B's inbound check claims no domain and needs no DNS.
. "${srcdir:-.}/tests/fault-lib.sh"
need knotd keymgr kdig knotc ldns-signzone openssl perl
export TB_TTL=5
start_testbed $dnsp
start_a || exit 1
start_b || exit 1
fromd=127.0.0.1

req sip:b.example "" $fromd
check "warm-up: OPTIONS sip:b.example through A over TLS+DANE: 200 ($st in ${ms} ms)" [ "$st" = 200 ]
fd0=$(fds "$A_pid")

dns_freeze
restart_b
req sip:b.example "" $fromd
check "DNS frozen, answers still cached: new connection authenticated, 200 ($st in ${ms} ms)" [ "$st" = 200 ]
sleep 7
restart_b
req sip:b.example "" $fromd
case "$st" in
503) check "DNS frozen, cache expired: 503 in ${ms} ms (< 10 s) with a Reason: $reason" \
	eval '[ "$ms" -lt 10000 ] && [ -n "$reason" ]' ;;
*) bad "DNS frozen, cache expired: 503 expected, got $st in ${ms} ms" "$reason" ;;
esac
req sip:b.example "" $fromd
check "DNS still frozen: the next request refused at once from the cached failure ($st in ${ms} ms)" \
	eval '[ "$st" = 503 ] && [ "$ms" -lt 1000 ]'
check "no 408 and no request reached B while DNS was down" \
	eval '! grep -q "OPTIONS sip:b.example" "$tmp/$cur_b.log"'
dns_thaw
t0=$(date +%s)
if until_ok 45 eval 'req sip:b.example "" $fromd 5; [ "$st" = 200 ]'; then
	ok "DNS answers again: service resumed by itself after $(($(date +%s) - t0)) s (failure cache <= 30 s)"
else
	bad "service resumed after DNS came back (last $st)" "$reason"
fi
fd1=$(fds "$A_pid")
check "descriptors of A bounded ($fd0 -> $fd1)" [ "$fd1" -le $((fd0 + 10)) ]
check "proxy A still running" kill -0 "$A_pid"
finish
