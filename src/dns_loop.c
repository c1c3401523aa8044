/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * dns_loop.c - getdns' event loop on the library's loop contract
 * (sipdance/loop.h): the events getdns schedules, the descriptors and the one
 * timer they come down to, and the callbacks that run them.
 */
#include "config.h"
#include "dns_int.h"

static void on_io(void *arg, int fd, int events);

/* loop_schedule - getdns wants @gev on @fd (or a timer for fd -1) */
static getdns_return_t loop_schedule(getdns_eventloop *loop, int fd, uint64_t timeout,
				     getdns_eventloop_event *gev)
{
	struct sipdance_dns *dns = (struct sipdance_dns *)loop;
	uint64_t now = dns_mono_ms();
	struct ev *e;

	if (!gev || (fd < 0 && !gev->timeout_cb))
		return GETDNS_RETURN_INVALID_PARAMETER;
	if (!(e = calloc(1, sizeof(*e))))
		return GETDNS_RETURN_MEMORY_ERROR;
	e->gev = gev;
	e->fd = fd;
	e->deadline = timeout >= NEVER - now || !gev->timeout_cb ? NEVER : now + timeout;
	e->round = dns->round;
	gev->ev = e;
	TAILQ_INSERT_TAIL(&dns->evs, e, link);
	return GETDNS_RETURN_GOOD;
}

/* unwatch - stop watching @fd at once: getdns may close it next and reuse the
 * number for a new socket, which the loop must then see as a new watch (epoll
 * keeps no entry for a closed descriptor) */
static void unwatch(struct sipdance_dns *dns, int fd)
{
	struct ev *e;

	TAILQ_FOREACH(e, &dns->evs, link)
		if (e->fd == fd)
			return; /* still wanted by another event */
	for (size_t i = 0; i < dns->nwatch; i++) {
		if (dns->watch[i].fd != fd)
			continue;
		if (dns->watch[i].events)
			sd_loop_watch(dns->host, fd, 0, NULL, NULL);
		dns->watch[i] = dns->watch[--dns->nwatch];
		return;
	}
}

/* loop_clear - getdns no longer wants @gev */
static getdns_return_t loop_clear(getdns_eventloop *loop, getdns_eventloop_event *gev)
{
	struct sipdance_dns *dns = (struct sipdance_dns *)loop;
	struct ev *e;
	int fd;

	if (!gev || !(e = gev->ev))
		return GETDNS_RETURN_INVALID_PARAMETER;
	fd = e->fd;
	TAILQ_REMOVE(&dns->evs, e, link);
	free(e);
	gev->ev = NULL;
	if (fd >= 0)
		unwatch(dns, fd);
	return GETDNS_RETURN_GOOD;
}

/* loop_cleanup - getdns lets go of the loop; its events are already cleared */
static void loop_cleanup(getdns_eventloop *loop)
{
	(void)loop;
}

/* fire_fd - run the callbacks of the events on @fd for @events, once each */
static void fire_fd(struct sipdance_dns *dns, int fd, int events)
{
	struct ev *e;
	unsigned round = ++dns->round;

	for (;;) {
		getdns_eventloop_event *gev = NULL;
		getdns_eventloop_callback cb = NULL;

		TAILQ_FOREACH(e, &dns->evs, link) {
			if (e->fd != fd || e->round == round)
				continue;
			e->round = round;
			gev = e->gev;
			if ((events & SIPDANCE_LOOP_READ) && gev->read_cb)
				cb = gev->read_cb;
			else if ((events & SIPDANCE_LOOP_WRITE) && gev->write_cb)
				cb = gev->write_cb;
			if (cb)
				break;
		}
		if (!cb)
			return;
		cb(gev->userarg);
	}
}

/* fire_timeouts - run the timeout callbacks that are due, once each */
static void fire_timeouts(struct sipdance_dns *dns)
{
	unsigned round = ++dns->round;
	uint64_t now = dns_mono_ms();
	struct ev *e;

	for (;;) {
		TAILQ_FOREACH(e, &dns->evs, link)
			if (e->round != round && e->deadline <= now)
				break;
		if (!e)
			return;
		e->round = round;
		e->deadline = NEVER;
		e->gev->timeout_cb(e->gev->userarg);
	}
}

void dns_deliver(struct sipdance_dns *dns);

/* next_deadline - when the loop must run next (ms, monotonic), or NEVER */
static uint64_t next_deadline(const struct sipdance_dns *dns)
{
	uint64_t t = NEVER;
	struct ev *e;

	if (!TAILQ_EMPTY(&dns->ready) || !TAILQ_EMPTY(&dns->answered))
		return dns_mono_ms();
	TAILQ_FOREACH(e, &dns->evs, link)
		if (e->deadline < t)
			t = e->deadline;
	return t;
}

/* fd_events - the union of what the events on @fd wait for */
static int fd_events(const struct sipdance_dns *dns, int fd)
{
	const struct ev *e;
	int events = 0;

	TAILQ_FOREACH(e, &dns->evs, link) {
		if (e->fd != fd)
			continue;
		if (e->gev->read_cb)
			events |= SIPDANCE_LOOP_READ;
		if (e->gev->write_cb)
			events |= SIPDANCE_LOOP_WRITE;
	}
	return events;
}

/* dns_tell_host - pass changed descriptor interests and the next deadline to the loop */
void dns_tell_host(struct sipdance_dns *dns)
{
	struct ev *e;
	uint64_t t;
	size_t i;

	for (i = 0; i < dns->nwatch; i++)
		dns->watch[i].seen = 0;
	TAILQ_FOREACH(e, &dns->evs, link) {
		if (e->fd < 0)
			continue;
		for (i = 0; i < dns->nwatch && dns->watch[i].fd != e->fd; i++)
			;
		if (i == dns->nwatch) {
			if (dns->nwatch == dns->capwatch) {
				size_t cap = dns->capwatch ? 2 * dns->capwatch : 8;
				struct watch *w = realloc(dns->watch, cap * sizeof(*w));

				if (!w)
					continue;
				dns->watch = w;
				dns->capwatch = cap;
			}
			dns->watch[dns->nwatch++] = (struct watch){ e->fd, 0, 0 };
		}
		dns->watch[i].seen = 1;
	}
	for (i = 0; i < dns->nwatch;) {
		struct watch *w = &dns->watch[i];
		int events = w->seen ? fd_events(dns, w->fd) : 0;

		if (events != w->events) {
			/* a watch the loop refused: the lookup ends at its timeout */
			if (sd_loop_watch(dns->host, w->fd, events, on_io, dns) && events)
				sd_log(SIPDANCE_LOG_ERR, "dns", "the loop cannot watch descriptor %d", w->fd);
			w->events = events;
		}
		if (!w->seen)
			*w = dns->watch[--dns->nwatch];
		else
			i++;
	}
	t = next_deadline(dns);
	if (t != dns->timer_at) {
		uint64_t now = dns_mono_ms();

		dns->timer_at = t;
		sd_timer_set(dns->host, dns->timer, t == NEVER ? -1 : t <= now ? 0 : (long)(t - now));
	}
}

/* on_io - the loop found @fd ready */
static void on_io(void *arg, int fd, int events)
{
	struct sipdance_dns *dns = arg;

	fire_fd(dns, fd, events);
	dns_deliver(dns);
	dns_tell_host(dns);
}

/* dns_on_timer - the loop's timer ran out */
void dns_on_timer(void *arg)
{
	struct sipdance_dns *dns = arg;

	dns->timer_at = NEVER;
	fire_timeouts(dns);
	dns_deliver(dns);
	dns_tell_host(dns);
}

/* loop_run_once - getdns asks for one round, at most until its next deadline:
 * only a private loop can give it */
static void loop_run_once(getdns_eventloop *loop, int blocking)
{
	struct sipdance_dns *dns = (struct sipdance_dns *)loop;
	uint64_t t = next_deadline(dns), now = dns_mono_ms();

	sipdance_loop_run(dns->own, NULL, !blocking || t <= now ? 0 : t == NEVER ? 1000 : (long)(t - now));
}

/* loop_run - getdns asks to run until nothing is left: only a private loop can */
static void loop_run(getdns_eventloop *loop)
{
	struct sipdance_dns *dns = (struct sipdance_dns *)loop;

	sipdance_loop_run(dns->own, NULL, -1);
}

getdns_eventloop_vmt dns_loop_vmt = {
	loop_cleanup, loop_schedule, loop_clear, loop_run, loop_run_once
};

/* dns_detach_host - stop watching and timing, free our timer */
void dns_detach_host(struct sipdance_dns *dns)
{
	if (dns->host) {
		for (size_t i = 0; i < dns->nwatch; i++)
			if (dns->watch[i].events)
				sd_loop_watch(dns->host, dns->watch[i].fd, 0, NULL, NULL);
		sd_timer_free(dns->host, dns->timer);
	}
	dns->timer = NULL;
	dns->nwatch = 0;
	dns->timer_at = NEVER;
}

/* sd_dns_loop - the loop @dns runs on, for modules that wait on it */
struct sipdance_loop *sd_dns_loop(const struct sipdance_dns *dns)
{
	return dns->host;
}
