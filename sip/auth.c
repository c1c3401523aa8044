/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * auth.c - who sipdance-proxy vouches for. Before a request is routed into
 * the federation, to a telephone number, bound by the registrar or signed,
 * its originator must be authenticated: a user of ours by Digest (RFC 3261
 * §22 with RFC 8760: SHA-256 offered first, MD5 for older phones) or by her
 * DANCE identity, a --trusted peer by its address, a peer proxy by the
 * federation's inbound rule (fed.c), or the request must belong to a dialog
 * we record-routed. Nonces are stateless (an HMAC over issue time, a random
 * salt, the realm and the peer's address), so they need no table to issue
 * and work on any node sharing --auth-secret; a bounded table of the nonces
 * used enforces nonce-count order against replay, and with --state each
 * count is claimed in the shared store too, so that a response accepted at
 * one node is a replay at the others. sofia-sip parses the
 * Authorization parameters (auth_digest_response_get); the response is
 * computed in digest.c over OpenSSL EVP and compared in constant time.
 */
#include "auth.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/core_names.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <sipdance/clientid.h>
#include <sipdance/stir.h>
#include <sipdance/store.h>
#include <sofia-sip/auth_digest.h>
#include <sofia-sip/sip.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_status.h>
#include <sofia-sip/sip_tag.h>
#include <sofia-sip/url.h>

#define MAX_TRUSTED 32
#define NONCE_TTL 300          /* seconds a nonce is accepted; then stale=true */
#define NONCE_SKEW 30          /* a nonce from the future (another node's clock) */
#define NONCE_HEX 64           /* hex of issue time (8), salt (8), MAC (16) */
#define MAX_CREDENTIALS 4      /* credentials of our realm looked at per request */
#define SEEN_BUCKETS 1024      /* used nonces: buckets of SEEN_WAYS entries */
#define SEEN_WAYS 4
#define NC_WINDOW 64           /* nonce counts accepted out of order below the highest */

struct net {
	int af;
	unsigned char addr[16];
	unsigned bits;
	char text[64];
};

/* A nonce that authenticated a request: its MAC, issue time and the counts seen. */
struct seen {
	unsigned char mac[16];
	int64_t issued;            /* 0: free */
	uint32_t maxnc;            /* highest nc; 0 for a nonce used without qop */
	uint64_t window;           /* bit i: maxnc - i was seen */
};

struct px_auth {
	su_home_t home[1];
	const struct px_conf *conf;
	px_self_fn *self;
	void *self_arg;
	struct px_users *users;
	int required;              /* --local-auth required */
	const char *alg[2];        /* --digest-algorithms, in challenge order */
	size_t nalg;
	struct net trusted[MAX_TRUSTED];
	size_t ntrusted;
	unsigned char key[32];     /* HMAC key of nonces and dialog tokens */
	EVP_MAC *hmac;
	struct seen seen[SEEN_BUCKETS][SEEN_WAYS];
	int64_t watermark;         /* nonces issued up to then and not remembered are stale */
	struct sipdance_store *store; /* --state: nonce counts claimed there too, or NULL */
	const char *node;
};

/* A Digest success whose nonce count is being claimed in the shared state. */
struct px_authq {
	struct px_auth *a;
	struct sipdance_store_op *op;
	const sip_t *sip;          /* the caller's, alive until @fn */
	struct sockaddr_storage peer;
	struct px_auth_result *r;
	px_auth_fn *fn;
	void *arg;
};

/* parse_net - one "ADDR[/BITS]" into @n; 0 or -1 */
static int parse_net(const char *s, size_t len, struct net *n)
{
	char buf[64], *slash, *end;
	unsigned long bits;
	unsigned max;

	if (len == 0 || len >= sizeof(buf))
		return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	snprintf(n->text, sizeof(n->text), "%s", buf);
	if ((slash = strchr(buf, '/')))
		*slash = '\0';
	if (inet_pton(AF_INET, buf, n->addr) == 1)
		n->af = AF_INET, max = 32;
	else if (inet_pton(AF_INET6, buf, n->addr) == 1)
		n->af = AF_INET6, max = 128;
	else
		return -1;
	n->bits = max;
	if (slash) {
		bits = strtoul(slash + 1, &end, 10);
		if (!slash[1] || *end || bits > max)
			return -1;
		n->bits = (unsigned)bits;
	}
	return 0;
}

/* parse_nets - "CIDR[,CIDR...]" into @out; the count, or -1 with the bad entry in why[] */
static int parse_nets(const char *list, struct net *out, size_t max, char *why, size_t whysize)
{
	size_t n = 0;

	for (const char *p = list; *p;) {
		size_t len;

		p += strspn(p, ", ");
		if (!(len = strcspn(p, ", ")))
			break;
		if (n == max || parse_net(p, len, &out[n])) {
			snprintf(why, whysize, "--trusted %.*s: want ADDRESS[/BITS][,...] (at most %zu)",
				 (int)len, p, max);
			return -1;
		}
		n++;
		p += len;
	}
	if (n == 0) {
		snprintf(why, whysize, "--trusted: no network given");
		return -1;
	}
	return (int)n;
}

/* peer_ip - the address bytes of @sa (IPv4-mapped IPv6 as IPv4); length, 0 if none */
static size_t peer_ip(const struct sockaddr *sa, unsigned char out[16], int *af)
{
	if (sa && sa->sa_family == AF_INET) {
		memcpy(out, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, 4);
		*af = AF_INET;
		return 4;
	}
	if (sa && sa->sa_family == AF_INET6) {
		const unsigned char *a = ((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr.s6_addr;
		static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

		if (!memcmp(a, mapped, 12)) {
			memcpy(out, a + 12, 4);
			*af = AF_INET;
			return 4;
		}
		memcpy(out, a, 16);
		*af = AF_INET6;
		return 16;
	}
	return 0;
}

/* trusted - the --trusted network @peer is in, or NULL */
static const struct net *trusted(const struct px_auth *a, const struct sockaddr *peer)
{
	unsigned char ip[16];
	int af = 0;
	size_t len = peer_ip(peer, ip, &af);

	for (size_t i = 0; len && i < a->ntrusted; i++) {
		const struct net *n = &a->trusted[i];
		unsigned full = n->bits / 8, rest = n->bits % 8;

		if (n->af != af || memcmp(ip, n->addr, full))
			continue;
		if (rest && ((ip[full] ^ n->addr[full]) & (0xff << (8 - rest)) & 0xff))
			continue;
		return n;
	}
	return NULL;
}

/* parse_algs - --digest-algorithms: SHA-256 and/or MD5, each once; the count, or -1 */
static int parse_algs(const char *list, const char *out[2])
{
	int n = 0;

	for (const char *p = list; *p;) {
		size_t len;
		const char *alg;

		p += strspn(p, ", ");
		if (!(len = strcspn(p, ", ")))
			break;
		alg = len == 7 && !strncasecmp(p, "SHA-256", 7) ? "SHA-256" :
		      len == 3 && !strncasecmp(p, "MD5", 3) ? "MD5" : NULL;
		if (!alg || n == 2 || (n == 1 && out[0] == alg))
			return -1;
		out[n++] = alg;
		p += len;
	}
	return n ? n : -1;
}

/* px_auth_conf_check - --local-auth, --trusted, --digest-algorithms */
int px_auth_conf_check(const struct px_conf *c, char *why, size_t whysize)
{
	struct net nets[MAX_TRUSTED];
	const char *algs[2];

	if (c->local_auth && strcmp(c->local_auth, "required") && strcmp(c->local_auth, "off")) {
		snprintf(why, whysize, "--local-auth %s: want required or off", c->local_auth);
		return EINVAL;
	}
	if (c->trusted && parse_nets(c->trusted, nets, MAX_TRUSTED, why, whysize) < 0)
		return EINVAL;
	if (c->digest_algorithms && parse_algs(c->digest_algorithms, algs) < 0) {
		snprintf(why, whysize, "--digest-algorithms %s: want SHA-256, MD5 or both, in the order "
			 "offered", c->digest_algorithms);
		return EINVAL;
	}
	return 0;
}

/* read_secret - the HMAC key: SHA-256 of --auth-secret's contents (at least 16 bytes) */
static int read_secret(struct px_auth *a, const char *file, char *why, size_t whysize)
{
	unsigned char buf[4096];
	unsigned int len = 0;
	size_t n;
	FILE *fp = fopen(file, "rb");

	if (!fp) {
		snprintf(why, whysize, "--auth-secret %s: %s", file, strerror(errno));
		return EINVAL;
	}
	n = fread(buf, 1, sizeof(buf), fp);
	fclose(fp);
	if (n < 16) {
		snprintf(why, whysize, "--auth-secret %s: want at least 16 random bytes", file);
		OPENSSL_cleanse(buf, sizeof(buf));
		return EINVAL;
	}
	EVP_Digest(buf, n, a->key, &len, EVP_sha256(), NULL);
	OPENSSL_cleanse(buf, sizeof(buf));
	return len == sizeof(a->key) ? 0 : EINVAL;
}

/* px_auth_alloc - the rule's state */
int px_auth_alloc(struct px_auth **out, const struct px_conf *c, px_self_fn *self,
		  void *self_arg, char *why, size_t whysize)
{
	struct px_auth *a = su_home_new(sizeof(*a));
	int n, err;

	*out = a;
	if (!a)
		return ENOMEM;
	a->conf = c;
	a->self = self;
	a->self_arg = self_arg;
	a->required = !c->local_auth || strcmp(c->local_auth, "off");
	a->nalg = (size_t)parse_algs(c->digest_algorithms ? c->digest_algorithms : "SHA-256,MD5", a->alg);
	if (!(a->hmac = EVP_MAC_fetch(NULL, "HMAC", NULL))) {
		snprintf(why, whysize, "OpenSSL has no HMAC");
		return EIO;
	}
	if (c->trusted) {
		if ((n = parse_nets(c->trusted, a->trusted, MAX_TRUSTED, why, whysize)) < 0)
			return EINVAL;
		a->ntrusted = (size_t)n;
	}
	if (c->auth_secret) {
		if ((err = read_secret(a, c->auth_secret, why, whysize)))
			return err;
	} else if (RAND_bytes(a->key, sizeof(a->key)) != 1) {
		snprintf(why, whysize, "no random bytes for the nonce key");
		return EIO;
	}
	if (c->users && (err = px_users_load(&a->users, c->users, why, whysize)))
		return err;
	if (!a->required)
		px_log(SIPDANCE_LOG_WARN, "auth", "--local-auth off: requests claiming to come from "
		       "%s are routed WITHOUT authenticating anyone: anybody can register any "
		       "address and call through this proxy as any user (nothing is signed)",
		       c->domain);
	for (size_t i = 0; i < a->ntrusted; i++)
		px_log(SIPDANCE_LOG_INFO, "auth", "trusted peers: %s (no authentication asked; over "
		       "UDP a source address can be forged)", a->trusted[i].text);
	if (a->users)
		px_log(SIPDANCE_LOG_INFO, "auth", "--users %s: %zu user(s)", c->users,
		       px_users_count(a->users));
	return 0;
}

/* px_auth_free - credentials forgotten */
void px_auth_free(struct px_auth *a)
{
	if (!a)
		return;
	px_users_free(a->users);
	EVP_MAC_free(a->hmac);
	OPENSSL_cleanse(a->key, sizeof(a->key));
	su_home_unref(a->home);
}

/* px_auth_reload - the users file again */
void px_auth_reload(struct px_auth *a)
{
	struct px_users *u;
	char why[512];

	if (!a || !a->conf->users)
		return;
	if (px_users_load(&u, a->conf->users, why, sizeof(why))) {
		px_log(SIPDANCE_LOG_ERR, "auth", "reload: %s (keeping the %zu user(s) loaded before)",
		       why, px_users_count(a->users));
		return;
	}
	px_users_free(a->users);
	a->users = u;
	px_log(SIPDANCE_LOG_INFO, "auth", "reload: --users %s: %zu user(s)", a->conf->users,
	       px_users_count(u));
}

/* px_canon_aor - user (percent-decoded) @ host, lowercase */
int px_canon_aor(const url_t *url, char *buf, size_t size)
{
	char user[256];
	size_t n;

	if (!url || !url->url_user || !url->url_host || !*url->url_user || !*url->url_host ||
	    strlen(url->url_user) >= sizeof(user))
		return EINVAL;
	n = url_unescape_to(user, url->url_user, sizeof(user) - 1);
	user[n] = '\0';
	if (strlen(user) != n)
		return EINVAL;
	if ((size_t)snprintf(buf, size, "%s@%s", user, url->url_host) >= size)
		return EINVAL;
	for (char *p = buf; *p; p++)
		*p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
	return 0;
}

/* mac - HMAC-SHA256 under our key of the @n parts, each followed by a NUL, truncated to @len */
static void mac(const struct px_auth *a, unsigned char *out, size_t len, const void *const *p,
		const size_t *plen, size_t n)
{
	unsigned char d[EVP_MAX_MD_SIZE];
	size_t dlen = 0;
	OSSL_PARAM params[] = { OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0),
				OSSL_PARAM_construct_end() };
	EVP_MAC_CTX *ctx = EVP_MAC_CTX_new(a->hmac);
	int ok = ctx && EVP_MAC_init(ctx, a->key, sizeof(a->key), params);

	for (size_t i = 0; ok && i < n; i++)
		ok = EVP_MAC_update(ctx, p[i], plen[i]) && EVP_MAC_update(ctx, (const unsigned char *)"", 1);
	ok = ok && EVP_MAC_final(ctx, d, &dlen, sizeof(d)) && dlen >= len;
	EVP_MAC_CTX_free(ctx);
	if (ok)
		memcpy(out, d, len);
	else
		RAND_bytes(out, (int)len); /* matches nothing: fails closed */
}

/* nonce_mac - the MAC of a nonce issued at @ts (8 bytes big-endian) with @salt to @peer */
static void nonce_mac(const struct px_auth *a, const unsigned char ts[8], const unsigned char salt[8],
		      const struct sockaddr *peer, unsigned char out[16])
{
	unsigned char ip[16];
	int af = 0;
	size_t iplen = peer_ip(peer, ip, &af);
	const void *p[] = { "nonce", ts, salt, a->conf->domain, ip };
	size_t l[] = { 5, 8, 8, strlen(a->conf->domain), iplen };

	mac(a, out, 16, p, l, 5);
}

/* hex - @n bytes as lowercase hex into @out (2n+1) */
static void hex(char *out, const unsigned char *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", b[i]);
}

/* unhex - 2n hex digits into @n bytes; 0 or -1 */
static int unhex(unsigned char *out, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned v = 0;

		for (int j = 0; j < 2; j++) {
			char c = s[2 * i + j];

			v <<= 4;
			if (c >= '0' && c <= '9')
				v |= (unsigned)(c - '0');
			else if (c >= 'a' && c <= 'f')
				v |= (unsigned)(c - 'a' + 10);
			else
				return -1;
		}
		out[i] = (unsigned char)v;
	}
	return 0;
}

/* nonce_make - a fresh nonce for @peer, NONCE_HEX hex digits */
static void nonce_make(const struct px_auth *a, const struct sockaddr *peer, char out[NONCE_HEX + 1])
{
	unsigned char b[32];
	uint64_t now = (uint64_t)time(NULL);

	for (int i = 0; i < 8; i++)
		b[i] = (unsigned char)(now >> (56 - 8 * i));
	if (RAND_bytes(b + 8, 8) != 1)
		memset(b + 8, 0, 8);
	nonce_mac(a, b, b + 8, peer, b + 16);
	hex(out, b, sizeof(b));
}

/* nonce_check - whether @nonce was issued by us (any node with our key) to
 * @peer: 0 with *issued and its MAC, or -1 */
static int nonce_check(const struct px_auth *a, const char *nonce, const struct sockaddr *peer,
		       int64_t *issued, unsigned char m[16])
{
	unsigned char b[32], want[16];
	uint64_t ts = 0;

	if (strlen(nonce) != NONCE_HEX || unhex(b, nonce, sizeof(b)))
		return -1;
	nonce_mac(a, b, b + 8, peer, want);
	if (CRYPTO_memcmp(want, b + 16, 16))
		return -1;
	for (int i = 0; i < 8; i++)
		ts = ts << 8 | b[i];
	*issued = (int64_t)ts;
	memcpy(m, b + 16, 16);
	return 0;
}

/* replayed - record nonce @m (issued @issued) used with count @nc (0: no qop);
 * 1 if that use was already seen, or cannot be told apart from one */
static int replayed(struct px_auth *a, const unsigned char m[16], int64_t issued, uint32_t nc,
		    int64_t now)
{
	struct seen *bucket = a->seen[(m[0] | m[1] << 8) % SEEN_BUCKETS], *e = NULL, *victim;

	/*
	 * The cases:
	 *  - a nonce used before: without qop never again; with qop, a count
	 *    above the highest seen, or one of the NC_WINDOW below it not yet
	 *    seen (requests may overtake each other), is accepted once;
	 *  - a nonce not remembered: new, unless it was issued no later than the
	 *    newest nonce ever evicted from the table (it may have been used):
	 *    then stale, and the client takes a fresh nonce.
	 */
	for (int i = 0; i < SEEN_WAYS; i++)
		if (bucket[i].issued && !CRYPTO_memcmp(bucket[i].mac, m, 16))
			e = &bucket[i];
	if (e) {
		if (nc == 0 || e->maxnc == 0)
			return 1;
		if (nc > e->maxnc) {
			e->window = nc - e->maxnc >= NC_WINDOW ? 1 : e->window << (nc - e->maxnc) | 1;
			e->maxnc = nc;
			return 0;
		}
		if (e->maxnc - nc >= NC_WINDOW || (e->window >> (e->maxnc - nc) & 1))
			return 1;
		e->window |= (uint64_t)1 << (e->maxnc - nc);
		return 0;
	}
	if (issued <= a->watermark)
		return 1;
	victim = &bucket[0];
	for (int i = 0; i < SEEN_WAYS; i++) {
		if (!bucket[i].issued || bucket[i].issued + NONCE_TTL < now) {
			victim = &bucket[i];
			break;
		}
		if (bucket[i].issued < victim->issued)
			victim = &bucket[i];
	}
	if (victim->issued && victim->issued + NONCE_TTL >= now && victim->issued > a->watermark)
		a->watermark = victim->issued;
	memcpy(victim->mac, m, 16);
	victim->issued = issued;
	victim->maxnc = nc;
	victim->window = 1;
	return 0;
}

enum dig { DIG_NONE, DIG_BAD, DIG_STALE, DIG_OK };

/* offered - whether @alg is one of --digest-algorithms */
static int offered(const struct px_auth *a, const char *alg)
{
	for (size_t i = 0; i < a->nalg; i++)
		if (!strcasecmp(alg, a->alg[i]))
			return 1;
	return 0;
}

/* one_credential - judge one Digest credential of our realm; *u and why[] set */
static enum dig one_credential(struct px_auth *a, const sip_t *sip, const auth_response_t *ar,
			       const struct sockaddr *peer, const struct px_user **u, const char **alg,
			       char *claim, char *why, size_t whysize)
{
	char want[PX_DIGEST_HEX], got[PX_DIGEST_HEX];
	unsigned char m[16];
	su_home_t home[1] = { SU_HOME_INIT(home) };
	const char *ha1;
	url_t *du;
	int64_t issued = 0, now = (int64_t)time(NULL);
	unsigned long nc = 0;
	size_t hlen;
	char *end;
	int same;

	*alg = "?";
	if (!ar->ar_username || !ar->ar_nonce || !ar->ar_uri || !ar->ar_response) {
		snprintf(why, whysize, "incomplete credentials (username, nonce, uri, response)");
		return DIG_BAD;
	}
	if (!offered(a, ar->ar_algorithm ? ar->ar_algorithm : "MD5")) {
		snprintf(why, whysize, "algorithm %.20s was not offered", ar->ar_algorithm);
		return DIG_BAD;
	}
	/* a constant, not the parsed value: the caller uses it after the parse is freed */
	*alg = ar->ar_algorithm && !strcasecmp(ar->ar_algorithm, "SHA-256") ? "SHA-256" : "MD5";
	if (ar->ar_qop && strcasecmp(ar->ar_qop, "auth")) {
		snprintf(why, whysize, "qop %.20s was not offered (auth)", ar->ar_qop);
		return DIG_BAD;
	}
	if (ar->ar_qop) {
		/* exactly 8 hex digits: strtoul alone would take a sign or white space */
		nc = ar->ar_nc && strlen(ar->ar_nc) == 8 && strspn(ar->ar_nc, "0123456789abcdefABCDEF") == 8 ?
			strtoul(ar->ar_nc, &end, 16) : 0;
		if (nc == 0 || !ar->ar_cnonce || !*ar->ar_cnonce) {
			snprintf(why, whysize, "qop=auth without a valid nc (8 hex digits, not 0) and cnonce");
			return DIG_BAD;
		}
	}
	/* the digest uri is the Request-URI (RFC 7616 §3.4.6), or this proxy itself:
	 * clients that take their outbound proxy for the protected resource (SIPp) */
	du = url_make(home, ar->ar_uri);
	same = du && (url_cmp_all(du, sip->sip_request->rq_url) == 0 ||
		      (!du->url_user && a->self(a->self_arg, du)));
	su_home_deinit(home);
	if (!same) {
		snprintf(why, whysize, "digest uri %.100s is neither the Request-URI nor this proxy",
			 ar->ar_uri);
		return DIG_BAD;
	}
	if (nonce_check(a, ar->ar_nonce, peer, &issued, m)) {
		snprintf(why, whysize, "a nonce this proxy did not issue to %s",
			 px_addr_str(peer, (char[64]){ 0 }, 64));
		return DIG_BAD;
	}
	if (issued > now + NONCE_SKEW) {
		snprintf(why, whysize, "a nonce issued in the future");
		return DIG_BAD;
	}
	if (!(*u = px_users_find(a->users, ar->ar_username, a->conf->domain))) {
		snprintf(why, whysize, "unknown user \"%.60s\"", ar->ar_username);
		return DIG_BAD;
	}
	if (!(ha1 = px_users_ha1(*u, *alg))) {
		snprintf(why, whysize, "user %s has no %s credentials", px_users_name(*u), *alg);
		return DIG_BAD;
	}
	hlen = px_digest_size(*alg);
	if (strlen(ar->ar_response) != hlen ||
	    px_digest_response(want, *alg, ha1, ar->ar_nonce, ar->ar_nc, ar->ar_cnonce, ar->ar_qop,
			       sip->sip_request->rq_method_name, ar->ar_uri)) {
		snprintf(why, whysize, "wrong response (password)");
		return DIG_BAD;
	}
	for (size_t i = 0; i <= hlen; i++)
		got[i] = (char)(ar->ar_response[i] >= 'A' && ar->ar_response[i] <= 'F' ?
				ar->ar_response[i] + 32 : ar->ar_response[i]);
	same = !CRYPTO_memcmp(want, got, hlen);
	OPENSSL_cleanse(want, sizeof(want));
	if (!same) {
		snprintf(why, whysize, "wrong response (password)");
		return DIG_BAD;
	}
	if (issued + NONCE_TTL < now) {
		snprintf(why, whysize, "nonce expired (%lld s old)", (long long)(now - issued));
		return DIG_STALE;
	}
	if (replayed(a, m, issued, (uint32_t)nc, now)) {
		snprintf(why, whysize, ar->ar_qop ? "nonce count %s replayed" :
			 "nonce already used (no qop: one request per nonce)", ar->ar_nc);
		return DIG_STALE;
	}
	/* what a node sharing the state claims before it believes this use is the first */
	memcpy(claim, "nc:", 3);
	hex(claim + 3, m, 16);
	snprintf(claim + 35, PX_AUTH_CLAIM - 35, ":%08lx", nc);
	return DIG_OK;
}

/* digest - the Digest credentials of our realm in @au (Authorization or
 * Proxy-Authorization): DIG_OK with *u, or why not */
static enum dig digest(struct px_auth *a, const sip_t *sip, const msg_auth_t *au,
		       const struct sockaddr *peer, const struct px_user **u, const char **alg,
		       char *claim, char *why, size_t whysize)
{
	enum dig best = DIG_NONE, d;
	char w[300];
	int looked = 0;

	snprintf(why, whysize, "no credentials for realm %s", a->conf->domain);
	for (; au && looked < MAX_CREDENTIALS; au = au->au_next) {
		su_home_t home[1] = { SU_HOME_INIT(home) };
		auth_response_t ar = { .ar_size = sizeof(ar) };

		if (!au->au_scheme || strcasecmp(au->au_scheme, "Digest") || !au->au_params)
			continue;
		if (auth_digest_response_get(home, &ar, au->au_params) < 0 || !ar.ar_realm ||
		    strcmp(ar.ar_realm, a->conf->domain)) {
			su_home_deinit(home);
			continue;
		}
		looked++;
		w[0] = '\0';
		d = one_credential(a, sip, &ar, peer, u, alg, claim, w, sizeof(w));
		su_home_deinit(home);
		if (d >= best) {
			best = d;
			snprintf(why, whysize, "%s", w);
		}
		if (d == DIG_OK)
			break;
	}
	return best;
}

/* is_numeric - an IP literal host */
static int is_numeric(const char *host)
{
	unsigned char buf[16];

	return host && (host[0] == '[' || inet_pton(AF_INET, host, buf) == 1);
}

/* from_tn - the canonical telephone number of @url (its user part
 * percent-decoded), or "" */
static void from_tn(const url_t *url, char tn[SIPDANCE_PASSPORT_MAX_TN])
{
	char buf[600], user[256];
	size_t n;

	tn[0] = '\0';
	if (url->url_type == url_tel) {
		if (url->url_host && snprintf(buf, sizeof(buf), "tel:%s", url->url_host) < (int)sizeof(buf))
			sipdance_passport_tn(buf, tn, NULL);
		return;
	}
	if (!url->url_user || strlen(url->url_user) >= sizeof(user))
		return;
	n = url_unescape_to(user, url->url_user, sizeof(user) - 1);
	user[n] = '\0';
	if (strlen(user) == n && snprintf(buf, sizeof(buf), "sip:%s@x", user) < (int)sizeof(buf) &&
	    sipdance_passport_tn(buf, tn, NULL))
		tn[0] = '\0';
}

/* decided - the log line of a decision and the verdict into @r */
static void decided(struct px_auth_result *r, enum px_auth_verdict v, int status, const sip_t *sip,
		    const struct sockaddr *peer, const char *user, const char *rule, const char *why)
{
	static const char *const name[] = { "REFUSE", "CHALLENGE", "FEDERATION", "MATCH", "DROP" };
	char p[64];

	r->verdict = v;
	r->status = status;
	if (why != r->why)
		snprintf(r->why, sizeof(r->why), "%s", why);
	px_metrics_decision(rule, v == PX_AUTH_CHALLENGE && r->stale ? "STALE" : name[v]);
	px_log(v == PX_AUTH_ROUTE || (v == PX_AUTH_CHALLENGE && !r->stale &&
				      !strcmp(r->why, "authentication required")) ?
	       SIPDANCE_LOG_INFO : SIPDANCE_LOG_WARN, "auth",
	       "peer=%s user=%s method=%s rule=%s verdict=%s%s (%s)", px_addr_str(peer, p, sizeof(p)),
	       user && *user ? user : "?", sip->sip_request->rq_method_name, rule,
	       v == PX_AUTH_CHALLENGE && r->stale ? "STALE" : name[v],
	       !r->number || !r->attest ? "" : r->attest == 'A' ? " attest=A" :
	       r->attest == 'B' ? " attest=B" : " attest=C", r->why);
}

/* identity - whether the user @uaor (users-file entry @u, may be NULL),
 * authenticated by @how, may send @sip: From (To for REGISTER) must be her
 * address, or a number of hers; an unassigned number gets attestation B */
static void identity(struct px_auth *a, const sip_t *sip, const struct sockaddr *peer,
		     const char *uaor, const struct px_user *u, const char *how,
		     struct px_auth_result *r)
{
	int reg = sip->sip_request->rq_method == sip_method_register;
	const url_t *url = reg ? sip->sip_to->a_url : sip->sip_from->a_url;
	const char *which = reg ? "To" : "From", *rule = !strncmp(how, "Digest", 6) ? "digest" :
		"dane-clientid";
	const struct px_user *owner;
	char addr[300] = "", tn[SIPDANCE_PASSPORT_MAX_TN] = "", shown[300];

	/*
	 * The cases (the user authenticated as @uaor):
	 *  - the address (To of a REGISTER, From otherwise) is hers, compared
	 *    percent-decoded and in lowercase: MATCH; attestation A if it is a
	 *    number she is entitled to, B otherwise, unless the users file gives
	 *    that number to another user (an address spelled as a number, a
	 *    DANCE user of another client domain): as below, 403;
	 *  - REGISTER for any other address: 403;
	 *  - From a telephone number (tel:, user=phone, digits; any host or none):
	 *    one of her numbers (users file, "*" for --stir-orig-range): MATCH, A;
	 *    a number the users file gives to another user: 403; a number of
	 *    nobody's: MATCH with B (an authenticated caller, a number not
	 *    verified: ATIS-1000074 partial attestation);
	 *  - any other From (another user, no host, an IP literal): 403.
	 */
	snprintf(r->user, sizeof(r->user), "%s", uaor);
	r->dance = !strcmp(rule, "dane-clientid");
	px_canon_aor(url, addr, sizeof(addr));
	if (!reg)
		from_tn(url, tn);
	r->number = tn[0] != '\0';
	snprintf(shown, sizeof(shown), "%s", addr[0] ? addr : "(no user@host)");
	if (addr[0] && !strcmp(addr, uaor) &&
	    !(tn[0] && !px_users_entitled(u, tn, a->conf->stir_orig_range) &&
	      px_users_owner(a->users, a->conf->domain, tn, u))) {
		r->origin = PX_ORIGIN_USER;
		r->attest = tn[0] && px_users_entitled(u, tn, a->conf->stir_orig_range) ? 'A' : 'B';
		snprintf(r->why, sizeof(r->why), "%s %s is the user authenticated by %s", which, shown, how);
		decided(r, PX_AUTH_ROUTE, 0, sip, peer, uaor, rule, r->why);
		return;
	}
	if (tn[0] && px_users_entitled(u, tn, a->conf->stir_orig_range)) {
		r->origin = PX_ORIGIN_USER;
		r->attest = 'A';
		snprintf(r->why, sizeof(r->why), "From number %s is one of %s's", tn, uaor);
		decided(r, PX_AUTH_ROUTE, 0, sip, peer, uaor, rule, r->why);
		return;
	}
	if (tn[0] && !(owner = px_users_owner(a->users, a->conf->domain, tn, u))) {
		r->origin = PX_ORIGIN_USER;
		r->attest = 'B';
		snprintf(r->why, sizeof(r->why), "From number %s is nobody's: not entitled, partial "
			 "attestation", tn);
		decided(r, PX_AUTH_ROUTE, 0, sip, peer, uaor, rule, r->why);
		return;
	}
	if (tn[0])
		snprintf(r->why, sizeof(r->why), "identity mismatch: From number %s belongs to another "
			 "user, not to %s (%s)", tn, uaor, how);
	else if (!strncmp(how, "Digest", 6))
		snprintf(r->why, sizeof(r->why), "identity mismatch: %s %s is not %s, the user "
			 "authenticated by %s", which, shown, uaor, how);
	else
		snprintf(r->why, sizeof(r->why), "identity mismatch: %s %.80s is not the user authenticated "
			 "by dane_clientid (%.240s)", which, shown, how);
	r->attest = 0;
	decided(r, PX_AUTH_REFUSE, 403, sip, peer, uaor, rule, r->why);
}

/* dance - the DANCE identity of TLS connection @conn (from @peer): 0 none (no
 * name, or a host's: a peer proxy), 1 decided into @r */
static int dance(struct px_auth *a, const sip_t *sip, const struct sockaddr *peer, SSL *conn,
		 struct px_auth_result *r)
{
	struct sipdance_verdict v = { .result = SIPDANCE_INDETERMINATE };
	enum sipdance_clientid_kind kind;
	char name[SIPDANCE_CLIENTID_MAX + 1], owner[SIPDANCE_CLIENTID_MAX + 1], addr[300] = "";
	char how[SIPDANCE_CLIENTID_MAX + 60];
	const char *domain, *uwhy = NULL;
	const struct px_user *u = NULL;
	int presented = 0, reg = sip->sip_request->rq_method == sip_method_register;
	int required = a->conf->client_auth && !strcmp(a->conf->client_auth, "required");
	const url_t *url = reg ? sip->sip_to->a_url : sip->sip_from->a_url;

	/*
	 * The cases:
	 *  - no ClientName on the connection (plain TLS, TLS 1.2, no
	 *    certificate): no DANCE identity, the other rules decide;
	 *  - a ClientName presented but not authenticated (no TLSA, insecure,
	 *    outside --client-domains; a key that does not match its TLSA, or a
	 *    failed lookup, when it was looked up after the handshake: a chain
	 *    that does not match is refused in the handshake): under
	 *    --client-auth required, any request is refused (the handshake would
	 *    have been, had the lookup been made in it); otherwise a REGISTER, or
	 *    a request whose From is in our domain, is refused (a failed identity
	 *    is no identity), and a peer proxy's foreign From goes on to the
	 *    federation rule;
	 *  - an authenticated host name (a peer proxy): the federation rule;
	 *  - an authenticated user name: she speaks for her address only
	 *    (identity()); her address is the To or From that hashes to the
	 *    name, or, for a number in From, the users-file user of our domain
	 *    whose address does.
	 */
	if (!px_hook_client_name(conn, name, sizeof(name), &v, &presented)) {
		if (!presented || (!reg && !required && (!sip->sip_from->a_url->url_host ||
							 strcasecmp(sip->sip_from->a_url->url_host,
								    a->conf->domain))))
			return 0;
		snprintf(r->why, sizeof(r->why), "client not authenticated: dane_clientid %s (%s)",
			 sipdance_result_str(v.result), v.reason);
		decided(r, PX_AUTH_REFUSE, 403, sip, peer, NULL, "dane-clientid", r->why);
		return 1;
	}
	if (sipdance_clientid_check(name, &kind, &domain, NULL) || kind != SIPDANCE_CLIENTID_USER)
		return 0;
	snprintf(how, sizeof(how), "%.16s..._user.%s via=%s", name, domain, px_hook_client_via(conn));
	if (px_canon_aor(url, addr, sizeof(addr)) ||
	    sipdance_clientid_user_name(addr, owner, sizeof(owner), &uwhy) || strcasecmp(owner, name))
		addr[0] = '\0';
	if (addr[0])
		u = px_users_find_aor(a->users, addr);
	else if (!reg && (u = px_users_find_clientid(a->users, a->conf->domain, name)))
		px_users_aor(u, addr, sizeof(addr));
	if (!addr[0]) {
		px_canon_aor(url, addr, sizeof(addr));
		snprintf(r->why, sizeof(r->why), "identity mismatch: %s %.80s is not the user authenticated "
			 "by dane_clientid (%.240s)", reg ? "To" : "From", addr[0] ? addr : "(no user@host)", how);
		decided(r, PX_AUTH_REFUSE, 403, sip, peer, addr[0] ? addr : NULL, "dane-clientid", r->why);
		return 1;
	}
	identity(a, sip, peer, addr, u, how, r);
	return 1;
}

/* challenge_for - 401 for a REGISTER (WWW-Authenticate), 407 otherwise */
static void challenge(struct px_auth_result *r, const sip_t *sip, const struct sockaddr *peer,
		      enum dig d, const char *user, const char *rule, const char *detail)
{
	int reg = sip->sip_request->rq_method == sip_method_register;

	r->stale = d == DIG_STALE;
	snprintf(r->why, sizeof(r->why), "%s", detail);
	decided(r, PX_AUTH_CHALLENGE, reg ? 401 : 407, sip, peer, user, rule, r->why);
}

/* px_auth_check - the rule */
void px_auth_check(struct px_auth *a, const sip_t *sip, const struct sockaddr *peer, const char *proto,
		   SSL *conn, int dialog, struct px_auth_result *r)
{
	sip_method_t m = sip->sip_request->rq_method;
	int reg = m == sip_method_register;
	const url_t *from = sip->sip_from->a_url, *to = sip->sip_to->a_url;
	const struct px_user *u = NULL;
	const struct net *n;
	const char *alg = "", *host = from->url_host;
	char why[300], aor[300], to_aor[300];
	enum dig d;

	memset(r, 0, sizeof(*r));
	/*
	 * Who may have a request routed, signed or bound, case by case (the first
	 * that applies decides):
	 *  1. Inside a dialog (To tag) with our dialog token in its Route (an
	 *     HMAC over its Call-ID, a tag and the From and To addresses of the
	 *     request that set it up): it follows that dialog (rule dialog).
	 *     Without the token, or from another address, it is judged like any
	 *     other request. Never a REGISTER: it is no dialog's (RFC 3261
	 *     §10.2), and speaks for its To, the other end of the dialog
	 *     whose token it would carry (a caller's To, a callee's caller).
	 *  2. REGISTER whose To is not in our domain: 403 (bindings are only
	 *     for our users).
	 *  3. A TLS client with a DANCE user identity speaks for her address
	 *     only (dance(), identity()); a failed one is refused.
	 *  4. OPTIONS for the proxy itself (no user, no Route): answered here,
	 *     nothing is routed.
	 *  5. A source address in --trusted (a PBX or gateway of ours): routed
	 *     whatever it claims (rule trusted, STIR attestation C). Never a
	 *     REGISTER: a binding is its user's alone, and one UDP datagram
	 *     forged from that address would bind anyone's address to anyone.
	 *  6. REGISTER: Digest (401, WWW-Authenticate) as the user of its To;
	 *     another authenticated user: 403 (identity()).
	 *  7. From a domain name that is not ours: the federation rule (a TLS
	 *     client authenticated for that domain), decided by the caller.
	 *  8. Everything else claims to be ours (From our domain, a number, no
	 *     host, an IP literal) and needs a user: Digest (407,
	 *     Proxy-Authenticate) and identity(). ACK cannot be challenged: an
	 *     ACK nothing vouches for is dropped; CANCEL neither: 403.
	 *  With --local-auth off, 6 and 8 route without authenticating (logged,
	 *  no attestation: never signed).
	 */
	if (dialog && sip->sip_to->a_tag && !reg) {
		r->origin = PX_ORIGIN_DIALOG;
		decided(r, PX_AUTH_ROUTE, 0, sip, peer, NULL, "dialog", "our dialog token: inside a "
			"dialog this proxy routed");
		return;
	}
	if (reg && (px_canon_aor(to, to_aor, sizeof(to_aor)) || strcasecmp(to->url_host, a->conf->domain))) {
		decided(r, PX_AUTH_REFUSE, 403, sip, peer, NULL, "register", "REGISTER for an address "
			"outside our domain: bindings are only for its users");
		return;
	}
	if (conn && dance(a, sip, peer, conn, r))
		return;
	if (m == sip_method_options && !sip->sip_request->rq_url->url_user && !sip->sip_route &&
	    sip->sip_request->rq_url->url_host &&
	    !strcasecmp(sip->sip_request->rq_url->url_host, a->conf->domain)) {
		r->verdict = PX_AUTH_ROUTE;
		return;
	}
	if (!reg && (n = trusted(a, peer))) {
		char tn[SIPDANCE_PASSPORT_MAX_TN];

		from_tn(from, tn);
		r->origin = PX_ORIGIN_TRUSTED;
		r->attest = 'C';
		r->number = tn[0] != '\0';
		snprintf(why, sizeof(why), "trusted network %s, over %s%s", n->text, proto,
			 strcmp(proto, "udp") ? "" : " (the source address is not authenticated)");
		decided(r, PX_AUTH_ROUTE, 0, sip, peer, NULL, "trusted", why);
		return;
	}
	if (!reg && host && !is_numeric(host) && strcasecmp(host, a->conf->domain)) {
		r->verdict = PX_AUTH_FEDERATION;
		return;
	}
	if (!a->required) {
		decided(r, PX_AUTH_ROUTE, 0, sip, peer, NULL, "local-auth-off", "--local-auth off: "
			"NOT authenticated");
		return;
	}
	if (m == sip_method_ack) {
		decided(r, PX_AUTH_DROP, 0, sip, peer, NULL, "digest", "an ACK outside any dialog of "
			"ours cannot be challenged: dropped");
		return;
	}
	if (m == sip_method_cancel) {
		decided(r, PX_AUTH_REFUSE, 403, sip, peer, NULL, "digest", "CANCEL of no request in "
			"progress here (CANCEL cannot be challenged)");
		return;
	}
	d = digest(a, sip, reg ? sip->sip_authorization : sip->sip_proxy_authorization, peer, &u, &alg,
		   r->claim, why, sizeof(why));
	if (d != DIG_OK) {
		if (u)
			px_users_aor(u, aor, sizeof(aor));
		challenge(r, sip, peer, d, u ? aor : NULL, "digest", d == DIG_NONE ?
			  "authentication required" : why);
		return;
	}
	px_users_aor(u, aor, sizeof(aor));
	snprintf(why, sizeof(why), "Digest %s", alg);
	identity(a, sip, peer, aor, u, why, r);
}

/* px_auth_set_store - claim nonce counts in @store as @node (--state) */
void px_auth_set_store(struct px_auth *a, struct sipdance_store *store, const char *node)
{
	a->store = store;
	a->node = node;
}

/* on_claimed - the shared state's answer for a Digest success */
static void on_claimed(void *arg, enum sipdance_store_status st, const char *value, size_t len,
		       const char *why)
{
	struct px_authq *q = arg;
	struct px_auth_result *r = q->r;
	const struct sockaddr *peer = (const struct sockaddr *)&q->peer;
	char text[300];

	(void)value;
	(void)len;
	/*
	 * The table of used nonces is this node's; a response seen at another
	 * node is claimed here too (nonce MAC and count, for the nonce's
	 * lifetime), the cases:
	 *  - OK: the first use of that count anywhere: the verdict stands;
	 *  - TAKEN: that response was accepted before, at this node or another
	 *    (someone replays a captured request): challenged again, stale=true,
	 *    as a replay here is (the client takes a fresh nonce);
	 *  - ERROR: whether it was used cannot be told: 503 with the reason,
	 *    never a silent accept (--state-fail open: the store answers OK).
	 */
	q->op = NULL;
	if (st == SIPDANCE_STORE_TAKEN) {
		challenge(r, q->sip, peer, DIG_STALE, r->user, "digest", "nonce count replayed (used "
			  "at this node or another)");
	} else if (st != SIPDANCE_STORE_OK) {
		snprintf(text, sizeof(text), "digest state unavailable: %s", why);
		decided(r, PX_AUTH_REFUSE, 503, q->sip, peer, r->user, "digest", text);
	}
	r->claim[0] = '\0';
	q->fn(q->arg);
	free(q);
}

/* px_auth_claim - the nonce count of @r's Digest success claimed in the shared state */
int px_auth_claim(struct px_auth *a, const sip_t *sip, const struct sockaddr *peer, struct px_auth_result *r,
		  px_auth_fn *fn, void *arg, struct px_authq **out)
{
	struct px_authq *q;

	*out = NULL;
	if (!a->store || r->verdict != PX_AUTH_ROUTE || !r->claim[0])
		return 0;
	if (!(q = calloc(1, sizeof(*q)))) {
		decided(r, PX_AUTH_REFUSE, 500, sip, peer, r->user, "digest", "out of memory");
		return 0;
	}
	*q = (struct px_authq){ .a = a, .sip = sip, .r = r, .fn = fn, .arg = arg };
	memcpy(&q->peer, peer, peer->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) :
	       sizeof(struct sockaddr_in));
	if (sipdance_store_claim(a->store, r->claim, a->node, strlen(a->node), NONCE_TTL + NONCE_SKEW,
				 on_claimed, q, &q->op)) {
		free(q);
		decided(r, PX_AUTH_REFUSE, 500, sip, peer, r->user, "digest", "out of memory");
		return 0;
	}
	*out = q;
	return 1;
}

/* px_auth_claim_cancel - @fn will not run; NULL ok */
void px_auth_claim_cancel(struct px_authq *q)
{
	if (q) {
		sipdance_store_cancel(q->a->store, q->op);
		free(q);
	}
}

/* px_auth_reply - the 401/407: one challenge per algorithm in --digest-algorithms
 * order (SHA-256 first by default: RFC 8760 §2.4), one nonce for all; only the
 * algorithms the claimed user (To of a REGISTER, else From: her address, or
 * the user a number in it belongs to) has an HA1 for, so
 * that a phone that fails on any challenge it cannot compute (sofia-sip 1.12,
 * baresip 1.0: MD5 only) gets the one it can when the users file gives it MD5 only */
void px_auth_reply(struct px_auth *a, nta_incoming_t *irq, const sip_t *sip,
		   const struct sockaddr *peer, const struct px_auth_result *r)
{
	char nonce[NONCE_HEX + 1], c[2][300], reason[200], aor[300], tn[SIPDANCE_PASSPORT_MAX_TN];
	const struct px_user *u = NULL;
	const url_t *who = r->status == 401 ? sip->sip_to->a_url : sip->sip_from->a_url;
	int www = r->status == 401;
	size_t n = 0;

	if (!px_canon_aor(who, aor, sizeof(aor)))
		u = px_users_find_aor(a->users, aor);
	if (!u && !www && (from_tn(who, tn), tn[0]))
		u = px_users_owner(a->users, a->conf->domain, tn, NULL);
	nonce_make(a, peer, nonce);
	for (int pass = 0; pass < 2 && !n; pass++)
		for (size_t i = 0; i < a->nalg; i++)
			if (pass || !u || px_users_ha1(u, a->alg[i]))
				snprintf(c[n++], sizeof(c[0]), "Digest realm=\"%s\", nonce=\"%s\", algorithm=%s, "
					 "qop=\"auth\"%s", a->conf->domain, nonce, a->alg[i],
					 r->stale ? ", stale=true" : "");
	snprintf(reason, sizeof(reason), "SIP;cause=%d;text=\"%s\"", r->status, r->stale ?
		 "stale nonce" : "authentication required");
	nta_incoming_treply(irq, r->status, www ? "Unauthorized" : "Proxy Authentication Required",
			    TAG_IF(www, SIPTAG_WWW_AUTHENTICATE_STR(c[0])),
			    TAG_IF(www && n > 1, SIPTAG_WWW_AUTHENTICATE_STR(c[1])),
			    TAG_IF(!www, SIPTAG_PROXY_AUTHENTICATE_STR(c[0])),
			    TAG_IF(!www && n > 1, SIPTAG_PROXY_AUTHENTICATE_STR(c[1])),
			    SIPTAG_REASON_STR(reason), TAG_END());
}

/* ours - whether credentials @au are for our realm */
static int ours(const struct px_auth *a, const msg_auth_t *au)
{
	su_home_t home[1] = { SU_HOME_INIT(home) };
	auth_response_t ar = { .ar_size = sizeof(ar) };
	int yes = au->au_params && auth_digest_response_get(home, &ar, au->au_params) >= 0 &&
		ar.ar_realm && !strcmp(ar.ar_realm, a->conf->domain);

	su_home_deinit(home);
	return yes;
}

/* drop_ours - the credentials for our realm in list @au removed from @msg */
static void drop_ours(const struct px_auth *a, msg_t *msg, sip_t *sip, msg_auth_t *au)
{
	for (msg_auth_t *next; au; au = next) {
		next = au->au_next;
		if (ours(a, au))
			sip_header_remove(msg, sip, (sip_header_t *)au);
	}
}

/* is_identity - a header a gateway or phone shows as the caller */
static int is_identity(const char *name)
{
	return name && (!strcasecmp(name, "P-Asserted-Identity") || !strcasecmp(name, "P-Preferred-Identity") ||
			!strcasecmp(name, "Remote-Party-ID"));
}

/* px_auth_forward - credentials of our realm out; P-Asserted-Identity by origin */
void px_auth_forward(struct px_auth *a, msg_t *msg, sip_t *sip, const struct px_auth_result *r)
{
	char paid[400];
	msg_header_t *h;

	/*
	 * What leaves with the request:
	 *  - Proxy-Authorization for our realm never (RFC 3261 §22.3), nor
	 *    Authorization for it: a next hop that challenged in our realm's
	 *    name (401 with a nonce we issued to it) would get the user's
	 *    response and be her here; other realms' untouched;
	 *  - P-Asserted-Identity (RFC 3325) only as set by someone trusted: a
	 *    user's own is removed and the address authenticated here put in
	 *    its place; an unauthenticated request's (--local-auth off) and one
	 *    inside a dialog (whoever of its two ends sent it) are removed; a
	 *    trusted peer's stays, a peer proxy's for its own domain only
	 *    (px_auth_forward_peer). The other headers a
	 *    gateway shows as the caller (P-Preferred-Identity, Remote-Party-ID)
	 *    go with it.
	 */
	drop_ours(a, msg, sip, sip->sip_proxy_authorization);
	drop_ours(a, msg, sip, sip->sip_authorization);
	if (r->origin != PX_ORIGIN_USER && r->origin != PX_ORIGIN_DIALOG &&
	    !(r->origin == PX_ORIGIN_NONE && !a->required))
		return;
	for (sip_unknown_t *u = sip->sip_unknown, *next; u; u = next) {
		next = u->un_next;
		if (is_identity(u->un_name))
			sip_header_remove(msg, sip, (sip_header_t *)u);
	}
	if (r->origin != PX_ORIGIN_USER || !r->user[0])
		return;
	snprintf(paid, sizeof(paid), "P-Asserted-Identity: <sip:%s>", r->user);
	if ((h = msg_header_make(msg_home(msg), sip_unknown_class, paid)))
		sip_header_insert(msg, sip, (sip_header_t *)h);
}

/* in_domain - whether every address in identity header value @v is a SIP URI
 * of @domain that is not a telephone number */
static int in_domain(const char *v, const char *domain)
{
	su_home_t home[1] = { SU_HOME_INIT(home) };
	sip_contact_t *c = v ? sip_contact_make(home, v) : NULL;
	char tn[SIPDANCE_PASSPORT_MAX_TN];
	int ok = c != NULL;

	for (; ok && c; c = c->m_next)
		ok = (c->m_url->url_type == url_sip || c->m_url->url_type == url_sips) && c->m_url->url_host &&
		     domain && !strcasecmp(c->m_url->url_host, domain) && (from_tn(c->m_url, tn), !tn[0]);
	su_home_deinit(home);
	return ok;
}

/* px_auth_forward_response - a response's identities: a peer proxy's of its own domain only */
void px_auth_forward_response(msg_t *msg, sip_t *sip, const char *domain)
{
	/*
	 * A response is relayed with the identity headers of whoever answered
	 * (RFC 3325 §5: only from inside the trust domain), case by case:
	 *  - a peer proxy authenticated for @domain: those naming its own users,
	 *    as in its requests (px_auth_forward_peer);
	 *  - anyone else (@domain NULL: a phone, an address, a stray 2xx):
	 *    none; nothing authenticated a response, and the phone or peer it
	 *    reaches would show its P-Asserted-Identity as vouched for by us.
	 */
	for (sip_unknown_t *u = sip->sip_unknown, *next; u; u = next) {
		next = u->un_next;
		if (!is_identity(u->un_name) || in_domain(u->un_value, domain))
			continue;
		px_log(SIPDANCE_LOG_INFO, "auth", "%u response%s%s: %s %.100s removed (no one vouches for "
		       "it)", sip->sip_status ? sip->sip_status->st_status : 0, domain ? " from domain=" : "",
		       domain ? domain : "", u->un_name, u->un_value ? u->un_value : "");
		sip_header_remove(msg, sip, (sip_header_t *)u);
	}
}

/* px_auth_forward_peer - a peer proxy's request: identities of other domains out */
void px_auth_forward_peer(msg_t *msg, sip_t *sip, const char *domain)
{
	/*
	 * A peer proxy authenticated for @domain speaks for its own users
	 * only: a P-Asserted-Identity, P-Preferred-Identity or Remote-Party-ID
	 * naming anyone else (a user of ours, of a third domain, a telephone
	 * number: numbers are vouched for by STIR) is removed, one log line each.
	 * A number is one at its own domain too (sip:+1...@domain;user=phone, or
	 * a user part of digits, percent-encoded or not: what STIR verifies in
	 * From), else it would reach a phone that shows it unverified.
	 */
	for (sip_unknown_t *u = sip->sip_unknown, *next; u; u = next) {
		next = u->un_next;
		if (!is_identity(u->un_name) || in_domain(u->un_value, domain))
			continue;
		px_log(SIPDANCE_LOG_WARN, "auth", "domain=%s: %s %.100s removed (a peer proxy of %s "
		       "speaks for its own users only)", domain, u->un_name, u->un_value ? u->un_value : "",
		       domain);
		sip_header_remove(msg, sip, (sip_header_t *)u);
	}
}

/* party - one end of a dialog as the token binds it: its address, lowercase
 * (px_canon_aor; user@host as written when that has no form), any host of
 * ours spelled as our domain; one too long for @buf (at least 66 bytes) as
 * "#" and the SHA-256 of user@host as written, never cut short: a cut would
 * make two addresses one (a callee reached at a user part of 300 characters
 * at its own address spoke as that user at any host, ours included) */
static void party(const struct px_auth *a, const url_t *url, char *buf, size_t size)
{
	url_t u = *url;
	const char *user, *host;
	unsigned char d[32];
	EVP_MD_CTX *ctx;
	int ok;

	if (u.url_host && a->self(a->self_arg, url))
		u.url_host = a->conf->domain;
	if (!px_canon_aor(&u, buf, size))
		return;
	user = u.url_user ? u.url_user : "";
	host = u.url_host ? u.url_host : "";
	if ((size_t)snprintf(buf, size, "%s@%s", user, host) >= size) {
		ok = (ctx = EVP_MD_CTX_new()) && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) &&
		     EVP_DigestUpdate(ctx, user, strlen(user)) && EVP_DigestUpdate(ctx, "@", 1) &&
		     EVP_DigestUpdate(ctx, host, strlen(host)) && EVP_DigestFinal_ex(ctx, d, NULL);
		EVP_MD_CTX_free(ctx);
		if (!ok)
			RAND_bytes(d, sizeof(d)); /* matches nothing: fails closed */
		buf[0] = '#';
		hex(buf + 1, d, sizeof(d));
		return;
	}
	for (char *p = buf; *p; p++)
		*p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
}

/* dialog_mac - the token of @side in the dialog of Call-ID @cid set up by
 * the caller at address @from with tag @tag (the callee at @to), flow token
 * @flow, into buf */
static void dialog_mac(const struct px_auth *a, enum px_dialog_side side, const char *cid,
		       const char *tag, const url_t *from, const url_t *to, const char *flow,
		       char buf[PX_DIALOG_TOKEN])
{
	unsigned char m[(PX_DIALOG_TOKEN - 1) / 2];
	char f[300], t[300];
	const char *label = side == PX_DIALOG_CALLER ? "dialog-caller" : "dialog-callee";
	const void *p[] = { label, cid, tag, f, t, flow };
	size_t l[6] = { strlen(label), strlen(cid), strlen(tag), 0, 0, strlen(flow) };

	party(a, from, f, sizeof(f));
	party(a, to, t, sizeof(t));
	l[3] = strlen(f);
	l[4] = strlen(t);
	mac(a, m, sizeof(m), p, l, 6);
	hex(buf, m, sizeof(m));
}

/* px_auth_dialog_token - over the side, Call-ID, the From tag, the From
 * address of initial request @sip, the callee's (To for the caller's token,
 * @target for the callee's), and the flow token */
void px_auth_dialog_token(const struct px_auth *a, const sip_t *sip, const url_t *target,
			  const char *flow, enum px_dialog_side side, char buf[PX_DIALOG_TOKEN])
{
	dialog_mac(a, side, sip->sip_call_id->i_id, sip->sip_from->a_tag ? sip->sip_from->a_tag : "",
		   sip->sip_from->a_url, side == PX_DIALOG_CALLEE ? target : sip->sip_to->a_url, flow, buf);
}

/* px_auth_same_party - party() of both, compared */
int px_auth_same_party(const struct px_auth *a, const url_t *x, const url_t *y)
{
	char p[300], q[300];

	party(a, x, p, sizeof(p));
	party(a, y, q, sizeof(q));
	return !strcmp(p, q);
}

/* px_auth_dialog_check - the caller's token over its From tag, From and To,
 * or the callee's over its To tag, To and From: each side speaks only as
 * itself (a caller holding only hers cannot send as the callee) */
int px_auth_dialog_check(const struct px_auth *a, const sip_t *sip, const char *flow,
			 const char *token)
{
	char want[PX_DIALOG_TOKEN];
	int ok = 0;

	if (!token || strlen(token) != PX_DIALOG_TOKEN - 1 || !sip->sip_call_id)
		return 0;
	if (sip->sip_from->a_tag) {
		dialog_mac(a, PX_DIALOG_CALLER, sip->sip_call_id->i_id, sip->sip_from->a_tag,
			   sip->sip_from->a_url, sip->sip_to->a_url, flow, want);
		ok |= !CRYPTO_memcmp(want, token, PX_DIALOG_TOKEN - 1);
	}
	if (sip->sip_to->a_tag) {
		dialog_mac(a, PX_DIALOG_CALLEE, sip->sip_call_id->i_id, sip->sip_to->a_tag,
			   sip->sip_to->a_url, sip->sip_from->a_url, flow, want);
		ok |= !CRYPTO_memcmp(want, token, PX_DIALOG_TOKEN - 1);
	}
	return ok;
}
