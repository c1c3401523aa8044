/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fed_out.c - requests to other domains: after RFC 3263 location and the
 * DANE policy, a TLS connection per (domain, address) whose handshake must
 * authenticate the peer for that domain before the request goes out on it
 * (the OpenSSL hook calls back into here). A connection authenticated for one
 * domain is never used for another, and at most one handshake per address is
 * in flight, so a handshake always binds to the right domain. A failed
 * connection fails over to the next address, then target (RFC 3263 §4.3).
 */
#include "fed_int.h"

static void conn_dispatch(struct fconn *c);
static void req_connect(struct px_fedreq *r);
static const struct sipdance_target *pick(const struct px_fed *f, const struct sipdance_locate *loc,
					  const struct sockaddr_storage *only, size_t from,
					  struct sockaddr_storage *addr, size_t *cand, char *why, size_t size);
static int set_addr(const struct px_fed *f, struct sockaddr_storage *ss, const struct sipdance_target *t,
		    size_t n);

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

/* target_verify - the hook's verification of an outbound chain */
static int target_verify(void *arg, STACK_OF(X509) *chain, struct sipdance_verdict *v)
{
	struct fconn *c = arg;

	sk_X509_pop_free(c->chain, X509_free);
	c->chain = X509_chain_up_ref(chain);
	return sipdance_locate_target_verify(c->fed->dane, c->target, chain, v);
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
	c->authenticated = fed_mono_s();
	px_metrics_decision(c->via_chain ? "rfc9102-chain" : c->target->decision.rule ?
			    c->target->decision.rule : "?", sipdance_result_str(v->result));
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
	fed_quote(why);
	return 1;
}

/* px_fed_handshaking - whether @r's connection has not authenticated its peer yet */
int px_fed_handshaking(const struct px_fedreq *r)
{
	return r && r->conn && r->conn->state == HANDSHAKING;
}

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
	if (!(t = pick(r->fed, r->loc, &r->only, r->cand + 1, &addr, &cand, why, sizeof(why))))
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
	next = r->spare && c->loc && pick(r->fed, c->loc, &r->only, r->cand + 1, &addr, &cand, why, sizeof(why));
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
			fed_req_free(first);
		}
		while ((r = waiting)) {
			waiting = r->next;
			r->conn = NULL;
			if ((orq = send_on(r, c->domain, c->tp)))
				r->event(r->arg, PX_FED_DONE, orq, 0, NULL);
			else
				r->event(r->arg, PX_FED_FAIL, NULL, 500, "internal: cannot create transaction");
			fed_req_free(r);
		}
	} else {
		if (first) {
			first->conn = NULL;
			/* its location (the target points into it) goes back to it */
			first->loc = c->loc;
			c->loc = NULL;
			if (!failover(first, c))
				fed_fail(first, 502, cause, c->verdict.reason);
		}
		while ((r = waiting)) {
			waiting = r->next;
			r->conn = NULL;
			if (!failover(r, c))
				fed_fail(r, 502, cause, c->verdict.reason);
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

/* on_pin - the pin another node learned for @r's target: taken as a tightening, then on */
static void on_pin(void *arg, enum sipdance_store_status st, const char *value, size_t len,
		   const char *why)
{
	struct px_fedreq *r = arg;
	const struct sipdance_target *t = r->target;
	time_t now = time(NULL);
	long long until = 0;
	char *end = NULL;
	int err = 0;

	/*
	 * What the shared state says of the target's pin (another node's
	 * handshake wrote it, or whoever can write to Redis), case by case:
	 *  - nothing: this node's own pins decide;
	 *  - an end time: merged into our pins as a tightening only
	 *    (sipdance_chain_pins_merge: later than ours, never past the longest
	 *    lifetime a chain can set, never shorter, never a removal): the
	 *    handshake must then bring a valid chain; nothing read can make this
	 *    node accept a connection it would refuse without it;
	 *  - anything else (not a number, over, too far ahead): left out, logged;
	 *  - unreadable: this node's own pins decide, logged: a pin only adds a
	 *    requirement, and without the chain the DNSSEC-validated TLSA path
	 *    still authenticates the server in full (or refuses it), so the
	 *    request is not failed for it.
	 */
	r->pinop = NULL;
	if (st == SIPDANCE_STORE_OK) {
		errno = 0;
		until = len && value[0] >= '0' && value[0] <= '9' ? strtoll(value, &end, 10) : 0;
		err = !end || *end || errno ||
		      sipdance_chain_pins_merge(sipdance_chain_client_pins(r->fed->chain_client),
						t->base_domain, t->port, (time_t)until, now);
		if (err)
			px_log(SIPDANCE_LOG_WARN, "fed", "shared RFC 9102 pin of %s:%u left out: \"%.40s\" is "
			       "not an end time within 65535 hours", t->base_domain, t->port, value);
		else
			px_log(SIPDANCE_LOG_DEBUG, "fed", "shared RFC 9102 pin of %s:%u taken: until %lld",
			       t->base_domain, t->port, until);
	} else if (st == SIPDANCE_STORE_ERROR) {
		px_log(SIPDANCE_LOG_WARN, "fed", "shared RFC 9102 pin of %s:%u unreadable (%s): this "
		       "node's own pins decide", t->base_domain, t->port, why);
	}
	req_connect(r);
}

/* pin_read - with --state, read the pin other nodes learned for @r's target
 * before a new connection to it: 1 when on_pin will go on, else 0 */
static int pin_read(struct px_fedreq *r)
{
	const struct sipdance_target *t = r->target;
	char key[300];
	size_t n;

	r->pin_read = t;
	n = (size_t)snprintf(key, sizeof(key), "pin:%s", t->base_domain);
	if (n >= sizeof(key) - 8)
		return 0;
	for (char *p = key; *p; p++)
		*p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
	if (n > 4 && key[n - 1] == '.')
		key[--n] = '\0';
	snprintf(key + n, sizeof(key) - n, ":%u", t->port);
	return sipdance_store_get(r->fed->store, key, on_pin, r, &r->pinop) == 0;
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
		    fed_mono_s() - c->authenticated >= REUSE_WITHOUT_LOCATE_S &&
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
			fed_req_free(r);
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
	/* a new connection: with --state, the pin the other nodes learned first */
	if (f->store && f->chain_client && r->pin_read != r->target && pin_read(r))
		return;
	if (!(c = calloc(1, sizeof(*c))) || !(c->timer = su_timer_create(su_root_task(f->root), 0))) {
		free(c);
		fed_fail(r, 500, "internal", "out of memory");
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
		fed_fail(r, 500, "internal", "out of memory");
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
		fed_fail(r, 500, "internal", "cannot create transaction");
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
 * that the policy allows, each of their addresses we can reach (IPv6 first),
 * only address @only if it has a family (a node of our own domain); the
 * target, with the address in *addr and its number in *cand; NULL if none */
static const struct sipdance_target *pick(const struct px_fed *f, const struct sipdance_locate *loc,
					  const struct sockaddr_storage *only, size_t from,
					  struct sockaddr_storage *addr, size_t *cand, char *why, size_t size)
{
	const struct sipdance_target *t;
	size_t off = 0, k = 0;
	char a[64];

	why[0] = '\0';
	for (size_t i = 0; i < sipdance_locate_count(loc); i++) {
		t = sipdance_locate_target(loc, i);
		if (usable(f, loc, t) && set_addr(f, addr, t, 0)) {
			for (size_t n = 0; set_addr(f, addr, t, n); n++) {
				if (only->ss_family && memcmp(addr, only, sizeof(*addr)))
					continue;
				if (k++ >= from) {
					*cand = k - 1;
					return t;
				}
			}
			continue;
		}
		if (off < size)
			off += (size_t)snprintf(why + off, size - off, "%s%s:%u %s (%s)", off ? "; " : "",
						t->host, t->port, t->decision.rule ? t->decision.rule : "?",
						t->decision.action == SIPDANCE_ACT_REFUSE ? t->decision.reason
						: "no address reachable from our TLS listeners, or only this proxy's own");
	}
	if (only->ss_family && !from)
		snprintf(why, size, "%s is not a TLS target of %s that the policy allows",
			 px_addr_str((const struct sockaddr *)only, a, sizeof(a)), sipdance_locate_domain(loc));
	else if (!why[0])
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

/* px_fed_send - send @msg to foreign @uri (sip:host[:port]) once it is authenticated */
int px_fed_send(struct px_fed *f, struct px_fedreq **out, msg_t *msg, const char *uri,
		const char *loop, nta_response_f *response, void *magic, px_fed_event_fn *event,
		void *arg)
{
	return px_fed_send_node(f, out, msg, uri, NULL, loop, response, magic, event, arg);
}

/* px_fed_send_node - px_fed_send() to @uri's target at address @node only, if given */
int px_fed_send_node(struct px_fed *f, struct px_fedreq **out, msg_t *msg, const char *uri,
		     const struct sockaddr_storage *node, const char *loop, nta_response_f *response,
		     void *magic, px_fed_event_fn *event, void *arg)
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
	if (node)
		r->only = *node;
	*out = r;
	/* a live connection authenticated for this very URI in the last
	 * REUSE_WITHOUT_LOCATE_S seconds: no new location (SIGHUP, a closed
	 * connection or the time limit makes the next request locate again) */
	for (struct fconn *c = f->conns; c; c = c->next) {
		if (c->state != AUTHENTICATED || strcasecmp(c->uri, uri) || !live(c) ||
		    fed_mono_s() - c->authenticated >= REUSE_WITHOUT_LOCATE_S ||
		    (node && memcmp(&c->addr, node, sizeof(*node))))
			continue;
		r->addr = c->addr;
		if ((orq = send_on(r, c->domain, c->tp)))
			event(arg, PX_FED_DONE, orq, 0, NULL);
		else
			event(arg, PX_FED_FAIL, NULL, 500, "internal: cannot create transaction");
		fed_req_free(r);
		return 0;
	}
	return fed_start(f, r, uri);
}

/* fed_out_located - @r's domain is located: its first candidate, or a refusal */
void fed_out_located(struct px_fedreq *r, struct sipdance_locate *loc)
{
	char why[300];

	if (!(r->target = pick(r->fed, loc, &r->only, 0, &r->addr, &r->cand, why, sizeof(why)))) {
		const char *rule = "locate";

		for (size_t i = 0; i < sipdance_locate_count(loc); i++)
			if (sipdance_locate_target(loc, i)->decision.rule) {
				rule = sipdance_locate_target(loc, i)->decision.rule;
				break;
			}
		px_metrics_decision(rule, "REFUSE");
		px_log(SIPDANCE_LOG_WARN, "auth", "peer=- domain=%s rule=%s verdict=REFUSE (%s)",
		       sipdance_locate_domain(loc), rule, why);
		fed_fail(r, classify(loc)[0] == 'b' ? 502 : 503, classify(loc), why);
		return;
	}
	req_connect(r);
}


/* fed_out_free - every connection, the requests waiting on them without callbacks */
void fed_out_free(struct px_fed *f)
{
	while (f->conns) {
		struct fconn *c = f->conns;
		struct px_fedreq *lists[2] = { c->waiting, c->blocked };

		for (int i = 0; i < 2; i++)
			while (lists[i]) {
				struct px_fedreq *r = lists[i];

				lists[i] = r->next;
				fed_req_free(r);
			}
		c->waiting = c->blocked = NULL;
		conn_free(c);
	}
}
