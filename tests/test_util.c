/* SPDX-License-Identifier: BSD-2-Clause */
/* test_util.c - hex helpers and result names. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <CUnit/CUnit.h>

#include "../src/internal.h"
#include "sipdance/version.h"
#include "suites.h"

/* hex_roundtrip - decode with white space, encode back lowercase */
static void hex_roundtrip(void)
{
	uint8_t buf[8];
	char text[17];
	size_t n;

	CU_ASSERT_EQUAL(sd_hex_decode("De ad\nBE\tef", 11, buf, sizeof(buf), &n, NULL), 0);
	CU_ASSERT_EQUAL(n, 4);
	sd_hex_encode(buf, n, text);
	CU_ASSERT_STRING_EQUAL(text, "deadbeef");
}

/* hex_errors - each malformed input has its own reason */
static void hex_errors(void)
{
	uint8_t buf[2];
	const char *why = NULL;
	size_t n;

	CU_ASSERT_EQUAL(sd_hex_decode("abc", 3, buf, sizeof(buf), &n, &why), EINVAL);
	CU_ASSERT_STRING_EQUAL(why, "odd number of hex digits");
	CU_ASSERT_EQUAL(sd_hex_decode("zz", 2, buf, sizeof(buf), &n, &why), EINVAL);
	CU_ASSERT_STRING_EQUAL(why, "non-hex character in data");
	CU_ASSERT_EQUAL(sd_hex_decode("aabbcc", 6, buf, sizeof(buf), &n, &why), EMSGSIZE);
	CU_ASSERT_STRING_EQUAL(why, "data too long");
}

/* hex_short - long data is cut to head...tail for logs */
static void hex_short(void)
{
	uint8_t data[32];
	char buf[64];

	for (int i = 0; i < 32; i++)
		data[i] = (uint8_t)i;
	CU_ASSERT_STRING_EQUAL(sd_hex_short(data, 2, buf, sizeof(buf)), "0001");
	CU_ASSERT_STRING_EQUAL(sd_hex_short(data, 32, buf, sizeof(buf)),
			       "0001020304050607...18191a1b1c1d1e1f");
}

/* result_names - every result has its log name */
static void result_names(void)
{
	CU_ASSERT_STRING_EQUAL(sipdance_result_str(SIPDANCE_MATCH), "MATCH");
	CU_ASSERT_STRING_EQUAL(sipdance_result_str(SIPDANCE_BOGUS), "BOGUS");
	CU_ASSERT_STRING_EQUAL(sipdance_result_str(SIPDANCE_INDETERMINATE), "INDETERMINATE");
	CU_ASSERT_STRING_EQUAL(sipdance_result_str((enum sipdance_result)99), "UNKNOWN");
}

/* version - the library loaded and the headers agree, and the number orders releases */
static void version(void)
{
	char s[32];

	CU_ASSERT_STRING_EQUAL(sipdance_version(), SIPDANCE_VERSION_STRING);
	snprintf(s, sizeof(s), "%d.%d.%d", SIPDANCE_VERSION_MAJOR, SIPDANCE_VERSION_MINOR,
		 SIPDANCE_VERSION_PATCH);
	CU_ASSERT_STRING_EQUAL(s, SIPDANCE_VERSION_STRING);
	CU_ASSERT_EQUAL(SIPDANCE_VERSION_NUMBER >> 16, SIPDANCE_VERSION_MAJOR);
	CU_ASSERT_EQUAL((SIPDANCE_VERSION_NUMBER >> 8) & 0xff, SIPDANCE_VERSION_MINOR);
}

CU_ErrorCode suite_util(void)
{
	CU_pSuite s = CU_add_suite("util", NULL, NULL);

	if (!s || !CU_add_test(s, "hex round trip", hex_roundtrip) ||
	    !CU_add_test(s, "hex errors", hex_errors) ||
	    !CU_add_test(s, "hex for logs", hex_short) ||
	    !CU_add_test(s, "result names", result_names) ||
	    !CU_add_test(s, "version", version))
		return CU_get_error();
	return CUE_SUCCESS;
}
