/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * suloop.c - libsipdance's event-loop contract (sipdance/loop.h) on sofia-sip's
 * su_root: a watched descriptor is an su_wait_t registered with the root, a
 * timer is an su_timer_t. The only file of the proxy that knows both.
 */
#include "suloop.h"

#include <errno.h>
#include <stdlib.h>

/* A descriptor libsipdance asked to watch. */
struct suwatch {
	int fd, index;
	su_wait_t wait;
	sipdance_loop_io_fn *fn;
	void *arg;
};

/* A timer of libsipdance. */
struct sutimer {
	su_timer_t *t;
	sipdance_loop_timer_fn *fn;
	void *arg;
};

struct px_suloop {
	su_root_t *root;
	struct sipdance_loop *loop;
	struct suwatch *w;
	size_t nw, capw;
};

/* on_wait - a descriptor is ready: tell its owner what for */
static int on_wait(struct px_proxy *magic, su_wait_t *w, void *arg)
{
	struct px_suloop *s = arg;
	int fd = su_wait_socket(w), ev = su_wait_events(w, fd), out = 0;

	if (ev & (SU_WAIT_IN | SU_WAIT_ERR | SU_WAIT_HUP))
		out |= SIPDANCE_LOOP_READ;
	if (ev & (SU_WAIT_OUT | SU_WAIT_ERR | SU_WAIT_HUP))
		out |= SIPDANCE_LOOP_WRITE;
	for (size_t i = 0; i < s->nw; i++)
		if (s->w[i].fd == fd) {
			s->w[i].fn(s->w[i].arg, fd, out);
			break;
		}
	return 0;
}

/* unregister - drop watch @i */
static void unregister(struct px_suloop *s, size_t i)
{
	su_root_deregister(s->root, s->w[i].index);
	s->w[i] = s->w[--s->nw];
}

/* su_watch - (re)register @fd with the root for @events, or drop it */
static int su_watch(void *host, int fd, int events, sipdance_loop_io_fn *fn, void *arg)
{
	struct px_suloop *s = host;
	int su_ev = ((events & SIPDANCE_LOOP_READ) ? SU_WAIT_IN : 0) |
		    ((events & SIPDANCE_LOOP_WRITE) ? SU_WAIT_OUT : 0);
	struct suwatch *w;
	size_t i;

	for (i = 0; i < s->nw && s->w[i].fd != fd; i++)
		;
	if (i < s->nw) {
		/* a descriptor number reused by a new socket is new to the root:
		 * only a change of events on a live registration is kept */
		if (events && s->w[i].fn == fn && s->w[i].arg == arg &&
		    su_root_eventmask(s->root, s->w[i].index, fd, su_ev) == 0)
			return 0;
		unregister(s, i);
	}
	if (!events)
		return 0;
	if (s->nw == s->capw) {
		size_t cap = s->capw ? 2 * s->capw : 16;

		if (!(w = realloc(s->w, cap * sizeof(*w))))
			return ENOMEM;
		s->w = w;
		s->capw = cap;
	}
	w = &s->w[s->nw];
	*w = (struct suwatch){ .fd = fd, .fn = fn, .arg = arg };
	if (su_wait_create(&w->wait, fd, su_ev) != 0)
		return EINVAL;
	if ((w->index = su_root_register(s->root, &w->wait, on_wait, s, 0)) < 0) {
		su_wait_destroy(&w->wait);
		return ENOMEM;
	}
	s->nw++;
	return 0;
}

/* on_timer - an su_timer ran out */
static void on_timer(struct px_proxy *magic, su_timer_t *t, void *arg)
{
	struct sutimer *st = arg;

	st->fn(st->arg);
}

/* su_timer_alloc_ - a disarmed su_timer */
static void *su_timer_alloc_(void *host, sipdance_loop_timer_fn *fn, void *arg)
{
	struct px_suloop *s = host;
	struct sutimer *st = calloc(1, sizeof(*st));

	if (!st || !(st->t = su_timer_create(su_root_task(s->root), 0))) {
		free(st);
		return NULL;
	}
	st->fn = fn;
	st->arg = arg;
	return st;
}

/* su_timer_set_ - arm (sofia has no 0 ms timer: 1 ms) or disarm */
static void su_timer_set_(void *host, void *timer, long ms)
{
	struct sutimer *st = timer;

	if (ms < 0)
		su_timer_reset(st->t);
	else
		su_timer_set_interval(st->t, on_timer, st, ms > 0 ? (su_duration_t)ms : 1);
}

/* su_timer_free_ - destroy */
static void su_timer_free_(void *host, void *timer)
{
	struct sutimer *st = timer;

	su_timer_destroy(st->t);
	free(st);
}

static const struct sipdance_loop_ops su_ops = {
	sizeof(su_ops), su_watch, su_timer_alloc_, su_timer_set_, su_timer_free_,
};

/* px_suloop_alloc - the contract on @root */
int px_suloop_alloc(struct px_suloop **out, su_root_t *root)
{
	struct px_suloop *s = calloc(1, sizeof(*s));
	int err;

	*out = NULL;
	if (!s)
		return ENOMEM;
	s->root = root;
	if ((err = sipdance_loop_alloc(&s->loop, &su_ops, s))) {
		free(s);
		return err;
	}
	*out = s;
	return 0;
}

/* px_suloop_free - drop what is still registered, free */
void px_suloop_free(struct px_suloop *s)
{
	if (!s)
		return;
	while (s->nw)
		unregister(s, s->nw - 1);
	free(s->w);
	sipdance_loop_free(s->loop);
	free(s);
}

/* px_suloop_loop - the loop libsipdance objects take */
struct sipdance_loop *px_suloop_loop(const struct px_suloop *s)
{
	return s->loop;
}
