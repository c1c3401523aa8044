/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * auth.h - who sipdance-proxy vouches for (auth.c): local users by Digest
 * (RFC 3261 §22, RFC 8760 SHA-256 and MD5) against the --users file
 * (users.c), DANCE users by their dane_clientid identity, trusted peers by
 * address (--trusted), dialogs by a token in our Record-Route; and the STIR
 * attestation each origin earns. Helpers use the px_auth_ and px_users_
 * prefixes.
 */
#ifndef SIPDANCE_PROXY_AUTH_H
#define SIPDANCE_PROXY_AUTH_H

#include "proxy.h"
#include "digest.h"

/* Users file (users.c): "user:realm:HA1-MD5:HA1-SHA-256[:NUMBERS]" lines, or
 * htdigest's "user:realm:HA1-MD5". */
struct px_users;
struct px_user;

/* px_users_load - read @file; 0 or an errno value with the line in why[]
 * (never a credential) */
int px_users_load(struct px_users **out, const char *file, char *why, size_t whysize);
void px_users_free(struct px_users *u);
/* px_users_count - how many users the file holds */
size_t px_users_count(const struct px_users *u);
/* px_users_find - the user @name (exact) of @realm, or NULL */
const struct px_user *px_users_find(const struct px_users *u, const char *name, const char *realm);
/* px_users_find_aor - the user whose address (name@realm, lowercase) is @aor, or NULL */
const struct px_user *px_users_find_aor(const struct px_users *u, const char *aor);
/* px_users_find_clientid - the user of @realm whose address hashes to the
 * DANCE user name @name (<hash>._user.<domain>), or NULL */
const struct px_user *px_users_find_clientid(const struct px_users *u, const char *realm,
					     const char *name);
/* px_users_aor - a user's address, lowercase, into buf */
void px_users_aor(const struct px_user *u, char *buf, size_t size);
/* px_users_name - a user's name as the file spells it */
const char *px_users_name(const struct px_user *u);
/* px_users_ha1 - a user's HA1 for "MD5" or "SHA-256" (lowercase hex), or NULL */
const char *px_users_ha1(const struct px_user *u, const char *algorithm);
/* px_users_entitled - whether canonical number @tn is one of @u's: 1 or 0;
 * the entry "*" stands for every number of @orig_range (--stir-orig-range) */
int px_users_entitled(const struct px_user *u, const char *tn, const char *orig_range);
/* px_users_owner - a user of @realm other than @not entitled to @tn by an
 * explicit number or range, or NULL */
const struct px_user *px_users_owner(const struct px_users *u, const char *realm, const char *tn,
				     const struct px_user *not);
/* px_canon_aor - "user@host" of @url with its user part percent-decoded, both
 * lowercase, into buf: the one form addresses are compared and bound in;
 * 0, or EINVAL (no user or host, too long, an escaped NUL) */
int px_canon_aor(const url_t *url, char *buf, size_t size);

/* Who the proxy vouches for. */
struct px_auth;

enum px_auth_verdict {
	PX_AUTH_REFUSE = 0,  /* answer @status (403) with Reason @why */
	PX_AUTH_CHALLENGE,   /* answer 401/407 with a challenge (px_auth_reply) */
	PX_AUTH_FEDERATION,  /* From names another domain: the inbound federation rule decides */
	PX_AUTH_ROUTE,       /* route it; origin, user and attestation below */
	PX_AUTH_DROP,        /* an ACK that nothing vouches for: dropped (it cannot be answered) */
};

enum px_auth_origin {
	PX_ORIGIN_NONE = 0,  /* unauthenticated (--local-auth off) or decided by the federation */
	PX_ORIGIN_USER,      /* a user of ours, by Digest or DANCE */
	PX_ORIGIN_TRUSTED,   /* a --trusted peer */
	PX_ORIGIN_DIALOG,    /* inside a dialog we record-routed */
};

#define PX_AUTH_CLAIM 48 /* "nc:" 32 hex ":" 8 hex */
struct px_auth_result {
	enum px_auth_verdict verdict;
	enum px_auth_origin origin;
	int status;          /* 401, 407 or 403 */
	int stale;           /* the challenge says stale=true */
	char attest;         /* STIR attestation the origin earns: 'A', 'B', 'C' or 0 (never signed) */
	int number;          /* From is a telephone number (attestation matters) */
	int dance;           /* the user is the DANCE identity of the TLS connection (not Digest) */
	char user[300];      /* the authenticated address ("alice@a.example") for P-Asserted-Identity */
	char claim[PX_AUTH_CLAIM]; /* a Digest success: "nc:MAC:COUNT", to claim in the shared state */
	char why[400];       /* Reason text */
};

struct sipdance_store;
/* px_auth_set_store - with --state: each Digest success's nonce count is
 * claimed in @store (as @node) before it counts */
void px_auth_set_store(struct px_auth *a, struct sipdance_store *store, const char *node);
/* A claim ended: the px_auth_result given changed to what it came to. */
typedef void (px_auth_fn)(void *arg);
struct px_authq;
/* px_auth_claim - with a store, a Digest success @r (ROUTE) is claimed there
 * once: 1, and @fn runs later, with @r still ROUTE, or a stale challenge (a
 * replay), or 503 (the store cannot answer); 0: nothing to wait for (@r
 * may have become a 500). @sip and @r must live until then; *@q cancels. */
int px_auth_claim(struct px_auth *a, const sip_t *sip, const struct sockaddr *peer, struct px_auth_result *r,
		  px_auth_fn *fn, void *arg, struct px_authq **q);
/* px_auth_claim_cancel - @fn will not run; NULL ok */
void px_auth_claim_cancel(struct px_authq *q);
/* Whether @url names this proxy (its domain or a listener). */
typedef int (px_self_fn)(void *arg, const url_t *url);
/* px_auth_alloc - trusted networks, users file, nonce key from the configuration */
int px_auth_alloc(struct px_auth **out, const struct px_conf *conf, px_self_fn *self,
		  void *self_arg, char *why, size_t whysize);
void px_auth_free(struct px_auth *a);
/* px_auth_reload - SIGHUP: the users file again (the old one stays on an error) */
void px_auth_reload(struct px_auth *a);
/* px_auth_conf_check - the auth keys of the configuration, with a message naming the key */
int px_auth_conf_check(const struct px_conf *c, char *why, size_t whysize);
/* px_auth_check - the rule: may @sip (from @peer over @proto "udp", "tcp" or
 * "tls"; @conn the TLS connection that delivered it if its handshake
 * completed, px_hook_inbound; @dialog 1 if it carried our valid dialog
 * token) be routed, signed or bound; one log line per decision */
void px_auth_check(struct px_auth *a, const sip_t *sip, const struct sockaddr *peer, const char *proto,
		   SSL *conn, int dialog, struct px_auth_result *r);
/* px_auth_reply - answer @irq with @r's challenge (401 or 407, one per algorithm) */
void px_auth_reply(struct px_auth *a, nta_incoming_t *irq, const sip_t *sip,
		   const struct sockaddr *peer, const struct px_auth_result *r);
/* px_auth_forward - before a request of origin @r is routed: our own realm's
 * credentials removed; P-Asserted-Identity kept only from trusted peers (a
 * peer proxy's: px_auth_forward_peer), a user's replaced by the identity authenticated here (her
 * P-Preferred-Identity and Remote-Party-ID removed) */
void px_auth_forward(struct px_auth *a, msg_t *msg, sip_t *sip, const struct px_auth_result *r);
/* px_auth_forward_peer - before a request a peer proxy authenticated for
 * @domain sent is routed: P-Asserted-Identity, P-Preferred-Identity and
 * Remote-Party-ID naming anyone outside @domain removed */
void px_auth_forward_peer(msg_t *msg, sip_t *sip, const char *domain);
/* px_auth_forward_response - before a response is relayed: its identity
 * headers removed, but a peer proxy's (@domain) naming its own users */
void px_auth_forward_response(msg_t *msg, sip_t *sip, const char *domain);

/* The dialog token in our Record-Route (a URI parameter): an HMAC over the
 * Call-ID, the From tag, the caller's and the callee's addresses, the flow
 * token that is the Record-Route's user part ("" if none) and the side that
 * sends with it, so that only requests of dialogs we routed, between its two
 * ends, each speaking as itself, follow them, and a user's flow opens only
 * to its own dialog. The caller's address is the From she was authenticated
 * as; the callee's, in its token, is the one we routed the request to (not
 * To, which the caller writes: she could call herself with To naming
 * someone else and so hold a token to speak as him), so a callee reached at
 * another address than To's never speaks as To. The callee learns its
 * side's token from the request, the caller her own from the responses (our
 * Record-Route rewritten, RFC 3261 §16.7 step 4).
 * PX_DIALOG_TOKEN bytes with the NUL. */
#define PX_DIALOG_TOKEN 25
enum px_dialog_side { PX_DIALOG_CALLEE, PX_DIALOG_CALLER };
/* px_auth_dialog_token - the token of @side for initial request @sip over
 * @flow, into buf; the callee's speaks for @target, the address routed to */
void px_auth_dialog_token(const struct px_auth *a, const sip_t *sip, const url_t *target,
			  const char *flow, enum px_dialog_side side, char buf[PX_DIALOG_TOKEN]);
/* px_auth_same_party - whether @x and @y are the same dialog party for the token */
int px_auth_same_party(const struct px_auth *a, const url_t *x, const url_t *y);
/* px_auth_dialog_check - whether @token belongs to @sip's dialog and sender:
 * the caller's (its Call-ID with its From tag, From and To) or the callee's
 * (To tag, To and From), and flow token @flow: 1 or 0, in constant time */
int px_auth_dialog_check(const struct px_auth *a, const sip_t *sip, const char *flow,
			 const char *token);

#endif
