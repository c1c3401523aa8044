/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * sipdance_mod.c - the Kamailio module sipdance.so: script functions and
 * KEMI exports that authenticate the TLS peer of a request (server TLSA of a
 * domain), a user's client certificate (_user TLSA) and check a destination's
 * DANE policy, with $sipdance(verdict|reason|action|rule|target|addr|name).
 * Built against the exact Kamailio source of the installed binary
 * (kamailio/get-source.sh); the decisions live in kam_verify.c.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <openssl/ssl.h>

#include "core/sr_module.h"
#include "core/mod_fix.h"
#include "core/pvar.h"
#include "core/kemi.h"
#include "core/dprint.h"
#include "core/tcp_conn.h"
#include "core/parser/parse_from.h"
#include "modules/tls/tls_server.h"

#include <sipdance/common.h>
#include "kam_verify.h"

MODULE_VERSION

static char *p_resolver;
static char *p_trust_anchor;
static char *p_ca_file;
static char *p_policy = "opportunistic";
static int p_timeout = 1000;
static int p_max_wait = 2000;
static int p_cache_size = 4096;
static struct kv_conf conf;

static struct kv *ctx;           /* this process's context, made on first use */
static struct kv_result last;    /* what the pseudo-variables show */
static unsigned int last_msg_id; /* ... for this message only */
static int last_msg_pid;
static int have_last;

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
	if (p_timeout <= 0 || p_max_wait <= 0 || p_cache_size <= 0) {
		LM_ERR("timeout, max_wait and cache_size must be positive\n");
		return -1;
	}
	conf.resolver = p_resolver;
	conf.trust_anchor = p_trust_anchor;
	conf.ca_file = p_ca_file && *p_ca_file ? p_ca_file : NULL;
	conf.policy = p_policy;
	conf.timeout_ms = (unsigned)p_timeout;
	conf.max_wait_ms = (unsigned)p_max_wait;
	conf.cache_size = (size_t)p_cache_size;
	return 0;
}

/* mod_init - check the parameters once, before the workers fork */
static int mod_init(void)
{
	const char *why = NULL;
	struct kv *probe = NULL;

	if (fill_conf())
		return -1;
	/* library debug lines only when Kamailio's log level shows them (formatting costs) */
	sipdance_log_set(on_log, NULL, is_printable(L_DBG) ? SIPDANCE_LOG_DEBUG : SIPDANCE_LOG_INFO);
	/* a throw-away context: a bad resolver, anchor or CA file stops the start */
	if (kv_alloc(&probe, &conf, &why)) {
		LM_ERR("sipdance: %s\n", why ? why : "cannot set up");
		return -1;
	}
	kv_free(probe);
	LM_INFO("sipdance: resolver %s, policy %s, per-lookup timeout %d ms, at most %d ms per call\n",
		p_resolver, p_policy, p_timeout, p_max_wait);
	return 0;
}

/* child_init - nothing shared across fork: each process makes its own context when first used */
static int child_init(int rank)
{
	(void)rank;
	ctx = NULL;
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

/* begin - start a fresh result for @msg */
static struct kv_result *begin(struct sip_msg *msg)
{
	memset(&last, 0, sizeof(last));
	last_msg_id = msg->id;
	last_msg_pid = msg->pid;
	have_last = 1;
	return &last;
}

/* finish - log a result; the script sees 1 or -1 (never 0, which would stop it) */
static int finish(const char *func, int rc)
{
	if (rc > 0)
		LM_DBG("%s(%s): %s: %s\n", func, last.name, last.verdict, last.reason);
	else
		LM_INFO("%s(%s): %s: %s\n", func, last.name, last.verdict, last.reason);
	return rc > 0 ? 1 : -1;
}

/* peer_chain - the TLS peer's chain of the connection @msg came on, end entity first */
static STACK_OF(X509) *peer_chain(struct sip_msg *msg, struct kv_result *r)
{
	struct tcp_connection *c;
	tls_extra_data_t *ed;
	STACK_OF(X509) *chain = NULL, *rest;
	X509 *leaf = NULL;

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
	tcpconn_put(c);
	return chain;
}

/* verify_peer - the request's TLS peer is a server of @domain */
static int verify_peer(struct sip_msg *msg, str *domain)
{
	struct kv_result *r = begin(msg);
	STACK_OF(X509) *chain;
	char d[256];
	int rc = -1;

	snprintf(d, sizeof(d), "%.*s", domain->len, domain->s);
	snprintf(r->name, sizeof(r->name), "%s", d);
	if (!get_ctx())
		kv_fail(r, "INDETERMINATE", "module not set up (see the log)");
	else if ((chain = peer_chain(msg, r))) {
		rc = kv_verify_peer(ctx, chain, d, r);
		sk_X509_pop_free(chain, X509_free);
	}
	return finish("sipdance_verify_peer", rc);
}

/* verify_user - the request's TLS client certificate is @address's (_user TLSA); NULL: the From URI */
static int verify_user(struct sip_msg *msg, str *address)
{
	struct kv_result *r = begin(msg);
	STACK_OF(X509) *chain;
	char a[300];
	int rc = -1;

	if (address) {
		snprintf(a, sizeof(a), "%.*s", address->len, address->s);
	} else if (parse_from_header(msg) < 0 || !get_from(msg)) {
		kv_fail(r, "NOMATCH", "no parsable From header");
		return finish("sipdance_verify_user", -1);
	} else {
		snprintf(a, sizeof(a), "%.*s", get_from(msg)->uri.len, get_from(msg)->uri.s);
	}
	snprintf(r->name, sizeof(r->name), "%s", a);
	if (!get_ctx())
		kv_fail(r, "INDETERMINATE", "module not set up (see the log)");
	else if ((chain = peer_chain(msg, r))) {
		rc = kv_verify_user(ctx, chain, a, r);
		sk_X509_pop_free(chain, X509_free);
	}
	return finish("sipdance_verify_user", rc);
}

/* check_dest - @dest may be relayed to under DANE policy */
static int check_dest(struct sip_msg *msg, str *dest)
{
	struct kv_result *r = begin(msg);
	char d[300];
	int rc = -1;

	snprintf(d, sizeof(d), "%.*s", dest->len, dest->s);
	snprintf(r->name, sizeof(r->name), "%s", d);
	if (!get_ctx())
		kv_fail(r, "INDETERMINATE", "module not set up (see the log)");
	else
		rc = kv_check_dest(ctx, d, r);
	return finish("sipdance_check_dest", rc);
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
	return param_str(msg, p1, &s) ? verify_peer(msg, &s) : -1;
}

/* w_verify_user0 - sipdance_verify_user(): the From URI's user */
static int w_verify_user0(struct sip_msg *msg, char *p1, char *p2)
{
	(void)p1;
	(void)p2;
	return verify_user(msg, NULL);
}

/* w_verify_user1 - sipdance_verify_user("user@domain") */
static int w_verify_user1(struct sip_msg *msg, char *p1, char *p2)
{
	str s;

	(void)p2;
	return param_str(msg, p1, &s) ? verify_user(msg, &s) : -1;
}

/* w_check_dest - sipdance_check_dest("domain or URI") */
static int w_check_dest(struct sip_msg *msg, char *p1, char *p2)
{
	str s;

	(void)p2;
	return param_str(msg, p1, &s) ? check_dest(msg, &s) : -1;
}

/* KEMI: KSR.sipdance.verify_peer(domain) and the others. */

/* ki_verify_peer - KEMI verify_peer */
static int ki_verify_peer(struct sip_msg *msg, str *domain)
{
	return domain && domain->len > 0 ? verify_peer(msg, domain) : -1;
}

/* ki_verify_user - KEMI verify_user (From URI) */
static int ki_verify_user(struct sip_msg *msg)
{
	return verify_user(msg, NULL);
}

/* ki_verify_user_uri - KEMI verify_user_uri(address) */
static int ki_verify_user_uri(struct sip_msg *msg, str *address)
{
	return address && address->len > 0 ? verify_user(msg, address) : -1;
}

/* ki_check_dest - KEMI check_dest */
static int ki_check_dest(struct sip_msg *msg, str *dest)
{
	return dest && dest->len > 0 ? check_dest(msg, dest) : -1;
}

/* $sipdance(NAME): the fields of the last result for this message. */
enum { PV_VERDICT, PV_REASON, PV_ACTION, PV_RULE, PV_TARGET, PV_ADDR, PV_NAME };
static const char *const pv_names[] = { "verdict", "reason", "action", "rule", "target", "addr", "name" };

/* pv_parse_sd - the inner name of $sipdance(...) */
static int pv_parse_sd(pv_spec_t *sp, str *in)
{
	for (size_t i = 0; i < sizeof(pv_names) / sizeof(pv_names[0]); i++) {
		if (in->len == (int)strlen(pv_names[i]) && !strncmp(in->s, pv_names[i], (size_t)in->len)) {
			sp->pvp.pvn.type = PV_NAME_INTSTR;
			sp->pvp.pvn.u.isname.type = 0;
			sp->pvp.pvn.u.isname.name.n = (int)i;
			return 0;
		}
	}
	LM_ERR("unknown $sipdance(%.*s): verdict, reason, action, rule, target, addr or name\n", in->len, in->s);
	return -1;
}

/* pv_get_sd - a field, or $null when no sipdance function ran for this message */
static int pv_get_sd(struct sip_msg *msg, pv_param_t *param, pv_value_t *res)
{
	const char *v;
	str s;

	if (!msg || !have_last || msg->id != last_msg_id || msg->pid != last_msg_pid)
		return pv_get_null(msg, param, res);
	switch (param->pvn.u.isname.name.n) {
	case PV_VERDICT: v = last.verdict; break;
	case PV_REASON: v = last.reason; break;
	case PV_ACTION: v = last.action; break;
	case PV_RULE: v = last.rule; break;
	case PV_TARGET: v = last.target; break;
	case PV_ADDR: v = last.addr; break;
	case PV_NAME: v = last.name; break;
	default: return pv_get_null(msg, param, res);
	}
	s.s = (char *)v;
	s.len = (int)strlen(v);
	return pv_get_strval(msg, param, res, &s);
}

static cmd_export_t cmds[] = {
	{ "sipdance_verify_peer", (cmd_function)w_verify_peer, 1, fixup_spve_null, fixup_free_spve_null,
	  ANY_ROUTE },
	{ "sipdance_verify_user", (cmd_function)w_verify_user0, 0, 0, 0, ANY_ROUTE },
	{ "sipdance_verify_user", (cmd_function)w_verify_user1, 1, fixup_spve_null, fixup_free_spve_null,
	  ANY_ROUTE },
	{ "sipdance_check_dest", (cmd_function)w_check_dest, 1, fixup_spve_null, fixup_free_spve_null,
	  ANY_ROUTE },
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
