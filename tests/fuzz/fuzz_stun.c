/* SPDX-License-Identifier: BSD-2-Clause */
/* fuzz_stun.c - libFuzzer target: STUN decoder, integrity check, re-encoding. */
#include <stdlib.h>
#include <string.h>

#include "../../stun/stun.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* LLVMFuzzerTestOneInput - decode; a decoded message must re-encode and decode again */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t key[] = "VOkJxbRl1RmTxUk/WvJxBt";
	struct sipdance_stun_msg m, back;
	uint8_t out[SIPDANCE_STUN_MAX_LEN];
	size_t n;

	if (sipdance_stun_decode(&m, data, size, NULL) != 0)
		return 0;
	sipdance_stun_check_integrity(&m, key, sizeof(key) - 1, NULL);
	if (sipdance_stun_encode(&m, key, sizeof(key) - 1, SIPDANCE_STUN_ADD_MI |
				 SIPDANCE_STUN_ADD_FINGERPRINT, 0, out, sizeof(out), &n) != 0)
		return 0; /* the decoded attributes may exceed one datagram with ours added */
	if (sipdance_stun_decode(&back, out, n, NULL) != 0 ||
	    sipdance_stun_check_integrity(&back, key, sizeof(key) - 1, NULL) != 0 ||
	    back.method != m.method || back.cls != m.cls || back.priority != m.priority ||
	    back.username.len != m.username.len || back.error_code != m.error_code)
		abort();
	return 0;
}
