/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * sip-hook-test.c - proves that the OpenSSL hook of sipdance-proxy reaches
 * sofia-sip's own TLS connections: two nta agents on loopback, an OPTIONS
 * over TLS whose handshake must pass a fixed TLSA set (DANE pass: 200, SNI
 * seen by the server, client chain kept) and one whose TLSA names another
 * key (DANE fail: refused inside the handshake, nothing delivered), plus an
 * outbound connection nobody expected (fails closed). A sofia-sip or
 * OpenSSL upgrade that bypasses the hook fails here instead of silently
 * skipping DANE. Prints "ok - ..." per check and "N passed, M failed".
 */
#include "../sip/proxy.h"
#include "../sip/certdir.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <openssl/pem.h>

#include <sipdance/dane.h>
#include <sipdance/tlsa.h>
#include <sofia-sip/sip.h>
#include <sofia-sip/sip_status.h>
#include <sofia-sip/sip_tag.h>
#include <sofia-sip/tport_tag.h>

struct px_proxy { int unused; }; /* su_root magic type of the sip/ files */

static int passed, failed;

const char *__lsan_default_suppressions(void) __attribute__((visibility("default")));
const char *__asan_default_options(void) __attribute__((visibility("default")));

/* __lsan_default_suppressions - LeakSanitizer (ASan builds): sofia-sip
 * 1.12.11 never calls SSL_free on its connections (tls_free() only shuts
 * them down), so each SSL and what hangs off it (our per-connection state
 * included) is leaked by the library, not by this code */
const char *__lsan_default_suppressions(void)
{
	return "leak:libsofia-sip-ua.so\n";
}

/* __asan_default_options - full allocation stacks, so that the suppression
 * above sees sofia-sip's frames below libssl and libcrypto */
const char *__asan_default_options(void)
{
	return "fast_unwind_on_malloc=0";
}

struct run {
	su_root_t *root;
	struct sipdance_dane *dane;
	struct sipdance_tlsa_set *tlsa;
	int status;     /* final status of the OPTIONS, 0 while none */
	int done;       /* hook verdict: -1 none yet, 0 refused, 1 authenticated */
	char reason[256];
	char tls[16];   /* the protocol the hook reported with its verdict */
	int delivered;  /* requests the server saw */
};

/* check - one numbered line */
static void check(int cond, const char *what)
{
	if (cond)
		passed++;
	else
		failed++;
	printf("%s - %s\n", cond ? "ok" : "FAIL", what);
}

/* verify_fixed - the expectation's verification: the fixed TLSA set */
static int verify_fixed(void *arg, STACK_OF(X509) *chain, struct sipdance_verdict *v)
{
	struct run *r = arg;

	return sipdance_dane_verify(r->dane, r->tlsa, chain, NULL, v);
}

/* done - the hook judged the handshake */
static void done(void *arg, int ok, const struct sipdance_verdict *v, const char *tls)
{
	struct run *r = arg;

	r->done = ok;
	snprintf(r->reason, sizeof(r->reason), "%s", v->reason);
	snprintf(r->tls, sizeof(r->tls), "%s", tls ? tls : "");
}

/* on_server_request - the server agent answers 200 to everything */
static int on_server_request(struct px_proxy *magic, nta_leg_t *leg, nta_incoming_t *irq,
			     const sip_t *sip)
{
	struct run **r = (struct run **)magic;

	(*r)->delivered++;
	return 200;
}

/* on_response - the client's OPTIONS got an answer */
static int on_response(void *arg, nta_outgoing_t *orq, const sip_t *sip)
{
	struct run *r = arg;

	if (sip && sip->sip_status && sip->sip_status->st_status >= 200) {
		r->status = sip->sip_status->st_status;
		nta_outgoing_destroy(orq);
	}
	return 0;
}

/* tset - a TLSA set of one 3 1 1 record for certificate file @pem */
static struct sipdance_tlsa_set *tset(const char *pem)
{
	struct sipdance_tlsa_set *set = NULL;
	struct sipdance_tlsa *t = NULL;
	FILE *fp = fopen(pem, "r");
	X509 *x = fp ? PEM_read_X509(fp, NULL, NULL, NULL) : NULL;

	if (fp)
		fclose(fp);
	if (!x || sipdance_tlsa_set_alloc(&set) || sipdance_tlsa_create(&t, x, 3, 1, 1) ||
	    sipdance_tlsa_set_add(set, t)) {
		fprintf(stderr, "cannot make a TLSA record from %s\n", pem);
		exit(99);
	}
	X509_free(x);
	return set;
}

/* wait_for - run the loop until @flag changes from @from or @ms pass */
static void wait_for(su_root_t *root, const int *flag, int from, int ms)
{
	for (int i = 0; i < ms / 10 && *flag == from; i++)
		su_root_step(root, 10);
}

/* send_options - an OPTIONS to the server over TLS on a fresh connection */
static nta_outgoing_t *send_options(nta_leg_t *leg, struct run *r, unsigned port)
{
	char route[128];

	snprintf(route, sizeof(route), "sips:b.example:%u;maddr=127.0.0.1;transport=tls", port);
	return nta_outgoing_tcreate(leg, on_response, r, (url_string_t *)route, SIP_METHOD_OPTIONS,
				    URL_STRING_MAKE("sips:b.example"), TPTAG_FRESH(1),
				    SIPTAG_FROM_STR("<sips:hook-test@a.example>"),
				    SIPTAG_TO_STR("<sips:b.example>"), TAG_END());
}

/* main - the checks, in order; exit status 1 if any failed */
int main(void)
{
	const char *srcdir = getenv("srcdir") ? getenv("srcdir") : ".";
	char certs[1024], pem[1200], key[1200], other[1200], dir[512], url[128], why[1400];
	struct run r = { .done = -1 }, *rp = &r;
	const struct px_hook_stats *st;
	struct sockaddr_in sin = { .sin_family = AF_INET };
	struct px_hook *hook;
	struct px_expect *e;
	nta_agent_t *server, *client;
	nta_leg_t *leg;
	/* above the ephemeral range, away from the script tests' blocks (tests/ports.sh) */
	unsigned sport = 61000 + (unsigned)getpid() % 2000 * 2, cport = sport + 1;

	/* a hang inside sofia-sip or OpenSSL fails the test, not CI (120 s, times VG_SLOW) */
	alarm(120u * (getenv("VG_SLOW") && atoi(getenv("VG_SLOW")) > 0 ? (unsigned)atoi(getenv("VG_SLOW")) : 1));
	snprintf(certs, sizeof(certs), "%s/tests/data/certs", srcdir);
	snprintf(pem, sizeof(pem), "%s/ee.pem", certs);
	snprintf(key, sizeof(key), "%s/ee.key", certs);
	snprintf(other, sizeof(other), "%s/other.pem", certs);
	su_init();
	r.root = su_root_create((struct px_proxy *)&rp);
	if (!r.root || px_hook_alloc(&hook) || sipdance_dane_alloc(&r.dane, NULL))
		return 99;
	if (px_certdir_write(dir, sizeof(dir), "", pem, key, why, sizeof(why))) {
		printf("FAIL - sofia-sip's certificate directory: %s\n", why);
		return 99;
	}
	px_hook_arm(hook, 1);
	snprintf(url, sizeof(url), "sips:127.0.0.1:%u;transport=tls", sport);
	server = nta_agent_create(r.root, (url_string_t *)url, NULL, NULL, TPTAG_CERTIFICATE(dir),
				  TAG_END());
	snprintf(url, sizeof(url), "sips:127.0.0.1:%u;transport=tls", cport);
	client = nta_agent_create(r.root, (url_string_t *)url, NULL, NULL, TPTAG_CERTIFICATE(dir),
				  NTATAG_USE_NAPTR(0), NTATAG_USE_SRV(0), TAG_END());
	px_hook_arm(hook, 0);
	px_certdir_remove(dir);
	if (!server || !client) {
		printf("FAIL - nta agents over TLS on 127.0.0.1:%u/%u\n", sport, cport);
		return 1;
	}
	nta_leg_tcreate(server, on_server_request, (struct px_proxy *)&rp, NTATAG_NO_DIALOG(1),
			TAG_END());
	leg = nta_leg_tcreate(client, NULL, NULL, NTATAG_NO_DIALOG(1), TAG_END());
	st = px_hook_stats(hook);
	check(st->ctx_hooked >= 2, "the hook caught the SSL_CTX of both sofia-sip agents");
	sin.sin_port = htons(sport);
	inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);

	/* 1. DANE pass */
	r.tlsa = tset(pem);
	px_hook_expect(hook, &e, (struct sockaddr *)&sin, "b.example", "b.example", verify_fixed,
		       done, &r);
	check(send_options(leg, &r, sport) != NULL, "nta accepted an OPTIONS over TLS");
	wait_for(r.root, &r.status, 0, 5000);
	check(r.done == 1, "DANE pass: the verify callback authenticated sofia-sip's connection");
	check(!strncmp(r.tls, "TLSv1.", 6), "DANE pass: the verdict came with the negotiated protocol");
	printf("#   protocol: %s\n", r.tls);
	check(r.status == 200 && r.delivered == 1, "DANE pass: the OPTIONS was delivered and got 200");
	check(st->handshakes_out >= 1 && st->verified_out == 1, "DANE pass: counted as verified outbound");
	check(!strcmp(st->last_sni_in, "b.example"), "SNI b.example reached the server (sofia sends none itself)");
	check(st->chains_in >= 1, "the server requested and kept the client's certificate chain");

	/* 2. DANE fail: the TLSA names another key */
	sipdance_tlsa_set_free(r.tlsa);
	r.tlsa = tset(other);
	r.done = -1;
	r.status = 0;
	px_hook_expect(hook, &e, (struct sockaddr *)&sin, "b.example", "b.example", verify_fixed,
		       done, &r);
	send_options(leg, &r, sport);
	wait_for(r.root, &r.done, -1, 5000);
	check(r.done == 0, "DANE fail: the handshake was refused inside the verify callback");
	printf("#   reason: %s\n", r.reason);
	check(strstr(r.reason, "TLSA") != NULL || strstr(r.reason, "match") != NULL,
	      "DANE fail: the verdict says the TLSA did not match");
	wait_for(r.root, &r.status, 0, 300);
	check(r.delivered == 1 && st->refused_out == 1, "DANE fail: nothing was delivered to the server");

	/* 3. no expectation: fail closed */
	r.status = 0;
	send_options(leg, &r, sport);
	wait_for(r.root, &r.delivered, 1, 1000);
	check(r.delivered == 1 && st->refused_out == 2,
	      "an outbound TLS connection nobody expected is refused");

	printf("%d passed, %d failed\n", passed, failed);
	nta_agent_destroy(client);
	nta_agent_destroy(server);
	px_hook_free(hook);
	sipdance_tlsa_set_free(r.tlsa);
	sipdance_dane_free(r.dane);
	su_root_destroy(r.root);
	su_deinit();
	return failed ? 1 : 0;
}
