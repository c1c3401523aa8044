/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fed.h - the federation layer of sipdance-proxy (fed.c): sending to other
 * domains over DANE-authenticated TLS and authorizing requests from them.
 * Callbacks may run before the call that started the work returns.
 */
#ifndef SIPDANCE_PROXY_FED_H
#define SIPDANCE_PROXY_FED_H

#include <openssl/x509.h>
#include "proxy.h"

struct px_fed;
struct px_fedreq;

enum px_fed_event {
	PX_FED_SENT, /* @orq created on a new connection; its handshake is still running */
	PX_FED_DONE, /* the request is out on an authenticated connection (@orq if new); released */
	PX_FED_FAIL, /* refused with @status and Reason text @reason; released, destroy any orq */
};

typedef void (px_fed_event_fn)(void *arg, enum px_fed_event ev, nta_outgoing_t *orq,
			       int status, const char *reason);
/* @ok 1: the client authenticated for the domain; else @reason says why. */
typedef void (px_fed_auth_fn)(void *arg, int ok, const char *reason);

struct px_stamp;

/* px_fed_alloc - resolver, policy, verifier; @stamp makes our Via branches,
 * @me tells targets that are this proxy (both borrowed) */
int px_fed_alloc(struct px_fed **out, su_root_t *root, struct sipdance_loop *loop,
		 nta_agent_t *agent, struct px_hook *hook,
		 struct px_stamp *stamp, const struct px_self *me, const struct px_conf *conf,
		 char *why, size_t whysize);
void px_fed_free(struct px_fed *f);
/* px_fed_cert_check - 0 when certificate chain @cert (end entity first) matches
 * the TLSA records of every RFC 9102 chain we serve, else an errno and @why */
int px_fed_cert_check(struct px_fed *f, STACK_OF(X509) *cert, char *why, size_t whysize);
/* px_fed_cert_set - the same check, then every later chain must match @cert */
int px_fed_cert_set(struct px_fed *f, STACK_OF(X509) *cert, char *why, size_t whysize);
struct sipdance_store;
/* px_fed_set_store - share the RFC 9102 pins our handshakes learn through
 * @store (--state), and take the other nodes' before connecting out */
void px_fed_set_store(struct px_fed *f, struct sipdance_store *store);
/* px_fed_flush - SIGHUP: the trust anchor again, cached DNS and TLSA answers
 * dropped, our chains refreshed on the loop; @done(@arg) runs once those
 * refreshes have ended (at once when there are none) */
void px_fed_flush(struct px_fed *f, void (*done)(void *arg), void *arg);
/* px_fed_send - send @msg (taken) towards @uri's domain once a connection is
 * authenticated; our Via's branch carries loop hash @loop (stamp.h) */
int px_fed_send(struct px_fed *f, struct px_fedreq **out, msg_t *msg, const char *uri,
		const char *loop, nta_response_f *response, void *magic, px_fed_event_fn *event,
		void *arg);
/* px_fed_send_node - px_fed_send() to the one target of @uri's domain at
 * address @node (a node of our own domain, authenticated as that domain's
 * server like any target); NULL: any target */
int px_fed_send_node(struct px_fed *f, struct px_fedreq **out, msg_t *msg, const char *uri,
		     const struct sockaddr_storage *node, const char *loop, nta_response_f *response,
		     void *magic, px_fed_event_fn *event, void *arg);
/* px_fed_authorize - whether the client of TLS connection @ssl (from @peer)
 * authenticates for @domain */
int px_fed_authorize(struct px_fed *f, struct px_fedreq **out, SSL *ssl, const struct sockaddr *peer,
		     const char *domain, px_fed_auth_fn *auth, void *arg);
/* px_fed_failed - 1 if @r's connection was refused in its handshake (the
 * transport error nta reports may come first), with the Reason text in why[] */
int px_fed_failed(const struct px_fedreq *r, char *why, size_t size);
/* px_fed_handshaking - 1 while @r's connection has not authenticated its peer:
 * a response then can only be nta's own transport error */
int px_fed_handshaking(const struct px_fedreq *r);
/* px_fed_retry - @r's connection failed before it was authenticated (nta's
 * transport error, or a refused handshake): 1 if @r goes on to the next RFC
 * 3263 candidate (its old orq must be dropped; PX_FED_SENT or PX_FED_FAIL
 * follows, possibly before this returns), 0 if there is none */
int px_fed_retry(struct px_fedreq *r);
/* px_fed_cancel - abandon a request; its callback will not run */
void px_fed_cancel(struct px_fedreq *r);

#endif
