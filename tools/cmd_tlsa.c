/* SPDX-License-Identifier: BSD-2-Clause */
/* cmd_tlsa.c - `sipdance tlsa create|verify`. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sipdance.h>
#include "tool.h"

static const char create_usage[] =
	"usage: sipdance tlsa create [-u USAGE] [-s SELECTOR] [-m MTYPE] [--depth N] CERTS.pem\n"
	"  Print the TLSA record \"U S M hex\" for a certificate (default 3 1 1).\n"
	"  --depth N picks certificate N of the file (0 = first).\n";

static const char verify_usage[] =
	"usage: sipdance tlsa verify (--tlsa \"U S M HEX\" [--tlsa ...] | --tlsa-file FILE)\n"
	"                            --chain CHAIN.pem [--name REFID]... [--ca-file CAS.pem]\n"
	"                            [--at UNIXTIME]\n"
	"  Exit 0 and \"MATCH usage=U selector=S mtype=M depth=D\" when the chain is\n"
	"  authenticated; exit 1 and \"NOMATCH: reason\" or \"UNUSABLE: reason\" when not;\n"
	"  exit 2 on bad input. --tlsa-file: one record per line, '#' comments.\n"
	"  --name: reference identifier (SIP domain, RFC 5922), needed by usages 0-2.\n";

/* create - print the record for one certificate of a file */
static int create(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "usage", required_argument, NULL, 'u' },
		{ "selector", required_argument, NULL, 's' },
		{ "mtype", required_argument, NULL, 'm' },
		{ "depth", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	long f[3] = { 3, 1, 1 }, depth = 0;
	struct sipdance_tlsa *t;
	STACK_OF(X509) *chain;
	char *text;
	size_t len;
	int c, n, err;

	while ((c = getopt_long(argc, argv, "u:s:m:h", opts, NULL)) != -1) {
		switch (c) {
		case 'u': f[0] = tool_number(optarg, 3); break;
		case 's': f[1] = tool_number(optarg, 1); break;
		case 'm': f[2] = tool_number(optarg, 2); break;
		case 'd': depth = tool_number(optarg, 1000); break;
		case 'h': fputs(create_usage, stdout); return EXIT_OK;
		default: fputs(create_usage, stderr); return EXIT_INPUT;
		}
	}
	if (f[0] < 0 || f[1] < 0 || f[2] < 0)
		return tool_error("usage must be 0-3, selector 0-1, matching type 0-2");
	if (depth < 0)
		return tool_error("--depth takes a certificate index (0 = first)");
	if (optind != argc - 1)
		return tool_usage(create_usage, "expected one CERTS.pem");
	if (!(chain = tool_read_chain(argv[optind])))
		return EXIT_INPUT;
	if (depth >= (n = sk_X509_num(chain))) {
		sk_X509_pop_free(chain, X509_free);
		return tool_error("%s holds %d certificate(s), no depth %ld", argv[optind], n, depth);
	}
	err = sipdance_tlsa_create(&t, sk_X509_value(chain, (int)depth), (uint8_t)f[0],
				   (uint8_t)f[1], (uint8_t)f[2]);
	sk_X509_pop_free(chain, X509_free);
	if (err)
		return tool_error("cannot create record: %s", strerror(err));
	len = sipdance_tlsa_format(t, NULL, 0) + 1;
	if ((text = malloc(len))) {
		sipdance_tlsa_format(t, text, len);
		puts(text);
	}
	free(text);
	sipdance_tlsa_free(t);
	return text ? EXIT_OK : EXIT_INPUT;
}

/* add_record - parse one record into the set; 0 or EXIT_INPUT after a message */
static int add_record(struct sipdance_tlsa_set *set, const char *text, const char *where)
{
	struct sipdance_tlsa *t;
	const char *why = "unknown error";

	if (sipdance_tlsa_parse(&t, text, &why))
		return tool_error("%s: malformed TLSA record: %s", where, why);
	if (sipdance_tlsa_set_add(set, t))
		return tool_error("out of memory");
	return 0;
}

/* read_tlsa_file - one record per line, blank lines and '#' comments skipped */
static int read_tlsa_file(struct sipdance_tlsa_set *set, const char *path)
{
	char *line = NULL, where[512];
	size_t cap = 0;
	unsigned lineno = 0;
	int err = 0;
	FILE *f = fopen(path, "r");

	if (!f)
		return tool_error("%s: cannot open", path);
	while (!err && getline(&line, &cap, f) != -1) {
		char *hash = strchr(line, '#'), *p = line;

		lineno++;
		if (hash)
			*hash = '\0';
		p += strspn(p, " \t\r\n");
		if (!*p)
			continue;
		snprintf(where, sizeof(where), "%s:%u", path, lineno);
		err = add_record(set, p, where);
	}
	free(line);
	fclose(f);
	return err;
}

/* verify - chain against records, verdict line and exit code */
static int verify(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "tlsa", required_argument, NULL, 't' },
		{ "tlsa-file", required_argument, NULL, 'f' },
		{ "chain", required_argument, NULL, 'c' },
		{ "name", required_argument, NULL, 'n' },
		{ "ca-file", required_argument, NULL, 'a' },
		{ "at", required_argument, NULL, 'T' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct sipdance_dane_params p = { 0 };
	struct sipdance_tlsa_set *set = NULL;
	struct sipdance_dane *d = NULL;
	struct sipdance_verdict v;
	STACK_OF(X509) *chain = NULL;
	const char *chain_file = NULL, *ca_file = NULL, **names;
	int c, rc = EXIT_INPUT, have_inline = 0, have_file = 0, err;
	long at;

	names = calloc((size_t)argc, sizeof(*names));
	if (!names || sipdance_tlsa_set_alloc(&set))
		goto out;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 't':
			have_inline = 1;
			if (add_record(set, optarg, "--tlsa"))
				goto out;
			break;
		case 'f':
			have_file = 1;
			if (read_tlsa_file(set, optarg))
				goto out;
			break;
		case 'c': chain_file = optarg; break;
		case 'n': names[p.nnames++] = optarg; break;
		case 'a': ca_file = optarg; break;
		case 'T':
			if ((at = tool_number(optarg, 1L << 40)) < 0) {
				tool_error("--at takes a Unix time in seconds");
				goto out;
			}
			p.at = (time_t)at;
			break;
		case 'h': fputs(verify_usage, stdout); rc = EXIT_OK; goto out;
		default: fputs(verify_usage, stderr); goto out;
		}
	}
	if (have_inline == have_file || !chain_file || optind != argc) {
		tool_usage(verify_usage, have_inline == have_file ? "give --tlsa or --tlsa-file"
			   : !chain_file ? "--chain is required" : "unexpected argument '%s'",
			   argv[optind]);
		goto out;
	}
	p.names = names;
	if (!(chain = tool_read_chain(chain_file)))
		goto out;
	if ((err = sipdance_dane_alloc(&d, ca_file))) {
		tool_error("%s: %s", ca_file, err == ENOENT ? "cannot read CA file"
							     : "no usable PEM certificate in CA file");
		goto out;
	}
	if ((err = sipdance_dane_verify(d, set, chain, &p, &v))) {
		tool_error("verification failed: %s", strerror(err));
		goto out;
	}
	if (v.result == SIPDANCE_MATCH) {
		printf("MATCH usage=%d selector=%d mtype=%d depth=%d\n", v.usage, v.selector,
		       v.mtype, v.depth);
		rc = EXIT_OK;
	} else {
		printf("%s: %s\n", sipdance_result_str(v.result), v.reason);
		rc = EXIT_NO;
	}
out:
	sipdance_dane_free(d);
	sk_X509_pop_free(chain, X509_free);
	sipdance_tlsa_set_free(set);
	free(names);
	return rc;
}

/* cmd_tlsa - dispatch `sipdance tlsa <verb>` */
int cmd_tlsa(int argc, char **argv)
{
	static const struct tool_cmd verbs[] = {
		{ "create", create, create_usage },
		{ "verify", verify, verify_usage },
	};

	return tool_dispatch(verbs, sizeof(verbs) / sizeof(verbs[0]), argc, argv, NULL);
}
