/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * self.c - "is this address us?", numerically: the proxy's listeners as
 * socket addresses (a wildcard listener stands for every local address,
 * loopback 127/8 included, as Linux delivers it all to lo), compared by
 * address and port number, so that 127.0.0.1:05800, 127.000.000.001:5800
 * (not an address at all) or [::ffff:127.0.0.1]:5800 cannot pass for someone
 * else. Used to remove our own Routes, refuse contacts and federation
 * targets that point back at us, and recognise our Via in responses. The
 * sockets of ours that are not SIP (the --state server, the --metrics
 * listener) are never a destination: a request sent there over TCP would
 * have its lines read as commands (Redis reads every line as one).
 */
#include "proxy.h"

#include <errno.h>
#include <ifaddrs.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <sofia-sip/url.h>

#define MAX_LOCAL 64

struct px_self {
	struct sockaddr_storage lsn[PX_MAX_LISTEN]; /* port set; address 0 = wildcard */
	size_t nlsn;
	struct sockaddr_storage local[MAX_LOCAL];  /* addresses of the interfaces (port 0) */
	size_t nlocal;
	struct sockaddr_storage other[2];          /* --state, --metrics */
	const char *other_opt[2];
	size_t nother;
};

/* parse_ip - an IP literal (IPv6 with or without brackets) into @sa, port 0: 1, else 0 */
static int parse_ip(const char *host, struct sockaddr_storage *sa)
{
	struct sockaddr_in *in = (struct sockaddr_in *)sa;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)sa;
	char buf[INET6_ADDRSTRLEN + 2];
	size_t n;

	memset(sa, 0, sizeof(*sa));
	if (!host)
		return 0;
	if (inet_pton(AF_INET, host, &in->sin_addr) == 1) {
		in->sin_family = AF_INET;
		return 1;
	}
	n = strlen(host);
	if (host[0] == '[' && n > 2 && host[n - 1] == ']' && n - 2 < sizeof(buf)) {
		memcpy(buf, host + 1, n - 2);
		buf[n - 2] = '\0';
		host = buf;
	}
	if (inet_pton(AF_INET6, host, &in6->sin6_addr) != 1)
		return 0;
	in6->sin6_family = AF_INET6;
	/* an IPv4-mapped IPv6 address is that IPv4 address */
	if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
		struct in_addr a;

		memcpy(&a, in6->sin6_addr.s6_addr + 12, 4);
		memset(sa, 0, sizeof(*sa));
		in->sin_family = AF_INET;
		in->sin_addr = a;
	}
	return 1;
}

/* port_num - the port of @u as a number: its digits (leading zeros allowed),
 * or the default of its scheme and transport; 0 if it is not a port */
static unsigned port_num(const url_t *u)
{
	const char *p = u->url_port;
	unsigned long n;
	char *end;

	if (!p || !*p)
		return u->url_type == url_sips ||
		       (u->url_params && url_has_param(u, "transport=tls")) ? 5061 : 5060;
	n = strtoul(p, &end, 10);
	return *end || p[0] == '-' || p[0] == '+' || n == 0 || n > 65535 ? 0 : (unsigned)n;
}

/* set_port - the port of an IPv4/IPv6 socket address */
static void set_port(struct sockaddr_storage *sa, unsigned port)
{
	if (sa->ss_family == AF_INET)
		((struct sockaddr_in *)sa)->sin_port = htons((uint16_t)port);
	else
		((struct sockaddr_in6 *)sa)->sin6_port = htons((uint16_t)port);
}

/* is_any - the wildcard address of its family */
static int is_any(const struct sockaddr_storage *sa)
{
	static const struct in6_addr any6;

	if (sa->ss_family == AF_INET)
		return ((const struct sockaddr_in *)sa)->sin_addr.s_addr == 0;
	return !memcmp(&((const struct sockaddr_in6 *)sa)->sin6_addr, &any6, sizeof(any6));
}

/* px_addr_same - the same IP address, ports aside; with @net an IPv6 address
 * counts by its /64 (what one host holds and picks addresses from at will) */
int px_addr_same(const struct sockaddr *a, const struct sockaddr *b, int net)
{
	if (a->sa_family != b->sa_family)
		return 0;
	if (a->sa_family == AF_INET)
		return ((const struct sockaddr_in *)(const void *)a)->sin_addr.s_addr ==
		       ((const struct sockaddr_in *)(const void *)b)->sin_addr.s_addr;
	return a->sa_family == AF_INET6 &&
	       !memcmp(&((const struct sockaddr_in6 *)(const void *)a)->sin6_addr,
		       &((const struct sockaddr_in6 *)(const void *)b)->sin6_addr, net ? 8 : 16);
}

/* same_ip - px_addr_same() of two storages, exactly */
static int same_ip(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	return px_addr_same((const struct sockaddr *)a, (const struct sockaddr *)b, 0);
}

/* port_of - the port of a socket address */
static unsigned port_of(const struct sockaddr_storage *sa)
{
	return ntohs(sa->ss_family == AF_INET ? ((const struct sockaddr_in *)sa)->sin_port
					      : ((const struct sockaddr_in6 *)sa)->sin6_port);
}

/* is_local - an address of this host (any interface, or loopback) */
static int is_local(const struct px_self *s, const struct sockaddr_storage *a)
{
	if (a->ss_family == AF_INET &&
	    (ntohl(((const struct sockaddr_in *)a)->sin_addr.s_addr) >> 24) == 127)
		return 1;
	if (a->ss_family == AF_INET6 && IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)a)->sin6_addr))
		return 1;
	for (size_t i = 0; i < s->nlocal; i++)
		if (same_ip(&s->local[i], a))
			return 1;
	return is_any(a);
}

/* add_other - the socket ADDR:PORT at the start of @spec (ADDR an IPv4 or
 * [IPv6] literal, or absent: @dflt), of option @opt; a spec that does not
 * parse is left out (the option itself refuses it at start-up) */
static void add_other(struct px_self *s, const char *spec, const char *dflt, const char *opt)
{
	struct sockaddr_storage *sa = &s->other[s->nother];
	const char *colon = spec[0] == '[' ? strstr(spec, "]:") : strrchr(spec, ':');
	char host[INET6_ADDRSTRLEN + 2];
	unsigned long port;
	char *end;

	if (colon && spec[0] == '[')
		colon++;
	if (colon && (size_t)(colon - spec) >= sizeof(host))
		return;
	snprintf(host, sizeof(host), "%.*s", colon ? (int)(colon - spec) : (int)strlen(dflt),
		 colon ? spec : dflt);
	port = strtoul(colon ? colon + 1 : spec, &end, 10);
	if ((*end && *end != '/') || port == 0 || port > 65535 || !parse_ip(host, sa))
		return;
	set_port(sa, (unsigned)port);
	s->other_opt[s->nother++] = opt;
}

/* px_self_alloc - our listeners (IP literals or wildcards; names are left out) */
int px_self_alloc(struct px_self **out, const struct px_conf *c, su_home_t *home)
{
	struct px_self *s = calloc(1, sizeof(*s));
	struct ifaddrs *ifa = NULL;

	if (!s)
		return ENOMEM;
	for (size_t i = 0; i < c->nlisten && s->nlsn < PX_MAX_LISTEN; i++) {
		url_t *u = url_make(home, c->listen[i]);
		struct sockaddr_storage *sa = &s->lsn[s->nlsn];

		if (!u || !u->url_host)
			continue;
		if (!strcmp(u->url_host, "*"))
			sa->ss_family = AF_INET;
		else if (!parse_ip(u->url_host, sa))
			continue;
		set_port(sa, port_num(u));
		s->nlsn++;
		su_free(home, u);
	}
	if (getifaddrs(&ifa) == 0) {
		for (struct ifaddrs *p = ifa; p && s->nlocal < MAX_LOCAL; p = p->ifa_next) {
			if (!p->ifa_addr || (p->ifa_addr->sa_family != AF_INET &&
					     p->ifa_addr->sa_family != AF_INET6))
				continue;
			memcpy(&s->local[s->nlocal], p->ifa_addr, p->ifa_addr->sa_family == AF_INET
			       ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6));
			set_port(&s->local[s->nlocal++], 0);
		}
		freeifaddrs(ifa);
	}
	if (c->state && !strncmp(c->state, "redis://", 8))
		add_other(s, c->state + 8, "", "--state");
	if (c->metrics)
		add_other(s, c->metrics, "127.0.0.1", "--metrics");
	*out = s;
	return 0;
}

void px_self_free(struct px_self *s)
{
	free(s);
}

/* px_self_addr - whether socket address @sa is one of our listeners */
int px_self_addr(const struct px_self *s, const struct sockaddr *sa)
{
	struct sockaddr_storage a;
	char ip[INET6_ADDRSTRLEN];
	unsigned port;

	if (!s || (sa->sa_family != AF_INET && sa->sa_family != AF_INET6))
		return 0;
	/* through text, so that an IPv4-mapped IPv6 address compares as IPv4 */
	if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, ip, sizeof(ip));
	else
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, ip, sizeof(ip));
	port = ntohs(sa->sa_family == AF_INET ? ((const struct sockaddr_in *)(const void *)sa)->sin_port
					      : ((const struct sockaddr_in6 *)(const void *)sa)->sin6_port);
	if (!parse_ip(ip, &a))
		return 0;
	for (size_t i = 0; i < s->nlsn; i++) {
		if (port_of(&s->lsn[i]) != port)
			continue;
		if (is_any(&s->lsn[i]) ? is_local(s, &a) : same_ip(&s->lsn[i], &a))
			return 1;
	}
	return 0;
}

/* px_self_url - whether @u (host an IP literal) names one of our listeners:
 * 1; 0 if not; -1 if its host is an IP literal with a port that is no port */
int px_self_url(const struct px_self *s, const url_t *u)
{
	struct sockaddr_storage a;
	unsigned port;

	if (!u || !parse_ip(u->url_host, &a))
		return 0;
	if (!(port = port_num(u)))
		return -1;
	set_port(&a, port);
	return px_self_addr(s, (const struct sockaddr *)&a);
}

/* px_self_other - the option of ours whose non-SIP socket @u names (host an
 * IP literal), or NULL */
const char *px_self_other(const struct px_self *s, const url_t *u)
{
	struct sockaddr_storage a;
	unsigned port;

	if (!s || !u || !parse_ip(u->url_host, &a) || !(port = port_num(u)))
		return NULL;
	/*
	 * The cases, for each such socket:
	 *  - another port: not it;
	 *  - the same address: it;
	 *  - it is on this host and so is @u's address (another loopback
	 *    address, an interface's, the wildcard): it, as a server bound to
	 *    the wildcard answers on all of them;
	 *  - else: not it.
	 */
	for (size_t i = 0; i < s->nother; i++)
		if (port_of(&s->other[i]) == port &&
		    (same_ip(&s->other[i], &a) || (is_local(s, &s->other[i]) && is_local(s, &a))))
			return s->other_opt[i];
	return NULL;
}
