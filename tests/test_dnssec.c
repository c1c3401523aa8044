/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_dnssec.c - the DNSSEC validator against the vectors of
 * tests/data/dnssec/vectors.in (signed by ldns-signzone, Knot, dnspython,
 * and RFC 9102's own), each result and reason asserted; the chain layer on
 * the same vectors; then the parser on RDATA too short for its names, the
 * canonical form, the bounds on hostile input, and bad arguments.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <CUnit/CUnit.h>
#include <getdns/getdns.h>
#include <getdns/getdns_extra.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include <sipdance/chain.h>
#include "chain_int.h"
#include "internal.h"
#include "suites.h"

/* A set of records read from files, in wire form. */
struct recs {
	uint8_t *buf;
	size_t len;
	struct sd_rr *rr;
	size_t n;
};

/* append - the records of a presentation-format file, as wire, to @r; 0 or -1 */
static int append(struct recs *r, const char *file)
{
	char rel[256];
	FILE *f;
	getdns_list *list = NULL;
	getdns_dict *d;
	int err = 0;

	snprintf(rel, sizeof(rel), "dnssec/%s", file);
	if (!(f = fopen(test_data(rel), "r"))) {
		fprintf(stderr, "\n  cannot read %s\n", test_data(rel));
		return -1;
	}
	if (getdns_fp2rr_list(f, &list, NULL, 3600))
		err = -1;
	fclose(f);
	for (size_t i = 0; !err && !getdns_list_get_dict(list, i, &d); i++) {
		uint8_t *w = NULL, *nb;
		size_t wl = 0;

		if (getdns_rr_dict2wire(d, &w, &wl) || !(nb = realloc(r->buf, r->len + wl))) {
			free(w);
			err = -1;
			break;
		}
		r->buf = nb;
		memcpy(r->buf + r->len, w, wl);
		r->len += wl;
		free(w);
	}
	getdns_list_destroy(list);
	return err;
}

/* load - the records of "a+b+c" into @r, parsed; 0 or -1 */
static int load(struct recs *r, const char *files)
{
	char buf[512], *save = NULL, *tok;
	const char *why = NULL;
	size_t at;

	memset(r, 0, sizeof(*r));
	snprintf(buf, sizeof(buf), "%s", files);
	for (tok = strtok_r(buf, "+", &save); tok; tok = strtok_r(NULL, "+", &save))
		if (append(r, tok))
			return -1;
	if (sd_rr_parse(r->buf, r->len, (size_t)-1, &r->rr, &r->n, &at, &why)) {
		fprintf(stderr, "\n  %s: record at %zu: %s\n", files, at, why);
		return -1;
	}
	return 0;
}

/* unload - free what load made */
static void unload(struct recs *r)
{
	free(r->rr);
	free(r->buf);
}

/* day - 00:00 UTC of YYYY-MM-DD */
static time_t day(const char *s)
{
	struct tm tm = { 0 };

	if (sscanf(s, "%d-%d-%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday) != 3)
		return 0;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return timegm(&tm);
}

/* qtype - a mnemonic the vectors use */
static uint16_t qtype(const char *s)
{
	return !strcmp(s, "TLSA") ? 52 : !strcmp(s, "NAPTR") ? 35 : !strcmp(s, "SRV") ? 33 :
	       !strcmp(s, "A") ? 1 : 0;
}

/* One vector of vectors.in. */
struct vector {
	char name[64], records[512], anchor[64], time[16], qname[256], qtype[16], expect[16], text[200];
};

/* chain_types - whether every record may sit in an RFC 9102 chain */
static int chain_types(const struct recs *r)
{
	for (size_t i = 0; i < r->n; i++)
		switch (r->rr[i].type) {
		case 52: case 5: case 39: case 43: case 48: case 46: case 47: case 50:
			break;
		default:
			return 0;
		}
	return 1;
}

/* chain_agrees - sipdance_chain_validate says the same of the vector's chain */
static int chain_agrees(const struct vector *t, const struct recs *r, const struct sd_dnssec_result *res)
{
	struct sipdance_anchor *ta = NULL;
	struct sipdance_chain_result cr;
	char rel[256];
	int ok;

	snprintf(rel, sizeof(rel), "dnssec/%s", t->anchor);
	if (sipdance_anchor_load(&ta, test_data(rel), NULL) ||
	    sipdance_chain_validate(ta, r->buf, r->len, t->qname, day(t->time), &cr)) {
		sipdance_anchor_free(ta);
		return 0;
	}
	ok = res->status == SD_DNSSEC_BOGUS ? !cr.secure && !strcmp(cr.why, res->why) :
	     res->status == SD_DNSSEC_INSECURE ? cr.secure && cr.denial && cr.insecure :
	     res->answer == SD_DNSSEC_DATA ? cr.secure && !cr.denial && cr.tlsa && sipdance_tlsa_set_count(cr.tlsa) :
	     cr.secure && cr.denial && !cr.insecure && !cr.tlsa;
	if (!ok)
		fprintf(stderr, "\n  %s: chain says secure=%d denial=%d insecure=%d why=%s\n", t->name, cr.secure,
			cr.denial, cr.insecure, cr.why);
	sipdance_chain_result_clear(&cr);
	sipdance_anchor_free(ta);
	return ok;
}

/* run_vector - one vector: the result, the reason, the chain layer */
static int run_vector(const struct vector *t)
{
	static const char *const status[] = { "bogus", "secure", "insecure" };
	static const char *const answer[] = { "secure", "nodata", "nxdomain" };
	struct recs r, a;
	struct sd_dnssec_result res;
	struct sd_dnssec_query q = { .at = day(t->time), .qtype = qtype(t->qtype) };
	uint8_t qn[256];
	const char *got;
	char name[256];
	int ok;

	if (load(&r, t->records))
		return 0;
	if (load(&a, t->anchor) || sd_name_from_text(t->qname, qn, sizeof(qn), NULL) || !q.qtype || !q.at) {
		unload(&r);
		return 0;
	}
	q.rr = r.rr;
	q.n = r.n;
	q.anchor = a.rr;
	q.nanchor = a.n;
	q.qname = qn;
	CU_ASSERT_EQUAL_FATAL(sd_dnssec_validate(&q, &res), 0);
	got = res.status == SD_DNSSEC_SECURE ? answer[res.answer] : status[res.status];
	sd_name_text(res.name, name, sizeof(name));
	ok = !strcmp(got, t->expect);
	if (ok && !strcmp(got, "secure") && t->text[0])
		ok = !strcmp(name, t->text);
	else if (ok && (res.status != SD_DNSSEC_SECURE))
		ok = strstr(res.why, t->text) != NULL;
	if (!ok)
		fprintf(stderr, "\n  %s: want %s %s, got %s (%s) %s\n", t->name, t->expect, t->text, got, name,
			res.why);
	if (ok && q.qtype == 52 && chain_types(&r))
		ok = chain_agrees(t, &r, &res);
	unload(&r);
	unload(&a);
	return ok;
}

/* vectors - every vector of vectors.in */
static void vectors(void)
{
	FILE *f = fopen(test_data("dnssec/vectors.in"), "r");
	char line[1024];
	int n = 0, failed = 0;

	CU_ASSERT_FATAL(f != NULL);
	while (fgets(line, sizeof(line), f)) {
		struct vector t = { 0 };
		int k, used = 0;

		if (line[0] == '#' || line[0] == '\n')
			continue;
		k = sscanf(line, "%63s %511s %63s %15s %255s %15s %15s %n", t.name, t.records, t.anchor, t.time,
			   t.qname, t.qtype, t.expect, &used);
		CU_ASSERT_FATAL(k == 7);
		snprintf(t.text, sizeof(t.text), "%s", line + used);
		t.text[strcspn(t.text, "\n")] = '\0';
		n++;
		if (!run_vector(&t)) {
			failed++;
			fprintf(stderr, "  vector %s failed\n", t.name);
		}
	}
	fclose(f);
	CU_ASSERT(n >= 60);
	CU_ASSERT_EQUAL(failed, 0);
}

/* rr_wire - one RR (owner wire, type, RDATA) in a heap block of exactly its size */
static uint8_t *rr_wire(const uint8_t *owner, size_t ol, uint16_t type, const uint8_t *rd, size_t rdlen,
			size_t *len)
{
	uint8_t *p = malloc(ol + 10 + rdlen);

	CU_ASSERT_FATAL(p != NULL);
	memcpy(p, owner, ol);
	p[ol] = (uint8_t)(type >> 8);
	p[ol + 1] = (uint8_t)type;
	memcpy(p + ol + 2, "\0\1\0\0\16\20", 6);
	p[ol + 8] = (uint8_t)(rdlen >> 8);
	p[ol + 9] = (uint8_t)rdlen;
	memcpy(p + ol + 10, rd, rdlen);
	*len = ol + 10 + rdlen;
	return p;
}

/* short_rdata - RDATA too short for the names of its type is refused by the
 * parser, with nothing read past it (each RR alone in its heap block: ASan
 * and valgrind see any over-read) */
static void short_rdata(void)
{
	static const struct {
		uint16_t type;
		uint8_t rd[16];
		size_t len;
	} bad[] = {
		{ 35, { 0, 10, 0, 10, 1, 'S', 0, 5 }, 8 },    /* NAPTR: third string runs past */
		{ 35, { 0, 10, 0, 10, 1, 'S', 0, 0 }, 8 },    /* NAPTR: no replacement name */
		{ 35, { 0, 10 }, 2 },                         /* NAPTR: no strings */
		{ 33, { 0, 10 }, 2 },                         /* SRV under 6 octets */
		{ 33, { 0, 10, 0, 10, 0, 1 }, 6 },            /* SRV without target */
		{ 15, { 0 }, 1 },                             /* MX under 2 octets */
		{ 15, { 0, 10, 3, 'a' }, 4 },                 /* MX name cut */
		{ 6, { 0, 0 }, 2 },                           /* SOA without the 20 octets */
		{ 5, { 0, 0 }, 2 },                           /* CNAME with an octet after */
		{ 46, { 0, 52, 13, 2, 0, 0, 0, 60 }, 8 },     /* RRSIG under 18 octets */
	};
	static const uint8_t owner[] = "\001a\007example";

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct sd_rr *rr = NULL;
		size_t len, n, at;
		const char *why = NULL;
		uint8_t *p = rr_wire(owner, sizeof(owner), bad[i].type, bad[i].rd, bad[i].len, &len);

		CU_ASSERT_EQUAL(sd_rr_parse(p, len, 10, &rr, &n, &at, &why), EBADMSG);
		CU_ASSERT(why != NULL);
		free(p);
	}
}

/* canonical - names in NAPTR and SRV RDATA are lowercased for signing,
 * NSEC's next name is not (RFC 6840 §5.1), the owner of a wildcard
 * expansion is signed as "*." and the RRSIG's labels, duplicates count once */
static void canonical(void)
{
	static const uint8_t owner[] = "\001X\001A\007Example", naptr[] = "\0\12\0\12\1S\0\0\003_Ab\0";
	static const uint8_t nsec[] = "\001Z\0\0\1\100";
	uint8_t sig[18 + 11] = { 0, 35, 13, 2, 0, 0, 14, 16 };
	struct sd_rr r[3], s = { .type = 46, .rdata = sig, .rdlen = sizeof(sig) };
	const struct sd_rr *set[3] = { &r[0], &r[1], &r[2] };
	size_t len;
	uint8_t *d;

	memcpy(sig + 18, "\001A\007EXAMPLE", 11);
	r[0] = (struct sd_rr){ owner, 35, 1, 60, sizeof(naptr) - 1, naptr };
	r[1] = r[0];
	r[2] = (struct sd_rr){ owner, 47, 1, 60, sizeof(nsec) - 1, nsec };
	d = sd_rr_signed_data(&s, set, 2, &len);
	CU_ASSERT_FATAL(d != NULL);
	CU_ASSERT_EQUAL(len, 18 + 11 + 13 + 10 + sizeof(naptr) - 1);
	CU_ASSERT(!memcmp(d + 18, "\001a\007example", 11));
	CU_ASSERT(!memcmp(d + 29, "\001*\001a\007example", 13));
	CU_ASSERT(!memcmp(d + len - 4, "_ab", 3));
	free(d);
	sig[1] = 47;
	sig[3] = 3;
	d = sd_rr_signed_data(&s, set + 2, 1, &len);
	CU_ASSERT_FATAL(d != NULL);
	CU_ASSERT(!memcmp(d + 18 + 11, "\001x\001a\007example", 12));
	CU_ASSERT(!memcmp(d + len - 6, "\001Z", 2));
	free(d);
}

/* Records built by a test: a buffer of wire RRs. */
struct build {
	uint8_t b[1 << 20];
	size_t n;
};

/* put - append one RR */
static void put(struct build *w, const char *owner, uint16_t type, const uint8_t *rd, size_t rdlen)
{
	uint8_t on[256];
	size_t ol;

	CU_ASSERT_FATAL(sd_name_from_text(owner, on, sizeof(on), NULL) == 0);
	ol = sd_name_len(on, sizeof(on), NULL);
	CU_ASSERT_FATAL(w->n + ol + 10 + rdlen <= sizeof(w->b));
	memcpy(w->b + w->n, on, ol);
	w->n += ol;
	w->b[w->n++] = (uint8_t)(type >> 8);
	w->b[w->n++] = (uint8_t)type;
	memcpy(w->b + w->n, "\0\1\0\0\16\20", 6);
	w->n += 6;
	w->b[w->n++] = (uint8_t)(rdlen >> 8);
	w->b[w->n++] = (uint8_t)rdlen;
	memcpy(w->b + w->n, rd, rdlen);
	w->n += rdlen;
}

/*
 * keytrap - a KeyTrap-style flood (CVE-2023-50387): 100 RSA DNSKEYs of one
 * key tag as the anchor and 100 RRSIGs naming that tag over the TLSA RRset.
 * Every key is valid, no signature verifies: the validator gives up at its
 * bound (8 failed verifications for an RRset) with that reason.
 */
static void keytrap(void)
{
	static struct build w, k;
	EVP_PKEY *pk = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
	BIGNUM *nbn = NULL;
	uint8_t mod[256], rd[512], tlsa[35] = { 3, 1, 1 };
	struct sd_rr *rr, *an;
	size_t nrr, nan, at, ml;
	struct sd_dnssec_query q = { .qtype = 52, .at = 1893456000 };
	struct sd_dnssec_result res;
	uint16_t tag = 0;
	int keys = 0;

	CU_ASSERT_FATAL(pk && EVP_PKEY_get_bn_param(pk, "n", &nbn) == 1);
	ml = (size_t)BN_bn2bin(nbn, mod);
	put(&w, "_5061._tcp.sip.a.example", 52, tlsa, sizeof(tlsa));
	/* keys: flags 257, protocol 3, RSASHA256, exponents hi.1.lo with hi + lo =
	 * 256: their octets add up the same, so every key has one key tag */
	for (unsigned lo = 1; keys < 100; lo += 2) {
		uint16_t t;

		rd[0] = 1;
		rd[1] = 1;
		rd[2] = 3;
		rd[3] = 8;
		rd[4] = 3;
		rd[5] = (uint8_t)(256 - lo);
		rd[6] = 1;
		rd[7] = (uint8_t)lo;
		memcpy(rd + 8, mod, ml);
		t = sd_dnssec_key_tag(rd, 8 + ml);
		CU_ASSERT_FATAL(!keys || t == tag);
		tag = t;
		put(&k, "a.example", 48, rd, 8 + ml);
		keys++;
	}
	CU_ASSERT_FATAL(keys == 100);
	for (int i = 0; i < 100; i++) {
		uint8_t s[18 + 11 + 128] = { 0, 52, 8, 5, 0, 0, 14, 16, 0x80, 0, 0, 0, 0x60, 0, 0, 0 };

		s[16] = (uint8_t)(tag >> 8);
		s[17] = (uint8_t)tag;
		memcpy(s + 18, "\001a\007example", 11);
		memset(s + 29, i, 128);
		put(&w, "_5061._tcp.sip.a.example", 46, s, sizeof(s));
	}
	CU_ASSERT_FATAL(sd_rr_parse(w.b, w.n, (size_t)-1, &rr, &nrr, &at, NULL) == 0);
	CU_ASSERT_FATAL(sd_rr_parse(k.b, k.n, (size_t)-1, &an, &nan, &at, NULL) == 0);
	q.rr = rr;
	q.n = nrr;
	q.anchor = an;
	q.nanchor = nan;
	q.qname = rr[0].owner;
	CU_ASSERT_EQUAL(sd_dnssec_validate(&q, &res), 0);
	CU_ASSERT_EQUAL(res.status, SD_DNSSEC_BOGUS);
	CU_ASSERT(strstr(res.why, "too many signatures that do not verify") != NULL);
	free(rr);
	free(an);
	BN_free(nbn);
	EVP_PKEY_free(pk);
}

/* arguments - what the validator refuses to start on */
static void arguments(void)
{
	static const uint8_t name[] = "\001a\0";
	struct sd_rr anchor[2] = { { .owner = name, .type = 43, .rdlen = 5, .rdata = (const uint8_t *)"\0\1\15\1x" },
				   { .owner = (const uint8_t *)"\0", .type = 43, .rdlen = 5,
				     .rdata = (const uint8_t *)"\0\1\15\2x" } };
	struct sd_dnssec_query q = { .anchor = anchor, .nanchor = 1, .qname = name, .qtype = 52, .at = 1 };
	struct sd_dnssec_result r;
	struct sd_wire w = { (const uint8_t *)"\xc0", 1 };

	CU_ASSERT_EQUAL(sd_dnssec_validate(NULL, &r), EINVAL);
	q.nanchor = 2;
	CU_ASSERT_EQUAL(sd_dnssec_validate(&q, &r), EINVAL);
	q.nanchor = 0;
	CU_ASSERT_EQUAL(sd_dnssec_validate(&q, &r), EINVAL);
	q.nanchor = 1;
	CU_ASSERT_EQUAL(sd_dnssec_validate(&q, &r), 0);
	CU_ASSERT_EQUAL(r.status, SD_DNSSEC_BOGUS);
	CU_ASSERT(strstr(r.why, "no supported algorithm") != NULL);
	/* a malformed record from dns.c's side is BOGUS with the reason */
	CU_ASSERT_EQUAL(sd_dnssec_validate_wire(&w, 1, &w, 1, "a.example", 35, 1, &r), 0);
	CU_ASSERT_EQUAL(r.status, SD_DNSSEC_BOGUS);
	CU_ASSERT(strstr(r.why, "malformed record") != NULL);
	CU_ASSERT_EQUAL(sd_dnssec_validate_wire(&w, 1, &w, 1, "a..example", 35, 1, &r), EINVAL);
}

CU_ErrorCode suite_dnssec(void)
{
	CU_pSuite s = CU_add_suite("dnssec", NULL, NULL);

	if (!s || !CU_add_test(s, "independent vectors", vectors) ||
	    !CU_add_test(s, "RDATA too short for its names", short_rdata) ||
	    !CU_add_test(s, "canonical form", canonical) ||
	    !CU_add_test(s, "KeyTrap flood", keytrap) ||
	    !CU_add_test(s, "arguments", arguments))
		return CU_get_error();
	return CUE_SUCCESS;
}
