/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * stir.h - STIR/SHAKEN in sipdance-proxy (stir.c): the verification
 * service at ingress (asynchronous, x5u fetched off the event loop) and the
 * authentication service at egress for local callers, over libsipdance's
 * stir.h. Identity headers already present and bodies are never changed.
 */
#ifndef SIPDANCE_PROXY_STIR_H
#define SIPDANCE_PROXY_STIR_H

#include "proxy.h"
#include <sipdance/store.h>

struct px_stir;
struct px_stirq;

/* Verification ended: @status 0 routes the request on (annotated if so
 * configured), else reject with @status, @phrase and the Reason text @why. */
typedef void (px_stir_fn)(void *arg, int status, const char *phrase, const char *why);

/* px_stir_conf_check - the stir-* keys, once everything is read: 0 or EINVAL with why[] */
int px_stir_conf_check(const struct px_conf *c, char *why, size_t whysize);
/* px_stir_alloc - verifier, x5u fetcher on @loop and signer, per --stir;
 * *out stays NULL when STIR is off */
int px_stir_alloc(struct px_stir **out, struct sipdance_loop *loop, const struct px_conf *c,
		  char *why, size_t whysize);
void px_stir_free(struct px_stir *s);
/* px_stir_set_store - verified PASSporTs are claimed in @store by @node (--state) */
void px_stir_set_store(struct px_stir *s, struct sipdance_store *store, const char *node);
/* px_stir_flush - SIGHUP: drop the cached x5u chains and failures */
void px_stir_flush(struct px_stir *s);
/* px_stir_ingress - verify @msg if it is an initial INVITE from a caller that
 * is a telephone number outside our domain and not a user authenticated here
 * (@ours): 1 with @fn to come (*q cancels it), 0 when there is nothing to
 * verify, or an errno */
int px_stir_ingress(struct px_stir *s, msg_t *msg, sip_t *sip, int ours, struct px_stirq **q,
		    px_stir_fn *fn, void *arg);
/* px_stir_cancel - the callback of a pending verification will not run */
void px_stir_cancel(struct px_stirq *q);
/* px_stir_egress - add Date (if missing) and a signed Identity to an initial
 * INVITE without one whose originator earned attestation @attest ('A', 'B'
 * or 'C', by sip/auth.c; 0: not authenticated here, never signed) and whose
 * number is in range */
void px_stir_egress(struct px_stir *s, msg_t *msg, sip_t *sip, char attest);

#endif
