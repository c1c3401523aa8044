/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * run-tests.c - the CUnit runner: every suite, or those named on the command
 * line. Exit status is non-zero when any test failed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <CUnit/Basic.h>

#include "suites.h"

static const struct {
	const char *name;
	CU_ErrorCode (*add)(void);
} suites[] = {
#define SD_XX(n) { #n, suite_##n },
	SUITES(SD_XX)
#undef SD_XX
};

/* test_data - tests/data/<rel> under $srcdir (set by make check) */
const char *test_data(const char *rel)
{
	static char path[4096];
	const char *top = getenv("srcdir");

	snprintf(path, sizeof(path), "%s/tests/data/%s", top ? top : ".", rel);
	return path;
}

/* wanted - whether suite @name was asked for (no names: all) */
static int wanted(const char *name, int argc, char **argv)
{
	if (argc < 2)
		return 1;
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], name))
			return 1;
	return 0;
}

int main(int argc, char **argv)
{
	unsigned failed;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 99;
	for (size_t i = 0; i < sizeof(suites) / sizeof(suites[0]); i++)
		if (wanted(suites[i].name, argc, argv) && suites[i].add() != CUE_SUCCESS) {
			fprintf(stderr, "cannot register suite %s: %s\n", suites[i].name, CU_get_error_msg());
			return 99;
		}
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failed = CU_get_number_of_tests_failed() + CU_get_number_of_failures();
	CU_cleanup_registry();
	return failed ? 1 : 0;
}
