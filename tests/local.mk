# Tests: the CUnit runner (one suite per module), then scripts against the
# built tools and real servers. `make check` runs them all.
check_PROGRAMS += tests/run-tests
tests_run_tests_SOURCES = \
	tests/suites.h \
	tests/run-tests.c \
	tests/test_util.c \
	tests/test_loop.c \
	tests/test_store.c \
	tests/test_tlsa.c \
	tests/test_dane.c \
	tests/test_stir.c \
	tests/test_clientid.c \
	tests/test_dnssec.c \
	tests/test_policy.c \
	tests/test_locate.c \
	tests/test_stun.c \
	tests/test_sdp.c \
	tests/test_chain.c \
	tests/test_dns.c
tests_run_tests_CFLAGS = $(AM_CFLAGS) $(OPENSSL_CFLAGS) $(GETDNS_CFLAGS) $(CUNIT_CFLAGS)
tests_run_tests_LDADD = libsdmedia.la libsdcore.la $(OPENSSL_LIBS) $(SRTP_LIBS) $(CUNIT_LIBS)

TESTS += tests/run-tests tests/headers.sh tests/naptr-variant.sh tests/cli-tlsa.sh tests/check-live.sh tests/media-ua.sh tests/media-baresip.sh

# RFC 9102: the CLI offline and against the live testbed, TLS handshakes with the chain.
check_PROGRAMS += tests/chain-tls
tests_chain_tls_SOURCES = tests/chain-tls.c
tests_chain_tls_CFLAGS = $(AM_CFLAGS) $(OPENSSL_CFLAGS)
tests_chain_tls_LDADD = libsdcore.la $(OPENSSL_LIBS) -lpthread
TESTS += tests/chain-cli.sh tests/chain-live.sh tests/chain-tls.sh
EXTRA_DIST += tests/chain-cli.sh tests/chain-live.sh tests/chain-tls.sh

# dane_clientid: the CLI contract, and handshakes against the Knot testbed.
check_PROGRAMS += tests/clientid-tls
tests_clientid_tls_SOURCES = tests/clientid-tls.c
tests_clientid_tls_CFLAGS = $(AM_CFLAGS) $(OPENSSL_CFLAGS)
tests_clientid_tls_LDADD = libsdcore.la $(OPENSSL_LIBS) -lpthread
TESTS += tests/clientid-cli.sh tests/clientid-tls.sh
EXTRA_DIST += tests/clientid-cli.sh tests/clientid-tls.sh tests/clientid-certs tests/mkchain.py
AM_TESTS_ENVIRONMENT = top_builddir='$(top_builddir)'; export top_builddir;
# Every test runs under a time limit (tests/timeout.sh): a hang is a failure.
TEST_EXTENSIONS = .sh
LOG_COMPILER = $(top_srcdir)/tests/timeout.sh
SH_LOG_COMPILER = $(top_srcdir)/tests/timeout.sh

# STIR/SHAKEN: the CLI contract; interop with secsipidx and x5u over loopback HTTPS.
TESTS += tests/stir-cli.sh tests/stir-interop.sh
EXTRA_DIST += tests/stir-cli.sh tests/stir-interop.sh tests/data/stir

EXTRA_DIST += \
	tests/timeout.sh \
	tests/ports.sh \
	tests/wait-for.sh \
	tests/stress.sh \
	tests/check-lib.sh \
	tests/certs-lib.sh \
	tests/reap-lib.sh \
	tests/media-lib.sh \
	tests/cli-tlsa.sh \
	tests/headers.sh \
	tests/naptr-variant.sh \
	tests/media-ua.sh \
	tests/media-baresip.sh \
	tests/data/dane.in \
	tests/data/mkcerts.sh \
	tests/data/dnssec \
	tests/data/dns \
	tests/check-live.sh \
	tests/testbed \
	tests/data/certs

# Reliability (docs/reliability.md): faults injected under a running federation on the Knot
# testbed, each bounded (< 60 s), and the 60-second soak; bench/soak.sh is the long one.
FAULT_TESTS = tests/fault-dns.sh tests/fault-dns-down.sh tests/fault-bogus.sh tests/fault-anchor.sh tests/fault-tlsa.sh \
	tests/fault-peer.sh tests/fault-x5u.sh tests/fault-x5u-proxy.sh tests/soak-short.sh
TESTS += $(FAULT_TESTS)
EXTRA_DIST += $(FAULT_TESTS) tests/fault-lib.sh

# An LD_PRELOAD shim for the x5u fault tests: name lookups under slow.test never answer.
check_LTLIBRARIES = tests/libslowdns.la
tests_libslowdns_la_SOURCES = tests/slowdns.c
tests_libslowdns_la_LDFLAGS = -module -avoid-version -rpath /nowhere
tests_libslowdns_la_LIBADD = -ldl

# The DNS and policy integration tests again behind a validating Unbound (the testbed's second mode).
TESTS += tests/unbound-mode.sh
EXTRA_DIST += tests/unbound-mode.sh

# libFuzzer targets (./configure --enable-fuzzing CC=clang); `make fuzz`
# builds them, tests/fuzz/run.sh runs them.
if FUZZING
FUZZ_TARGETS = tests/fuzz/fuzz-tlsa tests/fuzz/fuzz-passport tests/fuzz/fuzz-stun tests/fuzz/fuzz-clientid tests/fuzz/fuzz-chain \
	tests/fuzz/fuzz-dnssec tests/fuzz/fuzz-sdp tests/fuzz/fuzz-sip tests/fuzz/fuzz-x5u
noinst_PROGRAMS += $(FUZZ_TARGETS)
fuzz_ldflags = -fsanitize=fuzzer
tests_fuzz_fuzz_tlsa_SOURCES = tests/fuzz/fuzz_tlsa.c
tests_fuzz_fuzz_tlsa_LDFLAGS = $(fuzz_ldflags)
tests_fuzz_fuzz_tlsa_LDADD = libsdcore.la
tests_fuzz_fuzz_passport_SOURCES = tests/fuzz/fuzz_passport.c
tests_fuzz_fuzz_passport_LDFLAGS = $(fuzz_ldflags)
tests_fuzz_fuzz_passport_LDADD = libsdcore.la $(OPENSSL_LIBS)
tests_fuzz_fuzz_clientid_SOURCES = tests/fuzz/fuzz_clientid.c
tests_fuzz_fuzz_clientid_LDFLAGS = $(fuzz_ldflags)
tests_fuzz_fuzz_clientid_LDADD = libsdcore.la $(OPENSSL_LIBS)
tests_fuzz_fuzz_chain_SOURCES = tests/fuzz/fuzz_chain.c
tests_fuzz_fuzz_chain_LDFLAGS = $(fuzz_ldflags)
tests_fuzz_fuzz_chain_LDADD = libsdcore.la $(OPENSSL_LIBS)
tests_fuzz_fuzz_dnssec_SOURCES = tests/fuzz/fuzz_dnssec.c
tests_fuzz_fuzz_dnssec_LDFLAGS = $(fuzz_ldflags)
tests_fuzz_fuzz_dnssec_LDADD = libsdcore.la $(OPENSSL_LIBS)
tests_fuzz_fuzz_stun_SOURCES = tests/fuzz/fuzz_stun.c
tests_fuzz_fuzz_stun_LDFLAGS = $(fuzz_ldflags)
tests_fuzz_fuzz_stun_LDADD = libsdmedia.la libsdcore.la $(OPENSSL_LIBS) $(SRTP_LIBS)
tests_fuzz_fuzz_sdp_SOURCES = tests/fuzz/fuzz_sdp.c
tests_fuzz_fuzz_sdp_CFLAGS = $(AM_CFLAGS) $(OPENSSL_CFLAGS)
tests_fuzz_fuzz_sdp_LDFLAGS = $(fuzz_ldflags)
tests_fuzz_fuzz_sdp_LDADD = libsdcore.la $(OPENSSL_LIBS)
tests_fuzz_fuzz_x5u_SOURCES = tests/fuzz/fuzz_x5u.c
tests_fuzz_fuzz_x5u_CFLAGS = $(AM_CFLAGS) $(OPENSSL_CFLAGS)
tests_fuzz_fuzz_x5u_LDFLAGS = $(fuzz_ldflags)
tests_fuzz_fuzz_x5u_LDADD = libsdcore.la $(OPENSSL_LIBS)
# SIP through the proxy's input path (sip/ linked as libsdproxy)
tests_fuzz_fuzz_sip_SOURCES = tests/fuzz/fuzz_sip.c
tests_fuzz_fuzz_sip_CFLAGS = $(AM_CFLAGS) $(SOFIA_CFLAGS) $(OPENSSL_CFLAGS)
tests_fuzz_fuzz_sip_LDFLAGS = $(fuzz_ldflags)
tests_fuzz_fuzz_sip_LDADD = libsdproxy.la $(OPENSSL_LIBS)
endif
fuzz: $(FUZZ_TARGETS)
.PHONY: fuzz
EXTRA_DIST += tests/fuzz/run.sh tests/fuzz/fuzz-lib.sh tests/fuzz/corpus tests/fuzz/regressions

# The DNS layer against the Knot test hierarchy; tests/dns-live.sh runs it.
check_PROGRAMS += tests/dns-live
tests_dns_live_SOURCES = tests/dns-live.c
tests_dns_live_LDADD = libsdcore.la $(OPENSSL_LIBS) $(GETDNS_LIBS)
TESTS += tests/dns-live.sh
EXTRA_DIST += tests/dns-live.sh

# The valgrind harness (VALGRIND=1, tests/timeout.sh and tests/valgrind.sh) fails a test on a fault.
check_PROGRAMS += tests/valgrind-self
tests_valgrind_self_SOURCES = tests/valgrind-self.c
TESTS += tests/valgrind-self.sh
EXTRA_DIST += tests/valgrind-self.sh tests/valgrind.sh

# WebRTC: headless Chromium (playwright-core) runs the web phone of examples/webrtc through the
# Kamailio WebSocket edges and sipdance-ua, inside a network namespace; they need the module.
if KAMAILIO_MODULE
WEBRTC_TESTS = tests/webrtc-federation.sh tests/webrtc-ua.sh
TESTS += $(WEBRTC_TESTS)
endif
EXTRA_DIST += tests/webrtc-lib.sh tests/webrtc-drive.cjs tests/webrtc-federation.sh tests/webrtc-ua.sh \
	examples/webrtc/README.md examples/webrtc/build.sh examples/webrtc/index.html examples/webrtc/phone.js \
	examples/webrtc/serve.js examples/webrtc/kamailio-edge.cfg examples/webrtc/package.json \
	examples/webrtc/package-lock.json
