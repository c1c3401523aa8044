/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * stamp.c - the branch of the proxy's own Via: "z9hG4bKsd" + nonce (8 hex)
 * + loop hash (16) + an HMAC-SHA-256 (16 hex) under a random key made at
 * start (a branch needs to outlive no transaction). The loop hash is over
 * what routes the request (RFC 5393 §4.2); the MAC is over nonce, loop hash
 * and the top Via the request came with, so a response can only be relayed
 * back to where its request came from.
 */
#include "stamp.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/url.h>

#define PREFIX "z9hG4bKsd"
#define NONCE_HEX 8
#define MAC_HEX 16

struct px_stamp {
	unsigned char key[32];
};

/* px_stamp_alloc - a new random key */
int px_stamp_alloc(struct px_stamp **out)
{
	struct px_stamp *s = calloc(1, sizeof(*s));

	if (!s)
		return ENOMEM;
	if (RAND_bytes(s->key, sizeof(s->key)) != 1) {
		free(s);
		return EIO;
	}
	*out = s;
	return 0;
}

/* px_stamp_free - forget the key */
void px_stamp_free(struct px_stamp *s)
{
	if (!s)
		return;
	OPENSSL_cleanse(s->key, sizeof(s->key));
	free(s);
}

/* A buffer of length-prefixed fields: what is hashed or MACed. */
struct fields {
	unsigned char buf[8192];
	size_t len;
	int full; /* a field did not fit: the result must not be trusted */
};

/* add_n - one field of @n bytes (NULL counts as absent, distinct from "") */
static void add_n(struct fields *f, const char *v, size_t n)
{
	if (f->len + 5 + n > sizeof(f->buf)) {
		f->full = 1;
		return;
	}
	f->buf[f->len++] = v ? 1 : 0;
	f->buf[f->len++] = (unsigned char)(n >> 24);
	f->buf[f->len++] = (unsigned char)(n >> 16);
	f->buf[f->len++] = (unsigned char)(n >> 8);
	f->buf[f->len++] = (unsigned char)n;
	memcpy(f->buf + f->len, v ? v : "", n);
	f->len += n;
}

/* add - one string field */
static void add(struct fields *f, const char *v)
{
	add_n(f, v, v ? strlen(v) : 0);
}

/* add_header - every element of header list @h, printed */
static void add_header(struct fields *f, const sip_header_t *h)
{
	char buf[2048];
	issize_t n;

	for (; h; h = h->sh_next) {
		n = sip_header_field_e(buf, sizeof(buf), h, 0);
		if (n < 0 || (size_t)n >= sizeof(buf))
			f->full = 1;
		else
			add_n(f, buf, (size_t)n);
	}
}

/* add_url - a URL, printed */
static void add_url(struct fields *f, const url_t *u)
{
	char buf[2048];
	issize_t n = u ? url_e(buf, sizeof(buf), u) : -1;

	if (!u)
		add(f, NULL);
	else if (n < 0 || (size_t)n >= sizeof(buf))
		f->full = 1;
	else
		add_n(f, buf, (size_t)n);
}

/* hex - @n bytes of @in as lowercase hex into @out (2n + 1 bytes) */
static void hex(const unsigned char *in, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", in[i]);
}

/* mac - HMAC-SHA-256 of @f under @s's key, its first @nhex hex digits into @out */
static void mac(const struct px_stamp *s, const struct fields *f, size_t nhex, char *out)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;

	if (f->full || !HMAC(EVP_sha256(), s->key, sizeof(s->key), f->buf, f->len, md, &mdlen))
		memset(md, 0, sizeof(md)); /* never equal to a real MAC but by chance */
	hex(md, nhex / 2, out);
	if (f->full)
		out[0] = 'x'; /* not hex: never matches */
}

/* is_hex - whether @s starts with @n lowercase hex digits */
static int is_hex(const char *s, size_t n)
{
	return strspn(s, "0123456789abcdef") >= n;
}

/* same - constant-time comparison of @n bytes */
static int same(const char *a, const char *b, size_t n)
{
	return CRYPTO_memcmp(a, b, n) == 0;
}

/* px_stamp_loop - the RFC 5393 hash of @sip as received */
void px_stamp_loop(const sip_t *sip, char loop[PX_LOOP_HEX + 1])
{
	struct fields f = { .len = 0 };
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	char cseq[16];

	/* what decides the route here, then what names the transaction: a request
	 * that comes back with all of these unchanged is going round in a loop */
	add_url(&f, sip->sip_request ? sip->sip_request->rq_url : NULL);
	add_header(&f, (const sip_header_t *)sip->sip_route);
	add_header(&f, (const sip_header_t *)sip->sip_proxy_require);
	add_header(&f, (const sip_header_t *)sip->sip_proxy_authorization);
	add(&f, sip->sip_call_id ? sip->sip_call_id->i_id : NULL);
	add(&f, sip->sip_from ? sip->sip_from->a_tag : NULL);
	add(&f, sip->sip_to ? sip->sip_to->a_tag : NULL);
	snprintf(cseq, sizeof(cseq), "%u", sip->sip_cseq ? sip->sip_cseq->cs_seq : 0);
	add(&f, cseq);
	if (!EVP_Digest(f.buf, f.len, md, &mdlen, EVP_sha256(), NULL))
		memset(md, 0, sizeof(md));
	hex(md, PX_LOOP_HEX / 2, loop);
}

/* add_via - the parts of a Via that say where a response to it goes */
static void add_via(struct fields *f, const sip_via_t *v)
{
	add(f, v ? v->v_protocol : NULL);
	add(f, v ? v->v_host : NULL);
	add(f, v ? v->v_port : NULL);
	add(f, v ? v->v_received : NULL);
	add(f, v ? v->v_rport : NULL);
	add(f, v ? v->v_maddr : NULL);
	add(f, v ? v->v_branch : NULL);
}

/* branch_mac - the MAC of a branch: nonce and loop hash, bound to @up */
static void branch_mac(const struct px_stamp *s, const char *nonce, const char *loop,
		       const sip_via_t *up, char out[MAC_HEX + 1])
{
	struct fields f = { .len = 0 };

	add(&f, "branch");
	add(&f, nonce);
	add(&f, loop);
	add_via(&f, up);
	mac(s, &f, MAC_HEX, out);
}

/* px_stamp_branch - our Via's branch for a request with loop hash @loop from @up */
void px_stamp_branch(const struct px_stamp *s, const char *loop, const sip_via_t *up,
		     char out[PX_BRANCH_MAX])
{
	unsigned char rnd[NONCE_HEX / 2];
	char nonce[NONCE_HEX + 1], m[MAC_HEX + 1];

	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		memset(rnd, 0, sizeof(rnd));
	hex(rnd, sizeof(rnd), nonce);
	branch_mac(s, nonce, loop, up, m);
	snprintf(out, PX_BRANCH_MAX, PREFIX "%s%s%s", nonce, loop, m);
}

/* px_stamp_branch_check - @branch ours and bound to @up? its loop hash into @loop */
int px_stamp_branch_check(const struct px_stamp *s, const char *branch, const sip_via_t *up,
			  char loop[PX_LOOP_HEX + 1])
{
	const size_t plen = sizeof(PREFIX) - 1, n = NONCE_HEX + PX_LOOP_HEX + MAC_HEX;
	char nonce[NONCE_HEX + 1], m[MAC_HEX + 1];

	if (!branch || strncasecmp(branch, PREFIX, plen) || strlen(branch + plen) != n ||
	    !is_hex(branch + plen, n))
		return 0;
	memcpy(nonce, branch + plen, NONCE_HEX);
	nonce[NONCE_HEX] = '\0';
	memcpy(loop, branch + plen + NONCE_HEX, PX_LOOP_HEX);
	loop[PX_LOOP_HEX] = '\0';
	branch_mac(s, nonce, loop, up, m);
	return same(m, branch + plen + NONCE_HEX + PX_LOOP_HEX, MAC_HEX);
}
