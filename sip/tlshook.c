/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tlshook.c - reach sofia-sip's TLS connections through public OpenSSL
 * callbacks. An SSL_CTX ex_data "new" callback, armed only while the proxy
 * creates its nta agent, catches the SSL_CTX sofia-sip makes and installs a
 * certificate verification callback and an info callback. At handshake start
 * the info callback forces peer verification, sets SNI and binds an outbound
 * connection to what the proxy expects there (peer address -> domain); the
 * verification callback then authenticates the chain before any SIP byte is
 * sent, and keeps inbound client chains for the SIP layer. An inbound
 * connection's identity exists only once its handshake is done (the client
 * proved its key), belongs to that connection (its SSL) alone, and is found
 * again from the transport that delivered a message (peer and listener). A
 * DANCE ClientName that came without its DNSSEC chain is looked up after the
 * handshake (the pending hook, sip/dance.c); its verdict is bound to the
 * connection when it arrives, and the requests it delivered meanwhile wait.
 */
#include "proxy.h"

#include <errno.h>
#include <pthread.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <sipdance/chain.h>
#include <sipdance/clientid.h>


#define MAX_CTX 16
#define MAX_CACHED 8
#define VERDICT_S 30 /* a domain or ClientName verdict on an inbound connection holds this long (as fed.c's outbound) */

struct px_expect {
	struct px_expect *next;
	struct px_hook *hook;
	struct sockaddr_storage addr;
	char domain[256], sni[256];
	px_verify_fn *verify;
	px_done_fn *done;
	void *arg;
	SSL *ssl; /* bound at handshake start */
	uint16_t chain_port; /* ask for the peer's RFC 9102 chain for this TLSA port (0: no) */
	int chain_only;      /* only a valid chain can authenticate */
	int *via_chain;      /* set to 1 when the chain decided (authenticated or refused) */
};

/* Per SSL: what the callbacks know about one connection. */
struct conn {
	struct conn *next;       /* in the hook's list of established inbound connections */
	struct px_hook *hook;
	SSL *ssl;
	int server;
	int fd;                  /* inbound: its socket, while it is open */
	int established;         /* inbound: the handshake is done, the client proved its key */
	int done;                /* the handshake completed (either direction) */
	struct sockaddr_storage peer, local;
	struct px_expect *expect; /* outbound */
	STACK_OF(X509) *chain;    /* inbound client chain, if presented (valid once established) */
	struct { char domain[256]; int ok; unsigned epoch; time_t at; } cached[MAX_CACHED];
	size_t ncached;
	char client_name[SIPDANCE_CLIENTID_MAX + 1]; /* inbound: DANE-authenticated ClientName */
	int cid_presented;        /* inbound: a ClientName was sent; cid_v is its outcome */
	struct sipdance_verdict cid_v;
	const char *cid_via;      /* how it was judged: "client-chain", "dns" */
	int cid_pending;          /* looked up after the handshake: no verdict yet */
	int cid_again;            /* that lookup judges an earlier MATCH again */
	unsigned cid_epoch;       /* the hook's epoch when cid_v was given */
	time_t cid_at;            /* and the time */
	struct px_wait *waiters;  /* requests held until then */
};

/* A request held until its connection's ClientName is judged. */
struct px_wait {
	struct px_wait *next;
	struct conn *c;
	px_wake_fn *fn;
	void *arg;
};

struct px_hook {
	SSL_CTX *ctx[MAX_CTX];
	size_t nctx;
	struct px_expect *expects;
	struct conn *inbound;
	struct px_hook_stats stats;
	int clientid; /* dane_clientid's server role: inbound chains go through OpenSSL's DANE */
	int chain_required; /* --client-chain required: ClientNames are never looked up */
	struct sipdance_chain_client *chain_client; /* RFC 9102 asked of outbound peers */
	px_pending_fn *pending;  /* looks up a ClientName after its handshake */
	void *pending_arg;
	unsigned epoch;          /* verdicts of an older epoch are judged again (SIGHUP) */
};

static pthread_once_t once = PTHREAD_ONCE_INIT;
static int ctx_idx = -1, ssl_idx = -1;
static __thread struct px_hook *armed;

static int verify_cb(X509_STORE_CTX *sctx, void *arg);
static void info_cb(const SSL *ssl, int where, int ret);
static void unlink_expect(struct px_expect *e);

/* same_addr - whether two socket addresses are the same ip and port */
static int same_addr(const struct sockaddr *a, const struct sockaddr *b)
{
	if (a->sa_family != b->sa_family)
		return 0;
	if (a->sa_family == AF_INET) {
		const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;

		return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
	}
	if (a->sa_family == AF_INET6) {
		const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;

		return x->sin6_port == y->sin6_port &&
		       !memcmp(&x->sin6_addr, &y->sin6_addr, sizeof(x->sin6_addr));
	}
	return 0;
}

/* ctx_new - OpenSSL made an SSL_CTX: hook it if sofia-sip is being set up */
static void ctx_new(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl, void *argp)
{
	SSL_CTX *ctx = parent;
	struct px_hook *h = armed;

	if (!h || h->nctx == MAX_CTX || !SSL_CTX_up_ref(ctx))
		return;
	h->ctx[h->nctx++] = ctx;
	SSL_CTX_set_ex_data(ctx, ctx_idx, h);
	SSL_CTX_set_cert_verify_callback(ctx, verify_cb, h);
	SSL_CTX_set_info_callback(ctx, info_cb);
	/* a resumed session skips verification: every connection does a full handshake */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
	SSL_CTX_set_num_tickets(ctx, 0);
	/* a TLS 1.2 renegotiation could present another certificate on an
	 * authenticated connection: none */
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION);
	h->stats.ctx_hooked++;
}

/* conn_free - an SSL went away: drop what we knew about its connection */
static void conn_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl, void *argp)
{
	struct conn *c = ptr, **pp;
	struct px_expect *e;
	struct sipdance_verdict v = { .result = SIPDANCE_INDETERMINATE, .usage = -1, .selector = -1,
				      .mtype = -1, .depth = -1 };

	if (!c)
		return;
	for (pp = c->hook ? &c->hook->inbound : NULL; pp && *pp; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}

	if ((e = c->expect)) {
		/* the connection closed before its chain was judged */
		snprintf(v.reason, sizeof(v.reason), "TLS connection closed during the handshake");
		c->expect = NULL;
		unlink_expect(e);
		e->done(e->arg, 0, &v, NULL);
		free(e);
	}
	px_metrics_tls_closed(c->server, c->done);
	/* no waiters here: each holds a reference to this SSL */
	sk_X509_pop_free(c->chain, X509_free);
	free(c);
}

/* init_indices - the process-wide ex_data indices */
static void init_indices(void)
{
	ctx_idx = SSL_CTX_get_ex_new_index(0, NULL, ctx_new, NULL, NULL);
	ssl_idx = SSL_get_ex_new_index(0, NULL, NULL, NULL, conn_free);
}

/* px_hook_alloc - a hook; nothing is caught until it is armed */
int px_hook_alloc(struct px_hook **out)
{
	pthread_once(&once, init_indices);
	if (ctx_idx < 0 || ssl_idx < 0)
		return ENOMEM;
	if (!(*out = calloc(1, sizeof(**out))))
		return ENOMEM;
	return 0;
}

/* px_hook_free - release the caught contexts and pending expectations */
void px_hook_free(struct px_hook *h)
{
	if (!h)
		return;
	if (armed == h)
		armed = NULL;
	while (h->expects)
		px_hook_unexpect(h->expects);
	for (size_t i = 0; i < h->nctx; i++) {
		SSL_CTX_set_ex_data(h->ctx[i], ctx_idx, NULL);
		SSL_CTX_free(h->ctx[i]);
	}
	/* connections still open lose their back pointer to the hook */
	for (struct conn *c = h->inbound; c; c = c->next)
		c->hook = NULL;
	free(h);
}

/* px_hook_arm - catch (1) or stop catching (0) new SSL_CTXs on this thread */
void px_hook_arm(struct px_hook *h, int on)
{
	armed = on ? h : NULL;
}

/* px_hook_read_cert - the certificate chain (end entity first) and key of two
 * PEM files, the key checked against the end entity */
int px_hook_read_cert(const char *cert, const char *key, STACK_OF(X509) **chain, EVP_PKEY **pkey,
		      char *why, size_t whysize)
{
	FILE *cf = fopen(cert, "r"), *kf = fopen(key, "r");
	X509 *x;
	unsigned long e;

	*chain = sk_X509_new_null();
	*pkey = kf ? PEM_read_PrivateKey(kf, NULL, NULL, NULL) : NULL;
	while (cf && *chain && (x = PEM_read_X509(cf, NULL, NULL, NULL)))
		if (!sk_X509_push(*chain, x))
			X509_free(x);
	if (cf)
		fclose(cf);
	if (kf)
		fclose(kf);
	if (*chain && sk_X509_num(*chain) > 0 && *pkey &&
	    X509_check_private_key(sk_X509_value(*chain, 0), *pkey) == 1) {
		ERR_clear_error();
		return 0;
	}
	e = ERR_peek_last_error();
	snprintf(why, whysize, "cannot use --cert %s / --key %s: %s", cert, key,
		 !cf ? "certificate file unreadable" : !kf ? "key file unreadable"
		 : !*chain || sk_X509_num(*chain) == 0 ? "no certificate" : !*pkey ? "no private key"
		 : e ? ERR_reason_error_string(e) : "key does not match the certificate");
	ERR_clear_error();
	sk_X509_pop_free(*chain, X509_free);
	EVP_PKEY_free(*pkey);
	*chain = NULL;
	*pkey = NULL;
	return EINVAL;
}

/* px_hook_use_cert - @chain and @pkey (from px_hook_read_cert) into every caught SSL_CTX */
int px_hook_use_cert(struct px_hook *h, STACK_OF(X509) *chain, EVP_PKEY *pkey, char *why,
		     size_t whysize)
{
	STACK_OF(X509) *rest = sk_X509_dup(chain);
	unsigned long e;
	int err = 0;

	if (!rest)
		return ENOMEM;
	(void)sk_X509_shift(rest);
	for (size_t i = 0; !err && i < h->nctx; i++) {
		if (SSL_CTX_use_cert_and_key(h->ctx[i], sk_X509_value(chain, 0), pkey, rest, 1) != 1) {
			e = ERR_peek_last_error();
			snprintf(why, whysize, "cannot use the certificate: %s",
				 e ? ERR_reason_error_string(e) : "unknown error");
			err = EINVAL;
		}
	}
	ERR_clear_error();
	sk_X509_free(rest);
	return err;
}

/* px_hook_load_cert - certificate chain and key files into every caught SSL_CTX */
int px_hook_load_cert(struct px_hook *h, const char *cert, const char *key, char *why, size_t whysize)
{
	STACK_OF(X509) *chain;
	EVP_PKEY *pkey;
	int err;

	if ((err = px_hook_read_cert(cert, key, &chain, &pkey, why, whysize)))
		return err;
	err = px_hook_use_cert(h, chain, pkey, why, whysize);
	sk_X509_pop_free(chain, X509_free);
	EVP_PKEY_free(pkey);
	return err;
}

/* px_hook_stats - counters for the self-test */
const struct px_hook_stats *px_hook_stats(const struct px_hook *h)
{
	return &h->stats;
}

/* px_hook_clientid - dane_clientid on every caught SSL_CTX */
int px_hook_clientid(struct px_hook *h, const struct sipdance_clientid_conf *conf,
		     char *why, size_t whysize)
{
	const char *w = NULL;
	int err;

	for (size_t i = 0; i < h->nctx; i++) {
		/* sofia-sip's own per-certificate callback never ran (verify_cb
		 * replaces the whole verification): it must not start judging now */
		SSL_CTX_set_verify(h->ctx[i], SSL_CTX_get_verify_mode(h->ctx[i]), NULL);
		if ((err = sipdance_clientid_attach(h->ctx[i], conf, &w))) {
			snprintf(why, whysize, "dane_clientid: %s", w ? w : strerror(err));
			return err;
		}
		/* ours stays the context's (it calls sipdance_clientid_decide) */
		SSL_CTX_set_cert_verify_callback(h->ctx[i], verify_cb, h);
	}
	h->clientid = conf->server;
	h->chain_required = conf->chain == SIPDANCE_CHAIN_REQUIRED;
	return 0;
}

/* px_hook_chain_serve - serve an RFC 9102 chain on the @i-th caught context */
int px_hook_chain_serve(struct px_hook *h, size_t i, struct sipdance_chain_source *src)
{
	if (i >= h->nctx)
		return EINVAL;
	return sipdance_chain_server_attach(h->ctx[i], src);
}

/* px_hook_chain_client - ask for chains on every caught context; our verify
 * callback stays the context's (it calls sipdance_chain_client_decide) */
int px_hook_chain_client(struct px_hook *h, struct sipdance_chain_client *c)
{
	int err;

	for (size_t i = 0; i < h->nctx; i++) {
		if ((err = sipdance_chain_client_ctx_attach(h->ctx[i], c)))
			return err;
		SSL_CTX_set_cert_verify_callback(h->ctx[i], verify_cb, h);
	}
	h->chain_client = c;
	return 0;
}

/* px_hook_expect_chain - the expectation's handshake asks for the peer's chain */
void px_hook_expect_chain(struct px_expect *e, uint16_t port, int chain_only, int *via)
{
	e->chain_port = port;
	e->chain_only = chain_only;
	e->via_chain = via;
}

/* mono_s - monotonic seconds */
static time_t mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

/* conn_of - what the hook knows about the inbound connection of @ssl, once established */
static struct conn *conn_of(SSL *ssl)
{
	struct conn *c = ssl ? SSL_get_ex_data(ssl, ssl_idx) : NULL;

	return c && c->server && c->established ? c : NULL;
}

/* px_hook_client_name - the authenticated ClientName of connection @ssl */
int px_hook_client_name(SSL *ssl, char *buf, size_t size, struct sipdance_verdict *verdict,
			int *presented)
{
	struct conn *c = conn_of(ssl);

	if (presented)
		*presented = c && c->cid_presented;
	if (verdict && c && c->cid_presented)
		*verdict = c->cid_v;
	if (!c || !c->client_name[0])
		return 0;
	snprintf(buf, size, "%s", c->client_name);
	return 1;
}

/* px_hook_on_pending - who looks up ClientNames that came without their chain */
void px_hook_on_pending(struct px_hook *h, px_pending_fn *fn, void *arg)
{
	h->pending = fn;
	h->pending_arg = arg;
}

/* cid_judged - @c's ClientName verdict was given now */
static void cid_judged(struct conn *c)
{
	c->cid_epoch = c->hook ? c->hook->epoch : 0;
	c->cid_at = mono_s();
}

/* cid_lapse - @c's ClientName is no longer authenticated, for @why */
static void cid_lapse(struct conn *c, enum sipdance_result result, const char *why)
{
	char peer[64];

	c->client_name[0] = '\0';
	c->cid_v = (struct sipdance_verdict){ .result = result, .usage = -1, .selector = -1,
					      .mtype = -1, .depth = -1 };
	snprintf(c->cid_v.reason, sizeof(c->cid_v.reason), "%s", why);
	cid_judged(c);
	px_log(SIPDANCE_LOG_WARN, "tls", "inbound %s: dane_clientid %s %s: %s",
	       px_addr_str((const struct sockaddr *)&c->peer, peer, sizeof(peer)),
	       sipdance_clientid_peer_claimed(c->ssl) ? sipdance_clientid_peer_claimed(c->ssl) : "?",
	       sipdance_result_str(result), why);
}

/* cid_rejudge - @c's ClientName verdict, older than VERDICT_S or the last
 * SIGHUP, judged again */
static void cid_rejudge(struct conn *c)
{
	struct px_hook *h = c->hook;
	const char *claimed = sipdance_clientid_peer_claimed(c->ssl);
	char peer[64], why[200];

	/*
	 * Case by case:
	 *  - not authenticated (no ClientName, a name outside --client-domains,
	 *    a failed verdict): it stays so for the connection's life; a lookup
	 *    now could only make it trusted, and a name outside the allowlist
	 *    must never be; a client whose record appeared reconnects;
	 *  - authenticated by the DNSSEC chain it shipped, under --client-chain
	 *    required (the operator wants no lookups): what the chain proved
	 *    cannot be learnt again without one, and nothing tells a withdrawn
	 *    record from a kept one: the identity lapses (INDETERMINATE), and a
	 *    new connection ships a chain again;
	 *  - authenticated otherwise (looked up after the handshake, or by its
	 *    own chain under --client-chain prefer): the name is looked up again
	 *    under fresh DNS (sip/dance.c), the connection's requests held
	 *    meanwhile; the new verdict replaces the old one, MATCH or not (a
	 *    TLSA record withdrawn or no longer naming the key: no identity);
	 *  - a lookup that cannot start: the identity lapses (INDETERMINATE).
	 */
	if (!c->client_name[0] || c->cid_v.result != SIPDANCE_MATCH)
		return;
	if (h->chain_required && sipdance_clientid_peer_via(c->ssl) == SIPDANCE_CLIENTID_VIA_CHAIN) {
		snprintf(why, sizeof(why), "its DNSSEC chain was judged %d s ago or more, or before a "
			 "reload, and --client-chain required looks nothing up: a new connection ships "
			 "it again", VERDICT_S);
		cid_lapse(c, SIPDANCE_INDETERMINATE, why);
		return;
	}
	px_log(SIPDANCE_LOG_INFO, "tls", "inbound %s: dane_clientid %s judged again (its verdict is "
	       "%lld s old%s): looked up, this connection's requests held until then",
	       px_addr_str((const struct sockaddr *)&c->peer, peer, sizeof(peer)), claimed ? claimed : "?",
	       (long long)(mono_s() - c->cid_at), c->cid_epoch != h->epoch ? ", from before a reload" : "");
	c->cid_pending = c->cid_again = 1;
	if (h->pending && c->chain && claimed && !h->pending(h->pending_arg, c->ssl, claimed, c->chain))
		return; /* pending, or settled already */
	c->cid_pending = c->cid_again = 0;
	cid_lapse(c, SIPDANCE_INDETERMINATE, "the lookup to judge the ClientName again could not start");
}

/* px_hook_client_pending - whether @ssl's ClientName waits for its verdict
 * (one older than VERDICT_S or the last SIGHUP is judged again first) */
int px_hook_client_pending(SSL *ssl)
{
	struct conn *c = conn_of(ssl);

	if (c && c->hook && !c->cid_pending && c->cid_presented &&
	    (c->cid_epoch != c->hook->epoch || mono_s() - c->cid_at >= VERDICT_S))
		cid_rejudge(c);
	return c && c->cid_pending;
}

/* px_hook_client_via - how @ssl's ClientName was judged, "" if it was not */
const char *px_hook_client_via(SSL *ssl)
{
	struct conn *c = conn_of(ssl);

	return c && c->cid_via ? c->cid_via : "";
}

/* px_hook_client_wait - @fn(@arg) once @ssl's ClientName has its verdict */
int px_hook_client_wait(SSL *ssl, px_wake_fn *fn, void *arg, struct px_wait **out)
{
	struct conn *c = conn_of(ssl);
	struct px_wait *w, **pp;
	size_t n = 0;

	if (!c || !c->cid_pending)
		return ENOENT;
	/* first come, first resumed; a client that has not proven who it is
	 * holds a bounded share of --max-pending, however much it pipelines */
	for (pp = &c->waiters; *pp; pp = &(*pp)->next)
		n++;
	if (n >= PX_MAX_HELD)
		return EBUSY;
	if (!(w = calloc(1, sizeof(*w))))
		return ENOMEM;
	w->c = c;
	w->fn = fn;
	w->arg = arg;
	*pp = w;
	*out = w;
	return 0;
}

/* px_hook_client_unwait - a held request no longer waits */
void px_hook_client_unwait(struct px_wait *w)
{
	if (!w)
		return;
	for (struct px_wait **pp = &w->c->waiters; *pp; pp = &(*pp)->next)
		if (*pp == w) {
			*pp = w->next;
			break;
		}
	free(w);
}

/* px_hook_client_settle - the verdict of @ssl's pending ClientName, bound to
 * that connection; its held requests resume, in order */
void px_hook_client_settle(SSL *ssl, const struct sipdance_verdict *v)
{
	struct conn *c = SSL_get_ex_data(ssl, ssl_idx);
	const char *name = sipdance_clientid_peer_claimed(ssl);
	struct px_wait *w;
	px_wake_fn *fn;
	void *arg;
	char peer[64];

	if (!c || !c->cid_pending)
		return;
	c->cid_pending = 0;
	c->cid_v = *v;
	c->cid_via = "dns";
	cid_judged(c);
	snprintf(c->client_name, sizeof(c->client_name), "%s",
		 v->result == SIPDANCE_MATCH && name ? name : "");
	px_log(v->result == SIPDANCE_MATCH ? SIPDANCE_LOG_INFO : SIPDANCE_LOG_WARN, "tls",
	       "inbound %s: dane_clientid %s %s via=dns (%s): %s",
	       px_addr_str((const struct sockaddr *)&c->peer, peer, sizeof(peer)), name ? name : "?",
	       sipdance_result_str(v->result), c->cid_again ? "judged again" : "looked up after the handshake",
	       v->reason);
	c->cid_again = 0;
	/* a resumed request may drop the last other reference to the SSL */
	SSL_up_ref(ssl);
	while ((w = c->waiters)) {
		c->waiters = w->next;
		fn = w->fn;
		arg = w->arg;
		free(w);
		fn(arg);
	}
	SSL_free(ssl);
}

/* px_hook_expect - register the expectation for the next handshake to @addr */
int px_hook_expect(struct px_hook *h, struct px_expect **out, const struct sockaddr *addr,
		   const char *domain, const char *sni, px_verify_fn *verify, px_done_fn *done,
		   void *arg)
{
	struct px_expect *e = calloc(1, sizeof(*e)), **pp;

	if (!e)
		return ENOMEM;
	e->hook = h;
	memcpy(&e->addr, addr, addr->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
							   : sizeof(struct sockaddr_in));
	snprintf(e->domain, sizeof(e->domain), "%s", domain);
	snprintf(e->sni, sizeof(e->sni), "%s", sni);
	e->verify = verify;
	e->done = done;
	e->arg = arg;
	/* first come, first bound: append */
	for (pp = &h->expects; *pp; pp = &(*pp)->next)
		;
	*pp = e;
	*out = e;
	return 0;
}

/* unlink_expect - take @e off its hook's list */
static void unlink_expect(struct px_expect *e)
{
	for (struct px_expect **pp = &e->hook->expects; *pp; pp = &(*pp)->next)
		if (*pp == e) {
			*pp = e->next;
			return;
		}
}

/* px_hook_unexpect - forget an expectation; a bound connection then fails closed */
void px_hook_unexpect(struct px_expect *e)
{
	struct conn *c;

	if (!e)
		return;
	unlink_expect(e);
	if (e->ssl && (c = SSL_get_ex_data(e->ssl, ssl_idx)))
		c->expect = NULL;
	free(e);
}

/* px_hook_expecting - whether an expectation towards @addr is pending */
int px_hook_expecting(const struct px_hook *h, const struct sockaddr *addr)
{
	for (const struct px_expect *e = h->expects; e; e = e->next)
		if (same_addr((const struct sockaddr *)&e->addr, addr))
			return 1;
	return 0;
}

/* port_of - the port of an IPv4 or IPv6 socket address */
static uint16_t port_of(const struct sockaddr *sa)
{
	return sa->sa_family == AF_INET6 ? ((const struct sockaddr_in6 *)(const void *)sa)->sin6_port
					 : ((const struct sockaddr_in *)(const void *)sa)->sin_port;
}

/* is_any - whether a listener's address is the wildcard (0.0.0.0 or ::) */
static int is_any(const struct sockaddr *sa)
{
	static const struct in6_addr any6;

	if (sa->sa_family == AF_INET)
		return ((const struct sockaddr_in *)(const void *)sa)->sin_addr.s_addr == 0;
	return !memcmp(&((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, &any6, sizeof(any6));
}

/* alive - whether @c's socket is still that connection (a closed descriptor
 * may be reused by another socket: its addresses then differ) */
static int alive(const struct conn *c)
{
	struct sockaddr_storage p, l;
	socklen_t plen = sizeof(p), llen = sizeof(l);

	return c->fd >= 0 && getpeername(c->fd, (struct sockaddr *)&p, &plen) == 0 &&
	       getsockname(c->fd, (struct sockaddr *)&l, &llen) == 0 &&
	       same_addr((const struct sockaddr *)&p, (const struct sockaddr *)&c->peer) &&
	       same_addr((const struct sockaddr *)&l, (const struct sockaddr *)&c->local);
}

/* unlink_inbound - take @c off the list of established inbound connections */
static void unlink_inbound(struct conn *c)
{
	for (struct conn **pp = c->hook ? &c->hook->inbound : NULL; pp && *pp; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			c->next = NULL;
			return;
		}
}

/* px_hook_inbound - the SSL of the inbound TLS connection that delivered a
 * message from @peer over transport @tp, with a reference (SSL_free it); NULL */
SSL *px_hook_inbound(struct px_hook *h, tport_t *tp, const struct sockaddr *peer)
{
	const su_addrinfo_t *ai = tp ? tport_get_address(tport_parent(tp)) : NULL;
	const struct sockaddr *lsn = ai ? (const struct sockaddr *)ai->ai_addr : NULL;
	struct conn *c, *next, *found = NULL;
	size_t n = 0;
	char pstr[64];

	/*
	 * Which connection delivered the message, case by case:
	 *  - only connections whose handshake is done count: a client that sent
	 *    a certificate but not (yet) the CertificateVerify proving its key
	 *    has no identity at all;
	 *  - the connection's peer is the message's source address and its
	 *    local address is the listener the transport belongs to (port, and
	 *    address unless the listener is the wildcard): the same ip:port
	 *    talking to another listener is another connection;
	 *  - its socket must still be that connection: a closed one is dropped
	 *    here, its descriptor may belong to anyone now;
	 *  - exactly one connection matches: that one; none, or several (one
	 *    peer ip:port to two local addresses of a wildcard listener; sofia-
	 *    sip binds each interface's address on its own, so this is only a
	 *    safeguard): no identity, fail closed.
	 */
	if (!lsn || !peer || (peer->sa_family != AF_INET && peer->sa_family != AF_INET6))
		return NULL;
	for (c = h->inbound; c; c = next) {
		next = c->next;
		if (!same_addr((const struct sockaddr *)&c->peer, peer) ||
		    port_of((const struct sockaddr *)&c->local) != port_of(lsn) ||
		    (!is_any(lsn) && !px_addr_same((const struct sockaddr *)&c->local, lsn, 0)))
			continue;
		if (!alive(c)) {
			unlink_inbound(c);
			continue;
		}
		found = c;
		n++;
	}
	if (n > 1) {
		px_log(SIPDANCE_LOG_WARN, "tls", "%zu connections from %s to one wildcard listener: "
		       "no TLS identity for their messages", n, px_addr_str(peer, pstr, sizeof(pstr)));
		return NULL;
	}
	if (!found)
		return NULL;
	SSL_up_ref(found->ssl);
	return found->ssl;
}

/* px_hook_established_fd - whether the inbound TLS connection on descriptor
 * @fd has completed its handshake */
int px_hook_established_fd(struct px_hook *h, int fd)
{
	for (struct conn *c = h->inbound; c; c = c->next)
		if (c->fd == fd && alive(c))
			return 1;
	return 0;
}

/* px_hook_client_chain - the chain the client of connection @ssl presented */
STACK_OF(X509) *px_hook_client_chain(SSL *ssl)
{
	struct conn *c = conn_of(ssl);

	return c ? c->chain : NULL;
}

/* px_hook_client_cached - earlier decision for @domain on connection @ssl:
 * 1 authenticated, 0 refused, -1 not decided yet */
int px_hook_client_cached(SSL *ssl, const char *domain)
{
	struct conn *c = conn_of(ssl);

	/*
	 * A verdict holds VERDICT_S seconds and until the next SIGHUP, then the
	 * domain is judged again under fresh DNS: a TLSA record withdrawn (a
	 * key revoked, rolled over) reaches a connection that stays open, as it
	 * does our outbound ones.
	 */
	for (size_t i = 0; c && i < c->ncached; i++)
		if (!strcasecmp(c->cached[i].domain, domain))
			return c->hook && c->cached[i].epoch == c->hook->epoch &&
			       mono_s() - c->cached[i].at < VERDICT_S ? c->cached[i].ok : -1;
	return -1;
}

/* px_hook_client_remember - cache a decision for @domain on connection @ssl */
void px_hook_client_remember(SSL *ssl, const char *domain, int ok)
{
	struct conn *c = conn_of(ssl);

	if (!c)
		return;
	for (size_t i = 0; i < c->ncached; i++)
		if (!strcasecmp(c->cached[i].domain, domain)) {
			memmove(c->cached + i, c->cached + i + 1, sizeof(c->cached[0]) * (c->ncached - i - 1));
			c->ncached--;
			break;
		}
	if (c->ncached == MAX_CACHED)
		memmove(c->cached, c->cached + 1, sizeof(c->cached[0]) * --c->ncached);
	snprintf(c->cached[c->ncached].domain, sizeof(c->cached[0].domain), "%s", domain);
	c->cached[c->ncached].epoch = c->hook ? c->hook->epoch : 0;
	c->cached[c->ncached].at = mono_s();
	c->cached[c->ncached++].ok = ok;
}

/* px_hook_client_forget - SIGHUP: every domain verdict on inbound connections is judged again */
void px_hook_client_forget(struct px_hook *h)
{
	h->epoch++;
}

/* bind_outbound - at handshake start: the expectation for this peer address */
static void bind_outbound(struct px_hook *h, SSL *ssl, struct conn *c)
{
	for (struct px_expect *e = h->expects; e; e = e->next) {
		if (e->ssl || !same_addr((const struct sockaddr *)&e->addr,
					 (const struct sockaddr *)&c->peer))
			continue;
		e->ssl = ssl;
		c->expect = e;
		SSL_set_tlsext_host_name(ssl, e->sni);
		if (h->chain_client && e->chain_port) {
			const char *names[2] = { e->domain, e->sni };

			/* a failure leaves the SSL unattached: decided as without a chain */
			if (sipdance_chain_client_attach(ssl, h->chain_client, e->sni, e->chain_port,
							 names, 2))
				px_log(SIPDANCE_LOG_WARN, "tls", "cannot ask %s for its DNSSEC chain",
				       e->sni);
		}
		return;
	}
}

/* forget_fd - a new inbound connection on descriptor @fd: any listed one
 * that had that descriptor has closed */
static void forget_fd(struct px_hook *h, int fd)
{
	struct conn *c, *next;

	for (c = h->inbound; c; c = next) {
		next = c->next;
		if (c->fd == fd) {
			unlink_inbound(c);
			c->fd = -1;
		}
	}
}

/* clientid_done - an inbound handshake completed: what its ClientName is worth */
static void clientid_done(struct px_hook *h, SSL *ssl, struct conn *c)
{
	const char *name = sipdance_clientid_peer_name(ssl), *claimed = sipdance_clientid_peer_claimed(ssl);
	enum sipdance_clientid_via via = sipdance_clientid_peer_via(ssl);
	char peer[64];

	/*
	 * Case by case:
	 *  - no ClientName: nothing;
	 *  - judged in the handshake (the client's own DNSSEC chain, or not
	 *    authenticated at all): bound to this connection now;
	 *  - pending (no chain, and --client-chain lets us look it up): the
	 *    lookup starts now, on the loop; until its verdict the connection
	 *    has no DANCE identity, and its requests wait (px_hook_client_wait);
	 *    a lookup that cannot start is INDETERMINATE.
	 */
	snprintf(c->client_name, sizeof(c->client_name), "%s", name ? name : "");
	c->cid_presented = sipdance_clientid_peer_verdict(ssl, &c->cid_v) == 0;
	if (!c->cid_presented)
		return;
	cid_judged(c);
	px_addr_str((const struct sockaddr *)&c->peer, peer, sizeof(peer));
	if (via == SIPDANCE_CLIENTID_VIA_PENDING) {
		c->cid_pending = 1;
		if (h->pending && c->chain && claimed && !h->pending(h->pending_arg, ssl, claimed, c->chain))
			return; /* pending, or settled already */
		c->cid_pending = 0;
		c->cid_v.result = SIPDANCE_INDETERMINATE;
		snprintf(c->cid_v.reason, sizeof(c->cid_v.reason), "the lookup of the ClientName could "
			 "not start");
		return;
	}
	c->cid_via = via == SIPDANCE_CLIENTID_VIA_CHAIN ? "client-chain" : "dns";
	px_log(name ? SIPDANCE_LOG_INFO : SIPDANCE_LOG_WARN, "tls", "inbound %s: dane_clientid %s "
	       "%s via=%s%s: %s", peer, claimed ? claimed : "?", sipdance_result_str(c->cid_v.result),
	       c->cid_via, via == SIPDANCE_CLIENTID_VIA_CHAIN ? " (its own DNSSEC chain, no DNS query)"
	       : "", c->cid_v.reason);
}

/* info_cb - per-connection set-up at handshake start; fatal alerts end an expectation */
static void info_cb(const SSL *cssl, int where, int ret)
{
	SSL *ssl = (SSL *)cssl; /* the same object; OpenSSL passes it const */
	struct px_hook *h = SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), ctx_idx);
	struct conn *c = SSL_get_ex_data(ssl, ssl_idx);
	socklen_t len = sizeof(struct sockaddr_storage);
	struct px_expect *e;

	if (!h)
		return;
	if ((where & SSL_CB_HANDSHAKE_START) && !c) {
		if (!(c = calloc(1, sizeof(*c))))
			return;
		c->hook = h;
		c->ssl = ssl;
		c->server = SSL_is_server(ssl);
		c->fd = SSL_get_fd(ssl);
		if (getpeername(c->fd, (struct sockaddr *)&c->peer, &len) != 0)
			memset(&c->peer, 0, sizeof(c->peer));
		len = sizeof(c->local);
		if (getsockname(c->fd, (struct sockaddr *)&c->local, &len) != 0)
			memset(&c->local, 0, sizeof(c->local));
		SSL_set_ex_data(ssl, ssl_idx, c);
		px_metrics_tls_open(c->server);
		if (c->server) {
			forget_fd(h, c->fd);
			/* request a client certificate; the SIP layer decides what it is
			 * worth (dane_clientid may also require one: keep the context's bits) */
			SSL_set_verify(ssl, SSL_CTX_get_verify_mode(SSL_get_SSL_CTX(ssl)) |
				       SSL_VERIFY_PEER | SSL_VERIFY_CLIENT_ONCE, NULL);
			h->stats.handshakes_in++;
		} else {
			/* without VERIFY_PEER a refused chain would only be recorded */
			SSL_set_verify(ssl, SSL_VERIFY_PEER, NULL);
			bind_outbound(h, ssl, c);
			h->stats.handshakes_out++;
		}
	}
	if ((where & SSL_CB_HANDSHAKE_DONE) && c && !c->done) {
		c->done = 1;
		px_metrics_handshake(c->server, 1);
	}
	if ((where & SSL_CB_HANDSHAKE_DONE) && c && c->server && !c->established) {
		const char *sni = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);

		/* the client's Finished (after its CertificateVerify) is in: from
		 * now on the chain, if any, is this connection's identity */
		c->established = 1;
		c->next = h->inbound;
		h->inbound = c;
		if (c->chain)
			h->stats.chains_in++;

		snprintf(h->stats.last_sni_in, sizeof(h->stats.last_sni_in), "%s", sni ? sni : "");
		if (h->clientid)
			clientid_done(h, ssl, c);
	}
	if ((where & SSL_CB_ALERT) && (where & SSL_CB_WRITE) && c && c->server &&
	    !strcmp(SSL_alert_type_string(ret), "F")) {
		char peer[64];

		px_log(SIPDANCE_LOG_WARN, "tls", "inbound handshake from %s refused: sent alert %s",
		       px_addr_str((const struct sockaddr *)&c->peer, peer, sizeof(peer)),
		       SSL_alert_desc_string_long(ret));
	}
	if ((where & SSL_CB_ALERT) && c && (e = c->expect) && !strcmp(SSL_alert_type_string(ret), "F")) {
		struct sipdance_verdict v = { .result = SIPDANCE_INDETERMINATE, .usage = -1,
					      .selector = -1, .mtype = -1, .depth = -1 };

		snprintf(v.reason, sizeof(v.reason), "TLS handshake failed: %s alert %s",
			 (where & SSL_CB_READ) ? "received" : "sent", SSL_alert_desc_string_long(ret));
		c->expect = NULL;
		unlink_expect(e);
		e->done(e->arg, 0, &v, SSL_get_version(ssl));
		free(e);
	}
}

/* peer_chain - the chain as presented, end entity first (a new stack, refs taken) */
static STACK_OF(X509) *peer_chain(X509_STORE_CTX *sctx)
{
	STACK_OF(X509) *untrusted = X509_STORE_CTX_get0_untrusted(sctx), *chain;
	X509 *leaf = X509_STORE_CTX_get0_cert(sctx);

	if (!leaf)
		return NULL;
	if (untrusted && sk_X509_num(untrusted) > 0 && sk_X509_value(untrusted, 0) == leaf)
		return X509_chain_up_ref(untrusted);
	if (!(chain = sk_X509_new_null()) || !X509_up_ref(leaf) || !sk_X509_push(chain, leaf)) {
		sk_X509_free(chain);
		return NULL;
	}
	for (int i = 0; untrusted && i < sk_X509_num(untrusted); i++) {
		X509 *x = sk_X509_value(untrusted, i);

		if (X509_up_ref(x) && !sk_X509_push(chain, x))
			X509_free(x);
	}
	return chain;
}

/* accept_all - OpenSSL's own chain checks are not the decision (see verify_cb) */
static int accept_all(int ok, X509_STORE_CTX *sctx)
{
	return 1;
}

/* chain_decide - the RFC 9102 part of an outbound decision: 1 authenticated
 * by the peer's chain, 0 refused (*v says why), -1 left to @e's verification */
static int chain_decide(X509_STORE_CTX *sctx, SSL *ssl, struct px_expect *e,
			struct sipdance_verdict *v)
{
	int r;

	/*
	 * The decision, case by case (sipdance_chain_client_decide):
	 *  - a chain that does not validate, or whose TLSA records do not match
	 *    the peer: refused;
	 *  - no chain while pinned, or under --chain required: refused;
	 *  - a valid chain whose TLSA records match: authenticated, no DNS;
	 *  - a validated denial (no TLSA), a name proven unsigned, or no chain
	 *    under prefer: the DNS path decides, unless the target was located
	 *    without TLSA (chain_only): then refused, nothing else can vouch
	 *    for it; a chain's verdict keeps the validator's own reason.
	 * OpenSSL's own PKIX checks that decide() may run are neutralised: the
	 * DNS path or the chain decides, never an empty trust store.
	 */
	X509_STORE_CTX_set_verify_cb(sctx, accept_all);
	r = sipdance_chain_client_decide(sctx);
	if (sipdance_chain_client_verdict(ssl, v, NULL)) {
		/* the SSL could not be attached (bind_outbound logged it) */
		snprintf(v->reason, sizeof(v->reason), "DNSSEC chain not requested (out of memory)");
		v->result = SIPDANCE_INDETERMINATE;
		return e->chain_only ? 0 : -1;
	}
	if (r <= 0)
		return 0;
	if (v->result == SIPDANCE_MATCH)
		return 1;
	if (e->chain_only) {
		if (v->result == SIPDANCE_INDETERMINATE)
			snprintf(v->reason, sizeof(v->reason), "no DNSSEC chain from the peer and no TLSA "
				 "from DNS (chain=required)");
		return 0;
	}
	return -1;
}

/* verify_cb - the whole certificate verification of a sofia-sip connection */
static int verify_cb(X509_STORE_CTX *sctx, void *arg)
{
	struct px_hook *h = arg;
	SSL *ssl = X509_STORE_CTX_get_ex_data(sctx, SSL_get_ex_data_X509_STORE_CTX_idx());
	struct conn *c = ssl ? SSL_get_ex_data(ssl, ssl_idx) : NULL;
	struct sipdance_verdict v = { .result = SIPDANCE_INDETERMINATE, .usage = -1, .selector = -1,
				      .mtype = -1, .depth = -1 };
	STACK_OF(X509) *chain = peer_chain(sctx);
	struct px_expect *e;
	char peer[64];
	int ok = 0;

	if (!c || !chain) {
		sk_X509_pop_free(chain, X509_free);
		X509_STORE_CTX_set_error(sctx, X509_V_ERR_UNSPECIFIED);
		return 0;
	}
	px_addr_str((const struct sockaddr *)&c->peer, peer, sizeof(peer));
	/*
	 * The decision, case by case:
	 *  - Inbound (we are the server): with dane_clientid attached, the
	 *    ClientName is judged (sipdance_clientid_decide: the client's own
	 *    DNSSEC chain, or a lookup) and OpenSSL's verification runs with its
	 *    DANE state: a ClientName whose TLSA does not match, an invalid
	 *    chain, a failed lookup, or (with --client-auth required) no
	 *    authenticated name refuses the handshake;
	 *    otherwise the client chain is kept for the SIP layer, which
	 *    authenticates it against the domain a request claims; the handshake
	 *    itself goes on (accepting a chain here grants nothing).
	 *  - Outbound with no expectation bound (a connection the proxy did not
	 *    set up for a located, policy-checked target, or one whose
	 *    expectation timed out): refused.
	 *  - Outbound with an expectation: the peer's RFC 9102 chain first, if
	 *    the expectation asked for it (chain_decide), else its verification
	 *    decides; only MATCH lets the handshake finish, so nothing is sent
	 *    to a peer that did not authenticate for the domain.
	 */
	if (c->server && c->established) {
		/* renegotiation is off; nothing may replace an established identity */
		sk_X509_pop_free(chain, X509_free);
		X509_STORE_CTX_set_error(sctx, X509_V_ERR_APPLICATION_VERIFICATION);
		return 0;
	}
	if (c->server) {
		if (h->clientid) {
			if (sipdance_clientid_decide(sctx) <= 0) {
				sk_X509_pop_free(chain, X509_free);
				if (X509_STORE_CTX_get_error(sctx) == X509_V_OK)
					X509_STORE_CTX_set_error(sctx, X509_V_ERR_APPLICATION_VERIFICATION);
				return 0;
			}
			X509_STORE_CTX_set_error(sctx, X509_V_OK);
		}
		sk_X509_pop_free(c->chain, X509_free);
		c->chain = chain;
		px_log(SIPDANCE_LOG_DEBUG, "tls", "inbound connection from %s presented a chain of %d",
		       peer, sk_X509_num(chain));
		return 1;
	}
	if (!(e = c->expect)) {
		px_log(SIPDANCE_LOG_WARN, "auth", "peer=%s domain=? rule=no-expectation verdict=REFUSE "
		       "(outbound TLS connection not set up for a located target)", peer);
		h->stats.refused_out++;
		sk_X509_pop_free(chain, X509_free);
		X509_STORE_CTX_set_error(sctx, X509_V_ERR_APPLICATION_VERIFICATION);
		return 0;
	}
	ok = h->chain_client && e->chain_port ? chain_decide(sctx, ssl, e, &v) : -1;
	if (ok < 0)
		ok = e->verify(e->arg, chain, &v) == 0 && v.result == SIPDANCE_MATCH;
	else if (e->via_chain)
		*e->via_chain = 1; /* the chain decided, either way */
	if (!ok && !v.reason[0])
		snprintf(v.reason, sizeof(v.reason), "verification failed");
	sk_X509_pop_free(chain, X509_free);
	if (ok) {
		h->stats.verified_out++;
		X509_STORE_CTX_set_error(sctx, X509_V_OK);
	} else {
		h->stats.refused_out++;
		X509_STORE_CTX_set_error(sctx, X509_V_ERR_APPLICATION_VERIFICATION);
	}
	c->expect = NULL;
	unlink_expect(e);
	e->done(e->arg, ok, &v, SSL_get_version(ssl));
	free(e);
	return ok;
}
