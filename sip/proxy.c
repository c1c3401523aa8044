/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * proxy.c - the stateful proxy core (RFC 3261 §16) on sofia-sip nta: one
 * server transaction per request, one client transaction per branch,
 * Max-Forwards, loose routing, Record-Route, forking to every contact of an
 * AOR with the best final response forwarded, CANCEL, and ACK for 2xx sent
 * on statelessly. Requests for the local domain go to the registrar's
 * contacts, E.164 numbers to the configured next hop, other domains through
 * fed.c; a request whose From domain is foreign must arrive on a TLS
 * connection whose client authenticated for that domain. With --stir,
 * stir.c verifies or signs initial INVITEs before they are routed. Every
 * request is checked before nta makes a transaction for it (on_message):
 * loops (RFC 5393), flow tokens outside their dialog, overload; stray
 * responses go only back where a request of ours came from.
 */
#include "proxy.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <arpa/inet.h>

#include <sofia-sip/msg_addr.h>
#include <sofia-sip/sip.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <sipdance/clientid.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_status.h>
#include <sofia-sip/sip_tag.h>
#include <sofia-sip/sip_util.h>
#include <sofia-sip/nta_stateless.h>
#include <sofia-sip/nta_tport.h>
#include <sofia-sip/tport.h>
#include <sofia-sip/tport_tag.h>
#include <sofia-sip/url.h>
#include "auth.h"
#include "certdir.h"
#include "fed.h"
#include "stamp.h"
#include "state.h"
#include "stir.h"
#include "suloop.h"

#define MAX_BRANCHES 8
/* RFC 3261 §16.6 step 3 and RFC 5393 §5: what we forward at most */
#define MAX_FORWARDS 70
#define MAX_BREADTH 60
/* dialog tokens of record-routed branches kept for their 2xx that come after
 * the transaction: RFC 6026 Timer M (64*T1) */
#define STRAY_RR 2048
#define STRAY_TTL 32
/* the replay cache of a node without --state: 120 s of 2000 verified requests/s */
#define REPLAY_KEYS (120 * 2000)

struct txn;

/* The tokens of a record-routed branch, for a 2xx that comes after its transaction. */
struct stray_rr {
	char loop[PX_LOOP_HEX + 1];  /* the request's loop hash (in our Via's branch) */
	unsigned char hop[32];        /* SHA-256 of its top Via: where its responses go */
	char callee[PX_DIALOG_TOKEN]; /* the callee's token in its Record-Route */
	char caller[PX_DIALOG_TOKEN]; /* the caller's, in its place */
	char flow[PX_FLOW_TOKEN];
	time_t until;
};

struct branch {
	struct txn *t;
	nta_outgoing_t *orq;
	struct px_fedreq *fr;
	char *fed;                /* federated: the next hop's "sip:host[:port]" (malloc) */
	unsigned breadth;         /* its Max-Breadth */
	int resent;               /* sent once more after a reused connection failed */
	int heard;                /* a provisional response came */
	int done;
	int gateway;              /* to --e164-route: the operator's, its identities kept */
	int from_hop;             /* the response in hand came from where its request went */
	int rr;                   /* we record-routed its request (with flow token rr_flow) */
	char rr_flow[PX_FLOW_TOKEN];
	char rr_dt[PX_DIALOG_TOKEN]; /* the callee's token we put there */
	const url_t *ruri;        /* through another node: the Request-URI (NULL: as received) */
	char node_flow[PX_FLOW_TOKEN]; /* through another node: the user's flow there, else "" */
	struct sockaddr_storage node;  /* that node's TLS listener */
};

struct txn {
	struct txn *next;
	struct px_proxy *px;
	nta_incoming_t *irq;
	msg_t *req;               /* our copy of the request */
	sip_t *sip;
	int tls;                  /* it came over TLS */
	char proto[4];            /* "udp", "tcp" or "tls" */
	struct px_auth_result who; /* who originated it, as sip/auth.c decided */
	tport_t *flow;            /* that TLS connection (a reference), for the registrar */
	SSL *conn;                /* its TLS identity, if its handshake completed (a reference) */
	struct sockaddr_storage peer;
	struct branch br[MAX_BRANCHES];
	size_t nbr;
	int stateless;            /* ACK: nothing to answer */
	int setting_up;           /* branches being created: no final decision yet */
	int final_sent;
	int cancelled;
	msg_t *best;              /* best final response so far, our Via removed */
	int best_status;
	char best_reason[512];    /* Reason header of a locally made final response */
	struct px_fedreq *auth;   /* inbound authorization in progress */
	struct px_wait *wait;     /* held until a connection's ClientName is judged (its own, or a flow's) */
	int (*again)(struct txn *t); /* held for a flow's: routed again by this then */
	SSL *held;                /* that flow's connection (kept alive by the verdict's settle) */
	struct px_stirq *stirq;   /* STIR verification in progress */
	struct px_regq *regq;     /* the other nodes' bindings being read (--state) */
	struct px_regw *regw;     /* a REGISTER's bindings being written (--state) */
	struct px_authq *authq;   /* its Digest nonce count being claimed (--state) */
	char aor[512];            /* the local user it is for, while they are */
	struct px_contact *shared; /* her contacts at the other nodes (--state; malloc), and how many */
	size_t nshared;
	size_t closed, lapsed;    /* bindings removed as their flow closed, DANCE identities found gone */
	int stir_done;            /* STIR verification and signing passed */
	int dialog;               /* in a dialog we record-routed (our stamp in its Route) */
	char flow_token[PX_FLOW_TOKEN]; /* that stamp's flow token, or "" */
	char node_flow[PX_FLOW_TOKEN]; /* the flow another node asks us to route over (top Route), or "" */
	char loop[PX_LOOP_HEX + 1]; /* RFC 5393 loop hash of the request as received */
	unsigned breadth;         /* RFC 5393 Max-Breadth it came with (MAX_BREADTH if none) */
	int udp;                  /* it came over UDP */
	size_t req_len;           /* its size as received */
};

struct px_proxy {
	su_home_t home[1];
	su_root_t *root;
	struct px_suloop *loop;   /* libsipdance's loop contract on root */
	const struct px_conf *conf;
	nta_agent_t *agent;
	struct px_hook *hook;
	struct px_registrar *reg;
	struct px_fed *fed;
	struct px_stir *stir;
	struct sipdance_store *state; /* --state, or NULL */
	struct sipdance_store *replay; /* without --state: this node's own STIR replay cache */
	struct px_auth *auth;
	struct txn *txns;
	int draining;
	unsigned pending;         /* txns alive: requests waiting for their final answer */
	time_t overload_logged;   /* the last overload log line (one per second at most) */
	struct px_stamp *stamp;   /* our branches and Record-Route users */
	struct px_self *me;       /* our listeners, numerically */
	struct px_limits *limits; /* what inbound connections may hold */
	struct px_metrics *metrics; /* --metrics, or NULL */
	struct stray_rr *strays;  /* STRAY_RR of them, a ring */
	size_t nstray;            /* the next slot */
	char node_addr[64];       /* with --state: our TLS listener, where other nodes reach our flows */
};

static void txn_check(struct txn *t);

/* txn_free - end a proxied transaction and everything it holds */
static void txn_free(struct txn *t)
{
	t->px->pending--;
	for (struct txn **pp = &t->px->txns; *pp; pp = &(*pp)->next)
		if (*pp == t) {
			*pp = t->next;
			break;
		}
	for (size_t i = 0; i < t->nbr; i++) {
		px_fed_cancel(t->br[i].fr);
		if (t->br[i].orq)
			nta_outgoing_destroy(t->br[i].orq);
		free(t->br[i].fed);
	}
	px_fed_cancel(t->auth);
	px_hook_client_unwait(t->wait);
	px_stir_cancel(t->stirq);
	px_registrar_shared_cancel(t->regq);
	px_registrar_handle_cancel(t->regw);
	px_auth_claim_cancel(t->authq);
	free(t->shared);
	msg_destroy(t->best);
	msg_destroy(t->req);
	if (t->flow)
		tport_unref(t->flow);
	SSL_free(t->conn);
	if (t->irq)
		nta_incoming_destroy(t->irq);
	free(t);
}

/* reason_str - a Reason header value with text made safe for a quoted string */
static void reason_str(char *buf, size_t size, int status, const char *text)
{
	size_t n = (size_t)snprintf(buf, size, "SIP;cause=%d;text=\"", status);

	for (; *text && n + 2 < size; text++)
		buf[n++] = (*text == '"' || *text == '\\' || *text < ' ') ? '\'' : *text;
	snprintf(buf + n, size - n, "\"");
}

/* reply - a final response made here, with an optional Reason; ends the transaction */
static int reply(struct txn *t, int status, const char *phrase, const char *why)
{
	char reason[512];

	if (why) {
		reason_str(reason, sizeof(reason), status, why);
		px_log(SIPDANCE_LOG_INFO, "proxy", "%s %s -> %d %s (%s)",
		       t->sip->sip_request->rq_method_name,
		       t->sip->sip_request->rq_url->url_host ? t->sip->sip_request->rq_url->url_host : "",
		       status, phrase, why);
	}
	if (t->irq && !t->final_sent) {
		px_metrics_response(status);
		nta_incoming_treply(t->irq, status, phrase, TAG_IF(why, SIPTAG_REASON_STR(reason)),
				    TAG_END());
	}
	t->final_sent = 1;
	txn_free(t);
	return 0;
}

/* is_domain - whether @host is our SIP domain */
static int is_domain(const struct px_proxy *px, const char *host)
{
	return host && !strcasecmp(host, px->conf->domain);
}

/* is_self - whether @url names this proxy: our domain, or one of our
 * listeners compared as numbers (127.0.0.1:05800 is 127.0.0.1:5800) */
static int is_self(const struct px_proxy *px, const url_t *url)
{
	return is_domain(px, url->url_host) || px_self_url(px->me, url) == 1;
}

/* names_us - is_self() for sip/auth.c */
static int names_us(void *arg, const url_t *url)
{
	return is_self(arg, url);
}

/* is_numeric - whether a host is an IP literal */
static int is_numeric(const char *host)
{
	unsigned char buf[16];

	return host && (host[0] == '[' || inet_pton(AF_INET, host, buf) == 1);
}

/* wants_tls - sips: or transport=tls: a hop that must be authenticated */
static int wants_tls(const url_t *url)
{
	return url->url_type == url_sips || (url->url_params && url_has_param(url, "transport=tls"));
}

/* is_e164 - tel: URIs and sip:+...;user=phone */
static int is_e164(const url_t *url)
{
	if (url->url_type == url_tel)
		return 1;
	return (url->url_type == url_sip || url->url_type == url_sips) && url->url_user &&
	       url->url_user[0] == '+' && url->url_params &&
	       url_has_param(url, "user=phone");
}

/* better - RFC 3261 §16.7 step 6: whether final @a beats @b (0 = none yet) */
static int better(int a, int b)
{
	int ca = a / 100, cb = b / 100;

	if (!b)
		return 1;
	if (ca == 6 || cb == 6)
		return ca == 6 && cb != 6;
	if (a == 503)
		ca = 5;
	return ca < cb;
}

/* target - where initial request @sip is routed: the top Route left after
 * ours (a preloaded one), else its Request-URI as the caller wrote it (a user
 * of ours is looked up by it, a peer reached by its host) */
static const url_t *target(const sip_t *sip)
{
	return sip->sip_route ? sip->sip_route->r_url : sip->sip_request->rq_url;
}

/* rr_make - our Record-Route entry over flow token @flow ("" for none) with dialog token @dt */
static sip_record_route_t *rr_make(const struct px_proxy *px, su_home_t *home, const char *flow,
				   const char *dt)
{
	char rr[400];

	snprintf(rr, sizeof(rr), "<sip:%s%s%s;lr;dt=%s>", flow, flow[0] ? "@" : "", px->conf->domain, dt);
	return sip_record_route_make(home, rr);
}

/* our_rr - our Record-Route for the dialog of initial request @sip, over
 * flow token @flow ("" for none), with the dialog token of @side */
static sip_record_route_t *our_rr(struct txn *t, su_home_t *home, const sip_t *sip, const char *flow,
				  enum px_dialog_side side, char dt[PX_DIALOG_TOKEN])
{
	px_auth_dialog_token(t->px->auth, sip, target(t->sip), flow, side, dt);
	return rr_make(t->px, home, flow, dt);
}

/* hop_hash - SHA-256 of Via @v as encoded (random bytes when it cannot be: matches nothing) */
static void hop_hash(const sip_via_t *v, unsigned char out[32])
{
	char buf[2048];
	issize_t n = v ? sip_header_field_e(buf, sizeof(buf), (const sip_header_t *)v, 0) : -1;

	if (n < 0 || (size_t)n >= sizeof(buf) || !EVP_Digest(buf, (size_t)n, out, NULL, EVP_sha256(), NULL))
		RAND_bytes(out, 32);
}

/* remember - branch @b's tokens, for a 2xx of its request after the transaction */
static void remember(struct branch *b)
{
	struct txn *t = b->t;
	struct stray_rr *e = &t->px->strays[t->px->nstray++ % STRAY_RR];

	memcpy(e->loop, t->loop, sizeof(e->loop));
	hop_hash(t->sip->sip_via, e->hop);
	memcpy(e->callee, b->rr_dt, sizeof(e->callee));
	memcpy(e->flow, b->rr_flow, sizeof(e->flow));
	px_auth_dialog_token(t->px->auth, t->sip, target(t->sip), b->rr_flow, PX_DIALOG_CALLER, e->caller);
	e->until = time(NULL) + STRAY_TTL;
}

/* stray_rr - in a 2xx relayed without its transaction (request of loop hash
 * @loop, going back to Via @up), our Record-Route with the caller's token in
 * place of the callee's */
static void stray_rr(struct px_proxy *px, msg_t *msg, sip_t *sip, const char *loop, const sip_via_t *up)
{
	unsigned char hop[32];
	char seen[PX_DIALOG_TOKEN + 8];
	const struct stray_rr *e, *live[2 * MAX_BRANCHES];
	sip_record_route_t *r, *next, *mine;
	time_t now = time(NULL);
	size_t i, n = 0;

	/*
	 * Each Record-Route entry naming us with a dialog token, case by case:
	 *  - the callee's token of a branch of this very request (the loop
	 *    hash our Via's branch carries, and the Via under ours, the hop it
	 *    goes back to: requests of other callers can share a loop hash, which
	 *    covers no From), remembered for STRAY_TTL s: replaced by the
	 *    caller's token, computed then over the request, never over what
	 *    the response says;
	 *  - any other (forgotten, another request's, made up): removed. The
	 *    caller then has no token from it (her requests in the dialog are
	 *    judged as any), never the callee's: she would speak as the callee.
	 */
	/* the ring is read once, whatever the number of entries the response has */
	hop_hash(up, hop);
	for (i = 0; i < STRAY_RR && n < sizeof(live) / sizeof(live[0]); i++)
		if (px->strays[i].until >= now && !strcmp(px->strays[i].loop, loop) &&
		    !CRYPTO_memcmp(px->strays[i].hop, hop, sizeof(hop)))
			live[n++] = &px->strays[i];
	for (r = sip->sip_record_route; r; r = next) {
		next = r->r_next;
		if (!is_self(px, r->r_url) || !r->r_url->url_params ||
		    url_param(r->r_url->url_params, "dt", seen, sizeof(seen)) <= 0)
			continue;
		for (i = 0, e = NULL; i < n && !e; i++)
			if (!strcmp(live[i]->callee, seen))
				e = live[i];
		if (!e || !(mine = rr_make(px, msg_home(msg), e->flow, e->caller)))
			sip_header_remove(msg, sip, (sip_header_t *)r);
		else
			msg_header_replace(msg, (msg_pub_t *)sip, (msg_header_t *)r, (msg_header_t *)mine);
	}
}

/* caller_rr - in a response to branch @b's request, our Record-Route with
 * the caller's dialog token in place of the callee's (RFC 3261 §16.7 step 4:
 * each side learns only its own); computed over the request we routed, never
 * over what the response says. Only the entry we added (its token is the
 * callee's we put there) is rewritten: a callee can add entries naming us
 * above it, and would be handed the caller's token in them. Out of memory,
 * ours is removed rather than left with the callee's token. */
static void caller_rr(struct branch *b, msg_t *msg, sip_t *sip)
{
	struct txn *t = b->t;
	char seen[PX_DIALOG_TOKEN], dt[PX_DIALOG_TOKEN];
	sip_record_route_t *r, *next, *mine;

	if (!b->rr)
		return;
	for (r = sip->sip_record_route; r; r = next) {
		next = r->r_next;
		if (!is_self(t->px, r->r_url) || !r->r_url->url_params ||
		    url_param(r->r_url->url_params, "dt", seen, sizeof(seen)) <= 0 ||
		    strlen(seen) != PX_DIALOG_TOKEN - 1 ||
		    CRYPTO_memcmp(seen, b->rr_dt, PX_DIALOG_TOKEN - 1))
			continue;
		if (!(mine = our_rr(t, msg_home(msg), t->sip, b->rr_flow, PX_DIALOG_CALLER, dt)))
			sip_header_remove(msg, sip, (sip_header_t *)r);
		else
			msg_header_replace(msg, (msg_pub_t *)sip, (msg_header_t *)r, (msg_header_t *)mine);
	}
}

/* fed_domain - the host of a federated next hop "sip:host[:port]", into @buf */
static const char *fed_domain(const char *fed, char *buf, size_t size)
{
	const char *h = strchr(fed, ':') + 1;

	snprintf(buf, size, "%.*s", (int)strcspn(h, ":;>"), h);
	return buf;
}

/* vouched - branch @b's response keeps only the identities its answerer is vouched for */
static void vouched(const struct branch *b, msg_t *msg, sip_t *sip)
{
	char domain[256];

	/*
	 * Whom a response's identities are taken from, case by case:
	 *  - not from where its request went (nta matches a response to its
	 *    branch by Via branch, Call-ID, CSeq and tags, whatever delivered
	 *    it: anyone downstream has them, a phone behind the peer proxy
	 *    among them, and can answer over UDP): nobody's, all removed;
	 *  - the --e164-route gateway: its own, all kept;
	 *  - a peer proxy (or a node of ours) over its authenticated
	 *    connection: those naming its domain's users;
	 *  - anyone else: none.
	 */
	if (!b->from_hop)
		px_auth_forward_response(msg, sip, NULL);
	else if (!b->gateway)
		px_auth_forward_response(msg, sip, b->fed ? fed_domain(b->fed, domain, sizeof(domain)) : NULL);
}

/* from_hop - whether response @msg to @orq came from where its request went:
 * over that very connection, or over UDP from the address it was sent to */
static int from_hop(const struct px_proxy *px, nta_outgoing_t *orq, msg_t *msg)
{
	tport_t *in = nta_incoming_transport(px->agent, NULL, msg), *out = nta_outgoing_transport(orq);
	msg_t *req = nta_outgoing_getrequest(orq);
	su_addrinfo_t *src = msg_addrinfo(msg), *dst = req ? msg_addrinfo(req) : NULL;
	char a[64], b[64];
	int ok = in && in == out &&
		 (!tport_is_dgram(in) || (src && dst && src->ai_addr && dst->ai_addr &&
					   !strcmp(px_addr_str(src->ai_addr, a, sizeof(a)),
						   px_addr_str(dst->ai_addr, b, sizeof(b)))));

	tport_unref(in);
	tport_unref(out);
	msg_destroy(req);
	return ok;
}

/* relay - pass branch @b's response up, without our Via */
static void relay(struct branch *b, msg_t *msg)
{
	struct txn *t = b->t;
	sip_t *sip = sip_object(msg);

	if (!t->irq || !sip || !sip->sip_via) {
		msg_destroy(msg);
		return;
	}
	caller_rr(b, msg, sip);
	vouched(b, msg, sip);
	sip_header_remove(msg, sip, (sip_header_t *)sip->sip_via);
	if (!sip->sip_via) {
		msg_destroy(msg);
		return;
	}
	px_metrics_response(sip->sip_status->st_status);
	nta_incoming_mreply(t->irq, msg);
}

/* cancel_others - CANCEL every pending branch but @keep */
static void cancel_others(struct txn *t, const struct branch *keep)
{
	for (size_t i = 0; i < t->nbr; i++) {
		struct branch *b = &t->br[i];

		if (b == keep || b->done)
			continue;
		if (b->orq)
			nta_outgoing_tcancel(b->orq, NULL, NULL, TAG_END());
		else if (b->fr) {
			px_fed_cancel(b->fr);
			b->fr = NULL;
			b->done = 1;
		}
	}
}

/* branch_final - a branch ended with @status (response @msg, or made here with @why) */
static void branch_final(struct branch *b, int status, msg_t *msg, const char *why)
{
	struct txn *t = b->t;
	char text[400], node[64];
	int st;

	/* a user's flow at another node that we could not reach, or that node's
	 * 430: the flow is gone, with its node or its connection (RFC 5626 §5.3:
	 * 430 in a dialog, else 480), never a connection of our own to the
	 * user's address */
	if (b->node_flow[0] && status >= 300 && (!msg || status == 430)) {
		px_addr_str((const struct sockaddr *)&b->node, node, sizeof(node));
		if (msg)
			snprintf(text, sizeof(text), "the user's TLS flow at node %s has closed", node);
		else
			snprintf(text, sizeof(text), "the node holding the user's TLS flow (%s) cannot be "
				 "reached: %s", node, why ? why : "?");
		msg_destroy(msg);
		msg = NULL;
		status = t->flow_token[0] ? 430 : 480;
		why = text;
	}
	st = status == 503 && msg ? 500 : status; /* RFC 3261 §16.7 step 6 */
	b->done = 1;
	if (status >= 200 && status < 300 && msg && t->final_sent &&
	    t->sip->sip_request->rq_method != sip_method_invite) {
		/* a second 2xx of a forked non-INVITE: its transaction has its
		 * final answer already (answering again would have nta drop a
		 * reference to our listener it never took, and free it) */
		msg_destroy(msg);
	} else if (status >= 200 && status < 300 && msg) {
		/* every 2xx to an INVITE goes up at once (RFC 3261 §16.7 step 5) */
		relay(b, msg);
		t->final_sent = 1;
		if (t->sip->sip_request->rq_method == sip_method_invite)
			cancel_others(t, b);
	} else if (!t->final_sent && better(st, t->best_status)) {
		/* the best answer goes up in txn_check, as vouched for as a relayed one */
		if (msg && sip_object(msg))
			vouched(b, msg, sip_object(msg));
		msg_destroy(t->best);
		t->best = msg;
		t->best_status = st;
		if (why)
			reason_str(t->best_reason, sizeof(t->best_reason), status, why);
		else
			t->best_reason[0] = '\0';
		if (status >= 600)
			cancel_others(t, b);
	} else {
		msg_destroy(msg);
	}
	txn_check(t);
}

/* txn_check - once every branch has ended, answer with the best response */
static void txn_check(struct txn *t)
{
	sip_t *sip;

	if (t->setting_up)
		return;
	for (size_t i = 0; i < t->nbr; i++)
		if (!t->br[i].done)
			return;
	if (!t->final_sent && !t->stateless) {
		if (t->best && (sip = sip_object(t->best)) && sip->sip_via &&
		    sip->sip_status->st_status == t->best_status) {
			sip_header_remove(t->best, sip, (sip_header_t *)sip->sip_via);
			if (sip->sip_via) {
				px_metrics_response(sip->sip_status->st_status);
				nta_incoming_mreply(t->irq, t->best);
				t->best = NULL;
				t->final_sent = 1;
			}
		}
		if (!t->final_sent) {
			int st = t->best_status ? t->best_status : (t->cancelled ? 487 : 408);

			px_metrics_response(st);
			nta_incoming_treply(t->irq, st, NULL,
					    TAG_IF(t->best_reason[0], SIPTAG_REASON_STR(t->best_reason)),
					    TAG_END());
			t->final_sent = 1;
		}
	}
	txn_free(t);
}

static int on_response(void *magic, nta_outgoing_t *orq, const sip_t *sip);
static void on_fed(void *arg, enum px_fed_event ev, nta_outgoing_t *orq, int status, const char *why);
static msg_t *branch_msg(struct branch *b, const url_t *ruri, tport_t *flow, unsigned breadth);

/* fed_send - a federated branch's request out through fed.c (to another
 * node of ours: with the Route that names the user's flow there); 0, or ENOMEM */
static int fed_send(struct branch *b)
{
	struct txn *t = b->t;
	msg_t *msg = branch_msg(b, b->ruri, NULL, b->breadth);
	sip_route_t *rt;
	char r[200];

	if (!msg)
		return ENOMEM;
	if (b->node_flow[0]) {
		snprintf(r, sizeof(r), "<sip:%s;lr;flow=%s>", t->px->conf->domain, b->node_flow);
		if (!(rt = sip_route_make(msg_home(msg), r)) ||
		    msg_header_insert(msg, (msg_pub_t *)sip_object(msg), (msg_header_t *)rt) < 0)
			return msg_destroy(msg), ENOMEM;
	}
	return px_fed_send_node(t->px->fed, &b->fr, msg, b->fed, b->node_flow[0] ? &b->node : NULL,
				t->loop, on_response, b, on_fed, b);
}

/* resend - @b's request failed in transport (nta's own @status for @orq) on
 * a connection authenticated earlier: 1 if it went out once more (@orq gone) */
static int resend(struct branch *b, nta_outgoing_t *orq, int status)
{
	tport_t *tp;

	/*
	 * Case by case:
	 *  - not federated, already sent again, a provisional response came
	 *    (the peer has the request), cancelled, or a timeout (408: the
	 *    peer may be processing it): no;
	 *  - otherwise the connection failed before the peer answered at all,
	 *    typically a peer that closed it while idle, a close we had not
	 *    read yet: once more, through fed.c, which authenticates a new
	 *    connection (the failed one is closed now) for the same domain.
	 */
	if (!b->fed || b->resent || b->heard || b->t->cancelled || status == 408)
		return 0;
	b->resent = 1;
	px_log(SIPDANCE_LOG_INFO, "proxy", "%s to %s: the connection failed before any answer "
	       "(%d); sent once more", b->t->sip->sip_request->rq_method_name, b->fed, status);
	/* nta reports the error before it closes the connection: closed now, so
	 * that fed.c does not take it for a live one */
	if ((tp = nta_outgoing_transport(orq))) {
		tport_shutdown(tp, 2);
		tport_unref(tp);
	}
	b->orq = NULL;
	nta_outgoing_destroy(orq);
	return fed_send(b) == 0;
}

/* on_response - a response on one branch */
static int on_response(void *magic, nta_outgoing_t *orq, const sip_t *sip)
{
	struct branch *b = magic;
	struct txn *t = b->t;
	int status = sip && sip->sip_status ? sip->sip_status->st_status : nta_outgoing_status(orq);
	msg_t *msg;

	if (status < 200) {
		b->heard = 1;
		if (status > 100 && !t->final_sent && t->irq) {
			msg = nta_outgoing_getresponse(orq);
			b->from_hop = msg && from_hop(t->px, orq, msg);
			relay(b, msg);
		}
		return 0;
	}
	if (b->fr) {
		/* nta's transport error can overtake the handshake verdict */
		char why[400];
		int refused = px_fed_failed(b->fr, why, sizeof(why));
		int unreached = !refused && px_fed_handshaking(b->fr);

		if (unreached)
			snprintf(why, sizeof(why), "no usable target: connection failed before TLS "
				 "authentication (%d %s)", status,
				 sip && sip->sip_status ? sip->sip_status->st_phrase : "");
		if (refused || unreached) {
			/* the next RFC 3263 address or target, if there is one */
			b->orq = NULL;
			nta_outgoing_destroy(orq);
			if (px_fed_retry(b->fr))
				return 0;
			px_fed_cancel(b->fr);
			b->fr = NULL;
			branch_final(b, refused ? 502 : 503, NULL, why);
			return 0;
		}
		px_fed_cancel(b->fr);
		b->fr = NULL;
	}
	msg = nta_outgoing_getresponse(orq);
	b->from_hop = msg && from_hop(t->px, orq, msg);
	if (!msg || !sip_object(msg)->sip_via || msg_addrinfo(msg)->ai_family == AF_UNSPEC) {
		/* made by nta itself (timeout, transport error): it came from no
		 * address, and its Via is only our own */
		msg_destroy(msg);
		msg = NULL;
		if (resend(b, orq, status))
			return 0;
	}
	b->orq = NULL;
	nta_outgoing_destroy(orq);
	branch_final(b, status, msg, msg ? NULL : "no response from the next hop");
	return 0;
}

/* on_fed - the federation layer moved a branch on */
static void on_fed(void *arg, enum px_fed_event ev, nta_outgoing_t *orq, int status, const char *why)
{
	struct branch *b = arg;
	struct txn *t = b->t;

	switch (ev) {
	case PX_FED_SENT:
		/* a failover's new transaction replaces the failed one */
		if (b->orq && b->orq != orq)
			nta_outgoing_destroy(b->orq);
		b->orq = orq;
		return;
	case PX_FED_DONE:
		b->fr = NULL;
		if (orq)
			b->orq = orq;
		if (t->stateless && b->orq) {
			nta_outgoing_destroy(b->orq);
			b->orq = NULL;
			b->done = 1;
			txn_check(t);
		}
		return;
	case PX_FED_FAIL:
		b->fr = NULL;
		if (b->orq) {
			nta_outgoing_destroy(b->orq);
			b->orq = NULL;
		}
		if (t->stateless)
			px_log(SIPDANCE_LOG_WARN, "proxy", "ACK not forwarded: %s", why);
		branch_final(b, status, NULL, why);
		return;
	}
}

/* unknown - the first header called @name that sofia-sip does not parse, or NULL */
static sip_unknown_t *unknown(const sip_t *sip, const char *name)
{
	for (sip_unknown_t *u = sip->sip_unknown; u; u = u->un_next)
		if (u->un_name && !strcasecmp(u->un_name, name))
			return u;
	return NULL;
}

/* branch_msg - a copy of the request for branch @b (sent over @flow if set):
 * Max-Forwards, Max-Breadth, Record-Route, R-URI. A deep copy: nta keeps it
 * while the client transaction lingers (64*T1 after a final answer over UDP),
 * and a shallow one would keep the request as received and our copy with it */
static msg_t *branch_msg(struct branch *b, const url_t *ruri, tport_t *flow, unsigned breadth)
{
	struct txn *t = b->t;
	msg_t *msg = msg_dup(t->req);
	sip_t *sip = sip_object(msg);
	su_home_t *home = msg_home(msg);
	char mf[16], token[PX_FLOW_TOKEN], mb[32];
	unsigned long in;
	sip_unknown_t *u;
	sip_method_t m;

	if (!msg || !sip)
		return msg_destroy(msg), NULL;
	m = sip->sip_request->rq_method;
	/* one hop less, and never more than MAX_FORWARDS - 1 onwards: a huge
	 * Max-Forwards would let a spiral go on for as many hops */
	in = sip->sip_max_forwards ? sip->sip_max_forwards->mf_count : MAX_FORWARDS;
	snprintf(mf, sizeof(mf), "%lu", (in > MAX_FORWARDS ? MAX_FORWARDS : in) - 1);
	if (sip->sip_max_forwards)
		sip_header_remove(msg, sip, (sip_header_t *)sip->sip_max_forwards);
	sip_header_insert(msg, sip, (sip_header_t *)sip_max_forwards_make(home, mf));
	/* RFC 5393 §5: this branch's share of the breadth (a 2xx ACK is no fork) */
	while ((u = unknown(sip, "Max-Breadth")))
		sip_header_remove(msg, sip, (sip_header_t *)u);
	if (breadth && m != sip_method_ack) {
		snprintf(mb, sizeof(mb), "Max-Breadth: %u", breadth);
		if ((u = (sip_unknown_t *)msg_header_make(home, sip_unknown_class, mb)))
			sip_header_insert(msg, sip, (sip_header_t *)u);
	}
	if (ruri) {
		sip_request_t *rq = sip_request_create(home, m, sip->sip_request->rq_method_name,
						       (url_string_t const *)ruri, NULL);

		if (rq)
			msg_header_replace(msg, (msg_pub_t *)sip, (msg_header_t *)sip->sip_request,
					   (msg_header_t *)rq);
	}
	/* stay on the path of dialogs created by initial requests (RFC 3261 §16.6
	 * step 4), with the dialog token; on a user's flow, its token as the user
	 * part, covered by the dialog token, so the dialog's requests (and only
	 * they) find that connection again */
	if ((m == sip_method_invite || m == sip_method_subscribe || m == sip_method_refer) &&
	    !(sip->sip_to && sip->sip_to->a_tag)) {
		if (!px_registrar_flow_token(t->px->reg, flow, token) &&
		    !px_registrar_flow_token(t->px->reg, t->flow, token))
			token[0] = '\0';
		if (b == t->br && !px_auth_same_party(t->px->auth, sip->sip_to->a_url, target(t->sip)))
			px_log(SIPDANCE_LOG_INFO, "proxy", "%s Call-ID %.64s: To names another address than "
			       "the one it is routed to; the callee speaks in this dialog only as the latter",
			       sip->sip_request->rq_method_name, sip->sip_call_id->i_id);
		sip_header_insert(msg, sip, (sip_header_t *)our_rr(t, home, sip, token, PX_DIALOG_CALLEE, b->rr_dt));
		b->rr = 1;
		memcpy(b->rr_flow, token, sizeof(b->rr_flow));
		remember(b);
	}
	return msg;
}

/* add_branch - one client transaction: direct (@route may be NULL; over the
 * connection @flow if set) or federated (@fed_uri); @breadth its Max-Breadth */
static void add_branch(struct txn *t, const url_t *ruri, const char *route, const char *fed_uri,
		       tport_t *flow, unsigned breadth)
{
	struct branch *b = &t->br[t->nbr];
	char branch[PX_BRANCH_MAX];
	msg_t *msg;

	if (t->nbr == MAX_BRANCHES)
		return;
	t->nbr++;
	b->t = t;
	b->gateway = route != NULL;
	px_log(SIPDANCE_LOG_DEBUG, "proxy", "%s %s: branch %zu via %s%s%s", t->sip->sip_request->rq_method_name,
	       t->sip->sip_from->a_url->url_user ? t->sip->sip_from->a_url->url_user : "",
	       t->nbr, fed_uri ? "federation to " : route ? "route " : "request URI",
	       fed_uri ? fed_uri : route ? route : "", flow ? " over the TLS connection it registered on" : "");
	if (fed_uri) {
		b->breadth = breadth;
		if (!(b->fed = strdup(fed_uri)) || fed_send(b))
			branch_final(b, 500, NULL, "out of memory");
		return;
	}
	if (!(msg = branch_msg(b, ruri, flow, breadth))) {
		branch_final(b, 500, NULL, "out of memory");
		return;
	}
	/* our Via: the loop hash of what we received, bound to the hop it came from */
	px_stamp_branch(t->px->stamp, t->loop, t->sip->sip_via, branch);
	if (t->stateless) {
		/* ACK of a 2xx: no transaction; nta_msg_tsend() adds our Via and frees msg
		 * (an outgoing transaction made and destroyed at once kept msg alive) */
		b->done = 1;
		if (nta_msg_tsend(t->px->agent, msg, route ? URL_STRING_MAKE(route) : NULL,
				  NTATAG_BRANCH_KEY(branch), TAG_IF(flow, NTATAG_TPORT(flow)),
				  TAG_END()) < 0)
			px_log(SIPDANCE_LOG_WARN, "proxy", "ACK not forwarded: cannot send to the next hop");
		return;
	}
	b->orq = nta_outgoing_mcreate(t->px->agent, on_response, b,
				      route ? URL_STRING_MAKE(route) : NULL, msg,
				      NTATAG_BRANCH_KEY(branch), TAG_IF(flow, NTATAG_TPORT(flow)),
				      TAG_END());
	if (!b->orq)
		branch_final(b, 503, NULL, "cannot send to the next hop");
}

/* node_branch - a branch through the node of our domain at @node, to the
 * user's flow @token there; @ruri the contact (NULL: the Request-URI as is) */
static void node_branch(struct txn *t, const url_t *ruri, const struct sockaddr_storage *node,
			const char *token, unsigned breadth)
{
	struct branch *b = &t->br[t->nbr];
	char a[64], uri[300];

	if (t->nbr == MAX_BRANCHES)
		return;
	t->nbr++;
	b->t = t;
	b->ruri = ruri;
	b->node = *node;
	b->breadth = breadth;
	memcpy(b->node_flow, token, PX_FLOW_TOKEN);
	px_log(SIPDANCE_LOG_DEBUG, "proxy", "%s %s: branch %zu via node %s, over the user's flow there",
	       t->sip->sip_request->rq_method_name,
	       t->sip->sip_from->a_url->url_user ? t->sip->sip_from->a_url->url_user : "", t->nbr,
	       px_addr_str((const struct sockaddr *)node, a, sizeof(a)));
	snprintf(uri, sizeof(uri), "sip:%s", t->px->conf->domain);
	if (!(b->fed = strdup(uri)) || fed_send(b))
		branch_final(b, 500, NULL, "out of memory");
}

/* fed_uri - "sip:host[:port]" of a foreign next hop */
static void fed_uri(char *buf, size_t size, const url_t *u)
{
	snprintf(buf, size, "%s:%s%s%s", u->url_type == url_sips ? "sips" : "sip", u->url_host,
		 u->url_port ? ":" : "", u->url_port ? u->url_port : "");
}

static void on_stir(void *arg, int status, const char *phrase, const char *why);

/* to_address - a branch to an IP address (@u: top Route or request URI); 1 if sent,
 * 0 after answering: TLS to an address has no name to authenticate the peer for */
static int to_address(struct txn *t, const url_t *u)
{
	const char *opt = px_self_other(t->px->me, u);
	char why[160];

	/*
	 * Case by case:
	 *  - maddr: refused; nta would send to that address instead (a name
	 *    there resolved by sofia-sip outside DNSSEC), past the checks below,
	 *    which judge the host and port;
	 *  - a port that is no port number (above 65535, a sign): refused; the
	 *    transport would take it modulo 65536 (65536 + P is P), past the
	 *    checks below;
	 *  - one of our sockets that is not SIP (--state, --metrics): refused;
	 *  - TLS: refused, nothing to authenticate an address for;
	 *  - anything else: sent there.
	 */
	if (u->url_params && url_has_param(u, "maddr")) {
		t->setting_up = 0;
		reply(t, t->stateless ? 0 : 403, "Forbidden", "maddr in the Request-URI or Route is not "
		      "followed (it would send the request to another address than the one judged)");
		return 0;
	}
	if (px_self_url(t->px->me, u) < 0) {
		t->setting_up = 0;
		reply(t, t->stateless ? 0 : 400, "Bad Request", "the port in the Request-URI or Route is no "
		      "port number (1 to 65535)");
		return 0;
	}
	if (opt) {
		t->setting_up = 0;
		snprintf(why, sizeof(why), "the destination is this proxy's %s socket, which is not SIP", opt);
		reply(t, t->stateless ? 0 : 403, "Forbidden", why);
		return 0;
	}
	if (wants_tls(u)) {
		t->setting_up = 0;
		reply(t, 502, "Bad Gateway", "no usable target: TLS to an IP address cannot be "
		      "authenticated for a domain");
		return 0;
	}
	add_branch(t, NULL, NULL, NULL, NULL, t->breadth);
	return 1;
}

/* self_routes - remove the Routes naming us */
static void self_routes(struct txn *t)
{
	while (t->sip->sip_route && is_self(t->px, t->sip->sip_route->r_url))
		sip_route_remove(t->req, t->sip);
}

/* route - RFC 3261 §16.4-16.6: where the request goes, then the branches */
static int to_user(struct txn *t);
static void on_shared(void *arg, int err, const struct px_contact *c, size_t n, const char *why);
static void on_owner(void *arg, int err, const struct sockaddr_storage *node, const char *why);
static int authorized(struct txn *t);
static void on_claimed(void *arg);
static void on_registered(void *arg, int status);
static int current(struct txn *t, SSL *id, int (*again)(struct txn *t));
static int deliver(struct txn *t);
static int node_route(struct txn *t);

static int route(struct txn *t)
{
	struct px_proxy *px = t->px;
	sip_t *sip = t->sip;
	const url_t *ruri = sip->sip_request->rq_url;
	sip_method_t m = sip->sip_request->rq_method;
	const char *token = t->flow_token;
	char aor[512], uri[512];
	tport_t *flow = NULL;
	int err;

	/* STIR: the verification service first (it may wait for an x5u), then signing */
	if (px->stir && !t->stir_done) {
		if ((err = px_stir_ingress(px->stir, t->req, sip, t->who.origin == PX_ORIGIN_USER,
					   &t->stirq, on_stir, t)) == 1)
			return 0;
		if (err)
			return reply(t, 500, "Server Internal Error", "out of memory");
		t->stir_done = 1;
		px_stir_egress(px->stir, t->req, sip, t->who.attest);
	}
	self_routes(t);
	t->setting_up = 1;
	/*
	 * A request inside a dialog with a user on a flow (our Record-Route
	 * carried its token, stamped for this very dialog: on_request refused
	 * any other use of it), case by case:
	 *  - it came over that flow: from the user, routed on as usual;
	 *  - the flow is open: to the user, over it (whatever the request URI),
	 *    once the DANCE identity its bindings rest on, if any, is current
	 *    (current(): judged again first if aged);
	 *  - not a flow of this node, with --state: the node that holds it is
	 *    read from the shared state and the request goes through it
	 *    (on_owner);
	 *  - the flow has closed, its bindings went with their DANCE identity,
	 *    or the token is unknown: 430 Flow Failed (RFC 5626), never a new
	 *    connection to the user's address.
	 */
	if (token[0] && !(flow = px_registrar_flow_find(px->reg, token)) && px->state && !t->lapsed) {
		t->setting_up = 0;
		if ((err = px_registrar_flow_owner(px->reg, token, on_owner, t, &t->regq)))
			return reply(t, 500, "Server Internal Error", strerror(err));
		return 0;
	}
	if (token[0] && !flow) {
		t->setting_up = 0;
		return reply(t, t->stateless ? 0 : 430, "Flow Failed", t->lapsed ? "the DANCE identity "
			     "the user in this dialog registered with is no longer valid" : "the TLS "
			     "connection of the user in this dialog has closed");
	}
	if (token[0] && flow != t->flow) {
		if ((err = current(t, px_registrar_flow_identity(px->reg, flow), route)) <= 0)
			return err ? route(t) : 0; /* routed again without the bindings removed */
		add_branch(t, NULL, NULL, NULL, flow, t->breadth);
	} else if (sip->sip_route) {
		/* loose routing: the next hop is the top Route */
		const url_t *next = sip->sip_route->r_url;

		if (!next->url_host) {
			t->setting_up = 0;
			return reply(t, 400, "Bad Route", "Route without a host");
		}
		/* a strict Route (no ;lr, RFC 2543) would have nta rewrite the request and
		 * resolve names with sofia-sip's own resolver, outside DNSSEC and able to
		 * stall the event loop: refused */
		if (!url_has_param(next, "lr")) {
			t->setting_up = 0;
			return reply(t, t->stateless ? 0 : 400, "Bad Route",
				     "strict routing (Route without ;lr) is not supported");
		}
		if (is_numeric(next->url_host)) {
			if (!to_address(t, next))
				return 0;
		} else {
			fed_uri(uri, sizeof(uri), next);
			add_branch(t, NULL, NULL, uri, NULL, t->breadth);
		}
	} else if (is_e164(ruri)) {
		if (!px->conf->e164_route) {
			t->setting_up = 0;
			return reply(t, 404, "Not Found", "no --e164-route for telephone numbers");
		}
		add_branch(t, NULL, px->conf->e164_route, NULL, NULL, t->breadth);
	} else if (ruri->url_host && is_self(px, ruri)) {
		if (m == sip_method_register) {
			struct px_regreq q = { .sip = sip, .flow = t->flow, .source = &t->peer,
					       .identity = t->who.dance ? t->conn : NULL,
					       .udp = t->udp, .req_len = t->req_len };

			t->setting_up = 0;
			if ((err = px_registrar_handle(px->reg, t->irq, &q, on_registered, t, &t->regw)))
				on_registered(t, err);
			return 0;
		}
		if (!ruri->url_user) {
			t->setting_up = 0;
			if (m == sip_method_options)
				return reply(t, 200, "OK", NULL);
			return reply(t, 404, "Not Found", "no user in the Request-URI");
		}
		if (px_canon_aor(ruri, aor, sizeof(aor)))
			snprintf(aor, sizeof(aor), "%s", ruri->url_user);
		else
			*strchr(aor, '@') = '\0';
		snprintf(aor + strlen(aor), sizeof(aor) - strlen(aor), "@%s", px->conf->domain);
		snprintf(t->aor, sizeof(t->aor), "%s", aor);
		/* with --state, the other nodes' bindings are read first (not for an ACK) */
		if (px->state && !t->stateless) {
			if ((err = px_registrar_shared(px->reg, aor, on_shared, t, &t->regq))) {
				t->setting_up = 0;
				return reply(t, 500, "Server Internal Error", strerror(err));
			}
			t->setting_up = 0;
			return 0;
		}
		if (!to_user(t))
			return 0;
	} else if (!ruri->url_host) {
		t->setting_up = 0;
		return reply(t, 416, "Unsupported URI Scheme", "no host in the Request-URI");
	} else if (is_numeric(ruri->url_host)) {
		if (!to_address(t, ruri))
			return 0;
	} else {
		fed_uri(uri, sizeof(uri), ruri);
		add_branch(t, NULL, NULL, uri, NULL, t->breadth);
	}
	t->setting_up = 0;
	txn_check(t);
	return 0;
}

/* on_judged - the ClientName a held request's flow rests on has its verdict: routed again */
static void on_judged(void *arg)
{
	struct txn *t = arg;

	t->wait = NULL;
	/* the verdict it waited for is its own, even if a request woken before
	 * it removed the bindings already */
	if (current(t, t->held, t->again))
		t->again(t);
}

/* current - whether the DANCE identity of connection @id, that bindings over
 * its flow rest on (NULL: none), is still valid before a request goes there:
 * 1 yes, -1 no (its bindings removed, counted in t->lapsed), 0 the request
 * waits for its verdict (@again(t) then) or was answered */
static int current(struct txn *t, SSL *id, int (*again)(struct txn *t))
{
	struct sipdance_verdict v = { .result = SIPDANCE_INDETERMINATE };
	char name[SIPDANCE_CLIENTID_MAX + 1], why[400];

	/*
	 * Who may still receive over a flow whose bindings the DANCE identity
	 * of its connection authenticated, case by case:
	 *  - no such identity (bindings by Digest, static, or not over TLS):
	 *    the binding decides alone;
	 *  - a verdict older than 30 s or the last SIGHUP: judged again first,
	 *    as for the connection's own requests (px_hook_client_pending:
	 *    looked up again under fresh DNS, or lapsed under --client-chain
	 *    required); the request waits for it (at most PX_MAX_HELD with the
	 *    connection's own, more: 503), then is routed again;
	 *  - authenticated: the flow carries it;
	 *  - not, or no longer (NODATA, NOMATCH, BOGUS, a failed lookup, a
	 *    chain lapsed): every binding it authenticated is removed (logged
	 *    with the verdict) and nothing is sent over that connection.
	 */
	if (!id)
		return 1;
	if (px_hook_client_pending(id)) {
		t->setting_up = 0;
		switch (px_hook_client_wait(id, on_judged, t, &t->wait)) {
		case 0:
			t->again = again;
			t->held = id;
			return 0;
		case EBUSY:
			snprintf(why, sizeof(why), "%d requests already wait for the ClientName's verdict on "
				 "the user's TLS connection", PX_MAX_HELD);
			return reply(t, t->stateless ? 0 : 503, "Service Unavailable", why);
		default:
			return reply(t, t->stateless ? 0 : 500, "Server Internal Error", "out of memory");
		}
	}
	if (px_hook_client_name(id, name, sizeof(name), &v, NULL))
		return 1;
	snprintf(why, sizeof(why), "dane_clientid %s (%s)", sipdance_result_str(v.result), v.reason);
	px_registrar_lapse(t->px->reg, id, why);
	t->lapsed++;
	return -1;
}

/* to_user - branches to the contacts of local user t->aor: ours, each once
 * the DANCE identity it rests on is current, then t->shared of other nodes
 * (over a flow there: through that node); 0 when the request was answered
 * or waits instead, else 1 */
static int to_user(struct txn *t)
{
	struct px_proxy *px = t->px;
	const url_t *contacts[MAX_BRANCHES];
	const struct px_contact *via[MAX_BRANCHES] = { NULL };
	tport_t *flows[MAX_BRANCHES];
	SSL *ids[MAX_BRANCHES];
	size_t n, closed;
	int ok;

	/* a binding whose identity is gone is removed: the user's others are looked up again */
	do {
		n = px_registrar_lookup(px->reg, t->aor, contacts, flows, ids, MAX_BRANCHES, &closed);
		t->closed += closed;
		ok = 1;
		for (size_t i = 0; i < n && ok > 0; i++)
			ok = current(t, ids[i], deliver);
		if (ok == 0)
			return 0;
	} while (ok < 0);
	for (size_t i = 0; i < t->nshared && n < MAX_BRANCHES; i++) {
		size_t j = 0;

		while (j < n && url_cmp_all(contacts[j], t->shared[i].url))
			j++;
		if (j == n) {
			flows[n] = NULL;
			via[n] = t->shared[i].flow[0] ? &t->shared[i] : NULL;
			contacts[n++] = t->shared[i].url;
		}
	}
	if (n == 0 && (t->closed || t->lapsed)) {
		t->setting_up = 0;
		reply(t, t->stateless ? 0 : 480, "Temporarily Unavailable", t->lapsed ? "the DANCE "
		      "identity the user registered with is no longer valid" : "the TLS connection the "
		      "user registered over has closed");
		return 0;
	}
	if (n == 0) {
		t->setting_up = 0;
		reply(t, t->stateless ? 0 : 404, "Not Found", "no contact registered");
		return 0;
	}
	/* RFC 5393 §5: no more branches than the breadth allows, each with its share */
	if (t->breadth == 0 && !t->stateless) {
		t->setting_up = 0;
		reply(t, 440, "Max-Breadth Exceeded", "Max-Breadth 0: no branch allowed");
		return 0;
	}
	if (n > t->breadth && !t->stateless)
		n = t->breadth;
	for (size_t i = 0; i < n; i++) {
		if (via[i])
			node_branch(t, contacts[i], &via[i]->node, via[i]->flow,
				    t->stateless ? 0 : t->breadth / n);
		else
			add_branch(t, contacts[i], NULL, NULL, flows[i], t->stateless ? 0 : t->breadth / n);
	}
	return 1;
}

/* on_shared - the other nodes' bindings of the request's user were read */
static void on_shared(void *arg, int err, const struct px_contact *contacts, size_t n, const char *why)
{
	struct txn *t = arg;
	char text[300];

	/*
	 * The cases:
	 *  - read: the user's contacts here and at the other nodes are tried;
	 *  - the shared state cannot be read: 503 with the reason (fail closed:
	 *    a contact registered at another node would be missed, and the caller
	 *    told "not found"); --state-fail open reads it as empty instead.
	 */
	t->regq = NULL;
	if (err) {
		snprintf(text, sizeof(text), "registrar state unavailable: %s", why);
		reply(t, 503, "Service Unavailable", text);
		return;
	}
	/* kept, on the request's home, while it may wait for an identity (to_user) */
	if (n && !(t->shared = calloc(n, sizeof(*t->shared)))) {
		reply(t, 500, "Server Internal Error", "out of memory");
		return;
	}
	for (size_t i = 0; i < n; i++) {
		t->shared[t->nshared] = contacts[i];
		t->shared[t->nshared].url = url_hdup(msg_home(t->req), contacts[i].url);
		t->nshared += t->shared[t->nshared].url != NULL;
	}
	deliver(t);
}

/* deliver - the request to local user t->aor (the other nodes' contacts read): its branches */
static int deliver(struct txn *t)
{
	t->setting_up = 1;
	if (!to_user(t))
		return 0;
	t->setting_up = 0;
	txn_check(t);
	return 0;
}

/* on_registered - a REGISTER was answered with @status */
static void on_registered(void *arg, int status)
{
	struct txn *t = arg;

	t->regw = NULL;
	px_metrics_response(status);
	t->final_sent = 1;
	txn_free(t);
}

/* on_owner - the node holding the flow of the request's dialog was read */
static void on_owner(void *arg, int err, const struct sockaddr_storage *node, const char *why)
{
	struct txn *t = arg;
	char text[300];

	/*
	 * The cases:
	 *  - the shared state cannot be read: 503 with the reason;
	 *  - no node holds the flow (it closed, or its node ended): 430 Flow
	 *    Failed, as for a flow of ours;
	 *  - a node, checked as on_shared checks one: the request goes through
	 *    it, if it is a TLS target of our domain that authenticates as its
	 *    server (fed.c); it routes it over the flow only if it holds it.
	 */
	t->regq = NULL;
	if (err) {
		snprintf(text, sizeof(text), "flow state unavailable: %s", why);
		reply(t, t->stateless ? 0 : 503, "Service Unavailable", text);
		return;
	}
	if (!node) {
		reply(t, t->stateless ? 0 : 430, "Flow Failed", "the TLS connection of the user in this "
		      "dialog has closed");
		return;
	}
	t->setting_up = 1;
	node_branch(t, NULL, node, t->flow_token, t->breadth);
	t->setting_up = 0;
	txn_check(t);
}

/* on_stir - the STIR verification of the request ended: route on or reject */
static void on_stir(void *arg, int status, const char *phrase, const char *why)
{
	struct txn *t = arg;

	t->stirq = NULL;
	t->stir_done = 1;
	if (status) {
		reply(t, status, phrase, why);
		return;
	}
	route(t);
}

/* peer_route - a request a peer proxy authenticated for @domain sent: routed
 * if it ends here, else refused */
static int peer_route(struct txn *t, const char *domain)
{
	const url_t *ruri = t->sip->sip_request->rq_url;
	char why[400], pstr[64];
	int ours = ruri->url_host && !is_e164(ruri) && is_self(t->px, ruri);

	/*
	 * A peer proxy speaks for its own domain's users, to ours (outside a
	 * dialog we record-routed: those carry our dialog token and never come
	 * here). Case by case:
	 *  - every Route names us and the Request-URI is a user of ours:
	 *    routed, the identities it may not assert removed;
	 *  - a telephone number (our --e164-route, a gateway that trusts us),
	 *    an IP address, another domain, or a Route past us: 403. This proxy
	 *    is no relay for the federation: anyone with a signed domain would
	 *    reach our gateway and every address we can reach.
	 */
	for (const sip_route_t *r = t->sip->sip_route; ours && r; r = r->r_next)
		ours = is_self(t->px, r->r_url);
	if (!ours) {
		snprintf(why, sizeof(why), "a peer proxy of %s reaches users of %s only: not relayed to "
			 "%s%s%s", domain, t->px->conf->domain, is_e164(ruri) ? "a telephone number " : "",
			 ruri->url_host ? ruri->url_host : "?", t->sip->sip_route && ruri->url_host &&
			 is_self(t->px, ruri) ? " (a Route past us)" : "");
		px_log(SIPDANCE_LOG_WARN, "auth", "peer=%s domain=%s rule=inbound verdict=REFUSE (%s)",
		       px_addr_str((const struct sockaddr *)&t->peer, pstr, sizeof(pstr)), domain, why);
		return reply(t, 403, "Forbidden", why);
	}
	px_auth_forward_peer(t->req, t->sip, domain);
	return route(t);
}

/* on_auth - the inbound authorization of a foreign From domain ended */
static void on_auth(void *arg, int ok, const char *why)
{
	struct txn *t = arg;

	t->auth = NULL;
	if (!ok) {
		reply(t, 403, "Forbidden", why);
		return;
	}
	peer_route(t, t->sip->sip_from->a_url->url_host);
}

static int check_from(struct txn *t);

/* node_route - a request a node of our domain sent to a user's flow here */
static int node_route(struct txn *t)
{
	tport_t *flow = px_registrar_flow_find(t->px->reg, t->node_flow);
	char pstr[64];
	int ok;

	if (!flow)
		return reply(t, t->stateless ? 0 : 430, "Flow Failed", t->lapsed ? "the DANCE identity the "
			     "user registered with over this flow is no longer valid" : "no such flow at this "
			     "node (the user's TLS connection has closed)");
	if ((ok = current(t, px_registrar_flow_identity(t->px->reg, flow), node_route)) <= 0)
		return ok ? node_route(t) : 0; /* routed again without the bindings removed */
	px_log(SIPDANCE_LOG_INFO, "proxy", "%s from node %s of %s: over the user's flow here",
	       t->sip->sip_request->rq_method_name,
	       px_addr_str((const struct sockaddr *)&t->peer, pstr, sizeof(pstr)), t->px->conf->domain);
	self_routes(t);
	t->setting_up = 1;
	add_branch(t, NULL, NULL, NULL, flow, t->breadth);
	t->setting_up = 0;
	txn_check(t);
	return 0;
}

/* on_node_auth - whether the client of a request for a flow here is a node of ours */
static void on_node_auth(void *arg, int ok, const char *why)
{
	struct txn *t = arg;
	char text[400];

	t->auth = NULL;
	if (!ok) {
		snprintf(text, sizeof(text), "a user's flow is reached only through a node of %s: %s",
			 t->px->conf->domain, why);
		reply(t, t->stateless ? 0 : 403, "Forbidden", text);
		return;
	}
	node_route(t);
}

/* from_node - a request whose top Route names a user's flow here (another
 * node routes through us): routed over it if its client is a node of ours */
static int from_node(struct txn *t)
{
	struct px_proxy *px = t->px;
	const char *domain = px->conf->domain;
	char why[300];
	int cached;

	/*
	 * Who may reach a user's flow through us, case by case:
	 *  - over UDP or TCP, or over TLS without a client certificate on this
	 *    very connection: refused (403): anyone can write a Route, and a
	 *    flow token is no secret (it travels in Record-Route);
	 *  - a TLS client that authenticated for our own domain on this
	 *    connection (cached for 30 s and until SIGHUP): a node of ours;
	 *  - otherwise its chain is judged as our domain's server identity
	 *    (fed.c, as for a peer proxy of any domain: the TLSA records of
	 *    our domain's SIP targets, or a dane_clientid host name that is one
	 *    of them or the domain itself): a match is a node of ours; anything
	 *    else is refused (403), among them a DANCE user of our domain (a
	 *    _user identity is no server) and a peer proxy of another domain;
	 *  - a node of ours reaches the flow only if this node holds it (else
	 *    430 Flow Failed), and while the DANCE identity its bindings rest
	 *    on, if any, is current (current(); gone: 430), never another
	 *    address; the node authenticated
	 *    its originator and ran STIR, so neither is done again here.
	 */
	if (!t->tls || !t->conn || !px_hook_client_chain(t->conn)) {
		snprintf(why, sizeof(why), "a user's flow is reached only through a node of %s, "
			 "authenticated over TLS", domain);
		return reply(t, t->stateless ? 0 : 403, "Forbidden", why);
	}
	cached = px_hook_client_cached(t->conn, domain);
	if (cached == 1)
		return node_route(t);
	if (cached == 0) {
		on_node_auth(t, 0, "this TLS client did not authenticate for it");
		return 0;
	}
	if (px_fed_authorize(px->fed, &t->auth, t->conn, (const struct sockaddr *)&t->peer, domain,
			     on_node_auth, t))
		return reply(t, 500, "Server Internal Error", "out of memory");
	return 0;
}

/* on_identity - the ClientName of the request's connection has its verdict */
static void on_identity(void *arg)
{
	struct txn *t = arg;

	t->wait = NULL;
	check_from(t);
}

/* check_from - who originated the request (sip/auth.c), then, for a foreign
 * From domain, the federation's inbound rule */
static int check_from(struct txn *t)
{
	struct px_proxy *px = t->px;
	const char *domain = t->sip->sip_from->a_url->url_host;
	const struct sockaddr *peer = (const struct sockaddr *)&t->peer;
	STACK_OF(X509) *chain;
	char why[400], pstr[64];
	int cached;

	/*
	 * The decision, case by case:
	 *  - a TLS connection whose ClientName came without its DNSSEC chain and
	 *    is still being looked up (sip/dance.c), or whose authenticated
	 *    ClientName was judged over 30 s ago or before the last SIGHUP and
	 *    is looked up again now (px_hook_client_pending): the request waits
	 *    for that verdict, whatever it claims, then goes through these
	 *    cases; a slow lookup holds this connection's requests only, at most
	 *    PX_MAX_HELD of them (more: 503, so that one client cannot fill
	 *    --max-pending);
	 *  - sip/auth.c's rule first (px_auth_check: dialogs, DANCE users,
	 *    trusted peers, Digest users, REGISTER): routed, challenged (401,
	 *    407), refused (403) or dropped (ACK); a From naming another domain
	 *    goes on here;
	 *  - Foreign From over UDP or TCP: nothing vouches for it: 403.
	 *  - Foreign From over TLS without a client certificate on the very
	 *    connection that delivered the request (t->conn: its handshake
	 *    done, the key proven; another connection's chain never counts): 403.
	 *  - Foreign From over TLS with a client chain: the chain must
	 *    authenticate for that domain (its server TLSA, or RFC 5922 PKIX where
	 *    the policy falls back); the verdict is cached on that connection
	 *    for 30 s and until the next SIGHUP, then judged again.
	 */
	if (t->conn && px_hook_client_pending(t->conn)) {
		switch (px_hook_client_wait(t->conn, on_identity, t, &t->wait)) {
		case 0:
			return 0;
		case EBUSY:
			snprintf(why, sizeof(why), "%d requests of this connection already wait for its "
				 "ClientName's verdict", PX_MAX_HELD);
			return reply(t, 503, "Service Unavailable", why);
		default:
			return reply(t, 500, "Server Internal Error", "out of memory");
		}
	}
	if (t->node_flow[0])
		return from_node(t);
	px_auth_check(px->auth, t->sip, peer, t->proto, t->conn, t->dialog == 1, &t->who);
	if (px_auth_claim(px->auth, t->sip, peer, &t->who, on_claimed, t, &t->authq))
		return 0;
	if (t->who.verdict != PX_AUTH_FEDERATION)
		return authorized(t);
	if (!t->tls) {
		snprintf(why, sizeof(why), "forged domain: From %s over an unauthenticated "
			 "(non-TLS) connection", domain);
		px_log(SIPDANCE_LOG_WARN, "auth", "peer=%s domain=%s rule=inbound verdict=REFUSE (%s)",
		       px_addr_str(peer, pstr, sizeof(pstr)), domain, why);
		return reply(t, 403, "Forbidden", why);
	}
	if (!(chain = px_hook_client_chain(t->conn))) {
		snprintf(why, sizeof(why), "forged domain: From %s but the TLS client presented "
			 "no certificate", domain);
		px_log(SIPDANCE_LOG_WARN, "auth", "peer=%s domain=%s rule=inbound verdict=REFUSE (%s)",
		       px_addr_str(peer, pstr, sizeof(pstr)), domain, why);
		return reply(t, 403, "Forbidden", why);
	}
	cached = px_hook_client_cached(t->conn, domain);
	if (cached == 1)
		return peer_route(t, domain);
	if (cached == 0) {
		snprintf(why, sizeof(why), "forged domain: the TLS client did not authenticate for %s",
			 domain);
		return reply(t, 403, "Forbidden", why);
	}
	if (px_fed_authorize(px->fed, &t->auth, t->conn, peer, domain, on_auth, t))
		return reply(t, 500, "Server Internal Error", "out of memory");
	return 0;
}

/* authorized - act on sip/auth.c's verdict (t->who), other than FEDERATION */
static int authorized(struct txn *t)
{
	struct px_proxy *px = t->px;

	switch (t->who.verdict) {
	case PX_AUTH_ROUTE:
		px_auth_forward(px->auth, t->req, t->sip, &t->who);
		return route(t);
	case PX_AUTH_CHALLENGE:
		if (t->irq) {
			px_auth_reply(px->auth, t->irq, t->sip, (const struct sockaddr *)&t->peer, &t->who);
			px_metrics_response(t->who.status);
		}
		t->final_sent = 1;
		txn_free(t);
		return 0;
	case PX_AUTH_DROP:
		return reply(t, 0, NULL, NULL);
	default:
		return reply(t, t->stateless ? 0 : t->who.status, t->who.status == 403 ? "Forbidden" :
			     sip_status_phrase(t->who.status), t->who.why);
	}
}

/* on_claimed - the shared state's answer for the request's Digest nonce count */
static void on_claimed(void *arg)
{
	struct txn *t = arg;

	t->authq = NULL;
	authorized(t);
}

/* on_cancel - CANCEL (or ACK of a non-2xx) for an INVITE we proxy */
static int on_cancel(void *magic, nta_incoming_t *irq, const sip_t *sip)
{
	struct txn *t = magic;

	if (!sip || !sip->sip_request || sip->sip_request->rq_method != sip_method_cancel)
		return 0;
	t->cancelled = 1;
	if (t->wait) {
		px_hook_client_unwait(t->wait);
		t->wait = NULL;
		reply(t, 487, "Request Terminated", NULL);
		return 0;
	}
	if (t->auth) {
		px_fed_cancel(t->auth);
		t->auth = NULL;
		reply(t, 487, "Request Terminated", NULL);
		return 0;
	}
	if (t->stirq) {
		px_stir_cancel(t->stirq);
		t->stirq = NULL;
		reply(t, 487, "Request Terminated", NULL);
		return 0;
	}
	if (t->regq) {
		px_registrar_shared_cancel(t->regq);
		t->regq = NULL;
		reply(t, 487, "Request Terminated", NULL);
		return 0;
	}
	if (t->authq) {
		px_auth_claim_cancel(t->authq);
		t->authq = NULL;
		reply(t, 487, "Request Terminated", NULL);
		return 0;
	}
	cancel_others(t, NULL);
	txn_check(t);
	return 0;
}

/* overloaded - whether to refuse @sip at once because too much is in progress */
static int overloaded(struct px_proxy *px, const sip_t *sip, int dialog)
{
	time_t now;

	/*
	 * The decision, case by case:
	 *  - fewer than --max-pending requests waiting for their final answer:
	 *    accepted;
	 *  - requests of a dialog we record-routed (our stamp for that very
	 *    dialog in their Route, ACK for a 2xx included): accepted, so that
	 *    calls in progress can end and give their resources back; a To tag
	 *    or an ACK alone proves nothing, anyone can write one;
	 *  - anything else past the bound: refused at once, 503 with
	 *    Retry-After, before it costs a transaction. Accepting past capacity
	 *    makes every answer late; callers retransmit, the load doubles and
	 *    the proxy never catches up (docs/reliability.md, Problems 6).
	 */
	if (px->pending < px->conf->max_pending || dialog == 1)
		return 0;
	if ((now = time(NULL)) != px->overload_logged) {
		px->overload_logged = now;
		px_log(SIPDANCE_LOG_WARN, "proxy", "overload: %u requests in progress (--max-pending "
		       "%u): new requests refused with 503", px->pending, px->conf->max_pending);
	}
	return 1;
}

/* via_self - whether Via @v's sent-by is one of our listeners */
static int via_self(const struct px_proxy *px, const sip_via_t *v)
{
	url_t u = { .url_type = url_sip };

	if (!v || !v->v_host)
		return 0;
	u.url_host = v->v_host;
	u.url_port = v->v_port;
	if (v->v_protocol && !strcasecmp(sip_via_transport(v), "TLS"))
		u.url_type = url_sips;
	return px_self_url(px->me, &u) == 1;
}

/* looped - RFC 5393 §4.2: a Via we added, with the loop hash @loop of this
 * request as received (a spiral changes the hash: it goes on) */
static int looped(const struct px_proxy *px, const sip_t *sip, const char *loop)
{
	char l[PX_LOOP_HEX + 1];

	for (const sip_via_t *v = sip->sip_via; v; v = v->v_next)
		if (via_self(px, v) && px_stamp_branch_check(px->stamp, v->v_branch, v->v_next, l) &&
		    !strcmp(l, loop))
			return 1;
	return 0;
}

/* dialog_of - whether @sip is in a dialog we record-routed: 1 (a Route
 * naming us carries its dialog token; the flow token that token covers, if
 * any, into @flow), 0 (no such Route), -1 (a flow token its Route's dialog
 * token does not cover for this dialog) */
static int dialog_of(const struct px_proxy *px, const sip_t *sip, char *flow)
{
	char dt[PX_DIALOG_TOKEN + 8];
	const char *u;
	int known = 0, ok, is_flow;

	/*
	 * Each Route naming us, case by case:
	 *  - its dialog token (dt=) matches this request's Call-ID and tags, and
	 *    the flow token of its user part (or none): the dialog is ours;
	 *  - it has a flow token that the dialog token does not cover, or the
	 *    request is outside any dialog (no To tag): refused, the flow opens
	 *    to requests of its own dialog only;
	 *  - no dialog token, or a wrong one without a flow token: not a dialog
	 *    we know (routed on as any request, but no overload exemption).
	 */
	flow[0] = '\0';
	for (const sip_route_t *rt = sip->sip_route; rt && is_self(px, rt->r_url); rt = rt->r_next) {
		u = rt->r_url->url_user;
		is_flow = u && strlen(u) == PX_FLOW_TOKEN - 1 &&
			  strspn(u, "0123456789abcdef") == PX_FLOW_TOKEN - 1;
		ok = rt->r_url->url_params && url_param(rt->r_url->url_params, "dt", dt, sizeof(dt)) > 0 &&
		     px_auth_dialog_check(px->auth, sip, is_flow ? u : "", dt);
		if (is_flow && (!ok || !sip->sip_to->a_tag))
			return -1;
		if (ok && is_flow)
			memcpy(flow, u, PX_FLOW_TOKEN);
		known |= ok;
	}
	return known;
}

/* node_flow_of - whether the top Route names us with a user's flow (another
 * node of ours routes through us): 1 with its token in @flow, 0 if not, -1
 * if its flow= is no token */
static int node_flow_of(const struct px_proxy *px, const sip_t *sip, char *flow)
{
	const sip_route_t *rt = sip->sip_route;
	char v[PX_FLOW_TOKEN + 8];

	flow[0] = '\0';
	if (!rt || !is_self(px, rt->r_url) || !rt->r_url->url_params ||
	    url_param(rt->r_url->url_params, "flow", v, sizeof(v)) == 0)
		return 0;
	if (strlen(v) != PX_FLOW_TOKEN - 1 || strspn(v, "0123456789abcdef") != PX_FLOW_TOKEN - 1)
		return -1;
	memcpy(flow, v, PX_FLOW_TOKEN);
	return 1;
}

/* breadth_of - RFC 5393 Max-Breadth of @sip: its value, MAX_BREADTH if none */
static unsigned breadth_of(const sip_t *sip)
{
	const sip_unknown_t *u = unknown(sip, "Max-Breadth");
	unsigned long n;
	char *end;

	if (!u || !u->un_value)
		return MAX_BREADTH;
	n = strtoul(u->un_value, &end, 10);
	return *end || u->un_value[0] == '-' || n > MAX_BREADTH ? MAX_BREADTH : (unsigned)n;
}

/* stateless - answer @msg at once without a transaction (an ACK: dropped) */
static int stateless(struct px_proxy *px, msg_t *msg, const sip_t *sip, int status,
		     const char *phrase, const char *why, const char *retry)
{
	char reason[300];
	char pstr[64];
	su_addrinfo_t *ai = msg_addrinfo(msg);

	if (why) {
		reason_str(reason, sizeof(reason), status, why);
		px_log(SIPDANCE_LOG_INFO, "proxy", "%s from %s -> %d %s (%s)",
		       sip->sip_request->rq_method_name,
		       ai ? px_addr_str(ai->ai_addr, pstr, sizeof(pstr)) : "?", status, phrase, why);
	}
	if (sip->sip_request->rq_method == sip_method_ack) {
		msg_destroy(msg);
		return 0;
	}
	px_metrics_response(status);
	return nta_msg_treply(px->agent, msg, status, phrase, TAG_IF(why, SIPTAG_REASON_STR(reason)),
			      TAG_IF(retry, SIPTAG_RETRY_AFTER_STR(retry)), TAG_END());
}

/* on_request - a request outside any transaction: checked and cleaned up
 * before a server transaction exists, so that nothing the checks refuse ever
 * costs one, and every answer goes where the request came from */
static int on_request(struct px_proxy *px, msg_t *msg, sip_t *sip)
{
	sip_method_t m = sip->sip_request->rq_method;
	char loop[PX_LOOP_HEX + 1], flow[PX_FLOW_TOKEN], node_flow[PX_FLOW_TOKEN];
	struct txn *t;
	tport_t *tp;
	su_addrinfo_t *ai;
	int dialog;

	px_metrics_request();
	/*
	 * Before any transaction, case by case:
	 *  - headers missing (From, To, Call-ID, CSeq, Via): 400;
	 *  - maddr in the top Via: removed. It would send our answers to a third
	 *    party (a reflector, with the registrar's answers an amplifier) and
	 *    have sofia-sip resolve a name there, blocking the loop; responses go
	 *    to the source address (received, rport) instead;
	 *  - a Via of ours with this request's loop hash: 482 (RFC 5393 loop);
	 *  - a flow token (in our Record-Route) used outside its dialog: 403;
	 *  - a Route to a user's flow (flow=) that is no flow token: 403;
	 *  - draining, or overloaded outside a dialog we know: 503;
	 *  - Max-Forwards 0: 483.
	 */
	if (!sip->sip_from || !sip->sip_to || !sip->sip_call_id || !sip->sip_cseq || !sip->sip_via)
		return stateless(px, msg, sip, 400, "Missing Header", "From, To, Call-ID, CSeq "
				 "and Via are required", NULL);
	if (sip->sip_via->v_maddr) {
		px_log(SIPDANCE_LOG_INFO, "proxy", "%s: maddr=%.64s in the top Via ignored (responses "
		       "go to the source address)", sip->sip_request->rq_method_name, sip->sip_via->v_maddr);
		msg_header_remove_param(sip->sip_via->v_common, "maddr");
	}
	px_stamp_loop(sip, loop);
	if (looped(px, sip, loop))
		return stateless(px, msg, sip, 482, "Loop Detected", "loop: this request already "
				 "passed here unchanged (RFC 5393)", NULL);
	if ((dialog = dialog_of(px, sip, flow)) < 0)
		return stateless(px, msg, sip, 403, "Forbidden", "the flow token in Route belongs to "
				 "another dialog", NULL);
	if (node_flow_of(px, sip, node_flow) < 0)
		return stateless(px, msg, sip, 403, "Forbidden", "the flow in Route is no flow token", NULL);
	if (px->draining)
		return stateless(px, msg, sip, 503, "Service Unavailable", NULL, "30");
	if (overloaded(px, sip, dialog))
		return stateless(px, msg, sip, 503, "Service Unavailable", "overload: too many "
				 "requests in progress", "5");
	if (sip->sip_max_forwards && sip->sip_max_forwards->mf_count == 0)
		return stateless(px, msg, sip, 483, "Too Many Hops", NULL, NULL);
	if (!(t = calloc(1, sizeof(*t))) || !(t->req = msg_copy(msg)) || !(t->sip = sip_object(t->req))) {
		if (t)
			msg_destroy(t->req);
		free(t);
		return stateless(px, msg, sip, 500, "Server Internal Error", NULL, NULL);
	}
	t->px = px;
	t->dialog = dialog;
	memcpy(t->flow_token, flow, sizeof(flow));
	memcpy(t->node_flow, node_flow, sizeof(node_flow));
	memcpy(t->loop, loop, sizeof(loop));
	t->breadth = breadth_of(sip);
	if ((ai = msg_addrinfo(msg)) && ai->ai_addrlen <= sizeof(t->peer))
		memcpy(&t->peer, ai->ai_addr, ai->ai_addrlen);
	/* the transport that delivered this very message */
	snprintf(t->proto, sizeof(t->proto), "udp");
	t->req_len = msg_size(msg);
	if ((tp = nta_incoming_transport(px->agent, NULL, msg))) {
		t->udp = tport_is_udp(tp);
		t->tls = tport_has_tls(tp);
		if (t->tls || !tport_is_dgram(tp))
			snprintf(t->proto, sizeof(t->proto), "%s", t->tls ? "tls" : "tcp");
		if (t->tls && tport_is_secondary(tp)) {
			t->flow = tport_ref(tp);
			t->conn = px_hook_inbound(px->hook, tp, (const struct sockaddr *)&t->peer);
		}
		tport_unref(tp);
	}
	t->next = px->txns;
	px->txns = t;
	px->pending++;
	px_log(SIPDANCE_LOG_DEBUG, "proxy", "%s " URL_PRINT_FORMAT " from %s over %s",
	       sip->sip_request->rq_method_name, URL_PRINT_ARGS(sip->sip_request->rq_url),
	       px_addr_str((const struct sockaddr *)&t->peer, (char[64]){ 0 }, 64),
	       t->tls ? "TLS" : "UDP/TCP");
	if (m == sip_method_ack) {
		t->stateless = 1;
		msg_destroy(msg);
	} else if (!(t->irq = nta_incoming_create(px->agent, NULL, msg, sip, TAG_END()))) {
		px_log(SIPDANCE_LOG_ERR, "proxy", "%s: cannot create a server transaction",
		       t->sip->sip_request->rq_method_name);
		txn_free(t);
		return 0;
	} else if (m == sip_method_invite) {
		nta_incoming_bind(t->irq, on_cancel, t);
	}
	check_from(t);
	return 0;
}

/* on_stray - a response outside any transaction */
static int on_stray(struct px_proxy *px, msg_t *msg, sip_t *sip)
{
	const sip_via_t *ours = sip->sip_via, *up = ours ? ours->v_next : NULL;
	char loop[PX_LOOP_HEX + 1], pstr[64];
	su_addrinfo_t *ai = msg_addrinfo(msg);
	const char *why;

	/*
	 * Relayed only when all of these hold, else dropped (RFC 3261 §18.1.2,
	 * RFC 6026 §8.10):
	 *  - a 2xx to an INVITE: the caller's retransmitted answer when our
	 *    first relay was lost (everything else has its transaction in nta,
	 *    or is too late to matter);
	 *  - the top Via is ours: sent-by one of our listeners, and a branch we
	 *    made for a request that came with exactly the Via under it (so the
	 *    response goes back where a request came from, nowhere else);
	 *  - that Via is UDP, without maddr: a response never opens a connection,
	 *    nor changes transport.
	 * Relaying removes exactly our Via (nta_msg_tsend); our Record-Route
	 * carries the caller's token, as in any 2xx we relay (stray_rr).
	 */
	if (!sip->sip_cseq || sip->sip_cseq->cs_method != sip_method_invite ||
	    sip->sip_status->st_status / 100 != 2)
		why = "not a 2xx to an INVITE";
	else if (!via_self(px, ours) || !up ||
		 !px_stamp_branch_check(px->stamp, ours->v_branch, up, loop))
		why = "its top Via is not ours";
	else if (strcasecmp(sip_via_transport(up), "UDP") || up->v_maddr)
		why = "the next hop is not plain UDP";
	else {
		stray_rr(px, msg, sip, loop, up);
		px_auth_forward_response(msg, sip, NULL);
		return nta_msg_tsend(px->agent, msg, NULL, TAG_END()), 0;
	}
	px_log(SIPDANCE_LOG_DEBUG, "proxy", "stray %u response from %s dropped: %s",
	       sip->sip_status->st_status, ai ? px_addr_str(ai->ai_addr, pstr, sizeof(pstr)) : "?", why);
	msg_destroy(msg);
	return 0;
}

/* on_message - everything nta does not match to a transaction */
static int on_message(struct px_proxy *px, nta_agent_t *agent, msg_t *msg, sip_t *sip)
{
	if (sip && sip->sip_request)
		return on_request(px, msg, sip);
	if (sip && sip->sip_status)
		return on_stray(px, msg, sip);
	msg_destroy(msg);
	return 0;
}

/* is_tls_listener - whether a --listen URI is TLS */
static int is_tls_listener(const char *u)
{
	return !strncasecmp(u, "sips:", 5) || strstr(u, "transport=tls");
}

/* listen_all - the nta agent with every listener; the hook catches sofia's SSL_CTXs */
static int listen_all(struct px_proxy *px, char *why, size_t whysize)
{
	const struct px_conf *c = px->conf;
	char dir[512] = "";
	int tls = 0, err = 0;

	for (size_t i = 0; i < c->nlisten; i++)
		tls |= is_tls_listener(c->listen[i]);
	if (tls && (err = px_certdir_write(dir, sizeof(dir), "--", c->cert, c->key, why, whysize)))
		return err;
	px_hook_arm(px->hook, 1);
	px->agent = nta_agent_create(px->root, URL_STRING_MAKE(c->listen[0]), on_message, px,
				     NTATAG_UA(0), NTATAG_CANCEL_487(0), NTATAG_SERVER_RPORT(1),
				     NTATAG_USE_NAPTR(0), NTATAG_USE_SRV(0), NTATAG_MAXSIZE(65536),
				     /* a connection nothing refers to (no binding, no
				      * transaction) closes after --idle-timeout unused; a
				      * partial TCP message waits --accept-timeout at most */
				     TPTAG_IDLE(c->idle_timeout * 1000), TPTAG_TIMEOUT(c->accept_timeout_ms),
				     TAG_IF(is_tls_listener(c->listen[0]), TPTAG_CERTIFICATE(dir)),
				     TAG_IF(c->trace && !strcmp(c->trace, "on"), TPTAG_LOG(1)),
				     TAG_END());
	if (!px->agent) {
		snprintf(why, whysize, "cannot listen on %s (address in use or not local?)", c->listen[0]);
		err = EADDRNOTAVAIL;
	}
	for (size_t i = 1; !err && i < c->nlisten; i++) {
		if (nta_agent_add_tport(px->agent, URL_STRING_MAKE(c->listen[i]),
					TAG_IF(is_tls_listener(c->listen[i]), TPTAG_CERTIFICATE(dir)),
					TAG_END()) < 0) {
			snprintf(why, whysize, "cannot listen on %s (address in use or not local?)", c->listen[i]);
			err = EADDRNOTAVAIL;
		}
	}
	px_hook_arm(px->hook, 0);
	if (dir[0])
		px_certdir_remove(dir);
	if (!err && tls && px_hook_stats(px->hook)->ctx_hooked == 0) {
		snprintf(why, whysize, "the TLS hook caught no SSL_CTX of sofia-sip: refusing to run "
			 "TLS without DANE verification");
		err = EPROTO;
	}
	if (!err && tls)
		err = px_hook_load_cert(px->hook, c->cert, c->key, why, whysize);
	return err;
}

/* unspecified - whether @ss is 0.0.0.0 or :: (a wildcard names no node) */
static int unspecified(const struct sockaddr_storage *ss)
{
	return ss->ss_family == AF_INET ? ((const struct sockaddr_in *)ss)->sin_addr.s_addr == INADDR_ANY
					: IN6_IS_ADDR_UNSPECIFIED(&((const struct sockaddr_in6 *)ss)->sin6_addr);
}

/* node_addr - with --state, where the other nodes reach our flows into @buf:
 * --node-address, else the first TLS listener with an IP address; 0 or EINVAL */
static int node_addr(const struct px_conf *c, char *buf, size_t size, char *why, size_t whysize)
{
	su_home_t home[1] = { SU_HOME_INIT(home) };
	struct sockaddr_storage ss;
	char hp[300];
	url_t *u;

	buf[0] = '\0';
	if (c->node_address) {
		if (px_node_parse(c->node_address, &ss) || unspecified(&ss))
			return snprintf(why, whysize, "--node-address %s: want IP:PORT or [IP6]:PORT, not "
					"a wildcard", c->node_address), EINVAL;
		px_addr_str((const struct sockaddr *)&ss, buf, size);
	}
	for (size_t i = 0; i < c->nlisten && !buf[0]; i++) {
		if (!is_tls_listener(c->listen[i]) || !(u = url_make(home, c->listen[i])) || !u->url_host)
			continue;
		snprintf(hp, sizeof(hp), "%s:%s", u->url_host, u->url_port ? u->url_port : "5061");
		if (!px_node_parse(hp, &ss) && !unspecified(&ss))
			px_addr_str((const struct sockaddr *)&ss, buf, size);
	}
	su_home_deinit(home);
	if (buf[0])
		px_log(SIPDANCE_LOG_INFO, "state", "flows registered here are reached by the other nodes "
		       "through %s", buf);
	else
		px_log(SIPDANCE_LOG_WARN, "state", "no TLS listener with an IP address, nor --node-address: "
		       "flows registered here are reached through this node only");
	return 0;
}

/* gauges - what the metrics read at each scrape */
static void gauges(void *arg, struct px_metrics_gauges *g)
{
	struct px_proxy *px = arg;
	usize_t in = 0, out = 0;

	g->inbound = px_limits_open(px->limits);
	g->pending = px->pending;
	nta_agent_get_stats(px->agent, NTATAG_S_IRQ_HASH_USED_REF(in), NTATAG_S_ORQ_HASH_USED_REF(out),
			    TAG_END());
	g->nta_server = in;
	g->nta_client = out;
}

/* px_proxy_alloc - a running proxy: listeners, registrar, federation */
int px_proxy_alloc(struct px_proxy **out, su_root_t *root, const struct px_conf *c,
		   char *why, size_t whysize)
{
	struct px_proxy *px = su_home_new(sizeof(*px));
	int err;

	*out = px;
	if (!px)
		return ENOMEM;
	px->root = root;
	px->conf = c;
	if ((err = px_hook_alloc(&px->hook)) || (err = px_stamp_alloc(&px->stamp)) ||
	    (err = px_self_alloc(&px->me, c, px->home)) ||
	    (err = px_registrar_alloc(&px->reg, px->home, px->me, c)))
		return snprintf(why, whysize, "out of memory"), err;
	if (!(px->strays = su_zalloc(px->home, STRAY_RR * sizeof(*px->strays))))
		return snprintf(why, whysize, "out of memory"), ENOMEM;
	if ((err = px_auth_alloc(&px->auth, c, names_us, px, why, whysize)))
		return err;
	for (size_t i = 0; i < c->nlocation; i++) {
		if ((err = px_registrar_add_static(px->reg, c->location[i].aor, c->location[i].contact))) {
			snprintf(why, whysize, "--location %s=%s: %s", c->location[i].aor,
				 c->location[i].contact, err == ELOOP ? "the contact is this proxy"
				 : "the contact is not a sip: URI with a host");
			return err;
		}
	}
	/* requests reach on_message(): no default leg, so that each is checked
	 * before nta makes a transaction for it */
	if ((err = listen_all(px, why, whysize)))
		return err;
	if ((err = px_suloop_alloc(&px->loop, root)))
		return snprintf(why, whysize, "out of memory"), err;
	if ((err = px_fed_alloc(&px->fed, root, px_suloop_loop(px->loop), px->agent, px->hook,
				px->stamp, px->me, c, why, whysize)))
		return err;
	if ((err = px_state_alloc(&px->state, px_suloop_loop(px->loop), c, why, whysize)) ||
	    (err = px_stir_alloc(&px->stir, px_suloop_loop(px->loop), c, why, whysize)))
		return err;
	/*
	 * Where verified PASSporTs are claimed, so that each set is accepted once:
	 *  - --state: the store the nodes of the domain share (a replay at any
	 *    of them is 403; unreachable, 503 or --state-fail open);
	 *  - none: this node alone, its memory: a replay here is 403 as well;
	 *    full (REPLAY_KEYS live), 503 rather than a replay let through.
	 */
	if (!px->state && (err = sipdance_store_mem_alloc(&px->replay, px_suloop_loop(px->loop), REPLAY_KEYS)))
		return snprintf(why, whysize, "out of memory"), err;
	px_stir_set_store(px->stir, px->state ? px->state : px->replay, px_state_node(c));
	if (px->state && (err = node_addr(c, px->node_addr, sizeof(px->node_addr), why, whysize)))
		return err;
	if (px->state) {
		px_fed_set_store(px->fed, px->state);
		px_registrar_set_store(px->reg, px->state, px_state_node(c), px->node_addr);
		px_auth_set_store(px->auth, px->state, px_state_node(c));
	}
	if (c->metrics && (err = px_metrics_alloc(&px->metrics, root, c->metrics, gauges, px, why, whysize)))
		return err;
	/* last: from here on no host name is resolved on the loop */
	return px_limits_alloc(&px->limits, root, c, px->hook, why, whysize);
}

/* px_proxy_free - stop everything; pending transactions get 500 from nta */
void px_proxy_free(struct px_proxy *px)
{
	if (!px)
		return;
	while (px->txns)
		txn_free(px->txns);
	px_metrics_free(px->metrics);
	px_limits_free(px->limits);
	px_fed_free(px->fed);
	px_stir_free(px->stir);
	sipdance_store_free(px->state);
	sipdance_store_free(px->replay);
	px_suloop_free(px->loop);
	px_registrar_free(px->reg);
	px_auth_free(px->auth);
	if (px->agent)
		nta_agent_destroy(px->agent);
	px_hook_free(px->hook);
	px_stamp_free(px->stamp);
	px_self_free(px->me);
	su_home_unref(px->home);
}

/* reload_certs - SIGHUP, once our RFC 9102 chains are fresh: the certificate
 * files, taken only when they match the TLSA records of those chains (a
 * rollover publishes the next TLSA beside the current one first, RFC 7671
 * §8.1) */
static void reload_certs(void *arg)
{
	struct px_proxy *px = arg;
	STACK_OF(X509) *cert = NULL;
	EVP_PKEY *key = NULL;
	char why[512];

	/* the files are read once: what is checked is what is served */
	if (px->conf->cert && px->conf->key &&
	    (px_hook_read_cert(px->conf->cert, px->conf->key, &cert, &key, why, sizeof(why)) ||
	     px_fed_cert_check(px->fed, cert, why, sizeof(why)) ||
	     px_hook_use_cert(px->hook, cert, key, why, sizeof(why))))
		px_log(SIPDANCE_LOG_ERR, "proxy", "reload: %s (keeping the old certificate)", why);
	else if (cert && px_fed_cert_set(px->fed, cert, why, sizeof(why)))
		px_log(SIPDANCE_LOG_ERR, "proxy", "reload: %s", why);
	else
		px_log(SIPDANCE_LOG_INFO, "proxy", "reload: certificates reloaded");
	sk_X509_pop_free(cert, X509_free);
	EVP_PKEY_free(key);
	/* last: tests (and operators) read this line as "the reload is done" */
	px_log(SIPDANCE_LOG_INFO, "proxy", "reload: DNS and TLSA cache flushed");
}

/* px_proxy_reload - SIGHUP: users, STIR certificates, DNS cache and our
 * RFC 9102 chains (held to the certificate in use, refreshed on the loop),
 * then, once those chains are fresh, the certificate files (reload_certs) */
void px_proxy_reload(struct px_proxy *px)
{
	px_auth_reload(px->auth);
	px_stir_flush(px->stir);
	px_fed_flush(px->fed, reload_certs, px);
}

/* px_proxy_drain - SIGTERM: new requests get 503; 1 once none is pending */
int px_proxy_drain(struct px_proxy *px)
{
	px->draining = 1;
	return px->txns == NULL;
}
