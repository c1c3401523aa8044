/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * sipdance/locate.h - RFC 3263 location of the TLS servers of a sip:/sips:
 * URI's domain (federation is TLS only), with the DNSSEC status of every
 * step, the TLSA lookup of RFC 7673 per target, and its policy decision.
 *
 * NAPTR -> SRV -> A/AAAA (explicit ports and numeric hosts skip steps), then
 * TLSA at _<port>._tcp.<target> only when the SRV and address lookups were
 * secure (CNAME-expanded name first, then the original, RFC 7671 §7).
 * Reference identifiers: the SIP domain (RFC 5922) and, when the NAPTR/SRV
 * chain was secure, the SRV target (RFC 7673).
 */
#ifndef SIPDANCE_LOCATE_H
#define SIPDANCE_LOCATE_H

#include <stdint.h>
#include <openssl/x509.h>
#include <sipdance/common.h>
#include <sipdance/dns.h>
#include <sipdance/policy.h>
#include <sipdance/dane.h>

#ifdef __cplusplus
extern "C" {
#endif

enum sipdance_transport { SIPDANCE_TP_UDP, SIPDANCE_TP_TCP, SIPDANCE_TP_TLS };

#define SIPDANCE_MAX_ADDRS 8

/* One target, in the order to try. Strings are NUL-terminated. */
struct sipdance_target {
	char host[256];              /* SRV target, or the URI host */
	uint16_t port;
	enum sipdance_transport transport;
	size_t naddr;
	struct { int family; uint8_t addr[16]; } addr[SIPDANCE_MAX_ADDRS];
	enum sipdance_dns_status addr_status;
	char tlsa_name[300];         /* where the TLSA RRset was (or would be) looked up */
	char base_domain[256];       /* TLSA base domain: SNI and DANE-TA reference id */
	int tlsa_looked_up;
	enum sipdance_dns_status tlsa_status;
	enum sipdance_dns_rcode tlsa_rcode;
	char tlsa_why[160];          /* why BOGUS or INDETERMINATE */
	struct sipdance_tlsa_set *tlsa; /* secure records, owned by the result; NULL if none */
	const char *refids[2];       /* reference identifiers (into this struct or the result) */
	size_t nrefids;
	struct sipdance_policy_decision decision;
};

/* One step of the resolution, for `sipdance check` and logs. */
struct sipdance_locate_step {
	char what[320];              /* e.g. "NAPTR b.example", "SRV _sips._tcp.b.example" */
	enum sipdance_dns_status status;
	enum sipdance_dns_rcode rcode;
	const char *records;         /* records found, presentation form, whole, "; "-separated
					(owned by the resolution) */
	char why[160];
};

struct sipdance_locate; /* a resolution: in progress, then its result */

/** Everything a resolution needs; all borrowed and kept alive by the caller. */
struct sipdance_locate_conf {
	size_t size;              /* sizeof(struct sipdance_locate_conf): the caller sets it */
	struct sipdance_dns *dns;
	const struct sipdance_policy *policy;
	const struct sipdance_dane *dane; /* counts usable records; has the CA file */
	int no_tlsa;                      /* no TLSA lookups (the peer's RFC 9102 chain brings
					     them): targets keep tlsa_looked_up 0 */
	unsigned max_wait_ms;             /* no lookup starts later than this after the start:
					     the domain is then INDETERMINATE (0: no limit); the
					     whole resolution is bounded by it plus one DNS timeout */
	size_t max_targets;               /* TLS targets used, in RFC 3263 order (0: 16, also the
					     most): bounds the lookups one resolution costs */
};

typedef void (sipdance_locate_cb)(void *arg, struct sipdance_locate *loc);

/**
 * Resolve @uri ("sip:bob@b.example", "sips:b.example:5061;transport=tls").
 * The callback runs once, later, from the DNS layer's event processing; the
 * caller then reads the result and frees @loc. EINVAL (*why set) for a URI
 * that is not sip:/sips:, ENOMEM.
 */
SIPDANCE_API int sipdance_locate_start(struct sipdance_locate **out,
				       const struct sipdance_locate_conf *conf,
				       const char *uri, sipdance_locate_cb *cb,
				       void *arg, const char **why);
/** The same, blocking (for tools). */
SIPDANCE_API int sipdance_locate_sync(struct sipdance_locate **out,
				      const struct sipdance_locate_conf *conf,
				      const char *uri, const char **why);
/** Cancel (if pending) and free; NULL is accepted. */
SIPDANCE_API void sipdance_locate_free(struct sipdance_locate *loc);

/** The SIP domain of the URI (RFC 5922 reference identity). */
SIPDANCE_API const char *sipdance_locate_domain(const struct sipdance_locate *loc);
SIPDANCE_API enum sipdance_policy_mode sipdance_locate_mode(const struct sipdance_locate *loc);
SIPDANCE_API size_t sipdance_locate_count(const struct sipdance_locate *loc);
SIPDANCE_API const struct sipdance_target *sipdance_locate_target(const struct sipdance_locate *loc, size_t i);
SIPDANCE_API size_t sipdance_locate_step_count(const struct sipdance_locate *loc);
SIPDANCE_API const struct sipdance_locate_step *sipdance_locate_step(const struct sipdance_locate *loc, size_t i);
/** Why no target is usable (empty when one is), e.g. "NAPTR b.example is BOGUS: RRSIG expired 2020-02-01". */
SIPDANCE_API const char *sipdance_locate_why(const struct sipdance_locate *loc);

/**
 * Authenticate a peer chain (end entity first) for @target under its
 * decision: DANE against the target's TLSA records and reference ids, or
 * RFC 5922 PKIX against the verifier's CA file and the SIP domain. A REFUSE
 * target never matches: *v then carries the decision's result (BOGUS,
 * INDETERMINATE, INSECURE, NODATA, UNUSABLE). 0, or EINVAL/ENOMEM.
 */
SIPDANCE_API int sipdance_locate_target_verify(const struct sipdance_dane *d,
					const struct sipdance_target *target,
					STACK_OF(X509) *chain,
					struct sipdance_verdict *v);

/**
 * Authenticate a peer chain as the domain @loc located (e.g. an inbound
 * peer proxy's client certificate, or a server reached at one target): the
 * first target whose verification gives MATCH wins, its index in *index
 * (may be NULL). Otherwise *v explains the failure: the first verified
 * target's verdict, else the first refusal (BOGUS, INDETERMINATE, INSECURE,
 * NODATA, UNUSABLE), else why no target was found. EINVAL while pending.
 */
SIPDANCE_API int sipdance_locate_verify(const struct sipdance_locate *loc,
					const struct sipdance_dane *d,
					STACK_OF(X509) *chain,
					struct sipdance_verdict *v, size_t *index);

SIPDANCE_API const char *sipdance_locate_transport_str(enum sipdance_transport t);

#ifdef __cplusplus
}
#endif
#endif
