/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * dns_int.h - what the files of the DNS layer share: dns.c (getdns set-up,
 * the resolver, lookups and their flights), dns_loop.c (getdns on the loop
 * contract), dns_cache.c (names, decoded answers, the TTL/LRU cache),
 * dns_diag.c (replies judged, BOGUS and INDETERMINATE explained) and, while
 * the baseline getdns aborts on NAPTR validation, dns_naptr.c.
 */
#ifndef SIPDANCE_DNS_INT_H
#define SIPDANCE_DNS_INT_H

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/stat.h>
#include <time.h>
#include <getdns/getdns.h>
#include <getdns/getdns_extra.h>

#include <sipdance/dns.h>
#include "dnssec_int.h"
#include "internal.h"

#define DEFAULT_TIMEOUT_MS 3000
#define DEFAULT_CACHE_SIZE 4096
#define DEFAULT_MAX_TTL 3600
#define DEFAULT_NEG_TTL 30
#define MAX_HOPS 8          /* CNAMEs followed before giving up */
#define NAMELEN 1024        /* a presentation name with \DDD escapes */
#define WHYLEN 400          /* room for a reason naming two names */
#define NEVER UINT64_MAX

/* getdns may create this directory for zero-config DNSSEC; it never can */
#define NO_APPDATA_DIR "/dev/null/sipdance-getdns"

/* An answer's shared contents; answers handed out point at one. */
struct body {
	unsigned refs;
	enum sipdance_dns_status status;
	enum sipdance_dns_rcode rcode;
	const char *qname, *cname, *why; /* in the same allocation */
	size_t n;
	struct sipdance_dns_rr *rr;      /* likewise, and TLSA data too */
};

struct sipdance_dns_answer {
	unsigned refs;
	int cached;
	struct body *b;
};

/* One cached answer: in a hash chain and in the LRU list. */
struct entry {
	struct entry *hnext;
	TAILQ_ENTRY(entry) lru;  /* head = most recently used */
	uint64_t expires;        /* ms on the cache clock */
	uint16_t type;
	struct body *b;
	char name[];
};

/* What the upstream query of a flight is for. */
enum step {
	STEP_MAIN,  /* validated query of cur/type */
	STEP_CNAME, /* validated query of cur/CNAME: one hop of a chain */
#ifdef SD_NAPTR_WORKAROUND
	STEP_RAW,   /* NAPTR without validation (dns_naptr.c) */
	STEP_KEYS,  /* validated DNSKEY of the NAPTR signer */
#endif
};

/* One upstream lookup of name+type, shared by all waiting queries. */
struct flight {
	TAILQ_ENTRY(flight) link;
	TAILQ_HEAD(, sipdance_dns_query) waiters;
	struct sipdance_dns *dns;
	uint16_t type;
	enum step step;
	int busy;                  /* a getdns request is outstanding */
	int hops;
	enum sipdance_dns_status hop_status; /* worst over the CNAMEs so far */
	uint32_t ttl;              /* least over the replies so far */
	int sending;               /* inside getdns_general() for it */
	int finished;              /* answered while sending: free on return */
	getdns_dict *raw;          /* NAPTR reply awaiting its DNSKEY */
	int naptr_found;           /* it holds NAPTRs (else it is a denial) */
	int naptr_signed;          /* it holds an RRSIG over them, or over the denial */
	uint64_t started_us;       /* monotonic, when it was first sent (for observe) */
	char cur[NAMELEN];         /* name being asked now */
	char signer[NAMELEN];      /* zone whose DNSKEY checks the NAPTR RRSIG */
	char name[];               /* the name asked for: the key */
};

struct sipdance_dns_query {
	TAILQ_ENTRY(sipdance_dns_query) link;
	struct sipdance_dns *dns;
	struct flight *flight;           /* waiting for it, or NULL when ready */
	struct sipdance_dns_answer *ans; /* when ready */
	sipdance_dns_cb *cb;
	void *arg;
};

/* A raw query (sd_dns_ask): asked while busy, then answered and waiting for delivery. */
struct sd_dns_ask {
	TAILQ_ENTRY(sd_dns_ask) link;
	struct sipdance_dns *dns;
	getdns_transaction_t tid;
	int busy;                  /* getdns holds it: in dns->asking, else in dns->answered */
	getdns_dict *resp;
	sd_dns_reply_fn *cb;
	void *arg;
};

/* A getdns event, as scheduled on our loop. */
struct ev {
	TAILQ_ENTRY(ev) link;
	getdns_eventloop_event *gev;
	int fd;                    /* -1 for a timer */
	uint64_t deadline;         /* ms on the monotonic clock, or NEVER */
	unsigned round;            /* dispatch round it was scheduled in */
};

/* A descriptor the host was told to watch. */
struct watch {
	int fd, events, seen;
};

struct sipdance_dns {
	getdns_eventloop loop;     /* first: getdns hands it back to us */
	getdns_context *ctx;
	/* Every query asks with DO and CD (RFC 4035 §4.9.2): we validate, and a
	 * validating resolver must hand over bogus data (SERVFAIL would hide a
	 * BOGUS answer as INDETERMINATE). getdns sets both for ext_val and for
	 * its own DNSKEY/DS queries; ext_raw sets them itself. */
	getdns_dict *ext_val, *ext_raw;
	struct sipdance_anchor *ta; /* held; getdns has its records as of generation ta_gen */
	unsigned ta_gen;
	char resolver[64];
	unsigned timeout_ms;
	size_t cache_size;
	uint32_t max_ttl, neg_ttl;
	void (*observe)(void *arg, uint16_t type, enum sipdance_dns_status status, int cached,
			uint64_t elapsed_us);
	void *observe_arg;
	struct sipdance_loop *host; /* where getdns' descriptors and deadlines are watched */
	struct sipdance_loop *own;  /* a private poll loop when the configuration named none */
	void *timer;                /* our one timer on it */
	uint64_t (*clock)(void *arg);
	void *clock_arg;
	TAILQ_HEAD(, ev) evs;
	TAILQ_HEAD(, flight) flights;
	TAILQ_HEAD(, sipdance_dns_query) ready;
	TAILQ_HEAD(, sd_dns_ask) asking, answered;
	struct watch *watch;
	size_t nwatch, capwatch;
	uint64_t timer_at;         /* deadline the timer was armed for, or NEVER */
	unsigned round;
	struct entry **bucket;
	size_t nbuckets, count;
	TAILQ_HEAD(entry_lru, entry) lru;
};

/* Collects what a flight found until it becomes a body. */
struct draft {
	enum sipdance_dns_status status;
	enum sipdance_dns_rcode rcode;
	char cname[NAMELEN];
	char why[WHYLEN];
	struct sipdance_dns_rr *rr;
	size_t n, cap;
};

/* What one getdns response says, before it is turned into an answer. */
struct reply {
	getdns_dict *tree;     /* replies_tree/0, borrowed */
	getdns_list *answer;   /* its answer section */
	uint32_t rcode;
	enum sipdance_dns_status status;
};

/* A list of RRs in uncompressed wire form. */
struct wires {
	struct sd_wire *w;
	size_t n, cap;
};

/* Where a NAPTR lookup starts: unvalidated, then checked by dns_naptr.c, while getdns
 * aborts when it validates NAPTR (getdns < 1.7.0, stubby#295; configure decides). */
#ifdef SD_NAPTR_WORKAROUND
#define FIRST_STEP(type) ((type) == SIPDANCE_DNS_NAPTR ? STEP_RAW : STEP_MAIN)
#define UNVALIDATED(f) ((f)->step == STEP_RAW)
#else
#define FIRST_STEP(type) STEP_MAIN
#define UNVALIDATED(f) 0
#endif

extern getdns_eventloop_vmt dns_loop_vmt;

/* dns_cache.c */
uint64_t dns_mono_ms(void);
uint64_t dns_default_clock(void *arg);
int dns_norm_name(const char *in, char *out, size_t size);
int dns_rr_name(const getdns_dict *rr, const char *key, char *out, size_t size);
uint32_t dns_rr_type(const getdns_dict *rr);
int dns_draft_add(struct draft *d, const struct sipdance_dns_rr *rr);
struct body *dns_body_new(const char *qname, const struct draft *d);
void dns_body_unref(struct body *b);
struct sipdance_dns_answer *dns_answer_new(struct body *b, int cached);
struct body *dns_cache_get(struct sipdance_dns *dns, const char *name, uint16_t type);
void dns_cache_put(struct sipdance_dns *dns, const char *name, uint16_t type, struct body *b,
		   uint32_t ttl);

/* dns_loop.c */
void dns_tell_host(struct sipdance_dns *dns);
/* the callback of the resolver's one timer */
void dns_on_timer(void *arg);
void dns_detach_host(struct sipdance_dns *dns);

/* dns_diag.c */
enum sipdance_dns_status dns_status_of(uint32_t s);
enum sipdance_dns_status dns_worse(enum sipdance_dns_status a, enum sipdance_dns_status b);
int dns_parse_reply(struct sipdance_dns *dns, getdns_callback_type_t type, getdns_dict *resp,
		    int validated, struct reply *r, char *why, size_t size);
void dns_chain_end(getdns_list *answer, char *name, int *hops);
uint32_t dns_min_ttl(getdns_list *answer, uint32_t ttl);
uint32_t dns_neg_ttl(getdns_dict *tree, uint32_t ttl);
void dns_date(uint32_t t, char *buf, size_t size);
int dns_rrsig_times(getdns_list *rrs, char *why, size_t size);
void dns_diagnose(getdns_dict *resp, const struct reply *r, char *why, size_t size);
int dns_wires_add(struct wires *ws, const getdns_dict *rr);
void dns_wires_free(struct wires *ws);

/* dns.c: the flights */
void dns_sync_anchor(struct sipdance_dns *dns);
void dns_deliver(struct sipdance_dns *dns);
void dns_finish(struct flight *f, struct draft *d, uint32_t ttl);
void dns_fail_flight(struct flight *f, enum sipdance_dns_status status, const char *why);
void dns_send_step(struct flight *f);
int dns_collect(getdns_list *answer, const char *owner, uint16_t type, struct draft *d);
void dns_next_hop(struct flight *f, const char *target, int hops);

#ifdef SD_NAPTR_WORKAROUND
/* dns_naptr.c: the unvalidated NAPTR reply (1 when kept), then its signer's keys */
int dns_raw_reply(struct flight *f, getdns_dict *resp, struct reply *r);
void dns_keys_reply(struct flight *f, getdns_dict *resp, struct reply *r);
#endif

#endif
