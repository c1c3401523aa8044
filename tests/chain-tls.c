/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * chain-tls.c - one TLS handshake on loopback between a server serving its
 * RFC 9102 chain and a client validating it, with plain OpenSSL sockets; the
 * knobs let tests/chain-tls.sh stop DNS after the build, tamper with the
 * chain, drop the extension, pin, and fall back. Prints one result line:
 *   handshake=ok|failed verdict=RESULT lifetime=H reason=...
 * Exit 0 when the handshake succeeded, 1 when it failed, 2 on setup errors.
 * With --flip-each FILE --name OWNER: flip the last RDATA octet of each
 * record of an extension_data file in turn, print why each is refused;
 * exit 0 when every one is. With --serve ADDR:PORT: only the server, on that
 * address, handshaking with each client in turn until killed (a peer for a
 * proxy under test that serves whatever chain the options make).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <sipdance/chain.h>
#include "chain_int.h"

struct opts {
	const char *anchor, *resolver, *ext_file, *cert, *key, *host, *pins, *stop_dns, *fallback;
	const char *policy, *flip_each, *name, *sni, *serve;
	unsigned port, lifetime;
	int tamper, no_ext, tls12;
};

struct server {
	SSL_CTX *ctx;
	int fd;
};

/* die - setup failure */
static void die(const char *what, const char *why)
{
	fprintf(stderr, "chain-tls: %s: %s\n", what, why ? why : "");
	ERR_print_errors_fp(stderr);
	exit(2);
}

/* serve - accept one connection, handshake, say hello */
static void *serve(void *arg)
{
	struct server *s = arg;
	int c = accept(s->fd, NULL, NULL);
	SSL *ssl;
	char buf[8];

	if (c < 0)
		return NULL;
	ssl = SSL_new(s->ctx);
	SSL_set_fd(ssl, c);
	if (SSL_accept(ssl) == 1) {
		SSL_write(ssl, "hello", 5);
		SSL_read(ssl, buf, sizeof(buf));
	}
	SSL_free(ssl);
	close(c);
	return NULL;
}

/* serve_forever - --serve ADDR:PORT: accept and handshake until killed */
static void serve_forever(struct server *s, const char *where) __attribute__((noreturn));
static void serve_forever(struct server *s, const char *where)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	char addr[64];
	unsigned port;
	int one = 1;

	if (sscanf(where, "%63[^:]:%u", addr, &port) != 2 || inet_pton(AF_INET, addr, &a.sin_addr) != 1)
		die("--serve", where);
	a.sin_port = htons((uint16_t)port);
	s->fd = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(s->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (s->fd < 0 || bind(s->fd, (struct sockaddr *)&a, sizeof(a)) || listen(s->fd, 16))
		die("--serve", strerror(errno));
	printf("serving on %s\n", where);
	fflush(stdout);
	for (;;)
		serve(s);
}

/* listen_any - a loopback listener on an ephemeral port */
static int listen_any(uint16_t *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) || listen(fd, 1) ||
	    getsockname(fd, (struct sockaddr *)&a, &len))
		die("listen", strerror(errno));
	*port = ntohs(a.sin_port);
	return fd;
}

/* server_ctx - certificate, key, and the chain source unless --no-ext */
static SSL_CTX *server_ctx(const struct opts *o, struct sipdance_chain_source **src)
{
	struct sipdance_chain_source_conf conf = { .size = sizeof(conf),
		.trust_anchor = o->anchor, .resolver = o->ext_file ? NULL : o->resolver,
		.file = o->ext_file, .host = o->host, .port = (uint16_t)o->port,
		.lifetime = (uint16_t)o->lifetime,
	};
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	const char *why = NULL;

	if (!ctx || SSL_CTX_use_certificate_chain_file(ctx, o->cert) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, o->key, SSL_FILETYPE_PEM) != 1)
		die("server certificate", o->cert);
	if (o->tls12)
		SSL_CTX_set_max_proto_version(ctx, TLS1_2_VERSION);
	*src = NULL;
	if (o->no_ext)
		return ctx;
	if (sipdance_chain_source_alloc(src, &conf, &why))
		die("chain source", why);
	if (sipdance_chain_server_attach(ctx, *src))
		die("server attach", NULL);
	if (o->tamper) {
		size_t len;
		uint8_t *p = (uint8_t *)sipdance_chain_source_get(*src, 0, &len);

		p[len - 1] ^= 1; /* the last octet: the root DNSKEY RRSIG's signature */
	}
	return ctx;
}

/* fallback - the DNS path stand-in: TLSA added to the SSL's own DANE check */
static void fallback(SSL *ssl, const struct opts *o)
{
	unsigned u, s, m;
	unsigned char data[64];
	char hex[129];
	size_t n = 0;

	if (sscanf(o->fallback, "%u %u %u %128s", &u, &s, &m, hex) != 4)
		die("--fallback-tlsa", o->fallback);
	for (; n < sizeof(data) && hex[2 * n] && sscanf(hex + 2 * n, "%2hhx", &data[n]) == 1; n++)
		;
	if (SSL_dane_enable(ssl, o->host) <= 0 ||
	    SSL_dane_tlsa_add(ssl, (uint8_t)u, (uint8_t)s, (uint8_t)m, data, n) <= 0)
		die("fallback TLSA", NULL);
	SSL_dane_set_flags(ssl, DANE_FLAG_NO_DANE_EE_NAMECHECKS);
}

/* client - connect, handshake, print the result; 0 or 1 */
static int client(const struct opts *o, uint16_t tcp_port)
{
	struct sipdance_chain_client_conf conf = { .size = sizeof(conf), .trust_anchor = o->anchor, .pin_file = o->pins };
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(tcp_port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct sipdance_chain_client *cl;
	struct sipdance_verdict v;
	const char *why = NULL, *host = o->sni ? o->sni : o->host, *name = host;
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	uint16_t life = 0;
	char buf[8];
	int fd, ok;
	SSL *ssl;

	if (sipdance_chain_policy_parse(o->policy, &conf.policy))
		die("--policy", o->policy);
	if (!ctx || SSL_CTX_dane_enable(ctx) <= 0)
		die("client context", NULL);
	if (sipdance_chain_client_alloc(&cl, &conf, &why))
		die("chain client", why);
	if (sipdance_chain_client_ctx_attach(ctx, cl))
		die("client ctx attach", NULL);
	ssl = SSL_new(ctx);
	if (!ssl || sipdance_chain_client_attach(ssl, cl, host, (uint16_t)o->port, &name, 1))
		die("client attach", NULL);
	if (o->fallback)
		fallback(ssl, o);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)))
		die("connect", strerror(errno));
	SSL_set_fd(ssl, fd);
	/* TLS 1.3: a finished handshake is only accepted once data flows */
	ok = SSL_connect(ssl) == 1 && SSL_read(ssl, buf, sizeof(buf)) == 5;
	if (ok)
		SSL_write(ssl, "bye", 3);
	ERR_clear_error();
	sipdance_chain_client_verdict(ssl, &v, &life);
	printf("handshake=%s verdict=%s lifetime=%u version=%s reason=%s\n", ok ? "ok" : "failed",
	       sipdance_result_str(v.result), life, SSL_get_version(ssl), v.reason);
	SSL_free(ssl);
	close(fd);
	SSL_CTX_free(ctx);
	sipdance_chain_client_free(cl);
	return ok ? 0 : 1;
}

/* flip_each - every record of a chain damaged in turn must be refused */
static int flip_each(const struct opts *o)
{
	struct sipdance_anchor *ta;
	struct sd_rr *rr;
	uint8_t buf[SIPDANCE_CHAIN_MAX + 2];
	const char *why = NULL;
	size_t len, n, at;
	int accepted = 0;
	FILE *f = fopen(o->flip_each, "rb");

	if (!f || !o->name)
		die("--flip-each", "needs a readable FILE and --name");
	len = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	if (len < 3 || sipdance_anchor_load(&ta, o->anchor, &why))
		die("--flip-each", why ? why : "file too short");
	if (sd_chain_split(buf + 2, len - 2, &rr, &n, &at, &why))
		die("--flip-each", why);
	for (size_t i = 0; i < n; i++) {
		uint8_t *p = (uint8_t *)rr[i].rdata + rr[i].rdlen - 1;
		struct sipdance_chain_result r;

		*p ^= 1;
		if (sipdance_chain_validate(ta, buf + 2, len - 2, o->name, 0, &r))
			die("validate", NULL);
		printf("record %zu type %u: %s\n", i, rr[i].type, r.secure ? "ACCEPTED" : r.why);
		accepted += r.secure;
		sipdance_chain_result_clear(&r);
		*p ^= 1;
	}
	printf("%zu records, %d accepted after damage\n", n, accepted);
	free(rr);
	sipdance_anchor_free(ta);
	return accepted ? 1 : 0;
}

int main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "trust-anchor", required_argument, NULL, 'a' },
		{ "resolver", required_argument, NULL, 'r' },
		{ "ext-file", required_argument, NULL, 'e' },
		{ "cert", required_argument, NULL, 'c' },
		{ "key", required_argument, NULL, 'k' },
		{ "host", required_argument, NULL, 'H' },
		{ "port", required_argument, NULL, 'p' },
		{ "lifetime", required_argument, NULL, 'l' },
		{ "pins", required_argument, NULL, 'P' },
		{ "policy", required_argument, NULL, 'y' },
		{ "stop-dns", required_argument, NULL, 's' },
		{ "fallback-tlsa", required_argument, NULL, 'f' },
		{ "tamper", no_argument, NULL, 't' },
		{ "no-ext", no_argument, NULL, 'n' },
		{ "tls12", no_argument, NULL, '2' },
		{ "flip-each", required_argument, NULL, 'F' },
		{ "name", required_argument, NULL, 'N' },
		{ "sni", required_argument, NULL, 'S' },
		{ "serve", required_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct opts o = { .port = 5061, .policy = "required" };
	struct sipdance_chain_source *src;
	struct server s;
	pthread_t th;
	uint16_t tcp_port;
	int c, rc;

	while ((c = getopt_long(argc, argv, "", lopts, NULL)) != -1) {
		switch (c) {
		case 'a': o.anchor = optarg; break;
		case 'r': o.resolver = optarg; break;
		case 'e': o.ext_file = optarg; break;
		case 'c': o.cert = optarg; break;
		case 'k': o.key = optarg; break;
		case 'H': o.host = optarg; break;
		case 'p': o.port = (unsigned)atoi(optarg); break;
		case 'l': o.lifetime = (unsigned)atoi(optarg); break;
		case 'P': o.pins = optarg; break;
		case 'y': o.policy = optarg; break;
		case 's': o.stop_dns = optarg; break;
		case 'f': o.fallback = optarg; break;
		case 't': o.tamper = 1; break;
		case 'n': o.no_ext = 1; break;
		case '2': o.tls12 = 1; break;
		case 'F': o.flip_each = optarg; break;
		case 'N': o.name = optarg; break;
		case 'S': o.sni = optarg; break;
		case 'V': o.serve = optarg; break;
		default: return 2;
		}
	}
	if (o.flip_each && o.anchor)
		return flip_each(&o);
	if (!o.anchor || !o.cert || !o.key || !o.host || (!o.resolver && !o.ext_file && !o.no_ext))
		die("usage", "--trust-anchor --cert --key --host and --resolver or --ext-file needed");
	s.ctx = server_ctx(&o, &src);
	if (o.serve)
		serve_forever(&s, o.serve);
	/* the chain is built: from here on no DNS is needed */
	if (o.stop_dns && system(o.stop_dns) != 0)
		die("--stop-dns", o.stop_dns);
	s.fd = listen_any(&tcp_port);
	if (pthread_create(&th, NULL, serve, &s))
		die("thread", NULL);
	rc = client(&o, tcp_port);
	pthread_join(th, NULL);
	close(s.fd);
	SSL_CTX_free(s.ctx);
	sipdance_chain_source_free(src);
	return rc;
}
