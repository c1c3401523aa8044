#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# proxy-malformed.sh - malformed SIP from the network never crashes or hangs
# sipdance-proxy: garbage, binary noise, oversized headers and bodies,
# missing Via/From/CSeq, lying Content-Length, truncated messages, plain text
# to the TLS port, over UDP, TCP and TLS. After each one the proxy must
# still be running and answer an OPTIONS (with its Digest challenge: the
# proxy runs its default configuration, every request unauthenticated).
. "${srcdir:-.}/tests/proxy-lib.sh"
# ports: a block of our own (tests/ports.sh)
base=$("${srcdir:-.}/tests/ports.sh" $$)
P=$base T=$((base + 1)) D=$((base + 2)) opt_p=$((base + 3)) opt_m=$((base + 4)) opt_c=$((base + 8))
need sipp perl openssl

cert=$srcdir/tests/data/certs
start_proxy M --domain a.example --listen "sip:127.0.0.1:$P;transport=udp" \
	--listen "sip:127.0.0.1:$P;transport=tcp" --listen "sips:127.0.0.1:$T;transport=tls" \
	--cert "$cert/ee.pem" --key "$cert/ee.key" --log-level debug || exit 1

# raw PROTO PORT FILE - send FILE's bytes over udp or tcp, read for a moment, close
raw() {
	perl -MIO::Socket::INET -e '
		my ($proto, $port, $file) = @ARGV;
		open(my $fh, "<", $file) or die; binmode $fh; local $/; my $data = <$fh>;
		my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1", PeerPort => $port, Proto => $proto,
			Timeout => 2) or exit 0;
		if ($proto eq "udp") { $s->send($data) } else { print $s $data }
		my $rin = ""; vec($rin, fileno($s), 1) = 1; select(my $r = $rin, undef, undef, 0.3);
		close $s;' "$@" 2>/dev/null
}

# alive NAME - the proxy still runs and answers
alive() {
	if ! kill -0 "$M_pid" 2>/dev/null; then
		bad "$1: proxy died" "$(tail -n 20 "$tmp/M.log")"
		return
	fi
	sipp_run alive 127.0.0.1:$P -sf "$srcdir/tests/sip-options.xml" -i 127.0.0.1 -p $opt_p \
		-mp $opt_m -cp $opt_c -s nobody -key rdomain a.example -key fromdomain a.example
	if [ "$(status "$tmp/alive.msg")" = 407 ]; then ok "$1"; else bad "$1: no answer afterwards"; fi
	rm -f "$tmp/alive.msg"
}

# req FILE VIA FROM CSEQ - a request with the given header lines (empty: left out)
req() {
	{
		printf 'OPTIONS sip:bob@a.example SIP/2.0\r\n'
		[ -n "$2" ] && printf 'Via: %s\r\n' "$2"
		[ -n "$3" ] && printf 'From: %s\r\n' "$3"
		printf 'To: <sip:bob@a.example>\r\nCall-ID: malformed-%s@test\r\n' "$$"
		[ -n "$4" ] && printf 'CSeq: %s\r\n' "$4"
		printf 'Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n'
	} >"$1"
}
via="SIP/2.0/UDP 127.0.0.1:$D;branch=z9hG4bK-mal"
from="<sip:x@a.example>;tag=1"

head -c 3000 /dev/urandom >"$tmp/noise"
for proto in udp tcp; do
	raw $proto $P "$tmp/noise"
	alive "$proto: 3000 bytes of random noise"
done
printf 'HELLO WORLD\r\n\r\n' >"$tmp/g1"; raw udp $P "$tmp/g1"; alive "udp: not a SIP message"
printf 'INVITE\r\n\r\n' >"$tmp/g2"; raw tcp $P "$tmp/g2"; alive "tcp: truncated request line"
req "$tmp/novia" "" "$from" "1 OPTIONS"; raw udp $P "$tmp/novia"; alive "udp: request without Via"
raw tcp $P "$tmp/novia"; alive "tcp: request without Via"
req "$tmp/nofrom" "$via" "" "1 OPTIONS"; raw udp $P "$tmp/nofrom"; alive "udp: request without From"
req "$tmp/nocseq" "$via" "$from" ""; raw udp $P "$tmp/nocseq"; alive "udp: request without CSeq"
req "$tmp/badcseq" "$via" "$from" "x OPTIONS"; raw udp $P "$tmp/badcseq"; alive "udp: unparsable CSeq"
req "$tmp/badvia" "SIP/3.0/FOO ::::" "$from" "1 OPTIONS"; raw udp $P "$tmp/badvia"; alive "udp: unparsable Via"
req "$tmp/badfrom" "$via" "<sip:@@@>;tag" "1 OPTIONS"; raw udp $P "$tmp/badfrom"; alive "udp: unparsable From"
sed 's/Content-Length: 0/Content-Length: 100000/' "$tmp/novia" >"$tmp/cl"
req "$tmp/cl" "$via" "$from" "1 OPTIONS"
sed -i 's/Content-Length: 0/Content-Length: 100000/' "$tmp/cl"
raw tcp $P "$tmp/cl"; alive "tcp: Content-Length far beyond the data"
{ printf 'OPTIONS sip:bob@a.example SIP/2.0\r\nVia: %s\r\nX-Big: ' "$via"; head -c 200000 /dev/zero | tr '\0' a
  printf '\r\nFrom: %s\r\nTo: <sip:bob@a.example>\r\nCall-ID: big@test\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n' "$from"; } >"$tmp/big"
raw tcp $P "$tmp/big"; alive "tcp: a 200 kB header"
head -c 60000 "$tmp/big" >"$tmp/big-udp"; raw udp $P "$tmp/big-udp"; alive "udp: a 60 kB datagram"
{ printf 'OPTIONS sip:bob@a.example SIP/2.0\r\nVia: %s\r\nFrom: %s\r\nTo: <sip:bob@a.example>\r\nCall-ID: many@test\r\nCSeq: 1 OPTIONS\r\n' "$via" "$from"
  i=0; while [ $i -lt 3000 ]; do printf 'Route: <sip:r%d.example;lr>\r\n' $i; i=$((i + 1)); done
  printf 'Content-Length: 0\r\n\r\n'; } >"$tmp/many"
raw tcp $P "$tmp/many"; alive "tcp: 3000 Route headers"
printf 'OPTIONS sip:bob@a.example SIP/2.0\r\nVia: %s\r\nFr\0om: x\r\n\r\n' "$via" >"$tmp/nul"
raw udp $P "$tmp/nul"; alive "udp: NUL byte in a header name"
raw tcp $T "$tmp/novia"; alive "tls port: plain text instead of a ClientHello"
tls_req 127.0.0.1:$T "$tmp/noise" "$tmp/noise.out"
alive "tls: random noise inside a TLS connection"
tls_req 127.0.0.1:$T "$tmp/big" "$tmp/big.out"
alive "tls: a 200 kB header inside a TLS connection"
stop_proxy M
check "SIGTERM after the abuse: drained and exited" grep -q 'drained, exiting' "$tmp/M.log"
finish
