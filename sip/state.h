/* SPDX-License-Identifier: BSD-2-Clause */
/* state.h - the state the nodes of one domain share (--state), or none. */
#ifndef SIPDANCE_STATE_H
#define SIPDANCE_STATE_H

#include "proxy.h"
#include <sipdance/loop.h>
#include <sipdance/store.h>

/* px_state_alloc - the store --state names, on @loop, its keys under
 * "sipdance:DOMAIN:"; *out NULL without --state (this node alone, all in
 * memory). 0 or an errno value with a message in why[]. */
int px_state_alloc(struct sipdance_store **out, struct sipdance_loop *loop, const struct px_conf *c,
		   char *why, size_t whysize);
/* px_state_node - this node's name: --node-id, else the host name */
const char *px_state_node(const struct px_conf *c);

#endif
