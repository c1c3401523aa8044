/* SPDX-License-Identifier: BSD-2-Clause */
/* test_tlsa.c - TLSA parsing, encoding and creation. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <CUnit/CUnit.h>
#include <openssl/pem.h>

#include <sipdance/tlsa.h>
#include "suites.h"

/* ee.pem's SPKI SHA-256, as `openssl pkey -pubin -outform DER | sha256sum` prints it */
#define EE_311 "3 1 1 5dbf60a2894fcc647c8ae70825755b15ee69ebf85f41b820b6c05046b411bb10"

/* format - presentation form of a record, in a static buffer */
static const char *format(const struct sipdance_tlsa *t)
{
	static char buf[256];

	sipdance_tlsa_format(t, buf, sizeof(buf));
	return buf;
}

/* parse_forms - the presentation variants that must all parse the same */
static void parse_forms(void)
{
	static const char *const ok[] = {
		"3 1 1 5dbf60a2894fcc647c8ae70825755b15ee69ebf85f41b820b6c05046b411bb10",
		"  3\t1 1 5DBF60A2894FCC647C8AE70825755B15EE69EBF85F41B820B6C05046B411BB10\n",
		"3 1 1 ( 5dbf60a2894fcc647c8ae70825755b15\n  ee69ebf85f41b820b6c05046b411bb10 )",
		"( 3 1 1 5dbf60a2 894fcc64 7c8ae708 25755b15 ee69ebf8 5f41b820 b6c05046 b411bb10 )",
		"003 001 01 5dbf60a2894fcc647c8ae70825755b15ee69ebf85f41b820b6c05046b411bb10",
	};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		struct sipdance_tlsa *t = NULL;
		const char *why = NULL;

		CU_ASSERT_EQUAL_FATAL(sipdance_tlsa_parse(&t, ok[i], &why), 0);
		CU_ASSERT_STRING_EQUAL(format(t), EE_311);
		sipdance_tlsa_free(t);
	}
}

/* parse_errors - each malformed record is rejected with its own errno and reason */
static void parse_errors(void)
{
	static const struct {
		const char *text;
		int err;
		const char *why;
	} bad[] = {
		{ "", EINVAL, "missing field" },
		{ "3 1", EINVAL, "missing field" },
		{ "3 1 1", EINVAL, "missing association data" },
		{ "3 1 1   ", EINVAL, "missing association data" },
		{ "3 1 1 abc", EINVAL, "odd number of hex digits" },
		{ "3 1 1 5dbf60a2894fcc647c8ae70825755b15ee69ebf85f41b820b6c05046b411bb1",
		  EINVAL, "odd number of hex digits" },
		{ "3 1 1 zz", EINVAL, "non-hex character in data" },
		{ "3 1 1 0x00", EINVAL, "non-hex character in data" },
		{ "x 1 1 00", EINVAL, "field is not a number" },
		{ "3x 1 1 00", EINVAL, "field is not a number" },
		{ "-3 1 1 00", EINVAL, "field is not a number" },
		{ "256 1 1 00", ERANGE, "field out of range 0-255" },
		{ "3 1 1000 00", ERANGE, "field out of range 0-255" },
		{ "3 1 1 ( 00", EINVAL, "unbalanced parentheses" },
		{ "3 1 1 00 )", EINVAL, "unbalanced parentheses" },
		{ "3 1 1 ( 00 ) )", EINVAL, "unbalanced parentheses" },
		{ "3 1 1 ) 00 (", EINVAL, "unbalanced parentheses" },
		{ "3 1 1 ( 00 ) ff", EINVAL, "text after closing parenthesis" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct sipdance_tlsa *t = NULL;
		const char *why = NULL;
		int err = sipdance_tlsa_parse(&t, bad[i].text, &why);

		if (err != bad[i].err || !why || strcmp(why, bad[i].why))
			fprintf(stderr, "\n  case %zu \"%s\": got %d \"%s\"\n", i, bad[i].text, err,
				why ? why : "(null)");
		CU_ASSERT_EQUAL(err, bad[i].err);
		CU_ASSERT_PTR_NOT_NULL_FATAL(why);
		CU_ASSERT_STRING_EQUAL(why, bad[i].why);
		CU_ASSERT_PTR_NULL(t);
	}
}

/* parse_oversized - association data past the limit, exactly at it, and giant */
static void parse_oversized(void)
{
	size_t n = 2 * SIPDANCE_TLSA_MAX_DATA;
	char *text = malloc(n + 16);
	struct sipdance_tlsa *t = NULL;
	const char *why = NULL;
	size_t len;

	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	memcpy(text, "3 0 0 ", 6);
	memset(text + 6, 'a', n);
	text[6 + n] = '\0';
	CU_ASSERT_EQUAL(sipdance_tlsa_parse(&t, text, &why), 0);
	CU_ASSERT_PTR_NOT_NULL(sipdance_tlsa_data(t, &len));
	CU_ASSERT_EQUAL(len, SIPDANCE_TLSA_MAX_DATA);
	sipdance_tlsa_free(t);
	t = NULL;
	strcpy(text + 6 + n, "aa");
	CU_ASSERT_EQUAL(sipdance_tlsa_parse(&t, text, &why), EMSGSIZE);
	CU_ASSERT_STRING_EQUAL(why, "association data too long");
	CU_ASSERT_PTR_NULL(t);
	free(text);
}

/* wire_roundtrip - wire form in, presentation and wire out */
static void wire_roundtrip(void)
{
	static const uint8_t rdata[] = { 2, 0, 1, 0xde, 0xad, 0xbe, 0xef };
	struct sipdance_tlsa *t = NULL;
	const char *why = NULL;
	uint8_t out[16];

	CU_ASSERT_EQUAL_FATAL(sipdance_tlsa_from_wire(&t, rdata, sizeof(rdata), &why), 0);
	CU_ASSERT_STRING_EQUAL(format(t), "2 0 1 deadbeef");
	CU_ASSERT_EQUAL(sipdance_tlsa_to_wire(t, out, 2), sizeof(rdata)); /* too short: length only */
	CU_ASSERT_EQUAL(sipdance_tlsa_to_wire(t, out, sizeof(out)), sizeof(rdata));
	CU_ASSERT_EQUAL(memcmp(out, rdata, sizeof(rdata)), 0);
	CU_ASSERT_EQUAL(sipdance_tlsa_format(t, (char *)out, 4), strlen("2 0 1 deadbeef"));
	CU_ASSERT_EQUAL(out[0], '\0');
	sipdance_tlsa_free(t);

	t = NULL;
	CU_ASSERT_EQUAL(sipdance_tlsa_from_wire(&t, rdata, 3, &why), EINVAL);
	CU_ASSERT_STRING_EQUAL(why, "RDATA shorter than 4 octets");
	CU_ASSERT_PTR_NULL(t);
}

/* create_matches_openssl - our digests equal those the openssl CLI computed */
static void create_matches_openssl(void)
{
	static const struct {
		uint8_t s, m;
		const char *want;
	} cases[] = {
		{ 1, 1, EE_311 },
		{ 0, 1, "3 0 1 70344e00c8c7aee4b66fa208b192b8352d200e2dd82810fe4ddf8a9289d2f3d5" },
	};
	FILE *f = fopen(test_data("certs/ee.pem"), "r");
	X509 *x = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
	struct sipdance_tlsa *t;
	size_t len;

	if (f)
		fclose(f);
	CU_ASSERT_PTR_NOT_NULL_FATAL(x);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		CU_ASSERT_EQUAL_FATAL(sipdance_tlsa_create(&t, x, 3, cases[i].s, cases[i].m), 0);
		CU_ASSERT_STRING_EQUAL(format(t), cases[i].want);
		sipdance_tlsa_free(t);
	}
	CU_ASSERT_EQUAL_FATAL(sipdance_tlsa_create(&t, x, 3, 1, 2), 0);
	sipdance_tlsa_data(t, &len);
	CU_ASSERT_EQUAL(len, 64);
	sipdance_tlsa_free(t);
	CU_ASSERT_EQUAL(sipdance_tlsa_create(&t, x, 3, 2, 1), EINVAL);
	CU_ASSERT_EQUAL(sipdance_tlsa_create(&t, x, 3, 1, 3), EINVAL);
	X509_free(x);
}

/* set_basics - RRset ownership and bounds */
static void set_basics(void)
{
	struct sipdance_tlsa_set *set;
	struct sipdance_tlsa *t;

	CU_ASSERT_EQUAL_FATAL(sipdance_tlsa_set_alloc(&set), 0);
	for (int i = 0; i < 9; i++) {
		CU_ASSERT_EQUAL_FATAL(sipdance_tlsa_parse(&t, EE_311, NULL), 0);
		CU_ASSERT_EQUAL(sipdance_tlsa_set_add(set, t), 0);
	}
	CU_ASSERT_EQUAL(sipdance_tlsa_set_count(set), 9);
	CU_ASSERT_PTR_NOT_NULL(sipdance_tlsa_set_get(set, 8));
	CU_ASSERT_PTR_NULL(sipdance_tlsa_set_get(set, 9));
	CU_ASSERT_EQUAL(sipdance_tlsa_set_add(set, NULL), EINVAL);
	sipdance_tlsa_set_free(set);
	sipdance_tlsa_set_free(NULL);
	sipdance_tlsa_free(NULL);
}

CU_ErrorCode suite_tlsa(void)
{
	CU_pSuite s = CU_add_suite("tlsa", NULL, NULL);

	if (!s || !CU_add_test(s, "presentation forms", parse_forms) ||
	    !CU_add_test(s, "malformed records", parse_errors) ||
	    !CU_add_test(s, "oversized data", parse_oversized) ||
	    !CU_add_test(s, "wire form", wire_roundtrip) ||
	    !CU_add_test(s, "create equals openssl CLI", create_matches_openssl) ||
	    !CU_add_test(s, "RRset", set_basics))
		return CU_get_error();
	return CUE_SUCCESS;
}
