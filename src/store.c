/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * store.c - the store contract (sipdance/store.h): the host's calls behind
 * one object, and the store in this process's memory that a single node uses:
 * a chained hash table of keys with their expiry on the monotonic clock,
 * bounded, with callbacks delivered from the loop in the order of the calls.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store_int.h"

struct sipdance_store {
	struct sipdance_store_ops ops;
	void *host;
	void (*fini)(void *host); /* a store of the library's own: frees @host */
};

/* One key of the memory store. */
struct mentry {
	struct mentry *next;
	uint64_t expires; /* ms on the store's clock */
	size_t klen, vlen;
	char data[];      /* key, NUL, value, NUL */
};

struct memstore {
	struct sd_store_q q;
	struct mentry **b;
	size_t nb, n, max;
	uint64_t (*clock)(void *arg);
	void *clock_arg;
};

/* sipdance_store_status_str - printable name */
const char *sipdance_store_status_str(enum sipdance_store_status st)
{
	switch (st) {
	case SIPDANCE_STORE_OK: return "OK";
	case SIPDANCE_STORE_TAKEN: return "TAKEN";
	case SIPDANCE_STORE_ABSENT: return "ABSENT";
	case SIPDANCE_STORE_ERROR: break;
	}
	return "ERROR";
}

/* sd_store_wrap - a store behind @ops; @fini, when not NULL, frees @host with it */
int sd_store_wrap(struct sipdance_store **out, const struct sipdance_store_ops *ops, void *host,
		  void (*fini)(void *host))
{
	struct sipdance_store *s;

	if (!out)
		return EINVAL;
	*out = NULL;
	/* a host built before hset_if has the struct up to hgetall: its later calls are NULL */
	if (!ops || (ops->size != offsetof(struct sipdance_store_ops, hset_if) && ops->size < sizeof(*ops)) ||
	    !ops->claim || !ops->get || !ops->put || !ops->cancel)
		return EINVAL;
	if (!(s = calloc(1, sizeof(*s))))
		return ENOMEM;
	if (SD_CONF(&s->ops, ops, NULL)) {
		free(s);
		return EINVAL;
	}
	s->host = host;
	s->fini = fini;
	*out = s;
	return 0;
}

/* sipdance_store_alloc - a store the host backs */
int sipdance_store_alloc(struct sipdance_store **out, const struct sipdance_store_ops *ops, void *host)
{
	return sd_store_wrap(out, ops, host, NULL);
}

/* sipdance_store_claim - SET NX EX */
int sipdance_store_claim(struct sipdance_store *s, const char *key, const char *value, size_t len,
			 unsigned ttl_s, sipdance_store_cb *cb, void *arg, struct sipdance_store_op **op)
{
	struct sipdance_store_op *o = NULL;
	int err;

	if (!s || !key || !cb || (len && !value) || !ttl_s)
		return EINVAL;
	err = s->ops.claim(s->host, key, value ? value : "", len, ttl_s, cb, arg, &o);
	if (op)
		*op = err ? NULL : o;
	return err;
}

/* sipdance_store_get - GET */
int sipdance_store_get(struct sipdance_store *s, const char *key, sipdance_store_cb *cb, void *arg,
		       struct sipdance_store_op **op)
{
	struct sipdance_store_op *o = NULL;
	int err;

	if (!s || !key || !cb)
		return EINVAL;
	err = s->ops.get(s->host, key, cb, arg, &o);
	if (op)
		*op = err ? NULL : o;
	return err;
}

/* sipdance_store_put - SET EX, or DEL for ttl 0 */
int sipdance_store_put(struct sipdance_store *s, const char *key, const char *value, size_t len,
		       unsigned ttl_s, sipdance_store_cb *cb, void *arg, struct sipdance_store_op **op)
{
	struct sipdance_store_op *o = NULL;
	int err;

	if (!s || !key || (len && !value))
		return EINVAL;
	err = s->ops.put(s->host, key, value ? value : "", len, ttl_s, cb, arg, &o);
	if (op)
		*op = err || !cb ? NULL : o;
	return err;
}

/* sipdance_store_hset - HSET and EXPIRE, or HDEL for ttl 0 */
int sipdance_store_hset(struct sipdance_store *s, const char *key, const char *field, const char *value,
			size_t len, unsigned ttl_s, sipdance_store_cb *cb, void *arg,
			struct sipdance_store_op **op)
{
	struct sipdance_store_op *o = NULL;
	int err;

	if (!s || !key || !field || (len && !value))
		return EINVAL;
	if (!s->ops.hset)
		return ENOTSUP;
	err = s->ops.hset(s->host, key, field, value ? value : "", len, ttl_s, cb, arg, &o);
	if (op)
		*op = err || !cb ? NULL : o;
	return err;
}

/* sipdance_store_hset_if - hset while the hash is still @expect */
int sipdance_store_hset_if(struct sipdance_store *s, const char *key, const char *field, const char *value,
			   size_t len, unsigned ttl_s, const char *expect, size_t expect_len,
			   sipdance_store_cb *cb, void *arg, struct sipdance_store_op **op)
{
	struct sipdance_store_op *o = NULL;
	int err;

	if (!s || !key || !field || !cb || (len && !value) || (expect_len && (!expect || expect[expect_len - 1])))
		return EINVAL;
	if (!s->ops.hset_if)
		return ENOTSUP;
	err = s->ops.hset_if(s->host, key, field, value ? value : "", len, ttl_s, expect, expect_len, cb,
			     arg, &o);
	if (op)
		*op = err ? NULL : o;
	return err;
}

/* sipdance_store_hgetall - HGETALL */
int sipdance_store_hgetall(struct sipdance_store *s, const char *key, sipdance_store_cb *cb, void *arg,
			   struct sipdance_store_op **op)
{
	struct sipdance_store_op *o = NULL;
	int err;

	if (!s || !key || !cb)
		return EINVAL;
	if (!s->ops.hgetall)
		return ENOTSUP;
	err = s->ops.hgetall(s->host, key, cb, arg, &o);
	if (op)
		*op = err ? NULL : o;
	return err;
}

/* sipdance_store_cancel - the callback of @op will not run */
void sipdance_store_cancel(struct sipdance_store *s, struct sipdance_store_op *op)
{
	if (s && op)
		s->ops.cancel(s->host, op);
}

/* ---- answers from the loop ---- */

/* sd_mono_us - the monotonic clock in microseconds */
uint64_t sd_mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* sd_mono_ms - the monotonic clock in milliseconds */
uint64_t sd_mono_ms(void)
{
	return sd_mono_us() / 1000;
}

/* deliver - the loop's turn: every queued answer, in order */
static void deliver(void *arg)
{
	struct sd_store_q *q = arg;
	struct sipdance_store_op *o;

	while ((o = q->head)) {
		if (!(q->head = o->next))
			q->tail = &q->head;
		if (o->cb)
			o->cb(o->arg, o->st, o->value, o->len, o->st == SIPDANCE_STORE_ERROR ? o->why : NULL);
		free(o->value);
		free(o);
	}
}

/* sd_store_q_init - an empty queue answering from @loop: 0 or ENOMEM */
int sd_store_q_init(struct sd_store_q *q, struct sipdance_loop *loop)
{
	q->loop = loop;
	q->head = NULL;
	q->tail = &q->head;
	return (q->timer = sd_timer_alloc(loop, deliver, q)) ? 0 : ENOMEM;
}

/* sd_store_q_fini - drop every queued answer unheard */
void sd_store_q_fini(struct sd_store_q *q)
{
	for (struct sipdance_store_op *o = q->head; o; o = o->next)
		o->cb = NULL;
	deliver(q);
	sd_timer_free(q->loop, q->timer);
}

/* sd_store_op_new - an operation whose answer goes to @cb(@arg), or NULL */
struct sipdance_store_op *sd_store_op_new(sipdance_store_cb *cb, void *arg)
{
	struct sipdance_store_op *o = calloc(1, sizeof(*o));

	if (o) {
		o->cb = cb;
		o->arg = arg;
	}
	return o;
}

/* sd_store_answer - queue @o's answer for the next turn of the loop (a value
 * that cannot be copied turns it into an ERROR) */
void sd_store_answer(struct sd_store_q *q, struct sipdance_store_op *o, enum sipdance_store_status st,
		     const char *value, size_t len, const char *why)
{
	if (value && st == SIPDANCE_STORE_OK && (o->value = malloc(len + 1))) {
		memcpy(o->value, value, len);
		o->value[len] = '\0';
		o->len = len;
	} else if (value && st == SIPDANCE_STORE_OK) {
		st = SIPDANCE_STORE_ERROR;
		why = "out of memory";
	}
	o->st = st;
	snprintf(o->why, sizeof(o->why), "%s", why ? why : sipdance_store_status_str(st));
	o->next = NULL;
	*q->tail = o;
	q->tail = &o->next;
	sd_timer_set(q->loop, q->timer, 0);
}

/* ---- the memory store ---- */

/* mono_ms - the default clock of the memory store */
static uint64_t mono_ms(void *arg)
{
	(void)arg;
	return sd_mono_ms();
}

/* hash - FNV-1a of a key */
static size_t hash(const char *k)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *k; k++)
		h = (h ^ (unsigned char)*k) * 1099511628211ULL;
	return (size_t)h;
}

/* slot - where @key lives or would go */
static struct mentry **slot(struct memstore *m, const char *key)
{
	struct mentry **pp = &m->b[hash(key) % m->nb];

	while (*pp && strcmp((*pp)->data, key))
		pp = &(*pp)->next;
	return pp;
}

/* unlink_entry - remove the entry at *@pp */
static void unlink_entry(struct memstore *m, struct mentry **pp)
{
	struct mentry *e = *pp;

	*pp = e->next;
	free(e);
	m->n--;
}

/* live - the entry of @key that has not expired (one that has is removed), or NULL */
static struct mentry **live(struct memstore *m, const char *key, uint64_t now)
{
	struct mentry **pp = slot(m, key);

	if (*pp && (*pp)->expires <= now) {
		unlink_entry(m, pp);
		pp = slot(m, key);
	}
	return pp;
}

/* sweep - remove every expired entry (a full table looks for room) */
static void sweep(struct memstore *m, uint64_t now)
{
	for (size_t i = 0; i < m->nb; i++)
		for (struct mentry **pp = &m->b[i]; *pp;)
			if ((*pp)->expires <= now)
				unlink_entry(m, pp);
			else
				pp = &(*pp)->next;
}

/* queue - @cb's answer for the next turn of the loop (none without @cb); 0 or ENOMEM */
static int queue(struct memstore *m, enum sipdance_store_status st, const char *value, size_t len,
		 const char *why, sipdance_store_cb *cb, void *arg, struct sipdance_store_op **op)
{
	struct sipdance_store_op *o;

	if (!cb)
		return 0;
	if (!(o = sd_store_op_new(cb, arg)))
		return ENOMEM;
	sd_store_answer(&m->q, o, st, value, len, why);
	*op = o;
	return 0;
}

/* set - store @key = @value for @ttl_s seconds, replacing any: OK or ERROR with *why */
static enum sipdance_store_status set(struct memstore *m, const char *key, const char *value,
				      size_t len, unsigned ttl_s, uint64_t now, const char **why)
{
	struct mentry **pp = live(m, key, now), *e;
	size_t klen = strlen(key);

	if (*pp)
		unlink_entry(m, pp);
	if (m->n >= m->max)
		sweep(m, now);
	if (m->n >= m->max) {
		*why = "the in-memory store is full";
		return SIPDANCE_STORE_ERROR;
	}
	if (!(e = malloc(sizeof(*e) + klen + len + 2))) {
		*why = "out of memory";
		return SIPDANCE_STORE_ERROR;
	}
	memcpy(e->data, key, klen + 1);
	memcpy(e->data + klen + 1, value, len);
	e->data[klen + 1 + len] = '\0';
	e->klen = klen;
	e->vlen = len;
	e->expires = now + (uint64_t)ttl_s * 1000;
	pp = slot(m, key);
	e->next = *pp;
	*pp = e;
	m->n++;
	return SIPDANCE_STORE_OK;
}

/* mem_claim - SET NX EX in memory */
static int mem_claim(void *host, const char *key, const char *value, size_t len, unsigned ttl_s,
		     sipdance_store_cb *cb, void *arg, struct sipdance_store_op **op)
{
	struct memstore *m = host;
	uint64_t now = m->clock(m->clock_arg);
	const char *why = NULL;
	enum sipdance_store_status st = *live(m, key, now) ? SIPDANCE_STORE_TAKEN :
		set(m, key, value, len, ttl_s, now, &why);

	return queue(m, st, NULL, 0, why, cb, arg, op);
}

/* mem_get - GET in memory */
static int mem_get(void *host, const char *key, sipdance_store_cb *cb, void *arg,
		   struct sipdance_store_op **op)
{
	struct memstore *m = host;
	struct mentry *e = *live(m, key, m->clock(m->clock_arg));

	if (!e)
		return queue(m, SIPDANCE_STORE_ABSENT, NULL, 0, NULL, cb, arg, op);
	return queue(m, SIPDANCE_STORE_OK, e->data + e->klen + 1, e->vlen, NULL, cb, arg, op);
}

/* mem_put - SET EX or DEL in memory */
static int mem_put(void *host, const char *key, const char *value, size_t len, unsigned ttl_s,
		   sipdance_store_cb *cb, void *arg, struct sipdance_store_op **op)
{
	struct memstore *m = host;
	uint64_t now = m->clock(m->clock_arg);
	struct mentry **pp;
	const char *why = NULL;
	enum sipdance_store_status st = SIPDANCE_STORE_OK;

	if (ttl_s) {
		st = set(m, key, value, len, ttl_s, now, &why);
	} else if (*(pp = live(m, key, now))) {
		unlink_entry(m, pp);
	}
	return queue(m, st, NULL, 0, why, cb, arg, op);
}

/* mem_cancel - the callback will not run */
static void mem_cancel(void *host, struct sipdance_store_op *op)
{
	op->cb = NULL;
}

static const struct sipdance_store_ops mem_ops = {
	sizeof(mem_ops), mem_claim, mem_get, mem_put, mem_cancel, NULL, NULL, NULL,
};

/* mem_free - the memory store and its queued answers, unheard */
static void mem_free(void *host)
{
	struct memstore *m = host;

	sd_store_q_fini(&m->q);
	sweep(m, UINT64_MAX);
	free(m->b);
	free(m);
}

/* sipdance_store_mem_alloc - a bounded store in this process */
int sipdance_store_mem_alloc(struct sipdance_store **out, struct sipdance_loop *loop, size_t max_keys)
{
	struct memstore *m;
	int err;

	if (!out)
		return EINVAL;
	*out = NULL;
	if (!loop)
		return EINVAL;
	if (!(m = calloc(1, sizeof(*m))))
		return ENOMEM;
	m->max = max_keys ? max_keys : 65536;
	m->nb = m->max / 2 + 1;
	m->clock = mono_ms;
	if (!(m->b = calloc(m->nb, sizeof(*m->b)))) {
		free(m);
		return ENOMEM;
	}
	if ((err = sd_store_q_init(&m->q, loop))) {
		free(m->b);
		free(m);
		return err;
	}
	if ((err = sd_store_wrap(out, &mem_ops, m, mem_free)))
		mem_free(m);
	return err;
}

/* sipdance_store_free - free; callbacks still queued do not run */
void sipdance_store_free(struct sipdance_store *s)
{
	if (!s)
		return;
	if (s->fini)
		s->fini(s->host);
	free(s);
}

/* sd_store_mem_set_clock - replace the memory store's clock (ms), for tests */
void sd_store_mem_set_clock(struct sipdance_store *s, uint64_t (*clock)(void *arg), void *arg)
{
	struct memstore *m;

	if (s && s->fini == mem_free) {
		m = s->host;
		m->clock = clock;
		m->clock_arg = arg;
	}
}
