/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * state.c - --state: the Redis (or Valkey) server the nodes of a domain
 * share, reached through libsipdance's Redis store on the proxy's loop. Keys
 * are namespaced by domain, so that nodes of several domains can share one
 * server without reading each other's state. Unreachable, it fails closed
 * unless --state-fail open, which is logged at startup and at every operation
 * it lets through.
 */
#include "state.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* read_password - the first line of @file, into @buf: 0 or an errno value */
static int read_password(const char *file, char *buf, size_t size, char *why, size_t whysize)
{
	FILE *fp = fopen(file, "r");
	int err = 0;

	if (!fp) {
		err = errno;
		snprintf(why, whysize, "--state-password-file %s: %s", file, strerror(err));
		return err;
	}
	if (!fgets(buf, (int)size, fp) || !(buf[strcspn(buf, "\r\n")] = '\0', *buf)) {
		snprintf(why, whysize, "--state-password-file %s: no password on its first line", file);
		err = EINVAL;
	}
	fclose(fp);
	return err;
}

/* px_state_node - --node-id, else the host name */
const char *px_state_node(const struct px_conf *c)
{
	static char host[64];

	if (c->node_id)
		return c->node_id;
	if (!host[0] && gethostname(host, sizeof(host) - 1))
		snprintf(host, sizeof(host), "node");
	return host;
}

/* px_state_alloc - connect to --state, if any */
int px_state_alloc(struct sipdance_store **out, struct sipdance_loop *loop, const struct px_conf *c,
		   char *why, size_t whysize)
{
	struct sipdance_store_redis_conf rc = { .size = sizeof(rc), .url = c->state };
	char password[512], prefix[300];
	const char *e = NULL;
	int err;

	*out = NULL;
	if (c->state_fail && strcmp(c->state_fail, "closed") && strcmp(c->state_fail, "open"))
		return snprintf(why, whysize, "--state-fail %s: want closed or open", c->state_fail), EINVAL;
	if (!c->state)
		return 0;
	if (c->state_password_file &&
	    (err = read_password(c->state_password_file, password, sizeof(password), why, whysize)))
		return err;
	snprintf(prefix, sizeof(prefix), "sipdance:%s:", c->domain);
	rc.password = c->state_password_file ? password : NULL;
	rc.prefix = prefix;
	rc.fail_open = c->state_fail && !strcmp(c->state_fail, "open");
	rc.observe = px_metrics_store;
	rc.timeout_ms = c->state_timeout_ms;
	err = sipdance_store_redis_alloc(out, loop, &rc, &e);
	explicit_bzero(password, sizeof(password));
	if (err)
		return snprintf(why, whysize, "--state %s: %s", c->state, e ? e : strerror(err)), err;
	px_log(SIPDANCE_LOG_INFO, "state", "node %s shares its state at %s (keys %s*)", px_state_node(c),
	       c->state, prefix);
	if (rc.fail_open)
		px_log(SIPDANCE_LOG_WARN, "state", "--state-fail open: while Redis cannot answer, PASSporTs "
		       "are accepted WITHOUT the replay check (each one logged)");
	return 0;
}
