#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# fault-peer.sh - the peer proxy misbehaves under a running federation:
#  - killed (SIGKILL) and restarted: while it is gone A answers fast with an
#    explained 5xx (never timer F's 408), and routes again once it is back;
#  - TLS connection reset mid-transaction (B killed while it holds the
#    request): A answers 5xx well before timer F;
#  - slowloris: something accepts TCP at B's address and never answers the
#    TLS handshake: each request ends in a 5xx within A's handshake timeout
#    (--handshake-timeout 1000, times vg_slow), local requests keep being
#    answered meanwhile, and A's descriptors come back to where they were.
. "${srcdir:-.}/tests/fault-lib.sh"
hs=$((1000 * vg_slow))
federation --handshake-timeout $hs
warm_up
fd0=$(fds "$A_pid")

# fds_below PID N - until PID holds fewer than N descriptors (10 s times vg_slow at most)
fds_below() {
	i=0
	while [ "$(fds "$1")" -ge "$2" ] && [ $i -lt $((100 * vg_slow)) ]; do
		sleep 0.1
		i=$((i + 1))
	done
}

# 1. B killed, then restarted: A's request comes once A has seen its connection to
# B close (one descriptor less), not into the instant before
fdk=$(fds "$A_pid")
kill -KILL "$B_pid"; wait "$B_pid" 2>/dev/null
pids=$(echo "$pids" | sed "s/ $B_pid\b//")
fds_below "$A_pid" "$fdk"
req sip:b.example "" $fromd
case "$st" in
5??) check "B killed: $st in ${ms} ms (before the handshake limit), Reason: $reason" \
	eval '[ "$st" != 500 ] && [ "$ms" -lt $hs ] && [ -n "$reason" ]' ;;
*) bad "B killed: a fast 5xx expected, got $st in ${ms} ms" "$reason" ;;
esac
BNAME=B1 start_b || exit 1
cur_b=B1
if until_ok 10 eval 'req sip:b.example "" $fromd 5; [ "$st" = 200 ]'; then
	ok "B restarted: A routes to it again"
else
	bad "A routes to the restarted B (last $st)" "$reason"
fi

# 2. connection reset mid-transaction: bob's contact swallows the request (and says
# so), then B dies while it holds it
perl -MIO::Socket::INET -e '$| = 1; $s = IO::Socket::INET->new(LocalAddr => "127.0.0.2:'"$uas_p"'", Proto => "udp") or die;
	while ($s->recv($b, 65535)) { print "got\n" }' >"$tmp/sink.out" &
sink=$!
pids="$pids $sink"
"$wait_for" -u "127.0.0.2:$uas_p"
( "$wait_for" "$tmp/sink.out" "^got" 20 && kill -KILL "$B1_pid" ) &
req sip:bob@b.example "" $fromd 40
wait "$B1_pid" 2>/dev/null
pids=$(echo "$pids" | sed "s/ $B1_pid\b//")
case "$st" in
5??) check "TLS connection reset mid-transaction: $st after ${ms} ms (before timer F, 32 s)" [ "$ms" -lt 32000 ] ;;
*) bad "connection reset mid-transaction: a 5xx before timer F expected, got $st in ${ms} ms" "$reason" ;;
esac
kill "$sink" 2>/dev/null

# 3. slowloris: accept TCP, never answer the handshake
perl -MIO::Socket::INET -e '$l = IO::Socket::INET->new(LocalAddr => "127.0.0.2:'"$b_tls"'", Listen => 64, ReuseAddr => 1) or die "$!";
	my @held; while (my $c = $l->accept) { push @held, $c }' &
slow=$!
pids="$pids $slow"
"$wait_for" -t "127.0.0.2:$b_tls"
worst=0 all5=1
for i in 1 2 3 4 5 6; do
	req sip:b.example "" $fromd 10
	case "$st" in 5??) ;; *) all5=0; echo "# slowloris request $i: $st $reason" ;; esac
	[ "$ms" -gt "$worst" ] && worst=$ms
done
check "slowloris peer: 6 requests each ended in a 5xx, slowest ${ms} ms / worst ${worst} ms (< 2 x the $hs ms limit)" \
	eval '[ "$all5" = 1 ] && [ "$worst" -lt $((2 * hs)) ]'
echo "# last Reason: $reason"
nc=$(grep -c "new TLS connection to 127.0.0.2:$b_tls for b.example" "$tmp/A.log")
( req sip:b.example "" $fromd 10 ) &
bg=$!
"$wait_for" -n $((nc + 1)) "$tmp/A.log" "new TLS connection to 127.0.0.2:$b_tls for b.example"
req sip:a.example "" a.example 5
check "while a handshake hangs, a local request is answered at once ($st in ${ms} ms, before the $hs ms limit)" \
	eval '[ "$st" = 200 ] && [ "$ms" -lt $hs ] && kill -0 $bg 2>/dev/null'
wait "$bg"
fds_below "$A_pid" $((fd0 + 3))
fd1=$(fds "$A_pid")
if [ "$fd1" -le $((fd0 + 2)) ]; then
	ok "A's descriptors back to where they were after the slowloris peer ($fd0 -> $fd1)"
else
	bad "A's descriptors back to where they were after the slowloris peer ($fd0 -> $fd1)"
fi
kill "$slow" 2>/dev/null
check "proxy A still running" kill -0 "$A_pid"
finish
