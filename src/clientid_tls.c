/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * clientid_tls.c - dane_clientid on an OpenSSL SSL_CTX (TLS 1.3 only): the
 * server asks with an empty extension in CertificateRequest, the client
 * answers with its ClientName in its end-entity CertificateEntry (and, when
 * asked, the DNSSEC chain of its TLSA records beside it: chain_tls.c). Before
 * the certificate is verified the server takes the TLSA records from that
 * chain, offline, or through the caller's lookup hook, or leaves the name to
 * the host to look up after the handshake; OpenSSL's DANE verifier then
 * matches the live handshake. Every failure is handshake_failure.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <openssl/crypto.h>
#include <openssl/err.h>

#include <sipdance/clientid.h>
#include "internal.h"

/* Per SSL_CTX: a copy of the configuration, owned through ex_data. */
struct conf {
	unsigned ext_type;
	char *name;
	int server, require;
	char **domains;
	size_t ndomains;
	sipdance_clientid_lookup_fn *lookup;
	void *lookup_arg;
	enum sipdance_chain_policy chain;  /* clients' own chains */
	struct sipdance_anchor *ta;  /* they validate to it */
	SSL_verify_cb prev; /* verify callback set before ours */
};

/* Per SSL: what this connection sent, saw and decided. */
struct conn {
	char *send_name;   /* client: overrides conf->name */
	int asked;         /* client: the server's CertificateRequest had the extension */
	int seen;          /* server: the client sent a ClientName */
	int settled;       /* server: the decision before verification is made */
	enum sipdance_clientid_via via; /* server: how the ClientName is judged */
	int dane;          /* server: DANE enabled with usable records */
	int judged;        /* server: v holds an outcome */
	int authenticated; /* server: MATCH */
	char name[SIPDANCE_CLIENTID_MAX + 1];
	struct sipdance_verdict v;
};

static CRYPTO_ONCE once = CRYPTO_ONCE_STATIC_INIT;
static int ctx_idx = -1, ssl_idx = -1;
static const unsigned char empty_name[1] = { 0 };

/* conf_free - free a configuration copy */
static void conf_free(struct conf *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->ndomains; i++)
		free(c->domains[i]);
	free(c->domains);
	free(c->name);
	sipdance_anchor_free(c->ta);
	free(c);
}

/* ctx_free_cb - ex_data destructor of the SSL_CTX slot */
static void ctx_free_cb(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl,
			void *argp)
{
	conf_free(ptr);
}

/* ssl_free_cb - ex_data destructor of the SSL slot */
static void ssl_free_cb(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl,
			void *argp)
{
	struct conn *cn = ptr;

	if (cn)
		free(cn->send_name);
	free(cn);
}

/* init_indexes - the two ex_data slots, once per process */
static void init_indexes(void)
{
	ctx_idx = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, ctx_free_cb);
	ssl_idx = SSL_get_ex_new_index(0, NULL, NULL, NULL, ssl_free_cb);
}

/* conf_of - the configuration attached to the SSL's context, or NULL */
static const struct conf *conf_of(const SSL *ssl)
{
	return ctx_idx < 0 ? NULL : SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), ctx_idx);
}

/* conn_of - the connection state, created on demand when @create */
static struct conn *conn_of(const SSL *ssl, int create)
{
	struct conn *cn;

	if (!CRYPTO_THREAD_run_once(&once, init_indexes) || ssl_idx < 0)
		return NULL;
	cn = SSL_get_ex_data(ssl, ssl_idx);
	if (cn || !create)
		return cn;
	if (!(cn = calloc(1, sizeof(*cn))))
		return NULL;
	cn->v = (struct sipdance_verdict){ .usage = -1, .selector = -1, .mtype = -1, .depth = -1 };
	if (!SSL_set_ex_data((SSL *)ssl, ssl_idx, cn)) {
		free(cn);
		return NULL;
	}
	return cn;
}

/* judge - record the outcome (@reason must not be cn->v.reason) and log it */
static void judge(struct conn *cn, enum sipdance_result r, const char *reason)
{
	sd_verdict_set(&cn->v, r, "%s", reason);
	cn->judged = 1;
	sd_log(r == SIPDANCE_MATCH ? SIPDANCE_LOG_INFO : SIPDANCE_LOG_WARN, "clientid", "%s: %s: %s",
	       cn->name[0] ? cn->name : "(no ClientName)", sipdance_result_str(r), reason);
}

/* allowed - whether @name (a user's domain or a host) is at or under an allowlisted domain */
static int allowed(const struct conf *c, const char *name)
{
	size_t n = strlen(name);

	for (size_t i = 0; i < c->ndomains; i++) {
		size_t d = strlen(c->domains[i]);

		if (n >= d && strcasecmp(name + n - d, c->domains[i]) == 0 &&
		    (n == d || name[n - d - 1] == '.'))
			return 1;
	}
	return 0;
}

/* lookup - TLSA for the ClientName through the hook, in the handshake: 0
 * with the records in *tlsa, or the verdict judged and 0 (go on) or -1 (refused) */
static int lookup(const struct conf *c, struct conn *cn, struct sipdance_tlsa_set **tlsa)
{
	struct sipdance_clientid_answer a = { .status = SIPDANCE_DNS_INDETERMINATE,
					      .rcode = SIPDANCE_DNS_NONE };
	char reason[256];
	int err, rc = 0;

	cn->via = SIPDANCE_CLIENTID_VIA_DNS;
	err = c->lookup(c->lookup_arg, cn->name, &a);
	if (err || a.status == SIPDANCE_DNS_BOGUS || a.status == SIPDANCE_DNS_INDETERMINATE) {
		snprintf(reason, sizeof(reason), "TLSA lookup %s%s%s",
			 err ? "failed" : a.status == SIPDANCE_DNS_BOGUS ? "BOGUS" : "INDETERMINATE",
			 a.why[0] ? ": " : "", a.why);
		judge(cn, err || a.status != SIPDANCE_DNS_BOGUS ? SIPDANCE_INDETERMINATE : SIPDANCE_BOGUS,
		      reason);
		rc = -1;
	} else if (a.status == SIPDANCE_DNS_INSECURE) {
		judge(cn, SIPDANCE_INSECURE, "TLSA answer is not DNSSEC-signed");
		rc = c->require ? -1 : 0;
	} else if (a.rcode != SIPDANCE_DNS_FOUND || !a.tlsa) {
		judge(cn, SIPDANCE_NODATA, a.rcode == SIPDANCE_DNS_NXDOMAIN
		      ? "no such name (validated NXDOMAIN)" : "no TLSA record (validated NODATA)");
		rc = c->require ? -1 : 0;
	} else {
		*tlsa = a.tlsa;
		a.tlsa = NULL;
	}
	sipdance_tlsa_set_free(a.tlsa);
	return rc;
}

/* settle - where the ClientName's TLSA records come from, before the
 * certificate is verified; DANE on @ssl when usable. 0 goes on
 * (authenticated or not yet), -1 refuses the handshake */
static int settle(SSL *ssl, const struct conf *c, struct conn *cn)
{
	enum sipdance_clientid_kind kind;
	struct sipdance_tlsa_set *tlsa = NULL;
	struct sipdance_verdict v;
	const char *domain, *first_why;
	const uint8_t *ext = NULL;
	char reason[256];
	size_t usable, len = 0;
	int rc = 0;

	cn->settled = 1;
	sipdance_clientid_check(cn->name, &kind, &domain, NULL);
	if (c->chain != SIPDANCE_CHAIN_OFF)
		ext = sipdance_chain_shipped(ssl, &len);
	/*
	 * The decision before the certificate is verified, case by case:
	 *  - name outside the allowlist: neither looked up (attackers choose
	 *    the name) nor its chain validated: not authenticated.
	 *  - a chain shipped (we asked for it): judged offline for exactly this
	 *    name (sd_clientid_chain_records). Whatever it fails to prove is
	 *    BOGUS and refused, never a reason to look up instead; a validated
	 *    denial or unsigned zone authenticates nothing; records: below.
	 *  - no chain, chains required: refused, nothing looked up.
	 *  - no chain, no lookup hook: PENDING; the handshake completes without
	 *    a DANE identity and the host looks the name up after it.
	 *  - no chain, the hook (lookup()): BOGUS or INDETERMINATE refused
	 *    always, a failed lookup never downgrades to "no DANE"; INSECURE or
	 *    a secure NODATA/NXDOMAIN authenticates nothing; records: below.
	 *  - records, none usable: UNUSABLE, not authenticated; usable: DANE
	 *    on, the verify callback decides (MATCH or refused).
	 * "Not authenticated" is refused with .require, else the handshake goes
	 * on without a DANE identity.
	 */
	if (!allowed(c, domain)) {
		judge(cn, SIPDANCE_UNUSABLE, "client domain not in the allowlist: not looked up");
		return c->require ? -1 : 0;
	}
	if (ext) {
		cn->via = SIPDANCE_CLIENTID_VIA_CHAIN;
		if (sd_clientid_chain_records(c->ta, cn->name, ext, len, 0, &tlsa, &v)) {
			judge(cn, SIPDANCE_INDETERMINATE, "out of memory validating the client chain");
			return -1;
		}
		if (!tlsa) {
			snprintf(reason, sizeof(reason), "%s", v.reason);
			judge(cn, v.result, reason);
			return v.result == SIPDANCE_BOGUS || c->require ? -1 : 0;
		}
	} else if (c->chain == SIPDANCE_CHAIN_REQUIRED) {
		judge(cn, SIPDANCE_INDETERMINATE, "no DNSSEC chain from the client (client chains "
		      "required): not looked up");
		return -1;
	} else if (!c->lookup) {
		cn->via = SIPDANCE_CLIENTID_VIA_PENDING;
		cn->judged = 1;
		sd_verdict_set(&cn->v, SIPDANCE_INDETERMINATE, "TLSA lookup after the handshake");
		sd_log(SIPDANCE_LOG_DEBUG, "clientid", "%s: no DNSSEC chain: to be looked up after the "
		       "handshake", cn->name);
		return 0;
	} else if ((rc = lookup(c, cn, &tlsa)) < 0 || !tlsa) {
		return rc;
	}
	if (sd_clientid_add_records(ssl, tlsa, &usable, &first_why)) {
		judge(cn, SIPDANCE_INDETERMINATE, "out of memory enabling DANE");
		rc = -1;
	} else if (usable == 0) {
		snprintf(reason, sizeof(reason), "no usable TLSA record (%s)", first_why);
		judge(cn, SIPDANCE_UNUSABLE, reason);
		rc = c->require ? -1 : 0;
	} else {
		cn->dane = 1;
	}
	sipdance_tlsa_set_free(tlsa);
	return rc;
}

/* add_cb - server: empty extension in CertificateRequest; client: ClientName
 * in the end-entity CertificateEntry */
static int add_cb(SSL *ssl, unsigned int type, unsigned int context, const unsigned char **out,
		  size_t *outlen, X509 *x, size_t chainidx, int *al, void *arg)
{
	const struct conf *c = arg;
	struct conn *cn;
	const char *name;
	uint8_t *buf;

	if (context == SSL_EXT_TLS1_3_CERTIFICATE_REQUEST) {
		if (!c->server)
			return 0;
		*out = empty_name;
		*outlen = sizeof(empty_name);
		return 1;
	}
	if (context != SSL_EXT_TLS1_3_CERTIFICATE || chainidx != 0)
		return 0;
	cn = conn_of(ssl, 0);
	name = cn && cn->send_name ? cn->send_name : c->name;
	if (!name)
		return 0;
	if (!(buf = malloc(SIPDANCE_CLIENTID_MAX + 1)) ||
	    sipdance_clientid_ext_encode(name, buf, SIPDANCE_CLIENTID_MAX + 1, outlen)) {
		free(buf);
		*al = SSL_AD_INTERNAL_ERROR;
		return -1;
	}
	*out = buf;
	return 1;
}

/* free_cb - release what add_cb allocated */
static void free_cb(SSL *ssl, unsigned int type, unsigned int context, const unsigned char *out,
		    void *arg)
{
	if (context == SSL_EXT_TLS1_3_CERTIFICATE)
		free((void *)out);
}

/* parse_cb - client: the server's request; server: the client's ClientName */
static int parse_cb(SSL *ssl, unsigned int type, unsigned int context, const unsigned char *in,
		    size_t inlen, X509 *x, size_t chainidx, int *al, void *arg)
{
	const struct conf *c = arg;
	char name[SIPDANCE_CLIENTID_MAX + 1], reason[160];
	const char *why = "";
	struct conn *cn = conn_of(ssl, 1);

	if (!cn) {
		*al = SSL_AD_INTERNAL_ERROR;
		return 0;
	}
	if (context == SSL_EXT_TLS1_3_CERTIFICATE_REQUEST) {
		if (sipdance_clientid_ext_decode(in, inlen, name, sizeof(name), &why) || name[0]) {
			sd_log(SIPDANCE_LOG_WARN, "clientid", "server's dane_clientid malformed: %s",
			       name[0] ? "it carries a name" : why);
			*al = SSL_AD_ILLEGAL_PARAMETER;
			return 0;
		}
		cn->asked = 1;
		return 1;
	}
	if (context != SSL_EXT_TLS1_3_CERTIFICATE || !c->server)
		return 1;
	if (chainidx != 0) {
		sd_log(SIPDANCE_LOG_DEBUG, "clientid", "dane_clientid on certificate %zu ignored", chainidx);
		return 1;
	}
	/*
	 * The ClientName itself: malformed extension_data, a zero-length name
	 * (only servers send that) or a name outside our syntax is a protocol
	 * violation and refused; otherwise it is judged before the certificate
	 * is verified (sipdance_clientid_decide), once every extension of the
	 * entry, the client's chain among them, has been read.
	 */
	cn->seen = 1;
	if (sipdance_clientid_ext_decode(in, inlen, name, sizeof(name), &why) || !name[0]) {
		snprintf(reason, sizeof(reason), "malformed dane_clientid: %s",
			 name[0] || why[0] ? why : "zero-length ClientName from a client");
		judge(cn, SIPDANCE_NOMATCH, reason);
		*al = SSL_AD_HANDSHAKE_FAILURE;
		return 0;
	}
	memcpy(cn->name, name, sizeof(name));
	return 1;
}

/* refuse - fail verification so that OpenSSL sends handshake_failure */
static int refuse(X509_STORE_CTX *xs)
{
	X509_STORE_CTX_set_error(xs, X509_V_ERR_APPLICATION_VERIFICATION);
	return 0;
}

/* verify_cb - the client certificate against the armed DANE records */
static int verify_cb(int ok, X509_STORE_CTX *xs)
{
	SSL *ssl = X509_STORE_CTX_get_ex_data(xs, SSL_get_ex_data_X509_STORE_CTX_idx());
	const struct conf *c = ssl ? conf_of(ssl) : NULL;
	struct sipdance_verdict v;
	struct conn *cn;
	char reason[200];
	int verr = X509_STORE_CTX_get_error(xs);

	if (!c)
		return ok;
	if (!SSL_is_server(ssl) || !c->server)
		return c->prev ? c->prev(ok, xs) : ok;
	if (!(cn = conn_of(ssl, 1)))
		return refuse(xs);
	/*
	 * Case by case:
	 *  - a ClientName whose decision never ran (the host's certificate
	 *    callback does not call sipdance_clientid_decide): refused;
	 *  - no DANE on this connection (no ClientName, or one judged not
	 *    authenticated before): refused with .require or below TLS 1.3,
	 *    unless it is PENDING (the host looks it up after the handshake);
	 *    otherwise the earlier callback (or acceptance) decides, without a
	 *    DANE identity.
	 *  - OpenSSL's check failed at any depth: NOMATCH, refused.
	 *  - intermediate depths that passed: go on.
	 *  - depth 0 passed: MATCH needs sd_clientid_decide (DANE-TA names).
	 */
	if (cn->seen && !cn->settled) {
		judge(cn, SIPDANCE_INDETERMINATE, "not judged: the certificate callback does not call "
		      "sipdance_clientid_decide()");
		cn->settled = 1;
		return refuse(xs);
	}
	if (!cn->dane) {
		if (!cn->judged)
			judge(cn, SIPDANCE_NODATA, SSL_version(ssl) < TLS1_3_VERSION
			      ? "TLS below 1.3: no dane_clientid possible" : "client sent no dane_clientid");
		if (c->require && cn->via != SIPDANCE_CLIENTID_VIA_PENDING)
			return refuse(xs);
		return c->prev ? c->prev(ok, xs) : 1;
	}
	if (!ok) {
		snprintf(reason, sizeof(reason), "certificate at depth %d: %s",
			 X509_STORE_CTX_get_error_depth(xs), X509_verify_cert_error_string(verr));
		judge(cn, SIPDANCE_NOMATCH, reason);
		return refuse(xs);
	}
	if (X509_STORE_CTX_get_error_depth(xs) > 0)
		return c->prev ? c->prev(ok, xs) : 1;
	sd_clientid_decide(ssl, X509_STORE_CTX_get_current_cert(xs), cn->name, X509_V_OK, &v);
	cn->v = v;
	judge(cn, v.result, v.reason);
	if (v.result != SIPDANCE_MATCH)
		return refuse(xs);
	cn->authenticated = 1;
	return c->prev ? c->prev(ok, xs) : 1;
}

/* sipdance_clientid_decide - the ClientName judged, then the certificate verified */
int sipdance_clientid_decide(X509_STORE_CTX *xctx)
{
	SSL *ssl = X509_STORE_CTX_get_ex_data(xctx, SSL_get_ex_data_X509_STORE_CTX_idx());
	const struct conf *c = ssl ? conf_of(ssl) : NULL;
	struct conn *cn;
	int rc;

	if (!c || !c->server || !SSL_is_server(ssl))
		return X509_verify_cert(xctx);
	if (!(cn = conn_of(ssl, 1)))
		return refuse(xctx);
	rc = cn->seen && !cn->settled ? settle(ssl, c, cn) : 0;
	/* a client's chain is judged now or never: a connection lives long, its copy need not */
	sd_chain_shipped_release(ssl);
	if (rc < 0)
		return refuse(xctx);
	/* records armed after OpenSSL set the verification up: hand them over */
	if (cn->dane)
		X509_STORE_CTX_set0_dane(xctx, SSL_get0_dane(ssl));
	return X509_verify_cert(xctx);
}

/* conf_copy - validated private copy of the caller's configuration */
static int conf_copy(const struct sipdance_clientid_conf *in, struct conf **out, const char **why)
{
	struct conf *c;

	if (in->ext_type > 0xffff)
		return sd_fail(why, "extension type above 65535", EINVAL);
	if (in->name && sipdance_clientid_check(in->name, NULL, NULL, why))
		return EINVAL;
	if (in->ndomains && !in->domains)
		return sd_fail(why, "allowlist count without a list", EINVAL);
	if (in->server && in->chain != SIPDANCE_CHAIN_OFF && !in->anchor && !in->trust_anchor)
		return sd_fail(why, "client chains need a trust anchor", EINVAL);
	if (!(c = calloc(1, sizeof(*c))))
		return ENOMEM;
	if (in->server && in->chain != SIPDANCE_CHAIN_OFF) {
		int err = sd_anchor_take(&c->ta, in->anchor, in->trust_anchor, why);

		if (err) {
			conf_free(c);
			return err;
		}
		c->chain = in->chain;
	}
	c->ext_type = in->ext_type ? in->ext_type : SIPDANCE_CLIENTID_EXT_TYPE;
	c->server = in->server;
	c->require = in->require;
	c->lookup = in->lookup;
	c->lookup_arg = in->lookup_arg;
	if ((in->name && !(c->name = strdup(in->name))) ||
	    (in->ndomains && !(c->domains = calloc(in->ndomains, sizeof(char *))))) {
		conf_free(c);
		return ENOMEM;
	}
	for (; c->ndomains < in->ndomains; c->ndomains++) {
		const char *d = in->domains[c->ndomains];
		size_t len = d ? strlen(d) : 0;

		if (len && d[len - 1] == '.')
			len--;
		if (!len || !(c->domains[c->ndomains] = strndup(d, len))) {
			conf_free(c);
			return len ? ENOMEM : sd_fail(why, "empty allowlist entry", EINVAL);
		}
	}
	*out = c;
	return 0;
}

/* sipdance_clientid_attach - register dane_clientid on a context */
int sipdance_clientid_attach(SSL_CTX *ctx, const struct sipdance_clientid_conf *conf,
			     const char **why)
{
	struct sipdance_clientid_conf cf;
	struct conf *c;
	int err;

	if ((err = SD_CONF(&cf, conf, why)))
		return err;
	conf = &cf;
	if (!ctx)
		return sd_fail(why, "no context", EINVAL);
	if (!CRYPTO_THREAD_run_once(&once, init_indexes) || ctx_idx < 0 || ssl_idx < 0)
		return sd_fail(why, "no OpenSSL ex_data slot", ENOMEM);
	if (SSL_CTX_get_ex_data(ctx, ctx_idx))
		return sd_fail(why, "dane_clientid already attached to this context", EINVAL);
	if ((err = conf_copy(conf, &c, why)))
		return err;
	if (!SSL_CTX_set_ex_data(ctx, ctx_idx, c)) {
		conf_free(c);
		return sd_fail(why, "out of memory", ENOMEM);
	}
	if (SSL_CTX_add_custom_ext(ctx, c->ext_type, SSL_EXT_TLS1_3_CERTIFICATE_REQUEST |
				   SSL_EXT_TLS1_3_CERTIFICATE, add_cb, free_cb, c, parse_cb, c) != 1) {
		SSL_CTX_set_ex_data(ctx, ctx_idx, NULL);
		conf_free(c);
		ERR_clear_error();
		return sd_fail(why, "extension type already registered or handled by OpenSSL",
				   EINVAL);
	}
	if ((conf->chain_source && (err = sipdance_chain_ship(ctx, conf->chain_source))) ||
	    (c->server && c->chain != SIPDANCE_CHAIN_OFF && (err = sipdance_chain_ask_clients(ctx))))
		return err == EEXIST ? sd_fail(why, "extension 59 (dnssec_chain) already registered on "
					    "this context by someone else", EINVAL)
				     : sd_fail(why, "out of memory", err);
	if (!c->server)
		return 0;
	/*
	 * Server role: DANE on the context; the ClientName judged before the
	 * certificate is verified (our certificate callback); SSL_VERIFY_PEER
	 * with our verify callback after any earlier one; no TLS 1.3 tickets (a
	 * resumed session skips the client certificate, so it would carry no
	 * DANE identity); with .require, nothing below TLS 1.3 (TLS 1.2 has no
	 * place for the name).
	 */
	if (SSL_CTX_dane_enable(ctx) <= 0 || !SSL_CTX_set_num_tickets(ctx, 0) ||
	    (c->require && !SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION))) {
		ERR_clear_error();
		return sd_fail(why, "cannot enable DANE on the context", ENOMEM);
	}
	SSL_CTX_set_cert_verify_callback(ctx, sd_tls_cert_verify, NULL);
	c->prev = SSL_CTX_get_verify_callback(ctx);
	SSL_CTX_set_verify(ctx, SSL_CTX_get_verify_mode(ctx) | SSL_VERIFY_PEER |
			   (c->require ? SSL_VERIFY_FAIL_IF_NO_PEER_CERT : 0), verify_cb);
	return 0;
}

/* sipdance_clientid_set_name - per-connection ClientName of a client */
int sipdance_clientid_set_name(SSL *ssl, const char *name)
{
	struct conn *cn;
	char *copy;

	if (!ssl || !name || sipdance_clientid_check(name, NULL, NULL, NULL))
		return EINVAL;
	if (!(cn = conn_of(ssl, 1)) || !(copy = strdup(name)))
		return ENOMEM;
	free(cn->send_name);
	cn->send_name = copy;
	return 0;
}

/* sipdance_clientid_server_asked - whether the CertificateRequest carried the extension */
int sipdance_clientid_server_asked(const SSL *ssl)
{
	const struct conn *cn = ssl ? conn_of(ssl, 0) : NULL;

	return cn && cn->asked;
}

/* sipdance_clientid_peer_name - the authenticated ClientName, or NULL */
const char *sipdance_clientid_peer_name(const SSL *ssl)
{
	const struct conn *cn = ssl ? conn_of(ssl, 0) : NULL;

	if (!cn || !cn->authenticated || SSL_get_verify_result(ssl) != X509_V_OK)
		return NULL;
	return cn->name;
}

/* sipdance_clientid_peer_claimed - the ClientName sent, authenticated or not */
const char *sipdance_clientid_peer_claimed(const SSL *ssl)
{
	const struct conn *cn = ssl ? conn_of(ssl, 0) : NULL;

	return cn && cn->seen ? cn->name : NULL;
}

/* sipdance_clientid_peer_via - how the connection's ClientName is judged */
enum sipdance_clientid_via sipdance_clientid_peer_via(const SSL *ssl)
{
	const struct conn *cn = ssl ? conn_of(ssl, 0) : NULL;

	return cn && cn->seen ? cn->via : SIPDANCE_CLIENTID_VIA_NONE;
}

/* sipdance_clientid_via_str - the name of a way of judging */
const char *sipdance_clientid_via_str(enum sipdance_clientid_via via)
{
	switch (via) {
	case SIPDANCE_CLIENTID_VIA_CHAIN: return "client-chain";
	case SIPDANCE_CLIENTID_VIA_DNS: return "dns";
	case SIPDANCE_CLIENTID_VIA_PENDING: return "pending";
	default: return "none";
	}
}

/* sipdance_clientid_peer_verdict - the connection's outcome */
int sipdance_clientid_peer_verdict(const SSL *ssl, struct sipdance_verdict *v)
{
	const struct conn *cn = ssl ? conn_of(ssl, 0) : NULL;

	if (!v)
		return EINVAL;
	if (!cn || !cn->judged || !cn->seen)
		return ENOENT;
	*v = cn->v;
	return 0;
}
