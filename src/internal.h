/* SPDX-License-Identifier: BSD-2-Clause */
/* internal.h - helpers shared by libsipdance modules; not installed. */
#ifndef SIPDANCE_INTERNAL_H
#define SIPDANCE_INTERNAL_H

#include <stdint.h>
#include <stddef.h>
#include <time.h>
#include <sipdance/common.h>
#include <sipdance/loop.h>

/* The event-loop contract, as modules use it (loop.c): watch @fd for @events (0: stop),
 * and timers (opaque, NULL when out of memory) armed in @ms (< 0: disarmed). */
int sd_loop_watch(struct sipdance_loop *l, int fd, int events, sipdance_loop_io_fn *fn, void *arg);
void *sd_timer_alloc(struct sipdance_loop *l, sipdance_loop_timer_fn *fn, void *arg);
void sd_timer_set(struct sipdance_loop *l, void *t, long ms);
void sd_timer_free(struct sipdance_loop *l, void *t);
struct sipdance_dns;
/* The loop a resolver runs on (dns.c). */
struct sipdance_loop *sd_dns_loop(const struct sipdance_dns *dns);
struct getdns_dict;
struct sd_dns_ask;
/* dns.c, for chain_fetch.c: getdns' whole reply to one validated query of
 * @name/@type (validation chain and every status returned) on @dns's context
 * and loop, no cache; @cb takes the reply (NULL: getdns gave none) from the
 * loop, never before sd_dns_ask returns; 0, ENOMEM or EIO. Cancel (no
 * callback) before the resolver is freed. */
typedef void sd_dns_reply_fn(void *arg, struct getdns_dict *resp);
int sd_dns_ask(struct sipdance_dns *dns, const char *name, uint16_t type, sd_dns_reply_fn *cb,
	       void *arg, struct sd_dns_ask **out);
void sd_dns_ask_cancel(struct sd_dns_ask *a);

/* Set *why (when @why is not NULL) to @msg and return @err: every parser's failure path. */
static inline int sd_fail(const char **why, const char *msg, int err)
{
	if (why)
		*why = msg;
	return err;
}

/* A caller's configuration struct (its first member: the size it was built with) copied into @dst
 * of our @size: fields it predates are zero, so defaults; 0, or EINVAL (*why) for no struct, an unset
 * size, or fields past ours set (a caller built against a newer sipdance). */
int sd_conf_copy(void *dst, size_t size, const void *src, const char **why);
#define SD_CONF(dst, src, why) sd_conf_copy((dst), sizeof(*(dst)), (src), (why))

/* Big-endian loads and stores of wire formats. */
static inline uint16_t sd_get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t sd_get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline void sd_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* Decode hex digits (white space allowed between them); 0 or EINVAL. */
int sd_hex_decode(const char *s, size_t slen, uint8_t *out, size_t outsize,
		  size_t *outlen, const char **why);
/* Lowercase hex of @len bytes into @out (2*len+1 bytes). */
void sd_hex_encode(const uint8_t *in, size_t len, char *out);
/* Hex of @len bytes for a log line, cut to head...tail when long. */
const char *sd_hex_short(const uint8_t *in, size_t len, char *buf, size_t size);

/* Set a verdict's result and printf-style reason. */
void sd_verdict_set(struct sipdance_verdict *v, enum sipdance_result r,
		    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Log through the installed hook; @module names the source module. */
void sd_log(enum sipdance_log_level level, const char *module,
	    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

struct getdns_context;
struct getdns_list;
struct getdns_dict;

/* Read DS or DNSKEY lines (zone-file syntax) from @file into a list of
 * rr_dicts for getdns; 0, EINVAL (file missing, unreadable, or holding no
 * DS or DNSKEY) or ENOMEM, with *why set. */
int sd_getdns_anchors(const char *file, struct getdns_list **out, const char **why);

/* A getdns context in stub mode asking only @resolver ("ADDR[@PORT]"),
 * validating up to the anchor @ta, with no OS configuration and zero-config
 * DNSSEC off; @timeout_ms 0 means 3000. 0, EINVAL or ENOMEM with *why set;
 * the caller destroys *out with getdns_context_destroy(). */
struct sipdance_anchor;
int sd_getdns_context_new(struct getdns_context **out, const char *resolver,
			  const struct sipdance_anchor *ta, unsigned timeout_ms,
			  const char **why);

/* anchor.c: the anchor a module holds: @ta shared (a new reference), or
 * @file loaded for it alone; EINVAL with *why when neither or both are given. */
int sd_anchor_take(struct sipdance_anchor **out, struct sipdance_anchor *ta, const char *file,
		   const char **why);
/* The records as getdns takes them, and a number that changes with each reload. */
struct getdns_list *sd_anchor_list(const struct sipdance_anchor *ta);
unsigned sd_anchor_gen(const struct sipdance_anchor *ta);

struct ssl_st;
struct x509_st;
struct sipdance_tlsa_set;

/* clientid.c, used by clientid_tls.c: enable DANE on an SSL without a host
 * name check and add the usable records (DANE-EE, DANE-TA) of @tlsa, counting
 * them with the first reason one was not; 0 or ENOMEM. */
int sd_clientid_add_records(struct ssl_st *ssl, const struct sipdance_tlsa_set *tlsa,
			    size_t *usable, const char **first_why);
/* The verdict once OpenSSL verified @leaf (error @verr) with DANE on @ssl. */
void sd_clientid_decide(struct ssl_st *ssl, struct x509_st *leaf, const char *client_name,
			int verr, struct sipdance_verdict *v);
struct sipdance_anchor;
/* clientid.c: what a client's shipped extension_data @ext proves for
 * @client_name under @ta at @at (0: now): 0 with the validated TLSA RRset in
 * *tlsa (the caller frees it), or 0 with *tlsa NULL and *v the verdict that
 * authenticates nothing (BOGUS: refused; NODATA or INSECURE: no TLSA); ENOMEM. */
int sd_clientid_chain_records(const struct sipdance_anchor *ta, const char *client_name,
			      const uint8_t *ext, size_t len, time_t at,
			      struct sipdance_tlsa_set **tlsa, struct sipdance_verdict *v);

/* chain_tls.c: the client's chain shipped on @ssl has been judged; its copy
 * (up to 64 kB, held as long as the SSL) is freed. */
void sd_chain_shipped_release(struct ssl_st *ssl);
struct x509_store_ctx_st;
/* chain_tls.c: the certificate callback the library installs on an SSL_CTX
 * (sipdance_clientid_decide for a server's SSL, sipdance_chain_client_decide
 * for a client's). */
int sd_tls_cert_verify(struct x509_store_ctx_st *xctx, void *arg);

/* dns.c internals, for tests: decode one rr_dict of a supported type (TLSA
 * data stays borrowed from it); replace the cache clock (ms); cache a
 * record-less answer; whether a live answer is cached; entries held. */
struct sipdance_dns;
struct sipdance_dns_rr;
int sd_dns_rr_decode(const struct getdns_dict *rr, struct sipdance_dns_rr *out);
void sd_dns_set_clock(struct sipdance_dns *dns, uint64_t (*clock)(void *arg), void *arg);
int sd_dns_cache_add(struct sipdance_dns *dns, const char *name, uint16_t type,
		     int status, int rcode, uint32_t ttl);
int sd_dns_cache_has(struct sipdance_dns *dns, const char *name, uint16_t type);
size_t sd_dns_cache_count(const struct sipdance_dns *dns);

#endif
