/* SPDX-License-Identifier: BSD-2-Clause */
/* dance.h - DANCE ClientNames that came without their chain, looked up after the handshake (dance.c). */
#ifndef SIPDANCE_PROXY_DANCE_H
#define SIPDANCE_PROXY_DANCE_H

#include "proxy.h"

struct px_dance;
struct sipdance_dns;

/* px_dance_alloc - look up, through @dns on the proxy's loop, the ClientNames
 * of @hook's inbound connections that came without their chain; @domains
 * (the client domains, borrowed) bound the names probed after an NXDOMAIN */
int px_dance_alloc(struct px_dance **out, struct px_hook *hook, struct sipdance_dns *dns,
		   const char *const *domains, size_t ndomains);
/* px_dance_flush - SIGHUP: what is known not to exist is forgotten */
void px_dance_flush(struct px_dance *d);
/* px_dance_free - pending lookups cancelled; before @dns is freed. NULL ok */
void px_dance_free(struct px_dance *d);

#endif
