/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * clientid-bench.c - what a DANCE client authentication costs a server, and
 * a flood of handshakes for bench/clientid-bench.sh.
 *
 *   clientid-bench auth N      (TB_* of the testbed's env.sh, CHAIN=alice's extension_data)
 *     N TLS 1.3 handshakes of alice with a dane_clientid server, in one
 *     thread over a memory BIO pair, timing the server's side only, per way
 *     of authenticating: none (a client certificate taken unverified, the
 *     floor), her shipped chain (validated offline), a TLSA lookup with the
 *     answer cached (DNS warm) and with the cache flushed first (DNS cold).
 *   clientid-bench flood HOST PORT N CERT KEY [CHAIN]
 *     N TLS handshakes to a proxy, each naming a made-up user
 *     (<random>._user.a.example), shipping CHAIN if given; prints how many
 *     the server accepted and refused.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>

#include <sipdance.h>

static struct sipdance_dns *dns;
static unsigned lookups;

/* die - print and exit */
static void __attribute__((noreturn)) die(const char *what)
{
	fprintf(stderr, "clientid-bench: %s\n", what);
	exit(2);
}

/* env - a required environment variable */
static const char *env(const char *name)
{
	const char *v = getenv(name);

	if (!v || !*v)
		die("TB_* and CHAIN must be set (source the testbed's env.sh)");
	return v;
}

/* now_us - monotonic microseconds */
static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/* lookup - the library's hook, counted */
static int lookup(void *arg, const char *name, struct sipdance_clientid_answer *out)
{
	lookups++;
	return sipdance_clientid_dns_lookup(dns, name, out);
}

/* accept_all - the floor's server takes any client certificate */
static int accept_all(int ok, X509_STORE_CTX *x)
{
	return 1;
}

/* server_ctx - a TLS 1.3 server; @mode 0: no DANCE, else dane_clientid (chains asked) */
static SSL_CTX *server_ctx(int mode)
{
	static const char *const domains[] = { "a.example" };
	struct sipdance_clientid_conf c = { .size = sizeof(c), .server = 1, .require = 1, .domains = domains, .ndomains = 1,
					    .lookup = lookup, .chain = SIPDANCE_CHAIN_PREFER,
					    .trust_anchor = env("TB_ANCHOR") };
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	const char *why = "";

	if (!ctx || SSL_CTX_use_certificate_chain_file(ctx, env("TB_CERT_A")) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, env("TB_KEY_A"), SSL_FILETYPE_PEM) != 1 ||
	    !SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) || !SSL_CTX_set_num_tickets(ctx, 0))
		die("server context");
	if (!mode)
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, accept_all);
	else if (sipdance_clientid_attach(ctx, &c, &why))
		die(why);
	return ctx;
}

/* client_ctx - alice, shipping @src's chain when given */
static SSL_CTX *client_ctx(struct sipdance_chain_source *src, const char *name)
{
	struct sipdance_clientid_conf c = { .size = sizeof(c), .name = name, .chain_source = src };
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	const char *why = "";

	if (!ctx || SSL_CTX_use_certificate_chain_file(ctx, env("TB_CERT_ALICE")) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, env("TB_KEY_ALICE"), SSL_FILETYPE_PEM) != 1 ||
	    sipdance_clientid_attach(ctx, &c, &why))
		die(why[0] ? why : "client context");
	return ctx;
}

/* handshake - one handshake over a BIO pair: microseconds the server spent, -1 if refused */
static double handshake(SSL_CTX *sctx, SSL_CTX *cctx, int mode)
{
	SSL *s = SSL_new(sctx), *c = SSL_new(cctx);
	BIO *sb, *cb;
	double spent = 0, t;
	int sdone = 0, cdone = 0, rs, rc;

	if (!s || !c || !BIO_new_bio_pair(&sb, 0, &cb, 0))
		die("out of memory");
	SSL_set_bio(s, sb, sb);
	SSL_set_bio(c, cb, cb);
	SSL_set_accept_state(s);
	SSL_set_connect_state(c);
	for (int i = 0; i < 100 && !(sdone && cdone); i++) {
		if (!cdone && (rc = SSL_do_handshake(c)) == 1)
			cdone = 1;
		else if (!cdone && SSL_get_error(c, rc) != SSL_ERROR_WANT_READ)
			break;
		t = now_us();
		rs = sdone ? 1 : SSL_do_handshake(s);
		spent += now_us() - t;
		if (rs == 1)
			sdone = 1;
		else if (SSL_get_error(s, rs) != SSL_ERROR_WANT_READ)
			break;
	}
	if (!sdone || (mode && !sipdance_clientid_peer_name(s)))
		spent = -1;
	SSL_free(s);
	SSL_free(c);
	ERR_clear_error();
	return spent;
}

/* cmp - doubles in increasing order */
static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* auth - the four ways, N handshakes each */
static void auth(int n)
{
	static const char *const label[] = { "no client authentication (floor)", "shipped chain (offline)",
					     "TLSA lookup, DNS warm (cached)", "TLSA lookup, DNS cold (flushed)" };
	struct sipdance_chain_source_conf sc = { .size = sizeof(sc), .trust_anchor = env("TB_ANCHOR"), .file = env("CHAIN") };
	struct sipdance_dns_conf dc = { .size = sizeof(dc), .resolver = env("TB_RESOLVER"), .trust_anchor = env("TB_ANCHOR") };
	struct sipdance_chain_source *src;
	char name[SIPDANCE_CLIENTID_MAX + 1];
	double *t = malloc((size_t)n * sizeof(*t));
	const char *why = "";

	if (!t || sipdance_clientid_user_name("alice@a.example", name, sizeof(name), &why))
		die("alice's name");
	sc.owner = name;
	if (sipdance_chain_source_alloc(&src, &sc, &why) || sipdance_dns_alloc(&dns, &dc, &why))
		die(why);
	printf("%-36s %10s %10s %10s %8s\n", "server side, per handshake", "median", "p90", "mean",
	       "lookups");
	for (int mode = 0; mode < 4; mode++) {
		SSL_CTX *sctx = server_ctx(mode), *cctx = client_ctx(mode == 1 ? src : NULL, name);
		double sum = 0;
		unsigned l0;

		if (handshake(sctx, cctx, mode) < 0) /* warms the cache for DNS warm */
			die(label[mode]);
		l0 = lookups;
		for (int i = 0; i < n; i++) {
			if (mode == 3)
				sipdance_dns_flush(dns);
			if ((t[i] = handshake(sctx, cctx, mode)) < 0)
				die(label[mode]);
			sum += t[i];
		}
		qsort(t, (size_t)n, sizeof(*t), cmp);
		printf("%-36s %8.0f µs %8.0f µs %8.0f µs %8.2f\n", label[mode], t[n / 2], t[n * 9 / 10],
		       sum / n, (double)(lookups - l0) / n);
		SSL_CTX_free(sctx);
		SSL_CTX_free(cctx);
	}
	sipdance_dns_free(dns);
	sipdance_chain_source_free(src);
	free(t);
}

/* ship_add - the flood's chain in its end-entity entry, when asked */
static int ship_add(SSL *ssl, unsigned int type, unsigned int context, const unsigned char **out,
		    size_t *outlen, X509 *x, size_t chainidx, int *al, void *arg)
{
	static unsigned char buf[65536];
	static size_t len;
	FILE *f;

	if (context != SSL_EXT_TLS1_3_CERTIFICATE || chainidx != 0)
		return 0;
	if (!len && (f = fopen(arg, "rb"))) {
		len = fread(buf, 1, sizeof(buf), f);
		fclose(f);
	}
	*out = buf;
	*outlen = len;
	return 1;
}

/* flood - @n handshakes naming made-up users; prints accepted and refused */
static void flood(const char *host, int port, int n, const char *cert, const char *key, const char *chain)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	unsigned ok = 0, refused = 0;

	inet_pton(AF_INET, host, &sa.sin_addr);
	for (int i = 0; i < n; i++) {
		struct sipdance_clientid_conf c = { .size = sizeof(c) };
		struct timeval tv = { .tv_usec = 300000 };
		unsigned char r[28];
		char name[200], b;
		/* one context per name: the ClientName is the context's */
		SSL_CTX *cc = SSL_CTX_new(TLS_client_method());
		const char *why = "";
		SSL *ssl;
		int fd = socket(AF_INET, SOCK_STREAM, 0);

		RAND_bytes(r, sizeof(r));
		for (size_t k = 0; k < sizeof(r); k++)
			snprintf(name + 2 * k, 3, "%02x", r[k]);
		strcat(name, "._user.a.example");
		c.name = name;
		if (!cc || SSL_CTX_use_certificate_chain_file(cc, cert) != 1 ||
		    SSL_CTX_use_PrivateKey_file(cc, key, SSL_FILETYPE_PEM) != 1 ||
		    (chain && SSL_CTX_add_custom_ext(cc, SIPDANCE_CHAIN_EXT_TYPE,
						     SSL_EXT_TLS1_3_CERTIFICATE_REQUEST | SSL_EXT_TLS1_3_CERTIFICATE,
						     ship_add, NULL, (void *)chain, NULL, NULL) != 1) ||
		    sipdance_clientid_attach(cc, &c, &why) || fd < 0 ||
		    connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
			die("flood connection");
		/* TLS 1.3: a refusal arrives after our handshake, on the first read */
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		ssl = SSL_new(cc);
		SSL_set_fd(ssl, fd);
		if (SSL_connect(ssl) == 1 && SSL_read(ssl, &b, 1) <= 0 &&
		    ERR_GET_REASON(ERR_peek_last_error()) != SSL_R_SSLV3_ALERT_HANDSHAKE_FAILURE)
			ok++;
		else
			refused++;
		ERR_clear_error();
		SSL_free(ssl);
		close(fd);
		SSL_CTX_free(cc);
	}
	printf("flood: %u handshakes accepted, %u refused\n", ok, refused);
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "auth") && atoi(argv[2]) > 0)
		auth(atoi(argv[2]));
	else if ((argc == 7 || argc == 8) && !strcmp(argv[1], "flood"))
		flood(argv[2], atoi(argv[3]), atoi(argv[4]), argv[5], argv[6], argc == 8 ? argv[7] : NULL);
	else
		die("usage: clientid-bench auth N | flood HOST PORT N CERT KEY [CHAIN]");
	return 0;
}
