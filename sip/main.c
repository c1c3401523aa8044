/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * main.c - sipdance-proxy: read the configuration, start the proxy on a
 * sofia-sip su_root, and handle signals through a self-pipe: SIGHUP reloads
 * certificates and flushes the DNS/TLSA cache, SIGTERM and SIGINT drain
 * (new requests get 503, pending ones finish, at most 5 s) and exit.
 */
#include "proxy.h"

#include <sofia-sip/su_log.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>


#define DRAIN_MS 5000

static int sig_pipe[2] = { -1, -1 };

struct runner {
	su_root_t *root;
	struct px_proxy *px;
	su_timer_t *drain;
	unsigned drained_ms;
};

/* on_signal - async-signal-safe: pass the signal number down the pipe */
static void on_signal(int sig)
{
	unsigned char c = (unsigned char)sig;
	int saved = errno;

	if (write(sig_pipe[1], &c, 1) < 0)
		errno = saved;
	errno = saved;
}

/* drain_tick - exit once nothing is pending, or after DRAIN_MS */
static void drain_tick(struct px_proxy *px, su_timer_t *t, void *arg)
{
	struct runner *r = arg;

	r->drained_ms += 100;
	if (px_proxy_drain(r->px) || r->drained_ms >= DRAIN_MS) {
		px_log(SIPDANCE_LOG_INFO, "proxy", "drained, exiting");
		su_root_break(r->root);
		return;
	}
	su_timer_set_interval(t, drain_tick, r, 100);
}

/* on_sig_pipe - a signal arrived */
static int on_sig_pipe(struct px_proxy *px, su_wait_t *w, void *arg)
{
	struct runner *r = arg;
	unsigned char c;

	while (read(sig_pipe[0], &c, 1) == 1) {
		if (c == SIGHUP) {
			px_proxy_reload(r->px);
		} else if (!r->drain) {
			px_log(SIPDANCE_LOG_INFO, "proxy", "signal %d: draining", c);
			px_proxy_drain(r->px);
			if ((r->drain = su_timer_create(su_root_task(r->root), 100)))
				su_timer_set_interval(r->drain, drain_tick, r, 1);
			else
				su_root_break(r->root);
		}
	}
	return 0;
}

/* main - configuration, proxy, event loop until a signal ends it */
int main(int argc, char **argv)
{
	struct px_conf conf;
	struct runner r = { 0 };
	su_home_t home[1] = { SU_HOME_INIT(home) };
	su_wait_t w[1];
	char why[1024] = "";
	int help, err, rc = 1, sig_index = -1;

	if ((err = px_conf_parse(&conf, home, argc, argv, why, sizeof(why), &help)) || help) {
		if (err)
			fprintf(stderr, "sipdance-proxy: %s\n", why);
		else
			px_conf_usage(stdout);
		su_home_deinit(home);
		return err ? 2 : 0;
	}
	px_log_init(conf.log_level);
	signal(SIGPIPE, SIG_IGN);
	if (pipe(sig_pipe) != 0 || fcntl(sig_pipe[0], F_SETFL, O_NONBLOCK) != 0 ||
	    fcntl(sig_pipe[1], F_SETFL, O_NONBLOCK) != 0) {
		fprintf(stderr, "sipdance-proxy: pipe: %s\n", strerror(errno));
		su_home_deinit(home);
		return 1;
	}
	su_init();
	if (conf.log_level < SIPDANCE_LOG_DEBUG) {
		/* sofia-sip's own diagnostics only at --log-level debug */
		su_log_set_level(su_log_default, 0);
		su_log_set_level(su_log_global, 0);
	}
	/* poll, not epoll: the DNS layer's sockets come and go, and a descriptor
	 * number reused by a new socket stays watched under poll (epoll would
	 * silently drop it with the old socket) */
	su_port_prefer(su_poll_port_create, su_poll_clone_start);
	if (!(r.root = su_root_create(NULL))) {
		fprintf(stderr, "sipdance-proxy: cannot create the event loop\n");
		goto out;
	}
	if ((err = px_proxy_alloc(&r.px, r.root, &conf, why, sizeof(why)))) {
		fprintf(stderr, "sipdance-proxy: %s\n", why[0] ? why : strerror(err));
		goto out;
	}
	if (su_wait_create(w, sig_pipe[0], SU_WAIT_IN) != 0 ||
	    (sig_index = su_root_register(r.root, w, on_sig_pipe, &r, 0)) < 0) {
		fprintf(stderr, "sipdance-proxy: cannot watch signals\n");
		goto out;
	}
	signal(SIGHUP, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	px_log(SIPDANCE_LOG_INFO, "proxy", "serving %s on %zu listener(s), dane=%s", conf.domain,
	       conf.nlisten, sipdance_policy_mode_str(conf.dane_mode));
	su_root_run(r.root);
	rc = 0;
	su_root_deregister(r.root, sig_index);
out:
	su_timer_destroy(r.drain);
	px_proxy_free(r.px);
	if (r.root)
		su_root_destroy(r.root);
	su_deinit();
	su_home_deinit(home);
	return rc;
}
