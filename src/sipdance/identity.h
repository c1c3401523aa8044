/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * sipdance/identity.h - the SIP Identity header field (RFC 8224 §4): one value
 * "<jws>;info=<URL>;alg=...;ppt=..." parsed and formatted.
 */
#ifndef SIPDANCE_IDENTITY_H
#define SIPDANCE_IDENTITY_H

#include <stddef.h>
#include <sipdance/common.h>
#include <sipdance/passport.h>

#ifdef __cplusplus
extern "C" {
#endif

/* One Identity header field value (RFC 8224 §4), decoded. */
struct sipdance_identity {
	char jws[SIPDANCE_PASSPORT_MAX_TOKEN + 1];  /* "h.c.s", or "..s" in compact form */
	char info[SIPDANCE_PASSPORT_MAX_URL + 1];   /* without the angle brackets */
	char alg[16];                           /* "" when absent */
	char ppt[16];                           /* "" when absent */
	int compact;                            /* header and claims left out */
};

/**
 * Parse an Identity header field value (without "Identity:"). Returns 0,
 * EMSGSIZE (token or URL too long) or EINVAL, with *why set.
 */
SIPDANCE_API int sipdance_identity_parse(struct sipdance_identity *id, const char *value,
					 size_t len, const char **why);

/** "<jws>;info=<URL>[;alg=A][;ppt=P]"; length needed without NUL (snprintf-style). */
SIPDANCE_API size_t sipdance_identity_format(const struct sipdance_identity *id,
					     char *buf, size_t size);

#ifdef __cplusplus
}
#endif
#endif
