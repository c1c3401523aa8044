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
 * a flow and its token last as long as bindings use the connection. A
 * binding a REGISTER made by the DANCE identity of its connection rests on
 * that identity: it keeps the connection's SSL, and goes when proxy.c finds
 * the identity no longer valid (px_registrar_lapse).
 *
 * With --state, the bindings are shared with the domain's other nodes: each
 * node writes its own for an AOR as one field (its node name) of the Redis
 * hash reg:AOR after every REGISTER, "EXPIRES CONTACT" lines, and a lookup
 * reads the other nodes' fields, every line checked as a REGISTER's contact
 * would be (a store is not trusted). A binding over a flow can only be
 * reached through the node that holds the connection: its line is "EXPIRES
 * CONTACT TOKEN NODE", NODE the address of that node's TLS listener, and
 * the key flow:TOKEN names NODE too, for requests inside the flow's dialogs
 * that reach another node. The other nodes route such requests through NODE
 * (proxy.c: a node of our domain, authenticated as its server); the flow
 * and its keys end with the connection, or with the node.
 *
 * What one REGISTER may do is bounded: only our domain, contacts that are IP
 * addresses other than ours and without maddr, at most --max-contacts
 * bindings per AOR and --max-source-bindings per source address, and a reply
 * over UDP no larger than the request or the 1300 bytes RFC 3261 §18.1.1
 * allows, whichever is more (no amplification).
 */
#include "auth.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <arpa/inet.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/rand.h>
#include <sipdance/store.h>
#include <sofia-sip/sip.h>
#include <sofia-sip/sip_extra.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_status.h>
#include <sofia-sip/sip_tag.h>
#include <sofia-sip/tport.h>
#include <sofia-sip/url.h>

#define MAX_BINDINGS 4096
/* RFC 3261 §18.1.1: what goes over UDP when the path MTU is unknown */
#define UDP_MAX 1300
/* longest contact URI accepted */
#define MAX_CONTACT 256
/* a REGISTER reads its AOR's shared bindings at most this often while other writes keep coming between */
#define MAX_READS 4

struct binding {
	char *aor;        /* "user@domain", lowercase */
	url_t *contact;
	char *contact_str;
	time_t expires;   /* 0: static */
	tport_t *flow;    /* the TLS connection it was registered over (its flow holds the reference), or NULL */
	SSL *identity;    /* that connection, when its DANCE identity authenticated the REGISTER (a reference) */
	struct sockaddr_storage source; /* who registered it (family 0: static) */
	int listed;       /* scratch: already in the reply being built */
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
	const struct px_conf *conf;
	const struct px_self *me;
	struct sipdance_store *store; /* --state, or NULL */
	const char *node;
	char node_addr[64]; /* "IP:PORT" where the other nodes reach our flows, or "" */
	struct sockaddr_storage node_ss; /* the same, parsed (family 0 if "") */
};

/* A lookup of the bindings other nodes shared, or of a flow's node. */
struct px_regq {
	struct px_registrar *r;
	struct sipdance_store_op *op;
	px_shared_fn *fn;
	px_owner_fn *owner;
	void *arg;
};

/* px_registrar_alloc - an empty location service for @conf's domain and limits */
int px_registrar_alloc(struct px_registrar **out, su_home_t *parent, const struct px_self *me,
		       const struct px_conf *conf)
{
	struct px_registrar *r = su_home_clone(parent, sizeof(*r));

	if (!r)
		return ENOMEM;
	r->conf = conf;
	r->me = me;
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

static void flow_share(struct px_registrar *r, const char *token, unsigned ttl);

/* flow_release - one binding less over @tp; the flow and its token go with the last one */
static void flow_release(struct px_registrar *r, tport_t *tp)
{
	for (size_t i = 0; i < r->nf; i++)
		if (r->f[i].tp == tp) {
			if (--r->f[i].users == 0) {
				flow_share(r, r->f[i].token, 0);
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
	SSL_free(r->b[i].identity);
	r->b[i] = r->b[--r->n];
}

/* px_registrar_free - drop every binding and flow (before the agent that owns the connections) */
void px_registrar_free(struct px_registrar *r)
{
	if (!r)
		return;
	r->store = NULL; /* freed before us: the flows' keys expire by themselves */
	while (r->n)
		drop(r, r->n - 1);
	su_home_zap(r->home);
}

static int share(struct px_registrar *r, const char *aor, time_t now);

/* expire - remove bindings that have run out or whose flow has closed (the
 * shared state told); the number of those of @aor (if given) that lost their flow */
static size_t expire(struct px_registrar *r, const char *aor)
{
	time_t now = time(NULL);
	size_t closed = 0;
	char gone[512];

	for (size_t i = 0; i < r->n;) {
		if (r->b[i].flow && tport_is_closed(r->b[i].flow)) {
			px_log(SIPDANCE_LOG_INFO, "registrar", "%s: binding <%s> removed: the TLS "
			       "connection it was registered over has closed", r->b[i].aor,
			       r->b[i].contact_str);
			closed += aor && !strcmp(r->b[i].aor, aor);
			snprintf(gone, sizeof(gone), "%s", r->b[i].aor);
			drop(r, i);
			if (r->store && share(r, gone, now))
				px_log(SIPDANCE_LOG_ERR, "registrar", "%s: shared bindings not rewritten: "
				       "out of memory", gone);
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

/* add_binding - add or refresh a binding over @flow (may be NULL), authenticated
 * by @identity's DANCE identity (NULL: otherwise); expires 0 means static */
static int add_binding(struct px_registrar *r, const char *aor, const url_t *contact, time_t expires,
		       tport_t *flow, SSL *identity, const struct sockaddr_storage *source)
{
	struct binding *b = find(r, aor, contact);

	if (b) {
		if (!b->expires)
			return 0;
		b->expires = expires;
		b->source = *source;
		if (b->flow != flow) {
			if (flow && flow_add(r, flow))
				return ENOMEM;
			if (b->flow)
				flow_release(r, b->flow);
			b->flow = flow;
		}
		if (identity)
			SSL_up_ref(identity);
		SSL_free(b->identity);
		b->identity = identity;
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
	b->source = *source;
	b->listed = 0;
	if (!b->aor || !b->contact || !b->contact_str || (flow && flow_add(r, flow))) {
		su_free(r->home, b->aor);
		su_free(r->home, b->contact);
		su_free(r->home, b->contact_str);
		return ENOMEM;
	}
	b->flow = flow;
	if ((b->identity = identity))
		SSL_up_ref(identity);
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

/* px_registrar_add_static - a configured binding; EINVAL, or ELOOP if it is us */
int px_registrar_add_static(struct px_registrar *r, const char *aor, const char *contact)
{
	struct sockaddr_storage none = { 0 };
	url_t *u = url_make(r->home, contact);
	char key[512];
	int err;

	if (!u || (u->url_type != url_sip && u->url_type != url_sips) || !u->url_host)
		return EINVAL;
	if (px_self_url(r->me, u)) {
		su_free(r->home, u);
		return ELOOP;
	}
	snprintf(key, sizeof(key), "%s", aor);
	for (char *p = key; *p; p++)
		*p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
	err = add_binding(r, key, u, 0, NULL, NULL, &none);
	su_free(r->home, u);
	return err;
}

/* is_ip - whether a URI host is an IP literal */
static int is_ip(const char *host)
{
	unsigned char buf[16];

	return host && (host[0] == '[' || inet_pton(AF_INET, host, buf) == 1);
}

/* contact_check - NULL if contact @u may be bound (by a REGISTER over a TLS
 * flow if @flow), else why not */
static const char *contact_check(const struct px_registrar *r, const url_t *u, int flow)
{
	char buf[MAX_CONTACT + 1];

	/*
	 * The cases:
	 *  - not a sip:/sips: URI with a host: refused;
	 *  - longer than MAX_CONTACT: refused (it would be repeated in replies);
	 *  - a host name: refused; requests to it would go through sofia-sip's
	 *    resolver (outside DNSSEC, blocking) and could lead anywhere;
	 *  - maddr: refused; requests would go to that third address;
	 *  - one of our own listeners: refused; requests to the AOR would come
	 *    back here and multiply (a loop);
	 *  - a socket of ours that is not SIP (--state, --metrics): refused;
	 *    requests to the AOR would be read there as commands;
	 *  - sips: or transport=tls from a REGISTER not over TLS: refused;
	 *    requests to it would take any TLS connection from that address
	 *    (another user's flow, a peer proxy's) or open one to a user's
	 *    address, which nothing authenticates (over TLS, the flow carries
	 *    them whatever the contact says);
	 *  - anything else: accepted.
	 */
	if ((u->url_type != url_sip && u->url_type != url_sips) || !u->url_host)
		return "the contact is not a sip: or sips: URI with a host";
	if (url_e(buf, sizeof(buf), u) < 0 || strlen(buf) >= MAX_CONTACT)
		return "the contact URI is too long";
	if (!is_ip(u->url_host))
		return "the contact host must be an IP address";
	if (u->url_params && url_has_param(u, "maddr"))
		return "maddr in a contact is not accepted";
	if (px_self_url(r->me, u))
		return "the contact is this proxy (a loop)";
	if (px_self_other(r->me, u))
		return "the contact is a socket of this proxy that is not SIP (--state, --metrics)";
	if (!flow && (u->url_type == url_sips || (u->url_params && url_has_param(u, "transport=tls"))))
		return "a TLS contact is bound only by a REGISTER over its own TLS connection";
	return NULL;
}

/* limits - whether @aor may hold @n bindings, and @source @k: NULL, or why not */
static const char *limits(struct px_registrar *r, const char *aor, size_t n_new, size_t n_aor,
			  const struct sockaddr_storage *source, char *why, size_t size)
{
	size_t n_src = 0;

	for (size_t i = 0; i < r->n; i++)
		n_src += px_addr_same((const struct sockaddr *)&r->b[i].source,
				      (const struct sockaddr *)source, 1);
	if (n_aor + n_new > r->conf->max_contacts) {
		snprintf(why, size, "%.64s would have %zu bindings (--max-contacts %u)", aor,
			 n_aor + n_new, r->conf->max_contacts);
		return why;
	}
	if (n_src + n_new > r->conf->max_source_bindings) {
		snprintf(why, size, "this source would hold %zu bindings (--max-source-bindings %u)",
			 n_src + n_new, r->conf->max_source_bindings);
		return why;
	}
	if (r->n + n_new > MAX_BINDINGS) {
		snprintf(why, size, "location service full (%d bindings)", MAX_BINDINGS);
		return why;
	}
	return NULL;
}

/* refuse - a final answer with a Reason, logged */
static int refuse(nta_incoming_t *irq, const char *aor, int status, const char *phrase,
		  const char *why)
{
	char reason[400];
	size_t n = (size_t)snprintf(reason, sizeof(reason), "SIP;cause=%d;text=\"", status);

	for (const char *p = why; *p && n + 2 < sizeof(reason); p++)
		reason[n++] = *p == '"' || *p == '\\' ? '\'' : *p;
	snprintf(reason + n, sizeof(reason) - n, "\"");
	px_log(SIPDANCE_LOG_INFO, "registrar", "REGISTER %s -> %d %s (%s)", aor, status, phrase, why);
	nta_incoming_treply(irq, status, phrase, SIPTAG_REASON_STR(reason), TAG_END());
	return status;
}

/* reply_contacts - the Contact list of a 200 for @aor, within @budget bytes:
 * the bindings of this request (@sip) first, then the others; into @buf;
 * the number left out in *trimmed */
static void reply_contacts(struct px_registrar *r, const char *aor, const sip_t *sip,
			   time_t now, size_t budget, char *buf, size_t size, size_t *trimmed)
{
	size_t len = 0, n;
	char one[MAX_CONTACT + 64];

	*trimmed = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < r->n; i++)
		r->b[i].listed = 0;
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < r->n; i++) {
			struct binding *b = &r->b[i];
			int mine = 0;

			if (b->listed || strcmp(b->aor, aor))
				continue;
			for (const sip_contact_t *m = sip->sip_contact; m && !mine; m = m->m_next)
				mine = m->m_url->url_type != url_any && url_cmp_all(b->contact, m->m_url) == 0;
			if (pass == 0 && !mine)
				continue;
			b->listed = 1;
			n = (size_t)snprintf(one, sizeof(one), "%s<%s>;expires=%ld", len ? ", " : "",
					     b->contact_str, b->expires ? (long)(b->expires - now)
					     : (long)r->conf->max_expires);
			if (n >= sizeof(one) || len + n >= size || len + n > budget) {
				(*trimmed)++;
				continue;
			}
			memcpy(buf + len, one, n + 1);
			len += n;
			if (b->flow)
				px_log(SIPDANCE_LOG_INFO, "registrar", "%s: <%s> is reached over the TLS "
				       "connection it registered on", aor, b->contact_str);
		}
	}
}

/* Takes one valid contact of another node: NULL, or why it is left out. */
typedef const char *(each_fn)(void *arg, const struct px_contact *c);
static void shared_each(struct px_registrar *r, const char *value, size_t len, su_home_t *home,
			each_fn *fn, void *arg);

/* A REGISTER being checked against, then written to, the shared state (--state). */
struct px_regw {
	struct px_registrar *r;
	struct sipdance_store_op *op;
	nta_incoming_t *irq;
	struct px_regreq q;         /* its pointers live as long as the caller's transaction */
	px_reg_fn *done;
	void *arg;
	time_t now;
	unsigned long dflt;         /* the request's Expires, else 3600 */
	size_t n_other;             /* the AOR's contacts at the other nodes, ours and the request's left out */
	const url_t *other[64];     /* the first of them, to count each once */
	char *seen;                 /* the shared hash as counted: written only while it still is */
	size_t seen_len;
	unsigned reads;             /* times it was read */
	char aor[512];
	char val[8192];             /* what was written */
	size_t len;
};

/* line - "EXPIRES CONTACT@via\n" of one shared binding appended to @val (@len used): 0, or -1 when full */
static int line(char *val, size_t size, size_t *len, time_t expires, const url_t *contact, const char *via)
{
	char c[MAX_CONTACT + 1];
	int n;

	if (url_e(c, sizeof(c), contact) < 0)
		return -1;
	n = snprintf(val + *len, size - *len, "%lld %s%s\n", (long long)expires, c, via);
	if (n < 0 || (size_t)n >= size - *len)
		return -1;
	*len += (size_t)n;
	return 0;
}

/* via - how the other nodes reach a binding over flow @tp: "" (no flow: any
 * node), " TOKEN NODE" (through this node), or NULL (not at all: no node
 * address, or no token yet) */
static const char *via(struct px_registrar *r, tport_t *tp, char *buf, size_t size)
{
	char token[PX_FLOW_TOKEN];

	if (!tp)
		return "";
	if (!r->node_addr[0] || !px_registrar_flow_token(r, tp, token))
		return NULL;
	snprintf(buf, size, " %s %s", token, r->node_addr);
	return buf;
}

/* shared_value - the lines of this node's live bindings of @aor that are not
 * static, those over a flow with their token and this node, into @val: its length */
static size_t shared_value(struct px_registrar *r, const char *aor, time_t now, char *val, size_t size)
{
	char buf[128];
	const char *v;
	size_t len = 0;

	for (size_t i = 0; i < r->n; i++) {
		const struct binding *b = &r->b[i];

		if ((v = via(r, b->flow, buf, sizeof(buf))) && b->expires > now && !strcmp(b->aor, aor) &&
		    line(val, size, &len, b->expires, b->contact, v))
			break;
	}
	return len;
}

/* expiry - the lifetime REGISTER @sip asks for contact @m, within --max-expires */
static unsigned long expiry(const struct px_registrar *r, const sip_contact_t *m, unsigned long dflt)
{
	unsigned long e = m->m_expires ? strtoul(m->m_expires, NULL, 10) : dflt;

	return e > r->conf->max_expires ? r->conf->max_expires : e;
}

/* planned - shared_value() as it will be once REGISTER @w is applied */
static size_t planned(struct px_regw *w, char *val, size_t size)
{
	struct px_registrar *r = w->r;
	const sip_contact_t *c = w->q.sip->sip_contact, *m, *k;
	int wild = c && c->m_url->url_type == url_any;
	struct binding *b;
	char buf[128];
	const char *v;
	size_t len = 0;

	for (size_t i = 0; i < r->n && !wild; i++) {
		b = &r->b[i];
		if (!(v = via(r, b->flow, buf, sizeof(buf))) || b->expires <= w->now || strcmp(b->aor, w->aor))
			continue;
		for (m = c; m && url_cmp_all(b->contact, m->m_url); m = m->m_next)
			;
		if (!m && line(val, size, &len, b->expires, b->contact, v))
			return len;
	}
	/* over a TLS flow, the request's contacts are bound to it: shared with
	 * its token, or once it has one (on_written writes again) */
	v = via(r, w->q.flow, buf, sizeof(buf));
	for (m = c; m && !wild && v; m = m->m_next) {
		unsigned long e = expiry(r, m, w->dflt);

		for (k = m->m_next; k && url_cmp_all(k->m_url, m->m_url); k = k->m_next)
			;
		if (e == 0 || k || ((b = find(r, w->aor, m->m_url)) && !b->expires))
			continue; /* removed, repeated later in the request, or static */
		if (line(val, size, &len, w->now + (time_t)e, m->m_url, v))
			break;
	}
	return len;
}

/* on_reshared - a write after a REGISTER that raced another: logged if it failed */
static void on_reshared(void *arg, enum sipdance_store_status st, const char *value, size_t len,
			const char *why)
{
	(void)arg;
	(void)value;
	(void)len;
	if (st != SIPDANCE_STORE_OK)
		px_log(SIPDANCE_LOG_ERR, "registrar", "shared bindings not rewritten: %s", why);
}

/* flow_share - key flow:@token names this node for @ttl seconds (0: removed) */
static void flow_share(struct px_registrar *r, const char *token, unsigned ttl)
{
	char key[64];

	if (!r->store || !r->node_addr[0])
		return;
	snprintf(key, sizeof(key), "flow:%s", token);
	if (sipdance_store_put(r->store, key, r->node_addr, strlen(r->node_addr), ttl, on_reshared,
			       NULL, NULL))
		px_log(SIPDANCE_LOG_ERR, "registrar", "flow %s: not shared: out of memory", token);
}

/* check - what is refused before anything changes: the status sent, or 0 */
static int check(struct px_registrar *r, nta_incoming_t *irq, const struct px_regreq *q, const char *aor,
		 unsigned long dflt, size_t n_other)
{
	const sip_t *sip = q->sip;
	char why[200];
	const char *no;
	const sip_contact_t *m;
	size_t n_new = 0, n_aor = 0;

	/*
	 * The cases:
	 *  - a To outside our domain: 403, we are not its registrar (RFC 3261
	 *    §10.3 step 1);
	 *  - a bad wildcard: 400;
	 *  - a contact that may not be bound (contact_check): 403;
	 *  - more bindings for the AOR (here and, @n_other, at the other nodes),
	 *    or from this source host, than allowed, or a full location
	 *    service: 503, nothing bound.
	 */
	if (strcasecmp(sip->sip_to->a_url->url_host, r->conf->domain))
		return refuse(irq, aor, 403, "Forbidden", "not a domain of this registrar");
	/* "Contact: *" with Expires: 0 removes every binding (RFC 3261 §10.3 step 6) */
	if (sip->sip_contact && sip->sip_contact->m_url->url_type == url_any) {
		if (dflt != 0 || sip->sip_contact->m_next)
			return nta_incoming_treply(irq, 400, "Bad Wildcard Contact", TAG_END()), 400;
		return 0;
	}
	n_aor = n_other;
	for (size_t i = 0; i < r->n; i++)
		n_aor += !strcmp(r->b[i].aor, aor);
	for (m = sip->sip_contact; m; m = m->m_next) {
		if ((no = contact_check(r, m->m_url, q->flow != NULL)))
			return refuse(irq, aor, 403, "Forbidden", no);
		n_new += !find(r, aor, m->m_url) && expiry(r, m, dflt) != 0;
	}
	if (n_new && (no = limits(r, aor, n_new, n_aor, q->source, why, sizeof(why))))
		return refuse(irq, aor, 503, "Too Many Registered Contacts", no);
	return 0;
}

/* apply - bind what REGISTER @q asks for @aor at @now and answer it: the status */
static int apply(struct px_registrar *r, nta_incoming_t *irq, const struct px_regreq *q, const char *aor,
		 unsigned long dflt, time_t now)
{
	const sip_t *sip = q->sip;
	const sip_contact_t *m;
	char list[8192];
	size_t trimmed, budget = sizeof(list);
	int err = 0;

	if (sip->sip_contact && sip->sip_contact->m_url->url_type == url_any)
		unbind(r, aor, NULL);
	for (m = sip->sip_contact; m && !err; m = m->m_next) {
		unsigned long e = expiry(r, m, dflt);

		if (m->m_url->url_type == url_any)
			continue;
		if (e == 0)
			unbind(r, aor, m->m_url);
		else
			err = add_binding(r, aor, m->m_url, now + (time_t)e, q->flow, q->identity, q->source);
	}
	if (err)
		return refuse(irq, aor, err == ENOSPC ? 503 : 500, err == ENOSPC ? "Location Service Full"
			      : "Internal Server Error", strerror(err));
	/* the reply lists the bindings with their remaining time; over UDP within
	 * max(request, UDP_MAX) bytes in all: never an amplifier */
	if (q->udp) {
		size_t cap = q->req_len > UDP_MAX ? q->req_len : UDP_MAX, contacts = 0, overhead;

		for (m = sip->sip_contact; m; m = m->m_next) {
			issize_t k = url_e(list, sizeof(list), m->m_url);

			contacts += k > 0 ? (size_t)k + 12 : 0;
		}
		overhead = q->req_len > contacts ? q->req_len - contacts : 0;
		budget = cap > overhead + 120 ? cap - overhead - 120 : 0;
	}
	reply_contacts(r, aor, sip, now, budget, list, sizeof(list), &trimmed);
	if (trimmed)
		px_log(SIPDANCE_LOG_INFO, "registrar", "REGISTER %s: %zu binding(s) left out of the "
		       "reply to keep it within %zu bytes over UDP", aor, trimmed,
		       q->req_len > UDP_MAX ? q->req_len : (size_t)UDP_MAX);
	px_log(SIPDANCE_LOG_INFO, "registrar", "REGISTER %s: %s", aor, list[0] ? list : "no bindings");
	nta_incoming_treply(irq, SIP_200_OK, TAG_IF(list[0], SIPTAG_CONTACT_STR(list)), TAG_END());
	return 200;
}

/* share - this node's bindings of @aor, written again (no one waits): 0 or an errno value */
static int share(struct px_registrar *r, const char *aor, time_t now)
{
	char key[600], val[8192];
	size_t len = shared_value(r, aor, now, val, sizeof(val));

	snprintf(key, sizeof(key), "reg:%s", aor);
	return sipdance_store_hset(r->store, key, r->node, val, len, len ? r->conf->max_expires : 0,
				   on_reshared, NULL, NULL);
}

/* regw_free - a REGISTER's state-sharing record, done */
static void regw_free(struct px_regw *w)
{
	free(w->seen);
	free(w);
}

static int count_again(struct px_regw *w);

/* on_written - the shared state's answer to a REGISTER's bindings */
static void on_written(void *arg, enum sipdance_store_status st, const char *value, size_t len,
		       const char *why)
{
	struct px_regw *w = arg;
	struct px_registrar *r = w->r;
	char text[300], now_val[sizeof(w->val)], token[PX_FLOW_TOKEN];
	size_t n;
	int status;

	(void)value;
	(void)len;
	/*
	 * The cases:
	 *  - not written because the AOR's shared bindings changed since they
	 *    were counted (another node's REGISTER, or one of ours, came
	 *    between): counted again, then written again (at most MAX_READS
	 *    reads; then 503, nothing bound);
	 *  - written: bound here too, and answered 200; a REGISTER of the same
	 *    AOR applied here meanwhile made our field differ from what we
	 *    wrote: written again, so the last write holds both;
	 *  - not written (Redis unreachable, timed out): 503 with the reason and
	 *    nothing bound, here either: a binding only this node knows would
	 *    leave the user unreachable through every other node while the
	 *    client believes it registered (it retries on 503). With
	 *    --state-fail open the store answers OK, logging it: bound here only.
	 */
	w->op = NULL;
	if (st == SIPDANCE_STORE_TAKEN && w->reads < MAX_READS) {
		px_log(SIPDANCE_LOG_INFO, "registrar", "REGISTER %s: the shared bindings changed since they "
		       "were counted: counted again", w->aor);
		if (!count_again(w))
			return;
		status = refuse(w->irq, w->aor, 500, "Server Internal Error", "out of memory");
	} else if (st == SIPDANCE_STORE_TAKEN) {
		status = refuse(w->irq, w->aor, 503, "Service Unavailable",
				"registrar state kept changing while it was written");
	} else if (st != SIPDANCE_STORE_OK) {
		snprintf(text, sizeof(text), "registrar state not written: %s", why);
		status = refuse(w->irq, w->aor, 503, "Service Unavailable", text);
	} else {
		status = apply(r, w->irq, &w->q, w->aor, w->dflt, w->now);
		n = shared_value(r, w->aor, w->now, now_val, sizeof(now_val));
		if (status == 200 && (n != w->len || memcmp(now_val, w->val, n)) && share(r, w->aor, w->now))
			px_log(SIPDANCE_LOG_ERR, "registrar", "%s: shared bindings not rewritten: out of "
			       "memory", w->aor);
		if (status == 200 && w->q.flow && px_registrar_flow_token(r, w->q.flow, token))
			flow_share(r, token, r->conf->max_expires);
	}
	w->done(w->arg, status);
	regw_free(w);
}

/* count_other - one contact of the AOR at another node, counted unless it
 * is bound here, in the request, or counted already */
static const char *count_other(void *arg, const struct px_contact *c)
{
	struct px_regw *w = arg;
	const url_t *u = c->url;
	const sip_contact_t *m;

	if (find(w->r, w->aor, u))
		return NULL;
	for (m = w->q.sip->sip_contact; m; m = m->m_next)
		if (m->m_url->url_type != url_any && !url_cmp_all(m->m_url, u))
			return NULL;
	for (size_t i = 0; i < w->n_other && i < sizeof(w->other) / sizeof(w->other[0]); i++)
		if (!url_cmp_all(w->other[i], u))
			return NULL;
	if (w->n_other < sizeof(w->other) / sizeof(w->other[0]))
		w->other[w->n_other] = u;
	w->n_other++;
	return NULL;
}

/* on_counted - the other nodes' bindings of a REGISTER's AOR: checked
 * against --max-contacts with ours, then ours written */
static void on_counted(void *arg, enum sipdance_store_status st, const char *value, size_t len,
		       const char *why)
{
	struct px_regw *w = arg;
	struct px_registrar *r = w->r;
	su_home_t home[1] = { SU_HOME_INIT(home) };
	char text[300], key[600];
	int status, err;

	/*
	 * --max-contacts bounds an AOR across the nodes, the cases:
	 *  - read: the AOR's valid contacts at the other nodes (each once, not
	 *    those bound here or named by this request) count with ours: 503
	 *    beyond the limit (check);
	 *  - not read: 503 with the reason, nothing bound (the limit could not
	 *    be told; --state-fail open reads it as none: the limit per node);
	 *  - then our bindings are written in one step with a check that the
	 *    hash is still what was counted (on_written): k nodes registering
	 *    at once cannot each count the others' old bindings and together
	 *    pass the limit.
	 */
	w->op = NULL;
	free(w->seen);
	w->seen = NULL;
	w->seen_len = 0;
	if (st == SIPDANCE_STORE_ERROR) {
		snprintf(text, sizeof(text), "registrar state unavailable: %s", why);
		status = refuse(w->irq, w->aor, 503, "Service Unavailable", text);
	} else if (st == SIPDANCE_STORE_OK && !(w->seen = malloc(len))) {
		status = refuse(w->irq, w->aor, 500, "Server Internal Error", "out of memory");
	} else {
		if (st == SIPDANCE_STORE_OK) {
			memcpy(w->seen, value, len);
			w->seen_len = len;
			shared_each(r, value, len, home, count_other, w);
		}
		status = check(r, w->irq, &w->q, w->aor, w->dflt, w->n_other);
	}
	su_home_deinit(home);
	if (status) {
		w->done(w->arg, status);
		regw_free(w);
		return;
	}
	w->len = planned(w, w->val, sizeof(w->val));
	snprintf(key, sizeof(key), "reg:%s", w->aor);
	if ((err = sipdance_store_hset_if(r->store, key, r->node, w->val, w->len,
					  w->len ? r->conf->max_expires : 0, w->seen, w->seen_len, on_written,
					  w, &w->op))) {
		w->done(w->arg, refuse(w->irq, w->aor, 500, "Server Internal Error", strerror(err)));
		regw_free(w);
	}
}

/* count_again - read the AOR's shared bindings (again) to count them: 0 or an errno value */
static int count_again(struct px_regw *w)
{
	char key[600];

	w->n_other = 0;
	w->reads++;
	snprintf(key, sizeof(key), "reg:%s", w->aor);
	return sipdance_store_hgetall(w->r->store, key, on_counted, w, &w->op);
}

/* px_registrar_handle - REGISTER @q for a user of our domain */
int px_registrar_handle(struct px_registrar *r, nta_incoming_t *irq, const struct px_regreq *q,
			px_reg_fn *done, void *arg, struct px_regw **out)
{
	const sip_t *sip = q->sip;
	struct px_regw *w;
	char aor[512];
	time_t now = time(NULL);
	unsigned long dflt = 3600;
	int status;

	*out = NULL;
	expire(r, NULL);
	if (!sip->sip_to || px_canon_aor(sip->sip_to->a_url, aor, sizeof(aor)))
		return nta_incoming_treply(irq, 400, "Bad To for REGISTER", TAG_END()), 400;
	if (sip->sip_expires)
		dflt = sip->sip_expires->ex_delta;
	if ((status = check(r, irq, q, aor, dflt, 0)))
		return status;
	if (!r->store)
		return apply(r, irq, q, aor, dflt, now);
	/* with --state: the other nodes' bindings counted (on_counted), ours
	 * written to the shared state (on_written), then bound here */
	if (!(w = calloc(1, sizeof(*w))))
		return refuse(irq, aor, 500, "Server Internal Error", "out of memory");
	*w = (struct px_regw){ .r = r, .irq = irq, .q = *q, .done = done, .arg = arg, .now = now, .dflt = dflt };
	snprintf(w->aor, sizeof(w->aor), "%s", aor);
	if (count_again(w)) {
		free(w);
		return refuse(irq, aor, 500, "Server Internal Error", "out of memory");
	}
	*out = w;
	return 0;
}

/* px_registrar_handle_cancel - @done will not run (the REGISTER's transaction is gone); NULL ok */
void px_registrar_handle_cancel(struct px_regw *w)
{
	if (w) {
		sipdance_store_cancel(w->r->store, w->op);
		regw_free(w);
	}
}

/* px_registrar_lookup - live contacts of @aor with their flows and identities */
size_t px_registrar_lookup(struct px_registrar *r, const char *aor, const url_t **out,
			   tport_t **flows, SSL **ids, size_t max, size_t *closed)
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
			ids[n] = r->b[i].identity;
			out[n++] = r->b[i].contact;
		}
	return n;
}

/* px_registrar_lapse - remove the bindings authenticated by @identity, for @why */
void px_registrar_lapse(struct px_registrar *r, SSL *identity, const char *why)
{
	time_t now = time(NULL);
	char gone[512];

	for (size_t i = 0; i < r->n;) {
		if (r->b[i].identity != identity) {
			i++;
			continue;
		}
		px_log(SIPDANCE_LOG_WARN, "registrar", "%s: binding <%s> removed: the DANCE identity it "
		       "was registered with is no longer valid on its TLS connection: %s", r->b[i].aor,
		       r->b[i].contact_str, why);
		snprintf(gone, sizeof(gone), "%s", r->b[i].aor);
		drop(r, i);
		if (r->store && share(r, gone, now))
			px_log(SIPDANCE_LOG_ERR, "registrar", "%s: shared bindings not rewritten: "
			       "out of memory", gone);
	}
}

/* px_registrar_flow_identity - the DANCE identity the bindings over @tp rest on, or NULL */
SSL *px_registrar_flow_identity(struct px_registrar *r, tport_t *tp)
{
	for (size_t i = 0; i < r->n; i++)
		if (r->b[i].flow == tp && r->b[i].identity)
			return r->b[i].identity;
	return NULL;
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

/* px_registrar_set_store - share bindings through @store as @node, our flows reached at @addr */
void px_registrar_set_store(struct px_registrar *r, struct sipdance_store *store, const char *node,
			    const char *addr)
{
	r->store = store;
	r->node = node;
	snprintf(r->node_addr, sizeof(r->node_addr), "%s", addr ? addr : "");
	if (px_node_parse(r->node_addr, &r->node_ss))
		memset(&r->node_ss, 0, sizeof(r->node_ss));
}

/* px_node_parse - "IP:PORT" or "[IP6]:PORT" into @ss (zeroed first): 0 or EINVAL */
int px_node_parse(const char *s, struct sockaddr_storage *ss)
{
	char ip[INET6_ADDRSTRLEN + 2], *end;
	const char *colon = strrchr(s, ':');
	unsigned long port;
	size_t l;

	memset(ss, 0, sizeof(*ss));
	if (!colon || (l = (size_t)(colon - s)) < 2 || l >= sizeof(ip) || !colon[1])
		return EINVAL;
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	if (*end || errno || port == 0 || port > 65535 || colon[1] < '0' || colon[1] > '9')
		return EINVAL;
	if (s[0] == '[' && s[l - 1] == ']') {
		struct sockaddr_in6 *in6 = (void *)ss;

		memcpy(ip, s + 1, l - 2);
		ip[l - 2] = '\0';
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)port);
		return inet_pton(AF_INET6, ip, &in6->sin6_addr) == 1 ? 0 : EINVAL;
	} else {
		struct sockaddr_in *in = (void *)ss;

		memcpy(ip, s, l);
		ip[l] = '\0';
		in->sin_family = AF_INET;
		in->sin_port = htons((uint16_t)port);
		return inet_pton(AF_INET, ip, &in->sin_addr) == 1 ? 0 : EINVAL;
	}
}

/* node_check - NULL if @s names another node's TLS listener (into @ss), else why not */
static const char *node_check(struct px_registrar *r, const char *s, struct sockaddr_storage *ss)
{
	if (px_node_parse(s, ss))
		return "the node is not an IP:PORT";
	if (px_self_addr(r->me, (const struct sockaddr *)ss) || !memcmp(ss, &r->node_ss, sizeof(*ss)))
		return "the node is this proxy";
	return NULL;
}

/* is_token - whether @s is a flow token (PX_FLOW_TOKEN - 1 lowercase hex digits) */
static int is_token(const char *s)
{
	return strlen(s) == PX_FLOW_TOKEN - 1 && strspn(s, "0123456789abcdef") == PX_FLOW_TOKEN - 1;
}

/* shared_line - one "EXPIRES CONTACT [TOKEN NODE]" line of another node, checked:
 * NULL with the contact in *@c, or why it is left out */
static const char *shared_line(struct px_registrar *r, char *line, time_t now, struct px_contact *c,
			       su_home_t *home)
{
	char *f[5], *end, *save = NULL;
	const char *no;
	size_t n = 0;
	long long e;
	url_t *u;

	/*
	 * A line of the shared state is what another node (or whoever can write
	 * to Redis) says; the cases:
	 *  - not "EXPIRES CONTACT" nor "EXPIRES CONTACT TOKEN NODE", EXPIRES
	 *    not a number, TOKEN not a flow token: left out;
	 *  - expired, or further than --max-expires ahead: left out;
	 *  - without a flow: a contact a REGISTER here could not bind without
	 *    one (contact_check: not a sip: URI with an IP host, maddr, this
	 *    proxy, too long, a TLS contact, which only its own connection may
	 *    carry): left out;
	 *  - over a flow: a contact a REGISTER over TLS could not bind, or NODE
	 *    not an IP:PORT or this very proxy: left out; any other NODE is
	 *    only a candidate, reached if it is a TLS target of our domain that
	 *    authenticates as its server (proxy.c), else not at all;
	 *  - anything else: a contact to try.
	 */
	memset(c, 0, sizeof(*c));
	for (char *p = strtok_r(line, " ", &save); p && n < 5; p = strtok_r(NULL, " ", &save))
		f[n++] = p;
	if (n != 2 && n != 4)
		return n < 2 ? "no contact" : "not EXPIRES CONTACT [TOKEN NODE]";
	errno = 0;
	e = strtoll(f[0], &end, 10);
	if (end == f[0] || *end || errno)
		return "bad expiry";
	if (e <= (long long)now || e > (long long)now + r->conf->max_expires)
		return "expired or too far ahead";
	if (!(u = url_make(home, f[1])))
		return "not a URI";
	c->url = u;
	if (n == 2)
		return contact_check(r, u, 0);
	if (!is_token(f[2]))
		return "not a flow token";
	memcpy(c->flow, f[2], PX_FLOW_TOKEN);
	no = contact_check(r, u, 1);
	return no ? no : node_check(r, f[3], &c->node);
}

/* shared_each - @fn for each valid line of the other nodes' fields in
 * @value (@len bytes of HGETALL's pairs), URIs on @home; lines left out logged */
static void shared_each(struct px_registrar *r, const char *value, size_t len, su_home_t *home,
			each_fn *fn, void *arg)
{
	const char *p = value, *end = value + len, *no;
	char line[MAX_CONTACT + 128];
	struct px_contact c;
	time_t now = time(NULL);

	while (p < end) {
		const char *field = p, *val = field + strlen(field) + 1, *next = val + strlen(val) + 1;

		p = next;
		if (!strcmp(field, r->node))
			continue; /* ours are in memory */
		while (*val) {
			size_t l = strcspn(val, "\n");

			no = l >= sizeof(line) ? "too long" : NULL;
			if (!no) {
				memcpy(line, val, l);
				line[l] = '\0';
				no = shared_line(r, line, now, &c, home);
			}
			if (!no)
				no = fn(arg, &c);
			if (no)
				px_log(SIPDANCE_LOG_WARN, "registrar", "shared binding of node %.64s "
				       "left out: %s", field, no);
			val += l + (val[l] == '\n');
		}
	}
}

/* A lookup's contacts of the other nodes. */
struct collected {
	struct px_contact c[PX_MAX_SHARED];
	size_t n;
};

/* collect - one more contact for a lookup, up to PX_MAX_SHARED */
static const char *collect(void *arg, const struct px_contact *c)
{
	struct collected *k = arg;

	if (k->n == PX_MAX_SHARED)
		return "too many";
	k->c[k->n++] = *c;
	return NULL;
}

/* on_shared - the other nodes' fields of an AOR: their valid contacts to the caller */
static void on_shared(void *arg, enum sipdance_store_status st, const char *value, size_t len,
		      const char *why)
{
	struct px_regq *q = arg;
	su_home_t home[1] = { SU_HOME_INIT(home) };
	struct collected k = { .n = 0 };

	if (st == SIPDANCE_STORE_ERROR) {
		q->fn(q->arg, -1, NULL, 0, why);
		free(q);
		return;
	}
	if (st == SIPDANCE_STORE_OK)
		shared_each(q->r, value, len, home, collect, &k);
	q->fn(q->arg, 0, k.c, k.n, NULL);
	su_home_deinit(home);
	free(q);
}

/* px_registrar_shared - read the bindings of @aor other nodes shared; @fn
 * runs from the loop; 0 (with *@out to cancel), ENOTSUP without --state, ENOMEM */
int px_registrar_shared(struct px_registrar *r, const char *aor, px_shared_fn *fn, void *arg,
			struct px_regq **out)
{
	struct px_regq *q;
	char key[600];
	int err;

	*out = NULL;
	if (!r->store)
		return ENOTSUP;
	if (!(q = calloc(1, sizeof(*q))))
		return ENOMEM;
	q->r = r;
	q->fn = fn;
	q->arg = arg;
	snprintf(key, sizeof(key), "reg:%s", aor);
	if ((err = sipdance_store_hgetall(r->store, key, on_shared, q, &q->op))) {
		free(q);
		return err;
	}
	*out = q;
	return 0;
}

/* on_owner - the node of a flow, read: checked, to the caller */
static void on_owner(void *arg, enum sipdance_store_status st, const char *value, size_t len,
		     const char *why)
{
	struct px_regq *q = arg;
	struct sockaddr_storage ss;
	char addr[64];
	const char *no = NULL;

	/*
	 * What the key says is checked as a shared binding's NODE is: an
	 * IP:PORT that is not this proxy (proxy.c then reaches it only as a TLS
	 * target of our domain that authenticates as its server); absent, the
	 * flow has ended (or its node did); Redis unreachable: an error.
	 */
	if (st == SIPDANCE_STORE_OK) {
		snprintf(addr, sizeof(addr), "%.*s", (int)(len < sizeof(addr) ? len : 0), value);
		no = node_check(q->r, addr, &ss);
		if (no)
			px_log(SIPDANCE_LOG_WARN, "registrar", "shared flow node \"%s\" left out: %s", addr, no);
	}
	if (st == SIPDANCE_STORE_ERROR)
		q->owner(q->arg, -1, NULL, why);
	else
		q->owner(q->arg, 0, st == SIPDANCE_STORE_OK && !no ? &ss : NULL, NULL);
	free(q);
}

/* px_registrar_flow_owner - read which node holds flow @token; @fn runs from
 * the loop: 0 (*@out cancels), ENOTSUP without --state, ENOMEM */
int px_registrar_flow_owner(struct px_registrar *r, const char *token, px_owner_fn *fn, void *arg,
			    struct px_regq **out)
{
	struct px_regq *q;
	char key[64];
	int err;

	*out = NULL;
	if (!r->store)
		return ENOTSUP;
	if (!(q = calloc(1, sizeof(*q))))
		return ENOMEM;
	q->r = r;
	q->owner = fn;
	q->arg = arg;
	snprintf(key, sizeof(key), "flow:%s", token);
	if ((err = sipdance_store_get(r->store, key, on_owner, q, &q->op))) {
		free(q);
		return err;
	}
	*out = q;
	return 0;
}

/* px_registrar_shared_cancel - @fn will not run; NULL ok */
void px_registrar_shared_cancel(struct px_regq *q)
{
	if (q) {
		sipdance_store_cancel(q->r->store, q->op);
		free(q);
	}
}
