#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# clientid-bench.sh BUILDDIR [N] [FLOOD] - DANCE client authentication at a server, on the Knot testbed:
#  1. bench/clientid-bench auth N: the server's time per handshake, alice authenticated by her shipped
#     DNSSEC chain, by a TLSA lookup (DNS warm, DNS cold), and with no client authentication (the floor);
#  2. sipdance-proxy under a flood of FLOOD TLS handshakes each naming a made-up user, with
#     --client-chain required, prefer and off (the lookup path), and prefer with a flood that ships
#     a chain (alice's, under the made-up names): the DNS queries knotd answered meanwhile (its own
#     counters), and the latency of ordinary requests routed by the proxy meanwhile (OPTIONS over
#     UDP to a local endpoint, one after another), against the same with no flood.
# Results go to docs/benchmarks.md by hand.
set -u
build=$(cd "$1" && pwd) n=${2:-300} nflood=${3:-300}
top=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/sipdance-clientid-bench.XXXXXX")
base=$((41000 + $$ % 500 * 10))
pids=
trap 'for p in $pids; do kill $p 2>/dev/null; done; "$top/tests/testbed/testbed.sh" stop "$tmp/tb" >/dev/null 2>&1; rm -rf "$tmp"' EXIT INT TERM
export TB_TTL=3600 TB_A_TLS_PORT=$((base + 1)) TB_A_SIP_PORT=$base
"$top/tests/testbed/testbed.sh" start "$tmp/tb" $((base + 8)) >/dev/null || exit 1
. "$tmp/tb/env.sh"
alice=$("$build/sipdance" user-name alice@a.example)
"$build/sipdance" chain build --trust-anchor "$TB_ANCHOR" --resolver "$TB_RESOLVER" --name "$alice" \
	--out "$tmp/alice.ext" >/dev/null || exit 1

echo "== server cost per DANCE client authentication (N=$n, one thread, memory BIO pair)"
CHAIN=$tmp/alice.ext "$build/bench/clientid-bench" auth "$n" || exit 1

queries() { $TB_KNOTC stats mod-stats | awk -F'[][ =]+' '/query-type/ { s += $NF } END { print s + 0 }'; }
# latency K - K OPTIONS through the proxy to the endpoint, one after another: "p50 p90 max" in ms
latency() {
	python3 - "$base" "$1" <<'PY'
import socket, sys, time
port, k = int(sys.argv[1]), int(sys.argv[2])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0))
s.settimeout(5)
me = s.getsockname()[1]
t = []
for i in range(k):
    m = ("OPTIONS sip:carol@a.example SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bK-l%d-%d;rport\r\n"
         "From: <sip:gw@a.example>;tag=l%d\r\nTo: <sip:carol@a.example>\r\nCall-ID: l%d-%d@bench\r\n"
         "CSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n") % (me, i, me, i, i, me)
    t0 = time.monotonic()
    s.sendto(m.encode(), ("127.0.0.1", port))
    while True:
        try:
            d = s.recv(65535).decode("utf-8", "replace")
        except socket.timeout:
            d = "SIP/2.0 000 timeout"
        if not d.startswith("SIP/2.0 1"):
            break
    t.append((time.monotonic() - t0) * 1000)
    time.sleep(0.005)
t.sort()
print("%.1f %.1f %.1f" % (t[len(t) // 2], t[len(t) * 9 // 10], t[-1]))
PY
}
python3 "$top/tests/kamailio-listen.py" udp 127.0.0.1 $((base + 5)) "$tmp/ep.log" >"$tmp/ep.out" 2>&1 &
pids="$pids $!"
"$top/tests/wait-for.sh" "$tmp/ep.out" listening
echo
echo "== a flood of $nflood handshakes naming made-up users; meanwhile 200 ordinary requests through the proxy"
printf '%-46s %12s %22s %22s\n' "proxy" "DNS queries" "latency, no flood" "latency, flood"
printf '%-46s %12s %22s %22s\n' "" "(knotd)" "p50 / p90 / max ms" "p50 / p90 / max ms"
for mode in required prefer off prefer-ship; do
	cc=${mode%-ship}
	"$build/sipdance-proxy" --domain a.example --listen "sip:127.0.0.1:$base;transport=udp" \
		--listen "sips:127.0.0.1:$((base + 1));transport=tls" --cert "$TB_CERT_A" --key "$TB_KEY_A" \
		--resolver "$TB_RESOLVER" --trust-anchor "$TB_ANCHOR" --client-chain "$cc" --trusted 127.0.0.1/32 \
		--location "carol@a.example=sip:carol@127.0.0.1:$((base + 5))" --max-source-handshakes 1000000 \
		--max-source-connections 100000 --log-level info >"$tmp/proxy-$mode.log" 2>&1 &
	pp=$!
	pids="$pids $pp"
	"$top/tests/wait-for.sh" "$tmp/proxy-$mode.log" serving 10 || { cat "$tmp/proxy-$mode.log"; exit 1; }
	quiet=$(latency 200)
	ship=
	[ "$mode" = prefer-ship ] && ship=$tmp/alice.ext
	q0=$(queries)
	"$build/bench/clientid-bench" flood 127.0.0.1 $((base + 1)) "$nflood" "$TB_CERT_WRONG" "$TB_KEY_WRONG" \
		$ship >"$tmp/flood.out" 2>&1 &
	fp=$!
	busy=$(latency 200)
	wait $fp
	q1=$(queries)
	printf '%-46s %12s %22s %22s   %s\n' "--client-chain $cc${ship:+, the flood ships a chain}" "$((q1 - q0))" \
		"$(echo "$quiet" | sed 's| | / |g')" "$(echo "$busy" | sed 's| | / |g')" "$(cat "$tmp/flood.out")"
	kill $pp
	wait $pp 2>/dev/null
done
