/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * slowdns.c - an LD_PRELOAD shim for tests: getaddrinfo() of any name under
 * "slow.test" takes 30 seconds and then fails, the way a name server that
 * never answers (or an attacker's) holds a lookup; every other name goes to
 * the C library. tests/fault-x5u.sh and fault-x5u-proxy.sh use it to show
 * that an x5u name lookup ends with the fetch's timeout and blocks nothing.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <netdb.h>
#include <string.h>
#include <unistd.h>

/* slow - whether @node is slow.test or under it */
static int slow(const char *node)
{
	size_t n = node ? strlen(node) : 0;

	return n >= 9 && !strcmp(node + n - 9, "slow.test") && (n == 9 || node[n - 10] == '.');
}

/* getaddrinfo - 30 s then EAI_AGAIN for slow.test names, else the C library's
 * (exported: the build hides symbols by default) */
__attribute__((visibility("default")))
int getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
		struct addrinfo **res)
{
	int (*real)(const char *, const char *, const struct addrinfo *, struct addrinfo **);

	if (slow(node)) {
		sleep(30);
		return EAI_AGAIN;
	}
	*(void **)&real = dlsym(RTLD_NEXT, "getaddrinfo");
	return real ? real(node, service, hints, res) : EAI_SYSTEM;
}
