#!/usr/bin/env bash
# testbed.sh - the DNSSEC-signed test DNS hierarchy of sipdance, served by one knotd on loopback.
#
#   testbed.sh start DIR [PORT]   wipe DIR, generate keys/zones/certificates, start knotd (default port 10053)
#   testbed.sh stop DIR           stop the knotd started for DIR
#   testbed.sh status DIR         print whether it runs (exit 0) or not (exit 3)
#
# Everything (keys, zones, certificates, knotd state, logs) lives in DIR; nothing is committed, nothing
# expires between runs.  DIR/env.sh holds the variables tests need; DIR/zones.txt the expected DNSSEC
# status of every zone.  See README.md next to this script for the hierarchy.
#
# Knobs (environment, read by `start`): TB_TTL (60) = TTL of the SIP/TLSA records and of negative answers;
# TB_{A,B,C,INSECURE}_TLS_PORT (5061) and TB_{A,B,C,INSECURE}_SIP_PORT (5060) = ports in SRV/TLSA records;
# TB_A2_ADDR (unset) = a second node of a.example at that address (sip2.a.example: SRV priority 20, same
# ports and key as sip.a.example); TB_UNBOUND=1: the second resolver mode, a validating Unbound (trust anchor: ours) in front of knotd on
# 127.0.0.1@TB_UNBOUND_PORT (PORT + 90), and TB_RESOLVER names it (TB_AUTH is knotd in either mode).
set -eu

SIGNED_BY_KNOT=". example. a.example. b.example. c.example. alias.example. nodane.example. norecords.example. wrongds.example."
PRESIGNED="badsig.example. expired.example."
UNSIGNED="insecure.example."
MARKER=.sipdance-testbed
# certs_cnf, certs_mint: the certificates
. "$(dirname "${BASH_SOURCE[0]}")/../certs-lib.sh"

# Print an error and exit 1.
die() {
	echo "testbed.sh: $*" >&2
	exit 1
}

# Print the current time in microseconds.
now_us() {
	echo "${EPOCHREALTIME/./}"
}

# number NAME VALUE: die unless VALUE is an integer in 1..65535 (ports, TTL).
number() {
	case $2 in '' | *[!0-9]*) die "$1 is not a number: $2" ;; esac
	if [ "$2" -lt 1 ] || [ "$2" -gt 65535 ]; then die "$1 out of range: $2"; fi
}

# running_pid DIR [PROG] - the pid of the PROG (knotd, or unbound) started for DIR if it still runs (the
# pid file alone is not trusted: the process must be a PROG using DIR/knot.conf or DIR/unbound.conf);
# return 1 otherwise.
running_pid() {
	local dir=$1 prog=${2:-knotd} pid cmd conf=unbound.conf
	[ "$prog" = unbound ] || conf=knot.conf
	[ -r "$dir/$prog.pid" ] || return 1
	pid=$(cat "$dir/$prog.pid")
	case $pid in '' | *[!0-9]*) return 1 ;; esac
	cmd=$({ tr '\0' ' ' <"/proc/$pid/cmdline"; } 2>/dev/null) || return 1
	case $cmd in *"$prog"*" -c $dir/$conf ") echo "$pid" ;; *) return 1 ;; esac
}

# alive PID - our child PID has not exited (it may not have exec'd its program yet, when
# running_pid would not know it: a start must not take that for an exit)
alive() {
	local st
	st=$({ cat "/proc/$1/stat"; } 2>/dev/null) || return 1
	case ${st##*) } in Z* | X*) return 1 ;; esac
}

# stop_one DIR PROG - SIGTERM, wait up to 10 s, then SIGKILL. Succeeds if nothing is running.
stop_one() {
	local dir=$1 prog=$2 pid deadline
	pid=$(running_pid "$dir" "$prog") || {
		rm -f "$dir/$prog.pid"
		return 0
	}
	kill -TERM "$pid" 2>/dev/null || true
	deadline=$(($(now_us) + 10000000))
	# running_pid, not kill -0: an exited child of ours stays a zombie (empty cmdline) until reaped
	while running_pid "$dir" "$prog" >/dev/null; do
		if [ "$(now_us)" -ge "$deadline" ]; then
			kill -KILL "$pid" 2>/dev/null || true
			break
		fi
		sleep 0.05
	done
	# reap it if it is our own child (start failing half-way)
	wait "$pid" 2>/dev/null || true
	rm -f "$dir/$prog.pid"
}

# Stop the unbound and the knotd of DIR.
cmd_stop() {
	stop_one "$1" unbound
	stop_one "$1" knotd
}

# Print "running pid N on ADDR@PORT" (exit 0) or "stopped" (exit 3).
cmd_status() {
	local dir=$1 pid upid
	if pid=$(running_pid "$dir"); then
		# shellcheck source=/dev/null
		. "$dir/env.sh"
		if upid=$(running_pid "$dir" unbound); then
			echo "running pid $pid on $TB_AUTH, validating unbound pid $upid on $TB_RESOLVER"
		else
			echo "running pid $pid on $TB_AUTH"
		fi
	else
		echo "stopped"
		exit 3
	fi
}

# Empty DIR for a fresh start. Refuses to wipe a non-empty directory that is not a testbed.
prepare_dir() {
	local dir=$1
	[ "$dir" != / ] || die "refusing to use /"
	if [ -d "$dir" ] && [ -n "$(ls -A "$dir")" ] && [ ! -e "$dir/$MARKER" ]; then
		die "$dir is not empty and not a testbed directory; refusing to wipe it"
	fi
	rm -rf "$dir"
	mkdir -p "$dir/certs" "$dir/zones" "$dir/keys" "$dir/db" "$dir/run" "$dir/ldns"
	touch "$dir/$MARKER"
}

# Print the hex SHA-256 of the DER SubjectPublicKeyInfo of private key file $1 (TLSA x 1 1 data).
spki_sha256() {
	openssl pkey -in "$1" -pubout -outform DER | sha256sum | cut -d' ' -f1
}

# mkcert NAME EXTSECTION SUBJECT SAN [ISSUER]: EC P-256 key NAME.key + certificate NAME.pem in the cwd
# (tests/certs-lib.sh), self-signed or issued by ISSUER(.pem/.key); writes the SPKI SHA-256 to NAME.spki.
mkcert() {
	certs_mint "$@" && spki_sha256 "$1.key" >"$1.spki"
}

# Generate all certificates in DIR/certs (in parallel; the issued one waits for its CA).
make_certs() {
	local pids='' p
	cd "$1/certs"
	certs_cnf <<-EOF
		$(certs_leaf server)
		extendedKeyUsage = serverAuth,clientAuth
		subjectKeyIdentifier = hash
		authorityKeyIdentifier = keyid
		$(certs_leaf user)
		extendedKeyUsage = clientAuth,emailProtection
		subjectKeyIdentifier = hash
	EOF
	for d in a b c; do
		mkcert "sip.$d.example" server "/CN=sip.$d.example" \
			"URI:sip:$d.example,DNS:$d.example,DNS:sip.$d.example" &
		pids="$pids $!"
	done
	mkcert alice user /CN=alice@a.example "email:alice@a.example,URI:sip:alice@a.example" &
	pids="$pids $!"
	mkcert bob user /CN=bob@b.example "email:bob@b.example,URI:sip:bob@b.example" &
	pids="$pids $!"
	mkcert wrong server /CN=wrong.invalid "DNS:wrong.invalid" &
	pids="$pids $!"
	mkcert other-ca v3_ca "/CN=sipdance testbed other CA" "" &
	pids="$pids $!"
	{
		mkcert pkix-ca v3_ca "/CN=sipdance testbed PKIX CA" ""
		mkcert sip.insecure.example server /CN=sip.insecure.example \
			"URI:sip:insecure.example,DNS:insecure.example,DNS:sip.insecure.example" pkix-ca
	} &
	pids="$pids $!"
	for p in $pids; do wait "$p" || die "certificate generation failed"; done
	cd - >/dev/null
}

# Generate the Knot-managed keys (one CSK per zone) and the ldns keys of the pre-signed zones and of the
# decoy key whose DS goes into example. for wrongds.example.
make_keys() {
	local dir=$1 z
	for z in $SIGNED_BY_KNOT; do
		keymgr -c "$dir/knot.conf" "$z" generate algorithm=13 ksk=yes zsk=yes >/dev/null
	done
	mkdir -p "$dir/ldns/decoy"
	(cd "$dir/ldns" && for z in $PRESIGNED; do ldns-keygen -a ECDSAP256SHA256 -k "$z" >"$z.keyname"; done)
	(cd "$dir/ldns/decoy" && ldns-keygen -a ECDSAP256SHA256 -k wrongds.example. >keyname)
}

# ds_of ZONE: print the SHA-256 DS record(s) of ZONE in zone-file syntax with TTL 3600.
ds_of() {
	local z=$1 f
	case $z in
	wrongds.example.) f=$(cat "$DIR/ldns/decoy/keyname") && cat "$DIR/ldns/decoy/$f.ds" ;;
	badsig.example. | expired.example.) f=$(cat "$DIR/ldns/$z.keyname") && cat "$DIR/ldns/$f.ds" ;;
	*) keymgr -c "$DIR/knot.conf" "$z" ds ;;
	esac | awk -v z="$z" '{ for (i = 1; i <= NF; i++) if ($i == "DS") break }
		$(i + 2) == 13 && $(i + 3) == 2 { print z, 3600, "IN DS", $(i + 1), $(i + 2), $(i + 3), $(i + 4) }'
}

# zone_head ZONE: $ORIGIN/$TTL, SOA and NS of ZONE (the only name server is ns.example.).
zone_head() {
	cat <<-EOF
		\$ORIGIN $1
		\$TTL $TB_TTL
		$1 3600 SOA ns.example. hostmaster.example. 1 3600 600 86400 $TB_TTL
		$1 3600 NS ns.example.
	EOF
}

# sip_records DOMAIN ADDR TLS_PORT SIP_PORT SPKI: the RFC 3263 NAPTR/SRV chain of DOMAIN to sip.DOMAIN at ADDR,
# plus the DANE-EE TLSA of the TLS port (omitted when SPKI is empty).
sip_records() {
	local z=$1 addr=$2 tls=$3 sip=$4 spki=$5
	cat <<-EOF
		$z NAPTR 10 10 "S" "SIPS+D2T" "" _sips._tcp.$z
		$z NAPTR 20 10 "S" "SIP+D2T" "" _sip._tcp.$z
		$z NAPTR 30 10 "S" "SIP+D2U" "" _sip._udp.$z
		_sips._tcp.$z SRV 10 10 $tls sip.$z
		_sip._tcp.$z SRV 10 10 $sip sip.$z
		_sip._udp.$z SRV 10 10 $sip sip.$z
		sip.$z A $addr
	EOF
	[ -z "$spki" ] || echo "_$tls._tcp.sip.$z TLSA 3 1 1 $spki"
}

# proxy_zone D ADDR TLS SIP USER: a secure SIP domain D.example with its proxy at ADDR, the proxy's TLSA at
# the TLS port and at the bare host name and the domain itself (client auth between proxies: a ClientName
# sip.D.example or D.example), and the _user TLSA of USER@D.example.
proxy_zone() {
	local d=$1 addr=$2 tls=$3 sip=$4 user=$5 spki
	spki=$(cat "$DIR/certs/sip.$d.example.spki")
	zone_head "$d.example."
	sip_records "$d.example." "$addr" "$tls" "$sip" "$spki"
	echo "sip.$d.example. AAAA ::1"
	echo "sip.$d.example. TLSA 3 1 1 $spki"
	echo "$d.example. TLSA 3 1 1 $spki"
	[ -z "$user" ] || echo "$(user_label "$user")._user.$d.example. TLSA 3 1 1 $(cat "$DIR/certs/$user.spki")"
}

# a2_records ADDR: a.example's second node, sip2.a.example at ADDR, after sip.a.example in every SRV
# (priority 20: callers fail over to it), with the same TLSA key.
a2_records() {
	cat <<-EOF
		_sips._tcp.a.example. SRV 20 10 $TB_A_TLS_PORT sip2.a.example.
		_sip._tcp.a.example. SRV 20 10 $TB_A_SIP_PORT sip2.a.example.
		_sip._udp.a.example. SRV 20 10 $TB_A_SIP_PORT sip2.a.example.
		sip2.a.example. A $1
		_$TB_A_TLS_PORT._tcp.sip2.a.example. TLSA 3 1 1 $(cat "$DIR/certs/sip.a.example.spki")
	EOF
}

# user_label USER: hex of the first 28 bytes of SHA-256(USER) (DANCE client-auth _user owner label).
user_label() {
	printf %s "$1" | sha256sum | cut -c1-56
}

# Write every zone file into DIR/zones (root zone = root.zone, others NAME.zone without the final dot).
write_zones() {
	local z spki_b
	spki_b=$(cat "$DIR/certs/sip.b.example.spki")
	{
		zone_head .
		echo "example. 3600 NS ns.example."
		ds_of example.
		echo "ns.example. 3600 A 127.0.0.1"
		echo "ns.example. 3600 AAAA ::1"
	} >"$DIR/zones/root.zone"
	{
		zone_head example.
		echo "ns.example. 3600 A 127.0.0.1"
		echo "ns.example. 3600 AAAA ::1"
		for z in $SIGNED_BY_KNOT $PRESIGNED $UNSIGNED; do
			case $z in . | example.) continue ;; esac
			echo "$z 3600 NS ns.example."
			[ "$z" = "$UNSIGNED" ] || ds_of "$z"
		done
	} >"$DIR/zones/example.zone"
	{
		proxy_zone a 127.0.0.1 "$TB_A_TLS_PORT" "$TB_A_SIP_PORT" alice
		[ -z "${TB_A2_ADDR:-}" ] || a2_records "$TB_A2_ADDR"
	} >"$DIR/zones/a.example.zone"
	{
		proxy_zone b 127.0.0.2 "$TB_B_TLS_PORT" "$TB_B_SIP_PORT" bob
		# CNAME target of sip2.alias.example: same proxy as sip.b.example but no TLSA of its own
		echo "sip2.b.example. A 127.0.0.2"
		echo "sip2.b.example. AAAA ::1"
	} >"$DIR/zones/b.example.zone"
	proxy_zone c 127.0.0.3 "$TB_C_TLS_PORT" "$TB_C_SIP_PORT" "" >"$DIR/zones/c.example.zone"
	{
		zone_head insecure.example.
		sip_records insecure.example. 127.0.0.4 "$TB_INSECURE_TLS_PORT" "$TB_INSECURE_SIP_PORT" \
			"$(cat "$DIR/certs/sip.insecure.example.spki")"
	} >"$DIR/zones/insecure.example.zone"
	{
		zone_head nodane.example.
		sip_records nodane.example. 127.0.0.2 "$TB_B_TLS_PORT" "$TB_B_SIP_PORT" ""
		echo "sip.nodane.example. AAAA ::1"
	} >"$DIR/zones/nodane.example.zone"
	{
		zone_head norecords.example.
		echo "norecords.example. A 127.0.0.1"
	} >"$DIR/zones/norecords.example.zone"
	for z in wrongds badsig expired; do
		{
			zone_head "$z.example."
			sip_records "$z.example." 127.0.0.2 "$TB_B_TLS_PORT" "$TB_B_SIP_PORT" "$spki_b"
			# alice's key under expired RRSIGs: a DANCE client chain that has expired
			[ $z != expired ] || echo "$(user_label alice)._user.$z.example. TLSA 3 1 1 $(cat "$DIR/certs/alice.spki")"
		} >"$DIR/zones/$z.example.zone"
	done
	alias_zone >"$DIR/zones/alias.example.zone"
}

# alias.example: RFC 7671 section 7 (TLSA of CNAME'd hosts). What each name tests:
#   sip.alias.example  CNAME sip.a.example.  TLSA only at the expanded name _A_TLS._tcp.sip.a.example (a's key);
#                      _A_TLS._tcp.sip.alias.example has none -> the expanded name must be tried (first).
#   sip2.alias.example CNAME sip2.b.example. TLSA only at the original name _B_TLS._tcp.sip2.alias.example (b's
#                      key); the expanded name has none (secure denial) -> the fallback to the original name.
# The SRV RRset lists sip.alias.example (priority 10, a's port) and sip2.alias.example (priority 20, b's port).
# alice@alias.example's _user name is a CNAME to alice@a.example's: a DANCE client's TLSA must be at its own
# name, never reached through an alias.
alias_zone() {
	local z=alias.example.
	zone_head $z
	cat <<-EOF
		$z NAPTR 10 10 "S" "SIPS+D2T" "" _sips._tcp.$z
		$z NAPTR 20 10 "S" "SIP+D2T" "" _sip._tcp.$z
		$z NAPTR 30 10 "S" "SIP+D2U" "" _sip._udp.$z
		_sips._tcp.$z SRV 10 10 $TB_A_TLS_PORT sip.$z
		_sips._tcp.$z SRV 20 10 $TB_B_TLS_PORT sip2.$z
		_sip._tcp.$z SRV 10 10 $TB_A_SIP_PORT sip.$z
		_sip._udp.$z SRV 10 10 $TB_A_SIP_PORT sip.$z
		sip.$z CNAME sip.a.example.
		sip2.$z CNAME sip2.b.example.
		_$TB_B_TLS_PORT._tcp.sip2.$z TLSA 3 1 1 $(cat "$DIR/certs/sip.b.example.spki")
		$(user_label alice)._user.$z CNAME $(user_label alice)._user.a.example.
	EOF
}

# Sign the two broken zones with ldns-signzone: expired.example with RRSIGs valid 2020-01-01..2020-02-01,
# badsig.example normally and then one hex digit of its TLSA data changed (the RRSIG no longer matches).
sign_broken() {
	local key owner="_$TB_B_TLS_PORT._tcp.sip.badsig.example."
	cd "$DIR/ldns"
	key=$(cat expired.example..keyname)
	ldns-signzone -i 20200101 -e 20200201 -f ../zones/expired.example.zone.signed \
		../zones/expired.example.zone "$key"
	key=$(cat badsig.example..keyname)
	# Inception an hour back: only the tampered TLSA, never the clock, may make it bogus.
	ldns-signzone -i "$(date -u -d '-1 hour' +%Y%m%d%H%M%S)" -f badsig.signed \
		../zones/badsig.example.zone "$key"
	awk -v o="$owner" '$1 == o && $4 == "TLSA" { d = substr($NF, length($NF)); $NF = substr($NF, 1, length($NF) - 1) (d == "0" ? "1" : "0"); n++ }
		{ print } END { if (n != 1) exit 1 }' badsig.signed >../zones/badsig.example.zone.signed ||
		die "could not tamper with the badsig.example TLSA"
	mv ../zones/expired.example.zone.signed ../zones/expired.example.zone
	mv ../zones/badsig.example.zone.signed ../zones/badsig.example.zone
	cd - >/dev/null
}

# Write DIR/knot.conf: one knotd on loopback, all state in DIR, zone files never rewritten by Knot.
write_conf() {
	local z listen="127.0.0.1@$PORT"
	# ::1 too, when the kernel has it on lo
	! grep -q '^0\{31\}1 ' /proc/net/if_inet6 2>/dev/null || listen="$listen, ::1@$PORT"
	cat >"$DIR/knot.conf" <<-EOF
		# generated by tests/testbed/testbed.sh
		server:
		    rundir: "$DIR/run"
		    listen: [ $listen ]
		    udp-workers: 1
		    tcp-workers: 1
		    background-workers: 1
		log:
		  - target: stderr
		    any: info
		database:
		    storage: "$DIR/db"
		    kasp-db: "$DIR/keys"
		control:
		    listen: "$DIR/run/knot.sock"
		mod-stats:
		  - id: default
		    query-type: on
		policy:
		  - id: tb
		    algorithm: ecdsap256sha256
		    single-type-signing: on
		    manual: on
		    nsec3: off
		    dnskey-ttl: 3600
		    zone-max-ttl: 3600
		    cds-cdnskey-publish: none
		template:
		  - id: default
		    storage: "$DIR/zones"
		    file: "%s.zone"
		    journal-content: none
		    zonefile-sync: -1
		    zonefile-load: whole
		    global-module: mod-stats/default
		zone:
	EOF
	for z in $SIGNED_BY_KNOT; do
		printf '  - domain: "%s"\n    dnssec-signing: on\n    dnssec-policy: tb\n' "$z"
		[ "$z" != . ] || printf '    file: "%s"\n' "$DIR/zones/root.zone" # %s is empty for the root
	done >>"$DIR/knot.conf"
	for z in $PRESIGNED $UNSIGNED; do
		printf '  - domain: "%s"\n' "$z"
	done >>"$DIR/knot.conf"
}

# Wait (at most 10 s) until our knotd is up (its control socket answers) and every zone answers
# authoritatively, signed where it should be.
wait_ready() {
	local args='' z want deadline
	want=$(echo "$SIGNED_BY_KNOT $PRESIGNED" | wc -w)
	for z in $SIGNED_BY_KNOT $PRESIGNED $UNSIGNED; do args="$args $z SOA"; done
	# a bound on a hang (knotd signs in well under a second), times VG_SLOW: a loaded machine
	deadline=$(($(now_us) + 30000000 * ${VG_SLOW:-1}))
	while [ "$(now_us)" -lt "$deadline" ]; do
		alive "$(cat "$DIR/knotd.pid")" || die "knotd exited; see $DIR/knotd.log"
		# shellcheck disable=SC2086 # word splitting of the query list is intended
		if knotc -c "$DIR/knot.conf" -t 1 status >/dev/null 2>&1 && kdig @127.0.0.1 -p "$PORT" +dnssec +norec +time=1 +retry=0 $args 2>/dev/null | awk -v want="$want" -v u="$UNSIGNED" '
			$3 == "IN" && $4 == "RRSIG" && $5 == "SOA" { signed[$1] = 1 }
			$1 == u && $3 == "IN" && $4 == "SOA" { unsigned = 1 }
			END { n = 0; for (z in signed) n++; exit !(n == want && unsigned) }'; then
			return 0
		fi
		sleep 0.05
	done
	die "zones not ready after $((30 * ${VG_SLOW:-1})) s; see $DIR/knotd.log"
}

# Write DIR/unbound.conf: a validating Unbound on 127.0.0.1@UPORT with the testbed's anchor, forwarding
# every query to our knotd (a forwarder, not a stub zone: knotd is authoritative for every zone, and an
# iterator would follow the NS records to port 53), its state in DIR.
write_unbound_conf() {
	cat >"$DIR/unbound.conf" <<-EOF
		# generated by tests/testbed/testbed.sh
		server:
		    interface: 127.0.0.1
		    port: $UPORT
		    so-reuseport: no
		    do-ip6: no
		    username: ""
		    chroot: ""
		    directory: "$DIR"
		    pidfile: ""
		    use-syslog: no
		    logfile: ""
		    verbosity: 1
		    val-log-level: 2
		    num-threads: 1
		    access-control: 127.0.0.0/8 allow
		    do-not-query-localhost: no
		    trust-anchor-file: "$DIR/root-anchor.ds"
		    module-config: "validator iterator"
		    qname-minimisation: no
		    # its random source ports stay out of the tests' blocks (10000-32699, tests/ports.sh),
		    # where they took another test's port (its unbound then could not start)
		    outgoing-port-avoid: 0-32767
		    target-fetch-policy: "0 0 0 0 0"
		    extended-statistics: yes
		remote-control:
		    control-enable: yes
		    control-interface: "$DIR/unbound.ctl"
		    control-use-cert: no
		forward-zone:
		    name: "."
		    forward-addr: 127.0.0.1@$PORT
	EOF
}

# start_unbound - TB_UNBOUND=1: the validating Unbound in front of knotd; ready once it answers a
# secure name with AD set (it validates with our anchor) and refuses a bogus one (SERVFAIL)
start_unbound() {
	local deadline
	number TB_UNBOUND_PORT "$UPORT"
	! kdig @127.0.0.1 -p "$UPORT" +tcp +time=1 +retry=0 . SOA >/dev/null 2>&1 ||
		die "something already answers on 127.0.0.1@$UPORT"
	write_unbound_conf
	unbound -d -c "$DIR/unbound.conf" </dev/null >"$DIR/unbound.log" 2>&1 &
	echo $! >"$DIR/unbound.pid"
	deadline=$(($(now_us) + 10000000))
	while [ "$(now_us)" -lt "$deadline" ]; do
		alive "$(cat "$DIR/unbound.pid")" || die "unbound exited; see $DIR/unbound.log"
		if kdig @127.0.0.1 -p "$UPORT" +dnssec +time=1 +retry=0 a.example SOA 2>/dev/null |
			grep -q '^;; Flags: .* ad' &&
			kdig @127.0.0.1 -p "$UPORT" +dnssec +time=1 +retry=0 expired.example SOA 2>/dev/null |
			grep -q 'status: SERVFAIL'; then
			return 0
		fi
		sleep 0.05
	done
	die "unbound not validating after 10 s; see $DIR/unbound.log"
}

# Write DIR/env.sh (sourceable) and DIR/zones.txt.
write_env() {
	local c="$DIR/certs"
	{
		echo "# generated by tests/testbed/testbed.sh; source it"
		for v in \
			"TB_DIR=$DIR" "TB_PORT=$PORT" "TB_RESOLVER=$RESOLVER" "TB_AUTH=127.0.0.1@$PORT" \
			"TB_RESOLVER_MODE=$MODE" "TB_UNBOUND_CONTROL=unbound-control -c $DIR/unbound.conf" \
			"TB_TTL=$TB_TTL" \
			"TB_ANCHOR=$DIR/root-anchor.ds" "TB_ANCHOR_DNSKEY=$DIR/root-anchor.dnskey" \
			"TB_ZONES=$DIR/zones.txt" "TB_KNOT_CONF=$DIR/knot.conf" "TB_KNOTC=knotc -c $DIR/knot.conf" \
			"TB_KNOTD_LOG=$DIR/knotd.log" \
			"TB_A_ADDR=127.0.0.1" "TB_A_TLS_PORT=$TB_A_TLS_PORT" "TB_A_SIP_PORT=$TB_A_SIP_PORT" \
			"TB_B_ADDR=127.0.0.2" "TB_B_TLS_PORT=$TB_B_TLS_PORT" "TB_B_SIP_PORT=$TB_B_SIP_PORT" \
			"TB_C_ADDR=127.0.0.3" "TB_C_TLS_PORT=$TB_C_TLS_PORT" "TB_C_SIP_PORT=$TB_C_SIP_PORT" \
			"TB_INSECURE_ADDR=127.0.0.4" "TB_INSECURE_TLS_PORT=$TB_INSECURE_TLS_PORT" \
			"TB_INSECURE_SIP_PORT=$TB_INSECURE_SIP_PORT" \
			"TB_CERT_A=$c/sip.a.example.pem" "TB_KEY_A=$c/sip.a.example.key" \
			"TB_CERT_B=$c/sip.b.example.pem" "TB_KEY_B=$c/sip.b.example.key" \
			"TB_CERT_C=$c/sip.c.example.pem" "TB_KEY_C=$c/sip.c.example.key" \
			"TB_CERT_INSECURE=$c/sip.insecure.example.pem" "TB_KEY_INSECURE=$c/sip.insecure.example.key" \
			"TB_PKIX_CA=$c/pkix-ca.pem" "TB_PKIX_CA_KEY=$c/pkix-ca.key" \
			"TB_OTHER_CA=$c/other-ca.pem" "TB_OTHER_CA_KEY=$c/other-ca.key" \
			"TB_CERT_WRONG=$c/wrong.pem" "TB_KEY_WRONG=$c/wrong.key" \
			"TB_CERT_ALICE=$c/alice.pem" "TB_KEY_ALICE=$c/alice.key" \
			"TB_CERT_BOB=$c/bob.pem" "TB_KEY_BOB=$c/bob.key" \
			"TB_USER_ALICE=$(user_label alice)._user.a.example." \
			"TB_USER_BOB=$(user_label bob)._user.b.example." \
			"TB_SPKI_A=$(cat "$c/sip.a.example.spki")" "TB_SPKI_B=$(cat "$c/sip.b.example.spki")" \
			"TB_SPKI_C=$(cat "$c/sip.c.example.spki")" "TB_SPKI_INSECURE=$(cat "$c/sip.insecure.example.spki")" \
			"TB_SPKI_WRONG=$(cat "$c/wrong.spki")" "TB_SPKI_ALICE=$(cat "$c/alice.spki")" \
			"TB_SPKI_BOB=$(cat "$c/bob.spki")"; do
			printf 'export %s=%q\n' "${v%%=*}" "${v#*=}"
		done
	} >"$DIR/env.sh"
	cat >"$DIR/zones.txt" <<-'EOF'
		# zone              expected DNSSEC status
		.                   secure
		example.            secure
		a.example.          secure
		b.example.          secure
		c.example.          secure
		alias.example.      secure
		nodane.example.     secure
		norecords.example.  secure
		insecure.example.   insecure
		badsig.example.     bogus
		expired.example.    bogus
		wrongds.example.    bogus
	EOF
}

# On a failed start: stop the knotd we may have started, point at the log. (Subshells inherit the EXIT
# trap in some error paths; only the main shell acts.)
start_failed() {
	local rc=$?
	[ "$rc" -ne 0 ] && [ "$BASHPID" = "$$" ] || return 0
	# interrupted between starting knotd and writing its pid: $! is knotd (running_pid checks)
	[ -s "$DIR/knotd.pid" ] || echo "${!:-}" >"$DIR/knotd.pid"
	cmd_stop "$DIR"
	echo "testbed.sh: start failed (exit $rc); stopped; logs: $DIR/knotd.log, $DIR/unbound.log" >&2
}

# start DIR [PORT]: build everything fresh and start knotd; print the ready line.
cmd_start() {
	local t0 t1 v
	t0=$(now_us)
	number PORT "$PORT"
	TB_TTL=${TB_TTL:-60}
	number TB_TTL "$TB_TTL"
	for v in TB_A_TLS_PORT TB_B_TLS_PORT TB_C_TLS_PORT TB_INSECURE_TLS_PORT; do
		printf -v "$v" %s "${!v:-5061}"
		number "$v" "${!v}"
	done
	for v in TB_A_SIP_PORT TB_B_SIP_PORT TB_C_SIP_PORT TB_INSECURE_SIP_PORT; do
		printf -v "$v" %s "${!v:-5060}"
		number "$v" "${!v}"
	done
	MODE=knot RESOLVER=127.0.0.1@$PORT UPORT=${TB_UNBOUND_PORT:-$((PORT + 90))}
	[ "${TB_UNBOUND:-0}" = 0 ] || MODE=unbound RESOLVER=127.0.0.1@$UPORT
	cmd_stop "$DIR"
	prepare_dir "$DIR"
	trap start_failed EXIT
	trap 'exit 130' INT TERM
	write_conf
	make_certs "$DIR" &
	local certs=$!
	make_keys "$DIR"
	wait "$certs" || die "certificate generation failed"
	write_zones
	sign_broken
	keymgr -c "$DIR/knot.conf" . ds | awk '$2 == "DS" && $4 == 13 && $5 == 2 { print ". 3600 IN DS", $3, $4, $5, $6 }' \
		>"$DIR/root-anchor.ds"
	keymgr -c "$DIR/knot.conf" . dnskey | awk '$2 == "DNSKEY" { $1 = ". 3600 IN"; print }' >"$DIR/root-anchor.dnskey"
	write_env
	# knotd uses SO_REUSEPORT for UDP: another server on the port would silently share it
	! kdig @127.0.0.1 -p "$PORT" +tcp +time=1 +retry=0 . SOA >/dev/null 2>&1 ||
		die "something already answers on 127.0.0.1@$PORT"
	knotd -c "$DIR/knot.conf" </dev/null >"$DIR/knotd.log" 2>&1 &
	echo $! >"$DIR/knotd.pid"
	wait_ready
	[ "$MODE" = knot ] || start_unbound
	trap - EXIT INT TERM
	t1=$(now_us)
	awk -v a="$t0" -v b="$t1" -v p="$PORT" -v u="${MODE/knot/}" -v r="$RESOLVER" 'BEGIN {
		printf "testbed ready on 127.0.0.1@%s%s in %.2fs\n", p,
			u == "" ? "" : " behind a validating unbound on " r, (b - a) / 1e6 }'
}

[ $# -ge 2 ] || die "usage: testbed.sh start DIR [PORT] | stop DIR | status DIR"
[ "$1" != start ] || mkdir -p "$2"
DIR=$(realpath -m "$2")
PORT=${3:-10053}
case $1 in
start) cmd_start ;;
stop) cmd_stop "$DIR" ;;
status) cmd_status "$DIR" ;;
*) die "unknown command: $1" ;;
esac
