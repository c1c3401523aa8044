/* SPDX-License-Identifier: BSD-2-Clause */
/* fuzz_clientid.c - libFuzzer target: dane_clientid extension_data and user addresses. */
#include <stdlib.h>
#include <string.h>

#include <sipdance/clientid.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* LLVMFuzzerTestOneInput - decode as extension_data (a decoded name must
 * re-encode to the same octets); map as an address (the name must check) */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char name[SIPDANCE_CLIENTID_MAX + 1], *text;
	enum sipdance_clientid_kind kind;
	const char *why = NULL, *domain;
	uint8_t back[SIPDANCE_CLIENTID_MAX + 1];
	size_t len;

	if (sipdance_clientid_ext_decode(data, size, name, sizeof(name), &why) == 0) {
		if (sipdance_clientid_ext_encode(name, back, sizeof(back), &len) != 0 || len != size ||
		    memcmp(back, data, size) != 0)
			abort();
		if (name[0] && sipdance_clientid_check(name, &kind, &domain, NULL) != 0)
			abort();
	} else if (!why || !*why) {
		abort();
	}
	if (!(text = malloc(size + 1)))
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (sipdance_clientid_user_name(text, name, sizeof(name), NULL) == 0 &&
	    (sipdance_clientid_check(name, &kind, &domain, NULL) != 0 || kind != SIPDANCE_CLIENTID_USER))
		abort();
	sipdance_clientid_check(text, &kind, &domain, NULL);
	free(text);
	return 0;
}
