/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * sipdance/policy.h - what to do with one TLS target, from the DNSSEC status
 * of every lookup that led to it (RFC 7672 §2.2 semantics, RFC 7673 for SRV).
 *
 * Per destination domain the mode is `required` (no usable secure TLSA:
 * refuse), `opportunistic` (the default: secure usable TLSA makes DANE
 * mandatory, bogus or indeterminate makes the target unusable, only a
 * validated denial or an insecure zone falls back to RFC 5922 PKIX), or
 * `off` (PKIX only). Authentication is never skipped: PKIX without a CA
 * file refuses.
 */
#ifndef SIPDANCE_POLICY_H
#define SIPDANCE_POLICY_H

#include <stddef.h>
#include <sipdance/common.h>
#include <sipdance/dns.h>

#ifdef __cplusplus
extern "C" {
#endif

enum sipdance_policy_mode {
	SIPDANCE_POLICY_OFF,
	SIPDANCE_POLICY_OPPORTUNISTIC,
	SIPDANCE_POLICY_REQUIRED,
};

enum sipdance_action {
	SIPDANCE_ACT_DANE,   /* authenticate with the TLSA records; failure = do not send */
	SIPDANCE_ACT_PKIX,   /* authenticate with RFC 5922 PKIX against the CA file */
	SIPDANCE_ACT_REFUSE, /* the target is unusable; try the next one */
};

/* What the lookups for one target said. */
struct sipdance_policy_input {
	enum sipdance_policy_mode mode;
	enum sipdance_dns_status srv_status;  /* the NAPTR/SRV steps (worst of them); SECURE if none taken
	                                         because the URI named the host (its address then decides);
	                                         every status left zero is INDETERMINATE: refused */
	enum sipdance_dns_status addr_status; /* A/AAAA of the target (worst of the CNAME chain) */
	int tlsa_looked_up;                   /* 0 when an earlier step was not secure */
	enum sipdance_dns_status tlsa_status;
	enum sipdance_dns_rcode tlsa_rcode;
	size_t tlsa_usable;                   /* usable records (sipdance_dane_count_usable) */
	int have_ca;                          /* a CA file for PKIX is configured */
};

/* The decision and why, for logs, Reason headers and the CLI. */
struct sipdance_policy_decision {
	enum sipdance_action action;
	/*
	 * The DNS result behind the decision: for REFUSE, why the target is
	 * unusable (BOGUS, INDETERMINATE, INSECURE, NODATA, UNUSABLE); for PKIX,
	 * why DANE does not apply (INSECURE, NODATA, UNUSABLE); for DANE,
	 * NOMATCH until a peer is verified. Never MATCH.
	 */
	enum sipdance_result result;
	const char *rule;  /* short rule name, e.g. "secure-tlsa", "bogus-tlsa", "insecure-fallback" */
	char reason[256];
};

/**
 * Decide for one target. Pure function of its input: the table of cases is
 * in policy.c before the code, and tests/test_policy.c checks every row.
 */
SIPDANCE_API void sipdance_policy_decide(const struct sipdance_policy_input *in,
					 struct sipdance_policy_decision *out);

struct sipdance_policy; /* default mode plus per-domain overrides */

SIPDANCE_API int sipdance_policy_alloc(struct sipdance_policy **out,
				       enum sipdance_policy_mode default_mode);
SIPDANCE_API void sipdance_policy_free(struct sipdance_policy *p);
/** Set the mode for @domain (case-insensitive, exact match; one trailing dot is
 *  ignored, an empty label is EINVAL). 0, EINVAL, ENOMEM. */
SIPDANCE_API int sipdance_policy_set(struct sipdance_policy *p, const char *domain,
				     enum sipdance_policy_mode mode);
SIPDANCE_API enum sipdance_policy_mode sipdance_policy_get(const struct sipdance_policy *p,
							  const char *domain);

/** "off", "opportunistic", "required" <-> mode; EINVAL for anything else. */
SIPDANCE_API int sipdance_policy_mode_parse(const char *s, enum sipdance_policy_mode *mode);
SIPDANCE_API const char *sipdance_policy_mode_str(enum sipdance_policy_mode m);
SIPDANCE_API const char *sipdance_policy_action_str(enum sipdance_action a);

#ifdef __cplusplus
}
#endif
#endif
