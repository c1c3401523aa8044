/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ua.c - sipdance-ua, a minimal SIP user agent on sofia-sip nua: it
 * registers, places or answers one call, and runs the DTLS-SRTP media of
 * stun/ on it (a 440 Hz PCMU tone out, received packets counted and
 * checked). The exit status says whether media was authenticated. With
 * --tls-cert it also speaks SIP over TLS and authenticates as its AOR by
 * DANCE client auth: the dane_clientid ClientName <hash>._user.<domain>,
 * installed on sofia-sip's SSL_CTX through an ex_data "new" callback, with
 * the DNSSEC chain of its TLSA records when it has one (--client-chain-file,
 * or built through --resolver), so that the server needs no DNS lookup.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>

struct ua;
#define SU_ROOT_MAGIC_T struct ua
#define NUA_MAGIC_T struct ua
#define NUA_HMAGIC_T struct ua
#include <sofia-sip/nua.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_status.h>
#include <sofia-sip/su_wait.h>

#include <sipdance/chain.h>
#include <sipdance/clientid.h>
#include <sipdance/sdp.h>
#include "../sip/certdir.h"
#include "../stun/stun.h"

#define TICK_MS 5

const char *__lsan_default_suppressions(void) __attribute__((visibility("default")));
const char *__asan_default_options(void) __attribute__((visibility("default")));

/* __lsan_default_suppressions - LeakSanitizer (ASan builds): sofia-sip
 * 1.12.11 never frees the SSL of its TLS connections (tls_free() only shuts
 * them down) and leaks the subjectAltName tls_connect() decodes; nothing else */
const char *__lsan_default_suppressions(void)
{
	return "leak:tls_init_secondary\nleak:tls_connect\n";
}

/* __asan_default_options - full allocation stacks, so that the suppressions
 * above see sofia-sip's frames below libssl and libcrypto */
const char *__asan_default_options(void)
{
	return "fast_unwind_on_malloc=0";
}

struct ua {
	su_home_t home[1];
	su_root_t *root;
	nua_t *nua;
	nua_handle_t *reg, *call;
	su_timer_t *timer;
	/* options */
	const char *aor, *listen, *registrar, *proxy, *target, *media_addr;
	int answer, no_ice, ice_lite, verbose;
	int tamper_local, tamper_remote; /* testing: flip a fingerprint bit */
	unsigned duration_ms, expect;
	unsigned fp_flags;
	X509 *cert;
	EVP_PKEY *key;
	const char *tls_cert, *tls_key, *tls_listen; /* SIP over TLS, DANCE client identity */
	const char *chain_file, *resolver, *trust_anchor; /* our DNSSEC chain: a file, or built */
	struct sipdance_chain_source *chain; /* shipped when a server asks */
	su_timer_t *chain_timer;  /* its refresh */
	const char *digest;       /* "Digest:\"realm\":user:password" (--digest), or NULL */
	char digest_buf[600];
	unsigned digest_tries;    /* challenges answered: a second refusal ends it */
	/* state */
	struct sipdance_stun_ep *ep;
	struct sipdance_sdp_media local;
	int pt, secure_seen, flowing, peer_closed, bye_sent, done, exit_code;
	unsigned long secure_at, elapsed;
	/* media */
	uint16_t seq;
	uint32_t ts, ssrc;
	double phase;
	unsigned long rx_ok, rx_bad;
	int have_seq;
	uint16_t last_seq;
	unsigned long gaps;
};

/* say - one line of progress on stdout */
static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("ua: ", stdout);
	vprintf(fmt, ap);
	fputc('\n', stdout);
	va_end(ap);
	fflush(stdout);
}

/* ulaw - G.711 mu-law of one 16-bit sample */
static uint8_t ulaw(int s)
{
	int sign = s < 0 ? 0x80 : 0, exp = 7, mant;

	if (sign)
		s = -s;
	if (s > 32635)
		s = 32635;
	s += 0x84;
	while (exp > 0 && !(s & (0x4000 >> (7 - exp))))
		exp--;
	mant = (s >> (exp + 3)) & 0x0F;
	return (uint8_t)~(sign | exp << 4 | mant);
}

/* on_media - a decrypted packet from the peer: count it, check it is our codec's RTP */
static void on_media(void *arg, int rtcp, const uint8_t *pkt, size_t len)
{
	struct ua *ua = arg;
	uint16_t seq;

	if (rtcp)
		return;
	if (len < 12 || (pkt[0] >> 6) != 2 || (pkt[1] & 0x7F) != ua->pt) {
		ua->rx_bad++;
		return;
	}
	ua->rx_ok++;
	seq = (uint16_t)(pkt[2] << 8 | pkt[3]);
	if (ua->have_seq && seq != (uint16_t)(ua->last_seq + 1))
		ua->gaps++;
	ua->have_seq = 1;
	ua->last_seq = seq;
}

/* send_tone - one 20 ms PCMU packet of a 440 Hz tone */
static void send_tone(struct ua *ua)
{
	uint8_t pkt[12 + 160];
	int err;

	pkt[0] = 0x80;
	pkt[1] = (uint8_t)ua->pt;
	pkt[2] = (uint8_t)(ua->seq >> 8);
	pkt[3] = (uint8_t)ua->seq;
	for (int i = 0; i < 4; i++) {
		pkt[4 + i] = (uint8_t)(ua->ts >> (24 - 8 * i));
		pkt[8 + i] = (uint8_t)(ua->ssrc >> (24 - 8 * i));
	}
	for (int i = 0; i < 160; i++) {
		pkt[12 + i] = ulaw((int)(8000 * sin(ua->phase)));
		ua->phase += 2 * M_PI * 440 / 8000;
	}
	if ((err = sipdance_stun_ep_send(ua->ep, 0, pkt, sizeof(pkt))) == 0) {
		ua->seq++;
		ua->ts += 160;
	}
}

/* finish - end the call (BYE with a Reason when media failed), then shut down */
static void finish(struct ua *ua, int code, const char *reason)
{
	char hdr[400];

	if (ua->done)
		return;
	ua->done = 1;
	if (!ua->exit_code)
		ua->exit_code = code;
	if (ua->call && !ua->bye_sent) {
		ua->bye_sent = 1;
		if (reason) {
			snprintf(hdr, sizeof(hdr), "SIP;cause=488;text=\"%s\"", reason);
			nua_bye(ua->call, SIPTAG_REASON_STR(hdr), TAG_END());
		} else {
			nua_bye(ua->call, TAG_END());
		}
	}
	nua_shutdown(ua->nua);
}

/* report - the media counters, one line */
static void report(struct ua *ua)
{
	struct sipdance_stun_ep_stats st;

	if (!ua->ep)
		return;
	sipdance_stun_ep_stats(ua->ep, &st);
	say("packets sent %lu received %lu bad %lu gaps %lu auth-fail %lu replay %lu (ice %s, dtls %s)",
	    st.rtp_tx, ua->rx_ok, ua->rx_bad, ua->gaps, st.auth_fail, st.replay,
	    st.ice_lite ? "lite" : st.ice ? "yes" : "no",
	    st.dtls_client ? "client" : "server");
}

/* tick - every TICK_MS: run the endpoint, send the tone, watch the clock */
static void tick(struct ua *ua, su_timer_t *t, su_timer_arg_t *arg)
{
	enum sipdance_stun_ep_state s;

	if (!ua->ep || ua->done)
		return;
	sipdance_stun_ep_poll(ua->ep, 0);
	s = sipdance_stun_ep_state(ua->ep);
	if (s == SIPDANCE_EP_FAILED && ua->secure_seen &&
	    !strcmp(sipdance_stun_ep_why(ua->ep), "peer closed DTLS (close_notify)")) {
		/* the peer ended the media (a browser closes DTLS before its BYE arrives): the call's
		 * outcome is judged at the BYE, or after the usual wait for it */
		if (!ua->peer_closed)
			say("media ended: peer closed DTLS");
		ua->peer_closed = 1;
		ua->elapsed += TICK_MS;
		if (ua->elapsed >= ua->duration_ms + 10000) {
			say("no BYE after the peer closed DTLS");
			report(ua);
			finish(ua, 1, NULL);
		}
		return;
	}
	if (s == SIPDANCE_EP_FAILED) {
		say("media failed: %s", sipdance_stun_ep_why(ua->ep));
		report(ua);
		finish(ua, 1, sipdance_stun_ep_why(ua->ep));
		return;
	}
	if (s != SIPDANCE_EP_SECURE)
		return;
	if (!ua->secure_seen) {
		struct sipdance_stun_ep_stats st;

		sipdance_stun_ep_stats(ua->ep, &st);
		ua->secure_seen = 1;
		say("media secure: %s, fingerprint %s (%s)", st.srtp_profile,
		    sipdance_result_str(sipdance_stun_ep_verdict(ua->ep)->result),
		    sipdance_stun_ep_verdict(ua->ep)->reason);
	}
	ua->elapsed += TICK_MS;
	if (ua->elapsed % 20 == 0)
		send_tone(ua);
	if (!ua->flowing && ua->rx_ok >= ua->expect && ua->elapsed / 20 >= ua->expect) {
		/* a line to wait for: whoever drives the other end may hang up now */
		ua->flowing = 1;
		say("media flowing: %u packets received and sent", ua->expect);
	}
	if (ua->answer && ua->elapsed >= ua->duration_ms + 10000) {
		say("no BYE from the caller");
		report(ua);
		finish(ua, 1, NULL);
		return;
	}
	/* the caller hangs up after --duration once --expect packets came in (a slow
	 * peer gets 10 s more), so a busy machine costs time, not the outcome */
	if (!ua->answer && ua->elapsed >= ua->duration_ms &&
	    (ua->flowing || ua->elapsed >= ua->duration_ms + 10000)) {
		report(ua);
		finish(ua, ua->rx_ok >= ua->expect && !ua->rx_bad ? 0 : 1,
		       ua->rx_ok >= ua->expect ? NULL : "too few media packets");
	}
}

/* start_media - both descriptions known: start the endpoint */
static int start_media(struct ua *ua, const struct sipdance_sdp_media *remote, int offerer)
{
	const char *why = NULL;
	int err = sipdance_stun_ep_start(ua->ep, &ua->local, remote, offerer, &why);

	if (err) {
		say("media refused: %s", why ? why : strerror(err));
		return err;
	}
	ua->pt = remote->payload_type;
	if (!ua->timer) {
		ua->timer = su_timer_create(su_root_task(ua->root), TICK_MS);
		su_timer_set_for_ever(ua->timer, tick, NULL);
	}
	return 0;
}

/* sdp_of - the SDP body of a message, parsed */
static int sdp_of(const sip_t *sip, struct sipdance_sdp_media *m, const char **why)
{
	char *text;
	int err;

	if (!sip || !sip->sip_payload || !sip->sip_payload->pl_len) {
		*why = "no SDP body";
		return EINVAL;
	}
	if (!(text = strndup(sip->sip_payload->pl_data, sip->sip_payload->pl_len)))
		return ENOMEM;
	err = sipdance_sdp_media_parse(m, text, why);
	free(text);
	return err;
}

/* tamper - testing only: flip one bit of every fingerprint of @m */
static void tamper(struct sipdance_sdp_media *m)
{
	for (size_t i = 0; i < m->nfp; i++)
		m->fp[i].md[0] ^= 1;
}

/* on_invite - an incoming call: answer with our description, or refuse with 488 */
static void on_invite(struct ua *ua, nua_handle_t *nh, const sip_t *sip)
{
	struct sipdance_sdp_media offer;
	const char *why = NULL;
	char body[4096], warn[300];
	int err;

	if (ua->call) {
		nua_respond(nh, 486, "Busy Here", TAG_END());
		return;
	}
	err = sdp_of(sip, &offer, &why);
	if (!err && ua->tamper_remote)
		tamper(&offer);
	if (err || sipdance_stun_ep_describe(ua->ep, &offer, &ua->local) ||
	    start_media(ua, &offer, 0)) {
		snprintf(warn, sizeof(warn), "399 sipdance \"%s\"", why ? why : "unusable offer");
		say("refusing call: %s", why ? why : "unusable offer");
		nua_respond(nh, 488, "Not Acceptable Here", SIPTAG_WARNING_STR(warn), TAG_END());
		return;
	}
	ua->call = nh;
	if (ua->tamper_local)
		tamper(&ua->local);
	sipdance_sdp_media_format(&ua->local, (unsigned long long)ua->ssrc, body, sizeof(body));
	say("answering call from %s", sip->sip_from && sip->sip_from->a_url->url_user ?
	    sip->sip_from->a_url->url_user : "?");
	nua_respond(nh, SIP_200_OK, SIPTAG_CONTENT_TYPE_STR("application/sdp"), SIPTAG_PAYLOAD_STR(body),
		    TAG_END());
}

/* place_call - INVITE the target with our offer */
static void place_call(struct ua *ua)
{
	char body[4096];

	if (sipdance_stun_ep_describe(ua->ep, NULL, &ua->local)) {
		finish(ua, 1, "cannot describe local media");
		return;
	}
	if (ua->no_ice) {
		ua->local.ice_ufrag[0] = ua->local.ice_pwd[0] = '\0';
		ua->local.ncand = 0;
	}
	if (ua->tamper_local)
		tamper(&ua->local);
	sipdance_sdp_media_format(&ua->local, (unsigned long long)ua->ssrc, body, sizeof(body));
	ua->call = nua_handle(ua->nua, ua, SIPTAG_TO_STR(ua->target), SIPTAG_FROM_STR(ua->aor), TAG_END());
	say("calling %s", ua->target);
	nua_invite(ua->call, SIPTAG_CONTENT_TYPE_STR("application/sdp"), SIPTAG_PAYLOAD_STR(body),
		   TAG_IF(ua->digest, NUTAG_AUTH(ua->digest)), TAG_END());
}

/* ready - registered (or no registrar): call or wait */
static void ready(struct ua *ua)
{
	if (ua->target)
		place_call(ua);
	else
		say("waiting for a call on %s", ua->listen);
}

/* challenged - answer a 401/407 once with the --digest credentials: 1 if answered */
static int challenged(struct ua *ua, nua_handle_t *nh, int status)
{
	if ((status != 401 && status != 407) || !ua->digest || ua->digest_tries++ > 0)
		return 0;
	say("challenged (%d): answering with Digest credentials", status);
	nua_authenticate(nh, NUTAG_AUTH(ua->digest), TAG_END());
	return 1;
}

/* event - the nua callback */
static void event(nua_event_t ev, int status, char const *phrase, nua_t *nua, struct ua *ua,
		  nua_handle_t *nh, struct ua *hmagic, sip_t const *sip, tagi_t tags[])
{
	struct sipdance_sdp_media answer;
	const char *why = NULL;
	int err;

	if (ua->verbose)
		say("event %s %d %s", nua_event_name(ev), status, phrase ? phrase : "");
	switch (ev) {
	case nua_r_register:
		if (status < 200 || challenged(ua, nh, status))
			break;
		if (status != 200) {
			say("registration failed: %d %s", status, phrase);
			ua->exit_code = 3;
			finish(ua, 3, NULL);
			break;
		}
		say("registered %s", ua->aor);
		ready(ua);
		break;
	case nua_i_invite:
		on_invite(ua, nh, sip);
		break;
	case nua_r_invite:
		if (status < 200 || challenged(ua, nh, status))
			break;
		if (status >= 300) {
			say("call failed: %d %s", status, phrase);
			ua->call = NULL;
			finish(ua, 3, NULL);
			break;
		}
		say("call established");
		err = sdp_of(sip, &answer, &why);
		if (!err && ua->tamper_remote)
			tamper(&answer);
		if (err || start_media(ua, &answer, 1)) {
			say("unusable answer: %s", why ? why : "media refused");
			finish(ua, 1, why ? why : "unusable answer");
		}
		break;
	case nua_i_bye:
		if (ua->done)
			break;
		if (sip && sip->sip_reason && sip->sip_reason->re_text)
			say("call ended by peer: %s", sip->sip_reason->re_text);
		else
			say("call ended by peer");
		report(ua);
		ua->bye_sent = 1;
		finish(ua, ua->secure_seen && ua->rx_ok >= ua->expect && !ua->rx_bad ? 0 : 1, NULL);
		break;
	case nua_r_bye:
		break;
	case nua_r_shutdown:
		if (status >= 200)
			su_root_break(ua->root);
		break;
	default:
		break;
	}
}

/* SSL_CTXs sofia-sip creates while nua_create() runs (TLS transports) */
#define MAX_CTX 4
static SSL_CTX *caught[MAX_CTX];
static size_t ncaught;
static int catching;

/* ctx_new - OpenSSL made an SSL_CTX: keep it if it is sofia-sip's */
static void ctx_new(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl, void *argp)
{
	if (catching && ncaught < MAX_CTX && SSL_CTX_up_ref(parent))
		caught[ncaught++] = parent;
}

static void chain_refresh(struct ua *ua, su_timer_t *t, su_timer_arg_t *arg);

/* chain_schedule - the next refresh of our chain, as its TTLs and RRSIGs say */
static void chain_schedule(struct ua *ua)
{
	time_t next = sipdance_chain_source_next_refresh(ua->chain), now = time(NULL);

	su_timer_set_interval(ua->chain_timer, chain_refresh, NULL,
			      next > now ? (su_duration_t)(next - now) * 1000 : 1000);
}

/* chain_refresh - fetch or reload our chain again (the current one stays on failure) */
static void chain_refresh(struct ua *ua, su_timer_t *t, su_timer_arg_t *arg)
{
	const char *why = NULL;
	size_t len = 0;

	if (sipdance_chain_source_refresh(ua->chain, &why))
		say("DNSSEC chain refresh failed: %s (%s)", why ? why : "?",
		    sipdance_chain_source_get(ua->chain, 0, &len) ? "the current one is still valid"
		    : "shipping none");
	else if (sipdance_chain_source_get(ua->chain, 0, &len))
		say("DNSSEC chain refreshed (%zu bytes)", len);
	chain_schedule(ua);
}

/* chain_on - our own DNSSEC chain for ClientName @name, from --client-chain-file
 * or built through --resolver, held to our certificate; 0 or -1 */
static int chain_on(struct ua *ua, const char *name)
{
	struct sipdance_chain_source_conf sc = { .size = sizeof(sc), .trust_anchor = ua->trust_anchor, .owner = name,
						 .file = ua->chain_file,
						 .resolver = ua->chain_file ? NULL : ua->resolver };
	STACK_OF(X509) *cert = sk_X509_new_null();
	FILE *f = fopen(ua->tls_cert, "r");
	const char *why = NULL;
	size_t len = 0;
	X509 *x;
	int err;

	while (f && cert && (x = PEM_read_X509(f, NULL, NULL, NULL)))
		if (!sk_X509_push(cert, x))
			X509_free(x);
	if (f)
		fclose(f);
	ERR_clear_error();
	if ((err = sipdance_chain_source_alloc(&ua->chain, &sc, &why)) ||
	    (err = sipdance_chain_source_set_cert(ua->chain, cert, &why)))
		fprintf(stderr, "sipdance-ua: our DNSSEC chain for %s: %s\n", name,
			why ? why : strerror(err));
	sk_X509_pop_free(cert, X509_free);
	if (err || !(ua->chain_timer = su_timer_create(su_root_task(ua->root), 0)))
		return -1;
	sipdance_chain_source_get(ua->chain, 0, &len);
	say("DNSSEC chain of %.16s... (%zu bytes, %s), shipped when the server asks", name, len,
	    ua->chain_file ? ua->chain_file : "built through our resolver");
	chain_schedule(ua);
	return 0;
}

/* clientid_on - our AOR's ClientName (and chain) on every TLS context sofia-sip made */
static int clientid_on(struct ua *ua)
{
	struct sipdance_clientid_conf cc = { .size = sizeof(cc) };
	char name[SIPDANCE_CLIENTID_MAX + 1];
	const char *why = NULL;

	if (sipdance_clientid_user_name(ua->aor, name, sizeof(name), &why)) {
		fprintf(stderr, "sipdance-ua: --aor %s: %s\n", ua->aor, why ? why : "not user@domain");
		return -1;
	}
	cc.name = name;
	if ((ua->chain_file || ua->resolver) && chain_on(ua, name))
		return -1;
	cc.chain_source = ua->chain;
	if (!ncaught) {
		fprintf(stderr, "sipdance-ua: sofia-sip made no TLS context to attach dane_clientid to\n");
		return -1;
	}
	for (size_t i = 0; i < ncaught; i++) {
		/* sofia-sip loads only the end-entity certificate: the chain too */
		if (SSL_CTX_use_certificate_chain_file(caught[i], ua->tls_cert) != 1 ||
		    sipdance_clientid_attach(caught[i], &cc, &why)) {
			fprintf(stderr, "sipdance-ua: dane_clientid: %s\n", why ? why : "cannot use --tls-cert");
			return -1;
		}
	}
	say("TLS client identity %s (dane_clientid %.16s...)", ua->aor, name);
	return 0;
}

/* load_identity - the DTLS certificate and key */
static int load_identity(struct ua *ua, const char *cert, const char *key)
{
	FILE *f;

	if (!cert && !key)
		return 0;
	if (!cert || !key) {
		fprintf(stderr, "sipdance-ua: --cert and --key go together\n");
		return -1;
	}
	if ((f = fopen(cert, "r"))) {
		ua->cert = PEM_read_X509(f, NULL, NULL, NULL);
		fclose(f);
	}
	if ((f = fopen(key, "r"))) {
		ua->key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
		fclose(f);
	}
	if (!ua->cert || !ua->key || X509_check_private_key(ua->cert, ua->key) != 1) {
		fprintf(stderr, "sipdance-ua: cannot use %s / %s as certificate and key\n", cert, key);
		return -1;
	}
	return 0;
}

/* usage - the options */
static void usage(FILE *f)
{
	fputs("usage: sipdance-ua --aor SIP-URI [--listen SIP-URI] [--registrar SIP-URI] [--proxy SIP-URI]\n"
	      "                   (--call SIP-URI | --answer) [--duration SECONDS] [--expect PACKETS]\n"
	      "                   [--media-addr IP] [--cert PEM --key PEM] [--no-ice] [--ice-lite]\n"
	      "                   [--allow-sha1] [--tls-cert PEM --tls-key PEM [--tls-listen SIPS-URI]]\n"
	      "                   [--client-chain-file FILE | --resolver ADDR[@PORT]] [--trust-anchor FILE]\n"
	      "                   [--tamper-fingerprint local|remote] [--digest FILE] [--verbose]\n"
	      "Places or answers one call with DTLS-SRTP media; exit 0 when media was\n"
	      "authenticated and at least PACKETS (default 10) packets were received.\n"
	      "The caller hangs up after SECONDS of media once PACKETS came in (10 s more at most);\n"
	      "\"media flowing\" is logged when PACKETS were received and sent.\n"
	      "--proxy (default: the registrar) is the outbound proxy for the call.\n"
	      "--tamper-fingerprint (testing) flips a bit of the fingerprint we send (local)\n"
	      "or of those we receive (remote): the DTLS handshake must then be refused.\n"
	      "--digest FILE: \"user:password\" (one line) answers one 401/407 per request\n"
	      "(realm: the AOR's domain; sofia-sip computes MD5 only).\n"
	      "--client-chain-file FILE (made by `sipdance chain build --name`), or --resolver: the\n"
	      "DNSSEC chain of our TLSA records, shipped with --tls-cert when the server asks\n"
	      "(validated to --trust-anchor first, refreshed before it expires).\n", f);
}

/* read_digest - "user:password" from @file into NUTAG_AUTH form, realm the AOR's domain; 0 or -1 */
static int read_digest(struct ua *ua, const char *file)
{
	char line[512], *colon;
	const char *at = ua->aor ? strchr(ua->aor, '@') : NULL;
	FILE *f = fopen(file, "r");
	int ok = f && fgets(line, sizeof(line), f) && (colon = strchr(line, ':')) && at;

	if (f)
		fclose(f);
	if (!ok) {
		fprintf(stderr, "sipdance-ua: --digest %s: want a \"user:password\" line (and --aor first)\n", file);
		return -1;
	}
	line[strcspn(line, "\r\n")] = '\0';
	*colon = '\0';
	snprintf(ua->digest_buf, sizeof(ua->digest_buf), "Digest:\"%.*s\":%s:%s",
		 (int)strcspn(at + 1, ";>"), at + 1, line, colon + 1);
	ua->digest = ua->digest_buf;
	return 0;
}

/* parse_args - options into @ua; -1 on a usage error */
static int parse_args(struct ua *ua, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "aor", 1, NULL, 'a' }, { "listen", 1, NULL, 'l' }, { "registrar", 1, NULL, 'r' },
		{ "proxy", 1, NULL, 'p' },
		{ "call", 1, NULL, 'c' }, { "answer", 0, NULL, 'A' }, { "duration", 1, NULL, 'd' },
		{ "expect", 1, NULL, 'e' }, { "media-addr", 1, NULL, 'm' }, { "cert", 1, NULL, 'C' },
		{ "key", 1, NULL, 'K' }, { "no-ice", 0, NULL, 'n' }, { "allow-sha1", 0, NULL, 's' },
		{ "ice-lite", 0, NULL, 'L' }, { "tls-cert", 1, NULL, 't' }, { "tls-key", 1, NULL, 'k' },
		{ "tls-listen", 1, NULL, 'S' }, { "digest", 1, NULL, 'D' },
		{ "client-chain-file", 1, NULL, 'F' }, { "resolver", 1, NULL, 'R' },
		{ "trust-anchor", 1, NULL, 'Y' },
		{ "verbose", 0, NULL, 'v' }, { "tamper-fingerprint", 1, NULL, 'T' }, { "help", 0, NULL, 'h' }, { NULL, 0, NULL, 0 },
	};
	const char *cert = NULL, *key = NULL;
	int c;

	ua->listen = "sip:127.0.0.1:5070";
	ua->media_addr = "127.0.0.1";
	ua->duration_ms = 5000;
	ua->expect = 10;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'a': ua->aor = optarg; break;
		case 'l': ua->listen = optarg; break;
		case 'r': ua->registrar = optarg; break;
		case 'p': ua->proxy = optarg; break;
		case 'c': ua->target = optarg; break;
		case 'A': ua->answer = 1; break;
		case 'd': ua->duration_ms = (unsigned)(atof(optarg) * 1000); break;
		case 'e': ua->expect = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'm': ua->media_addr = optarg; break;
		case 'C': cert = optarg; break;
		case 'K': key = optarg; break;
		case 't': ua->tls_cert = optarg; break;
		case 'k': ua->tls_key = optarg; break;
		case 'S': ua->tls_listen = optarg; break;
		case 'F': ua->chain_file = optarg; break;
		case 'R': ua->resolver = optarg; break;
		case 'Y': ua->trust_anchor = optarg; break;
		case 'D':
			if (read_digest(ua, optarg))
				return -1;
			break;
		case 'n': ua->no_ice = 1; break;
		case 'L': ua->ice_lite = 1; break;
		case 's': ua->fp_flags |= SIPDANCE_SDP_ALLOW_SHA1; break;
		case 'v': ua->verbose = 1; break;
		case 'T':
			if (!strcmp(optarg, "local"))
				ua->tamper_local = 1;
			else if (!strcmp(optarg, "remote"))
				ua->tamper_remote = 1;
			else
				return -1;
			break;
		case 'h': usage(stdout); exit(0);
		default: return -1;
		}
	}
	if (optind != argc || !ua->aor || !ua->target == !ua->answer) {
		fputs("sipdance-ua: --aor and exactly one of --call and --answer are required\n", stderr);
		return -1;
	}
	if (!ua->tls_cert != !ua->tls_key) {
		fputs("sipdance-ua: --tls-cert and --tls-key go together\n", stderr);
		return -1;
	}
	if ((ua->chain_file || ua->resolver) && (!ua->tls_cert || !ua->trust_anchor)) {
		fputs("sipdance-ua: a DNSSEC chain of our own needs --tls-cert and --trust-anchor\n", stderr);
		return -1;
	}
	if (ua->tls_cert && !ua->tls_listen)
		ua->tls_listen = "sips:127.0.0.1:*;transport=tls";
	return load_identity(ua, cert, key);
}

int main(int argc, char **argv)
{
	struct ua ua = { .exit_code = 0 };
	struct sipdance_stun_ep_cfg cfg = { 0 };
	char dir[512] = "", why[600];
	int err;

	if (parse_args(&ua, argc, argv)) {
		usage(stderr);
		return 2;
	}
	if (RAND_bytes((uint8_t *)&ua.ssrc, sizeof(ua.ssrc)) != 1)
		return 1;
	cfg = (struct sipdance_stun_ep_cfg){ .addr = ua.media_addr, .cert = ua.cert, .key = ua.key,
					     .fp_flags = ua.fp_flags, .ice_lite = ua.ice_lite,
					     .on_media = on_media, .arg = &ua };
	if ((err = sipdance_stun_ep_alloc(&ua.ep, &cfg))) {
		fprintf(stderr, "sipdance-ua: media endpoint on %s: %s\n", ua.media_addr, strerror(err));
		return 1;
	}
	su_init();
	su_home_init(ua.home);
	ua.root = su_root_create(&ua);
	if (!ua.proxy)
		ua.proxy = ua.registrar;
	if (ua.tls_cert &&
	    px_certdir_write(dir, sizeof(dir), "--tls-", ua.tls_cert, ua.tls_key, why, sizeof(why))) {
		fprintf(stderr, "sipdance-ua: %s\n", why);
		return 1;
	}
	SSL_CTX_get_ex_new_index(0, NULL, ctx_new, NULL, NULL);
	catching = 1;
	ua.nua = ua.root ? nua_create(ua.root, event, &ua, NUTAG_URL(ua.listen), NUTAG_MEDIA_ENABLE(0),
				      SIPTAG_FROM_STR(ua.aor), TAG_IF(ua.proxy, NUTAG_PROXY(ua.proxy)),
				      TAG_IF(ua.tls_cert, NUTAG_SIPS_URL(ua.tls_listen)),
				      TAG_IF(ua.tls_cert, NUTAG_CERTIFICATE_DIR(dir)),
				      TAG_END()) : NULL;
	catching = 0;
	if (dir[0])
		px_certdir_remove(dir);
	if (ua.nua && ua.tls_cert && clientid_on(&ua))
		return 1;
	if (!ua.nua) {
		fprintf(stderr, "sipdance-ua: cannot listen on %s\n", ua.listen);
		return 1;
	}
	if (ua.registrar) {
		ua.reg = nua_handle(ua.nua, &ua, SIPTAG_TO_STR(ua.aor), SIPTAG_FROM_STR(ua.aor), TAG_END());
		nua_register(ua.reg, NUTAG_REGISTRAR(ua.registrar), TAG_IF(ua.digest, NUTAG_AUTH(ua.digest)),
			     TAG_END());
	} else {
		ready(&ua);
	}
	su_root_run(ua.root);
	if (ua.timer)
		su_timer_destroy(ua.timer);
	if (ua.chain_timer)
		su_timer_destroy(ua.chain_timer);
	nua_destroy(ua.nua);
	su_root_destroy(ua.root);
	su_home_deinit(ua.home);
	su_deinit();
	sipdance_stun_ep_free(ua.ep);
	X509_free(ua.cert);
	EVP_PKEY_free(ua.key);
	for (size_t i = 0; i < ncaught; i++)
		SSL_CTX_free(caught[i]);
	sipdance_chain_source_free(ua.chain);
	return ua.exit_code;
}
