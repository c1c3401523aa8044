# Benchmarks: `make bench` builds them; each compares with a peer in the same
# run and records its results in docs/benchmarks.md. Not part of `make check`.
SD_BENCH = bench/chain-bench bench/srtp-bench bench/stir-bench bench/dns-bench bench/clientid-bench
EXTRA_PROGRAMS = $(SD_BENCH)
bench_chain_bench_SOURCES = bench/chain-bench.c
bench_chain_bench_CFLAGS = $(AM_CFLAGS) $(OPENSSL_CFLAGS)
bench_chain_bench_LDADD = libsdcore.la $(OPENSSL_LIBS)
bench_srtp_bench_SOURCES = bench/srtp-bench.c
bench_srtp_bench_CFLAGS = $(AM_CFLAGS) $(OPENSSL_CFLAGS) $(SRTP_CFLAGS)
bench_srtp_bench_LDADD = libsdmedia.la libsdcore.la $(OPENSSL_LIBS) $(SRTP_LIBS)
bench_stir_bench_SOURCES = bench/stir-bench.c
bench_stir_bench_CFLAGS = $(AM_CFLAGS) $(OPENSSL_CFLAGS)
bench_stir_bench_LDADD = libsdcore.la $(OPENSSL_LIBS)
EXTRA_DIST += bench/stir-bench.sh
bench: $(SD_BENCH)
.PHONY: bench
CLEANFILES += $(SD_BENCH)
EXTRA_DIST += bench/chain-bench.sh
bench_clientid_bench_SOURCES = bench/clientid-bench.c
bench_clientid_bench_CFLAGS = $(AM_CFLAGS) $(OPENSSL_CFLAGS)
bench_clientid_bench_LDADD = libsdcore.la $(OPENSSL_LIBS)
EXTRA_DIST += bench/clientid-bench.sh
bench_dns_bench_SOURCES = bench/dns-bench.c
bench_dns_bench_LDADD = libsdcore.la $(OPENSSL_LIBS) $(GETDNS_LIBS)
EXTRA_DIST += bench/dns-bench.sh
# Reliability: the soak (tests/soak-short.sh runs it for 60 s) and the fuzzing campaign.
EXTRA_DIST += bench/soak.sh bench/fuzz-campaign.sh
