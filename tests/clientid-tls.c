/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * clientid-tls.c - dane_clientid handshakes on loopback with plain OpenSSL
 * sockets: a server SSL_CTX with sipdance_clientid_attach() in one thread,
 * a client in another. TLSA comes from the Knot testbed (TB_* variables of
 * tests/testbed/testbed.sh env.sh) through the DNS layer and the default
 * hook sipdance_clientid_dns_lookup(), validating to the testbed's root
 * anchor, or, for records the testbed does not publish (the
 * *._user DANE-TA user CA), from a stub hook. Clients that ship their own
 * DNSSEC chain (docs/client-chain.md) do so through the library or, to
 * attack the server, by registering extension 59 themselves and sending any
 * file's bytes (chains made by tests/mkchain.py and `sipdance chain build`
 * in CHAIN_DIR). Prints "ok - " / "FAIL - " per check and "N passed, M
 * failed"; exits 1 on failure.
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
	enum sipdance_chain_policy policy; /* server: clients' chains asked for (OFF: not) */
	const char *ship;               /* client ships this file's bytes as extension 59 ... */
	int ship_entry;                 /* ... in this CertificateEntry (0: the end entity's) */
	const char *ship_lib;           /* client ships this chain file through the library */
	int after;                      /* no lookup hook: look up after the handshake (async) */
	enum sipdance_result want_after; /* ... with this verdict */
	enum sipdance_clientid_via via; /* server's way of judging (checked unless NONE) */
	int shipped;                    /* the client shipped its chain (checked with ship_lib) */
};

/* What the server thread saw. */
struct srv_result {
	int accepted;
	char peer[SIPDANCE_CLIENTID_MAX + 1];
	int have_verdict;
	struct sipdance_verdict v;
	enum sipdance_clientid_via via;
	int kept;                       /* the client's chain still held after the handshake */
	int after_done;                 /* the lookup after the handshake called back */
	struct sipdance_verdict after;  /* with this verdict */
	char sni[256];                  /* server name indication seen by the server */
	unsigned long err;
};

struct srv_arg {
	SSL_CTX *ctx;
	int lfd;
	const struct tcase *tc;
	struct srv_result r;
};

static int passed, failed, lookups, prev_calls;
static char last_warning[512];
static struct sipdance_dns *dns, *async_dns;
static struct sipdance_loop *loop;
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

/* read_file - a whole file, malloc'd; exits on failure */
static uint8_t *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *b = malloc(70000);

	if (!f || !b) {
		fprintf(stderr, "clientid-tls: cannot read %s\n", path);
		exit(2);
	}
	*len = fread(b, 1, 70000, f);
	fclose(f);
	return b;
}

/* ship_add - a client that registered 59 itself: the file's bytes in the entry it was told */
static int ship_add(SSL *ssl, unsigned int type, unsigned int context, const unsigned char **out,
		    size_t *outlen, X509 *x, size_t chainidx, int *al, void *arg)
{
	const struct tcase *tc = arg;

	if (context != SSL_EXT_TLS1_3_CERTIFICATE || chainidx != (size_t)tc->ship_entry)
		return 0;
	*out = read_file(tc->ship, outlen);
	return 1;
}

/* ship_free - what ship_add read */
static void ship_free(SSL *ssl, unsigned int type, unsigned int context, const unsigned char *out,
		      void *arg)
{
	free((void *)out);
}

/* server_ctx - the server: its own certificate (sip.a.example), dane_clientid attached */
static SSL_CTX *server_ctx(const struct tcase *tc)
{
	static const char *const domains[] = { "a.example", "b.example", "expired.example",
					       "wrongds.example", "insecure.example.", "alias.example" };
	struct sipdance_clientid_conf conf = { .size = sizeof(conf),
		.server = 1, .require = tc->require, .domains = domains,
		.ndomains = sizeof(domains) / sizeof(domains[0]), .lookup = tc->after ? NULL : tc->lookup,
		.ext_type = tc->srv_type, .chain = tc->policy, .trust_anchor = env("TB_ANCHOR"),
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

/* client_ctx - the client: its certificate, its ClientName when it has one,
 * and the chain it ships, if any (*src: the library's source, to free) */
static SSL_CTX *client_ctx(const struct tcase *tc, struct sipdance_chain_source **src)
{
	struct sipdance_clientid_conf conf = { .size = sizeof(conf), .name = tc->name, .ext_type = tc->cli_type };
	struct sipdance_chain_source_conf sc = { .size = sizeof(sc), .trust_anchor = env("TB_ANCHOR"), .file = tc->ship_lib,
						 .owner = tc->name };
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	const char *why = "";

	*src = NULL;
	if (tc->ship_lib && sipdance_chain_source_alloc(src, &sc, &why)) {
		fprintf(stderr, "client chain %s: %s\n", tc->ship_lib, why);
		exit(2);
	}
	conf.chain_source = *src;
	if (!ctx || (tc->cert && (SSL_CTX_use_certificate_chain_file(ctx, tc->chain ? tc->chain
								      : tc->cert) != 1 ||
				 SSL_CTX_use_PrivateKey_file(ctx, tc->key, SSL_FILETYPE_PEM) != 1)) ||
	    (tc->tls12 && !SSL_CTX_set_max_proto_version(ctx, TLS1_2_VERSION)) ||
	    (tc->ship && SSL_CTX_add_custom_ext(ctx, SIPDANCE_CHAIN_EXT_TYPE,
						SSL_EXT_TLS1_3_CERTIFICATE_REQUEST | SSL_EXT_TLS1_3_CERTIFICATE,
						ship_add, ship_free, (void *)tc, NULL, NULL) != 1) ||
	    sipdance_clientid_attach(ctx, &conf, &why)) {
		fprintf(stderr, "client context: %s\n", why);
		exit(2);
	}
	return ctx;
}

/* after_done - the lookup after the handshake called back */
static void after_done(void *arg, const struct sipdance_verdict *v)
{
	struct srv_result *r = arg;

	r->after_done = 1;
	r->after = *v;
}

/* look_up_after - what a host with a loop does with a PENDING ClientName:
 * the lookup on its loop, with the certificates the client proved */
static void look_up_after(SSL *ssl, struct srv_result *r)
{
	STACK_OF(X509) *chain = sk_X509_new_null(), *rest = SSL_get_peer_cert_chain(ssl);
	X509 *leaf = SSL_get1_peer_certificate(ssl);
	struct sipdance_clientid_lookup *l = NULL;
	const char *name = sipdance_clientid_peer_claimed(ssl);

	if (!chain || !leaf || !sk_X509_push(chain, leaf))
		exit(2);
	for (int i = 0; rest && i < sk_X509_num(rest); i++)
		if (X509_cmp(sk_X509_value(rest, i), leaf) && X509_up_ref(sk_X509_value(rest, i)))
			sk_X509_push(chain, sk_X509_value(rest, i));
	if (name && !sipdance_clientid_lookup_start(async_dns, name, chain, after_done, r, &l))
		sipdance_loop_run(loop, &r->after_done, 30000);
	sipdance_clientid_lookup_cancel(r->after_done ? NULL : l);
	sk_X509_pop_free(chain, X509_free);
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
	a->r.via = sipdance_clientid_peer_via(ssl);
	a->r.kept = sipdance_chain_shipped(ssl, NULL) != NULL;
	if (a->r.accepted && a->r.via == SIPDANCE_CLIENTID_VIA_PENDING)
		look_up_after(ssl, &a->r);
	SSL_shutdown(ssl);
	SSL_free(ssl);
	close(fd);
	ERR_clear_error();
	return NULL;
}

/* run - one handshake; the client's outcome (0 = "ok" read, else the
 * OpenSSL reason code of its failure) */
static unsigned long run(const struct tcase *tc, struct srv_result *r, int *asked, int *shipped)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t slen = sizeof(sin);
	struct srv_arg a = { .ctx = server_ctx(tc), .tc = tc };
	struct sipdance_chain_source *src;
	SSL_CTX *cctx = client_ctx(tc, &src);
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
	*shipped = sipdance_chain_shipped_ours(ssl);
	ERR_clear_error();
	SSL_free(ssl);
	close(fd);
	pthread_join(th, NULL);
	close(a.lfd);
	SSL_CTX_free(cctx);
	sipdance_chain_source_free(src);
	SSL_CTX_free(a.ctx);
	*r = a.r;
	return creason;
}

/* run_case - one handshake and every expectation about it */
static void run_case(const struct tcase *tc)
{
	struct srv_result r;
	unsigned long creason;
	int asked, shipped;

	last_warning[0] = '\0';
	prev_calls = 0;
	creason = run(tc, &r, &asked, &shipped);
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
	if (tc->via)
		check(r.via == tc->via, "%s: judged via %s", tc->desc, sipdance_clientid_via_str(r.via));
	if (tc->ship_lib)
		check(shipped == tc->shipped, "%s: the client %s its chain", tc->desc,
		      shipped ? "shipped" : "did not ship");
	if (tc->ship || tc->ship_lib)
		check(!r.kept, "%s: the server freed the client's chain once judged", tc->desc);
	if (tc->after)
		check(r.after_done && r.after.result == tc->want_after, "%s: looked up after the "
		      "handshake: %s: %s", tc->desc, r.after_done ? sipdance_result_str(r.after.result)
		      : "(no callback)", r.after_done ? r.after.reason : "");
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

/* in_dir - path of a file of CHAIN_DIR (the chains clientid-tls.sh made) */
static const char *in_dir(const char *file)
{
	static char paths[40][4200];
	static int next;
	char *p;

	if (next == 40) {
		fprintf(stderr, "clientid-tls: more than 40 chain paths in one table\n");
		exit(2);
	}
	p = paths[next++];
	snprintf(p, 4200, "%s/%s", env("CHAIN_DIR"), file);
	return p;
}

/* chain_cases - clients that ship their own DNSSEC chain, and attacks with it */
static void chain_cases(const char *alice)
{
	const unsigned long hf = SSL_R_SSLV3_ALERT_HANDSHAKE_FAILURE;
	const enum sipdance_chain_policy P = SIPDANCE_CHAIN_PREFER, R = SIPDANCE_CHAIN_REQUIRED;
	const enum sipdance_clientid_via CH = SIPDANCE_CLIENTID_VIA_CHAIN, DNS = SIPDANCE_CLIENTID_VIA_DNS,
		PEND = SIPDANCE_CLIENTID_VIA_PENDING;
	const char *ca = env("TB_CERT_ALICE"), *ka = env("TB_KEY_ALICE"), *bob = user_name("bob@b.example");
	const char *expired = user_name("alice@expired.example"), *bob_a = user_name("bob@a.example");
	const struct tcase cases[] = {
		{ .desc = "alice ships her chain (the library's source)", .cert = ca, .key = ka,
		  .name = alice, .require = 1, .lookup = dns_lookup, .want_auth = 1, .want = SIPDANCE_MATCH,
		  .policy = P, .ship_lib = in_dir("alice.ext"), .shipped = 1, .via = CH },
		{ .desc = "alice ships a chain dnspython made", .cert = ca, .key = ka, .name = alice,
		  .require = 1, .lookup = dns_lookup, .want_auth = 1, .want = SIPDANCE_MATCH, .policy = R,
		  .ship = in_dir("alice-py.ext"), .via = CH },
		{ .desc = "bob's chain under alice's name", .cert = ca, .key = ka, .name = alice,
		  .require = 1, .lookup = dns_lookup, .want = SIPDANCE_BOGUS, .want_log = "does not validate",
		  .want_alert = hf, .policy = P, .ship = in_dir("bob.ext"), .via = CH },
		{ .desc = "alice's chain under bob's name, bob's key", .cert = env("TB_CERT_BOB"),
		  .key = env("TB_KEY_BOB"), .name = bob, .require = 0, .lookup = dns_lookup,
		  .want = SIPDANCE_BOGUS, .want_log = "does not validate", .want_alert = hf, .policy = P,
		  .ship = in_dir("alice.ext"), .via = CH },
		{ .desc = "alice's chain, another key", .cert = env("TB_CERT_WRONG"),
		  .key = env("TB_KEY_WRONG"), .name = alice, .require = 0, .lookup = dns_lookup,
		  .want = SIPDANCE_NOMATCH, .want_log = "no matching DANE TLSA records", .want_alert = hf,
		  .policy = P, .ship = in_dir("alice.ext"), .via = CH },
		{ .desc = "a tampered chain", .cert = ca, .key = ka, .name = alice, .require = 0,
		  .lookup = dns_lookup, .want = SIPDANCE_BOGUS, .want_log = "signature does not verify",
		  .want_alert = hf, .policy = P, .ship = in_dir("tampered.ext"), .via = CH },
		{ .desc = "an expired chain", .cert = ca, .key = ka, .name = expired, .require = 0,
		  .lookup = dns_lookup, .want = SIPDANCE_BOGUS, .want_log = "RRSIG expired",
		  .want_alert = hf, .policy = P, .ship = in_dir("expired.ext"), .via = CH },
		{ .desc = "a chain proving there is no TLSA (required)", .cert = env("TB_CERT_BOB"),
		  .key = env("TB_KEY_BOB"), .name = bob_a, .require = 1, .lookup = dns_lookup,
		  .want = SIPDANCE_NODATA, .want_log = "proves no TLSA", .want_alert = hf, .policy = P,
		  .ship = in_dir("denial.ext"), .via = CH },
		{ .desc = "a chain proving there is no TLSA (optional)", .cert = env("TB_CERT_BOB"),
		  .key = env("TB_KEY_BOB"), .name = bob_a, .lookup = dns_lookup, .want = SIPDANCE_NODATA,
		  .policy = P, .ship = in_dir("denial.ext"), .via = CH },
		{ .desc = "a truncated extension", .cert = ca, .key = ka, .name = alice, .lookup = dns_lookup,
		  .want = SIPDANCE_BOGUS, .want_log = "malformed", .want_alert = hf, .policy = P,
		  .ship = in_dir("truncated.ext"), .via = CH },
		{ .desc = "garbage for a chain", .cert = ca, .key = ka, .name = alice, .lookup = dns_lookup,
		  .want = SIPDANCE_BOGUS, .want_log = "does not validate", .want_alert = hf, .policy = P,
		  .ship = in_dir("garbage.ext"), .via = CH },
		{ .desc = "65000 octets of garbage", .cert = ca, .key = ka, .name = alice,
		  .lookup = dns_lookup, .want = SIPDANCE_BOGUS, .want_log = "does not validate",
		  .want_alert = hf, .policy = P, .ship = in_dir("oversized.ext"), .via = CH },
		{ .desc = "an empty extension", .cert = ca, .key = ka, .name = alice, .lookup = dns_lookup,
		  .want = SIPDANCE_BOGUS, .want_log = "malformed", .want_alert = hf, .policy = P,
		  .ship = in_dir("empty.ext"), .via = CH },
		{ .desc = "no chain, chains required", .cert = ca, .key = ka, .name = alice, .require = 0,
		  .lookup = dns_lookup, .want = SIPDANCE_INDETERMINATE, .want_log = "not looked up",
		  .want_alert = hf, .policy = R },
		{ .desc = "the chain in the second certificate entry, chains required",
		  .cert = ca, .key = ka, .chain = in_dir("alice+b.pem"), .policy = R, .name = alice,
		  .lookup = dns_lookup, .want = SIPDANCE_INDETERMINATE, .want_log = "not looked up", .want_alert = hf,
		  .ship = in_dir("alice.ext"), .ship_entry = 1 },
		{ .desc = "the chain in the second certificate entry, chains preferred: a lookup",
		  .cert = ca, .key = ka, .chain = in_dir("alice+b.pem"), .policy = P, .name = alice,
		  .require = 1, .lookup = dns_lookup, .want_auth = 1, .want = SIPDANCE_MATCH,
		  .ship = in_dir("alice.ext"), .ship_entry = 1,
		  .via = DNS },
		{ .desc = "a chain without dane_clientid", .cert = ca, .key = ka, .require = 1,
		  .lookup = dns_lookup, .want = (enum sipdance_result)-1,
		  .want_log = "client sent no dane_clientid", .want_alert = hf, .policy = P,
		  .ship = in_dir("alice.ext") },
		{ .desc = "no chain, chains preferred: a lookup", .cert = ca, .key = ka, .name = alice,
		  .require = 1, .lookup = dns_lookup, .want_auth = 1, .want = SIPDANCE_MATCH, .policy = P,
		  .via = DNS },
		{ .desc = "chains not asked for: none shipped, a lookup", .cert = ca, .key = ka,
		  .name = alice, .require = 1, .lookup = dns_lookup, .want_auth = 1, .want = SIPDANCE_MATCH,
		  .ship_lib = in_dir("alice.ext"), .shipped = 0, .via = DNS },
		{ .desc = "a chain for another client's domain (allowlist)", .cert = env("TB_CERT_C"),
		  .key = env("TB_KEY_C"), .name = "sip.c.example", .require = 1, .lookup = dns_lookup,
		  .want = SIPDANCE_UNUSABLE, .want_log = "not in the allowlist", .want_alert = hf,
		  .policy = P, .ship = in_dir("alice.ext") },
		{ .desc = "no chain, no hook: looked up after the handshake", .cert = ca, .key = ka,
		  .name = alice, .require = 1, .want = SIPDANCE_INDETERMINATE, .policy = P, .after = 1,
		  .want_after = SIPDANCE_MATCH, .via = PEND },
		{ .desc = "another key, looked up after the handshake", .cert = env("TB_CERT_WRONG"),
		  .key = env("TB_KEY_WRONG"), .name = alice, .require = 1, .want = SIPDANCE_INDETERMINATE,
		  .policy = P, .after = 1, .want_after = SIPDANCE_NOMATCH, .via = PEND },
		{ .desc = "a denial, looked up after the handshake", .cert = env("TB_CERT_BOB"),
		  .key = env("TB_KEY_BOB"), .name = bob_a, .require = 1, .want = SIPDANCE_INDETERMINATE,
		  .policy = P, .after = 1, .want_after = SIPDANCE_NODATA, .via = PEND },
		{ .desc = "a bogus zone, looked up after the handshake", .cert = ca, .key = ka,
		  .name = expired, .require = 1, .want = SIPDANCE_INDETERMINATE, .policy = P, .after = 1,
		  .want_after = SIPDANCE_BOGUS, .via = PEND },
		{ .desc = "a chain through an alias (sip.alias.example CNAME sip.a.example), its key",
		  .cert = env("TB_CERT_A"), .key = env("TB_KEY_A"), .name = "sip.alias.example", .require = 1,
		  .lookup = dns_lookup, .want = SIPDANCE_BOGUS, .want_log = "leads from sip.alias.example to sip.a.example",
		  .want_alert = hf, .policy = P, .ship = in_dir("alias.ext"), .via = CH },
		{ .desc = "that alias without a chain, looked up after the handshake: the same refusal",
		  .cert = env("TB_CERT_A"),
		  .key = env("TB_KEY_A"), .name = "sip.alias.example", .require = 1, .want = SIPDANCE_INDETERMINATE,
		  .policy = P, .after = 1, .want_after = SIPDANCE_BOGUS, .via = PEND },
		{ .desc = "that alias without a chain, looked up in the handshake: the same refusal",
		  .cert = env("TB_CERT_A"), .key = env("TB_KEY_A"), .name = "sip.alias.example", .require = 1,
		  .lookup = dns_lookup, .want = SIPDANCE_BOGUS, .want_log = "leads to sip.a.example",
		  .want_alert = hf, .policy = P, .via = DNS },
		{ .desc = "a chain beside a lookup hook: the chain decides", .cert = env("TB_CERT_WRONG"),
		  .key = env("TB_KEY_WRONG"), .name = alice, .lookup = fail_lookup,
		  .want = SIPDANCE_NOMATCH, .want_alert = hf, .policy = P, .ship = in_dir("alice.ext"),
		  .via = CH },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int before = lookups;

		run_case(&cases[i]);
		if (cases[i].via != DNS)
			check(lookups == before, "%s: no TLSA lookup in the handshake", cases[i].desc);
	}
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
		struct sipdance_dns_conf dc = { .size = sizeof(dc), .resolver = env("TB_RESOLVER"),
						.trust_anchor = env("TB_ANCHOR") };
		const char *why = "";

		if (sipdance_loop_poll_alloc(&loop))
			return 2;
		dc.loop = loop;
		if (sipdance_dns_alloc(&async_dns, &dc, &why)) {
			fprintf(stderr, "clientid-tls: DNS layer: %s\n", why);
			return 2;
		}
		dc.loop = NULL;
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
			{ .desc = "alice, per-user TLSA 3 1 1", .cert = env("TB_CERT_ALICE"),
			  .key = env("TB_KEY_ALICE"), .name = alice, .require = 1,
			  .lookup = dns_lookup, .want_auth = 1, .want = SIPDANCE_MATCH },
			{ .desc = "alice's name, wrong key", .cert = env("TB_CERT_WRONG"),
			  .key = env("TB_KEY_WRONG"), .name = alice, .require = 1,
			  .lookup = dns_lookup, .want = SIPDANCE_NOMATCH,
			  .want_log = "no matching DANE TLSA records", .want_alert = hf },
			{ .desc = "bob's name in a.example (secure denial)",
			  .cert = env("TB_CERT_BOB"), .key = env("TB_KEY_BOB"), .name = bob_in_a,
			  .require = 1, .lookup = dns_lookup, .want = SIPDANCE_NODATA,
			  .want_log = "validated NXDOMAIN", .want_alert = hf },
			{ .desc = "_user name in a bogus zone (expired RRSIGs)",
			  .cert = env("TB_CERT_ALICE"), .key = env("TB_KEY_ALICE"), .name = bogus,
			  .require = 1, .lookup = dns_lookup, .want = SIPDANCE_BOGUS,
			  .want_log = "TLSA lookup BOGUS", .want_alert = hf },
			{ .desc = "_user name in a bogus zone (wrong DS)",
			  .cert = env("TB_CERT_ALICE"), .key = env("TB_KEY_ALICE"),
			  .name = wrongds, .require = 1, .lookup = dns_lookup,
			  .want = SIPDANCE_BOGUS, .want_log = "TLSA lookup BOGUS",
			  .want_alert = hf },
			{ .desc = "_user name in an unsigned zone", .cert = env("TB_CERT_ALICE"),
			  .key = env("TB_KEY_ALICE"), .name = insecure, .require = 1,
			  .lookup = dns_lookup, .want = SIPDANCE_INSECURE,
			  .want_log = "not DNSSEC-signed", .want_alert = hf },
			{ .desc = "alice over TLS 1.2 only", .cert = env("TB_CERT_ALICE"),
			  .key = env("TB_KEY_ALICE"), .name = alice, .tls12 = 1, .require = 1,
			  .lookup = dns_lookup, .want = (enum sipdance_result)-1,
			  .want_alert = SSL_R_TLSV1_ALERT_PROTOCOL_VERSION },
			{ .desc = "certificate without dane_clientid",
			  .cert = env("TB_CERT_ALICE"), .key = env("TB_KEY_ALICE"), .require = 1,
			  .lookup = dns_lookup, .want = (enum sipdance_result)-1,
			  .want_log = "client sent no dane_clientid", .want_alert = hf },
			{ .desc = "no client certificate at all", .name = alice, .require = 1,
			  .lookup = dns_lookup, .want = (enum sipdance_result)-1,
			  .want_alert = SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED },
			{ .desc = "peer proxy sip.b.example, client TLSA",
			  .cert = env("TB_CERT_B"), .key = env("TB_KEY_B"),
			  .name = "sip.b.example", .require = 1, .lookup = dns_lookup,
			  .want_auth = 1, .want = SIPDANCE_MATCH },
			{ .desc = "peer proxy claiming sip.b.example with c's key",
			  .cert = env("TB_CERT_C"), .key = env("TB_KEY_C"),
			  .name = "sip.b.example", .require = 1, .lookup = dns_lookup,
			  .want = SIPDANCE_NOMATCH, .want_log = "no matching DANE TLSA records",
			  .want_alert = hf },
			{ .desc = "peer proxy outside the allowlist", .cert = env("TB_CERT_C"),
			  .key = env("TB_KEY_C"), .name = "sip.c.example", .require = 1,
			  .lookup = dns_lookup, .want = SIPDANCE_UNUSABLE,
			  .want_log = "not in the allowlist", .want_alert = hf },
			{ .desc = "user CA: alice's certificate", .cert = fixture("alice.pem"),
			  .key = fixture("alice.key"), .chain = fixture("alice-chain.pem"),
			  .name = alice, .require = 1, .lookup = stub_lookup, .want_auth = 1,
			  .want = SIPDANCE_MATCH },
			{ .desc = "user CA: carol's certificate with alice's name",
			  .cert = fixture("carol.pem"), .key = fixture("carol.key"),
			  .chain = fixture("carol-chain.pem"), .name = alice, .require = 1,
			  .lookup = stub_lookup, .want = SIPDANCE_NOMATCH,
			  .want_log = "does not name", .want_alert = hf },
			{ .desc = "user CA: carol's certificate with carol's name",
			  .cert = fixture("carol.pem"), .key = fixture("carol.key"),
			  .chain = fixture("carol-chain.pem"),
			  .name = user_name("carol@a.example"), .require = 1,
			  .lookup = stub_lookup, .want_auth = 1, .want = SIPDANCE_MATCH },
			{ .desc = "resolver unreachable", .cert = env("TB_CERT_ALICE"),
			  .key = env("TB_KEY_ALICE"), .name = alice, .require = 1,
			  .lookup = fail_lookup, .want = SIPDANCE_INDETERMINATE,
			  .want_log = "TLSA lookup failed", .want_alert = hf },
			{ .desc = "optional mode: client without dane_clientid",
			  .cert = env("TB_CERT_ALICE"), .key = env("TB_KEY_ALICE"),
			  .lookup = dns_lookup, .want = (enum sipdance_result)-1 },
			{ .desc = "optional mode: secure denial goes on unauthenticated",
			  .cert = env("TB_CERT_BOB"), .key = env("TB_KEY_BOB"), .name = bob_in_a,
			  .lookup = dns_lookup, .want = SIPDANCE_NODATA },
			{ .desc = "optional mode: wrong key still refused",
			  .cert = env("TB_CERT_WRONG"), .key = env("TB_KEY_WRONG"), .name = alice,
			  .lookup = dns_lookup, .want = SIPDANCE_NOMATCH, .want_alert = hf },
			{ .desc = "extension type set at run time on both sides",
			  .cert = env("TB_CERT_ALICE"), .key = env("TB_KEY_ALICE"), .name = alice,
			  .require = 1, .lookup = dns_lookup, .want_auth = 1,
			  .want = SIPDANCE_MATCH, .srv_type = 0xFF42, .cli_type = 0xFF42 },
			{ .desc = "extension types differ: no ClientName sent",
			  .cert = env("TB_CERT_ALICE"), .key = env("TB_KEY_ALICE"), .name = alice,
			  .require = 1, .lookup = dns_lookup, .want = (enum sipdance_result)-1,
			  .want_log = "client sent no dane_clientid", .want_alert = hf,
			  .srv_type = 0xFF42 },
			{ .desc = "attached after another verify callback and extension",
			  .cert = env("TB_CERT_ALICE"), .key = env("TB_KEY_ALICE"), .name = alice,
			  .require = 1, .lookup = dns_lookup, .want_auth = 1,
			  .want = SIPDANCE_MATCH, .compose = 1 },
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
	chain_cases(alice);
	sipdance_tlsa_set_free(stub_set);
	sipdance_dns_free(async_dns);
	sipdance_loop_free(loop);
	sipdance_dns_free(dns);
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
