/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * kam_stats.h - the module's counters, the ones sipdance-proxy serves on
 * --metrics that apply inside Kamailio: decisions by rule and verdict, DNS
 * lookups by type, status and source, and the resolver's latency. They are
 * Kamailio counters (group "sipdance"), summed over every process, read with
 * kamcmd (sipdance.stats, stats.get_statistics) and published by xhttp_prom.
 */
#ifndef SIPDANCE_KAM_STATS_H
#define SIPDANCE_KAM_STATS_H

#include <stdint.h>
#include <sipdance/dns.h>

/* kst_init - register the counters and the RPC command; mod_init only (before the fork) */
int kst_init(void);
/* kst_decision - a script function's result: @rule and @verdict as in $sipdance() */
void kst_decision(const char *rule, const char *verdict);
/* kst_dns - the resolver's observer (struct sipdance_dns_conf) */
void kst_dns(void *arg, uint16_t type, enum sipdance_dns_status status, int cached, uint64_t elapsed_us);

#endif
