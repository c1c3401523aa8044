#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# proxy-churn.sh - no memory per TLS connection: proxy a.example under connection churn in both
# directions on the Knot testbed. Inbound: fresh TLS connections from b.example (its certificate,
# authenticated by DANE for From b.example), one OPTIONS each, closed. Outbound: OPTIONS to
# b.example over TCP, which A sends over TLS+DANE to a b.example server that answers and closes
# every connection, so each request opens a new one. Asserted per direction, after a warm-up: every
# request answered 2xx, and A's RSS grows by at most CHURN_MAX_BYTES (1024) per connection, as the
# least-squares slope over CHURN_N (1000) connections (a count, never a time). Then 100 requests
# that race the server's close: A reuses a connection the peer just closed, and sends once more on a
# new one (all answered 2xx). Under valgrind and
# in an ASan build, where RSS measures the checker, 50 connections each way and no RSS check: what
# they find there is a connection's SSL freed wrongly (twice, or while still in use).
. "${srcdir:-.}/tests/proxy-lib.sh"
need knotd keymgr kdig ldns-signzone openssl python3
rss=1
[ -n "${VALGRIND-}" ] && rss= why="valgrind"
for f in "$top_builddir/.libs/sipdance-proxy" "$top_builddir/.libs/lt-sipdance-proxy" "$top_builddir/sipdance-proxy"; do
	[ -f "$f" ] && grep -qa __asan_init "$f" && rss= why="ASan's quarantine"
done
base=$("${srcdir:-.}/tests/ports.sh" $$)
a_sip=$base a_tls=$((base + 1)) b_sip=$((base + 2)) b_tls=$((base + 3)) dnsp=$((base + 8))
export TB_A_TLS_PORT=$a_tls TB_A_SIP_PORT=$a_sip TB_B_TLS_PORT=$b_tls TB_B_SIP_PORT=$b_sip
export TB_C_TLS_PORT=$((base + 4)) TB_C_SIP_PORT=$((base + 5)) TB_INSECURE_TLS_PORT=$((base + 6))
export TB_INSECURE_SIP_PORT=$((base + 7)) TB_TTL=3600
start_testbed $dnsp
churn="$srcdir/tests/tls-churn.py"
cn=${CHURN_N:-1000} warm=${CHURN_WARM:-200} every=${CHURN_EVERY:-100} max=${CHURN_MAX_BYTES:-1024}
[ -n "$rss" ] || { cn=50 warm=0 every=10; echo "# RSS not checked: it would measure $why"; }

start_proxy A --domain a.example --listen "sip:127.0.0.1:$a_sip;transport=tcp" \
	--listen "sips:127.0.0.1:$a_tls;transport=tls" --cert "$TB_CERT_A" --key "$TB_KEY_A" \
	--trusted 127.0.0.1/32 --max-source-handshakes 1000000 --resolver "$TB_RESOLVER" --trust-anchor "$TB_ANCHOR" --log-level info || exit 1
# server LOG ARGS... - the b.example server (tls-churn.py server) on B's TLS port; its pid in $srv_pid
server() {
	log=$1
	shift
	python3 "$churn" server 127.0.0.2 "$b_tls" --cert "$TB_CERT_B" --key "$TB_KEY_B" --timeout $((10 * vg_slow)) "$@" >"$log" 2>&1 &
	srv_pid=$!
	pids="$pids $!"
	"$wait_for" -t "$b_tls" || bad "the b.example server listens"
}

# slope FILE - least-squares bytes per connection over "at COUNT rss KB" lines past the warm-up
slope() {
	awk -v w="$warm" '$1 == "at" && $2 > w { n++; x = $2; y = $4 * 1024; sx += x; sy += y; sxx += x * x; sxy += x * y }
		END { if (n < 3 || n * sxx == sx * sx) print "nan"; else printf "%.0f\n", (n * sxy - sx * sy) / (n * sxx - sx * sx) }' "$1"
}

# direction NAME ARGS... - one churn run of tls-churn.py; checks its requests and A's RSS slope
direction() {
	name=$1
	shift
	python3 "$churn" "$@" -n $((warm + cn)) --every "$every" --pid "$A_pid" --timeout $((10 * vg_slow)) >"$tmp/$name.out" 2>&1
	res=$(sed -n 's/^churn //p' "$tmp/$name.out")
	check "$name churn: $((warm + cn)) connections, every request answered 2xx ($res)" \
		grep -q "^churn ok=$((warm + cn)) failed=0" "$tmp/$name.out"
	[ -n "$rss" ] || return 0
	s=$(slope "$tmp/$name.out")
	echo "# churn $name $s bytes per connection"
	echo "# $name: A's RSS $(awk '$1 == "at" { if (!f) f = $4; l = $4 } END { print f " -> " l }' "$tmp/$name.out") kB over the connections after the first $every"
	check "$name churn: A's RSS grows $s bytes per connection over $cn connections (at most $max)" \
		awk -v s="$s" -v m="$max" 'BEGIN { exit !(s != "nan" && s <= m) }'
	check "$name churn: A is alive and measured throughout" \
		awk '$1 == "at" && $4 == 0 { bad = 1 } $1 == "at" { n++ } END { exit bad || n < 3 }' "$tmp/$name.out"
}

direction inbound client 127.0.0.1 "$a_tls" --cert "$TB_CERT_B" --key "$TB_KEY_B" --sni a.example \
	--from sip:churn@b.example --ruri sip:a.example
# each request once the server has seen A close the previous connection: nothing fails, nothing
# lingers in nta, what is measured is what a connection costs
server "$tmp/server.log" --wait-close
direction outbound tcp 127.0.0.1 "$a_sip" --sync "$tmp/server.log" --from sip:churn@a.example --ruri sip:b.example
served=$(grep -c '^served' "$tmp/server.log")
check "A opened a new TLS connection for every outbound request ($served served, one per connection)" \
	[ "$served" -eq $((warm + cn)) ]
# without waiting: A may reuse a connection whose close it has not read yet (a peer closing an idle
# connection); nta fails the request, and A sends it once more on a new connection
reap "$srv_pid"
server "$tmp/server-race.log"
python3 "$churn" tcp 127.0.0.1 "$a_sip" -n 100 --timeout $((10 * vg_slow)) --from sip:race@a.example \
	--ruri sip:b.example >"$tmp/race.out" 2>&1
check "requests racing the peer's close of its connection all answered 2xx ($(tail -1 "$tmp/race.out"))" \
	grep -q "^churn ok=100 failed=0" "$tmp/race.out"
# how many raced depends on timing (fewer under valgrind): counted, not asserted
echo "# A sent $(grep -c 'the connection failed before any answer' "$tmp/A.log") request(s) once more"
finish
