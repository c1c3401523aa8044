# sipdance-proxy: the sample SIP proxy on sofia-sip (sip/). libsdproxy.la
# holds everything but main() so the self-test links the same code.
noinst_LTLIBRARIES += libsdproxy.la
libsdproxy_la_SOURCES = \
	sip/proxy.h \
	sip/fed.h \
	sip/certdir.h \
	sip/certdir.c \
	sip/log.c \
	sip/conf.c \
	sip/tlshook.c \
	sip/dance.h \
	sip/dance.c \
	sip/registrar.c \
	sip/suloop.h \
	sip/suloop.c \
	sip/self.c \
	sip/limits.c \
	sip/metrics.c \
	sip/stamp.h \
	sip/stamp.c \
	sip/fed_int.h \
	sip/fed.c \
	sip/fed_out.c \
	sip/fed_in.c \
	sip/state.h \
	sip/state.c \
	sip/stir.h \
	sip/stir.c \
	sip/digest.h \
	sip/digest.c \
	sip/auth.h \
	sip/users.c \
	sip/auth.c \
	sip/proxy.c
libsdproxy_la_CFLAGS = $(AM_CFLAGS) $(SOFIA_CFLAGS) $(OPENSSL_CFLAGS)
libsdproxy_la_LIBADD = libsipdance.la $(SOFIA_LIBS) $(OPENSSL_LIBS) -ldl

sbin_PROGRAMS += sipdance-proxy
sipdance_proxy_SOURCES = sip/main.c
sipdance_proxy_CFLAGS = $(AM_CFLAGS) $(SOFIA_CFLAGS) $(OPENSSL_CFLAGS)
sipdance_proxy_LDADD = libsdproxy.la

# The hook self-test: sofia-sip's TLS connections must pass through it.
check_PROGRAMS += tests/sip-hook-test
tests_sip_hook_test_SOURCES = tests/sip-hook-test.c
tests_sip_hook_test_CFLAGS = $(AM_CFLAGS) $(SOFIA_CFLAGS) $(OPENSSL_CFLAGS)
tests_sip_hook_test_LDADD = libsdproxy.la $(OPENSSL_LIBS)
TESTS += tests/sip-hook-test

# The users file, Digest computation (RFC 7616 vectors) and canonical addresses.
check_PROGRAMS += tests/sip-auth-test
tests_sip_auth_test_SOURCES = tests/sip-auth-test.c
tests_sip_auth_test_CFLAGS = $(AM_CFLAGS) $(SOFIA_CFLAGS) $(OPENSSL_CFLAGS)
tests_sip_auth_test_LDADD = libsdproxy.la $(OPENSSL_LIBS)
TESTS += tests/sip-auth-test

# A one-shot SIP-over-TLS client with dane_clientid, for the client-auth tests.
check_PROGRAMS += tests/sip-tls-client
tests_sip_tls_client_SOURCES = tests/sip-tls-client.c
tests_sip_tls_client_CFLAGS = $(AM_CFLAGS) $(OPENSSL_CFLAGS)
tests_sip_tls_client_LDADD = libsipdance.la $(OPENSSL_LIBS)

# Integration tests: real sipdance-proxies, SIPp and (for federation) the Knot testbed;
# STIR/SHAKEN at the proxy (signing, verification, secsipidx and Kamailio secsipid interop);
# DANCE client auth, RFC 9102 chains, failover, two nodes sharing Redis. VALGRIND=1 runs them under memcheck (tests/timeout.sh).
PROXY_TESTS = tests/proxy-local.sh tests/proxy-malformed.sh tests/proxy-federation.sh \
	tests/proxy-insecure.sh tests/proxy-stir.sh tests/proxy-stir-kamailio.sh tests/proxy-clientid.sh \
	tests/proxy-chain.sh tests/proxy-failover.sh tests/proxy-hostile.sh tests/proxy-auth.sh \
	tests/proxy-linphone.sh tests/proxy-client-chain.sh tests/proxy-churn.sh tests/proxy-metrics.sh \
	tests/proxy-state.sh tests/proxy-nodes.sh tests/proxy-chain-state.sh
TESTS += $(PROXY_TESTS)
EXTRA_DIST += sip/sofia-sip/build.sh sip/sofia-sip/tls-free-ssl.patch sip/sofia-sip/nta-proxy-linger.patch tests/proxy-stir.sh tests/proxy-stir-kamailio.sh tests/sip-stir-uac.xml \
	tests/sip-stir-cancel.xml tests/valgrind.supp tests/valgrind-kamailio.supp
EXTRA_DIST += \
	tests/proxy-lib.sh \
	tests/proxy-local.sh \
	tests/proxy-malformed.sh \
	tests/proxy-federation.sh \
	tests/proxy-insecure.sh \
	tests/proxy-clientid.sh \
	tests/proxy-client-chain.sh \
	tests/proxy-chain.sh \
	tests/proxy-failover.sh \
	tests/proxy-hostile.sh \
	tests/hostile.py \
	tests/proxy-auth.sh \
	tests/proxy-linphone.sh \
	tests/proxy-churn.sh \
	tests/proxy-state.sh \
	tests/proxy-nodes.sh \
	tests/proxy-chain-state.sh \
	tests/redis-hold.py \
	tests/tls-churn.py \
	tests/proxy-metrics.sh \
	tests/http-get.py \
	tests/sip-digest.py \
	tests/sip-uac.xml \
	tests/sip-uas.xml \
	tests/sip-options.xml \
	tests/sip-options-domain.xml \
	tests/sip-register.xml \
	tests/sip-busy.xml \
	tests/sip-answer.xml \
	tests/sip-cancel-uac.xml \
	tests/sip-cancel-uas.xml

# The proxy benchmark (not part of make check): bench/proxy-bench.sh BUILD-DIR.
EXTRA_DIST += bench/proxy-bench.sh bench/bench-lib.sh
# The cost of the state shared through Redis (not part of make check): bench/state-bench.sh BUILD-DIR.
EXTRA_DIST += bench/state-bench.sh
# What reaching a user's flow through another node costs: bench/nodes-bench.sh BUILD-DIR.
EXTRA_DIST += bench/nodes-bench.sh
