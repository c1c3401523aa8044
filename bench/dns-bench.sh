#!/bin/sh
# dns-bench.sh BUILDDIR [N] - validated lookups per second through sipdance_dns
# against the Knot testbed, cold (cache flushed before each lookup) and warm
# (cached), next to kdig +dnssec on the same names in the same run: kdig asks
# without validating, once per process and N times in one process. Knot's
# query counter gives the upstream queries one cold lookup costs.
# Results go to docs/benchmarks.md ("DNS lookups") by hand.
set -u
build=${1:?usage: dns-bench.sh BUILDDIR [N]} n=${2:-300}
top=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap '"$top/tests/testbed/testbed.sh" stop "$tmp/tb" >/dev/null 2>&1; rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM
"$top/tests/testbed/testbed.sh" start "$tmp/tb" $((30000 + $$ % 1000)) >/dev/null || exit 1
. "$tmp/tb/env.sh"
sleep 1 # see tests/dns-live.sh: RRSIG inceptions of the pre-signed zones

# now_us - monotonic enough wall clock in microseconds
now_us() { date +%s%6N; }
# queries - Knot's count of queries so far
queries() { $TB_KNOTC stats mod-stats | sed -n 's/^mod-stats.server-operation\[query\] = //p'; }

echo "N=$n, knotd on $TB_RESOLVER, $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-32s %-6s %8s %10s %10s %10s %12s %12s\n' name type "q/cold" "cold/s" "warm/s" \
	"kdig/s" "kdig-1proc/s" "status"
for q in "_$TB_A_TLS_PORT._tcp.sip.a.example TLSA 52" "_sips._tcp.a.example SRV 33" \
	"a.example NAPTR 35" "sip.a.example A 1" "sip.alias.example A 1" \
	"_$TB_B_TLS_PORT._tcp.sip.nodane.example TLSA 52"; do
	set -- $q
	name=$1 tname=$2 type=$3
	q0=$(queries)
	"$build/bench/dns-bench" "$TB_RESOLVER" "$TB_ANCHOR" 1 cold "$name" "$type" >/dev/null || exit 1
	perlookup=$(( ($(queries) - q0) / 2 )) # the priming lookup and one cold lookup
	cold=$("$build/bench/dns-bench" "$TB_RESOLVER" "$TB_ANCHOR" "$n" cold "$name" "$type") || exit 1
	warm=$("$build/bench/dns-bench" "$TB_RESOLVER" "$TB_ANCHOR" $((n * 100)) warm "$name" "$type") ||
		exit 1
	t0=$(now_us)
	i=0
	while [ $i -lt "$n" ]; do
		kdig +dnssec +norec -p "$TB_PORT" @127.0.0.1 "$name" "$tname" >/dev/null
		i=$((i + 1))
	done
	kdig_proc=$(( n * 1000000 / ($(now_us) - t0) ))
	args=$(i=0; while [ $i -lt "$n" ]; do printf '%s %s ' "$name" "$tname"; i=$((i + 1)); done)
	t0=$(now_us)
	# shellcheck disable=SC2086 # N queries on one command line
	kdig +dnssec +norec -p "$TB_PORT" @127.0.0.1 $args >/dev/null
	kdig_one=$(( n * 1000000 / ($(now_us) - t0) ))
	printf '%-32s %-6s %8s %10s %10s %10s %12s %12s\n' "$name" "$tname" "$perlookup" \
		"$(echo "$cold" | sed 's/.* \([0-9]*\) lookups\/s/\1/')" \
		"$(echo "$warm" | sed 's/.* \([0-9]*\) lookups\/s/\1/')" "$kdig_proc" "$kdig_one" \
		"$(echo "$cold" | cut -d' ' -f3 | tr -d :)"
done
