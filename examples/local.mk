# sipdance-ua: the example user agent (examples/) on sofia-sip nua, running
# the DTLS-SRTP media of stun/. Not installed; the tests and the demo use it.
noinst_PROGRAMS += examples/sipdance-ua
examples_sipdance_ua_SOURCES = examples/ua.c sip/certdir.h sip/certdir.c
examples_sipdance_ua_CFLAGS = $(AM_CFLAGS) $(SOFIA_CFLAGS) $(OPENSSL_CFLAGS) $(SRTP_CFLAGS)
examples_sipdance_ua_LDADD = libsdmedia.la libsdcore.la $(SOFIA_LIBS) $(OPENSSL_LIBS) $(SRTP_LIBS) -lm
EXTRA_DIST += examples/ua.md

# The federated call demo (./bootstrap.sh demo); tests/demo.sh runs it in the suite.
TESTS += tests/demo.sh
EXTRA_DIST += tests/demo.sh examples/demo/demo.py examples/demo/scenarios.py examples/demo/report.py \
	examples/demo/README.md examples/demo/report-excerpt.png
CLEANFILES += tests/demo-report.html
