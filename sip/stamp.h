/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * stamp.h - the branch of the proxy's Via, which it must recognise when it
 * comes back (stamp.c): RFC 5393 loop detection, and the hop the request
 * came from, so that a stray response goes back there only. An HMAC under
 * a key made at start.
 */
#ifndef SIPDANCE_PROXY_STAMP_H
#define SIPDANCE_PROXY_STAMP_H

#include "proxy.h"

#include <sofia-sip/sip.h>

/* Hex digits of a loop hash. */
#define PX_LOOP_HEX 16
/* Our Via branch: "z9hG4bKsd" + nonce, loop hash and MAC in hex. */
#define PX_BRANCH_MAX 64

struct px_stamp;

int px_stamp_alloc(struct px_stamp **out);
void px_stamp_free(struct px_stamp *s);
/* px_stamp_loop - the loop hash of @sip as received: the fields that decide
 * where it goes (RFC 5393 §4.2) and those of its transaction */
void px_stamp_loop(const sip_t *sip, char loop[PX_LOOP_HEX + 1]);
/* px_stamp_branch - "branch" of our Via for a request with loop hash @loop
 * that came to us with top Via @up */
void px_stamp_branch(const struct px_stamp *s, const char *loop, const sip_via_t *up,
		     char out[PX_BRANCH_MAX]);
/* px_stamp_branch_check - whether @branch is one we made for a request that
 * came with top Via @up: 1 with its loop hash in @loop, else 0 */
int px_stamp_branch_check(const struct px_stamp *s, const char *branch, const sip_via_t *up,
			  char loop[PX_LOOP_HEX + 1]);

#endif
