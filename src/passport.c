/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * passport.c - PASSporT (RFC 8225) with the "shaken" (RFC 8588) and "div"
 * (RFC 8946) extensions: strict decoding with jansson, deterministic JSON for
 * signing, ES256 with raw r||s signatures, canonical telephone numbers
 * (RFC 8224 §8.3) and mky entries from SDP fingerprints.
 */
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <jansson.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/rand.h>

#include "internal.h"
#include "stir-internal.h"

static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* sd_b64url_encode - base64url, no padding, NUL-terminated */
void sd_b64url_encode(const uint8_t *in, size_t len, char *out)
{
	size_t i = 0;

	for (; i + 2 < len; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];

		*out++ = b64url[v >> 18];
		*out++ = b64url[(v >> 12) & 63];
		*out++ = b64url[(v >> 6) & 63];
		*out++ = b64url[v & 63];
	}
	if (len - i == 1) {
		*out++ = b64url[in[i] >> 2];
		*out++ = b64url[(in[i] & 3) << 4];
	} else if (len - i == 2) {
		uint32_t v = (uint32_t)in[i] << 8 | in[i + 1];

		*out++ = b64url[v >> 10];
		*out++ = b64url[(v >> 4) & 63];
		*out++ = b64url[(v & 15) << 2];
	}
	*out = '\0';
}

/* b64val - value of a base64url character, -1 if none */
static int b64val(int c)
{
	const char *p = c ? strchr(b64url, c) : NULL;

	return p ? (int)(p - b64url) : -1;
}

/* sd_b64url_decode - strict base64url: a length of 1 mod 4, padding or
 * non-zero unused bits are errors, so every input has one decoding */
int sd_b64url_decode(const char *in, size_t len, uint8_t *out, size_t outsize, size_t *outlen)
{
	size_t n = 0;
	uint32_t acc = 0;
	int bits = 0;

	if (len % 4 == 1)
		return EBADMSG;
	if (len / 4 * 3 + (len % 4 ? len % 4 - 1 : 0) > outsize)
		return EMSGSIZE;
	for (size_t i = 0; i < len; i++) {
		int v = b64val((unsigned char)in[i]);

		if (v < 0)
			return EBADMSG;
		acc = (acc << 6 | (uint32_t)v) & 0xffffff;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[n++] = (uint8_t)(acc >> bits);
		}
	}
	if (bits && (acc & ((1u << bits) - 1)))
		return EBADMSG;
	*outlen = n;
	return 0;
}

/* tn_char - whether @c may appear in a canonical TN */
static int tn_char(int c)
{
	return isdigit(c) || c == '*' || c == '#';
}

/* canonical_tn - whether @s is already canonical: 1-15 of 0-9 * # */
static int canonical_tn(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n >= SIPDANCE_PASSPORT_MAX_TN)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!tn_char((unsigned char)s[i]))
			return 0;
	return 1;
}

/* sipdance_passport_tn - canonical TN of a tel:/sip: URI, name-addr or bare number */
int sipdance_passport_tn(const char *uri, char out[SIPDANCE_PASSPORT_MAX_TN], const char **why)
{
	const char *p, *end, *user, *uend, *lt;
	size_t n = 0;
	int tel = 0;

	if (!uri || !out)
		return sd_fail(why, "no input", EINVAL);
	out[0] = '\0';
	p = uri + strspn(uri, " \t");
	end = p + strlen(p);
	if ((lt = strchr(p, '<'))) {
		const char *gt = strchr(lt, '>');

		if (!gt)
			return sd_fail(why, "unterminated <URI>", EINVAL);
		p = lt + 1;
		end = gt;
	}
	while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	if (end - p >= 4 && strncasecmp(p, "tel:", 4) == 0) {
		tel = 1;
		user = p + 4;
		uend = end;
	} else if ((end - p >= 4 && strncasecmp(p, "sip:", 4) == 0) ||
		   (end - p >= 5 && strncasecmp(p, "sips:", 5) == 0)) {
		const char *at;

		user = p + (p[3] == ':' ? 4 : 5);
		if (!(at = memchr(user, '@', (size_t)(end - user))))
			return sd_fail(why, "SIP URI has no user part", EINVAL);
		/* with or without user=phone, the user part must be a number */
		uend = at;
	} else if (p < end && (isdigit((unsigned char)*p) || *p == '+' || *p == '(')) {
		user = p;
		uend = end;
	} else {
		return sd_fail(why, "not a tel:, sip: or sips: URI or a number", EINVAL);
	}
	/* user-part parameters (isub, phone-context, ...) are not part of the number */
	for (const char *s = user; s < uend; s++)
		if (*s == ';') {
			uend = s;
			break;
		}
	if (tel && (uend == user || *user != '+'))
		return sd_fail(why, "tel URI is not a global (+) number", EINVAL);
	if (user < uend && *user == '+')
		user++;
	for (const char *s = user; s < uend; s++) {
		int c = (unsigned char)*s;

		if (c == '-' || c == '.' || c == '(' || c == ')' || c == ' ')
			continue;
		if (!tn_char(c))
			return sd_fail(why, "not a telephone number", EINVAL);
		if (n == SIPDANCE_PASSPORT_MAX_TN - 1) {
			out[0] = '\0';
			return sd_fail(why, "telephone number longer than 15 digits", EINVAL);
		}
		out[n++] = (char)c;
	}
	out[n] = '\0';
	if (n == 0)
		return sd_fail(why, "telephone number has no digits", EINVAL);
	return 0;
}

/* sipdance_passport_mky_parse - mky entry of "hash-func fingerprint" (RFC 8122 syntax) */
int sipdance_passport_mky_parse(const char *fingerprint, struct sipdance_passport_mky *out, const char **why)
{
	const char *p, *hex;
	size_t alen, n = 0;

	if (!fingerprint || !out)
		return sd_fail(why, "no input", EINVAL);
	memset(out, 0, sizeof(*out));
	p = fingerprint + strspn(fingerprint, " \t");
	alen = strcspn(p, " \t");
	if (alen == 0 || alen >= sizeof(out->alg))
		return sd_fail(why, "fingerprint hash name missing or too long", EINVAL);
	for (size_t i = 0; i < alen; i++) {
		int c = (unsigned char)p[i];

		if (!isalnum(c) && c != '-')
			return sd_fail(why, "fingerprint hash name is not a token", EINVAL);
		out->alg[i] = (char)tolower(c);
	}
	hex = p + alen + strspn(p + alen, " \t");
	for (size_t i = 0; hex[i] && !isspace((unsigned char)hex[i]); i += 3) {
		if (!isxdigit((unsigned char)hex[i]) || !isxdigit((unsigned char)hex[i + 1]) ||
		    (hex[i + 2] && hex[i + 2] != ':' && !isspace((unsigned char)hex[i + 2])) ||
		    (hex[i + 2] == ':' && !isxdigit((unsigned char)hex[i + 3])))
			return sd_fail(why, "fingerprint is not colon-separated hex pairs", EINVAL);
		if (n + 3 >= sizeof(out->dig)) /* room for the NUL */
			return sd_fail(why, "fingerprint too long", EINVAL);
		if (n)
			out->dig[n++] = ':';
		out->dig[n++] = (char)toupper((unsigned char)hex[i]);
		out->dig[n++] = (char)toupper((unsigned char)hex[i + 1]);
		if (!hex[i + 2])
			break;
		if (isspace((unsigned char)hex[i + 2])) {
			if (hex[i + 3 + strspn(hex + i + 3, " \t\r\n")])
				return sd_fail(why, "text after the fingerprint", EINVAL);
			break;
		}
	}
	if (n == 0)
		return sd_fail(why, "fingerprint value missing", EINVAL);
	return 0;
}

/* sd_mky_equal - same hash name (any case) and same bytes (any case, colons or not) */
int sd_mky_equal(const struct sipdance_passport_mky *a, const struct sipdance_passport_mky *b)
{
	const char *p = a->dig, *q = b->dig;

	if (strcasecmp(a->alg, b->alg))
		return 0;
	for (;;) {
		while (*p == ':')
			p++;
		while (*q == ':')
			q++;
		if (!*p || !*q)
			return !*p && !*q;
		if (toupper((unsigned char)*p++) != toupper((unsigned char)*q++))
			return 0;
	}
}

/* mky_cmp - qsort order of RFC 8225 §5.2.2: by alg, then by dig */
static int mky_cmp(const void *a, const void *b)
{
	const struct sipdance_passport_mky *x = a, *y = b;
	int c = strcmp(x->alg, y->alg);

	return c ? c : strcmp(x->dig, y->dig);
}

/* dumps - deterministic serialisation: sorted keys, no white space */
static char *dumps(json_t *j)
{
	char *s = j ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS) : NULL;

	json_decref(j);
	return s;
}

/* sd_passport_header_json - {"alg":..,"ppt":..,"typ":..,"x5u":..} */
char *sd_passport_header_json(const struct sipdance_passport *pp)
{
	json_t *h = json_pack("{s:s, s:s, s:s}", "alg", pp->alg[0] ? pp->alg : "ES256",
			      "typ", pp->typ[0] ? pp->typ : "passport", "x5u", pp->x5u);

	if (h && pp->ppt[0] && json_object_set_new(h, "ppt", json_string(pp->ppt))) {
		json_decref(h);
		return NULL;
	}
	return dumps(h);
}

/* sd_passport_claims_json - the claims in deterministic form, mky sorted */
char *sd_passport_claims_json(const struct sipdance_passport *pp)
{
	struct sipdance_passport_mky mky[SIPDANCE_PASSPORT_MAX_MKY];
	json_t *c = json_object(), *dest = json_array(), *m = json_array();
	int bad = !c || !dest || !m;
	size_t nmky = pp->nmky < SIPDANCE_PASSPORT_MAX_MKY ? pp->nmky : SIPDANCE_PASSPORT_MAX_MKY;

	for (size_t i = 0; !bad && i < pp->ndest && i < SIPDANCE_PASSPORT_MAX_DEST; i++)
		bad |= json_array_append_new(dest, json_string(pp->dest[i]));
	memcpy(mky, pp->mky, nmky * sizeof(*mky));
	qsort(mky, nmky, sizeof(*mky), mky_cmp);
	for (size_t i = 0; !bad && i < nmky; i++)
		bad |= json_array_append_new(m, json_pack("{s:s, s:s}", "alg", mky[i].alg,
							  "dig", mky[i].dig));
	if (!bad) {
		bad |= json_object_set_new(c, "dest", json_pack("{s:O}", "tn", dest));
		bad |= json_object_set_new(c, "iat", json_integer(pp->iat));
		bad |= json_object_set_new(c, "orig", json_pack("{s:s}", "tn", pp->orig));
	}
	if (!bad && pp->attest[0])
		bad |= json_object_set_new(c, "attest", json_string(pp->attest));
	if (!bad && pp->origid[0])
		bad |= json_object_set_new(c, "origid", json_string(pp->origid));
	if (!bad && pp->div[0])
		bad |= json_object_set_new(c, "div", json_pack("{s:s}", "tn", pp->div));
	if (!bad && nmky)
		bad |= json_object_set(c, "mky", m);
	json_decref(dest);
	json_decref(m);
	if (bad) {
		json_decref(c);
		return NULL;
	}
	return dumps(c);
}

/* sipdance_passport_json - {"claims":..,"header":..} for display */
char *sipdance_passport_json(const struct sipdance_passport *pp)
{
	char *h = pp ? sd_passport_header_json(pp) : NULL;
	char *c = h ? sd_passport_claims_json(pp) : NULL;
	char *out = NULL;
	size_t n;

	if (c) {
		n = strlen(h) + strlen(c) + sizeof("{\"claims\":,\"header\":}");
		if ((out = malloc(n)))
			snprintf(out, n, "{\"claims\":%s,\"header\":%s}", c, h);
	}
	free(h);
	free(c);
	return out;
}

static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;
static EVP_MD *sha256_md;

/* fetch_sha256 - fetch SHA-256 once, not on every signature (OpenSSL 3) */
static void fetch_sha256(void)
{
	sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
}

/* sha256 - the fetched digest, or the implicit one if fetching failed */
static const EVP_MD *sha256(void)
{
	pthread_once(&sha256_once, fetch_sha256);
	return sha256_md ? sha256_md : EVP_sha256();
}

/* p256 - whether @key is an EC key on P-256 */
static int p256(EVP_PKEY *key)
{
	char name[32];

	return key && EVP_PKEY_is_a(key, "EC") &&
	       EVP_PKEY_get_group_name(key, name, sizeof(name), NULL) == 1 &&
	       (!strcmp(name, "prime256v1") || !strcmp(name, "P-256"));
}

/* sd_es256_prepare - a context for ES256 signing (@sign) or verifying with
 * @key, initialised once for many operations; NULL if @key is not P-256 */
EVP_PKEY_CTX *sd_es256_prepare(EVP_PKEY *key, int sign)
{
	EVP_PKEY_CTX *ctx = p256(key) ? EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL) : NULL;

	if (ctx && (sign ? EVP_PKEY_sign_init(ctx) : EVP_PKEY_verify_init(ctx)) != 1) {
		EVP_PKEY_CTX_free(ctx);
		ctx = NULL;
	}
	ERR_clear_error();
	return ctx;
}

/* sd_es256_verify - raw r||s signature over the received bytes */
int sd_es256_verify(EVP_PKEY_CTX *ctx, const char *input, size_t inlen, const char *sig,
		    size_t siglen, const char **why)
{
	uint8_t raw[128], der[72], dgst[32];
	size_t rawlen, derlen = 0;
	int ok;

	if (!ctx)
		return sd_fail(why, "credential is not a P-256 key", EBADMSG);
	if (sd_b64url_decode(sig, siglen, raw, sizeof(raw), &rawlen))
		return sd_fail(why, "signature is not base64url", EBADMSG);
	if (rawlen != 64)
		return sd_fail(why, rawlen && raw[0] == 0x30 ? "signature is DER, not raw r||s (RFC 7518 §3.4)"
			    : "signature is not 64 bytes of r||s", EBADMSG);
	/* DER SEQUENCE of two INTEGERs: minimal, positive (a 0 before a high bit) */
	der[derlen++] = 0x30;
	der[derlen++] = 0;
	for (int i = 0; i < 2; i++) {
		const uint8_t *v = raw + 32 * i;
		size_t n = 32;

		while (n > 1 && !*v)
			v++, n--;
		der[derlen++] = 0x02;
		der[derlen++] = (uint8_t)(n + (*v >> 7));
		if (*v >> 7)
			der[derlen++] = 0;
		memcpy(der + derlen, v, n);
		derlen += n;
	}
	der[1] = (uint8_t)(derlen - 2);
	ok = EVP_Digest(input, inlen, dgst, NULL, sha256(), NULL) == 1 &&
	     EVP_PKEY_verify(ctx, der, derlen, dgst, sizeof(dgst)) == 1;
	ERR_clear_error();
	return ok ? 0 : sd_fail(why, "signature does not verify", EBADMSG);
}

/* der_int - the DER INTEGER at *@p (before @end) as 32 bytes into @out,
 * *@p moved past it: 0, or -1 if it is not one of at most 32 bytes */
static int der_int(const uint8_t **p, const uint8_t *end, uint8_t *out)
{
	size_t n;

	if (end - *p < 2 || (*p)[0] != 0x02 || (n = (*p)[1]) > (size_t)(end - *p - 2))
		return -1;
	*p += 2;
	for (; n > 32 && !**p; n--)
		(*p)++; /* the 0 before a high bit */
	if (n > 32)
		return -1;
	memset(out, 0, 32 - n);
	memcpy(out + 32 - n, *p, n);
	*p += n;
	return 0;
}

/* sign_raw - ES256 signature of @input as base64url raw r||s into @out (87 bytes) */
static int sign_raw(EVP_PKEY_CTX *ctx, const char *input, size_t len, char *out)
{
	uint8_t der[80], raw[64], dgst[32];
	const uint8_t *p = der + 2;
	size_t derlen = sizeof(der);

	/* OpenSSL's DER (a SEQUENCE under 128 bytes of two INTEGERs) to raw r||s */
	if (EVP_Digest(input, len, dgst, NULL, sha256(), NULL) != 1 ||
	    EVP_PKEY_sign(ctx, der, &derlen, dgst, sizeof(dgst)) != 1 || derlen < 2 || der[0] != 0x30 ||
	    der[1] != derlen - 2 || der_int(&p, der + derlen, raw) || der_int(&p, der + derlen, raw + 32) ||
	    p != der + derlen) {
		ERR_clear_error();
		return ENOMEM;
	}
	sd_b64url_encode(raw, 64, out);
	return 0;
}

/* sd_passport_sign - the header as given, deterministic claims, base64url, ES256 */
int sd_passport_sign(EVP_PKEY_CTX *ctx, const char *header, const struct sipdance_passport *pp,
		     char *out, size_t size, const char **why)
{
	char *c = sd_passport_claims_json(pp);
	size_t hl = strlen(header), cl, need;
	int err = 0;

	if (!c)
		return sd_fail(why, "out of memory", ENOMEM);
	cl = strlen(c);
	need = hl + 1 + (cl + 2) / 3 * 4 + 1 + 88;
	if (size < need || need > SIPDANCE_PASSPORT_MAX_TOKEN + 1)
		err = sd_fail(why, "PASSporT too long", EMSGSIZE);
	if (!err) {
		memcpy(out, header, hl);
		out[hl] = '.';
		sd_b64url_encode((const uint8_t *)c, cl, out + hl + 1);
		hl += 1 + strlen(out + hl + 1);
		out[hl] = '.';
		if (sign_raw(ctx, out, hl, out + hl + 1))
			err = sd_fail(why, "signing failed", ENOMEM);
	}
	free(c);
	return err;
}

/* get_str - copy string member @name of @o into @buf: 1 copied, 0 absent,
 * -1 not a string or too long */
static int get_str(json_t *o, const char *name, char *buf, size_t size)
{
	json_t *v = json_object_get(o, name);
	size_t n;

	if (!v)
		return 0;
	if (!json_is_string(v) || (n = json_string_length(v)) >= size ||
	    memchr(json_string_value(v), '\0', n))
		return -1;
	memcpy(buf, json_string_value(v), n + 1);
	return 1;
}

/* get_tn - canonical TN string member "tn" of object member @name: 0 or why */
static const char *get_tn(json_t *claims, const char *name, char *buf, int required)
{
	json_t *o = json_object_get(claims, name);
	int k = strcmp(name, "orig") ? 1 : 0;

	if (!o)
		return required ? (k ? "div claim missing" : "orig claim missing") : NULL;
	if (!json_is_object(o))
		return k ? "div is not an object" : "orig is not an object";
	if (!json_object_get(o, "tn"))
		return json_object_get(o, "uri") ? (k ? "div.uri not supported (telephone numbers only)"
						      : "orig.uri not supported (telephone numbers only)")
						 : (k ? "div.tn missing" : "orig.tn missing");
	if (get_str(o, "tn", buf, SIPDANCE_PASSPORT_MAX_TN) < 0 || !canonical_tn(buf)) {
		buf[0] = '\0';
		return k ? "div.tn is not a canonical telephone number"
			 : "orig.tn is not a canonical telephone number";
	}
	return NULL;
}

/* decode_header - JOSE header members */
static const char *decode_header(struct sipdance_passport *pp, json_t *h)
{
	if (!json_is_object(h))
		return "header is not a JSON object";
	if (get_str(h, "alg", pp->alg, sizeof(pp->alg)) <= 0)
		return "header alg missing or not a string";
	if (strcmp(pp->alg, "ES256"))
		return "alg is not ES256";
	if (get_str(h, "typ", pp->typ, sizeof(pp->typ)) <= 0 || strcmp(pp->typ, "passport"))
		return "typ is not \"passport\"";
	if (get_str(h, "ppt", pp->ppt, sizeof(pp->ppt)) < 0)
		return "ppt is not a string";
	if (pp->ppt[0] && strcmp(pp->ppt, "shaken") && strcmp(pp->ppt, "div"))
		return "unsupported ppt";
	if (get_str(h, "x5u", pp->x5u, sizeof(pp->x5u)) <= 0)
		return "x5u missing, too long or not a string";
	if (json_object_get(h, "crit"))
		return "crit header parameter not supported";
	return NULL;
}

/* decode_mky - the mky array, each entry checked like an SDP fingerprint */
static const char *decode_mky(struct sipdance_passport *pp, json_t *m)
{
	size_t i;
	json_t *e;

	if (!m)
		return NULL;
	if (!json_is_array(m) || json_array_size(m) == 0 || json_array_size(m) > SIPDANCE_PASSPORT_MAX_MKY)
		return "mky is not an array of 1-8 entries";
	json_array_foreach(m, i, e) {
		char alg[16], dig[200], fp[220];

		if (!json_is_object(e) || get_str(e, "alg", alg, sizeof(alg)) <= 0 ||
		    get_str(e, "dig", dig, sizeof(dig)) <= 0)
			return "mky entry is not {\"alg\":..,\"dig\":..}";
		snprintf(fp, sizeof(fp), "%s %s", alg, dig);
		if (sipdance_passport_mky_parse(fp, &pp->mky[i], NULL))
			return "mky entry is not a fingerprint";
	}
	pp->nmky = json_array_size(m);
	return NULL;
}

/* decode_claims - payload members, by ppt */
static const char *decode_claims(struct sipdance_passport *pp, json_t *c)
{
	json_t *d, *t, *e;
	const char *why;
	size_t i;
	int r;

	if (!json_is_object(c))
		return "claims are not a JSON object";
	if (!json_is_integer(json_object_get(c, "iat")))
		return "iat missing or not an integer";
	pp->iat = (long long)json_integer_value(json_object_get(c, "iat"));
	if ((why = get_tn(c, "orig", pp->orig, 1)))
		return why;
	d = json_object_get(c, "dest");
	if (!json_is_object(d))
		return "dest missing or not an object";
	t = json_object_get(d, "tn");
	if (!t)
		return json_object_get(d, "uri") ? "dest.uri not supported (telephone numbers only)"
						 : "dest.tn missing";
	if (!json_is_array(t) || json_array_size(t) == 0 || json_array_size(t) > SIPDANCE_PASSPORT_MAX_DEST)
		return "dest.tn is not an array of 1-8 numbers";
	json_array_foreach(t, i, e) {
		if (!json_is_string(e) || json_string_length(e) >= SIPDANCE_PASSPORT_MAX_TN ||
		    !canonical_tn(json_string_value(e)))
			return "dest.tn entry is not a canonical telephone number";
		strcpy(pp->dest[i], json_string_value(e));
	}
	pp->ndest = json_array_size(t);
	if ((why = decode_mky(pp, json_object_get(c, "mky"))))
		return why;
	r = get_str(c, "attest", pp->attest, sizeof(pp->attest));
	if (r < 0 || (r > 0 && !strchr("ABC", pp->attest[0])) || (r > 0 && !pp->attest[0]))
		return "attest is not \"A\", \"B\" or \"C\"";
	if (get_str(c, "origid", pp->origid, sizeof(pp->origid)) < 0)
		return "origid is not a string of at most 63 bytes";
	if (!strcmp(pp->ppt, "shaken") && (!pp->attest[0] || !pp->origid[0]))
		return "shaken PASSporT without attest or origid";
	if ((why = get_tn(c, "div", pp->div, !strcmp(pp->ppt, "div"))))
		return why;
	return NULL;
}

/* parse_json - base64url part to a JSON value; duplicate keys rejected */
static json_t *parse_json(const char *b64, size_t len)
{
	uint8_t buf[SIPDANCE_PASSPORT_MAX_TOKEN];
	size_t n;

	if (sd_b64url_decode(b64, len, buf, sizeof(buf), &n))
		return NULL;
	return json_loadb((const char *)buf, n, JSON_REJECT_DUPLICATES, NULL);
}

/* sipdance_passport_decode - full form "h.c.s" into plain data */
int sipdance_passport_decode(struct sipdance_passport *pp, const char *jws, size_t len,
			     const char **why)
{
	const char *d1, *d2, *msg;
	json_t *h, *c;

	if (!pp || !jws)
		return sd_fail(why, "no input", EINVAL);
	memset(pp, 0, sizeof(*pp));
	if (len > SIPDANCE_PASSPORT_MAX_TOKEN)
		return sd_fail(why, "PASSporT longer than 4096 bytes", EMSGSIZE);
	d1 = memchr(jws, '.', len);
	d2 = d1 ? memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - jws)) : NULL;
	if (!d2 || memchr(d2 + 1, '.', len - (size_t)(d2 + 1 - jws)))
		return sd_fail(why, "PASSporT is not header.claims.signature", EBADMSG);
	if (d1 == jws || d2 == d1 + 1)
		return sd_fail(why, "compact form: header and claims left out", EBADMSG);
	if (!(h = parse_json(jws, (size_t)(d1 - jws))))
		return sd_fail(why, "header is not base64url JSON", EBADMSG);
	msg = decode_header(pp, h);
	json_decref(h);
	if (msg)
		return sd_fail(why, msg, EBADMSG);
	if (!(c = parse_json(d1 + 1, (size_t)(d2 - d1 - 1))))
		return sd_fail(why, "claims are not base64url JSON", EBADMSG);
	msg = decode_claims(pp, c);
	json_decref(c);
	if (msg)
		return sd_fail(why, msg, EBADMSG);
	return 0;
}
