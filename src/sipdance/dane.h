/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * sipdance/dane.h - decide whether a certificate chain is authenticated by a
 * TLSA RRset (RFC 6698, RFC 7671), with SIP reference identifiers (RFC 5922).
 *
 * OpenSSL's own DANE verifier does the matching, chain building and digest
 * agility (RFC 7671 §9); this module adds what OpenSSL lacks: usability
 * triage with reasons, SIP name rules for the usages that need names, and a
 * verdict that keeps MATCH, NOMATCH and UNUSABLE apart.
 */
#ifndef SIPDANCE_DANE_H
#define SIPDANCE_DANE_H

#include <time.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sipdance/common.h>
#include <sipdance/tlsa.h>

#ifdef __cplusplus
extern "C" {
#endif

struct sipdance_dane; /* reusable verifier: OpenSSL context, optional CA store */

/**
 * A verifier. @ca_file (may be NULL) is a PEM bundle of PKIX roots: without
 * it, PKIX-TA(0) and PKIX-EE(1) records are unusable. Returns 0, ENOENT or
 * EINVAL (CA file unreadable or holds no certificate), ENOMEM.
 */
SIPDANCE_API int sipdance_dane_alloc(struct sipdance_dane **out,
				     const char *ca_file);

/** Free a verifier; NULL is accepted. */
SIPDANCE_API void sipdance_dane_free(struct sipdance_dane *d);

/** What to check besides the records. */
struct sipdance_dane_params {
	const char *const *names; /* reference identifiers (SIP domains, host names) */
	size_t nnames;
	time_t at;                /* verification time; 0 = now */
};

/**
 * Verify @chain (end-entity first, the rest untrusted intermediates) against
 * @tlsa. Returns 0 with the outcome in *v (MATCH, NOMATCH or UNUSABLE, each
 * with a reason), or EINVAL (empty chain, NULL argument) or ENOMEM.
 */
SIPDANCE_API int sipdance_dane_verify(const struct sipdance_dane *d,
				      const struct sipdance_tlsa_set *tlsa,
				      STACK_OF(X509) *chain,
				      const struct sipdance_dane_params *p,
				      struct sipdance_verdict *v);

/**
 * How many records of @tlsa this verifier can use (known usage, selector and
 * matching type, right digest length; PKIX usages only with a CA file).
 */
SIPDANCE_API size_t sipdance_dane_count_usable(const struct sipdance_dane *d,
					       const struct sipdance_tlsa_set *tlsa);

/** Whether the verifier has PKIX roots (a CA file). */
SIPDANCE_API int sipdance_dane_has_ca(const struct sipdance_dane *d);

/**
 * RFC 5922 PKIX without DANE: @chain must validate to the CA file's roots at
 * p->at and its end entity must carry one of p->names. MATCH (depth = depth
 * of the trust anchor) or NOMATCH with a reason; UNUSABLE without a CA file.
 */
SIPDANCE_API int sipdance_dane_pkix_verify(const struct sipdance_dane *d,
				      STACK_OF(X509) *chain,
				      const struct sipdance_dane_params *p,
				      struct sipdance_verdict *v);

/**
 * Whether @cert carries SIP domain identity @domain under RFC 5922 §7.1:
 * if SAN URIs exist only "sip:<domain>" counts; else dNSName entries; the
 * subject CN only when there is no SAN at all; never a wildcard. 1 or 0.
 */
SIPDANCE_API int sipdance_dane_cert_has_domain(X509 *cert, const char *domain);

#ifdef __cplusplus
}
#endif
#endif
