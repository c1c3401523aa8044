/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * stir-internal.h - helpers shared by passport.c, identity.c, x5u.c and
 * stir.c; not installed. The tests reach them through libsdcore.
 */
#ifndef SIPDANCE_STIR_INTERNAL_H
#define SIPDANCE_STIR_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <openssl/evp.h>
#include <sipdance/stir.h>

/* base64url without padding into @out (4*ceil(len/3)+1 bytes). */
void sd_b64url_encode(const uint8_t *in, size_t len, char *out);
/* Strict base64url: no padding, no white space, unused bits zero; 0 or EBADMSG/EMSGSIZE. */
int sd_b64url_decode(const char *in, size_t len, uint8_t *out, size_t outsize, size_t *outlen);

/* Deterministic JSON of the JOSE header / the claims; caller frees; NULL on ENOMEM. */
char *sd_passport_header_json(const struct sipdance_passport *pp);
char *sd_passport_claims_json(const struct sipdance_passport *pp);

/* Sign @pp with @key: compact JWS "h.c.s" into @out. 0, EINVAL, EMSGSIZE, ENOMEM with *why. */
int sd_passport_sign(EVP_PKEY *key, const struct sipdance_passport *pp, char *out,
		     size_t size, const char **why);

/* ES256 over @input (the received "h.c" bytes) with the base64url raw r||s @sig:
 * 0, or EBADMSG with *why ("signature does not verify", "not 64 bytes", ...). */
int sd_es256_verify(EVP_PKEY *key, const char *input, size_t inlen, const char *sig,
		    size_t siglen, const char **why);

/* Whether two mky entries name the same fingerprint (hash case-blind, hex colon-blind). */
int sd_mky_equal(const struct sipdance_mky *a, const struct sipdance_mky *b);

/* Next comma-separated Identity value of [*p, end): start and length, trimmed;
 * 0 when none is left. Commas inside <...> or "..." do not split. */
int sd_identity_next(const char **p, const char *end, const char **start, size_t *len);

/* Run @fn(@arg) later from sipdance_x5u_process(), or @drop(@arg) if the
 * fetcher is freed first; 0 or ENOMEM. */
int sd_x5u_defer(struct sipdance_x5u *x, void (*fn)(void *), void (*drop)(void *), void *arg);
/* Have @drop(arg) run instead of the callback of @q if the fetcher is freed first. */
void sd_x5u_set_drop(struct sipdance_x5u *x, struct sipdance_x5u_query *q, void (*drop)(void *));

/* Parse a PEM chain (certificates only, at least one): 0, EBADMSG or ENOMEM. */
int sd_pem_chain(const char *pem, size_t len, STACK_OF(X509) **out);

/* Copy of a chain with each certificate referenced again; NULL on ENOMEM. */
STACK_OF(X509) *sd_chain_dup(STACK_OF(X509) *chain);

#endif
