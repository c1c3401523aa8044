/* SPDX-License-Identifier: BSD-2-Clause */
/* test_store.c - the store contract and the store in memory: claims, reads,
 * writes and deletes, expiry on the store's clock, the bound, cancellation,
 * callbacks from the loop only and in order, and a host-backed store; the
 * Redis store against a real redis-server this test starts on loopback:
 * the same operations, namespacing, AUTH and SELECT, fail closed (down,
 * stopped, hung) and open, and reconnection by itself. */
#include <errno.h>
#include <stddef.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <CUnit/CUnit.h>

#include <sipdance/store.h>
#include "../src/store_int.h"
#include "suites.h"

/* What the callbacks saw, in order. */
struct seen {
	int n;
	enum sipdance_store_status st[16];
	char value[16][32]; /* the bytes, NUL-terminated */
	size_t len[16];
	char why[128];
};

/* on_done - record one answer */
static void on_done(void *arg, enum sipdance_store_status st, const char *value, size_t len,
		    const char *why)
{
	struct seen *s = arg;

	if (s->n < 16) {
		s->st[s->n] = st;
		s->len[s->n] = value ? len : 0;
		if (value && len < sizeof(s->value[0]))
			memcpy(s->value[s->n], value, len + 1);
	}
	if (why)
		snprintf(s->why, sizeof(s->why), "%s", why);
	s->n++;
}

/* turn - run the poll loop until nothing is armed */
static void turn(struct sipdance_loop *l)
{
	sipdance_loop_run(l, NULL, 100);
}

static uint64_t fake_now;

/* fake_clock - the test's clock */
static uint64_t fake_clock(void *arg)
{
	return fake_now;
}

/* mem_basics - claim, get, put and delete, answered from the loop in order */
static void mem_basics(void)
{
	struct sipdance_loop *l = NULL;
	struct sipdance_store *s = NULL;
	struct seen a = { 0 };

	CU_ASSERT_EQUAL_FATAL(sipdance_loop_poll_alloc(&l), 0);
	CU_ASSERT_EQUAL(sipdance_store_mem_alloc(&s, NULL, 0), EINVAL);
	CU_ASSERT_EQUAL_FATAL(sipdance_store_mem_alloc(&s, l, 0), 0);
	CU_ASSERT_EQUAL(sipdance_store_claim(s, "k", "v1", 2, 60, on_done, &a, NULL), 0);
	CU_ASSERT_EQUAL(sipdance_store_claim(s, "k", "v2", 2, 60, on_done, &a, NULL), 0);
	CU_ASSERT_EQUAL(sipdance_store_get(s, "k", on_done, &a, NULL), 0);
	CU_ASSERT_EQUAL(sipdance_store_get(s, "other", on_done, &a, NULL), 0);
	CU_ASSERT_EQUAL(a.n, 0); /* never inside the call */
	turn(l);
	CU_ASSERT_EQUAL_FATAL(a.n, 4);
	CU_ASSERT_EQUAL(a.st[0], SIPDANCE_STORE_OK);
	CU_ASSERT_EQUAL(a.st[1], SIPDANCE_STORE_TAKEN);
	CU_ASSERT_EQUAL(a.st[2], SIPDANCE_STORE_OK);
	CU_ASSERT_STRING_EQUAL(a.value[2], "v1"); /* the first claim won */
	CU_ASSERT_EQUAL(a.st[3], SIPDANCE_STORE_ABSENT);
	memset(&a, 0, sizeof(a));
	CU_ASSERT_EQUAL(sipdance_store_put(s, "k", "v3", 2, 60, NULL, NULL, NULL), 0);
	CU_ASSERT_EQUAL(sipdance_store_get(s, "k", on_done, &a, NULL), 0);
	CU_ASSERT_EQUAL(sipdance_store_put(s, "k", NULL, 0, 0, on_done, &a, NULL), 0);
	CU_ASSERT_EQUAL(sipdance_store_get(s, "k", on_done, &a, NULL), 0);
	CU_ASSERT_EQUAL(sipdance_store_claim(s, "k", "v4", 2, 60, on_done, &a, NULL), 0);
	turn(l);
	CU_ASSERT_EQUAL_FATAL(a.n, 4);
	CU_ASSERT_STRING_EQUAL(a.value[0], "v3");
	CU_ASSERT_EQUAL(a.st[1], SIPDANCE_STORE_OK);
	CU_ASSERT_EQUAL(a.st[2], SIPDANCE_STORE_ABSENT); /* deleted */
	CU_ASSERT_EQUAL(a.st[3], SIPDANCE_STORE_OK);     /* free to claim again */
	/* arguments a claim cannot go without */
	CU_ASSERT_EQUAL(sipdance_store_claim(s, "k", "v", 1, 0, on_done, &a, NULL), EINVAL);
	CU_ASSERT_EQUAL(sipdance_store_claim(s, "k", "v", 1, 10, NULL, NULL, NULL), EINVAL);
	CU_ASSERT_EQUAL(sipdance_store_get(NULL, "k", on_done, &a, NULL), EINVAL);
	CU_ASSERT_STRING_EQUAL(sipdance_store_status_str(SIPDANCE_STORE_TAKEN), "TAKEN");
	CU_ASSERT_STRING_EQUAL(sipdance_store_status_str(0), "ERROR");
	CU_ASSERT_EQUAL(sipdance_store_hset(s, "h", "f", "v", 1, 60, NULL, NULL, NULL), ENOTSUP);
	CU_ASSERT_EQUAL(sipdance_store_hgetall(s, "h", on_done, &a, NULL), ENOTSUP);
	CU_ASSERT_EQUAL(sipdance_store_hset_if(s, "h", "f", "v", 1, 60, NULL, 0, on_done, &a, NULL), ENOTSUP);
	sipdance_store_free(s);
	sipdance_loop_free(l);
}

/* mem_expiry - a key lives its TTL on the store's clock, then may be claimed again */
static void mem_expiry(void)
{
	struct sipdance_loop *l = NULL;
	struct sipdance_store *s = NULL;
	struct seen a = { 0 };

	CU_ASSERT_EQUAL_FATAL(sipdance_loop_poll_alloc(&l), 0);
	CU_ASSERT_EQUAL_FATAL(sipdance_store_mem_alloc(&s, l, 0), 0);
	fake_now = 1000000;
	sd_store_mem_set_clock(s, fake_clock, NULL);
	CU_ASSERT_EQUAL(sipdance_store_claim(s, "sig", "1", 1, 120, on_done, &a, NULL), 0);
	fake_now += 119999;
	CU_ASSERT_EQUAL(sipdance_store_claim(s, "sig", "1", 1, 120, on_done, &a, NULL), 0);
	fake_now += 1;
	CU_ASSERT_EQUAL(sipdance_store_get(s, "sig", on_done, &a, NULL), 0);
	CU_ASSERT_EQUAL(sipdance_store_claim(s, "sig", "1", 1, 120, on_done, &a, NULL), 0);
	turn(l);
	CU_ASSERT_EQUAL_FATAL(a.n, 4);
	CU_ASSERT_EQUAL(a.st[0], SIPDANCE_STORE_OK);
	CU_ASSERT_EQUAL(a.st[1], SIPDANCE_STORE_TAKEN);  /* a millisecond before expiry */
	CU_ASSERT_EQUAL(a.st[2], SIPDANCE_STORE_ABSENT); /* expired */
	CU_ASSERT_EQUAL(a.st[3], SIPDANCE_STORE_OK);
	sipdance_store_free(s);
	sipdance_loop_free(l);
}

/* mem_bound - a full store answers ERROR, never forgets a live key to make room */
static void mem_bound(void)
{
	struct sipdance_loop *l = NULL;
	struct sipdance_store *s = NULL;
	struct seen a = { 0 };
	char key[16];

	CU_ASSERT_EQUAL_FATAL(sipdance_loop_poll_alloc(&l), 0);
	CU_ASSERT_EQUAL_FATAL(sipdance_store_mem_alloc(&s, l, 4), 0);
	fake_now = 5000;
	sd_store_mem_set_clock(s, fake_clock, NULL);
	for (int i = 0; i < 3; i++) {
		snprintf(key, sizeof(key), "short%d", i);
		CU_ASSERT_EQUAL(sipdance_store_claim(s, key, "", 0, 1, on_done, &a, NULL), 0);
	}
	CU_ASSERT_EQUAL(sipdance_store_claim(s, "long", "", 0, 60, on_done, &a, NULL), 0);
	CU_ASSERT_EQUAL(sipdance_store_claim(s, "fifth", "", 0, 60, on_done, &a, NULL), 0);
	fake_now += 1000; /* the three short ones expired: room again */
	CU_ASSERT_EQUAL(sipdance_store_claim(s, "sixth", "", 0, 60, on_done, &a, NULL), 0);
	CU_ASSERT_EQUAL(sipdance_store_claim(s, "long", "", 0, 60, on_done, &a, NULL), 0);
	turn(l);
	CU_ASSERT_EQUAL_FATAL(a.n, 7);
	CU_ASSERT_EQUAL(a.st[4], SIPDANCE_STORE_ERROR);
	CU_ASSERT_STRING_EQUAL(a.why, "the in-memory store is full");
	CU_ASSERT_EQUAL(a.st[5], SIPDANCE_STORE_OK);
	CU_ASSERT_EQUAL(a.st[6], SIPDANCE_STORE_TAKEN);
	sipdance_store_free(s);
	sipdance_loop_free(l);
}

/* mem_cancel - a cancelled operation never calls back; freeing drops what is queued */
static void mem_cancel(void)
{
	struct sipdance_loop *l = NULL;
	struct sipdance_store *s = NULL;
	struct sipdance_store_op *op = NULL;
	struct seen a = { 0 };

	CU_ASSERT_EQUAL_FATAL(sipdance_loop_poll_alloc(&l), 0);
	CU_ASSERT_EQUAL_FATAL(sipdance_store_mem_alloc(&s, l, 0), 0);
	CU_ASSERT_EQUAL(sipdance_store_claim(s, "k", "", 0, 60, on_done, &a, &op), 0);
	CU_ASSERT_PTR_NOT_NULL(op);
	sipdance_store_cancel(s, op);
	CU_ASSERT_EQUAL(sipdance_store_get(s, "k", on_done, &a, NULL), 0);
	turn(l);
	CU_ASSERT_EQUAL(a.n, 1);
	CU_ASSERT_EQUAL(a.st[0], SIPDANCE_STORE_OK); /* the claim itself happened */
	CU_ASSERT_EQUAL(sipdance_store_get(s, "k", on_done, &a, NULL), 0);
	sipdance_store_free(s); /* queued, never delivered, not leaked */
	CU_ASSERT_EQUAL(a.n, 1);
	sipdance_loop_free(l);
}

/* host_claim, host_get, host_put, host_cancel - a host whose store is down refuses every call */
static int host_claim(void *host, const char *key, const char *value, size_t len, unsigned ttl_s,
		      sipdance_store_cb *cb, void *arg, struct sipdance_store_op **op)
{
	return ECONNREFUSED;
}

static int host_get(void *host, const char *key, sipdance_store_cb *cb, void *arg,
		    struct sipdance_store_op **op)
{
	return ECONNREFUSED;
}

static int host_put(void *host, const char *key, const char *value, size_t len, unsigned ttl_s,
		    sipdance_store_cb *cb, void *arg, struct sipdance_store_op **op)
{
	return ECONNREFUSED;
}

static void host_cancel(void *host, struct sipdance_store_op *op)
{
}

/* hosted - a store the host backs: its ops are checked and its errors passed on */
static void hosted(void)
{
	struct sipdance_store_ops ops = { sizeof(ops), host_claim, host_get, host_put, host_cancel, NULL, NULL,
					  NULL };
	struct sipdance_store *s = NULL;
	struct sipdance_store_op *op = (void *)1;
	struct seen a = { 0 };

	ops.size = sizeof(ops) - 1;
	CU_ASSERT_EQUAL(sipdance_store_alloc(&s, &ops, NULL), EINVAL);
	CU_ASSERT_PTR_NULL(s);
	ops.size = sizeof(ops);
	ops.cancel = NULL;
	CU_ASSERT_EQUAL(sipdance_store_alloc(&s, &ops, NULL), EINVAL);
	ops.cancel = host_cancel;
	/* a host built before hset_if: accepted, and the checked write is not there */
	ops.size = offsetof(struct sipdance_store_ops, hset_if);
	CU_ASSERT_EQUAL_FATAL(sipdance_store_alloc(&s, &ops, NULL), 0);
	CU_ASSERT_EQUAL(sipdance_store_hset_if(s, "h", "f", "v", 1, 60, NULL, 0, on_done, &a, NULL), ENOTSUP);
	sipdance_store_free(s);
	ops.size = sizeof(ops);
	CU_ASSERT_EQUAL_FATAL(sipdance_store_alloc(&s, &ops, NULL), 0);
	CU_ASSERT_EQUAL(sipdance_store_claim(s, "k", "", 0, 5, on_done, &a, &op), ECONNREFUSED);
	CU_ASSERT_PTR_NULL(op);
	CU_ASSERT_EQUAL(a.n, 0);
	sipdance_store_free(s);
}

/* ---- Redis ---- */

/* slow - @ms times VG_SLOW (set under valgrind): a bound on a hang */
static long slow(long ms)
{
	const char *v = getenv("VG_SLOW");

	return ms * (v && atoi(v) > 0 ? atoi(v) : 1);
}

/* ports - the first of the 100 ports tests/ports.sh gives this process */
static int ports(void)
{
	static int base;
	char cmd[4200];
	FILE *fp;

	if (base)
		return base;
	snprintf(cmd, sizeof(cmd), "'%s/tests/ports.sh' %d", getenv("srcdir") ? getenv("srcdir") : ".",
		 (int)getpid());
	if ((fp = popen(cmd, "r"))) {
		if (fscanf(fp, "%d", &base) != 1)
			base = 0;
		pclose(fp);
	}
	return base;
}

/* redis_up - a redis-server on 127.0.0.1:@port (password @pass or none), not persisting */
static pid_t redis_up(int port, const char *pass)
{
	char p[16];
	pid_t pid = fork();
	int fd;

	if (pid)
		return pid;
	snprintf(p, sizeof(p), "%d", port);
	if ((fd = open("/dev/null", O_WRONLY)) >= 0) {
		dup2(fd, 1);
		dup2(fd, 2);
	}
	if (pass)
		execlp("redis-server", "redis-server", "--port", p, "--bind", "127.0.0.1", "--save", "",
		       "--appendonly", "no", "--requirepass", pass, (char *)NULL);
	else
		execlp("redis-server", "redis-server", "--port", p, "--bind", "127.0.0.1", "--save", "",
		       "--appendonly", "no", (char *)NULL);
	_exit(127);
}

/* redis_down - stop it and reap it */
static void redis_down(pid_t pid)
{
	kill(pid, SIGCONT);
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
}

/* wait_n - run the loop until @a saw @n answers (a bound on a hang) */
static void wait_n(struct sipdance_loop *l, const struct seen *a, int n)
{
	for (long i = 0; i < slow(400) && a->n < n; i++)
		sipdance_loop_run(l, NULL, 50);
}

/* one - one claim (or get, @claim 0) of @key, run to its answer: its status */
static enum sipdance_store_status one(struct sipdance_loop *l, struct sipdance_store *s, int claim,
				      const char *key, struct seen *a)
{
	int n = a->n;

	CU_ASSERT_EQUAL(claim ? sipdance_store_claim(s, key, "v", 1, 60, on_done, a, NULL) :
			sipdance_store_get(s, key, on_done, a, NULL), 0);
	wait_n(l, a, n + 1);
	return a->n > n && n < 16 ? a->st[n] : SIPDANCE_STORE_ERROR;
}

/* back - claim fresh keys until the store answers again (reconnected by itself): 1 */
static int back(struct sipdance_loop *l, struct sipdance_store *s)
{
	struct seen a;
	char key[32];

	for (long i = 0; i < slow(200); i++) {
		memset(&a, 0, sizeof(a));
		snprintf(key, sizeof(key), "probe%ld", i);
		if (one(l, s, 1, key, &a) == SIPDANCE_STORE_OK)
			return 1;
		sipdance_loop_run(l, NULL, 50);
	}
	return 0;
}

/* What the Redis store's observer was told. */
static struct { int n, errors; char last[16]; } observed;

/* observe - count one ended operation */
static void observe(void *arg, const char *op, enum sipdance_store_status st, uint64_t elapsed_us)
{
	(void)arg;
	(void)elapsed_us;
	observed.n++;
	observed.errors += st == SIPDANCE_STORE_ERROR;
	snprintf(observed.last, sizeof(observed.last), "%s", op);
}

/* redis_store - the operations on a real server, and what happens when it goes away */
static void redis_store(void)
{
	struct sipdance_store_redis_conf rc = { .size = sizeof(rc), .prefix = "t:", .retry_max_ms = 200 };
	struct sipdance_store *s = NULL, *open_ = NULL, *bare = NULL, *quick = NULL;
	struct sipdance_loop *l = NULL;
	struct seen a = { 0 };
	char url[64];
	pid_t pid;
	int port = ports();

	CU_ASSERT_FATAL(port > 0);
	snprintf(url, sizeof(url), "redis://127.0.0.1:%d", port);
	rc.url = url;
	rc.timeout_ms = (unsigned)slow(10000);
	rc.observe = observe;
	CU_ASSERT_EQUAL_FATAL(sipdance_loop_poll_alloc(&l), 0);
	CU_ASSERT_EQUAL_FATAL(sipdance_store_redis_alloc(&s, l, &rc, NULL), 0);
	/* nothing listens yet: fail closed, with the reason (and the observer told) */
	memset(&observed, 0, sizeof(observed));
	CU_ASSERT_EQUAL(one(l, s, 1, "k", &a), SIPDANCE_STORE_ERROR);
	CU_ASSERT_PTR_NOT_NULL(strstr(a.why, "Connection refused"));
	CU_ASSERT_EQUAL(observed.n, 1);
	CU_ASSERT_EQUAL(observed.errors, 1);
	CU_ASSERT_STRING_EQUAL(observed.last, "claim");
	/* the operator chose availability: claims pass, reads find nothing */
	rc.fail_open = 1;
	CU_ASSERT_EQUAL_FATAL(sipdance_store_redis_alloc(&open_, l, &rc, NULL), 0);
	CU_ASSERT_EQUAL(one(l, open_, 1, "k", &a), SIPDANCE_STORE_OK);
	CU_ASSERT_EQUAL(one(l, open_, 0, "k", &a), SIPDANCE_STORE_ABSENT);
	sipdance_store_free(open_);
	rc.fail_open = 0;
	/* Redis up: the store comes back by itself */
	pid = redis_up(port, NULL);
	CU_ASSERT_FATAL(back(l, s));
	memset(&a, 0, sizeof(a));
	CU_ASSERT_EQUAL(sipdance_store_claim(s, "k", "v1", 2, 60, on_done, &a, NULL), 0);
	CU_ASSERT_EQUAL(sipdance_store_claim(s, "k", "v2", 2, 60, on_done, &a, NULL), 0);
	CU_ASSERT_EQUAL(sipdance_store_get(s, "k", on_done, &a, NULL), 0);
	CU_ASSERT_EQUAL(sipdance_store_put(s, "bin", "a\0b", 3, 60, on_done, &a, NULL), 0);
	CU_ASSERT_EQUAL(sipdance_store_get(s, "bin", on_done, &a, NULL), 0);
	CU_ASSERT_EQUAL(sipdance_store_put(s, "bin", NULL, 0, 0, on_done, &a, NULL), 0);
	CU_ASSERT_EQUAL(sipdance_store_get(s, "bin", on_done, &a, NULL), 0);
	CU_ASSERT_EQUAL(a.n, 0); /* never inside the call */
	memset(&observed, 0, sizeof(observed));
	wait_n(l, &a, 7);
	CU_ASSERT_EQUAL_FATAL(a.n, 7);
	CU_ASSERT_EQUAL(observed.n, 7);
	CU_ASSERT_EQUAL(observed.errors, 0);
	CU_ASSERT_STRING_EQUAL(observed.last, "get");
	CU_ASSERT_EQUAL(a.st[0], SIPDANCE_STORE_OK);
	CU_ASSERT_EQUAL(a.st[1], SIPDANCE_STORE_TAKEN);
	CU_ASSERT_EQUAL(a.st[2], SIPDANCE_STORE_OK);
	CU_ASSERT_STRING_EQUAL(a.value[2], "v1");
	CU_ASSERT_EQUAL(a.st[3], SIPDANCE_STORE_OK);
	CU_ASSERT_EQUAL(a.st[4], SIPDANCE_STORE_OK);
	CU_ASSERT_EQUAL(memcmp(a.value[4], "a", 2), 0); /* "a\0b": the copy keeps its length */
	CU_ASSERT_EQUAL(a.st[5], SIPDANCE_STORE_OK);
	CU_ASSERT_EQUAL(a.st[6], SIPDANCE_STORE_ABSENT);
	/* keys live under the prefix */
	rc.prefix = NULL;
	CU_ASSERT_EQUAL_FATAL(sipdance_store_redis_alloc(&bare, l, &rc, NULL), 0);
	memset(&a, 0, sizeof(a));
	CU_ASSERT_EQUAL(one(l, bare, 0, "t:k", &a), SIPDANCE_STORE_OK);
	CU_ASSERT_STRING_EQUAL(a.value[0], "v1");
	CU_ASSERT_EQUAL(one(l, bare, 0, "k", &a), SIPDANCE_STORE_ABSENT);
	sipdance_store_free(bare);
	/* hashes: fields written and removed, read whole as "field\0value\0" pairs */
	memset(&a, 0, sizeof(a));
	CU_ASSERT_EQUAL(sipdance_store_hset(s, "h", "f1", "a", 1, 60, on_done, &a, NULL), 0);
	CU_ASSERT_EQUAL(sipdance_store_hset(s, "h", "f2", "bc", 2, 60, on_done, &a, NULL), 0);
	CU_ASSERT_EQUAL(sipdance_store_hgetall(s, "h", on_done, &a, NULL), 0);
	CU_ASSERT_EQUAL(sipdance_store_hset(s, "h", "f1", NULL, 0, 0, on_done, &a, NULL), 0);
	CU_ASSERT_EQUAL(sipdance_store_hgetall(s, "h", on_done, &a, NULL), 0);
	CU_ASSERT_EQUAL(sipdance_store_hgetall(s, "nohash", on_done, &a, NULL), 0);
	wait_n(l, &a, 6);
	CU_ASSERT_EQUAL_FATAL(a.n, 6);
	CU_ASSERT_EQUAL(a.st[0], SIPDANCE_STORE_OK);
	CU_ASSERT_EQUAL(a.st[2], SIPDANCE_STORE_OK);
	CU_ASSERT_EQUAL(a.len[2], 11);
	CU_ASSERT_EQUAL(memcmp(a.value[2], "f1\0a\0f2\0bc\0", 11), 0);
	CU_ASSERT_EQUAL(a.st[3], SIPDANCE_STORE_OK);
	CU_ASSERT_EQUAL(a.len[4], 6);
	CU_ASSERT_EQUAL(memcmp(a.value[4], "f2\0bc\0", 6), 0);
	CU_ASSERT_EQUAL(a.st[5], SIPDANCE_STORE_ABSENT);
	/* checked hash set: written only while the hash is what was read (f2=bc), in one step;
	 * after another write (f3): TAKEN, nothing written; the new read: written; on a hash
	 * read as absent: only while there is none; ttl 0 removes the field */
	memset(&a, 0, sizeof(a));
	CU_ASSERT_EQUAL(sipdance_store_hset(s, "h", "f3", "d", 1, 60, on_done, &a, NULL), 0);
	CU_ASSERT_EQUAL(sipdance_store_hset_if(s, "h", "f1", "x", 1, 60, "f2\0bc\0", 6, on_done, &a, NULL), 0);
	CU_ASSERT_EQUAL(sipdance_store_hset_if(s, "h", "f1", "y", 1, 60, "f3\0d\0f2\0bc\0", 11, on_done, &a,
					       NULL), 0);
	CU_ASSERT_EQUAL(sipdance_store_hset_if(s, "h", "f1", "z", 1, 60, "f2\0bc\0f3\0d\0", 11, on_done, &a,
					       NULL), 0);
	CU_ASSERT_EQUAL(sipdance_store_hset_if(s, "h2", "f", "v", 1, 60, NULL, 0, on_done, &a, NULL), 0);
	CU_ASSERT_EQUAL(sipdance_store_hset_if(s, "h2", "f", "w", 1, 60, NULL, 0, on_done, &a, NULL), 0);
	CU_ASSERT_EQUAL(sipdance_store_hset_if(s, "h2", "f", NULL, 0, 0, "f\0v\0", 4, on_done, &a, NULL), 0);
	CU_ASSERT_EQUAL(sipdance_store_hgetall(s, "h", on_done, &a, NULL), 0);
	CU_ASSERT_EQUAL(sipdance_store_hgetall(s, "h2", on_done, &a, NULL), 0);
	CU_ASSERT_EQUAL(sipdance_store_hset_if(s, "h", "f1", "z", 1, 60, "f2\0bc", 5, on_done, &a, NULL), EINVAL);
	wait_n(l, &a, 9);
	CU_ASSERT_EQUAL_FATAL(a.n, 9);
	CU_ASSERT_EQUAL(a.st[1], SIPDANCE_STORE_TAKEN);
	CU_ASSERT_EQUAL(a.st[2], SIPDANCE_STORE_OK);
	CU_ASSERT_EQUAL(a.st[3], SIPDANCE_STORE_TAKEN);
	CU_ASSERT_EQUAL(a.st[4], SIPDANCE_STORE_OK);
	CU_ASSERT_EQUAL(a.st[5], SIPDANCE_STORE_TAKEN);
	CU_ASSERT_EQUAL(a.st[6], SIPDANCE_STORE_OK);
	CU_ASSERT(a.st[7] == SIPDANCE_STORE_OK && a.len[7] == 16 && !memcmp(a.value[7], "f2\0bc\0f3\0d\0f1\0y\0", 16));
	CU_ASSERT_EQUAL(a.st[8], SIPDANCE_STORE_ABSENT);
	/* hung (SIGSTOP): no reply within the timeout is an ERROR, then back by
	 * itself (a store of its own with a short timeout: the others' is long,
	 * so that a slow run never times out a Redis that answers) */
	rc.prefix = "t:";
	rc.timeout_ms = (unsigned)slow(300);
	CU_ASSERT_EQUAL_FATAL(sipdance_store_redis_alloc(&quick, l, &rc, NULL), 0);
	CU_ASSERT_FATAL(back(l, quick));
	kill(pid, SIGSTOP);
	memset(&a, 0, sizeof(a));
	CU_ASSERT_EQUAL(one(l, quick, 1, "hung", &a), SIPDANCE_STORE_ERROR);
	CU_ASSERT_PTR_NOT_NULL(strstr(a.why, "gave no reply within"));
	kill(pid, SIGCONT);
	CU_ASSERT(back(l, quick));
	sipdance_store_free(quick);
	/* stopped: ERROR; started again: back by itself */
	redis_down(pid);
	memset(&a, 0, sizeof(a));
	CU_ASSERT_EQUAL(one(l, s, 1, "down", &a), SIPDANCE_STORE_ERROR);
	pid = redis_up(port, NULL);
	CU_ASSERT(back(l, s));
	/* freed with an operation in flight: no callback, nothing leaks */
	memset(&a, 0, sizeof(a));
	CU_ASSERT_EQUAL(sipdance_store_claim(s, "last", "", 0, 60, on_done, &a, NULL), 0);
	sipdance_store_free(s);
	sipdance_loop_run(l, NULL, 50);
	CU_ASSERT_EQUAL(a.n, 0);
	redis_down(pid);
	sipdance_loop_free(l);
}

/* redis_auth - AUTH from the password, SELECT from the URL's database; a wrong password fails closed */
static void redis_auth(void)
{
	struct sipdance_store_redis_conf rc = { .size = sizeof(rc), .password = "wrong", .retry_max_ms = 200 };
	struct sipdance_store *s = NULL, *db0 = NULL;
	struct sipdance_loop *l = NULL;
	struct seen a = { 0 };
	char url[64], url0[64];
	int port = ports() + 1;
	pid_t pid;

	CU_ASSERT_FATAL(port > 1);
	snprintf(url, sizeof(url), "redis://127.0.0.1:%d/3", port);
	snprintf(url0, sizeof(url0), "redis://127.0.0.1:%d", port);
	rc.url = url;
	rc.timeout_ms = (unsigned)slow(10000);
	CU_ASSERT_EQUAL_FATAL(sipdance_loop_poll_alloc(&l), 0);
	pid = redis_up(port, "s3cret");
	CU_ASSERT_EQUAL_FATAL(sipdance_store_redis_alloc(&s, l, &rc, NULL), 0);
	for (long i = 0; i < slow(200) && !strstr(a.why, "NOAUTH"); i++) {
		memset(&a, 0, sizeof(a));
		one(l, s, 1, "k", &a);
		sipdance_loop_run(l, NULL, 50);
	}
	CU_ASSERT_EQUAL(a.st[0], SIPDANCE_STORE_ERROR);
	CU_ASSERT_PTR_NOT_NULL(strstr(a.why, "NOAUTH"));
	sipdance_store_free(s);
	rc.password = "s3cret";
	CU_ASSERT_EQUAL_FATAL(sipdance_store_redis_alloc(&s, l, &rc, NULL), 0);
	CU_ASSERT_FATAL(back(l, s));
	memset(&a, 0, sizeof(a));
	CU_ASSERT_EQUAL(one(l, s, 1, "k", &a), SIPDANCE_STORE_OK);
	CU_ASSERT_EQUAL(one(l, s, 0, "k", &a), SIPDANCE_STORE_OK);
	rc.url = url0;
	CU_ASSERT_EQUAL_FATAL(sipdance_store_redis_alloc(&db0, l, &rc, NULL), 0);
	CU_ASSERT_EQUAL(one(l, db0, 0, "k", &a), SIPDANCE_STORE_ABSENT); /* it is in database 3 */
	sipdance_store_free(db0);
	sipdance_store_free(s);
	redis_down(pid);
	sipdance_loop_free(l);
}

/* redis_url - what --state accepts */
static void redis_url(void)
{
	static const struct {
		const char *url;
		int err;
		const char *why;
	} t[] = {
		{ "redis://127.0.0.1:6379", 0, NULL },
		{ "redis://127.0.0.1:6379/15", 0, NULL },
		{ "redis://[::1]:6379/2", 0, NULL },
		{ "rediss://127.0.0.1:6379", EINVAL, "must start with redis://" },
		{ "redis://127.0.0.1", EINVAL, "needs HOST:PORT" },
		{ "redis://localhost:6379", EINVAL, "must be an IP address" },
		{ "redis://[::1:6379", EINVAL, "unclosed [" },
		{ "redis://127.0.0.1:0", EINVAL, "port must be 1-65535" },
		{ "redis://127.0.0.1:65536", EINVAL, "port must be 1-65535" },
		{ "redis://127.0.0.1:6379x", EINVAL, "port must be 1-65535" },
		{ "redis://127.0.0.1:6379/", EINVAL, "database must be a number" },
		{ "redis://127.0.0.1:6379/1/2", EINVAL, "database must be a number" },
		{ NULL, EINVAL, "must start with redis://" },
	};
	struct sipdance_store_redis_conf unsized = { .url = "redis://127.0.0.1:6379" };
	struct sipdance_store *none = NULL;
	const char *w = NULL;
	struct sipdance_loop *l = NULL;

	CU_ASSERT_EQUAL_FATAL(sipdance_loop_poll_alloc(&l), 0);
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct sipdance_store_redis_conf rc = { .size = sizeof(rc), .url = t[i].url };
		struct sipdance_store *s = NULL;
		const char *why = NULL;

		CU_ASSERT_EQUAL(sipdance_store_redis_alloc(&s, l, &rc, &why), t[i].err);
		if (t[i].why)
			CU_ASSERT(why && strstr(why, t[i].why));
		CU_ASSERT((s != NULL) == !t[i].err);
		sipdance_store_free(s);
	}
	CU_ASSERT_EQUAL(sipdance_store_redis_alloc(&none, l, &unsized, &w), EINVAL);
	CU_ASSERT(w && strstr(w, "size unset"));
	sipdance_loop_free(l);
}

CU_ErrorCode suite_store(void)
{
	CU_pSuite s = CU_add_suite("store", NULL, NULL);

	if (!s || !CU_add_test(s, "in memory: claim, get, put, delete", mem_basics) ||
	    !CU_add_test(s, "in memory: expiry", mem_expiry) ||
	    !CU_add_test(s, "in memory: bounded", mem_bound) ||
	    !CU_add_test(s, "in memory: cancel and free", mem_cancel) ||
	    !CU_add_test(s, "host-backed store", hosted) ||
	    !CU_add_test(s, "Redis: operations, outages, reconnection", redis_store) ||
	    !CU_add_test(s, "Redis: AUTH and SELECT", redis_auth) ||
	    !CU_add_test(s, "Redis: URLs", redis_url))
		return CU_get_error();
	return CUE_SUCCESS;
}
