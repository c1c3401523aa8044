/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fuzz_sip.c - libFuzzer target: SIP messages through sipdance-proxy's own
 * input path. One proxy (libsdproxy: nta agent, on_request, routing, the
 * registrar, From checks, user authentication) listens on a loopback UDP
 * port; each input is one datagram sent to it, then the event loop runs
 * until it is quiet. A datagram that mentions "Authorization" comes from
 * 127.0.0.1 (Digest, with a users file), any other from 127.0.0.2, a trusted
 * address, so that routing is reached without credentials. No
 * resolver is configured, so federation refuses without DNS. Every
 * connect/sendto/sendmsg to anything but 127.0.0.0/8, and every DNS query
 * (sofia's own resolver, which nta uses e.g. for strict routes), is redirected
 * in-process to a loopback socket nobody reads: an unreachable network would
 * make sofia's resolver spin (reliability-needs 2). tests/fuzz/run.sh also
 * runs this target in an empty network namespace when it can.
 */
#include "../../sip/proxy.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <sofia-sip/su_log.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
/* the guards replace libc's for sofia-sip too: exported despite -fvisibility=hidden */
#define GUARD __attribute__((visibility("default")))
GUARD int connect(int fd, const struct sockaddr *sa, socklen_t len);
GUARD ssize_t sendto(int fd, const void *buf, size_t n, int flags, const struct sockaddr *sa,
		     socklen_t len);
GUARD ssize_t sendmsg(int fd, const struct msghdr *mh, int flags);
GUARD const char *__asan_default_options(void);

/* loopback_only - whether a destination is allowed: loopback, never port 53 */
static int loopback_only(const struct sockaddr *sa)
{
	if (!sa)
		return 1;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;

		return (ntohl(in->sin_addr.s_addr) >> 24) == 127 && ntohs(in->sin_port) != 53;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;

		return IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr) && ntohs(in6->sin6_port) != 53;
	}
	return sa->sa_family == AF_UNIX;
}

static struct sockaddr_in blackhole;      /* where the rest of the world goes */

/* redirect - @sa, or the black hole when it is not loopback (NULL before setup) */
static const struct sockaddr *redirect(const struct sockaddr *sa, socklen_t *len)
{
	if (loopback_only(sa))
		return sa;
	if (!blackhole.sin_port || (sa->sa_family != AF_INET && sa->sa_family != AF_INET6))
		return NULL;
	*len = sizeof(blackhole);
	return (const struct sockaddr *)&blackhole;
}

/* connect - the guard: loopback only, the rest to the black hole */
int connect(int fd, const struct sockaddr *sa, socklen_t len)
{
	if (!(sa = redirect(sa, &len)))
		return errno = ENETUNREACH, -1;
	return (int)syscall(SYS_connect, fd, sa, len);
}

/* sendto - the guard: loopback only, the rest to the black hole */
ssize_t sendto(int fd, const void *buf, size_t n, int flags, const struct sockaddr *sa, socklen_t len)
{
	if (sa && !(sa = redirect(sa, &len)))
		return errno = ENETUNREACH, -1;
	return syscall(SYS_sendto, fd, buf, n, flags, sa, len);
}

/* sendmsg - the guard: loopback only, the rest to the black hole */
ssize_t sendmsg(int fd, const struct msghdr *mh, int flags)
{
	struct msghdr m = *mh;
	socklen_t len = m.msg_namelen;

	if (m.msg_name && !(m.msg_name = (void *)redirect(m.msg_name, &len)))
		return errno = ENETUNREACH, -1;
	m.msg_namelen = len;
	return syscall(SYS_sendmsg, fd, &m, flags);
}

/* __asan_default_options - no LeakSanitizer: the proxy lives across inputs and
 * is never freed, so at exit everything it holds would count (run the
 * target with ASAN_OPTIONS=detect_leaks=1 -detect_leaks=1 to look for leaks:
 * that is how the ACK leak of docs/reliability.md was found) */
const char *__asan_default_options(void)
{
	return "detect_leaks=0";
}

static su_root_t *root;
static struct px_proxy *px;
static int cfd = -1, tfd = -1;  /* client sockets: 127.0.0.1, and 127.0.0.2 (trusted) */
static struct sockaddr_in paddr;

/* free_port - a UDP port free on 127.0.0.1 right now */
static unsigned short free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	unsigned short port = 0;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&a, &len) == 0)
		port = ntohs(a.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

/* setup - the proxy for a.example on a loopback UDP port, and our client socket */
static int setup(void)
{
	static struct px_conf conf;
	static su_home_t home[1] = { SU_HOME_INIT(home) };
	static char listen[64], loc[96];
	char why[512] = "";
	int help = 0;
	unsigned short port = free_port(), dead = free_port();
	static char users[] = "/tmp/fuzz-sip-users.XXXXXX";
	static const char line[] = "alice:a.example:c1315c20fa629201948ae020615aea75:"
		"2603cb3da10da0951f664a720417d0f0ef30d4948f684ba03af6f41eafcc06d3:12025551000\n";
	char *argv[] = { "fuzz-sip", "--domain", "a.example", "--listen", listen, "--location", loc,
			 "--location", "carol@a.example=sip:carol@127.0.0.1:9", "--max-expires", "1",
			 "--users", users, "--trusted", "127.0.0.2/32", "--log-level", "error", NULL };
	struct sockaddr_in me = { .sin_family = AF_INET };
	int ufd = mkstemp(users);
	socklen_t blen = sizeof(blackhole);
	int bfd = socket(AF_INET, SOCK_DGRAM, 0);

	if (ufd < 0 || write(ufd, line, sizeof(line) - 1) != (ssize_t)sizeof(line) - 1)
		return -1;
	close(ufd);
	blackhole.sin_family = AF_INET;
	blackhole.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bfd < 0 || bind(bfd, (struct sockaddr *)&blackhole, sizeof(blackhole)) != 0 ||
	    getsockname(bfd, (struct sockaddr *)&blackhole, &blen) != 0)
		return -1;
	snprintf(listen, sizeof(listen), "sip:127.0.0.1:%u;transport=udp", port);
	snprintf(loc, sizeof(loc), "bob@a.example=sip:bob@127.0.0.1:%u", dead);
	if (!port || px_conf_parse(&conf, home, (int)(sizeof(argv) / sizeof(argv[0])) - 1, argv, why,
				   sizeof(why), &help))
		return fprintf(stderr, "fuzz-sip: conf: %s\n", why), -1;
	px_log_init(conf.log_level);
	su_init();
	su_log_set_level(su_log_default, 0);
	su_log_set_level(su_log_global, 0);
	su_port_prefer(su_poll_port_create, su_poll_clone_start);
	if (!(root = su_root_create(NULL)) || px_proxy_alloc(&px, root, &conf, why, sizeof(why)))
		return fprintf(stderr, "fuzz-sip: proxy: %s\n", why), -1;
	unlink(users);
	paddr.sin_family = AF_INET;
	paddr.sin_port = htons(port);
	paddr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	me.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cfd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	if (cfd < 0 || bind(cfd, (struct sockaddr *)&me, sizeof(me)) != 0)
		return -1;
	me.sin_addr.s_addr = htonl(INADDR_LOOPBACK + 1);
	tfd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	if (tfd < 0 || bind(tfd, (struct sockaddr *)&me, sizeof(me)) != 0)
		return -1;
	return 0;
}

/* mentions - whether @word occurs in the @size bytes at @data */
static int mentions(const uint8_t *data, size_t size, const char *word)
{
	size_t n = strlen(word);

	for (size_t i = 0; i + n <= size; i++)
		if (!memcmp(data + i, word, n))
			return 1;
	return 0;
}

/* LLVMFuzzerTestOneInput - one datagram to the proxy, then run its loop until quiet */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	char sink[65536];
	int fd;

	if (!ready) {
		if (setup() != 0)
			abort();
		ready = 1;
	}
	if (size == 0 || size > 65000)
		return 0;
	fd = mentions(data, size, "Authorization") ? cfd : tfd;
	if (sendto(fd, data, size, 0, (struct sockaddr *)&paddr, sizeof(paddr)) < 0)
		return 0;
	/* loopback delivers at once: polls that never sleep keep the target CPU-bound */
	for (int i = 0; i < 8; i++) {
		su_root_step(root, 0);
		while (recv(cfd, sink, sizeof(sink), 0) > 0 || recv(tfd, sink, sizeof(sink), 0) > 0)
			;
	}
	return 0;
}
