/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * sipdance/passport.h - PASSporT (RFC 8225; RFC 8588 "shaken", RFC 8946 "div"):
 * decoded claims, canonical telephone numbers (RFC 8224 §8.3) and the mky
 * claim made from SDP fingerprints. Signing and verification are stir.h.
 */
#ifndef SIPDANCE_PASSPORT_H
#define SIPDANCE_PASSPORT_H

#include <stddef.h>
#include <sipdance/common.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SIPDANCE_PASSPORT_MAX_TOKEN 4096 /* PASSporT "header.claims.signature" bytes */
#define SIPDANCE_PASSPORT_MAX_URL 1024   /* x5u / info URL bytes */
#define SIPDANCE_PASSPORT_MAX_TN 16      /* canonical TN (at most 15 of 0-9 * #) + NUL */
#define SIPDANCE_PASSPORT_MAX_DEST 8     /* dest.tn entries */
#define SIPDANCE_PASSPORT_MAX_MKY 8      /* mky entries (distinct SDP fingerprints) */

/* One mky entry (RFC 8225 §5.2.2): hash name lowercase, digest "AB:CD:..." uppercase. */
struct sipdance_passport_mky {
	char alg[16];
	char dig[200];
};

/* A decoded PASSporT (plain data; TNs canonical). */
struct sipdance_passport {
	char alg[16];                      /* header: "ES256" */
	char typ[16];                      /* header: "passport" */
	char ppt[16];                      /* header: "" (base), "shaken" or "div" */
	char x5u[SIPDANCE_PASSPORT_MAX_URL + 1];
	char orig[SIPDANCE_PASSPORT_MAX_TN];   /* orig.tn */
	char dest[SIPDANCE_PASSPORT_MAX_DEST][SIPDANCE_PASSPORT_MAX_TN]; /* dest.tn */
	size_t ndest;
	long long iat;
	char attest[2];                    /* shaken: "A", "B" or "C" */
	char origid[64];                   /* shaken: UUID */
	char div[SIPDANCE_PASSPORT_MAX_TN];    /* div: div.tn, the original called number */
	struct sipdance_passport_mky mky[SIPDANCE_PASSPORT_MAX_MKY];
	size_t nmky;
};

/**
 * Canonical telephone number (RFC 8224 §8.3) of a tel: URI, a sip:/sips: URI
 * whose user part is a number (";user=phone", or digits with an optional "+"
 * and visual separators), a name-addr "<...>" of either, or a bare number:
 * visual separators and the leading "+" removed, 1 to 15 of 0-9 * #. Writes
 * it to @out (SIPDANCE_PASSPORT_MAX_TN bytes). 0, or EINVAL with *why set.
 */
SIPDANCE_API int sipdance_passport_tn(const char *uri, char out[SIPDANCE_PASSPORT_MAX_TN],
				  const char **why);

/**
 * mky entry of an SDP fingerprint attribute value "sha-256 AB:CD:...".
 * 0 or EINVAL with *why set.
 */
SIPDANCE_API int sipdance_passport_mky_parse(const char *fingerprint, struct sipdance_passport_mky *out,
				   const char **why);

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

#ifdef __cplusplus
}
#endif
#endif
