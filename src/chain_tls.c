/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * chain_tls.c - RFC 9102 on OpenSSL: extension 59 as one custom extension
 * per SSL_CTX for both directions: a server's chain (ClientHello port; TLS
 * 1.3 end-entity CertificateEntry or TLS 1.2 ServerHello) and a client's
 * (TLS 1.3: asked in the CertificateRequest, shipped in the client's
 * end-entity CertificateEntry, docs/client-chain.md); the client's
 * certificate decision from a server's chain, and the (name, port) pin store
 * with its file.
 */
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <openssl/err.h>
#include <openssl/x509_vfy.h>

#include <sipdance/chain.h>
#include <sipdance/clientid.h>
#include "chain_int.h"
#include "internal.h"

#define TLS12_MAX_EXT 65000
#define PIN_SLACK 60
/* the longest pin a chain can set: ExtSupportLifetime is 16 bits of hours */
#define PIN_MAX_S ((time_t)65535 * 3600)

/* ---- Pins ---- */

struct pin {
	char name[256]; /* lowercase, no trailing dot */
	uint16_t port;
	time_t until;
};

struct sipdance_chain_pins {
	pthread_mutex_t lock; /* connections of several threads note pins */
	char *file;
	size_t max, n;
	struct pin *v;
	sipdance_chain_pins_fn *watch; /* told of each change a handshake made, or NULL */
	void *watch_arg;
};

/* pin_key - normalised name: lowercase, trailing dot removed; 0 or EINVAL */
static int pin_key(const char *name, char *out)
{
	size_t len = name ? strlen(name) : 0;

	if (len && name[len - 1] == '.')
		len--;
	if (len == 0 || len > 253)
		return EINVAL;
	for (size_t i = 0; i < len; i++) {
		if (isspace((unsigned char)name[i]) || !isprint((unsigned char)name[i]))
			return EINVAL;
		out[i] = (char)tolower((unsigned char)name[i]);
	}
	out[len] = '\0';
	return 0;
}

/* pins_save - rewrite the file atomically (temporary file, then rename) */
static int pins_save(const struct sipdance_chain_pins *p)
{
	char tmp[4096];
	FILE *f;
	int err = 0;

	if (!p->file)
		return 0;
	snprintf(tmp, sizeof(tmp), "%s.tmp", p->file);
	if (!(f = fopen(tmp, "w")))
		return errno;
	fprintf(f, "# sipdance RFC 9102 pins: until port name\n");
	for (size_t i = 0; i < p->n; i++)
		fprintf(f, "%lld %u %s\n", (long long)p->v[i].until, p->v[i].port, p->v[i].name);
	if (fflush(f) || fsync(fileno(f)))
		err = errno;
	if (fclose(f) && !err)
		err = errno;
	if (!err && rename(tmp, p->file))
		err = errno;
	if (err) {
		unlink(tmp);
		sd_log(SIPDANCE_LOG_WARN, "chain", "cannot write pin file %s: %s", p->file, strerror(err));
	}
	return err;
}

/* pins_load - read "until port name" lines; a missing file is empty */
static int pins_load(struct sipdance_chain_pins *p, const char **why)
{
	FILE *f = fopen(p->file, "r");
	char line[512], name[300];
	long long until;
	unsigned port;
	int err = 0;

	if (!f)
		return errno == ENOENT ? 0 : sd_fail(why, "pin file unreadable", EINVAL);
	while (!err && fgets(line, sizeof(line), f)) {
		struct pin pin;

		if (line[0] == '#' || line[0] == '\n')
			continue;
		if (sscanf(line, "%lld %u %299s", &until, &port, name) != 3 || port == 0 ||
		    port > 65535 || until <= 0 || pin_key(name, pin.name)) {
			err = sd_fail(why, "pin file has a malformed line", EINVAL);
			break;
		}
		pin.port = (uint16_t)port;
		pin.until = (time_t)until;
		if (p->n == p->max)
			continue;
		p->v[p->n++] = pin;
	}
	fclose(f);
	return err;
}

/* sipdance_chain_pins_open - a store, loaded from its file */
int sipdance_chain_pins_open(struct sipdance_chain_pins **out, const char *file, size_t max,
			     const char **why)
{
	struct sipdance_chain_pins *p;
	int err;

	if (!out)
		return sd_fail(why, "no output", EINVAL);
	if (!(p = calloc(1, sizeof(*p))))
		return sd_fail(why, "out of memory", ENOMEM);
	pthread_mutex_init(&p->lock, NULL);
	p->max = max ? max : 1024;
	if (!(p->v = calloc(p->max, sizeof(*p->v))) || (file && !(p->file = strdup(file)))) {
		sipdance_chain_pins_free(p);
		return sd_fail(why, "out of memory", ENOMEM);
	}
	if (p->file && (err = pins_load(p, why))) {
		sipdance_chain_pins_free(p);
		return err;
	}
	*out = p;
	return 0;
}

/* sipdance_chain_pins_free - free a store */
void sipdance_chain_pins_free(struct sipdance_chain_pins *p)
{
	if (!p)
		return;
	pthread_mutex_destroy(&p->lock);
	free(p->file);
	free(p->v);
	free(p);
}

/* find_pin - index of (name, port), or -1 */
static long find_pin(const struct sipdance_chain_pins *p, const char *key, uint16_t port)
{
	for (size_t i = 0; i < p->n; i++)
		if (p->v[i].port == port && !strcmp(p->v[i].name, key))
			return (long)i;
	return -1;
}

/* put_locked - pin @key:@port until @until (entry @i, or a new one), the store locked */
static int put_locked(struct sipdance_chain_pins *p, const char *key, uint16_t port, time_t until,
		      long i, time_t now)
{
	if (i >= 0) {
		p->v[i].until = until;
		return pins_save(p);
	}
	/* full: drop expired pins, else the one expiring first */
	for (size_t j = 0; p->n == p->max && j < p->n;)
		if (p->v[j].until <= now)
			p->v[j] = p->v[--p->n];
		else
			j++;
	if (p->n == p->max) {
		size_t first = 0;

		for (size_t j = 1; j < p->n; j++)
			if (p->v[j].until < p->v[first].until)
				first = j;
		p->v[first] = p->v[--p->n];
	}
	snprintf(p->v[p->n].name, sizeof(p->v[p->n].name), "%s", key);
	p->v[p->n].port = port;
	p->v[p->n].until = until;
	p->n++;
	return pins_save(p);
}

/* note_locked - set, extend or remove a pin, the store locked; *@changed
 * when it did */
static int note_locked(struct sipdance_chain_pins *p, const char *key, uint16_t port,
		       uint16_t lifetime, time_t now, int *changed)
{
	time_t until = now + (time_t)lifetime * 3600;
	long i = find_pin(p, key, port);

	*changed = 0;
	if (lifetime == 0) {
		if (i < 0)
			return 0;
		p->v[i] = p->v[--p->n];
		*changed = 1;
		return pins_save(p);
	}
	/* an unchanged commitment is not worth a file write */
	if (i >= 0 && until <= p->v[i].until + PIN_SLACK && until >= p->v[i].until - PIN_SLACK)
		return 0;
	*changed = 1;
	return put_locked(p, key, port, until, i, now);
}

/* sipdance_chain_pins_note - set, extend or remove a pin; the watcher told */
int sipdance_chain_pins_note(struct sipdance_chain_pins *p, const char *name, uint16_t port,
			     uint16_t lifetime, time_t now)
{
	char key[256];
	int err, changed;

	if (!p || !port || pin_key(name, key))
		return EINVAL;
	pthread_mutex_lock(&p->lock);
	err = note_locked(p, key, port, lifetime, now, &changed);
	pthread_mutex_unlock(&p->lock);
	if (changed && p->watch)
		p->watch(p->watch_arg, key, port, lifetime ? now + (time_t)lifetime * 3600 : 0);
	return err;
}

/* sipdance_chain_pins_watch - who is told of the pins handshakes set */
void sipdance_chain_pins_watch(struct sipdance_chain_pins *p, sipdance_chain_pins_fn *fn, void *arg)
{
	if (p) {
		p->watch = fn;
		p->watch_arg = arg;
	}
}

/* sipdance_chain_pins_merge - a pin learned elsewhere, taken only as a tightening */
int sipdance_chain_pins_merge(struct sipdance_chain_pins *p, const char *name, uint16_t port, time_t until,
			      time_t now)
{
	char key[256];
	long i;
	int err = 0;

	/*
	 * A pin from elsewhere (another node, through a shared store) can only
	 * make this store refuse more, the cases:
	 *  - not a name, port 0, already over, or further ahead than any chain
	 *    can pin (65535 hours): EINVAL, nothing changes;
	 *  - no pin here, or one ending sooner: pinned until @until;
	 *  - a pin here ending as late or later: kept as it is (a merge never
	 *    shortens or removes a pin: only a handshake here does).
	 */
	if (!p || !port || pin_key(name, key) || until <= now || until > now + PIN_MAX_S)
		return EINVAL;
	pthread_mutex_lock(&p->lock);
	if ((i = find_pin(p, key, port)) < 0 || p->v[i].until < until)
		err = put_locked(p, key, port, until, i, now);
	pthread_mutex_unlock(&p->lock);
	return err;
}

/* sipdance_chain_pins_until - the pin of (name, port) if still in force */
time_t sipdance_chain_pins_until(const struct sipdance_chain_pins *p, const char *name,
				 uint16_t port, time_t now)
{
	char key[256];
	time_t until = 0;
	long i;

	if (!p || pin_key(name, key))
		return 0;
	pthread_mutex_lock((pthread_mutex_t *)&p->lock);
	if ((i = find_pin(p, key, port)) >= 0 && p->v[i].until > now)
		until = p->v[i].until;
	pthread_mutex_unlock((pthread_mutex_t *)&p->lock);
	return until;
}

/* sipdance_chain_policy_parse - policy keyword */
int sipdance_chain_policy_parse(const char *s, enum sipdance_chain_policy *out)
{
	if (!s || !out)
		return EINVAL;
	if (!strcmp(s, "required"))
		*out = SIPDANCE_CHAIN_REQUIRED;
	else if (!strcmp(s, "prefer"))
		*out = SIPDANCE_CHAIN_PREFER;
	else if (!strcmp(s, "off"))
		*out = SIPDANCE_CHAIN_OFF;
	else
		return EINVAL;
	return 0;
}

/* ---- TLS ---- */

struct sipdance_chain_client {
	struct sipdance_anchor *ta;
	struct sipdance_chain_pins *pins;
	struct sipdance_dane *dane;
	enum sipdance_chain_policy policy;
};

/* What one SSL_CTX has attached. OPENSSL_malloc'd like the SSL_CTX it hangs
 * from: in Kamailio both live in the tls module's shared memory. */
struct ctx_state {
	int registered;                      /* extension 59 is ours on this context */
	struct sipdance_chain_source *src;   /* server: our chain, served */
	struct sipdance_chain_client *client; /* client: servers' chains asked and judged */
	int ask;                             /* server: clients asked for their chains */
	struct sipdance_chain_source *ship;  /* client: our chain, shipped when asked */
};

/* One connection's client chain: on a server, what the client shipped; on a
 * client, whether we shipped ours. OPENSSL_malloc'd: a host may keep SSLs in
 * memory shared between processes (Kamailio), as OpenSSL's own data is. */
struct shipped {
	uint8_t *ext;
	size_t len;
	int ours;
};

/* One client connection. */
struct conn {
	struct sipdance_chain_client *c;
	char host[256];
	uint16_t port;
	char **names;
	size_t nnames;
	int seen;                        /* the extension arrived */
	uint16_t lifetime;
	struct sipdance_chain_result r;
	struct sipdance_verdict v;
	int decided;
	int accepted;                    /* the decision passed with a validated chain */
	void (*info)(const SSL *, int, int); /* the SSL's own info callback, if it had one */
};

static int ctx_idx = -1, conn_idx = -1, port_idx = -1, ship_idx = -1;
static pthread_once_t idx_once = PTHREAD_ONCE_INIT;

/* conn_free - ex_data destructor of a client connection */
static void conn_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl, void *argp)
{
	struct conn *c = ptr;

	if (!c)
		return;
	for (size_t i = 0; i < c->nnames; i++)
		free(c->names[i]);
	free(c->names);
	sipdance_chain_result_clear(&c->r);
	free(c);
}

/* shipped_free - ex_data destructor of a connection's client chain */
static void shipped_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl, void *argp)
{
	struct shipped *sh = ptr;

	if (sh)
		OPENSSL_free(sh->ext);
	OPENSSL_free(sh);
}

/* ctx_free - ex_data destructor of an SSL_CTX's state */
static void ctx_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl, void *argp)
{
	OPENSSL_free(ptr);
}

/* init_idx - the ex_data indices, once */
static void init_idx(void)
{
	ctx_idx = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, ctx_free);
	conn_idx = SSL_get_ex_new_index(0, NULL, NULL, NULL, conn_free);
	port_idx = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);
	ship_idx = SSL_get_ex_new_index(0, NULL, NULL, NULL, shipped_free);
}

/* ctx_state - the state of @ctx, created on first use; NULL on ENOMEM */
static struct ctx_state *ctx_state(SSL_CTX *ctx, int create)
{
	struct ctx_state *st;

	pthread_once(&idx_once, init_idx);
	if (ctx_idx < 0 || conn_idx < 0 || port_idx < 0 || ship_idx < 0)
		return NULL;
	st = SSL_CTX_get_ex_data(ctx, ctx_idx);
	if (st || !create)
		return st;
	if (!(st = OPENSSL_zalloc(sizeof(*st))) || !SSL_CTX_set_ex_data(ctx, ctx_idx, st)) {
		OPENSSL_free(st);
		return NULL;
	}
	return st;
}

/* shipped_of - a connection's client-chain record, created on demand; NULL on ENOMEM */
static struct shipped *shipped_of(SSL *s)
{
	struct shipped *sh = SSL_get_ex_data(s, ship_idx);

	if (!sh && (sh = OPENSSL_zalloc(sizeof(*sh))) && !SSL_set_ex_data(s, ship_idx, sh)) {
		OPENSSL_free(sh);
		sh = NULL;
	}
	return sh;
}

/* client_add - client: the port in the ClientHello (a server's chain asked
 * for); our own chain in our end-entity CertificateEntry (OpenSSL calls this
 * only when the CertificateRequest asked for it) */
static int client_add(SSL *s, struct ctx_state *st, unsigned int context, const unsigned char **out,
		      size_t *outlen, size_t chainidx)
{
	struct conn *c = SSL_get_ex_data(s, conn_idx);
	struct shipped *sh;
	uint8_t *copy;
	size_t len;

	if (context == SSL_EXT_CLIENT_HELLO) {
		if (!c || c->c->policy == SIPDANCE_CHAIN_OFF || !(copy = malloc(2)))
			return 0;
		copy[0] = (uint8_t)(c->port >> 8);
		copy[1] = (uint8_t)c->port;
		*out = copy;
		*outlen = 2;
		return 1;
	}
	if (context != SSL_EXT_TLS1_3_CERTIFICATE || chainidx != 0 || !st->ship ||
	    !(copy = sd_chain_source_copy(st->ship, time(NULL), &len)))
		return 0;
	if (len > SIPDANCE_CHAIN_MAX_EXT || len < 2 || !(sh = shipped_of(s))) {
		free(copy);
		return 0;
	}
	copy[0] = copy[1] = 0; /* ExtSupportLifetime: a server does not pin clients */
	sh->ours = 1;
	*out = copy;
	*outlen = len;
	return 1;
}

/* ext_add - what we send of extension 59, by role and message */
static int ext_add(SSL *s, unsigned int type, unsigned int context, const unsigned char **out,
		   size_t *outlen, X509 *x, size_t chainidx, int *al, void *arg)
{
	static const unsigned char empty[1];
	struct ctx_state *st = ctx_state(SSL_get_SSL_CTX(s), 0);
	uint8_t *copy;
	size_t len;

	if (!st)
		return 0;
	if (!SSL_is_server(s))
		return client_add(s, st, context, out, outlen, chainidx);
	/* a server asking clients for their chains: empty in the CertificateRequest */
	if (context == SSL_EXT_TLS1_3_CERTIFICATE_REQUEST) {
		if (!st->ask)
			return 0;
		*out = empty;
		*outlen = 0;
		return 1;
	}
	/*
	 * Whether the server sends its chain:
	 *  - only in the end-entity entry (chainidx 0) or the 1.2 ServerHello;
	 *  - only if the ClientHello asked for our port (OpenSSL already
	 *    withholds it from clients that did not ask at all);
	 *  - only while the chain has not expired, never a stale one;
	 *  - only if it fits the message; otherwise the extension is left out.
	 */
	if (!st->src || (context == SSL_EXT_TLS1_3_CERTIFICATE && chainidx != 0) ||
	    (context != SSL_EXT_TLS1_3_CERTIFICATE && context != SSL_EXT_TLS1_2_SERVER_HELLO))
		return 0;
	if ((uintptr_t)SSL_get_ex_data(s, port_idx) != (uintptr_t)sd_chain_source_port(st->src) + 1)
		return 0;
	if (!(copy = sd_chain_source_copy(st->src, time(NULL), &len)))
		return 0;
	if (len > (context == SSL_EXT_TLS1_2_SERVER_HELLO ? TLS12_MAX_EXT : SIPDANCE_CHAIN_MAX_EXT)) {
		free(copy);
		return 0;
	}
	*out = copy;
	*outlen = len;
	return 1;
}

/* ext_free - release what ext_add produced */
static void ext_free(SSL *s, unsigned int type, unsigned int context, const unsigned char *out,
		     void *arg)
{
	if (context != SSL_EXT_TLS1_3_CERTIFICATE_REQUEST)
		free((void *)out);
}

/* client_parse - validate a received chain now, before the certificate decision */
static int client_parse(SSL *s, struct conn *c, const unsigned char *in, size_t inlen)
{
	const uint8_t *chain;
	size_t len;
	char owner[300];
	const char *why = NULL;

	c->seen = 1;
	sipdance_chain_result_clear(&c->r);
	if (sipdance_chain_ext_decode(in, inlen, &c->lifetime, &chain, &len, &why)) {
		snprintf(c->r.why, sizeof(c->r.why), "malformed extension: %s", why);
		return 1;
	}
	snprintf(owner, sizeof(owner), "_%u._tcp.%s", c->port, c->host);
	if (sipdance_chain_validate(c->c->ta, chain, len, owner, 0, &c->r))
		snprintf(c->r.why, sizeof(c->r.why), "chain could not be validated (out of memory)");
	return 1;
}

/* server_parse - server: the port a client asks our chain for; a client's
 * own chain, kept for the clientid decision */
static int server_parse(SSL *s, unsigned int context, const unsigned char *in, size_t inlen,
			size_t chainidx, int *al)
{
	struct ctx_state *st = ctx_state(SSL_get_SSL_CTX(s), 0);
	struct shipped *sh;

	if (context == SSL_EXT_CLIENT_HELLO) {
		if (inlen != 2) {
			*al = SSL_AD_DECODE_ERROR;
			return 0;
		}
		SSL_set_ex_data(s, port_idx, (void *)((uintptr_t)(in[0] << 8 | in[1]) + 1));
		return 1;
	}
	/*
	 * A client's chain, case by case:
	 *  - we did not ask (no CertificateRequest offer): ignored;
	 *  - in another entry than the end entity's: ignored, it speaks for
	 *    nobody (a client with only such a one has shipped no chain);
	 *  - in the end-entity entry: kept as it came; its contents are judged
	 *    with the name it must prove (sipdance_clientid_*), not here.
	 */
	if (context != SSL_EXT_TLS1_3_CERTIFICATE || !st || !st->ask)
		return 1;
	if (chainidx != 0) {
		sd_log(SIPDANCE_LOG_INFO, "chain", "client chain in certificate entry %zu ignored "
		       "(only the end entity's counts)", chainidx);
		return 1;
	}
	if (!(sh = shipped_of(s))) {
		*al = SSL_AD_INTERNAL_ERROR;
		return 0;
	}
	OPENSSL_free(sh->ext);
	sh->len = 0;
	if (!(sh->ext = OPENSSL_malloc(inlen ? inlen : 1))) {
		*al = SSL_AD_INTERNAL_ERROR;
		return 0;
	}
	memcpy(sh->ext, in, inlen);
	sh->len = inlen;
	return 1;
}

/* ext_parse - extension 59 received, by role and message */
static int ext_parse(SSL *s, unsigned int type, unsigned int context, const unsigned char *in,
		     size_t inlen, X509 *x, size_t chainidx, int *al, void *arg)
{
	struct conn *c;

	if (SSL_is_server(s))
		return server_parse(s, context, in, inlen, chainidx, al);
	/* a CertificateRequest asking for our chain: OpenSSL lets client_add run */
	if (context == SSL_EXT_TLS1_3_CERTIFICATE_REQUEST)
		return 1;
	if (!(c = SSL_get_ex_data(s, conn_idx)) ||
	    (context == SSL_EXT_TLS1_3_CERTIFICATE && chainidx != 0))
		return 1;
	if (context != SSL_EXT_TLS1_3_CERTIFICATE && context != SSL_EXT_TLS1_2_SERVER_HELLO)
		return 1;
	return client_parse(s, c, in, inlen);
}

/* register_ext - extension 59 on @ctx, once, for every message it may be
 * in: OpenSSL takes one registration per type and context */
static int register_ext(SSL_CTX *ctx, struct ctx_state *st)
{
	if (st->registered)
		return 0;
	if (SSL_CTX_add_custom_ext(ctx, SIPDANCE_CHAIN_EXT_TYPE, SSL_EXT_CLIENT_HELLO |
				   SSL_EXT_TLS1_3_CERTIFICATE | SSL_EXT_TLS1_2_SERVER_HELLO |
				   SSL_EXT_TLS1_3_CERTIFICATE_REQUEST,
				   ext_add, ext_free, NULL, ext_parse, NULL) != 1) {
		ERR_clear_error();
		return EEXIST;
	}
	st->registered = 1;
	return 0;
}

/* registered - @ctx's state, with extension 59 registered; 0, ENOMEM or EEXIST */
static int registered(SSL_CTX *ctx, struct ctx_state **st)
{
	return !(*st = ctx_state(ctx, 1)) ? ENOMEM : register_ext(ctx, *st);
}

/* sipdance_chain_server_attach - serve @src on @ctx */
int sipdance_chain_server_attach(SSL_CTX *ctx, struct sipdance_chain_source *src)
{
	struct ctx_state *st;
	int err;

	if (!ctx || !src)
		return EINVAL;
	if ((err = registered(ctx, &st)) || (err = st->src ? EEXIST : 0))
		return err;
	st->src = src;
	return 0;
}

/* sipdance_chain_ask_clients - ask @ctx's TLS 1.3 clients for their chains */
int sipdance_chain_ask_clients(SSL_CTX *ctx)
{
	struct ctx_state *st;
	int err;

	if (!ctx)
		return EINVAL;
	if ((err = registered(ctx, &st)))
		return err;
	st->ask = 1;
	return 0;
}

/* sipdance_chain_ship - ship @src's chain to servers of @ctx that ask */
int sipdance_chain_ship(SSL_CTX *ctx, struct sipdance_chain_source *src)
{
	struct ctx_state *st;
	int err;

	if (!ctx || !src)
		return EINVAL;
	if ((err = registered(ctx, &st)) || (err = st->ship ? EEXIST : 0))
		return err;
	st->ship = src;
	return 0;
}

/* sipdance_chain_shipped - what the client of @ssl shipped in its end-entity entry */
const uint8_t *sipdance_chain_shipped(const SSL *ssl, size_t *len)
{
	const struct shipped *sh;

	pthread_once(&idx_once, init_idx);
	if (!ssl || ship_idx < 0 || !(sh = SSL_get_ex_data(ssl, ship_idx)) || !sh->ext)
		return NULL;
	if (len)
		*len = sh->len;
	return sh->ext;
}

/* sd_chain_shipped_release - the client's chain of @ssl has been judged: its copy goes */
void sd_chain_shipped_release(SSL *ssl)
{
	struct shipped *sh;

	pthread_once(&idx_once, init_idx);
	if (ssl && ship_idx >= 0 && (sh = SSL_get_ex_data(ssl, ship_idx))) {
		OPENSSL_free(sh->ext);
		sh->ext = NULL;
		sh->len = 0;
	}
}

/* sipdance_chain_shipped_ours - whether we shipped our chain on @ssl */
int sipdance_chain_shipped_ours(const SSL *ssl)
{
	const struct shipped *sh;

	pthread_once(&idx_once, init_idx);
	return ssl && ship_idx >= 0 && (sh = SSL_get_ex_data(ssl, ship_idx)) && sh->ours;
}

/* sipdance_chain_client_pins - the pin store of @c */
struct sipdance_chain_pins *sipdance_chain_client_pins(struct sipdance_chain_client *c)
{
	return c ? c->pins : NULL;
}

/* sipdance_chain_client_alloc - anchor, pins and verifier */
int sipdance_chain_client_alloc(struct sipdance_chain_client **out,
				const struct sipdance_chain_client_conf *conf, const char **why)
{
	struct sipdance_chain_client_conf cf;
	struct sipdance_chain_client *c;
	int err;

	if ((err = SD_CONF(&cf, conf, why)))
		return err;
	conf = &cf;
	if (!out)
		return sd_fail(why, "no place for the client", EINVAL);
	if (!(c = calloc(1, sizeof(*c))))
		return sd_fail(why, "out of memory", ENOMEM);
	c->policy = conf->policy;
	if ((err = sd_anchor_take(&c->ta, conf->anchor, conf->trust_anchor, why)) ||
	    (err = sipdance_chain_pins_open(&c->pins, conf->pin_file, conf->max_pins, why)))
		goto out;
	if ((err = sipdance_dane_alloc(&c->dane, conf->ca_file))) {
		sd_fail(why, err == ENOMEM ? "out of memory" : "CA file unreadable or empty", err);
		err = err == ENOMEM ? ENOMEM : EINVAL;
		goto out;
	}
	*out = c;
	return 0;
out:
	sipdance_chain_client_free(c);
	return err;
}

/* sipdance_chain_client_free - free a client */
void sipdance_chain_client_free(struct sipdance_chain_client *c)
{
	if (!c)
		return;
	sipdance_anchor_free(c->ta);
	sipdance_chain_pins_free(c->pins);
	sipdance_dane_free(c->dane);
	free(c);
}

/* refuse - record a failing verdict and fail the certificate */
static int __attribute__((format(printf, 4, 5)))
refuse(struct conn *c, X509_STORE_CTX *xctx, enum sipdance_result r, const char *fmt, ...)
{
	va_list ap;

	c->v.result = r;
	va_start(ap, fmt);
	vsnprintf(c->v.reason, sizeof(c->v.reason), fmt, ap);
	va_end(ap);
	sd_log(SIPDANCE_LOG_INFO, "chain", "%s:%u: %s: %s", c->host, c->port, sipdance_result_str(r),
	       c->v.reason);
	X509_STORE_CTX_set_error(xctx, X509_V_ERR_APPLICATION_VERIFICATION);
	return 0;
}

/* decide - the certificate decision of an attached client connection */
static int decide(SSL *s, struct conn *c, X509_STORE_CTX *xctx)
{
	const char *names[16];
	struct sipdance_dane_params p = { .names = names };
	time_t now = time(NULL), pinned;
	char until[32];
	struct tm tm;
	int err;

	c->decided = 1;
	c->accepted = 0;
	c->v = (struct sipdance_verdict){ .usage = -1, .selector = -1, .mtype = -1, .depth = -1 };
	pinned = c->c->pins ? sipdance_chain_pins_until(c->c->pins, c->host, c->port, now) : 0;
	/*
	 * The decision, case by case:
	 *  - a chain arrived and does not validate: BOGUS, refused;
	 *  - it validates:
	 *      - TLSA records: DANE matching against the peer's chain; only
	 *        MATCH passes (names: the caller's, else the host);
	 *      - a denial: NODATA, or INSECURE for a name in a zone proven
	 *        unsigned; the connection's own verification decides;
	 *    the pin changes from its lifetime (0 removes it) only once the
	 *    handshake has completed (info_cb): the lifetime is not signed, and
	 *    the server proves its key only after this callback;
	 *  - no chain, pinned: refused until the pin expires;
	 *  - no chain, policy required: refused;
	 *  - no chain otherwise: INDETERMINATE; own verification decides.
	 */
	if (c->seen && !c->r.secure)
		return refuse(c, xctx, SIPDANCE_BOGUS, "DNSSEC chain: %s", c->r.why);
	if (c->seen) {
		if (c->r.insecure) {
			sd_verdict_set(&c->v, SIPDANCE_INSECURE, "DNSSEC chain proves no usable TLSA: %s", c->r.why);
			return c->accepted = X509_verify_cert(xctx) == 1;
		}
		if (c->r.denial) {
			sd_verdict_set(&c->v, SIPDANCE_NODATA, "DNSSEC chain proves no TLSA at %s", c->r.name);
			return c->accepted = X509_verify_cert(xctx) == 1;
		}
		for (size_t i = 0; i < c->nnames && p.nnames < 16; i++)
			names[p.nnames++] = c->names[i];
		if (!p.nnames)
			names[p.nnames++] = c->host;
		err = sipdance_dane_verify(c->c->dane, c->r.tlsa, X509_STORE_CTX_get0_untrusted(xctx), &p,
					   &c->v);
		if (err)
			return refuse(c, xctx, SIPDANCE_INDETERMINATE, "DANE check failed: %s", strerror(err));
		if (c->v.result != SIPDANCE_MATCH) {
			X509_STORE_CTX_set_error(xctx, X509_V_ERR_DANE_NO_MATCH);
			return 0;
		}
		sd_log(SIPDANCE_LOG_INFO, "chain", "%s:%u authenticated by its DNSSEC chain, no DNS lookup: %s",
		       c->host, c->port, c->v.reason);
		X509_STORE_CTX_set_error(xctx, X509_V_OK);
		return c->accepted = 1;
	}
	if (pinned) {
		gmtime_r(&pinned, &tm);
		strftime(until, sizeof(until), "%Y-%m-%dT%H:%M:%SZ", &tm);
		return refuse(c, xctx, SIPDANCE_INDETERMINATE, "no DNSSEC chain, but pinned until %s", until);
	}
	if (c->c->policy == SIPDANCE_CHAIN_REQUIRED)
		return refuse(c, xctx, SIPDANCE_INDETERMINATE, "no DNSSEC chain (%s)", "chain=required");
	sd_verdict_set(&c->v, SIPDANCE_INDETERMINATE, "no DNSSEC chain; left to the connection's own "
		       "verification");
	return X509_verify_cert(xctx);
}

/* info_cb - at the end of a handshake that authenticated the server with a
 * validated chain, set, extend or remove its pin; then the SSL's or its
 * context's own info callback */
static void info_cb(const SSL *s, int where, int ret)
{
	struct conn *c = SSL_get_ex_data(s, conn_idx);
	void (*next)(const SSL *, int, int) = c ? c->info : NULL;

	if (c && (where & SSL_CB_HANDSHAKE_DONE) && c->accepted && c->c->pins) {
		c->accepted = 0;
		sipdance_chain_pins_note(c->c->pins, c->host, c->port, c->lifetime, time(NULL));
	}
	if (!next)
		next = SSL_CTX_get_info_callback(SSL_get_SSL_CTX(s));
	if (next)
		next(s, where, ret);
}

/* sipdance_chain_client_decide - the certificate decision, for any callback */
int sipdance_chain_client_decide(X509_STORE_CTX *xctx)
{
	SSL *s = X509_STORE_CTX_get_ex_data(xctx, SSL_get_ex_data_X509_STORE_CTX_idx());
	struct conn *c;

	pthread_once(&idx_once, init_idx);
	c = s && !SSL_is_server(s) ? SSL_get_ex_data(s, conn_idx) : NULL;
	if (!c)
		return X509_verify_cert(xctx);
	return decide(s, c, xctx);
}

/* sd_tls_cert_verify - the certificate callback the library installs on a
 * context: a server's SSL is judged by dane_clientid, a client's by the
 * server's chain; each is X509_verify_cert() when not attached */
int sd_tls_cert_verify(X509_STORE_CTX *xctx, void *arg)
{
	SSL *s = X509_STORE_CTX_get_ex_data(xctx, SSL_get_ex_data_X509_STORE_CTX_idx());

	return s && SSL_is_server(s) ? sipdance_clientid_decide(xctx) : sipdance_chain_client_decide(xctx);
}

/* sipdance_chain_client_ctx_attach - extension and certificate callback on @ctx */
int sipdance_chain_client_ctx_attach(SSL_CTX *ctx, struct sipdance_chain_client *c)
{
	struct ctx_state *st;
	int err;

	if (!ctx || !c)
		return EINVAL;
	if ((err = registered(ctx, &st)) || (err = st->client ? EEXIST : 0))
		return err;
	st->client = c;
	SSL_CTX_set_cert_verify_callback(ctx, sd_tls_cert_verify, NULL);
	return 0;
}

/* sipdance_chain_client_attach - per-connection state, SNI, verify mode */
int sipdance_chain_client_attach(SSL *ssl, struct sipdance_chain_client *cl, const char *host,
				 uint16_t port, const char *const *names, size_t nnames)
{
	struct ctx_state *st;
	struct conn *c, *old;
	char key[256];

	if (!ssl || !cl || !host || !port || (nnames && !names) || pin_key(host, key))
		return EINVAL;
	if (!(st = ctx_state(SSL_get_SSL_CTX(ssl), 0)) || st->client != cl)
		return EINVAL;
	if (!(c = calloc(1, sizeof(*c))))
		return ENOMEM;
	c->c = cl;
	c->port = port;
	snprintf(c->host, sizeof(c->host), "%s", key);
	if (nnames && !(c->names = calloc(nnames, sizeof(*c->names))))
		goto nomem;
	for (; c->nnames < nnames; c->nnames++)
		if (!(c->names[c->nnames] = strdup(names[c->nnames])))
			goto nomem;
	/* attached again: the first attachment's state goes, its saved callback stays */
	old = SSL_get_ex_data(ssl, conn_idx);
	c->info = old ? old->info : SSL_get_info_callback(ssl);
	if (!SSL_set_tlsext_host_name(ssl, c->host) || !SSL_set_ex_data(ssl, conn_idx, c))
		goto nomem;
	conn_free(NULL, old, NULL, 0, 0, NULL);
	SSL_set_verify(ssl, SSL_VERIFY_PEER, NULL);
	SSL_set_info_callback(ssl, info_cb);
	return 0;
nomem:
	ERR_clear_error();
	conn_free(NULL, c, NULL, 0, 0, NULL);
	return ENOMEM;
}

/* sipdance_chain_client_verdict - the decision after the handshake */
int sipdance_chain_client_verdict(const SSL *ssl, struct sipdance_verdict *v, uint16_t *lifetime)
{
	struct conn *c;

	pthread_once(&idx_once, init_idx);
	if (!ssl || !v || !(c = SSL_get_ex_data(ssl, conn_idx)))
		return EINVAL;
	if (!c->decided) {
		*v = (struct sipdance_verdict){ .usage = -1, .selector = -1, .mtype = -1, .depth = -1 };
		sd_verdict_set(v, SIPDANCE_INDETERMINATE, "no certificate decision was made");
	} else {
		*v = c->v;
	}
	if (lifetime)
		*lifetime = c->seen ? c->lifetime : 0;
	return 0;
}
