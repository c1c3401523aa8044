#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# fault-x5u.sh - the x5u server of a PASSporT misbehaves: slow (accepts, never
# answers), unreachable (nothing listens), huge (10 MB body), and, as the
# control, good. Verification fails with 436 (no certificate) within the
# configured timeout (--timeout 1000, times vg_slow), never hangs, never accepts. Driven
# through the library CLI (`sipdance passport verify --x5u-cache`); the same
# faults at sipdance-proxy --stir verify, with other calls routing meanwhile,
# are tests/fault-x5u-proxy.sh. Last, a name lookup that never ends.
. "${srcdir:-.}/tests/proxy-lib.sh"
need perl openssl
sd=$("${srcdir:-.}/tests/valgrind.sh" "${top_builddir:-.}/sipdance")
data=$srcdir/tests/data/stir
base=$("${srcdir:-.}/tests/ports.sh" $$)
good=$base slow=$((base + 1)) dead=$((base + 2)) huge=$((base + 3))
# xt - the x5u timeout (1000 ms, times vg_slow: a valgrinded fetch from the good server
# must fit in it). "Within the timeout" is the Reason's own figure and path ("timed out
# after $xt ms", "refused", "larger than"), and the program ending by itself (exit 1, not
# the 124 of the hang guard, 20 s times vg_slow): its wall time is mostly its start and
# exit (16 s under valgrind on busy cores), so it is printed, not compared.
xt=$((1000 * vg_slow))

# http PORT MODE - a loopback HTTP server: good (the chain), slow (never answers), huge (10 MB)
http() {
	perl -MIO::Socket::INET -e '
		my ($port, $mode, $file) = @ARGV;
		my $l = IO::Socket::INET->new(LocalAddr => "127.0.0.1:$port", Listen => 16, ReuseAddr => 1) or die "$!";
		my @held;
		my $pem = do { open(my $fh, "<", $file) or die; local $/; <$fh> };
		while (my $c = $l->accept) {
			if ($mode eq "slow") { push @held, $c; next }
			my $req = ""; while (<$c>) { last if /^\r?$/ }
			my $body = $mode eq "huge" ? ("A" x (10 * 1024 * 1024)) : $pem;
			print $c "HTTP/1.1 200 OK\r\nContent-Type: application/pem-certificate-chain\r\nContent-Length: " .
				length($body) . "\r\nConnection: close\r\n\r\n" . $body;
			close $c;
		}' "$1" "$2" "$data/ee-chain.pem" >"$tmp/http-$2.log" 2>&1 &
	pids="$pids $!"
}
http $good good
http $slow slow
http $huge huge
for p in $good $slow $huge; do "$wait_for" -t "127.0.0.1:$p" || bad "HTTP server on port $p"; done

# verify PORT [HOST] - sign for x5u on HOST:PORT (127.0.0.1), verify with a fresh cache; sets $rc $out $ms
verify() {
	x5u=http://${2:-127.0.0.1}:$1/ee-chain.pem
	id=$("$sd" passport sign --key "$data/ee.key" --x5u "$x5u" --orig 12025551000 --dest 12025552000 --attest A)
	rm -rf "$tmp/cache"; mkdir "$tmp/cache"
	t0=$(date +%s%N)
	out=$(timeout $((20 * vg_slow)) "$sd" passport verify --x5u-cache "$tmp/cache" --ca-file "$data/root.pem" --timeout $xt \
		--x5u-allow-private --x5u-allow-any-port --x5u-allow-http "$id" 2>&1)
	rc=$?
	ms=$(elapsed_ms "$t0")
}

verify $good
check "control: x5u served at once: valid (exit $rc in ${ms} ms)" [ "$rc" = 0 ]
verify $slow
case "$out" in
status=43[67]*) check "slow x5u server: $out, exit $rc in ${ms} ms (timeout $xt ms)" \
	eval '[ "$rc" = 1 ] && echo "$out" | grep -q "timed out after $xt ms"' ;;
*) bad "slow x5u server: 436/437 within the timeout (exit $rc in ${ms} ms)" "$out" ;;
esac
verify $dead
case "$out" in
status=43[67]*) check "unreachable x5u server: $out, exit $rc in ${ms} ms" \
	eval '[ "$rc" = 1 ] && echo "$out" | grep -q "Connection refused"' ;;
*) bad "unreachable x5u server: 436/437 (exit $rc in ${ms} ms)" "$out" ;;
esac
verify $huge
case "$out" in
status=43[67]*) check "10 MB x5u body: $out, exit $rc in ${ms} ms" \
	eval '[ "$rc" = 1 ] && echo "$out" | grep -q "larger than 65536 bytes"' ;;
*) bad "10 MB x5u body: 436/437 (exit $rc in ${ms} ms)" "$out" ;;
esac
check "nothing was cached from the failed fetches" eval '[ -z "$(ls -A "$tmp/cache")" ]'
# a name server that never answers: the lookup (tests/slowdns.c holds names under slow.test
# for 30 s) ends with the fetch's timeout too
slow_lookups on
verify $good x5u.slow.test
slow_lookups off
case "$out" in
"status=436 reason=\"x5u name lookup of x5u.slow.test timed out after $xt ms\"") check \
	"slow name lookup: $out, exit $rc in ${ms} ms" [ "$rc" = 1 ] ;;
*) bad "slow name lookup: 436 within the timeout (exit $rc in ${ms} ms)" "$out" ;;
esac
finish
