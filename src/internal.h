/* SPDX-License-Identifier: BSD-2-Clause */
/* internal.h - helpers shared by libsipdance modules; not installed. */
#ifndef SIPDANCE_INTERNAL_H
#define SIPDANCE_INTERNAL_H

#include <stdint.h>
#include <stddef.h>
#include <sipdance/common.h>

/* Decode hex digits (white space allowed between them); 0 or EINVAL. */
int sd_hex_decode(const char *s, size_t slen, uint8_t *out, size_t outsize,
		  size_t *outlen, const char **why);
/* Lowercase hex of @len bytes into @out (2*len+1 bytes). */
void sd_hex_encode(const uint8_t *in, size_t len, char *out);
/* Hex of @len bytes for a log line, cut to head...tail when long. */
const char *sd_hex_short(const uint8_t *in, size_t len, char *buf, size_t size);

/* Set a verdict's result and printf-style reason. */
void sd_verdict_set(struct sipdance_verdict *v, enum sipdance_result r,
		    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Log through the installed hook; @module names the source module. */
void sd_log(enum sipdance_log_level level, const char *module,
	    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
