/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fed_in.c - requests claiming to come from another domain: a foreign From
 * domain is accepted only if the TLS client authenticates for that domain,
 * by the domain's server TLSA records or by a dane_clientid host name that
 * the domain's DNS names as one of its servers. Also the proxy's dane_clientid
 * set-up and the lookups of client names inside handshakes.
 */
#include "fed_int.h"

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

/* fed_in_setup - dane_clientid on the proxy's TLS contexts: inbound clients
 * (--client-auth, --client-domains) and our own name outbound (--client-name) */
int fed_in_setup(struct px_fed *f, char *why, size_t whysize)
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
		if (sipdance_locate_target_verify(r->fed->dane, t, r->chain, v) == 0 &&
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

/* fed_in_authorize - inbound: does the client chain authenticate for the located domain? */
void fed_in_authorize(struct px_fedreq *r)
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
		fed_req_free(r);
	} else {
		fed_fail(r, 403, "client not authenticated for its domain", why);
	}
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
	return fed_start(f, r, uri);
}

/* fed_in_free - the inbound side's resolver and names */
void fed_in_free(struct px_fed *f)
{
	sipdance_dns_free(f->cid_dns);
	for (size_t i = 0; i < f->ncid_domains; i++)
		free(f->cid_domains[i]);
}

/* fed_in_flush - SIGHUP: names known not to exist are forgotten */
void fed_in_flush(struct px_fed *f)
{
	f->nabsent = 0;
}
