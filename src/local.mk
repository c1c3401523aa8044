# libsipdance: the stack-agnostic core. libsdcore.la holds every object so the
# tests can reach internal helpers; libsipdance.la exports only sipdance_*.
noinst_LTLIBRARIES += libsdcore.la
libsdcore_la_SOURCES = \
	src/internal.h \
	src/util.c \
	src/anchor.c \
	src/loop.c \
	src/store_int.h \
	src/store.c \
	src/store_redis.c \
	src/tlsa.c \
	src/dane.c \
	src/stir-internal.h \
	src/passport.c \
	src/identity.c \
	src/x5u.c \
	src/x5u_http.c \
	src/stir.c \
	src/sdp.c \
	src/clientid.c \
	src/clientid_tls.c \
	src/clientid_dns.c \
	src/policy.c \
	src/locate.c \
	src/dns_int.h \
	src/dns.c \
	src/dns_cache.c \
	src/dns_loop.c \
	src/dns_diag.c \
	src/dnssec_int.h \
	src/dnssec.c \
	src/dnssec_rr.c \
	src/dnssec_val.c \
	src/chain_int.h \
	src/chain.c \
	src/chain_fetch.c \
	src/chain_tls.c
if NAPTR_WORKAROUND
libsdcore_la_SOURCES += src/dns_naptr.c
else
EXTRA_DIST += src/dns_naptr.c
endif
libsdcore_la_CFLAGS = $(AM_CFLAGS) $(OPENSSL_CFLAGS) $(GETDNS_CFLAGS) $(JANSSON_CFLAGS) $(CURL_CFLAGS) \
	$(HIREDIS_CFLAGS)
libsdcore_la_LIBADD = $(OPENSSL_LIBS) $(GETDNS_LIBS) $(JANSSON_LIBS) $(CURL_LIBS) $(HIREDIS_LIBS)

lib_LTLIBRARIES += libsipdance.la
libsipdance_la_SOURCES =
libsipdance_la_LIBADD = libsdcore.la
libsipdance_la_LDFLAGS = -version-info $(LIBSIPDANCE_LT_VERSION) -no-undefined \
	-export-symbols-regex '^sipdance_'

include_HEADERS = src/sipdance.h
sipdanceincludedir = $(includedir)/sipdance
sipdanceinclude_HEADERS = \
	src/sipdance/common.h \
	src/sipdance/loop.h \
	src/sipdance/store.h \
	src/sipdance/tlsa.h \
	src/sipdance/dane.h \
	src/sipdance/passport.h \
	src/sipdance/identity.h \
	src/sipdance/x5u.h \
	src/sipdance/stir.h \
	src/sipdance/sdp.h \
	src/sipdance/clientid.h \
	src/sipdance/dns.h \
	src/sipdance/policy.h \
	src/sipdance/locate.h \
	src/sipdance/chain.h \
	src/sipdance/anchor.h
nodist_sipdanceinclude_HEADERS = src/sipdance/version.h
EXTRA_DIST += src/sipdance/version.h.in
