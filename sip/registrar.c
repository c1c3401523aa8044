/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * registrar.c - the location service of the local domain: bindings made by
 * REGISTER (RFC 3261 §10.3) with their expiry, kept in memory, plus static
 * entries from the configuration that never expire. A binding registered
 * over TLS keeps that connection (its flow, as in RFC 5626 and RFC 5923):
 * requests to the contact go back over it, since a new TLS connection to a
 * user's IP address could not be authenticated; the binding ends with it.
 * Each such flow has a random token the proxy puts in its Record-Route, so
 * that requests inside the dialog find the same connection (RFC 5626 §5.3);
 * a flow and its token last as long as bindings use the connection.
 */
#include "proxy.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/rand.h>
#include <sipdance/clientid.h>
#include <sofia-sip/sip.h>
#include <sofia-sip/sip_extra.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_status.h>
#include <sofia-sip/sip_tag.h>
#include <sofia-sip/tport.h>
#include <sofia-sip/url.h>

#define MAX_BINDINGS 4096

struct binding {
	char *aor;        /* "user@domain", lowercase */
	url_t *contact;
	char *contact_str;
	time_t expires;   /* 0: static */
	tport_t *flow;    /* the TLS connection it was registered over (its flow holds the reference), or NULL */
};

struct flow {
	tport_t *tp;      /* a reference */
	size_t users;     /* bindings registered over it */
	char token[PX_FLOW_TOKEN];
};

struct px_registrar {
	su_home_t home[1];
	struct binding *b;
	size_t n, cap;
	struct flow *f;   /* one per connection that carries bindings, while it does */
	size_t nf, fcap;
	unsigned max_expires;
};

/* px_registrar_alloc - an empty location service */
int px_registrar_alloc(struct px_registrar **out, su_home_t *parent, unsigned max_expires)
{
	struct px_registrar *r = su_home_clone(parent, sizeof(*r));

	if (!r)
		return ENOMEM;
	r->max_expires = max_expires;
	*out = r;
	return 0;
}

/* grow - room for one more element in *@arr (@n used of *@cap, @size bytes each); 0 or ENOMEM */
static int grow(su_home_t *home, void **arr, size_t n, size_t *cap, size_t size)
{
	size_t c = *cap ? 2 * *cap : 16;
	void *p;

	if (n < *cap)
		return 0;
	if (!(p = su_realloc(home, *arr, c * size)))
		return ENOMEM;
	*arr = p;
	*cap = c;
	return 0;
}

/* flow_add - one more binding over connection @tp (a token for it the first time); 0 or an errno */
static int flow_add(struct px_registrar *r, tport_t *tp)
{
	unsigned char rnd[(PX_FLOW_TOKEN - 1) / 2];

	for (size_t i = 0; i < r->nf; i++)
		if (r->f[i].tp == tp) {
			r->f[i].users++;
			return 0;
		}
	if (grow(r->home, (void **)&r->f, r->nf, &r->fcap, sizeof(*r->f)))
		return ENOMEM;
	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		return EIO;
	for (size_t i = 0; i < sizeof(rnd); i++)
		snprintf(r->f[r->nf].token + 2 * i, 3, "%02x", rnd[i]);
	r->f[r->nf].users = 1;
	r->f[r->nf++].tp = tport_ref(tp);
	return 0;
}

/* flow_release - one binding less over @tp; the flow and its token go with the last one */
static void flow_release(struct px_registrar *r, tport_t *tp)
{
	for (size_t i = 0; i < r->nf; i++)
		if (r->f[i].tp == tp) {
			if (--r->f[i].users == 0) {
				tport_unref(r->f[i].tp);
				r->f[i] = r->f[--r->nf];
			}
			return;
		}
}

/* drop - remove the @i-th binding */
static void drop(struct px_registrar *r, size_t i)
{
	su_free(r->home, r->b[i].aor);
	su_free(r->home, r->b[i].contact);
	su_free(r->home, r->b[i].contact_str);
	if (r->b[i].flow)
		flow_release(r, r->b[i].flow);
	r->b[i] = r->b[--r->n];
}

/* px_registrar_free - drop every binding and flow (before the agent that owns the connections) */
void px_registrar_free(struct px_registrar *r)
{
	if (!r)
		return;
	while (r->n)
		drop(r, r->n - 1);
	su_home_zap(r->home);
}

/* aor_of - "user@host" of @url, lowercase, into buf; 0 or EINVAL */
static int aor_of(const url_t *url, char *buf, size_t size)
{
	int n;

	if (!url || !url->url_user || !url->url_host)
		return EINVAL;
	n = snprintf(buf, size, "%s@%s", url->url_user, url->url_host);
	if (n < 0 || (size_t)n >= size)
		return EINVAL;
	for (char *p = buf; *p; p++)
		*p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
	return 0;
}

/* expire - remove bindings that have run out or whose flow has closed;
 * the number of those of @aor (if given) that lost their flow */
static size_t expire(struct px_registrar *r, const char *aor)
{
	time_t now = time(NULL);
	size_t closed = 0;

	for (size_t i = 0; i < r->n;) {
		if (r->b[i].flow && tport_is_closed(r->b[i].flow)) {
			px_log(SIPDANCE_LOG_INFO, "registrar", "%s: binding <%s> removed: the TLS "
			       "connection it was registered over has closed", r->b[i].aor,
			       r->b[i].contact_str);
			closed += aor && !strcmp(r->b[i].aor, aor);
			drop(r, i);
		} else if (r->b[i].expires && r->b[i].expires <= now) {
			drop(r, i);
		} else {
			i++;
		}
	}
	return closed;
}

/* find - the binding of @aor to a contact equal to @c, or NULL */
static struct binding *find(struct px_registrar *r, const char *aor, const url_t *c)
{
	for (size_t i = 0; i < r->n; i++)
		if (!strcmp(r->b[i].aor, aor) && url_cmp_all(r->b[i].contact, c) == 0)
			return &r->b[i];
	return NULL;
}

/* add_binding - add or refresh a binding over @flow (may be NULL); expires 0 means static */
static int add_binding(struct px_registrar *r, const char *aor, const url_t *contact, time_t expires,
		       tport_t *flow)
{
	struct binding *b = find(r, aor, contact);

	if (b) {
		if (!b->expires)
			return 0;
		b->expires = expires;
		if (b->flow != flow) {
			if (flow && flow_add(r, flow))
				return ENOMEM;
			if (b->flow)
				flow_release(r, b->flow);
			b->flow = flow;
		}
		return 0;
	}
	if (r->n == MAX_BINDINGS)
		return ENOSPC;
	if (grow(r->home, (void **)&r->b, r->n, &r->cap, sizeof(*r->b)))
		return ENOMEM;
	b = &r->b[r->n];
	b->aor = su_strdup(r->home, aor);
	b->contact = url_hdup(r->home, contact);
	b->contact_str = b->contact ? url_as_string(r->home, b->contact) : NULL;
	b->expires = expires;
	b->flow = NULL;
	if (!b->aor || !b->contact || !b->contact_str || (flow && flow_add(r, flow))) {
		su_free(r->home, b->aor);
		su_free(r->home, b->contact);
		su_free(r->home, b->contact_str);
		return ENOMEM;
	}
	b->flow = flow;
	r->n++;
	return 0;
}

/* unbind - remove the binding of @aor to @contact (all of them if NULL) */
static void unbind(struct px_registrar *r, const char *aor, const url_t *contact)
{
	for (size_t i = 0; i < r->n;) {
		if (r->b[i].expires && !strcmp(r->b[i].aor, aor) &&
		    (!contact || url_cmp_all(r->b[i].contact, contact) == 0)) {
			drop(r, i);
		} else {
			i++;
		}
	}
}

/* px_registrar_add_static - a configured binding */
int px_registrar_add_static(struct px_registrar *r, const char *aor, const char *contact)
{
	url_t *u = url_make(r->home, contact);
	char key[512];
	int err;

	if (!u || (u->url_type != url_sip && u->url_type != url_sips) || !u->url_host)
		return EINVAL;
	snprintf(key, sizeof(key), "%s", aor);
	for (char *p = key; *p; p++)
		*p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
	err = add_binding(r, key, u, 0, NULL);
	su_free(r->home, u);
	return err;
}

/* px_registrar_handle - REGISTER for a user of our domain, received over @flow
 * (the TLS connection, or NULL) */
int px_registrar_handle(struct px_registrar *r, nta_incoming_t *irq, const sip_t *sip, tport_t *flow)
{
	char aor[512], *list = NULL, *tmp;
	const sip_contact_t *m;
	time_t now = time(NULL);
	unsigned long dflt = 3600;
	int err = 0, status;

	expire(r, NULL);
	if (!sip->sip_to || aor_of(sip->sip_to->a_url, aor, sizeof(aor)))
		return nta_incoming_treply(irq, 400, "Bad To for REGISTER", TAG_END()), 400;
	if (sip->sip_expires)
		dflt = sip->sip_expires->ex_delta;
	/* "Contact: *" with Expires: 0 removes every binding (RFC 3261 §10.3 step 6) */
	if (sip->sip_contact && sip->sip_contact->m_url->url_type == url_any) {
		if (dflt != 0 || sip->sip_contact->m_next)
			return nta_incoming_treply(irq, 400, "Bad Wildcard Contact", TAG_END()), 400;
		unbind(r, aor, NULL);
	}
	for (m = sip->sip_contact; m && !err; m = m->m_next) {
		unsigned long e = m->m_expires ? strtoul(m->m_expires, NULL, 10) : dflt;

		if (m->m_url->url_type == url_any)
			continue;
		if (e > r->max_expires)
			e = r->max_expires;
		if (e == 0)
			unbind(r, aor, m->m_url);
		else
			err = add_binding(r, aor, m->m_url, now + (time_t)e, flow);
	}
	if (err) {
		status = err == ENOSPC ? 503 : 500;
		nta_incoming_treply(irq, status, err == ENOSPC ? "Location Service Full"
				    : "Internal Server Error", TAG_END());
		return status;
	}
	/* the reply lists every current binding with its remaining time */
	for (size_t i = 0; i < r->n; i++) {
		if (strcmp(r->b[i].aor, aor))
			continue;
		tmp = su_sprintf(r->home, "%s%s<%s>;expires=%ld", list ? list : "", list ? ", " : "",
				 r->b[i].contact_str, r->b[i].expires ? (long)(r->b[i].expires - now)
				 : (long)r->max_expires);
		if (r->b[i].flow)
			px_log(SIPDANCE_LOG_INFO, "registrar", "%s: <%s> is reached over the TLS "
			       "connection it registered on", aor, r->b[i].contact_str);
		su_free(r->home, list);
		list = tmp;
	}
	px_log(SIPDANCE_LOG_INFO, "registrar", "REGISTER %s: %s", aor, list ? list : "no bindings");
	nta_incoming_treply(irq, SIP_200_OK, TAG_IF(list, SIPTAG_CONTACT_STR(list)), TAG_END());
	su_free(r->home, list);
	return 200;
}

/* px_registrar_lookup - live contacts of @aor with their flows */
size_t px_registrar_lookup(struct px_registrar *r, const char *aor, const url_t **out,
			   tport_t **flows, size_t max, size_t *closed)
{
	char key[512];
	size_t n = 0;

	snprintf(key, sizeof(key), "%s", aor);
	for (char *p = key; *p; p++)
		*p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
	*closed = expire(r, key);
	for (size_t i = 0; i < r->n && n < max; i++)
		if (!strcmp(r->b[i].aor, key)) {
			flows[n] = r->b[i].flow;
			out[n++] = r->b[i].contact;
		}
	return n;
}

/* px_registrar_flow_token - the token of connection @tp if bindings were
 * registered over it (into buf, PX_FLOW_TOKEN bytes): 1, else 0 */
int px_registrar_flow_token(struct px_registrar *r, tport_t *tp, char *buf)
{
	for (size_t i = 0; tp && i < r->nf; i++)
		if (r->f[i].tp == tp && !tport_is_closed(tp)) {
			memcpy(buf, r->f[i].token, PX_FLOW_TOKEN);
			return 1;
		}
	return 0;
}

/* px_registrar_flow_find - the open connection of flow @token, or NULL */
tport_t *px_registrar_flow_find(struct px_registrar *r, const char *token)
{
	expire(r, NULL);
	for (size_t i = 0; i < r->nf; i++)
		if (!strcmp(r->f[i].token, token))
			return tport_is_closed(r->f[i].tp) ? NULL : r->f[i].tp;
	return NULL;
}

/* paid_url - the URI of the first P-Asserted-Identity (sofia-sip's default
 * parser keeps it as an unknown header), parsed into @home; NULL if none */
static const url_t *paid_url(const sip_t *sip, su_home_t *home)
{
	sip_from_t *a;

	for (const sip_unknown_t *u = sip->sip_unknown; u; u = u->un_next)
		if (u->un_name && !strcasecmp(u->un_name, "P-Asserted-Identity") && u->un_value &&
		    (a = sip_from_make(home, u->un_value)))
			return a->a_url;
	return NULL;
}

/* px_registrar_user_check - a TLS client that presented a DANCE user identity
 * speaks only for that user: 0 to go on, or 403 with the Reason text in why[] */
int px_registrar_user_check(SSL *ssl, const struct sockaddr *peer, const sip_t *sip,
			    const char *our_domain, char *why, size_t size)
{
	struct sipdance_verdict v = { .result = SIPDANCE_INDETERMINATE };
	enum sipdance_clientid_kind kind;
	char name[SIPDANCE_CLIENTID_MAX + 1], owner[SIPDANCE_CLIENTID_MAX + 1], addr[512], pstr[64];
	const char *domain, *which, *uwhy = NULL;
	const url_t *url;
	su_home_t home[1] = { SU_HOME_INIT(home) };
	int presented = 0;

	/*
	 * The decision, case by case:
	 *  - no ClientName presented on the connection (plain TLS, TLS 1.2, no
	 *    certificate): no DANCE identity, nothing decided here;
	 *  - a ClientName presented but not authenticated (no TLSA, insecure,
	 *    not in --client-domains; a mismatch never gets this far, the
	 *    handshake refuses it): a REGISTER, or a request whose From is in our
	 *    domain, is refused (a failed identity is no identity); a peer
	 *    proxy's foreign From goes on to the From-domain check;
	 *  - an authenticated host name (a peer proxy): nothing decided here, the
	 *    From-domain check uses it;
	 *  - an authenticated user name: REGISTER's To, else P-Asserted-Identity,
	 *    else From must hash to exactly that owner name; otherwise refused.
	 */
	if (!px_hook_client_name(ssl, name, sizeof(name), &v, &presented)) {
		if (!presented || (sip->sip_request->rq_method != sip_method_register &&
				   (!sip->sip_from || !sip->sip_from->a_url->url_host ||
				    strcasecmp(sip->sip_from->a_url->url_host, our_domain))))
			return 0;
		snprintf(why, size, "client not authenticated: dane_clientid %s (%s)",
			 sipdance_result_str(v.result), v.reason);
		px_log(SIPDANCE_LOG_WARN, "auth", "peer=%s user=? rule=dane-clientid verdict=REFUSE (%s)",
		       px_addr_str(peer, pstr, sizeof(pstr)), why);
		return 403;
	}
	if (sipdance_clientid_check(name, &kind, &domain, NULL) || kind != SIPDANCE_CLIENTID_USER)
		return 0;
	if (sip->sip_request->rq_method == sip_method_register) {
		url = sip->sip_to ? sip->sip_to->a_url : NULL;
		which = "To";
	} else if ((url = paid_url(sip, home))) {
		which = "P-Asserted-Identity";
	} else {
		url = sip->sip_from ? sip->sip_from->a_url : NULL;
		which = "From";
	}
	if (!url || !url->url_user || !url->url_host ||
	    snprintf(addr, sizeof(addr), "%s@%s", url->url_user, url->url_host) >= (int)sizeof(addr) ||
	    sipdance_clientid_user_name(addr, owner, sizeof(owner), &uwhy) ||
	    strcasecmp(owner, name)) {
		snprintf(why, size, "identity mismatch: %s %s is not the user authenticated by "
			 "dane_clientid (%.16s..._user.%s)", which,
			 url && url->url_user && url->url_host ? addr : "(no user@host)", name, domain);
		px_log(SIPDANCE_LOG_WARN, "auth", "peer=%s user=%s rule=dane-clientid verdict=REFUSE (%s)",
		       px_addr_str(peer, pstr, sizeof(pstr)), url && url->url_user ? addr : "?", why);
		su_home_deinit(home);
		return 403;
	}
	px_log(SIPDANCE_LOG_INFO, "auth", "peer=%s user=%s rule=dane-clientid verdict=MATCH "
	       "(%s %s hashes to the authenticated %.16s..._user.%s)",
	       px_addr_str(peer, pstr, sizeof(pstr)), addr, sip->sip_request->rq_method_name, which,
	       name, domain);
	su_home_deinit(home);
	return 0;
}
