/* SPDX-License-Identifier: BSD-2-Clause */
/* suloop.h - libsipdance's event-loop contract (sipdance/loop.h) on sofia-sip's su_root. */
#ifndef SIPDANCE_SULOOP_H
#define SIPDANCE_SULOOP_H

#include "proxy.h"
#include <sipdance/loop.h>

struct px_suloop;

/* A loop for libsipdance whose descriptors and timers live on @root. 0 or ENOMEM. */
int px_suloop_alloc(struct px_suloop **out, su_root_t *root);
/* Free it (every libsipdance object on it first); NULL ok. */
void px_suloop_free(struct px_suloop *s);
/* What to hand to libsipdance. */
struct sipdance_loop *px_suloop_loop(const struct px_suloop *s);

#endif
