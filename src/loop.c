/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * loop.c - the event-loop contract (sipdance/loop.h): the host's four calls
 * behind one object, and the library's own poll(2) loop for tools, blocking
 * callers and the *_sync functions.
 */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <time.h>

#include "internal.h"

struct sipdance_loop {
	struct sipdance_loop_ops ops;
	void *host;
	struct poller *poller; /* the library's own loop, or NULL when the host drives it */
};

/* A timer of the poll loop. */
struct ptimer {
	TAILQ_ENTRY(ptimer) link;
	sipdance_loop_timer_fn *fn;
	void *arg;
	uint64_t at;    /* ms on the monotonic clock; NEVER when disarmed */
	unsigned round; /* the dispatch round it was armed in */
};

/* A watched descriptor of the poll loop. */
struct pwatch {
	int fd, events;
	sipdance_loop_io_fn *fn;
	void *arg;
};

struct poller {
	struct pwatch *w;
	size_t nw, capw;
	TAILQ_HEAD(, ptimer) timers;
	unsigned round;
};

#define NEVER UINT64_MAX

/* now_ms - the monotonic clock in milliseconds */
static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* sipdance_loop_alloc - a loop driven by the host's calls */
int sipdance_loop_alloc(struct sipdance_loop **out, const struct sipdance_loop_ops *ops, void *host)
{
	struct sipdance_loop *l;

	*out = NULL;
	if (!ops || ops->size < sizeof(*ops) || !ops->watch || !ops->timer_alloc ||
	    !ops->timer_set || !ops->timer_free)
		return EINVAL;
	if (!(l = calloc(1, sizeof(*l))))
		return ENOMEM;
	l->ops = *ops;
	l->ops.size = sizeof(l->ops);
	l->host = host;
	*out = l;
	return 0;
}

/* sipdance_loop_free - free a loop and, for a poll loop, what is left on it */
void sipdance_loop_free(struct sipdance_loop *l)
{
	struct ptimer *t;

	if (!l)
		return;
	if (l->poller) {
		while ((t = TAILQ_FIRST(&l->poller->timers))) {
			TAILQ_REMOVE(&l->poller->timers, t, link);
			free(t);
		}
		free(l->poller->w);
		free(l->poller);
	}
	free(l);
}

/* The library's side: what modules call. */

/* sd_loop_watch - watch @fd for @events (0: stop) */
int sd_loop_watch(struct sipdance_loop *l, int fd, int events, sipdance_loop_io_fn *fn, void *arg)
{
	return l->ops.watch(l->host, fd, events, fn, arg);
}

/* sd_timer_alloc - a disarmed timer on @l */
void *sd_timer_alloc(struct sipdance_loop *l, sipdance_loop_timer_fn *fn, void *arg)
{
	return l->ops.timer_alloc(l->host, fn, arg);
}

/* sd_timer_set - arm @t in @ms (< 0: disarm) */
void sd_timer_set(struct sipdance_loop *l, void *t, long ms)
{
	if (t)
		l->ops.timer_set(l->host, t, ms);
}

/* sd_timer_free - free @t; NULL ok */
void sd_timer_free(struct sipdance_loop *l, void *t)
{
	if (t)
		l->ops.timer_free(l->host, t);
}

/* The poll loop's four calls. */

/* p_watch - add, change or (events 0) remove the watch of @fd */
static int p_watch(void *host, int fd, int events, sipdance_loop_io_fn *fn, void *arg)
{
	struct poller *p = host;
	size_t i;

	if (fd < 0)
		return EBADF;
	for (i = 0; i < p->nw && p->w[i].fd != fd; i++)
		;
	if (!events) {
		if (i < p->nw)
			p->w[i] = p->w[--p->nw];
		return 0;
	}
	if (i == p->nw) {
		if (p->nw == p->capw) {
			size_t cap = p->capw ? 2 * p->capw : 8;
			struct pwatch *w = realloc(p->w, cap * sizeof(*w));

			if (!w)
				return ENOMEM;
			p->w = w;
			p->capw = cap;
		}
		p->nw++;
	}
	p->w[i] = (struct pwatch){ fd, events, fn, arg };
	return 0;
}

/* p_timer_alloc - a disarmed timer */
static void *p_timer_alloc(void *host, sipdance_loop_timer_fn *fn, void *arg)
{
	struct poller *p = host;
	struct ptimer *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->fn = fn;
	t->arg = arg;
	t->at = NEVER;
	TAILQ_INSERT_TAIL(&p->timers, t, link);
	return t;
}

/* p_timer_set - arm or disarm; one armed now waits for the next round */
static void p_timer_set(void *host, void *timer, long ms)
{
	struct poller *p = host;
	struct ptimer *t = timer;

	t->at = ms < 0 ? NEVER : now_ms() + (uint64_t)ms;
	t->round = p->round;
}

/* p_timer_free - unlink and free */
static void p_timer_free(void *host, void *timer)
{
	struct poller *p = host;

	TAILQ_REMOVE(&p->timers, (struct ptimer *)timer, link);
	free(timer);
}

static const struct sipdance_loop_ops poll_ops = {
	sizeof(poll_ops), p_watch, p_timer_alloc, p_timer_set, p_timer_free,
};

/* sipdance_loop_poll_alloc - the library's own loop */
int sipdance_loop_poll_alloc(struct sipdance_loop **out)
{
	struct poller *p = calloc(1, sizeof(*p));
	int err;

	if (!p) {
		*out = NULL;
		return ENOMEM;
	}
	TAILQ_INIT(&p->timers);
	if ((err = sipdance_loop_alloc(out, &poll_ops, p))) {
		free(p);
		return err;
	}
	(*out)->poller = p;
	return 0;
}

/* sipdance_loop_poll_watch - the host's own descriptor on the poll loop */
int sipdance_loop_poll_watch(struct sipdance_loop *l, int fd, int events, sipdance_loop_io_fn *fn, void *arg)
{
	return l && l->poller ? p_watch(l->poller, fd, events, fn, arg) : EINVAL;
}

/* next_timer - the earliest deadline among armed timers, or NEVER */
static uint64_t next_timer(const struct poller *p)
{
	const struct ptimer *t;
	uint64_t at = NEVER;

	TAILQ_FOREACH(t, &p->timers, link)
		if (t->at < at)
			at = t->at;
	return at;
}

/* fire_fds - call the watch of each descriptor poll found ready, if it still wants it */
static void fire_fds(struct poller *p, const struct pollfd *pfd, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int ev = 0;
		size_t j;

		if (pfd[i].revents & (POLLIN | POLLERR | POLLHUP | POLLNVAL))
			ev |= SIPDANCE_LOOP_READ;
		if (pfd[i].revents & (POLLOUT | POLLERR | POLLHUP | POLLNVAL))
			ev |= SIPDANCE_LOOP_WRITE;
		/* an earlier callback of this round may have removed or changed the watch */
		for (j = 0; j < p->nw && p->w[j].fd != pfd[i].fd; j++)
			;
		if (j < p->nw && (ev &= p->w[j].events))
			p->w[j].fn(p->w[j].arg, pfd[i].fd, ev);
	}
}

/* fire_timers - run each timer due now, once; those armed during this round wait */
static void fire_timers(struct poller *p)
{
	unsigned round = ++p->round;
	uint64_t now = now_ms();
	struct ptimer *t;

	for (;;) {
		TAILQ_FOREACH(t, &p->timers, link)
			if (t->at <= now && t->round != round)
				break;
		if (!t)
			return;
		t->at = NEVER;
		t->fn(t->arg); /* may free t or any other timer */
	}
}

/* sipdance_loop_run - poll and dispatch until done, timed out or idle; at least one round */
int sipdance_loop_run(struct sipdance_loop *l, const int *done, long timeout_ms)
{
	uint64_t end = timeout_ms < 0 ? NEVER : now_ms() + (uint64_t)timeout_ms;
	struct pollfd *pfd = NULL;
	size_t cap = 0;
	int err = 0, ready, rechecked = 0;

	if (!l || !l->poller)
		return EINVAL;
	for (struct poller *p = l->poller; !(done && *done);) {
		uint64_t at = next_timer(p), now = now_ms(), until = at < end ? at : end;
		int ms = until == NEVER ? -1 : until <= now ? 0 : (int)(until - now > 60000 ? 60000 : until - now);
		size_t n = p->nw;

		if (!n && at == NEVER) {
			err = EAGAIN;
			break;
		}
		if (n > cap) {
			struct pollfd *np = realloc(pfd, n * sizeof(*np));

			if (!np) {
				err = ENOMEM;
				break;
			}
			pfd = np;
			cap = n;
		}
		for (size_t i = 0; i < n; i++)
			pfd[i] = (struct pollfd){
				.fd = p->w[i].fd,
				.events = (short)(((p->w[i].events & SIPDANCE_LOOP_READ) ? POLLIN : 0) |
						  ((p->w[i].events & SIPDANCE_LOOP_WRITE) ? POLLOUT : 0)),
			};
		if ((ready = poll(pfd, (nfds_t)n, ms)) < 0) {
			if (errno != EINTR) {
				err = errno;
				break;
			}
			n = 0; /* interrupted: no descriptor is known to be ready */
		}
		fire_fds(p, pfd, n);
		/* a timer that fell due while the callbacks worked waits for one more look at the
		 * descriptors: an answer that arrived meanwhile is an answer, not a timeout */
		if (ready > 0 && !rechecked && !(done && *done) && next_timer(p) <= now_ms()) {
			rechecked = 1;
			continue;
		}
		rechecked = 0;
		fire_timers(p);
		if (!(done && *done) && now_ms() >= end) {
			err = ETIMEDOUT;
			break;
		}
	}
	free(pfd);
	return err;
}
