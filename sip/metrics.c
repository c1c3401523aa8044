/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * metrics.c - the proxy's counters, and a Prometheus text endpoint
 * (--metrics ADDR:PORT) served on the proxy's own su_root: no thread, one
 * HTTP/1.0 GET /metrics per connection. What a scraper sends is hostile
 * input: at most MAX_REQ bytes of request head, MAX_CLIENTS connections at
 * once, each closed after CLIENT_MS whatever it did; the request line is
 * compared with the one request served, never parsed further.
 */
#define _GNU_SOURCE /* accept4 */
#include "proxy.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>

#define MAX_REQ 1024
#define MAX_CLIENTS 4
#define CLIENT_MS 5000
#define MAX_DECISIONS 64
#define NBUCKETS 12
#define NTYPES 6

/* Latency histogram bounds (DNS lookups, shared state), seconds (+Inf implied) */
static const double dns_bounds[NBUCKETS] = {
	0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5,
};
static const struct { uint16_t type; const char *name; } dns_types[NTYPES] = {
	{ SIPDANCE_DNS_A, "A" }, { SIPDANCE_DNS_AAAA, "AAAA" }, { SIPDANCE_DNS_CNAME, "CNAME" },
	{ SIPDANCE_DNS_SRV, "SRV" }, { SIPDANCE_DNS_NAPTR, "NAPTR" }, { SIPDANCE_DNS_TLSA, "TLSA" },
};
#define NSTATUS (SIPDANCE_DNS_SECURE + 1)

/* The shared state's operations (--state) and what they come to. */
#define NSTOREOPS 7
#define NSTORESTATUS (SIPDANCE_STORE_ABSENT + 1)
static const char *const store_ops[NSTOREOPS] = { "claim", "get", "put", "delete", "hset", "hdel", "hgetall" };

/* The counters: one process, one proxy, one event loop. */
static struct {
	unsigned long requests, responses[7];
	struct { const char *rule, *verdict; unsigned long n; } decisions[MAX_DECISIONS];
	size_t ndecisions;
	unsigned long decisions_dropped;
	unsigned long handshakes[2][2]; /* [inbound][ok] */
	unsigned long tls_open[2];      /* [inbound] */
	unsigned long dns[NTYPES][NSTATUS][2]; /* [type][status][cached] */
	unsigned long dns_bucket[NBUCKETS + 1]; /* resolver lookups, cumulative at output */
	unsigned long dns_count;
	double dns_sum;
	unsigned long store[NSTOREOPS][NSTORESTATUS]; /* [op][status] */
	unsigned long store_bucket[NBUCKETS + 1];
	unsigned long store_count;
	double store_sum;
} m;

struct client {
	struct px_metrics *x;
	int fd, index; /* index: its su_root registration, -1 if none */
	su_timer_t *timer;
	char req[MAX_REQ];
	size_t len;
	char *out;
	size_t outlen, sent;
};

struct px_metrics {
	su_root_t *root;
	int fd, index;
	px_metrics_gauges_fn *gauges;
	void *arg;
	struct client c[MAX_CLIENTS];
};

/* px_metrics_request - a request came in (before any check) */
void px_metrics_request(void)
{
	m.requests++;
}

/* px_metrics_response - the proxy sent a response with @status upstream */
void px_metrics_response(int status)
{
	m.responses[status >= 100 && status < 700 ? status / 100 : 0]++;
}

/* px_metrics_decision - a policy decision: @rule and @verdict are static strings */
void px_metrics_decision(const char *rule, const char *verdict)
{
	size_t i;

	for (i = 0; i < m.ndecisions; i++)
		if (!strcmp(m.decisions[i].rule, rule) && !strcmp(m.decisions[i].verdict, verdict))
			break;
	if (i == m.ndecisions) {
		if (i == MAX_DECISIONS) {
			m.decisions_dropped++;
			return;
		}
		m.decisions[m.ndecisions++] = (typeof(m.decisions[0])){ rule, verdict, 0 };
	}
	m.decisions[i].n++;
}

/* px_metrics_handshake - a TLS handshake ended: completed (@ok) or not */
void px_metrics_handshake(int inbound, int ok)
{
	m.handshakes[!!inbound][!!ok]++;
}

/* px_metrics_tls_open - a TLS connection began its handshake */
void px_metrics_tls_open(int inbound)
{
	m.tls_open[!!inbound]++;
}

/* px_metrics_tls_closed - a TLS connection went away; @done: its handshake had
 * completed (else it counts as a failed one) */
void px_metrics_tls_closed(int inbound, int done)
{
	if (m.tls_open[!!inbound])
		m.tls_open[!!inbound]--;
	if (!done)
		px_metrics_handshake(inbound, 0);
}

/* px_metrics_dns - the resolver's observer (struct sipdance_dns_conf) */
void px_metrics_dns(void *arg, uint16_t type, enum sipdance_dns_status status, int cached,
		    uint64_t elapsed_us)
{
	double s = (double)elapsed_us / 1e6;
	size_t t, b;

	(void)arg;
	for (t = 0; t < NTYPES && dns_types[t].type != type; t++)
		;
	if (t == NTYPES || (unsigned)status >= NSTATUS)
		return;
	m.dns[t][status][!!cached]++;
	if (cached)
		return;
	for (b = 0; b < NBUCKETS && s > dns_bounds[b]; b++)
		;
	m.dns_bucket[b]++;
	m.dns_count++;
	m.dns_sum += s;
}

/* px_metrics_store - the shared store's observer (struct sipdance_store_redis_conf) */
void px_metrics_store(void *arg, const char *op, enum sipdance_store_status st, uint64_t elapsed_us)
{
	double s = (double)elapsed_us / 1e6;
	size_t o, b;

	(void)arg;
	for (o = 0; o < NSTOREOPS && strcmp(store_ops[o], op); o++)
		;
	if (o == NSTOREOPS || (unsigned)st >= NSTORESTATUS)
		return;
	m.store[o][st]++;
	for (b = 0; b < NBUCKETS && s > dns_bounds[b]; b++)
		;
	m.store_bucket[b]++;
	m.store_count++;
	m.store_sum += s;
}

/* rss_bytes - this process's resident set, from /proc/self/statm (0 if unknown) */
static unsigned long rss_bytes(void)
{
	unsigned long size, rss = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	if (f) {
		if (fscanf(f, "%lu %lu", &size, &rss) != 2)
			rss = 0;
		fclose(f);
	}
	return rss * (unsigned long)sysconf(_SC_PAGESIZE);
}

/* Output into a growing buffer: a failed allocation marks it failed. */
struct buf {
	char *p;
	size_t len, cap;
	int failed;
};

/* put - printf onto @b */
static void put(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		if (b->failed)
			return;
		va_start(ap, fmt);
		n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? b->cap - b->len : 0, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->failed = 1;
			return;
		}
		if (b->p && (size_t)n < b->cap - b->len) {
			b->len += (size_t)n;
			return;
		}
		size_t cap = (b->cap ? b->cap : 4096) * 2;
		char *p;

		while (cap < b->len + (size_t)n + 1)
			cap *= 2;
		if (!(p = realloc(b->p, cap))) {
			b->failed = 1;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
}

/* histogram - series @name (latency bounds above, seconds) from per-bucket counts */
static void histogram(struct buf *b, const char *name, const char *help, const unsigned long *bucket,
		      double sum, unsigned long count)
{
	unsigned long cum = 0;

	put(b, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name);
	for (size_t i = 0; i < NBUCKETS; i++)
		put(b, "%s_bucket{le=\"%g\"} %lu\n", name, dns_bounds[i], cum += bucket[i]);
	put(b, "%s_bucket{le=\"+Inf\"} %lu\n%s_sum %.6f\n%s_count %lu\n", name, cum + bucket[NBUCKETS], name,
	    sum, name, count);
}

/* render - the exposition text (Prometheus 0.0.4) into @b */
static void render(struct px_metrics *x, struct buf *b)
{
	static const char *const cls[7] = { "other", "1xx", "2xx", "3xx", "4xx", "5xx", "6xx" };
	struct px_metrics_gauges g = { 0 };

	if (x->gauges)
		x->gauges(x->arg, &g);
	put(b, "# HELP sipdance_requests_total SIP requests received.\n"
	       "# TYPE sipdance_requests_total counter\nsipdance_requests_total %lu\n", m.requests);
	put(b, "# HELP sipdance_responses_total SIP responses sent upstream, by class.\n"
	       "# TYPE sipdance_responses_total counter\n");
	for (size_t i = 1; i < 7; i++)
		put(b, "sipdance_responses_total{class=\"%s\"} %lu\n", cls[i], m.responses[i]);
	put(b, "# HELP sipdance_decisions_total Federation policy decisions, by rule and verdict.\n"
	       "# TYPE sipdance_decisions_total counter\n");
	for (size_t i = 0; i < m.ndecisions; i++)
		put(b, "sipdance_decisions_total{rule=\"%s\",verdict=\"%s\"} %lu\n", m.decisions[i].rule,
		    m.decisions[i].verdict, m.decisions[i].n);
	put(b, "# HELP sipdance_tls_handshakes_total TLS handshakes ended, by direction and outcome.\n"
	       "# TYPE sipdance_tls_handshakes_total counter\n");
	for (int in = 0; in < 2; in++)
		for (int ok = 0; ok < 2; ok++)
			put(b, "sipdance_tls_handshakes_total{direction=\"%s\",outcome=\"%s\"} %lu\n",
			    in ? "inbound" : "outbound", ok ? "ok" : "failed", m.handshakes[in][ok]);
	put(b, "# HELP sipdance_dns_lookups_total DNS lookups, by type, DNSSEC status and source.\n"
	       "# TYPE sipdance_dns_lookups_total counter\n");
	for (size_t t = 0; t < NTYPES; t++)
		for (int s = 0; s < NSTATUS; s++)
			for (int c = 0; c < 2; c++)
				if (m.dns[t][s][c])
					put(b, "sipdance_dns_lookups_total{type=\"%s\",status=\"%s\",source=\"%s\"} "
					    "%lu\n", dns_types[t].name, sipdance_dns_status_str(s),
					    c ? "cache" : "resolver", m.dns[t][s][c]);
	histogram(b, "sipdance_dns_lookup_seconds", "Time the resolver took to answer a lookup.",
		  m.dns_bucket, m.dns_sum, m.dns_count);
	put(b, "# HELP sipdance_store_operations_total Operations on the shared state (--state), by "
	       "command and result.\n# TYPE sipdance_store_operations_total counter\n");
	for (size_t o = 0; o < NSTOREOPS; o++)
		for (int st = 0; st < NSTORESTATUS; st++)
			if (m.store[o][st])
				put(b, "sipdance_store_operations_total{op=\"%s\",result=\"%s\"} %lu\n", store_ops[o],
				    sipdance_store_status_str(st), m.store[o][st]);
	histogram(b, "sipdance_store_operation_seconds", "Time from an operation on the shared state to "
		  "its answer.", m.store_bucket, m.store_sum, m.store_count);
	put(b, "# HELP sipdance_connections_open Connections open now: inbound TCP and TLS, and TLS.\n"
	       "# TYPE sipdance_connections_open gauge\n"
	       "sipdance_connections_open{direction=\"inbound\",transport=\"any\"} %u\n"
	       "sipdance_connections_open{direction=\"inbound\",transport=\"tls\"} %lu\n"
	       "sipdance_connections_open{direction=\"outbound\",transport=\"tls\"} %lu\n",
	    g.inbound, m.tls_open[1], m.tls_open[0]);
	put(b, "# HELP sipdance_transactions_pending Requests waiting for their final response.\n"
	       "# TYPE sipdance_transactions_pending gauge\nsipdance_transactions_pending %u\n", g.pending);
	put(b, "# HELP sipdance_sip_transactions SIP transactions the stack holds, those lingering after "
	       "their answer (RFC 3261 timers) included.\n# TYPE sipdance_sip_transactions gauge\n"
	       "sipdance_sip_transactions{side=\"server\"} %lu\nsipdance_sip_transactions{side=\"client\"} %lu\n",
	    g.nta_server, g.nta_client);
	put(b, "# HELP sipdance_resident_memory_bytes Resident set size of the proxy.\n"
	       "# TYPE sipdance_resident_memory_bytes gauge\nsipdance_resident_memory_bytes %lu\n",
	    rss_bytes());
}

/* client_close - end @c's connection */
static void client_close(struct client *c)
{
	struct px_metrics *x = c->x;

	if (c->index >= 0)
		su_root_deregister(x->root, c->index);
	su_timer_destroy(c->timer);
	if (c->fd >= 0)
		close(c->fd);
	free(c->out);
	*c = (struct client){ .x = x, .fd = -1, .index = -1 };
}

/* client_timeout - CLIENT_MS since it connected: whatever it was doing, it ends */
static void client_timeout(struct px_proxy *px, su_timer_t *t, void *arg)
{
	(void)px;
	(void)t;
	client_close(arg);
}

/* reply - queue the response to @c's request: 200 with the metrics, or an error */
static void reply(struct client *c, int status, const char *phrase)
{
	struct buf body = { 0 }, all = { 0 };

	if (status == 200)
		render(c->x, &body);
	else
		put(&body, "%d %s\n", status, phrase);
	put(&all, "HTTP/1.0 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%s"
	    "Connection: close\r\n\r\n%.*s", status, phrase,
	    status == 200 ? "text/plain; version=0.0.4; charset=utf-8" : "text/plain",
	    body.len, status == 405 ? "Allow: GET\r\n" : "", (int)body.len, body.p ? body.p : "");
	free(body.p);
	if (body.failed || all.failed) {
		free(all.p);
		client_close(c);
		return;
	}
	c->out = all.p;
	c->outlen = all.len;
	su_root_eventmask(c->x->root, c->index, c->fd, SU_WAIT_OUT);
}

/* judge - @c's request head is complete (or too long, @full): what to answer */
static void judge(struct client *c, int full)
{
	static const char ok10[] = "GET /metrics HTTP/1.0\r\n", ok11[] = "GET /metrics HTTP/1.1\r\n";

	/*
	 * Case by case, on the request line alone (headers are ignored):
	 *  - no end of the head within MAX_REQ bytes: 431;
	 *  - exactly "GET /metrics HTTP/1.0" or "HTTP/1.1": 200 with the metrics;
	 *  - another method: 405; GET of anything else: 404.
	 */
	if (full)
		reply(c, 431, "Request Header Fields Too Large");
	else if (!strncmp(c->req, ok10, sizeof(ok10) - 1) || !strncmp(c->req, ok11, sizeof(ok11) - 1))
		reply(c, 200, "OK");
	else if (strncmp(c->req, "GET ", 4))
		reply(c, 405, "Method Not Allowed");
	else
		reply(c, 404, "Not Found");
}

/* on_client - a client connection is readable (its request) or writable (our answer) */
static int on_client(struct px_proxy *px, su_wait_t *w, void *arg)
{
	struct client *c = arg;
	ssize_t n;

	(void)px;
	(void)w;
	if (c->out && c->sent < c->outlen) {
		n = send(c->fd, c->out + c->sent, c->outlen - c->sent, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
			return 0;
		if (n <= 0) {
			client_close(c);
		} else if ((c->sent += (size_t)n) == c->outlen) {
			/* all sent: what the client still sends is read and dropped until it
			 * closes (closing on unread input would reset the connection and
			 * could lose the answer), within CLIENT_MS */
			shutdown(c->fd, SHUT_WR);
			su_root_eventmask(c->x->root, c->index, c->fd, SU_WAIT_IN);
		}
		return 0;
	}
	if (c->out) {
		char drop[512];

		n = recv(c->fd, drop, sizeof(drop), MSG_DONTWAIT);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
			client_close(c);
		return 0;
	}
	n = recv(c->fd, c->req + c->len, sizeof(c->req) - 1 - c->len, MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return 0;
	if (n <= 0) {
		client_close(c);
		return 0;
	}
	c->len += (size_t)n;
	c->req[c->len] = '\0';
	if (strstr(c->req, "\r\n\r\n") || strstr(c->req, "\n\n"))
		judge(c, 0);
	else if (c->len == sizeof(c->req) - 1)
		judge(c, 1);
	return 0;
}

/* on_accept - a scraper connects: served if a slot is free, else closed at once */
static int on_accept(struct px_proxy *px, su_wait_t *w, void *arg)
{
	struct px_metrics *x = arg;
	struct client *c = NULL;
	su_wait_t cw[1];
	int fd;

	(void)px;
	(void)w;
	/* accept4: not the accept() limits.c guards for SIP listeners */
	if ((fd = accept4(x->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) < 0)
		return 0;
	for (size_t i = 0; i < MAX_CLIENTS && !c; i++)
		if (x->c[i].fd < 0)
			c = &x->c[i];
	if (!c) {
		close(fd);
		return 0;
	}
	c->fd = fd;
	if (su_wait_create(cw, fd, SU_WAIT_IN) != 0) {
		client_close(c);
		return 0;
	}
	if ((c->index = su_root_register(x->root, cw, on_client, c, 0)) < 0) {
		su_wait_destroy(cw);
		client_close(c);
		return 0;
	}
	if (!(c->timer = su_timer_create(su_root_task(x->root), CLIENT_MS)) ||
	    su_timer_set(c->timer, client_timeout, c) < 0)
		client_close(c);
	return 0;
}

/* listen_on - a listening TCP socket on "ADDR:PORT", "[ADDR6]:PORT" or "PORT"
 * (127.0.0.1); the address numeric: -1 with why[] */
static int listen_on(const char *spec, char *why, size_t whysize)
{
	char host[64] = "127.0.0.1", port[8];
	const char *colon = strrchr(spec, ':');
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV },
			*ai = NULL;
	int fd = -1, one = 1;
	size_t hl;

	if (colon) {
		hl = (size_t)(colon - spec);
		if (hl >= 2 && spec[0] == '[' && spec[hl - 1] == ']')
			spec++, hl -= 2;
		if (!hl || hl >= sizeof(host))
			goto bad;
		memcpy(host, spec, hl);
		host[hl] = '\0';
		spec = colon + 1;
	}
	if (!*spec || strlen(spec) >= sizeof(port) || strspn(spec, "0123456789") != strlen(spec) ||
	    atoi(spec) < 1 || atoi(spec) > 65535)
		goto bad;
	snprintf(port, sizeof(port), "%s", spec);
	if (getaddrinfo(host, port, &hints, &ai) != 0)
		goto bad;
	if ((fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, 16) != 0) {
		snprintf(why, whysize, "--metrics %s:%s: %s", host, port, strerror(errno));
		if (fd >= 0)
			close(fd);
		freeaddrinfo(ai);
		return -1;
	}
	freeaddrinfo(ai);
	return fd;
bad:
	snprintf(why, whysize, "--metrics wants [ADDR:]PORT with a numeric address, not '%s'", spec);
	return -1;
}

/* px_metrics_alloc - serve the metrics on @spec from @root */
int px_metrics_alloc(struct px_metrics **out, su_root_t *root, const char *spec,
		     px_metrics_gauges_fn *gauges, void *arg, char *why, size_t whysize)
{
	struct px_metrics *x = calloc(1, sizeof(*x));
	su_wait_t w[1];

	if (!x) {
		snprintf(why, whysize, "out of memory");
		return ENOMEM;
	}
	x->root = root;
	x->gauges = gauges;
	x->arg = arg;
	x->index = -1;
	for (size_t i = 0; i < MAX_CLIENTS; i++)
		x->c[i] = (struct client){ .x = x, .fd = -1, .index = -1 };
	if ((x->fd = listen_on(spec, why, whysize)) < 0) {
		free(x);
		return EINVAL;
	}
	if (su_wait_create(w, x->fd, SU_WAIT_ACCEPT) != 0 ||
	    (x->index = su_root_register(root, w, on_accept, x, 0)) < 0) {
		snprintf(why, whysize, "--metrics: cannot watch its socket");
		if (x->index < 0)
			su_wait_destroy(w);
		px_metrics_free(x);
		return EIO;
	}
	*out = x;
	return 0;
}

/* px_metrics_free - stop serving; NULL ok */
void px_metrics_free(struct px_metrics *x)
{
	if (!x)
		return;
	for (size_t i = 0; i < MAX_CLIENTS; i++)
		if (x->c[i].fd >= 0)
			client_close(&x->c[i]);
	if (x->index >= 0)
		su_root_deregister(x->root, x->index);
	if (x->fd >= 0)
		close(x->fd);
	free(x);
}
