/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * digest.c - Digest computation (RFC 7616 §3.4, as RFC 8760 brings it to
 * SIP): H(A1) from a password, and the response over HA1, nonce, nc, cnonce,
 * qop and H(method:uri), for MD5 and SHA-256 through OpenSSL EVP; the
 * telephone-number entries of the users file; and the users-file line the
 * sipdance command prints.
 */
#include "digest.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

/* md - the EVP digest of @algorithm, or NULL */
static const EVP_MD *md(const char *algorithm)
{
	if (!algorithm || !strcasecmp(algorithm, "MD5"))
		return EVP_md5();
	if (!strcasecmp(algorithm, "SHA-256"))
		return EVP_sha256();
	return NULL;
}

/* px_digest_size - hex length of the algorithm's digest */
size_t px_digest_size(const char *algorithm)
{
	const EVP_MD *m = md(algorithm);

	return m ? 2 * (size_t)EVP_MD_get_size(m) : 0;
}

/* hash - lowercase hex H(p[0] ":" p[1] ":" ...) of the @n parts; 0 or EINVAL */
static int hash(char out[PX_DIGEST_HEX], const EVP_MD *m, const char *const *p, size_t n)
{
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned int len = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int ok = ctx && EVP_DigestInit_ex(ctx, m, NULL);

	for (size_t i = 0; ok && i < n; i++)
		ok = (!i || EVP_DigestUpdate(ctx, ":", 1)) && EVP_DigestUpdate(ctx, p[i], strlen(p[i]));
	ok = ok && EVP_DigestFinal_ex(ctx, d, &len) && 2 * len < PX_DIGEST_HEX;
	EVP_MD_CTX_free(ctx);
	if (!ok)
		return EINVAL;
	for (unsigned int i = 0; i < len; i++)
		snprintf(out + 2 * i, 3, "%02x", d[i]);
	return 0;
}

/* px_digest_ha1 - H(user:realm:password) */
int px_digest_ha1(char out[PX_DIGEST_HEX], const char *algorithm, const char *user,
		  const char *realm, const char *password)
{
	const char *p[] = { user, realm, password };
	const EVP_MD *m = md(algorithm);

	return m && user && realm && password ? hash(out, m, p, 3) : EINVAL;
}

/* px_digest_response - RFC 7616 §3.4.1 (qop=auth), or RFC 2069 without qop */
int px_digest_response(char out[PX_DIGEST_HEX], const char *algorithm, const char *ha1,
		       const char *nonce, const char *nc, const char *cnonce, const char *qop,
		       const char *method, const char *uri)
{
	char ha2[PX_DIGEST_HEX];
	const char *a2[] = { method, uri };
	const EVP_MD *m = md(algorithm);
	int err;

	if (!m || !ha1 || !nonce || !method || !uri || (qop && (!nc || !cnonce)))
		return EINVAL;
	if ((err = hash(ha2, m, a2, 2)))
		return err;
	if (qop) {
		const char *p[] = { ha1, nonce, nc, cnonce, qop, ha2 };

		return hash(out, m, p, 6);
	}
	{
		const char *p[] = { ha1, nonce, ha2 };

		return hash(out, m, p, 3);
	}
}

/* px_number_entry - digits with optional "+" and "*", or "*" */
int px_number_entry(const char *e, size_t len)
{
	size_t digits = 0;

	if (len == 1 && e[0] == '*')
		return 1;
	if (len && e[0] == '+')
		e++, len--;
	if (len && e[len - 1] == '*')
		len--;
	while (digits < len && e[digits] >= '0' && e[digits] <= '9')
		digits++;
	return digits == len && digits >= 1 && digits <= 15;
}

/* px_number_match - @tn equals the entry, or starts with its prefix */
int px_number_match(const char *e, size_t len, const char *tn)
{
	int prefix;

	if (len && e[0] == '+')
		e++, len--;
	prefix = len && e[len - 1] == '*';
	if (prefix)
		len--;
	if (!len || strncmp(tn, e, len))
		return 0;
	return prefix || tn[len] == '\0';
}

/* px_numbers_check - every comma-separated entry is a number entry */
int px_numbers_check(const char *list, const char **why)
{
	for (const char *p = list; *p;) {
		size_t n = strcspn(p, ",");

		if (!px_number_entry(p, n)) {
			*why = "a number is digits (1 to 15, optional + and a trailing * for a prefix) or *";
			return EINVAL;
		}
		p += n;
		if (*p == ',' && *++p == '\0') {
			*why = "empty number entry";
			return EINVAL;
		}
	}
	return 0;
}

/* px_users_line - the HA1 of both algorithms for one user */
int px_users_line(char *buf, size_t size, const char *user, const char *realm, const char *password,
		  const char *numbers, const char **why)
{
	char md5[PX_DIGEST_HEX], sha[PX_DIGEST_HEX];
	int n;

	if (!*user || strpbrk(user, ":\r\n") || !*realm || strpbrk(realm, ":\r\n")) {
		*why = "user and realm must be non-empty and contain no ':' or line break";
		return EINVAL;
	}
	if (numbers && px_numbers_check(numbers, why))
		return EINVAL;
	if (px_digest_ha1(md5, "MD5", user, realm, password) ||
	    px_digest_ha1(sha, "SHA-256", user, realm, password)) {
		*why = "digest computation failed";
		return EINVAL;
	}
	n = snprintf(buf, size, "%s:%s:%s:%s%s%s", user, realm, md5, sha, numbers ? ":" : "",
		     numbers ? numbers : "");
	OPENSSL_cleanse(md5, sizeof(md5));
	OPENSSL_cleanse(sha, sizeof(sha));
	if (n < 0 || (size_t)n >= size) {
		*why = "line too long";
		return EINVAL;
	}
	return 0;
}
