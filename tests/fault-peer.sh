#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# fault-peer.sh - the peer proxy misbehaves under a running federation:
#  - killed (SIGKILL) and restarted: while it is gone A answers fast with an
#    explained 5xx (never timer F's 408), and routes again once it is back;
#  - TLS connection reset mid-transaction (B killed while it holds the
#    request): A answers 5xx well before timer F;
#  - slowloris: something accepts TCP at B's address and never answers the
#    TLS handshake: each request ends in a 5xx within A's handshake timeout
#    (--handshake-timeout 1000), local requests keep being answered meanwhile,
#    and A's descriptors come back to where they were.
. "${srcdir:-.}/tests/fault-lib.sh"
federation --handshake-timeout 1000
warm_up
fd0=$(fds "$A_pid")

# 1. B killed, then restarted
kill -KILL "$B_pid"; wait "$B_pid" 2>/dev/null
pids=$(echo "$pids" | sed "s/ $B_pid\b//")
sleep 0.3
req sip:b.example "" $fromd
case "$st" in
5??) check "B killed: $st in ${ms} ms (< 5 s), Reason: $reason" eval '[ "$st" != 500 ] && [ "$ms" -lt 5000 ] && [ -n "$reason" ]' ;;
*) bad "B killed: a fast 5xx expected, got $st in ${ms} ms" "$reason" ;;
esac
BNAME=B1 start_b || exit 1
cur_b=B1
if until_ok 10 eval 'req sip:b.example "" $fromd 5; [ "$st" = 200 ]'; then
	ok "B restarted: A routes to it again"
else
	bad "A routes to the restarted B (last $st)" "$reason"
fi

# 2. connection reset mid-transaction: bob's contact swallows the request, then B dies
perl -MIO::Socket::INET -e '$s = IO::Socket::INET->new(LocalAddr => "127.0.0.2:'"$uas_p"'", Proto => "udp") or die;
	$SIG{ALRM} = sub { exit 0 }; alarm 20; while ($s->recv($b, 65535)) {}' &
sink=$!
pids="$pids $sink"
( sleep 1; kill -KILL "$B1_pid" ) &
req sip:bob@b.example "" $fromd 20
wait "$B1_pid" 2>/dev/null
pids=$(echo "$pids" | sed "s/ $B1_pid\b//")
case "$st" in
5??) check "TLS connection reset mid-transaction: $st after ${ms} ms (< 10 s, before timer F)" [ "$ms" -lt 10000 ] ;;
*) bad "connection reset mid-transaction: a 5xx before timer F expected, got $st in ${ms} ms" "$reason" ;;
esac
kill "$sink" 2>/dev/null

# 3. slowloris: accept TCP, never answer the handshake
perl -MIO::Socket::INET -e '$l = IO::Socket::INET->new(LocalAddr => "127.0.0.2:'"$b_tls"'", Listen => 64, ReuseAddr => 1) or die "$!";
	$SIG{ALRM} = sub { exit 0 }; alarm 40; my @held; while (my $c = $l->accept) { push @held, $c }' &
slow=$!
pids="$pids $slow"
sleep 0.3
worst=0 all5=1
for i in 1 2 3 4 5 6; do
	req sip:b.example "" $fromd 10
	case "$st" in 5??) ;; *) all5=0; echo "# slowloris request $i: $st $reason" ;; esac
	[ "$ms" -gt "$worst" ] && worst=$ms
done
check "slowloris peer: 6 requests each ended in a 5xx, slowest ${ms} ms / worst ${worst} ms (< 4 s)" \
	eval '[ "$all5" = 1 ] && [ "$worst" -lt 4000 ]'
echo "# last Reason: $reason"
( req sip:b.example "" $fromd 10 ) &
bg=$!
sleep 0.2
req sip:a.example "" a.example 5
check "while a handshake hangs, a local request is answered at once ($st in ${ms} ms)" \
	eval '[ "$st" = 200 ] && [ "$ms" -lt 500 ]'
wait "$bg"
sleep 0.5
fd1=$(fds "$A_pid")
if [ "$fd1" -le $((fd0 + 2)) ]; then
	ok "A's descriptors back to where they were after the slowloris peer ($fd0 -> $fd1)"
else
	bad "A's descriptors back to where they were after the slowloris peer ($fd0 -> $fd1)"
fi
kill "$slow" 2>/dev/null
check "proxy A still running" kill -0 "$A_pid"
finish
