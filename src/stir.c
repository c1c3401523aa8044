/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * stir.c - the STIR verification service (RFC 8224 §6.2, RFC 8588) and the
 * authentication service (§6.1). Verification runs in two phases: the
 * checks that need no certificate (syntax, info = x5u, freshness, orig,
 * dest, mky), then, with the x5u chains, the chain to the STI-CA roots,
 * TNAuthList, validity and the signature over the bytes received. With a
 * store attached, a verified request's signatures are then claimed there for
 * the freshness window, so that a PASSporT is accepted once (RFC 8224 §12.1),
 * by whichever node sharing the store sees it first.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <openssl/asn1t.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include <sipdance/store.h>
#include "internal.h"
#include "stir-internal.h"

#define MAX_IDENTITY 4
#define SIG_CANON 90          /* an ES256 signature in base64url (86) with its NUL, and room */

#define VCACHE 64
#define VCHAIN 8

/* A chain OpenSSL validated, the window in which that holds, and its end
 * entity's key ready to verify. It holds references to the certificates it
 * names: while it does, no other certificate can have their addresses, so a
 * chain made of the same objects is that chain. */
struct validated {
	X509 *cert[VCHAIN];
	int n;               /* 0: unused */
	time_t nb, na;
	EVP_PKEY_CTX *vctx;  /* ES256 with cert[0]'s key, prepared once; NULL: not P-256 */
};

struct sipdance_stir {
	X509_STORE *roots;
	ASN1_OBJECT *tnauth; /* id-pe-TNAuthList, 1.3.6.1.5.5.7.1.26 */
	unsigned max_age, max_skew;
	int require_mky;
	pthread_mutex_t mu;  /* guards vc (and each vctx while it verifies) and vnext */
	struct validated vc[VCACHE];
	size_t vnext;
	struct sipdance_store *replay; /* verified signatures claimed here, or NULL */
	char node[64];                 /* the value of our claims: who accepted it */
};

struct sipdance_stir_signer {
	EVP_PKEY *key;
	EVP_PKEY_CTX *ctx;   /* ES256 with key, prepared once */
	pthread_mutex_t mu;  /* guards ctx */
	/* the JOSE header, base64url, for ppt shaken [0] and div [1]: made once */
	char header[2][SIPDANCE_PASSPORT_MAX_TOKEN];
	char x5u[SIPDANCE_PASSPORT_MAX_URL + 1];
	char **ranges;
	size_t nranges;
};

/* One Identity value under verification. */
struct ident {
	struct sipdance_identity id;
	struct sipdance_passport pp;
	int index;             /* position among the request's values */
	size_t inlen;          /* signing input: the first inlen bytes of input */
	char *rebuilt;         /* compact form: "h.c" rebuilt from the request */
	const char *sig;       /* base64url signature inside id.jws */
	STACK_OF(X509) *chain; /* from x5u */
	int err;               /* fetch error */
	char why[160];
	struct sipdance_x5u_query *q;
	struct sipdance_stir_query *owner;
};

/* The state of one verification, request reduced to canonical form. */
struct sipdance_stir_query {
	const struct sipdance_stir *s;
	char orig[SIPDANCE_PASSPORT_MAX_TN], dest[SIPDANCE_PASSPORT_MAX_TN];
	struct sipdance_passport_mky fps[SIPDANCE_PASSPORT_MAX_MKY];
	size_t nfps;
	time_t now;
	struct ident ids[MAX_IDENTITY];
	size_t n;
	int decided, pending, cancelled;
	struct sipdance_store_op *claim; /* the replay claim in flight */
	char keys[MAX_IDENTITY][6 + 64]; /* the replay claims to make, in turn */
	size_t nkeys, nclaimed;
	struct sipdance_stir_verdict v;
	sipdance_stir_cb *cb;
	void *arg;
};

/* sipdance_stir_status_str - RFC 8224 §13.2 reason phrases */
const char *sipdance_stir_status_str(int sip_status)
{
	switch (sip_status) {
	case 0: return "OK";
	case 403: return "Stale Date";
	case 428: return "Use Identity Header";
	case 436: return "Bad Identity Info";
	case 437: return "Unsupported Credential";
	case 438: return "Invalid Identity Header";
	case 503: return "Service Unavailable";
	}
	return "Unknown";
}

/* decide - record the failure of value @i with its response code */
static void decide(struct sipdance_stir_query *c, int i, int status, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void decide(struct sipdance_stir_query *c, int i, int status, const char *fmt, ...)
{
	va_list ap;

	if (c->decided)
		return;
	c->decided = 1;
	c->v.index = i;
	c->v.sip_status = status;
	switch (status) {
	case 0: c->v.result = SIPDANCE_MATCH; break;
	case 428: c->v.result = SIPDANCE_NODATA; break;
	case 436: c->v.result = SIPDANCE_INDETERMINATE; break;
	case 437: c->v.result = SIPDANCE_UNUSABLE; break;
	default: c->v.result = SIPDANCE_NOMATCH; break;
	}
	va_start(ap, fmt);
	vsnprintf(c->v.reason, sizeof(c->v.reason), fmt, ap);
	va_end(ap);
}

/* sipdance_stir_alloc - roots and policy */
int sipdance_stir_alloc(struct sipdance_stir **out, const struct sipdance_stir_conf *conf)
{
	struct sipdance_stir_conf cf;
	struct sipdance_stir *s;

	if (SD_CONF(&cf, conf, NULL))
		return EINVAL;
	conf = &cf;
	if (!out || !conf->ca_file)
		return EINVAL;
	if (access(conf->ca_file, R_OK) != 0)
		return ENOENT;
	if (!(s = calloc(1, sizeof(*s))))
		return ENOMEM;
	s->max_age = conf->max_age ? conf->max_age : 60;
	s->max_skew = conf->max_skew ? conf->max_skew : s->max_age;
	s->require_mky = conf->require_mky;
	pthread_mutex_init(&s->mu, NULL);
	s->roots = X509_STORE_new();
	s->tnauth = OBJ_txt2obj("1.3.6.1.5.5.7.1.26", 1);
	if (!s->roots || !s->tnauth) {
		sipdance_stir_free(s);
		return ENOMEM;
	}
	if (X509_STORE_load_file(s->roots, conf->ca_file) != 1 ||
	    sk_X509_OBJECT_num(X509_STORE_get0_objects(s->roots)) == 0) {
		ERR_clear_error();
		sipdance_stir_free(s);
		return EINVAL;
	}
	*out = s;
	return 0;
}

/* forget - empty memory slot @v */
static void forget(struct validated *v)
{
	for (int i = 0; i < v->n; i++)
		X509_free(v->cert[i]);
	EVP_PKEY_CTX_free(v->vctx);
	memset(v, 0, sizeof(*v));
}

/* sipdance_stir_free - free a verifier */
void sipdance_stir_free(struct sipdance_stir *s)
{
	if (!s)
		return;
	X509_STORE_free(s->roots);
	ASN1_OBJECT_free(s->tnauth);
	for (size_t i = 0; i < VCACHE; i++)
		forget(&s->vc[i]);
	pthread_mutex_destroy(&s->mu);
	free(s);
}

/* sipdance_stir_set_store - where verified signatures are claimed, and by whom */
void sipdance_stir_set_store(struct sipdance_stir *s, struct sipdance_store *store, const char *node)
{
	if (s) {
		s->replay = store;
		snprintf(s->node, sizeof(s->node), "%s", node && *node ? node : "1");
	}
}

/* rebuild - compact form: header and claims from the request (RFC 8224 §5.2) */
static int rebuild(struct sipdance_stir_query *c, struct ident *d, time_t date)
{
	struct sipdance_passport *pp = &d->pp;
	char *h, *cl;
	size_t hl, cll;

	if (d->id.ppt[0]) {
		decide(c, d->index, 438, "compact form cannot carry ppt \"%s\" claims", d->id.ppt);
		return 0;
	}
	if (!c->orig[0] || !c->dest[0] || !date) {
		decide(c, d->index, 438, "compact form needs From, To and Date to rebuild the PASSporT");
		return 0;
	}
	memset(pp, 0, sizeof(*pp));
	strcpy(pp->alg, "ES256");
	strcpy(pp->typ, "passport");
	strcpy(pp->x5u, d->id.info);
	strcpy(pp->orig, c->orig);
	strcpy(pp->dest[0], c->dest);
	pp->ndest = 1;
	pp->iat = (long long)date;
	memcpy(pp->mky, c->fps, c->nfps * sizeof(*c->fps));
	pp->nmky = c->nfps;
	h = sd_passport_header_json(pp);
	cl = h ? sd_passport_claims_json(pp) : NULL;
	if (cl) {
		hl = strlen(h);
		cll = strlen(cl);
		d->rebuilt = malloc((hl + 2) / 3 * 4 + (cll + 2) / 3 * 4 + 2);
	}
	if (!cl || !d->rebuilt) {
		free(h);
		free(cl);
		return ENOMEM;
	}
	sd_b64url_encode((const uint8_t *)h, hl, d->rebuilt);
	hl = strlen(d->rebuilt);
	d->rebuilt[hl] = '.';
	sd_b64url_encode((const uint8_t *)cl, cll, d->rebuilt + hl + 1);
	d->inlen = strlen(d->rebuilt);
	free(h);
	free(cl);
	return 0;
}

/* in_dest - whether @tn is one of the dest.tn entries of @pp */
static int in_dest(const struct sipdance_passport *pp, const char *tn)
{
	for (size_t i = 0; i < pp->ndest; i++)
		if (!strcmp(pp->dest[i], tn))
			return 1;
	return 0;
}

/* mky_matches - the signed mky set equals the SDP fingerprint set */
static int mky_matches(const struct sipdance_stir_query *c, const struct sipdance_passport *pp)
{
	for (size_t i = 0; i < pp->nmky; i++) {
		size_t j = 0;

		while (j < c->nfps && !sd_mky_equal(&pp->mky[i], &c->fps[j]))
			j++;
		if (j == c->nfps)
			return 0;
	}
	for (size_t j = 0; j < c->nfps; j++) {
		size_t i = 0;

		while (i < pp->nmky && !sd_mky_equal(&pp->mky[i], &c->fps[j]))
			i++;
		if (i == pp->nmky)
			return 0;
	}
	return 1;
}

/* load - parse and decode every Identity value; the request is not needed after */
static int load(struct sipdance_stir_query *c, const struct sipdance_stir_request *req)
{
	const char *why, *skipped = NULL;
	int k = 0, err;

	c->now = req->now ? req->now : time(NULL);
	c->v.index = -1;
	if (req->orig && sipdance_passport_tn(req->orig, c->orig, &why)) {
		decide(c, -1, 438, "orig: From is not a telephone number (%s)", why);
		return 0;
	}
	if (req->dest && sipdance_passport_tn(req->dest, c->dest, &why)) {
		decide(c, -1, 438, "dest: To is not a telephone number (%s)", why);
		return 0;
	}
	for (size_t i = 0; i < req->nfingerprints; i++) {
		struct sipdance_passport_mky m;
		size_t j = 0;

		if (sipdance_passport_mky_parse(req->fingerprints[i], &m, &why)) {
			decide(c, -1, 438, "SDP fingerprint unusable: %s", why);
			return 0;
		}
		while (j < c->nfps && !sd_mky_equal(&m, &c->fps[j]))
			j++;
		if (j < c->nfps)
			continue;
		if (c->nfps == SIPDANCE_PASSPORT_MAX_MKY) {
			decide(c, -1, 438, "more than %d distinct SDP fingerprints", SIPDANCE_PASSPORT_MAX_MKY);
			return 0;
		}
		c->fps[c->nfps++] = m;
	}
	for (size_t i = 0; i < req->nidentity; i++) {
		const char *p = req->identity[i], *end = p ? p + strlen(p) : NULL, *start;
		size_t len;

		while (p && sd_identity_next(&p, end, &start, &len)) {
			struct ident *d = &c->ids[c->n];

			if (c->n == MAX_IDENTITY) {
				decide(c, k, 438, "more than %d Identity header values", MAX_IDENTITY);
				return 0;
			}
			memset(d, 0, sizeof(*d));
			d->index = k++;
			d->owner = c;
			if (sipdance_identity_parse(&d->id, start, len, &why)) {
				decide(c, d->index, 438, "Identity header: %s", why);
				return 0;
			}
			/* Values with a ppt we do not know are skipped (RFC 8224 §6.2). */
			if (d->id.ppt[0] && strcmp(d->id.ppt, "shaken") && strcmp(d->id.ppt, "div")) {
				skipped = d->id.ppt;
				continue;
			}
			if (d->id.alg[0] && strcmp(d->id.alg, "ES256")) {
				decide(c, d->index, 438, "alg parameter \"%s\" not supported (ES256 only)",
				       d->id.alg);
				return 0;
			}
			if (d->id.compact) {
				if ((err = rebuild(c, d, req->date)) || c->decided)
					return err;
			} else {
				if (sipdance_passport_decode(&d->pp, d->id.jws, strlen(d->id.jws), &why)) {
					decide(c, d->index, 438, "PASSporT: %s", why);
					return 0;
				}
				d->inlen = (size_t)(strrchr(d->id.jws, '.') - d->id.jws);
			}
			d->sig = strrchr(d->id.jws, '.') + 1;
			c->n++;
		}
	}
	if (c->n == 0) {
		if (skipped)
			decide(c, -1, 438, "no Identity header with a supported ppt (\"%s\" skipped)", skipped);
		else
			decide(c, -1, 428, "no Identity header");
	}
	return 0;
}

/* claims - phase 1: everything that needs no certificate */
static void claims(struct sipdance_stir_query *c)
{
	const struct sipdance_stir *s = c->s;
	const struct ident *primary = NULL, *last_div = NULL;

	/*
	 * The decision, value by value (every supported value must pass):
	 *  - ppt parameter differs from the PASSporT's ppt, or info differs from
	 *    x5u: 438.
	 *  - iat older than max_age, or later than now + max_skew: 403 Stale Date.
	 *  - orig differs from From/PAI: 438. With no div PASSporT, To must be
	 *    one of dest; with div PASSporTs each div must name a dest of the
	 *    original and To must be a dest of a div: 438.
	 *  - mky present and not exactly the SDP fingerprints, or absent while
	 *    the SDP has fingerprints and require_mky is set: 438.
	 */
	for (size_t i = 0; i < c->n && !c->decided; i++) {
		const struct ident *d = &c->ids[i];
		const struct sipdance_passport *pp = &d->pp;
		long long age = (long long)c->now - pp->iat;

		if (strcmp(d->id.ppt, pp->ppt))
			decide(c, d->index, 438, "ppt parameter \"%s\" does not match PASSporT ppt \"%s\"",
			       d->id.ppt, pp->ppt);
		else if (strcmp(d->id.info, pp->x5u))
			decide(c, d->index, 438, "info parameter does not equal x5u");
		else if (age > (long long)s->max_age)
			decide(c, d->index, 403, "iat is %lld s old (more than %u s)", age, s->max_age);
		else if (-age > (long long)s->max_skew)
			decide(c, d->index, 403, "iat is %lld s in the future (more than %u s)", -age,
			       s->max_skew);
		else if (c->orig[0] && strcmp(pp->orig, c->orig))
			decide(c, d->index, 438, "orig %s does not match From %s", pp->orig, c->orig);
		else if (pp->nmky && !mky_matches(c, pp))
			decide(c, d->index, 438, "mky does not match the SDP fingerprints");
		else if (!pp->nmky && c->nfps && s->require_mky)
			decide(c, d->index, 438, "SDP has fingerprints but the PASSporT has no mky");
		if (strcmp(pp->ppt, "div"))
			primary = primary ? primary : d;
		else
			last_div = d;
	}
	if (c->decided)
		return;
	if (!primary) {
		decide(c, last_div->index, 438, "div PASSporT without the original PASSporT");
		return;
	}
	if (!c->dest[0])
		return;
	if (!last_div) {
		if (!in_dest(&primary->pp, c->dest))
			decide(c, primary->index, 438, "To %s is not a dest of the PASSporT", c->dest);
		return;
	}
	for (size_t i = 0; i < c->n; i++) {
		const struct ident *d = &c->ids[i];

		if (strcmp(d->pp.ppt, "div") || in_dest(&primary->pp, d->pp.div))
			continue;
		for (size_t j = 0; j < c->n; j++)
			if (j != i && !strcmp(c->ids[j].pp.ppt, "div") && in_dest(&c->ids[j].pp, d->pp.div))
				goto chained;
		decide(c, d->index, 438, "div %s is not a dest of the original PASSporT", d->pp.div);
		return;
chained:;
	}
	for (size_t i = 0; i < c->n; i++)
		if (!strcmp(c->ids[i].pp.ppt, "div") && in_dest(&c->ids[i].pp, c->dest))
			return;
	decide(c, last_div->index, 438, "To %s is not a dest of any div PASSporT", c->dest);
}

/* RFC 8226 §9 TNAuthorizationList (explicit tags), decoded by OpenSSL:
 * SEQUENCE SIZE (1..MAX) OF TNEntry,
 * TNEntry ::= CHOICE { spc [0] IA5String, range [1] TelephoneNumberRange, one [2] TelephoneNumber },
 * TelephoneNumberRange ::= SEQUENCE { start TelephoneNumber, count INTEGER (2..MAX), ... } */
typedef struct {
	ASN1_IA5STRING *start;
	ASN1_INTEGER *count;
} TN_RANGE;

typedef struct {
	int type; /* TN_SPC, TN_RANGE or TN_ONE */
	union {
		ASN1_IA5STRING *spc;
		TN_RANGE *range;
		ASN1_IA5STRING *one;
	} value;
} TN_ENTRY;

enum { TN_SPC, TN_RANGE_ENTRY, TN_ONE };

ASN1_SEQUENCE(TN_RANGE) = {
	ASN1_SIMPLE(TN_RANGE, start, ASN1_IA5STRING),
	ASN1_SIMPLE(TN_RANGE, count, ASN1_INTEGER),
} static_ASN1_SEQUENCE_END(TN_RANGE)

ASN1_CHOICE(TN_ENTRY) = {
	ASN1_EXP(TN_ENTRY, value.spc, ASN1_IA5STRING, 0),
	ASN1_EXP(TN_ENTRY, value.range, TN_RANGE, 1),
	ASN1_EXP(TN_ENTRY, value.one, ASN1_IA5STRING, 2),
} static_ASN1_CHOICE_END(TN_ENTRY)

DEFINE_STACK_OF(TN_ENTRY)

ASN1_ITEM_TEMPLATE(TN_AUTH_LIST) =
	ASN1_EX_TEMPLATE_TYPE(ASN1_TFLG_SEQUENCE_OF, 0, TNAuthorizationList, TN_ENTRY)
static_ASN1_ITEM_TEMPLATE_END(TN_AUTH_LIST)

/* tn_number - a TelephoneNumber as a C string: 1-15 of 0-9 * #, else NULL */
static const char *tn_number(const ASN1_IA5STRING *s, char out[SIPDANCE_PASSPORT_MAX_TN])
{
	int n = ASN1_STRING_length(s);
	const unsigned char *d = ASN1_STRING_get0_data(s);

	if (n < 1 || n >= SIPDANCE_PASSPORT_MAX_TN)
		return NULL;
	for (int i = 0; i < n; i++)
		if (!d[i] || !strchr("0123456789*#", d[i]))
			return NULL;
	memcpy(out, d, (size_t)n);
	out[n] = '\0';
	return out;
}

/* in_tn_range - whether @tn is one of start .. start + count - 1: as many
 * characters as start, digits only, numerically inside */
static int in_tn_range(const char *start, uint64_t count, const char *tn)
{
	size_t n = strlen(start);
	uint64_t s = 0, t = 0;

	if (strlen(tn) != n || strspn(start, "0123456789") != n || strspn(tn, "0123456789") != n)
		return 0;
	for (size_t i = 0; i < n; i++) {
		s = s * 10 + (uint64_t)(start[i] - '0');
		t = t * 10 + (uint64_t)(tn[i] - '0');
	}
	return t >= s && t - s < count;
}

/*
 * tn_scope - whether @leaf's TNAuthList authorizes @tn: 1 yes, 0 no, -1 no
 * TNAuthList, -2 malformed. The cases:
 *  - absent: -1; not one DER TNAuthorizationList of at least one entry (the
 *    whole extension), a TelephoneNumber that is not 1-15 of 0-9 * #, or a
 *    range count below 2: -2.
 *  - only spc entries (SHAKEN, ATIS-1000080): an SPC names a provider, not
 *    numbers, and no number list comes with it: authorized (the STI-CA's
 *    chain is the trust, as in every SHAKEN verifier).
 *  - any one or range entry (RFC 8226 certificates, RFC 9060 delegate
 *    certificates): the list of numbers is the scope, an spc beside it
 *    widens nothing: @tn must equal a one, or lie in a range (start and
 *    count, RFC 8226: start .. start + count - 1, as many characters as
 *    start; a start with * or # covers no number).
 */
static int tn_scope(const struct sipdance_stir *s, X509 *leaf, const char *tn)
{
	int i = X509_get_ext_by_OBJ(leaf, s->tnauth, -1), numbers = 0, covered = 0, bad = 0;
	const ASN1_OCTET_STRING *os;
	const unsigned char *p, *end;
	STACK_OF(TN_ENTRY) *list;
	char num[SIPDANCE_PASSPORT_MAX_TN];

	if (i < 0)
		return -1;
	os = X509_EXTENSION_get_data(X509_get_ext(leaf, i));
	p = ASN1_STRING_get0_data(os);
	end = p + ASN1_STRING_length(os);
	list = (STACK_OF(TN_ENTRY) *)ASN1_item_d2i(NULL, &p, end - p, ASN1_ITEM_rptr(TN_AUTH_LIST));
	ERR_clear_error();
	if (!list || p != end || sk_TN_ENTRY_num(list) < 1)
		bad = 1;
	for (int k = 0; !bad && k < sk_TN_ENTRY_num(list); k++) {
		const TN_ENTRY *e = sk_TN_ENTRY_value(list, k);
		uint64_t count;

		switch (e->type) {
		case TN_ONE:
			numbers = 1;
			if (!tn_number(e->value.one, num))
				bad = 1;
			else
				covered |= !strcmp(num, tn);
			break;
		case TN_RANGE_ENTRY:
			numbers = 1;
			/* a count too large for 64 bits covers every number of that length */
			if (ASN1_INTEGER_get_uint64(&count, e->value.range->count) != 1)
				count = UINT64_MAX;
			if (!tn_number(e->value.range->start, num) || count < 2 ||
			    ASN1_STRING_type(e->value.range->count) == V_ASN1_NEG_INTEGER)
				bad = 1;
			else
				covered |= in_tn_range(num, count, tn);
			break;
		}
	}
	ERR_clear_error();
	ASN1_item_free((ASN1_VALUE *)list, ASN1_ITEM_rptr(TN_AUTH_LIST));
	if (bad)
		return -2;
	return !numbers || covered;
}

/* issuer_scope - the depth of the first certificate above the end entity of
 * @chain whose TNAuthList does not authorize @tn (*r 0) or is malformed
 * (*r -2); 0 when none: without a list, or with SPCs only, an issuer bounds nothing */
static int issuer_scope(const struct sipdance_stir *s, STACK_OF(X509) *chain, const char *tn, int *r)
{
	for (int i = 1; i < sk_X509_num(chain); i++)
		if ((*r = tn_scope(s, sk_X509_value(chain, i), tn)) == 0 || *r == -2)
			return i;
	return 0;
}

/* same_chain - whether @v holds exactly the certificate objects of @chain */
static int same_chain(const struct validated *v, STACK_OF(X509) *chain)
{
	if (!v->n || v->n != sk_X509_num(chain))
		return 0;
	for (int i = 0; i < v->n; i++)
		if (v->cert[i] != sk_X509_value(chain, i))
			return 0;
	return 1;
}

/* remember - @chain validated, within [nb, na]: into the next memory slot */
static void remember(struct sipdance_stir *s, STACK_OF(X509) *chain, time_t nb, time_t na)
{
	struct validated v = { .n = sk_X509_num(chain), .nb = nb, .na = na };

	if (v.n > VCHAIN)
		return;
	for (int i = 0; i < v.n; i++)
		if (!X509_up_ref(v.cert[i] = sk_X509_value(chain, i))) {
			v.n = i;
			forget(&v);
			return;
		}
	v.vctx = sd_es256_prepare(X509_get0_pubkey(v.cert[0]), 0);
	pthread_mutex_lock(&s->mu);
	forget(&s->vc[s->vnext]);
	s->vc[s->vnext] = v;
	s->vnext = (s->vnext + 1) % VCACHE;
	pthread_mutex_unlock(&s->mu);
}

/* validity_window - latest notBefore and earliest notAfter of the verified chain */
static int validity_window(STACK_OF(X509) *chain, time_t *nb, time_t *na)
{
	*nb = 0;
	*na = (time_t)INT64_MAX;
	for (int i = 0; i < sk_X509_num(chain); i++) {
		X509 *x = sk_X509_value(chain, i);
		struct tm b, a;
		time_t tb, ta;

		if (ASN1_TIME_to_tm(X509_get0_notBefore(x), &b) != 1 ||
		    ASN1_TIME_to_tm(X509_get0_notAfter(x), &a) != 1)
			return EINVAL;
		tb = timegm(&b);
		ta = timegm(&a);
		*nb = tb > *nb ? tb : *nb;
		*na = ta < *na ? ta : *na;
	}
	return 0;
}

/* chain_ok - OpenSSL's verdict on @chain at @now: 1 valid, 0 not (*verr,
 * *depth), -1 ENOMEM. Valid chains are remembered (the same certificate
 * objects, as the x5u cache hands them out) with their validity window, so a
 * warm x5u does not pay for the chain again; the result depends only on the
 * chain, the fixed roots and the time. */
static int chain_ok(const struct sipdance_stir *cs, STACK_OF(X509) *chain, time_t now,
		    int *verr, int *depth)
{
	struct sipdance_stir *s = (struct sipdance_stir *)cs;
	STACK_OF(X509) *untrusted = NULL;
	X509_STORE_CTX *sctx;
	time_t nb, na;
	int ok;

	pthread_mutex_lock(&s->mu);
	for (size_t i = 0; i < VCACHE; i++)
		if (same_chain(&s->vc[i], chain) && s->vc[i].nb <= now && now <= s->vc[i].na) {
			pthread_mutex_unlock(&s->mu);
			return 1;
		}
	pthread_mutex_unlock(&s->mu);
	if (!(sctx = X509_STORE_CTX_new()))
		return -1;
	if (sk_X509_num(chain) > 1 && !(untrusted = sk_X509_dup(chain))) {
		X509_STORE_CTX_free(sctx);
		return -1;
	}
	if (untrusted)
		(void)sk_X509_shift(untrusted);
	ok = X509_STORE_CTX_init(sctx, s->roots, sk_X509_value(chain, 0), untrusted);
	if (ok == 1) {
		X509_VERIFY_PARAM_set_time(X509_STORE_CTX_get0_param(sctx), now);
		ok = X509_verify_cert(sctx);
	}
	*verr = X509_STORE_CTX_get_error(sctx);
	*depth = X509_STORE_CTX_get_error_depth(sctx);
	if (ok == 1 && !validity_window(X509_STORE_CTX_get0_chain(sctx), &nb, &na))
		remember(s, chain, nb, na);
	X509_STORE_CTX_free(sctx);
	sk_X509_free(untrusted);
	ERR_clear_error();
	return ok < 0 ? -1 : ok == 1;
}

/* signature - ES256 of @d by @leaf's key: through the remembered chain's
 * prepared context when there is one, else one made for this call */
static int signature(const struct sipdance_stir *cs, struct ident *d, X509 *leaf, const char **why)
{
	struct sipdance_stir *s = (struct sipdance_stir *)cs;
	const char *in = d->rebuilt ? d->rebuilt : d->id.jws;
	EVP_PKEY_CTX *ctx;
	int err;

	pthread_mutex_lock(&s->mu);
	for (size_t i = 0; i < VCACHE; i++)
		if (same_chain(&s->vc[i], d->chain)) {
			err = sd_es256_verify(s->vc[i].vctx, in, d->inlen, d->sig, strlen(d->sig), why);
			pthread_mutex_unlock(&s->mu);
			return err;
		}
	pthread_mutex_unlock(&s->mu);
	ctx = sd_es256_prepare(X509_get0_pubkey(leaf), 0);
	err = sd_es256_verify(ctx, in, d->inlen, d->sig, strlen(d->sig), why);
	EVP_PKEY_CTX_free(ctx);
	return err;
}

/* credential - phase 2 for one value: chain, TNAuthList, validity, signature */
static int credential(struct sipdance_stir_query *c, struct ident *d)
{
	int div = !strcmp(d->pp.ppt, "div"), ok, verr = X509_V_OK, depth = 0, r;
	const char *why, *tn = div ? d->pp.div : d->pp.orig;
	X509 *leaf;

	/*
	 * The decision:
	 *  - x5u could not be fetched (refused, unreachable, timeout, too large):
	 *    436; the content is not a PEM certificate chain: 437.
	 *  - the chain does not lead to a configured STI-CA root, or OpenSSL
	 *    rejects it for any other reason: 437 with OpenSSL's reason.
	 *  - a certificate of the chain is expired or not yet valid at the
	 *    verification time: 403 Stale Date (the Date/iat lies outside the
	 *    credential's validity, as RFC 4474 and RFC 8224 treat it).
	 *  - the end entity has no well-formed TNAuthList, or one whose numbers
	 *    do not cover orig (for a div PASSporT: div, the number of the
	 *    retargeting party that signs it, RFC 8946), or no P-256 key: 437
	 *    (tn_scope: a list of SPCs only is not checked against numbers);
	 *  - a certificate above it (as served) whose TNAuthList names numbers
	 *    that do not include that number, or is malformed: 437 (RFC 9060: a
	 *    delegate's numbers lie within its issuer's).
	 *  - the ES256 signature over the bytes received fails: 438.
	 */
	if (d->err) {
		decide(c, d->index, d->err == EBADMSG ? 437 : 436, "%s", d->why);
		return 0;
	}
	leaf = sk_X509_value(d->chain, 0);
	if ((ok = chain_ok(c->s, d->chain, c->now, &verr, &depth)) < 0)
		return ENOMEM;
	if (!ok && (verr == X509_V_ERR_CERT_HAS_EXPIRED || verr == X509_V_ERR_CERT_NOT_YET_VALID))
		decide(c, d->index, 403, "certificate at depth %d: %s", depth,
		       X509_verify_cert_error_string(verr));
	else if (!ok)
		decide(c, d->index, 437, "certificate at depth %d: %s", depth,
		       X509_verify_cert_error_string(verr));
	else if ((r = tn_scope(c->s, leaf, tn)) == -1)
		decide(c, d->index, 437, "certificate has no TNAuthList (RFC 8226)");
	else if (r == -2)
		decide(c, d->index, 437, "certificate TNAuthList is malformed");
	else if (r == 0)
		decide(c, d->index, 437, "certificate TNAuthList does not cover %s %s",
		       div ? "div" : "orig", tn);
	else if ((depth = issuer_scope(c->s, d->chain, tn, &r)) && r == -2)
		decide(c, d->index, 437, "certificate at depth %d: TNAuthList is malformed", depth);
	else if (depth)
		decide(c, d->index, 437, "certificate at depth %d: TNAuthList does not cover %s %s", depth,
		       div ? "div" : "orig", tn);
	else if (signature(c->s, d, leaf, &why))
		decide(c, d->index, strcmp(why, "credential is not a P-256 key") ? 438 : 437,
		       "%s", why);
	return 0;
}

/* finish - phase 2 over every value, then MATCH if nothing failed */
static int finish(struct sipdance_stir_query *c)
{
	const struct sipdance_passport *pp;
	size_t i;
	int err;

	for (i = 0; i < c->n && !c->decided; i++)
		if ((err = credential(c, &c->ids[i])))
			return err;
	if (c->decided)
		return 0;
	for (i = 0; i < c->n - 1 && !strcmp(c->ids[i].pp.ppt, "div"); i++)
		;
	pp = &c->ids[i].pp; /* the original PASSporT, claims() made sure there is one */
	decide(c, c->ids[i].index, 0, "verified: ppt=%s orig=%s attest=%s%s", pp->ppt[0] ? pp->ppt : "none",
	       pp->orig, pp->attest[0] ? pp->attest : "-", c->n > 1 ? " (with div)" : "");
	return 0;
}

/* query_free - a verification's state and chains */
static void query_free(struct sipdance_stir_query *c)
{
	for (size_t i = 0; c && i < c->n; i++) {
		sk_X509_pop_free(c->ids[i].chain, X509_free);
		free(c->ids[i].rebuilt);
	}
	free(c);
}

/* result - the verdict and the deciding PASSporT out of @c */
static void result(const struct sipdance_stir_query *c, struct sipdance_stir_verdict *v,
		   struct sipdance_passport *pp)
{
	*v = c->v;
	if (pp) {
		memset(pp, 0, sizeof(*pp));
		for (size_t i = 0; i < c->n; i++)
			if (c->ids[i].index == (c->v.index < 0 ? 0 : c->v.index)) {
				*pp = c->ids[i].pp;
				break;
			}
	}
}

/* start - allocate the state and run phase 1 */
static int start(const struct sipdance_stir *s, const struct sipdance_stir_request *req,
		 struct sipdance_stir_query **out)
{
	struct sipdance_stir_query *c;
	int err;

	if (!s || !req || (req->nidentity && !req->identity))
		return EINVAL;
	if (!(c = calloc(1, sizeof(*c))))
		return ENOMEM;
	c->s = s;
	if (!(err = load(c, req)) && !c->decided)
		claims(c);
	if (err) {
		query_free(c);
		return err;
	}
	*out = c;
	return 0;
}

/* sipdance_stir_check - verify with a given chain for every x5u */
int sipdance_stir_check(const struct sipdance_stir *s, const struct sipdance_stir_request *req,
			STACK_OF(X509) *chain, struct sipdance_stir_verdict *v,
			struct sipdance_passport *pp)
{
	struct sipdance_stir_query *c;
	int err;

	if (!chain || !v || sk_X509_num(chain) < 1)
		return EINVAL;
	if ((err = start(s, req, &c)))
		return err;
	for (size_t i = 0; !c->decided && i < c->n; i++)
		if (!(c->ids[i].chain = sd_chain_dup(chain)))
			err = ENOMEM;
	if (!err && !c->decided)
		err = finish(c);
	result(c, v, pp);
	query_free(c);
	return err;
}

/* sipdance_stir_verify_sync - fetch each x5u (cache first), then phase 2 */
int sipdance_stir_verify_sync(struct sipdance_stir *s, struct sipdance_x5u *x,
			      const struct sipdance_stir_request *req, struct sipdance_stir_verdict *v,
			      struct sipdance_passport *pp)
{
	struct sipdance_stir_query *c;
	int err;

	if (!x || !v)
		return EINVAL;
	if ((err = start(s, req, &c)))
		return err;
	for (size_t i = 0; !c->decided && i < c->n; i++) {
		struct ident *d = &c->ids[i];
		const char *why = "";

		d->err = sipdance_x5u_fetch_sync(x, d->id.info, &d->chain, &why);
		if (d->err == ENOMEM) {
			err = ENOMEM;
			break;
		}
		snprintf(d->why, sizeof(d->why), "%s", why);
	}
	if (!err && !c->decided)
		err = finish(c);
	result(c, v, pp);
	query_free(c);
	return err;
}

/* deliver - run the caller's callback (unless cancelled) and free */
static void deliver(struct sipdance_stir_query *c)
{
	struct sipdance_stir_verdict v;
	struct sipdance_passport *pp = NULL;

	if (!c->cancelled) {
		if (c->n && (pp = malloc(sizeof(*pp))))
			result(c, &v, pp);
		else
			result(c, &v, NULL);
		c->cb(c->arg, &v, pp);
		free(pp);
	}
	query_free(c);
}

/* overrule - a MATCH undone by the replay check */
static void overrule(struct sipdance_stir_query *c, enum sipdance_result r, int status, const char *what,
		     const char *detail)
{
	c->v.result = r;
	c->v.sip_status = status;
	snprintf(c->v.reason, sizeof(c->v.reason), "%s: %s", what, detail);
}

static void claim_next(struct sipdance_stir_query *c);

/* on_claim - the store's answer for one PASSporT of a verified request */
static void on_claim(void *arg, enum sipdance_store_status st, const char *value, size_t len,
		     const char *why)
{
	struct sipdance_stir_query *c = arg;

	/*
	 * The cases:
	 *  - OK: the first use of this PASSporT in its freshness window
	 *    anywhere the store is shared: the next one is claimed, and the
	 *    MATCH stands once all are;
	 *  - TAKEN: accepted before, here or at another node: a replay, 403;
	 *  - ERROR: whether it was accepted before cannot be told: 503, never a
	 *    silent accept (a host that prefers availability makes its store
	 *    answer OK, and says so: sipdance-proxy --state-fail open).
	 */
	c->claim = NULL;
	if (st == SIPDANCE_STORE_OK) {
		claim_next(c);
		return;
	}
	if (st == SIPDANCE_STORE_TAKEN)
		overrule(c, SIPDANCE_NOMATCH, 403, "PASSporT replayed", "these signatures were "
			 "accepted before, within their freshness window");
	else
		overrule(c, SIPDANCE_INDETERMINATE, 503, "replay state unavailable",
			 why ? why : sipdance_store_status_str(st));
	deliver(c);
}

/* low_s - ES256 signature @sig (base64url r||s) with the lower of its two
 * valid s values, s and n - s, into @out (base64url); @sig as it is if it is
 * no such signature */
static void low_s(const char *sig, char out[SIG_CANON])
{
	static const uint8_t half[32] = { /* (n - 1) / 2, n the order of P-256 */
		0x7f, 0xff, 0xff, 0xff, 0x80, 0x00, 0x00, 0x00, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0xde, 0x73, 0x7d, 0x56, 0xd3, 0x8b, 0xcf, 0x42, 0x79, 0xdc, 0xe5, 0x61, 0x7e, 0x31, 0x92, 0xa8 };
	static const uint8_t order[32] = {
		0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51 };
	uint8_t raw[64];
	size_t n = 0;
	int borrow = 0;

	if (strlen(sig) >= SIG_CANON || sd_b64url_decode(sig, strlen(sig), raw, sizeof(raw), &n) || n != 64 ||
	    memcmp(raw + 32, half, 32) <= 0) {
		snprintf(out, SIG_CANON, "%s", sig);
		return;
	}
	for (int i = 31; i >= 0; i--) {
		int v = order[i] - raw[32 + i] - borrow;

		borrow = v < 0;
		raw[32 + i] = (uint8_t)(v + (borrow ? 256 : 0));
	}
	sd_b64url_encode(raw, 64, out);
}

/* retargeted - whether value @i is one a div PASSporT of the request chains
 * from (its dest names that div's div): the original of a diversion */
static int retargeted(const struct sipdance_stir_query *c, size_t i)
{
	for (size_t j = 0; j < c->n; j++)
		if (j != i && !strcmp(c->ids[j].pp.ppt, "div") && in_dest(&c->ids[i].pp, c->ids[j].pp.div))
			return 1;
	return 0;
}

/* replay_keys - the claims of a verified request: "stir:" and the SHA-256 of
 * each signature that must be a first use */
static void replay_keys(struct sipdance_stir_query *c)
{
	char canon[SIG_CANON];
	unsigned char d[32];
	int all = 1;

	/*
	 * Which PASSporTs a use spends, case by case:
	 *  - one a div PASSporT of the request chains from (the original of a
	 *    diversion, or an earlier div of a chain): none, it comes again
	 *    with each retargeting of its call (RFC 8946), which spends the
	 *    div PASSporT that is new;
	 *  - every other, each on its own: a PASSporT is one use, beside
	 *    whatever else the request carries (a set as a whole was a new key
	 *    with one more PASSporT of the same caller, or one fewer);
	 *  - none is left (div PASSporTs chained in a circle): every one.
	 * ECDSA signs the same bytes validly with s and with n - s: each
	 * signature counts with the lower one, or anyone could replay a
	 * PASSporT once more with the other; the same one twice is one claim.
	 */
	for (size_t i = 0; i < c->n; i++)
		all &= retargeted(c, i);
	c->nkeys = 0;
	for (size_t i = 0; i < c->n; i++) {
		size_t k = c->nkeys;

		if (!all && retargeted(c, i))
			continue;
		low_s(c->ids[i].sig ? c->ids[i].sig : "", canon);
		if (!EVP_Digest(canon, strlen(canon) + 1, d, NULL, EVP_sha256(), NULL))
			memset(d, 0, sizeof(d));
		memcpy(c->keys[k], "stir:", 5);
		sd_hex_encode(d, sizeof(d), c->keys[k] + 5);
		for (k = 0; k < c->nkeys && strcmp(c->keys[k], c->keys[c->nkeys]); k++)
			;
		c->nkeys += k == c->nkeys;
	}
	c->nclaimed = 0;
}

/* claim_next - the next replay claim of a verified request, or its verdict once all are made */
static void claim_next(struct sipdance_stir_query *c)
{
	if (c->nclaimed == c->nkeys) {
		deliver(c);
		return;
	}
	if (sipdance_store_claim(c->s->replay, c->keys[c->nclaimed++], c->s->node, strlen(c->s->node),
				 c->s->max_age + c->s->max_skew, on_claim, c, &c->claim)) {
		overrule(c, SIPDANCE_INDETERMINATE, 503, "replay state unavailable", "out of memory");
		deliver(c);
	}
}

/* complete - phase 2, then the replay claims of a MATCH, then the callback */
static void complete(void *arg)
{
	struct sipdance_stir_query *c = arg;

	if (!c->cancelled && !c->decided && finish(c))
		decide(c, -1, 436, "out of memory");
	if (!c->cancelled && c->v.result == SIPDANCE_MATCH && c->s->replay) {
		replay_keys(c);
		claim_next(c);
		return;
	}
	deliver(c);
}

/* drop_query - the fetcher went away before completion: free silently */
static void drop_query(void *arg)
{
	query_free(arg);
}

/* drop_fetch - one fetch will never call back; the last one frees the state */
static void drop_fetch(void *arg)
{
	struct ident *d = arg;
	struct sipdance_stir_query *c = d->owner;

	c->cancelled = 1;
	if (--c->pending == 0)
		query_free(c);
}

/* on_chain - one x5u fetch finished */
static void on_chain(void *arg, int err, STACK_OF(X509) *chain, const char *why)
{
	struct ident *d = arg;
	struct sipdance_stir_query *c = d->owner;

	d->err = err;
	d->chain = chain;
	d->q = NULL;
	snprintf(d->why, sizeof(d->why), "%s", why);
	if (--c->pending == 0)
		complete(c);
}

/* sipdance_stir_verify - phase 1 now, fetches in the background, phase 2 on completion */
int sipdance_stir_verify(struct sipdance_stir *s, struct sipdance_x5u *x,
			 const struct sipdance_stir_request *req, sipdance_stir_cb *cb, void *arg,
			 struct sipdance_stir_query **q)
{
	struct sipdance_stir_query *c;
	int err;

	if (!x || !cb)
		return EINVAL;
	if ((err = start(s, req, &c)))
		return err;
	c->cb = cb;
	c->arg = arg;
	if (c->decided) {
		err = sd_x5u_defer(x, complete, drop_query, c);
	} else {
		c->pending = (int)c->n;
		for (size_t i = 0; i < c->n; i++) {
			if ((err = sipdance_x5u_fetch(x, c->ids[i].id.info, on_chain, &c->ids[i],
						      &c->ids[i].q))) {
				/* fetches already started still call back; the last one frees */
				c->cancelled = 1;
				c->pending -= (int)(c->n - i);
				if (c->pending == 0)
					query_free(c);
				return err;
			}
			sd_x5u_set_drop(x, c->ids[i].q, drop_fetch);
		}
	}
	if (err) {
		query_free(c);
		return err;
	}
	if (q)
		*q = c;
	return 0;
}

/* sipdance_stir_cancel - the callback will not run; state goes with the last
 * fetch, or now when only the replay claim was left */
void sipdance_stir_cancel(struct sipdance_stir_query *q)
{
	if (!q)
		return;
	q->cancelled = 1;
	if (q->claim) {
		sipdance_store_cancel(q->s->replay, q->claim);
		query_free(q);
	}
}

/* ---- authentication service ---- */

/* make_headers - the two JOSE headers a signer can use, base64url: 0 or ENOMEM */
static int make_headers(struct sipdance_stir_signer *s)
{
	static const char *const ppt[2] = { "shaken", "div" };
	struct sipdance_passport pp = { .alg = "ES256", .typ = "passport" };

	strcpy(pp.x5u, s->x5u);
	for (int i = 0; i < 2; i++) {
		char *h;

		strcpy(pp.ppt, ppt[i]);
		if (!(h = sd_passport_header_json(&pp)))
			return ENOMEM;
		if ((strlen(h) + 2) / 3 * 4 + 1 > sizeof(s->header[i])) {
			free(h);
			return EMSGSIZE; /* an x5u JSON escapes beyond a PASSporT's size */
		}
		sd_b64url_encode((const uint8_t *)h, strlen(h), s->header[i]);
		free(h);
	}
	return 0;
}

/* sipdance_stir_signer_alloc - key, x5u, number ranges */
int sipdance_stir_signer_alloc(struct sipdance_stir_signer **out,
			       const struct sipdance_stir_signer_conf *conf, const char **why)
{
	struct sipdance_stir_signer_conf cf;
	struct sipdance_stir_signer *s;
	FILE *f;
	char name[32];
	int err;

	if ((err = SD_CONF(&cf, conf, why)))
		return err;
	conf = &cf;
	if (!out || !conf->key_file || !conf->x5u) {
		if (why)
			*why = "key file and x5u are required";
		return EINVAL;
	}
	if (strlen(conf->x5u) > SIPDANCE_PASSPORT_MAX_URL || strpbrk(conf->x5u, " \t\r\n<>\"") ||
	    (strncmp(conf->x5u, "https://", 8) && strncmp(conf->x5u, "http://", 7))) {
		if (why)
			*why = "x5u is not an http(s) URL";
		return EINVAL;
	}
	if (!(f = fopen(conf->key_file, "r"))) {
		if (why)
			*why = "cannot read the key file";
		return ENOENT;
	}
	if (!(s = calloc(1, sizeof(*s)))) {
		fclose(f);
		return ENOMEM;
	}
	pthread_mutex_init(&s->mu, NULL);
	s->key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	ERR_clear_error();
	if (!s->key || !EVP_PKEY_is_a(s->key, "EC") ||
	    EVP_PKEY_get_group_name(s->key, name, sizeof(name), NULL) != 1 || strcmp(name, "prime256v1") ||
	    !(s->ctx = sd_es256_prepare(s->key, 1))) {
		if (why)
			*why = "key is not an EC P-256 private key";
		sipdance_stir_signer_free(s);
		return EINVAL;
	}
	strcpy(s->x5u, conf->x5u);
	if ((err = make_headers(s))) {
		sipdance_stir_signer_free(s);
		return err;
	}
	if (conf->nranges && !(s->ranges = calloc(conf->nranges, sizeof(*s->ranges)))) {
		sipdance_stir_signer_free(s);
		return ENOMEM;
	}
	for (; s->nranges < conf->nranges; s->nranges++) {
		const char *r = conf->orig_ranges[s->nranges], *star = strchr(r, '*');
		size_t n = strspn(r, "0123456789*#");

		if (n == 0 || n > 16 || r[n] || (star && star != r + n - 1) || (!star && n > 15)) {
			if (why)
				*why = "number range is not digits with an optional trailing *";
			sipdance_stir_signer_free(s);
			return EINVAL;
		}
		if (!(s->ranges[s->nranges] = strdup(r))) {
			sipdance_stir_signer_free(s);
			return ENOMEM;
		}
	}
	*out = s;
	return 0;
}

/* sipdance_stir_signer_free - key and ranges */
void sipdance_stir_signer_free(struct sipdance_stir_signer *s)
{
	if (!s)
		return;
	EVP_PKEY_CTX_free(s->ctx);
	EVP_PKEY_free(s->key);
	pthread_mutex_destroy(&s->mu);
	for (size_t i = 0; i < s->nranges; i++)
		free(s->ranges[i]);
	free(s->ranges);
	free(s);
}

/* in_range - whether @tn is covered by a configured range (none: all) */
static int in_range(const struct sipdance_stir_signer *s, const char *tn)
{
	if (s->nranges == 0)
		return 1;
	for (size_t i = 0; i < s->nranges; i++) {
		const char *r = s->ranges[i], *star = strchr(r, '*');

		if (star ? !strncmp(r, tn, (size_t)(star - r)) : !strcmp(r, tn))
			return 1;
	}
	return 0;
}

/* uuid4 - a random RFC 4122 version 4 UUID */
static int uuid4(char out[37])
{
	uint8_t b[16];

	if (RAND_bytes(b, sizeof(b)) != 1)
		return ENOMEM;
	b[6] = (uint8_t)((b[6] & 0x0f) | 0x40);
	b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12],
		 b[13], b[14], b[15]);
	return 0;
}

/* sipdance_stir_sign - claims to an Identity header value */
int sipdance_stir_sign(const struct sipdance_stir_signer *s, const struct sipdance_passport *in,
		       char *out, size_t size, const char **why)
{
	struct sipdance_passport pp;
	char jws[SIPDANCE_PASSPORT_MAX_TOKEN + 1], tn[SIPDANCE_PASSPORT_MAX_TN];
	int err, n;

	if (!s || !in || !out) {
		if (why)
			*why = "no input";
		return EINVAL;
	}
	pp = *in;
	strcpy(pp.alg, "ES256");
	strcpy(pp.typ, "passport");
	strcpy(pp.x5u, s->x5u);
	if (!pp.ppt[0])
		strcpy(pp.ppt, "shaken");
	pp.attest[sizeof(pp.attest) - 1] = pp.origid[sizeof(pp.origid) - 1] = '\0';
	if (sipdance_passport_tn(pp.orig, tn, why) || strcmp(tn, pp.orig) || pp.ndest == 0 ||
	    pp.ndest > SIPDANCE_PASSPORT_MAX_DEST || pp.nmky > SIPDANCE_PASSPORT_MAX_MKY) {
		if (why)
			*why = "orig must be a canonical number, dest 1-8 numbers, mky at most 8";
		return EINVAL;
	}
	for (size_t i = 0; i < pp.ndest; i++)
		if (sipdance_passport_tn(pp.dest[i], tn, NULL) || strcmp(tn, pp.dest[i])) {
			if (why)
				*why = "dest is not a canonical telephone number";
			return EINVAL;
		}
	if ((strcmp(pp.ppt, "shaken") && strcmp(pp.ppt, "div")) ||
	    (!strcmp(pp.ppt, "shaken") && (!pp.attest[0] || !strchr("ABC", pp.attest[0]))) ||
	    (!strcmp(pp.ppt, "div") && (sipdance_passport_tn(pp.div, tn, NULL) || strcmp(tn, pp.div)))) {
		if (why)
			*why = "ppt must be shaken (attest A, B or C) or div (with a div number)";
		return EINVAL;
	}
	if (!in_range(s, pp.orig)) {
		if (why)
			*why = "orig is outside the configured number ranges";
		return EPERM;
	}
	if (!strcmp(pp.ppt, "shaken") && !pp.origid[0] && uuid4(pp.origid))
		return ENOMEM;
	if (!pp.iat)
		pp.iat = (long long)time(NULL);
	/* the signer is const to its users; its context is used one thread at a time */
	pthread_mutex_lock((pthread_mutex_t *)&s->mu);
	err = sd_passport_sign(s->ctx, s->header[!strcmp(pp.ppt, "div")], &pp, jws, sizeof(jws), why);
	pthread_mutex_unlock((pthread_mutex_t *)&s->mu);
	if (err)
		return err;
	n = snprintf(out, size, "%s;info=<%s>;alg=ES256;ppt=%s", jws, pp.x5u, pp.ppt);
	if (n < 0 || (size_t)n >= size) {
		if (why)
			*why = "output buffer too small";
		return EMSGSIZE;
	}
	return 0;
}
