#!/bin/sh
# bootstrap.sh - set up sipdance on a fresh Debian 12 machine (as root) and run it.
#
#   ./bootstrap.sh          install the Debian packages, then autogen, configure, make
#   ./bootstrap.sh check    the above, then the benchmarks built and the whole test suite (what CI runs)
#   ./bootstrap.sh demo     the above, then the federated call demo
#
# Installing is idempotent and quiet when everything is already there.
set -eu
cd "$(dirname "$0")"
top=$(pwd)

# Every Debian package the project, its tests and its demo need (debhelper, pkg-kde-tools and
# libglib2.0-dev build sofia-sip's source package, sip/sofia-sip/build.sh).
PACKAGES="
autoconf automake libtool pkg-config make gcc clang libclang-rt-14-dev
libssl-dev openssl libgetdns-dev getdns-utils libsofia-sip-ua-dev libsrtp2-dev
libcunit1-dev libjansson-dev libcurl4-openssl-dev doxygen
knot knot-dnsutils ldnsutils python3-dnspython unbound sip-tester valgrind baresip-core
kamailio kamailio-tls-modules kamailio-secsipid-modules dpkg-dev python3
debhelper pkg-kde-tools libglib2.0-dev
secsipidx libsecsipid-dev
chromium kamailio-websocket-modules iproute2 time
linphone-cli
redis-server libhiredis-dev
"
# The web phone's build and its browser tests need node and npm: Debian's, unless some are installed.
command -v npm >/dev/null 2>&1 || PACKAGES="$PACKAGES nodejs npm"

# say MSG - one progress line
say() { printf '== %s\n' "$*"; }

# install_packages - apt-get install whatever of $PACKAGES is missing
install_packages() {
	missing=
	for p in $PACKAGES; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
			missing="$missing $p"
	done
	[ -z "$missing" ] && return 0
	if [ "$(id -u)" != 0 ]; then
		echo "bootstrap.sh: missing Debian packages:$missing (run as root, or apt-get install them)" >&2
		exit 1
	fi
	say "installing:$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $missing >/dev/null
}

# build DIR [CONFIGURE ARGS] - configure (once) and make in DIR, out of tree
build() {
	dir=$1
	shift
	mkdir -p "$dir"
	if [ ! -f "$dir/Makefile" ] || [ configure -nt "$dir/Makefile" ]; then
		(cd "$dir" && "$top/configure" -q "$@")
	fi
	make -s -C "$dir" -j"$(nproc)"
}

# made NAME OUT CMD... - a build step whose test is that it succeeds: its output
# and a PASS or FAIL line in OUT, which joins the logs the summary reads
made() {
	name=$1 out=$2
	shift 2
	if "$@" >"$out" 2>&1; then
		printf 'PASS: %s\n# PASS: 1\n# FAIL: 0\n# ERROR: 0\n' "$name" >>"$out"
	else
		printf 'FAIL: %s (%s)\n# PASS: 0\n# FAIL: 1\n# ERROR: 0\n' "$name" "$out" >>"$out"
	fi
	grep -E '^(PASS|FAIL):' "$out" || true
	logs="$logs $out"
}

# summary LOG... - the plain "N passed, M failed" line over automake test logs
summary() {
	awk '/^# PASS:/ { p += $3 } /^# (FAIL|ERROR|XPASS):/ { f += $3 }
	     END { printf "%d passed, %d failed\n", p, f; exit f > 0 }' "$@"
}

install_packages
# Debian's sofia-sip with our fixes (sip/sofia-sip/): built once, a no-op while it is installed
sip/sofia-sip/build.sh
[ -x configure ] && [ configure -nt configure.ac ] && [ configure -nt Makefile.am ] || ./autogen.sh >/dev/null 2>&1
say "building"
build build

case "${1:-}" in
"")
	say "built: build/sipdance (try build/sipdance --help); ./bootstrap.sh check runs the tests"
	;;
check)
	logs=
	say "benchmarks (make bench): compiled, not run, so that none stops building unseen"
	made "make bench" build/bench.out make -s -C build -j"$(nproc)" bench
	say "the embedders' reference (make doc): the public headers' comments read by doxygen, no warning"
	made "make doc" build/doc.out make -s -C build doc
	say "test suite"
	make -C build -j"$(nproc)" check >build/check.out 2>&1 || true
	grep -E '^(PASS|FAIL|SKIP|XFAIL|XPASS|ERROR):|^# ' build/check.out || true
	logs="$logs build/check.out"
	say "test suite under AddressSanitizer + UndefinedBehaviorSanitizer"
	build build-asan --enable-sanitizers
	ASAN_OPTIONS=detect_leaks=1 make -C build-asan -j"$(nproc)" check >build-asan/check.out 2>&1 || true
	grep -E '^(FAIL|ERROR|XPASS):|^# (PASS|FAIL|ERROR)' build-asan/check.out || true
	logs="$logs build-asan/check.out"
	say "test suite under valgrind (memcheck): every program the tests start from the build"
	VALGRIND=1 make -C build -j"$(nproc)" check >build/valgrind.out 2>&1 || true
	grep -E '^(FAIL|ERROR|XPASS):|^# (PASS|FAIL|ERROR)' build/valgrind.out || true
	logs="$logs build/valgrind.out"
	say "Kamailio module (kamailio/sipdance.so) against the installed kamailio's source, its tests and the WebRTC tests"
	mkdir -p build-kam
	kamlogs=build-kam/check.out
	if ! kamdir=$(kamailio/get-source.sh); then
		printf 'FAIL: kamailio/get-source.sh (see its message above)\n# PASS: 0\n# FAIL: 1\n# ERROR: 0\n' >build-kam/check.out
	elif ! build build-kam --with-kamailio-module="$kamdir"; then
		printf 'FAIL: building kamailio/sipdance.so\n# PASS: 0\n# FAIL: 1\n# ERROR: 0\n' >build-kam/check.out
	else
		make -C build-kam -j"$(nproc)" check TESTS='$(KAMAILIO_TESTS) $(WEBRTC_TESTS)' >build-kam/check.out 2>&1 || true
		say "the same under valgrind (memcheck), Kamailio with the module included"
		VALGRIND=1 make -C build-kam -j"$(nproc)" check TESTS='$(KAMAILIO_TESTS) $(WEBRTC_TESTS)' \
			>build-kam/valgrind.out 2>&1 || true
		kamlogs="$kamlogs build-kam/valgrind.out"
	fi
	grep -E '^(PASS|FAIL|ERROR|XPASS):|^# (PASS|FAIL|ERROR)' $kamlogs || true
	logs="$logs $kamlogs"
	say "fuzz targets, short run"
	mkdir -p build-fuzz
	[ -f build-fuzz/Makefile ] || (cd build-fuzz && "$top/configure" -q --enable-fuzzing CC=clang)
	make -s -C build-fuzz -j"$(nproc)" fuzz
	tests/fuzz/run.sh build-fuzz "${FUZZ_SECONDS:-20}" >build-fuzz/check.out 2>&1 || true
	grep -E '^(PASS|FAIL|ERROR):' build-fuzz/check.out || true
	logs="$logs build-fuzz/check.out"
	for l in $logs; do
		grep -q '^# FAIL: *0$' "$l" && grep -q '^# ERROR: *0$' "$l" ||
			{ say "failures in $l:"; grep -E '^(FAIL|ERROR)' "$l" || tail -20 "$l"; }
	done
	summary $logs
	;;
demo)
	# the demo's TLS-client attack (4e) uses this test helper
	make -s -C build tests/sip-tls-client 2>/dev/null || true
	say "federated call demo (examples/demo/demo.py)"
	exec python3 examples/demo/demo.py --build build
	;;
*)
	echo "usage: ./bootstrap.sh [check|demo]" >&2
	exit 2
	;;
esac
