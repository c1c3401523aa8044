/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * digest.h - the Digest computation of RFC 7616 (HA1 and the response, MD5 and
 * SHA-256 through OpenSSL EVP) and the users-file line it implies (digest.c).
 * No sofia-sip here: the sipdance command links it too.
 */
#ifndef SIPDANCE_PROXY_DIGEST_H
#define SIPDANCE_PROXY_DIGEST_H

#include <stddef.h>

/* Longest hex digest (SHA-256) with its NUL. */
#define PX_DIGEST_HEX 65

/* px_digest_size - hex length of @algorithm's digest ("MD5" 32, "SHA-256" 64), 0 if unknown */
size_t px_digest_size(const char *algorithm);
/* px_digest_ha1 - hex H(user:realm:password) for @algorithm; 0 or EINVAL */
int px_digest_ha1(char out[PX_DIGEST_HEX], const char *algorithm, const char *user,
		  const char *realm, const char *password);
/* px_digest_response - the lowercase hex response for @ha1 (hex) with
 * @algorithm; @qop NULL for the RFC 2069 form (no nc, cnonce); 0 or EINVAL */
int px_digest_response(char out[PX_DIGEST_HEX], const char *algorithm, const char *ha1,
		       const char *nonce, const char *nc, const char *cnonce, const char *qop,
		       const char *method, const char *uri);
/* px_number_entry - whether @e (@len bytes) is a number entry: digits with an
 * optional leading "+" and trailing "*" (a prefix), or "*" alone; 1 or 0 */
int px_number_entry(const char *e, size_t len);
/* px_number_match - whether canonical number @tn matches entry @e (@len
 * bytes, not "*"): equal, or under the prefix; 1 or 0 */
int px_number_match(const char *e, size_t len, const char *tn);
/* px_numbers_check - a comma-separated list of number entries: 0, or EINVAL with why */
int px_numbers_check(const char *list, const char **why);
/* px_users_line - the users-file line "user:realm:HA1-MD5:HA1-SHA-256[:numbers]"
 * for @password, into buf (no newline); 0 or EINVAL with why */
int px_users_line(char *buf, size_t size, const char *user, const char *realm, const char *password,
		  const char *numbers, const char **why);

#endif
