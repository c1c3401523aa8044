/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * dnssec_int.h - the one DNSSEC validator of libsipdance (RFC 4033-4035,
 * 5155, 6840): the record model, wire names, canonical form, and an offline
 * validator that says what a set of records proves about a name and type
 * under a trust anchor. Used by the RFC 9102 chain (chain.c) and by the
 * NAPTR answers getdns cannot validate (dns.c); not installed.
 */
#ifndef SIPDANCE_DNSSEC_INT_H
#define SIPDANCE_DNSSEC_INT_H

#include <stdint.h>
#include <stddef.h>
#include <time.h>

#define SD_T_NS 2
#define SD_T_CNAME 5
#define SD_T_SOA 6
#define SD_T_NAPTR 35
#define SD_T_DNAME 39
#define SD_T_DS 43
#define SD_T_RRSIG 46
#define SD_T_NSEC 47
#define SD_T_DNSKEY 48
#define SD_T_NSEC3 50
#define SD_T_TLSA 52

/* One record; pointers into the buffer it was parsed from. */
struct sd_rr {
	const uint8_t *owner; /* uncompressed wire name */
	uint16_t type, class;
	uint32_t ttl;
	uint16_t rdlen;
	const uint8_t *rdata;
};

/* ---- Wire names (dnssec_rr.c) ---- */

/* Length of the wire name at @p within @max octets; 0 when malformed (*why). */
size_t sd_name_len(const uint8_t *p, size_t max, const char **why);
/* Label count (root: 0). */
unsigned sd_name_labels(const uint8_t *n);
/* Case-insensitive equality. */
int sd_name_eq(const uint8_t *a, const uint8_t *b);
/* @child equals @parent or is below it. */
int sd_name_under(const uint8_t *child, const uint8_t *parent);
/* RFC 4034 §6.1 canonical order: <0, 0, >0. */
int sd_name_cmp(const uint8_t *a, const uint8_t *b);
/* The suffix of @n after dropping @k leading labels. */
const uint8_t *sd_name_skip(const uint8_t *n, unsigned k);
/* Presentation form with trailing dot. */
const char *sd_name_text(const uint8_t *n, char *buf, size_t size);
/* Wire form of "a.example[.]" (or "."); 0 or EINVAL with *why. */
int sd_name_from_text(const char *s, uint8_t *out, size_t size, const char **why);
/* Whether an NSEC/NSEC3 type bitmap lists @type. */
int sd_bitmap_has(const uint8_t *bm, size_t len, uint16_t type);
/* Mnemonic of a record type ("TLSA", "TYPE65280"), in @buf if not known. */
const char *sd_type_text(uint16_t type, char *buf, size_t size);

/* ---- Records (dnssec_rr.c) ---- */

/*
 * Parse a concatenation of uncompressed wire RRs (RFC 9102 chains, or RRs
 * written by getdns_rr_dict2wire) into *out (malloc'd), at most @max of
 * them. Every length is checked; class IN only; the RDATA of the types whose
 * layout the validator reads (names in RDATA, RRSIG, NSEC, NSEC3, DS, DNSKEY,
 * TLSA) must be well formed. 0; EBADMSG with *why and the offset *at of the
 * bad record; EMSGSIZE past @max records; ENOMEM.
 */
int sd_rr_parse(const uint8_t *buf, size_t len, size_t max, struct sd_rr **out, size_t *n,
		size_t *at, const char **why);
/*
 * RFC 4034 §3.1.8.1 signed data for RRSIG @sig over the RRset @set (k
 * records of one owner, type and class), owner in the form the RRSIG's
 * labels field gives (wildcard), names of RDATA lowercased (RFC 4034 §6.2
 * as corrected by RFC 6840 §5.1), canonical order, duplicates once;
 * malloc'd, or NULL (ENOMEM, or RDATA not well formed).
 */
uint8_t *sd_rr_signed_data(const struct sd_rr *sig, const struct sd_rr *const *set, size_t k,
			   size_t *len);

/* ---- Validation (dnssec_val.c) ---- */

/* Bounds against CPU exhaustion by hostile input (KeyTrap, CVE-2023-50387;
 * NSEC3 hashing, CVE-2023-50868): real chains need a few of each. */
#define SD_DNSSEC_MAX_RRS 256       /* records one validation looks at */
#define SD_DNSSEC_MAX_SIG_CHECKS 64 /* signature verifications */
#define SD_DNSSEC_MAX_SIG_FAILS 8   /* failed verifications for one RRset */
#define SD_DNSSEC_MAX_HASHES 128    /* NSEC3 hashes computed */
#define SD_DNSSEC_MAX_ITERATIONS 150 /* NSEC3 iterations accepted (RFC 9276) */
#define SD_DNSSEC_MAX_ALIASES 8     /* CNAME and DNAME steps followed */

/* What the records prove. Zero is BOGUS: a zeroed result fails closed. */
enum sd_dnssec_status {
	SD_DNSSEC_BOGUS = 0,
	SD_DNSSEC_SECURE,   /* the RRset, or its denial, validated up to the anchor */
	SD_DNSSEC_INSECURE, /* the name is in a zone proven unsigned */
};

/* For SECURE: the RRset exists, or a denial of which kind. */
enum sd_dnssec_answer {
	SD_DNSSEC_DATA = 0,
	SD_DNSSEC_NODATA,
	SD_DNSSEC_NXDOMAIN,
};

/* The kind of failure behind a BOGUS result (the last one met). */
enum sd_dnssec_fault {
	SD_DNSSEC_FAULT_NONE = 0,
	SD_DNSSEC_FAULT_SIGNATURE, /* a signature does not verify with the key it names */
	SD_DNSSEC_FAULT_TIME,      /* outside the RRSIG validity period (fault_time) */
	SD_DNSSEC_FAULT_OTHER,     /* anything else: no RRSIG, no key, no proof, link, bounds */
};

struct sd_dnssec_result {
	enum sd_dnssec_status status;
	enum sd_dnssec_answer answer;
	uint8_t name[256];    /* the owner reached after validated aliases (wire) */
	uint32_t ttl;         /* least TTL of the RRsets used, original TTLs capped */
	time_t expires;       /* earliest expiration of the RRSIGs used */
	enum sd_dnssec_fault fault;
	time_t fault_time;    /* FAULT_TIME: the inception or expiration passed */
	char why[200];        /* BOGUS: which RRset and why; INSECURE: which zone */
};

/* A question and what may answer it. */
struct sd_dnssec_query {
	const struct sd_rr *rr;     /* the records: RRsets, RRSIGs, DNSKEY/DS, NSEC/NSEC3 */
	size_t n;
	const struct sd_rr *anchor; /* DS or DNSKEY records of one zone, trusted */
	size_t nanchor;
	const uint8_t *qname;       /* wire */
	uint16_t qtype;
	time_t at;                  /* validation time */
};

/*
 * Validate @q: *r says SECURE with the RRset (after validated CNAME and
 * DNAME aliases; r->name is its owner) or a NODATA / NXDOMAIN denial,
 * INSECURE, or BOGUS with r->why naming the RRset and the cause. Returns
 * 0, EINVAL (no anchor, or anchor records of several zones) or ENOMEM.
 * A DNSKEY anchor is trusted as is when @q holds no DNSKEY RRset of its
 * zone; otherwise that RRset must verify with it, as with a DS anchor.
 */
int sd_dnssec_validate(const struct sd_dnssec_query *q, struct sd_dnssec_result *r);

/* Uncompressed wire RRs as separate buffers (getdns_rr_dict2wire). */
struct sd_wire {
	const uint8_t *p;
	size_t len;
};

/*
 * sd_dnssec_validate for the RRset (@owner text, @type) among @rrs (one
 * reply's answer and authority), with @keys the DNSKEY RRset of the zone
 * that signed it, already validated by the caller, as the anchor, at @now.
 * 0 with *r filled (malformed input is BOGUS), EINVAL, ENOMEM.
 */
int sd_dnssec_validate_wire(const struct sd_wire *rrs, size_t n, const struct sd_wire *keys,
			    size_t nkeys, const char *owner, uint16_t type, time_t now,
			    struct sd_dnssec_result *r);

/* ---- Primitives (dnssec.c) ---- */

struct evp_pkey_st;
/* Whether signature algorithm @alg is supported (8, 10, 13, 14, 15, 16). */
int sd_dnssec_alg_supported(uint8_t alg);
/* The EVP public key of DNSKEY key data, or NULL with *why. */
struct evp_pkey_st *sd_dnssec_pkey(uint8_t alg, const uint8_t *key, size_t keylen, const char **why);
/* Verify with a key from sd_dnssec_pkey(): NULL when valid, else why. */
const char *sd_dnssec_verify_pkey(uint8_t alg, struct evp_pkey_st *pk, const uint8_t *data, size_t len,
				  const uint8_t *sig, size_t siglen);
/* DS digest of type @dtype (2 SHA-256, 4 SHA-384) over @in into @md;
 * 0, or EINVAL for an unsupported type (@in NULL: only ask whether supported). */
int sd_dnssec_digest(uint8_t dtype, const uint8_t *in, size_t len, uint8_t *md, size_t *mdlen);
/* RFC 4034 Appendix B key tag of DNSKEY RDATA. */
uint16_t sd_dnssec_key_tag(const uint8_t *rdata, size_t len);
/* RFC 5155 §5 hash (SHA-1) of wire name @name with @salt, @iterations; 0 or ENOMEM. */
int sd_dnssec_nsec3_hash(const uint8_t *name, const uint8_t *salt, size_t saltlen,
			 unsigned iterations, uint8_t out[20]);

#endif
