/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * dnssec.c - the DNSSEC validator's primitives over OpenSSL 3: DNSKEY public
 * keys (RFC 3110 RSA, RFC 6605 ECDSA, RFC 8080 EdDSA) into EVP_PKEYs, RRSIG
 * signature checks, DS digests (RFC 4509 SHA-256, RFC 6605 SHA-384), key
 * tags and NSEC3 hashes (RFC 5155).
 */
#include <errno.h>
#include <string.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include "dnssec_int.h"

/* ec_key - P-256 / P-384 key from the raw X||Y of a DNSKEY */
static EVP_PKEY *ec_key(const char *group, const uint8_t *key, size_t len)
{
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pk = NULL;
	uint8_t pt[1 + 96];

	pt[0] = 4;
	memcpy(pt + 1, key, len);
	if (bld && OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, group, 0) &&
	    OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pt, len + 1) &&
	    (params = OSSL_PARAM_BLD_to_param(bld)) &&
	    (ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL)) &&
	    EVP_PKEY_fromdata_init(ctx) > 0)
		EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_PUBLIC_KEY, params);
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	return pk;
}

/* rsa_key - RSA key from RFC 3110 exponent-length, exponent, modulus */
static EVP_PKEY *rsa_key(const uint8_t *key, size_t len)
{
	OSSL_PARAM_BLD *bld;
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pk = NULL;
	BIGNUM *n = NULL, *e = NULL;
	size_t elen, off = 1;

	if (len < 3)
		return NULL;
	elen = key[0];
	if (!elen) {
		elen = (size_t)key[1] << 8 | key[2];
		off = 3;
	}
	/* modulus of 1024 to 4096 bits, as RFC 3110 and RFC 5702 allow */
	if (!elen || len < off + elen + 128 || len - off - elen > 512)
		return NULL;
	if (!(bld = OSSL_PARAM_BLD_new()))
		return NULL;
	e = BN_bin2bn(key + off, (int)elen, NULL);
	n = BN_bin2bn(key + off + elen, (int)(len - off - elen), NULL);
	if (e && n && OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) &&
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e) &&
	    (params = OSSL_PARAM_BLD_to_param(bld)) &&
	    (ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL)) &&
	    EVP_PKEY_fromdata_init(ctx) > 0)
		EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_PUBLIC_KEY, params);
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_free(n);
	BN_free(e);
	return pk;
}

/* ecdsa_der - DER ECDSA-Sig-Value from the raw r||s of an RRSIG */
static int ecdsa_der(const uint8_t *sig, size_t len, unsigned char **der)
{
	ECDSA_SIG *s = ECDSA_SIG_new();
	BIGNUM *r = BN_bin2bn(sig, (int)(len / 2), NULL), *ss = BN_bin2bn(sig + len / 2, (int)(len / 2), NULL);
	int n = -1;

	if (s && r && ss && ECDSA_SIG_set0(s, r, ss)) {
		r = ss = NULL;
		n = i2d_ECDSA_SIG(s, der);
	}
	BN_free(r);
	BN_free(ss);
	ECDSA_SIG_free(s);
	return n;
}

/* sd_dnssec_pkey - the public key of DNSKEY key data for algorithm @alg */
EVP_PKEY *sd_dnssec_pkey(uint8_t alg, const uint8_t *key, size_t keylen, const char **why)
{
	EVP_PKEY *pk = NULL;

	*why = "DNSKEY public key is malformed";
	switch (alg) {
	case 8:
	case 10:
		pk = rsa_key(key, keylen);
		break;
	case 13:
	case 14:
		if (keylen == (alg == 13 ? 64u : 96u))
			pk = ec_key(alg == 13 ? "prime256v1" : "secp384r1", key, keylen);
		break;
	case 15:
	case 16:
		if (keylen == (alg == 15 ? 32u : 57u))
			pk = EVP_PKEY_new_raw_public_key(alg == 15 ? EVP_PKEY_ED25519 : EVP_PKEY_ED448, NULL,
							 key, keylen);
		break;
	default:
		*why = "unsupported DNSSEC algorithm";
	}
	ERR_clear_error();
	return pk;
}

/* sd_dnssec_verify_pkey - one signature check with a prepared key */
const char *sd_dnssec_verify_pkey(uint8_t alg, EVP_PKEY *pk, const uint8_t *data, size_t len,
				  const uint8_t *sig, size_t siglen)
{
	const EVP_MD *md = alg == 8 || alg == 13 ? EVP_sha256() : alg == 10 ? EVP_sha512() :
			   alg == 14 ? EVP_sha384() : NULL;
	unsigned char *der = NULL;
	const char *why = "signature does not verify";
	EVP_MD_CTX *mctx;
	int derlen = 0;

	if (alg == 13 || alg == 14) {
		if (siglen != (alg == 13 ? 64u : 96u))
			return "ECDSA signature of the wrong length";
		if ((derlen = ecdsa_der(sig, siglen, &der)) < 0)
			return "out of memory";
	} else if ((alg == 15 && siglen != 64) || (alg == 16 && siglen != 114)) {
		return "EdDSA signature of the wrong length";
	}
	if ((mctx = EVP_MD_CTX_new()) && EVP_DigestVerifyInit(mctx, NULL, md, NULL, pk) == 1 &&
	    EVP_DigestVerify(mctx, der ? der : sig, der ? (size_t)derlen : siglen, data, len) == 1)
		why = NULL;
	EVP_MD_CTX_free(mctx);
	OPENSSL_free(der);
	ERR_clear_error();
	return why;
}

/* sd_dnssec_alg_supported - the signature algorithms we verify (RFC 8624 MUST
 * and RECOMMENDED, without the SHA-1 ones) */
int sd_dnssec_alg_supported(uint8_t alg)
{
	return alg == 8 || alg == 10 || (alg >= 13 && alg <= 16);
}

/* sd_dnssec_digest - DS digest */
int sd_dnssec_digest(uint8_t dtype, const uint8_t *in, size_t len, uint8_t *md, size_t *mdlen)
{
	const EVP_MD *m = dtype == 2 ? EVP_sha256() : dtype == 4 ? EVP_sha384() : NULL;
	unsigned int l;

	if (!m)
		return EINVAL;
	if (!in)
		return 0;
	if (!EVP_Digest(in, len, md, &l, m, NULL))
		return ENOMEM;
	*mdlen = l;
	return 0;
}

/* sd_dnssec_key_tag - RFC 4034 Appendix B key tag of DNSKEY RDATA */
uint16_t sd_dnssec_key_tag(const uint8_t *rdata, size_t len)
{
	uint32_t ac = 0;

	for (size_t i = 0; i < len; i++)
		ac += (i & 1) ? rdata[i] : (uint32_t)rdata[i] << 8;
	ac += ac >> 16 & 0xffff;
	return (uint16_t)(ac & 0xffff);
}

/* sd_dnssec_nsec3_hash - RFC 5155 §5: H(x) = SHA-1(x || salt), iterated */
int sd_dnssec_nsec3_hash(const uint8_t *name, const uint8_t *salt, size_t saltlen,
			 unsigned iterations, uint8_t out[20])
{
	EVP_MD_CTX *m = EVP_MD_CTX_new();
	uint8_t lname[255];
	size_t nl = 0;
	int ok = m != NULL;

	/* the owner name in canonical (lowercase) form */
	while (name[nl]) {
		lname[nl] = name[nl];
		for (unsigned i = 1; i <= name[nl]; i++)
			lname[nl + i] = name[nl + i] >= 'A' && name[nl + i] <= 'Z' ? name[nl + i] + 32 :
					name[nl + i];
		nl += 1u + name[nl];
	}
	lname[nl++] = 0;
	for (unsigned i = 0; ok && i <= iterations; i++)
		ok = EVP_DigestInit_ex(m, EVP_sha1(), NULL) == 1 &&
		     EVP_DigestUpdate(m, i ? out : lname, i ? 20 : nl) == 1 &&
		     EVP_DigestUpdate(m, salt, saltlen) == 1 && EVP_DigestFinal_ex(m, out, NULL) == 1;
	EVP_MD_CTX_free(m);
	return ok ? 0 : ENOMEM;
}
