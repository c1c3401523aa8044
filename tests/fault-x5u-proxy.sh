#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# fault-x5u-proxy.sh - x5u faults at the proxy: sipdance-proxy --stir verify
# gets INVITEs whose PASSporT x5u is on a loopback HTTP server that is slow
# (accepts, never answers), unreachable (nothing listens) or huge (10 MB,
# close-delimited), and, as the control, good. Each failure is answered 436
# with a Reason naming the cause, the slow one after the x5u timeout T1
# (1000 ms times vg_slow), the others before it, and logged once (verify and
# fetch lines); the control is routed on to a SIPp callee and answered 200.
# The proxy's x5u cache is in memory only (no cache directory): a failure is
# kept as a failure, so a repeat is 436 at once with no new connection. With
# a timeout T2 (3000 ms times vg_slow), a call needing a fresh x5u fetch
# completes while a slow fetch is pending: the event loop is not blocked;
# nor is it by two x5u name lookups that never end.
# Times are SIPp's (answer_ms). The CLI variant is fault-x5u.sh.
. "${srcdir:-.}/tests/proxy-lib.sh"
need sipp perl
sd=$("${srcdir:-.}/tests/valgrind.sh" "${top_builddir:-.}/sipdance")
data=$(cd "$srcdir/tests/data/stir" && pwd)
# ports: a block of our own (tests/ports.sh)
base=$("${srcdir:-.}/tests/ports.sh" $$)
P=$base good=$((base + 1)) slow=$((base + 2)) dead=$((base + 3)) huge=$((base + 4))
uac_p=$((base + 5)) u2_p=$((base + 6)) uas_p=$((base + 7)) uac_m=$((base + 8)) u2_m=$((base + 12))
uas_m=$((base + 16)) uac_c=$((base + 20)) u2_c=$((base + 21)) uas_c=$((base + 22))
u3_p=$((base + 30)) u3_m=$((base + 32)) u3_c=$((base + 36))
T1=$((1000 * vg_slow)) T2=$((3000 * vg_slow))

# http PORT MODE - loopback HTTP: good (the chain), slow (never answers), huge (10 MB); one log line per connection
http() {
	perl -MIO::Socket::INET -e '
		my ($port, $mode, $file) = @ARGV;
		my $l = IO::Socket::INET->new(LocalAddr => "127.0.0.1:$port", Listen => 16, ReuseAddr => 1) or die "$!";
		$SIG{PIPE} = "IGNORE"; my @held;
		my $pem = do { open(my $fh, "<", $file) or die; local $/; <$fh> };
		print STDERR "listening\n";
		while (my $c = $l->accept) {
			print STDERR "connection\n";
			if ($mode eq "slow") { push @held, $c; next }
			while (<$c>) { last if /^\r?$/ }
			print $c "HTTP/1.1 200 OK\r\nContent-Type: application/pem-certificate-chain\r\n" .
				($mode eq "huge" ? "Connection: close\r\n\r\n" . ("A" x (10 * 1024 * 1024))
				 : "Content-Length: " . length($pem) . "\r\nConnection: close\r\n\r\n" . $pem);
			close $c;
		}' "$1" "$2" "$data/ee-chain.pem" 2>"$tmp/http-$2.log" &
	pids="$pids $!"
}
http $good good
http $slow slow
http $huge huge
for m in good slow huge; do "$wait_for" "$tmp/http-$m.log" listening || bad "HTTP server $m listening"; done
conns() { grep -c connection "$tmp/http-$1.log"; }

tel=tel:+12025551000 to="sip:+12025552000@b.example;user=phone"
# identity URL - an Identity header from `sipdance passport sign` with x5u URL
identity() { echo "Identity: $("$sd" passport sign --key "$data/ee.key" --x5u "$1" --orig 12025551000 --dest 12025552000 --attest A)"; }
# call NAME SIP MEDIA CTRL IHDR - one INVITE through the proxy from SIPp ports SIP/MEDIA/CTRL; sets $rc $ms
call() {
	sipp_run "$1" 127.0.0.1:$P -sf "$srcdir/tests/sip-stir-uac.xml" -i 127.0.0.1 -p "$2" -mp "$3" -cp "$4" \
		-s +12025552000 -key rdomain "b.example;user=phone" -key from "$tel" -key to "$to" -key ihdr "$5"
	rc=$? ms=$(answer_ms "$tmp/$1.msg")
}
uas() { sipp_bg "$1" -sf "$srcdir/tests/sip-uas.xml" -i 127.0.0.1 -p $uas_p -mp $uas_m -cp $uas_c; }
# proxy TIMEOUT - (re)start the verifying proxy with that x5u timeout (it trusts SIPp's address:
# the caller stands for an interconnect carrier's gateway)
proxy() {
	start_proxy V --domain b.example --listen "sip:127.0.0.1:$P;transport=udp" --e164-route "sip:127.0.0.1:$uas_p;transport=udp" \
		--stir verify --stir-ca-file "$data/root.pem" --stir-x5u-allow private,any-port,http --stir-x5u-timeout "$1" \
		--trusted 127.0.0.1/32 --log-level info || { finish; exit 1; }
}
# rejected NAME TRACE REASON-RE MAX-MS [MIN-MS] - 436/437 with a matching Reason, in MIN..MAX ms
rejected() {
	st=$(status "$2") rs=$(msg "$2" received '^SIP/2.0 43[67]' | header Reason)
	if echo "$st" | grep -q '^43[67]$' && echo "$rs" | grep -Eq "^Reason: SIP;cause=$st;text=\"$3" &&
		[ "$ms" -lt "$4" ] && [ "$ms" -ge "${5:-0}" ]; then
		ok "$1: $st in $ms ms ($(echo "$rs" | cut -c9-100))"
	else
		bad "$1: want 436/437 with Reason /$3/ in ${5:-0}..$4 ms, got '$st' in $ms ms" "$rs"
	fi
}

# ---- x5u timeout T1: each bad server once, then the control ----
proxy $T1
call slow $uac_p $uac_m $uac_c "$(identity "http://127.0.0.1:$slow/slow.pem")"
rejected "slow x5u server" "$tmp/slow.msg" "x5u response timed out after $T1 ms" $((3 * T1)) $((T1 - 100))
call dead $uac_p $uac_m $uac_c "$(identity "http://127.0.0.1:$dead/dead.pem")"
rejected "unreachable x5u server" "$tmp/dead.msg" "x5u connect to 127.0.0.1: Connection refused" $T1
call huge $uac_p $uac_m $uac_c "$(identity "http://127.0.0.1:$huge/huge.pem")"
rejected "10 MB x5u body" "$tmp/huge.msg" "x5u response larger than 65536 bytes" $T1
call slow2 $uac_p $uac_m $uac_c "$(identity "http://127.0.0.1:$slow/slow.pem")"
rejected "slow x5u again: the failure is remembered, not retried" "$tmp/slow2.msg" ".*\(cached failure\)" $((T1 - 100))
check "slow x5u again: no new connection to the slow server ($(conns slow))" [ "$(conns slow)" = 1 ]
uas cuas
call good $uac_p $uac_m $uac_c "$(identity "http://127.0.0.1:$good/ee-chain.pem")"
wait "$cuas_pid" 2>/dev/null
check "control: good x5u: routed on to the callee, 200 (rc $rc, $(status "$tmp/good.msg") in $ms ms)" \
	eval '[ $rc = 0 ] && [ "$(status "$tmp/good.msg")" = 200 ] && msg "$tmp/cuas.msg" received "^INVITE" | grep -q "^Identity:"'
for r in "x5u response timed out after $T1 ms" "x5u connect to 127.0.0.1: Connection refused" \
	"x5u response larger than 65536 bytes"; do
	check "log: one verify line and one fetch line for '$r'" eval \
		'[ "$(grep -c "stir: verify orig=12025551000 dest=12025552000 verdict=FAIL status=43[67] ($r)\$" "$tmp/V.log")" = 1 ] &&
		[ "$(grep -c "x5u: fetch http://127.0.0.1:[0-9]*/[a-z]*\.pem: $r\$" "$tmp/V.log")" = 1 ]'
done
check "log: the control verified (MATCH), the repeat logged as a cached failure" eval \
	'grep -q "verdict=MATCH" "$tmp/V.log" && grep -q "verdict=FAIL status=436 (.*(cached failure))" "$tmp/V.log"'
stop_proxy V

# ---- x5u timeout T2: a slow fetch pending, another call with a fresh x5u completes ----
proxy $T2
id=$(identity "http://127.0.0.1:$slow/pending.pem")
# signed before the slow fetch starts: under valgrind signing takes seconds
fresh=$(identity "http://127.0.0.1:$good/fresh.pem")
(call pending $u2_p $u2_m $u2_c "$id") &
pending_pid=$!
pids="$pids $pending_pid"
"$wait_for" -n 2 "$tmp/http-slow.log" connection
uas fuas
call fresh $uac_p $uac_m $uac_c "$fresh"
wait "$fuas_pid" 2>/dev/null
check "another call (fresh x5u) answered 200 in $ms ms while the slow fetch was pending" eval '[ $rc = 0 ] &&
	[ "$(status "$tmp/fresh.msg")" = 200 ] && [ $ms -lt $T2 ] && [ "$(conns slow)" = 2 ] &&
	kill -0 $pending_pid 2>/dev/null && [ -z "$(status "$tmp/pending.msg")" ]'
wait "$pending_pid" 2>/dev/null
ms=$(answer_ms "$tmp/pending.msg")
rejected "the pending slow call" "$tmp/pending.msg" "x5u response timed out after $T2 ms" $((T2 * 5 / 3)) $((T2 - 100))
check "the good server was fetched twice (control, fresh): $(conns good)" [ "$(conns good)" = 2 ]
stop_proxy V

# ---- a name server that never answers (tests/slowdns.c holds names under slow.test 30 s):
# two such lookups pending, a call with a fresh x5u still completes, and each of the two
# ends at the x5u timeout ----
slow_lookups on
proxy $T2
slow_lookups off
l1=$(identity "http://a.slow.test:$good/ee-chain.pem")
l2=$(identity "http://b.slow.test:$good/ee-chain.pem")
fresh=$(identity "http://127.0.0.1:$good/fresh2.pem")
(call lookup1 $u2_p $u2_m $u2_c "$l1") &
l1_pid=$!
(call lookup2 $u3_p $u3_m $u3_c "$l2") &
l2_pid=$!
pids="$pids $l1_pid $l2_pid"
# both INVITEs sent: the proxy, one thread, has started both fetches before it reads the next one
"$wait_for" "$tmp/lookup1.msg" "^INVITE" && "$wait_for" "$tmp/lookup2.msg" "^INVITE" ||
	bad "the two calls with slow lookups were sent"
uas luas
call fresh2 $uac_p $uac_m $uac_c "$fresh"
wait "$luas_pid" 2>/dev/null
check "a call (fresh x5u) answered 200 in $ms ms while two name lookups hung" eval '[ $rc = 0 ] &&
	[ "$(status "$tmp/fresh2.msg")" = 200 ] && [ $ms -lt $T2 ] && kill -0 $l1_pid 2>/dev/null &&
	kill -0 $l2_pid 2>/dev/null'
for n in 1 2; do
	eval "wait \$l${n}_pid" 2>/dev/null
	ms=$(answer_ms "$tmp/lookup$n.msg")
	h=$( [ $n = 1 ] && echo a || echo b )
	rejected "hung name lookup $n" "$tmp/lookup$n.msg" "x5u name lookup of $h.slow.test timed out after $T2 ms" \
		$((T2 * 5 / 3)) $((T2 - 100))
done
finish
