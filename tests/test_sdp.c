/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_sdp.c - a=fingerprint/setup/tls-id/ICE lines, the certificate check
 * against fingerprints (each outcome), and whole-SDP parse and generation.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <CUnit/CUnit.h>
#include <openssl/pem.h>

#include <sipdance/sdp.h>
#include "suites.h"

/* Fingerprints of tests/data/certs/ee.pem as `openssl x509 -fingerprint -<hash>` prints them. */
#define EE_SHA1 "65:C9:AC:82:0A:39:ED:78:45:A7:28:66:6D:9B:20:8C:B3:50:72:DD"
#define EE_SHA224 "C4:5B:B1:19:45:4C:16:C0:E8:F1:F6:56:E0:69:E3:B9:A7:8D:71:25:25:48:04:C8:1C:0F:82:76"
#define EE_SHA256 "70:34:4E:00:C8:C7:AE:E4:B6:6F:A2:08:B1:92:B8:35:2D:20:0E:2D:D8:28:10:FE:4D:DF:8A:92:89:D2:F3:D5"
#define EE_SHA384 "3C:E9:81:40:35:CB:47:B2:AE:1E:08:C5:FB:AD:E7:FC:16:96:6E:5F:1A:8C:F8:0A:F0:BD:4B:E9:B7:48:D9:A0:01:07:80:E8:D5:1B:39:CF:DD:E8:BD:2A:8F:C7:C5:EC"
#define EE_SHA512 "2F:3B:40:08:D7:E4:09:FF:49:E0:E1:22:E5:90:21:BF:C9:A4:17:B2:E4:6D:A8:8B:45:77:BC:36:6F:D4:23:8D:C3:3D:82:B7:8F:81:DA:07:E0:3F:28:61:85:32:A9:92:8C:97:91:8B:9C:5D:A9:18:5A:4F:F0:12:0E:45:CA:38"
#define EE_SHA3 "DF:81:C1:7B:5E:F0:77:23:BD:BF:A6:1D:3B:F1:57:DE:96:F2:4D:FC:F6:68:80:2B:D7:1D:83:A5:69:B1:7E:54"
#define OTHER_SHA256 "B9:F2:15:C3:5F:C4:89:24:2C:CA:B5:C2:8B:3F:B7:AE:B7:C2:0B:95:FF:74:08:03:F0:6E:42:4D:26:F4:89:68"

/* load - a certificate from tests/data/certs */
static X509 *load(const char *name)
{
	char rel[64];
	FILE *f;
	X509 *x;

	snprintf(rel, sizeof(rel), "certs/%s", name);
	f = fopen(test_data(rel), "r");
	x = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
	if (f)
		fclose(f);
	return x;
}

/* fp_forms - parse and format round trip; create equals the openssl CLI for every hash */
static void fp_forms(void)
{
	static const struct {
		const char *hash, *hex;
	} cases[] = {
		{ "sha-1", EE_SHA1 }, { "sha-224", EE_SHA224 }, { "sha-256", EE_SHA256 },
		{ "sha-384", EE_SHA384 }, { "sha-512", EE_SHA512 }, { "sha3-256", EE_SHA3 },
	};
	X509 *ee = load("ee.pem");
	struct sipdance_sdp_fingerprint fp, made;
	char text[256], value[256];

	CU_ASSERT_PTR_NOT_NULL_FATAL(ee);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(value, sizeof(value), "%s %s", cases[i].hash, cases[i].hex);
		CU_ASSERT_EQUAL_FATAL(sipdance_sdp_fingerprint_parse(&fp, value, NULL), 0);
		CU_ASSERT_EQUAL(sipdance_sdp_fingerprint_format(&fp, text, sizeof(text)), strlen(value));
		CU_ASSERT_STRING_EQUAL(text, value);
		CU_ASSERT_EQUAL_FATAL(sipdance_sdp_fingerprint_create(&made, ee, cases[i].hash), 0);
		CU_ASSERT_EQUAL(made.len, fp.len);
		CU_ASSERT_EQUAL(memcmp(made.md, fp.md, fp.len), 0);
	}
	/* Hash names are case-insensitive, hex of either case, output uppercase. */
	CU_ASSERT_EQUAL(sipdance_sdp_fingerprint_parse(&fp, "SHA-256 70:34:4e:00:c8:c7:ae:e4:b6:6f:a2:08:"
						       "b1:92:b8:35:2d:20:0e:2d:d8:28:10:fe:4d:df:8a:92:"
						       "89:d2:f3:d5\r\n", NULL), 0);
	sipdance_sdp_fingerprint_format(&fp, text, sizeof(text));
	CU_ASSERT_STRING_EQUAL(text, "sha-256 " EE_SHA256);
	CU_ASSERT_EQUAL(sipdance_sdp_fingerprint_format(&fp, text, 10), strlen("sha-256 " EE_SHA256));
	CU_ASSERT_EQUAL(text[0], '\0');
	CU_ASSERT_EQUAL(sipdance_sdp_fingerprint_create(&made, ee, "md5"), EINVAL);
	CU_ASSERT_EQUAL(sipdance_sdp_fingerprint_create(&made, ee, "shake128"), EINVAL);
	CU_ASSERT_EQUAL(sipdance_sdp_fingerprint_create(&made, ee, "nohash"), EINVAL);
	X509_free(ee);
}

/* fp_errors - each malformed a=fingerprint value with its errno and reason */
static void fp_errors(void)
{
	static const struct {
		const char *value;
		int err;
		const char *why;
	} bad[] = {
		{ "", EINVAL, "missing hash function" },
		{ " sha-256 AA", EINVAL, "missing hash function" },
		{ "sha-256", EINVAL, "missing fingerprint" },
		{ "sha-256 ", EINVAL, "missing fingerprint" },
		{ "sha-256:AA", EINVAL, "hash function is not a token" },
		{ "sha-256  AA", EINVAL, "fingerprint is not colon-separated hex pairs" },
		{ "sha-256 A", EINVAL, "fingerprint is not colon-separated hex pairs" },
		{ "sha-256 AAB", EINVAL, "fingerprint is not colon-separated hex pairs" },
		{ "sha-256 AA:", EINVAL, "fingerprint is not colon-separated hex pairs" },
		{ "sha-256 AA::BB", EINVAL, "fingerprint is not colon-separated hex pairs" },
		{ "sha-256 AA:GG", EINVAL, "fingerprint is not colon-separated hex pairs" },
		{ "sha-256 AA BB", EINVAL, "fingerprint is not colon-separated hex pairs" },
		{ "sha-256 " EE_SHA512 ":00", EMSGSIZE, "fingerprint longer than 64 bytes" },
		{ "a-hash-function-name-of-40-characters-xx AA", EINVAL, "hash function name too long" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct sipdance_sdp_fingerprint fp;
		const char *why = NULL;
		int err = sipdance_sdp_fingerprint_parse(&fp, bad[i].value, &why);

		if (err != bad[i].err || !why || strcmp(why, bad[i].why))
			fprintf(stderr, "\n  case %zu \"%s\": got %d \"%s\"\n", i, bad[i].value, err,
				why ? why : "(null)");
		CU_ASSERT_EQUAL(err, bad[i].err);
		CU_ASSERT_PTR_NOT_NULL_FATAL(why);
		CU_ASSERT_STRING_EQUAL(why, bad[i].why);
	}
}

/* verify_case - verdict of ee.pem against fingerprint values @a and @b (NULL: absent) */
static enum sipdance_result verify_case(const char *a, const char *b, unsigned flags, char *reason)
{
	struct sipdance_sdp_fingerprint fps[2];
	struct sipdance_verdict v;
	X509 *ee = load("ee.pem");
	size_t n = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(ee);
	if (a)
		CU_ASSERT_EQUAL_FATAL(sipdance_sdp_fingerprint_parse(&fps[n++], a, NULL), 0);
	if (b)
		CU_ASSERT_EQUAL_FATAL(sipdance_sdp_fingerprint_parse(&fps[n++], b, NULL), 0);
	CU_ASSERT_EQUAL_FATAL(sipdance_sdp_fingerprint_verify(ee, fps, n, flags, &v), 0);
	strcpy(reason, v.reason);
	X509_free(ee);
	return v.result;
}

/* verify_outcomes - every case of the fingerprint decision, positive and negative */
static void verify_outcomes(void)
{
	static const struct {
		const char *a, *b;
		unsigned flags;
		enum sipdance_result want;
		const char *reason; /* prefix */
	} cases[] = {
		{ "sha-256 " EE_SHA256, NULL, 0, SIPDANCE_MATCH,
		  "DTLS certificate matches the sha-256 fingerprint" },
		{ "sha-512 " EE_SHA512, NULL, 0, SIPDANCE_MATCH, "DTLS certificate matches the sha-512" },
		{ "sha-384 " EE_SHA384, NULL, 0, SIPDANCE_MATCH, "DTLS certificate matches the sha-384" },
		{ "sha3-256 " EE_SHA3, NULL, 0, SIPDANCE_MATCH, "DTLS certificate matches the sha3-256" },
		{ "sha-256 " OTHER_SHA256, NULL, 0, SIPDANCE_NOMATCH,
		  "DTLS certificate (sha-256 70344e00c8c7aee4...4ddf8a9289d2f3d5) matches none of 1" },
		/* One right fingerprint among others is enough (RFC 8122 §5). */
		{ "sha-256 " OTHER_SHA256, "sha-384 " EE_SHA384, 0, SIPDANCE_MATCH,
		  "DTLS certificate matches the sha-384" },
		/* A right fingerprint with an unusable hash does not count. */
		{ "sha-1 " EE_SHA1, NULL, 0, SIPDANCE_UNUSABLE,
		  "no usable a=fingerprint (sha-1 fingerprints are not accepted by configuration)" },
		{ "sha-1 " EE_SHA1, NULL, SIPDANCE_SDP_ALLOW_SHA1, SIPDANCE_MATCH,
		  "DTLS certificate matches the sha-1" },
		{ "sha-1 " EE_SHA1, "sha-256 " OTHER_SHA256, 0, SIPDANCE_NOMATCH, "DTLS certificate (" },
		{ "md5 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF", NULL, SIPDANCE_SDP_ALLOW_SHA1,
		  SIPDANCE_UNUSABLE, "no usable a=fingerprint (md2/md5 fingerprints must not be used" },
		{ "x-hash AA:BB", NULL, 0, SIPDANCE_UNUSABLE,
		  "no usable a=fingerprint (hash function not supported)" },
		/* The sha-256 digest truncated to 31 bytes: wrong length, never a prefix match. */
		{ "sha-256 70:34:4E:00:C8:C7:AE:E4:B6:6F:A2:08:B1:92:B8:35:2D:20:0E:2D:D8:28:10:FE:4D:DF:"
		  "8A:92:89:D2:F3", NULL, 0, SIPDANCE_UNUSABLE,
		  "no usable a=fingerprint (fingerprint length does not fit its hash function)" },
		{ "sha-256 " EE_SHA384, NULL, 0, SIPDANCE_UNUSABLE, "no usable a=fingerprint (fingerprint "
		  "length" },
		/* Last byte changed. */
		{ "sha-256 70:34:4E:00:C8:C7:AE:E4:B6:6F:A2:08:B1:92:B8:35:2D:20:0E:2D:D8:28:10:FE:4D:DF:"
		  "8A:92:89:D2:F3:D4", NULL, 0, SIPDANCE_NOMATCH, "DTLS certificate (sha-256" },
		{ NULL, NULL, 0, SIPDANCE_NOMATCH, "no a=fingerprint in the SDP" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char reason[256];
		enum sipdance_result r = verify_case(cases[i].a, cases[i].b, cases[i].flags, reason);

		if (r != cases[i].want || strncmp(reason, cases[i].reason, strlen(cases[i].reason)))
			fprintf(stderr, "\n  case %zu: got %s \"%s\"\n", i, sipdance_result_str(r), reason);
		CU_ASSERT_EQUAL(r, cases[i].want);
		CU_ASSERT_NSTRING_EQUAL(reason, cases[i].reason, strlen(cases[i].reason));
	}
}

/* setup_roles - answers to each offer, and who is the DTLS client */
static void setup_roles(void)
{
	static const struct {
		enum sipdance_sdp_setup local, remote;
		int err, client;
		const char *why;
	} roles[] = {
		{ SIPDANCE_SETUP_ACTPASS, SIPDANCE_SETUP_ACTIVE, 0, 0, NULL },
		{ SIPDANCE_SETUP_ACTPASS, SIPDANCE_SETUP_PASSIVE, 0, 1, NULL },
		{ SIPDANCE_SETUP_ACTIVE, SIPDANCE_SETUP_ACTPASS, 0, 1, NULL },
		{ SIPDANCE_SETUP_PASSIVE, SIPDANCE_SETUP_ACTPASS, 0, 0, NULL },
		{ SIPDANCE_SETUP_PASSIVE, SIPDANCE_SETUP_NONE, 0, 0, NULL },
		{ SIPDANCE_SETUP_ACTIVE, SIPDANCE_SETUP_ACTIVE, EINVAL, 0, "both sides active" },
		{ SIPDANCE_SETUP_NONE, SIPDANCE_SETUP_ACTIVE, EINVAL, 0, "both sides active" },
		{ SIPDANCE_SETUP_PASSIVE, SIPDANCE_SETUP_PASSIVE, EINVAL, 0, "both sides passive" },
		{ SIPDANCE_SETUP_ACTPASS, SIPDANCE_SETUP_ACTPASS, EINVAL, 0,
		  "both sides actpass: the answer must choose" },
		{ SIPDANCE_SETUP_ACTPASS, SIPDANCE_SETUP_HOLDCONN, EINVAL, 0, "a=setup:holdconn: no connection" },
	};
	enum sipdance_sdp_setup s;
	const char *why = NULL;

	for (size_t i = 0; i < sizeof(roles) / sizeof(roles[0]); i++) {
		int client = -1, err = sipdance_sdp_dtls_client(roles[i].local, roles[i].remote, &client, &why);

		CU_ASSERT_EQUAL(err, roles[i].err);
		if (!err)
			CU_ASSERT_EQUAL(client, roles[i].client);
		if (err)
			CU_ASSERT_STRING_EQUAL(why, roles[i].why);
	}
	CU_ASSERT(sipdance_sdp_setup_answer(SIPDANCE_SETUP_ACTPASS, &s, NULL) == 0 && s == SIPDANCE_SETUP_ACTIVE);
	CU_ASSERT(sipdance_sdp_setup_answer(SIPDANCE_SETUP_ACTIVE, &s, NULL) == 0 && s == SIPDANCE_SETUP_PASSIVE);
	CU_ASSERT(sipdance_sdp_setup_answer(SIPDANCE_SETUP_PASSIVE, &s, NULL) == 0 && s == SIPDANCE_SETUP_ACTIVE);
	CU_ASSERT(sipdance_sdp_setup_answer(SIPDANCE_SETUP_NONE, &s, NULL) == 0 && s == SIPDANCE_SETUP_PASSIVE);
	CU_ASSERT_EQUAL(sipdance_sdp_setup_answer(SIPDANCE_SETUP_HOLDCONN, &s, &why), EINVAL);
	CU_ASSERT_EQUAL(sipdance_sdp_setup_parse("passive", &s, NULL), 0);
	CU_ASSERT_EQUAL(s, SIPDANCE_SETUP_PASSIVE);
	CU_ASSERT_EQUAL(sipdance_sdp_setup_parse("Passive", &s, &why), EINVAL);
	CU_ASSERT_STRING_EQUAL(sipdance_sdp_setup_str(SIPDANCE_SETUP_ACTPASS), "actpass");
}

/* ice_and_tls_id - credentials, candidates and tls-id: generated ones pass their own checks */
static void ice_and_tls_id(void)
{
	struct sipdance_sdp_candidate c;
	char ufrag[9], pwd[25], id[33], text[128];
	const char *why = NULL;

	CU_ASSERT_EQUAL(sipdance_sdp_ice_generate(ufrag, pwd), 0);
	CU_ASSERT_EQUAL(sipdance_sdp_ice_check(ufrag, pwd, NULL), 0);
	CU_ASSERT_EQUAL(sipdance_sdp_ice_check("abc", pwd, &why), EINVAL);
	CU_ASSERT_STRING_EQUAL(why, "a=ice-ufrag is not 4-256 ice-chars");
	CU_ASSERT_EQUAL(sipdance_sdp_ice_check(ufrag, "short-password", &why), EINVAL);
	CU_ASSERT_STRING_EQUAL(why, "a=ice-pwd is not 22-256 ice-chars");
	CU_ASSERT_EQUAL(sipdance_sdp_ice_check("ab:c", pwd, &why), EINVAL);
	CU_ASSERT_EQUAL(sipdance_sdp_tls_id_generate(id), 0);
	CU_ASSERT_EQUAL(sipdance_sdp_tls_id_check(id, NULL), 0);
	CU_ASSERT_EQUAL(sipdance_sdp_tls_id_check("abc", &why), EINVAL);
	CU_ASSERT_EQUAL(sipdance_sdp_tls_id_check("abcdefghijklmnopqrs=tu", &why), EINVAL);
	CU_ASSERT_STRING_EQUAL(why, "a=tls-id is not 20-255 of ALPHA DIGIT + / - _");

	CU_ASSERT_EQUAL_FATAL(sipdance_sdp_candidate_parse(&c, "1 1 udp 2130706431 127.0.0.1 40000 typ host "
							   "generation 0", NULL), 0);
	CU_ASSERT(c.component == 1 && c.priority == 2130706431u && c.port == 40000);
	CU_ASSERT_STRING_EQUAL(c.addr, "127.0.0.1");
	CU_ASSERT_STRING_EQUAL(c.type, "host");
	sipdance_sdp_candidate_format(&c, text, sizeof(text));
	CU_ASSERT_STRING_EQUAL(text, "1 1 UDP 2130706431 127.0.0.1 40000 typ host");
	CU_ASSERT_EQUAL(sipdance_sdp_candidate_parse(&c, "1 1 TCP 1 127.0.0.1 9 typ host", &why),
			EPROTONOSUPPORT);
	CU_ASSERT_EQUAL(sipdance_sdp_candidate_parse(&c, "1 1 UDP 1 0d3a8f.local 9 typ host", &why),
			EPROTONOSUPPORT);
	CU_ASSERT_STRING_EQUAL(why, "a=candidate address is not an IP literal (mDNS names are not resolved)");
	CU_ASSERT_EQUAL(sipdance_sdp_candidate_parse(&c, "1 1 UDP 1 127.0.0.1 65536 typ host", &why), EINVAL);
	CU_ASSERT_STRING_EQUAL(why, "a=candidate component, priority or port out of range");
	CU_ASSERT_EQUAL(sipdance_sdp_candidate_parse(&c, "1 1 UDP 1 127.0.0.1 9", &why), EINVAL);
	CU_ASSERT_EQUAL(sipdance_sdp_candidate_parse(&c, "1 1 UDP 1 127.0.0.1 9 type host", &why), EINVAL);
}

/* A baresip 1.0.0 answer as captured on loopback: session- and media-level fingerprint. */
static const char baresip_answer[] =
	"v=0\r\no=- 3930473227 1446461213 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
	"a=tool:baresip 1.0.0\r\na=setup:active\r\na=fingerprint:SHA-256 " OTHER_SHA256 "\r\n"
	"m=video 26130 RTP/AVP 96\r\nc=IN IP4 127.0.0.9\r\na=setup:passive\r\n"
	"m=audio 26126 UDP/TLS/RTP/SAVPF 0 101\r\na=rtpmap:0 PCMU/8000\r\n"
	"a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\na=sendrecv\r\na=label:1\r\n"
	"a=ssrc:3195253453 cname:sip:bob@127.0.0.1\r\na=minptime:20\r\na=ptime:20\r\n"
	"a=fingerprint:sha-256 " EE_SHA256 "\r\n";

/* media_parse - session and media levels merged; media-level fingerprints win */
static void media_parse(void)
{
	struct sipdance_sdp_media m;
	const char *why = NULL;

	CU_ASSERT_EQUAL_FATAL(sipdance_sdp_media_parse(&m, baresip_answer, &why), 0);
	CU_ASSERT_STRING_EQUAL(m.addr, "127.0.0.1");
	CU_ASSERT_EQUAL(m.port, 26126);
	CU_ASSERT_STRING_EQUAL(m.proto, "UDP/TLS/RTP/SAVPF");
	CU_ASSERT_EQUAL(m.payload_type, 0);
	CU_ASSERT_EQUAL(m.setup, SIPDANCE_SETUP_ACTIVE);
	CU_ASSERT_EQUAL(m.nfp, 1);
	CU_ASSERT_EQUAL(m.fp[0].md[0], 0x70);
	CU_ASSERT(!m.rtcp_mux && !m.ice_ufrag[0] && !m.ncand);

	CU_ASSERT_EQUAL(sipdance_sdp_media_parse(&m, "v=0\r\nc=IN IP4 127.0.0.1\r\nm=video 1 RTP/AVP 0\r\n",
						 &why), EINVAL);
	CU_ASSERT_STRING_EQUAL(why, "no m=audio section");
	CU_ASSERT_EQUAL(sipdance_sdp_media_parse(&m, "v=0\r\nm=audio 1 RTP/AVP 0\r\n", &why), EINVAL);
	CU_ASSERT_STRING_EQUAL(why, "no c= address for the audio section");
	CU_ASSERT_EQUAL(sipdance_sdp_media_parse(&m, "v=0\r\nc=IN IP4 127.0.0.1\r\nm=audio 1 RTP/AVP 0\r\n"
						 "a=fingerprint:sha-256 XX\r\n", &why), EINVAL);
	CU_ASSERT_STRING_EQUAL(why, "fingerprint is not colon-separated hex pairs");
	CU_ASSERT_EQUAL(sipdance_sdp_media_parse(&m, "v=0\r\nc=IN IP4 example.org\r\nm=audio 1 RTP/AVP 0\r\n",
						 &why), EINVAL);
	CU_ASSERT_STRING_EQUAL(why, "c= address is not an IP literal");
	CU_ASSERT_EQUAL(sipdance_sdp_media_parse(&m, "v=0\r\nc=IN IP4 127.0.0.1\r\nm=audio 99999 RTP/AVP 0\r\n",
						 &why), EINVAL);
	CU_ASSERT_STRING_EQUAL(why, "m= port out of range");
	CU_ASSERT_EQUAL(sipdance_sdp_media_parse(&m, "v=0\r\nc=IN IP4 127.0.0.1\r\nm=audio 1 RTP/AVP 0\r\n"
						 "a=candidate:1 1 TCP 1 127.0.0.1 9 typ host\r\n"
						 "a=candidate:2 1 UDP 1 x.local 9 typ host\r\n"
						 "a=candidate:3 1 UDP 7 ::1 9 typ host\r\n", &why), 0);
	CU_ASSERT(m.ncand == 1 && m.cand[0].priority == 7);
	CU_ASSERT_STRING_EQUAL(m.cand[0].addr, "::1");
	CU_ASSERT_EQUAL(sipdance_sdp_media_parse(&m, "v=0\r\nc=IN IP4 127.0.0.1\r\nm=audio 1 RTP/AVP 0\r\n"
						 "a=candidate:1 1 UDP\r\n", &why), EINVAL);
	CU_ASSERT_STRING_EQUAL(why, "a=candidate has fewer than 8 fields or an over-long one");
	CU_ASSERT_EQUAL(sipdance_sdp_media_parse(&m, "v=0\r\nc=IN IP4 127.0.0.1\r\nm=audio 1 RTP/AVP 0\r\n"
						 "a=setup:both\r\n", &why), EINVAL);
	CU_ASSERT_STRING_EQUAL(why, "a=setup is not actpass, active, passive or holdconn");
	CU_ASSERT_EQUAL(sipdance_sdp_media_parse(&m, "v=0\r\nc=IN IP4 127.0.0.1\r\nbad line\r\n", &why), EINVAL);
	CU_ASSERT_STRING_EQUAL(why, "SDP line is not \"x=...\"");
}

/* media_roundtrip - what we generate parses back to the same values */
static void media_roundtrip(void)
{
	struct sipdance_sdp_media m = { .addr = "127.0.0.1", .port = 40000, .rtcp_mux = 1,
					.setup = SIPDANCE_SETUP_ACTPASS, .ncand = 1, .nfp = 1 }, back;
	X509 *ee = load("ee.pem");
	char sdp[2048];
	size_t n;

	CU_ASSERT_PTR_NOT_NULL_FATAL(ee);
	CU_ASSERT_EQUAL(sipdance_sdp_fingerprint_create(&m.fp[0], ee, "sha-256"), 0);
	CU_ASSERT_EQUAL(sipdance_sdp_tls_id_generate(m.tls_id), 0);
	CU_ASSERT_EQUAL(sipdance_sdp_ice_generate(m.ice_ufrag, m.ice_pwd), 0);
	CU_ASSERT_EQUAL(sipdance_sdp_candidate_parse(&m.cand[0], "1 1 UDP 2130706431 127.0.0.1 40000 typ host",
						     NULL), 0);
	n = sipdance_sdp_media_format(&m, 42, sdp, sizeof(sdp));
	CU_ASSERT_FATAL(n > 0 && n < sizeof(sdp));
	CU_ASSERT_EQUAL(sipdance_sdp_media_format(&m, 42, NULL, 0), n);
	CU_ASSERT_PTR_NOT_NULL(strstr(sdp, "a=fingerprint:sha-256 " EE_SHA256 "\r\n"));
	CU_ASSERT_EQUAL_FATAL(sipdance_sdp_media_parse(&back, sdp, NULL), 0);
	CU_ASSERT_STRING_EQUAL(back.addr, "127.0.0.1");
	CU_ASSERT(back.port == 40000 && back.rtcp_mux && back.setup == SIPDANCE_SETUP_ACTPASS);
	CU_ASSERT_STRING_EQUAL(back.tls_id, m.tls_id);
	CU_ASSERT_STRING_EQUAL(back.ice_ufrag, m.ice_ufrag);
	CU_ASSERT_STRING_EQUAL(back.ice_pwd, m.ice_pwd);
	CU_ASSERT(back.ncand == 1 && back.cand[0].port == 40000 && back.nfp == 1);
	CU_ASSERT_EQUAL(memcmp(back.fp[0].md, m.fp[0].md, 32), 0);
	/* A ufrag without a password is no ICE: nothing half-written. */
	m.ice_pwd[0] = '\0';
	sipdance_sdp_media_format(&m, 42, sdp, sizeof(sdp));
	CU_ASSERT_PTR_NULL(strstr(sdp, "a=ice-"));
	CU_ASSERT_EQUAL(sipdance_sdp_media_parse(&back, sdp, NULL), 0);
	X509_free(ee);
}

/* media_browser - a browser's offer: PCMU chosen among its codecs, a=mid and BUNDLE kept,
 * echoed in the answer; a mid outside the group is no BUNDLE; a bad mid is an error */
static void media_browser(void)
{
	static const char offer[] =
		"v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\n"
		"a=extmap-allow-mixed\r\na=msid-semantic: WMS\r\n"
		"m=audio 9 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110 126\r\nc=IN IP4 0.0.0.0\r\n"
		"a=candidate:1 1 udp 2122260223 127.0.0.1 40000 typ host generation 0 network-id 1\r\n"
		"a=candidate:2 1 tcp 1518280447 127.0.0.1 9 typ host tcptype active generation 0\r\n"
		"a=ice-ufrag:F/0a\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\na=ice-options:trickle\r\n"
		"a=fingerprint:sha-256 DA:A3:45:A5:D6:DC:84:35:F6:B6:B9:0D:8F:59:88:B6:61:6B:BC:5A:76:39:04:7F:75:1D:D2:E6:87:4A:D2:E0\r\n"
		"a=setup:actpass\r\na=mid:0\r\na=sendrecv\r\na=rtcp-mux\r\na=rtcp-rsize\r\n"
		"a=rtpmap:111 opus/48000/2\r\na=rtpmap:0 PCMU/8000\r\n";
	struct sipdance_sdp_media m, back;
	char sdp[2048], *other;

	CU_ASSERT_EQUAL_FATAL(sipdance_sdp_media_parse(&m, offer, NULL), 0);
	CU_ASSERT_EQUAL(m.payload_type, 0);
	CU_ASSERT_STRING_EQUAL(m.mid, "0");
	CU_ASSERT(m.bundle && m.rtcp_mux && m.ncand == 1 && m.cand[0].port == 40000);
	sipdance_sdp_media_format(&m, 7, sdp, sizeof(sdp));
	CU_ASSERT_PTR_NOT_NULL(strstr(sdp, "\r\nt=0 0\r\na=group:BUNDLE 0\r\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(sdp, "\r\nm=audio 9 UDP/TLS/RTP/SAVPF 0\r\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(sdp, "\r\na=mid:0\r\n"));
	CU_ASSERT_EQUAL_FATAL(sipdance_sdp_media_parse(&back, sdp, NULL), 0);
	CU_ASSERT(back.bundle && !strcmp(back.mid, "0") && back.payload_type == 0);
	/* Without PCMU the first format stays; a group that does not name the mid is no BUNDLE. */
	strcpy(sdp, offer);
	other = strstr(sdp, " 0 8 13");
	memcpy(other, " 7", 2);
	memcpy(strstr(sdp, "BUNDLE 0"), "BUNDLE 1", 8);
	CU_ASSERT_EQUAL_FATAL(sipdance_sdp_media_parse(&m, sdp, NULL), 0);
	CU_ASSERT_EQUAL(m.payload_type, 111);
	CU_ASSERT(!m.bundle && !strcmp(m.mid, "0"));
	sipdance_sdp_media_format(&m, 7, sdp, sizeof(sdp));
	CU_ASSERT_PTR_NULL(strstr(sdp, "a=group:"));
	/* A mid that is not a token. */
	strcpy(sdp, offer);
	memcpy(strstr(sdp, "a=mid:0"), "a=mid:(", 7);
	CU_ASSERT_EQUAL(sipdance_sdp_media_parse(&m, sdp, NULL), EINVAL);
}

CU_ErrorCode suite_sdp(void)
{
	CU_pSuite s = CU_add_suite("sdp", NULL, NULL);

	if (!s || !CU_add_test(s, "fingerprint forms and hashes", fp_forms) ||
	    !CU_add_test(s, "malformed fingerprints", fp_errors) ||
	    !CU_add_test(s, "certificate against fingerprints", verify_outcomes) ||
	    !CU_add_test(s, "setup roles", setup_roles) ||
	    !CU_add_test(s, "ICE lines and tls-id", ice_and_tls_id) ||
	    !CU_add_test(s, "parse an answer", media_parse) ||
	    !CU_add_test(s, "generate and parse back", media_roundtrip) ||
	    !CU_add_test(s, "a browser's offer", media_browser))
		return CU_get_error();
	return CUE_SUCCESS;
}
