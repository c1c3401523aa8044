/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * x5u.c - certificate chains from PASSporT x5u URLs: the address policy, the
 * response headers we read (Cache-Control max-age/no-store), the PEM body, a
 * cache of whole chains keyed by URL with a lifetime ceiling and negative
 * entries, and the queries waiting for a fetch. The HTTPS itself is
 * libcurl's (x5u_http.c, the only file that knows curl): no thread, no HTTP
 * parser of ours. Everything runs on the loop of the configuration
 * (sipdance/loop.h) or in a *_sync call; fetches of one URL are shared.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include "internal.h"
#include "stir-internal.h"

#define NBUCKETS 256
#define MAX_CERTS 8 /* certificates in one x5u chain */

struct entry {
	struct entry *next;
	char *url;
	STACK_OF(X509) *chain; /* NULL: a cached failure */
	int err;
	char why[SD_X5U_WHY_MAX];
	time_t expires;
	unsigned long used;
};

/* One URL being fetched, or waiting for a free slot, and who waits for it. */
struct job {
	struct job *next;                 /* queue or running list */
	struct sipdance_x5u *x;
	char *url;
	long long asked;                  /* monotonic us: the timeout counts from here */
	struct sipdance_x5u_query *waiters;
	unsigned refs;                    /* the fetch + sync waiters */
	int done, err;
	char why[SD_X5U_WHY_MAX];
	STACK_OF(X509) *chain;
};

struct sipdance_x5u_query {
	struct sipdance_x5u_query *next;
	sipdance_x5u_cb *cb;
	void *arg;
	void (*deferred)(void *); /* sd_x5u_defer: run this instead */
	void (*drop)(void *);     /* run instead when the fetcher is freed first */
	int cancelled, err;
	char why[SD_X5U_WHY_MAX];
	STACK_OF(X509) *chain;
};

struct sipdance_x5u {
	struct sipdance_x5u_conf conf;
	struct sipdance_loop *loop;  /* conf.loop, or own */
	struct sipdance_loop *own;   /* a private poll loop when the configuration names none */
	void *ready_timer;           /* callbacks of what is ready run from it */
	struct sd_http *http;
	struct job *queue, *running;
	unsigned nrunning;
	struct sipdance_x5u_query *ready;
	struct entry *bucket[NBUCKETS];
	size_t nentries;
	unsigned long clock;
	struct sipdance_x5u_stats st;
};

/* now_us - monotonic microseconds */
static long long now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* sd_chain_dup - a new stack holding new references to the same certificates */
STACK_OF(X509) *sd_chain_dup(STACK_OF(X509) *chain)
{
	STACK_OF(X509) *c = chain ? sk_X509_dup(chain) : NULL;

	for (int i = 0; c && i < sk_X509_num(c); i++)
		X509_up_ref(sk_X509_value(c, i));
	return c;
}

/* sd_pem_chain - every certificate of a PEM text, at least one */
int sd_pem_chain(const char *pem, size_t len, STACK_OF(X509) **out)
{
	BIO *b = len <= INT32_MAX ? BIO_new_mem_buf(pem, (int)len) : NULL;
	STACK_OF(X509) *chain = sk_X509_new_null();
	X509 *x;
	int err = 0;

	if (!b || !chain) {
		err = len > INT32_MAX ? EBADMSG : ENOMEM;
		goto out;
	}
	while ((x = PEM_read_bio_X509(b, NULL, NULL, NULL)))
		if (!sk_X509_push(chain, x)) {
			X509_free(x);
			err = ENOMEM;
			goto out;
		}
	/* The loop ends on end of input (no further start line) or on a bad block. */
	if (ERR_GET_REASON(ERR_peek_last_error()) != PEM_R_NO_START_LINE || sk_X509_num(chain) == 0)
		err = EBADMSG;
out:
	ERR_clear_error();
	BIO_free(b);
	if (err)
		sk_X509_pop_free(chain, X509_free);
	else
		*out = chain;
	return err;
}

/* Special-purpose addresses: IANA's IPv4 and IPv6 registries, what is not
 * globally reachable unicast, and the IPv6 forms that embed an IPv4 address. */
struct special {
	uint8_t net[16];
	int bits;
	const char *why;  /* NULL: embeds an IPv4 address at @v4, judged as such */
	int v4;
};

static const struct special v4_special[] = {
	{ { 0 }, 8, "unspecified (this network)", 0 },
	{ { 10 }, 8, "private", 0 },
	{ { 100, 64 }, 10, "shared address space (private)", 0 },
	{ { 127 }, 8, "loopback", 0 },
	{ { 169, 254 }, 16, "link-local", 0 },
	{ { 172, 16 }, 12, "private", 0 },
	{ { 192, 0, 0 }, 24, "reserved for IETF protocols", 0 },
	{ { 192, 0, 2 }, 24, "documentation", 0 },
	{ { 192, 88, 99 }, 24, "6to4 relay anycast (deprecated)", 0 },
	{ { 192, 168 }, 16, "private", 0 },
	{ { 198, 18 }, 15, "benchmarking", 0 },
	{ { 198, 51, 100 }, 24, "documentation", 0 },
	{ { 203, 0, 113 }, 24, "documentation", 0 },
	{ { 224 }, 4, "multicast", 0 },
	{ { 240 }, 4, "reserved or broadcast", 0 },
};

static const struct special v6_special[] = {
	{ { [15] = 1 }, 128, "loopback", 0 },
	{ { 0 }, 128, "unspecified", 0 },
	{ { [10] = 0xff, 0xff }, 96, NULL, 12 },                  /* IPv4-mapped */
	{ { 0, 0x64, 0xff, 0x9b }, 96, NULL, 12 },                /* NAT64 well-known */
	{ { 0, 0x64, 0xff, 0x9b, 0, 1 }, 48, "local-use NAT64", 0 },
	{ { 0 }, 96, "IPv4-compatible (deprecated)", 0 },
	{ { 1 }, 64, "discard-only", 0 },
	{ { 0x20, 0x01, 0x0d, 0xb8 }, 32, "documentation", 0 },
	{ { 0x20, 0x01 }, 23, "reserved for IETF protocols (Teredo, benchmarking, ORCHID)", 0 },
	{ { 0x20, 0x02 }, 16, NULL, 2 },                          /* 6to4 */
	{ { 0x3f, 0xff }, 20, "documentation", 0 },
	{ { 0xfc }, 7, "unique-local (private)", 0 },
	{ { 0xfe, 0x80 }, 10, "link-local", 0 },
	{ { 0xfe, 0xc0 }, 10, "site-local (deprecated)", 0 },
	{ { 0xff }, 8, "multicast", 0 },
};

/* in_prefix - whether @a lies in @net/@bits */
static int in_prefix(const uint8_t *a, const uint8_t *net, int bits)
{
	int bytes = bits / 8, rest = bits % 8;

	return !memcmp(a, net, (size_t)bytes) &&
	       (!rest || ((a[bytes] ^ net[bytes]) & (0xff00 >> rest)) == 0);
}

/* v4_refused - why an IPv4 address is refused, or NULL */
static const char *v4_refused(const uint8_t *a)
{
	for (size_t i = 0; i < sizeof(v4_special) / sizeof(v4_special[0]); i++)
		if (in_prefix(a, v4_special[i].net, v4_special[i].bits))
			return v4_special[i].why;
	return NULL;
}

/*
 * sd_x5u_refused_addr - whether an x5u fetch may not connect to @sa without
 * allow_private: 1 with the reason in @why, or 0. The cases:
 *  - not IPv4 or IPv6: refused;
 *  - IPv4 in a block of IANA's special-purpose registry that is not
 *    globally reachable (private, shared, loopback, link-local, "this
 *    network", 192.0.0.0/24, documentation, benchmarking, multicast,
 *    reserved, broadcast): refused;
 *  - IPv6 that embeds an IPv4 address the host reaches (IPv4-mapped, NAT64
 *    64:ff9b::/96, 6to4 2002::/16): judged by that IPv4 address;
 *  - other IPv6 in a special block (loopback, unspecified, IPv4-compatible,
 *    local-use NAT64, discard, 2001::/23 with Teredo, documentation,
 *    unique-local, link-local, site-local, multicast), or outside global
 *    unicast 2000::/3 at all: refused.
 */
int sd_x5u_refused_addr(const struct sockaddr *sa, char *why, size_t size)
{
	const uint8_t *a;
	const char *r = NULL;
	char v4[INET_ADDRSTRLEN];

	if (sa->sa_family == AF_INET) {
		r = v4_refused((const uint8_t *)&((const struct sockaddr_in *)(const void *)sa)->sin_addr);
		if (r)
			snprintf(why, size, "%s", r);
		return r != NULL;
	}
	if (sa->sa_family != AF_INET6) {
		snprintf(why, size, "not an IP address");
		return 1;
	}
	a = ((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr.s6_addr;
	for (size_t i = 0; i < sizeof(v6_special) / sizeof(v6_special[0]); i++) {
		const struct special *s = &v6_special[i];

		if (!in_prefix(a, s->net, s->bits))
			continue;
		if (s->why) {
			snprintf(why, size, "%s", s->why);
			return 1;
		}
		if (!(r = v4_refused(a + s->v4)))
			return 0;
		inet_ntop(AF_INET, a + s->v4, v4, sizeof(v4));
		snprintf(why, size, "%s (embeds %s)", r, v4);
		return 1;
	}
	if ((a[0] & 0xe0) != 0x20) {
		snprintf(why, size, "not global unicast (outside 2000::/3)");
		return 1;
	}
	return 0;
}

/* sd_x5u_header - one response header line from libcurl (status lines start
 * a new response: a 1xx's headers are forgotten): the bytes counted, the
 * Cache-Control values joined; EMSGSIZE past SD_X5U_HEAD_MAX bytes */
int sd_x5u_header(struct sd_x5u_headers *h, const char *line, size_t len)
{
	static const char name[] = "cache-control:";
	size_t n = strlen(h->cache_control);

	if (len > SD_X5U_HEAD_MAX - h->bytes)
		return EMSGSIZE;
	h->bytes += len;
	if (len >= 5 && !memcmp(line, "HTTP/", 5)) {
		h->cache_control[0] = '\0';
		h->cut = 0;
		return 0;
	}
	if (len < sizeof(name) - 1 || strncasecmp(line, name, sizeof(name) - 1))
		return 0;
	line += sizeof(name) - 1;
	len -= sizeof(name) - 1;
	while (len && (line[len - 1] == '\r' || line[len - 1] == '\n'))
		len--;
	if (n + len + 2 >= sizeof(h->cache_control) || memchr(line, '\0', len)) {
		h->cut = 1; /* not understood whole: not cached */
		return 0;
	}
	if (n)
		h->cache_control[n++] = ',';
	memcpy(h->cache_control + n, line, len);
	h->cache_control[n + len] = '\0';
	return 0;
}

/*
 * sd_x5u_cache_ttl - how long a fetched chain is kept, from the response's
 * Cache-Control (RFC 9111 §5.2.2), capped at @max_ttl. The cases:
 *  - headers not understood whole, no-store or no-cache: 0 (not kept);
 *  - max-age=N (digits, optionally quoted; the first one counts): N; a
 *    max-age that is not exactly that ("max-age = 5", "-1", "5s"): 0;
 *  - no max-age: @default_ttl.
 */
unsigned sd_x5u_cache_ttl(const struct sd_x5u_headers *h, unsigned default_ttl, unsigned max_ttl)
{
	const char *p = h->cache_control;
	unsigned long long ttl = default_ttl;
	int seen = 0;

	if (h->cut)
		return 0;
	while (*p) {
		const char *d = p + strspn(p, " \t,"), *end = d + strcspn(d, ",");
		size_t n = (size_t)(end - d);

		while (n && (d[n - 1] == ' ' || d[n - 1] == '\t'))
			n--;
		if ((n == 8 && !strncasecmp(d, "no-store", 8)) || (n == 8 && !strncasecmp(d, "no-cache", 8)))
			return 0;
		if (n >= 7 && !strncasecmp(d, "max-age", 7) && !seen) {
			const char *v = d + 8, *vend = d + n;

			if (n < 9 || d[7] != '=')
				return 0;
			if (vend - v >= 2 && *v == '"' && vend[-1] == '"')
				v++, vend--;
			if (v == vend)
				return 0;
			for (ttl = 0; v < vend; v++) {
				if (!isdigit((unsigned char)*v))
					return 0;
				ttl = ttl > max_ttl ? ttl : ttl * 10 + (unsigned)(*v - '0');
			}
			seen = 1;
		}
		p = end;
	}
	return ttl > max_ttl ? max_ttl : (unsigned)ttl;
}

/* hash - bucket of a URL (FNV-1a) */
static size_t hash(const char *s)
{
	uint32_t h = 2166136261u;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 16777619u;
	return h % NBUCKETS;
}

/* entry_free - one cache entry */
static void entry_free(struct entry *e)
{
	sk_X509_pop_free(e->chain, X509_free);
	free(e->url);
	free(e);
}

/* cache_find - live entry for @url (an expired one is dropped) */
static struct entry *cache_find(struct sipdance_x5u *x, const char *url)
{
	struct entry **pe = &x->bucket[hash(url)], *e;
	time_t now = time(NULL);

	while ((e = *pe)) {
		if (!strcmp(e->url, url)) {
			if (e->expires > now) {
				e->used = ++x->clock;
				return e;
			}
			*pe = e->next;
			entry_free(e);
			x->nentries--;
			return NULL;
		}
		pe = &e->next;
	}
	return NULL;
}

/* cache_evict - drop the least recently used entry */
static void cache_evict(struct sipdance_x5u *x)
{
	struct entry **victim = NULL;

	for (size_t b = 0; b < NBUCKETS; b++)
		for (struct entry **pe = &x->bucket[b]; *pe; pe = &(*pe)->next)
			if (!victim || (*pe)->used < (*victim)->used)
				victim = pe;
	if (victim) {
		struct entry *e = *victim;

		*victim = e->next;
		entry_free(e);
		x->nentries--;
	}
}

/* cache_put - store a chain (a new reference) or a failure for @ttl seconds */
static void cache_put(struct sipdance_x5u *x, const char *url, STACK_OF(X509) *chain, int err,
		      const char *why, unsigned ttl)
{
	struct entry *e, *old;
	size_t b = hash(url);

	if ((old = cache_find(x, url))) {
		for (struct entry **pe = &x->bucket[b]; *pe; pe = &(*pe)->next)
			if (*pe == old) {
				*pe = old->next;
				entry_free(old);
				x->nentries--;
				break;
			}
	}
	if (ttl == 0 || !(e = calloc(1, sizeof(*e))))
		return;
	if (!(e->url = strdup(url)) || (chain && !(e->chain = sd_chain_dup(chain)))) {
		entry_free(e);
		return;
	}
	e->err = err;
	snprintf(e->why, sizeof(e->why), "%s", why);
	e->expires = time(NULL) + ttl;
	e->used = ++x->clock;
	while (x->nentries >= x->conf.cache_size)
		cache_evict(x);
	e->next = x->bucket[b];
	x->bucket[b] = e;
	x->nentries++;
}

/* make_ready - @q's result is in: its callback runs from the loop, never from inside a call */
static void make_ready(struct sipdance_x5u *x, struct sipdance_x5u_query *q)
{
	q->next = x->ready;
	x->ready = q;
	sd_timer_set(x->loop, x->ready_timer, 0);
}

/* job_unref - drop a reference */
static void job_unref(struct job *j)
{
	if (--j->refs)
		return;
	sk_X509_pop_free(j->chain, X509_free);
	free(j->url);
	free(j);
}

/* job_finish - the result of @j: cached, handed to every waiter, a slot freed */
static void job_finish(struct job *j, int err, const char *why, STACK_OF(X509) *chain, unsigned ttl)
{
	struct sipdance_x5u *x = j->x;

	sd_log(err ? SIPDANCE_LOG_INFO : SIPDANCE_LOG_DEBUG, "x5u", "fetch %s: %s", j->url,
	       err ? why : "ok");
	x->st.fetches++;
	if (err)
		x->st.failures++;
	cache_put(x, j->url, chain, err, why, err ? x->conf.neg_ttl : ttl);
	j->done = 1;
	j->err = err;
	j->chain = chain;
	snprintf(j->why, sizeof(j->why), "%s", why);
	while (j->waiters) {
		struct sipdance_x5u_query *q = j->waiters;

		j->waiters = q->next;
		q->err = err;
		snprintf(q->why, sizeof(q->why), "%s", why);
		if (!err && !(q->chain = sd_chain_dup(chain))) {
			q->err = ENOMEM;
			snprintf(q->why, sizeof(q->why), "out of memory");
		}
		make_ready(x, q);
	}
	job_unref(j);
}

static void start_jobs(struct sipdance_x5u *x);

/* on_fetched - x5u_http.c's result for a running job */
static void on_fetched(void *arg, int err, const char *why, const char *body, size_t len,
		       const struct sd_x5u_headers *h)
{
	struct job *j = arg, **pj;
	struct sipdance_x5u *x = j->x;
	STACK_OF(X509) *chain = NULL;
	unsigned ttl = 0;

	for (pj = &x->running; *pj; pj = &(*pj)->next)
		if (*pj == j) {
			*pj = j->next;
			break;
		}
	x->nrunning--;
	if (!err && (err = sd_pem_chain(body, len, &chain)))
		why = err == EBADMSG ? "x5u content is not a PEM certificate chain" : "out of memory";
	else if (!err && sk_X509_num(chain) > MAX_CERTS) {
		err = EBADMSG;
		why = "x5u chain has more than 8 certificates";
		sk_X509_pop_free(chain, X509_free);
		chain = NULL;
	}
	if (!err)
		ttl = sd_x5u_cache_ttl(h, x->conf.default_ttl, x->conf.max_ttl);
	job_finish(j, err, why, chain, ttl);
	start_jobs(x);
}

/*
 * start_jobs - start queued fetches while fewer than max_fetches run. The
 * cases, for each:
 *  - its timeout (counted from when it was asked for) is spent waiting for a
 *    slot: ETIMEDOUT, no packet sent;
 *  - refused by the URL policy (sd_http_get): that error, no packet sent;
 *  - otherwise a transfer with what is left of its timeout.
 */
static void start_jobs(struct sipdance_x5u *x)
{
	while (x->queue && x->nrunning < x->conf.max_fetches) {
		struct job *j = x->queue;
		/* rounded up: never ended before its whole timeout has passed */
		long long left = (j->asked + x->conf.timeout_ms * 1000LL - now_us() + 999) / 1000;
		char why[SD_X5U_WHY_MAX];
		int err;

		x->queue = j->next;
		if (left <= 0) {
			snprintf(why, sizeof(why), "x5u fetch not started within %u ms (%u fetches in progress)",
				 x->conf.timeout_ms, x->nrunning);
			job_finish(j, ETIMEDOUT, why, NULL, 0);
			continue;
		}
		if ((err = sd_http_get(x->http, j->url, (unsigned)left, on_fetched, j, why))) {
			job_finish(j, err, why, NULL, 0);
			continue;
		}
		j->next = x->running;
		x->running = j;
		x->nrunning++;
	}
}

static void on_ready(void *arg);

/* sipdance_x5u_alloc - fetcher: cache, queue, and the HTTPS transport */
int sipdance_x5u_alloc(struct sipdance_x5u **out, const struct sipdance_x5u_conf *conf)
{
	struct sipdance_x5u_conf cf = { .size = sizeof(cf) };
	struct sipdance_x5u *x;
	struct sd_http_conf hc = { 0 };
	int err;

	if (!out || (conf && SD_CONF(&cf, conf, NULL)))
		return EINVAL;
	if (!(x = calloc(1, sizeof(*x))))
		return ENOMEM;
	x->conf = cf;
	x->conf.tls_ca_file = NULL;
	if (!x->conf.timeout_ms)
		x->conf.timeout_ms = 2000;
	if (!x->conf.max_size)
		x->conf.max_size = 65536;
	if (!x->conf.max_ttl)
		x->conf.max_ttl = 86400;
	if (!x->conf.default_ttl)
		x->conf.default_ttl = 3600;
	if (!x->conf.neg_ttl)
		x->conf.neg_ttl = 30;
	if (!x->conf.cache_size)
		x->conf.cache_size = 1024;
	if (!x->conf.max_fetches)
		x->conf.max_fetches = 16;
	hc.timeout_ms = x->conf.timeout_ms;
	hc.max_size = x->conf.max_size;
	hc.ca_file = conf ? conf->tls_ca_file : NULL;
	hc.allow_http = x->conf.allow_http;
	hc.allow_private = x->conf.allow_private;
	hc.allow_any_port = x->conf.allow_any_port;
	if (!(x->loop = x->conf.loop) && (err = sipdance_loop_poll_alloc(&x->own))) {
		free(x);
		return err;
	}
	if (!x->loop)
		x->loop = x->own;
	hc.loop = x->loop;
	if (!(x->ready_timer = sd_timer_alloc(x->loop, on_ready, x)))
		err = ENOMEM;
	else
		err = sd_http_alloc(&x->http, &hc);
	if (err) {
		sipdance_x5u_free(x);
		return err;
	}
	*out = x;
	return 0;
}

/* query_free - a query and the chain it still holds */
static void query_free(struct sipdance_x5u_query *q)
{
	sk_X509_pop_free(q->chain, X509_free);
	free(q);
}

/* query_drop - a query whose callback will never run: its owner's cleanup, then free */
static void query_drop(struct sipdance_x5u_query *q)
{
	if (q->drop)
		q->drop(q->arg);
	query_free(q);
}

/* drop_jobs - the waiters of every job of a list, dropped; the jobs freed */
static void drop_jobs(struct job *j)
{
	while (j) {
		struct job *next = j->next;

		while (j->waiters) {
			struct sipdance_x5u_query *q = j->waiters;

			j->waiters = q->next;
			query_drop(q);
		}
		job_unref(j);
		j = next;
	}
}

/* sipdance_x5u_free - stop every transfer, drop everything */
void sipdance_x5u_free(struct sipdance_x5u *x)
{
	if (!x)
		return;
	sd_http_free(x->http);
	drop_jobs(x->running);
	drop_jobs(x->queue);
	while (x->ready) {
		struct sipdance_x5u_query *q = x->ready;

		x->ready = q->next;
		query_drop(q);
	}
	sipdance_x5u_flush(x);
	sd_timer_free(x->loop, x->ready_timer);
	sipdance_loop_free(x->own);
	free(x);
}

/* on_ready - the ready timer: run the callbacks of everything ready, oldest first */
static void on_ready(void *arg)
{
	struct sipdance_x5u *x = arg;
	struct sipdance_x5u_query *q, *rev = NULL;

	q = x->ready;
	x->ready = NULL;
	while (q) { /* oldest first */
		struct sipdance_x5u_query *n = q->next;

		q->next = rev;
		rev = q;
		q = n;
	}
	while ((q = rev)) {
		rev = q->next;
		if (!q->cancelled) {
			if (q->deferred) {
				q->deferred(q->arg);
			} else {
				q->cb(q->arg, q->err, q->chain, q->why);
				q->chain = NULL;
			}
		}
		query_free(q);
	}
}

/* find_job - running or queued job for @url */
static struct job *find_job(struct sipdance_x5u *x, const char *url)
{
	for (struct job *j = x->running; j; j = j->next)
		if (!strcmp(j->url, url))
			return j;
	for (struct job *j = x->queue; j; j = j->next)
		if (!strcmp(j->url, url))
			return j;
	return NULL;
}

/* new_job - a queued job for @url; NULL on ENOMEM */
static struct job *new_job(struct sipdance_x5u *x, const char *url)
{
	struct job *j = calloc(1, sizeof(*j)), **tail;

	if (!j || !(j->url = strdup(url))) {
		free(j);
		return NULL;
	}
	j->x = x;
	j->refs = 1;
	j->asked = now_us();
	for (tail = &x->queue; *tail; tail = &(*tail)->next)
		;
	*tail = j;
	return j;
}

/* cached - a live cache entry's result; 1 if there was one */
static int cached(struct sipdance_x5u *x, const char *url, int *err, char *why,
		  STACK_OF(X509) **chain)
{
	struct entry *e = cache_find(x, url);

	if (!e) {
		x->st.misses++;
		return 0;
	}
	if (e->chain) {
		x->st.hits++;
		*err = (*chain = sd_chain_dup(e->chain)) ? 0 : ENOMEM;
		snprintf(why, SD_X5U_WHY_MAX, "%s", *err ? "out of memory" : "cached");
	} else {
		x->st.neg_hits++;
		*err = e->err;
		snprintf(why, SD_X5U_WHY_MAX, "%.140s (cached failure)", e->why);
	}
	return 1;
}

/*
 * sipdance_x5u_fetch - cache hit or a shared fetch; result later. Before any
 * packet leaves:
 *  - cache_only: nothing is fetched (EACCES);
 *  - the URL policy (x5u_http.c check_url): https only (http with
 *    allow_http), no user information or zone id, ports 443 and 8443
 *    without allow_any_port;
 *  - every address connected to passes sd_x5u_refused_addr without
 *    allow_private; the server certificate chains to the TLS roots and
 *    names the host.
 */
int sipdance_x5u_fetch(struct sipdance_x5u *x, const char *url, sipdance_x5u_cb *cb, void *arg,
		       struct sipdance_x5u_query **qp)
{
	struct sipdance_x5u_query *q;
	struct job *j;

	if (!x || !url || !cb)
		return EINVAL;
	if (!(q = calloc(1, sizeof(*q))))
		return ENOMEM;
	q->cb = cb;
	q->arg = arg;
	if (cached(x, url, &q->err, q->why, &q->chain)) {
		make_ready(x, q);
	} else if (x->conf.cache_only) {
		q->err = EACCES;
		snprintf(q->why, sizeof(q->why), "x5u %.100s not in the cache (fetching disabled)", url);
		make_ready(x, q);
	} else if ((j = find_job(x, url)) || (j = new_job(x, url))) {
		q->next = j->waiters;
		j->waiters = q;
		start_jobs(x);
	} else {
		free(q);
		return ENOMEM;
	}
	if (qp)
		*qp = q;
	return 0;
}

/* sipdance_x5u_cancel - the callback of @q will not run */
void sipdance_x5u_cancel(struct sipdance_x5u_query *q)
{
	if (q)
		q->cancelled = 1;
}

/* sd_x5u_set_drop - cleanup of @q's argument should the fetcher be freed first */
void sd_x5u_set_drop(struct sipdance_x5u *x, struct sipdance_x5u_query *q, void (*drop)(void *))
{
	q->drop = drop;
}

/* sd_x5u_defer - queue a plain function for the next process() */
int sd_x5u_defer(struct sipdance_x5u *x, void (*fn)(void *), void (*drop)(void *), void *arg)
{
	struct sipdance_x5u_query *q = calloc(1, sizeof(*q));

	if (!q)
		return ENOMEM;
	q->deferred = fn;
	q->drop = drop;
	q->arg = arg;
	make_ready(x, q);
	return 0;
}

/* sipdance_x5u_fetch_sync - cache, or run the transfers until the shared fetch is done */
int sipdance_x5u_fetch_sync(struct sipdance_x5u *x, const char *url, STACK_OF(X509) **chain,
			    const char **why)
{
	static __thread char buf[SD_X5U_WHY_MAX];
	long long deadline;
	struct job *j;
	int err;

	if (!x || !url || !chain)
		return EINVAL;
	*chain = NULL;
	if (why)
		*why = buf;
	if (cached(x, url, &err, buf, chain))
		return err;
	if (x->conf.cache_only) {
		snprintf(buf, sizeof(buf), "x5u %.100s not in the cache (fetching disabled)", url);
		return EACCES;
	}
	if (!(j = find_job(x, url)) && !(j = new_job(x, url)))
		return ENOMEM;
	j->refs++;
	start_jobs(x);
	/* curl ends each transfer within its timeout; the deadline only guards that */
	deadline = j->asked + (2LL * x->conf.timeout_ms + 1000) * 1000;
	err = j->done ? 0 : sipdance_loop_run(x->loop, &j->done, (long)((deadline - now_us()) / 1000 + 1));
	if (err == EINVAL && !j->done) {
		job_unref(j);
		snprintf(buf, sizeof(buf), "a blocking fetch needs the fetcher on a poll loop");
		return EINVAL;
	}
	if (j->done) {
		err = j->err;
		snprintf(buf, sizeof(buf), "%s", j->why);
		if (!err && !(*chain = sd_chain_dup(j->chain)))
			err = ENOMEM;
	} else {
		err = ETIMEDOUT;
		snprintf(buf, sizeof(buf), "x5u fetch of %.100s did not end in time", url);
	}
	job_unref(j);
	return err;
}

/* sipdance_x5u_put - provision a chain */
int sipdance_x5u_put(struct sipdance_x5u *x, const char *url, STACK_OF(X509) *chain, unsigned ttl)
{
	if (!x || !url || !chain || sk_X509_num(chain) < 1)
		return EINVAL;
	cache_put(x, url, chain, 0, "provisioned", ttl ? ttl : x->conf.max_ttl);
	return 0;
}

/* sipdance_x5u_stats - counters */
void sipdance_x5u_stats(struct sipdance_x5u *x, struct sipdance_x5u_stats *st)
{
	*st = x->st;
}

/* sipdance_x5u_flush - drop the cache */
void sipdance_x5u_flush(struct sipdance_x5u *x)
{
	for (size_t b = 0; b < NBUCKETS; b++)
		while (x->bucket[b]) {
			struct entry *e = x->bucket[b];

			x->bucket[b] = e->next;
			entry_free(e);
		}
	x->nentries = 0;
}
