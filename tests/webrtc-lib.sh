# SPDX-License-Identifier: BSD-2-Clause
# shellcheck shell=bash
# webrtc-lib.sh - sourced by tests/webrtc-*.sh. Outside: builds the web phone (npm ci + esbuild, the
# one step that needs the npm registry), then re-runs the test inside a fresh network namespace that
# has only loopback (ip netns), and removes the namespace afterwards. Inside: the Knot testbed, the
# WebRTC edges (Kamailio + websocket + sipdance.so, examples/webrtc/kamailio-edge.cfg), the page's
# HTTP server, the ok/FAIL helpers, and cleanup of everything started. Fixed ports are fine: nothing
# else lives in the namespace. Skips (77) only when Chromium cannot run at all.
set -u
top=$(cd "${srcdir:-.}" && pwd)
build=$(cd "${top_builddir:-.}" && pwd)
pass=0 fail=0
WR_CHROMIUM=${WR_CHROMIUM:-$(command -v chromium || true)}
export WR_CHROMIUM
# kamailio - the edges' command (under memcheck with VALGRIND=1); vg_slow - factor for waits on our programs
kamailio=$("$top/tests/valgrind.sh" kamailio)
vg_slow=${VG_SLOW:-1}
# the browser driver's bound on each wait (12 s, times vg_slow)
WR_TIMEOUT_MS=${WR_TIMEOUT_MS:-$((12000 * vg_slow))}
export WR_TIMEOUT_MS

# ok NAME / bad NAME [DETAILS-FILE] - one result line
ok() { pass=$((pass + 1)); echo "ok - $1"; }
bad() {
	fail=$((fail + 1)); echo "FAIL - $1"
	[ -z "${2-}" ] || tail -n "${3:-30}" "$2" | sed 's/^/    /'
}

# finish - the summary line and exit status
finish() {
	echo "$pass passed, $fail failed"
	[ "$fail" -eq 0 ]
}

# wr_enter_netns - (outside) check the tools, build the page, run "$0" inside a new namespace; exits
wr_enter_netns() {
	local ns
	if [ -z "$WR_CHROMIUM" ] || ! "$WR_CHROMIUM" --version >/dev/null 2>&1; then
		echo "SKIP - Chromium cannot run: no working chromium binary (apt-get install chromium)"
		exit 77
	fi
	for t in node npm kamailio ip flock; do
		command -v "$t" >/dev/null || { echo "FAIL - $t not installed"; echo "0 passed, 1 failed"; exit 1; }
	done
	if [ ! -f "${KAMAILIO_MODULE_DIR:-}/sipdance.so" ]; then
		echo "FAIL - sipdance.so not built (configure --with-kamailio-module)"; echo "0 passed, 1 failed"; exit 1
	fi
	if [ ! -f "${KAMAILIO_MODDIR:-/usr/lib/x86_64-linux-gnu/kamailio/modules}/websocket.so" ]; then
		echo "FAIL - Kamailio's websocket module missing (apt-get install kamailio-websocket-modules)"
		echo "0 passed, 1 failed"; exit 1
	fi
	WR_OUT="$build/webrtc"
	# one build at a time: the WebRTC tests may run in parallel (make -j)
	if ! flock "$build/webrtc-build.lock" "$top/examples/webrtc/build.sh" "$WR_OUT" >"$build/webrtc-build.log.$$" 2>&1; then
		echo "FAIL - building the web phone (examples/webrtc/build.sh; npm registry reachable?)"
		sed 's/^/    /' "$build/webrtc-build.log.$$"; rm -f "$build/webrtc-build.log.$$"
		echo "0 passed, 1 failed"; exit 1
	fi
	rm -f "$build/webrtc-build.log.$$"
	export WR_OUT
	ns="sdwebrtc$$"
	if ! ip netns add "$ns" 2>"$build/webrtc-netns.log"; then
		echo "FAIL - cannot create a network namespace (needs root): $(cat "$build/webrtc-netns.log")"
		echo "0 passed, 1 failed"; exit 1
	fi
	trap 'ip netns del "$ns" 2>/dev/null' EXIT
	trap 'exit 1' INT TERM
	ip netns exec "$ns" ip link set lo up
	WR_IN_NETNS=$ns ip netns exec "$ns" "$0" "$@"
	exit $?
}

[ -n "${WR_IN_NETNS-}" ] || wr_enter_netns "$@"

# --- inside the namespace ---
tmp=$(mktemp -d "${TMPDIR:-/tmp}/sipdance-webrtc.XXXXXX")
pids=
KAMAILIO_MODDIR=${KAMAILIO_MODDIR:-/usr/lib/x86_64-linux-gnu/kamailio/modules}
export NODE_PATH="$WR_OUT/node_modules"
export WR_HTTP=http://127.0.0.1:8000
export WR_WS_C=ws://127.0.0.3:8080 WR_WS_B=ws://127.0.0.2:8080
export TB_A_TLS_PORT=5061 TB_B_TLS_PORT=5061 TB_C_TLS_PORT=5061 TB_A_SIP_PORT=5060
# the phones' Digest passwords at their edges (alice@c.example, bob@b.example)
export WR_PW_ALICE=alice-wr-71d WR_PW_BOB=bob-wr-4e0

# reap [-t SECONDS] PID... - SIGTERM, SIGKILL after SECONDS (times vg_slow)
. "$top/tests/reap-lib.sh"

cleanup() {
	reap -t 5 $pids
	"$top/tests/testbed/testbed.sh" stop "$tmp/tb" >/dev/null 2>&1
	[ -n "${KEEP_TMP-}" ] || rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

# start_common - the testbed (DNSSEC) and the page's HTTP server
start_common() {
	"$top/tests/testbed/testbed.sh" start "$tmp/tb" 10053 >"$tmp/tb.log" 2>&1 ||
		{ bad "testbed did not start" "$tmp/tb.log"; finish; exit 1; }
	. "$tmp/tb/env.sh"
	node "$top/examples/webrtc/serve.js" "$WR_OUT/www" 127.0.0.1:8000 >"$tmp/http.log" 2>&1 &
	pids="$pids $!"
}

# edge_start NAME DOMAIN ADDR CERT KEY [-A DEFINE]... - a WebRTC edge; its pid in edge_NAME
edge_start() {
	local name=$1 domain=$2 addr=$3 cert=$4 key=$5 pid
	shift 5
	mkdir -p "$tmp/run-$name"
	if [ ! -s "$tmp/users/subscriber" ]; then
		"$top/examples/kamailio/add-user.sh" "$tmp/users" alice c.example "$WR_PW_ALICE"
		"$top/examples/kamailio/add-user.sh" "$tmp/users" bob b.example "$WR_PW_BOB"
	fi
	SD_DOMAIN=$domain SD_ADDR=$addr SD_WS_PORT=8080 SD_TLS_PORT=5061 SD_CERT=$cert SD_KEY=$key \
		SD_RESOLVER=$TB_RESOLVER SD_ANCHOR=$TB_ANCHOR SD_MPATH="$KAMAILIO_MODDIR:$KAMAILIO_MODULE_DIR" \
		SD_AUTH_DB="text://$tmp/users" SD_MAX_WAIT=$((2000 * vg_slow)) SD_DNS_TIMEOUT=$((1000 * vg_slow)) \
		"$kamailio" -f "$top/examples/webrtc/kamailio-edge.cfg" -DD -E -Y "$tmp/run-$name" -w "$tmp/run-$name" \
		-m 64 -M 8 "$@" >"$tmp/kam-$name.log" 2>&1 &
	pid=$!
	pids="$pids $pid"
	eval "edge_$name=$pid"
	# up when the WebSocket port accepts connections
	for _ in $(seq $((50 * vg_slow))); do
		kill -0 "$pid" 2>/dev/null || { bad "edge $name ($domain) did not start" "$tmp/kam-$name.log"; return 1; }
		(exec 3<>"/dev/tcp/$addr/8080") 2>/dev/null && return 0
		sleep 0.1
	done
	bad "edge $name ($domain) not listening" "$tmp/kam-$name.log"
	return 1
}

# edge_stop NAME
edge_stop() {
	local pid
	eval "pid=\${edge_$1-}"
	[ -n "$pid" ] && reap -t 5 "$pid"
}

# drive SCENARIO - run the browser driver; its ok/FAIL lines count here; 77 when Chromium cannot run
drive() {
	node "$top/tests/webrtc-drive.cjs" "$1" >"$tmp/drive-$1.out" 2>&1
	local rc=$?
	if [ $rc = 77 ]; then
		cat "$tmp/drive-$1.out"; exit 77
	fi
	cat "$tmp/drive-$1.out"
	pass=$((pass + $(grep -c '^ok - ' "$tmp/drive-$1.out")))
	fail=$((fail + $(grep -c '^FAIL - ' "$tmp/drive-$1.out")))
	if [ $rc != 0 ] && ! grep -q '^FAIL - ' "$tmp/drive-$1.out"; then
		bad "driver for $1 exited $rc"
	fi
	return $rc
}
