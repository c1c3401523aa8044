#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# fault-anchor.sh - A's trust anchor reloaded on SIGHUP, one object for every
# module that validates: the file rewritten with a root DS of no key (a botched
# rollover) makes b.example bogus at once, refused with 502 - never a
# downgrade; a broken file is refused and the anchor in use kept; the right
# anchor back, service resumes. B is restarted before each check so that A
# locates b.example again (see dns_outage in fault-lib.sh).
. "${srcdir:-.}/tests/fault-lib.sh"
export TB_TTL=3600
need knotd keymgr kdig knotc ldns-signzone openssl perl
start_testbed $dnsp
anchor=$TB_ANCHOR
cp "$anchor" "$tmp/anchor"
TB_ANCHOR=$tmp/anchor
start_a --dns-failure-ttl $fail_ttl || exit 1
TB_ANCHOR=$anchor
start_b || exit 1
fromd=127.0.0.1
warm_up

# reload - SIGHUP A (its anchor file read again, its caches flushed) and restart B
reload() {
	resolver_flush
	hup A
	restart_b
}

awk '{ for (i = 1; i < NF; i++) if ($i == "DS") $NF = sprintf("%064d", 0); print }' "$anchor" >"$tmp/anchor"
reload
check "SIGHUP: the new anchor file is in use" grep -q "reload: trust anchor reloaded (1 records)" "$tmp/A.log"
req sip:b.example "" $fromd
case "$st $reason" in
502\ *bogus*) ok "root DS of no key: b.example refused, $st, Reason: $reason" ;;
*) bad "root DS of no key: b.example refused with 502 naming bogus (got $st)" "$reason" ;;
esac

echo "; emptied by mistake" >"$tmp/anchor"
reload
check "SIGHUP with a broken anchor file: refused, the anchor in use kept" \
	grep -q "reload: --trust-anchor $tmp/anchor: trust anchor file holds no DS or DNSKEY record (keeping the old trust anchor)" "$tmp/A.log"
req sip:b.example "" $fromd
check "... still the keyless DS: b.example refused ($st)" [ "$st" = 502 ]
check "B never received a request under the wrong anchor" eval '! grep -q "OPTIONS sip:b.example" "$tmp/$cur_b.log"'

cp "$anchor" "$tmp/anchor"
reload
req sip:b.example "" $fromd
check "the right anchor back on SIGHUP: b.example authenticated again, 200 ($st)" [ "$st" = 200 ]
finish
