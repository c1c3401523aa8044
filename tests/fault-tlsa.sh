#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# fault-tlsa.sh - TLSA rollover of b.example's proxy under a running
# federation. The right way: the new key's TLSA published next to the old
# one, B switched to the new key after the TTL, then the old record removed:
# every request in between succeeds. The wrong way: B switched to a key its
# TLSA does not name: refused with 502 and a Reason naming the mismatch (fast,
# never a downgrade), then service recovers by itself once the record is
# published, when the cached one expires. Last, a revocation reaches a live
# connection. Records live an hour (nothing expires behind the test's back)
# and "after the TTL" is expire (A's caches flushed by SIGHUP), except the one
# whose own expiry the recovery waits for: published for $short s.
. "${srcdir:-.}/tests/fault-lib.sh"
export TB_TTL=3600
short=5
federation
owner=_${b_tls}._tcp.sip.b.example.
failed=0

# tlsa SPKI... - b.example's TLS port TLSA RRset becomes 3 1 1 of each SPKI (TTL $ttl, an hour by default)
tlsa() {
	$TB_KNOTC zone-begin b.example. >/dev/null && $TB_KNOTC zone-unset b.example. $owner TLSA >/dev/null || return 1
	for s in "$@"; do $TB_KNOTC zone-set b.example. $owner "${ttl:-$TB_TTL}" TLSA 3 1 1 "$s" >/dev/null || return 1; done
	$TB_KNOTC zone-commit b.example. >/dev/null
}
# call WHAT - one request that must succeed; counts failures
call() {
	req sip:b.example "" $fromd
	if [ "$st" = 200 ]; then echo "# $1: 200 in ${ms} ms"; else failed=$((failed + 1)); echo "# $1: $st $reason"; fi
}

call "before the rollover"
check "right way, step 1: new key's TLSA published next to the old one" tlsa "$TB_SPKI_B" "$TB_SPKI_WRONG"
call "both records published"
expire
restart_b
call "after the TTL, old key still in use"
BCERT=$TB_CERT_WRONG BKEY=$TB_KEY_WRONG restart_b
call "B switched to the new key"
ttl=$short
check "right way, step 3: old record withdrawn (for $short s: the wrong way below waits for it)" tlsa "$TB_SPKI_WRONG"
ttl=
call "old record withdrawn (cached)"
expire
restart_b
BCERT=$TB_CERT_WRONG BKEY=$TB_KEY_WRONG restart_b
call "old record expired from the cache"
check "right way: no failed request through the rollover ($failed failed)" [ "$failed" = 0 ]

# wrong way: B goes back to its first key, which no TLSA names any more
restart_b
req sip:b.example "" $fromd
case "$st $reason" in
'502 '*mismatch*) check "wrong way: key switched first: 502 in ${ms} ms (< handshake limit), Reason: $reason" \
	[ "$ms" -lt $((2000 * vg_slow)) ] ;;
*) bad "wrong way: 502 with a mismatch Reason (got $st in ${ms} ms)" "$reason" ;;
esac
check "the refusal is one logged authentication decision (NOMATCH)" \
	grep -Eq "auth: peer=127.0.0.2:$b_tls domain=b.example rule=secure-tlsa verdict=NOMATCH" "$tmp/A.log"
check "B never received a request over the refused connection" \
	eval '! grep -q "OPTIONS sip:b.example" "$tmp/$cur_b.log"'
check "wrong way, repair: the key's TLSA published" tlsa "$TB_SPKI_WRONG" "$TB_SPKI_B"
t0=$(date +%s)
if until_ok $((short + 15)) eval 'req sip:b.example "" $fromd 5; [ "$st" = 200 ]'; then
	ok "after publication service recovered by itself in $(($(date +%s) - t0)) s (TTL $short)"
else
	bad "recovery after publication (last $st)" "$reason"
fi

# revocation reaches a live connection: B keeps running with its key, the
# TLSA stops naming it, and after the TTL (here at once: SIGHUP) A's
# connection, authenticated under the old record, is no longer used
check "revocation: B's key withdrawn from the TLSA RRset" tlsa "$TB_SPKI_WRONG"
expire
req sip:b.example "" $fromd
case "$st $reason" in
'502 '*mismatch*) ok "revocation: the live connection is dropped, the new handshake refused (502 $reason)" ;;
*) bad "revocation: 502 mismatch without restarting B (got $st)" "$reason" ;;
esac
check "revocation: A logged why it dropped the connection" \
	grep -q "domain=b.example no longer authenticated, connection dropped" "$tmp/A.log"
finish
