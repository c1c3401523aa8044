/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * sipdance/stir.h - STIR/SHAKEN for telephone-number identities: the
 * verification service (RFC 8224 §6.2) and the authentication service that
 * signs (RFC 8224 §5), over PASSporTs (passport.h), Identity header values
 * (identity.h) and certificates fetched from x5u (x5u.h), all included here.
 *
 * Only ES256 (raw r||s) is accepted. In full form the signature is checked
 * over the bytes received, never over re-serialised JSON; JSON is made
 * deterministic (sorted keys, no white space) only when signing or when the
 * compact form "..signature" must be rebuilt from the request.
 *
 * Verification outcomes are struct sipdance_stir_verdict: a result (only
 * MATCH authenticates), the RFC 8224 response code the failure maps to (428,
 * 436, 437, 438 or 403 "Stale Date") and a reason for a log line, a SIP
 * Reason header and the CLI.
 */
#ifndef SIPDANCE_STIR_H
#define SIPDANCE_STIR_H

#include <stddef.h>
#include <time.h>
#include <openssl/x509.h>
#include <sipdance/common.h>
#include <sipdance/passport.h>
#include <sipdance/identity.h>
#include <sipdance/x5u.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- verification service ---- */

/* Outcome of a verification: MATCH, or the RFC 8224 response for the failure. */
struct sipdance_stir_verdict {
	enum sipdance_result result; /* MATCH; NOMATCH (438, 403); UNUSABLE (437);
					INDETERMINATE (436); NODATA (428) */
	int sip_status;              /* 0 on MATCH, else 428, 436, 437, 438 or 403; 503
					with a store whose replay state cannot be read */
	int index;                   /* Identity value that decided, -1 if none */
	char reason[256];            /* what failed, or what matched */
};

/** Reason phrase of an RFC 8224 response code ("Stale Date", ...). */
SIPDANCE_API const char *sipdance_stir_status_str(int sip_status);

struct sipdance_stir_conf {
	size_t size;              /* sizeof(struct sipdance_stir_conf): the caller sets it */
	const char *ca_file;  /* STI-CA roots, PEM; required */
	unsigned max_age;     /* oldest iat accepted, seconds; 0 = 60 */
	unsigned max_skew;    /* iat in the future accepted, seconds; 0 = max_age */
	int require_mky;      /* SDP fingerprints without a signed mky fail (438) */
};

struct sipdance_stir;       /* verifier: STI-CA roots and policy */
struct sipdance_stir_query; /* one asynchronous verification */

/** A verifier. 0, ENOENT (CA file unreadable), EINVAL (no certificate in it), ENOMEM. */
SIPDANCE_API int sipdance_stir_alloc(struct sipdance_stir **out,
				     const struct sipdance_stir_conf *conf);
/** Free a verifier; NULL is accepted. */
SIPDANCE_API void sipdance_stir_free(struct sipdance_stir *s);

/* What the request says; everything is compared in canonical form. */
struct sipdance_stir_request {
	const char *const *identity; /* Identity header values; one may hold several, comma-separated */
	size_t nidentity;
	const char *orig;            /* From or P-Asserted-Identity: URI, name-addr or TN */
	const char *dest;            /* To: URI, name-addr or TN */
	const char *const *fingerprints; /* SDP a=fingerprint values, session and media level */
	size_t nfingerprints;
	time_t date;                 /* Date header; 0 if absent (needed by compact form only) */
	time_t now;                  /* verification time; 0 = time(NULL) */
};

/**
 * Verify with the certificates in @chain (end entity first, then
 * intermediates), as if every x5u had returned it. Returns 0 with the
 * outcome in *v and, when @pp is not NULL, the PASSporT that decided in *pp;
 * EINVAL on a NULL argument, ENOMEM.
 */
SIPDANCE_API int sipdance_stir_check(const struct sipdance_stir *s,
				     const struct sipdance_stir_request *req,
				     STACK_OF(X509) *chain, struct sipdance_stir_verdict *v,
				     struct sipdance_passport *pp);

/** Called once per verification; @pp is NULL when no PASSporT decoded. */
typedef void (sipdance_stir_cb)(void *arg, const struct sipdance_stir_verdict *v,
				const struct sipdance_passport *pp);

/**
 * Verify, fetching x5u certificates through @x (cache first). Checks that
 * need no certificate run first, so a stale or mismatched PASSporT costs no
 * fetch. The request is copied. The callback always runs later, from the
 * loop of @x; *q (may be NULL) can cancel it. 0, EINVAL, ENOMEM.
 */
SIPDANCE_API int sipdance_stir_verify(struct sipdance_stir *s, struct sipdance_x5u *x,
				      const struct sipdance_stir_request *req,
				      sipdance_stir_cb *cb, void *arg,
				      struct sipdance_stir_query **q);
struct sipdance_store;
/**
 * Claim the signatures of every request sipdance_stir_verify() finds MATCH
 * in @store for the freshness window (max_age + max_skew), each PASSporT on
 * its own (the original of a diversion, which comes again with its div
 * PASSporT, is not spent by it): a request with a PASSporT accepted before,
 * by any node sharing @store, is then 403 "PASSporT replayed", and one
 * whose claim the store cannot answer 503 (NULL: no replay check). A signature counts with the lower of its two valid ECDSA
 * s values, so the other one replays nothing. Only verified requests are
 * claimed, so a forged one cannot spend a genuine PASSporT. A claim's value is @node (who accepted it, for
 * operators; NULL: "1"). @store must outlive @s's verifications.
 */
SIPDANCE_API void sipdance_stir_set_store(struct sipdance_stir *s, struct sipdance_store *store,
					  const char *node);

/** Cancel a pending verification (only before its callback ran); the callback will not run. */
SIPDANCE_API void sipdance_stir_cancel(struct sipdance_stir_query *q);

/** Blocking verification for tools: runs the fetcher until each x5u is in. */
SIPDANCE_API int sipdance_stir_verify_sync(struct sipdance_stir *s, struct sipdance_x5u *x,
					   const struct sipdance_stir_request *req,
					   struct sipdance_stir_verdict *v,
					   struct sipdance_passport *pp);

/* ---- authentication service ---- */

struct sipdance_stir_signer_conf {
	size_t size;              /* sizeof(struct sipdance_stir_signer_conf): the caller sets it */
	const char *key_file;  /* EC P-256 private key, PEM */
	const char *x5u;       /* where verifiers fetch the certificate chain */
	const char *const *orig_ranges; /* "12025551000" exact or "1202555*" prefix; none = any */
	size_t nranges;
};

struct sipdance_stir_signer;

/** A signer. 0, ENOENT (key unreadable), EINVAL (not a P-256 key, bad x5u or range), ENOMEM. */
SIPDANCE_API int sipdance_stir_signer_alloc(struct sipdance_stir_signer **out,
					    const struct sipdance_stir_signer_conf *conf,
					    const char **why);
/** Free a signer; NULL is accepted. */
SIPDANCE_API void sipdance_stir_signer_free(struct sipdance_stir_signer *s);

/**
 * Sign claims @pp (orig, dest, attest, and optionally origid, iat, mky, div;
 * ppt "" means "shaken") into an Identity header value
 * "<jws>;info=<x5u>;alg=ES256;ppt=shaken". An empty origid gets a random
 * UUID, iat 0 the current time. Returns 0; EPERM when orig is outside the
 * configured ranges; EINVAL (bad claims), EMSGSIZE (@size too small) or
 * ENOMEM, each with *why set.
 */
SIPDANCE_API int sipdance_stir_sign(const struct sipdance_stir_signer *s,
				    const struct sipdance_passport *pp, char *out,
				    size_t size, const char **why);

#ifdef __cplusplus
}
#endif
#endif
