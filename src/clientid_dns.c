/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * clientid_dns.c - the default TLSA lookup hook of dane_clientid: a blocking
 * DNSSEC-validated lookup through the DNS layer, bounded by its timeout.
 */
#include <errno.h>
#include <stdio.h>

#include <sipdance/clientid.h>
#include <sipdance/dns.h>
#include "internal.h"

/* sipdance_clientid_dns_lookup - TLSA at exactly @name through sipdance_dns */
int sipdance_clientid_dns_lookup(void *arg, const char *name, struct sipdance_clientid_answer *out)
{
	struct sipdance_dns_answer *a = NULL;
	int err;

	if (!arg || !name || !out)
		return EINVAL;
	*out = (struct sipdance_clientid_answer){ .status = SIPDANCE_DNS_INDETERMINATE,
						  .rcode = SIPDANCE_DNS_NONE };
	if ((err = sipdance_dns_lookup_sync(arg, name, SIPDANCE_DNS_TLSA, &a)))
		return err;
	out->status = sipdance_dns_answer_status(a);
	out->rcode = sipdance_dns_answer_rcode(a);
	snprintf(out->why, sizeof(out->why), "%s", sipdance_dns_answer_why(a));
	if (out->status == SIPDANCE_DNS_SECURE && out->rcode == SIPDANCE_DNS_FOUND)
		err = sipdance_dns_answer_tlsa(a, &out->tlsa);
	sipdance_dns_answer_unref(a);
	return err;
}
