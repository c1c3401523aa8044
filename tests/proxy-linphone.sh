#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# proxy-linphone.sh - Digest SHA-256 (RFC 8760) with a client that was not
# written here: linphone 5.1 (belle-sip) registers at sipdance-proxy, picks
# the SHA-256 challenge offered first, refreshes with the next nonce count,
# and unregisters; with a wrong password it is never bound; a user whose line
# holds MD5 only is challenged with MD5 alone and registers with it.
. "${srcdir:-.}/tests/proxy-lib.sh"
base=$("${srcdir:-.}/tests/ports.sh" $$)
P=$base lp_port=$((base + 10))
need linphonecsh openssl
sd=$("${srcdir:-.}/tests/valgrind.sh" "${top_builddir:-.}/sipdance")

pw=$(openssl rand -hex 8)
{
	echo "$pw" | "$sd" user-digest alice a.example
	echo "$pw" | "$sd" user-digest dave a.example | awk -F: '{ $4 = ""; print }' OFS=:
} >"$tmp/users"
chmod 600 "$tmp/users"
start_proxy A --domain a.example --listen "sip:127.0.0.1:$P;transport=udp" --users "$tmp/users" \
	--log-level debug || exit 1

# lp NAME USER PASSWORD - linphone (linphonecsh, its own HOME) registers USER for a moment, then exits;
# returns once its daemon is gone (the next one binds the same port). The bounds are hang guards only:
# on a busy machine linphonecsh took 20 s to come back from init and its daemon outlived a 10 s wait
lp() {
	home=$tmp/$1
	mkdir -p "$home/.local/share/linphone"
	cat >"$home/rc" <<EOF
[sip]
sip_port=$lp_port
sip_tcp_port=-1
sip_tls_port=-1
bind_address=127.0.0.1
guess_hostname=0
[net]
ipv6=0
[proxy_0]
reg_proxy=<sip:127.0.0.1:$P;transport=udp>
reg_identity=sip:$2@a.example
reg_expires=600
reg_sendregister=1
[auth_info_0]
username=$2
passwd=$3
realm=a.example
domain=a.example
EOF
	re="user=$2@a.example method=REGISTER rule=digest verdict=(MATCH|CHALLENGE \\(wrong)"
	n0=$(grep -Ec "$re" "$tmp/A.log")
	HOME=$home timeout $((60 * vg_slow)) linphonecsh init -c "$home/rc" -d 6 -l "$home/linphone.log" >/dev/null 2>&1
	"$srcdir/tests/wait-for.sh" -n $((n0 + 1)) "$tmp/A.log" "$re" 60 >/dev/null 2>&1
	daemon=$(pgrep -f -- "-c $home/rc" || true)
	HOME=$home timeout $((60 * vg_slow)) linphonecsh exit >/dev/null 2>&1
	i=0
	while [ -n "$daemon" ] && kill -0 $daemon 2>/dev/null && [ $i -lt $((600 * vg_slow)) ]; do
		i=$((i + 1))
		sleep 0.1
	done
	[ -z "$daemon" ] || kill -9 $daemon 2>/dev/null || true
}

lp good alice "$pw"
check "linphone answers the SHA-256 challenge (the first offered): REGISTER 200, logged Digest SHA-256" \
	eval 'grep -q "^Authorization: *Digest .*algorithm=SHA-256" "$tmp/good/linphone.log" &&
	grep -q "user=alice@a.example method=REGISTER rule=digest verdict=MATCH (To alice@a.example is the user authenticated by Digest SHA-256)" "$tmp/A.log" &&
	grep -q "registrar: REGISTER alice@a.example: <sip:alice@127.0.0.1:$lp_port" "$tmp/A.log"'
check "  ... its unREGISTER reuses the nonce with nc=00000002: accepted" \
	eval 'grep -q "nc=00000002" "$tmp/good/linphone.log" && grep -q "registrar: REGISTER alice@a.example: no bindings" "$tmp/A.log"'
lp wrong alice nothers
check "linphone with a wrong password: refused (logged), never bound" \
	eval 'grep -q "user=alice@a.example method=REGISTER rule=digest verdict=CHALLENGE (wrong response (password))" "$tmp/A.log" &&
	[ "$(grep -c "registrar: REGISTER alice@a.example: <sip" "$tmp/A.log")" = 1 ]'
lp md5 dave "$pw"
check "a user whose line holds MD5 only: challenged with MD5 alone, linphone registers with it" \
	eval 'grep -q "^WWW-Authenticate: *Digest .*algorithm=MD5" "$tmp/md5/linphone.log" &&
	! grep -q "^WWW-Authenticate: *Digest .*algorithm=SHA-256" "$tmp/md5/linphone.log" &&
	grep -q "user=dave@a.example method=REGISTER rule=digest verdict=MATCH (To dave@a.example is the user authenticated by Digest MD5)" "$tmp/A.log"'
stop_proxy A
finish
