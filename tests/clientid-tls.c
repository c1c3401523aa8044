/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * clientid-tls.c - dane_clientid handshakes on loopback with plain OpenSSL
 * sockets: a server SSL_CTX with sipdance_clientid_attach() in one thread,
 * a client in another. TLSA comes from the Knot testbed (TB_* variables of
 * tests/testbed/testbed.sh env.sh) through the DNS layer and the default
 * hook sipdance_clientid_dns_lookup(), validating to the testbed's root
 * anchor, or, for records the testbed does not publish (the
 * *._user DANE-TA user CA), from a stub hook. Prints "ok - " / "FAIL - "
 * per check and "N passed, M failed"; exits 1 on failure.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include <sipdance.h>

/* One handshake: who connects with what, and what the server is told. */
struct tcase {
	const char *desc;
	const char *cert, *key, *chain; /* client identity files (chain optional) */
	const char *name;               /* ClientName the client sends; NULL: none */
	int tls12;                      /* client limited to TLS 1.2 */
	int require;                    /* server requires DANE client auth */
	sipdance_clientid_lookup_fn *lookup;
	/* expectations */
	int want_auth;                  /* peer name set on the server */
	enum sipdance_result want;      /* server verdict; -1: none (ENOENT) */
	const char *want_log;           /* substring of the server's last warning; NULL: none */
	unsigned long want_alert;       /* client-side reason: 0 = data arrived */
	unsigned srv_type, cli_type;    /* extension types (0: the default) */
	int compose;                    /* server context already has a verify callback and
					   another custom extension */
};

/* What the server thread saw. */
struct srv_result {
	int accepted;
	char peer[SIPDANCE_CLIENTID_MAX + 1];
	int have_verdict;
	struct sipdance_verdict v;
	char sni[256];                  /* server name indication seen by the server */
	unsigned long err;
};

struct srv_arg {
	SSL_CTX *ctx;
	int lfd;
	struct srv_result r;
};

static int passed, failed, lookups, prev_calls;
static char last_warning[512];
static struct sipdance_dns *dns;
static struct sipdance_tlsa_set *stub_set;
static char certdir[4096];

static void check(int ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* check - count and print one result */
static void check(int ok, const char *fmt, ...)
{
	va_list ap;

	printf("%s - ", ok ? "ok" : "FAIL");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	if (ok)
		passed++;
	else
		failed++;
}

/* log_sink - keep the library's last warning (the refusal reason) */
static void log_sink(enum sipdance_log_level level, const char *module, const char *msg, void *arg)
{
	if (level <= SIPDANCE_LOG_WARN)
		snprintf(last_warning, sizeof(last_warning), "%s: %s", module, msg);
	if (getenv("CLIENTID_TLS_VERBOSE"))
		fprintf(stderr, "  [%s] %s\n", module, msg);
}

/* env - a required environment variable */
static const char *env(const char *name)
{
	const char *v = getenv(name);

	if (!v || !*v) {
		fprintf(stderr, "clientid-tls: %s not set (source the testbed's env.sh)\n", name);
		exit(2);
	}
	return v;
}

/* dns_lookup - the library's default hook on the testbed resolver, counted */
static int dns_lookup(void *arg, const char *name, struct sipdance_clientid_answer *out)
{
	lookups++;
	return sipdance_clientid_dns_lookup(dns, name, out);
}

/* stub_lookup - lookup hook: the records in stub_set, SECURE, for any name */
static int stub_lookup(void *arg, const char *name, struct sipdance_clientid_answer *out)
{
	lookups++;
	out->status = SIPDANCE_DNS_SECURE;
	out->rcode = SIPDANCE_DNS_FOUND;
	if (sipdance_tlsa_set_alloc(&out->tlsa))
		return ENOMEM;
	for (size_t i = 0; i < sipdance_tlsa_set_count(stub_set); i++) {
		const struct sipdance_tlsa *t = sipdance_tlsa_set_get(stub_set, i);
		struct sipdance_tlsa *copy;
		const uint8_t *data;
		size_t len;

		data = sipdance_tlsa_data(t, &len);
		if (sipdance_tlsa_alloc(&copy, sipdance_tlsa_usage(t), sipdance_tlsa_selector(t),
					sipdance_tlsa_mtype(t), data, len) ||
		    sipdance_tlsa_set_add(out->tlsa, copy))
			return ENOMEM;
	}
	return 0;
}

/* fail_lookup - lookup hook whose resolver is unreachable */
static int fail_lookup(void *arg, const char *name, struct sipdance_clientid_answer *out)
{
	lookups++;
	snprintf(out->why, sizeof(out->why), "resolver timed out");
	return ETIMEDOUT;
}

/* prev_verify - a verify callback set before sipdance_clientid_attach */
static int prev_verify(int ok, X509_STORE_CTX *xs)
{
	prev_calls++;
	return ok;
}

/* other_add - another component's ClientHello extension (as RFC 9102's 59 would be) */
static int other_add(SSL *ssl, unsigned int type, unsigned int context, const unsigned char **out,
		     size_t *outlen, X509 *x, size_t chainidx, int *al, void *arg)
{
	return 0;
}

/* other_parse - accepts anything */
static int other_parse(SSL *ssl, unsigned int type, unsigned int context, const unsigned char *in,
		       size_t inlen, X509 *x, size_t chainidx, int *al, void *arg)
{
	return 1;
}

/* server_ctx - the server: its own certificate (sip.a.example), dane_clientid attached */
static SSL_CTX *server_ctx(const struct tcase *tc)
{
	static const char *const domains[] = { "a.example", "b.example", "expired.example",
					       "wrongds.example", "insecure.example." };
	struct sipdance_clientid_conf conf = {
		.server = 1, .require = tc->require, .domains = domains,
		.ndomains = sizeof(domains) / sizeof(domains[0]), .lookup = tc->lookup,
		.ext_type = tc->srv_type,
	};
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	const char *why = "";

	if (ctx && tc->compose) {
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, prev_verify);
		if (SSL_CTX_add_custom_ext(ctx, 59, SSL_EXT_CLIENT_HELLO, other_add, NULL, NULL,
					   other_parse, NULL) != 1)
			exit(2);
	}
	if (!ctx || SSL_CTX_use_certificate_chain_file(ctx, env("TB_CERT_A")) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, env("TB_KEY_A"), SSL_FILETYPE_PEM) != 1 ||
	    sipdance_clientid_attach(ctx, &conf, &why)) {
		fprintf(stderr, "server context: %s\n", why);
		exit(2);
	}
	return ctx;
}

/* client_ctx - the client: its certificate, and its ClientName when it has one */
static SSL_CTX *client_ctx(const struct tcase *tc)
{
	struct sipdance_clientid_conf conf = { .name = tc->name, .ext_type = tc->cli_type };
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	const char *why = "";

	if (!ctx || (tc->cert && (SSL_CTX_use_certificate_chain_file(ctx, tc->chain ? tc->chain
								      : tc->cert) != 1 ||
				 SSL_CTX_use_PrivateKey_file(ctx, tc->key, SSL_FILETYPE_PEM) != 1)) ||
	    (tc->tls12 && !SSL_CTX_set_max_proto_version(ctx, TLS1_2_VERSION)) ||
	    sipdance_clientid_attach(ctx, &conf, &why)) {
		fprintf(stderr, "client context: %s\n", why);
		exit(2);
	}
	return ctx;
}

/* serve - accept one connection, handshake, say "ok" when accepted */
static void *serve(void *p)
{
	struct srv_arg *a = p;
	int fd = accept(a->lfd, NULL, NULL);
	SSL *ssl = fd >= 0 ? SSL_new(a->ctx) : NULL;
	const char *peer;

	if (!ssl)
		return NULL;
	SSL_set_fd(ssl, fd);
	if (SSL_accept(ssl) == 1) {
		a->r.accepted = 1;
		SSL_write(ssl, "ok", 2);
	} else {
		a->r.err = ERR_peek_last_error();
	}
	if ((peer = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name)))
		snprintf(a->r.sni, sizeof(a->r.sni), "%s", peer);
	if ((peer = sipdance_clientid_peer_name(ssl)))
		snprintf(a->r.peer, sizeof(a->r.peer), "%s", peer);
	a->r.have_verdict = sipdance_clientid_peer_verdict(ssl, &a->r.v) == 0;
	SSL_shutdown(ssl);
	SSL_free(ssl);
	close(fd);
	ERR_clear_error();
	return NULL;
}

/* run - one handshake; the client's outcome (0 = "ok" read, else the
 * OpenSSL reason code of its failure) */
static unsigned long run(const struct tcase *tc, struct srv_result *r, int *asked)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t slen = sizeof(sin);
	struct srv_arg a = { .ctx = server_ctx(tc) };
	SSL_CTX *cctx = client_ctx(tc);
	unsigned long creason = 0;
	pthread_t th;
	char buf[4];
	SSL *ssl;
	int fd;

	a.lfd = socket(AF_INET, SOCK_STREAM, 0);
	if (a.lfd < 0 || bind(a.lfd, (struct sockaddr *)&sin, sizeof(sin)) || listen(a.lfd, 1) ||
	    getsockname(a.lfd, (struct sockaddr *)&sin, &slen) || pthread_create(&th, NULL, serve, &a)) {
		perror("clientid-tls: loopback listener");
		exit(2);
	}
	fd = socket(AF_INET, SOCK_STREAM, 0);
	ssl = SSL_new(cctx);
	if (fd < 0 || !ssl || connect(fd, (struct sockaddr *)&sin, sizeof(sin))) {
		perror("clientid-tls: connect");
		exit(2);
	}
	SSL_set_fd(ssl, fd);
	/* TLS 1.3: the client finishes first; a refusal shows on the first read. */
	if (SSL_connect(ssl) != 1 || SSL_read(ssl, buf, sizeof(buf)) != 2)
		creason = ERR_GET_REASON(ERR_peek_last_error()) ? ERR_GET_REASON(ERR_peek_last_error())
								  : 1;
	*asked = sipdance_clientid_server_asked(ssl);
	ERR_clear_error();
	SSL_free(ssl);
	close(fd);
	pthread_join(th, NULL);
	close(a.lfd);
	SSL_CTX_free(cctx);
	SSL_CTX_free(a.ctx);
	*r = a.r;
	return creason;
}

/* run_case - one handshake and every expectation about it */
static void run_case(const struct tcase *tc)
{
	struct srv_result r;
	unsigned long creason;
	int asked;

	last_warning[0] = '\0';
	prev_calls = 0;
	creason = run(tc, &r, &asked);
	if (tc->compose)
		check(prev_calls > 0, "%s: the earlier verify callback ran too", tc->desc);
	if (tc->want_auth) {
		check(r.accepted && !creason && tc->name && !strcmp(r.peer, tc->name),
		      "%s: authenticated as %s", tc->desc, r.peer[0] ? r.peer : "(none)");
		check(!r.sni[0], "%s: no SNI made up from the ClientName%s%s", tc->desc,
		      r.sni[0] ? ": " : "", r.sni);
	} else {
		check(!r.peer[0], "%s: not authenticated%s%s", tc->desc, r.peer[0] ? " but got " : "",
		      r.peer);
		check(creason == tc->want_alert, "%s: client sees %s", tc->desc,
		      creason ? ERR_reason_error_string(ERR_PACK(ERR_LIB_SSL, 0, creason)) : "data");
	}
	if ((int)tc->want < 0)
		check(!r.have_verdict, "%s: no verdict (no ClientName)", tc->desc);
	else
		check(r.have_verdict && r.v.result == tc->want, "%s: verdict %s: %s", tc->desc,
		      r.have_verdict ? sipdance_result_str(r.v.result) : "(none)",
		      r.have_verdict ? r.v.reason : "");
	if (tc->want_log)
		check(strstr(last_warning, tc->want_log) != NULL, "%s: logged \"%s\"", tc->desc,
		      last_warning);
	if (!tc->tls12 && tc->srv_type == tc->cli_type)
		check(asked, "%s: the server asked for dane_clientid", tc->desc);
}

/* fixture - path of a tests/clientid-certs file */
static const char *fixture(const char *file)
{
	static char paths[8][4200];
	static int next;
	char *p = paths[next++ % 8];

	snprintf(p, 4200, "%s/%s", certdir, file);
	return p;
}

/* user_name - ClientName of an address, into a static slot */
static const char *user_name(const char *address)
{
	static char names[8][SIPDANCE_CLIENTID_MAX + 1];
	static int next;
	char *n = names[next++ % 8];

	if (sipdance_clientid_user_name(address, n, SIPDANCE_CLIENTID_MAX + 1, NULL))
		exit(2);
	return n;
}

int main(void)
{
	const char *alice_name, *bob_in_a;
	char alice[SIPDANCE_CLIENTID_MAX + 1], bogus[300], insecure[300], wrongds[300];
	struct sipdance_tlsa *t;
	FILE *f;
	X509 *x;

	snprintf(certdir, sizeof(certdir), "%s/tests/clientid-certs",
		 getenv("srcdir") ? getenv("srcdir") : ".");
	sipdance_log_set(log_sink, NULL, SIPDANCE_LOG_DEBUG);
	{
		struct sipdance_dns_conf dc = { .resolver = env("TB_RESOLVER"),
						.trust_anchor = env("TB_ANCHOR") };
		const char *why = "";

		if (sipdance_dns_alloc(&dns, &dc, &why)) {
			fprintf(stderr, "clientid-tls: DNS layer: %s\n", why);
			return 2;
		}
	}
	/* TB_USER_ALICE is the owner name with its final dot; the ClientName has none */
	snprintf(alice, sizeof(alice), "%.*s", (int)strlen(env("TB_USER_ALICE")) - 1, env("TB_USER_ALICE"));
	alice_name = user_name("alice@a.example");
	check(!strcmp(alice, alice_name), "user-name of alice@a.example is the testbed's %s", alice);
	bob_in_a = user_name("bob@a.example");
	snprintf(bogus, sizeof(bogus), "%s", user_name("alice@expired.example"));
	snprintf(wrongds, sizeof(wrongds), "%s", user_name("alice@wrongds.example"));
	snprintf(insecure, sizeof(insecure), "%s", user_name("alice@insecure.example"));

	/* the stub RRset: the a.example user CA, as *._user.a.example would hold it */
	if (!(f = fopen(fixture("userca.pem"), "r")) || !(x = PEM_read_X509(f, NULL, NULL, NULL)) ||
	    sipdance_tlsa_set_alloc(&stub_set) || sipdance_tlsa_create(&t, x, 2, 1, 1) ||
	    sipdance_tlsa_set_add(stub_set, t)) {
		fprintf(stderr, "clientid-tls: cannot read %s\n", fixture("userca.pem"));
		return 2;
	}
	X509_free(x);
	fclose(f);

	{
		const unsigned long hf = SSL_R_SSLV3_ALERT_HANDSHAKE_FAILURE;
		const struct tcase cases[] = {
			{ "alice, per-user TLSA 3 1 1", env("TB_CERT_ALICE"), env("TB_KEY_ALICE"), NULL,
			  alice, 0, 1, dns_lookup, 1, SIPDANCE_MATCH, NULL, 0, 0, 0, 0 },
			{ "alice's name, wrong key", env("TB_CERT_WRONG"), env("TB_KEY_WRONG"), NULL,
			  alice, 0, 1, dns_lookup, 0, SIPDANCE_NOMATCH, "no matching DANE TLSA records", hf, 0, 0, 0 },
			{ "bob's name in a.example (secure denial)", env("TB_CERT_BOB"), env("TB_KEY_BOB"),
			  NULL, bob_in_a, 0, 1, dns_lookup, 0, SIPDANCE_NODATA, "validated NXDOMAIN", hf, 0, 0, 0 },
			{ "_user name in a bogus zone (expired RRSIGs)", env("TB_CERT_ALICE"),
			  env("TB_KEY_ALICE"), NULL, bogus, 0, 1, dns_lookup, 0, SIPDANCE_BOGUS,
			  "TLSA lookup BOGUS", hf, 0, 0, 0 },
			{ "_user name in a bogus zone (wrong DS)", env("TB_CERT_ALICE"), env("TB_KEY_ALICE"),
			  NULL, wrongds, 0, 1, dns_lookup, 0, SIPDANCE_BOGUS, "TLSA lookup BOGUS", hf, 0, 0, 0 },
			{ "_user name in an unsigned zone", env("TB_CERT_ALICE"), env("TB_KEY_ALICE"), NULL,
			  insecure, 0, 1, dns_lookup, 0, SIPDANCE_INSECURE, "not DNSSEC-signed", hf, 0, 0, 0 },
			{ "alice over TLS 1.2 only", env("TB_CERT_ALICE"), env("TB_KEY_ALICE"), NULL, alice,
			  1, 1, dns_lookup, 0, (enum sipdance_result)-1, NULL,
			  SSL_R_TLSV1_ALERT_PROTOCOL_VERSION, 0, 0, 0 },
			{ "certificate without dane_clientid", env("TB_CERT_ALICE"), env("TB_KEY_ALICE"),
			  NULL, NULL, 0, 1, dns_lookup, 0, (enum sipdance_result)-1,
			  "client sent no dane_clientid", hf, 0, 0, 0 },
			{ "no client certificate at all", NULL, NULL, NULL, alice, 0, 1, dns_lookup, 0,
			  (enum sipdance_result)-1, NULL, SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED, 0, 0,
			  0 },
			{ "peer proxy sip.b.example, client TLSA", env("TB_CERT_B"), env("TB_KEY_B"), NULL,
			  "sip.b.example", 0, 1, dns_lookup, 1, SIPDANCE_MATCH, NULL, 0, 0, 0, 0 },
			{ "peer proxy claiming sip.b.example with c's key", env("TB_CERT_C"), env("TB_KEY_C"),
			  NULL, "sip.b.example", 0, 1, dns_lookup, 0, SIPDANCE_NOMATCH,
			  "no matching DANE TLSA records", hf, 0, 0, 0 },
			{ "peer proxy outside the allowlist", env("TB_CERT_C"), env("TB_KEY_C"), NULL,
			  "sip.c.example", 0, 1, dns_lookup, 0, SIPDANCE_UNUSABLE, "not in the allowlist", hf, 0, 0, 0 },
			{ "user CA: alice's certificate", fixture("alice.pem"), fixture("alice.key"),
			  fixture("alice-chain.pem"), alice, 0, 1, stub_lookup, 1, SIPDANCE_MATCH, NULL, 0, 0, 0, 0 },
			{ "user CA: carol's certificate with alice's name", fixture("carol.pem"),
			  fixture("carol.key"), fixture("carol-chain.pem"), alice, 0, 1, stub_lookup, 0,
			  SIPDANCE_NOMATCH, "does not name", hf, 0, 0, 0 },
			{ "user CA: carol's certificate with carol's name", fixture("carol.pem"),
			  fixture("carol.key"), fixture("carol-chain.pem"), user_name("carol@a.example"), 0,
			  1, stub_lookup, 1, SIPDANCE_MATCH, NULL, 0, 0, 0, 0 },
			{ "resolver unreachable", env("TB_CERT_ALICE"), env("TB_KEY_ALICE"), NULL, alice, 0,
			  1, fail_lookup, 0, SIPDANCE_INDETERMINATE, "TLSA lookup failed", hf, 0, 0, 0 },
			{ "optional mode: client without dane_clientid", env("TB_CERT_ALICE"),
			  env("TB_KEY_ALICE"), NULL, NULL, 0, 0, dns_lookup, 0, (enum sipdance_result)-1,
			  NULL, 0, 0, 0, 0 },
			{ "optional mode: secure denial goes on unauthenticated", env("TB_CERT_BOB"),
			  env("TB_KEY_BOB"), NULL, bob_in_a, 0, 0, dns_lookup, 0, SIPDANCE_NODATA, NULL, 0, 0, 0, 0 },
			{ "optional mode: wrong key still refused", env("TB_CERT_WRONG"), env("TB_KEY_WRONG"),
			  NULL, alice, 0, 0, dns_lookup, 0, SIPDANCE_NOMATCH, NULL, hf, 0, 0, 0 },
			{ "extension type set at run time on both sides", env("TB_CERT_ALICE"),
			  env("TB_KEY_ALICE"), NULL, alice, 0, 1, dns_lookup, 1, SIPDANCE_MATCH, NULL, 0,
			  0xFF42, 0xFF42, 0 },
			{ "extension types differ: no ClientName sent", env("TB_CERT_ALICE"),
			  env("TB_KEY_ALICE"), NULL, alice, 0, 1, dns_lookup, 0, (enum sipdance_result)-1,
			  "client sent no dane_clientid", hf, 0xFF42, 0, 0 },
			{ "attached after another verify callback and extension", env("TB_CERT_ALICE"),
			  env("TB_KEY_ALICE"), NULL, alice, 0, 1, dns_lookup, 1, SIPDANCE_MATCH, NULL, 0,
			  0, 0, 1 },
		};
		int before;

		for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
			before = lookups;
			run_case(&cases[i]);
			if (strstr(cases[i].desc, "allowlist") || strstr(cases[i].desc, "TLS 1.2") ||
			    strstr(cases[i].desc, "without") || !cases[i].cert)
				check(lookups == before, "%s: no TLSA lookup", cases[i].desc);
		}
	}
	sipdance_tlsa_set_free(stub_set);
	sipdance_dns_free(dns);
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
