#!/bin/sh
# kamailio-hostile.sh - hostile traffic against both example configs as shipped, on the Knot testbed:
# examples/kamailio/kamailio.cfg serving b.example (127.0.0.2) and examples/webrtc/kamailio-edge.cfg
# serving c.example (127.0.0.3). tests/kamailio-hostile.py replays, over UDP, TCP, TLS and WebSocket:
# in-dialog-looking requests aimed at an arbitrary address or through b's DANE connection with a forged
# third party, "local users" who did not authenticate, registrations of somebody else, Request-URIs
# that are addresses, bracketed names, empty labels or another reading of the URI, requests forged into
# a real dialog, over-long identities; each must be refused (status code and Reason) and nothing may
# reach a.example's server (a recording TLS listener at a.example's DANE target) but the authenticated
# requests, nor the arbitrary address 127.0.0.9 anything at all. Then a flood from one address is
# banned by pike at the shipped rate, while other sources are still served.
. "${srcdir:-.}/tests/kamailio-lib.sh"
need_env
[ -f "$KAMAILIO_MODDIR/websocket.so" ] || { echo "FAIL - Kamailio's websocket module missing"; exit 1; }
tb_start
xport=$((base + 6)) kc_ws=$((base + 7))

# listen NAME PROTO ADDR PORT [ARGS...] - a recording listener (tests/kamailio-listen.py), up when it says so
listen() {
	local name=$1
	shift
	"$top/tests/kamailio-listen.py" "$@" "$tmp/$name.log" >"$tmp/$name.out" 2>&1 &
	other_pids="$other_pids $!"
	"$top/tests/wait-for.sh" "$tmp/$name.out" listening || { bad "listener $name did not start" "$tmp/$name.out"; finish; exit 1; }
}
listen a tls 127.0.0.1 "$TB_A_TLS_PORT" --cert "$TB_CERT_A" --key "$TB_KEY_A" --rr "sip:a.example;lr"
listen x.udp udp 127.0.0.9 "$xport"
listen x.tcp tcp 127.0.0.9 "$xport"

kam_start || { bad "kamailio (b.example) did not start" "$tmp/kam.log"; finish; exit 1; }
"$top/examples/kamailio/add-user.sh" "$tmp/users" alice c.example alice-c-pw-5a1
mkdir -p "$tmp/run-c"
SD_DOMAIN=c.example SD_ADDR=127.0.0.3 SD_WS_PORT=$kc_ws SD_TLS_PORT=$TB_C_TLS_PORT SD_CERT=$TB_CERT_C SD_KEY=$TB_KEY_C \
	"$kamailio" -f "${KAM_EDGE_CFG:-$top/examples/webrtc/kamailio-edge.cfg}" -DD -E -Y "$tmp/run-c" -w "$tmp/run-c" -m 64 -M 8 \
	>"$tmp/kam-c.log" 2>&1 &
edge_pid=$!
other_pids="$other_pids $edge_pid"
up=
for _ in $(seq $((100 * vg_slow))); do
	kill -0 "$edge_pid" 2>/dev/null || break
	"$top/tests/kamailio-sip.py" ws 127.0.0.3 "$kc_ws" OPTIONS sip:c.example sip:probe@c.example >/dev/null 2>&1 &&
		{ up=1; break; }
	sleep 0.1
done
[ -n "$up" ] || { bad "the WebRTC edge (c.example) did not start" "$tmp/kam-c.log"; finish; exit 1; }

export KB_ADDR=127.0.0.2 KB_SIP=$TB_B_SIP_PORT KB_TLS=$TB_B_TLS_PORT KC_ADDR=127.0.0.3 KC_WS=$kc_ws KC_TLS=$TB_C_TLS_PORT
export X_ADDR=127.0.0.9 X_PORT=$xport A_LOG=$tmp/a.log X_LOG_UDP=$tmp/x.udp.log X_LOG_TCP=$tmp/x.tcp.log
export PW_BOB=$KAM_PW_BOB PW_ALICE_B=$KAM_PW_ALICE PW_ALICE_C=alice-c-pw-5a1
export TB_CERT_A TB_KEY_A TB_CERT_B TB_KEY_B TB_CERT_C TB_KEY_C TB_CERT_ALICE TB_KEY_ALICE TB_CERT_BOB TB_KEY_BOB

# drive SIDE - the attacks of one config (tests/kamailio-hostile.py); its ok/FAIL lines count here
drive() {
	"$top/tests/kamailio-hostile.py" "$1" >"$tmp/drive-$1.out" 2>&1
	cat "$tmp/drive-$1.out"
	pass=$((pass + $(grep -c '^ok - ' "$tmp/drive-$1.out")))
	fail=$((fail + $(grep -c '^FAIL - ' "$tmp/drive-$1.out")))
	grep -q "^Traceback" "$tmp/drive-$1.out" && bad "the $1 driver crashed"
	return 0
}
drive b
drive c
drive fence
for log in "$tmp/kam.log" "$tmp/kam-c.log"; do
	if grep -Eq "(segfault|SIGSEGV|SIGABRT|exited by a signal|out of memory)" "$log"; then
		bad "a Kamailio crashed or ran out of memory ($log)" "$log"
	else
		ok "no crash or memory exhaustion in $(basename "$log")"
	fi
done

echo "# a flood from one address, at the shipped pike rate (30 requests in 2 s; the unit times vg_slow)"
kam_stop
export KAM_PIKE_DEFAULT=1
kam_start || { bad "kamailio did not restart" "$tmp/kam.log"; finish; exit 1; }
python3 - "$TB_B_SIP_PORT" <<'PY' &
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.77", 0))
for i in range(100):
    s.sendto(("OPTIONS sip:b.example SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.77:%d;branch=z9hG4bKflood%d;rport\r\n"
              "Max-Forwards: 70\r\nFrom: <sip:flood@evil.example>;tag=f%d\r\nTo: <sip:b.example>\r\n"
              "Call-ID: flood%d\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
              % (s.getsockname()[1], i, i, i)).encode(), ("127.0.0.2", int(sys.argv[1])))
PY
wait $!
if "$top/tests/wait-for.sh" "$tmp/kam.log" "pike: banning 127.0.0.77" 10; then
	ok "pike banned the flooding address"
else
	bad "no pike ban for 127.0.0.77" "$tmp/kam.log"
fi
"$top/tests/kamailio-sip.py" udp 127.0.0.2 "$TB_B_SIP_PORT" OPTIONS sip:b.example sip:probe@b.example \
	--bind 127.0.0.77 >"$tmp/resp" 2>&1
[ $? = 2 ] && ok "the banned address gets no answer" || bad "the banned address was answered" "$tmp/resp"
sip udp OPTIONS sip:b.example sip:probe@b.example
expect "another address is still served" "^SIP/2.0 200 "
finish
