/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * store_redis.c - the store contract on a Redis (or Valkey) server shared by
 * the nodes of a domain, through hiredis' asynchronous API driven by the
 * library's loop contract. One connection, commands pipelined and answered
 * in order; an operation without its reply within the timeout drops the
 * connection; a lost connection is retried with exponential backoff. While
 * Redis cannot answer, every operation ends in ERROR (fail closed) unless the
 * host asked to fail open, which is logged at every operation it lets pass.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include "store_int.h"

#define RETRY_MIN_MS 100

enum { CLAIM = 1, GET, PUT, DEL, HSET, HDEL, HGETALL, HSET_IF };

struct redisstore {
	struct sipdance_loop *loop;
	struct sd_store_q q;
	redisAsyncContext *ac;            /* NULL while down */
	int fd, events;                   /* what the loop watches for hiredis */
	struct sipdance_store_op *fly, **flytail; /* sent, in the order of their replies */
	void *timeout, *retry;            /* timers: the oldest reply, the next connection */
	unsigned timeout_ms, retry_ms, retry_max_ms;
	void (*observe)(void *arg, const char *op, enum sipdance_store_status st, uint64_t elapsed_us);
	void *observe_arg;
	int fail_open, closing, up;
	int in_call, in_reply;            /* inside command(), inside a caller's callback from a reply */
	char host[64];
	int port, db;
	char *password, *prefix;
	char addr[80];                    /* HOST:PORT/DB, for log lines */
	char down[160];                   /* why Redis cannot answer now */
};

static void connect_now(void *arg);

/* parse_url - redis://HOST:PORT[/DB], HOST an IPv4 or [IPv6] address: 0 or EINVAL */
static int parse_url(struct redisstore *r, const char *url, const char **why)
{
	const char *p, *h, *he;
	unsigned char buf[16];
	char *end;
	long port, db = 0;

	if (!url || strncmp(url, "redis://", 8))
		return sd_fail(why, "the state URL must start with redis://", EINVAL);
	h = url + 8;
	if (*h == '[') {
		if (!(he = strchr(++h, ']')))
			return sd_fail(why, "the state URL has an unclosed [", EINVAL);
		p = he + 1;
	} else {
		he = p = h + strcspn(h, ":/");
	}
	if (*p != ':' || (size_t)(he - h) >= sizeof(r->host))
		return sd_fail(why, "the state URL needs HOST:PORT", EINVAL);
	memcpy(r->host, h, (size_t)(he - h));
	r->host[he - h] = '\0';
	if (inet_pton(AF_INET, r->host, buf) != 1 && inet_pton(AF_INET6, r->host, buf) != 1)
		return sd_fail(why, "the state URL's host must be an IP address (no lookup on the loop)",
			       EINVAL);
	errno = 0;
	port = strtol(p + 1, &end, 10);
	if (end == p + 1 || errno || port < 1 || port > 65535 || (*end && *end != '/'))
		return sd_fail(why, "the state URL's port must be 1-65535", EINVAL);
	if (*end == '/') {
		p = end + 1;
		db = strtol(p, &end, 10);
		if (end == p || *end || db < 0 || db > 65535)
			return sd_fail(why, "the state URL's database must be a number", EINVAL);
	}
	r->port = (int)port;
	r->db = (int)db;
	snprintf(r->addr, sizeof(r->addr), "%s:%ld/%ld", r->host, port, db);
	return 0;
}

static void on_io(void *arg, int fd, int events);

/* ev_add_read, ev_del_read, ev_add_write, ev_del_write, ev_cleanup - hiredis' event hooks */
static void ev_set(struct redisstore *r, int events)
{
	if (events == r->events)
		return;
	r->events = events;
	sd_loop_watch(r->loop, r->fd, events, on_io, r);
}

static void ev_add_read(void *p)
{
	struct redisstore *r = p;

	ev_set(r, r->events | SIPDANCE_LOOP_READ);
}

static void ev_del_read(void *p)
{
	struct redisstore *r = p;

	ev_set(r, r->events & ~SIPDANCE_LOOP_READ);
}

static void ev_add_write(void *p)
{
	struct redisstore *r = p;

	ev_set(r, r->events | SIPDANCE_LOOP_WRITE);
}

static void ev_del_write(void *p)
{
	struct redisstore *r = p;

	ev_set(r, r->events & ~SIPDANCE_LOOP_WRITE);
}

static void ev_cleanup(void *p)
{
	struct redisstore *r = p;

	ev_set(r, 0);
	r->ac = NULL; /* hiredis frees the context after this */
	r->fd = -1;
}

/* on_io - the descriptor is ready: let hiredis read and write */
static void on_io(void *arg, int fd, int events)
{
	struct redisstore *r = arg;

	(void)fd;
	if (r->ac && (events & SIPDANCE_LOOP_READ))
		redisAsyncHandleRead(r->ac);
	if (r->ac && (events & SIPDANCE_LOOP_WRITE))
		redisAsyncHandleWrite(r->ac);
}

/* arm_timeout - the timer follows the oldest reply still awaited */
static void arm_timeout(struct redisstore *r)
{
	uint64_t now = sd_mono_ms();

	if (!r->fly)
		sd_timer_set(r->loop, r->timeout, -1);
	else
		sd_timer_set(r->loop, r->timeout, r->fly->deadline > now ? (long)(r->fly->deadline - now) : 0);
}

/* went_down - note why Redis cannot answer, once per outage, and retry later */
static void went_down(struct redisstore *r, const char *why)
{
	if (r->closing)
		return;
	snprintf(r->down, sizeof(r->down), "Redis %s: %s", r->addr, why);
	if (r->up)
		sd_log(SIPDANCE_LOG_ERR, "store", "%s; reconnecting, backoff from %u ms", r->down,
		       RETRY_MIN_MS);
	r->up = 0;
	sd_timer_set(r->loop, r->retry, r->retry_ms);
	r->retry_ms = r->retry_ms * 2 > r->retry_max_ms ? r->retry_max_ms : r->retry_ms * 2;
}

/* unfly - take @o off the in-flight list */
static void unfly(struct redisstore *r, struct sipdance_store_op *o)
{
	struct sipdance_store_op **pp = &r->fly;

	while (*pp && *pp != o)
		pp = &(*pp)->next;
	if (!*pp)
		return;
	if (!(*pp = o->next))
		r->flytail = pp;
	o->next = NULL;
}

/* finish - answer @o, failing open when asked (logged each time): now when
 * hiredis gave the answer on the loop, at the loop's next turn when it came
 * inside one of the caller's calls */
static void finish(struct redisstore *r, struct sipdance_store_op *o, enum sipdance_store_status st,
		   const char *value, size_t len, const char *why)
{
	static const char *const ops[] = { "?", "claim", "get", "put", "delete", "hset", "hdel", "hgetall",
					   "hset_if" };

	if (r->observe && !r->closing)
		r->observe(r->observe_arg, ops[o->kind], st, sd_mono_us() - o->started);
	if (r->closing || !o->cb) {
		free(o);
		return;
	}
	if (st == SIPDANCE_STORE_ERROR && r->fail_open) {
		sd_log(SIPDANCE_LOG_WARN, "store", "FAIL OPEN: %s; the %s is let through unchecked", why,
		       o->kind == CLAIM ? "claim" : o->kind == GET || o->kind == HGETALL ? "read (as absent)" :
		       "write");
		st = o->kind == GET || o->kind == HGETALL ? SIPDANCE_STORE_ABSENT : SIPDANCE_STORE_OK;
	}
	if (r->in_call) {
		sd_store_answer(&r->q, o, st, value, len, why);
		return;
	}
	r->in_reply++;
	o->cb(o->arg, st, value, len, st == SIPDANCE_STORE_ERROR ? why : NULL);
	r->in_reply--;
	free(o);
}

/* pairs - an HGETALL reply as "field\0value\0" pairs */
static void pairs(struct redisstore *r, struct sipdance_store_op *o, const redisReply *rep)
{
	size_t n = 0, len = 0;
	char *buf;

	for (size_t i = 0; i + 1 < rep->elements; i += 2)
		len += rep->element[i]->len + rep->element[i + 1]->len + 2;
	if (!rep->elements) {
		finish(r, o, SIPDANCE_STORE_ABSENT, NULL, 0, NULL);
		return;
	}
	if (!(buf = malloc(len + 1))) {
		finish(r, o, SIPDANCE_STORE_ERROR, NULL, 0, "out of memory");
		return;
	}
	for (size_t i = 0; i + 1 < rep->elements; i += 2) {
		const redisReply *f = rep->element[i], *v = rep->element[i + 1];

		if (f->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING ||
		    memchr(f->str, 0, f->len) || memchr(v->str, 0, v->len))
			continue;
		memcpy(buf + n, f->str, f->len + 1);
		n += f->len + 1;
		memcpy(buf + n, v->str, v->len + 1);
		n += v->len + 1;
	}
	finish(r, o, SIPDANCE_STORE_OK, buf, n, NULL);
	free(buf);
}

/*
 * on_reply - what Redis answered @o (NULL: the connection went away first)
 *
 * The cases, each command's own reply type and nothing else:
 *  - no reply, an error reply, a reply of another type: ERROR (fail closed);
 *  - claim: status OK (SET NX set it): OK; nil (it existed): TAKEN;
 *  - get: a string: OK with it (the caller validates it); nil: ABSENT;
 *  - put: status OK; delete, hash set and hash delete: an integer: OK;
 *  - checked hash set: the integer 1 (written): OK; 0 (the hash was not
 *    what the caller read): TAKEN;
 *  - hash read: an array of strings, field and value in turn: OK with them
 *    (a pair holding a NUL, or not two strings, left out); empty: ABSENT.
 */
static void on_reply(redisAsyncContext *ac, void *reply, void *priv)
{
	struct redisstore *r = ac->ev.data;
	struct sipdance_store_op *o = priv;
	redisReply *rep = reply;
	char why[256];

	if (!o) { /* AUTH or SELECT */
		if (rep && rep->type == REDIS_REPLY_ERROR)
			sd_log(SIPDANCE_LOG_ERR, "store", "Redis %s refused our setup: %.100s", r->addr,
			       rep->str);
		return;
	}
	unfly(r, o);
	arm_timeout(r);
	if (!rep) {
		finish(r, o, SIPDANCE_STORE_ERROR, NULL, 0, r->down[0] ? r->down : "Redis connection lost");
	} else if (rep->type == REDIS_REPLY_ERROR) {
		snprintf(why, sizeof(why), "Redis %s: %.100s", r->addr, rep->str);
		finish(r, o, SIPDANCE_STORE_ERROR, NULL, 0, why);
	} else if (o->kind == CLAIM && rep->type == REDIS_REPLY_NIL) {
		finish(r, o, SIPDANCE_STORE_TAKEN, NULL, 0, NULL);
	} else if (o->kind == GET && rep->type == REDIS_REPLY_NIL) {
		finish(r, o, SIPDANCE_STORE_ABSENT, NULL, 0, NULL);
	} else if (o->kind == GET && rep->type == REDIS_REPLY_STRING) {
		finish(r, o, SIPDANCE_STORE_OK, rep->str, rep->len, NULL);
	} else if ((o->kind == CLAIM || o->kind == PUT) && rep->type == REDIS_REPLY_STATUS &&
		   !strcmp(rep->str, "OK")) {
		finish(r, o, SIPDANCE_STORE_OK, NULL, 0, NULL);
	} else if ((o->kind == DEL || o->kind == HSET || o->kind == HDEL) &&
		   rep->type == REDIS_REPLY_INTEGER) {
		finish(r, o, SIPDANCE_STORE_OK, NULL, 0, NULL);
	} else if (o->kind == HSET_IF && rep->type == REDIS_REPLY_INTEGER) {
		finish(r, o, rep->integer == 1 ? SIPDANCE_STORE_OK : SIPDANCE_STORE_TAKEN, NULL, 0, NULL);
	} else if (o->kind == HGETALL && rep->type == REDIS_REPLY_ARRAY) {
		pairs(r, o, rep);
	} else {
		snprintf(why, sizeof(why), "Redis %s: unexpected reply type %d", r->addr, rep->type);
		finish(r, o, SIPDANCE_STORE_ERROR, NULL, 0, why);
	}
}

/* on_connect - the TCP connection is made, or failed */
static void on_connect(const redisAsyncContext *ac, int status)
{
	struct redisstore *r = ac->ev.data;

	if (status != REDIS_OK) {
		went_down(r, ac->errstr);
		return;
	}
	r->retry_ms = RETRY_MIN_MS;
	r->up = 1;
	r->down[0] = '\0';
	sd_log(SIPDANCE_LOG_INFO, "store", "connected to Redis %s", r->addr);
}

/* on_disconnect - an established connection went away */
static void on_disconnect(const redisAsyncContext *ac, int status)
{
	struct redisstore *r = ac->ev.data;

	(void)status;
	went_down(r, ac->errstr[0] ? ac->errstr : "connection closed");
}

/* on_timeout - the oldest reply is late: drop the connection, failing what was sent */
static void on_timeout(void *arg)
{
	struct redisstore *r = arg;
	int connected;

	if (!r->fly || r->fly->deadline > sd_mono_ms()) {
		arm_timeout(r);
		return;
	}
	sd_log(SIPDANCE_LOG_ERR, "store", "Redis %s gave no reply within %u ms", r->addr, r->timeout_ms);
	snprintf(r->down, sizeof(r->down), "Redis %s gave no reply within %u ms", r->addr, r->timeout_ms);
	connected = r->ac && (r->ac->c.flags & REDIS_CONNECTED);
	if (r->ac)
		redisAsyncFree(r->ac); /* replies NULL, then on_disconnect when connected */
	if (!connected)
		went_down(r, "no connection within the timeout");
}

/* connect_now - open a connection; AUTH and SELECT go first in its pipeline */
static void connect_now(void *arg)
{
	struct redisstore *r = arg;
	redisAsyncContext *ac;

	if (r->ac || r->closing)
		return;
	if (!(ac = redisAsyncConnect(r->host, r->port))) {
		went_down(r, "out of memory");
		return;
	}
	if (ac->err) {
		went_down(r, ac->errstr);
		redisAsyncFree(ac);
		return;
	}
	r->ac = ac;
	r->fd = ac->c.fd;
	r->events = 0;
	ac->ev.data = r;
	ac->ev.addRead = ev_add_read;
	ac->ev.delRead = ev_del_read;
	ac->ev.addWrite = ev_add_write;
	ac->ev.delWrite = ev_del_write;
	ac->ev.cleanup = ev_cleanup;
	redisAsyncSetConnectCallback(ac, on_connect);
	redisAsyncSetDisconnectCallback(ac, on_disconnect);
	if (r->password)
		redisAsyncCommand(ac, on_reply, NULL, "AUTH %s", r->password);
	if (r->db)
		redisAsyncCommand(ac, on_reply, NULL, "SELECT %d", r->db);
}

/* flown - @o sent (@rc REDIS_OK): awaited in order; else answered ERROR */
static int flown(struct redisstore *r, struct sipdance_store_op *o, int rc)
{
	if (rc != REDIS_OK) {
		finish(r, o, SIPDANCE_STORE_ERROR, NULL, 0, r->down[0] ? r->down : "Redis not connected");
		return 0;
	}
	*r->flytail = o;
	r->flytail = &o->next;
	if (r->fly == o)
		arm_timeout(r);
	return 0;
}

/* The checked hash set: KEYS[1] the hash; ARGV the field, its value, the
 * key's lifetime (0: remove the field), then the pairs the caller read. */
static const char hset_if_lua[] =
	"local cur = redis.call('HGETALL', KEYS[1])\n"
	"if #cur ~= #ARGV - 3 then return 0 end\n"
	"local want = {}\n"
	"for i = 4, #ARGV, 2 do want[ARGV[i]] = ARGV[i + 1] end\n"
	"for i = 1, #cur, 2 do if want[cur[i]] ~= cur[i + 1] then return 0 end end\n"
	"if ARGV[3] == '0' then redis.call('HDEL', KEYS[1], ARGV[1]) else\n"
	"redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) redis.call('EXPIRE', KEYS[1], ARGV[3]) end\n"
	"return 1\n";

/* hset_if - EVAL the checked hash set of @field on prefixed key @pkey: hiredis' status */
static int hset_if(redisAsyncContext *ac, struct sipdance_store_op *o, const char *pkey, const char *field,
		   const char *value, size_t len, unsigned ttl_s, const char *expect, size_t expect_len)
{
	size_t n = 7, i = 0;
	const char **argv;
	size_t *argvlen;
	char ttl[16];
	int rc = REDIS_ERR;

	for (size_t at = 0; at < expect_len; at += strlen(expect + at) + 1)
		n++;
	argv = calloc(n, sizeof(*argv));
	argvlen = calloc(n, sizeof(*argvlen));
	if (argv && argvlen && n % 2) { /* the expected strings come in pairs */
		snprintf(ttl, sizeof(ttl), "%u", ttl_s);
		argv[i++] = "EVAL";
		argv[i++] = hset_if_lua;
		argv[i++] = "1";
		argv[i++] = pkey;
		argv[i++] = field;
		argv[i++] = value;
		argv[i++] = ttl;
		for (size_t at = 0; at < expect_len; at += strlen(expect + at) + 1)
			argv[i++] = expect + at;
		for (i = 0; i < n; i++)
			argvlen[i] = i == 5 ? len : strlen(argv[i]);
		rc = redisAsyncCommandArgv(ac, on_reply, o, (int)n, argv, argvlen);
	}
	free(argv);
	free(argvlen);
	return rc;
}

/* command - send one operation's command (key prefixed; @field for hashes,
 * @expect for the checked hash set), or answer ERROR now when Redis is down:
 * 0 or ENOMEM */
static int command(struct redisstore *r, int kind, const char *key, const char *field, const char *value,
		   size_t len, unsigned ttl_s, const char *expect, size_t expect_len, sipdance_store_cb *cb,
		   void *arg, struct sipdance_store_op **op)
{
	struct sipdance_store_op *o = sd_store_op_new(cb, arg);
	const char *p = r->prefix ? r->prefix : "";
	redisAsyncContext *ac = r->ac;
	int rc = REDIS_ERR;

	if (!o)
		return ENOMEM;
	o->kind = kind;
	o->started = sd_mono_us();
	o->deadline = o->started / 1000 + r->timeout_ms;
	*op = o;
	r->in_call = 1;
	if (!ac) {
		flown(r, o, rc);
		r->in_call = 0;
		return 0;
	}
	switch (kind) {
	case CLAIM:
		rc = redisAsyncCommand(ac, on_reply, o, "SET %s%s %b NX EX %u", p, key, value, len, ttl_s);
		break;
	case GET:
		rc = redisAsyncCommand(ac, on_reply, o, "GET %s%s", p, key);
		break;
	case PUT:
		rc = redisAsyncCommand(ac, on_reply, o, "SET %s%s %b EX %u", p, key, value, len, ttl_s);
		break;
	case DEL:
		rc = redisAsyncCommand(ac, on_reply, o, "DEL %s%s", p, key);
		break;
	case HSET:
		/* the key's lifetime is renewed with every field written: fields carry their own expiry */
		rc = redisAsyncCommand(ac, on_reply, o, "HSET %s%s %s %b", p, key, field, value, len);
		if (rc == REDIS_OK)
			redisAsyncCommand(ac, on_reply, NULL, "EXPIRE %s%s %u", p, key, ttl_s);
		break;
	case HDEL:
		rc = redisAsyncCommand(ac, on_reply, o, "HDEL %s%s %s", p, key, field);
		break;
	case HSET_IF: {
		size_t kl = strlen(p) + strlen(key) + 1;
		char *pkey = malloc(kl);

		if (pkey) {
			snprintf(pkey, kl, "%s%s", p, key);
			rc = hset_if(ac, o, pkey, field, value, len, ttl_s, expect, expect_len);
		}
		free(pkey);
		break;
	}
	default:
		rc = redisAsyncCommand(ac, on_reply, o, "HGETALL %s%s", p, key);
	}
	flown(r, o, rc);
	/* written now rather than at the loop's next turn (not from inside
	 * hiredis: a caller's callback from a reply waits for that turn) */
	if (rc == REDIS_OK && r->ac && !r->in_reply && (r->ac->c.flags & REDIS_CONNECTED))
		redisAsyncHandleWrite(r->ac);
	r->in_call = 0;
	return 0;
}

/* redis_claim, redis_get, redis_put, redis_cancel, redis_hset, redis_hgetall, redis_hset_if - the
 * contract's calls */
static int redis_claim(void *host, const char *key, const char *value, size_t len, unsigned ttl_s,
		       sipdance_store_cb *cb, void *arg, struct sipdance_store_op **op)
{
	return command(host, CLAIM, key, NULL, value, len, ttl_s, NULL, 0, cb, arg, op);
}

static int redis_get(void *host, const char *key, sipdance_store_cb *cb, void *arg,
		     struct sipdance_store_op **op)
{
	return command(host, GET, key, NULL, NULL, 0, 0, NULL, 0, cb, arg, op);
}

static int redis_put(void *host, const char *key, const char *value, size_t len, unsigned ttl_s,
		     sipdance_store_cb *cb, void *arg, struct sipdance_store_op **op)
{
	return command(host, ttl_s ? PUT : DEL, key, NULL, value, len, ttl_s, NULL, 0, cb, arg, op);
}

static void redis_cancel(void *host, struct sipdance_store_op *op)
{
	(void)host;
	op->cb = NULL;
}

static int redis_hset(void *host, const char *key, const char *field, const char *value, size_t len,
		      unsigned ttl_s, sipdance_store_cb *cb, void *arg, struct sipdance_store_op **op)
{
	return command(host, ttl_s ? HSET : HDEL, key, field, value, len, ttl_s, NULL, 0, cb, arg, op);
}

static int redis_hgetall(void *host, const char *key, sipdance_store_cb *cb, void *arg,
			 struct sipdance_store_op **op)
{
	return command(host, HGETALL, key, NULL, NULL, 0, 0, NULL, 0, cb, arg, op);
}

static int redis_hset_if(void *host, const char *key, const char *field, const char *value, size_t len,
			 unsigned ttl_s, const char *expect, size_t expect_len, sipdance_store_cb *cb,
			 void *arg, struct sipdance_store_op **op)
{
	return command(host, HSET_IF, key, field, value, len, ttl_s, expect, expect_len, cb, arg, op);
}

static const struct sipdance_store_ops redis_ops = {
	sizeof(redis_ops), redis_claim, redis_get, redis_put, redis_cancel, redis_hset, redis_hgetall,
	redis_hset_if,
};

/* redis_free - close the connection; nothing in flight or queued calls back */
static void redis_free(void *host)
{
	struct redisstore *r = host;

	r->closing = 1;
	if (r->ac)
		redisAsyncFree(r->ac);
	if (r->q.timer)
		sd_store_q_fini(&r->q);
	sd_timer_free(r->loop, r->timeout);
	sd_timer_free(r->loop, r->retry);
	free(r->password);
	free(r->prefix);
	free(r);
}

/* sipdance_store_redis_alloc - a store on a Redis server, its connection started */
int sipdance_store_redis_alloc(struct sipdance_store **out, struct sipdance_loop *loop,
			       const struct sipdance_store_redis_conf *c, const char **why)
{
	struct sipdance_store_redis_conf cf, *conf = &cf;
	struct redisstore *r;
	int err;

	if (!out)
		return sd_fail(why, "no output", EINVAL);
	*out = NULL;
	if (!loop)
		return sd_fail(why, "no loop", EINVAL);
	if ((err = SD_CONF(&cf, c, why)))
		return err;
	if (!(r = calloc(1, sizeof(*r))))
		return sd_fail(why, "out of memory", ENOMEM);
	r->loop = loop;
	r->fd = -1;
	r->flytail = &r->fly;
	r->timeout_ms = conf->timeout_ms ? conf->timeout_ms : 1000;
	r->retry_max_ms = conf->retry_max_ms > RETRY_MIN_MS ? conf->retry_max_ms : 5000;
	r->retry_ms = RETRY_MIN_MS;
	r->fail_open = conf->fail_open;
	r->observe = conf->observe;
	r->observe_arg = conf->observe_arg;
	r->up = 1; /* a first failure is logged */
	if ((err = parse_url(r, conf->url, why))) {
		free(r);
		return err;
	}
	err = ENOMEM;
	if ((conf->password && !(r->password = strdup(conf->password))) ||
	    (conf->prefix && !(r->prefix = strdup(conf->prefix))) ||
	    !(r->timeout = sd_timer_alloc(loop, on_timeout, r)) ||
	    !(r->retry = sd_timer_alloc(loop, connect_now, r)) || sd_store_q_init(&r->q, loop) ||
	    (err = sd_store_wrap(out, &redis_ops, r, redis_free))) {
		redis_free(r);
		return sd_fail(why, "out of memory", err);
	}
	connect_now(r);
	return 0;
}
