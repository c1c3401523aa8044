/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * stir-bench.c - PASSporT signs and verifications per second, one thread,
 * with a warm certificate cache: libsipdance next to libsecsipid (loaded
 * with dlopen, in this process, so no process start-up is counted). Usage:
 *   stir-bench DATADIR [SECONDS]     DATADIR = tests/data/stir
 * Prints one "name ops/s" line per measurement: operations per CPU second.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include <sipdance/stir.h>

#define X5U "https://cr.example.net/sti/ee-chain.pem"

static double secs = 2.0;

/* now_s - CPU seconds of this process (all its threads: libsecsipid's Go
 * runtime too), the divisor `openssl speed` uses as well (CPU time, not wall
 * time), so that other load on the machine does not count */
static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* run - call @fn until it has used @secs of CPU; operations per CPU second, -1 on failure */
static double run(int (*fn)(void *), void *arg)
{
	double t0 = now_s(), t;
	long n = 0;

	do {
		for (int i = 0; i < 16; i++, n++)
			if (fn(arg))
				return -1;
	} while ((t = now_s()) - t0 < secs);
	return (double)n / (t - t0);
}

/* State of our side. */
struct ours {
	struct sipdance_stir_signer *signer;
	struct sipdance_stir *verifier;
	struct sipdance_x5u *x5u;
	struct sipdance_passport pp;
	struct sipdance_stir_request req;
	const char *ids[1];
	char id[8192];
};

/* our_sign - one Identity value */
static int our_sign(void *arg)
{
	struct ours *o = arg;
	char out[8192];

	return sipdance_stir_sign(o->signer, &o->pp, out, sizeof(out), NULL);
}

/* our_verify - one full verification through the (warm) x5u cache */
static int our_verify(void *arg)
{
	struct ours *o = arg;
	struct sipdance_stir_verdict v;

	return sipdance_stir_verify_sync(o->verifier, o->x5u, &o->req, &v, NULL) || v.sip_status;
}

/* libsecsipid's C API, resolved at run time. */
struct theirs {
	int (*sign)(char *, char *, char *, char **);
	int (*check)(char *, int, int, char *, int);
	int (*cache)(char *, int);
	int (*opt)(char *);
	char hdr[256], payload[512], key[4096], cert[4200], id[8192];
	const char *keypath;
};

/* their_sign - SecSIPIDSignJSONHP */
static int their_sign(void *arg)
{
	struct theirs *t = arg;
	char *out = NULL;
	int r = t->sign(t->hdr, t->payload, t->key, &out);

	free(out);
	return r <= 0;
}

/* their_check - SecSIPIDCheckFull, key from the cache directory or a file */
static int their_check(void *arg)
{
	struct theirs *t = arg;

	return t->check(t->id, (int)strlen(t->id), 3600, t->cert, 5) < 0;
}

/* print - one result line */
static void print(const char *name, double ops)
{
	if (ops < 0)
		printf("%-44s FAILED\n", name);
	else
		printf("%-44s %10.0f ops/s\n", name, ops);
	fflush(stdout);
}

int main(int argc, char **argv)
{
	char path[4096], root[4096], key[4096], cachedir[] = "/tmp/stir-bench-XXXXXX", cfile[4200];
	struct sipdance_stir_signer_conf sc = { .size = sizeof(sc), .key_file = key, .x5u = X5U };
	struct sipdance_stir_conf vc = { .size = sizeof(vc), .ca_file = root, .max_age = 3600 };
	struct sipdance_x5u_conf xc = { .size = sizeof(xc), .cache_only = 1 };
	struct ours o = { .pp = { .orig = "12025551000", .dest = { "12025552000" }, .ndest = 1,
				  .attest = "A" } };
	struct theirs t = { 0 };
	STACK_OF(X509) *chain = sk_X509_new_null();
	X509 *x;
	FILE *f;
	void *lib;

	if (argc < 2) {
		fprintf(stderr, "usage: stir-bench DATADIR [SECONDS]\n");
		return 2;
	}
	if (argc > 2)
		secs = atof(argv[2]);
	snprintf(key, sizeof(key), "%s/ee.key", argv[1]);
	snprintf(root, sizeof(root), "%s/root.pem", argv[1]);
	snprintf(path, sizeof(path), "%s/ee-chain.pem", argv[1]);
	if (!(f = fopen(path, "r")))
		return perror(path), 2;
	while ((x = PEM_read_X509(f, NULL, NULL, NULL)))
		sk_X509_push(chain, x);
	fclose(f);
	ERR_clear_error();
	if (sipdance_stir_signer_alloc(&o.signer, &sc, NULL) || sipdance_stir_alloc(&o.verifier, &vc) ||
	    sipdance_x5u_alloc(&o.x5u, &xc) || sipdance_x5u_put(o.x5u, X5U, chain, 0))
		return fprintf(stderr, "cannot set up libsipdance\n"), 1;
	o.pp.iat = (long long)time(NULL);
	strcpy(o.pp.origid, "123e4567-e89b-12d3-a456-426614174000");
	if (sipdance_stir_sign(o.signer, &o.pp, o.id, sizeof(o.id), NULL))
		return fprintf(stderr, "cannot sign\n"), 1;
	o.ids[0] = o.id;
	o.req = (struct sipdance_stir_request){ .identity = o.ids, .nidentity = 1,
						.orig = "12025551000", .dest = "12025552000" };
	print("libsipdance sign (ES256, deterministic JSON)", run(our_sign, &o));
	print("libsipdance verify (x5u cache, STI-CA chain)", run(our_verify, &o));

	lib = dlopen("libsecsipid.so.1", RTLD_NOW);
	if (!lib || !(t.sign = (int (*)(char *, char *, char *, char **))dlsym(lib, "SecSIPIDSignJSONHP")) ||
	    !(t.check = (int (*)(char *, int, int, char *, int))dlsym(lib, "SecSIPIDCheckFull")) ||
	    !(t.cache = (int (*)(char *, int))dlsym(lib, "SecSIPIDSetFileCacheOptions")) ||
	    !(t.opt = (int (*)(char *))dlsym(lib, "SecSIPIDOptSetV"))) {
		printf("libsecsipid: not available (apt-get install libsecsipid-dev)\n");
	} else {
		snprintf(t.hdr, sizeof(t.hdr), "{\"alg\":\"ES256\",\"ppt\":\"shaken\",\"typ\":\"passport\",\"x5u\":\"%s\"}", X5U);
		snprintf(t.payload, sizeof(t.payload), "{\"attest\":\"A\",\"dest\":{\"tn\":[\"12025552000\"]},\"iat\":%lld,"
			 "\"orig\":{\"tn\":\"12025551000\"},\"origid\":\"123e4567-e89b-12d3-a456-426614174000\"}",
			 o.pp.iat);
		strcpy(t.key, key);
		print("libsecsipid sign (SecSIPIDSignJSONHP)", run(their_sign, &t));
		/* warm x5u cache: secsipid's file cache holds the chain under its URL name */
		if (mkdtemp(cachedir)) {
			snprintf(cfile, sizeof(cfile), "%s/https_cr.example.net_sti_ee-chain.pem", cachedir);
			if ((f = fopen(cfile, "w"))) {
				for (int i = 0; i < sk_X509_num(chain); i++)
					PEM_write_X509(f, sk_X509_value(chain, i));
				fclose(f);
			}
			t.cache(cachedir, 3600);
			strcpy(t.id, o.id);
			t.cert[0] = '\0';
			print("libsecsipid verify (x5u cache, no chain check)", run(their_check, &t));
			snprintf(t.cert, sizeof(t.cert), "CertCAFile=%s", root);
			t.opt(t.cert);
			t.opt("CertVerify=5");
			t.cert[0] = '\0';
			print("libsecsipid verify (x5u cache, STI-CA chain)", run(their_check, &t));
			remove(cfile);
			remove(cachedir);
		}
	}
	sk_X509_pop_free(chain, X509_free);
	sipdance_x5u_free(o.x5u);
	sipdance_stir_free(o.verifier);
	sipdance_stir_signer_free(o.signer);
	return 0;
}
