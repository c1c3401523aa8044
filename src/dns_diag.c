/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * dns_diag.c - replies judged and explained: a getdns response checked and
 * reduced to status and rcode, TTLs, and for BOGUS answers the reason a
 * person can act on (an expired RRSIG with its date, a DS matching no key, a
 * signature that does not verify), found with the library's own validator.
 */
#include "config.h"
#include "dns_int.h"

static int sig_rejected(getdns_list *answer, getdns_list *chain, char *why, size_t size);

/* dns_status_of - our status for a getdns dnssec_status */
enum sipdance_dns_status dns_status_of(uint32_t s)
{
	switch (s) {
	case GETDNS_DNSSEC_SECURE:
		return SIPDANCE_DNS_SECURE;
	case GETDNS_DNSSEC_BOGUS:
		return SIPDANCE_DNS_BOGUS;
	case GETDNS_DNSSEC_INSECURE:
		return SIPDANCE_DNS_INSECURE;
	default:
		return SIPDANCE_DNS_INDETERMINATE;
	}
}

/* dns_worse - the weaker of two statuses: BOGUS, then INDETERMINATE, INSECURE, SECURE */
enum sipdance_dns_status dns_worse(enum sipdance_dns_status a, enum sipdance_dns_status b)
{
	static const int rank[] = {
		[SIPDANCE_DNS_SECURE] = 0, [SIPDANCE_DNS_INSECURE] = 1,
		[SIPDANCE_DNS_INDETERMINATE] = 2, [SIPDANCE_DNS_BOGUS] = 3,
	};

	return rank[a] >= rank[b] ? a : b;
}

/*
 * dns_parse_reply - check a completed getdns response; 0 with @r filled, or an
 * errno with @why saying why there is no usable reply (INDETERMINATE).
 * Cases:
 *  - callback TIMEOUT, or status ALL_TIMEOUT: "timeout after N ms"
 *  - callback ERROR, no replies_tree entry: "no reply from RESOLVER"
 *  - rcode other than NOERROR/NXDOMAIN: "SERVFAIL from RESOLVER", ...
 *  - validated query without dnssec_status: never taken as insecure
 */
int dns_parse_reply(struct sipdance_dns *dns, getdns_callback_type_t type,
		       getdns_dict *resp, int validated, struct reply *r,
		       char *why, size_t size)
{
	getdns_dict *hdr;
	getdns_list *tree;
	uint32_t status = 0, ds;

	memset(r, 0, sizeof(*r));
	if (type == GETDNS_CALLBACK_TIMEOUT ||
	    (resp && !getdns_dict_get_int(resp, "status", &status) &&
	     status == GETDNS_RESPSTATUS_ALL_TIMEOUT)) {
		snprintf(why, size, "timeout after %u ms", dns->timeout_ms);
		return ETIMEDOUT;
	}
	if (type != GETDNS_CALLBACK_COMPLETE || !resp ||
	    getdns_dict_get_list(resp, "replies_tree", &tree) ||
	    getdns_list_get_dict(tree, 0, &r->tree) ||
	    getdns_dict_get_dict(r->tree, "header", &hdr) ||
	    getdns_dict_get_int(hdr, "rcode", &r->rcode)) {
		snprintf(why, size, "no reply from %s", dns->resolver);
		return EIO;
	}
	if (r->rcode != GETDNS_RCODE_NOERROR && r->rcode != GETDNS_RCODE_NXDOMAIN) {
		static const char *const names[] = { "NOERROR", "FORMERR", "SERVFAIL",
						     "NXDOMAIN", "NOTIMP", "REFUSED" };

		if (r->rcode < sizeof(names) / sizeof(names[0]))
			snprintf(why, size, "%s from %s", names[r->rcode], dns->resolver);
		else
			snprintf(why, size, "rcode %u from %s", r->rcode, dns->resolver);
		return EIO;
	}
	if (getdns_dict_get_list(r->tree, "answer", &r->answer)) {
		snprintf(why, size, "malformed reply from %s", dns->resolver);
		return EBADMSG;
	}
	if (!validated)
		return 0;
	if (getdns_dict_get_int(r->tree, "dnssec_status", &ds)) {
		snprintf(why, size, "no DNSSEC status for the reply");
		return EIO;
	}
	r->status = dns_status_of(ds);
	if (r->status == SIPDANCE_DNS_INDETERMINATE)
		snprintf(why, size, "DNSSEC status indeterminate");
	return 0;
}

/* dns_chain_end - follow the CNAMEs of an answer section from @name (in place); hops in *hops */
void dns_chain_end(getdns_list *answer, char *name, int *hops)
{
	char owner[NAMELEN], target[NAMELEN];
	getdns_dict *rr, *rd;
	size_t n = 0;
	int moved = 1;

	getdns_list_get_length(answer, &n);
	for (*hops = 0; moved && *hops <= MAX_HOPS;) {
		moved = 0;
		for (size_t i = 0; i < n; i++) {
			if (getdns_list_get_dict(answer, i, &rr) || dns_rr_type(rr) != GETDNS_RRTYPE_CNAME ||
			    dns_rr_name(rr, "name", owner, sizeof(owner)) || strcmp(owner, name) ||
			    getdns_dict_get_dict(rr, "rdata", &rd) ||
			    dns_rr_name(rd, "cname", target, sizeof(target)))
				continue;
			strcpy(name, target);
			++*hops;
			moved = 1;
			break;
		}
	}
}

/* dns_min_ttl - least TTL of the records of an answer section, or @ttl */
uint32_t dns_min_ttl(getdns_list *answer, uint32_t ttl)
{
	getdns_dict *rr;
	uint32_t t;

	for (size_t i = 0; !getdns_list_get_dict(answer, i, &rr); i++)
		if (!getdns_dict_get_int(rr, "ttl", &t) && t < ttl)
			ttl = t;
	return ttl;
}

/* dns_neg_ttl - negative-caching TTL of a reply (RFC 2308 §5: SOA TTL and minimum), or @ttl */
uint32_t dns_neg_ttl(getdns_dict *tree, uint32_t ttl)
{
	getdns_list *auth;
	getdns_dict *rr, *rd;
	uint32_t t, min;

	if (getdns_dict_get_list(tree, "authority", &auth))
		return ttl;
	for (size_t i = 0; !getdns_list_get_dict(auth, i, &rr); i++) {
		if (dns_rr_type(rr) != GETDNS_RRTYPE_SOA || getdns_dict_get_int(rr, "ttl", &t) ||
		    getdns_dict_get_dict(rr, "rdata", &rd) || getdns_dict_get_int(rd, "minimum", &min))
			continue;
		return t < min ? t : min;
	}
	return ttl;
}

/* dns_date - YYYY-MM-DD of a DNSSEC time */
void dns_date(uint32_t t, char *buf, size_t size)
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(buf, size, "%Y-%m-%d", &tm);
}

/* ds_unmatched - whether the DS RRset of @zone in @rrs names no DNSKEY of @zone there */
static int ds_unmatched(getdns_list *rrs, const char *zone)
{
	char owner[NAMELEN];
	getdns_dict *rr, *rd, *key, *krd;
	getdns_bindata *raw;
	uint32_t tag, alg, kalg;
	int ds = 0;

	for (size_t i = 0; !getdns_list_get_dict(rrs, i, &rr); i++) {
		if (dns_rr_type(rr) != GETDNS_RRTYPE_DS || dns_rr_name(rr, "name", owner, sizeof(owner)) ||
		    strcmp(owner, zone) || getdns_dict_get_dict(rr, "rdata", &rd) ||
		    getdns_dict_get_int(rd, "key_tag", &tag) || getdns_dict_get_int(rd, "algorithm", &alg))
			continue;
		ds = 1;
		for (size_t j = 0; !getdns_list_get_dict(rrs, j, &key); j++)
			if (dns_rr_type(key) == GETDNS_RRTYPE_DNSKEY &&
			    !dns_rr_name(key, "name", owner, sizeof(owner)) && !strcmp(owner, zone) &&
			    !getdns_dict_get_dict(key, "rdata", &krd) &&
			    !getdns_dict_get_bindata(krd, "rdata_raw", &raw) &&
			    !getdns_dict_get_int(krd, "algorithm", &kalg) &&
			    sd_dnssec_key_tag(raw->data, raw->size) == tag && kalg == alg)
				return 0;
	}
	return ds;
}

/* dns_rrsig_times - why from RRSIG validity in @rrs, if any is outside its period now */
int dns_rrsig_times(getdns_list *rrs, char *why, size_t size)
{
	char owner[NAMELEN], day[16];
	getdns_dict *rr, *rd;
	uint32_t exp, inc, now = (uint32_t)time(NULL);

	for (size_t i = 0; !getdns_list_get_dict(rrs, i, &rr); i++) {
		if (dns_rr_type(rr) != GETDNS_RRTYPE_RRSIG || getdns_dict_get_dict(rr, "rdata", &rd) ||
		    getdns_dict_get_int(rd, "signature_expiration", &exp) ||
		    getdns_dict_get_int(rd, "signature_inception", &inc) ||
		    dns_rr_name(rr, "name", owner, sizeof(owner)))
			continue;
		if ((int32_t)(now - exp) > 0) {
			dns_date(exp, day, sizeof(day));
			snprintf(why, size, "RRSIG of %.150s expired %s", owner, day);
			return 1;
		}
		if ((int32_t)(inc - now) > 0) {
			dns_date(inc, day, sizeof(day));
			snprintf(why, size, "RRSIG of %.150s not valid before %s", owner, day);
			return 1;
		}
	}
	return 0;
}

/*
 * dns_diagnose - say what makes a BOGUS reply bogus, claiming only what the
 * records show. Cases, first that applies:
 *  - an RRSIG of the answer or the chain is outside its validity period
 *  - a zone's DS RRset names no key tag/algorithm of its DNSKEY RRset
 *  - an RRSIG of the answer fails to verify with its signer's DNSKEYs
 *  - the answer holds records but no RRSIG
 *  - otherwise "DNSSEC validation failed"
 */
void dns_diagnose(getdns_dict *resp, const struct reply *r, char *why, size_t size)
{
	getdns_list *chain = NULL, *auth = NULL;
	getdns_dict *rr;
	char owner[NAMELEN];
	int sigs = 0;
	size_t n = 0;

	getdns_dict_get_list(resp, "validation_chain", &chain);
	getdns_dict_get_list(r->tree, "authority", &auth);
	if (dns_rrsig_times(r->answer, why, size) || (auth && dns_rrsig_times(auth, why, size)) ||
	    (chain && dns_rrsig_times(chain, why, size)))
		return;
	for (size_t i = 0; chain && !getdns_list_get_dict(chain, i, &rr); i++) {
		if (dns_rr_type(rr) == GETDNS_RRTYPE_DS && !dns_rr_name(rr, "name", owner, sizeof(owner)) &&
		    ds_unmatched(chain, owner)) {
			snprintf(why, size, "no DNSKEY of %.150s matches its DS", owner);
			return;
		}
	}
	if (chain && sig_rejected(r->answer, chain, why, size))
		return;
	getdns_list_get_length(r->answer, &n);
	for (size_t i = 0; !getdns_list_get_dict(r->answer, i, &rr); i++)
		sigs += dns_rr_type(rr) == GETDNS_RRTYPE_RRSIG;
	if (n && !sigs)
		snprintf(why, size, "answer is not signed");
	else
		snprintf(why, size, "DNSSEC validation failed");
}

/* dns_wires_add - append the wire form of @rr */
int dns_wires_add(struct wires *ws, const getdns_dict *rr)
{
	uint8_t *p = NULL;
	size_t len = 0;

	if (ws->n == ws->cap) {
		size_t cap = ws->cap ? 2 * ws->cap : 4;
		struct sd_wire *w = realloc(ws->w, cap * sizeof(*w));

		if (!w)
			return ENOMEM;
		ws->w = w;
		ws->cap = cap;
	}
	if (getdns_rr_dict2wire(rr, &p, &len))
		return EBADMSG;
	ws->w[ws->n++] = (struct sd_wire){ p, len };
	return 0;
}

/* dns_wires_free - free the wire forms and the list */
void dns_wires_free(struct wires *ws)
{
	for (size_t i = 0; i < ws->n; i++)
		free((void *)ws->w[i].p);
	free(ws->w);
}

/* sig_rejected - whether an RRSIG of @answer is refused by its signer's DNSKEYs in @chain */
static int sig_rejected(getdns_list *answer, getdns_list *chain, char *why, size_t size)
{
	char owner[NAMELEN], signer[NAMELEN], name[NAMELEN];
	getdns_dict *sig, *rd, *rr;
	uint32_t covered;
	int rejected = 0;

	for (size_t i = 0; !rejected && !getdns_list_get_dict(answer, i, &sig); i++) {
		struct wires rrs = { 0 }, keys = { 0 };
		struct sd_dnssec_result res;
		int err = 0;

		if (dns_rr_type(sig) != GETDNS_RRTYPE_RRSIG || dns_rr_name(sig, "name", owner, sizeof(owner)) ||
		    getdns_dict_get_dict(sig, "rdata", &rd) ||
		    getdns_dict_get_int(rd, "type_covered", &covered) ||
		    dns_rr_name(rd, "signers_name", signer, sizeof(signer)))
			continue;
		for (size_t j = 0; !err && !getdns_list_get_dict(answer, j, &rr); j++)
			if (dns_rr_type(rr) == covered && !dns_rr_name(rr, "name", name, sizeof(name)) &&
			    !strcmp(name, owner))
				err = dns_wires_add(&rrs, rr);
		for (size_t j = 0; !err && !getdns_list_get_dict(chain, j, &rr); j++)
			if (dns_rr_type(rr) == GETDNS_RRTYPE_DNSKEY &&
			    !dns_rr_name(rr, "name", name, sizeof(name)) && !strcmp(name, signer))
				err = dns_wires_add(&keys, rr);
		if (!err && rrs.n && keys.n && !dns_wires_add(&rrs, sig) &&
		    !sd_dnssec_validate_wire(rrs.w, rrs.n, keys.w, keys.n, owner, (uint16_t)covered,
					     time(NULL), &res) &&
		    res.fault == SD_DNSSEC_FAULT_SIGNATURE) {
			snprintf(why, size, "RRSIG of %.150s does not verify with the DNSKEY of %.150s",
				 owner, signer);
			rejected = 1;
		}
		dns_wires_free(&rrs);
		dns_wires_free(&keys);
	}
	return rejected;
}
