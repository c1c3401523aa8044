/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fuzz_x5u.c - libFuzzer target: what remains ours of an x5u response once
 * libcurl has parsed the HTTP: the header lines as curl hands them over
 * (sd_x5u_header, up to the first empty line) and the Cache-Control lifetime
 * they give (sd_x5u_cache_ttl), then the body as a PEM chain (sd_pem_chain).
 * The first 16 bytes also go through the address policy, which must judge an
 * IPv4 address the same way in each IPv6 form that embeds it.
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <openssl/x509.h>

#include "../../src/stir-internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* need - abort (a finding) unless @cond holds */
static void need(int cond)
{
	if (!cond)
		abort();
}

/* refused - the policy's verdict on @a (4 or 16 bytes) */
static int refused(const uint8_t *a, int v6)
{
	struct sockaddr_in6 s6 = { .sin6_family = AF_INET6 };
	struct sockaddr_in s4 = { .sin_family = AF_INET };
	char why[160] = "";
	int r;

	if (v6)
		memcpy(&s6.sin6_addr, a, 16);
	else
		memcpy(&s4.sin_addr, a, 4);
	r = sd_x5u_refused_addr(v6 ? (struct sockaddr *)&s6 : (struct sockaddr *)&s4, why, sizeof(why));
	need(!r || why[0]);
	return r;
}

/* addresses - an IPv4 address and its mapped, NAT64 and 6to4 forms agree */
static void addresses(const uint8_t *a)
{
	uint8_t mapped[16] = { [10] = 0xff, 0xff }, nat64[16] = { 0, 0x64, 0xff, 0x9b }, sixto4[16] = { 0x20, 0x02 };
	int r = refused(a, 0);

	memcpy(mapped + 12, a, 4);
	memcpy(nat64 + 12, a, 4);
	memcpy(sixto4 + 2, a, 4);
	need(refused(mapped, 1) == r);
	need(refused(nat64, 1) == r);
	need(refused(sixto4, 1) == r);
	(void)refused(a, 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size, *body = end;
	struct sd_x5u_headers h = { 0 };
	STACK_OF(X509) *chain = NULL;
	unsigned ttl;
	int cc = 0;

	if (size >= 16)
		addresses(data);
	/* header lines, each with its line end, up to the empty line */
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p)), *next = nl ? nl + 1 : end;

		if (next - p <= 2 && (*p == '\n' || *p == '\r')) {
			body = next;
			break;
		}
		if ((size_t)(next - p) >= 14 && !strncasecmp(p, "cache-control:", 14))
			cc = 1;
		if (sd_x5u_header(&h, p, (size_t)(next - p))) {
			need(h.bytes + (size_t)(next - p) > SD_X5U_HEAD_MAX);
			return 0;
		}
		p = next;
	}
	need(h.bytes <= SD_X5U_HEAD_MAX);
	ttl = sd_x5u_cache_ttl(&h, 3600, 86400);
	need(ttl <= 86400);
	need(cc || h.cache_control[0] == '\0');
	need(strlen(h.cache_control) < sizeof(h.cache_control));
	if (sd_pem_chain(body, (size_t)(end - body), &chain) == 0) {
		need(sk_X509_num(chain) > 0);
		sk_X509_pop_free(chain, X509_free);
	}
	return 0;
}
