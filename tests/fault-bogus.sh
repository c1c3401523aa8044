#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# fault-bogus.sh - b.example's DNSSEC chain turns bogus under a running
# federation: example. publishes a DS that matches no key of b.example
# (knotc). Once the cached answers are gone (expire), A refuses b.example with
# 502 and a Reason naming bogus - never a downgrade; service resumes by itself
# after the DS is restored, when the cached failure ends (--dns-failure-ttl).
# See dns_outage in fault-lib.sh for why B is restarted before a check.
. "${srcdir:-.}/tests/fault-lib.sh"
export TB_TTL=3600
federation
warm_up
ds=$($TB_KNOTC zone-read example. b.example. DS 2>/dev/null |
	awk '{ for (i = 1; i <= NF; i++) if ($i == "DS") { print $(i+1), $(i+2), $(i+3); exit } }')
if $TB_KNOTC zone-begin example. >/dev/null && $TB_KNOTC zone-unset example. b.example. DS >/dev/null &&
	$TB_KNOTC zone-set example. b.example. 3600 DS $ds 00000000000000000000000000000000000000000000000000000000000000ff >/dev/null &&
	$TB_KNOTC zone-commit example. >/dev/null; then
	ok "knotc: b.example's DS replaced by one matching no key ($ds ...)"
else
	bad "knotc: replace b.example's DS"
fi
expire
restart_b
req sip:b.example "" $fromd
case "$st $reason" in
502\ *bogus*) ok "b.example bogus after cache expiry: $st in ${ms} ms, Reason: $reason" ;;
*) bad "bogus b.example refused with 502 after cache expiry (got $st in ${ms} ms)" "$reason" ;;
esac
check "the refusal is logged as an authentication decision" \
	grep -Eq 'auth: peer=- domain=b.example rule=[a-z-]* verdict=REFUSE' "$tmp/A.log"
check "B never received the request" eval '! grep -q "OPTIONS sip:b.example" "$tmp/$cur_b.log"'
$TB_KNOTC -b zone-reload example. >/dev/null 2>&1
resolver_flush
t0=$(date +%s)
if until_ok $((fail_ttl / vg_slow + 15)) eval 'req sip:b.example "" $fromd 5; [ "$st" = 200 ]'; then
	ok "DS restored: service resumed after $(($(date +%s) - t0)) s"
else
	bad "service resumed after the DS was restored (last $st)" "$reason"
fi
finish
