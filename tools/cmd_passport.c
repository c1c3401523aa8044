/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cmd_passport.c - `sipdance passport sign|verify`: STIR/SHAKEN PASSporTs
 * in SIP Identity header values, with certificates from a file or from x5u
 * (a directory of chains named as secsipid names them, filled by fetching).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <openssl/pem.h>

#include <sipdance.h>
#include "tool.h"

static const char sign_usage[] =
	"usage: sipdance passport sign --key KEY.pem --x5u URL --orig TN --dest TN[,TN...]\n"
	"                              [--attest A|B|C] [--origid UUID] [--iat UNIXTIME]\n"
	"                              [--mky \"sha-256 AB:CD:...\"]... [--div TN]\n"
	"  Print the Identity header value <jws>;info=<URL>;alg=ES256;ppt=shaken\n"
	"  (attest defaults to C; --div TN makes a ppt=div PASSporT, RFC 8946).\n";

static const char verify_usage[] =
	"usage: sipdance passport verify (--cert CERT.pem | --x5u-cache DIR) --ca-file ROOTS.pem\n"
	"                                [--at UNIXTIME] [--max-age S] [--max-skew S]\n"
	"                                [--orig TN] [--dest TN] [--fingerprint \"sha-256 AB:..\"]...\n"
	"                                [--date UNIXTIME] [--require-mky] [--no-fetch]\n"
	"                                [--timeout MS] [--x5u-tls-ca FILE] [--x5u-allow-private]\n"
	"                                [--x5u-allow-any-port] [--x5u-allow-http]\n"
	"                                IDENTITY_VALUE...\n"
	"  Exit 0 and the decoded PASSporT as JSON when valid; exit 1 and\n"
	"  status=<code> reason=\"<text>\" (RFC 8224 response) when not; exit 2 on bad input.\n"
	"  --x5u-cache DIR: chains in DIR/<URL with \"://\" and \"/\" turned into \"_\">;\n"
	"  missing ones are fetched (HTTPS, 443/8443, public addresses unless allowed) and stored.\n";

/* add_dest - split "TN[,TN...]" into canonical dest.tn entries */
static int add_dest(struct sipdance_passport *pp, const char *list)
{
	char *copy = strdup(list), *save = NULL;
	const char *why;
	int rc = 0;

	if (!copy)
		return tool_error("out of memory");
	for (char *t = strtok_r(copy, ",", &save); t && !rc; t = strtok_r(NULL, ",", &save)) {
		if (pp->ndest == SIPDANCE_PASSPORT_MAX_DEST)
			rc = tool_error("--dest: at most %d numbers", SIPDANCE_PASSPORT_MAX_DEST);
		else if (sipdance_passport_tn(t, pp->dest[pp->ndest++], &why))
			rc = tool_error("--dest %s: %s", t, why);
	}
	free(copy);
	return rc;
}

/* sign - build, sign, print one Identity value */
static int sign(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "key", required_argument, NULL, 'k' },
		{ "x5u", required_argument, NULL, 'x' },
		{ "orig", required_argument, NULL, 'o' },
		{ "dest", required_argument, NULL, 'd' },
		{ "attest", required_argument, NULL, 'a' },
		{ "origid", required_argument, NULL, 'i' },
		{ "iat", required_argument, NULL, 't' },
		{ "mky", required_argument, NULL, 'm' },
		{ "div", required_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct sipdance_stir_signer_conf conf = { .size = sizeof(conf) };
	struct sipdance_stir_signer *signer = NULL;
	struct sipdance_passport pp = { .attest = "C" };
	char out[SIPDANCE_PASSPORT_MAX_TOKEN + SIPDANCE_PASSPORT_MAX_URL + 64];
	const char *why = "";
	int c, err, have_orig = 0;
	long iat;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'k': conf.key_file = optarg; break;
		case 'x': conf.x5u = optarg; break;
		case 'o':
			if (sipdance_passport_tn(optarg, pp.orig, &why))
				return tool_error("--orig %s: %s", optarg, why);
			have_orig = 1;
			break;
		case 'd':
			if (add_dest(&pp, optarg))
				return EXIT_INPUT;
			break;
		case 'a':
			if (strlen(optarg) != 1 || !strchr("ABC", optarg[0]))
				return tool_error("--attest takes A, B or C");
			strcpy(pp.attest, optarg);
			break;
		case 'i':
			if (strlen(optarg) >= sizeof(pp.origid))
				return tool_error("--origid too long");
			strcpy(pp.origid, optarg);
			break;
		case 't':
			if ((iat = tool_number(optarg, 1L << 40)) <= 0)
				return tool_error("--iat takes a Unix time in seconds");
			pp.iat = iat;
			break;
		case 'm':
			if (pp.nmky == SIPDANCE_PASSPORT_MAX_MKY)
				return tool_error("--mky: at most %d", SIPDANCE_PASSPORT_MAX_MKY);
			if (sipdance_passport_mky_parse(optarg, &pp.mky[pp.nmky++], &why))
				return tool_error("--mky: %s", why);
			break;
		case 'v':
			if (sipdance_passport_tn(optarg, pp.div, &why))
				return tool_error("--div %s: %s", optarg, why);
			strcpy(pp.ppt, "div");
			pp.attest[0] = '\0';
			break;
		case 'h': fputs(sign_usage, stdout); return EXIT_OK;
		default: fputs(sign_usage, stderr); return EXIT_INPUT;
		}
	}
	if (!conf.key_file || !conf.x5u || !have_orig || !pp.ndest)
		return tool_usage(sign_usage, "--%s is required", !conf.key_file ? "key"
				  : !conf.x5u ? "x5u" : !have_orig ? "orig" : "dest");
	if (optind != argc)
		return tool_usage(sign_usage, "unexpected argument '%s'", argv[optind]);
	if ((err = sipdance_stir_signer_alloc(&signer, &conf, &why)))
		return tool_error("%s: %s", err == ENOENT ? conf.key_file : "signer", why);
	err = sipdance_stir_sign(signer, &pp, out, sizeof(out), &why);
	sipdance_stir_signer_free(signer);
	if (err)
		return tool_error("cannot sign: %s", why);
	puts(out);
	return EXIT_OK;
}

/* cache_name - DIR/<url, "://" and "/" as "_"> (secsipid's naming); 0 or -1 if too long */
static int cache_name(const char *dir, const char *url, char *buf, size_t size)
{
	size_t n = (size_t)snprintf(buf, size, "%s/", dir);

	for (const char *p = url; *p; p++) {
		if (n + 2 >= size)
			return -1;
		if (!strncmp(p, "://", 3)) {
			buf[n++] = '_';
			p += 2;
		} else {
			buf[n++] = *p == '/' ? '_' : *p;
		}
	}
	buf[n] = '\0';
	return strlen(buf) - strlen(dir) > 255 ? -1 : 0;
}

/* store_chain - write a fetched chain into the cache directory (atomically) */
static void store_chain(const char *path, STACK_OF(X509) *chain)
{
	char tmp[4200];
	FILE *f;
	int ok = 1;

	snprintf(tmp, sizeof(tmp), "%s.tmp%ld", path, (long)getpid());
	if (!(f = fopen(tmp, "w")))
		return;
	for (int i = 0; i < sk_X509_num(chain); i++)
		ok &= PEM_write_X509(f, sk_X509_value(chain, i));
	if (fclose(f) || !ok || rename(tmp, path))
		unlink(tmp);
}

/* Options of verify. */
struct vopts {
	const char *cert, *cache, *ca_file;
	struct sipdance_x5u_conf xconf;
};

/* verify_cached - x5u through the cache directory, fetching what is missing */
static int verify_cached(struct sipdance_stir *s, const struct vopts *o,
			 const struct sipdance_stir_request *req, struct sipdance_stir_verdict *v,
			 struct sipdance_passport *pp)
{
	struct sipdance_x5u *x = NULL;
	struct sipdance_identity id;
	char path[4096];
	int err;

	if ((err = sipdance_x5u_alloc(&x, &o->xconf)))
		return tool_error("x5u fetcher: %s", err == EINVAL ? "cannot load --x5u-tls-ca"
								   : strerror(err));
	for (size_t i = 0; i < req->nidentity; i++) {
		STACK_OF(X509) *chain;

		if (sipdance_identity_parse(&id, req->identity[i], strlen(req->identity[i]), NULL) ||
		    cache_name(o->cache, id.info, path, sizeof(path)) || access(path, R_OK))
			continue;
		if (!(chain = tool_read_chain(path))) {
			sipdance_x5u_free(x);
			return EXIT_INPUT;
		}
		sipdance_x5u_put(x, id.info, chain, 0);
		sk_X509_pop_free(chain, X509_free);
	}
	err = sipdance_stir_verify_sync(s, x, req, v, pp);
	for (size_t i = 0; !err && i < req->nidentity; i++) {
		STACK_OF(X509) *chain;
		const char *why;

		if (sipdance_identity_parse(&id, req->identity[i], strlen(req->identity[i]), NULL) ||
		    cache_name(o->cache, id.info, path, sizeof(path)) || !access(path, F_OK) ||
		    sipdance_x5u_fetch_sync(x, id.info, &chain, &why))
			continue;
		store_chain(path, chain);
		sk_X509_pop_free(chain, X509_free);
	}
	sipdance_x5u_free(x);
	if (err)
		return tool_error("verification failed: %s", strerror(err));
	return 0;
}

/* print_verdict - JSON on MATCH, else status=<code> reason="<text>" */
static int print_verdict(const struct sipdance_stir_verdict *v, const struct sipdance_passport *pp)
{
	char *json;

	if (v->result == SIPDANCE_MATCH) {
		if (!(json = sipdance_passport_json(pp)))
			return tool_error("out of memory");
		puts(json);
		free(json);
		return EXIT_OK;
	}
	printf("status=%d reason=\"", v->sip_status);
	for (const char *p = v->reason; *p; p++)
		printf(*p == '"' || *p == '\\' ? "\\%c" : "%c", *p);
	printf("\"\n");
	return EXIT_NO;
}

/* seconds - a --max-age style option; -1 with a message if invalid */
static long seconds(const char *name, const char *arg, long max)
{
	long v = tool_number(arg, max);

	if (v < 0)
		tool_error("%s takes a number of seconds up to %ld", name, max);
	return v;
}

/* verify - one request's Identity values, verdict and exit code */
static int verify(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "cert", required_argument, NULL, 'c' },
		{ "x5u-cache", required_argument, NULL, 'C' },
		{ "ca-file", required_argument, NULL, 'a' },
		{ "at", required_argument, NULL, 'T' },
		{ "max-age", required_argument, NULL, 'M' },
		{ "max-skew", required_argument, NULL, 'S' },
		{ "orig", required_argument, NULL, 'o' },
		{ "dest", required_argument, NULL, 'd' },
		{ "fingerprint", required_argument, NULL, 'f' },
		{ "date", required_argument, NULL, 'D' },
		{ "require-mky", no_argument, NULL, 'R' },
		{ "no-fetch", no_argument, NULL, 'N' },
		{ "timeout", required_argument, NULL, 't' },
		{ "x5u-tls-ca", required_argument, NULL, 'L' },
		{ "x5u-allow-private", no_argument, NULL, 'P' },
		{ "x5u-allow-any-port", no_argument, NULL, 'A' },
		{ "x5u-allow-http", no_argument, NULL, 'H' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct sipdance_stir_conf conf = { .size = sizeof(conf) };
	struct sipdance_stir_request req = { 0 };
	struct sipdance_stir_verdict v;
	struct sipdance_passport pp;
	struct sipdance_stir *s = NULL;
	struct vopts o = { .xconf.size = sizeof(o.xconf) };
	STACK_OF(X509) *chain = NULL;
	const char **fps = calloc((size_t)argc + 1, sizeof(*fps));
	size_t nfps = 0;
	int c, rc = EXIT_INPUT, err;
	long n;

	if (!fps)
		return tool_error("out of memory");
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'c': o.cert = optarg; break;
		case 'C': o.cache = optarg; break;
		case 'a': o.ca_file = optarg; break;
		case 'o': req.orig = optarg; break;
		case 'd': req.dest = optarg; break;
		case 'f': fps[nfps++] = optarg; break;
		case 'R': conf.require_mky = 1; break;
		case 'N': o.xconf.cache_only = 1; break;
		case 'P': o.xconf.allow_private = 1; break;
		case 'A': o.xconf.allow_any_port = 1; break;
		case 'H': o.xconf.allow_http = 1; break;
		case 'L': o.xconf.tls_ca_file = optarg; break;
		case 'T':
		case 'D':
			if ((n = tool_number(optarg, 1L << 40)) <= 0) {
				tool_error("--%s takes a Unix time in seconds", c == 'T' ? "at" : "date");
				goto out;
			}
			*(c == 'T' ? &req.now : &req.date) = (time_t)n;
			break;
		case 'M':
		case 'S':
			if ((n = seconds(c == 'M' ? "--max-age" : "--max-skew", optarg, 1L << 30)) <= 0) {
				if (n == 0)
					tool_error("--max-age and --max-skew must be at least 1");
				goto out;
			}
			*(c == 'M' ? &conf.max_age : &conf.max_skew) = (unsigned)n;
			break;
		case 't':
			if ((n = tool_number(optarg, 600000)) <= 0) {
				tool_error("--timeout takes milliseconds (1-600000)");
				goto out;
			}
			o.xconf.timeout_ms = (unsigned)n;
			break;
		case 'h': fputs(verify_usage, stdout); rc = EXIT_OK; goto out;
		default: fputs(verify_usage, stderr); goto out;
		}
	}
	if (!o.cert == !o.cache) {
		tool_usage(verify_usage, "give one of --cert and --x5u-cache");
		goto out;
	}
	if (!o.ca_file) {
		tool_error("--ca-file (the STI-CA roots) is required");
		goto out;
	}
	if (optind == argc) {
		tool_usage(verify_usage, "expected at least one IDENTITY_VALUE");
		goto out;
	}
	conf.ca_file = o.ca_file;
	req.identity = (const char *const *)argv + optind;
	req.nidentity = (size_t)(argc - optind);
	req.fingerprints = fps;
	req.nfingerprints = nfps;
	if ((err = sipdance_stir_alloc(&s, &conf))) {
		tool_error("%s: %s", o.ca_file, err == ENOENT ? "cannot read CA file"
							 : "no usable PEM certificate in CA file");
		goto out;
	}
	if (o.cert) {
		if (!(chain = tool_read_chain(o.cert)))
			goto out;
		if ((err = sipdance_stir_check(s, &req, chain, &v, &pp))) {
			tool_error("verification failed: %s", strerror(err));
			goto out;
		}
	} else if (verify_cached(s, &o, &req, &v, &pp)) {
		goto out;
	}
	rc = print_verdict(&v, &pp);
out:
	sk_X509_pop_free(chain, X509_free);
	sipdance_stir_free(s);
	free(fps);
	return rc;
}

/* cmd_passport - dispatch `sipdance passport <verb>` */
int cmd_passport(int argc, char **argv)
{
	static const struct tool_cmd verbs[] = {
		{ "sign", sign, sign_usage },
		{ "verify", verify, verify_usage },
	};

	return tool_dispatch(verbs, sizeof(verbs) / sizeof(verbs[0]), argc, argv, NULL);
}
