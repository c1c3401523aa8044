/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * sipdance/stir.h - STIR/SHAKEN for telephone-number identities: PASSporT
 * (RFC 8225, RFC 8588 "shaken", RFC 8946 "div"), the SIP Identity header
 * (RFC 8224), canonical telephone numbers, certificates fetched from x5u, and
 * the verification and authentication services.
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
#include <stdint.h>
#include <time.h>
#include <openssl/x509.h>
#include <sipdance/common.h>
#include <sipdance/loop.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SIPDANCE_STIR_MAX_TOKEN 4096 /* PASSporT "header.claims.signature" bytes */
#define SIPDANCE_STIR_MAX_URL 1024   /* x5u / info URL bytes */
#define SIPDANCE_STIR_MAX_TN 16      /* canonical TN (at most 15 of 0-9 * #) + NUL */
#define SIPDANCE_STIR_MAX_DEST 8     /* dest.tn entries */
#define SIPDANCE_STIR_MAX_MKY 8      /* mky entries (distinct SDP fingerprints) */

/* One mky entry (RFC 8225 §5.2.2): hash name lowercase, digest "AB:CD:..." uppercase. */
struct sipdance_mky {
	char alg[16];
	char dig[200];
};

/* A decoded PASSporT (plain data; TNs canonical). */
struct sipdance_passport {
	char alg[16];                      /* header: "ES256" */
	char typ[16];                      /* header: "passport" */
	char ppt[16];                      /* header: "" (base), "shaken" or "div" */
	char x5u[SIPDANCE_STIR_MAX_URL + 1];
	char orig[SIPDANCE_STIR_MAX_TN];   /* orig.tn */
	char dest[SIPDANCE_STIR_MAX_DEST][SIPDANCE_STIR_MAX_TN]; /* dest.tn */
	size_t ndest;
	long long iat;
	char attest[2];                    /* shaken: "A", "B" or "C" */
	char origid[64];                   /* shaken: UUID */
	char div[SIPDANCE_STIR_MAX_TN];    /* div: div.tn, the original called number */
	struct sipdance_mky mky[SIPDANCE_STIR_MAX_MKY];
	size_t nmky;
};

/* One Identity header field value (RFC 8224 §4), decoded. */
struct sipdance_identity {
	char jws[SIPDANCE_STIR_MAX_TOKEN + 1];  /* "h.c.s", or "..s" in compact form */
	char info[SIPDANCE_STIR_MAX_URL + 1];   /* without the angle brackets */
	char alg[16];                           /* "" when absent */
	char ppt[16];                           /* "" when absent */
	int compact;                            /* header and claims left out */
};

/**
 * Canonical telephone number (RFC 8224 §8.3) of a tel: URI, a sip:/sips: URI
 * whose user part is a number (";user=phone", or digits with an optional "+"
 * and visual separators), a name-addr "<...>" of either, or a bare number:
 * visual separators and the leading "+" removed, 1 to 15 of 0-9 * #. Writes
 * it to @out (SIPDANCE_STIR_MAX_TN bytes). 0, or EINVAL with *why set.
 */
SIPDANCE_API int sipdance_stir_tn(const char *uri, char out[SIPDANCE_STIR_MAX_TN],
				  const char **why);

/**
 * mky entry of an SDP fingerprint attribute value "sha-256 AB:CD:...".
 * 0 or EINVAL with *why set.
 */
SIPDANCE_API int sipdance_stir_mky(const char *fingerprint, struct sipdance_mky *out,
				   const char **why);

/**
 * Parse an Identity header field value (without "Identity:"). Returns 0,
 * EMSGSIZE (token or URL too long) or EINVAL, with *why set.
 */
SIPDANCE_API int sipdance_identity_parse(struct sipdance_identity *id, const char *value,
					 size_t len, const char **why);

/** "<jws>;info=<URL>[;alg=A][;ppt=P]"; length needed without NUL (snprintf-style). */
SIPDANCE_API size_t sipdance_identity_format(const struct sipdance_identity *id,
					     char *buf, size_t size);

/**
 * Decode a full-form PASSporT "header.claims.signature" (no signature check):
 * syntax and types of every known member, TNs canonical, ppt-specific claims
 * present. 0, EMSGSIZE or EBADMSG, with *why set.
 */
SIPDANCE_API int sipdance_passport_decode(struct sipdance_passport *pp, const char *jws,
					  size_t len, const char **why);

/**
 * The decoded PASSporT as {"claims":{...},"header":{...}} (deterministic
 * JSON) in a string the caller frees with free(); NULL if out of memory.
 */
SIPDANCE_API char *sipdance_passport_json(const struct sipdance_passport *pp);

/* ---- verification service ---- */

/* Outcome of a verification: MATCH, or the RFC 8224 response for the failure. */
struct sipdance_stir_verdict {
	enum sipdance_result result; /* MATCH; NOMATCH (438, 403); UNUSABLE (437);
					INDETERMINATE (436); NODATA (428) */
	int sip_status;              /* 0 on MATCH, else 428, 436, 437, 438 or 403 */
	int index;                   /* Identity value that decided, -1 if none */
	char reason[256];            /* what failed, or what matched */
};

/** Reason phrase of an RFC 8224 response code ("Stale Date", ...). */
SIPDANCE_API const char *sipdance_stir_status_str(int sip_status);

struct sipdance_stir_conf {
	const char *ca_file;  /* STI-CA roots, PEM; required */
	unsigned max_age;     /* oldest iat accepted, seconds; 0 = 60 */
	unsigned max_skew;    /* iat in the future accepted, seconds; 0 = max_age */
	int require_mky;      /* SDP fingerprints without a signed mky fail (438) */
};

struct sipdance_stir;       /* verifier: STI-CA roots and policy */
struct sipdance_x5u;        /* certificate fetcher and cache, below */
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
/** Cancel a pending verification (only before its callback ran); the callback will not run. */
SIPDANCE_API void sipdance_stir_cancel(struct sipdance_stir_query *q);

/** Blocking verification for tools: runs the fetcher until each x5u is in. */
SIPDANCE_API int sipdance_stir_verify_sync(struct sipdance_stir *s, struct sipdance_x5u *x,
					   const struct sipdance_stir_request *req,
					   struct sipdance_stir_verdict *v,
					   struct sipdance_passport *pp);

/* ---- authentication service ---- */

struct sipdance_stir_signer_conf {
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

/* ---- x5u certificate fetcher and cache ---- */

struct sipdance_x5u_conf {
	unsigned timeout_ms;   /* whole fetch from when it is asked for (name lookup,
				  connect, TLS, response); 0 = 2000 */
	size_t max_size;       /* response body limit, bytes; 0 = 65536 */
	unsigned max_ttl;      /* ceiling on cache lifetimes, seconds; 0 = 86400 */
	unsigned default_ttl;  /* lifetime without Cache-Control max-age; 0 = 3600 */
	unsigned neg_ttl;      /* lifetime of cached failures; 0 = 30 */
	size_t cache_size;     /* URLs kept; 0 = 1024 (least recently used dropped) */
	unsigned max_fetches;  /* fetches at once, more wait (within their timeout); 0 = 16 */
	const char *tls_ca_file; /* roots for the HTTPS server certificate; NULL = system */
	int allow_http;        /* accept http: URLs (never file: or others) */
	int allow_private;     /* accept loopback, private, link-local addresses */
	int allow_any_port;    /* accept any port, not only 443 and 8443 */
	int cache_only;        /* never fetch: chains come from sipdance_x5u_put() */
	struct sipdance_loop *loop; /* where fetches run; NULL = a private poll loop (blocking only) */
};

/**
 * A fetcher (HTTPS by libcurl, no thread of its own) on the loop of @conf:
 * every call from the thread that runs it. 0, EINVAL (tls_ca_file unusable), ENOMEM.
 */
SIPDANCE_API int sipdance_x5u_alloc(struct sipdance_x5u **out,
				    const struct sipdance_x5u_conf *conf);
/** Stop every fetch and free; pending callbacks (and verifications) are dropped silently. NULL is accepted. */
SIPDANCE_API void sipdance_x5u_free(struct sipdance_x5u *x);

/**
 * Result of a fetch: 0 and a chain the callee may keep (sk_X509_pop_free it),
 * or an error with a reason: EACCES (URL refused by policy), EINVAL (malformed
 * URL), ETIMEDOUT, EMSGSIZE (response too large), EHOSTUNREACH (cannot
 * connect, TLS or HTTP failure), EBADMSG (body is not a PEM certificate chain).
 */
typedef void (sipdance_x5u_cb)(void *arg, int err, STACK_OF(X509) *chain, const char *why);

struct sipdance_x5u_query;
/** Fetch @url (cache first); the callback always runs later, from the fetcher's loop. */
SIPDANCE_API int sipdance_x5u_fetch(struct sipdance_x5u *x, const char *url,
				    sipdance_x5u_cb *cb, void *arg,
				    struct sipdance_x5u_query **q);
/** Cancel a pending fetch (only before its callback ran); the callback will not run. */
SIPDANCE_API void sipdance_x5u_cancel(struct sipdance_x5u_query *q);

/**
 * Blocking fetch (cache first): runs the fetcher's loop, which must be a
 * poll loop (EINVAL otherwise), until the chain is in; whatever else runs on
 * that loop advances meanwhile. On success *chain is the caller's. Returns
 * the error codes of sipdance_x5u_cb with *why (a static or cached string,
 * valid until the next call) set. Not from inside a callback of that loop.
 */
SIPDANCE_API int sipdance_x5u_fetch_sync(struct sipdance_x5u *x, const char *url,
					 STACK_OF(X509) **chain, const char **why);

/**
 * Put @chain (new references are taken) in the cache for @url for @ttl
 * seconds (0 = max_ttl), e.g. certificates provisioned out of band. 0,
 * EINVAL or ENOMEM.
 */
SIPDANCE_API int sipdance_x5u_put(struct sipdance_x5u *x, const char *url,
				  STACK_OF(X509) *chain, unsigned ttl);

/** Counters for tests and monitoring. */
struct sipdance_x5u_stats {
	unsigned long hits, neg_hits, misses, fetches, failures;
};
SIPDANCE_API void sipdance_x5u_stats(struct sipdance_x5u *x, struct sipdance_x5u_stats *st);
/** Drop every cached chain and failure. */
SIPDANCE_API void sipdance_x5u_flush(struct sipdance_x5u *x);

#ifdef __cplusplus
}
#endif
#endif
