#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# media-baresip.sh - interop of our DTLS-SRTP media with baresip 1.0 on
# loopback, UA to UA without a proxy: each side calls the other, DTLS-SRTP
# completes with both fingerprints verified and both receive authenticated
# SRTP; a bit flipped in either fingerprint makes that side refuse.
# baresip runs headless (ausine, no audio player), driven through ctrl_tcp.
# Skipped (77) when baresip is not installed (Debian package baresip-core).
set -u
command -v baresip >/dev/null || { echo "SKIP: baresip not installed (apt-get install baresip-core)"; exit 77; }
. "${srcdir:-.}/tests/media-lib.sh"
# the scenario's number: fresh ports from the test's block for each (a closed ctrl_tcp port stays in TIME_WAIT)
n=-1

# start_baresip - a fresh baresip (auto-answer) on fresh ports, its ctrl_tcp event stream in $dir/events
start_baresip() {
	n=$((n + 1))
	bs_sip=$((base + n * 10)) bs_ctrl=$((base + n * 10 + 5)) ua_sip=$((base + n * 10 + 8))
	mkdir -p "$dir/bs"
	cat >"$dir/bs/config" <<EOF
poll_method		epoll
sip_listen		127.0.0.1:$bs_sip
call_local_timeout	30
call_max_calls		4
audio_source		ausine,440
ausrc_srate		48000
ausrc_channels		2
statmode_default	off
audio_buffer		20-160
rtp_ports		$((base + 50 + n * 10))-$((base + 59 + n * 10))
rtcp_mux		yes
rtp_stats		yes
jitter_buffer_delay	5-10
net_interface		127.0.0.1
module_path		/usr/lib/baresip/modules
module			g711.so
module			ausine.so
module			dtls_srtp.so
module_tmp		account.so
module_app		menu.so
module_app		ctrl_tcp.so
ctrl_tcp_listen		127.0.0.1:$bs_ctrl
EOF
	echo "<sip:bob@127.0.0.1:$bs_sip;transport=udp>;regint=0;answermode=auto;audio_codecs=pcmu;mediaenc=dtls_srtp" \
		>"$dir/bs/accounts"
	baresip -f "$dir/bs" -v </dev/null >"$dir/bs.log" 2>&1 &
	bspid=$!
	pids=$bspid
	for _ in $(seq $((50 * vg_slow))); do
		grep -aq "baresip is ready" "$dir/bs.log" && exec 3<>"/dev/tcp/127.0.0.1/$bs_ctrl" && break
		sleep 0.1
	done 2>/dev/null
	cat <&3 >"$dir/events" &
}

# ctrl CMD [PARAMS] - one ctrl_tcp command (netstring framing)
ctrl() {
	j="{\"command\":\"$1\",\"params\":\"${2:-}\",\"token\":\"t$RANDOM\"}"
	printf '%d:%s,' "${#j}" "$j" >&3
}

# stop_baresip - quit baresip, wait for its log to be complete
stop_baresip() {
	ctrl quit
	reap -g 3 "$bspid"
	pids=
	exec 3>&-
}

# event TYPE - whether baresip reported event TYPE
event() { grep -aq "\"type\":\"$1\"" "$dir/events"; }
# closed - until baresip reports its call closed (its packet counts are then in its log)
closed() { "${srcdir:-.}/tests/wait-for.sh" "$dir/events" '"type":"CALL_CLOSED"' 10; }
# bs_received MIN - whether baresip's rtp_stats counted at least MIN received packets
bs_received() { awk -v min="$1" '/^packets:/ { r = $3 } END { exit !(r >= min) }' "$dir/bs.log"; }
# bs_received_none - baresip received no SRTP at all
bs_received_none() { ! grep -aq '^packets:' "$dir/bs.log" || awk '/^packets:/ { r = $3 } END { exit !(r == 0) }' "$dir/bs.log"; }

# ua_calls N ARGS... - a fresh baresip, our UA calls it (ARGS added; its log $dir/uaN.log, its exit
# status $rc), then baresip's call is closed and baresip stopped
ua_calls() {
	start_baresip
	"$ua" --aor sip:alice@127.0.0.1 --listen "sip:127.0.0.1:$ua_sip" --call "sip:bob@127.0.0.1:$bs_sip" \
		--duration 3 --no-ice "${@:2}" >"$dir/ua$1.log" 2>&1
	rc=$?
	closed
	stop_baresip
}

# 1. Our UA calls baresip: we offer actpass (DTLS server), baresip answers active.
ua_calls 1 --expect 50
check "ua -> baresip: our UA exits 0" test "$rc" -eq 0
check "ua -> baresip: our UA matched baresip's fingerprint" grep -q "fingerprint MATCH" "$dir/ua1.log"
check "ua -> baresip: our UA received >= 50 authenticated SRTP packets" received "$dir/ua1.log" 50
check "ua -> baresip: baresip verified our fingerprint" grep -aq "verified sha-256 fingerprint OK" "$dir/bs.log"
check "ua -> baresip: baresip completed DTLS-SRTP" grep -aq "DTLS-SRTP complete" "$dir/bs.log"
check "ua -> baresip: baresip CALL_MENC and CALL_RTPESTAB" eval 'event CALL_MENC && event CALL_RTPESTAB'
check "ua -> baresip: baresip received >= 50 SRTP packets" bs_received 50

# 2. baresip calls our UA: baresip offers actpass, we answer active (DTLS client).
start_baresip
"$ua" --aor sip:alice@127.0.0.1 --listen "sip:127.0.0.1:$ua_sip" --answer --duration 3 --expect 100 \
	>"$dir/ua2.log" 2>&1 &
uapid=$!
pids="$bspid $uapid"
"${srcdir:-.}/tests/wait-for.sh" "$dir/ua2.log" "waiting for a call"
ctrl dial "sip:alice@127.0.0.1:$ua_sip"
# our UA says when 100 packets went each way (50 are checked at baresip, which may drop
# the first ones, sent before its DTLS was done): then baresip hangs up
"${srcdir:-.}/tests/wait-for.sh" "$dir/ua2.log" "media flowing|media failed" 20
ctrl hangup
wait "$uapid"
rc=$?
pids=$bspid
closed
stop_baresip
check "baresip -> ua: our UA exits 0" test "$rc" -eq 0
check "baresip -> ua: our UA (DTLS client) matched baresip's fingerprint" \
	eval "grep -q 'fingerprint MATCH' '$dir/ua2.log' && grep -q 'dtls client' '$dir/ua2.log'"
check "baresip -> ua: our UA received >= 50 authenticated SRTP packets" received "$dir/ua2.log" 50
check "baresip -> ua: baresip verified our fingerprint" grep -aq "verified sha-256 fingerprint OK" "$dir/bs.log"
check "baresip -> ua: baresip CALL_MENC and CALL_RTPESTAB" eval 'event CALL_MENC && event CALL_RTPESTAB'
check "baresip -> ua: baresip received >= 50 SRTP packets" bs_received 50

# 3. baresip's fingerprint altered on its way to us: our UA refuses the handshake.
ua_calls 3 --tamper-fingerprint remote
check "altered peer fingerprint: our UA exits non-zero" test "$rc" -ne 0
check "altered peer fingerprint: our UA refused the DTLS handshake" \
	grep -q "media failed: DTLS handshake refused: DTLS certificate (sha-256" "$dir/ua3.log"
check "altered peer fingerprint: no SRTP accepted by our UA" grep -q "received 0 " "$dir/ua3.log"
check "altered peer fingerprint: baresip got no SRTP" bs_received_none
check "altered peer fingerprint: baresip saw no RTP established" eval '! event CALL_RTPESTAB'

# 4. Our fingerprint altered on its way to baresip: baresip refuses.
ua_calls 4 --tamper-fingerprint local
check "altered own fingerprint: our UA exits non-zero" test "$rc" -ne 0
check "altered own fingerprint: baresip reported the mismatch" grep -aq "fingerprint mismatch" "$dir/bs.log"
# baresip checks the server's fingerprint after its handshake, so our side may
# finish DTLS; what matters is that baresip closes (close_notify or BYE,
# whichever arrives first) and sends no media.
check "altered own fingerprint: baresip closed the media" \
	grep -Eq "call ended by peer|peer closed DTLS" "$dir/ua4.log"
check "altered own fingerprint: our UA received no SRTP" grep -q "received 0 " "$dir/ua4.log"
check "altered own fingerprint: baresip got no SRTP" bs_received_none

if [ "$fail" -gt 0 ]; then
	echo "--- baresip (last run)"
	grep -a -E "dtls|srtp|fingerprint|packets|call:" "$dir/bs.log" | tail -30
fi
finish "$dir"/ua*.log
