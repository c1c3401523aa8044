/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * conf.c - sipdance-proxy's configuration: a file of "key = value" lines
 * and one long option per key, with the same names. The file is read first,
 * then the command line, so a flag overrides a file value; repeatable keys
 * (listen, location) accumulate. Every value is checked here, so a bad
 * configuration stops the proxy at startup with a message naming the key.
 */
#include "proxy.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sipdance/clientid.h>
#include <sofia-sip/su_string.h>
#include "auth.h"
#include "stir.h"

enum kind { K_STR, K_LISTEN, K_LOCATION, K_DANE, K_LEVEL, K_UINT, K_CONFIG };

static const struct key {
	const char *name;
	enum kind kind;
	size_t off; /* of the field in struct px_conf, for K_STR and K_UINT */
	const char *help;
} keys[] = {
	{ "config", K_CONFIG, 0, "FILE       read keys from FILE (\"key = value\" lines, # comments)" },
	{ "domain", K_STR, offsetof(struct px_conf, domain), "D          the SIP domain this proxy serves (required)" },
	{ "listen", K_LISTEN, 0, "URI        listener, e.g. sips:127.0.0.1:5061;transport=tls (repeatable)" },
	{ "cert", K_STR, offsetof(struct px_conf, cert), "PEM          TLS certificate chain, end entity first" },
	{ "key", K_STR, offsetof(struct px_conf, key), "PEM           TLS private key" },
	{ "trust-anchor", K_STR, offsetof(struct px_conf, trust_anchor), "FILE DNSSEC root DS or DNSKEY lines" },
	{ "resolver", K_STR, offsetof(struct px_conf, resolver), "ADDR[@PORT] the DNS resolver asked (DNSSEC validated here)" },
	{ "dane", K_DANE, 0, "MODE         required | opportunistic (default) | off" },
	{ "ca-file", K_STR, offsetof(struct px_conf, ca_file), "FILE      PKIX roots for the RFC 5922 fallback" },
	{ "location", K_LOCATION, 0, "AOR=CONTACT static location entry (repeatable)" },
	{ "e164-route", K_STR, offsetof(struct px_conf, e164_route), "URI    next hop for tel: and user=phone numbers" },
	{ "log-level", K_LEVEL, 0, "LEVEL   error | warn | info (default) | debug" },
	{ "metrics", K_STR, offsetof(struct px_conf, metrics), "[ADDR:]PORT serve Prometheus metrics there (GET /metrics; ADDR default 127.0.0.1)" },
	{ "trace", K_STR, offsetof(struct px_conf, trace), "on|off      every SIP message sent and received, in the log (default off)" },
	{ "dns-failure-ttl", K_UINT, offsetof(struct px_conf, dns_failure_ttl), "S  a failed lookup (timeout, SERVFAIL, bogus) is remembered S seconds (default 30)" },
	{ "dns-timeout", K_UINT, offsetof(struct px_conf, dns_timeout_ms), "MS  a DNS lookup with no answer fails after MS milliseconds (default 3000)" },
	{ "handshake-timeout", K_UINT, offsetof(struct px_conf, handshake_timeout_ms), "MS limit for an outbound TLS handshake (default 2000)" },
	{ "max-expires", K_UINT, offsetof(struct px_conf, max_expires), "S    registrar cap on Expires (default 3600)" },
	{ "max-pending", K_UINT, offsetof(struct px_conf, max_pending), "N    new requests get 503 past N in progress (default 1000)" },
	{ "idle-timeout", K_UINT, offsetof(struct px_conf, idle_timeout), "S   close a connection that carries no binding after S s unused (default 120)" },
	{ "accept-timeout", K_UINT, offsetof(struct px_conf, accept_timeout_ms), "MS an inbound TLS handshake, or TCP data, must come by then (default 10000)" },
	{ "max-connections", K_UINT, offsetof(struct px_conf, max_connections), "N inbound TCP and TLS connections at once (default 1024)" },
	{ "max-source-connections", K_UINT, offsetof(struct px_conf, max_source_connections), "N from one address (default 64)" },
	{ "max-source-handshakes", K_UINT, offsetof(struct px_conf, max_source_handshakes), "N new TLS connections from one address per 10 s (default 20)" },
	{ "max-contacts", K_UINT, offsetof(struct px_conf, max_contacts), "N   registrar: bindings per AOR (default 10)" },
	{ "max-source-bindings", K_UINT, offsetof(struct px_conf, max_source_bindings), "N registrar: bindings from one source address (default 100)" },
	{ "client-auth", K_STR, offsetof(struct px_conf, client_auth), "MODE dane_clientid on TLS listeners: off | optional (default) | required" },
	{ "client-domains", K_STR, offsetof(struct px_conf, client_domains), "D,D client domains whose TLSA is looked up (default: --domain)" },
	{ "chain", K_STR, offsetof(struct px_conf, chain), "MODE       RFC 9102 DNSSEC chain: required | prefer (default) | off" },
	{ "chain-lifetime", K_UINT, offsetof(struct px_conf, chain_lifetime), "H ExtSupportLifetime we serve, hours (default 0: no pinning)" },
	{ "chain-refresh", K_UINT, offsetof(struct px_conf, chain_refresh), "S refresh the chain we serve at least every S seconds (default: 3/4 into its TTL)" },
	{ "chain-pins", K_STR, offsetof(struct px_conf, chain_pins), "FILE  pins of peers that served a chain (default: memory only)" },
	{ "client-name", K_STR, offsetof(struct px_conf, client_name), "HOST our dane_clientid on outbound TLS, e.g. sip.a.example" },
	{ "client-chain", K_STR, offsetof(struct px_conf, client_chain), "MODE DANCE clients' own DNSSEC chains: required (no lookup) | prefer (default) | off" },
	{ "client-chain-file", K_STR, offsetof(struct px_conf, client_chain_file), "F our own chain for --client-name (sipdance chain build --name), instead of our resolver" },
	{ "stir", K_STR, offsetof(struct px_conf, stir), "MODE          STIR/SHAKEN: off (default) | verify | sign | verify,sign" },
	{ "stir-fail", K_STR, offsetof(struct px_conf, stir_fail), "HOW      failed verification: reject (default) | annotate" },
	{ "stir-ca-file", K_STR, offsetof(struct px_conf, stir_ca_file), "FILE  STI-CA roots (PEM) for --stir verify" },
	{ "stir-max-age", K_UINT, offsetof(struct px_conf, stir_max_age), "S     oldest iat accepted (default 60)" },
	{ "stir-x5u-timeout", K_UINT, offsetof(struct px_conf, stir_x5u_timeout_ms), "MS x5u fetch limit (default 2000)" },
	{ "stir-x5u-allow", K_STR, offsetof(struct px_conf, stir_x5u_allow), "L   x5u beyond HTTPS on public 443/8443: private,any-port,http" },
	{ "stir-x5u-tls-ca", K_STR, offsetof(struct px_conf, stir_x5u_tls_ca), "F  roots for x5u HTTPS servers (default: system)" },
	{ "stir-key", K_STR, offsetof(struct px_conf, stir_key), "PEM       EC P-256 signing key for --stir sign" },
	{ "stir-x5u", K_STR, offsetof(struct px_conf, stir_x5u), "URL       x5u of the signing certificate chain" },
	{ "stir-attest", K_STR, offsetof(struct px_conf, stir_attest), "A|B|C  highest attestation signed (default A; each call earns its own)" },
	{ "stir-orig-range", K_STR, offsetof(struct px_conf, stir_orig_range), "R,R numbers we sign for: 12025551000 or 1202555* (required to sign)" },
	{ "state", K_STR, offsetof(struct px_conf, state), "URL          state shared by the nodes of the domain: redis://ADDR:PORT[/DB] (default: none, this node alone)" },
	{ "state-password-file", K_STR, offsetof(struct px_conf, state_password_file), "F Redis password, read from file F" },
	{ "state-timeout", K_UINT, offsetof(struct px_conf, state_timeout_ms), "MS  a Redis reply later than MS drops the connection (default 1000)" },
	{ "state-fail", K_STR, offsetof(struct px_conf, state_fail), "HOW     Redis unreachable: closed (default: 503) | open (unchecked, logged)" },
	{ "node-id", K_STR, offsetof(struct px_conf, node_id), "NAME       this node's name in the shared state (default: the host name)" },
	{ "node-address", K_STR, offsetof(struct px_conf, node_address), "A:P   where the other nodes reach flows registered here (default: the first TLS listener with an IP)" },
	{ "local-auth", K_STR, offsetof(struct px_conf, local_auth), "MODE  local users authenticated: required (default) | off (open relay)" },
	{ "users", K_STR, offsetof(struct px_conf, users), "FILE         Digest users: user:realm:HA1-MD5:HA1-SHA-256[:NUMBERS] lines" },
	{ "trusted", K_STR, offsetof(struct px_conf, trusted), "CIDR[,CIDR] PBXs and gateways of ours, routed unauthenticated (attestation C)" },
	{ "digest-algorithms", K_STR, offsetof(struct px_conf, digest_algorithms), "L Digest algorithms offered, in order: SHA-256,MD5 (default)" },
	{ "auth-secret", K_STR, offsetof(struct px_conf, auth_secret), "FILE   key of Digest nonces and dialog tokens (default: random per start)" },
};

/* px_conf_usage - the --help text */
void px_conf_usage(FILE *fp)
{
	fprintf(fp, "usage: sipdance-proxy [--KEY VALUE]... (see sipdance-proxy(8))\n");
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		fprintf(fp, "  --%s %s\n", keys[i].name, keys[i].help);
	fprintf(fp, "  --help            this text\n");
}

/* find - the key called @name */
static const struct key *find(const char *name)
{
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (!strcmp(keys[i].name, name))
			return &keys[i];
	return NULL;
}

/* set - give key @k the value @v (copied into @home) */
static int set(struct px_conf *c, su_home_t *home, const struct key *k, const char *v,
	       char *why, size_t whysize)
{
	char *end, *copy = su_strdup(home, v), *eq;
	unsigned long n;

	if (!copy)
		return ENOMEM;
	switch (k->kind) {
	case K_CONFIG:
		c->config_file = copy;
		return 0;
	case K_STR:
		if (!*copy) {
			snprintf(why, whysize, "--%s: empty value", k->name);
			return EINVAL;
		}
		*(const char **)((char *)c + k->off) = copy;
		return 0;
	case K_LISTEN:
		if (c->nlisten == PX_MAX_LISTEN) {
			snprintf(why, whysize, "--listen: more than %d listeners", PX_MAX_LISTEN);
			return EINVAL;
		}
		if (strncasecmp(copy, "sip:", 4) && strncasecmp(copy, "sips:", 5)) {
			snprintf(why, whysize, "--listen %s: not a sip: or sips: URI", copy);
			return EINVAL;
		}
		c->listen[c->nlisten++] = copy;
		return 0;
	case K_LOCATION:
		if (!(eq = strchr(copy, '=')) || eq == copy || !eq[1] || !strchr(copy, '@') ||
		    eq < strchr(copy, '@')) {
			snprintf(why, whysize, "--location %s: want AOR=CONTACT, e.g. "
				 "bob@b.example=sip:bob@127.0.0.2:5090", copy);
			return EINVAL;
		}
		if (c->nlocation == PX_MAX_LOCATION) {
			snprintf(why, whysize, "--location: more than %d entries", PX_MAX_LOCATION);
			return EINVAL;
		}
		*eq = '\0';
		if (!strncasecmp(copy, "sip:", 4))
			copy += 4;
		c->location[c->nlocation].aor = copy;
		c->location[c->nlocation++].contact = eq + 1;
		return 0;
	case K_DANE:
		if (sipdance_policy_mode_parse(copy, &c->dane_mode)) {
			snprintf(why, whysize, "--dane %s: want required, opportunistic or off", copy);
			return EINVAL;
		}
		return 0;
	case K_LEVEL:
		if (!strcmp(copy, "error"))
			c->log_level = SIPDANCE_LOG_ERR;
		else if (!strcmp(copy, "warn"))
			c->log_level = SIPDANCE_LOG_WARN;
		else if (!strcmp(copy, "info"))
			c->log_level = SIPDANCE_LOG_INFO;
		else if (!strcmp(copy, "debug"))
			c->log_level = SIPDANCE_LOG_DEBUG;
		else {
			snprintf(why, whysize, "--log-level %s: want error, warn, info or debug", copy);
			return EINVAL;
		}
		return 0;
	case K_UINT:
		errno = 0;
		n = strtoul(copy, &end, 10);
		if (errno || end == copy || *end || n == 0 || n > 86400000) {
			snprintf(why, whysize, "--%s %s: want a positive number", k->name, copy);
			return EINVAL;
		}
		*(unsigned *)((char *)c + k->off) = (unsigned)n;
		return 0;
	}
	return EINVAL;
}

/* trim - strip white space at both ends, in place */
static char *trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' || e[-1] == '\r'))
		*--e = '\0';
	return s;
}

/* read_file - apply every line of the config file */
static int read_file(struct px_conf *c, su_home_t *home, const char *file, char *why, size_t whysize)
{
	char line[2048], *k, *v, *eq;
	const struct key *key;
	unsigned lineno = 0;
	FILE *fp = fopen(file, "r");
	int err = 0;

	if (!fp) {
		snprintf(why, whysize, "--config %s: %s", file, strerror(errno));
		return errno;
	}
	while (!err && fgets(line, sizeof(line), fp)) {
		lineno++;
		k = trim(line);
		if (!*k || *k == '#')
			continue;
		if (!(eq = strchr(k, '='))) {
			snprintf(why, whysize, "%s:%u: want \"key = value\"", file, lineno);
			err = EINVAL;
			break;
		}
		*eq = '\0';
		k = trim(k);
		v = trim(eq + 1);
		if (!(key = find(k)) || key->kind == K_CONFIG) {
			snprintf(why, whysize, "%s:%u: unknown key \"%s\"", file, lineno, k);
			err = EINVAL;
			break;
		}
		if ((err = set(c, home, key, v, why, whysize))) {
			size_t len = strlen(why);

			snprintf(why + len, whysize - len, " (%s:%u)", file, lineno);
		}
	}
	fclose(fp);
	return err;
}

/* option - the key of argv[i] ("--key value" or "--key=value") and its value */
static int option(int argc, char **argv, int *i, const struct key **k, const char **v,
		  char *why, size_t whysize)
{
	char name[64];
	const char *a = argv[*i], *eq;
	size_t len;

	if (strncmp(a, "--", 2)) {
		snprintf(why, whysize, "unexpected argument \"%s\" (options are --KEY VALUE)", a);
		return EINVAL;
	}
	a += 2;
	eq = strchr(a, '=');
	len = eq ? (size_t)(eq - a) : strlen(a);
	if (len >= sizeof(name)) {
		snprintf(why, whysize, "unknown option --%.20s...", a);
		return EINVAL;
	}
	memcpy(name, a, len);
	name[len] = '\0';
	if (!(*k = find(name))) {
		snprintf(why, whysize, "unknown option --%s (try --help)", name);
		return EINVAL;
	}
	if (eq) {
		*v = eq + 1;
	} else if (*i + 1 < argc) {
		*v = argv[++*i];
	} else {
		snprintf(why, whysize, "--%s needs a value", name);
		return EINVAL;
	}
	return 0;
}

/* check - what must hold once everything is read */
static int check(const struct px_conf *c, char *why, size_t whysize)
{
	int tls = 0;

	if (!c->domain) {
		snprintf(why, whysize, "no --domain: the SIP domain this proxy serves is required");
		return EINVAL;
	}
	if (c->nlisten == 0) {
		snprintf(why, whysize, "no --listen URI given");
		return EINVAL;
	}
	for (size_t i = 0; i < c->nlisten; i++)
		if (!strncasecmp(c->listen[i], "sips:", 5) || su_strcasestr(c->listen[i], "transport=tls"))
			tls = 1;
	if (tls && (!c->cert || !c->key)) {
		snprintf(why, whysize, "a TLS listener needs --cert and --key");
		return EINVAL;
	}
	if (c->trace && strcmp(c->trace, "on") && strcmp(c->trace, "off")) {
		snprintf(why, whysize, "--trace %s: want on or off", c->trace);
		return EINVAL;
	}
	if (c->client_auth && strcmp(c->client_auth, "off") && strcmp(c->client_auth, "optional") &&
	    strcmp(c->client_auth, "required")) {
		snprintf(why, whysize, "--client-auth %s: want off, optional or required", c->client_auth);
		return EINVAL;
	}
	if (c->chain && strcmp(c->chain, "off") && strcmp(c->chain, "prefer") &&
	    strcmp(c->chain, "required")) {
		snprintf(why, whysize, "--chain %s: want required, prefer or off", c->chain);
		return EINVAL;
	}
	if (c->client_chain && strcmp(c->client_chain, "off") && strcmp(c->client_chain, "prefer") &&
	    strcmp(c->client_chain, "required")) {
		snprintf(why, whysize, "--client-chain %s: want required, prefer or off", c->client_chain);
		return EINVAL;
	}
	if (c->client_chain_file && (!c->client_name || !c->trust_anchor)) {
		snprintf(why, whysize, "--client-chain-file is our chain for --client-name: it needs "
			 "--client-name and --trust-anchor");
		return EINVAL;
	}
	if (c->client_name && sipdance_clientid_check(c->client_name, NULL, NULL, NULL)) {
		snprintf(why, whysize, "--client-name %s: not a host name", c->client_name);
		return EINVAL;
	}
	if (px_stir_conf_check(c, why, whysize) || px_auth_conf_check(c, why, whysize))
		return EINVAL;
	if (!!c->resolver != !!c->trust_anchor) {
		snprintf(why, whysize, "--resolver and --trust-anchor go together (DNSSEC validation "
			 "needs both)");
		return EINVAL;
	}
	return 0;
}

/* px_conf_parse - defaults, file, command line, checks */
int px_conf_parse(struct px_conf *c, su_home_t *home, int argc, char **argv,
		  char *why, size_t whysize, int *help)
{
	const struct key *k;
	const char *v;
	int err;

	memset(c, 0, sizeof(*c));
	c->dane_mode = SIPDANCE_POLICY_OPPORTUNISTIC;
	c->log_level = SIPDANCE_LOG_INFO;
	c->handshake_timeout_ms = 2000;
	c->max_expires = 3600;
	c->max_pending = 1000;
	c->idle_timeout = 120;
	c->accept_timeout_ms = 10000;
	c->max_connections = 1024;
	c->max_source_connections = 64;
	c->max_source_handshakes = 20;
	c->max_contacts = 10;
	c->max_source_bindings = 100;
	*help = 0;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			*help = 1;
			return 0;
		}
	}
	/* the config file first, wherever --config stands */
	for (int i = 1; i < argc; i++) {
		if ((err = option(argc, argv, &i, &k, &v, why, whysize)))
			return err;
		if (k->kind == K_CONFIG && (err = set(c, home, k, v, why, whysize)))
			return err;
	}
	if (c->config_file && (err = read_file(c, home, c->config_file, why, whysize)))
		return err;
	for (int i = 1; i < argc; i++) {
		if ((err = option(argc, argv, &i, &k, &v, why, whysize)))
			return err;
		if (k->kind != K_CONFIG && (err = set(c, home, k, v, why, whysize)))
			return err;
	}
	return check(c, why, whysize);
}
