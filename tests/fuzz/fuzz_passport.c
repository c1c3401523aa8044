/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fuzz_passport.c - libFuzzer target: Identity header values (split, parse,
 * format), PASSporT decoding, canonical TNs and mky from fingerprints.
 */
#include <stdlib.h>
#include <string.h>

#include <sipdance/stir.h>
#include "../../src/stir-internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* identity - parse one value; a parsed value must format and parse back the same */
static void identity(const char *v, size_t len)
{
	static struct sipdance_identity id, back;
	static struct sipdance_passport pp;
	char *text;
	size_t n;

	if (sipdance_identity_parse(&id, v, len, NULL) != 0)
		return;
	n = sipdance_identity_format(&id, NULL, 0) + 1;
	if (!(text = malloc(n)))
		return;
	sipdance_identity_format(&id, text, n);
	if (sipdance_identity_parse(&back, text, n - 1, NULL) != 0 || strcmp(back.jws, id.jws) ||
	    strcmp(back.info, id.info) || strcmp(back.ppt, id.ppt) || back.compact != id.compact)
		abort();
	free(text);
	if (!id.compact && sipdance_passport_decode(&pp, id.jws, strlen(id.jws), NULL) == 0)
		free(sipdance_passport_json(&pp));
}

/* LLVMFuzzerTestOneInput - the input as header field, PASSporT, URI and fingerprint */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct sipdance_passport pp;
	char *text = malloc(size + 1), tn[SIPDANCE_PASSPORT_MAX_TN];
	const char *p, *start;
	struct sipdance_passport_mky m;
	size_t len;

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	p = text;
	while (sd_identity_next(&p, text + size, &start, &len))
		identity(start, len);
	if (sipdance_passport_decode(&pp, text, size, NULL) == 0)
		free(sipdance_passport_json(&pp));
	if (sipdance_passport_tn(text, tn, NULL) == 0 && (strlen(tn) == 0 || strlen(tn) > 15))
		abort();
	sipdance_passport_mky_parse(text, &m, NULL);
	free(text);
	return 0;
}
