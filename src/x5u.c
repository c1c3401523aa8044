/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * x5u.c - certificate chains from PASSporT x5u URLs: a minimal HTTP/1.1 GET
 * over OpenSSL (Content-Length, chunked or close-delimited bodies, Cache-
 * Control max-age/no-store), a URL and address policy, a cache of whole
 * PEM chains keyed by URL with a lifetime ceiling and negative entries, and
 * worker threads so that no fetch ever runs in the caller's event loop.
 *
 * Threads: workers take jobs from a queue, fetch, fill the cache and move
 * the waiting queries to a ready list, then signal an eventfd; the host
 * thread runs the callbacks from sipdance_x5u_process(). One mutex guards
 * the cache, the queues and the counters; fetches of one URL are shared.
 * Redirects are not followed; the DNS lookup of a host name is not bounded
 * by the timeout (a literal address needs none).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "internal.h"
#include "stir-internal.h"

#define NBUCKETS 256
#define HEAD_MAX 16384
#define WHY_MAX 160

struct entry {
	struct entry *next;
	char *url;
	STACK_OF(X509) *chain; /* NULL: a cached failure */
	int err;
	char why[WHY_MAX];
	time_t expires;
	unsigned long used;
};

struct job {
	struct job *next;                 /* queue or in-flight list */
	char *url;
	struct sipdance_x5u_query *waiters;
	unsigned refs;                    /* queue/worker + sync waiters */
	int done, err;
	char why[WHY_MAX];
	STACK_OF(X509) *chain;
};

struct sipdance_x5u_query {
	struct sipdance_x5u_query *next;
	sipdance_x5u_cb *cb;
	void *arg;
	void (*deferred)(void *); /* sd_x5u_defer: run this instead */
	void (*drop)(void *);     /* run instead when the fetcher is freed first */
	int cancelled, err;
	char why[WHY_MAX];
	STACK_OF(X509) *chain;
};

struct sipdance_x5u {
	struct sipdance_x5u_conf conf;
	SSL_CTX *ctx;
	int efd;
	pthread_mutex_t mu;
	pthread_cond_t work, done;
	pthread_t *threads;
	unsigned nthreads;
	int stop;
	struct job *queue, *inflight;
	struct sipdance_x5u_query *ready;
	struct entry *bucket[NBUCKETS];
	size_t nentries;
	unsigned long clock;
	struct sipdance_x5u_stats st;
};

/* A parsed x5u URL. */
struct url {
	int tls;
	char host[256], port[6], path[SIPDANCE_STIR_MAX_URL + 1];
};

/* set_why - copy a reason into a fixed buffer */
static int set_why(char *buf, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int set_why(char *buf, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, WHY_MAX, fmt, ap);
	va_end(ap);
	return err;
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
	BIO *b = BIO_new_mem_buf(pem, (int)len);
	STACK_OF(X509) *chain = sk_X509_new_null();
	X509 *x;
	int err = 0;

	if (!b || !chain || len > INT32_MAX) {
		err = ENOMEM;
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

/* parse_url - split and check an x5u URL against the scheme and port policy */
static int parse_url(const struct sipdance_x5u_conf *c, const char *u, struct url *out, char *why)
{
	const char *p, *h, *hend, *port = NULL, *path;
	size_t n;
	long pn;

	memset(out, 0, sizeof(*out));
	if (strlen(u) > SIPDANCE_STIR_MAX_URL)
		return set_why(why, EINVAL, "x5u URL too long");
	for (p = u; *p; p++)
		if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f)
			return set_why(why, EINVAL, "x5u URL has white space or non-ASCII");
	if (!strncasecmp(u, "https://", 8)) {
		out->tls = 1;
		h = u + 8;
	} else if (!strncasecmp(u, "http://", 7) && c->allow_http) {
		h = u + 7;
	} else {
		return set_why(why, EACCES, "x5u scheme not allowed (%s only)",
			       c->allow_http ? "https and http" : "https");
	}
	path = h + strcspn(h, "/?#");
	if (memchr(h, '@', (size_t)(path - h)))
		return set_why(why, EINVAL, "x5u URL has user information");
	if (*h == '[') {
		if (!(hend = memchr(h, ']', (size_t)(path - h))))
			return set_why(why, EINVAL, "x5u URL has an unterminated IPv6 literal");
		h++;
		p = hend + 1;
	} else {
		hend = h + strcspn(h, ":/?#");
		p = hend;
	}
	if (*p == ':')
		port = p + 1;
	else if (p != path)
		return set_why(why, EINVAL, "x5u URL has a malformed host");
	n = (size_t)(hend - h);
	if (n == 0 || n >= sizeof(out->host))
		return set_why(why, EINVAL, "x5u URL has no or a too long host");
	memcpy(out->host, h, n);
	if (port) {
		char *end;

		pn = strtol(port, &end, 10);
		if (end != path || end == port || pn < 1 || pn > 65535)
			return set_why(why, EINVAL, "x5u URL has a malformed port");
	} else {
		pn = out->tls ? 443 : 80;
	}
	if (!c->allow_any_port && pn != 443 && pn != 8443 && !(pn == 80 && !out->tls))
		return set_why(why, EACCES, "x5u port %ld not allowed (443 and 8443 only)", pn);
	snprintf(out->port, sizeof(out->port), "%ld", pn);
	n = strcspn(path, "#");
	if (*path == '/')
		snprintf(out->path, sizeof(out->path), "%.*s", (int)n, path);
	else
		snprintf(out->path, sizeof(out->path), "/%.*s", (int)n, path);
	return 0;
}

/* refused_addr - why an address is not fetched from without allow_private, or NULL */
static const char *refused_addr(const struct sockaddr *sa)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	const uint8_t *a;

	if (sa->sa_family == AF_INET6) {
		int zero = 1;

		a = ((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr.s6_addr;

		for (int i = 0; i < 15; i++)
			zero &= a[i] == 0;
		if (zero)
			return a[15] <= 1 ? "loopback or unspecified" : "reserved";
		if ((a[0] & 0xfe) == 0xfc)
			return "unique-local (private)";
		if (a[0] == 0xfe && (a[1] & 0xc0) == 0x80)
			return "link-local";
		if (a[0] == 0xff)
			return "multicast";
		if (memcmp(a, mapped, 12))
			return NULL;
		a += 12;
	} else if (sa->sa_family == AF_INET) {
		a = (const uint8_t *)&((const struct sockaddr_in *)(const void *)sa)->sin_addr;
	} else {
		return "not an IP address";
	}
	if (a[0] == 127 || a[0] == 0)
		return "loopback or unspecified";
	if (a[0] == 10 || (a[0] == 172 && (a[1] & 0xf0) == 16) || (a[0] == 192 && a[1] == 168) ||
	    (a[0] == 100 && (a[1] & 0xc0) == 64))
		return "private";
	if (a[0] == 169 && a[1] == 254)
		return "link-local";
	if (a[0] >= 224)
		return "multicast or reserved";
	return NULL;
}

/* Deadline-bounded I/O on one connection. */
struct conn {
	int fd;
	SSL *ssl;
	struct timespec deadline;
};

/* left_ms - milliseconds until the deadline, 0 if passed */
static int left_ms(const struct conn *c)
{
	struct timespec now;
	long long ms;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (long long)(c->deadline.tv_sec - now.tv_sec) * 1000 +
	     (c->deadline.tv_nsec - now.tv_nsec) / 1000000;
	return ms > 0 ? (int)ms : 0;
}

/* wait_fd - poll for @events until the deadline; 0 or ETIMEDOUT */
static int wait_fd(const struct conn *c, short events)
{
	struct pollfd pfd = { .fd = c->fd, .events = events };
	int ms, r;

	do {
		if ((ms = left_ms(c)) == 0)
			return ETIMEDOUT;
		r = poll(&pfd, 1, ms);
	} while (r < 0 && errno == EINTR);
	return r > 0 ? 0 : ETIMEDOUT;
}

/* connect_one - non-blocking connect to one address; 0, ETIMEDOUT, or errno */
static int connect_one(struct conn *c, const struct addrinfo *ai)
{
	int err, fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
			     ai->ai_protocol);
	socklen_t len = sizeof(err);

	if (fd < 0)
		return errno;
	c->fd = fd;
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
		return 0;
	if (errno != EINPROGRESS)
		err = errno;
	else if ((err = wait_fd(c, POLLOUT)) == 0 &&
		 getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	if (err) {
		close(fd);
		c->fd = -1;
	}
	return err;
}

/* ssl_wait - wait as OpenSSL asks after @r; 0 to retry, else an error */
static int ssl_wait(struct conn *c, int r)
{
	switch (SSL_get_error(c->ssl, r)) {
	case SSL_ERROR_WANT_READ: return wait_fd(c, POLLIN);
	case SSL_ERROR_WANT_WRITE: return wait_fd(c, POLLOUT);
	case SSL_ERROR_ZERO_RETURN: return EPIPE;
	default: return ECONNRESET;
	}
}

/* conn_io - read (@wr 0) or write all (@wr 1); bytes read, 0 at EOF, or -errno */
static long conn_io(struct conn *c, void *buf, size_t len, int wr)
{
	size_t done = 0;
	int err;

	while (done < len || !wr) {
		if (c->ssl) {
			size_t n = 0;
			int r = wr ? SSL_write_ex(c->ssl, (char *)buf + done, len - done, &n)
				   : SSL_read_ex(c->ssl, buf, len, &n);

			if (r == 1) {
				if (!wr)
					return (long)n;
				done += n;
				continue;
			}
			err = ssl_wait(c, r);
			if (err == EPIPE && !wr)
				return 0;
			if (err)
				return -err;
		} else {
			ssize_t n = wr ? send(c->fd, (char *)buf + done, len - done, MSG_NOSIGNAL)
				       : recv(c->fd, buf, len, 0);

			if (n >= 0) {
				if (!wr)
					return (long)n;
				done += (size_t)n;
				continue;
			}
			if (errno != EAGAIN && errno != EINTR)
				return -errno;
			if ((err = wait_fd(c, wr ? POLLOUT : POLLIN)))
				return -err;
		}
	}
	return (long)done;
}

/* open_conn - resolve, apply the address policy, connect, TLS handshake */
static int open_conn(struct sipdance_x5u *x, const struct url *u, struct conn *c, char *why)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV }, *res, *ai;
	const char *refused = NULL;
	int err = EHOSTUNREACH, r;

	if ((r = getaddrinfo(u->host, u->port, &hints, &res)))
		return set_why(why, EHOSTUNREACH, "x5u host %s: %s", u->host, gai_strerror(r));
	for (ai = res; ai; ai = ai->ai_next) {
		if (!x->conf.allow_private && (refused = refused_addr(ai->ai_addr)))
			continue;
		if ((err = connect_one(c, ai)) == 0 || err == ETIMEDOUT)
			break;
	}
	freeaddrinfo(res);
	if (err == ETIMEDOUT)
		return set_why(why, ETIMEDOUT, "x5u connect to %s timed out", u->host);
	if (err && refused)
		return set_why(why, EACCES, "x5u host %s is %s (not allowed)", u->host, refused);
	if (err)
		return set_why(why, EHOSTUNREACH, "x5u connect to %s: %s", u->host, strerror(err));
	if (!u->tls)
		return 0;
	if (!(c->ssl = SSL_new(x->ctx)) || !SSL_set_fd(c->ssl, c->fd))
		return set_why(why, ENOMEM, "out of memory");
	if (inet_pton(AF_INET, u->host, &(struct in_addr){ 0 }) == 1 ||
	    inet_pton(AF_INET6, u->host, &(struct in6_addr){ 0 }) == 1) {
		X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c->ssl), u->host);
	} else {
		SSL_set_tlsext_host_name(c->ssl, u->host);
		SSL_set1_host(c->ssl, u->host);
	}
	while ((r = SSL_connect(c->ssl)) != 1) {
		if ((err = ssl_wait(c, r))) {
			long v = SSL_get_verify_result(c->ssl);

			if (err == ETIMEDOUT)
				return set_why(why, ETIMEDOUT, "x5u TLS handshake with %s timed out", u->host);
			return set_why(why, EHOSTUNREACH, "x5u TLS handshake with %s failed: %s", u->host,
				       v != X509_V_OK ? X509_verify_cert_error_string(v) : "protocol error");
		}
	}
	return 0;
}

/* header - value of header @name in the head [h, end), or NULL; length in *len */
static const char *header(const char *h, const char *end, const char *name, size_t *len)
{
	size_t nl = strlen(name);

	for (const char *l = memchr(h, '\n', (size_t)(end - h)); l && l + 1 < end;
	     l = memchr(l + 1, '\n', (size_t)(end - l - 1))) {
		const char *s = l + 1, *e = memchr(s, '\n', (size_t)(end - s));

		if (!e)
			e = end;
		if ((size_t)(e - s) > nl && !strncasecmp(s, name, nl) && s[nl] == ':') {
			s += nl + 1;
			while (s < e && (*s == ' ' || *s == '\t'))
				s++;
			while (e > s && (e[-1] == '\r' || e[-1] == ' ' || e[-1] == '\t'))
				e--;
			*len = (size_t)(e - s);
			return s;
		}
	}
	return NULL;
}

/* cache_ttl - lifetime from Cache-Control (no-store/no-cache: 0; max-age), capped */
static unsigned cache_ttl(const struct sipdance_x5u_conf *c, const char *h, const char *end)
{
	size_t len;
	const char *v = header(h, end, "Cache-Control", &len);
	unsigned long ttl = c->default_ttl;

	if (v) {
		char buf[256];

		snprintf(buf, sizeof(buf), "%.*s", (int)len, v);
		for (char *save, *t = strtok_r(buf, ", ", &save); t; t = strtok_r(NULL, ", ", &save)) {
			if (!strcasecmp(t, "no-store") || !strcasecmp(t, "no-cache"))
				return 0;
			if (!strncasecmp(t, "max-age=", 8))
				ttl = strtoul(t + 8, NULL, 10);
		}
	}
	return ttl > c->max_ttl ? c->max_ttl : (unsigned)ttl;
}

/* dechunk - decode a chunked body in place; 0, EBADMSG or EMSGSIZE */
static int dechunk(char *b, size_t len, size_t max, size_t *out)
{
	size_t r = 0, w = 0;

	for (;;) {
		char *end;
		unsigned long n;
		const char *eol = memchr(b + r, '\n', len - r);

		if (!eol)
			return EBADMSG;
		n = strtoul(b + r, &end, 16);
		if (end == b + r)
			return EBADMSG;
		r = (size_t)(eol - b) + 1;
		if (n == 0)
			break;
		if (n > len - r || w + n > max)
			return n > len - r ? EBADMSG : EMSGSIZE;
		memmove(b + w, b + r, n);
		w += n;
		r += n;
		if (r < len && b[r] == '\r')
			r++;
		if (r < len && b[r] == '\n')
			r++;
	}
	*out = w;
	return 0;
}

/* chunked_done - whether the chunked stream in [b, b+len) has its last chunk */
static int chunked_done(const char *b, size_t len)
{
	size_t r = 0;

	for (;;) {
		char *end;
		unsigned long n;
		const char *eol = memchr(b + r, '\n', len - r);

		if (!eol)
			return 0;
		n = strtoul(b + r, &end, 16);
		if (end == b + r)
			return 1; /* malformed: stop reading, dechunk reports it */
		r = (size_t)(eol - b) + 1;
		if (n == 0)
			return 1;
		if (n + 2 > len - r)
			return 0;
		r += n + 2;
	}
}

/* get - GET @u; on success the body is parsed into *chain and *ttl set */
static int get(struct sipdance_x5u *x, const struct url *u, STACK_OF(X509) **chain,
	       unsigned *ttl, char *why)
{
	struct conn c = { .fd = -1 };
	size_t cap = HEAD_MAX + 2 * x->conf.max_size + 64, len = 0, body, blen, hlen = 0;
	char req[SIPDANCE_STIR_MAX_URL + 512], *buf = malloc(cap + 1), *hend = NULL;
	const char *v;
	long n, clen = -1;
	int err, chunked = 0, status;

	if (!buf)
		return set_why(why, ENOMEM, "out of memory");
	clock_gettime(CLOCK_MONOTONIC, &c.deadline);
	c.deadline.tv_sec += x->conf.timeout_ms / 1000;
	c.deadline.tv_nsec += (long)(x->conf.timeout_ms % 1000) * 1000000;
	if (c.deadline.tv_nsec >= 1000000000) {
		c.deadline.tv_sec++;
		c.deadline.tv_nsec -= 1000000000;
	}
	if ((err = open_conn(x, u, &c, why)))
		goto out;
	n = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: %s%s%s%s%s\r\n"
		     "Accept: application/pem-certificate-chain, application/x-pem-file, */*\r\n"
		     "User-Agent: sipdance\r\nConnection: close\r\n\r\n", u->path,
		     strchr(u->host, ':') ? "[" : "", u->host, strchr(u->host, ':') ? "]" : "",
		     ":", u->port);
	if ((n = conn_io(&c, req, (size_t)n, 1)) < 0) {
		err = set_why(why, -n == ETIMEDOUT ? ETIMEDOUT : EHOSTUNREACH, "x5u request: %s",
			      strerror((int)-n));
		goto out;
	}
	for (;;) {
		if (len == cap) {
			err = set_why(why, EMSGSIZE, "x5u response larger than %zu bytes", x->conf.max_size);
			goto out;
		}
		if ((n = conn_io(&c, buf + len, cap - len, 0)) < 0) {
			if (-n == ETIMEDOUT)
				err = set_why(why, ETIMEDOUT, "x5u response timed out after %u ms",
					      x->conf.timeout_ms);
			else
				err = set_why(why, EHOSTUNREACH, "x5u response: %s", strerror((int)-n));
			goto out;
		}
		len += (size_t)n;
		buf[len] = '\0';
		if (!hend) {
			if (!(hend = strstr(buf, "\r\n\r\n"))) {
				if (len > HEAD_MAX || n == 0) {
					err = set_why(why, EHOSTUNREACH, "x5u response has no complete header");
					goto out;
				}
				continue;
			}
			hlen = (size_t)(hend - buf) + 4;
			if (sscanf(buf, "HTTP/1.%*1[01] %3d", &status) != 1) {
				err = set_why(why, EHOSTUNREACH, "x5u response is not HTTP/1.x");
				goto out;
			}
			if (status != 200) {
				err = set_why(why, EHOSTUNREACH, "x5u HTTP status %d", status);
				goto out;
			}
			if ((v = header(buf, hend + 2, "Transfer-Encoding", &blen)))
				chunked = blen >= 7 && !strncasecmp(v + blen - 7, "chunked", 7);
			if (!chunked && (v = header(buf, hend + 2, "Content-Length", &blen))) {
				char *e;

				clen = strtol(v, &e, 10);
				if (e != v + blen || clen < 0) {
					err = set_why(why, EHOSTUNREACH, "x5u response has a bad Content-Length");
					goto out;
				}
			}
			if (clen > (long)x->conf.max_size) {
				err = set_why(why, EMSGSIZE, "x5u response larger than %zu bytes (Content-Length %ld)",
					      x->conf.max_size, clen);
				goto out;
			}
		}
		body = len - hlen;
		if (n == 0 || (clen >= 0 && body >= (size_t)clen) ||
		    (chunked && chunked_done(buf + hlen, body)))
			break;
		if (!chunked && body > x->conf.max_size) {
			err = set_why(why, EMSGSIZE, "x5u response larger than %zu bytes", x->conf.max_size);
			goto out;
		}
	}
	body = len - hlen;
	if (clen >= 0 && body < (size_t)clen) {
		err = set_why(why, EHOSTUNREACH, "x5u response truncated");
		goto out;
	}
	if (clen >= 0)
		body = (size_t)clen;
	if (chunked && (err = dechunk(buf + hlen, body, x->conf.max_size, &body))) {
		set_why(why, err, err == EMSGSIZE ? "x5u response larger than the size limit"
						    : "x5u response has malformed chunks");
		if (err == EBADMSG)
			err = EHOSTUNREACH;
		goto out;
	}
	if (body > x->conf.max_size) {
		err = set_why(why, EMSGSIZE, "x5u response larger than %zu bytes", x->conf.max_size);
		goto out;
	}
	*ttl = cache_ttl(&x->conf, buf, hend + 2);
	if ((err = sd_pem_chain(buf + hlen, body, chain)))
		set_why(why, err, err == EBADMSG ? "x5u content is not a PEM certificate chain"
						 : "out of memory");
out:
	if (c.ssl) {
		SSL_shutdown(c.ssl);
		SSL_free(c.ssl);
	}
	if (c.fd >= 0)
		close(c.fd);
	ERR_clear_error();
	free(buf);
	return err;
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

/* cache_find - live entry for @url (expired ones are dropped); mutex held */
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

/* cache_evict - drop the least recently used entry; mutex held */
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

/* cache_put - store a chain (a new reference) or a failure for @ttl seconds; mutex held */
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

/* signal_ready - wake the host loop */
static void signal_ready(struct sipdance_x5u *x)
{
	uint64_t one = 1;

	if (write(x->efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		sd_log(SIPDANCE_LOG_ERR, "x5u", "eventfd write: %s", strerror(errno));
}

/* job_unref - drop a reference; mutex held */
static void job_unref(struct job *j)
{
	if (--j->refs)
		return;
	sk_X509_pop_free(j->chain, X509_free);
	free(j->url);
	free(j);
}

/* fetch_url - policy, GET, parse: the whole of one fetch, in a worker */
static int fetch_url(struct sipdance_x5u *x, const char *url, STACK_OF(X509) **chain,
		     unsigned *ttl, char *why)
{
	struct url u;
	int err;

	/*
	 * The decision, before any packet leaves:
	 *  - cache_only: nothing is fetched (EACCES).
	 *  - a scheme other than https (http only with allow_http; never file:,
	 *    data: or others), user information in the URL, a malformed host or
	 *    port: EACCES or EINVAL.
	 *  - a port other than 443 or 8443 (80 for allowed http) without
	 *    allow_any_port: EACCES.
	 *  - every address of the host loopback, unspecified, private (RFC 1918,
	 *    RFC 6598, fc00::/7), link-local or multicast, IPv4-mapped included,
	 *    without allow_private: EACCES (open_conn skips such addresses).
	 *  - the HTTPS server certificate must chain to the TLS roots and name
	 *    the host (SSL_set1_host, or the IP address for a literal).
	 */

	*chain = NULL;
	*ttl = x->conf.neg_ttl;
	if (x->conf.cache_only)
		return set_why(why, EACCES, "x5u %s not in the cache (fetching disabled)", url);
	if ((err = parse_url(&x->conf, url, &u, why)))
		return err;
	err = get(x, &u, chain, ttl, why);
	if (err)
		*ttl = x->conf.neg_ttl;
	return err;
}

/* worker - take jobs, fetch, publish results */
static void *worker(void *arg)
{
	struct sipdance_x5u *x = arg;
	sigset_t pipe;

	/* a peer that closes early must give EPIPE here, not kill the process */
	sigemptyset(&pipe);
	sigaddset(&pipe, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe, NULL);
	pthread_mutex_lock(&x->mu);
	for (;;) {
		struct job *j, **pj;
		STACK_OF(X509) *chain;
		char why[WHY_MAX] = "";
		unsigned ttl;
		int err, any = 0;

		while (!x->stop && !x->queue)
			pthread_cond_wait(&x->work, &x->mu);
		if (x->stop)
			break;
		j = x->queue;
		x->queue = j->next;
		j->next = x->inflight;
		x->inflight = j;
		pthread_mutex_unlock(&x->mu);

		err = fetch_url(x, j->url, &chain, &ttl, why);
		sd_log(err ? SIPDANCE_LOG_INFO : SIPDANCE_LOG_DEBUG, "x5u", "fetch %s: %s", j->url,
		       err ? why : "ok");

		pthread_mutex_lock(&x->mu);
		x->st.fetches++;
		if (err)
			x->st.failures++;
		cache_put(x, j->url, chain, err, why, ttl);
		for (pj = &x->inflight; *pj; pj = &(*pj)->next)
			if (*pj == j) {
				*pj = j->next;
				break;
			}
		j->done = 1;
		j->err = err;
		j->chain = chain;
		snprintf(j->why, sizeof(j->why), "%s", why);
		while (j->waiters) {
			struct sipdance_x5u_query *q = j->waiters;

			j->waiters = q->next;
			q->err = err;
			snprintf(q->why, sizeof(q->why), "%s", why);
			q->chain = err ? NULL : sd_chain_dup(chain);
			if (!err && !q->chain) {
				q->err = ENOMEM;
				snprintf(q->why, sizeof(q->why), "out of memory");
			}
			q->next = x->ready;
			x->ready = q;
			any = 1;
		}
		pthread_cond_broadcast(&x->done);
		job_unref(j);
		if (any)
			signal_ready(x);
	}
	pthread_mutex_unlock(&x->mu);
	return NULL;
}

/* sipdance_x5u_alloc - fetcher, TLS context, eventfd, workers */
int sipdance_x5u_alloc(struct sipdance_x5u **out, const struct sipdance_x5u_conf *conf)
{
	struct sipdance_x5u *x;
	unsigned n;

	if (!out)
		return EINVAL;
	if (!(x = calloc(1, sizeof(*x))))
		return ENOMEM;
	if (conf)
		x->conf = *conf;
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
	n = x->conf.workers ? x->conf.workers : 2;
	x->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	pthread_mutex_init(&x->mu, NULL);
	pthread_cond_init(&x->work, NULL);
	pthread_cond_init(&x->done, NULL);
	x->ctx = SSL_CTX_new(TLS_client_method());
	x->threads = calloc(n, sizeof(*x->threads));
	if (x->efd < 0 || !x->ctx || !x->threads)
		goto fail;
	SSL_CTX_set_min_proto_version(x->ctx, TLS1_2_VERSION);
	SSL_CTX_set_verify(x->ctx, SSL_VERIFY_PEER, NULL);
	/* a close without close_notify ends a body; truncation fails the PEM parse */
	SSL_CTX_set_options(x->ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
	if (conf && conf->tls_ca_file ? SSL_CTX_load_verify_locations(x->ctx, conf->tls_ca_file, NULL) != 1
				      : SSL_CTX_set_default_verify_paths(x->ctx) != 1) {
		ERR_clear_error();
		sipdance_x5u_free(x);
		return EINVAL;
	}
	for (; x->nthreads < n; x->nthreads++)
		if (pthread_create(&x->threads[x->nthreads], NULL, worker, x))
			goto fail;
	*out = x;
	return 0;
fail:
	sipdance_x5u_free(x);
	return ENOMEM;
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

/* sipdance_x5u_free - stop workers, drop everything */
void sipdance_x5u_free(struct sipdance_x5u *x)
{
	if (!x)
		return;
	pthread_mutex_lock(&x->mu);
	x->stop = 1;
	pthread_cond_broadcast(&x->work);
	pthread_mutex_unlock(&x->mu);
	for (unsigned i = 0; i < x->nthreads; i++)
		pthread_join(x->threads[i], NULL);
	while (x->queue) {
		struct job *j = x->queue;

		x->queue = j->next;
		while (j->waiters) {
			struct sipdance_x5u_query *q = j->waiters;

			j->waiters = q->next;
			query_drop(q);
		}
		job_unref(j);
	}
	while (x->ready) {
		struct sipdance_x5u_query *q = x->ready;

		x->ready = q->next;
		query_drop(q);
	}
	sipdance_x5u_flush(x);
	SSL_CTX_free(x->ctx);
	if (x->efd >= 0)
		close(x->efd);
	pthread_cond_destroy(&x->work);
	pthread_cond_destroy(&x->done);
	pthread_mutex_destroy(&x->mu);
	free(x->threads);
	free(x);
}

/* sipdance_x5u_fd - the eventfd the host loop watches */
int sipdance_x5u_fd(const struct sipdance_x5u *x)
{
	return x ? x->efd : -1;
}

/* sipdance_x5u_process - run the callbacks of everything ready */
void sipdance_x5u_process(struct sipdance_x5u *x)
{
	struct sipdance_x5u_query *q, *rev = NULL;
	uint64_t v;

	if (!x)
		return;
	if (read(x->efd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		sd_log(SIPDANCE_LOG_ERR, "x5u", "eventfd read: %s", strerror(errno));
	pthread_mutex_lock(&x->mu);
	q = x->ready;
	x->ready = NULL;
	pthread_mutex_unlock(&x->mu);
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

/* find_job - in-flight or queued job for @url; mutex held */
static struct job *find_job(struct sipdance_x5u *x, const char *url)
{
	for (struct job *j = x->inflight; j; j = j->next)
		if (!strcmp(j->url, url))
			return j;
	for (struct job *j = x->queue; j; j = j->next)
		if (!strcmp(j->url, url))
			return j;
	return NULL;
}

/* start_job - existing or new job for @url; mutex held; NULL on ENOMEM */
static struct job *start_job(struct sipdance_x5u *x, const char *url)
{
	struct job *j = find_job(x, url), **tail;

	if (j)
		return j;
	if (!(j = calloc(1, sizeof(*j))) || !(j->url = strdup(url))) {
		free(j);
		return NULL;
	}
	j->refs = 1;
	for (tail = &x->queue; *tail; tail = &(*tail)->next)
		;
	*tail = j;
	pthread_cond_signal(&x->work);
	return j;
}

/* cached - a live cache entry's result into @q; 1 if there was one; mutex held */
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
		snprintf(why, WHY_MAX, "%s", *err ? "out of memory" : "cached");
	} else {
		x->st.neg_hits++;
		*err = e->err;
		snprintf(why, WHY_MAX, "%.140s (cached failure)", e->why);
	}
	return 1;
}

/* sipdance_x5u_fetch - cache hit or a shared background fetch; result later */
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
	pthread_mutex_lock(&x->mu);
	if (cached(x, url, &q->err, q->why, &q->chain)) {
		q->next = x->ready;
		x->ready = q;
		signal_ready(x);
	} else if ((j = start_job(x, url))) {
		q->next = j->waiters;
		j->waiters = q;
	} else {
		pthread_mutex_unlock(&x->mu);
		free(q);
		return ENOMEM;
	}
	pthread_mutex_unlock(&x->mu);
	if (qp)
		*qp = q;
	return 0;
}

/* sipdance_x5u_cancel - the callback of @q will not run */
void sipdance_x5u_cancel(struct sipdance_x5u_query *q)
{
	if (q)
		__atomic_store_n(&q->cancelled, 1, __ATOMIC_RELAXED);
}

/* sd_x5u_set_drop - cleanup of @q's argument should the fetcher be freed first */
void sd_x5u_set_drop(struct sipdance_x5u *x, struct sipdance_x5u_query *q, void (*drop)(void *))
{
	pthread_mutex_lock(&x->mu);
	q->drop = drop;
	pthread_mutex_unlock(&x->mu);
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
	pthread_mutex_lock(&x->mu);
	q->next = x->ready;
	x->ready = q;
	signal_ready(x);
	pthread_mutex_unlock(&x->mu);
	return 0;
}

/* sipdance_x5u_fetch_sync - cache, or wait for the shared fetch */
int sipdance_x5u_fetch_sync(struct sipdance_x5u *x, const char *url, STACK_OF(X509) **chain,
			    const char **why)
{
	static __thread char buf[WHY_MAX];
	struct job *j;
	int err;

	if (!x || !url || !chain)
		return EINVAL;
	*chain = NULL;
	pthread_mutex_lock(&x->mu);
	if (!cached(x, url, &err, buf, chain)) {
		if (!(j = start_job(x, url))) {
			pthread_mutex_unlock(&x->mu);
			return ENOMEM;
		}
		j->refs++;
		while (!j->done)
			pthread_cond_wait(&x->done, &x->mu);
		err = j->err;
		snprintf(buf, sizeof(buf), "%s", j->why);
		if (!err && !(*chain = sd_chain_dup(j->chain)))
			err = ENOMEM;
		job_unref(j);
	}
	pthread_mutex_unlock(&x->mu);
	if (why)
		*why = buf;
	return err;
}

/* sipdance_x5u_put - provision a chain */
int sipdance_x5u_put(struct sipdance_x5u *x, const char *url, STACK_OF(X509) *chain, unsigned ttl)
{
	if (!x || !url || !chain || sk_X509_num(chain) < 1)
		return EINVAL;
	pthread_mutex_lock(&x->mu);
	cache_put(x, url, chain, 0, "provisioned", ttl ? ttl : x->conf.max_ttl);
	pthread_mutex_unlock(&x->mu);
	return 0;
}

/* sipdance_x5u_stats - counters */
void sipdance_x5u_stats(struct sipdance_x5u *x, struct sipdance_x5u_stats *st)
{
	pthread_mutex_lock(&x->mu);
	*st = x->st;
	pthread_mutex_unlock(&x->mu);
}

/* sipdance_x5u_flush - drop the cache */
void sipdance_x5u_flush(struct sipdance_x5u *x)
{
	pthread_mutex_lock(&x->mu);
	for (size_t b = 0; b < NBUCKETS; b++)
		while (x->bucket[b]) {
			struct entry *e = x->bucket[b];

			x->bucket[b] = e->next;
			entry_free(e);
		}
	x->nentries = 0;
	pthread_mutex_unlock(&x->mu);
}
