/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * chain.c - RFC 9102 AuthenticationChain: strict wire parser, extension_data
 * framing, trust anchor, and the offline DNSSEC validator (RFC 4034/4035
 * signatures, DS->DNSKEY links, CNAME aliases, NSEC denial) that turns a
 * chain into validated TLSA records or a reason naming the failed RRset.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <getdns/getdns.h>
#include <getdns/getdns_extra.h>
#include <openssl/evp.h>

#include <sipdance/chain.h>
#include "chain_int.h"
#include "internal.h"

#define T_CNAME 5
#define T_DNAME 39
#define T_DS 43
#define T_RRSIG 46
#define T_NSEC 47
#define T_DNSKEY 48
#define T_NSEC3 50
#define T_TLSA 52
#define CLASS_IN 1
#define MAX_ALIASES 8
/* Bounds against CPU exhaustion by a hostile chain (cf. KeyTrap, CVE-2023-50387):
 * real chains hold a few dozen records and need one signature per RRset. */
#define MAX_RRS 128
#define MAX_SIG_CHECKS 64

/* fail - set *why and return err */
static int fail(const char **why, const char *msg, int err)
{
	if (why)
		*why = msg;
	return err;
}

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
			return fail(why, "name runs past its record", 0), 0;
		if (p[off] == 0)
			break;
		if (p[off] & 0xc0)
			return fail(why, (p[off] & 0xc0) == 0xc0 ? "compressed name (RFC 9102 forbids "
				    "compression)" : "unknown label type", 0), 0;
		off += 1u + p[off];
		if (off >= 255)
			return fail(why, "name longer than 255 octets", 0), 0;
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

/* skip_labels - the suffix of @n after dropping @k leading labels */
static const uint8_t *skip_labels(const uint8_t *n, unsigned k)
{
	while (k-- && *n)
		n += 1u + *n;
	return n;
}

/* sd_name_under - whether @child equals @parent or is below it */
int sd_name_under(const uint8_t *child, const uint8_t *parent)
{
	unsigned c = sd_name_labels(child), p = sd_name_labels(parent);

	return c >= p && sd_name_eq(skip_labels(child, c - p), parent);
}

/* label_at - the @i-th label counted from the right (0 = the TLD) */
static const uint8_t *label_at(const uint8_t *n, unsigned count, unsigned i)
{
	return skip_labels(n, count - 1 - i);
}

/* sd_name_cmp - RFC 4034 §6.1 canonical order of two wire names */
int sd_name_cmp(const uint8_t *a, const uint8_t *b)
{
	unsigned na = sd_name_labels(a), nb = sd_name_labels(b);

	for (unsigned i = 0; i < na && i < nb; i++) {
		const uint8_t *la = label_at(a, na, i), *lb = label_at(b, nb, i);
		unsigned l = *la < *lb ? *la : *lb;

		for (unsigned j = 1; j <= l; j++)
			if (lower(la[j]) != lower(lb[j]))
				return lower(la[j]) < lower(lb[j]) ? -1 : 1;
		if (*la != *lb)
			return *la < *lb ? -1 : 1;
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

/* sd_name_from_text - wire form of a host name ("a.example", dot optional) */
int sd_name_from_text(const char *s, uint8_t *out, size_t size, const char **why)
{
	size_t o = 0, len = strlen(s);

	if (len && s[len - 1] == '.')
		len--;
	if (len == 0 || len > 253 || size < len + 2)
		return fail(why, "name empty or longer than 253 characters", EINVAL);
	while (len) {
		const char *dot = memchr(s, '.', len);
		size_t l = dot ? (size_t)(dot - s) : len;

		if (l == 0 || l > 63)
			return fail(why, "empty label or label longer than 63 characters", EINVAL);
		if (memchr(s, '\\', l) || memchr(s, '\0', l))
			return fail(why, "escapes are not accepted in names", EINVAL);
		out[o++] = (uint8_t)l;
		memcpy(out + o, s, l);
		o += l;
		s += l;
		len -= l;
		if (dot) {
			s++;
			len--;
			if (!len)
				return fail(why, "empty label", EINVAL);
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

/* rdata_ok - structure of the RDATA of the types a chain may hold; NULL or why */
static const char *rdata_ok(uint16_t type, const uint8_t *rd, size_t len)
{
	const char *why = NULL;
	size_t n;

	switch (type) {
	case T_TLSA:
		return len < 4 ? "TLSA RDATA shorter than 4 octets" : NULL;
	case T_DS:
		return len < 5 ? "DS RDATA shorter than 5 octets" : NULL;
	case T_DNSKEY:
		return len < 5 ? "DNSKEY RDATA shorter than 5 octets" : NULL;
	case T_CNAME:
	case T_DNAME:
		n = sd_name_len(rd, len, &why);
		return !n ? why : n != len ? "octets after the alias target" : NULL;
	case T_RRSIG:
		if (len < 18)
			return "RRSIG RDATA shorter than 18 octets";
		n = sd_name_len(rd + 18, len - 18, &why);
		return !n ? why : 18 + n >= len ? "RRSIG without signature" : NULL;
	case T_NSEC:
		n = sd_name_len(rd, len, &why);
		return !n ? why : !bitmap_ok(rd + n, len - n) ? "malformed NSEC type bitmap" : NULL;
	case T_NSEC3:
		if (len < 5 || len < 6u + rd[4] || len < 6u + rd[4] + rd[5 + rd[4]])
			return "NSEC3 RDATA truncated";
		n = 6u + rd[4] + rd[5 + rd[4]];
		return !bitmap_ok(rd + n, len - n) ? "malformed NSEC3 type bitmap" : NULL;
	default:
		return "record type not expected in a DNSSEC chain";
	}
}

/* sd_chain_split - parse every RR of @chain into *out (malloc'd); errors as
 * sipdance_chain_parse, *at = offset of the bad record */
int sd_chain_split(const uint8_t *chain, size_t len, struct sd_rr **out, size_t *nrr,
		   size_t *at, const char **why)
{
	struct sd_rr *rr = NULL, *tmp;
	size_t n = 0, cap = 0, off = 0;
	const char *w = NULL;

	*at = 0;
	while (off < len) {
		size_t nl;
		struct sd_rr r;

		*at = off;
		if (!(nl = sd_name_len(chain + off, len - off, &w)))
			goto bad;
		r.owner = chain + off;
		off += nl;
		if (len - off < 10) {
			w = "record header truncated";
			goto bad;
		}
		r.type = get16(chain + off);
		r.class = get16(chain + off + 2);
		r.ttl = get32(chain + off + 4);
		r.rdlen = get16(chain + off + 8);
		off += 10;
		if (r.class != CLASS_IN) {
			w = "record class is not IN";
			goto bad;
		}
		if (len - off < r.rdlen) {
			w = "RDATA runs past the end of the chain";
			goto bad;
		}
		r.rdata = chain + off;
		if ((w = rdata_ok(r.type, r.rdata, r.rdlen)))
			goto bad;
		off += r.rdlen;
		if (n == cap) {
			cap = cap ? 2 * cap : 16;
			if (!(tmp = realloc(rr, cap * sizeof(*rr)))) {
				free(rr);
				return fail(why, "out of memory", ENOMEM);
			}
			rr = tmp;
		}
		rr[n++] = r;
	}
	if (n == 0) {
		free(rr);
		return fail(why, "empty chain", EBADMSG);
	}
	*out = rr;
	*nrr = n;
	return 0;
bad:
	free(rr);
	return fail(why, w, EBADMSG);
}

/* sipdance_chain_parse - structural check of a whole chain */
int sipdance_chain_parse(const uint8_t *chain, size_t len, size_t *nrr, const char **why)
{
	struct sd_rr *rr;
	size_t n, at;
	int err;

	if (!chain)
		return fail(why, "no input", EINVAL);
	if (len > SIPDANCE_CHAIN_MAX)
		return fail(why, "chain longer than 65535 octets", EMSGSIZE);
	if ((err = sd_chain_split(chain, len, &rr, &n, &at, why)))
		return err;
	free(rr);
	if (nrr)
		*nrr = n;
	return 0;
}

/* sipdance_chain_ext_decode - lifetime and chain of extension_data */
int sipdance_chain_ext_decode(const uint8_t *ext, size_t len, uint16_t *lifetime,
			      const uint8_t **chain, size_t *chain_len, const char **why)
{
	if (!ext || !lifetime || !chain || !chain_len)
		return fail(why, "no input", EINVAL);
	if (len < 3)
		return fail(why, "extension_data shorter than lifetime plus one octet", EBADMSG);
	if (len - 2 > SIPDANCE_CHAIN_MAX)
		return fail(why, "chain longer than 65535 octets", EMSGSIZE);
	*lifetime = get16(ext);
	*chain = ext + 2;
	*chain_len = len - 2;
	return 0;
}

/* sipdance_chain_ext_encode - lifetime then chain */
int sipdance_chain_ext_encode(uint16_t lifetime, const uint8_t *chain, size_t chain_len,
			      uint8_t **out, size_t *out_len)
{
	uint8_t *b;

	if (!chain || !chain_len || !out || !out_len)
		return EINVAL;
	if (chain_len + 2 > SIPDANCE_CHAIN_MAX_EXT)
		return EMSGSIZE;
	if (!(b = malloc(chain_len + 2)))
		return ENOMEM;
	b[0] = (uint8_t)(lifetime >> 8);
	b[1] = (uint8_t)lifetime;
	memcpy(b + 2, chain, chain_len);
	*out = b;
	*out_len = chain_len + 2;
	return 0;
}

/* ---- Trust anchor ---- */

/* sipdance_chain_anchor_load - DS/DNSKEY lines through getdns' zone-file reader */
int sipdance_chain_anchor_load(struct sipdance_chain_anchor **out, const char *file,
			       const char **why)
{
	struct sipdance_chain_anchor *ta;
	getdns_list *list = NULL;
	getdns_dict *d;
	size_t n = 0, used = 0;
	int err;

	if (!out)
		return fail(why, "no output", EINVAL);
	if ((err = sd_getdns_anchors(file, &list, why)))
		return err;
	getdns_list_get_length(list, &n);
	if (!(ta = calloc(1, sizeof(*ta) + n * sizeof(ta->rr[0])))) {
		getdns_list_destroy(list);
		return fail(why, "out of memory", ENOMEM);
	}
	err = 0;
	for (size_t i = 0; !err && i < n; i++) {
		uint8_t *wire = NULL;
		size_t wlen = 0, at;
		struct sd_rr *rr;
		size_t k;

		if (getdns_list_get_dict(list, i, &d) || getdns_rr_dict2wire(d, &wire, &wlen)) {
			err = fail(why, "trust anchor record cannot be encoded", EINVAL);
			break;
		}
		if (sd_chain_split(wire, wlen, &rr, &k, &at, why) || k != 1) {
			free(wire);
			err = fail(why, "trust anchor record is malformed", EINVAL);
			break;
		}
		ta->rr[used].wire = wire;
		ta->rr[used].rr = rr[0];
		free(rr);
		if (used && !sd_name_eq(ta->rr[used].rr.owner, ta->rr[0].rr.owner))
			err = fail(why, "trust anchor records of more than one zone", EINVAL);
		used++;
	}
	ta->n = used;
	getdns_list_destroy(list);
	if (err) {
		sipdance_chain_anchor_free(ta);
		return err;
	}
	*out = ta;
	return 0;
}

/* sipdance_chain_anchor_free - free an anchor */
void sipdance_chain_anchor_free(struct sipdance_chain_anchor *ta)
{
	if (!ta)
		return;
	for (size_t i = 0; i < ta->n; i++)
		free(ta->rr[i].wire);
	free(ta);
}

/* ---- Validation ---- */

struct val {
	const struct sipdance_chain_anchor *ta;
	struct sd_rr *rr;
	size_t n;
	uint8_t *trusted;     /* rr[i] is a DNSKEY of a validated zone */
	uint32_t at32;
	time_t at;
	unsigned checks;      /* signature verifications so far */
	EVP_PKEY **pk;        /* public keys of rr[i] once made (each DNSKEY signs several RRsets) */
	char nsec_why[200];   /* why the last NSEC that would have proved a denial failed */
	const uint8_t *signer; /* signer of the RRSIG that verified the last RRset validated */
	uint32_t ttl;
	time_t expires;
	char why[200];        /* last failure */
};

/* whyf - printf into v->why, cut to fit */
static void __attribute__((format(printf, 2, 3))) whyf(struct val *v, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(v->why, sizeof(v->why), fmt, ap);
	va_end(ap);
}

/* rdata_cmp - canonical RDATA order (RFC 4034 §6.3) */
static int rdata_cmp(const struct sd_rr *a, const struct sd_rr *b)
{
	size_t l = a->rdlen < b->rdlen ? a->rdlen : b->rdlen;
	int c = memcmp(a->rdata, b->rdata, l);

	if (c || a->rdlen == b->rdlen)
		return c;
	return a->rdlen < b->rdlen ? -1 : 1;
}

/* canon_rdata_cmp - canonical order with the CNAME/DNAME target lowercased */
static int canon_rdata_cmp(const void *pa, const void *pb)
{
	const struct sd_rr *a = *(const struct sd_rr *const *)pa, *b = *(const struct sd_rr *const *)pb;

	if (a->type == T_CNAME || a->type == T_DNAME) {
		size_t l = a->rdlen < b->rdlen ? a->rdlen : b->rdlen;

		for (size_t i = 0; i < l; i++)
			if (lower(a->rdata[i]) != lower(b->rdata[i]))
				return lower(a->rdata[i]) < lower(b->rdata[i]) ? -1 : 1;
		return a->rdlen == b->rdlen ? 0 : a->rdlen < b->rdlen ? -1 : 1;
	}
	return rdata_cmp(a, b);
}

/* put_name - lowercased copy of a wire name; octets written */
static size_t put_name(uint8_t *o, const uint8_t *n)
{
	size_t l = sd_name_len(n, 255, NULL);

	for (size_t i = 0; i < l; i++)
		o[i] = lower(n[i]);
	return l;
}

/* signed_data - RFC 4034 §3.1.8.1 input for RRSIG @sig over @set (sorted,
 * duplicates dropped); malloc'd */
static uint8_t *signed_data(const struct sd_rr *sig, const struct sd_rr **set, size_t k,
			    size_t *len)
{
	size_t cap, o = 0;
	uint32_t ottl = get32(sig->rdata + 4);
	uint8_t *b;

	cap = 18 + 255;
	for (size_t i = 0; i < k; i++)
		cap += 255 + 10 + set[i]->rdlen;
	if (!(b = malloc(cap)))
		return NULL;
	memcpy(b, sig->rdata, 18);
	o = 18 + put_name(b + 18, sig->rdata + 18);
	for (size_t i = 0; i < k; i++) {
		const struct sd_rr *r = set[i];

		if (i && canon_rdata_cmp(&set[i - 1], &set[i]) == 0)
			continue;
		o += put_name(b + o, r->owner);
		b[o++] = (uint8_t)(r->type >> 8);
		b[o++] = (uint8_t)r->type;
		b[o++] = 0;
		b[o++] = CLASS_IN;
		b[o++] = (uint8_t)(ottl >> 24);
		b[o++] = (uint8_t)(ottl >> 16);
		b[o++] = (uint8_t)(ottl >> 8);
		b[o++] = (uint8_t)ottl;
		b[o++] = (uint8_t)(r->rdlen >> 8);
		b[o++] = (uint8_t)r->rdlen;
		if (r->type == T_CNAME || r->type == T_DNAME)
			put_name(b + o, r->rdata);
		else
			memcpy(b + o, r->rdata, r->rdlen);
		o += r->rdlen;
	}
	*len = o;
	return b;
}

/* sd_chain_signed_data - signed data of an RRSIG over an RRset, for tests and the bench */
uint8_t *sd_chain_signed_data(const struct sd_rr *sig, const struct sd_rr *set, size_t k,
			      size_t *len)
{
	const struct sd_rr **p = malloc((k ? k : 1) * sizeof(*p));
	uint8_t *b;

	if (!p)
		return NULL;
	for (size_t i = 0; i < k; i++)
		p[i] = &set[i];
	qsort(p, k, sizeof(*p), canon_rdata_cmp);
	b = signed_data(sig, p, k, len);
	free(p);
	return b;
}

/* timefmt - UTC date of a serial time near @v's clock */
static const char *timefmt(const struct val *v, uint32_t t, char *buf, size_t size)
{
	time_t abs = v->at + (int32_t)(t - v->at32);
	struct tm tm;

	gmtime_r(&abs, &tm);
	strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return buf;
}

/* check_sig - one RRSIG over @set with key rr[@ki]; NULL when it verifies, else why */
static const char *check_sig(struct val *v, const struct sd_rr *sig, const struct sd_rr **set,
			     size_t k, size_t ki, char *buf, size_t size)
{
	const struct sd_rr *key = &v->rr[ki];
	uint32_t inception = get32(sig->rdata + 12), expiration = get32(sig->rdata + 8);
	uint8_t *data;
	size_t dlen, slen = sd_name_len(sig->rdata + 18, sig->rdlen - 18, NULL);
	const char *r;
	char tb[32];

	if ((int32_t)(v->at32 - inception) < 0) {
		snprintf(buf, size, "RRSIG not valid before %s", timefmt(v, inception, tb, sizeof(tb)));
		return buf;
	}
	if ((int32_t)(expiration - v->at32) < 0) {
		snprintf(buf, size, "RRSIG expired %s", timefmt(v, expiration, tb, sizeof(tb)));
		return buf;
	}
	if (++v->checks > MAX_SIG_CHECKS)
		return "too many signatures to check (more than 64)";
	if (!v->pk[ki] && !(v->pk[ki] = sd_dnssec_pkey(key->rdata[3], key->rdata + 4, key->rdlen - 4, &r)))
		return r;
	if (!(data = signed_data(sig, set, k, &dlen)))
		return "out of memory";
	r = sd_dnssec_verify_pkey(sig->rdata[2], v->pk[ki], data, dlen, sig->rdata + 18 + slen,
				  sig->rdlen - 18 - slen);
	free(data);
	return r;
}

/* verify_rrset - validate RRset (@owner, @type) with the keys allowed by
 * @keys (NULL: v->trusted); @signer_zone, if non-NULL, must be the signer.
 * 0 on success (TTL/expiry recorded), -1 with v->why */
static int verify_rrset(struct val *v, const uint8_t *owner, uint16_t type, const uint8_t *keys)
{
	const struct sd_rr **set = malloc(v->n * sizeof(*set));
	const char *last = "no RRSIG covers it";
	char owner_txt[256], buf[160];
	unsigned owner_labels = sd_name_labels(owner);
	size_t k = 0;
	uint32_t ttl = UINT32_MAX;
	int ok = -1;

	if (!set) {
		snprintf(v->why, sizeof(v->why), "out of memory");
		return -1;
	}
	if (!keys)
		keys = v->trusted;
	for (size_t i = 0; i < v->n; i++)
		if (v->rr[i].type == type && sd_name_eq(v->rr[i].owner, owner)) {
			set[k++] = &v->rr[i];
			if (v->rr[i].ttl < ttl)
				ttl = v->rr[i].ttl;
		}
	qsort(set, k, sizeof(*set), canon_rdata_cmp);
	for (size_t i = 0; i < v->n && ok && k; i++) {
		const struct sd_rr *sig = &v->rr[i];
		const uint8_t *signer = sig->rdata + 18;
		uint16_t tag = get16(sig->rdata + 16);
		int have_key = 0;

		if (sig->type != T_RRSIG || get16(sig->rdata) != type || !sd_name_eq(sig->owner, owner))
			continue;
		/*
		 * Which RRSIGs may validate the RRset:
		 *  - labels field above the owner's label count: malformed;
		 *  - below it: a wildcard expansion, which needs a proof of the
		 *    non-existence of the name; not supported, so refused;
		 *  - signer not the owner or an ancestor, or for DS not a proper
		 *    ancestor, or for DNSKEY not the owner itself: refused;
		 *  - key: a trusted DNSKEY at the signer with the same algorithm and
		 *    key tag, zone flag set, protocol 3, not revoked.
		 */
		if (sig->rdata[3] > owner_labels) {
			last = "RRSIG labels field exceeds the owner's labels";
			continue;
		}
		if (sig->rdata[3] < owner_labels) {
			last = "wildcard-expanded RRset (not supported)";
			continue;
		}
		if (!sd_name_under(owner, signer) || (type == T_DS && sd_name_eq(owner, signer)) ||
		    (type == T_DNSKEY && !sd_name_eq(owner, signer))) {
			last = "RRSIG signer is not the zone of the owner";
			continue;
		}
		for (size_t j = 0; j < v->n && ok; j++) {
			const struct sd_rr *key = &v->rr[j];
			uint16_t flags;

			if (!keys[j] || key->type != T_DNSKEY || !sd_name_eq(key->owner, signer))
				continue;
			flags = get16(key->rdata);
			if (key->rdata[3] != sig->rdata[2] || sd_dnssec_key_tag(key->rdata, key->rdlen) != tag ||
			    !(flags & 0x0100) || (flags & 0x0080) || key->rdata[2] != 3)
				continue;
			have_key = 1;
			if (!(last = check_sig(v, sig, set, k, j, buf, sizeof(buf)))) {
				uint32_t ottl = get32(sig->rdata + 4), exp = get32(sig->rdata + 8);
				time_t abs = v->at + (int32_t)(exp - v->at32);

				if (ottl < ttl)
					ttl = ottl;
				if (ttl < v->ttl)
					v->ttl = ttl;
				if (!v->expires || abs < v->expires)
					v->expires = abs;
				v->signer = signer;
				ok = 0;
			} else if (last != buf) {
				snprintf(buf, sizeof(buf), "%s (key tag %u)", last, tag);
				last = buf;
			}
		}
		if (!have_key && ok) {
			char st[256];

			snprintf(buf, sizeof(buf), "no validated DNSKEY of %s with key tag %u, algorithm %u",
				 sd_name_text(signer, st, sizeof(st)), tag, sig->rdata[2]);
			last = buf;
		}
	}
	if (ok) {
		if (k == 0)
			last = "missing from the chain";
		snprintf(v->why, sizeof(v->why), "%s %s: %s", sd_name_text(owner, owner_txt, sizeof(owner_txt)),
			 type == T_DS ? "DS" : type == T_DNSKEY ? "DNSKEY" : type == T_TLSA ? "TLSA" :
			 type == T_CNAME ? "CNAME" : type == T_NSEC ? "NSEC" : "RRset", last);
	}
	free(set);
	return ok;
}

/* ds_matches - whether DS RDATA @ds names DNSKEY @key (digest 2 or 4) */
static int ds_matches(const uint8_t *ds, size_t dslen, const struct sd_rr *key)
{
	uint8_t buf[255 + 4 + 2048], md[64];
	size_t o, mdlen;

	if (key->rdlen > 2048 || ds[2] != key->rdata[3] || get16(ds) != sd_dnssec_key_tag(key->rdata, key->rdlen))
		return 0;
	o = put_name(buf, key->owner);
	memcpy(buf + o, key->rdata, key->rdlen);
	o += key->rdlen;
	if (sd_dnssec_digest(ds[3], buf, o, md, &mdlen))
		return 0;
	return dslen == 4 + mdlen && memcmp(ds + 4, md, mdlen) == 0;
}

/* trust_zone - validate the DNSKEY RRset at @zone from keys matching DS
 * records (@ds of @nds, in the chain or the anchor) or anchor DNSKEYs; 0/-1 */
static int trust_zone(struct val *v, const uint8_t *zone, const struct sd_rr *const *ds, size_t nds)
{
	uint8_t *cand = calloc(v->n, 1);
	int any = 0, keys = 0, supported = 0, r;
	char zt[256];

	if (!cand)
		return -1;
	for (size_t j = 0; j < nds; j++)
		if (ds[j]->type == T_DNSKEY || sd_dnssec_digest(ds[j]->rdata[3], NULL, 0, NULL, NULL) == 0)
			supported = 1;
	for (size_t i = 0; i < v->n; i++) {
		const struct sd_rr *key = &v->rr[i];

		if (key->type != T_DNSKEY || !sd_name_eq(key->owner, zone))
			continue;
		keys = 1;
		for (size_t j = 0; j < nds; j++) {
			if (ds[j]->type == T_DNSKEY)
				cand[i] |= ds[j]->rdlen == key->rdlen && !memcmp(ds[j]->rdata, key->rdata, key->rdlen);
			else
				cand[i] |= ds_matches(ds[j]->rdata, ds[j]->rdlen, key);
		}
		any |= cand[i];
	}
	if (!any) {
		whyf(v, "%s DNSKEY: %s", sd_name_text(zone, zt, sizeof(zt)),
		     !keys ? "missing from the chain" : !supported ? "no DS with a supported digest type" :
		     "no DNSKEY in the chain matches the DS (or trust anchor)");
		free(cand);
		return -1;
	}
	r = verify_rrset(v, zone, T_DNSKEY, cand);
	free(cand);
	if (r)
		return -1;
	for (size_t i = 0; i < v->n; i++)
		if (v->rr[i].type == T_DNSKEY && sd_name_eq(v->rr[i].owner, zone))
			v->trusted[i] = 1;
	return 0;
}

/* zone_trusted - whether the DNSKEY RRset at @zone is validated */
static int zone_trusted(const struct val *v, const uint8_t *zone)
{
	for (size_t i = 0; i < v->n; i++)
		if (v->trusted[i] && sd_name_eq(v->rr[i].owner, zone))
			return 1;
	return 0;
}

/* build_trust - anchor zone, then every DS-linked zone reachable from it;
 * v->why then holds the first broken link (closest to the anchor) on the
 * way to @target, or "" */
static int build_trust(struct val *v, const uint8_t *target)
{
	const struct sd_rr **ds = malloc((v->n + v->ta->n) * sizeof(*ds));
	char (*why)[sizeof(v->why)] = calloc(v->n, sizeof(*why));
	uint8_t *dead = calloc(v->n, 1);
	unsigned best_labels = 256;
	long best = -1;
	int progress = 1, r = -1;
	size_t nds = 0;

	if (!ds || !why || !dead)
		goto out;
	for (size_t i = 0; i < v->ta->n; i++)
		ds[nds++] = &v->ta->rr[i].rr;
	if (trust_zone(v, v->ta->rr[0].rr.owner, ds, nds))
		goto out;
	while (progress) {
		progress = 0;
		for (size_t i = 0; i < v->n; i++) {
			const uint8_t *child = v->rr[i].owner;
			int first = 1;

			if (v->rr[i].type != T_DS || dead[i] || zone_trusted(v, child))
				continue;
			for (size_t j = 0; j < i; j++)
				if (v->rr[j].type == T_DS && sd_name_eq(v->rr[j].owner, child))
					first = 0;
			if (!first)
				continue;
			nds = 0;
			if (verify_rrset(v, child, T_DS, NULL) == 0) {
				for (size_t j = 0; j < v->n; j++)
					if (v->rr[j].type == T_DS && sd_name_eq(v->rr[j].owner, child))
						ds[nds++] = &v->rr[j];
				if (trust_zone(v, child, ds, nds) == 0) {
					progress = 1;
					continue;
				}
			}
			/* a failure with the parent trusted is final; else retry next pass */
			memcpy(why[i], v->why, sizeof(why[i]));
			dead[i] = !strstr(v->why, "no validated DNSKEY");
		}
	}
	for (size_t i = 0; i < v->n; i++)
		if (v->rr[i].type == T_DS && why[i][0] && !zone_trusted(v, v->rr[i].owner) &&
		    sd_name_under(target, v->rr[i].owner) && sd_name_labels(v->rr[i].owner) < best_labels) {
			best_labels = sd_name_labels(v->rr[i].owner);
			best = (long)i;
		}
	if (best >= 0)
		memcpy(v->why, why[best], sizeof(v->why));
	else
		v->why[0] = '\0';
	r = 0;
out:
	if (r && !v->why[0])
		whyf(v, "out of memory");
	free(dead);
	free(why);
	free(ds);
	return r;
}

/* find - index of the first RR of (@owner, @type), or -1 */
static long find(const struct val *v, const uint8_t *owner, uint16_t type)
{
	for (size_t i = 0; i < v->n; i++)
		if (v->rr[i].type == type && sd_name_eq(v->rr[i].owner, owner))
			return (long)i;
	return -1;
}

/* verify_target - like verify_rrset, with the link failure below the
 * anchor reported instead when the signer's zone is not trusted */
static int verify_target(struct val *v, const uint8_t *owner, uint16_t type, const char *link_why)
{
	if (verify_rrset(v, owner, type, NULL) == 0)
		return 0;
	if (link_why[0] && strstr(v->why, "no validated DNSKEY"))
		snprintf(v->why, sizeof(v->why), "%s", link_why);
	return -1;
}

/* nsec_covers - whether NSEC @n proves that @name does not exist */
static int nsec_covers(const struct sd_rr *n, const uint8_t *name)
{
	const uint8_t *next = n->rdata;
	int after = sd_name_cmp(n->owner, name) < 0, wrap = sd_name_cmp(n->owner, next) >= 0;

	if (!after)
		return 0;
	return wrap ? 1 : sd_name_cmp(name, next) < 0;
}

/* nsec_delegation - whether NSEC @n sits at a delegation (NS without SOA)
 * or a DNAME, so it proves nothing below its owner */
static int nsec_delegation(const struct sd_rr *n)
{
	size_t nl = sd_name_len(n->rdata, n->rdlen, NULL);
	const uint8_t *bm = n->rdata + nl;
	size_t bl = n->rdlen - nl;

	return (sd_bitmap_has(bm, bl, 2) && !sd_bitmap_has(bm, bl, 6)) || sd_bitmap_has(bm, bl, T_DNAME);
}

/* nsec_nodata - whether NSEC @n at @name shows no TLSA and no CNAME */
static int nsec_nodata(const struct sd_rr *n)
{
	size_t nl = sd_name_len(n->rdata, n->rdlen, NULL);

	return !sd_bitmap_has(n->rdata + nl, n->rdlen - nl, T_TLSA) &&
	       !sd_bitmap_has(n->rdata + nl, n->rdlen - nl, T_CNAME) &&
	       !(sd_bitmap_has(n->rdata + nl, n->rdlen - nl, 2) &&
		 !sd_bitmap_has(n->rdata + nl, n->rdlen - nl, 6));
}

/* common_ancestor - the longest common suffix (ancestor) of two names */
static const uint8_t *common_ancestor(const uint8_t *a, const uint8_t *b)
{
	unsigned na = sd_name_labels(a), nb = sd_name_labels(b), k = na < nb ? na : nb;

	while (k && !sd_name_eq(skip_labels(a, na - k), skip_labels(b, nb - k)))
		k--;
	return skip_labels(a, na - k);
}

/* valid_nsec - index of a validated NSEC owning @name with no TLSA (@match)
 * or covering @name (!@match), whose verified signer contains @name and the
 * NSEC's next name, with that signer in *zone; or -1 */
static long valid_nsec(struct val *v, const uint8_t *name, int match, const uint8_t **zone)
{
	for (size_t i = 0; i < v->n; i++) {
		const struct sd_rr *n = &v->rr[i];

		if (n->type != T_NSEC)
			continue;
		if (match ? !sd_name_eq(n->owner, name) || !nsec_nodata(n)
			  : !nsec_covers(n, name) ||
			    (nsec_delegation(n) && sd_name_under(name, n->owner) &&
			     !sd_name_eq(name, n->owner)))
			continue;
		if (verify_rrset(v, n->owner, T_NSEC, NULL)) {
			memcpy(v->nsec_why, v->why, sizeof(v->nsec_why));
			continue;
		}
		if (sd_name_under(name, v->signer) && sd_name_under(n->rdata, v->signer)) {
			if (zone)
				*zone = v->signer;
			return (long)i;
		}
	}
	return -1;
}

/* denial - RFC 4035 §5.4 with NSEC: NODATA at @name, or NXDOMAIN (a
 * covering NSEC plus no wildcard at the closest encloser); 0 or -1 */
static int denial(struct val *v, const uint8_t *name)
{
	uint8_t wild[257];
	const uint8_t *ce, *zone;
	long c;
	size_t cl;

	/*
	 * What proves "no TLSA at name":
	 *  - a validated NSEC owned by the name whose bitmap has neither TLSA,
	 *    CNAME, nor NS-without-SOA (a parent-side delegation NSEC);
	 *  - or a validated NSEC covering the name, not from above a delegation
	 *    or DNAME, and a validated NSEC covering (or owning, with no TLSA
	 *    or CNAME) the wildcard at the closest encloser;
	 *  - each verified by a signature of a zone that contains the name and
	 *    the NSEC's next name (its owner is in that zone by verification).
	 * Anything else (NSEC3, unsigned, partial) is no proof.
	 */
	if (valid_nsec(v, name, 1, NULL) >= 0)
		return 0;
	if ((c = valid_nsec(v, name, 0, &zone)) < 0)
		return -1;
	ce = common_ancestor(name, v->rr[c].owner);
	if (sd_name_labels(common_ancestor(name, v->rr[c].rdata)) > sd_name_labels(ce))
		ce = common_ancestor(name, v->rr[c].rdata);
	if (!zone || !sd_name_under(ce, zone))
		return -1;
	cl = sd_name_len(ce, 255, NULL);
	if (cl + 2 > sizeof(wild) || cl + 2 > 255)
		return -1;
	wild[0] = 1;
	wild[1] = '*';
	memcpy(wild + 2, ce, cl);
	return valid_nsec(v, wild, 1, NULL) >= 0 || valid_nsec(v, wild, 0, NULL) >= 0 ? 0 : -1;
}

/* tlsa_set - the TLSA RRset at @owner as a sipdance set */
static int tlsa_set(const struct val *v, const uint8_t *owner, struct sipdance_tlsa_set **out)
{
	struct sipdance_tlsa_set *set;
	struct sipdance_tlsa *t;
	int err;

	if ((err = sipdance_tlsa_set_alloc(&set)))
		return err;
	for (size_t i = 0; i < v->n; i++) {
		int dup = 0;

		if (v->rr[i].type != T_TLSA || !sd_name_eq(v->rr[i].owner, owner))
			continue;
		for (size_t j = 0; j < i; j++)
			if (v->rr[j].type == T_TLSA && sd_name_eq(v->rr[j].owner, owner) &&
			    rdata_cmp(&v->rr[i], &v->rr[j]) == 0)
				dup = 1;
		if (dup)
			continue;
		if ((err = sipdance_tlsa_from_wire(&t, v->rr[i].rdata, v->rr[i].rdlen, NULL)) ||
		    (err = sipdance_tlsa_set_add(set, t))) {
			sipdance_tlsa_set_free(set);
			return err;
		}
	}
	*out = set;
	return 0;
}

/* bogus - a not-secure result with reason */
static int bogus(struct sipdance_chain_result *r, const char *why)
{
	r->secure = 0;
	snprintf(r->why, sizeof(r->why), "%s", why);
	return 0;
}

/* sipdance_chain_validate - the chain proves TLSA records, a denial, or nothing */
int sipdance_chain_validate(const struct sipdance_chain_anchor *ta, const uint8_t *chain,
			    size_t len, const char *owner, time_t at,
			    struct sipdance_chain_result *r)
{
	struct val v = { .ta = ta };
	uint8_t name[256], target[256];
	const char *why = NULL;
	char link[200], txt[256];
	size_t at_off;
	int err;

	if (!ta || !chain || !owner || !r)
		return EINVAL;
	memset(r, 0, sizeof(*r));
	if (sd_name_from_text(owner, name, sizeof(name), &why))
		return EINVAL;
	v.at = at ? at : time(NULL);
	v.at32 = (uint32_t)v.at;
	v.ttl = UINT32_MAX;
	if (len > SIPDANCE_CHAIN_MAX)
		return bogus(r, "chain longer than 65535 octets");
	if ((err = sd_chain_split(chain, len, &v.rr, &v.n, &at_off, &why))) {
		if (err == ENOMEM)
			return err;
		snprintf(link, sizeof(link), "malformed chain at octet %zu: %s", at_off, why);
		return bogus(r, link);
	}
	if (v.n > MAX_RRS) {
		free(v.rr);
		return bogus(r, "chain of more than 128 records");
	}
	if (!(v.trusted = calloc(v.n, 1)) || !(v.pk = calloc(v.n, sizeof(*v.pk)))) {
		free(v.trusted);
		free(v.rr);
		return ENOMEM;
	}
	err = 0;
	if (build_trust(&v, name)) {
		bogus(r, v.why);
		goto out;
	}
	snprintf(link, sizeof(link), "%s", v.why);
	/*
	 * From the owner asked for: a TLSA RRset there (validated), or a
	 * validated CNAME to follow (at most MAX_ALIASES), or a validated
	 * denial; an RRset present but failing is a failure, not a denial.
	 */
	memcpy(target, name, sd_name_len(name, sizeof(name), NULL));
	for (int hop = 0;; hop++) {
		if (find(&v, target, T_TLSA) >= 0) {
			if (verify_target(&v, target, T_TLSA, link)) {
				bogus(r, v.why);
				goto out;
			}
			if ((err = tlsa_set(&v, target, &r->tlsa)))
				goto out;
			break;
		}
		if (find(&v, target, T_CNAME) >= 0) {
			const struct sd_rr *c = &v.rr[find(&v, target, T_CNAME)];

			if (hop == MAX_ALIASES) {
				bogus(r, "more than 8 aliases");
				goto out;
			}
			if (verify_target(&v, target, T_CNAME, link)) {
				bogus(r, v.why);
				goto out;
			}
			memcpy(target, c->rdata, c->rdlen);
			continue;
		}
		if (denial(&v, target)) {
			whyf(&v, "%s: no TLSA RRset and no valid NSEC denial%s%s",
			     sd_name_text(target, txt, sizeof(txt)), link[0] || v.nsec_why[0] ? ": " : "",
			     link[0] ? link : v.nsec_why);
			bogus(r, v.why);
			goto out;
		}
		r->denial = 1;
		break;
	}
	r->secure = 1;
	r->ttl = v.ttl;
	r->expires = v.expires;
	sd_name_text(target, r->name, sizeof(r->name));
out:
	for (size_t i = 0; i < v.n; i++)
		EVP_PKEY_free(v.pk[i]);
	free(v.pk);
	free(v.trusted);
	free(v.rr);
	return err;
}

/* sipdance_chain_result_clear - release the records */
void sipdance_chain_result_clear(struct sipdance_chain_result *r)
{
	if (!r)
		return;
	sipdance_tlsa_set_free(r->tlsa);
	memset(r, 0, sizeof(*r));
}
