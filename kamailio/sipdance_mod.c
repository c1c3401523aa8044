/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * sipdance_mod.c - the Kamailio module sipdance.so: script functions and
 * KEMI exports that authenticate the TLS peer of a request (server TLSA of a
 * domain), a user's client certificate (_user TLSA) and check a destination's
 * DANE policy. The result is $xavp(sipdance), read as $sipdance(verdict|
 * reason|action|rule|target|addr|name): it belongs to the request and its
 * transaction. Built against the exact Kamailio source of the installed
 * binary (kamailio/get-source.sh); the decisions live in kam_verify.c. Unless
 * client_chain is off, every SSL_CTX the tls module makes asks TLS 1.3
 * clients for their own DNSSEC chain (docs/client-chain.md), which
 * sipdance_verify_user() then judges with no DNS query.
 * The *_async functions suspend the transaction instead of waiting: one
 * resolver process of the module, with one DNS cache, looks up for every
 * worker and continues the transaction in the script's route with the verdict.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <time.h>
#include <unistd.h>
#include <openssl/ssl.h>

#include "core/sr_module.h"
#include "core/mod_fix.h"
#include "core/pvar.h"
#include "core/kemi.h"
#include "core/dprint.h"
#include "core/mem/shm.h"
#include "core/tcp_conn.h"
#include "core/xavp.h"
#include "core/parser/parse_from.h"
#include "core/parser/parse_uri.h"
#include "core/pt.h"
#include "core/receive.h"
#include "core/route.h"
#include "core/cfg/cfg_struct.h"
#include "modules/tls/tls_server.h"
#include "modules/tm/tm_load.h"

#include <sipdance/chain.h>
#include <sipdance/common.h>
#include <sipdance/loop.h>
#include "kam_stats.h"
#include "kam_verify.h"

MODULE_VERSION

/* The longest argument taken: a URI or user@domain holds a host of 253 octets and a local part of 255. */
#define ARG_MAX 600

static char *p_resolver;
static char *p_trust_anchor;
static char *p_ca_file;
static char *p_policy = "opportunistic";
static int p_timeout = 1000;
static int p_max_wait = 2000;
static int p_cache_size = 4096;
static int p_max_targets = 4;
static int p_max_pending = 1024;
static char *p_client_chain = "prefer";
static struct kv_conf conf;

static struct kv *ctx;       /* this process's context, made on first use */
static struct kv_result cur; /* the call in progress, published as $xavp(sipdance) */

static struct tm_binds tmb;     /* tm's API, when tm is loaded: the asynchronous functions need it */
static int async_on;            /* tm is loaded: the resolver process runs */
static int jobs[2] = { -1, -1 }; /* workers write struct job pointers, the resolver process reads them */

/* $sipdance(NAME) reads the field NAME of $xavp(sipdance); kv_result order, then the return code. */
static str xname = str_init("sipdance");
static const char *const pv_names[] = { "verdict", "reason", "action", "rule", "target", "addr", "name", "rc" };
#define NFIELDS (sizeof(pv_names) / sizeof(pv_names[0]))

/* on_log - libsipdance's log lines into Kamailio's log */
static void on_log(enum sipdance_log_level level, const char *module, const char *msg, void *arg)
{
	(void)arg;
	switch (level) {
	case SIPDANCE_LOG_ERR: LM_ERR("%s: %s\n", module, msg); break;
	case SIPDANCE_LOG_WARN: LM_WARN("%s: %s\n", module, msg); break;
	case SIPDANCE_LOG_INFO: LM_INFO("%s: %s\n", module, msg); break;
	case SIPDANCE_LOG_DEBUG: LM_DBG("%s: %s\n", module, msg); break;
	}
}

/* set_domain_policy - modparam domain_policy "DOMAIN=MODE", repeatable */
static int set_domain_policy(modparam_t type, void *val)
{
	(void)type;
	if (conf.ndomain_policy == KV_MAX_DOMAIN_POLICIES) {
		LM_ERR("at most %d domain_policy parameters\n", KV_MAX_DOMAIN_POLICIES);
		return -1;
	}
	conf.domain_policy[conf.ndomain_policy++] = val;
	return 0;
}

/* fill_conf - the kv_conf from the module parameters */
static int fill_conf(void)
{
	if (p_timeout <= 0 || p_max_wait <= 0 || p_cache_size <= 0 || p_max_targets <= 0 || p_max_pending <= 0) {
		LM_ERR("timeout, max_wait, cache_size, max_targets and max_pending must be positive\n");
		return -1;
	}
	conf.resolver = p_resolver;
	conf.trust_anchor = p_trust_anchor;
	conf.ca_file = p_ca_file && *p_ca_file ? p_ca_file : NULL;
	conf.policy = p_policy;
	conf.timeout_ms = (unsigned)p_timeout;
	conf.max_wait_ms = (unsigned)p_max_wait;
	conf.cache_size = (size_t)p_cache_size;
	conf.max_targets = (size_t)p_max_targets;
	conf.client_chain = p_client_chain;
	conf.dns_observe = kst_dns;
	return 0;
}

/* ctx_new - OpenSSL made an SSL_CTX (the tls module's, at its child_init): ask
 * its TLS 1.3 clients for their DNSSEC chain; a context 59 is taken on is left
 * alone (its clients then fall back as client_chain says) */
static void ctx_new(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl, void *argp)
{
	(void)ptr;
	(void)ad;
	(void)idx;
	(void)argl;
	(void)argp;
	if (sipdance_chain_ask_clients(parent))
		LM_WARN("sipdance: an SSL_CTX cannot ask clients for their DNSSEC chain (extension 59 "
			"taken): users on it are looked up\n");
}

static int async_init(void);
static int async_fork(void);

/* mod_init - check the parameters once, before the workers fork */
static int mod_init(void)
{
	const char *why = NULL;
	struct kv *probe = NULL;

	if (fill_conf() || kst_init())
		return -1;
	/* library debug lines only when Kamailio's log level shows them (formatting costs) */
	sipdance_log_set(on_log, NULL, is_printable(L_DBG) ? SIPDANCE_LOG_DEBUG : SIPDANCE_LOG_INFO);
	/* a throw-away context: a bad resolver, anchor or CA file stops the start */
	if (kv_alloc(&probe, &conf, &why)) {
		LM_ERR("sipdance: %s\n", why ? why : "cannot set up");
		return -1;
	}
	kv_free(probe);
	/*
	 * The tls module makes its SSL_CTXs at its child_init (PROC_INIT), after
	 * every mod_init: each is caught as OpenSSL makes it (an ex_data "new"
	 * callback), and asks for client chains unless client_chain is off.
	 */
	sipdance_chain_shipped(NULL, NULL); /* the library's own indices first */
	if (strcmp(p_client_chain, "off") && SSL_CTX_get_ex_new_index(0, NULL, ctx_new, NULL, NULL) < 0) {
		LM_ERR("sipdance: no OpenSSL ex_data index for client chains\n");
		return -1;
	}
	if (async_init())
		return -1;
	LM_INFO("sipdance: resolver %s, policy %s, per-lookup timeout %d ms, at most %d ms and %d targets "
		"per call, client chains %s\n", p_resolver, p_policy, p_timeout, p_max_wait, p_max_targets,
		p_client_chain);
	return 0;
}

/*
 * own_thread_state - OpenSSL keeps per-thread state (the error queue, the
 * DRBGs) in thread-locals made on first use; under the tls module they are
 * allocated in shared memory. The main process made them before forking, so
 * every worker would use one error queue, concurrently, and corrupt shared
 * memory (Kamailio 5.6 with OpenSSL 3; upstream issues 3222, 3695, 3791).
 * A worker forgets every thread-local that points into shared memory, and
 * OpenSSL makes the worker its own. The number forgotten.
 */
static int own_thread_state(void)
{
	int n = 0;

	for (pthread_key_t k = 0; k < PTHREAD_KEYS_MAX; k++) {
		void *v = pthread_getspecific(k);

		if (v && shm_address_in(v) && !pthread_setspecific(k, NULL))
			n++;
	}
	return n;
}

/* child_init - nothing shared across fork: each process makes its own context when first used,
 * and a worker its own OpenSSL thread state */
static int child_init(int rank)
{
	int n;

	ctx = NULL;
	if (rank == PROC_MAIN)
		return async_fork();
	if (rank == PROC_INIT || rank == PROC_POSTCHILDINIT)
		return 0;
	if ((n = own_thread_state()))
		LM_INFO("sipdance: process %d (rank %d): %d OpenSSL thread-local(s) of the main process left, "
			"this process makes its own\n", getpid(), rank, n);
	return 0;
}

/* mod_destroy - free this process's context */
static void mod_destroy(void)
{
	kv_free(ctx);
	ctx = NULL;
}

/* get_ctx - this process's context, made on first use */
static struct kv *get_ctx(void)
{
	const char *why = NULL;

	if (!ctx && kv_alloc(&ctx, &conf, &why))
		LM_ERR("sipdance: cannot set up in process %d: %s\n", getpid(), why ? why : "?");
	return ctx;
}

/* begin - a fresh result */
static struct kv_result *begin(void)
{
	memset(&cur, 0, sizeof(cur));
	return &cur;
}

/*
 * publish - the result as $xavp(sipdance), replacing an earlier one. XAVPs
 * belong to the message being routed, and tm moves a request's into its
 * transaction: failure_route and onreply_route see the verdict of their own
 * request, and a message that ran no sipdance function sees none.
 */
static void publish(const struct kv_result *r, int rc)
{
	const char *v[NFIELDS] = { r->verdict, r->reason, r->action, r->rule, r->target, r->addr, r->name,
				   rc > 0 ? "1" : "-1" };
	sr_xavp_t *root = NULL;

	xavp_rm_by_name(&xname, 1, NULL);
	for (size_t i = 0; i < NFIELDS; i++) {
		str f = { (char *)pv_names[i], (int)strlen(pv_names[i]) };
		sr_xval_t x = { .type = SR_XTYPE_STR };

		x.v.s.s = (char *)v[i];
		x.v.s.len = (int)strlen(v[i]);
		if (i ? !xavp_add_value(&f, &x, &root->val.v.xavp)
		      : !(root = xavp_add_xavp_value(&xname, &f, &x, NULL))) {
			LM_ERR("sipdance: no shared memory for $xavp(sipdance)\n");
			xavp_rm_by_name(&xname, 1, NULL);
			return;
		}
	}
}

/* finish - log and publish the result; the script sees 1 or -1 (never 0, which would stop it) */
static int finish(const char *func, int rc)
{
	if (rc > 0)
		LM_DBG("%s(%s): %s: %s\n", func, cur.name, cur.verdict, cur.reason);
	else
		LM_INFO("%s(%s): %s: %s\n", func, cur.name, cur.verdict, cur.reason);
	kst_decision(cur.rule, cur.verdict);
	publish(&cur, rc);
	return rc > 0 ? 1 : -1;
}

/*
 * copy_arg - @in as a C string in @out (ARG_MAX octets), or 0 with @r
 * failed: an identity is never truncated, so what does not fit, holds a NUL
 * or is empty is refused.
 */
static int copy_arg(const char *what, const str *in, char *out, struct kv_result *r)
{
	const char *bad = in->len <= 0 ? "empty" : in->len >= ARG_MAX ? "longer than 600 octets"
			  : memchr(in->s, '\0', (size_t)in->len) ? "holds a NUL octet" : NULL;

	if (bad) {
		snprintf(r->name, sizeof(r->name), "%.*s%s", in->len > 64 ? 64 : in->len, in->s,
			 in->len > 64 ? "..." : "");
		kv_fail(r, "NOMATCH", "%s refused: %s", what, bad);
		return 0;
	}
	memcpy(out, in->s, (size_t)in->len);
	out[in->len] = '\0';
	return 1;
}

/*
 * uri_host - "HOST[:PORT]" of the sip:/sips: URI @uri, parsed by
 * Kamailio's own parser: the host checked is the host Kamailio routes to.
 * A maddr parameter (tm would send there instead) and anything else than a
 * SIP URI with a host are refused; 0 with @r failed.
 */
static int uri_host(const char *uri, char *out, size_t size, struct kv_result *r)
{
	struct sip_uri u;
	int v6;

	if (parse_uri((char *)uri, (int)strlen(uri), &u) < 0 || (u.type != SIP_URI_T && u.type != SIPS_URI_T) ||
	    u.host.len <= 0) {
		kv_fail(r, "NOMATCH", "not a sip: or sips: URI with a host");
		return 0;
	}
	if (u.maddr_val.len > 0) {
		kv_fail(r, "NOMATCH", "maddr parameter: the request would not go to the host");
		return 0;
	}
	v6 = memchr(u.host.s, ':', (size_t)u.host.len) && u.host.s[0] != '[';
	snprintf(out, size, "%s%.*s%s%s%.*s", v6 ? "[" : "", u.host.len, u.host.s, v6 ? "]" : "",
		 u.port.len > 0 ? ":" : "", u.port.len, u.port.s);
	return 1;
}

/* is_uri - whether @s starts with sip: or sips: */
static int is_uri(const char *s)
{
	return !strncasecmp(s, "sip:", 4) || !strncasecmp(s, "sips:", 5);
}

/* plain_host - @s is a host, host:port or [v6]:port and nothing else (no user, parameters, headers) */
static int plain_host(const char *s, struct kv_result *r)
{
	if (s[strcspn(s, "@;?<> \t\r\n\"")]) {
		kv_fail(r, "NOMATCH", "not a domain name: %s", s);
		return 0;
	}
	return 1;
}

/* peer_chain - the TLS peer's chain of the connection @msg came on, end entity
 * first; with @ext, a copy of the DNSSEC chain it shipped (NULL: none) */
static STACK_OF(X509) *peer_chain(struct sip_msg *msg, struct kv_result *r, uint8_t **ext, size_t *ext_len)
{
	struct tcp_connection *c;
	tls_extra_data_t *ed;
	STACK_OF(X509) *chain = NULL, *rest;
	X509 *leaf = NULL;
	const uint8_t *shipped;

	if (msg->rcv.proto != PROTO_TLS) {
		kv_fail(r, "NOMATCH", "request not received over TLS");
		return NULL;
	}
	if (!(c = tcpconn_get(msg->rcv.proto_reserved1, 0, 0, 0, 0))) {
		kv_fail(r, "NOMATCH", "TLS connection no longer exists");
		return NULL;
	}
	/* the tls module's per-connection data; this build uses its exact source */
	ed = c->type == PROTO_TLS ? (tls_extra_data_t *)c->extra_data : NULL;
	if (!ed || !ed->ssl || !(leaf = SSL_get1_peer_certificate(ed->ssl))) {
		kv_fail(r, "NOMATCH", "the TLS peer sent no certificate");
	} else if (!(chain = sk_X509_new_null()) || !sk_X509_push(chain, leaf)) {
		kv_fail(r, "INDETERMINATE", "out of memory");
		X509_free(leaf);
		sk_X509_free(chain);
		chain = NULL;
	} else if ((rest = SSL_get_peer_cert_chain(ed->ssl))) {
		/* as a server OpenSSL leaves the end entity out of this list; as a client not */
		for (int i = 0; i < sk_X509_num(rest); i++) {
			X509 *x = sk_X509_value(rest, i);

			if (X509_cmp(x, leaf) && X509_up_ref(x) && !sk_X509_push(chain, x))
				X509_free(x);
		}
	}
	if (ext && chain && (shipped = sipdance_chain_shipped(ed->ssl, ext_len)) &&
	    (*ext = malloc(*ext_len ? *ext_len : 1)))
		memcpy(*ext, shipped, *ext_len);
	tcpconn_put(c);
	return chain;
}

/* What an asynchronous call asks of the resolver process. */
enum job_kind { JOB_DEST, JOB_PEER, JOB_USER };

static int submit(struct sip_msg *msg, const char *fn, enum job_kind kind, const char *arg, STACK_OF(X509) *chain,
		  const uint8_t *ext, size_t ext_len, str *route);

/* verify_peer - the request's TLS peer is a server of @domain; with @route, asynchronously */
static int verify_peer(struct sip_msg *msg, str *domain, str *route)
{
	const char *fn = route ? "sipdance_verify_peer_async" : "sipdance_verify_peer";
	struct kv_result *r = begin();
	STACK_OF(X509) *chain;
	char d[ARG_MAX];
	int rc = -1;

	if (!copy_arg("domain", domain, d, r) || !plain_host(d, r))
		return finish(fn, -1);
	snprintf(r->name, sizeof(r->name), "%s", d);
	if (!route && !get_ctx())
		kv_fail(r, "INDETERMINATE", "module not set up (see the log)");
	else if ((chain = peer_chain(msg, r, NULL, NULL))) {
		if (route)
			return submit(msg, fn, JOB_PEER, d, chain, NULL, 0, route);
		rc = kv_verify_peer(ctx, chain, d, r);
		sk_X509_pop_free(chain, X509_free);
	}
	return finish(fn, rc);
}

/* from_address - "user@host" of the From URI, by Kamailio's parser; 0 with @r failed */
static int from_address(struct sip_msg *msg, char *out, struct kv_result *r)
{
	struct sip_uri *u = parse_from_uri(msg);

	if (!u || (u->type != SIP_URI_T && u->type != SIPS_URI_T)) {
		kv_fail(r, "NOMATCH", "no From header with a sip: or sips: URI");
		return 0;
	}
	if (u->user.len <= 0 || u->host.len <= 0 || u->user.len + 1 + u->host.len >= ARG_MAX) {
		kv_fail(r, "NOMATCH", "From URI refused: %s",
			u->user.len <= 0 || u->host.len <= 0 ? "no user or no host" : "longer than 600 octets");
		return 0;
	}
	snprintf(out, ARG_MAX, "%.*s@%.*s", u->user.len, u->user.s, u->host.len, u->host.s);
	if (strlen(out) != (size_t)(u->user.len + 1 + u->host.len)) {
		kv_fail(r, "NOMATCH", "From URI refused: holds a NUL octet");
		return 0;
	}
	return 1;
}

/* verify_user - the request's TLS client certificate is @address's (_user TLSA; NULL: the From URI's);
 * with @route, asynchronously */
static int verify_user(struct sip_msg *msg, str *address, str *route)
{
	const char *fn = route ? "sipdance_verify_user_async" : "sipdance_verify_user";
	struct kv_result *r = begin();
	STACK_OF(X509) *chain;
	uint8_t *ext = NULL;
	size_t ext_len = 0;
	char a[ARG_MAX];
	int rc = -1;

	if (address ? !copy_arg("address", address, a, r) : !from_address(msg, a, r))
		return finish(fn, -1);
	snprintf(r->name, sizeof(r->name), "%s", a);
	if (!route && !get_ctx())
		kv_fail(r, "INDETERMINATE", "module not set up (see the log)");
	else if ((chain = peer_chain(msg, r, &ext, &ext_len))) {
		if (route) {
			rc = submit(msg, fn, JOB_USER, a, chain, ext, ext_len, route);
			free(ext);
			return rc;
		}
		rc = kv_verify_user(ctx, chain, a, ext, ext_len, r);
		sk_X509_pop_free(chain, X509_free);
	}
	free(ext);
	return finish(fn, rc);
}

/* check_dest - @dest may be relayed to under DANE policy; with @route, asynchronously */
static int check_dest(struct sip_msg *msg, str *dest, str *route)
{
	const char *fn = route ? "sipdance_check_dest_async" : "sipdance_check_dest";
	struct kv_result *r = begin();
	char d[ARG_MAX], h[ARG_MAX];
	int rc = -1;

	if (!copy_arg("destination", dest, d, r))
		return finish(fn, -1);
	snprintf(r->name, sizeof(r->name), "%s", d);
	if (is_uri(d) ? !uri_host(d, h, sizeof(h), r) : !plain_host(d, r))
		return finish(fn, -1);
	if (route)
		return submit(msg, fn, JOB_DEST, is_uri(d) ? h : d, NULL, NULL, 0, route);
	if (!get_ctx())
		kv_fail(r, "INDETERMINATE", "module not set up (see the log)");
	else
		rc = kv_check_dest(ctx, is_uri(d) ? h : d, r);
	return finish(fn, rc);
}

/*
 * Asynchronous checks. A worker validates the argument, suspends the
 * transaction (tm) and hands a job in shared memory to the module's resolver
 * process through a pipe; that process runs every lookup on one loop with one
 * DNS cache, and when the verdict is in (or max_wait has passed) puts it in the
 * transaction's $xavp(sipdance) and continues the transaction in the script's
 * route (tm's t_continue, as http_async_client and async do). A DNS server
 * that never answers holds a job, never a worker.
 */

/* A suspended script call: made by a worker, owned by the resolver process once written to it. */
struct job {
	unsigned int tindex, tlabel; /* the suspended transaction */
	enum job_kind kind;
	char route[64];              /* route block, or KEMI callback, that continues it */
	char arg[ARG_MAX];           /* destination host, domain or user address */
	size_t der_len, ext_len;     /* data: the peer's chain (DER, end entity first), then its shipped DNSSEC chain */
	int has_ext;
	unsigned char data[];
};

/* A job in the resolver process; in arrival order, which is deadline order (one max_wait for all). */
struct pending {
	TAILQ_ENTRY(pending) link;
	struct job *job;
	struct kv_op *op;  /* NULL once the verdict is in r */
	uint64_t deadline; /* monotonic ms */
	int done, rc;
	struct kv_result r;
};

static TAILQ_HEAD(, pending) inflight = TAILQ_HEAD_INITIALIZER(inflight);
static struct kv *rctx; /* the resolver process's context: its DNS cache serves every worker */
static int wake;        /* a job arrived or is done: the resolver's loop returns to deliver or re-time */
static int looking;     /* jobs whose lookups are in flight (at most max_pending) */

/* async_init - with tm loaded, the pipe to the resolver process, and that process registered (mod_init) */
static int async_init(void)
{
	if (!module_loaded("tm")) {
		LM_INFO("sipdance: tm is not loaded: the *_async functions are not available\n");
		return 0;
	}
	if (load_tm_api(&tmb) < 0 || pipe(jobs) || fcntl(jobs[0], F_SETFL, O_NONBLOCK) ||
	    fcntl(jobs[1], F_SETFL, O_NONBLOCK)) {
		LM_ERR("sipdance: cannot set up asynchronous checks (tm API or pipe)\n");
		return -1;
	}
	register_procs(1);
	cfg_register_child(1);
	async_on = 1;
	return 0;
}

/* now_ms - the monotonic clock in milliseconds */
static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* resume - @j's verdict into its transaction's $xavp(sipdance), then the transaction continues in
 * its route (or KEMI callback); frees @j */
static void resume(struct job *j, const struct kv_result *r, int rc)
{
	str cb = { j->route, (int)strlen(j->route) }, ev = str_init("sipdance:async");
	sr_kemi_eng_t *keng = sr_kemi_eng_get();
	struct cell *t = NULL;
	sr_xavp_t **old;
	int ri;

	LM_DBG("sipdance async %s: %s: %s\n", r->name, r->verdict, r->reason);
	kst_decision(r->rule, r->verdict);
	cfg_update();
	if (tmb.t_lookup_ident(&t, j->tindex, j->tlabel) < 0 || !t) {
		LM_INFO("sipdance: the transaction waiting for %s is gone (%s: %s)\n", j->arg, r->verdict,
			r->reason);
		tmb.t_sett(T_UNDEFINED, T_BR_UNDEFINED);
		shm_free(j);
		return;
	}
	/* only a transaction still waiting: one cancelled or timed out meanwhile is another process's */
	if ((t->flags & T_ASYNC_SUSPENDED) && !(t->flags & T_CANCELED)) {
		old = xavp_set_list(&t->xavps_list);
		publish(r, rc);
		xavp_set_list(old);
	} else {
		LM_INFO("sipdance: the transaction waiting for %s was cancelled or ended meanwhile (%s: %s)\n",
			j->arg, r->verdict, r->reason);
	}
	tmb.unref_cell(t);
	if (keng)
		tmb.t_continue_cb(j->tindex, j->tlabel, &cb, &ev);
	else if ((ri = route_lookup(&main_rt, j->route)) >= 0 && main_rt.rlist[ri])
		tmb.t_continue(j->tindex, j->tlabel, main_rt.rlist[ri]);
	tmb.t_sett(T_UNDEFINED, T_BR_UNDEFINED);
	ksr_msg_env_reset();
	shm_free(j);
}

/* job_done - the library decided a job: the loop returns so that it is delivered */
static void job_done(void *arg)
{
	((struct pending *)arg)->done = 1;
	wake = 1;
}

/* job_chain - the peer's chain a job carries, or NULL with @r failed */
static STACK_OF(X509) *job_chain(const struct job *j, struct kv_result *r)
{
	STACK_OF(X509) *chain = sk_X509_new_null();
	const unsigned char *p = j->data, *end = j->data + j->der_len;

	while (chain && p < end) {
		X509 *x = d2i_X509(NULL, &p, end - p);

		if (!x || !sk_X509_push(chain, x)) {
			X509_free(x);
			sk_X509_pop_free(chain, X509_free);
			chain = NULL;
		}
	}
	if (!chain || !sk_X509_num(chain)) {
		sk_X509_free(chain);
		kv_fail(r, "INDETERMINATE", "the peer's chain cannot be read back");
		return NULL;
	}
	return chain;
}

/* job_start - start @j on the resolver's loop: 0, or its result (1 or -1, in @p->r) at once */
static int job_start(struct job *j, struct pending *p)
{
	STACK_OF(X509) *chain = NULL;

	snprintf(p->r.name, sizeof(p->r.name), "%s", j->arg);
	if (j->kind == JOB_DEST)
		return kv_dest_start(rctx, j->arg, job_done, p, &p->op, &p->r);
	if (!(chain = job_chain(j, &p->r)))
		return -1;
	if (j->kind == JOB_PEER)
		return kv_peer_start(rctx, chain, j->arg, job_done, p, &p->op, &p->r);
	return kv_user_start(rctx, chain, j->arg, j->has_ext ? j->data + j->der_len : NULL, j->ext_len, job_done,
			     p, &p->op, &p->r);
}

/* on_jobs - the pipe is readable: start each job written to it */
static void on_jobs(void *arg, int fd, int events)
{
	struct job *j;

	(void)arg;
	(void)events;
	while (read(fd, &j, sizeof(j)) == (ssize_t)sizeof(j)) {
		struct pending *p = calloc(1, sizeof(*p));

		if (!p) {
			struct kv_result r = { .verdict = "INDETERMINATE", .reason = "out of memory" };

			resume(j, &r, -1);
			continue;
		}
		p->job = j;
		p->deadline = now_ms() + (uint64_t)p_max_wait;
		if (looking >= p_max_pending) { /* a flood of slow lookups: refused, never queued without bound */
			snprintf(p->r.name, sizeof(p->r.name), "%s", j->arg);
			kv_fail(&p->r, "INDETERMINATE", "%d checks already waiting for DNS (max_pending)", looking);
			p->rc = -1;
		} else {
			p->rc = job_start(j, p);
		}
		if (p->op)
			looking++;
		else
			p->done = 1;
		TAILQ_INSERT_TAIL(&inflight, p, link);
		wake = 1; /* the loop returns: a new deadline to wait for, or a verdict to deliver */
	}
}

/* deliver - resume every job decided or past its deadline; the wait until the next deadline (-1: none) */
static long deliver(void)
{
	struct pending *p, *next;
	uint64_t now = now_ms();

	for (p = TAILQ_FIRST(&inflight); p; p = next) {
		next = TAILQ_NEXT(p, link);
		if (!p->done && p->deadline > now)
			continue;
		TAILQ_REMOVE(&inflight, p, link);
		if (p->op) {
			p->rc = kv_op_end(p->op, &p->r); /* not done: INDETERMINATE, late */
			looking--;
		}
		resume(p->job, &p->r, p->rc);
		free(p);
		now = now_ms();
	}
	for (p = TAILQ_FIRST(&inflight); p; p = TAILQ_NEXT(p, link))
		if (!p->done)
			return p->deadline > now ? (long)(p->deadline - now) : 0;
	return TAILQ_EMPTY(&inflight) ? -1 : 0;
}

/* resolver_main - the resolver process: jobs in, lookups on one loop, transactions continued; never returns */
static void resolver_main(void)
{
	const char *why = NULL;
	long ms = -1;
	int err;

	if (kv_alloc(&rctx, &conf, &why) ||
	    sipdance_loop_poll_watch(kv_loop(rctx), jobs[0], SIPDANCE_LOOP_READ, on_jobs, NULL)) {
		LM_CRIT("sipdance: the resolver process cannot start: %s\n", why ? why : "out of memory");
		exit(-1);
	}
	LM_INFO("sipdance: resolver process %d takes the asynchronous checks\n", getpid());
	for (;;) {
		wake = 0;
		err = sipdance_loop_run(kv_loop(rctx), &wake, ms);
		if (err && err != ETIMEDOUT)
			LM_ERR("sipdance: resolver loop: %s\n", strerror(err));
		ms = deliver();
	}
}

/* async_fork - the resolver process, forked from the main process once every module is set up */
static int async_fork(void)
{
	int pid;

	if (!async_on)
		return 0;
	if ((pid = fork_process(PROC_RPC, "sipdance resolver", 1)) < 0)
		return -1;
	if (pid > 0)
		return 0;
	if (cfg_child_init())
		return -1;
	own_thread_state();
	resolver_main();
	return 0;
}

/*
 * submit - @fn without waiting: a job for the resolver process (@arg, the peer's @chain as DER, which is
 * freed, and the DNSSEC chain it shipped), the transaction suspended until it continues in @route;
 * 0 (the script stops here), or -1 with $sipdance set when nothing was started
 */
static int submit(struct sip_msg *msg, const char *fn, enum job_kind kind, const char *arg, STACK_OF(X509) *chain,
		  const uint8_t *ext, size_t ext_len, str *route)
{
	struct kv_result *r = &cur;
	size_t der_len = 0;
	struct job *j = NULL;
	unsigned char *p;
	struct cell *t;
	int ri, rc;

	for (int i = 0; i < sk_X509_num(chain); i++)
		if ((rc = i2d_X509(sk_X509_value(chain, i), NULL)) > 0)
			der_len += (size_t)rc;
	if (!async_on) {
		kv_fail(r, "INDETERMINATE", "asynchronous checks need the tm module");
		goto fail;
	}
	if (route->len <= 0 || (size_t)route->len >= sizeof(j->route)) {
		kv_fail(r, "INDETERMINATE", "route name empty or longer than 63 octets");
		goto fail;
	}
	if (!(j = shm_malloc(sizeof(*j) + der_len + ext_len))) {
		kv_fail(r, "INDETERMINATE", "out of shared memory");
		goto fail;
	}
	memset(j, 0, sizeof(*j));
	j->kind = kind;
	memcpy(j->route, route->s, (size_t)route->len);
	snprintf(j->arg, sizeof(j->arg), "%s", arg);
	p = j->data;
	for (int i = 0; i < sk_X509_num(chain); i++)
		if (i2d_X509(sk_X509_value(chain, i), &p) <= 0) {
			kv_fail(r, "INDETERMINATE", "the peer's chain cannot be encoded");
			goto fail;
		}
	j->der_len = (size_t)(p - j->data);
	if ((j->has_ext = ext != NULL))
		memcpy(p, ext, ext_len);
	j->ext_len = ext_len;
	sk_X509_pop_free(chain, X509_free);
	chain = NULL;
	if (!sr_kemi_eng_get() && ((ri = route_lookup(&main_rt, j->route)) < 0 || !main_rt.rlist[ri])) {
		kv_fail(r, "INDETERMINATE", "no route block %s", j->route);
		goto fail;
	}
	/* a transaction to suspend: the request's own, made now if the script has not */
	t = tmb.t_gett();
	if ((!t || t == T_UNDEFINED) && (tmb.t_newtran(msg) < 0 || !(t = tmb.t_gett()) || t == T_UNDEFINED)) {
		kv_fail(r, "INDETERMINATE", "cannot create the transaction");
		goto fail;
	}
	if ((rc = tmb.t_suspend(msg, &j->tindex, &j->tlabel))) {
		shm_free(j);
		if (rc > 0) /* cancelled meanwhile: nothing left to decide */
			return 0;
		j = NULL;
		kv_fail(r, "INDETERMINATE", "cannot suspend the transaction");
		goto fail;
	}
	if (write(jobs[1], &j, sizeof(j)) != (ssize_t)sizeof(j)) {
		tmb.t_cancel_suspend(j->tindex, j->tlabel);
		kv_fail(r, "INDETERMINATE", "the resolver process is not keeping up");
		goto fail;
	}
	return 0;
fail:
	sk_X509_pop_free(chain, X509_free);
	if (j)
		shm_free(j);
	return finish(fn, -1);
}

/* Script wrappers: the parameter is a string with pseudo-variables (fixup_spve_null). */

/* param_str - the evaluated parameter, or NULL after an error log */
static str *param_str(struct sip_msg *msg, char *p, str *out)
{
	if (fixup_get_svalue(msg, (gparam_t *)p, out) < 0 || out->len <= 0) {
		LM_ERR("sipdance: empty or unreadable parameter\n");
		return NULL;
	}
	return out;
}

/* w_verify_peer - sipdance_verify_peer("domain") */
static int w_verify_peer(struct sip_msg *msg, char *p1, char *p2)
{
	str s;

	(void)p2;
	return param_str(msg, p1, &s) ? verify_peer(msg, &s, NULL) : -1;
}

/* w_verify_user0 - sipdance_verify_user(): the From URI's user */
static int w_verify_user0(struct sip_msg *msg, char *p1, char *p2)
{
	(void)p1;
	(void)p2;
	return verify_user(msg, NULL, NULL);
}

/* w_verify_user1 - sipdance_verify_user("user@domain") */
static int w_verify_user1(struct sip_msg *msg, char *p1, char *p2)
{
	str s;

	(void)p2;
	return param_str(msg, p1, &s) ? verify_user(msg, &s, NULL) : -1;
}

/* w_check_dest - sipdance_check_dest("domain or URI") */
static int w_check_dest(struct sip_msg *msg, char *p1, char *p2)
{
	str s;

	(void)p2;
	return param_str(msg, p1, &s) ? check_dest(msg, &s, NULL) : -1;
}

/* w_check_dest_async - sipdance_check_dest_async("domain or URI", "ROUTE") */
static int w_check_dest_async(struct sip_msg *msg, char *p1, char *p2)
{
	str s, rt;

	return param_str(msg, p1, &s) && param_str(msg, p2, &rt) ? check_dest(msg, &s, &rt) : -1;
}

/* w_verify_peer_async - sipdance_verify_peer_async("domain", "ROUTE") */
static int w_verify_peer_async(struct sip_msg *msg, char *p1, char *p2)
{
	str s, rt;

	return param_str(msg, p1, &s) && param_str(msg, p2, &rt) ? verify_peer(msg, &s, &rt) : -1;
}

/* w_verify_user_async1 - sipdance_verify_user_async("ROUTE"): the From URI's user */
static int w_verify_user_async1(struct sip_msg *msg, char *p1, char *p2)
{
	str rt;

	(void)p2;
	return param_str(msg, p1, &rt) ? verify_user(msg, NULL, &rt) : -1;
}

/* w_verify_user_async2 - sipdance_verify_user_async("user@domain", "ROUTE") */
static int w_verify_user_async2(struct sip_msg *msg, char *p1, char *p2)
{
	str s, rt;

	return param_str(msg, p1, &s) && param_str(msg, p2, &rt) ? verify_user(msg, &s, &rt) : -1;
}

/* KEMI: KSR.sipdance.verify_peer(domain) and the others. */

/* ki_verify_peer - KEMI verify_peer */
static int ki_verify_peer(struct sip_msg *msg, str *domain)
{
	return domain && domain->len > 0 ? verify_peer(msg, domain, NULL) : -1;
}

/* ki_verify_user - KEMI verify_user (From URI) */
static int ki_verify_user(struct sip_msg *msg)
{
	return verify_user(msg, NULL, NULL);
}

/* ki_verify_user_uri - KEMI verify_user_uri(address) */
static int ki_verify_user_uri(struct sip_msg *msg, str *address)
{
	return address && address->len > 0 ? verify_user(msg, address, NULL) : -1;
}

/* ki_check_dest - KEMI check_dest */
static int ki_check_dest(struct sip_msg *msg, str *dest)
{
	return dest && dest->len > 0 ? check_dest(msg, dest, NULL) : -1;
}

/* KEMI *_async(..., callback): the callback function continues the transaction. */

/* ki_check_dest_async - KEMI check_dest_async(dest, callback) */
static int ki_check_dest_async(struct sip_msg *msg, str *dest, str *cb)
{
	return dest && dest->len > 0 && cb ? check_dest(msg, dest, cb) : -1;
}

/* ki_verify_peer_async - KEMI verify_peer_async(domain, callback) */
static int ki_verify_peer_async(struct sip_msg *msg, str *domain, str *cb)
{
	return domain && domain->len > 0 && cb ? verify_peer(msg, domain, cb) : -1;
}

/* ki_verify_user_async - KEMI verify_user_async(callback): the From URI's user */
static int ki_verify_user_async(struct sip_msg *msg, str *cb)
{
	return cb ? verify_user(msg, NULL, cb) : -1;
}

/* ki_verify_user_uri_async - KEMI verify_user_uri_async(address, callback) */
static int ki_verify_user_uri_async(struct sip_msg *msg, str *address, str *cb)
{
	return address && address->len > 0 && cb ? verify_user(msg, address, cb) : -1;
}

/* pv_parse_sd - the inner name of $sipdance(...) */
static int pv_parse_sd(pv_spec_t *sp, str *in)
{
	for (size_t i = 0; i < NFIELDS; i++) {
		if (in->len == (int)strlen(pv_names[i]) && !strncmp(in->s, pv_names[i], (size_t)in->len)) {
			sp->pvp.pvn.type = PV_NAME_INTSTR;
			sp->pvp.pvn.u.isname.type = 0;
			sp->pvp.pvn.u.isname.name.n = (int)i;
			return 0;
		}
	}
	LM_ERR("unknown $sipdance(%.*s): verdict, reason, action, rule, target, addr, name or rc\n", in->len, in->s);
	return -1;
}

/* pv_get_sd - a field of $xavp(sipdance), or $null when no sipdance function ran for this message */
static int pv_get_sd(struct sip_msg *msg, pv_param_t *param, pv_value_t *res)
{
	int n = param->pvn.u.isname.name.n;
	sr_xavp_t *x;
	str f;

	if (n < 0 || (size_t)n >= NFIELDS)
		return pv_get_null(msg, param, res);
	f.s = (char *)pv_names[n];
	f.len = (int)strlen(pv_names[n]);
	if (!(x = xavp_get_child_with_sval(&xname, &f)))
		return pv_get_null(msg, param, res);
	return pv_get_strval(msg, param, res, &x->val.v.s);
}

static cmd_export_t cmds[] = {
	{ "sipdance_verify_peer", (cmd_function)w_verify_peer, 1, fixup_spve_null, fixup_free_spve_null,
	  ANY_ROUTE },
	{ "sipdance_verify_user", (cmd_function)w_verify_user0, 0, 0, 0, ANY_ROUTE },
	{ "sipdance_verify_user", (cmd_function)w_verify_user1, 1, fixup_spve_null, fixup_free_spve_null,
	  ANY_ROUTE },
	{ "sipdance_check_dest", (cmd_function)w_check_dest, 1, fixup_spve_null, fixup_free_spve_null,
	  ANY_ROUTE },
	{ "sipdance_check_dest_async", (cmd_function)w_check_dest_async, 2, fixup_spve_spve, fixup_free_spve_spve,
	  REQUEST_ROUTE | FAILURE_ROUTE },
	{ "sipdance_verify_peer_async", (cmd_function)w_verify_peer_async, 2, fixup_spve_spve,
	  fixup_free_spve_spve, REQUEST_ROUTE | FAILURE_ROUTE },
	{ "sipdance_verify_user_async", (cmd_function)w_verify_user_async1, 1, fixup_spve_null,
	  fixup_free_spve_null, REQUEST_ROUTE | FAILURE_ROUTE },
	{ "sipdance_verify_user_async", (cmd_function)w_verify_user_async2, 2, fixup_spve_spve,
	  fixup_free_spve_spve, REQUEST_ROUTE | FAILURE_ROUTE },
	{ 0, 0, 0, 0, 0, 0 }
};

static param_export_t params[] = {
	{ "resolver", PARAM_STRING, &p_resolver },
	{ "trust_anchor", PARAM_STRING, &p_trust_anchor },
	{ "ca_file", PARAM_STRING, &p_ca_file },
	{ "policy", PARAM_STRING, &p_policy },
	{ "domain_policy", PARAM_STRING | USE_FUNC_PARAM, (void *)set_domain_policy },
	{ "timeout", PARAM_INT, &p_timeout },
	{ "max_wait", PARAM_INT, &p_max_wait },
	{ "cache_size", PARAM_INT, &p_cache_size },
	{ "max_targets", PARAM_INT, &p_max_targets },
	{ "max_pending", PARAM_INT, &p_max_pending },
	{ "client_chain", PARAM_STRING, &p_client_chain },
	{ 0, 0, 0 }
};

static pv_export_t mod_pvs[] = {
	{ { "sipdance", sizeof("sipdance") - 1 }, PVT_OTHER, pv_get_sd, 0, pv_parse_sd, 0, 0, 0 },
	{ { 0, 0 }, 0, 0, 0, 0, 0, 0, 0 }
};

struct module_exports exports = {
	"sipdance", DEFAULT_DLFLAGS, cmds, params, 0, mod_pvs, 0, mod_init, child_init, mod_destroy
};

static sr_kemi_t kemi_exports[] = {
	{ str_init("sipdance"), str_init("verify_peer"), SR_KEMIP_INT, ki_verify_peer,
	  { SR_KEMIP_STR, SR_KEMIP_NONE, SR_KEMIP_NONE, SR_KEMIP_NONE, SR_KEMIP_NONE, SR_KEMIP_NONE } },
	{ str_init("sipdance"), str_init("verify_user"), SR_KEMIP_INT, ki_verify_user,
	  { SR_KEMIP_NONE, SR_KEMIP_NONE, SR_KEMIP_NONE, SR_KEMIP_NONE, SR_KEMIP_NONE, SR_KEMIP_NONE } },
	{ str_init("sipdance"), str_init("verify_user_uri"), SR_KEMIP_INT, ki_verify_user_uri,
	  { SR_KEMIP_STR, SR_KEMIP_NONE, SR_KEMIP_NONE, SR_KEMIP_NONE, SR_KEMIP_NONE, SR_KEMIP_NONE } },
	{ str_init("sipdance"), str_init("check_dest"), SR_KEMIP_INT, ki_check_dest,
	  { SR_KEMIP_STR, SR_KEMIP_NONE, SR_KEMIP_NONE, SR_KEMIP_NONE, SR_KEMIP_NONE, SR_KEMIP_NONE } },
	{ str_init("sipdance"), str_init("check_dest_async"), SR_KEMIP_INT, ki_check_dest_async,
	  { SR_KEMIP_STR, SR_KEMIP_STR, SR_KEMIP_NONE, SR_KEMIP_NONE, SR_KEMIP_NONE, SR_KEMIP_NONE } },
	{ str_init("sipdance"), str_init("verify_peer_async"), SR_KEMIP_INT, ki_verify_peer_async,
	  { SR_KEMIP_STR, SR_KEMIP_STR, SR_KEMIP_NONE, SR_KEMIP_NONE, SR_KEMIP_NONE, SR_KEMIP_NONE } },
	{ str_init("sipdance"), str_init("verify_user_async"), SR_KEMIP_INT, ki_verify_user_async,
	  { SR_KEMIP_STR, SR_KEMIP_NONE, SR_KEMIP_NONE, SR_KEMIP_NONE, SR_KEMIP_NONE, SR_KEMIP_NONE } },
	{ str_init("sipdance"), str_init("verify_user_uri_async"), SR_KEMIP_INT, ki_verify_user_uri_async,
	  { SR_KEMIP_STR, SR_KEMIP_STR, SR_KEMIP_NONE, SR_KEMIP_NONE, SR_KEMIP_NONE, SR_KEMIP_NONE } },
	{ { 0, 0 }, { 0, 0 }, 0, NULL, { 0, 0, 0, 0, 0, 0 } }
};

int mod_register(char *path, int *dlflags, void *p1, void *p2);

/* mod_register - KEMI exports only: no OpenSSL call may happen before the tls module's */
int mod_register(char *path, int *dlflags, void *p1, void *p2)
{
	(void)path;
	(void)dlflags;
	(void)p1;
	(void)p2;
	sr_kemi_modules_add(kemi_exports);
	return 0;
}
