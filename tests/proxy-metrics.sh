#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# proxy-metrics.sh - sipdance-proxy --metrics on the Knot testbed: proxy a.example serves Prometheus
# text on 127.0.0.1 (the default address), scraped before and after traffic: inbound TLS connections
# from b.example (DANE-authenticated, one OPTIONS each), OPTIONS it sends over TLS+DANE to a b.example
# server, and SIPp's OPTIONS to a domain whose TLSA is bogus (refused) and to a local user. Asserted:
# each counter moved by what the traffic did (requests, responses by class, decisions by rule and
# verdict, handshakes by outcome, DNS lookups and their histogram), the gauges are there (RSS,
# connections, transactions). Then what a hostile scraper gets: 405 for another method, 404 for
# another path, 431 for a head past 1 kB, a silent connection closed by the proxy, and the proxy
# still serving afterwards.
. "${srcdir:-.}/tests/proxy-lib.sh"
need knotd keymgr kdig ldns-signzone openssl python3 sipp
base=$("${srcdir:-.}/tests/ports.sh" $$)
a_sip=$base a_tls=$((base + 1)) b_sip=$((base + 2)) b_tls=$((base + 3)) dnsp=$((base + 8)) mport=$((base + 9))
export TB_A_TLS_PORT=$a_tls TB_A_SIP_PORT=$a_sip TB_B_TLS_PORT=$b_tls TB_B_SIP_PORT=$b_sip
export TB_C_TLS_PORT=$((base + 4)) TB_C_SIP_PORT=$((base + 5)) TB_INSECURE_TLS_PORT=$((base + 6))
export TB_INSECURE_SIP_PORT=$((base + 7))
start_testbed $dnsp
churn="$srcdir/tests/tls-churn.py"
get="$srcdir/tests/http-get.py"
to=$((10 * vg_slow))

start_proxy A --domain a.example --listen "sip:127.0.0.1:$a_sip;transport=tcp" \
	--listen "sips:127.0.0.1:$a_tls;transport=tls" --cert "$TB_CERT_A" --key "$TB_KEY_A" \
	--trusted 127.0.0.1/32 --resolver "$TB_RESOLVER" --trust-anchor "$TB_ANCHOR" --metrics "$mport" || exit 1

# scrape FILE - the metrics into FILE; fails unless the answer is a 200
scrape() {
	python3 "$get" 127.0.0.1 "$mport" --timeout "$to" >"$1" && grep -q '^HTTP/1.0 200 OK' "$1"
}
# val FILE SERIES - the value of SERIES (name with labels, as printed) in FILE, 0 if absent
val() {
	awk -v s="$2" '$1 == s { v = $2 } END { print v + 0 }' "$1"
}
# moved NAME SERIES N - SERIES grew by at least N from before to after
moved() {
	b=$(val "$tmp/before" "$2") a=$(val "$tmp/after" "$2")
	check "$1: $2 $b -> $a (at least +$3)" [ $((a - b)) -ge "$3" ]
}

check "the metrics answer on 127.0.0.1:$mport with Prometheus text" scrape "$tmp/before"
check "the content type is Prometheus text 0.0.4" grep -qi '^Content-Type: text/plain; version=0.0.4' "$tmp/before"

# traffic: 5 inbound TLS connections from b.example
python3 "$churn" client 127.0.0.1 "$a_tls" --cert "$TB_CERT_B" --key "$TB_KEY_B" --sni a.example \
	--from sip:metrics@b.example --ruri sip:a.example -n 5 --timeout "$to" >"$tmp/in.out" 2>&1
check "5 inbound TLS requests answered 2xx" grep -q '^churn ok=5 failed=0' "$tmp/in.out"
# 3 outbound over TLS+DANE to a b.example server that closes each connection
python3 "$churn" server 127.0.0.2 "$b_tls" --cert "$TB_CERT_B" --key "$TB_KEY_B" --wait-close \
	--timeout "$to" >"$tmp/server.log" 2>&1 &
pids="$pids $!"
"$wait_for" -t "$b_tls" || bad "the b.example server listens"
python3 "$churn" tcp 127.0.0.1 "$a_sip" --sync "$tmp/server.log" --from sip:metrics@a.example \
	--ruri sip:b.example -n 3 --timeout "$to" >"$tmp/out.out" 2>&1
check "3 outbound requests answered 2xx" grep -q '^churn ok=3 failed=0' "$tmp/out.out"
# SIPp over TCP: an OPTIONS towards a domain whose TLSA is bogus (refused with 502 before any
# connection), and one for an unregistered user of a.example (answered by A itself)
sipp_run bogus 127.0.0.1:$a_sip -sf "$srcdir/tests/sip-options.xml" -t t1 -i 127.0.0.1 -p $((base + 20)) \
	-s bob -key rdomain badsig.example -key fromdomain a.example
check "SIPp: the OPTIONS to badsig.example refused with 502" [ "$(status "$tmp/bogus.msg")" = 502 ]
sipp_run local 127.0.0.1:$a_sip -sf "$srcdir/tests/sip-options.xml" -t t1 -i 127.0.0.1 -p $((base + 21)) \
	-s nobody -key rdomain a.example -key fromdomain a.example
st=$(status "$tmp/local.msg")
check "SIPp: the OPTIONS for nobody@a.example answered by A ($st)" [ -n "$st" ]

check "scraped again" scrape "$tmp/after"
moved "requests" sipdance_requests_total 10
moved "responses" 'sipdance_responses_total{class="2xx"}' 8
moved "responses" 'sipdance_responses_total{class="5xx"}' 1
moved "TLS" 'sipdance_tls_handshakes_total{direction="inbound",outcome="ok"}' 5
moved "TLS" 'sipdance_tls_handshakes_total{direction="outbound",outcome="ok"}' 3
moved "decisions" 'sipdance_decisions_total{rule="secure-tlsa",verdict="MATCH"}' 3
moved "decisions" 'sipdance_decisions_total{rule="trusted",verdict="MATCH"}' 3
check "decisions: the bogus TLSA counted as a REFUSE" \
	grep -q '^sipdance_decisions_total{rule="[a-z-]*",verdict="REFUSE"} [1-9]' "$tmp/after"
dns=$(awk '$1 ~ /^sipdance_dns_lookups_total\{.*source="resolver"\}$/ { n += $2 } END { print n + 0 }' "$tmp/after")
check "DNS lookups sent to the resolver counted ($dns)" [ "$dns" -ge 3 ]
check "DNS: a BOGUS lookup counted" grep -q '^sipdance_dns_lookups_total{type="[A-Z]*",status="BOGUS",source="resolver"} [1-9]' "$tmp/after"
moved "DNS latency histogram" 'sipdance_dns_lookup_seconds_bucket{le="+Inf"}' 3
check "histogram count equals its +Inf bucket" [ "$(val "$tmp/after" sipdance_dns_lookup_seconds_count)" -eq \
	"$(val "$tmp/after" 'sipdance_dns_lookup_seconds_bucket{le="+Inf"}')" ]
rss=$(val "$tmp/after" sipdance_resident_memory_bytes)
check "RSS reported ($rss bytes, at least 1 MB)" [ "$rss" -ge 1000000 ]
check "gauges: transactions pending and connections open" grep -q '^sipdance_transactions_pending 0$' "$tmp/after"
check "gauges: inbound connections open" grep -q '^sipdance_connections_open{direction="inbound",transport="any"} [0-9]' "$tmp/after"

# hostile scrapers
python3 "$get" 127.0.0.1 "$mport" 'POST /metrics HTTP/1.0\r\n\r\n' --timeout "$to" >"$tmp/post" 2>&1
check "POST gets 405" grep -q '^HTTP/1.0 405 ' "$tmp/post"
python3 "$get" 127.0.0.1 "$mport" 'GET /metrics/../etc HTTP/1.0\r\n\r\n' --timeout "$to" >"$tmp/path" 2>&1
check "another path gets 404" grep -q '^HTTP/1.0 404 ' "$tmp/path"
python3 "$get" 127.0.0.1 "$mport" --flood 4000 --timeout "$to" >"$tmp/flood" 2>&1
check "a head past 1 kB gets 431" grep -q '^HTTP/1.0 431 ' "$tmp/flood"
python3 "$get" 127.0.0.1 "$mport" --silent --timeout $((30 * vg_slow)) >"$tmp/silent" 2>&1
check "a silent scraper is disconnected by the proxy" grep -q '^closed$' "$tmp/silent"
check "served after all that" scrape "$tmp/last"
check "listening on 127.0.0.1 only" grep -q "^ *[0-9]*: 0100007F:$(printf '%04X' "$mport") 00000000:0000 0A" /proc/net/tcp
finish
