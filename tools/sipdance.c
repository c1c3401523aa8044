/* SPDX-License-Identifier: BSD-2-Clause */
/* sipdance.c - the `sipdance` command: one subcommand per capability. */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include "tool.h"

static const struct tool_cmd cmds[] = {
	{ "tlsa", cmd_tlsa, "create TLSA records, verify a certificate chain against them" },
	{ "passport", cmd_passport, "sign and verify STIR/SHAKEN PASSporTs (SIP Identity header values)" },
	{ "check", cmd_check, "locate a SIP domain's servers with DNSSEC, show the DANE decision" },
	{ "user-name", cmd_user_name, "the DANE client name (TLSA owner) of a user address" },
	{ "user-tlsa", cmd_user_tlsa, "the TLSA record a user (or a user CA) publishes" },
	{ "user-digest", cmd_user_digest, "a sipdance-proxy --users line (Digest HA1s) for a user" },
	{ "chain", cmd_chain, "build and verify RFC 9102 DNSSEC chains (TLS extension 59)" },
};

const char *tool_name = "sipdance";

/* top_help - the top-level help */
static void top_help(FILE *f)
{
	fprintf(f, "usage: sipdance <command> [options]\n"
		   "       sipdance <command> --help\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		fprintf(f, "  %-10s %s\n", cmds[i].name, cmds[i].summary);
	fprintf(f, "\nexit status: 0 success or authenticated, 1 not authenticated, 2 bad input\n");
}

/* list_help - @help, or else the usage texts of every entry */
static void list_help(const struct tool_cmd *list, size_t n, void (*help)(FILE *f), FILE *f)
{
	if (help)
		help(f);
	for (size_t i = 0; !help && i < n; i++)
		fprintf(f, "%s%s", i ? "\n" : "", list[i].summary);
}

/* tool_dispatch - run the entry named argv[1], under its full name */
int tool_dispatch(const struct tool_cmd *list, size_t n, int argc, char **argv,
		  void (*help)(FILE *f))
{
	static char name[128]; /* "sipdance passport verify": the longest is far shorter */
	char parent[48];
	size_t i;

	snprintf(parent, sizeof(parent), "%s", argv[0]);
	tool_name = argv[0];
	if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		list_help(list, n, help, stdout);
		return EXIT_OK;
	}
	for (i = 0; argc >= 2 && i < n && strcmp(argv[1], list[i].name); i++)
		;
	if (argc < 2 || i == n) {
		const char *what = strchr(parent, ' ') ? "sub-command" : "command";

		if (argc < 2)
			tool_error("missing %s", what);
		else
			tool_error("unknown %s '%s'", what, argv[1]);
		list_help(list, n, help, stderr);
		return EXIT_INPUT;
	}
	snprintf(name, sizeof(name), "%s %s", parent, list[i].name);
	argv[1] = name;
	tool_name = name;
	return list[i].run(argc - 1, argv + 1);
}

/* tool_usage - a bad-input message, then the usage text */
int tool_usage(const char *usage, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", tool_name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n%s", usage);
	return EXIT_INPUT;
}

/* tool_error - message to stderr, bad-input exit code */
int tool_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", tool_name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return EXIT_INPUT;
}

/* tool_read_chain - all certificates of a PEM file */
STACK_OF(X509) *tool_read_chain(const char *path)
{
	STACK_OF(X509) *chain;
	X509 *x;
	FILE *f = fopen(path, "r");

	if (!f) {
		tool_error("%s: %s", path, strerror(errno));
		return NULL;
	}
	chain = sk_X509_new_null();
	while (chain && (x = PEM_read_X509(f, NULL, NULL, NULL)))
		if (!sk_X509_push(chain, x))
			X509_free(x);
	fclose(f);
	/* The loop ends on end-of-file (PEM_R_NO_START_LINE) or on a bad block. */
	if (ERR_GET_REASON(ERR_peek_last_error()) != PEM_R_NO_START_LINE ||
	    sk_X509_num(chain) == 0) {
		tool_error("%s: %s", path,
			   ERR_GET_REASON(ERR_peek_last_error()) == PEM_R_NO_START_LINE
			   ? "no PEM certificate" : "malformed PEM certificate");
		sk_X509_pop_free(chain, X509_free);
		chain = NULL;
	}
	ERR_clear_error();
	return chain;
}

/* tool_number - decimal in [0, max] or -1 */
long tool_number(const char *s, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < 0 || v > max)
		return -1;
	return v;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "--version")) {
		puts("sipdance " PACKAGE_VERSION);
		return EXIT_OK;
	}
	if (argc >= 2 && !strcmp(argv[1], "help"))
		argv[1] = "--help";
	argv[0] = "sipdance";
	return tool_dispatch(cmds, sizeof(cmds) / sizeof(cmds[0]), argc, argv, top_help);
}
