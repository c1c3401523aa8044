/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_dane.c - the DANE matcher, driven by tests/data/dane.in (format in
 * that file's header), plus the RFC 5922 name rules and argument errors.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <CUnit/CUnit.h>
#include <openssl/pem.h>

#include <sipdance/dane.h>
#include "suites.h"

#define MAXNAMES 4

struct vector {
	int num;
	char desc[160];
	char chain[128], ca[128];
	char names[MAXNAMES][128];
	size_t nnames;
	time_t at;
	struct sipdance_tlsa_set *tlsa;
	char expect[16];
	int depth;
};

/* read_chain - certificates of tests/data/certs/<file> */
static STACK_OF(X509) *read_chain(const char *file)
{
	char rel[192];
	STACK_OF(X509) *chain = sk_X509_new_null();
	FILE *f;
	X509 *x;

	snprintf(rel, sizeof(rel), "certs/%s", file);
	if (!chain || !(f = fopen(test_data(rel), "r")))
		return chain;
	while ((x = PEM_read_X509(f, NULL, NULL, NULL)))
		sk_X509_push(chain, x);
	fclose(f);
	return chain;
}

/* full_data - "@file": the DER certificate or SPKI of a fixture, as TLSA full data */
static struct sipdance_tlsa *full_data(unsigned u, unsigned s, const char *file)
{
	STACK_OF(X509) *chain = read_chain(file);
	struct sipdance_tlsa *t = NULL;

	if (sk_X509_num(chain) > 0)
		sipdance_tlsa_create(&t, sk_X509_value(chain, 0), (uint8_t)u, (uint8_t)s, 0);
	sk_X509_pop_free(chain, X509_free);
	return t;
}

/* add_tlsa - one "tlsa" line into the vector's RRset; 0 or -1 */
static int add_tlsa(struct vector *v, const char *arg)
{
	struct sipdance_tlsa *t = NULL;
	unsigned u, s, m;
	char file[128];

	if (sscanf(arg, "%u %u %u @%127s", &u, &s, &m, file) == 4)
		t = full_data(u, s, file);
	else
		sipdance_tlsa_parse(&t, arg, NULL);
	return t && sipdance_tlsa_set_add(v->tlsa, t) == 0 ? 0 : -1;
}

/* next_vector - parse the next block; 1 read, 0 end of file, -1 format error */
static int next_vector(FILE *f, struct vector *v, int *lineno)
{
	char line[1024];
	int in_block = 0;

	memset(v, 0, sizeof(*v));
	v->depth = -1;
	if (sipdance_tlsa_set_alloc(&v->tlsa))
		return -1;
	while (fgets(line, sizeof(line), f)) {
		char *key = line, *arg;

		(*lineno)++;
		line[strcspn(line, "\n")] = '\0';
		if (line[0] == '#' || (!line[0] && !in_block))
			continue;
		if (!line[0])
			break;
		in_block = 1;
		arg = strchr(line, ' ');
		if (!arg)
			return -1;
		*arg++ = '\0';
		if (!strcmp(key, "test"))
			sscanf(arg, "%d %159[^\n]", &v->num, v->desc);
		else if (!strcmp(key, "chain"))
			snprintf(v->chain, sizeof(v->chain), "%s", arg);
		else if (!strcmp(key, "ca"))
			snprintf(v->ca, sizeof(v->ca), "%s", arg);
		else if (!strcmp(key, "name") && v->nnames < MAXNAMES)
			snprintf(v->names[v->nnames++], sizeof(v->names[0]), "%s", arg);
		else if (!strcmp(key, "at"))
			v->at = (time_t)strtoll(arg, NULL, 10);
		else if (!strcmp(key, "tlsa")) {
			if (add_tlsa(v, arg))
				return -1;
		} else if (!strcmp(key, "expect"))
			sscanf(arg, "%15s %d", v->expect, &v->depth);
		else
			return -1;
	}
	return in_block;
}

/* run_vector - verify one block; 1 when the outcome is the expected one */
static int run_vector(const struct vector *vec)
{
	const char *names[MAXNAMES];
	struct sipdance_dane_params p = { .names = names, .nnames = vec->nnames, .at = vec->at };
	STACK_OF(X509) *chain = read_chain(vec->chain);
	struct sipdance_dane *d = NULL;
	struct sipdance_verdict v;
	char ca[192];
	int ok = 0;

	for (size_t i = 0; i < vec->nnames; i++)
		names[i] = vec->names[i];
	snprintf(ca, sizeof(ca), "certs/%s", vec->ca);
	if (sipdance_dane_alloc(&d, vec->ca[0] ? test_data(ca) : NULL) == 0 &&
	    sipdance_dane_verify(d, vec->tlsa, chain, &p, &v) == 0) {
		ok = !strcmp(sipdance_result_str(v.result), vec->expect) &&
		     (v.result != SIPDANCE_MATCH || v.depth == vec->depth);
		if (!ok)
			fprintf(stderr, "\n  dane.in test %d (%s): want %s %d, got %s %d: %s\n", vec->num,
				vec->desc, vec->expect, vec->depth, sipdance_result_str(v.result),
				v.depth, v.reason);
		else if (!v.reason[0])
			ok = 0;
	} else {
		fprintf(stderr, "\n  dane.in test %d: verifier error\n", vec->num);
	}
	sipdance_dane_free(d);
	sk_X509_pop_free(chain, X509_free);
	return ok;
}

/* vectors - every block of dane.in */
static void vectors(void)
{
	FILE *f = fopen(test_data("dane.in"), "r");
	struct vector v;
	int lineno = 0, r, count = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	while ((r = next_vector(f, &v, &lineno)) == 1) {
		CU_ASSERT(run_vector(&v));
		sipdance_tlsa_set_free(v.tlsa);
		count++;
	}
	sipdance_tlsa_set_free(v.tlsa);
	if (r < 0)
		fprintf(stderr, "\n  dane.in:%d: format error\n", lineno);
	CU_ASSERT_EQUAL(r, 0);
	CU_ASSERT(count >= 40);
	fclose(f);
}

/* names - RFC 5922 §7.1 rules, directly */
static void names(void)
{
	static const struct {
		const char *file, *domain;
		int want;
	} cases[] = {
		{ "ee.pem", "example.com", 1 },       /* SAN URI sip:example.com */
		{ "ee.pem", "EXAMPLE.com", 1 },       /* case-insensitive */
		{ "ee.pem", "sip.example.com", 0 },   /* URIs present: dNSName ignored */
		{ "dnsonly.pem", "sip.example.com", 1 },
		{ "dnsonly.pem", "other.example.com", 0 },
		{ "wild.pem", "a.example.com", 0 },   /* no wildcards */
		{ "wild.pem", "*.example.com", 1 },   /* literal only */
		{ "urionly.pem", "example.com", 0 },
		{ "urionly.pem", "other.com", 1 },
		{ "cnonly.pem", "example.com", 1 },   /* CN only without SAN */
		{ "ee.pem", "", 0 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		STACK_OF(X509) *c = read_chain(cases[i].file);

		CU_ASSERT_EQUAL_FATAL(sk_X509_num(c), 1);
		if (sipdance_dane_cert_has_domain(sk_X509_value(c, 0), cases[i].domain) != cases[i].want)
			fprintf(stderr, "\n  %s / %s: want %d\n", cases[i].file, cases[i].domain,
				cases[i].want);
		CU_ASSERT_EQUAL(sipdance_dane_cert_has_domain(sk_X509_value(c, 0), cases[i].domain),
				cases[i].want);
		sk_X509_pop_free(c, X509_free);
	}
}

/* bad_arguments - plumbing errors are errno values, not verdicts */
static void bad_arguments(void)
{
	struct sipdance_dane *d = NULL;
	struct sipdance_tlsa_set *set = NULL;
	struct sipdance_verdict v;
	STACK_OF(X509) *empty = sk_X509_new_null();

	CU_ASSERT_EQUAL(sipdance_dane_alloc(&d, "/nonexistent/ca.pem"), ENOENT);
	CU_ASSERT_EQUAL(sipdance_dane_alloc(&d, test_data("dane.in")), EINVAL);
	CU_ASSERT_EQUAL_FATAL(sipdance_dane_alloc(&d, NULL), 0);
	CU_ASSERT_EQUAL_FATAL(sipdance_tlsa_set_alloc(&set), 0);
	CU_ASSERT_EQUAL(sipdance_dane_verify(d, set, empty, NULL, &v), EINVAL);
	CU_ASSERT_EQUAL(sipdance_dane_verify(d, set, NULL, NULL, &v), EINVAL);
	sk_X509_free(empty);
	sipdance_tlsa_set_free(set);
	sipdance_dane_free(d);
	sipdance_dane_free(NULL);
}

CU_ErrorCode suite_dane(void)
{
	CU_pSuite s = CU_add_suite("dane", NULL, NULL);

	if (!s || !CU_add_test(s, "dane.in vectors", vectors) ||
	    !CU_add_test(s, "RFC 5922 names", names) ||
	    !CU_add_test(s, "bad arguments", bad_arguments))
		return CU_get_error();
	return CUE_SUCCESS;
}
