/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * sipdance/loop.h - the one event-loop contract of libsipdance.
 *
 * Every asynchronous module (DNS lookups, server location, x5u fetching, STIR
 * verification) runs on a loop the host owns, through four calls the host
 * provides: watch a descriptor for reading or writing, and create, arm and
 * free a timer. The library never blocks and starts no thread of its own; it
 * keeps all its state in its objects, so one loop can serve every module.
 *
 * Adapters: sipdance_loop_poll_alloc() below (a poll(2) loop for tools and
 * blocking callers; the library's *_sync functions run one privately),
 * sip/suloop.c (sofia-sip's su_root) and the Kamailio module (kamailio/).
 * docs/embedding.md walks through writing one.
 */
#ifndef SIPDANCE_LOOP_H
#define SIPDANCE_LOOP_H

#include <stddef.h>
#include <sipdance/common.h>

#ifdef __cplusplus
extern "C" {
#endif

/* What a descriptor is watched for, and what the host found it ready for. */
enum { SIPDANCE_LOOP_READ = 1, SIPDANCE_LOOP_WRITE = 2 };

/** The host found @fd ready for @events (an error or hang-up counts as both). */
typedef void (sipdance_loop_io_fn)(void *arg, int fd, int events);
/** A timer ran out. */
typedef void (sipdance_loop_timer_fn)(void *arg);

/*
 * What the host provides. Callbacks run from the host's loop, never from
 * inside one of these calls. The library calls them only from the thread
 * that runs the loop.
 */
struct sipdance_loop_ops {
	size_t size; /* sizeof(struct sipdance_loop_ops): fields are only ever added */
	/** Watch @fd for @events and call @fn(@arg, fd, ready) when it is ready; @events
	 *  0 stops watching (done before the library closes @fd). A new call for the same
	 *  @fd replaces the previous one. 0 or an errno value. */
	int (*watch)(void *host, int fd, int events, sipdance_loop_io_fn *fn, void *arg);
	/** A new disarmed timer that calls @fn(@arg) when it runs out; NULL when out of memory. */
	void *(*timer_alloc)(void *host, sipdance_loop_timer_fn *fn, void *arg);
	/** Arm @timer to run out once in @ms milliseconds (0: at the next turn of the loop),
	 *  replacing what it was armed for; @ms < 0 disarms it. */
	void (*timer_set)(void *host, void *timer, long ms);
	/** Free @timer, armed or not; it will not run. */
	void (*timer_free)(void *host, void *timer);
};

struct sipdance_loop;

/**
 * A loop the host drives through @ops (copied; @host is passed back to each).
 * EINVAL when @ops is too small or lacks a call, ENOMEM.
 */
SIPDANCE_API int sipdance_loop_alloc(struct sipdance_loop **out,
				     const struct sipdance_loop_ops *ops, void *host);
/** Free a loop; NULL ok. Free every object using it first. */
SIPDANCE_API void sipdance_loop_free(struct sipdance_loop *loop);

/** A poll(2) loop of the library's own, run with sipdance_loop_run(). ENOMEM. */
SIPDANCE_API int sipdance_loop_poll_alloc(struct sipdance_loop **out);
/**
 * Watch a descriptor of the host's own on a poll loop, as ops->watch does
 * (@events 0: stop): a process whose only loop is this one waits for its own
 * input beside the library's. 0, EINVAL for a loop the host drives, EBADF,
 * ENOMEM.
 */
SIPDANCE_API int sipdance_loop_poll_watch(struct sipdance_loop *loop, int fd, int events,
					  sipdance_loop_io_fn *fn, void *arg);
/**
 * Run a poll loop until *@done becomes non-zero, or until @timeout_ms
 * milliseconds have passed (< 0: no limit), or until nothing is watched or
 * armed. 0 when *@done, ETIMEDOUT, EAGAIN when nothing is left to wait for,
 * EINVAL for a loop the host drives, or poll's errno.
 */
SIPDANCE_API int sipdance_loop_run(struct sipdance_loop *loop, const int *done, long timeout_ms);

#ifdef __cplusplus
}
#endif
#endif
