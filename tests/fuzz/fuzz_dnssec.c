/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fuzz_dnssec.c - libFuzzer target: the DNSSEC validator (dnssec_val.c) on
 * any question, anchor and records. Input: qtype (2 octets), the clock (4,
 * seconds since 1970), the name asked (wire), the anchor's length (2) and
 * records (wire RRs, DS or DNSKEY of one zone), then the records (wire RRs).
 * The seeds (tests/fuzz/corpus/dnssec, made by tests/data/dnssec/mkseeds.py)
 * are the vectors of tests/data/dnssec/vectors.in, so mutations start from
 * chains that validate, denials, wildcards, aliases and NSEC3. Checks
 * beyond memory safety: a SECURE answer has an RRset of the type asked at
 * the name reached; a BOGUS result says why.
 */
#include <stdlib.h>
#include <string.h>

#include "../../src/dnssec_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* LLVMFuzzerTestOneInput - validate, then check what the result claims */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sd_dnssec_query q = { 0 };
	struct sd_dnssec_result r;
	struct sd_rr *rr = NULL, *an = NULL;
	size_t ql, al, n, nan, at;
	int found = 0;

	if (size < 6 || !(ql = sd_name_len(data + 6, size - 6, NULL)) || size - 6 - ql < 2)
		return 0;
	q.qtype = (uint16_t)(data[0] << 8 | data[1]);
	q.at = (time_t)((uint32_t)data[2] << 24 | (uint32_t)data[3] << 16 | (uint32_t)data[4] << 8 | data[5]);
	q.qname = data + 6;
	data += 6 + ql;
	size -= 6 + ql;
	al = (size_t)(data[0] << 8 | data[1]);
	if (size - 2 < al || sd_rr_parse(data + 2, al, 16, &an, &nan, &at, NULL))
		return 0;
	if (sd_rr_parse(data + 2 + al, size - 2 - al, SD_DNSSEC_MAX_RRS, &rr, &n, &at, NULL)) {
		free(an);
		return 0;
	}
	q.rr = rr;
	q.n = n;
	q.anchor = an;
	q.nanchor = nan;
	if (sd_dnssec_validate(&q, &r) == 0) {
		for (size_t i = 0; i < n; i++)
			found |= rr[i].type == q.qtype && sd_name_eq(rr[i].owner, r.name);
		if (r.status > SD_DNSSEC_INSECURE || (r.status == SD_DNSSEC_BOGUS && !r.why[0]) ||
		    (r.status == SD_DNSSEC_SECURE && r.answer == SD_DNSSEC_DATA && !found))
			abort();
	}
	free(an);
	free(rr);
	return 0;
}
