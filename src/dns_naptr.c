/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * dns_naptr.c - NAPTR without getdns' validator, which aborts the process on
 * a NAPTR RRset (getdns < 1.7.0, stubby#295): the reply is fetched with DO and
 * CD but unvalidated, the signer's DNSKEY RRset is fetched validated, and the
 * NAPTR RRset is checked with the library's DNSSEC validator. configure leaves
 * this file out once the baseline getdns validates NAPTR itself.
 */
#include "config.h"
#include "dns_int.h"

static int naptr_verify(getdns_dict *resp, const char *owner, const char *signer,
			getdns_list *keys, char *why, size_t size);

/* sig_signer - signer of the first RRSIG over @type at @owner in @answer, or "" */
static void sig_signer(getdns_list *answer, const char *owner, uint16_t type,
		       char *signer, size_t size)
{
	char name[NAMELEN];
	getdns_dict *rr, *rd;
	uint32_t covered;

	signer[0] = '\0';
	for (size_t i = 0; !getdns_list_get_dict(answer, i, &rr); i++)
		if (dns_rr_type(rr) == GETDNS_RRTYPE_RRSIG && !dns_rr_name(rr, "name", name, sizeof(name)) &&
		    !strcmp(name, owner) && !getdns_dict_get_dict(rr, "rdata", &rd) &&
		    !getdns_dict_get_int(rd, "type_covered", &covered) && covered == type &&
		    !dns_rr_name(rd, "signers_name", signer, size))
			return;
	signer[0] = '\0';
}

/* in_zone - whether @name is @zone or below it */
static int in_zone(const char *name, const char *zone)
{
	size_t n = strlen(name), z = strlen(zone);

	if (!strcmp(zone, "."))
		return 1;
	return n == z ? !strcmp(name, zone)
		: n > z && name[n - z - 1] == '.' && !strcmp(name + n - z, zone);
}

/* auth_signer - signer of the first RRSIG in the authority section of @tree, or "" */
static void auth_signer(getdns_dict *tree, char *signer, size_t size)
{
	getdns_list *auth;
	getdns_dict *rr, *rd;

	signer[0] = '\0';
	if (getdns_dict_get_list(tree, "authority", &auth))
		return;
	for (size_t i = 0; !getdns_list_get_dict(auth, i, &rr); i++)
		if (dns_rr_type(rr) == GETDNS_RRTYPE_RRSIG && !getdns_dict_get_dict(rr, "rdata", &rd) &&
		    !dns_rr_name(rd, "signers_name", signer, size))
			return;
	signer[0] = '\0';
}

/*
 * dns_raw_reply - the unvalidated NAPTR reply. getdns 1.6.0 aborts the process
 * when it validates a NAPTR RRset (stubby#295), so no reply holding NAPTRs
 * ever reaches its validator, and NAPTR is never asked for with validation.
 * Cases:
 *  - a CNAME at cur: check that hop validated, then go on at its target
 *  - NAPTRs at cur: keep the reply; fetch the validated DNSKEY RRset of
 *    their signer (of cur itself when unsigned, to learn whether the zone
 *    is signed), then validate the NAPTR RRset with sd_dnssec_validate_wire
 *  - none: keep the reply (a denial); fetch the validated DNSKEY RRset of
 *    the signer of its authority section (or of cur), then let getdns
 *    validate this very reply offline: asking again could bring NAPTRs
 *  - a signer that cur is not under: BOGUS
 */
int dns_raw_reply(struct flight *f, getdns_dict *resp, struct reply *r)
{
	char end[NAMELEN];
	struct draft d = { 0 };
	int hops = 0;

	snprintf(end, sizeof(end), "%s", f->cur);
	dns_chain_end(r->answer, end, &hops);
	if (hops) {
		f->step = STEP_CNAME;
		dns_send_step(f);
		return 0;
	}
	if (dns_collect(r->answer, f->cur, SIPDANCE_DNS_NAPTR, &d)) {
		free(d.rr);
		dns_fail_flight(f, SIPDANCE_DNS_INDETERMINATE, "out of memory");
		return 0;
	}
	free(d.rr);
	f->naptr_found = d.n > 0;
	if (f->naptr_found)
		sig_signer(r->answer, f->cur, SIPDANCE_DNS_NAPTR, f->signer, sizeof(f->signer));
	else
		auth_signer(r->tree, f->signer, sizeof(f->signer));
	f->naptr_signed = f->signer[0] != '\0';
	if (!f->naptr_signed) {
		snprintf(f->signer, sizeof(f->signer), "%s", f->cur);
	} else if (!in_zone(f->cur, f->signer)) {
		dns_fail_flight(f, SIPDANCE_DNS_BOGUS, "NAPTR answer signed by a zone it is not in");
		return 0;
	}
	getdns_dict_destroy(f->raw);
	f->raw = resp;
	f->step = STEP_KEYS;
	dns_send_step(f);
	return 1;
}

/* deny_reply - validate the kept NAPTR denial offline with the signer's keys and their chain */
static void deny_reply(struct flight *f, getdns_dict *resp, struct reply *r)
{
	struct draft d = { .status = SIPDANCE_DNS_INDETERMINATE };
	getdns_list *tree, *to = getdns_list_create(), *support = getdns_list_create(), *chain;
	getdns_dict *reply = NULL, *hdr, *rr;
	getdns_return_t v = GETDNS_RETURN_GENERIC_ERROR;
	uint32_t rcode = 0, ttl;
	size_t n = 0;

	if (to && support && !getdns_dict_get_list(f->raw, "replies_tree", &tree) &&
	    !getdns_list_get_dict(tree, 0, &reply) && !getdns_list_set_dict(to, 0, reply)) {
		for (size_t i = 0; !getdns_list_get_dict(r->answer, i, &rr); i++)
			getdns_list_set_dict(support, n++, rr);
		if (!getdns_dict_get_list(resp, "validation_chain", &chain))
			for (size_t i = 0; !getdns_list_get_dict(chain, i, &rr); i++)
				getdns_list_set_dict(support, n++, rr);
		v = getdns_validate_dnssec(to, support, sd_anchor_list(f->dns->ta));
	}
	getdns_list_destroy(to);
	getdns_list_destroy(support);
	if (v < GETDNS_DNSSEC_SECURE || v > GETDNS_DNSSEC_INSECURE) {
		dns_fail_flight(f, SIPDANCE_DNS_INDETERMINATE, "cannot validate the NAPTR denial");
		return;
	}
	d.status = dns_status_of(v);
	if (d.status == SIPDANCE_DNS_BOGUS) {
		getdns_list *auth;

		if (getdns_dict_get_list(reply, "authority", &auth) ||
		    !dns_rrsig_times(auth, d.why, sizeof(d.why)))
			snprintf(d.why, sizeof(d.why), "NAPTR denial of existence does not validate");
	}
	if (d.status == SIPDANCE_DNS_INDETERMINATE)
		snprintf(d.why, sizeof(d.why), "DNSSEC status indeterminate");
	if (d.status == SIPDANCE_DNS_BOGUS || d.status == SIPDANCE_DNS_INDETERMINATE) {
		dns_finish(f, &d, 0);
		return;
	}
	if (!getdns_dict_get_dict(reply, "header", &hdr))
		getdns_dict_get_int(hdr, "rcode", &rcode);
	f->hop_status = dns_worse(f->hop_status, d.status);
	d.status = f->hop_status;
	d.rcode = rcode == GETDNS_RCODE_NXDOMAIN ? SIPDANCE_DNS_NXDOMAIN : SIPDANCE_DNS_NODATA;
	ttl = dns_neg_ttl(reply, f->dns->neg_ttl);
	dns_finish(f, &d, ttl < f->ttl ? ttl : f->ttl);
}

/*
 * dns_keys_reply - the validated DNSKEY RRset that decides the kept NAPTR reply.
 * Cases:
 *  - BOGUS or INDETERMINATE: the same for the NAPTR answer
 *  - a denial: what getdns says of the kept reply with these keys
 *  - NAPTRs without RRSIG: BOGUS in a secure zone, else INSECURE
 *  - signed, the signer's zone INSECURE: INSECURE
 *  - signed, SECURE keys: SECURE only if an RRSIG verifies with one of them
 */
void dns_keys_reply(struct flight *f, getdns_dict *resp, struct reply *r)
{
	struct draft d = { .status = r->status };
	getdns_list *tree, *answer;
	getdns_dict *reply;

	if (r->status == SIPDANCE_DNS_BOGUS || r->status == SIPDANCE_DNS_INDETERMINATE) {
		if (r->status == SIPDANCE_DNS_BOGUS)
			dns_diagnose(resp, r, d.why, sizeof(d.why));
		else
			snprintf(d.why, sizeof(d.why), "DNSSEC status indeterminate");
		dns_finish(f, &d, 0);
		return;
	}
	if (!f->naptr_found) {
		deny_reply(f, resp, r);
		return;
	}
	if (!f->naptr_signed && r->status == SIPDANCE_DNS_SECURE) {
		dns_fail_flight(f, SIPDANCE_DNS_BOGUS, "NAPTR RRset is not signed in a signed zone");
		return;
	}
	if (f->naptr_signed && r->status == SIPDANCE_DNS_SECURE &&
	    naptr_verify(f->raw, f->cur, f->signer, r->answer, d.why, sizeof(d.why))) {
		d.status = SIPDANCE_DNS_BOGUS;
		dns_finish(f, &d, 0);
		return;
	}
	if (getdns_dict_get_list(f->raw, "replies_tree", &tree) ||
	    getdns_list_get_dict(tree, 0, &reply) || getdns_dict_get_list(reply, "answer", &answer) ||
	    dns_collect(answer, f->cur, SIPDANCE_DNS_NAPTR, &d)) {
		free(d.rr);
		dns_fail_flight(f, SIPDANCE_DNS_INDETERMINATE, "out of memory");
		return;
	}
	f->hop_status = dns_worse(f->hop_status, r->status);
	f->ttl = dns_min_ttl(answer, f->ttl);
	d.status = f->hop_status;
	d.rcode = SIPDANCE_DNS_FOUND;
	dns_finish(f, &d, f->ttl);
}

/*
 * naptr_verify - 0 if the NAPTR RRset at @owner in reply @resp validates
 * with the SECURE DNSKEY RRset @keys of @signer (sd_dnssec_validate_wire,
 * over the reply's answer and authority: a wildcard expansion only with its
 * proof); else EBADMSG or ENOMEM with @why:
 *  - an RRSIG outside its validity period: "expired" with the date;
 *  - a signature that does not verify with the signer's key;
 *  - anything else: the validator's reason.
 */
static int naptr_verify(getdns_dict *resp, const char *owner, const char *signer,
			getdns_list *keys, char *why, size_t size)
{
	struct wires rrs = { 0 }, dnskeys = { 0 };
	struct sd_dnssec_result res = { 0 };
	getdns_list *tree, *answer, *auth = NULL;
	getdns_dict *reply, *rr;
	char name[NAMELEN], day[16];
	int err = 0;

	if (getdns_dict_get_list(resp, "replies_tree", &tree) ||
	    getdns_list_get_dict(tree, 0, &reply) || getdns_dict_get_list(reply, "answer", &answer)) {
		snprintf(why, size, "no NAPTR answer to verify");
		return EBADMSG;
	}
	getdns_dict_get_list(reply, "authority", &auth);
	for (size_t i = 0; !err && !getdns_list_get_dict(answer, i, &rr); i++)
		err = dns_wires_add(&rrs, rr);
	for (size_t i = 0; !err && auth && !getdns_list_get_dict(auth, i, &rr); i++)
		err = dns_wires_add(&rrs, rr);
	for (size_t i = 0; !err && !getdns_list_get_dict(keys, i, &rr); i++)
		if (dns_rr_type(rr) == GETDNS_RRTYPE_DNSKEY && !dns_rr_name(rr, "name", name, sizeof(name)) &&
		    !strcmp(name, signer))
			err = dns_wires_add(&dnskeys, rr);
	if (!err)
		err = sd_dnssec_validate_wire(rrs.w, rrs.n, dnskeys.w, dnskeys.n, owner, GETDNS_RRTYPE_NAPTR,
					      time(NULL), &res);
	dns_wires_free(&rrs);
	dns_wires_free(&dnskeys);
	if (err) {
		snprintf(why, size, err == ENOMEM ? "out of memory" : "NAPTR answer cannot be encoded");
		return err == ENOMEM ? ENOMEM : EBADMSG;
	}
	if (res.status == SD_DNSSEC_SECURE && res.answer == SD_DNSSEC_DATA)
		return 0;
	if (res.fault == SD_DNSSEC_FAULT_TIME && res.fault_time < time(NULL)) {
		dns_date((uint32_t)res.fault_time, day, sizeof(day));
		snprintf(why, size, "RRSIG of %.150s expired %s", owner, day);
	} else if (res.fault == SD_DNSSEC_FAULT_SIGNATURE) {
		snprintf(why, size, "RRSIG of %.150s does not verify with the DNSKEY of %.150s", owner, signer);
	} else {
		snprintf(why, size, "%s", res.why);
	}
	return EBADMSG;
}
