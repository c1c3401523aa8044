# The `sipdance` command.
bin_PROGRAMS += sipdance
sipdance_SOURCES = \
	tools/tool.h \
	tools/sipdance.c \
	tools/cmd_tlsa.c
sipdance_CFLAGS = $(AM_CFLAGS) $(OPENSSL_CFLAGS)
sipdance_LDADD = libsipdance.la $(OPENSSL_LIBS)
