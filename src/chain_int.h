/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * chain_int.h - internals of the RFC 9102 chain module shared by chain*.c,
 * its tests, fuzz target and benchmark: decoded records and wire-name helpers
 * (the DNSSEC signature and digest primitives are in internal.h).
 */
#ifndef SIPDANCE_CHAIN_INT_H
#define SIPDANCE_CHAIN_INT_H

#include <stdint.h>
#include <stddef.h>

/* One record of a chain; pointers into the chain buffer. */
struct sd_rr {
	const uint8_t *owner; /* uncompressed wire name */
	uint16_t type, class;
	uint32_t ttl;
	uint16_t rdlen;
	const uint8_t *rdata;
};

struct sipdance_chain_anchor {
	size_t n;
	struct {
		uint8_t *wire;    /* the record, owned */
		struct sd_rr rr;  /* decoded, pointing into wire */
	} rr[];
};

/* Length of the wire name at @p within @max octets; 0 when malformed (*why). */
size_t sd_name_len(const uint8_t *p, size_t max, const char **why);
/* Label count (root: 0). */
unsigned sd_name_labels(const uint8_t *n);
/* Case-insensitive equality. */
int sd_name_eq(const uint8_t *a, const uint8_t *b);
/* @child equals @parent or is below it. */
int sd_name_under(const uint8_t *child, const uint8_t *parent);
/* RFC 4034 §6.1 canonical order: <0, 0, >0. */
int sd_name_cmp(const uint8_t *a, const uint8_t *b);
/* Presentation form with trailing dot. */
const char *sd_name_text(const uint8_t *n, char *buf, size_t size);
/* Wire form of "a.example[.]"; 0 or EINVAL with *why. */
int sd_name_from_text(const char *s, uint8_t *out, size_t size, const char **why);
/* Whether an NSEC type bitmap lists @type. */
int sd_bitmap_has(const uint8_t *bm, size_t len, uint16_t type);

/* Parse a chain into records (malloc'd *out); EBADMSG with *why and the
 * offset *at of the bad record; ENOMEM. */
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
