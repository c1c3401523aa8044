/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_chain.c - the RFC 9102 chain module offline: a signed hierarchy
 * (. -> example. -> a.example., ECDSA P-256) is generated at test time, its
 * chains validated, and every way of breaking one refused with its reason;
 * plus the parser, extension framing, the file source and the pin store.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <CUnit/CUnit.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>

#include <sipdance/chain.h>
#include "chain_int.h"
#include "internal.h"
#include "suites.h"

#define OWNER "_5061._tcp.sip.a.example"

/* A chain under construction. */
struct wbuf {
	uint8_t b[16384];
	size_t n;
};

/* A zone key: the private key and its DNSKEY RDATA. */
struct key {
	EVP_PKEY *pk;
	uint8_t rdata[68];
	uint16_t tag;
};

static struct key k_root, k_ex, k_a, k_other;
static char dir[] = "/tmp/sd-test-chain-XXXXXX";
static time_t now;

/* put16 - big-endian 16 bits */
static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* put32 - big-endian 32 bits */
static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

/* wname - wire form of a name */
static size_t wname(const char *text, uint8_t *out)
{
	if (!strcmp(text, ".")) {
		out[0] = 0;
		return 1;
	}
	CU_ASSERT_FATAL(sd_name_from_text(text, out, 256, NULL) == 0);
	return sd_name_len(out, 256, NULL);
}

/* add_rr - append one record */
static void add_rr(struct wbuf *w, const char *owner, uint16_t type, uint32_t ttl,
		   const uint8_t *rd, size_t rdlen)
{
	w->n += wname(owner, w->b + w->n);
	put16(w->b + w->n, type);
	put16(w->b + w->n + 2, 1);
	put32(w->b + w->n + 4, ttl);
	put16(w->b + w->n + 8, (uint16_t)rdlen);
	memcpy(w->b + w->n + 10, rd, rdlen);
	w->n += 10 + rdlen;
}

/* keygen - a P-256 zone key (flags 257); 0 or -1 */
static int keygen(struct key *k)
{
	uint8_t pub[65];
	size_t len;
	uint32_t ac = 0;

	k->pk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	if (!k->pk || EVP_PKEY_get_octet_string_param(k->pk, OSSL_PKEY_PARAM_PUB_KEY, pub,
						      sizeof(pub), &len) != 1 || len != 65)
		return -1;
	put16(k->rdata, 257);
	k->rdata[2] = 3;
	k->rdata[3] = 13;
	memcpy(k->rdata + 4, pub + 1, 64);
	for (size_t i = 0; i < sizeof(k->rdata); i++)
		ac += (i & 1) ? k->rdata[i] : (uint32_t)k->rdata[i] << 8;
	ac += ac >> 16 & 0xffff;
	k->tag = (uint16_t)ac;
	return 0;
}

/* Signing parameters that tests vary. */
struct sigopt {
	uint32_t inception, expiration;
	int labels_delta; /* subtract from the owner's label count */
};

/* add_signed - append the RRset in @set (records of one owner and type),
 * then its RRSIG by @k as zone @signer */
static void add_signed_opt(struct wbuf *w, const struct wbuf *set, const struct key *k,
			   const char *signer, const struct sigopt *o)
{
	struct sd_rr *rr;
	size_t n, at, dlen, sl, siglen = 0;
	uint8_t rd[512], *data, der[128], sig[64];
	const unsigned char *p = der;
	EVP_MD_CTX *m = EVP_MD_CTX_new();
	ECDSA_SIG *es;

	CU_ASSERT_FATAL(sd_chain_split(set->b, set->n, &rr, &n, &at, NULL) == 0);
	put16(rd, rr[0].type);
	rd[2] = 13;
	rd[3] = (uint8_t)(sd_name_labels(rr[0].owner) - (unsigned)o->labels_delta);
	put32(rd + 4, rr[0].ttl);
	put32(rd + 8, o->expiration);
	put32(rd + 12, o->inception);
	put16(rd + 16, k->tag);
	sl = wname(signer, rd + 18);
	{
		struct sd_rr sigrr = { .type = 46, .class = 1, .rdlen = (uint16_t)(18 + sl), .rdata = rd };

		data = sd_chain_signed_data(&sigrr, rr, n, &dlen);
	}
	CU_ASSERT_FATAL(data != NULL);
	siglen = sizeof(der);
	CU_ASSERT_FATAL(EVP_DigestSignInit(m, NULL, EVP_sha256(), NULL, k->pk) == 1 &&
			EVP_DigestSign(m, der, &siglen, data, dlen) == 1);
	es = d2i_ECDSA_SIG(NULL, &p, (long)siglen);
	CU_ASSERT_FATAL(es != NULL);
	BN_bn2binpad(ECDSA_SIG_get0_r(es), sig, 32);
	BN_bn2binpad(ECDSA_SIG_get0_s(es), sig + 32, 32);
	memcpy(rd + 18 + sl, sig, 64);
	memcpy(w->b + w->n, set->b, set->n);
	w->n += set->n;
	{
		char owner[256];

		add_rr(w, sd_name_text(rr[0].owner, owner, sizeof(owner)), 46, rr[0].ttl, rd, 18 + sl + 64);
	}
	ECDSA_SIG_free(es);
	EVP_MD_CTX_free(m);
	free(data);
	free(rr);
}

/* add_signed - with the default window: an hour ago to a day ahead */
static void add_signed(struct wbuf *w, const struct wbuf *set, const struct key *k, const char *signer)
{
	struct sigopt o = { (uint32_t)(now - 3600), (uint32_t)(now + 86400), 0 };

	add_signed_opt(w, set, k, signer, &o);
}

/* ds_rdata - DS (SHA-256) of key @k at @owner */
static size_t ds_rdata(const struct key *k, const char *owner, uint8_t *out)
{
	uint8_t buf[400];
	size_t o = wname(owner, buf), mdlen;

	memcpy(buf + o, k->rdata, sizeof(k->rdata));
	put16(out, k->tag);
	out[2] = 13;
	out[3] = 2;
	CU_ASSERT_FATAL(sd_dnssec_digest(2, buf, o + sizeof(k->rdata), out + 4, &mdlen) == 0);
	return 4 + mdlen;
}

/* Variations of the generated chain. */
struct variant {
	const struct key *a_key_in_ds;   /* key whose digest example. publishes for a.example */
	int cname;                       /* TLSA reached through an alias */
	int denial;                      /* 1 NXDOMAIN proof, 2 NODATA proof, 3 NXDOMAIN without wildcard proof */
	int wildcard;                    /* TLSA RRSIG claims a wildcard expansion */
	uint32_t tlsa_expiration;        /* 0: default */
};

/* tlsa_rdata - 3 1 1 with a fixed digest byte @b */
static size_t tlsa_rdata(uint8_t *rd, uint8_t b)
{
	rd[0] = 3;
	rd[1] = 1;
	rd[2] = 1;
	memset(rd + 3, b, 32);
	return 35;
}

/* nsec_rdata - next name and a bitmap of the given types (window 0 only) */
static size_t nsec_rdata(uint8_t *rd, const char *next, const uint16_t *types, size_t nt)
{
	size_t o = wname(next, rd), len = 0;
	uint8_t bm[32] = { 0 };

	for (size_t i = 0; i < nt; i++) {
		bm[types[i] / 8] |= (uint8_t)(0x80 >> (types[i] % 8));
		if (types[i] / 8 + 1u > len)
			len = types[i] / 8 + 1u;
	}
	rd[o] = 0;
	rd[o + 1] = (uint8_t)len;
	memcpy(rd + o + 2, bm, len);
	return o + 2 + len;
}

/* make_chain - the chain for OWNER (or its alias) with variant @v */
static void make_chain(struct wbuf *w, const struct variant *v)
{
	struct wbuf s;
	uint8_t rd[512];
	size_t n;

	w->n = 0;
	if (v->cname) {
		s.n = 0;
		n = wname("_5061._tcp.sip.a.example", rd);
		add_rr(&s, "_5061._tcp.alias.a.example", 5, 300, rd, n);
		add_signed(w, &s, &k_a, "a.example");
	}
	if (!v->denial) {
		struct sigopt o = { (uint32_t)(now - 3600), v->tlsa_expiration ? v->tlsa_expiration :
				    (uint32_t)(now + 86400), v->wildcard };

		s.n = 0;
		add_rr(&s, OWNER, 52, 60, rd, tlsa_rdata(rd, 0xaa));
		add_rr(&s, OWNER, 52, 60, rd, tlsa_rdata(rd, 0xbb));
		add_signed_opt(w, &s, &k_a, "a.example", &o);
	} else if (v->denial == 2) {
		static const uint16_t t[] = { 1, 46, 47 };

		s.n = 0;
		add_rr(&s, OWNER, 47, 60, rd, nsec_rdata(rd, "zzz.a.example", t, 3));
		add_signed(w, &s, &k_a, "a.example");
	} else {
		static const uint16_t t[] = { 1, 46, 47 };

		/* sip.a.example NSEC covers the owner and *.sip.a.example; the
		 * no-wildcard variant covers the owner only (_6000.sip < owner) */
		s.n = 0;
		add_rr(&s, v->denial == 3 ? "_6000.sip.a.example" : "sip.a.example", 47, 60, rd,
		       nsec_rdata(rd, "zzz.a.example", t, 3));
		add_signed(w, &s, &k_a, "a.example");
	}
	s.n = 0;
	add_rr(&s, "a.example", 48, 3600, k_a.rdata, sizeof(k_a.rdata));
	add_signed(w, &s, &k_a, "a.example");
	s.n = 0;
	add_rr(&s, "a.example", 43, 3600, rd, ds_rdata(v->a_key_in_ds ? v->a_key_in_ds : &k_a,
						       "a.example", rd));
	add_signed(w, &s, &k_ex, "example");
	s.n = 0;
	add_rr(&s, "example", 48, 3600, k_ex.rdata, sizeof(k_ex.rdata));
	add_signed(w, &s, &k_ex, "example");
	s.n = 0;
	add_rr(&s, "example", 43, 3600, rd, ds_rdata(&k_ex, "example", rd));
	add_signed(w, &s, &k_root, ".");
	s.n = 0;
	add_rr(&s, ".", 48, 3600, k_root.rdata, sizeof(k_root.rdata));
	add_signed(w, &s, &k_root, ".");
}

/* anchor_file - a DS (or DNSKEY) anchor line for key @k at the root */
static const char *anchor_file(const char *name, const struct key *k, int dnskey)
{
	static char path[4][256];
	static int slot;
	char hex[200];
	uint8_t rd[100];
	size_t n;
	FILE *f;
	char *p = path[slot++ % 4];

	snprintf(p, 256, "%s/%s", dir, name);
	f = fopen(p, "w");
	CU_ASSERT_FATAL(f != NULL);
	if (dnskey) {
		EVP_EncodeBlock((unsigned char *)hex, k->rdata + 4, 64);
		fprintf(f, ". 3600 IN DNSKEY 257 3 13 %s\n", hex);
	} else {
		n = ds_rdata(k, ".", rd);
		sd_hex_encode(rd + 4, n - 4, hex);
		fprintf(f, ". 3600 IN DS %u 13 2 %s\n", k->tag, hex);
	}
	fclose(f);
	return p;
}

/* setup - keys and a scratch directory */
static int setup(void)
{
	now = time(NULL);
	if (!mkdtemp(dir))
		return 1;
	return keygen(&k_root) || keygen(&k_ex) || keygen(&k_a) || keygen(&k_other);
}

/* teardown - free keys, remove scratch files */
static int teardown(void)
{
	char cmd[300];

	EVP_PKEY_free(k_root.pk);
	EVP_PKEY_free(k_ex.pk);
	EVP_PKEY_free(k_a.pk);
	EVP_PKEY_free(k_other.pk);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : 1;
}

/* validate - run the validator with the DS anchor of k_root */
static void validate(const struct wbuf *w, const char *owner, time_t at, struct sipdance_chain_result *r,
		     const char *anchor)
{
	struct sipdance_anchor *ta = NULL;

	CU_ASSERT_FATAL(sipdance_anchor_load(&ta, anchor, NULL) == 0);
	CU_ASSERT_EQUAL(sipdance_chain_validate(ta, w->b, w->n, owner, at, r), 0);
	sipdance_anchor_free(ta);
}

/* refused - the chain is refused and the reason contains @want */
static int refused(const struct wbuf *w, const char *owner, time_t at, const char *want,
		   const char *anchor)
{
	struct sipdance_chain_result r;
	int ok;

	validate(w, owner, at, &r, anchor);
	ok = !r.secure && !r.tlsa && strstr(r.why, want) != NULL;
	if (!ok)
		fprintf(stderr, "\n  want refusal with \"%s\", got secure=%d why=\"%s\"\n", want, r.secure, r.why);
	sipdance_chain_result_clear(&r);
	return ok;
}

/* valid_chain - records, TTL and expiry of a good chain; DS and DNSKEY anchors */
static void valid_chain(void)
{
	struct variant v = { 0 };
	struct sipdance_chain_result r;
	struct wbuf w;
	char line[120];

	make_chain(&w, &v);
	for (int dnskey = 0; dnskey < 2; dnskey++) {
		validate(&w, OWNER, 0, &r, anchor_file("ta", &k_root, dnskey));
		if (!r.secure)
			fprintf(stderr, "\n  anchor %s: %s\n", dnskey ? "DNSKEY" : "DS", r.why);
		CU_ASSERT_EQUAL(r.secure, 1);
		CU_ASSERT_EQUAL(r.denial, 0);
		CU_ASSERT_STRING_EQUAL(r.name, OWNER ".");
		CU_ASSERT_EQUAL(r.ttl, 60);
		CU_ASSERT_EQUAL(r.expires, (time_t)(uint32_t)(now + 86400));
		CU_ASSERT_FATAL(r.tlsa != NULL);
		CU_ASSERT_EQUAL(sipdance_tlsa_set_count(r.tlsa), 2);
		sipdance_tlsa_format(sipdance_tlsa_set_get(r.tlsa, 0), line, sizeof(line));
		CU_ASSERT_STRING_EQUAL(line, "3 1 1 aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
		sipdance_chain_result_clear(&r);
	}
	/* owner case and trailing dot do not matter */
	validate(&w, "_5061._TCP.SIP.A.Example.", 0, &r, anchor_file("ta", &k_root, 0));
	CU_ASSERT_EQUAL(r.secure, 1);
	sipdance_chain_result_clear(&r);
	/* the earliest expiry of the RRSIGs used is the chain's */
	v.tlsa_expiration = (uint32_t)(now + 7200);
	make_chain(&w, &v);
	validate(&w, OWNER, 0, &r, anchor_file("ta", &k_root, 0));
	CU_ASSERT_EQUAL(r.expires, (time_t)(uint32_t)(now + 7200));
	sipdance_chain_result_clear(&r);
}

/* flipped - one byte flipped in the RDATA of any record: refused */
static void flipped(void)
{
	struct variant v = { 0 };
	struct wbuf w;
	struct sd_rr *rr;
	size_t n, at;
	const char *ta = anchor_file("ta", &k_root, 0);

	make_chain(&w, &v);
	CU_ASSERT_FATAL(sd_chain_split(w.b, w.n, &rr, &n, &at, NULL) == 0);
	CU_ASSERT_EQUAL(n, 13);
	for (size_t i = 0; i < n; i++) {
		size_t off = (size_t)(rr[i].rdata - w.b) + rr[i].rdlen - 1;
		struct sipdance_chain_result r;

		w.b[off] ^= 0x01;
		validate(&w, OWNER, 0, &r, ta);
		if (r.secure)
			fprintf(stderr, "\n  record %zu (type %u) flipped but accepted\n", i, rr[i].type);
		CU_ASSERT_EQUAL(r.secure, 0);
		CU_ASSERT(r.why[0] != '\0');
		sipdance_chain_result_clear(&r);
		w.b[off] ^= 0x01;
	}
	/* the first signed octet of the TLSA RRSIG names the RRset that failed */
	w.b[(size_t)(rr[2].rdata - w.b) + 30] ^= 0x80;
	CU_ASSERT(refused(&w, OWNER, 0, OWNER ". TLSA: signature does not verify", ta));
	w.b[(size_t)(rr[2].rdata - w.b) + 30] ^= 0x80;
	/* a broken link high up is reported, not its consequences below */
	CU_ASSERT_EQUAL(rr[10].type, 46);
	w.b[(size_t)(rr[10].rdata - w.b) + 30] ^= 0x80;
	CU_ASSERT(refused(&w, OWNER, 0, "example. DS: signature does not verify", ta));
	free(rr);
}

/* broken_links - DS mismatch, expiry, wrong name, wrong anchor, wildcard */
static void broken_links(void)
{
	struct variant v = { 0 };
	struct wbuf w;
	const char *ta = anchor_file("ta", &k_root, 0);

	v.a_key_in_ds = &k_other;
	make_chain(&w, &v);
	CU_ASSERT(refused(&w, OWNER, 0, "a.example. DNSKEY: no DNSKEY in the chain matches the DS", ta));
	v.a_key_in_ds = NULL;
	make_chain(&w, &v);
	CU_ASSERT(refused(&w, OWNER, now + 2 * 86400, "RRSIG expired", ta));
	CU_ASSERT(refused(&w, OWNER, now - 2 * 3600, "RRSIG not valid before", ta));
	CU_ASSERT(refused(&w, "_5061._tcp.sip.b.example", 0, "no TLSA RRset and no valid denial", ta));
	CU_ASSERT(refused(&w, "_5062._tcp.sip.a.example", 0, "no TLSA RRset and no valid denial", ta));
	CU_ASSERT(refused(&w, OWNER, 0, ". DNSKEY: no DNSKEY in the chain matches the DS",
			  anchor_file("other", &k_other, 0)));
	CU_ASSERT(refused(&w, OWNER, 0, ". DNSKEY: no DNSKEY in the chain matches",
			  anchor_file("other-key", &k_other, 1)));
	v.wildcard = 1;
	make_chain(&w, &v);
	CU_ASSERT(refused(&w, OWNER, 0, "wildcard expansion without proof", ta));
}

/* truncated - every prefix of a chain is refused */
static void truncated(void)
{
	struct variant v = { 0 };
	struct wbuf w;
	struct sipdance_anchor *anchor;
	size_t full;
	int accepted = 0;

	make_chain(&w, &v);
	full = w.n;
	CU_ASSERT_FATAL(sipdance_anchor_load(&anchor, anchor_file("ta", &k_root, 0), NULL) == 0);
	for (size_t len = 0; len < full; len += 3) {
		struct sipdance_chain_result r;

		CU_ASSERT_EQUAL(sipdance_chain_validate(anchor, w.b, len, OWNER, 0, &r), 0);
		accepted += r.secure;
		sipdance_chain_result_clear(&r);
	}
	CU_ASSERT_EQUAL(accepted, 0);
	w.n = full - 5;
	CU_ASSERT(refused(&w, OWNER, 0, "malformed chain at octet", anchor_file("ta", &k_root, 0)));
	sipdance_anchor_free(anchor);
}

/* flip_sig - damage the signature of RRSIG record @i of a chain */
static void flip_sig(struct wbuf *w, size_t i)
{
	struct sd_rr *rr;
	size_t n, at;

	CU_ASSERT_FATAL(sd_chain_split(w->b, w->n, &rr, &n, &at, NULL) == 0 && i < n);
	CU_ASSERT_FATAL(rr[i].type == 46);
	w->b[(size_t)(rr[i].rdata - w->b) + rr[i].rdlen - 1] ^= 0x80;
	free(rr);
}

/* aliases_and_denials - CNAME followed; NSEC NXDOMAIN/NODATA proofs and their failures */
static void aliases_and_denials(void)
{
	struct variant v = { .cname = 1 };
	struct sipdance_chain_result r;
	const char *ta = anchor_file("ta", &k_root, 0);
	struct wbuf w;

	make_chain(&w, &v);
	validate(&w, "_5061._tcp.alias.a.example", 0, &r, ta);
	CU_ASSERT_EQUAL(r.secure, 1);
	CU_ASSERT_STRING_EQUAL(r.name, OWNER ".");
	CU_ASSERT(r.tlsa && sipdance_tlsa_set_count(r.tlsa) == 2);
	sipdance_chain_result_clear(&r);
	/* the alias signature broken: the alias is not followed */
	w.b[60] ^= 1;
	CU_ASSERT(refused(&w, "_5061._tcp.alias.a.example", 0, "CNAME", ta));

	for (int d = 1; d <= 2; d++) {
		v = (struct variant){ .denial = d };
		make_chain(&w, &v);
		validate(&w, OWNER, 0, &r, ta);
		CU_ASSERT_EQUAL(r.secure, 1);
		CU_ASSERT_EQUAL(r.denial, 1);
		CU_ASSERT_PTR_NULL(r.tlsa);
		sipdance_chain_result_clear(&r);
		/* the same proof says nothing about a name outside it */
		CU_ASSERT(refused(&w, "_5061._tcp.zzzz.a.example", 0, "no valid denial", ta));
		/* a broken NSEC signature is named */
		flip_sig(&w, 1);
		CU_ASSERT(refused(&w, OWNER, 0, "NSEC: signature does not verify", ta));
	}
	v = (struct variant){ .denial = 3 };
	make_chain(&w, &v);
	CU_ASSERT(refused(&w, OWNER, 0, "no valid denial", ta));
}

/* add_junk_sig - an RRSIG over (@owner, @type) claiming signer @signer, with a
 * signature nobody made */
static void add_junk_sig(struct wbuf *w, const char *owner, uint16_t type, const char *signer)
{
	uint8_t rd[400], on[256];
	size_t sl;

	wname(owner, on);
	put16(rd, type);
	rd[2] = 13;
	rd[3] = (uint8_t)sd_name_labels(on);
	put32(rd + 4, 60);
	put32(rd + 8, (uint32_t)(now + 86400));
	put32(rd + 12, (uint32_t)(now - 3600));
	put16(rd + 16, k_root.tag);
	sl = wname(signer, rd + 18);
	memset(rd + 18 + sl, 0x5a, 64);
	add_rr(w, owner, 46, 60, rd, 18 + sl + 64);
}

/* forged_denial - the owner of any signed zone (0.example) signs an NSEC
 * whose span covers a name of another zone (a.example), and puts a junk
 * RRSIG claiming the root as signer in front of its own: no denial */
static void forged_denial(void)
{
	static const uint16_t t[] = { 46, 47 };
	const char *ta = anchor_file("ta", &k_root, 0);
	struct wbuf w = { .n = 0 }, s;
	uint8_t rd[512];

	add_junk_sig(&w, "zzz.0.example", 47, ".");
	s.n = 0;
	add_rr(&s, "zzz.0.example", 47, 60, rd, nsec_rdata(rd, "zzz.sip.a.example", t, 2));
	add_signed(&w, &s, &k_other, "0.example");
	s.n = 0;
	add_rr(&s, "0.example", 48, 3600, k_other.rdata, sizeof(k_other.rdata));
	add_signed(&w, &s, &k_other, "0.example");
	s.n = 0;
	add_rr(&s, "0.example", 43, 3600, rd, ds_rdata(&k_other, "0.example", rd));
	add_signed(&w, &s, &k_ex, "example");
	s.n = 0;
	add_rr(&s, "example", 48, 3600, k_ex.rdata, sizeof(k_ex.rdata));
	add_signed(&w, &s, &k_ex, "example");
	s.n = 0;
	add_rr(&s, "example", 43, 3600, rd, ds_rdata(&k_ex, "example", rd));
	add_signed(&w, &s, &k_root, ".");
	s.n = 0;
	add_rr(&s, ".", 48, 3600, k_root.rdata, sizeof(k_root.rdata));
	add_signed(&w, &s, &k_root, ".");
	CU_ASSERT(refused(&w, OWNER, 0, "no valid denial", ta));
}

/* parser - strict structure checks, each with its reason */
static void parser(void)
{
	static const struct {
		const char *hex, *why;
	} bad[] = {
		{ "", "empty chain" },
		{ "c00c003400010000003c0004030101aa", "compressed name" },
		{ "05616263", "name runs past" },
		{ "00003400030000003c0004030101aa", "class is not IN" },
		{ "00003400010000003c0009030101aa", "RDATA runs past" },
		{ "00003400010000003c", "record header truncated" },
		{ "00000100010000003c000401020304", "not expected" },
		{ "00003400010000003c0003030101", "TLSA RDATA shorter" },
		{ "00002e00010000003c0004003401ff", "RRSIG RDATA shorter" },
		{ "00002f00010000003c0003000000", "malformed NSEC type bitmap" },
		{ "00000500010000003c0002c000", "compressed name" },
		{ "00000500010000003c000300c000", "octets after the alias target" },
	};
	uint8_t buf[512];
	size_t len, n;
	const char *why;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why = NULL;
		CU_ASSERT_FATAL(sd_hex_decode(bad[i].hex, strlen(bad[i].hex), buf, sizeof(buf), &len, NULL) == 0);
		CU_ASSERT_EQUAL(sipdance_chain_parse(buf, len, &n, &why), EBADMSG);
		if (!why || !strstr(why, bad[i].why))
			fprintf(stderr, "\n  bad[%zu]: want \"%s\", got \"%s\"\n", i, bad[i].why, why ? why : "");
		CU_ASSERT(why && strstr(why, bad[i].why));
	}
	CU_ASSERT_FATAL(sd_hex_decode("00003400010000003c0004030101aa", 30, buf, sizeof(buf), &len, NULL) == 0);
	CU_ASSERT_EQUAL(sipdance_chain_parse(buf, len, &n, NULL), 0);
	CU_ASSERT_EQUAL(n, 1);
	CU_ASSERT_EQUAL(sipdance_chain_parse(buf, 70000, &n, &why), EMSGSIZE);
	/* a 256-octet name */
	memset(buf, 0, sizeof(buf));
	for (int i = 0; i < 5; i++)
		buf[i * 64] = 63;
	CU_ASSERT_EQUAL(sipdance_chain_parse(buf, sizeof(buf), &n, &why), EBADMSG);
	CU_ASSERT(why && strstr(why, "longer than 255"));
}

/* framing - extension_data encode and decode */
static void framing(void)
{
	static const uint8_t chain[] = { 1, 2, 3 };
	const uint8_t *c;
	uint8_t *ext;
	size_t len, clen;
	uint16_t life;
	const char *why;

	CU_ASSERT_EQUAL_FATAL(sipdance_chain_ext_encode(24, chain, 3, &ext, &len), 0);
	CU_ASSERT_EQUAL(len, 5);
	CU_ASSERT(ext[0] == 0 && ext[1] == 24);
	CU_ASSERT_EQUAL(sipdance_chain_ext_decode(ext, len, &life, &c, &clen, NULL), 0);
	CU_ASSERT(life == 24 && clen == 3 && c == ext + 2);
	CU_ASSERT_EQUAL(sipdance_chain_ext_decode(ext, 2, &life, &c, &clen, &why), EBADMSG);
	CU_ASSERT_EQUAL(sipdance_chain_ext_encode(0, chain, 0, &ext, &len), EINVAL);
	CU_ASSERT_EQUAL(sipdance_chain_ext_encode(0, chain, 65530, &ext, &len), EMSGSIZE);
	free(ext);
}

/* source_file - a server source from an extension_data file; expiry means none */
static void source_file(void)
{
	struct sipdance_chain_source_conf conf = { .size = sizeof(conf), .host = "sip.a.example", .port = 5061 };
	struct sipdance_chain_source *s = NULL;
	struct variant v = { 0 };
	struct wbuf w;
	char path[300];
	uint8_t *ext;
	size_t len, got;
	const char *why = NULL;
	FILE *f;

	make_chain(&w, &v);
	CU_ASSERT_FATAL(sipdance_chain_ext_encode(5, w.b, w.n, &ext, &len) == 0);
	snprintf(path, sizeof(path), "%s/a.ext", dir);
	f = fopen(path, "wb");
	CU_ASSERT_FATAL(f && fwrite(ext, 1, len, f) == len);
	fclose(f);
	conf.trust_anchor = anchor_file("ta", &k_root, 0);
	conf.file = path;
	CU_ASSERT_EQUAL_FATAL(sipdance_chain_source_alloc(&s, &conf, &why), 0);
	CU_ASSERT(sipdance_chain_source_get(s, 0, &got) != NULL && got == len);
	CU_ASSERT_PTR_NULL(sipdance_chain_source_get(s, (time_t)(uint32_t)(now + 86400), &got));
	/* refresh three quarters into the 60 s TTL, at least 10 s away */
	CU_ASSERT(sipdance_chain_source_next_refresh(s) >= now + 10 &&
		  sipdance_chain_source_next_refresh(s) <= time(NULL) + 45);
	sipdance_chain_source_free(s);
	/* a chain that does not validate is never served */
	ext[len - 1] ^= 1;
	f = fopen(path, "wb");
	CU_ASSERT_FATAL(f && fwrite(ext, 1, len, f) == len);
	fclose(f);
	s = NULL;
	CU_ASSERT_EQUAL(sipdance_chain_source_alloc(&s, &conf, &why), EBADMSG);
	CU_ASSERT_PTR_NULL(s);
	/* nor one for another name */
	ext[len - 1] ^= 1;
	f = fopen(path, "wb");
	CU_ASSERT_FATAL(f && fwrite(ext, 1, len, f) == len);
	fclose(f);
	conf.host = "sip.b.example";
	CU_ASSERT_EQUAL(sipdance_chain_source_alloc(&s, &conf, &why), EBADMSG);
	free(ext);
}

/* write_ext - @v's chain as an extension_data file at @path */
static void write_ext(const char *path, const struct variant *v, uint8_t **ext, size_t *len)
{
	struct wbuf w;
	FILE *f;

	make_chain(&w, v);
	CU_ASSERT_FATAL(sipdance_chain_ext_encode(0, w.b, w.n, ext, len) == 0);
	f = fopen(path, "wb");
	CU_ASSERT_FATAL(f && fwrite(*ext, 1, *len, f) == *len);
	fclose(f);
}

/* source_client - a DANCE client's chain (its TLSA owner) from a file:
 * refreshed three quarters into its TTL or ten minutes before its first
 * RRSIG expires, whichever comes first; a refresh reads the file again,
 * and one that fails keeps the chain held, never an invalid or expired one */
static void source_client(void)
{
	struct sipdance_chain_source_conf conf = { .size = sizeof(conf), .owner = OWNER };
	struct sipdance_chain_source *s = NULL;
	time_t t0 = time(NULL), next, late;
	struct variant v = { .tlsa_expiration = (uint32_t)(t0 + 620) };
	const uint8_t *got;
	uint8_t *ext, *ext2;
	size_t len, len2, n;
	const char *why = NULL;
	char path[300];
	FILE *f;

	snprintf(path, sizeof(path), "%s/client.ext", dir);
	conf.trust_anchor = anchor_file("ta-client", &k_root, 0);
	conf.file = path;
	/* the TLSA RRSIG expires in 620 s: refresh 600 s before, not at 3/4 of the 60 s TTL */
	write_ext(path, &v, &ext, &len);
	CU_ASSERT_EQUAL_FATAL(sipdance_chain_source_alloc(&s, &conf, &why), 0);
	next = sipdance_chain_source_next_refresh(s);
	late = time(NULL) + 10; /* never sooner than 10 s: a slow run may get there */
	CU_ASSERT(next >= t0 + 10 && next <= (late > t0 + 20 ? late : t0 + 20));
	CU_ASSERT(sipdance_chain_source_get(s, 0, &n) != NULL && n == len);
	CU_ASSERT_PTR_NULL(sipdance_chain_source_get(s, t0 + 621, &n));
	/* the file renewed (RRSIGs for a day): the refresh ships it, next at 3/4 of the TTL */
	v.tlsa_expiration = 0;
	write_ext(path, &v, &ext2, &len2);
	CU_ASSERT_EQUAL(sipdance_chain_source_refresh(s, &why), 0);
	got = sipdance_chain_source_get(s, 0, &n);
	CU_ASSERT(got && n == len2 && !memcmp(got, ext2, n));
	next = sipdance_chain_source_next_refresh(s);
	CU_ASSERT(next >= t0 + 45 && next <= time(NULL) + 45);
	CU_ASSERT(sipdance_chain_source_get(s, (time_t)(uint32_t)(now + 3600), &n) != NULL);
	/* a file that no longer validates: refused, the held chain stays, retried in 30 s */
	ext[len - 1] ^= 1;
	f = fopen(path, "wb");
	CU_ASSERT_FATAL(f && fwrite(ext, 1, len, f) == len);
	fclose(f);
	CU_ASSERT_EQUAL(sipdance_chain_source_refresh(s, &why), EBADMSG);
	got = sipdance_chain_source_get(s, 0, &n);
	CU_ASSERT(got && n == len2 && !memcmp(got, ext2, n));
	next = sipdance_chain_source_next_refresh(s);
	CU_ASSERT(next >= t0 + 30 && next <= time(NULL) + 30);
	sipdance_chain_source_free(s);
	free(ext2);
	/* a file for another name is never loaded as ours */
	conf.owner = "_5061._tcp.sip.b.example";
	write_ext(path, &v, &ext2, &len2);
	free(ext2);
	s = NULL;
	CU_ASSERT_EQUAL(sipdance_chain_source_alloc(&s, &conf, &why), EBADMSG);
	CU_ASSERT_PTR_NULL(s);
	free(ext);
}

/* How a refresh on the loop ended, for source_loop. */
struct ended {
	int calls, err;
	const char *why;
};

/* on_ended - a refresh started by source_loop ended */
static void on_ended(void *arg, struct sipdance_chain_source *s, int err, const char *why)
{
	struct ended *e = arg;

	(void)s;
	e->calls++;
	e->err = err;
	e->why = why;
}

/* source_loop - a refresh started on a loop: nothing changes, and nothing is
 * told, before the loop runs (next refresh 0, a blocking refresh EBUSY
 * meanwhile); a second start replaces the first (one callback); a file that
 * no longer validates keeps the held chain and is retried in 30 s; a source
 * freed with a refresh under way calls nobody */
static void source_loop(void)
{
	struct sipdance_chain_source_conf conf = { .size = sizeof(conf), .owner = OWNER };
	struct sipdance_chain_source *s = NULL;
	struct variant v = { 0 };
	struct ended e = { 0 };
	struct sipdance_loop *loop;
	const uint8_t *got;
	uint8_t *ext, *ext2;
	size_t len, len2, n;
	const char *why = NULL;
	char path[300];
	time_t t0 = time(NULL), next;
	FILE *f;

	CU_ASSERT_EQUAL_FATAL(sipdance_loop_poll_alloc(&loop), 0);
	snprintf(path, sizeof(path), "%s/loop.ext", dir);
	conf.trust_anchor = anchor_file("ta-loop", &k_root, 0);
	conf.file = path;
	conf.loop = loop;
	v.tlsa_expiration = (uint32_t)(t0 + 620);
	write_ext(path, &v, &ext, &len);
	CU_ASSERT_EQUAL_FATAL(sipdance_chain_source_alloc(&s, &conf, &why), 0);
	v.tlsa_expiration = 0;
	write_ext(path, &v, &ext2, &len2);
	CU_ASSERT_EQUAL(sipdance_chain_source_refresh_start(s, on_ended, &e, &why), 0);
	CU_ASSERT_EQUAL(sipdance_chain_source_refresh_start(s, on_ended, &e, &why), 0);
	CU_ASSERT_EQUAL(sipdance_chain_source_next_refresh(s), 0);
	CU_ASSERT_EQUAL(sipdance_chain_source_refresh(s, &why), EBUSY);
	got = sipdance_chain_source_get(s, 0, &n);
	CU_ASSERT(e.calls == 0 && got && n == len && !memcmp(got, ext, n));
	sipdance_loop_run(loop, NULL, 0);
	got = sipdance_chain_source_get(s, 0, &n);
	CU_ASSERT(e.calls == 1 && e.err == 0 && got && n == len2 && !memcmp(got, ext2, n));
	next = sipdance_chain_source_next_refresh(s);
	CU_ASSERT(next >= t0 + 45 && next <= time(NULL) + 45);
	/* a file that no longer validates: the held chain stays, retried in 30 s */
	ext[len - 1] ^= 1;
	f = fopen(path, "wb");
	CU_ASSERT_FATAL(f && fwrite(ext, 1, len, f) == len);
	fclose(f);
	CU_ASSERT_EQUAL(sipdance_chain_source_refresh_start(s, on_ended, &e, &why), 0);
	sipdance_loop_run(loop, NULL, 0);
	got = sipdance_chain_source_get(s, 0, &n);
	CU_ASSERT(e.calls == 2 && e.err == EBADMSG && got && n == len2 && !memcmp(got, ext2, n));
	CU_ASSERT(e.why && !strcmp(e.why, "own chain does not validate"));
	next = sipdance_chain_source_next_refresh(s);
	CU_ASSERT(next >= t0 + 30 && next <= time(NULL) + 30);
	/* freed with a refresh under way: no callback */
	CU_ASSERT_EQUAL(sipdance_chain_source_refresh_start(s, on_ended, &e, &why), 0);
	sipdance_chain_source_free(s);
	sipdance_loop_run(loop, NULL, 0);
	CU_ASSERT_EQUAL(e.calls, 2);
	/* without a loop only the blocking refresh is there */
	conf.loop = NULL;
	free(ext2);
	write_ext(path, &v, &ext2, &len2);
	free(ext2);
	CU_ASSERT_EQUAL_FATAL(sipdance_chain_source_alloc(&s, &conf, &why), 0);
	CU_ASSERT_EQUAL(sipdance_chain_source_refresh_start(s, on_ended, &e, &why), EINVAL);
	sipdance_chain_source_free(s);
	sipdance_loop_free(loop);
	free(ext);
}

/* pins - set, extend, remove, persist, expire, bound */
static void pins(void)
{
	struct sipdance_chain_pins *p, *q;
	char path[300], name[32];
	const char *why;
	FILE *f;

	snprintf(path, sizeof(path), "%s/pins", dir);
	CU_ASSERT_EQUAL_FATAL(sipdance_chain_pins_open(&p, path, 3, NULL), 0);
	CU_ASSERT_EQUAL(sipdance_chain_pins_until(p, "sip.a.example", 5061, now), 0);
	CU_ASSERT_EQUAL(sipdance_chain_pins_note(p, "SIP.A.example.", 5061, 2, now), 0);
	CU_ASSERT_EQUAL(sipdance_chain_pins_until(p, "sip.a.example", 5061, now), now + 7200);
	CU_ASSERT_EQUAL(sipdance_chain_pins_until(p, "sip.a.example", 5062, now), 0);
	CU_ASSERT_EQUAL(sipdance_chain_pins_until(p, "sip.a.example", 5061, now + 7200), 0);
	/* survives a restart */
	CU_ASSERT_EQUAL_FATAL(sipdance_chain_pins_open(&q, path, 3, NULL), 0);
	CU_ASSERT_EQUAL(sipdance_chain_pins_until(q, "sip.a.example", 5061, now), now + 7200);
	sipdance_chain_pins_free(q);
	/* lifetime 0 removes it */
	CU_ASSERT_EQUAL(sipdance_chain_pins_note(p, "sip.a.example", 5061, 0, now), 0);
	CU_ASSERT_EQUAL(sipdance_chain_pins_until(p, "sip.a.example", 5061, now), 0);
	/* bounded: the earliest-expiring pin goes */
	for (int i = 0; i < 4; i++) {
		snprintf(name, sizeof(name), "h%d.example", i);
		CU_ASSERT_EQUAL(sipdance_chain_pins_note(p, name, 5061, (uint16_t)(10 + i), now), 0);
	}
	CU_ASSERT_EQUAL(sipdance_chain_pins_until(p, "h0.example", 5061, now), 0);
	CU_ASSERT(sipdance_chain_pins_until(p, "h3.example", 5061, now) != 0);
	CU_ASSERT(sipdance_chain_pins_until(p, "h1.example", 5061, now) != 0);
	sipdance_chain_pins_free(p);
	CU_ASSERT_EQUAL(sipdance_chain_pins_note(NULL, "x", 1, 1, now), EINVAL);
	/* a malformed file is refused, not silently emptied */
	f = fopen(path, "w");
	CU_ASSERT_FATAL(f != NULL);
	fputs("12 x\n", f);
	fclose(f);
	why = NULL;
	CU_ASSERT_EQUAL(sipdance_chain_pins_open(&p, path, 0, &why), EINVAL);
	CU_ASSERT(why && strstr(why, "malformed"));
	/* memory-only store */
	CU_ASSERT_EQUAL_FATAL(sipdance_chain_pins_open(&p, NULL, 0, NULL), 0);
	CU_ASSERT_EQUAL(sipdance_chain_pins_note(p, "a.example", 1, 1, now), 0);
	sipdance_chain_pins_free(p);
}

/* A watcher's record of the changes it was told of. */
struct watched {
	int calls;
	char name[64];
	uint16_t port;
	time_t until;
};

/* on_pin - a pin watcher */
static void on_pin(void *arg, const char *name, uint16_t port, time_t until)
{
	struct watched *w = arg;

	w->calls++;
	snprintf(w->name, sizeof(w->name), "%s", name);
	w->port = port;
	w->until = until;
}

/* pins_shared - what a handshake changes is told to the watcher; a pin from
 * elsewhere is merged only as a tightening: later, never sooner, never gone */
static void pins_shared(void)
{
	struct sipdance_chain_pins *p;
	struct watched w = { 0 };
	static const struct {
		const char *name;
		uint16_t port;
		long long until; /* from now */
		int err;
		long long held;  /* sip.b.example:5061 afterwards, from now (0: not pinned) */
	} merge[] = {
		{ "SIP.B.example.", 5061, 3600, 0, 3600 },      /* new: taken */
		{ "sip.b.example", 5061, 600, 0, 3600 },        /* sooner: the pin stays */
		{ "sip.b.example", 5061, 7200, 0, 7200 },       /* later: extended */
		{ "sip.b.example", 5061, 0, EINVAL, 7200 },     /* over: refused, no removal */
		{ "sip.b.example", 5061, -5, EINVAL, 7200 },
		{ "sip.b.example", 5061, 65535LL * 3600 + 1, EINVAL, 7200 }, /* beyond any lifetime */
		{ "sip.b.example", 0, 3600, EINVAL, 7200 },
		{ "bad name", 5061, 3600, EINVAL, 7200 },
		{ "sip.b.example", 5061, 65535LL * 3600, 0, 65535LL * 3600 }, /* the longest */
	};

	CU_ASSERT_EQUAL_FATAL(sipdance_chain_pins_open(&p, NULL, 0, NULL), 0);
	sipdance_chain_pins_watch(p, on_pin, &w);
	for (size_t i = 0; i < sizeof(merge) / sizeof(merge[0]); i++) {
		CU_ASSERT_EQUAL(sipdance_chain_pins_merge(p, merge[i].name, merge[i].port,
							  now + (time_t)merge[i].until, now), merge[i].err);
		CU_ASSERT_EQUAL(sipdance_chain_pins_until(p, "sip.b.example", 5061, now),
				merge[i].held ? now + (time_t)merge[i].held : 0);
	}
	CU_ASSERT_EQUAL(w.calls, 0); /* merges are not told */
	/* a handshake's pin is told, normalised; one renewed within a minute is not */
	CU_ASSERT_EQUAL(sipdance_chain_pins_note(p, "SIP.C.example.", 5062, 2, now), 0);
	CU_ASSERT(w.calls == 1 && !strcmp(w.name, "sip.c.example") && w.port == 5062 && w.until == now + 7200);
	CU_ASSERT_EQUAL(sipdance_chain_pins_note(p, "sip.c.example", 5062, 2, now + 30), 0);
	CU_ASSERT_EQUAL(w.calls, 1);
	/* and its removal (lifetime 0), told as until 0 */
	CU_ASSERT_EQUAL(sipdance_chain_pins_note(p, "sip.c.example", 5062, 0, now), 0);
	CU_ASSERT(w.calls == 2 && w.until == 0);
	CU_ASSERT_EQUAL(sipdance_chain_pins_merge(NULL, "x.example", 1, now + 1, now), EINVAL);
	sipdance_chain_pins_watch(NULL, on_pin, &w);
	sipdance_chain_pins_free(p);
}

/* policy - the three keywords, nothing else */
static void policy(void)
{
	enum sipdance_chain_policy p;

	CU_ASSERT(sipdance_chain_policy_parse("required", &p) == 0 && p == SIPDANCE_CHAIN_REQUIRED);
	CU_ASSERT(sipdance_chain_policy_parse("prefer", &p) == 0 && p == SIPDANCE_CHAIN_PREFER);
	CU_ASSERT(sipdance_chain_policy_parse("off", &p) == 0 && p == SIPDANCE_CHAIN_OFF);
	CU_ASSERT_EQUAL(sipdance_chain_policy_parse("Required", &p), EINVAL);
	CU_ASSERT_EQUAL(sipdance_chain_policy_parse(NULL, &p), EINVAL);
}

/* anchors - anchor files that cannot be used */
static void anchors(void)
{
	struct sipdance_anchor *ta = NULL;
	char path[300];
	const char *why = NULL;
	FILE *f;

	CU_ASSERT_EQUAL(sipdance_anchor_load(&ta, "/nonexistent/anchor", &why), EINVAL);
	CU_ASSERT(why != NULL);
	snprintf(path, sizeof(path), "%s/two-zones", dir);
	f = fopen(path, "w");
	CU_ASSERT_FATAL(f != NULL);
	fprintf(f, ". 3600 IN DS 1 13 2 %064d\nexample. 3600 IN DS 1 13 2 %064d\n", 0, 0);
	fclose(f);
	CU_ASSERT_EQUAL(sipdance_anchor_load(&ta, path, &why), EINVAL);
	CU_ASSERT_PTR_NULL(ta);
	sipdance_anchor_free(NULL);
}

/* anchor_reload - one anchor object, its file rewritten: holders validate with
 * what it says now; a broken file keeps the records in use */
static void anchor_reload(void)
{
	static const struct {
		const struct key *root; /* NULL: a file that is not an anchor */
		int reload_err, secure;
		size_t count;
	} steps[] = {
		{ &k_root, 0, 1, 1 },
		{ &k_other, 0, 0, 1 },  /* another root key: the chain no longer validates */
		{ NULL, EINVAL, 0, 1 }, /* broken: k_other's record stays in use */
		{ &k_root, 0, 1, 1 },
	};
	struct sipdance_chain_result r;
	struct sipdance_anchor *ta = NULL, *held;
	const char *why = NULL, *path = anchor_file("reload", &k_root, 0);
	struct variant v = { 0 };
	struct wbuf w;
	FILE *f;

	make_chain(&w, &v);
	CU_ASSERT_FATAL(sipdance_anchor_load(&ta, path, &why) == 0);
	held = sipdance_anchor_ref(ta); /* a module's reference */
	CU_ASSERT_PTR_EQUAL(held, ta);
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		if (steps[i].root) {
			anchor_file("reload", steps[i].root, 0);
		} else {
			CU_ASSERT_FATAL((f = fopen(path, "w")) != NULL);
			fputs("; emptied by mistake\n", f);
			fclose(f);
		}
		CU_ASSERT_EQUAL(sipdance_anchor_reload(ta, &why), steps[i].reload_err);
		CU_ASSERT_EQUAL(sipdance_anchor_count(held), steps[i].count);
		CU_ASSERT_EQUAL(sipdance_chain_validate(held, w.b, w.n, OWNER, 0, &r), 0);
		CU_ASSERT_EQUAL(r.secure, steps[i].secure);
		sipdance_chain_result_clear(&r);
	}
	sipdance_anchor_free(ta); /* the creator lets go: the module's reference keeps it */
	CU_ASSERT_EQUAL(sipdance_anchor_count(held), 1);
	sipdance_anchor_free(held);
	CU_ASSERT_EQUAL(sipdance_anchor_reload(NULL, &why), EINVAL);
}

CU_ErrorCode suite_chain(void)
{
	CU_pSuite s = CU_add_suite("chain", setup, teardown);

	if (!s || !CU_add_test(s, "valid chain", valid_chain) ||
	    !CU_add_test(s, "one byte flipped in any record", flipped) ||
	    !CU_add_test(s, "broken links, time, name, anchor", broken_links) ||
	    !CU_add_test(s, "truncated", truncated) ||
	    !CU_add_test(s, "aliases and denials", aliases_and_denials) ||
	    !CU_add_test(s, "denial forged by another zone", forged_denial) ||
	    !CU_add_test(s, "parser", parser) ||
	    !CU_add_test(s, "extension framing", framing) ||
	    !CU_add_test(s, "source from file", source_file) ||
	    !CU_add_test(s, "client source refresh", source_client) ||
	    !CU_add_test(s, "source refresh on a loop", source_loop) ||
	    !CU_add_test(s, "pins", pins) ||
	    !CU_add_test(s, "pins shared", pins_shared) ||
	    !CU_add_test(s, "policy", policy) ||
	    !CU_add_test(s, "trust anchors", anchors) ||
	    !CU_add_test(s, "trust anchor reloaded in place", anchor_reload))
		return CU_get_error();
	return CUE_SUCCESS;
}
