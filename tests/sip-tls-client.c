/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * sip-tls-client.c - a one-shot SIP-over-TLS client for the proxy tests: it
 * connects with a client certificate and, when the server asks, a
 * dane_clientid ClientName (sipdance_clientid_attach, client role), sends
 * each request file given (in order, on the one connection) and prints the
 * status line and Reason header of every final response. The server's
 * certificate is not verified: the tests are about the server's view of us.
 *
 * usage: sip-tls-client IP PORT CERT KEY NAME|- [tls12|tls13] REQUEST...
 * Exit 0 once every request got a final response, 2 if the connection or the
 * handshake failed (the alert is printed), 1 otherwise. Its waits scale by
 * VG_SLOW (tests/timeout.sh sets it under valgrind). For the tests of
 * client-shipped DNSSEC chains (docs/client-chain.md), as a client or an
 * attacker would send them: SHIP=FILE sends the file's bytes as extension 59
 * in our end-entity entry when the server asks (prints "shipped"), whatever
 * they hold; PIPELINE=1 writes every request before reading any answer;
 * CLOSE=1 then closes the connection without reading; FULL=1 prints each
 * final response whole. HOLD=FILE: after the first final response, prints
 * "holding" and sends the next request only once FILE exists (the test
 * changes the world meanwhile; the connection stays open); with ANSWER=486
 * (or 200) it meanwhile prints "received METHOD URI" for each request the
 * server sends over the connection (a user's flow) and answers it: an INVITE
 * 180, then 486 Busy Here (or 200 OK with its Record-Route and a Contact),
 * anything else 200, an ACK not at all (requests without a body, as the
 * tests send them).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <sipdance.h>

static char alert[128];

/* info - remember a fatal alert from the server */
static void info(const SSL *ssl, int where, int ret)
{
	if ((where & SSL_CB_ALERT) && (where & SSL_CB_READ) && !strcmp(SSL_alert_type_string(ret), "F"))
		snprintf(alert, sizeof(alert), "%s", SSL_alert_desc_string_long(ret));
}

/* ship_add - SHIP: the file's bytes in our end-entity CertificateEntry, as they are */
static int ship_add(SSL *ssl, unsigned int type, unsigned int context, const unsigned char **out,
		    size_t *outlen, X509 *x, size_t chainidx, int *al, void *arg)
{
	FILE *fp;
	unsigned char *b;

	if (context != SSL_EXT_TLS1_3_CERTIFICATE || chainidx != 0 || !(fp = fopen(arg, "rb")))
		return 0;
	if (!(b = malloc(65536))) {
		fclose(fp);
		return 0;
	}
	*outlen = fread(b, 1, 65536, fp);
	fclose(fp);
	*out = b;
	printf("shipped\n");
	return 1;
}

/* ship_free - what ship_add read */
static void ship_free(SSL *ssl, unsigned int type, unsigned int context, const unsigned char *out,
		      void *arg)
{
	free((void *)out);
}

/* read_file - a request file, LF turned into CRLF, into buf */
static size_t read_file(const char *path, char *buf, size_t size)
{
	FILE *fp = fopen(path, "r");
	size_t n = 0;
	int c;

	if (!fp)
		return 0;
	while ((c = fgetc(fp)) != EOF && n + 2 < size) {
		if (c == '\n')
			buf[n++] = '\r';
		buf[n++] = (char)c;
	}
	fclose(fp);
	buf[n] = '\0';
	return n;
}

/* final - print the status line and Reason of a final response in @msg; 1 if final */
static int final(const char *msg)
{
	const char *eol = strstr(msg, "\r\n"), *r;
	int status = atoi(msg + 8);

	if (strncmp(msg, "SIP/2.0 ", 8) || status < 200 || !eol)
		return 0;
	if (getenv("FULL")) {
		printf("%s", msg);
		return 1;
	}
	printf("%.*s\n", (int)(eol - msg), msg);
	for (r = eol; (r = strstr(r, "\r\nReason:")); r += 2) {
		const char *e = strstr(r + 2, "\r\n");

		printf("%.*s\n", (int)(e ? e - r - 2 : (long)strlen(r + 2)), r + 2);
	}
	return 1;
}

/* respond - ANSWER: a response @status to request @msg (its Via, From, To,
 * Call-ID, CSeq and Record-Route; a 2xx with a Contact) */
static void respond(SSL *ssl, const char *msg, const char *status)
{
	static const char *const copy[] = { "Via:", "From:", "To:", "Call-ID:", "CSeq:", "Record-Route:" };
	char out[8192], line[2048];
	const char *p, *e;
	size_t n = (size_t)snprintf(out, sizeof(out), "SIP/2.0 %s\r\n", status);

	for (p = strstr(msg, "\r\n"); p && (e = strstr(p + 2, "\r\n")); p = e) {
		snprintf(line, sizeof(line), "%.*s", (int)(e - p - 2), p + 2);
		for (size_t i = 0; i < sizeof(copy) / sizeof(copy[0]) && n < sizeof(out); i++)
			if (!strncasecmp(line, copy[i], strlen(copy[i])))
				n += (size_t)snprintf(out + n, sizeof(out) - n, "%s%s\r\n", line,
						      i == 2 && !strstr(line, ";tag=") ? ";tag=held" : "");
	}
	if (n < sizeof(out))
		n += (size_t)snprintf(out + n, sizeof(out) - n, "%sContent-Length: 0\r\n\r\n", status[0] == '2' ?
				      "Contact: <sip:alice@127.0.0.1:5999;transport=tls>\r\n" : "");
	if (n < sizeof(out))
		SSL_write(ssl, out, (int)n);
}

/* serve - ANSWER: the requests of one read on @ssl printed and answered */
static void serve(SSL *ssl)
{
	char buf[65536], *m, *end;
	int n = SSL_read(ssl, buf, (int)sizeof(buf) - 1);

	if (n <= 0) {
		usleep(50000); /* closed: nothing more will come */
		return;
	}
	buf[n] = '\0';
	for (m = buf; *m && (end = strstr(m, "\r\n\r\n")); m = end + 4) {
		end[2] = '\0'; /* the last header line keeps its CRLF */
		if (!strncmp(m, "SIP/2.0 ", 8))
			continue;
		printf("received %.*s\n", (int)(strstr(m, " SIP/2.0") ? strstr(m, " SIP/2.0") - m : 0), m);
		fflush(stdout);
		if (!strncmp(m, "INVITE ", 7)) {
			respond(ssl, m, "180 Ringing");
			respond(ssl, m, atoi(getenv("ANSWER")) == 200 ? "200 OK" : "486 Busy Here");
		} else if (strncmp(m, "ACK ", 4)) {
			respond(ssl, m, "200 OK");
		}
	}
}

/* hold - HOLD: wait until @path exists, at most @s seconds (serving requests
 * with ANSWER); 0 if it does */
static int hold(SSL *ssl, const char *path, int s)
{
	struct pollfd pfd = { .fd = SSL_get_fd(ssl), .events = POLLIN };
	struct stat st;

	printf("holding\n");
	fflush(stdout);
	for (int i = 0; i < s * 20; i++) {
		if (!stat(path, &st))
			return 0;
		if (!getenv("ANSWER"))
			usleep(50000);
		else if (SSL_pending(ssl) > 0 || poll(&pfd, 1, 50) > 0)
			serve(ssl);
	}
	printf("hold: %s never came\n", path);
	return 1;
}

/* answer - read responses until a final one (one response per read on
 * loopback, or several in one): 0, 1 if none came, 2 after an alert */
static int answer(SSL *ssl, char *buf, size_t size)
{
	int n;

	for (;;) {
		if ((n = SSL_read(ssl, buf, (int)size - 1)) <= 0) {
			if (alert[0]) {
				printf("handshake failed: %s\n", alert);
				return 2;
			}
			printf("no final response\n");
			return 1;
		}
		buf[n] = '\0';
		if (final(buf))
			return 0;
	}
}

/* main - connect, handshake, send each request, print the final responses */
int main(int argc, char **argv)
{
	struct sipdance_clientid_conf cc = { .size = sizeof(cc) };
	struct sockaddr_in sa = { .sin_family = AF_INET };
	const char *vg = getenv("VG_SLOW");
	int slow = vg && atoi(vg) > 0 ? atoi(vg) : 1;
	struct timeval tv = { .tv_sec = 8 * slow };
	char buf[65536], req[16384];
	const char *why = NULL;
	SSL_CTX *ctx;
	SSL *ssl;
	int fd, i = 6, first, n, len, rc = 0;

	if (argc < 7) {
		fprintf(stderr, "usage: sip-tls-client IP PORT CERT KEY NAME|- [tls12|tls13] REQUEST...\n");
		return 2;
	}
	/* a refused connection is reset: a write there fails, it does not kill us */
	signal(SIGPIPE, SIG_IGN);
	sa.sin_port = htons((uint16_t)atoi(argv[2]));
	inet_pton(AF_INET, argv[1], &sa.sin_addr);
	ctx = SSL_CTX_new(TLS_client_method());
	if (!ctx || SSL_CTX_use_certificate_chain_file(ctx, argv[3]) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, argv[4], SSL_FILETYPE_PEM) != 1) {
		fprintf(stderr, "cannot load %s / %s\n", argv[3], argv[4]);
		SSL_CTX_free(ctx);
		return 2;
	}
	if (!strcmp(argv[6], "tls12") || !strcmp(argv[6], "tls13")) {
		SSL_CTX_set_max_proto_version(ctx, argv[6][4] == '2' ? TLS1_2_VERSION : TLS1_3_VERSION);
		i++;
	}
	cc.name = strcmp(argv[5], "-") ? argv[5] : NULL;
	if (getenv("SHIP") && SSL_CTX_add_custom_ext(ctx, SIPDANCE_CHAIN_EXT_TYPE,
						     SSL_EXT_TLS1_3_CERTIFICATE_REQUEST |
						     SSL_EXT_TLS1_3_CERTIFICATE, ship_add, ship_free,
						     getenv("SHIP"), NULL, NULL) != 1) {
		fprintf(stderr, "cannot register extension 59\n");
		SSL_CTX_free(ctx);
		return 2;
	}
	if (sipdance_clientid_attach(ctx, &cc, &why)) {
		fprintf(stderr, "dane_clientid: %s\n", why ? why : "?");
		SSL_CTX_free(ctx);
		return 2;
	}
	SSL_CTX_set_info_callback(ctx, info);
	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) < 0 ||
	    connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		printf("connect failed\n");
		SSL_CTX_free(ctx);
		return 2;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	ssl = SSL_new(ctx);
	SSL_set_fd(ssl, fd);
	if (SSL_connect(ssl) != 1) {
		printf("handshake failed: %s\n", alert[0] ? alert : "no alert");
		rc = 2;
		goto out;
	}
	/*
	 * TLS 1.3: the server judges our certificate after our handshake ended,
	 * and a yes has no message of its own: what answers our first request
	 * tells, a response or the alert of a refusal. A refusal closes the
	 * connection under a request the server never read, which resets it: the
	 * alert came before the reset and is still read after a write failed.
	 */
	if (getenv("PIPELINE")) {
		/* every request before any answer: they reach the server together */
		for (n = 0; i + n < argc; n++)
			if (!(len = (int)read_file(argv[i + n], req, sizeof(req))) || SSL_write(ssl, req, len) != len)
				break;
		printf("pipelined %d\n", n);
		if (getenv("CLOSE"))
			goto out;
		for (; n > 0 && rc == 0; n--)
			rc = answer(ssl, buf, sizeof(buf));
		goto done;
	}
	for (first = i; i < argc && rc == 0; i++) {
		if (!(len = (int)read_file(argv[i], req, sizeof(req)))) {
			printf("cannot read %s\n", argv[i]);
			rc = 2;
			goto out;
		}
		if (SSL_write(ssl, req, len) != len) {
			if (!alert[0])
				SSL_read(ssl, buf, (int)sizeof(buf) - 1);
			printf("handshake failed: %s\n", alert[0] ? alert : "cannot send");
			rc = 2;
			goto out;
		}
		rc = answer(ssl, buf, sizeof(buf));
		fflush(stdout);
		if (!rc && getenv("HOLD") && i + 1 < argc && i == first)
			rc = hold(ssl, getenv("HOLD"), 60 * slow);
	}
done:
	SSL_shutdown(ssl);
out:
	SSL_free(ssl);
	SSL_CTX_free(ctx);
	close(fd);
	return rc;
}
