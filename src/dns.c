/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * dns.c - DNSSEC-validated lookups through getdns in stub mode: one configured
 * resolver, a private trust anchor, a status per answer, a TTL cache with an
 * LRU bound, shared in-flight lookups, on the host's loop (sipdance/loop.h)
 * or a private poll loop for blocking lookups.
 * CNAMEs are followed hop by hop; NAPTR never reaches getdns' validator
 * (getdns 1.6.0 aborts on it) and is checked with sd_dnssec_validate_wire instead.
 */
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

/* sd_getdns_anchors - DS or DNSKEY records of a zone-file fragment */
int sd_getdns_anchors(const char *file, struct getdns_list **out, const char **why)
{
	getdns_list *list = NULL;
	getdns_dict *rr;
	uint32_t type;
	struct stat st;
	size_t n = 0;
	FILE *fp;
	int err = 0;

	if (!file || !*file || !out)
		return sd_fail(why, "no trust anchor file configured", EINVAL);
	if (!(fp = fopen(file, "r")))
		return sd_fail(why, errno == ENOENT ? "trust anchor file not found"
			    : "trust anchor file unreadable", EINVAL);
	/* getdns_fp2rr_list() never returns on a descriptor that fails to read */
	if (fstat(fileno(fp), &st) || !S_ISREG(st.st_mode))
		err = sd_fail(why, "trust anchor file is not a regular file", EINVAL);
	else if (getdns_fp2rr_list(fp, &list, NULL, 3600) != GETDNS_RETURN_GOOD)
		err = sd_fail(why, "trust anchor file is not in zone-file syntax", EINVAL);
	fclose(fp);
	if (!err && getdns_list_get_length(list, &n) != GETDNS_RETURN_GOOD)
		err = sd_fail(why, "trust anchor file is not in zone-file syntax", EINVAL);
	if (!err && n == 0)
		err = sd_fail(why, "trust anchor file holds no DS or DNSKEY record", EINVAL);
	for (size_t i = 0; !err && i < n; i++) {
		if (getdns_list_get_dict(list, i, &rr) != GETDNS_RETURN_GOOD ||
		    getdns_dict_get_int(rr, "type", &type) != GETDNS_RETURN_GOOD ||
		    (type != GETDNS_RRTYPE_DS && type != GETDNS_RRTYPE_DNSKEY))
			err = sd_fail(why, "trust anchor file holds a record that is not DS or DNSKEY",
				   EINVAL);
	}
	if (err) {
		getdns_list_destroy(list);
		return err;
	}
	*out = list;
	return 0;
}

/* upstream - the getdns upstream list for "ADDR[@PORT]" */
static int upstream(const char *resolver, getdns_list **out, const char **why)
{
	char addr[INET6_ADDRSTRLEN + 1];
	const char *at, *end;
	uint8_t bin[16];
	unsigned long port = 53;
	getdns_bindata data = { 0, bin };
	getdns_dict *up = NULL;
	getdns_list *list = NULL;
	int v6 = 0, err = ENOMEM;
	char *p;

	if (!resolver || !*resolver)
		return sd_fail(why, "no resolver configured", EINVAL);
	at = strrchr(resolver, '@');
	end = at ? at : resolver + strlen(resolver);
	if ((size_t)(end - resolver) >= sizeof(addr))
		return sd_fail(why, "resolver address is not an IPv4 or IPv6 address", EINVAL);
	memcpy(addr, resolver, (size_t)(end - resolver));
	addr[end - resolver] = '\0';
	if (inet_pton(AF_INET, addr, bin) == 1)
		data.size = 4;
	else if (inet_pton(AF_INET6, addr, bin) == 1)
		data.size = 16, v6 = 1;
	else
		return sd_fail(why, "resolver address is not an IPv4 or IPv6 address", EINVAL);
	if (at) {
		errno = 0;
		port = strtoul(at + 1, &p, 10);
		if (at[1] < '0' || at[1] > '9' || *p || errno || port == 0 || port > 65535)
			return sd_fail(why, "resolver port is not a number 1-65535", EINVAL);
	}
	if (!(up = getdns_dict_create()) || !(list = getdns_list_create()))
		goto out;
	if (getdns_dict_util_set_string(up, "address_type", v6 ? "IPv6" : "IPv4") ||
	    getdns_dict_set_bindata(up, "address_data", &data) ||
	    getdns_dict_set_int(up, "port", (uint32_t)port) ||
	    getdns_list_set_dict(list, 0, up))
		goto out;
	getdns_dict_destroy(up);
	*out = list;
	return 0;
out:
	getdns_dict_destroy(up);
	getdns_list_destroy(list);
	return sd_fail(why, "out of memory", err);
}

/* sd_getdns_context_new - stub-mode validating context for one resolver */
int sd_getdns_context_new(struct getdns_context **out, const char *resolver,
			  const char *trust_anchor, unsigned timeout_ms,
			  const char **why)
{
	getdns_context *ctx = NULL;
	getdns_list *ups = NULL, *ta = NULL;
	int err;

	if (!out)
		return sd_fail(why, "no output", EINVAL);
	if ((err = upstream(resolver, &ups, why)) ||
	    (err = sd_getdns_anchors(trust_anchor, &ta, why)))
		goto out;
	err = sd_fail(why, "cannot set up getdns context", ENOMEM);
	if (getdns_context_create(&ctx, 0) != GETDNS_RETURN_GOOD)
		goto out;
	if (getdns_context_set_resolution_type(ctx, GETDNS_RESOLUTION_STUB) ||
	    getdns_context_set_upstream_recursive_servers(ctx, ups) ||
	    getdns_context_set_dnssec_trust_anchors(ctx, ta) ||
	    getdns_context_set_appdata_dir(ctx, NO_APPDATA_DIR) ||
	    getdns_context_set_trust_anchors_verify_CA(ctx, "") ||
	    getdns_context_set_trust_anchors_verify_email(ctx, "") ||
	    getdns_context_set_timeout(ctx, timeout_ms ? timeout_ms : DEFAULT_TIMEOUT_MS))
		goto out;
	err = 0;
	*out = ctx;
	ctx = NULL;
out:
	if (ctx)
		getdns_context_destroy(ctx);
	getdns_list_destroy(ups);
	getdns_list_destroy(ta);
	return err;
}

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
	STEP_RAW,   /* NAPTR without validation (see raw_reply) */
	STEP_KEYS,  /* validated DNSKEY of the NAPTR signer */
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
	getdns_list *ta;           /* trust anchors, for offline validation */
	char resolver[64];
	unsigned timeout_ms;
	size_t cache_size;
	uint32_t max_ttl, neg_ttl;
	struct sipdance_loop *host; /* where getdns' descriptors and deadlines are watched */
	struct sipdance_loop *own;  /* a private poll loop when the configuration named none */
	void *timer;                /* our one timer on it */
	uint64_t (*clock)(void *arg);
	void *clock_arg;
	TAILQ_HEAD(, ev) evs;
	TAILQ_HEAD(, flight) flights;
	TAILQ_HEAD(, sipdance_dns_query) ready;
	struct watch *watch;
	size_t nwatch, capwatch;
	uint64_t timer_at;         /* deadline the timer was armed for, or NEVER */
	unsigned round;
	struct entry **bucket;
	size_t nbuckets, count;
	TAILQ_HEAD(entry_lru, entry) lru;
};

static getdns_eventloop_vmt loop_vmt;

/* mono_ms - the monotonic clock in milliseconds */
static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* default_clock - the cache clock unless a test replaces it */
static uint64_t default_clock(void *arg)
{
	(void)arg;
	return mono_ms();
}

/* Names */

/* norm_name - lowercase presentation name without trailing dot; EINVAL if malformed */
static int norm_name(const char *in, char *out, size_t size)
{
	size_t len = in ? strlen(in) : 0, label = 0;

	if (len && in[len - 1] == '.')
		len--;
	if (len == 0 || len > 253 || len >= size)
		return EINVAL;
	for (size_t i = 0; i < len; i++) {
		char c = in[i];

		if (c == '.') {
			if (label == 0)
				return EINVAL;
			label = 0;
		} else if (++label > 63) {
			return EINVAL;
		}
		out[i] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
	}
	if (label == 0)
		return EINVAL;
	out[len] = '\0';
	return 0;
}

/* wire_name - wire-format name as lowercase text, escaping '.', '\\' and unprintables */
static int wire_name(const getdns_bindata *b, char *out, size_t size)
{
	size_t i = 0, o = 0;

	if (!b || !b->size)
		return EBADMSG;
	while (i < b->size && b->data[i]) {
		size_t l = b->data[i++];

		if (l > 63 || i + l > b->size)
			return EBADMSG;
		if (o && o < size)
			out[o++] = '.';
		for (; l; l--, i++) {
			uint8_t c = b->data[i];

			if (c >= 'A' && c <= 'Z')
				c = (uint8_t)(c - 'A' + 'a');
			if (o + 5 >= size)
				return EBADMSG;
			if (c == '.' || c == '\\' || c <= ' ' || c >= 127)
				o += (size_t)snprintf(out + o, size - o, "\\%03u", c);
			else
				out[o++] = (char)c;
		}
	}
	if (i >= b->size || o >= size)
		return EBADMSG;
	if (o == 0)
		out[o++] = '.';
	out[o] = '\0';
	return 0;
}

/* rr_name - owner name of an rr_dict as text */
static int rr_name(const getdns_dict *rr, const char *key, char *out, size_t size)
{
	getdns_bindata *b;

	if (getdns_dict_get_bindata(rr, key, &b))
		return EBADMSG;
	return wire_name(b, out, size);
}

/* rr_type - type of an rr_dict, 0 if absent */
static uint32_t rr_type(const getdns_dict *rr)
{
	uint32_t t = 0;

	getdns_dict_get_int(rr, "type", &t);
	return t;
}

/* Decoding */

/* copy_string - character-string rdata field into a C string; EBADMSG if it does not fit */
static int copy_string(const getdns_dict *rd, const char *key, char *out, size_t size)
{
	getdns_bindata *b;

	if (getdns_dict_get_bindata(rd, key, &b) || b->size >= size ||
	    (b->size && memchr(b->data, '\0', b->size)))
		return EBADMSG;
	if (b->size)
		memcpy(out, b->data, b->size);
	out[b->size] = '\0';
	return 0;
}

/* get_u16 - integer rdata field that must fit 16 bits */
static int get_u16(const getdns_dict *rd, const char *key, uint16_t *out)
{
	uint32_t v;

	if (getdns_dict_get_int(rd, key, &v) || v > 0xffff)
		return EBADMSG;
	*out = (uint16_t)v;
	return 0;
}

/* sd_dns_rr_decode - one rr_dict of a supported type; TLSA data stays borrowed from it */
int sd_dns_rr_decode(const struct getdns_dict *rr, struct sipdance_dns_rr *out)
{
	getdns_dict *rd;
	getdns_bindata *b;
	uint32_t ttl = 0, u;
	int err = 0;

	memset(out, 0, sizeof(*out));
	out->type = (uint16_t)rr_type(rr);
	if (getdns_dict_get_int(rr, "ttl", &ttl) || getdns_dict_get_dict(rr, "rdata", &rd))
		return EBADMSG;
	out->ttl = ttl;
	switch (out->type) {
	case SIPDANCE_DNS_NAPTR:
		if (get_u16(rd, "order", &out->u.naptr.order) ||
		    get_u16(rd, "preference", &out->u.naptr.pref) ||
		    copy_string(rd, "flags", out->u.naptr.flags, sizeof(out->u.naptr.flags)) ||
		    copy_string(rd, "service", out->u.naptr.services, sizeof(out->u.naptr.services)) ||
		    copy_string(rd, "regexp", out->u.naptr.regexp, sizeof(out->u.naptr.regexp)) ||
		    rr_name(rd, "replacement", out->u.naptr.replacement, sizeof(out->u.naptr.replacement)))
			err = EBADMSG;
		break;
	case SIPDANCE_DNS_SRV:
		if (get_u16(rd, "priority", &out->u.srv.prio) ||
		    get_u16(rd, "weight", &out->u.srv.weight) ||
		    get_u16(rd, "port", &out->u.srv.port) ||
		    rr_name(rd, "target", out->u.srv.target, sizeof(out->u.srv.target)))
			err = EBADMSG;
		break;
	case SIPDANCE_DNS_A:
	case SIPDANCE_DNS_AAAA:
		out->u.addr.family = out->type == SIPDANCE_DNS_A ? AF_INET : AF_INET6;
		if (getdns_dict_get_bindata(rd, out->type == SIPDANCE_DNS_A ? "ipv4_address"
					    : "ipv6_address", &b) ||
		    b->size != (out->type == SIPDANCE_DNS_A ? 4u : 16u))
			return EBADMSG;
		memcpy(out->u.addr.addr, b->data, b->size);
		break;
	case SIPDANCE_DNS_TLSA:
		if (getdns_dict_get_int(rd, "certificate_usage", &u) || u > 255)
			return EBADMSG;
		out->u.tlsa.usage = (uint8_t)u;
		if (getdns_dict_get_int(rd, "selector", &u) || u > 255)
			return EBADMSG;
		out->u.tlsa.selector = (uint8_t)u;
		if (getdns_dict_get_int(rd, "matching_type", &u) || u > 255)
			return EBADMSG;
		out->u.tlsa.mtype = (uint8_t)u;
		if (getdns_dict_get_bindata(rd, "certificate_association_data", &b) ||
		    b->size > SIPDANCE_TLSA_MAX_DATA)
			return EBADMSG;
		out->u.tlsa.len = (uint16_t)b->size;
		out->u.tlsa.data = b->data;
		break;
	case SIPDANCE_DNS_CNAME:
		if (rr_name(rd, "cname", out->u.cname.target, sizeof(out->u.cname.target)))
			err = EBADMSG;
		break;
	default:
		return EINVAL;
	}
	return err;
}

/* Answers */

/* Collects what a flight found until it becomes a body. */
struct draft {
	enum sipdance_dns_status status;
	enum sipdance_dns_rcode rcode;
	char cname[NAMELEN];
	char why[WHYLEN];
	struct sipdance_dns_rr *rr;
	size_t n, cap;
};

/* draft_add - append a decoded record (TLSA data still borrowed) */
static int draft_add(struct draft *d, const struct sipdance_dns_rr *rr)
{
	if (d->n == d->cap) {
		size_t cap = d->cap ? 2 * d->cap : 8;
		struct sipdance_dns_rr *p = realloc(d->rr, cap * sizeof(*p));

		if (!p)
			return ENOMEM;
		d->rr = p;
		d->cap = cap;
	}
	d->rr[d->n++] = *rr;
	return 0;
}

/* body_new - one allocation holding the names, why, records and TLSA data */
static struct body *body_new(const char *qname, const struct draft *d)
{
	size_t ql = strlen(qname) + 1, cl = strlen(d->cname) + 1, wl = strlen(d->why) + 1;
	size_t data = 0, size;
	struct body *b;
	char *p;

	for (size_t i = 0; i < d->n; i++)
		if (d->rr[i].type == SIPDANCE_DNS_TLSA)
			data += d->rr[i].u.tlsa.len;
	size = sizeof(*b) + d->n * sizeof(*b->rr) + data + ql + cl + wl;
	if (!(b = calloc(1, size)))
		return NULL;
	b->refs = 1;
	b->status = d->status;
	b->rcode = d->rcode;
	b->n = d->n;
	b->rr = (struct sipdance_dns_rr *)(b + 1);
	p = (char *)(b->rr + d->n);
	for (size_t i = 0; i < d->n; i++) {
		b->rr[i] = d->rr[i];
		if (d->rr[i].type == SIPDANCE_DNS_TLSA && d->rr[i].u.tlsa.len) {
			memcpy(p, d->rr[i].u.tlsa.data, d->rr[i].u.tlsa.len);
			b->rr[i].u.tlsa.data = (const uint8_t *)p;
			p += d->rr[i].u.tlsa.len;
		}
	}
	b->qname = memcpy(p, qname, ql);
	b->cname = memcpy(p + ql, d->cname, cl);
	b->why = memcpy(p + ql + cl, d->why, wl);
	return b;
}

/* body_unref - drop a reference to a body */
static void body_unref(struct body *b)
{
	if (b && --b->refs == 0)
		free(b);
}

/* answer_new - an answer handed to callers, on a body */
static struct sipdance_dns_answer *answer_new(struct body *b, int cached)
{
	struct sipdance_dns_answer *a = malloc(sizeof(*a));

	if (!a)
		return NULL;
	a->refs = 1;
	a->cached = cached;
	a->b = b;
	b->refs++;
	return a;
}

/* Cache */

/* hash - FNV-1a of a key */
static size_t hash(const char *name, uint16_t type)
{
	uint64_t h = 14695981039346656037ULL ^ type;

	for (; *name; name++)
		h = (h ^ (uint8_t)*name) * 1099511628211ULL;
	return (size_t)h;
}

/* slot - the hash chain link that points at name/type, or at the chain's end */
static struct entry **slot(struct sipdance_dns *dns, const char *name, uint16_t type)
{
	struct entry **pp = &dns->bucket[hash(name, type) & (dns->nbuckets - 1)];

	while (*pp && ((*pp)->type != type || strcmp((*pp)->name, name)))
		pp = &(*pp)->hnext;
	return pp;
}

/* entry_drop - unlink and free the entry *pp points at */
static void entry_drop(struct sipdance_dns *dns, struct entry **pp)
{
	struct entry *e = *pp;

	*pp = e->hnext;
	TAILQ_REMOVE(&dns->lru, e, lru);
	body_unref(e->b);
	free(e);
	dns->count--;
}

/* cache_get - live body for name/type (moved to the LRU head), or NULL; drops an expired one */
static struct body *cache_get(struct sipdance_dns *dns, const char *name, uint16_t type)
{
	struct entry **pp = slot(dns, name, type), *e = *pp;

	if (!e)
		return NULL;
	if (e->expires <= dns->clock(dns->clock_arg)) {
		entry_drop(dns, pp);
		return NULL;
	}
	TAILQ_REMOVE(&dns->lru, e, lru);
	TAILQ_INSERT_HEAD(&dns->lru, e, lru);
	return e->b;
}

/*
 * cache_put - keep @b under name/type for @ttl seconds, capped at max_ttl,
 * or at neg_ttl for a failure (BOGUS, INDETERMINATE); evicts the least
 * recently used entry past cache_size
 */
static void cache_put(struct sipdance_dns *dns, const char *name, uint16_t type,
		      struct body *b, uint32_t ttl)
{
	struct entry **pp = slot(dns, name, type), *e;
	size_t len = strlen(name) + 1;

	if (ttl > dns->max_ttl)
		ttl = dns->max_ttl;
	if ((b->status == SIPDANCE_DNS_BOGUS || b->status == SIPDANCE_DNS_INDETERMINATE) &&
	    ttl > dns->neg_ttl)
		ttl = dns->neg_ttl;
	if (ttl == 0)
		return;
	if (*pp)
		entry_drop(dns, pp);
	if (!(e = malloc(sizeof(*e) + len)))
		return;
	memcpy(e->name, name, len);
	e->type = type;
	e->expires = dns->clock(dns->clock_arg) + (uint64_t)ttl * 1000;
	e->b = b;
	b->refs++;
	e->hnext = NULL;
	*slot(dns, name, type) = e;
	TAILQ_INSERT_HEAD(&dns->lru, e, lru);
	if (++dns->count > dns->cache_size) {
		struct entry *old = TAILQ_LAST(&dns->lru, entry_lru);

		entry_drop(dns, slot(dns, old->name, old->type));
	}
}

/* sipdance_dns_flush - forget every cached answer */
void sipdance_dns_flush(struct sipdance_dns *dns)
{
	if (!dns)
		return;
	while (!TAILQ_EMPTY(&dns->lru)) {
		struct entry *e = TAILQ_FIRST(&dns->lru);

		entry_drop(dns, slot(dns, e->name, e->type));
	}
}

/* Event loop: getdns schedules on it, the loop contract (sipdance/loop.h) drives it */

static void on_io(void *arg, int fd, int events);

/* loop_schedule - getdns wants @gev on @fd (or a timer for fd -1) */
static getdns_return_t loop_schedule(getdns_eventloop *loop, int fd, uint64_t timeout,
				     getdns_eventloop_event *gev)
{
	struct sipdance_dns *dns = (struct sipdance_dns *)loop;
	uint64_t now = mono_ms();
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
	uint64_t now = mono_ms();
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

static void deliver(struct sipdance_dns *dns);

/* next_deadline - when the loop must run next (ms, monotonic), or NEVER */
static uint64_t next_deadline(const struct sipdance_dns *dns)
{
	uint64_t t = NEVER;
	struct ev *e;

	if (!TAILQ_EMPTY(&dns->ready))
		return mono_ms();
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

/* tell_host - pass changed descriptor interests and the next deadline to the loop */
static void tell_host(struct sipdance_dns *dns)
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
		uint64_t now = mono_ms();

		dns->timer_at = t;
		sd_timer_set(dns->host, dns->timer, t == NEVER ? -1 : t <= now ? 0 : (long)(t - now));
	}
}

/* on_io - the loop found @fd ready */
static void on_io(void *arg, int fd, int events)
{
	struct sipdance_dns *dns = arg;

	fire_fd(dns, fd, events);
	deliver(dns);
	tell_host(dns);
}

/* on_timer - the loop's timer ran out */
static void on_timer(void *arg)
{
	struct sipdance_dns *dns = arg;

	dns->timer_at = NEVER;
	fire_timeouts(dns);
	deliver(dns);
	tell_host(dns);
}

/* loop_run_once - getdns asks for one round, at most until its next deadline:
 * only a private loop can give it */
static void loop_run_once(getdns_eventloop *loop, int blocking)
{
	struct sipdance_dns *dns = (struct sipdance_dns *)loop;
	uint64_t t = next_deadline(dns), now = mono_ms();

	sipdance_loop_run(dns->own, NULL, !blocking || t <= now ? 0 : t == NEVER ? 1000 : (long)(t - now));
}

/* loop_run - getdns asks to run until nothing is left: only a private loop can */
static void loop_run(getdns_eventloop *loop)
{
	struct sipdance_dns *dns = (struct sipdance_dns *)loop;

	sipdance_loop_run(dns->own, NULL, -1);
}

static getdns_eventloop_vmt loop_vmt = {
	loop_cleanup, loop_schedule, loop_clear, loop_run, loop_run_once
};

/* detach_host - stop watching and timing, free our timer */
static void detach_host(struct sipdance_dns *dns)
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

/* Replies */

/* What one getdns response says, before it is turned into an answer. */
struct reply {
	getdns_dict *tree;     /* replies_tree/0, borrowed */
	getdns_list *answer;   /* its answer section */
	uint32_t rcode;
	enum sipdance_dns_status status;
};

/* status_of - our status for a getdns dnssec_status */
static enum sipdance_dns_status status_of(uint32_t s)
{
	switch (s) {
	case GETDNS_DNSSEC_SECURE:
		return SIPDANCE_DNS_SECURE;
	case GETDNS_DNSSEC_BOGUS:
		return SIPDANCE_DNS_BOGUS;
	case GETDNS_DNSSEC_INSECURE:
		return SIPDANCE_DNS_INSECURE;
	default:
		return SIPDANCE_DNS_INDETERMINATE;
	}
}

/* worse - the weaker of two statuses: BOGUS, then INDETERMINATE, INSECURE, SECURE */
static enum sipdance_dns_status worse(enum sipdance_dns_status a, enum sipdance_dns_status b)
{
	static const int rank[] = {
		[SIPDANCE_DNS_SECURE] = 0, [SIPDANCE_DNS_INSECURE] = 1,
		[SIPDANCE_DNS_INDETERMINATE] = 2, [SIPDANCE_DNS_BOGUS] = 3,
	};

	return rank[a] >= rank[b] ? a : b;
}

/*
 * parse_reply - check a completed getdns response; 0 with @r filled, or an
 * errno with @why saying why there is no usable reply (INDETERMINATE).
 * Cases:
 *  - callback TIMEOUT, or status ALL_TIMEOUT: "timeout after N ms"
 *  - callback ERROR, no replies_tree entry: "no reply from RESOLVER"
 *  - rcode other than NOERROR/NXDOMAIN: "SERVFAIL from RESOLVER", ...
 *  - validated query without dnssec_status: never taken as insecure
 */
static int parse_reply(struct sipdance_dns *dns, getdns_callback_type_t type,
		       getdns_dict *resp, int validated, struct reply *r,
		       char *why, size_t size)
{
	getdns_dict *hdr;
	getdns_list *tree;
	uint32_t status = 0, ds;

	memset(r, 0, sizeof(*r));
	if (type == GETDNS_CALLBACK_TIMEOUT ||
	    (resp && !getdns_dict_get_int(resp, "status", &status) &&
	     status == GETDNS_RESPSTATUS_ALL_TIMEOUT)) {
		snprintf(why, size, "timeout after %u ms", dns->timeout_ms);
		return ETIMEDOUT;
	}
	if (type != GETDNS_CALLBACK_COMPLETE || !resp ||
	    getdns_dict_get_list(resp, "replies_tree", &tree) ||
	    getdns_list_get_dict(tree, 0, &r->tree) ||
	    getdns_dict_get_dict(r->tree, "header", &hdr) ||
	    getdns_dict_get_int(hdr, "rcode", &r->rcode)) {
		snprintf(why, size, "no reply from %s", dns->resolver);
		return EIO;
	}
	if (r->rcode != GETDNS_RCODE_NOERROR && r->rcode != GETDNS_RCODE_NXDOMAIN) {
		static const char *const names[] = { "NOERROR", "FORMERR", "SERVFAIL",
						     "NXDOMAIN", "NOTIMP", "REFUSED" };

		if (r->rcode < sizeof(names) / sizeof(names[0]))
			snprintf(why, size, "%s from %s", names[r->rcode], dns->resolver);
		else
			snprintf(why, size, "rcode %u from %s", r->rcode, dns->resolver);
		return EIO;
	}
	if (getdns_dict_get_list(r->tree, "answer", &r->answer)) {
		snprintf(why, size, "malformed reply from %s", dns->resolver);
		return EBADMSG;
	}
	if (!validated)
		return 0;
	if (getdns_dict_get_int(r->tree, "dnssec_status", &ds)) {
		snprintf(why, size, "no DNSSEC status for the reply");
		return EIO;
	}
	r->status = status_of(ds);
	if (r->status == SIPDANCE_DNS_INDETERMINATE)
		snprintf(why, size, "DNSSEC status indeterminate");
	return 0;
}

/* chain_end - follow the CNAMEs of an answer section from @name (in place); hops in *hops */
static void chain_end(getdns_list *answer, char *name, int *hops)
{
	char owner[NAMELEN], target[NAMELEN];
	getdns_dict *rr, *rd;
	size_t n = 0;
	int moved = 1;

	getdns_list_get_length(answer, &n);
	for (*hops = 0; moved && *hops <= MAX_HOPS;) {
		moved = 0;
		for (size_t i = 0; i < n; i++) {
			if (getdns_list_get_dict(answer, i, &rr) || rr_type(rr) != GETDNS_RRTYPE_CNAME ||
			    rr_name(rr, "name", owner, sizeof(owner)) || strcmp(owner, name) ||
			    getdns_dict_get_dict(rr, "rdata", &rd) ||
			    rr_name(rd, "cname", target, sizeof(target)))
				continue;
			strcpy(name, target);
			++*hops;
			moved = 1;
			break;
		}
	}
}

/* min_ttl - least TTL of the records of an answer section, or @ttl */
static uint32_t min_ttl(getdns_list *answer, uint32_t ttl)
{
	getdns_dict *rr;
	uint32_t t;

	for (size_t i = 0; !getdns_list_get_dict(answer, i, &rr); i++)
		if (!getdns_dict_get_int(rr, "ttl", &t) && t < ttl)
			ttl = t;
	return ttl;
}

/* neg_ttl - negative-caching TTL of a reply (RFC 2308 §5: SOA TTL and minimum), or @ttl */
static uint32_t neg_ttl(getdns_dict *tree, uint32_t ttl)
{
	getdns_list *auth;
	getdns_dict *rr, *rd;
	uint32_t t, min;

	if (getdns_dict_get_list(tree, "authority", &auth))
		return ttl;
	for (size_t i = 0; !getdns_list_get_dict(auth, i, &rr); i++) {
		if (rr_type(rr) != GETDNS_RRTYPE_SOA || getdns_dict_get_int(rr, "ttl", &t) ||
		    getdns_dict_get_dict(rr, "rdata", &rd) || getdns_dict_get_int(rd, "minimum", &min))
			continue;
		return t < min ? t : min;
	}
	return ttl;
}

/* date - YYYY-MM-DD of a DNSSEC time */
static void date(uint32_t t, char *buf, size_t size)
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(buf, size, "%Y-%m-%d", &tm);
}

/* ds_unmatched - whether the DS RRset of @zone in @rrs names no DNSKEY of @zone there */
static int ds_unmatched(getdns_list *rrs, const char *zone)
{
	char owner[NAMELEN];
	getdns_dict *rr, *rd, *key, *krd;
	getdns_bindata *raw;
	uint32_t tag, alg, kalg;
	int ds = 0;

	for (size_t i = 0; !getdns_list_get_dict(rrs, i, &rr); i++) {
		if (rr_type(rr) != GETDNS_RRTYPE_DS || rr_name(rr, "name", owner, sizeof(owner)) ||
		    strcmp(owner, zone) || getdns_dict_get_dict(rr, "rdata", &rd) ||
		    getdns_dict_get_int(rd, "key_tag", &tag) || getdns_dict_get_int(rd, "algorithm", &alg))
			continue;
		ds = 1;
		for (size_t j = 0; !getdns_list_get_dict(rrs, j, &key); j++)
			if (rr_type(key) == GETDNS_RRTYPE_DNSKEY &&
			    !rr_name(key, "name", owner, sizeof(owner)) && !strcmp(owner, zone) &&
			    !getdns_dict_get_dict(key, "rdata", &krd) &&
			    !getdns_dict_get_bindata(krd, "rdata_raw", &raw) &&
			    !getdns_dict_get_int(krd, "algorithm", &kalg) &&
			    sd_dnssec_key_tag(raw->data, raw->size) == tag && kalg == alg)
				return 0;
	}
	return ds;
}

/* rrsig_times - why from RRSIG validity in @rrs, if any is outside its period now */
static int rrsig_times(getdns_list *rrs, char *why, size_t size)
{
	char owner[NAMELEN], day[16];
	getdns_dict *rr, *rd;
	uint32_t exp, inc, now = (uint32_t)time(NULL);

	for (size_t i = 0; !getdns_list_get_dict(rrs, i, &rr); i++) {
		if (rr_type(rr) != GETDNS_RRTYPE_RRSIG || getdns_dict_get_dict(rr, "rdata", &rd) ||
		    getdns_dict_get_int(rd, "signature_expiration", &exp) ||
		    getdns_dict_get_int(rd, "signature_inception", &inc) ||
		    rr_name(rr, "name", owner, sizeof(owner)))
			continue;
		if ((int32_t)(now - exp) > 0) {
			date(exp, day, sizeof(day));
			snprintf(why, size, "RRSIG of %.150s expired %s", owner, day);
			return 1;
		}
		if ((int32_t)(inc - now) > 0) {
			date(inc, day, sizeof(day));
			snprintf(why, size, "RRSIG of %.150s not valid before %s", owner, day);
			return 1;
		}
	}
	return 0;
}

static int sig_rejected(getdns_list *answer, getdns_list *chain, char *why, size_t size);

/*
 * diagnose - say what makes a BOGUS reply bogus, claiming only what the
 * records show. Cases, first that applies:
 *  - an RRSIG of the answer or the chain is outside its validity period
 *  - a zone's DS RRset names no key tag/algorithm of its DNSKEY RRset
 *  - an RRSIG of the answer fails to verify with its signer's DNSKEYs
 *  - the answer holds records but no RRSIG
 *  - otherwise "DNSSEC validation failed"
 */
static void diagnose(getdns_dict *resp, const struct reply *r, char *why, size_t size)
{
	getdns_list *chain = NULL, *auth = NULL;
	getdns_dict *rr;
	char owner[NAMELEN];
	int sigs = 0;
	size_t n = 0;

	getdns_dict_get_list(resp, "validation_chain", &chain);
	getdns_dict_get_list(r->tree, "authority", &auth);
	if (rrsig_times(r->answer, why, size) || (auth && rrsig_times(auth, why, size)) ||
	    (chain && rrsig_times(chain, why, size)))
		return;
	for (size_t i = 0; chain && !getdns_list_get_dict(chain, i, &rr); i++) {
		if (rr_type(rr) == GETDNS_RRTYPE_DS && !rr_name(rr, "name", owner, sizeof(owner)) &&
		    ds_unmatched(chain, owner)) {
			snprintf(why, size, "no DNSKEY of %.150s matches its DS", owner);
			return;
		}
	}
	if (chain && sig_rejected(r->answer, chain, why, size))
		return;
	getdns_list_get_length(r->answer, &n);
	for (size_t i = 0; !getdns_list_get_dict(r->answer, i, &rr); i++)
		sigs += rr_type(rr) == GETDNS_RRTYPE_RRSIG;
	if (n && !sigs)
		snprintf(why, size, "answer is not signed");
	else
		snprintf(why, size, "DNSSEC validation failed");
}

/* Flights */

/* Handed out when even a small answer cannot be allocated. */
static struct body oom_body = {
	UINT32_MAX / 2, SIPDANCE_DNS_INDETERMINATE, SIPDANCE_DNS_NONE, "", "", "out of memory", 0, NULL
};
static struct sipdance_dns_answer oom_answer = { UINT32_MAX / 2, 0, &oom_body };

static int naptr_verify(getdns_dict *raw, const char *owner, const char *signer,
			getdns_list *keys, char *why, size_t size);

/* flight_free - free a flight that has no waiters left */
static void flight_free(struct flight *f)
{
	TAILQ_REMOVE(&f->dns->flights, f, link);
	getdns_dict_destroy(f->raw);
	free(f);
}

/* finish - make the answer, cache it, queue it for every waiter, end the flight */
static void finish(struct flight *f, struct draft *d, uint32_t ttl)
{
	struct sipdance_dns *dns = f->dns;
	struct sipdance_dns_query *q;
	struct body *b;

	if (d->status == SIPDANCE_DNS_BOGUS || d->status == SIPDANCE_DNS_INDETERMINATE) {
		d->rcode = SIPDANCE_DNS_NONE;
		d->n = 0;
		ttl = dns->neg_ttl;
	} else {
		d->why[0] = '\0';
	}
	if (!d->cname[0])
		snprintf(d->cname, sizeof(d->cname), "%s", f->cur);
	sd_log(SIPDANCE_LOG_DEBUG, "dns", "%s/%u: %s %s%s%s", f->name, f->type,
	       sipdance_dns_status_str(d->status), sipdance_dns_rcode_str(d->rcode),
	       d->why[0] ? ": " : "", d->why);
	if ((b = body_new(f->name, d)))
		cache_put(dns, f->name, f->type, b, ttl);
	else
		b = &oom_body;
	while ((q = TAILQ_FIRST(&f->waiters))) {
		TAILQ_REMOVE(&f->waiters, q, link);
		q->flight = NULL;
		if (!(q->ans = answer_new(b, 0)))
			q->ans = &oom_answer;
		TAILQ_INSERT_TAIL(&dns->ready, q, link);
	}
	body_unref(b);
	free(d->rr);
	d->rr = NULL;
	if (f->sending)
		f->finished = 1;
	else
		flight_free(f);
}

/* fail_flight - end a flight with INDETERMINATE or BOGUS and a reason */
static void fail_flight(struct flight *f, enum sipdance_dns_status status, const char *why)
{
	struct draft d = { .status = status };

	snprintf(d.why, sizeof(d.why), "%s", why);
	finish(f, &d, 0);
}

static void on_reply(getdns_context *ctx, getdns_callback_type_t type, getdns_dict *resp,
		     void *arg, getdns_transaction_t tid);

/* send_step - ask getdns for what the flight's step needs */
static void send_step(struct flight *f)
{
	struct sipdance_dns *dns = f->dns;
	char fqdn[NAMELEN + 2];
	getdns_transaction_t tid;
	getdns_return_t r;
	uint16_t type = f->type;
	getdns_dict *ext = dns->ext_val;
	const char *name = f->cur;

	switch (f->step) {
	case STEP_CNAME:
		type = GETDNS_RRTYPE_CNAME;
		break;
	case STEP_RAW:
		ext = dns->ext_raw;
		break;
	case STEP_KEYS:
		type = GETDNS_RRTYPE_DNSKEY;
		name = f->signer;
		break;
	case STEP_MAIN:
		break;
	}
	snprintf(fqdn, sizeof(fqdn), "%s.", name);
	f->busy = 1;
	f->sending++;
	r = getdns_general(dns->ctx, fqdn, type, ext, f, &tid, on_reply);
	f->sending--;
	if (f->finished && !f->sending) {
		flight_free(f);
		return;
	}
	if (r != GETDNS_RETURN_GOOD && f->busy) {
		char why[WHYLEN];

		f->busy = 0;
		snprintf(why, sizeof(why), "getdns: %s", getdns_get_errorstr_by_id(r));
		fail_flight(f, SIPDANCE_DNS_INDETERMINATE, why);
	}
}

/* collect - decode the records of @type owned by @owner into @d */
static int collect(getdns_list *answer, const char *owner, uint16_t type, struct draft *d)
{
	struct sipdance_dns_rr rr;
	char name[NAMELEN];
	getdns_dict *dict;

	for (size_t i = 0; !getdns_list_get_dict(answer, i, &dict); i++) {
		if (rr_type(dict) != type || rr_name(dict, "name", name, sizeof(name)) ||
		    strcmp(name, owner))
			continue;
		if (sd_dns_rr_decode(dict, &rr)) {
			sd_log(SIPDANCE_LOG_WARN, "dns", "%s/%u: undecodable record skipped", owner, type);
			continue;
		}
		if (draft_add(d, &rr))
			return ENOMEM;
	}
	return 0;
}

/* next_hop - continue a chain at @target with the step for the asked type */
static void next_hop(struct flight *f, const char *target, int hops)
{
	if ((f->hops += hops) > MAX_HOPS) {
		fail_flight(f, SIPDANCE_DNS_INDETERMINATE, "CNAME chain longer than 8");
		return;
	}
	snprintf(f->cur, sizeof(f->cur), "%s", target);
	f->step = f->type == SIPDANCE_DNS_NAPTR ? STEP_RAW : STEP_MAIN;
	send_step(f);
}

/*
 * main_reply - the validated reply to cur/type. Cases:
 *  - BOGUS with only a CNAME and no records at its target (a stub asking an
 *    authoritative server gets no more): check that CNAME alone, then go on
 *  - BOGUS otherwise: BOGUS with a diagnosis; INDETERMINATE: INDETERMINATE
 *  - SECURE/INSECURE ending in a CNAME without records: next hop
 *  - otherwise the answer, its status the worst over all hops
 */
static void main_reply(struct flight *f, getdns_dict *resp, struct reply *r)
{
	struct draft d = { .status = r->status };
	char end[NAMELEN];
	int hops = 0, dangling;
	uint32_t ttl;

	snprintf(end, sizeof(end), "%s", f->cur);
	if (f->type != SIPDANCE_DNS_CNAME)
		chain_end(r->answer, end, &hops);
	if (collect(r->answer, end, f->type, &d)) {
		free(d.rr);
		fail_flight(f, SIPDANCE_DNS_INDETERMINATE, "out of memory");
		return;
	}
	dangling = hops > 0 && d.n == 0 && r->rcode == GETDNS_RCODE_NOERROR;
	if (r->status == SIPDANCE_DNS_BOGUS && dangling) {
		free(d.rr);
		f->step = STEP_CNAME;
		send_step(f);
		return;
	}
	if (r->status == SIPDANCE_DNS_BOGUS)
		diagnose(resp, r, d.why, sizeof(d.why));
	if (r->status == SIPDANCE_DNS_BOGUS || r->status == SIPDANCE_DNS_INDETERMINATE) {
		if (r->status == SIPDANCE_DNS_INDETERMINATE)
			snprintf(d.why, sizeof(d.why), "DNSSEC status indeterminate");
		finish(f, &d, 0);
		return;
	}
	f->hop_status = worse(f->hop_status, r->status);
	f->ttl = min_ttl(r->answer, f->ttl);
	if (dangling) {
		free(d.rr);
		next_hop(f, end, hops);
		return;
	}
	if (f->hops + hops > MAX_HOPS) {
		free(d.rr);
		fail_flight(f, SIPDANCE_DNS_INDETERMINATE, "CNAME chain longer than 8");
		return;
	}
	d.status = f->hop_status;
	snprintf(d.cname, sizeof(d.cname), "%s", end);
	ttl = f->ttl;
	if (d.n) {
		d.rcode = SIPDANCE_DNS_FOUND;
	} else {
		d.rcode = r->rcode == GETDNS_RCODE_NXDOMAIN ? SIPDANCE_DNS_NXDOMAIN
			: SIPDANCE_DNS_NODATA;
		if (neg_ttl(r->tree, f->dns->neg_ttl) < ttl)
			ttl = neg_ttl(r->tree, f->dns->neg_ttl);
	}
	finish(f, &d, ttl);
}

/* cname_reply - the validated reply to cur/CNAME: one hop of a chain */
static void cname_reply(struct flight *f, getdns_dict *resp, struct reply *r)
{
	struct draft d = { .status = r->status };
	int found;

	if (r->status == SIPDANCE_DNS_BOGUS || r->status == SIPDANCE_DNS_INDETERMINATE) {
		if (r->status == SIPDANCE_DNS_BOGUS)
			diagnose(resp, r, d.why, sizeof(d.why));
		else
			snprintf(d.why, sizeof(d.why), "DNSSEC status indeterminate");
		finish(f, &d, 0);
		return;
	}
	if (collect(r->answer, f->cur, GETDNS_RRTYPE_CNAME, &d)) {
		free(d.rr);
		fail_flight(f, SIPDANCE_DNS_INDETERMINATE, "out of memory");
		return;
	}
	found = d.n > 0;
	if (found)
		snprintf(d.cname, sizeof(d.cname), "%s", d.rr[0].u.cname.target);
	free(d.rr);
	if (!found) {
		fail_flight(f, SIPDANCE_DNS_BOGUS, "DNSSEC validation failed");
		return;
	}
	f->hop_status = worse(f->hop_status, r->status);
	f->ttl = min_ttl(r->answer, f->ttl);
	next_hop(f, d.cname, 1);
}

/* sig_signer - signer of the first RRSIG over @type at @owner in @answer, or "" */
static void sig_signer(getdns_list *answer, const char *owner, uint16_t type,
		       char *signer, size_t size)
{
	char name[NAMELEN];
	getdns_dict *rr, *rd;
	uint32_t covered;

	signer[0] = '\0';
	for (size_t i = 0; !getdns_list_get_dict(answer, i, &rr); i++)
		if (rr_type(rr) == GETDNS_RRTYPE_RRSIG && !rr_name(rr, "name", name, sizeof(name)) &&
		    !strcmp(name, owner) && !getdns_dict_get_dict(rr, "rdata", &rd) &&
		    !getdns_dict_get_int(rd, "type_covered", &covered) && covered == type &&
		    !rr_name(rd, "signers_name", signer, size))
			return;
	signer[0] = '\0';
}

/* in_zone - whether @name is @zone or below it */
static int in_zone(const char *name, const char *zone)
{
	size_t n = strlen(name), z = strlen(zone);

	if (!strcmp(zone, "."))
		return 1;
	return n == z ? !strcmp(name, zone)
		: n > z && name[n - z - 1] == '.' && !strcmp(name + n - z, zone);
}

/* auth_signer - signer of the first RRSIG in the authority section of @tree, or "" */
static void auth_signer(getdns_dict *tree, char *signer, size_t size)
{
	getdns_list *auth;
	getdns_dict *rr, *rd;

	signer[0] = '\0';
	if (getdns_dict_get_list(tree, "authority", &auth))
		return;
	for (size_t i = 0; !getdns_list_get_dict(auth, i, &rr); i++)
		if (rr_type(rr) == GETDNS_RRTYPE_RRSIG && !getdns_dict_get_dict(rr, "rdata", &rd) &&
		    !rr_name(rd, "signers_name", signer, size))
			return;
	signer[0] = '\0';
}

/*
 * raw_reply - the unvalidated NAPTR reply. getdns 1.6.0 aborts the process
 * when it validates a NAPTR RRset (stubby#295), so no reply holding NAPTRs
 * ever reaches its validator, and NAPTR is never asked for with validation.
 * Cases:
 *  - a CNAME at cur: check that hop validated, then go on at its target
 *  - NAPTRs at cur: keep the reply; fetch the validated DNSKEY RRset of
 *    their signer (of cur itself when unsigned, to learn whether the zone
 *    is signed), then validate the NAPTR RRset with sd_dnssec_validate_wire
 *  - none: keep the reply (a denial); fetch the validated DNSKEY RRset of
 *    the signer of its authority section (or of cur), then let getdns
 *    validate this very reply offline: asking again could bring NAPTRs
 *  - a signer that cur is not under: BOGUS
 */
static int raw_reply(struct flight *f, getdns_dict *resp, struct reply *r)
{
	char end[NAMELEN];
	struct draft d = { 0 };
	int hops = 0;

	snprintf(end, sizeof(end), "%s", f->cur);
	chain_end(r->answer, end, &hops);
	if (hops) {
		f->step = STEP_CNAME;
		send_step(f);
		return 0;
	}
	if (collect(r->answer, f->cur, SIPDANCE_DNS_NAPTR, &d)) {
		free(d.rr);
		fail_flight(f, SIPDANCE_DNS_INDETERMINATE, "out of memory");
		return 0;
	}
	free(d.rr);
	f->naptr_found = d.n > 0;
	if (f->naptr_found)
		sig_signer(r->answer, f->cur, SIPDANCE_DNS_NAPTR, f->signer, sizeof(f->signer));
	else
		auth_signer(r->tree, f->signer, sizeof(f->signer));
	f->naptr_signed = f->signer[0] != '\0';
	if (!f->naptr_signed) {
		snprintf(f->signer, sizeof(f->signer), "%s", f->cur);
	} else if (!in_zone(f->cur, f->signer)) {
		fail_flight(f, SIPDANCE_DNS_BOGUS, "NAPTR answer signed by a zone it is not in");
		return 0;
	}
	getdns_dict_destroy(f->raw);
	f->raw = resp;
	f->step = STEP_KEYS;
	send_step(f);
	return 1;
}

/* deny_reply - validate the kept NAPTR denial offline with the signer's keys and their chain */
static void deny_reply(struct flight *f, getdns_dict *resp, struct reply *r)
{
	struct draft d = { .status = SIPDANCE_DNS_INDETERMINATE };
	getdns_list *tree, *to = getdns_list_create(), *support = getdns_list_create(), *chain;
	getdns_dict *reply = NULL, *hdr, *rr;
	getdns_return_t v = GETDNS_RETURN_GENERIC_ERROR;
	uint32_t rcode = 0, ttl;
	size_t n = 0;

	if (to && support && !getdns_dict_get_list(f->raw, "replies_tree", &tree) &&
	    !getdns_list_get_dict(tree, 0, &reply) && !getdns_list_set_dict(to, 0, reply)) {
		for (size_t i = 0; !getdns_list_get_dict(r->answer, i, &rr); i++)
			getdns_list_set_dict(support, n++, rr);
		if (!getdns_dict_get_list(resp, "validation_chain", &chain))
			for (size_t i = 0; !getdns_list_get_dict(chain, i, &rr); i++)
				getdns_list_set_dict(support, n++, rr);
		v = getdns_validate_dnssec(to, support, f->dns->ta);
	}
	getdns_list_destroy(to);
	getdns_list_destroy(support);
	if (v < GETDNS_DNSSEC_SECURE || v > GETDNS_DNSSEC_INSECURE) {
		fail_flight(f, SIPDANCE_DNS_INDETERMINATE, "cannot validate the NAPTR denial");
		return;
	}
	d.status = status_of(v);
	if (d.status == SIPDANCE_DNS_BOGUS) {
		getdns_list *auth;

		if (getdns_dict_get_list(reply, "authority", &auth) ||
		    !rrsig_times(auth, d.why, sizeof(d.why)))
			snprintf(d.why, sizeof(d.why), "NAPTR denial of existence does not validate");
	}
	if (d.status == SIPDANCE_DNS_INDETERMINATE)
		snprintf(d.why, sizeof(d.why), "DNSSEC status indeterminate");
	if (d.status == SIPDANCE_DNS_BOGUS || d.status == SIPDANCE_DNS_INDETERMINATE) {
		finish(f, &d, 0);
		return;
	}
	if (!getdns_dict_get_dict(reply, "header", &hdr))
		getdns_dict_get_int(hdr, "rcode", &rcode);
	f->hop_status = worse(f->hop_status, d.status);
	d.status = f->hop_status;
	d.rcode = rcode == GETDNS_RCODE_NXDOMAIN ? SIPDANCE_DNS_NXDOMAIN : SIPDANCE_DNS_NODATA;
	ttl = neg_ttl(reply, f->dns->neg_ttl);
	finish(f, &d, ttl < f->ttl ? ttl : f->ttl);
}

/*
 * keys_reply - the validated DNSKEY RRset that decides the kept NAPTR reply.
 * Cases:
 *  - BOGUS or INDETERMINATE: the same for the NAPTR answer
 *  - a denial: what getdns says of the kept reply with these keys
 *  - NAPTRs without RRSIG: BOGUS in a secure zone, else INSECURE
 *  - signed, the signer's zone INSECURE: INSECURE
 *  - signed, SECURE keys: SECURE only if an RRSIG verifies with one of them
 */
static void keys_reply(struct flight *f, getdns_dict *resp, struct reply *r)
{
	struct draft d = { .status = r->status };
	getdns_list *tree, *answer;
	getdns_dict *reply;

	if (r->status == SIPDANCE_DNS_BOGUS || r->status == SIPDANCE_DNS_INDETERMINATE) {
		if (r->status == SIPDANCE_DNS_BOGUS)
			diagnose(resp, r, d.why, sizeof(d.why));
		else
			snprintf(d.why, sizeof(d.why), "DNSSEC status indeterminate");
		finish(f, &d, 0);
		return;
	}
	if (!f->naptr_found) {
		deny_reply(f, resp, r);
		return;
	}
	if (!f->naptr_signed && r->status == SIPDANCE_DNS_SECURE) {
		fail_flight(f, SIPDANCE_DNS_BOGUS, "NAPTR RRset is not signed in a signed zone");
		return;
	}
	if (f->naptr_signed && r->status == SIPDANCE_DNS_SECURE &&
	    naptr_verify(f->raw, f->cur, f->signer, r->answer, d.why, sizeof(d.why))) {
		d.status = SIPDANCE_DNS_BOGUS;
		finish(f, &d, 0);
		return;
	}
	if (getdns_dict_get_list(f->raw, "replies_tree", &tree) ||
	    getdns_list_get_dict(tree, 0, &reply) || getdns_dict_get_list(reply, "answer", &answer) ||
	    collect(answer, f->cur, SIPDANCE_DNS_NAPTR, &d)) {
		free(d.rr);
		fail_flight(f, SIPDANCE_DNS_INDETERMINATE, "out of memory");
		return;
	}
	f->hop_status = worse(f->hop_status, r->status);
	f->ttl = min_ttl(answer, f->ttl);
	d.status = f->hop_status;
	d.rcode = SIPDANCE_DNS_FOUND;
	finish(f, &d, f->ttl);
}

/* on_reply - getdns is done with a request of a flight */
static void on_reply(getdns_context *ctx, getdns_callback_type_t type, getdns_dict *resp,
		     void *arg, getdns_transaction_t tid)
{
	struct flight *f = arg;
	struct reply r;
	char why[WHYLEN];
	int kept = 0;

	(void)ctx;
	(void)tid;
	if (type == GETDNS_CALLBACK_CANCEL) {
		getdns_dict_destroy(resp);
		return;
	}
	f->busy = 0;
	if (parse_reply(f->dns, type, resp, f->step != STEP_RAW, &r, why, sizeof(why))) {
		sd_log(SIPDANCE_LOG_DEBUG, "dns", "%s/%u step %d at %s: %s", f->name, f->type,
		       f->step, f->cur, why);
		fail_flight(f, SIPDANCE_DNS_INDETERMINATE, why);
	} else {
		sd_log(SIPDANCE_LOG_DEBUG, "dns", "%s/%u step %d at %s: rcode %u, %s", f->name,
		       f->type, f->step, f->cur, r.rcode, f->step == STEP_RAW ? "unvalidated"
		       : sipdance_dns_status_str(r.status));
		switch (f->step) {
		case STEP_MAIN:
			main_reply(f, resp, &r);
			break;
		case STEP_CNAME:
			cname_reply(f, resp, &r);
			break;
		case STEP_RAW:
			kept = raw_reply(f, resp, &r);
			break;
		case STEP_KEYS:
			keys_reply(f, resp, &r);
			break;
		}
	}
	if (!kept)
		getdns_dict_destroy(resp);
}

/* Resolver */

/* sipdance_dns_alloc - resolver on a validating stub-mode getdns context */
int sipdance_dns_alloc(struct sipdance_dns **out, const struct sipdance_dns_conf *conf,
		       const char **why)
{
	struct sipdance_dns *dns;
	getdns_dict *opt = NULL, *hdr = NULL;
	int err;

	if (!out || !conf)
		return sd_fail(why, "no configuration", EINVAL);
	if (!(dns = calloc(1, sizeof(*dns))))
		return sd_fail(why, "out of memory", ENOMEM);
	dns->loop.vmt = &loop_vmt;
	if (!(dns->host = conf->loop) && (err = sipdance_loop_poll_alloc(&dns->own))) {
		free(dns);
		return sd_fail(why, "out of memory", err);
	}
	if (!dns->host)
		dns->host = dns->own;
	TAILQ_INIT(&dns->evs);
	TAILQ_INIT(&dns->flights);
	TAILQ_INIT(&dns->ready);
	TAILQ_INIT(&dns->lru);
	dns->timer_at = NEVER;
	dns->clock = default_clock;
	dns->timeout_ms = conf->timeout_ms ? conf->timeout_ms : DEFAULT_TIMEOUT_MS;
	dns->cache_size = conf->cache_size ? conf->cache_size : DEFAULT_CACHE_SIZE;
	dns->max_ttl = conf->max_ttl ? conf->max_ttl : DEFAULT_MAX_TTL;
	dns->neg_ttl = conf->neg_ttl ? conf->neg_ttl : DEFAULT_NEG_TTL;
	/* reasons name the resolver as ADDR@PORT, the port always */
	snprintf(dns->resolver, sizeof(dns->resolver), "%s%s", conf->resolver ? conf->resolver : "",
		 conf->resolver && !strchr(conf->resolver, '@') ? "@53" : "");
	for (dns->nbuckets = 16; dns->nbuckets < dns->cache_size && dns->nbuckets < (1u << 20);)
		dns->nbuckets *= 2;
	if ((err = sd_getdns_context_new(&dns->ctx, conf->resolver, conf->trust_anchor,
					 dns->timeout_ms, why)))
		goto out;
	err = sd_fail(why, "out of memory", ENOMEM);
	if (!(dns->timer = sd_timer_alloc(dns->host, on_timer, dns)) ||
	    !(dns->bucket = calloc(dns->nbuckets, sizeof(*dns->bucket))) ||
	    !(dns->ext_val = getdns_dict_create()) || !(dns->ext_raw = getdns_dict_create()) ||
	    !(opt = getdns_dict_create()) || !(hdr = getdns_dict_create()) ||
	    getdns_dict_set_int(dns->ext_val, "dnssec_return_all_statuses", GETDNS_EXTENSION_TRUE) ||
	    getdns_dict_set_int(dns->ext_val, "dnssec_return_validation_chain", GETDNS_EXTENSION_TRUE) ||
	    getdns_dict_set_int(opt, "do_bit", 1) ||
	    getdns_dict_set_dict(dns->ext_raw, "add_opt_parameters", opt) ||
	    getdns_dict_set_int(hdr, "cd", 1) || getdns_dict_set_dict(dns->ext_raw, "header", hdr) ||
	    getdns_context_get_dnssec_trust_anchors(dns->ctx, &dns->ta) ||
	    getdns_context_set_eventloop(dns->ctx, &dns->loop))
		goto out;
	getdns_dict_destroy(opt);
	getdns_dict_destroy(hdr);
	*out = dns;
	return 0;
out:
	getdns_dict_destroy(opt);
	getdns_dict_destroy(hdr);
	sipdance_dns_free(dns);
	return err;
}

/* sipdance_dns_free - cancel everything, tell the host to stop watching, free */
void sipdance_dns_free(struct sipdance_dns *dns)
{
	struct sipdance_dns_query *q;
	struct flight *f;
	struct ev *e;

	if (!dns)
		return;
	detach_host(dns);
	if (dns->ctx)
		getdns_context_destroy(dns->ctx);
	while ((f = TAILQ_FIRST(&dns->flights))) {
		while ((q = TAILQ_FIRST(&f->waiters))) {
			TAILQ_REMOVE(&f->waiters, q, link);
			free(q);
		}
		flight_free(f);
	}
	while ((q = TAILQ_FIRST(&dns->ready))) {
		TAILQ_REMOVE(&dns->ready, q, link);
		sipdance_dns_answer_unref(q->ans);
		free(q);
	}
	while ((e = TAILQ_FIRST(&dns->evs))) {
		TAILQ_REMOVE(&dns->evs, e, link);
		free(e);
	}
	if (dns->bucket)
		sipdance_dns_flush(dns);
	free(dns->bucket);
	free(dns->watch);
	sipdance_loop_free(dns->own);
	getdns_dict_destroy(dns->ext_val);
	getdns_dict_destroy(dns->ext_raw);
	getdns_list_destroy(dns->ta);
	free(dns);
}

/* deliver - run the callbacks of the answered queries, in order */
static void deliver(struct sipdance_dns *dns)
{
	struct sipdance_dns_query *q;

	while ((q = TAILQ_FIRST(&dns->ready))) {
		struct sipdance_dns_answer *a = q->ans;
		sipdance_dns_cb *cb = q->cb;
		void *arg = q->arg;

		TAILQ_REMOVE(&dns->ready, q, link);
		free(q);
		cb(arg, a);
		sipdance_dns_answer_unref(a);
	}
}

/* supported - whether answers of @type can be decoded */
static int supported(uint16_t type)
{
	switch (type) {
	case SIPDANCE_DNS_A:
	case SIPDANCE_DNS_CNAME:
	case SIPDANCE_DNS_AAAA:
	case SIPDANCE_DNS_SRV:
	case SIPDANCE_DNS_NAPTR:
	case SIPDANCE_DNS_TLSA:
		return 1;
	default:
		return 0;
	}
}

/* sipdance_dns_lookup - answer from the cache, a flight in progress, or a new flight */
int sipdance_dns_lookup(struct sipdance_dns *dns, const char *name, uint16_t type,
			sipdance_dns_cb *cb, void *arg, struct sipdance_dns_query **qp)
{
	char key[NAMELEN];
	struct sipdance_dns_query *q;
	struct flight *f;
	struct body *b;

	if (!dns || !cb || !supported(type) || norm_name(name, key, sizeof(key)))
		return EINVAL;
	if (!(q = calloc(1, sizeof(*q))))
		return ENOMEM;
	q->dns = dns;
	q->cb = cb;
	q->arg = arg;
	if (qp)
		*qp = q;
	if ((b = cache_get(dns, key, type))) {
		if (!(q->ans = answer_new(b, 1))) {
			free(q);
			return ENOMEM;
		}
		TAILQ_INSERT_TAIL(&dns->ready, q, link);
		tell_host(dns);
		return 0;
	}
	TAILQ_FOREACH(f, &dns->flights, link)
		if (f->type == type && !strcmp(f->name, key))
			break;
	if (f) {
		q->flight = f;
		TAILQ_INSERT_TAIL(&f->waiters, q, link);
		return 0;
	}
	if (!(f = calloc(1, sizeof(*f) + strlen(key) + 1))) {
		free(q);
		return ENOMEM;
	}
	strcpy(f->name, key);
	strcpy(f->cur, key);
	f->dns = dns;
	f->type = type;
	f->step = type == SIPDANCE_DNS_NAPTR ? STEP_RAW : STEP_MAIN;
	f->hop_status = SIPDANCE_DNS_SECURE;
	f->ttl = dns->max_ttl;
	TAILQ_INIT(&f->waiters);
	TAILQ_INSERT_TAIL(&dns->flights, f, link);
	q->flight = f;
	TAILQ_INSERT_TAIL(&f->waiters, q, link);
	sd_log(SIPDANCE_LOG_DEBUG, "dns", "%s/%u: asking %s", key, type, dns->resolver);
	send_step(f);
	tell_host(dns);
	return 0;
}

/* sipdance_dns_cancel - forget a pending lookup */
void sipdance_dns_cancel(struct sipdance_dns_query *q)
{
	struct sipdance_dns *dns;

	if (!q)
		return;
	dns = q->dns;
	if (q->flight) {
		TAILQ_REMOVE(&q->flight->waiters, q, link);
	} else {
		TAILQ_REMOVE(&dns->ready, q, link);
		sipdance_dns_answer_unref(q->ans);
	}
	free(q);
	tell_host(dns);
}

/* The result of a blocking lookup. */
struct sync_result {
	int done;
	struct sipdance_dns_answer *ans;
};

/* sync_cb - keep the answer of a blocking lookup */
static void sync_cb(void *arg, const struct sipdance_dns_answer *a)
{
	struct sync_result *r = arg;

	r->done = 1;
	r->ans = sipdance_dns_answer_ref(a);
}

/* sipdance_dns_lookup_sync - a lookup run to its end on the resolver's poll loop */
int sipdance_dns_lookup_sync(struct sipdance_dns *dns, const char *name, uint16_t type,
			     struct sipdance_dns_answer **out)
{
	struct sync_result r = { 0, NULL };
	struct sipdance_dns_query *q;
	int err;

	if (!out)
		return EINVAL;
	if ((err = sipdance_dns_lookup(dns, name, type, sync_cb, &r, &q)))
		return err;
	/* every lookup ends by its timeout, so the loop never runs dry before */
	if ((err = sipdance_loop_run(dns->host, &r.done, -1))) {
		sipdance_dns_cancel(q);
		return err == EINVAL ? EINVAL : EIO;
	}
	*out = r.ans;
	return 0;
}

/* Answer accessors */

/* sipdance_dns_answer_ref - take a reference */
struct sipdance_dns_answer *sipdance_dns_answer_ref(const struct sipdance_dns_answer *a)
{
	struct sipdance_dns_answer *m = (struct sipdance_dns_answer *)a;

	if (m)
		m->refs++;
	return m;
}

/* sipdance_dns_answer_unref - drop a reference */
void sipdance_dns_answer_unref(struct sipdance_dns_answer *a)
{
	if (!a || --a->refs)
		return;
	body_unref(a->b);
	free(a);
}

/* sipdance_dns_answer_status - DNSSEC status */
enum sipdance_dns_status sipdance_dns_answer_status(const struct sipdance_dns_answer *a)
{
	return a ? a->b->status : SIPDANCE_DNS_INDETERMINATE;
}

/* sipdance_dns_answer_rcode - what exists */
enum sipdance_dns_rcode sipdance_dns_answer_rcode(const struct sipdance_dns_answer *a)
{
	return a ? a->b->rcode : SIPDANCE_DNS_NONE;
}

/* sipdance_dns_answer_qname - the name asked for */
const char *sipdance_dns_answer_qname(const struct sipdance_dns_answer *a)
{
	return a ? a->b->qname : "";
}

/* sipdance_dns_answer_cname - the name the records are at */
const char *sipdance_dns_answer_cname(const struct sipdance_dns_answer *a)
{
	return a ? a->b->cname : "";
}

/* sipdance_dns_answer_why - reason of a failure, "" otherwise */
const char *sipdance_dns_answer_why(const struct sipdance_dns_answer *a)
{
	return a ? a->b->why : "";
}

/* sipdance_dns_answer_cached - whether the cache answered */
int sipdance_dns_answer_cached(const struct sipdance_dns_answer *a)
{
	return a ? a->cached : 0;
}

/* sipdance_dns_answer_count - number of records */
size_t sipdance_dns_answer_count(const struct sipdance_dns_answer *a)
{
	return a ? a->b->n : 0;
}

/* sipdance_dns_answer_rr - record @i */
const struct sipdance_dns_rr *sipdance_dns_answer_rr(const struct sipdance_dns_answer *a, size_t i)
{
	return a && i < a->b->n ? &a->b->rr[i] : NULL;
}

/* sipdance_dns_answer_tlsa - the TLSA records as an RRset */
int sipdance_dns_answer_tlsa(const struct sipdance_dns_answer *a, struct sipdance_tlsa_set **out)
{
	struct sipdance_tlsa_set *set;
	struct sipdance_tlsa *t;
	int err;

	if (!a || !out)
		return EINVAL;
	if ((err = sipdance_tlsa_set_alloc(&set)))
		return err;
	for (size_t i = 0; i < a->b->n; i++) {
		const struct sipdance_dns_rr *rr = &a->b->rr[i];

		if (rr->type != SIPDANCE_DNS_TLSA)
			continue;
		if ((err = sipdance_tlsa_alloc(&t, rr->u.tlsa.usage, rr->u.tlsa.selector,
					       rr->u.tlsa.mtype, rr->u.tlsa.data, rr->u.tlsa.len)) ||
		    (err = sipdance_tlsa_set_add(set, t))) {
			sipdance_tlsa_set_free(set);
			return err;
		}
	}
	*out = set;
	return 0;
}

/* sipdance_dns_status_str - printable status */
const char *sipdance_dns_status_str(enum sipdance_dns_status s)
{
	static const char *const names[] = { "SECURE", "INSECURE", "BOGUS", "INDETERMINATE" };

	return (unsigned)s < sizeof(names) / sizeof(names[0]) ? names[s] : "UNKNOWN";
}

/* sipdance_dns_rcode_str - printable rcode */
const char *sipdance_dns_rcode_str(enum sipdance_dns_rcode r)
{
	static const char *const names[] = { "FOUND", "NODATA", "NXDOMAIN", "NONE" };

	return (unsigned)r < sizeof(names) / sizeof(names[0]) ? names[r] : "UNKNOWN";
}

/* Test hooks */

/* sd_dns_set_clock - replace the cache clock (ms) */
void sd_dns_set_clock(struct sipdance_dns *dns, uint64_t (*clock)(void *arg), void *arg)
{
	dns->clock = clock ? clock : default_clock;
	dns->clock_arg = arg;
}

/* sd_dns_cache_add - cache a record-less answer as if it had come from upstream */
int sd_dns_cache_add(struct sipdance_dns *dns, const char *name, uint16_t type,
		     int status, int rcode, uint32_t ttl)
{
	struct draft d = { .status = (enum sipdance_dns_status)status,
			   .rcode = (enum sipdance_dns_rcode)rcode };
	char key[NAMELEN];
	struct body *b;

	if (norm_name(name, key, sizeof(key)))
		return EINVAL;
	snprintf(d.cname, sizeof(d.cname), "%s", key);
	if (!(b = body_new(key, &d)))
		return ENOMEM;
	cache_put(dns, key, type, b, ttl);
	body_unref(b);
	return 0;
}

/* sd_dns_cache_has - whether a live answer for name/type is cached (LRU order untouched) */
int sd_dns_cache_has(struct sipdance_dns *dns, const char *name, uint16_t type)
{
	char key[NAMELEN];
	struct entry *e;

	if (norm_name(name, key, sizeof(key)))
		return 0;
	e = *slot(dns, key, type);
	return e && e->expires > dns->clock(dns->clock_arg);
}

/* sd_dns_cache_count - entries held, live or expired */
size_t sd_dns_cache_count(const struct sipdance_dns *dns)
{
	return dns->count;
}

/* NAPTR signatures, checked with sd_dnssec_validate_wire instead of by getdns */

/* A list of RRs in uncompressed wire form. */
struct wires {
	struct sd_wire *w;
	size_t n, cap;
};

/* wires_add - append the wire form of @rr */
static int wires_add(struct wires *ws, const getdns_dict *rr)
{
	uint8_t *p = NULL;
	size_t len = 0;

	if (ws->n == ws->cap) {
		size_t cap = ws->cap ? 2 * ws->cap : 4;
		struct sd_wire *w = realloc(ws->w, cap * sizeof(*w));

		if (!w)
			return ENOMEM;
		ws->w = w;
		ws->cap = cap;
	}
	if (getdns_rr_dict2wire(rr, &p, &len))
		return EBADMSG;
	ws->w[ws->n++] = (struct sd_wire){ p, len };
	return 0;
}

/* wires_free - free the wire forms and the list */
static void wires_free(struct wires *ws)
{
	for (size_t i = 0; i < ws->n; i++)
		free((void *)ws->w[i].p);
	free(ws->w);
}

/*
 * naptr_verify - 0 if the NAPTR RRset at @owner in reply @resp validates
 * with the SECURE DNSKEY RRset @keys of @signer (sd_dnssec_validate_wire,
 * over the reply's answer and authority: a wildcard expansion only with its
 * proof); else EBADMSG or ENOMEM with @why:
 *  - an RRSIG outside its validity period: "expired" with the date;
 *  - a signature that does not verify with the signer's key;
 *  - anything else: the validator's reason.
 */
static int naptr_verify(getdns_dict *resp, const char *owner, const char *signer,
			getdns_list *keys, char *why, size_t size)
{
	struct wires rrs = { 0 }, dnskeys = { 0 };
	struct sd_dnssec_result res = { 0 };
	getdns_list *tree, *answer, *auth = NULL;
	getdns_dict *reply, *rr;
	char name[NAMELEN], day[16];
	int err = 0;

	if (getdns_dict_get_list(resp, "replies_tree", &tree) ||
	    getdns_list_get_dict(tree, 0, &reply) || getdns_dict_get_list(reply, "answer", &answer)) {
		snprintf(why, size, "no NAPTR answer to verify");
		return EBADMSG;
	}
	getdns_dict_get_list(reply, "authority", &auth);
	for (size_t i = 0; !err && !getdns_list_get_dict(answer, i, &rr); i++)
		err = wires_add(&rrs, rr);
	for (size_t i = 0; !err && auth && !getdns_list_get_dict(auth, i, &rr); i++)
		err = wires_add(&rrs, rr);
	for (size_t i = 0; !err && !getdns_list_get_dict(keys, i, &rr); i++)
		if (rr_type(rr) == GETDNS_RRTYPE_DNSKEY && !rr_name(rr, "name", name, sizeof(name)) &&
		    !strcmp(name, signer))
			err = wires_add(&dnskeys, rr);
	if (!err)
		err = sd_dnssec_validate_wire(rrs.w, rrs.n, dnskeys.w, dnskeys.n, owner, GETDNS_RRTYPE_NAPTR,
					      time(NULL), &res);
	wires_free(&rrs);
	wires_free(&dnskeys);
	if (err) {
		snprintf(why, size, err == ENOMEM ? "out of memory" : "NAPTR answer cannot be encoded");
		return err == ENOMEM ? ENOMEM : EBADMSG;
	}
	if (res.status == SD_DNSSEC_SECURE && res.answer == SD_DNSSEC_DATA)
		return 0;
	if (res.fault == SD_DNSSEC_FAULT_TIME && res.fault_time < time(NULL)) {
		date((uint32_t)res.fault_time, day, sizeof(day));
		snprintf(why, size, "RRSIG of %.150s expired %s", owner, day);
	} else if (res.fault == SD_DNSSEC_FAULT_SIGNATURE) {
		snprintf(why, size, "RRSIG of %.150s does not verify with the DNSKEY of %.150s", owner, signer);
	} else {
		snprintf(why, size, "%s", res.why);
	}
	return EBADMSG;
}

/* sig_rejected - whether an RRSIG of @answer is refused by its signer's DNSKEYs in @chain */
static int sig_rejected(getdns_list *answer, getdns_list *chain, char *why, size_t size)
{
	char owner[NAMELEN], signer[NAMELEN], name[NAMELEN];
	getdns_dict *sig, *rd, *rr;
	uint32_t covered;
	int rejected = 0;

	for (size_t i = 0; !rejected && !getdns_list_get_dict(answer, i, &sig); i++) {
		struct wires rrs = { 0 }, keys = { 0 };
		struct sd_dnssec_result res;
		int err = 0;

		if (rr_type(sig) != GETDNS_RRTYPE_RRSIG || rr_name(sig, "name", owner, sizeof(owner)) ||
		    getdns_dict_get_dict(sig, "rdata", &rd) ||
		    getdns_dict_get_int(rd, "type_covered", &covered) ||
		    rr_name(rd, "signers_name", signer, sizeof(signer)))
			continue;
		for (size_t j = 0; !err && !getdns_list_get_dict(answer, j, &rr); j++)
			if (rr_type(rr) == covered && !rr_name(rr, "name", name, sizeof(name)) &&
			    !strcmp(name, owner))
				err = wires_add(&rrs, rr);
		for (size_t j = 0; !err && !getdns_list_get_dict(chain, j, &rr); j++)
			if (rr_type(rr) == GETDNS_RRTYPE_DNSKEY &&
			    !rr_name(rr, "name", name, sizeof(name)) && !strcmp(name, signer))
				err = wires_add(&keys, rr);
		if (!err && rrs.n && keys.n && !wires_add(&rrs, sig) &&
		    !sd_dnssec_validate_wire(rrs.w, rrs.n, keys.w, keys.n, owner, (uint16_t)covered,
					     time(NULL), &res) &&
		    res.fault == SD_DNSSEC_FAULT_SIGNATURE) {
			snprintf(why, size, "RRSIG of %.150s does not verify with the DNSKEY of %.150s",
				 owner, signer);
			rejected = 1;
		}
		wires_free(&rrs);
		wires_free(&keys);
	}
	return rejected;
}
