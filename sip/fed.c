/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fed.c - federation: requests to other domains and requests claiming to
 * come from them. Outbound: RFC 3263 location and DANE policy through
 * libsipdance on the proxy's su_root, then a TLS connection per (domain,
 * address) whose handshake must authenticate the peer for that domain before
 * the request goes out on it (the OpenSSL hook calls back into here). A
 * connection authenticated for one domain is never used for another, and at
 * most one handshake per address is in flight, so a handshake always binds
 * to the right domain. Inbound: a foreign From domain is accepted only if
 * the TLS client chain authenticates for that domain.
 */
#include "proxy.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <sipdance/chain.h>
#include <sipdance/clientid.h>
#include <sipdance/dns.h>
#include <sipdance/locate.h>
#include <sofia-sip/sip.h>
#include <sofia-sip/sip_protos.h>
#include <sofia-sip/sip_tag.h>
#include <sofia-sip/nta_tport.h>
#include <sofia-sip/tport.h>
#include <sofia-sip/tport_tag.h>
#include <sofia-sip/url.h>
#include "fed.h"
#include "stamp.h"

#define MAX_CLIENT_DOMAINS 32
/* dane_clientid lookups run inside TLS handshakes, on the event loop: at most
 * this many milliseconds of them per second, and names known not to exist
 * below a parent that does not exist are answered without a lookup, for
 * ABSENT_S seconds at most (RFC 8020: nothing exists below NXDOMAIN) */
#define LOOKUP_BUDGET_MS 250
#define MAX_ABSENT 64
#define ABSENT_S 60
/* An authenticated connection is reused without a new location for this
 * long; after that each request locates again (answers come from the DNS
 * cache until their TTL runs out) and the connection's peer chain must still
 * authenticate under the fresh TLSA records, or the connection is dropped. */
#define REUSE_WITHOUT_LOCATE_S 30

enum conn_state { HANDSHAKING, AUTHENTICATED, FAILED };

struct fconn {
	struct fconn *next;
	struct px_fed *fed;
	char uri[300];               /* what was located to open it */
	char domain[256];
	struct sockaddr_storage addr;
	enum conn_state state;
	struct sipdance_verdict verdict;
	int via_chain;               /* decided by the peer's RFC 9102 chain (or its absence
					under --chain required), not by DNS */
	STACK_OF(X509) *chain;       /* the peer's chain, re-verified against fresh DNS */
	time_t authenticated;        /* monotonic seconds, when the handshake authenticated it */
	struct sipdance_locate *loc;  /* of the request that opened it: owns target */
	const struct sipdance_target *target;
	struct px_expect *expect;
	tport_t *tp;                 /* referenced once known */
	su_timer_t *timer;           /* handshake limit, then deferred completion */
	struct px_fedreq *first;     /* the request that opened it */
	struct px_fedreq *waiting;   /* same domain, sent once authenticated */
	struct px_fedreq *blocked;   /* other domains at this address, retried after */
};

struct px_fedreq {
	struct px_fedreq *next;      /* in a connection's waiting or blocked list */
	struct px_fed *fed;
	struct sipdance_locate *loc;
	msg_t *msg;                  /* the request to send, owned until sent */
	msg_t *spare;                /* a copy, for the next candidate if the connection fails */
	size_t cand;                 /* candidate (target, address) number, see pick() */
	nta_response_f *response;
	void *magic;
	px_fed_event_fn *event;
	void *arg;
	const struct sipdance_target *target;
	struct sockaddr_storage addr;
	char uri[300];
	char loop[PX_LOOP_HEX + 1];  /* for our Via's branch */
	struct fconn *conn;
	int inbound;                 /* an authorization, not a send */
	SSL *ssl;                    /* inbound: the client's connection, a reference */
	STACK_OF(X509) *chain;       /* inbound: its client chain, refs held */
	struct sockaddr_storage peer;
	px_fed_auth_fn *auth;
};

struct px_fed {
	su_root_t *root;
	nta_agent_t *agent;
	struct px_hook *hook;
	struct px_stamp *stamp;
	const struct px_self *me;
	const struct px_conf *conf;
	struct sipdance_dns *dns;
	struct sipdance_policy *policy;
	struct sipdance_dane *dane;
	struct sipdance_loop *loop;  /* libsipdance's loop contract on root */
	struct fconn *conns;
	unsigned handshakes; /* outbound handshakes started (tests read the log line) */
	struct sipdance_dns *cid_dns; /* dane_clientid lookups: synchronous, in the handshake */
	struct { char name[256]; time_t until; } absent[MAX_ABSENT]; /* names with nothing below */
	size_t nabsent;
	time_t budget_at;            /* the second the lookup budget counts for */
	long budget_ms;              /* time lookups blocked the loop in it */
	char *cid_domains[MAX_CLIENT_DOMAINS];
	size_t ncid_domains;
	enum sipdance_chain_policy chain_policy;
	struct sipdance_chain_client *chain_client; /* asks peers for their chain */
	struct sipdance_chain_source *chain_src[PX_MAX_LISTEN]; /* ours, per TLS listener */
	size_t nchain_src;
	su_timer_t *chain_timer;     /* the next refresh of our chains */
};

static void conn_dispatch(struct fconn *c);
static void req_connect(struct px_fedreq *r);

/* under_absent - whether @name is at or below a name known not to exist */
static int under_absent(struct px_fed *f, const char *name, time_t now)
{
	size_t n = strlen(name), k;

	for (size_t i = 0; i < f->nabsent; i++) {
		if (f->absent[i].until <= now)
			continue;
		k = strlen(f->absent[i].name);
		if (n >= k && !strcasecmp(name + n - k, f->absent[i].name) &&
		    (n == k || name[n - k - 1] == '.'))
			return 1;
	}
	return 0;
}

/* remember_absent - @nx is NXDOMAIN: its highest ancestor below the client
 * domain it falls under that does not exist either, if any, is remembered */
static void remember_absent(struct px_fed *f, const char *nx, time_t now)
{
	struct sipdance_dns_answer *a;
	const char *p, *top = NULL;
	size_t i, n = strlen(nx), k;

	for (i = 0; i < f->ncid_domains && !top; i++) {
		k = strlen(f->cid_domains[i]);
		if (n > k && nx[n - k - 1] == '.' && !strcasecmp(nx + n - k, f->cid_domains[i]))
			top = nx + n - k;
	}
	/* from just below the client domain down to @nx: the first one that
	 * does not exist (a secure NXDOMAIN; answers are cached by the DNS layer) */
	for (p = top ? top - 1 : NULL; p && p > nx; p--) {
		if (p[-1] != '.')
			continue;
		if (!sipdance_dns_lookup_sync(f->cid_dns, p, SIPDANCE_DNS_TLSA, &a)) {
			int gone = sipdance_dns_answer_status(a) == SIPDANCE_DNS_SECURE &&
				   sipdance_dns_answer_rcode(a) == SIPDANCE_DNS_NXDOMAIN;

			sipdance_dns_answer_unref(a);
			if (gone)
				break;
		}
	}
	if (!p || p <= nx)
		return; /* every ancestor exists: nothing more than @nx itself is known */
	i = f->nabsent < MAX_ABSENT ? f->nabsent++ : (size_t)(now % MAX_ABSENT);
	snprintf(f->absent[i].name, sizeof(f->absent[i].name), "%s", p);
	f->absent[i].until = now + ABSENT_S;
	px_log(SIPDANCE_LOG_DEBUG, "clientid", "%s does not exist: names below it are not looked up "
	       "for %d s", f->absent[i].name, ABSENT_S);
}

/* cid_lookup - the TLSA lookup of a dane_clientid ClientName, inside a TLS
 * handshake on the event loop */
static int cid_lookup(void *arg, const char *name, struct sipdance_clientid_answer *out)
{
	struct px_fed *f = arg;
	struct timespec t0, t1;
	time_t now = time(NULL);
	int err;

	/*
	 * Case by case:
	 *  - at or below a name known not to exist (a secure NXDOMAIN less than
	 *    ABSENT_S seconds old): NXDOMAIN, no lookup; a client making up
	 *    random names under it costs nothing;
	 *  - lookups already blocked the loop LOOKUP_BUDGET_MS in this second:
	 *    INDETERMINATE, the handshake is refused (fails closed) rather than
	 *    every other request waiting behind it;
	 *  - otherwise the lookup (answers cached for their TTL by the DNS layer);
	 *    a secure NXDOMAIN also looks for the highest ancestor that does not
	 *    exist, remembered for the next names.
	 */
	if (under_absent(f, name, now)) {
		*out = (struct sipdance_clientid_answer){ .status = SIPDANCE_DNS_SECURE,
							  .rcode = SIPDANCE_DNS_NXDOMAIN };
		snprintf(out->why, sizeof(out->why), "a parent name does not exist (negative cache)");
		return 0;
	}
	if (now != f->budget_at) {
		f->budget_at = now;
		f->budget_ms = 0;
	}
	if (f->budget_ms >= LOOKUP_BUDGET_MS) {
		*out = (struct sipdance_clientid_answer){ .status = SIPDANCE_DNS_INDETERMINATE,
							  .rcode = SIPDANCE_DNS_NONE };
		snprintf(out->why, sizeof(out->why), "lookup budget spent (%d ms a second): too many "
			 "new client names at once", LOOKUP_BUDGET_MS);
		return 0;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	err = sipdance_clientid_dns_lookup(f->cid_dns, name, out);
	if (!err && out->status == SIPDANCE_DNS_SECURE && out->rcode == SIPDANCE_DNS_NXDOMAIN)
		remember_absent(f, name, now);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	f->budget_ms += (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	return err;
}

/* clientid_setup - dane_clientid on the proxy's TLS contexts: inbound clients
 * (--client-auth, --client-domains) and our own name outbound (--client-name) */
static int clientid_setup(struct px_fed *f, char *why, size_t whysize)
{
	const struct px_conf *conf = f->conf;
	struct sipdance_clientid_conf cc = { .name = conf->client_name };
	struct sipdance_dns_conf dc = { .resolver = conf->resolver, .trust_anchor = conf->trust_anchor,
					.neg_ttl = conf->dns_failure_ttl };
	const char *mode = conf->client_auth ? conf->client_auth : "optional", *dwhy = NULL;
	char *list, *tok, *save = NULL;
	int err;

	if (strcmp(mode, "off") && conf->resolver) {
		/* the lookup blocks the handshake (OpenSSL 3.0 cannot suspend a server's
		 * verification): bounded well below the peer's handshake limit */
		dc.timeout_ms = conf->handshake_timeout_ms < 1500 ? conf->handshake_timeout_ms : 1500;
		if ((err = sipdance_dns_alloc(&f->cid_dns, &dc, &dwhy))) {
			snprintf(why, whysize, "--client-auth: %s", dwhy ? dwhy : strerror(err));
			return err;
		}
		list = strdup(conf->client_domains ? conf->client_domains : conf->domain);
		for (tok = list ? strtok_r(list, ", ", &save) : NULL; tok;
		     tok = strtok_r(NULL, ", ", &save)) {
			if (f->ncid_domains == MAX_CLIENT_DOMAINS) {
				free(list);
				snprintf(why, whysize, "--client-domains: more than %d domains",
					 MAX_CLIENT_DOMAINS);
				return EINVAL;
			}
			if (!(f->cid_domains[f->ncid_domains] = strdup(tok)))
				break;
			f->ncid_domains++;
		}
		free(list);
		if (!f->ncid_domains)
			return ENOMEM;
		cc.server = 1;
		cc.require = !strcmp(mode, "required");
		cc.domains = (const char *const *)f->cid_domains;
		cc.ndomains = f->ncid_domains;
		cc.lookup = cid_lookup;
		cc.lookup_arg = f;
	}
	if (!cc.server && !cc.name)
		return 0;
	return px_hook_clientid(f->hook, &cc, why, whysize);
}

/* chain_schedule - the timer for the earliest refresh any of our chains needs */
static void chain_schedule(struct px_fed *f);

/* chain_update - refresh our chains, those that are due or @all (a blocking
 * fetch through getdns, bounded by its timeout); an expired chain is never served */
static void chain_update(struct px_fed *f, int all)
{
	time_t now = time(NULL);
	const char *why = NULL;
	size_t len = 0;

	for (size_t i = 0; i < f->nchain_src; i++) {
		if (!all && sipdance_chain_source_next_refresh(f->chain_src[i]) > now)
			continue;
		if (sipdance_chain_source_refresh(f->chain_src[i], &why))
			px_log(all ? SIPDANCE_LOG_ERR : SIPDANCE_LOG_WARN, "chain",
			       "refresh of our DNSSEC chain failed: %s (%s)",
			       why ? why : "?", sipdance_chain_source_get(f->chain_src[i], now, &len)
			       ? "the current one is still valid" : "serving none");
		else if (sipdance_chain_source_get(f->chain_src[i], now, &len))
			px_log(SIPDANCE_LOG_INFO, "chain", "our DNSSEC chain refreshed (%zu bytes, %s)", len,
			       all ? "SIGHUP" : "timer");
	}
	chain_schedule(f);
}

/* chain_refresh - the refresh timer fired */
static void chain_refresh(struct px_proxy *px, su_timer_t *t, void *arg)
{
	chain_update(arg, 0);
}

/* chain_schedule - arm the refresh timer */
static void chain_schedule(struct px_fed *f)
{
	time_t next = 0, now = time(NULL), t;

	for (size_t i = 0; i < f->nchain_src; i++)
		if ((t = sipdance_chain_source_next_refresh(f->chain_src[i])) && (!next || t < next))
			next = t;
	if (next)
		su_timer_set_interval(f->chain_timer, chain_refresh, f,
				      next > now ? (su_duration_t)(next - now) * 1000 : 1000);
}

/* cert_chains - check (@set 0) or hold (@set 1) every chain we serve to
 * @cert: 0, or an errno with the first failing chain's reason in @why */
static int cert_chains(struct px_fed *f, STACK_OF(X509) *cert, int set, char *why, size_t whysize)
{
	const char *w = NULL;
	int err = 0;

	for (size_t i = 0; !err && i < f->nchain_src; i++)
		err = set ? sipdance_chain_source_set_cert(f->chain_src[i], cert, &w)
			  : sipdance_chain_source_check_cert(f->chain_src[i], cert, &w);
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
	struct sipdance_chain_client_conf cc = { .trust_anchor = conf->trust_anchor,
						 .pin_file = conf->chain_pins, .ca_file = conf->ca_file };
	struct sipdance_chain_source_conf sc = { .trust_anchor = conf->trust_anchor,
						 .resolver = conf->resolver, .host = conf->client_name,
						 .lifetime = (uint16_t)conf->chain_lifetime,
						 .refresh_s = conf->chain_refresh, .ca_file = conf->ca_file };
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
	if (!(f->chain_timer = su_timer_create(su_root_task(f->root), 0)))
		return ENOMEM;
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
	chain_schedule(f);
	return 0;
}

/* px_fed_alloc - resolver, policy, verifier; federation is refused without a resolver */
int px_fed_alloc(struct px_fed **out, su_root_t *root, struct sipdance_loop *loop,
		 nta_agent_t *agent, struct px_hook *hook,
		 struct px_stamp *stamp, const struct px_self *me, const struct px_conf *conf,
		 char *why, size_t whysize)
{
	struct px_fed *f = calloc(1, sizeof(*f));
	struct sipdance_dns_conf dc = { 0 };
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
	if (!conf->resolver)
		return clientid_setup(f, why, whysize);
	dc.resolver = conf->resolver;
	dc.trust_anchor = conf->trust_anchor;
	dc.loop = loop;
	dc.neg_ttl = conf->dns_failure_ttl;
	if ((err = sipdance_dns_alloc(&f->dns, &dc, &dwhy))) {
		snprintf(why, whysize, "--resolver %s / --trust-anchor %s: %s", conf->resolver,
			 conf->trust_anchor, dwhy ? dwhy : strerror(err));
		return err;
	}
	if ((err = clientid_setup(f, why, whysize)))
		return err;
	return chain_setup(f, why, whysize);
}

/* conn_free - forget a connection */
static void conn_free(struct fconn *c)
{
	for (struct fconn **pp = &c->fed->conns; *pp; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	px_hook_unexpect(c->expect);
	su_timer_destroy(c->timer);
	sipdance_locate_free(c->loc);
	sk_X509_pop_free(c->chain, X509_free);
	if (c->tp)
		tport_unref(c->tp);
	free(c);
}

/* mono_s - monotonic seconds */
static time_t mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

/* req_free - release a request's resources */
static void req_free(struct px_fedreq *r)
{
	sipdance_locate_free(r->loc);
	msg_destroy(r->msg);
	msg_destroy(r->spare);
	sk_X509_pop_free(r->chain, X509_free);
	SSL_free(r->ssl);
	free(r);
}

/* unlink_req - take @r off whatever connection list holds it */
static void unlink_req(struct px_fedreq *r)
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

/* px_fed_free - everything, pending requests without callbacks */
void px_fed_free(struct px_fed *f)
{
	if (!f)
		return;
	while (f->conns) {
		struct fconn *c = f->conns;
		struct px_fedreq *lists[2] = { c->waiting, c->blocked };

		for (int i = 0; i < 2; i++)
			while (lists[i]) {
				struct px_fedreq *r = lists[i];

				lists[i] = r->next;
				req_free(r);
			}
		c->waiting = c->blocked = NULL;
		conn_free(c);
	}
	sipdance_dns_free(f->dns);
	sipdance_policy_free(f->policy);
	sipdance_dane_free(f->dane);
	sipdance_dns_free(f->cid_dns);
	for (size_t i = 0; i < f->ncid_domains; i++)
		free(f->cid_domains[i]);
	su_timer_destroy(f->chain_timer);
	for (size_t i = 0; i < f->nchain_src; i++)
		sipdance_chain_source_free(f->chain_src[i]);
	sipdance_chain_client_free(f->chain_client);
	free(f);
}

/* px_fed_flush - SIGHUP: cached DNS and TLSA answers go, authenticated
 * connections must authenticate again under a new location before reuse, and
 * the chains we serve are rebuilt at once (a new TLSA is served now, not at
 * the next refresh) */
void px_fed_flush(struct px_fed *f)
{
	f->nabsent = 0;
	if (f->dns)
		sipdance_dns_flush(f->dns);
	chain_update(f, 1);
	for (struct fconn *c = f->conns; c; c = c->next) {
		c->uri[0] = '\0';
		c->authenticated -= REUSE_WITHOUT_LOCATE_S;
	}
}

/* quote - @s with double quotes and backslashes turned into single quotes */
static void quote(char *s)
{
	for (; *s; s++)
		if (*s == '"' || *s == '\\' || *s == '\r' || *s == '\n')
			*s = '\'';
}

/* fail - end request @r with @status and a Reason text "cause: detail" */
static void fail(struct px_fedreq *r, int status, const char *cause, const char *detail)
{
	char reason[400];

	unlink_req(r);
	snprintf(reason, sizeof(reason), "%s: %s", cause, detail);
	quote(reason);
	if (r->inbound)
		r->auth(r->arg, 0, reason);
	else
		r->event(r->arg, PX_FED_FAIL, NULL, status, reason);
	req_free(r);
}

/* target_verify - the hook's verification of an outbound chain */
static int target_verify(void *arg, STACK_OF(X509) *chain, struct sipdance_verdict *v)
{
	struct fconn *c = arg;

	sk_X509_pop_free(c->chain, X509_free);
	c->chain = X509_chain_up_ref(chain);
	return sipdance_target_verify(c->fed->dane, c->target, chain, v);
}

/* conn_later - continue a connection's completion outside OpenSSL's callbacks */
static void conn_later(struct px_proxy *px, su_timer_t *t, void *arg)
{
	conn_dispatch(arg);
}

/* handshake_done - the hook judged the connection (inside the TLS handshake) */
static void handshake_done(void *arg, int ok, const struct sipdance_verdict *v, const char *tls)
{
	struct fconn *c = arg;
	char peer[64];

	c->expect = NULL;
	c->verdict = *v;
	c->state = ok ? AUTHENTICATED : FAILED;
	c->authenticated = mono_s();
	px_log(ok ? SIPDANCE_LOG_INFO : SIPDANCE_LOG_WARN, "auth",
	       "peer=%s domain=%s rule=%s verdict=%s via=%s tls=%s (%s)",
	       px_addr_str((const struct sockaddr *)&c->addr, peer, sizeof(peer)), c->domain,
	       c->via_chain ? "rfc9102-chain" : c->target->decision.rule ? c->target->decision.rule : "?",
	       sipdance_result_str(v->result), c->via_chain ? "rfc9102" : "dns", tls ? tls : "-",
	       v->reason);
	su_timer_set_interval(c->timer, conn_later, c, 1);
}

/* handshake_timeout - the peer did not finish the handshake in time */
static void handshake_timeout(struct px_proxy *px, su_timer_t *t, void *arg)
{
	struct fconn *c = arg;
	char peer[64];

	if (c->state != HANDSHAKING)
		return;
	px_hook_unexpect(c->expect);
	c->expect = NULL;
	c->state = FAILED;
	c->verdict.result = SIPDANCE_INDETERMINATE;
	snprintf(c->verdict.reason, sizeof(c->verdict.reason),
		 "TLS handshake did not complete within %u ms", c->fed->conf->handshake_timeout_ms);
	px_log(SIPDANCE_LOG_WARN, "auth", "peer=%s domain=%s rule=%s verdict=INDETERMINATE (%s)",
	       px_addr_str((const struct sockaddr *)&c->addr, peer, sizeof(peer)), c->domain,
	       c->target->decision.rule ? c->target->decision.rule : "?", c->verdict.reason);
	/* the peer may hold the TCP connection open forever: close our side now */
	if (c->tp)
		tport_shutdown(c->tp, 2);
	conn_dispatch(c);
}

/* route_url - "sips:<domain>:<port>;maddr=<ip>;transport=tls" for a target address */
static void route_url(char *buf, size_t size, const char *domain, const struct sockaddr *sa)
{
	char ip[INET6_ADDRSTRLEN] = "";
	unsigned port = 0;

	if (sa->sa_family == AF_INET) {
		inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, ip,
			  sizeof(ip));
		port = ntohs(((const struct sockaddr_in *)(const void *)sa)->sin_port);
		snprintf(buf, size, "sips:%s:%u;maddr=%s;transport=tls", domain, port, ip);
	} else {
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, ip,
			  sizeof(ip));
		port = ntohs(((const struct sockaddr_in6 *)(const void *)sa)->sin6_port);
		snprintf(buf, size, "sips:%s:%u;maddr=[%s];transport=tls", domain, port, ip);
	}
}

/* send_on - create the client transaction for @r, fresh connection or pinned */
static nta_outgoing_t *send_on(struct px_fedreq *r, const char *domain, tport_t *tp)
{
	char url[400], branch[PX_BRANCH_MAX];
	msg_t *msg = r->msg;
	sip_t *sip = sip_object(msg);
	nta_outgoing_t *orq;

	route_url(url, sizeof(url), domain, (const struct sockaddr *)&r->addr);
	r->msg = NULL;
	/* a fresh branch for each transaction (failover sends again) */
	px_stamp_branch(r->fed->stamp, r->loop, sip ? sip->sip_via : NULL, branch);
	orq = nta_outgoing_mcreate(r->fed->agent, r->response, r->magic, (url_string_t *)url, msg,
				   NTATAG_BRANCH_KEY(branch), TAG_IF(tp, NTATAG_TPORT(tp)),
				   TAG_IF(!tp, TPTAG_FRESH(1)), TAG_END());
	if (!orq)
		msg_destroy(msg);
	return orq;
}

/* cause_of - the Reason cause of a failed connection */
static const char *cause_of(const struct fconn *c)
{
	return c->verdict.result == SIPDANCE_NOMATCH ? "mismatch"
	       : c->verdict.result == SIPDANCE_UNUSABLE ? "unusable" : "handshake";
}

/* px_fed_failed - whether @r's connection was refused; its Reason text into why[] */
int px_fed_failed(const struct px_fedreq *r, char *why, size_t size)
{
	if (!r || !r->conn || r->conn->state != FAILED)
		return 0;
	snprintf(why, size, "%s: %s", cause_of(r->conn), r->conn->verdict.reason);
	quote(why);
	return 1;
}

/* px_fed_handshaking - whether @r's connection has not authenticated its peer yet */
int px_fed_handshaking(const struct px_fedreq *r)
{
	return r && r->conn && r->conn->state == HANDSHAKING;
}

static const struct sipdance_target *pick(const struct px_fed *f, const struct sipdance_locate *loc,
					  size_t from, struct sockaddr_storage *addr, size_t *cand,
					  char *why, size_t size);

/* failover - the connection @c of @r failed: on to @r's next candidate (RFC
 * 3263 §4.3: next address, then next target); 1 if it went there */
static int failover(struct px_fedreq *r, const struct fconn *c)
{
	const struct sipdance_target *t;
	struct sockaddr_storage addr;
	char why[300], from[64], to[64];
	size_t cand;

	/*
	 * Case by case:
	 *  - no location or nothing left to send: no;
	 *  - no further candidate: no, the caller fails the request;
	 *  - a further candidate: the request goes there on a connection of its
	 *    own, authenticated for the same domain as any other.
	 */
	if (r->inbound || !r->loc || (!r->msg && !r->spare))
		return 0;
	if (!(t = pick(r->fed, r->loc, r->cand + 1, &addr, &cand, why, sizeof(why))))
		return 0;
	if (!r->msg) {
		r->msg = r->spare;
		r->spare = NULL;
	}
	px_log(SIPDANCE_LOG_INFO, "fed", "failover for %s: %s failed (%s); next %s",
	       c->domain, px_addr_str((const struct sockaddr *)&c->addr, from, sizeof(from)),
	       c->verdict.reason, px_addr_str((const struct sockaddr *)&addr, to, sizeof(to)));
	r->target = t;
	r->addr = addr;
	r->cand = cand;
	req_connect(r);
	return 1;
}

/* px_fed_retry - @r's first connection failed (transport error or refused
 * handshake): 1 if it goes on to the next candidate (SENT or FAIL follows) */
int px_fed_retry(struct px_fedreq *r)
{
	struct fconn *c = r ? r->conn : NULL;
	struct sockaddr_storage addr;
	char why[300];
	size_t cand;

	int next;

	if (!c || c->first != r || c->state == AUTHENTICATED)
		return 0;
	next = r->spare && c->loc && pick(r->fed, c->loc, r->cand + 1, &addr, &cand, why, sizeof(why));
	if (c->state == HANDSHAKING) {
		px_hook_unexpect(c->expect);
		c->expect = NULL;
		c->state = FAILED;
		c->verdict.result = SIPDANCE_INDETERMINATE;
		snprintf(c->verdict.reason, sizeof(c->verdict.reason),
			 "connection failed before TLS authentication");
	}
	if (!next) {
		/* the caller answers for @r; the dead connection goes now, not at
		 * its handshake timeout, so later requests do not wait behind it */
		c->first = NULL;
		r->conn = NULL;
	}
	conn_dispatch(c);
	return next;
}

/* conn_dispatch - a connection finished its handshake (or failed): move its requests on */
static void conn_dispatch(struct fconn *c)
{
	struct px_fedreq *first = c->first, *waiting = c->waiting, *blocked = c->blocked, *r;
	const char *cause = cause_of(c);
	nta_outgoing_t *orq;

	c->first = NULL;
	c->waiting = c->blocked = NULL;
	if (c->state == AUTHENTICATED) {
		if (first) {
			first->conn = NULL;
			first->event(first->arg, PX_FED_DONE, NULL, 0, NULL);
			req_free(first);
		}
		while ((r = waiting)) {
			waiting = r->next;
			r->conn = NULL;
			if ((orq = send_on(r, c->domain, c->tp)))
				r->event(r->arg, PX_FED_DONE, orq, 0, NULL);
			else
				r->event(r->arg, PX_FED_FAIL, NULL, 500, "internal: cannot create transaction");
			req_free(r);
		}
	} else {
		if (first) {
			first->conn = NULL;
			/* its location (the target points into it) goes back to it */
			first->loc = c->loc;
			c->loc = NULL;
			if (!failover(first, c))
				fail(first, 502, cause, c->verdict.reason);
		}
		while ((r = waiting)) {
			waiting = r->next;
			r->conn = NULL;
			if (!failover(r, c))
				fail(r, 502, cause, c->verdict.reason);
		}
	}
	while ((r = blocked)) {
		blocked = r->next;
		r->conn = NULL;
		req_connect(r);
	}
	if (c->state == FAILED)
		conn_free(c);
}

/* live - whether an authenticated connection can still carry requests */
static int live(const struct fconn *c)
{
	return c->tp && !tport_is_closed(c->tp) && !tport_is_shutdown(c->tp);
}

/* still_authenticated - whether @c's peer still authenticates for the
 * domain under @loc, a location made after the handshake */
static int still_authenticated(struct fconn *c, const struct sipdance_locate *loc)
{
	struct sipdance_verdict v;
	char peer[64];

	/*
	 * The cases: a connection authenticated by the peer's RFC 9102 chain
	 * has no DNS records to compare with (it is re-handshaked instead, the
	 * fresh chain decides); otherwise the stored chain is verified against
	 * the new targets: MATCH keeps the connection, anything else (a TLSA
	 * rollover done the wrong way, a revoked key, a zone turned bogus) drops
	 * it and the next handshake decides under the new records.
	 */
	if (!c->via_chain && c->chain && loc &&
	    sipdance_locate_verify(loc, c->fed->dane, c->chain, &v, NULL) == 0 &&
	    v.result == SIPDANCE_MATCH)
		return 1;
	if (!c->via_chain)
		px_log(SIPDANCE_LOG_WARN, "auth", "peer=%s domain=%s no longer authenticated, "
		       "connection dropped (%s)", px_addr_str((const struct sockaddr *)&c->addr, peer,
							   sizeof(peer)), c->domain,
		       c->chain && loc ? v.reason : "nothing to verify");
	return 0;
}

/* req_connect - send @r to its target over a connection authenticated for its domain */
static void req_connect(struct px_fedreq *r)
{
	struct px_fed *f = r->fed;
	const char *domain = r->loc ? sipdance_locate_domain(r->loc) : "";
	const struct sockaddr *sa = (const struct sockaddr *)&r->addr;
	struct fconn *c, *busy = NULL, *next;
	nta_outgoing_t *orq;
	char peer[64];

	for (c = f->conns; c; c = next) {
		next = c->next;
		if (memcmp(&c->addr, &r->addr, sizeof(r->addr)) || c->state == FAILED)
			continue;
		if (c->state == AUTHENTICATED && !live(c)) {
			conn_free(c);
			continue;
		}
		if (c->state == AUTHENTICATED && !strcasecmp(c->domain, domain) &&
		    mono_s() - c->authenticated >= REUSE_WITHOUT_LOCATE_S &&
		    !still_authenticated(c, r->loc)) {
			tport_shutdown(c->tp, 2);
			conn_free(c);
			continue;
		}
		if (strcasecmp(c->domain, domain)) {
			if (c->state == HANDSHAKING)
				busy = c;
			continue;
		}
		if (c->state == AUTHENTICATED) {
			if ((orq = send_on(r, c->domain, c->tp)))
				r->event(r->arg, PX_FED_DONE, orq, 0, NULL);
			else
				r->event(r->arg, PX_FED_FAIL, NULL, 500, "internal: cannot create transaction");
			req_free(r);
			return;
		}
		/* handshaking for this domain: go out once it is authenticated */
		r->conn = c;
		r->next = c->waiting;
		c->waiting = r;
		return;
	}
	if (busy) {
		/* another domain's handshake to this address: one at a time */
		r->conn = busy;
		r->next = busy->blocked;
		busy->blocked = r;
		return;
	}
	if (!(c = calloc(1, sizeof(*c))) || !(c->timer = su_timer_create(su_root_task(f->root), 0))) {
		free(c);
		fail(r, 500, "internal", "out of memory");
		return;
	}
	c->fed = f;
	snprintf(c->domain, sizeof(c->domain), "%s", domain);
	c->addr = r->addr;
	c->state = HANDSHAKING;
	snprintf(c->uri, sizeof(c->uri), "%s", r->uri);
	c->loc = r->loc;
	c->target = r->target;
	r->loc = NULL;
	c->first = r;
	r->conn = c;
	c->next = f->conns;
	f->conns = c;
	domain = c->domain;
	if (px_hook_expect(f->hook, &c->expect, sa, domain, c->target->base_domain, target_verify,
			   handshake_done, c)) {
		fail(r, 500, "internal", "out of memory");
		conn_free(c);
		return;
	}
	if (f->chain_client)
		px_hook_expect_chain(c->expect, c->target->port,
				     f->chain_policy == SIPDANCE_CHAIN_REQUIRED, &c->via_chain);
	su_timer_set_interval(c->timer, handshake_timeout, c, f->conf->handshake_timeout_ms);
	f->handshakes++;
	px_log(SIPDANCE_LOG_INFO, "fed", "new TLS connection to %s for %s (SNI %s, rule %s)",
	       px_addr_str(sa, peer, sizeof(peer)), domain, c->target->base_domain,
	       c->target->decision.rule);
	if (!r->spare)
		r->spare = msg_copy(r->msg);
	if (!(orq = send_on(r, domain, NULL))) {
		c->first = NULL;
		r->conn = NULL;
		fail(r, 500, "internal", "cannot create transaction");
		c->state = FAILED;
		conn_dispatch(c);
		return;
	}
	c->tp = nta_outgoing_transport(orq);
	r->event(r->arg, PX_FED_SENT, orq, 0, NULL);
}

/* classify - the Reason cause for a domain with no usable target */
static const char *classify(const struct sipdance_locate *loc)
{
	const char *why = sipdance_locate_why(loc);

	for (size_t i = 0; i < sipdance_locate_count(loc); i++) {
		const char *rule = sipdance_locate_target(loc, i)->decision.rule;

		if (rule && !strncmp(rule, "bogus", 5))
			return "bogus";
	}
	return why && strstr(why, "BOGUS") ? "bogus" : "no usable target";
}

static int set_addr(const struct px_fed *f, struct sockaddr_storage *ss, const struct sipdance_target *t,
		    size_t n);

/* usable - whether a connection to target @t may be tried */
static int usable(const struct px_fed *f, const struct sipdance_locate *loc,
		  const struct sipdance_target *t)
{
	/*
	 * Case by case:
	 *  - not TLS: no;
	 *  - the policy allows it (DANE or PKIX): yes;
	 *  - --chain required, where TLSA is not looked up: a target reached
	 *    over a secure NAPTR/SRV and address chain (its host is then a
	 *    reference identifier) may be tried; only the peer's valid chain
	 *    can authenticate the connection;
	 *  - anything else the policy refuses: no.
	 */
	if (t->transport != SIPDANCE_TP_TLS)
		return 0;
	if (t->decision.action != SIPDANCE_ACT_REFUSE)
		return 1;
	return f->chain_policy == SIPDANCE_CHAIN_REQUIRED && f->chain_client &&
	       t->addr_status == SIPDANCE_DNS_SECURE && t->naddr &&
	       (t->nrefids == 2 || !strcasecmp(t->base_domain, sipdance_locate_domain(loc)));
}

/* pick - candidate number @from or the next one: targets in RFC 3263 order
 * that the policy allows, each of their addresses we can reach (IPv6 first);
 * the target, with the address in *addr and its number in *cand; NULL if none */
static const struct sipdance_target *pick(const struct px_fed *f, const struct sipdance_locate *loc,
					  size_t from, struct sockaddr_storage *addr, size_t *cand,
					  char *why, size_t size)
{
	const struct sipdance_target *t;
	size_t off = 0, k = 0;

	why[0] = '\0';
	for (size_t i = 0; i < sipdance_locate_count(loc); i++) {
		t = sipdance_locate_target(loc, i);
		if (usable(f, loc, t) && set_addr(f, addr, t, 0)) {
			for (size_t n = 0; set_addr(f, addr, t, n); n++, k++)
				if (k >= from) {
					*cand = k;
					return t;
				}
			continue;
		}
		if (off < size)
			off += (size_t)snprintf(why + off, size - off, "%s%s:%u %s (%s)", off ? "; " : "",
						t->host, t->port, t->decision.rule ? t->decision.rule : "?",
						t->decision.action == SIPDANCE_ACT_REFUSE ? t->decision.reason
						: "no address reachable from our TLS listeners, or only this proxy's own");
	}
	if (!why[0])
		snprintf(why, size, "%s", sipdance_locate_why(loc)[0] ? sipdance_locate_why(loc)
			 : "no TLS target");
	return NULL;
}

/* tls_family - whether a TLS listener of ours has address family @af (we
 * connect out from it, so a target address of another family is unreachable) */
static int tls_family(const struct px_conf *conf, int af)
{
	for (size_t i = 0; i < conf->nlisten; i++) {
		const char *u = conf->listen[i];

		if (strncasecmp(u, "sips:", 5) && !strstr(u, "transport=tls"))
			continue;
		if ((strchr(u, '[') != NULL) == (af == AF_INET6))
			return 1;
	}
	return 0;
}

/* set_addr - the socket address of a target: its @n-th address of a family we
 * have, IPv6 ones first (RFC 8305), that is not one of our own listeners (a
 * domain whose DNS points at us would have us send its requests to
 * ourselves); 0 if there is no such address */
static int set_addr(const struct px_fed *f, struct sockaddr_storage *ss, const struct sipdance_target *t,
		    size_t n)
{
	for (int pass = 0; pass < 2; pass++) {
		int af = pass ? AF_INET : AF_INET6;

		if (!tls_family(f->conf, af))
			continue;
		for (size_t i = 0; i < t->naddr; i++) {
			if (t->addr[i].family != af)
				continue;
			memset(ss, 0, sizeof(*ss));
			if (af == AF_INET6) {
				struct sockaddr_in6 *in6 = (void *)ss;

				in6->sin6_family = AF_INET6;
				in6->sin6_port = htons(t->port);
				memcpy(&in6->sin6_addr, t->addr[i].addr, 16);
			} else {
				struct sockaddr_in *in = (void *)ss;

				in->sin_family = AF_INET;
				in->sin_port = htons(t->port);
				memcpy(&in->sin_addr, t->addr[i].addr, 4);
			}
			if (!px_self_addr(f->me, (const struct sockaddr *)ss) && n-- == 0)
				return 1;
		}
	}
	return 0;
}

/*
 * Inbound rules: each is one way a TLS client can authenticate for the
 * domain it claims. It returns 1 on MATCH; otherwise 0 with *v and why[]
 * saying what failed; @rule names it for the log line. The DANCE client
 * identity (src/clientid: sipdance_clientid_peer_verdict) is one more entry.
 */
typedef int (inbound_rule_fn)(struct px_fedreq *r, const char **rule, struct sipdance_verdict *v,
			      char *why, size_t size);

/* rule_server_tlsa - the client presents the domain's server identity: its
 * TLSA records under the policy, or RFC 5922 PKIX where the policy falls back */
static int rule_server_tlsa(struct px_fedreq *r, const char **rule, struct sipdance_verdict *v,
			    char *why, size_t size)
{
	const struct sipdance_target *t;

	/*
	 * The decision, case by case:
	 *  - a target the policy refuses (bogus, dane=required without TLSA, no
	 *    CA file for PKIX) cannot vouch for a client: skipped;
	 *  - a target whose DANE records (or RFC 5922 PKIX under the fallback)
	 *    authenticate the client chain: accepted, the domain's server
	 *    identity is the client's;
	 *  - no target authenticates the chain: refused with the last reason.
	 */
	for (size_t i = 0; i < sipdance_locate_count(r->loc); i++) {
		t = sipdance_locate_target(r->loc, i);
		if (t->transport != SIPDANCE_TP_TLS)
			continue;
		*rule = t->decision.rule ? t->decision.rule : "?";
		if (t->decision.action == SIPDANCE_ACT_REFUSE) {
			snprintf(why, size, "%s (%s)", t->decision.reason, *rule);
			continue;
		}
		if (sipdance_target_verify(r->fed->dane, t, r->chain, v) == 0 &&
		    v->result == SIPDANCE_MATCH)
			return 1;
		snprintf(why, size, "%s", v->reason);
	}
	return 0;
}

/* rule_clientid - the client authenticated a host ClientName by its client TLSA
 * (dane_clientid, checked in the handshake): that host must be one of the
 * domain's located servers */
static int rule_clientid(struct px_fedreq *r, const char **rule, struct sipdance_verdict *v,
			 char *why, size_t size)
{
	const char *domain = sipdance_locate_domain(r->loc), *cdomain;
	enum sipdance_clientid_kind kind;
	char name[SIPDANCE_CLIENTID_MAX + 1];
	const struct sipdance_target *t;

	/*
	 * The decision, case by case:
	 *  - no DANE-authenticated ClientName on the connection: not this rule;
	 *  - a user name (<hash>._user.<domain>): users are not peer proxies: not
	 *    this rule (the registrar's user check applies to them);
	 *  - a host name equal to the claimed domain: accepted;
	 *  - a host name equal to a reference identifier (SRV target, TLSA base
	 *    domain of a secure chain) of a TLS target the policy does not refuse:
	 *    accepted; the DNS said that host serves the domain;
	 *  - any other host: not this rule, the reason says which host it was.
	 */
	if (!px_hook_client_name(r->ssl, name, sizeof(name), NULL, NULL) || sipdance_clientid_check(name, &kind, &cdomain, NULL) ||
	    kind != SIPDANCE_CLIENTID_HOST)
		return 0;
	*rule = "dane-clientid";
	if (!strcasecmp(name, domain)) {
		snprintf(v->reason, sizeof(v->reason), "client TLSA of %.200s (dane_clientid)", name);
		return 1;
	}
	for (size_t i = 0; i < sipdance_locate_count(r->loc); i++) {
		t = sipdance_locate_target(r->loc, i);
		if (t->transport != SIPDANCE_TP_TLS || t->decision.action == SIPDANCE_ACT_REFUSE)
			continue;
		for (size_t j = 0; j < t->nrefids; j++)
			if (t->refids[j] && !strcasecmp(t->refids[j], name)) {
				snprintf(v->reason, sizeof(v->reason),
					 "client TLSA of %.100s (dane_clientid), a server of %.100s", name, domain);
				return 1;
			}
	}
	snprintf(why, size, "dane_clientid %s is not a server of %s", name, domain);
	return 0;
}

static inbound_rule_fn *const inbound_rules[] = { rule_clientid, rule_server_tlsa };

/* authorize - inbound: does the client chain authenticate for the located domain? */
static void authorize(struct px_fedreq *r)
{
	const char *domain = sipdance_locate_domain(r->loc), *rule = "none";
	struct sipdance_verdict v = { .result = SIPDANCE_NOMATCH };
	char peer[64], why[300] = "";
	int ok = 0;

	for (size_t i = 0; i < sizeof(inbound_rules) / sizeof(inbound_rules[0]) && !ok; i++)
		ok = inbound_rules[i](r, &rule, &v, why, sizeof(why));
	if (!why[0] && !ok)
		snprintf(why, sizeof(why), "%s", sipdance_locate_why(r->loc));
	px_log(ok ? SIPDANCE_LOG_INFO : SIPDANCE_LOG_WARN, "auth",
	       "peer=%s domain=%s rule=%s verdict=%s (inbound client: %s)",
	       px_addr_str((const struct sockaddr *)&r->peer, peer, sizeof(peer)), domain, rule,
	       ok ? "MATCH" : sipdance_result_str(v.result), ok ? v.reason : why);
	px_hook_client_remember(r->ssl, domain, ok);
	if (ok) {
		r->auth(r->arg, 1, NULL);
		req_free(r);
	} else {
		fail(r, 403, "client not authenticated for its domain", why);
	}
}

/* located - the location of a request's domain is known */
static void located(void *arg, struct sipdance_locate *loc)
{
	struct px_fedreq *r = arg;
	char why[300];

	if (r->inbound) {
		authorize(r);
		return;
	}
	if (!(r->target = pick(r->fed, loc, 0, &r->addr, &r->cand, why, sizeof(why)))) {
		const char *rule = "locate";

		for (size_t i = 0; i < sipdance_locate_count(loc); i++)
			if (sipdance_locate_target(loc, i)->decision.rule) {
				rule = sipdance_locate_target(loc, i)->decision.rule;
				break;
			}
		px_log(SIPDANCE_LOG_WARN, "auth", "peer=- domain=%s rule=%s verdict=REFUSE (%s)",
		       sipdance_locate_domain(loc), rule, why);
		fail(r, classify(loc)[0] == 'b' ? 502 : 503, classify(loc), why);
		return;
	}
	req_connect(r);
}

/* start - a request object and its location */
static int start(struct px_fed *f, struct px_fedreq *r, const char *uri)
{
	struct sipdance_locate_conf lc = { .dns = f->dns, .policy = f->policy, .dane = f->dane,
					   .no_tlsa = !r->inbound && f->chain_client &&
						      f->chain_policy == SIPDANCE_CHAIN_REQUIRED };
	const char *why = NULL;

	r->fed = f;
	if (!f->dns) {
		fail(r, 503, "no usable target", "no --resolver configured: federation is off");
		return 0;
	}
	if (sipdance_locate_start(&r->loc, &lc, uri, located, r, &why)) {
		fail(r, 416, "no usable target", why ? why : "cannot locate this URI");
		return 0;
	}
	return 0;
}

/* px_fed_send - send @msg to foreign @uri (sip:host[:port]) once it is authenticated */
int px_fed_send(struct px_fed *f, struct px_fedreq **out, msg_t *msg, const char *uri,
		const char *loop, nta_response_f *response, void *magic, px_fed_event_fn *event,
		void *arg)
{
	struct px_fedreq *r = calloc(1, sizeof(*r));
	nta_outgoing_t *orq;

	if (!r) {
		msg_destroy(msg);
		return ENOMEM;
	}
	r->fed = f;
	r->msg = msg;
	r->response = response;
	r->magic = magic;
	r->event = event;
	r->arg = arg;
	snprintf(r->uri, sizeof(r->uri), "%s", uri);
	snprintf(r->loop, sizeof(r->loop), "%s", loop);
	*out = r;
	/* a live connection authenticated for this very URI in the last
	 * REUSE_WITHOUT_LOCATE_S seconds: no new location (SIGHUP, a closed
	 * connection or the time limit makes the next request locate again) */
	for (struct fconn *c = f->conns; c; c = c->next) {
		if (c->state != AUTHENTICATED || strcasecmp(c->uri, uri) || !live(c) ||
		    mono_s() - c->authenticated >= REUSE_WITHOUT_LOCATE_S)
			continue;
		r->addr = c->addr;
		if ((orq = send_on(r, c->domain, c->tp)))
			event(arg, PX_FED_DONE, orq, 0, NULL);
		else
			event(arg, PX_FED_FAIL, NULL, 500, "internal: cannot create transaction");
		req_free(r);
		return 0;
	}
	return start(f, r, uri);
}

/* px_fed_authorize - does the client of TLS connection @ssl authenticate for @domain? */
int px_fed_authorize(struct px_fed *f, struct px_fedreq **out, SSL *ssl, const struct sockaddr *peer,
		     const char *domain, px_fed_auth_fn *auth, void *arg)
{
	struct px_fedreq *r = calloc(1, sizeof(*r));
	STACK_OF(X509) *chain = px_hook_client_chain(ssl);
	char uri[300];

	if (!r || !chain || !(r->chain = X509_chain_up_ref(chain)) || !SSL_up_ref(ssl)) {
		if (r)
			sk_X509_pop_free(r->chain, X509_free);
		free(r);
		return ENOMEM;
	}
	r->ssl = ssl;
	r->inbound = 1;
	r->auth = auth;
	r->arg = arg;
	memcpy(&r->peer, peer, peer->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
							   : sizeof(struct sockaddr_in));
	*out = r;
	snprintf(uri, sizeof(uri), "sip:%s", domain);
	return start(f, r, uri);
}

/* px_fed_cancel - the caller no longer wants @r: no callback will run */
void px_fed_cancel(struct px_fedreq *r)
{
	if (!r)
		return;
	unlink_req(r);
	req_free(r);
}
