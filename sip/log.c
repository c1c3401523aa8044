/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * log.c - the proxy's log: one line per event on stderr with a UTC time
 * stamp, level and module; libsipdance's own messages come through it too.
 */
#include "proxy.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <netinet/in.h>


static enum sipdance_log_level log_max = SIPDANCE_LOG_INFO;

static const char *const level_name[] = { "error", "warn", "info", "debug" };

/* vlog - format one line */
static void vlog(enum sipdance_log_level level, const char *module, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));
static void vlog(enum sipdance_log_level level, const char *module, const char *fmt, va_list ap)
{
	struct timespec ts;
	struct tm tm;
	char stamp[32], msg[1024];

	if (level > log_max)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	fprintf(stderr, "%s.%03ldZ %s %s: %s\n", stamp, ts.tv_nsec / 1000000,
		level_name[level], module, msg);
}

/* px_log - one line if the level is enabled */
void px_log(enum sipdance_log_level level, const char *module, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(level, module, fmt, ap);
	va_end(ap);
}

/* from_library - libsipdance's log sink */
static void from_library(enum sipdance_log_level level, const char *module, const char *msg,
			 void *arg)
{
	px_log(level, module, "%s", msg);
}

/* px_log_init - level for the proxy and the library */
void px_log_init(enum sipdance_log_level level)
{
	log_max = level;
	setvbuf(stderr, NULL, _IOLBF, 0);
	sipdance_log_set(from_library, NULL, level);
}

/* px_addr_str - printable "ip:port" ("[ip6]:port") */
const char *px_addr_str(const struct sockaddr *sa, char *buf, size_t size)
{
	char ip[INET6_ADDRSTRLEN] = "?";

	if (sa && sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)sa;

		inet_ntop(AF_INET, &in->sin_addr, ip, sizeof(ip));
		snprintf(buf, size, "%s:%u", ip, ntohs(in->sin_port));
	} else if (sa && sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)sa;

		inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof(ip));
		snprintf(buf, size, "[%s]:%u", ip, ntohs(in6->sin6_port));
	} else {
		snprintf(buf, size, "?");
	}
	return buf;
}
