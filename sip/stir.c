/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * stir.c - STIR/SHAKEN glue of sipdance-proxy: --stir verify checks the
 * Identity headers of initial INVITEs whose caller is a telephone number
 * from outside our domain (RFC 8224 verification service; the x5u fetcher
 * runs on the proxy's loop, so a slow fetch never blocks other calls), and
 * --stir sign adds Date and a SHAKEN Identity to initial INVITEs
 * of local callers in the configured number ranges. Identity values already
 * present and message bodies are never changed.
 */
#include "stir.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <sofia-sip/sip.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/su_string.h>
#include <sofia-sip/su_time.h>
#include <sofia-sip/url.h>
#include <sipdance/stir.h>

#define MAX_FP 16     /* a=fingerprint lines taken from the SDP */
#define MAX_IDENT 16  /* Identity header fields looked at */
#define MAX_RANGES 32 /* --stir-orig-range entries */

struct px_stir {
	su_home_t home[1];
	const struct px_conf *conf;
	int verify, sign, annotate;
	char attest;
	struct sipdance_stir *verifier;
	struct sipdance_x5u *x5u;
	struct sipdance_stir_signer *signer;
};

struct px_stirq {
	struct px_stir *s;
	struct sipdance_stir_query *q;
	msg_t *msg;
	sip_t *sip;
	px_stir_fn *fn;
	void *arg;
	char orig[SIPDANCE_PASSPORT_MAX_TN], dest[SIPDANCE_PASSPORT_MAX_TN];
};

/* modes - "verify", "sign", "verify,sign" (either order) or "off": 0 or -1 */
static int modes(const char *v, int *verify, int *sign)
{
	const char *p = v;

	*verify = *sign = 0;
	if (!v || !strcmp(v, "off"))
		return 0;
	while (*p) {
		size_t n = strcspn(p, ",");

		if (n == 6 && !strncmp(p, "verify", 6))
			*verify = 1;
		else if (n == 4 && !strncmp(p, "sign", 4))
			*sign = 1;
		else
			return -1;
		p += n;
		if (*p == ',' && p[1])
			p++;
		else if (*p)
			return -1;
	}
	return *verify || *sign ? 0 : -1;
}

/* x5u_allow - "private", "any-port", "http", comma-separated, into @x: 0 or -1 */
static int x5u_allow(const char *v, struct sipdance_x5u_conf *x)
{
	const char *p = v;

	while (p && *p) {
		size_t n = strcspn(p, ",");

		if (n == 7 && !strncmp(p, "private", 7))
			x->allow_private = 1;
		else if (n == 8 && !strncmp(p, "any-port", 8))
			x->allow_any_port = 1;
		else if (n == 4 && !strncmp(p, "http", 4))
			x->allow_http = 1;
		else
			return -1;
		p += n;
		if (*p)
			p++;
	}
	return 0;
}

/* px_stir_conf_check - the stir-* keys, with a message naming the key */
int px_stir_conf_check(const struct px_conf *c, char *why, size_t whysize)
{
	struct sipdance_x5u_conf x = { .size = sizeof(x) };
	int verify, sign;

	if (modes(c->stir, &verify, &sign)) {
		snprintf(why, whysize, "--stir %s: want off, verify, sign or verify,sign", c->stir);
		return EINVAL;
	}
	if (c->stir_fail && strcmp(c->stir_fail, "reject") && strcmp(c->stir_fail, "annotate")) {
		snprintf(why, whysize, "--stir-fail %s: want reject or annotate", c->stir_fail);
		return EINVAL;
	}
	if (c->stir_attest && (strlen(c->stir_attest) != 1 || !strchr("ABC", c->stir_attest[0]))) {
		snprintf(why, whysize, "--stir-attest %s: want A, B or C", c->stir_attest);
		return EINVAL;
	}
	if (x5u_allow(c->stir_x5u_allow, &x)) {
		snprintf(why, whysize, "--stir-x5u-allow %s: want a list of private, any-port, http",
			 c->stir_x5u_allow);
		return EINVAL;
	}
	if (verify && !c->stir_ca_file) {
		snprintf(why, whysize, "--stir verify needs --stir-ca-file (the STI-CA roots)");
		return EINVAL;
	}
	if (sign && (!c->stir_key || !c->stir_x5u || !c->stir_orig_range)) {
		snprintf(why, whysize, "--stir sign needs --stir-key, --stir-x5u and --stir-orig-range");
		return EINVAL;
	}
	return 0;
}

/* make_signer - key, x5u and the comma-separated number ranges */
static int make_signer(struct px_stir *s, char *why, size_t whysize)
{
	const struct px_conf *c = s->conf;
	struct sipdance_stir_signer_conf sc = { .size = sizeof(sc), .key_file = c->stir_key, .x5u = c->stir_x5u };
	const char *ranges[MAX_RANGES], *w = "";
	char *list = su_strdup(s->home, c->stir_orig_range), *save = NULL;
	int err;

	if (!list)
		return ENOMEM;
	for (char *r = strtok_r(list, ", ", &save); r; r = strtok_r(NULL, ", ", &save)) {
		if (sc.nranges == MAX_RANGES) {
			snprintf(why, whysize, "--stir-orig-range: at most %d ranges", MAX_RANGES);
			return EINVAL;
		}
		ranges[sc.nranges++] = r;
	}
	if (sc.nranges == 0) {
		snprintf(why, whysize, "--stir-orig-range: no range given");
		return EINVAL;
	}
	sc.orig_ranges = ranges;
	if ((err = sipdance_stir_signer_alloc(&s->signer, &sc, &w)))
		snprintf(why, whysize, "--stir-%s: %s", err == ENOENT || strstr(w, "key") ? "key" :
			 strstr(w, "x5u") ? "x5u" : "orig-range", w);
	return err;
}

/* px_stir_alloc - what --stir asks for */
int px_stir_alloc(struct px_stir **out, struct sipdance_loop *loop, const struct px_conf *c,
		  char *why, size_t whysize)
{
	struct sipdance_stir_conf vc = { .size = sizeof(vc), .ca_file = c->stir_ca_file, .max_age = c->stir_max_age };
	struct sipdance_x5u_conf xc = { .size = sizeof(xc), .timeout_ms = c->stir_x5u_timeout_ms,
					.tls_ca_file = c->stir_x5u_tls_ca, .loop = loop };
	struct px_stir *s;
	int verify, sign, err;

	*out = NULL;
	if (modes(c->stir, &verify, &sign) || x5u_allow(c->stir_x5u_allow, &xc))
		return snprintf(why, whysize, "--stir: bad value"), EINVAL;
	if (!verify && !sign)
		return 0;
	if (!(s = su_home_new(sizeof(*s))))
		return ENOMEM;
	*out = s;
	s->conf = c;
	s->verify = verify;
	s->sign = sign;
	s->annotate = c->stir_fail && !strcmp(c->stir_fail, "annotate");
	s->attest = c->stir_attest ? c->stir_attest[0] : 'A';
	if (sign && (err = make_signer(s, why, whysize)))
		return err;
	if (!verify)
		return 0;
	if ((err = sipdance_stir_alloc(&s->verifier, &vc))) {
		snprintf(why, whysize, "--stir-ca-file %s: %s", c->stir_ca_file,
			 err == ENOENT ? "cannot read it" : "no usable PEM certificate in it");
		return err;
	}
	if ((err = sipdance_x5u_alloc(&s->x5u, &xc))) {
		snprintf(why, whysize, "x5u fetcher: %s", err == EINVAL ?
			 "cannot load --stir-x5u-tls-ca" : strerror(err));
		return err;
	}
	return 0;
}

/* px_stir_free - unregister, then the fetcher (pending verifications are dropped) */
void px_stir_free(struct px_stir *s)
{
	if (!s)
		return;
	sipdance_x5u_free(s->x5u);
	sipdance_stir_free(s->verifier);
	sipdance_stir_signer_free(s->signer);
	su_home_unref(s->home);
}

/* px_stir_set_store - the replay claims of verified requests go to @store (NULL: none) */
void px_stir_set_store(struct px_stir *s, struct sipdance_store *store, const char *node)
{
	if (s && s->verifier)
		sipdance_stir_set_store(s->verifier, store, node);
}

/* px_stir_flush - SIGHUP: the x5u cache starts empty */
void px_stir_flush(struct px_stir *s)
{
	if (s && s->x5u) {
		sipdance_x5u_flush(s->x5u);
		px_log(SIPDANCE_LOG_INFO, "stir", "reload: x5u cache flushed");
	}
}

/* is_initial_invite - an INVITE outside a dialog */
static int is_initial_invite(const sip_t *sip)
{
	return sip->sip_request && sip->sip_request->rq_method == sip_method_invite && sip->sip_from &&
	       sip->sip_to && !sip->sip_to->a_tag;
}

/* uri_tn - the canonical number of an address's URI: 0, or -1 if it is none */
static int uri_tn(const sip_addr_t *a, char tn[SIPDANCE_PASSPORT_MAX_TN])
{
	char buf[600];
	isize_t n = url_e(buf, sizeof(buf), a->a_url);

	if (n <= 0 || (size_t)n >= sizeof(buf))
		return -1;
	buf[n] = '\0';
	return sipdance_passport_tn(buf, tn, NULL) ? -1 : 0;
}

/* is_local - the caller claims our domain */
static int is_local(const struct px_stir *s, const sip_t *sip)
{
	const char *host = sip->sip_from->a_url->url_host;

	return host && !strcasecmp(host, s->conf->domain);
}

/* identities - the Identity header field values ("y" is its compact name) */
static size_t identities(const sip_t *sip, const char **out, size_t max)
{
	size_t n = 0;

	for (const sip_unknown_t *u = sip->sip_unknown; u && n < max; u = u->un_next)
		if (u->un_name && u->un_value && (!strcasecmp(u->un_name, "Identity") ||
						  !strcasecmp(u->un_name, "y")))
			out[n++] = u->un_value;
	return n;
}

/* fingerprints - a=fingerprint values of the SDP body, copied into @buf */
static size_t fingerprints(const sip_t *sip, char buf[MAX_FP][256], const char **out)
{
	const char *p, *end;
	size_t n = 0;

	if (!sip->sip_payload || !sip->sip_payload->pl_data)
		return 0;
	p = sip->sip_payload->pl_data;
	end = p + sip->sip_payload->pl_len;
	while (p < end && n < MAX_FP) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		size_t len = (size_t)((eol ? eol : end) - p);

		if (len && p[len - 1] == '\r')
			len--;
		if (len > 14 && len - 14 < 256 && !strncasecmp(p, "a=fingerprint:", 14)) {
			memcpy(buf[n], p + 14, len - 14);
			buf[n][len - 14] = '\0';
			out[n] = buf[n];
			n++;
		}
		p = eol ? eol + 1 : end;
	}
	return n;
}

/* quote - Reason text made safe for a quoted string */
static void quote(char *out, size_t size, const char *in)
{
	size_t n = 0;

	for (; *in && n + 1 < size; in++)
		out[n++] = (*in == '"' || *in == '\\' || *in < ' ') ? '\'' : *in;
	out[n] = '\0';
}

/* on_verdict - the library's verification ended */
static void on_verdict(void *arg, const struct sipdance_stir_verdict *v,
		       const struct sipdance_passport *pp)
{
	struct px_stirq *q = arg;
	struct px_stir *s = q->s;
	px_stir_fn *fn = q->fn;
	void *fnarg = q->arg;
	int status = v->result == SIPDANCE_MATCH ? 0 : v->sip_status;
	char text[300], reason[400];

	(void)pp;
	/*
	 * The decision:
	 *  - MATCH: routed on unchanged.
	 *  - any failure with --stir-fail reject (default): the RFC 8224 status
	 *    (428, 436, 437, 438, 403 Stale Date, also for a replay) and a Reason
	 *    saying what failed; 503 when the shared replay state cannot say
	 *    whether the PASSporT was used before (--state, fail closed).
	 *  - any failure with --stir-fail annotate: routed on with that Reason
	 *    added to the request; the Identity stays as received.
	 */
	px_log(status ? SIPDANCE_LOG_WARN : SIPDANCE_LOG_INFO, "stir",
	       "verify orig=%s dest=%s verdict=%s status=%d (%s)%s", q->orig, q->dest,
	       status ? "FAIL" : "MATCH", status, v->reason,
	       status && s->annotate ? " annotated, routed on" : "");
	if (status && s->annotate) {
		quote(text, sizeof(text), v->reason);
		snprintf(reason, sizeof(reason), "SIP;cause=%d;text=\"%s\"", status, text);
		sip_header_insert(q->msg, q->sip,
				  (sip_header_t *)sip_reason_make(msg_home(q->msg), reason));
		status = 0;
	}
	free(q);
	fn(fnarg, status, status ? sipdance_stir_status_str(status) : NULL, v->reason);
}

/* px_stir_ingress - start verifying an initial INVITE from a foreign number */
int px_stir_ingress(struct px_stir *s, msg_t *msg, sip_t *sip, int ours, struct px_stirq **out,
		    px_stir_fn *fn, void *arg)
{
	const char *ids[MAX_IDENT], *fps[MAX_FP];
	char fpbuf[MAX_FP][256], from[SIPDANCE_PASSPORT_MAX_TN], f[600], t[600];
	struct sipdance_stir_request req = { 0 };
	struct px_stirq *q;
	isize_t nf, nt;
	int err;

	/*
	 * What is verified:
	 *  - initial INVITEs (no To tag) only; requests inside a dialog and other
	 *    methods pass;
	 *  - From of our own domain, or a caller authenticated here as a user of
	 *    ours: signed (or not) at egress, never verified here;
	 *  - From not a telephone number (tel:, user=phone or digits): a SIP
	 *    identity, which DANE authenticates at the TLS layer: passes;
	 *  - everything else is verified, with or without an Identity (none: 428).
	 */
	*out = NULL;
	if (!s || !s->verify || ours || !is_initial_invite(sip) || is_local(s, sip) ||
	    uri_tn(sip->sip_from, from))
		return 0;
	if (!(q = calloc(1, sizeof(*q))))
		return ENOMEM;
	q->s = s;
	q->msg = msg;
	q->sip = sip;
	q->fn = fn;
	q->arg = arg;
	strcpy(q->orig, from);
	if (uri_tn(sip->sip_to, q->dest))
		strcpy(q->dest, "-");
	req.identity = ids;
	req.nidentity = identities(sip, ids, MAX_IDENT);
	req.fingerprints = fps;
	req.nfingerprints = fingerprints(sip, fpbuf, fps);
	nf = url_e(f, sizeof(f), sip->sip_from->a_url);
	nt = url_e(t, sizeof(t), sip->sip_to->a_url);
	f[nf > 0 && (size_t)nf < sizeof(f) ? (size_t)nf : 0] = '\0';
	t[nt > 0 && (size_t)nt < sizeof(t) ? (size_t)nt : 0] = '\0';
	req.orig = f;
	req.dest = t;
	if (sip->sip_date && sip->sip_date->d_time > SU_TIME_EPOCH)
		req.date = (time_t)(sip->sip_date->d_time - SU_TIME_EPOCH);
	if ((err = sipdance_stir_verify(s->verifier, s->x5u, &req, on_verdict, q, &q->q))) {
		free(q);
		return err;
	}
	*out = q;
	return 1;
}

/* px_stir_cancel - drop a pending verification */
void px_stir_cancel(struct px_stirq *q)
{
	if (!q)
		return;
	sipdance_stir_cancel(q->q);
	free(q);
}

/* px_stir_egress - the authentication service for local callers */
void px_stir_egress(struct px_stir *s, msg_t *msg, sip_t *sip, char attest)
{
	const char *ids[1], *fps[MAX_FP], *why = "";
	char fpbuf[MAX_FP][256], value[SIPDANCE_PASSPORT_MAX_TOKEN + SIPDANCE_PASSPORT_MAX_URL + 80];
	struct sipdance_passport pp = { 0 };
	msg_header_t *h;
	size_t nfp;
	time_t now = time(NULL);
	int err;

	/*
	 * The decision:
	 *  - only initial INVITEs without an Identity already (one present is
	 *    forwarded as it is) whose originator sip/auth.c authenticated: A for
	 *    a user entitled to the number, B for a user who is not, C for a
	 *    trusted gateway, lowered to --stir-attest at most; a request nobody
	 *    authenticated here (a peer's, a dialog's, --local-auth off) is never
	 *    signed (RFC 8588, ATIS-1000074);
	 *  - From and To must both be telephone numbers, else nothing is signed;
	 *  - the library refuses numbers outside --stir-orig-range (EPERM): the
	 *    request goes on unsigned and the refusal is logged;
	 *  - a Date header present and more than 60 s off is not signed over
	 *    (RFC 8224 §6.1); a missing one is added with the iat.
	 */
	if (!s || !s->sign || !is_initial_invite(sip) || identities(sip, ids, 1))
		return;
	if (uri_tn(sip->sip_from, pp.orig) || uri_tn(sip->sip_to, pp.dest[0])) {
		px_log(SIPDANCE_LOG_DEBUG, "stir", "sign: From or To is not a telephone number, not signed");
		return;
	}
	if (!attest) {
		px_log(SIPDANCE_LOG_INFO, "stir", "sign orig=%s dest=%s: not signed (the caller was not "
		       "authenticated by this proxy)", pp.orig, pp.dest[0]);
		return;
	}
	if (attest < s->attest)
		attest = s->attest;
	pp.ndest = 1;
	pp.attest[0] = attest;
	if (sip->sip_date) {
		long long d = (long long)sip->sip_date->d_time - (long long)SU_TIME_EPOCH;

		if (d < now - 60 || d > now + 60) {
			px_log(SIPDANCE_LOG_WARN, "stir", "sign orig=%s: Date is %lld s off, not signed",
			       pp.orig, d - now);
			return;
		}
		pp.iat = d;
	} else {
		pp.iat = now;
	}
	nfp = fingerprints(sip, fpbuf, fps);
	for (size_t i = 0; i < nfp; i++) {
		struct sipdance_passport_mky m;
		size_t j = 0;

		if (sipdance_passport_mky_parse(fps[i], &m, &why)) {
			px_log(SIPDANCE_LOG_WARN, "stir", "sign orig=%s: SDP fingerprint unusable (%s), "
			       "not signed", pp.orig, why);
			return;
		}
		while (j < pp.nmky && (strcmp(m.alg, pp.mky[j].alg) || strcmp(m.dig, pp.mky[j].dig)))
			j++;
		if (j == pp.nmky && pp.nmky < SIPDANCE_PASSPORT_MAX_MKY)
			pp.mky[pp.nmky++] = m;
	}
	if ((err = sipdance_stir_sign(s->signer, &pp, value, sizeof(value) - 10, &why))) {
		px_log(err == EPERM ? SIPDANCE_LOG_INFO : SIPDANCE_LOG_WARN, "stir",
		       "sign orig=%s dest=%s: not signed (%s)", pp.orig, pp.dest[0], why);
		return;
	}
	if (!sip->sip_date)
		sip_header_insert(msg, sip, (sip_header_t *)sip_date_create(msg_home(msg),
			(sip_time_t)pp.iat + SU_TIME_EPOCH));
	memmove(value + 10, value, strlen(value) + 1);
	memcpy(value, "Identity: ", 10);
	if (!(h = msg_header_make(msg_home(msg), sip_unknown_class, value)) ||
	    sip_header_insert(msg, sip, (sip_header_t *)h) || !identities(sip, ids, 1)) {
		px_log(SIPDANCE_LOG_WARN, "stir", "sign orig=%s: cannot add the header", pp.orig);
		return;
	}
	px_log(SIPDANCE_LOG_INFO, "stir", "sign orig=%s dest=%s attest=%c mky=%zu: Identity added",
	       pp.orig, pp.dest[0], attest, pp.nmky);
}
