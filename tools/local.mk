# The `sipdance` command.
bin_PROGRAMS += sipdance
sipdance_SOURCES = \
	tools/tool.h \
	tools/sipdance.c \
	tools/cmd_tlsa.c \
	tools/cmd_passport.c \
	tools/cmd_check.c \
	tools/cmd_user.c \
	tools/cmd_chain.c \
	sip/digest.h \
	sip/digest.c
sipdance_CFLAGS = $(AM_CFLAGS) $(OPENSSL_CFLAGS) $(JANSSON_CFLAGS)
sipdance_LDADD = libsipdance.la $(OPENSSL_LIBS) $(JANSSON_LIBS)
