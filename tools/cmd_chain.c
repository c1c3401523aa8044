/* SPDX-License-Identifier: BSD-2-Clause */
/* cmd_chain.c - `sipdance chain build|verify`: RFC 9102 DNSSEC chains. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sipdance.h>
#include <sipdance/chain.h>
#include "tool.h"

static const char build_usage[] =
	"usage: sipdance chain build --trust-anchor F --resolver ADDR[@PORT] [--port P]\n"
	"                            [--lifetime H] --out FILE HOST\n"
	"       sipdance chain build --trust-anchor F --resolver ADDR[@PORT] --name OWNER\n"
	"                            --out FILE\n"
	"  Fetch the DNSSEC chain of the TLSA RRset at _P._tcp.HOST (default port 5061),\n"
	"  or at OWNER (a DANCE client's own name, e.g. <hash>._user.a.example, whose\n"
	"  chain it ships: docs/client-chain.md), or its signed denial, check it, and\n"
	"  write the RFC 9102 extension_data (2-octet lifetime in hours, default 0,\n"
	"  then the chain) to FILE.\n";

static const char verify_usage[] =
	"usage: sipdance chain verify --trust-anchor F [--at UNIXTIME] [--bare] --name OWNER FILE\n"
	"  Validate a chain offline for TLSA owner OWNER (e.g. _5061._tcp.sip.a.example).\n"
	"  Exit 0 and the validated TLSA records (\"U S M hex\" per line; none for a\n"
	"  validated denial, with \"no TLSA\" on stderr); exit 1 and the reason when it\n"
	"  does not validate; exit 2 on unreadable input. --bare: FILE holds the chain\n"
	"  without the lifetime prefix.\n";

/* build - fetch and write the extension_data */
static int build(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "trust-anchor", required_argument, NULL, 't' },
		{ "resolver", required_argument, NULL, 'r' },
		{ "port", required_argument, NULL, 'p' },
		{ "lifetime", required_argument, NULL, 'l' },
		{ "out", required_argument, NULL, 'o' },
		{ "name", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *ta_file = NULL, *resolver = NULL, *out = NULL, *owner = NULL, *why = "unknown error";
	struct sipdance_anchor *ta = NULL;
	char name[300];
	long port = 5061, lifetime = 0;
	uint8_t *chain = NULL, *ext = NULL;
	size_t len, ext_len;
	FILE *f;
	int c, err, rc = EXIT_INPUT;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 't': ta_file = optarg; break;
		case 'r': resolver = optarg; break;
		case 'p': port = tool_number(optarg, 65535); break;
		case 'l': lifetime = tool_number(optarg, 65535); break;
		case 'o': out = optarg; break;
		case 'n': owner = optarg; break;
		case 'h': fputs(build_usage, stdout); return EXIT_OK;
		default: fputs(build_usage, stderr); return EXIT_INPUT;
		}
	}
	if (port <= 0)
		return tool_error("--port takes a port 1-65535");
	if (lifetime < 0)
		return tool_error("--lifetime takes hours 0-65535");
	if (!ta_file || !resolver || !out)
		return tool_usage(build_usage, "--%s is required",
				  !ta_file ? "trust-anchor" : !resolver ? "resolver" : "out");
	if (optind != argc - !owner)
		return tool_usage(build_usage, owner ? "--name takes no HOST" : "expected one HOST");
	if (owner)
		snprintf(name, sizeof(name), "%s", owner);
	else
		snprintf(name, sizeof(name), "_%ld._tcp.%s", port, argv[optind]);
	if (sipdance_anchor_load(&ta, ta_file, &why))
		return tool_error("%s: %s", ta_file, why);
	if ((err = sipdance_chain_fetch_owner(resolver, ta, name, 0, &chain, &len, &why))) {
		tool_error("cannot build the chain for %s: %s", name, why);
		goto done;
	}
	if ((err = sipdance_chain_ext_encode((uint16_t)lifetime, chain, len, &ext, &ext_len))) {
		tool_error("cannot encode the extension: %s", strerror(err));
		goto done;
	}
	if (!(f = fopen(out, "wb"))) {
		tool_error("%s: %s", out, strerror(errno));
		goto done;
	}
	if (fwrite(ext, 1, ext_len, f) != ext_len || fclose(f)) {
		tool_error("%s: write failed", out);
		goto done;
	}
	printf("%s: %zu octets (lifetime %ld h, chain %zu octets)\n", out, ext_len, lifetime, len);
	rc = EXIT_OK;
done:
	sipdance_anchor_free(ta);
	free(chain);
	free(ext);
	return rc;
}

/* read_all - a whole file of at most @max octets; NULL after a message */
static uint8_t *read_all(const char *path, size_t max, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *b;

	if (!f) {
		tool_error("%s: %s", path, strerror(errno));
		return NULL;
	}
	if ((b = malloc(max + 1)))
		*len = fread(b, 1, max + 1, f);
	if (!b || ferror(f)) {
		tool_error("%s: cannot read", path);
		free(b);
		b = NULL;
	} else if (*len > max) {
		tool_error("%s: larger than %zu octets", path, max);
		free(b);
		b = NULL;
	}
	fclose(f);
	return b;
}

/* verify - validate a chain file offline */
static int verify(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "trust-anchor", required_argument, NULL, 't' },
		{ "at", required_argument, NULL, 'T' },
		{ "bare", no_argument, NULL, 'b' },
		{ "name", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *ta_file = NULL, *name = NULL, *why = "unknown error";
	struct sipdance_anchor *ta = NULL;
	struct sipdance_chain_result r = { 0 };
	const uint8_t *chain;
	uint8_t *buf = NULL;
	size_t len = 0, chain_len;
	uint16_t lifetime = 0;
	int c, bare = 0, rc = EXIT_INPUT, err;
	long at = 0;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 't': ta_file = optarg; break;
		case 'T':
			if ((at = tool_number(optarg, 1L << 40)) < 0)
				return tool_error("--at takes a Unix time in seconds");
			break;
		case 'b': bare = 1; break;
		case 'n': name = optarg; break;
		case 'h': fputs(verify_usage, stdout); return EXIT_OK;
		default: fputs(verify_usage, stderr); return EXIT_INPUT;
		}
	}
	if (!ta_file || !name)
		return tool_usage(verify_usage, "--%s is required", !ta_file ? "trust-anchor" : "name");
	if (optind != argc - 1)
		return tool_usage(verify_usage, "expected one FILE");
	if (sipdance_anchor_load(&ta, ta_file, &why))
		return tool_error("%s: %s", ta_file, why);
	if (!(buf = read_all(argv[optind], SIPDANCE_CHAIN_MAX + 2, &len)))
		goto out;
	chain = buf;
	chain_len = len;
	if (!bare && sipdance_chain_ext_decode(buf, len, &lifetime, &chain, &chain_len, &why)) {
		tool_error("%s: %s", argv[optind], why);
		goto out;
	}
	if ((err = sipdance_chain_validate(ta, chain, chain_len, name, (time_t)at, &r))) {
		tool_error("%s", err == EINVAL ? "--name is not a valid DNS name" : strerror(err));
		goto out;
	}
	if (!r.secure) {
		printf("BOGUS: %s\n", r.why);
		rc = EXIT_NO;
		goto out;
	}
	if (r.insecure) {
		fprintf(stderr, "no TLSA: unsigned zone: %s\n", r.why);
	} else if (r.denial) {
		fprintf(stderr, "no TLSA: validated denial at %s\n", r.name);
	} else {
		for (size_t i = 0; i < sipdance_tlsa_set_count(r.tlsa); i++) {
			const struct sipdance_tlsa *t = sipdance_tlsa_set_get(r.tlsa, i);
			size_t n = sipdance_tlsa_format(t, NULL, 0) + 1;
			char *text = malloc(n);

			if (!text)
				goto out;
			sipdance_tlsa_format(t, text, n);
			puts(text);
			free(text);
		}
	}
	rc = EXIT_OK;
out:
	sipdance_chain_result_clear(&r);
	sipdance_anchor_free(ta);
	free(buf);
	return rc;
}

/* cmd_chain - dispatch `sipdance chain <verb>` */
int cmd_chain(int argc, char **argv)
{
	static const struct tool_cmd verbs[] = {
		{ "build", build, build_usage },
		{ "verify", verify, verify_usage },
	};

	return tool_dispatch(verbs, sizeof(verbs) / sizeof(verbs[0]), argc, argv, NULL);
}
