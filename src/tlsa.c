/* SPDX-License-Identifier: BSD-2-Clause */
/* tlsa.c - TLSA records: parse, encode, create from a certificate, RRsets. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>

#include <sipdance/tlsa.h>
#include "internal.h"

struct sipdance_tlsa {
	uint8_t usage, selector, mtype;
	size_t len;
	uint8_t data[];
};

struct sipdance_tlsa_set {
	struct sipdance_tlsa **rr;
	size_t n, cap;
};

/* sipdance_tlsa_alloc - record from fields and a copy of data */
int sipdance_tlsa_alloc(struct sipdance_tlsa **out, uint8_t usage,
			uint8_t selector, uint8_t mtype, const uint8_t *data, size_t len)
{
	struct sipdance_tlsa *t;

	if (!out || (len && !data))
		return EINVAL;
	if (len > SIPDANCE_TLSA_MAX_DATA)
		return EMSGSIZE;
	t = malloc(sizeof(*t) + len);
	if (!t)
		return ENOMEM;
	t->usage = usage;
	t->selector = selector;
	t->mtype = mtype;
	t->len = len;
	if (len)
		memcpy(t->data, data, len);
	*out = t;
	return 0;
}

/* field - parse one decimal field 0-255 followed by white space */
static int field(const char **pp, uint8_t *val, const char **why)
{
	const char *p = *pp;
	unsigned v = 0;
	int digits = 0;

	while (isspace((unsigned char)*p))
		p++;
	for (; isdigit((unsigned char)*p); p++) {
		v = v * 10 + (unsigned)(*p - '0');
		if (v > 255 || ++digits > 3)
			return sd_fail(why, "field out of range 0-255", ERANGE);
	}
	if (!digits)
		return sd_fail(why, *p ? "field is not a number" : "missing field", EINVAL);
	if (*p && !isspace((unsigned char)*p))
		return sd_fail(why, "field is not a number", EINVAL);
	*val = (uint8_t)v;
	*pp = p;
	return 0;
}

/* unparen - copy of text with one balanced "(...)" pair blanked out */
static int unparen(const char *text, char **out, const char **why)
{
	const char *open = strchr(text, '('), *close = strchr(text, ')');
	char *s;

	if ((open == NULL) != (close == NULL) || (open && (close < open ||
	    strchr(open + 1, '(') || strchr(close + 1, ')'))))
		return sd_fail(why, "unbalanced parentheses", EINVAL);
	if (close && close[1 + strspn(close + 1, " \t\r\n")])
		return sd_fail(why, "text after closing parenthesis", EINVAL);
	if (!(s = strdup(text)))
		return sd_fail(why, "out of memory", ENOMEM);
	if (open) {
		s[open - text] = ' ';
		s[close - text] = ' ';
	}
	*out = s;
	return 0;
}

/* sipdance_tlsa_parse - "U S M HEX", parentheses and white space tolerated */
int sipdance_tlsa_parse(struct sipdance_tlsa **out, const char *text, const char **why)
{
	uint8_t f[3], *buf = NULL;
	const char *p;
	char *s;
	size_t len, hexlen;
	int err;

	if (!out || !text)
		return sd_fail(why, "no input", EINVAL);
	if ((err = unparen(text, &s, why)))
		return err;
	p = s;
	for (int i = 0; i < 3 && !err; i++)
		err = field(&p, &f[i], why);
	hexlen = strlen(p);
	if (!err && !(buf = malloc(SIPDANCE_TLSA_MAX_DATA)))
		err = sd_fail(why, "out of memory", ENOMEM);
	if (!err)
		err = sd_hex_decode(p, hexlen, buf, SIPDANCE_TLSA_MAX_DATA, &len, why);
	if (err == EMSGSIZE)
		sd_fail(why, "association data too long", EMSGSIZE);
	if (!err && len == 0)
		err = sd_fail(why, "missing association data", EINVAL);
	if (!err)
		err = sipdance_tlsa_alloc(out, f[0], f[1], f[2], buf, len);
	free(buf);
	free(s);
	return err;
}

/* sipdance_tlsa_from_wire - decode RDATA */
int sipdance_tlsa_from_wire(struct sipdance_tlsa **out, const uint8_t *rdata,
			    size_t len, const char **why)
{
	if (!out || !rdata)
		return sd_fail(why, "no input", EINVAL);
	if (len < 4)
		return sd_fail(why, "RDATA shorter than 4 octets", EINVAL);
	if (len - 3 > SIPDANCE_TLSA_MAX_DATA)
		return sd_fail(why, "association data too long", EMSGSIZE);
	return sipdance_tlsa_alloc(out, rdata[0], rdata[1], rdata[2], rdata + 3, len - 3);
}

/* selected - DER of the certificate or of its SubjectPublicKeyInfo; caller frees */
static int selected(X509 *cert, uint8_t selector, unsigned char **der, int *len)
{
	*der = NULL;
	switch (selector) {
	case SIPDANCE_SEL_CERT:
		*len = i2d_X509(cert, der);
		break;
	case SIPDANCE_SEL_SPKI:
		*len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert), der);
		break;
	default:
		return EINVAL;
	}
	return *len > 0 ? 0 : ENOMEM;
}

/* sipdance_tlsa_create - the record that matches a certificate */
int sipdance_tlsa_create(struct sipdance_tlsa **out, X509 *cert, uint8_t usage,
			 uint8_t selector, uint8_t mtype)
{
	static const char *const md[] = { NULL, "SHA256", "SHA512" };
	unsigned char *der, digest[EVP_MAX_MD_SIZE];
	unsigned int dlen;
	int len, err;

	if (!out || !cert || mtype > SIPDANCE_MT_SHA512)
		return EINVAL;
	if ((err = selected(cert, selector, &der, &len)))
		return err;
	if (mtype == SIPDANCE_MT_FULL)
		err = sipdance_tlsa_alloc(out, usage, selector, mtype, der, (size_t)len);
	else if (!EVP_Digest(der, (size_t)len, digest, &dlen, EVP_get_digestbyname(md[mtype]), NULL))
		err = ENOMEM;
	else
		err = sipdance_tlsa_alloc(out, usage, selector, mtype, digest, dlen);
	OPENSSL_free(der);
	return err;
}

/* sipdance_tlsa_free - free one record */
void sipdance_tlsa_free(struct sipdance_tlsa *t)
{
	free(t);
}

uint8_t sipdance_tlsa_usage(const struct sipdance_tlsa *t) { return t->usage; }
uint8_t sipdance_tlsa_selector(const struct sipdance_tlsa *t) { return t->selector; }
uint8_t sipdance_tlsa_mtype(const struct sipdance_tlsa *t) { return t->mtype; }

/* sipdance_tlsa_data - borrowed association data */
const uint8_t *sipdance_tlsa_data(const struct sipdance_tlsa *t, size_t *len)
{
	*len = t->len;
	return t->data;
}

/* sipdance_tlsa_format - presentation form, snprintf-style */
size_t sipdance_tlsa_format(const struct sipdance_tlsa *t, char *buf, size_t size)
{
	char head[16];
	int n = snprintf(head, sizeof(head), "%u %u %u ", t->usage, t->selector, t->mtype);
	size_t need = (size_t)n + 2 * t->len;

	if (size > need) {
		memcpy(buf, head, (size_t)n);
		sd_hex_encode(t->data, t->len, buf + n);
	} else if (size) {
		buf[0] = '\0';
	}
	return need;
}

/* sipdance_tlsa_to_wire - RDATA, snprintf-style length */
size_t sipdance_tlsa_to_wire(const struct sipdance_tlsa *t, uint8_t *buf, size_t size)
{
	size_t need = 3 + t->len;

	if (size >= need) {
		buf[0] = t->usage;
		buf[1] = t->selector;
		buf[2] = t->mtype;
		memcpy(buf + 3, t->data, t->len);
	}
	return need;
}

/* sipdance_tlsa_set_alloc - empty RRset */
int sipdance_tlsa_set_alloc(struct sipdance_tlsa_set **out)
{
	if (!out)
		return EINVAL;
	*out = calloc(1, sizeof(**out));
	return *out ? 0 : ENOMEM;
}

/* sipdance_tlsa_set_add - append, taking ownership */
int sipdance_tlsa_set_add(struct sipdance_tlsa_set *set, struct sipdance_tlsa *t)
{
	if (!set || !t) {
		free(t);
		return EINVAL;
	}
	if (set->n == set->cap) {
		size_t cap = set->cap ? 2 * set->cap : 4;
		struct sipdance_tlsa **rr = realloc(set->rr, cap * sizeof(*rr));

		if (!rr) {
			free(t);
			return ENOMEM;
		}
		set->rr = rr;
		set->cap = cap;
	}
	set->rr[set->n++] = t;
	return 0;
}

size_t sipdance_tlsa_set_count(const struct sipdance_tlsa_set *set)
{
	return set ? set->n : 0;
}

const struct sipdance_tlsa *sipdance_tlsa_set_get(const struct sipdance_tlsa_set *set, size_t i)
{
	return set && i < set->n ? set->rr[i] : NULL;
}

/* sipdance_tlsa_set_free - free the set and its records */
void sipdance_tlsa_set_free(struct sipdance_tlsa_set *set)
{
	if (!set)
		return;
	for (size_t i = 0; i < set->n; i++)
		free(set->rr[i]);
	free(set->rr);
	free(set);
}
