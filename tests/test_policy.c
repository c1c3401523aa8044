/* SPDX-License-Identifier: BSD-2-Clause */
/* test_policy.c - every row of the RFC 7672-style decision table, and the mode table. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <CUnit/CUnit.h>

#include <sipdance/policy.h>
#include "suites.h"

#define S SIPDANCE_DNS_SECURE
#define I SIPDANCE_DNS_INSECURE
#define B SIPDANCE_DNS_BOGUS
#define X SIPDANCE_DNS_INDETERMINATE
#define FOUND SIPDANCE_DNS_FOUND
#define NODATA SIPDANCE_DNS_NODATA
#define NXDOMAIN SIPDANCE_DNS_NXDOMAIN
#define OFF SIPDANCE_POLICY_OFF
#define OPP SIPDANCE_POLICY_OPPORTUNISTIC
#define REQ SIPDANCE_POLICY_REQUIRED
#define DANE SIPDANCE_ACT_DANE
#define PKIX SIPDANCE_ACT_PKIX
#define REFUSE SIPDANCE_ACT_REFUSE

/* decision_table - mode, srv, addr, looked up, tlsa status, rcode, usable, CA -> action, rule, result */
static void decision_table(void)
{
	static const struct {
		struct sipdance_policy_input in;
		enum sipdance_action action;
		const char *rule;
		enum sipdance_result result;
	} rows[] = {
		/* secure and usable: DANE in both DANE modes */
		{ { OPP, S, S, 1, S, FOUND, 1, 0 }, DANE, "secure-tlsa", SIPDANCE_NOMATCH },
		{ { REQ, S, S, 1, S, FOUND, 2, 1 }, DANE, "secure-tlsa", SIPDANCE_NOMATCH },
		/* off: PKIX whatever DNS says, refuse without CA */
		{ { OFF, S, S, 1, S, FOUND, 1, 1 }, PKIX, "dane-off", SIPDANCE_UNUSABLE },
		{ { OFF, B, B, 0, B, FOUND, 0, 1 }, PKIX, "dane-off", SIPDANCE_UNUSABLE },
		{ { OFF, S, S, 1, S, FOUND, 1, 0 }, REFUSE, "no-ca-file", SIPDANCE_UNUSABLE },
		/* bogus or indeterminate anywhere: unusable, in every DANE mode, even with a CA */
		{ { OPP, B, S, 0, S, FOUND, 1, 1 }, REFUSE, "bogus-srv", SIPDANCE_BOGUS },
		{ { OPP, X, S, 0, S, FOUND, 1, 1 }, REFUSE, "bogus-srv", SIPDANCE_INDETERMINATE },
		{ { OPP, S, B, 0, S, FOUND, 1, 1 }, REFUSE, "bogus-address", SIPDANCE_BOGUS },
		{ { OPP, S, X, 0, S, FOUND, 1, 1 }, REFUSE, "bogus-address", SIPDANCE_INDETERMINATE },
		{ { OPP, S, S, 1, B, SIPDANCE_DNS_NONE, 0, 1 }, REFUSE, "bogus-tlsa", SIPDANCE_BOGUS },
		{ { OPP, S, S, 1, X, SIPDANCE_DNS_NONE, 0, 1 }, REFUSE, "bogus-tlsa", SIPDANCE_INDETERMINATE },
		{ { REQ, S, S, 1, B, SIPDANCE_DNS_NONE, 0, 1 }, REFUSE, "bogus-tlsa", SIPDANCE_BOGUS },
		/* bogus wins over insecure */
		{ { OPP, I, B, 0, S, FOUND, 0, 1 }, REFUSE, "bogus-address", SIPDANCE_BOGUS },
		/* insecure steps: no TLSA lookup, PKIX fallback; required refuses */
		{ { OPP, I, S, 0, S, FOUND, 0, 1 }, PKIX, "insecure-fallback", SIPDANCE_INSECURE },
		{ { OPP, S, I, 0, S, FOUND, 0, 1 }, PKIX, "insecure-fallback", SIPDANCE_INSECURE },
		{ { OPP, S, S, 1, I, FOUND, 1, 1 }, PKIX, "insecure-fallback", SIPDANCE_INSECURE },
		{ { OPP, S, S, 1, I, FOUND, 1, 0 }, REFUSE, "no-ca-file", SIPDANCE_INSECURE },
		{ { REQ, I, S, 0, S, FOUND, 0, 1 }, REFUSE, "dane-required", SIPDANCE_INSECURE },
		{ { REQ, S, S, 1, I, FOUND, 1, 1 }, REFUSE, "dane-required", SIPDANCE_INSECURE },
		/* a step secure but the TLSA lookup not made (numeric host): no DANE */
		{ { OPP, S, S, 0, S, FOUND, 1, 1 }, PKIX, "insecure-fallback", SIPDANCE_INSECURE },
		/* validated denial: fallback; required refuses */
		{ { OPP, S, S, 1, S, NODATA, 0, 1 }, PKIX, "secure-denial", SIPDANCE_NODATA },
		{ { OPP, S, S, 1, S, NXDOMAIN, 0, 1 }, PKIX, "secure-denial", SIPDANCE_NODATA },
		{ { OPP, S, S, 1, S, NODATA, 0, 0 }, REFUSE, "no-ca-file", SIPDANCE_NODATA },
		{ { REQ, S, S, 1, S, NXDOMAIN, 0, 1 }, REFUSE, "dane-required", SIPDANCE_NODATA },
		/* secure records, none usable */
		{ { OPP, S, S, 1, S, FOUND, 0, 1 }, PKIX, "tlsa-unusable", SIPDANCE_UNUSABLE },
		{ { REQ, S, S, 1, S, FOUND, 0, 1 }, REFUSE, "dane-required", SIPDANCE_UNUSABLE },
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct sipdance_policy_decision d;

		memset(&d, 0xa5, sizeof(d));
		sipdance_policy_decide(&rows[i].in, &d);
		if (d.action != rows[i].action || strcmp(d.rule, rows[i].rule) || d.result != rows[i].result)
			fprintf(stderr, "\n  row %zu: want %s/%s/%s, got %s/%s/%s (%s)\n", i,
				sipdance_policy_action_str(rows[i].action), rows[i].rule,
				sipdance_result_str(rows[i].result), sipdance_policy_action_str(d.action), d.rule,
				sipdance_result_str(d.result), d.reason);
		CU_ASSERT_EQUAL(d.action, rows[i].action);
		CU_ASSERT_EQUAL(d.result, rows[i].result);
		CU_ASSERT_STRING_EQUAL(d.rule, rows[i].rule);
		CU_ASSERT(strlen(d.reason) > 10);
	}
}

/* reasons - the texts a log line and a Reason header will carry */
static void reasons(void)
{
	struct sipdance_policy_input in = { OPP, S, S, 1, B, SIPDANCE_DNS_NONE, 0, 1 };
	struct sipdance_policy_decision d;

	sipdance_policy_decide(&in, &d);
	CU_ASSERT_STRING_EQUAL(d.reason, "TLSA lookup is BOGUS");
	in = (struct sipdance_policy_input){ REQ, S, S, 1, S, NODATA, 0, 1 };
	sipdance_policy_decide(&in, &d);
	CU_ASSERT_STRING_EQUAL(d.reason, "dane=required and no TLSA record (validated denial of existence)");
	/* nothing said about the lookups (a zeroed input): refused, never a fallback */
	in = (struct sipdance_policy_input){ .mode = OPP, .have_ca = 1 };
	sipdance_policy_decide(&in, &d);
	CU_ASSERT_EQUAL(d.action, SIPDANCE_ACT_REFUSE);
	CU_ASSERT_STRING_EQUAL(d.reason, "NAPTR/SRV lookup is INDETERMINATE");
}

/* modes - default, overrides, names */
static void modes(void)
{
	struct sipdance_policy *p;
	enum sipdance_policy_mode m;

	CU_ASSERT_EQUAL_FATAL(sipdance_policy_alloc(&p, OPP), 0);
	CU_ASSERT_EQUAL(sipdance_policy_get(p, "b.example"), OPP);
	CU_ASSERT_EQUAL(sipdance_policy_set(p, "B.example", REQ), 0);
	CU_ASSERT_EQUAL(sipdance_policy_set(p, "c.example", OFF), 0);
	CU_ASSERT_EQUAL(sipdance_policy_set(p, "b.example", REQ), 0);
	CU_ASSERT_EQUAL(sipdance_policy_get(p, "b.EXAMPLE"), REQ);
	CU_ASSERT_EQUAL(sipdance_policy_get(p, "c.example"), OFF);
	CU_ASSERT_EQUAL(sipdance_policy_get(p, "sub.b.example"), OPP);
	CU_ASSERT_EQUAL(sipdance_policy_set(p, "", REQ), EINVAL);
	/* the normalised name is the key: one trailing dot is the same name, an empty label none */
	CU_ASSERT_EQUAL(sipdance_policy_set(p, "nodane.example.", REQ), 0);
	CU_ASSERT_EQUAL(sipdance_policy_get(p, "nodane.example"), REQ);
	CU_ASSERT_EQUAL(sipdance_policy_get(p, "NoDane.Example."), REQ);
	CU_ASSERT_EQUAL(sipdance_policy_get(p, "nodane.example.."), OPP);
	CU_ASSERT_EQUAL(sipdance_policy_set(p, "c.example.", REQ), 0);
	CU_ASSERT_EQUAL(sipdance_policy_get(p, "c.example"), REQ);
	CU_ASSERT_EQUAL(sipdance_policy_set(p, "c.example", OFF), 0);
	CU_ASSERT_EQUAL(sipdance_policy_get(p, "c.example."), OFF);
	CU_ASSERT_EQUAL(sipdance_policy_set(p, "b..example", REQ), EINVAL);
	CU_ASSERT_EQUAL(sipdance_policy_set(p, ".b.example", REQ), EINVAL);
	CU_ASSERT_EQUAL(sipdance_policy_set(p, "b.example..", REQ), EINVAL);
	CU_ASSERT_EQUAL(sipdance_policy_set(p, ".", REQ), EINVAL);
	sipdance_policy_free(p);
	sipdance_policy_free(NULL);
	CU_ASSERT_EQUAL(sipdance_policy_mode_parse("required", &m), 0);
	CU_ASSERT_EQUAL(m, REQ);
	CU_ASSERT_EQUAL(sipdance_policy_mode_parse("Required", &m), EINVAL);
	CU_ASSERT_EQUAL(sipdance_policy_mode_parse(NULL, &m), EINVAL);
	CU_ASSERT_STRING_EQUAL(sipdance_policy_mode_str(OFF), "off");
	CU_ASSERT_STRING_EQUAL(sipdance_policy_action_str(REFUSE), "REFUSE");
}

CU_ErrorCode suite_policy(void)
{
	CU_pSuite s = CU_add_suite("policy", NULL, NULL);

	if (!s || !CU_add_test(s, "decision table", decision_table) ||
	    !CU_add_test(s, "reasons", reasons) ||
	    !CU_add_test(s, "mode table", modes))
		return CU_get_error();
	return CUE_SUCCESS;
}
