/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * policy.c - RFC 7672-style decisions for one TLS target, and the per-domain
 * mode table (required / opportunistic / off).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sipdance/policy.h>
#include "internal.h"

struct rule {
	char *domain;
	enum sipdance_policy_mode mode;
};

struct sipdance_policy {
	enum sipdance_policy_mode dflt;
	struct rule *rules;
	size_t n;
};

static const char *const mode_names[] = { "off", "opportunistic", "required" };
static const char *const action_names[] = { "DANE", "PKIX", "REFUSE" };

/* decide - set action, result, rule and reason */
static void __attribute__((format(printf, 5, 6)))
decide(struct sipdance_policy_decision *out, enum sipdance_action a, enum sipdance_result r,
       const char *rule, const char *fmt, ...)
{
	va_list ap;

	out->action = a;
	out->result = r;
	out->rule = rule;
	va_start(ap, fmt);
	vsnprintf(out->reason, sizeof(out->reason), fmt, ap);
	va_end(ap);
}

/* fallback - no DANE for this target: PKIX if a CA file allows, never unauthenticated */
static void fallback(const struct sipdance_policy_input *in, struct sipdance_policy_decision *out,
		     enum sipdance_result r, const char *rule, const char *why)
{
	if (in->mode == SIPDANCE_POLICY_REQUIRED)
		decide(out, SIPDANCE_ACT_REFUSE, r, "dane-required", "dane=required and %s", why);
	else if (!in->have_ca)
		decide(out, SIPDANCE_ACT_REFUSE, r, "no-ca-file",
		       "%s, and no CA file for RFC 5922 PKIX authentication", why);
	else
		decide(out, SIPDANCE_ACT_PKIX, r, rule, "%s: RFC 5922 PKIX authentication", why);
}

/* dns_result - the verdict name of a failed lookup */
static enum sipdance_result dns_result(enum sipdance_dns_status s)
{
	return s == SIPDANCE_DNS_BOGUS ? SIPDANCE_BOGUS : SIPDANCE_INDETERMINATE;
}

/* sipdance_policy_decide - the decision table */
void sipdance_policy_decide(const struct sipdance_policy_input *in,
			    struct sipdance_policy_decision *out)
{
	char why[128];

	/*
	 * The cases, in order (RFC 7672 §2.2, RFC 7673 §3):
	 *  1. mode off: PKIX (or refuse without a CA file); DNSSEC is not consulted.
	 *  2. NAPTR/SRV or address lookup BOGUS or INDETERMINATE: the target (or the
	 *     whole domain) is unusable; an attacker must not be able to turn a
	 *     failed validation into a fallback.
	 *  3. NAPTR/SRV or address lookup INSECURE: no TLSA lookup (RFC 7673), no
	 *     DANE: fallback (required refuses).
	 *  4. TLSA BOGUS or INDETERMINATE: unusable target.
	 *  5. TLSA INSECURE: fallback (required refuses).
	 *  6. TLSA secure denial (NODATA, NXDOMAIN): fallback (required refuses).
	 *  7. TLSA secure, at least one usable record: DANE, mandatory.
	 *  8. TLSA secure, no usable record: no DANE authentication possible;
	 *     fallback to PKIX like a denial (required refuses). RFC 7672 would send
	 *     unauthenticated TLS here; a SIP federation never does.
	 */
	if (in->mode == SIPDANCE_POLICY_OFF) {
		fallback(in, out, SIPDANCE_UNUSABLE, "dane-off", "dane=off");
		return;
	}
	if (in->srv_status == SIPDANCE_DNS_BOGUS || in->srv_status == SIPDANCE_DNS_INDETERMINATE ||
	    in->addr_status == SIPDANCE_DNS_BOGUS || in->addr_status == SIPDANCE_DNS_INDETERMINATE) {
		int srv = in->srv_status == SIPDANCE_DNS_BOGUS || in->srv_status == SIPDANCE_DNS_INDETERMINATE;

		snprintf(why, sizeof(why), "%s lookup is %s", srv ? "NAPTR/SRV" : "address",
			 sipdance_dns_status_str(srv ? in->srv_status : in->addr_status));
		decide(out, SIPDANCE_ACT_REFUSE, dns_result(srv ? in->srv_status : in->addr_status),
		       srv ? "bogus-srv" : "bogus-address", "%s", why);
		return;
	}
	if (in->srv_status == SIPDANCE_DNS_INSECURE || in->addr_status == SIPDANCE_DNS_INSECURE ||
	    !in->tlsa_looked_up) {
		fallback(in, out, SIPDANCE_INSECURE, "insecure-fallback",
			 in->srv_status == SIPDANCE_DNS_INSECURE ? "NAPTR/SRV lookup is insecure"
			 : in->addr_status == SIPDANCE_DNS_INSECURE ? "address lookup is insecure"
			 : "no TLSA lookup for this target");
		return;
	}
	switch (in->tlsa_status) {
	case SIPDANCE_DNS_BOGUS:
	case SIPDANCE_DNS_INDETERMINATE:
		decide(out, SIPDANCE_ACT_REFUSE, dns_result(in->tlsa_status), "bogus-tlsa",
		       "TLSA lookup is %s",
		       sipdance_dns_status_str(in->tlsa_status));
		return;
	case SIPDANCE_DNS_INSECURE:
		fallback(in, out, SIPDANCE_INSECURE, "insecure-fallback", "TLSA lookup is insecure");
		return;
	case SIPDANCE_DNS_SECURE:
		break;
	}
	if (in->tlsa_rcode != SIPDANCE_DNS_FOUND) {
		fallback(in, out, SIPDANCE_NODATA, "secure-denial",
			 "no TLSA record (validated denial of existence)");
		return;
	}
	if (in->tlsa_usable == 0) {
		fallback(in, out, SIPDANCE_UNUSABLE, "tlsa-unusable", "TLSA records present but none usable");
		return;
	}
	decide(out, SIPDANCE_ACT_DANE, SIPDANCE_NOMATCH, "secure-tlsa", "%s",
	       "secure usable TLSA: DANE authentication required");
}

/* sipdance_policy_alloc - default mode, no overrides */
int sipdance_policy_alloc(struct sipdance_policy **out, enum sipdance_policy_mode default_mode)
{
	if (!out || default_mode > SIPDANCE_POLICY_REQUIRED)
		return EINVAL;
	if (!(*out = calloc(1, sizeof(**out))))
		return ENOMEM;
	(*out)->dflt = default_mode;
	return 0;
}

/* sipdance_policy_free - free the table */
void sipdance_policy_free(struct sipdance_policy *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n; i++)
		free(p->rules[i].domain);
	free(p->rules);
	free(p);
}

/* name_len - length of @domain without one trailing dot; 0 for an empty name or an empty label */
static size_t name_len(const char *domain)
{
	size_t n = strlen(domain);

	if (n > 1 && domain[n - 1] == '.')
		n--;
	if (!n || domain[0] == '.' || domain[n - 1] == '.' || strstr(domain, ".."))
		return 0;
	return n;
}

/* find - the rule for @domain (compared as the normalised name), or NULL */
static struct rule *find(const struct sipdance_policy *p, const char *domain)
{
	size_t n = name_len(domain);

	for (size_t i = 0; n && i < p->n; i++)
		if (strlen(p->rules[i].domain) == n && !strncasecmp(p->rules[i].domain, domain, n))
			return &p->rules[i];
	return NULL;
}

/* sipdance_policy_set - add or replace a domain's mode, keyed on the normalised name */
int sipdance_policy_set(struct sipdance_policy *p, const char *domain, enum sipdance_policy_mode mode)
{
	struct rule *r, *rules;
	size_t n;

	if (!p || !domain || !(n = name_len(domain)) || mode > SIPDANCE_POLICY_REQUIRED)
		return EINVAL;
	if ((r = find(p, domain))) {
		r->mode = mode;
		return 0;
	}
	if (!(rules = realloc(p->rules, (p->n + 1) * sizeof(*rules))))
		return ENOMEM;
	p->rules = rules;
	if (!(rules[p->n].domain = strndup(domain, n)))
		return ENOMEM;
	rules[p->n++].mode = mode;
	return 0;
}

/* sipdance_policy_get - the mode for a domain */
enum sipdance_policy_mode sipdance_policy_get(const struct sipdance_policy *p, const char *domain)
{
	const struct rule *r = p && domain ? find(p, domain) : NULL;

	return r ? r->mode : p ? p->dflt : SIPDANCE_POLICY_OPPORTUNISTIC;
}

/* sipdance_policy_mode_parse - name to mode */
int sipdance_policy_mode_parse(const char *s, enum sipdance_policy_mode *mode)
{
	for (int i = 0; s && i < 3; i++)
		if (!strcmp(s, mode_names[i])) {
			*mode = (enum sipdance_policy_mode)i;
			return 0;
		}
	return EINVAL;
}

const char *sipdance_policy_mode_str(enum sipdance_policy_mode m)
{
	return m <= SIPDANCE_POLICY_REQUIRED ? mode_names[m] : "unknown";
}

const char *sipdance_policy_action_str(enum sipdance_action a)
{
	return a <= SIPDANCE_ACT_REFUSE ? action_names[a] : "unknown";
}
