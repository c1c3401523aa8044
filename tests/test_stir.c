/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_stir.c - STIR/SHAKEN: base64url, deterministic JSON, Identity header
 * forms, canonical TNs, the verification matrix with the exact RFC 8224
 * response and reason of each case, signing, and x5u fetching against a
 * loopback HTTPS server run in a thread of this process.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <CUnit/CUnit.h>
#include <openssl/conf.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <sipdance/stir.h>
#include <sipdance/store.h>
#include "../src/stir-internal.h"
#include "suites.h"

#define IAT 1795896363LL
#define X5U "https://cr.example.net/sti/ee-chain.pem"
#define HDR "{\"alg\":\"ES256\",\"ppt\":\"shaken\",\"typ\":\"passport\",\"x5u\":\"" X5U "\"}"
#define CLAIMS "{\"attest\":\"A\",\"dest\":{\"tn\":[\"12025552000\"]},\"iat\":1795896363," \
	       "\"orig\":{\"tn\":\"12025551000\"},\"origid\":\"123e4567-e89b-12d3-a456-426614174000\"}"
#define PARAMS ";info=<" X5U ">;alg=ES256;ppt=shaken"
#define FP1 "sha-256 02:1A:CC:54:27:AB:EB:9C:53:3F:3E:4B:65:2E:7D:46:3F:54:42:CD:54:F1:7A:03:A2:7D:F9:B0:7F:46:19:B2"
#define FP2 "sha-256 4A:AD:B9:B1:3F:82:18:3B:54:02:12:DF:3E:5D:49:6B:19:E5:7C:AB:3A:2B:0F:21:7E:2A:1C:D3:1E:2F:DA:F1"

/* secsipidx 1.2.0 output (research notes §6b): header and claims decode as given */
static const char secsipidx_token[] =
	"eyJhbGciOiJFUzI1NiIsInBwdCI6InNoYWtlbiIsInR5cCI6InBhc3Nwb3J0IiwieDV1IjoiaHR0cDovLzEyNy4wLjAuMTo0NTA4MC9jZXJ0LnBlbSJ9."
	"eyJhdHRlc3QiOiJBIiwiZGVzdCI6eyJ0biI6WyIxMjAyNTU1MjAwMCJdfSwiaWF0IjoxNzk1ODk2MzM0LCJvcmlnIjp7InRuIjoiMTIwMjU1NTEwMDAifSwib3JpZ2lkIjoiMTIzZTQ1NjctZTg5Yi0xMmQzLWE0NTYtNDI2NjE0MTc0MDAwIn0."
	"KbSnD-OgfkHgpBLwudmMjSKfoYzcanWL3HJSM7rIvoUPs696swYP-JKBCzNzKe9ZUimBbZCUE5h8bHSeQgipBA";

/* secsipidx 1.2.0 -sign-full with tests/data/stir/ee.key, x5u X5U (iat 1795899700): a fixed
 * vector. Re-make it after running tests/data/stir/mkcerts.sh (new keys):
 *   secsipidx -sign-full -orig-tn 12025551000 -dest-tn 12025552000 -attest A
 *   -orig-id 123e4567-e89b-12d3-a456-426614174000 -x5u X5U -k tests/data/stir/ee.key
 * (it ignores -iat and signs at the current time; update .now below to match) */
static const char secsipidx_ee[] =
	"eyJhbGciOiJFUzI1NiIsInBwdCI6InNoYWtlbiIsInR5cCI6InBhc3Nwb3J0IiwieDV1IjoiaHR0cHM6Ly9jci5leGFtcGxlLm5ldC9zdGkvZWUtY2hhaW4ucGVtIn0."
	"eyJhdHRlc3QiOiJBIiwiZGVzdCI6eyJ0biI6WyIxMjAyNTU1MjAwMCJdfSwiaWF0IjoxNzk1ODk5NzAwLCJvcmlnIjp7InRuIjoiMTIwMjU1NTEwMDAifSwib3JpZ2lkIjoiMTIzZTQ1NjctZTg5Yi0xMmQzLWE0NTYtNDI2NjE0MTc0MDAwIn0."
	"Flv8MtrvQE6WtTARdRKI2pIplXdBU_T-3i8mOqdcwLfzzZjBrUYhUCk_7iaOl6pimqCjRmXhjOYI9c1TIse0Cg";

/* path - test_data() in one of 16 rotating buffers, so several can be held */
static const char *path(const char *rel)
{
	static char buf[16][4096];
	static int k;

	k = (k + 1) % 16;
	snprintf(buf[k], sizeof(buf[k]), "%s", test_data(rel));
	return buf[k];
}

/* read_key - a private key of tests/data/stir */
static EVP_PKEY *read_key(const char *name)
{
	FILE *f = fopen(path(name), "r");
	EVP_PKEY *k = f ? PEM_read_PrivateKey(f, NULL, NULL, NULL) : NULL;

	if (f)
		fclose(f);
	return k;
}

/* read_chain - the certificates of a PEM file of tests/data/stir */
static STACK_OF(X509) *read_chain(const char *name)
{
	FILE *f = fopen(path(name), "r");
	STACK_OF(X509) *chain = sk_X509_new_null();
	X509 *x;

	while (f && (x = PEM_read_X509(f, NULL, NULL, NULL)))
		sk_X509_push(chain, x);
	if (f)
		fclose(f);
	ERR_clear_error();
	return chain;
}

/* b64 - base64url of a string, in a new buffer */
static char *b64(const char *s)
{
	char *out = malloc(strlen(s) * 4 / 3 + 4);

	sd_b64url_encode((const uint8_t *)s, strlen(s), out);
	return out;
}

enum sigform { RAW, DER, NONE };

/* mktoken - "h.c.s" from literal JSON, signed by key @kname (RAW or DER
 * signature, or none); @prefix is prepended to the value and @suffix appended */
static char *mktoken(const char *hdr, const char *claims, const char *kname, enum sigform form,
		     const char *suffix)
{
	char *h = b64(hdr), *c = b64(claims), *out;
	size_t n = strlen(h) + strlen(c) + 256 + strlen(suffix);
	unsigned char der[80], raw[64];
	size_t derlen = sizeof(der);
	EVP_PKEY *key = read_key(kname);
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	char sig[160] = "";

	out = malloc(n);
	snprintf(out, n, "%s.%s", h, c);
	if (form != NONE && EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key) == 1 &&
	    EVP_DigestSign(md, der, &derlen, (unsigned char *)out, strlen(out)) == 1) {
		if (form == DER) {
			sd_b64url_encode(der, derlen, sig);
		} else {
			const unsigned char *p = der;
			ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)derlen);
			const BIGNUM *r, *s;

			ECDSA_SIG_get0(es, &r, &s);
			BN_bn2binpad(r, raw, 32);
			BN_bn2binpad(s, raw + 32, 32);
			sd_b64url_encode(raw, 64, sig);
			ECDSA_SIG_free(es);
		}
	}
	snprintf(out + strlen(out), n - strlen(out), ".%s%s", sig, suffix);
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(key);
	free(h);
	free(c);
	return out;
}

/* b64url_cases - encoding vectors and the strictness of decoding */
static void b64url_cases(void)
{
	static const struct { const char *in, *out; } v[] = {
		{ "", "" }, { "f", "Zg" }, { "fo", "Zm8" }, { "foo", "Zm9v" }, { "foob", "Zm9vYg" },
		{ "\xfb\xff", "-_8" },
	};
	uint8_t buf[16];
	size_t n;
	char out[16];

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		sd_b64url_encode((const uint8_t *)v[i].in, strlen(v[i].in), out);
		CU_ASSERT_STRING_EQUAL(out, v[i].out);
		CU_ASSERT_EQUAL(sd_b64url_decode(v[i].out, strlen(v[i].out), buf, sizeof(buf), &n), 0);
		CU_ASSERT_EQUAL(n, strlen(v[i].in));
		CU_ASSERT_EQUAL(memcmp(buf, v[i].in, n), 0);
	}
	CU_ASSERT_EQUAL(sd_b64url_decode("Zg==", 4, buf, sizeof(buf), &n), EBADMSG); /* padding */
	CU_ASSERT_EQUAL(sd_b64url_decode("Zh", 2, buf, sizeof(buf), &n), EBADMSG);   /* unused bits */
	CU_ASSERT_EQUAL(sd_b64url_decode("Z", 1, buf, sizeof(buf), &n), EBADMSG);    /* length 1 mod 4 */
	CU_ASSERT_EQUAL(sd_b64url_decode("Zm+v", 4, buf, sizeof(buf), &n), EBADMSG); /* base64, not url */
	CU_ASSERT_EQUAL(sd_b64url_decode("Zm9vYmFy", 8, buf, 5, &n), EMSGSIZE);
}

/* json_canonical - sorted keys, no white space, mky sorted, equal to secsipid's bytes */
static void json_canonical(void)
{
	struct sipdance_passport pp;
	const char *why = NULL;
	char *h, *c, *dot;

	CU_ASSERT_EQUAL_FATAL(sipdance_passport_decode(&pp, secsipidx_token, strlen(secsipidx_token),
						       &why), 0);
	CU_ASSERT_STRING_EQUAL(pp.x5u, "http://127.0.0.1:45080/cert.pem");
	CU_ASSERT_STRING_EQUAL(pp.ppt, "shaken");
	CU_ASSERT_STRING_EQUAL(pp.orig, "12025551000");
	CU_ASSERT_EQUAL(pp.ndest, 1);
	CU_ASSERT_STRING_EQUAL(pp.dest[0], "12025552000");
	CU_ASSERT_EQUAL(pp.iat, 1795896334LL);
	CU_ASSERT_STRING_EQUAL(pp.attest, "A");
	CU_ASSERT_STRING_EQUAL(pp.origid, "123e4567-e89b-12d3-a456-426614174000");
	/* re-encoded, the header and claims are exactly the bytes secsipid signed */
	c = sd_passport_header_json(&pp);
	h = b64(c);
	dot = strchr(secsipidx_token, '.');
	CU_ASSERT_EQUAL(strncmp(h, secsipidx_token, (size_t)(dot - secsipidx_token)), 0);
	free(h);
	free(c);

	memset(&pp, 0, sizeof(pp));
	strcpy(pp.x5u, X5U);
	strcpy(pp.ppt, "shaken");
	strcpy(pp.orig, "12025551000");
	strcpy(pp.dest[0], "12025552000");
	strcpy(pp.dest[1], "12025552001");
	pp.ndest = 2;
	pp.iat = IAT;
	strcpy(pp.attest, "B");
	strcpy(pp.origid, "x");
	CU_ASSERT_EQUAL(sipdance_passport_mky_parse(FP2, &pp.mky[0], &why), 0);
	CU_ASSERT_EQUAL(sipdance_passport_mky_parse("SHA-1 0a:0b", &pp.mky[1], &why), 0);
	CU_ASSERT_EQUAL(sipdance_passport_mky_parse(FP1, &pp.mky[2], &why), 0);
	pp.nmky = 3;
	c = sd_passport_claims_json(&pp);
	CU_ASSERT_STRING_EQUAL(c, "{\"attest\":\"B\",\"dest\":{\"tn\":[\"12025552000\",\"12025552001\"]},"
			       "\"iat\":1795896363,\"mky\":[{\"alg\":\"sha-1\",\"dig\":\"0A:0B\"},"
			       "{\"alg\":\"sha-256\",\"dig\":\"02:1A:CC:54:27:AB:EB:9C:53:3F:3E:4B:65:2E:7D:46:"
			       "3F:54:42:CD:54:F1:7A:03:A2:7D:F9:B0:7F:46:19:B2\"},{\"alg\":\"sha-256\",\"dig\":"
			       "\"4A:AD:B9:B1:3F:82:18:3B:54:02:12:DF:3E:5D:49:6B:19:E5:7C:AB:3A:2B:0F:21:7E:2A:"
			       "1C:D3:1E:2F:DA:F1\"}],\"orig\":{\"tn\":\"12025551000\"},\"origid\":\"x\"}");
	free(c);
	h = sd_passport_header_json(&pp);
	CU_ASSERT_STRING_EQUAL(h, HDR);
	free(h);
	pp.ppt[0] = '\0';
	strcpy(pp.x5u, "https://a.example/x?a=1&b=<2>/");
	h = sd_passport_header_json(&pp);
	CU_ASSERT_STRING_EQUAL(h, "{\"alg\":\"ES256\",\"typ\":\"passport\",\"x5u\":\"https://a.example/x?a=1&b=<2>/\"}");
	free(h);
}

/* identity_forms - full and compact forms, parameters, and each syntax error */
static void identity_forms(void)
{
	static const struct {
		const char *value;
		int err;
		const char *why;      /* error reason, or the info URL when err is 0 */
		const char *ppt;
		int compact;
	} v[] = {
		{ "aGVhZA.Y2xhaW1z.c2ln;info=<https://a.example/c.pem>;alg=ES256;ppt=shaken", 0,
		  "https://a.example/c.pem", "shaken", 0 },
		{ " aGVhZA.Y2xhaW1z.c2ln ; info = <https://a.example/c.pem> ; ppt=\"shaken\" ;foo=bar;baz\r\n",
		  0, "https://a.example/c.pem", "shaken", 0 },
		{ "..c2ln;info=<https://a.example/c.pem>", 0, "https://a.example/c.pem", "", 1 },
		{ "..c2ln;INFO=<https://a.example/c.pem>;alg=ES256", 0, "https://a.example/c.pem", "", 1 },
		{ "", EINVAL, "Identity value has no PASSporT", NULL, 0 },
		{ ";info=<https://a/>", EINVAL, "Identity value has no PASSporT", NULL, 0 },
		{ "aGVhZA.Y2xhaW1z;info=<https://a/>", EINVAL, "PASSporT is not header.claims.signature", NULL, 0 },
		{ "a.b.c.d;info=<https://a/>", EINVAL, "PASSporT is not header.claims.signature", NULL, 0 },
		{ "a.b.;info=<https://a/>", EINVAL, "PASSporT has no signature", NULL, 0 },
		{ ".b.c;info=<https://a/>", EINVAL, "PASSporT has an empty header or claims part", NULL, 0 },
		{ "a.b.c", EINVAL, "info parameter missing", NULL, 0 },
		{ "a.b.c;alg=ES256", EINVAL, "info parameter missing", NULL, 0 },
		{ "a.b.c;info=https://a/", EINVAL, "info parameter is not <URI>", NULL, 0 },
		{ "a.b.c;info=<nocolon>", EINVAL, "info is not an absolute URI", NULL, 0 },
		{ "a.b.c;info=<https://a/", EINVAL, "unterminated <URI> in parameter", NULL, 0 },
		{ "a.b.c;info=<https://a/>;info=<https://b/>", EINVAL, "duplicate info parameter", NULL, 0 },
		{ "a.b.c;info=<https://a/>;ppt=shaken;ppt=div", EINVAL, "duplicate ppt parameter", NULL, 0 },
		{ "a.b.c;info=<https://a/>;alg=<x>", EINVAL, "alg parameter is not a short token", NULL, 0 },
		{ "a.b.c;info=<https://a/> junk", EINVAL, "unexpected text after the PASSporT", NULL, 0 },
		{ "a.b.c;;info=<https://a/>", EINVAL, "empty parameter", NULL, 0 },
		{ "a.b.c;info=<https://a/>;ppt=", EINVAL, "parameter value missing", NULL, 0 },
		{ "a+b.c.d;info=<https://a/>", EINVAL, "PASSporT is not header.claims.signature", NULL, 0 },
	};
	struct sipdance_identity id;
	char buf[256];

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		const char *why = NULL;
		int err = sipdance_identity_parse(&id, v[i].value, strlen(v[i].value), &why);

		if (err != v[i].err || (err && strcmp(why, v[i].why)))
			fprintf(stderr, "\n  identity case %zu: got %d \"%s\"\n", i, err, why ? why : "");
		CU_ASSERT_EQUAL(err, v[i].err);
		if (err) {
			CU_ASSERT_STRING_EQUAL(why, v[i].why);
			continue;
		}
		CU_ASSERT_STRING_EQUAL(id.info, v[i].why);
		CU_ASSERT_STRING_EQUAL(id.ppt, v[i].ppt);
		CU_ASSERT_EQUAL(id.compact, v[i].compact);
	}
	CU_ASSERT_EQUAL(sipdance_identity_parse(&id, v[1].value, strlen(v[1].value), NULL), 0);
	CU_ASSERT_EQUAL(sipdance_identity_format(&id, buf, sizeof(buf)),
			strlen("aGVhZA.Y2xhaW1z.c2ln;info=<https://a.example/c.pem>;ppt=shaken"));
	CU_ASSERT_STRING_EQUAL(buf, "aGVhZA.Y2xhaW1z.c2ln;info=<https://a.example/c.pem>;ppt=shaken");
}

/* identity_oversized - a token at the limit parses, one byte more does not */
static void identity_oversized(void)
{
	size_t n = SIPDANCE_PASSPORT_MAX_TOKEN + 64;
	char *v = malloc(n);
	struct sipdance_identity *id = malloc(sizeof(*id));
	const char *why = NULL;

	memset(v, 'A', SIPDANCE_PASSPORT_MAX_TOKEN);
	v[10] = v[20] = '.';
	strcpy(v + SIPDANCE_PASSPORT_MAX_TOKEN, ";info=<https://a/>");
	CU_ASSERT_EQUAL(sipdance_identity_parse(id, v, strlen(v), &why), 0);
	memmove(v + 1, v, strlen(v) + 1);
	CU_ASSERT_EQUAL(sipdance_identity_parse(id, v, strlen(v), &why), EMSGSIZE);
	CU_ASSERT_STRING_EQUAL(why, "PASSporT longer than 4096 bytes");
	free(v);
	free(id);
}

/* identity_split - several values in one header field, commas inside <> kept */
static void identity_split(void)
{
	const char *s = " a.b.c;info=<https://x/a,b>, ..d;info=<https://y/> ,", *p = s, *start;
	size_t len;

	CU_ASSERT_EQUAL_FATAL(sd_identity_next(&p, s + strlen(s), &start, &len), 1);
	CU_ASSERT_EQUAL(len, strlen("a.b.c;info=<https://x/a,b>"));
	CU_ASSERT_EQUAL(strncmp(start, "a.b.c;info=<https://x/a,b>", len), 0);
	CU_ASSERT_EQUAL_FATAL(sd_identity_next(&p, s + strlen(s), &start, &len), 1);
	CU_ASSERT_EQUAL(strncmp(start, "..d;info=<https://y/>", len), 0);
	CU_ASSERT_EQUAL(len, strlen("..d;info=<https://y/>"));
	CU_ASSERT_EQUAL(sd_identity_next(&p, s + strlen(s), &start, &len), 0);
}

/* tn_table - RFC 8224 §8.3 canonical forms and the inputs that are not TNs */
static void tn_table(void)
{
	static const struct { const char *in, *tn, *why; } v[] = {
		{ "tel:+1-202-555-1000", "12025551000", NULL },
		{ "tel:+1.202.555.1000;phone-context=+1", "12025551000", NULL },
		{ "tel:+1(202)5551000", "12025551000", NULL },
		{ "sip:+12025551000@example.com;user=phone", "12025551000", NULL },
		{ "sip:+1-202-555-1000;isub=12@example.com;user=phone", "12025551000", NULL },
		{ "sips:+12025551000@example.com", "12025551000", NULL },
		{ "SIP:12025551000@example.com:5061;transport=tls", "12025551000", NULL },
		{ "\"Alice\" <sip:+12025551000@example.com;user=phone>;tag=abc", "12025551000", NULL },
		{ "<tel:+12025551000>", "12025551000", NULL },
		{ "+1 202 555 1000", "12025551000", NULL },
		{ "12025551000", "12025551000", NULL },
		{ "tel:+1-202-555-1000*#", "12025551000*#", NULL },
		{ "tel:+123456789012345", "123456789012345", NULL },
		{ "tel:+1234567890123456", NULL, "telephone number longer than 15 digits" },
		{ "tel:2025551000;phone-context=example.com", NULL, "tel URI is not a global (+) number" },
		{ "tel:", NULL, "tel URI is not a global (+) number" },
		{ "tel:+", NULL, "telephone number has no digits" },
		{ "sip:alice@example.com", NULL, "not a telephone number" },
		{ "sip:alice@example.com;user=phone", NULL, "not a telephone number" },
		{ "sip:%2B12025551000@example.com", NULL, "not a telephone number" },
		{ "sip:example.com", NULL, "SIP URI has no user part" },
		{ "mailto:a@b", NULL, "not a tel:, sip: or sips: URI or a number" },
		{ "<sip:+12025551000@example.com", NULL, "unterminated <URI>" },
		{ "", NULL, "not a tel:, sip: or sips: URI or a number" },
	};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		char tn[SIPDANCE_PASSPORT_MAX_TN];
		const char *why = NULL;
		int err = sipdance_passport_tn(v[i].in, tn, &why);

		if (v[i].tn ? err || strcmp(tn, v[i].tn) : !err || strcmp(why, v[i].why))
			fprintf(stderr, "\n  tn case %zu \"%s\": got %d \"%s\" \"%s\"\n", i, v[i].in, err,
				err ? "" : tn, err ? why : "");
		if (v[i].tn) {
			CU_ASSERT_EQUAL(err, 0);
			CU_ASSERT_STRING_EQUAL(tn, v[i].tn);
		} else {
			CU_ASSERT_EQUAL(err, EINVAL);
			CU_ASSERT_STRING_EQUAL(why, v[i].why);
		}
	}
}

/* mky_longest - 66 pairs fill dig with its NUL; 67 (255 octets, which an SDP
 * attribute may carry) are refused, not stored without a terminator */
static void mky_longest(void)
{
	char fp[8 + 3 * 67];
	struct sipdance_passport_mky a, b;
	const char *why = NULL;

	strcpy(fp, "sha-512 ");
	for (int i = 0; i < 67; i++)
		strcat(fp, i ? ":AB" : "AB");
	CU_ASSERT_EQUAL(sipdance_passport_mky_parse(fp, &a, &why), EINVAL);
	CU_ASSERT_STRING_EQUAL(why, "fingerprint too long");
	fp[strlen(fp) - 3] = '\0';
	CU_ASSERT_EQUAL_FATAL(sipdance_passport_mky_parse(fp, &a, &why), 0);
	CU_ASSERT_EQUAL(strlen(a.dig), 3 * 66 - 1);
	b = a;
	CU_ASSERT(sd_mky_equal(&a, &b));
	b.dig[strlen(b.dig) - 1] = 'C';
	CU_ASSERT(!sd_mky_equal(&a, &b));
}

/* mky_forms - fingerprints compare hash-name and hex case-blind, colon-blind */
static void mky_forms(void)
{
	struct sipdance_passport_mky a, b;
	const char *why = NULL;

	CU_ASSERT_EQUAL(sipdance_passport_mky_parse("SHA-256 0a:1b:2C", &a, &why), 0);
	CU_ASSERT_STRING_EQUAL(a.alg, "sha-256");
	CU_ASSERT_STRING_EQUAL(a.dig, "0A:1B:2C");
	strcpy(b.alg, "sha-256");
	strcpy(b.dig, "0a1b2c");
	CU_ASSERT(sd_mky_equal(&a, &b));
	strcpy(b.dig, "0a1b2d");
	CU_ASSERT(!sd_mky_equal(&a, &b));
	strcpy(b.alg, "sha-1");
	strcpy(b.dig, "0A:1B:2C");
	CU_ASSERT(!sd_mky_equal(&a, &b));
	CU_ASSERT_EQUAL(sipdance_passport_mky_parse("sha-256 0a:1", &a, &why), EINVAL);
	CU_ASSERT_STRING_EQUAL(why, "fingerprint is not colon-separated hex pairs");
	CU_ASSERT_EQUAL(sipdance_passport_mky_parse("sha-256", &a, &why), EINVAL);
	CU_ASSERT_STRING_EQUAL(why, "fingerprint value missing");
	CU_ASSERT_EQUAL(sipdance_passport_mky_parse("sha/256 0a", &a, &why), EINVAL);
	CU_ASSERT_STRING_EQUAL(why, "fingerprint hash name is not a token");
	CU_ASSERT_EQUAL(sipdance_passport_mky_parse("sha-256 0a:0b x", &a, &why), EINVAL);
	CU_ASSERT_STRING_EQUAL(why, "text after the fingerprint");
	mky_longest();
}

/* One row of the verification matrix. */
struct vcase {
	const char *name;
	const char *identity;   /* NULL: built from hdr/claims/form/suffix */
	const char *hdr, *claims;
	enum sigform form;
	const char *suffix;     /* appended to the token (parameters) */
	int tamper;             /* 1 claims, 2 header, 3 signature, after signing */
	const char *chain;
	const char *orig, *dest;
	const char *fp[3];
	long long dt;           /* now = IAT + dt */
	int status;
	const char *reason;
};

/* tamper - change a signed token: a claims byte, a header byte, or a signature byte */
static void tamper(char *t, int what)
{
	char *d1 = strchr(t, '.'), *d2 = strchr(d1 + 1, '.');
	char *p = what == 1 ? d1 + 5 : what == 2 ? t + 5 : d2 + 5;

	*p = *p == 'A' ? 'B' : 'A';
}

/* run_case - verify one row and compare status and reason */
static void run_case(const struct sipdance_stir *s, const struct vcase *c)
{
	struct sipdance_stir_request req = { 0 };
	struct sipdance_stir_verdict v;
	STACK_OF(X509) *chain = read_chain(c->chain ? c->chain : "stir/ee-chain.pem");
	char *id = c->identity ? strdup(c->identity)
			       : mktoken(c->hdr ? c->hdr : HDR, c->claims ? c->claims : CLAIMS, "stir/ee.key",
					 c->form, c->suffix ? c->suffix : PARAMS);
	const char *ids[1] = { id };
	size_t nfp = 0;

	if (c->tamper)
		tamper(id, c->tamper);
	while (nfp < 3 && c->fp[nfp])
		nfp++;
	req.identity = ids;
	req.nidentity = 1;
	req.orig = c->orig ? c->orig : "sip:+12025551000@a.example;user=phone";
	req.dest = c->dest ? c->dest : "tel:+1-202-555-2000";
	req.fingerprints = c->fp;
	req.nfingerprints = nfp;
	req.now = (time_t)(IAT + c->dt);
	CU_ASSERT_EQUAL(sipdance_stir_check(s, &req, chain, &v, NULL), 0);
	if (v.sip_status != c->status || strcmp(v.reason, c->reason))
		fprintf(stderr, "\n  case \"%s\": got %d \"%s\"\n", c->name, v.sip_status, v.reason);
	CU_ASSERT_EQUAL(v.sip_status, c->status);
	CU_ASSERT_STRING_EQUAL(v.reason, c->reason);
	CU_ASSERT_EQUAL(v.result == SIPDANCE_MATCH, c->status == 0);
	sk_X509_pop_free(chain, X509_free);
	free(id);
}

#define OK_REASON "verified: ppt=shaken orig=12025551000 attest=A"
#define MKY_CLAIMS "{\"attest\":\"A\",\"dest\":{\"tn\":[\"12025552000\"]},\"iat\":1795896363," \
		   "\"mky\":[{\"alg\":\"sha-256\",\"dig\":\"" FP1_DIG "\"}],\"orig\":{\"tn\":\"12025551000\"}," \
		   "\"origid\":\"u\"}"
#define FP1_DIG "02:1A:CC:54:27:AB:EB:9C:53:3F:3E:4B:65:2E:7D:46:3F:54:42:CD:54:F1:7A:03:A2:7D:F9:B0:7F:46:19:B2"

static const struct vcase matrix[] = {
	{ .name = "valid", .status = 0, .reason = OK_REASON },
	{ .name = "valid, request in other forms", .orig = "12025551000", .dest = "<sip:+1-202-555-2000@b.example>",
	  .status = 0, .reason = OK_REASON },
	{ .name = "tampered claims", .tamper = 1, .status = 438, .reason = "PASSporT: claims are not base64url JSON" },
	{ .name = "tampered header", .tamper = 2, .status = 438, .reason = "PASSporT: header is not base64url JSON" },
	{ .name = "tampered signature", .tamper = 3, .status = 438, .reason = "signature does not verify" },
	{ .name = "DER signature", .form = DER, .status = 438,
	  .reason = "signature is DER, not raw r||s (RFC 7518 §3.4)" },
	{ .name = "no signature", .form = NONE, .status = 438, .reason = "Identity header: PASSporT has no signature" },
	{ .name = "alg none", .form = NONE,
	  .hdr = "{\"alg\":\"none\",\"ppt\":\"shaken\",\"typ\":\"passport\",\"x5u\":\"" X5U "\"}",
	  .status = 438, .reason = "Identity header: PASSporT has no signature" },
	{ .name = "alg none, signed", .hdr = "{\"alg\":\"none\",\"ppt\":\"shaken\",\"typ\":\"passport\",\"x5u\":\"" X5U "\"}",
	  .status = 438, .reason = "PASSporT: alg is not ES256" },
	{ .name = "alg HS256", .hdr = "{\"alg\":\"HS256\",\"ppt\":\"shaken\",\"typ\":\"passport\",\"x5u\":\"" X5U "\"}",
	  .status = 438, .reason = "PASSporT: alg is not ES256" },
	{ .name = "alg parameter RS256", .suffix = ";info=<" X5U ">;alg=RS256;ppt=shaken",
	  .status = 438, .reason = "alg parameter \"RS256\" not supported (ES256 only)" },
	{ .name = "typ JWT", .hdr = "{\"alg\":\"ES256\",\"ppt\":\"shaken\",\"typ\":\"JWT\",\"x5u\":\"" X5U "\"}",
	  .status = 438, .reason = "PASSporT: typ is not \"passport\"" },
	{ .name = "crit", .hdr = "{\"alg\":\"ES256\",\"crit\":[\"x\"],\"ppt\":\"shaken\",\"typ\":\"passport\",\"x5u\":\"" X5U "\"}",
	  .status = 438, .reason = "PASSporT: crit header parameter not supported" },
	{ .name = "unknown ppt in header", .hdr = "{\"alg\":\"ES256\",\"ppt\":\"foo\",\"typ\":\"passport\",\"x5u\":\"" X5U "\"}",
	  .status = 438, .reason = "PASSporT: unsupported ppt" },
	{ .name = "ppt parameter div, PASSporT shaken", .suffix = ";info=<" X5U ">;alg=ES256;ppt=div",
	  .status = 438, .reason = "ppt parameter \"div\" does not match PASSporT ppt \"shaken\"" },
	{ .name = "ppt parameter missing", .suffix = ";info=<" X5U ">;alg=ES256",
	  .status = 438, .reason = "ppt parameter \"\" does not match PASSporT ppt \"shaken\"" },
	{ .name = "only an unknown ppt", .suffix = ";info=<" X5U ">;alg=ES256;ppt=rph",
	  .status = 438, .reason = "no Identity header with a supported ppt (\"rph\" skipped)" },
	{ .name = "info != x5u", .suffix = ";info=<https://cr.example.net/sti/other.pem>;alg=ES256;ppt=shaken",
	  .status = 438, .reason = "info parameter does not equal x5u" },
	{ .name = "duplicate claim", .claims = "{\"attest\":\"A\",\"attest\":\"C\",\"dest\":{\"tn\":[\"12025552000\"]},"
					      "\"iat\":1795896363,\"orig\":{\"tn\":\"12025551000\"},\"origid\":\"u\"}",
	  .status = 438, .reason = "PASSporT: claims are not base64url JSON" },
	{ .name = "iat string (erratum 5985)", .claims = "{\"attest\":\"A\",\"dest\":{\"tn\":[\"12025552000\"]},"
			"\"iat\":\"1795896363\",\"orig\":{\"tn\":\"12025551000\"},\"origid\":\"u\"}",
	  .status = 438, .reason = "PASSporT: iat missing or not an integer" },
	{ .name = "orig not canonical", .claims = "{\"attest\":\"A\",\"dest\":{\"tn\":[\"12025552000\"]},"
			"\"iat\":1795896363,\"orig\":{\"tn\":\"+12025551000\"},\"origid\":\"u\"}",
	  .status = 438, .reason = "PASSporT: orig.tn is not a canonical telephone number" },
	{ .name = "orig uri", .claims = "{\"attest\":\"A\",\"dest\":{\"tn\":[\"12025552000\"]},"
			"\"iat\":1795896363,\"orig\":{\"uri\":\"sip:a@b\"},\"origid\":\"u\"}",
	  .status = 438, .reason = "PASSporT: orig.uri not supported (telephone numbers only)" },
	{ .name = "dest tn not an array", .claims = "{\"attest\":\"A\",\"dest\":{\"tn\":\"12025552000\"},"
			"\"iat\":1795896363,\"orig\":{\"tn\":\"12025551000\"},\"origid\":\"u\"}",
	  .status = 438, .reason = "PASSporT: dest.tn is not an array of 1-8 numbers" },
	{ .name = "shaken without attest", .claims = "{\"dest\":{\"tn\":[\"12025552000\"]},"
			"\"iat\":1795896363,\"orig\":{\"tn\":\"12025551000\"},\"origid\":\"u\"}",
	  .status = 438, .reason = "PASSporT: shaken PASSporT without attest or origid" },
	{ .name = "attest D", .claims = "{\"attest\":\"D\",\"dest\":{\"tn\":[\"12025552000\"]},"
			"\"iat\":1795896363,\"orig\":{\"tn\":\"12025551000\"},\"origid\":\"u\"}",
	  .status = 438, .reason = "PASSporT: attest is not \"A\", \"B\" or \"C\"" },
	{ .name = "iat 60 s old", .dt = 60, .status = 0, .reason = OK_REASON },
	{ .name = "iat 61 s old", .dt = 61, .status = 403, .reason = "iat is 61 s old (more than 60 s)" },
	{ .name = "iat 60 s ahead", .dt = -60, .status = 0, .reason = OK_REASON },
	{ .name = "iat 61 s ahead", .dt = -61, .status = 403, .reason = "iat is 61 s in the future (more than 60 s)" },
	{ .name = "iat 10 min ahead", .dt = -600, .status = 403, .reason = "iat is 600 s in the future (more than 60 s)" },
	{ .name = "orig mismatch", .orig = "tel:+12025559999", .status = 438,
	  .reason = "orig 12025551000 does not match From 12025559999" },
	{ .name = "From not a number", .orig = "sip:alice@a.example", .status = 438,
	  .reason = "orig: From is not a telephone number (not a telephone number)" },
	{ .name = "dest mismatch", .dest = "tel:+12025559999", .status = 438,
	  .reason = "To 12025559999 is not a dest of the PASSporT" },
	{ .name = "mky matches", .claims = MKY_CLAIMS, .fp = { "SHA-256 " FP1_DIG } , .status = 0, .reason = OK_REASON },
	{ .name = "mky matches, fingerprint twice", .claims = MKY_CLAIMS, .fp = { FP1, FP1 }, .status = 0,
	  .reason = OK_REASON },
	{ .name = "mky mismatch", .claims = MKY_CLAIMS, .fp = { FP2 }, .status = 438,
	  .reason = "mky does not match the SDP fingerprints" },
	{ .name = "mky, SDP has one more", .claims = MKY_CLAIMS, .fp = { FP1, FP2 }, .status = 438,
	  .reason = "mky does not match the SDP fingerprints" },
	{ .name = "mky, SDP has none", .claims = MKY_CLAIMS, .status = 438,
	  .reason = "mky does not match the SDP fingerprints" },
	{ .name = "no mky, SDP has one (not required)", .fp = { FP1 }, .status = 0, .reason = OK_REASON },
	{ .name = "SDP fingerprint malformed", .fp = { "sha-256 zz" }, .status = 438,
	  .reason = "SDP fingerprint unusable: fingerprint is not colon-separated hex pairs" },
	{ .name = "expired certificate", .chain = "stir/expired-chain.pem", .status = 403,
	  .reason = "certificate at depth 0: certificate has expired" },
	{ .name = "no TNAuthList", .chain = "stir/notn-chain.pem", .status = 437,
	  .reason = "certificate has no TNAuthList (RFC 8226)" },
	{ .name = "malformed TNAuthList", .chain = "stir/badtn-chain.pem", .status = 437,
	  .reason = "certificate TNAuthList is malformed" },
	{ .name = "truncated TNAuthList entry", .chain = "stir/trunctn-chain.pem", .status = 437,
	  .reason = "certificate TNAuthList is malformed" },
	{ .name = "untrusted root", .chain = "stir/other-ee-chain.pem", .status = 437,
	  .reason = "certificate at depth 0: unable to get local issuer certificate" },
	{ .name = "intermediate missing", .chain = "stir/ee.pem", .status = 437,
	  .reason = "certificate at depth 0: unable to get local issuer certificate" },
	{ .name = "P-384 credential", .chain = "stir/p384-chain.pem", .status = 437,
	  .reason = "credential is not a P-256 key" },
	{ .name = "no Identity value", .identity = "", .status = 428, .reason = "no Identity header" },
};

/* verify_matrix - every row with its exact response code and reason */
static void verify_matrix(void)
{
	struct sipdance_stir_conf conf = { .size = sizeof(conf), .ca_file = path("stir/root.pem") };
	struct sipdance_stir *s = NULL;

	CU_ASSERT_EQUAL_FATAL(sipdance_stir_alloc(&s, &conf), 0);
	for (size_t i = 0; i < sizeof(matrix) / sizeof(matrix[0]); i++)
		run_case(s, &matrix[i]);
	sipdance_stir_free(s);
}

/* verify_other_key - a valid token checked against another trusted key: 438 */
static void verify_other_key(void)
{
	struct sipdance_stir_conf conf = { .size = sizeof(conf), .ca_file = path("stir/root.pem") };
	struct sipdance_stir_verdict v;
	struct sipdance_stir *s = NULL;
	STACK_OF(X509) *chain = read_chain("stir/ee-chain.pem");
	char *id = mktoken(HDR, CLAIMS, "stir/expired.key", RAW, PARAMS);
	const char *ids[] = { id };
	struct sipdance_stir_request req = { .identity = ids, .nidentity = 1, .now = (time_t)IAT };

	CU_ASSERT_EQUAL_FATAL(sipdance_stir_alloc(&s, &conf), 0);
	CU_ASSERT_EQUAL(sipdance_stir_check(s, &req, chain, &v, NULL), 0);
	CU_ASSERT_EQUAL(v.sip_status, 438);
	CU_ASSERT_STRING_EQUAL(v.reason, "signature does not verify");
	sipdance_stir_free(s);
	sk_X509_pop_free(chain, X509_free);
	free(id);
}

/* chain_memory - a chain validated once is not trusted outside its validity window */
static void chain_memory(void)
{
	struct sipdance_stir_conf conf = { .size = sizeof(conf), .ca_file = path("stir/root.pem") };
	struct sipdance_stir_signer_conf sc = { .size = sizeof(sc), .key_file = path("stir/ee.key"), .x5u = X5U };
	struct sipdance_passport pp = { .orig = "12025551000", .dest = { "12025552000" }, .ndest = 1,
					.attest = "A", .iat = IAT };
	struct sipdance_stir_signer *signer = NULL;
	struct sipdance_stir *s = NULL;
	struct sipdance_stir_verdict v;
	STACK_OF(X509) *chain = read_chain("stir/ee-chain.pem");
	char id[8192], late[8192], *semi, *sig;
	const char *ids[] = { id };
	struct sipdance_stir_request req = { .identity = ids, .nidentity = 1, .now = (time_t)IAT };

	CU_ASSERT_EQUAL_FATAL(sipdance_stir_alloc(&s, &conf), 0);
	CU_ASSERT_EQUAL_FATAL(sipdance_stir_signer_alloc(&signer, &sc, NULL), 0);
	CU_ASSERT_EQUAL_FATAL(sipdance_stir_sign(signer, &pp, id, sizeof(id), NULL), 0);
	pp.iat = 4891363200LL; /* 2125-01-01 00:00:00 UTC, the fixtures' notAfter, plus a day */
	pp.iat += 86400;
	CU_ASSERT_EQUAL_FATAL(sipdance_stir_sign(signer, &pp, late, sizeof(late), NULL), 0);
	for (int i = 0; i < 2; i++) { /* the second time from the memory of validated chains */
		CU_ASSERT_EQUAL(sipdance_stir_check(s, &req, chain, &v, NULL), 0);
		CU_ASSERT_EQUAL(v.sip_status, 0);
	}
	/* the remembered chain's prepared key still checks every signature: one
	 * changed character of the signature (the 10th of its 86) is refused */
	strcpy(late, id);
	*(semi = strchr(late, ';')) = '\0';
	sig = strrchr(late, '.') + 10;
	*sig = *sig == 'A' ? 'B' : 'A';
	*semi = ';';
	ids[0] = late;
	CU_ASSERT_EQUAL(sipdance_stir_check(s, &req, chain, &v, NULL), 0);
	CU_ASSERT_EQUAL(v.sip_status, 438);
	CU_ASSERT_EQUAL(sipdance_stir_sign(signer, &pp, late, sizeof(late), NULL), 0);
	ids[0] = late;
	req.now = (time_t)pp.iat;
	CU_ASSERT_EQUAL(sipdance_stir_check(s, &req, chain, &v, NULL), 0);
	CU_ASSERT_EQUAL(v.sip_status, 403);
	CU_ASSERT_PTR_NOT_NULL(strstr(v.reason, "certificate has expired"));
	sipdance_stir_signer_free(signer);
	sipdance_stir_free(s);
	sk_X509_pop_free(chain, X509_free);
}

/* verify_oversized - a PASSporT over 4096 bytes is refused before decoding */
static void verify_oversized(void)
{
	struct sipdance_stir_conf conf = { .size = sizeof(conf), .ca_file = path("stir/root.pem") };
	struct sipdance_stir_verdict v;
	struct sipdance_stir *s = NULL;
	STACK_OF(X509) *chain = read_chain("stir/ee-chain.pem");
	char claims[4000], *id;
	const char *ids[1];
	struct sipdance_stir_request req = { .identity = ids, .nidentity = 1, .now = (time_t)IAT };

	snprintf(claims, sizeof(claims), "{\"attest\":\"A\",\"dest\":{\"tn\":[\"12025552000\"]},\"iat\":1795896363,"
		 "\"orig\":{\"tn\":\"12025551000\"},\"origid\":\"u\",\"pad\":\"%3000d\"}", 0);
	ids[0] = id = mktoken(HDR, claims, "stir/ee.key", RAW, PARAMS);
	CU_ASSERT_EQUAL_FATAL(sipdance_stir_alloc(&s, &conf), 0);
	CU_ASSERT_EQUAL(sipdance_stir_check(s, &req, chain, &v, NULL), 0);
	CU_ASSERT_EQUAL(v.sip_status, 438);
	CU_ASSERT_STRING_EQUAL(v.reason, "Identity header: PASSporT longer than 4096 bytes");
	sipdance_stir_free(s);
	sk_X509_pop_free(chain, X509_free);
	free(id);
}

/* verify_secsipidx - the fixed token secsipidx made with our fixture key */
static void verify_secsipidx(void)
{
	struct sipdance_stir_conf conf = { .size = sizeof(conf), .ca_file = path("stir/root.pem") };
	struct sipdance_stir_verdict v;
	struct sipdance_passport pp;
	struct sipdance_stir *s = NULL;
	STACK_OF(X509) *chain = read_chain("stir/ee-chain.pem");
	char id[2048];
	const char *ids[] = { id };
	struct sipdance_stir_request req = { .identity = ids, .nidentity = 1, .now = 1795899700,
					     .orig = "12025551000", .dest = "12025552000" };

	snprintf(id, sizeof(id), "%s%s", secsipidx_ee, PARAMS);
	CU_ASSERT_EQUAL_FATAL(sipdance_stir_alloc(&s, &conf), 0);
	CU_ASSERT_EQUAL(sipdance_stir_check(s, &req, chain, &v, &pp), 0);
	CU_ASSERT_EQUAL(v.sip_status, 0);
	CU_ASSERT_STRING_EQUAL(v.reason, OK_REASON);
	CU_ASSERT_STRING_EQUAL(pp.origid, "123e4567-e89b-12d3-a456-426614174000");
	id[strlen(secsipidx_ee) - 3] ^= 1; /* one signature byte */
	CU_ASSERT_EQUAL(sipdance_stir_check(s, &req, chain, &v, &pp), 0);
	CU_ASSERT_EQUAL(v.sip_status, 438);
	sipdance_stir_free(s);
	sk_X509_pop_free(chain, X509_free);
}

/* sign_roundtrip - our signer's output verifies; ranges, bad keys, attest */
static void sign_roundtrip(void)
{
	static const char *const ranges[] = { "1202555*", "13115550100" };
	struct sipdance_stir_signer_conf sc = { .size = sizeof(sc), .key_file = path("stir/ee.key"), .x5u = X5U,
						.orig_ranges = ranges, .nranges = 2 };
	struct sipdance_stir_conf conf = { .size = sizeof(conf), .ca_file = path("stir/root.pem"), .require_mky = 1 };
	struct sipdance_passport pp = { .orig = "12025551000", .dest = { "12025552000" }, .ndest = 1,
					.attest = "B", .iat = IAT };
	struct sipdance_stir_signer *signer = NULL;
	struct sipdance_stir *s = NULL;
	struct sipdance_stir_verdict v;
	struct sipdance_passport out;
	STACK_OF(X509) *chain = read_chain("stir/ee-chain.pem");
	char id[8192];
	const char *ids[] = { id }, *why = NULL, *fps[] = { FP2, FP1 };
	struct sipdance_stir_request req = { .identity = ids, .nidentity = 1, .now = (time_t)IAT,
					     .orig = "tel:+12025551000", .dest = "tel:+12025552000",
					     .fingerprints = fps, .nfingerprints = 2 };

	CU_ASSERT_EQUAL_FATAL(sipdance_stir_signer_alloc(&signer, &sc, &why), 0);
	CU_ASSERT_EQUAL_FATAL(sipdance_stir_alloc(&s, &conf), 0);
	CU_ASSERT_EQUAL(sipdance_passport_mky_parse(FP1, &pp.mky[0], NULL), 0);
	CU_ASSERT_EQUAL(sipdance_passport_mky_parse(FP2, &pp.mky[1], NULL), 0);
	pp.nmky = 2;
	CU_ASSERT_EQUAL_FATAL(sipdance_stir_sign(signer, &pp, id, sizeof(id), &why), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(id, PARAMS));
	CU_ASSERT_EQUAL(sipdance_stir_check(s, &req, chain, &v, &out), 0);
	CU_ASSERT_EQUAL(v.sip_status, 0);
	CU_ASSERT_STRING_EQUAL(v.reason, "verified: ppt=shaken orig=12025551000 attest=B");
	CU_ASSERT_EQUAL(strlen(out.origid), 36); /* a random UUID was made */
	CU_ASSERT_EQUAL(out.origid[14], '4');
	CU_ASSERT_EQUAL(out.nmky, 2);
	/* require_mky: the same call without mky fails */
	pp.nmky = 0;
	CU_ASSERT_EQUAL_FATAL(sipdance_stir_sign(signer, &pp, id, sizeof(id), &why), 0);
	CU_ASSERT_EQUAL(sipdance_stir_check(s, &req, chain, &v, &out), 0);
	CU_ASSERT_EQUAL(v.sip_status, 438);
	CU_ASSERT_STRING_EQUAL(v.reason, "SDP has fingerprints but the PASSporT has no mky");
	/* number ranges */
	strcpy(pp.orig, "13115550100");
	CU_ASSERT_EQUAL(sipdance_stir_sign(signer, &pp, id, sizeof(id), &why), 0);
	strcpy(pp.orig, "13115550101");
	CU_ASSERT_EQUAL(sipdance_stir_sign(signer, &pp, id, sizeof(id), &why), EPERM);
	CU_ASSERT_STRING_EQUAL(why, "orig is outside the configured number ranges");
	strcpy(pp.orig, "+12025551000");
	CU_ASSERT_EQUAL(sipdance_stir_sign(signer, &pp, id, sizeof(id), &why), EINVAL);
	strcpy(pp.orig, "12025551000");
	strcpy(pp.attest, "D");
	CU_ASSERT_EQUAL(sipdance_stir_sign(signer, &pp, id, sizeof(id), &why), EINVAL);
	strcpy(pp.attest, "A");
	CU_ASSERT_EQUAL(sipdance_stir_sign(signer, &pp, id, 100, &why), EMSGSIZE);
	sipdance_stir_signer_free(signer);
	signer = NULL;
	sc.key_file = path("stir/p384.key");
	CU_ASSERT_EQUAL(sipdance_stir_signer_alloc(&signer, &sc, &why), EINVAL);
	CU_ASSERT_STRING_EQUAL(why, "key is not an EC P-256 private key");
	sc.key_file = path("stir/ee.pem");
	CU_ASSERT_EQUAL(sipdance_stir_signer_alloc(&signer, &sc, &why), EINVAL);
	sc.key_file = path("stir/nonexistent.key");
	CU_ASSERT_EQUAL(sipdance_stir_signer_alloc(&signer, &sc, &why), ENOENT);
	sc.key_file = path("stir/ee.key");
	sc.x5u = "file:///etc/passwd";
	CU_ASSERT_EQUAL(sipdance_stir_signer_alloc(&signer, &sc, &why), EINVAL);
	CU_ASSERT_PTR_NULL(signer);
	sipdance_stir_signer_free(NULL);
	sipdance_stir_free(s);
	sk_X509_pop_free(chain, X509_free);
}

/* sign_value - sign @pp with @key into a new string */
static char *sign_value(const char *key, const struct sipdance_passport *pp)
{
	struct sipdance_stir_signer_conf sc = { .size = sizeof(sc), .key_file = path(key), .x5u = X5U };
	struct sipdance_stir_signer *signer = NULL;
	char *out = malloc(8192);

	CU_ASSERT_EQUAL(sipdance_stir_signer_alloc(&signer, &sc, NULL), 0);
	CU_ASSERT_EQUAL(sipdance_stir_sign(signer, pp, out, 8192, NULL), 0);
	sipdance_stir_signer_free(signer);
	return out;
}

/* div_chain - an original PASSporT plus a div PASSporT (RFC 8946) */
static void div_chain(void)
{
	struct sipdance_stir_conf conf = { .size = sizeof(conf), .ca_file = path("stir/root.pem") };
	struct sipdance_passport orig = { .orig = "12025551000", .dest = { "12025552000" }, .ndest = 1,
					  .attest = "A", .iat = IAT };
	struct sipdance_passport div = { .ppt = "div", .orig = "12025551000", .dest = { "13035553000" },
					 .ndest = 1, .div = "12025552000", .iat = IAT };
	struct sipdance_stir *s = NULL;
	struct sipdance_stir_verdict v;
	STACK_OF(X509) *chain = read_chain("stir/ee-chain.pem");
	char *a = sign_value("stir/ee.key", &orig), *b = sign_value("stir/ee.key", &div), both[16384];
	const char *ids[] = { a, b };
	struct sipdance_stir_request req = { .identity = ids, .nidentity = 2, .now = (time_t)IAT,
					     .orig = "12025551000", .dest = "13035553000" };

	CU_ASSERT_PTR_NOT_NULL(strstr(b, ";ppt=div"));
	CU_ASSERT_EQUAL_FATAL(sipdance_stir_alloc(&s, &conf), 0);
	CU_ASSERT_EQUAL(sipdance_stir_check(s, &req, chain, &v, NULL), 0);
	CU_ASSERT_EQUAL(v.sip_status, 0);
	CU_ASSERT_STRING_EQUAL(v.reason, "verified: ppt=shaken orig=12025551000 attest=A (with div)");
	/* the same two values in one header field, comma-separated */
	snprintf(both, sizeof(both), "%s, %s", a, b);
	ids[0] = both;
	req.nidentity = 1;
	CU_ASSERT_EQUAL(sipdance_stir_check(s, &req, chain, &v, NULL), 0);
	CU_ASSERT_EQUAL(v.sip_status, 0);
	/* To is the original target, not the diverted one */
	req.dest = "12025552000";
	CU_ASSERT_EQUAL(sipdance_stir_check(s, &req, chain, &v, NULL), 0);
	CU_ASSERT_EQUAL(v.sip_status, 438);
	CU_ASSERT_STRING_EQUAL(v.reason, "To 12025552000 is not a dest of any div PASSporT");
	/* div alone */
	ids[0] = b;
	req.dest = "13035553000";
	CU_ASSERT_EQUAL(sipdance_stir_check(s, &req, chain, &v, NULL), 0);
	CU_ASSERT_EQUAL(v.sip_status, 438);
	CU_ASSERT_STRING_EQUAL(v.reason, "div PASSporT without the original PASSporT");
	req.dest = NULL; /* also when To is not compared */
	CU_ASSERT_EQUAL(sipdance_stir_check(s, &req, chain, &v, NULL), 0);
	CU_ASSERT_EQUAL(v.sip_status, 438);
	CU_ASSERT_STRING_EQUAL(v.reason, "div PASSporT without the original PASSporT");
	req.dest = "13035553000";
	/* div names a number the original did not call */
	free(b);
	strcpy(div.div, "12025552999");
	b = sign_value("stir/ee.key", &div);
	ids[0] = a;
	ids[1] = b;
	req.nidentity = 2;
	CU_ASSERT_EQUAL(sipdance_stir_check(s, &req, chain, &v, NULL), 0);
	CU_ASSERT_EQUAL(v.sip_status, 438);
	CU_ASSERT_STRING_EQUAL(v.reason, "div 12025552999 is not a dest of the original PASSporT");
	CU_ASSERT_EQUAL(v.index, 1);
	sipdance_stir_free(s);
	sk_X509_pop_free(chain, X509_free);
	free(a);
	free(b);
}

/* tn_cert - a certificate for @pub issued by @issuer with @ikey, a CA or not,
 * with the TNAuthList OpenSSL's ASN.1 generator makes of @tnauth (sections of
 * an openssl.cnf, the list in [tn]; or "DER:hex" as given; NULL: none) */
static X509 *tn_cert(EVP_PKEY *pub, X509 *issuer, EVP_PKEY *ikey, const char *tnauth, int ca)
{
	X509 *x = X509_new();
	CONF *cnf = NCONF_new(NULL);
	BIO *b = BIO_new_mem_buf(tnauth ? tnauth : "", -1);
	X509V3_CTX v3;
	X509_EXTENSION *ext;
	X509_NAME *name = X509_NAME_new();
	long line;

	if (tnauth && strncmp(tnauth, "DER:", 4))
		CU_ASSERT_FATAL(NCONF_load_bio(cnf, b, &line) == 1);
	X509_set_version(x, X509_VERSION_3);
	ASN1_INTEGER_set(X509_get_serialNumber(x), ca ? 4243 : 4242);
	X509_set_issuer_name(x, X509_get_subject_name(issuer));
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
				   (const unsigned char *)(ca ? "TN fixture CA" : "TN fixture"), -1, -1, 0);
	X509_set_subject_name(x, name);
	ASN1_TIME_set_string(X509_getm_notBefore(x), "20250101000000Z");
	ASN1_TIME_set_string(X509_getm_notAfter(x), "21250101000000Z");
	X509_set_pubkey(x, pub);
	X509V3_set_ctx(&v3, issuer, x, NULL, NULL, 0);
	X509V3_set_nconf(&v3, cnf);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ext = X509V3_EXT_nconf(cnf, &v3, "basicConstraints",
							    ca ? "critical,CA:TRUE" : "critical,CA:FALSE"));
	X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	if (tnauth) {
		ext = X509V3_EXT_nconf(cnf, &v3, "1.3.6.1.5.5.7.1.26",
				       strncmp(tnauth, "DER:", 4) ? "ASN1:SEQUENCE:tn" : tnauth);
		CU_ASSERT_PTR_NOT_NULL_FATAL(ext);
		X509_add_ext(x, ext, -1);
		X509_EXTENSION_free(ext);
	}
	CU_ASSERT_FATAL(X509_sign(x, ikey, EVP_sha256()) > 0);
	X509_NAME_free(name);
	NCONF_free(cnf);
	BIO_free(b);
	return x;
}

/* tn_chain - [end entity, intermediate]: ee.key's public key certified by
 * int.key with the TNAuthList @tnauth (see tn_cert) */
static STACK_OF(X509) *tn_chain(const char *tnauth)
{
	STACK_OF(X509) *chain = read_chain("stir/int.pem");
	EVP_PKEY *ee = read_key("stir/ee.key"), *ik = read_key("stir/int.key");

	sk_X509_insert(chain, tn_cert(ee, sk_X509_value(chain, 0), ik, tnauth, 0), 0);
	EVP_PKEY_free(ee);
	EVP_PKEY_free(ik);
	return chain;
}

/* delegate_chain - [end entity, delegating CA]: a CA of its own key under the
 * fixture root with TNAuthList @ca_tn, and ee.key certified by it with @ee_tn */
static STACK_OF(X509) *delegate_chain(const char *ca_tn, const char *ee_tn)
{
	STACK_OF(X509) *chain = sk_X509_new_null(), *root = read_chain("stir/root.pem");
	EVP_PKEY *ee = read_key("stir/ee.key"), *rk = read_key("stir/root.key"), *ck = EVP_EC_gen("P-256");
	X509 *ca = tn_cert(ck, sk_X509_value(root, 0), rk, ca_tn, 1);

	sk_X509_push(chain, tn_cert(ee, ca, ck, ee_tn, 0));
	sk_X509_push(chain, ca);
	sk_X509_pop_free(root, X509_free);
	EVP_PKEY_free(ee);
	EVP_PKEY_free(rk);
	EVP_PKEY_free(ck);
	return chain;
}

#define TN_ONE(n) "[tn]\ne = EXP:2,IA5:" n "\n"
#define TN_RANGE(start, count) "[tn]\ne = EXP:1,SEQUENCE:r\n[r]\ns = IA5:" start "\nc = INT:" count "\n"
#define NOT_COVERED(n) "certificate TNAuthList does not cover orig " n
#define MALFORMED "certificate TNAuthList is malformed"

/* One certificate scope case: a PASSporT for @orig, From @from (default tel:+orig). */
struct tncase {
	const char *name, *tnauth, *orig, *from;
	int status;
	const char *reason;
};

static const struct tncase tn_cases[] = {
	{ "one number, another orig", TN_ONE("15551230000"), "12025551000", NULL, 437, NOT_COVERED("12025551000") },
	{ "one number, that orig", TN_ONE("15551230000"), "15551230000", NULL, 0, NULL },
	{ "one number, From with visual separators", TN_ONE("15551230000"), "15551230000",
	  "<sip:+1 (555) 123-0000@a.example;user=phone>", 0, NULL },
	{ "one number, a longer orig it prefixes", TN_ONE("1555123000"), "15551230000", NULL, 437,
	  NOT_COVERED("15551230000") },
	{ "two numbers, the second", "[tn]\na = EXP:2,IA5:15551230000\nb = EXP:2,IA5:12025551000\n",
	  "12025551000", NULL, 0, NULL },
	{ "range, its start", TN_RANGE("15551230000", "100"), "15551230000", NULL, 0, NULL },
	{ "range, its last number (start + count - 1)", TN_RANGE("15551230000", "100"), "15551230099", NULL, 0, NULL },
	{ "range, one past its end", TN_RANGE("15551230000", "100"), "15551230100", NULL, 437, NOT_COVERED("15551230100") },
	{ "range, one before its start", TN_RANGE("15551230000", "100"), "15551229999", NULL, 437,
	  NOT_COVERED("15551229999") },
	{ "range, a shorter orig inside numerically", TN_RANGE("15551230000", "100"), "1555123005", NULL, 437,
	  NOT_COVERED("1555123005") },
	{ "range, a longer orig with the start as prefix", TN_RANGE("15551230000", "100"), "155512300001", NULL, 437,
	  NOT_COVERED("155512300001") },
	{ "range, count 2: the second number", TN_RANGE("15551230000", "2"), "15551230001", NULL, 0, NULL },
	{ "range, count 2: the third", TN_RANGE("15551230000", "2"), "15551230002", NULL, 437, NOT_COVERED("15551230002") },
	{ "range across a power of ten: same length only", TN_RANGE("99", "5"), "100", NULL, 437, NOT_COVERED("100") },
	{ "range with leading zeros", TN_RANGE("0044", "10"), "0053", NULL, 0, NULL },
	{ "range, count beyond 64 bits", TN_RANGE("15551230000", "0x1FFFFFFFFFFFFFFFFFFFF"), "19999999999", NULL, 0, NULL },
	{ "range, count beyond 64 bits, other length", TN_RANGE("15551230000", "0x1FFFFFFFFFFFFFFFFFFFF"), "199999999999",
	  NULL, 437, NOT_COVERED("199999999999") },
	{ "range whose start has *", TN_RANGE("1555123*", "10"), "15551230", NULL, 437, NOT_COVERED("15551230") },
	{ "range count 1", TN_RANGE("15551230000", "1"), "15551230000", NULL, 437, MALFORMED },
	{ "range count 0", TN_RANGE("15551230000", "0"), "15551230000", NULL, 437, MALFORMED },
	{ "range count -5", TN_RANGE("15551230000", "-5"), "15551230000", NULL, 437, MALFORMED },
	{ "SPC only (SHAKEN): any orig", "[tn]\na = EXP:0,IA5:1234\n", "12025551000", NULL, 0, NULL },
	{ "SPC and a number: the number bounds it", "[tn]\na = EXP:0,IA5:1234\nb = EXP:2,IA5:15551230000\n",
	  "12025551000", NULL, 437, NOT_COVERED("12025551000") },
	{ "number with a +", TN_ONE("+15551230000"), "15551230000", NULL, 437, MALFORMED },
	{ "number of 16 digits", TN_ONE("1555123000012345"), "15551230000", NULL, 437, MALFORMED },
	{ "empty number", TN_ONE(""), "15551230000", NULL, 437, MALFORMED },
	{ "number as UTF8String", "[tn]\ne = EXP:2,UTF8:15551230000\n", "15551230000", NULL, 437, MALFORMED },
	{ "number implicitly tagged", "[tn]\ne = IMP:2,IA5:15551230000\n", "15551230000", NULL, 437, MALFORMED },
	{ "unknown entry tag [3]", "[tn]\ne = EXP:3,IA5:15551230000\n", "15551230000", NULL, 437, MALFORMED },
	{ "a NUL inside the number", "DER:30:0f:a2:0d:16:0b:31:35:35:35:31:32:33:30:00:30:30", "15551230",
	  NULL, 437, MALFORMED },
	{ "bytes after the list", "DER:30:0f:a2:0d:16:0b:31:35:35:35:31:32:33:30:30:30:30:00", "15551230000",
	  NULL, 437, MALFORMED },
	{ "the list alone, well formed (control of the two above)",
	  "DER:30:0f:a2:0d:16:0b:31:35:35:35:31:32:33:30:30:30:30", "15551230000", NULL, 0, NULL },
};

/* tn_scope_table - RFC 8226 TNAuthList scope: one numbers, ranges (start and
 * count), SPCs, encodings; each row its exact response and reason */
static void tn_scope_table(void)
{
	struct sipdance_stir_conf conf = { .size = sizeof(conf), .ca_file = path("stir/root.pem") };
	struct sipdance_stir *s = NULL;

	CU_ASSERT_EQUAL_FATAL(sipdance_stir_alloc(&s, &conf), 0);
	for (size_t i = 0; i < sizeof(tn_cases) / sizeof(tn_cases[0]); i++) {
		const struct tncase *c = &tn_cases[i];
		char claims[512], from[64], ok[128];
		STACK_OF(X509) *chain = tn_chain(c->tnauth);
		struct sipdance_stir_verdict v;
		struct sipdance_stir_request req = { .nidentity = 1, .dest = "12025552000",
						     .now = (time_t)IAT };
		char *id;
		const char *ids[1];

		snprintf(claims, sizeof(claims), "{\"attest\":\"A\",\"dest\":{\"tn\":[\"12025552000\"]},"
			 "\"iat\":1795896363,\"orig\":{\"tn\":\"%s\"},\"origid\":\"u\"}", c->orig);
		snprintf(from, sizeof(from), "tel:+%s", c->orig);
		snprintf(ok, sizeof(ok), "verified: ppt=shaken orig=%s attest=A", c->orig);
		id = mktoken(HDR, claims, "stir/ee.key", RAW, PARAMS);
		ids[0] = id;
		req.identity = ids;
		req.orig = c->from ? c->from : from;
		CU_ASSERT_EQUAL(sipdance_stir_check(s, &req, chain, &v, NULL), 0);
		if (v.sip_status != c->status || strcmp(v.reason, c->reason ? c->reason : ok))
			fprintf(stderr, "\n  case \"%s\": got %d \"%s\"\n", c->name, v.sip_status, v.reason);
		CU_ASSERT_EQUAL(v.sip_status, c->status);
		CU_ASSERT_STRING_EQUAL(v.reason, c->reason ? c->reason : ok);
		CU_ASSERT_EQUAL(v.result == SIPDANCE_MATCH, c->status == 0);
		sk_X509_pop_free(chain, X509_free);
		free(id);
	}
	sipdance_stir_free(s);
}

/* tn_scope_delegate - a delegate certificate's numbers lie within its issuer's
 * (RFC 9060): a CA whose TNAuthList names numbers bounds what it certifies */
static void tn_scope_delegate(void)
{
	static const struct {
		const char *ca_tn, *ee_tn;
		int status;
		const char *reason;
	} rows[] = {
		{ TN_ONE("15551230000"), TN_ONE("12025551000"), 437,
		  "certificate at depth 1: TNAuthList does not cover orig 12025551000" },
		{ TN_RANGE("12025550000", "10000"), TN_ONE("12025551000"), 0, NULL },
		{ TN_RANGE("12025550000", "1000"), TN_ONE("12025551000"), 437,
		  "certificate at depth 1: TNAuthList does not cover orig 12025551000" },
		{ "[tn]\na = EXP:0,IA5:1234\n", TN_ONE("12025551000"), 0, NULL },
		{ NULL, TN_ONE("12025551000"), 0, NULL },
		{ TN_RANGE("12025550000", "1"), TN_ONE("12025551000"), 437,
		  "certificate at depth 1: TNAuthList is malformed" },
		{ TN_ONE("12025551000"), TN_ONE("15551230000"), 437, NOT_COVERED("12025551000") },
	};
	struct sipdance_stir_conf conf = { .size = sizeof(conf), .ca_file = path("stir/root.pem") };
	struct sipdance_stir *s = NULL;
	char *id = mktoken(HDR, CLAIMS, "stir/ee.key", RAW, PARAMS);
	const char *ids[] = { id };
	struct sipdance_stir_request req = { .identity = ids, .nidentity = 1, .now = (time_t)IAT,
					     .orig = "12025551000", .dest = "12025552000" };

	CU_ASSERT_EQUAL_FATAL(sipdance_stir_alloc(&s, &conf), 0);
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		STACK_OF(X509) *chain = delegate_chain(rows[i].ca_tn, rows[i].ee_tn);
		struct sipdance_stir_verdict v;

		CU_ASSERT_EQUAL(sipdance_stir_check(s, &req, chain, &v, NULL), 0);
		if (v.sip_status != rows[i].status)
			fprintf(stderr, "\n  delegate row %zu: got %d \"%s\"\n", i, v.sip_status, v.reason);
		CU_ASSERT_EQUAL(v.sip_status, rows[i].status);
		CU_ASSERT_STRING_EQUAL(v.reason, rows[i].reason ? rows[i].reason : OK_REASON);
		sk_X509_pop_free(chain, X509_free);
	}
	sipdance_stir_free(s);
	free(id);
}

/* tn_scope_div - a div PASSporT is held to its div number (the retargeting
 * party signs it), the original PASSporT to orig */
static void tn_scope_div(void)
{
	static const struct {
		const char *tnauth;
		int status;
		const char *reason;
	} rows[] = {
		{ "[tn]\na = EXP:2,IA5:12025551000\nb = EXP:2,IA5:12025552000\n", 0, NULL },
		{ TN_ONE("12025551000"), 437, "certificate TNAuthList does not cover div 12025552000" },
		{ TN_ONE("12025552000"), 437, NOT_COVERED("12025551000") },
	};
	struct sipdance_stir_conf conf = { .size = sizeof(conf), .ca_file = path("stir/root.pem") };
	struct sipdance_passport orig = { .orig = "12025551000", .dest = { "12025552000" }, .ndest = 1,
					  .attest = "A", .iat = IAT };
	struct sipdance_passport div = { .ppt = "div", .orig = "12025551000", .dest = { "13035553000" },
					 .ndest = 1, .div = "12025552000", .iat = IAT };
	struct sipdance_stir *s = NULL;
	char *a = sign_value("stir/ee.key", &orig), *b = sign_value("stir/ee.key", &div);
	const char *ids[] = { a, b };
	struct sipdance_stir_request req = { .identity = ids, .nidentity = 2, .now = (time_t)IAT,
					     .orig = "12025551000", .dest = "13035553000" };

	CU_ASSERT_EQUAL_FATAL(sipdance_stir_alloc(&s, &conf), 0);
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		STACK_OF(X509) *chain = tn_chain(rows[i].tnauth);
		struct sipdance_stir_verdict v;

		CU_ASSERT_EQUAL(sipdance_stir_check(s, &req, chain, &v, NULL), 0);
		CU_ASSERT_EQUAL(v.sip_status, rows[i].status);
		CU_ASSERT_STRING_EQUAL(v.reason, rows[i].reason ? rows[i].reason
					   : "verified: ppt=shaken orig=12025551000 attest=A (with div)");
		sk_X509_pop_free(chain, X509_free);
	}
	sipdance_stir_free(s);
	free(a);
	free(b);
}

/* compact_form - "..signature": header and claims rebuilt from From, To, Date, SDP */
static void compact_form(void)
{
	struct sipdance_stir_conf conf = { .size = sizeof(conf), .ca_file = path("stir/root.pem") };
	struct sipdance_stir *s = NULL;
	struct sipdance_stir_verdict v;
	STACK_OF(X509) *chain = read_chain("stir/ee-chain.pem");
	char *full = mktoken("{\"alg\":\"ES256\",\"typ\":\"passport\",\"x5u\":\"" X5U "\"}",
			     "{\"dest\":{\"tn\":[\"12025552000\"]},\"iat\":1795896363,\"mky\":[{\"alg\":\"sha-256\","
			     "\"dig\":\"" FP1_DIG "\"}],\"orig\":{\"tn\":\"12025551000\"}}",
			     "stir/ee.key", RAW, ";info=<" X5U ">;alg=ES256");
	char compact[512];
	const char *ids[] = { compact }, *fps[] = { FP1 };
	struct sipdance_stir_request req = { .identity = ids, .nidentity = 1, .now = (time_t)IAT + 5,
					     .orig = "12025551000", .dest = "12025552000",
					     .date = (time_t)IAT, .fingerprints = fps, .nfingerprints = 1 };

	*strchr(full, ';') = '\0';
	snprintf(compact, sizeof(compact), "..%s;info=<" X5U ">;alg=ES256", strrchr(full, '.') + 1);
	CU_ASSERT_EQUAL_FATAL(sipdance_stir_alloc(&s, &conf), 0);
	CU_ASSERT_EQUAL(sipdance_stir_check(s, &req, chain, &v, NULL), 0);
	CU_ASSERT_EQUAL(v.sip_status, 0);
	CU_ASSERT_STRING_EQUAL(v.reason, "verified: ppt=none orig=12025551000 attest=-");
	fps[0] = FP2; /* a fingerprint changed in transit */
	CU_ASSERT_EQUAL(sipdance_stir_check(s, &req, chain, &v, NULL), 0);
	CU_ASSERT_EQUAL(v.sip_status, 438);
	CU_ASSERT_STRING_EQUAL(v.reason, "signature does not verify");
	fps[0] = FP1;
	req.date = 0;
	CU_ASSERT_EQUAL(sipdance_stir_check(s, &req, chain, &v, NULL), 0);
	CU_ASSERT_EQUAL(v.sip_status, 438);
	CU_ASSERT_STRING_EQUAL(v.reason, "compact form needs From, To and Date to rebuild the PASSporT");
	sipdance_stir_free(s);
	sk_X509_pop_free(chain, X509_free);
	free(full);
}

/* ---- a loopback HTTPS server for x5u, in a thread ---- */

struct server {
	int lfd, port, stop;
	unsigned conns;
	SSL_CTX *ctx;
	pthread_t th;
	char chain[8192];
};

/* put - write a string; 1 if all of it went */
static int put(SSL *ssl, const char *str)
{
	int n = (int)strlen(str);

	return SSL_write(ssl, str, n) == n;
}

/* respond - the response for one request path */
static void respond(struct server *sv, SSL *ssl, const char *path)
{
	char head[512], *big;
	size_t n;

	if (!strncmp(path, "/ok", 3) || !strncmp(path, "/nostore", 8) || !strncmp(path, "/ttl1", 5)) {
		n = (size_t)snprintf(head, sizeof(head), "HTTP/1.1 200 OK\r\nContent-Type: application/x-pem-file\r\n"
				     "Content-Length: %zu\r\nCache-Control: %s\r\n\r\n", strlen(sv->chain),
				     path[1] == 'n' ? "no-store" : path[1] == 't' ? "public, max-age=1" : "max-age=600");
		SSL_write(ssl, head, (int)n);
		SSL_write(ssl, sv->chain, (int)strlen(sv->chain));
	} else if (!strncmp(path, "/chunked", 8)) {
		size_t half = strlen(sv->chain) / 2;

		n = (size_t)snprintf(head, sizeof(head), "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n%zx\r\n", half);
		SSL_write(ssl, head, (int)n);
		SSL_write(ssl, sv->chain, (int)half);
		n = (size_t)snprintf(head, sizeof(head), "\r\n%zx\r\n", strlen(sv->chain) - half);
		SSL_write(ssl, head, (int)n);
		SSL_write(ssl, sv->chain + half, (int)(strlen(sv->chain) - half));
		SSL_write(ssl, "\r\n0\r\n\r\n", 7);
	} else if (!strncmp(path, "/close", 6)) {
		SSL_write(ssl, "HTTP/1.0 200 OK\r\n\r\n", 19);
		SSL_write(ssl, sv->chain, (int)strlen(sv->chain));
	} else if (!strncmp(path, "/huge", 5)) {
		n = 300000;
		big = malloc(n);
		memset(big, 'A', n);
		if (!strcmp(path, "/huge-length"))
			SSL_write(ssl, "HTTP/1.1 200 OK\r\nContent-Length: 300000\r\n\r\n", 44);
		else
			SSL_write(ssl, "HTTP/1.0 200 OK\r\n\r\n", 19);
		SSL_write(ssl, big, (int)n);
		free(big);
	} else if (!strncmp(path, "/slow", 5)) {
		for (int i = 0; i < 100 && !__atomic_load_n(&sv->stop, __ATOMIC_RELAXED); i++)
			usleep(50000);
	} else if (!strncmp(path, "/notpem", 7)) {
		SSL_write(ssl, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", 43);
	} else if (!strncmp(path, "/redirect", 9)) {
		put(ssl, "HTTP/1.1 302 Found\r\nLocation: /ok\r\nContent-Length: 0\r\n\r\n");
	} else if (!strncmp(path, "/loris", 6)) {
		/* headers one byte at a time, never ending */
		put(ssl, "HTTP/1.1 200 OK\r\nX-Slow: ");
		for (int i = 0; i < 200 && !__atomic_load_n(&sv->stop, __ATOMIC_RELAXED); i++) {
			if (!put(ssl, "a"))
				break;
			usleep(25000);
		}
	} else if (!strncmp(path, "/bighead", 8)) {
		put(ssl, "HTTP/1.1 200 OK\r\n");
		for (int i = 0; i < 2000 && put(ssl, "X-Filler: 0123456789012345678901234567890123456789\r\n"); i++)
			;
		put(ssl, "\r\n");
	} else if (!strncmp(path, "/endless", 8)) {
		/* a chunked body that never ends */
		put(ssl, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
		for (int i = 0; i < 100000 && put(ssl, "40\r\n0123456789012345678901234567890123456789012345678901234567890123\r\n"); i++)
			;
	} else if (!strncmp(path, "/long", 5)) {
		/* ten certificates */
		n = (size_t)snprintf(head, sizeof(head), "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n\r\n",
				     5 * strlen(sv->chain));
		SSL_write(ssl, head, (int)n);
		for (int i = 0; i < 5; i++)
			put(ssl, sv->chain);
	} else if (!strncmp(path, "/http09", 7)) {
		put(ssl, sv->chain);
	} else if (!strncmp(path, "/cc-", 4)) {
		/* /cc-N: Cache-Control variants, the chain as the body */
		static const char *const cc[] = {
			"Cache-Control: max-age=600\r\nCache-Control: no-store\r\n",
			"Cache-Control: max-age=-1\r\n",
			"Cache-Control: max-age=600\r\n", /* after a 100 Continue saying no-store */
		};
		int k = atoi(path + 4) % 3;

		if (k == 2)
			put(ssl, "HTTP/1.1 100 Continue\r\nCache-Control: no-store\r\n\r\n");
		n = (size_t)snprintf(head, sizeof(head), "HTTP/1.1 200 OK\r\n%sContent-Length: %zu\r\n\r\n",
				     cc[k], strlen(sv->chain));
		SSL_write(ssl, head, (int)n);
		put(ssl, sv->chain);
	} else {
		SSL_write(ssl, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n", 45);
	}
}

/* serve - accept connections one by one until stopped */
static void *serve(void *arg)
{
	struct server *sv = arg;
	sigset_t pipe;

	sigemptyset(&pipe);
	sigaddset(&pipe, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe, NULL);
	while (!__atomic_load_n(&sv->stop, __ATOMIC_RELAXED)) {
		struct pollfd p = { .fd = sv->lfd, .events = POLLIN };
		char req[2048] = "", path[256] = "";
		size_t len = 0;
		SSL *ssl;
		int fd;

		if (poll(&p, 1, 50) <= 0 || (fd = accept(sv->lfd, NULL, NULL)) < 0)
			continue;
		__atomic_add_fetch(&sv->conns, 1, __ATOMIC_RELAXED);
		ssl = SSL_new(sv->ctx);
		SSL_set_fd(ssl, fd);
		if (SSL_accept(ssl) == 1) {
			while (len < sizeof(req) - 1 && !strstr(req, "\r\n\r\n")) {
				int r = SSL_read(ssl, req + len, (int)(sizeof(req) - 1 - len));

				if (r <= 0)
					break;
				len += (size_t)r;
				req[len] = '\0';
			}
			if (sscanf(req, "GET %255s", path) == 1)
				respond(sv, ssl, path);
			SSL_shutdown(ssl);
		}
		SSL_free(ssl);
		close(fd);
		ERR_clear_error();
	}
	return NULL;
}

/* server_start - listen on 127.0.0.1, an ephemeral port */
static int server_start(struct server *sv)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof(a);
	FILE *f = fopen(path("stir/ee-chain.pem"), "r");

	memset(sv, 0, sizeof(*sv));
	if (!f)
		return -1;
	sv->chain[fread(sv->chain, 1, sizeof(sv->chain) - 1, f)] = '\0';
	fclose(f);
	sv->ctx = SSL_CTX_new(TLS_server_method());
	if (SSL_CTX_use_certificate_file(sv->ctx, path("stir/server.pem"), SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_use_PrivateKey_file(sv->ctx, path("stir/server.key"), SSL_FILETYPE_PEM) != 1)
		return -1;
	sv->lfd = socket(AF_INET, SOCK_STREAM, 0);
	if (bind(sv->lfd, (struct sockaddr *)&a, sizeof(a)) || listen(sv->lfd, 16) ||
	    getsockname(sv->lfd, (struct sockaddr *)&a, &alen))
		return -1;
	sv->port = ntohs(a.sin_port);
	return pthread_create(&sv->th, NULL, serve, sv) ? -1 : 0;
}

/* server_stop - join the thread, close everything */
static void server_stop(struct server *sv)
{
	__atomic_store_n(&sv->stop, 1, __ATOMIC_RELAXED);
	pthread_join(sv->th, NULL);
	close(sv->lfd);
	SSL_CTX_free(sv->ctx);
}

/* url - https://127.0.0.1:PORT/path in a static buffer (one of two) */
static const char *url(const struct server *sv, const char *path)
{
	static char buf[2][128];
	static int k;

	k ^= 1;
	snprintf(buf[k], sizeof(buf[k]), "https://127.0.0.1:%d%s", sv->port, path);
	return buf[k];
}

/* fetch - one blocking fetch; the error code, *why copied */
static int fetch(struct sipdance_x5u *x, const char *u, char *why, int *ncerts)
{
	STACK_OF(X509) *chain = NULL;
	const char *w = "";
	int err = sipdance_x5u_fetch_sync(x, u, &chain, &w);

	snprintf(why, 160, "%s", w);
	*ncerts = chain ? sk_X509_num(chain) : 0;
	sk_X509_pop_free(chain, X509_free);
	return err;
}

/* x5u_fetching - body forms, cache, negative cache, limits, timeout, policy */
static void x5u_fetching(void)
{
	struct sipdance_x5u_conf xc = { .size = sizeof(xc), .tls_ca_file = path("stir/root.pem"), .allow_private = 1,
					.allow_any_port = 1, .timeout_ms = 5000, .max_size = 16384 };
	struct sipdance_x5u_stats st;
	struct sipdance_x5u *x = NULL, *quick = NULL;
	struct server sv;
	char why[160];
	int n;

	CU_ASSERT_EQUAL_FATAL(server_start(&sv), 0);
	CU_ASSERT_EQUAL_FATAL(sipdance_x5u_alloc(&x, &xc), 0);
	/* Content-Length, cached: the second fetch makes no connection */
	CU_ASSERT_EQUAL(fetch(x, url(&sv, "/ok"), why, &n), 0);
	CU_ASSERT_EQUAL(n, 2); /* the whole chain, intermediate included */
	CU_ASSERT_EQUAL(fetch(x, url(&sv, "/ok"), why, &n), 0);
	CU_ASSERT_EQUAL(n, 2);
	CU_ASSERT_STRING_EQUAL(why, "cached");
	CU_ASSERT_EQUAL(__atomic_load_n(&sv.conns, __ATOMIC_RELAXED), 1);
	/* chunked and close-delimited bodies */
	CU_ASSERT_EQUAL(fetch(x, url(&sv, "/chunked"), why, &n), 0);
	CU_ASSERT_EQUAL(n, 2);
	CU_ASSERT_EQUAL(fetch(x, url(&sv, "/close"), why, &n), 0);
	CU_ASSERT_EQUAL(n, 2);
	/* no-store: fetched each time */
	CU_ASSERT_EQUAL(fetch(x, url(&sv, "/nostore"), why, &n), 0);
	CU_ASSERT_EQUAL(fetch(x, url(&sv, "/nostore"), why, &n), 0);
	CU_ASSERT_EQUAL(__atomic_load_n(&sv.conns, __ATOMIC_RELAXED), 5);
	/* failures, cached as failures */
	CU_ASSERT_EQUAL(fetch(x, url(&sv, "/missing"), why, &n), EHOSTUNREACH);
	CU_ASSERT_STRING_EQUAL(why, "x5u HTTP status 404");
	CU_ASSERT_EQUAL(fetch(x, url(&sv, "/missing"), why, &n), EHOSTUNREACH);
	CU_ASSERT_STRING_EQUAL(why, "x5u HTTP status 404 (cached failure)");
	CU_ASSERT_EQUAL(__atomic_load_n(&sv.conns, __ATOMIC_RELAXED), 6);
	CU_ASSERT_EQUAL(fetch(x, url(&sv, "/notpem"), why, &n), EBADMSG);
	CU_ASSERT_STRING_EQUAL(why, "x5u content is not a PEM certificate chain");
	CU_ASSERT_EQUAL(fetch(x, url(&sv, "/huge-length"), why, &n), EMSGSIZE);
	CU_ASSERT_STRING_EQUAL(why, "x5u response larger than 16384 bytes (by its Content-Length)");
	CU_ASSERT_EQUAL(fetch(x, url(&sv, "/huge"), why, &n), EMSGSIZE);
	CU_ASSERT_STRING_EQUAL(why, "x5u response larger than 16384 bytes");
	/* max-age=1: expired after 2 s, fetched again */
	CU_ASSERT_EQUAL(fetch(x, url(&sv, "/ttl1"), why, &n), 0);
	sleep(2);
	CU_ASSERT_EQUAL(fetch(x, url(&sv, "/ttl1"), why, &n), 0);
	CU_ASSERT_STRING_NOT_EQUAL(why, "cached");
	sipdance_x5u_flush(x);
	CU_ASSERT_EQUAL(fetch(x, url(&sv, "/ok"), why, &n), 0);
	CU_ASSERT_STRING_NOT_EQUAL(why, "cached");
	sipdance_x5u_stats(x, &st);
	CU_ASSERT_EQUAL(st.hits, 1);
	CU_ASSERT_EQUAL(st.neg_hits, 1);
	CU_ASSERT_EQUAL(st.fetches, 12);
	CU_ASSERT_EQUAL(st.failures, 4);
	/* a server that never answers (last: it keeps the server busy); the
	 * handshake or the response times out, depending on the machine's speed */
	xc.timeout_ms = 400;
	CU_ASSERT_EQUAL_FATAL(sipdance_x5u_alloc(&quick, &xc), 0);
	CU_ASSERT_EQUAL(fetch(quick, url(&sv, "/slow"), why, &n), ETIMEDOUT);
	CU_ASSERT(!strcmp(why, "x5u response timed out after 400 ms") ||
		  !strcmp(why, "x5u TLS handshake with 127.0.0.1 timed out"));
	sipdance_x5u_free(quick);
	sipdance_x5u_free(x);
	server_stop(&sv);
}

/* An x5u URL refused before any connection, and why (every address form
 * ends at the same policy: the address curl is about to connect to). */
struct refused_url {
	const char *url;
	int err;
	const char *why;
};

static const struct refused_url refused_urls[] = {
	{ "https://127.0.0.1:8443/c.pem", EACCES, "x5u host 127.0.0.1 is loopback (not allowed)" },
	{ "https://[::1]/c.pem", EACCES, "x5u host ::1 is loopback (not allowed)" },
	{ "https://10.1.2.3/c.pem", EACCES, "x5u host 10.1.2.3 is private (not allowed)" },
	{ "https://169.254.169.254/latest", EACCES, "x5u host 169.254.169.254 is link-local (not allowed)" },
	{ "https://[::ffff:192.168.1.1]/c.pem", EACCES,
	  "x5u host ::ffff:192.168.1.1 is private (embeds 192.168.1.1) (not allowed)" },
	{ "https://[::127.0.0.1]/c.pem", EACCES, "x5u host ::127.0.0.1 is IPv4-compatible (deprecated) (not allowed)" },
	{ "https://[64:ff9b::7f00:1]/c.pem", EACCES, "x5u host 64:ff9b::7f00:1 is loopback (embeds 127.0.0.1) (not allowed)" },
	{ "https://[64:ff9b::a00:1]/c.pem", EACCES, "x5u host 64:ff9b::a00:1 is private (embeds 10.0.0.1) (not allowed)" },
	{ "https://[2002:c0a8:101::1]/c.pem", EACCES, "x5u host 2002:c0a8:101::1 is private (embeds 192.168.1.1) (not allowed)" },
	{ "https://[2002:7f00:1::]/c.pem", EACCES, "x5u host 2002:7f00:1:: is loopback (embeds 127.0.0.1) (not allowed)" },
	{ "https://[fec0::1]/c.pem", EACCES, "x5u host fec0::1 is site-local (deprecated) (not allowed)" },
	{ "https://[fd00::1]/c.pem", EACCES, "x5u host fd00::1 is unique-local (private) (not allowed)" },
	{ "https://[2001::1]/c.pem", EACCES,
	  "x5u host 2001::1 is reserved for IETF protocols (Teredo, benchmarking, ORCHID) (not allowed)" },
	{ "https://[::ffff:0:7f00:1]/c.pem", EACCES,
	  "x5u host ::ffff:0:7f00:1 is not global unicast (outside 2000::/3) (not allowed)" },
	{ "https://198.18.0.1/c.pem", EACCES, "x5u host 198.18.0.1 is benchmarking (not allowed)" },
	{ "https://198.19.255.254/c.pem", EACCES, "x5u host 198.19.255.254 is benchmarking (not allowed)" },
	{ "https://192.0.0.8/c.pem", EACCES, "x5u host 192.0.0.8 is reserved for IETF protocols (not allowed)" },
	{ "https://0.0.0.0/c.pem", EACCES, "x5u host 0.0.0.0 is unspecified (this network) (not allowed)" },
	{ "https://100.64.0.1/c.pem", EACCES, "x5u host 100.64.0.1 is shared address space (private) (not allowed)" },
	{ "https://2130706433/c.pem", EACCES, "x5u host 127.0.0.1 is loopback (not allowed)" },
	{ "https://0x7f.1/c.pem", EACCES, "x5u host 127.0.0.1 is loopback (not allowed)" },
	{ "https://localhost/c.pem", EACCES, "x5u host localhost is loopback (not allowed)" },
	{ "https://[fe80::1%25lo]/c.pem", EINVAL, "x5u URL has an IPv6 zone id" },
	{ "HTTPS://127.0.0.1/c.pem", EACCES, "x5u host 127.0.0.1 is loopback (not allowed)" },
	{ "gopher://cr.example/c.pem", EACCES, "x5u scheme not allowed (https only)" },
	{ "https://user@cr.example/c.pem", EINVAL, "x5u URL has user information" },
	{ "https://:pw@cr.example/c.pem", EINVAL, "x5u URL has user information" },
	{ "https://cr.example:99999/c.pem", EINVAL, "x5u URL has a malformed port" },
	{ "https://cr.example:22/c.pem", EACCES, "x5u port 22 not allowed (443 and 8443 only)" },
	{ "https://cr.example\\@127.0.0.1/c.pem", EINVAL, "x5u URL has user information" },
	{ "https://cr.example/a b", EINVAL, "x5u URL has white space or non-ASCII" },
};

/* x5u_addresses - the address policy, address by address (IANA special-purpose registries) */
static void x5u_addresses(void)
{
	static const struct {
		const char *addr;
		const char *why; /* NULL: allowed */
	} rows[] = {
		{ "8.8.8.8", NULL },
		{ "192.31.196.1", NULL },           /* AS112, globally reachable */
		{ "198.17.255.255", NULL },         /* just below 198.18.0.0/15 */
		{ "198.20.0.0", NULL },             /* just above */
		{ "100.63.255.255", NULL },
		{ "100.128.0.0", NULL },
		{ "172.15.255.255", NULL },
		{ "172.32.0.0", NULL },
		{ "223.255.255.255", NULL },
		{ "0.1.2.3", "unspecified (this network)" },
		{ "10.255.255.255", "private" },
		{ "100.127.255.255", "shared address space (private)" },
		{ "127.255.255.254", "loopback" },
		{ "169.254.0.1", "link-local" },
		{ "172.31.0.1", "private" },
		{ "192.0.0.9", "reserved for IETF protocols" },
		{ "192.0.2.1", "documentation" },
		{ "192.88.99.1", "6to4 relay anycast (deprecated)" },
		{ "192.168.255.255", "private" },
		{ "198.18.0.0", "benchmarking" },
		{ "198.19.255.255", "benchmarking" },
		{ "198.51.100.7", "documentation" },
		{ "203.0.113.7", "documentation" },
		{ "224.0.0.1", "multicast" },
		{ "240.0.0.1", "reserved or broadcast" },
		{ "255.255.255.255", "reserved or broadcast" },
		{ "2a00:1450:4001::1", NULL },
		{ "2001:200::1", NULL },            /* just past 2001::/23 */
		{ "64:ff9b::808:808", NULL },       /* NAT64 of a public address */
		{ "2002:808:808::1", NULL },        /* 6to4 of a public address */
		{ "::ffff:8.8.8.8", NULL },
		{ "::", "unspecified" },
		{ "::1", "loopback" },
		{ "::7f00:1", "IPv4-compatible (deprecated)" },
		{ "::8.8.8.8", "IPv4-compatible (deprecated)" },
		{ "::ffff:127.0.0.1", "loopback (embeds 127.0.0.1)" },
		{ "::ffff:169.254.169.254", "link-local (embeds 169.254.169.254)" },
		{ "::ffff:0:808:808", "not global unicast (outside 2000::/3)" },
		{ "64:ff9b::c0a8:1", "private (embeds 192.168.0.1)" },
		{ "64:ff9b:1::1", "local-use NAT64" },
		{ "100::1", "discard-only" },
		{ "2001::1", "reserved for IETF protocols (Teredo, benchmarking, ORCHID)" },
		{ "2001:2::1", "reserved for IETF protocols (Teredo, benchmarking, ORCHID)" },
		{ "2001:db8::1", "documentation" },
		{ "2002:a00:1::1", "private (embeds 10.0.0.1)" },
		{ "2002:a9fe:a9fe::1", "link-local (embeds 169.254.169.254)" },
		{ "3fff::1", "documentation" },
		{ "5f00::1", "not global unicast (outside 2000::/3)" },
		{ "fc00::1", "unique-local (private)" },
		{ "fdff::1", "unique-local (private)" },
		{ "fe80::1", "link-local" },
		{ "febf::1", "link-local" },
		{ "fec0::1", "site-local (deprecated)" },
		{ "ff02::1", "multicast" },
	};

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct sockaddr_storage ss = { 0 };
		struct sockaddr_in *v4 = (struct sockaddr_in *)&ss;
		struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&ss;
		char why[160] = "";
		int r;

		if (inet_pton(AF_INET, rows[i].addr, &v4->sin_addr) == 1)
			v4->sin_family = AF_INET;
		else if (inet_pton(AF_INET6, rows[i].addr, &v6->sin6_addr) == 1)
			v6->sin6_family = AF_INET6;
		r = sd_x5u_refused_addr((struct sockaddr *)&ss, why, sizeof(why));
		if (r != !!rows[i].why || (rows[i].why && strcmp(why, rows[i].why)))
			fprintf(stderr, "\n  %s: got %d \"%s\"\n", rows[i].addr, r, why);
		CU_ASSERT_EQUAL(r, !!rows[i].why);
		if (rows[i].why)
			CU_ASSERT_STRING_EQUAL(why, rows[i].why);
	}
}

/* x5u_cache_control - the lifetime our Cache-Control reading gives (default 3600, cap 86400) */
static void x5u_cache_control(void)
{
	static const struct {
		const char *lines; /* header lines, "|"-separated */
		unsigned ttl;
	} rows[] = {
		{ "", 3600 },
		{ "Cache-Control: max-age=600", 600 },
		{ "cache-control:MAX-AGE=600", 600 },
		{ "Cache-Control: public, max-age=600", 600 },
		{ "Cache-Control: max-age=\"600\"", 600 },
		{ "Cache-Control: max-age=600, max-age=5", 600 },
		{ "Cache-Control: max-age=99999999999999999999999", 86400 },
		{ "Cache-Control: max-age=0", 0 },
		{ "Cache-Control: max-age=-1", 0 },
		{ "Cache-Control: max-age=5s", 0 },
		{ "Cache-Control: max-age = 600", 0 },
		{ "Cache-Control: max-age=", 0 },
		{ "Cache-Control: max-agex=600", 0 },
		{ "Cache-Control: no-store", 0 },
		{ "Cache-Control: NO-CACHE, max-age=600", 0 },
		{ "Cache-Control: max-age=600|Cache-Control: no-store", 0 },
		{ "Cache-Control: private=\"a, no-store\"", 3600 },
		{ "Cache-Control: foo=\"x, max-age=99999\"", 0 },
		{ "HTTP/1.1 100 Continue|Cache-Control: no-store|HTTP/1.1 200 OK|Cache-Control: max-age=60", 60 },
		{ "X-Cache-Control: no-store", 3600 },
		{ "Cache-Control max-age=600", 3600 },
	};

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct sd_x5u_headers h = { 0 };
		char buf[512];
		unsigned ttl;

		snprintf(buf, sizeof(buf), "%s", rows[i].lines);
		for (char *save, *l = strtok_r(buf, "|", &save); l; l = strtok_r(NULL, "|", &save)) {
			char line[256];

			snprintf(line, sizeof(line), "%s\r\n", l);
			CU_ASSERT_EQUAL(sd_x5u_header(&h, line, strlen(line)), 0);
		}
		ttl = sd_x5u_cache_ttl(&h, 3600, 86400);
		if (ttl != rows[i].ttl)
			fprintf(stderr, "\n  \"%s\": got %u\n", rows[i].lines, ttl);
		CU_ASSERT_EQUAL(ttl, rows[i].ttl);
	}
	/* too long to be understood whole: not cached; too many header bytes: refused */
	{
		struct sd_x5u_headers h = { 0 };
		char line[700];

		memset(line, 'a', sizeof(line));
		memcpy(line, "Cache-Control: ", 15);
		CU_ASSERT_EQUAL(sd_x5u_header(&h, line, sizeof(line)), 0);
		CU_ASSERT_EQUAL(sd_x5u_cache_ttl(&h, 3600, 86400), 0);
		for (int i = 0; i < 30; i++)
			sd_x5u_header(&h, line, sizeof(line));
		CU_ASSERT_EQUAL(sd_x5u_header(&h, line, sizeof(line)), EMSGSIZE);
	}
}

/* x5u_hostile - servers that try to keep, mislead or flood the fetcher */
static void x5u_hostile(void)
{
	struct sipdance_x5u_conf xc = { .size = sizeof(xc), .tls_ca_file = path("stir/root.pem"), .allow_private = 1,
					.allow_any_port = 1, .timeout_ms = 5000, .max_size = 16384 };
	struct sipdance_x5u *x = NULL;
	struct server sv;
	char why[160];
	int n;

	CU_ASSERT_EQUAL_FATAL(server_start(&sv), 0);
	CU_ASSERT_EQUAL_FATAL(sipdance_x5u_alloc(&x, &xc), 0);
	/* a redirect is a failure, never followed */
	CU_ASSERT_EQUAL(fetch(x, url(&sv, "/redirect"), why, &n), EHOSTUNREACH);
	CU_ASSERT_STRING_EQUAL(why, "x5u HTTP status 302 (redirects are not followed)");
	CU_ASSERT_EQUAL(__atomic_load_n(&sv.conns, __ATOMIC_RELAXED), 1);
	/* headers without end, a chunked body without end: cut at their limits */
	CU_ASSERT_EQUAL(fetch(x, url(&sv, "/bighead"), why, &n), EMSGSIZE);
	CU_ASSERT_STRING_EQUAL(why, "x5u response headers larger than 16384 bytes");
	CU_ASSERT_EQUAL(fetch(x, url(&sv, "/endless"), why, &n), EMSGSIZE);
	CU_ASSERT_STRING_EQUAL(why, "x5u response larger than 16384 bytes");
	/* a chain of ten certificates (path building is work): refused */
	CU_ASSERT_EQUAL(fetch(x, url(&sv, "/long"), why, &n), EBADMSG);
	CU_ASSERT_STRING_EQUAL(why, "x5u chain has more than 8 certificates");
	/* no status line (HTTP/0.9) */
	CU_ASSERT_EQUAL(fetch(x, url(&sv, "/http09"), why, &n), EHOSTUNREACH);
	CU_ASSERT(!strncmp(why, "x5u fetch from 127.0.0.1 failed: ", 33));
	/* Cache-Control: a no-store beside a max-age wins; a malformed max-age
	 * caches nothing; a 100 Continue's headers are forgotten */
	for (int k = 0; k < 3; k++) {
		char path1[16];

		snprintf(path1, sizeof(path1), "/cc-%d", k);
		CU_ASSERT_EQUAL(fetch(x, url(&sv, path1), why, &n), 0);
		CU_ASSERT_EQUAL(n, 2);
		CU_ASSERT_EQUAL(fetch(x, url(&sv, path1), why, &n), 0);
		CU_ASSERT_EQUAL(!strcmp(why, "cached"), k == 2);
	}
	sipdance_x5u_free(x);
	/* slow-loris: headers a byte at a time; the whole fetch ends at its timeout */
	xc.timeout_ms = 400;
	CU_ASSERT_EQUAL_FATAL(sipdance_x5u_alloc(&x, &xc), 0);
	CU_ASSERT_EQUAL(fetch(x, url(&sv, "/loris"), why, &n), ETIMEDOUT);
	CU_ASSERT_STRING_EQUAL(why, "x5u response timed out after 400 ms");
	sipdance_x5u_free(x);
	server_stop(&sv);
}

/* x5u_policy - schemes, ports, private addresses, TLS trust, unreachable */
static void x5u_policy(void)
{
	struct sipdance_x5u_conf xc = { .size = sizeof(xc), .tls_ca_file = path("stir/root.pem"), .timeout_ms = 5000 };
	struct sipdance_x5u *x = NULL;
	struct server sv;
	char why[160], u[128];
	int n, fd, port;
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof(a);

	CU_ASSERT_EQUAL_FATAL(server_start(&sv), 0);
	CU_ASSERT_EQUAL_FATAL(sipdance_x5u_alloc(&x, &xc), 0);
	CU_ASSERT_EQUAL(fetch(x, "file:///etc/passwd", why, &n), EACCES);
	CU_ASSERT_STRING_EQUAL(why, "x5u scheme not allowed (https only)");
	CU_ASSERT_EQUAL(fetch(x, "http://127.0.0.1/c.pem", why, &n), EACCES);
	CU_ASSERT_STRING_EQUAL(why, "x5u scheme not allowed (https only)");
	CU_ASSERT_EQUAL(fetch(x, url(&sv, "/ok"), why, &n), EACCES);
	snprintf(u, sizeof(u), "x5u port %d not allowed (443 and 8443 only)", sv.port);
	CU_ASSERT_STRING_EQUAL(why, u);
	for (size_t i = 0; i < sizeof(refused_urls) / sizeof(refused_urls[0]); i++) {
		const struct refused_url *r = &refused_urls[i];

		CU_ASSERT_EQUAL(fetch(x, r->url, why, &n), r->err);
		if (r->err == 0 || strcmp(why, r->why))
			fprintf(stderr, "\n  %s: got \"%s\"\n", r->url, why);
		CU_ASSERT_STRING_EQUAL(why, r->why);
	}
	CU_ASSERT_EQUAL(__atomic_load_n(&sv.conns, __ATOMIC_RELAXED), 0);
	sipdance_x5u_free(x);

	/* loopback allowed by explicit configuration; wrong TLS roots; nothing listening */
	xc.allow_private = xc.allow_any_port = 1;
	xc.tls_ca_file = path("stir/other.pem");
	CU_ASSERT_EQUAL_FATAL(sipdance_x5u_alloc(&x, &xc), 0);
	CU_ASSERT_EQUAL(fetch(x, url(&sv, "/ok"), why, &n), EHOSTUNREACH);
	CU_ASSERT_STRING_EQUAL(why, "x5u TLS handshake with 127.0.0.1 failed: unable to get local issuer certificate");
	fd = socket(AF_INET, SOCK_STREAM, 0);
	bind(fd, (struct sockaddr *)&a, sizeof(a));
	getsockname(fd, (struct sockaddr *)&a, &alen);
	port = ntohs(a.sin_port);
	close(fd);
	snprintf(u, sizeof(u), "https://127.0.0.1:%d/c.pem", port);
	CU_ASSERT_EQUAL(fetch(x, u, why, &n), EHOSTUNREACH);
	CU_ASSERT_STRING_EQUAL(why, "x5u connect to 127.0.0.1: Connection refused");
	sipdance_x5u_free(x);
	xc.tls_ca_file = "/nonexistent.pem";
	CU_ASSERT_EQUAL(sipdance_x5u_alloc(&x, &xc), EINVAL);
	server_stop(&sv);
}

/* Results of x5u_concurrent's callbacks. */
struct fetched {
	int calls, err;
};

/* on_fetched - one asynchronous fetch result */
static void on_fetched(void *arg, int err, STACK_OF(X509) *chain, const char *why)
{
	struct fetched *f = arg;

	f->calls++;
	f->err = err;
	sk_X509_pop_free(chain, X509_free);
}

/* x5u_concurrent - eight asynchronous fetches and a blocking one of a cold
 * URL: one fetch, nine results; the fetcher runs on a poll loop */
static void x5u_concurrent(void)
{
	struct sipdance_x5u_conf xc = { .size = sizeof(xc), .tls_ca_file = path("stir/root.pem"), .allow_private = 1,
					.allow_any_port = 1, .max_fetches = 3 };
	struct sipdance_loop *l = NULL;
	struct sipdance_x5u *x = NULL;
	struct sipdance_x5u_stats st;
	struct fetched f[8];
	STACK_OF(X509) *chain = NULL;
	struct server sv;
	int calls = 0;

	memset(f, 0, sizeof(f));
	CU_ASSERT_EQUAL_FATAL(server_start(&sv), 0);
	CU_ASSERT_EQUAL_FATAL(sipdance_loop_poll_alloc(&l), 0);
	xc.loop = l;
	CU_ASSERT_EQUAL_FATAL(sipdance_x5u_alloc(&x, &xc), 0);
	for (int i = 0; i < 8; i++)
		CU_ASSERT_EQUAL(sipdance_x5u_fetch(x, url(&sv, "/ok"), on_fetched, &f[i], NULL), 0);
	CU_ASSERT_EQUAL(sipdance_x5u_fetch_sync(x, url(&sv, "/ok"), &chain, NULL), 0);
	CU_ASSERT_EQUAL(sk_X509_num(chain), 2);
	sk_X509_pop_free(chain, X509_free);
	for (int i = 0; i < 100 && calls < 8; i++) {
		sipdance_loop_run(l, NULL, 50);
		calls = 0;
		for (int k = 0; k < 8; k++)
			calls += f[k].calls;
	}
	for (int i = 0; i < 8; i++)
		CU_ASSERT(f[i].calls == 1 && f[i].err == 0);
	sipdance_x5u_stats(x, &st);
	CU_ASSERT_EQUAL(st.fetches, 1);
	CU_ASSERT_EQUAL(__atomic_load_n(&sv.conns, __ATOMIC_RELAXED), 1);
	sipdance_x5u_free(x);
	sipdance_loop_free(l);
	server_stop(&sv);
}

/* Results collected by the asynchronous callbacks. */
struct seen {
	int calls, status;
	char reason[256];
	char orig[SIPDANCE_PASSPORT_MAX_TN];
};

/* on_verdict - record one verification result */
static void on_verdict(void *arg, const struct sipdance_stir_verdict *v, const struct sipdance_passport *pp)
{
	struct seen *s = arg;

	s->calls++;
	s->status = v->sip_status;
	snprintf(s->reason, sizeof(s->reason), "%s", v->reason);
	snprintf(s->orig, sizeof(s->orig), "%s", pp ? pp->orig : "");
}

/* loop - run the poll loop until @n callbacks ran (at most 100 rounds of 50 ms) */
static void loop(struct sipdance_loop *l, const int *calls, int n)
{
	for (int i = 0; i < 100 && *calls < n; i++)
		sipdance_loop_run(l, NULL, 50);
}

/* verify_async - the event-loop interface: fetch, cache hit, early failure, cancel */
static void verify_async(void)
{
	struct sipdance_x5u_conf xc = { .size = sizeof(xc), .tls_ca_file = path("stir/root.pem"), .allow_private = 1,
					.allow_any_port = 1, .timeout_ms = 1000 };
	struct sipdance_stir_conf conf = { .size = sizeof(conf), .ca_file = path("stir/root.pem") };
	struct sipdance_passport pp = { .orig = "12025551000", .dest = { "12025552000" }, .ndest = 1,
					.attest = "A" };
	struct sipdance_stir_signer_conf sc = { .size = sizeof(sc), .key_file = path("stir/ee.key") };
	struct sipdance_stir_signer *signer = NULL;
	struct sipdance_stir_query *q = NULL;
	struct sipdance_loop *l = NULL;
	struct sipdance_x5u *x = NULL;
	struct sipdance_stir *s = NULL;
	struct seen a = { 0 }, b = { 0 }, c = { 0 };
	struct server sv;
	char id[8192], x5u[128];
	const char *ids[] = { id };
	struct sipdance_stir_request req = { .identity = ids, .nidentity = 1, .orig = "12025551000",
					     .dest = "12025552000" };

	CU_ASSERT_EQUAL_FATAL(server_start(&sv), 0);
	snprintf(x5u, sizeof(x5u), "%s", url(&sv, "/ok"));
	sc.x5u = x5u;
	CU_ASSERT_EQUAL_FATAL(sipdance_stir_signer_alloc(&signer, &sc, NULL), 0);
	CU_ASSERT_EQUAL_FATAL(sipdance_stir_sign(signer, &pp, id, sizeof(id), NULL), 0);
	CU_ASSERT_EQUAL_FATAL(sipdance_loop_poll_alloc(&l), 0);
	xc.loop = l;
	CU_ASSERT_EQUAL_FATAL(sipdance_x5u_alloc(&x, &xc), 0);
	CU_ASSERT_EQUAL_FATAL(sipdance_stir_alloc(&s, &conf), 0);
	/* the callback never runs inside the call */
	CU_ASSERT_EQUAL(sipdance_stir_verify(s, x, &req, on_verdict, &a, NULL), 0);
	CU_ASSERT_EQUAL(a.calls, 0);
	loop(l, &a.calls, 1);
	CU_ASSERT_EQUAL(a.calls, 1);
	CU_ASSERT_EQUAL(a.status, 0);
	CU_ASSERT_STRING_EQUAL(a.orig, "12025551000");
	/* warm cache: no new connection */
	CU_ASSERT_EQUAL(sipdance_stir_verify(s, x, &req, on_verdict, &b, NULL), 0);
	loop(l, &b.calls, 1);
	CU_ASSERT_EQUAL(b.calls, 1);
	CU_ASSERT_EQUAL(b.status, 0);
	CU_ASSERT_EQUAL(__atomic_load_n(&sv.conns, __ATOMIC_RELAXED), 1);
	/* decided without a fetch, still called back later */
	req.dest = "12025559999";
	CU_ASSERT_EQUAL(sipdance_stir_verify(s, x, &req, on_verdict, &c, NULL), 0);
	CU_ASSERT_EQUAL(c.calls, 0);
	loop(l, &c.calls, 1);
	CU_ASSERT_EQUAL(c.status, 438);
	CU_ASSERT_STRING_EQUAL(c.reason, "To 12025559999 is not a dest of the PASSporT");
	/* x5u that times out: 436 */
	snprintf(x5u, sizeof(x5u), "%s", url(&sv, "/slow"));
	sipdance_stir_signer_free(signer);
	CU_ASSERT_EQUAL_FATAL(sipdance_stir_signer_alloc(&signer, &sc, NULL), 0);
	CU_ASSERT_EQUAL_FATAL(sipdance_stir_sign(signer, &pp, id, sizeof(id), NULL), 0);
	req.dest = "12025552000";
	memset(&c, 0, sizeof(c));
	CU_ASSERT_EQUAL(sipdance_stir_verify(s, x, &req, on_verdict, &c, NULL), 0);
	loop(l, &c.calls, 1);
	CU_ASSERT_EQUAL(c.status, 436);
	CU_ASSERT(!strcmp(c.reason, "x5u response timed out after 1000 ms") ||
		  !strcmp(c.reason, "x5u TLS handshake with 127.0.0.1 timed out"));
	/* cancelled: no callback */
	memset(&c, 0, sizeof(c));
	snprintf(x5u, sizeof(x5u), "%s", url(&sv, "/chunked"));
	sipdance_stir_signer_free(signer);
	CU_ASSERT_EQUAL_FATAL(sipdance_stir_signer_alloc(&signer, &sc, NULL), 0);
	CU_ASSERT_EQUAL_FATAL(sipdance_stir_sign(signer, &pp, id, sizeof(id), NULL), 0);
	CU_ASSERT_EQUAL(sipdance_stir_verify(s, x, &req, on_verdict, &c, &q), 0);
	sipdance_stir_cancel(q);
	sipdance_loop_run(l, NULL, 500);
	CU_ASSERT_EQUAL(c.calls, 0);
	/* the fetcher freed while a verification waits: no callback, nothing leaks */
	snprintf(x5u, sizeof(x5u), "%s", url(&sv, "/slow?again"));
	sipdance_stir_signer_free(signer);
	CU_ASSERT_EQUAL_FATAL(sipdance_stir_signer_alloc(&signer, &sc, NULL), 0);
	CU_ASSERT_EQUAL_FATAL(sipdance_stir_sign(signer, &pp, id, sizeof(id), NULL), 0);
	CU_ASSERT_EQUAL(sipdance_stir_verify(s, x, &req, on_verdict, &c, NULL), 0);
	sipdance_x5u_free(x);
	CU_ASSERT_EQUAL(c.calls, 0);
	sipdance_loop_free(l);
	sipdance_stir_signer_free(signer);
	sipdance_stir_free(s);
	server_stop(&sv);
}

/* other_s - @id (an Identity value with an ES256 PASSporT) with the other
 * valid signature of the same bytes: r || n - s (ECDSA is malleable); into
 * out, and whether s was the lower of the two (the canonical one) into *low */
static void other_s(const char *id, char *out, size_t size, int *low)
{
	const char *end = id + strcspn(id, ";"), *sig = end;
	uint8_t raw[64];
	size_t n = 0;
	BIGNUM *s, *order = NULL;
	EC_GROUP *g = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
	char enc[90];

	while (sig > id && sig[-1] != '.')
		sig--;
	CU_ASSERT_EQUAL_FATAL(sd_b64url_decode(sig, (size_t)(end - sig), raw, sizeof(raw), &n), 0);
	CU_ASSERT_EQUAL_FATAL(n, 64);
	s = BN_bin2bn(raw + 32, 32, NULL);
	order = BN_dup(EC_GROUP_get0_order(g));
	BN_rshift1(order, order);
	*low = BN_cmp(s, order) <= 0;
	BN_copy(order, EC_GROUP_get0_order(g));
	BN_sub(s, order, s);
	BN_bn2binpad(s, raw + 32, 32);
	sd_b64url_encode(raw, 64, enc);
	snprintf(out, size, "%.*s%s%s", (int)(sig - id), id, enc, end);
	BN_free(s);
	BN_free(order);
	EC_GROUP_free(g);
}

/* key_of - the replay key of a request carrying the single Identity @id:
 * "stir:" and the SHA-256 of its signature (the JWS's third part, with the
 * lower of its two s values) and a NUL */
static const char *key_of(const char *id, char buf[80])
{
	const char *end = id + strcspn(id, ";"), *sig = end;
	unsigned char d[32], in[1024];
	char flip[8192];
	size_t n;
	int low;

	other_s(id, flip, sizeof(flip), &low);
	if (!low)
		id = flip;
	end = id + strcspn(id, ";");
	sig = end;
	while (sig > id && sig[-1] != '.')
		sig--;
	n = (size_t)(end - sig);
	memcpy(in, sig, n);
	in[n] = 0;
	SHA256(in, n + 1, d);
	memcpy(buf, "stir:", 5);
	for (int i = 0; i < 32; i++)
		snprintf(buf + 5 + 2 * i, 3, "%02x", d[i]);
	return buf;
}

/* on_value - a store read, its value in reason */
static void on_value(void *arg, enum sipdance_store_status st, const char *value, size_t len,
		     const char *why)
{
	struct seen *s = arg;

	(void)why;
	s->calls++;
	s->status = (int)st;
	snprintf(s->reason, sizeof(s->reason), "%.*s", value ? (int)len : 0, value ? value : "");
}

/* A store that holds every claim unanswered, counting claims and cancels. */
struct hold {
	int claims, cancels;
	struct sipdance_store_op *op;
};

/* hold_claim, hold_get, hold_put, hold_cancel - the held store's calls */
static int hold_claim(void *host, const char *key, const char *value, size_t len, unsigned ttl_s,
		      sipdance_store_cb *cb, void *arg, struct sipdance_store_op **op)
{
	struct hold *h = host;

	h->claims++;
	*op = h->op = (struct sipdance_store_op *)h; /* any token the host recognises */
	return 0;
}

static int hold_get(void *host, const char *key, sipdance_store_cb *cb, void *arg,
		    struct sipdance_store_op **op)
{
	return ENOTSUP;
}

static int hold_put(void *host, const char *key, const char *value, size_t len, unsigned ttl_s,
		    sipdance_store_cb *cb, void *arg, struct sipdance_store_op **op)
{
	return ENOTSUP;
}

static void hold_cancel(void *host, struct sipdance_store_op *op)
{
	struct hold *h = host;

	h->cancels += op == h->op;
}

static const struct sipdance_store_ops hold_ops = {
	sizeof(hold_ops), hold_claim, hold_get, hold_put, hold_cancel, NULL, NULL, NULL,
};

/* verified - the status of @n's verification of @req, run to its end on @l */
static int verified(struct sipdance_stir *n, struct sipdance_x5u *x, struct sipdance_loop *l,
		    const struct sipdance_stir_request *req)
{
	struct seen s = { 0 };

	CU_ASSERT_EQUAL(sipdance_stir_verify(n, x, req, on_verdict, &s, NULL), 0);
	loop(l, &s.calls, 1);
	CU_ASSERT_EQUAL(s.calls, 1);
	return s.status;
}

/* verify_replay - two verifiers ("nodes") sharing one store: a PASSporT is
 * accepted once; a failed verification spends nothing; a store that cannot
 * answer fails closed (503); a verification cancelled during its claim ends quietly */
static void verify_replay(void)
{
	struct sipdance_x5u_conf xc = { .size = sizeof(xc), .tls_ca_file = path("stir/root.pem"), .allow_private = 1,
					.allow_any_port = 1, .timeout_ms = 5000 };
	struct sipdance_stir_conf conf = { .size = sizeof(conf), .ca_file = path("stir/root.pem") };
	struct sipdance_passport pp = { .orig = "12025551000", .dest = { "12025552000" }, .ndest = 1,
					.attest = "A" };
	struct sipdance_stir_signer_conf sc = { .size = sizeof(sc), .key_file = path("stir/ee.key") };
	struct sipdance_stir_signer *signer = NULL;
	struct sipdance_stir *n1 = NULL, *n2 = NULL;
	struct sipdance_stir_query *q = NULL;
	struct sipdance_store *shared = NULL, *full = NULL, *held = NULL;
	struct hold h = { 0 };
	struct sipdance_loop *l = NULL;
	struct sipdance_x5u *x = NULL;
	struct seen a = { 0 }, b = { 0 }, c = { 0 }, d = { 0 }, e = { 0 }, f = { 0 }, g = { 0 }, h2 = { 0 };
	struct server sv;
	char id[8192], flipped[8192], other[8192], third[8192], x5u[128], kbuf[80];
	struct sipdance_passport div = { .ppt = "div", .orig = "12025551000", .dest = { "13035553000" },
					 .ndest = 1, .div = "12025552000" };
	int low = 0;
	const char *ids[] = { id }, *ids2[2];
	struct sipdance_stir_request req = { .identity = ids, .nidentity = 1, .orig = "12025551000",
					     .dest = "12025559999" };
	struct sipdance_stir_request req2 = { .identity = ids2, .nidentity = 2, .orig = "12025551000",
					      .dest = "12025552000" };

	CU_ASSERT_EQUAL_FATAL(server_start(&sv), 0);
	snprintf(x5u, sizeof(x5u), "%s", url(&sv, "/ok"));
	sc.x5u = x5u;
	CU_ASSERT_EQUAL_FATAL(sipdance_stir_signer_alloc(&signer, &sc, NULL), 0);
	CU_ASSERT_EQUAL_FATAL(sipdance_stir_sign(signer, &pp, id, sizeof(id), NULL), 0);
	CU_ASSERT_EQUAL_FATAL(sipdance_loop_poll_alloc(&l), 0);
	xc.loop = l;
	CU_ASSERT_EQUAL_FATAL(sipdance_x5u_alloc(&x, &xc), 0);
	CU_ASSERT_EQUAL_FATAL(sipdance_store_mem_alloc(&shared, l, 0), 0);
	CU_ASSERT_EQUAL_FATAL(sipdance_stir_alloc(&n1, &conf), 0);
	CU_ASSERT_EQUAL_FATAL(sipdance_stir_alloc(&n2, &conf), 0);
	sipdance_stir_set_store(n1, shared, "node1");
	sipdance_stir_set_store(n2, shared, "node2");
	/* a request that fails verification (wrong To) claims nothing */
	CU_ASSERT_EQUAL(sipdance_stir_verify(n1, x, &req, on_verdict, &a, NULL), 0);
	loop(l, &a.calls, 1);
	CU_ASSERT_EQUAL(a.status, 438);
	req.dest = "12025552000";
	CU_ASSERT_EQUAL(sipdance_stir_verify(n1, x, &req, on_verdict, &b, NULL), 0);
	loop(l, &b.calls, 1);
	CU_ASSERT_EQUAL(b.calls, 1);
	CU_ASSERT_EQUAL(b.status, 0);
	/* the same PASSporT at the other node: a replay */
	CU_ASSERT_EQUAL(sipdance_stir_verify(n2, x, &req, on_verdict, &c, NULL), 0);
	loop(l, &c.calls, 1);
	CU_ASSERT_EQUAL(c.status, 403);
	CU_ASSERT_STRING_EQUAL(c.reason, "PASSporT replayed: these signatures were accepted before, "
			       "within their freshness window");
	/* the same PASSporT with its other valid signature (r, n - s): the same use, a replay */
	other_s(id, flipped, sizeof(flipped), &low);
	ids[0] = flipped;
	CU_ASSERT_EQUAL(sipdance_stir_verify(n2, x, &req, on_verdict, &h2, NULL), 0);
	loop(l, &h2.calls, 1);
	CU_ASSERT_EQUAL(h2.status, 403);
	CU_ASSERT_STRING_EQUAL(h2.reason, "PASSporT replayed: these signatures were accepted before, "
			       "within their freshness window");
	ids[0] = id;
	/* the same PASSporT twice in one request is the same use: still a replay */
	ids2[0] = ids2[1] = id;
	CU_ASSERT_EQUAL(sipdance_stir_verify(n2, x, &req2, on_verdict, &f, NULL), 0);
	loop(l, &f.calls, 1);
	CU_ASSERT_EQUAL(f.status, 403);
	/* beside another PASSporT of the same caller (another call's, an rcd
	 * one), first or second: still a replay (its set was another before;
	 * reviewer's finding: accepted) */
	CU_ASSERT_EQUAL_FATAL(sipdance_stir_sign(signer, &pp, other, sizeof(other), NULL), 0);
	ids2[0] = id;
	ids2[1] = other;
	CU_ASSERT_EQUAL(verified(n2, x, l, &req2), 403);
	ids2[0] = other;
	ids2[1] = id;
	CU_ASSERT_EQUAL(verified(n2, x, l, &req2), 403);
	/* two PASSporTs accepted together: neither goes alone again, nor
	 * reordered (reviewer's finding: each alone was accepted) */
	CU_ASSERT_EQUAL_FATAL(sipdance_stir_sign(signer, &pp, other, sizeof(other), NULL), 0);
	CU_ASSERT_EQUAL_FATAL(sipdance_stir_sign(signer, &pp, third, sizeof(third), NULL), 0);
	ids2[0] = other;
	ids2[1] = third;
	CU_ASSERT_EQUAL(verified(n1, x, l, &req2), 0);
	ids[0] = third;
	CU_ASSERT_EQUAL(verified(n2, x, l, &req), 403);
	ids[0] = other;
	CU_ASSERT_EQUAL(verified(n2, x, l, &req), 403);
	ids2[0] = third;
	ids2[1] = other;
	CU_ASSERT_EQUAL(verified(n2, x, l, &req2), 403);
	/* a diverted call (RFC 8946): its original PASSporT, accepted before,
	 * again with a div one is a new use, once */
	CU_ASSERT_EQUAL_FATAL(sipdance_stir_sign(signer, &div, third, sizeof(third), NULL), 0);
	ids2[0] = id;
	ids2[1] = third;
	req2.dest = "13035553000";
	CU_ASSERT_EQUAL(verified(n2, x, l, &req2), 0);
	CU_ASSERT_EQUAL(verified(n1, x, l, &req2), 403);
	req2.dest = "12025552000";
	ids[0] = id;
	/* the store holds who accepted it */
	CU_ASSERT_EQUAL(sipdance_store_get(shared, key_of(id, kbuf), on_value, &g, NULL), 0);
	loop(l, &g.calls, 1);
	CU_ASSERT_STRING_EQUAL(g.reason, "node1");
	/* a store that cannot record it (full): 503, not a silent accept */
	CU_ASSERT_EQUAL_FATAL(sipdance_store_mem_alloc(&full, l, 1), 0);
	CU_ASSERT_EQUAL(sipdance_store_put(full, "other", "", 0, 60, NULL, NULL, NULL), 0);
	sipdance_stir_set_store(n2, full, NULL);
	CU_ASSERT_EQUAL_FATAL(sipdance_stir_sign(signer, &pp, id, sizeof(id), NULL), 0);
	CU_ASSERT_EQUAL(sipdance_stir_verify(n2, x, &req, on_verdict, &d, NULL), 0);
	loop(l, &d.calls, 1);
	CU_ASSERT_EQUAL(d.status, 503);
	CU_ASSERT_STRING_EQUAL(d.reason, "replay state unavailable: the in-memory store is full");
	CU_ASSERT_STRING_EQUAL(sipdance_stir_status_str(503), "Service Unavailable");
	/* cancelled while its claim is in flight (a store that holds it): the
	 * claim is cancelled in the store, no callback, nothing leaks */
	CU_ASSERT_EQUAL_FATAL(sipdance_store_alloc(&held, &hold_ops, &h), 0);
	sipdance_stir_set_store(n2, held, "node2");
	CU_ASSERT_EQUAL_FATAL(sipdance_stir_sign(signer, &pp, id, sizeof(id), NULL), 0);
	CU_ASSERT_EQUAL(sipdance_stir_verify(n2, x, &req, on_verdict, &e, &q), 0);
	loop(l, &h.claims, 1);
	CU_ASSERT_EQUAL(h.claims, 1);
	sipdance_stir_cancel(q);
	CU_ASSERT_EQUAL(h.cancels, 1);
	sipdance_loop_run(l, NULL, 50);
	CU_ASSERT_EQUAL(e.calls, 0);
	sipdance_store_free(held);
	sipdance_x5u_free(x);
	sipdance_stir_free(n1);
	sipdance_stir_free(n2);
	sipdance_store_free(shared);
	sipdance_store_free(full);
	sipdance_loop_free(l);
	sipdance_stir_signer_free(signer);
	server_stop(&sv);
}

CU_ErrorCode suite_stir(void)
{
	CU_pSuite s = CU_add_suite("stir", NULL, NULL);

	if (!s || !CU_add_test(s, "base64url", b64url_cases) ||
	    !CU_add_test(s, "deterministic JSON", json_canonical) ||
	    !CU_add_test(s, "Identity header forms", identity_forms) ||
	    !CU_add_test(s, "Identity oversized", identity_oversized) ||
	    !CU_add_test(s, "Identity values in one field", identity_split) ||
	    !CU_add_test(s, "canonical TNs", tn_table) ||
	    !CU_add_test(s, "mky from fingerprints", mky_forms) ||
	    !CU_add_test(s, "verification matrix", verify_matrix) ||
	    !CU_add_test(s, "signed by another key", verify_other_key) ||
	    !CU_add_test(s, "oversized PASSporT", verify_oversized) ||
	    !CU_add_test(s, "validated chains remembered within validity", chain_memory) ||
	    !CU_add_test(s, "secsipidx vector", verify_secsipidx) ||
	    !CU_add_test(s, "sign and verify", sign_roundtrip) ||
	    !CU_add_test(s, "div PASSporT chain", div_chain) ||
	    !CU_add_test(s, "TNAuthList scope", tn_scope_table) ||
	    !CU_add_test(s, "TNAuthList scope of a div PASSporT", tn_scope_div) ||
	    !CU_add_test(s, "TNAuthList of a delegating CA", tn_scope_delegate) ||
	    !CU_add_test(s, "compact form", compact_form) ||
	    !CU_add_test(s, "x5u fetch and cache", x5u_fetching) ||
	    !CU_add_test(s, "x5u policy", x5u_policy) ||
	    !CU_add_test(s, "x5u address policy", x5u_addresses) ||
	    !CU_add_test(s, "x5u Cache-Control", x5u_cache_control) ||
	    !CU_add_test(s, "x5u hostile servers", x5u_hostile) ||
	    !CU_add_test(s, "x5u concurrent fetches", x5u_concurrent) ||
	    !CU_add_test(s, "asynchronous verification", verify_async) ||
	    !CU_add_test(s, "replay claimed in a shared store", verify_replay))
		return CU_get_error();
	return CUE_SUCCESS;
}
