/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fuzz_sip.c - libFuzzer target: SIP messages through sipdance-proxy's own
 * input path. One proxy (libsdproxy: nta agent, on_request, routing, the
 * registrar, From checks) listens on a loopback UDP port; each input is one
 * datagram sent to it, then the event loop runs until it is quiet. No
 * resolver is configured, so federation refuses without DNS; sends to
 * anything but 127.0.0.0/8 or to port 53 are blocked in-process (and
 * tests/fuzz/run.sh runs this target in an empty network namespace when it can).
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
int connect(int fd, const struct sockaddr *sa, socklen_t len);
ssize_t sendto(int fd, const void *buf, size_t n, int flags, const struct sockaddr *sa, socklen_t len);
ssize_t sendmsg(int fd, const struct msghdr *mh, int flags);

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

/* connect - the guard: loopback only */
int connect(int fd, const struct sockaddr *sa, socklen_t len)
{
	if (!loopback_only(sa))
		return errno = ENETUNREACH, -1;
	return (int)syscall(SYS_connect, fd, sa, len);
}

/* sendto - the guard: loopback only */
ssize_t sendto(int fd, const void *buf, size_t n, int flags, const struct sockaddr *sa, socklen_t len)
{
	if (!loopback_only(sa))
		return errno = ENETUNREACH, -1;
	return syscall(SYS_sendto, fd, buf, n, flags, sa, len);
}

/* sendmsg - the guard: loopback only */
ssize_t sendmsg(int fd, const struct msghdr *mh, int flags)
{
	if (!loopback_only(mh->msg_name))
		return errno = ENETUNREACH, -1;
	return syscall(SYS_sendmsg, fd, mh, flags);
}

static su_root_t *root;
static struct px_proxy *px;
static int cfd = -1;
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
	char *argv[] = { "fuzz-sip", "--domain", "a.example", "--listen", listen, "--location", loc,
			 "--location", "carol@a.example=sip:carol@127.0.0.1:9", "--max-expires", "1",
			 "--log-level", "error", NULL };
	struct sockaddr_in me = { .sin_family = AF_INET };

	snprintf(listen, sizeof(listen), "sip:127.0.0.1:%u;transport=udp", port);
	snprintf(loc, sizeof(loc), "bob@a.example=sip:bob@127.0.0.1:%u", dead);
	if (!port || px_conf_parse(&conf, home, (int)(sizeof(argv) / sizeof(argv[0])) - 1, argv, why,
				   sizeof(why), &help))
		return fprintf(stderr, "fuzz-sip: conf: %s\n", why), -1;
	px_log_init(SIPDANCE_LOG_ERR + 0 * conf.log_level);
	su_init();
	su_log_set_level(su_log_default, 0);
	su_log_set_level(su_log_global, 0);
	su_port_prefer(su_poll_port_create, su_poll_clone_start);
	if (!(root = su_root_create(NULL)) || px_proxy_alloc(&px, root, &conf, why, sizeof(why)))
		return fprintf(stderr, "fuzz-sip: proxy: %s\n", why), -1;
	paddr.sin_family = AF_INET;
	paddr.sin_port = htons(port);
	paddr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	me.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cfd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	if (cfd < 0 || bind(cfd, (struct sockaddr *)&me, sizeof(me)) != 0)
		return -1;
	return 0;
}

/* LLVMFuzzerTestOneInput - one datagram to the proxy, then run its loop until quiet */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	char sink[65536];

	if (!ready) {
		if (setup() != 0)
			abort();
		ready = 1;
	}
	if (size == 0 || size > 65000)
		return 0;
	if (sendto(cfd, data, size, 0, (struct sockaddr *)&paddr, sizeof(paddr)) < 0)
		return 0;
	for (int i = 0; i < 8; i++) {
		su_root_step(root, i < 2 ? 1 : 0);
		while (recv(cfd, sink, sizeof(sink), 0) > 0)
			;
	}
	return 0;
}
