/* SPDX-License-Identifier: BSD-2-Clause */
/* suites.h - the CUnit suites, one per module; each file adds its own. */
#ifndef SIPDANCE_SUITES_H
#define SIPDANCE_SUITES_H

#include <CUnit/CUnit.h>

/* X-macro: one entry per suite; suite_NAME() registers it. */
#define SUITES(XX) \
	XX(util)   \
	XX(loop)   \
	XX(store)  \
	XX(tlsa)   \
	XX(dane)   \
	XX(stir)   \
	XX(dnssec) \
	XX(policy) \
	XX(locate) \
	XX(stun)   \
	XX(sdp)    \
	XX(clientid) \
	XX(chain)  \
	XX(dns)

#define SD_XX(name) CU_ErrorCode suite_##name(void);
SUITES(SD_XX)
#undef SD_XX

/* Path of a file under tests/data, in a static buffer. */
const char *test_data(const char *rel);

#endif
