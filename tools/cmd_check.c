/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cmd_check.c - `sipdance check`: locate a SIP domain's TLS servers with
 * DNSSEC, show every step, the TLSA RRset and the policy decision per
 * target, and with --connect authenticate each target over TLS.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <jansson.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <sipdance.h>
#include <sipdance/locate.h>
#include "tool.h"

#define CONNECT_TIMEOUT_MS 3000

static const char check_usage[] =
	"usage: sipdance check --trust-anchor FILE --resolver ADDR[@PORT] [--connect]\n"
	"                      [--ca-file F] [--dane required|opportunistic|off] [--json] URI\n"
	"  Locate the TLS servers of URI's domain (RFC 3263, DNSSEC-validated), print each\n"
	"  step with its records and DNSSEC status, the TLSA RRset per target and the policy\n"
	"  decision; --connect also performs the TLS handshake to each target (SNI = TLSA\n"
	"  base domain) and reports the authentication verdict. Exit 0 when at least one\n"
	"  target is usable (authenticated, with --connect), 1 when none is, 2 on bad input.\n"
	"  --json prints one JSON object (schema in docs/check-json.md).\n";

/* One target's connection outcome. */
struct conn {
	int tried;
	char addr[INET6_ADDRSTRLEN + 8];
	struct sipdance_verdict v;
};

/* connect_fd - TCP connection to one address within the timeout, or -1 and a reason */
static int connect_fd(int family, const uint8_t *addr, uint16_t port, char *why, size_t size)
{
	struct sockaddr_storage ss = { 0 };
	socklen_t len;
	struct pollfd pfd;
	int fd, err = 0;
	socklen_t elen = sizeof(err);

	if (family == AF_INET) {
		struct sockaddr_in *s = (struct sockaddr_in *)&ss;

		s->sin_family = AF_INET;
		s->sin_port = htons(port);
		memcpy(&s->sin_addr, addr, 4);
		len = sizeof(*s);
	} else {
		struct sockaddr_in6 *s = (struct sockaddr_in6 *)&ss;

		s->sin6_family = AF_INET6;
		s->sin6_port = htons(port);
		memcpy(&s->sin6_addr, addr, 16);
		len = sizeof(*s);
	}
	if ((fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK, 0)) < 0) {
		snprintf(why, size, "socket: %s", strerror(errno));
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&ss, len) < 0 && errno != EINPROGRESS) {
		err = errno;
	} else {
		pfd = (struct pollfd){ .fd = fd, .events = POLLOUT };
		if (poll(&pfd, 1, CONNECT_TIMEOUT_MS) != 1)
			err = ETIMEDOUT;
		else
			getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen);
	}
	if (err) {
		snprintf(why, size, "connect: %s", strerror(err));
		close(fd);
		return -1;
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	return fd;
}

/* handshake - TLS to one target, then authenticate its chain for the target */
static void handshake(SSL_CTX *ctx, const struct sipdance_dane *d, const struct sipdance_target *t,
		      struct conn *c)
{
	struct timeval tv = { .tv_sec = CONNECT_TIMEOUT_MS / 1000 };
	STACK_OF(X509) *chain;
	char why[200];
	SSL *ssl = NULL;
	int fd = -1;

	c->tried = 1;
	c->v = (struct sipdance_verdict){ .result = SIPDANCE_INDETERMINATE, .depth = -1 };
	if (!t->naddr) {
		snprintf(c->v.reason, sizeof(c->v.reason), "no address");
		return;
	}
	inet_ntop(t->addr[0].family, t->addr[0].addr, c->addr, sizeof(c->addr));
	/* Try the addresses in order; the first that accepts TCP is used. */
	for (size_t i = 0; i < t->naddr && fd < 0; i++) {
		inet_ntop(t->addr[i].family, t->addr[i].addr, c->addr, sizeof(c->addr));
		fd = connect_fd(t->addr[i].family, t->addr[i].addr, t->port, why, sizeof(why));
	}
	if (fd < 0) {
		snprintf(c->v.reason, sizeof(c->v.reason), "%s", why);
		return;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (!(ssl = SSL_new(ctx)) || !SSL_set_fd(ssl, fd) ||
	    !SSL_set_tlsext_host_name(ssl, t->base_domain) || SSL_connect(ssl) != 1) {
		unsigned long e = ERR_get_error();

		snprintf(c->v.reason, sizeof(c->v.reason), "TLS handshake failed: %s",
			 e ? ERR_reason_error_string(e) : "connection closed");
	} else if (!(chain = SSL_get_peer_cert_chain(ssl)) || sk_X509_num(chain) < 1) {
		snprintf(c->v.reason, sizeof(c->v.reason), "peer sent no certificate");
	} else if (sipdance_locate_target_verify(d, t, chain, &c->v)) {
		snprintf(c->v.reason, sizeof(c->v.reason), "verification error");
	}
	ERR_clear_error();
	SSL_free(ssl);
	close(fd);
}

/* step_json - one step as a JSON object */
static json_t *step_json(const struct sipdance_locate_step *s)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:s}", "query", s->what,
			 "status", sipdance_dns_status_str(s->status),
			 "rcode", sipdance_dns_rcode_str(s->rcode), "records", s->records, "why", s->why);
}

/* target_json - one target, its TLSA, decision and connection */
static json_t *target_json(const struct sipdance_target *t, const struct conn *c)
{
	json_t *o, *addrs = json_array(), *tlsa = json_array(), *refids = json_array();
	char a[INET6_ADDRSTRLEN], rec[SIPDANCE_TLSA_MAX_DATA * 2 + 16];

	for (size_t i = 0; i < t->naddr; i++)
		json_array_append_new(addrs, json_string(inet_ntop(t->addr[i].family, t->addr[i].addr,
								   a, sizeof(a))));
	for (size_t i = 0; i < sipdance_tlsa_set_count(t->tlsa); i++) {
		sipdance_tlsa_format(sipdance_tlsa_set_get(t->tlsa, i), rec, sizeof(rec));
		json_array_append_new(tlsa, json_string(rec));
	}
	for (size_t i = 0; i < t->nrefids; i++)
		json_array_append_new(refids, json_string(t->refids[i]));
	o = json_pack("{s:s, s:i, s:s, s:o, s:s, s:s, s:b, s:s, s:s, s:s, s:o, s:o, s:{s:s, s:s, s:s}}",
		      "host", t->host, "port", t->port, "transport", sipdance_locate_transport_str(t->transport),
		      "addresses", addrs, "address_status", sipdance_dns_status_str(t->addr_status),
		      "tlsa_name", t->tlsa_name, "tlsa_looked_up", t->tlsa_looked_up,
		      "tlsa_status", t->tlsa_looked_up ? sipdance_dns_status_str(t->tlsa_status) : "",
		      "tlsa_rcode", t->tlsa_looked_up ? sipdance_dns_rcode_str(t->tlsa_rcode) : "",
		      "tlsa_why", t->tlsa_why, "tlsa", tlsa, "reference_ids", refids,
		      "decision", "action", sipdance_policy_action_str(t->decision.action),
		      "rule", t->decision.rule, "reason", t->decision.reason);
	json_object_set_new(o, "base_domain", json_string(t->base_domain));
	if (c->tried)
		json_object_set_new(o, "connect", json_pack("{s:s, s:s, s:s, s:i}", "address", c->addr,
							    "verdict", sipdance_result_str(c->v.result),
							    "reason", c->v.reason, "depth", c->v.depth));
	return o;
}

/* print_text - the human-readable report */
static void print_text(const char *uri, const struct sipdance_locate *loc, const struct conn *c,
		       int usable)
{
	printf("%s: domain %s, dane=%s\n", uri, sipdance_locate_domain(loc),
	       sipdance_policy_mode_str(sipdance_locate_mode(loc)));
	for (size_t i = 0; i < sipdance_locate_step_count(loc); i++) {
		const struct sipdance_locate_step *s = sipdance_locate_step(loc, i);

		printf("  %-40s %-13s %s%s%s%s\n", s->what, sipdance_dns_status_str(s->status),
		       s->rcode == SIPDANCE_DNS_FOUND ? s->records : sipdance_dns_rcode_str(s->rcode),
		       s->why[0] ? " (" : "", s->why, s->why[0] ? ")" : "");
	}
	for (size_t i = 0; i < sipdance_locate_count(loc); i++) {
		const struct sipdance_target *t = sipdance_locate_target(loc, i);
		char a[INET6_ADDRSTRLEN];

		printf("target %s:%u", t->host, t->port);
		for (size_t j = 0; j < t->naddr; j++)
			printf("%s%s", j ? ", " : " (", inet_ntop(t->addr[j].family, t->addr[j].addr, a, sizeof(a)));
		printf("%s\n", t->naddr ? ")" : " (no address)");
		if (t->tlsa_looked_up)
			printf("  TLSA %s: %s, %s, %zu record(s)%s%s\n", t->tlsa_name,
			       sipdance_dns_status_str(t->tlsa_status), sipdance_dns_rcode_str(t->tlsa_rcode),
			       sipdance_tlsa_set_count(t->tlsa), t->tlsa_why[0] ? ": " : "", t->tlsa_why);
		else
			printf("  TLSA %s: not looked up (the chain to it is not secure)\n", t->tlsa_name);
		printf("  policy: %s (%s): %s\n", sipdance_policy_action_str(t->decision.action), t->decision.rule,
		       t->decision.reason);
		if (c[i].tried)
			printf("  connect %s port %u, SNI %s: %s: %s\n", c[i].addr, t->port, t->base_domain,
			       sipdance_result_str(c[i].v.result), c[i].v.reason);
	}
	if (usable)
		printf("result: %d usable target(s)\n", usable);
	else
		printf("result: no usable target: %s\n", sipdance_locate_why(loc)[0]
			       ? sipdance_locate_why(loc) : "no target authenticated");
}

/* cmd_check - parse options, locate, optionally connect, report */
int cmd_check(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "trust-anchor", required_argument, NULL, 't' },
		{ "resolver", required_argument, NULL, 'r' },
		{ "connect", no_argument, NULL, 'c' },
		{ "ca-file", required_argument, NULL, 'a' },
		{ "dane", required_argument, NULL, 'd' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct sipdance_dns_conf dconf = { .size = sizeof(dconf) };
	struct sipdance_dns *dns = NULL;
	struct sipdance_dane *dane = NULL;
	struct sipdance_policy *policy = NULL;
	struct sipdance_locate *loc = NULL;
	struct conn *conns = NULL;
	enum sipdance_policy_mode mode = SIPDANCE_POLICY_OPPORTUNISTIC;
	const char *ca_file = NULL, *why = NULL;
	SSL_CTX *ctx = NULL;
	int c, doconnect = 0, json = 0, rc = EXIT_INPUT, usable = 0, err;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 't': dconf.trust_anchor = optarg; break;
		case 'r': dconf.resolver = optarg; break;
		case 'c': doconnect = 1; break;
		case 'a': ca_file = optarg; break;
		case 'd':
			if (sipdance_policy_mode_parse(optarg, &mode))
				return tool_error("--dane takes required, opportunistic or off");
			break;
		case 'j': json = 1; break;
		case 'h': fputs(check_usage, stdout); return EXIT_OK;
		default: fputs(check_usage, stderr); return EXIT_INPUT;
		}
	}
	if (!dconf.trust_anchor || !dconf.resolver)
		return tool_usage(check_usage, "--%s is required",
				  !dconf.trust_anchor ? "trust-anchor" : "resolver");
	if (optind != argc - 1)
		return tool_usage(check_usage, "expected one URI or domain");
	if ((err = sipdance_dns_alloc(&dns, &dconf, &why))) {
		tool_error("DNS: %s", why ? why : strerror(err));
		goto out;
	}
	if ((err = sipdance_dane_alloc(&dane, ca_file))) {
		tool_error("%s: %s", ca_file, err == ENOENT ? "cannot read CA file"
							     : "no usable PEM certificate in CA file");
		goto out;
	}
	if (sipdance_policy_alloc(&policy, mode))
		goto out;
	{
		struct sipdance_locate_conf lconf = { .size = sizeof(lconf), .dns = dns, .policy = policy, .dane = dane };

		if ((err = sipdance_locate_sync(&loc, &lconf, argv[optind], &why))) {
			tool_error("%s: %s", argv[optind], why);
			goto out;
		}
	}
	if (!(conns = calloc(sipdance_locate_count(loc) + 1, sizeof(*conns))))
		goto out;
	if (doconnect) {
		ctx = SSL_CTX_new(TLS_client_method());
		if (!ctx)
			goto out;
		SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
		SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL); /* sipdance_locate_target_verify decides */
	}
	/*
	 * A target counts as usable when policy does not refuse it and, with
	 * --connect, when its peer authenticated under that policy (MATCH).
	 */
	for (size_t i = 0; i < sipdance_locate_count(loc); i++) {
		const struct sipdance_target *t = sipdance_locate_target(loc, i);

		if (t->decision.action == SIPDANCE_ACT_REFUSE)
			continue;
		if (doconnect)
			handshake(ctx, dane, t, &conns[i]);
		usable += !doconnect || conns[i].v.result == SIPDANCE_MATCH;
	}
	if (json) {
		json_t *steps = json_array(), *targets = json_array(), *o;

		for (size_t i = 0; i < sipdance_locate_step_count(loc); i++)
			json_array_append_new(steps, step_json(sipdance_locate_step(loc, i)));
		for (size_t i = 0; i < sipdance_locate_count(loc); i++)
			json_array_append_new(targets, target_json(sipdance_locate_target(loc, i), &conns[i]));
		o = json_pack("{s:s, s:s, s:s, s:o, s:o, s:b, s:i, s:s}", "uri", argv[optind],
			      "domain", sipdance_locate_domain(loc),
			      "dane", sipdance_policy_mode_str(sipdance_locate_mode(loc)),
			      "steps", steps, "targets", targets, "usable", usable > 0,
			      "usable_targets", usable, "why", usable ? "" : sipdance_locate_why(loc));
		json_dumpf(o, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		putchar('\n');
		json_decref(o);
	} else {
		print_text(argv[optind], loc, conns, usable);
	}
	rc = usable ? EXIT_OK : EXIT_NO;
out:
	SSL_CTX_free(ctx);
	free(conns);
	sipdance_locate_free(loc);
	sipdance_policy_free(policy);
	sipdance_dane_free(dane);
	sipdance_dns_free(dns);
	return rc;
}
