/* SPDX-License-Identifier: BSD-2-Clause */
/* util.c - hex, verdicts and the log hook. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"
#include "sipdance/version.h"

static sipdance_log_fn *log_fn;
static void *log_arg;
static enum sipdance_log_level log_max = SIPDANCE_LOG_INFO;

/* sipdance_version - the library's release */
const char *sipdance_version(void)
{
	return SIPDANCE_VERSION_STRING;
}

/* sipdance_result_str - printable name of a result */
const char *sipdance_result_str(enum sipdance_result r)
{
	switch (r) {
#define SD_XX(name, s) case SIPDANCE_##name: return s;
	SIPDANCE_RESULT_MAP(SD_XX)
#undef SD_XX
	}
	return "UNKNOWN";
}

/* sipdance_log_set - install the log sink */
void sipdance_log_set(sipdance_log_fn *fn, void *arg, enum sipdance_log_level max)
{
	log_fn = fn;
	log_arg = arg;
	log_max = max;
}

/* sd_log - format and pass one message to the sink */
void sd_log(enum sipdance_log_level level, const char *module, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (!log_fn || level > log_max)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_fn(level, module, msg, log_arg);
}

/* sd_verdict_set - fill result and reason */
void sd_verdict_set(struct sipdance_verdict *v, enum sipdance_result r, const char *fmt, ...)
{
	va_list ap;

	v->result = r;
	va_start(ap, fmt);
	vsnprintf(v->reason, sizeof(v->reason), fmt, ap);
	va_end(ap);
}

/* hexval - value of one hex digit, -1 if none */
static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* sd_hex_decode - hex digits, white space between them ignored */
int sd_hex_decode(const char *s, size_t slen, uint8_t *out, size_t outsize,
		  size_t *outlen, const char **why)
{
	size_t n = 0;
	int hi = -1;

	for (size_t i = 0; i < slen; i++) {
		int c = (unsigned char)s[i], d;

		if (isspace(c))
			continue;
		if ((d = hexval(c)) < 0) {
			if (why)
				*why = "non-hex character in data";
			return EINVAL;
		}
		if (hi < 0) {
			hi = d;
			continue;
		}
		if (n == outsize) {
			if (why)
				*why = "data too long";
			return EMSGSIZE;
		}
		out[n++] = (uint8_t)(hi << 4 | d);
		hi = -1;
	}
	if (hi >= 0) {
		if (why)
			*why = "odd number of hex digits";
		return EINVAL;
	}
	*outlen = n;
	return 0;
}

/* sd_hex_encode - lowercase hex, NUL-terminated */
void sd_hex_encode(const uint8_t *in, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < len; i++) {
		*out++ = digits[in[i] >> 4];
		*out++ = digits[in[i] & 15];
	}
	*out = '\0';
}

/* sd_hex_short - hex for logs: whole when short, else first and last 8 bytes */
const char *sd_hex_short(const uint8_t *in, size_t len, char *buf, size_t size)
{
	char head[17], tail[17];

	if (len <= 16) {
		if (size > 2 * len)
			sd_hex_encode(in, len, buf);
		else if (size)
			buf[0] = '\0';
		return buf;
	}
	sd_hex_encode(in, 8, head);
	sd_hex_encode(in + len - 8, 8, tail);
	snprintf(buf, size, "%s...%s", head, tail);
	return buf;
}

/* sd_conf_copy - a configuration struct of any release into ours */
int sd_conf_copy(void *dst, size_t size, const void *src, const char **why)
{
	const unsigned char *in = src;
	size_t n, i;

	/*
	 * Case by case, on the caller's leading size field:
	 *  - no struct, or a size that cannot even hold itself (unset: 0): EINVAL;
	 *  - past 4096 bytes: garbage, not a release of ours: EINVAL;
	 *  - larger than ours: the caller's headers are newer; the fields we do not
	 *    know must be zero (unused), else EINVAL rather than ignore a setting;
	 *  - otherwise what it has is copied and the rest is zero, the defaults.
	 */
	if (!src)
		return sd_fail(why, "no configuration", EINVAL);
	memcpy(&n, src, sizeof(n));
	if (n < sizeof(n) || n > 4096)
		return sd_fail(why, "configuration size unset (set .size to sizeof the struct)", EINVAL);
	for (i = size; i < n; i++)
		if (in[i])
			return sd_fail(why, "configuration sets fields this library does not know "
				       "(built against newer sipdance headers?)", EINVAL);
	memset(dst, 0, size);
	memcpy(dst, src, n < size ? n : size);
	memcpy(dst, &size, sizeof(size));
	return 0;
}
