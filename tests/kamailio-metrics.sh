#!/bin/sh
# kamailio-metrics.sh - the module's counters inside Kamailio: checks run through the example config's test
# hooks (the synchronous and the asynchronous functions) and its federation route, then the counters are read three ways (kamcmd sipdance.stats, Kamailio's
# statistics with kamcmd stats.get_statistics, xhttp_prom's /metrics) and must count exactly the decisions
# the calls returned, summed over the worker processes that made them, and the DNS lookups they caused.
. "${srcdir:-.}/tests/kamailio-lib.sh"
need_env
tb_start
export SD_METRICS_PORT=$((base + 6)) SD_CTL="unix:$tmp/ctl"
kam_start -A WITH_TESTHOOKS -A WITH_METRICS || { bad "kamailio did not start" "$tmp/kam.log"; finish; exit 1; }

# stats - sipdance.stats as one record a line: "decisions rule=R verdict=V count=N", "dns_lookups type=T
# status=S source=C count=N", "buckets le=L count=N", "dns_lookup_seconds sum=X count=N"
stats() {
	kamcmd -s "$SD_CTL" sipdance.stats >"$tmp/stats.raw" 2>&1 || { bad "kamcmd sipdance.stats" "$tmp/stats.raw"; return 1; }
	python3 -c '
import re, sys
stack, rec = [], []
for line in open(sys.argv[1]):
    line = line.strip()
    m = re.match(r"(\w+): (.*)$", line)
    if line.endswith("{"):
        stack.append(m.group(1) if m else (stack[-1] if stack else "")); rec.append([])
    elif line == "}":
        name, fields = stack.pop(), rec.pop()
        if fields: print(name, " ".join(fields))
    elif m:
        rec[-1].append("%s=%s" % m.groups())
' "$tmp/stats.raw" >"$tmp/stats"
}

# field NAME KEY=VALUE... - the count of the record NAME with these fields (0 when absent)
field() {
	local name=$1
	shift
	awk -v n="$name" -v want="$*" 'BEGIN { k = split(want, w, " ") }
		$1 == n { hit = 1; for (i = 1; i <= k; i++) if (index(" " $0 " ", " " w[i] " ") == 0) hit = 0
			  if (hit) for (i = 2; i <= NF; i++) if ($i ~ /^count=/) { sub(/^count=/, "", $i); s += $i } }
		END { print s + 0 }' "$tmp/stats"
}

# dns_total [SOURCE] - lookups counted, all or those of one source
dns_total() { awk -v src="${1-}" '$1 == "dns_lookups" && (src == "" || index($0, "source=" src " ")) {
	for (i = 2; i <= NF; i++) if ($i ~ /^count=/) { sub(/^count=/, "", $i); s += $i } } END { print s + 0 }' "$tmp/stats"; }

stats && [ "$(field decisions)" = 0 ] && [ "$(dns_total)" = 0 ] && ok "a fresh Kamailio counts nothing" ||
	bad "a fresh Kamailio counts something" "$tmp/stats"

# check NAME TRANSPORT HOOK [ARGS...] - one test hook call; its rule and verdict are expected in the counters
: >"$tmp/expected"
check() {
	local name=$1 tp=$2 hook=$3 rule verdict
	shift 3
	sip "$tp" OPTIONS sip:b.example sip:alice@b.example --hdr "X-Sipdance-Test: $hook" "$@"
	rule=$(sed -n 's/^X-Sipdance-Rule: *//p' "$tmp/resp" | tr -d '\r')
	verdict=$(sed -n 's/^X-Sipdance-Verdict: *//p' "$tmp/resp" | tr -d '\r')
	if [ -n "$verdict" ]; then
		echo "${rule:-none} $verdict" >>"$tmp/expected"
		ok "$name: rule ${rule:-none}, verdict $verdict"
	else
		bad "$name: no verdict" "$tmp/resp"
	fi
}

# the same check three times costs the same lookups each time, from the resolver or the cache
stats; d0=$(dns_total)
check "dest a.example" udp dest=a.example
stats; d1=$(dns_total)
check "dest a.example again" udp dest=a.example
stats; d2=$(dns_total)
check "dest a.example a third time" udp dest=a.example
stats; d3=$(dns_total)
[ $((d1 - d0)) -gt 0 ] && [ $((d2 - d1)) = $((d1 - d0)) ] && [ $((d3 - d2)) = $((d1 - d0)) ] &&
	ok "each check of a.example counted the same lookups ($((d1 - d0)))" ||
	bad "lookups counted per check of a.example: $((d1 - d0)), $((d2 - d1)), $((d3 - d2))" "$tmp/stats"
# two UDP workers, three checks: at least one worker repeated its own, from its cache
[ "$(dns_total cache)" -gt 0 ] && ok "repeated lookups counted as answered by the cache ($(dns_total cache))" ||
	bad "no lookup counted from the cache" "$tmp/stats"

check "dest badsig.example" udp dest=badsig.example
check "dest badsig.example again" udp dest=badsig.example
check "dest insecure.example (no CA file)" udp dest=insecure.example
check "dest a.example;@badsig.example (refused before any rule)" udp "dest=a.example;@badsig.example"
check "peer a.example with a's certificate" tls peer=a.example --cert "$TB_CERT_A" --key "$TB_KEY_A"
check "peer a.example with b's certificate" tls peer=a.example --cert "$TB_CERT_B" --key "$TB_KEY_B"
check "peer a.example over UDP" udp peer=a.example
# the asynchronous functions: their verdicts come back from the resolver process
check "async dest badsig.example" udp adest=badsig.example
check "async dest nodane.example" udp adest=nodane.example
check "async peer a.example with a's certificate" tls apeer=a.example --cert "$TB_CERT_A" --key "$TB_KEY_A"
# the federation route's own check: what dest=badsig.example gave
sip udp INVITE sip:bob@badsig.example sip:alice@b.example --auth "alice:$KAM_PW_ALICE"
expect "INVITE to badsig.example: 503" "^SIP/2.0 503 " && grep " BOGUS$" "$tmp/expected" | head -1 >>"$tmp/expected"

# the decisions, read three ways, are exactly those the calls returned
stats
sort "$tmp/expected" | uniq -c >"$tmp/want"
kamcmd -s "$SD_CTL" stats.get_statistics sipdance: >"$tmp/kstats" 2>&1 || bad "kamcmd stats.get_statistics" "$tmp/kstats"
"$top/tests/http-get.py" 127.0.0.1 "$SD_METRICS_PORT" "GET /metrics HTTP/1.1\\r\\nHost: 127.0.0.1\\r\\nConnection: close\\r\\n\\r\\n" >"$tmp/prom" 2>&1 ||
	bad "xhttp_prom did not answer" "$tmp/prom"
good=1
while read -r n rule verdict; do
	got=$(field decisions "rule=$rule" "verdict=$verdict")
	kst=$(sed -n "s/^sipdance:decisions_${rule}_${verdict} = //p" "$tmp/kstats")
	prom=$(awk -v m="kamailio_sipdance_decisions_$(echo "$rule" | tr - _)_$verdict" '$1 == m { print $2 }' "$tmp/prom")
	[ "$got" = "$n" ] && [ "$kst" = "$n" ] && [ "$prom" = "$n" ] ||
		{ good=0; echo "$rule $verdict: $n calls, sipdance.stats $got, statistics ${kst:-none}, xhttp_prom ${prom:-none}"; }
done <"$tmp/want" >"$tmp/diff"
[ "$(field decisions)" = "$(wc -l <"$tmp/expected")" ] ||
	{ good=0; echo "decisions counted: $(field decisions), calls: $(wc -l <"$tmp/expected")" >>"$tmp/diff"; }
[ "$good" = 1 ] && ok "decisions counted as the calls returned them, summed over the UDP and TLS workers, in kamcmd, statistics and xhttp_prom ($(wc -l <"$tmp/expected") in $(wc -l <"$tmp/want") rule/verdict pairs)" ||
	bad "decisions counted differ from the calls" "$tmp/diff"

# DNS: the histogram counts the lookups the resolver answered; its buckets are cumulative; Knot got at
# least one query for each of them
res=$(dns_total resolver)
inf=$(field buckets le=+Inf)
mono=$(awk '$1 == "buckets" { for (i = 2; i <= NF; i++) if ($i ~ /^count=/) { sub(/^count=/, "", $i); if ($i + 0 < prev) bad = 1; prev = $i + 0 } }
	END { print bad ? "no" : "yes" }' "$tmp/stats")
[ "$res" -gt 0 ] && [ "$inf" = "$res" ] && [ "$mono" = yes ] &&
	grep -q "^dns_lookup_seconds sum=[0-9.]* count=$res\$" "$tmp/stats" &&
	ok "latency histogram: $res resolver lookups, cumulative buckets, +Inf and count equal to them" ||
	bad "latency histogram (resolver lookups $res, +Inf $inf, cumulative $mono)" "$tmp/stats"
queries=$($TB_KNOTC stats mod-stats 2>/dev/null | awk -F'[][ =]+' '/query-type/ { s += $NF } END { print s + 0 }')
[ "$res" -le "$queries" ] && ok "resolver lookups ($res) within the queries Knot answered ($queries)" ||
	bad "resolver lookups $res, Knot queries $queries"
prom_tlsa=$(awk '$1 == "kamailio_sipdance_dns_TLSA_SECURE_resolver" { print $2 }' "$tmp/prom")
[ -n "$prom_tlsa" ] && [ "$prom_tlsa" = "$(field dns_lookups type=TLSA status=SECURE source=resolver)" ] &&
	ok "xhttp_prom publishes the DNS counters (secure TLSA from the resolver: $prom_tlsa)" ||
	bad "xhttp_prom's TLSA counter ${prom_tlsa:-missing}" "$tmp/prom"

# the metrics port serves /metrics and nothing else
"$top/tests/http-get.py" 127.0.0.1 "$SD_METRICS_PORT" "GET /other HTTP/1.1\\r\\nHost: 127.0.0.1\\r\\nConnection: close\\r\\n\\r\\n" >"$tmp/other" 2>&1
grep -q "^HTTP/1.[01] 404" "$tmp/other" && ok "GET /other on the metrics port: 404" || bad "GET /other" "$tmp/other"
kam_stop
finish
