/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * x5u_http.c - the HTTPS GET of x5u.c over libcurl's multi interface, and
 * all of the libcurl glue: curl's sockets and its one timer on the loop
 * contract (sipdance/loop.h), the URL and address policy applied to what curl
 * parsed and to the address it actually connects to, and curl's results
 * turned into our errno values and reasons. No thread of our own; curl's
 * threaded resolver bounds the name lookup by the transfer's timeout.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <curl/curl.h>
#include <openssl/err.h>
#include <openssl/x509.h>

#include "internal.h"
#include "stir-internal.h"

struct sd_http {
	struct sd_http_conf conf;
	char *ca_file;
	CURLM *multi;
	void *timer;                /* curl's one timer, on conf.loop */
	struct sd_http_xfer *xfers; /* in progress */
};

/* One transfer: its curl handles, what came back so far, and why it failed. */
struct sd_http_xfer {
	struct sd_http_xfer *next;
	struct sd_http *h;
	CURL *easy;
	CURLU *url;
	sd_http_done_fn *done;
	void *arg;
	int tls;                 /* https */
	int resolved, connected, requested; /* how far it came: for the reason of a timeout */
	char host[256];          /* for reasons: curl's host, brackets removed */
	char refused[SD_X5U_WHY_MAX]; /* the address policy refused an address: why */
	int body_too_large, head_too_large;
	char *body;
	size_t len, cap;
	struct sd_x5u_headers hdr;
	char curl_err[CURL_ERROR_SIZE];
};

/* set_why - a reason into a SD_X5U_WHY_MAX buffer; returns @err */
static int set_why(char *buf, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int set_why(char *buf, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, SD_X5U_WHY_MAX, fmt, ap);
	va_end(ap);
	return err;
}

static void finished(struct sd_http *h);

/* on_io - the loop found a socket of curl's ready */
static void on_io(void *arg, int fd, int events)
{
	struct sd_http *h = arg;
	int running;

	curl_multi_socket_action(h->multi, fd, (events & SIPDANCE_LOOP_READ ? CURL_CSELECT_IN : 0) |
				 (events & SIPDANCE_LOOP_WRITE ? CURL_CSELECT_OUT : 0), &running);
	finished(h);
}

/* on_curl_timer - curl's timer ran out */
static void on_curl_timer(void *arg)
{
	struct sd_http *h = arg;
	int running;

	curl_multi_socket_action(h->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	finished(h);
}

/* on_socket - CURLMOPT_SOCKETFUNCTION: what curl wants to hear of a socket, to the loop
 * (curl says REMOVE before it closes one) */
static int on_socket(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
	struct sd_http *h = userp;
	struct sd_http_xfer *x = NULL;
	int events = (what & CURL_POLL_IN ? SIPDANCE_LOOP_READ : 0) |
		     (what & CURL_POLL_OUT ? SIPDANCE_LOOP_WRITE : 0);

	/* once an address was tried, a socket curl reads is a connected one */
	curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&x);
	if (x && x->resolved && (what & CURL_POLL_IN))
		x->connected = 1;
	return sd_loop_watch(h->conf.loop, s, what == CURL_POLL_REMOVE ? 0 : events, on_io, h) ? -1 : 0;
}

/* on_timer - CURLMOPT_TIMERFUNCTION: curl's one timer on the loop (-1 disarms, 0 at once) */
static int on_timer(CURLM *multi, long ms, void *userp)
{
	struct sd_http *h = userp;

	sd_timer_set(h->conf.loop, h->timer, ms);
	return 0;
}

/* open_socket - CURLOPT_OPENSOCKETFUNCTION: the address policy on the address
 * curl is about to connect to (each one it tries, after any name lookup) */
static curl_socket_t open_socket(void *clientp, curlsocktype purpose, struct curl_sockaddr *a)
{
	struct sd_http_xfer *x = clientp;

	if (purpose != CURLSOCKTYPE_IPCXN)
		return CURL_SOCKET_BAD;
	x->resolved = 1;
	if (!x->h->conf.allow_private && sd_x5u_refused_addr(&a->addr, x->refused, sizeof(x->refused)))
		return CURL_SOCKET_BAD;
	return socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
}

/* on_prereq - CURLOPT_PREREQFUNCTION: connected (TLS included), the request goes out */
static int on_prereq(void *arg, char *remote, char *local, int rport, int lport)
{
	((struct sd_http_xfer *)arg)->requested = 1;
	return CURL_PREREQFUNC_OK;
}

/* on_header - CURLOPT_HEADERFUNCTION: each header line to sd_x5u_header (capped) */
static size_t on_header(char *line, size_t size, size_t n, void *arg)
{
	struct sd_http_xfer *x = arg;

	if (sd_x5u_header(&x->hdr, line, n)) {
		x->head_too_large = 1;
		return 0;
	}
	return n;
}

/* on_body - CURLOPT_WRITEFUNCTION: the body, at most max_size bytes (chunked or close-delimited too) */
static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
	struct sd_http_xfer *x = arg;
	size_t max = x->h->conf.max_size;

	if (n > max - x->len) {
		x->body_too_large = 1;
		return 0;
	}
	if (x->len + n > x->cap) {
		size_t cap = x->cap ? x->cap * 2 : 8192;
		char *b;

		while (cap < x->len + n)
			cap *= 2;
		if (cap > max)
			cap = max;
		if (!(b = realloc(x->body, cap)))
			return 0;
		x->body = b;
		x->cap = cap;
	}
	memcpy(x->body + x->len, data, n);
	x->len += n;
	return n;
}

/* part - one component of a parsed URL, or NULL (curl_free it) */
static char *part(CURLU *u, CURLUPart what, unsigned flags)
{
	char *s = NULL;

	return curl_url_get(u, what, &s, flags) == CURLUE_OK ? s : NULL;
}

/*
 * check_url - our URL policy on curl's own parse of @u (what we check is
 * what curl fetches): 0 with *out, or EACCES / EINVAL with @why. The cases:
 *  - longer than SIPDANCE_PASSPORT_MAX_URL, white space or non-ASCII: EINVAL;
 *  - not a URL curl parses (a port beyond 65535 among others): EINVAL;
 *  - a scheme other than https (and http with allow_http): EACCES;
 *  - user information, or an IPv6 zone id: EINVAL;
 *  - a port other than 443 or 8443 (80 for an allowed http) without
 *    allow_any_port: EACCES.
 */
static int check_url(const struct sd_http_conf *c, const char *u, CURLU **out, int *https,
		     char *host, size_t hostsize, char *why)
{
	CURLU *cu;
	CURLUcode rc;
	char *scheme = NULL, *user = NULL, *pass = NULL, *zone = NULL, *h = NULL, *port = NULL;
	long pn = 0;
	int err = 0, tls;

	if (strlen(u) > SIPDANCE_PASSPORT_MAX_URL)
		return set_why(why, EINVAL, "x5u URL too long");
	for (const char *p = u; *p; p++)
		if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f)
			return set_why(why, EINVAL, "x5u URL has white space or non-ASCII");
	if (!(cu = curl_url()))
		return set_why(why, ENOMEM, "out of memory");
	if ((rc = curl_url_set(cu, CURLUPART_URL, u, CURLU_NON_SUPPORT_SCHEME))) {
		curl_url_cleanup(cu);
		if (rc == CURLUE_BAD_PORT_NUMBER)
			return set_why(why, EINVAL, "x5u URL has a malformed port");
		return set_why(why, EINVAL, "x5u URL is malformed (%s)", curl_url_strerror(rc));
	}
	scheme = part(cu, CURLUPART_SCHEME, 0);
	user = part(cu, CURLUPART_USER, 0);
	pass = part(cu, CURLUPART_PASSWORD, 0);
	zone = part(cu, CURLUPART_ZONEID, 0);
	h = part(cu, CURLUPART_HOST, 0);
	port = part(cu, CURLUPART_PORT, CURLU_DEFAULT_PORT);
	tls = scheme && !strcmp(scheme, "https");
	if (port)
		pn = strtol(port, NULL, 10);
	if (!tls && !(scheme && !strcmp(scheme, "http") && c->allow_http))
		err = set_why(why, EACCES, "x5u scheme not allowed (%s only)",
			      c->allow_http ? "https and http" : "https");
	else if (user || pass)
		err = set_why(why, EINVAL, "x5u URL has user information");
	else if (zone)
		err = set_why(why, EINVAL, "x5u URL has an IPv6 zone id");
	else if (!h || !*h)
		err = set_why(why, EINVAL, "x5u URL has no host");
	else if (!c->allow_any_port && pn != 443 && pn != 8443 && !(pn == 80 && !tls))
		err = set_why(why, EACCES, "x5u port %ld not allowed (443 and 8443 only)", pn);
	if (!err) /* for reasons: the host as given, an IPv6 literal without its brackets */
		snprintf(host, hostsize, "%.*s", (int)strlen(h) - (*h == '[' ? 2 : 0), h + (*h == '['));
	curl_free(scheme);
	curl_free(user);
	curl_free(pass);
	curl_free(zone);
	curl_free(h);
	curl_free(port);
	if (err)
		curl_url_cleanup(cu);
	else
		*out = cu;
	*https = tls;
	return err;
}

/* xfer_free - curl's handles and what came back */
static void xfer_free(struct sd_http_xfer *x)
{
	if (x->easy) {
		curl_multi_remove_handle(x->h->multi, x->easy);
		curl_easy_cleanup(x->easy);
	}
	curl_url_cleanup(x->url);
	free(x->body);
	free(x);
}

/* outcome - what a finished transfer means: 0, or an errno with @why */
static int outcome(struct sd_http_xfer *x, CURLcode rc, char *why)
{
	long status = 0, verr = 0, oserr = 0;

	curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
	switch (rc) {
	case CURLE_OK:
		if (status == 200)
			return 0;
		return set_why(why, EHOSTUNREACH, "x5u HTTP status %ld%s", status,
			       status >= 300 && status < 400 ? " (redirects are not followed)" : "");
	case CURLE_OPERATION_TIMEDOUT:
		if (!x->resolved)
			return set_why(why, ETIMEDOUT, "x5u name lookup of %s timed out after %u ms", x->host,
				       x->h->conf.timeout_ms);
		if (!x->connected)
			return set_why(why, ETIMEDOUT, "x5u connect to %s timed out", x->host);
		if (!x->requested)
			return set_why(why, ETIMEDOUT, "x5u TLS handshake with %s timed out", x->host);
		return set_why(why, ETIMEDOUT, "x5u response timed out after %u ms", x->h->conf.timeout_ms);
	case CURLE_COULDNT_RESOLVE_HOST:
		return set_why(why, EHOSTUNREACH, "x5u host %s does not resolve", x->host);
	case CURLE_COULDNT_CONNECT:
		if (x->refused[0])
			return set_why(why, EACCES, "x5u host %s is %s (not allowed)", x->host, x->refused);
		curl_easy_getinfo(x->easy, CURLINFO_OS_ERRNO, &oserr);
		return set_why(why, EHOSTUNREACH, "x5u connect to %s: %s", x->host,
			       oserr ? strerror((int)oserr) : x->curl_err);
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
		curl_easy_getinfo(x->easy, CURLINFO_SSL_VERIFYRESULT, &verr);
		return set_why(why, EHOSTUNREACH, "x5u TLS handshake with %s failed: %s", x->host,
			       verr ? X509_verify_cert_error_string(verr) : x->curl_err);
	case CURLE_FILESIZE_EXCEEDED:
		return set_why(why, EMSGSIZE, "x5u response larger than %zu bytes (by its Content-Length)",
			       x->h->conf.max_size);
	case CURLE_WRITE_ERROR:
		if (x->head_too_large)
			return set_why(why, EMSGSIZE, "x5u response headers larger than %d bytes",
				       SD_X5U_HEAD_MAX);
		if (x->body_too_large)
			return set_why(why, EMSGSIZE, "x5u response larger than %zu bytes",
				       x->h->conf.max_size);
		return set_why(why, ENOMEM, "out of memory");
	case CURLE_PARTIAL_FILE:
		return set_why(why, EHOSTUNREACH, "x5u response truncated");
	case CURLE_OUT_OF_MEMORY:
		return set_why(why, ENOMEM, "out of memory");
	default:
		return set_why(why, EHOSTUNREACH, "x5u fetch from %s failed: %s", x->host,
			       x->curl_err[0] ? x->curl_err : curl_easy_strerror(rc));
	}
}

/* finished - hand every completed transfer to its owner, then free it */
static void finished(struct sd_http *h)
{
	CURLMsg *m;
	int left;

	while ((m = curl_multi_info_read(h->multi, &left))) {
		struct sd_http_xfer *x = NULL, **px;
		char why[SD_X5U_WHY_MAX] = "";
		int err;

		if (m->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&x);
		err = outcome(x, m->data.result, why);
		for (px = &h->xfers; *px; px = &(*px)->next)
			if (*px == x) {
				*px = x->next;
				break;
			}
		x->done(x->arg, err, why, err ? NULL : x->body, err ? 0 : x->len, &x->hdr);
		xfer_free(x);
	}
}

/* sd_http_get - start a GET of @url within @timeout_ms (lookup included):
 * 0 and @done later from the loop, or a policy refusal now (@why) */
int sd_http_get(struct sd_http *h, const char *url, unsigned timeout_ms, sd_http_done_fn *done,
		void *arg, char *why)
{
	const struct sd_http_conf *c = &h->conf;
	struct sd_http_xfer *x = calloc(1, sizeof(*x));
	int err;

	if (!x)
		return set_why(why, ENOMEM, "out of memory");
	x->h = h;
	x->done = done;
	x->arg = arg;
	if ((err = check_url(c, url, &x->url, &x->tls, x->host, sizeof(x->host), why))) {
		free(x);
		return err;
	}
	/*
	 * What curl may do, beyond check_url:
	 *  - https only (http too with allow_http), for redirects as well, and no
	 *    redirect is followed (a 3xx is a failure); no proxy from the
	 *    environment; HTTP/1.1, no content decoding, a fresh connection each
	 *    time and none kept;
	 *  - the whole transfer, name lookup included, within @timeout_ms; a
 *    lookup still running then is left to its resolver thread (libcurl's
 *    threaded resolver, Debian's build: QUICK_EXIT, or curl would join it
 *    and block this loop for as long as the name server takes);
	 *  - at most max_size body bytes (Content-Length checked first, chunked
	 *    and close-delimited bodies counted as they come), SD_X5U_HEAD_MAX
	 *    header bytes;
	 *  - the server certificate verified against the TLS roots and the host
	 *    name (or the IP literal), TLS 1.2 at least;
	 *  - each address connected to passes sd_x5u_refused_addr unless
	 *    allow_private (open_socket), whatever the name resolved to.
	 */
	if (!(x->easy = curl_easy_init()) ||
	    curl_easy_setopt(x->easy, CURLOPT_CURLU, x->url) ||
	    curl_easy_setopt(x->easy, CURLOPT_PROTOCOLS_STR, c->allow_http ? "http,https" : "https") ||
	    curl_easy_setopt(x->easy, CURLOPT_REDIR_PROTOCOLS_STR, "https") ||
	    curl_easy_setopt(x->easy, CURLOPT_FOLLOWLOCATION, 0L) ||
	    curl_easy_setopt(x->easy, CURLOPT_PROXY, "") ||
	    curl_easy_setopt(x->easy, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1) ||
	    curl_easy_setopt(x->easy, CURLOPT_FORBID_REUSE, 1L) ||
	    curl_easy_setopt(x->easy, CURLOPT_FRESH_CONNECT, 1L) ||
	    curl_easy_setopt(x->easy, CURLOPT_NOSIGNAL, 1L) ||
	    curl_easy_setopt(x->easy, CURLOPT_QUICK_EXIT, 1L) ||
	    curl_easy_setopt(x->easy, CURLOPT_TIMEOUT_MS, (long)timeout_ms) ||
	    curl_easy_setopt(x->easy, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)c->max_size) ||
	    curl_easy_setopt(x->easy, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2) ||
	    curl_easy_setopt(x->easy, CURLOPT_SSL_VERIFYPEER, 1L) ||
	    curl_easy_setopt(x->easy, CURLOPT_SSL_VERIFYHOST, 2L) ||
	    (h->ca_file && curl_easy_setopt(x->easy, CURLOPT_CAINFO, h->ca_file)) ||
	    curl_easy_setopt(x->easy, CURLOPT_USERAGENT, "sipdance") ||
	    curl_easy_setopt(x->easy, CURLOPT_OPENSOCKETFUNCTION, open_socket) ||
	    curl_easy_setopt(x->easy, CURLOPT_OPENSOCKETDATA, x) ||
	    curl_easy_setopt(x->easy, CURLOPT_PREREQFUNCTION, on_prereq) ||
	    curl_easy_setopt(x->easy, CURLOPT_PREREQDATA, x) ||
	    curl_easy_setopt(x->easy, CURLOPT_HEADERFUNCTION, on_header) ||
	    curl_easy_setopt(x->easy, CURLOPT_HEADERDATA, x) ||
	    curl_easy_setopt(x->easy, CURLOPT_WRITEFUNCTION, on_body) ||
	    curl_easy_setopt(x->easy, CURLOPT_WRITEDATA, x) ||
	    curl_easy_setopt(x->easy, CURLOPT_ERRORBUFFER, x->curl_err) ||
	    curl_easy_setopt(x->easy, CURLOPT_PRIVATE, x) ||
	    curl_multi_add_handle(h->multi, x->easy)) {
		if (x->easy) {
			curl_easy_cleanup(x->easy);
			x->easy = NULL;
		}
		xfer_free(x);
		return set_why(why, ENOMEM, "out of memory");
	}
	x->next = h->xfers;
	h->xfers = x;
	return 0;
}

/* sd_http_alloc - curl's multi handle on the loop */
int sd_http_alloc(struct sd_http **out, const struct sd_http_conf *conf)
{
	struct sd_http *h;
	X509_STORE *roots;

	/* unreadable TLS roots fail now, not at each fetch */
	if (conf->ca_file) {
		roots = X509_STORE_new();
		if (!roots || X509_STORE_load_file(roots, conf->ca_file) != 1) {
			X509_STORE_free(roots);
			ERR_clear_error();
			return EINVAL;
		}
		X509_STORE_free(roots);
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT))
		return ENOMEM;
	if (!(h = calloc(1, sizeof(*h)))) {
		curl_global_cleanup();
		return ENOMEM;
	}
	h->conf = *conf;
	if ((conf->ca_file && !(h->ca_file = strdup(conf->ca_file))) ||
	    !(h->timer = sd_timer_alloc(conf->loop, on_curl_timer, h)) || !(h->multi = curl_multi_init()) ||
	    curl_multi_setopt(h->multi, CURLMOPT_SOCKETFUNCTION, on_socket) ||
	    curl_multi_setopt(h->multi, CURLMOPT_SOCKETDATA, h) ||
	    curl_multi_setopt(h->multi, CURLMOPT_TIMERFUNCTION, on_timer) ||
	    curl_multi_setopt(h->multi, CURLMOPT_TIMERDATA, h)) {
		sd_http_free(h);
		return ENOMEM;
	}
	h->conf.ca_file = h->ca_file;
	*out = h;
	return 0;
}

/* sd_http_free - every transfer ends without a callback; NULL ok */
void sd_http_free(struct sd_http *h)
{
	if (!h)
		return;
	while (h->xfers) {
		struct sd_http_xfer *x = h->xfers;

		h->xfers = x->next;
		xfer_free(x);
	}
	if (h->multi)
		curl_multi_cleanup(h->multi);
	sd_timer_free(h->conf.loop, h->timer);
	free(h->ca_file);
	free(h);
	curl_global_cleanup();
}
