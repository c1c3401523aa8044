/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * kam_verify.h - the verification logic of the Kamailio module, independent
 * of Kamailio: one context per process (resolver, verifier, policy),
 * DNS driven on a private poll() loop with a hard deadline per call, and
 * the three checks the script functions expose.
 */
#ifndef SIPDANCE_KAM_VERIFY_H
#define SIPDANCE_KAM_VERIFY_H

#include <stddef.h>
#include <stdint.h>
#include <openssl/x509.h>
#include <sipdance/dns.h>

#define KV_MAX_DOMAIN_POLICIES 64

/* Module parameters, after parsing. Strings are borrowed. */
struct kv_conf {
	const char *resolver;      /* "ADDR[@PORT]" */
	const char *trust_anchor;  /* DS/DNSKEY file */
	const char *ca_file;       /* PKIX roots for the fallback; NULL: no fallback */
	const char *policy;        /* default mode: off | opportunistic | required */
	const char *domain_policy[KV_MAX_DOMAIN_POLICIES]; /* "domain=mode" */
	size_t ndomain_policy;
	unsigned timeout_ms;       /* per DNS lookup */
	unsigned max_wait_ms;      /* per script function call, all lookups together */
	size_t cache_size;         /* DNS answers kept per process */
	size_t max_targets;        /* TLS targets of a domain used per call (0: the library's 16) */
	const char *client_chain;  /* users' own DNSSEC chains: required | prefer | off */
	/* optional: told of each DNS lookup (struct sipdance_dns_conf's observe) */
	void (*dns_observe)(void *arg, uint16_t type, enum sipdance_dns_status status, int cached,
			    uint64_t elapsed_us);
};

/* What one call found: what the pseudo-variables show. */
struct kv_result {
	char verdict[16];   /* MATCH, NOMATCH, BOGUS, ...; DANE/PKIX for a usable destination */
	char action[8];     /* DANE, PKIX, REFUSE (destination and peer checks) */
	char rule[32];      /* policy rule of the target that decided */
	char target[300];   /* host:port of that target */
	char addr[64];      /* a DNSSEC-validated address, IPv4 first: ADDR:PORT ([v6]:PORT); "" if none */
	char name[640];     /* what was checked: domain or address (never truncated), or the user's TLSA owner name */
	char reason[256];   /* one line, safe inside a quoted SIP header value */
};

struct kv; /* per-process context */
struct sipdance_loop;

/* kv_alloc - a context for this process; 0 or an errno value with *why */
int kv_alloc(struct kv **out, const struct kv_conf *conf, const char **why);
/* kv_free - free a context; NULL is accepted */
void kv_free(struct kv *kv);
/* kv_check_conf - validate the parameters without resolving anything (mod_init) */
int kv_check_conf(const struct kv_conf *conf, const char **why);

/* kv_check_dest - 1 when @dest (domain, host[:port] or sip:/sips: URI) has a target policy allows */
int kv_check_dest(struct kv *kv, const char *dest, struct kv_result *r);
/*
 * Asynchronous checks: the caller drives kv_loop(@kv). A start returns 0 with *@out set, and
 * @done(@arg) runs from the loop once the check is decided; kv_op_end() then gives its result.
 * Otherwise it returns the result at once (1, or -1 with @r filled) and *@out is NULL.
 */
struct kv_op;
typedef void(kv_op_done)(void *arg);
/* kv_dest_start - kv_check_dest(@dest) */
int kv_dest_start(struct kv *kv, const char *dest, kv_op_done *done, void *arg, struct kv_op **out,
		  struct kv_result *r);
/* kv_peer_start - kv_verify_peer(@chain, @domain); @chain is taken */
int kv_peer_start(struct kv *kv, STACK_OF(X509) *chain, const char *domain, kv_op_done *done, void *arg,
		  struct kv_op **out, struct kv_result *r);
/* kv_user_start - kv_verify_user(@chain, @address, @ext, @ext_len); @chain is taken, @ext read at once */
int kv_user_start(struct kv *kv, STACK_OF(X509) *chain, const char *address, const uint8_t *ext,
		  size_t ext_len, kv_op_done *done, void *arg, struct kv_op **out, struct kv_result *r);
/* kv_op_end - the result of @op, as the synchronous function gives it (before @done ran:
 * INDETERMINATE, late), freeing @op */
int kv_op_end(struct kv_op *op, struct kv_result *r);
/* kv_loop - the poll loop the lookups of @kv run on (sipdance_loop_poll_alloc) */
struct sipdance_loop *kv_loop(struct kv *kv);
/* kv_verify_peer - 1 when @chain (end entity first) authenticates as a TLS server of @domain */
int kv_verify_peer(struct kv *kv, STACK_OF(X509) *chain, const char *domain, struct kv_result *r);
/* kv_verify_user - 1 when @chain matches the secure _user TLSA of @address (DANCE client
 * auth): from the DNSSEC chain the client shipped in its handshake (@ext, @ext_len; NULL:
 * none), or looked up as client_chain says */
int kv_verify_user(struct kv *kv, STACK_OF(X509) *chain, const char *address, const uint8_t *ext,
		   size_t ext_len, struct kv_result *r);
/* kv_fail - set a failure result (verdict + reason) for errors found outside this file */
void kv_fail(struct kv_result *r, const char *verdict, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
