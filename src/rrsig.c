/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * rrsig.c - verify one RRSIG over an RRset with a DNSKEY RRset (RFC 4034),
 * for the RRsets getdns 1.6.0 cannot validate itself (NAPTR: it aborts).
 * The signature algorithms are dnssec.c's (8, 10, 13, 14, 15, 16).
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>

#include "internal.h"

#define MAXNAME 255

/* One RR split into its fields; names point into the wire. */
struct rr {
	const uint8_t *owner;
	size_t owner_len;
	uint16_t type, class;
	const uint8_t *rdata;
	uint16_t rdlen;
};

/* Canonical form of one RR: lowercased names, for sorting and signing. */
struct canon {
	uint8_t owner[MAXNAME];
	size_t owner_len;
	uint8_t *rdata;
	size_t rdlen;
};

/* get16 - big-endian 16 bits */
static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* get32 - big-endian 32 bits */
static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* name_len - length of an uncompressed wire name at p (max bytes), 0 if malformed */
static size_t name_len(const uint8_t *p, size_t max, int *labels)
{
	size_t n = 0;

	*labels = 0;
	while (n < max && p[n]) {
		if (p[n] > 63 || n + 1 + p[n] >= max)
			return 0; /* compression pointer, or past the end */
		n += 1 + (size_t)p[n];
		(*labels)++;
	}
	if (n >= max || n + 1 > MAXNAME)
		return 0;
	return n + 1;
}

/* lower_name - copy a wire name, ASCII lowercased */
static void lower_name(uint8_t *dst, const uint8_t *src, size_t len)
{
	for (size_t i = 0; i < len; i++)
		dst[i] = (uint8_t)tolower(src[i]);
}

/* parse_rr - split an uncompressed wire RR; 0 or EBADMSG */
static int parse_rr(const struct sd_wire *w, struct rr *rr)
{
	int labels;
	size_t n = name_len(w->p, w->len, &labels);

	if (!n || w->len < n + 10)
		return EBADMSG;
	rr->owner = w->p;
	rr->owner_len = n;
	rr->type = get16(w->p + n);
	rr->class = get16(w->p + n + 2);
	rr->rdlen = get16(w->p + n + 8);
	rr->rdata = w->p + n + 10;
	return w->len == n + 10 + rr->rdlen ? 0 : EBADMSG;
}

/* rdata_name_at - offset of the one domain name a type's RDATA carries
 * (RFC 4034 §6.2 list, the types we meet), or -1 for opaque RDATA */
static long rdata_name_at(uint16_t type, const uint8_t *rd, size_t len)
{
	size_t off = 4;

	switch (type) {
	case 2: case 5: case 12:	/* NS, CNAME, PTR */
		return 0;
	case 15:			/* MX */
		return 2;
	case 33:			/* SRV */
		return 6;
	case 35:			/* NAPTR: three character-strings, then the name */
		for (int i = 0; i < 3; i++) {
			if (off >= len)
				return -2;
			off += 1 + (size_t)rd[off];
		}
		return (long)off;
	default:
		return -1;
	}
}

/* canonicalize - RFC 4034 §6.2 form of one RR's owner and RDATA */
static int canonicalize(const struct rr *rr, struct canon *c)
{
	long at = rdata_name_at(rr->type, rr->rdata, rr->rdlen);
	int labels;
	size_t n;

	lower_name(c->owner, rr->owner, rr->owner_len);
	c->owner_len = rr->owner_len;
	c->rdlen = rr->rdlen;
	if (at >= 0 && (size_t)at >= rr->rdlen)
		at = -2; /* no room left for the name: MX, SRV or NAPTR cut short */
	if (at < -1 || !(c->rdata = malloc(rr->rdlen ? rr->rdlen : 1)))
		return at < -1 ? EBADMSG : ENOMEM;
	memcpy(c->rdata, rr->rdata, rr->rdlen);
	if (at >= 0) {
		n = name_len(rr->rdata + at, rr->rdlen - (size_t)at, &labels);
		if (!n || (size_t)at + n != rr->rdlen) {
			free(c->rdata);
			return EBADMSG;
		}
		lower_name(c->rdata + at, rr->rdata + at, n);
	}
	return 0;
}

/* canon_cmp - RDATA order of RFC 4034 §6.3 */
static int canon_cmp(const void *a, const void *b)
{
	const struct canon *x = a, *y = b;
	size_t n = x->rdlen < y->rdlen ? x->rdlen : y->rdlen;
	int r = memcmp(x->rdata, y->rdata, n);

	return r ? r : (x->rdlen > y->rdlen) - (x->rdlen < y->rdlen);
}

/* verify_sig - check @sig over @data with DNSKEY public key @k (dnssec.c does the crypto) */
static int verify_sig(uint8_t alg, const uint8_t *k, size_t klen, const uint8_t *data,
		      size_t dlen, const uint8_t *sig, size_t slen, const char **why)
{
	EVP_PKEY *pkey = sd_dnssec_pkey(alg, k, klen, why);
	const char *bad;

	if (!pkey)
		return alg == 8 || alg == 10 || (alg >= 13 && alg <= 16) ? EBADMSG : EPROTONOSUPPORT;
	bad = sd_dnssec_verify_pkey(alg, pkey, data, dlen, sig, slen);
	EVP_PKEY_free(pkey);
	if (bad)
		*why = bad;
	return bad ? EKEYREJECTED : 0;
}

/* signed_data - RFC 4034 §3.1.8.1: RRSIG RDATA without signature, then the
 * RRset in canonical form and order; caller frees *out */
static int signed_data(const uint8_t *sigrd, size_t sighead, const struct canon *c, size_t n,
		       const uint8_t *owner, size_t owner_len, uint16_t type, uint16_t class,
		       uint32_t ttl, uint8_t **out, size_t *outlen)
{
	size_t len = sighead, off;
	uint8_t *buf;

	for (size_t i = 0; i < n; i++)
		len += owner_len + 10 + c[i].rdlen;
	if (!(buf = malloc(len)))
		return ENOMEM;
	memcpy(buf, sigrd, sighead);
	off = sighead;
	for (size_t i = 0; i < n; i++) {
		if (i && !canon_cmp(&c[i], &c[i - 1]))
			continue; /* duplicate RRs count once */
		memcpy(buf + off, owner, owner_len);
		off += owner_len;
		buf[off++] = (uint8_t)(type >> 8);
		buf[off++] = (uint8_t)type;
		buf[off++] = (uint8_t)(class >> 8);
		buf[off++] = (uint8_t)class;
		buf[off++] = (uint8_t)(ttl >> 24);
		buf[off++] = (uint8_t)(ttl >> 16);
		buf[off++] = (uint8_t)(ttl >> 8);
		buf[off++] = (uint8_t)ttl;
		buf[off++] = (uint8_t)(c[i].rdlen >> 8);
		buf[off++] = (uint8_t)c[i].rdlen;
		memcpy(buf + off, c[i].rdata, c[i].rdlen);
		off += c[i].rdlen;
	}
	*out = buf;
	*outlen = off;
	return 0;
}

/* signer_ok - whether @signer (lowercased wire) is @owner or one of its ancestors */
static int signer_ok(const uint8_t *owner, size_t owner_len, const uint8_t *signer, size_t signer_len)
{
	size_t off = 0;

	while (owner_len - off > signer_len)
		off += 1 + (size_t)owner[off];
	return owner_len - off == signer_len && !memcmp(owner + off, signer, signer_len);
}

/* wildcard_owner - the owner to sign: "*." + the rightmost @labels labels when
 * the RRset was synthesised from a wildcard (RFC 4035 §5.3.2) */
static size_t wildcard_owner(const uint8_t *owner, size_t len, int owner_labels, int labels,
			     uint8_t *out)
{
	size_t off = 0;

	if (labels >= owner_labels) {
		memcpy(out, owner, len);
		return len;
	}
	for (int i = 0; i < owner_labels - labels; i++)
		off += 1 + (size_t)owner[off];
	out[0] = 1;
	out[1] = '*';
	memcpy(out + 2, owner + off, len - off);
	return 2 + len - off;
}

/* sd_rrsig_verify - see internal.h */
int sd_rrsig_verify(const struct sd_wire *rrs, size_t nrr, const struct sd_wire *rrsig,
		    const struct sd_wire *dnskeys, size_t nkeys, time_t now,
		    time_t *expires, const char **why)
{
	struct rr sig, first, r;
	struct canon *c = NULL;
	const uint8_t *rd, *signer;
	uint8_t owner[MAXNAME], wowner[MAXNAME + 2], lsigner[MAXNAME], *data = NULL, *sighead = NULL;
	size_t signer_len, sigoff, dlen, olen, nc = 0;
	uint32_t exp, inc;
	int owner_labels, signer_labels, err = EBADMSG;
	const char *dummy;

	if (!why)
		why = &dummy;
	*why = "malformed RRset or RRSIG";
	if (!nrr || parse_rr(rrsig, &sig) || sig.type != 46 || sig.rdlen < 18 ||
	    parse_rr(&rrs[0], &first))
		return EBADMSG;
	rd = sig.rdata;
	signer = rd + 18;
	if (!(signer_len = name_len(signer, sig.rdlen - 18u, &signer_labels)) ||
	    sig.rdlen <= 18 + signer_len)
		return EBADMSG;
	sigoff = 18 + signer_len;
	lower_name(lsigner, signer, signer_len);
	lower_name(owner, first.owner, first.owner_len);
	name_len(owner, first.owner_len, &owner_labels);
	exp = get32(rd + 8);
	inc = get32(rd + 12);
	if (expires)
		*expires = (time_t)exp;
	/*
	 * Before any cryptography, the cases that make the RRSIG unusable:
	 *  - it covers another type than the RRset, or claims more labels than the owner has;
	 *  - its signer is not the owner or an ancestor of it (RFC 4035 §5.3.1);
	 *  - now is outside [inception, expiration] in serial arithmetic (RFC 4034 §3.1.5).
	 */
	if (get16(rd) != first.type || rd[3] > owner_labels) {
		*why = "RRSIG does not cover this RRset";
		return EBADMSG;
	}
	if (!signer_ok(owner, first.owner_len, lsigner, signer_len)) {
		*why = "RRSIG signer is not an ancestor of the owner";
		return EBADMSG;
	}
	if ((int32_t)(exp - (uint32_t)now) < 0) {
		*why = "RRSIG expired";
		return ETIME;
	}
	if ((int32_t)((uint32_t)now - inc) < 0) {
		*why = "RRSIG not yet valid";
		return ETIME;
	}
	if (!(c = calloc(nrr, sizeof(*c))))
		return ENOMEM;
	for (size_t i = 0; i < nrr; i++, nc++) {
		uint8_t lo[MAXNAME];

		if ((err = parse_rr(&rrs[i], &r)))
			goto out;
		lower_name(lo, r.owner, r.owner_len);
		if (r.type != first.type || r.class != first.class || r.owner_len != first.owner_len ||
		    memcmp(lo, owner, r.owner_len)) {
			err = EBADMSG;
			goto out;
		}
		if ((err = canonicalize(&r, &c[i])))
			goto out;
	}
	qsort(c, nc, sizeof(*c), canon_cmp);
	if (!(sighead = malloc(sigoff))) {
		err = ENOMEM;
		goto out;
	}
	memcpy(sighead, rd, 18);
	memcpy(sighead + 18, lsigner, signer_len);
	olen = wildcard_owner(owner, first.owner_len, owner_labels, rd[3], wowner);
	err = signed_data(sighead, sigoff, c, nc, wowner, olen, first.type, first.class,
			  get32(rd + 4), &data, &dlen);
	if (err)
		goto out;
	err = ENOKEY;
	*why = "no DNSKEY matches the RRSIG key tag and algorithm";
	for (size_t i = 0; i < nkeys; i++) {
		struct rr k;
		uint8_t lk[MAXNAME];

		if (parse_rr(&dnskeys[i], &k) || k.type != 48 || k.rdlen < 5)
			continue;
		lower_name(lk, k.owner, k.owner_len);
		/* The key must be a zone key (flags bit 7) of the signer, not
		 * revoked (bit 8, RFC 5011), protocol 3. */
		if (k.owner_len != signer_len || memcmp(lk, lsigner, signer_len) ||
		    !(get16(k.rdata) & 0x0100) || (get16(k.rdata) & 0x0080) || k.rdata[2] != 3 || k.rdata[3] != rd[2] ||
		    sd_dnssec_key_tag(k.rdata, k.rdlen) != get16(rd + 16))
			continue;
		err = verify_sig(rd[2], k.rdata + 4, k.rdlen - 4u, data, dlen, rd + sigoff,
				 sig.rdlen - sigoff, why);
		if (err == 0 || err == EPROTONOSUPPORT)
			break;
	}
out:
	for (size_t i = 0; i < nc; i++)
		free(c[i].rdata);
	free(c);
	free(sighead);
	free(data);
	return err;
}
