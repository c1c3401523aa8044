/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * locate.c - RFC 3263 location of a SIP domain's TLS servers, every step's
 * DNSSEC status kept, TLSA per target (RFC 7673, aliases per RFC 7671 §7),
 * and the policy decision per target. One state machine serves the
 * asynchronous API (lookups on the DNS layer's loop) and the blocking one.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include <sipdance/locate.h>
#include "internal.h"

#define MAX_TARGETS 16
#define MAX_STEPS 48
#define MAX_SRVNAMES 4
#define SIPS_PORT 5061

enum phase { PH_NAPTR, PH_SRV, PH_ADDR, PH_TLSA, PH_DONE };

/* Per-target lookup state. */
struct tstate {
	int from_srv;           /* the host came from a SRV record */
	enum sipdance_dns_status a_status, aaaa_status;
	char cname[256];        /* CNAME-expanded host, "" if none */
	int tlsa_second;        /* the original-name TLSA lookup is under way */
};

/* One lookup in flight: what its answer is for. */
struct req {
	struct sipdance_locate *loc;
	struct sipdance_dns_query *q;
	uint16_t type;
	int index;              /* target, or SRV name */
	int done;
};

struct sipdance_locate {
	struct sipdance_locate_conf conf;
	sipdance_locate_cb *cb;
	void *arg;
	char domain[256];
	uint16_t port;          /* explicit port, 0 if none */
	int numeric;            /* the host is an IP literal */
	enum sipdance_policy_mode mode;
	enum phase phase;
	int pending;
	struct timespec started;
	int gave_up;            /* max_wait_ms passed: no more lookups */
	enum sipdance_dns_status srv_status; /* INDETERMINATE until an answer says otherwise */
	int srv_seen;           /* NAPTR/SRV answers that counted in srv_status */
	char srvnames[MAX_SRVNAMES][300];
	size_t nsrvnames;
	struct sipdance_target t[MAX_TARGETS];
	struct tstate ts[MAX_TARGETS];
	size_t nt;
	struct sipdance_locate_step steps[MAX_STEPS];
	size_t nsteps;
	struct req *reqs[4 * MAX_TARGETS + MAX_SRVNAMES + 2];
	size_t nreqs;
	char why[512];
};

static void advance(struct sipdance_locate *loc);

/* elapsed_ms - milliseconds since the resolution started */
static unsigned long elapsed_ms(const struct sipdance_locate *loc)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (unsigned long)((now.tv_sec - loc->started.tv_sec) * 1000 +
			       (now.tv_nsec - loc->started.tv_nsec) / 1000000);
}

/* worst - the less secure of two statuses (BOGUS and INDETERMINATE rank lowest) */
static enum sipdance_dns_status worst(enum sipdance_dns_status a, enum sipdance_dns_status b)
{
	static const int rank[] = { [SIPDANCE_DNS_SECURE] = 0, [SIPDANCE_DNS_INSECURE] = 1,
				    [SIPDANCE_DNS_INDETERMINATE] = 2, [SIPDANCE_DNS_BOGUS] = 3 };

	return rank[b] > rank[a] ? b : a;
}

/* note_srv - one more NAPTR/SRV answer of status @st: the chain is the worst of
 * those seen, and stays INDETERMINATE while none is */
static void note_srv(struct sipdance_locate *loc, enum sipdance_dns_status st)
{
	loc->srv_status = loc->srv_seen++ ? worst(loc->srv_status, st) : st;
}

/* set_why - the first explanation of a failure wins; with an answer,
 * " is <STATUS>: <why>" follows the formatted text */
static void __attribute__((format(printf, 3, 4)))
set_why(struct sipdance_locate *loc, const struct sipdance_dns_answer *a, const char *fmt, ...)
{
	const char *w = a ? sipdance_dns_answer_why(a) : "";
	size_t n;
	va_list ap;

	if (loc->why[0])
		return;
	va_start(ap, fmt);
	vsnprintf(loc->why, sizeof(loc->why), fmt, ap);
	va_end(ap);
	n = strlen(loc->why);
	if (a)
		snprintf(loc->why + n, sizeof(loc->why) - n, " is %s%s%s",
			 sipdance_dns_status_str(sipdance_dns_answer_status(a)), *w ? ": " : "", w);
}

/* quoted - a NAPTR character-string in presentation form: "...", with \" \\ \DDD */
static void quoted(FILE *f, const char *s)
{
	putc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20 || c > 0x7e)
			fprintf(f, "\\%03u", c);
		else
			putc(c, f);
	}
	putc('"', f);
}

/* rr_text - presentation form of one record, whole (TLSA data in full hex) */
static void rr_text(FILE *f, const struct sipdance_dns_rr *rr)
{
	char addr[INET6_ADDRSTRLEN];

	switch (rr->type) {
	case SIPDANCE_DNS_NAPTR:
		fprintf(f, "%u %u ", rr->u.naptr.order, rr->u.naptr.pref);
		quoted(f, rr->u.naptr.flags);
		putc(' ', f);
		quoted(f, rr->u.naptr.services);
		putc(' ', f);
		quoted(f, rr->u.naptr.regexp);
		fprintf(f, " %s", rr->u.naptr.replacement);
		break;
	case SIPDANCE_DNS_SRV:
		fprintf(f, "%u %u %u %s", rr->u.srv.prio, rr->u.srv.weight, rr->u.srv.port,
			rr->u.srv.target);
		break;
	case SIPDANCE_DNS_A:
	case SIPDANCE_DNS_AAAA:
		fprintf(f, "%s", inet_ntop(rr->u.addr.family, rr->u.addr.addr, addr, sizeof(addr)));
		break;
	case SIPDANCE_DNS_TLSA:
		fprintf(f, "%u %u %u ", rr->u.tlsa.usage, rr->u.tlsa.selector, rr->u.tlsa.mtype);
		for (size_t i = 0; i < rr->u.tlsa.len; i++)
			fprintf(f, "%02x", rr->u.tlsa.data[i]);
		break;
	default:
		fprintf(f, "type %u", rr->type);
	}
}

static const char no_records[] = "";

/* record_step - one resolution step for the report, its records whole */
static void record_step(struct sipdance_locate *loc, const char *what,
			const struct sipdance_dns_answer *a)
{
	struct sipdance_locate_step *s;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	if (loc->nsteps == MAX_STEPS)
		return;
	s = &loc->steps[loc->nsteps++];
	snprintf(s->what, sizeof(s->what), "%s", what);
	s->status = sipdance_dns_answer_status(a);
	s->rcode = sipdance_dns_answer_rcode(a);
	snprintf(s->why, sizeof(s->why), "%s", sipdance_dns_answer_why(a));
	s->records = no_records;
	if (!(f = open_memstream(&buf, &len)))
		return;
	for (size_t i = 0; i < sipdance_dns_answer_count(a); i++) {
		if (i)
			fputs("; ", f);
		rr_text(f, sipdance_dns_answer_rr(a, i));
	}
	if (fclose(f) == 0)
		s->records = buf;
	else
		free(buf);
}

/* on_answer - the DNS layer's callback: record, dispatch, maybe advance */
static void on_answer(void *arg, const struct sipdance_dns_answer *a);

/* lookup - start one lookup for @index */
static void lookup(struct sipdance_locate *loc, const char *name, uint16_t type, int index)
{
	struct req *r;

	if (loc->conf.max_wait_ms && (loc->gave_up || elapsed_ms(loc) > loc->conf.max_wait_ms)) {
		if (!loc->gave_up++)
			set_why(loc, NULL, "gave up before looking up %s: resolution took longer than %u ms",
				name, loc->conf.max_wait_ms);
		return;
	}
	if (loc->nreqs == sizeof(loc->reqs) / sizeof(loc->reqs[0]) || !(r = calloc(1, sizeof(*r)))) {
		set_why(loc, NULL, "out of memory or too many lookups for %s", name);
		return;
	}
	*r = (struct req){ .loc = loc, .type = type, .index = index };
	loc->reqs[loc->nreqs++] = r;
	loc->pending++;
	if (sipdance_dns_lookup(loc->conf.dns, name, type, on_answer, r, &r->q)) {
		r->done = 1;
		loc->pending--;
		set_why(loc, NULL, "lookup of %s failed", name);
	}
}

/* add_target - a TLS target host:port, deduplicated */
static struct sipdance_target *add_target(struct sipdance_locate *loc, const char *host,
					  uint16_t port, int from_srv)
{
	struct sipdance_target *t;

	size_t max = loc->conf.max_targets && loc->conf.max_targets < MAX_TARGETS ? loc->conf.max_targets
										     : MAX_TARGETS;

	for (size_t i = 0; i < loc->nt; i++)
		if (!strcasecmp(loc->t[i].host, host) && loc->t[i].port == port)
			return NULL;
	if (loc->nt == max) {
		sd_log(SIPDANCE_LOG_DEBUG, "locate", "%s: only the first %zu targets are used, not %s:%u",
		       loc->domain, max, host, port);
		return NULL;
	}
	t = &loc->t[loc->nt];
	memset(t, 0, sizeof(*t));
	snprintf(t->host, sizeof(t->host), "%s", host);
	snprintf(t->base_domain, sizeof(t->base_domain), "%s", host);
	t->port = port;
	t->transport = SIPDANCE_TP_TLS;
	/* every status starts INDETERMINATE (zero) and only an answer raises it */
	loc->ts[loc->nt] = (struct tstate){ .from_srv = from_srv };
	loc->nt++;
	return t;
}

/* naptr_cmp - RFC 3403 order, then preference */
static int naptr_cmp(const void *a, const void *b)
{
	const struct sipdance_dns_rr *x = *(const struct sipdance_dns_rr *const *)a;
	const struct sipdance_dns_rr *y = *(const struct sipdance_dns_rr *const *)b;

	if (x->u.naptr.order != y->u.naptr.order)
		return x->u.naptr.order < y->u.naptr.order ? -1 : 1;
	return (x->u.naptr.pref > y->u.naptr.pref) - (x->u.naptr.pref < y->u.naptr.pref);
}

/* srv_cmp - RFC 2782 priority, then larger weight first (deterministic) */
static int srv_cmp(const void *a, const void *b)
{
	const struct sipdance_dns_rr *x = *(const struct sipdance_dns_rr *const *)a;
	const struct sipdance_dns_rr *y = *(const struct sipdance_dns_rr *const *)b;

	if (x->u.srv.prio != y->u.srv.prio)
		return x->u.srv.prio < y->u.srv.prio ? -1 : 1;
	return (x->u.srv.weight < y->u.srv.weight) - (x->u.srv.weight > y->u.srv.weight);
}

/* sorted - the answer's records in the order @cmp gives; caller frees */
static const struct sipdance_dns_rr **sorted(const struct sipdance_dns_answer *a, size_t *n,
					     int (*cmp)(const void *, const void *))
{
	const struct sipdance_dns_rr **v;

	*n = sipdance_dns_answer_count(a);
	if (!(v = calloc(*n ? *n : 1, sizeof(*v))))
		return NULL;
	for (size_t i = 0; i < *n; i++)
		v[i] = sipdance_dns_answer_rr(a, i);
	qsort(v, *n, sizeof(*v), cmp);
	return v;
}

/* on_naptr - RFC 3263 §4.1: SIPS+D2T records with the "S" flag name the SRV
 * RRsets to try; without any, the default _sips._tcp name */
static void on_naptr(struct sipdance_locate *loc, const struct sipdance_dns_answer *a)
{
	enum sipdance_dns_status st = sipdance_dns_answer_status(a);
	const struct sipdance_dns_rr **v;
	size_t n;

	/*
	 * The cases:
	 *  - BOGUS or INDETERMINATE: the domain cannot be located safely; stop.
	 *  - NAPTR records present: their status counts in the NAPTR/SRV chain.
	 *  - No NAPTR (any denial, even an unvalidated one): go on with the
	 *    default SRV name. That cannot lower security: the SRV RRset at the
	 *    default name is validated on its own and decides the chain's status.
	 */
	if (st == SIPDANCE_DNS_BOGUS || st == SIPDANCE_DNS_INDETERMINATE) {
		set_why(loc, a, "NAPTR %s", loc->domain);
		note_srv(loc, st);
		return;
	}
	if (sipdance_dns_answer_rcode(a) == SIPDANCE_DNS_FOUND && (v = sorted(a, &n, naptr_cmp))) {
		for (size_t i = 0; i < n && loc->nsrvnames < MAX_SRVNAMES; i++)
			if (!strcasecmp(v[i]->u.naptr.services, "SIPS+D2T") &&
			    !strcasecmp(v[i]->u.naptr.flags, "S"))
				snprintf(loc->srvnames[loc->nsrvnames++], sizeof(loc->srvnames[0]),
					 "%s", v[i]->u.naptr.replacement);
		free(v);
		if (loc->nsrvnames)
			note_srv(loc, st);
	}
	if (!loc->nsrvnames)
		snprintf(loc->srvnames[loc->nsrvnames++], sizeof(loc->srvnames[0]), "_sips._tcp.%s",
			 loc->domain);
}

/* on_srv - collect targets of one SRV name; the A/AAAA fallback comes in advance() */
static void on_srv(struct sipdance_locate *loc, const struct sipdance_dns_answer *a, int index)
{
	enum sipdance_dns_status st = sipdance_dns_answer_status(a);
	const struct sipdance_dns_rr **v;
	size_t n;

	/* Only the first SRV name (in NAPTR order) that answers decides; a failed one taints the chain. */
	note_srv(loc, st);
	if (st == SIPDANCE_DNS_BOGUS || st == SIPDANCE_DNS_INDETERMINATE) {
		set_why(loc, a, "SRV %s", loc->srvnames[index]);
		return;
	}
	if (sipdance_dns_answer_rcode(a) != SIPDANCE_DNS_FOUND || !(v = sorted(a, &n, srv_cmp)))
		return;
	for (size_t i = 0; i < n; i++) {
		/* A lone "." target: the service is decidedly not available (RFC 2782). */
		if (!strcmp(v[i]->u.srv.target, ".") || !v[i]->u.srv.target[0]) {
			set_why(loc, NULL, "SRV %s says there is no such service", loc->srvnames[index]);
			continue;
		}
		add_target(loc, v[i]->u.srv.target, v[i]->u.srv.port, 1);
	}
	free(v);
}

/* on_addr - addresses of a target, and its CNAME expansion */
static void on_addr(struct sipdance_locate *loc, const struct sipdance_dns_answer *a, int index,
		    uint16_t type)
{
	struct sipdance_target *t = &loc->t[index];
	struct tstate *ts = &loc->ts[index];
	enum sipdance_dns_status st = sipdance_dns_answer_status(a);
	const char *cname = sipdance_dns_answer_cname(a);

	if (type == SIPDANCE_DNS_A)
		ts->a_status = st;
	else
		ts->aaaa_status = st;
	if (st == SIPDANCE_DNS_BOGUS || st == SIPDANCE_DNS_INDETERMINATE) {
		set_why(loc, a, "%s %s", type == SIPDANCE_DNS_A ? "A" : "AAAA", t->host);
		return;
	}
	if (cname && *cname && strcasecmp(cname, t->host))
		snprintf(ts->cname, sizeof(ts->cname), "%s", cname);
	for (size_t i = 0; i < sipdance_dns_answer_count(a) && t->naddr < SIPDANCE_MAX_ADDRS; i++) {
		const struct sipdance_dns_rr *rr = sipdance_dns_answer_rr(a, i);

		t->addr[t->naddr].family = rr->u.addr.family;
		memcpy(t->addr[t->naddr].addr, rr->u.addr.addr, sizeof(rr->u.addr.addr));
		t->naddr++;
	}
}

/* tlsa_name - _<port>._tcp.<host> into the target */
static void tlsa_name(struct sipdance_target *t, const char *host)
{
	char name[sizeof(t->tlsa_name)];

	snprintf(name, sizeof(name), "_%u._tcp.%s", t->port, host);
	memcpy(t->tlsa_name, name, sizeof(name));
}

/* on_tlsa - the TLSA RRset of a target; RFC 7671 §7: a secure denial at the
 * CNAME-expanded name sends us on to the original name */
static void on_tlsa(struct sipdance_locate *loc, const struct sipdance_dns_answer *a, int index)
{
	struct sipdance_target *t = &loc->t[index];
	struct tstate *ts = &loc->ts[index];
	enum sipdance_dns_status st = sipdance_dns_answer_status(a);
	enum sipdance_dns_rcode rc = sipdance_dns_answer_rcode(a);

	t->tlsa_status = st;
	t->tlsa_rcode = rc;
	snprintf(t->tlsa_why, sizeof(t->tlsa_why), "%s", sipdance_dns_answer_why(a));
	if (st == SIPDANCE_DNS_SECURE && rc == SIPDANCE_DNS_FOUND) {
		sipdance_tlsa_set_free(t->tlsa);
		t->tlsa = NULL;
		if (sipdance_dns_answer_tlsa(a, &t->tlsa))
			t->tlsa_status = SIPDANCE_DNS_INDETERMINATE; /* out of memory: fail closed */
		return;
	}
	if (st == SIPDANCE_DNS_SECURE && ts->cname[0] && !ts->tlsa_second) {
		ts->tlsa_second = 1;
		memcpy(t->base_domain, t->host, sizeof(t->base_domain));
		tlsa_name(t, t->host);
		lookup(loc, t->tlsa_name, SIPDANCE_DNS_TLSA, index);
	}
}

/* on_answer - see the declaration above */
static void on_answer(void *arg, const struct sipdance_dns_answer *a)
{
	struct req *r = arg;
	struct sipdance_locate *loc = r->loc;
	const char *qname = sipdance_dns_answer_qname(a), *cname = sipdance_dns_answer_cname(a);
	char what[320];

	r->done = 1;
	r->q = NULL;
	snprintf(what, sizeof(what), "%s %.250s%s%.60s",
		 r->type == SIPDANCE_DNS_NAPTR ? "NAPTR" : r->type == SIPDANCE_DNS_SRV ? "SRV" :
		 r->type == SIPDANCE_DNS_A ? "A" : r->type == SIPDANCE_DNS_AAAA ? "AAAA" : "TLSA",
		 qname, cname && *cname && strcasecmp(cname, qname) ? " -> " : "",
		 cname && *cname && strcasecmp(cname, qname) ? cname : "");
	record_step(loc, what, a);
	switch (r->type) {
	case SIPDANCE_DNS_NAPTR: on_naptr(loc, a); break;
	case SIPDANCE_DNS_SRV: on_srv(loc, a, r->index); break;
	case SIPDANCE_DNS_A:
	case SIPDANCE_DNS_AAAA: on_addr(loc, a, r->index, r->type); break;
	case SIPDANCE_DNS_TLSA: on_tlsa(loc, a, r->index); break;
	}
	if (--loc->pending == 0)
		advance(loc);
}

/* decide - policy per target, and the resolution's failure reason if none is usable */
static void decide(struct sipdance_locate *loc)
{
	int usable = 0;

	/* An unfinished resolution proves nothing: every target is refused. */
	if (loc->gave_up)
		loc->srv_status = SIPDANCE_DNS_INDETERMINATE;
	for (size_t i = 0; i < loc->nt; i++) {
		struct sipdance_target *t = &loc->t[i];
		struct sipdance_policy_input in = {
			.mode = loc->mode,
			.srv_status = loc->srv_status,
			.addr_status = t->addr_status,
			.tlsa_looked_up = t->tlsa_looked_up,
			.tlsa_status = t->tlsa_status,
			.tlsa_rcode = t->tlsa_rcode,
			.tlsa_usable = sipdance_dane_count_usable(loc->conf.dane, t->tlsa),
			.have_ca = sipdance_dane_has_ca(loc->conf.dane),
		};

		/* Reference ids: the SIP domain; the TLSA base domain only over a secure chain. */
		t->refids[0] = loc->domain;
		t->nrefids = 1;
		if (loc->ts[i].from_srv && loc->srv_status == SIPDANCE_DNS_SECURE &&
		    t->addr_status == SIPDANCE_DNS_SECURE && strcasecmp(t->base_domain, loc->domain))
			t->refids[t->nrefids++] = t->base_domain;
		sipdance_policy_decide(&in, &t->decision);
		if (t->decision.action != SIPDANCE_ACT_REFUSE) {
			usable = 1;
		} else if (!loc->why[0] && !strcmp(t->decision.rule, "bogus-tlsa")) {
			snprintf(loc->why, sizeof(loc->why), "%.280s TLSA is %s%s%.150s", t->tlsa_name,
				 sipdance_dns_status_str(t->tlsa_status), t->tlsa_why[0] ? ": " : "",
				 t->tlsa_why);
		} else if (!loc->why[0]) {
			snprintf(loc->why, sizeof(loc->why), "%.200s:%u: %.250s", t->host, t->port,
				 t->decision.reason);
		}
	}
	if (usable)
		loc->why[0] = '\0';
	else if (!loc->why[0])
		snprintf(loc->why, sizeof(loc->why), "no TLS server found for %s", loc->domain);
}

/* advance - the phase's lookups are all back: start the next phase */
static void advance(struct sipdance_locate *loc)
{
	/* A batch holds one extra count while it issues, so answers that come
	 * back at once (errors) cannot advance the phase early. */
	loc->pending++;
	switch (loc->phase) {
	case PH_NAPTR:
		/* a NAPTR answer that failed stops here; no NAPTR at all leaves it to SRV */
		loc->phase = PH_SRV;
		if (loc->srv_seen && (loc->srv_status == SIPDANCE_DNS_BOGUS ||
				      loc->srv_status == SIPDANCE_DNS_INDETERMINATE))
			loc->phase = PH_DONE;
		for (size_t i = 0; loc->phase == PH_SRV && i < loc->nsrvnames; i++)
			lookup(loc, loc->srvnames[i], SIPDANCE_DNS_SRV, (int)i);
		break;
	case PH_SRV:
		loc->phase = PH_ADDR;
		if (loc->srv_status == SIPDANCE_DNS_BOGUS || loc->srv_status == SIPDANCE_DNS_INDETERMINATE) {
			loc->nt = 0;
			loc->phase = PH_DONE;
			break;
		}
		/* No SRV target at all: RFC 3263 §4.2, the domain itself on the default port. */
		if (!loc->nt && !loc->why[0])
			add_target(loc, loc->domain, loc->port ? loc->port : SIPS_PORT, 0);
		for (size_t i = 0; i < loc->nt; i++) {
			lookup(loc, loc->t[i].host, SIPDANCE_DNS_A, (int)i);
			lookup(loc, loc->t[i].host, SIPDANCE_DNS_AAAA, (int)i);
		}
		break;
	case PH_ADDR:
		loc->phase = PH_TLSA;
		for (size_t i = 0; i < loc->nt; i++) {
			struct sipdance_target *t = &loc->t[i];
			struct tstate *ts = &loc->ts[i];

			t->addr_status = worst(ts->a_status, ts->aaaa_status);
			if (ts->cname[0])
				snprintf(t->base_domain, sizeof(t->base_domain), "%s", ts->cname);
			tlsa_name(t, t->base_domain);
			/* RFC 7673 §3 / RFC 7672 §2.2.2: TLSA only over a secure chain. */
			if (loc->srv_status != SIPDANCE_DNS_SECURE || t->addr_status != SIPDANCE_DNS_SECURE ||
			    !t->naddr || loc->conf.no_tlsa)
				continue;
			t->tlsa_looked_up = 1;
			lookup(loc, t->tlsa_name, SIPDANCE_DNS_TLSA, (int)i);
		}
		break;
	case PH_TLSA:
		loc->phase = PH_DONE;
		break;
	case PH_DONE:
		break;
	}
	if (--loc->pending > 0)
		return;
	if (loc->phase != PH_DONE) {
		advance(loc);
		return;
	}
	decide(loc);
	if (loc->cb)
		loc->cb(loc->arg, loc);
}

/* escaped_at - "%" HEXDIG HEXDIG at @p */
static int escaped_at(const char *p)
{
	return p[0] == '%' && isxdigit((unsigned char)p[1]) && isxdigit((unsigned char)p[2]);
}

/* span - length of the run at @p of alphanumerics, RFC 3261 marks ("-_.!~*'()"),
 * escapes and the characters of @extra: the grammar of one URI part */
static size_t span(const char *p, const char *extra)
{
	size_t n = 0;

	for (;;) {
		unsigned char c = (unsigned char)p[n];

		if (c && (isalnum(c) || strchr("-_.!~*'()", c) || strchr(extra, c)))
			n++;
		else if (escaped_at(p + n))
			n += 3;
		else
			return n;
	}
}

/* check_userinfo - RFC 3261 userinfo before the '@': user [":" password] */
static int check_userinfo(const char *p, const char *at, const char **why)
{
	size_t user = span(p, "&=+$,;?/");

	if (!user)
		return *why = "URI has an empty user part", EINVAL;
	p += user;
	if (*p == ':')
		p += 1 + span(p + 1, "&=+$,");
	if (p != at)
		return *why = "character not allowed in the user part", EINVAL;
	return 0;
}

/*
 * set_host - the URI's host, normalised into loc->domain: lowercase, one
 * trailing dot dropped. The cases:
 *  - "[...]": an IPv6 reference, which must parse as an IPv6 address;
 *  - dotted digits: an IPv4 address, which must parse as one;
 *  - otherwise a host name (RFC 3261 §25.1, RFC 1123): labels of 1-63
 *    letters, digits and inner hyphens, no empty label, a top label that
 *    does not start with a digit, 253 octets at most.
 * Anything else is refused: a name that is not what it looks like must not
 * reach the policy or the resolver.
 */
static int set_host(struct sipdance_locate *loc, const char *host, size_t len, int bracketed,
		    const char **why)
{
	char *d = loc->domain;
	size_t label = 0, top = 0;
	unsigned char a[16];

	if (!len)
		return *why = "URI has no host", EINVAL;
	if (len >= sizeof(loc->domain))
		return *why = "host name longer than 253 octets", EINVAL;
	for (size_t i = 0; i < len; i++)
		d[i] = (char)tolower((unsigned char)host[i]);
	d[len] = '\0';
	if (bracketed) {
		if (inet_pton(AF_INET6, d, a) != 1)
			return *why = "bracketed host is not an IPv6 address", EINVAL;
		loc->numeric = 1;
		return 0;
	}
	if (len > 1 && d[len - 1] == '.' && d[len - 2] != '.')
		d[--len] = '\0';
	if (strspn(d, "0123456789.") == len) {
		if (inet_pton(AF_INET, d, a) != 1)
			return *why = "host is neither a domain name nor an IPv4 address", EINVAL;
		loc->numeric = 1;
		return 0;
	}
	if (len > 253)
		return *why = "host name longer than 253 octets", EINVAL;
	for (size_t i = 0; i <= len; i++) {
		if (i == len || d[i] == '.') {
			if (!label)
				return *why = "empty label in host name", EINVAL;
			if (d[i - 1] == '-')
				return *why = "host name label ends with a hyphen", EINVAL;
			top = i - label;
			label = 0;
			continue;
		}
		if (!isalnum((unsigned char)d[i]) && d[i] != '-')
			return *why = "character not allowed in a host name", EINVAL;
		if (!label && d[i] == '-')
			return *why = "host name label starts with a hyphen", EINVAL;
		if (++label > 63)
			return *why = "host name label longer than 63 octets", EINVAL;
	}
	if (isdigit((unsigned char)d[top]))
		return *why = "host is neither a domain name nor an IPv4 address", EINVAL;
	return 0;
}

/*
 * parse_uri - host and port of a sip:/sips: URI, by RFC 3261's grammar
 * (§19.1.1, §25.1) and nothing looser: the userinfo ends at the only '@'
 * (';' and '?' belong to the user part), then host, port, parameters and
 * headers. What a proxy routes on and what is checked here must be the
 * same host, so anything ambiguous is refused, and so is maddr (it would
 * send the request somewhere else than the host).
 */
static int parse_uri(struct sipdance_locate *loc, const char *uri, const char **why)
{
	const char *p, *host, *at;
	size_t len, params;
	int err;

	if (!strncasecmp(uri, "sips:", 5))
		p = uri + 5;
	else if (!strncasecmp(uri, "sip:", 4))
		p = uri + 4;
	else
		return *why = "not a sip: or sips: URI", EINVAL;
	if ((at = strchr(p, '@'))) {
		if (strchr(at + 1, '@'))
			return *why = "more than one '@' in the URI", EINVAL;
		if ((err = check_userinfo(p, at, why)))
			return err;
		p = at + 1;
	}
	host = p;
	if (*host == '[') {
		const char *close = strchr(host, ']');

		if (!close)
			return *why = "unterminated IPv6 reference", EINVAL;
		if ((err = set_host(loc, host + 1, (size_t)(close - host - 1), 1, why)))
			return err;
		p = close + 1;
	} else {
		len = strcspn(host, ":;?");
		if ((err = set_host(loc, host, len, 0, why)))
			return err;
		p = host + len;
	}
	if (*p == ':') {
		unsigned long port = 0;

		for (len = 1; isdigit((unsigned char)p[len]) && len < 7; len++)
			port = port * 10 + (unsigned long)(p[len] - '0');
		if (len == 1 || port < 1 || port > 65535 || (p[len] && !strchr(";?", p[len])))
			return *why = "bad port in URI", EINVAL;
		loc->port = (uint16_t)port;
		p += len;
	}
	if (*p && *p != ';' && *p != '?')
		return *why = "character not allowed after the host", EINVAL;
	if (p[span(p, "[]/:&+$;=?")])
		return *why = "character not allowed in the URI parameters", EINVAL;
	params = strcspn(p, "?");
	for (const char *m = p; (m = memchr(m, ';', params - (size_t)(m - p))); m++)
		if (!strncasecmp(m + 1, "maddr=", 6))
			return *why = "maddr parameter: the request would not go to the host", EINVAL;
	return 0;
}

/* numeric_target - an IP literal: no DNS, so no DANE for it */
static void numeric_target(struct sipdance_locate *loc)
{
	struct sipdance_target *t = add_target(loc, loc->domain, loc->port ? loc->port : SIPS_PORT, 0);
	int v6 = strchr(loc->domain, ':') != NULL;

	t->addr[0].family = v6 ? AF_INET6 : AF_INET;
	inet_pton(t->addr[0].family, loc->domain, t->addr[0].addr);
	t->naddr = 1;
	tlsa_name(t, t->host);
	/* no DNS step to judge: the chain is vacuous, and without a TLSA lookup
	 * the policy falls back (PKIX, or refuses under dane=required) */
	loc->srv_status = t->addr_status = SIPDANCE_DNS_SECURE;
	loc->srv_seen = 1;
	loc->phase = PH_DONE;
}

/* start - shared by the async and sync entry points */
static int start(struct sipdance_locate **out, const struct sipdance_locate_conf *conf,
		 const char *uri, sipdance_locate_cb *cb, void *arg, const char **why)
{
	struct sipdance_locate_conf cf;
	struct sipdance_locate *loc;
	const char *dummy;
	int err;

	if (!why)
		why = &dummy;
	if ((err = SD_CONF(&cf, conf, why)))
		return err;
	*why = "missing argument";
	if (!out || !cf.dns || !cf.dane || !uri)
		return EINVAL;
	if (!(loc = calloc(1, sizeof(*loc))))
		return *why = "out of memory", ENOMEM;
	loc->conf = cf;
	loc->cb = cb;
	loc->arg = arg;
	clock_gettime(CLOCK_MONOTONIC, &loc->started);
	if ((err = parse_uri(loc, uri, why))) {
		free(loc);
		return err;
	}
	loc->mode = sipdance_policy_get(cf.policy, loc->domain);
	*out = loc;
	loc->pending = 1;
	if (loc->numeric)
		numeric_target(loc);
	else if (loc->port) { /* explicit port: no NAPTR, no SRV (RFC 3263 §4.2), nothing to judge */
		loc->phase = PH_SRV;
		loc->srv_status = SIPDANCE_DNS_SECURE;
		loc->srv_seen = 1;
	}
	else
		lookup(loc, loc->domain, SIPDANCE_DNS_NAPTR, 0);
	if (--loc->pending == 0)
		advance(loc);
	return 0;
}

/* sipdance_locate_start - asynchronous resolution */
int sipdance_locate_start(struct sipdance_locate **out, const struct sipdance_locate_conf *conf,
			  const char *uri, sipdance_locate_cb *cb, void *arg, const char **why)
{
	return start(out, conf, uri, cb, arg, why);
}

/* sync_done - a blocking resolution has its result */
static void sync_done(void *arg, struct sipdance_locate *loc)
{
	*(int *)arg = 1;
}

/* sipdance_locate_sync - the asynchronous resolution, run to its end on the resolver's poll loop */
int sipdance_locate_sync(struct sipdance_locate **out, const struct sipdance_locate_conf *conf,
			 const char *uri, const char **why)
{
	const char *dummy;
	int done = 0, err;

	if ((err = start(out, conf, uri, sync_done, &done, why ? why : &dummy)))
		return err;
	/* every lookup ends by its timeout, so the loop never runs dry before */
	if (!done && (err = sipdance_loop_run(sd_dns_loop(conf->dns), &done, -1))) {
		sipdance_locate_free(*out);
		*out = NULL;
		if (why)
			*why = err == EINVAL ? "the resolver runs on the host's loop: use sipdance_locate_start"
					      : "the resolver's loop failed";
		return err == EINVAL ? EINVAL : EIO;
	}
	return 0;
}

/* sipdance_locate_free - cancel pending lookups, free everything */
void sipdance_locate_free(struct sipdance_locate *loc)
{
	if (!loc)
		return;
	for (size_t i = 0; i < loc->nreqs; i++) {
		if (!loc->reqs[i]->done && loc->reqs[i]->q)
			sipdance_dns_cancel(loc->reqs[i]->q);
		free(loc->reqs[i]);
	}
	for (size_t i = 0; i < loc->nt; i++)
		sipdance_tlsa_set_free(loc->t[i].tlsa);
	for (size_t i = 0; i < loc->nsteps; i++)
		if (loc->steps[i].records != no_records)
			free((char *)loc->steps[i].records);
	free(loc);
}

const char *sipdance_locate_domain(const struct sipdance_locate *loc) { return loc->domain; }
enum sipdance_policy_mode sipdance_locate_mode(const struct sipdance_locate *loc) { return loc->mode; }
size_t sipdance_locate_count(const struct sipdance_locate *loc) { return loc->nt; }
size_t sipdance_locate_step_count(const struct sipdance_locate *loc) { return loc->nsteps; }
const char *sipdance_locate_why(const struct sipdance_locate *loc) { return loc->why; }

const struct sipdance_target *sipdance_locate_target(const struct sipdance_locate *loc, size_t i)
{
	return i < loc->nt ? &loc->t[i] : NULL;
}

const struct sipdance_locate_step *sipdance_locate_step(const struct sipdance_locate *loc, size_t i)
{
	return i < loc->nsteps ? &loc->steps[i] : NULL;
}

const char *sipdance_locate_transport_str(enum sipdance_transport t)
{
	static const char *const names[] = { "udp", "tcp", "tls" };

	return t <= SIPDANCE_TP_TLS ? names[t] : "unknown";
}

/* sipdance_locate_target_verify - authenticate a peer chain for one target */
int sipdance_locate_target_verify(const struct sipdance_dane *d, const struct sipdance_target *target,
			   STACK_OF(X509) *chain, struct sipdance_verdict *v)
{
	struct sipdance_dane_params p = { .names = target ? target->refids : NULL,
					  .nnames = target ? target->nrefids : 0 };

	if (!d || !target || !chain || !v)
		return EINVAL;
	/*
	 * The decision decides the method, never the peer:
	 *  - REFUSE: nothing the peer sends can make this target usable;
	 *  - DANE: the TLSA records and the reference ids (RFC 7671/7673);
	 *  - PKIX: the CA file and the SIP domain (RFC 5922).
	 */
	switch (target->decision.action) {
	case SIPDANCE_ACT_DANE:
		return sipdance_dane_verify(d, target->tlsa, chain, &p, v);
	case SIPDANCE_ACT_PKIX:
		p.nnames = 1; /* RFC 5922: the SIP domain only */
		return sipdance_dane_pkix_verify(d, chain, &p, v);
	case SIPDANCE_ACT_REFUSE:
		break;
	}
	*v = (struct sipdance_verdict){ .usage = -1, .selector = -1, .mtype = -1, .depth = -1 };
	sd_verdict_set(v, target->decision.result == SIPDANCE_MATCH ? SIPDANCE_NOMATCH
		       : target->decision.result, "target refused by policy: %s", target->decision.reason);
	return 0;
}

/* sipdance_locate_verify - authenticate a chain as the located domain */
int sipdance_locate_verify(const struct sipdance_locate *loc, const struct sipdance_dane *d,
			   STACK_OF(X509) *chain, struct sipdance_verdict *v, size_t *index)
{
	struct sipdance_verdict failed, refused;
	int have_failed = 0, have_refused = 0, err;

	if (!loc || !d || !chain || !v || loc->phase != PH_DONE)
		return EINVAL;
	/*
	 * The chain authenticates the domain when it authenticates as one of its
	 * targets under that target's decision; the first MATCH wins. Otherwise
	 * the first target that was tried and failed explains it (a key mismatch
	 * says more than a refused backup), else the first refusal, else why no
	 * target was found.
	 */
	for (size_t i = 0; i < loc->nt; i++) {
		int refuse = loc->t[i].decision.action == SIPDANCE_ACT_REFUSE;

		if ((err = sipdance_locate_target_verify(d, &loc->t[i], chain, v)))
			return err;
		if (v->result == SIPDANCE_MATCH) {
			if (index)
				*index = i;
			return 0;
		}
		if (refuse && !have_refused++)
			refused = *v;
		else if (!refuse && !have_failed++)
			failed = *v;
	}
	if (have_failed) {
		*v = failed;
	} else if (have_refused) {
		*v = refused;
	} else {
		*v = (struct sipdance_verdict){ .usage = -1, .selector = -1, .mtype = -1, .depth = -1 };
		sd_verdict_set(v, loc->srv_status == SIPDANCE_DNS_BOGUS ? SIPDANCE_BOGUS
			       : SIPDANCE_INDETERMINATE, "%s", loc->why[0] ? loc->why : "no target found");
	}
	return 0;
}
