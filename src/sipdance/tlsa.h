/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * sipdance/tlsa.h - TLSA records (RFC 6698): parse presentation and wire form,
 * encode, create from a certificate, and hold an RRset.
 *
 * Parsing checks syntax only. Whether a record is usable (known usage,
 * selector and matching type, right digest length) is the matcher's decision,
 * so that an unusable record is ignored rather than fatal (RFC 7671 §4).
 */
#ifndef SIPDANCE_TLSA_H
#define SIPDANCE_TLSA_H

#include <stdint.h>
#include <stddef.h>
#include <openssl/x509.h>
#include <sipdance/common.h>

#ifdef __cplusplus
extern "C" {
#endif

enum sipdance_tlsa_usage { SIPDANCE_PKIX_TA, SIPDANCE_PKIX_EE, SIPDANCE_DANE_TA, SIPDANCE_DANE_EE };
enum sipdance_tlsa_selector { SIPDANCE_SEL_CERT, SIPDANCE_SEL_SPKI };
enum sipdance_tlsa_mtype { SIPDANCE_MT_FULL, SIPDANCE_MT_SHA256, SIPDANCE_MT_SHA512 };

/* Largest association data accepted (a certificate of 16 KiB). */
#define SIPDANCE_TLSA_MAX_DATA 16384

struct sipdance_tlsa;     /* one record */
struct sipdance_tlsa_set; /* an RRset */

/**
 * Parse "U S M HEX" (RFC 6698 §2.2 presentation form: fields separated by
 * white space, hex may be split by white space and wrapped in parentheses).
 * Returns 0, EINVAL (syntax), ERANGE (field out of 0-255), EMSGSIZE (data
 * larger than SIPDANCE_TLSA_MAX_DATA) or ENOMEM; *why (if non-NULL) then
 * says what was wrong. The caller frees *out with sipdance_tlsa_free().
 */
SIPDANCE_API int sipdance_tlsa_parse(struct sipdance_tlsa **out,
				     const char *text, const char **why);

/** Decode wire RDATA (3 octets then association data); errors as above. */
SIPDANCE_API int sipdance_tlsa_from_wire(struct sipdance_tlsa **out,
					 const uint8_t *rdata, size_t len,
					 const char **why);

/** Build a record from fields and data (copied). */
SIPDANCE_API int sipdance_tlsa_alloc(struct sipdance_tlsa **out, uint8_t usage,
				     uint8_t selector, uint8_t mtype,
				     const uint8_t *data, size_t len);

/**
 * Build the record that matches certificate @cert with the given usage,
 * selector and matching type. EINVAL for an unknown selector or mtype.
 */
SIPDANCE_API int sipdance_tlsa_create(struct sipdance_tlsa **out, X509 *cert,
				      uint8_t usage, uint8_t selector,
				      uint8_t mtype);

/** Free a record; NULL is accepted. */
SIPDANCE_API void sipdance_tlsa_free(struct sipdance_tlsa *t);

SIPDANCE_API uint8_t sipdance_tlsa_usage(const struct sipdance_tlsa *t);
SIPDANCE_API uint8_t sipdance_tlsa_selector(const struct sipdance_tlsa *t);
SIPDANCE_API uint8_t sipdance_tlsa_mtype(const struct sipdance_tlsa *t);
/** Association data, borrowed from the record; its length in *len. */
SIPDANCE_API const uint8_t *sipdance_tlsa_data(const struct sipdance_tlsa *t,
					       size_t *len);

/**
 * Presentation form "U S M hex" (lowercase) into buf. Returns the length the
 * full text needs without the NUL (snprintf-style), so a short buffer can be
 * detected.
 */
SIPDANCE_API size_t sipdance_tlsa_format(const struct sipdance_tlsa *t,
					 char *buf, size_t size);

/** Wire RDATA into buf; returns the length needed (like format). */
SIPDANCE_API size_t sipdance_tlsa_to_wire(const struct sipdance_tlsa *t,
					  uint8_t *buf, size_t size);

/** An empty RRset. */
SIPDANCE_API int sipdance_tlsa_set_alloc(struct sipdance_tlsa_set **out);
/** Append record @t; the set takes ownership of it, also on failure. */
SIPDANCE_API int sipdance_tlsa_set_add(struct sipdance_tlsa_set *set,
				       struct sipdance_tlsa *t);
SIPDANCE_API size_t sipdance_tlsa_set_count(const struct sipdance_tlsa_set *set);
/** Record @i, borrowed; NULL past the end. */
SIPDANCE_API const struct sipdance_tlsa *
sipdance_tlsa_set_get(const struct sipdance_tlsa_set *set, size_t i);
/** Free a set and its records; NULL is accepted. */
SIPDANCE_API void sipdance_tlsa_set_free(struct sipdance_tlsa_set *set);

#ifdef __cplusplus
}
#endif
#endif
