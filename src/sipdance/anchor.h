/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * sipdance/anchor.h - the DNSSEC trust anchor, loaded once and shared.
 *
 * DS or DNSKEY records of one zone (normally the root) in zone-file syntax.
 * Every module that validates (the resolver, the RFC 9102 client and
 * sources, DANCE clients' shipped chains) takes the object in its
 * configuration and holds a reference; sipdance_anchor_reload() reads the
 * file again, and from then on every holder validates with the new records.
 * Not thread-safe: reload from the thread that runs the modules.
 */
#ifndef SIPDANCE_ANCHOR_H
#define SIPDANCE_ANCHOR_H

#include <stddef.h>
#include <sipdance/common.h>

#ifdef __cplusplus
extern "C" {
#endif

struct sipdance_anchor; /* DS or DNSKEY records of one zone, refcounted */

/**
 * Read DS or DNSKEY lines of one zone from @file, with one reference held by
 * the caller. 0, or EINVAL with *why (missing, unreadable, not a regular
 * file, no DS/DNSKEY, another record type, several zones), or ENOMEM.
 */
SIPDANCE_API int sipdance_anchor_load(struct sipdance_anchor **out, const char *file,
				      const char **why);
/** One more reference to @ta (for a module that keeps it); @ta is returned. */
SIPDANCE_API struct sipdance_anchor *sipdance_anchor_ref(struct sipdance_anchor *ta);
/** Drop one reference, freeing the anchor with the last; NULL is accepted. */
SIPDANCE_API void sipdance_anchor_free(struct sipdance_anchor *ta);
/**
 * Read the file again: on success every holder validates with the new records
 * from its next validation on; on failure (EINVAL, ENOMEM with *why) the
 * records in use stay.
 */
SIPDANCE_API int sipdance_anchor_reload(struct sipdance_anchor *ta, const char **why);
/** The number of DS/DNSKEY records in use (for logs). */
SIPDANCE_API size_t sipdance_anchor_count(const struct sipdance_anchor *ta);

#ifdef __cplusplus
}
#endif

#endif
