/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_dns.c - the DNS layer without a server: configuration errors with
 * their reasons, record decoding, the cache (LRU bound, TTL, caps, deferred
 * delivery) on an injected clock, name checks, printable names. The live
 * behaviour is tests/dns-live.c against the Knot hierarchy.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <CUnit/CUnit.h>
#include <getdns/getdns.h>
#include <getdns/getdns_extra.h>

#include <sipdance/dns.h>
#include "../src/internal.h"
#include "suites.h"

/* A root DS and DNSKEY of the kind testbed.sh writes (any valid record will do offline). */
#define ROOT_DS ". 3600 IN DS 62904 13 2 0c1d4eb19edd998d8c7876bee3bf36d1a0d91c895fb629c0d1cd558a9011da5f\n"
#define ROOT_DNSKEY ". 3600 IN DNSKEY 257 3 13 mdsswUyr3DPW132mOi8V9xESWE8jTo0dxCjjnopKl+GqJxpVXckHAeF+KkxLbxILfDLUT0rAK9iUzy1L53eKGQ==\n"

static char dir[64];

/* file - path of @name in the test directory, written with @text (NULL: not created) */
static const char *file(const char *name, const char *text)
{
	static char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (text && (f = fopen(path, "w"))) {
		fputs(text, f);
		fclose(f);
	}
	return path;
}

/* setup - a private directory for anchor files */
static int setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/sipdance-test-dns.XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

/* teardown - remove it */
static int teardown(void)
{
	static const char *const names[] = { "ds", "dnskey", "empty", "other", "garbage", "comments" };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		unlink(file(names[i], NULL));
	return rmdir(dir);
}

/* alloc - resolver for @resolver and anchor text; returns the error, *why set */
static int alloc(struct sipdance_dns **dns, const char *resolver, const char *anchor,
		 const char **why)
{
	struct sipdance_dns_conf conf = { .size = sizeof(conf), .resolver = resolver, .trust_anchor = anchor };

	*dns = NULL;
	*why = "";
	return sipdance_dns_alloc(dns, &conf, why);
}

/* shared_anchor - the anchor as an object held by the resolver: alone it serves; with a file too
 * it is refused (which one would count?) */
static void shared_anchor(const char *ds)
{
	struct sipdance_dns_conf conf = { .size = sizeof(conf), .resolver = "127.0.0.1" };
	struct sipdance_dns *dns = NULL;
	const char *why = NULL;

	CU_ASSERT_FATAL(sipdance_anchor_load(&conf.anchor, ds, &why) == 0);
	CU_ASSERT_EQUAL(sipdance_dns_alloc(&dns, &conf, &why), 0);
	sipdance_anchor_free(conf.anchor); /* the resolver holds its own reference */
	sipdance_dns_free(dns);
	dns = NULL;
	CU_ASSERT_FATAL(sipdance_anchor_load(&conf.anchor, ds, &why) == 0);
	conf.trust_anchor = ds;
	CU_ASSERT_EQUAL(sipdance_dns_alloc(&dns, &conf, &why), EINVAL);
	CU_ASSERT_STRING_EQUAL(why, "both a trust anchor object and a trust anchor file");
	CU_ASSERT_PTR_NULL(dns);
	sipdance_anchor_free(conf.anchor);
}

/* conf_errors - every bad configuration fails with its own reason, never a fallback */
static void conf_errors(void)
{
	static const struct {
		const char *resolver, *why;
	} bad[] = {
		{ NULL, "no resolver configured" },
		{ "", "no resolver configured" },
		{ "localhost", "resolver address is not an IPv4 or IPv6 address" },
		{ "300.0.0.1", "resolver address is not an IPv4 or IPv6 address" },
		{ "127.0.0.1:53", "resolver address is not an IPv4 or IPv6 address" },
		{ "[::1]@53", "resolver address is not an IPv4 or IPv6 address" },
		{ "127.0.0.1@", "resolver port is not a number 1-65535" },
		{ "127.0.0.1@0", "resolver port is not a number 1-65535" },
		{ "127.0.0.1@65536", "resolver port is not a number 1-65535" },
		{ "127.0.0.1@53x", "resolver port is not a number 1-65535" },
		{ "127.0.0.1@-1", "resolver port is not a number 1-65535" },
		{ "::1@99999", "resolver port is not a number 1-65535" },
	};
	static const struct {
		const char *name, *text, *why;
	} anchors[] = {
		{ "missing", NULL, "trust anchor file not found" },
		{ "empty", "", "trust anchor file holds no DS or DNSKEY record" },
		{ "comments", "; nothing but a comment\n\n", "trust anchor file holds no DS or DNSKEY record" },
		{ "other", ". 3600 IN A 127.0.0.1\n" ROOT_DS,
		  "trust anchor file holds a record that is not DS or DNSKEY" },
		/* getdns_fp2rr_list skips lines it cannot parse (getdns#536) */
		{ "garbage", "this is not a zone file at all\n", "trust anchor file holds no DS or DNSKEY record" },
	};
	struct sipdance_dns *dns;
	const char *why;
	char ds[128];

	snprintf(ds, sizeof(ds), "%s", file("ds", ROOT_DS));

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CU_ASSERT_EQUAL(alloc(&dns, bad[i].resolver, ds, &why), EINVAL);
		CU_ASSERT_PTR_NULL(dns);
		CU_ASSERT_STRING_EQUAL(why, bad[i].why);
	}
	for (size_t i = 0; i < sizeof(anchors) / sizeof(anchors[0]); i++) {
		CU_ASSERT_EQUAL(alloc(&dns, "127.0.0.1", file(anchors[i].name, anchors[i].text), &why),
				EINVAL);
		CU_ASSERT_PTR_NULL(dns);
		CU_ASSERT_STRING_EQUAL(why, anchors[i].why);
	}
	CU_ASSERT_EQUAL(alloc(&dns, "127.0.0.1", NULL, &why), EINVAL);
	CU_ASSERT_STRING_EQUAL(why, "no trust anchor file configured");
	CU_ASSERT_EQUAL(alloc(&dns, "127.0.0.1", dir, &why), EINVAL);
	CU_ASSERT_STRING_EQUAL(why, "trust anchor file is not a regular file");
	CU_ASSERT_EQUAL(sipdance_dns_alloc(&dns, NULL, &why), EINVAL);

	CU_ASSERT_EQUAL(alloc(&dns, "127.0.0.1", ds, &why), 0);
	sipdance_dns_free(dns);
	CU_ASSERT_EQUAL(alloc(&dns, "::1@5353", file("dnskey", ROOT_DNSKEY), &why), 0);
	sipdance_dns_free(dns);
	CU_ASSERT_EQUAL(alloc(&dns, "192.0.2.1@65535", ds, &why), 0);
	sipdance_dns_free(dns);
	sipdance_dns_free(NULL);
	shared_anchor(ds);
}

/* conf_size - the ABI rule: a caller's struct of another size is read only as far as both know */
static void conf_size(void)
{
	/* a caller built against newer headers: ours plus one field it may leave at zero */
	struct {
		struct sipdance_dns_conf conf;
		uint64_t newer;
	} big = { .conf.resolver = "127.0.0.1", .conf.trust_anchor = file("ds", ROOT_DS) };
	struct sipdance_dns_conf older;
	struct sipdance_dns *dns = NULL;
	const char *why = "";
	static const struct {
		size_t size;
		uint64_t newer;
		int err;
		const char *why;
	} cases[] = {
		{ 0, 0, EINVAL, "configuration size unset (set .size to sizeof the struct)" },
		{ sizeof(size_t) - 1, 0, EINVAL, "configuration size unset (set .size to sizeof the struct)" },
		{ 4097, 0, EINVAL, "configuration size unset (set .size to sizeof the struct)" },
		{ sizeof(big), 1, EINVAL,
		  "configuration sets fields this library does not know (built against newer sipdance headers?)" },
		{ sizeof(big), 0, 0, NULL },
		{ sizeof(struct sipdance_dns_conf), 1, 0, NULL },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		big.conf.size = cases[i].size;
		big.newer = cases[i].newer;
		why = "";
		CU_ASSERT_EQUAL(sipdance_dns_alloc(&dns, &big.conf, &why), cases[i].err);
		if (cases[i].err)
			CU_ASSERT_STRING_EQUAL(why, cases[i].why);
		CU_ASSERT((dns != NULL) == !cases[i].err);
		sipdance_dns_free(dns);
		dns = NULL;
	}
	/* an older caller whose struct ends before the trust anchor: the field reads as unset */
	older = big.conf;
	older.size = offsetof(struct sipdance_dns_conf, trust_anchor);
	CU_ASSERT_EQUAL(sipdance_dns_alloc(&dns, &older, &why), EINVAL);
	CU_ASSERT_STRING_EQUAL(why, "no trust anchor file configured");
	CU_ASSERT_PTR_NULL(dns);
}

/* rr - decode one record in presentation form; returns the error */
static int rr(const char *text, struct sipdance_dns_rr *out, getdns_dict **dict)
{
	*dict = NULL;
	if (getdns_str2rr_dict(text, dict, NULL, 3600) != GETDNS_RETURN_GOOD)
		return -1;
	return sd_dns_rr_decode(*dict, out);
}

/* decode - every supported type into struct sipdance_dns_rr, and what is refused */
static void decode(void)
{
	static const uint8_t spki[4] = { 0x8a, 0x50, 0xb2, 0x31 };
	struct sipdance_dns_rr r;
	getdns_dict *d;
	uint8_t v6[16];

	CU_ASSERT_EQUAL(rr("A.Example. 60 IN NAPTR 10 20 \"S\" \"SIPS+D2T\" \"\" _SIPS._tcp.A.example.",
			   &r, &d), 0);
	CU_ASSERT_EQUAL(r.type, SIPDANCE_DNS_NAPTR);
	CU_ASSERT_EQUAL(r.ttl, 60);
	CU_ASSERT_EQUAL(r.u.naptr.order, 10);
	CU_ASSERT_EQUAL(r.u.naptr.pref, 20);
	CU_ASSERT_STRING_EQUAL(r.u.naptr.flags, "S");
	CU_ASSERT_STRING_EQUAL(r.u.naptr.services, "SIPS+D2T");
	CU_ASSERT_STRING_EQUAL(r.u.naptr.regexp, "");
	CU_ASSERT_STRING_EQUAL(r.u.naptr.replacement, "_sips._tcp.a.example");
	getdns_dict_destroy(d);

	CU_ASSERT_EQUAL(rr("e. 30 IN NAPTR 100 10 \"u\" \"E2U+sip\" \"!^.*$!sip:info@example.com!\" .",
			   &r, &d), 0);
	CU_ASSERT_STRING_EQUAL(r.u.naptr.regexp, "!^.*$!sip:info@example.com!");
	CU_ASSERT_STRING_EQUAL(r.u.naptr.replacement, ".");
	getdns_dict_destroy(d);
	CU_ASSERT_EQUAL(rr("e. 30 IN NAPTR 1 1 \"SSSSSSSSSSSSSSSS\" \"x\" \"\" .", &r, &d), EBADMSG);
	getdns_dict_destroy(d);

	CU_ASSERT_EQUAL(rr("_sips._tcp.a.example. 300 IN SRV 10 60 5061 Sip.A.example.", &r, &d), 0);
	CU_ASSERT_EQUAL(r.type, SIPDANCE_DNS_SRV);
	CU_ASSERT_EQUAL(r.ttl, 300);
	CU_ASSERT_EQUAL(r.u.srv.prio, 10);
	CU_ASSERT_EQUAL(r.u.srv.weight, 60);
	CU_ASSERT_EQUAL(r.u.srv.port, 5061);
	CU_ASSERT_STRING_EQUAL(r.u.srv.target, "sip.a.example");
	getdns_dict_destroy(d);
	CU_ASSERT_EQUAL(rr("x. 1 IN SRV 0 0 0 a\\.b.example.", &r, &d), 0);
	CU_ASSERT_STRING_EQUAL(r.u.srv.target, "a\\046b.example");
	getdns_dict_destroy(d);

	CU_ASSERT_EQUAL(rr("sip.a.example. 60 IN A 192.0.2.7", &r, &d), 0);
	CU_ASSERT_EQUAL(r.u.addr.family, AF_INET);
	CU_ASSERT_EQUAL(memcmp(r.u.addr.addr, "\xc0\x00\x02\x07", 4), 0);
	getdns_dict_destroy(d);
	CU_ASSERT_EQUAL(rr("sip.a.example. 60 IN AAAA 2001:db8::5", &r, &d), 0);
	inet_pton(AF_INET6, "2001:db8::5", v6);
	CU_ASSERT_EQUAL(r.u.addr.family, AF_INET6);
	CU_ASSERT_EQUAL(memcmp(r.u.addr.addr, v6, 16), 0);
	getdns_dict_destroy(d);

	CU_ASSERT_EQUAL(rr("_5061._tcp.sip.a.example. 60 IN TLSA 3 1 1 8a50b231", &r, &d), 0);
	CU_ASSERT_EQUAL(r.type, SIPDANCE_DNS_TLSA);
	CU_ASSERT_EQUAL(r.u.tlsa.usage, 3);
	CU_ASSERT_EQUAL(r.u.tlsa.selector, 1);
	CU_ASSERT_EQUAL(r.u.tlsa.mtype, 1);
	CU_ASSERT_EQUAL(r.u.tlsa.len, 4);
	CU_ASSERT(r.u.tlsa.data && !memcmp(r.u.tlsa.data, spki, 4));
	getdns_dict_destroy(d);

	CU_ASSERT_EQUAL(rr("sip.alias.example. 60 IN CNAME Sip.A.Example.", &r, &d), 0);
	CU_ASSERT_STRING_EQUAL(r.u.cname.target, "sip.a.example");
	getdns_dict_destroy(d);

	CU_ASSERT_EQUAL(rr("a.example. 60 IN MX 10 mail.a.example.", &r, &d), EINVAL);
	getdns_dict_destroy(d);
}

/* A clock the test moves by hand. */
static uint64_t clock_now = 1000000;

/* fake_clock - the cache clock for these tests */
static uint64_t fake_clock(void *arg)
{
	(void)arg;
	return clock_now;
}

/* The host side: a loop that records what the library asked for. */
struct host {
	int timer_calls;
	long ms;
	int calls;
	struct sipdance_dns_answer *a;
	struct sipdance_loop *loop;
	sipdance_loop_timer_fn *fire; /* the one timer the resolver made */
	void *fire_arg;
};

/* host_watch - no descriptor is expected offline */
static int host_watch(void *arg, int fd, int events, sipdance_loop_io_fn *fn, void *fnarg)
{
	if (events)
		CU_FAIL("offline test asked to watch a descriptor");
	return 0;
}

/* host_timer_alloc - keep the callback to fire by hand */
static void *host_timer_alloc(void *arg, sipdance_loop_timer_fn *fn, void *fnarg)
{
	struct host *h = arg;

	h->fire = fn;
	h->fire_arg = fnarg;
	return h;
}

/* host_timer_set - record the timer asked for */
static void host_timer_set(void *arg, void *t, long ms)
{
	struct host *h = arg;

	h->timer_calls++;
	h->ms = ms;
}

/* host_timer_free - nothing to free */
static void host_timer_free(void *arg, void *t)
{
}

/* host_fire - the host's timer runs out */
static void host_fire(struct host *h)
{
	h->fire(h->fire_arg);
}

/* resolver - an offline resolver (nothing is ever asked) with a small cache, on @h's
 * loop (or a private one when @h is NULL) */
static struct sipdance_dns *resolver_on(size_t cache_size, struct host *h)
{
	static const struct sipdance_loop_ops ops = {
		sizeof(ops), host_watch, host_timer_alloc, host_timer_set, host_timer_free,
	};
	struct sipdance_dns_conf conf = { .size = sizeof(conf),
		.resolver = "127.0.0.1@9", .trust_anchor = file("ds", ROOT_DS),
		.cache_size = cache_size, .max_ttl = 3600, .neg_ttl = 30,
	};
	struct sipdance_dns *dns = NULL;

	if (h) {
		*h = (struct host){ .ms = -1 };
		CU_ASSERT_FATAL(sipdance_loop_alloc(&h->loop, &ops, h) == 0);
		conf.loop = h->loop;
	}
	CU_ASSERT_FATAL(sipdance_dns_alloc(&dns, &conf, NULL) == 0);
	sd_dns_set_clock(dns, fake_clock, NULL);
	return dns;
}

/* resolver - the same on a private loop */
static struct sipdance_dns *resolver(size_t cache_size)
{
	return resolver_on(cache_size, NULL);
}

/* host_cb - record the answer */
static void host_cb(void *arg, const struct sipdance_dns_answer *a)
{
	struct host *h = arg;

	h->calls++;
	sipdance_dns_answer_unref(h->a);
	h->a = sipdance_dns_answer_ref(a);
}

/* lookup_cached - a lookup that the cache answers, driven through the timer */
static void lookup_cached(struct sipdance_dns *dns, struct host *h, const char *name, uint16_t type)
{
	int calls = h->calls;

	CU_ASSERT_EQUAL_FATAL(sipdance_dns_lookup(dns, name, type, host_cb, h, NULL), 0);
	CU_ASSERT_EQUAL(h->calls, calls);
	CU_ASSERT_EQUAL(h->ms, 0);
	host_fire(h);
	CU_ASSERT_EQUAL(h->calls, calls + 1);
}

/* cache_lru - the cache holds cache_size entries and evicts the least recently used */
static void cache_lru(void)
{
	struct host h;
	struct sipdance_dns *dns = resolver_on(3, &h);

	CU_ASSERT_EQUAL(sd_dns_cache_add(dns, "one.example", SIPDANCE_DNS_A, SIPDANCE_DNS_SECURE,
					 SIPDANCE_DNS_NODATA, 60), 0);
	CU_ASSERT_EQUAL(sd_dns_cache_add(dns, "two.example", SIPDANCE_DNS_A, SIPDANCE_DNS_SECURE,
					 SIPDANCE_DNS_NODATA, 60), 0);
	CU_ASSERT_EQUAL(sd_dns_cache_add(dns, "two.example", SIPDANCE_DNS_AAAA, SIPDANCE_DNS_SECURE,
					 SIPDANCE_DNS_NXDOMAIN, 60), 0);
	CU_ASSERT_EQUAL(sd_dns_cache_count(dns), 3);
	lookup_cached(dns, &h, "ONE.example.", SIPDANCE_DNS_A);
	CU_ASSERT(sipdance_dns_answer_cached(h.a));
	CU_ASSERT_EQUAL(sipdance_dns_answer_rcode(h.a), SIPDANCE_DNS_NODATA);
	CU_ASSERT_STRING_EQUAL(sipdance_dns_answer_qname(h.a), "one.example");
	/* one.example is now the most recent: adding a fourth evicts two.example/A */
	CU_ASSERT_EQUAL(sd_dns_cache_add(dns, "three.example", SIPDANCE_DNS_A, SIPDANCE_DNS_SECURE,
					 SIPDANCE_DNS_NODATA, 60), 0);
	CU_ASSERT_EQUAL(sd_dns_cache_count(dns), 3);
	CU_ASSERT(sd_dns_cache_has(dns, "one.example", SIPDANCE_DNS_A));
	CU_ASSERT(!sd_dns_cache_has(dns, "two.example", SIPDANCE_DNS_A));
	CU_ASSERT(sd_dns_cache_has(dns, "two.example", SIPDANCE_DNS_AAAA));
	CU_ASSERT(sd_dns_cache_has(dns, "three.example", SIPDANCE_DNS_A));
	/* replacing an entry does not grow the cache */
	CU_ASSERT_EQUAL(sd_dns_cache_add(dns, "three.example", SIPDANCE_DNS_A, SIPDANCE_DNS_SECURE,
					 SIPDANCE_DNS_FOUND, 60), 0);
	CU_ASSERT_EQUAL(sd_dns_cache_count(dns), 3);
	CU_ASSERT(sd_dns_cache_has(dns, "two.example", SIPDANCE_DNS_AAAA));
	sipdance_dns_flush(dns);
	CU_ASSERT_EQUAL(sd_dns_cache_count(dns), 0);
	CU_ASSERT(!sd_dns_cache_has(dns, "one.example", SIPDANCE_DNS_A));
	sipdance_dns_answer_unref(h.a);
	sipdance_dns_free(dns);
	sipdance_loop_free(h.loop);
}

/* cache_ttl - entries live for their TTL, capped at max_ttl, failures at neg_ttl */
static void cache_ttl(void)
{
	struct sipdance_dns *dns = resolver(0);
	uint64_t t0 = clock_now;

	sd_dns_cache_add(dns, "short.example", SIPDANCE_DNS_TLSA, SIPDANCE_DNS_SECURE, SIPDANCE_DNS_NODATA, 60);
	sd_dns_cache_add(dns, "long.example", SIPDANCE_DNS_TLSA, SIPDANCE_DNS_SECURE, SIPDANCE_DNS_NODATA, 86400);
	sd_dns_cache_add(dns, "bogus.example", SIPDANCE_DNS_TLSA, SIPDANCE_DNS_BOGUS, SIPDANCE_DNS_NONE, 600);
	sd_dns_cache_add(dns, "indet.example", SIPDANCE_DNS_TLSA, SIPDANCE_DNS_INDETERMINATE,
			 SIPDANCE_DNS_NONE, 600);
	sd_dns_cache_add(dns, "zero.example", SIPDANCE_DNS_TLSA, SIPDANCE_DNS_SECURE, SIPDANCE_DNS_FOUND, 0);
	CU_ASSERT(!sd_dns_cache_has(dns, "zero.example", SIPDANCE_DNS_TLSA));
	CU_ASSERT_EQUAL(sd_dns_cache_count(dns), 4);

	clock_now = t0 + 30 * 1000 - 1;
	CU_ASSERT(sd_dns_cache_has(dns, "bogus.example", SIPDANCE_DNS_TLSA));
	CU_ASSERT(sd_dns_cache_has(dns, "indet.example", SIPDANCE_DNS_TLSA));
	clock_now = t0 + 30 * 1000;
	CU_ASSERT(!sd_dns_cache_has(dns, "bogus.example", SIPDANCE_DNS_TLSA));
	CU_ASSERT(!sd_dns_cache_has(dns, "indet.example", SIPDANCE_DNS_TLSA));
	CU_ASSERT(sd_dns_cache_has(dns, "short.example", SIPDANCE_DNS_TLSA));

	clock_now = t0 + 60 * 1000 - 1;
	CU_ASSERT(sd_dns_cache_has(dns, "short.example", SIPDANCE_DNS_TLSA));
	clock_now = t0 + 60 * 1000;
	CU_ASSERT(!sd_dns_cache_has(dns, "short.example", SIPDANCE_DNS_TLSA));

	clock_now = t0 + 3600 * 1000 - 1;
	CU_ASSERT(sd_dns_cache_has(dns, "long.example", SIPDANCE_DNS_TLSA));
	clock_now = t0 + 3600 * 1000;
	CU_ASSERT(!sd_dns_cache_has(dns, "long.example", SIPDANCE_DNS_TLSA));
	clock_now = t0;
	sipdance_dns_free(dns);
}

/* cache_delivery - a cached answer is delivered later, from a zero-delay timer; cancel works */
static void cache_delivery(void)
{
	struct host h;
	struct sipdance_dns *dns = resolver_on(0, &h);
	struct sipdance_dns_answer *a = NULL;
	struct sipdance_dns_query *q;

	sd_dns_cache_add(dns, "x.example", SIPDANCE_DNS_SRV, SIPDANCE_DNS_INSECURE, SIPDANCE_DNS_NXDOMAIN, 60);
	CU_ASSERT_EQUAL(h.timer_calls, 0);
	lookup_cached(dns, &h, "x.example", SIPDANCE_DNS_SRV);
	CU_ASSERT_EQUAL(h.timer_calls, 1); /* the one-shot timer fired; nothing is left to time */
	CU_ASSERT_EQUAL(sipdance_dns_answer_status(h.a), SIPDANCE_DNS_INSECURE);
	CU_ASSERT_EQUAL(sipdance_dns_answer_rcode(h.a), SIPDANCE_DNS_NXDOMAIN);
	CU_ASSERT_EQUAL(sipdance_dns_answer_count(h.a), 0);
	CU_ASSERT_PTR_NULL(sipdance_dns_answer_rr(h.a, 0));
	CU_ASSERT_STRING_EQUAL(sipdance_dns_answer_cname(h.a), "x.example");
	CU_ASSERT_STRING_EQUAL(sipdance_dns_answer_why(h.a), "");

	CU_ASSERT_EQUAL(sipdance_dns_lookup(dns, "x.example", SIPDANCE_DNS_SRV, host_cb, &h, &q), 0);
	sipdance_dns_cancel(q);
	host_fire(&h);
	CU_ASSERT_EQUAL(h.calls, 1);

	/* a resolver on the host's loop has no blocking lookups, even from the cache */
	CU_ASSERT_EQUAL(sipdance_dns_lookup_sync(dns, "x.example", SIPDANCE_DNS_SRV, &a), EINVAL);
	CU_ASSERT_EQUAL(sipdance_dns_lookup(dns, "x.example", SIPDANCE_DNS_SRV, host_cb, &h, NULL), 0);
	sipdance_dns_free(dns);
	CU_ASSERT_EQUAL(h.calls, 1);
	sipdance_dns_answer_unref(h.a);
	sipdance_loop_free(h.loop);
}

/* lookup_args - malformed names and unsupported types are refused */
static void lookup_args(void)
{
	static const char *const bad[] = {
		"", ".", "a..example", ".a.example", "a.example..",
		"0123456789012345678901234567890123456789012345678901234567890123.example",
	};
	struct sipdance_dns *dns = resolver(0);
	struct sipdance_dns_answer *a = NULL;
	struct host h = { .ms = -1 };
	char longname[300];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CU_ASSERT_EQUAL(sipdance_dns_lookup(dns, bad[i], SIPDANCE_DNS_A, host_cb, &h, NULL), EINVAL);
	memset(longname, 'a', sizeof(longname));
	for (size_t i = 63; i < sizeof(longname); i += 64)
		longname[i] = '.';
	longname[sizeof(longname) - 1] = '\0';
	CU_ASSERT_EQUAL(sipdance_dns_lookup(dns, longname, SIPDANCE_DNS_A, host_cb, &h, NULL), EINVAL);
	CU_ASSERT_EQUAL(sipdance_dns_lookup(dns, NULL, SIPDANCE_DNS_A, host_cb, &h, NULL), EINVAL);
	CU_ASSERT_EQUAL(sipdance_dns_lookup(dns, "a.example", 15, host_cb, &h, NULL), EINVAL);
	CU_ASSERT_EQUAL(sipdance_dns_lookup(dns, "a.example", SIPDANCE_DNS_A, NULL, &h, NULL), EINVAL);
	CU_ASSERT_EQUAL(sipdance_dns_lookup(NULL, "a.example", SIPDANCE_DNS_A, host_cb, &h, NULL), EINVAL);
	CU_ASSERT_EQUAL(sipdance_dns_lookup_sync(dns, "a..example", SIPDANCE_DNS_A, &a), EINVAL);
	CU_ASSERT_EQUAL(sipdance_dns_lookup_sync(dns, "a.example", SIPDANCE_DNS_A, NULL), EINVAL);
	CU_ASSERT_EQUAL(h.calls, 0);
	sipdance_dns_free(dns);
}

/* names - printable status and rcode, and NULL-safe accessors */
static void names(void)
{
	struct sipdance_tlsa_set *set;

	CU_ASSERT_STRING_EQUAL(sipdance_dns_status_str(SIPDANCE_DNS_SECURE), "SECURE");
	CU_ASSERT_STRING_EQUAL(sipdance_dns_status_str(SIPDANCE_DNS_INSECURE), "INSECURE");
	CU_ASSERT_STRING_EQUAL(sipdance_dns_status_str(SIPDANCE_DNS_BOGUS), "BOGUS");
	CU_ASSERT_STRING_EQUAL(sipdance_dns_status_str(SIPDANCE_DNS_INDETERMINATE), "INDETERMINATE");
	CU_ASSERT_STRING_EQUAL(sipdance_dns_status_str((enum sipdance_dns_status)9), "UNKNOWN");
	CU_ASSERT_STRING_EQUAL(sipdance_dns_rcode_str(SIPDANCE_DNS_FOUND), "FOUND");
	CU_ASSERT_STRING_EQUAL(sipdance_dns_rcode_str(SIPDANCE_DNS_NODATA), "NODATA");
	CU_ASSERT_STRING_EQUAL(sipdance_dns_rcode_str(SIPDANCE_DNS_NXDOMAIN), "NXDOMAIN");
	CU_ASSERT_STRING_EQUAL(sipdance_dns_rcode_str(SIPDANCE_DNS_NONE), "NONE");
	CU_ASSERT_STRING_EQUAL(sipdance_dns_rcode_str((enum sipdance_dns_rcode)9), "UNKNOWN");
	CU_ASSERT_EQUAL(sipdance_dns_answer_status(NULL), SIPDANCE_DNS_INDETERMINATE);
	CU_ASSERT_EQUAL(sipdance_dns_answer_rcode(NULL), SIPDANCE_DNS_NONE);
	CU_ASSERT_EQUAL(sipdance_dns_answer_count(NULL), 0);
	CU_ASSERT_EQUAL(sipdance_dns_answer_tlsa(NULL, &set), EINVAL);
	sipdance_dns_answer_unref(NULL);
}

CU_ErrorCode suite_dns(void)
{
	CU_pSuite s = CU_add_suite("dns", setup, teardown);

	if (!s || !CU_add_test(s, "configuration errors", conf_errors) ||
	    !CU_add_test(s, "configuration size (ABI)", conf_size) ||
	    !CU_add_test(s, "record decoding", decode) ||
	    !CU_add_test(s, "cache LRU bound", cache_lru) ||
	    !CU_add_test(s, "cache TTL and caps", cache_ttl) ||
	    !CU_add_test(s, "cached answers delivered later", cache_delivery) ||
	    !CU_add_test(s, "lookup arguments", lookup_args) ||
	    !CU_add_test(s, "status and rcode names", names))
		return CU_get_error();
	return CUE_SUCCESS;
}
