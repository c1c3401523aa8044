/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * clientid.c - DANE client identities: user and host ClientNames, the
 * dane_clientid extension_data, the certificate name binding of DANE-TA
 * matches, verification of a client chain against its TLSA RRset, and what
 * a client's shipped DNSSEC chain proves for its name. The TLS wiring is in
 * clientid_tls.c.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include <sipdance/clientid.h>
#include "dnssec_int.h"
#include "internal.h"

#define HASH_LABEL 56 /* hex of 28 octets */

static const size_t digest_len[] = { 0, 32, 64 };

/* ldh - whether @c may appear in a label (letters, digits, hyphen) */
static int ldh(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-';
}

/* check_host - a host or domain name in A-labels: LDH labels of 1-63 octets,
 * no leading or trailing hyphen, at least @min_labels labels */
static int check_host(const char *s, size_t len, int min_labels, const char **why)
{
	size_t label = 0;
	int labels = 1;

	if (len == 0)
		return sd_fail(why, "empty name", EINVAL);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '.') {
			if (label == 0)
				return sd_fail(why, "empty label", EINVAL);
			if (s[i - 1] == '-')
				return sd_fail(why, "label ends with a hyphen", EINVAL);
			label = 0;
			labels++;
			continue;
		}
		if (c == '\\')
			return sd_fail(why, "escapes are not allowed", EINVAL);
		if (c >= 0x80)
			return sd_fail(why, "non-ASCII name: use A-labels (xn--)", EINVAL);
		if (c == '_')
			return sd_fail(why, "underscore label other than _user", EINVAL);
		if (!ldh(c))
			return sd_fail(why, "character not allowed in a host name", EINVAL);
		if (label == 0 && c == '-')
			return sd_fail(why, "label starts with a hyphen", EINVAL);
		if (++label > 63)
			return sd_fail(why, "label longer than 63 octets", EINVAL);
	}
	if (label == 0)
		return sd_fail(why, "name ends with a dot", EINVAL);
	if (s[len - 1] == '-')
		return sd_fail(why, "label ends with a hyphen", EINVAL);
	if (labels < min_labels)
		return sd_fail(why, "a single-label name", EINVAL);
	return 0;
}

/* is_hash_label - 56 lowercase hex digits */
static int is_hash_label(const char *s)
{
	for (int i = 0; i < HASH_LABEL; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

/* sipdance_clientid_check - ClientName syntax and kind */
int sipdance_clientid_check(const char *name, enum sipdance_clientid_kind *kind,
			    const char **domain, const char **why)
{
	const char *user;
	size_t len;
	int err;

	if (!name)
		return sd_fail(why, "no name", EINVAL);
	len = strlen(name);
	if (len > SIPDANCE_CLIENTID_MAX)
		return sd_fail(why, "name longer than 255 octets", EINVAL);
	user = strstr(name, "._user.");
	if (!user && len >= 6 && strcasecmp(name + len - 6, "._user") == 0)
		return sd_fail(why, "_user name without a domain", EINVAL);
	if (!user && (strncasecmp(name, "_user.", 6) == 0 || strstr(name, "._USER.")))
		return sd_fail(why, "_user label without the hashed local part", EINVAL);
	if (user) {
		/*
		 * A user name is exactly <56 lowercase hex>._user.<domain>, the form
		 * sipdance_clientid_user_name() produces; anything else with a _user
		 * label is refused rather than looked up.
		 */
		if (user - name != HASH_LABEL || !is_hash_label(name))
			return sd_fail(why, "_user name whose first label is not 56 lowercase hex digits",
				    EINVAL);
		if ((err = check_host(user + 7, strlen(user + 7), 2, why)))
			return err;
		if (kind)
			*kind = SIPDANCE_CLIENTID_USER;
		if (domain)
			*domain = user + 7;
		return 0;
	}
	if ((err = check_host(name, len, 2, why)))
		return err;
	if (kind)
		*kind = SIPDANCE_CLIENTID_HOST;
	if (domain)
		*domain = name;
	return 0;
}

/* utf8_ok - whether @s[0..len) is well-formed UTF-8 without controls */
static int utf8_ok(const unsigned char *s, size_t len)
{
	for (size_t i = 0; i < len;) {
		unsigned c = s[i], n, min, cp;

		if (c < 0x80) {
			if (c < 0x20 || c == 0x7f)
				return 0;
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			n = 1, min = 0x80, cp = c & 0x1f;
		else if (c >= 0xe0 && c <= 0xef)
			n = 2, min = 0x800, cp = c & 0x0f;
		else if (c >= 0xf0 && c <= 0xf4)
			n = 3, min = 0x10000, cp = c & 0x07;
		else
			return 0;
		for (unsigned k = 1; k <= n; k++) {
			if (i + k >= len || (s[i + k] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += n + 1;
	}
	return 1;
}

/* owner_name - hex(SHA-256(folded local part)[0:28])._user.<lowercase domain> */
static int owner_name(const char *local, size_t llen, const char *dom, size_t dlen,
		      char *out, size_t size, const char **why)
{
	unsigned char md[EVP_MAX_MD_SIZE], *folded;
	unsigned int mdlen;
	int err;

	if (llen == 0)
		return sd_fail(why, "empty local part", EINVAL);
	if (llen > SIPDANCE_CLIENTID_MAX)
		return sd_fail(why, "local part longer than 255 octets", EINVAL);
	if (!utf8_ok((const unsigned char *)local, llen))
		return sd_fail(why, "local part is not printable UTF-8", EINVAL);
	if (dlen && dom[dlen - 1] == '.')
		dlen--;
	if ((err = check_host(dom, dlen, 2, why)))
		return err;
	if (HASH_LABEL + 7 + dlen > SIPDANCE_CLIENTID_MAX)
		return sd_fail(why, "domain too long for a _user name", EINVAL);
	if (size < HASH_LABEL + 7 + dlen + 1)
		return sd_fail(why, "output buffer too small", EMSGSIZE);
	if (!(folded = malloc(llen)))
		return sd_fail(why, "out of memory", ENOMEM);
	/* Case folding: ASCII A-Z only (see sipdance/clientid.h). */
	for (size_t i = 0; i < llen; i++)
		folded[i] = (unsigned char)(local[i] >= 'A' && local[i] <= 'Z' ? local[i] + 32 : local[i]);
	err = EVP_Digest(folded, llen, md, &mdlen, EVP_sha256(), NULL) ? 0 : ENOMEM;
	free(folded);
	if (err)
		return sd_fail(why, "SHA-256 failed", err);
	sd_hex_encode(md, 28, out);
	memcpy(out + HASH_LABEL, "._user.", 7);
	for (size_t i = 0; i < dlen; i++)
		out[HASH_LABEL + 7 + i] = (char)tolower((unsigned char)dom[i]);
	out[HASH_LABEL + 7 + dlen] = '\0';
	return 0;
}

/* sipdance_clientid_user_name - ClientName of a user address */
int sipdance_clientid_user_name(const char *address, char *out, size_t size, const char **why)
{
	const char *at;

	if (!address || !out)
		return sd_fail(why, "no address", EINVAL);
	if (strncasecmp(address, "sip:", 4) == 0)
		address += 4;
	else if (strncasecmp(address, "sips:", 5) == 0)
		address += 5;
	if (!(at = strrchr(address, '@')))
		return sd_fail(why, "address has no '@'", EINVAL);
	return owner_name(address, (size_t)(at - address), at + 1, strlen(at + 1), out, size, why);
}

/* sipdance_clientid_ext_encode - opaque ClientName<0..255> */
int sipdance_clientid_ext_encode(const char *name, uint8_t *buf, size_t size, size_t *len)
{
	size_t n = name ? strlen(name) : 0;

	if (!buf || !len)
		return EINVAL;
	if (n && sipdance_clientid_check(name, NULL, NULL, NULL))
		return EINVAL;
	if (size < n + 1)
		return EMSGSIZE;
	buf[0] = (uint8_t)n;
	if (n)
		memcpy(buf + 1, name, n);
	*len = n + 1;
	return 0;
}

/* sipdance_clientid_ext_decode - extension_data to a checked name */
int sipdance_clientid_ext_decode(const uint8_t *data, size_t len, char *name, size_t size,
				 const char **why)
{
	size_t n;

	if (!name || size == 0 || (len && !data))
		return sd_fail(why, "no buffer", EINVAL);
	name[0] = '\0';
	if (len == 0)
		return sd_fail(why, "empty extension_data: no ClientName length", EBADMSG);
	if (len > 1 + SIPDANCE_CLIENTID_MAX)
		return sd_fail(why, "extension_data longer than any ClientName", EMSGSIZE);
	n = data[0];
	if (len - 1 < n)
		return sd_fail(why, "ClientName truncated", EBADMSG);
	if (len - 1 > n)
		return sd_fail(why, "data after the ClientName", EBADMSG);
	if (n + 1 > size)
		return sd_fail(why, "ClientName longer than the buffer", EMSGSIZE);
	if (n == 0)
		return 0;
	if (memchr(data + 1, '\0', n))
		return sd_fail(why, "NUL in ClientName", EINVAL);
	memcpy(name, data + 1, n);
	name[n] = '\0';
	if (sipdance_clientid_check(name, NULL, NULL, why)) {
		name[0] = '\0';
		return EINVAL;
	}
	return 0;
}

/* pct_decode - %XX escapes of a URI user part into @out; length or -1 */
static long pct_decode(const char *s, size_t len, char *out, size_t size)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++) {
		uint8_t b;
		size_t got;

		if (n == size)
			return -1;
		if (s[i] != '%') {
			out[n++] = s[i];
			continue;
		}
		if (i + 2 >= len)
			return -1;
		if (sd_hex_decode(s + i + 1, 2, &b, 1, &got, NULL) || got != 1 || b == 0 ||
		    isspace((unsigned char)s[i + 1]) || isspace((unsigned char)s[i + 2]))
			return -1;
		out[n++] = (char)b;
		i += 2;
	}
	return (long)n;
}

/* address_is - whether a SAN string (rfc822Name, or a sip:/sips: URI) names
 * the user whose ClientName is @client_name */
static int address_is(const char *s, size_t len, int uri, const char *client_name)
{
	char local[SIPDANCE_CLIENTID_MAX + 1], name[SIPDANCE_CLIENTID_MAX + 1];
	const char *at;
	long llen;

	if (memchr(s, '\0', len))
		return 0;
	if (uri) {
		if (len > 4 && strncasecmp(s, "sip:", 4) == 0)
			s += 4, len -= 4;
		else if (len > 5 && strncasecmp(s, "sips:", 5) == 0)
			s += 5, len -= 5;
		else
			return 0;
		/* user@host only: no password, port, parameters or headers */
		if (memchr(s, ';', len) || memchr(s, '?', len) || memchr(s, ':', len))
			return 0;
	}
	if (!(at = memchr(s, '@', len)) || memchr(at + 1, '@', len - (size_t)(at + 1 - s)))
		return 0;
	llen = at - s;
	if (uri)
		llen = pct_decode(s, (size_t)llen, local, sizeof(local));
	else if ((size_t)llen <= sizeof(local))
		memcpy(local, s, (size_t)llen);
	else
		llen = -1;
	if (llen <= 0)
		return 0;
	if (owner_name(local, (size_t)llen, at + 1, len - (size_t)(at + 1 - s), name,
		       sizeof(name), NULL))
		return 0;
	return strcmp(name, client_name) == 0;
}

/* sipdance_clientid_cert_names - SAN binding of a DANE-TA-matched certificate */
int sipdance_clientid_cert_names(X509 *cert, const char *client_name)
{
	enum sipdance_clientid_kind kind;
	GENERAL_NAMES *gens;
	int found = 0;

	if (!cert || sipdance_clientid_check(client_name, &kind, NULL, NULL))
		return 0;
	if (!(gens = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL)))
		return 0;
	for (int i = 0; !found && i < sk_GENERAL_NAME_num(gens); i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
		const ASN1_IA5STRING *a;
		const char *s;
		size_t len;

		if (kind == SIPDANCE_CLIENTID_USER && g->type != GEN_EMAIL && g->type != GEN_URI)
			continue;
		if (kind == SIPDANCE_CLIENTID_HOST && g->type != GEN_DNS)
			continue;
		a = g->type == GEN_EMAIL ? g->d.rfc822Name
		    : g->type == GEN_URI ? g->d.uniformResourceIdentifier : g->d.dNSName;
		s = (const char *)ASN1_STRING_get0_data(a);
		len = (size_t)ASN1_STRING_length(a);
		if (kind == SIPDANCE_CLIENTID_USER)
			found = address_is(s, len, g->type == GEN_URI, client_name);
		else
			found = len == strlen(client_name) && !memchr(s, '\0', len) &&
				strncasecmp(s, client_name, len) == 0;
	}
	GENERAL_NAMES_free(gens);
	return found;
}

/* unusable - why record @t cannot authenticate a client, or NULL */
static const char *unusable(const struct sipdance_tlsa *t)
{
	uint8_t u = sipdance_tlsa_usage(t), m = sipdance_tlsa_mtype(t);
	size_t len;

	sipdance_tlsa_data(t, &len);
	if (u == SIPDANCE_PKIX_TA || u == SIPDANCE_PKIX_EE)
		return "PKIX usage: no client CA store";
	if (u > SIPDANCE_DANE_EE)
		return "unknown certificate usage";
	if (sipdance_tlsa_selector(t) > SIPDANCE_SEL_SPKI)
		return "unknown selector";
	if (m > SIPDANCE_MT_SHA512)
		return "unknown matching type";
	if (m != SIPDANCE_MT_FULL && len != digest_len[m])
		return "digest length does not fit the matching type";
	return NULL;
}

/* weaker - agility (RFC 7671 §9): a stronger digest of the same usage and
 * selector is among the usable records */
static int weaker(const struct sipdance_tlsa *t, const struct sipdance_tlsa_set *set)
{
	uint8_t m = sipdance_tlsa_mtype(t);

	for (size_t i = 0; m != SIPDANCE_MT_FULL && i < sipdance_tlsa_set_count(set); i++) {
		const struct sipdance_tlsa *o = sipdance_tlsa_set_get(set, i);

		if (!unusable(o) && sipdance_tlsa_usage(o) == sipdance_tlsa_usage(t) &&
		    sipdance_tlsa_selector(o) == sipdance_tlsa_selector(t) &&
		    sipdance_tlsa_mtype(o) > m)
			return 1;
	}
	return 0;
}

/* sd_clientid_add_records - enable DANE on @ssl (no host name check) and add
 * the usable records of @tlsa; count them, note the first reason */
int sd_clientid_add_records(SSL *ssl, const struct sipdance_tlsa_set *tlsa, size_t *usable,
			    const char **first_why)
{
	size_t n = sipdance_tlsa_set_count(tlsa);

	*usable = 0;
	*first_why = n ? NULL : "empty TLSA RRset";
	if (SSL_dane_enable(ssl, NULL) <= 0) {
		ERR_clear_error();
		return ENOMEM;
	}
	/* DANE-EE binds the key itself; DANE-TA names are checked by sd_clientid_decide. */
	SSL_dane_set_flags(ssl, DANE_FLAG_NO_DANE_EE_NAMECHECKS);
	for (size_t i = 0; i < n; i++) {
		const struct sipdance_tlsa *t = sipdance_tlsa_set_get(tlsa, i);
		const char *why = unusable(t);
		const uint8_t *data;
		size_t len;

		if (!why && weaker(t, tlsa))
			continue;
		data = sipdance_tlsa_data(t, &len);
		if (!why && SSL_dane_tlsa_add(ssl, sipdance_tlsa_usage(t), sipdance_tlsa_selector(t),
					      sipdance_tlsa_mtype(t), data, len) <= 0)
			why = "association data is not a valid certificate or key";
		if (why) {
			sd_log(SIPDANCE_LOG_INFO, "clientid", "record %zu unusable: %s", i, why);
			if (!*first_why)
				*first_why = why;
			continue;
		}
		(*usable)++;
	}
	ERR_clear_error();
	return 0;
}

/* sd_clientid_decide - verdict once OpenSSL has verified @leaf with DANE on @ssl */
void sd_clientid_decide(SSL *ssl, X509 *leaf, const char *client_name, int verr,
			struct sipdance_verdict *v)
{
	uint8_t u, s, m;
	int depth;

	*v = (struct sipdance_verdict){ .usage = -1, .selector = -1, .mtype = -1, .depth = -1 };
	/*
	 * The decision, case by case:
	 *  - OpenSSL's verification failed (no record matched, or a DANE-TA chain
	 *    that does not verify: expired, wrong purpose): NOMATCH.
	 *  - No record matched even though verification passed: NOMATCH.
	 *  - DANE-EE matched: MATCH; the key is bound to the name by DNSSEC.
	 *  - DANE-TA matched: MATCH only if the certificate names the ClientName
	 *    (a user address that hashes to it, or the host name as a dNSName):
	 *    a user CA must not let bob's certificate authenticate alice.
	 */
	if (verr != X509_V_OK) {
		sd_verdict_set(v, SIPDANCE_NOMATCH, "%s", X509_verify_cert_error_string(verr));
		return;
	}
	depth = SSL_get0_dane_authority(ssl, NULL, NULL);
	if (depth < 0 || SSL_get0_dane_tlsa(ssl, &u, &s, &m, NULL, NULL) < 0) {
		sd_verdict_set(v, SIPDANCE_NOMATCH, "no TLSA record matched");
		return;
	}
	if (u == SIPDANCE_DANE_TA && !sipdance_clientid_cert_names(leaf, client_name)) {
		sd_verdict_set(v, SIPDANCE_NOMATCH, "DANE-TA record matched at depth %d but the "
			       "certificate does not name %s", depth, client_name);
		return;
	}
	v->usage = u;
	v->selector = s;
	v->mtype = m;
	v->depth = depth;
	sd_verdict_set(v, SIPDANCE_MATCH, "%s %u %u %u matched at depth %d for %s",
		       u == SIPDANCE_DANE_EE ? "DANE-EE" : "DANE-TA", u, s, m, depth, client_name);
}

/* sipdance_clientid_verify - chain against the RRset of a ClientName, offline */
int sipdance_clientid_verify(const char *client_name, const struct sipdance_tlsa_set *tlsa,
			     STACK_OF(X509) *chain, time_t at, struct sipdance_verdict *v)
{
	X509_STORE_CTX *sctx = NULL;
	X509_STORE *store = NULL;
	SSL_CTX *ctx = NULL;
	SSL *ssl = NULL;
	const char *first_why;
	size_t usable;
	int err = ENOMEM, verr;

	if (!tlsa || !chain || !v || sk_X509_num(chain) < 1 ||
	    sipdance_clientid_check(client_name, NULL, NULL, NULL))
		return EINVAL;
	*v = (struct sipdance_verdict){ .usage = -1, .selector = -1, .mtype = -1, .depth = -1 };
	if (!(ctx = SSL_CTX_new(TLS_server_method())) || SSL_CTX_dane_enable(ctx) <= 0 ||
	    !(ssl = SSL_new(ctx)) || !(store = X509_STORE_new()) || !(sctx = X509_STORE_CTX_new()))
		goto out;
	if ((err = sd_clientid_add_records(ssl, tlsa, &usable, &first_why)))
		goto out;
	if (usable == 0) {
		sd_verdict_set(v, SIPDANCE_UNUSABLE, "no usable TLSA record (%s)", first_why);
		goto out;
	}
	err = ENOMEM;
	if (X509_STORE_CTX_init(sctx, store, sk_X509_value(chain, 0), chain) != 1 ||
	    X509_STORE_CTX_set_default(sctx, "ssl_client") != 1)
		goto out;
	X509_VERIFY_PARAM_set1(X509_STORE_CTX_get0_param(sctx), SSL_get0_param(ssl));
	if (at)
		X509_VERIFY_PARAM_set_time(X509_STORE_CTX_get0_param(sctx), at);
	X509_STORE_CTX_set0_dane(sctx, SSL_get0_dane(ssl));
	if (X509_verify_cert(sctx) < 0)
		goto out;
	verr = X509_STORE_CTX_get_error(sctx);
	SSL_set_verify_result(ssl, X509_V_OK);
	sd_clientid_decide(ssl, sk_X509_value(chain, 0), client_name, verr, v);
	err = 0;
out:
	X509_STORE_CTX_free(sctx);
	X509_STORE_free(store);
	SSL_free(ssl);
	SSL_CTX_free(ctx);
	ERR_clear_error();
	return err;
}

/* chain_bogus - a shipped chain that proves nothing: BOGUS with the reason */
static int chain_bogus(struct sipdance_verdict *v, const char *what, const char *why)
{
	sd_verdict_set(v, SIPDANCE_BOGUS, "client chain %s%s%s", what, why ? ": " : "", why ? why : "");
	return 0;
}

/* sd_clientid_chain_records - the TLSA RRset a shipped chain proves for @client_name, or the verdict */
int sd_clientid_chain_records(const struct sipdance_anchor *ta, const char *client_name,
			      const uint8_t *ext, size_t len, time_t at,
			      struct sipdance_tlsa_set **tlsa, struct sipdance_verdict *v)
{
	struct sipdance_chain_result r;
	uint8_t want[256], got[256];
	const uint8_t *chain;
	const char *why = NULL;
	size_t clen;
	uint16_t life;
	int err;

	*tlsa = NULL;
	*v = (struct sipdance_verdict){ .usage = -1, .selector = -1, .mtype = -1, .depth = -1 };
	/*
	 * What a shipped chain proves for @client_name, case by case:
	 *  - malformed extension_data or chain: BOGUS;
	 *  - does not validate under the anchor (a signature, an expired or
	 *    not yet valid RRSIG, a broken DS link, records of another name, a
	 *    denial that does not cover the name): BOGUS;
	 *  - validates, but the owner it reached is not @client_name itself (a
	 *    CNAME or DNAME on the way): BOGUS, a client's name is its owner;
	 *  - validates a denial: NODATA; a zone proven unsigned: INSECURE;
	 *  - validates the TLSA RRset at @client_name: its records.
	 * Its lifetime is not read: a server does not pin clients.
	 */
	if (sipdance_chain_ext_decode(ext, len, &life, &chain, &clen, &why))
		return chain_bogus(v, "malformed", why);
	if ((err = sipdance_chain_validate(ta, chain, clen, client_name, at, &r)))
		return err == ENOMEM ? err : chain_bogus(v, "for a name that is not a DNS name", NULL);
	if (!r.secure) {
		chain_bogus(v, "does not validate", r.why);
	} else if (sd_name_from_text(client_name, want, sizeof(want), NULL) ||
		   sd_name_from_text(r.name, got, sizeof(got), NULL) || !sd_name_eq(want, got)) {
		sd_verdict_set(v, SIPDANCE_BOGUS, "client chain leads from %s to %s: a client's TLSA owner "
			       "is its ClientName itself", client_name, r.name);
	} else if (r.insecure) {
		sd_verdict_set(v, SIPDANCE_INSECURE, "client chain proves an unsigned zone: %s", r.why);
	} else if (r.denial) {
		sd_verdict_set(v, SIPDANCE_NODATA, "client chain proves no TLSA at %s", client_name);
	} else {
		*tlsa = r.tlsa;
		r.tlsa = NULL;
	}
	sipdance_chain_result_clear(&r);
	return 0;
}

/* sipdance_clientid_verify_chain - a shipped chain and the client's certificates, offline */
int sipdance_clientid_verify_chain(const struct sipdance_anchor *ta, const char *client_name,
				   const uint8_t *ext, size_t len, STACK_OF(X509) *chain, time_t at,
				   struct sipdance_verdict *v)
{
	struct sipdance_tlsa_set *tlsa;
	int err;

	if (!ta || !ext || !chain || !v || sk_X509_num(chain) < 1 ||
	    sipdance_clientid_check(client_name, NULL, NULL, NULL))
		return EINVAL;
	if ((err = sd_clientid_chain_records(ta, client_name, ext, len, at, &tlsa, v)) || !tlsa)
		return err;
	err = sipdance_clientid_verify(client_name, tlsa, chain, at, v);
	sipdance_tlsa_set_free(tlsa);
	return err;
}
