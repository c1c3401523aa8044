/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * chain-bench.c - RFC 9102 costs against the local Knot testbed: the time to
 * obtain validated TLSA records and authenticate a fresh peer from a chain
 * versus DNS lookups (cold cache: new resolver; warm: cached answer), and
 * chain validations per second versus their signature checks alone.
 *   chain-bench RESOLVER ANCHOR HOST PORT CERT.pem [N]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <sipdance/chain.h>
#include <sipdance/dns.h>
#include "chain_int.h"
#include "internal.h"

/* now_us - monotonic microseconds */
static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/* die - print and exit */
static void __attribute__((noreturn)) die(const char *what)
{
	fprintf(stderr, "chain-bench: %s\n", what);
	exit(2);
}

/* match - DANE verdict of the peer certificate against @tlsa; 1 if MATCH */
static int match(const struct sipdance_dane *d, const struct sipdance_tlsa_set *tlsa,
		 STACK_OF(X509) *chain)
{
	struct sipdance_verdict v;

	return sipdance_dane_verify(d, tlsa, chain, NULL, &v) == 0 && v.result == SIPDANCE_MATCH;
}

/* by_dns - one authentication through a TLSA lookup on @dns */
static void by_dns(struct sipdance_dns *dns, const char *qname, const struct sipdance_dane *d,
		   STACK_OF(X509) *chain)
{
	struct sipdance_dns_answer *a = NULL;
	struct sipdance_tlsa_set *set = NULL;

	if (sipdance_dns_lookup_sync(dns, qname, SIPDANCE_DNS_TLSA, &a) ||
	    sipdance_dns_answer_status(a) != SIPDANCE_DNS_SECURE || sipdance_dns_answer_tlsa(a, &set) ||
	    !match(d, set, chain))
		die("DNS path did not authenticate");
	sipdance_tlsa_set_free(set);
	sipdance_dns_answer_unref(a);
}

/* sig_cost - microseconds for the signature checks of a chain alone (keys
 * and signed data prepared beforehand) */
static double sig_cost(const uint8_t *chain, size_t len, int rounds, int *nsig)
{
	struct sd_rr *rr, *set;
	size_t n, at;
	double t0, t;
	struct { uint8_t *data; size_t dlen; const struct sd_rr *sig, *key; EVP_PKEY *pk; } job[64];
	const char *why;
	int nj = 0;

	if (sd_chain_split(chain, len, &rr, &n, &at, NULL))
		die("chain does not parse");
	set = malloc(n * sizeof(*set));
	for (size_t i = 0; i < n && nj < 64; i++) {
		const struct sd_rr *sig = &rr[i];
		uint16_t covered;
		size_t k = 0;

		if (sig->type != 46)
			continue;
		covered = (uint16_t)(sig->rdata[0] << 8 | sig->rdata[1]);
		for (size_t j = 0; j < n; j++)
			if (rr[j].type == covered && sd_name_eq(rr[j].owner, sig->owner))
				set[k++] = rr[j];
		for (size_t j = 0; j < n; j++) {
			uint16_t tag = (uint16_t)(sig->rdata[16] << 8 | sig->rdata[17]);
			uint32_t ac = 0;

			if (rr[j].type != 48 || !sd_name_eq(rr[j].owner, sig->rdata + 18))
				continue;
			for (size_t b = 0; b < rr[j].rdlen; b++)
				ac += (b & 1) ? rr[j].rdata[b] : (uint32_t)rr[j].rdata[b] << 8;
			ac += ac >> 16 & 0xffff;
			if ((uint16_t)ac != tag)
				continue;
			job[nj].sig = sig;
			job[nj].key = &rr[j];
			job[nj].data = sd_chain_signed_data(sig, set, k, &job[nj].dlen);
			if (!(job[nj].pk = sd_dnssec_pkey(rr[j].rdata[3], rr[j].rdata + 4, rr[j].rdlen - 4, &why)))
				die(why);
			nj++;
			break;
		}
	}
	t0 = now_us();
	for (int r = 0; r < rounds; r++)
		for (int j = 0; j < nj; j++) {
			size_t sl = sd_name_len(job[j].sig->rdata + 18, job[j].sig->rdlen - 18, NULL);

			if (sd_dnssec_verify_pkey(job[j].sig->rdata[2], job[j].pk, job[j].data, job[j].dlen,
						  job[j].sig->rdata + 18 + sl, job[j].sig->rdlen - 18 - sl))
				die("signature does not verify");
		}
	t = (now_us() - t0) / rounds;
	for (int j = 0; j < nj; j++) {
		free(job[j].data);
		EVP_PKEY_free(job[j].pk);
	}
	free(set);
	free(rr);
	*nsig = nj;
	return t;
}

int main(int argc, char **argv)
{
	struct sipdance_dns_conf conf = { .size = sizeof(conf) };
	struct sipdance_anchor *ta;
	struct sipdance_chain_result r;
	struct sipdance_dns *dns;
	struct sipdance_dane *d;
	STACK_OF(X509) *peer = sk_X509_new_null();
	const char *why = NULL;
	char qname[300];
	uint8_t *chain;
	size_t len;
	int n = argc > 6 ? atoi(argv[6]) : 200, nsig;
	double t0, cold, warm, by_chain, validate, sigs;
	FILE *f;
	X509 *x;

	if (argc < 6)
		die("usage: chain-bench RESOLVER ANCHOR HOST PORT CERT.pem [N]");
	conf.resolver = argv[1];
	snprintf(qname, sizeof(qname), "_%s._tcp.%s", argv[4], argv[3]);
	if (!(f = fopen(argv[5], "r")) || !(x = PEM_read_X509(f, NULL, NULL, NULL)))
		die("certificate");
	fclose(f);
	sk_X509_push(peer, x);
	if (sipdance_dane_alloc(&d, NULL) || sipdance_anchor_load(&ta, argv[2], &why))
		die("setup");
	conf.anchor = ta;
	if (sipdance_chain_fetch(argv[1], ta, argv[3], (uint16_t)atoi(argv[4]), 0, &chain, &len, &why))
		die(why);

	/* DNS, cold: a fresh resolver (empty cache) per peer */
	t0 = now_us();
	for (int i = 0; i < n; i++) {
		if (sipdance_dns_alloc(&dns, &conf, &why))
			die(why);
		by_dns(dns, qname, d, peer);
		sipdance_dns_free(dns);
	}
	cold = (now_us() - t0) / n;
	/* DNS, warm: the answer in the resolver's cache */
	if (sipdance_dns_alloc(&dns, &conf, &why))
		die(why);
	by_dns(dns, qname, d, peer);
	t0 = now_us();
	for (int i = 0; i < n; i++)
		by_dns(dns, qname, d, peer);
	warm = (now_us() - t0) / n;
	sipdance_dns_free(dns);
	/* chain: validate offline, then DANE matching */
	t0 = now_us();
	for (int i = 0; i < n; i++) {
		if (sipdance_chain_validate(ta, chain, len, qname, 0, &r) || !r.secure || !match(d, r.tlsa, peer))
			die("chain path did not authenticate");
		sipdance_chain_result_clear(&r);
	}
	by_chain = (now_us() - t0) / n;
	/* validation alone, and its signature checks alone */
	t0 = now_us();
	for (int i = 0; i < 5 * n; i++) {
		sipdance_chain_validate(ta, chain, len, qname, 0, &r);
		sipdance_chain_result_clear(&r);
	}
	validate = (now_us() - t0) / (5 * n);
	sigs = sig_cost(chain, len, 5 * n, &nsig);

	printf("peer %s, chain %zu octets, %d signatures, N=%d\n", qname, len, nsig, n);
	printf("%-52s %10.1f us\n", "authenticate via DNS, cold (new resolver, no cache)", cold);
	printf("%-52s %10.1f us\n", "authenticate via DNS, warm (cached TLSA answer)", warm);
	printf("%-52s %10.1f us\n", "authenticate via RFC 9102 chain (no DNS)", by_chain);
	printf("%-52s %10.1f us  (%.0f/s)\n", "chain validation alone", validate, 1e6 / validate);
	printf("%-52s %10.1f us  (%.0f%% of validation)\n", "its signature checks alone", sigs,
	       100.0 * sigs / validate);
	free(chain);
	sipdance_anchor_free(ta);
	sipdance_dane_free(d);
	sk_X509_pop_free(peer, X509_free);
	return 0;
}
