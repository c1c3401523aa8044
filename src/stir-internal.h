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

/* An ES256 context of @key for many signatures (@sign) or verifications, made
 * once (OpenSSL 3 initialisation costs as much as a signature); NULL if @key is
 * not P-256. Not for two threads at once. */
EVP_PKEY_CTX *sd_es256_prepare(EVP_PKEY *key, int sign);

/* Sign @pp with @ctx (sd_es256_prepare) under @header (its JOSE header as
 * base64url, made once per signer): compact JWS "h.c.s" into @out. 0, EMSGSIZE,
 * ENOMEM with *why. */
int sd_passport_sign(EVP_PKEY_CTX *ctx, const char *header, const struct sipdance_passport *pp,
		     char *out, size_t size, const char **why);

/* ES256 over @input (the received "h.c" bytes) with the base64url raw r||s @sig, by
 * @ctx (sd_es256_prepare; NULL: the key is not P-256): 0, or EBADMSG with *why
 * ("signature does not verify", "not 64 bytes", ...). */
int sd_es256_verify(EVP_PKEY_CTX *ctx, const char *input, size_t inlen, const char *sig,
		    size_t siglen, const char **why);

/* Whether two mky entries name the same fingerprint (hash case-blind, hex colon-blind). */
int sd_mky_equal(const struct sipdance_passport_mky *a, const struct sipdance_passport_mky *b);

/* Next comma-separated Identity value of [*p, end): start and length, trimmed;
 * 0 when none is left. Commas inside <...> or "..." do not split. */
int sd_identity_next(const char **p, const char *end, const char **start, size_t *len);

/* Run @fn(@arg) later from the fetcher's loop, or @drop(@arg) if the
 * fetcher is freed first; 0 or ENOMEM. */
int sd_x5u_defer(struct sipdance_x5u *x, void (*fn)(void *), void (*drop)(void *), void *arg);
/* Have @drop(arg) run instead of the callback of @q if the fetcher is freed first. */
void sd_x5u_set_drop(struct sipdance_x5u *x, struct sipdance_x5u_query *q, void (*drop)(void *));

/* Parse a PEM chain (certificates only, at least one): 0, EBADMSG or ENOMEM. */
int sd_pem_chain(const char *pem, size_t len, STACK_OF(X509) **out);

/* ---- x5u over HTTPS ---- */

#define SD_X5U_WHY_MAX 160   /* a fetch's reason */
#define SD_X5U_HEAD_MAX 16384 /* response header bytes read */

/* What x5u.c reads of a response's headers (sd_x5u_header, line by line). */
struct sd_x5u_headers {
	size_t bytes;            /* header bytes so far */
	char cache_control[512]; /* the final response's Cache-Control values, comma-joined */
	int cut;                 /* they did not fit or held a NUL: the chain is not cached */
};

struct sockaddr;
/* Whether x5u may not connect to @sa without allow_private: 1 with a reason in @why, or 0. */
int sd_x5u_refused_addr(const struct sockaddr *sa, char *why, size_t size);
/* One header line as libcurl hands it over (CRLF included): 0, or EMSGSIZE past SD_X5U_HEAD_MAX. */
int sd_x5u_header(struct sd_x5u_headers *h, const char *line, size_t len);
/* Seconds a fetched chain is cached under @h's Cache-Control (0: not cached), at most @max_ttl. */
unsigned sd_x5u_cache_ttl(const struct sd_x5u_headers *h, unsigned default_ttl, unsigned max_ttl);

/* x5u_http.c: HTTPS GETs over libcurl's multi interface on the loop contract, no thread. */
struct sd_http;

struct sd_http_conf {
	unsigned timeout_ms;   /* the configured fetch timeout, for reasons */
	size_t max_size;       /* body bytes */
	const char *ca_file;   /* TLS roots; NULL: the system's */
	int allow_http, allow_private, allow_any_port;
	struct sipdance_loop *loop; /* where curl's sockets and timer are watched */
};

/* A transfer ended: 0 with the body and headers (valid during the call), or
 * an errno of sipdance_x5u_cb (body NULL) with @why. */
typedef void (sd_http_done_fn)(void *arg, int err, const char *why, const char *body, size_t len,
			       const struct sd_x5u_headers *h);

/* Transport for x5u: 0, EINVAL (TLS roots unusable), ENOMEM. */
int sd_http_alloc(struct sd_http **out, const struct sd_http_conf *conf);
/* Every transfer ends without a callback; NULL ok. */
void sd_http_free(struct sd_http *h);
/* Start a GET of @url, everything within @timeout_ms: 0 (@done runs later, from
 * the loop), or a refusal by the URL policy now (EACCES, EINVAL; ENOMEM) with @why. */
int sd_http_get(struct sd_http *h, const char *url, unsigned timeout_ms, sd_http_done_fn *done,
		void *arg, char *why);

/* Copy of a chain with each certificate referenced again; NULL on ENOMEM. */
STACK_OF(X509) *sd_chain_dup(STACK_OF(X509) *chain);

#endif
