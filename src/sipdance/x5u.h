/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * sipdance/x5u.h - certificate chains fetched from PASSporT x5u URLs (HTTPS by
 * libcurl on the loop contract, no thread of its own), with an address policy
 * against requests to private networks, and a cache that honours
 * Cache-Control under a lifetime ceiling and remembers failures.
 */
#ifndef SIPDANCE_X5U_H
#define SIPDANCE_X5U_H

#include <stddef.h>
#include <openssl/x509.h>
#include <sipdance/common.h>
#include <sipdance/loop.h>

#ifdef __cplusplus
extern "C" {
#endif

struct sipdance_x5u;        /* certificate fetcher and cache */

struct sipdance_x5u_conf {
	size_t size;              /* sizeof(struct sipdance_x5u_conf): the caller sets it */
	unsigned timeout_ms;   /* whole fetch from when it is asked for (name lookup,
				  connect, TLS, response); 0 = 2000 */
	size_t max_size;       /* response body limit, bytes; 0 = 65536 */
	unsigned max_ttl;      /* ceiling on cache lifetimes, seconds; 0 = 86400 */
	unsigned default_ttl;  /* lifetime without Cache-Control max-age; 0 = 3600 */
	unsigned neg_ttl;      /* lifetime of cached failures; 0 = 30 */
	size_t cache_size;     /* URLs kept; 0 = 1024 (least recently used dropped) */
	unsigned max_fetches;  /* fetches at once, more wait (within their timeout); 0 = 16 */
	const char *tls_ca_file; /* roots for the HTTPS server certificate; NULL = system */
	int allow_http;        /* accept http: URLs (never file: or others) */
	int allow_private;     /* accept loopback, private, link-local addresses */
	int allow_any_port;    /* accept any port, not only 443 and 8443 */
	int cache_only;        /* never fetch: chains come from sipdance_x5u_put() */
	struct sipdance_loop *loop; /* where fetches run; NULL = a private poll loop (blocking only) */
};

/**
 * A fetcher (HTTPS by libcurl, no thread of its own) on the loop of @conf:
 * every call from the thread that runs it. 0, EINVAL (tls_ca_file unusable), ENOMEM.
 */
SIPDANCE_API int sipdance_x5u_alloc(struct sipdance_x5u **out,
				    const struct sipdance_x5u_conf *conf);
/** Stop every fetch and free; pending callbacks (and verifications) are dropped silently. NULL is accepted. */
SIPDANCE_API void sipdance_x5u_free(struct sipdance_x5u *x);

/**
 * Result of a fetch: 0 and a chain the callee may keep (sk_X509_pop_free it),
 * or an error with a reason: EACCES (URL refused by policy), EINVAL (malformed
 * URL), ETIMEDOUT, EMSGSIZE (response too large), EHOSTUNREACH (cannot
 * connect, TLS or HTTP failure), EBADMSG (body is not a PEM certificate chain).
 */
typedef void (sipdance_x5u_cb)(void *arg, int err, STACK_OF(X509) *chain, const char *why);

struct sipdance_x5u_query;
/** Fetch @url (cache first); the callback always runs later, from the fetcher's loop. */
SIPDANCE_API int sipdance_x5u_fetch(struct sipdance_x5u *x, const char *url,
				    sipdance_x5u_cb *cb, void *arg,
				    struct sipdance_x5u_query **q);
/** Cancel a pending fetch (only before its callback ran); the callback will not run. */
SIPDANCE_API void sipdance_x5u_cancel(struct sipdance_x5u_query *q);

/**
 * Blocking fetch (cache first): runs the fetcher's loop, which must be a
 * poll loop (EINVAL otherwise), until the chain is in; whatever else runs on
 * that loop advances meanwhile. On success *chain is the caller's. Returns
 * the error codes of sipdance_x5u_cb with *why (a static or cached string,
 * valid until the next call) set. Not from inside a callback of that loop.
 */
SIPDANCE_API int sipdance_x5u_fetch_sync(struct sipdance_x5u *x, const char *url,
					 STACK_OF(X509) **chain, const char **why);

/**
 * Put @chain (new references are taken) in the cache for @url for @ttl
 * seconds (0 = max_ttl), e.g. certificates provisioned out of band. 0,
 * EINVAL or ENOMEM.
 */
SIPDANCE_API int sipdance_x5u_put(struct sipdance_x5u *x, const char *url,
				  STACK_OF(X509) *chain, unsigned ttl);

/** Counters for tests and monitoring. */
struct sipdance_x5u_stats {
	unsigned long hits, neg_hits, misses, fetches, failures;
};
SIPDANCE_API void sipdance_x5u_stats(struct sipdance_x5u *x, struct sipdance_x5u_stats *st);
/** Drop every cached chain and failure. */
SIPDANCE_API void sipdance_x5u_flush(struct sipdance_x5u *x);

#ifdef __cplusplus
}
#endif
#endif
