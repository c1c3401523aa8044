/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fed.c - federation: requests to other domains and requests claiming to
 * come from them. This file holds the object (resolver, policy, verifier),
 * the RFC 3263 location both directions start with, and the RFC 9102 chains
 * we serve (and the one we ship as a DANCE client); fed_out.c sends over DANE-authenticated connections, fed_in.c
 * decides whether a TLS client speaks for the domain it claims.
 */
#include "fed_int.h"

/* source - our chain number @i: those we serve, then the one we ship; NULL past them */
static struct sipdance_chain_source *source(const struct px_fed *f, size_t i)
{
	return i < f->nchain_src ? f->chain_src[i] : i == f->nchain_src ? f->client_src : NULL;
}

/* chain_done - a refresh of our chain @src ended: logged, the next one timed;
 * the SIGHUP that waits for its refreshes goes on once they all have */
static void chain_done(void *arg, struct sipdance_chain_source *src, int err, const char *why)
{
	struct px_fed *f = arg;
	const char *role = src == f->client_src ? "shipped" : "served";
	void (*reloaded)(void *) = f->reloaded;
	size_t i, len = 0;
	int hup;

	for (i = 0; source(f, i) != src; i++)
		;
	hup = f->chain_hup >> i & 1;
	f->chain_hup &= ~(1u << i);
	if (err)
		px_log(hup ? SIPDANCE_LOG_ERR : SIPDANCE_LOG_WARN, "chain",
		       "refresh of our DNSSEC chain failed: %s (%s): %s", why ? why : strerror(err),
		       sipdance_chain_source_get(src, 0, &len) ? "the current one is still valid" :
		       "none any more", role);
	else if (sipdance_chain_source_get(src, 0, &len))
		px_log(SIPDANCE_LOG_INFO, "chain", "our DNSSEC chain refreshed (%zu bytes, %s): %s", len,
		       hup ? "SIGHUP" : "timer", role);
	fed_chain_schedule(f);
	if (!f->chain_hup && reloaded) {
		f->reloaded = NULL;
		reloaded(f->reloaded_arg);
	}
}

/* chain_update - start the refresh of our chains that are due, or of @all
 * (SIGHUP); each runs on the loop and ends in chain_done, the current chain
 * served meanwhile (an expired one never is) */
static void chain_update(struct px_fed *f, int all)
{
	struct sipdance_chain_source *src;
	time_t now = time(NULL), t;
	const char *why = NULL;
	size_t len = 0;

	for (size_t i = 0; (src = source(f, i)); i++) {
		const char *role = src == f->client_src ? "shipped" : "served";

		if (!all && (!(t = sipdance_chain_source_next_refresh(src)) || t > now))
			continue;
		if (sipdance_chain_source_refresh_start(src, chain_done, f, &why)) {
			px_log(all ? SIPDANCE_LOG_ERR : SIPDANCE_LOG_WARN, "chain",
			       "refresh of our DNSSEC chain failed: %s (%s): %s", why ? why : "?",
			       sipdance_chain_source_get(src, now, &len) ? "the current one is still valid"
			       : "none any more", role);
			f->chain_hup &= ~(1u << i);
			continue;
		}
		f->chain_hup = all ? f->chain_hup | 1u << i : f->chain_hup & ~(1u << i);
		px_log(SIPDANCE_LOG_INFO, "chain", "refreshing our DNSSEC chain (%s): %s",
		       all ? "SIGHUP" : "timer", role);
	}
	fed_chain_schedule(f);
}

/* chain_refresh - the refresh timer fired */
static void chain_refresh(struct px_proxy *px, su_timer_t *t, void *arg)
{
	chain_update(arg, 0);
}

/* fed_chain_schedule - arm the refresh timer (made on first use) */
void fed_chain_schedule(struct px_fed *f)
{
	struct sipdance_chain_source *src;
	time_t next = 0, now = time(NULL), t;

	for (size_t i = 0; (src = source(f, i)); i++)
		if ((t = sipdance_chain_source_next_refresh(src)) && (!next || t < next))
			next = t;
	if (next && !f->chain_timer && !(f->chain_timer = su_timer_create(su_root_task(f->root), 0)))
		px_log(SIPDANCE_LOG_ERR, "chain", "no timer to refresh our DNSSEC chains: out of memory");
	else if (next)
		su_timer_set_interval(f->chain_timer, chain_refresh, f,
				      next > now ? (su_duration_t)(next - now) * 1000 : 1000);
}

/* cert_chains - check (@set 0) or hold (@set 1) every chain we serve to
 * @cert: 0, or an errno with the first failing chain's reason in @why */
static int cert_chains(struct px_fed *f, STACK_OF(X509) *cert, int set, char *why, size_t whysize)
{
	struct sipdance_chain_source *src;
	const char *w = NULL;
	int err = 0;

	for (size_t i = 0; !err && (src = source(f, i)); i++)
		err = set ? sipdance_chain_source_set_cert(src, cert, &w)
			  : sipdance_chain_source_check_cert(src, cert, &w);
	if (err)
		snprintf(why, whysize, "%s", w ? w : strerror(err));
	return err;
}

/* px_fed_cert_check - whether @cert matches the chains we serve */
int px_fed_cert_check(struct px_fed *f, STACK_OF(X509) *cert, char *why, size_t whysize)
{
	return cert_chains(f, cert, 0, why, whysize);
}

/* px_fed_cert_set - hold the chains we serve to @cert from now on */
int px_fed_cert_set(struct px_fed *f, STACK_OF(X509) *cert, char *why, size_t whysize)
{
	return cert_chains(f, cert, 1, why, whysize);
}

/* tls_port - the port of a TLS --listen URI (default 5061) */
static uint16_t tls_port(const char *uri)
{
	const char *p = strrchr(uri, ']'), *colon;

	colon = strchr(p ? p : strchr(uri, ':') + 1, ':');
	return colon ? (uint16_t)atoi(colon + 1) : 5061;
}

/* chain_setup - RFC 9102: ask peers for their chain (--chain prefer|required)
 * and serve ours (host --client-name, one per TLS listener) */
static int chain_setup(struct px_fed *f, char *why, size_t whysize)
{
	const struct px_conf *conf = f->conf;
	struct sipdance_chain_client_conf cc = { .size = sizeof(cc), .anchor = f->anchor,
						 .pin_file = conf->chain_pins, .ca_file = conf->ca_file };
	struct sipdance_chain_source_conf sc = { .size = sizeof(sc), .anchor = f->anchor,
						 .resolver = conf->resolver, .host = conf->client_name,
						 .lifetime = (uint16_t)conf->chain_lifetime,
						 .refresh_s = conf->chain_refresh, .ca_file = conf->ca_file,
						 .timeout_ms = conf->dns_timeout_ms, .loop = f->loop };
	STACK_OF(X509) *cert = NULL;
	EVP_PKEY *key = NULL;
	const char *w = NULL;
	size_t k = 0, len = 0;
	int err;

	if (sipdance_chain_policy_parse(conf->chain ? conf->chain : "prefer", &f->chain_policy) ||
	    f->chain_policy == SIPDANCE_CHAIN_OFF || !conf->resolver)
		return 0;
	cc.policy = f->chain_policy;
	if ((err = sipdance_chain_client_alloc(&f->chain_client, &cc, &w)) ||
	    (err = px_hook_chain_client(f->hook, f->chain_client))) {
		snprintf(why, whysize, "--chain: %s", w ? w : strerror(err));
		return err;
	}
	/* our own chain needs our host name: the name peers send as SNI; a
	 * chain whose TLSA our certificate does not match would make every peer
	 * that uses it refuse us: never served, the proxy does not start */
	if (conf->client_name && conf->cert && conf->key &&
	    px_hook_read_cert(conf->cert, conf->key, &cert, &key, why, whysize))
		return EINVAL;
	EVP_PKEY_free(key);
	for (size_t i = 0; conf->client_name && i < conf->nlisten; i++) {
		const char *u = conf->listen[i];
		struct sipdance_chain_source **src = &f->chain_src[f->nchain_src];

		if (strncasecmp(u, "sips:", 5) && !strstr(u, "transport=tls"))
			continue;
		sc.port = tls_port(u);
		if ((err = sipdance_chain_source_alloc(src, &sc, &w))) {
			px_log(SIPDANCE_LOG_WARN, "chain", "no DNSSEC chain for _%u._tcp.%s: %s",
			       sc.port, sc.host, w ? w : strerror(err));
		} else if ((cert && (err = sipdance_chain_source_set_cert(*src, cert, &w))) ||
			   (err = px_hook_chain_serve(f->hook, k, *src))) {
			sipdance_chain_source_free(*src);
			snprintf(why, whysize, "--chain: %s", w ? w : strerror(err));
			sk_X509_pop_free(cert, X509_free);
			return err;
		} else {
			sipdance_chain_source_get(f->chain_src[f->nchain_src++], 0, &len);
			px_log(SIPDANCE_LOG_INFO, "chain", "serving our DNSSEC chain for _%u._tcp.%s "
			       "(%zu bytes, lifetime %u h)", sc.port, sc.host, len, conf->chain_lifetime);
		}
		w = NULL;
		k++;
	}
	sk_X509_pop_free(cert, X509_free);
	fed_chain_schedule(f);
	return 0;
}

/* px_fed_alloc - resolver, policy, verifier; federation is refused without a resolver */
int px_fed_alloc(struct px_fed **out, su_root_t *root, struct sipdance_loop *loop,
		 nta_agent_t *agent, struct px_hook *hook,
		 struct px_stamp *stamp, const struct px_self *me, const struct px_conf *conf,
		 char *why, size_t whysize)
{
	struct px_fed *f = calloc(1, sizeof(*f));
	struct sipdance_dns_conf dc = { .size = sizeof(dc) };
	const char *dwhy = NULL;
	int err;

	if (!f)
		return ENOMEM;
	f->root = root;
	f->loop = loop;
	f->agent = agent;
	f->hook = hook;
	f->stamp = stamp;
	f->me = me;
	f->conf = conf;
	*out = f;
	if ((err = sipdance_policy_alloc(&f->policy, conf->dane_mode)))
		return err;
	if ((err = sipdance_dane_alloc(&f->dane, conf->ca_file))) {
		snprintf(why, whysize, "--ca-file %s: %s", conf->ca_file ? conf->ca_file : "",
			 err == ENOENT ? "cannot be read" : "holds no certificate");
		return err;
	}
	if (conf->trust_anchor && (err = sipdance_anchor_load(&f->anchor, conf->trust_anchor, &dwhy))) {
		snprintf(why, whysize, "--trust-anchor %s: %s", conf->trust_anchor, dwhy);
		return err;
	}
	if (!conf->resolver)
		return fed_in_setup(f, why, whysize); /* our name and chain file only */
	dc.resolver = conf->resolver;
	dc.anchor = f->anchor;
	dc.loop = loop;
	dc.neg_ttl = conf->dns_failure_ttl;
	dc.observe = px_metrics_dns;
	dc.timeout_ms = conf->dns_timeout_ms;
	if ((err = sipdance_dns_alloc(&f->dns, &dc, &dwhy))) {
		snprintf(why, whysize, "--resolver %s / --trust-anchor %s: %s", conf->resolver,
			 conf->trust_anchor, dwhy ? dwhy : strerror(err));
		return err;
	}
	if ((err = fed_in_setup(f, why, whysize)))
		return err;
	return chain_setup(f, why, whysize);
}

/* fed_mono_s - monotonic seconds */
time_t fed_mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

/* fed_req_free - release a request's resources */
void fed_req_free(struct px_fedreq *r)
{
	if (r->pinop)
		sipdance_store_cancel(r->fed->store, r->pinop);
	sipdance_locate_free(r->loc);
	msg_destroy(r->msg);
	msg_destroy(r->spare);
	sk_X509_pop_free(r->chain, X509_free);
	SSL_free(r->ssl);
	free(r);
}

/* fed_unlink_req - take @r off whatever connection list holds it */
void fed_unlink_req(struct px_fedreq *r)
{
	struct fconn *c = r->conn;
	struct px_fedreq **lists[2];

	if (!c)
		return;
	if (c->first == r)
		c->first = NULL;
	lists[0] = &c->waiting;
	lists[1] = &c->blocked;
	for (int i = 0; i < 2; i++)
		for (struct px_fedreq **pp = lists[i]; *pp; pp = &(*pp)->next)
			if (*pp == r) {
				*pp = r->next;
				break;
			}
	r->conn = NULL;
}

/* on_pin_written - the shared state's answer to a pin we wrote: logged if it failed */
static void on_pin_written(void *arg, enum sipdance_store_status st, const char *value, size_t len,
			   const char *why)
{
	(void)arg;
	(void)value;
	(void)len;
	if (st != SIPDANCE_STORE_OK)
		px_log(SIPDANCE_LOG_WARN, "fed", "RFC 9102 pin not shared: %s", why);
}

/* pin_changed - a handshake here set, extended or removed the pin of
 * @name:@port: "pin:NAME:PORT" = its end (seconds since the epoch) in the
 * shared state until then; a removal deletes the key (a node that took the
 * pin keeps it until it ends, or its own handshake removes it) */
static void pin_changed(void *arg, const char *name, uint16_t port, time_t until)
{
	struct px_fed *f = arg;
	time_t now = time(NULL);
	char key[300], val[32];
	int n = snprintf(val, sizeof(val), "%lld", (long long)until);

	snprintf(key, sizeof(key), "pin:%s:%u", name, port);
	if (sipdance_store_put(f->store, key, val, until > now ? (size_t)n : 0,
			       until > now ? (unsigned)(until - now) : 0, on_pin_written, NULL, NULL))
		px_log(SIPDANCE_LOG_WARN, "fed", "RFC 9102 pin of %s:%u not shared: out of memory", name, port);
}

/* px_fed_set_store - pins shared through @store */
void px_fed_set_store(struct px_fed *f, struct sipdance_store *store)
{
	f->store = store;
	if (f->chain_client)
		sipdance_chain_pins_watch(sipdance_chain_client_pins(f->chain_client), pin_changed, f);
}

/* px_fed_free - everything, pending requests without callbacks */
void px_fed_free(struct px_fed *f)
{
	if (!f)
		return;
	fed_out_free(f);
	fed_in_free(f); /* its lookups run on the resolver */
	sipdance_dns_free(f->dns);
	sipdance_policy_free(f->policy);
	sipdance_dane_free(f->dane);
	su_timer_destroy(f->chain_timer);
	for (size_t i = 0; i < f->nchain_src; i++)
		sipdance_chain_source_free(f->chain_src[i]); /* a refresh under way: no callback */
	sipdance_chain_source_free(f->client_src);
	sipdance_chain_client_free(f->chain_client);
	sipdance_anchor_free(f->anchor);
	free(f);
}

/* px_fed_flush - SIGHUP: the trust anchor file is read again (every module
 * validates with it from now on; a broken file keeps the old one), cached DNS
 * and TLSA answers go, authenticated connections must authenticate again
 * under a new location before reuse, and the chains we serve are rebuilt now
 * on the loop (a new TLSA is served once fetched, not at the next refresh):
 * @done then (a later SIGHUP before that takes its place) */
void px_fed_flush(struct px_fed *f, void (*done)(void *arg), void *arg)
{
	const char *why = NULL;

	if (f->anchor && sipdance_anchor_reload(f->anchor, &why))
		px_log(SIPDANCE_LOG_ERR, "proxy", "reload: --trust-anchor %s: %s (keeping the old "
		       "trust anchor)", f->conf->trust_anchor, why);
	else if (f->anchor)
		px_log(SIPDANCE_LOG_INFO, "proxy", "reload: trust anchor reloaded (%zu records)",
		       sipdance_anchor_count(f->anchor));
	fed_in_flush(f);
	px_hook_client_forget(f->hook);
	if (f->dns)
		sipdance_dns_flush(f->dns);
	for (struct fconn *c = f->conns; c; c = c->next) {
		c->uri[0] = '\0';
		c->authenticated -= REUSE_WITHOUT_LOCATE_S;
	}
	f->reloaded = done;
	f->reloaded_arg = arg;
	chain_update(f, 1);
	if (!f->chain_hup) {
		f->reloaded = NULL;
		done(arg);
	}
}

/* fed_quote - @s with double quotes and backslashes turned into single quotes */
void fed_quote(char *s)
{
	for (; *s; s++)
		if (*s == '"' || *s == '\\' || *s == '\r' || *s == '\n')
			*s = '\'';
}

/* fed_fail - end request @r with @status and a Reason text "cause: detail" */
void fed_fail(struct px_fedreq *r, int status, const char *cause, const char *detail)
{
	char reason[400];

	fed_unlink_req(r);
	snprintf(reason, sizeof(reason), "%s: %s", cause, detail);
	fed_quote(reason);
	if (r->inbound)
		r->auth(r->arg, 0, reason);
	else
		r->event(r->arg, PX_FED_FAIL, NULL, status, reason);
	fed_req_free(r);
}

/* located - the location of a request's domain is known: inbound or outbound from here */
static void located(void *arg, struct sipdance_locate *loc)
{
	struct px_fedreq *r = arg;

	if (r->inbound)
		fed_in_authorize(r);
	else
		fed_out_located(r, loc);
}

/* fed_start - a request object and its location */
int fed_start(struct px_fed *f, struct px_fedreq *r, const char *uri)
{
	struct sipdance_locate_conf lc = { .size = sizeof(lc), .dns = f->dns, .policy = f->policy, .dane = f->dane,
					   .no_tlsa = !r->inbound && f->chain_client &&
						      f->chain_policy == SIPDANCE_CHAIN_REQUIRED };
	const char *why = NULL;

	r->fed = f;
	if (!f->dns) {
		fed_fail(r, 503, "no usable target", "no --resolver configured: federation is off");
		return 0;
	}
	if (sipdance_locate_start(&r->loc, &lc, uri, located, r, &why)) {
		fed_fail(r, 416, "no usable target", why ? why : "cannot locate this URI");
		return 0;
	}
	return 0;
}

/* px_fed_cancel - the caller no longer wants @r: no callback will run */
void px_fed_cancel(struct px_fedreq *r)
{
	if (!r)
		return;
	fed_unlink_req(r);
	fed_req_free(r);
}
