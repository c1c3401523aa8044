/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * dns-live.c - the DNS layer against the Knot test hierarchy, through the
 * public API only: statuses of every zone kind, denial, CNAMEs, timeouts,
 * the cache, shared lookups, cancel, and the host event-loop interface.
 * Run by tests/dns-live.sh, which starts the testbed and exports env.sh.
 */
#include <errno.h>
#include <arpa/inet.h>
#include <poll.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sipdance/dns.h>
#include "internal.h"

static int passed, failed;

/* check - print one "ok"/"FAIL" line */
__attribute__((format(printf, 2, 3)))
static void check(int ok, const char *fmt, ...)
{
	va_list ap;

	printf("%s - ", ok ? "ok" : "FAIL");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	if (ok)
		passed++;
	else
		failed++;
}

/* env - a variable of env.sh, or exit */
static const char *env(const char *name)
{
	const char *v = getenv(name);

	if (!v || !*v) {
		fprintf(stderr, "dns-live: %s not set (source the testbed's env.sh)\n", name);
		exit(2);
	}
	return v;
}

/* slow - @ms times VG_SLOW (tests/timeout.sh sets it under valgrind): a bound on a hang */
static long slow(long ms)
{
	const char *v = getenv("VG_SLOW");

	return v && atoi(v) > 0 ? ms * atoi(v) : ms;
}

/* now_ms - monotonic milliseconds */
static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* behind_unbound - whether the testbed put a validating Unbound in front of Knot */
static int behind_unbound(void)
{
	return !strcmp(env("TB_RESOLVER_MODE"), "unbound");
}

/* queries - queries the resolver we ask has received: "all" or "TLSA" (Knot's
 * mod-stats, or Unbound's counters when it stands in front of Knot) */
static long queries(const char *what)
{
	int all = !strcmp(what, "all"), unbound = behind_unbound();
	char cmd[512], line[256], pat[128];
	long n = 0;
	FILE *p;

	snprintf(cmd, sizeof(cmd), unbound ? "%s stats_noreset 2>/dev/null" : "%s stats mod-stats 2>/dev/null",
		 env(unbound ? "TB_UNBOUND_CONTROL" : "TB_KNOTC"));
	if (unbound)
		snprintf(pat, sizeof(pat), all ? "total.num.queries=" : "num.query.type.%s=", what);
	else
		snprintf(pat, sizeof(pat), all ? "mod-stats.server-operation[query] = "
					       : "mod-stats.query-type[%s] = ", what);
	if (!(p = popen(cmd, "r")))
		return -1;
	while (fgets(line, sizeof(line), p))
		if (!strncmp(line, pat, strlen(pat)))
			n = atol(line + strlen(pat));
	pclose(p);
	return n;
}

/* lookup - blocking lookup that must succeed */
static struct sipdance_dns_answer *lookup(struct sipdance_dns *dns, const char *name, uint16_t type)
{
	struct sipdance_dns_answer *a = NULL;
	int err = sipdance_dns_lookup_sync(dns, name, type, &a);

	if (err || !a) {
		fprintf(stderr, "dns-live: lookup %s/%u: error %d\n", name, type, err);
		exit(2);
	}
	return a;
}

/* expect - look up and check status and rcode; returns the answer */
static struct sipdance_dns_answer *expect(struct sipdance_dns *dns, const char *name, uint16_t type,
					  enum sipdance_dns_status st, enum sipdance_dns_rcode rc)
{
	struct sipdance_dns_answer *a = lookup(dns, name, type);

	check(sipdance_dns_answer_status(a) == st && sipdance_dns_answer_rcode(a) == rc,
	      "%s/%u is %s %s (got %s %s%s%s)", name, type, sipdance_dns_status_str(st),
	      sipdance_dns_rcode_str(rc), sipdance_dns_status_str(sipdance_dns_answer_status(a)),
	      sipdance_dns_rcode_str(sipdance_dns_answer_rcode(a)),
	      *sipdance_dns_answer_why(a) ? ": " : "", sipdance_dns_answer_why(a));
	return a;
}

/* tlsa_is - whether an answer holds exactly one TLSA 3 1 1 with hex data @hex */
static int tlsa_is(const struct sipdance_dns_answer *a, const char *hex)
{
	const struct sipdance_dns_rr *rr = sipdance_dns_answer_rr(a, 0);
	char buf[2 * SIPDANCE_TLSA_MAX_DATA + 1];

	if (sipdance_dns_answer_count(a) != 1 || !rr || rr->type != SIPDANCE_DNS_TLSA ||
	    rr->u.tlsa.usage != 3 || rr->u.tlsa.selector != 1 || rr->u.tlsa.mtype != 1)
		return 0;
	sd_hex_encode(rr->u.tlsa.data, rr->u.tlsa.len, buf);
	return !strcmp(buf, hex);
}

/* The host side of the event-loop contract: a tiny poll() loop with one timer. */
struct host {
	struct pollfd fd[16];
	struct { sipdance_loop_io_fn *fn; void *arg; } cb[16];
	int nfd;
	long deadline;   /* -1 = no timer */
	sipdance_loop_timer_fn *tfn;
	void *targ;
	int io_calls, timer_calls;
	int fake, rcode; /* a fake resolver's socket (or -1) and the rcode it answers */
	struct sipdance_loop *loop;
};

/* fake_answer - answer one query on the fake resolver's socket with h->rcode */
static void fake_answer(struct host *h)
{
	uint8_t buf[1500];
	struct sockaddr_storage from;
	socklen_t len = sizeof(from);
	ssize_t n = recvfrom(h->fake, buf, sizeof(buf), 0, (struct sockaddr *)&from, &len);

	if (n < 12)
		return;
	buf[2] = 0x81; /* QR, RD */
	buf[3] = (uint8_t)(0x80 | h->rcode); /* RA, rcode */
	memset(buf + 6, 0, 6); /* no answer, authority or additional records */
	for (size_t i = 12; i < (size_t)n; i++) {
		if (buf[i] == 0) { /* end of the question name, then type and class */
			n = (ssize_t)(i + 5);
			break;
		}
		i += buf[i];
	}
	sendto(h->fake, buf, (size_t)n, 0, (struct sockaddr *)&from, len);
}

/* host_watch - the library asks to watch @fd */
static int host_watch(void *arg, int fd, int events, sipdance_loop_io_fn *fn, void *fnarg)
{
	struct host *h = arg;
	int i;

	h->io_calls++;
	for (i = 0; i < h->nfd && h->fd[i].fd != fd; i++)
		;
	if (!events) {
		if (i < h->nfd) {
			h->fd[i] = h->fd[--h->nfd];
			h->cb[i] = h->cb[h->nfd];
		}
		return 0;
	}
	if (i == h->nfd) {
		if (h->nfd == 16)
			return ENOSPC;
		h->nfd++;
	}
	h->fd[i].fd = fd;
	h->fd[i].events = (short)(((events & SIPDANCE_LOOP_READ) ? POLLIN : 0) |
				  ((events & SIPDANCE_LOOP_WRITE) ? POLLOUT : 0));
	h->cb[i].fn = fn;
	h->cb[i].arg = fnarg;
	return 0;
}

/* host_timer_alloc - the resolver's one timer */
static void *host_timer_alloc(void *arg, sipdance_loop_timer_fn *fn, void *fnarg)
{
	struct host *h = arg;

	h->tfn = fn;
	h->targ = fnarg;
	return h;
}

/* host_timer_set - the library asks for a timeout */
static void host_timer_set(void *arg, void *t, long ms)
{
	struct host *h = arg;

	h->timer_calls++;
	h->deadline = ms < 0 ? -1 : now_ms() + ms;
}

/* host_timer_free - the resolver lets go of its timer */
static void host_timer_free(void *arg, void *t)
{
	struct host *h = arg;

	h->tfn = NULL;
	h->deadline = -1;
}

/* host_init - a host loop for a resolver configuration */
static int host_init(struct host *h, struct sipdance_dns_conf *conf)
{
	static const struct sipdance_loop_ops ops = {
		sizeof(ops), host_watch, host_timer_alloc, host_timer_set, host_timer_free,
	};

	conf->loop = NULL;
	if (sipdance_loop_alloc(&h->loop, &ops, h))
		return -1;
	conf->loop = h->loop;
	return 0;
}

/* host_run - run the host loop until *done reaches @want or @limit ms pass */
static void host_run(struct host *h, const int *done, int want, long limit)
{
	long end = now_ms() + limit;

	while (*done < want && now_ms() < end) {
		struct pollfd fds[17];
		int n = h->nfd, ms = 100;

		memcpy(fds, h->fd, sizeof(h->fd));
		fds[n].fd = h->fake;
		fds[n].events = POLLIN;
		fds[n].revents = 0;
		if (h->deadline >= 0)
			ms = h->deadline <= now_ms() ? 0 : (int)(h->deadline - now_ms());
		if (poll(fds, (nfds_t)n + (h->fake >= 0), ms) > 0) {
			if (h->fake >= 0 && (fds[n].revents & POLLIN))
				fake_answer(h);
			for (int i = 0; i < n; i++) {
				int ev = ((fds[i].revents & (POLLIN | POLLERR | POLLHUP)) ? SIPDANCE_LOOP_READ : 0) |
					 ((fds[i].revents & POLLOUT) ? SIPDANCE_LOOP_WRITE : 0);
				int j;

				/* an earlier callback may have dropped or replaced this watch */
				for (j = 0; j < h->nfd && h->fd[j].fd != fds[i].fd; j++)
					;
				if (ev && j < h->nfd)
					h->cb[j].fn(h->cb[j].arg, fds[i].fd, ev);
			}
		}
		if (h->deadline >= 0 && h->deadline <= now_ms() && h->tfn) {
			h->deadline = -1;
			h->tfn(h->targ);
		}
	}
}

/* One async result. */
struct got {
	int *done;
	struct sipdance_dns_answer *a;
	int calls;
};

/* got_cb - record an async answer */
static void got_cb(void *arg, const struct sipdance_dns_answer *a)
{
	struct got *g = arg;

	g->calls++;
	(*g->done)++;
	g->a = sipdance_dns_answer_ref(a);
}

/* test_zones - the status of every zone kind */
static void test_zones(struct sipdance_dns *dns)
{
	char name[256];
	const char *tls_a = env("TB_A_TLS_PORT"), *tls_b = env("TB_B_TLS_PORT");
	struct sipdance_dns_answer *a;
	const struct sipdance_dns_rr *rr;
	/* zone, then the reason wanted for its TLSA and for its NAPTR (the
	 * script adds a NAPTR to badsig.example without signing it again) */
	static const char *const bogus[][3] = {
		{ "badsig", "does not verify with the DNSKEY of badsig.example",
		  "does not verify with the DNSKEY of badsig.example" },
		{ "expired", "expired 2020-02-01", "expired 2020-02-01" },
		{ "wrongds", "no DNSKEY of wrongds.example matches its DS",
		  "no DNSKEY of wrongds.example matches its DS" },
	};

	snprintf(name, sizeof(name), "_%s._tcp.sip.a.example", tls_a);
	a = expect(dns, name, SIPDANCE_DNS_TLSA, SIPDANCE_DNS_SECURE, SIPDANCE_DNS_FOUND);
	check(tlsa_is(a, env("TB_SPKI_A")), "a TLSA is 3 1 1 SPKI of sip.a.example");
	{
		struct sipdance_tlsa_set *set = NULL;
		const struct sipdance_tlsa *t;
		size_t len = 0;
		char hex[65] = "";

		if (sipdance_dns_answer_tlsa(a, &set) == 0 && sipdance_tlsa_set_count(set) == 1 &&
		    (t = sipdance_tlsa_set_get(set, 0)) && sipdance_tlsa_usage(t) == 3) {
			const uint8_t *data = sipdance_tlsa_data(t, &len);

			sd_hex_encode(data, len < 32 ? len : 32, hex);
		}
		check(!strcmp(hex, env("TB_SPKI_A")), "a TLSA as a sipdance_tlsa_set");
		sipdance_tlsa_set_free(set);
	}
	check(!strcmp(sipdance_dns_answer_qname(a), name) && !strcmp(sipdance_dns_answer_cname(a), name),
	      "a TLSA qname and cname are the name asked (%s, %s)", sipdance_dns_answer_qname(a),
	      sipdance_dns_answer_cname(a));
	check(!sipdance_dns_answer_cached(a) && !*sipdance_dns_answer_why(a),
	      "a TLSA: first answer is not cached, why empty");
	sipdance_dns_answer_unref(a);
	snprintf(name, sizeof(name), "_%s._tcp.sip.B.example.", tls_b);
	a = expect(dns, name, SIPDANCE_DNS_TLSA, SIPDANCE_DNS_SECURE, SIPDANCE_DNS_FOUND);
	check(tlsa_is(a, env("TB_SPKI_B")), "b TLSA (asked in mixed case, trailing dot) is b's SPKI");
	sipdance_dns_answer_unref(a);

	a = expect(dns, "_sips._tcp.a.example", SIPDANCE_DNS_SRV, SIPDANCE_DNS_SECURE, SIPDANCE_DNS_FOUND);
	rr = sipdance_dns_answer_rr(a, 0);
	check(sipdance_dns_answer_count(a) == 1 && rr->u.srv.prio == 10 && rr->u.srv.weight == 10 &&
	      rr->u.srv.port == atoi(tls_a) && !strcmp(rr->u.srv.target, "sip.a.example"),
	      "a SRV is 10 10 %s sip.a.example", tls_a);
	sipdance_dns_answer_unref(a);
	sipdance_dns_answer_unref(expect(dns, "_sips._tcp.b.example", SIPDANCE_DNS_SRV,
					 SIPDANCE_DNS_SECURE, SIPDANCE_DNS_FOUND));

	a = expect(dns, "a.example", SIPDANCE_DNS_NAPTR, SIPDANCE_DNS_SECURE, SIPDANCE_DNS_FOUND);
	rr = sipdance_dns_answer_rr(a, 0);
	check(sipdance_dns_answer_count(a) == 3 && rr, "a NAPTR has 3 records");
	for (size_t i = 0; i < sipdance_dns_answer_count(a); i++) {
		rr = sipdance_dns_answer_rr(a, i);
		if (rr->u.naptr.order == 10)
			check(rr->u.naptr.pref == 10 && !strcmp(rr->u.naptr.flags, "S") &&
			      !strcmp(rr->u.naptr.services, "SIPS+D2T") && !rr->u.naptr.regexp[0] &&
			      !strcmp(rr->u.naptr.replacement, "_sips._tcp.a.example"),
			      "a NAPTR 10 10 \"S\" \"SIPS+D2T\" \"\" _sips._tcp.a.example");
	}
	sipdance_dns_answer_unref(a);
	sipdance_dns_answer_unref(expect(dns, "b.example", SIPDANCE_DNS_NAPTR, SIPDANCE_DNS_SECURE,
					 SIPDANCE_DNS_FOUND));
	sipdance_dns_answer_unref(expect(dns, "insecure.example", SIPDANCE_DNS_NAPTR,
					 SIPDANCE_DNS_INSECURE, SIPDANCE_DNS_FOUND));

	a = expect(dns, "sip.a.example", SIPDANCE_DNS_A, SIPDANCE_DNS_SECURE, SIPDANCE_DNS_FOUND);
	rr = sipdance_dns_answer_rr(a, 0);
	check(rr && rr->u.addr.family == AF_INET && !memcmp(rr->u.addr.addr, "\x7f\0\0\1", 4),
	      "sip.a.example A 127.0.0.1");
	sipdance_dns_answer_unref(a);
	a = expect(dns, "sip.a.example", SIPDANCE_DNS_AAAA, SIPDANCE_DNS_SECURE, SIPDANCE_DNS_FOUND);
	rr = sipdance_dns_answer_rr(a, 0);
	check(rr && rr->u.addr.family == AF_INET6 &&
	      !memcmp(rr->u.addr.addr, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\1", 16), "sip.a.example AAAA ::1");
	sipdance_dns_answer_unref(a);

	for (size_t i = 0; i < sizeof(bogus) / sizeof(bogus[0]); i++) {
		for (int t = 0; t < 2; t++) {
			uint16_t type = t ? SIPDANCE_DNS_NAPTR : SIPDANCE_DNS_TLSA;

			if (t)
				snprintf(name, sizeof(name), "%s.example", bogus[i][0]);
			else
				snprintf(name, sizeof(name), "_%s._tcp.sip.%s.example", tls_b, bogus[i][0]);
			a = expect(dns, name, type, SIPDANCE_DNS_BOGUS, SIPDANCE_DNS_NONE);
			check(sipdance_dns_answer_count(a) == 0 &&
			      strstr(sipdance_dns_answer_why(a), bogus[i][1 + t]),
			      "%s/%u: no records, why \"%s\" (want \"%s\")", name, type,
			      sipdance_dns_answer_why(a), bogus[i][1 + t]);
			sipdance_dns_answer_unref(a);
		}
	}

	snprintf(name, sizeof(name), "_%s._tcp.sip.insecure.example", env("TB_INSECURE_TLS_PORT"));
	a = expect(dns, name, SIPDANCE_DNS_TLSA, SIPDANCE_DNS_INSECURE, SIPDANCE_DNS_FOUND);
	check(tlsa_is(a, env("TB_SPKI_INSECURE")), "insecure TLSA decoded (status says not to use it)");
	sipdance_dns_answer_unref(a);
	sipdance_dns_answer_unref(expect(dns, "nothere.insecure.example", SIPDANCE_DNS_A,
					 SIPDANCE_DNS_INSECURE, SIPDANCE_DNS_NXDOMAIN));

	snprintf(name, sizeof(name), "_%s._tcp.sip.nodane.example", tls_b);
	a = expect(dns, name, SIPDANCE_DNS_TLSA, SIPDANCE_DNS_SECURE, SIPDANCE_DNS_NXDOMAIN);
	check(sipdance_dns_answer_count(a) == 0, "nodane: no TLSA records");
	sipdance_dns_answer_unref(a);
	sipdance_dns_answer_unref(expect(dns, "sip.nodane.example", SIPDANCE_DNS_TLSA,
					 SIPDANCE_DNS_SECURE, SIPDANCE_DNS_NODATA));
	sipdance_dns_answer_unref(expect(dns, "nodane.example", SIPDANCE_DNS_TLSA,
					 SIPDANCE_DNS_SECURE, SIPDANCE_DNS_NODATA));
	sipdance_dns_answer_unref(expect(dns, "norecords.example", SIPDANCE_DNS_NAPTR,
					 SIPDANCE_DNS_SECURE, SIPDANCE_DNS_NODATA));
	sipdance_dns_answer_unref(expect(dns, "nonexistent.a.example", SIPDANCE_DNS_A,
					 SIPDANCE_DNS_SECURE, SIPDANCE_DNS_NXDOMAIN));
	sipdance_dns_answer_unref(expect(dns, "nonexistent.a.example", SIPDANCE_DNS_NAPTR,
					 SIPDANCE_DNS_SECURE, SIPDANCE_DNS_NXDOMAIN));
	sipdance_dns_answer_unref(expect(dns, "sip.a.example", SIPDANCE_DNS_NAPTR,
					 SIPDANCE_DNS_SECURE, SIPDANCE_DNS_NODATA));
	sipdance_dns_answer_unref(expect(dns, "nothere.insecure.example", SIPDANCE_DNS_NAPTR,
					 SIPDANCE_DNS_INSECURE, SIPDANCE_DNS_NXDOMAIN));
	a = expect(dns, "nothere.expired.example", SIPDANCE_DNS_NAPTR, SIPDANCE_DNS_BOGUS,
		   SIPDANCE_DNS_NONE);
	check(strstr(sipdance_dns_answer_why(a), "expired 2020-02-01") != NULL,
	      "NAPTR denial signed with expired RRSIGs: why \"%s\"", sipdance_dns_answer_why(a));
	sipdance_dns_answer_unref(a);
	sipdance_dns_answer_unref(expect(dns, "nothere.wrongds.example", SIPDANCE_DNS_NAPTR,
					 SIPDANCE_DNS_BOGUS, SIPDANCE_DNS_NONE));
	sipdance_dns_answer_unref(expect(dns, "sip.alias.example", SIPDANCE_DNS_NAPTR,
					 SIPDANCE_DNS_SECURE, SIPDANCE_DNS_NODATA));
}

/* test_cname - RFC 7671 §7 chains: final owner, and the worst status of all hops */
static void test_cname(struct sipdance_dns *dns)
{
	struct sipdance_dns_answer *a;
	const struct sipdance_dns_rr *rr;
	static const struct {
		const char *name, *cname;
		enum sipdance_dns_status st;
	} hop[] = {
		{ "sip.alias.example", "sip.a.example", SIPDANCE_DNS_SECURE },
		{ "sip2.alias.example", "sip2.b.example", SIPDANCE_DNS_SECURE },
		/* added by dns-live.sh */
		{ "two.alias.example", "sip.a.example", SIPDANCE_DNS_SECURE },
		{ "toinsecure.alias.example", "sip.insecure.example", SIPDANCE_DNS_INSECURE },
		{ "fromins.insecure.example", "sip.a.example", SIPDANCE_DNS_INSECURE },
	};

	for (size_t i = 0; i < sizeof(hop) / sizeof(hop[0]); i++) {
		a = expect(dns, hop[i].name, SIPDANCE_DNS_A, hop[i].st, SIPDANCE_DNS_FOUND);
		rr = sipdance_dns_answer_rr(a, 0);
		check(!strcmp(sipdance_dns_answer_cname(a), hop[i].cname) &&
		      !strcmp(sipdance_dns_answer_qname(a), hop[i].name) && rr &&
		      rr->type == SIPDANCE_DNS_A,
		      "%s: cname %s (got %s), an A record", hop[i].name, hop[i].cname,
		      sipdance_dns_answer_cname(a));
		sipdance_dns_answer_unref(a);
	}
	a = expect(dns, "tobogus.alias.example", SIPDANCE_DNS_A, SIPDANCE_DNS_BOGUS, SIPDANCE_DNS_NONE);
	check(strstr(sipdance_dns_answer_why(a), "expired") != NULL,
	      "CNAME into a bogus zone: why \"%s\"", sipdance_dns_answer_why(a));
	sipdance_dns_answer_unref(a);
	a = expect(dns, "sip.alias.example", SIPDANCE_DNS_CNAME, SIPDANCE_DNS_SECURE, SIPDANCE_DNS_FOUND);
	rr = sipdance_dns_answer_rr(a, 0);
	check(rr && rr->type == SIPDANCE_DNS_CNAME && !strcmp(rr->u.cname.target, "sip.a.example") &&
	      !strcmp(sipdance_dns_answer_cname(a), "sip.alias.example"),
	      "CNAME asked as such is not followed");
	sipdance_dns_answer_unref(a);
	/* Knot hands the loop over and we find it; a recursive resolver refuses to
	 * chase it: INDETERMINATE either way, the reason says who saw it */
	a = expect(dns, "loop1.alias.example", SIPDANCE_DNS_A, SIPDANCE_DNS_INDETERMINATE,
		   SIPDANCE_DNS_NONE);
	check(strstr(sipdance_dns_answer_why(a), behind_unbound() ? "SERVFAIL from " : "CNAME chain") != NULL,
	      "CNAME loop: why \"%s\"", sipdance_dns_answer_why(a));
	sipdance_dns_answer_unref(a);
}

/* test_cache - second lookup from the cache, no new upstream query; flush */
static void test_cache(struct sipdance_dns *dns)
{
	struct sipdance_dns_answer *a;
	long before = queries("all");

	a = lookup(dns, "sip.alias.example", SIPDANCE_DNS_A);
	check(sipdance_dns_answer_cached(a) && sipdance_dns_answer_status(a) == SIPDANCE_DNS_SECURE &&
	      !strcmp(sipdance_dns_answer_cname(a), "sip.a.example"),
	      "second lookup of sip.alias.example is cached, still SECURE via sip.a.example");
	sipdance_dns_answer_unref(a);
	a = lookup(dns, "nonexistent.a.example", SIPDANCE_DNS_A);
	check(sipdance_dns_answer_cached(a) && sipdance_dns_answer_rcode(a) == SIPDANCE_DNS_NXDOMAIN,
	      "NXDOMAIN is cached");
	sipdance_dns_answer_unref(a);
	a = lookup(dns, "_5061._tcp.sip.expired.example", SIPDANCE_DNS_TLSA);
	check(sipdance_dns_answer_cached(a) && sipdance_dns_answer_status(a) == SIPDANCE_DNS_BOGUS,
	      "BOGUS is cached (for neg_ttl)");
	sipdance_dns_answer_unref(a);
	check(queries("all") == before, "the resolver saw no query for cached answers");
	sipdance_dns_flush(dns);
	a = lookup(dns, "sip.alias.example", SIPDANCE_DNS_A);
	check(!sipdance_dns_answer_cached(a) && queries("all") > before,
	      "after flush the lookup goes upstream again");
	sipdance_dns_answer_unref(a);
}

/* test_async - the host loop, shared flights, cancel, callbacks always later */
static void test_async(struct sipdance_dns_conf conf)
{
	struct host h = { .deadline = -1, .fake = -1 };
	struct sipdance_dns *dns;
	struct got g[4];
	int done = 0;
	struct sipdance_dns_query *q;
	long tlsa;
	char name[256];

	memset(g, 0, sizeof(g));
	for (int i = 0; i < 4; i++)
		g[i].done = &done;
	if (host_init(&h, &conf) || sipdance_dns_alloc(&dns, &conf, NULL)) {
		check(0, "resolver on the host's loop");
		return;
	}
	snprintf(name, sizeof(name), "_%s._tcp.sip.b.example", env("TB_B_TLS_PORT"));
	tlsa = queries("TLSA");
	check(sipdance_dns_lookup(dns, name, SIPDANCE_DNS_TLSA, got_cb, &g[0], NULL) == 0 &&
	      sipdance_dns_lookup(dns, name, SIPDANCE_DNS_TLSA, got_cb, &g[1], NULL) == 0,
	      "two async lookups of the same name started");
	check(done == 0 && h.nfd > 0, "no callback yet; the host watches %d descriptor(s)", h.nfd);
	host_run(&h, &done, 2, slow(5000));
	check(g[0].calls == 1 && g[1].calls == 1, "both callbacks ran once");
	check(g[0].a && g[1].a && sipdance_dns_answer_status(g[0].a) == SIPDANCE_DNS_SECURE &&
	      sipdance_dns_answer_status(g[1].a) == SIPDANCE_DNS_SECURE &&
	      !sipdance_dns_answer_cached(g[1].a), "both SECURE, neither from the cache");
	check(queries("TLSA") - tlsa == 1, "one upstream TLSA query for both (%ld)",
	      queries("TLSA") - tlsa);
	check(h.nfd == 0 && h.io_calls > 0 && h.timer_calls > 0,
	      "host told to stop watching when idle (io %d, timer %d calls)", h.io_calls, h.timer_calls);

	done = 0;
	check(sipdance_dns_lookup(dns, name, SIPDANCE_DNS_TLSA, got_cb, &g[2], NULL) == 0 &&
	      done == 0 && h.deadline >= 0, "cached lookup: callback deferred to a zero-delay timer");
	host_run(&h, &done, 1, slow(1000));
	check(g[2].calls == 1 && sipdance_dns_answer_cached(g[2].a), "cached answer delivered from the timer");

	done = 0;
	sipdance_dns_lookup(dns, name, SIPDANCE_DNS_TLSA, got_cb, &g[3], &q);
	sipdance_dns_cancel(q);
	sipdance_dns_lookup(dns, "sip.b.example", SIPDANCE_DNS_A, got_cb, &g[3], &q);
	sipdance_dns_cancel(q);
	host_run(&h, &done, 1, slow(500));
	check(g[3].calls == 0, "cancelled lookups (cached and in flight) never call back");
	for (int i = 0; i < 3; i++)
		sipdance_dns_answer_unref(g[i].a);
	sipdance_dns_free(dns);
	check(h.nfd == 0 && !h.tfn, "the freed resolver left nothing on the host's loop");
	sipdance_loop_free(h.loop);
}

/* udp_socket - a UDP socket on 127.0.0.1 and an ephemeral port, as "127.0.0.1@PORT" */
static int udp_socket(char *resolver, size_t size)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sin, sizeof(sin)) ||
	    getsockname(fd, (struct sockaddr *)&sin, &len)) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	snprintf(resolver, size, "127.0.0.1@%u", ntohs(sin.sin_port));
	return fd;
}

/* test_rcode - a resolver answering SERVFAIL or REFUSED gives INDETERMINATE with that reason */
static void test_rcode(const char *anchor, int rcode, const char *name)
{
	struct sipdance_dns_conf conf = { .size = sizeof(conf), .trust_anchor = anchor, .timeout_ms = 1000 };
	struct host h = { .deadline = -1 };
	struct sipdance_dns *dns;
	char resolver[64], want[96];
	int done = 0;
	struct got g = { &done, NULL, 0 };

	if ((h.fake = udp_socket(resolver, sizeof(resolver))) < 0 || host_init(&h, &conf) ||
	    (conf.resolver = resolver, sipdance_dns_alloc(&dns, &conf, NULL))) {
		check(0, "fake resolver answering %s", name);
		return;
	}
	h.rcode = rcode;
	sipdance_dns_lookup(dns, "_5061._tcp.sip.a.example", SIPDANCE_DNS_TLSA, got_cb, &g, NULL);
	host_run(&h, &done, 1, slow(3000));
	snprintf(want, sizeof(want), "%s from %s", name, resolver);
	check(g.calls == 1 && sipdance_dns_answer_status(g.a) == SIPDANCE_DNS_INDETERMINATE &&
	      sipdance_dns_answer_rcode(g.a) == SIPDANCE_DNS_NONE &&
	      !strcmp(sipdance_dns_answer_why(g.a), want),
	      "resolver answering %s: INDETERMINATE, why \"%s\" (want \"%s\")", name,
	      g.a ? sipdance_dns_answer_why(g.a) : "(no answer)", want);
	sipdance_dns_answer_unref(g.a);
	sipdance_dns_free(dns);
	sipdance_loop_free(h.loop);
	close(h.fake);
}

/*
 * test_dead - a resolver that never answers gives INDETERMINATE, not
 * INSECURE, within the timeout. The "resolver" is a UDP socket of ours that
 * nobody reads: its port cannot collide with another test's server.
 */
static void test_dead(const char *anchor)
{
	struct sipdance_dns_conf conf = { .size = sizeof(conf), .trust_anchor = anchor, .timeout_ms = 300 };
	struct sipdance_dns *dns;
	struct sipdance_dns_answer *a;
	const char *why = NULL;
	char dead[64];
	long t0;
	int fd = udp_socket(dead, sizeof(dead));

	if (fd < 0) {
		check(0, "silent UDP socket for the dead resolver");
		return;
	}
	conf.resolver = dead;
	if (sipdance_dns_alloc(&dns, &conf, &why)) {
		check(0, "resolver for %s: %s", dead, why);
		return;
	}
	t0 = now_ms();
	a = expect(dns, "_5061._tcp.sip.a.example", SIPDANCE_DNS_TLSA, SIPDANCE_DNS_INDETERMINATE,
		   SIPDANCE_DNS_NONE);
	check(now_ms() - t0 < slow(2000), "no server: answered in %ld ms (timeout 300 ms, bound %ld ms)",
	      now_ms() - t0, slow(2000));
	check(!strcmp(sipdance_dns_answer_why(a), "timeout after 300 ms"),
	      "no server: why \"%s\"", sipdance_dns_answer_why(a));
	sipdance_dns_answer_unref(a);
	sipdance_dns_free(dns);
	close(fd);
}

/* test_free_pending - freeing with lookups in flight calls nothing back */
static void test_free_pending(const struct sipdance_dns_conf *conf)
{
	struct sipdance_dns *dns;
	int done = 0;
	struct got g = { &done, NULL, 0 };

	if (sipdance_dns_alloc(&dns, conf, NULL))
		return;
	sipdance_dns_lookup(dns, "a.example", SIPDANCE_DNS_NAPTR, got_cb, &g, NULL);
	sipdance_dns_lookup(dns, "b.example", SIPDANCE_DNS_SRV, got_cb, &g, NULL);
	sipdance_dns_free(dns);
	check(g.calls == 0, "free with lookups in flight: no callback");
}

/* log_stderr - library log lines, when DNS_LIVE_DEBUG is set */
static void log_stderr(enum sipdance_log_level level, const char *module, const char *msg, void *arg)
{
	(void)level;
	(void)arg;
	fprintf(stderr, "[%s] %s\n", module, msg);
}

int main(int argc, char **argv)
{
	struct sipdance_dns_conf conf = { .size = sizeof(conf) };
	struct sipdance_dns *dns;
	const char *why = NULL;

	if (argc != 1) {
		fprintf(stderr, "usage: dns-live  (with the testbed's env.sh exported)\n");
		return 2;
	}
	if (getenv("DNS_LIVE_DEBUG"))
		sipdance_log_set(log_stderr, NULL, SIPDANCE_LOG_DEBUG);
	conf.resolver = env("TB_RESOLVER");
	conf.trust_anchor = env("TB_ANCHOR");
	if (sipdance_dns_alloc(&dns, &conf, &why)) {
		fprintf(stderr, "dns-live: %s\n", why);
		return 2;
	}
	test_zones(dns);
	test_cname(dns);
	test_cache(dns);
	sipdance_dns_free(dns);
	test_async(conf);
	conf.trust_anchor = env("TB_ANCHOR_DNSKEY");
	if (sipdance_dns_alloc(&dns, &conf, &why)) {
		check(0, "DNSKEY trust anchor: %s", why);
	} else {
		struct sipdance_dns_answer *a = expect(dns, "sip.b.example", SIPDANCE_DNS_A,
						       SIPDANCE_DNS_SECURE, SIPDANCE_DNS_FOUND);

		sipdance_dns_answer_unref(a);
		sipdance_dns_free(dns);
	}
	conf.trust_anchor = env("TB_ANCHOR");
	test_free_pending(&conf);
	(void)argv;
	test_dead(conf.trust_anchor);
	test_rcode(conf.trust_anchor, 2, "SERVFAIL");
	test_rcode(conf.trust_anchor, 5, "REFUSED");
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
