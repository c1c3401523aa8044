/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ep.c - the media endpoint: one UDP socket demultiplexed per RFC 7983; ICE
 * connectivity checks on host candidates (both roles) and consent freshness;
 * DTLS with use_srtp whose peer certificate must match the SDP fingerprints;
 * SRTP keyed from the DTLS exporter (RFC 5764) through libsrtp2.
 */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <srtp2/srtp.h>

#include <sipdance/sdp.h>
#include "../src/internal.h"
#include "stun.h"

#define MAX_REMOTE 16
#define MAX_PKT 1500
#define DTLS_MTU 1200
#define CHECK_PACE_MS 50         /* Ta (RFC 8445 §14.2) */
#define CHECK_RTO_MS 250         /* between retransmissions of one check */

/* One remote transport address and our check towards it. */
struct remote {
	struct sockaddr_storage sa;
	socklen_t salen;
	uint32_t priority;
	uint8_t txid[12];         /* outstanding check */
	int nominating;           /* outstanding check carries USE-CANDIDATE */
	uint64_t next_ms;         /* when to (re)send the check */
	int succeeded;            /* our check got an authenticated success */
	int validated;            /* an authenticated request came from it */
	int nominated;            /* USE-CANDIDATE seen from it, or our nomination succeeded */
};

struct sipdance_stun_ep {
	struct sipdance_stun_ep_cfg cfg;
	int fd;
	struct sockaddr_storage local;
	socklen_t locallen;
	enum sipdance_stun_ep_state state;
	char why[256];
	struct sipdance_verdict verdict;
	struct sipdance_stun_ep_stats st;
	/* identity */
	X509 *cert;
	EVP_PKEY *key;
	char ufrag[9], pwd[25], tls_id[33];
	uint64_t tiebreaker;
	/* remote description */
	struct sipdance_sdp_fingerprint fps[SIPDANCE_SDP_MAX_FP];
	size_t nfp;
	char rufrag[257], rpwd[257];
	/* ICE */
	struct remote rem[MAX_REMOTE];
	size_t nrem;
	struct remote *selected;
	uint64_t ice_deadline, dtls_deadline, last_consent, next_consent;
	uint8_t consent_txid[8][12]; /* the last requests: a late answer still counts */
	unsigned consent_slot;
	int lite;                    /* ICE-lite against a full agent: no checks of our own */
	/* DTLS */
	SSL_CTX *ctx;
	SSL *ssl;
	BIO *rbio, *wbio;
	int dtls_started;
	/* SRTP */
	srtp_t srtp_in, srtp_out;
};

static int srtp_ready;

/* now_ms - monotonic milliseconds */
static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ep_fail - enter FAILED with a reason (the first one sticks) */
static int ep_fail(struct sipdance_stun_ep *ep, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int ep_fail(struct sipdance_stun_ep *ep, int err, const char *fmt, ...)
{
	va_list ap;

	if (ep->state != SIPDANCE_EP_FAILED) {
		va_start(ap, fmt);
		vsnprintf(ep->why, sizeof(ep->why), fmt, ap);
		va_end(ap);
		ep->state = SIPDANCE_EP_FAILED;
		sd_log(SIPDANCE_LOG_WARN, "media", "failed: %s", ep->why);
	}
	return err;
}

/* same_addr - address and port equality */
static int same_addr(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return 0;
	if (a->ss_family == AF_INET) {
		const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;

		return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
	}
	if (a->ss_family == AF_INET6) {
		const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;

		return x->sin6_port == y->sin6_port && !memcmp(&x->sin6_addr, &y->sin6_addr, 16);
	}
	return 0;
}

/* make_addr - sockaddr from an IP literal and port */
static int make_addr(const char *ip, uint16_t port, struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, ip, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		*len = sizeof(*sin);
		return 0;
	}
	if (inet_pton(AF_INET6, ip, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		*len = sizeof(*sin6);
		return 0;
	}
	return EINVAL;
}

/* self_signed - a fresh P-256 key and a self-signed certificate for DTLS */
static int self_signed(X509 **cert, EVP_PKEY **key)
{
	X509 *x = X509_new();
	EVP_PKEY *k = EVP_EC_gen("P-256");
	uint8_t serial[8];
	BIGNUM *bn = NULL;
	int ok;

	ok = x && k && RAND_bytes(serial, sizeof(serial)) == 1 &&
	     (bn = BN_bin2bn(serial, sizeof(serial), NULL)) &&
	     BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) &&
	     X509_set_version(x, X509_VERSION_3) == 1 &&
	     X509_gmtime_adj(X509_getm_notBefore(x), -86400) &&
	     X509_gmtime_adj(X509_getm_notAfter(x), 30L * 86400) &&
	     X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
					(const unsigned char *)"sipdance-dtls", -1, -1, 0) == 1 &&
	     X509_set_issuer_name(x, X509_get_subject_name(x)) == 1 &&
	     X509_set_pubkey(x, k) == 1 && X509_sign(x, k, EVP_sha256()) > 0;
	BN_free(bn);
	if (!ok) {
		X509_free(x);
		EVP_PKEY_free(k);
		ERR_clear_error();
		return ENOMEM;
	}
	*cert = x;
	*key = k;
	return 0;
}

/* verify_cb - the DTLS peer certificate must match an SDP fingerprint */
static int verify_cb(int preverify_ok, X509_STORE_CTX *sctx)
{
	SSL *ssl = X509_STORE_CTX_get_ex_data(sctx, SSL_get_ex_data_X509_STORE_CTX_idx());
	struct sipdance_stun_ep *ep = ssl ? SSL_get_app_data(ssl) : NULL;
	X509 *cert = X509_STORE_CTX_get_current_cert(sctx);

	if (!ep)
		return 0;
	/*
	 * Cases:
	 *  - a certificate above the end entity (depth > 0): irrelevant, the
	 *    binding is to the end entity's fingerprint; PKIX errors ignored;
	 *  - the end entity matches one of the remote SDP's usable fingerprints
	 *    (sipdance_sdp_fingerprint_verify: MATCH): accepted, whatever PKIX
	 *    said (self-signed is the norm, RFC 5763 §5);
	 *  - anything else (NOMATCH, UNUSABLE, no fingerprint, an error): the
	 *    handshake aborts with bad_certificate and the verdict says why.
	 */
	if (X509_STORE_CTX_get_error_depth(sctx) > 0)
		return 1;
	if (!cert || sipdance_sdp_fingerprint_verify(cert, ep->fps, ep->nfp, ep->cfg.fp_flags,
						     &ep->verdict) != 0) {
		sd_verdict_set(&ep->verdict, SIPDANCE_INDETERMINATE, "peer certificate not checked");
		X509_STORE_CTX_set_error(sctx, X509_V_ERR_CERT_REJECTED);
		return 0;
	}
	if (ep->verdict.result != SIPDANCE_MATCH) {
		X509_STORE_CTX_set_error(sctx, X509_V_ERR_CERT_REJECTED); /* alert bad_certificate */
		return 0;
	}
	X509_STORE_CTX_set_error(sctx, X509_V_OK);
	return 1;
}

/* make_ctx - the DTLS context: our certificate, use_srtp, fingerprint check */
static int make_ctx(struct sipdance_stun_ep *ep)
{
	ep->ctx = SSL_CTX_new(DTLS_method());
	if (!ep->ctx || SSL_CTX_set_min_proto_version(ep->ctx, DTLS1_2_VERSION) != 1 ||
	    SSL_CTX_use_certificate(ep->ctx, ep->cert) != 1 ||
	    SSL_CTX_use_PrivateKey(ep->ctx, ep->key) != 1 ||
	    SSL_CTX_set_tlsext_use_srtp(ep->ctx, ep->cfg.srtp_profiles ? ep->cfg.srtp_profiles :
					"SRTP_AES128_CM_SHA1_80:SRTP_AEAD_AES_128_GCM:"
					"SRTP_AEAD_AES_256_GCM:SRTP_AES128_CM_SHA1_32") != 0)
		return ENOMEM;
	SSL_CTX_set_verify(ep->ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, verify_cb);
	SSL_CTX_set_options(ep->ctx, SSL_OP_NO_QUERY_MTU | SSL_OP_NO_TICKET);
	return 0;
}

/* sipdance_stun_ep_alloc - socket, identity, credentials */
int sipdance_stun_ep_alloc(struct sipdance_stun_ep **out, const struct sipdance_stun_ep_cfg *cfg)
{
	struct sipdance_stun_ep *ep;
	int err = ENOMEM;

	if (!out || !cfg || !cfg->addr || (!cfg->cert != !cfg->key))
		return EINVAL;
	if (!(ep = calloc(1, sizeof(*ep))))
		return ENOMEM;
	ep->cfg = *cfg;
	ep->fd = -1;
	if (!ep->cfg.consent_interval_ms)
		ep->cfg.consent_interval_ms = 5000;
	if (!ep->cfg.consent_timeout_ms)
		ep->cfg.consent_timeout_ms = 30000;
	if (!ep->cfg.ice_timeout_ms)
		ep->cfg.ice_timeout_ms = 10000;
	if (!ep->cfg.dtls_timeout_ms)
		ep->cfg.dtls_timeout_ms = 10000;
	sd_verdict_set(&ep->verdict, SIPDANCE_INDETERMINATE, "no DTLS handshake yet");
	if ((err = make_addr(cfg->addr, cfg->port, &ep->local, &ep->locallen)))
		goto out;
	err = errno = 0;
	ep->fd = socket(ep->local.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (ep->fd < 0 || bind(ep->fd, (struct sockaddr *)&ep->local, ep->locallen) != 0 ||
	    getsockname(ep->fd, (struct sockaddr *)&ep->local, &ep->locallen) != 0) {
		err = errno ? errno : EIO;
		goto out;
	}
	err = ENOMEM;
	if (cfg->cert) {
		ep->cert = cfg->cert;
		ep->key = cfg->key;
		X509_up_ref(ep->cert);
		EVP_PKEY_up_ref(ep->key);
	} else if (self_signed(&ep->cert, &ep->key)) {
		goto out;
	}
	if (make_ctx(ep))
		goto out;
	if (sipdance_sdp_ice_generate(ep->ufrag, ep->pwd) || sipdance_sdp_tls_id_generate(ep->tls_id) ||
	    RAND_bytes((uint8_t *)&ep->tiebreaker, sizeof(ep->tiebreaker)) != 1) {
		err = EIO;
		goto out;
	}
	/* libsrtp is process-wide and has no reference count: initialise it once
	 * and keep it (a second srtp_init() by the application fails harmlessly;
	 * a real failure shows when the keys are refused). */
	if (!srtp_ready) {
		srtp_init();
		srtp_ready = 1;
	}
	*out = ep;
	return 0;
out:
	ERR_clear_error();
	sipdance_stun_ep_free(ep);
	return err;
}

/* sipdance_stun_ep_free - everything the endpoint holds */
void sipdance_stun_ep_free(struct sipdance_stun_ep *ep)
{
	if (!ep)
		return;
	if (ep->srtp_in)
		srtp_dealloc(ep->srtp_in);
	if (ep->srtp_out)
		srtp_dealloc(ep->srtp_out);
	SSL_free(ep->ssl); /* frees the BIOs */
	SSL_CTX_free(ep->ctx);
	X509_free(ep->cert);
	EVP_PKEY_free(ep->key);
	if (ep->fd >= 0)
		close(ep->fd);
	free(ep);
}

/* host_priority - RFC 8445 §5.1.2.1 for a host candidate of component 1 */
static uint32_t host_priority(void)
{
	return (126u << 24) | (65535u << 8) | 255u;
}

/* sipdance_stun_ep_describe - our side of the offer or answer */
int sipdance_stun_ep_describe(struct sipdance_stun_ep *ep, const struct sipdance_sdp_media *remote_offer,
			      struct sipdance_sdp_media *local)
{
	char ip[INET6_ADDRSTRLEN];
	const void *a = ep && ep->local.ss_family == AF_INET6 ?
			(const void *)&((struct sockaddr_in6 *)&ep->local)->sin6_addr :
			(const void *)&((struct sockaddr_in *)&ep->local)->sin_addr;
	int err;

	if (!ep || !local)
		return EINVAL;
	memset(local, 0, sizeof(*local));
	inet_ntop(ep->local.ss_family, a, ip, sizeof(ip));
	strcpy(local->addr, ip);
	local->port = sipdance_stun_ep_port(ep);
	strcpy(local->proto, "UDP/TLS/RTP/SAVPF");
	local->rtcp_mux = 1;
	strcpy(local->tls_id, ep->tls_id);
	if ((err = sipdance_sdp_fingerprint_create(&local->fp[0], ep->cert, "sha-256")))
		return err;
	local->nfp = 1;
	local->setup = SIPDANCE_SETUP_ACTPASS;
	if (remote_offer) {
		local->payload_type = remote_offer->payload_type;
		strcpy(local->mid, remote_offer->mid);
		local->bundle = remote_offer->bundle;
		if ((err = sipdance_sdp_setup_answer(remote_offer->setup, &local->setup, NULL)))
			return err;
		if (!remote_offer->ice_ufrag[0])
			return 0; /* no ICE in the answer to an offer without it */
	}
	local->ice_lite = ep->cfg.ice_lite && !(remote_offer && remote_offer->ice_lite);
	strcpy(local->ice_ufrag, ep->ufrag);
	strcpy(local->ice_pwd, ep->pwd);
	local->ncand = 1;
	strcpy(local->cand[0].foundation, "1");
	local->cand[0].component = 1;
	local->cand[0].priority = host_priority();
	strcpy(local->cand[0].addr, ip);
	local->cand[0].port = local->port;
	strcpy(local->cand[0].type, "host");
	return 0;
}

/* add_remote - a remote address, once; NULL when the table is full */
static struct remote *add_remote(struct sipdance_stun_ep *ep, const struct sockaddr_storage *sa,
				 socklen_t len, uint32_t priority)
{
	for (size_t i = 0; i < ep->nrem; i++)
		if (same_addr(&ep->rem[i].sa, sa))
			return &ep->rem[i];
	if (ep->nrem == MAX_REMOTE)
		return NULL;
	ep->rem[ep->nrem] = (struct remote){ .sa = *sa, .salen = len, .priority = priority };
	return &ep->rem[ep->nrem++];
}

/* find_remote - the remote entry of an address, or NULL */
static struct remote *find_remote(struct sipdance_stun_ep *ep, const struct sockaddr_storage *sa)
{
	for (size_t i = 0; i < ep->nrem; i++)
		if (same_addr(&ep->rem[i].sa, sa))
			return &ep->rem[i];
	return NULL;
}

/* send_to - one datagram */
static int send_to(struct sipdance_stun_ep *ep, const struct remote *r, const uint8_t *buf, size_t len)
{
	if (sendto(ep->fd, buf, len, 0, (const struct sockaddr *)&r->sa, r->salen) < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : errno;
	return 0;
}

/* start_dtls - the path is chosen: create the SSL in our role and, as client, say hello */
static int start_dtls(struct sipdance_stun_ep *ep);

/* select_pair - ICE is done on @r */
static void select_pair(struct sipdance_stun_ep *ep, struct remote *r)
{
	char ip[INET6_ADDRSTRLEN];

	if (ep->selected || ep->state != SIPDANCE_EP_CHECKING)
		return;
	ep->selected = r;
	ep->last_consent = now_ms();
	ep->next_consent = ep->last_consent + ep->cfg.consent_interval_ms;
	inet_ntop(r->sa.ss_family, r->sa.ss_family == AF_INET ?
		  (const void *)&((struct sockaddr_in *)&r->sa)->sin_addr :
		  (const void *)&((struct sockaddr_in6 *)&r->sa)->sin6_addr, ip, sizeof(ip));
	sd_log(SIPDANCE_LOG_INFO, "media", "ICE selected %s port %u", ip,
	       ntohs(((struct sockaddr_in *)&r->sa)->sin_port));
	ep->state = SIPDANCE_EP_DTLS;
	start_dtls(ep);
}

/* send_check - a Binding request towards @r: a connectivity or consent check */
static int send_check(struct sipdance_stun_ep *ep, struct remote *r, int nominate, uint8_t txid[12])
{
	char user[520];
	struct sipdance_stun_msg m = {
		.method = SIPDANCE_STUN_BINDING, .cls = SIPDANCE_STUN_REQUEST,
		.has_priority = 1, .priority = (110u << 24) | (65535u << 8) | 255u,
		.tiebreaker = ep->tiebreaker, .use_candidate = nominate,
		.has_controlling = ep->st.controlling, .has_controlled = !ep->st.controlling,
	};
	uint8_t buf[SIPDANCE_STUN_MAX_LEN];
	size_t n;
	int err;

	snprintf(user, sizeof(user), "%s:%s", ep->rufrag, ep->ufrag);
	m.username = (struct sipdance_stun_str){ (const uint8_t *)user, strlen(user) };
	if ((err = sipdance_stun_txid(txid)))
		return err;
	memcpy(m.txid, txid, 12);
	if ((err = sipdance_stun_encode(&m, (const uint8_t *)ep->rpwd, strlen(ep->rpwd),
					SIPDANCE_STUN_ADD_MI | SIPDANCE_STUN_ADD_FINGERPRINT, 0, buf,
					sizeof(buf), &n)))
		return err;
	return send_to(ep, r, buf, n);
}

/* respond - a success or error response to request @req from @r */
static void respond(struct sipdance_stun_ep *ep, const struct sipdance_stun_msg *req,
		    const struct sockaddr_storage *from, socklen_t fromlen, int code, const char *reason,
		    int authenticated)
{
	struct sipdance_stun_msg m = { .method = req->method };
	struct remote to = { .sa = *from, .salen = fromlen };
	uint8_t buf[SIPDANCE_STUN_MAX_LEN];
	size_t n;

	memcpy(m.txid, req->txid, 12);
	if (code) {
		m.cls = SIPDANCE_STUN_ERROR;
		m.error_code = code;
		m.error_reason = (struct sipdance_stun_str){ (const uint8_t *)reason, strlen(reason) };
		if (code == 420) {
			m.n_unknown_attrs = req->n_unknown_required;
			memcpy(m.unknown_attrs, req->unknown_required, sizeof(m.unknown_attrs));
		}
	} else {
		m.cls = SIPDANCE_STUN_SUCCESS;
		m.has_xor_mapped = 1;
		m.xor_mapped = *from;
	}
	if (sipdance_stun_encode(&m, (const uint8_t *)ep->pwd, strlen(ep->pwd),
				 (authenticated ? SIPDANCE_STUN_ADD_MI : 0) | SIPDANCE_STUN_ADD_FINGERPRINT,
				 0, buf, sizeof(buf), &n) == 0)
		send_to(ep, &to, buf, n);
}

/* username_ok - USERNAME of a request to us: "<our ufrag>:<their ufrag>" */
static int username_ok(const struct sipdance_stun_ep *ep, const struct sipdance_stun_str *u)
{
	size_t l = strlen(ep->ufrag), r = strlen(ep->rufrag);

	return u->len == l + 1 + r && !memcmp(u->p, ep->ufrag, l) && u->p[l] == ':' &&
	       !memcmp(u->p + l + 1, ep->rufrag, r);
}

/* on_request - an ICE check (or consent request) from the peer */
static void on_request(struct sipdance_stun_ep *ep, const struct sipdance_stun_msg *m,
		       const struct sockaddr_storage *from, socklen_t fromlen)
{
	struct remote *r;

	/*
	 * Cases (RFC 8445 §7.3, RFC 8489 §9.1.3):
	 *  - ICE not in use, no USERNAME, no MESSAGE-INTEGRITY or no
	 *    FINGERPRINT: 400, nothing learnt;
	 *  - USERNAME not ours:theirs, or integrity wrong with our password: 401;
	 *  - unknown comprehension-required attributes: 420;
	 *  - role conflict: 487 if our tie-breaker wins, else we switch roles;
	 *    ICE-lite is always controlled: 487 to a peer that is controlled too;
	 *  - otherwise: success with XOR-MAPPED-ADDRESS; the source becomes a
	 *    validated remote (peer-reflexive if new), we send a triggered check,
	 *    and USE-CANDIDATE nominates it when we are controlled. ICE-lite
	 *    sends no checks: a nomination selects the pair at once, and checks
	 *    on the selected pair renew consent.
	 */
	if (!ep->st.ice || !m->username.len || !m->mi_off || !m->has_fingerprint) {
		ep->st.stun_bad++;
		respond(ep, m, from, fromlen, 400, "Bad Request", 0);
		return;
	}
	if (!username_ok(ep, &m->username) ||
	    sipdance_stun_check_integrity(m, (const uint8_t *)ep->pwd, strlen(ep->pwd), NULL)) {
		ep->st.stun_bad++;
		respond(ep, m, from, fromlen, 401, "Unauthenticated", 0);
		return;
	}
	if (m->n_unknown_required) {
		respond(ep, m, from, fromlen, 420, "Unknown Attribute", 1);
		return;
	}
	if (ep->lite && m->has_controlled) {
		respond(ep, m, from, fromlen, 487, "Role Conflict", 1);
		return;
	}
	if (!ep->lite && ((ep->st.controlling && m->has_controlling) ||
			  (!ep->st.controlling && m->has_controlled))) {
		int we_win = ep->tiebreaker >= m->tiebreaker;

		if (ep->st.controlling == we_win) {
			respond(ep, m, from, fromlen, 487, "Role Conflict", 1);
			return;
		}
		ep->st.controlling = !ep->st.controlling;
	}
	respond(ep, m, from, fromlen, 0, NULL, 1);
	if (!(r = add_remote(ep, from, fromlen, m->priority)))
		return;
	r->validated = 1;
	if (ep->selected == r) {
		if (ep->lite)
			ep->last_consent = now_ms();
		return;
	}
	if (!ep->lite && !r->succeeded && !r->next_ms)
		r->next_ms = now_ms(); /* triggered check */
	if (!ep->st.controlling && m->use_candidate) {
		r->nominated = 1;
		if (r->succeeded || ep->lite)
			select_pair(ep, r);
	}
}

/* on_response - the answer to one of our checks */
static void on_response(struct sipdance_stun_ep *ep, const struct sipdance_stun_msg *m,
			const struct sockaddr_storage *from)
{
	struct remote *r = find_remote(ep, from);
	int consent = 0;

	for (size_t i = 0; ep->selected && i < 8 && !consent; i++)
		consent = !memcmp(m->txid, ep->consent_txid[i], 12);

	/*
	 * Cases:
	 *  - not from an address we sent this transaction to (txid and source
	 *    must both match: checks are symmetric), or FINGERPRINT absent:
	 *    dropped;
	 *  - integrity absent or wrong under the peer's password: dropped;
	 *  - 487: the peer won the role conflict: switch and check again;
	 *  - other errors: this check failed; retried until the ICE deadline;
	 *  - success: the pair succeeded; a consent response renews consent; a
	 *    success to a nominating check (or of a pair the controlling peer
	 *    nominated) selects the pair.
	 */
	if (!r || (!consent && memcmp(m->txid, r->txid, 12)) || (consent && r != ep->selected) ||
	    !m->has_fingerprint || sipdance_stun_check_integrity(m, (const uint8_t *)ep->rpwd,
								 strlen(ep->rpwd), NULL)) {
		ep->st.stun_bad++;
		return;
	}
	if (m->cls == SIPDANCE_STUN_ERROR) {
		if (m->error_code == 487) {
			ep->st.controlling = !ep->st.controlling;
			r->next_ms = now_ms();
		}
		return;
	}
	if (consent) {
		ep->last_consent = now_ms();
		return;
	}
	memset(r->txid, 0, 12);
	r->succeeded = 1;
	r->next_ms = 0;
	if (ep->st.controlling) {
		if (r->nominating) {
			select_pair(ep, r);
		} else if (!ep->selected) {
			r->nominating = 1; /* regular nomination: check again with USE-CANDIDATE */
			r->next_ms = now_ms();
		}
	} else if (r->nominated) {
		select_pair(ep, r);
	}
}

/* on_stun - a STUN datagram */
static void on_stun(struct sipdance_stun_ep *ep, const uint8_t *buf, size_t len,
		    const struct sockaddr_storage *from, socklen_t fromlen)
{
	struct sipdance_stun_msg m;
	const char *why = NULL;

	ep->st.stun_rx++;
	if (sipdance_stun_decode(&m, buf, len, &why) || m.method != SIPDANCE_STUN_BINDING) {
		sd_log(SIPDANCE_LOG_DEBUG, "media", "STUN dropped: %s", why ? why : "not a Binding");
		ep->st.stun_bad++;
		return;
	}
	if (m.cls == SIPDANCE_STUN_REQUEST)
		on_request(ep, &m, from, fromlen);
	else if (m.cls == SIPDANCE_STUN_SUCCESS || m.cls == SIPDANCE_STUN_ERROR)
		on_response(ep, &m, from);
}

/* flush_dtls - send what OpenSSL wrote, records packed into datagrams of at most DTLS_MTU */
static void flush_dtls(struct sipdance_stun_ep *ep)
{
	uint8_t buf[8192], dgram[MAX_PKT];
	int n;

	if (!ep->selected) {
		(void)BIO_reset(ep->wbio);
		return;
	}
	while ((n = BIO_read(ep->wbio, buf, sizeof(buf))) > 0) {
		size_t off = 0, used = 0;

		while (off + 13 <= (size_t)n) {
			size_t rec = 13 + (size_t)(buf[off + 11] << 8 | buf[off + 12]);

			if (off + rec > (size_t)n)
				rec = (size_t)n - off;
			if (used && used + rec > DTLS_MTU) {
				send_to(ep, ep->selected, dgram, used);
				used = 0;
			}
			if (rec > sizeof(dgram) - used)
				rec = sizeof(dgram) - used;
			memcpy(dgram + used, buf + off, rec);
			used += rec;
			off += rec;
		}
		if (used)
			send_to(ep, ep->selected, dgram, used);
	}
}

/* srtp_lengths - master key and salt lengths of a DTLS-SRTP profile (RFC 5764 §4.1.2, RFC 7714 §14.2) */
static void srtp_lengths(unsigned long profile, size_t *klen, size_t *slen)
{
	*klen = profile == SRTP_AEAD_AES_256_GCM ? 32 : 16;
	*slen = profile == SRTP_AEAD_AES_128_GCM || profile == SRTP_AEAD_AES_256_GCM ? 12 : 14;
}

/* srtp_session - one libsrtp session for @key||@salt in direction @outbound */
static int srtp_session(srtp_t *s, unsigned long profile, const uint8_t *key, const uint8_t *salt,
			int outbound)
{
	uint8_t master[44];
	size_t klen, slen;
	srtp_policy_t p;

	memset(&p, 0, sizeof(p));
	srtp_lengths(profile, &klen, &slen);
	if (profile == SRTP_AEAD_AES_128_GCM) {
		srtp_crypto_policy_set_aes_gcm_128_16_auth(&p.rtp);
		srtp_crypto_policy_set_aes_gcm_128_16_auth(&p.rtcp);
	} else if (profile == SRTP_AEAD_AES_256_GCM) {
		srtp_crypto_policy_set_aes_gcm_256_16_auth(&p.rtp);
		srtp_crypto_policy_set_aes_gcm_256_16_auth(&p.rtcp);
	} else {
		if (profile == SRTP_AES128_CM_SHA1_32)
			srtp_crypto_policy_set_aes_cm_128_hmac_sha1_32(&p.rtp);
		else
			srtp_crypto_policy_set_rtp_default(&p.rtp);
		srtp_crypto_policy_set_rtcp_default(&p.rtcp); /* SRTCP keeps the 80-bit tag (RFC 5764 §4.1.2) */
	}
	memcpy(master, key, klen);
	memcpy(master + klen, salt, slen);
	p.key = master;
	p.ssrc.type = outbound ? ssrc_any_outbound : ssrc_any_inbound;
	p.window_size = 1024;
	p.allow_repeat_tx = 0;
	return srtp_create(s, &p) == srtp_err_status_ok ? 0 : EIO;
}

/* dtls_done - the handshake finished: check the verdict, key SRTP */
static void dtls_done(struct sipdance_stun_ep *ep)
{
	const SRTP_PROTECTION_PROFILE *prof = SSL_get_selected_srtp_profile(ep->ssl);
	uint8_t km[2 * 44];
	const uint8_t *ck, *sk, *cs, *ss;
	size_t klen, slen;
	int client = ep->st.dtls_client;

	/*
	 * Cases: SRTP is keyed only when the peer presented a certificate, the
	 * verify callback judged it MATCH against the SDP fingerprints, and an
	 * SRTP profile was negotiated; anything else fails the media.
	 */
	if (!SSL_get0_peer_certificate(ep->ssl) || ep->verdict.result != SIPDANCE_MATCH) {
		ep_fail(ep, EACCES, "DTLS peer not authenticated: %s", ep->verdict.reason);
		return;
	}
	if (!prof) {
		ep_fail(ep, EPROTO, "DTLS without an SRTP profile (use_srtp not negotiated)");
		return;
	}
	/* client key, server key, client salt, server salt (RFC 5764 §4.2) */
	srtp_lengths(prof->id, &klen, &slen);
	ck = km;
	sk = km + klen;
	cs = km + 2 * klen;
	ss = km + 2 * klen + slen;
	if (SSL_export_keying_material(ep->ssl, km, 2 * (klen + slen), "EXTRACTOR-dtls_srtp", 19, NULL,
				       0, 0) != 1) {
		ep_fail(ep, EIO, "DTLS exporter failed");
		return;
	}
	if (srtp_session(&ep->srtp_out, prof->id, client ? ck : sk, client ? cs : ss, 1) ||
	    srtp_session(&ep->srtp_in, prof->id, client ? sk : ck, client ? ss : cs, 0)) {
		OPENSSL_cleanse(km, sizeof(km));
		ep_fail(ep, EIO, "libsrtp refused the keys");
		return;
	}
	OPENSSL_cleanse(km, sizeof(km));
	snprintf(ep->st.srtp_profile, sizeof(ep->st.srtp_profile), "%s", prof->name);
	ep->state = SIPDANCE_EP_SECURE;
	sd_log(SIPDANCE_LOG_INFO, "media", "DTLS-SRTP up (%s, %s); %s", prof->name,
	       client ? "client" : "server", ep->verdict.reason);
}

/* drive_dtls - advance the handshake; fail with OpenSSL's reason on alert */
static void drive_dtls(struct sipdance_stun_ep *ep)
{
	int r;

	if (!ep->ssl || ep->state != SIPDANCE_EP_DTLS)
		return;
	r = SSL_do_handshake(ep->ssl);
	flush_dtls(ep);
	if (r == 1) {
		dtls_done(ep);
	} else {
		int e = SSL_get_error(ep->ssl, r);

		if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
			unsigned long oe = ERR_peek_last_error();

			if (ep->verdict.result != SIPDANCE_MATCH &&
			    ep->verdict.result != SIPDANCE_INDETERMINATE)
				ep_fail(ep, EACCES, "DTLS handshake refused: %s", ep->verdict.reason);
			else
				ep_fail(ep, EPROTO, "DTLS handshake failed: %s",
					oe ? ERR_reason_error_string(oe) : "peer alert");
			ERR_clear_error();
		}
	}
}

/* start_dtls - SSL object over memory BIOs in our role */
static int start_dtls(struct sipdance_stun_ep *ep)
{
	if (ep->ssl)
		return 0;
	ep->ssl = SSL_new(ep->ctx);
	ep->rbio = BIO_new(BIO_s_mem());
	ep->wbio = BIO_new(BIO_s_mem());
	if (!ep->ssl || !ep->rbio || !ep->wbio) {
		BIO_free(ep->rbio);
		BIO_free(ep->wbio);
		return ep_fail(ep, ENOMEM, "out of memory");
	}
	BIO_set_mem_eof_return(ep->rbio, -1);
	BIO_set_mem_eof_return(ep->wbio, -1);
	SSL_set_bio(ep->ssl, ep->rbio, ep->wbio);
	ep->dtls_deadline = now_ms() + ep->cfg.dtls_timeout_ms;
	SSL_set_app_data(ep->ssl, ep);
	SSL_set_mtu(ep->ssl, DTLS_MTU - 28);
	if (ep->st.dtls_client)
		SSL_set_connect_state(ep->ssl);
	else
		SSL_set_accept_state(ep->ssl);
	drive_dtls(ep);
	return 0;
}

/* on_dtls - a DTLS datagram from the chosen path */
static void on_dtls(struct sipdance_stun_ep *ep, const uint8_t *buf, size_t len,
		    const struct sockaddr_storage *from)
{
	struct remote *r = find_remote(ep, from);
	uint8_t sink[MAX_PKT];

	/* Controlled, the peer nominated this address and already speaks DTLS:
	 * our own check's answer is late; take the pair rather than drop the hello. */
	if (!ep->ssl && ep->st.ice && !ep->st.controlling && r && r->nominated && r->validated)
		select_pair(ep, r);
	if (!ep->ssl) {
		ep->st.dropped++;
		return;
	}
	BIO_write(ep->rbio, buf, (int)len);
	if (ep->state == SIPDANCE_EP_DTLS) {
		drive_dtls(ep);
	} else if (ep->state == SIPDANCE_EP_SECURE) {
		/* Post-handshake records: retransmitted Finished, alerts. */
		int n = SSL_read(ep->ssl, sink, sizeof(sink));

		flush_dtls(ep);
		if (n <= 0 && SSL_get_error(ep->ssl, n) == SSL_ERROR_ZERO_RETURN)
			ep_fail(ep, ECONNRESET, "peer closed DTLS (close_notify)");
		ERR_clear_error();
	}
}

/* on_srtp - an SRTP or SRTCP datagram */
static void on_srtp(struct sipdance_stun_ep *ep, uint8_t *buf, size_t len)
{
	int rtcp = len >= 2 && buf[1] >= 192 && buf[1] <= 223; /* RFC 5761 §4 */
	int n = (int)len;
	srtp_err_status_t s;

	if (ep->state != SIPDANCE_EP_SECURE) {
		ep->st.dropped++;
		return;
	}
	s = rtcp ? srtp_unprotect_rtcp(ep->srtp_in, buf, &n) : srtp_unprotect(ep->srtp_in, buf, &n);
	if (s == srtp_err_status_replay_fail || s == srtp_err_status_replay_old) {
		ep->st.replay++;
		return;
	}
	if (s != srtp_err_status_ok) {
		ep->st.auth_fail++;
		return;
	}
	if (rtcp)
		ep->st.rtcp_rx++;
	else
		ep->st.rtp_rx++;
	if (ep->cfg.on_media)
		ep->cfg.on_media(ep->cfg.arg, rtcp, buf, (size_t)n);
}

/* from_path - whether DTLS or SRTP from @from is acceptable */
static int from_path(struct sipdance_stun_ep *ep, const struct sockaddr_storage *from)
{
	struct remote *r;

	/*
	 * Cases:
	 *  - no ICE: only the remote SDP connection address and port;
	 *  - ICE: only an address that sent us an authenticated check, or that
	 *    answered ours with integrity (RFC 8445 §7.3: consent to receive);
	 *  - anything else is dropped and counted, before DTLS or SRTP sees it.
	 */
	if (!ep->st.ice)
		return ep->selected && same_addr(&ep->selected->sa, from);
	r = find_remote(ep, from);
	return r && (r->validated || r->succeeded);
}

/* on_datagram - RFC 7983 demultiplexing by the first byte */
static void on_datagram(struct sipdance_stun_ep *ep, uint8_t *buf, size_t len,
			const struct sockaddr_storage *from, socklen_t fromlen)
{
	if (len == 0)
		return;
	if (sipdance_stun_is_stun(buf, len))
		on_stun(ep, buf, len, from, fromlen);
	else if (buf[0] >= 20 && buf[0] <= 63 && from_path(ep, from))
		on_dtls(ep, buf, len, from);
	else if (buf[0] >= 128 && buf[0] <= 191 && from_path(ep, from))
		on_srtp(ep, buf, len);
	else
		ep->st.dropped++;
}

/* sipdance_stun_ep_start - remote description in: roles, candidates, first steps */
int sipdance_stun_ep_start(struct sipdance_stun_ep *ep, const struct sipdance_sdp_media *local,
			   const struct sipdance_sdp_media *remote, int offerer, const char **why)
{
	struct sockaddr_storage sa;
	socklen_t len;
	int err;

	if (!ep || !local || !remote || ep->state != SIPDANCE_EP_NEW)
		return EINVAL;
	if ((err = sipdance_sdp_dtls_client(local->setup, remote->setup, &ep->st.dtls_client, why)))
		return err;
	if (remote->port == 0) {
		if (why)
			*why = "remote rejected the audio stream (port 0)";
		return EINVAL;
	}
	ep->nfp = remote->nfp;
	memcpy(ep->fps, remote->fp, sizeof(ep->fps));
	ep->st.ice = local->ice_ufrag[0] && remote->ice_ufrag[0] && remote->ice_pwd[0];
	if (!ep->st.ice) {
		if (make_addr(remote->addr, remote->port, &sa, &len) || sa.ss_family != ep->local.ss_family) {
			if (why)
				*why = "remote connection address unusable";
			return EINVAL;
		}
		ep->selected = add_remote(ep, &sa, len, 0);
		ep->state = SIPDANCE_EP_DTLS;
		return start_dtls(ep);
	}
	snprintf(ep->rufrag, sizeof(ep->rufrag), "%s", remote->ice_ufrag);
	snprintf(ep->rpwd, sizeof(ep->rpwd), "%s", remote->ice_pwd);
	ep->lite = local->ice_lite && !remote->ice_lite;
	ep->st.ice_lite = ep->lite;
	ep->st.controlling = !ep->lite && (offerer || remote->ice_lite);
	for (size_t i = 0; i < remote->ncand; i++) {
		const struct sipdance_sdp_candidate *c = &remote->cand[i];
		struct remote *r;

		if (c->component != 1 || make_addr(c->addr, c->port, &sa, &len) ||
		    sa.ss_family != ep->local.ss_family)
			continue;
		if ((r = add_remote(ep, &sa, len, c->priority)) && !ep->lite)
			r->next_ms = now_ms() + CHECK_PACE_MS * i;
	}
	ep->ice_deadline = now_ms() + ep->cfg.ice_timeout_ms;
	ep->state = SIPDANCE_EP_CHECKING;
	return 0;
}

/* run_timers - ICE checks, consent, DTLS retransmissions; the next deadline in ms */
static int run_timers(struct sipdance_stun_ep *ep)
{
	uint64_t t = now_ms(), next = t + 1000;
	struct timeval tv;

	if (ep->state == SIPDANCE_EP_CHECKING) {
		if (t >= ep->ice_deadline) {
			ep_fail(ep, ETIMEDOUT, "ICE checks timed out: no candidate pair succeeded");
			return 0;
		}
		for (size_t i = 0; i < ep->nrem; i++) {
			struct remote *r = &ep->rem[i];

			if (!r->next_ms)
				continue;
			if (r->next_ms <= t) {
				send_check(ep, r, ep->st.controlling && r->nominating, r->txid);
				r->next_ms = t + CHECK_RTO_MS;
			}
			if (r->next_ms < next)
				next = r->next_ms;
		}
	}
	if (ep->st.ice && ep->selected && ep->state != SIPDANCE_EP_FAILED) {
		if (t - ep->last_consent > ep->cfg.consent_timeout_ms) {
			ep_fail(ep, ETIMEDOUT, "consent expired: no authenticated response for %u ms (RFC 7675)",
				ep->cfg.consent_timeout_ms);
			return 0;
		}
		if (t >= ep->next_consent && !ep->lite) {
			uint8_t r;

			send_check(ep, ep->selected, 0, ep->consent_txid[ep->consent_slot++ % 8]);
			RAND_bytes(&r, 1); /* 0.8-1.2 times the interval (RFC 7675 §5.1) */
			ep->next_consent = t + ep->cfg.consent_interval_ms * (80 + r % 41) / 100;
		}
		if (ep->next_consent < next && !ep->lite)
			next = ep->next_consent;
	}
	if (ep->ssl && ep->state == SIPDANCE_EP_DTLS && t >= ep->dtls_deadline) {
		ep_fail(ep, ETIMEDOUT, "DTLS handshake timed out (%s)",
			ep->st.dtls_client ? "no answer to our ClientHello" : "no ClientHello from the peer");
		return 0;
	}
	if (ep->ssl && ep->state == SIPDANCE_EP_DTLS && DTLSv1_get_timeout(ep->ssl, &tv) == 1) {
		if (tv.tv_sec == 0 && tv.tv_usec == 0) {
			DTLSv1_handle_timeout(ep->ssl);
			flush_dtls(ep);
		} else if (t + (uint64_t)tv.tv_sec * 1000 + (uint64_t)tv.tv_usec / 1000 < next) {
			next = t + (uint64_t)tv.tv_sec * 1000 + (uint64_t)tv.tv_usec / 1000 + 1;
		}
	}
	return (int)(next - t);
}

/* sipdance_stun_ep_poll - wait, read everything pending, run the timers */
int sipdance_stun_ep_poll(struct sipdance_stun_ep *ep, int timeout_ms)
{
	uint8_t buf[MAX_PKT];
	struct sockaddr_storage from;
	uint64_t end;
	int wait;

	if (!ep)
		return EINVAL;
	end = now_ms() + (uint64_t)(timeout_ms > 0 ? timeout_ms : 0);
	do {
		struct pollfd pfd = { .fd = ep->fd, .events = POLLIN };
		uint64_t t;

		wait = run_timers(ep);
		t = now_ms();
		if (t + (uint64_t)wait > end)
			wait = end > t ? (int)(end - t) : 0;
		if (poll(&pfd, 1, wait) > 0) {
			ssize_t n;
			socklen_t fromlen = sizeof(from);

			while ((n = recvfrom(ep->fd, buf, sizeof(buf), 0, (struct sockaddr *)&from,
					     &fromlen)) >= 0) {
				on_datagram(ep, buf, (size_t)n, &from, fromlen);
				fromlen = sizeof(from);
			}
		}
	} while (now_ms() < end && ep->state != SIPDANCE_EP_FAILED);
	run_timers(ep);
	return ep->state == SIPDANCE_EP_FAILED ? EIO : 0;
}

/* sipdance_stun_ep_send - protect one RTP/RTCP packet and send it on the path */
int sipdance_stun_ep_send(struct sipdance_stun_ep *ep, int rtcp, const uint8_t *pkt, size_t len)
{
	uint8_t buf[MAX_PKT];
	int n = (int)len;
	srtp_err_status_t s;

	if (!ep || !pkt || len < (rtcp ? 8u : 12u))
		return EINVAL;
	if (ep->state == SIPDANCE_EP_FAILED)
		return strstr(ep->why, "consent") ? ETIMEDOUT : EIO;
	if (ep->state != SIPDANCE_EP_SECURE)
		return EAGAIN;
	if (len + SRTP_MAX_TRAILER_LEN > sizeof(buf))
		return EMSGSIZE;
	memcpy(buf, pkt, len);
	s = rtcp ? srtp_protect_rtcp(ep->srtp_out, buf, &n) : srtp_protect(ep->srtp_out, buf, &n);
	if (s != srtp_err_status_ok)
		return EIO;
	if (rtcp)
		ep->st.rtcp_tx++;
	else
		ep->st.rtp_tx++;
	return send_to(ep, ep->selected, buf, (size_t)n);
}

/* sipdance_stun_ep_state - where the endpoint is */
enum sipdance_stun_ep_state sipdance_stun_ep_state(const struct sipdance_stun_ep *ep)
{
	return ep ? ep->state : SIPDANCE_EP_FAILED;
}

/* sipdance_stun_ep_why - failure reason */
const char *sipdance_stun_ep_why(const struct sipdance_stun_ep *ep)
{
	return ep ? ep->why : "no endpoint";
}

/* sipdance_stun_ep_verdict - the fingerprint verdict */
const struct sipdance_verdict *sipdance_stun_ep_verdict(const struct sipdance_stun_ep *ep)
{
	return ep ? &ep->verdict : NULL;
}

/* sipdance_stun_ep_stats - counters */
void sipdance_stun_ep_stats(const struct sipdance_stun_ep *ep, struct sipdance_stun_ep_stats *st)
{
	if (ep && st)
		*st = ep->st;
}

/* sipdance_stun_ep_fd - the socket */
int sipdance_stun_ep_fd(const struct sipdance_stun_ep *ep)
{
	return ep ? ep->fd : -1;
}

/* sipdance_stun_ep_port - the bound port */
uint16_t sipdance_stun_ep_port(const struct sipdance_stun_ep *ep)
{
	if (!ep)
		return 0;
	return ntohs(ep->local.ss_family == AF_INET6 ? ((const struct sockaddr_in6 *)&ep->local)->sin6_port
						     : ((const struct sockaddr_in *)&ep->local)->sin_port);
}
