/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * limits.c - what one source address, and everyone together, may hold of
 * the proxy's descriptors. sofia-sip accepts connections itself and offers
 * no hook there, so accept() is interposed from the executable (the proxy
 * checks at start that sofia-sip's calls reach it). At accept: at most
 * --max-connections inbound connections, --max-source-connections from one
 * address (IPv6: one /64), and --max-source-handshakes new TLS connections
 * per address in 10 s; refused ones are closed at once. A connection must complete its TLS
 * handshake (TLS) or send data (TCP) within --accept-timeout, or it is shut
 * down. When descriptors run out anyway (EMFILE), a spare one lets the
 * pending connection be accepted and closed: accept() never spins.
 * getaddrinfo() is interposed too: on the event loop, a host name is never
 * resolved (sofia-sip would block on it for a Via maddr in its own error
 * replies); IP literals pass, and other threads (x5u fetches) are untouched.
 */
#define _GNU_SOURCE
#include "proxy.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <linux/tcp.h>
#include <stddef.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <openssl/rand.h>

#define RESERVED_FDS 128  /* for listeners, DNS, outbound connections, logs */
#define BUCKETS 4096      /* per-source handshake buckets (hashed) */
#define RATE_WINDOW_S 10  /* --max-source-handshakes is per this many seconds */

/* One accepted connection. */
struct accepted {
	int fd;
	ino_t ino;                    /* its socket: the descriptor may be reused after close */
	int tls;                      /* accepted on a TLS listener */
	int ready;                    /* handshake done (TLS) or data received (TCP) */
	int shut;                     /* shut down by us */
	struct sockaddr_storage peer;
	struct timespec at;
};

/* Handshake tokens of the addresses that hash to one bucket. */
struct bucket {
	double tokens;
	struct timespec at;
};

struct px_limits {
	const struct px_conf *conf;
	struct px_hook *hook;
	su_timer_t *sweep;
	struct accepted *a;
	size_t n, cap;
	struct bucket b[BUCKETS];
	unsigned tls_ports[PX_MAX_LISTEN];
	size_t ntls_ports;
	uint64_t seed;                /* of bucket_of()'s hash */
	int spare;                    /* a descriptor to give back when they run out */
	time_t logged;                /* the last refusal log line: one per second */
	unsigned refused[4];          /* since it: total, source, handshakes, descriptors */
};

static struct px_limits *active;  /* the one proxy of this process whose accept() is guarded */
static pthread_t loop_thread;     /* its event loop's */
static int (*real_accept)(int, struct sockaddr *, socklen_t *); /* libc's */
static int (*real_getaddrinfo)(const char *, const char *, const struct addrinfo *,
			       struct addrinfo **);

/* ms_since - milliseconds from @t to now (monotonic) */
static long ms_since(const struct timespec *t)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - t->tv_sec) * 1000 + (now.tv_nsec - t->tv_nsec) / 1000000;
}

/* inode - the inode of socket @fd, or 0 if it is closed */
static ino_t inode(int fd)
{
	struct stat st;

	return fstat(fd, &st) == 0 ? st.st_ino : 0;
}

/* forget - drop record @i */
static void forget(struct px_limits *l, size_t i)
{
	l->a[i] = l->a[--l->n];
}

/* live - whether record @i is still its connection; a closed one is dropped (0) */
static int live(struct px_limits *l, size_t i)
{
	if (inode(l->a[i].fd) == l->a[i].ino)
		return 1;
	forget(l, i);
	return 0;
}

/* note_refusal - count a refused connection; one log line a second at most */
static void note_refusal(struct px_limits *l, int kind, const struct sockaddr *peer)
{
	char pstr[64];
	time_t now = time(NULL);

	l->refused[0]++;
	l->refused[kind]++;
	if (now == l->logged)
		return;
	l->logged = now;
	px_log(SIPDANCE_LOG_WARN, "limits", "connection from %s refused: %s (refused in the last "
	       "second(s): %u, %u over --max-source-connections %u, %u over --max-source-handshakes "
	       "%u, %u for lack of descriptors)", peer ? px_addr_str(peer, pstr, sizeof(pstr)) : "?",
	       kind == 1 ? "too many connections from that address or in all"
	       : kind == 2 ? "too many TLS handshakes from that address"
	       : "out of descriptors", l->refused[0], l->refused[1], l->conf->max_source_connections,
	       l->refused[2], l->conf->max_source_handshakes, l->refused[3]);
	memset(l->refused, 0, sizeof(l->refused));
}

/* bucket_of - the handshake bucket of @peer's source (same_host), by a hash
 * keyed at start: no one can aim at another address's bucket */
static struct bucket *bucket_of(struct px_limits *l, const struct sockaddr_storage *peer)
{
	const unsigned char *p = peer->ss_family == AF_INET6
		? ((const struct sockaddr_in6 *)peer)->sin6_addr.s6_addr
		: (const unsigned char *)&((const struct sockaddr_in *)peer)->sin_addr;
	size_t n = peer->ss_family == AF_INET6 ? 8 : 4;
	uint64_t h = l->seed;

	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 1099511628211u;
	return &l->b[(h ^ (h >> 32)) % BUCKETS];
}

/* admit - whether a connection from @peer on a TLS (@tls) or TCP listener may stay */
static int admit(struct px_limits *l, int fd, const struct sockaddr_storage *peer, int tls)
{
	unsigned same = 0, cap = l->conf->max_source_handshakes;
	struct bucket *b;
	double elapsed;

	/*
	 * The decision, case by case:
	 *  - a record of descriptor @fd is of a closed connection: dropped;
	 *  - --max-connections inbound connections open: refused;
	 *  - --max-source-connections open from this address: refused;
	 *  - a TLS listener, and this address started --max-source-handshakes
	 *    in the last 10 s (a bucket refilled at that rate): refused. A TLS
	 *    handshake may cost a synchronous DNS lookup (dane_clientid);
	 *  - otherwise: admitted.
	 */
	for (size_t i = 0; i < l->n;) {
		if (l->a[i].fd == fd) {
			forget(l, i);
			continue;
		}
		if (px_addr_same((struct sockaddr *)&l->a[i].peer, (const struct sockaddr *)peer, 1) &&
		    live(l, i))
			same++;
		i++;
	}
	for (size_t i = 0; l->n >= l->conf->max_connections && i < l->n;)
		i += live(l, i); /* full: are they all still open? */
	if (l->n >= l->conf->max_connections || same >= l->conf->max_source_connections)
		return 1;
	if (!tls)
		return 0;
	b = bucket_of(l, peer);
	elapsed = b->at.tv_sec ? ms_since(&b->at) / 1000.0 : RATE_WINDOW_S;
	b->tokens += elapsed * cap / RATE_WINDOW_S;
	if (b->tokens > cap)
		b->tokens = cap;
	clock_gettime(CLOCK_MONOTONIC, &b->at);
	if (b->tokens < 1)
		return 2;
	b->tokens -= 1;
	return 0;
}

/* listener_tls - whether listening socket @fd is one of our TLS listeners */
static int listener_tls(const struct px_limits *l, int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	unsigned port;

	if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
		return 0;
	port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
					      : ((struct sockaddr_in *)&ss)->sin_port);
	for (size_t i = 0; i < l->ntls_ports; i++)
		if (l->tls_ports[i] == port)
			return 1;
	return 0;
}

/* guard - a connection just accepted on @lfd (@s, or -1 with errno): keep it, or close it */
static int guard(struct px_limits *l, int lfd, int s, struct sockaddr *sa, socklen_t *len)
{
	struct sockaddr_storage peer = { 0 };
	int err = errno, kind, tls;

	if (s < 0) {
		if (err != EMFILE && err != ENFILE)
			return errno = err, -1;
		/* out of descriptors: take the pending connection with the spare one
		 * and close it, so that the listener is not readable for ever */
		if (l->spare >= 0)
			close(l->spare);
		s = real_accept(lfd, (struct sockaddr *)&peer, &(socklen_t){ sizeof(peer) });
		if (s >= 0)
			close(s);
		l->spare = open("/dev/null", O_RDONLY | O_CLOEXEC);
		note_refusal(l, 3, s >= 0 ? (struct sockaddr *)&peer : NULL);
		return errno = 0, -1; /* sofia-sip reports no error for errno 0 */
	}
	if (sa && len && *len <= sizeof(peer))
		memcpy(&peer, sa, *len);
	tls = listener_tls(l, lfd);
	if ((kind = admit(l, s, &peer, tls))) {
		close(s);
		note_refusal(l, kind, (struct sockaddr *)&peer);
		return errno = 0, -1;
	}
	if (l->n == l->cap) {
		size_t c = l->cap ? 2 * l->cap : 64;
		struct accepted *p = realloc(l->a, c * sizeof(*p));

		if (!p)
			return s; /* untracked, not refused */
		l->a = p;
		l->cap = c;
	}
	l->a[l->n] = (struct accepted){ .fd = s, .ino = inode(s), .tls = tls, .peer = peer };
	clock_gettime(CLOCK_MONOTONIC, &l->a[l->n++].at);
	return s;
}

/* accept - sofia-sip's calls, guarded while a proxy runs (see the top of the
 * file); exported, so that the dynamic linker binds libsofia-sip-ua's to it */
__attribute__((visibility("default"))) int accept(int fd, struct sockaddr *sa, socklen_t *len);
int accept(int fd, struct sockaddr *sa, socklen_t *len)
{
	int s;

	if (!real_accept &&
	    !(real_accept = (int (*)(int, struct sockaddr *, socklen_t *))dlsym(RTLD_NEXT, "accept")))
		return errno = ENOSYS, -1;
	s = real_accept(fd, sa, len);
	return active ? guard(active, fd, s, sa, len) : s;
}

/* numeric - whether @host is an IPv4 or IPv6 literal */
static int numeric(const char *host)
{
	unsigned char buf[16];

	return inet_pton(AF_INET, host, buf) == 1 || inet_pton(AF_INET6, host, buf) == 1;
}

/* getaddrinfo - no host name resolved on the event loop while a proxy runs */
__attribute__((visibility("default"))) int getaddrinfo(const char *node, const char *service,
						       const struct addrinfo *hints,
						       struct addrinfo **res);
int getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
		struct addrinfo **res)
{
	static time_t logged;
	time_t now;

	if (!real_getaddrinfo && !(real_getaddrinfo = (int (*)(const char *, const char *,
		const struct addrinfo *, struct addrinfo **))dlsym(RTLD_NEXT, "getaddrinfo")))
		return EAI_SYSTEM;
	/*
	 * The cases: no proxy running, another thread, no host, or an IP
	 * literal: resolved as asked. A host name on the event loop: refused.
	 * Everything the proxy routes by name goes through its DNSSEC layer; a
	 * name here came from a peer (a Via maddr in one of sofia-sip's own
	 * error replies) and a blocking lookup would stall every request.
	 */
	if (active && node && pthread_equal(pthread_self(), loop_thread) && !numeric(node)) {
		if ((now = time(NULL)) != logged) {
			logged = now;
			px_log(SIPDANCE_LOG_WARN, "limits", "host name %.64s not resolved: no blocking "
			       "lookup on the event loop (a Via maddr?)", node);
		}
		return EAI_NONAME;
	}
	return real_getaddrinfo(node, service, hints, res);
}

/* received - whether TCP connection @fd has received data since it was
 * accepted (1 too when the kernel cannot tell: never shut down by mistake) */
static int received(int fd)
{
	struct tcp_info ti = { 0 };
	socklen_t len = sizeof(ti);

	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) != 0 ||
	    len < offsetof(struct tcp_info, tcpi_bytes_received) + sizeof(ti.tcpi_bytes_received))
		return 1;
	return ti.tcpi_bytes_received > 0;
}

/* sweep - every second: closed connections forgotten, late ones shut down */
static void sweep(struct px_proxy *px, su_timer_t *t, void *arg)
{
	struct px_limits *l = arg;
	long age;
	char pstr[64];

	for (size_t i = 0; i < l->n;) {
		struct accepted *c = &l->a[i];

		if (!live(l, i))
			continue;
		i++;
		if (c->ready || c->shut || (age = ms_since(&c->at)) < (long)l->conf->accept_timeout_ms)
			continue;
		c->ready = c->tls ? px_hook_established_fd(l->hook, c->fd) : received(c->fd);
		if (c->ready)
			continue;
		/* sofia-sip sees the end of the stream and closes the connection */
		shutdown(c->fd, SHUT_RDWR);
		c->shut = 1;
		px_log(SIPDANCE_LOG_INFO, "limits", "connection from %s closed: no %s within "
		       "--accept-timeout %u ms", px_addr_str((struct sockaddr *)&c->peer, pstr, sizeof(pstr)),
		       c->tls ? "TLS handshake" : "data", l->conf->accept_timeout_ms);
	}
	su_timer_set_interval(t, sweep, l, 1000);
}

/* descriptors - a soft descriptor limit with room for --max-connections */
static void descriptors(const struct px_conf *c)
{
	struct rlimit rl;
	rlim_t need = (rlim_t)c->max_connections + RESERVED_FDS;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= need)
		return;
	rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > need ? need : rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < need)
		px_log(SIPDANCE_LOG_WARN, "limits", "descriptor limit %lu is below --max-connections %u "
		       "+ %d: connections past it are closed as they come", (unsigned long)rl.rlim_cur,
		       c->max_connections, RESERVED_FDS);
}

/* px_limits_alloc - guard the accept() of @c's listeners; @hook tells finished handshakes */
int px_limits_alloc(struct px_limits **out, su_root_t *root, const struct px_conf *c,
		    struct px_hook *hook, char *why, size_t whysize)
{
	struct px_limits *l = calloc(1, sizeof(*l));

	*out = l;
	if (!l)
		return ENOMEM;
	l->conf = c;
	l->hook = hook;
	l->spare = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (RAND_bytes((unsigned char *)&l->seed, sizeof(l->seed)) != 1)
		return EIO;
	for (size_t i = 0; i < c->nlisten && l->ntls_ports < PX_MAX_LISTEN; i++) {
		const char *u = c->listen[i], *p = strrchr(u, ']'), *colon;

		if (strncasecmp(u, "sips:", 5) && !strstr(u, "transport=tls"))
			continue;
		colon = strchr(p ? p : strchr(u, ':') + 1, ':');
		l->tls_ports[l->ntls_ports++] = colon ? (unsigned)atoi(colon + 1) : 5061;
	}
	/* sofia-sip must reach this file's accept() and getaddrinfo(), not libc's */
	if (dlsym(RTLD_DEFAULT, "accept") != (void *)accept ||
	    dlsym(RTLD_DEFAULT, "getaddrinfo") != (void *)getaddrinfo) {
		snprintf(why, whysize, "accept() and getaddrinfo() are not guarded (sofia-sip's "
			 "calls do not reach sip/limits.c): refusing to run without them");
		return EPROTO;
	}
	if (!(l->sweep = su_timer_create(su_root_task(root), 1000)))
		return ENOMEM;
	descriptors(c);
	loop_thread = pthread_self();
	active = l;
	su_timer_set_interval(l->sweep, sweep, l, 1000);
	return 0;
}

/* px_limits_open - inbound connections open now (closed ones forgotten) */
unsigned px_limits_open(struct px_limits *l)
{
	for (size_t i = 0; l && i < l->n;)
		if (live(l, i))
			i++;
	return l ? (unsigned)l->n : 0;
}

/* px_limits_free - accept() unguarded again */
void px_limits_free(struct px_limits *l)
{
	if (!l)
		return;
	if (active == l)
		active = NULL;
	su_timer_destroy(l->sweep);
	if (l->spare >= 0)
		close(l->spare);
	free(l->a);
	free(l);
}
