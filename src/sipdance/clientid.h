/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * sipdance/clientid.h - TLS client authentication through DANE
 * (draft-ietf-dance-client-auth): ClientNames for users ("alice@a.example" ->
 * hex(SHA-256("alice")[0:28])._user.a.example) and for proxies (a host name),
 * the dane_clientid extension, and its use on an OpenSSL SSL_CTX. A client
 * may ship the DNSSEC chain of its TLSA records (docs/client-chain.md): the
 * server then judges it offline and looks nothing up.
 *
 * Case folding: the local part is hashed as UTF-8 after lowercasing ASCII
 * A-Z only (SIP compares AORs case-insensitively, so Alice@ and alice@ are
 * one user); other octets are hashed as given, so a non-ASCII local part must
 * be published and sent in the same (NFC) form. RFC 7929 hashes the local
 * part unchanged: for an all-lowercase local part both rules give the same
 * name. The domain must be in A-labels and is lowercased.
 */
#ifndef SIPDANCE_CLIENTID_H
#define SIPDANCE_CLIENTID_H

#include <stdint.h>
#include <time.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sipdance/common.h>
#include <sipdance/tlsa.h>
#include <sipdance/dns.h>
#include <sipdance/chain.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * TLS ExtensionType of dane_clientid. The draft's IANA section still reads
 * "value TBD" and no registry copy we could read lists it, so this is a
 * provisional value from the Private Use range (0xFF00-0xFFFF, RFC 8446
 * §4.2); sipdance_clientid_conf.ext_type overrides it at run time.
 */
#define SIPDANCE_CLIENTID_EXT_TYPE 0xFFDA

/* Longest ClientName: a DNS name in presentation form without the final dot. */
#define SIPDANCE_CLIENTID_MAX 255

enum sipdance_clientid_kind {
	SIPDANCE_CLIENTID_USER, /* <56 hex>._user.<domain> */
	SIPDANCE_CLIENTID_HOST, /* a plain host name, e.g. sip.a.example */
};

/**
 * The ClientName of user @address ("local@domain", optionally "sip:" or
 * "sips:" first) into @out (SIPDANCE_CLIENTID_MAX + 1 bytes suffice), without
 * the final dot. 0, EINVAL (malformed address, *why says how) or EMSGSIZE.
 */
SIPDANCE_API int sipdance_clientid_user_name(const char *address, char *out,
					     size_t size, const char **why);

/**
 * Check ClientName syntax: letters, digits, hyphens (and the _user label),
 * labels of 1-63 octets, at least two labels, at most 255 octets, no final
 * dot, no escapes, A-labels only. A first label of 56 lowercase hex digits
 * followed by "_user" makes a user name. 0 with *kind and *domain (a pointer
 * into @name: the user's domain, or the host name itself), or EINVAL.
 */
SIPDANCE_API int sipdance_clientid_check(const char *name,
					 enum sipdance_clientid_kind *kind,
					 const char **domain, const char **why);

/**
 * extension_data of dane_clientid (opaque ClientName<0..2^8-1>) into @buf:
 * @name NULL or "" gives the server's empty form. 0 with *len set, EINVAL
 * (name fails sipdance_clientid_check) or EMSGSIZE (buffer too small).
 */
SIPDANCE_API int sipdance_clientid_ext_encode(const char *name, uint8_t *buf,
					      size_t size, size_t *len);

/**
 * Decode extension_data into @name (SIPDANCE_CLIENTID_MAX + 1 bytes); the
 * empty form gives "". 0; EBADMSG (no length octet, length and data
 * disagree), EMSGSIZE (longer than any ClientName, or @size too small),
 * EINVAL (the name fails sipdance_clientid_check); *why says which.
 */
SIPDANCE_API int sipdance_clientid_ext_decode(const uint8_t *data, size_t len,
					      char *name, size_t size,
					      const char **why);

/**
 * Whether @cert names @client_name for a DANE-TA match: for a user name, a
 * SAN rfc822Name or URI sip:/sips:local@domain whose ClientName is
 * @client_name; for a host name, a SAN dNSName equal to it (no wildcards).
 * 1 or 0.
 */
SIPDANCE_API int sipdance_clientid_cert_names(X509 *cert, const char *client_name);

/**
 * Verify @chain (client certificate first) against the TLSA RRset found at
 * @client_name, outside a handshake: DANE-EE(3) and DANE-TA(2) records are
 * usable, DANE-TA also needs sipdance_clientid_cert_names(). @at 0 = now.
 * 0 with MATCH, NOMATCH or UNUSABLE in *v; EINVAL or ENOMEM.
 */
SIPDANCE_API int sipdance_clientid_verify(const char *client_name,
					  const struct sipdance_tlsa_set *tlsa,
					  STACK_OF(X509) *chain, time_t at,
					  struct sipdance_verdict *v);

/**
 * Judge a chain a client shipped (extension_data @ext: lifetime, then the
 * AuthenticationChain) for @client_name, offline: it must validate under @ta
 * at @at (0 = now) and prove the TLSA RRset at exactly @client_name (no
 * alias), whose records must match @chain (client certificate first) as in
 * sipdance_clientid_verify(). 0 with *v: MATCH; NOMATCH or UNUSABLE (records
 * that do not match); BOGUS (malformed, not valid, another name: a refusal,
 * never a reason to look up instead); NODATA or INSECURE (the chain proves
 * there is no usable TLSA). EINVAL or ENOMEM.
 */
SIPDANCE_API int sipdance_clientid_verify_chain(const struct sipdance_anchor *ta,
						const char *client_name, const uint8_t *ext,
						size_t len, STACK_OF(X509) *chain, time_t at,
						struct sipdance_verdict *v);

/* What a TLSA lookup for a ClientName found. */
struct sipdance_clientid_answer {
	enum sipdance_dns_status status;
	enum sipdance_dns_rcode rcode;
	struct sipdance_tlsa_set *tlsa; /* FOUND: set by the hook, freed by the library */
	char why[128];                  /* BOGUS, INDETERMINATE: the cause */
};

/**
 * TLSA lookup hook: fill *out for exactly @name. It runs inside the
 * server's SSL_accept()/SSL_do_handshake() and blocks it: OpenSSL 3.0 cannot
 * suspend server-side certificate verification (SSL_set_retry_verify() is
 * honoured on clients only), so the lookup is synchronous and must be bounded
 * in time. A host with an event loop sets no hook and looks names up after
 * the handshake instead (sipdance_clientid_lookup_start()). A non-zero
 * (errno) return counts as INDETERMINATE.
 */
typedef int (sipdance_clientid_lookup_fn)(void *arg, const char *name,
					  struct sipdance_clientid_answer *out);

/**
 * The default hook: sipdance_dns_lookup_sync() on @arg, a struct
 * sipdance_dns (its timeout bounds the handshake's wait).
 */
SIPDANCE_API int sipdance_clientid_dns_lookup(void *arg, const char *name,
					      struct sipdance_clientid_answer *out);

struct sipdance_clientid_conf {
	size_t size;              /* sizeof(struct sipdance_clientid_conf): the caller sets it */
	unsigned ext_type;      /* 0: SIPDANCE_CLIENTID_EXT_TYPE */
	/* client role */
	const char *name;       /* ClientName sent when the server asks; NULL: none */
	struct sipdance_chain_source *chain_source; /* our chain (conf.owner = name), shipped
						       when a server asks; NULL: none (borrowed) */
	/* server role */
	int server;             /* ask clients for a certificate and dane_clientid */
	int require;            /* refuse clients that do not authenticate, and TLS < 1.3 */
	const char *const *domains; /* allowlist: names at or under these are looked up */
	size_t ndomains;
	sipdance_clientid_lookup_fn *lookup; /* in the handshake; NULL: after it (PENDING) */
	void *lookup_arg;
	enum sipdance_chain_policy chain; /* clients' own chains: OFF not asked; PREFER asked,
					     without one a lookup; REQUIRED asked, without one
					     refused and nothing looked up */
	struct sipdance_anchor *anchor; /* the chains validate to it (a reference is held), or */
	const char *trust_anchor; /* to a file loaded for this context alone; one of them is
				     required unless chain is OFF */
};

/**
 * Register dane_clientid on @ctx for the roles @conf enables (copied; the
 * lookup argument and the chain source are borrowed and must outlive @ctx).
 * Server role: sends the empty extension in CertificateRequest (and
 * dnssec_chain, unless .chain is OFF), enables DANE on @ctx, installs a
 * certificate verification callback (SSL_CTX_set_cert_verify_callback: a
 * host with its own calls sipdance_clientid_decide() from it) and a verify
 * callback that runs after any callback already set, and with .require sets
 * TLS 1.3 as the minimum version and requires a certificate. The decision,
 * before the certificate is verified:
 *  - a ClientName outside the allowlist: not authenticated, nothing done;
 *  - a chain shipped: judged offline as sipdance_clientid_verify_chain()
 *    (an invalid one is refused, never looked up instead);
 *  - no chain under .chain REQUIRED: refused, nothing looked up;
 *  - no chain otherwise: .lookup in the handshake, or with no hook the
 *    handshake completes with the ClientName PENDING: not authenticated until
 *    the host looks it up (sipdance_clientid_peer_via(), _lookup_start()).
 * Every DANE failure is a handshake_failure alert, the reason goes to the
 * log (TLS 1.2 clients get protocol_version, clients without a certificate
 * certificate_required, as TLS 1.3 prescribes). TLS 1.3 session tickets are
 * turned off: a resumed session would carry no DANE identity. Client role:
 * sends .name when asked, and .chain_source's chain when asked for it. Call
 * once per SSL_CTX. 0, EINVAL (*why) or ENOMEM.
 */
SIPDANCE_API int sipdance_clientid_attach(SSL_CTX *ctx,
					  const struct sipdance_clientid_conf *conf,
					  const char **why);

/**
 * The certificate decision of a server SSL with dane_clientid attached, for
 * a host that installs its own certificate verification callback after
 * sipdance_clientid_attach(): call it from there and return its value. For
 * other SSLs it is X509_verify_cert(@xctx).
 */
SIPDANCE_API int sipdance_clientid_decide(X509_STORE_CTX *xctx);

/** Client role: send @name on this connection instead of the configured one. */
SIPDANCE_API int sipdance_clientid_set_name(SSL *ssl, const char *name);

/** Client role: whether the server asked for dane_clientid (after its CertificateRequest). */
SIPDANCE_API int sipdance_clientid_server_asked(const SSL *ssl);

/**
 * Server role, after the handshake: the DANE-authenticated ClientName, or
 * NULL when the client is not authenticated. Borrowed from @ssl.
 */
SIPDANCE_API const char *sipdance_clientid_peer_name(const SSL *ssl);

/**
 * Server role: the outcome for this connection (MATCH only when
 * sipdance_clientid_peer_name() is set), with its reason. 0, or ENOENT when
 * the client sent no ClientName (or the handshake never got that far).
 */
SIPDANCE_API int sipdance_clientid_peer_verdict(const SSL *ssl, struct sipdance_verdict *v);

/* How a connection's ClientName was judged. */
enum sipdance_clientid_via {
	SIPDANCE_CLIENTID_VIA_NONE,    /* no ClientName, or judged without any TLSA */
	SIPDANCE_CLIENTID_VIA_CHAIN,   /* the client's own DNSSEC chain: no DNS query */
	SIPDANCE_CLIENTID_VIA_DNS,     /* a TLSA lookup in the handshake (.lookup) */
	SIPDANCE_CLIENTID_VIA_PENDING, /* not yet: no chain, no hook; the host looks it up */
};

/**
 * Server role: the ClientName the client of @ssl sent, whatever became of
 * it (e.g. PENDING: the name to look up), borrowed from @ssl; NULL if none.
 * Only sipdance_clientid_peer_name() is an identity.
 */
SIPDANCE_API const char *sipdance_clientid_peer_claimed(const SSL *ssl);
/** Server role: how the ClientName of @ssl was judged (or is to be). */
SIPDANCE_API enum sipdance_clientid_via sipdance_clientid_peer_via(const SSL *ssl);
/** "client-chain", "dns", "pending" or "none". */
SIPDANCE_API const char *sipdance_clientid_via_str(enum sipdance_clientid_via via);

/* ---- Looking a ClientName up after the handshake, on the host's loop ---- */

struct sipdance_clientid_lookup; /* one pending lookup */

/** The outcome of a lookup: MATCH authenticates @client_name; anything else does not. */
typedef void (sipdance_clientid_done_fn)(void *arg, const struct sipdance_verdict *v);

/**
 * Look up the TLSA records of @client_name through @dns (asynchronous, on
 * its loop) and verify @chain (the certificates the client proved in its
 * handshake, end entity first; references are taken) against them, with the
 * case list of the handshake's lookup: BOGUS or INDETERMINATE answers are
 * refusals, INSECURE and validated denials authenticate nothing, records
 * are matched as sipdance_clientid_verify(). @done runs once, from the loop,
 * unless cancelled. 0, EINVAL or ENOMEM.
 */
SIPDANCE_API int sipdance_clientid_lookup_start(struct sipdance_dns *dns, const char *client_name,
						STACK_OF(X509) *chain, sipdance_clientid_done_fn *done,
						void *arg, struct sipdance_clientid_lookup **out);
/** Cancel a pending lookup: @done will not run. NULL is accepted. */
SIPDANCE_API void sipdance_clientid_lookup_cancel(struct sipdance_clientid_lookup *l);

#ifdef __cplusplus
}
#endif
#endif
