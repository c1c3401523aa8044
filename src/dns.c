/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * dns.c - DNSSEC-validated lookups through getdns in stub mode: one configured
 * resolver, a private trust anchor, a status per answer, shared in-flight
 * lookups ("flights"), CNAMEs followed hop by hop. The cache is dns_cache.c,
 * getdns' loop on the loop contract dns_loop.c, the judgement of replies
 * dns_diag.c; NAPTR takes its own path where getdns cannot validate it
 * (dns_naptr.c).
 */
#include "config.h"
#include "dns_int.h"
#include <time.h>

/* upstream - the getdns upstream list for "ADDR[@PORT]" */
static int upstream(const char *resolver, getdns_list **out, const char **why)
{
	char addr[INET6_ADDRSTRLEN + 1];
	const char *at, *end;
	uint8_t bin[16];
	unsigned long port = 53;
	getdns_bindata data = { 0, bin };
	getdns_dict *up = NULL;
	getdns_list *list = NULL;
	int v6 = 0, err = ENOMEM;
	char *p;

	if (!resolver || !*resolver)
		return sd_fail(why, "no resolver configured", EINVAL);
	at = strrchr(resolver, '@');
	end = at ? at : resolver + strlen(resolver);
	if ((size_t)(end - resolver) >= sizeof(addr))
		return sd_fail(why, "resolver address is not an IPv4 or IPv6 address", EINVAL);
	memcpy(addr, resolver, (size_t)(end - resolver));
	addr[end - resolver] = '\0';
	if (inet_pton(AF_INET, addr, bin) == 1)
		data.size = 4;
	else if (inet_pton(AF_INET6, addr, bin) == 1)
		data.size = 16, v6 = 1;
	else
		return sd_fail(why, "resolver address is not an IPv4 or IPv6 address", EINVAL);
	if (at) {
		errno = 0;
		port = strtoul(at + 1, &p, 10);
		if (at[1] < '0' || at[1] > '9' || *p || errno || port == 0 || port > 65535)
			return sd_fail(why, "resolver port is not a number 1-65535", EINVAL);
	}
	if (!(up = getdns_dict_create()) || !(list = getdns_list_create()))
		goto out;
	if (getdns_dict_util_set_string(up, "address_type", v6 ? "IPv6" : "IPv4") ||
	    getdns_dict_set_bindata(up, "address_data", &data) ||
	    getdns_dict_set_int(up, "port", (uint32_t)port) ||
	    getdns_list_set_dict(list, 0, up))
		goto out;
	getdns_dict_destroy(up);
	*out = list;
	return 0;
out:
	getdns_dict_destroy(up);
	getdns_list_destroy(list);
	return sd_fail(why, "out of memory", err);
}

/* sd_getdns_context_new - stub-mode validating context for one resolver */
int sd_getdns_context_new(struct getdns_context **out, const char *resolver,
			  const struct sipdance_anchor *ta, unsigned timeout_ms,
			  const char **why)
{
	getdns_context *ctx = NULL;
	getdns_list *ups = NULL;
	int err;

	if (!out || !ta)
		return sd_fail(why, "no output or no trust anchor", EINVAL);
	if ((err = upstream(resolver, &ups, why)))
		goto out;
	err = sd_fail(why, "cannot set up getdns context", ENOMEM);
	if (getdns_context_create(&ctx, 0) != GETDNS_RETURN_GOOD)
		goto out;
	if (getdns_context_set_resolution_type(ctx, GETDNS_RESOLUTION_STUB) ||
	    getdns_context_set_upstream_recursive_servers(ctx, ups) ||
	    getdns_context_set_dnssec_trust_anchors(ctx, sd_anchor_list(ta)) ||
	    getdns_context_set_appdata_dir(ctx, NO_APPDATA_DIR) ||
	    getdns_context_set_trust_anchors_verify_CA(ctx, "") ||
	    getdns_context_set_trust_anchors_verify_email(ctx, "") ||
	    getdns_context_set_timeout(ctx, timeout_ms ? timeout_ms : DEFAULT_TIMEOUT_MS))
		goto out;
	err = 0;
	*out = ctx;
	ctx = NULL;
out:
	if (ctx)
		getdns_context_destroy(ctx);
	getdns_list_destroy(ups);
	return err;
}


/* Flights */

/* Handed out when even a small answer cannot be allocated. */
static struct body oom_body = {
	UINT32_MAX / 2, SIPDANCE_DNS_INDETERMINATE, SIPDANCE_DNS_NONE, "", "", "out of memory", 0, NULL
};
static struct sipdance_dns_answer oom_answer = { UINT32_MAX / 2, 0, &oom_body };

int dns_naptr_verify(getdns_dict *raw, const char *owner, const char *signer,
			getdns_list *keys, char *why, size_t size);

/* flight_free - free a flight that has no waiters left */
/* mono_us - monotonic microseconds, for how long a flight took */
static uint64_t mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void flight_free(struct flight *f)
{
	TAILQ_REMOVE(&f->dns->flights, f, link);
	getdns_dict_destroy(f->raw);
	free(f);
}

/* dns_finish - make the answer, cache it, queue it for every waiter, end the flight */
void dns_finish(struct flight *f, struct draft *d, uint32_t ttl)
{
	struct sipdance_dns *dns = f->dns;
	struct sipdance_dns_query *q;
	struct body *b;

	if (d->status == SIPDANCE_DNS_BOGUS || d->status == SIPDANCE_DNS_INDETERMINATE) {
		d->rcode = SIPDANCE_DNS_NONE;
		d->n = 0;
		ttl = dns->neg_ttl;
	} else {
		d->why[0] = '\0';
	}
	if (!d->cname[0])
		snprintf(d->cname, sizeof(d->cname), "%s", f->cur);
	sd_log(SIPDANCE_LOG_DEBUG, "dns", "%s/%u: %s %s%s%s", f->name, f->type,
	       sipdance_dns_status_str(d->status), sipdance_dns_rcode_str(d->rcode),
	       d->why[0] ? ": " : "", d->why);
	if (dns->observe)
		dns->observe(dns->observe_arg, f->type, d->status, 0, mono_us() - f->started_us);
	if ((b = dns_body_new(f->name, d)))
		dns_cache_put(dns, f->name, f->type, b, ttl);
	else
		b = &oom_body;
	while ((q = TAILQ_FIRST(&f->waiters))) {
		TAILQ_REMOVE(&f->waiters, q, link);
		q->flight = NULL;
		if (!(q->ans = dns_answer_new(b, 0)))
			q->ans = &oom_answer;
		TAILQ_INSERT_TAIL(&dns->ready, q, link);
	}
	dns_body_unref(b);
	free(d->rr);
	d->rr = NULL;
	if (f->sending)
		f->finished = 1;
	else
		flight_free(f);
}

/* dns_fail_flight - end a flight with INDETERMINATE or BOGUS and a reason */
void dns_fail_flight(struct flight *f, enum sipdance_dns_status status, const char *why)
{
	struct draft d = { .status = status };

	snprintf(d.why, sizeof(d.why), "%s", why);
	dns_finish(f, &d, 0);
}

static void on_reply(getdns_context *ctx, getdns_callback_type_t type, getdns_dict *resp,
		     void *arg, getdns_transaction_t tid);

/* dns_sync_anchor - the anchor was reloaded: getdns validates with the new records from now on */
void dns_sync_anchor(struct sipdance_dns *dns)
{
	if (dns->ta_gen != sd_anchor_gen(dns->ta) &&
	    !getdns_context_set_dnssec_trust_anchors(dns->ctx, sd_anchor_list(dns->ta)))
		dns->ta_gen = sd_anchor_gen(dns->ta);
}

/* dns_send_step - ask getdns for what the flight's step needs */
void dns_send_step(struct flight *f)
{
	struct sipdance_dns *dns = f->dns;
	char fqdn[NAMELEN + 2];
	getdns_transaction_t tid;
	getdns_return_t r;
	uint16_t type = f->type;
	getdns_dict *ext = dns->ext_val;
	const char *name = f->cur;

	switch (f->step) {
	case STEP_CNAME:
		type = GETDNS_RRTYPE_CNAME;
		break;
#ifdef SD_NAPTR_WORKAROUND
	case STEP_RAW:
		ext = dns->ext_raw;
		break;
	case STEP_KEYS:
		type = GETDNS_RRTYPE_DNSKEY;
		name = f->signer;
		break;
#endif
	case STEP_MAIN:
		break;
	}
	snprintf(fqdn, sizeof(fqdn), "%s.", name);
	dns_sync_anchor(dns);
	f->busy = 1;
	f->sending++;
	r = getdns_general(dns->ctx, fqdn, type, ext, f, &tid, on_reply);
	f->sending--;
	if (f->finished && !f->sending) {
		flight_free(f);
		return;
	}
	if (r != GETDNS_RETURN_GOOD && f->busy) {
		char why[WHYLEN];

		f->busy = 0;
		snprintf(why, sizeof(why), "getdns: %s", getdns_get_errorstr_by_id(r));
		dns_fail_flight(f, SIPDANCE_DNS_INDETERMINATE, why);
	}
}

/* dns_collect - decode the records of @type owned by @owner into @d */
int dns_collect(getdns_list *answer, const char *owner, uint16_t type, struct draft *d)
{
	struct sipdance_dns_rr rr;
	char name[NAMELEN];
	getdns_dict *dict;

	for (size_t i = 0; !getdns_list_get_dict(answer, i, &dict); i++) {
		if (dns_rr_type(dict) != type || dns_rr_name(dict, "name", name, sizeof(name)) ||
		    strcmp(name, owner))
			continue;
		if (sd_dns_rr_decode(dict, &rr)) {
			sd_log(SIPDANCE_LOG_WARN, "dns", "%s/%u: undecodable record skipped", owner, type);
			continue;
		}
		if (dns_draft_add(d, &rr))
			return ENOMEM;
	}
	return 0;
}

/* dns_next_hop - continue a chain at @target with the step for the asked type */
void dns_next_hop(struct flight *f, const char *target, int hops)
{
	if ((f->hops += hops) > MAX_HOPS) {
		dns_fail_flight(f, SIPDANCE_DNS_INDETERMINATE, "CNAME chain longer than 8");
		return;
	}
	snprintf(f->cur, sizeof(f->cur), "%s", target);
	f->step = FIRST_STEP(f->type);
	dns_send_step(f);
}

/*
 * main_reply - the validated reply to cur/type. Cases:
 *  - BOGUS with only a CNAME and no records at its target (a stub asking an
 *    authoritative server gets no more): check that CNAME alone, then go on
 *  - BOGUS otherwise: BOGUS with a diagnosis; INDETERMINATE: INDETERMINATE
 *  - SECURE/INSECURE ending in a CNAME without records: next hop
 *  - otherwise the answer, its status the worst over all hops
 */
static void main_reply(struct flight *f, getdns_dict *resp, struct reply *r)
{
	struct draft d = { .status = r->status };
	char end[NAMELEN];
	int hops = 0, dangling;
	uint32_t ttl;

	snprintf(end, sizeof(end), "%s", f->cur);
	if (f->type != SIPDANCE_DNS_CNAME)
		dns_chain_end(r->answer, end, &hops);
	if (dns_collect(r->answer, end, f->type, &d)) {
		free(d.rr);
		dns_fail_flight(f, SIPDANCE_DNS_INDETERMINATE, "out of memory");
		return;
	}
	dangling = hops > 0 && d.n == 0 && r->rcode == GETDNS_RCODE_NOERROR;
	if (r->status == SIPDANCE_DNS_BOGUS && dangling) {
		free(d.rr);
		f->step = STEP_CNAME;
		dns_send_step(f);
		return;
	}
	if (r->status == SIPDANCE_DNS_BOGUS)
		dns_diagnose(resp, r, d.why, sizeof(d.why));
	if (r->status == SIPDANCE_DNS_BOGUS || r->status == SIPDANCE_DNS_INDETERMINATE) {
		if (r->status == SIPDANCE_DNS_INDETERMINATE)
			snprintf(d.why, sizeof(d.why), "DNSSEC status indeterminate");
		dns_finish(f, &d, 0);
		return;
	}
	f->hop_status = dns_worse(f->hop_status, r->status);
	f->ttl = dns_min_ttl(r->answer, f->ttl);
	if (dangling) {
		free(d.rr);
		dns_next_hop(f, end, hops);
		return;
	}
	if (f->hops + hops > MAX_HOPS) {
		free(d.rr);
		dns_fail_flight(f, SIPDANCE_DNS_INDETERMINATE, "CNAME chain longer than 8");
		return;
	}
	d.status = f->hop_status;
	snprintf(d.cname, sizeof(d.cname), "%s", end);
	ttl = f->ttl;
	if (d.n) {
		d.rcode = SIPDANCE_DNS_FOUND;
	} else {
		d.rcode = r->rcode == GETDNS_RCODE_NXDOMAIN ? SIPDANCE_DNS_NXDOMAIN
			: SIPDANCE_DNS_NODATA;
		if (dns_neg_ttl(r->tree, f->dns->neg_ttl) < ttl)
			ttl = dns_neg_ttl(r->tree, f->dns->neg_ttl);
	}
	dns_finish(f, &d, ttl);
}

/* cname_reply - the validated reply to cur/CNAME: one hop of a chain */
static void cname_reply(struct flight *f, getdns_dict *resp, struct reply *r)
{
	struct draft d = { .status = r->status };
	int found;

	if (r->status == SIPDANCE_DNS_BOGUS || r->status == SIPDANCE_DNS_INDETERMINATE) {
		if (r->status == SIPDANCE_DNS_BOGUS)
			dns_diagnose(resp, r, d.why, sizeof(d.why));
		else
			snprintf(d.why, sizeof(d.why), "DNSSEC status indeterminate");
		dns_finish(f, &d, 0);
		return;
	}
	if (dns_collect(r->answer, f->cur, GETDNS_RRTYPE_CNAME, &d)) {
		free(d.rr);
		dns_fail_flight(f, SIPDANCE_DNS_INDETERMINATE, "out of memory");
		return;
	}
	found = d.n > 0;
	if (found)
		snprintf(d.cname, sizeof(d.cname), "%s", d.rr[0].u.cname.target);
	free(d.rr);
	if (!found) {
		dns_fail_flight(f, SIPDANCE_DNS_BOGUS, "DNSSEC validation failed");
		return;
	}
	f->hop_status = dns_worse(f->hop_status, r->status);
	f->ttl = dns_min_ttl(r->answer, f->ttl);
	dns_next_hop(f, d.cname, 1);
}

/* on_reply - getdns is done with a request of a flight */
static void on_reply(getdns_context *ctx, getdns_callback_type_t type, getdns_dict *resp,
		     void *arg, getdns_transaction_t tid)
{
	struct flight *f = arg;
	struct reply r;
	char why[WHYLEN];
	int kept = 0;

	(void)ctx;
	(void)tid;
	if (type == GETDNS_CALLBACK_CANCEL) {
		getdns_dict_destroy(resp);
		return;
	}
	f->busy = 0;
	if (dns_parse_reply(f->dns, type, resp, !UNVALIDATED(f), &r, why, sizeof(why))) {
		sd_log(SIPDANCE_LOG_DEBUG, "dns", "%s/%u step %d at %s: %s", f->name, f->type,
		       f->step, f->cur, why);
		dns_fail_flight(f, SIPDANCE_DNS_INDETERMINATE, why);
	} else {
		sd_log(SIPDANCE_LOG_DEBUG, "dns", "%s/%u step %d at %s: rcode %u, %s", f->name,
		       f->type, f->step, f->cur, r.rcode, UNVALIDATED(f) ? "unvalidated"
		       : sipdance_dns_status_str(r.status));
		switch (f->step) {
		case STEP_MAIN:
			main_reply(f, resp, &r);
			break;
		case STEP_CNAME:
			cname_reply(f, resp, &r);
			break;
#ifdef SD_NAPTR_WORKAROUND
		case STEP_RAW:
			kept = dns_raw_reply(f, resp, &r);
			break;
		case STEP_KEYS:
			dns_keys_reply(f, resp, &r);
			break;
#endif
		}
	}
	if (!kept)
		getdns_dict_destroy(resp);
}

/* Resolver */

/* sipdance_dns_alloc - resolver on a validating stub-mode getdns context */
int sipdance_dns_alloc(struct sipdance_dns **out, const struct sipdance_dns_conf *conf,
		       const char **why)
{
	struct sipdance_dns *dns;
	struct sipdance_dns_conf cf;
	getdns_dict *opt = NULL, *hdr = NULL;
	int err;

	if ((err = SD_CONF(&cf, conf, why)))
		return err;
	conf = &cf;
	if (!out)
		return sd_fail(why, "no place for the resolver", EINVAL);
	if (!(dns = calloc(1, sizeof(*dns))))
		return sd_fail(why, "out of memory", ENOMEM);
	dns->loop.vmt = &dns_loop_vmt;
	if (!(dns->host = conf->loop) && (err = sipdance_loop_poll_alloc(&dns->own))) {
		free(dns);
		return sd_fail(why, "out of memory", err);
	}
	if (!dns->host)
		dns->host = dns->own;
	TAILQ_INIT(&dns->evs);
	TAILQ_INIT(&dns->flights);
	TAILQ_INIT(&dns->ready);
	TAILQ_INIT(&dns->asking);
	TAILQ_INIT(&dns->answered);
	TAILQ_INIT(&dns->lru);
	dns->timer_at = NEVER;
	dns->clock = dns_default_clock;
	dns->timeout_ms = conf->timeout_ms ? conf->timeout_ms : DEFAULT_TIMEOUT_MS;
	dns->cache_size = conf->cache_size ? conf->cache_size : DEFAULT_CACHE_SIZE;
	dns->max_ttl = conf->max_ttl ? conf->max_ttl : DEFAULT_MAX_TTL;
	dns->neg_ttl = conf->neg_ttl ? conf->neg_ttl : DEFAULT_NEG_TTL;
	dns->observe = conf->observe;
	dns->observe_arg = conf->observe_arg;
	/* reasons name the resolver as ADDR@PORT, the port always */
	snprintf(dns->resolver, sizeof(dns->resolver), "%s%s", conf->resolver ? conf->resolver : "",
		 conf->resolver && !strchr(conf->resolver, '@') ? "@53" : "");
	for (dns->nbuckets = 16; dns->nbuckets < dns->cache_size && dns->nbuckets < (1u << 20);)
		dns->nbuckets *= 2;
	if ((err = sd_anchor_take(&dns->ta, conf->anchor, conf->trust_anchor, why)) ||
	    (err = sd_getdns_context_new(&dns->ctx, conf->resolver, dns->ta, dns->timeout_ms, why)))
		goto out;
	err = sd_fail(why, "out of memory", ENOMEM);
	if (!(dns->timer = sd_timer_alloc(dns->host, dns_on_timer, dns)) ||
	    !(dns->bucket = calloc(dns->nbuckets, sizeof(*dns->bucket))) ||
	    !(dns->ext_val = getdns_dict_create()) || !(dns->ext_raw = getdns_dict_create()) ||
	    !(opt = getdns_dict_create()) || !(hdr = getdns_dict_create()) ||
	    getdns_dict_set_int(dns->ext_val, "dnssec_return_all_statuses", GETDNS_EXTENSION_TRUE) ||
	    getdns_dict_set_int(dns->ext_val, "dnssec_return_validation_chain", GETDNS_EXTENSION_TRUE) ||
	    getdns_dict_set_int(opt, "do_bit", 1) ||
	    getdns_dict_set_dict(dns->ext_raw, "add_opt_parameters", opt) ||
	    getdns_dict_set_int(hdr, "cd", 1) || getdns_dict_set_dict(dns->ext_raw, "header", hdr) ||
	    getdns_context_set_eventloop(dns->ctx, &dns->loop))
		goto out;
	getdns_dict_destroy(opt);
	getdns_dict_destroy(hdr);
	*out = dns;
	return 0;
out:
	getdns_dict_destroy(opt);
	getdns_dict_destroy(hdr);
	sipdance_dns_free(dns);
	return err;
}

/* sipdance_dns_free - cancel everything, tell the host to stop watching, free */
void sipdance_dns_free(struct sipdance_dns *dns)
{
	struct sipdance_dns_query *q;
	struct sd_dns_ask *a;
	struct flight *f;
	struct ev *e;

	if (!dns)
		return;
	dns_detach_host(dns);
	if (dns->ctx)
		getdns_context_destroy(dns->ctx);
	dns->ctx = NULL;
	while ((f = TAILQ_FIRST(&dns->flights))) {
		while ((q = TAILQ_FIRST(&f->waiters))) {
			TAILQ_REMOVE(&f->waiters, q, link);
			free(q);
		}
		flight_free(f);
	}
	while ((q = TAILQ_FIRST(&dns->ready))) {
		TAILQ_REMOVE(&dns->ready, q, link);
		sipdance_dns_answer_unref(q->ans);
		free(q);
	}
	while ((a = TAILQ_FIRST(&dns->asking)) || (a = TAILQ_FIRST(&dns->answered)))
		sd_dns_ask_cancel(a);
	while ((e = TAILQ_FIRST(&dns->evs))) {
		TAILQ_REMOVE(&dns->evs, e, link);
		free(e);
	}
	if (dns->bucket)
		sipdance_dns_flush(dns);
	free(dns->bucket);
	free(dns->watch);
	sipdance_loop_free(dns->own);
	getdns_dict_destroy(dns->ext_val);
	getdns_dict_destroy(dns->ext_raw);
	sipdance_anchor_free(dns->ta);
	free(dns);
}

/* dns_deliver - run the callbacks of the answered queries, in order, then of the raw ones */
void dns_deliver(struct sipdance_dns *dns)
{
	struct sipdance_dns_query *q;
	struct sd_dns_ask *r;

	while ((q = TAILQ_FIRST(&dns->ready))) {
		struct sipdance_dns_answer *a = q->ans;
		sipdance_dns_cb *cb = q->cb;
		void *arg = q->arg;

		TAILQ_REMOVE(&dns->ready, q, link);
		free(q);
		cb(arg, a);
		sipdance_dns_answer_unref(a);
	}
	while ((r = TAILQ_FIRST(&dns->answered))) {
		TAILQ_REMOVE(&dns->answered, r, link);
		r->cb(r->arg, r->resp);
		free(r);
	}
}

/* supported - whether answers of @type can be decoded */
static int supported(uint16_t type)
{
	switch (type) {
	case SIPDANCE_DNS_A:
	case SIPDANCE_DNS_CNAME:
	case SIPDANCE_DNS_AAAA:
	case SIPDANCE_DNS_SRV:
	case SIPDANCE_DNS_NAPTR:
	case SIPDANCE_DNS_TLSA:
		return 1;
	default:
		return 0;
	}
}

/* sipdance_dns_lookup - answer from the cache, a flight in progress, or a new flight */
int sipdance_dns_lookup(struct sipdance_dns *dns, const char *name, uint16_t type,
			sipdance_dns_cb *cb, void *arg, struct sipdance_dns_query **qp)
{
	char key[NAMELEN];
	struct sipdance_dns_query *q;
	struct flight *f;
	struct body *b;

	if (!dns || !cb || !supported(type) || dns_norm_name(name, key, sizeof(key)))
		return EINVAL;
	if (!(q = calloc(1, sizeof(*q))))
		return ENOMEM;
	q->dns = dns;
	q->cb = cb;
	q->arg = arg;
	if (qp)
		*qp = q;
	if ((b = dns_cache_get(dns, key, type))) {
		if (!(q->ans = dns_answer_new(b, 1))) {
			free(q);
			return ENOMEM;
		}
		if (dns->observe)
			dns->observe(dns->observe_arg, type, b->status, 1, 0);
		TAILQ_INSERT_TAIL(&dns->ready, q, link);
		dns_tell_host(dns);
		return 0;
	}
	TAILQ_FOREACH(f, &dns->flights, link)
		if (f->type == type && !strcmp(f->name, key))
			break;
	if (f) {
		q->flight = f;
		TAILQ_INSERT_TAIL(&f->waiters, q, link);
		return 0;
	}
	if (!(f = calloc(1, sizeof(*f) + strlen(key) + 1))) {
		free(q);
		return ENOMEM;
	}
	strcpy(f->name, key);
	strcpy(f->cur, key);
	f->dns = dns;
	f->type = type;
	f->step = FIRST_STEP(type);
	f->hop_status = SIPDANCE_DNS_SECURE;
	f->ttl = dns->max_ttl;
	f->started_us = mono_us();
	TAILQ_INIT(&f->waiters);
	TAILQ_INSERT_TAIL(&dns->flights, f, link);
	q->flight = f;
	TAILQ_INSERT_TAIL(&f->waiters, q, link);
	sd_log(SIPDANCE_LOG_DEBUG, "dns", "%s/%u: asking %s", key, type, dns->resolver);
	dns_send_step(f);
	dns_tell_host(dns);
	return 0;
}

/* sipdance_dns_cancel - forget a pending lookup */
void sipdance_dns_cancel(struct sipdance_dns_query *q)
{
	struct sipdance_dns *dns;

	if (!q)
		return;
	dns = q->dns;
	if (q->flight) {
		TAILQ_REMOVE(&q->flight->waiters, q, link);
	} else {
		TAILQ_REMOVE(&dns->ready, q, link);
		sipdance_dns_answer_unref(q->ans);
	}
	free(q);
	dns_tell_host(dns);
}

/* The result of a blocking lookup. */
struct sync_result {
	int done;
	struct sipdance_dns_answer *ans;
};

/* sync_cb - keep the answer of a blocking lookup */
static void sync_cb(void *arg, const struct sipdance_dns_answer *a)
{
	struct sync_result *r = arg;

	r->done = 1;
	r->ans = sipdance_dns_answer_ref(a);
}

/* sipdance_dns_lookup_sync - a lookup run to its end on the resolver's poll loop */
int sipdance_dns_lookup_sync(struct sipdance_dns *dns, const char *name, uint16_t type,
			     struct sipdance_dns_answer **out)
{
	struct sync_result r = { 0, NULL };
	struct sipdance_dns_query *q;
	int err;

	if (!out)
		return EINVAL;
	if ((err = sipdance_dns_lookup(dns, name, type, sync_cb, &r, &q)))
		return err;
	/* every lookup ends by its timeout, so the loop never runs dry before */
	if ((err = sipdance_loop_run(dns->host, &r.done, -1))) {
		sipdance_dns_cancel(q);
		return err == EINVAL ? EINVAL : EIO;
	}
	*out = r.ans;
	return 0;
}

/* ask_reply - getdns answered a raw query (or gave up): queued for dns_deliver */
static void ask_reply(getdns_context *ctx, getdns_callback_type_t type, getdns_dict *resp, void *arg,
		      getdns_transaction_t tid)
{
	struct sd_dns_ask *a = arg;

	(void)ctx;
	(void)tid;
	if (type == GETDNS_CALLBACK_CANCEL) {
		getdns_dict_destroy(resp);
		return;
	}
	a->busy = 0;
	a->resp = resp;
	TAILQ_REMOVE(&a->dns->asking, a, link);
	TAILQ_INSERT_TAIL(&a->dns->answered, a, link);
}

/* sd_dns_ask - one validated query whose whole reply goes to @cb from the loop */
int sd_dns_ask(struct sipdance_dns *dns, const char *name, uint16_t type, sd_dns_reply_fn *cb,
	       void *arg, struct sd_dns_ask **out)
{
	struct sd_dns_ask *a = calloc(1, sizeof(*a));
	getdns_return_t r;

	if (!a)
		return ENOMEM;
	a->dns = dns;
	a->cb = cb;
	a->arg = arg;
	a->busy = 1;
	TAILQ_INSERT_TAIL(&dns->asking, a, link);
	dns_sync_anchor(dns);
	r = getdns_general(dns->ctx, name, type, dns->ext_val, a, &a->tid, ask_reply);
	if (r != GETDNS_RETURN_GOOD && a->busy) {
		TAILQ_REMOVE(&dns->asking, a, link);
		free(a);
		return r == GETDNS_RETURN_MEMORY_ERROR ? ENOMEM : EIO;
	}
	*out = a;
	dns_tell_host(dns);
	return 0;
}

/* sd_dns_ask_cancel - forget a raw query: its callback will not run */
void sd_dns_ask_cancel(struct sd_dns_ask *a)
{
	struct sipdance_dns *dns;

	if (!a)
		return;
	dns = a->dns;
	if (a->busy) {
		TAILQ_REMOVE(&dns->asking, a, link);
		if (dns->ctx)
			getdns_cancel_callback(dns->ctx, a->tid);
	} else {
		TAILQ_REMOVE(&dns->answered, a, link);
		getdns_dict_destroy(a->resp);
	}
	free(a);
	if (dns->ctx)
		dns_tell_host(dns);
}
