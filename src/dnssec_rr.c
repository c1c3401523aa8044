/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * dnssec_rr.c - the validator's record model: uncompressed wire names and
 * their canonical order (RFC 4034 §6.1), a strict parser for concatenated
 * wire RRs, and the RFC 4034 §6 canonical form and signed data of an RRset.
 * Where a type's RDATA holds names is described once (rdata_names), with
 * every offset checked against the RDATA length.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "dnssec_int.h"

/* lower - ASCII lowercase of one octet */
static uint8_t lower(uint8_t c)
{
	return c >= 'A' && c <= 'Z' ? (uint8_t)(c + 32) : c;
}

/* sd_name_len - length of the uncompressed wire name at @p (at most @max
 * octets available); 0 when malformed, with *why */
size_t sd_name_len(const uint8_t *p, size_t max, const char **why)
{
	size_t off = 0;

	for (;;) {
		if (off >= max)
			return sd_fail(why, "name runs past its record", 0), 0;
		if (p[off] == 0)
			break;
		if (p[off] & 0xc0)
			return sd_fail(why, (p[off] & 0xc0) == 0xc0 ? "compressed name (uncompressed wire "
				    "form required)" : "unknown label type", 0), 0;
		off += 1u + p[off];
		if (off >= 255)
			return sd_fail(why, "name longer than 255 octets", 0), 0;
	}
	return off + 1;
}

/* sd_name_labels - number of labels of a wire name (root: 0) */
unsigned sd_name_labels(const uint8_t *n)
{
	unsigned c = 0;

	for (; *n; n += 1u + *n)
		c++;
	return c;
}

/* sd_name_eq - case-insensitive equality of two wire names */
int sd_name_eq(const uint8_t *a, const uint8_t *b)
{
	for (;;) {
		if (*a != *b)
			return 0;
		if (!*a)
			return 1;
		for (unsigned i = 1; i <= *a; i++)
			if (lower(a[i]) != lower(b[i]))
				return 0;
		a += 1u + *a;
		b += 1u + *b;
	}
}

/* sd_name_skip - the suffix of @n after dropping @k leading labels */
const uint8_t *sd_name_skip(const uint8_t *n, unsigned k)
{
	while (k-- && *n)
		n += 1u + *n;
	return n;
}

/* sd_name_under - whether @child equals @parent or is below it */
int sd_name_under(const uint8_t *child, const uint8_t *parent)
{
	unsigned c = sd_name_labels(child), p = sd_name_labels(parent);

	return c >= p && sd_name_eq(sd_name_skip(child, c - p), parent);
}

/* sd_name_cmp - RFC 4034 §6.1 canonical order of two wire names */
int sd_name_cmp(const uint8_t *a, const uint8_t *b)
{
	const uint8_t *la[128], *lb[128];
	unsigned na = 0, nb = 0;

	for (; *a && na < 128; a += 1u + *a)
		la[na++] = a;
	for (; *b && nb < 128; b += 1u + *b)
		lb[nb++] = b;
	while (na && nb) {
		const uint8_t *x = la[--na], *y = lb[--nb];
		unsigned l = *x < *y ? *x : *y;

		for (unsigned j = 1; j <= l; j++)
			if (lower(x[j]) != lower(y[j]))
				return lower(x[j]) < lower(y[j]) ? -1 : 1;
		if (*x != *y)
			return *x < *y ? -1 : 1;
	}
	return na == nb ? 0 : na < nb ? -1 : 1;
}

/* sd_name_text - presentation form with trailing dot, \DDD for odd octets */
const char *sd_name_text(const uint8_t *n, char *buf, size_t size)
{
	size_t o = 0;

	if (!*n)
		snprintf(buf, size, ".");
	for (; *n && o + 5 < size; n += 1u + *n) {
		for (unsigned i = 1; i <= *n && o + 5 < size; i++) {
			uint8_t c = n[i];

			if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
			    c == '-' || c == '_' || c == '*')
				buf[o++] = (char)c;
			else
				o += (size_t)snprintf(buf + o, size - o, "\\%03u", c);
		}
		buf[o++] = '.';
		buf[o] = '\0';
	}
	return buf;
}

/* sd_name_from_text - wire form of a host name ("a.example", dot optional, or ".") */
int sd_name_from_text(const char *s, uint8_t *out, size_t size, const char **why)
{
	size_t o = 0, len = strlen(s);

	if (!strcmp(s, ".") && size) {
		out[0] = 0;
		return 0;
	}
	if (len && s[len - 1] == '.')
		len--;
	if (len == 0 || len > 253 || size < len + 2)
		return sd_fail(why, "name empty or longer than 253 characters", EINVAL);
	while (len) {
		const char *dot = memchr(s, '.', len);
		size_t l = dot ? (size_t)(dot - s) : len;

		if (l == 0 || l > 63)
			return sd_fail(why, "empty label or label longer than 63 characters", EINVAL);
		if (memchr(s, '\\', l) || memchr(s, '\0', l))
			return sd_fail(why, "escapes are not accepted in names", EINVAL);
		out[o++] = (uint8_t)l;
		memcpy(out + o, s, l);
		o += l;
		s += l;
		len -= l;
		if (dot) {
			s++;
			len--;
			if (!len)
				return sd_fail(why, "empty label", EINVAL);
		}
	}
	out[o] = 0;
	return 0;
}

/* bitmap_ok - NSEC/NSEC3 type bitmap: windows ascending, lengths 1-32 */
static int bitmap_ok(const uint8_t *p, size_t len)
{
	int last = -1;

	while (len) {
		if (len < 2 || p[0] <= last || p[1] < 1 || p[1] > 32 || len < 2u + p[1])
			return 0;
		last = p[0];
		len -= 2u + p[1];
		p += 2u + p[1];
	}
	return 1;
}

/* sd_bitmap_has - whether a type bitmap lists @type */
int sd_bitmap_has(const uint8_t *p, size_t len, uint16_t type)
{
	while (len >= 2 && len >= 2u + p[1]) {
		if (p[0] == type >> 8)
			return (type & 0xff) / 8 < p[1] && (p[2 + (type & 0xff) / 8] & (0x80 >> (type & 7)));
		len -= 2u + p[1];
		p += 2u + p[1];
	}
	return 0;
}

/* sd_type_text - mnemonic of a record type */
const char *sd_type_text(uint16_t type, char *buf, size_t size)
{
	static const struct {
		uint16_t type;
		const char *name;
	} names[] = {
		{ 1, "A" }, { 2, "NS" }, { 5, "CNAME" }, { 6, "SOA" }, { 12, "PTR" }, { 15, "MX" },
		{ 16, "TXT" }, { 28, "AAAA" }, { 33, "SRV" }, { 35, "NAPTR" }, { 39, "DNAME" },
		{ 43, "DS" }, { 46, "RRSIG" }, { 47, "NSEC" }, { 48, "DNSKEY" }, { 50, "NSEC3" },
		{ 51, "NSEC3PARAM" }, { 52, "TLSA" },
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].type == type)
			return names[i].name;
	snprintf(buf, size, "TYPE%u", type);
	return buf;
}

/* skip_name - offset after the wire name at @off of @rd, or 0 if none fits */
static size_t skip_name(const uint8_t *rd, size_t len, size_t off)
{
	size_t n = off < len ? sd_name_len(rd + off, len - off, NULL) : 0;

	return n ? off + n : 0;
}

/*
 * rdata_names - where the names of @type's RDATA are, for the canonical form:
 * the types of RFC 4034 §6.2 that RFC 6840 §5.1 leaves (NSEC's next name is
 * not lowercased). Returns how many (0-2) with their offsets in @off, or -1
 * when the RDATA cannot hold them: each name lies inside the RDATA, and the
 * fixed fields around them fill it exactly.
 */
static int rdata_names(uint16_t type, const uint8_t *rd, size_t len, size_t off[2])
{
	size_t at = 0, end, head = 0, tail = 0;
	int names = 1;

	switch (type) {
	case 2: case 3: case 4: case 5: case 7: case 8: case 9: case 12: case SD_T_DNAME:
		break;                  /* NS, MD, MF, CNAME, MB, MG, MR, PTR, DNAME */
	case 14: case 17:               /* MINFO, RP */
		names = 2;
		break;
	case SD_T_SOA:
		names = 2;
		tail = 20;
		break;
	case 15: case 18: case 21: case 36: /* MX, AFSDB, RT, KX */
		head = 2;
		break;
	case 26:                        /* PX */
		head = 2;
		names = 2;
		break;
	case 33:                        /* SRV */
		head = 6;
		break;
	case SD_T_NAPTR:                /* order, preference, flags, services, regexp */
		head = 4;
		for (int i = 0; i < 3; i++) {
			if (head >= len)
				return -1;
			head += 1u + rd[head];
		}
		break;
	case SD_T_RRSIG:                /* the signer; a signature follows */
		if (len < 18 || !(end = skip_name(rd, len, 18)) || end >= len)
			return -1;
		off[0] = 18;
		return 1;
	default:
		return 0;
	}
	at = head;
	for (int i = 0; i < names; i++) {
		if (!(end = skip_name(rd, len, at)))
			return -1;
		off[i] = at;
		at = end;
	}
	return at + tail == len ? names : -1;
}

/* rdata_why - NULL if the RDATA of @type is well formed for the validator, else why */
static const char *rdata_why(uint16_t type, const uint8_t *rd, size_t len)
{
	size_t off[2], n;

	switch (type) {
	case SD_T_TLSA:
		return len < 4 ? "TLSA RDATA shorter than 4 octets" : NULL;
	case SD_T_DS:
		return len < 5 ? "DS RDATA shorter than 5 octets" : NULL;
	case SD_T_DNSKEY:
		return len < 5 ? "DNSKEY RDATA shorter than 5 octets" : NULL;
	case SD_T_RRSIG:
		if (len < 18)
			return "RRSIG RDATA shorter than 18 octets";
		return rdata_names(type, rd, len, off) < 0 ? "RRSIG without a signer name and signature" : NULL;
	case SD_T_NSEC:
		if (!(n = skip_name(rd, len, 0)))
			return "NSEC next name malformed";
		return !bitmap_ok(rd + n, len - n) ? "malformed NSEC type bitmap" : NULL;
	case SD_T_NSEC3:
		if (len < 5 || len < 6u + rd[4] || len < 6u + rd[4] + rd[5 + rd[4]])
			return "NSEC3 RDATA truncated";
		n = 6u + rd[4] + rd[5 + rd[4]];
		return !bitmap_ok(rd + n, len - n) ? "malformed NSEC3 type bitmap" : NULL;
	}
	if (rdata_names(type, rd, len, off) >= 0)
		return NULL;
	if (type == SD_T_CNAME || type == SD_T_DNAME) {
		const char *why = "alias target malformed";

		return sd_name_len(rd, len, &why) ? "octets after the alias target" : why;
	}
	return "RDATA does not hold the names of its type";
}

/* sd_rr_parse - every RR of @buf, strictly checked */
int sd_rr_parse(const uint8_t *buf, size_t len, size_t max, struct sd_rr **out, size_t *nrr,
		size_t *at, const char **why)
{
	struct sd_rr *rr = NULL, *tmp;
	size_t n = 0, cap = 0, off = 0;
	const char *w = NULL;
	int err = EBADMSG;

	*at = 0;
	while (off < len) {
		size_t nl;
		struct sd_rr r;

		*at = off;
		if (n == max) {
			w = "too many records";
			err = EMSGSIZE;
			goto bad;
		}
		if (!(nl = sd_name_len(buf + off, len - off, &w)))
			goto bad;
		r.owner = buf + off;
		off += nl;
		if (len - off < 10) {
			w = "record header truncated";
			goto bad;
		}
		r.type = sd_get16(buf + off);
		r.class = sd_get16(buf + off + 2);
		r.ttl = (uint32_t)sd_get16(buf + off + 4) << 16 | sd_get16(buf + off + 6);
		r.rdlen = sd_get16(buf + off + 8);
		off += 10;
		if (r.class != 1) {
			w = "record class is not IN";
			goto bad;
		}
		if (len - off < r.rdlen) {
			w = "RDATA runs past the end of the input";
			goto bad;
		}
		r.rdata = buf + off;
		if ((w = rdata_why(r.type, r.rdata, r.rdlen)))
			goto bad;
		off += r.rdlen;
		if (n == cap) {
			cap = cap ? 2 * cap : 16;
			if (!(tmp = realloc(rr, cap * sizeof(*rr)))) {
				free(rr);
				return sd_fail(why, "out of memory", ENOMEM);
			}
			rr = tmp;
		}
		rr[n++] = r;
	}
	*out = rr;
	*nrr = n;
	return 0;
bad:
	free(rr);
	return sd_fail(why, w, err);
}

/* One RR's RDATA in canonical form. */
struct canon {
	uint8_t *rd;
	size_t len;
};

/* canon_cmp - RFC 4034 §6.3 order of canonical RDATA */
static int canon_cmp(const void *pa, const void *pb)
{
	const struct canon *a = pa, *b = pb;
	size_t l = a->len < b->len ? a->len : b->len;
	int c = memcmp(a->rd, b->rd, l);

	return c ? c : (a->len > b->len) - (a->len < b->len);
}

/* put_lower - lowercased copy of the wire name @n; octets written */
static size_t put_lower(uint8_t *o, const uint8_t *n)
{
	size_t l = sd_name_len(n, 255, NULL);

	for (size_t i = 0; i < l; i++)
		o[i] = lower(n[i]);
	return l;
}

/* sd_rr_signed_data - the octets an RRSIG signs */
uint8_t *sd_rr_signed_data(const struct sd_rr *sig, const struct sd_rr *const *set, size_t k,
			   size_t *len)
{
	struct canon *c = calloc(k ? k : 1, sizeof(*c));
	uint32_t ottl = (uint32_t)sd_get16(sig->rdata + 4) << 16 | sd_get16(sig->rdata + 6);
	const uint8_t *owner = set && k ? set[0]->owner : NULL;
	unsigned labels = owner ? sd_name_labels(owner) : 0;
	uint8_t *b = NULL, wild[257];
	size_t cap = 18 + 255, o, ol = 0, done = 0;

	if (!c || !owner || sig->rdlen < 18)
		goto out;
	/* the owner as signed: "*." and the rightmost labels of a wildcard expansion */
	if (sig->rdata[3] < labels) {
		wild[0] = 1;
		wild[1] = '*';
		ol = 2 + put_lower(wild + 2, sd_name_skip(owner, labels - sig->rdata[3]));
	} else {
		ol = put_lower(wild, owner);
	}
	for (; done < k; done++) {
		size_t off[2];
		int nn = rdata_names(set[done]->type, set[done]->rdata, set[done]->rdlen, off);

		if (nn < 0 || !(c[done].rd = malloc(set[done]->rdlen ? set[done]->rdlen : 1)))
			goto out;
		c[done].len = set[done]->rdlen;
		memcpy(c[done].rd, set[done]->rdata, c[done].len);
		for (int i = 0; i < nn; i++)
			put_lower(c[done].rd + off[i], set[done]->rdata + off[i]);
		cap += ol + 10 + c[done].len;
	}
	qsort(c, k, sizeof(*c), canon_cmp);
	if (!(b = malloc(cap)))
		goto out;
	memcpy(b, sig->rdata, 18);
	o = 18 + put_lower(b + 18, sig->rdata + 18);
	for (size_t i = 0; i < k; i++) {
		if (i && canon_cmp(&c[i - 1], &c[i]) == 0)
			continue;
		memcpy(b + o, wild, ol);
		o += ol;
		b[o++] = (uint8_t)(set[0]->type >> 8);
		b[o++] = (uint8_t)set[0]->type;
		b[o++] = 0;
		b[o++] = 1;
		b[o++] = (uint8_t)(ottl >> 24);
		b[o++] = (uint8_t)(ottl >> 16);
		b[o++] = (uint8_t)(ottl >> 8);
		b[o++] = (uint8_t)ottl;
		b[o++] = (uint8_t)(c[i].len >> 8);
		b[o++] = (uint8_t)c[i].len;
		memcpy(b + o, c[i].rd, c[i].len);
		o += c[i].len;
	}
	*len = o;
out:
	for (size_t i = 0; c && i < done; i++)
		free(c[i].rd);
	free(c);
	return b;
}
