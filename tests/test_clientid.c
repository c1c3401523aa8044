/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_clientid.c - DANE client identities: user ClientNames (the RFC 7929
 * hugh example with _user, case folding, A-labels), ClientName syntax, the
 * dane_clientid extension_data, and DANE-TA user-CA name binding.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <CUnit/CUnit.h>
#include <openssl/pem.h>

#include <sipdance/clientid.h>
#include "suites.h"

#define HUGH "c93f1e400f26708f98cb19d936620da35eec8f72e57f9eec01c1afd6"
#define ALICE "2bd806c97f0e00af1a1fc3328fa763a9269723c8db8fac4f93af71db"
#define CAROL_ADDR "carol@a.example"

/* user_names - address -> ClientName, or the error and its reason */
static void user_names(void)
{
	static const struct {
		const char *address, *want; /* want: name, or NULL for EINVAL */
		const char *why;            /* expected reason when invalid */
	} v[] = {
		/* RFC 7929/8162 example local part, recomputed under _user */
		{ "hugh@example.com", HUGH "._user.example.com", NULL },
		/* case folding: ASCII lowercased in local part and domain */
		{ "Hugh@Example.COM", HUGH "._user.example.com", NULL },
		{ "HUGH@example.com.", HUGH "._user.example.com", NULL },
		{ "sip:hugh@example.com", HUGH "._user.example.com", NULL },
		{ "sips:Hugh@example.com", HUGH "._user.example.com", NULL },
		{ "alice@a.example", ALICE "._user.a.example", NULL },
		/* UTF-8 local part: hashed as given; only ASCII letters fold */
		{ "j\xc3\xb6s\xc3\xa9@a.example",
		  "79f6eef529b1088b0800b570bad0dbbe8c4c143c0dd1d7792b0ac7ce._user.a.example", NULL },
		{ "J\xc3\xb6s\xc3\xa9@a.example",
		  "79f6eef529b1088b0800b570bad0dbbe8c4c143c0dd1d7792b0ac7ce._user.a.example", NULL },
		{ "j\xc3\x96s\xc3\xa9@a.example",
		  "1a6b24c01617828a47b31090f3c2c92070488bd8db2fa74afd23c807._user.a.example", NULL },
		/* IDN domain: A-labels accepted, U-labels refused */
		{ "user@xn--bcher-kva.example",
		  "04f8996da763b7a969b1028ee3007569eaf3a635486ddab211d512c8._user.xn--bcher-kva.example",
		  NULL },
		{ "user@b\xc3\xbc" "cher.example", NULL, "non-ASCII name: use A-labels (xn--)" },
		{ "hugh.example.com", NULL, "address has no '@'" },
		{ "@example.com", NULL, "empty local part" },
		{ "hugh@", NULL, "empty name" },
		{ "hugh@example", NULL, "a single-label name" },
		{ "hugh@example..com", NULL, "empty label" },
		{ "hugh@-example.com", NULL, "label starts with a hyphen" },
		{ "hugh@ex_ample.com", NULL, "underscore label other than _user" },
		{ "hu\x01gh@example.com", NULL, "local part is not printable UTF-8" },
		{ "\xff@example.com", NULL, "local part is not printable UTF-8" },
		{ "\xc0\xaf@example.com", NULL, "local part is not printable UTF-8" },
	};
	char out[SIPDANCE_CLIENTID_MAX + 1];

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		const char *why = NULL;
		int err = sipdance_clientid_user_name(v[i].address, out, sizeof(out), &why);

		if (v[i].want) {
			CU_ASSERT_EQUAL(err, 0);
			CU_ASSERT_STRING_EQUAL(err ? why : out, v[i].want);
		} else {
			CU_ASSERT_EQUAL(err, EINVAL);
			CU_ASSERT_PTR_NOT_NULL_FATAL(why);
			CU_ASSERT_STRING_EQUAL(why, v[i].why);
		}
	}
	CU_ASSERT_EQUAL(sipdance_clientid_user_name("hugh@example.com", out, 74, NULL), EMSGSIZE);
	CU_ASSERT_EQUAL(sipdance_clientid_user_name("hugh@example.com", out, 75, NULL), 0);
}

/* long_names - the 255-octet limit on local parts and on the owner name */
static void long_names(void)
{
	char addr[600], out[SIPDANCE_CLIENTID_MAX + 1];
	const char *why = NULL;

	memset(addr, 'a', 256);
	strcpy(addr + 256, "@a.example");
	CU_ASSERT_EQUAL(sipdance_clientid_user_name(addr, out, sizeof(out), &why), EINVAL);
	CU_ASSERT_STRING_EQUAL(why, "local part longer than 255 octets");
	/* 63 + 63 + 63 + 1 + 2 dots... a domain of 193 octets overflows 255 */
	strcpy(addr, "a@");
	for (int i = 0; i < 3; i++) {
		memset(addr + strlen(addr), 'b', 63);
		addr[2 + 64 * i + 63] = '.';
		addr[2 + 64 * i + 64] = '\0';
	}
	strcat(addr, "ex");
	CU_ASSERT_EQUAL(sipdance_clientid_user_name(addr, out, sizeof(out), &why), EINVAL);
	CU_ASSERT_STRING_EQUAL(why, "domain too long for a _user name");
	addr[strlen(addr) - 2] = '\0';
	strcat(addr, "e");
	CU_ASSERT_EQUAL(sipdance_clientid_user_name(addr, out, sizeof(out), &why), EINVAL);
}

/* check_names - ClientName syntax and kind */
static void check_names(void)
{
	static const struct {
		const char *name, *domain; /* domain NULL: invalid */
		int kind;
		const char *why;
	} v[] = {
		{ ALICE "._user.a.example", "a.example", SIPDANCE_CLIENTID_USER, NULL },
		{ "sip.a.example", "sip.a.example", SIPDANCE_CLIENTID_HOST, NULL },
		{ "SIP.A.example", "SIP.A.example", SIPDANCE_CLIENTID_HOST, NULL },
		{ "xn--bcher-kva.example", "xn--bcher-kva.example", SIPDANCE_CLIENTID_HOST, NULL },
		{ "2BD806C97F0E00AF1A1FC3328FA763A9269723C8DB8FAC4F93AF71DB._user.a.example", NULL, 0,
		  "_user name whose first label is not 56 lowercase hex digits" },
		{ "2bd806c97f0e00af1a1fc3328fa763a9269723c8db8fac4f93af71d._user.a.example", NULL, 0,
		  "_user name whose first label is not 56 lowercase hex digits" },
		{ "alice._user.a.example", NULL, 0,
		  "_user name whose first label is not 56 lowercase hex digits" },
		{ "_user.a.example", NULL, 0, "_user label without the hashed local part" },
		{ "a.example._user", NULL, 0, "_user name without a domain" },
		{ ALICE "._user.a", NULL, 0, "a single-label name" },
		{ "_sip._tcp.a.example", NULL, 0, "underscore label other than _user" },
		{ "sip.a.example.", NULL, 0, "name ends with a dot" },
		{ "sip\\046a.example", NULL, 0, "escapes are not allowed" },
		{ "b\xc3\xbc" "cher.example", NULL, 0, "non-ASCII name: use A-labels (xn--)" },
		{ "sip a.example", NULL, 0, "character not allowed in a host name" },
		{ "localhost", NULL, 0, "a single-label name" },
		{ "", NULL, 0, "empty name" },
		{ "a-.example", NULL, 0, "label ends with a hyphen" },
	};
	char label[80], big[300];
	enum sipdance_clientid_kind kind;
	const char *domain, *why;

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		int err;

		why = NULL;
		err = sipdance_clientid_check(v[i].name, &kind, &domain, &why);
		if (v[i].domain) {
			CU_ASSERT_EQUAL(err, 0);
			CU_ASSERT_EQUAL(kind, (enum sipdance_clientid_kind)v[i].kind);
			CU_ASSERT_STRING_EQUAL(err ? why : domain, v[i].domain);
		} else {
			CU_ASSERT_EQUAL(err, EINVAL);
			CU_ASSERT_PTR_NOT_NULL_FATAL(why);
			if (strcmp(why, v[i].why))
				fprintf(stderr, "\n  %s: got \"%s\"\n", v[i].name, why);
			CU_ASSERT_STRING_EQUAL(why, v[i].why);
		}
	}
	memset(label, 'a', 64);
	strcpy(label + 64, ".example");
	CU_ASSERT_EQUAL(sipdance_clientid_check(label, NULL, NULL, &why), EINVAL);
	CU_ASSERT_STRING_EQUAL(why, "label longer than 63 octets");
	for (int i = 0; i < 4; i++) {
		memset(big + 64 * i, 'c', 63);
		big[64 * i + 63] = '.';
	}
	strcpy(big + 256, "ex"); /* 258 octets */
	CU_ASSERT_EQUAL(sipdance_clientid_check(big, NULL, NULL, &why), EINVAL);
	CU_ASSERT_STRING_EQUAL(why, "name longer than 255 octets");
	big[255] = '\0';
	big[254] = 'x'; /* 255 octets, last label "cc..x" of 63 */
	CU_ASSERT_EQUAL(sipdance_clientid_check(big, NULL, NULL, NULL), 0);
	CU_ASSERT_EQUAL(sipdance_clientid_check(NULL, NULL, NULL, NULL), EINVAL);
}

/* ext_codec - extension_data: round trip, the server's empty form, and each
 * malformed input with its own error and reason */
static void ext_codec(void)
{
	static const char name[] = ALICE "._user.a.example";
	uint8_t buf[400], small[10];
	char out[SIPDANCE_CLIENTID_MAX + 1];
	const char *why;
	size_t len;

	CU_ASSERT_EQUAL_FATAL(sipdance_clientid_ext_encode(name, buf, sizeof(buf), &len), 0);
	CU_ASSERT_EQUAL(len, strlen(name) + 1);
	CU_ASSERT_EQUAL(buf[0], strlen(name));
	CU_ASSERT_EQUAL(sipdance_clientid_ext_decode(buf, len, out, sizeof(out), NULL), 0);
	CU_ASSERT_STRING_EQUAL(out, name);
	/* the server's zero-length ClientName: one octet 0 */
	CU_ASSERT_EQUAL(sipdance_clientid_ext_encode(NULL, buf, sizeof(buf), &len), 0);
	CU_ASSERT_EQUAL(len, 1);
	CU_ASSERT_EQUAL(buf[0], 0);
	CU_ASSERT_EQUAL(sipdance_clientid_ext_decode(buf, 1, out, sizeof(out), NULL), 0);
	CU_ASSERT_STRING_EQUAL(out, "");
	CU_ASSERT_EQUAL(sipdance_clientid_ext_encode("", buf, sizeof(buf), &len), 0);
	CU_ASSERT_EQUAL(len, 1);
	/* encoding errors */
	CU_ASSERT_EQUAL(sipdance_clientid_ext_encode(name, small, sizeof(small), &len), EMSGSIZE);
	CU_ASSERT_EQUAL(sipdance_clientid_ext_encode("bad_name.example", buf, sizeof(buf), &len),
			EINVAL);
	/* zero-length extension_data: not even the length octet */
	why = NULL;
	CU_ASSERT_EQUAL(sipdance_clientid_ext_decode(buf, 0, out, sizeof(out), &why), EBADMSG);
	CU_ASSERT_STRING_EQUAL(why, "empty extension_data: no ClientName length");
	/* over-long */
	memset(buf, 'a', sizeof(buf));
	buf[0] = 255;
	CU_ASSERT_EQUAL(sipdance_clientid_ext_decode(buf, 300, out, sizeof(out), &why), EMSGSIZE);
	CU_ASSERT_STRING_EQUAL(why, "extension_data longer than any ClientName");
	/* truncated: length says 20, 5 octets follow */
	memcpy(buf, "\x14" "a.exa", 6);
	CU_ASSERT_EQUAL(sipdance_clientid_ext_decode(buf, 6, out, sizeof(out), &why), EBADMSG);
	CU_ASSERT_STRING_EQUAL(why, "ClientName truncated");
	/* trailing data */
	memcpy(buf, "\x09" "a.example!!", 12);
	CU_ASSERT_EQUAL(sipdance_clientid_ext_decode(buf, 12, out, sizeof(out), &why), EBADMSG);
	CU_ASSERT_STRING_EQUAL(why, "data after the ClientName");
	/* embedded NUL, escapes, bad syntax */
	memcpy(buf, "\x09" "a.ex\0mple", 10);
	CU_ASSERT_EQUAL(sipdance_clientid_ext_decode(buf, 10, out, sizeof(out), &why), EINVAL);
	CU_ASSERT_STRING_EQUAL(why, "NUL in ClientName");
	memcpy(buf, "\x0c" "a\\046example", 13);
	CU_ASSERT_EQUAL(sipdance_clientid_ext_decode(buf, 13, out, sizeof(out), &why), EINVAL);
	CU_ASSERT_STRING_EQUAL(why, "escapes are not allowed");
	CU_ASSERT_STRING_EQUAL(out, "");
	memcpy(buf, "\x0a" "a.example.", 11);
	CU_ASSERT_EQUAL(sipdance_clientid_ext_decode(buf, 11, out, sizeof(out), &why), EINVAL);
	CU_ASSERT_STRING_EQUAL(why, "name ends with a dot");
	/* caller's buffer too small */
	memcpy(buf, "\x09" "a.example", 10);
	CU_ASSERT_EQUAL(sipdance_clientid_ext_decode(buf, 10, out, 5, &why), EMSGSIZE);
	CU_ASSERT_EQUAL(sipdance_clientid_ext_decode(buf, 10, out, 10, &why), 0);
}

/* load - certificates of tests/clientid-certs/<file> */
static STACK_OF(X509) *load(const char *file)
{
	char rel[160];
	STACK_OF(X509) *chain = sk_X509_new_null();
	FILE *f;
	X509 *x;

	snprintf(rel, sizeof(rel), "../clientid-certs/%s", file);
	if (!chain || !(f = fopen(test_data(rel), "r")))
		return chain;
	while ((x = PEM_read_X509(f, NULL, NULL, NULL)))
		sk_X509_push(chain, x);
	fclose(f);
	return chain;
}

/* names_of - sipdance_clientid_cert_names() of a fixture's first certificate */
static int names_of(const char *file, const char *client_name)
{
	STACK_OF(X509) *c = load(file);
	int r = sk_X509_num(c) > 0 ? sipdance_clientid_cert_names(sk_X509_value(c, 0), client_name)
				   : -1;

	sk_X509_pop_free(c, X509_free);
	return r;
}

/* cert_binding - which SAN entries bind which ClientName */
static void cert_binding(void)
{
	static const char alice[] = ALICE "._user.a.example";
	char carol[SIPDANCE_CLIENTID_MAX + 1];

	CU_ASSERT_EQUAL_FATAL(sipdance_clientid_user_name(CAROL_ADDR, carol, sizeof(carol), NULL), 0);
	CU_ASSERT_EQUAL(names_of("alice.pem", alice), 1);
	CU_ASSERT_EQUAL(names_of("alice-uri.pem", alice), 1);   /* URI sip:alice@a.example */
	CU_ASSERT_EQUAL(names_of("alice-email.pem", alice), 1); /* rfc822Name */
	CU_ASSERT_EQUAL(names_of("alice-upper.pem", alice), 1); /* Alice@A.EXAMPLE folds */
	CU_ASSERT_EQUAL(names_of("alice-pct.pem", alice), 1);   /* sip:%61lice@ decodes */
	CU_ASSERT_EQUAL(names_of("alice-param.pem", alice), 0); /* URI parameters: not an AOR */
	CU_ASSERT_EQUAL(names_of("carol.pem", alice), 0);       /* another local part */
	CU_ASSERT_EQUAL(names_of("carol.pem", carol), 1);
	CU_ASSERT_EQUAL(names_of("alice.pem", carol), 0);
	CU_ASSERT_EQUAL(names_of("alice.pem", ALICE "._user.b.example"), 0); /* other domain */
	CU_ASSERT_EQUAL(names_of("proxy.pem", "sip.a.example"), 1);         /* dNSName */
	CU_ASSERT_EQUAL(names_of("proxy.pem", "SIP.A.EXAMPLE"), 1);
	CU_ASSERT_EQUAL(names_of("proxy.pem", "sip.b.example"), 0);
	CU_ASSERT_EQUAL(names_of("proxy.pem", alice), 0);
	CU_ASSERT_EQUAL(names_of("alice.pem", "a.example"), 0); /* user certs name no host */
	CU_ASSERT_EQUAL(names_of("alice.pem", "not a name"), 0);
}

/* rrset - one record made from a fixture certificate */
static struct sipdance_tlsa_set *rrset(const char *file, uint8_t u, uint8_t s, uint8_t m)
{
	STACK_OF(X509) *c = load(file);
	struct sipdance_tlsa_set *set = NULL;
	struct sipdance_tlsa *t = NULL;

	if (sk_X509_num(c) > 0 && sipdance_tlsa_set_alloc(&set) == 0 &&
	    sipdance_tlsa_create(&t, sk_X509_value(c, 0), u, s, m) == 0)
		sipdance_tlsa_set_add(set, t);
	sk_X509_pop_free(c, X509_free);
	return set;
}

/* verdict - sipdance_clientid_verify() of a chain fixture; the result, depth in *depth */
static enum sipdance_result verdict(const char *chain_file, const char *name,
				    struct sipdance_tlsa_set *set, int *depth)
{
	STACK_OF(X509) *chain = load(chain_file);
	struct sipdance_verdict v;
	int err = sipdance_clientid_verify(name, set, chain, 0, &v);

	sk_X509_pop_free(chain, X509_free);
	CU_ASSERT_EQUAL(err, 0);
	if (err)
		return SIPDANCE_INDETERMINATE;
	CU_ASSERT(v.reason[0] != '\0');
	*depth = v.depth;
	return v.result;
}

/* user_ca - DANE-TA at *._user.<domain>: the user CA authenticates only the
 * certificates that name the user whose ClientName was sent */
static void user_ca(void)
{
	static const char alice[] = ALICE "._user.a.example";
	struct sipdance_tlsa_set *ta = rrset("userca.pem", 2, 1, 1), *full = rrset("userca.pem", 2, 0, 0);
	char carol[SIPDANCE_CLIENTID_MAX + 1];
	int depth;

	CU_ASSERT_EQUAL_FATAL(sipdance_clientid_user_name(CAROL_ADDR, carol, sizeof(carol), NULL), 0);
	CU_ASSERT_EQUAL(verdict("alice-chain.pem", alice, ta, &depth), SIPDANCE_MATCH);
	CU_ASSERT_EQUAL(depth, 1);
	CU_ASSERT_EQUAL(verdict("carol-chain.pem", carol, ta, &depth), SIPDANCE_MATCH);
	/* carol's certificate sent with alice's ClientName: refused */
	CU_ASSERT_EQUAL(verdict("carol-chain.pem", alice, ta, &depth), SIPDANCE_NOMATCH);
	/* 2 1 1 needs the CA in the chain; 2 0 0 carries it */
	CU_ASSERT_EQUAL(verdict("alice.pem", alice, ta, &depth), SIPDANCE_NOMATCH);
	CU_ASSERT_EQUAL(verdict("alice.pem", alice, full, &depth), SIPDANCE_MATCH);
	CU_ASSERT_EQUAL(verdict("carol.pem", alice, full, &depth), SIPDANCE_NOMATCH);
	/* a host name under DANE-TA: the dNSName must be the ClientName */
	CU_ASSERT_EQUAL(verdict("proxy-chain.pem", "sip.a.example", ta, &depth), SIPDANCE_MATCH);
	CU_ASSERT_EQUAL(verdict("proxy-chain.pem", "sip.b.example", ta, &depth), SIPDANCE_NOMATCH);
	/* a self-signed user certificate is no CA-issued one */
	CU_ASSERT_EQUAL(verdict("alice-self.pem", alice, ta, &depth), SIPDANCE_NOMATCH);
	sipdance_tlsa_set_free(ta);
	sipdance_tlsa_set_free(full);
}

/* dane_ee - per-user 3 1 1: the key alone decides, names do not matter */
static void dane_ee(void)
{
	static const char alice[] = ALICE "._user.a.example";
	struct sipdance_tlsa_set *ee = rrset("alice-self.pem", 3, 1, 1), *pkix = rrset("alice-self.pem", 1, 1, 1);
	struct sipdance_verdict v;
	STACK_OF(X509) *empty = sk_X509_new_null();
	int depth;

	CU_ASSERT_EQUAL(verdict("alice-self.pem", alice, ee, &depth), SIPDANCE_MATCH);
	CU_ASSERT_EQUAL(depth, 0);
	CU_ASSERT_EQUAL(verdict("alice-self.pem", "sip.a.example", ee, &depth), SIPDANCE_MATCH);
	CU_ASSERT_EQUAL(verdict("alice.pem", alice, ee, &depth), SIPDANCE_NOMATCH); /* other key */
	CU_ASSERT_EQUAL(verdict("alice-self.pem", alice, pkix, &depth), SIPDANCE_UNUSABLE);
	CU_ASSERT_EQUAL(sipdance_clientid_verify("bad name", ee, empty, 0, &v), EINVAL);
	CU_ASSERT_EQUAL(sipdance_clientid_verify(alice, ee, empty, 0, &v), EINVAL);
	sk_X509_free(empty);
	sipdance_tlsa_set_free(ee);
	sipdance_tlsa_set_free(pkix);
}

/* no_lookup - a lookup hook that must not run here */
static int no_lookup(void *arg, const char *name, struct sipdance_clientid_answer *out)
{
	return EIO;
}

/* noop_add - another component's extension, registered first */
static int noop_add(SSL *ssl, unsigned int type, unsigned int context, const unsigned char **out,
		    size_t *outlen, X509 *x, size_t chainidx, int *al, void *arg)
{
	return 0;
}

/* attach_errors - configuration errors are refused with a reason, once per context */
static void attach_errors(void)
{
	struct sipdance_clientid_conf conf = { .size = sizeof(conf), .server = 1, .lookup = no_lookup };
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method()), *other = SSL_CTX_new(TLS_server_method());
	struct sipdance_verdict v;
	const char *why = NULL;
	SSL *ssl;

	CU_ASSERT_PTR_NOT_NULL_FATAL(ctx);
	CU_ASSERT_PTR_NOT_NULL_FATAL(other);
	CU_ASSERT_EQUAL(sipdance_clientid_attach(NULL, &conf, &why), EINVAL);
	conf.chain = SIPDANCE_CHAIN_PREFER;
	CU_ASSERT_EQUAL(sipdance_clientid_attach(ctx, &conf, &why), EINVAL);
	CU_ASSERT_STRING_EQUAL(why, "client chains need a trust anchor");
	conf.trust_anchor = "/nonexistent/root.ds";
	CU_ASSERT_EQUAL(sipdance_clientid_attach(ctx, &conf, &why), EINVAL);
	conf.trust_anchor = NULL;
	conf.chain = SIPDANCE_CHAIN_OFF;
	conf.ext_type = 0x10000;
	CU_ASSERT_EQUAL(sipdance_clientid_attach(ctx, &conf, &why), EINVAL);
	CU_ASSERT_STRING_EQUAL(why, "extension type above 65535");
	conf.ext_type = 0;
	conf.name = "not a name";
	CU_ASSERT_EQUAL(sipdance_clientid_attach(ctx, &conf, &why), EINVAL);
	CU_ASSERT_STRING_EQUAL(why, "character not allowed in a host name");
	conf.name = "sip.a.example";
	CU_ASSERT_EQUAL(sipdance_clientid_attach(ctx, &conf, &why), 0);
	CU_ASSERT_EQUAL(sipdance_clientid_attach(ctx, &conf, &why), EINVAL);
	CU_ASSERT_STRING_EQUAL(why, "dane_clientid already attached to this context");
	/* the type taken by another component, or built into OpenSSL */
	CU_ASSERT_EQUAL_FATAL(SSL_CTX_add_custom_ext(other, SIPDANCE_CLIENTID_EXT_TYPE, SSL_EXT_CLIENT_HELLO,
						     noop_add, NULL, NULL, NULL, NULL), 1);
	CU_ASSERT_EQUAL(sipdance_clientid_attach(other, &conf, &why), EINVAL);
	CU_ASSERT_STRING_EQUAL(why, "extension type already registered or handled by OpenSSL");
	conf.ext_type = 43; /* supported_versions */
	CU_ASSERT_EQUAL(sipdance_clientid_attach(other, &conf, &why), EINVAL);
	/* a chain source where someone else registered dnssec_chain (59) */
	SSL_CTX_free(other);
	other = SSL_CTX_new(TLS_server_method());
	CU_ASSERT_EQUAL_FATAL(SSL_CTX_add_custom_ext(other, SIPDANCE_CHAIN_EXT_TYPE, SSL_EXT_CLIENT_HELLO,
						     noop_add, NULL, NULL, NULL, NULL), 1);
	CU_ASSERT_EQUAL(sipdance_chain_ask_clients(other), EEXIST);
	CU_ASSERT_PTR_NULL(sipdance_chain_shipped(NULL, NULL));
	conf.ext_type = 0;
	/* per-connection accessors before any handshake */
	ssl = SSL_new(ctx);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ssl);
	CU_ASSERT_PTR_NULL(sipdance_clientid_peer_name(ssl));
	CU_ASSERT_EQUAL(sipdance_clientid_peer_verdict(ssl, &v), ENOENT);
	CU_ASSERT_EQUAL(sipdance_clientid_server_asked(ssl), 0);
	CU_ASSERT_EQUAL(sipdance_clientid_set_name(ssl, "bad_name.example"), EINVAL);
	CU_ASSERT_EQUAL(sipdance_clientid_set_name(ssl, ALICE "._user.a.example"), 0);
	CU_ASSERT_EQUAL(sipdance_clientid_set_name(ssl, "sip.b.example"), 0);
	SSL_free(ssl);
	SSL_CTX_free(other);
	SSL_CTX_free(ctx);
}

CU_ErrorCode suite_clientid(void)
{
	CU_pSuite s = CU_add_suite("clientid", NULL, NULL);

	if (!s || !CU_add_test(s, "user names (hugh, folding, A-labels)", user_names) ||
	    !CU_add_test(s, "255-octet limits", long_names) ||
	    !CU_add_test(s, "ClientName syntax", check_names) ||
	    !CU_add_test(s, "dane_clientid extension_data", ext_codec) ||
	    !CU_add_test(s, "certificate name binding", cert_binding) ||
	    !CU_add_test(s, "DANE-TA user CA", user_ca) ||
	    !CU_add_test(s, "DANE-EE per user", dane_ee) ||
	    !CU_add_test(s, "attach errors", attach_errors))
		return CU_get_error();
	return CUE_SUCCESS;
}
