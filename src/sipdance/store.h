/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * sipdance/store.h - state that must hold across the nodes of one domain: a
 * small key-value store with expiry, asynchronous like every other module.
 * What the library keeps there: the STIR replay cache (one key per verified
 * PASSporT, the first node to claim it wins). Three kinds: in this process's
 * memory (sipdance_store_mem_alloc), on a Redis or Valkey server shared by
 * several nodes (sipdance_store_redis_alloc, through hiredis on the loop
 * contract), or backed by the host (struct sipdance_store_ops). Whatever a
 * store returns is data to be checked: its users validate every value read.
 */
#ifndef SIPDANCE_STORE_H
#define SIPDANCE_STORE_H

#include <stddef.h>
#include <stdint.h>
#include <sipdance/common.h>
#include <sipdance/loop.h>

#ifdef __cplusplus
extern "C" {
#endif

/* What an operation came to. */
enum sipdance_store_status {
	SIPDANCE_STORE_ERROR = 0, /* no answer (unreachable, timed out, refused, full): zero fails closed */
	SIPDANCE_STORE_OK,        /* done: a claim was ours, a get found the key, a put stored it */
	SIPDANCE_STORE_TAKEN,     /* claim: the key was there already */
	SIPDANCE_STORE_ABSENT,    /* get: no such key, or it expired */
};

/** Printable name of a status ("OK", "TAKEN", ...). */
SIPDANCE_API const char *sipdance_store_status_str(enum sipdance_store_status st);

/** An operation ended: @value (@len bytes, valid during the call only) for a
 *  get that found its key, else NULL; @why says what failed on ERROR. */
typedef void (sipdance_store_cb)(void *arg, enum sipdance_store_status st, const char *value,
				 size_t len, const char *why);

struct sipdance_store_op; /* one operation in flight */

/*
 * What a host backing the store provides. Each call starts one operation and
 * returns 0, after which @cb runs exactly once, from the loop, never inside
 * the call (unless @op is cancelled first), or an errno value and @cb never
 * runs. Keys are printable strings the library makes; the host may put a
 * namespace of its own in front.
 */
struct sipdance_store_ops {
	size_t size; /* sizeof(struct sipdance_store_ops): fields are only ever added */
	/** Set @key to @value for @ttl_s seconds unless it exists: OK, or TAKEN
	 *  (Redis: SET key value NX EX ttl). */
	int (*claim)(void *host, const char *key, const char *value, size_t len, unsigned ttl_s,
		     sipdance_store_cb *cb, void *arg, struct sipdance_store_op **op);
	/** The value of @key: OK with it, or ABSENT. */
	int (*get)(void *host, const char *key, sipdance_store_cb *cb, void *arg,
		   struct sipdance_store_op **op);
	/** Set @key to @value for @ttl_s seconds; @ttl_s 0 deletes @key: OK. */
	int (*put)(void *host, const char *key, const char *value, size_t len, unsigned ttl_s,
		   sipdance_store_cb *cb, void *arg, struct sipdance_store_op **op);
	/** The callback of @op will not run (the operation itself may still complete). */
	void (*cancel)(void *host, struct sipdance_store_op *op);
	/** Set field @field of the hash @key to @value and @key's lifetime to
	 *  @ttl_s seconds; @ttl_s 0 removes the field: OK (Redis: HSET and
	 *  EXPIRE, HDEL). NULL when the store has no hashes. */
	int (*hset)(void *host, const char *key, const char *field, const char *value, size_t len,
		    unsigned ttl_s, sipdance_store_cb *cb, void *arg, struct sipdance_store_op **op);
	/** Every field of the hash @key: OK with "field\0value\0" pairs (a pair
	 *  holding a NUL left out), or ABSENT. NULL when the store has no hashes. */
	int (*hgetall)(void *host, const char *key, sipdance_store_cb *cb, void *arg,
		       struct sipdance_store_op **op);
	/** As hset, in one step with a check: only while the hash @key holds
	 *  exactly the @expect_len bytes of "field\0value\0" pairs @expect (as
	 *  hgetall answered; 0: no such hash): OK, or TAKEN and nothing written
	 *  (Redis: a Lua script, EVAL). NULL when the store cannot. */
	int (*hset_if)(void *host, const char *key, const char *field, const char *value, size_t len,
		       unsigned ttl_s, const char *expect, size_t expect_len, sipdance_store_cb *cb,
		       void *arg, struct sipdance_store_op **op);
};

struct sipdance_store;

/** A store backed by the host's @ops (copied; @host is passed back to each;
 *  ops from a release before hset_if, of that size, are taken with it NULL).
 *  EINVAL when @ops is too small or lacks a call (hset, hgetall and hset_if
 *  may be NULL), ENOMEM. */
SIPDANCE_API int sipdance_store_alloc(struct sipdance_store **out, const struct sipdance_store_ops *ops,
				      void *host);
/** A store in this process's memory, holding at most @max_keys keys (0: 65536;
 *  a claim or put beyond that, expired keys removed, is an ERROR), its
 *  callbacks run from @loop. EINVAL, ENOMEM. */
SIPDANCE_API int sipdance_store_mem_alloc(struct sipdance_store **out, struct sipdance_loop *loop,
					  size_t max_keys);
/** How to reach a Redis (or Valkey) server shared by the nodes of a domain. */
struct sipdance_store_redis_conf {
	size_t size;           /**< sizeof(struct sipdance_store_redis_conf): the caller sets it */
	const char *url;       /**< redis://HOST:PORT[/DB], HOST an IPv4 or [IPv6] address */
	const char *password;  /**< sent with AUTH first on each connection, or NULL */
	const char *prefix;    /**< put in front of every key (a namespace such as
				    "sipdance:a.example:"), or NULL */
	unsigned timeout_ms;   /**< a reply later than this is an ERROR and drops the
				    connection (0: 1000) */
	unsigned retry_max_ms; /**< reconnection backoff doubles from 100 ms up to this (0: 5000) */
	int fail_open;         /**< when Redis cannot answer: claims and puts OK, gets
				    ABSENT, each logged as a warning; 0: ERROR (fail closed) */
	/** Optional, for metrics: told of each operation as it ends, its command
	 *  ("claim", "get", "put", "delete", "hset", "hdel", "hgetall"), what it
	 *  came to (an ERROR stays ERROR here even when failing open) and its time
	 *  from the call to the answer; it must not call the store. */
	void (*observe)(void *arg, const char *op, enum sipdance_store_status st, uint64_t elapsed_us);
	void *observe_arg;     /**< passed to observe */
};

/**
 * A store on a Redis server: SET NX EX, GET, SET EX, DEL, the hash commands
 * and one Lua script (hset_if) over one
 * connection made and remade (with backoff) from @loop, never blocking it.
 * While Redis cannot answer, operations end in ERROR with the reason (or
 * pass, with @conf's fail_open). EINVAL with *@why for a bad @conf, ENOMEM.
 */
SIPDANCE_API int sipdance_store_redis_alloc(struct sipdance_store **out, struct sipdance_loop *loop,
					    const struct sipdance_store_redis_conf *conf,
					    const char **why);
/** Free a store (not from one of its callbacks); NULL ok. Operations still
 *  in flight or queued end without their callbacks. */
SIPDANCE_API void sipdance_store_free(struct sipdance_store *s);

/** Claim @key (see struct sipdance_store_ops); *@op, when @op is not NULL, cancels it. */
SIPDANCE_API int sipdance_store_claim(struct sipdance_store *s, const char *key, const char *value,
				      size_t len, unsigned ttl_s, sipdance_store_cb *cb, void *arg,
				      struct sipdance_store_op **op);
/** Read @key. */
SIPDANCE_API int sipdance_store_get(struct sipdance_store *s, const char *key, sipdance_store_cb *cb,
				    void *arg, struct sipdance_store_op **op);
/** Write @key (@ttl_s 0: delete it); @cb may be NULL when nobody waits for it. */
SIPDANCE_API int sipdance_store_put(struct sipdance_store *s, const char *key, const char *value,
				    size_t len, unsigned ttl_s, sipdance_store_cb *cb, void *arg,
				    struct sipdance_store_op **op);
/** Write field @field of the hash @key (@ttl_s 0: remove it); ENOTSUP when
 *  the store has no hashes (the memory store). */
SIPDANCE_API int sipdance_store_hset(struct sipdance_store *s, const char *key, const char *field,
				     const char *value, size_t len, unsigned ttl_s, sipdance_store_cb *cb,
				     void *arg, struct sipdance_store_op **op);
/** Write field @field of the hash @key as sipdance_store_hset() does, only if
 *  the hash is still exactly @expect (what sipdance_store_hgetall() answered,
 *  @expect_len 0 for ABSENT): OK, or TAKEN when another write came between
 *  (nothing written: read again). A read-check-write is atomic this way
 *  across the nodes. ENOTSUP when the store cannot (the memory store). */
SIPDANCE_API int sipdance_store_hset_if(struct sipdance_store *s, const char *key, const char *field,
					const char *value, size_t len, unsigned ttl_s, const char *expect,
					size_t expect_len, sipdance_store_cb *cb, void *arg,
					struct sipdance_store_op **op);
/** Read every field of the hash @key; ENOTSUP when the store has no hashes. */
SIPDANCE_API int sipdance_store_hgetall(struct sipdance_store *s, const char *key, sipdance_store_cb *cb,
					void *arg, struct sipdance_store_op **op);
/** The callback of @op will not run; NULL ok. */
SIPDANCE_API void sipdance_store_cancel(struct sipdance_store *s, struct sipdance_store_op *op);

#ifdef __cplusplus
}
#endif
#endif
