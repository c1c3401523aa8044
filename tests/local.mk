# Tests: the CUnit runner (one suite per module), then scripts against the
# built tools and real servers. `make check` runs them all.
check_PROGRAMS += tests/run-tests
tests_run_tests_SOURCES = \
	tests/suites.h \
	tests/run-tests.c \
	tests/test_util.c \
	tests/test_tlsa.c \
	tests/test_dane.c
tests_run_tests_CFLAGS = $(AM_CFLAGS) $(OPENSSL_CFLAGS) $(CUNIT_CFLAGS)
tests_run_tests_LDADD = libsdcore.la $(OPENSSL_LIBS) $(CUNIT_LIBS)

TESTS += tests/run-tests tests/cli-tlsa.sh
AM_TESTS_ENVIRONMENT = top_builddir='$(top_builddir)'; export top_builddir;

EXTRA_DIST += \
	tests/cli-tlsa.sh \
	tests/data/dane.in \
	tests/data/mkcerts.sh \
	tests/data/certs

# libFuzzer targets (./configure --enable-fuzzing CC=clang); `make fuzz`
# builds them, tests/fuzz/run.sh runs them.
if FUZZING
FUZZ_TARGETS = tests/fuzz/fuzz-tlsa
noinst_PROGRAMS += $(FUZZ_TARGETS)
fuzz_ldflags = -fsanitize=fuzzer
tests_fuzz_fuzz_tlsa_SOURCES = tests/fuzz/fuzz_tlsa.c
tests_fuzz_fuzz_tlsa_LDFLAGS = $(fuzz_ldflags)
tests_fuzz_fuzz_tlsa_LDADD = libsdcore.la
endif
fuzz: $(FUZZ_TARGETS)
.PHONY: fuzz
EXTRA_DIST += tests/fuzz/run.sh tests/fuzz/corpus
