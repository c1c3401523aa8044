/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * chain_fetch.c - our own chain, the side that sends one: fetch our TLSA
 * answer and its validation chain through getdns, serialise it in RFC 9102
 * order, and keep the extension_data to send (refresh times, expiry: send
 * none), held to our own certificate: a chain whose TLSA records it does not
 * match is never sent. A server's TLSA name is _port._tcp.host; a DANCE
 * client's is its ClientName (docs/client-chain.md).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <getdns/getdns.h>
#include <getdns/getdns_extra.h>

#include <sipdance/chain.h>
#include <sipdance/clientid.h>
#include <sipdance/dane.h>
#include <sipdance/dns.h>
#include "chain_int.h"
#include "internal.h"

#define T_DS 43
#define T_RRSIG 46
#define T_DNSKEY 48
#define MIN_REFRESH 10
#define RETRY_AFTER 30
#define EXPIRY_MARGIN 600

/* One record to emit: its wire form (owned) and decoded view. */
struct item {
	uint8_t *wire;
	size_t len;
	struct sd_rr rr;
	int group;     /* 0 answer, 1 denial, 2 DNSKEY/DS chain */
	uint16_t set_type;
};

struct items {
	struct item *v;
	size_t n, cap;
};

/* add_list - every rr_dict of @list into @it (group @g), duplicates dropped */
static int add_list(struct items *it, getdns_list *list, int g)
{
	size_t n = 0;

	if (!list)
		return 0;
	getdns_list_get_length(list, &n);
	for (size_t i = 0; i < n; i++) {
		getdns_dict *d;
		uint32_t type;
		struct item x = { .group = g };
		struct sd_rr *rr;
		size_t k, at;
		int dup = 0;

		if (getdns_list_get_dict(list, i, &d) || getdns_dict_get_int(d, "type", &type))
			return EBADMSG;
		/* the chain carries the RRsets and signatures, not the SOA of a denial */
		if (type == 6 || (type == T_RRSIG && getdns_dict_get_int(d, "/rdata/type_covered", &type) == 0 &&
				  type == 6))
			continue;
		if (getdns_rr_dict2wire(d, &x.wire, &x.len))
			return ENOMEM;
		if (sd_chain_split(x.wire, x.len, &rr, &k, &at, NULL) || k != 1) {
			free(x.wire);
			return EBADMSG;
		}
		x.rr = rr[0];
		free(rr);
		x.set_type = x.rr.type == T_RRSIG ? (uint16_t)(x.rr.rdata[0] << 8 | x.rr.rdata[1]) : x.rr.type;
		for (size_t j = 0; j < it->n && !dup; j++)
			dup = it->v[j].len == x.len && !memcmp(it->v[j].wire, x.wire, x.len);
		if (dup) {
			free(x.wire);
			continue;
		}
		if (it->n == it->cap) {
			struct item *t = realloc(it->v, (it->cap = it->cap ? 2 * it->cap : 32) * sizeof(*t));

			if (!t) {
				free(x.wire);
				return ENOMEM;
			}
			it->v = t;
		}
		it->v[it->n++] = x;
	}
	return 0;
}

/* item_cmp - RFC 9102 order: answer, denial, then zones from the deepest
 * up, DNSKEY before DS; records before their RRSIGs */
static int item_cmp(const void *pa, const void *pb)
{
	const struct item *a = pa, *b = pb;
	unsigned la = sd_name_labels(a->rr.owner), lb = sd_name_labels(b->rr.owner);
	int c;

	if (a->group != b->group)
		return a->group - b->group;
	if (a->group == 2 && la != lb)
		return la > lb ? -1 : 1;
	if ((c = sd_name_cmp(a->rr.owner, b->rr.owner)))
		return c;
	if (a->set_type != b->set_type)
		return a->set_type == T_DNSKEY ? -1 : b->set_type == T_DNSKEY ? 1 : a->set_type - b->set_type;
	return (a->rr.type == T_RRSIG) - (b->rr.type == T_RRSIG);
}

/* serialise - the sorted items as one buffer */
static int serialise(struct items *it, uint8_t **out, size_t *len)
{
	size_t total = 0, o = 0;
	uint8_t *b;

	qsort(it->v, it->n, sizeof(*it->v), item_cmp);
	for (size_t i = 0; i < it->n; i++)
		total += it->v[i].len;
	if (total == 0)
		return EBADMSG;
	if (total > SIPDANCE_CHAIN_MAX)
		return EMSGSIZE;
	if (!(b = malloc(total)))
		return ENOMEM;
	for (size_t i = 0; i < it->n; i++) {
		memcpy(b + o, it->v[i].wire, it->v[i].len);
		o += it->v[i].len;
	}
	*out = b;
	*len = total;
	return 0;
}

/*
 * chain_of_reply - the chain in getdns' reply @resp to a TLSA query with the
 * validation chain. The cases:
 *  - no reply, or none from the resolver (timeout, SERVFAIL): ETIMEDOUT;
 *  - an answer or denial that is not SECURE (bogus, insecure, indeterminate):
 *    EBADMSG, never serialised;
 *  - SECURE: answer, denial and validation chain in RFC 9102 order.
 */
static int chain_of_reply(getdns_dict *resp, uint8_t **out, size_t *out_len, const char **why)
{
	getdns_list *answer = NULL, *authority = NULL, *vchain = NULL;
	struct items it = { 0 };
	uint32_t status = 0, dstatus = 0;
	int err;

	if (!resp)
		return sd_fail(why, "DNS lookup failed", ETIMEDOUT);
	getdns_dict_get_int(resp, "status", &status);
	if ((status != GETDNS_RESPSTATUS_GOOD && status != GETDNS_RESPSTATUS_NO_NAME) ||
	    getdns_dict_get_int(resp, "/replies_tree/0/dnssec_status", &dstatus))
		return sd_fail(why, "no answer from the resolver", ETIMEDOUT);
	if (dstatus != GETDNS_DNSSEC_SECURE)
		return sd_fail(why, dstatus == GETDNS_DNSSEC_BOGUS ? "TLSA answer is bogus" :
			       "TLSA answer is not secure (insecure or indeterminate)", EBADMSG);
	getdns_dict_get_list(resp, "/replies_tree/0/answer", &answer);
	getdns_dict_get_list(resp, "/replies_tree/0/authority", &authority);
	getdns_dict_get_list(resp, "validation_chain", &vchain);
	if ((err = add_list(&it, answer, 0)) || (err = add_list(&it, authority, 1)) ||
	    (err = add_list(&it, vchain, 2)) || (err = serialise(&it, out, out_len)))
		sd_fail(why, err == EMSGSIZE ? "chain longer than 65535 octets" : err == ENOMEM ?
		     "out of memory" : "answer cannot be serialised", err);
	for (size_t i = 0; i < it.n; i++)
		free(it.v[i].wire);
	free(it.v);
	return err;
}

/* sipdance_chain_fetch_owner - TLSA answer (or denial) at @owner plus validation chain */
int sipdance_chain_fetch_owner(const char *resolver, const struct sipdance_anchor *ta, const char *owner,
			       unsigned timeout_ms, uint8_t **out, size_t *out_len, const char **why)
{
	struct getdns_context *ctx = NULL;
	getdns_dict *ext = NULL, *resp = NULL;
	uint8_t wire[256];
	int err;

	if (!owner || !out || !out_len)
		return sd_fail(why, "no TLSA owner name", EINVAL);
	if (sd_name_from_text(owner, wire, sizeof(wire), why))
		return EINVAL;
	if ((err = sd_getdns_context_new(&ctx, resolver, ta, timeout_ms, why)))
		return err;
	if (!(ext = getdns_dict_create()) ||
	    getdns_dict_set_int(ext, "dnssec_return_validation_chain", GETDNS_EXTENSION_TRUE) ||
	    getdns_dict_set_int(ext, "dnssec_return_all_statuses", GETDNS_EXTENSION_TRUE))
		err = sd_fail(why, "out of memory", ENOMEM);
	else if (getdns_general_sync(ctx, owner, GETDNS_RRTYPE_TLSA, ext, &resp) != GETDNS_RETURN_GOOD)
		err = sd_fail(why, "DNS lookup failed", ETIMEDOUT);
	else
		err = chain_of_reply(resp, out, out_len, why);
	getdns_dict_destroy(resp);
	getdns_dict_destroy(ext);
	getdns_context_destroy(ctx);
	return err;
}

/* sipdance_chain_fetch - the chain of a server's TLSA name _port._tcp.host */
int sipdance_chain_fetch(const char *resolver, const struct sipdance_anchor *ta, const char *host,
			 uint16_t port, unsigned timeout_ms, uint8_t **out, size_t *out_len,
			 const char **why)
{
	char owner[300];
	uint8_t wire[256];

	if (!host || !port)
		return sd_fail(why, "no host or port", EINVAL);
	if (sd_name_from_text(host, wire, sizeof(wire), why))
		return EINVAL;
	snprintf(owner, sizeof(owner), "_%u._tcp.%s", port, host);
	return sipdance_chain_fetch_owner(resolver, ta, owner, timeout_ms, out, out_len, why);
}

/* ---- Source ---- */

struct sipdance_chain_source {
	pthread_mutex_t lock;     /* handshakes copy ext while a refresh replaces it */
	struct sipdance_chain_source_conf conf;
	char *resolver, *file, *host; /* owned copies */
	char owner[300];          /* the TLSA name: conf.owner, or _port._tcp.host */
	struct sipdance_anchor *ta;
	struct sipdance_dane *dane; /* for cert_matches */
	STACK_OF(X509) *cert;     /* ours: every chain loaded must match it; NULL: none set */
	uint8_t *ext;             /* extension_data being served */
	size_t ext_len;
	time_t expires;           /* serve none from then on */
	time_t next;              /* next refresh */
	struct sipdance_dns *dns; /* refreshes on conf.loop ask through it (resolver sources) */
	void *timer;              /* a file source's refresh, read when the loop comes round */
	struct sd_dns_ask *ask;   /* the query of the refresh under way */
	int pending;              /* a refresh started and not ended */
	sipdance_chain_source_done_fn *done; /* told how it ended */
	void *done_arg;
};

/* read_file - whole file, malloc'd */
static int read_file(const char *path, uint8_t **out, size_t *len, const char **why)
{
	FILE *f = fopen(path, "rb");
	uint8_t *b;
	size_t n;

	if (!f)
		return sd_fail(why, "chain file unreadable", EINVAL);
	b = malloc(SIPDANCE_CHAIN_MAX + 3);
	n = b ? fread(b, 1, SIPDANCE_CHAIN_MAX + 3, f) : 0;
	fclose(f);
	if (!b)
		return sd_fail(why, "out of memory", ENOMEM);
	if (n > SIPDANCE_CHAIN_MAX + 2) {
		free(b);
		return sd_fail(why, "chain file too large", EMSGSIZE);
	}
	*out = b;
	*len = n;
	return 0;
}

/*
 * cert_matches - whether the validated chain @r may be sent with our
 * certificate @cert: 0, or EBADMSG with *why. The cases:
 *  - a validated denial (no TLSA): peers fall back to PKIX, nothing to match;
 *  - a server's TLSA records: @cert must MATCH them as a client checks it
 *    (DANE with our host as reference identifier, PKIX-TA/EE against the
 *    configured CA file);
 *  - a DANCE client's TLSA records (conf.owner): @cert must MATCH them as a
 *    server checks a client (sipdance_clientid_verify: DANE-EE, or DANE-TA
 *    with the ClientName in the certificate);
 *  NOMATCH or UNUSABLE means peers would refuse us: never sent.
 */
static int cert_matches(const struct sipdance_chain_source *s, const struct sipdance_chain_result *r,
			STACK_OF(X509) *cert, const char **why)
{
	static __thread char buf[640];
	const char *names[] = { s->host };
	struct sipdance_dane_params p = { .names = names, .nnames = 1 };
	struct sipdance_verdict v;
	int err;

	if (r->denial)
		return 0;
	err = s->conf.owner ? sipdance_clientid_verify(s->conf.owner, r->tlsa, cert, 0, &v)
			    : sipdance_dane_verify(s->dane, r->tlsa, cert, &p, &v);
	if (err)
		return sd_fail(why, err == ENOMEM ? "out of memory" : "no certificate to match", err);
	if (v.result == SIPDANCE_MATCH)
		return 0;
	snprintf(buf, sizeof(buf), "our certificate does not match the TLSA records of our chain for "
		 "%.260s: %s", s->owner, v.reason);
	return sd_fail(why, buf, EBADMSG);
}

/* use - validate our own chain in extension_data @ext (taken) before serving it */
static int use(struct sipdance_chain_source *s, time_t now, uint8_t *ext, size_t ext_len, const char **why)
{
	struct sipdance_chain_result r;
	const uint8_t *bare;
	size_t bare_len;
	uint16_t life;
	int err;

	if ((err = sipdance_chain_ext_decode(ext, ext_len, &life, &bare, &bare_len, why)) ||
	    (err = sipdance_chain_validate(s->ta, bare, bare_len, s->owner, now, &r)))
		goto out;
	if (!r.secure) {
		sd_log(SIPDANCE_LOG_WARN, "chain", "own chain for %s does not validate: %s", s->owner, r.why);
		err = sd_fail(why, "own chain does not validate", EBADMSG);
		goto out;
	}
	if (s->cert && (err = cert_matches(s, &r, s->cert, why))) {
		sipdance_chain_result_clear(&r);
		goto out;
	}
	pthread_mutex_lock(&s->lock);
	free(s->ext);
	s->ext = ext;
	s->ext_len = ext_len;
	ext = NULL;
	s->expires = r.expires;
	s->next = now + (time_t)(r.ttl / 4 * 3);
	if (s->conf.refresh_s && s->next > now + (time_t)s->conf.refresh_s)
		s->next = now + (time_t)s->conf.refresh_s;
	if (s->next > r.expires - EXPIRY_MARGIN)
		s->next = r.expires - EXPIRY_MARGIN;
	if (s->next < now + MIN_REFRESH)
		s->next = now + MIN_REFRESH;
	pthread_mutex_unlock(&s->lock);
	sd_log(SIPDANCE_LOG_INFO, "chain", "chain for %s: %zu octets, %s, ttl %u, next refresh in %lds",
	       s->owner, s->ext_len, r.denial ? "denial" : "TLSA", r.ttl, (long)(s->next - now));
	sipdance_chain_result_clear(&r);
out:
	free(ext);
	return err;
}

/* use_chain - a fetched bare chain (taken) as our extension_data, then use() */
static int use_chain(struct sipdance_chain_source *s, time_t now, uint8_t *chain, size_t len,
		     const char **why)
{
	uint8_t *ext = NULL;
	size_t ext_len = 0;
	int err = sipdance_chain_ext_encode(s->conf.lifetime, chain, len, &ext, &ext_len);

	free(chain);
	return err ? sd_fail(why, "chain too large for the extension", err) : use(s, now, ext, ext_len, why);
}

/* load - read or fetch (blocking), then use() */
static int load(struct sipdance_chain_source *s, time_t now, const char **why)
{
	uint8_t *data = NULL;
	size_t len = 0;
	int err;

	if (s->file)
		return (err = read_file(s->file, &data, &len, why)) ? err : use(s, now, data, len, why);
	if ((err = sipdance_chain_fetch_owner(s->resolver, s->ta, s->owner, s->conf.timeout_ms, &data,
					      &len, why)))
		return err;
	return use_chain(s, now, data, len, why);
}

/* ended - a refresh failed (@err) or installed a chain: retry time on failure, then tell the host */
static void ended(struct sipdance_chain_source *s, time_t now, int err, const char *why)
{
	if (err) {
		pthread_mutex_lock(&s->lock);
		s->next = now + RETRY_AFTER;
		pthread_mutex_unlock(&s->lock);
	}
	s->pending = 0;
	s->done(s->done_arg, s, err, why);
}

/* on_reply - the resolver answered the refresh under way (or gave up) */
static void on_reply(void *arg, getdns_dict *resp)
{
	struct sipdance_chain_source *s = arg;
	time_t now = time(NULL);
	const char *why = NULL;
	uint8_t *chain = NULL;
	size_t len = 0;
	int err;

	s->ask = NULL;
	if (!(err = chain_of_reply(resp, &chain, &len, &why)))
		err = use_chain(s, now, chain, len, &why);
	getdns_dict_destroy(resp);
	ended(s, now, err, why);
}

/* on_timer - a file source's refresh: read it now, on the loop */
static void on_timer(void *arg)
{
	struct sipdance_chain_source *s = arg;
	time_t now = time(NULL);
	const char *why = NULL;
	int err = load(s, now, &why);

	ended(s, now, err, why);
}

/* stop - end the refresh under way without telling anyone */
static void stop(struct sipdance_chain_source *s)
{
	sd_dns_ask_cancel(s->ask);
	s->ask = NULL;
	if (s->timer)
		sd_timer_set(s->conf.loop, s->timer, -1);
	s->pending = 0;
}

/* sipdance_chain_source_free - free a source */
void sipdance_chain_source_free(struct sipdance_chain_source *s)
{
	if (!s)
		return;
	stop(s);
	sd_timer_free(s->conf.loop, s->timer);
	sipdance_dns_free(s->dns);
	free(s->resolver);
	free(s->file);
	free(s->host);
	free(s->ext);
	sipdance_anchor_free(s->ta);
	sipdance_dane_free(s->dane);
	sk_X509_pop_free(s->cert, X509_free);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

/* dup - strdup of an optional string; 0 or ENOMEM */
static int dup(char **out, const char *s)
{
	*out = NULL;
	return s && !(*out = strdup(s)) ? ENOMEM : 0;
}

/* on_loop - what refreshes on conf.loop need: a resolver there, or a timer for a file */
static int on_loop(struct sipdance_chain_source *s, const char **why)
{
	struct sipdance_dns_conf dc = { .size = sizeof(dc), .resolver = s->resolver, .anchor = s->ta,
					.timeout_ms = s->conf.timeout_ms, .cache_size = 1,
					.loop = s->conf.loop };

	if (!s->conf.loop)
		return 0;
	if (s->file)
		return (s->timer = sd_timer_alloc(s->conf.loop, on_timer, s)) ? 0 :
		       sd_fail(why, "out of memory", ENOMEM);
	return sipdance_dns_alloc(&s->dns, &dc, why);
}

/* sipdance_chain_source_alloc - a source and its first load */
int sipdance_chain_source_alloc(struct sipdance_chain_source **out,
				const struct sipdance_chain_source_conf *conf, const char **why)
{
	struct sipdance_chain_source_conf cf;
	struct sipdance_chain_source *s;
	int err;

	if ((err = SD_CONF(&cf, conf, why)))
		return err;
	conf = &cf;
	if (!out || (!conf->owner && (!conf->host || !conf->port)) ||
	    (!conf->resolver == !conf->file))
		return sd_fail(why, "need a TLSA owner (or a host and a port), and either a resolver or a "
			    "file", EINVAL);
	if (!(s = calloc(1, sizeof(*s))))
		return sd_fail(why, "out of memory", ENOMEM);
	pthread_mutex_init(&s->lock, NULL);
	s->conf = *conf;
	if (dup(&s->resolver, conf->resolver) || dup(&s->file, conf->file) ||
	    dup(&s->host, conf->owner ? conf->owner : conf->host)) {
		sipdance_chain_source_free(s);
		return sd_fail(why, "out of memory", ENOMEM);
	}
	/* a client's name is its whole TLSA owner; the borrowed one points at our copy */
	if (conf->owner) {
		s->conf.owner = s->host;
		snprintf(s->owner, sizeof(s->owner), "%s", s->host);
	} else {
		snprintf(s->owner, sizeof(s->owner), "_%u._tcp.%s", conf->port, s->host);
	}
	if ((err = sd_anchor_take(&s->ta, conf->anchor, conf->trust_anchor, why)) ||
	    (err = sipdance_dane_alloc(&s->dane, conf->ca_file) ?
		   sd_fail(why, "CA file unreadable or without a certificate", EINVAL) : 0) ||
	    (err = on_loop(s, why)) || (err = load(s, time(NULL), why))) {
		sipdance_chain_source_free(s);
		return err;
	}
	*out = s;
	return 0;
}

/* sipdance_chain_source_refresh - load again (blocking); keep the old chain on failure */
int sipdance_chain_source_refresh(struct sipdance_chain_source *s, const char **why)
{
	time_t now = time(NULL);
	int err;

	if (!s)
		return sd_fail(why, "no source", EINVAL);
	if (s->pending)
		return sd_fail(why, "a refresh is under way on the loop", EBUSY);
	if ((err = load(s, now, why))) {
		pthread_mutex_lock(&s->lock);
		s->next = now + RETRY_AFTER;
		pthread_mutex_unlock(&s->lock);
	}
	return err;
}

/* sipdance_chain_source_refresh_start - refresh on the loop; @done tells how it ended */
int sipdance_chain_source_refresh_start(struct sipdance_chain_source *s,
					sipdance_chain_source_done_fn *done, void *arg,
					const char **why)
{
	int err;

	if (!s || !done || !s->conf.loop)
		return sd_fail(why, "no source, no callback, or no loop configured", EINVAL);
	stop(s);
	s->done = done;
	s->done_arg = arg;
	if (s->timer)
		sd_timer_set(s->conf.loop, s->timer, 0);
	else if ((err = sd_dns_ask(s->dns, s->owner, GETDNS_RRTYPE_TLSA, on_reply, s, &s->ask))) {
		pthread_mutex_lock(&s->lock);
		s->next = time(NULL) + RETRY_AFTER;
		pthread_mutex_unlock(&s->lock);
		return sd_fail(why, err == ENOMEM ? "out of memory" : "the resolver took no query", err);
	}
	s->pending = 1;
	return 0;
}

/* sipdance_chain_source_check_cert - whether the chain served now matches @cert */
int sipdance_chain_source_check_cert(const struct sipdance_chain_source *s, STACK_OF(X509) *cert,
				     const char **why)
{
	struct sipdance_chain_source *m = (struct sipdance_chain_source *)s;
	struct sipdance_chain_result r;
	const uint8_t *bare;
	uint8_t *ext;
	size_t len = 0, bare_len;
	uint16_t life;
	int err;

	if (!s || !cert || sk_X509_num(cert) < 1)
		return sd_fail(why, "no source or no certificate", EINVAL);
	if (!(ext = sd_chain_source_copy(m, time(NULL), &len)))
		return sd_fail(why, "no valid chain to match (expired or out of memory)", EBADMSG);
	if (!(err = sipdance_chain_ext_decode(ext, len, &life, &bare, &bare_len, why)) &&
	    !(err = sipdance_chain_validate(s->ta, bare, bare_len, s->owner, 0, &r))) {
		err = r.secure ? cert_matches(s, &r, cert, why)
			       : sd_fail(why, "own chain does not validate", EBADMSG);
		sipdance_chain_result_clear(&r);
	}
	free(ext);
	return err;
}

/* sipdance_chain_source_set_cert - hold every later load to @cert, if the current chain matches it */
int sipdance_chain_source_set_cert(struct sipdance_chain_source *s, STACK_OF(X509) *cert,
				   const char **why)
{
	STACK_OF(X509) *copy;
	int err;

	if ((err = sipdance_chain_source_check_cert(s, cert, why)))
		return err;
	if (!(copy = X509_chain_up_ref(cert)))
		return sd_fail(why, "out of memory", ENOMEM);
	pthread_mutex_lock(&s->lock);
	sk_X509_pop_free(s->cert, X509_free);
	s->cert = copy;
	pthread_mutex_unlock(&s->lock);
	return 0;
}

/* sipdance_chain_source_next_refresh - when to refresh; 0 while a refresh is under way */
time_t sipdance_chain_source_next_refresh(const struct sipdance_chain_source *s)
{
	return s && !s->pending ? s->next : 0;
}

/* sipdance_chain_source_get - the data to serve, or NULL once expired */
const uint8_t *sipdance_chain_source_get(const struct sipdance_chain_source *s, time_t now,
					 size_t *len)
{
	if (!now)
		now = time(NULL);
	if (!s || !s->ext || now >= s->expires)
		return NULL;
	if (len)
		*len = s->ext_len;
	return s->ext;
}

/* sd_chain_source_copy - a malloc'd copy of the data to serve at @now, or NULL */
uint8_t *sd_chain_source_copy(struct sipdance_chain_source *s, time_t now, size_t *len)
{
	uint8_t *copy = NULL;

	pthread_mutex_lock(&s->lock);
	if (s->ext && now < s->expires && (copy = malloc(s->ext_len))) {
		memcpy(copy, s->ext, s->ext_len);
		*len = s->ext_len;
	}
	pthread_mutex_unlock(&s->lock);
	return copy;
}

/* sd_chain_source_port - the port a source serves */
uint16_t sd_chain_source_port(const struct sipdance_chain_source *s)
{
	return s->conf.port;
}
