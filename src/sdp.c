/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * sdp.c - a=fingerprint, a=setup, a=tls-id and ICE lines of SDP, the check of
 * a peer DTLS certificate against the fingerprints, and the audio section of
 * an offer or answer in both directions.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <arpa/inet.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <sipdance/sdp.h>
#include "internal.h"

/* is_token_char - RFC 4566 token-char */
static int is_token_char(int c)
{
	return c > 0x20 && c < 0x7f && !strchr("\"(),/:;<=>?@[\\]{}", c);
}

/* sipdance_sdp_fingerprint_parse - "hash-func SP 2HEX *(":" 2HEX)" */
int sipdance_sdp_fingerprint_parse(struct sipdance_sdp_fingerprint *fp, const char *value,
				   const char **why)
{
	const char *p = value;
	size_t n = 0;

	if (!fp || !value)
		return sd_fail(why, "no value", EINVAL);
	memset(fp, 0, sizeof(*fp));
	while (is_token_char((unsigned char)*p)) {
		if (n == sizeof(fp->hash) - 1)
			return sd_fail(why, "hash function name too long", EINVAL);
		fp->hash[n++] = (char)tolower((unsigned char)*p++);
	}
	if (!n)
		return sd_fail(why, "missing hash function", EINVAL);
	if (*p != ' ')
		return sd_fail(why, *p ? "hash function is not a token" : "missing fingerprint", EINVAL);
	p++;
	if (!*p)
		return sd_fail(why, "missing fingerprint", EINVAL);
	for (;;) {
		int hi, lo;

		if (!isxdigit((unsigned char)p[0]) || !isxdigit((unsigned char)p[1]))
			return sd_fail(why, "fingerprint is not colon-separated hex pairs", EINVAL);
		if (fp->len == SIPDANCE_SDP_MAX_DIGEST)
			return sd_fail(why, "fingerprint longer than 64 bytes", EMSGSIZE);
		hi = isdigit((unsigned char)p[0]) ? p[0] - '0' : tolower((unsigned char)p[0]) - 'a' + 10;
		lo = isdigit((unsigned char)p[1]) ? p[1] - '0' : tolower((unsigned char)p[1]) - 'a' + 10;
		fp->md[fp->len++] = (uint8_t)(hi << 4 | lo);
		p += 2;
		if (*p != ':')
			break;
		p++;
	}
	p += strspn(p, " \t\r\n");
	if (*p)
		return sd_fail(why, "fingerprint is not colon-separated hex pairs", EINVAL);
	return 0;
}

/* sipdance_sdp_fingerprint_format - uppercase hex pairs joined by colons */
size_t sipdance_sdp_fingerprint_format(const struct sipdance_sdp_fingerprint *fp, char *buf,
				       size_t size)
{
	static const char digits[] = "0123456789ABCDEF";
	size_t need = strlen(fp->hash) + 1 + (fp->len ? 3 * fp->len - 1 : 0), o;

	if (!buf || size <= need) {
		if (buf && size)
			buf[0] = '\0';
		return need;
	}
	o = (size_t)snprintf(buf, size, "%s ", fp->hash);
	for (size_t i = 0; i < fp->len; i++) {
		if (i)
			buf[o++] = ':';
		buf[o++] = digits[fp->md[i] >> 4];
		buf[o++] = digits[fp->md[i] & 15];
	}
	buf[o] = '\0';
	return need;
}

/* hash_refused - why hash-func @name may never be used, or NULL */
static const char *hash_refused(const char *name)
{
	if (!strcmp(name, "md5") || !strcmp(name, "md2"))
		return "md2/md5 fingerprints must not be used (RFC 8122 §5)";
	return NULL;
}

/* fetch_md - the fixed-length digest OpenSSL offers under @name, or NULL */
static EVP_MD *fetch_md(const char *name)
{
	EVP_MD *md = EVP_MD_fetch(NULL, name, NULL);

	if (md && ((EVP_MD_get_flags(md) & EVP_MD_FLAG_XOF) || EVP_MD_get_size(md) <= 0 ||
		   EVP_MD_get_size(md) > SIPDANCE_SDP_MAX_DIGEST)) {
		EVP_MD_free(md);
		md = NULL;
	}
	return md;
}

/* sipdance_sdp_fingerprint_create - digest of the certificate's DER */
int sipdance_sdp_fingerprint_create(struct sipdance_sdp_fingerprint *fp, X509 *cert,
				    const char *hash)
{
	unsigned n = 0;
	EVP_MD *md;
	int ok;

	if (!fp || !cert || !hash || strlen(hash) >= sizeof(fp->hash) || hash_refused(hash))
		return EINVAL;
	if (!(md = fetch_md(hash)))
		return EINVAL;
	memset(fp, 0, sizeof(*fp));
	for (size_t i = 0; hash[i]; i++)
		fp->hash[i] = (char)tolower((unsigned char)hash[i]);
	ok = X509_digest(cert, md, fp->md, &n) == 1;
	EVP_MD_free(md);
	fp->len = n;
	return ok ? 0 : ENOMEM;
}

/* usable - why fingerprint @fp cannot be used, or NULL; its digest in *md */
static const char *usable(const struct sipdance_sdp_fingerprint *fp, unsigned flags, EVP_MD **md)
{
	const char *r = hash_refused(fp->hash);

	*md = NULL;
	if (r)
		return r;
	if (!strcmp(fp->hash, "sha-1") && !(flags & SIPDANCE_SDP_ALLOW_SHA1))
		return "sha-1 fingerprints are not accepted by configuration";
	if (!(*md = fetch_md(fp->hash)))
		return "hash function not supported";
	if ((size_t)EVP_MD_get_size(*md) != fp->len) {
		EVP_MD_free(*md);
		*md = NULL;
		return "fingerprint length does not fit its hash function";
	}
	return NULL;
}

/* sipdance_sdp_fingerprint_verify - peer certificate against the SDP fingerprints */
int sipdance_sdp_fingerprint_verify(X509 *cert, const struct sipdance_sdp_fingerprint *fps,
				    size_t n, unsigned flags, struct sipdance_verdict *v)
{
	const char *first_why = NULL, *matched = NULL;
	uint8_t dig[EVP_MAX_MD_SIZE];
	char hex[64];
	size_t nusable = 0;

	if (!cert || (n && !fps) || !v)
		return EINVAL;
	*v = (struct sipdance_verdict){ .usage = -1, .selector = -1, .mtype = -1, .depth = -1 };
	/*
	 * The decision, case by case:
	 *  - no a=fingerprint at all: NOMATCH, nothing binds the certificate;
	 *  - a fingerprint whose hash is md2/md5, sha-1 (unless configured),
	 *    unknown to OpenSSL, extendable-output, or whose length differs from
	 *    the digest's: ignored as unusable; none usable: UNUSABLE;
	 *  - a usable fingerprint equal (constant-time, full length) to the
	 *    digest of the certificate's DER: MATCH;
	 *  - usable fingerprints but none equal: NOMATCH.
	 */
	if (n == 0) {
		sd_verdict_set(v, SIPDANCE_NOMATCH, "no a=fingerprint in the SDP");
		return 0;
	}
	for (size_t i = 0; i < n; i++) {
		EVP_MD *md;
		const char *r = usable(&fps[i], flags, &md);
		unsigned len = 0;
		int ok;

		if (r) {
			sd_log(SIPDANCE_LOG_INFO, "sdp", "fingerprint %zu (%s) unusable: %s", i,
			       fps[i].hash, r);
			if (!first_why)
				first_why = r;
			continue;
		}
		nusable++;
		ok = X509_digest(cert, md, dig, &len) == 1;
		EVP_MD_free(md);
		if (!ok)
			return ENOMEM;
		if (len == fps[i].len && CRYPTO_memcmp(dig, fps[i].md, len) == 0 && !matched)
			matched = fps[i].hash;
	}
	if (matched)
		sd_verdict_set(v, SIPDANCE_MATCH, "DTLS certificate matches the %s fingerprint", matched);
	else if (!nusable)
		sd_verdict_set(v, SIPDANCE_UNUSABLE, "no usable a=fingerprint (%s)", first_why);
	else
		sd_verdict_set(v, SIPDANCE_NOMATCH, "DTLS certificate (sha-256 %s) matches none of %zu "
			       "usable a=fingerprint", X509_digest(cert, EVP_sha256(), dig, NULL) == 1 ?
			       sd_hex_short(dig, 32, hex, sizeof(hex)) : "?", nusable);
	return 0;
}

static const char *const setup_names[] = { "", "actpass", "active", "passive", "holdconn" };

/* sipdance_sdp_setup_parse - one of the four RFC 4145 values */
int sipdance_sdp_setup_parse(const char *value, enum sipdance_sdp_setup *out, const char **why)
{
	if (!value || !out)
		return sd_fail(why, "no value", EINVAL);
	for (int i = SIPDANCE_SETUP_ACTPASS; i <= SIPDANCE_SETUP_HOLDCONN; i++)
		if (!strcmp(value, setup_names[i])) {
			*out = (enum sipdance_sdp_setup)i;
			return 0;
		}
	return sd_fail(why, "a=setup is not actpass, active, passive or holdconn", EINVAL);
}

/* sipdance_sdp_setup_str - the attribute value */
const char *sipdance_sdp_setup_str(enum sipdance_sdp_setup s)
{
	return s <= SIPDANCE_SETUP_HOLDCONN ? setup_names[s] : "";
}

/* sipdance_sdp_setup_answer - RFC 5763 §5: the answerer should be active */
int sipdance_sdp_setup_answer(enum sipdance_sdp_setup offer, enum sipdance_sdp_setup *answer,
			      const char **why)
{
	if (!answer)
		return sd_fail(why, "no answer", EINVAL);
	switch (offer) {
	case SIPDANCE_SETUP_ACTPASS:
	case SIPDANCE_SETUP_PASSIVE:
		*answer = SIPDANCE_SETUP_ACTIVE;
		return 0;
	case SIPDANCE_SETUP_NONE:
	case SIPDANCE_SETUP_ACTIVE:
		*answer = SIPDANCE_SETUP_PASSIVE;
		return 0;
	default:
		return sd_fail(why, "offer is holdconn: no connection", EINVAL);
	}
}

/* sipdance_sdp_dtls_client - who sends the ClientHello */
int sipdance_sdp_dtls_client(enum sipdance_sdp_setup local, enum sipdance_sdp_setup remote,
			     int *client, const char **why)
{
	if (!client)
		return sd_fail(why, "no result", EINVAL);
	if (local == SIPDANCE_SETUP_NONE)
		local = SIPDANCE_SETUP_ACTIVE; /* RFC 4145 §4.1 */
	if (remote == SIPDANCE_SETUP_NONE)
		remote = SIPDANCE_SETUP_ACTIVE;
	if (local == SIPDANCE_SETUP_HOLDCONN || remote == SIPDANCE_SETUP_HOLDCONN)
		return sd_fail(why, "a=setup:holdconn: no connection", EINVAL);
	if (local == SIPDANCE_SETUP_ACTPASS && remote == SIPDANCE_SETUP_ACTPASS)
		return sd_fail(why, "both sides actpass: the answer must choose", EINVAL);
	if (local == remote)
		return sd_fail(why, local == SIPDANCE_SETUP_ACTIVE ? "both sides active"
								 : "both sides passive", EINVAL);
	*client = local == SIPDANCE_SETUP_ACTIVE || remote == SIPDANCE_SETUP_PASSIVE;
	return 0;
}

/* chars_ok - whether @s is @min-@max characters, all from class @extra plus ALNUM */
static int chars_ok(const char *s, size_t min, size_t max, const char *extra)
{
	size_t n = strlen(s);

	if (n < min || n > max)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) || s[i] & 0x80)
			if (!strchr(extra, s[i]))
				return 0;
	return 1;
}

/* sipdance_sdp_tls_id_check - RFC 8842 §4 tls-id-value */
int sipdance_sdp_tls_id_check(const char *value, const char **why)
{
	if (!value || !chars_ok(value, 20, 255, "+/-_"))
		return sd_fail(why, "a=tls-id is not 20-255 of ALPHA DIGIT + / - _", EINVAL);
	return 0;
}

/* random_chars - @n random characters from @alphabet (64 of them) */
static int random_chars(char *out, size_t n)
{
	static const char alphabet[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	uint8_t r[64];

	if (n > sizeof(r) || RAND_bytes(r, (int)n) != 1)
		return EIO;
	for (size_t i = 0; i < n; i++)
		out[i] = alphabet[r[i] & 63];
	out[n] = '\0';
	return 0;
}

/* sipdance_sdp_tls_id_generate - 32 random characters (192 bits) */
int sipdance_sdp_tls_id_generate(char out[33])
{
	return random_chars(out, 32);
}

/* sipdance_sdp_ice_check - RFC 8839 §5.4 lengths over ice-char */
int sipdance_sdp_ice_check(const char *ufrag, const char *pwd, const char **why)
{
	if (!ufrag || !chars_ok(ufrag, 4, 256, "+/"))
		return sd_fail(why, "a=ice-ufrag is not 4-256 ice-chars", EINVAL);
	if (!pwd || !chars_ok(pwd, 22, 256, "+/"))
		return sd_fail(why, "a=ice-pwd is not 22-256 ice-chars", EINVAL);
	return 0;
}

/* sipdance_sdp_ice_generate - ufrag of 48 bits, pwd of 144 bits */
int sipdance_sdp_ice_generate(char ufrag[9], char pwd[25])
{
	return random_chars(ufrag, 8) || random_chars(pwd, 24) ? EIO : 0;
}

/* copy_word - the next white-space-delimited word into out; EMSGSIZE/EINVAL */
static int copy_word(const char **pp, char *out, size_t size)
{
	const char *p = *pp + strspn(*pp, " ");
	size_t n = strcspn(p, " \r\n");

	if (!n)
		return EINVAL;
	if (n >= size)
		return EMSGSIZE;
	memcpy(out, p, n);
	out[n] = '\0';
	*pp = p + n;
	return 0;
}

/* number - a decimal number of at most @max */
static int number(const char *s, unsigned long max, unsigned long *out)
{
	char *end;

	if (!isdigit((unsigned char)*s))
		return EINVAL;
	errno = 0;
	*out = strtoul(s, &end, 10);
	return *end || errno || *out > max ? EINVAL : 0;
}

/* is_ip - whether @s is an IPv4 or IPv6 literal */
static int is_ip(const char *s)
{
	uint8_t a[16];

	return inet_pton(AF_INET, s, a) == 1 || inet_pton(AF_INET6, s, a) == 1;
}

/* sipdance_sdp_candidate_parse - "foundation component transport priority addr port typ type" */
int sipdance_sdp_candidate_parse(struct sipdance_sdp_candidate *c, const char *value,
				 const char **why)
{
	char w[8][64];
	unsigned long comp, prio, port;
	const char *p = value;

	if (!c || !value)
		return sd_fail(why, "no value", EINVAL);
	memset(c, 0, sizeof(*c));
	for (int i = 0; i < 8; i++)
		if (copy_word(&p, w[i], sizeof(w[i])))
			return sd_fail(why, "a=candidate has fewer than 8 fields or an over-long one", EINVAL);
	if (!chars_ok(w[0], 1, 32, "+/"))
		return sd_fail(why, "a=candidate foundation is not 1-32 ice-chars", EINVAL);
	if (strcasecmp(w[2], "udp"))
		return sd_fail(why, "a=candidate transport is not UDP", EPROTONOSUPPORT);
	if (number(w[1], 256, &comp) || comp < 1 || number(w[3], 0xFFFFFFFFul, &prio) ||
	    number(w[5], 65535, &port))
		return sd_fail(why, "a=candidate component, priority or port out of range", EINVAL);
	if (!is_ip(w[4]))
		return sd_fail(why, "a=candidate address is not an IP literal (mDNS names are not resolved)",
			    EPROTONOSUPPORT);
	if (strcmp(w[6], "typ") || strlen(w[7]) >= sizeof(c->type))
		return sd_fail(why, "a=candidate lacks \"typ host|srflx|prflx|relay\"", EINVAL);
	strcpy(c->foundation, w[0]);
	c->component = (unsigned)comp;
	c->priority = (uint32_t)prio;
	strcpy(c->addr, w[4]);
	c->port = (uint16_t)port;
	strcpy(c->type, w[7]);
	return 0;
}

/* sipdance_sdp_candidate_format - the a=candidate value */
size_t sipdance_sdp_candidate_format(const struct sipdance_sdp_candidate *c, char *buf, size_t size)
{
	int n = snprintf(buf, size, "%s %u UDP %u %s %u typ %s", c->foundation, c->component,
			 (unsigned)c->priority, c->addr, (unsigned)c->port, c->type);

	return n < 0 ? 0 : (size_t)n;
}

/* level - values seen at session or media level before they are merged */
struct level {
	char addr[46];
	char bundle[256];                  /* session: the a=group:BUNDLE tags, " tag1 tag2 " */
	enum sipdance_sdp_setup setup;
	char tls_id[256], ufrag[257], pwd[257];
	int ice_lite;
	struct sipdance_sdp_fingerprint fp[SIPDANCE_SDP_MAX_FP];
	size_t nfp;
};

/* attr - one a= line (without "a=") at its level; errors name the line */
static int attr(struct level *l, struct sipdance_sdp_media *m, const char *a, const char **why)
{
	const char *v = strchr(a, ':');
	char name[32];
	size_t n = v ? (size_t)(v - a) : strlen(a);
	int err;

	if (n >= sizeof(name))
		return 0;
	memcpy(name, a, n);
	name[n] = '\0';
	v = v ? v + 1 : "";
	if (!strcmp(name, "fingerprint")) {
		if (l->nfp == SIPDANCE_SDP_MAX_FP)
			return sd_fail(why, "more than 8 a=fingerprint", EMSGSIZE);
		return sipdance_sdp_fingerprint_parse(&l->fp[l->nfp++], v, why);
	}
	if (!strcmp(name, "setup"))
		return sipdance_sdp_setup_parse(v, &l->setup, why);
	if (!strcmp(name, "tls-id")) {
		if ((err = sipdance_sdp_tls_id_check(v, why)))
			return err;
		strcpy(l->tls_id, v);
	} else if (!strcmp(name, "ice-ufrag")) {
		if (!chars_ok(v, 4, 256, "+/"))
			return sd_fail(why, "a=ice-ufrag is not 4-256 ice-chars", EINVAL);
		strcpy(l->ufrag, v);
	} else if (!strcmp(name, "ice-pwd")) {
		if (!chars_ok(v, 22, 256, "+/"))
			return sd_fail(why, "a=ice-pwd is not 22-256 ice-chars", EINVAL);
		strcpy(l->pwd, v);
	} else if (!strcmp(name, "ice-lite")) {
		l->ice_lite = 1;
	} else if (!m && !strncmp(v, "BUNDLE", 6) && (v[6] == ' ' || !v[6]) && !strcmp(name, "group")) {
		if (strlen(v + 6) + 2 > sizeof(l->bundle))
			return sd_fail(why, "a=group:BUNDLE longer than 253 bytes", EMSGSIZE);
		snprintf(l->bundle, sizeof(l->bundle), "%s ", v + 6);
	} else if (m && !strcmp(name, "mid")) {
		if (!chars_ok(v, 1, sizeof(m->mid) - 1, "!#$%&'*+-.^_`{|}~"))
			return sd_fail(why, "a=mid is not a token of 1-32 characters", EINVAL);
		strcpy(m->mid, v);
	} else if (m && !strcmp(name, "rtcp-mux")) {
		m->rtcp_mux = 1;
	} else if (m && !strcmp(name, "candidate")) {
		struct sipdance_sdp_candidate c;

		if ((err = sipdance_sdp_candidate_parse(&c, v, why)) == EPROTONOSUPPORT)
			return 0; /* TCP or mDNS candidates are legal; we use UDP to IP addresses */
		if (err)
			return err;
		if (m->ncand < SIPDANCE_SDP_MAX_CAND)
			m->cand[m->ncand++] = c;
	}
	return 0;
}

/* connection - a c= line: "IN IP4|IP6 address" */
static int connection(struct level *l, const char *v, const char **why)
{
	char net[8], type[8], addr[64];

	if (copy_word(&v, net, sizeof(net)) || copy_word(&v, type, sizeof(type)) ||
	    copy_word(&v, addr, sizeof(addr)) || strcmp(net, "IN") ||
	    (strcmp(type, "IP4") && strcmp(type, "IP6")))
		return sd_fail(why, "c= is not \"IN IP4|IP6 address\"", EINVAL);
	if (!is_ip(addr))
		return sd_fail(why, "c= address is not an IP literal", EINVAL);
	strcpy(l->addr, addr);
	return 0;
}

/* media_line - an m= line: "audio port proto fmt...": PCMU (0) if listed, else the first format */
static int media_line(struct sipdance_sdp_media *m, const char *v, const char **why)
{
	char media[16], port[16], fmt[16];
	unsigned long n;

	if (copy_word(&v, media, sizeof(media)) || copy_word(&v, port, sizeof(port)) ||
	    copy_word(&v, m->proto, sizeof(m->proto)) || copy_word(&v, fmt, sizeof(fmt)))
		return sd_fail(why, "m= is not \"media port proto fmt\"", EINVAL);
	if (number(port, 65535, &n))
		return sd_fail(why, "m= port out of range", EINVAL);
	m->port = (uint16_t)n;
	if (number(fmt, 127, &n))
		return sd_fail(why, "m= format is not an RTP payload type", EINVAL);
	m->payload_type = (int)n;
	while (m->payload_type != 0 && !copy_word(&v, fmt, sizeof(fmt)))
		if (!strcmp(fmt, "0"))
			m->payload_type = 0;
	return 0;
}

/* sipdance_sdp_media_parse - session level, then the first audio section */
int sipdance_sdp_media_parse(struct sipdance_sdp_media *m, const char *sdp, const char **why)
{
	struct level sess = { 0 }, med = { 0 }, *cur = &sess;
	int state = 0; /* 0 session, 1 the audio section, 2 after it, 3 another section */
	char line[1024];
	int err;

	if (!m || !sdp)
		return sd_fail(why, "no SDP", EINVAL);
	memset(m, 0, sizeof(*m));
	while (*sdp && state != 2) {
		size_t n = strcspn(sdp, "\r\n");

		if (n >= sizeof(line))
			return sd_fail(why, "SDP line longer than 1023 bytes", EMSGSIZE);
		memcpy(line, sdp, n);
		line[n] = '\0';
		sdp += n;
		sdp += strspn(sdp, "\r\n");
		if (n < 2 || line[1] != '=')
			return sd_fail(why, "SDP line is not \"x=...\"", EINVAL);
		if (line[0] == 'm') {
			if (state == 1) {
				state = 2;
				break;
			}
			if (strncmp(line + 2, "audio ", 6)) {
				state = 3; /* another kind of section: its lines do not apply */
				continue;
			}
			if ((err = media_line(m, line + 2, why)))
				return err;
			state = 1;
			cur = &med;
		} else if (state == 3) {
			continue;
		} else if (line[0] == 'c') {
			if ((err = connection(cur, line + 2, why)))
				return err;
		} else if (line[0] == 'a') {
			if ((err = attr(cur, state == 1 ? m : NULL, line + 2, why)))
				return err;
		}
	}
	if (state != 1 && state != 2)
		return sd_fail(why, "no m=audio section", EINVAL);
	strcpy(m->addr, med.addr[0] ? med.addr : sess.addr);
	if (!m->addr[0])
		return sd_fail(why, "no c= address for the audio section", EINVAL);
	m->setup = med.setup ? med.setup : sess.setup;
	strcpy(m->tls_id, med.tls_id[0] ? med.tls_id : sess.tls_id);
	strcpy(m->ice_ufrag, med.ufrag[0] ? med.ufrag : sess.ufrag);
	strcpy(m->ice_pwd, med.pwd[0] ? med.pwd : sess.pwd);
	m->ice_lite = sess.ice_lite;
	if (m->mid[0] && sess.bundle[0]) {
		char tag[40];

		snprintf(tag, sizeof(tag), " %s ", m->mid);
		m->bundle = strstr(sess.bundle, tag) != NULL;
	}
	/* Media-level fingerprints replace session-level ones (RFC 8122 §5). */
	m->nfp = med.nfp ? med.nfp : sess.nfp;
	memcpy(m->fp, med.nfp ? med.fp : sess.fp, sizeof(m->fp));
	return 0;
}

/* out - a cursor that counts what it would write */
struct out {
	char *buf;
	size_t size, len;
};

/* put - printf into the cursor, counting past the end */
static void put(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(o->len < o->size ? o->buf + o->len : NULL, o->len < o->size ? o->size - o->len : 0,
		      fmt, ap);
	va_end(ap);
	if (n > 0)
		o->len += (size_t)n;
}

/* sipdance_sdp_media_format - a complete SDP body for @m */
size_t sipdance_sdp_media_format(const struct sipdance_sdp_media *m, unsigned long long sess_id,
				 char *buf, size_t size)
{
	struct out o = { buf, buf ? size : 0, 0 };
	const char *ipv = strchr(m->addr, ':') ? "IP6" : "IP4";
	char tmp[256];

	put(&o, "v=0\r\no=- %llu 1 IN %s %s\r\ns=-\r\nc=IN %s %s\r\nt=0 0\r\n", sess_id, ipv,
	    m->addr, ipv, m->addr);
	if (m->mid[0] && m->bundle)
		put(&o, "a=group:BUNDLE %s\r\n", m->mid);
	if (m->ice_lite)
		put(&o, "a=ice-lite\r\n");
	put(&o, "m=audio %u %s %d\r\n", (unsigned)m->port, m->proto[0] ? m->proto : "UDP/TLS/RTP/SAVPF",
	    m->payload_type);
	put(&o, "a=rtpmap:%d PCMU/8000\r\na=sendrecv\r\n", m->payload_type);
	if (m->mid[0])
		put(&o, "a=mid:%s\r\n", m->mid);
	if (m->rtcp_mux)
		put(&o, "a=rtcp-mux\r\n");
	if (m->setup)
		put(&o, "a=setup:%s\r\n", sipdance_sdp_setup_str(m->setup));
	if (m->tls_id[0])
		put(&o, "a=tls-id:%s\r\n", m->tls_id);
	for (size_t i = 0; i < m->nfp && i < SIPDANCE_SDP_MAX_FP; i++) {
		char fp[256];

		sipdance_sdp_fingerprint_format(&m->fp[i], fp, sizeof(fp));
		put(&o, "a=fingerprint:%s\r\n", fp);
	}
	if (m->ice_ufrag[0] && m->ice_pwd[0])
		put(&o, "a=ice-ufrag:%s\r\na=ice-pwd:%s\r\n", m->ice_ufrag, m->ice_pwd);
	for (size_t i = 0; i < m->ncand && i < SIPDANCE_SDP_MAX_CAND; i++) {
		sipdance_sdp_candidate_format(&m->cand[i], tmp, sizeof(tmp));
		put(&o, "a=candidate:%s\r\n", tmp);
	}
	if (buf && size && o.len >= size)
		buf[0] = '\0';
	return o.len;
}
