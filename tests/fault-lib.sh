# SPDX-License-Identifier: BSD-2-Clause
# fault-lib.sh - shared by the tests/fault-*.sh scripts (sourced, not run), on
# top of proxy-lib.sh: the A/B federation on the Knot testbed, a quick SIP
# client (one OPTIONS over UDP, its final status, Reason and time), the DNS
# server frozen/stopped/restarted, descriptor and RSS readings.
. "${srcdir:-.}/tests/proxy-lib.sh"
base=$("${srcdir:-.}/tests/ports.sh" $$)
a_sip=$base a_tls=$((base + 1)) b_sip=$((base + 2)) b_tls=$((base + 3)) dnsp=$((base + 8))
cli_p=$((base + 9)) uas_p=$((base + 10))
export TB_A_TLS_PORT=$a_tls TB_A_SIP_PORT=$a_sip TB_B_TLS_PORT=$b_tls TB_B_SIP_PORT=$b_sip
export TB_C_TLS_PORT=$((base + 5)) TB_C_SIP_PORT=$((base + 4))
export TB_INSECURE_TLS_PORT=$((base + 7)) TB_INSECURE_SIP_PORT=$((base + 6))

# start_a / start_b [ARGS] - the two federating proxies of the testbed (extra ARGS appended)
start_a() {
	start_proxy A --domain a.example --listen "sip:127.0.0.1:$a_sip;transport=udp" \
		--listen "sips:127.0.0.1:$a_tls;transport=tls" --cert "$TB_CERT_A" --key "$TB_KEY_A" \
		--resolver "$TB_RESOLVER" --trust-anchor "$TB_ANCHOR" --trusted 127.0.0.1/32 --log-level debug "$@"
}
start_b() {
	bname=${BNAME:-B}
	start_proxy "$bname" --domain b.example --listen "sip:127.0.0.2:$b_sip;transport=udp" \
		--listen "sips:127.0.0.2:$b_tls;transport=tls" --cert "${BCERT:-$TB_CERT_B}" \
		--key "${BKEY:-$TB_KEY_B}" --location "bob@b.example=sip:bob@127.0.0.2:$uas_p" \
		--resolver "$TB_RESOLVER" --trust-anchor "$TB_ANCHOR" --trusted 127.0.0.1/32 --log-level debug "$@"
}

# federation [A-ARGS] - the testbed (TB_TTL as exported), A (extra ARGS) and B up;
# requests come From an IP literal ($fromd) out of 127.0.0.1, which both
# proxies trust (--trusted 127.0.0.1/32: the client stands for a.example's
# PBX, A for a gateway on B's network), so B's inbound side needs no DNS;
# the inbound federation rule is tested in proxy-federation.sh
# A remembers a failed lookup for $fail_ttl s (--dns-failure-ttl: 5 s times vg_slow).
fail_ttl=$((5 * vg_slow))
federation() {
	need knotd keymgr kdig knotc ldns-signzone openssl perl
	start_testbed $dnsp
	start_a --dns-failure-ttl $fail_ttl "$@" || exit 1
	start_b || exit 1
	fromd=127.0.0.1
}

# resolver_flush - behind the testbed's validating Unbound (TB_UNBOUND=1), a change made in knotd
# reaches the proxies once Unbound's caches go too (DS and DNSKEY live an hour there): flushed; in
# the default mode the proxies ask knotd itself and nothing is to be done
resolver_flush() {
	[ "${TB_RESOLVER_MODE:-knot}" = knot ] || $TB_UNBOUND_CONTROL flush_zone . >/dev/null
}

# warm_up - the first request through A to b.example (TLS + DANE) must get 200
warm_up() {
	req sip:b.example "" $fromd
	check "warm-up: OPTIONS sip:b.example through A over TLS+DANE: 200 ($st in ${ms} ms)" [ "$st" = 200 ]
}

# expire - what the records' TTL does, at once: A forgets every cached answer (SIGHUP;
# the testbed's Unbound too, in that mode) and authenticates its connections again
# before reusing them. The tests publish
# records for an hour (TB_TTL=3600) so that nothing expires by itself behind their
# backs; a TTL's own expiry is tested on a fake clock (tests/test_dns.c).
expire() { resolver_flush; hup A; }

# restart_b - B killed and started again: A's authenticated connection to B is
# gone, so A's next request to b.example locates again (a live connection is
# reused without any DNS lookup: see docs/reliability.md)
bn=0
cur_b=B
restart_b() {
	stop_proxy "$cur_b"
	bn=$((bn + 1))
	cur_b=B$bn
	BNAME=$cur_b start_b "$@"
}

# req RURI [PROXY:PORT] [FROMDOMAIN] [WAIT_S] - one OPTIONS over UDP (retransmitted
# every 500 ms, waiting WAIT_S (15) times vg_slow at most); sets $st (final status,
# 000 if none), $reason, $ms (from the first send to the answer)
req() {
	out=$(perl -MIO::Socket::INET -MTime::HiRes=time -e '
		my ($ruri, $dst, $from, $wait, $lport) = @ARGV;
		my $s = IO::Socket::INET->new(PeerAddr => $dst, Proto => "udp", LocalAddr => "127.0.0.1",
			LocalPort => $lport, ReuseAddr => 1) or die "socket: $!";
		my $id = int(rand(1e9)) . "." . $$;
		my $m = "OPTIONS $ruri SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:$lport;branch=z9hG4bK-f$id;rport\r\n" .
			"From: <sip:alice\@$from>;tag=$id\r\nTo: <$ruri>\r\nCall-ID: fault-$id\r\nCSeq: 1 OPTIONS\r\n" .
			"Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n";
		my $t0 = time; my $next = 0; my ($st, $reason) = ("000", "");
		while (time - $t0 < $wait) {
			if (time >= $next) { $s->send($m); $next = time + 0.5; }
			my $rin = ""; vec($rin, fileno($s), 1) = 1;
			next unless select(my $r = $rin, undef, undef, 0.1);
			$s->recv(my $buf, 65535);
			my ($code) = $buf =~ m{^SIP/2\.0 (\d\d\d)};
			next unless $code && $code >= 200 && index($buf, "fault-$id") >= 0;
			$st = $code; ($reason) = $buf =~ /^Reason:\s*(.*?)\r?$/mi; last;
		}
		printf "%s %d %s\n", $st, (time - $t0) * 1000, $reason // "";
	' "$1" "${2:-127.0.0.1:$a_sip}" "${3:-a.example}" "$((${4:-15} * vg_slow))" "$cli_p" 2>&1)
	st=${out%% *}
	out=${out#* }
	ms=${out%% *}
	reason=${out#* }
	[ "$reason" = "$ms" ] && reason=
	return 0
}

# dns_freeze / dns_thaw - the DNS server stops answering (SIGSTOP) and comes back
knotd_pid() { cat "$TB_DIR/knotd.pid"; }
dns_freeze() { kill -STOP "$(knotd_pid)"; }
dns_thaw() { kill -CONT "$(knotd_pid)"; }
# dns_kill / dns_restart - knotd gone (queries refused), then the same knotd again
dns_kill() { "$TESTBED" stop "$TB_DIR" >/dev/null 2>&1; }
dns_restart() {
	knotd -c "$TB_DIR/knot.conf" </dev/null >>"$TB_DIR/knotd.log" 2>&1 &
	echo $! >"$TB_DIR/knotd.pid"
	i=0
	until $TB_KNOTC zone-status b.example. 2>/dev/null | grep -q 'serial: [1-9]'; do
		i=$((i + 1)); [ $i -gt $((50 * vg_slow)) ] && return 1
		kill -0 "$(knotd_pid)" 2>/dev/null || return 1
		sleep 0.1
	done
}

# fds PID / rss_kb PID - open descriptors, resident size
fds() { ls "/proc/$1/fd" 2>/dev/null | wc -l; }
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null; }

# until_ok SECONDS CMD... - retry CMD every 0.5 s until it succeeds or SECONDS (times
# vg_slow) pass
until_ok() {
	lim=$(($(date +%s) + $1 * vg_slow)); shift
	while ! "$@"; do
		[ "$(date +%s)" -ge "$lim" ] && return 1
		sleep 0.5
	done
}

# asked - how many DNS queries A has sent (its debug log)
asked() { grep -c "dns: .*: asking" "$tmp/A.log"; }

# dns_outage freeze|down - the DNS server stops answering (knotd SIGSTOPped:
# every query times out) or is killed (queries refused at once) under a
# running federation. Cached answers keep serving; once they are gone (expire)
# b.example fails with an explained 503 after A's DNS timeout, never a 200 over
# an unauthenticated path and never timer F's 408; the failure is cached
# (--dns-failure-ttl) so the next request fails without a query; service
# resumes by itself within that time once DNS answers again. A reuses a live
# authenticated connection without any DNS lookup, so before each check B is
# restarted (restart_b) to make A locate b.example again.
dns_outage() {
	what="DNS frozen"
	[ "$1" = down ] && what="DNS down"
	export TB_TTL=3600
	federation
	warm_up
	fd0=$(fds "$A_pid")
	if [ "$1" = down ]; then dns_kill; else dns_freeze; fi
	restart_b
	req sip:b.example "" $fromd
	check "$what, answers still cached: new connection authenticated, 200 ($st in ${ms} ms)" [ "$st" = 200 ]
	expire
	restart_b
	req sip:b.example "" $fromd
	case "$st $reason" in
	503\ *INDETERMINATE*) check "$what, cache gone: 503 in ${ms} ms (a bound: 10 s times vg_slow), Reason: $reason" \
		[ "$ms" -lt $((10000 * vg_slow)) ] ;;
	*) bad "$what, cache gone: 503 with a Reason naming INDETERMINATE expected, got $st in ${ms} ms" "$reason" ;;
	esac
	q0=$(asked)
	req sip:b.example "" $fromd
	check "$what still: the next request refused from the cached failure, no new query ($st in ${ms} ms)" \
		eval '[ "$st" = 503 ] && [ "$(asked)" = "$q0" ]'
	check "no 408 and no request reached B while DNS was down" \
		eval '! grep -q "OPTIONS sip:b.example" "$tmp/$cur_b.log"'
	t0=$(date +%s)
	if [ "$1" = down ]; then dns_restart || bad "the same knotd started again"; else dns_thaw; fi
	if until_ok $((fail_ttl / vg_slow + 15)) eval 'req sip:b.example "" $fromd 5; [ "$st" = 200 ]'; then
		ok "DNS answers again: service resumed by itself after $(($(date +%s) - t0)) s (failure cache $fail_ttl s)"
	else
		bad "service resumed after DNS came back (last $st)" "$reason"
	fi
	fd1=$(fds "$A_pid")
	check "descriptors of A bounded ($fd0 -> $fd1)" [ "$fd1" -le $((fd0 + 10)) ]
	check "proxy A still running" kill -0 "$A_pid"
	finish
}
