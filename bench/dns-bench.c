/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * dns-bench.c - validated lookups per second through sipdance_dns: cold (the
 * cache flushed before every lookup, so getdns validates the whole chain
 * again) and warm (answered from the cache). bench/dns-bench.sh runs it
 * against the Knot testbed next to kdig.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sipdance/dns.h>

/* now_us - monotonic microseconds */
static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

int main(int argc, char **argv)
{
	struct sipdance_dns_conf conf = { .size = sizeof(conf) };
	struct sipdance_dns *dns;
	struct sipdance_dns_answer *a = NULL;
	const char *why = "";
	enum sipdance_dns_status first = SIPDANCE_DNS_INDETERMINATE;
	int n, cold, cached = 0;
	double t0, t;

	if (argc != 7 || (n = atoi(argv[3])) <= 0 ||
	    (strcmp(argv[4], "cold") && strcmp(argv[4], "warm"))) {
		fprintf(stderr, "usage: dns-bench RESOLVER ANCHOR N cold|warm NAME TYPE\n");
		return 2;
	}
	conf.resolver = argv[1];
	conf.trust_anchor = argv[2];
	cold = !strcmp(argv[4], "cold");
	if (sipdance_dns_alloc(&dns, &conf, &why)) {
		fprintf(stderr, "dns-bench: %s\n", why);
		return 2;
	}
	/* one lookup first: OpenSSL and getdns set up, and the cache primed for warm */
	if (sipdance_dns_lookup_sync(dns, argv[5], (uint16_t)atoi(argv[6]), &a)) {
		fprintf(stderr, "dns-bench: lookup failed\n");
		return 2;
	}
	first = sipdance_dns_answer_status(a);
	sipdance_dns_answer_unref(a);
	t0 = now_us();
	for (int i = 0; i < n; i++) {
		if (cold)
			sipdance_dns_flush(dns);
		if (sipdance_dns_lookup_sync(dns, argv[5], (uint16_t)atoi(argv[6]), &a))
			return 2;
		cached += sipdance_dns_answer_cached(a);
		if (sipdance_dns_answer_status(a) != first) {
			fprintf(stderr, "dns-bench: status changed to %s\n",
				sipdance_dns_status_str(sipdance_dns_answer_status(a)));
			return 1;
		}
		sipdance_dns_answer_unref(a);
	}
	t = now_us() - t0;
	printf("%s %s/%s %s: %d lookups, %d cached, %.1f us/lookup, %.0f lookups/s\n",
	       argv[4], argv[5], argv[6], sipdance_dns_status_str(first), n, cached, t / n,
	       n / (t / 1e6));
	sipdance_dns_free(dns);
	return 0;
}
