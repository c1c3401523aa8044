/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * dnssec_val.c - the DNSSEC validator: from a trust anchor down the DS ->
 * DNSKEY links to the zone of a name, then the RRset there (a wildcard
 * expansion only with its proof, RFC 4035 §5.3.4), CNAME and DNAME aliases,
 * an NSEC (RFC 4035 §5.4) or NSEC3 (RFC 5155 §8) denial, or a proven
 * insecure delegation. Every RRSIG must be by the zone that holds the data,
 * and every later check uses the signer whose signature verified.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>

#include "internal.h"
#include "dnssec_int.h"

/* A zone cut (a DS RRset of the records) met on the way down. */
struct cut {
	const uint8_t *name;
	enum { CUT_TRUSTED = 1, CUT_INSECURE, CUT_FAILED } state;
	char why[200];
};

/* An NSEC3 hash computed, by name and parameters. */
struct hashed {
	const uint8_t *name;
	const uint8_t *salt; /* salt length octet, then the salt */
	uint16_t iterations;
	uint8_t h[20];
};

/* What a denial proves. */
enum proof { PROOF_NONE, PROOF_NODATA, PROOF_NXDOMAIN, PROOF_INSECURE };

/* One validation: the records, what is trusted so far, the bounds spent, the reasons. */
struct val {
	const struct sd_dnssec_query *q;
	struct sd_rr *rr;          /* the query's records, then the anchor's DNSKEYs */
	size_t n, nq;
	uint8_t *trusted;          /* rr[i] is a DNSKEY of a validated zone, or an anchor key */
	int8_t *valid;             /* NSEC/NSEC3 rr[i] validated for vzone[i]: 1 yes, -1 no */
	const uint8_t **vzone;
	EVP_PKEY **pk;             /* public keys once made (a key signs several RRsets) */
	const uint8_t *anchor_zone;
	struct cut *cuts;
	size_t ncuts;
	struct hashed *hc;
	size_t nhc;
	unsigned checks, digests;
	uint32_t at32;
	time_t at;
	uint32_t ttl;
	time_t expires;
	enum sd_dnssec_fault fault;
	time_t fault_time;
	int untrusted;             /* the last RRset failed for want of a validated zone */
	const uint8_t *unsigned_at; /* the unsigned delegation (or opt-out next closer) a denial proved */
	int optout;
	char why[200];             /* the last failure */
	char link[200];            /* the first broken cut on the way down */
	char deny[200];            /* why the last denial record was not usable */
};

/* whyf - the failure and its kind */
static void __attribute__((format(printf, 3, 4)))
whyf(struct val *v, enum sd_dnssec_fault f, const char *fmt, ...)
{
	va_list ap;

	v->fault = f;
	va_start(ap, fmt);
	vsnprintf(v->why, sizeof(v->why), fmt, ap);
	va_end(ap);
}

/* owner_labels - labels of an owner name, a leading wildcard label not counted */
static unsigned owner_labels(const uint8_t *n)
{
	unsigned l = sd_name_labels(n);

	return l && n[0] == 1 && n[1] == '*' ? l - 1 : l;
}

/* NAME, TYPE - a name and a type as text, for reasons */
#define NAME(n, buf) sd_name_text((n), (buf), sizeof(buf))
#define TYPE(t, buf) sd_type_text((t), (buf), sizeof(buf))

/* serial_time - the time of an RRSIG field, the one nearest the validation time */
static time_t serial_time(const struct val *v, uint32_t t)
{
	return v->at + (int32_t)(t - v->at32);
}

/* timefmt - ISO 8601 form of a serial time */
static const char *timefmt(const struct val *v, uint32_t t, char *buf, size_t size)
{
	time_t abs = serial_time(v, t);
	struct tm tm;

	gmtime_r(&abs, &tm);
	strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return buf;
}

/* rrset - the query's records of (@owner, @type) into @set; how many */
static size_t rrset(const struct val *v, const uint8_t *owner, uint16_t type, const struct sd_rr **set)
{
	size_t k = 0;

	for (size_t i = 0; i < v->nq; i++)
		if (v->rr[i].type == type && sd_name_eq(v->rr[i].owner, owner))
			set[k++] = &v->rr[i];
	return k;
}

/* owner_of - the owner name, in the records, of (@owner, @type), or NULL */
static const uint8_t *owner_of(const struct val *v, const uint8_t *owner, uint16_t type)
{
	for (size_t i = 0; i < v->nq; i++)
		if (v->rr[i].type == type && sd_name_eq(v->rr[i].owner, owner))
			return v->rr[i].owner;
	return NULL;
}

/* has_rrset - whether the query holds records of (@owner, @type) */
static int has_rrset(const struct val *v, const uint8_t *owner, uint16_t type)
{
	return owner_of(v, owner, type) != NULL;
}

/* key_usable - a DNSKEY that may sign: zone key, protocol 3, not revoked (RFC 5011) */
static int key_usable(const struct sd_rr *k)
{
	uint16_t flags = sd_get16(k->rdata);

	return (flags & 0x0100) && !(flags & 0x0080) && k->rdata[2] == 3;
}

/* zone_trusted - whether the keys of @zone are validated */
static int zone_trusted(const struct val *v, const uint8_t *zone)
{
	for (size_t i = 0; i < v->n; i++)
		if (v->trusted[i] && sd_name_eq(v->rr[i].owner, zone))
			return 1;
	return 0;
}

/* check_sig - RRSIG @sig over @set with key rr[@ki]: 0, or 1 (the signature does
 * not verify) or 2 (anything else) with *why */
static int check_sig(struct val *v, const struct sd_rr *sig, const struct sd_rr **set, size_t k,
		     size_t ki, const char **why)
{
	const struct sd_rr *key = &v->rr[ki];
	size_t dlen, sl = sd_name_len(sig->rdata + 18, sig->rdlen - 18u, NULL);
	uint8_t *data;

	if (++v->checks > SD_DNSSEC_MAX_SIG_CHECKS)
		return *why = "too many signatures to check (more than 64)", 2;
	if (!v->pk[ki] && !(v->pk[ki] = sd_dnssec_pkey(key->rdata[3], key->rdata + 4, key->rdlen - 4u, why)))
		return 2;
	if (!(data = sd_rr_signed_data(sig, set, k, &dlen)))
		return *why = "out of memory", 2;
	*why = sd_dnssec_verify_pkey(sig->rdata[2], v->pk[ki], data, dlen, sig->rdata + 18 + sl,
				     sig->rdlen - 18 - sl);
	free(data);
	return *why ? 1 : 0;
}

/*
 * verify_rrset - validate the RRset (@owner, @type) of the query with an
 * RRSIG by @zone and a key of @zone that @keys allows (NULL: the trusted
 * keys). 0 with *labels the labels field of the RRSIG that verified, its
 * TTL and expiry recorded; -1 with v->why naming the RRset.
 */
static int verify_rrset(struct val *v, const uint8_t *owner, uint16_t type, const uint8_t *zone,
			const uint8_t *keys, unsigned *labels)
{
	const struct sd_rr **set = malloc(v->nq * sizeof(*set));
	const char *last = "no RRSIG covers it";
	enum sd_dnssec_fault f = SD_DNSSEC_FAULT_OTHER;
	unsigned ol = owner_labels(owner), fails = 0;
	char buf[200], ot[256], zt[256], tt[16];
	uint32_t ttl = UINT32_MAX;
	time_t ft = 0;
	size_t k;
	int ok = -1;

	if (!set) {
		whyf(v, SD_DNSSEC_FAULT_OTHER, "out of memory");
		return -1;
	}
	if (!keys)
		keys = v->trusted;
	v->untrusted = 0;
	k = rrset(v, owner, type, set);
	for (size_t i = 0; i < k; i++)
		if (set[i]->ttl < ttl)
			ttl = set[i]->ttl;
	for (size_t i = 0; i < v->nq && ok && k && fails < SD_DNSSEC_MAX_SIG_FAILS; i++) {
		const struct sd_rr *sig = &v->rr[i];
		const uint8_t *signer = sig->rdata + 18;
		uint32_t inception, expiration;
		uint16_t tag;
		int have_key = 0;

		if (sig->type != SD_T_RRSIG || sd_get16(sig->rdata) != type || !sd_name_eq(sig->owner, owner))
			continue;
		tag = sd_get16(sig->rdata + 16);
		inception = sd_get32(sig->rdata + 12);
		expiration = sd_get32(sig->rdata + 8);
		/*
		 * Which RRSIGs may validate the RRset:
		 *  - labels field above the owner's labels (a leading "*" not
		 *    counted): malformed;
		 *  - signer other than @zone, the zone holding the RRset (RFC 4035
		 *    §5.3.1): refused, and when the signer is a zone below @zone
		 *    that was not validated, that is the reason given;
		 *  - algorithm not supported: not usable (another RRSIG may be);
		 *  - now outside [inception, expiration] in serial arithmetic;
		 *  - key: a DNSKEY of the signer allowed by @keys with the same
		 *    algorithm and key tag, zone flag set, protocol 3, not revoked;
		 *    keys sharing a tag are each tried, within the failure bounds.
		 */
		if (sig->rdata[3] > ol) {
			last = "RRSIG labels field exceeds the owner's labels";
			continue;
		}
		if (!sd_name_eq(signer, zone)) {
			if (sd_name_under(owner, signer) && sd_name_under(signer, zone) && !zone_trusted(v, signer)) {
				v->untrusted = 1;
				snprintf(buf, sizeof(buf), "no validated DNSKEY of %s with key tag %u, "
					 "algorithm %u", NAME(signer, zt), tag, sig->rdata[2]);
			} else {
				snprintf(buf, sizeof(buf), "RRSIG signer %s is not the zone of the owner (%s)",
					 NAME(signer, zt), NAME(zone, ot));
			}
			last = buf;
			f = SD_DNSSEC_FAULT_OTHER;
			continue;
		}
		if (!sd_dnssec_alg_supported(sig->rdata[2])) {
			snprintf(buf, sizeof(buf), "RRSIG algorithm %u not supported", sig->rdata[2]);
			last = buf;
			continue;
		}
		if ((int32_t)(v->at32 - inception) < 0 || (int32_t)(expiration - v->at32) < 0) {
			int early = (int32_t)(v->at32 - inception) < 0;
			char tb[32];

			snprintf(buf, sizeof(buf), early ? "RRSIG not valid before %s" : "RRSIG expired %s",
				 timefmt(v, early ? inception : expiration, tb, sizeof(tb)));
			last = buf;
			f = SD_DNSSEC_FAULT_TIME;
			ft = serial_time(v, early ? inception : expiration);
			continue;
		}
		for (size_t j = 0; j < v->n && ok && fails < SD_DNSSEC_MAX_SIG_FAILS; j++) {
			const struct sd_rr *key = &v->rr[j];
			const char *w;
			int r;

			if (!keys[j] || key->type != SD_T_DNSKEY || !sd_name_eq(key->owner, signer) ||
			    key->rdata[3] != sig->rdata[2] || sd_dnssec_key_tag(key->rdata, key->rdlen) != tag ||
			    !key_usable(key))
				continue;
			have_key = 1;
			if (!(r = check_sig(v, sig, set, k, j, &w))) {
				time_t exp = serial_time(v, expiration);
				uint32_t ottl = sd_get32(sig->rdata + 4);

				*labels = sig->rdata[3];
				if (ottl < ttl)
					ttl = ottl;
				if (ttl < v->ttl)
					v->ttl = ttl;
				if (!v->expires || exp < v->expires)
					v->expires = exp;
				ok = 0;
				break;
			}
			fails++;
			f = r == 1 ? SD_DNSSEC_FAULT_SIGNATURE : SD_DNSSEC_FAULT_OTHER;
			snprintf(buf, sizeof(buf), "%s (key tag %u)", w, tag);
			last = buf;
			if (v->checks > SD_DNSSEC_MAX_SIG_CHECKS)
				fails = SD_DNSSEC_MAX_SIG_FAILS;
		}
		if (!have_key) {
			snprintf(buf, sizeof(buf), "no validated DNSKEY of %s with key tag %u, algorithm %u",
				 NAME(signer, zt), tag, sig->rdata[2]);
			last = buf;
			f = SD_DNSSEC_FAULT_OTHER;
		}
	}
	if (ok && fails >= SD_DNSSEC_MAX_SIG_FAILS && v->checks <= SD_DNSSEC_MAX_SIG_CHECKS)
		last = "too many signatures that do not verify (more than 8)";
	if (ok) {
		if (k == 0)
			last = "missing";
		whyf(v, f, "%s %s: %s", NAME(owner, ot), TYPE(type, tt), last);
		v->fault_time = ft;
	}
	free(set);
	return ok;
}

/* ds_matches - whether DS RDATA @ds (supported digest) names DNSKEY @key */
static int ds_matches(struct val *v, const struct sd_rr *ds, const struct sd_rr *key)
{
	uint8_t buf[255 + 4096], md[64];
	size_t o, mdlen;

	if (key->rdlen > 4096 || ds->rdata[2] != key->rdata[3] ||
	    sd_get16(ds->rdata) != sd_dnssec_key_tag(key->rdata, key->rdlen) || ++v->digests > 4 * SD_DNSSEC_MAX_SIG_CHECKS)
		return 0;
	o = sd_name_len(key->owner, 255, NULL);
	for (size_t i = 0; i < o; i++)
		buf[i] = key->owner[i] >= 'A' && key->owner[i] <= 'Z' ? (uint8_t)(key->owner[i] + 32) : key->owner[i];
	memcpy(buf + o, key->rdata, key->rdlen);
	o += key->rdlen;
	if (sd_dnssec_digest(ds->rdata[3], buf, o, md, &mdlen))
		return 0;
	return ds->rdlen == 4 + mdlen && memcmp(ds->rdata + 4, md, mdlen) == 0;
}

/* ds_supported - a DS (or anchor DNSKEY) whose algorithm and digest we can use */
static int ds_supported(const struct sd_rr *ds)
{
	if (ds->type == SD_T_DNSKEY)
		return sd_dnssec_alg_supported(ds->rdata[3]);
	return sd_dnssec_alg_supported(ds->rdata[2]) && sd_dnssec_digest(ds->rdata[3], NULL, 0, NULL, NULL) == 0;
}

/*
 * trust_keys - validate the DNSKEY RRset of @zone with the keys that @ds
 * names (supported DS records of the parent or the anchor, or anchor
 * DNSKEYs); its keys are then trusted. 0, or -1 with v->why.
 */
static int trust_keys(struct val *v, const uint8_t *zone, const struct sd_rr *const *ds, size_t nds)
{
	uint8_t *cand = calloc(v->n, 1);
	int any = 0, keys = 0, r = -1;
	unsigned labels;
	char zt[256];

	if (!cand) {
		whyf(v, SD_DNSSEC_FAULT_OTHER, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < v->nq; i++) {
		const struct sd_rr *key = &v->rr[i];

		if (key->type != SD_T_DNSKEY || !sd_name_eq(key->owner, zone))
			continue;
		keys = 1;
		for (size_t j = 0; j < nds && !cand[i]; j++)
			cand[i] = ds[j]->type == SD_T_DNSKEY ?
				  ds[j]->rdlen == key->rdlen && !memcmp(ds[j]->rdata, key->rdata, key->rdlen) :
				  ds_matches(v, ds[j], key);
		any |= cand[i];
	}
	if (!any)
		whyf(v, SD_DNSSEC_FAULT_OTHER, "%s DNSKEY: %s", NAME(zone, zt), !keys ? "missing" :
		     "no DNSKEY in the chain matches the DS (or trust anchor)");
	else if (verify_rrset(v, zone, SD_T_DNSKEY, zone, cand, &labels) == 0)
		r = 0;
	free(cand);
	if (r)
		return -1;
	for (size_t i = 0; i < v->nq; i++)
		if (v->rr[i].type == SD_T_DNSKEY && sd_name_eq(v->rr[i].owner, zone))
			v->trusted[i] = 1;
	return 0;
}

/* trust_anchor - the anchor's zone: its DNSKEY RRset validated with the
 * anchor, or the anchor's DNSKEYs themselves when the records hold none */
static int trust_anchor(struct val *v)
{
	const struct sd_rr **ds = malloc((v->q->nanchor ? v->q->nanchor : 1) * sizeof(*ds));
	size_t nds = 0;
	int r = -1;

	if (!ds) {
		whyf(v, SD_DNSSEC_FAULT_OTHER, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < v->q->nanchor; i++)
		if (ds_supported(&v->q->anchor[i]))
			ds[nds++] = &v->q->anchor[i];
	if (!nds) {
		whyf(v, SD_DNSSEC_FAULT_OTHER, "the trust anchor has no supported algorithm and digest type");
	} else if (has_rrset(v, v->anchor_zone, SD_T_DNSKEY)) {
		r = trust_keys(v, v->anchor_zone, ds, nds);
	} else {
		int any = 0;
		char zt[256];

		for (size_t i = v->nq; i < v->n; i++)
			any |= v->trusted[i] = (uint8_t)key_usable(&v->rr[i]);
		if (any)
			r = 0;
		else
			whyf(v, SD_DNSSEC_FAULT_OTHER, v->n > v->nq ? "%s DNSKEY: no usable key in the trust "
			     "anchor (revoked, or not a zone key)" : "%s DNSKEY: missing", NAME(v->anchor_zone, zt));
	}
	free(ds);
	return r;
}

/*
 * cut_at - the zone cut at @child (the records hold a DS RRset there) under
 * the trusted zone @parent, decided once. The cases:
 *  - the DS RRset does not verify with a key of @parent (or was expanded from
 *    a wildcard): the link is broken;
 *  - none of its records has a supported algorithm and digest type: the
 *    child zone is insecure (RFC 4035 §5.2, RFC 6840 §5.2);
 *  - else the child's DNSKEY RRset must verify with a key that a supported
 *    DS names, and the child is trusted.
 */
static struct cut *cut_at(struct val *v, const uint8_t *child, const uint8_t *parent)
{
	const struct sd_rr **ds;
	struct cut *c;
	size_t k, nds = 0;
	unsigned labels;
	char ct[256];

	for (size_t i = 0; i < v->ncuts; i++)
		if (sd_name_eq(v->cuts[i].name, child))
			return &v->cuts[i];
	c = &v->cuts[v->ncuts++];
	c->name = child;
	c->state = CUT_FAILED;
	if (!(ds = malloc(v->nq * sizeof(*ds)))) {
		snprintf(c->why, sizeof(c->why), "out of memory");
		return c;
	}
	if (verify_rrset(v, child, SD_T_DS, parent, NULL, &labels) == 0) {
		k = rrset(v, child, SD_T_DS, ds);
		for (size_t i = 0; i < k; i++)
			if (ds_supported(ds[i]))
				ds[nds++] = ds[i];
		if (labels < owner_labels(child)) {
			whyf(v, SD_DNSSEC_FAULT_OTHER, "%s DS: expanded from a wildcard", NAME(child, ct));
		} else if (!nds) {
			c->state = CUT_INSECURE;
			snprintf(c->why, sizeof(c->why), "%s is an insecure zone: its DS RRset lists no "
				 "supported algorithm and digest type", NAME(child, ct));
		} else if (trust_keys(v, child, ds, nds) == 0) {
			c->state = CUT_TRUSTED;
		}
	}
	if (c->state == CUT_FAILED)
		memcpy(c->why, v->why, sizeof(c->why));
	free(ds);
	return c;
}

/*
 * trust_path - from the anchor zone down to @name: every ancestor of @name
 * (or @name) where the records hold a DS RRset is a zone cut, decided under
 * the deepest zone trusted so far. Returns that deepest trusted zone, a name
 * of the records or the anchor (NULL: @name is not under the anchor);
 * *insecure is the cut proven insecure on the way, if any; v->link keeps
 * the first broken cut.
 */
static const uint8_t *trust_path(struct val *v, const uint8_t *name, const struct cut **insecure)
{
	unsigned nl = sd_name_labels(name), al = sd_name_labels(v->anchor_zone);
	const uint8_t *zone = v->anchor_zone;

	*insecure = NULL;
	if (!sd_name_under(name, v->anchor_zone))
		return NULL;
	for (unsigned k = al + 1; k <= nl; k++) {
		/* the DS record's own owner: @name may be rewritten later (DNAME) */
		const uint8_t *c = owner_of(v, sd_name_skip(name, nl - k), SD_T_DS);
		const struct cut *cut;

		if (!c)
			continue;
		cut = cut_at(v, c, zone);
		if (cut->state == CUT_TRUSTED) {
			zone = c;
		} else if (cut->state == CUT_INSECURE) {
			*insecure = cut;
			break;
		} else {
			if (!v->link[0])
				memcpy(v->link, cut->why, sizeof(v->link));
			break;
		}
	}
	return zone;
}

/* denial_valid - whether NSEC/NSEC3 rr[@i] verifies with an RRSIG by @zone,
 * not expanded from a wildcard (decided once per zone) */
static int denial_valid(struct val *v, size_t i, const uint8_t *zone)
{
	unsigned labels;
	char keep[200];
	enum sd_dnssec_fault f = v->fault;

	if (v->valid[i] && sd_name_eq(v->vzone[i], zone))
		return v->valid[i] > 0;
	memcpy(keep, v->why, sizeof(keep));
	v->vzone[i] = zone;
	v->valid[i] = verify_rrset(v, v->rr[i].owner, v->rr[i].type, zone, NULL, &labels) == 0 &&
		      labels == owner_labels(v->rr[i].owner) ? 1 : -1;
	if (v->valid[i] < 0)
		memcpy(v->deny, v->why, sizeof(v->deny));
	memcpy(v->why, keep, sizeof(keep));
	v->fault = f;
	return v->valid[i] > 0;
}

/* common_ancestor - the longest common suffix (ancestor) of two names */
static const uint8_t *common_ancestor(const uint8_t *a, const uint8_t *b)
{
	unsigned na = sd_name_labels(a), nb = sd_name_labels(b), k = na < nb ? na : nb;

	while (k && !sd_name_eq(sd_name_skip(a, na - k), sd_name_skip(b, nb - k)))
		k--;
	return sd_name_skip(a, na - k);
}

/* wildcard_at - "*." + @ce into @out (257 octets); 0 or -1 if over 255 octets */
static int wildcard_at(const uint8_t *ce, uint8_t *out)
{
	size_t cl = sd_name_len(ce, 255, NULL);

	if (cl + 2 > 255)
		return -1;
	out[0] = 1;
	out[1] = '*';
	memcpy(out + 2, ce, cl);
	return 0;
}

/* NSEC */

/* nsec_bitmap - the type bitmap of an NSEC */
static const uint8_t *nsec_bitmap(const struct sd_rr *n, size_t *len)
{
	size_t nl = sd_name_len(n->rdata, n->rdlen, NULL);

	*len = n->rdlen - nl;
	return n->rdata + nl;
}

/* nsec_has - whether NSEC @n lists @type */
static int nsec_has(const struct sd_rr *n, uint16_t type)
{
	size_t len;
	const uint8_t *bm = nsec_bitmap(n, &len);

	return sd_bitmap_has(bm, len, type);
}

/* nsec_usable - NSEC rr[@i] of @zone: owner and next name in @zone, validated */
static int nsec_usable(struct val *v, size_t i, const uint8_t *zone)
{
	const struct sd_rr *n = &v->rr[i];

	return n->type == SD_T_NSEC && sd_name_under(n->owner, zone) && sd_name_under(n->rdata, zone) &&
	       denial_valid(v, i, zone);
}

/* nsec_covers - owner < @name < next; the last NSEC of the zone (next: the
 * apex) covers every name after its owner */
static int nsec_covers(const struct sd_rr *n, const uint8_t *name, const uint8_t *zone)
{
	if (sd_name_cmp(n->owner, name) >= 0)
		return 0;
	if (sd_name_cmp(n->owner, n->rdata) >= 0)
		return sd_name_eq(n->rdata, zone);
	return sd_name_cmp(name, n->rdata) < 0;
}

/* nsec_ce - the closest encloser an NSEC covering @name implies: the deeper
 * of @name's common ancestors with the NSEC's owner and next name */
static const uint8_t *nsec_ce(const struct sd_rr *n, const uint8_t *name)
{
	const uint8_t *a = common_ancestor(name, n->owner), *b = common_ancestor(name, n->rdata);

	return sd_name_labels(a) >= sd_name_labels(b) ? a : b;
}

/* nsec_find - index of a usable NSEC of @zone owned by (@cover 0) or
 * covering (@cover 1) @name, or -1 */
static long nsec_find(struct val *v, const uint8_t *name, const uint8_t *zone, int cover)
{
	for (size_t i = 0; i < v->nq; i++) {
		const struct sd_rr *n = &v->rr[i];

		if (n->type != SD_T_NSEC || (cover ? !nsec_covers(n, name, zone) : !sd_name_eq(n->owner, name)))
			continue;
		if (nsec_usable(v, i, zone))
			return (long)i;
	}
	return -1;
}

/*
 * deny_nsec - what the NSEC records of @zone prove for (@name, @type)
 * (RFC 4035 §5.4, RFC 6840 §4.1):
 *  - an NSEC at @name or one of its ancestors below the apex with NS and no
 *    SOA is a delegation: without DS the name is in an unsigned zone
 *    (INSECURE), with DS nothing below it is provable here; a DNAME at a
 *    proper ancestor proves nothing below it either;
 *  - an NSEC at @name listing neither @type nor CNAME: NODATA;
 *  - an NSEC covering @name whose next name is below @name: an empty
 *    non-terminal, NODATA;
 *  - an NSEC covering @name, and at the closest encloser it implies an NSEC
 *    covering the wildcard (NXDOMAIN) or at the wildcard listing neither
 *    @type nor CNAME (NODATA from the wildcard);
 *  - anything else proves nothing.
 */
static enum proof deny_nsec(struct val *v, const uint8_t *name, uint16_t type, const uint8_t *zone)
{
	unsigned nl = sd_name_labels(name), zl = sd_name_labels(zone);
	uint8_t wild[257];
	long c, w;

	for (unsigned k = zl + 1; k <= nl; k++) {
		const uint8_t *a = sd_name_skip(name, nl - k);
		const struct sd_rr *n;

		if ((c = nsec_find(v, a, zone, 0)) < 0)
			continue;
		n = &v->rr[c];
		if (nsec_has(n, SD_T_NS) && !nsec_has(n, SD_T_SOA)) {
			v->unsigned_at = a;
			v->optout = 0;
			return nsec_has(n, SD_T_DS) ? PROOF_NONE : PROOF_INSECURE;
		}
		if (k < nl && nsec_has(n, SD_T_DNAME))
			return PROOF_NONE;
	}
	if ((c = nsec_find(v, name, zone, 0)) >= 0)
		return nsec_has(&v->rr[c], type) || nsec_has(&v->rr[c], SD_T_CNAME) ? PROOF_NONE : PROOF_NODATA;
	if ((c = nsec_find(v, name, zone, 1)) < 0)
		return PROOF_NONE;
	if (sd_name_under(v->rr[c].rdata, name))
		return PROOF_NODATA;
	if (wildcard_at(nsec_ce(&v->rr[c], name), wild))
		return PROOF_NONE;
	if ((w = nsec_find(v, wild, zone, 0)) >= 0)
		return nsec_has(&v->rr[w], type) || nsec_has(&v->rr[w], SD_T_CNAME) ? PROOF_NONE : PROOF_NODATA;
	return nsec_find(v, wild, zone, 1) >= 0 ? PROOF_NXDOMAIN : PROOF_NONE;
}

/* NSEC3 */

/* b32hex_decode - 32 base32hex characters (RFC 4648 §7) into 20 octets; 0 or -1 */
static int b32hex_decode(const uint8_t *s, uint8_t out[20])
{
	uint64_t acc = 0;
	int bits = 0;
	size_t o = 0;

	for (int i = 0; i < 32; i++) {
		uint8_t c = s[i] >= 'a' && s[i] <= 'z' ? (uint8_t)(s[i] - 32) : s[i];
		int d = c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'V' ? c - 'A' + 10 : -1;

		if (d < 0)
			return -1;
		acc = acc << 5 | (uint64_t)d;
		bits += 5;
		if (bits >= 8) {
			out[o++] = (uint8_t)(acc >> (bits - 8));
			bits -= 8;
		}
	}
	return 0;
}

/* One NSEC3 record decoded. */
struct n3 {
	const struct sd_rr *rr;
	uint8_t owner[20];
	const uint8_t *next;     /* 20 octets */
	const uint8_t *bitmap;
	size_t bmlen;
	int optout;
};

/*
 * n3_usable - NSEC3 rr[@i] of @zone decoded into @d, if usable (RFC 5155
 * §8.1-8.2, RFC 9276): owner a 32-character hash label right below the
 * apex, hash SHA-1, flags 0 or 1 (opt-out), a 20-octet next hash, at most
 * SD_DNSSEC_MAX_ITERATIONS iterations, validated with an RRSIG by @zone.
 */
static int n3_usable(struct val *v, size_t i, const uint8_t *zone, struct n3 *d)
{
	const struct sd_rr *r = &v->rr[i];
	const uint8_t *rd = r->rdata;
	size_t sl, hl;
	char ot[256];

	if (r->type != SD_T_NSEC3 || r->owner[0] != 32 || sd_name_labels(r->owner) != sd_name_labels(zone) + 1 ||
	    !sd_name_eq(sd_name_skip(r->owner, 1), zone) || b32hex_decode(r->owner + 1, d->owner))
		return 0;
	sl = rd[4];
	hl = rd[5 + sl];
	if (rd[0] != 1 || rd[1] > 1 || hl != 20)
		return 0;
	if (sd_get16(rd + 2) > SD_DNSSEC_MAX_ITERATIONS) {
		snprintf(v->deny, sizeof(v->deny), "%s NSEC3: %u iterations, more than %u",
			 NAME(r->owner, ot), sd_get16(rd + 2), SD_DNSSEC_MAX_ITERATIONS);
		return 0;
	}
	if (!denial_valid(v, i, zone))
		return 0;
	d->rr = r;
	d->optout = rd[1] & 1;
	d->next = rd + 6 + sl;
	d->bitmap = d->next + 20;
	d->bmlen = r->rdlen - 6 - sl - 20;
	return 1;
}

/* n3_hash - the hash of @name with the parameters of NSEC3 @d (cached,
 * within the bound); 0 or -1 */
static int n3_hash(struct val *v, const struct n3 *d, const uint8_t *name, uint8_t out[20])
{
	const uint8_t *salt = d->rr->rdata + 4;
	uint16_t it = sd_get16(d->rr->rdata + 2);
	struct hashed *h;

	for (size_t i = 0; i < v->nhc; i++) {
		h = &v->hc[i];
		if (h->iterations == it && h->salt[0] == salt[0] && !memcmp(h->salt + 1, salt + 1, salt[0]) &&
		    sd_name_eq(h->name, name)) {
			memcpy(out, h->h, 20);
			return 0;
		}
	}
	if (v->nhc == SD_DNSSEC_MAX_HASHES) {
		snprintf(v->deny, sizeof(v->deny), "too many NSEC3 hashes to compute (more than %u)",
			 SD_DNSSEC_MAX_HASHES);
		return -1;
	}
	h = &v->hc[v->nhc];
	if (sd_dnssec_nsec3_hash(name, salt + 1, salt[0], it, h->h))
		return -1;
	h->name = name;
	h->salt = salt;
	h->iterations = it;
	v->nhc++;
	memcpy(out, h->h, 20);
	return 0;
}

/* n3_find - a usable NSEC3 of @zone matching (@cover 0) or covering
 * (@cover 1) the hash of @name into *d; 0 or -1 */
static int n3_find(struct val *v, const uint8_t *name, const uint8_t *zone, int cover, struct n3 *d)
{
	for (size_t i = 0; i < v->nq; i++) {
		uint8_t h[20];
		int lo, hi;

		if (v->rr[i].type != SD_T_NSEC3 || !n3_usable(v, i, zone, d) || n3_hash(v, d, name, h))
			continue;
		lo = memcmp(d->owner, h, 20);
		hi = memcmp(h, d->next, 20);
		if (!cover ? lo == 0 :
		    memcmp(d->owner, d->next, 20) < 0 ? lo < 0 && hi < 0 : lo < 0 || hi < 0)
			return 0;
	}
	return -1;
}

/* n3_has - whether NSEC3 @d lists @type */
static int n3_has(const struct n3 *d, uint16_t type)
{
	return sd_bitmap_has(d->bitmap, d->bmlen, type);
}

/*
 * deny_nsec3 - what the NSEC3 records of @zone prove for (@name, @type)
 * (RFC 5155 §8):
 *  - a record matching @name: NODATA if it lists neither @type nor CNAME;
 *    at a delegation (NS, no SOA) INSECURE without DS, nothing with DS;
 *  - else the closest encloser proof (§8.3): the closest ancestor with a
 *    matching record (a delegation there: INSECURE without DS, nothing with
 *    DS; a DNAME: nothing), and a record covering the next closer name:
 *      - that record has opt-out: INSECURE (an unsigned delegation may
 *        hold the name, §6);
 *      - a record covering the wildcard at the closest encloser: NXDOMAIN
 *        (§8.4), or matching it without @type or CNAME: NODATA (§8.7);
 *  - anything else proves nothing.
 */
static enum proof deny_nsec3(struct val *v, const uint8_t *name, uint16_t type, const uint8_t *zone)
{
	unsigned nl = sd_name_labels(name), zl = sd_name_labels(zone);
	uint8_t wild[257];
	struct n3 d;

	v->optout = 0;
	if (n3_find(v, name, zone, 0, &d) == 0) {
		v->unsigned_at = name;
		if (n3_has(&d, SD_T_NS) && !n3_has(&d, SD_T_SOA))
			return n3_has(&d, SD_T_DS) ? PROOF_NONE : PROOF_INSECURE;
		return n3_has(&d, type) || n3_has(&d, SD_T_CNAME) ? PROOF_NONE : PROOF_NODATA;
	}
	for (unsigned k = nl; k-- > zl;) {
		const uint8_t *ce = sd_name_skip(name, nl - k), *nc = sd_name_skip(name, nl - k - 1);

		if (n3_find(v, ce, zone, 0, &d))
			continue;
		v->unsigned_at = ce;
		if (n3_has(&d, SD_T_NS) && !n3_has(&d, SD_T_SOA))
			return n3_has(&d, SD_T_DS) ? PROOF_NONE : PROOF_INSECURE;
		if (n3_has(&d, SD_T_DNAME) || n3_find(v, nc, zone, 1, &d))
			return PROOF_NONE;
		if (d.optout) {
			v->unsigned_at = nc;
			v->optout = 1;
			return PROOF_INSECURE;
		}
		if (wildcard_at(ce, wild))
			return PROOF_NONE;
		if (n3_find(v, wild, zone, 0, &d) == 0)
			return n3_has(&d, type) || n3_has(&d, SD_T_CNAME) ? PROOF_NONE : PROOF_NODATA;
		return n3_find(v, wild, zone, 1, &d) == 0 ? PROOF_NXDOMAIN : PROOF_NONE;
	}
	return PROOF_NONE;
}

/* deny - NSEC first, then NSEC3 */
static enum proof deny(struct val *v, const uint8_t *name, uint16_t type, const uint8_t *zone)
{
	enum proof p = deny_nsec(v, name, type, zone);

	return p != PROOF_NONE ? p : deny_nsec3(v, name, type, zone);
}

/*
 * wild_proof - an RRset at @name expanded from the wildcard at its
 * @labels rightmost labels (within @zone) needs proof that no closer match
 * exists (RFC 4035 §5.3.4, RFC 5155 §8.8):
 *  - a usable NSEC covering @name whose implied closest encloser is the
 *    wildcard's parent: 0;
 *  - a usable NSEC3 covering the next closer name: 0, but 1 when it is an
 *    opt-out span, which may hide an unsigned delegation holding the name
 *    (the answer is then insecure, as an NXDOMAIN would be);
 *  - else -1 with v->why.
 */
static int wild_proof(struct val *v, const uint8_t *name, uint16_t type, unsigned labels,
		      const uint8_t *zone)
{
	unsigned nl = sd_name_labels(name);
	const uint8_t *ce = sd_name_skip(name, nl - labels), *nc = sd_name_skip(name, nl - labels - 1);
	char nt[256], tt[16];
	struct n3 d;
	long c;

	if (labels >= sd_name_labels(zone)) {
		c = nsec_find(v, name, zone, 1);
		if (c >= 0 && sd_name_eq(nsec_ce(&v->rr[c], name), ce))
			return 0;
		if (n3_find(v, nc, zone, 1, &d) == 0) {
			v->optout = d.optout;
			v->unsigned_at = nc;
			return d.optout;
		}
	}
	whyf(v, SD_DNSSEC_FAULT_OTHER, "%s %s: wildcard expansion without proof that the name does "
	     "not exist%s%s", NAME(name, nt), TYPE(type, tt), v->deny[0] ? ": " : "", v->deny);
	return -1;
}

/* answer - the RRset (@name, @type) of @zone, a wildcard expansion with its
 * proof: 0, 1 (insecure: opt-out), -1 with v->why */
static int answer(struct val *v, const uint8_t *name, uint16_t type, const uint8_t *zone)
{
	unsigned labels;

	if (verify_rrset(v, name, type, zone, NULL, &labels))
		return -1;
	return labels < owner_labels(name) ? wild_proof(v, name, type, labels, zone) : 0;
}

/* dname_at - the highest proper ancestor of @name within @zone holding a DNAME, or NULL */
static const uint8_t *dname_at(const struct val *v, const uint8_t *name, const uint8_t *zone)
{
	unsigned nl = sd_name_labels(name), zl = sd_name_labels(zone);

	for (unsigned k = zl; k < nl; k++)
		if (has_rrset(v, sd_name_skip(name, nl - k), SD_T_DNAME))
			return sd_name_skip(name, nl - k);
	return NULL;
}

/* substitute - @name with its suffix @owner replaced by @target into @out
 * (RFC 6672 §2.2); 0 or -1 when the result exceeds 255 octets */
static int substitute(const uint8_t *name, const uint8_t *owner, const uint8_t *target, uint8_t *out)
{
	size_t head = (size_t)(owner - name), tl = sd_name_len(target, 255, NULL);
	uint8_t tmp[256];

	if (head + tl > 255)
		return -1;
	memcpy(tmp, name, head);
	memcpy(tmp + head, target, tl);
	memcpy(out, tmp, head + tl);
	return 0;
}

/* target_of - the target name of the (single) alias record at (@owner, @type) */
static const uint8_t *target_of(const struct val *v, const uint8_t *owner, uint16_t type)
{
	for (size_t i = 0; i < v->nq; i++)
		if (v->rr[i].type == type && sd_name_eq(v->rr[i].owner, owner))
			return v->rr[i].rdata;
	return NULL;
}

/* insecure - INSECURE, naming the unsigned delegation a denial proved */
static void insecure(struct val *v, struct sd_dnssec_result *r, const uint8_t *name)
{
	char nt[256], dt[256];

	r->status = SD_DNSSEC_INSECURE;
	if (v->optout)
		snprintf(r->why, sizeof(r->why), "%s: an NSEC3 opt-out span covers %s, where an unsigned "
			 "delegation may hold it", NAME(name, nt), NAME(v->unsigned_at, dt));
	else
		snprintf(r->why, sizeof(r->why), "%s is in an unsigned zone: the delegation %s has no DS",
			 NAME(name, nt), NAME(v->unsigned_at, dt));
}

/* failed - the RRset or alias at @name does not validate: BOGUS with its
 * reason (the broken link above, if the signer's zone could not be
 * validated), unless a denial proves an unsigned delegation above it */
static void failed(struct val *v, struct sd_dnssec_result *r, const uint8_t *name, uint16_t qtype,
		   const uint8_t *zone)
{
	char keep[sizeof(v->why)];
	enum sd_dnssec_fault f = v->fault;
	time_t ft = v->fault_time;

	if (v->untrusted && v->link[0])
		memcpy(v->why, v->link, sizeof(v->why));
	memcpy(keep, v->why, sizeof(keep));
	if (deny(v, name, qtype, zone) == PROOF_INSECURE) {
		insecure(v, r, name);
		return;
	}
	memcpy(v->why, keep, sizeof(keep));
	v->fault = f;
	v->fault_time = ft;
}

/*
 * resolve - from the name asked, hop by hop, under the name's deepest
 * trusted zone each time; the cases, first that applies:
 *  - not under the anchor: BOGUS; a cut proven insecure above it: INSECURE;
 *  - a DNAME at a proper ancestor within the zone: validated, then followed;
 *  - the RRset asked for: validated (a wildcard expansion with its proof):
 *    SECURE, or INSECURE when that proof is an NSEC3 opt-out span;
 *  - a CNAME: validated, then followed (at most SD_DNSSEC_MAX_ALIASES
 *    steps); its expansion from an opt-out wildcard: INSECURE;
 *  - else a denial: NODATA or NXDOMAIN (SECURE), or an unsigned delegation
 *    (INSECURE), or BOGUS;
 *  - an RRset or alias present that does not validate is BOGUS, never a
 *    denial; INSECURE only when an unsigned delegation above it is proven.
 */
static void resolve(struct val *v, struct sd_dnssec_result *r)
{
	const uint16_t qtype = v->q->qtype;
	uint8_t *target = r->name;
	char nt[256], tt[256];

	memcpy(target, v->q->qname, sd_name_len(v->q->qname, 255, NULL));
	for (int hop = 0;; hop++) {
		const struct cut *ins;
		const uint8_t *zone = trust_path(v, target, &ins), *d, *to;
		unsigned labels;
		enum proof p;
		int a;

		if (!zone) {
			whyf(v, SD_DNSSEC_FAULT_OTHER, "%s is not under the trust anchor %s", NAME(target, nt),
			     NAME(v->anchor_zone, tt));
			return;
		}
		if (ins) {
			r->status = SD_DNSSEC_INSECURE;
			snprintf(r->why, sizeof(r->why), "%s", ins->why);
			return;
		}
		if ((d = dname_at(v, target, zone))) {
			/* a validated DNAME, not expanded from a wildcard, replaces the suffix */
			if (hop == SD_DNSSEC_MAX_ALIASES) {
				whyf(v, SD_DNSSEC_FAULT_OTHER, "more than %d aliases", SD_DNSSEC_MAX_ALIASES);
			} else if (verify_rrset(v, d, SD_T_DNAME, zone, NULL, &labels)) {
				failed(v, r, target, qtype, zone);
			} else if (labels < owner_labels(d)) {
				whyf(v, SD_DNSSEC_FAULT_OTHER, "%s DNAME: expanded from a wildcard", NAME(d, nt));
			} else if (substitute(target, d, target_of(v, d, SD_T_DNAME), target)) {
				whyf(v, SD_DNSSEC_FAULT_OTHER, "%s: DNAME substitution longer than 255 octets",
				     NAME(target, nt));
			} else {
				continue;
			}
			return;
		}
		if (has_rrset(v, target, qtype)) {
			if ((a = answer(v, target, qtype, zone)) < 0)
				failed(v, r, target, qtype, zone);
			else if (a > 0)
				insecure(v, r, target);
			else
				r->status = SD_DNSSEC_SECURE;
			return;
		}
		if (qtype != SD_T_CNAME && (to = target_of(v, target, SD_T_CNAME))) {
			if (hop == SD_DNSSEC_MAX_ALIASES) {
				whyf(v, SD_DNSSEC_FAULT_OTHER, "more than %d aliases", SD_DNSSEC_MAX_ALIASES);
				return;
			}
			if ((a = answer(v, target, SD_T_CNAME, zone))) {
				if (a < 0)
					failed(v, r, target, qtype, zone);
				else
					insecure(v, r, target);
				return;
			}
			memcpy(target, to, sd_name_len(to, 255, NULL));
			continue;
		}
		p = deny(v, target, qtype, zone);
		if (p == PROOF_NODATA || p == PROOF_NXDOMAIN) {
			r->status = SD_DNSSEC_SECURE;
			r->answer = p == PROOF_NODATA ? SD_DNSSEC_NODATA : SD_DNSSEC_NXDOMAIN;
		} else if (p == PROOF_INSECURE) {
			insecure(v, r, target);
		} else {
			whyf(v, SD_DNSSEC_FAULT_OTHER, "%s: no %s RRset and no valid denial%s%s",
			     NAME(target, nt), TYPE(qtype, tt), v->link[0] || v->deny[0] ? ": " : "",
			     v->link[0] ? v->link : v->deny);
		}
		return;
	}
}

/* sd_dnssec_validate - what the records prove about (qname, qtype) */
int sd_dnssec_validate(const struct sd_dnssec_query *q, struct sd_dnssec_result *r)
{
	struct val v = { .q = q };
	int err = 0;

	if (!q || !r || !q->qname || !q->nanchor || !q->anchor || (q->n && !q->rr) ||
	    !sd_name_len(q->qname, 255, NULL))
		return EINVAL;
	for (size_t i = 1; i < q->nanchor; i++)
		if (!sd_name_eq(q->anchor[i].owner, q->anchor[0].owner))
			return EINVAL;
	memset(r, 0, sizeof(*r));
	if (q->n > SD_DNSSEC_MAX_RRS) {
		snprintf(r->why, sizeof(r->why), "more than %d records", SD_DNSSEC_MAX_RRS);
		r->fault = SD_DNSSEC_FAULT_OTHER;
		return 0;
	}
	v.anchor_zone = q->anchor[0].owner;
	v.at = q->at;
	v.at32 = (uint32_t)q->at;
	v.ttl = UINT32_MAX;
	v.nq = q->n;
	v.n = q->n + q->nanchor;
	v.rr = malloc(v.n * sizeof(*v.rr));
	v.trusted = calloc(v.n, 1);
	v.valid = calloc(v.n, 1);
	v.vzone = calloc(v.n, sizeof(*v.vzone));
	v.pk = calloc(v.n, sizeof(*v.pk));
	v.cuts = calloc(q->n + 1, sizeof(*v.cuts));
	v.hc = calloc(SD_DNSSEC_MAX_HASHES, sizeof(*v.hc));
	if (!v.rr || !v.trusted || !v.valid || !v.vzone || !v.pk || !v.cuts || !v.hc) {
		err = ENOMEM;
		goto out;
	}
	if (q->n)
		memcpy(v.rr, q->rr, q->n * sizeof(*v.rr));
	v.n = q->n;
	for (size_t i = 0; i < q->nanchor; i++)
		if (q->anchor[i].type == SD_T_DNSKEY && q->anchor[i].rdlen >= 5)
			v.rr[v.n++] = q->anchor[i];
	if (trust_anchor(&v) == 0)
		resolve(&v, r);
	if (r->status == SD_DNSSEC_BOGUS) {
		r->fault = v.fault ? v.fault : SD_DNSSEC_FAULT_OTHER;
		r->fault_time = v.fault_time;
		snprintf(r->why, sizeof(r->why), "%s", v.why[0] ? v.why : "not validated");
	} else {
		r->ttl = v.ttl;
		r->expires = v.expires;
	}
out:
	for (size_t i = 0; v.pk && i < v.n; i++)
		EVP_PKEY_free(v.pk[i]);
	free(v.pk);
	free(v.rr);
	free(v.trusted);
	free(v.valid);
	free(v.vzone);
	free(v.cuts);
	free(v.hc);
	return err;
}

/* sd_dnssec_validate_wire - sd_dnssec_validate over separate wire RRs */
int sd_dnssec_validate_wire(const struct sd_wire *rrs, size_t n, const struct sd_wire *keys,
			    size_t nkeys, const char *owner, uint16_t type, time_t now,
			    struct sd_dnssec_result *r)
{
	struct sd_dnssec_query q = { .qtype = type, .at = now };
	struct sd_rr *rr = NULL, *kr = NULL;
	uint8_t name[256], *buf = NULL, *kbuf = NULL;
	size_t len = 0, klen = 0, nr = 0, nk = 0, at;
	const char *why = NULL;
	int err = 0;

	if (!r || (n && !rrs) || (nkeys && !keys) || !owner || sd_name_from_text(owner, name, sizeof(name), &why))
		return EINVAL;
	memset(r, 0, sizeof(*r));
	for (size_t i = 0; i < n; i++)
		len += rrs[i].len;
	for (size_t i = 0; i < nkeys; i++)
		klen += keys[i].len;
	if (!(buf = malloc(len ? len : 1)) || !(kbuf = malloc(klen ? klen : 1))) {
		err = ENOMEM;
		goto out;
	}
	len = klen = 0;
	for (size_t i = 0; i < n; i++) {
		memcpy(buf + len, rrs[i].p, rrs[i].len);
		len += rrs[i].len;
	}
	for (size_t i = 0; i < nkeys; i++) {
		memcpy(kbuf + klen, keys[i].p, keys[i].len);
		klen += keys[i].len;
	}
	if ((err = sd_rr_parse(buf, len, SD_DNSSEC_MAX_RRS, &rr, &nr, &at, &why)) ||
	    (err = sd_rr_parse(kbuf, klen, SD_DNSSEC_MAX_RRS, &kr, &nk, &at, &why))) {
		if (err == ENOMEM)
			goto out;
		err = 0;
		r->fault = SD_DNSSEC_FAULT_OTHER;
		snprintf(r->why, sizeof(r->why), "malformed record: %s", why);
		goto out;
	}
	for (size_t i = 0; i < nk; i++)
		if (kr[i].type == SD_T_DNSKEY)
			kr[q.nanchor++] = kr[i];
	if (!q.nanchor) {
		r->fault = SD_DNSSEC_FAULT_OTHER;
		snprintf(r->why, sizeof(r->why), "no DNSKEY of the signer");
		goto out;
	}
	q.rr = rr;
	q.n = nr;
	q.anchor = kr;
	q.qname = name;
	err = sd_dnssec_validate(&q, r);
	if (err == EINVAL) {
		err = 0;
		r->fault = SD_DNSSEC_FAULT_OTHER;
		snprintf(r->why, sizeof(r->why), "DNSKEY records of more than one zone");
	}
out:
	free(rr);
	free(kr);
	free(buf);
	free(kbuf);
	return err;
}
