/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * kam_verify.c - what the Kamailio module decides, without Kamailio: a
 * per-process resolver/verifier/policy, the library's asynchronous DNS run
 * on the library's poll loop up to a deadline (so one script call never
 * blocks longer than max_wait), and destination, peer and user checks.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <sipdance/chain.h>
#include <sipdance/clientid.h>
#include <sipdance/locate.h>
#include "kam_verify.h"

struct kv {
	struct sipdance_dns *dns;
	struct sipdance_dane *dane;
	struct sipdance_policy *policy;
	unsigned max_wait_ms;
	size_t max_targets;
	struct sipdance_loop *loop; /* the library's poll loop: lookups run on it */
	struct sipdance_anchor *ta; /* users' shipped chains validate to it */
	enum sipdance_chain_policy client_chain;
};

/* set_str - copy @s into a fixed field */
static void set_str(char *dst, size_t size, const char *s)
{
	snprintf(dst, size, "%s", s ? s : "");
}

/* kv_fail - a failure verdict with a one-line reason that is safe in a quoted header value */
void kv_fail(struct kv_result *r, const char *verdict, const char *fmt, ...)
{
	va_list ap;

	set_str(r->verdict, sizeof(r->verdict), verdict);
	va_start(ap, fmt);
	vsnprintf(r->reason, sizeof(r->reason), fmt, ap);
	va_end(ap);
	for (char *p = r->reason; *p; p++)
		if (*p == '"' || *p == '\\')
			*p = '\'';
		else if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
}

/* set_target - host:port and an address (IPv4 preferred) of the target that decided */
static void set_target(struct kv_result *r, const struct sipdance_target *t)
{
	char a[INET6_ADDRSTRLEN] = "";
	size_t i = 0;

	snprintf(r->target, sizeof(r->target), "%s:%u", t->host, t->port);
	r->addr[0] = '\0';
	/* IPv4 first: a Kamailio often listens on IPv4 only and cannot send to an IPv6 address */
	while (i < t->naddr && t->addr[i].family != AF_INET)
		i++;
	if (i == t->naddr)
		i = 0;
	if (t->naddr && inet_ntop(t->addr[i].family, t->addr[i].addr, a, sizeof(a)))
		snprintf(r->addr, sizeof(r->addr), t->addr[i].family == AF_INET6 ? "[%s]:%u" : "%s:%u", a,
			 t->port);
}

/* result_clear - empty result for @name */
static void result_clear(struct kv_result *r, const char *name)
{
	memset(r, 0, sizeof(*r));
	set_str(r->name, sizeof(r->name), name);
}

/* kv_check_conf - everything the parameters must say before any process starts */
int kv_check_conf(const struct kv_conf *conf, const char **why)
{
	enum sipdance_policy_mode m;

	if (!conf->resolver || !*conf->resolver)
		return *why = "modparam resolver is required (ADDR[@PORT] of a DNS server)", EINVAL;
	if (!conf->trust_anchor || !*conf->trust_anchor)
		return *why = "modparam trust_anchor is required (a file of DS or DNSKEY records)", EINVAL;
	if (conf->policy && sipdance_policy_mode_parse(conf->policy, &m))
		return *why = "modparam policy takes off, opportunistic or required", EINVAL;
	for (size_t i = 0; i < conf->ndomain_policy; i++) {
		const char *eq = strchr(conf->domain_policy[i], '=');

		if (!eq || eq == conf->domain_policy[i] || sipdance_policy_mode_parse(eq + 1, &m))
			return *why = "modparam domain_policy takes DOMAIN=off|opportunistic|required", EINVAL;
	}
	if (!conf->max_wait_ms || !conf->timeout_ms)
		return *why = "modparam timeout and max_wait must be positive (milliseconds)", EINVAL;
	if (conf->client_chain && sipdance_chain_policy_parse(conf->client_chain,
							       &(enum sipdance_chain_policy){ 0 }))
		return *why = "modparam client_chain takes required, prefer or off", EINVAL;
	return 0;
}

/* kv_alloc - resolver, verifier and policy for this process, attached to the private loop */
int kv_alloc(struct kv **out, const struct kv_conf *conf, const char **why)
{
	struct sipdance_dns_conf dc = { .size = sizeof(dc), .resolver = conf->resolver,
					.timeout_ms = conf->timeout_ms, .cache_size = conf->cache_size,
					.observe = conf->dns_observe };
	enum sipdance_policy_mode mode = SIPDANCE_POLICY_OPPORTUNISTIC;
	struct kv *kv;
	int err;

	*out = NULL;
	if ((err = kv_check_conf(conf, why)))
		return err;
	if (!(kv = calloc(1, sizeof(*kv))))
		return *why = "out of memory", ENOMEM;
	kv->max_wait_ms = conf->max_wait_ms;
	kv->max_targets = conf->max_targets;
	if ((err = sipdance_loop_poll_alloc(&kv->loop))) {
		*why = "out of memory";
		goto fail;
	}
	if ((err = sipdance_anchor_load(&kv->ta, conf->trust_anchor, why)))
		goto fail;
	dc.loop = kv->loop;
	dc.anchor = kv->ta; /* one anchor for the resolver and users' shipped chains */
	if ((err = sipdance_dns_alloc(&kv->dns, &dc, why)))
		goto fail;
	if (conf->client_chain)
		sipdance_chain_policy_parse(conf->client_chain, &kv->client_chain);
	if ((err = sipdance_dane_alloc(&kv->dane, conf->ca_file))) {
		*why = err == ENOMEM ? "out of memory" : "modparam ca_file: unreadable or no PEM certificate";
		goto fail;
	}
	if (conf->policy)
		sipdance_policy_mode_parse(conf->policy, &mode);
	if ((err = sipdance_policy_alloc(&kv->policy, mode))) {
		*why = "out of memory";
		goto fail;
	}
	for (size_t i = 0; i < conf->ndomain_policy; i++) {
		const char *s = conf->domain_policy[i], *eq = strchr(s, '=');
		char domain[256];
		enum sipdance_policy_mode m;

		snprintf(domain, sizeof(domain), "%.*s", (int)(eq - s), s);
		sipdance_policy_mode_parse(eq + 1, &m);
		if ((err = sipdance_policy_set(kv->policy, domain, m))) {
			*why = "modparam domain_policy: bad domain";
			goto fail;
		}
	}
	*out = kv;
	return 0;
fail:
	kv_free(kv);
	return err;
}

/* kv_free - free a context */
void kv_free(struct kv *kv)
{
	if (!kv)
		return;
	sipdance_dns_free(kv->dns);
	sipdance_dane_free(kv->dane);
	sipdance_policy_free(kv->policy);
	sipdance_loop_free(kv->loop);
	sipdance_anchor_free(kv->ta);
	free(kv);
}

/* locate_done - the resolution finished */
static void locate_done(void *arg, struct sipdance_locate *loc)
{
	(void)loc;
	*(int *)arg = 1;
}

/* locate_start - start resolving sips:@what (or @what when it is a URI); NULL with r filled on failure */
static struct sipdance_locate *locate_start(struct kv *kv, const char *what, sipdance_locate_cb *cb, void *arg,
					    struct kv_result *r)
{
	struct sipdance_locate_conf lc = { .size = sizeof(lc), .dns = kv->dns, .policy = kv->policy, .dane = kv->dane,
					   .max_targets = kv->max_targets };
	struct sipdance_locate *loc = NULL;
	const char *why = NULL;
	char uri[640];
	int err, n;

	if (!strncasecmp(what, "sip:", 4) || !strncasecmp(what, "sips:", 5))
		n = snprintf(uri, sizeof(uri), "%s", what);
	else
		n = snprintf(uri, sizeof(uri), "sips:%s", what);
	if (n < 0 || (size_t)n >= sizeof(uri)) { /* never a truncated name */
		kv_fail(r, "NOMATCH", "cannot locate %.64s...: too long", what);
		return NULL;
	}
	if ((err = sipdance_locate_start(&loc, &lc, uri, cb, arg, &why))) {
		kv_fail(r, "NOMATCH", "cannot locate %s: %s", what, why ? why : strerror(err));
		return NULL;
	}
	return loc;
}

/* late - the result of a resolution of @what not complete after max_wait */
static void late(const struct kv *kv, const char *what, struct kv_result *r)
{
	kv_fail(r, "INDETERMINATE", "DNS for %s not complete after %u ms", what, kv->max_wait_ms);
}

/* locate - resolve @what within max_wait on the private loop; NULL with r filled on failure */
static struct sipdance_locate *locate(struct kv *kv, const char *what, struct kv_result *r)
{
	struct sipdance_locate *loc;
	int done = 0, err;

	if (!(loc = locate_start(kv, what, locate_done, &done, r)))
		return NULL;
	if ((err = sipdance_loop_run(kv->loop, &done, (long)kv->max_wait_ms))) {
		sipdance_locate_free(loc);
		if (err == ETIMEDOUT)
			late(kv, what, r);
		else
			kv_fail(r, "INDETERMINATE", "DNS for %s: %s", what, strerror(err));
		return NULL;
	}
	return loc;
}

/*
 * refusal - why no target of @loc can be used, as a verdict name. The most
 * telling DNS status wins: BOGUS, then INDETERMINATE, then INSECURE (a zone
 * without DNSSEC and no PKIX fallback), then a validated denial of the TLSA
 * (NODATA), else NOMATCH (e.g. no target at all).
 */
static const char *refusal(const struct sipdance_locate *loc)
{
	static const enum sipdance_dns_status order[] = { SIPDANCE_DNS_BOGUS, SIPDANCE_DNS_INDETERMINATE,
							  SIPDANCE_DNS_INSECURE };
	size_t n = sipdance_locate_step_count(loc);

	for (size_t k = 0; k < sizeof(order) / sizeof(order[0]); k++)
		for (size_t i = 0; i < n; i++)
			if (sipdance_locate_step(loc, i)->status == order[k])
				return sipdance_dns_status_str(order[k]);
	for (size_t i = 0; i < sipdance_locate_count(loc); i++) {
		const struct sipdance_target *t = sipdance_locate_target(loc, i);

		if (t->tlsa_looked_up && t->tlsa_rcode != SIPDANCE_DNS_FOUND)
			return "NODATA";
	}
	return "NOMATCH";
}

/* refuse - fill @r for a resolution none of whose targets may be used */
static void refuse(const struct sipdance_locate *loc, const char *what, struct kv_result *r)
{
	const struct sipdance_target *t = sipdance_locate_target(loc, 0);

	set_str(r->action, sizeof(r->action), "REFUSE");
	if (t) {
		set_str(r->rule, sizeof(r->rule), t->decision.rule);
		set_target(r, t);
		kv_fail(r, refusal(loc), "%s refused: %s", what, t->decision.reason);
	} else {
		kv_fail(r, refusal(loc), "%s: %s", what,
			*sipdance_locate_why(loc) ? sipdance_locate_why(loc) : "no TLS target");
	}
}

/* dest_decide - may a request be relayed to @dest, resolved as @loc (freed), and how it will be authenticated */
static int dest_decide(struct sipdance_locate *loc, const char *dest, struct kv_result *r)
{
	/*
	 * Relaying is allowed when one target is not refused: DANE (secure
	 * usable TLSA, authenticated at connect time) or PKIX (validated
	 * denial or insecure zone, with a CA file). BOGUS/INDETERMINATE
	 * lookups, required-without-TLSA and PKIX-without-CA refuse.
	 */
	for (size_t i = 0; i < sipdance_locate_count(loc); i++) {
		const struct sipdance_target *t = sipdance_locate_target(loc, i);

		if (t->decision.action == SIPDANCE_ACT_REFUSE)
			continue;
		set_str(r->action, sizeof(r->action), sipdance_policy_action_str(t->decision.action));
		set_str(r->rule, sizeof(r->rule), t->decision.rule);
		set_target(r, t);
		kv_fail(r, r->action, "%s: %s", r->target, t->decision.reason);
		sipdance_locate_free(loc);
		return 1;
	}
	refuse(loc, dest, r);
	sipdance_locate_free(loc);
	return -1;
}

/* kv_check_dest - may a request be relayed to @dest under policy, and how it will be authenticated */
int kv_check_dest(struct kv *kv, const char *dest, struct kv_result *r)
{
	struct sipdance_locate *loc;

	result_clear(r, dest);
	if (!(loc = locate(kv, dest, r)))
		return -1;
	return dest_decide(loc, dest, r);
}

static int peer_decide(struct kv *kv, struct sipdance_locate *loc, STACK_OF(X509) *chain, const char *domain,
		       struct kv_result *r);

/* kv_verify_peer - authenticate a peer chain as a TLS server of @domain */
int kv_verify_peer(struct kv *kv, STACK_OF(X509) *chain, const char *domain, struct kv_result *r)
{
	struct sipdance_locate *loc;

	result_clear(r, domain);
	if (!(loc = locate(kv, domain, r)))
		return -1;
	return peer_decide(kv, loc, chain, domain, r);
}

/* peer_decide - does @chain authenticate as a TLS server of @domain, resolved as @loc (freed) */
static int peer_decide(struct kv *kv, struct sipdance_locate *loc, STACK_OF(X509) *chain, const char *domain,
		       struct kv_result *r)
{
	struct sipdance_verdict v, first = { .result = SIPDANCE_NOMATCH };
	const struct sipdance_target *ft = NULL;

	/*
	 * The peer is authenticated when its chain matches one target of the
	 * domain under that target's decision (DANE: its secure TLSA and
	 * reference ids; PKIX: the CA file and the SIP domain). Refused
	 * targets never match; no match on any target fails with the first
	 * tried target's verdict.
	 */
	for (size_t i = 0; i < sipdance_locate_count(loc); i++) {
		const struct sipdance_target *t = sipdance_locate_target(loc, i);

		if (t->decision.action == SIPDANCE_ACT_REFUSE)
			continue;
		if (sipdance_locate_target_verify(kv->dane, t, chain, &v)) {
			v.result = SIPDANCE_INDETERMINATE;
			snprintf(v.reason, sizeof(v.reason), "verification error");
		}
		if (v.result == SIPDANCE_MATCH || !ft) {
			ft = t;
			first = v;
		}
		if (v.result == SIPDANCE_MATCH)
			break;
	}
	if (!ft) {
		refuse(loc, domain, r);
		sipdance_locate_free(loc);
		return -1;
	}
	set_str(r->action, sizeof(r->action), sipdance_policy_action_str(ft->decision.action));
	set_str(r->rule, sizeof(r->rule), ft->decision.rule);
	set_target(r, ft);
	kv_fail(r, sipdance_result_str(first.result), "%s: %s", domain, first.reason);
	sipdance_locate_free(loc);
	return first.result == SIPDANCE_MATCH ? 1 : -1;
}

/* A TLSA lookup in flight. */
struct user_lookup {
	int done;
	struct sipdance_dns_answer *ans;
};

/* user_done - keep the answer */
static void user_done(void *arg, const struct sipdance_dns_answer *a)
{
	struct user_lookup *u = arg;

	u->ans = sipdance_dns_answer_ref(a);
	u->done = 1;
}

/*
 * user_begin - what can be decided of @address's client certificate without DNS: 1 or -1 with @r
 * filled, or 0 when its _user TLSA (r->name) must be looked up
 */
static int user_begin(struct kv *kv, STACK_OF(X509) *chain, const char *address, const uint8_t *ext,
		      size_t ext_len, struct kv_result *r)
{
	struct sipdance_verdict v;
	const char *why = NULL;

	result_clear(r, address);
	set_str(r->action, sizeof(r->action), "DANE");
	if (sipdance_clientid_user_name(address, r->name, sizeof(r->name), &why)) {
		kv_fail(r, "NOMATCH", "not a user address: %s: %s", address, why ? why : "malformed");
		return -1;
	}
	/*
	 * Where the user's TLSA records come from, case by case:
	 *  - the client shipped its own DNSSEC chain in its handshake (asked for
	 *    unless client_chain is off): validated offline for exactly the
	 *    address's _user name and matched (sipdance_clientid_verify_chain),
	 *    no DNS query (rule client-chain); a chain that does not prove it
	 *    fails, it is never looked up instead;
	 *  - no chain, client_chain required: fails, nothing is looked up;
	 *  - no chain otherwise: the lookup (rule dns), judged by user_decide().
	 */
	if (ext && kv->client_chain != SIPDANCE_CHAIN_OFF) {
		set_str(r->rule, sizeof(r->rule), "client-chain");
		if (sipdance_clientid_verify_chain(kv->ta, r->name, ext, ext_len, chain, 0, &v)) {
			kv_fail(r, "INDETERMINATE", "%s: verification error", address);
			return -1;
		}
		kv_fail(r, sipdance_result_str(v.result), "%s: %s (the client's own DNSSEC chain, no DNS "
			"query)", address, v.reason);
		return v.result == SIPDANCE_MATCH ? 1 : -1;
	}
	if (kv->client_chain == SIPDANCE_CHAIN_REQUIRED) {
		set_str(r->rule, sizeof(r->rule), "client-chain");
		kv_fail(r, "INDETERMINATE", "%s: no DNSSEC chain from the client (client_chain required): "
			"not looked up", address);
		return -1;
	}
	set_str(r->rule, sizeof(r->rule), "dns");
	return 0;
}

/* user_decide - does @chain match the _user TLSA answer @ans for @address (r->name) */
static int user_decide(const struct sipdance_dns_answer *ans, STACK_OF(X509) *chain, const char *address,
		       struct kv_result *r)
{
	struct sipdance_tlsa_set *set = NULL;
	struct sipdance_verdict v;
	int rc = -1;

	/*
	 * Only a SECURE answer with records at the user's own name can
	 * authenticate: INSECURE, BOGUS and INDETERMINATE answers fail with
	 * their status, records reached through an alias as BOGUS (as in a
	 * shipped chain), a validated denial (no _user TLSA) as NODATA;
	 * otherwise the chain must match a DANE-EE/DANE-TA record
	 * (sipdance_clientid_verify).
	 */
	switch (sipdance_dns_answer_status(ans)) {
	case SIPDANCE_DNS_SECURE:
		if (sipdance_dns_answer_rcode(ans) == SIPDANCE_DNS_FOUND &&
		    strcasecmp(sipdance_dns_answer_qname(ans), sipdance_dns_answer_cname(ans))) {
			/* as for a shipped chain: a user's TLSA is at its own _user name */
			kv_fail(r, "BOGUS", "TLSA %s leads to %s: not the user's own", r->name,
				sipdance_dns_answer_cname(ans));
		} else if (sipdance_dns_answer_rcode(ans) != SIPDANCE_DNS_FOUND) {
			kv_fail(r, "NODATA", "no _user TLSA for %s (%s, validated)", address,
				sipdance_dns_rcode_str(sipdance_dns_answer_rcode(ans)));
		} else if (sipdance_dns_answer_tlsa(ans, &set) ||
			   sipdance_clientid_verify(r->name, set, chain, 0, &v)) {
			kv_fail(r, "INDETERMINATE", "%s: verification error", address);
		} else {
			kv_fail(r, sipdance_result_str(v.result), "%s: %s", address, v.reason);
			rc = v.result == SIPDANCE_MATCH ? 1 : -1;
		}
		break;
	case SIPDANCE_DNS_INSECURE:
		kv_fail(r, "INSECURE", "TLSA %s is not DNSSEC-signed", r->name);
		break;
	case SIPDANCE_DNS_BOGUS:
		kv_fail(r, "BOGUS", "TLSA %s: %s", r->name, sipdance_dns_answer_why(ans));
		break;
	case SIPDANCE_DNS_INDETERMINATE:
		kv_fail(r, "INDETERMINATE", "TLSA %s: %s", r->name, sipdance_dns_answer_why(ans));
		break;
	}
	sipdance_tlsa_set_free(set);
	return rc;
}

/* user_late - no TLSA answer within max_wait */
static void user_late(const struct kv *kv, struct kv_result *r)
{
	kv_fail(r, "INDETERMINATE", "TLSA %s: no answer within %u ms", r->name, kv->max_wait_ms);
}

/* kv_verify_user - authenticate a user's client certificate against its _user TLSA */
int kv_verify_user(struct kv *kv, STACK_OF(X509) *chain, const char *address, const uint8_t *ext,
		   size_t ext_len, struct kv_result *r)
{
	struct user_lookup u = { 0, NULL };
	struct sipdance_dns_query *q = NULL;
	int rc;

	if ((rc = user_begin(kv, chain, address, ext, ext_len, r)))
		return rc;
	if (sipdance_dns_lookup(kv->dns, r->name, SIPDANCE_DNS_TLSA, user_done, &u, &q)) {
		kv_fail(r, "INDETERMINATE", "cannot look up %s", r->name);
		return -1;
	}
	if (sipdance_loop_run(kv->loop, &u.done, (long)kv->max_wait_ms)) {
		sipdance_dns_cancel(q);
		user_late(kv, r);
		return -1;
	}
	rc = user_decide(u.ans, chain, address, r);
	sipdance_dns_answer_unref(u.ans);
	return rc;
}

/* A check in flight on the context's loop, driven by its owner (kv_*_start, kv_op_end). */
struct kv_op {
	struct kv *kv;
	enum { OP_DEST, OP_PEER, OP_USER } kind;
	struct sipdance_locate *loc;    /* OP_DEST, OP_PEER */
	struct sipdance_dns_query *q;   /* OP_USER: the pending lookup */
	struct sipdance_dns_answer *ans; /* OP_USER: its answer */
	STACK_OF(X509) *chain;          /* OP_PEER, OP_USER: owned */
	kv_op_done *done;
	void *arg;
	int finished;
	struct kv_result r; /* what the start found (name, rule) */
	char what[640];     /* destination, domain or address */
};

/* op_alloc - a new op for @what, or NULL with @r failed */
static struct kv_op *op_alloc(struct kv *kv, int kind, const char *what, kv_op_done *done, void *arg,
			      struct kv_result *r)
{
	struct kv_op *op;

	result_clear(r, what);
	if (strlen(what) >= sizeof(op->what) || !(op = calloc(1, sizeof(*op)))) {
		kv_fail(r, "INDETERMINATE", "out of memory");
		return NULL;
	}
	op->kv = kv;
	op->kind = kind;
	op->done = done;
	op->arg = arg;
	memcpy(op->what, what, strlen(what) + 1);
	return op;
}

/* op_free - free @op and what it holds */
static void op_free(struct kv_op *op)
{
	sipdance_locate_free(op->loc);
	sipdance_dns_cancel(op->q);
	sipdance_dns_answer_unref(op->ans);
	sk_X509_pop_free(op->chain, X509_free);
	free(op);
}

/* op_located - a resolution finished: tell the owner, who collects the result later */
static void op_located(void *arg, struct sipdance_locate *loc)
{
	struct kv_op *op = arg;

	(void)loc;
	op->finished = 1;
	op->done(op->arg);
}

/* op_answered - the user's TLSA answer is in */
static void op_answered(void *arg, const struct sipdance_dns_answer *a)
{
	struct kv_op *op = arg;

	op->q = NULL;
	op->ans = sipdance_dns_answer_ref(a);
	op->finished = 1;
	op->done(op->arg);
}

/* op_locate - start resolving op->what; -1 with @r failed */
static int op_locate(struct kv_op *op, struct kv_op **out, struct kv_result *r)
{
	if (!(op->loc = locate_start(op->kv, op->what, op_located, op, r))) {
		op_free(op);
		return -1;
	}
	op->r = *r;
	*out = op;
	return 0;
}

/* kv_dest_start - kv_check_dest(@dest) on @kv's loop */
int kv_dest_start(struct kv *kv, const char *dest, kv_op_done *done, void *arg, struct kv_op **out,
		  struct kv_result *r)
{
	struct kv_op *op;

	*out = NULL;
	if (!(op = op_alloc(kv, OP_DEST, dest, done, arg, r)))
		return -1;
	return op_locate(op, out, r);
}

/* kv_peer_start - kv_verify_peer(@chain, @domain) on @kv's loop; takes @chain */
int kv_peer_start(struct kv *kv, STACK_OF(X509) *chain, const char *domain, kv_op_done *done, void *arg,
		  struct kv_op **out, struct kv_result *r)
{
	struct kv_op *op;

	*out = NULL;
	if (!(op = op_alloc(kv, OP_PEER, domain, done, arg, r))) {
		sk_X509_pop_free(chain, X509_free);
		return -1;
	}
	op->chain = chain;
	return op_locate(op, out, r);
}

/* kv_user_start - kv_verify_user(...) on @kv's loop; takes @chain */
int kv_user_start(struct kv *kv, STACK_OF(X509) *chain, const char *address, const uint8_t *ext,
		  size_t ext_len, kv_op_done *done, void *arg, struct kv_op **out, struct kv_result *r)
{
	struct kv_op *op;
	int rc;

	*out = NULL;
	if (!(op = op_alloc(kv, OP_USER, address, done, arg, r))) {
		sk_X509_pop_free(chain, X509_free);
		return -1;
	}
	op->chain = chain;
	if ((rc = user_begin(kv, chain, address, ext, ext_len, r))) {
		op_free(op);
		return rc;
	}
	if (sipdance_dns_lookup(kv->dns, r->name, SIPDANCE_DNS_TLSA, op_answered, op, &op->q)) {
		kv_fail(r, "INDETERMINATE", "cannot look up %s", r->name);
		op_free(op);
		return -1;
	}
	op->r = *r;
	*out = op;
	return 0;
}

/* kv_op_end - the result of @op as the synchronous check gives it (not finished: late), freeing it */
int kv_op_end(struct kv_op *op, struct kv_result *r)
{
	struct sipdance_locate *loc = op->loc;
	int rc = -1;

	*r = op->r;
	op->loc = NULL;
	if (!op->finished) {
		sipdance_locate_free(loc);
		if (op->kind == OP_USER)
			user_late(op->kv, r);
		else
			late(op->kv, op->what, r);
	} else if (op->kind == OP_DEST) {
		rc = dest_decide(loc, op->what, r);
	} else if (op->kind == OP_PEER) {
		rc = peer_decide(op->kv, loc, op->chain, op->what, r);
	} else {
		rc = user_decide(op->ans, op->chain, op->what, r);
	}
	op_free(op);
	return rc;
}

/* kv_loop - the loop @kv's lookups run on */
struct sipdance_loop *kv_loop(struct kv *kv)
{
	return kv->loop;
}
