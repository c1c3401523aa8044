/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fed_in.c - requests claiming to come from another domain: a foreign From
 * domain is accepted only if the TLS client authenticates for that domain,
 * by the domain's server TLSA records or by a dane_clientid host name that
 * the domain's DNS names as one of its servers, or that is the domain itself.
 * Also the proxy's dane_clientid set-up (the lookups of client names that
 * came without their chain run after the handshake: dance.c).
 */
#include "fed_int.h"

/* client_chain - our own chain as a DANCE client (--client-name): from
 * --client-chain-file, or built from our resolver; held to our certificate */
static int client_chain(struct px_fed *f, char *why, size_t whysize)
{
	const struct px_conf *conf = f->conf;
	struct sipdance_chain_source_conf sc = { .size = sizeof(sc), .anchor = f->anchor,
						 .owner = conf->client_name,
						 .file = conf->client_chain_file,
						 .resolver = conf->client_chain_file ? NULL : conf->resolver,
						 .timeout_ms = conf->dns_timeout_ms, .loop = f->loop };
	STACK_OF(X509) *cert = NULL;
	EVP_PKEY *key = NULL;
	const char *w = NULL;
	size_t len = 0;
	int err;

	/*
	 * Case by case:
	 *  - no --client-name, or neither a file nor a resolver: none shipped;
	 *  - a chain whose TLSA records our certificate does not match would
	 *    have every server refuse us: never shipped;
	 *  - the file is unreadable, does not validate or does not match: the
	 *    proxy does not start (it was asked for);
	 *  - built from our resolver and that fails or does not match (no TLSA
	 *    published yet, a rollover under way, a DNS outage): none shipped,
	 *    servers look our name up instead (logged).
	 */
	if (!conf->client_name || !sc.anchor || (!sc.file && !sc.resolver))
		return 0;
	if ((err = sipdance_chain_source_alloc(&f->client_src, &sc, &w))) {
		if (sc.file) {
			snprintf(why, whysize, "--client-chain-file %s: %s", sc.file, w ? w : strerror(err));
			return err;
		}
		px_log(SIPDANCE_LOG_WARN, "chain", "no DNSSEC chain of our own for %s: %s (servers "
		       "look our name up)", conf->client_name, w ? w : strerror(err));
		return 0;
	}
	if (conf->cert && conf->key) {
		if ((err = px_hook_read_cert(conf->cert, conf->key, &cert, &key, why, whysize)))
			return err;
		EVP_PKEY_free(key);
		err = sipdance_chain_source_set_cert(f->client_src, cert, &w);
		sk_X509_pop_free(cert, X509_free);
		if (err && sc.file) {
			snprintf(why, whysize, "--client-chain-file %s: %s", sc.file, w ? w : strerror(err));
			return err;
		}
		if (err) {
			px_log(SIPDANCE_LOG_WARN, "chain", "our DNSSEC chain for %s is not shipped: %s",
			       conf->client_name, w ? w : strerror(err));
			sipdance_chain_source_free(f->client_src);
			f->client_src = NULL;
			return 0;
		}
	}
	sipdance_chain_source_get(f->client_src, 0, &len);
	px_log(SIPDANCE_LOG_INFO, "chain", "shipping our DNSSEC chain for %s to servers that ask "
	       "(%zu bytes, %s)", conf->client_name, len, sc.file ? sc.file : "from our resolver");
	fed_chain_schedule(f);
	return 0;
}

/* fed_in_setup - dane_clientid on the proxy's TLS contexts: inbound clients
 * (--client-auth, --client-domains, --client-chain) and our own name and
 * chain outbound (--client-name, --client-chain-file) */
int fed_in_setup(struct px_fed *f, char *why, size_t whysize)
{
	const struct px_conf *conf = f->conf;
	struct sipdance_clientid_conf cc = { .size = sizeof(cc), .name = conf->client_name,
					     .anchor = f->anchor };
	const char *mode = conf->client_auth ? conf->client_auth : "optional";
	char *list, *tok, *save = NULL;
	int err;

	if ((err = client_chain(f, why, whysize)))
		return err;
	cc.chain_source = f->client_src;
	/*
	 * Inbound, with a resolver: a client's own DNSSEC chain is asked for
	 * (--client-chain prefer or required) and judged in the handshake, with
	 * no DNS query; a ClientName without one is not looked up in the
	 * handshake (which would block the loop) but after it (dance.c), unless
	 * --client-chain required refuses it there.
	 */
	if (strcmp(mode, "off") && f->dns) {
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
		sipdance_chain_policy_parse(conf->client_chain ? conf->client_chain : "prefer", &cc.chain);
		if ((err = px_dance_alloc(&f->dance, f->hook, f->dns, cc.domains, cc.ndomains)))
			return err;
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
	 *  - a host name equal to the claimed domain: accepted before any
	 *    location (px_fed_authorize), not here;
	 *  - a host name equal to a reference identifier (SRV target, TLSA base
	 *    domain of a secure chain) of a TLS target the policy does not refuse:
	 *    accepted; the DNS said that host serves the domain;
	 *  - any other host: not this rule, the reason says which host it was.
	 */
	if (!px_hook_client_name(r->ssl, name, sizeof(name), NULL, NULL) || sipdance_clientid_check(name, &kind, &cdomain, NULL) ||
	    kind != SIPDANCE_CLIENTID_HOST)
		return 0;
	*rule = "dane-clientid";
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
	px_metrics_decision(rule, ok ? "MATCH" : sipdance_result_str(v.result));
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

/* own_domain - whether the DANCE-authenticated ClientName of @ssl is the host
 * name @domain itself: a peer proxy that needs no location to speak for it */
static int own_domain(SSL *ssl, const char *domain, const struct sockaddr *peer)
{
	char name[SIPDANCE_CLIENTID_MAX + 1], pstr[64];
	enum sipdance_clientid_kind kind;

	if (!px_hook_client_name(ssl, name, sizeof(name), NULL, NULL) ||
	    sipdance_clientid_check(name, &kind, NULL, NULL) || kind != SIPDANCE_CLIENTID_HOST ||
	    strcasecmp(name, domain))
		return 0;
	px_log(SIPDANCE_LOG_INFO, "auth", "peer=%s domain=%s rule=dane-clientid verdict=MATCH "
	       "(inbound client: client TLSA of %s (dane_clientid via=%s), no location needed)",
	       px_addr_str(peer, pstr, sizeof(pstr)), domain, name, px_hook_client_via(ssl));
	px_hook_client_remember(ssl, domain, 1);
	return 1;
}

/* px_fed_authorize - does the client of TLS connection @ssl authenticate for @domain? */
int px_fed_authorize(struct px_fed *f, struct px_fedreq **out, SSL *ssl, const struct sockaddr *peer,
		     const char *domain, px_fed_auth_fn *auth, void *arg)
{
	STACK_OF(X509) *chain = px_hook_client_chain(ssl);
	struct px_fedreq *r;
	char uri[300];

	if (own_domain(ssl, domain, peer)) {
		*out = NULL;
		auth(arg, 1, NULL);
		return 0;
	}
	if (!(r = calloc(1, sizeof(*r))) || !chain || !(r->chain = X509_chain_up_ref(chain)) || !SSL_up_ref(ssl)) {
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

/* fed_in_free - the lookups after handshakes (before the resolver goes) and names */
void fed_in_free(struct px_fed *f)
{
	px_dance_free(f->dance);
	for (size_t i = 0; i < f->ncid_domains; i++)
		free(f->cid_domains[i]);
}

/* fed_in_flush - SIGHUP: names known not to exist are forgotten */
void fed_in_flush(struct px_fed *f)
{
	px_dance_flush(f->dance);
}
