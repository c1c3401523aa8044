/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * dns_cache.c - the DNS layer's data: names in presentation form, records
 * decoded from getdns, immutable reference-counted answers, and the cache of
 * answers for their TTL under an LRU bound; the answer accessors and the test
 * hooks that fill the cache by hand.
 */
#include "config.h"
#include "dns_int.h"

/* dns_mono_ms - the monotonic clock in milliseconds */
uint64_t dns_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* dns_default_clock - the cache clock unless a test replaces it */
uint64_t dns_default_clock(void *arg)
{
	(void)arg;
	return dns_mono_ms();
}

/* dns_norm_name - lowercase presentation name without trailing dot; EINVAL if malformed */
int dns_norm_name(const char *in, char *out, size_t size)
{
	size_t len = in ? strlen(in) : 0, label = 0;

	if (len && in[len - 1] == '.')
		len--;
	if (len == 0 || len > 253 || len >= size)
		return EINVAL;
	for (size_t i = 0; i < len; i++) {
		char c = in[i];

		if (c == '.') {
			if (label == 0)
				return EINVAL;
			label = 0;
		} else if (++label > 63) {
			return EINVAL;
		}
		out[i] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
	}
	if (label == 0)
		return EINVAL;
	out[len] = '\0';
	return 0;
}

/* wire_name - wire-format name as lowercase text, escaping '.', '\\' and unprintables */
static int wire_name(const getdns_bindata *b, char *out, size_t size)
{
	size_t i = 0, o = 0;

	if (!b || !b->size)
		return EBADMSG;
	while (i < b->size && b->data[i]) {
		size_t l = b->data[i++];

		if (l > 63 || i + l > b->size)
			return EBADMSG;
		if (o && o < size)
			out[o++] = '.';
		for (; l; l--, i++) {
			uint8_t c = b->data[i];

			if (c >= 'A' && c <= 'Z')
				c = (uint8_t)(c - 'A' + 'a');
			if (o + 5 >= size)
				return EBADMSG;
			if (c == '.' || c == '\\' || c <= ' ' || c >= 127)
				o += (size_t)snprintf(out + o, size - o, "\\%03u", c);
			else
				out[o++] = (char)c;
		}
	}
	if (i >= b->size || o >= size)
		return EBADMSG;
	if (o == 0)
		out[o++] = '.';
	out[o] = '\0';
	return 0;
}

/* dns_rr_name - owner name of an rr_dict as text */
int dns_rr_name(const getdns_dict *rr, const char *key, char *out, size_t size)
{
	getdns_bindata *b;

	if (getdns_dict_get_bindata(rr, key, &b))
		return EBADMSG;
	return wire_name(b, out, size);
}

/* dns_rr_type - type of an rr_dict, 0 if absent */
uint32_t dns_rr_type(const getdns_dict *rr)
{
	uint32_t t = 0;

	getdns_dict_get_int(rr, "type", &t);
	return t;
}

/* copy_string - character-string rdata field into a C string; EBADMSG if it does not fit */
static int copy_string(const getdns_dict *rd, const char *key, char *out, size_t size)
{
	getdns_bindata *b;

	if (getdns_dict_get_bindata(rd, key, &b) || b->size >= size ||
	    (b->size && memchr(b->data, '\0', b->size)))
		return EBADMSG;
	if (b->size)
		memcpy(out, b->data, b->size);
	out[b->size] = '\0';
	return 0;
}

/* get_u16 - integer rdata field that must fit 16 bits */
static int get_u16(const getdns_dict *rd, const char *key, uint16_t *out)
{
	uint32_t v;

	if (getdns_dict_get_int(rd, key, &v) || v > 0xffff)
		return EBADMSG;
	*out = (uint16_t)v;
	return 0;
}

/* sd_dns_rr_decode - one rr_dict of a supported type; TLSA data stays borrowed from it */
int sd_dns_rr_decode(const struct getdns_dict *rr, struct sipdance_dns_rr *out)
{
	getdns_dict *rd;
	getdns_bindata *b;
	uint32_t ttl = 0, u;
	int err = 0;

	memset(out, 0, sizeof(*out));
	out->type = (uint16_t)dns_rr_type(rr);
	if (getdns_dict_get_int(rr, "ttl", &ttl) || getdns_dict_get_dict(rr, "rdata", &rd))
		return EBADMSG;
	out->ttl = ttl;
	switch (out->type) {
	case SIPDANCE_DNS_NAPTR:
		if (get_u16(rd, "order", &out->u.naptr.order) ||
		    get_u16(rd, "preference", &out->u.naptr.pref) ||
		    copy_string(rd, "flags", out->u.naptr.flags, sizeof(out->u.naptr.flags)) ||
		    copy_string(rd, "service", out->u.naptr.services, sizeof(out->u.naptr.services)) ||
		    copy_string(rd, "regexp", out->u.naptr.regexp, sizeof(out->u.naptr.regexp)) ||
		    dns_rr_name(rd, "replacement", out->u.naptr.replacement, sizeof(out->u.naptr.replacement)))
			err = EBADMSG;
		break;
	case SIPDANCE_DNS_SRV:
		if (get_u16(rd, "priority", &out->u.srv.prio) ||
		    get_u16(rd, "weight", &out->u.srv.weight) ||
		    get_u16(rd, "port", &out->u.srv.port) ||
		    dns_rr_name(rd, "target", out->u.srv.target, sizeof(out->u.srv.target)))
			err = EBADMSG;
		break;
	case SIPDANCE_DNS_A:
	case SIPDANCE_DNS_AAAA:
		out->u.addr.family = out->type == SIPDANCE_DNS_A ? AF_INET : AF_INET6;
		if (getdns_dict_get_bindata(rd, out->type == SIPDANCE_DNS_A ? "ipv4_address"
					    : "ipv6_address", &b) ||
		    b->size != (out->type == SIPDANCE_DNS_A ? 4u : 16u))
			return EBADMSG;
		memcpy(out->u.addr.addr, b->data, b->size);
		break;
	case SIPDANCE_DNS_TLSA:
		if (getdns_dict_get_int(rd, "certificate_usage", &u) || u > 255)
			return EBADMSG;
		out->u.tlsa.usage = (uint8_t)u;
		if (getdns_dict_get_int(rd, "selector", &u) || u > 255)
			return EBADMSG;
		out->u.tlsa.selector = (uint8_t)u;
		if (getdns_dict_get_int(rd, "matching_type", &u) || u > 255)
			return EBADMSG;
		out->u.tlsa.mtype = (uint8_t)u;
		if (getdns_dict_get_bindata(rd, "certificate_association_data", &b) ||
		    b->size > SIPDANCE_TLSA_MAX_DATA)
			return EBADMSG;
		out->u.tlsa.len = (uint16_t)b->size;
		out->u.tlsa.data = b->data;
		break;
	case SIPDANCE_DNS_CNAME:
		if (dns_rr_name(rd, "cname", out->u.cname.target, sizeof(out->u.cname.target)))
			err = EBADMSG;
		break;
	default:
		return EINVAL;
	}
	return err;
}

/* dns_draft_add - append a decoded record (TLSA data still borrowed) */
int dns_draft_add(struct draft *d, const struct sipdance_dns_rr *rr)
{
	if (d->n == d->cap) {
		size_t cap = d->cap ? 2 * d->cap : 8;
		struct sipdance_dns_rr *p = realloc(d->rr, cap * sizeof(*p));

		if (!p)
			return ENOMEM;
		d->rr = p;
		d->cap = cap;
	}
	d->rr[d->n++] = *rr;
	return 0;
}

/* dns_body_new - one allocation holding the names, why, records and TLSA data */
struct body *dns_body_new(const char *qname, const struct draft *d)
{
	size_t ql = strlen(qname) + 1, cl = strlen(d->cname) + 1, wl = strlen(d->why) + 1;
	size_t data = 0, size;
	struct body *b;
	char *p;

	for (size_t i = 0; i < d->n; i++)
		if (d->rr[i].type == SIPDANCE_DNS_TLSA)
			data += d->rr[i].u.tlsa.len;
	size = sizeof(*b) + d->n * sizeof(*b->rr) + data + ql + cl + wl;
	if (!(b = calloc(1, size)))
		return NULL;
	b->refs = 1;
	b->status = d->status;
	b->rcode = d->rcode;
	b->n = d->n;
	b->rr = (struct sipdance_dns_rr *)(b + 1);
	p = (char *)(b->rr + d->n);
	for (size_t i = 0; i < d->n; i++) {
		b->rr[i] = d->rr[i];
		if (d->rr[i].type == SIPDANCE_DNS_TLSA && d->rr[i].u.tlsa.len) {
			memcpy(p, d->rr[i].u.tlsa.data, d->rr[i].u.tlsa.len);
			b->rr[i].u.tlsa.data = (const uint8_t *)p;
			p += d->rr[i].u.tlsa.len;
		}
	}
	b->qname = memcpy(p, qname, ql);
	b->cname = memcpy(p + ql, d->cname, cl);
	b->why = memcpy(p + ql + cl, d->why, wl);
	return b;
}

/* dns_body_unref - drop a reference to a body */
void dns_body_unref(struct body *b)
{
	if (b && --b->refs == 0)
		free(b);
}

/* dns_answer_new - an answer handed to callers, on a body */
struct sipdance_dns_answer *dns_answer_new(struct body *b, int cached)
{
	struct sipdance_dns_answer *a = malloc(sizeof(*a));

	if (!a)
		return NULL;
	a->refs = 1;
	a->cached = cached;
	a->b = b;
	b->refs++;
	return a;
}

/* hash - FNV-1a of a key */
static size_t hash(const char *name, uint16_t type)
{
	uint64_t h = 14695981039346656037ULL ^ type;

	for (; *name; name++)
		h = (h ^ (uint8_t)*name) * 1099511628211ULL;
	return (size_t)h;
}

/* slot - the hash chain link that points at name/type, or at the chain's end */
static struct entry **slot(struct sipdance_dns *dns, const char *name, uint16_t type)
{
	struct entry **pp = &dns->bucket[hash(name, type) & (dns->nbuckets - 1)];

	while (*pp && ((*pp)->type != type || strcmp((*pp)->name, name)))
		pp = &(*pp)->hnext;
	return pp;
}

/* entry_drop - unlink and free the entry *pp points at */
static void entry_drop(struct sipdance_dns *dns, struct entry **pp)
{
	struct entry *e = *pp;

	*pp = e->hnext;
	TAILQ_REMOVE(&dns->lru, e, lru);
	dns_body_unref(e->b);
	free(e);
	dns->count--;
}

/* dns_cache_get - live body for name/type (moved to the LRU head), or NULL; drops an expired one */
struct body *dns_cache_get(struct sipdance_dns *dns, const char *name, uint16_t type)
{
	struct entry **pp = slot(dns, name, type), *e = *pp;

	if (!e)
		return NULL;
	if (e->expires <= dns->clock(dns->clock_arg)) {
		entry_drop(dns, pp);
		return NULL;
	}
	TAILQ_REMOVE(&dns->lru, e, lru);
	TAILQ_INSERT_HEAD(&dns->lru, e, lru);
	return e->b;
}

/*
 * dns_cache_put - keep @b under name/type for @ttl seconds, capped at max_ttl,
 * or at neg_ttl for a failure (BOGUS, INDETERMINATE); evicts the least
 * recently used entry past cache_size
 */
void dns_cache_put(struct sipdance_dns *dns, const char *name, uint16_t type,
		      struct body *b, uint32_t ttl)
{
	struct entry **pp = slot(dns, name, type), *e;
	size_t len = strlen(name) + 1;

	if (ttl > dns->max_ttl)
		ttl = dns->max_ttl;
	if ((b->status == SIPDANCE_DNS_BOGUS || b->status == SIPDANCE_DNS_INDETERMINATE) &&
	    ttl > dns->neg_ttl)
		ttl = dns->neg_ttl;
	if (ttl == 0)
		return;
	if (*pp)
		entry_drop(dns, pp);
	if (!(e = malloc(sizeof(*e) + len)))
		return;
	memcpy(e->name, name, len);
	e->type = type;
	e->expires = dns->clock(dns->clock_arg) + (uint64_t)ttl * 1000;
	e->b = b;
	b->refs++;
	e->hnext = NULL;
	*slot(dns, name, type) = e;
	TAILQ_INSERT_HEAD(&dns->lru, e, lru);
	if (++dns->count > dns->cache_size) {
		struct entry *old = TAILQ_LAST(&dns->lru, entry_lru);

		entry_drop(dns, slot(dns, old->name, old->type));
	}
}

/* sipdance_dns_flush - forget every cached answer */
void sipdance_dns_flush(struct sipdance_dns *dns)
{
	if (!dns)
		return;
	while (!TAILQ_EMPTY(&dns->lru)) {
		struct entry *e = TAILQ_FIRST(&dns->lru);

		entry_drop(dns, slot(dns, e->name, e->type));
	}
}

/* Answer accessors */

/* sipdance_dns_answer_ref - take a reference */
struct sipdance_dns_answer *sipdance_dns_answer_ref(const struct sipdance_dns_answer *a)
{
	struct sipdance_dns_answer *m = (struct sipdance_dns_answer *)a;

	if (m)
		m->refs++;
	return m;
}

/* sipdance_dns_answer_unref - drop a reference */
void sipdance_dns_answer_unref(struct sipdance_dns_answer *a)
{
	if (!a || --a->refs)
		return;
	dns_body_unref(a->b);
	free(a);
}

/* sipdance_dns_answer_status - DNSSEC status */
enum sipdance_dns_status sipdance_dns_answer_status(const struct sipdance_dns_answer *a)
{
	return a ? a->b->status : SIPDANCE_DNS_INDETERMINATE;
}

/* sipdance_dns_answer_rcode - what exists */
enum sipdance_dns_rcode sipdance_dns_answer_rcode(const struct sipdance_dns_answer *a)
{
	return a ? a->b->rcode : SIPDANCE_DNS_NONE;
}

/* sipdance_dns_answer_qname - the name asked for */
const char *sipdance_dns_answer_qname(const struct sipdance_dns_answer *a)
{
	return a ? a->b->qname : "";
}

/* sipdance_dns_answer_cname - the name the records are at */
const char *sipdance_dns_answer_cname(const struct sipdance_dns_answer *a)
{
	return a ? a->b->cname : "";
}

/* sipdance_dns_answer_why - reason of a failure, "" otherwise */
const char *sipdance_dns_answer_why(const struct sipdance_dns_answer *a)
{
	return a ? a->b->why : "";
}

/* sipdance_dns_answer_cached - whether the cache answered */
int sipdance_dns_answer_cached(const struct sipdance_dns_answer *a)
{
	return a ? a->cached : 0;
}

/* sipdance_dns_answer_count - number of records */
size_t sipdance_dns_answer_count(const struct sipdance_dns_answer *a)
{
	return a ? a->b->n : 0;
}

/* sipdance_dns_answer_rr - record @i */
const struct sipdance_dns_rr *sipdance_dns_answer_rr(const struct sipdance_dns_answer *a, size_t i)
{
	return a && i < a->b->n ? &a->b->rr[i] : NULL;
}

/* sipdance_dns_answer_tlsa - the TLSA records as an RRset */
int sipdance_dns_answer_tlsa(const struct sipdance_dns_answer *a, struct sipdance_tlsa_set **out)
{
	struct sipdance_tlsa_set *set;
	struct sipdance_tlsa *t;
	int err;

	if (!a || !out)
		return EINVAL;
	if ((err = sipdance_tlsa_set_alloc(&set)))
		return err;
	for (size_t i = 0; i < a->b->n; i++) {
		const struct sipdance_dns_rr *rr = &a->b->rr[i];

		if (rr->type != SIPDANCE_DNS_TLSA)
			continue;
		if ((err = sipdance_tlsa_alloc(&t, rr->u.tlsa.usage, rr->u.tlsa.selector,
					       rr->u.tlsa.mtype, rr->u.tlsa.data, rr->u.tlsa.len)) ||
		    (err = sipdance_tlsa_set_add(set, t))) {
			sipdance_tlsa_set_free(set);
			return err;
		}
	}
	*out = set;
	return 0;
}

/* sipdance_dns_status_str - printable status */
const char *sipdance_dns_status_str(enum sipdance_dns_status s)
{
	static const char *const names[] = {
		[SIPDANCE_DNS_INDETERMINATE] = "INDETERMINATE", [SIPDANCE_DNS_BOGUS] = "BOGUS",
		[SIPDANCE_DNS_INSECURE] = "INSECURE", [SIPDANCE_DNS_SECURE] = "SECURE",
	};

	return (unsigned)s < sizeof(names) / sizeof(names[0]) ? names[s] : "UNKNOWN";
}

/* sipdance_dns_rcode_str - printable rcode */
const char *sipdance_dns_rcode_str(enum sipdance_dns_rcode r)
{
	static const char *const names[] = {
		[SIPDANCE_DNS_NONE] = "NONE", [SIPDANCE_DNS_FOUND] = "FOUND",
		[SIPDANCE_DNS_NODATA] = "NODATA", [SIPDANCE_DNS_NXDOMAIN] = "NXDOMAIN",
	};

	return (unsigned)r < sizeof(names) / sizeof(names[0]) ? names[r] : "UNKNOWN";
}

/* Test hooks */

/* sd_dns_set_clock - replace the cache clock (ms) */
void sd_dns_set_clock(struct sipdance_dns *dns, uint64_t (*clock)(void *arg), void *arg)
{
	dns->clock = clock ? clock : dns_default_clock;
	dns->clock_arg = arg;
}

/* sd_dns_cache_add - cache a record-less answer as if it had come from upstream */
int sd_dns_cache_add(struct sipdance_dns *dns, const char *name, uint16_t type,
		     int status, int rcode, uint32_t ttl)
{
	struct draft d = { .status = (enum sipdance_dns_status)status,
			   .rcode = (enum sipdance_dns_rcode)rcode };
	char key[NAMELEN];
	struct body *b;

	if (dns_norm_name(name, key, sizeof(key)))
		return EINVAL;
	snprintf(d.cname, sizeof(d.cname), "%s", key);
	if (!(b = dns_body_new(key, &d)))
		return ENOMEM;
	dns_cache_put(dns, key, type, b, ttl);
	dns_body_unref(b);
	return 0;
}

/* sd_dns_cache_has - whether a live answer for name/type is cached (LRU order untouched) */
int sd_dns_cache_has(struct sipdance_dns *dns, const char *name, uint16_t type)
{
	char key[NAMELEN];
	struct entry *e;

	if (dns_norm_name(name, key, sizeof(key)))
		return 0;
	e = *slot(dns, key, type);
	return e && e->expires > dns->clock(dns->clock_arg);
}

/* sd_dns_cache_count - entries held, live or expired */
size_t sd_dns_cache_count(const struct sipdance_dns *dns)
{
	return dns->count;
}

/* NAPTR signatures, checked with sd_dnssec_validate_wire instead of by getdns */
