/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * chain_int.h - internals of the RFC 9102 chain module shared by chain*.c,
 * its tests, fuzz target and benchmark: the anchor (anchor.c), the chain parser and
 * the server's source; records and names are the validator's (dnssec_int.h).
 */
#ifndef SIPDANCE_CHAIN_INT_H
#define SIPDANCE_CHAIN_INT_H

#include <stdint.h>
#include <stddef.h>
#include <time.h>

#include "dnssec_int.h"

/* One loading of the anchor file (anchor.c). */
struct sd_anchor_set {
	struct getdns_list *list; /* as getdns takes them */
	size_t n;
	struct {
		uint8_t *wire;    /* the record, owned */
		struct sd_rr rr;  /* decoded, pointing into wire */
	} rr[];
};

struct sipdance_anchor {
	unsigned refs;
	unsigned gen;             /* reloads so far */
	char *file;
	struct sd_anchor_set *set; /* in use */
};

/* Parse a chain into records (malloc'd *out): well formed, of the types a
 * chain may hold; EBADMSG with *why and the offset *at of the bad record;
 * ENOMEM. */
int sd_chain_split(const uint8_t *chain, size_t len, struct sd_rr **out, size_t *nrr,
		   size_t *at, const char **why);
/* RFC 4034 §3.1.8.1 signed data for RRSIG @sig over @set (k records); malloc'd. */
uint8_t *sd_chain_signed_data(const struct sd_rr *sig, const struct sd_rr *set, size_t k,
			      size_t *len);

struct sipdance_chain_source;
/* A copy of the extension_data to serve at @now (thread-safe), or NULL once expired. */
uint8_t *sd_chain_source_copy(struct sipdance_chain_source *s, time_t now, size_t *len);
/* The TLS port a source serves. */
uint16_t sd_chain_source_port(const struct sipdance_chain_source *s);

#endif
