/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * clientid_dns.c - a ClientName's TLSA records through the DNS layer: the
 * default lookup hook of the handshake (blocking, bounded by the resolver's
 * timeout), and the lookup a host with an event loop runs after the
 * handshake instead, whose verdict it binds to the connection.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <openssl/x509.h>

#include <sipdance/clientid.h>
#include <sipdance/dns.h>
#include "internal.h"

/* answer_fill - a DNS answer as the hook's answer; TLSA records found through
 * an alias are not the ClientName's own (as for a shipped chain): BOGUS */
static int answer_fill(const struct sipdance_dns_answer *a, struct sipdance_clientid_answer *out)
{
	const char *qname = sipdance_dns_answer_qname(a), *cname = sipdance_dns_answer_cname(a);

	out->status = sipdance_dns_answer_status(a);
	out->rcode = sipdance_dns_answer_rcode(a);
	snprintf(out->why, sizeof(out->why), "%s", sipdance_dns_answer_why(a));
	if (out->status == SIPDANCE_DNS_SECURE && out->rcode == SIPDANCE_DNS_FOUND && qname && cname &&
	    strcasecmp(qname, cname)) {
		out->status = SIPDANCE_DNS_BOGUS;
		snprintf(out->why, sizeof(out->why), "%.40s leads to %.40s: not its own TLSA", qname, cname);
		return 0;
	}
	if (out->status == SIPDANCE_DNS_SECURE && out->rcode == SIPDANCE_DNS_FOUND)
		return sipdance_dns_answer_tlsa(a, &out->tlsa);
	return 0;
}

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
	err = answer_fill(a, out);
	sipdance_dns_answer_unref(a);
	return err;
}

struct sipdance_clientid_lookup {
	struct sipdance_dns_query *q;
	char name[SIPDANCE_CLIENTID_MAX + 1];
	STACK_OF(X509) *chain;
	sipdance_clientid_done_fn *done;
	void *arg;
};

/* lookup_free - a finished or cancelled lookup */
static void lookup_free(struct sipdance_clientid_lookup *l)
{
	sk_X509_pop_free(l->chain, X509_free);
	free(l);
}

/* answered - the TLSA answer is in: the verdict for the client's certificates */
static void answered(void *arg, const struct sipdance_dns_answer *a)
{
	struct sipdance_clientid_lookup *l = arg;
	struct sipdance_clientid_answer ans = { .status = SIPDANCE_DNS_INDETERMINATE,
						.rcode = SIPDANCE_DNS_NONE };
	struct sipdance_verdict v = { .usage = -1, .selector = -1, .mtype = -1, .depth = -1 };
	int err = answer_fill(a, &ans);

	/*
	 * The verdict, case by case (the handshake's lookup, after it):
	 *  - BOGUS or INDETERMINATE answer, or it cannot be read: refused; a
	 *    failed lookup never downgrades to "no DANE";
	 *  - INSECURE, or a secure NODATA/NXDOMAIN: nothing authenticated;
	 *  - secure records: the certificates the client proved in its
	 *    handshake against them (sipdance_clientid_verify: MATCH, NOMATCH,
	 *    UNUSABLE).
	 */
	l->q = NULL;
	if (err || ans.status == SIPDANCE_DNS_BOGUS || ans.status == SIPDANCE_DNS_INDETERMINATE)
		sd_verdict_set(&v, !err && ans.status == SIPDANCE_DNS_BOGUS ? SIPDANCE_BOGUS
			       : SIPDANCE_INDETERMINATE, "TLSA lookup %s%s%s", err ? "failed" :
			       ans.status == SIPDANCE_DNS_BOGUS ? "BOGUS" : "INDETERMINATE",
			       ans.why[0] ? ": " : "", ans.why);
	else if (ans.status == SIPDANCE_DNS_INSECURE)
		sd_verdict_set(&v, SIPDANCE_INSECURE, "TLSA answer is not DNSSEC-signed");
	else if (ans.rcode != SIPDANCE_DNS_FOUND || !ans.tlsa)
		sd_verdict_set(&v, SIPDANCE_NODATA, "%s", ans.rcode == SIPDANCE_DNS_NXDOMAIN ?
			       "no such name (validated NXDOMAIN)" : "no TLSA record (validated NODATA)");
	else if ((err = sipdance_clientid_verify(l->name, ans.tlsa, l->chain, 0, &v)))
		sd_verdict_set(&v, SIPDANCE_INDETERMINATE, "cannot verify the certificate: %s",
			       err == ENOMEM ? "out of memory" : "no certificate");
	sipdance_tlsa_set_free(ans.tlsa);
	sd_log(v.result == SIPDANCE_MATCH ? SIPDANCE_LOG_INFO : SIPDANCE_LOG_WARN, "clientid",
	       "%s: %s: %s (TLSA looked up after the handshake)", l->name, sipdance_result_str(v.result),
	       v.reason);
	l->done(l->arg, &v);
	lookup_free(l);
}

/* sipdance_clientid_lookup_start - TLSA of @client_name, then @chain against it */
int sipdance_clientid_lookup_start(struct sipdance_dns *dns, const char *client_name,
				   STACK_OF(X509) *chain, sipdance_clientid_done_fn *done, void *arg,
				   struct sipdance_clientid_lookup **out)
{
	struct sipdance_clientid_lookup *l;
	int err;

	if (!dns || !chain || sk_X509_num(chain) < 1 || !done || !out ||
	    sipdance_clientid_check(client_name, NULL, NULL, NULL))
		return EINVAL;
	if (!(l = calloc(1, sizeof(*l))) || !(l->chain = X509_chain_up_ref(chain))) {
		free(l);
		return ENOMEM;
	}
	snprintf(l->name, sizeof(l->name), "%s", client_name);
	l->done = done;
	l->arg = arg;
	if ((err = sipdance_dns_lookup(dns, client_name, SIPDANCE_DNS_TLSA, answered, l, &l->q))) {
		lookup_free(l);
		return err;
	}
	*out = l;
	return 0;
}

/* sipdance_clientid_lookup_cancel - forget a pending lookup */
void sipdance_clientid_lookup_cancel(struct sipdance_clientid_lookup *l)
{
	if (!l)
		return;
	sipdance_dns_cancel(l->q);
	lookup_free(l);
}
