/* SPDX-License-Identifier: BSD-2-Clause */
/* fuzz_tlsa.c - libFuzzer target: TLSA presentation and wire parsers. */
#include <stdlib.h>
#include <string.h>

#include <sipdance/tlsa.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* LLVMFuzzerTestOneInput - parse as text and as RDATA; a parsed record must round-trip */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sipdance_tlsa *t = NULL, *back = NULL;
	char *text = malloc(size + 1), *fmt;
	size_t len;

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (sipdance_tlsa_parse(&t, text, NULL) == 0) {
		len = sipdance_tlsa_format(t, NULL, 0) + 1;
		fmt = malloc(len);
		if (fmt) {
			sipdance_tlsa_format(t, fmt, len);
			if (sipdance_tlsa_parse(&back, fmt, NULL) != 0)
				abort();
			if (sipdance_tlsa_format(back, NULL, 0) != len - 1)
				abort();
			sipdance_tlsa_free(back);
		}
		free(fmt);
		sipdance_tlsa_free(t);
	}
	free(text);
	if (sipdance_tlsa_from_wire(&t, data, size, NULL) == 0)
		sipdance_tlsa_free(t);
	return 0;
}
