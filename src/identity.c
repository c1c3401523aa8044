/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * identity.c - the SIP Identity header field value (RFC 8224 §4): the
 * PASSporT in full ("h.c.s") or compact ("..s") form, then info=<URI> and
 * the alg and ppt parameters; other generic parameters are skipped.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "internal.h"
#include "stir-internal.h"

/* lws - whether @c is linear white space */
static int lws(int c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* token_char - RFC 3261 token characters */
static int token_char(int c)
{
	return isalnum(c) || (c && strchr("-.!%*_+`'~", c));
}

/* jws_char - base64url characters and the dots between the parts */
static int jws_char(int c)
{
	return isalnum(c) || c == '-' || c == '_' || c == '.';
}

/* param_value - parse "<...>", a quoted string or a token at *pp; the value
 * without delimiters is [*vs, *vs + *vl) */
static int param_value(const char **pp, const char *end, const char **vs, size_t *vl,
		       int *bracketed, const char **why)
{
	const char *p = *pp, *q;

	*bracketed = 0;
	if (p < end && *p == '<') {
		if (!(q = memchr(p, '>', (size_t)(end - p))))
			return sd_fail(why, "unterminated <URI> in parameter", EINVAL);
		*bracketed = 1;
		*vs = p + 1;
		*vl = (size_t)(q - p - 1);
		*pp = q + 1;
		return 0;
	}
	if (p < end && *p == '"') {
		for (q = p + 1; q < end && *q != '"'; q++)
			if (*q == '\\' && q + 1 < end)
				q++;
		if (q >= end)
			return sd_fail(why, "unterminated quoted parameter", EINVAL);
		*vs = p + 1;
		*vl = (size_t)(q - p - 1);
		*pp = q + 1;
		return 0;
	}
	for (q = p; q < end && token_char((unsigned char)*q); q++)
		;
	if (q == p)
		return sd_fail(why, "parameter value missing", EINVAL);
	*vs = p;
	*vl = (size_t)(q - p);
	*pp = q;
	return 0;
}

/* set_param - store one recognised parameter; duplicates are errors */
static int set_param(struct sipdance_identity *id, const char *name, size_t nl, const char *vs,
		     size_t vl, int bracketed, const char **why)
{
	if (nl == 4 && !strncasecmp(name, "info", 4)) {
		const char *colon = memchr(vs, ':', vl);

		if (id->info[0])
			return sd_fail(why, "duplicate info parameter", EINVAL);
		if (!bracketed)
			return sd_fail(why, "info parameter is not <URI>", EINVAL);
		if (vl > SIPDANCE_PASSPORT_MAX_URL)
			return sd_fail(why, "info URI too long", EMSGSIZE);
		if (!colon || colon == vs || memchr(vs, ' ', vl) || memchr(vs, '\0', vl))
			return sd_fail(why, "info is not an absolute URI", EINVAL);
		memcpy(id->info, vs, vl);
		id->info[vl] = '\0';
		return 0;
	}
	if ((nl == 3 && !strncasecmp(name, "alg", 3)) || (nl == 3 && !strncasecmp(name, "ppt", 3))) {
		char *dst = tolower((unsigned char)name[0]) == 'a' ? id->alg : id->ppt;

		if (*dst)
			return sd_fail(why, dst == id->alg ? "duplicate alg parameter"
							: "duplicate ppt parameter", EINVAL);
		if (bracketed || vl == 0 || vl >= sizeof(id->alg))
			return sd_fail(why, dst == id->alg ? "alg parameter is not a short token"
							: "ppt parameter is not a short token", EINVAL);
		for (size_t i = 0; i < vl; i++)
			if (!token_char((unsigned char)vs[i]))
				return sd_fail(why, "parameter value is not a token", EINVAL);
		memcpy(dst, vs, vl);
		dst[vl] = '\0';
		return 0;
	}
	return 0; /* generic-param: ignored */
}

/* sipdance_identity_parse - one Identity header field value */
int sipdance_identity_parse(struct sipdance_identity *id, const char *value, size_t len,
			    const char **why)
{
	const char *p, *end, *d, *first_dot, *second_dot;
	size_t dlen;
	int err;

	if (!id || !value)
		return sd_fail(why, "no input", EINVAL);
	memset(id, 0, sizeof(*id));
	p = value;
	end = value + len;
	while (p < end && lws((unsigned char)*p))
		p++;
	while (end > p && lws((unsigned char)end[-1]))
		end--;
	for (d = p; d < end && jws_char((unsigned char)*d); d++)
		;
	dlen = (size_t)(d - p);
	if (dlen == 0)
		return sd_fail(why, "Identity value has no PASSporT", EINVAL);
	if (dlen > SIPDANCE_PASSPORT_MAX_TOKEN)
		return sd_fail(why, "PASSporT longer than 4096 bytes", EMSGSIZE);
	first_dot = memchr(p, '.', dlen);
	second_dot = first_dot ? memchr(first_dot + 1, '.', (size_t)(d - first_dot - 1)) : NULL;
	if (!second_dot || memchr(second_dot + 1, '.', (size_t)(d - second_dot - 1)))
		return sd_fail(why, "PASSporT is not header.claims.signature", EINVAL);
	if (second_dot + 1 == d)
		return sd_fail(why, "PASSporT has no signature", EINVAL);
	id->compact = first_dot == p && second_dot == p + 1;
	if (!id->compact && (first_dot == p || second_dot == first_dot + 1))
		return sd_fail(why, "PASSporT has an empty header or claims part", EINVAL);
	memcpy(id->jws, p, dlen);
	id->jws[dlen] = '\0';
	p = d;
	for (;;) {
		const char *name, *vs = "";
		size_t nl, vl = 0;
		int bracketed = 0;

		while (p < end && lws((unsigned char)*p))
			p++;
		if (p == end)
			break;
		if (*p != ';')
			return sd_fail(why, "unexpected text after the PASSporT", EINVAL);
		for (p++; p < end && lws((unsigned char)*p); p++)
			;
		for (name = p; p < end && token_char((unsigned char)*p); p++)
			;
		if ((nl = (size_t)(p - name)) == 0)
			return sd_fail(why, "empty parameter", EINVAL);
		while (p < end && lws((unsigned char)*p))
			p++;
		if (p < end && *p == '=') {
			for (p++; p < end && lws((unsigned char)*p); p++)
				;
			if ((err = param_value(&p, end, &vs, &vl, &bracketed, why)))
				return err;
		}
		if ((err = set_param(id, name, nl, vs, vl, bracketed, why)))
			return err;
	}
	if (!id->info[0])
		return sd_fail(why, "info parameter missing", EINVAL);
	return 0;
}

/* sipdance_identity_format - "<jws>;info=<URL>[;alg=A][;ppt=P]", snprintf-style */
size_t sipdance_identity_format(const struct sipdance_identity *id, char *buf, size_t size)
{
	int n = snprintf(buf, size, "%s;info=<%s>%s%s%s%s", id->jws, id->info,
			 id->alg[0] ? ";alg=" : "", id->alg, id->ppt[0] ? ";ppt=" : "", id->ppt);

	return n < 0 ? 0 : (size_t)n;
}

/* sd_identity_next - split a header value holding several comma-separated values */
int sd_identity_next(const char **p, const char *end, const char **start, size_t *len)
{
	const char *s = *p, *e;
	int angle = 0, quote = 0;

	while (s < end && (lws((unsigned char)*s) || *s == ','))
		s++;
	if (s >= end)
		return 0;
	for (e = s; e < end; e++) {
		if (quote) {
			if (*e == '\\' && e + 1 < end)
				e++;
			else if (*e == '"')
				quote = 0;
		} else if (*e == '"') {
			quote = 1;
		} else if (*e == '<') {
			angle = 1;
		} else if (*e == '>') {
			angle = 0;
		} else if (*e == ',' && !angle) {
			break;
		}
	}
	*start = s;
	*len = (size_t)(e - s);
	while (*len && lws((unsigned char)s[*len - 1]))
		(*len)--;
	*p = e;
	return 1;
}
