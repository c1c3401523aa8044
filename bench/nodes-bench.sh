#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# nodes-bench.sh - what reaching a user's TLS flow through another node costs, same box, same run:
# two nodes of a.example sharing Redis (the Knot testbed, tests/proxy-nodes.sh's layout), alice's
# sipdance-ua registered over TLS at node 1; SIPp sends OPTIONS for alice (a PBX on 127.0.0.1)
#   direct:  SIPp --UDP--> node 1 (HGETALL, then her flow)                     --TLS--> alice
#   through: SIPp --UDP--> node 2 (HGETALL, then node 1) --TLS--> node 1 (her flow) --TLS--> alice
# Prints requests answered and failed, SIPp's mean response time (1 ms resolution) and the CPU
# each node spent per request.
#
#   bench/nodes-bench.sh BUILD-DIR [RATES] [SECONDS]   defaults: "200 400", 10 s per step
set -u
srcdir=$(cd "$(dirname "$0")/.." && pwd)
top_builddir=$(cd "${1:?usage: nodes-bench.sh BUILD-DIR [RATES] [SECONDS]}" && pwd)
rates=${2:-200 400}
secs=${3:-10}
export srcdir top_builddir
. "$srcdir/tests/proxy-lib.sh"
need sipp redis-server knotd keymgr kdig ldns-signzone openssl
hz=$(getconf CLK_TCK)
federation_ports
R=$((base + 36)) ua_p=$((base + 40)) N2=127.0.0.5
export TB_A2_ADDR=$N2
start_testbed "$dnsp"
redis-server --port $R --bind 127.0.0.1 --save "" --appendonly no >"$tmp/redis.log" 2>&1 &
pids="$pids $!"
"$wait_for" -t $R || exit 1
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$tmp/secret"
for n in N1:127.0.0.1 N2:$N2; do
	start_proxy "${n%%:*}" --domain a.example --listen "sip:${n#*:}:$a_sip;transport=udp" \
		--listen "sips:${n#*:}:$a_tls;transport=tls" --cert "$TB_CERT_A" --key "$TB_KEY_A" \
		--state "redis://127.0.0.1:$R" --node-id "${n%%:*}" --auth-secret "$tmp/secret" \
		--trusted 127.0.0.1/32 $dns || exit 1
done
"$top_builddir/examples/sipdance-ua" --aor sip:alice@a.example --listen "sip:127.0.0.1:$ua_p" --answer \
	--duration 3600 --registrar "sips:127.0.0.1:$a_tls;transport=tls" --tls-cert "$TB_CERT_ALICE" \
	--tls-key "$TB_KEY_ALICE" --tls-listen "sips:127.0.0.1:$((ua_p + 1));transport=tls" \
	--cert "$TB_CERT_ALICE" --key "$TB_KEY_ALICE" >"$tmp/ua.log" 2>&1 &
pids="$pids $!"
"$wait_for" "$tmp/ua.log" "registered" || exit 1
# the scenario of the tests, its 200 timed
sed 's|<recv response="200" optional="true" next="end"/>|<recv response="200" optional="true" next="end" rtd="true"/>|' \
	"$srcdir/tests/sip-options.xml" >"$tmp/options.xml"

# ticks PID - CPU clock ticks (user + system) of PID
ticks() { awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"; }

printf '| path    | req/s | requests | ok / failed  | mean ms | node 1 us/req | node 2 us/req |\n'
printf '|---------|-------|----------|--------------|---------|---------------|---------------|\n'
for rate in $rates; do
	for path in direct:127.0.0.1 through:$N2; do
		m=$((rate * secs)) csv="$tmp/${path%%:*}-$rate.csv"
		a1=$(ticks "$N1_pid") a2=$(ticks "$N2_pid")
		timeout $((secs * 4 + 30)) sipp "${path#*:}:$a_sip" -sf "$tmp/options.xml" -i 127.0.0.1 -p $opt_p \
			-mp $opt_m -cp $opt_c -s alice -key rdomain a.example -key fromdomain a.example -r "$rate" \
			-m $m -nostdin -trace_stat -stf "$csv" -fd 3600 >/dev/null 2>&1
		b1=$(ticks "$N1_pid") b2=$(ticks "$N2_pid")
		# SuccessfulCall(C), FailedCall(C), ResponseTime1(C): columns 16, 18, 70
		tail -n 1 "$csv" | awk -F';' -v p="${path%%:*}" -v r="$rate" -v m="$m" -v hz="$hz" \
			-v c1=$((b1 - a1)) -v c2=$((b2 - a2)) '{
			split($70, t, ":"); ms = (t[1] * 3600 + t[2] * 60 + t[3]) * 1000 + t[4] / 1000
			printf "| %-7s | %5d | %8d | %5d / %-4d | %7.1f | %13.0f | %13.0f |\n", p, r, m, $16, $18, ms,
				c1 * 1e6 / hz / m, c2 * 1e6 / hz / m }'
	done
done
finish >/dev/null
