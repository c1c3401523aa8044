/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * dance.c - DANCE clients that came without their DNSSEC chain: their
 * ClientName's TLSA records looked up after the handshake, on the proxy's
 * loop (sipdance_clientid_lookup_start), so that a slow lookup holds only
 * that connection's requests; the verdict is bound to the connection
 * (px_hook_client_settle). Names below a name known not to exist are
 * answered without a lookup for a while (RFC 8020: nothing exists below an
 * NXDOMAIN), so made-up names under a domain without users cost one lookup.
 */
#include "proxy.h"
#include "dance.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <sipdance/clientid.h>
#include <sipdance/dns.h>

#define MAX_ABSENT 64
#define ABSENT_S 60
#define MAX_PROBES 8

/* One ClientName being looked up. */
struct job {
	struct job *next;
	struct px_dance *d;
	SSL *ssl;                           /* a reference: where the verdict goes */
	char name[SIPDANCE_CLIENTID_MAX + 1];
	struct sipdance_clientid_lookup *l; /* the lookup and the certificate match */
	struct sipdance_dns_query *q;       /* or, after an NXDOMAIN, an ancestor's lookup */
	struct sipdance_verdict v;          /* the verdict, while ancestors are probed */
	const char *probes[MAX_PROBES];     /* those ancestors (into name), nearest the domain first */
	size_t nprobes, probe;
};

struct px_dance {
	struct px_hook *hook;
	struct sipdance_dns *dns;
	const char *const *domains;         /* the client domains (borrowed) */
	size_t ndomains;
	struct job *jobs;
	struct { char name[SIPDANCE_CLIENTID_MAX + 1]; time_t until; } absent[MAX_ABSENT];
	size_t nabsent;
};

/* under_absent - whether @name is at or below a name known not to exist */
static int under_absent(const struct px_dance *d, const char *name, time_t now)
{
	size_t n = strlen(name), k;

	for (size_t i = 0; i < d->nabsent; i++) {
		if (d->absent[i].until <= now)
			continue;
		k = strlen(d->absent[i].name);
		if (n >= k && !strcasecmp(name + n - k, d->absent[i].name) &&
		    (n == k || name[n - k - 1] == '.'))
			return 1;
	}
	return 0;
}

/* remember_absent - names at or below @name need no lookup for a while */
static void remember_absent(struct px_dance *d, const char *name)
{
	time_t now = time(NULL);
	size_t i = d->nabsent < MAX_ABSENT ? d->nabsent++ : (size_t)(now % MAX_ABSENT);

	snprintf(d->absent[i].name, sizeof(d->absent[i].name), "%s", name);
	d->absent[i].until = now + ABSENT_S;
	px_log(SIPDANCE_LOG_DEBUG, "clientid", "%s does not exist: names below it are not looked up "
	       "for %d s", name, ABSENT_S);
}

/* finish - the verdict to the connection, the job gone */
static void finish(struct job *j)
{
	for (struct job **pp = &j->d->jobs; *pp; pp = &(*pp)->next)
		if (*pp == j) {
			*pp = j->next;
			break;
		}
	px_hook_client_settle(j->ssl, &j->v);
	SSL_free(j->ssl);
	free(j);
}

static void probe_next(struct job *j);

/* probed - an ancestor's answer: a secure NXDOMAIN is remembered, else the next one */
static void probed(void *arg, const struct sipdance_dns_answer *a)
{
	struct job *j = arg;

	j->q = NULL;
	if (sipdance_dns_answer_status(a) == SIPDANCE_DNS_SECURE &&
	    sipdance_dns_answer_rcode(a) == SIPDANCE_DNS_NXDOMAIN) {
		remember_absent(j->d, j->probes[j->probe]);
		finish(j);
		return;
	}
	j->probe++;
	probe_next(j);
}

/* probe_next - look the next ancestor up, or finish */
static void probe_next(struct job *j)
{
	if (j->probe == j->nprobes ||
	    sipdance_dns_lookup(j->d->dns, j->probes[j->probe], SIPDANCE_DNS_TLSA, probed, j, &j->q))
		finish(j);
}

/* own_answer - the name's own answer (cached by now): on a secure NXDOMAIN,
 * the ancestors below the client domain are probed, nearest the domain first */
static void own_answer(void *arg, const struct sipdance_dns_answer *a)
{
	struct job *j = arg;
	const char *top = NULL;
	size_t n = strlen(j->name), k;

	j->q = NULL;
	if (sipdance_dns_answer_status(a) != SIPDANCE_DNS_SECURE ||
	    sipdance_dns_answer_rcode(a) != SIPDANCE_DNS_NXDOMAIN) {
		finish(j);
		return;
	}
	for (size_t i = 0; i < j->d->ndomains && !top; i++) {
		k = strlen(j->d->domains[i]);
		if (n > k && j->name[n - k - 1] == '.' && !strcasecmp(j->name + n - k, j->d->domains[i]))
			top = j->name + n - k;
	}
	for (const char *p = top ? top - 1 : NULL; p && p > j->name; p--)
		if (p[-1] == '.' && j->nprobes < MAX_PROBES)
			j->probes[j->nprobes++] = p;
	probe_next(j);
}

/* looked_up - the lookup and match are done; a denial may teach us more */
static void looked_up(void *arg, const struct sipdance_verdict *v)
{
	struct job *j = arg;

	j->l = NULL;
	j->v = *v;
	/* NODATA: NXDOMAIN or no TLSA; the name's own answer (from the cache) tells */
	if (v->result != SIPDANCE_NODATA ||
	    sipdance_dns_lookup(j->d->dns, j->name, SIPDANCE_DNS_TLSA, own_answer, j, &j->q))
		finish(j);
}

/* start - px_pending_fn: the lookup of a ClientName that came without its chain */
static int start(void *arg, SSL *ssl, const char *name, STACK_OF(X509) *chain)
{
	struct px_dance *d = arg;
	struct sipdance_verdict v = { .result = SIPDANCE_NODATA, .usage = -1, .selector = -1,
				      .mtype = -1, .depth = -1 };
	struct job *j;
	int err;

	/*
	 * Case by case:
	 *  - at or below a name known not to exist (a secure NXDOMAIN less than
	 *    ABSENT_S seconds old): NODATA at once, no lookup; a client making
	 *    up names under it costs nothing;
	 *  - otherwise the lookup on the loop (answers cached by the DNS layer
	 *    for their TTL, lookups of one name shared); a secure NXDOMAIN then
	 *    probes the ancestors below the client domain for the highest one
	 *    that does not exist, remembered for the next names, before the
	 *    verdict is given.
	 */
	if (under_absent(d, name, time(NULL))) {
		snprintf(v.reason, sizeof(v.reason), "a parent name does not exist (negative cache)");
		px_hook_client_settle(ssl, &v);
		return 0;
	}
	if (!(j = calloc(1, sizeof(*j))))
		return ENOMEM;
	j->d = d;
	snprintf(j->name, sizeof(j->name), "%s", name);
	if ((err = sipdance_clientid_lookup_start(d->dns, name, chain, looked_up, j, &j->l))) {
		free(j);
		return err;
	}
	SSL_up_ref(ssl);
	j->ssl = ssl;
	j->next = d->jobs;
	d->jobs = j;
	return 0;
}

/* px_dance_alloc - lookups after the handshake for @hook's connections, through @dns */
int px_dance_alloc(struct px_dance **out, struct px_hook *hook, struct sipdance_dns *dns,
		   const char *const *domains, size_t ndomains)
{
	struct px_dance *d = calloc(1, sizeof(*d));

	if (!(*out = d))
		return ENOMEM;
	d->hook = hook;
	d->dns = dns;
	d->domains = domains;
	d->ndomains = ndomains;
	px_hook_on_pending(hook, start, d);
	return 0;
}

/* px_dance_flush - SIGHUP: names known not to exist are looked up again */
void px_dance_flush(struct px_dance *d)
{
	if (d)
		d->nabsent = 0;
}

/* px_dance_free - pending lookups cancelled, their connections left unjudged */
void px_dance_free(struct px_dance *d)
{
	struct job *j;

	if (!d)
		return;
	px_hook_on_pending(d->hook, NULL, NULL);
	while ((j = d->jobs)) {
		d->jobs = j->next;
		sipdance_clientid_lookup_cancel(j->l);
		sipdance_dns_cancel(j->q);
		SSL_free(j->ssl);
		free(j);
	}
	free(d);
}
