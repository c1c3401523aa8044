/* SPDX-License-Identifier: BSD-2-Clause */
/* store_int.h - what the stores of the library (store.c: in memory;
 * store_redis.c: Redis) share: operations answered from the loop, in order. */
#ifndef SIPDANCE_STORE_INT_H
#define SIPDANCE_STORE_INT_H

#include <stdint.h>
#include <sipdance/store.h>
#include "internal.h"

/* One operation: in flight (Redis), then queued for its answer. */
struct sipdance_store_op {
	struct sipdance_store_op *next;
	enum sipdance_store_status st;
	sipdance_store_cb *cb; /* NULL once cancelled */
	void *arg;
	char *value;           /* a get's copy */
	size_t len;
	char why[160];
	int kind;              /* Redis: the command, for reading its reply */
	uint64_t deadline;     /* Redis: ms on the monotonic clock */
	uint64_t started;      /* Redis: µs on the monotonic clock, for the observer */
};

/* Answers waiting for the next turn of the loop. */
struct sd_store_q {
	struct sipdance_loop *loop;
	void *timer;
	struct sipdance_store_op *head, **tail;
};

/* An empty queue answering from @loop: 0 or ENOMEM. */
int sd_store_q_init(struct sd_store_q *q, struct sipdance_loop *loop);
/* Drop every queued answer unheard, and the timer. */
void sd_store_q_fini(struct sd_store_q *q);
/* A new operation answering @cb(@arg), or NULL. */
struct sipdance_store_op *sd_store_op_new(sipdance_store_cb *cb, void *arg);
/* Queue @o's answer (@value copied; @why kept for ERROR); the queue frees @o after it. */
void sd_store_answer(struct sd_store_q *q, struct sipdance_store_op *o, enum sipdance_store_status st,
		     const char *value, size_t len, const char *why);
/* A store behind @ops whose @fini, when not NULL, frees @host with it. */
int sd_store_wrap(struct sipdance_store **out, const struct sipdance_store_ops *ops, void *host,
		  void (*fini)(void *host));
/* The monotonic clock in milliseconds, and in microseconds. */
uint64_t sd_mono_ms(void);
uint64_t sd_mono_us(void);
/* For tests: replace the memory store's clock (ms). */
void sd_store_mem_set_clock(struct sipdance_store *s, uint64_t (*clock)(void *arg), void *arg);

#endif
