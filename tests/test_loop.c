/* SPDX-License-Identifier: BSD-2-Clause */
/* test_loop.c - the event-loop contract and the library's poll loop. */
#include <errno.h>
#include <unistd.h>
#include <CUnit/CUnit.h>

#include "../src/internal.h"
#include "suites.h"

/* What the callbacks saw, in order. */
struct seen {
	struct sipdance_loop *l;
	char log[32];
	int n, done, fd;
	void *timer, *other;
};

/* note - append one letter to the log */
static void note(struct seen *s, char c)
{
	if (s->n < (int)sizeof(s->log) - 1)
		s->log[s->n++] = c;
}

/* on_read - a readable pipe: drain, stop watching, finish */
static void on_read(void *arg, int fd, int events)
{
	struct seen *s = arg;
	char b;

	CU_ASSERT_EQUAL(events, SIPDANCE_LOOP_READ);
	CU_ASSERT_EQUAL(read(fd, &b, 1), 1);
	note(s, 'r');
	sd_loop_watch(s->l, fd, 0, NULL, NULL);
	s->done = 1;
}

/* on_timer_a / on_timer_b - timers note themselves */
static void on_timer_a(void *arg)
{
	note(arg, 'a');
}

static void on_timer_b(void *arg)
{
	struct seen *s = arg;

	note(s, 'b');
	s->done = s->n >= 3;
}

/* poll_io - a watched pipe fires once it is written, not before */
static void poll_io(void)
{
	struct seen s = { 0 };
	int p[2];

	CU_ASSERT_EQUAL_FATAL(sipdance_loop_poll_alloc(&s.l), 0);
	CU_ASSERT_EQUAL_FATAL(pipe(p), 0);
	/* the host's own descriptor, through the public call (the library's own use sd_loop_watch) */
	CU_ASSERT_EQUAL(sipdance_loop_poll_watch(s.l, -1, SIPDANCE_LOOP_READ, on_read, &s), EBADF);
	CU_ASSERT_EQUAL(sipdance_loop_poll_watch(s.l, p[0], SIPDANCE_LOOP_READ, on_read, &s), 0);
	CU_ASSERT_EQUAL(sipdance_loop_run(s.l, &s.done, 0), ETIMEDOUT);
	CU_ASSERT_EQUAL(s.n, 0);
	CU_ASSERT_EQUAL(write(p[1], "x", 1), 1);
	CU_ASSERT_EQUAL(sipdance_loop_run(s.l, &s.done, 5000), 0);
	CU_ASSERT_STRING_EQUAL(s.log, "r");
	/* nothing watched, nothing armed: the loop says so instead of sleeping */
	s.done = 0;
	CU_ASSERT_EQUAL(sipdance_loop_run(s.l, &s.done, -1), EAGAIN);
	close(p[0]);
	close(p[1]);
	sipdance_loop_free(s.l);
}

/* on_slow - a callback that works past a timer's deadline, while another descriptor becomes readable */
static void on_slow(void *arg, int fd, int events)
{
	struct seen *s = arg;
	char b;

	(void)events;
	CU_ASSERT_EQUAL(read(fd, &b, 1), 1);
	note(s, 'p');
	sd_loop_watch(s->l, fd, 0, NULL, NULL);
	CU_ASSERT_EQUAL(write(s->fd, "x", 1), 1);
	usleep(60 * 1000); /* the work: the 20 ms timer falls due */
}

/* on_answer - the descriptor that became readable during on_slow */
static void on_answer(void *arg, int fd, int events)
{
	struct seen *s = arg;
	char b;

	(void)events;
	CU_ASSERT_EQUAL(read(fd, &b, 1), 1);
	note(s, 'q');
	sd_loop_watch(s->l, fd, 0, NULL, NULL);
}

/* on_timeout - the timer: the last event */
static void on_timeout(void *arg)
{
	struct seen *s = arg;

	note(s, 't');
	s->done = 1;
}

/* poll_late_answer - what arrived while a callback worked is read before a timer due meanwhile fires */
static void poll_late_answer(void)
{
	struct seen s = { 0 };
	int p[2], q[2];
	void *t;

	CU_ASSERT_EQUAL_FATAL(sipdance_loop_poll_alloc(&s.l), 0);
	CU_ASSERT_EQUAL_FATAL(pipe(p), 0);
	CU_ASSERT_EQUAL_FATAL(pipe(q), 0);
	s.fd = q[1];
	CU_ASSERT_EQUAL(sd_loop_watch(s.l, p[0], SIPDANCE_LOOP_READ, on_slow, &s), 0);
	CU_ASSERT_EQUAL(sd_loop_watch(s.l, q[0], SIPDANCE_LOOP_READ, on_answer, &s), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(t = sd_timer_alloc(s.l, on_timeout, &s));
	sd_timer_set(s.l, t, 20);
	CU_ASSERT_EQUAL(write(p[1], "x", 1), 1);
	CU_ASSERT_EQUAL(sipdance_loop_run(s.l, &s.done, 5000), 0);
	CU_ASSERT_STRING_EQUAL(s.log, "pqt");
	sd_timer_free(s.l, t);
	for (int i = 0; i < 2; i++) {
		close(p[i]);
		close(q[i]);
	}
	sipdance_loop_free(s.l);
}

/* poll_timers - timers run in deadline order, a disarmed one never, a re-armed one again */
static void poll_timers(void)
{
	struct seen s = { 0 };
	void *a, *b, *c;

	CU_ASSERT_EQUAL_FATAL(sipdance_loop_poll_alloc(&s.l), 0);
	a = sd_timer_alloc(s.l, on_timer_a, &s);
	b = sd_timer_alloc(s.l, on_timer_b, &s);
	c = sd_timer_alloc(s.l, on_timer_a, &s);
	CU_ASSERT_FATAL(a && b && c);
	sd_timer_set(s.l, b, 30);
	sd_timer_set(s.l, a, 0);
	sd_timer_set(s.l, c, 10);
	sd_timer_set(s.l, c, -1);
	CU_ASSERT_EQUAL(sipdance_loop_run(s.l, &s.done, 5000), EAGAIN);
	CU_ASSERT_STRING_EQUAL(s.log, "ab");
	sd_timer_set(s.l, b, 0);
	CU_ASSERT_EQUAL(sipdance_loop_run(s.l, &s.done, 5000), 0);
	CU_ASSERT_STRING_EQUAL(s.log, "abb");
	sd_timer_free(s.l, a);
	sd_timer_free(s.l, b);
	sd_timer_free(s.l, c);
	sd_timer_free(s.l, NULL);
	sipdance_loop_free(s.l);
}

/* on_rearm - re-arms itself at 0 ms: it must run once per round, not spin in one */
static void on_rearm(void *arg)
{
	struct seen *s = arg;

	note(s, 'x');
	if (s->n < 3)
		sd_timer_set(s->l, s->timer, 0);
	else
		s->done = 1;
}

/* on_free_other - frees the other timer and itself from inside a callback */
static void on_free_other(void *arg)
{
	struct seen *s = arg;

	note(s, 'f');
	sd_timer_free(s->l, s->other);
	sd_timer_free(s->l, s->timer);
}

/* poll_reentrant - callbacks that re-arm or free timers */
static void poll_reentrant(void)
{
	struct seen s = { 0 };

	CU_ASSERT_EQUAL_FATAL(sipdance_loop_poll_alloc(&s.l), 0);
	s.timer = sd_timer_alloc(s.l, on_rearm, &s);
	sd_timer_set(s.l, s.timer, 0);
	CU_ASSERT_EQUAL(sipdance_loop_run(s.l, &s.done, 5000), 0);
	CU_ASSERT_STRING_EQUAL(s.log, "xxx");
	sd_timer_free(s.l, s.timer);

	s = (struct seen){ .l = s.l };
	s.timer = sd_timer_alloc(s.l, on_free_other, &s);
	s.other = sd_timer_alloc(s.l, on_timer_a, &s);
	sd_timer_set(s.l, s.timer, 0);
	sd_timer_set(s.l, s.other, 0);
	CU_ASSERT_EQUAL(sipdance_loop_run(s.l, &s.done, 5000), EAGAIN);
	CU_ASSERT_STRING_EQUAL(s.log, "f");
	sipdance_loop_free(s.l);
}

/* Host calls that count what the library asked for. */
static int watched, timers;
static int h_watch(void *host, int fd, int events, sipdance_loop_io_fn *fn, void *arg)
{
	watched += events ? 1 : -1;
	return 0;
}

static void *h_timer_alloc(void *host, sipdance_loop_timer_fn *fn, void *arg)
{
	timers++;
	return &timers;
}

static void h_timer_set(void *host, void *t, long ms)
{
}

static void h_timer_free(void *host, void *t)
{
	timers--;
}

/* host_loop - a host's calls are used as given; an incomplete or too small table is refused */
static void host_loop(void)
{
	struct sipdance_loop_ops ops = { sizeof(ops), h_watch, h_timer_alloc, h_timer_set, h_timer_free };
	struct sipdance_loop *l;
	int done = 0;
	void *t;

	CU_ASSERT_EQUAL_FATAL(sipdance_loop_alloc(&l, &ops, NULL), 0);
	CU_ASSERT_EQUAL(sd_loop_watch(l, 0, SIPDANCE_LOOP_READ, on_read, NULL), 0);
	CU_ASSERT_EQUAL(watched, 1);
	CU_ASSERT_EQUAL(sd_loop_watch(l, 0, 0, NULL, NULL), 0);
	CU_ASSERT_EQUAL(watched, 0);
	t = sd_timer_alloc(l, on_timer_a, NULL);
	CU_ASSERT_EQUAL(timers, 1);
	sd_timer_free(l, t);
	CU_ASSERT_EQUAL(timers, 0);
	CU_ASSERT_EQUAL(sipdance_loop_run(l, &done, 0), EINVAL);
	/* the host watches its own descriptors itself */
	CU_ASSERT_EQUAL(sipdance_loop_poll_watch(l, 0, SIPDANCE_LOOP_READ, on_read, NULL), EINVAL);
	sipdance_loop_free(l);
	sipdance_loop_free(NULL);

	ops.size = sizeof(ops) - 1;
	CU_ASSERT_EQUAL(sipdance_loop_alloc(&l, &ops, NULL), EINVAL);
	CU_ASSERT_PTR_NULL(l);
	ops.size = sizeof(ops);
	ops.timer_free = NULL;
	CU_ASSERT_EQUAL(sipdance_loop_alloc(&l, &ops, NULL), EINVAL);
}

CU_ErrorCode suite_loop(void)
{
	CU_pSuite s = CU_add_suite("loop", NULL, NULL);

	if (!s || !CU_add_test(s, "poll loop: descriptors", poll_io) ||
	    !CU_add_test(s, "poll loop: timers", poll_timers) ||
	    !CU_add_test(s, "poll loop: an answer before a timeout", poll_late_answer) ||
	    !CU_add_test(s, "poll loop: callbacks re-arm and free", poll_reentrant) ||
	    !CU_add_test(s, "host loop: calls and refusals", host_loop))
		return CU_get_error();
	return CUE_SUCCESS;
}
