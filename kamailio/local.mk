# kamailio/: the native Kamailio module sipdance.so, only with
# ./configure --with-kamailio-module[=DIR] (DIR: the Kamailio source tree of
# the installed kamailio, prepared by kamailio/get-source.sh). A plain build
# never looks at it.
EXTRA_DIST += kamailio/get-source.sh tools/enable-deb-src.sh kamailio/sipdance_mod.c kamailio/kam_verify.c kamailio/kam_verify.h \
	kamailio/kam_stats.c kamailio/kam_stats.h \
	examples/kamailio/kamailio.cfg examples/kamailio/README.md \
	tests/kamailio-lib.sh tests/kamailio-sip.py tests/kamailio-compare.py tests/kamailio-uac.xml \
	tests/kamailio-uas.xml tests/kamailio-load.sh tests/kamailio-dest.sh tests/kamailio-peer.sh \
	tests/kamailio-interop.sh tests/kamailio-kemi.sh tests/kamailio-kemi.cfg tests/kamailio-kemi.js \
	tests/kamailio-stir.sh tests/kamailio-stir.cfg tests/kamailio-listen.py tests/kamailio-hostile.sh \
	tests/kamailio-hostile.py tests/kamailio-client-chain.sh tests/kamailio-metrics.sh tests/kamailio-async.sh \
	tests/dns-filter.py examples/kamailio/add-user.sh \
	bench/kamailio-bench.sh bench/kamailio-bench.cfg docs/kamailio-module.md

if KAMAILIO_MODULE
# Installed next to Kamailio's own modules; tests load it from the build tree.
kammoddir = $(KAMAILIO_MODDIR)
kammod_LTLIBRARIES = kamailio/sipdance.la
kamailio_sipdance_la_SOURCES = kamailio/sipdance_mod.c kamailio/kam_verify.c kamailio/kam_verify.h \
	kamailio/kam_stats.c kamailio/kam_stats.h
# Kamailio's compile defines and module flags (from its config.mak) decide the
# flags string the loader compares; its headers are system headers to our warnings.
kamailio_sipdance_la_CPPFLAGS = $(AM_CPPFLAGS) -isystem $(KAMAILIO_DIR)/src $(KAMAILIO_DEFS) \
	-DMOD_NAME='"sipdance"'
kamailio_sipdance_la_CFLAGS = $(SD_WARN_CFLAGS) $(KAMAILIO_CFLAGS) $(OPENSSL_CFLAGS) $(GETDNS_CFLAGS)
# libsipdance linked in (PIC, hidden symbols): the module needs no libsipdance.so at run time.
kamailio_sipdance_la_LIBADD = libsdcore.la $(OPENSSL_LIBS) $(GETDNS_LIBS) $(JANSSON_LIBS) $(CURL_LIBS)
kamailio_sipdance_la_LDFLAGS = -module -avoid-version -shared \
	-export-symbols-regex '^(exports|mod_register|module_version|module_flags|module_interface_ver)$$'

KAMAILIO_TESTS = tests/kamailio-load.sh tests/kamailio-dest.sh tests/kamailio-peer.sh tests/kamailio-kemi.sh \
	tests/kamailio-stir.sh tests/kamailio-interop.sh tests/kamailio-hostile.sh tests/kamailio-client-chain.sh \
	tests/kamailio-metrics.sh tests/kamailio-async.sh
TESTS += $(KAMAILIO_TESTS)
AM_TESTS_ENVIRONMENT += KAMAILIO_MODULE_DIR='$(abs_top_builddir)/kamailio/.libs'; export KAMAILIO_MODULE_DIR; \
	KAMAILIO_MODDIR='$(KAMAILIO_MODDIR)'; export KAMAILIO_MODDIR;
endif
