/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * chain.c - RFC 9102 AuthenticationChain: strict wire parser, extension_data
 * framing, and offline validation of a chain for a TLSA name
 * by the DNSSEC validator (dnssec_val.c): validated TLSA records, a denial,
 * an unsigned zone, or a reason naming the RRset that failed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sipdance/chain.h>
#include "chain_int.h"
#include "internal.h"

/* Bound on the records of a chain: real chains hold a few dozen. */
#define MAX_RRS 128

/* sd_chain_split - every RR of @chain into *out (malloc'd): well formed
 * (sd_rr_parse) and of the types a chain may hold; errors as
 * sipdance_chain_parse, *at = offset of the bad record */
int sd_chain_split(const uint8_t *chain, size_t len, struct sd_rr **out, size_t *nrr,
		   size_t *at, const char **why)
{
	struct sd_rr *rr;
	size_t n;
	int err;

	if ((err = sd_rr_parse(chain, len, (size_t)-1, &rr, &n, at, why)))
		return err;
	for (size_t i = 0; i < n; i++) {
		switch (rr[i].type) {
		case SD_T_TLSA: case SD_T_CNAME: case SD_T_DNAME: case SD_T_DS: case SD_T_DNSKEY:
		case SD_T_RRSIG: case SD_T_NSEC: case SD_T_NSEC3:
			continue;
		}
		*at = (size_t)(rr[i].owner - chain);
		free(rr);
		return sd_fail(why, "record type not expected in a DNSSEC chain", EBADMSG);
	}
	if (n == 0) {
		free(rr);
		return sd_fail(why, "empty chain", EBADMSG);
	}
	*out = rr;
	*nrr = n;
	return 0;
}

/* sipdance_chain_parse - structural check of a whole chain */
int sipdance_chain_parse(const uint8_t *chain, size_t len, size_t *nrr, const char **why)
{
	struct sd_rr *rr;
	size_t n, at;
	int err;

	if (!chain)
		return sd_fail(why, "no input", EINVAL);
	if (len > SIPDANCE_CHAIN_MAX)
		return sd_fail(why, "chain longer than 65535 octets", EMSGSIZE);
	if ((err = sd_chain_split(chain, len, &rr, &n, &at, why)))
		return err;
	free(rr);
	if (nrr)
		*nrr = n;
	return 0;
}

/* sipdance_chain_ext_decode - lifetime and chain of extension_data */
int sipdance_chain_ext_decode(const uint8_t *ext, size_t len, uint16_t *lifetime,
			      const uint8_t **chain, size_t *chain_len, const char **why)
{
	if (!ext || !lifetime || !chain || !chain_len)
		return sd_fail(why, "no input", EINVAL);
	if (len < 3)
		return sd_fail(why, "extension_data shorter than lifetime plus one octet", EBADMSG);
	if (len - 2 > SIPDANCE_CHAIN_MAX)
		return sd_fail(why, "chain longer than 65535 octets", EMSGSIZE);
	*lifetime = sd_get16(ext);
	*chain = ext + 2;
	*chain_len = len - 2;
	return 0;
}

/* sipdance_chain_ext_encode - lifetime then chain */
int sipdance_chain_ext_encode(uint16_t lifetime, const uint8_t *chain, size_t chain_len,
			      uint8_t **out, size_t *out_len)
{
	uint8_t *b;

	if (!chain || !chain_len || !out || !out_len)
		return EINVAL;
	if (chain_len + 2 > SIPDANCE_CHAIN_MAX_EXT)
		return EMSGSIZE;
	if (!(b = malloc(chain_len + 2)))
		return ENOMEM;
	b[0] = (uint8_t)(lifetime >> 8);
	b[1] = (uint8_t)lifetime;
	memcpy(b + 2, chain, chain_len);
	*out = b;
	*out_len = chain_len + 2;
	return 0;
}

/* ---- Validation ---- */

/* sd_chain_signed_data - signed data of an RRSIG over an RRset, for tests and the bench */
uint8_t *sd_chain_signed_data(const struct sd_rr *sig, const struct sd_rr *set, size_t k,
			      size_t *len)
{
	const struct sd_rr **p = malloc((k ? k : 1) * sizeof(*p));
	uint8_t *b;

	if (!p)
		return NULL;
	for (size_t i = 0; i < k; i++)
		p[i] = &set[i];
	b = sd_rr_signed_data(sig, p, k, len);
	free(p);
	return b;
}

/* tlsa_set - the TLSA RRset at @owner of @rr as a sipdance set, duplicates once */
static int tlsa_set(const struct sd_rr *rr, size_t n, const uint8_t *owner, struct sipdance_tlsa_set **out)
{
	struct sipdance_tlsa_set *set;
	struct sipdance_tlsa *t;
	int err;

	if ((err = sipdance_tlsa_set_alloc(&set)))
		return err;
	for (size_t i = 0; i < n; i++) {
		int dup = 0;

		if (rr[i].type != SD_T_TLSA || !sd_name_eq(rr[i].owner, owner))
			continue;
		for (size_t j = 0; j < i; j++)
			if (rr[j].type == SD_T_TLSA && sd_name_eq(rr[j].owner, owner) &&
			    rr[j].rdlen == rr[i].rdlen && !memcmp(rr[j].rdata, rr[i].rdata, rr[i].rdlen))
				dup = 1;
		if (dup)
			continue;
		if ((err = sipdance_tlsa_from_wire(&t, rr[i].rdata, rr[i].rdlen, NULL)) ||
		    (err = sipdance_tlsa_set_add(set, t))) {
			sipdance_tlsa_set_free(set);
			return err;
		}
	}
	*out = set;
	return 0;
}

/* bogus - a not-secure result with reason */
static int bogus(struct sipdance_chain_result *r, const char *why)
{
	r->secure = 0;
	snprintf(r->why, sizeof(r->why), "%s", why);
	return 0;
}

/* sipdance_chain_validate - the chain proves TLSA records, a denial, an
 * unsigned zone, or nothing */
int sipdance_chain_validate(const struct sipdance_anchor *ta, const uint8_t *chain,
			    size_t len, const char *owner, time_t at,
			    struct sipdance_chain_result *r)
{
	struct sd_dnssec_query q = { .qtype = SD_T_TLSA };
	struct sd_dnssec_result res;
	struct sd_rr *rr = NULL, *anchor = NULL;
	uint8_t name[256];
	const char *why = NULL;
	size_t n = 0, at_off;
	int err;

	if (!ta || !chain || !owner || !r)
		return EINVAL;
	memset(r, 0, sizeof(*r));
	if (sd_name_from_text(owner, name, sizeof(name), &why))
		return EINVAL;
	if (len > SIPDANCE_CHAIN_MAX)
		return bogus(r, "chain longer than 65535 octets");
	if ((err = sd_chain_split(chain, len, &rr, &n, &at_off, &why))) {
		if (err == ENOMEM)
			return err;
		snprintf(r->why, sizeof(r->why), "malformed chain at octet %zu: %s", at_off, why);
		return 0;
	}
	if (n > MAX_RRS) {
		free(rr);
		return bogus(r, "chain of more than 128 records");
	}
	if (!(anchor = malloc(ta->set->n * sizeof(*anchor)))) {
		free(rr);
		return ENOMEM;
	}
	for (size_t i = 0; i < ta->set->n; i++)
		anchor[i] = ta->set->rr[i].rr;
	q.rr = rr;
	q.n = n;
	q.anchor = anchor;
	q.nanchor = ta->set->n;
	q.qname = name;
	q.at = at ? at : time(NULL);
	err = sd_dnssec_validate(&q, &res);
	/*
	 * What the chain proves, from the validator's result:
	 *  - SECURE with the TLSA RRset: its records (r->name after aliases);
	 *  - SECURE with NODATA or NXDOMAIN: a denial, no TLSA;
	 *  - INSECURE: the name is in a zone proven unsigned: no usable TLSA,
	 *    reported as a denial with insecure set (RFC 7672: DANE off);
	 *  - BOGUS: nothing, with the reason.
	 */
	if (!err && res.status != SD_DNSSEC_BOGUS) {
		r->secure = 1;
		r->ttl = res.ttl;
		r->expires = res.expires;
		sd_name_text(res.name, r->name, sizeof(r->name));
		if (res.status == SD_DNSSEC_INSECURE) {
			r->denial = r->insecure = 1;
			snprintf(r->why, sizeof(r->why), "%s", res.why);
		} else if (res.answer != SD_DNSSEC_DATA) {
			r->denial = 1;
		} else if ((err = tlsa_set(rr, n, res.name, &r->tlsa))) {
			memset(r, 0, sizeof(*r));
		}
	} else if (!err) {
		bogus(r, res.why);
	}
	free(anchor);
	free(rr);
	return err;
}

/* sipdance_chain_result_clear - release the records */
void sipdance_chain_result_clear(struct sipdance_chain_result *r)
{
	if (!r)
		return;
	sipdance_tlsa_set_free(r->tlsa);
	memset(r, 0, sizeof(*r));
}
