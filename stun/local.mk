# libsdmedia: STUN codec, ICE, DTLS-SRTP media endpoint (stun/). Not installed:
# linked by the example UA and the tests.
noinst_LTLIBRARIES += libsdmedia.la
libsdmedia_la_SOURCES = \
	stun/stun.h \
	stun/stun.c \
	stun/ep.c
libsdmedia_la_CFLAGS = $(AM_CFLAGS) $(OPENSSL_CFLAGS) $(SRTP_CFLAGS)
libsdmedia_la_LIBADD = $(OPENSSL_LIBS) $(SRTP_LIBS)
