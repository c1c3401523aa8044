# libsipdance: the stack-agnostic core. libsdcore.la holds every object so the
# tests can reach internal helpers; libsipdance.la exports only sipdance_*.
noinst_LTLIBRARIES += libsdcore.la
libsdcore_la_SOURCES = \
	src/internal.h \
	src/util.c \
	src/tlsa.c \
	src/dane.c
libsdcore_la_CFLAGS = $(AM_CFLAGS) $(OPENSSL_CFLAGS) $(GETDNS_CFLAGS) $(JANSSON_CFLAGS)
libsdcore_la_LIBADD = $(OPENSSL_LIBS) $(GETDNS_LIBS) $(JANSSON_LIBS)

lib_LTLIBRARIES += libsipdance.la
libsipdance_la_SOURCES =
libsipdance_la_LIBADD = libsdcore.la
libsipdance_la_LDFLAGS = -version-info $(LIBSIPDANCE_LT_VERSION) -no-undefined \
	-export-symbols-regex '^sipdance_'

include_HEADERS = src/sipdance.h
sipdanceincludedir = $(includedir)/sipdance
sipdanceinclude_HEADERS = \
	src/sipdance/common.h \
	src/sipdance/tlsa.h \
	src/sipdance/dane.h
