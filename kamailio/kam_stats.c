/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * kam_stats.c - the module's counters as Kamailio counters (core/counters.h):
 * one row per process in shared memory, incremented without a lock by the
 * process that counts and summed when read. They must all exist before the
 * fork, so labels are a fixed table: decisions by rule x verdict, DNS
 * lookups by type x status x source, the resolver's latency as cumulative
 * buckets in microseconds with their sum and count. Read as one structure
 * with `kamcmd sipdance.stats`, one by one with `kamcmd stats.get_statistics
 * sipdance:`, and published by xhttp_prom (xhttp_prom_stats "sipdance:").
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/counters.h"
#include "core/dprint.h"
#include "core/rpc.h"
#include "core/rpc_lookup.h"

#include <sipdance/common.h>
#include "kam_stats.h"

#define GROUP "sipdance"

/* Rules as $sipdance(rule) shows them ("": none was reached); anything else counts as "other". */
static const char *const rules[] = {
	"none", "secure-tlsa", "secure-denial", "insecure-fallback", "tlsa-unusable", "dane-off",
	"dane-required", "no-ca-file", "bogus-srv", "bogus-address", "bogus-tlsa", "client-chain", "dns",
	"other",
};
/* Verdicts as $sipdance(verdict) shows them: DANE and PKIX are a destination allowed. */
static const char *const verdicts[] = {
	"MATCH", "NOMATCH", "UNUSABLE", "INSECURE", "BOGUS", "NODATA", "INDETERMINATE", "DANE", "PKIX", "other",
};
#define NRULES (sizeof(rules) / sizeof(rules[0]))
#define NVERDICTS (sizeof(verdicts) / sizeof(verdicts[0]))

static const struct { uint16_t type; const char *name; } types[] = {
	{ SIPDANCE_DNS_A, "A" }, { SIPDANCE_DNS_AAAA, "AAAA" }, { SIPDANCE_DNS_CNAME, "CNAME" },
	{ SIPDANCE_DNS_SRV, "SRV" }, { SIPDANCE_DNS_NAPTR, "NAPTR" }, { SIPDANCE_DNS_TLSA, "TLSA" },
};
#define NTYPES (sizeof(types) / sizeof(types[0]))
#define NSTATUS (SIPDANCE_DNS_SECURE + 1)

/* Latency bounds in microseconds, those of sipdance-proxy's histogram (+Inf implied). */
static const unsigned bounds_us[] = {
	500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000, 1000000, 2500000,
};
#define NBUCKETS (sizeof(bounds_us) / sizeof(bounds_us[0]))

static counter_handle_t c_decision[NRULES][NVERDICTS];
static counter_handle_t c_dns[NTYPES][NSTATUS][2]; /* [type][status][cached] */
static counter_handle_t c_bucket[NBUCKETS + 1];   /* cumulative: le bound, then +Inf */
static counter_handle_t c_sum_us;
static int ready;

/* index_of - @s in @names (the last entry, "other", when absent) */
static size_t index_of(const char *s, const char *const *names, size_t n)
{
	for (size_t i = 0; i < n - 1; i++)
		if (!strcmp(s, names[i]))
			return i;
	return n - 1;
}

/* kst_decision - count a script function's result */
void kst_decision(const char *rule, const char *verdict)
{
	if (ready)
		counter_inc(c_decision[index_of(*rule ? rule : "none", rules, NRULES)]
				      [index_of(verdict, verdicts, NVERDICTS)]);
}

/* kst_dns - count a lookup; one the resolver answered also by its latency */
void kst_dns(void *arg, uint16_t type, enum sipdance_dns_status status, int cached, uint64_t elapsed_us)
{
	size_t t;

	(void)arg;
	for (t = 0; t < NTYPES && types[t].type != type; t++)
		;
	if (!ready || t == NTYPES || (unsigned)status >= NSTATUS)
		return;
	counter_inc(c_dns[t][status][!!cached]);
	if (cached)
		return;
	for (size_t b = 0; b < NBUCKETS; b++)
		if (elapsed_us <= bounds_us[b])
			counter_inc(c_bucket[b]);
	counter_inc(c_bucket[NBUCKETS]);
	counter_add(c_sum_us, elapsed_us > 1000000000 ? 1000000000 : (int)elapsed_us);
}

/* reg - register one counter named by @fmt; 0 or -1 */
static int reg(counter_handle_t *h, const char *doc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int reg(counter_handle_t *h, const char *doc, const char *fmt, ...)
{
	char name[64];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(name, sizeof(name), fmt, ap);
	va_end(ap);
	if (counter_register(h, GROUP, name, 0, 0, 0, doc, 0) < 0) {
		LM_ERR("sipdance: cannot register counter %s\n", name);
		return -1;
	}
	return 0;
}

/* rpc_stats - sipdance.stats: the counters that are not zero, labelled as sipdance-proxy labels them */
static void rpc_stats(rpc_t *rpc, void *ctx)
{
	void *top, *arr, *e;
	char le[16];
	unsigned long v;

	if (rpc->add(ctx, "{", &top) < 0 || rpc->struct_add(top, "[", "decisions", &arr) < 0)
		goto fail;
	for (size_t r = 0; r < NRULES; r++)
		for (size_t d = 0; d < NVERDICTS; d++)
			if ((v = (unsigned long)counter_get_val(c_decision[r][d])) &&
			    (rpc->array_add(arr, "{", &e) < 0 ||
			     rpc->struct_add(e, "ssj", "rule", rules[r], "verdict", verdicts[d], "count", v) < 0))
				goto fail;
	if (rpc->struct_add(top, "[", "dns_lookups", &arr) < 0)
		goto fail;
	for (size_t t = 0; t < NTYPES; t++)
		for (int s = 0; s < (int)NSTATUS; s++)
			for (int c = 0; c < 2; c++)
				if ((v = (unsigned long)counter_get_val(c_dns[t][s][c])) &&
				    (rpc->array_add(arr, "{", &e) < 0 ||
				     rpc->struct_add(e, "sssj", "type", types[t].name, "status",
						     sipdance_dns_status_str(s), "source", c ? "cache" : "resolver",
						     "count", v) < 0))
					goto fail;
	if (rpc->struct_add(top, "{", "dns_lookup_seconds", &e) < 0 ||
	    rpc->struct_add(e, "fj", "sum", (double)counter_get_val(c_sum_us) / 1e6, "count",
			    (unsigned long)counter_get_val(c_bucket[NBUCKETS])) < 0 ||
	    rpc->struct_add(e, "[", "buckets", &arr) < 0)
		goto fail;
	for (size_t b = 0; b <= NBUCKETS; b++) {
		void *bk;

		if (b < NBUCKETS)
			snprintf(le, sizeof(le), "%g", bounds_us[b] / 1e6);
		else
			snprintf(le, sizeof(le), "+Inf");
		if (rpc->array_add(arr, "{", &bk) < 0 ||
		    rpc->struct_add(bk, "sj", "le", le, "count", (unsigned long)counter_get_val(c_bucket[b])) < 0)
			goto fail;
	}
	return;
fail:
	rpc->fault(ctx, 500, "cannot build the reply");
}

static const char *rpc_stats_doc[] = {
	"sipdance counters: decisions by rule and verdict, DNS lookups by type, status and source, "
	"resolver latency (cumulative buckets, seconds)", 0
};

static rpc_export_t rpc_cmds[] = {
	{ "sipdance.stats", rpc_stats, rpc_stats_doc, 0 },
	{ 0, 0, 0, 0 }
};

/* kst_init - every counter, then the RPC command */
int kst_init(void)
{
	for (size_t r = 0; r < NRULES; r++)
		for (size_t d = 0; d < NVERDICTS; d++)
			if (reg(&c_decision[r][d], "script function results with this rule and verdict",
				"decisions_%s_%s", rules[r], verdicts[d]))
				return -1;
	for (size_t t = 0; t < NTYPES; t++)
		for (int s = 0; s < (int)NSTATUS; s++)
			for (int c = 0; c < 2; c++)
				if (reg(&c_dns[t][s][c], "DNS lookups of this type, status and source",
					"dns_%s_%s_%s", types[t].name, sipdance_dns_status_str(s),
					c ? "cache" : "resolver"))
					return -1;
	for (size_t b = 0; b < NBUCKETS; b++)
		if (reg(&c_bucket[b], "resolver lookups answered within this many microseconds",
			"dns_lookup_us_le_%u", bounds_us[b]))
			return -1;
	if (reg(&c_bucket[NBUCKETS], "resolver lookups answered (the histogram's count)", "dns_lookup_us_le_inf") ||
	    reg(&c_sum_us, "microseconds the resolver took, all lookups", "dns_lookup_us_sum"))
		return -1;
	if (rpc_register_array(rpc_cmds) != 0) {
		LM_ERR("sipdance: cannot register the RPC commands\n");
		return -1;
	}
	ready = 1;
	return 0;
}
