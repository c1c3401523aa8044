/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * stun.c - STUN (RFC 8489) encode and decode: header, the attributes ICE
 * needs, MESSAGE-INTEGRITY (-SHA256) and FINGERPRINT. Decoding is strict:
 * every length, the padding and the order of the trailing attributes are
 * checked, and each rejection names its reason.
 */
#include <errno.h>
#include <string.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "internal.h"
#include "stun.h"

/* put32 - store big-endian 32 bits */
static void put32(uint8_t *p, uint32_t v)
{
	sd_put16(p, (uint16_t)(v >> 16));
	sd_put16(p + 2, (uint16_t)v);
}

/* sipdance_stun_crc32 - bitwise CRC-32, reflected polynomial 0xEDB88320 */
uint32_t sipdance_stun_crc32(const uint8_t *buf, size_t len)
{
	static uint32_t table[256];
	uint32_t crc = 0xFFFFFFFFu;

	if (!table[1])
		for (uint32_t i = 0; i < 256; i++) {
			uint32_t c = i;

			for (int k = 0; k < 8; k++)
				c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
			table[i] = c;
		}
	for (size_t i = 0; i < len; i++)
		crc = table[(crc ^ buf[i]) & 0xFF] ^ (crc >> 8);
	return crc ^ 0xFFFFFFFFu;
}

/* sipdance_stun_is_stun - RFC 7983 first-byte range plus the header size */
int sipdance_stun_is_stun(const uint8_t *buf, size_t len)
{
	return len >= SIPDANCE_STUN_HDR_LEN && buf[0] <= 3;
}

/* sipdance_stun_txid - random transaction id */
int sipdance_stun_txid(uint8_t txid[12])
{
	return RAND_bytes(txid, 12) == 1 ? 0 : EIO;
}

/* fingerprint_of - FINGERPRINT value over the first @len bytes */
static uint32_t fingerprint_of(const uint8_t *buf, size_t len)
{
	return sipdance_stun_crc32(buf, len) ^ SIPDANCE_STUN_FP_XOR;
}

/* hmac_at - HMAC over the message before offset @off, with the header length
 * rewritten to end after an attribute of @alen value bytes at @off */
static int hmac_at(const uint8_t *msg, size_t off, size_t alen, const EVP_MD *md,
		   const uint8_t *key, size_t keylen, uint8_t *out, unsigned *outlen)
{
	uint8_t copy[SIPDANCE_STUN_MAX_LEN];
	static const uint8_t nokey;

	if (off > sizeof(copy))
		return EMSGSIZE;
	memcpy(copy, msg, off);
	sd_put16(copy + 2, (uint16_t)(off + 4 + alen - SIPDANCE_STUN_HDR_LEN));
	return HMAC(md, keylen ? key : &nokey, (int)keylen, copy, off, out, outlen) ? 0 : ENOMEM;
}

/* decode_xor_addr - XOR-MAPPED-ADDRESS value into a sockaddr */
static int decode_xor_addr(struct sipdance_stun_msg *m, const uint8_t *v, size_t len,
			   const uint8_t *hdr, const char **why)
{
	uint16_t port;

	if (len < 4)
		return sd_fail(why, "XOR-MAPPED-ADDRESS shorter than 4 bytes", EBADMSG);
	port = sd_get16(v + 2) ^ (uint16_t)(SIPDANCE_STUN_COOKIE >> 16);
	memset(&m->xor_mapped, 0, sizeof(m->xor_mapped));
	if (v[1] == 1) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&m->xor_mapped;
		uint32_t a;

		if (len != 8)
			return sd_fail(why, "XOR-MAPPED-ADDRESS IPv4 length is not 8", EBADMSG);
		a = sd_get32(v + 4) ^ SIPDANCE_STUN_COOKIE;
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		sin->sin_addr.s_addr = htonl(a);
	} else if (v[1] == 2) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&m->xor_mapped;

		if (len != 20)
			return sd_fail(why, "XOR-MAPPED-ADDRESS IPv6 length is not 20", EBADMSG);
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		for (int i = 0; i < 16; i++)
			sin6->sin6_addr.s6_addr[i] = v[4 + i] ^ hdr[4 + i];
	} else {
		return sd_fail(why, "XOR-MAPPED-ADDRESS unknown address family", EBADMSG);
	}
	m->has_xor_mapped = 1;
	return 0;
}

/* decode_error - ERROR-CODE value: class 3-6, number 0-99, UTF-8 reason */
static int decode_error(struct sipdance_stun_msg *m, const uint8_t *v, size_t len, const char **why)
{
	unsigned cls, num;

	if (len < 4)
		return sd_fail(why, "ERROR-CODE shorter than 4 bytes", EBADMSG);
	if (len > 4 + 763)
		return sd_fail(why, "ERROR-CODE reason longer than 763 bytes", EBADMSG);
	cls = v[2] & 7;
	num = v[3];
	if (cls < 3 || cls > 6 || num > 99)
		return sd_fail(why, "ERROR-CODE out of range 300-699", EBADMSG);
	m->error_code = (int)(cls * 100 + num);
	m->error_reason = (struct sipdance_stun_str){ v + 4, len - 4 };
	return 0;
}

/* decode_unknown - UNKNOWN-ATTRIBUTES value: a list of 16-bit types */
static int decode_unknown(struct sipdance_stun_msg *m, const uint8_t *v, size_t len, const char **why)
{
	if (len % 2)
		return sd_fail(why, "UNKNOWN-ATTRIBUTES length is odd", EBADMSG);
	for (size_t i = 0; i + 1 < len && m->n_unknown_attrs < SIPDANCE_STUN_MAX_UNKNOWN; i += 2)
		m->unknown_attrs[m->n_unknown_attrs++] = sd_get16(v + i);
	return 0;
}

/* text_attr - a string attribute with its RFC 8489 size limit */
static int text_attr(struct sipdance_stun_str *s, const uint8_t *v, size_t len, size_t max,
		     const char *too_long, const char **why)
{
	if (len > max)
		return sd_fail(why, too_long, EBADMSG);
	*s = (struct sipdance_stun_str){ v, len };
	return 0;
}

/* decode_attr - one attribute the message has not already carried */
static int decode_attr(struct sipdance_stun_msg *m, uint16_t type, const uint8_t *v, size_t len,
		       const uint8_t *hdr, const char **why)
{
	switch (type) {
	case SIPDANCE_STUN_USERNAME:
		return text_attr(&m->username, v, len, 512, "USERNAME longer than 512 bytes", why);
	case SIPDANCE_STUN_REALM:
		return text_attr(&m->realm, v, len, 763, "REALM longer than 763 bytes", why);
	case SIPDANCE_STUN_NONCE:
		return text_attr(&m->nonce, v, len, 763, "NONCE longer than 763 bytes", why);
	case SIPDANCE_STUN_SOFTWARE:
		return text_attr(&m->software, v, len, 763, "SOFTWARE longer than 763 bytes", why);
	case SIPDANCE_STUN_PRIORITY:
		if (len != 4)
			return sd_fail(why, "PRIORITY length is not 4", EBADMSG);
		m->has_priority = 1;
		m->priority = sd_get32(v);
		return 0;
	case SIPDANCE_STUN_USE_CANDIDATE:
		if (len != 0)
			return sd_fail(why, "USE-CANDIDATE is not empty", EBADMSG);
		m->use_candidate = 1;
		return 0;
	case SIPDANCE_STUN_ICE_CONTROLLED:
	case SIPDANCE_STUN_ICE_CONTROLLING:
		if (len != 8)
			return sd_fail(why, "ICE-CONTROLLED/CONTROLLING length is not 8", EBADMSG);
		if (m->has_controlled || m->has_controlling)
			return sd_fail(why, "both ICE-CONTROLLED and ICE-CONTROLLING", EBADMSG);
		m->tiebreaker = (uint64_t)sd_get32(v) << 32 | sd_get32(v + 4);
		if (type == SIPDANCE_STUN_ICE_CONTROLLED)
			m->has_controlled = 1;
		else
			m->has_controlling = 1;
		return 0;
	case SIPDANCE_STUN_XOR_MAPPED_ADDRESS:
		return decode_xor_addr(m, v, len, hdr, why);
	case SIPDANCE_STUN_ERROR_CODE:
		return decode_error(m, v, len, why);
	case SIPDANCE_STUN_UNKNOWN_ATTRIBUTES:
		return decode_unknown(m, v, len, why);
	default:
		if (type < 0x8000 && m->n_unknown_required < SIPDANCE_STUN_MAX_UNKNOWN)
			m->unknown_required[m->n_unknown_required++] = type;
		return 0;
	}
}

/* seen_before - whether attribute @type already occurred (only the first counts) */
static int seen_before(const uint8_t *buf, size_t end, uint16_t type)
{
	for (size_t off = SIPDANCE_STUN_HDR_LEN; off < end;) {
		size_t alen = sd_get16(buf + off + 2);

		if (sd_get16(buf + off) == type)
			return 1;
		off += 4 + ((alen + 3) & ~(size_t)3);
	}
	return 0;
}

/* sipdance_stun_decode - header checks, then every attribute in order */
int sipdance_stun_decode(struct sipdance_stun_msg *m, const uint8_t *buf, size_t len,
			 const char **why)
{
	size_t mlen, off;
	uint16_t type;
	int err;

	if (!m || (!buf && len))
		return sd_fail(why, "no message", EINVAL);
	memset(m, 0, sizeof(*m));
	if (len > SIPDANCE_STUN_MAX_LEN)
		return sd_fail(why, "datagram larger than 1280 bytes", EMSGSIZE);
	if (len < SIPDANCE_STUN_HDR_LEN)
		return sd_fail(why, "shorter than the 20-byte header", EBADMSG);
	if (buf[0] & 0xC0)
		return sd_fail(why, "first two bits are not zero", EBADMSG);
	if (sd_get32(buf + 4) != SIPDANCE_STUN_COOKIE)
		return sd_fail(why, "wrong magic cookie", EBADMSG);
	mlen = sd_get16(buf + 2);
	if (mlen % 4)
		return sd_fail(why, "message length is not a multiple of 4", EBADMSG);
	if (SIPDANCE_STUN_HDR_LEN + mlen > len)
		return sd_fail(why, "truncated: length field exceeds the datagram", EBADMSG);
	if (SIPDANCE_STUN_HDR_LEN + mlen < len)
		return sd_fail(why, "bytes after the end of the message", EBADMSG);
	type = sd_get16(buf);
	m->method = (uint16_t)((type & 0x000F) | (type & 0x00E0) >> 1 | (type & 0x3E00) >> 2);
	m->cls = (enum sipdance_stun_class)((type >> 4 & 1) | (type >> 7 & 2));
	memcpy(m->txid, buf + 8, 12);
	m->raw = buf;
	m->raw_len = len;
	/*
	 * The trailing attributes, case by case (RFC 8489 §14.5-14.7):
	 *  - FINGERPRINT must be 4 bytes, equal the CRC-32 of everything before
	 *    it xor 0x5354554e, and be last: a wrong one or anything after it
	 *    rejects the datagram;
	 *  - MESSAGE-INTEGRITY (20 bytes) may be followed only by -SHA256 and
	 *    FINGERPRINT; -SHA256 (16-32 bytes) only by FINGERPRINT; other
	 *    attributes after them are not interpreted, since integrity does not
	 *    cover them;
	 *  - whether the integrity is right is sipdance_stun_check_integrity()'s
	 *    decision, with the key the caller knows.
	 */
	for (off = SIPDANCE_STUN_HDR_LEN; off < len;) {
		size_t alen, padded;
		uint16_t at;

		/* len - off is a multiple of 4, so a header always fits, and so does
		 * the padding of any value that fits. */
		at = sd_get16(buf + off);
		alen = sd_get16(buf + off + 2);
		padded = (alen + 3) & ~(size_t)3;
		if (padded > len - off - 4)
			return sd_fail(why, "attribute past the end", EBADMSG);
		if (m->has_fingerprint)
			return sd_fail(why, "attribute after FINGERPRINT", EBADMSG);
		if (at == SIPDANCE_STUN_FINGERPRINT) {
			if (alen != 4)
				return sd_fail(why, "FINGERPRINT length is not 4", EBADMSG);
			if (sd_get32(buf + off + 4) != fingerprint_of(buf, off))
				return sd_fail(why, "FINGERPRINT does not match the message", EBADMSG);
			m->has_fingerprint = 1;
		} else if (at == SIPDANCE_STUN_MESSAGE_INTEGRITY_SHA256) {
			if (alen < 16 || alen > 32 || alen % 4)
				return sd_fail(why, "MESSAGE-INTEGRITY-SHA256 length is not 16-32 in steps of 4",
					    EBADMSG);
			if (m->mi256_off)
				return sd_fail(why, "MESSAGE-INTEGRITY-SHA256 twice", EBADMSG);
			m->mi256_off = off;
			m->mi256_len = alen;
		} else if (at == SIPDANCE_STUN_MESSAGE_INTEGRITY) {
			if (alen != 20)
				return sd_fail(why, "MESSAGE-INTEGRITY length is not 20", EBADMSG);
			if (m->mi_off || m->mi256_off)
				return sd_fail(why, "MESSAGE-INTEGRITY after an integrity attribute", EBADMSG);
			m->mi_off = off;
		} else if (!m->mi_off && !m->mi256_off && !seen_before(buf, off, at)) {
			/* After integrity only integrity and FINGERPRINT count (RFC 8489 §14.5). */
			if ((err = decode_attr(m, at, buf + off + 4, alen, buf, why)))
				return err;
		}
		off += 4 + padded;
	}
	return 0;
}

/* sipdance_stun_check_integrity - every integrity attribute present must match */
int sipdance_stun_check_integrity(const struct sipdance_stun_msg *m, const uint8_t *key,
				  size_t keylen, const char **why)
{
	uint8_t mac[EVP_MAX_MD_SIZE];
	unsigned maclen;

	if (!m || !m->raw || (!key && keylen))
		return sd_fail(why, "no message", EINVAL);
	/*
	 * Cases:
	 *  - neither MESSAGE-INTEGRITY nor -SHA256: not authenticated, refused;
	 *  - MESSAGE-INTEGRITY present: its HMAC-SHA1 must equal ours;
	 *  - MESSAGE-INTEGRITY-SHA256 present: its (possibly truncated) HMAC-SHA256
	 *    must equal ours over the same length;
	 *  - both present: both must match.
	 * Comparisons are constant-time.
	 */
	if (!m->mi_off && !m->mi256_off)
		return sd_fail(why, "no MESSAGE-INTEGRITY", EACCES);
	if (m->mi_off) {
		if (hmac_at(m->raw, m->mi_off, 20, EVP_sha1(), key, keylen, mac, &maclen))
			return sd_fail(why, "out of memory", ENOMEM);
		if (CRYPTO_memcmp(mac, m->raw + m->mi_off + 4, 20) != 0)
			return sd_fail(why, "MESSAGE-INTEGRITY does not match", EACCES);
	}
	if (m->mi256_off) {
		if (hmac_at(m->raw, m->mi256_off, m->mi256_len, EVP_sha256(), key, keylen, mac, &maclen))
			return sd_fail(why, "out of memory", ENOMEM);
		if (CRYPTO_memcmp(mac, m->raw + m->mi256_off + 4, m->mi256_len) != 0)
			return sd_fail(why, "MESSAGE-INTEGRITY-SHA256 does not match", EACCES);
	}
	return 0;
}

/* encoder - a cursor over the caller's buffer */
struct encoder {
	uint8_t *buf;
	size_t size, len;
	uint8_t pad;
	int err;
};

/* put_attr - append one attribute and its padding */
static uint8_t *put_attr(struct encoder *e, uint16_t type, const void *val, size_t len)
{
	size_t padded = (len + 3) & ~(size_t)3;
	uint8_t *p;

	if (e->err)
		return NULL;
	if (len > 0xFFFF || e->size - e->len < 4 + padded) {
		e->err = EMSGSIZE;
		return NULL;
	}
	p = e->buf + e->len;
	sd_put16(p, type);
	sd_put16(p + 2, (uint16_t)len);
	if (val && len)
		memcpy(p + 4, val, len);
	memset(p + 4 + len, e->pad, padded - len);
	e->len += 4 + padded;
	sd_put16(e->buf + 2, (uint16_t)(e->len - SIPDANCE_STUN_HDR_LEN));
	return p + 4;
}

/* put_str - a string attribute when set */
static void put_str(struct encoder *e, uint16_t type, const struct sipdance_stun_str *s)
{
	if (s->len)
		put_attr(e, type, s->p, s->len);
}

/* put_xor_addr - XOR-MAPPED-ADDRESS from a sockaddr */
static void put_xor_addr(struct encoder *e, const struct sockaddr_storage *ss)
{
	uint8_t v[20] = { 0 };
	size_t n;

	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;

		v[1] = 1;
		sd_put16(v + 2, ntohs(sin->sin_port) ^ (uint16_t)(SIPDANCE_STUN_COOKIE >> 16));
		put32(v + 4, ntohl(sin->sin_addr.s_addr) ^ SIPDANCE_STUN_COOKIE);
		n = 8;
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;

		v[1] = 2;
		sd_put16(v + 2, ntohs(sin6->sin6_port) ^ (uint16_t)(SIPDANCE_STUN_COOKIE >> 16));
		for (int i = 0; i < 16; i++)
			v[4 + i] = sin6->sin6_addr.s6_addr[i] ^ e->buf[4 + i];
		n = 20;
	} else {
		e->err = EINVAL;
		return;
	}
	put_attr(e, SIPDANCE_STUN_XOR_MAPPED_ADDRESS, v, n);
}

/* put_fields - the plain attributes of @m in RFC 5769 order */
static void put_fields(struct encoder *e, const struct sipdance_stun_msg *m)
{
	uint8_t v[8];

	put_str(e, SIPDANCE_STUN_SOFTWARE, &m->software);
	if (m->has_priority) {
		put32(v, m->priority);
		put_attr(e, SIPDANCE_STUN_PRIORITY, v, 4);
	}
	if (m->has_controlled || m->has_controlling) {
		put32(v, (uint32_t)(m->tiebreaker >> 32));
		put32(v + 4, (uint32_t)m->tiebreaker);
		put_attr(e, m->has_controlled ? SIPDANCE_STUN_ICE_CONTROLLED : SIPDANCE_STUN_ICE_CONTROLLING,
			 v, 8);
	}
	if (m->use_candidate)
		put_attr(e, SIPDANCE_STUN_USE_CANDIDATE, NULL, 0);
	put_str(e, SIPDANCE_STUN_USERNAME, &m->username);
	put_str(e, SIPDANCE_STUN_REALM, &m->realm);
	put_str(e, SIPDANCE_STUN_NONCE, &m->nonce);
	if (m->has_xor_mapped)
		put_xor_addr(e, &m->xor_mapped);
	if (m->error_code) {
		uint8_t *p = put_attr(e, SIPDANCE_STUN_ERROR_CODE, NULL, 4 + m->error_reason.len);

		if (p) {
			memset(p, 0, 2);
			p[2] = (uint8_t)(m->error_code / 100);
			p[3] = (uint8_t)(m->error_code % 100);
			if (m->error_reason.len)
				memcpy(p + 4, m->error_reason.p, m->error_reason.len);
		}
	}
	if (m->n_unknown_attrs) {
		uint8_t *p = put_attr(e, SIPDANCE_STUN_UNKNOWN_ATTRIBUTES, NULL, 2 * m->n_unknown_attrs);

		for (size_t i = 0; p && i < m->n_unknown_attrs; i++)
			sd_put16(p + 2 * i, m->unknown_attrs[i]);
	}
}

/* put_mac - an integrity attribute over everything before it */
static void put_mac(struct encoder *e, uint16_t type, const EVP_MD *md, size_t maclen,
		    const uint8_t *key, size_t keylen)
{
	uint8_t mac[EVP_MAX_MD_SIZE];
	size_t off = e->len;
	unsigned n;
	uint8_t *p = put_attr(e, type, NULL, maclen);

	if (!p)
		return;
	if (hmac_at(e->buf, off, maclen, md, key, keylen, mac, &n)) {
		e->err = ENOMEM;
		return;
	}
	memcpy(p, mac, maclen);
}

/* sipdance_stun_encode - header, fields, then integrity and FINGERPRINT */
int sipdance_stun_encode(const struct sipdance_stun_msg *m, const uint8_t *key, size_t keylen,
			 unsigned flags, uint8_t pad, uint8_t *buf, size_t size, size_t *outlen)
{
	struct encoder e = { buf, size < SIPDANCE_STUN_MAX_LEN ? size : SIPDANCE_STUN_MAX_LEN,
			     SIPDANCE_STUN_HDR_LEN, pad, 0 };
	uint16_t type;
	uint8_t *p;

	if (!m || !buf || !outlen || m->method > 0xFFF || m->cls > SIPDANCE_STUN_ERROR ||
	    (m->has_controlled && m->has_controlling) ||
	    (m->error_code && (m->error_code < 300 || m->error_code > 699)) ||
	    m->n_unknown_attrs > SIPDANCE_STUN_MAX_UNKNOWN ||
	    ((flags & (SIPDANCE_STUN_ADD_MI | SIPDANCE_STUN_ADD_MI256)) && !key && keylen))
		return EINVAL;
	if (size < SIPDANCE_STUN_HDR_LEN)
		return EMSGSIZE;
	type = (uint16_t)((m->method & 0x000F) | (m->method & 0x0070) << 1 | (m->method & 0x0F80) << 2 |
			  (m->cls & 1) << 4 | (m->cls & 2) << 7);
	sd_put16(buf, type);
	sd_put16(buf + 2, 0);
	put32(buf + 4, SIPDANCE_STUN_COOKIE);
	memcpy(buf + 8, m->txid, 12);
	put_fields(&e, m);
	if (flags & SIPDANCE_STUN_ADD_MI)
		put_mac(&e, SIPDANCE_STUN_MESSAGE_INTEGRITY, EVP_sha1(), 20, key, keylen);
	if (flags & SIPDANCE_STUN_ADD_MI256)
		put_mac(&e, SIPDANCE_STUN_MESSAGE_INTEGRITY_SHA256, EVP_sha256(), 32, key, keylen);
	if ((flags & SIPDANCE_STUN_ADD_FINGERPRINT) &&
	    (p = put_attr(&e, SIPDANCE_STUN_FINGERPRINT, NULL, 4)))
		put32(p, fingerprint_of(buf, e.len - 8));
	if (e.err)
		return e.err;
	*outlen = e.len;
	return 0;
}

/* sipdance_stun_longterm_key - MD5 over "user:realm:pass" (RFC 8489 §9.2.2) */
int sipdance_stun_longterm_key(const char *user, const char *realm, const char *pass,
			       uint8_t key[16])
{
	EVP_MD_CTX *ctx;
	unsigned n = 0;
	int ok;

	if (!user || !realm || !pass || !key)
		return EINVAL;
	if (!(ctx = EVP_MD_CTX_new()))
		return ENOMEM;
	ok = EVP_DigestInit_ex(ctx, EVP_md5(), NULL) == 1 &&
	     EVP_DigestUpdate(ctx, user, strlen(user)) == 1 && EVP_DigestUpdate(ctx, ":", 1) == 1 &&
	     EVP_DigestUpdate(ctx, realm, strlen(realm)) == 1 && EVP_DigestUpdate(ctx, ":", 1) == 1 &&
	     EVP_DigestUpdate(ctx, pass, strlen(pass)) == 1 && EVP_DigestFinal_ex(ctx, key, &n) == 1;
	EVP_MD_CTX_free(ctx);
	return ok && n == 16 ? 0 : ENOMEM;
}
