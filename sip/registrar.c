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
#include "auth.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/rand.h>
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
	if (!sip->sip_to || px_canon_aor(sip->sip_to->a_url, aor, sizeof(aor)))
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
