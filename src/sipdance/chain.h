/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * sipdance/chain.h - the TLS DNSSEC chain extension (RFC 9102, type 59): build
 * the chain for our own TLSA name, serve it, and on the client validate a
 * received chain offline against the trust anchor, honour pins and feed the
 * TLSA records to DANE matching. No DNS lookup happens on the client. The
 * same extension in the other direction (docs/client-chain.md): a TLS 1.3
 * server asks for it in its CertificateRequest, a DANCE client ships the
 * chain of its own TLSA name, and the server needs no lookup either.
 *
 * AuthenticationChain: uncompressed wire RRs, each RRset followed by its
 * RRSIGs; first the TLSA RRset (or a signed NSEC denial), then DNSKEY and DS
 * RRsets up to the trust anchor. extension_data = uint16 lifetime (hours) +
 * the chain. The validator does not depend on RRset order.
 */
#ifndef SIPDANCE_CHAIN_H
#define SIPDANCE_CHAIN_H

#include <stdint.h>
#include <time.h>
#include <openssl/ssl.h>
#include <sipdance/common.h>
#include <sipdance/tlsa.h>
#include <sipdance/dane.h>
#include <sipdance/anchor.h>
#include <sipdance/loop.h>

#ifdef __cplusplus
extern "C" {
#endif

/* TLS ExtensionType dnssec_chain (RFC 9102 §7). */
#define SIPDANCE_CHAIN_EXT_TYPE 59
/* Largest extension_data a TLS 1.3 CertificateEntry can carry alone. */
#define SIPDANCE_CHAIN_MAX_EXT 65531
/* Largest chain accepted: the uint16 length of AuthenticationChain. */
#define SIPDANCE_CHAIN_MAX 65535

/* ---- Serialisation ---- */

/**
 * Split extension_data into lifetime (hours) and chain (borrowed from @ext).
 * 0 or EBADMSG with *why (shorter than 3 octets).
 */
SIPDANCE_API int sipdance_chain_ext_decode(const uint8_t *ext, size_t len,
					   uint16_t *lifetime, const uint8_t **chain,
					   size_t *chain_len, const char **why);
/**
 * extension_data for @chain with @lifetime hours, malloc'd into *out.
 * 0, EINVAL (empty chain), EMSGSIZE (larger than SIPDANCE_CHAIN_MAX_EXT), ENOMEM.
 */
SIPDANCE_API int sipdance_chain_ext_encode(uint16_t lifetime, const uint8_t *chain,
					   size_t chain_len, uint8_t **out, size_t *out_len);

/**
 * Strict structural parse of an AuthenticationChain: every length checked,
 * no name compression, class IN, RDATA of known types well formed. 0 with
 * the RR count in *nrr (may be NULL), or EBADMSG / EMSGSIZE with *why.
 */
SIPDANCE_API int sipdance_chain_parse(const uint8_t *chain, size_t len, size_t *nrr,
				      const char **why);

/* ---- Offline validation ---- */

/* What a chain proves, like a DNS answer: status, rcode and the records. */
struct sipdance_chain_result {
	int secure;                     /* 1: validated up to the anchor; 0: bogus */
	int denial;                     /* 1: validated proof that no TLSA applies: none
					 * exists, or the name is in an unsigned zone */
	int insecure;                   /* 1: that unsigned zone (why: which delegation) */
	struct sipdance_tlsa_set *tlsa; /* the validated TLSA RRset (secure, !denial) */
	char name[256];                 /* the TLSA owner after validated aliases */
	uint32_t ttl;                   /* smallest TTL of the RRsets used */
	time_t expires;                 /* earliest RRSIG expiration used */
	char why[200];                  /* bogus: which RRset failed and why; insecure: where */
};

/**
 * Validate @chain (bare AuthenticationChain) against @ta at time @at (0 =
 * now) for TLSA owner @owner (e.g. "_5061._tcp.sip.a.example", trailing dot
 * optional). Checks every RRSIG (window, algorithm, key tag, signer is the
 * zone that holds the RRset), DS->DNSKEY links from the anchor down, CNAME
 * and DNAME aliases, wildcard expansions with their proof, NSEC and NSEC3
 * denials, insecure delegations (no DS, NSEC3 opt-out, DS of unsupported
 * algorithms only). Returns 0 with *r filled: secure with records, secure
 * with a denial (or insecure), or not secure with r->why naming the RRset
 * and the cause. EINVAL (NULL argument, malformed @owner) or ENOMEM otherwise.
 * Release r->tlsa with sipdance_chain_result_clear().
 */
SIPDANCE_API int sipdance_chain_validate(const struct sipdance_anchor *ta,
					 const uint8_t *chain, size_t len,
					 const char *owner, time_t at,
					 struct sipdance_chain_result *r);
/** Free the records of a result and zero it. */
SIPDANCE_API void sipdance_chain_result_clear(struct sipdance_chain_result *r);

/* ---- Building (the side that sends its chain) ---- */

/**
 * Fetch the chain of the TLSA RRset at @owner (e.g. a DANCE client's
 * ClientName "<hash>._user.a.example") like sipdance_chain_fetch().
 */
SIPDANCE_API int sipdance_chain_fetch_owner(const char *resolver, const struct sipdance_anchor *ta,
					    const char *owner, unsigned timeout_ms,
					    uint8_t **out, size_t *out_len, const char **why);

/**
 * Fetch the chain for "_<port>._tcp.<host>" through @resolver ("ADDR[@PORT]")
 * validating up to @ta, as a bare AuthenticationChain in
 * RFC 9102 order, malloc'd into *out. A TLSA RRset, or the NSEC denial when
 * the name has none. 0; EINVAL (bad arguments), ETIMEDOUT (no answer),
 * EBADMSG (answer not secure: bogus or insecure), ENOMEM; *why says which.
 */
SIPDANCE_API int sipdance_chain_fetch(const char *resolver, const struct sipdance_anchor *ta,
				      const char *host, uint16_t port, unsigned timeout_ms,
				      uint8_t **out, size_t *out_len, const char **why);

/* Where our chain comes from: a server's, or a DANCE client's (.owner). */
struct sipdance_chain_source_conf {
	size_t size;              /* sizeof(struct sipdance_chain_source_conf): the caller sets it */
	struct sipdance_anchor *anchor; /* the chain is checked before use: the trust anchor
					   (a reference is held), or */
	const char *trust_anchor; /* a file loaded for this source alone */
	const char *resolver;     /* "ADDR[@PORT]": fetch live, or */
	const char *file;         /* extension_data file written by `sipdance chain build` */
	const char *host;         /* our host name (SNI the clients send) */
	uint16_t port;            /* our TLS port */
	const char *owner;        /* a client's TLSA owner (its ClientName) instead of
				     _port._tcp.host; our certificate is then matched as
				     a server matches a client (sipdance_clientid_verify) */
	uint16_t lifetime;        /* ExtSupportLifetime in hours (0 = clients must not pin) */
	unsigned timeout_ms;      /* DNS timeout; 0 = 3000 */
	unsigned refresh_s;       /* refresh at least this often, seconds (0 = as the TTLs say) */
	const char *ca_file;      /* PKIX roots for PKIX-TA/EE records when our certificate is
				     matched (sipdance_chain_source_set_cert); NULL: none */
	struct sipdance_loop *loop; /* where sipdance_chain_source_refresh_start() runs (a
				     resolver of the source's own on it asks for the chain);
				     NULL: refreshes only block (sipdance_chain_source_refresh) */
};

struct sipdance_chain_source; /* the current extension_data and when it expires */

/**
 * A source; does the first load (fetch or file) before it returns, blocking
 * up to the DNS timeout: a host loads before it serves. Fails like
 * sipdance_chain_fetch, or EBADMSG when the chain does not validate.
 */
SIPDANCE_API int sipdance_chain_source_alloc(struct sipdance_chain_source **out,
					     const struct sipdance_chain_source_conf *conf,
					     const char **why);
/** Free a source; NULL is accepted. Connections in progress keep their copy. */
SIPDANCE_API void sipdance_chain_source_free(struct sipdance_chain_source *s);
/**
 * Fetch or reload now, blocking up to the DNS timeout: for hosts without a
 * loop (a host with one uses sipdance_chain_source_refresh_start()). On
 * failure the previous chain stays in use until it expires. Errors as
 * sipdance_chain_source_alloc; EBUSY while a refresh started on the loop is
 * under way.
 */
SIPDANCE_API int sipdance_chain_source_refresh(struct sipdance_chain_source *s,
					       const char **why);
/**
 * How a refresh started by sipdance_chain_source_refresh_start() ended: @err
 * 0 when a new chain is served, else as sipdance_chain_source_refresh() fails
 * (with @why) and the previous chain stays.
 */
typedef void (sipdance_chain_source_done_fn)(void *arg, struct sipdance_chain_source *s, int err,
					     const char *why);
/**
 * Refresh without blocking, on the source's loop (conf.loop): the chain is
 * fetched there (a file is read when the loop comes round) and checked as
 * sipdance_chain_source_refresh() checks it, the previous chain is served
 * until a new one has passed, and @done runs from the loop once it has, or
 * once the refresh failed (the previous chain stays). A refresh already under
 * way is cancelled first, without its callback; sipdance_chain_source_free()
 * cancels one the same way. 0; EINVAL (no loop configured), ENOMEM, EIO (the
 * resolver took no query: retried as after a failure), with *why.
 */
SIPDANCE_API int sipdance_chain_source_refresh_start(struct sipdance_chain_source *s,
						     sipdance_chain_source_done_fn *done, void *arg,
						     const char **why);
/**
 * Whether the chain @s serves now matches our certificate @cert (end entity
 * first) as a peer would check it: its TLSA records MATCH @cert (DANE, our
 * host as reference identifier), or it proves there is no TLSA. 0; EBADMSG
 * with *why (no match, no valid chain); EINVAL.
 */
SIPDANCE_API int sipdance_chain_source_check_cert(const struct sipdance_chain_source *s,
						  STACK_OF(X509) *cert, const char **why);
/**
 * Hold @s to our certificate @cert: checked now (as above: EBADMSG, nothing
 * changes), then every refresh whose chain does not match it fails like one
 * that does not validate, and the current chain stays. References to @cert
 * are taken. 0, EBADMSG, EINVAL, ENOMEM.
 */
SIPDANCE_API int sipdance_chain_source_set_cert(struct sipdance_chain_source *s,
						STACK_OF(X509) *cert, const char **why);
/**
 * When the host should refresh: three quarters into the smallest TTL (or
 * after refresh_s, when sooner), and at least 10 minutes before the earliest
 * RRSIG expiration; never sooner than 10 s; 30 s after a failed refresh; 0
 * while a refresh started on the loop is under way.
 */
SIPDANCE_API time_t sipdance_chain_source_next_refresh(const struct sipdance_chain_source *s);
/**
 * The extension_data to serve at @now (0 = now), borrowed until the next
 * refresh (the TLS callbacks take a copy under the source's lock, so a
 * refresh from another thread is safe for them); NULL once the chain has
 * expired (serve none, never a stale one).
 */
SIPDANCE_API const uint8_t *sipdance_chain_source_get(const struct sipdance_chain_source *s,
						      time_t now, size_t *len);

/* ---- Pins (RFC 9102 §3.4) ---- */

struct sipdance_chain_pins; /* (name, port) -> until when the extension is required */

/**
 * A pin store of at most @max entries (0 = 1024; the earliest-expiring pin
 * is dropped when full), kept in @file (NULL: memory only) and rewritten
 * atomically on every change. A missing file is an empty store. 0, EINVAL
 * (malformed file: *why), ENOMEM.
 */
SIPDANCE_API int sipdance_chain_pins_open(struct sipdance_chain_pins **out, const char *file,
					  size_t max, const char **why);
/** Free a store; NULL is accepted. */
SIPDANCE_API void sipdance_chain_pins_free(struct sipdance_chain_pins *p);
/**
 * Record that @name:@port served a validated chain with @lifetime hours at
 * @now: pinned until now + lifetime; lifetime 0 removes the pin. 0, EINVAL,
 * ENOMEM, or an errno of writing the file (the pin is kept in memory).
 */
SIPDANCE_API int sipdance_chain_pins_note(struct sipdance_chain_pins *p, const char *name,
					  uint16_t port, uint16_t lifetime, time_t now);
/** Until when @name:@port must send the chain, or 0 when not pinned at @now. */
SIPDANCE_API time_t sipdance_chain_pins_until(const struct sipdance_chain_pins *p,
					      const char *name, uint16_t port, time_t now);
/** A pin changed: @name (lowercase, no trailing dot):@port is pinned until
 *  @until, or no longer (@until 0). */
typedef void (sipdance_chain_pins_fn)(void *arg, const char *name, uint16_t port, time_t until);
/**
 * Tell @fn (with @arg; NULL: nobody) of each change sipdance_chain_pins_note()
 * makes, from the thread that calls it (a handshake's), after the store is
 * unlocked: e.g. to share pins with the other nodes of a domain. A pin
 * renewed within a minute of what it was is no change. @fn must not call @p.
 */
SIPDANCE_API void sipdance_chain_pins_watch(struct sipdance_chain_pins *p, sipdance_chain_pins_fn *fn,
					    void *arg);
/**
 * Take a pin learned elsewhere (another node's handshake, read from a shared
 * store): @name:@port pinned until @until unless it is already pinned as long
 * or longer. Only ever a tightening: it never shortens or removes a pin, and
 * the watcher is not told. 0; EINVAL for a bad name, port 0, an @until not
 * after @now or more than 65535 hours (the longest lifetime) ahead; an errno
 * of writing the file (kept in memory).
 */
SIPDANCE_API int sipdance_chain_pins_merge(struct sipdance_chain_pins *p, const char *name,
					   uint16_t port, time_t until, time_t now);

/* ---- TLS ---- */

/* What the client does when no chain arrives and nothing is pinned. */
enum sipdance_chain_policy {
	SIPDANCE_CHAIN_OFF,      /* do not ask; the SSL's own verification decides */
	SIPDANCE_CHAIN_PREFER,   /* ask; without a chain the SSL's own verification decides */
	SIPDANCE_CHAIN_REQUIRED, /* ask; without a valid chain authentication fails */
};

/** "required", "prefer" or "off"; 0 or EINVAL. */
SIPDANCE_API int sipdance_chain_policy_parse(const char *s, enum sipdance_chain_policy *out);

/**
 * Serve @src on every server SSL of @ctx: in TLS 1.3 in the end-entity
 * CertificateEntry, in TLS 1.2 in the ServerHello, only when the ClientHello
 * carried the extension with port @src's port, and only while the chain has
 * not expired. @src must outlive @ctx. 0, EINVAL, ENOMEM; EEXIST when @ctx
 * already serves a source.
 */
SIPDANCE_API int sipdance_chain_server_attach(SSL_CTX *ctx, struct sipdance_chain_source *src);

/* ---- Client-shipped chains (docs/client-chain.md) ---- */

/**
 * Server: ask every TLS 1.3 client of @ctx for its own chain (extension 59,
 * empty, in the CertificateRequest) and keep what the client's end-entity
 * CertificateEntry carries for sipdance_chain_shipped(); one in another entry
 * is ignored. Judging it is the caller's (sipdance_clientid_attach() does it
 * with the dane_clientid name; sipdance_clientid_verify_chain() otherwise).
 * 0, EINVAL, ENOMEM; EEXIST when 59 was registered on @ctx by someone else.
 */
SIPDANCE_API int sipdance_chain_ask_clients(SSL_CTX *ctx);

/**
 * Client: when a server asks, ship @src's current chain (with lifetime 0: a
 * server does not pin clients) in our end-entity CertificateEntry; nothing
 * once it has expired. @src must outlive @ctx. 0, EINVAL, ENOMEM; EEXIST
 * when @ctx already ships a source or 59 was registered by someone else.
 */
SIPDANCE_API int sipdance_chain_ship(SSL_CTX *ctx, struct sipdance_chain_source *src);

/**
 * Server: the extension_data the client of @ssl shipped in its end-entity
 * CertificateEntry (borrowed from @ssl, *len set), or NULL if none. With
 * dane_clientid's server role on the context it is judged in the handshake
 * and freed there (NULL after).
 */
SIPDANCE_API const uint8_t *sipdance_chain_shipped(const SSL *ssl, size_t *len);

/** Client: whether we shipped our chain on @ssl (the server asked, we had one). */
SIPDANCE_API int sipdance_chain_shipped_ours(const SSL *ssl);

/* The client side: anchor, pins, DANE verifier and policy, shared by
 * connections, also of several threads (the pin store has a lock). */
struct sipdance_chain_client;

struct sipdance_chain_client_conf {
	size_t size;              /* sizeof(struct sipdance_chain_client_conf): the caller sets it */
	struct sipdance_anchor *anchor; /* the trust anchor (a reference is held), or */
	const char *trust_anchor; /* a file loaded for this client alone */
	const char *pin_file;     /* NULL: pins in memory only */
	size_t max_pins;          /* 0 = 1024 */
	const char *ca_file;      /* PKIX roots for TLSA usages 0 and 1; may be NULL */
	enum sipdance_chain_policy policy;
};

/** A client. 0, EINVAL with *why (anchor, pin file, CA file), ENOMEM. */
SIPDANCE_API int sipdance_chain_client_alloc(struct sipdance_chain_client **out,
					     const struct sipdance_chain_client_conf *conf,
					     const char **why);
/** Free a client (after every SSL attached to it); NULL is accepted. */
SIPDANCE_API void sipdance_chain_client_free(struct sipdance_chain_client *c);
/** The pin store of client @c (freed with it), or NULL. */
SIPDANCE_API struct sipdance_chain_pins *sipdance_chain_client_pins(struct sipdance_chain_client *c);

/**
 * Register the extension and the certificate decision on client context
 * @ctx, once before its SSLs are created: this sets the context's
 * certificate verify callback (SSL_CTX_set_cert_verify_callback). SSLs of
 * @ctx that are not attached are verified by OpenSSL as usual.
 * 0, EINVAL, ENOMEM, EEXIST.
 */
SIPDANCE_API int sipdance_chain_client_ctx_attach(SSL_CTX *ctx, struct sipdance_chain_client *c);

/**
 * The certificate decision itself, for a host that installs its own
 * certificate verify callback after sipdance_chain_client_ctx_attach() (e.g.
 * a TLS hook): call it from there and return its value. For an SSL not
 * attached it is X509_verify_cert(@xctx).
 */
SIPDANCE_API int sipdance_chain_client_decide(X509_STORE_CTX *xctx);

/**
 * Ask for the chain on connection @ssl to @host (sent as SNI) port @port,
 * and decide its certificate with it. @names are the reference identifiers
 * for DANE-TA/PKIX records (RFC 5922 SIP domains); none given: @host.
 * Sets SSL_VERIFY_PEER, and an info callback on @ssl that calls the one @ssl
 * or its context had (replace it later and pins are never changed). The
 * decision, in the certificate callback:
 *  - chain validated, TLSA records: DANE matching (sipdance_dane_verify);
 *    only MATCH passes;
 *  - chain present but not valid (or TLSA records all unusable): fails;
 *  - chain validated, no TLSA (denial, or the name in a zone proven unsigned):
 *    the SSL's own verification decides;
 *  - the pin (name, port) changes from the chain's lifetime only when the
 *    handshake completes after one of the two cases above passed;
 *  - no chain: fails if pinned or policy is required, else the SSL's own
 *    verification decides (e.g. TLSA from DNS added with SSL_dane_tlsa_add).
 * 0, EINVAL, ENOMEM.
 */
SIPDANCE_API int sipdance_chain_client_attach(SSL *ssl, struct sipdance_chain_client *c,
					      const char *host, uint16_t port,
					      const char *const *names, size_t nnames);

/**
 * After the handshake of an attached @ssl: MATCH (authenticated by the chain,
 * no DNS lookup), NOMATCH/UNUSABLE (records from the chain did not match),
 * BOGUS (invalid chain, with the reason naming the RRset), NODATA (validated
 * denial: no TLSA), INSECURE (the name is in a zone proven unsigned: no
 * usable TLSA), INDETERMINATE (no chain: pinned, required, or left to
 * the SSL's own verification). Only MATCH authenticates by the chain; after
 * NODATA, INSECURE or INDETERMINATE a completed handshake means the SSL's own
 * verification passed (SSL_get_verify_result), e.g. DANE with TLSA from DNS.
 * *lifetime (may be NULL) gets the ExtSupportLifetime received. 0 or EINVAL.
 */
SIPDANCE_API int sipdance_chain_client_verdict(const SSL *ssl, struct sipdance_verdict *v,
					       uint16_t *lifetime);

#ifdef __cplusplus
}
#endif
#endif
