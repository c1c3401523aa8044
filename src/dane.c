/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * dane.c - certificate chain versus TLSA RRset (RFC 6698, RFC 7671), with
 * RFC 5922 SIP domain names for the usages that need a name check.
 *
 * OpenSSL's DANE verifier matches records, builds chains and applies digest
 * agility (RFC 7671 §9: per usage and selector, only the strongest matching
 * type present counts; SSL_CTX_dane_enable ranks SHA2-512 over SHA2-256).
 * Here we triage records with a reason each, run the SIP name rules and turn
 * the result into a verdict.
 */
#include <errno.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include <sipdance/dane.h>
#include "internal.h"

struct sipdance_dane {
	SSL_CTX *ctx;      /* DANE-enabled; source of the per-call SSL */
	X509_STORE *store; /* PKIX roots, or empty */
	int pkix;          /* store holds at least one root */
};

static const char *const usage_name[] = { "PKIX-TA", "PKIX-EE", "DANE-TA", "DANE-EE" };
static const size_t digest_len[] = { 0, 32, 64 };

/* sipdance_dane_alloc - verifier with an optional PKIX root bundle */
int sipdance_dane_alloc(struct sipdance_dane **out, const char *ca_file)
{
	struct sipdance_dane *d;
	int err = ENOMEM;

	if (!out)
		return EINVAL;
	if (ca_file && access(ca_file, R_OK) != 0)
		return ENOENT;
	if (!(d = calloc(1, sizeof(*d))))
		return ENOMEM;
	d->ctx = SSL_CTX_new(TLS_client_method());
	d->store = X509_STORE_new();
	if (!d->ctx || !d->store || SSL_CTX_dane_enable(d->ctx) <= 0)
		goto out;
	if (ca_file) {
		err = EINVAL;
		if (X509_STORE_load_file(d->store, ca_file) != 1 ||
		    sk_X509_OBJECT_num(X509_STORE_get0_objects(d->store)) == 0)
			goto out;
		d->pkix = 1;
	}
	*out = d;
	return 0;
out:
	ERR_clear_error();
	sipdance_dane_free(d);
	return err;
}

/* sipdance_dane_free - free a verifier */
void sipdance_dane_free(struct sipdance_dane *d)
{
	if (!d)
		return;
	SSL_CTX_free(d->ctx);
	X509_STORE_free(d->store);
	free(d);
}

/* unusable - why record @t cannot be used here, or NULL if it can */
static const char *unusable(const struct sipdance_dane *d, const struct sipdance_tlsa *t)
{
	uint8_t u = sipdance_tlsa_usage(t), s = sipdance_tlsa_selector(t);
	uint8_t m = sipdance_tlsa_mtype(t);
	size_t len;

	sipdance_tlsa_data(t, &len);
	if (u > SIPDANCE_DANE_EE)
		return "unknown certificate usage";
	if (s > SIPDANCE_SEL_SPKI)
		return "unknown selector";
	if (m > SIPDANCE_MT_SHA512)
		return "unknown matching type";
	if (m != SIPDANCE_MT_FULL && len != digest_len[m])
		return "digest length does not fit the matching type";
	if (u <= SIPDANCE_PKIX_EE && !d->pkix)
		return "PKIX usage but no CA file configured";
	return NULL;
}

/* sipdance_dane_count_usable - records this verifier can use */
size_t sipdance_dane_count_usable(const struct sipdance_dane *d, const struct sipdance_tlsa_set *tlsa)
{
	size_t n = 0;

	for (size_t i = 0; d && i < sipdance_tlsa_set_count(tlsa); i++)
		n += unusable(d, sipdance_tlsa_set_get(tlsa, i)) == NULL;
	return n;
}

/* sipdance_dane_has_ca - whether PKIX roots are configured */
int sipdance_dane_has_ca(const struct sipdance_dane *d)
{
	return d && d->pkix;
}

/* san_names_match - RFC 5922 §7.1 over the subjectAltName entries:
 * returns 1 match, 0 no match, -1 no SAN of a kind that names a domain */
static int san_names_match(X509 *cert, const char *domain)
{
	GENERAL_NAMES *gens = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
	int have_uri = 0, have_dns = 0, uri_ok = 0, dns_ok = 0;

	if (!gens)
		return -1;
	for (int i = 0; i < sk_GENERAL_NAME_num(gens); i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
		const ASN1_IA5STRING *s;
		const char *str;
		size_t len;

		if (g->type != GEN_URI && g->type != GEN_DNS)
			continue;
		s = g->type == GEN_URI ? g->d.uniformResourceIdentifier : g->d.dNSName;
		str = (const char *)ASN1_STRING_get0_data(s);
		len = (size_t)ASN1_STRING_length(s);
		if (memchr(str, '\0', len))
			continue; /* embedded NUL: never a match */
		if (g->type == GEN_URI) {
			have_uri = 1;
			/* "sip:<domain>" exactly: no user part, port or parameters */
			if (len == 4 + strlen(domain) && strncasecmp(str, "sip:", 4) == 0 &&
			    strncasecmp(str + 4, domain, len - 4) == 0)
				uri_ok = 1;
		} else {
			have_dns = 1;
			if (len == strlen(domain) && strncasecmp(str, domain, len) == 0)
				dns_ok = 1;
		}
	}
	GENERAL_NAMES_free(gens);
	if (have_uri)
		return uri_ok;
	if (have_dns)
		return dns_ok;
	return -1;
}

/* sipdance_dane_cert_has_domain - RFC 5922 §7.1 domain identity check */
int sipdance_dane_cert_has_domain(X509 *cert, const char *domain)
{
	char cn[256];
	int r;

	if (!cert || !domain || !*domain)
		return 0;
	/* A SAN extension of any content rules out the CN (RFC 5922 §7.1). */
	r = san_names_match(cert, domain);
	if (r >= 0 || X509_get_ext_by_NID(cert, NID_subject_alt_name, -1) >= 0)
		return r > 0;
	r = X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn, sizeof(cn));
	return r > 0 && (size_t)r == strlen(domain) && strcasecmp(cn, domain) == 0;
}

/* names_ok - whether the end-entity certificate names a reference identifier */
static int names_ok(X509 *leaf, const struct sipdance_dane_params *p, const char **matched)
{
	for (size_t i = 0; p && i < p->nnames; i++) {
		if (sipdance_dane_cert_has_domain(leaf, p->names[i])) {
			*matched = p->names[i];
			return 1;
		}
	}
	return 0;
}

/* add_records - give OpenSSL the usable records; count them, note the first reason */
static void add_records(const struct sipdance_dane *d, SSL *ssl,
			const struct sipdance_tlsa_set *tlsa, size_t *usable,
			const char **first_why)
{
	size_t n = sipdance_tlsa_set_count(tlsa);

	*usable = 0;
	*first_why = n ? NULL : "empty TLSA RRset";
	for (size_t i = 0; i < n; i++) {
		const struct sipdance_tlsa *t = sipdance_tlsa_set_get(tlsa, i);
		const char *why = unusable(d, t);
		const uint8_t *data;
		size_t len;

		data = sipdance_tlsa_data(t, &len);
		if (!why && SSL_dane_tlsa_add(ssl, sipdance_tlsa_usage(t), sipdance_tlsa_selector(t),
					      sipdance_tlsa_mtype(t), data, len) <= 0)
			why = "association data is not a valid certificate or key";
		if (why) {
			sd_log(SIPDANCE_LOG_INFO, "dane", "record %zu unusable: %s", i, why);
			if (!*first_why)
				*first_why = why;
			continue;
		}
		(*usable)++;
	}
	ERR_clear_error();
}

/* run_verify - OpenSSL's chain verification, with DANE when @ssl is given,
 * outside a handshake; *depth (may be NULL) gets the depth of the chain's top */
static int run_verify(const struct sipdance_dane *d, SSL *ssl, STACK_OF(X509) *chain,
		      time_t at, int *verr, int *depth)
{
	X509_STORE_CTX *sctx = X509_STORE_CTX_new();
	X509_VERIFY_PARAM *param;
	int ok = -1;

	if (!sctx)
		return ENOMEM;
	if (X509_STORE_CTX_init(sctx, d->store, sk_X509_value(chain, 0), chain) == 1 &&
	    X509_STORE_CTX_set_default(sctx, "ssl_server") == 1) {
		param = X509_STORE_CTX_get0_param(sctx);
		if (ssl)
			X509_VERIFY_PARAM_set1(param, SSL_get0_param(ssl));
		if (at)
			X509_VERIFY_PARAM_set_time(param, at);
		if (ssl)
			X509_STORE_CTX_set0_dane(sctx, SSL_get0_dane(ssl));
		ok = X509_verify_cert(sctx);
		*verr = X509_STORE_CTX_get_error(sctx);
		if (depth)
			*depth = sk_X509_num(X509_STORE_CTX_get0_chain(sctx)) - 1;
	}
	X509_STORE_CTX_free(sctx);
	ERR_clear_error();
	return ok < 0 ? ENOMEM : 0;
}

/* sipdance_dane_verify - chain against RRset, names for usages 0-2 */
int sipdance_dane_verify(const struct sipdance_dane *d, const struct sipdance_tlsa_set *tlsa,
			 STACK_OF(X509) *chain, const struct sipdance_dane_params *p,
			 struct sipdance_verdict *v)
{
	const char *first_why, *name = NULL;
	uint8_t u, s, m;
	size_t usable;
	SSL *ssl;
	int err, verr = X509_V_OK, depth;

	if (!d || !tlsa || !chain || !v || sk_X509_num(chain) < 1)
		return EINVAL;
	*v = (struct sipdance_verdict){ .usage = -1, .selector = -1, .mtype = -1, .depth = -1 };
	if (!(ssl = SSL_new(d->ctx)))
		return ENOMEM;
	err = ENOMEM;
	if (SSL_dane_enable(ssl, NULL) <= 0)
		goto out;
	/* DANE-EE binds the key itself: no name checks, no dates (RFC 7671 §5.1). */
	SSL_dane_set_flags(ssl, DANE_FLAG_NO_DANE_EE_NAMECHECKS);
	err = 0;
	add_records(d, ssl, tlsa, &usable, &first_why);
	if (usable == 0) {
		sd_verdict_set(v, SIPDANCE_UNUSABLE, "no usable TLSA record (%s)", first_why);
		goto out;
	}
	if ((err = run_verify(d, ssl, chain, p ? p->at : 0, &verr, NULL)))
		goto out;
	/*
	 * The decision, case by case:
	 *  - OpenSSL failed verification: no record matched (DANE_NO_MATCH), or a
	 *    PKIX usage matched but the chain did not validate (expired, untrusted):
	 *    NOMATCH with OpenSSL's reason.
	 *  - A DANE-EE(3) record matched: MATCH; names and dates do not matter.
	 *  - A DANE-TA(2), PKIX-TA(0) or PKIX-EE(1) record matched: MATCH only if
	 *    the end-entity certificate names one of the caller's reference
	 *    identifiers under RFC 5922 (no wildcards); no identifiers given is
	 *    a failure, never a pass.
	 */
	if (verr != X509_V_OK) {
		sd_verdict_set(v, SIPDANCE_NOMATCH, "%s", X509_verify_cert_error_string(verr));
		goto out;
	}
	SSL_set_verify_result(ssl, X509_V_OK);
	depth = SSL_get0_dane_authority(ssl, NULL, NULL);
	if (depth < 0 || SSL_get0_dane_tlsa(ssl, &u, &s, &m, NULL, NULL) < 0) {
		sd_verdict_set(v, SIPDANCE_NOMATCH, "no TLSA record matched");
		goto out;
	}
	if (u != SIPDANCE_DANE_EE && !names_ok(sk_X509_value(chain, 0), p, &name)) {
		sd_verdict_set(v, SIPDANCE_NOMATCH, "%s record matched at depth %d but the certificate "
			       "names no reference identifier (RFC 5922)%s", usage_name[u], depth,
			       p && p->nnames ? "" : ": none given");
		goto out;
	}
	v->usage = u;
	v->selector = s;
	v->mtype = m;
	v->depth = depth;
	sd_verdict_set(v, SIPDANCE_MATCH, "%s %u %u %u matched at depth %d%s%s", usage_name[u],
		       u, s, m, depth, name ? ", name " : "", name ? name : "");
out:
	SSL_free(ssl);
	return err;
}

/* sipdance_dane_pkix_verify - RFC 5922 PKIX: chain to the CA file's roots, then names */
int sipdance_dane_pkix_verify(const struct sipdance_dane *d, STACK_OF(X509) *chain,
			 const struct sipdance_dane_params *p, struct sipdance_verdict *v)
{
	const char *name = NULL;
	int err, verr = X509_V_OK, depth = -1;

	if (!d || !chain || !v || sk_X509_num(chain) < 1)
		return EINVAL;
	*v = (struct sipdance_verdict){ .usage = -1, .selector = -1, .mtype = -1, .depth = -1 };
	/*
	 * The cases: no CA file, nothing can authenticate (UNUSABLE); the chain
	 * does not validate to a configured root at the given time (NOMATCH with
	 * OpenSSL's reason); it validates but the end entity names none of the
	 * reference identifiers under RFC 5922 (NOMATCH); else MATCH.
	 */
	if (!d->pkix) {
		sd_verdict_set(v, SIPDANCE_UNUSABLE, "no CA file configured for PKIX authentication");
		return 0;
	}
	if ((err = run_verify(d, NULL, chain, p ? p->at : 0, &verr, &depth)))
		return err;
	if (verr != X509_V_OK) {
		sd_verdict_set(v, SIPDANCE_NOMATCH, "PKIX: %s", X509_verify_cert_error_string(verr));
		return 0;
	}
	if (!names_ok(sk_X509_value(chain, 0), p, &name)) {
		sd_verdict_set(v, SIPDANCE_NOMATCH, "PKIX chain valid but the certificate names no "
			       "reference identifier (RFC 5922)%s", p && p->nnames ? "" : ": none given");
		return 0;
	}
	v->depth = depth;
	sd_verdict_set(v, SIPDANCE_MATCH, "PKIX chain to a configured root, name %s", name);
	return 0;
}
