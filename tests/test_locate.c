/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_locate.c - what locate decides without DNS: URI parsing and its
 * errors, the host a URI names and the policy keyed on it, IP literals (no
 * DNSSEC, so never DANE), and target verification per decision. The DNS paths run against Knot in tests/check-live.sh.
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
	struct sipdance_dns_conf c = { .size = sizeof(c), .resolver = "127.0.0.1@9", .timeout_ms = 200 };
	char ca[512], anchor[512];

	/* test_data() returns a static buffer: copy each path */
	snprintf(anchor, sizeof(anchor), "%s", test_data("dns/dummy-anchor.ds"));
	snprintf(ca, sizeof(ca), "%s", test_data("certs/root.pem"));
	c.trust_anchor = anchor;
	return sipdance_dns_alloc(&dns, &c, NULL) || sipdance_dane_alloc(&dane, ca) ||
	       sipdance_policy_alloc(&policy, SIPDANCE_POLICY_OPPORTUNISTIC);
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
		{ "sips:b.example:0000005061", "bad port in URI" },
		{ "sips:[::1", "unterminated IPv6 reference" },
		{ "sips:b/example", "character not allowed in a host name" },
		/* a bracketed host is an IPv6 address or nothing */
		{ "sips:[b.example]", "bracketed host is not an IPv6 address" },
		{ "sip:bob@[a.example]:5061", "bracketed host is not an IPv6 address" },
		{ "sips:[127.0.0.1]", "bracketed host is not an IPv6 address" },
		{ "sips:[]", "URI has no host" },
		/* empty labels: never a name the policy table does not know */
		{ "sips:nodane.example..", "empty label in host name" },
		{ "sips:b..example", "empty label in host name" },
		{ "sips:.b.example", "empty label in host name" },
		{ "sips:.", "host is neither a domain name nor an IPv4 address" },
		{ "sips:-b.example", "host name label starts with a hyphen" },
		{ "sips:b-.example", "host name label ends with a hyphen" },
		{ "sips:b_x.example", "character not allowed in a host name" },
		{ "sips:b%2eexample", "character not allowed in a host name" },
		{ "sips:1.2.3", "host is neither a domain name nor an IPv4 address" },
		{ "sips:127.0.0.256", "host is neither a domain name nor an IPv4 address" },
		{ "sips:b.example.123", "host is neither a domain name nor an IPv4 address" },
		{ "sips:xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx.example",
		  "host name label longer than 63 octets" },
		/* one parse for everybody: the only '@' ends the user part */
		{ "sip:a@b@c.example", "more than one '@' in the URI" },
		{ "sip:@b.example", "URI has an empty user part" },
		{ "sip:bob smith@b.example", "character not allowed in the user part" },
		{ "sip:bob:pw:x@b.example", "character not allowed in the user part" },
		{ "sip:bob@b.example>", "character not allowed in a host name" },
		{ "sip:bob@[::1]>", "character not allowed after the host" },
		{ "sip:bob@b.example;lr>", "character not allowed in the URI parameters" },
		{ "sip:bob@b.example;x=\"y\"", "character not allowed in the URI parameters" },
		{ "sip:bob@a.example;maddr=127.0.0.9", "maddr parameter: the request would not go to the host" },
		{ "sip:bob@a.example;lr;MADDR=b.example?x=y", "maddr parameter: the request would not go to the host" },
	};
	struct sipdance_locate_conf conf = { .size = sizeof(conf), .dns = dns, .policy = policy, .dane = dane };

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

/*
 * hosts - the host a URI names, as a proxy parsing RFC 3261 routes it:
 * ';' and '?' before the '@' are part of the user, case and one trailing
 * dot are normalised, the domain policy applies to the normalised name.
 * The resolution is started and dropped at once: no DNS answer is needed.
 */
static void hosts(void)
{
	static const struct { const char *uri, *domain; unsigned port; enum sipdance_policy_mode mode; } cases[] = {
		{ "sip:a.example;@badsig.example", "badsig.example", 0, SIPDANCE_POLICY_OPPORTUNISTIC },
		{ "sip:a.example?x=y@badsig.example", "badsig.example", 0, SIPDANCE_POLICY_OPPORTUNISTIC },
		{ "sips:B.Example.", "b.example", 0, SIPDANCE_POLICY_OPPORTUNISTIC },
		{ "sip:bob@b.example:5071;transport=tls?subject=x%20y", "b.example", 5071, SIPDANCE_POLICY_OPPORTUNISTIC },
		{ "sip:+15551234;phone-context=b.example@b.example;user=phone", "b.example", 0,
		  SIPDANCE_POLICY_OPPORTUNISTIC },
		{ "sip:bob:secret@b.example", "b.example", 0, SIPDANCE_POLICY_OPPORTUNISTIC },
		{ "sip:b%40x@b.example", "b.example", 0, SIPDANCE_POLICY_OPPORTUNISTIC },
		{ "sips:nodane.example", "nodane.example", 0, SIPDANCE_POLICY_REQUIRED },
		{ "sips:NoDane.Example.", "nodane.example", 0, SIPDANCE_POLICY_REQUIRED },
		{ "sips:x.nodane.example", "x.nodane.example", 0, SIPDANCE_POLICY_OPPORTUNISTIC },
	};
	struct sipdance_locate_conf conf = { .size = sizeof(conf), .dns = dns, .policy = policy, .dane = dane };

	CU_ASSERT_EQUAL_FATAL(sipdance_policy_set(policy, "nodane.example.", SIPDANCE_POLICY_REQUIRED), 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sipdance_locate *loc = NULL;
		const char *why = NULL;

		if (sipdance_locate_start(&loc, &conf, cases[i].uri, NULL, NULL, &why))
			fprintf(stderr, "\n  %s: %s\n", cases[i].uri, why);
		CU_ASSERT_PTR_NOT_NULL_FATAL(loc);
		CU_ASSERT_STRING_EQUAL(sipdance_locate_domain(loc), cases[i].domain);
		CU_ASSERT_EQUAL(sipdance_locate_mode(loc), cases[i].mode);
		sipdance_locate_free(loc);
	}
	for (size_t i = 0; i < 2; i++) { /* the explicit port, seen through a numeric host */
		static const char *const uris[] = { "sip:a.example;@127.0.0.9:5081", "sip:x?@[::1]:5081;lr" };
		struct sipdance_locate *loc = NULL;

		CU_ASSERT_EQUAL_FATAL(sipdance_locate_sync(&loc, &conf, uris[i], NULL), 0);
		CU_ASSERT_EQUAL(sipdance_locate_target(loc, 0)->port, 5081);
		sipdance_locate_free(loc);
	}
	CU_ASSERT_EQUAL(sipdance_policy_set(policy, "nodane.example", SIPDANCE_POLICY_OPPORTUNISTIC), 0);
}

/* literals - an IP host needs no DNS and can only be PKIX-authenticated */
static void literals(void)
{
	static const struct { const char *uri, *host; unsigned port; } cases[] = {
		{ "sips:127.0.0.2", "127.0.0.2", 5061 },
		{ "sip:bob@127.0.0.2:5071;transport=tls", "127.0.0.2", 5071 },
		{ "sips:[::1]:5081", "::1", 5081 },
	};
	struct sipdance_locate_conf conf = { .size = sizeof(conf), .dns = dns, .policy = policy, .dane = dane };

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
	CU_ASSERT_EQUAL(sipdance_locate_target_verify(dane, &t, chain, &v), 0);
	CU_ASSERT_EQUAL(v.result, SIPDANCE_MATCH);
	t.decision.action = SIPDANCE_ACT_PKIX; /* the CA file has the fixture root */
	CU_ASSERT_EQUAL(sipdance_locate_target_verify(dane, &t, chain, &v), 0);
	CU_ASSERT_EQUAL(v.result, SIPDANCE_MATCH);
	t.refids[0] = "other.com";
	CU_ASSERT_EQUAL(sipdance_locate_target_verify(dane, &t, chain, &v), 0);
	CU_ASSERT_EQUAL(v.result, SIPDANCE_NOMATCH);
	t.refids[0] = "example.com";
	t.decision.action = SIPDANCE_ACT_REFUSE;
	t.decision.result = SIPDANCE_BOGUS;
	snprintf(t.decision.reason, sizeof(t.decision.reason), "TLSA lookup is BOGUS");
	CU_ASSERT_EQUAL(sipdance_locate_target_verify(dane, &t, chain, &v), 0);
	CU_ASSERT_EQUAL(v.result, SIPDANCE_BOGUS);
	t.decision.result = SIPDANCE_MATCH; /* corrupt input: a refusal still never matches */
	CU_ASSERT_EQUAL(sipdance_locate_target_verify(dane, &t, chain, &v), 0);
	CU_ASSERT_EQUAL(v.result, SIPDANCE_NOMATCH);
	CU_ASSERT_STRING_EQUAL(v.reason, "target refused by policy: TLSA lookup is BOGUS");
	CU_ASSERT_EQUAL(sipdance_locate_target_verify(dane, NULL, chain, &v), EINVAL);
	sipdance_tlsa_set_free(t.tlsa);
	sk_X509_pop_free(chain, X509_free);
}

CU_ErrorCode suite_locate(void)
{
	CU_pSuite s = CU_add_suite("locate", setup, teardown);

	if (!s || !CU_add_test(s, "malformed URIs", bad_uris) ||
	    !CU_add_test(s, "the host of a URI", hosts) ||
	    !CU_add_test(s, "IP literals", literals) ||
	    !CU_add_test(s, "verification by decision", verify_by_decision))
		return CU_get_error();
	return CUE_SUCCESS;
}
