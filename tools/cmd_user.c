/* SPDX-License-Identifier: BSD-2-Clause */
/* cmd_user.c - `sipdance user-name` and `sipdance user-tlsa`: DANE client names of users;
 * `sipdance user-digest`: the Digest line of a user for sipdance-proxy --users. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/x509v3.h>

#include <openssl/crypto.h>
#include <sipdance.h>
#include "../sip/digest.h"
#include "tool.h"

static const char name_usage[] =
	"usage: sipdance user-name ADDRESS\n"
	"  Print the TLSA owner name (the dane_clientid ClientName) of user ADDRESS\n"
	"  (local@domain, sip: optional): hex(SHA-256(local part)[0:28])._user.domain,\n"
	"  ASCII letters lowercased, domain in A-labels.\n";

static const char tlsa_usage[] =
	"usage: sipdance user-tlsa [-u 3|2] CERT.pem ADDRESS\n"
	"  Print the zone-file line to publish for a user:\n"
	"  -u 3 (default): NAME. IN TLSA 3 1 1 <SHA-256 of CERT's key>, NAME as user-name prints it;\n"
	"  -u 2: *._user.DOMAIN. IN TLSA 2 1 1 <SHA-256 of the user CA's key>; CERT is the CA,\n"
	"        ADDRESS a user address or the domain itself.\n";

/* cmd_user_name - print the owner name of an address */
int cmd_user_name(int argc, char **argv)
{
	char name[SIPDANCE_CLIENTID_MAX + 1];
	const char *why = "invalid address";

	if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		fputs(name_usage, stdout);
		return EXIT_OK;
	}
	if (argc != 2)
		return tool_usage(name_usage, "expected one ADDRESS");
	if (sipdance_clientid_user_name(argv[1], name, sizeof(name), &why))
		return tool_error("%s: %s", argv[1], why);
	puts(name);
	return EXIT_OK;
}

/* owner - the owner name for usage @u: the user's name, or *._user.<domain> */
static int owner(const char *address, long u, char *out, size_t size)
{
	char probe[SIPDANCE_CLIENTID_MAX + 1], addr[SIPDANCE_CLIENTID_MAX + 3];
	const char *why = "invalid address", *domain;

	if (u == 3 || strchr(address, '@')) {
		if (sipdance_clientid_user_name(address, probe, sizeof(probe), &why))
			return tool_error("%s: %s", address, why);
		if (u == 3) {
			snprintf(out, size, "%s.", probe);
			return 0;
		}
	} else {
		/* a bare domain: the name of a user "x" of it checks the syntax */
		snprintf(addr, sizeof(addr), "x@%s", address);
		if (sipdance_clientid_user_name(addr, probe, sizeof(probe), &why))
			return tool_error("%s: %s", address, why);
	}
	sipdance_clientid_check(probe, NULL, &domain, NULL);
	snprintf(out, size, "*._user.%s.", domain);
	return 0;
}

/* cmd_user_tlsa - print the zone-file line of a user's or user CA's record */
int cmd_user_tlsa(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "usage", required_argument, NULL, 'u' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char name[SIPDANCE_CLIENTID_MAX + 16], rdata[80];
	struct sipdance_tlsa *t;
	STACK_OF(X509) *chain;
	X509 *cert;
	long u = 3;
	int c, err;

	while ((c = getopt_long(argc, argv, "u:h", opts, NULL)) != -1) {
		switch (c) {
		case 'u': u = tool_number(optarg, 3); break;
		case 'h': fputs(tlsa_usage, stdout); return EXIT_OK;
		default: fputs(tlsa_usage, stderr); return EXIT_INPUT;
		}
	}
	if (u != 2 && u != 3)
		return tool_error("-u takes 3 (the user's key) or 2 (the domain's user CA)");
	if (optind != argc - 2)
		return tool_usage(tlsa_usage, "expected CERT.pem and ADDRESS");
	if (owner(argv[optind + 1], u, name, sizeof(name)))
		return EXIT_INPUT;
	if (!(chain = tool_read_chain(argv[optind])))
		return EXIT_INPUT;
	cert = sk_X509_value(chain, 0);
	if (u == 2 && X509_check_ca(cert) <= 0) {
		sk_X509_pop_free(chain, X509_free);
		return tool_error("%s: not a CA certificate (-u 2 publishes the user CA)", argv[optind]);
	}
	err = sipdance_tlsa_create(&t, cert, (uint8_t)u, SIPDANCE_SEL_SPKI, SIPDANCE_MT_SHA256);
	sk_X509_pop_free(chain, X509_free);
	if (err)
		return tool_error("cannot create record: %s", strerror(err));
	sipdance_tlsa_format(t, rdata, sizeof(rdata));
	sipdance_tlsa_free(t);
	printf("%s IN TLSA %s\n", name, rdata);
	return EXIT_OK;
}

static const char digest_usage[] =
	"usage: sipdance user-digest USER REALM [NUMBERS] < PASSWORD\n"
	"  Print the sipdance-proxy --users line of USER in REALM (the proxy's --domain):\n"
	"  USER:REALM:HA1-MD5:HA1-SHA-256[:NUMBERS], the password read from the first line\n"
	"  of standard input (never from the command line). NUMBERS: the telephone numbers\n"
	"  the user may call from (STIR attestation A), comma-separated: 12025551000, a\n"
	"  prefix 1202555*, or * for every number of --stir-orig-range. Leave the MD5 field\n"
	"  empty (edit the line) to refuse MD5 for this user.\n";

/* cmd_user_digest - one users-file line, the password from stdin */
int cmd_user_digest(int argc, char **argv)
{
	char pw[1024], line[2048];
	const char *why = "";
	size_t n;
	int rc;

	if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		fputs(digest_usage, stdout);
		return EXIT_OK;
	}
	if (argc < 3 || argc > 4) {
		fputs(digest_usage, stderr);
		return EXIT_INPUT;
	}
	if (!fgets(pw, sizeof(pw), stdin))
		return tool_error("no password on standard input");
	n = strcspn(pw, "\r\n");
	if (pw[n] == '\0' && n == sizeof(pw) - 1) {
		OPENSSL_cleanse(pw, sizeof(pw));
		return tool_error("password longer than %zu bytes", sizeof(pw) - 2);
	}
	pw[n] = '\0';
	if (n == 0)
		return tool_error("empty password");
	rc = px_users_line(line, sizeof(line), argv[1], argv[2], pw, argc == 4 ? argv[3] : NULL, &why);
	OPENSSL_cleanse(pw, sizeof(pw));
	if (rc)
		return tool_error("%s", why);
	puts(line);
	OPENSSL_cleanse(line, sizeof(line));
	return EXIT_OK;
}
