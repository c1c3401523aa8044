/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * sipdance/dns.h - DNSSEC-validated lookups with a status per RRset.
 *
 * getdns in stub mode asks one configured resolver and validates every
 * answer itself, up to a configured trust anchor. Answers are cached for
 * their TTL (positive and negative), and lookups of the same name and type
 * in flight are shared. The asynchronous API runs on the loop given in the
 * configuration (sipdance/loop.h); sipdance_dns_lookup_sync() runs a poll
 * loop, the resolver's own when the configuration names none.
 */
#ifndef SIPDANCE_DNS_H
#define SIPDANCE_DNS_H

#include <stdint.h>
#include <sipdance/common.h>
#include <sipdance/loop.h>
#include <sipdance/tlsa.h>
#include <sipdance/anchor.h>

#ifdef __cplusplus
extern "C" {
#endif

enum sipdance_dns_type {
	SIPDANCE_DNS_A = 1,
	SIPDANCE_DNS_CNAME = 5,
	SIPDANCE_DNS_AAAA = 28,
	SIPDANCE_DNS_SRV = 33,
	SIPDANCE_DNS_NAPTR = 35,
	SIPDANCE_DNS_TLSA = 52,
};

/*
 * DNSSEC status of an answer (RFC 4035 §4.3). INDETERMINATE covers every
 * answer that could not be had (timeout, SERVFAIL, refused, network error):
 * it is never "insecure". It is zero: a status nobody set fails closed.
 */
enum sipdance_dns_status {
	SIPDANCE_DNS_INDETERMINATE,
	SIPDANCE_DNS_BOGUS,
	SIPDANCE_DNS_INSECURE,
	SIPDANCE_DNS_SECURE,
};

/* What the answer says exists; zero, NONE, claims nothing. */
enum sipdance_dns_rcode {
	SIPDANCE_DNS_NONE,     /* no answer at all (status INDETERMINATE or BOGUS) */
	SIPDANCE_DNS_FOUND,    /* records of the asked type */
	SIPDANCE_DNS_NODATA,   /* the name exists, the type does not */
	SIPDANCE_DNS_NXDOMAIN, /* the name does not exist */
};

/*
 * One decoded record of the asked type. Names are lowercase, without the
 * trailing dot ("." for the root), with \DDD for a '.', '\\' or unprintable
 * octet inside a label. ttl is as received; a cached answer keeps it.
 */
struct sipdance_dns_rr {
	uint16_t type;
	uint32_t ttl;
	union {
		struct { uint16_t order, pref; char flags[16], services[64], regexp[256], replacement[256]; } naptr;
		struct { uint16_t prio, weight, port; char target[256]; } srv;
		struct { int family; uint8_t addr[16]; } addr; /* A: AF_INET, AAAA: AF_INET6 */
		struct { uint8_t usage, selector, mtype; uint16_t len; const uint8_t *data; } tlsa;
		struct { char target[256]; } cname;
	} u;
};

struct sipdance_dns;        /* resolver: getdns context, cache, in-flight table */
struct sipdance_dns_answer; /* immutable, reference-counted */
struct sipdance_dns_query;  /* one pending lookup */

struct sipdance_dns_conf {
	size_t size;              /* sizeof(struct sipdance_dns_conf): the caller sets it */
	const char *resolver;     /* "ADDR[@PORT]", IPv4 or IPv6; required */
	struct sipdance_anchor *anchor; /* the trust anchor (a reference is held), or */
	const char *trust_anchor; /* a file of DS or DNSKEY lines loaded for this resolver alone */
	unsigned timeout_ms;      /* per lookup; 0 = 3000 */
	size_t cache_size;        /* answers kept; 0 = 4096, bounded LRU */
	uint32_t max_ttl;         /* cap on cached TTLs, seconds; 0 = 3600 */
	uint32_t neg_ttl;         /* cap for failures (BOGUS, INDETERMINATE); 0 = 30 */
	struct sipdance_loop *loop; /* where lookups run; NULL = a private poll loop (blocking only) */
	/* optional, for metrics: told of each lookup's type and status, whether the cache
	 * answered it (then at once) or the resolver (then as the answer arrives, with the
	 * time from the first query to the answer); it must not call the resolver */
	void (*observe)(void *arg, uint16_t type, enum sipdance_dns_status status, int cached,
			uint64_t elapsed_us);
	void *observe_arg;
};

/**
 * A resolver. Fails (EINVAL with *why set) when the resolver address is
 * malformed or the trust anchor is missing, unreadable or holds no DS or
 * DNSKEY: there is never a fallback to the system resolver or to no
 * validation. ENOMEM otherwise.
 */
SIPDANCE_API int sipdance_dns_alloc(struct sipdance_dns **out,
				    const struct sipdance_dns_conf *conf,
				    const char **why);

/** Free a resolver, cancelling pending lookups without calling back; NULL ok.
 * Not from inside one of its callbacks. */
SIPDANCE_API void sipdance_dns_free(struct sipdance_dns *dns);

/** Drop every cached answer (e.g. on SIGHUP). */
SIPDANCE_API void sipdance_dns_flush(struct sipdance_dns *dns);

/** Called once per lookup with a borrowed answer (take a reference to keep it). */
typedef void (sipdance_dns_cb)(void *arg, const struct sipdance_dns_answer *a);

/**
 * Look up @name (absolute or not; trailing dot optional) of @type. The
 * callback always runs later, from the loop, even for a cached answer. *q (may
 * be NULL) can cancel it. 0, EINVAL or ENOMEM.
 */
SIPDANCE_API int sipdance_dns_lookup(struct sipdance_dns *dns, const char *name,
				     uint16_t type, sipdance_dns_cb *cb, void *arg,
				     struct sipdance_dns_query **q);
/** Cancel a pending lookup; its callback will not run. */
SIPDANCE_API void sipdance_dns_cancel(struct sipdance_dns_query *q);

/** Blocking lookup for tools: runs the resolver's loop, which must be a poll loop
 *  (EINVAL on a loop the host drives), until the answer; the caller unrefs *out.
 *  0, EINVAL, ENOMEM or EIO. Not from inside a callback of that loop. */
SIPDANCE_API int sipdance_dns_lookup_sync(struct sipdance_dns *dns, const char *name,
					  uint16_t type,
					  struct sipdance_dns_answer **out);

SIPDANCE_API struct sipdance_dns_answer *sipdance_dns_answer_ref(const struct sipdance_dns_answer *a);
SIPDANCE_API void sipdance_dns_answer_unref(struct sipdance_dns_answer *a);

SIPDANCE_API enum sipdance_dns_status sipdance_dns_answer_status(const struct sipdance_dns_answer *a);
SIPDANCE_API enum sipdance_dns_rcode sipdance_dns_answer_rcode(const struct sipdance_dns_answer *a);
/** The name asked for, lowercase, without trailing dot. */
SIPDANCE_API const char *sipdance_dns_answer_qname(const struct sipdance_dns_answer *a);
/** The name the records are at after CNAME following (RFC 7671 §7); equals qname without alias. */
SIPDANCE_API const char *sipdance_dns_answer_cname(const struct sipdance_dns_answer *a);
/** Why an answer is BOGUS or INDETERMINATE, e.g. "RRSIG expired 2020-02-01"; "" otherwise. */
SIPDANCE_API const char *sipdance_dns_answer_why(const struct sipdance_dns_answer *a);
/** Whether the answer came from the cache. */
SIPDANCE_API int sipdance_dns_answer_cached(const struct sipdance_dns_answer *a);
SIPDANCE_API size_t sipdance_dns_answer_count(const struct sipdance_dns_answer *a);
/** Record @i, borrowed from the answer; NULL past the end. */
SIPDANCE_API const struct sipdance_dns_rr *sipdance_dns_answer_rr(const struct sipdance_dns_answer *a, size_t i);
/** TLSA records of a TLSA answer as an RRset the caller frees. 0, EINVAL, ENOMEM. */
SIPDANCE_API int sipdance_dns_answer_tlsa(const struct sipdance_dns_answer *a,
					  struct sipdance_tlsa_set **out);

SIPDANCE_API const char *sipdance_dns_status_str(enum sipdance_dns_status s);
SIPDANCE_API const char *sipdance_dns_rcode_str(enum sipdance_dns_rcode r);

#ifdef __cplusplus
}
#endif
#endif
