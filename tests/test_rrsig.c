/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_rrsig.c - sd_rrsig_verify against zones signed by ldns-signzone
 * (tests/data/rrsig/), an implementation independent of ours: every RRset
 * verifies, and tampering, time, keys and wildcards are each caught.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <CUnit/CUnit.h>
#include <getdns/getdns.h>
#include <getdns/getdns_extra.h>

#include "../src/internal.h"
#include "suites.h"

#define MAXRR 64
#define T2030 1893456000 /* 2030-01-01, inside the fixtures' validity */

struct zone {
	struct sd_wire rr[MAXRR];
	char owner[MAXRR][256];
	uint32_t type[MAXRR], covered[MAXRR];
	size_t n;
};

/* load - every RR of a signed zone file, in wire form */
static int load(struct zone *z, const char *file)
{
	char rel[128], line[2048];
	FILE *f;

	snprintf(rel, sizeof(rel), "rrsig/%s", file);
	if (!(f = fopen(test_data(rel), "r")))
		return -1;
	z->n = 0;
	while (fgets(line, sizeof(line), f) && z->n < MAXRR) {
		getdns_dict *rr = NULL;
		getdns_bindata *name;
		char *owner;
		uint8_t *wire = NULL;
		size_t len;

		if (line[0] == ';' || line[0] == '\n' || getdns_str2rr_dict(line, &rr, NULL, 60))
			continue;
		if (!getdns_rr_dict2wire(rr, &wire, &len) &&
		    !getdns_dict_get_int(rr, "type", &z->type[z->n]) &&
		    !getdns_dict_get_bindata(rr, "name", &name) &&
		    !getdns_convert_dns_name_to_fqdn(name, &owner)) {
			z->covered[z->n] = 0;
			getdns_dict_get_int(rr, "/rdata/type_covered", &z->covered[z->n]);
			snprintf(z->owner[z->n], sizeof(z->owner[0]), "%s", owner);
			z->rr[z->n].p = wire;
			z->rr[z->n].len = len;
			z->n++;
			free(owner);
		} else {
			free(wire);
		}
		getdns_dict_destroy(rr);
	}
	fclose(f);
	return 0;
}

/* unload - free the wire copies */
static void unload(struct zone *z)
{
	for (size_t i = 0; i < z->n; i++)
		free((void *)z->rr[i].p);
	z->n = 0;
}

/* rrset - the RRs of (owner, type) and their RRSIG; returns the RR count */
static size_t rrset(const struct zone *z, const char *owner, uint32_t type, struct sd_wire *out,
		    struct sd_wire *sig)
{
	size_t n = 0;

	sig->p = NULL;
	for (size_t i = 0; i < z->n; i++) {
		if (strcasecmp(z->owner[i], owner))
			continue;
		if (z->type[i] == type)
			out[n++] = z->rr[i];
		else if (z->type[i] == 46 && z->covered[i] == type)
			*sig = z->rr[i];
	}
	return n;
}

/* check - verify (owner, type) of @z with the DNSKEYs of @keys at @now */
static int check(const struct zone *z, const struct zone *keys, const char *owner, uint32_t type,
		 time_t now, const char **why)
{
	struct sd_wire rrs[MAXRR] = { { 0 } }, sig, dnskeys[MAXRR] = { { 0 } }, ksig;
	size_t n = rrset(z, owner, type, rrs, &sig);
	size_t nk = rrset(keys, "rrsig.test.", 48, dnskeys, &ksig);

	if (!n || !sig.p)
		return -1;
	return sd_rrsig_verify(rrs, n, &sig, dnskeys, nk, now, NULL, why);
}

static const char *const algs[] = { "ECDSAP256SHA256", "RSASHA256", "ED25519" };

/* valid - every signed RRset of every zone verifies (NAPTR and SRV carry
 * uppercase names, so this also checks the canonical form) */
static void valid(void)
{
	static const struct { const char *owner; uint32_t type; } sets[] = {
		{ "rrsig.test.", 35 }, { "_sips._tcp.rrsig.test.", 33 }, { "sip.rrsig.test.", 1 },
		{ "rrsig.test.", 48 }, { "rrsig.test.", 6 }, { "rrsig.test.", 2 },
	};
	for (size_t a = 0; a < 3; a++) {
		struct zone z;
		char file[64];

		snprintf(file, sizeof(file), "signed-%s.zone", algs[a]);
		CU_ASSERT_EQUAL_FATAL(load(&z, file), 0);
		for (size_t i = 0; i < sizeof(sets) / sizeof(sets[0]); i++) {
			const char *why = NULL;
			int r = check(&z, &z, sets[i].owner, sets[i].type, T2030, &why);

			if (r)
				fprintf(stderr, "\n  %s %s/%u: %d %s\n", algs[a], sets[i].owner,
					sets[i].type, r, why ? why : "");
			CU_ASSERT_EQUAL(r, 0);
		}
		unload(&z);
	}
}

/* tamper - one flipped bit anywhere in an RR's RDATA breaks the signature */
static void tamper(void)
{
	struct zone z;
	struct sd_wire rrs[MAXRR], sig, keys[MAXRR], ksig;
	const char *why;
	size_t n, nk;

	CU_ASSERT_EQUAL_FATAL(load(&z, "signed-ECDSAP256SHA256.zone"), 0);
	n = rrset(&z, "rrsig.test.", 35, rrs, &sig);
	nk = rrset(&z, "rrsig.test.", 48, keys, &ksig);
	CU_ASSERT_EQUAL_FATAL(n, 2);
	for (size_t off = rrs[0].len - 20; off < rrs[0].len; off++) {
		uint8_t *p = (uint8_t *)rrs[0].p;

		p[off] ^= 0x01;
		why = NULL;
		CU_ASSERT_NOT_EQUAL(sd_rrsig_verify(rrs, n, &sig, keys, nk, T2030, NULL, &why), 0);
		p[off] ^= 0x01;
	}
	/* A stripped RR changes the set, too. */
	CU_ASSERT_EQUAL(sd_rrsig_verify(rrs, 1, &sig, keys, nk, T2030, NULL, &why), EKEYREJECTED);
	CU_ASSERT_STRING_EQUAL(why, "signature does not verify");
	CU_ASSERT_EQUAL(sd_rrsig_verify(rrs, n, &sig, keys, nk, T2030, NULL, &why), 0);
	unload(&z);
}

/* window - outside [inception, expiration] is ETIME with the reason */
static void window(void)
{
	struct zone z;
	const char *why = NULL;
	time_t expires = 0;
	struct sd_wire rrs[MAXRR], sig, keys[MAXRR], ksig;
	size_t n, nk;

	CU_ASSERT_EQUAL_FATAL(load(&z, "signed-ED25519.zone"), 0);
	n = rrset(&z, "sip.rrsig.test.", 1, rrs, &sig);
	nk = rrset(&z, "rrsig.test.", 48, keys, &ksig);
	CU_ASSERT_EQUAL(sd_rrsig_verify(rrs, n, &sig, keys, nk, 2051308800, &expires, &why), ETIME);
	CU_ASSERT_STRING_EQUAL(why, "RRSIG expired");
	CU_ASSERT_EQUAL(expires, 2051222400); /* 2035-01-01 */
	CU_ASSERT_EQUAL(sd_rrsig_verify(rrs, n, &sig, keys, nk, 1704067200, NULL, &why), ETIME);
	CU_ASSERT_STRING_EQUAL(why, "RRSIG not yet valid");
	unload(&z);
}

/* wrong_key - another zone's key, or no key, never verifies */
static void wrong_key(void)
{
	struct zone ec, ed;
	const char *why = NULL;

	CU_ASSERT_EQUAL_FATAL(load(&ec, "signed-ECDSAP256SHA256.zone"), 0);
	CU_ASSERT_EQUAL_FATAL(load(&ed, "signed-ED25519.zone"), 0);
	CU_ASSERT_EQUAL(check(&ec, &ed, "rrsig.test.", 35, T2030, &why), ENOKEY);
	CU_ASSERT_STRING_EQUAL(why, "no DNSKEY matches the RRSIG key tag and algorithm");
	unload(&ec);
	unload(&ed);
}

/* wildcard - an RRset expanded from *.wild verifies under its expanded
 * owner, and the same RRSIG fails for an unrelated owner */
static void wildcard(void)
{
	struct zone z;
	struct sd_wire rrs[4], sig, keys[MAXRR], ksig, x;
	const char *why = NULL;
	static const uint8_t expanded[] = "\003foo\004wild\005rrsig\004test";
	static const uint8_t other[] = "\003foo\004mild\005rrsig\004test";
	uint8_t buf[512];
	size_t n, nk, skip;

	CU_ASSERT_EQUAL_FATAL(load(&z, "signed-RSASHA256.zone"), 0);
	n = rrset(&z, "*.wild.rrsig.test.", 16, rrs, &sig);
	nk = rrset(&z, "rrsig.test.", 48, keys, &ksig);
	CU_ASSERT_EQUAL_FATAL(n, 1);
	CU_ASSERT_EQUAL(sd_rrsig_verify(rrs, n, &sig, keys, nk, T2030, NULL, &why), 0);
	skip = 2 + sizeof("\004wild\005rrsig\004test"); /* "*" label + rest incl. root */
	for (int k = 0; k < 2; k++) {
		const uint8_t *name = k ? other : expanded;

		memcpy(buf, name, sizeof(expanded));
		memcpy(buf + sizeof(expanded), rrs[0].p + skip, rrs[0].len - skip);
		x.p = buf;
		x.len = sizeof(expanded) + rrs[0].len - skip;
		CU_ASSERT_EQUAL(sd_rrsig_verify(&x, 1, &sig, keys, nk, T2030, NULL, &why),
				k ? EKEYREJECTED : 0);
	}
	unload(&z);
}

/* malformed - truncated and compressed wire is EBADMSG, never a crash */
static void malformed(void)
{
	struct zone z;
	struct sd_wire rrs[MAXRR], sig, keys[MAXRR], ksig, cut;
	const char *why = NULL;
	static const uint8_t ptr[] = { 0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 127, 0, 0, 1 };
	struct sd_wire bad = { ptr, sizeof(ptr) };
	size_t n, nk;

	CU_ASSERT_EQUAL_FATAL(load(&z, "signed-ECDSAP256SHA256.zone"), 0);
	n = rrset(&z, "sip.rrsig.test.", 1, rrs, &sig);
	nk = rrset(&z, "rrsig.test.", 48, keys, &ksig);
	for (size_t len = 0; len < sig.len; len += 7) {
		cut.p = sig.p;
		cut.len = len;
		CU_ASSERT_EQUAL(sd_rrsig_verify(rrs, n, &cut, keys, nk, T2030, NULL, &why), EBADMSG);
	}
	CU_ASSERT_EQUAL(sd_rrsig_verify(&bad, 1, &sig, keys, nk, T2030, NULL, &why), EBADMSG);
	CU_ASSERT_EQUAL(sd_rrsig_verify(rrs, 0, &sig, keys, nk, T2030, NULL, &why), EBADMSG);
	/* The RRSIG of another RRset does not cover this one. */
	rrset(&z, "rrsig.test.", 35, rrs + 8, &cut);
	CU_ASSERT_EQUAL(sd_rrsig_verify(rrs, n, &cut, keys, nk, T2030, NULL, &why), EBADMSG);
	CU_ASSERT_STRING_EQUAL(why, "RRSIG does not cover this RRset");
	unload(&z);
}

/* revoked - a signature by a key with the REVOKE flag (RFC 5011) is refused */
static void revoked(void)
{
	struct zone z;
	const char *why = NULL;

	CU_ASSERT_EQUAL_FATAL(load(&z, "signed-revoked.zone"), 0);
	CU_ASSERT_EQUAL(check(&z, &z, "rrsig.test.", 35, T2030, &why), ENOKEY);
	unload(&z);
}

/* heap_rr - an RR (owner rrsig.test. or _sips._tcp.rrsig.test.) in a heap
 * block of exactly its size, so that reading past its RDATA is caught */
static struct sd_wire heap_rr(int sips, uint16_t type, const uint8_t *rd, size_t rdlen)
{
	static const uint8_t plain[] = "\005rrsig\004test", srv[] = "\005_sips\004_tcp\005rrsig\004test";
	const uint8_t *owner = sips ? srv : plain;
	size_t ol = sips ? sizeof(srv) : sizeof(plain);
	uint8_t *p = malloc(ol + 10 + rdlen);

	CU_ASSERT_FATAL(p != NULL);
	memcpy(p, owner, ol);
	p[ol] = (uint8_t)(type >> 8);
	p[ol + 1] = (uint8_t)type;
	memcpy(p + ol + 2, "\000\001\000\000\000\074", 6);
	p[ol + 8] = 0;
	p[ol + 9] = (uint8_t)rdlen;
	memcpy(p + ol + 10, rd, rdlen);
	return (struct sd_wire){ p, ol + 10 + rdlen };
}

/* overrun - RDATA too short for the name it should hold (NAPTR ending in its
 * third string, SRV under 6 octets, MX under 2): EBADMSG, nothing read past it */
static void overrun(void)
{
	static const struct {
		uint16_t type;
		int sips;
		uint8_t rd[16];
		size_t len;
	} bad[] = {
		{ 35, 0, { 0, 10, 0, 10, 1, 'S', 0, 5 }, 8 },
		{ 35, 0, { 0, 10, 0, 10, 1, 'S', 0, 0 }, 8 },
		{ 33, 1, { 0, 10 }, 2 },
		{ 15, 0, { 0 }, 1 },
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint8_t sig[18 + 12 + 64] = { 0 };
		struct sd_wire rr, rrsig, key;
		const char *why = NULL;
		uint8_t labels = bad[i].sips ? 4 : 2;

		sig[0] = (uint8_t)(bad[i].type >> 8);
		sig[1] = (uint8_t)bad[i].type;
		sig[2] = 13;
		sig[3] = labels;
		memcpy(sig + 8, "\171\060\215\000\147\164\202\000", 8); /* 2034, 2025 */
		memcpy(sig + 18, "\005rrsig\004test", 12);
		rr = heap_rr(bad[i].sips, bad[i].type, bad[i].rd, bad[i].len);
		rrsig = heap_rr(bad[i].sips, 46, sig, sizeof(sig));
		key = heap_rr(0, 48, (const uint8_t *)"\001\001\003\015", 4);
		CU_ASSERT_EQUAL(sd_rrsig_verify(&rr, 1, &rrsig, &key, 1, T2030, NULL, &why), EBADMSG);
		free((void *)rr.p);
		free((void *)rrsig.p);
		free((void *)key.p);
	}
}

CU_ErrorCode suite_rrsig(void)
{
	CU_pSuite s = CU_add_suite("rrsig", NULL, NULL);

	if (!s || !CU_add_test(s, "ldns-signed RRsets verify", valid) ||
	    !CU_add_test(s, "tampering", tamper) ||
	    !CU_add_test(s, "validity window", window) ||
	    !CU_add_test(s, "wrong key", wrong_key) ||
	    !CU_add_test(s, "wildcard expansion", wildcard) ||
	    !CU_add_test(s, "malformed input", malformed) ||
	    !CU_add_test(s, "revoked key", revoked) ||
	    !CU_add_test(s, "RDATA shorter than its name", overrun))
		return CU_get_error();
	return CUE_SUCCESS;
}
