/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * srtp-bench.c - media throughput: SRTP protect+unprotect of 160-byte RTP
 * payloads through our endpoint (over loopback UDP) next to libsrtp alone
 * (the limit), and DTLS-SRTP handshakes per second through our endpoint next
 * to bare OpenSSL DTLS over memory BIOs with the same certificates.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <srtp2/srtp.h>

#include <sipdance/sdp.h>
#include "../stun/stun.h"

/* now - monotonic seconds */
static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* make_rtp - a 12-byte header and 160 bytes of payload */
static void make_rtp(uint8_t *pkt, uint16_t seq)
{
	memset(pkt, 0x55, 12 + 160);
	pkt[0] = 0x80;
	pkt[1] = 0;
	pkt[2] = (uint8_t)(seq >> 8);
	pkt[3] = (uint8_t)seq;
	memset(pkt + 4, 0, 8);
	pkt[11] = 1;
}

/* bare_srtp - libsrtp alone: protect then unprotect, packets per second */
static double bare_srtp(unsigned n)
{
	uint8_t key[30], pkt[12 + 160 + SRTP_MAX_TRAILER_LEN];
	srtp_policy_t out, in;
	srtp_t so, si;
	double t0;

	RAND_bytes(key, sizeof(key));
	memset(&out, 0, sizeof(out));
	srtp_crypto_policy_set_rtp_default(&out.rtp);
	srtp_crypto_policy_set_rtcp_default(&out.rtcp);
	out.key = key;
	out.window_size = 1024;
	in = out;
	out.ssrc.type = ssrc_any_outbound;
	in.ssrc.type = ssrc_any_inbound;
	if (srtp_create(&so, &out) || srtp_create(&si, &in))
		return 0;
	t0 = now();
	for (unsigned i = 0; i < n; i++) {
		int len = 12 + 160;

		make_rtp(pkt, (uint16_t)i);
		if (srtp_protect(so, pkt, &len) || srtp_unprotect(si, pkt, &len))
			return 0;
	}
	t0 = now() - t0;
	srtp_dealloc(so);
	srtp_dealloc(si);
	return n / t0;
}

/* A pair of our endpoints without ICE, set up by pair_up(). */
struct pair {
	struct sipdance_stun_ep *a, *b;
	unsigned long got;
};

/* count - on_media: one more packet */
static void count(void *arg, int rtcp, const uint8_t *pkt, size_t len)
{
	(*(unsigned long *)arg)++;
}

/* pair_up - two endpoints, offer/answer without ICE, run until SECURE; 0 or -1 */
static int pair_up(struct pair *p, X509 *cert, EVP_PKEY *key)
{
	struct sipdance_stun_ep_cfg cfg = { .addr = "127.0.0.1", .cert = cert, .key = key,
					    .on_media = count, .arg = &p->got };
	struct sipdance_sdp_media offer, answer;

	if (sipdance_stun_ep_alloc(&p->a, &cfg) || sipdance_stun_ep_alloc(&p->b, &cfg) ||
	    sipdance_stun_ep_describe(p->a, NULL, &offer))
		return -1;
	offer.ice_ufrag[0] = '\0';
	offer.ncand = 0;
	if (sipdance_stun_ep_describe(p->b, &offer, &answer) ||
	    sipdance_stun_ep_start(p->b, &answer, &offer, 0, NULL) ||
	    sipdance_stun_ep_start(p->a, &offer, &answer, 1, NULL))
		return -1;
	for (int i = 0; i < 20000; i++) {
		if (sipdance_stun_ep_state(p->a) == SIPDANCE_EP_SECURE &&
		    sipdance_stun_ep_state(p->b) == SIPDANCE_EP_SECURE)
			return 0;
		if (sipdance_stun_ep_state(p->a) == SIPDANCE_EP_FAILED ||
		    sipdance_stun_ep_state(p->b) == SIPDANCE_EP_FAILED)
			return -1;
		sipdance_stun_ep_poll(p->b, 0);
		sipdance_stun_ep_poll(p->a, 0);
	}
	return -1;
}

/* pair_free - both endpoints */
static void pair_free(struct pair *p)
{
	sipdance_stun_ep_free(p->a);
	sipdance_stun_ep_free(p->b);
}

/* ep_srtp - our endpoint: protect, UDP over loopback, demultiplex, unprotect; packets per second */
static double ep_srtp(unsigned n, X509 *cert, EVP_PKEY *key, unsigned long *lost)
{
	uint8_t pkt[12 + 160];
	struct pair p = { 0 };
	double t0;

	if (pair_up(&p, cert, key))
		return 0;
	t0 = now();
	for (unsigned i = 0; i < n; i++) {
		make_rtp(pkt, (uint16_t)i);
		if (sipdance_stun_ep_send(p.a, 0, pkt, sizeof(pkt)))
			return 0;
		if (i % 32 == 31)
			sipdance_stun_ep_poll(p.b, 0);
	}
	sipdance_stun_ep_poll(p.b, 10);
	t0 = now() - t0;
	*lost = n - p.got;
	pair_free(&p);
	return p.got / t0;
}

/* ep_handshakes - complete endpoint pairs (sockets, DTLS, SRTP keys) per second */
static double ep_handshakes(unsigned n, X509 *cert, EVP_PKEY *key)
{
	double t0 = now();

	for (unsigned i = 0; i < n; i++) {
		struct pair p = { 0 };

		if (pair_up(&p, cert, key))
			return 0;
		pair_free(&p);
	}
	return n / (now() - t0);
}

/* accept_all - the bare DTLS peer takes any certificate */
static int accept_all(int ok, X509_STORE_CTX *ctx)
{
	return 1;
}

/* move - what @from wrote becomes what @to reads */
static void move(SSL *from, SSL *to)
{
	uint8_t buf[16384];
	int n;

	while ((n = BIO_read(SSL_get_wbio(from), buf, sizeof(buf))) > 0)
		BIO_write(SSL_get_rbio(to), buf, n);
}

/* bare_handshakes - OpenSSL DTLS 1.2 with use_srtp over memory BIOs, per second */
static double bare_handshakes(unsigned n, X509 *cert, EVP_PKEY *key)
{
	SSL_CTX *ctx = SSL_CTX_new(DTLS_method());
	double t0;

	if (!ctx || SSL_CTX_use_certificate(ctx, cert) != 1 || SSL_CTX_use_PrivateKey(ctx, key) != 1 ||
	    SSL_CTX_set_tlsext_use_srtp(ctx, "SRTP_AES128_CM_SHA1_80") != 0)
		return 0;
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, accept_all);
	SSL_CTX_set_options(ctx, SSL_OP_NO_QUERY_MTU | SSL_OP_NO_TICKET);
	t0 = now();
	for (unsigned i = 0; i < n; i++) {
		SSL *c = SSL_new(ctx), *s = SSL_new(ctx);
		uint8_t km[60];
		int done = 0;

		SSL_set_bio(c, BIO_new(BIO_s_mem()), BIO_new(BIO_s_mem()));
		SSL_set_bio(s, BIO_new(BIO_s_mem()), BIO_new(BIO_s_mem()));
		BIO_set_mem_eof_return(SSL_get_rbio(c), -1);
		BIO_set_mem_eof_return(SSL_get_rbio(s), -1);
		SSL_set_mtu(c, 1172);
		SSL_set_mtu(s, 1172);
		SSL_set_connect_state(c);
		SSL_set_accept_state(s);
		for (int k = 0; k < 20 && done != 3; k++) {
			if (SSL_do_handshake(c) == 1)
				done |= 1;
			move(c, s);
			if (SSL_do_handshake(s) == 1)
				done |= 2;
			move(s, c);
		}
		if (done != 3 || SSL_export_keying_material(c, km, sizeof(km), "EXTRACTOR-dtls_srtp", 19,
							    NULL, 0, 0) != 1)
			return 0;
		SSL_free(c);
		SSL_free(s);
	}
	t0 = now() - t0;
	SSL_CTX_free(ctx);
	return n / t0;
}

/* self_signed - the P-256 certificate both benchmarks use */
static int self_signed(X509 **cert, EVP_PKEY **key)
{
	*key = EVP_EC_gen("P-256");
	*cert = X509_new();
	return *key && *cert && ASN1_INTEGER_set(X509_get_serialNumber(*cert), 1) &&
	       X509_gmtime_adj(X509_getm_notBefore(*cert), 0) &&
	       X509_gmtime_adj(X509_getm_notAfter(*cert), 86400) &&
	       X509_NAME_add_entry_by_txt(X509_get_subject_name(*cert), "CN", MBSTRING_ASC,
					  (const unsigned char *)"bench", -1, -1, 0) &&
	       X509_set_issuer_name(*cert, X509_get_subject_name(*cert)) &&
	       X509_set_pubkey(*cert, *key) && X509_sign(*cert, *key, EVP_sha256()) > 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
	unsigned n = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : 200000;
	unsigned h = argc > 2 ? (unsigned)strtoul(argv[2], NULL, 10) : 300;
	double bare, ours, hb, ho;
	unsigned long lost = 0;
	X509 *cert;
	EVP_PKEY *key;

	if (self_signed(&cert, &key) || srtp_init() != srtp_err_status_ok) {
		fprintf(stderr, "srtp-bench: setup failed\n");
		return 1;
	}
	bare = bare_srtp(n);
	ours = ep_srtp(n, cert, key, &lost);
	hb = bare_handshakes(h, cert, key);
	ho = ep_handshakes(h, cert, key);
	if (!bare || !ours || !hb || !ho) {
		fprintf(stderr, "srtp-bench: a run failed (%.0f %.0f %.1f %.1f)\n", bare, ours, hb, ho);
		return 1;
	}
	printf("SRTP protect+unprotect, 160-byte payload, AES_CM_128_HMAC_SHA1_80, %u packets:\n", n);
	printf("  %s alone (limit):             %10.0f packets/s\n", srtp_get_version_string(), bare);
	printf("  sipdance endpoint over loopback UDP: %10.0f packets/s (%.0f%%, %lu lost)\n", ours,
	       100 * ours / bare, lost);
	printf("DTLS 1.2 + use_srtp handshakes, P-256 certificates, %u each:\n", h);
	printf("  OpenSSL %s, memory BIOs (limit): %8.1f handshakes/s\n", OpenSSL_version(OPENSSL_VERSION) + 8, hb);
	printf("  sipdance endpoint pair, loopback UDP: %8.1f handshakes/s (%.0f%%)\n", ho, 100 * ho / hb);
	srtp_shutdown();
	X509_free(cert);
	EVP_PKEY_free(key);
	return 0;
}
