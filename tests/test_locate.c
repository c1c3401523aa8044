/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_locate.c - what locate decides without DNS: URI parsing and its
 * errors, IP literals (no DNSSEC, so never DANE), and target verification
 * per decision. The DNS paths run against Knot in tests/check-live.sh.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <CUnit/CUnit.h>
#include <openssl/pem.h>

#include <sipdance/locate.h>
#include "suites.h"

static struct sipdance_dns *dns;
static struct sipdance_dane *dane;
static struct sipdance_policy *policy;

/* setup - a resolver pointed at nothing: these tests must never need it */
static int setup(void)
{
	struct sipdance_dns_conf c = { .resolver = "127.0.0.1@9", .timeout_ms = 200 };
	char ca[512], anchor[512];

	/* test_data() returns a static buffer: copy each path */
	snprintf(anchor, sizeof(anchor), "%s", test_data("dns/dummy-anchor.ds"));
	snprintf(ca, sizeof(ca), "%s", test_data("certs/root.pem"));
	c.trust_anchor = anchor;
	return sipdance_dns_alloc(&dns, &c, NULL) || sipdance_dane_alloc(&dane, ca) ||
	       sipdance_policy_alloc(&policy, SIPDANCE_MODE_OPPORTUNISTIC);
}

static int teardown(void)
{
	sipdance_policy_free(policy);
	sipdance_dane_free(dane);
	sipdance_dns_free(dns);
	return 0;
}

/* bad_uris - each rejected before any lookup, with its reason */
static void bad_uris(void)
{
	static const struct { const char *uri, *why; } cases[] = {
		{ "http://b.example", "not a sip: or sips: URI" },
		{ "b.example", "not a sip: or sips: URI" },
		{ "sip:", "URI has no host" },
		{ "sip:bob@", "URI has no host" },
		{ "sips:b.example:0", "bad port in URI" },
		{ "sips:b.example:65536", "bad port in URI" },
		{ "sips:b.example:50x", "bad port in URI" },
		{ "sips:[::1", "unterminated IPv6 reference" },
		{ "sips:b/example", "host is not a domain name or address" },
	};
	struct sipdance_locate_conf conf = { .dns = dns, .policy = policy, .dane = dane };

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sipdance_locate *loc = NULL;
		const char *why = NULL;

		CU_ASSERT_EQUAL(sipdance_locate_sync(&loc, &conf, cases[i].uri, &why), EINVAL);
		CU_ASSERT_PTR_NOT_NULL_FATAL(why);
		if (strcmp(why, cases[i].why))
			fprintf(stderr, "\n  %s: %s\n", cases[i].uri, why);
		CU_ASSERT_STRING_EQUAL(why, cases[i].why);
		CU_ASSERT_PTR_NULL(loc);
	}
}

/* literals - an IP host needs no DNS and can only be PKIX-authenticated */
static void literals(void)
{
	static const struct { const char *uri, *host; unsigned port; } cases[] = {
		{ "sips:127.0.0.2", "127.0.0.2", 5061 },
		{ "sip:bob@127.0.0.2:5071;transport=tls", "127.0.0.2", 5071 },
		{ "sips:[::1]:5081", "::1", 5081 },
	};
	struct sipdance_locate_conf conf = { .dns = dns, .policy = policy, .dane = dane };

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sipdance_locate *loc = NULL;
		const struct sipdance_target *t;

		CU_ASSERT_EQUAL_FATAL(sipdance_locate_sync(&loc, &conf, cases[i].uri, NULL), 0);
		CU_ASSERT_EQUAL(sipdance_locate_step_count(loc), 0);
		CU_ASSERT_EQUAL_FATAL(sipdance_locate_count(loc), 1);
		t = sipdance_locate_target(loc, 0);
		CU_ASSERT_STRING_EQUAL(t->host, cases[i].host);
		CU_ASSERT_EQUAL(t->port, cases[i].port);
		CU_ASSERT_EQUAL(t->naddr, 1);
		CU_ASSERT_FALSE(t->tlsa_looked_up);
		CU_ASSERT_EQUAL(t->decision.action, SIPDANCE_ACT_PKIX);
		sipdance_locate_free(loc);
	}
}

/* read_chain - a fixture chain */
static STACK_OF(X509) *read_chain(const char *rel)
{
	STACK_OF(X509) *c = sk_X509_new_null();
	FILE *f = fopen(test_data(rel), "r");
	X509 *x;

	while (f && (x = PEM_read_X509(f, NULL, NULL, NULL)))
		sk_X509_push(c, x);
	if (f)
		fclose(f);
	return c;
}

/* verify_by_decision - the decision, not the peer, picks the method */
static void verify_by_decision(void)
{
	struct sipdance_target t = { .refids = { "example.com" }, .nrefids = 1 };
	STACK_OF(X509) *chain = read_chain("certs/chain.pem");
	struct sipdance_tlsa *r;
	struct sipdance_verdict v;

	CU_ASSERT_EQUAL_FATAL(sk_X509_num(chain), 2);
	CU_ASSERT_EQUAL_FATAL(sipdance_tlsa_set_alloc(&t.tlsa), 0);
	CU_ASSERT_EQUAL_FATAL(sipdance_tlsa_parse(&r, "3 1 1 5dbf60a2894fcc647c8ae70825755b15ee69ebf85f41b820b6c05046b411bb10", NULL), 0);
	sipdance_tlsa_set_add(t.tlsa, r);

	t.decision.action = SIPDANCE_ACT_DANE;
	CU_ASSERT_EQUAL(sipdance_target_verify(dane, &t, chain, &v), 0);
	CU_ASSERT_EQUAL(v.result, SIPDANCE_MATCH);
	t.decision.action = SIPDANCE_ACT_PKIX; /* the CA file has the fixture root */
	CU_ASSERT_EQUAL(sipdance_target_verify(dane, &t, chain, &v), 0);
	CU_ASSERT_EQUAL(v.result, SIPDANCE_MATCH);
	t.refids[0] = "other.com";
	CU_ASSERT_EQUAL(sipdance_target_verify(dane, &t, chain, &v), 0);
	CU_ASSERT_EQUAL(v.result, SIPDANCE_NOMATCH);
	t.refids[0] = "example.com";
	t.decision.action = SIPDANCE_ACT_REFUSE;
	t.decision.result = SIPDANCE_BOGUS;
	snprintf(t.decision.reason, sizeof(t.decision.reason), "TLSA lookup is BOGUS");
	CU_ASSERT_EQUAL(sipdance_target_verify(dane, &t, chain, &v), 0);
	CU_ASSERT_EQUAL(v.result, SIPDANCE_BOGUS);
	t.decision.result = SIPDANCE_MATCH; /* corrupt input: a refusal still never matches */
	CU_ASSERT_EQUAL(sipdance_target_verify(dane, &t, chain, &v), 0);
	CU_ASSERT_EQUAL(v.result, SIPDANCE_NOMATCH);
	CU_ASSERT_STRING_EQUAL(v.reason, "target refused by policy: TLSA lookup is BOGUS");
	CU_ASSERT_EQUAL(sipdance_target_verify(dane, NULL, chain, &v), EINVAL);
	sipdance_tlsa_set_free(t.tlsa);
	sk_X509_pop_free(chain, X509_free);
}

CU_ErrorCode suite_locate(void)
{
	CU_pSuite s = CU_add_suite("locate", setup, teardown);

	if (!s || !CU_add_test(s, "malformed URIs", bad_uris) ||
	    !CU_add_test(s, "IP literals", literals) ||
	    !CU_add_test(s, "verification by decision", verify_by_decision))
		return CU_get_error();
	return CUE_SUCCESS;
}
