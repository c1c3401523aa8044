/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_stun.c - STUN codec against the four RFC 5769 vectors, malformed
 * messages each rejected with its own reason, and encode round trips; then
 * two media endpoints on loopback: ICE, DTLS with fingerprints checked, SRTP
 * both ways, and each refusal (altered fingerprint, wrong ICE password,
 * consent lost, forged and replayed SRTP).
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <CUnit/CUnit.h>
#include <openssl/hmac.h>

#include <sipdance/sdp.h>
#include "../stun/stun.h"
#include "suites.h"

/* RFC 5769 §2.1: request with ICE attributes, short-term credentials. */
static const uint8_t rfc5769_req[] = {
	0x00, 0x01, 0x00, 0x58, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01,
	0xbc, 0x34, 0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae, 0x80, 0x22, 0x00, 0x10,
	0x53, 0x54, 0x55, 0x4e, 0x20, 0x74, 0x65, 0x73, 0x74, 0x20, 0x63, 0x6c,
	0x69, 0x65, 0x6e, 0x74, 0x00, 0x24, 0x00, 0x04, 0x6e, 0x00, 0x01, 0xff,
	0x80, 0x29, 0x00, 0x08, 0x93, 0x2f, 0xf9, 0xb1, 0x51, 0x26, 0x3b, 0x36,
	0x00, 0x06, 0x00, 0x09, 0x65, 0x76, 0x74, 0x6a, 0x3a, 0x68, 0x36, 0x76,
	0x59, 0x20, 0x20, 0x20, 0x00, 0x08, 0x00, 0x14, 0x9a, 0xea, 0xa7, 0x0c,
	0xbf, 0xd8, 0xcb, 0x56, 0x78, 0x1e, 0xf2, 0xb5, 0xb2, 0xd3, 0xf2, 0x49,
	0xc1, 0xb5, 0x71, 0xa2, 0x80, 0x28, 0x00, 0x04, 0xe5, 0x7a, 0x3b, 0xcf,
};

/* RFC 5769 §2.2: IPv4 success response. */
static const uint8_t rfc5769_v4[] = {
	0x01, 0x01, 0x00, 0x3c, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01,
	0xbc, 0x34, 0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae, 0x80, 0x22, 0x00, 0x0b,
	0x74, 0x65, 0x73, 0x74, 0x20, 0x76, 0x65, 0x63, 0x74, 0x6f, 0x72, 0x20,
	0x00, 0x20, 0x00, 0x08, 0x00, 0x01, 0xa1, 0x47, 0xe1, 0x12, 0xa6, 0x43,
	0x00, 0x08, 0x00, 0x14, 0x2b, 0x91, 0xf5, 0x99, 0xfd, 0x9e, 0x90, 0xc3,
	0x8c, 0x74, 0x89, 0xf9, 0x2a, 0xf9, 0xba, 0x53, 0xf0, 0x6b, 0xe7, 0xd7,
	0x80, 0x28, 0x00, 0x04, 0xc0, 0x7d, 0x4c, 0x96,
};

/* RFC 5769 §2.3: IPv6 success response. */
static const uint8_t rfc5769_v6[] = {
	0x01, 0x01, 0x00, 0x48, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01,
	0xbc, 0x34, 0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae, 0x80, 0x22, 0x00, 0x0b,
	0x74, 0x65, 0x73, 0x74, 0x20, 0x76, 0x65, 0x63, 0x74, 0x6f, 0x72, 0x20,
	0x00, 0x20, 0x00, 0x14, 0x00, 0x02, 0xa1, 0x47, 0x01, 0x13, 0xa9, 0xfa,
	0xa5, 0xd3, 0xf1, 0x79, 0xbc, 0x25, 0xf4, 0xb5, 0xbe, 0xd2, 0xb9, 0xd9,
	0x00, 0x08, 0x00, 0x14, 0xa3, 0x82, 0x95, 0x4e, 0x4b, 0xe6, 0x7b, 0xf1,
	0x17, 0x84, 0xc9, 0x7c, 0x82, 0x92, 0xc2, 0x75, 0xbf, 0xe3, 0xed, 0x41,
	0x80, 0x28, 0x00, 0x04, 0xc8, 0xfb, 0x0b, 0x4c,
};

/* RFC 5769 §2.4: request with long-term credentials (no FINGERPRINT). */
static const uint8_t rfc5769_lt[] = {
	0x00, 0x01, 0x00, 0x60, 0x21, 0x12, 0xa4, 0x42, 0x78, 0xad, 0x34, 0x33,
	0xc6, 0xad, 0x72, 0xc0, 0x29, 0xda, 0x41, 0x2e, 0x00, 0x06, 0x00, 0x12,
	0xe3, 0x83, 0x9e, 0xe3, 0x83, 0x88, 0xe3, 0x83, 0xaa, 0xe3, 0x83, 0x83,
	0xe3, 0x82, 0xaf, 0xe3, 0x82, 0xb9, 0x00, 0x00, 0x00, 0x15, 0x00, 0x1c,
	0x66, 0x2f, 0x2f, 0x34, 0x39, 0x39, 0x6b, 0x39, 0x35, 0x34, 0x64, 0x36,
	0x4f, 0x4c, 0x33, 0x34, 0x6f, 0x4c, 0x39, 0x46, 0x53, 0x54, 0x76, 0x79,
	0x36, 0x34, 0x73, 0x41, 0x00, 0x14, 0x00, 0x0b, 0x65, 0x78, 0x61, 0x6d,
	0x70, 0x6c, 0x65, 0x2e, 0x6f, 0x72, 0x67, 0x00, 0x00, 0x08, 0x00, 0x14,
	0xf6, 0x70, 0x24, 0x65, 0x6d, 0xd6, 0x4a, 0x3e, 0x02, 0xb8, 0xe0, 0x71,
	0x2e, 0x85, 0xc9, 0xa2, 0x8c, 0xa8, 0x96, 0x66,
};

#define PASS_5769 "VOkJxbRl1RmTxUk/WvJxBt"
#define KEY(s) (const uint8_t *)(s), strlen(s)

/* str_is - whether a decoded string equals @want */
static int str_is(const struct sipdance_stun_str *s, const char *want)
{
	return s->len == strlen(want) && memcmp(s->p, want, s->len) == 0;
}

/* reencode - encode the decoded @m with RFC 5769's padding and compare to @want */
static void reencode(const struct sipdance_stun_msg *m, const uint8_t *want, size_t len)
{
	uint8_t out[SIPDANCE_STUN_MAX_LEN];
	size_t n = 0;

	CU_ASSERT_EQUAL_FATAL(sipdance_stun_encode(m, KEY(PASS_5769), SIPDANCE_STUN_ADD_MI |
						   SIPDANCE_STUN_ADD_FINGERPRINT, 0x20, out,
						   sizeof(out), &n), 0);
	CU_ASSERT_EQUAL(n, len);
	CU_ASSERT_EQUAL(memcmp(out, want, len), 0);
}

/* vector_request - §2.1: every field, integrity right and wrong, exact re-encoding */
static void vector_request(void)
{
	struct sipdance_stun_msg m;
	const char *why = NULL;

	CU_ASSERT_EQUAL_FATAL(sipdance_stun_decode(&m, rfc5769_req, sizeof(rfc5769_req), &why), 0);
	CU_ASSERT_EQUAL(m.method, SIPDANCE_STUN_BINDING);
	CU_ASSERT_EQUAL(m.cls, SIPDANCE_STUN_REQUEST);
	CU_ASSERT_EQUAL(memcmp(m.txid, rfc5769_req + 8, 12), 0);
	CU_ASSERT(str_is(&m.software, "STUN test client"));
	CU_ASSERT(str_is(&m.username, "evtj:h6vY"));
	CU_ASSERT(m.has_priority && m.priority == 0x6e0001ffu);
	CU_ASSERT(m.has_controlled && !m.has_controlling);
	CU_ASSERT_EQUAL(m.tiebreaker, 0x932ff9b151263b36ull);
	CU_ASSERT(m.has_fingerprint && m.mi_off && !m.mi256_off && !m.use_candidate);
	CU_ASSERT_EQUAL(sipdance_stun_check_integrity(&m, KEY(PASS_5769), &why), 0);
	CU_ASSERT_EQUAL(sipdance_stun_check_integrity(&m, KEY("VOkJxbRl1RmTxUk/WvJxBT"), &why), EACCES);
	CU_ASSERT_STRING_EQUAL(why, "MESSAGE-INTEGRITY does not match");
	reencode(&m, rfc5769_req, sizeof(rfc5769_req));
}

/* vector_responses - §2.2 and §2.3: XOR-MAPPED-ADDRESS both families, exact re-encoding */
static void vector_responses(void)
{
	struct sipdance_stun_msg m;
	const struct sockaddr_in *sin = (const struct sockaddr_in *)&m.xor_mapped;
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&m.xor_mapped;
	char text[INET6_ADDRSTRLEN];

	CU_ASSERT_EQUAL_FATAL(sipdance_stun_decode(&m, rfc5769_v4, sizeof(rfc5769_v4), NULL), 0);
	CU_ASSERT_EQUAL(m.cls, SIPDANCE_STUN_SUCCESS);
	CU_ASSERT(str_is(&m.software, "test vector"));
	CU_ASSERT_FATAL(m.has_xor_mapped && m.xor_mapped.ss_family == AF_INET);
	CU_ASSERT_STRING_EQUAL(inet_ntop(AF_INET, &sin->sin_addr, text, sizeof(text)), "192.0.2.1");
	CU_ASSERT_EQUAL(ntohs(sin->sin_port), 32853);
	CU_ASSERT_EQUAL(sipdance_stun_check_integrity(&m, KEY(PASS_5769), NULL), 0);
	reencode(&m, rfc5769_v4, sizeof(rfc5769_v4));

	CU_ASSERT_EQUAL_FATAL(sipdance_stun_decode(&m, rfc5769_v6, sizeof(rfc5769_v6), NULL), 0);
	CU_ASSERT_FATAL(m.has_xor_mapped && m.xor_mapped.ss_family == AF_INET6);
	CU_ASSERT_STRING_EQUAL(inet_ntop(AF_INET6, &sin6->sin6_addr, text, sizeof(text)),
			       "2001:db8:1234:5678:11:2233:4455:6677");
	CU_ASSERT_EQUAL(ntohs(sin6->sin6_port), 32853);
	CU_ASSERT_EQUAL(sipdance_stun_check_integrity(&m, KEY(PASS_5769), NULL), 0);
	CU_ASSERT_EQUAL(sipdance_stun_check_integrity(&m, KEY(""), NULL), EACCES);
	reencode(&m, rfc5769_v6, sizeof(rfc5769_v6));
}

/* vector_longterm - §2.4: USERNAME, NONCE, REALM; key MD5(user:realm:SASLprep(pass)) */
static void vector_longterm(void)
{
	struct sipdance_stun_msg m;
	uint8_t key[16];
	const char *user = "\xe3\x83\x9e\xe3\x83\x88\xe3\x83\xaa\xe3\x83\x83\xe3\x82\xaf\xe3\x82\xb9";

	CU_ASSERT_EQUAL_FATAL(sipdance_stun_decode(&m, rfc5769_lt, sizeof(rfc5769_lt), NULL), 0);
	CU_ASSERT(str_is(&m.username, user));
	CU_ASSERT(str_is(&m.nonce, "f//499k954d6OL34oL9FSTvy64sA"));
	CU_ASSERT(str_is(&m.realm, "example.org"));
	CU_ASSERT(!m.has_fingerprint && m.mi_off);
	CU_ASSERT_EQUAL(sipdance_stun_longterm_key(user, "example.org", "TheMatrIX", key), 0);
	CU_ASSERT_EQUAL(sipdance_stun_check_integrity(&m, key, sizeof(key), NULL), 0);
	CU_ASSERT_EQUAL(sipdance_stun_longterm_key(user, "example.org", "thematrix", key), 0);
	CU_ASSERT_EQUAL(sipdance_stun_check_integrity(&m, key, sizeof(key), NULL), EACCES);
}

/* refix - recompute the FINGERPRINT at the end of a vector copy after an edit */
static void refix(uint8_t *b, size_t len)
{
	uint32_t fp = sipdance_stun_crc32(b, len - 8) ^ SIPDANCE_STUN_FP_XOR;

	b[len - 4] = (uint8_t)(fp >> 24);
	b[len - 3] = (uint8_t)(fp >> 16);
	b[len - 2] = (uint8_t)(fp >> 8);
	b[len - 1] = (uint8_t)fp;
}

/* malformed - each fault, made by editing a copy of §2.1, with its errno and reason */
static void malformed(void)
{
	static const struct {
		size_t off;      /* byte to overwrite, or SIZE_MAX */
		uint8_t val;
		int cut;         /* bytes removed from the end (negative: added) */
		int refix;       /* recompute FINGERPRINT after the edit */
		int err;
		const char *why;
	} bad[] = {
		{ SIZE_MAX, 0, 89, 0, EBADMSG, "shorter than the 20-byte header" },
		{ 0, 0x40, 0, 0, EBADMSG, "first two bits are not zero" },
		{ 4, 0x22, 0, 0, EBADMSG, "wrong magic cookie" },
		{ 3, 0x59, 0, 0, EBADMSG, "message length is not a multiple of 4" },
		{ 3, 0x5c, 0, 0, EBADMSG, "truncated: length field exceeds the datagram" },
		{ SIZE_MAX, 0, 4, 0, EBADMSG, "truncated: length field exceeds the datagram" },
		{ SIZE_MAX, 0, -4, 0, EBADMSG, "bytes after the end of the message" },
		{ 3, 0x54, 0, 0, EBADMSG, "bytes after the end of the message" },
		{ 23, 0xf0, 0, 0, EBADMSG, "attribute past the end" },
		{ 103, 0x05, 0, 0, EBADMSG, "attribute past the end" },
		{ 107, 0xce, 0, 0, EBADMSG, "FINGERPRINT does not match the message" },
		{ 30, 'X', 0, 0, EBADMSG, "FINGERPRINT does not match the message" },
		{ 103, 0x03, 0, 0, EBADMSG, "FINGERPRINT length is not 4" },
		{ 43, 0x03, 0, 0, EBADMSG, "PRIORITY length is not 4" },
		{ 51, 0x04, 0, 0, EBADMSG, "ICE-CONTROLLED/CONTROLLING length is not 8" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint8_t b[sizeof(rfc5769_req) + 4] = { 0 };
		size_t len = sizeof(rfc5769_req) - (size_t)bad[i].cut;
		struct sipdance_stun_msg m;
		const char *why = NULL;
		int err;

		memcpy(b, rfc5769_req, sizeof(rfc5769_req));
		if (bad[i].off != SIZE_MAX)
			b[bad[i].off] = bad[i].val;
		if (bad[i].refix)
			refix(b, len);
		err = sipdance_stun_decode(&m, b, len, &why);
		if (err != bad[i].err || !why || strcmp(why, bad[i].why))
			fprintf(stderr, "\n  case %zu: got %d \"%s\"\n", i, err, why ? why : "(null)");
		CU_ASSERT_EQUAL(err, bad[i].err);
		CU_ASSERT_PTR_NOT_NULL_FATAL(why);
		CU_ASSERT_STRING_EQUAL(why, bad[i].why);
	}
}

/* integrity_tamper - a body edit with a fixed-up FINGERPRINT still fails integrity */
static void integrity_tamper(void)
{
	uint8_t b[sizeof(rfc5769_req)];
	struct sipdance_stun_msg m;
	const char *why = NULL;

	memcpy(b, rfc5769_req, sizeof(b));
	b[47] ^= 1; /* PRIORITY */
	refix(b, sizeof(b));
	CU_ASSERT_EQUAL_FATAL(sipdance_stun_decode(&m, b, sizeof(b), &why), 0);
	CU_ASSERT_EQUAL(m.priority, 0x6e0001feu);
	CU_ASSERT_EQUAL(sipdance_stun_check_integrity(&m, KEY(PASS_5769), &why), EACCES);
	CU_ASSERT_STRING_EQUAL(why, "MESSAGE-INTEGRITY does not match");

	memcpy(b, rfc5769_req, sizeof(b));
	b[3] = 40; /* header and the first three attributes only */
	CU_ASSERT_EQUAL_FATAL(sipdance_stun_decode(&m, b, 60, &why), 0);
	CU_ASSERT_EQUAL(sipdance_stun_check_integrity(&m, KEY(PASS_5769), &why), EACCES);
	CU_ASSERT_STRING_EQUAL(why, "no MESSAGE-INTEGRITY");
}

/* trailing_attrs - an attribute after FINGERPRINT is refused, one after MI ignored */
static void trailing_attrs(void)
{
	uint8_t b[SIPDANCE_STUN_MAX_LEN];
	struct sipdance_stun_msg m = { .method = SIPDANCE_STUN_BINDING };
	const char *why = NULL;
	size_t n;

	m.username = (struct sipdance_stun_str){ (const uint8_t *)"a:b", 3 };
	CU_ASSERT_EQUAL_FATAL(sipdance_stun_encode(&m, KEY("pw"), SIPDANCE_STUN_ADD_MI |
						   SIPDANCE_STUN_ADD_FINGERPRINT, 0, b, sizeof(b), &n), 0);
	/* Append PRIORITY after FINGERPRINT: the CRC then covers a header that counts it. */
	memcpy(b + n, "\x00\x24\x00\x04\x00\x00\x00\x01", 8);
	b[3] = (uint8_t)(n + 8 - SIPDANCE_STUN_HDR_LEN);
	CU_ASSERT_EQUAL(sipdance_stun_decode(&m, b, n + 8, &why), EBADMSG);
	CU_ASSERT_STRING_EQUAL(why, "FINGERPRINT does not match the message");
	refix(b, n);
	CU_ASSERT_EQUAL(sipdance_stun_decode(&m, b, n + 8, &why), EBADMSG);
	CU_ASSERT_STRING_EQUAL(why, "attribute after FINGERPRINT");

	/* PRIORITY between MI and FINGERPRINT: not interpreted, integrity still holds. */
	CU_ASSERT_EQUAL_FATAL(sipdance_stun_encode(&m, KEY("pw"), SIPDANCE_STUN_ADD_MI, 0, b,
						   sizeof(b), &n), 0);
	memcpy(b + n, "\x00\x24\x00\x04\x00\x00\x00\x01", 8);
	n += 8;
	b[3] = (uint8_t)(n - SIPDANCE_STUN_HDR_LEN);
	CU_ASSERT_EQUAL_FATAL(sipdance_stun_decode(&m, b, n, &why), 0);
	CU_ASSERT(!m.has_priority);
	CU_ASSERT_EQUAL(sipdance_stun_check_integrity(&m, KEY("pw"), &why), 0);
}

/* ice_roundtrip - an ICE check and a 487 answer survive encode and decode */
static void ice_roundtrip(void)
{
	uint8_t b[SIPDANCE_STUN_MAX_LEN];
	struct sipdance_stun_msg m = {
		.method = SIPDANCE_STUN_BINDING, .cls = SIPDANCE_STUN_REQUEST,
		.has_priority = 1, .priority = 2130706431u, .use_candidate = 1,
		.has_controlling = 1, .tiebreaker = 0x0102030405060708ull,
		.username = { (const uint8_t *)"peer:mine", 9 },
	}, d;
	const char *why = NULL;
	size_t n;

	CU_ASSERT_EQUAL(sipdance_stun_txid(m.txid), 0);
	CU_ASSERT_EQUAL_FATAL(sipdance_stun_encode(&m, KEY("pw"), SIPDANCE_STUN_ADD_MI |
						   SIPDANCE_STUN_ADD_MI256 | SIPDANCE_STUN_ADD_FINGERPRINT,
						   0, b, sizeof(b), &n), 0);
	CU_ASSERT(sipdance_stun_is_stun(b, n));
	CU_ASSERT_EQUAL_FATAL(sipdance_stun_decode(&d, b, n, &why), 0);
	CU_ASSERT(d.has_priority && d.priority == m.priority && d.use_candidate && d.has_controlling);
	CU_ASSERT_EQUAL(d.tiebreaker, m.tiebreaker);
	CU_ASSERT(str_is(&d.username, "peer:mine") && d.mi_off && d.mi256_off && d.has_fingerprint);
	CU_ASSERT_EQUAL(d.mi256_len, 32);
	CU_ASSERT_EQUAL(sipdance_stun_check_integrity(&d, KEY("pw"), &why), 0);
	/* MI256 wrong while MI is right: still refused. */
	b[d.mi256_off + 10] ^= 1;
	refix(b, n);
	CU_ASSERT_EQUAL_FATAL(sipdance_stun_decode(&d, b, n, &why), 0);
	CU_ASSERT_EQUAL(sipdance_stun_check_integrity(&d, KEY("pw"), &why), EACCES);
	CU_ASSERT_STRING_EQUAL(why, "MESSAGE-INTEGRITY-SHA256 does not match");

	m = (struct sipdance_stun_msg){ .method = SIPDANCE_STUN_BINDING, .cls = SIPDANCE_STUN_ERROR,
					.error_code = 487, .error_reason = { (const uint8_t *)"Role Conflict", 13 },
					.n_unknown_attrs = 2, .unknown_attrs = { 0x0031, 0x7777 } };
	CU_ASSERT_EQUAL_FATAL(sipdance_stun_encode(&m, NULL, 0, SIPDANCE_STUN_ADD_FINGERPRINT, 0, b,
						   sizeof(b), &n), 0);
	CU_ASSERT_EQUAL_FATAL(sipdance_stun_decode(&d, b, n, &why), 0);
	CU_ASSERT_EQUAL(d.cls, SIPDANCE_STUN_ERROR);
	CU_ASSERT_EQUAL(d.error_code, 487);
	CU_ASSERT(str_is(&d.error_reason, "Role Conflict"));
	CU_ASSERT(d.n_unknown_attrs == 2 && d.unknown_attrs[1] == 0x7777);
	CU_ASSERT_EQUAL(sipdance_stun_check_integrity(&d, KEY("pw"), &why), EACCES);

	/* Encoder limits. */
	m.error_code = 700;
	CU_ASSERT_EQUAL(sipdance_stun_encode(&m, NULL, 0, 0, 0, b, sizeof(b), &n), EINVAL);
	m.error_code = 0;
	CU_ASSERT_EQUAL(sipdance_stun_encode(&m, NULL, 0, 0, 0, b, 24, &n), EMSGSIZE);
}

/* integrity_sizes - integrity attributes of the wrong size or order */
static void integrity_sizes(void)
{
	static const struct {
		uint16_t t1, l1, t2, l2;
		const char *why;
	} bad[] = {
		{ 0x0008, 16, 0, 0, "MESSAGE-INTEGRITY length is not 20" },
		{ 0x001C, 12, 0, 0, "MESSAGE-INTEGRITY-SHA256 length is not 16-32 in steps of 4" },
		{ 0x001C, 36, 0, 0, "MESSAGE-INTEGRITY-SHA256 length is not 16-32 in steps of 4" },
		{ 0x001C, 18, 0, 0, "MESSAGE-INTEGRITY-SHA256 length is not 16-32 in steps of 4" },
		{ 0x001C, 32, 0x0008, 20, "MESSAGE-INTEGRITY after an integrity attribute" },
		{ 0x0008, 20, 0x0008, 20, "MESSAGE-INTEGRITY after an integrity attribute" },
		{ 0x001C, 16, 0x001C, 16, "MESSAGE-INTEGRITY-SHA256 twice" },
		{ 0x0025, 4, 0, 0, "USE-CANDIDATE is not empty" },
		{ 0x8029, 8, 0x802A, 8, "both ICE-CONTROLLED and ICE-CONTROLLING" },
		{ 0x000A, 3, 0, 0, "UNKNOWN-ATTRIBUTES length is odd" },
		{ 0x0009, 2, 0, 0, "ERROR-CODE shorter than 4 bytes" },
		{ 0x0009, 4, 0, 0, "ERROR-CODE out of range 300-699" },
		{ 0x0020, 8, 0, 0, "XOR-MAPPED-ADDRESS unknown address family" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint8_t b[128] = { 0x00, 0x01, 0, 0, 0x21, 0x12, 0xa4, 0x42 };
		size_t len = SIPDANCE_STUN_HDR_LEN;
		struct sipdance_stun_msg m;
		const char *why = NULL;
		const uint16_t tl[2][2] = { { bad[i].t1, bad[i].l1 }, { bad[i].t2, bad[i].l2 } };

		for (int k = 0; k < 2 && tl[k][0]; k++) {
			b[len] = (uint8_t)(tl[k][0] >> 8);
			b[len + 1] = (uint8_t)tl[k][0];
			b[len + 3] = (uint8_t)tl[k][1];
			len += 4 + ((tl[k][1] + 3u) & ~3u);
		}
		b[3] = (uint8_t)(len - SIPDANCE_STUN_HDR_LEN);
		CU_ASSERT_EQUAL(sipdance_stun_decode(&m, b, len, &why), EBADMSG);
		if (!why || strcmp(why, bad[i].why))
			fprintf(stderr, "\n  case %zu: got \"%s\"\n", i, why ? why : "(null)");
		CU_ASSERT_PTR_NOT_NULL_FATAL(why);
		CU_ASSERT_STRING_EQUAL(why, bad[i].why);
	}
}

/* unknown_required - unknown comprehension-required types are listed for a 420 */
static void unknown_required(void)
{
	uint8_t b[] = { 0x00, 0x01, 0x00, 0x10, 0x21, 0x12, 0xa4, 0x42, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12,
			0x7f, 0x01, 0x00, 0x00, 0xc0, 0x01, 0x00, 0x01, 0xaa, 0, 0, 0,
			0x7f, 0x01, 0x00, 0x00 };
	struct sipdance_stun_msg m;

	CU_ASSERT_EQUAL_FATAL(sipdance_stun_decode(&m, b, sizeof(b), NULL), 0);
	CU_ASSERT_EQUAL(m.n_unknown_required, 1); /* 0xc001 is optional; the repeat counts once */
	CU_ASSERT_EQUAL(m.unknown_required[0], 0x7f01);
	CU_ASSERT_EQUAL(sipdance_stun_crc32((const uint8_t *)"123456789", 9), 0xcbf43926u);
}

/* A pair of endpoints, what each received, and an optional relay between them. */
struct peer {
	struct sipdance_stun_ep *ep;
	struct sipdance_sdp_media sdp;
	unsigned long got, bad_payload, rtcp_got;
	uint8_t tag;                     /* payload byte the other side sends */
};

/* on_media - count decrypted RTP and check its payload */
static void on_media(void *arg, int rtcp, const uint8_t *pkt, size_t len)
{
	struct peer *p = arg;

	if (rtcp) {
		/* The receiver report sent_rtcp() builds. */
		if (len == 8 && pkt[1] == 201 && pkt[7] == p->tag)
			p->rtcp_got++;
		return;
	}
	p->got++;
	if (len != 12 + 160 || pkt[12] != p->tag || pkt[12 + 159] != p->tag)
		p->bad_payload++;
}

/* vg - the factor for every interval below: VG_SLOW under valgrind (tests/timeout.sh), else 1;
 * consent, ICE and DTLS limits are bounds a slow run must not reach by being slow */
static int vg(void)
{
	const char *v = getenv("VG_SLOW");

	return v && atoi(v) > 0 ? atoi(v) : 1;
}

/* make_peer - an endpoint on 127.0.0.1 with short timers (ICE and DTLS give up after @limit_ms,
 * consent after 2 s, times vg()) */
static void make_peer(struct peer *p, uint8_t tag, unsigned limit_ms)
{
	struct sipdance_stun_ep_cfg cfg = {
		.addr = "127.0.0.1", .consent_interval_ms = 200, .consent_timeout_ms = 2000 * (unsigned)vg(),
		.ice_timeout_ms = limit_ms * (unsigned)vg(), .dtls_timeout_ms = limit_ms * (unsigned)vg(),
		.on_media = on_media, .arg = p,
	};

	memset(p, 0, sizeof(*p));
	p->tag = tag;
	CU_ASSERT_EQUAL_FATAL(sipdance_stun_ep_alloc(&p->ep, &cfg), 0);
}

/* elapsed_ms - milliseconds since @t0 */
static long elapsed_ms(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1000 + (t.tv_nsec - t0->tv_nsec) / 1000000;
}

/* run_both - poll both endpoints until both reach @want, one fails, or @ms (times vg()) pass */
static void run_both(struct peer *a, struct peer *b, enum sipdance_stun_ep_state want, long ms)
{
	struct timespec t0;

	ms *= vg();
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (elapsed_ms(&t0) < ms) {
		enum sipdance_stun_ep_state sa = sipdance_stun_ep_state(a->ep);
		enum sipdance_stun_ep_state sb = sipdance_stun_ep_state(b->ep);

		if ((sa == want && sb == want) || sa == SIPDANCE_EP_FAILED || sb == SIPDANCE_EP_FAILED)
			return;
		sipdance_stun_ep_poll(a->ep, 5);
		sipdance_stun_ep_poll(b->ep, 5);
	}
}

/* rtp - a 160-byte PCMU packet filled with @tag */
static size_t rtp(uint8_t *pkt, uint16_t seq, uint32_t ssrc, uint8_t tag)
{
	memset(pkt, 0, 12);
	pkt[0] = 0x80;
	pkt[2] = (uint8_t)(seq >> 8);
	pkt[3] = (uint8_t)seq;
	pkt[4] = (uint8_t)(seq >> 3);
	pkt[8] = (uint8_t)(ssrc >> 24);
	pkt[11] = (uint8_t)ssrc;
	memset(pkt + 12, tag, 160);
	return 12 + 160;
}

/* exchange - @n RTP packets each way; returns after both polled them in */
static void exchange(struct peer *a, struct peer *b, int n)
{
	uint8_t pkt[200];

	for (int i = 0; i < n; i++) {
		CU_ASSERT_EQUAL(sipdance_stun_ep_send(a->ep, 0, pkt, rtp(pkt, (uint16_t)i, 0xa, b->tag)), 0);
		CU_ASSERT_EQUAL(sipdance_stun_ep_send(b->ep, 0, pkt, rtp(pkt, (uint16_t)i, 0xb, a->tag)), 0);
		if (i % 10 == 9) {
			sipdance_stun_ep_poll(a->ep, 2);
			sipdance_stun_ep_poll(b->ep, 2);
		}
	}
	sipdance_stun_ep_poll(a->ep, 20);
	sipdance_stun_ep_poll(b->ep, 20);
	sipdance_stun_ep_poll(a->ep, 20);
}

/* offer_answer - a offers, b answers; @edit may change what each side receives */
static void offer_answer(struct peer *a, struct peer *b,
			 void (*edit_offer)(struct sipdance_sdp_media *),
			 void (*edit_answer)(struct sipdance_sdp_media *), int ice)
{
	struct sipdance_sdp_media offer, answer;
	char text[2048];

	CU_ASSERT_EQUAL_FATAL(sipdance_stun_ep_describe(a->ep, NULL, &a->sdp), 0);
	if (!ice) {
		a->sdp.ice_ufrag[0] = a->sdp.ice_pwd[0] = '\0';
		a->sdp.ncand = 0;
	}
	/* Through text, as signalling would carry it. */
	sipdance_sdp_media_format(&a->sdp, 1, text, sizeof(text));
	CU_ASSERT_EQUAL_FATAL(sipdance_sdp_media_parse(&offer, text, NULL), 0);
	if (edit_offer)
		edit_offer(&offer);
	CU_ASSERT_EQUAL_FATAL(sipdance_stun_ep_describe(b->ep, &offer, &b->sdp), 0);
	CU_ASSERT_EQUAL(b->sdp.setup, SIPDANCE_SETUP_ACTIVE);
	sipdance_sdp_media_format(&b->sdp, 2, text, sizeof(text));
	CU_ASSERT_EQUAL_FATAL(sipdance_sdp_media_parse(&answer, text, NULL), 0);
	if (edit_answer)
		edit_answer(&answer);
	CU_ASSERT_EQUAL_FATAL(sipdance_stun_ep_start(b->ep, &b->sdp, &offer, 0, NULL), 0);
	CU_ASSERT_EQUAL_FATAL(sipdance_stun_ep_start(a->ep, &a->sdp, &answer, 1, NULL), 0);
}

/* media_loopback - ICE, DTLS with fingerprints matched, SRTP both ways */
static void media_loopback(void)
{
	struct peer a, b;
	struct sipdance_stun_ep_stats sa, sb;

	make_peer(&a, 0x11, 10000);
	make_peer(&b, 0x22, 10000);
	offer_answer(&a, &b, NULL, NULL, 1);
	run_both(&a, &b, SIPDANCE_EP_SECURE, 10000);
	if (sipdance_stun_ep_state(a.ep) != SIPDANCE_EP_SECURE || sipdance_stun_ep_state(b.ep) != SIPDANCE_EP_SECURE)
		fprintf(stderr, "\n  a: %s\n  b: %s\n", sipdance_stun_ep_why(a.ep), sipdance_stun_ep_why(b.ep));
	CU_ASSERT_EQUAL_FATAL(sipdance_stun_ep_state(a.ep), SIPDANCE_EP_SECURE);
	CU_ASSERT_EQUAL_FATAL(sipdance_stun_ep_state(b.ep), SIPDANCE_EP_SECURE);
	CU_ASSERT_EQUAL(sipdance_stun_ep_verdict(a.ep)->result, SIPDANCE_MATCH);
	CU_ASSERT_EQUAL(sipdance_stun_ep_verdict(b.ep)->result, SIPDANCE_MATCH);
	CU_ASSERT_STRING_EQUAL(sipdance_stun_ep_verdict(a.ep)->reason,
			       "DTLS certificate matches the sha-256 fingerprint");
	exchange(&a, &b, 50);
	sipdance_stun_ep_stats(a.ep, &sa);
	sipdance_stun_ep_stats(b.ep, &sb);
	CU_ASSERT(sa.ice && sa.controlling && !sa.dtls_client);
	CU_ASSERT(sb.ice && !sb.controlling && sb.dtls_client);
	CU_ASSERT_STRING_EQUAL(sa.srtp_profile, "SRTP_AES128_CM_SHA1_80");
	CU_ASSERT(sa.rtp_tx == 50 && sb.rtp_tx == 50);
	CU_ASSERT_EQUAL(a.got, 50);
	CU_ASSERT_EQUAL(b.got, 50);
	CU_ASSERT(!a.bad_payload && !b.bad_payload && !sa.auth_fail && !sb.auth_fail);
	/* SRTCP on the same port (rtcp-mux): an empty receiver report each way. */
	{
		uint8_t rr[8] = { 0x80, 201, 0, 1, 0, 0, 0, 0 };

		rr[7] = b.tag;
		CU_ASSERT_EQUAL(sipdance_stun_ep_send(a.ep, 1, rr, sizeof(rr)), 0);
		rr[7] = a.tag;
		CU_ASSERT_EQUAL(sipdance_stun_ep_send(b.ep, 1, rr, sizeof(rr)), 0);
		sipdance_stun_ep_poll(b.ep, 20);
		sipdance_stun_ep_poll(a.ep, 20);
		CU_ASSERT(a.rtcp_got == 1 && b.rtcp_got == 1);
		sipdance_stun_ep_stats(a.ep, &sa);
		CU_ASSERT(sa.rtcp_tx == 1 && sa.rtcp_rx == 1);
	}
	/* Consent keeps flowing while both run: 3 s, longer than its 2 s timeout (both times vg()). */
	run_both(&a, &b, SIPDANCE_EP_FAILED, 3000);
	CU_ASSERT_EQUAL(sipdance_stun_ep_state(a.ep), SIPDANCE_EP_SECURE);
	CU_ASSERT_EQUAL(sipdance_stun_ep_state(b.ep), SIPDANCE_EP_SECURE);
	/* b gone: a's consent expires and it stops sending. */
	sipdance_stun_ep_free(b.ep);
	for (int i = 0; i < 500 * vg() && sipdance_stun_ep_state(a.ep) != SIPDANCE_EP_FAILED; i++)
		sipdance_stun_ep_poll(a.ep, 10);
	CU_ASSERT_EQUAL(sipdance_stun_ep_state(a.ep), SIPDANCE_EP_FAILED);
	CU_ASSERT_NSTRING_EQUAL(sipdance_stun_ep_why(a.ep), "consent expired", 15);
	{
		uint8_t pkt[200];

		CU_ASSERT_EQUAL(sipdance_stun_ep_send(a.ep, 0, pkt, rtp(pkt, 1, 1, 0)), ETIMEDOUT);
	}
	sipdance_stun_ep_free(a.ep);
}

/* flip_fp - one bit of the first fingerprint */
static void flip_fp(struct sipdance_sdp_media *m)
{
	m->fp[0].md[31] ^= 1;
}

/* refused - a altered fingerprint makes the checking side refuse the handshake */
static void refused(void (*edit_offer)(struct sipdance_sdp_media *),
		    void (*edit_answer)(struct sipdance_sdp_media *), int a_checks)
{
	struct peer a, b, *checker;
	uint8_t pkt[200];

	make_peer(&a, 1, 10000);
	make_peer(&b, 2, 10000);
	offer_answer(&a, &b, edit_offer, edit_answer, 1);
	run_both(&a, &b, SIPDANCE_EP_SECURE, 10000);
	for (int i = 0; i < 30 * vg(); i++) { /* let the other side's alert arrive */
		sipdance_stun_ep_poll(a.ep, 5);
		sipdance_stun_ep_poll(b.ep, 5);
	}
	checker = a_checks ? &a : &b;
	CU_ASSERT_EQUAL(sipdance_stun_ep_state(checker->ep), SIPDANCE_EP_FAILED);
	CU_ASSERT_EQUAL(sipdance_stun_ep_verdict(checker->ep)->result, SIPDANCE_NOMATCH);
	CU_ASSERT_NSTRING_EQUAL(sipdance_stun_ep_why(checker->ep), "DTLS handshake refused: DTLS certificate (sha-256 ",
				49);
	CU_ASSERT_NOT_EQUAL(sipdance_stun_ep_state(a.ep), SIPDANCE_EP_SECURE);
	CU_ASSERT_NOT_EQUAL(sipdance_stun_ep_state(b.ep), SIPDANCE_EP_SECURE);
	/* The other side learns it from the alert. */
	CU_ASSERT_STRING_EQUAL(sipdance_stun_ep_why(a_checks ? b.ep : a.ep),
			       "DTLS handshake failed: sslv3 alert bad certificate");
	CU_ASSERT_EQUAL(sipdance_stun_ep_send(a.ep, 0, pkt, rtp(pkt, 1, 1, 0)),
			sipdance_stun_ep_state(a.ep) == SIPDANCE_EP_FAILED ? EIO : EAGAIN);
	CU_ASSERT(a.got == 0 && b.got == 0);
	sipdance_stun_ep_free(a.ep);
	sipdance_stun_ep_free(b.ep);
}

/* fingerprint_refused - altered in the answer (a, the server, refuses b) and in the offer */
static void fingerprint_refused(void)
{
	refused(NULL, flip_fp, 1);
	refused(flip_fp, NULL, 0);
}

/* wrong_pwd - the ICE password b sees is not a's */
static void wrong_pwd(struct sipdance_sdp_media *m)
{
	m->ice_pwd[3] = m->ice_pwd[3] == 'x' ? 'y' : 'x';
}

/* ice_refused - checks signed with a wrong password never succeed */
static void ice_refused(void)
{
	struct peer a, b;
	struct sipdance_stun_ep_stats sa, sb;

	make_peer(&a, 1, 1500);
	make_peer(&b, 2, 1500);
	offer_answer(&a, &b, wrong_pwd, NULL, 1);
	for (int i = 0; i < 1000 * vg() && (sipdance_stun_ep_state(a.ep) != SIPDANCE_EP_FAILED ||
				     sipdance_stun_ep_state(b.ep) != SIPDANCE_EP_FAILED); i++) {
		sipdance_stun_ep_poll(a.ep, 5);
		sipdance_stun_ep_poll(b.ep, 5);
	}
	/* a's checks carry b's right password, so a's side succeeds and a waits
	 * for a ClientHello; b never authenticates a response and gives up. */
	CU_ASSERT_EQUAL(sipdance_stun_ep_state(a.ep), SIPDANCE_EP_FAILED);
	CU_ASSERT_STRING_EQUAL(sipdance_stun_ep_why(a.ep), "DTLS handshake timed out (no ClientHello from the peer)");
	CU_ASSERT_EQUAL(sipdance_stun_ep_state(b.ep), SIPDANCE_EP_FAILED);
	CU_ASSERT_STRING_EQUAL(sipdance_stun_ep_why(b.ep), "ICE checks timed out: no candidate pair succeeded");
	sipdance_stun_ep_stats(a.ep, &sa);
	sipdance_stun_ep_stats(b.ep, &sb);
	CU_ASSERT(sa.stun_bad > 0 && sb.stun_bad > 0);
	sipdance_stun_ep_free(a.ep);
	sipdance_stun_ep_free(b.ep);
}

/* A UDP relay between two endpoints without ICE: each believes the relay is the other. */
struct relay {
	int fa, fb;                      /* a talks to fb, b talks to fa */
	struct sockaddr_in to_a, to_b;
	int replay, forge;               /* duplicate SRTP, or flip one of its bytes */
};

/* relay_port - bind a loopback socket, return its port */
static uint16_t relay_port(int *fd)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof(sin);

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	*fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	CU_ASSERT_FATAL(*fd >= 0 && bind(*fd, (struct sockaddr *)&sin, len) == 0 &&
			getsockname(*fd, (struct sockaddr *)&sin, &len) == 0);
	return ntohs(sin.sin_port);
}

/* relay_pump - forward what is pending in both directions */
static void relay_pump(struct relay *r)
{
	uint8_t buf[1500];
	ssize_t n;

	while ((n = recv(r->fb, buf, sizeof(buf), 0)) > 0) {
		int srtp = buf[0] >= 128 && buf[0] <= 191;

		if (srtp && r->forge)
			buf[20] ^= 0x40;
		sendto(r->fa, buf, (size_t)n, 0, (struct sockaddr *)&r->to_b, sizeof(r->to_b));
		if (srtp && r->replay)
			sendto(r->fa, buf, (size_t)n, 0, (struct sockaddr *)&r->to_b, sizeof(r->to_b));
	}
	while ((n = recv(r->fa, buf, sizeof(buf), 0)) > 0)
		sendto(r->fb, buf, (size_t)n, 0, (struct sockaddr *)&r->to_a, sizeof(r->to_a));
}

/* relay_run - poll endpoints and relay for @ms */
static void relay_run(struct peer *a, struct peer *b, struct relay *r, int ms)
{
	for (int i = 0; i < ms / 6; i++) {
		sipdance_stun_ep_poll(a->ep, 2);
		relay_pump(r);
		sipdance_stun_ep_poll(b->ep, 2);
		relay_pump(r);
	}
}

/* no_ice - straight to the connection address; SRTP rejects replays and forgeries */
static void no_ice(void)
{
	struct peer a, b;
	struct relay r = { .to_a = { .sin_family = AF_INET }, .to_b = { .sin_family = AF_INET } };
	struct sipdance_sdp_media offer, answer;
	struct sipdance_stun_ep_stats sb;
	uint8_t pkt[200];

	make_peer(&a, 1, 10000);
	make_peer(&b, 2, 10000);
	CU_ASSERT_EQUAL_FATAL(sipdance_stun_ep_describe(a.ep, NULL, &a.sdp), 0);
	a.sdp.ice_ufrag[0] = a.sdp.ice_pwd[0] = '\0';
	a.sdp.ncand = 0;
	offer = a.sdp;
	offer.port = relay_port(&r.fa);
	CU_ASSERT_EQUAL_FATAL(sipdance_stun_ep_describe(b.ep, &offer, &b.sdp), 0);
	CU_ASSERT(b.sdp.ice_ufrag[0] == '\0' && b.sdp.ncand == 0); /* no ICE in the answer */
	answer = b.sdp;
	answer.port = relay_port(&r.fb);
	r.to_a.sin_port = htons(a.sdp.port);
	r.to_b.sin_port = htons(b.sdp.port);
	r.to_a.sin_addr.s_addr = r.to_b.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	CU_ASSERT_EQUAL_FATAL(sipdance_stun_ep_start(b.ep, &b.sdp, &offer, 0, NULL), 0);
	CU_ASSERT_EQUAL_FATAL(sipdance_stun_ep_start(a.ep, &a.sdp, &answer, 1, NULL), 0);
	for (int i = 0; i < 300 * vg() && (sipdance_stun_ep_state(a.ep) != SIPDANCE_EP_SECURE ||
				     sipdance_stun_ep_state(b.ep) != SIPDANCE_EP_SECURE); i++)
		relay_run(&a, &b, &r, 30);
	CU_ASSERT_EQUAL_FATAL(sipdance_stun_ep_state(a.ep), SIPDANCE_EP_SECURE);
	CU_ASSERT_EQUAL_FATAL(sipdance_stun_ep_state(b.ep), SIPDANCE_EP_SECURE);
	/* Each of a's packets arrives twice: the copy is a replay. */
	r.replay = 1;
	for (int i = 0; i < 10; i++)
		CU_ASSERT_EQUAL(sipdance_stun_ep_send(a.ep, 0, pkt, rtp(pkt, (uint16_t)i, 7, 2)), 0);
	relay_run(&a, &b, &r, 60);
	sipdance_stun_ep_stats(b.ep, &sb);
	CU_ASSERT_EQUAL(b.got, 10);
	CU_ASSERT_EQUAL(sb.replay, 10);
	CU_ASSERT_EQUAL(sb.auth_fail, 0);
	/* One bit changed in the payload: authentication fails, nothing delivered. */
	r.replay = 0;
	r.forge = 1;
	for (int i = 10; i < 15; i++)
		CU_ASSERT_EQUAL(sipdance_stun_ep_send(a.ep, 0, pkt, rtp(pkt, (uint16_t)i, 7, 2)), 0);
	relay_run(&a, &b, &r, 60);
	sipdance_stun_ep_stats(b.ep, &sb);
	CU_ASSERT_EQUAL(b.got, 10);
	CU_ASSERT_EQUAL(sb.auth_fail, 5);
	CU_ASSERT(!b.bad_payload);
	sipdance_stun_ep_free(a.ep);
	sipdance_stun_ep_free(b.ep);
	close(r.fa);
	close(r.fb);
}

/* both_controlling - each side believes it controls: the 487 exchange settles it */
static void both_controlling(void)
{
	struct peer a, b;
	struct sipdance_sdp_media offer, answer;
	struct sipdance_stun_ep_stats sa, sb;

	make_peer(&a, 1, 10000);
	make_peer(&b, 2, 10000);
	CU_ASSERT_EQUAL_FATAL(sipdance_stun_ep_describe(a.ep, NULL, &offer), 0);
	CU_ASSERT_EQUAL_FATAL(sipdance_stun_ep_describe(b.ep, &offer, &answer), 0);
	CU_ASSERT_EQUAL_FATAL(sipdance_stun_ep_start(b.ep, &answer, &offer, 1, NULL), 0);
	CU_ASSERT_EQUAL_FATAL(sipdance_stun_ep_start(a.ep, &offer, &answer, 1, NULL), 0);
	run_both(&a, &b, SIPDANCE_EP_SECURE, 10000);
	CU_ASSERT_EQUAL(sipdance_stun_ep_state(a.ep), SIPDANCE_EP_SECURE);
	CU_ASSERT_EQUAL(sipdance_stun_ep_state(b.ep), SIPDANCE_EP_SECURE);
	sipdance_stun_ep_stats(a.ep, &sa);
	sipdance_stun_ep_stats(b.ep, &sb);
	CU_ASSERT_EQUAL(sa.controlling + sb.controlling, 1);
	sipdance_stun_ep_free(a.ep);
	sipdance_stun_ep_free(b.ep);
}

/* A hand-driven peer: a plain socket that speaks STUN to one endpoint. */
struct prober {
	int fd;
	struct sockaddr_in ep_addr;
	uint16_t port;
	const char *ep_ufrag, *ep_pwd;
};

/* probe_raw - send datagram @buf (transaction @txid) and return the endpoint's
 * answer to it in @ans, or 0 if none came within 300 ms */
static int probe_raw(struct prober *p, struct sipdance_stun_ep *ep, const uint8_t *buf, size_t n,
		     const uint8_t *txid, uint8_t *out, struct sipdance_stun_msg *ans)
{
	sendto(p->fd, buf, n, 0, (struct sockaddr *)&p->ep_addr, sizeof(p->ep_addr));
	for (int i = 0; i < 60; i++) {
		ssize_t r;

		sipdance_stun_ep_poll(ep, 5);
		while ((r = recv(p->fd, out, SIPDANCE_STUN_MAX_LEN, 0)) > 0)
			if (sipdance_stun_decode(ans, out, (size_t)r, NULL) == 0 &&
			    ans->cls != SIPDANCE_STUN_REQUEST && !memcmp(ans->txid, txid, 12))
				return 1;
	}
	return 0;
}

/* probe - send request @m (integrity under @pwd unless NULL; FINGERPRINT
 * unless @no_fp, wrong if @bad_fp) and return the answer as probe_raw() */
static int probe(struct prober *p, struct sipdance_stun_ep *ep, struct sipdance_stun_msg *m,
		 const char *pwd, int no_fp, int bad_fp, uint8_t *out, struct sipdance_stun_msg *ans)
{
	uint8_t buf[SIPDANCE_STUN_MAX_LEN];
	size_t n;

	CU_ASSERT_EQUAL_FATAL(sipdance_stun_txid(m->txid), 0);
	CU_ASSERT_EQUAL_FATAL(sipdance_stun_encode(m, pwd ? (const uint8_t *)pwd : NULL, pwd ? strlen(pwd) : 0,
						   (pwd ? SIPDANCE_STUN_ADD_MI : 0) |
						   (no_fp ? 0 : SIPDANCE_STUN_ADD_FINGERPRINT), 0, buf, sizeof(buf),
						   &n), 0);
	if (bad_fp)
		buf[n - 1] ^= 1;
	return probe_raw(p, ep, buf, n, m->txid, out, ans);
}

/* seal - append MESSAGE-INTEGRITY under @pwd and FINGERPRINT to a message of @n bytes */
static size_t seal(uint8_t *b, size_t n, const char *pwd)
{
	unsigned len = 0;
	uint32_t fp;

	b[2] = (uint8_t)((n + 24 - 20) >> 8);
	b[3] = (uint8_t)(n + 24 - 20);
	memcpy(b + n, "\x00\x08\x00\x14", 4);
	HMAC(EVP_sha1(), pwd, (int)strlen(pwd), b, n, b + n + 4, &len);
	n += 24;
	b[2] = (uint8_t)((n + 8 - 20) >> 8);
	b[3] = (uint8_t)(n + 8 - 20);
	fp = sipdance_stun_crc32(b, n) ^ SIPDANCE_STUN_FP_XOR;
	memcpy(b + n, "\x80\x28\x00\x04", 4);
	for (int i = 0; i < 4; i++)
		b[n + 4 + i] = (uint8_t)(fp >> (24 - 8 * i));
	return n + 8;
}

/* responder - the endpoint's answers to good, unauthenticated and malformed checks */
static void responder(void)
{
	struct peer a;
	struct prober p = { .ep_addr = { .sin_family = AF_INET } };
	struct sipdance_sdp_media remote = { .addr = "127.0.0.1", .port = 9, .setup = SIPDANCE_SETUP_ACTIVE,
					     .ice_ufrag = "prob", .ice_pwd = "probeprobeprobeprobe22", .ncand = 1 };
	char user[300];
	struct sipdance_stun_msg m = { .method = SIPDANCE_STUN_BINDING, .has_priority = 1, .priority = 1,
				       .has_controlled = 1, .tiebreaker = 1 }, ans;
	const struct sockaddr_in *xma = (const struct sockaddr_in *)&ans.xor_mapped;
	uint8_t out[SIPDANCE_STUN_MAX_LEN];

	make_peer(&a, 1, 10000);
	CU_ASSERT_EQUAL_FATAL(sipdance_stun_ep_describe(a.ep, NULL, &a.sdp), 0);
	p.port = relay_port(&p.fd);
	remote.cand[0] = (struct sipdance_sdp_candidate){ .foundation = "1", .component = 1, .priority = 1,
							  .addr = "127.0.0.1", .port = p.port, .type = "host" };
	CU_ASSERT_EQUAL_FATAL(sipdance_stun_ep_start(a.ep, &a.sdp, &remote, 1, NULL), 0);
	p.ep_addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	p.ep_addr.sin_port = htons(a.sdp.port);
	snprintf(user, sizeof(user), "%s:prob", a.sdp.ice_ufrag);
	m.username = (struct sipdance_stun_str){ (const uint8_t *)user, strlen(user) };

	/* Right USERNAME and password: success, our address mirrored, signed with the endpoint's password. */
	CU_ASSERT_FATAL(probe(&p, a.ep, &m, a.sdp.ice_pwd, 0, 0, out, &ans));
	CU_ASSERT_EQUAL(ans.cls, SIPDANCE_STUN_SUCCESS);
	CU_ASSERT(ans.has_xor_mapped && ntohs(xma->sin_port) == p.port &&
		  xma->sin_addr.s_addr == htonl(INADDR_LOOPBACK));
	CU_ASSERT(ans.has_fingerprint);
	CU_ASSERT_EQUAL(sipdance_stun_check_integrity(&ans, (const uint8_t *)a.sdp.ice_pwd,
						      strlen(a.sdp.ice_pwd), NULL), 0);
	/* Wrong password: 401. */
	CU_ASSERT_FATAL(probe(&p, a.ep, &m, "wrongwrongwrongwrong22", 0, 0, out, &ans));
	CU_ASSERT(ans.cls == SIPDANCE_STUN_ERROR && ans.error_code == 401);
	/* Wrong USERNAME: 401. */
	m.username = (struct sipdance_stun_str){ (const uint8_t *)"xxxx:prob", 9 };
	CU_ASSERT_FATAL(probe(&p, a.ep, &m, a.sdp.ice_pwd, 0, 0, out, &ans));
	CU_ASSERT(ans.cls == SIPDANCE_STUN_ERROR && ans.error_code == 401);
	m.username = (struct sipdance_stun_str){ (const uint8_t *)user, strlen(user) };
	/* No MESSAGE-INTEGRITY, or no FINGERPRINT: 400. */
	CU_ASSERT_FATAL(probe(&p, a.ep, &m, NULL, 0, 0, out, &ans));
	CU_ASSERT(ans.cls == SIPDANCE_STUN_ERROR && ans.error_code == 400);
	CU_ASSERT_FATAL(probe(&p, a.ep, &m, a.sdp.ice_pwd, 1, 0, out, &ans));
	CU_ASSERT(ans.cls == SIPDANCE_STUN_ERROR && ans.error_code == 400);
	/* Wrong FINGERPRINT: not a STUN message at all, no answer. */
	CU_ASSERT(!probe(&p, a.ep, &m, a.sdp.ice_pwd, 0, 1, out, &ans));
	/* An unknown comprehension-required attribute (0x7f01), authenticated: 420 naming it. */
	{
		uint8_t raw[SIPDANCE_STUN_MAX_LEN];
		size_t n;

		CU_ASSERT_EQUAL_FATAL(sipdance_stun_txid(m.txid), 0);
		CU_ASSERT_EQUAL_FATAL(sipdance_stun_encode(&m, NULL, 0, 0, 0, raw, sizeof(raw), &n), 0);
		memcpy(raw + n, "\x7f\x01\x00\x04\x00\x00\x00\x00", 8);
		n = seal(raw, n + 8, a.sdp.ice_pwd);
		CU_ASSERT_FATAL(probe_raw(&p, a.ep, raw, n, m.txid, out, &ans));
		CU_ASSERT(ans.cls == SIPDANCE_STUN_ERROR && ans.error_code == 420);
		CU_ASSERT(ans.n_unknown_attrs == 1 && ans.unknown_attrs[0] == 0x7f01);
		/* The same sealed with another password: 401, nothing learnt. */
		CU_ASSERT_EQUAL_FATAL(sipdance_stun_encode(&m, NULL, 0, 0, 0, raw, sizeof(raw), &n), 0);
		n = seal(raw, n, "wrongwrongwrongwrong22");
		CU_ASSERT_FATAL(probe_raw(&p, a.ep, raw, n, m.txid, out, &ans));
		CU_ASSERT(ans.cls == SIPDANCE_STUN_ERROR && ans.error_code == 401);
		/* And with the right one: success, so seal() is right. */
		CU_ASSERT_EQUAL_FATAL(sipdance_stun_encode(&m, NULL, 0, 0, 0, raw, sizeof(raw), &n), 0);
		n = seal(raw, n, a.sdp.ice_pwd);
		CU_ASSERT_FATAL(probe_raw(&p, a.ep, raw, n, m.txid, out, &ans));
		CU_ASSERT_EQUAL(ans.cls, SIPDANCE_STUN_SUCCESS);
	}
	/* A role conflict we win (we control, our tie-breaker is larger): 487. */
	m.has_controlled = 0;
	m.has_controlling = 1;
	m.tiebreaker = 0;
	CU_ASSERT_FATAL(probe(&p, a.ep, &m, a.sdp.ice_pwd, 0, 0, out, &ans));
	CU_ASSERT(ans.cls == SIPDANCE_STUN_ERROR && ans.error_code == 487);
	sipdance_stun_ep_free(a.ep);
	close(p.fd);
}

/* make_peer_with - make_peer() with ICE-lite and an SRTP profile list */
static void make_peer_with(struct peer *p, uint8_t tag, int lite, const char *profiles)
{
	struct sipdance_stun_ep_cfg cfg = {
		.addr = "127.0.0.1", .consent_interval_ms = 200, .consent_timeout_ms = 2000 * (unsigned)vg(),
		.ice_timeout_ms = 10000 * (unsigned)vg(), .dtls_timeout_ms = 10000 * (unsigned)vg(), .ice_lite = lite,
		.srtp_profiles = profiles, .on_media = on_media, .arg = p,
	};

	memset(p, 0, sizeof(*p));
	p->tag = tag;
	CU_ASSERT_EQUAL_FATAL(sipdance_stun_ep_alloc(&p->ep, &cfg), 0);
}

/* ice_lite_loopback - a full agent offers, an ICE-lite one answers: media, consent, expiry */
static void ice_lite_loopback(void)
{
	struct peer a, b;
	struct sipdance_stun_ep_stats sa, sb;
	char text[2048];

	make_peer(&a, 0x31, 10000);
	make_peer_with(&b, 0x32, 1, NULL);
	offer_answer(&a, &b, NULL, NULL, 1);
	CU_ASSERT(!a.sdp.ice_lite && b.sdp.ice_lite);
	sipdance_sdp_media_format(&b.sdp, 2, text, sizeof(text));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "\r\na=ice-lite\r\n"));
	run_both(&a, &b, SIPDANCE_EP_SECURE, 10000);
	CU_ASSERT_EQUAL_FATAL(sipdance_stun_ep_state(a.ep), SIPDANCE_EP_SECURE);
	CU_ASSERT_EQUAL_FATAL(sipdance_stun_ep_state(b.ep), SIPDANCE_EP_SECURE);
	exchange(&a, &b, 30);
	sipdance_stun_ep_stats(a.ep, &sa);
	sipdance_stun_ep_stats(b.ep, &sb);
	CU_ASSERT(sa.ice && !sa.ice_lite && sa.controlling);
	CU_ASSERT(sb.ice && sb.ice_lite && !sb.controlling && sb.dtls_client);
	CU_ASSERT(a.got == 30 && b.got == 30);
	/* The full agent's consent checks keep the lite side alive past its 2 s timeout... */
	run_both(&a, &b, SIPDANCE_EP_FAILED, 3000);
	CU_ASSERT_EQUAL(sipdance_stun_ep_state(b.ep), SIPDANCE_EP_SECURE);
	/* ...and without them its consent expires. */
	sipdance_stun_ep_free(a.ep);
	for (int i = 0; i < 500 * vg() && sipdance_stun_ep_state(b.ep) != SIPDANCE_EP_FAILED; i++)
		sipdance_stun_ep_poll(b.ep, 10);
	CU_ASSERT_NSTRING_EQUAL(sipdance_stun_ep_why(b.ep), "consent expired", 15);
	sipdance_stun_ep_free(b.ep);
	/* Both lite: the answerer drops lite and runs full ICE (controlling), media still flows. */
	make_peer_with(&a, 0x33, 1, NULL);
	make_peer_with(&b, 0x34, 1, NULL);
	offer_answer(&a, &b, NULL, NULL, 1);
	CU_ASSERT(a.sdp.ice_lite && !b.sdp.ice_lite);
	run_both(&a, &b, SIPDANCE_EP_SECURE, 10000);
	CU_ASSERT_EQUAL(sipdance_stun_ep_state(a.ep), SIPDANCE_EP_SECURE);
	CU_ASSERT_EQUAL(sipdance_stun_ep_state(b.ep), SIPDANCE_EP_SECURE);
	sipdance_stun_ep_stats(b.ep, &sb);
	CU_ASSERT(!sb.ice_lite && sb.controlling);
	sipdance_stun_ep_free(a.ep);
	sipdance_stun_ep_free(b.ep);
}

/* pending_request - whether the endpoint sent the prober a STUN request (a check of its own) */
static int pending_request(struct prober *p, struct sipdance_stun_ep *ep)
{
	uint8_t out[SIPDANCE_STUN_MAX_LEN];
	struct sipdance_stun_msg m;
	ssize_t r;
	int seen = 0;

	for (int i = 0; i < 40; i++) {
		sipdance_stun_ep_poll(ep, 5);
		while ((r = recv(p->fd, out, sizeof(out), 0)) > 0)
			if (sipdance_stun_decode(&m, out, (size_t)r, NULL) == 0 && m.cls == SIPDANCE_STUN_REQUEST)
				seen = 1;
	}
	return seen;
}

/* ice_lite_responder - the lite side checks nothing itself, refuses a controlled peer, and
 * selects the path only on an authenticated nomination */
static void ice_lite_responder(void)
{
	struct peer b;
	struct prober p = { .ep_addr = { .sin_family = AF_INET } };
	struct sipdance_sdp_media offer = { .addr = "127.0.0.1", .port = 9, .setup = SIPDANCE_SETUP_ACTPASS,
					    .ice_ufrag = "prob", .ice_pwd = "probeprobeprobeprobe22", .ncand = 1,
					    .mid = "0", .bundle = 1 };
	char user[300];
	struct sipdance_stun_msg m = { .method = SIPDANCE_STUN_BINDING, .has_priority = 1, .priority = 1,
				       .has_controlled = 1, .tiebreaker = 1 }, ans;
	uint8_t out[SIPDANCE_STUN_MAX_LEN];
	const uint8_t hello[] = { 22, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 };

	make_peer_with(&b, 1, 1, NULL);
	p.port = relay_port(&p.fd);
	offer.cand[0] = (struct sipdance_sdp_candidate){ .foundation = "1", .component = 1, .priority = 1,
							 .addr = "127.0.0.1", .port = p.port, .type = "host" };
	CU_ASSERT_EQUAL_FATAL(sipdance_stun_ep_describe(b.ep, &offer, &b.sdp), 0);
	CU_ASSERT(b.sdp.ice_lite && b.sdp.bundle && !strcmp(b.sdp.mid, "0"));
	CU_ASSERT_EQUAL_FATAL(sipdance_stun_ep_start(b.ep, &b.sdp, &offer, 0, NULL), 0);
	p.ep_addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	p.ep_addr.sin_port = htons(b.sdp.port);
	snprintf(user, sizeof(user), "%s:prob", b.sdp.ice_ufrag);
	m.username = (struct sipdance_stun_str){ (const uint8_t *)user, strlen(user) };
	/* No checks of its own, even after the start. */
	CU_ASSERT(!pending_request(&p, b.ep));
	/* A peer that is controlled too: 487, so that it takes the controlling role. */
	CU_ASSERT_FATAL(probe(&p, b.ep, &m, b.sdp.ice_pwd, 0, 0, out, &ans));
	CU_ASSERT(ans.cls == SIPDANCE_STUN_ERROR && ans.error_code == 487);
	/* Controlling, not nominating: success, but no path yet; DTLS from there is dropped. */
	m.has_controlled = 0;
	m.has_controlling = 1;
	CU_ASSERT_FATAL(probe(&p, b.ep, &m, b.sdp.ice_pwd, 0, 0, out, &ans));
	CU_ASSERT_EQUAL(ans.cls, SIPDANCE_STUN_SUCCESS);
	CU_ASSERT(!pending_request(&p, b.ep)); /* no triggered check either */
	sendto(p.fd, hello, sizeof(hello), 0, (struct sockaddr *)&p.ep_addr, sizeof(p.ep_addr));
	sipdance_stun_ep_poll(b.ep, 20);
	CU_ASSERT_EQUAL(sipdance_stun_ep_state(b.ep), SIPDANCE_EP_CHECKING);
	/* A nomination under the wrong password: 401, still no path. */
	m.use_candidate = 1;
	CU_ASSERT_FATAL(probe(&p, b.ep, &m, "wrongwrongwrongwrong22", 0, 0, out, &ans));
	CU_ASSERT(ans.cls == SIPDANCE_STUN_ERROR && ans.error_code == 401);
	CU_ASSERT_EQUAL(sipdance_stun_ep_state(b.ep), SIPDANCE_EP_CHECKING);
	/* The authenticated nomination selects the path: b (active) starts DTLS towards it. */
	CU_ASSERT_FATAL(probe(&p, b.ep, &m, b.sdp.ice_pwd, 0, 0, out, &ans));
	CU_ASSERT_EQUAL(ans.cls, SIPDANCE_STUN_SUCCESS);
	CU_ASSERT_EQUAL(sipdance_stun_ep_state(b.ep), SIPDANCE_EP_DTLS);
	sipdance_stun_ep_free(b.ep);
	close(p.fd);
}

/* srtp_profiles - each DTLS-SRTP profile keys SRTP and SRTCP both ways; no common one fails */
static void srtp_profiles(void)
{
	static const char *const names[] = { "SRTP_AEAD_AES_128_GCM", "SRTP_AEAD_AES_256_GCM",
					     "SRTP_AES128_CM_SHA1_32", "SRTP_AES128_CM_SHA1_80" };
	struct peer a, b;
	struct sipdance_stun_ep_stats sa, sb;
	uint8_t rr[8] = { 0x80, 201, 0, 1, 0, 0, 0, 0 };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		/* a (the DTLS server) offers everything, b only this profile: b's choice wins */
		make_peer_with(&a, 0x41, 0, NULL);
		make_peer_with(&b, 0x42, 0, names[i]);
		offer_answer(&a, &b, NULL, NULL, 1);
		run_both(&a, &b, SIPDANCE_EP_SECURE, 10000);
		CU_ASSERT_EQUAL_FATAL(sipdance_stun_ep_state(a.ep), SIPDANCE_EP_SECURE);
		CU_ASSERT_EQUAL_FATAL(sipdance_stun_ep_state(b.ep), SIPDANCE_EP_SECURE);
		exchange(&a, &b, 20);
		rr[7] = b.tag;
		CU_ASSERT_EQUAL(sipdance_stun_ep_send(a.ep, 1, rr, sizeof(rr)), 0);
		sipdance_stun_ep_poll(b.ep, 20);
		sipdance_stun_ep_stats(a.ep, &sa);
		sipdance_stun_ep_stats(b.ep, &sb);
		CU_ASSERT_STRING_EQUAL(sa.srtp_profile, names[i]);
		CU_ASSERT_STRING_EQUAL(sb.srtp_profile, names[i]);
		CU_ASSERT(a.got == 20 && b.got == 20 && b.rtcp_got == 1);
		CU_ASSERT(!sa.auth_fail && !sb.auth_fail);
		sipdance_stun_ep_free(a.ep);
		sipdance_stun_ep_free(b.ep);
	}
	/* No profile in common: DTLS may complete, SRTP is never keyed. */
	make_peer_with(&a, 0x41, 0, "SRTP_AEAD_AES_256_GCM");
	make_peer_with(&b, 0x42, 0, "SRTP_AES128_CM_SHA1_80");
	offer_answer(&a, &b, NULL, NULL, 1);
	run_both(&a, &b, SIPDANCE_EP_SECURE, 10000);
	for (int i = 0; i < 30; i++) {
		sipdance_stun_ep_poll(a.ep, 5);
		sipdance_stun_ep_poll(b.ep, 5);
	}
	CU_ASSERT_NOT_EQUAL(sipdance_stun_ep_state(a.ep), SIPDANCE_EP_SECURE);
	CU_ASSERT_NOT_EQUAL(sipdance_stun_ep_state(b.ep), SIPDANCE_EP_SECURE);
	sipdance_stun_ep_free(a.ep);
	sipdance_stun_ep_free(b.ep);
}

CU_ErrorCode suite_stun(void)
{
	CU_pSuite s = CU_add_suite("stun", NULL, NULL);

	if (!s || !CU_add_test(s, "RFC 5769 2.1 request", vector_request) ||
	    !CU_add_test(s, "RFC 5769 2.2/2.3 responses", vector_responses) ||
	    !CU_add_test(s, "RFC 5769 2.4 long-term", vector_longterm) ||
	    !CU_add_test(s, "malformed messages", malformed) ||
	    !CU_add_test(s, "tampered integrity", integrity_tamper) ||
	    !CU_add_test(s, "attributes after integrity", trailing_attrs) ||
	    !CU_add_test(s, "ICE check round trip", ice_roundtrip) ||
	    !CU_add_test(s, "attribute sizes and order", integrity_sizes) ||
	    !CU_add_test(s, "unknown required attributes", unknown_required) ||
	    !CU_add_test(s, "loopback ICE, DTLS, SRTP", media_loopback) ||
	    !CU_add_test(s, "altered fingerprint refused", fingerprint_refused) ||
	    !CU_add_test(s, "wrong ICE password refused", ice_refused) ||
	    !CU_add_test(s, "no ICE, replay and forgery", no_ice) ||
	    !CU_add_test(s, "both controlling: role conflict", both_controlling) ||
	    !CU_add_test(s, "ICE responder answers", responder) ||
	    !CU_add_test(s, "ICE-lite answerer, loopback", ice_lite_loopback) ||
	    !CU_add_test(s, "ICE-lite responder", ice_lite_responder) ||
	    !CU_add_test(s, "DTLS-SRTP profiles", srtp_profiles))
		return CU_get_error();
	return CUE_SUCCESS;
}
